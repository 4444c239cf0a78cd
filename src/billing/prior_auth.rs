//! Prior authorization: the services a provider means to perform go to the payer
//! as a FHIR Claim with `use = preauthorization`, in a Bundle with the resources it
//! references (see `billing::gateway` for why FHIR and not an X12 278), and the
//! payer's decision is kept as a ClaimResponse (`outcome`, `preAuthRef`,
//! `preAuthPeriod`, `disposition`). Both are stored together once the payer has
//! answered, so a request that did not get through leaves nothing behind.
//!
//! The decision is read back from the ClaimResponse: `queued` is pended; complete
//! with an authorization number (`preAuthRef`) is approved, without one denied
//! (unless its disposition says approved: no authorization was needed).
//!
//! A pended response keeps, as an identifier, who holds the request and its id
//! there; [`sync_pended`] (the `prior_auth_status_sync` job) asks them for the
//! decision and stores it as the response's next version.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::billing::fields::{optional_date, InvalidInput};
use crate::billing::gateway::{
    BillingGateway, GatewayError, PriorAuthDecision, PriorAuthOutcome, PriorAuthTracking,
};
use crate::billing::parties::{self, Parties, PartiesError, PartyIds};
use crate::fhir::outcome::FhirError;
use crate::fhir::pointer::Pointer;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::store::model::Tenant;

const ICD10_SYSTEM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const CLAIM_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/claim-type";
const PRIORITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/processpriority";
/// The identifier system of a pended response's tracking id, before its holder
/// (an integration's id, or `sandbox`).
const TRACKING_SYSTEM: &str = "urn:claimbridge:prior-auth-tracking:";
/// Services one request may ask for (a professional claim's limit).
const MAX_PROCEDURES: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum PriorAuthError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Fhir(#[from] FhirError),
}

impl From<PartiesError> for PriorAuthError {
    fn from(error: PartiesError) -> Self {
        match error {
            PartiesError::Invalid(invalid) => PriorAuthError::Invalid(invalid),
            PartiesError::Fhir(fhir) => PriorAuthError::Fhir(fhir),
        }
    }
}

impl From<crate::store::StoreError> for PriorAuthError {
    fn from(error: crate::store::StoreError) -> Self {
        PriorAuthError::Fhir(error.into())
    }
}

/// A request as asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorAuthRequest {
    pub parties: PartyIds,
    /// ICD-10-CM codes, as written (`M54.50`).
    pub diagnoses: Vec<String>,
    pub procedures: Vec<RequestedProcedure>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestedProcedure {
    /// CPT or HCPCS Level II.
    pub code: String,
    pub units: Decimal,
    pub service_date: Option<NaiveDate>,
}

