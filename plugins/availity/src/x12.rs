//! Just enough X12 for what crosses Availity's channels: reading the 270 the server
//! wrote (to fill the Coverages form), writing the 271 it expects back, reading an
//! 837P for its claims, and reading or writing the 999 and 277CA acknowledgements of
//! the batch channel. The server keeps the full X12 model; this crate cannot depend on
//! it, so it reads segments and elements by position and nothing more.
//!
//! Separators are taken from the ISA (element at offset 3, component at 104,
//! segment terminator at 105), never assumed; CR/LF after a terminator is tolerated.

use chrono::{DateTime, NaiveDate, Utc};

/// One segment: its id and its elements, `element(1)` being the first after the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub id: String,
    elements: Vec<String>,
    component: char,
    repetition: char,
}

impl Segment {
    /// Element `n` (1-based), empty when absent.
    pub fn element(&self, n: usize) -> &str {
        self.elements
            .get(n.wrapping_sub(1))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Element `n` when present and not empty.
    pub fn value(&self, n: usize) -> Option<&str> {
        Some(self.element(n)).filter(|value| !value.is_empty())
    }

    /// Component `c` (1-based) of element `n`.
    pub fn component(&self, n: usize, c: usize) -> &str {
        self.element(n).split(self.component).nth(c - 1).unwrap_or("")
    }

    /// The repetitions of element `n`.
    pub fn repetitions(&self, n: usize) -> impl Iterator<Item = &str> {
        self.element(n)
            .split(self.repetition)
            .filter(|value| !value.is_empty())
    }
}

/// Every segment of an interchange, in order.
pub fn segments(text: &str) -> Result<Vec<Segment>, String> {
    let text = text.trim_start_matches(['\u{feff}', ' ', '\r', '\n']);
    if !text.starts_with("ISA") || text.len() < 106 {
        return Err("not an X12 interchange: it does not start with a complete ISA".into());
    }
    let chars: Vec<char> = text.chars().take(106).collect();
    let element = chars[3];
    let component = chars[104];
    let terminator = chars[105];
    let repetition = chars.get(82).copied().filter(|c| *c != element).unwrap_or('^');
    Ok(text
        .split(terminator)
        .map(|raw| raw.trim_matches(['\r', '\n']))
        .filter(|raw| !raw.is_empty())
        .map(|raw| {
            let mut parts = raw.split(element).map(str::to_owned);
            Segment {
                id: parts.next().unwrap_or_default(),
                elements: parts.collect(),
                component,
                repetition,
            }
        })
        .collect())
}

/// CCYYMMDD.
pub fn date(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y%m%d").ok()
}

pub fn format_date(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// The envelope of an interchange to write: who sends it to whom, and its control
/// number (ISA13 = GS06, ST02 = `0001`).
#[derive(Debug, Clone)]
pub struct Envelope {
    pub sender_id: String,
    pub receiver_id: String,
    pub control_number: u32,
    /// ISA15: `T` test, `P` production.
    pub usage: char,
    pub created: DateTime<Utc>,
}

impl Envelope {
    /// An interchange holding one transaction set whose body (the segments between ST
    /// and SE, each without terminator) is `body`: counts and control numbers are
    /// computed here so they always agree.
    pub fn wrap(&self, functional_id: &str, set_id: &str, version: &str, body: &[String]) -> String {
        let date6 = self.created.format("%y%m%d");
        let date8 = self.created.format("%Y%m%d");
        let time = self.created.format("%H%M");
        let control = format!("{:09}", self.control_number);
        let mut out = String::new();
        let mut push = |segment: String| {
            out.push_str(&segment);
            out.push_str("~\n");
        };
        push(format!(
            "ISA*00*          *00*          *ZZ*{:<15}*ZZ*{:<15}*{date6}*{time}*^*00501*{control}*0*{}*:",
            truncate(&self.sender_id, 15),
            truncate(&self.receiver_id, 15),
            self.usage
        ));
        push(format!(
            "GS*{functional_id}*{}*{}*{date8}*{time}*{}*X*{version}",
            self.sender_id, self.receiver_id, self.control_number
        ));
        push(format!("ST*{set_id}*0001*{version}"));
        for segment in body {
            push(segment.clone());
        }
        push(format!("SE*{}*0001", body.len() + 2));
        push(format!("GE*1*{}", self.control_number));
        push(format!("IEA*1*{control}"));
        out
    }
}

fn truncate(value: &str, width: usize) -> String {
    value.chars().take(width).collect()
}

/// Makes a value safe to put in an element: separators and terminators removed.
pub fn clean(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, '*' | '~' | ':' | '^' | '\r' | '\n'))
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn separators_come_from_the_isa() {
        let text = "ISA|00|          |00|          |ZZ|SENDER         |ZZ|RECEIVER       |240115|1200|^|00501|000000907|1|T|>!\r\nGS|HS|A|B|20240115|1200|1|X|005010X279A1!EQ|30^98!NM1|IL|1|DOE|JANE!";
        let segments = segments(text).unwrap();
        assert_eq!(segments[1].id, "GS");
        assert_eq!(segments[1].element(8), "005010X279A1");
        assert_eq!(segments[2].repetitions(1).collect::<Vec<_>>(), ["30", "98"]);
        assert_eq!(segments[3].element(3), "DOE");
        assert_eq!(segments[3].value(9), None);
    }

    #[test]
    fn a_written_interchange_counts_its_segments_and_reads_back() {
        let envelope = Envelope {
            sender_id: "AVAILITY".into(),
            receiver_id: "CLAIMBRIDGE".into(),
            control_number: 42,
            usage: 'T',
            created: Utc.with_ymd_and_hms(2026, 3, 2, 14, 5, 0).unwrap(),
        };
        let text = envelope.wrap("FA", "999", "005010X231A1", &["AK1*HC*7*005010X222A1".into()]);
        let isa = text.lines().next().unwrap();
        assert_eq!(isa.len(), 106, "{isa}");
        let segments = segments(&text).unwrap();
        let se = segments.iter().find(|s| s.id == "SE").unwrap();
        assert_eq!(se.element(1), "3");
        assert_eq!(segments.last().unwrap().element(2), "000000042");
    }
}
