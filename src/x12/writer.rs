//! Writing an interchange: ISA/GS/ST headers and their trailers with the counts and
//! control numbers computed, and segments built element by element.
//!
//! Output is `*` `^` `:` `~` with a line break after every segment terminator. X12
//! ignores line breaks between segments and every reader we know accepts them (the
//! guides' own examples are laid out that way); they make files diffable and
//! readable in logs at the cost of one byte per segment.
//!
//! X12 has no escape mechanism, so a value containing a delimiter cannot be written
//! faithfully: the segment builder refuses it rather than corrupting the file.

use std::fmt::Write as _;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use crate::x12::delimiters::Delimiters;

/// A value that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("{segment}{element:02}: {value:?} contains {found:?}, a delimiter or line break (X12 cannot escape it)")]
    DelimiterInData {
        segment: &'static str,
        element: usize,
        value: String,
        found: char,
    },
    #[error("{field}: {value:?} is longer than {max} characters")]
    TooLong {
        field: &'static str,
        value: String,
        max: usize,
    },
    #[error("{field}: {value:?} {expected}")]
    Invalid {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Who exchanges the interchange, and how: everything in the ISA and GS that does
/// not change from file to file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeConfig {
    /// ISA05/ISA06.
    pub sender: InterchangeParty,
    /// ISA07/ISA08.
    pub receiver: InterchangeParty,
    /// GS02, the application sender's code (often the same id as ISA06).
    pub application_sender: String,
    /// GS03.
    pub application_receiver: String,
    /// ISA15.
    pub usage: Usage,
    /// ISA14: ask the receiver for a TA1 interchange acknowledgment.
    pub acknowledgment_requested: bool,
}

/// An interchange sender or receiver: a qualifier (ZZ mutually defined, 01 DUNS,
/// 14, 20, 27, 28, 29, 30 federal tax id…) and an id of up to 15 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterchangeParty {
    pub qualifier: String,
    pub id: String,
}

/// ISA15: whether the receiver should process the file or only validate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Production,
    Test,
}

/// The control numbers of one interchange. The caller keeps the counters: they must
/// be unique per trading partner, and acknowledgments refer back to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlNumbers {
    /// ISA13/IEA02, 1 to 999,999,999.
    pub interchange: u32,
    /// GS06/GE02, 1 to 999,999,999.
    pub group: u32,
}

const MAX_CONTROL_NUMBER: u32 = 999_999_999;
const DELIMITERS: Delimiters = Delimiters::STANDARD;

/// An interchange being written: the ISA is written first, the IEA by [`finish`].
///
/// [`finish`]: InterchangeWriter::finish
pub struct InterchangeWriter {
    out: String,
    interchange_control_number: u32,
    created: NaiveDateTime,
    groups: usize,
    application_sender: String,
    application_receiver: String,
}

/// A functional group being written (GS … GE).
pub struct GroupWriter<'w> {
    out: &'w mut String,
    transactions: usize,
    version: &'w str,
}

/// A transaction set being written (ST … SE).
pub struct TransactionWriter<'w> {
    out: &'w mut String,
    segments: usize,
}

/// One segment being built; nothing reaches the output until [`finish`] succeeds.
///
/// [`finish`]: SegmentBuilder::finish
#[must_use = "a segment is written only by finish()"]
pub struct SegmentBuilder<'w> {
    out: &'w mut String,
    segments: &'w mut usize,
    id: &'static str,
    start: usize,
    /// Elements given so far, empty ones included: the position of the last.
    position: usize,
    /// Separators owed before the next non-empty element: one, plus one per empty
    /// element given since the last written one (trailing empty elements are left
    /// out, so their separators are never written).
    pending_separators: usize,
    error: Option<WriteError>,
}

