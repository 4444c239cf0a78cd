//! The 999 implementation acknowledgment (005010X231A1): the receiver's verdict on
//! the syntax of each transaction set of a functional group we sent, with the
//! location of every error. A rejected transaction set means none of its claims was
//! received: the whole set must be fixed and sent again.

use crate::x12::error::{Problem, ReadError};
use crate::x12::segment::Segment;
use crate::x12::transaction::{read_transactions, TransactionHeader, TransactionReader};

/// Every 999 transaction set in `text`.
pub fn read_999(text: &str) -> Result<Vec<ImplementationAck>, ReadError> {
    read_transactions::<AckReader>(text)
}

/// One 999: the acknowledgment of one functional group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImplementationAck {
    /// ST02 of the 999 itself.
    pub control_number: String,
    /// AK1: the group acknowledged.
    pub group: AcknowledgedGroup,
    /// AK2…IK5, one per transaction set of the group.
    pub transactions: Vec<TransactionAck>,
    /// AK9.
    pub group_result: GroupResult,
}

/// AK1: which of our functional groups this acknowledges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgedGroup {
    /// AK101 = our GS01 (HC for claims).
    pub functional_id: String,
    /// AK102 = our GS06.
    pub control_number: String,
    /// AK103 = our GS08.
    pub version: Option<String>,
}

/// The verdict on a transaction set (IK501) or a group (AK901).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A.
    Accepted,
    /// E: accepted, but errors were noted.
    AcceptedWithErrors,
    /// P (groups only): some transaction sets were rejected.
    PartiallyAccepted,
    /// R rejected; M, W and X are rejections for message authentication, assurance
    /// and decryption failures.
    Rejected,
}

/// AK2 … IK5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionAck {
    /// AK201 = our ST01.
    pub set_id: String,
    /// AK202 = our ST02.
    pub control_number: String,
    /// AK203 = our ST03.
    pub implementation: Option<String>,
    /// IK501.
    pub outcome: Outcome,
    /// IK501 as sent.
    pub code: String,
    /// IK502–IK506: 5 one or more segments in error, I5 implementation errors, 3
    /// control number mismatch…
    pub error_codes: Vec<String>,
    /// IK3 loops.
    pub segment_errors: Vec<SegmentError>,
}

/// IK3: a segment of our transaction set in error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentError {
    /// IK301: the segment's id.
    pub segment_id: String,
    /// IK302: its position in our transaction set (ST = 1).
    pub position: usize,
    /// IK303: the loop it was in (2010BA…).
    pub loop_id: Option<String>,
    /// IK304: 8 segment has data element errors, 3 required segment missing, I4
    /// implementation "not used" segment present…
    pub code: Option<String>,
    /// CTX segments: the business context (CLM01:<our claim id>), as written.
    pub context: Vec<String>,
    /// IK4 segments.
    pub element_errors: Vec<ElementError>,
}

/// IK4: an element in error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementError {
    /// IK401-1: the element's position in the segment.
    pub position: usize,
    /// IK401-2: the component, inside a composite.
    pub component: Option<usize>,
    /// IK401-3: the repetition, for a repeating element.
    pub repetition: Option<usize>,
    /// IK402: the data element reference number.
    pub reference_number: Option<String>,
    /// IK403: 1 required element missing, 4 too short, 5 too long, 7 invalid code
    /// value, 8 invalid date, I12 pattern match failure…
    pub code: String,
    /// IK404: a copy of the bad value.
    pub bad_value: Option<String>,
}

/// AK9.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupResult {
    pub outcome: Outcome,
    /// AK901 as sent.
    pub code: String,
    /// AK902: transaction sets in our group, by our GE01.
    pub included: usize,
    /// AK903.
    pub received: usize,
    /// AK904.
    pub accepted: usize,
    /// AK905–AK909.
    pub error_codes: Vec<String>,
}

fn outcome(segment: &Segment<'_>, n: usize, allow_partial: bool) -> Result<(Outcome, String), ReadError> {
    let code = segment.required(n)?;
    let outcome = match code {
        "A" => Outcome::Accepted,
        "E" => Outcome::AcceptedWithErrors,
        "P" if allow_partial => Outcome::PartiallyAccepted,
        "R" | "M" | "W" | "X" => Outcome::Rejected,
        _ => {
            return Err(segment.element_error(
                n,
                Problem::UnexpectedCode {
                    found: code.to_string(),
                    expected: if allow_partial {
                        "A, E, P, R, M, W or X"
                    } else {
                        "A, E, R, M, W or X"
                    },
                },
            ))
        }
    };
    Ok((outcome, code.to_string()))
}

