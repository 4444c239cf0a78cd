//! Eligibility checks: a 270 written from the stored Patient, Coverage, payer and
//! provider goes out through the billing gateway; the 271 that comes back is read
//! with our reader; the question and its answer are kept as a
//! CoverageEligibilityRequest and a CoverageEligibilityResponse, so that EHRs see
//! checks through FHIR. A patient's history is a FHIR search on the responses.
//!
//! The 270 is kept with the other interchanges before it leaves, under the control
//! number it carries. The FHIR resources are stored together once the answer is
//! read: a check that fails leaves no half-made record.
//!
//! The patient is asked about as the subscriber, under the Coverage's member id
//! (loop 2100C): payers give most members an id of their own. A dependent known to
//! the payer only under the subscriber's id (loop 2100D) is not asked about yet.

pub mod benefits;

use chrono::{NaiveDate, Utc};
use serde_json::{json, Value};

use crate::billing::fields::{optional_date, InvalidInput};
use crate::billing::gateway::{BillingGateway, GatewayError};
use crate::billing::parties::{self, Parties, PartiesError, PartyIds};
use crate::fhir::outcome::FhirError;
use crate::fhir::pointer::Pointer;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::integrations::registry::DEFAULT_TENANT;
use crate::outbound_webhooks::events::{emit, EventType};
use crate::store::model::Tenant;
use crate::x12::eligibility_inquiry::{EligibilityConfig, EligibilityInquiry};
use crate::x12::{read_271, write_270, ControlNumbers};
use benefits::{BenefitSummary, ResponseContext, SERVICE_TYPE_SYSTEM};

/// EQ01 when the request names no service type: 30, health benefit plan coverage.
const PLAN_COVERAGE: &str = "30";
/// EQ01 repeats at most 99 times.
const MAX_SERVICE_TYPES: usize = 99;

#[derive(Debug, thiserror::Error)]
pub enum EligibilityError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The stored resources hold something X12 cannot carry (a delimiter in a name).
    #[error("the inquiry cannot be written as a 270: {0}")]
    Unwritable(String),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// What came back is not a 271 answering the inquiry.
    #[error("the clearinghouse's answer is not usable: {0}")]
    Unanswered(String),
    #[error(transparent)]
    Fhir(#[from] FhirError),
}

impl From<PartiesError> for EligibilityError {
    fn from(error: PartiesError) -> Self {
        match error {
            PartiesError::Invalid(invalid) => EligibilityError::Invalid(invalid),
            PartiesError::Fhir(fhir) => EligibilityError::Fhir(fhir),
        }
    }
}

impl From<crate::store::StoreError> for EligibilityError {
    fn from(error: crate::store::StoreError) -> Self {
        EligibilityError::Fhir(error.into())
    }
}

/// One check as asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct EligibilityCheck {
    pub parties: PartyIds,
    pub service_date: NaiveDate,
    /// EQ01 codes: 30 plan coverage, 98 office visit…
    pub service_types: Vec<String>,
}

impl EligibilityCheck {
    /// `{"patientId", "coverageId", "provider"?: {"reference"}, "serviceDate"?,
    /// "serviceTypeCodes"?}`; the date defaults to `today`, the service types to 30.
    pub fn parse(body: &Value, today: NaiveDate) -> Result<Self, InvalidInput> {
        let service_types = match body.get("serviceTypeCodes") {
            None | Some(Value::Null) => vec![PLAN_COVERAGE.to_owned()],
            Some(codes) => service_types(codes)?,
        };
        Ok(EligibilityCheck {
            parties: PartyIds::parse(body)?,
            service_date: optional_date(body, "serviceDate")?.unwrap_or(today),
            service_types,
        })
    }
}

/// A check as kept in FHIR.
#[derive(Debug, Clone, PartialEq)]
pub struct EligibilityRecord {
    pub request_id: String,
    pub response_id: String,
    /// When the answer came, as stored (`CoverageEligibilityResponse.created`).
    pub created: String,
    pub service_date: Option<String>,
    pub outcome: String,
    pub disposition: Option<String>,
    pub summary: BenefitSummary,
}

