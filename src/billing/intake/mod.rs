//! Claims intake (`/api/claims`): a biller's plain JSON claim is made into a FHIR
//! Claim, scrubbed, priced, and stored with its billing state in one transaction,
//! so a refused request leaves nothing behind.

pub mod batch;
pub mod request;
pub mod routes;

use serde_json::Value;

use crate::billing::checks::scrub_claim;
use crate::billing::intake::request::{IntakeRequest, InvalidField, Reference};
use crate::billing::lifecycle::BillingState;
use crate::billing::pricing::{price, FeeSchedules, PricedClaim, PricingError};
use crate::billing::scrub::{RuleSet, ScrubReport};
use crate::billing::service::{billing_row, record, scrub_move, BillingError};
use crate::fhir::outcome::FhirError;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::store::model::Tenant;
use crate::store::Session;

/// Who intake's moves are recorded as.
pub(crate) const INTAKE_ACTOR: &str = "intake";

/// A stored claim, where scrubbing put it, and its price.
#[derive(Debug)]
pub struct Intake {
    pub claim_id: String,
    pub state: BillingState,
    pub report: ScrubReport,
    pub pricing: PricedClaim,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    #[error("{field}: {resource_type}/{id} does not exist")]
    Missing {
        field: &'static str,
        resource_type: ResourceType,
        id: String,
    },
    #[error("procedures: {0}")]
    Unpriceable(#[from] PricingError),
    #[error(transparent)]
    Billing(#[from] BillingError),
    /// Its batch chunk could not be written, so this valid claim was not stored.
    #[error("not stored: {0}")]
    NotStored(String),
}

impl From<FhirError> for IntakeError {
    fn from(error: FhirError) -> Self {
        IntakeError::Billing(error.into())
    }
}

impl IntakeError {
    /// The request field at fault, when one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            IntakeError::Invalid(invalid) => Some(&invalid.field),
            IntakeError::Missing { field, .. } => Some(field),
            IntakeError::Unpriceable(_) => Some("procedures"),
            IntakeError::Billing(_) | IntakeError::NotStored(_) => None,
        }
    }
}

/// Makes the claim `body` asks for, scrubs and prices it, and stores it as
/// `ready_to_submit` when clean or `needs_review` when not.
pub async fn submit(
    fhir: &ResourceService,
    rules: &RuleSet,
    schedules: &FeeSchedules,
    body: &Value,
) -> Result<Intake, IntakeError> {
    let request = IntakeRequest::parse(body)?;
    let mut tx = fhir.begin(&Tenant::default()).await?;
    for reference in request.references() {
        exists(fhir, &mut tx, reference).await?;
    }
    let claim_id = crate::fhir::new_id();
    let draft = request.to_claim(rules.today(), BillingState::Draft.fhir_status());
    let (billed, report) = scrub_claim(fhir, &mut tx, rules, &claim_id, &draft).await?;
    let pricing = price(&billed, schedules)?;
    let step = scrub_move(&report, INTAKE_ACTOR);
    // Stored with the FHIR status of the state it is moving to, so that recording
    // the move has no second version of the Claim to write.
    let mut claim = draft;
    claim["status"] = Value::String(step.to.fhir_status().into());
    fhir.create_built(&mut tx, ResourceType::Claim, claim, &claim_id)
        .await?;
    billing_row(fhir, &mut tx, &claim_id).await?;
    record(fhir, &mut tx, &claim_id, BillingState::Draft, &step).await?;
    tx.commit().await.map_err(BillingError::from)?;
    Ok(Intake {
        claim_id,
        state: step.to,
        report,
        pricing,
    })
}

/// A dangling reference is the request's fault (naming its field), not a 404 of
/// the endpoint.
async fn exists(fhir: &ResourceService, tx: &mut Session, reference: &Reference) -> Result<(), IntakeError> {
    match fhir.read(tx, reference.resource_type, &reference.id).await {
        Ok(_) => Ok(()),
        Err(FhirError::NotFound(_) | FhirError::Gone(_)) => Err(missing(reference)),
        Err(other) => Err(other.into()),
    }
}

pub(crate) fn missing(reference: &Reference) -> IntakeError {
    IntakeError::Missing {
        field: reference.field,
        resource_type: reference.resource_type,
        id: reference.id.clone(),
    }
}
