//! How searchable values are compared, shared by indexing (what a resource holds)
//! and query parsing (what a client asks for), so both sides agree exactly.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Longest string value kept in the index; starts-with needs no more.
const MAX_INDEXED_STRING: usize = 200;

/// Case- and accent-folded form of a string, as the `search_string` index holds it:
/// "Müller" and "MULLER" both become "muller".
pub fn normalize_string(value: &str) -> String {
    let folded: String = value
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    truncate_chars(folded.trim(), MAX_INDEXED_STRING)
}

pub fn truncate_chars(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((end, _)) => value[..end].to_owned(),
        None => value.to_owned(),
    }
}

/// The instants a FHIR date, dateTime or instant stands for: a partial date is the
/// whole period it names, `[low, high]` inclusive, to the microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub low: DateTime<Utc>,
    pub high: DateTime<Utc>,
}

impl DateRange {
    /// Earliest and latest instants the index can hold: open period ends use them.
    pub fn unbounded_low() -> DateTime<Utc> {
        crate::store::search::earliest_instant()
    }

    pub fn unbounded_high() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap() + Duration::microseconds(999_999)
    }

    pub fn point(at: DateTime<Utc>) -> Self {
        DateRange { low: at, high: at }
    }

    /// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, and date-times to minute, second or
    /// fraction precision with `Z` or an offset (none means UTC, as for a date).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        match text.len() {
            4 => {
                let year: i32 = text.parse().ok()?;
                let low = NaiveDate::from_ymd_opt(year, 1, 1)?;
                let next = NaiveDate::from_ymd_opt(year + 1, 1, 1)?;
                Some(Self::between_days(low, next))
            }
            7 => {
                let low = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()?;
                let next = if low.month() == 12 {
                    NaiveDate::from_ymd_opt(low.year() + 1, 1, 1)?
                } else {
                    NaiveDate::from_ymd_opt(low.year(), low.month() + 1, 1)?
                };
                Some(Self::between_days(low, next))
            }
            10 => {
                let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
                Some(Self::between_days(day, day.succ_opt()?))
            }
            _ => Self::parse_date_time(text),
        }
    }

    fn between_days(low: NaiveDate, next: NaiveDate) -> Self {
        let start = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists"));
        DateRange {
            low: start(low),
            high: start(next) - Duration::microseconds(1),
        }
    }

    fn parse_date_time(text: &str) -> Option<Self> {
        let (local, offset) = split_offset(text)?;
        let (naive, precision) = if let Ok(t) = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M") {
            (t, Duration::minutes(1))
        } else if let Ok(t) = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S") {
            (t, Duration::seconds(1))
        } else {
            let t = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
            (t, Duration::microseconds(1))
        };
        let low = offset.from_local_datetime(&naive).single()?.with_timezone(&Utc);
        Some(DateRange {
            low,
            high: low + precision - Duration::microseconds(1),
        })
    }
}

/// Splits a trailing `Z` or `±hh:mm` off a date-time; none means UTC.
fn split_offset(text: &str) -> Option<(&str, FixedOffset)> {
    if let Some(local) = text.strip_suffix('Z') {
        return Some((local, FixedOffset::east_opt(0)?));
    }
    let tail_start = text.len().checked_sub(6)?;
    let tail = &text[tail_start..];
    let sign = match tail.as_bytes()[0] {
        b'+' => 1,
        b'-' if tail.as_bytes()[3] == b':' => -1,
        _ => return Some((text, FixedOffset::east_opt(0)?)),
    };
    let hours: i32 = tail[1..3].parse().ok()?;
    let minutes: i32 = tail[4..6].parse().ok()?;
    Some((
        &text[..tail_start],
        FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))?,
    ))
}

/// A decimal as written, with the half-unit of its last digit: "5.4" is 5.4 ± 0.05,
/// the range a search for it covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decimal {
    pub value: f64,
    pub half_unit: f64,
}

impl Decimal {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let value: f64 = text.parse().ok().filter(|v: &f64| v.is_finite())?;
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
            None => (text, 0),
        };
        let decimals = mantissa.split_once('.').map_or(0, |(_, f)| f.len()) as i32;
        Some(Decimal {
            value,
            half_unit: 0.5 * 10f64.powi(exponent - decimals),
        })
    }

    pub fn low(self) -> f64 {
        self.value - self.half_unit
    }

    pub fn high(self) -> f64 {
        self.value + self.half_unit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_fold_case_and_accents() {
        assert_eq!(normalize_string("  Müller-Lüdenscheidt "), "muller-ludenscheidt");
        assert_eq!(normalize_string("ÉLODIE"), "elodie");
        assert_eq!(normalize_string(&"x".repeat(500)).len(), MAX_INDEXED_STRING);
    }

    #[test]
    fn partial_dates_are_ranges() {
        let year = DateRange::parse("2024").unwrap();
        assert_eq!(year.low.to_rfc3339(), "2024-01-01T00:00:00+00:00");
        assert_eq!(year.high.to_rfc3339(), "2024-12-31T23:59:59.999999+00:00");
        let feb = DateRange::parse("2024-02").unwrap();
        assert_eq!(feb.high.to_rfc3339(), "2024-02-29T23:59:59.999999+00:00");
        let dec = DateRange::parse("2023-12").unwrap();
        assert_eq!(dec.high.to_rfc3339(), "2023-12-31T23:59:59.999999+00:00");
        let day = DateRange::parse("2024-03-05").unwrap();
        assert_eq!(day.low.to_rfc3339(), "2024-03-05T00:00:00+00:00");
    }

    #[test]
    fn date_times_honour_offsets_and_precision() {
        let t = DateRange::parse("2024-03-05T10:00:00+02:00").unwrap();
        assert_eq!(t.low.to_rfc3339(), "2024-03-05T08:00:00+00:00");
        assert_eq!(t.high - t.low, Duration::microseconds(999_999));
        let minute = DateRange::parse("2024-03-05T10:00Z").unwrap();
        assert_eq!(minute.high - minute.low, Duration::microseconds(59_999_999));
        let exact = DateRange::parse("2024-03-05T10:00:00.123-05:00").unwrap();
        assert_eq!(exact.low, exact.high);
        assert!(DateRange::parse("2024-13").is_none());
        assert!(DateRange::parse("yesterday").is_none());
    }

    #[test]
    fn decimals_carry_their_precision() {
        let d = Decimal::parse("5.4").unwrap();
        assert!((d.low() - 5.35).abs() < 1e-9 && (d.high() - 5.45).abs() < 1e-9);
        assert!((Decimal::parse("100").unwrap().half_unit - 0.5).abs() < 1e-12);
        assert!((Decimal::parse("1e2").unwrap().half_unit - 50.0).abs() < 1e-9);
        assert!(Decimal::parse("abc").is_none());
    }
}
