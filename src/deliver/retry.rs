//! The retry policy as a pure function: the attempt that just failed, its error class, the
//! peer's `Retry-After`, the clock and a jitter value go in; "retry at T" or "give up" comes out.

use std::time::Duration;

use crate::config::{DeliveryConfig, format_duration};
use crate::peer::ErrorClass;

/// The limits of the retry schedule, from `[delivery]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub give_up_after: Duration,
    pub max_attempts: u32,
    pub auth_retries: u32,
}

impl RetryPolicy {
    pub fn from_config(delivery: &DeliveryConfig) -> RetryPolicy {
        RetryPolicy {
            initial_backoff: delivery.initial_backoff,
            max_backoff: delivery.max_backoff,
            give_up_after: delivery.give_up_after,
            max_attempts: delivery.max_attempts,
            auth_retries: delivery.auth_retries,
        }
    }
}

/// The decision after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Try again at this time (Unix milliseconds).
    RetryAt(i64),
    /// Fail the job; the text names the limit that ended it.
    GiveUp(String),
}

/// The failed attempt the decision is about.
#[derive(Debug, Clone, Copy)]
pub struct FailedAttempt {
    /// 1 for the first attempt since the job arrived or was last replayed.
    pub attempt: u32,
    pub class: ErrorClass,
    pub retry_after: Option<Duration>,
    /// When the retry limits started counting (arrival or last replay), Unix milliseconds.
    pub received_at: i64,
    /// Attempts answered 401 or 403 since then, this one included.
    pub auth_failures: u32,
}

/// Returns the backoff before attempt `attempt + 1`: `initial × 2^(attempt − 1)`, capped at
/// `max_backoff`, then shortened by up to 20 % (`jitter` in 0..1) so that jobs failed together
/// do not retry together.
pub fn backoff(policy: &RetryPolicy, attempt: u32, jitter: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let raw = policy
        .initial_backoff
        .saturating_mul(1u32 << exponent)
        .min(policy.max_backoff);
    raw.mul_f64(1.0 - 0.2 * jitter.clamp(0.0, 1.0))
}

