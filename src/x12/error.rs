//! What can be wrong with an X12 document being read. Every error carries its
//! location — the segment's position in the interchange (ISA = 1), its id, and the
//! element (and component) — because the person fixing a rejected file needs to find
//! the byte, not just learn that something somewhere is off.

use std::fmt;

/// A document that could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct ReadError {
    pub location: Location,
    pub problem: Problem,
}

/// Where a [`ReadError`] was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The interchange as a whole (the ISA header, or its end).
    Interchange,
    Segment {
        /// 1-based position of the segment in the interchange, counting the ISA.
        position: usize,
        id: String,
    },
    Element {
        position: usize,
        id: String,
        /// 1-based element position (`CLP03` is 3).
        element: usize,
        /// 1-based component position inside a composite, when the problem is there.
        component: Option<usize>,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Interchange => f.write_str("interchange"),
            Location::Segment { position, id } => write!(f, "segment {position} ({id})"),
            Location::Element {
                position,
                id,
                element,
                component,
            } => {
                write!(f, "segment {position}, {id}{element:02}")?;
                match component {
                    Some(component) => write!(f, "-{component}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// What is wrong at a [`Location`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the text does not start with an ISA segment")]
    NoIsa,
    #[error("the ISA segment is cut short (it has 16 elements and the segment terminator)")]
    ShortIsa,
    #[error(
        "delimiters must be distinct single ASCII punctuation characters (or a line break as terminator)"
    )]
    BadDelimiters,
    #[error("the last segment has no segment terminator")]
    Unterminated,
    #[error("{0:?} is not a segment id (2 or 3 capital letters or digits)")]
    BadSegmentId(String),
    #[error("is required but empty")]
    Missing,
    #[error("{0:?} is not a decimal amount")]
    NotAnAmount(String),
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("{0:?} is not a date (CCYYMMDD)")]
    NotADate(String),
    #[error("{found:?} is not one of {expected}")]
    UnexpectedCode { found: String, expected: &'static str },
    #[error("{0}")]
    OutOfPlace(&'static str),
    #[error("counts {declared:?} but there are {counted}")]
    CountMismatch { declared: String, counted: usize },
    #[error("control number {trailer:?} does not match the header's {header:?}")]
    ControlNumberMismatch { header: String, trailer: String },
    #[error("{0:?} is written with '>' although ISA16 declares another component separator; read as if split on '>'")]
    UndeclaredComponentSeparator(String),
    #[error("the transaction set has no {0} segment")]
    MissingSegment(&'static str),
    #[error("the interchange ends inside {0}")]
    Unclosed(&'static str),
    #[error("transaction set {found:?} where {expected} was expected")]
    WrongTransactionSet { found: String, expected: &'static str },
}

impl ReadError {
    pub fn interchange(problem: Problem) -> ReadError {
        ReadError {
            location: Location::Interchange,
            problem,
        }
    }
}
