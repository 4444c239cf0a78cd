//! The FHIR ClaimResponse that records a payer's answer for one claim: the claim's
//! and each line's submitted, eligible and paid amounts, and the reason and remark
//! codes (CARC/RARC) the payer gave. The money itself is in the ledger; this is
//! what FHIR clients read.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::billing::remittance::money::json_amount;
use crate::billing::remittance::verdict::{disposition, Verdict};
use crate::fhir::pointer::Pointer;
use crate::x12::remittance::{Adjustment, ClaimPayment, Remittance, ServicePayment};

pub const CARC_SYSTEM: &str = "https://x12.org/codes/claim-adjustment-reason-codes";
pub const RARC_SYSTEM: &str = "https://x12.org/codes/remittance-advice-remark-codes";
const ADJUDICATION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/adjudication";
const CLAIM_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/claim-type";
const PAYMENT_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/ex-paymenttype";

/// What a ClaimResponse is made from.
pub struct Answer<'a> {
    pub claim_id: &'a str,
    /// The stored FHIR Claim.
    pub claim: &'a Value,
    /// Who paid: the Claim's insurer, its Coverage's payor, or the 835's payer.
    pub insurer: Value,
    pub remittance: &'a Remittance,
    pub payment: &'a ClaimPayment,
    pub verdict: Verdict,
    pub created: DateTime<Utc>,
}

pub fn claim_response(answer: &Answer<'_>) -> Value {
    let payment = answer.payment;
    let mut response = json!({
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": {"coding": [{"system": CLAIM_TYPE_SYSTEM, "code": "professional"}]},
        "use": "claim",
        "patient": answer.claim["patient"],
        "created": crate::fhir::instant(answer.created),
        "insurer": answer.insurer,
        "request": {"reference": format!("Claim/{}", answer.claim_id)},
        "outcome": answer.verdict.outcome(),
        "disposition": disposition(&payment.status),
    });
    let fields = response
        .as_object_mut()
        .expect("a ClaimResponse is a JSON object");
    if let Some(provider) = answer.claim.get("provider") {
        fields.insert("requestor".into(), provider.clone());
    }
    if let Some(icn) = &payment.payer_claim_control_number {
        fields.insert(
            "identifier".into(),
            json!([{"type": {"text": "payer claim control number"}, "value": icn}]),
        );
    }
    let items = item_sequences(answer.claim, &payment.lines)
        .into_iter()
        .zip(&payment.lines)
        .map(|(sequence, line)| json!({"itemSequence": sequence, "adjudication": line_adjudication(line)}))
        .collect::<Vec<_>>();
    if !items.is_empty() {
        fields.insert("item".into(), Value::Array(items));
    }
    if let Some(reason) = reasons(&payment.adjustments, &[]) {
        let mut benefit = adjudication("benefit", json_amount(payment.paid));
        benefit["reason"] = reason;
        fields.insert("adjudication".into(), json!([benefit]));
    }
    fields.insert(
        "total".into(),
        json!([
            {"category": category("submitted"), "amount": money(json_amount(payment.charge))},
            {"category": category("benefit"), "amount": money(json_amount(payment.paid))},
        ]),
    );
    fields.insert("payment".into(), payment_json(answer));
    response
}

fn payment_json(answer: &Answer<'_>) -> Value {
    let mut payment = json!({
        "type": {"coding": [{"system": PAYMENT_TYPE_SYSTEM, "code": "complete"}]},
        "amount": money(json_amount(answer.payment.paid)),
        "identifier": {"value": answer.remittance.trace.number},
    });
    if let Some(date) = answer.remittance.payment.date {
        payment["date"] = json!(date.to_string());
    }
    payment
}

/// `Claim.item.sequence` of each service line: the first unclaimed item billed with
/// the line's procedure (as submitted, when the payer changed it), else the item at
/// the line's position. Our 837P sends no line item control numbers (REF*6R), so
/// the procedure is what ties a line back.
fn item_sequences(claim: &Value, lines: &[ServicePayment]) -> Vec<u64> {
    let items: Vec<(u64, Option<&str>)> = claim["item"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    let code = item.at("/productOrService/coding/0/code").and_then(Value::as_str);
                    Some((item["sequence"].as_u64()?, code))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut taken = vec![false; items.len()];
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let code = line
                .submitted_procedure
                .as_ref()
                .unwrap_or(&line.procedure)
                .code
                .as_str();
            let by_code = items
                .iter()
                .enumerate()
                .position(|(i, (_, item_code))| !taken[i] && *item_code == Some(code));
            match by_code.or_else(|| (index < items.len() && !taken[index]).then_some(index)) {
                Some(found) => {
                    taken[found] = true;
                    items[found].0
                }
                None => index as u64 + 1,
            }
        })
        .collect()
}

