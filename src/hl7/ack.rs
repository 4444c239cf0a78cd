//! Acknowledgements per HL7 v2 chapter 2: the receiver's MSH (sender and receiver
//! swapped), MSA echoing the control id, and an ERR segment saying where and why.

use chrono::Utc;

use crate::hl7::message::{Header, Separators};

/// MSA-1: application level (AA/AE/AR: original mode, and enhanced mode's
/// application ACK) or enhanced mode's commit level (CA/CE/CR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckCode {
    Accept,
    Error,
    Reject,
}

/// HL7 table 0357, the error codes an ERR segment carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    SegmentSequence = 100,
    RequiredFieldMissing = 101,
    DataType = 102,
    TableValueNotFound = 103,
    UnsupportedMessageType = 200,
    UnsupportedEvent = 201,
    UnsupportedProcessingId = 202,
    UnsupportedVersion = 203,
    UnknownKey = 204,
    InternalError = 207,
}

impl ErrorCode {
    fn text(self) -> &'static str {
        match self {
            ErrorCode::SegmentSequence => "Segment sequence error",
            ErrorCode::RequiredFieldMissing => "Required field missing",
            ErrorCode::DataType => "Data type error",
            ErrorCode::TableValueNotFound => "Table value not found",
            ErrorCode::UnsupportedMessageType => "Unsupported message type",
            ErrorCode::UnsupportedEvent => "Unsupported event code",
            ErrorCode::UnsupportedProcessingId => "Unsupported processing id",
            ErrorCode::UnsupportedVersion => "Unsupported version id",
            ErrorCode::UnknownKey => "Unknown key identifier",
            ErrorCode::InternalError => "Application internal error",
        }
    }
}

/// Where in the message a problem is: segment id, its occurrence (1-based) and the
/// field (and component) number, as ERR-2 (v2.5+) or ERR-1 (v2.3/2.4) locate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLocation {
    pub segment: &'static str,
    pub occurrence: usize,
    pub field: Option<usize>,
    pub component: Option<usize>,
}

impl ErrorLocation {
    pub fn field(segment: &'static str, occurrence: usize, field: usize) -> Self {
        ErrorLocation {
            segment,
            occurrence,
            field: Some(field),
            component: None,
        }
    }

    pub fn component(segment: &'static str, occurrence: usize, field: usize, component: usize) -> Self {
        ErrorLocation {
            component: Some(component),
            ..ErrorLocation::field(segment, occurrence, field)
        }
    }
}

/// ERR-4: an error refuses the message (or part of it); a warning goes with an
/// accepted message to say what of it was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// What was wrong with a message, for the ERR segment and the stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: ErrorCode,
    pub location: Option<ErrorLocation>,
    pub message: String,
    pub severity: Severity,
}

impl Problem {
    pub fn new(code: ErrorCode, location: Option<ErrorLocation>, message: impl Into<String>) -> Self {
        Problem {
            code,
            location,
            message: message.into(),
            severity: Severity::Error,
        }
    }

    pub fn warning(code: ErrorCode, location: Option<ErrorLocation>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::new(code, location, message)
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(at) => write!(f, "{}-{}", at.segment, at.field.unwrap_or(0))?,
            None => write!(f, "message")?,
        }
        write!(
            f,
            ": {} ({}): {}",
            self.code.text(),
            self.code as u16,
            self.message
        )
    }
}

/// Builds the ACK for `header` (the received message's MSH, or what could be read
/// of it), with one ERR segment per problem. `commit` picks the commit-level codes
/// CA/CE/CR of enhanced mode's commit ACK.
pub fn build(header: &Header, code: AckCode, commit: bool, problems: &[Problem]) -> String {
    let sep = header.separators;
    // Header fields are echoed exactly as received (already escaped); only text of
    // our own is escaped.
    let e = |value: &str| sep.escape(value);
    let msa_code = match (commit, code) {
        (false, AckCode::Accept) => "AA",
        (false, AckCode::Error) => "AE",
        (false, AckCode::Reject) => "AR",
        (true, AckCode::Accept) => "CA",
        (true, AckCode::Error) => "CE",
        (true, AckCode::Reject) => "CR",
    };
    let version = header
        .version
        .as_deref()
        .filter(|v| !v.is_empty())
        .unwrap_or("2.5");
    let f = sep.field;
    let c = sep.component;
    let mut ack = format!(
        "MSH{f}{}{f}{}{f}{}{f}{}{f}{}{f}{}{f}{f}ACK{c}{}{c}ACK{f}{}{f}{}{f}{}\r",
        sep.encoding_characters(),
        header.receiving_application,
        header.receiving_facility,
        header.sending_application,
        header.sending_facility,
        Utc::now().format("%Y%m%d%H%M%S+0000"),
        header.trigger_event,
        uuid::Uuid::new_v4().simple(),
        header.processing_id.as_deref().unwrap_or("P"),
        version,
    );
    let old_style = version_before_2_5(version);
    ack.push_str(&format!("MSA{f}{msa_code}{f}{}", header.control_id));
    if let (true, Some(problem)) = (old_style, problems.first()) {
        // MSA-3 (text message) is where v2.3/2.4 receivers look for a reason.
        ack.push_str(&format!("{f}{}", e(&problem.message)));
    }
    ack.push('\r');
    for problem in problems {
        ack.push_str(&err_segment(sep, old_style, problem));
        ack.push('\r');
    }
    ack
}

fn err_segment(sep: Separators, old_style: bool, problem: &Problem) -> String {
    let (f, c, s) = (sep.field, sep.component, sep.subcomponent);
    let number = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
    let code = problem.code as u16;
    let text = sep.escape(problem.code.text());
    let detail = sep.escape(&problem.message);
    let (segment, occurrence, field, component) = match &problem.location {
        Some(at) => (
            at.segment,
            at.occurrence.to_string(),
            number(at.field),
            number(at.component),
        ),
        None => ("", String::new(), String::new(), String::new()),
    };
    if old_style {
        // ERR-1 (ELD): segment^sequence^field^code&text&HL70357
        format!("ERR{f}{segment}{c}{occurrence}{c}{field}{c}{code}{s}{text}{s}HL70357")
    } else {
        // ERR-2 (ERL) location, ERR-3 (CWE) code, ERR-4 severity, ERR-8 user message.
        let location = match segment {
            "" => String::new(),
            _ => format!(
                "{segment}{c}{occurrence}{c}{field}{c}{}{c}{component}",
                if field.is_empty() { "" } else { "1" }
            ),
        };
        let severity = match problem.severity {
            Severity::Error => "E",
            Severity::Warning => "W",
        };
        format!("ERR{f}{f}{location}{f}{code}{c}{text}{c}HL70357{f}{severity}{f}{f}{f}{f}{detail}")
    }
}

fn version_before_2_5(version: &str) -> bool {
    matches!(version, "2.1" | "2.2" | "2.3" | "2.3.1" | "2.4")
}
