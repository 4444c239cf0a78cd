//! The 271 eligibility response (005010X279A1): for each member asked about —
//! subscriber (HL 22) or dependent (HL 23) — whether coverage is active and what it
//! pays, one EB segment per fact (active coverage, copay, coinsurance, deductible,
//! out-of-pocket maximum…), or an AAA rejection saying why the payer could not
//! answer.
//!
//! [`write_271`] answers a 270 read with [`read_270`](crate::x12::read_270) the way
//! payers do: the inquiry's parties, members and trace numbers echoed, each member
//! with its benefits or rejections. The sandbox clearinghouse answers with it.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use crate::x12::eligibility_inquiry::{is_member_level, InquiredMember, ReceivedInquiry, IMPLEMENTATION};
use crate::x12::entity::EntityName;
use crate::x12::error::{Problem, ReadError};
use crate::x12::segment::Segment;
use crate::x12::transaction::{read_transactions, TransactionHeader, TransactionReader};
use crate::x12::writer::{ControlNumbers, EnvelopeConfig, InterchangeWriter, TransactionWriter, WriteError};

/// Every 271 transaction set in `text`.
pub fn read_271(text: &str) -> Result<Vec<EligibilityResponse>, ReadError> {
    read_transactions::<ResponseReader>(text)
}

/// One 271 transaction set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EligibilityResponse {
    /// ST02.
    pub control_number: String,
    /// The information source (HL 20): the payer.
    pub source: Option<EntityName>,
    /// The information receiver (HL 21): the provider who asked.
    pub receiver: Option<EntityName>,
    /// AAA at the source or receiver level: the whole inquiry could not be answered.
    pub rejections: Vec<Rejection>,
    pub members: Vec<MemberEligibility>,
}

/// What the payer says about one subscriber or dependent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemberEligibility {
    /// HL03: 22 subscriber, 23 dependent.
    pub level: String,
    /// NM1*IL (subscriber) or NM1*03 (dependent).
    pub name: Option<EntityName>,
    /// TRN02 of each TRN: the inquirer's trace numbers echoed (TRN*2) and the
    /// payer's own (TRN*1).
    pub trace_numbers: Vec<String>,
    /// DMG02.
    pub birth_date: Option<NaiveDate>,
    /// EB loops (2110C/2110D).
    pub benefits: Vec<Benefit>,
    /// AAA about this member (not found, name mismatch…).
    pub rejections: Vec<Rejection>,
}

/// AAA: a request the payer could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// AAA01: Y when the request itself was valid.
    pub valid_request: bool,
    /// AAA03: 72 invalid member id, 73 invalid name, 75 subscriber not found, 15
    /// required application data missing, 42 unable to respond now…
    pub reason: String,
    /// AAA04: C please correct and resubmit, N resubmission not allowed, R resubmission
    /// allowed, W wait 30 days…
    pub follow_up: Option<String>,
}

/// One EB segment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Benefit {
    /// EB01 as sent.
    pub code: String,
    /// EB02: IND individual, FAM family, EMP employee only…
    pub coverage_level: Option<String>,
    /// EB03 repetitions: 30 health benefit plan coverage, 98 office visit, 1 medical…
    pub service_types: Vec<String>,
    /// EB04: HM HMO, PR PPO, MB Medicare B…
    pub insurance_type: Option<String>,
    /// EB05: the plan or coverage description.
    pub plan_description: Option<String>,
    /// EB06.
    pub time_period: Option<TimePeriod>,
    /// EB07: a copay, deductible or out-of-pocket amount.
    pub amount: Option<Decimal>,
    /// EB08: a coinsurance share as a fraction (0.2 is 20 %).
    pub percent: Option<Decimal>,
    /// EB12: true in network, false out of network; `None` when not sent or W (not
    /// applicable) / U (unknown).
    pub in_network: Option<bool>,
    /// MSG segments following the EB.
    pub messages: Vec<String>,
}