impl EligibilityRecord {
    /// The record a stored CoverageEligibilityResponse keeps.
    pub fn of(response_id: &str, response: &Value) -> Self {
        let text = |pointer: &str| response.at(pointer).and_then(Value::as_str).map(str::to_owned);
        let request = text("/request/reference").unwrap_or_default();
        EligibilityRecord {
            request_id: request
                .strip_prefix("CoverageEligibilityRequest/")
                .unwrap_or(&request)
                .to_owned(),
            response_id: response_id.to_owned(),
            created: text("/created").unwrap_or_default(),
            service_date: text("/servicedDate"),
            outcome: text("/outcome").unwrap_or_default(),
            disposition: text("/disposition"),
            summary: benefits::summary_of(response),
        }
    }
}

/// Asks the payer through `gateway` and keeps the question and the answer, telling
/// webhook subscribers (`eligibility.checked`) in the same transaction.
pub async fn check(
    fhir: &ResourceService,
    gateway: &dyn BillingGateway,
    config: &EligibilityConfig,
    asked: &EligibilityCheck,
) -> Result<EligibilityRecord, EligibilityError> {
    let parties = parties::read(fhir, &mut fhir.session(&Tenant::default()).await?, &asked.parties).await?;
    // The request's id is the inquiry's trace number (TRN02), which the 271 echoes.
    let request_id = crate::fhir::new_id();
    let inquiry = EligibilityInquiry {
        reference: request_id.clone(),
        payer: parties.payer()?,
        provider: parties.provider()?,
        // A dependent is asked about under the subscriber's member id.
        subscriber: parties.subscriber().unwrap_or_else(|| parties.patient()),
        dependent: parties.subscriber().map(|_| parties.patient()),
        member_id: parties.member_id()?,
        service_date: asked.service_date,
        service_types: asked.service_types.clone(),
    };
    let document = write_and_keep_270(fhir, config, &inquiry).await?;
    let answer = gateway.check_eligibility(&document).await?;
    let responses = read_271(&answer).map_err(|e| EligibilityError::Unanswered(e.to_string()))?;
    let summary =
        BenefitSummary::from_271(&responses, &request_id, &asked.service_types).ok_or_else(|| {
            EligibilityError::Unanswered("no 271 in it echoes the inquiry's trace number".into())
        })?;

    let context = ResponseContext {
        request_id: &request_id,
        patient: &parties.patient.reference,
        coverage: &parties.coverage.reference,
        insurer: &parties.payer.reference,
        requestor: &parties.provider.reference,
        service_date: asked.service_date,
        category: asked.service_types.first().map_or(PLAN_COVERAGE, String::as_str),
        created: Utc::now(),
    };
    let response = benefits::response_resource(&summary, &context);
    let mut tx = fhir.begin(&Tenant::default()).await?;
    fhir.create_with_id(
        &mut tx,
        ResourceType::CoverageEligibilityRequest,
        request_resource(&parties, asked, &context),
        None,
        &request_id,
    )
    .await?;
    let stored = fhir
        .create(
            &mut tx,
            ResourceType::CoverageEligibilityResponse,
            response.clone(),
            None,
        )
        .await?;
    let checked = json!({
        "requestId": request_id,
        "responseId": stored.version.id,
        "patientId": asked.parties.patient_id,
        "coverageId": asked.parties.coverage_id,
        "active": summary.active,
    });
    emit(&mut tx, EventType::EligibilityChecked, DEFAULT_TENANT, checked).await?;
    tx.commit().await?;
    Ok(EligibilityRecord::of(&stored.version.id, &response))
}

/// The patient's checks, newest first (at most `limit`); 404 for an unknown patient.
pub async fn history(
    fhir: &ResourceService,
    patient_id: &str,
    limit: usize,
) -> Result<Vec<EligibilityRecord>, EligibilityError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    fhir.read(&mut session, ResourceType::Patient, patient_id).await?;
    let query = format!(
        "patient={}&_sort=-created,-_lastUpdated",
        url::form_urlencoded::byte_serialize(format!("Patient/{patient_id}").as_bytes()).collect::<String>()
    );
    let found = crate::fhir::search::find(
        &mut session,
        ResourceType::CoverageEligibilityResponse,
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
            Ok(EligibilityRecord::of(&row.id, &response))
        })
        .collect()
}

