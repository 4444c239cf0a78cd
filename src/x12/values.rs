//! Typed reads of element values — amounts, dates, counts, required text — that fail
//! with the element's location instead of a bare parse error.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::x12::error::{Problem, ReadError};
use crate::x12::segment::Segment;

/// At most this many digits in a decimal: the longest X12 5010 gives one (the
/// monetary amount, R 1/18). It also keeps every sum of a file's amounts far
/// inside what a `Decimal` holds, so adding them up cannot overflow.
const MAX_DIGITS: usize = 18;

/// An X12 decimal (type R): an optional minus sign, at most 18 digits, at most
/// one decimal point. Stricter than `Decimal::from_str`, which also takes a plus
/// sign or underscores that X12 does not allow.
pub fn parse_amount(text: &str) -> Option<Decimal> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let count = digits.bytes().filter(u8::is_ascii_digit).count();
    let well_formed = (1..=MAX_DIGITS).contains(&count)
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1;
    if well_formed {
        Decimal::from_str(text).ok()
    } else {
        None
    }
}

/// A date in the CCYYMMDD form (qualifier D8).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y%m%d").ok()
}

/// A date or a date range: D8 `CCYYMMDD` or RD8 `CCYYMMDD-CCYYMMDD`, as (from, to).
pub fn parse_period(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    match text.split_once('-') {
        Some((from, to)) => Some((parse_date(from)?, parse_date(to)?)),
        None => parse_date(text).map(|date| (date, date)),
    }
}

impl<'a> Segment<'a> {
    /// Element `n`, which must not be empty.
    pub fn required(&self, n: usize) -> Result<&'a str, ReadError> {
        self.optional(n)
            .ok_or_else(|| self.element_error(n, Problem::Missing))
    }

    /// Element `n`, or `None` when it is empty or absent.
    pub fn optional(&self, n: usize) -> Option<&'a str> {
        Some(self.value(n)).filter(|value| !value.is_empty())
    }

    /// Element `n` as an owned string, when not empty.
    pub fn optional_string(&self, n: usize) -> Option<String> {
        self.optional(n).map(str::to_string)
    }

    pub fn amount(&self, n: usize) -> Result<Decimal, ReadError> {
        let text = self.required(n)?;
        parse_amount(text).ok_or_else(|| self.element_error(n, Problem::NotAnAmount(text.to_string())))
    }

    pub fn optional_amount(&self, n: usize) -> Result<Option<Decimal>, ReadError> {
        match self.optional(n) {
            Some(_) => self.amount(n).map(Some),
            None => Ok(None),
        }
    }

    pub fn date(&self, n: usize) -> Result<NaiveDate, ReadError> {
        let text = self.required(n)?;
        parse_date(text).ok_or_else(|| self.element_error(n, Problem::NotADate(text.to_string())))
    }

    pub fn optional_date(&self, n: usize) -> Result<Option<NaiveDate>, ReadError> {
        match self.optional(n) {
            Some(_) => self.date(n).map(Some),
            None => Ok(None),
        }
    }

    /// A whole number such as a count or a position (AK9, IK3, SE01).
    pub fn count(&self, n: usize) -> Result<usize, ReadError> {
        let text = self.required(n)?;
        text.parse()
            .map_err(|_| self.element_error(n, Problem::NotANumber(text.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn amounts_follow_the_x12_decimal_form() {
        assert_eq!(parse_amount("945.00"), Some(Decimal::new(94500, 2)));
        assert_eq!(parse_amount("-1.27"), Some(Decimal::new(-127, 2)));
        assert!(parse_amount("999999999999999999").is_some(), "18 digits");
        assert_eq!(
            parse_amount("79228162514264337593543950335"),
            None,
            "past 18 digits"
        );
        assert_eq!(parse_amount("220"), Some(Decimal::from(220)));
        assert_eq!(parse_amount(".5"), Some(Decimal::new(5, 1)));
        for bad in ["", "-", ".", "+1", "1.2.3", "1,000", "12a", "1_000"] {
            assert_eq!(parse_amount(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn dates_are_ccyymmdd_and_periods_may_be_ranges() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(parse_date("20020314"), Some(date(2002, 3, 14)));
        assert_eq!(parse_date("020314"), None);
        assert_eq!(parse_date("20021314"), None);
        assert_eq!(
            parse_period("20050831-20050906"),
            Some((date(2005, 8, 31), date(2005, 9, 6)))
        );
        assert_eq!(
            parse_period("20050501"),
            Some((date(2005, 5, 1), date(2005, 5, 1)))
        );
        assert_eq!(parse_period("20050501-x"), None);
    }
}
