//! Segments over the interchange text, without copying it. One pass finds the
//! segment terminators; a segment's elements and components are split only when
//! read, straight from the borrowed text, so reading a file allocates nothing per
//! element.

use crate::x12::delimiters::Delimiters;
use crate::x12::error::{Location, Problem, ReadError};

/// One segment: its id and its elements, borrowed from the interchange text.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub id: &'a str,
    pub elements: Elements<'a>,
    /// 1-based position in the interchange, counting the ISA: what errors report.
    pub position: usize,
}

/// The elements of a segment, split on demand.
#[derive(Debug, Clone, Copy)]
pub struct Elements<'a> {
    /// The text after the id and its separator; `None` when the segment has no elements.
    raw: Option<&'a str>,
    delimiters: Delimiters,
}

/// One element: a simple value, a composite, or repeated values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    value: &'a str,
    delimiters: Delimiters,
}

impl<'a> Segment<'a> {
    /// Element `n` (1-based: `CLP03` is `element(3)`), if the segment has that many.
    pub fn element(&self, n: usize) -> Option<Element<'a>> {
        self.elements.get(n)
    }

    /// The text of element `n`, or "" when absent: X12 does not tell an empty
    /// element from a missing one.
    pub fn value(&self, n: usize) -> &'a str {
        self.element(n).map_or("", |element| element.as_str())
    }

    /// Component `c` of element `n` (both 1-based), or "" when absent.
    pub fn component(&self, n: usize, c: usize) -> &'a str {
        self.element(n).map_or("", |element| element.component(c))
    }

    /// The first `N` element values in one pass ("" for those absent): how readers
    /// take a segment apart without re-scanning it for every element.
    pub fn values<const N: usize>(&self) -> [&'a str; N] {
        let mut values = [""; N];
        for (slot, element) in values.iter_mut().zip(self.elements.iter()) {
            *slot = element.as_str();
        }
        values
    }

    /// An error located at this segment.
    pub fn error(&self, problem: Problem) -> ReadError {
        ReadError {
            location: Location::Segment {
                position: self.position,
                id: self.id.to_string(),
            },
            problem,
        }
    }

    /// An error located at element `element` of this segment.
    pub fn element_error(&self, element: usize, problem: Problem) -> ReadError {
        self.located_error(element, None, problem)
    }

    /// An error located at component `component` of element `element`.
    pub fn located_error(&self, element: usize, component: Option<usize>, problem: Problem) -> ReadError {
        ReadError {
            location: Location::Element {
                position: self.position,
                id: self.id.to_string(),
                element,
                component,
            },
            problem,
        }
    }
}

impl<'a> Elements<'a> {
    pub fn get(&self, n: usize) -> Option<Element<'a>> {
        self.iter().nth(n.checked_sub(1)?)
    }

    pub fn iter(&self) -> impl Iterator<Item = Element<'a>> + 'a {
        let delimiters = self.delimiters;
        self.raw
            .into_iter()
            .flat_map(move |raw| raw.split(char::from(delimiters.element)))
            .map(move |value| Element { value, delimiters })
    }

    pub fn len(&self) -> usize {
        self.raw.map_or(0, |raw| {
            1 + raw.bytes().filter(|&b| b == self.delimiters.element).count()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_none()
    }
}

impl<'a> Element<'a> {
    /// The whole element as written, composite separators included.
    pub fn as_str(&self) -> &'a str {
        self.value
    }

    /// Component `c` (1-based) of a composite, or "" when absent. A simple element is
    /// its own first component.
    pub fn component(&self, c: usize) -> &'a str {
        c.checked_sub(1)
            .and_then(|index| self.components().nth(index))
            .unwrap_or("")
    }

    pub fn components(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.value.split(char::from(self.delimiters.component))
    }

    /// The repetitions of a repeatable element (EB03 service types, for example).
    pub fn repetitions(&self) -> impl Iterator<Item = Element<'a>> + 'a {
        let delimiters = self.delimiters;
        self.value
            .split(char::from(delimiters.repetition))
            .map(move |value| Element { value, delimiters })
    }
}

/// The segments of an interchange, in order, starting with its ISA.
pub struct Segments<'a> {
    text: &'a str,
    offset: usize,
    position: usize,
    delimiters: Delimiters,
}

