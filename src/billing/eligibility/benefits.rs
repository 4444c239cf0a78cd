//! What a 271 says about the member asked about, in the terms billers ask for —
//! active or not, the plan, copay, coinsurance, the deductible and what is left of
//! it — and how that is kept in FHIR: a CoverageEligibilityResponse whose insurance
//! item (the service type asked about, in network, individual) carries the plan as
//! its name and the amounts as benefits. The deductible left is what the deductible
//! benefit allows less what has been used, as R4 has no "remaining".
//!
//! A 271 may state a benefit several times (in and out of network, individual and
//! family, per service type); the one kept is in network, individual, and for a
//! service type asked about, in that order of preference.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::billing::remittance::money::json_amount;
use crate::fhir::pointer::Pointer;
use crate::x12::eligibility_response::{
    Benefit, BenefitKind, CoverageStatus, EligibilityResponse, MemberEligibility, TimePeriod,
};

/// X12 code lists as FHIR code systems: service type codes (element 1365, EB03 and
/// EQ01) and reject reason codes (element 901, AAA03).
pub const SERVICE_TYPE_SYSTEM: &str = "https://codesystem.x12.org/005010/1365";
pub const REJECT_REASON_SYSTEM: &str = "https://codesystem.x12.org/005010/901";
const BENEFIT_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/benefit-type";
const NETWORK_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/benefit-network";
const UNIT_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/benefit-unit";

/// What the payer said about the member.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BenefitSummary {
    /// `None` when the payer did not say (a rejected inquiry).
    pub active: Option<bool>,
    pub plan: Option<String>,
    pub copay: Option<Decimal>,
    /// A fraction: 0.2 is 20 %.
    pub coinsurance: Option<Decimal>,
    pub deductible: Option<Decimal>,
    pub deductible_remaining: Option<Decimal>,
    /// AAA03 reasons the payer gave instead of an answer.
    pub rejections: Vec<String>,
}

impl BenefitSummary {
    /// The answer to the inquiry whose trace number is `reference`, or `None` when
    /// the 271 holds none. A 271 rejecting the whole inquiry (AAA at the payer or
    /// provider level) echoes no member: its rejections are the answer.
    pub fn from_271(responses: &[EligibilityResponse], reference: &str, asked: &[String]) -> Option<Self> {
        let answered = responses.iter().find_map(|response| {
            let member = response
                .members
                .iter()
                .find(|member| member.trace_numbers.iter().any(|trace| trace == reference))?;
            Some((response, member))
        });
        match answered {
            Some((response, member)) => {
                let mut summary = Self::of_member(member, asked);
                let whole = response.rejections.iter().map(|r| r.reason.clone());
                summary.rejections.splice(0..0, whole);
                Some(summary)
            }
            None => match responses {
                [only] if only.members.is_empty() && !only.rejections.is_empty() => Some(BenefitSummary {
                    rejections: only.rejections.iter().map(|r| r.reason.clone()).collect(),
                    ..BenefitSummary::default()
                }),
                _ => None,
            },
        }
    }

    fn of_member(member: &MemberEligibility, asked: &[String]) -> Self {
        let amounts = |kind| member.benefits_of(kind).filter(|b| b.amount.is_some());
        let deductible = preferred(
            amounts(BenefitKind::Deductible).filter(|b| !is_running_total(b)),
            asked,
        );
        let remaining = preferred(
            amounts(BenefitKind::Deductible).filter(|b| b.time_period == Some(TimePeriod::Remaining)),
            asked,
        );
        let met = preferred(
            amounts(BenefitKind::Deductible).filter(|b| b.time_period == Some(TimePeriod::YearToDate)),
            asked,
        );
        let deductible = deductible.and_then(|b| b.amount);
        let left_after_met = || Some(deductible? - met?.amount?);
        BenefitSummary {
            active: match member.coverage() {
                CoverageStatus::Active => Some(true),
                CoverageStatus::Inactive => Some(false),
                CoverageStatus::Unknown => None,
            },
            plan: member.plan_description().map(str::to_owned),
            copay: preferred(amounts(BenefitKind::Copayment), asked).and_then(|b| b.amount),
            coinsurance: preferred(
                member
                    .benefits_of(BenefitKind::Coinsurance)
                    .filter(|b| b.percent.is_some()),
                asked,
            )
            .and_then(|b| b.percent),
            deductible,
            deductible_remaining: remaining.and_then(|b| b.amount).or_else(left_after_met),
            rejections: member.rejections.iter().map(|r| r.reason.clone()).collect(),
        }
    }

