//! How the FHIR handlers keep a request within what its token reaches
//! ([`Reach`], decided by the authorization gate): a `patient/` scope's request
//! sees and changes only the launch patient's compartment; a constrained scope's
//! (`user/Claim.rs?status=active`) reads only what matches. Reads of anything else
//! are refused (403), searches are narrowed in their SQL (and every result
//! checked), writes must leave the resource in the compartment, and
//! `_include`d resources the scopes do not reach are left out of the Bundle.

use serde_json::Value;

use super::outcome::FhirError;
use super::resource_type::ResourceType;
use crate::auth::access_token::Principal;
use crate::auth::policy::{may_include, Reach};
use crate::auth::scopes::{compartment_search_restrictions, patient_access, PatientAccess};
use crate::fhir::pointer::Pointer;
use crate::fhir::search::find;
use crate::store::Session;

/// The request's reach, as the gate put it (everything when authorization is
/// disabled; refused without the gate).
impl actix_web::FromRequest for Reach {
    type Error = FhirError;
    type Future = std::future::Ready<Result<Reach, FhirError>>;

    fn from_request(request: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(reach_of(request))
    }
}

pub fn reach_of(request: &actix_web::HttpRequest) -> Result<Reach, FhirError> {
    use actix_web::HttpMessage;
    request
        .extensions()
        .get::<Reach>()
        .cloned()
        .ok_or_else(|| FhirError::Internal("no reach: the authorization gate did not run".into()))
}

fn outside(what: &str) -> FhirError {
    FhirError::Forbidden(format!(
        "{what} is outside the launch patient's compartment, which is all this token's patient/ scopes reach"
    ))
}

/// Refuses a resource (read, or about to be written) the request does not reach.
pub fn guard(reach: &Reach, resource: &Value, fhir_base: &str) -> Result<(), FhirError> {
    if reach.admits(resource, fhir_base) {
        Ok(())
    } else {
        Err(outside("the resource"))
    }
}

/// `guard` for stored JSON text (parsed only when the reach is limited).
pub fn guard_text(reach: &Reach, body: &str, fhir_base: &str) -> Result<(), FhirError> {
    if *reach == Reach::Everything {
        return Ok(());
    }
    let resource: Value =
        serde_json::from_str(body).map_err(|e| FhirError::Internal(format!("stored resource: {e}")))?;
    guard(reach, &resource, fhir_base)
}

/// Refuses what a limited reach cannot do safely: conditional writes and Bundles
/// (they find or touch resources that are not checked one by one here).
pub fn only_unlimited(reach: &Reach, what: &str) -> Result<(), FhirError> {
    match reach {
        Reach::Everything => Ok(()),
        Reach::PatientCompartment(_) | Reach::Constrained { .. } => Err(FhirError::Forbidden(format!(
            "{what} is not available to patient/ or constrained scopes"
        ))),
    }
}

/// Narrows a search to the reach: the type's main compartment link as one more
/// criterion (`Patient?_id=…`, `Claim?patient=Patient/…`, `Coverage?beneficiary=…`),
/// and a constrained scope's search parameters.
pub fn narrow_search(
    reach: &Reach,
    resource_type: ResourceType,
    pairs: &mut Vec<(String, String)>,
) -> Result<(), FhirError> {
    let (patient, constraints) = match reach {
        Reach::Everything => return Ok(()),
        Reach::PatientCompartment(patient) => (Some(patient), &[][..]),
        Reach::Constrained { patient, constraints } => (patient.as_ref(), constraints.as_slice()),
    };
    if let Some(patient) = patient {
        match patient_access(resource_type.as_str()) {
            PatientAccess::NotPatientSpecific => {}
            PatientAccess::Never => return Err(outside(&format!("every {resource_type}"))),
            PatientAccess::Compartment(_) => {
                let restriction = compartment_search_restrictions(resource_type.as_str(), patient)
                    .and_then(|restrictions| restrictions.into_iter().next())
                    .ok_or_else(|| outside(&format!("every {resource_type}")))?;
                pairs.push((restriction.param.to_owned(), restriction.value));
            }
        }
    }
    pairs.extend(
        constraints
            .iter()
            .map(|constraint| (constraint.param.clone(), constraint.value.clone())),
    );
    Ok(())
}

/// Refuses a stored resource that does not match a constrained scope's search
/// parameters (asked of the store: `Type?_id={id}&{constraints}`).
pub async fn guard_constraints(
    session: &mut Session,
    reach: &Reach,
    resource_type: ResourceType,
    id: &str,
    fhir_base: &str,
) -> Result<(), FhirError> {
    let Reach::Constrained { constraints, .. } = reach else {
        return Ok(());
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("_id", id);
    for constraint in constraints {
        query.append_pair(&constraint.param, &constraint.value);
    }
    let found = find(session, resource_type, &query.finish(), fhir_base, 1).await?;
    if found.is_empty() {
        return Err(FhirError::Forbidden(
            "the resource does not match the constraints of the scope that allows reading it".into(),
        ));
    }
    Ok(())
}

/// Whether a searchset needs its entries checked: a limited reach, or included
/// resources whose types the scopes may not all read.
pub fn needs_filtering(reach: &Reach, pairs: &[(String, String)]) -> bool {
    *reach != Reach::Everything
        || pairs
            .iter()
            .any(|(name, _)| name.starts_with("_include") || name.starts_with("_revinclude"))
}

/// Drops the searchset's entries the request may not see: matches outside the
/// reach, included resources the scopes do not read.
pub fn filter_searchset(
    bundle: String,
    reach: &Reach,
    principal: Option<&Principal>,
    fhir_base: &str,
) -> Result<String, FhirError> {
    let mut parsed: Value =
        serde_json::from_str(&bundle).map_err(|e| FhirError::Internal(format!("searchset: {e}")))?;
    if let Some(entries) = parsed.get_mut("entry").and_then(Value::as_array_mut) {
        entries.retain(|entry| {
            let resource = &entry["resource"];
            let included = entry.at("/search/mode").and_then(Value::as_str) == Some("include");
            match (included, principal) {
                (true, Some(principal)) => may_include(&principal.scopes, reach, resource, fhir_base),
                (true, None) => false,
                (false, _) => reach.admits(resource, fhir_base),
            }
        });
    }
    Ok(parsed.to_string())
}
