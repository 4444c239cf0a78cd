//! The simulator's payer directory: a handful of payers with Claim.MD's field
//! names and capability flags, filtered as `/services/payerlist/` filters (an exact
//! `payerid`, or part of `payer_name`, `%` and `*` as wildcards).

use serde_json::{json, Value};

/// (payerid, payer_name, 1500_claims, eligibility, era)
const DIRECTORY: &[(&str, &str, &str, &str, &str)] = &[
    ("87726", "UnitedHealthcare", "yes", "yes", "yes"),
    ("60054", "Aetna", "yes", "yes", "enrollment"),
    ("62308", "Cigna", "yes", "yes", "enrollment"),
    ("SIMWC", "Simulated Workers Comp Carrier", "yes", "no", "no"),
];

pub(crate) fn list(payer_id: Option<&str>, name: Option<&str>) -> Value {
    let name = name.map(|name| name.replace(['%', '*'], "").to_lowercase());
    let payers: Vec<Value> = DIRECTORY
        .iter()
        .filter(|(id, ..)| payer_id.is_none_or(|wanted| wanted.eq_ignore_ascii_case(id)))
        .filter(|(_, payer_name, ..)| {
            name.as_deref()
                .is_none_or(|part| payer_name.to_lowercase().contains(part))
        })
        .map(|(id, payer_name, claims, eligibility, era)| {
            json!({
                "payerid": id,
                "payer_name": payer_name,
                "payer_type": "commercial",
                "payer_state": "",
                "1500_claims": claims,
                "ub_claims": claims,
                "dent_claims": "no",
                "eligibility": eligibility,
                "era": era,
                "attachment": "no",
                "workers_comp": if id.starts_with("SIM") { "yes" } else { "no" },
                "secondary_support": "yes",
                "payer_alt_names": [],
            })
        })
        .collect();
    json!({ "payer": payers })
}