    /// Complete when the payer answered, error when it could not.
    pub fn outcome(&self) -> &'static str {
        if self.rejections.is_empty() {
            "complete"
        } else {
            "error"
        }
    }

    /// The answer in a sentence.
    pub fn disposition(&self) -> String {
        if !self.rejections.is_empty() {
            let reasons: Vec<String> = self
                .rejections
                .iter()
                .map(|code| format!("{} (AAA {code})", rejection_text(code)))
                .collect();
            return format!("The payer could not answer: {}", reasons.join("; "));
        }
        match self.active {
            Some(true) => "Coverage is active".into(),
            Some(false) => "Coverage is not active".into(),
            None => "The payer did not say whether coverage is active".into(),
        }
    }
}

/// Year-to-date and remaining amounts are running totals, not the deductible.
fn is_running_total(benefit: &Benefit) -> bool {
    matches!(
        benefit.time_period,
        Some(TimePeriod::Remaining | TimePeriod::YearToDate | TimePeriod::LifetimeRemaining)
    )
}

/// The benefit to report among several: in network, individual, for a service
/// type asked about, in that order; the first of equals.
fn preferred<'b>(benefits: impl Iterator<Item = &'b Benefit>, asked: &[String]) -> Option<&'b Benefit> {
    let rank = |benefit: &Benefit| {
        let in_network = benefit.in_network != Some(false);
        let individual = matches!(benefit.coverage_level.as_deref(), None | Some("IND"));
        let asked_for = benefit.service_types.iter().any(|t| asked.contains(t));
        (in_network, individual, asked_for)
    };
    benefits.fold(None, |best: Option<&Benefit>, benefit| match best {
        Some(best) if rank(best) >= rank(benefit) => Some(best),
        _ => Some(benefit),
    })
}

/// What the common AAA03 reject reasons mean.
pub fn rejection_text(code: &str) -> &'static str {
    match code {
        "15" => "required application data missing",
        "42" => "the payer cannot respond now",
        "43" => "invalid or missing provider identification",
        "58" => "invalid or missing date of birth",
        "71" => "the date of birth does not match the payer's",
        "72" => "invalid or missing member id",
        "73" => "invalid or missing subscriber name",
        "75" => "subscriber not found",
        "76" => "duplicate member id",
        _ => "rejected",
    }
}

/// What a stored response refers to and when it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseContext<'a> {
    pub request_id: &'a str,
    pub patient: &'a str,
    pub coverage: &'a str,
    pub insurer: &'a str,
    pub requestor: &'a str,
    pub service_date: NaiveDate,
    /// The service type asked about first (30 when none was named).
    pub category: &'a str,
    pub created: DateTime<Utc>,
}

/// The CoverageEligibilityResponse keeping `summary`.
pub fn response_resource(summary: &BenefitSummary, context: &ResponseContext<'_>) -> Value {
    let mut insurance = json!({"coverage": {"reference": context.coverage}});
    if let Some(active) = summary.active {
        insurance["inforce"] = json!(active);
    }
    let benefits = benefit_entries(summary);
    if !benefits.is_empty() || summary.plan.is_some() {
        let mut item = json!({
            "category": {"coding": [{"system": SERVICE_TYPE_SYSTEM, "code": context.category}]},
            "network": {"coding": [{"system": NETWORK_SYSTEM, "code": "in"}]},
            "unit": {"coding": [{"system": UNIT_SYSTEM, "code": "individual"}]},
        });
        if let Some(plan) = &summary.plan {
            item["name"] = json!(plan);
        }
        if !benefits.is_empty() {
            item["benefit"] = Value::Array(benefits);
        }
        insurance["item"] = json!([item]);
    }
    let mut resource = json!({
        "resourceType": "CoverageEligibilityResponse",
        "status": "active",
        "purpose": ["validation", "benefits"],
        "patient": {"reference": context.patient},
        "servicedDate": context.service_date.to_string(),
        "created": crate::fhir::instant(context.created),
        "requestor": {"reference": context.requestor},
        "request": {"reference": format!("CoverageEligibilityRequest/{}", context.request_id)},
        "outcome": summary.outcome(),
        "disposition": summary.disposition(),
        "insurer": {"reference": context.insurer},
        "insurance": [insurance],
    });
    if !summary.rejections.is_empty() {
        let errors: Vec<Value> = summary
            .rejections
            .iter()
            .map(|code| {
                json!({"code": {"coding": [{"system": REJECT_REASON_SYSTEM, "code": code,
                                             "display": rejection_text(code)}]}})
            })
            .collect();
        resource["error"] = Value::Array(errors);
    }
    resource
}