/// The non-empty elements `from..=to`, owned (error code lists).
fn codes(segment: &Segment<'_>, from: usize, to: usize) -> Vec<String> {
    (from..=to).filter_map(|n| segment.optional_string(n)).collect()
}

fn optional_count(
    segment: &Segment<'_>,
    text: &str,
    n: usize,
    component: usize,
) -> Result<Option<usize>, ReadError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| segment.located_error(n, Some(component), Problem::NotANumber(text.to_string())))
}

struct AckReader {
    control_number: String,
    group: Option<AcknowledgedGroup>,
    transactions: Vec<TransactionAck>,
    /// The transaction set opened by AK2 and not yet closed by IK5.
    open: Option<TransactionAck>,
    group_result: Option<GroupResult>,
}

impl<'a> TransactionReader<'a> for AckReader {
    type Output = ImplementationAck;
    const SET_ID: &'static str = "999";

    fn start(header: &TransactionHeader<'a>) -> Self {
        AckReader {
            control_number: header.control_number.to_string(),
            group: None,
            transactions: Vec::new(),
            open: None,
            group_result: None,
        }
    }

    fn segment(&mut self, segment: &Segment<'a>) -> Result<(), ReadError> {
        match segment.id {
            "AK1" => {
                self.group = Some(AcknowledgedGroup {
                    functional_id: segment.required(1)?.to_string(),
                    control_number: segment.required(2)?.to_string(),
                    version: segment.optional_string(3),
                })
            }
            "AK2" => {
                if self.open.is_some() {
                    return Err(segment.error(Problem::OutOfPlace("AK2 before the previous IK5")));
                }
                self.open = Some(TransactionAck {
                    set_id: segment.required(1)?.to_string(),
                    control_number: segment.required(2)?.to_string(),
                    implementation: segment.optional_string(3),
                    // Until its IK5 says otherwise.
                    outcome: Outcome::Rejected,
                    code: String::new(),
                    error_codes: Vec::new(),
                    segment_errors: Vec::new(),
                });
            }
            "IK3" => {
                let error = SegmentError {
                    segment_id: segment.required(1)?.to_string(),
                    position: segment.count(2)?,
                    loop_id: segment.optional_string(3),
                    code: segment.optional_string(4),
                    context: Vec::new(),
                    element_errors: Vec::new(),
                };
                self.open_transaction(segment)?.segment_errors.push(error);
            }
            "CTX" => {
                // A CTX before any IK3 gives the context of the whole set: not kept.
                if let Some(error) = self.open.as_mut().and_then(|t| t.segment_errors.last_mut()) {
                    error.context.push(segment.required(1)?.to_string());
                }
            }
            "IK4" => {
                let location = segment
                    .element(1)
                    .ok_or_else(|| segment.element_error(1, Problem::Missing))?;
                let position = location.component(1);
                let error = ElementError {
                    position: optional_count(segment, position, 1, 1)?
                        .ok_or_else(|| segment.located_error(1, Some(1), Problem::Missing))?,
                    component: optional_count(segment, location.component(2), 1, 2)?,
                    repetition: optional_count(segment, location.component(3), 1, 3)?,
                    reference_number: segment.optional_string(2),
                    code: segment.required(3)?.to_string(),
                    bad_value: segment.optional_string(4),
                };
                self.open_transaction(segment)?
                    .segment_errors
                    .last_mut()
                    .ok_or_else(|| segment.error(Problem::OutOfPlace("IK4 before any IK3")))?
                    .element_errors
                    .push(error);
            }
            "IK5" => {
                let mut transaction = self
                    .open
                    .take()
                    .ok_or_else(|| segment.error(Problem::OutOfPlace("IK5 without AK2")))?;
                (transaction.outcome, transaction.code) = outcome(segment, 1, false)?;
                transaction.error_codes = codes(segment, 2, 6);
                self.transactions.push(transaction);
            }
            "AK9" => {
                let (outcome, code) = outcome(segment, 1, true)?;
                self.group_result = Some(GroupResult {
                    outcome,
                    code,
                    included: segment.count(2)?,
                    received: segment.count(3)?,
                    accepted: segment.count(4)?,
                    error_codes: codes(segment, 5, 9),
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self, trailer: &Segment<'a>) -> Result<ImplementationAck, ReadError> {
        if self.open.is_some() {
            return Err(trailer.error(Problem::MissingSegment("IK5")));
        }
        Ok(ImplementationAck {
            control_number: self.control_number,
            group: self
                .group
                .ok_or_else(|| trailer.error(Problem::MissingSegment("AK1")))?,
            transactions: self.transactions,
            group_result: self
                .group_result
                .ok_or_else(|| trailer.error(Problem::MissingSegment("AK9")))?,
        })
    }
}

impl AckReader {
    fn open_transaction(&mut self, segment: &Segment<'_>) -> Result<&mut TransactionAck, ReadError> {
        self.open
            .as_mut()
            .ok_or_else(|| segment.error(Problem::OutOfPlace("outside an AK2 … IK5 loop")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::test_fixtures::fixture;

    const ACCEPTED: &str = "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*CLAIMBRIDGE    *240115*1402*^*00501*000004703*0*T*|~
GS*FA*CLEARINGHOUSE*CLAIMBRIDGE*20240115*1402*4703*X*005010X231A1~
ST*999*0001*005010X231A1~
AK1*HC*13*005010X222A1~
AK2*837*0001*005010X222A1~
IK5*A~
AK9*A*1*1*1~
SE*6*0001~
GE*1*4703~
IEA*1*000004703~
";

    #[test]
    fn a_partially_accepted_group_names_the_rejected_set_and_its_errors() {
        let text = fixture("999_005010X231A1__partially-accepted.999");
        let acks = read_999(&text).unwrap();
        assert_eq!(acks.len(), 1);
        let ack = &acks[0];
        assert_eq!(
            ack.group,
            AcknowledgedGroup {
                functional_id: "HC".into(),
                control_number: "12".into(),
                version: Some("005010X222A1".into())
            }
        );
        let outcomes: Vec<(&str, Outcome)> = ack
            .transactions
            .iter()
            .map(|t| (t.control_number.as_str(), t.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [("0001", Outcome::Accepted), ("0002", Outcome::Rejected)]
        );

        let rejected = &ack.transactions[1];
        assert_eq!(rejected.error_codes, ["5"]);
        assert_eq!(rejected.segment_errors.len(), 2);
        let name = &rejected.segment_errors[0];
        assert_eq!(
            (
                name.segment_id.as_str(),
                name.position,
                name.loop_id.as_deref(),
                name.code.as_deref()
            ),
            ("NM1", 17, Some("2010BA"), Some("8"))
        );
        assert_eq!(name.context, ["CLM01:CB1002"]);
        assert_eq!(
            name.element_errors,
            [ElementError {
                position: 8,
                component: None,
                repetition: None,
                reference_number: Some("66".into()),
                code: "7".into(),
                bad_value: Some("ZZ".into()),
            }]
        );
        let line = &rejected.segment_errors[1].element_errors[0];
        assert_eq!((line.position, line.component), (1, Some(2)));

        assert_eq!(
            ack.group_result,
            GroupResult {
                outcome: Outcome::PartiallyAccepted,
                code: "P".into(),
                included: 2,
                received: 2,
                accepted: 1,
                error_codes: vec![],
            }
        );
    }

    #[test]
    fn an_accepted_group_using_another_component_separator_reads() {
        let ack = &read_999(ACCEPTED).unwrap()[0];
        assert_eq!(ack.transactions[0].outcome, Outcome::Accepted);
        assert_eq!(ack.group_result.outcome, Outcome::Accepted);
    }

    #[test]
    fn codes_and_structure_are_checked() {
        let error = read_999(&ACCEPTED.replace("IK5*A~", "IK5*P~")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "segment 6, IK501: \"P\" is not one of A, E, R, M, W or X"
        );
        let error = read_999(&ACCEPTED.replace("IK5*A~", "IK4*1*66*7~IK5*A~")).unwrap_err();
        assert_eq!(error.to_string(), "segment 6 (IK4): IK4 before any IK3");
        let error = read_999(&ACCEPTED.replace("IK5*A~\n", "")).unwrap_err();
        assert_eq!(error.problem, Problem::MissingSegment("IK5"));
    }
}