impl InterchangeWriter {
    /// Writes the ISA. `created` gives ISA09/ISA10 and the GS date and time.
    pub fn begin(
        config: &EnvelopeConfig,
        control_number: u32,
        created: NaiveDateTime,
    ) -> Result<InterchangeWriter, WriteError> {
        check_control_number("ISA13", control_number)?;
        let sender = padded_id("ISA06", &config.sender)?;
        let receiver = padded_id("ISA08", &config.receiver)?;
        let sender_qualifier = qualifier("ISA05", &config.sender.qualifier)?;
        let receiver_qualifier = qualifier("ISA07", &config.receiver.qualifier)?;
        for (field, value) in [
            ("GS02", &config.application_sender),
            ("GS03", &config.application_receiver),
        ] {
            check_text(field, value, 15)?;
        }
        let usage = match config.usage {
            Usage::Production => 'P',
            Usage::Test => 'T',
        };
        let acknowledgment = if config.acknowledgment_requested { '1' } else { '0' };
        // ISA01–ISA04: no authorization or security information (00 and ten spaces),
        // what 5010 trading partners use; ISA12 00501 is the 5010 version.
        let mut out = String::with_capacity(4096);
        let _ = writeln!(
            out,
            "ISA*00*          *00*          *{sender_qualifier}*{sender}*{receiver_qualifier}*{receiver}*{}*{}*^*00501*{control_number:09}*{acknowledgment}*{usage}*:~",
            created.format("%y%m%d"),
            created.format("%H%M"),
        );
        Ok(InterchangeWriter {
            out,
            interchange_control_number: control_number,
            created,
            groups: 0,
            application_sender: config.application_sender.clone(),
            application_receiver: config.application_receiver.clone(),
        })
    }

    /// Writes a functional group: GS, what `body` writes, and GE with the number of
    /// transaction sets. `functional_id` is GS01 (HC, HS…), `version` GS08 and ST03.
    pub fn group<E: From<WriteError>>(
        &mut self,
        functional_id: &str,
        version: &str,
        control_number: u32,
        body: impl FnOnce(&mut GroupWriter<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        check_control_number("GS06", control_number)?;
        let _ = writeln!(
            self.out,
            "GS*{functional_id}*{}*{}*{}*{}*{control_number}*X*{version}~",
            self.application_sender,
            self.application_receiver,
            self.created.format("%Y%m%d"),
            self.created.format("%H%M"),
        );
        let mut group = GroupWriter {
            out: &mut self.out,
            transactions: 0,
            version,
        };
        body(&mut group)?;
        let transactions = group.transactions;
        let _ = writeln!(self.out, "GE*{transactions}*{control_number}~");
        self.groups += 1;
        Ok(())
    }

    /// Writes the IEA and returns the interchange.
    pub fn finish(mut self) -> String {
        let _ = writeln!(
            self.out,
            "IEA*{}*{:09}~",
            self.groups, self.interchange_control_number
        );
        self.out
    }
}

impl GroupWriter<'_> {
    /// Writes a transaction set: ST, what `body` writes, and SE with the segment
    /// count (ST to SE inclusive). Transaction sets are numbered 0001, 0002… within
    /// the group (ST02 needs at least four digits).
    pub fn transaction<E: From<WriteError>>(
        &mut self,
        set_id: &str,
        body: impl FnOnce(&mut TransactionWriter<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let control_number = self.transactions + 1;
        let _ = writeln!(self.out, "ST*{set_id}*{control_number:04}*{}~", self.version);
        let mut transaction = TransactionWriter {
            out: self.out,
            segments: 1,
        };
        body(&mut transaction)?;
        let count = transaction.segments + 1;
        let _ = writeln!(self.out, "SE*{count}*{control_number:04}~");
        self.transactions += 1;
        Ok(())
    }
}

impl TransactionWriter<'_> {
    /// Starts segment `id`; add its elements in order, then `finish()`.
    pub fn segment(&mut self, id: &'static str) -> SegmentBuilder<'_> {
        let start = self.out.len();
        self.out.push_str(id);
        SegmentBuilder {
            out: self.out,
            segments: &mut self.segments,
            id,
            start,
            position: 0,
            pending_separators: 1,
            error: None,
        }
    }
}

impl SegmentBuilder<'_> {
    /// The next element, a simple value; "" leaves it empty.
    pub fn element(mut self, value: &str) -> Self {
        self.position += 1;
        if self.error.is_none() && !value.is_empty() {
            if let Some(found) = forbidden_in(value) {
                self.refuse(value, found);
            } else {
                self.separators();
                self.out.push_str(value);
            }
        }
        self.pending_separators += 1;
        self
    }

