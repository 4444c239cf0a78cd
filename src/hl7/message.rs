//! A received HL7 v2 message: its MSH header read first (so even a message the parser
//! refuses gets an addressed ACK), then split into segments, its fields split and
//! decoded from the message's own encoding characters.

use crate::hl7::ack::{ErrorCode, ErrorLocation, Problem};

/// The message versions this server maps (MSH-12).
const SUPPORTED_VERSIONS: &[&str] = &[
    "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2",
];

/// MSH-1 and MSH-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Separators {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: char,
    pub subcomponent: char,
}

impl Default for Separators {
    fn default() -> Self {
        Separators {
            field: '|',
            component: '^',
            repetition: '~',
            escape: '\\',
            subcomponent: '&',
        }
    }
}

impl Separators {
    /// MSH-2 as sent back in an ACK.
    pub fn encoding_characters(&self) -> String {
        [self.component, self.repetition, self.escape, self.subcomponent]
            .iter()
            .collect()
    }

    fn from_msh(field: char, encoding: &str) -> Option<Separators> {
        let chars: Vec<char> = encoding.chars().collect();
        // v2.7 adds a fifth, the truncation character; it needs no handling here.
        if !(4..=5).contains(&chars.len()) {
            return None;
        }
        let separators = Separators {
            field,
            component: chars[0],
            repetition: chars[1],
            escape: chars[2],
            subcomponent: chars[3],
        };
        let all = [field, chars[0], chars[1], chars[2], chars[3]];
        let distinct = all.iter().enumerate().all(|(i, c)| !all[..i].contains(c));
        let printable = all.iter().all(|c| c.is_ascii_punctuation());
        (distinct && printable).then_some(separators)
    }

    /// Escapes text so that it can stand in a field (`|` → `\F\`, …).
    pub fn escape(&self, text: &str) -> String {
        let mut escaped = String::with_capacity(text.len());
        for ch in text.chars() {
            let code = match ch {
                c if c == self.escape => Some('E'),
                c if c == self.field => Some('F'),
                c if c == self.component => Some('S'),
                c if c == self.subcomponent => Some('T'),
                c if c == self.repetition => Some('R'),
                '\r' | '\n' => {
                    escaped.push_str(&format!("{0}.br{0}", self.escape));
                    None
                }
                c => {
                    escaped.push(c);
                    None
                }
            };
            if let Some(code) = code {
                escaped.extend([self.escape, code, self.escape]);
            }
        }
        escaped
    }

    /// Decodes escape sequences: `\F\ \S\ \T\ \R\ \E\`, `\Xhh…\` (hexadecimal bytes,
    /// read as UTF-8), `\.br\` (line break); highlighting (`\H\`, `\N\`) and unknown
    /// sequences are dropped. An unterminated escape is kept as text.
    pub fn unescape(&self, raw: &str) -> String {
        if !raw.contains(self.escape) {
            return raw.to_owned();
        }
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(start) = rest.find(self.escape) {
            out.push_str(&rest[..start]);
            let after = &rest[start + self.escape.len_utf8()..];
            let Some(end) = after.find(self.escape) else {
                out.push_str(&rest[start..]);
                return out;
            };
            let sequence = &after[..end];
            match sequence {
                "F" => out.push(self.field),
                "S" => out.push(self.component),
                "T" => out.push(self.subcomponent),
                "R" => out.push(self.repetition),
                "E" => out.push(self.escape),
                ".br" => out.push('\n'),
                hex if hex.starts_with('X') => {
                    let bytes: Option<Vec<u8>> = (1..hex.len())
                        .step_by(2)
                        .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                        .collect();
                    if let Some(bytes) = bytes {
                        out.push_str(&String::from_utf8_lossy(&bytes));
                    }
                }
                _ => {}
            }
            rest = &after[end + self.escape.len_utf8()..];
        }
        out.push_str(rest);
        out
    }
}

/// What the MSH says, fields kept as received (escaped) so that an ACK can echo them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    pub separators: Separators,
    pub sending_application: String,
    pub sending_facility: String,
    pub receiving_application: String,
    pub receiving_facility: String,
    pub message_type: String,
    pub trigger_event: String,
    pub control_id: String,
    pub processing_id: Option<String>,
    pub version: Option<String>,
    /// MSH-15 and MSH-16: present only when the sender asks for enhanced mode.
    pub accept_ack_type: Option<String>,
    pub application_ack_type: Option<String>,
}

impl Header {
    /// `ADT^A01`, as stored and reported.
    pub fn type_and_event(&self) -> String {
        format!("{}^{}", self.message_type, self.trigger_event)
    }

