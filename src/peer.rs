//! What a failed request to a peer (ERPNext or WooCommerce) means for the job: its retry class,
//! HTTP status, the peer's own message and any `Retry-After` it sent.

use std::fmt;
use std::time::Duration;

/// How the delivery loop treats a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Connection errors, timeouts, 408, 425, 429 and 5xx: retry with backoff.
    Transient,
    /// 401 and 403: re-read the secret files and retry a few times, then fail.
    Auth,
    /// The peer rejected the request (400, 404, 409, 417, 422) or the bus's own rules did:
    /// fail at once with the message.
    Permanent,
}

impl ErrorClass {
    /// The class of an HTTP error status.
    pub fn of_status(status: u16) -> ErrorClass {
        match status {
            401 | 403 => ErrorClass::Auth,
            408 | 425 | 429 | 500..=599 => ErrorClass::Transient,
            _ => ErrorClass::Permanent,
        }
    }
}

/// A failed request, with the peer's message cleaned for a log line and an attempt row.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerError {
    pub class: ErrorClass,
    pub http_status: Option<u16>,
    pub message: String,
    /// The delay the peer asked for; already capped by nothing, the retry policy caps it.
    pub retry_after: Option<Duration>,
}

impl PeerError {
    pub fn transient(message: impl Into<String>) -> PeerError {
        PeerError {
            class: ErrorClass::Transient,
            http_status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> PeerError {
        PeerError {
            class: ErrorClass::Permanent,
            http_status: None,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl fmt::Display for PeerError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for PeerError {}

/// Parses a `Retry-After` value: delay seconds, or an HTTP date relative to `now`.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Removes HTML tags and collapses white space, for messages that Frappe formats with `<strong>`.
pub fn strip_html(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut in_tag = false;
    for character in text.chars() {
        match character {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => plain.push(character),
            _ => {}
        }
    }
    let plain = plain
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn status_classes() {
        for status in [408, 425, 429, 500, 502, 503, 504, 508] {
            assert_eq!(
                ErrorClass::of_status(status),
                ErrorClass::Transient,
                "{status}"
            );
        }
        for status in [401, 403] {
            assert_eq!(ErrorClass::of_status(status), ErrorClass::Auth, "{status}");
        }
        for status in [400, 404, 409, 417, 422] {
            assert_eq!(
                ErrorClass::of_status(status),
                ErrorClass::Permanent,
                "{status}"
            );
        }
    }

    #[test]
    fn retry_after_seconds_and_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn html_is_stripped() {
        assert_eq!(
            strip_html("Customer <strong>X &amp; Y</strong>\n already  exists"),
            "Customer X & Y already exists"
        );
    }
}
