//! The date filters of the billing API (`from=YYYY-MM-DD&to=YYYY-MM-DD`): whole
//! days in UTC, both ends included, so `from=2026-01-01&to=2026-01-31` is January.

use chrono::{DateTime, NaiveDate, Utc};

/// Days from `from` through `to`; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("{name} must be a date written YYYY-MM-DD, not {value:?}")]
    NotADate { name: &'static str, value: String },
    #[error("from ({from}) is after to ({to})")]
    Reversed { from: NaiveDate, to: NaiveDate },
}

impl Period {
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Period, PeriodError> {
        let period = Period {
            from: from.map(|text| date("from", text)).transpose()?,
            to: to.map(|text| date("to", text)).transpose()?,
        };
        match (period.from, period.to) {
            (Some(from), Some(to)) if from > to => Err(PeriodError::Reversed { from, to }),
            _ => Ok(period),
        }
    }

    /// The first instant of the period (midnight UTC starting `from`).
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.from.map(midnight)
    }

    /// The first instant after the period (midnight UTC ending `to`).
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.to.and_then(|to| to.succ_opt()).map(midnight)
    }
}

/// A date written exactly `YYYY-MM-DD` (chrono alone would take `2026-1-5`).
fn date(name: &'static str, text: &str) -> Result<NaiveDate, PeriodError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|date| date.format("%Y-%m-%d").to_string() == text)
        .ok_or_else(|| PeriodError::NotADate {
            name,
            value: text.to_owned(),
        })
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_whole_utc_days_both_ends_included() {
        let january = Period::parse(Some("2026-01-01"), Some("2026-01-31")).unwrap();
        assert_eq!(january.start().unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(january.end().unwrap().to_rfc3339(), "2026-02-01T00:00:00+00:00");
        let one_day = Period::parse(Some("2026-03-05"), Some("2026-03-05")).unwrap();
        assert_eq!(
            one_day.end().unwrap() - one_day.start().unwrap(),
            chrono::TimeDelta::days(1)
        );
        let open = Period::parse(None, Some("2026-03-05")).unwrap();
        assert_eq!((open.start(), open.from), (None, None));
    }

    #[test]
    fn bad_dates_and_reversed_periods_are_refused_by_name() {
        for text in [
            "2026-02-30",
            "2026-1-05",
            "05/01/2026",
            "2026-01-01T00:00:00Z",
            "",
        ] {
            let error = Period::parse(Some(text), None).unwrap_err();
            assert_eq!(
                error,
                PeriodError::NotADate {
                    name: "from",
                    value: text.into()
                }
            );
        }
        let error = Period::parse(Some("2026-02-01"), Some("2026-01-31")).unwrap_err();
        assert_eq!(error.to_string(), "from (2026-02-01) is after to (2026-01-31)");
        assert!(Period::parse(None, Some("tomorrow"))
            .unwrap_err()
            .to_string()
            .starts_with("to must be a date"));
    }
}
