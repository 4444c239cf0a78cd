//! ICD-10-CM, FY2026 edition: which diagnosis codes exist and which may be billed.
//!
//! Only the most specific codes (the leaves of the tabular list, with their seventh
//! character where one is required) are billable; the categories and subcategories
//! above them exist but are rejected by payers. Telling the two apart lets a finding
//! say "use a more specific code" instead of "no such code".

use std::collections::HashSet;
use std::sync::OnceLock;

use super::code_set;

static BILLABLE_LIST: &str = include_str!("../../../data/codes/icd10cm-2026-billable.txt");
static HEADER_LIST: &str = include_str!("../../../data/codes/icd10cm-2026-headers.txt");

/// The longest ICD-10-CM code, without its dot.
const MAX_LEN: usize = 7;
/// Where a written code has its dot: after the category (the first three characters).
const DOT_AT: usize = 3;

fn billable() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| code_set(BILLABLE_LIST))
}

fn headers() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| code_set(HEADER_LIST))
}

/// Whether `code` (`E11.9` or `E119`) is a billable ICD-10-CM code.
pub fn is_billable(code: &str) -> bool {
    Undotted::new(code).is_some_and(|c| billable().contains(c.as_str()))
}

/// Whether `code` (with or without its dot) is an ICD-10-CM code at any level:
/// a billable code, or a category or subcategory that needs more characters.
pub fn exists(code: &str) -> bool {
    Undotted::new(code).is_some_and(|c| billable().contains(c.as_str()) || headers().contains(c.as_str()))
}

/// A code with its dot taken out, on the stack: lookups run per diagnosis per claim,
/// and allocating a String for each would cost more than the lookup.
struct Undotted {
    bytes: [u8; MAX_LEN],
    len: usize,
}

impl Undotted {
    /// `None` when the text cannot be an ICD-10-CM code at all (a dot elsewhere than
    /// after the category, a character other than a capital letter or digit, a length
    /// outside 3–7), so no lookup is needed.
    fn new(code: &str) -> Option<Self> {
        let bytes = code.as_bytes();
        let (category, rest) = match bytes.get(DOT_AT) {
            Some(b'.') => (&bytes[..DOT_AT], &bytes[DOT_AT + 1..]),
            _ => (bytes, &[][..]),
        };
        let len = category.len() + rest.len();
        if !(DOT_AT..=MAX_LEN).contains(&len) {
            return None;
        }
        let mut undotted = Undotted {
            bytes: [0; MAX_LEN],
            len,
        };
        for (slot, &byte) in undotted.bytes.iter_mut().zip(category.iter().chain(rest)) {
            if !(byte.is_ascii_uppercase() || byte.is_ascii_digit()) {
                return None;
            }
            *slot = byte;
        }
        Some(undotted)
    }

    fn as_str(&self) -> &str {
        // Only ASCII capitals and digits were copied in, so this is always valid UTF-8.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_code_is_billable_with_or_without_its_dot() {
        assert!(is_billable("E11.9"));
        assert!(is_billable("E119"));
        assert!(is_billable("I10"));
        assert!(is_billable("Z00.00"));
    }

    #[test]
    fn a_category_exists_but_is_not_billable() {
        assert!(exists("E11"));
        assert!(!is_billable("E11"));
        assert!(exists("E11.6"));
        assert!(!is_billable("E11.6"));
    }

    #[test]
    fn a_code_needing_a_seventh_character_is_billable_only_with_it() {
        assert!(exists("S72.001"));
        assert!(!is_billable("S72.001"));
        assert!(is_billable("S72.001A"));
        // The placeholder X pads short codes to six characters before the seventh.
        assert!(is_billable("S02.0XXA"));
        assert!(!is_billable("S02.0A"));
    }

    #[test]
    fn death_before_regaining_consciousness_takes_only_the_initial_encounter() {
        assert!(is_billable("S06.4X7A"));
        assert!(!is_billable("S06.4X7D"));
        assert!(is_billable("S06.4X1D"));
    }

    #[test]
    fn text_that_is_not_a_code_does_not_exist() {
        for text in [
            "",
            "E1",
            "E11.9.",
            "E1.19",
            "e11.9",
            "E11 9",
            "ZZZ99",
            "E11.99999",
        ] {
            assert!(!exists(text), "{text:?}");
            assert!(!is_billable(text), "{text:?}");
        }
    }

    #[test]
    fn block_ranges_are_not_codes() {
        assert!(!exists("E08-E13"));
    }
}
