//! The decisions the gate and the token endpoint make from scopes
//! ([`super::scopes`]): whether a token's scopes allow a FHIR request and how far
//! it reaches ([`Reach`]), whether a Bundle entry is allowed, and which scopes a
//! backend client may be granted.
//!
//! A request allowed only through `patient/` scopes reaches the launch patient's
//! compartment: reads and searches are confined to it, writes must stay in it.
//! A request allowed only through one scope with `?` constraints reads what matches
//! them. What is not enforced per resource is refused rather than half-granted:
//! writes through constrained scopes, several differently constrained scopes at
//! once, and for `patient/` scopes history across a type or the server,
//! conditional writes, patches and Bundles.

use serde_json::Value;

use super::scopes::{
    grant_requested_scopes, is_in_patient_compartment, patient_access, CompartmentPatient, Interaction,
    PatientAccess, QueryConstraint, Role, Scope, ScopeContext, ScopedResource, Scopes,
};
use crate::fhir::resource_type::ResourceType;

/// A FHIR request as the gate reads it from its method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FhirRequest<'a> {
    /// An interaction on one type (or one resource of it).
    OnType(&'a str, Interaction),
    /// `GET /_history`: every type's history.
    SystemHistory,
    /// A batch or transaction Bundle: each entry is checked as what it does
    /// ([`check_entry`]).
    Bundle,
}

/// How far an allowed FHIR request reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Every resource of the type (a `user/` or `system/` scope).
    Everything,
    /// The launch patient's compartment only (and types no patient owns).
    PatientCompartment(String),
    /// What matches a scope's `?` constraints (search parameters, all of them), in
    /// the launch patient's compartment too for a `patient/` scope. Reads only.
    Constrained {
        patient: Option<String>,
        constraints: Vec<QueryConstraint>,
    },
}

impl Reach {
    /// Whether `resource` is within reach, as far as the resource alone tells: the
    /// compartment. (Constraints are search parameters: the store checks them.)
    pub fn admits(&self, resource: &Value, fhir_base: &str) -> bool {
        match self {
            Reach::Everything | Reach::Constrained { patient: None, .. } => true,
            Reach::PatientCompartment(patient)
            | Reach::Constrained {
                patient: Some(patient),
                ..
            } => {
                let kind = resource
                    .get("resourceType")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match patient_access(kind) {
                    PatientAccess::Compartment(_) => is_in_patient_compartment(
                        resource,
                        &CompartmentPatient {
                            id: patient,
                            fhir_base,
                        },
                    ),
                    PatientAccess::NotPatientSpecific => true,
                    PatientAccess::Never => false,
                }
            }
        }
    }
}

/// Whether the token's scopes allow the request, and how far it reaches; why not
/// otherwise. `patient` is the token's launch patient.
pub fn check_fhir(scopes: &Scopes, patient: Option<&str>, request: FhirRequest<'_>) -> Result<Reach, String> {
    match request {
        FhirRequest::OnType(AUDIT_EVENT, interaction) => {
            check_audit_trail(scopes, interaction).map(|()| Reach::Everything)
        }
        FhirRequest::OnType(kind, interaction) => reach(scopes, patient, kind, interaction),
        FhirRequest::SystemHistory => ResourceType::ALL
            .iter()
            .try_for_each(|kind| unrestricted(scopes, kind.as_str(), Interaction::HistoryType))
            .map(|()| Reach::Everything),
        FhirRequest::Bundle
            if scopes
                .resource_scopes()
                .any(|scope| scope.context != ScopeContext::Patient) =>
        {
            Ok(Reach::Everything)
        }
        FhirRequest::Bundle => Err(
            "a Bundle needs a user/ or system/ scope: its entries are not filtered to a patient's compartment".into(),
        ),
    }
}

/// The audit trail's resource type (`crate::audit`).
pub const AUDIT_EVENT: &str = "AuditEvent";