    /// Enhanced acknowledgement mode is asked for by a value in MSH-15 or MSH-16.
    pub fn enhanced_mode(&self) -> bool {
        self.accept_ack_type.is_some() || self.application_ack_type.is_some()
    }

    /// Reads the MSH of `text` (segments already ended by `\r`). On failure, returns
    /// what could be read (for addressing the ACK) with the problem.
    pub fn read(text: &str) -> Result<Header, Box<Unreadable>> {
        let first = text.split('\r').next().unwrap_or_default();
        let mut header = Header::default();
        if !first.starts_with("MSH") || first.len() < 8 {
            return Err(Box::new(Unreadable {
                header,
                problem: Problem::new(
                    ErrorCode::SegmentSequence,
                    None,
                    "the message does not start with an MSH segment",
                ),
            }));
        }
        let field_separator = first[3..].chars().next().unwrap_or('|');
        let fields: Vec<&str> = first.split(field_separator).collect();
        // fields[0] is "MSH", fields[1] is MSH-2; MSH-n is fields[n - 1].
        let msh = |n: usize| fields.get(n - 1).copied().unwrap_or_default();
        // Read before MSH-2 is checked: an ACK refusing bad encoding characters
        // still goes back to its sender and names the message it refuses.
        header.sending_application = msh(3).to_owned();
        header.sending_facility = msh(4).to_owned();
        header.receiving_application = msh(5).to_owned();
        header.receiving_facility = msh(6).to_owned();
        header.control_id = msh(10).to_owned();
        header.separators = match Separators::from_msh(field_separator, msh(2)) {
            Some(separators) => separators,
            None => {
                return Err(Box::new(Unreadable {
                    header,
                    problem: Problem::new(
                        ErrorCode::DataType,
                        Some(ErrorLocation::field("MSH", 1, 2)),
                        format!("MSH-2 {:?} is not four distinct encoding characters", msh(2)),
                    ),
                }))
            }
        };
        let component = header.separators.component;
        let first_component = |value: &str| value.split(component).next().unwrap_or_default().to_owned();
        let mut message_type = msh(9).split(component);
        header.message_type = message_type.next().unwrap_or_default().to_owned();
        header.trigger_event = message_type.next().unwrap_or_default().to_owned();
        header.processing_id = Some(first_component(msh(11))).filter(|v| !v.is_empty());
        header.version = Some(first_component(msh(12))).filter(|v| !v.is_empty());
        header.accept_ack_type = Some(msh(15).to_owned()).filter(|v| !v.is_empty());
        header.application_ack_type = Some(msh(16).to_owned()).filter(|v| !v.is_empty());

        let missing = |field: usize, what: &str| {
            Problem::new(
                ErrorCode::RequiredFieldMissing,
                Some(ErrorLocation::field("MSH", 1, field)),
                format!("MSH-{field} ({what}) is empty"),
            )
        };
        let problem = if header.message_type.is_empty() {
            Some(missing(9, "message type"))
        } else if header.control_id.is_empty() {
            Some(missing(10, "message control id"))
        } else if header.version.is_none() {
            Some(missing(12, "version id"))
        } else if !matches!(header.processing_id.as_deref(), Some("P" | "D" | "T")) {
            Some(Problem::new(
                ErrorCode::UnsupportedProcessingId,
                Some(ErrorLocation::field("MSH", 1, 11)),
                format!("MSH-11 {:?} is not P, D or T", msh(11)),
            ))
        } else if !SUPPORTED_VERSIONS.contains(&header.version.as_deref().unwrap_or_default()) {
            Some(Problem::new(
                ErrorCode::UnsupportedVersion,
                Some(ErrorLocation::field("MSH", 1, 12)),
                format!("version {:?} is not one of 2.3 to 2.8", msh(12)),
            ))
        } else {
            None
        };
        match problem {
            Some(problem) => Err(Box::new(Unreadable { header, problem })),
            None => Ok(header),
        }
    }
}

/// A message whose header cannot be accepted: what could be read of the header (to
/// address the ACK) and why.
#[derive(Debug)]
pub struct Unreadable {
    pub header: Header,
    pub problem: Problem,
}

