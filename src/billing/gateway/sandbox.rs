//! The sandbox clearinghouse: an in-process [`BillingGateway`] for tests and
//! demonstrations that speaks real X12. It reads each 270 with our reader and
//! answers with a 271 written for it; it checks an 837P's envelope with our reader
//! before issuing a receipt; it decides prior authorizations. Nothing leaves the
//! process, and every answer follows from the request, so tests can predict it.
//!
//! Benefits follow from the member id (NM109 of the subscriber): with `n` the sum of
//! its bytes, the plan is BRONZE, SILVER or GOLD PPO (`n % 3`), the office copay
//! $10 + $5 × (`n % 7`), the calendar-year deductible $500 × (1 + `n % 6`) of which
//! $50 × (`n % 11`) is met, and coinsurance 20 %. Member `M123` (n = 227) has GOLD
//! PPO, a $25 copay and $2,650 left of a $3,000 deductible.
//!
//! A member id's prefix (any case) picks another outcome, so a test chooses one by
//! choosing the Coverage's member id:
//!
//! | Prefix | Every operation | Eligibility | Prior authorization |
//! |---|---|---|---|
//! | `DOWN` | transient error | | |
//! | `SILENT` | ambiguous error | | |
//! | `REFUSE` | final error | | |
//! | `INACTIVE` | | coverage inactive (EB*6) | |
//! | `UNKNOWN` | | subscriber not found (AAA 75) | |
//! | `DENY` | | | denied |
//! | `PEND` | | | pended; approved for 90 days from that day when next asked about |

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Duration, NaiveDate, Utc};
use futures_util::future::{BoxFuture, FutureExt};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::billing::from_fhir::date_of;
use crate::billing::gateway::{
    BillingGateway, GatewayError, PriorAuthDecision, PriorAuthOutcome, PriorAuthTracking, SubmissionReceipt,
};
use crate::fhir::pointer::Pointer;
use crate::x12::eligibility_inquiry::{InquiredMember, ReceivedInquiry};
use crate::x12::eligibility_response::{Benefit, EligibilityAnswer, MemberAnswer, Rejection, TimePeriod};
use crate::x12::{check_envelope, read_270, write_271, ControlNumbers, EnvelopeConfig, Segments};

/// The holder of the prior authorizations the sandbox pends.
pub const SANDBOX: &str = "sandbox";

/// How long an approval lasts.
const AUTHORIZATION_DAYS: i64 = 90;

pub struct SandboxClearinghouse {
    /// Its side of the interchanges: ours with sender and receiver swapped.
    envelope: EnvelopeConfig,
    /// ISA13/GS06 of the 271s it writes.
    control_numbers: AtomicU32,
}

impl SandboxClearinghouse {
    /// A clearinghouse answering the party `ours` describes.
    pub fn new(ours: &EnvelopeConfig) -> Self {
        SandboxClearinghouse {
            envelope: EnvelopeConfig {
                sender: ours.receiver.clone(),
                receiver: ours.sender.clone(),
                application_sender: ours.application_receiver.clone(),
                application_receiver: ours.application_sender.clone(),
                usage: ours.usage,
                acknowledgment_requested: false,
            },
            control_numbers: AtomicU32::new(1),
        }
    }

    fn answer_270(&self, text: &str) -> Result<String, GatewayError> {
        let inquiries =
            read_270(text).map_err(|e| GatewayError::Final(format!("the 270 does not read: {e}")))?;
        if inquiries.is_empty() {
            return Err(GatewayError::Final("the interchange holds no 270".into()));
        }
        for (_, member_id) in inquiries.iter().flat_map(asked_under) {
            fail_as_asked(&Scenario::of(member_id))?;
        }
        let answers: Vec<EligibilityAnswer<'_>> = inquiries.iter().map(answer).collect();
        let number = self.control_numbers.fetch_add(1, Ordering::Relaxed);
        let control = ControlNumbers {
            interchange: number,
            group: number,
        };
        write_271(&answers, &self.envelope, control, Utc::now().naive_utc())
            .map_err(|e| GatewayError::Final(format!("the 271 cannot be written: {e}")))
    }
}