impl<'a> Segments<'a> {
    /// Reads the delimiters from the ISA that starts `text` and iterates its segments.
    pub fn new(text: &'a str) -> Result<Segments<'a>, ReadError> {
        let (delimiters, offset) = Delimiters::from_isa(text)?;
        Ok(Segments {
            text,
            offset,
            position: 0,
            delimiters,
        })
    }
}

/// Line breaks (and indentation) after a segment terminator make files readable;
/// they are not data, and no segment id starts with them.
fn is_line_break(byte: u8) -> bool {
    matches!(byte, b'\r' | b'\n')
}

fn is_segment_id(id: &str) -> bool {
    (2..=3).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl<'a> Iterator for Segments<'a> {
    type Item = Result<Segment<'a>, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        while self.offset < bytes.len() && (is_line_break(bytes[self.offset]) || bytes[self.offset] == b' ') {
            self.offset += 1;
        }
        if self.offset >= bytes.len() {
            return None;
        }
        self.position += 1;
        let rest = &self.text[self.offset..];
        let Some(end) = rest.find(char::from(self.delimiters.segment)) else {
            self.offset = bytes.len();
            let id = rest
                .split(char::from(self.delimiters.element))
                .next()
                .unwrap_or("");
            return Some(Err(ReadError {
                location: Location::Segment {
                    position: self.position,
                    id: id.chars().take(3).collect(),
                },
                problem: Problem::Unterminated,
            }));
        };
        self.offset += end + 1;
        let mut text = &rest[..end];
        if self.delimiters.segment == b'\n' {
            // A file terminated by line breaks may still use CRLF.
            text = text.strip_suffix('\r').unwrap_or(text);
        }
        let (id, raw) = match text.split_once(char::from(self.delimiters.element)) {
            Some((id, raw)) => (id, Some(raw)),
            None => (text, None),
        };
        if !is_segment_id(id) {
            let shown: String = id.chars().take(20).collect();
            return Some(Err(ReadError {
                location: Location::Segment {
                    position: self.position,
                    id: shown.clone(),
                },
                problem: Problem::BadSegmentId(shown),
            }));
        }
        Some(Ok(Segment {
            id,
            elements: Elements {
                raw,
                delimiters: self.delimiters,
            },
            position: self.position,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *240115*1200*^*00501*000000907*1*T*:~\r\n\
        GS*HC*SUBMITTER*RECEIVER*20240115*1200*1*X*005010X222A1~\n\
        ST*271*0001*005010X279A1~EB*B**1^33^98*HM*GOLD PLAN*27*10.00~SV1*HC:99213:25:59*40*UN*1***1:2~SE*4*0001~\n\
        GE*1*1~IEA*1*000000907~\n";

    fn segments(text: &str) -> Vec<Segment<'_>> {
        Segments::new(text).unwrap().collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn splits_segments_and_skips_line_breaks_after_terminators() {
        let ids: Vec<&str> = segments(TEXT).iter().map(|s| s.id).collect();
        assert_eq!(ids, ["ISA", "GS", "ST", "EB", "SV1", "SE", "GE", "IEA"]);
        let positions: Vec<usize> = segments(TEXT).iter().map(|s| s.position).collect();
        assert_eq!(positions, (1..=8).collect::<Vec<_>>());
    }

    #[test]
    fn reads_elements_components_and_repetitions_by_position() {
        let all = segments(TEXT);
        let eb = &all[3];
        assert_eq!(eb.value(1), "B");
        assert_eq!(eb.value(2), "");
        assert_eq!(eb.value(5), "GOLD PLAN");
        assert_eq!(eb.value(9), "");
        let service_types: Vec<&str> = eb.element(3).unwrap().repetitions().map(|r| r.as_str()).collect();
        assert_eq!(service_types, ["1", "33", "98"]);
        let sv1 = &all[4];
        assert_eq!(sv1.component(1, 1), "HC");
        assert_eq!(sv1.component(1, 2), "99213");
        assert_eq!(sv1.component(1, 4), "59");
        assert_eq!(sv1.component(1, 5), "");
        assert_eq!(sv1.component(7, 2), "2");
        assert_eq!(sv1.values::<3>(), ["HC:99213:25:59", "40", "UN"]);
        assert_eq!(sv1.elements.len(), 7);
        assert_eq!(sv1.value(0), "");
    }

    #[test]
    fn a_segment_without_elements_has_none() {
        let text = TEXT.replace("SE*4*0001~", "LE~SE*4*0001~");
        let le = segments(&text).into_iter().find(|s| s.id == "LE").unwrap();
        assert!(le.elements.is_empty());
        assert_eq!(le.elements.len(), 0);
        assert!(le.element(1).is_none());
    }

    #[test]
    fn a_missing_terminator_is_reported_with_its_segment() {
        let text = TEXT.trim_end().trim_end_matches('~');
        let error = Segments::new(text).unwrap().find_map(Result::err).unwrap();
        assert_eq!(error.problem, Problem::Unterminated);
        assert_eq!(
            error.to_string(),
            "segment 8 (IEA): the last segment has no segment terminator"
        );
    }

    #[test]
    fn a_bad_segment_id_is_reported_with_its_position() {
        let text = TEXT.replace("GE*1*1~", "ge*1*1~");
        let error = Segments::new(&text).unwrap().find_map(Result::err).unwrap();
        assert_eq!(error.problem, Problem::BadSegmentId("ge".into()));
        assert!(error.to_string().starts_with("segment 7"));
    }
}
