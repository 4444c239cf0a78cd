//! Procedure modifiers: CPT (Level I) modifiers and HCPCS Level II modifiers.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::code_set;

static LEVEL_TWO_LIST: &str = include_str!("../../../data/codes/hcpcs-2020-modifiers.txt");

/// CPT (Level I) modifiers, listed by hand: no shipped file carries them, since their
/// descriptors are AMA copyright. The anesthesia physical status modifiers (P1–P6) are
/// Level II and come from the HCPCS file.
const LEVEL_ONE: &[&str] = &[
    "22", "23", "24", "25", "26", "27", "32", "33", "47", "50", "51", "52", "53", "54", "55", "56", "57",
    "58", "59", "62", "63", "66", "73", "74", "76", "77", "78", "79", "80", "81", "82", "90", "91", "92",
    "93", "95", "96", "97", "99",
];

/// Level II modifiers in wide use that are newer than the shipped 2020 HCPCS edition
/// (split/shared and unrelated E/M visits, audio-only and supervised telehealth from
/// 2022; JZ, no drug wasted, which Medicare has required on single-dose drugs since
/// July 2023). Without them, ordinary current claims would be rejected.
const LEVEL_TWO_SINCE_2020: &[&str] = &["FQ", "FR", "FS", "FT", "JZ"];

fn modifiers() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = code_set(LEVEL_TWO_LIST);
        set.extend(LEVEL_ONE);
        set.extend(LEVEL_TWO_SINCE_2020);
        set
    })
}

/// Whether `modifier` (such as `25`, `TC` or `RT`) is a known procedure modifier.
pub fn is_valid(modifier: &str) -> bool {
    modifiers().contains(modifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpt_modifiers_are_valid() {
        for modifier in ["25", "26", "50", "51", "59", "76", "77", "91", "95"] {
            assert!(is_valid(modifier), "{modifier}");
        }
    }

    #[test]
    fn hcpcs_level_two_modifiers_are_valid() {
        for modifier in ["TC", "XE", "XP", "XS", "XU", "LT", "RT", "GT", "P1", "JW", "JZ"] {
            assert!(is_valid(modifier), "{modifier}");
        }
    }

    #[test]
    fn unknown_and_malformed_modifiers_are_not() {
        for modifier in ["00", "28", "ZZ", "tc", "T", "TCX", ""] {
            assert!(!is_valid(modifier), "{modifier}");
        }
    }
}
