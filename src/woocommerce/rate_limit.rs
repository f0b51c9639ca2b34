//! A request rate limit shared by every thread that uses one client.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Maximum spacing between two requests, used for rates so low that `1 / rate` overflows a
/// `Duration`.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// Spaces requests at least `1 / rate` seconds apart by handing out time slots in order.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// `None` when the rate is unlimited.
    interval: Option<Duration>,
    /// The earliest start of the next request; `None` before the first one.
    next_slot: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// Creates a limiter for `requests_per_second`. Zero, negative and NaN rates mean unlimited.
    pub(crate) fn new(requests_per_second: f64) -> RateLimiter {
        let interval = if requests_per_second > 0.0 {
            let seconds = 1.0 / requests_per_second;
            let interval = Duration::try_from_secs_f64(seconds).unwrap_or(MAX_INTERVAL);
            (!interval.is_zero()).then_some(interval.min(MAX_INTERVAL))
        } else {
            None
        };
        RateLimiter {
            interval,
            next_slot: Mutex::new(None),
        }
    }

    /// Reserves the next slot for a request made at `now` and returns when it may start.
    pub(crate) fn reserve(&self, now: Instant) -> Instant {
        let Some(interval) = self.interval else {
            return now;
        };
        let mut next_slot = self
            .next_slot
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let slot = match *next_slot {
            Some(next) if next > now => next,
            _ => now,
        };
        *next_slot = Some(slot + interval);
        slot
    }

    /// Blocks the calling thread until its slot comes.
    pub(crate) fn wait(&self) {
        let slot = self.reserve(Instant::now());
        let delay = slot.saturating_duration_since(Instant::now());
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_by_the_interval() {
        let limiter = RateLimiter::new(4.0);
        let start = Instant::now();

        let slots: Vec<Instant> = (0..5).map(|_| limiter.reserve(start)).collect();

        for (index, slot) in slots.iter().enumerate() {
            let expected = start + Duration::from_millis(250) * index as u32;
            assert_eq!(*slot, expected, "slot {index}");
        }
    }

    #[test]
    fn idle_time_is_not_saved_up() {
        let limiter = RateLimiter::new(10.0);
        let start = Instant::now();
        assert_eq!(limiter.reserve(start), start);

        let later = start + Duration::from_secs(5);
        assert_eq!(limiter.reserve(later), later);
        assert_eq!(
            limiter.reserve(later),
            later + Duration::from_millis(100),
            "the second request after a pause still waits one interval"
        );
    }

    #[test]
    fn zero_negative_and_nan_rates_are_unlimited() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let limiter = RateLimiter::new(rate);
            let now = Instant::now();
            for _ in 0..3 {
                assert_eq!(limiter.reserve(now), now, "rate {rate}");
            }
        }
    }

    #[test]
    fn tiny_rate_is_capped_at_one_hour() {
        let limiter = RateLimiter::new(1e-300);
        let now = Instant::now();
        limiter.reserve(now);
        assert_eq!(limiter.reserve(now), now + MAX_INTERVAL);
    }

    #[test]
    fn threads_share_one_schedule() {
        let limiter = std::sync::Arc::new(RateLimiter::new(100.0));
        let start = Instant::now();

        let handles: Vec<_> = (0..4)
            .map(|_| {
                let limiter = limiter.clone();
                std::thread::spawn(move || {
                    (0..5)
                        .map(|_| limiter.reserve(start))
                        .collect::<Vec<Instant>>()
                })
            })
            .collect();
        let mut slots: Vec<Instant> = handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect();
        slots.sort();

        for pair in slots.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(10));
        }
    }
}
