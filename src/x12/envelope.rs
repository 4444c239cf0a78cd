//! The envelope check: counts and control numbers of an interchange, as a receiver's
//! TA1/999 would check them. SE01 counts ST to SE inclusive, GE01 the transaction
//! sets of its group, IEA01 the groups; each trailer repeats its header's control
//! number. Used on what we write (so a count bug never leaves the building) and on
//! what we receive.

use crate::x12::error::{Problem, ReadError};
use crate::x12::segment::{Segment, Segments};

/// What a well-formed interchange holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterchangeSummary {
    /// ISA13 (= IEA02).
    pub control_number: String,
    pub groups: Vec<GroupSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    /// GS01: HC for claims, HP for remittances, FA for acknowledgments…
    pub functional_id: String,
    /// GS06 (= GE02).
    pub control_number: String,
    /// GS08, the implementation guide.
    pub version: String,
    pub transactions: Vec<TransactionSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSummary {
    /// ST01.
    pub set_id: String,
    /// ST02 (= SE02).
    pub control_number: String,
    /// SE01, checked: the segments from ST to SE inclusive.
    pub segment_count: usize,
}

/// Checks the envelope of the interchange in `text`; the first count or control
/// number that does not match is the error.
pub fn check_envelope(text: &str) -> Result<InterchangeSummary, ReadError> {
    let mut interchange: Option<InterchangeSummary> = None;
    let mut group: Option<GroupSummary> = None;
    let mut transaction: Option<(TransactionSummary, usize)> = None;
    let mut closed = false;
    for segment in Segments::new(text)? {
        let segment = segment?;
        if closed {
            return Err(segment.error(Problem::OutOfPlace("after the IEA")));
        }
        if let Some((_, counted)) = transaction.as_mut() {
            *counted += 1;
        }
        match segment.id {
            "ISA" | "GS" | "ST" | "GE" | "IEA" if transaction.is_some() => {
                return Err(segment.error(Problem::OutOfPlace("before the SE of the open transaction set")))
            }
            "ISA" if interchange.is_none() => {
                interchange = Some(InterchangeSummary {
                    control_number: segment.required(13)?.to_string(),
                    groups: Vec::new(),
                })
            }
            "GS" if group.is_none() && interchange.is_some() => {
                group = Some(GroupSummary {
                    functional_id: segment.required(1)?.to_string(),
                    control_number: segment.required(6)?.to_string(),
                    version: segment.value(8).to_string(),
                    transactions: Vec::new(),
                })
            }
            "ST" if transaction.is_none() && group.is_some() => {
                let summary = TransactionSummary {
                    set_id: segment.required(1)?.to_string(),
                    control_number: segment.required(2)?.to_string(),
                    segment_count: 0,
                };
                transaction = Some((summary, 1));
            }
            "SE" => {
                let (mut summary, counted) = transaction
                    .take()
                    .ok_or_else(|| segment.error(Problem::OutOfPlace("SE without ST")))?;
                check_count(&segment, counted)?;
                check_control_number(&segment, 2, &summary.control_number)?;
                summary.segment_count = counted;
                group
                    .as_mut()
                    .ok_or_else(|| segment.error(Problem::OutOfPlace("SE outside a group")))?
                    .transactions
                    .push(summary);
            }
            "GE" if transaction.is_none() => {
                let summary = group
                    .take()
                    .ok_or_else(|| segment.error(Problem::OutOfPlace("GE without GS")))?;
                check_count(&segment, summary.transactions.len())?;
                check_control_number(&segment, 2, &summary.control_number)?;
                interchange
                    .as_mut()
                    .ok_or_else(|| segment.error(Problem::OutOfPlace("GE outside an interchange")))?
                    .groups
                    .push(summary);
            }
            "IEA" if group.is_none() => {
                let summary = interchange
                    .as_ref()
                    .ok_or_else(|| segment.error(Problem::OutOfPlace("IEA without ISA")))?;
                check_count(&segment, summary.groups.len())?;
                check_control_number(&segment, 2, &summary.control_number)?;
                closed = true;
            }
            _ if transaction.is_some() => {}
            _ => return Err(segment.error(Problem::OutOfPlace("outside the envelope structure"))),
        }
    }
    match interchange {
        Some(summary) if closed => Ok(summary),
        _ => Err(ReadError::interchange(Problem::Unclosed(
            "the interchange (no IEA)",
        ))),
    }
}