/// Who may read the audit trail: the `auditor` or `admin` role, or a `user/` or
/// `system/` scope that names AuditEvent itself (`system/AuditEvent.read`,
/// `user/AuditEvent.rs`). A wildcard (`system/*.*`) does not: the trail tells who
/// looked at which patient, which a client granted "every clinical and billing
/// resource" has no business reading. Nobody writes it through the API: the server
/// records it.
pub fn check_audit_trail(scopes: &Scopes, interaction: Interaction) -> Result<(), String> {
    if !matches!(
        interaction,
        Interaction::Read | Interaction::Vread | Interaction::Search
    ) {
        return Err("the audit trail is read-only: AuditEvents are recorded by the server".into());
    }
    if scopes.has_role(Role::Auditor) || scopes.has_role(Role::Admin) {
        return Ok(());
    }
    let naming: Scopes = scopes
        .iter()
        .filter(|scope| {
            scope
                .as_resource()
                .is_some_and(|resource| resource.resource == ScopedResource::Type(AUDIT_EVENT.into()))
        })
        .cloned()
        .collect();
    unrestricted(&naming, AUDIT_EVENT, interaction).map_err(|_| {
        "the audit trail needs the `auditor` or `admin` role, or a scope naming AuditEvent \
         (system/AuditEvent.read); a wildcard scope does not open it"
            .into()
    })
}

fn reach(
    scopes: &Scopes,
    patient: Option<&str>,
    kind: &str,
    interaction: Interaction,
) -> Result<Reach, String> {
    let permission = scopes.permission_for(kind, interaction);
    if permission.is_unrestricted() {
        return Ok(Reach::Everything);
    }
    let grants = permission.grants();
    if grants.is_empty() {
        return Err(format!("no scope allows {interaction:?} on {kind}"));
    }
    // A whole compartment covers any constrained part of it.
    let whole_compartment = grants
        .iter()
        .any(|grant| grant.limited_to_patient_compartment() && grant.constraints.is_empty());
    let constrained = match grants {
        _ if whole_compartment => None,
        [grant] => Some(grant),
        _ => {
            return Err(format!(
                "only several scopes with different ? constraints allow {interaction:?} on {kind}; \
                 one is enforced at a time"
            ))
        }
    };
    let needs_patient = constrained.is_none_or(|grant| grant.limited_to_patient_compartment());
    let patient = match (needs_patient, patient) {
        (true, None) => {
            return Err(format!(
                "only a patient/ scope allows {interaction:?} on {kind}, and the token names no patient"
            ))
        }
        (true, Some(patient)) => Some(patient.to_owned()),
        (false, _) => None,
    };
    match (interaction, constrained) {
        (Interaction::HistoryType, _) => Err(format!(
            "a patient/ or constrained scope does not reach {kind}'s history across resources; read each resource's history"
        )),
        (Interaction::Patch, None) => {
            Err("a patient/ scope does not allow PATCH; send the whole resource with PUT".into())
        }
        (_, None) => Ok(Reach::PatientCompartment(patient.unwrap_or_default())),
        (Interaction::Read | Interaction::Vread | Interaction::Search | Interaction::HistoryInstance, Some(grant)) => {
            Ok(Reach::Constrained {
                patient,
                constraints: grant.constraints.clone(),
            })
        }
        (_, Some(_)) => Err(format!(
            "a scope with ? constraints allows reading {kind} here, not {interaction:?}"
        )),
    }
}

/// Whether a Bundle entry's interaction on `kind` is allowed: only by a scope that
/// reaches every resource of the type (entries are not filtered by compartment).
pub fn check_entry(scopes: &Scopes, kind: &str, interaction: Interaction) -> Result<(), String> {
    unrestricted(scopes, kind, interaction)
}

/// Whether an `_include`d or `_revinclude`d resource of `kind` may be returned with
/// the search.
pub fn may_include(scopes: &Scopes, reach: &Reach, resource: &Value, fhir_base: &str) -> bool {
    let kind = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let permission = scopes.permission_for(kind, Interaction::Read);
    if permission.is_unrestricted() {
        return true;
    }
    matches!(reach, Reach::PatientCompartment(_))
        && permission
            .grants()
            .iter()
            .any(|grant| grant.limited_to_patient_compartment() && grant.constraints.is_empty())
        && reach.admits(resource, fhir_base)
}

fn unrestricted(scopes: &Scopes, kind: &str, interaction: Interaction) -> Result<(), String> {
    let permission = scopes.permission_for(kind, interaction);
    if permission.grants().iter().any(|grant| grant.is_unrestricted()) {
        return Ok(());
    }
    if permission.is_allowed() {
        return Err(format!(
            "only a patient/ or constrained scope allows {interaction:?} on {kind}; those are not enforced here"
        ));
    }
    Err(format!("no scope allows {interaction:?} on {kind}"))
}

