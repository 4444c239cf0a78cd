//! CMS place of service codes (two digits: 11 office, 21 inpatient hospital, ...).

use std::collections::HashSet;
use std::sync::OnceLock;

use super::code_set;

static LIST: &str = include_str!("../../../data/codes/place-of-service.txt");

fn codes() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| code_set(LIST))
}

/// Whether `code` is a place of service code.
pub fn is_valid(code: &str) -> bool {
    codes().contains(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_hospital_and_telehealth_are_places_of_service() {
        for code in ["11", "21", "22", "02", "99"] {
            assert!(is_valid(code), "{code}");
        }
    }

    #[test]
    fn unassigned_and_malformed_codes_are_not() {
        for code in ["00", "35", "1", "011", "OF", ""] {
            assert!(!is_valid(code), "{code}");
        }
    }
}
