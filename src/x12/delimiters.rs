//! The characters that structure an interchange. X12 has no fixed syntax characters:
//! each ISA declares its own, so a reader takes them from the ISA and never assumes
//! `*`, `^`, `:` and `~` (several senders use `|` or `>` as the component separator).

use crate::x12::error::{Problem, ReadError};

/// The four delimiters of one interchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// The byte right after "ISA".
    pub element: u8,
    /// ISA11.
    pub repetition: u8,
    /// ISA16.
    pub component: u8,
    /// The byte right after ISA16.
    pub segment: u8,
}

/// The ISA has 16 elements, each preceded by an element separator.
const ISA_ELEMENTS: usize = 16;

impl Delimiters {
    /// What Claimbridge writes: the 5010 convention, and what the guides' examples use.
    pub const STANDARD: Delimiters = Delimiters {
        element: b'*',
        repetition: b'^',
        component: b':',
        segment: b'~',
    };

    /// Reads the delimiters from the ISA that starts `text` (a byte-order mark or
    /// blank lines before it are tolerated) and returns them with the byte offset of
    /// the ISA.
    ///
    /// ISA16 is found by counting element separators rather than by its fixed offset
    /// (104): for a correctly padded ISA both agree, and a sender that mis-pads
    /// ISA06 or ISA08 is still read.
    pub fn from_isa(text: &str) -> Result<(Delimiters, usize), ReadError> {
        let start = text.len() - text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']).len();
        let bytes = &text.as_bytes()[start..];
        if !bytes.starts_with(b"ISA") {
            return Err(ReadError::interchange(Problem::NoIsa));
        }
        let short = || ReadError::interchange(Problem::ShortIsa);
        let element = *bytes.get(3).ok_or_else(short)?;
        let mut separators = [0usize; ISA_ELEMENTS];
        let mut found = 0;
        for (offset, &byte) in bytes.iter().enumerate().skip(3) {
            if byte == element {
                separators[found] = offset;
                found += 1;
                if found == ISA_ELEMENTS {
                    break;
                }
            }
        }
        if found < ISA_ELEMENTS {
            return Err(short());
        }
        // ISA11 lies between the 11th and 12th separators and is one character long.
        let repetition = match &bytes[separators[10] + 1..separators[11]] {
            [repetition] => *repetition,
            _ => return Err(ReadError::interchange(Problem::BadDelimiters)),
        };
        let last = separators[ISA_ELEMENTS - 1];
        let component = *bytes.get(last + 1).ok_or_else(short)?;
        let segment = *bytes.get(last + 2).ok_or_else(short)?;
        let delimiters = Delimiters {
            element,
            repetition,
            component,
            segment,
        };
        if delimiters.are_usable() {
            Ok((delimiters, start))
        } else {
            Err(ReadError::interchange(Problem::BadDelimiters))
        }
    }

    fn are_usable(&self) -> bool {
        let all = [self.element, self.repetition, self.component, self.segment];
        let distinct = all.iter().enumerate().all(|(i, b)| !all[..i].contains(b));
        // A line break as segment terminator is unusual but legal; data characters
        // (letters, digits, space) never are delimiters.
        let terminator_ok = self.segment.is_ascii_punctuation() || matches!(self.segment, b'\n' | b'\r');
        let others_ok = all[..3].iter().all(u8::is_ascii_punctuation);
        distinct && terminator_ok && others_ok
    }

    /// The delimiter `value` contains, if any: such a value cannot be written as data
    /// (X12 has no escape mechanism).
    pub fn found_in(&self, value: &str) -> Option<char> {
        let delimiters = [self.element, self.repetition, self.component, self.segment];
        value.bytes().find(|b| delimiters.contains(b)).map(char::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &str = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *240115*1200*^*00501*000000907*1*T*:~";

    #[test]
    fn reads_the_delimiters_from_a_fixed_width_isa() {
        assert_eq!(ISA.len(), 106);
        let (delimiters, start) = Delimiters::from_isa(ISA).unwrap();
        assert_eq!(delimiters, Delimiters::STANDARD);
        assert_eq!(start, 0);
    }

    #[test]
    fn takes_other_delimiters_from_the_isa() {
        let isa = ISA.replace('*', "|").replace(":~", ">\n");
        let (delimiters, _) = Delimiters::from_isa(&isa).unwrap();
        assert_eq!(
            (delimiters.element, delimiters.component, delimiters.segment),
            (b'|', b'>', b'\n')
        );
    }

    #[test]
    fn tolerates_a_byte_order_mark_and_blank_lines_before_the_isa() {
        let text = format!("\u{feff}\r\n{ISA}");
        let (_, start) = Delimiters::from_isa(&text).unwrap();
        assert!(text[start..].starts_with("ISA*"));
    }

    #[test]
    fn refuses_what_is_not_an_isa() {
        let error = Delimiters::from_isa("GS*HC*A*B~").unwrap_err();
        assert_eq!(error.problem, Problem::NoIsa);
        let error = Delimiters::from_isa(&ISA[..60]).unwrap_err();
        assert_eq!(error.problem, Problem::ShortIsa);
        let error = Delimiters::from_isa(&ISA.replace(":~", "*~")).unwrap_err();
        assert_eq!(error.problem, Problem::BadDelimiters);
        let error = Delimiters::from_isa(&ISA.replace(":~", "A~")).unwrap_err();
        assert_eq!(error.problem, Problem::BadDelimiters);
    }

    #[test]
    fn finds_delimiters_inside_data() {
        let delimiters = Delimiters::STANDARD;
        assert_eq!(delimiters.found_in("SMITH*JONES"), Some('*'));
        assert_eq!(delimiters.found_in("A:B"), Some(':'));
        assert_eq!(delimiters.found_in("O'BRIEN-SMITH"), None);
    }
}
