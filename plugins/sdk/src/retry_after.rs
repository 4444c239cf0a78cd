//! Reading `Retry-After` (RFC 9110 §10.2.3): a number of seconds, or the date after
//! which to ask again. A value that does not read is treated as absent — the
//! failure is still transient, the orchestrator just uses its own backoff.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::HeaderValue;

/// The wait `value` asks for, counted from `now` when it is a date; a date already
/// past means no wait.
pub(crate) fn parse(value: &HeaderValue, now: DateTime<Utc>) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(Duration::from_secs);
    }
    // IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT"), the form senders must use, reads
    // as RFC 2822; the obsolete RFC 850 and asctime forms are not read.
    let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 10, 21, 7, 27, 0).unwrap()
    }

    fn read(value: &'static str) -> Option<Duration> {
        parse(&HeaderValue::from_static(value), now())
    }

    #[test]
    fn seconds_are_read_as_a_wait() {
        assert_eq!(read("120"), Some(Duration::from_secs(120)));
        assert_eq!(read("0"), Some(Duration::ZERO));
    }

    #[test]
    fn a_date_is_read_as_the_wait_until_it() {
        assert_eq!(
            read("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn a_date_already_past_is_no_wait() {
        assert_eq!(read("Wed, 21 Oct 2015 07:00:00 GMT"), Some(Duration::ZERO));
    }

    #[test]
    fn anything_else_is_absent() {
        for value in ["", "-5", "1.5", "soon", "Wednesday, 21-Oct-15 07:28:00 GMT"] {
            assert_eq!(read(value), None, "{value:?}");
        }
    }
}