fn benefit_entries(summary: &BenefitSummary) -> Vec<Value> {
    let of_type = |code: &str| json!({"type": {"coding": [{"system": BENEFIT_TYPE_SYSTEM, "code": code}]}});
    let money = |amount: Decimal| json!({"value": json_amount(amount), "currency": "USD"});
    let mut entries = Vec::new();
    if let Some(copay) = summary.copay {
        let mut entry = of_type("copay");
        entry["allowedMoney"] = money(copay);
        entries.push(entry);
    }
    if let Some(share) = summary.coinsurance {
        let mut entry = of_type("copay-percent");
        let percent = (share * Decimal::ONE_HUNDRED).normalize();
        // A whole percentage is an unsignedInt; R4 has nothing else but text.
        match u32::try_from(percent).ok().filter(|_| percent.fract().is_zero()) {
            Some(whole) => entry["allowedUnsignedInt"] = json!(whole),
            None => entry["allowedString"] = json!(format!("{percent}%")),
        }
        entries.push(entry);
    }
    if let Some(deductible) = summary.deductible {
        let mut entry = of_type("deductible");
        entry["allowedMoney"] = money(deductible);
        if let Some(remaining) = summary.deductible_remaining {
            entry["usedMoney"] = money(deductible - remaining);
        }
        entries.push(entry);
    }
    entries
}

/// The summary a stored response keeps (the inverse of [`response_resource`]).
pub fn summary_of(resource: &Value) -> BenefitSummary {
    let insurance = &resource["insurance"][0];
    let item = &insurance["item"][0];
    let benefit = |code: &str| {
        item["benefit"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|b| b.at("/type/coding/0/code").and_then(Value::as_str) == Some(code))
    };
    let money = |benefit: Option<&Value>, field: &str| benefit.and_then(|b| decimal(&b[field]["value"]));
    let deductible = benefit("deductible");
    let coinsurance = benefit("copay-percent").and_then(|b| {
        decimal(&b["allowedUnsignedInt"])
            .or_else(|| b["allowedString"].as_str()?.trim_end_matches('%').parse().ok())
    });
    let allowed = money(deductible, "allowedMoney");
    BenefitSummary {
        active: insurance["inforce"].as_bool(),
        plan: item["name"].as_str().map(str::to_owned),
        copay: money(benefit("copay"), "allowedMoney"),
        coinsurance: coinsurance.map(|percent| (percent / Decimal::ONE_HUNDRED).normalize()),
        deductible: allowed,
        deductible_remaining: money(deductible, "usedMoney").and_then(|used| Some(allowed? - used)),
        rejections: resource["error"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.at("/code/coding/0/code")?.as_str().map(str::to_owned))
            .collect(),
    }
}

/// A JSON number as an exact decimal (numbers are kept as written).
fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(number) => number.to_string().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::read_271;

    /// A 271 as a payer might send it: the deductible stated in and out of network,
    /// for the family too, and copays per service type.
    const RESPONSE: &str = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLAIMBRIDGE    *261125*1200*^*00501*000000101*0*T*:~