/// What an EB01 code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenefitKind {
    /// 1 active, 2–5 active with capitation or pending investigation.
    ActiveCoverage,
    /// 6 inactive, 7 pending eligibility update, 8 pending investigation.
    InactiveCoverage,
    /// A.
    Coinsurance,
    /// B.
    Copayment,
    /// C.
    Deductible,
    /// G: out of pocket (stop loss).
    OutOfPocket,
    /// F.
    Limitations,
    /// I.
    NonCovered,
    /// Anything else (L primary care provider, R other payer, V cannot process…).
    Other,
}

/// EB06: the period an amount applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimePeriod {
    /// 22.
    ServiceYear,
    /// 23.
    CalendarYear,
    /// 24.
    YearToDate,
    /// 27.
    Visit,
    /// 29: what is left to meet.
    Remaining,
    /// 32.
    Lifetime,
    /// 33.
    LifetimeRemaining,
    /// Any other code (6 hour, 7 day, 25 contract, 34 month…).
    Other(String),
}

/// Whether a member is covered, from their EB segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageStatus {
    Active,
    Inactive,
    /// No EB said either (a rejected inquiry, or a response about benefits only).
    Unknown,
}

impl Benefit {
    pub fn kind(&self) -> BenefitKind {
        match self.code.as_str() {
            "1" | "2" | "3" | "4" | "5" => BenefitKind::ActiveCoverage,
            "6" | "7" | "8" => BenefitKind::InactiveCoverage,
            "A" => BenefitKind::Coinsurance,
            "B" => BenefitKind::Copayment,
            "C" => BenefitKind::Deductible,
            "G" => BenefitKind::OutOfPocket,
            "F" => BenefitKind::Limitations,
            "I" => BenefitKind::NonCovered,
            _ => BenefitKind::Other,
        }
    }
}

impl TimePeriod {
    fn from_code(code: &str) -> TimePeriod {
        match code {
            "22" => TimePeriod::ServiceYear,
            "23" => TimePeriod::CalendarYear,
            "24" => TimePeriod::YearToDate,
            "27" => TimePeriod::Visit,
            "29" => TimePeriod::Remaining,
            "32" => TimePeriod::Lifetime,
            "33" => TimePeriod::LifetimeRemaining,
            other => TimePeriod::Other(other.to_string()),
        }
    }

    /// EB06 as written.
    pub fn code(&self) -> &str {
        match self {
            TimePeriod::ServiceYear => "22",
            TimePeriod::CalendarYear => "23",
            TimePeriod::YearToDate => "24",
            TimePeriod::Visit => "27",
            TimePeriod::Remaining => "29",
            TimePeriod::Lifetime => "32",
            TimePeriod::LifetimeRemaining => "33",
            TimePeriod::Other(code) => code,
        }
    }
}

impl MemberEligibility {
    /// Active when any EB says active coverage, else inactive when any says inactive.
    pub fn coverage(&self) -> CoverageStatus {
        let kinds = || self.benefits.iter().map(Benefit::kind);
        if kinds().any(|kind| kind == BenefitKind::ActiveCoverage) {
            CoverageStatus::Active
        } else if kinds().any(|kind| kind == BenefitKind::InactiveCoverage) {
            CoverageStatus::Inactive
        } else {
            CoverageStatus::Unknown
        }
    }

    /// The first plan description (EB05) the payer gave.
    pub fn plan_description(&self) -> Option<&str> {
        self.benefits
            .iter()
            .find_map(|benefit| benefit.plan_description.as_deref())
    }

    /// The benefits of one kind (every copay, every deductible…).
    pub fn benefits_of(&self, kind: BenefitKind) -> impl Iterator<Item = &Benefit> {
        self.benefits.iter().filter(move |benefit| benefit.kind() == kind)
    }
}

struct ResponseReader {
    response: EligibilityResponse,
    level: String,
    /// Inside LS … LE: the NM1 there names a benefit's related entity (a primary
    /// care provider), not the member.
    in_related_entity: bool,
}

