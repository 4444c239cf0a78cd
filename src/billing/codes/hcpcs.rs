//! HCPCS Level II procedure codes (supplies, drugs, services CPT does not cover).
//!
//! The shipped list is CMS's 2020 edition: codes added since then are missing, so a
//! miss here means "not known to this edition" rather than "certainly invalid".

use std::collections::HashSet;
use std::sync::OnceLock;

use super::code_set;

static LIST: &str = include_str!("../../../data/codes/hcpcs-2020-codes.txt");

fn codes() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| code_set(LIST))
}

/// Whether `code` (such as `J3420`) is a HCPCS Level II code in the 2020 edition.
pub fn exists(code: &str) -> bool {
    codes().contains(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_level_two_codes_exist() {
        for code in ["J3420", "G0438", "A4253", "E0114", "Q4081"] {
            assert!(exists(code), "{code}");
        }
    }

    #[test]
    fn cpt_codes_and_unknown_codes_do_not() {
        for code in ["99213", "J9999X", "Z1234", "j3420", ""] {
            assert!(!exists(code), "{code}");
        }
    }
}
