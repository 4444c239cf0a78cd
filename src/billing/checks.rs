//! Scrubbing a stored or submitted FHIR Claim: the Claim and what it references are
//! read, earlier claims of the same patient are loaded for the duplicate check, and
//! the rule set is applied.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::Value;

use crate::billing::claim::BillingClaim;
use crate::billing::from_fhir;
use crate::billing::scrub::{self, BilledService, DuplicateCheck, RuleSet, ScrubContext, ScrubReport};
use crate::fhir::outcome::FhirError;
use crate::fhir::pointer::Pointer;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::store::Session;

/// The most earlier claims of one patient loaded for the duplicate check.
const EARLIER_CLAIMS: usize = 1_000;

/// Scrubs `claim` (the body of Claim `claim_id`), returning the claim as billing
/// reads it and what the rules found.
pub async fn scrub_claim(
    fhir: &ResourceService,
    session: &mut Session,
    rules: &RuleSet,
    claim_id: &str,
    claim: &Value,
) -> Result<(BillingClaim, ScrubReport), FhirError> {
    let billed = from_fhir::read_claim_body(fhir, session, claim_id, claim).await?;
    let earlier = EarlierServices::load(fhir, session, &billed, claim).await?;
    let context = ScrubContext {
        today: rules.today(),
        duplicates: &earlier,
    };
    let report = scrub::scrub(&billed, rules, &context);
    Ok((billed, report))
}

/// Services billed on the patient's other live claims from the same provider
/// resource (same provider, hence same NPI), by date of service and code.
struct EarlierServices {
    /// (date of service, code) → the claim that billed it.
    services: HashMap<(NaiveDate, String), String>,
}

impl EarlierServices {
    async fn load(
        fhir: &ResourceService,
        session: &mut Session,
        billed: &BillingClaim,
        claim: &Value,
    ) -> Result<Self, FhirError> {
        let mut earlier = EarlierServices {
            services: HashMap::new(),
        };
        let provider = claim.at("/provider/reference").and_then(Value::as_str);
        let Some(provider) = provider.filter(|_| !billed.patient_id.is_empty()) else {
            return Ok(earlier);
        };
        let query = billing_claims_of(&format!("Patient/{}", billed.patient_id));
        // Inside a transaction that stores the claim, claims of one patient take
        // turns from here to commit: a second one sees the first and its services.
        session.lock_before_next_search(&claim_lock_key(&billed.patient_id));
        let ids = crate::fhir::conditional::all_matching_ids(
            session,
            ResourceType::Claim,
            &query,
            fhir.base_url(),
            EARLIER_CLAIMS,
        )
        .await?;
        for id in ids.into_iter().filter(|id| *id != billed.claim_id) {
            let version = fhir.read(session, ResourceType::Claim, &id).await?;
            let other: Value =
                serde_json::from_str(&version.body).map_err(|e| FhirError::Internal(e.to_string()))?;
            if !is_live(&other) || other.at("/provider/reference").and_then(Value::as_str) != Some(provider) {
                continue;
            }
            for service in billed_services(&other) {
                earlier.services.insert(service, id.clone());
            }
        }
        Ok(earlier)
    }
}

impl DuplicateCheck for EarlierServices {
    fn earlier_claim(&self, service: &BilledService<'_>) -> Option<String> {
        self.services
            .get(&(service.service_date, service.code.to_owned()))
            .cloned()
    }
}

/// The search for the Claims that bill services to `patients` (references, comma
/// separated): prior authorizations and predeterminations ask about services, they
/// do not bill them.
pub(crate) fn billing_claims_of(patients: &str) -> String {
    format!("patient={patients}&use:not=preauthorization&use:not=predetermination")
}

/// A Claim neither withdrawn nor entered in error.
pub(crate) fn is_live(claim: &Value) -> bool {
    !matches!(
        claim.get("status").and_then(Value::as_str),
        Some("cancelled" | "entered-in-error")
    )
}

/// The lock claims of one patient take turns on, from their duplicate check to
/// their commit.
pub(crate) fn claim_lock_key(patient_id: &str) -> String {
    format!("claims of Patient/{patient_id}")
}

/// (date of service, code) of each line of a stored Claim.
pub(crate) fn billed_services(claim: &Value) -> Vec<(NaiveDate, String)> {
    // A line's date as billing reads it.
    let billable_start = claim.at("/billablePeriod/start").and_then(Value::as_str);
    let items = claim.get("item").and_then(Value::as_array).into_iter().flatten();
    items
        .filter_map(|item| {
            let code = item.at("/productOrService/coding/0/code")?.as_str()?;
            let (date, _) = from_fhir::first_day_of_service(item, billable_start)?;
            Some((date, code.to_owned()))
        })
        .collect()
}