/// Segment endings as senders write them (`\r`, `\n`, `\r\n`) made `\r`, and
/// trailing blank lines and a leading byte-order mark dropped.
pub fn normalize_segment_endings(text: &str) -> String {
    let text = text.trim_start_matches('\u{feff}');
    let normalized = text.replace("\r\n", "\r").replace('\n', "\r");
    normalized.trim_end_matches('\r').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip_with_the_message_s_own_characters() {
        let sep = Separators::from_msh('|', "^~\\&").unwrap();
        assert_eq!(
            sep.unescape(r"A\F\B\S\C\T\D\R\E\E\\X41C3A9\\.br\x"),
            "A|B^C&D~E\\Aé\nx"
        );
        assert_eq!(sep.unescape(r"\H\bold\N\ end"), "bold end");
        assert_eq!(sep.unescape(r"broken \F"), r"broken \F");
        assert_eq!(sep.unescape(&sep.escape("a|b^c&d~e\\f")), "a|b^c&d~e\\f");
        let odd = Separators::from_msh('#', "$%*!").unwrap();
        assert_eq!(odd.unescape("x*F*y*S*z"), "x#y$z");
    }

    #[test]
    fn bad_encoding_characters_are_refused() {
        assert!(Separators::from_msh('|', "^~\\").is_none());
        assert!(Separators::from_msh('|', "^^\\&").is_none());
        assert!(Separators::from_msh('|', "^~|&").is_none());
        assert!(Separators::from_msh('|', "ab\\&").is_none());
        assert!(Separators::from_msh('|', "^~\\&#").is_some());
    }

    #[test]
    fn the_header_says_who_what_and_which_version() {
        let header =
            Header::read("MSH|^~\\&|LAB|HOSP|CB|BILL|20240101||ADT^A01^ADT_A01|MSG1|P|2.5.1|||AL|NE\rPID|1")
                .unwrap();
        assert_eq!(header.sending_application, "LAB");
        assert_eq!(header.type_and_event(), "ADT^A01");
        assert_eq!(header.control_id, "MSG1");
        assert_eq!(header.version.as_deref(), Some("2.5.1"));
        assert!(header.enhanced_mode());

        let refused = Header::read("MSH|^~\\&|A|B|C|D|x||ADT^A01|1|P|2.9").unwrap_err();
        assert_eq!(refused.problem.code, ErrorCode::UnsupportedVersion);
        let refused = Header::read("MSH|^~\\&|A|B|C|D|x||ADT^A01||P|2.5").unwrap_err();
        assert_eq!(
            (refused.header.sending_application.as_str(), refused.problem.code),
            ("A", ErrorCode::RequiredFieldMissing)
        );
        let refused = Header::read("PID|1|2").unwrap_err();
        assert_eq!(refused.problem.code, ErrorCode::SegmentSequence);
    }

    #[test]
    fn fields_repetitions_and_components_are_split_where_read() {
        let text = "MSH|^~\\&|LAB|HOSP|CB|BILL|20240101||ADT^A01|MSG1|P|2.5\r\
                    PID|1||123^^^HOSP&1.2.3&ISO^MR~456^^^SSA^SS||Doe\\S\\Jr^Jane||19800101\r\
                    ZPI|custom|value\r\
                    IN1|1|A\rIN1|2|B";
        let header = Header::read(text).unwrap();
        let message = Parsed::parse(text, &header).unwrap();
        let msh = message.segment("MSH").unwrap();
        assert_eq!(msh.value(1, 1).as_deref(), Some("|"));
        assert_eq!(msh.value(9, 2).as_deref(), Some("A01"));
        let pid = message.segment("PID").unwrap();
        let ids = pid.repetitions(3);
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].subcomponent(4, 2).as_deref(), Some("1.2.3"));
        assert_eq!(ids[1].component(5).as_deref(), Some("SS"));
        assert_eq!(pid.value(5, 1).as_deref(), Some("Doe^Jr"));
        assert_eq!(pid.value(2, 1), None);
        assert_eq!(pid.value(40, 1), None);
        assert_eq!(
            message.segment("ZPI").unwrap().value(2, 1).as_deref(),
            Some("value")
        );
        let payers: Vec<_> = message.segments("IN1").filter_map(|s| s.value(2, 1)).collect();
        assert_eq!(payers, ["A", "B"]);
    }

    #[test]
    fn a_segment_without_an_id_is_refused() {
        let text = "MSH|^~\\&|LAB|HOSP|CB|BILL|20240101||ADT^A01|MSG1|P|2.5\rPID|1\rjunk text";
        let header = Header::read(text).unwrap();
        let problem = Parsed::parse(text, &header).err().unwrap();
        assert_eq!(problem.code, ErrorCode::SegmentSequence);
    }

    #[test]
    fn segment_endings_are_normalized() {
        assert_eq!(
            normalize_segment_endings("MSH|a\r\nPID|b\nPV1|c\r\r\n"),
            "MSH|a\rPID|b\rPV1|c"
        );
    }
}

