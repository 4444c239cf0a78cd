//! The 270 eligibility inquiry (005010X279A1): "is this member covered on this date,
//! and for what?". Each inquiry is its own transaction set — payer (HL 20), the
//! provider asking (HL 21), the subscriber (HL 22) and, when the patient is not the
//! subscriber but a dependent known by the subscriber's member id, the dependent
//! (HL 23) — as clearinghouses that take one patient per 270 expect; several
//! inquiries share one interchange. The question (TRN, DMG, DTP, EQ) is asked at the
//! patient's level.
//!
//! The inquiry's reference goes out in BHT03 and TRN*1, and comes back in the
//! 271's TRN*2, which is how an answer finds its question.
//!
//! [`read_270`] reads inquiries as their receiver does — any number of subscribers
//! and dependents — so that an answering party (the sandbox clearinghouse) works
//! from what was really sent.

use chrono::{NaiveDate, NaiveDateTime};

use crate::billing::claim::{Payer, Person, Provider};
use crate::x12::entity::EntityName;
use crate::x12::error::{Problem, ReadError};
use crate::x12::people::{entity_type, person_name, provider_name};
use crate::x12::segment::Segment;
use crate::x12::transaction::{read_transactions, TransactionHeader, TransactionReader};
use crate::x12::values::parse_period;
use crate::x12::writer::{ControlNumbers, EnvelopeConfig, InterchangeWriter, TransactionWriter, WriteError};

/// GS08 and ST03.
pub const IMPLEMENTATION: &str = "005010X279A1";

/// EQ01 when the inquiry names no service type: 30, health benefit plan coverage.
const PLAN_COVERAGE: &str = "30";

/// The envelope, and our id as trace originator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibilityConfig {
    pub envelope: EnvelopeConfig,
    /// TRN03: "1" followed by our federal tax id (or "9" and another id), ten
    /// characters.
    pub trace_originator: String,
}