/// Element 1 of SE, GE and IEA is the count of what they close.
fn check_count(trailer: &Segment<'_>, counted: usize) -> Result<(), ReadError> {
    let declared = trailer.required(1)?;
    if declared.parse::<usize>() == Ok(counted) {
        Ok(())
    } else {
        Err(trailer.element_error(
            1,
            Problem::CountMismatch {
                declared: declared.to_string(),
                counted,
            },
        ))
    }
}

fn check_control_number(trailer: &Segment<'_>, n: usize, header: &str) -> Result<(), ReadError> {
    let found = trailer.required(n)?;
    if found == header {
        Ok(())
    } else {
        Err(trailer.element_error(
            n,
            Problem::ControlNumberMismatch {
                header: header.to_string(),
                trailer: found.to_string(),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::test_fixtures::{fixture, fixture_names};

    #[test]
    fn every_sample_file_has_a_sound_envelope_but_one() {
        for name in fixture_names() {
            let text = fixture(&name);
            let result = check_envelope(&text);
            if name == "271_005010X279A1__subscriber-health-benefit-check-error.271" {
                // The sample's SE02 (4323) does not repeat its ST02 (4321).
                let error = result.unwrap_err();
                assert_eq!(
                    error.problem,
                    Problem::ControlNumberMismatch {
                        header: "4321".into(),
                        trailer: "4323".into()
                    }
                );
                assert_eq!(
                    error.to_string(),
                    "segment 10, SE02: control number \"4323\" does not match the header's \"4321\""
                );
            } else {
                let summary = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(summary.groups.len(), 1, "{name}");
                assert_eq!(summary.groups[0].transactions.len(), 1, "{name}");
            }
        }
    }

    #[test]
    fn the_835_sample_counts_are_what_the_research_notes_found() {
        let summary = check_envelope(&fixture("835_005010X221A1__managed-care.835")).unwrap();
        assert_eq!(summary.control_number, "000000907");
        let group = &summary.groups[0];
        assert_eq!(
            (group.functional_id.as_str(), group.version.as_str()),
            ("HP", "005010X221A1")
        );
        assert_eq!(group.transactions[0].segment_count, 26);
    }

    #[test]
    fn a_wrong_segment_count_names_the_se() {
        let text = fixture("835_005010X221A1__managed-care.835").replace("SE*26*112233~", "SE*25*112233~");
        let error = check_envelope(&text).unwrap_err();
        assert_eq!(
            error.problem,
            Problem::CountMismatch {
                declared: "25".into(),
                counted: 26
            }
        );
        assert_eq!(
            error.to_string(),
            "segment 28, SE01: counts \"25\" but there are 26"
        );
    }

    #[test]
    fn group_and_interchange_counts_are_checked() {
        let text = fixture("835_005010X221A1__managed-care.835");
        let error = check_envelope(&text.replace("GE*1*1~", "GE*2*1~")).unwrap_err();
        assert!(matches!(error.problem, Problem::CountMismatch { .. }));
        let error = check_envelope(&text.replace("IEA*1*000000907", "IEA*1*000000908")).unwrap_err();
        assert!(matches!(error.problem, Problem::ControlNumberMismatch { .. }));
        let error = check_envelope(text.split("IEA").next().unwrap()).unwrap_err();
        assert_eq!(error.problem, Problem::Unclosed("the interchange (no IEA)"));
    }
}