fn line_adjudication(line: &ServicePayment) -> Vec<Value> {
    let mut entries = vec![adjudication("submitted", json_amount(line.charge))];
    if let Some(allowed) = line.allowed {
        entries.push(adjudication("eligible", json_amount(allowed)));
    }
    let mut benefit = adjudication("benefit", json_amount(line.paid));
    if let Some(reason) = reasons(&line.adjustments, &line.remark_codes) {
        benefit["reason"] = reason;
    }
    entries.push(benefit);
    entries
}

/// The CARCs of `adjustments` and the RARCs `remarks`, as one CodeableConcept.
fn reasons(adjustments: &[Adjustment], remarks: &[String]) -> Option<Value> {
    let carcs = adjustments
        .iter()
        .map(|a| json!({"system": CARC_SYSTEM, "code": a.reason}));
    let rarcs = remarks
        .iter()
        .map(|code| json!({"system": RARC_SYSTEM, "code": code}));
    let codings: Vec<Value> = carcs.chain(rarcs).collect();
    (!codings.is_empty()).then(|| json!({"coding": codings}))
}

fn adjudication(code: &str, amount: Value) -> Value {
    json!({"category": category(code), "amount": money(amount)})
}

fn category(code: &str) -> Value {
    json!({"coding": [{"system": ADJUDICATION_SYSTEM, "code": code}]})
}

fn money(amount: Value) -> Value {
    json!({"value": amount, "currency": "USD"})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::read_835;

    fn answer_for(fixture: &str, claim: &Value, test: impl FnOnce(&Value, &Remittance)) {
        let text = crate::x12::test_fixtures::fixture(fixture);
        let remittance = read_835(&text).unwrap().remove(0);
        let payment = remittance.claims().last().unwrap();
        let response = claim_response(&Answer {
            claim_id: "c1",
            claim,
            insurer: json!({"reference": "Organization/payer"}),
            remittance: &remittance,
            payment,
            verdict: crate::billing::remittance::verdict::verdict(payment),
            created: Utc::now(),
        });
        test(&response, &remittance);
    }

    fn stored_claim() -> Value {
        json!({
            "resourceType": "Claim",
            "patient": {"reference": "Patient/p1"},
            "provider": {"reference": "Organization/clinic"},
            "item": [
                {"sequence": 1, "productOrService": {"coding": [{"code": "66543"}]}},
                {"sequence": 2, "productOrService": {"coding": [{"code": "12345"}]}}
            ]
        })
    }

    #[test]
    fn lines_carry_their_amounts_and_reason_codes() {
        answer_for(
            "835_005010X221A1__secondary-payment.835",
            &stored_claim(),
            |response, _| {
                assert_eq!(response["request"]["reference"], "Claim/c1");
                assert_eq!(response["patient"]["reference"], "Patient/p1");
                assert_eq!(response["requestor"]["reference"], "Organization/clinic");
                assert_eq!(response["outcome"], "partial");
                assert_eq!(response["payment"]["amount"]["value"].to_string(), "310.00");
                assert_eq!(response["total"][0]["amount"]["value"].to_string(), "751.50");
                // Lines find their items by procedure, whatever the order.
                assert_eq!(response["item"][0]["itemSequence"], 2);
                assert_eq!(response["item"][1]["itemSequence"], 1);
                let second = &response["item"][1]["adjudication"];
                let categories: Vec<&str> = second
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["category"]["coding"][0]["code"].as_str().unwrap())
                    .collect();
                assert_eq!(categories, ["submitted", "eligible", "benefit"]);
                assert_eq!(second[1]["amount"]["value"].to_string(), "500.00");
                let reasons: Vec<(&str, &str)> = second[2]["reason"]["coding"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| (c["system"].as_str().unwrap(), c["code"].as_str().unwrap()))
                    .collect();
                assert_eq!(
                    reasons,
                    [(CARC_SYSTEM, "1"), (CARC_SYSTEM, "2"), (CARC_SYSTEM, "42")]
                );
                assert_eq!(response["identifier"][0]["value"], "05630626430");
            },
        );
    }

    #[test]
    fn the_response_is_a_valid_r4_claim_response() {
        answer_for(
            "835_005010X221A1__managed-care.835",
            &stored_claim(),
            |response, remittance| {
                assert_eq!(
                    response["payment"]["identifier"]["value"],
                    remittance.trace.number.as_str()
                );
                assert_eq!(response["adjudication"][0]["reason"]["coding"][0]["code"], "A2");
                let issues = crate::fhir::validation::validate_resource(
                    crate::fhir::resource_type::ResourceType::ClaimResponse,
                    response,
                );
                assert!(issues.is_empty(), "{issues:?}");
            },
        );
    }
}
