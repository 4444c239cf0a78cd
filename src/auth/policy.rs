//! The decisions the gate and the token endpoint make from scopes
//! ([`super::scopes`]): whether a token's scopes allow a FHIR request, and which
//! scopes a backend client may be granted.
//!
//! What is not enforced per resource yet is refused rather than half-granted: a
//! request allowed only by a `patient/` scope (which limits results to the launch
//! patient's compartment) or only by a scope with `?` constraints (which limit
//! results to matching resources) gets 403, not everything of that type.

use super::scopes::{grant_requested_scopes, Interaction, Role, Scope, ScopeContext, ScopedResource, Scopes};
use crate::fhir::resource_type::ResourceType;

/// A FHIR request as the gate reads it from its method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FhirRequest<'a> {
    /// An interaction on one type (or one resource of it).
    OnType(&'a str, Interaction),
    /// `GET /_history`: every type's history.
    SystemHistory,
    /// A batch or transaction Bundle: any change to any type.
    Bundle,
}

/// Whether the token's scopes allow the request; why not otherwise.
pub fn check_fhir(scopes: &Scopes, request: FhirRequest<'_>) -> Result<(), String> {
    match request {
        FhirRequest::OnType(AUDIT_EVENT, interaction) => check_audit_trail(scopes, interaction),
        FhirRequest::OnType(kind, interaction) => unrestricted(scopes, kind, interaction),
        FhirRequest::SystemHistory => ResourceType::ALL
            .iter()
            .try_for_each(|kind| unrestricted(scopes, kind.as_str(), Interaction::HistoryType)),
        // Entries are checked as what they do once Bundles check them one by one; until
        // then a Bundle needs every change on every type.
        FhirRequest::Bundle => ResourceType::ALL.iter().try_for_each(|kind| {
            [Interaction::Create, Interaction::Update, Interaction::Delete]
                .into_iter()
                .try_for_each(|interaction| unrestricted(scopes, kind.as_str(), interaction))
        }),
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

fn unrestricted(scopes: &Scopes, kind: &str, interaction: Interaction) -> Result<(), String> {
    let permission = scopes.permission_for(kind, interaction);
    if permission.grants().iter().any(|grant| grant.is_unrestricted()) {
        return Ok(());
    }
    if permission.is_allowed() {
        return Err(format!(
            "only a patient/ or constrained scope allows {interaction:?} on {kind}; those are not enforced per resource yet"
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

    fn check(scope: &str, request: FhirRequest<'_>) -> Result<(), String> {
        check_fhir(&Scopes::parse(scope).unwrap(), request)
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
        assert!(allows("system/*.*", FhirRequest::Bundle));
        assert!(allows("system/*.cud", FhirRequest::Bundle));
        assert!(!allows("system/Claim.cruds", FhirRequest::Bundle));
    }

    #[test]
    fn narrowed_scopes_are_refused_until_enforced_per_resource() {
        let refused = check(
            "patient/Claim.rs",
            FhirRequest::OnType("Claim", Interaction::Read),
        )
        .unwrap_err();
        assert!(refused.contains("not enforced"), "{refused}");
        let refused = check(
            "system/Claim.rs?status=active",
            FhirRequest::OnType("Claim", Interaction::Search),
        )
        .unwrap_err();
        assert!(refused.contains("not enforced"), "{refused}");
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