/// One question about one subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct EligibilityInquiry {
    /// BHT03 and TRN02: unique per inquiry.
    pub reference: String,
    pub payer: Payer,
    /// The provider asking (NM1*1P with the NPI).
    pub provider: Provider,
    pub subscriber: Person,
    /// The patient when it is not the subscriber: a dependent without a member id
    /// of its own (the guide's rule for loop 2000D).
    pub dependent: Option<Person>,
    /// The subscriber's member id (NM1*IL09).
    pub member_id: String,
    /// DTP*291: the date the question is about.
    pub service_date: NaiveDate,
    /// EQ01 service type codes (30 plan coverage, 98 office visit…); empty asks
    /// for 30.
    pub service_types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InquiryError {
    #[error("there are no inquiries to write")]
    NoInquiries,
    #[error("inquiry {reference}: {problem}")]
    Inquiry {
        reference: String,
        problem: InquiryProblem,
    },
    #[error(transparent)]
    Envelope(#[from] WriteError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InquiryProblem {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error(transparent)]
    Unwritable(WriteError),
}

/// Writes `inquiries` as one 270 interchange, one transaction set each.
pub fn write_270(
    inquiries: &[EligibilityInquiry],
    config: &EligibilityConfig,
    control: ControlNumbers,
    created: NaiveDateTime,
) -> Result<String, InquiryError> {
    if inquiries.is_empty() {
        return Err(InquiryError::NoInquiries);
    }
    let fail = |inquiry: &EligibilityInquiry, problem| InquiryError::Inquiry {
        reference: inquiry.reference.clone(),
        problem,
    };
    for inquiry in inquiries {
        check(inquiry, config).map_err(|problem| fail(inquiry, problem))?;
    }
    let mut interchange = InterchangeWriter::begin(&config.envelope, control.interchange, created)?;
    interchange.group("HS", IMPLEMENTATION, control.group, |group| {
        for inquiry in inquiries {
            group.transaction("270", |transaction| {
                write_inquiry(transaction, inquiry, config, created)
                    .map_err(|e| fail(inquiry, InquiryProblem::Unwritable(e)))
            })?;
        }
        Ok::<(), InquiryError>(())
    })?;
    Ok(interchange.finish())
}

fn check(inquiry: &EligibilityInquiry, config: &EligibilityConfig) -> Result<(), InquiryProblem> {
    let required = [
        (inquiry.reference.as_str(), "the inquiry's reference"),
        (inquiry.payer.payer_id.as_str(), "the payer's id"),
        (inquiry.payer.name.as_str(), "the payer's name"),
        (inquiry.provider.name.as_str(), "the provider's name"),
        (
            inquiry.provider.npi.as_deref().unwrap_or(""),
            "the provider's NPI",
        ),
        (inquiry.member_id.as_str(), "the member id"),
        (config.trace_originator.as_str(), "the trace originator (TRN03)"),
    ];
    match required.iter().find(|(value, _)| value.is_empty()) {
        Some((_, what)) => Err(InquiryProblem::Missing(what)),
        None => Ok(()),
    }
}

fn write_inquiry(
    transaction: &mut TransactionWriter<'_>,
    inquiry: &EligibilityInquiry,
    config: &EligibilityConfig,
    created: NaiveDateTime,
) -> Result<(), WriteError> {
    // 0022: information source, receiver, subscriber; 13: a request.
    transaction
        .segment("BHT")
        .element("0022")
        .element("13")
        .element(&inquiry.reference)
        .date(created.date())
        .element(&created.format("%H%M").to_string())
        .finish()?;
    transaction
        .segment("HL")
        .number(1)
        .element("")
        .element("20")
        .element("1")
        .finish()?;
    transaction
        .segment("NM1")
        .element("PR")
        .element("2")
        .element(&inquiry.payer.name)
        .element("")
        .element("")
        .element("")
        .element("")
        .element("PI")
        .element(&inquiry.payer.payer_id)
        .finish()?;
    transaction
        .segment("HL")
        .number(2)
        .number(1)
        .element("21")
        .element("1")
        .finish()?;
    let nm1 = transaction
        .segment("NM1")
        .element("1P")
        .element(entity_type(&inquiry.provider));
    provider_name(nm1, &inquiry.provider)
        .element("")
        .element("")
        .element("XX")
        .optional(inquiry.provider.npi.as_deref())
        .finish()?;
    let has_dependent = inquiry.dependent.is_some();
    transaction
        .segment("HL")
        .number(3)
        .number(2)
        .element("22")
        .element(if has_dependent { "1" } else { "0" })
        .finish()?;
    if !has_dependent {
        trace(transaction, inquiry, config)?;
    }
    let nm1 = transaction.segment("NM1").element("IL").element("1");
    person_name(nm1, &inquiry.subscriber)
        .element("")
        .element("")
        .element("MI")
        .element(&inquiry.member_id)
        .finish()?;
    match &inquiry.dependent {
        None => demographics(transaction, &inquiry.subscriber)?,
        Some(dependent) => {
            transaction
                .segment("HL")
                .number(4)
                .number(3)
                .element("23")
                .element("0")
                .finish()?;
            trace(transaction, inquiry, config)?;
            let nm1 = transaction.segment("NM1").element("03").element("1");
            person_name(nm1, dependent).finish()?;
            demographics(transaction, dependent)?;
        }
    }
    transaction
        .segment("DTP")
        .element("291")
        .element("D8")
        .date(inquiry.service_date)
        .finish()?;
    let default = [PLAN_COVERAGE.to_string()];
    let service_types = if inquiry.service_types.is_empty() {
        &default[..]
    } else {
        &inquiry.service_types[..]
    };
    for service_type in service_types {
        transaction.segment("EQ").element(service_type).finish()?;
    }
    Ok(())
}

/// TRN*1: the inquiry's reference, which the 271 echoes at the same level.
fn trace(
    transaction: &mut TransactionWriter<'_>,
    inquiry: &EligibilityInquiry,
    config: &EligibilityConfig,
) -> Result<(), WriteError> {
    transaction
        .segment("TRN")
        .element("1")
        .element(&inquiry.reference)
        .element(&config.trace_originator)
        .finish()
}

/// DMG, when the birth date is known. In a 270, DMG03 takes F or M only (not the
/// 837's U): another or an unknown gender is left out.
fn demographics(transaction: &mut TransactionWriter<'_>, person: &Person) -> Result<(), WriteError> {
    let Some(birth_date) = person.birth_date else {
        return Ok(());
    };
    let gender = match person.gender.as_deref() {
        Some("female") => "F",
        Some("male") => "M",
        _ => "",
    };
    transaction
        .segment("DMG")
        .element("D8")
        .date(birth_date)
        .element(gender)
        .finish()
}

/// Every 270 transaction set in `text`.
pub fn read_270(text: &str) -> Result<Vec<ReceivedInquiry>, ReadError> {
    read_transactions::<InquiryReader>(text)
}

/// One 270 transaction set as its receiver reads it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReceivedInquiry {
    /// ST02.
    pub control_number: String,
    /// BHT03, which the 271 repeats.
    pub reference: String,
    /// The information source (HL 20): the payer asked.
    pub source: Option<EntityName>,
    /// The information receiver (HL 21): the provider asking.
    pub receiver: Option<EntityName>,
    /// Subscribers (HL 22), each followed by its dependents (HL 23).
    pub members: Vec<InquiredMember>,
}