impl PriorAuthRequest {
    /// `{"patientId", "coverageId", "provider"?: {"reference"}, "diagnoses"?: [..],
    /// "procedures": [{"code", "units"?, "serviceDate"?}]}`.
    pub fn parse(body: &Value) -> Result<Self, InvalidInput> {
        let parties = PartyIds::parse(body)?;
        let diagnoses = body
            .get("diagnoses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(index, code)| {
                code.as_str()
                    .filter(|code| is_icd10_code(code))
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        InvalidInput::new(
                            format!("diagnoses[{index}]"),
                            format!("{code} is not an ICD-10-CM code"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let procedures = body
            .get("procedures")
            .and_then(Value::as_array)
            .filter(|list| (1..=MAX_PROCEDURES).contains(&list.len()))
            .ok_or_else(|| InvalidInput::new("procedures", "must list 1 to 50 procedures"))?;
        let procedures = procedures
            .iter()
            .enumerate()
            .map(|(index, procedure)| procedure_of(procedure, index))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PriorAuthRequest {
            parties,
            diagnoses,
            procedures,
        })
    }
}

fn procedure_of(procedure: &Value, index: usize) -> Result<RequestedProcedure, InvalidInput> {
    let field = |name: &str| format!("procedures[{index}].{name}");
    let code = procedure
        .get("code")
        .and_then(Value::as_str)
        .filter(|code| code.len() == 5 && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        .ok_or_else(|| InvalidInput::new(field("code"), "must be a CPT or HCPCS code (five characters)"))?;
    let units = match procedure.get("units") {
        None | Some(Value::Null) => Decimal::ONE,
        Some(Value::Number(n)) => n
            .to_string()
            .parse::<Decimal>()
            .ok()
            .filter(|units| *units > Decimal::ZERO)
            .ok_or_else(|| InvalidInput::new(field("units"), format!("{n} is not a positive number")))?,
        Some(other) => {
            return Err(InvalidInput::new(
                field("units"),
                format!("{other} is not a number"),
            ))
        }
    };
    Ok(RequestedProcedure {
        code: code.to_owned(),
        units,
        service_date: optional_date(procedure, "serviceDate")
            .map_err(|e| InvalidInput::new(field("serviceDate"), e.message))?,
    })
}

/// A letter, a digit, a letter or digit, then up to four more after an optional dot.
fn is_icd10_code(code: &str) -> bool {
    let compact = code.replacen('.', "", 1);
    let bytes = compact.as_bytes();
    (3..=7).contains(&bytes.len())
        && bytes[0].is_ascii_uppercase()
        && bytes[1].is_ascii_digit()
        && bytes[2..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A request and its decision, as kept in FHIR.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorAuthRecord {
    pub claim_id: String,
    pub response_id: String,
    pub created: String,
    pub decision: PriorAuthOutcome,
    pub reference: Option<String>,
    pub period: Option<(String, String)>,
    pub disposition: Option<String>,
}

impl PriorAuthRecord {
    /// The record a stored ClaimResponse keeps.
    pub fn of(response_id: &str, response: &Value) -> Self {
        let text = |pointer: &str| response.at(pointer).and_then(Value::as_str).map(str::to_owned);
        let request = text("/request/reference").unwrap_or_default();
        let reference = text("/preAuthRef");
        let disposition = text("/disposition");
        let decision = match (text("/outcome").as_deref(), &reference) {
            (Some("queued"), _) => PriorAuthOutcome::Pended,
            (_, Some(_)) => PriorAuthOutcome::Approved,
            // Approved with no number to quote: no authorization was needed.
            _ if disposition
                .as_deref()
                .is_some_and(|d| d.starts_with(PriorAuthOutcome::Approved.as_str())) =>
            {
                PriorAuthOutcome::Approved
            }
            (_, None) => PriorAuthOutcome::Denied,
        };
        PriorAuthRecord {
            claim_id: request.strip_prefix("Claim/").unwrap_or(&request).to_owned(),
            response_id: response_id.to_owned(),
            created: text("/created").unwrap_or_default(),
            decision,
            reference,
            period: text("/preAuthPeriod/start").zip(text("/preAuthPeriod/end")),
            disposition,
        }
    }
}

/// Sends the request through `gateway` and keeps it with the payer's decision.
pub async fn submit(
    fhir: &ResourceService,
    gateway: &dyn BillingGateway,
    request: &PriorAuthRequest,
) -> Result<PriorAuthRecord, PriorAuthError> {
    let parties = parties::read(
        fhir,
        &mut fhir.session(&Tenant::default()).await?,
        &request.parties,
    )
    .await?;
    // What the payer needs to find the member and the provider.
    parties.payer()?;
    parties.provider()?;
    parties.member_id()?;
    let claim_id = crate::fhir::new_id();
    let created = Utc::now();
    let claim = claim_resource(&claim_id, &parties, request, created);
    let decision = gateway
        .submit_prior_auth(&request_bundle(fhir.base_url(), &claim, &parties))
        .await?;
    let response = response_resource(&claim_id, &parties, &decision, created);
    let mut tx = fhir.begin(&Tenant::default()).await?;
    fhir.create_with_id(&mut tx, ResourceType::Claim, claim, None, &claim_id)
        .await?;
    let stored = fhir
        .create(&mut tx, ResourceType::ClaimResponse, response.clone(), None)
        .await?;
    tx.commit().await?;
    Ok(PriorAuthRecord::of(&stored.version.id, &response))
}

/// The patient's prior authorizations, newest first (at most `limit`); 404 for an
/// unknown patient.
pub async fn list(
    fhir: &ResourceService,
    patient_id: &str,
    limit: usize,
) -> Result<Vec<PriorAuthRecord>, PriorAuthError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    fhir.read(&mut session, ResourceType::Patient, patient_id).await?;
    let patient: String =
        url::form_urlencoded::byte_serialize(format!("Patient/{patient_id}").as_bytes()).collect();
    let query = format!("patient={patient}&use=preauthorization&_sort=-created,-_lastUpdated");
    let found = crate::fhir::search::find(
        &mut session,
        ResourceType::ClaimResponse,
        &query,
        fhir.base_url(),
        limit,
    )
    .await?;
    found
        .iter()
        .map(|row| {
            let response: Value =
                serde_json::from_str(&row.body).map_err(|e| FhirError::Internal(e.to_string()))?;
            Ok(PriorAuthRecord::of(&row.id, &response))
        })
        .collect()
}

fn professional() -> Value {
    json!({"coding": [{"system": CLAIM_TYPE_SYSTEM, "code": "professional"}]})
}

fn claim_resource(
    claim_id: &str,
    parties: &Parties,
    request: &PriorAuthRequest,
    created: DateTime<Utc>,
) -> Value {
    let diagnoses: Vec<Value> = request
        .diagnoses
        .iter()
        .enumerate()
        .map(|(index, code)| {
            json!({"sequence": index + 1,
                   "diagnosisCodeableConcept": {"coding": [{"system": ICD10_SYSTEM, "code": code}]}})
        })
        .collect();
    let pointers: Vec<usize> = (1..=request.diagnoses.len().min(4)).collect();
    let items: Vec<Value> = request
        .procedures
        .iter()
        .enumerate()
        .map(|(index, procedure)| {
            // No coding system: the code may be CPT or HCPCS Level II, as in intake.
            let mut item = json!({
                "sequence": index + 1,
                "productOrService": {"coding": [{"code": procedure.code}]},
                "quantity": {"value": crate::billing::remittance::money::json_amount(procedure.units)},
            });
            if let Some(date) = procedure.service_date {
                item["servicedDate"] = json!(date.to_string());
            }
            if !pointers.is_empty() {
                item["diagnosisSequence"] = json!(pointers);
            }
            item
        })
        .collect();
    let mut claim = json!({
        "resourceType": "Claim",
        "id": claim_id,
        "status": "active",
        "type": professional(),
        "use": "preauthorization",
        "patient": {"reference": parties.patient.reference},
        "created": crate::fhir::instant(created),
        "insurer": {"reference": parties.payer.reference},
        "provider": {"reference": parties.provider.reference},
        "priority": {"coding": [{"system": PRIORITY_SYSTEM, "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": true, "coverage": {"reference": parties.coverage.reference}}],
        "item": items,
    });
    if !diagnoses.is_empty() {
        claim["diagnosis"] = Value::Array(diagnoses);
    }
    claim
}

/// The Claim first, then what it references, each with its full URL.
fn request_bundle(base_url: &str, claim: &Value, parties: &Parties) -> Value {
    let claim_url = format!("{base_url}/Claim/{}", claim["id"].as_str().unwrap_or_default());
    let mut entries = vec![json!({"fullUrl": claim_url, "resource": claim})];
    for party in [
        &parties.patient,
        &parties.coverage,
        &parties.payer,
        &parties.provider,
    ] {
        entries
            .push(json!({"fullUrl": format!("{base_url}/{}", party.reference), "resource": party.resource}));
    }
    json!({"resourceType": "Bundle", "type": "collection", "entry": entries})
}

fn response_resource(
    claim_id: &str,
    parties: &Parties,
    decision: &PriorAuthDecision,
    created: DateTime<Utc>,
) -> Value {
    let mut response = json!({
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": professional(),
        "use": "preauthorization",
        "patient": {"reference": parties.patient.reference},
        "created": crate::fhir::instant(created),
        "insurer": {"reference": parties.payer.reference},
        "requestor": {"reference": parties.provider.reference},
        "request": {"reference": format!("Claim/{claim_id}")},
    });
    record_decision(&mut response, decision);
    if let Some(tracking) = &decision.tracking {
        response["identifier"] = json!([{
            "system": format!("{TRACKING_SYSTEM}{}", tracking.holder),
            "value": tracking.id,
        }]);
    }
    response
}

/// Writes `decision` into a ClaimResponse: `outcome`, `disposition`, and for an
/// approval its number and period.
fn record_decision(response: &mut Value, decision: &PriorAuthDecision) {
    response["outcome"] = json!(match decision.outcome {
        PriorAuthOutcome::Pended => "queued",
        PriorAuthOutcome::Approved | PriorAuthOutcome::Denied => "complete",
    });
    response["disposition"] = json!(format!("{}: {}", decision.outcome.as_str(), decision.note));
    // Only an approval carries an authorization number.
    if let (PriorAuthOutcome::Approved, Some(reference)) = (decision.outcome, &decision.reference) {
        response["preAuthRef"] = json!(reference);
    }
    if let Some((start, end)) = decision.period {
        response["preAuthPeriod"] = json!({"start": start.to_string(), "end": end.to_string()});
    }
}

/// Where a stored pended response says it can be asked about.
fn tracking_of(response: &Value) -> Option<PriorAuthTracking> {
    response["identifier"].as_array()?.iter().find_map(|identifier| {
        let holder = identifier["system"].as_str()?.strip_prefix(TRACKING_SYSTEM)?;
        Some(PriorAuthTracking {
            holder: holder.to_owned(),
            id: identifier["value"].as_str()?.to_owned(),
        })
    })
}

/// What one run of the status sync did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncSummary {
    pub asked: usize,
    pub decided: usize,
    /// Why some could not be asked, one line each.
    pub failures: Vec<String>,
}

/// Asks whoever holds each pended request (the oldest first, at most `limit`) for
/// its decision, and records the decisions that came. A request that cannot be
/// asked now stays pended for the next run.
pub async fn sync_pended(
    fhir: &ResourceService,
    gateway: &dyn BillingGateway,
    limit: usize,
) -> Result<SyncSummary, PriorAuthError> {
    let pended = {
        let mut session = fhir.session(&Tenant::default()).await?;
        crate::fhir::search::find(
            &mut session,
            ResourceType::ClaimResponse,
            "use=preauthorization&outcome=queued&_sort=_lastUpdated",
            fhir.base_url(),
            limit,
        )
        .await?
    };
    let mut summary = SyncSummary::default();
    for row in pended {
        let response: Value =
            serde_json::from_str(&row.body).map_err(|e| FhirError::Internal(e.to_string()))?;
        let Some(tracking) = tracking_of(&response) else {
            continue;
        };
        summary.asked += 1;
        match gateway.prior_auth_status(&tracking).await {
            Ok(decision) if decision.outcome == PriorAuthOutcome::Pended => {}
            Ok(decision) => {
                if record_decided(fhir, &row.id, &decision).await? {
                    summary.decided += 1;
                }
            }
            Err(error) => summary
                .failures
                .push(format!("ClaimResponse/{}: {error}", row.id)),
        }
    }
    Ok(summary)
}

/// Stores the decision on the pended response `id` as its next version; false when
/// it was decided meanwhile (another node's run, say).
async fn record_decided(
    fhir: &ResourceService,
    id: &str,
    decision: &PriorAuthDecision,
) -> Result<bool, PriorAuthError> {
    let mut tx = fhir.begin(&Tenant::default()).await?;
    let current = fhir.read(&mut tx, ResourceType::ClaimResponse, id).await?;
    let mut response: Value =
        serde_json::from_str(&current.body).map_err(|e| FhirError::Internal(e.to_string()))?;
    if response["outcome"] != "queued" {
        return Ok(false);
    }
    record_decision(&mut response, decision);
    fhir.update(
        &mut tx,
        ResourceType::ClaimResponse,
        id,
        response,
        Some(current.version_id),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({"patientId": "p1", "coverageId": "c1", "diagnoses": ["M54.50"],
               "procedures": [{"code": "97110", "units": 12, "serviceDate": "2026-12-01"}, {"code": "G0283"}]})
    }

    #[test]
    fn a_request_lists_procedures_with_units_and_dates() {
        let request = PriorAuthRequest::parse(&body()).unwrap();
        assert_eq!(request.diagnoses, ["M54.50"]);
        assert_eq!(
            request.procedures,
            [
                RequestedProcedure {
                    code: "97110".into(),
                    units: Decimal::from(12),
                    service_date: NaiveDate::from_ymd_opt(2026, 12, 1),
                },
                RequestedProcedure {
                    code: "G0283".into(),
                    units: Decimal::ONE,
                    service_date: None,
                }
            ]
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let field = |edit: fn(&mut Value)| {
            let mut body = body();
            edit(&mut body);
            PriorAuthRequest::parse(&body).unwrap_err().field
        };
        assert_eq!(field(|b| b["procedures"] = json!([])), "procedures");
        assert_eq!(
            field(|b| b["procedures"][1]["code"] = json!("9711")),
            "procedures[1].code"
        );
        assert_eq!(
            field(|b| b["procedures"][0]["units"] = json!(0)),
            "procedures[0].units"
        );
        assert_eq!(
            field(|b| b["procedures"][0]["serviceDate"] = json!("tomorrow")),
            "procedures[0].serviceDate"
        );
        assert_eq!(field(|b| b["diagnoses"] = json!(["back pain"])), "diagnoses[0]");
        assert_eq!(field(|b| b["patientId"] = json!(7)), "patientId");
    }

    #[test]
    fn the_decision_is_read_back_from_outcome_and_authorization_number() {
        let decided = |outcome: &str, reference: Option<&str>| {
            let mut response = json!({"outcome": outcome, "request": {"reference": "Claim/c9"}});
            if let Some(reference) = reference {
                response["preAuthRef"] = json!(reference);
            }
            PriorAuthRecord::of("r1", &response)
        };
        let approved = decided("complete", Some("PA-1"));
        assert_eq!(
            (approved.decision, approved.claim_id.as_str()),
            (PriorAuthOutcome::Approved, "c9")
        );
        assert_eq!(decided("complete", None).decision, PriorAuthOutcome::Denied);
        assert_eq!(decided("queued", None).decision, PriorAuthOutcome::Pended);
    }
}