impl BillingGateway for SandboxClearinghouse {
    fn name(&self) -> &'static str {
        "sandbox clearinghouse"
    }

    fn submit_claims<'a>(
        &'a self,
        interchange: &'a str,
    ) -> BoxFuture<'a, Result<SubmissionReceipt, GatewayError>> {
        async move { receive_837p(interchange) }.boxed()
    }

    fn check_eligibility<'a>(&'a self, inquiry_270: &'a str) -> BoxFuture<'a, Result<String, GatewayError>> {
        async move { self.answer_270(inquiry_270) }.boxed()
    }

    fn submit_prior_auth<'a>(
        &'a self,
        request: &'a Value,
    ) -> BoxFuture<'a, Result<PriorAuthDecision, GatewayError>> {
        async move { decide_prior_auth(request) }.boxed()
    }

    fn prior_auth_status<'a>(
        &'a self,
        tracking: &'a PriorAuthTracking,
    ) -> BoxFuture<'a, Result<PriorAuthDecision, GatewayError>> {
        async move { review_decided(tracking) }.boxed()
    }
}

/// What the sandbox does for one member id.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scenario {
    Normal,
    Unavailable,
    Silent,
    Refused,
    Inactive,
    Unknown,
    Denied,
    Pended,
}

impl Scenario {
    fn of(member_id: &str) -> Scenario {
        let id = member_id.to_ascii_uppercase();
        let prefixes = [
            ("DOWN", Scenario::Unavailable),
            ("SILENT", Scenario::Silent),
            ("REFUSE", Scenario::Refused),
            ("INACTIVE", Scenario::Inactive),
            ("UNKNOWN", Scenario::Unknown),
            ("DENY", Scenario::Denied),
            ("PEND", Scenario::Pended),
        ];
        prefixes
            .into_iter()
            .find(|(prefix, _)| id.starts_with(prefix))
            .map_or(Scenario::Normal, |(_, scenario)| scenario)
    }
}

/// The transport failures a member id asks for.
fn fail_as_asked(scenario: &Scenario) -> Result<(), GatewayError> {
    match scenario {
        Scenario::Unavailable => Err(GatewayError::Transient(
            "the sandbox clearinghouse is down".into(),
        )),
        Scenario::Silent => Err(GatewayError::Ambiguous(
            "the sandbox clearinghouse timed out".into(),
        )),
        Scenario::Refused => Err(GatewayError::Final(
            "the sandbox clearinghouse refused the member".into(),
        )),
        _ => Ok(()),
    }
}

/// Each member of the inquiry with the member id it is asked about under: a
/// dependent's is its subscriber's.
fn asked_under(inquiry: &ReceivedInquiry) -> Vec<(&InquiredMember, &str)> {
    let mut subscriber_id = "";
    inquiry
        .members
        .iter()
        .map(|member| {
            if member.level == "22" {
                subscriber_id = member.member_id().unwrap_or_default();
            }
            (member, subscriber_id)
        })
        .collect()
}

/// Benefits go to the member the question is about: a subscriber's dependent when
/// one is named, else the subscriber.
fn answer(inquiry: &ReceivedInquiry) -> EligibilityAnswer<'_> {
    let asked = asked_under(inquiry);
    let members = asked
        .iter()
        .enumerate()
        .map(|(index, &(member, member_id))| {
            let dependent_follows = asked.get(index + 1).is_some_and(|(next, _)| next.level == "23");
            let (benefits, rejections) = if dependent_follows {
                (Vec::new(), Vec::new())
            } else {
                benefits_for(member_id, member)
            };
            MemberAnswer {
                member,
                benefits,
                rejections,
            }
        })
        .collect();
    EligibilityAnswer { inquiry, members }
}

/// The plan terms a member id stands for (see the module documentation).
struct Terms {
    plan: &'static str,
    copay: Decimal,
    deductible: Decimal,
    met: Decimal,
}

impl Terms {
    fn of(member_id: &str) -> Terms {
        let n: u32 = member_id.bytes().map(u32::from).sum();
        Terms {
            plan: ["BRONZE PPO", "SILVER PPO", "GOLD PPO"][(n % 3) as usize],
            copay: Decimal::from(10 + 5 * (n % 7)),
            deductible: Decimal::from(500 * (1 + n % 6)),
            met: Decimal::from(50 * (n % 11)),
        }
    }
}