/// Decides whether and when a failed job runs again.
pub fn decide(policy: &RetryPolicy, failed: FailedAttempt, now: i64, jitter: f64) -> Decision {
    match failed.class {
        ErrorClass::Permanent => {
            return Decision::GiveUp(
                "the error is permanent; fix the cause, then replay the job".to_string(),
            );
        }
        ErrorClass::Auth if failed.auth_failures >= policy.auth_retries => {
            return Decision::GiveUp(format!(
                "the peer rejected the credentials {} time(s); check the API key and secret files and the user's roles, then replay the job",
                failed.auth_failures
            ));
        }
        _ => {}
    }

    if failed.attempt >= policy.max_attempts {
        return Decision::GiveUp(format!(
            "gave up after {} attempts (delivery.max_attempts)",
            failed.attempt
        ));
    }

    let mut delay = backoff(policy, failed.attempt, jitter);
    if let Some(asked) = failed.retry_after {
        delay = delay.max(asked.min(policy.max_backoff));
    }

    let at = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
    let deadline = failed.received_at
        + i64::try_from(policy.give_up_after.as_millis()).unwrap_or(i64::MAX / 2);
    if at > deadline {
        return Decision::GiveUp(format!(
            "gave up: the next attempt would be more than {} after the webhook arrived (delivery.give_up_after)",
            format_duration(policy.give_up_after)
        ));
    }
    Decision::RetryAt(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::from_config(&DeliveryConfig::default())
    }

    fn failed(attempt: u32, class: ErrorClass) -> FailedAttempt {
        FailedAttempt {
            attempt,
            class,
            retry_after: None,
            received_at: 0,
            auth_failures: if class == ErrorClass::Auth {
                attempt
            } else {
                0
            },
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let policy = policy();
        assert_eq!(backoff(&policy, 1, 0.0), Duration::from_secs(5));
        assert_eq!(backoff(&policy, 2, 0.0), Duration::from_secs(10));
        assert_eq!(backoff(&policy, 4, 0.0), Duration::from_secs(40));
        assert_eq!(backoff(&policy, 20, 0.0), Duration::from_secs(3600));
        assert_eq!(backoff(&policy, 200, 0.0), Duration::from_secs(3600));
    }

    #[test]
    fn jitter_shortens_by_at_most_a_fifth() {
        let policy = policy();
        assert_eq!(backoff(&policy, 1, 1.0), Duration::from_secs(4));
        assert_eq!(backoff(&policy, 1, 0.5), Duration::from_millis(4500));
    }

    #[test]
    fn permanent_gives_up_at_once() {
        let decision = decide(&policy(), failed(1, ErrorClass::Permanent), 0, 0.0);
        assert!(matches!(decision, Decision::GiveUp(_)), "{decision:?}");
    }

    #[test]
    fn transient_retries_after_backoff() {
        let decision = decide(&policy(), failed(3, ErrorClass::Transient), 1_000, 0.0);
        assert_eq!(decision, Decision::RetryAt(1_000 + 20_000));
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let mut attempt = failed(1, ErrorClass::Transient);
        attempt.retry_after = Some(Duration::from_secs(120));
        assert_eq!(
            decide(&policy(), attempt, 0, 0.0),
            Decision::RetryAt(120_000)
        );

        attempt.retry_after = Some(Duration::from_secs(86_400));
        assert_eq!(
            decide(&policy(), attempt, 0, 0.0),
            Decision::RetryAt(3_600_000)
        );

        attempt.retry_after = Some(Duration::from_secs(1));
        assert_eq!(decide(&policy(), attempt, 0, 0.0), Decision::RetryAt(5_000));
    }

    #[test]
    fn auth_errors_retry_a_few_times() {
        let policy = policy();
        assert!(matches!(
            decide(&policy, failed(1, ErrorClass::Auth), 0, 0.0),
            Decision::RetryAt(_)
        ));
        let decision = decide(
            &policy,
            failed(policy.auth_retries, ErrorClass::Auth),
            0,
            0.0,
        );
        match decision {
            Decision::GiveUp(reason) => assert!(reason.contains("credentials"), "{reason}"),
            other => panic!("expected GiveUp, got {other:?}"),
        }
    }

    #[test]
    fn auth_limit_counts_auth_failures_only() {
        let policy = policy();
        let mut attempt = failed(10, ErrorClass::Auth);
        attempt.auth_failures = 1;
        assert!(
            matches!(decide(&policy, attempt, 0, 0.0), Decision::RetryAt(_)),
            "nine 503s before one 401"
        );
    }

    #[test]
    fn max_attempts_ends_retries() {
        let policy = policy();
        let decision = decide(
            &policy,
            failed(policy.max_attempts, ErrorClass::Transient),
            0,
            0.0,
        );
        assert!(matches!(decision, Decision::GiveUp(reason) if reason.contains("max_attempts")));
    }

    #[test]
    fn give_up_after_ends_retries() {
        let policy = policy();
        let now = i64::try_from(policy.give_up_after.as_millis()).unwrap() - 1_000;
        let decision = decide(&policy, failed(30, ErrorClass::Transient), now, 0.0);
        assert!(matches!(decision, Decision::GiveUp(reason) if reason.contains("give_up_after")));
    }

    /// With the defaults and the largest jitter, a job keeps retrying through a 60-hour outage
    /// (Friday evening to Monday morning).
    #[test]
    fn default_schedule_outlasts_a_weekend() {
        let policy = policy();
        let weekend = 60 * 3_600_000;
        let mut now = 0;
        let mut attempt = 1;
        while now < weekend {
            match decide(&policy, failed(attempt, ErrorClass::Transient), now, 1.0) {
                Decision::RetryAt(at) => now = at,
                Decision::GiveUp(reason) => {
                    panic!("gave up after {attempt} attempts at {now} ms: {reason}")
                }
            }
            attempt += 1;
        }
    }
}