/// A message split into its segments. Fields, repetitions and components are split
/// only when read: the maps read a few dozen of a message's hundreds of fields, and a
/// separator never occurs escaped (`\F\`, `\S\`…), so splitting on it is exact.
pub struct Parsed<'m> {
    segments: Vec<&'m str>,
    separators: Separators,
}

impl<'m> Parsed<'m> {
    /// Splits `text` (segments ended by `\r`, header already read) into segments,
    /// refusing one whose name is not three upper-case letters or digits.
    pub fn parse(text: &'m str, header: &Header) -> Result<Self, Problem> {
        let separators = header.separators;
        let segments: Vec<&str> = text.split('\r').filter(|s| !s.is_empty()).collect();
        for (index, segment) in segments.iter().enumerate() {
            let name = segment.as_bytes().get(..3);
            let named = name.is_some_and(|n| n.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            // Not sliced by byte offset: a segment may open with a multi-byte
            // character, and the id check above refuses it then.
            let delimited = segment.chars().nth(3).is_none_or(|c| c == separators.field);
            if !(named && delimited) {
                let shown: String = segment.chars().take(8).collect();
                return Err(Problem::new(
                    ErrorCode::SegmentSequence,
                    None,
                    format!(
                        "segment {} ({shown:?}…) has no three-character segment id",
                        index + 1
                    ),
                ));
            }
        }
        Ok(Parsed { segments, separators })
    }

    pub fn segment(&self, name: &str) -> Option<SegmentView<'m>> {
        self.segments(name).next()
    }

    pub fn segments<'a>(&'a self, name: &'a str) -> impl Iterator<Item = SegmentView<'m>> + 'a {
        let separators = self.separators;
        self.segments
            .iter()
            .filter(move |s| &s[..3] == name)
            .map(move |&text| SegmentView { text, separators })
    }
}

/// One segment, as received.
#[derive(Clone, Copy)]
pub struct SegmentView<'m> {
    text: &'m str,
    separators: Separators,
}

impl<'m> SegmentView<'m> {
    /// Field `n` (1-based, as in `PID-3`) as received. In MSH the field separator is
    /// itself MSH-1, so MSH-n is the (n-1)th piece after the segment id.
    fn field(&self, n: usize) -> Option<&'m str> {
        let offset = usize::from(self.text.starts_with("MSH"));
        if offset == 1 && n == 1 {
            return self.text.get(3..4);
        }
        self.text.split(self.separators.field).nth(n.checked_sub(offset)?)
    }

    /// Every non-empty repetition of field `n` (1-based, as in `PID-3`).
    pub fn repetitions(&self, n: usize) -> Vec<Repetition<'m>> {
        let separators = self.separators;
        let Some(field) = self.field(n) else {
            return Vec::new();
        };
        // MSH-1 and MSH-2 are the separators themselves, not values to split.
        if self.text.starts_with("MSH") && n <= 2 {
            return vec![Repetition {
                text: field,
                separators,
            }];
        }
        field
            .split(separators.repetition)
            .filter(|r| !r.is_empty())
            .map(|text| Repetition { text, separators })
            .collect()
    }

    pub fn first(&self, n: usize) -> Option<Repetition<'m>> {
        self.repetitions(n).into_iter().next()
    }

    /// Component `c` of the first repetition of field `n`, decoded; `None` if empty.
    pub fn value(&self, n: usize, c: usize) -> Option<String> {
        self.first(n).and_then(|r| r.component(c))
    }
}

/// One repetition of a field, as received.
#[derive(Clone, Copy)]
pub struct Repetition<'m> {
    text: &'m str,
    separators: Separators,
}

impl Repetition<'_> {
    /// Component `c` (1-based), its first sub-component, decoded; `None` if empty.
    pub fn component(&self, c: usize) -> Option<String> {
        self.subcomponent(c, 1)
    }

    /// Sub-component `s` of component `c`, decoded; `None` if empty.
    pub fn subcomponent(&self, c: usize, s: usize) -> Option<String> {
        let raw = self
            .text
            .split(self.separators.component)
            .nth(c.checked_sub(1)?)?
            .split(self.separators.subcomponent)
            .nth(s.checked_sub(1)?)?;
        if raw.trim().is_empty() {
            return None;
        }
        Some(self.separators.unescape(raw)).filter(|v| !v.trim().is_empty())
    }
}