fn benefits_for(member_id: &str, member: &InquiredMember) -> (Vec<Benefit>, Vec<Rejection>) {
    let scenario = Scenario::of(member_id);
    if scenario == Scenario::Unknown {
        let not_found = Rejection {
            valid_request: true,
            reason: "75".into(),
            follow_up: Some("C".into()),
        };
        return (Vec::new(), vec![not_found]);
    }
    let plan_coverage = vec!["30".to_owned()];
    if scenario == Scenario::Inactive {
        let inactive = Benefit {
            code: "6".into(),
            coverage_level: Some("IND".into()),
            service_types: plan_coverage,
            ..Benefit::default()
        };
        return (vec![inactive], Vec::new());
    }
    let terms = Terms::of(member_id);
    let asked = if member.service_types.is_empty() {
        plan_coverage.clone()
    } else {
        member.service_types.clone()
    };
    let in_network = |code: &str, service_types: &[String]| Benefit {
        code: code.into(),
        coverage_level: Some("IND".into()),
        service_types: service_types.to_vec(),
        insurance_type: Some("PR".into()),
        in_network: Some(true),
        ..Benefit::default()
    };
    let benefits = vec![
        Benefit {
            plan_description: Some(terms.plan.into()),
            in_network: None,
            ..in_network("1", &plan_coverage)
        },
        Benefit {
            time_period: Some(TimePeriod::Visit),
            amount: Some(terms.copay),
            ..in_network("B", &asked)
        },
        Benefit {
            time_period: Some(TimePeriod::CalendarYear),
            amount: Some(terms.deductible),
            ..in_network("C", &plan_coverage)
        },
        Benefit {
            time_period: Some(TimePeriod::Remaining),
            amount: Some(terms.deductible - terms.met),
            ..in_network("C", &plan_coverage)
        },
        Benefit {
            percent: Some(Decimal::new(2, 1)),
            messages: vec!["AFTER DEDUCTIBLE".into()],
            ..in_network("A", &asked)
        },
    ];
    (benefits, Vec::new())
}

/// Takes an 837P whose envelope counts and control numbers are sound.
fn receive_837p(interchange: &str) -> Result<SubmissionReceipt, GatewayError> {
    let refuse = |why: String| GatewayError::Final(format!("the 837P was refused: {why}"));
    let summary = check_envelope(interchange).map_err(|e| refuse(e.to_string()))?;
    let group = summary
        .groups
        .iter()
        .find(|group| group.functional_id != "HC" || !group.version.starts_with("005010X222"));
    if let Some(group) = group {
        return Err(refuse(format!(
            "group {} is {} {}, not HC 005010X222 claims",
            group.control_number, group.functional_id, group.version
        )));
    }
    let mut claims = 0;
    for segment in Segments::new(interchange).map_err(|e| refuse(e.to_string()))? {
        let segment = segment.map_err(|e| refuse(e.to_string()))?;
        match segment.id {
            "CLM" => claims += 1,
            "NM1" if segment.value(1) == "IL" => fail_as_asked(&Scenario::of(segment.value(9)))?,
            _ => {}
        }
    }
    if claims == 0 {
        return Err(refuse("it holds no claims".into()));
    }
    Ok(SubmissionReceipt {
        receipt_id: format!("SBX-{:016X}", xxhash_rust::xxh3::xxh3_64(interchange.as_bytes())),
        interchange_control_number: summary.control_number,
        claims,
        received_at: Utc::now(),
    })
}

/// Decides a prior authorization from the Claim and the member's Coverage.
fn decide_prior_auth(request: &Value) -> Result<PriorAuthDecision, GatewayError> {
    let refuse =
        |why: &str| GatewayError::Final(format!("the prior authorization request was refused: {why}"));
    let resources: Vec<&Value> = request
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get("resource"))
        .collect();
    let of_type = |name: &str| resources.iter().copied().find(|r| r["resourceType"] == name);
    let claim = of_type("Claim").ok_or_else(|| refuse("the Bundle holds no Claim"))?;
    if claim["use"] != "preauthorization" {
        return Err(refuse("the Claim's use is not preauthorization"));
    }
    let member_id = of_type("Coverage")
        .and_then(|coverage| coverage["subscriberId"].as_str())
        .ok_or_else(|| refuse("the Bundle holds no Coverage with a subscriberId"))?;
    let scenario = Scenario::of(member_id);
    fail_as_asked(&scenario)?;
    let decision = |outcome, note: &str| PriorAuthDecision {
        outcome,
        reference: None,
        period: None,
        note: note.into(),
        tracking: None,
    };
    match scenario {
        Scenario::Denied => Ok(decision(
            PriorAuthOutcome::Denied,
            "not medically necessary as submitted",
        )),
        Scenario::Pended => Ok(PriorAuthDecision {
            tracking: Some(PriorAuthTracking {
                holder: SANDBOX.into(),
                id: format!(
                    "SBX-PR-{:016X}",
                    xxhash_rust::xxh3::xxh3_64(claim.to_string().as_bytes())
                ),
            }),
            ..decision(
                PriorAuthOutcome::Pended,
                "clinical review required; a decision follows",
            )
        }),
        _ => {
            let services = requested_services(claim);
            let start = services
                .iter()
                .filter_map(|(_, date)| *date)
                .min()
                .or_else(|| claim["created"].as_str().and_then(date_of))
                .ok_or_else(|| refuse("the Claim has no date"))?;
            let key = format!("{member_id}|{services:?}");
            Ok(PriorAuthDecision {
                reference: Some(format!(
                    "SBX-PA-{:08X}",
                    xxhash_rust::xxh3::xxh3_64(key.as_bytes()) as u32
                )),
                period: Some((start, start + Duration::days(AUTHORIZATION_DAYS - 1))),
                ..decision(PriorAuthOutcome::Approved, "approved as requested")
            })
        }
    }
}

