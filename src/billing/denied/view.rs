//! A recorded denial as the API shows it, with what the knowledge base says about
//! its code today (the prose is not stored: improving the data improves old
//! denials' explanations too).

use serde_json::{json, Value};

use crate::billing::denials::{self, parse_denial_code, Denial, Rarc};
use crate::billing::remittance::money::{from_cents, json_amount};
use crate::store::denials::DenialRecord;

pub fn denial_json(record: &DenialRecord) -> Value {
    let new = &record.new;
    let parse_json = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let rarcs: Vec<&str> = new.rarcs.split_whitespace().collect();
    let mut body = json!({
        "id": record.id,
        "claimId": new.claim_id,
        "remittanceId": new.remittance_id,
        "denialCode": new.code,
        "rarc": rarcs,
        "reasons": parse_json(&new.reasons),
        "amount": json_amount(from_cents(new.amount_cents)),
        "category": new.category,
        "playbook": new.playbook_id,
        "action": new.action,
        "assignee": new.assignee,
        "instructions": parse_json(&new.instructions),
        "attempt": new.attempt,
        "status": new.status,
        "createdAt": crate::fhir::instant(new.created_at),
        "resolution": record.resolution.as_deref().map(parse_json),
    });
    if let Some(denial) = as_denial(record) {
        let analysis = denials::analyze(&denial);
        body["reasonDescription"] = json!(analysis.reason_description);
        body["appealLikelihood"] = json!(analysis.appeal_likelihood.map(|likelihood| likelihood.as_str()));
    }
    body
}

/// The stored codes as a denial to analyse (they were parsed before storing, so
/// this fails only for rows written by something else).
pub fn as_denial(record: &DenialRecord) -> Option<Denial> {
    let new = &record.new;
    let (group, carc) = parse_denial_code(&new.code).ok()?;
    Some(Denial {
        group,
        carc,
        rarcs: new
            .rarcs
            .split_whitespace()
            .filter_map(|code| Rarc::parse(code).ok())
            .collect(),
        payer_id: None,
        amount: Some(from_cents(new.amount_cents)),
        text: None,
    })
}