    /// The next element, optional.
    pub fn optional(self, value: Option<&str>) -> Self {
        self.element(value.unwrap_or(""))
    }

    /// The next element, a composite; trailing empty components are left out.
    pub fn composite(mut self, components: &[&str]) -> Self {
        self.position += 1;
        let used = components
            .iter()
            .rposition(|c| !c.is_empty())
            .map_or(0, |last| last + 1);
        if let Some((value, found)) = components[..used]
            .iter()
            .find_map(|value| forbidden_in(value).map(|found| (value, found)))
        {
            if self.error.is_none() {
                self.refuse(value, found);
            }
        } else if self.error.is_none() && used > 0 {
            self.separators();
            for (index, component) in components[..used].iter().enumerate() {
                if index > 0 {
                    self.out.push(char::from(DELIMITERS.component));
                }
                self.out.push_str(component);
            }
        }
        self.pending_separators += 1;
        self
    }

    /// The next element, repeated values (EB03 service types) separated by the
    /// repetition separator; empty values are left out.
    pub fn repeated(mut self, values: &[&str]) -> Self {
        self.position += 1;
        let mut values = values.iter().filter(|value| !value.is_empty()).peekable();
        if self.error.is_none() && values.peek().is_some() {
            let mut written = String::new();
            for value in values {
                if let Some(found) = forbidden_in(value) {
                    self.refuse(value, found);
                    break;
                }
                if !written.is_empty() {
                    written.push(char::from(DELIMITERS.repetition));
                }
                written.push_str(value);
            }
            if self.error.is_none() {
                self.separators();
                self.out.push_str(&written);
            }
        }
        self.pending_separators += 1;
        self
    }

    /// The next element, a decimal amount or quantity, written without trailing
    /// zeros as the guides recommend ("40.5", "100").
    pub fn amount(mut self, amount: Decimal) -> Self {
        self.position += 1;
        if self.error.is_none() {
            self.separators();
            let _ = write!(self.out, "{}", amount.normalize());
        }
        self.pending_separators += 1;
        self
    }

    /// The next element, an amount when there is one.
    pub fn optional_amount(self, amount: Option<Decimal>) -> Self {
        match amount {
            Some(amount) => self.amount(amount),
            None => self.element(""),
        }
    }

    /// The next element, a date as CCYYMMDD (qualifier D8).
    pub fn date(mut self, date: NaiveDate) -> Self {
        self.position += 1;
        if self.error.is_none() {
            self.separators();
            let _ = write!(self.out, "{}", date.format("%Y%m%d"));
        }
        self.pending_separators += 1;
        self
    }

    /// The next two elements: a date's qualifier and the date, D8 `CCYYMMDD` for
    /// one day or RD8 `CCYYMMDD-CCYYMMDD` for a range of them.
    pub fn date_or_range(self, first: NaiveDate, last: Option<NaiveDate>) -> Self {
        match last {
            Some(last) => {
                self.element("RD8")
                    .element(&format!("{}-{}", first.format("%Y%m%d"), last.format("%Y%m%d")))
            }
            None => self.element("D8").date(first),
        }
    }

    /// The next element, a whole number.
    pub fn number(mut self, number: usize) -> Self {
        self.position += 1;
        if self.error.is_none() {
            self.separators();
            let _ = write!(self.out, "{number}");
        }
        self.pending_separators += 1;
        self
    }

    /// Writes the segment and its terminator, or leaves the output untouched and
    /// returns the first refused value.
    pub fn finish(self) -> Result<(), WriteError> {
        if let Some(error) = self.error {
            self.out.truncate(self.start);
            return Err(error);
        }
        self.out.push(char::from(DELIMITERS.segment));
        self.out.push('\n');
        *self.segments += 1;
        Ok(())
    }

    /// Writes the element separators owed to the elements before this one.
    fn separators(&mut self) {
        for _ in 0..self.pending_separators {
            self.out.push(char::from(DELIMITERS.element));
        }
        self.pending_separators = 0;
    }

    fn refuse(&mut self, value: &str, found: char) {
        self.error = Some(WriteError::DelimiterInData {
            segment: self.id,
            element: self.position,
            value: value.to_string(),
            found,
        });
    }
}