/// Writes the 270 under a fresh interchange control number and keeps it with the
/// other interchanges before it leaves.
async fn write_and_keep_270(
    fhir: &ResourceService,
    config: &EligibilityConfig,
    inquiry: &EligibilityInquiry,
) -> Result<String, EligibilityError> {
    let now = Utc::now();
    let mut tx = fhir.begin(&Tenant::default()).await?;
    let control_number = tx.reserve_interchange("270", now).await?;
    let control = u32::try_from(control_number)
        .map(|n| ControlNumbers {
            interchange: n,
            group: n,
        })
        .map_err(|_| FhirError::Internal("interchange control numbers are exhausted".into()))?;
    let document = write_270(std::slice::from_ref(inquiry), config, control, now.naive_utc())
        .map_err(|e| EligibilityError::Unwritable(e.to_string()))?;
    tx.store_interchange(control_number, &document).await?;
    tx.commit().await?;
    Ok(document)
}

/// The CoverageEligibilityRequest keeping what was asked.
fn request_resource(parties: &Parties, asked: &EligibilityCheck, context: &ResponseContext<'_>) -> Value {
    let items: Vec<Value> = asked
        .service_types
        .iter()
        .map(|code| json!({"category": {"coding": [{"system": SERVICE_TYPE_SYSTEM, "code": code}]}}))
        .collect();
    json!({
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "purpose": ["validation", "benefits"],
        "patient": {"reference": parties.patient.reference},
        "servicedDate": asked.service_date.to_string(),
        "created": crate::fhir::instant(context.created),
        "provider": {"reference": parties.provider.reference},
        "insurer": {"reference": parties.payer.reference},
        "insurance": [{"focal": true, "coverage": {"reference": parties.coverage.reference}}],
        "item": items,
    })
}

/// X12 service type codes: one or two capital letters or digits each.
fn service_types(codes: &Value) -> Result<Vec<String>, InvalidInput> {
    let field = "serviceTypeCodes";
    let codes = codes
        .as_array()
        .filter(|codes| !codes.is_empty() && codes.len() <= MAX_SERVICE_TYPES)
        .ok_or_else(|| InvalidInput::new(field, "must be a list of 1 to 99 service type codes"))?;
    codes
        .iter()
        .map(|code| {
            code.as_str()
                .filter(|c| {
                    (1..=2).contains(&c.len())
                        && c.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                })
                .map(str::to_owned)
                .ok_or_else(|| {
                    InvalidInput::new(
                        field,
                        format!("{code} is not an X12 service type code (30, 98, UC…)"),
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    #[test]
    fn a_request_names_patient_and_coverage_and_may_say_more() {
        let minimal =
            EligibilityCheck::parse(&json!({"patientId": "p1", "coverageId": "c1"}), today()).unwrap();
        assert_eq!(
            minimal,
            EligibilityCheck {
                parties: PartyIds {
                    patient_id: "p1".into(),
                    coverage_id: "c1".into(),
                    provider: None,
                },
                service_date: today(),
                service_types: vec!["30".into()],
            }
        );
        let full = json!({"patientId": "p1", "coverageId": "c1", "provider": {"reference": "Practitioner/dr"},
                          "serviceDate": "2026-12-01", "serviceTypeCodes": ["98", "UC"]});
        let full = EligibilityCheck::parse(&full, today()).unwrap();
        assert_eq!(full.parties.provider.as_deref(), Some("Practitioner/dr"));
        assert_eq!(full.service_date, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert_eq!(full.service_types, ["98", "UC"]);
    }

    #[test]
    fn each_bad_field_is_named() {
        let field = |body: Value| EligibilityCheck::parse(&body, today()).unwrap_err().field;
        assert_eq!(field(json!({"coverageId": "c1"})), "patientId");
        assert_eq!(field(json!({"patientId": " ", "coverageId": "c1"})), "patientId");
        assert_eq!(field(json!({"patientId": "p1"})), "coverageId");
        let with = |extra: Value| {
            let mut body = json!({"patientId": "p1", "coverageId": "c1"});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            field(body)
        };
        assert_eq!(with(json!({"serviceDate": "12/01/2026"})), "serviceDate");
        assert_eq!(with(json!({"serviceTypeCodes": ["office"]})), "serviceTypeCodes");
        assert_eq!(with(json!({"serviceTypeCodes": []})), "serviceTypeCodes");
        assert_eq!(with(json!({"provider": "Organization/x"})), "provider");
    }
}