GS*HB*PAYER*CLAIMBRIDGE*20261125*1200*101*X*005010X279A1~
ST*271*0001*005010X279A1~
BHT*0022*11*REQ-9*20261125*1200~
HL*1**20*1~
NM1*PR*2*ACME HEALTH*****PI*ACME01~
HL*2*1*21*1~
NM1*1P*2*GOOD CLINIC*****XX*1234567893~
HL*3*2*22*0~
TRN*2*REQ-9*1000000000~
NM1*IL*1*DOE*JANE****MI*M123~
EB*1*IND*30*PR*SILVER PPO~
EB*C*FAM*30*PR**23*3000*****Y~
EB*C*IND*30*PR**23*2500*****N~
EB*C*IND*30*PR**23*1500*****Y~
EB*C*IND*30*PR**24*600*****Y~
EB*B*IND*UC*PR**27*75*****Y~
EB*B*IND*98*PR**27*30*****N~
EB*B*IND*98*PR**27*20*****Y~
EB*A*IND*98*PR****.15****Y~
SE*19*0001~
GE*1*101~
IEA*1*000000101~
";

    fn summary(text: &str, reference: &str) -> Option<BenefitSummary> {
        BenefitSummary::from_271(&read_271(text).unwrap(), reference, &["98".to_owned()])
    }

    #[test]
    fn in_network_individual_benefits_for_the_service_asked_about_are_kept() {
        let summary = summary(RESPONSE, "REQ-9").unwrap();
        assert_eq!(
            summary,
            BenefitSummary {
                active: Some(true),
                plan: Some("SILVER PPO".into()),
                copay: Some(Decimal::from(20)),
                coinsurance: Some(Decimal::new(15, 2)),
                deductible: Some(Decimal::from(1500)),
                // 1,500 less the 600 met this year.
                deductible_remaining: Some(Decimal::from(900)),
                rejections: vec![],
            }
        );
        assert_eq!(summary.outcome(), "complete");
        assert_eq!(summary.disposition(), "Coverage is active");
    }

    #[test]
    fn an_answer_to_another_inquiry_is_no_answer() {
        assert_eq!(summary(RESPONSE, "REQ-OTHER"), None);
    }

    #[test]
    fn rejections_are_the_answer_when_the_payer_cannot_give_one() {
        let text = RESPONSE.replace("EB*1*IND*30*PR*SILVER PPO~", "AAA*Y**75*C~");
        let member_rejected = summary(&text, "REQ-9").unwrap();
        assert_eq!(member_rejected.rejections, ["75"]);
        assert_eq!(member_rejected.active, None);
        assert_eq!(member_rejected.outcome(), "error");
        assert_eq!(
            member_rejected.disposition(),
            "The payer could not answer: subscriber not found (AAA 75)"
        );
        // Rejected at the payer level: no member is echoed.
        let whole = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLAIMBRIDGE    *261125*1200*^*00501*000000101*0*T*:~
GS*HB*PAYER*CLAIMBRIDGE*20261125*1200*101*X*005010X279A1~
ST*271*0001*005010X279A1~
BHT*0022*11*REQ-9*20261125*1200~
HL*1**20*1~
AAA*Y**42*R~
NM1*PR*2*ACME HEALTH*****PI*ACME01~
SE*6*0001~
GE*1*101~
IEA*1*000000101~
";
        assert_eq!(summary(whole, "REQ-9").unwrap().rejections, ["42"]);
    }

    /// The R4 schema and model's objections to `resource`.
    fn valid(resource: &Value) -> Vec<String> {
        let resource_type = crate::fhir::resource_type::ResourceType::CoverageEligibilityResponse;
        crate::fhir::validation::validate_resource(resource_type, resource)
            .into_iter()
            .map(|issue| issue.diagnostics)
            .collect()
    }

    fn context() -> ResponseContext<'static> {
        ResponseContext {
            request_id: "req-1",
            patient: "Patient/p1",
            coverage: "Coverage/c1",
            insurer: "Organization/acme",
            requestor: "Organization/clinic",
            service_date: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            category: "98",
            created: DateTime::parse_from_rfc3339("2026-11-25T10:00:00.250Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn the_summary_is_kept_in_a_coverage_eligibility_response_and_read_back() {
        let summary = summary(RESPONSE, "REQ-9").unwrap();
        let resource = response_resource(&summary, &context());
        assert_eq!(resource["outcome"], "complete");
        assert_eq!(
            resource["request"]["reference"],
            "CoverageEligibilityRequest/req-1"
        );
        assert_eq!(resource["created"], "2026-11-25T10:00:00.250Z");
        let insurance = &resource["insurance"][0];
        assert_eq!(insurance["inforce"], true);
        let item = &insurance["item"][0];
        assert_eq!(item["category"]["coding"][0]["code"], "98");
        assert_eq!(item["name"], "SILVER PPO");
        let benefits: Vec<String> = item["benefit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.to_string())
            .collect();
        assert!(benefits[0].contains(r#""code":"copay"}]},"allowedMoney":{"value":20,"currency":"USD"}"#));
        assert!(benefits[1].contains(r#""code":"copay-percent"}]},"allowedUnsignedInt":15"#));
        assert!(benefits[2]
            .contains(r#""allowedMoney":{"value":1500,"currency":"USD"},"usedMoney":{"value":600,"#));
        assert_eq!(summary_of(&resource), summary);
        assert_eq!(valid(&resource), Vec::<String>::new());
    }

    #[test]
    fn a_rejection_is_kept_as_an_error_and_read_back() {
        let rejected = BenefitSummary {
            rejections: vec!["72".into()],
            ..BenefitSummary::default()
        };
        let resource = response_resource(&rejected, &context());
        assert_eq!(valid(&resource), Vec::<String>::new());
        assert_eq!(resource["outcome"], "error");
        assert_eq!(resource["error"][0]["code"]["coding"][0]["code"], "72");
        assert!(resource["insurance"][0].get("inforce").is_none());
        assert!(resource["insurance"][0].get("item").is_none());
        assert_eq!(summary_of(&resource), rejected);
        let fractional = BenefitSummary {
            active: Some(false),
            coinsurance: Some(Decimal::new(125, 3)),
            ..BenefitSummary::default()
        };
        let resource = response_resource(&fractional, &context());
        assert_eq!(
            resource["insurance"][0]["item"][0]["benefit"][0]["allowedString"],
            "12.5%"
        );
        assert_eq!(summary_of(&resource), fractional);
    }
}