/// A subscriber or dependent asked about.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InquiredMember {
    /// HL03: 22 subscriber, 23 dependent.
    pub level: String,
    /// NM1*IL (subscriber, with the member id in NM109) or NM1*03 (dependent).
    pub name: Option<EntityName>,
    pub traces: Vec<Trace>,
    /// DMG02.
    pub birth_date: Option<NaiveDate>,
    /// DMG03: F, M or U.
    pub gender: Option<String>,
    /// DTP*291: the date asked about (the first day, for a range).
    pub service_date: Option<NaiveDate>,
    /// EQ01 service type codes, in order.
    pub service_types: Vec<String>,
}

/// A TRN segment: a trace number and who assigned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// TRN01: 1 assigned by the sender of this transaction, 2 echoed from another.
    pub kind: String,
    /// TRN02.
    pub reference: String,
    /// TRN03: the company that assigned it.
    pub originator: Option<String>,
}

impl InquiredMember {
    /// NM109 when NM108 says it is a member id (MI).
    pub fn member_id(&self) -> Option<&str> {
        let name = self.name.as_ref()?;
        match name.id_qualifier.as_deref() {
            Some("MI") => name.id.as_deref(),
            _ => None,
        }
    }
}

struct InquiryReader {
    inquiry: ReceivedInquiry,
    level: String,
}

impl<'a> TransactionReader<'a> for InquiryReader {
    type Output = ReceivedInquiry;
    const SET_ID: &'static str = "270";

    fn start(header: &TransactionHeader<'a>) -> Self {
        InquiryReader {
            inquiry: ReceivedInquiry {
                control_number: header.control_number.to_string(),
                ..ReceivedInquiry::default()
            },
            level: String::new(),
        }
    }

    fn segment(&mut self, segment: &Segment<'a>) -> Result<(), ReadError> {
        match segment.id {
            "BHT" => self.inquiry.reference = segment.value(3).to_string(),
            "HL" => {
                self.level = segment.required(3)?.to_string();
                if is_member_level(&self.level) {
                    self.inquiry.members.push(InquiredMember {
                        level: self.level.clone(),
                        ..InquiredMember::default()
                    });
                }
            }
            "NM1" => {
                let name = Some(EntityName::from_nm1(segment)?);
                match self.level.as_str() {
                    "20" => self.inquiry.source = name,
                    "21" => self.inquiry.receiver = name,
                    _ => self.member(segment)?.name = name,
                }
            }
            "TRN" => {
                let trace = Trace {
                    kind: segment.required(1)?.to_string(),
                    reference: segment.required(2)?.to_string(),
                    originator: segment.optional_string(3),
                };
                self.member(segment)?.traces.push(trace);
            }
            "DMG" if segment.value(1) == "D8" => {
                let birth_date = segment.optional_date(2)?;
                let member = self.member(segment)?;
                member.birth_date = birth_date;
                member.gender = segment.optional_string(3);
            }
            "DTP" if segment.value(1) == "291" => {
                let text = segment.required(3)?;
                let (from, _) = parse_period(text)
                    .ok_or_else(|| segment.element_error(3, Problem::NotADate(text.to_string())))?;
                self.member(segment)?.service_date = Some(from);
            }
            "EQ" => {
                let service_types = segment
                    .element(1)
                    .into_iter()
                    .flat_map(|element| element.repetitions())
                    .map(|repetition| repetition.as_str())
                    .filter(|code| !code.is_empty())
                    .map(str::to_string);
                self.member(segment)?.service_types.extend(service_types);
            }
            // REF, N3/N4, PRV, INS, HI, AMT, III: not read.
            _ => {}
        }
        Ok(())
    }

    fn finish(self, _trailer: &Segment<'a>) -> Result<ReceivedInquiry, ReadError> {
        Ok(self.inquiry)
    }
}

impl InquiryReader {
    fn member(&mut self, segment: &Segment<'_>) -> Result<&mut InquiredMember, ReadError> {
        let member = if is_member_level(&self.level) {
            self.inquiry.members.last_mut()
        } else {
            None
        };
        member.ok_or_else(|| segment.error(Problem::OutOfPlace("outside a subscriber or dependent level")))
    }
}