/// A delimiter, or a line break (which would be taken for one by readers that
/// split on line breaks, and which our own output puts after every segment).
fn forbidden_in(value: &str) -> Option<char> {
    DELIMITERS
        .found_in(value)
        .or_else(|| value.chars().find(|c| matches!(c, '\r' | '\n')))
}

fn check_control_number(field: &'static str, number: u32) -> Result<(), WriteError> {
    if (1..=MAX_CONTROL_NUMBER).contains(&number) {
        Ok(())
    } else {
        Err(WriteError::Invalid {
            field,
            value: number.to_string(),
            expected: "must be between 1 and 999999999",
        })
    }
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), WriteError> {
    if value.is_empty() {
        return Err(WriteError::Invalid {
            field,
            value: String::new(),
            expected: "is required",
        });
    }
    if let Some(found) = forbidden_in(value) {
        return Err(WriteError::Invalid {
            field,
            value: value.to_string(),
            expected: if found == '\n' || found == '\r' {
                "contains a line break"
            } else {
                "contains a delimiter"
            },
        });
    }
    if value.chars().count() > max {
        return Err(WriteError::TooLong {
            field,
            value: value.to_string(),
            max,
        });
    }
    Ok(())
}

/// ISA06 and ISA08 are fixed width: padded with spaces to 15.
fn padded_id(field: &'static str, party: &InterchangeParty) -> Result<String, WriteError> {
    check_text(field, &party.id, 15)?;
    Ok(format!("{:<15}", party.id))
}