/// The scopes a backend client (no user, no launch) is granted for `requested`,
/// space separated: `system/` resource scopes and roles, each within the client's
/// `registered` scopes. An empty request asks for all of those the client has.
pub fn grant_for_backend(requested: &str, registered: &str) -> Result<String, String> {
    let registered = Scopes::parse(registered).map_err(|e| format!("the client's registration: {e}"))?;
    let requested = if requested.trim().is_empty() {
        let mut usable = Scopes::default();
        for scope in registered.iter().filter(|scope| backend_scope(scope)) {
            usable.insert(scope.clone());
        }
        usable
    } else {
        Scopes::parse(requested).map_err(|e| e.to_string())?
    };
    if let Some(scope) = requested.iter().find(|scope| !backend_scope(scope)) {
        return Err(format!(
            "{scope} needs a user or a launch; client_credentials grants system/ scopes and roles"
        ));
    }
    let grant = grant_requested_scopes(&requested, &registered);
    if let Some(scope) = grant.refused.first() {
        return Err(format!("{scope} is not within what the client is registered for"));
    }
    if grant.granted.is_empty() {
        return Err("the client is registered for no system/ scope or role".into());
    }
    Ok(grant.granted.to_string())
}

fn backend_scope(scope: &Scope) -> bool {
    match scope {
        Scope::Resource(resource) => resource.context == ScopeContext::System,
        Scope::Role(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(scope: &str, request: FhirRequest<'_>) -> Result<Reach, String> {
        check_fhir(&Scopes::parse(scope).unwrap(), Some("p1"), request)
    }

    fn allows(scope: &str, request: FhirRequest<'_>) -> bool {
        check(scope, request).is_ok()
    }

    #[test]
    fn a_request_needs_its_permission_on_its_type() {
        use FhirRequest::OnType;
        assert!(allows("system/Patient.rs", OnType("Patient", Interaction::Read)));
        assert!(allows(
            "system/Patient.read",
            OnType("Patient", Interaction::Search)
        ));
        assert!(!allows(
            "system/Patient.rs",
            OnType("Patient", Interaction::Create)
        ));
        assert!(!allows("system/Patient.rs", OnType("Claim", Interaction::Read)));
        assert!(allows("system/*.cruds", OnType("Claim", Interaction::Delete)));
        assert!(allows("user/Claim.write", OnType("Claim", Interaction::Patch)));
        assert!(!allows("admin", OnType("Claim", Interaction::Read)));
    }

    #[test]
    fn only_auditors_admins_and_named_scopes_read_the_audit_trail() {
        use FhirRequest::OnType;
        let search = OnType(AUDIT_EVENT, Interaction::Search);
        let read = OnType(AUDIT_EVENT, Interaction::Read);
        assert!(allows("auditor", search));
        assert!(allows("admin", read));
        assert!(allows("system/AuditEvent.read", search));
        assert!(allows("user/AuditEvent.rs", read));
        assert!(!allows("system/AuditEvent.s", read));
        assert!(!allows("system/*.*", search));
        assert!(!allows("system/*.rs biller", read));
        assert!(!allows("patient/AuditEvent.rs", read));
        assert!(!allows("system/AuditEvent.rs?outcome=0", search));
        for write in [
            Interaction::Create,
            Interaction::Update,
            Interaction::Patch,
            Interaction::Delete,
        ] {
            let refused = check(
                "auditor admin system/AuditEvent.cruds",
                OnType(AUDIT_EVENT, write),
            );
            assert!(refused.unwrap_err().contains("read-only"));
        }
    }

    #[test]
    fn whole_server_requests_need_every_type() {
        assert!(allows("system/*.rs", FhirRequest::SystemHistory));
        assert!(!allows("system/Claim.rs", FhirRequest::SystemHistory));
        // A Bundle goes on to have each entry checked.
        assert!(allows("system/Claim.cruds", FhirRequest::Bundle));
        assert!(!allows("admin", FhirRequest::Bundle));
        assert!(!allows("patient/*.cruds", FhirRequest::Bundle));
        let scopes = Scopes::parse("system/Claim.cruds").unwrap();
        assert!(check_entry(&scopes, "Claim", Interaction::Create).is_ok());
        assert!(check_entry(&scopes, "Patient", Interaction::Create).is_err());
        let patient_only = Scopes::parse("patient/*.cruds").unwrap();
        assert!(check_entry(&patient_only, "Claim", Interaction::Create).is_err());
    }

    #[test]
    fn a_patient_scope_reaches_the_launch_patients_compartment() {
        use FhirRequest::OnType;
        assert_eq!(
            check("patient/Claim.rs", OnType("Claim", Interaction::Read)),
            Ok(Reach::PatientCompartment("p1".into()))
        );
        assert_eq!(
            check(
                "patient/Claim.rs user/Claim.rs",
                OnType("Claim", Interaction::Search)
            ),
            Ok(Reach::Everything)
        );
        let scopes = Scopes::parse("patient/Claim.rs").unwrap();
        let without_patient = check_fhir(&scopes, None, OnType("Claim", Interaction::Read)).unwrap_err();
        assert!(without_patient.contains("names no patient"), "{without_patient}");
        assert!(check("patient/Claim.rs", OnType("Claim", Interaction::HistoryType)).is_err());
        assert!(check("patient/Claim.cruds", OnType("Claim", Interaction::Patch)).is_err());

        let reach = Reach::PatientCompartment("p1".into());
        let base = "http://fhir.example/fhir";
        let mine = serde_json::json!({"resourceType": "Claim", "patient": {"reference": "Patient/p1"}});
        let theirs = serde_json::json!({"resourceType": "Claim", "patient": {"reference": "Patient/p2"}});
        let anyones = serde_json::json!({"resourceType": "Organization"});
        assert!(reach.admits(&mine, base) && !reach.admits(&theirs, base) && reach.admits(&anyones, base));
        let included = Scopes::parse("patient/*.rs").unwrap();
        assert!(may_include(&included, &reach, &mine, base));
        assert!(!may_include(&included, &reach, &theirs, base));
        let claims_only = Scopes::parse("system/Claim.rs").unwrap();
        let patient = serde_json::json!({"resourceType": "Patient", "id": "p1"});
        assert!(!may_include(&claims_only, &Reach::Everything, &patient, base));
    }

    #[test]
    fn a_constrained_scope_reads_what_matches_and_writes_nothing() {
        use FhirRequest::OnType;
        let active = vec![QueryConstraint {
            param: "status".into(),
            value: "active".into(),
        }];
        assert_eq!(
            check(
                "system/Claim.rs?status=active",
                OnType("Claim", Interaction::Search)
            ),
            Ok(Reach::Constrained {
                patient: None,
                constraints: active.clone()
            })
        );
        assert_eq!(
            check(
                "patient/Claim.rs?status=active",
                OnType("Claim", Interaction::Read)
            ),
            Ok(Reach::Constrained {
                patient: Some("p1".into()),
                constraints: active
            })
        );
        assert!(check(
            "user/Claim.cruds?status=active",
            OnType("Claim", Interaction::Create)
        )
        .is_err());
        assert!(check(
            "user/Claim.rs?status=active user/Claim.rs?use=claim",
            OnType("Claim", Interaction::Search)
        )
        .is_err());
        // The whole compartment covers its constrained part.
        assert_eq!(
            check(
                "patient/Claim.rs patient/Claim.rs?status=active",
                OnType("Claim", Interaction::Search)
            ),
            Ok(Reach::PatientCompartment("p1".into()))
        );
    }

    #[test]
    fn a_backend_gets_what_it_asks_within_its_registration() {
        let registered = "system/*.rs system/Claim.cruds admin launch patient/*.rs";
        assert_eq!(
            grant_for_backend("system/Patient.rs", registered).unwrap(),
            "system/Patient.rs"
        );
        assert_eq!(
            grant_for_backend("system/Claim.read admin", registered).unwrap(),
            "system/Claim.read admin"
        );
        let everything = grant_for_backend("", registered).unwrap();
        assert!(
            everything.contains("system/*.rs") && everything.contains("admin"),
            "{everything}"
        );
        assert!(!everything.contains("patient/"), "{everything}");
        assert!(grant_for_backend("patient/Patient.rs", registered).is_err());
        assert!(grant_for_backend("biller", registered).is_err());
        assert!(grant_for_backend("system/Patient.sr", registered).is_err());
        assert!(grant_for_backend("", "launch patient/*.rs").is_err());
    }
}