impl<'a> TransactionReader<'a> for ResponseReader {
    type Output = EligibilityResponse;
    const SET_ID: &'static str = "271";

    fn start(header: &TransactionHeader<'a>) -> Self {
        ResponseReader {
            response: EligibilityResponse {
                control_number: header.control_number.to_string(),
                ..EligibilityResponse::default()
            },
            level: String::new(),
            in_related_entity: false,
        }
    }

    fn segment(&mut self, segment: &Segment<'a>) -> Result<(), ReadError> {
        match segment.id {
            "HL" => {
                self.level = segment.required(3)?.to_string();
                self.in_related_entity = false;
                if self.is_member_level() {
                    self.response.members.push(MemberEligibility {
                        level: self.level.clone(),
                        ..MemberEligibility::default()
                    });
                }
            }
            "LS" => self.in_related_entity = true,
            "LE" => self.in_related_entity = false,
            "NM1" if !self.in_related_entity => {
                let name = Some(EntityName::from_nm1(segment)?);
                match self.level.as_str() {
                    "20" => self.response.source = name,
                    "21" => self.response.receiver = name,
                    _ => self.member(segment)?.name = name,
                }
            }
            "TRN" => {
                let trace = segment.required(2)?.to_string();
                self.member(segment)?.trace_numbers.push(trace);
            }
            "DMG" if segment.value(1) == "D8" => {
                let birth_date = segment.optional_date(2)?;
                self.member(segment)?.birth_date = birth_date;
            }
            "AAA" => {
                let rejection = Rejection {
                    valid_request: segment.value(1) == "Y",
                    reason: segment.required(3)?.to_string(),
                    follow_up: segment.optional_string(4),
                };
                if self.is_member_level() {
                    self.member(segment)?.rejections.push(rejection);
                } else {
                    self.response.rejections.push(rejection);
                }
            }
            "EB" => {
                let benefit = benefit(segment)?;
                self.member(segment)?.benefits.push(benefit);
            }
            "MSG" => {
                let message = segment.required(1)?.to_string();
                if let Some(benefit) = self.member(segment)?.benefits.last_mut() {
                    benefit.messages.push(message);
                }
            }
            // BHT, N3/N4 addresses, INS, DTP dates, REF, HSD delivery, III: not read.
            _ => {}
        }
        Ok(())
    }

    fn finish(self, _trailer: &Segment<'a>) -> Result<EligibilityResponse, ReadError> {
        Ok(self.response)
    }
}

impl ResponseReader {
    fn is_member_level(&self) -> bool {
        is_member_level(&self.level)
    }

    fn member(&mut self, segment: &Segment<'_>) -> Result<&mut MemberEligibility, ReadError> {
        let member = if self.is_member_level() {
            self.response.members.last_mut()
        } else {
            None
        };
        member.ok_or_else(|| segment.error(Problem::OutOfPlace("outside a subscriber or dependent level")))
    }
}

fn benefit(segment: &Segment<'_>) -> Result<Benefit, ReadError> {
    let service_types = segment
        .element(3)
        .into_iter()
        .flat_map(|element| element.repetitions())
        .map(|repetition| repetition.as_str())
        .filter(|code| !code.is_empty())
        .map(str::to_string)
        .collect();
    let in_network = match segment.value(12) {
        "Y" => Some(true),
        "N" => Some(false),
        _ => None,
    };
    Ok(Benefit {
        code: segment.required(1)?.to_string(),
        coverage_level: segment.optional_string(2),
        service_types,
        insurance_type: segment.optional_string(4),
        plan_description: segment.optional_string(5),
        time_period: segment.optional(6).map(TimePeriod::from_code),
        amount: segment.optional_amount(7)?,
        percent: segment.optional_amount(8)?,
        in_network,
        messages: Vec::new(),
    })
}