/// HL03 of a subscriber (22) or dependent (23) level, in a 270 or a 271.
pub(crate) fn is_member_level(level: &str) -> bool {
    matches!(level, "22" | "23")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::envelope::check_envelope;
    use crate::x12::test_fixtures::{fixture, fixtures_starting};
    use crate::x12::writer::tests::{created, envelope_config};

    fn config() -> EligibilityConfig {
        EligibilityConfig {
            envelope: envelope_config(),
            trace_originator: "1123456789".into(),
        }
    }

    fn inquiry(reference: &str) -> EligibilityInquiry {
        EligibilityInquiry {
            reference: reference.into(),
            payer: Payer {
                payer_id: "60054".into(),
                name: "ACME HEALTH PLAN".into(),
                organization_id: None,
            },
            provider: Provider {
                npi: Some("1234567893".into()),
                name: "BRIGHT CLINIC".into(),
                ..Provider::default()
            },
            subscriber: Person {
                family: "DOE".into(),
                given: vec!["JANE".into(), "Q".into()],
                birth_date: NaiveDate::from_ymd_opt(1970, 1, 1),
                gender: Some("female".into()),
                address: None,
            },
            dependent: None,
            member_id: "M123456789".into(),
            service_date: NaiveDate::from_ymd_opt(2024, 1, 16).unwrap(),
            service_types: vec![],
        }
    }

    #[test]
    fn a_dependent_is_asked_about_under_the_subscribers_member_id() {
        let mut sent = inquiry("ELIG-D");
        sent.dependent = Some(Person {
            family: "DOE".into(),
            given: vec!["MARY".into()],
            birth_date: NaiveDate::from_ymd_opt(2015, 6, 1),
            gender: Some("female".into()),
            address: None,
        });
        let text = write_270(&[sent], &config(), CONTROL, created()).unwrap();
        let body: Vec<&str> = text.lines().skip(8).take(8).collect();
        assert_eq!(
            body,
            [
                "HL*3*2*22*1~",
                "NM1*IL*1*DOE*JANE*Q***MI*M123456789~",
                "HL*4*3*23*0~",
                "TRN*1*ELIG-D*1123456789~",
                "NM1*03*1*DOE*MARY~",
                "DMG*D8*20150601*F~",
                "DTP*291*D8*20240116~",
                "EQ*30~",
            ]
        );
        let read = read_270(&text).unwrap();
        let levels: Vec<&str> = read[0].members.iter().map(|m| m.level.as_str()).collect();
        assert_eq!(levels, ["22", "23"]);
        let dependent = &read[0].members[1];
        assert_eq!(dependent.traces[0].reference, "ELIG-D");
        assert_eq!(dependent.service_types, ["30"]);
        assert_eq!(read[0].members[0].member_id(), Some("M123456789"));
    }

    const CONTROL: ControlNumbers = ControlNumbers {
        interchange: 101,
        group: 101,
    };

    #[test]
    fn an_inquiry_asks_about_one_subscriber_on_one_date() {
        let text = write_270(&[inquiry("ELIG-1")], &config(), CONTROL, created()).unwrap();
        let body: Vec<&str> = text.lines().skip(2).take(13).collect();
        assert_eq!(
            body,
            [
                "ST*270*0001*005010X279A1~",
                "BHT*0022*13*ELIG-1*20240115*0905~",
                "HL*1**20*1~",
                "NM1*PR*2*ACME HEALTH PLAN*****PI*60054~",
                "HL*2*1*21*1~",
                "NM1*1P*2*BRIGHT CLINIC*****XX*1234567893~",
                "HL*3*2*22*0~",
                "TRN*1*ELIG-1*1123456789~",
                "NM1*IL*1*DOE*JANE*Q***MI*M123456789~",
                "DMG*D8*19700101*F~",
                "DTP*291*D8*20240116~",
                "EQ*30~",
                "SE*13*0001~",
            ]
        );
        let summary = check_envelope(&text).unwrap();
        assert_eq!(summary.groups[0].functional_id, "HS");
        assert_eq!(summary.groups[0].version, IMPLEMENTATION);
    }

    #[test]
    fn several_inquiries_are_several_transaction_sets() {
        let mut second = inquiry("ELIG-2");
        second.service_types = vec!["98".into(), "UC".into()];
        second.subscriber.gender = None;
        let text = write_270(&[inquiry("ELIG-1"), second], &config(), CONTROL, created()).unwrap();
        let summary = check_envelope(&text).unwrap();
        let controls: Vec<&str> = summary.groups[0]
            .transactions
            .iter()
            .map(|t| t.control_number.as_str())
            .collect();
        assert_eq!(controls, ["0001", "0002"]);
        assert!(text.contains("\nDMG*D8*19700101~\nDTP*291*D8*20240116~\nEQ*98~\nEQ*UC~\nSE*14*0002~\n"));
    }

    #[test]
    fn an_inquiry_without_what_the_payer_needs_is_refused() {
        let mut incomplete = inquiry("ELIG-1");
        incomplete.provider.npi = None;
        let error = write_270(&[incomplete], &config(), CONTROL, created()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "inquiry ELIG-1: the provider's NPI is required"
        );
        let mut unwritable = inquiry("ELIG-1");
        unwritable.member_id = "M12~3".into();
        let error = write_270(&[unwritable], &config(), CONTROL, created()).unwrap_err();
        assert!(matches!(
            error,
            InquiryError::Inquiry {
                problem: InquiryProblem::Unwritable(WriteError::DelimiterInData { .. }),
                ..
            }
        ));
    }

    #[test]
    fn what_we_write_reads_back() {
        let mut sent = inquiry("ELIG-1");
        sent.service_types = vec!["98".into(), "UC".into()];
        let text = write_270(&[sent], &config(), CONTROL, created()).unwrap();
        let read = read_270(&text).unwrap();
        assert_eq!(read.len(), 1);
        let inquiry = &read[0];
        assert_eq!(
            (inquiry.control_number.as_str(), inquiry.reference.as_str()),
            ("0001", "ELIG-1")
        );
        let source = inquiry.source.as_ref().unwrap();
        assert_eq!(
            (source.name.as_str(), source.id.as_deref()),
            ("ACME HEALTH PLAN", Some("60054"))
        );
        assert_eq!(
            inquiry.receiver.as_ref().unwrap().id.as_deref(),
            Some("1234567893")
        );
        let member = &inquiry.members[0];
        assert_eq!(member.level, "22");
        assert_eq!(member.member_id(), Some("M123456789"));
        assert_eq!(member.name.as_ref().unwrap().first.as_deref(), Some("JANE"));
        assert_eq!(
            member.traces,
            [Trace {
                kind: "1".into(),
                reference: "ELIG-1".into(),
                originator: Some("1123456789".into())
            }]
        );
        assert_eq!(member.birth_date, NaiveDate::from_ymd_opt(1970, 1, 1));
        assert_eq!(member.gender.as_deref(), Some("F"));
        assert_eq!(member.service_date, NaiveDate::from_ymd_opt(2024, 1, 16));
        assert_eq!(member.service_types, ["98", "UC"]);
    }

    #[test]
    fn the_270_samples_read_with_their_subscribers_and_dependents() {
        assert_eq!(fixtures_starting("270_").len(), 2);
        let subscriber =
            &read_270(&fixture("270_005010X279A1__subscriber-health-benefit-check.270")).unwrap()[0];
        assert_eq!(subscriber.reference, "10001234");
        assert_eq!(subscriber.members.len(), 1);
        assert_eq!(subscriber.members[0].member_id(), Some("11122333301"));
        assert_eq!(subscriber.members[0].service_types, ["30"]);
        assert_eq!(
            subscriber.members[0].service_date,
            NaiveDate::from_ymd_opt(2006, 5, 1)
        );

        let dependent =
            &read_270(&fixture("270_005010X279A1__dependent-health-benefit-check.270")).unwrap()[0];
        let levels: Vec<&str> = dependent.members.iter().map(|m| m.level.as_str()).collect();
        assert_eq!(levels, ["22", "23"]);
        assert_eq!(dependent.members[0].member_id(), Some("11122333301"));
        let child = &dependent.members[1];
        assert_eq!(child.name.as_ref().unwrap().first.as_deref(), Some("MARY"));
        assert_eq!(child.traces[0].reference, "93175-012547");
        assert_eq!(child.birth_date, NaiveDate::from_ymd_opt(1978, 10, 14));
    }

    #[test]
    fn a_bad_date_of_service_is_located() {
        let text = fixture("270_005010X279A1__subscriber-health-benefit-check.270")
            .replace("DTP*291*D8*20060501", "DTP*291*D8*2006-05-01");
        let error = read_270(&text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "segment 13, DTP03: \"2006-05-01\" is not a date (CCYYMMDD)"
        );
    }
}