fn qualifier<'a>(field: &'static str, value: &'a str) -> Result<&'a str, WriteError> {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(value)
    } else {
        Err(WriteError::Invalid {
            field,
            value: value.to_string(),
            expected: "must be a two-character qualifier (ZZ, 01, 30…)",
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::x12::envelope::check_envelope;

    pub(crate) fn envelope_config() -> EnvelopeConfig {
        EnvelopeConfig {
            sender: InterchangeParty {
                qualifier: "ZZ".into(),
                id: "CLAIMBRIDGE".into(),
            },
            receiver: InterchangeParty {
                qualifier: "ZZ".into(),
                id: "CLEARINGHOUSE".into(),
            },
            application_sender: "CLAIMBRIDGE".into(),
            application_receiver: "CLEARINGHOUSE".into(),
            usage: Usage::Test,
            acknowledgment_requested: false,
        }
    }

    pub(crate) fn created() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 1, 15)
            .unwrap()
            .and_hms_opt(9, 5, 0)
            .unwrap()
    }

    fn write(
        body: impl FnOnce(&mut TransactionWriter<'_>) -> Result<(), WriteError>,
    ) -> Result<String, WriteError> {
        let mut interchange = InterchangeWriter::begin(&envelope_config(), 907, created())?;
        interchange.group("HC", "005010X222A1", 12, |group| group.transaction("837", body))?;
        Ok(interchange.finish())
    }

    #[test]
    fn the_envelope_has_fixed_widths_counts_and_matching_control_numbers() {
        let text = write(|t| {
            t.segment("BHT")
                .element("0019")
                .element("00")
                .element("REF1")
                .finish()?;
            t.segment("LX").number(1).finish()
        })
        .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "ISA*00*          *00*          *ZZ*CLAIMBRIDGE    *ZZ*CLEARINGHOUSE  *240115*0905*^*00501*000000907*0*T*:~"
        );
        assert_eq!(lines[0].len(), 106);
        assert_eq!(
            lines[1],
            "GS*HC*CLAIMBRIDGE*CLEARINGHOUSE*20240115*0905*12*X*005010X222A1~"
        );
        assert_eq!(lines[2], "ST*837*0001*005010X222A1~");
        assert_eq!(lines[5], "SE*4*0001~");
        assert_eq!(lines[6], "GE*1*12~");
        assert_eq!(lines[7], "IEA*1*000000907~");
        let summary = check_envelope(&text).unwrap();
        assert_eq!(summary.groups[0].transactions[0].segment_count, 4);
    }

    #[test]
    fn empty_elements_keep_their_place_and_trailing_ones_are_dropped() {
        let text = write(|t| {
            t.segment("NM1")
                .element("41")
                .element("2")
                .element("PREMIER BILLING")
                .element("")
                .element("")
                .element("")
                .element("")
                .element("46")
                .element("TGJ23")
                .element("")
                .finish()?;
            t.segment("SV1")
                .composite(&["HC", "99213", "", ""])
                .amount(Decimal::new(4000, 2))
                .element("UN")
                .amount(Decimal::new(150, 2))
                .element("")
                .element("")
                .composite(&["1", "2"])
                .finish()?;
            t.segment("DMG").element("D8").optional(None).finish()
        })
        .unwrap();
        assert!(
            text.contains("\nNM1*41*2*PREMIER BILLING*****46*TGJ23~\n"),
            "{text}"
        );
        assert!(text.contains("\nSV1*HC:99213*40*UN*1.5***1:2~\n"), "{text}");
        assert!(text.contains("\nDMG*D8~\n"), "{text}");
    }

    #[test]
    fn repeated_values_are_joined_by_the_repetition_separator() {
        let text = write(|t| {
            t.segment("EB")
                .element("B")
                .element("")
                .repeated(&["1", "", "98"])
                .finish()?;
            t.segment("EB").element("1").element("").repeated(&[]).finish()
        })
        .unwrap();
        assert!(text.contains("\nEB*B**1^98~\nEB*1~\n"), "{text}");
        let refused = write(|t| t.segment("EB").element("B").repeated(&["9^8"]).finish()).unwrap_err();
        assert!(matches!(
            refused,
            WriteError::DelimiterInData {
                element: 2,
                found: '^',
                ..
            }
        ));
    }

    #[test]
    fn data_containing_a_delimiter_is_refused_and_not_written() {
        let mut interchange = InterchangeWriter::begin(&envelope_config(), 1, created()).unwrap();
        let result: Result<(), WriteError> = interchange.group("HC", "005010X222A1", 1, |group| {
            group.transaction("837", |t| {
                let error = t
                    .segment("NM1")
                    .element("IL")
                    .element("1")
                    .element("SMITH*JONES")
                    .finish();
                assert_eq!(
                    error.unwrap_err(),
                    WriteError::DelimiterInData {
                        segment: "NM1",
                        element: 3,
                        value: "SMITH*JONES".into(),
                        found: '*'
                    }
                );
                let error = t
                    .segment("SV1")
                    .composite(&["HC", "992:13"])
                    .finish()
                    .unwrap_err();
                assert!(matches!(error, WriteError::DelimiterInData { found: ':', .. }));
                let error = t
                    .segment("NTE")
                    .element("ADD")
                    .element("LINE\nBREAK")
                    .finish()
                    .unwrap_err();
                assert!(matches!(error, WriteError::DelimiterInData { found: '\n', .. }));
                Ok(())
            })
        });
        result.unwrap();
        let text = interchange.finish();
        assert!(!text.contains("NM1") && !text.contains("SV1") && !text.contains("NTE"));
        // The refused segments were not counted either.
        assert!(text.contains("SE*2*0001~"));
        check_envelope(&text).unwrap();
    }

    #[test]
    fn isa_fields_are_checked() {
        let mut config = envelope_config();
        config.sender.id = "A-SENDER-ID-LONGER-THAN-15".into();
        assert!(matches!(
            InterchangeWriter::begin(&config, 1, created()),
            Err(WriteError::TooLong { field: "ISA06", .. })
        ));
        let mut config = envelope_config();
        config.receiver.qualifier = "Z".into();
        assert!(matches!(
            InterchangeWriter::begin(&config, 1, created()),
            Err(WriteError::Invalid { field: "ISA07", .. })
        ));
        assert!(matches!(
            InterchangeWriter::begin(&envelope_config(), 1_000_000_000, created()),
            Err(WriteError::Invalid { field: "ISA13", .. })
        ));
        let mut config = envelope_config();
        config.usage = Usage::Production;
        config.acknowledgment_requested = true;
        let text = InterchangeWriter::begin(&config, 5, created()).unwrap().finish();
        assert!(text.starts_with("ISA*") && text.contains("*000000005*1*P*:~\n"));
        assert!(text.ends_with("IEA*0*000000005~\n"));
    }
}