/// The answer to one 270 transaction set.
#[derive(Debug, Clone, PartialEq)]
pub struct EligibilityAnswer<'a> {
    pub inquiry: &'a ReceivedInquiry,
    /// What the payer says about each member asked about, in the inquiry's order
    /// (a dependent right after its subscriber).
    pub members: Vec<MemberAnswer<'a>>,
}

/// What the payer says about one member: benefits, or why it cannot say.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberAnswer<'a> {
    pub member: &'a InquiredMember,
    pub benefits: Vec<Benefit>,
    pub rejections: Vec<Rejection>,
}

/// Writes `answers` as one 271 interchange, one transaction set each.
pub fn write_271(
    answers: &[EligibilityAnswer<'_>],
    envelope: &EnvelopeConfig,
    control: ControlNumbers,
    created: NaiveDateTime,
) -> Result<String, WriteError> {
    let mut interchange = InterchangeWriter::begin(envelope, control.interchange, created)?;
    interchange.group("HB", IMPLEMENTATION, control.group, |group| {
        for answer in answers {
            group.transaction("271", |transaction| write_answer(transaction, answer, created))?;
        }
        Ok::<(), WriteError>(())
    })?;
    Ok(interchange.finish())
}

fn write_answer(
    transaction: &mut TransactionWriter<'_>,
    answer: &EligibilityAnswer<'_>,
    created: NaiveDateTime,
) -> Result<(), WriteError> {
    let party = |name: &Option<EntityName>, field: &'static str| {
        name.clone().ok_or(WriteError::Invalid {
            field,
            value: String::new(),
            expected: "is required: the inquiry named no such party",
        })
    };
    let source = party(&answer.inquiry.source, "2100A NM1")?;
    let receiver = party(&answer.inquiry.receiver, "2100B NM1")?;
    // 0022: information source, receiver, subscriber; 11: a response.
    transaction
        .segment("BHT")
        .element("0022")
        .element("11")
        .element(&answer.inquiry.reference)
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
    source.write(transaction)?;
    transaction
        .segment("HL")
        .number(2)
        .number(1)
        .element("21")
        .element("1")
        .finish()?;
    receiver.write(transaction)?;
    let mut subscriber_hl = 2;
    for (index, member) in answer.members.iter().enumerate() {
        let hl = index + 3;
        let (parent, level) = if member.member.level == "23" {
            (subscriber_hl, "23")
        } else {
            subscriber_hl = hl;
            (2, "22")
        };
        let has_dependents = level == "22"
            && answer
                .members
                .get(index + 1)
                .is_some_and(|next| next.member.level == "23");
        transaction
            .segment("HL")
            .number(hl)
            .number(parent)
            .element(level)
            .element(if has_dependents { "1" } else { "0" })
            .finish()?;
        write_member(transaction, member)?;
    }
    Ok(())
}

/// Loops 2000C/D to 2110C/D: the traces echoed (TRN*2), the member's name, any
/// rejection, demographics, then one EB (with its MSGs) per benefit.
fn write_member(
    transaction: &mut TransactionWriter<'_>,
    answer: &MemberAnswer<'_>,
) -> Result<(), WriteError> {
    let member = answer.member;
    for trace in &member.traces {
        transaction
            .segment("TRN")
            .element("2")
            .element(&trace.reference)
            .optional(trace.originator.as_deref())
            .finish()?;
    }
    if let Some(name) = &member.name {
        name.write(transaction)?;
    }
    for rejection in &answer.rejections {
        transaction
            .segment("AAA")
            .element(if rejection.valid_request { "Y" } else { "N" })
            .element("")
            .element(&rejection.reason)
            .optional(rejection.follow_up.as_deref())
            .finish()?;
    }
    if let Some(birth_date) = member.birth_date {
        transaction
            .segment("DMG")
            .element("D8")
            .date(birth_date)
            .optional(member.gender.as_deref())
            .finish()?;
    }
    for benefit in &answer.benefits {
        write_benefit(transaction, benefit)?;
    }
    Ok(())
}

