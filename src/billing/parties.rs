//! Who a request to a payer is about and who makes it — the Patient, their Coverage,
//! its payer Organization and the provider asking — read from the store and
//! checked, for the requests that name them by id (eligibility inquiries, prior
//! authorizations). What is wrong names the request field to fix.

use serde_json::Value;

use crate::billing::claim::{Payer, Person, Provider};
use crate::billing::fields::{required_text, InvalidInput};
use crate::billing::from_fhir::{self, reference_of};
use crate::fhir::outcome::FhirError;
use crate::fhir::pointer::Pointer;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::store::Session;

#[derive(Debug, thiserror::Error)]
pub enum PartiesError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Fhir(#[from] FhirError),
}

/// A stored resource and the reference that names it (`Patient/123`).
#[derive(Debug, Clone)]
pub struct Party {
    pub reference: String,
    pub resource: Value,
}

/// The parties of one request, each read from the store.
#[derive(Debug, Clone)]
pub struct Parties {
    pub patient: Party,
    pub coverage: Party,
    /// The Coverage's subscriber when that is another Patient (the patient is then
    /// a dependent on the subscriber's policy).
    pub subscriber: Option<Party>,
    pub payer: Party,
    pub provider: Party,
}

/// Request fields, as the API names them.
const PATIENT: &str = "patientId";
const COVERAGE: &str = "coverageId";
const PROVIDER: &str = "provider";

/// The parties a request names: `patientId`, `coverageId`, and optionally
/// `"provider": {"reference": "Organization/…"}` (or `Practitioner/…`); without it
/// the patient's managing organization asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyIds {
    pub patient_id: String,
    pub coverage_id: String,
    pub provider: Option<String>,
}

impl PartyIds {
    pub fn parse(body: &Value) -> Result<Self, InvalidInput> {
        let provider = match body.get(PROVIDER) {
            None | Some(Value::Null) => None,
            Some(provider) => match provider.get("reference").and_then(Value::as_str) {
                Some(reference) => Some(reference.to_owned()),
                None => {
                    return Err(InvalidInput::new(
                        PROVIDER,
                        r#"must be {"reference": "Organization/…"} or {"reference": "Practitioner/…"}"#,
                    ))
                }
            },
        };
        Ok(PartyIds {
            patient_id: required_text(body, PATIENT)?,
            coverage_id: required_text(body, COVERAGE)?,
            provider,
        })
    }
}

/// Reads the parties `ids` name; the Coverage must cover that patient and name its
/// payer Organization.
pub async fn read(
    fhir: &ResourceService,
    session: &mut Session,
    ids: &PartyIds,
) -> Result<Parties, PartiesError> {
    let patient = stored(fhir, session, PATIENT, ResourceType::Patient, &ids.patient_id).await?;
    let coverage = stored(fhir, session, COVERAGE, ResourceType::Coverage, &ids.coverage_id).await?;
    let beneficiary = coverage
        .resource
        .at("/beneficiary/reference")
        .and_then(Value::as_str);
    if beneficiary != Some(patient.reference.as_str()) {
        let covers = beneficiary.map_or("no beneficiary".to_owned(), |b| format!("covers {b}"));
        return Err(InvalidInput::new(
            COVERAGE,
            format!("{} {covers}, not {}", coverage.reference, patient.reference),
        )
        .into());
    }
    let subscriber = match reference_of(&coverage.resource, "/subscriber") {
        Some((ResourceType::Patient, id)) if format!("Patient/{id}") != patient.reference => {
            Some(stored(fhir, session, COVERAGE, ResourceType::Patient, id).await?)
        }
        _ => None,
    };
    let payer_id = match reference_of(&coverage.resource, "/payor/0") {
        Some((ResourceType::Organization, id)) => id.to_owned(),
        _ => {
            let message = format!("{} names no payer Organization (payor)", coverage.reference);
            return Err(InvalidInput::new(COVERAGE, message).into());
        }
    };
    let payer = stored(fhir, session, COVERAGE, ResourceType::Organization, &payer_id).await?;
    let (provider_type, provider_id) = match ids.provider.as_deref() {
        Some(reference) => provider_reference(reference)?,
        None => match reference_of(&patient.resource, "/managingOrganization") {
            Some((ResourceType::Organization, id)) => (ResourceType::Organization, id.to_owned()),
            _ => {
                let message = format!(
                    "name the provider asking (Organization/… or Practitioner/…): {} has no managingOrganization",
                    patient.reference
                );
                return Err(InvalidInput::new(PROVIDER, message).into());
            }
        },
    };
    let provider = stored(fhir, session, PROVIDER, provider_type, &provider_id).await?;
    Ok(Parties {
        patient,
        coverage,
        subscriber,
        payer,
        provider,
    })
}

impl Parties {
    pub fn patient(&self) -> Person {
        from_fhir::person(&self.patient.resource)
    }

    /// The policy holder when it is not the patient.
    pub fn subscriber(&self) -> Option<Person> {
        self.subscriber
            .as_ref()
            .map(|party| from_fhir::person(&party.resource))
    }

    /// The payer, which must have a payer id for clearinghouses to route to.
    pub fn payer(&self) -> Result<Payer, InvalidInput> {
        let payer = from_fhir::payer(&self.payer.resource);
        if payer.payer_id.is_empty() {
            let message = format!(
                "its payer {} has no payer id (an identifier other than an NPI or tax id)",
                self.payer.reference
            );
            return Err(InvalidInput::new(COVERAGE, message));
        }
        Ok(payer)
    }

    /// The provider asking, which payers know by NPI.
    pub fn provider(&self) -> Result<Provider, InvalidInput> {
        let provider = from_fhir::provider(&self.provider.resource);
        if provider.npi.is_none() {
            let message = format!(
                "{} has no NPI (identifier system {})",
                self.provider.reference,
                from_fhir::NPI_SYSTEM
            );
            return Err(InvalidInput::new(PROVIDER, message));
        }
        Ok(provider)
    }

    /// The member id the payer knows the patient by.
    pub fn member_id(&self) -> Result<String, InvalidInput> {
        from_fhir::subscriber(&self.coverage.resource, None)
            .member_id
            .ok_or_else(|| {
                InvalidInput::new(
                    COVERAGE,
                    format!("{} has no member id (subscriberId)", self.coverage.reference),
                )
            })
    }
}

/// `Organization/…` or `Practitioner/…`.
fn provider_reference(reference: &str) -> Result<(ResourceType, String), InvalidInput> {
    match reference.split_once('/') {
        Some(("Organization", id)) if !id.is_empty() => Ok((ResourceType::Organization, id.to_owned())),
        Some(("Practitioner", id)) if !id.is_empty() => Ok((ResourceType::Practitioner, id.to_owned())),
        _ => Err(InvalidInput::new(
            PROVIDER,
            format!("{reference:?} is not Organization/{{id}} or Practitioner/{{id}}"),
        )),
    }
}

/// The resource a request names; one that does not exist is the request's fault.
async fn stored(
    fhir: &ResourceService,
    session: &mut Session,
    field: &'static str,
    resource_type: ResourceType,
    id: &str,
) -> Result<Party, PartiesError> {
    let reference = format!("{resource_type}/{id}");
    match fhir.read(session, resource_type, id).await {
        Ok(version) => Ok(Party {
            resource: serde_json::from_str(&version.body).map_err(|e| FhirError::Internal(e.to_string()))?,
            reference,
        }),
        Err(FhirError::NotFound(_) | FhirError::Gone(_)) => {
            Err(InvalidInput::new(field, format!("{reference} does not exist")).into())
        }
        Err(other) => Err(other.into()),
    }
}
