//! The shapes of procedure codes on a professional claim.
//!
//! CPT codes cannot be checked for existence (the AMA licenses the list), so only their
//! shape is checked; HCPCS Level II codes are looked up in [`super::hcpcs`].

/// What kind of procedure code a code is, judged by its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcedureCodeKind {
    /// CPT (HCPCS Level I): five digits, or four digits and a category letter.
    Cpt,
    /// HCPCS Level II: a letter A–V and four digits.
    HcpcsLevelTwo,
}

/// CPT code suffix letters: F category II (quality measures), T category III
/// (emerging technology), U proprietary laboratory analyses, M multianalyte assays
/// with algorithmic analyses, A vaccine administration.
const CPT_SUFFIXES: &[u8] = b"FTUMA";

/// The kind of `code`, or `None` when it has neither shape.
pub fn kind(code: &str) -> Option<ProcedureCodeKind> {
    let [first, middle @ .., last] = code.as_bytes() else {
        return None;
    };
    if code.len() != 5 || !middle.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if first.is_ascii_digit() && (last.is_ascii_digit() || CPT_SUFFIXES.contains(last)) {
        Some(ProcedureCodeKind::Cpt)
    } else if (b'A'..=b'V').contains(first) && last.is_ascii_digit() {
        Some(ProcedureCodeKind::HcpcsLevelTwo)
    } else {
        None
    }
}

/// The evaluation and management (office, hospital, consultation, ...) visit codes:
/// the only codes modifier 25 may be attached to.
const EVALUATION_AND_MANAGEMENT: std::ops::RangeInclusive<u32> = 99202..=99499;

/// Whether `code` is a CPT evaluation and management code (99202–99499).
pub fn is_evaluation_and_management(code: &str) -> bool {
    code.len() == 5
        && code.bytes().all(|b| b.is_ascii_digit())
        && code
            .parse()
            .is_ok_and(|number: u32| EVALUATION_AND_MANAGEMENT.contains(&number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpt_codes_have_five_digits_or_four_and_a_category_letter() {
        for code in ["99213", "00100", "0001F", "0042T", "0001U", "0002M", "0001A"] {
            assert_eq!(kind(code), Some(ProcedureCodeKind::Cpt), "{code}");
        }
    }

    #[test]
    fn hcpcs_level_two_codes_are_a_letter_and_four_digits() {
        for code in ["J3420", "G0438", "A0021", "V5364"] {
            assert_eq!(kind(code), Some(ProcedureCodeKind::HcpcsLevelTwo), "{code}");
        }
    }

    #[test]
    fn other_shapes_are_neither() {
        for code in [
            "",
            "9921",
            "992134",
            "0001X",
            "W1234",
            "j3420",
            "J342",
            "J34200",
            "99.13",
            "١٢٣٤٥",
        ] {
            assert_eq!(kind(code), None, "{code}");
        }
    }

    #[test]
    fn evaluation_and_management_codes_run_from_99202_to_99499() {
        for code in ["99202", "99213", "99215", "99499"] {
            assert!(is_evaluation_and_management(code), "{code}");
        }
        for code in ["99201", "99500", "20610", "9921", "+9921", "G0438"] {
            assert!(!is_evaluation_and_management(code), "{code}");
        }
    }
}