fn write_benefit(transaction: &mut TransactionWriter<'_>, benefit: &Benefit) -> Result<(), WriteError> {
    let service_types: Vec<&str> = benefit.service_types.iter().map(String::as_str).collect();
    let in_network = match benefit.in_network {
        Some(true) => "Y",
        Some(false) => "N",
        None => "",
    };
    transaction
        .segment("EB")
        .element(&benefit.code)
        .optional(benefit.coverage_level.as_deref())
        .repeated(&service_types)
        .optional(benefit.insurance_type.as_deref())
        .optional(benefit.plan_description.as_deref())
        .optional(benefit.time_period.as_ref().map(TimePeriod::code))
        .optional_amount(benefit.amount)
        .optional_amount(benefit.percent)
        .element("")
        .element("")
        .element("")
        .element(in_network)
        .finish()?;
    for message in &benefit.messages {
        transaction.segment("MSG").element(message).finish()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::eligibility_inquiry::read_270;
    use crate::x12::envelope::check_envelope;
    use crate::x12::test_fixtures::{fixture, fixtures_starting};
    use crate::x12::writer::tests::{created, envelope_config};

    fn only(text: &str) -> EligibilityResponse {
        let mut responses = read_271(text).unwrap();
        assert_eq!(responses.len(), 1);
        responses.remove(0)
    }

    #[test]
    fn every_271_sample_reads() {
        let names = fixtures_starting("271_");
        assert_eq!(names.len(), 3);
        for name in names {
            read_271(&fixture(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn a_subscriber_response_gives_coverage_plan_and_copays_by_network() {
        let response = only(&fixture("271_005010X279A1__subscriber-health-benefit-check.271"));
        assert_eq!(response.source.as_ref().unwrap().name, "ABC COMPANY");
        assert_eq!(response.receiver.as_ref().unwrap().id.as_deref(), Some("2000035"));
        assert_eq!(response.members.len(), 1);
        let member = &response.members[0];
        assert_eq!(member.level, "22");
        assert_eq!(member.name.as_ref().unwrap().id.as_deref(), Some("123456789"));
        assert_eq!(member.trace_numbers, ["93175-012547"]);
        assert_eq!(member.birth_date, NaiveDate::from_ymd_opt(1963, 5, 19));
        assert_eq!(member.coverage(), CoverageStatus::Active);
        assert_eq!(member.plan_description(), Some("GOLD 123 PLAN"));
        // The primary care provider inside LS/LE is not taken for the member.
        assert_eq!(member.name.as_ref().unwrap().name, "SMITH");

        let copays: Vec<(Option<Decimal>, Option<bool>, Option<TimePeriod>)> = member
            .benefits_of(BenefitKind::Copayment)
            .map(|b| (b.amount, b.in_network, b.time_period.clone()))
            .collect();
        assert_eq!(
            copays,
            [
                (Some(Decimal::new(1000, 2)), Some(true), Some(TimePeriod::Visit)),
                (Some(Decimal::new(3000, 2)), Some(false), Some(TimePeriod::Visit)),
            ]
        );
        let copay = member.benefits_of(BenefitKind::Copayment).next().unwrap();
        assert_eq!(
            copay.service_types,
            ["1", "33", "35", "47", "86", "88", "98", "AL", "MH", "UC"]
        );
        assert_eq!(copay.insurance_type.as_deref(), Some("HM"));
    }

    #[test]
    fn a_dependent_response_puts_benefits_on_the_dependent() {
        let response = only(&fixture("271_005010X279A1__dependent-health-benefit-check.271"));
        let levels: Vec<&str> = response.members.iter().map(|m| m.level.as_str()).collect();
        assert_eq!(levels, ["22", "23"]);
        let (subscriber, dependent) = (&response.members[0], &response.members[1]);
        assert_eq!(subscriber.coverage(), CoverageStatus::Unknown);
        assert_eq!(dependent.name.as_ref().unwrap().first.as_deref(), Some("MARY"));
        assert_eq!(dependent.coverage(), CoverageStatus::Active);
        assert_eq!(dependent.benefits.len(), 5);
    }

    #[test]
    fn a_rejected_inquiry_reports_its_reason() {
        let response = only(&fixture(
            "271_005010X279A1__subscriber-health-benefit-check-error.271",
        ));
        assert!(response.members.is_empty());
        assert_eq!(
            response.rejections,
            [Rejection {
                valid_request: true,
                reason: "50".into(),
                follow_up: Some("N".into())
            }]
        );
    }

    const RESPONSE: &str = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLAIMBRIDGE    *240115*1200*^*00501*000000101*0*T*:~
GS*HB*PAYER*CLAIMBRIDGE*20240115*1200*101*X*005010X279A1~
ST*271*0001*005010X279A1~
BHT*0022*11*REQ1*20240115*1200~
HL*1**20*1~
NM1*PR*2*ACME HEALTH PLAN*****PI*60054~
HL*2*1*21*1~
NM1*1P*2*BRIGHT CLINIC*****XX*1234567893~
HL*3*2*22*0~
TRN*2*ELIG-1*1123456789~
NM1*IL*1*DOE*JANE****MI*M123~
EB*1*IND*30*PR*SILVER PPO~
EB*C*IND*30***23*1500*****Y~
EB*C*IND*30***29*400*****Y~
EB*G*FAM*30***23*6000*****N~
EB*A*IND*98*****.2****Y~
MSG*AFTER DEDUCTIBLE~
EB*6*IND*AL~
SE*17*0001~
GE*1*101~
IEA*1*000000101~
";

    #[test]
    fn deductibles_out_of_pocket_and_coinsurance_are_typed() {
        let member = &only(RESPONSE).members[0];
        assert_eq!(member.coverage(), CoverageStatus::Active);
        assert_eq!(member.plan_description(), Some("SILVER PPO"));
        let deductibles: Vec<(Option<TimePeriod>, Option<Decimal>)> = member
            .benefits_of(BenefitKind::Deductible)
            .map(|b| (b.time_period.clone(), b.amount))
            .collect();
        assert_eq!(
            deductibles,
            [
                (Some(TimePeriod::CalendarYear), Some(Decimal::from(1500))),
                (Some(TimePeriod::Remaining), Some(Decimal::from(400)))
            ]
        );
        let out_of_pocket = member.benefits_of(BenefitKind::OutOfPocket).next().unwrap();
        assert_eq!(
            (out_of_pocket.coverage_level.as_deref(), out_of_pocket.in_network),
            (Some("FAM"), Some(false))
        );
        let coinsurance = member.benefits_of(BenefitKind::Coinsurance).next().unwrap();
        assert_eq!(coinsurance.percent, Some(Decimal::new(2, 1)));
        assert_eq!(coinsurance.messages, ["AFTER DEDUCTIBLE"]);
        assert_eq!(member.benefits_of(BenefitKind::InactiveCoverage).count(), 1);
    }

    #[test]
    fn inactive_coverage_is_told_from_unknown() {
        let text = RESPONSE.replace("EB*1*IND*30*PR*SILVER PPO~", "EB*6*IND*30~");
        assert_eq!(only(&text).members[0].coverage(), CoverageStatus::Inactive);
        let error =
            read_271(&RESPONSE.replace("EB*C*IND*30***23*1500", "EB*C*IND*30***23*1,500")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "segment 13, EB07: \"1,500\" is not a decimal amount"
        );
    }

    fn dependent_inquiry() -> ReceivedInquiry {
        read_270(&fixture("270_005010X279A1__dependent-health-benefit-check.270"))
            .unwrap()
            .remove(0)
    }

    const CONTROL: ControlNumbers = ControlNumbers {
        interchange: 7,
        group: 7,
    };

    #[test]
    fn an_answer_echoes_the_inquiry_and_reads_back() {
        let inquiry = dependent_inquiry();
        let benefits = vec![
            Benefit {
                code: "1".into(),
                coverage_level: Some("IND".into()),
                service_types: vec!["30".into()],
                insurance_type: Some("PR".into()),
                plan_description: Some("GOLD PPO".into()),
                ..Benefit::default()
            },
            Benefit {
                code: "B".into(),
                coverage_level: Some("IND".into()),
                service_types: vec!["98".into(), "UC".into()],
                time_period: Some(TimePeriod::Visit),
                amount: Some(Decimal::new(2500, 2)),
                in_network: Some(true),
                messages: vec!["PER VISIT".into()],
                ..Benefit::default()
            },
            Benefit {
                code: "A".into(),
                service_types: vec!["30".into()],
                percent: Some(Decimal::new(2, 1)),
                in_network: Some(false),
                ..Benefit::default()
            },
        ];
        let answer = EligibilityAnswer {
            inquiry: &inquiry,
            members: vec![
                MemberAnswer {
                    member: &inquiry.members[0],
                    benefits: vec![],
                    rejections: vec![],
                },
                MemberAnswer {
                    member: &inquiry.members[1],
                    benefits: benefits.clone(),
                    rejections: vec![],
                },
            ],
        };
        let text = write_271(&[answer], &envelope_config(), CONTROL, created()).unwrap();
        let summary = check_envelope(&text).unwrap();
        assert_eq!(summary.groups[0].functional_id, "HB");
        assert!(text.contains("\nBHT*0022*11*10001234*20240115*0905~\n"), "{text}");
        assert!(
            text.contains("\nHL*3*2*22*1~\nNM1*IL*1******MI*11122333301~\nHL*4*3*23*0~\n"),
            "{text}"
        );
        assert!(
            text.contains("\nTRN*2*93175-012547*9877281234~\nNM1*03*1*SMITH*MARY~\nDMG*D8*19781014~\n"),
            "{text}"
        );
        assert!(
            text.contains("\nEB*B*IND*98^UC***27*25*****Y~\nMSG*PER VISIT~\n"),
            "{text}"
        );

        let response = only(&text);
        assert_eq!(response.source, inquiry.source);
        assert_eq!(response.receiver, inquiry.receiver);
        assert_eq!(response.members[1].trace_numbers, ["93175-012547"]);
        assert_eq!(response.members[1].benefits, benefits);
        assert_eq!(response.members[1].coverage(), CoverageStatus::Active);
    }

    #[test]
    fn a_member_the_payer_cannot_find_is_answered_with_aaa() {
        let inquiry = read_270(&fixture("270_005010X279A1__subscriber-health-benefit-check.270"))
            .unwrap()
            .remove(0);
        let not_found = Rejection {
            valid_request: true,
            reason: "75".into(),
            follow_up: Some("C".into()),
        };
        let answer = EligibilityAnswer {
            inquiry: &inquiry,
            members: vec![MemberAnswer {
                member: &inquiry.members[0],
                benefits: vec![],
                rejections: vec![not_found.clone()],
            }],
        };
        let text = write_271(&[answer], &envelope_config(), CONTROL, created()).unwrap();
        assert!(text.contains("\nAAA*Y**75*C~\nDMG*D8*19430519~\n"), "{text}");
        let member = &only(&text).members[0];
        assert_eq!(member.rejections, [not_found]);
        assert_eq!(member.coverage(), CoverageStatus::Unknown);

        let mut nameless = inquiry.clone();
        nameless.source = None;
        let answer = EligibilityAnswer {
            inquiry: &nameless,
            members: vec![],
        };
        let error = write_271(&[answer], &envelope_config(), CONTROL, created()).unwrap_err();
        assert!(matches!(
            error,
            WriteError::Invalid {
                field: "2100A NM1",
                ..
            }
        ));
    }
}