/// The sandbox's reviewer has approved every pended request by the time it is
/// asked about.
fn review_decided(tracking: &PriorAuthTracking) -> Result<PriorAuthDecision, GatewayError> {
    if tracking.holder != SANDBOX || !tracking.id.starts_with("SBX-PR-") {
        return Err(GatewayError::Final(format!(
            "the sandbox holds no prior authorization {}",
            tracking.id
        )));
    }
    let today = Utc::now().date_naive();
    Ok(PriorAuthDecision {
        outcome: PriorAuthOutcome::Approved,
        reference: Some(tracking.id.replacen("SBX-PR-", "SBX-PA-", 1)),
        period: Some((today, today + Duration::days(AUTHORIZATION_DAYS - 1))),
        note: "approved after clinical review".into(),
        tracking: None,
    })
}

/// Each item's code and date of service.
fn requested_services(claim: &Value) -> Vec<(String, Option<NaiveDate>)> {
    claim["item"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let code = item.at("/productOrService/coding/0/code").and_then(Value::as_str);
            let date = item["servicedDate"].as_str().and_then(date_of);
            (code.unwrap_or_default().to_owned(), date)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::eligibility_inquiry::{write_270, EligibilityConfig, EligibilityInquiry};
    use crate::x12::eligibility_response::{read_271, BenefitKind, CoverageStatus};
    use crate::x12::test_fixtures::fixture;
    use crate::x12::writer::tests::{created, envelope_config};
    use serde_json::json;

    fn sandbox() -> SandboxClearinghouse {
        SandboxClearinghouse::new(&envelope_config())
    }

    fn inquiry_for(member_id: &str) -> String {
        let inquiry = EligibilityInquiry {
            reference: "REQ-1".into(),
            payer: crate::billing::claim::Payer {
                payer_id: "ACME01".into(),
                name: "ACME HEALTH".into(),
                organization_id: None,
            },
            provider: crate::billing::claim::Provider {
                npi: Some("1234567893".into()),
                name: "GOOD CLINIC".into(),
                ..Default::default()
            },
            subscriber: crate::billing::claim::Person {
                family: "DOE".into(),
                given: vec!["JANE".into()],
                ..Default::default()
            },
            dependent: None,
            member_id: member_id.into(),
            service_date: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            service_types: vec!["98".into()],
        };
        let config = EligibilityConfig {
            envelope: envelope_config(),
            trace_originator: "1123456789".into(),
        };
        let control = ControlNumbers {
            interchange: 5,
            group: 5,
        };
        write_270(&[inquiry], &config, control, created()).unwrap()
    }

    #[test]
    fn a_member_gets_the_terms_its_id_stands_for() {
        let text = sandbox().answer_270(&inquiry_for("M123")).unwrap();
        let summary = check_envelope(&text).unwrap();
        assert!(text.starts_with("ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*CLAIMBRIDGE    *"));
        assert_eq!(summary.groups[0].functional_id, "HB");
        let response = read_271(&text).unwrap().remove(0);
        let member = &response.members[0];
        assert_eq!(member.trace_numbers, ["REQ-1"]);
        assert_eq!(member.coverage(), CoverageStatus::Active);
        assert_eq!(member.plan_description(), Some("GOLD PPO"));
        let copay = member.benefits_of(BenefitKind::Copayment).next().unwrap();
        assert_eq!(
            (copay.amount, copay.service_types.as_slice()),
            (Some(Decimal::from(25)), &["98".to_owned()][..])
        );
        let deductibles: Vec<Option<Decimal>> = member
            .benefits_of(BenefitKind::Deductible)
            .map(|b| b.amount)
            .collect();
        assert_eq!(
            deductibles,
            [Some(Decimal::from(3000)), Some(Decimal::from(2650))]
        );
    }

    #[test]
    fn prefixes_choose_inactive_unknown_and_failures() {
        let clearinghouse = sandbox();
        let inactive = read_271(&clearinghouse.answer_270(&inquiry_for("inactive-7")).unwrap()).unwrap();
        assert_eq!(inactive[0].members[0].coverage(), CoverageStatus::Inactive);
        let unknown = read_271(&clearinghouse.answer_270(&inquiry_for("UNKNOWN1")).unwrap()).unwrap();
        assert_eq!(unknown[0].members[0].rejections[0].reason, "75");
        assert!(matches!(
            clearinghouse.answer_270(&inquiry_for("DOWN1")),
            Err(GatewayError::Transient(_))
        ));
        assert!(matches!(
            clearinghouse.answer_270(&inquiry_for("SILENT1")),
            Err(GatewayError::Ambiguous(_))
        ));
        assert!(matches!(
            clearinghouse.answer_270(&inquiry_for("REFUSE1")),
            Err(GatewayError::Final(_))
        ));
        assert!(matches!(
            clearinghouse.answer_270("not x12"),
            Err(GatewayError::Final(_))
        ));
    }

    #[test]
    fn a_dependent_inquiry_puts_benefits_on_the_dependent() {
        let text = sandbox()
            .answer_270(&fixture("270_005010X279A1__dependent-health-benefit-check.270"))
            .unwrap();
        let response = read_271(&text).unwrap().remove(0);
        assert_eq!(response.members[0].benefits, []);
        assert_eq!(response.members[1].coverage(), CoverageStatus::Active);
        assert_eq!(response.members[1].trace_numbers, ["93175-012547"]);
    }

    #[test]
    fn an_837p_with_a_sound_envelope_gets_a_receipt() {
        let sample = fixture("837_005010X222A2__demo.example1.837");
        let receipt = receive_837p(&sample).unwrap();
        assert_eq!(receipt.claims, sample.matches("CLM*").count());
        assert!(receipt.receipt_id.starts_with("SBX-"));
        assert_eq!(
            receipt_of(&sample),
            receipt.receipt_id,
            "the same file, the same receipt"
        );
        let broken = sample.replacen("SE*", "SE*9", 1);
        assert!(matches!(receive_837p(&broken), Err(GatewayError::Final(_))));
        let remittance = fixture("835_005010X221A1__managed-care.835");
        assert!(matches!(receive_837p(&remittance), Err(GatewayError::Final(m)) if m.contains("not HC")));
    }

    fn receipt_of(text: &str) -> String {
        receive_837p(text).unwrap().receipt_id
    }

    fn prior_auth(member_id: &str) -> Value {
        json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Claim", "use": "preauthorization", "created": "2026-11-20",
                          "item": [{"sequence": 1, "productOrService": {"coding": [{"code": "97110"}]},
                                    "servicedDate": "2026-12-01"}]}},
            {"resource": {"resourceType": "Coverage", "subscriberId": member_id}}
        ]})
    }

    #[test]
    fn prior_auth_is_decided_by_the_member_id() {
        let approved = decide_prior_auth(&prior_auth("M123")).unwrap();
        assert_eq!(approved.outcome, PriorAuthOutcome::Approved);
        let start = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(
            approved.period,
            Some((start, NaiveDate::from_ymd_opt(2027, 2, 28).unwrap()))
        );
        assert_eq!(
            approved.reference,
            decide_prior_auth(&prior_auth("M123")).unwrap().reference
        );
        assert_ne!(
            approved.reference,
            decide_prior_auth(&prior_auth("M124")).unwrap().reference
        );
        let denied = decide_prior_auth(&prior_auth("deny-1")).unwrap();
        assert_eq!(
            (denied.outcome, denied.reference),
            (PriorAuthOutcome::Denied, None)
        );
        let pended = decide_prior_auth(&prior_auth("PEND1")).unwrap();
        assert_eq!(pended.outcome, PriorAuthOutcome::Pended);
        let tracking = pended.tracking.expect("a pended request can be asked about");
        let later = review_decided(&tracking).unwrap();
        assert_eq!(later.outcome, PriorAuthOutcome::Approved);
        assert!(later.reference.unwrap().starts_with("SBX-PA-"));
        let elsewhere = PriorAuthTracking {
            holder: "integration-1".into(),
            ..tracking
        };
        assert!(matches!(review_decided(&elsewhere), Err(GatewayError::Final(_))));
        assert!(matches!(
            decide_prior_auth(&prior_auth("DOWN")),
            Err(GatewayError::Transient(_))
        ));
        let mut claim_only = prior_auth("M123");
        claim_only["entry"].as_array_mut().unwrap().pop();
        assert!(matches!(
            decide_prior_auth(&claim_only),
            Err(GatewayError::Final(_))
        ));
    }
}
