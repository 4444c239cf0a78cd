//! SMART on FHIR scopes and the permission decisions made from them.
//!
//! This module is pure: it parses scope strings, decides what a set of scopes allows,
//! says which resources are in a patient's compartment and narrows a requested scope
//! string to what a client is registered for. It does no I/O and knows nothing of
//! tokens or HTTP, so the token endpoint, the JWT verifier and the request middleware
//! can all share one meaning of a scope, and every rule here is unit-tested on its own.
//!
//! Both SMART notations are accepted, because EHRs and apps in the field still send
//! v1 while new clients send v2 (SMART App Launch 2.x, "Scopes and Launch Context"):
//!
//! - v1: `patient/Claim.read` (read and search), `user/*.write` (create, update,
//!   delete), `system/*.*` (everything);
//! - v2: `patient/Patient.rs`, `user/Claim.cruds`: the letters c r u d s, each at most
//!   once and in that order, optionally followed by `?param=value&…` constraints that
//!   every resource reached through the scope must also satisfy.
//!
//! Both are parsed into one [`ResourceScope`] holding a set of [`Permissions`], so the
//! decisions below never ask which notation a scope came in; the notation is kept only
//! to write a scope back the way its client understands it.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

/// The prefix of a resource scope: whose data the scope opens.
///
/// `patient/` grants reach only the launch patient's compartment; `user/` grants reach
/// whatever the signed-in user may see; `system/` grants are for back-end services with
/// no user. Only `patient/` narrows results in this module; what a user may see beyond
/// their scopes is the business of the caller (tenants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeContext {
    Patient,
    User,
    System,
}

impl ScopeContext {
    pub const ALL: [ScopeContext; 3] = [ScopeContext::Patient, ScopeContext::User, ScopeContext::System];

    /// The prefix as written in a scope, without the slash.
    pub fn prefix(self) -> &'static str {
        match self {
            ScopeContext::Patient => "patient",
            ScopeContext::User => "user",
            ScopeContext::System => "system",
        }
    }

    fn from_prefix(prefix: &str) -> Option<Self> {
        ScopeContext::ALL
            .into_iter()
            .find(|context| context.prefix() == prefix)
    }
}

impl fmt::Display for ScopeContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

/// A set of SMART v2 permission letters: create, read, update, delete, search.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

impl Permissions {
    pub const NONE: Permissions = Permissions(0);
    pub const CREATE: Permissions = Permissions(1);
    pub const READ: Permissions = Permissions(1 << 1);
    pub const UPDATE: Permissions = Permissions(1 << 2);
    pub const DELETE: Permissions = Permissions(1 << 3);
    pub const SEARCH: Permissions = Permissions(1 << 4);
    pub const ALL: Permissions = Permissions(0b1_1111);

    /// What a v1 `.read` scope means in v2 terms (SMART 2.x maps it to `.rs`).
    pub const V1_READ: Permissions = Permissions(Self::READ.0 | Self::SEARCH.0);
    /// What a v1 `.write` scope means in v2 terms (SMART 2.x maps it to `.cud`).
    pub const V1_WRITE: Permissions = Permissions(Self::CREATE.0 | Self::UPDATE.0 | Self::DELETE.0);

    /// The letters in the only order SMART v2 allows.
    const LETTERS: [(char, Permissions); 5] = [
        ('c', Permissions::CREATE),
        ('r', Permissions::READ),
        ('u', Permissions::UPDATE),
        ('d', Permissions::DELETE),
        ('s', Permissions::SEARCH),
    ];

    pub fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn intersects(self, other: Permissions) -> bool {
        self.0 & other.0 != 0
    }

    pub fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    pub fn intersection(self, other: Permissions) -> Permissions {
        Permissions(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses v2 letters (`rs`, `cruds`). `None` unless the letters are a non-empty
    /// subsequence of `cruds`: SMART requires that order, and rejecting `sr` or `rr`
    /// keeps one spelling per permission set, so scopes compare as strings in logs.
    pub fn from_v2_letters(letters: &str) -> Option<Permissions> {
        let mut permissions = Permissions::NONE;
        let mut remaining = Self::LETTERS.iter();
        for letter in letters.chars() {
            // Searching forward only: a letter already passed (out of order or
            // repeated) is not found and makes the whole string invalid.
            let (_, permission) = remaining.find(|(candidate, _)| *candidate == letter)?;
            permissions = permissions.union(*permission);
        }
        (!permissions.is_empty()).then_some(permissions)
    }

    /// The v2 letters, in order.
    pub fn v2_letters(self) -> String {
        Self::LETTERS
            .iter()
            .filter(|(_, permission)| self.contains(*permission))
            .map(|(letter, _)| *letter)
            .collect()
    }

    /// The v1 suffix meaning exactly these permissions, if there is one.
    fn v1_suffix(self) -> Option<&'static str> {
        match self {
            Permissions::V1_READ => Some("read"),
            Permissions::V1_WRITE => Some("write"),
            Permissions::ALL => Some("*"),
            _ => None,
        }
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Permissions({})", self.v2_letters())
    }
}

/// The resource type part of a scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScopedResource {
    /// `*`: every resource type.
    AnyType,
    /// One resource type, by its FHIR name (`Claim`). Any well-formed name is kept,
    /// not only the types this server stores, so a token naming `Observation` still
    /// parses and simply never matches here.
    Type(String),
}

impl ScopedResource {
    pub fn matches(&self, resource_type: &str) -> bool {
        match self {
            ScopedResource::AnyType => true,
            ScopedResource::Type(name) => name == resource_type,
        }
    }

    fn parse(text: &str) -> Option<ScopedResource> {
        if text == "*" {
            return Some(ScopedResource::AnyType);
        }
        // FHIR type names are an upper-case letter then letters and digits.
        let mut chars = text.chars();
        let well_formed = chars.next().is_some_and(|first| first.is_ascii_uppercase())
            && chars.all(|c| c.is_ascii_alphanumeric());
        well_formed.then(|| ScopedResource::Type(text.to_owned()))
    }
}

impl fmt::Display for ScopedResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopedResource::AnyType => f.write_str("*"),
            ScopedResource::Type(name) => f.write_str(name),
        }
    }
}

/// One `param=value` after the `?` of a v2 scope: a resource reached through the scope
/// must match it as a search with that parameter would.
///
/// Only simple constraints are accepted: a search parameter name (letters, digits, `-`,
/// `_`; no modifiers or chains) and a verbatim value (no `%`-escapes, which would need
/// decoding this module does not guess at). Anything else makes the scope invalid
/// rather than being half-understood: ignoring a constraint would widen the grant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueryConstraint {
    pub param: String,
    pub value: String,
}

impl QueryConstraint {
    fn parse(pair: &str) -> Option<QueryConstraint> {
        let (param, value) = pair.split_once('=')?;
        let param_ok = !param.is_empty()
            && param
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let value_ok = !value.is_empty() && !value.contains(['=', '%', '?', '#']);
        (param_ok && value_ok).then(|| QueryConstraint {
            param: param.to_owned(),
            value: value.to_owned(),
        })
    }
}

impl fmt::Display for QueryConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.param, self.value)
    }
}

/// Which SMART version's spelling a resource scope was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeNotation {
    V1,
    V2,
}

/// A scope that grants access to FHIR resources: `context/Type.permissions[?constraints]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceScope {
    pub context: ScopeContext,
    pub resource: ScopedResource,
    pub permissions: Permissions,
    /// All must hold (they are `&`-joined), sorted and without repeats so that equal
    /// scopes compare equal.
    pub constraints: Vec<QueryConstraint>,
    pub notation: ScopeNotation,
}

impl ResourceScope {
    fn parse(scope: &str) -> Result<ResourceScope, InvalidScopeReason> {
        let (prefix, rest) = scope.split_once('/').ok_or(InvalidScopeReason::Unknown)?;
        let context = ScopeContext::from_prefix(prefix).ok_or(InvalidScopeReason::Unknown)?;
        let (target, query) = match rest.split_once('?') {
            Some((target, query)) => (target, Some(query)),
            None => (rest, None),
        };
        let (resource, permission_text) = target
            .split_once('.')
            .ok_or(InvalidScopeReason::MissingPermissions)?;
        let resource = ScopedResource::parse(resource).ok_or(InvalidScopeReason::BadResourceType)?;
        let (permissions, notation) = match permission_text {
            "read" => (Permissions::V1_READ, ScopeNotation::V1),
            "write" => (Permissions::V1_WRITE, ScopeNotation::V1),
            "*" => (Permissions::ALL, ScopeNotation::V1),
            letters => (
                Permissions::from_v2_letters(letters).ok_or(InvalidScopeReason::BadPermissions)?,
                ScopeNotation::V2,
            ),
        };
        let constraints = match query {
            None => Vec::new(),
            // Constraints are a v2 feature; a v1 scope with `?` is not something a
            // conforming client sends, so it is refused, not read as unconstrained.
            Some(_) if notation == ScopeNotation::V1 => return Err(InvalidScopeReason::ConstraintOnV1Scope),
            Some(query) => {
                let mut constraints = query
                    .split('&')
                    .map(QueryConstraint::parse)
                    .collect::<Option<Vec<_>>>()
                    .ok_or(InvalidScopeReason::MalformedConstraint)?;
                constraints.sort();
                constraints.dedup();
                constraints
            }
        };
        Ok(ResourceScope {
            context,
            resource,
            permissions,
            constraints,
            notation,
        })
    }
}

impl fmt::Display for ResourceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}.", self.context, self.resource)?;
        let v1_suffix = self.permissions.v1_suffix();
        match v1_suffix {
            Some(suffix) if self.notation == ScopeNotation::V1 && self.constraints.is_empty() => {
                f.write_str(suffix)
            }
            _ => {
                f.write_str(&self.permissions.v2_letters())?;
                for (index, constraint) in self.constraints.iter().enumerate() {
                    f.write_str(if index == 0 { "?" } else { "&" })?;
                    write!(f, "{constraint}")?;
                }
                Ok(())
            }
        }
    }
}

/// Claimbridge's own roles, for the APIs that are not FHIR resources: `admin` for
/// `/admin`, `auditor` for reading the audit trail, `biller` for the billing API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Auditor,
    Biller,
}

/// One scope of a token or a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Resource(ResourceScope),
    /// `openid`: an id token is wanted.
    OpenId,
    /// `fhirUser`: the id token names the user's FHIR resource.
    FhirUser,
    /// `launch`: an EHR launch, with a launch context from the EHR.
    Launch,
    /// `launch/patient`: a standalone launch asking for a patient to be chosen.
    LaunchPatient,
    /// `launch/encounter`: a standalone launch asking for an encounter to be chosen.
    LaunchEncounter,
    /// `offline_access`: a refresh token that outlives the session.
    OfflineAccess,
    /// `online_access`: a refresh token valid while the user is signed in.
    OnlineAccess,
    Role(Role),
}

/// The scopes that are single fixed words, with how they are written.
const NAMED_SCOPES: [(&str, Scope); 10] = [
    ("openid", Scope::OpenId),
    ("fhirUser", Scope::FhirUser),
    ("launch", Scope::Launch),
    ("launch/patient", Scope::LaunchPatient),
    ("launch/encounter", Scope::LaunchEncounter),
    ("offline_access", Scope::OfflineAccess),
    ("online_access", Scope::OnlineAccess),
    ("admin", Scope::Role(Role::Admin)),
    ("auditor", Scope::Role(Role::Auditor)),
    ("biller", Scope::Role(Role::Biller)),
];

impl Scope {
    pub fn as_resource(&self) -> Option<&ResourceScope> {
        match self {
            Scope::Resource(scope) => Some(scope),
            _ => None,
        }
    }
}

impl FromStr for Scope {
    type Err = InvalidScope;

    fn from_str(text: &str) -> Result<Scope, InvalidScope> {
        if let Some((_, scope)) = NAMED_SCOPES.iter().find(|(name, _)| *name == text) {
            return Ok(scope.clone());
        }
        ResourceScope::parse(text)
            .map(Scope::Resource)
            .map_err(|reason| InvalidScope {
                scope: text.to_owned(),
                reason,
            })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Resource(scope) => write!(f, "{scope}"),
            named => {
                let name = NAMED_SCOPES
                    .iter()
                    .find(|(_, scope)| scope == named)
                    .map(|(name, _)| *name)
                    .unwrap_or_default();
                f.write_str(name)
            }
        }
    }
}

/// Why one scope was not understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidScopeReason {
    /// Not a known word and not `patient/`, `user/` or `system/` followed by a resource.
    Unknown,
    /// A resource scope without `.permissions`.
    MissingPermissions,
    /// Neither `*` nor a FHIR type name.
    BadResourceType,
    /// Not `read`, `write`, `*`, nor v2 letters in `cruds` order without repeats.
    BadPermissions,
    /// `?` constraints on a v1 scope (`.read`, `.write`, `.*`).
    ConstraintOnV1Scope,
    /// A constraint that is not a simple `param=value`.
    MalformedConstraint,
}

impl fmt::Display for InvalidScopeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidScopeReason::Unknown => "unknown scope",
            InvalidScopeReason::MissingPermissions => "no permissions after the resource type",
            InvalidScopeReason::BadResourceType => "not a resource type or *",
            InvalidScopeReason::BadPermissions => {
                "permissions must be read, write, * or letters of cruds in that order"
            }
            InvalidScopeReason::ConstraintOnV1Scope => "query constraints need SMART v2 permissions",
            InvalidScopeReason::MalformedConstraint => "constraints must be simple param=value pairs",
        })
    }
}

/// A scope that was not understood, as it was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{scope}`: {reason}")]
pub struct InvalidScope {
    pub scope: String,
    pub reason: InvalidScopeReason,
}

/// A scope string held scopes that were not understood; all of them are listed, so a
/// client (or an operator reading the token endpoint's answer) can fix them at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scopes: {}", list_invalid(.invalid))]
pub struct ScopeParseError {
    pub invalid: Vec<InvalidScope>,
}

fn list_invalid(invalid: &[InvalidScope]) -> String {
    invalid
        .iter()
        .map(InvalidScope::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The scopes of a token or a request, in the order they were written, without repeats.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes {
    scopes: Vec<Scope>,
}

impl Scopes {
    /// Parses a space-separated scope string (RFC 6749 §3.3; runs of whitespace are
    /// tolerated). Every scope must be understood: this is for scopes a client asks
    /// this server for and for tokens this server issued.
    pub fn parse(text: &str) -> Result<Scopes, ScopeParseError> {
        let (scopes, invalid) = Scopes::parse_lenient(text);
        if invalid.is_empty() {
            Ok(scopes)
        } else {
            Err(ScopeParseError { invalid })
        }
    }

    /// Parses a scope string, dropping the scopes that are not understood and
    /// returning them beside the rest. For tokens from external issuers, which may
    /// carry scopes meant for other servers. Dropping can only take grants away: a
    /// constrained scope whose constraint is not understood is dropped whole, never
    /// kept without its constraint.
    pub fn parse_lenient(text: &str) -> (Scopes, Vec<InvalidScope>) {
        let mut scopes = Scopes::default();
        let mut invalid = Vec::new();
        for word in text.split_ascii_whitespace() {
            match word.parse::<Scope>() {
                Ok(scope) => scopes.insert(scope),
                Err(error) => invalid.push(error),
            }
        }
        (scopes, invalid)
    }

    /// Adds a scope unless an equal one is already there.
    pub fn insert(&mut self, scope: Scope) {
        if !self.scopes.contains(&scope) {
            self.scopes.push(scope);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.scopes.iter()
    }

    pub fn resource_scopes(&self) -> impl Iterator<Item = &ResourceScope> {
        self.scopes.iter().filter_map(Scope::as_resource)
    }

    pub fn contains(&self, scope: &Scope) -> bool {
        self.scopes.contains(scope)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.contains(&Scope::Role(role))
    }

    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    pub fn len(&self) -> usize {
        self.scopes.len()
    }
}

impl FromStr for Scopes {
    type Err = ScopeParseError;

    fn from_str(text: &str) -> Result<Scopes, ScopeParseError> {
        Scopes::parse(text)
    }
}

/// The space-separated form, as a token's `scope` claim carries it.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, scope) in self.scopes.iter().enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{scope}")?;
        }
        Ok(())
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Scopes {
        let mut scopes = Scopes::default();
        for scope in iter {
            scopes.insert(scope);
        }
        scopes
    }
}

/// A FHIR interaction, as far as scopes care. Bundles, `_include` and conditional
/// interactions are checked by the caller as the interactions they are made of: each
/// Bundle entry on its own, each included resource as a [`Interaction::Read`] of its
/// type, a conditional create as a search and a create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interaction {
    Read,
    Vread,
    /// `GET [type]/[id]/_history`: earlier versions of a resource the client named, so
    /// a read of it (SMART maps it to `r`).
    HistoryInstance,
    /// `GET [type]/_history`, and a type's share of `GET /_history`: it lists
    /// resources the client did not name, like a search (SMART maps it to `s`).
    HistoryType,
    Search,
    Create,
    Update,
    /// A patch changes a resource as an update does (SMART maps it to `u`).
    Patch,
    Delete,
    /// `POST [type]/$validate`: the resource to check is in the request and nothing
    /// stored is read or written, so any of `c`, `r` or `u` on the type allows it — a
    /// client that may create or update the type learns the same by trying, and one
    /// that may read it learns nothing new. A `d`- or `s`-only client has no reason to.
    ValidateType,
    /// `POST [type]/[id]/$validate`: checked against the stored resource (for a Claim,
    /// also against what it references, when it is scrubbed), whose content the outcome
    /// can reveal; so a read of that resource.
    ValidateInstance,
    /// Any other operation. What it reads and changes is not known here, so it needs
    /// every permission on the type; an operation whose effect is known should be
    /// checked as the interactions it performs instead.
    Operation,
}

impl Interaction {
    /// Whether a scope with these permissions allows the interaction.
    pub fn is_allowed_by(self, permissions: Permissions) -> bool {
        match self {
            Interaction::Read
            | Interaction::Vread
            | Interaction::HistoryInstance
            | Interaction::ValidateInstance => permissions.contains(Permissions::READ),
            Interaction::Search | Interaction::HistoryType => permissions.contains(Permissions::SEARCH),
            Interaction::Create => permissions.contains(Permissions::CREATE),
            Interaction::Update | Interaction::Patch => permissions.contains(Permissions::UPDATE),
            Interaction::Delete => permissions.contains(Permissions::DELETE),
            Interaction::ValidateType => permissions.intersects(
                Permissions::CREATE
                    .union(Permissions::READ)
                    .union(Permissions::UPDATE),
            ),
            Interaction::Operation => permissions.contains(Permissions::ALL),
        }
    }
}

/// One way an interaction is allowed: by the scopes of one context that share the
/// same constraints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub context: ScopeContext,
    /// Every resource the interaction reads or writes through this grant must match
    /// all of these (empty: no constraint).
    pub constraints: Vec<QueryConstraint>,
}

impl Grant {
    /// A `patient/` grant reaches only the launch patient's compartment.
    pub fn limited_to_patient_compartment(&self) -> bool {
        self.context == ScopeContext::Patient
    }

    /// Neither compartment nor constraints narrow this grant.
    pub fn is_unrestricted(&self) -> bool {
        !self.limited_to_patient_compartment() && self.constraints.is_empty()
    }
}

/// What a token's scopes allow for one interaction on one resource type.
///
/// Denied when there is no grant. Otherwise a resource may be returned or changed when
/// it satisfies at least one grant: it is in the launch patient's compartment if the
/// grant is a `patient/` one, and matches all the grant's constraints. Grants that add
/// nothing to another of the same context (more constraints than it) are left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permission {
    grants: Vec<Grant>,
}

impl Permission {
    pub fn denied() -> Permission {
        Permission::default()
    }

    pub fn is_allowed(&self) -> bool {
        !self.grants.is_empty()
    }

    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// The contexts whose scopes allow the interaction, in the order patient, user,
    /// system, without repeats.
    pub fn granted_contexts(&self) -> Vec<ScopeContext> {
        let mut contexts: Vec<_> = self.grants.iter().map(|grant| grant.context).collect();
        contexts.sort();
        contexts.dedup();
        contexts
    }

    /// Allowed, but only through `patient/` scopes: the caller must restrict the
    /// request to the launch patient's compartment (and deny it without one).
    pub fn limited_to_patient_compartment(&self) -> bool {
        self.is_allowed() && self.grants.iter().all(Grant::limited_to_patient_compartment)
    }

    /// Allowed by a `user/` or `system/` scope without constraints: no result needs
    /// filtering.
    pub fn is_unrestricted(&self) -> bool {
        self.grants.iter().any(Grant::is_unrestricted)
    }

    fn from_grants(mut grants: Vec<Grant>) -> Permission {
        // A grant is redundant when another of its context asks for a subset of its
        // constraints: whatever satisfies it satisfies the other too.
        let mut index = 0;
        while index < grants.len() {
            let redundant = grants.iter().enumerate().any(|(other, candidate)| {
                other != index
                    && candidate.context == grants[index].context
                    && is_subset(&candidate.constraints, &grants[index].constraints)
                    && (candidate.constraints != grants[index].constraints || other < index)
            });
            if redundant {
                grants.remove(index);
            } else {
                index += 1;
            }
        }
        Permission { grants }
    }
}

/// Whether every element of `part` is in `whole`.
fn is_subset<T: PartialEq>(part: &[T], whole: &[T]) -> bool {
    part.iter().all(|element| whole.contains(element))
}

impl Scopes {
    /// What the scopes of one context allow for an interaction on a resource type.
    ///
    /// Scopes add up: `user/Claim.cr` and `user/Claim.uds` together allow what
    /// `user/Claim.cruds` does, and an unconstrained scope's permissions also apply to
    /// the narrower set a constrained scope of the same context describes.
    pub fn permits(
        &self,
        context: ScopeContext,
        resource_type: &str,
        interaction: Interaction,
    ) -> Permission {
        let matching: Vec<&ResourceScope> = self
            .resource_scopes()
            .filter(|scope| scope.context == context && scope.resource.matches(resource_type))
            .collect();
        let mut grants: Vec<Grant> = Vec::new();
        for scope in &matching {
            let permissions = matching
                .iter()
                .filter(|other| is_subset(&other.constraints, &scope.constraints))
                .fold(Permissions::NONE, |sum, other| sum.union(other.permissions));
            let grant = Grant {
                context,
                constraints: scope.constraints.clone(),
            };
            if interaction.is_allowed_by(permissions) && !grants.contains(&grant) {
                grants.push(grant);
            }
        }
        Permission::from_grants(grants)
    }

    /// What all the scopes allow for an interaction on a resource type: the request is
    /// allowed when a scope of any context allows it, and the grants say which.
    pub fn permission_for(&self, resource_type: &str, interaction: Interaction) -> Permission {
        let grants = ScopeContext::ALL
            .into_iter()
            .flat_map(|context| self.permits(context, resource_type, interaction).grants)
            .collect();
        Permission { grants }
    }
}

/// The patient whose compartment a `patient/` grant opens: the token's launch patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompartmentPatient<'a> {
    /// The Patient resource's id on this server.
    pub id: &'a str,
    /// This server's FHIR base URL (`{public url}/fhir`). An absolute reference counts
    /// only when it points here: the same id on another server is another patient.
    pub fhir_base: &'a str,
}

impl CompartmentPatient<'_> {
    /// Whether a literal reference names this patient: `Patient/123`,
    /// `Patient/123/_history/2`, or either after this server's base URL. Contained
    /// (`#p1`), placeholder (`urn:uuid:…`), conditional (`Patient?identifier=…`) and
    /// identifier-only references never do: they cannot be checked without resolving.
    pub fn is_named_by(&self, reference: &str) -> bool {
        if self.id.is_empty() {
            return false;
        }
        let relative = if reference.contains(':') {
            let base = self.fhir_base.trim_end_matches('/');
            match reference
                .strip_prefix(base)
                .and_then(|rest| rest.strip_prefix('/'))
            {
                Some(relative) if !base.is_empty() => relative,
                _ => return false,
            }
        } else {
            reference
        };
        let segments: Vec<&str> = relative.split('/').collect();
        match segments.as_slice() {
            ["Patient", id] => *id == self.id,
            ["Patient", id, "_history", version] => *id == self.id && !version.is_empty(),
            _ => false,
        }
    }
}

/// Where a resource of a compartment type says whom it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompartmentElement {
    /// The resource is the patient (a Patient's own `id`).
    OwnId,
    /// References at this path from the resource root; arrays on the way are walked.
    ReferenceAt(&'static [&'static str]),
}

/// One way a resource joins the patient compartment: an R4 search parameter and the
/// element it searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompartmentLink {
    pub search_param: &'static str,
    pub element: CompartmentElement,
}

impl CompartmentLink {
    const fn reference(search_param: &'static str, path: &'static [&'static str]) -> CompartmentLink {
        CompartmentLink {
            search_param,
            element: CompartmentElement::ReferenceAt(path),
        }
    }

    fn names(&self, resource: &Value, patient: &CompartmentPatient) -> bool {
        match self.element {
            CompartmentElement::OwnId => {
                !patient.id.is_empty() && resource.get("id").and_then(Value::as_str) == Some(patient.id)
            }
            CompartmentElement::ReferenceAt(path) => values_at(resource, path).into_iter().any(|reference| {
                reference
                    .get("reference")
                    .and_then(Value::as_str)
                    .is_some_and(|literal| patient.is_named_by(literal))
            }),
        }
    }
}

/// The values at a path of member names, with arrays on the way (and at the end)
/// flattened.
fn values_at<'v>(value: &'v Value, path: &[&str]) -> Vec<&'v Value> {
    let mut current = vec![value];
    for name in path {
        current = current
            .into_iter()
            .filter_map(|value| value.get(*name))
            .flat_map(|child| match child {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            })
            .collect();
    }
    current
}

/// How a `patient/` grant applies to a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientAccess {
    /// Resources of the type are in a patient's compartment when one of these links
    /// names the patient; a `patient/` grant reaches only those.
    Compartment(&'static [CompartmentLink]),
    /// Directory data (Organization, Practitioner, Location): R4 puts it in no
    /// patient's compartment because it belongs to none, so a `patient/` scope that
    /// names the type reads it without narrowing, as an app needs to show who
    /// provided the care.
    NotPatientSpecific,
    /// A `patient/` grant never reaches the type: AuditEvent (R4 puts it in the
    /// compartment by `patient`, but who accessed a record is for auditors, not for
    /// patient apps) and every type this server does not store, so a type added later
    /// stays closed to patient scopes until it is placed here.
    Never,
}

// Patient compartment membership of the types this server stores, from the R4 (4.0.1)
// CompartmentDefinition `patient` (http://hl7.org/fhir/R4/compartmentdefinition-patient.json,
// `resource[].param`), including every param it lists for these types, not only the
// obvious one: a Coverage is also the policy holder's and a self-pay payor's, a Claim
// also its payee's, a Patient also that of the patient its `link` points to. The
// element each param searches is its SearchParameter's `expression` in
// fhir-profiles/search-parameters.json (the official R4 definitions; a test below
// checks the two agree). The first link of each type is the one a search is best
// narrowed by.
const PATIENT_LINKS: [CompartmentLink; 2] = [
    // The compartment's identity is the patient itself, found by `_id`.
    CompartmentLink {
        search_param: "_id",
        element: CompartmentElement::OwnId,
    },
    CompartmentLink::reference("link", &["link", "other"]),
];
const COVERAGE_LINKS: [CompartmentLink; 4] = [
    CompartmentLink::reference("beneficiary", &["beneficiary"]),
    CompartmentLink::reference("subscriber", &["subscriber"]),
    CompartmentLink::reference("policy-holder", &["policyHolder"]),
    CompartmentLink::reference("payor", &["payor"]),
];
// `patient` is `Encounter.subject.where(resolve() is Patient)`: only a Patient
// reference can name the patient, so the subject is checked as it is.
const ENCOUNTER_LINKS: [CompartmentLink; 1] = [CompartmentLink::reference("patient", &["subject"])];
const CLAIM_LINKS: [CompartmentLink; 2] = [
    CompartmentLink::reference("patient", &["patient"]),
    CompartmentLink::reference("payee", &["payee", "party"]),
];
const PATIENT_ELEMENT_LINKS: [CompartmentLink; 1] = [CompartmentLink::reference("patient", &["patient"])];

/// How a `patient/` grant applies to resources of a type (by its FHIR name).
pub fn patient_access(resource_type: &str) -> PatientAccess {
    match resource_type {
        "Patient" => PatientAccess::Compartment(&PATIENT_LINKS),
        "Coverage" => PatientAccess::Compartment(&COVERAGE_LINKS),
        "Encounter" => PatientAccess::Compartment(&ENCOUNTER_LINKS),
        "Claim" => PatientAccess::Compartment(&CLAIM_LINKS),
        "ClaimResponse" | "CoverageEligibilityRequest" | "CoverageEligibilityResponse" => {
            PatientAccess::Compartment(&PATIENT_ELEMENT_LINKS)
        }
        "Organization" | "Practitioner" | "Location" => PatientAccess::NotPatientSpecific,
        _ => PatientAccess::Never,
    }
}

/// Whether a resource (with its `resourceType`) is in the patient's compartment.
/// Resources of types outside the compartment never are.
pub fn is_in_patient_compartment(resource: &Value, patient: &CompartmentPatient) -> bool {
    let resource_type = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match patient_access(resource_type) {
        PatientAccess::Compartment(links) => links.iter().any(|link| link.names(resource, patient)),
        PatientAccess::NotPatientSpecific | PatientAccess::Never => false,
    }
}

/// One search parameter and value that finds resources in a patient's compartment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRestriction {
    pub param: &'static str,
    pub value: String,
}

/// The searches that find a type's resources in the patient's compartment, or `None`
/// for a type outside it. A resource is in the compartment when it matches ANY one;
/// FHIR search parameters combine with AND, so a caller either runs one search per
/// restriction, or adds only the first (the type's main link: Patient `_id`, Coverage
/// `beneficiary`, Encounter, Claim and the rest `patient`), which can miss members but
/// never lets another patient's resource through. Either way, check each result with
/// [`is_in_patient_compartment`] or [`Permission::admits`] too.
pub fn compartment_search_restrictions(
    resource_type: &str,
    patient_id: &str,
) -> Option<Vec<SearchRestriction>> {
    let PatientAccess::Compartment(links) = patient_access(resource_type) else {
        return None;
    };
    let restrictions = links
        .iter()
        .map(|link| SearchRestriction {
            param: link.search_param,
            value: match link.element {
                CompartmentElement::OwnId => patient_id.to_owned(),
                CompartmentElement::ReferenceAt(_) => format!("Patient/{patient_id}"),
            },
        })
        .collect();
    Some(restrictions)
}

impl Grant {
    /// Whether a resource is within this grant's reach: in the patient's compartment
    /// for a `patient/` grant (or of a type no patient owns), and matching every
    /// constraint. `matches_constraint` is the caller's search-parameter matching, which
    /// this module does not duplicate. Without a launch patient, a `patient/` grant
    /// reaches nothing that belongs to a patient.
    pub fn admits(
        &self,
        resource: &Value,
        patient: Option<&CompartmentPatient>,
        matches_constraint: impl Fn(&QueryConstraint, &Value) -> bool,
    ) -> bool {
        let within_reach = !self.limited_to_patient_compartment() || {
            let resource_type = resource
                .get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match patient_access(resource_type) {
                PatientAccess::Compartment(_) => {
                    patient.is_some_and(|patient| is_in_patient_compartment(resource, patient))
                }
                PatientAccess::NotPatientSpecific => true,
                PatientAccess::Never => false,
            }
        };
        within_reach
            && self
                .constraints
                .iter()
                .all(|constraint| matches_constraint(constraint, resource))
    }
}

impl Permission {
    /// Whether a resource the interaction reads or writes (each search result, each
    /// resource created, the stored and the new version of an update) is allowed:
    /// some grant admits it.
    pub fn admits(
        &self,
        resource: &Value,
        patient: Option<&CompartmentPatient>,
        matches_constraint: impl Fn(&QueryConstraint, &Value) -> bool,
    ) -> bool {
        self.grants
            .iter()
            .any(|grant| grant.admits(resource, patient, &matches_constraint))
    }
}

impl ScopedResource {
    /// Whether every type `other` names is also named by `self`.
    fn covers(&self, other: &ScopedResource) -> bool {
        match (self, other) {
            (ScopedResource::AnyType, _) => true,
            (ScopedResource::Type(mine), ScopedResource::Type(theirs)) => mine == theirs,
            (ScopedResource::Type(_), ScopedResource::AnyType) => false,
        }
    }

    /// The narrower of two, or `None` when they name different types.
    fn narrowest(&self, other: &ScopedResource) -> Option<ScopedResource> {
        if self.covers(other) {
            Some(other.clone())
        } else if other.covers(self) {
            Some(self.clone())
        } else {
            None
        }
    }
}

impl ResourceScope {
    /// What this scope and another both allow, or `None` when that is nothing: the
    /// same context, the narrower resource, the common permissions, and the
    /// constraints of both. Kept in this scope's notation where it can say it.
    fn intersection(&self, other: &ResourceScope) -> Option<ResourceScope> {
        if self.context != other.context {
            return None;
        }
        let resource = self.resource.narrowest(&other.resource)?;
        let permissions = self.permissions.intersection(other.permissions);
        if permissions.is_empty() {
            return None;
        }
        let mut constraints = self.constraints.clone();
        constraints.extend(other.constraints.iter().cloned());
        constraints.sort();
        constraints.dedup();
        let expressible_in_v1 = permissions.v1_suffix().is_some() && constraints.is_empty();
        let notation = match self.notation {
            ScopeNotation::V1 if expressible_in_v1 => ScopeNotation::V1,
            _ => ScopeNotation::V2,
        };
        Some(ResourceScope {
            context: self.context,
            resource,
            permissions,
            constraints,
            notation,
        })
    }

    /// Whether this scope allows everything `other` does.
    pub fn covers(&self, other: &ResourceScope) -> bool {
        self.context == other.context
            && self.resource.covers(&other.resource)
            && self.permissions.contains(other.permissions)
            && is_subset(&self.constraints, &other.constraints)
    }
}

/// The scopes a token endpoint may issue for a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeGrant {
    /// The requested scopes, each narrowed to what the client is registered for.
    pub granted: Scopes,
    /// Requested scopes of which nothing could be granted (for the token response's
    /// `scope` being shorter, or an `invalid_scope` error if nothing is left).
    pub refused: Vec<Scope>,
}

/// Narrows the scopes a client requests to those it is registered for.
///
/// A resource scope is granted as far as some registered scope of the same context
/// allows it: `patient/Claim.rs` under `patient/*.rs` or `patient/*.read` in full,
/// `patient/Claim.cruds` under `patient/*.rs` as `patient/Claim.rs`, `patient/*.rs`
/// under `patient/Claim.rs patient/Coverage.r` as those two, and a registered
/// constraint always carries over. `user/Claim.rs` under `patient/*.rs` gets nothing:
/// contexts never substitute for each other. Other scopes (`openid`, `launch/patient`,
/// roles…) are granted only when registered as they are. A granted scope that another
/// granted scope covers is left out. An empty request grants nothing; whether it means
/// "the client's registered scopes" is the token endpoint's decision.
pub fn grant_requested_scopes(requested: &Scopes, client_allowed: &Scopes) -> ScopeGrant {
    let mut candidates: Vec<Scope> = Vec::new();
    let mut refused = Vec::new();
    for scope in requested.iter() {
        let narrowed: Vec<Scope> = match scope {
            Scope::Resource(wanted) => client_allowed
                .resource_scopes()
                .filter_map(|registered| wanted.intersection(registered))
                .map(Scope::Resource)
                .collect(),
            named if client_allowed.contains(named) => vec![named.clone()],
            _ => Vec::new(),
        };
        if narrowed.is_empty() {
            refused.push(scope.clone());
        }
        candidates.extend(narrowed);
    }
    let is_covered_by_another = |index: usize, scope: &Scope| {
        let Scope::Resource(scope) = scope else {
            return false;
        };
        candidates.iter().enumerate().any(|(other_index, other)| {
            other.as_resource().is_some_and(|other| {
                other_index != index && other.covers(scope) && (!scope.covers(other) || other_index < index)
            })
        })
    };
    let granted = candidates
        .iter()
        .enumerate()
        .filter(|(index, scope)| !is_covered_by_another(*index, scope))
        .map(|(_, scope)| scope.clone())
        .collect();
    ScopeGrant { granted, refused }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource_scope(text: &str) -> ResourceScope {
        match text.parse::<Scope>() {
            Ok(Scope::Resource(scope)) => scope,
            other => panic!("{text} is not a resource scope: {other:?}"),
        }
    }

    fn reason(text: &str) -> InvalidScopeReason {
        text.parse::<Scope>().expect_err(text).reason
    }

    #[test]
    fn v1_scopes_mean_their_v2_letters() {
        let read = resource_scope("patient/Claim.read");
        assert_eq!(read.context, ScopeContext::Patient);
        assert_eq!(read.resource, ScopedResource::Type("Claim".into()));
        assert_eq!(read.permissions, Permissions::V1_READ);
        assert_eq!(read.notation, ScopeNotation::V1);

        let write = resource_scope("user/*.write");
        assert_eq!(write.context, ScopeContext::User);
        assert_eq!(write.resource, ScopedResource::AnyType);
        assert_eq!(write.permissions.v2_letters(), "cud");

        assert_eq!(resource_scope("system/*.*").permissions, Permissions::ALL);
        assert_eq!(resource_scope("patient/*.read").permissions.v2_letters(), "rs");
    }

    #[test]
    fn v2_scopes_take_cruds_letters_in_order() {
        let scope = resource_scope("patient/Patient.rs");
        assert_eq!(scope.permissions, Permissions::READ.union(Permissions::SEARCH));
        assert_eq!(scope.notation, ScopeNotation::V2);
        assert_eq!(resource_scope("user/Claim.cruds").permissions, Permissions::ALL);
        assert_eq!(resource_scope("system/*.cruds").resource, ScopedResource::AnyType);
        assert_eq!(resource_scope("system/Claim.d").permissions, Permissions::DELETE);
        assert_eq!(
            resource_scope("user/Coverage.cud").permissions,
            Permissions::V1_WRITE
        );
    }

    #[test]
    fn v2_letters_out_of_order_repeated_or_foreign_are_invalid() {
        for text in [
            "patient/Patient.sr",
            "user/Claim.rr",
            "user/Claim.crudss",
            "user/Claim.scrud",
            "user/Claim.rx",
            "user/Claim.",
            "user/Claim.R",
            "user/Claim.rw",
        ] {
            assert_eq!(reason(text), InvalidScopeReason::BadPermissions, "{text}");
        }
    }

    #[test]
    fn v2_constraints_are_kept_sorted_and_all_must_hold() {
        let scope = resource_scope("patient/Observation.rs?category=laboratory");
        assert_eq!(
            scope.constraints,
            vec![QueryConstraint {
                param: "category".into(),
                value: "laboratory".into()
            }]
        );
        let scope = resource_scope("user/Claim.rs?use=claim&status=active");
        let params: Vec<_> = scope.constraints.iter().map(|c| c.param.as_str()).collect();
        assert_eq!(params, ["status", "use"]);
        // A token value with a system keeps its `|` and its URL.
        let scope = resource_scope(
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        );
        assert!(scope.constraints[0].value.ends_with("|laboratory"));
    }

    #[test]
    fn constraints_other_than_simple_pairs_are_invalid() {
        for text in [
            "user/Claim.rs?",
            "user/Claim.rs?status",
            "user/Claim.rs?status=",
            "user/Claim.rs?=active",
            "user/Claim.rs?status=active&",
            "user/Claim.rs?status:not=active",
            "user/Claim.rs?patient.name=x",
            "user/Claim.rs?status=a=b",
            "user/Claim.rs?status=act%20ive",
            "user/Claim.rs?status=a?b",
        ] {
            assert_eq!(reason(text), InvalidScopeReason::MalformedConstraint, "{text}");
        }
        assert_eq!(
            reason("patient/Observation.read?category=laboratory"),
            InvalidScopeReason::ConstraintOnV1Scope
        );
    }

    #[test]
    fn malformed_resource_scopes_say_what_is_wrong() {
        assert_eq!(reason("patient/Claim"), InvalidScopeReason::MissingPermissions);
        assert_eq!(reason("patient/claim.read"), InvalidScopeReason::BadResourceType);
        assert_eq!(reason("patient/.read"), InvalidScopeReason::BadResourceType);
        assert_eq!(reason("patient/Cl-aim.read"), InvalidScopeReason::BadResourceType);
        assert_eq!(reason("practitioner/Claim.read"), InvalidScopeReason::Unknown);
        assert_eq!(reason("Patient/Claim.read"), InvalidScopeReason::Unknown);
        assert_eq!(reason("*/Claim.read"), InvalidScopeReason::Unknown);
        assert_eq!(reason("launch/practitioner"), InvalidScopeReason::Unknown);
        assert_eq!(reason("superuser"), InvalidScopeReason::Unknown);
    }

    #[test]
    fn named_scopes_and_roles_are_kept_as_they_are() {
        let scopes = Scopes::parse(
            "openid fhirUser launch launch/patient launch/encounter offline_access online_access admin auditor biller",
        )
        .unwrap();
        assert_eq!(scopes.len(), 10);
        assert!(scopes.contains(&Scope::LaunchPatient));
        assert!(scopes.has_role(Role::Admin));
        assert!(scopes.has_role(Role::Auditor));
        assert!(scopes.has_role(Role::Biller));
        assert_eq!(scopes.resource_scopes().count(), 0);
        assert!(!Scopes::parse("openid").unwrap().has_role(Role::Admin));
    }

    #[test]
    fn a_strict_parse_lists_every_invalid_scope() {
        let error = Scopes::parse("openid patient/Claim.sr launch patient/claim.read profile").unwrap_err();
        let invalid: Vec<_> = error.invalid.iter().map(|i| i.scope.as_str()).collect();
        assert_eq!(invalid, ["patient/Claim.sr", "patient/claim.read", "profile"]);
        let message = error.to_string();
        assert!(message.contains("`patient/Claim.sr`"), "{message}");
        assert!(message.contains("`profile`: unknown scope"), "{message}");
    }

    #[test]
    fn a_lenient_parse_drops_what_it_does_not_understand() {
        let (scopes, dropped) =
            Scopes::parse_lenient("openid profile email patient/Claim.rs user/Claim.rs?status:not=x");
        assert_eq!(scopes.to_string(), "openid patient/Claim.rs");
        assert_eq!(dropped.len(), 3);
        // The constrained scope is dropped whole, not kept without its constraint.
        assert_eq!(dropped[2].scope, "user/Claim.rs?status:not=x");
    }

    #[test]
    fn scopes_are_written_back_in_their_own_notation_without_repeats() {
        let text = "patient/Claim.read   user/*.write system/*.* patient/Patient.rs \
                    user/Claim.rs?status=active&use=claim patient/Claim.read";
        let scopes = Scopes::parse(text).unwrap();
        assert_eq!(
            scopes.to_string(),
            "patient/Claim.read user/*.write system/*.* patient/Patient.rs user/Claim.rs?status=active&use=claim"
        );
        assert_eq!(Scopes::parse(&scopes.to_string()).unwrap(), scopes);
        assert!(Scopes::parse("").unwrap().is_empty());
        assert!(Scopes::parse("  ").unwrap().is_empty());
    }

    fn scopes(text: &str) -> Scopes {
        Scopes::parse(text).unwrap()
    }

    fn constraint(param: &str, value: &str) -> QueryConstraint {
        QueryConstraint {
            param: param.into(),
            value: value.into(),
        }
    }

    const EVERY_INTERACTION: [Interaction; 12] = [
        Interaction::Read,
        Interaction::Vread,
        Interaction::HistoryInstance,
        Interaction::HistoryType,
        Interaction::Search,
        Interaction::Create,
        Interaction::Update,
        Interaction::Patch,
        Interaction::Delete,
        Interaction::ValidateType,
        Interaction::ValidateInstance,
        Interaction::Operation,
    ];

    fn allowed_interactions(scope_text: &str) -> Vec<Interaction> {
        let granted = scopes(scope_text);
        EVERY_INTERACTION
            .into_iter()
            .filter(|interaction| granted.permission_for("Claim", *interaction).is_allowed())
            .collect()
    }

    #[test]
    fn v1_read_allows_reads_searches_and_history_but_no_writes() {
        use Interaction::*;
        assert_eq!(
            allowed_interactions("user/Claim.read"),
            [
                Read,
                Vread,
                HistoryInstance,
                HistoryType,
                Search,
                ValidateType,
                ValidateInstance
            ]
        );
    }

    #[test]
    fn v1_write_allows_writes_but_not_reading() {
        use Interaction::*;
        assert_eq!(
            allowed_interactions("user/Claim.write"),
            [Create, Update, Patch, Delete, ValidateType]
        );
    }

    #[test]
    fn v1_star_and_v2_cruds_allow_everything() {
        assert_eq!(allowed_interactions("system/Claim.*"), EVERY_INTERACTION);
        assert_eq!(allowed_interactions("system/*.cruds"), EVERY_INTERACTION);
    }

    #[test]
    fn v2_letters_map_to_interactions_as_smart_says() {
        use Interaction::*;
        assert_eq!(
            allowed_interactions("user/Claim.r"),
            [Read, Vread, HistoryInstance, ValidateType, ValidateInstance]
        );
        assert_eq!(allowed_interactions("user/Claim.s"), [HistoryType, Search]);
        assert_eq!(allowed_interactions("user/Claim.c"), [Create, ValidateType]);
        assert_eq!(
            allowed_interactions("user/Claim.u"),
            [Update, Patch, ValidateType]
        );
        assert_eq!(allowed_interactions("user/Claim.d"), [Delete]);
    }

    #[test]
    fn scopes_of_one_context_add_up_for_an_operation() {
        assert!(allowed_interactions("user/Claim.cr user/Claim.uds").contains(&Interaction::Operation));
        // Across contexts they do not: each context is a different reach.
        assert!(!allowed_interactions("user/Claim.cr system/Claim.uds").contains(&Interaction::Operation));
    }

    #[test]
    fn a_scope_reaches_its_type_or_every_type_with_a_wildcard() {
        let granted = scopes("patient/Claim.rs user/*.read");
        assert!(granted
            .permits(ScopeContext::Patient, "Claim", Interaction::Read)
            .is_allowed());
        assert!(!granted
            .permits(ScopeContext::Patient, "Coverage", Interaction::Read)
            .is_allowed());
        assert!(granted
            .permits(ScopeContext::User, "Coverage", Interaction::Read)
            .is_allowed());
        assert!(!granted
            .permits(ScopeContext::System, "Claim", Interaction::Read)
            .is_allowed());
        assert!(!granted.permission_for("Claim", Interaction::Create).is_allowed());
    }

    #[test]
    fn roles_and_launch_scopes_grant_no_resources() {
        let granted = scopes("openid fhirUser launch/patient admin auditor biller offline_access");
        for interaction in EVERY_INTERACTION {
            assert_eq!(granted.permission_for("Claim", interaction), Permission::denied());
        }
    }

    #[test]
    fn patient_only_grants_must_be_filtered_to_the_compartment() {
        let permission =
            scopes("launch/patient patient/*.rs").permission_for("Coverage", Interaction::Search);
        assert!(permission.is_allowed());
        assert_eq!(permission.granted_contexts(), [ScopeContext::Patient]);
        assert!(permission.limited_to_patient_compartment());
        assert!(!permission.is_unrestricted());
    }

    #[test]
    fn a_user_grant_beside_a_patient_grant_lifts_the_compartment_limit() {
        let permission =
            scopes("patient/*.rs user/Coverage.rs").permission_for("Coverage", Interaction::Read);
        assert_eq!(
            permission.granted_contexts(),
            [ScopeContext::Patient, ScopeContext::User]
        );
        assert!(!permission.limited_to_patient_compartment());
        assert!(permission.is_unrestricted());
        // For a type the user scope does not name, only the patient grant remains.
        let claim = scopes("patient/*.rs user/Coverage.rs").permission_for("Claim", Interaction::Read);
        assert!(claim.limited_to_patient_compartment());
    }

    #[test]
    fn constrained_grants_carry_their_constraints() {
        let permission = scopes("user/Claim.rs?status=active").permission_for("Claim", Interaction::Search);
        assert_eq!(
            permission.grants(),
            [Grant {
                context: ScopeContext::User,
                constraints: vec![constraint("status", "active")],
            }]
        );
        assert!(permission.is_allowed());
        assert!(!permission.is_unrestricted());
        assert!(!permission.limited_to_patient_compartment());
    }

    #[test]
    fn constrained_scopes_are_alternatives_and_an_unconstrained_one_absorbs_them() {
        let either =
            scopes("patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs")
                .permission_for("Observation", Interaction::Search);
        assert_eq!(either.grants().len(), 2);

        let absorbed =
            scopes("user/Claim.rs?status=active user/Claim.rs user/Claim.rs?status=active&use=claim")
                .permission_for("Claim", Interaction::Read);
        assert_eq!(
            absorbed.grants(),
            [Grant {
                context: ScopeContext::User,
                constraints: vec![],
            }]
        );

        let narrower = scopes("user/Claim.rs?status=active user/Claim.rs?status=active&use=claim")
            .permission_for("Claim", Interaction::Read);
        assert_eq!(narrower.grants()[0].constraints, [constraint("status", "active")]);
        assert_eq!(narrower.grants().len(), 1);
    }

    #[test]
    fn a_constrained_scope_does_not_grant_what_its_letters_lack() {
        // `s` with a constraint does not make `r` on the constrained set appear; `r`
        // unconstrained does carry over to the constrained set.
        let granted = scopes("user/Claim.s?status=active user/Claim.r");
        let read = granted.permission_for("Claim", Interaction::Read);
        assert!(read.is_unrestricted());
        let search = granted.permission_for("Claim", Interaction::Search);
        assert_eq!(search.grants()[0].constraints, [constraint("status", "active")]);
    }

    const BASE: &str = "https://claims.example.org/fhir";

    fn patient(id: &str) -> CompartmentPatient<'_> {
        CompartmentPatient { id, fhir_base: BASE }
    }

    #[test]
    fn references_name_the_patient_relatively_absolutely_or_by_version() {
        let five = patient("5");
        assert!(five.is_named_by("Patient/5"));
        assert!(five.is_named_by("Patient/5/_history/3"));
        assert!(five.is_named_by("https://claims.example.org/fhir/Patient/5"));
        assert!(five.is_named_by("https://claims.example.org/fhir/Patient/5/_history/1"));
        // A trailing slash on the configured base changes nothing.
        let with_slash = CompartmentPatient {
            id: "5",
            fhir_base: "https://claims.example.org/fhir/",
        };
        assert!(with_slash.is_named_by("https://claims.example.org/fhir/Patient/5"));
    }

    #[test]
    fn references_elsewhere_or_unresolvable_do_not_name_the_patient() {
        let five = patient("5");
        for reference in [
            "Patient/55",
            "Patient/",
            "Patient/5/",
            "Patient/5/_history/",
            "Patient/5/extra",
            "Group/5",
            "Practitioner/5",
            "patient/5",
            "5",
            "#5",
            "urn:uuid:5",
            "Patient?identifier=5",
            "http://other.example.org/fhir/Patient/5",
            "https://claims.example.org/fhir2/Patient/5",
            "https://claims.example.org/Patient/5",
        ] {
            assert!(!five.is_named_by(reference), "{reference}");
        }
        let nobody = CompartmentPatient {
            id: "",
            fhir_base: BASE,
        };
        assert!(!nobody.is_named_by("Patient/"));
    }

    // Shaped like the R4 examples Coverage-SP1234 (self-pay: beneficiary, subscriber
    // and payor are all Patient/5) and Coverage-9876B1 (an absolute policyHolder).
    #[test]
    fn a_coverage_belongs_to_its_beneficiary_subscriber_policy_holder_and_payor() {
        let self_pay = json!({
            "resourceType": "Coverage", "id": "SP1234",
            "beneficiary": {"reference": "Patient/5"},
            "subscriber": {"reference": "Patient/5"},
            "payor": [{"reference": "Patient/5"}]
        });
        assert!(is_in_patient_compartment(&self_pay, &patient("5")));
        assert!(!is_in_patient_compartment(&self_pay, &patient("4")));

        let family = json!({
            "resourceType": "Coverage", "id": "family",
            "beneficiary": {"reference": "Patient/child"},
            "subscriber": {"reference": "Patient/parent"},
            "policyHolder": {"reference": "https://claims.example.org/fhir/Patient/holder"},
            "payor": [{"reference": "Organization/2"}, {"reference": "Patient/payer"}]
        });
        for member in ["child", "parent", "holder", "payer"] {
            assert!(is_in_patient_compartment(&family, &patient(member)), "{member}");
        }
        assert!(!is_in_patient_compartment(&family, &patient("2")));

        let external_holder = json!({
            "resourceType": "Coverage",
            "beneficiary": {"reference": "Patient/4"},
            "policyHolder": {"reference": "http://benefitsinc.com/FHIR/Patient/CBI35"}
        });
        assert!(!is_in_patient_compartment(&external_holder, &patient("CBI35")));
    }

    #[test]
    fn an_encounter_belongs_to_its_subject_patient() {
        let relative = json!({"resourceType": "Encounter", "subject": {"reference": "Patient/example"}});
        assert!(is_in_patient_compartment(&relative, &patient("example")));
        let absolute = json!({
            "resourceType": "Encounter",
            "subject": {"reference": "https://claims.example.org/fhir/Patient/example"}
        });
        assert!(is_in_patient_compartment(&absolute, &patient("example")));
        let group = json!({"resourceType": "Encounter", "subject": {"reference": "Group/example"}});
        assert!(!is_in_patient_compartment(&group, &patient("example")));
        // Only the literal reference counts: an identifier cannot be checked here.
        let by_identifier = json!({
            "resourceType": "Encounter",
            "subject": {"identifier": {"system": "urn:mrn", "value": "example"}}
        });
        assert!(!is_in_patient_compartment(&by_identifier, &patient("example")));
    }

    #[test]
    fn claims_and_eligibility_belong_to_their_patient_and_a_claim_also_to_its_payee() {
        for resource_type in [
            "Claim",
            "ClaimResponse",
            "CoverageEligibilityRequest",
            "CoverageEligibilityResponse",
        ] {
            let resource = json!({"resourceType": resource_type, "patient": {"reference": "Patient/1"}});
            assert!(
                is_in_patient_compartment(&resource, &patient("1")),
                "{resource_type}"
            );
            assert!(
                !is_in_patient_compartment(&resource, &patient("2")),
                "{resource_type}"
            );
        }
        let reimbursed = json!({
            "resourceType": "Claim",
            "patient": {"reference": "Patient/child"},
            "payee": {"type": {"coding": [{"code": "subscriber"}]}, "party": {"reference": "Patient/parent"}}
        });
        assert!(is_in_patient_compartment(&reimbursed, &patient("parent")));
        // The payee link is the Claim's alone in R4, not the response's.
        let response = json!({
            "resourceType": "ClaimResponse",
            "patient": {"reference": "Patient/child"},
            "payee": {"party": {"reference": "Patient/parent"}}
        });
        assert!(!is_in_patient_compartment(&response, &patient("parent")));
    }

    // Patient-pat1 of the R4 examples links to pat2 (`seealso`): in R4, pat1 is then in
    // pat2's compartment as well as its own.
    #[test]
    fn a_patient_is_in_its_own_compartment_and_in_that_of_the_patient_it_links_to() {
        let pat1 = json!({
            "resourceType": "Patient", "id": "pat1",
            "link": [{"other": {"reference": "Patient/pat2"}, "type": "seealso"}]
        });
        assert!(is_in_patient_compartment(&pat1, &patient("pat1")));
        assert!(is_in_patient_compartment(&pat1, &patient("pat2")));
        assert!(!is_in_patient_compartment(&pat1, &patient("pat3")));
    }

    #[test]
    fn directory_data_audit_events_and_unknown_types_are_in_no_compartment() {
        for resource in [
            json!({"resourceType": "Organization", "id": "5"}),
            json!({"resourceType": "AuditEvent", "patient": {"reference": "Patient/5"}}),
            json!({"resourceType": "Observation", "subject": {"reference": "Patient/5"}}),
            json!({"id": "5", "patient": {"reference": "Patient/5"}}),
        ] {
            assert!(!is_in_patient_compartment(&resource, &patient("5")), "{resource}");
        }
        assert_eq!(patient_access("Practitioner"), PatientAccess::NotPatientSpecific);
        assert_eq!(patient_access("Location"), PatientAccess::NotPatientSpecific);
        assert_eq!(patient_access("AuditEvent"), PatientAccess::Never);
        assert_eq!(patient_access("Observation"), PatientAccess::Never);
    }

    #[test]
    fn searches_are_narrowed_by_the_main_link_first() {
        let first = |resource_type: &str| {
            let restrictions = compartment_search_restrictions(resource_type, "7").unwrap();
            (restrictions[0].param, restrictions[0].value.clone())
        };
        assert_eq!(first("Patient"), ("_id", "7".into()));
        assert_eq!(first("Coverage"), ("beneficiary", "Patient/7".into()));
        assert_eq!(first("Encounter"), ("patient", "Patient/7".into()));
        assert_eq!(first("Claim"), ("patient", "Patient/7".into()));
        assert_eq!(first("ClaimResponse"), ("patient", "Patient/7".into()));
        assert_eq!(
            first("CoverageEligibilityRequest"),
            ("patient", "Patient/7".into())
        );
        assert_eq!(
            first("CoverageEligibilityResponse"),
            ("patient", "Patient/7".into())
        );
        let coverage: Vec<_> = compartment_search_restrictions("Coverage", "7")
            .unwrap()
            .into_iter()
            .map(|restriction| restriction.param)
            .collect();
        assert_eq!(coverage, ["beneficiary", "subscriber", "policy-holder", "payor"]);
        assert_eq!(compartment_search_restrictions("Organization", "7"), None);
        assert_eq!(compartment_search_restrictions("AuditEvent", "7"), None);
    }

    /// The compartment table against the official R4 SearchParameter definitions the
    /// server indexes with: each param exists for its type and searches the element
    /// the table reads.
    #[test]
    fn compartment_links_agree_with_the_r4_search_parameters() {
        let bundle: Value =
            serde_json::from_str(include_str!("../../fhir-profiles/search-parameters.json")).unwrap();
        let definitions: Vec<&Value> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| &entry["resource"])
            .collect();
        let expression_of = |resource_type: &str, code: &str| -> String {
            definitions
                .iter()
                .find(|definition| {
                    definition["code"] == code
                        && definition["base"].as_array().unwrap().iter().any(|base| {
                            base.as_str() == Some(resource_type) || base.as_str() == Some("Resource")
                        })
                })
                .and_then(|definition| definition["expression"].as_str())
                .unwrap_or_else(|| panic!("no {resource_type} {code}"))
                .to_owned()
        };
        for resource_type in [
            "Patient",
            "Coverage",
            "Encounter",
            "Claim",
            "ClaimResponse",
            "CoverageEligibilityRequest",
            "CoverageEligibilityResponse",
        ] {
            let PatientAccess::Compartment(links) = patient_access(resource_type) else {
                panic!("{resource_type} has no compartment links");
            };
            for link in links {
                let expression = expression_of(resource_type, link.search_param);
                let element = match link.element {
                    CompartmentElement::OwnId => "Resource.id".to_owned(),
                    CompartmentElement::ReferenceAt(path) => format!("{resource_type}.{}", path.join(".")),
                };
                let searches_element = expression.split(" | ").any(|part| {
                    part == element || part.starts_with(&format!("{element}.where(resolve() is Patient)"))
                });
                assert!(
                    searches_element,
                    "{resource_type} {}: {expression}",
                    link.search_param
                );
            }
        }
    }

    #[test]
    fn a_patient_grant_admits_only_the_launch_patients_resources() {
        let permission = scopes("patient/*.rs").permission_for("Claim", Interaction::Read);
        let mine = json!({"resourceType": "Claim", "patient": {"reference": "Patient/5"}});
        let theirs = json!({"resourceType": "Claim", "patient": {"reference": "Patient/6"}});
        let no_constraints = |_: &QueryConstraint, _: &Value| -> bool { panic!("no constraint to check") };
        assert!(permission.admits(&mine, Some(&patient("5")), no_constraints));
        assert!(!permission.admits(&theirs, Some(&patient("5")), no_constraints));
        // No launch patient: nothing that belongs to a patient.
        assert!(!permission.admits(&mine, None, no_constraints));
        // Directory data is not narrowed; the audit trail is never reached.
        let organization = json!({"resourceType": "Organization", "id": "1"});
        let any_type = scopes("patient/*.rs");
        let read = |resource_type| any_type.permission_for(resource_type, Interaction::Read);
        assert!(read("Organization").admits(&organization, None, no_constraints));
        let audit = json!({"resourceType": "AuditEvent", "patient": {"reference": "Patient/5"}});
        assert!(!read("AuditEvent").admits(&audit, Some(&patient("5")), no_constraints));
    }

    #[test]
    fn a_user_grant_admits_any_patients_resources_and_constraints_must_hold() {
        let theirs =
            json!({"resourceType": "Claim", "status": "active", "patient": {"reference": "Patient/6"}});
        let draft =
            json!({"resourceType": "Claim", "status": "draft", "patient": {"reference": "Patient/5"}});
        let status_matches = |constraint: &QueryConstraint, resource: &Value| {
            resource[constraint.param.as_str()] == constraint.value.as_str()
        };

        let unconstrained = scopes("user/Claim.rs").permission_for("Claim", Interaction::Search);
        assert!(unconstrained.admits(&theirs, None, status_matches));

        let active_only = scopes("user/Claim.rs?status=active").permission_for("Claim", Interaction::Search);
        assert!(active_only.admits(&theirs, None, status_matches));
        assert!(!active_only.admits(&draft, Some(&patient("5")), status_matches));

        // Either grant will do: the patient's own drafts, or anyone's active claims.
        let either = scopes("patient/Claim.rs user/Claim.rs?status=active")
            .permission_for("Claim", Interaction::Search);
        assert!(either.admits(&draft, Some(&patient("5")), status_matches));
        assert!(either.admits(&theirs, Some(&patient("5")), status_matches));
        assert!(!either.admits(&draft, Some(&patient("6")), status_matches));
    }

    fn grant(requested: &str, registered: &str) -> (String, Vec<String>) {
        let outcome = grant_requested_scopes(&scopes(requested), &scopes(registered));
        let refused = outcome.refused.iter().map(Scope::to_string).collect();
        (outcome.granted.to_string(), refused)
    }

    #[test]
    fn a_client_gets_the_requested_scopes_its_registration_covers() {
        assert_eq!(
            grant("patient/Claim.rs", "patient/*.rs"),
            ("patient/Claim.rs".into(), vec![])
        );
        assert_eq!(
            grant(
                "launch/patient openid fhirUser patient/Claim.rs",
                "openid fhirUser launch/patient patient/*.rs"
            ),
            ("launch/patient openid fhirUser patient/Claim.rs".into(), vec![])
        );
        assert_eq!(
            grant("system/*.* admin", "system/*.* admin"),
            ("system/*.* admin".into(), vec![])
        );
    }

    #[test]
    fn another_context_is_never_granted() {
        assert_eq!(
            grant("user/Claim.rs system/Claim.rs", "patient/*.rs"),
            (
                String::new(),
                vec!["user/Claim.rs".into(), "system/Claim.rs".into()]
            )
        );
    }

    #[test]
    fn v1_and_v2_registrations_cover_each_others_requests() {
        assert_eq!(
            grant("patient/Claim.read", "patient/*.read"),
            ("patient/Claim.read".into(), vec![])
        );
        assert_eq!(
            grant("patient/Claim.rs", "patient/*.read"),
            ("patient/Claim.rs".into(), vec![])
        );
        assert_eq!(
            grant("patient/Claim.read", "patient/*.rs"),
            ("patient/Claim.read".into(), vec![])
        );
        assert_eq!(grant("user/Claim.r", "user/*.*"), ("user/Claim.r".into(), vec![]));
        assert_eq!(
            grant("patient/Claim.write", "patient/*.read"),
            (String::new(), vec!["patient/Claim.write".into()])
        );
    }

    #[test]
    fn requests_beyond_the_registration_are_narrowed_not_refused() {
        assert_eq!(
            grant("patient/Claim.cruds", "patient/*.rs"),
            ("patient/Claim.rs".into(), vec![])
        );
        // A v1 scope that can no longer be said in v1 is written in v2.
        assert_eq!(
            grant("user/Claim.*", "user/Claim.r"),
            ("user/Claim.r".into(), vec![])
        );
        assert_eq!(
            grant("patient/*.read", "patient/Claim.rs patient/Coverage.r"),
            ("patient/Claim.read patient/Coverage.r".into(), vec![])
        );
    }

    #[test]
    fn registered_constraints_carry_over() {
        assert_eq!(
            grant(
                "patient/Observation.rs",
                "patient/Observation.rs?category=laboratory"
            ),
            ("patient/Observation.rs?category=laboratory".into(), vec![])
        );
        assert_eq!(
            grant("user/Claim.read", "user/*.rs?status=active"),
            ("user/Claim.rs?status=active".into(), vec![])
        );
        assert_eq!(
            grant("user/Claim.rs?use=claim", "user/Claim.rs?status=active"),
            ("user/Claim.rs?status=active&use=claim".into(), vec![])
        );
    }

    #[test]
    fn overlapping_registrations_grant_the_widest_once() {
        assert_eq!(
            grant("patient/Claim.cruds", "patient/*.rs patient/Claim.cruds"),
            ("patient/Claim.cruds".into(), vec![])
        );
        assert_eq!(
            grant("patient/Claim.rs patient/*.rs", "patient/*.rs"),
            ("patient/*.rs".into(), vec![])
        );
    }

    #[test]
    fn unregistered_named_scopes_and_roles_are_refused() {
        assert_eq!(
            grant(
                "openid offline_access admin patient/Claim.rs",
                "openid patient/*.rs"
            ),
            (
                "openid patient/Claim.rs".into(),
                vec!["offline_access".into(), "admin".into()]
            )
        );
        assert_eq!(grant("", "system/*.*"), (String::new(), vec![]));
    }

    #[test]
    fn what_is_granted_is_a_valid_scope_string() {
        let outcome = grant_requested_scopes(
            &scopes("patient/*.* user/Claim.read openid"),
            &scopes("patient/Claim.rs?status=active patient/Coverage.cud user/*.r openid"),
        );
        let text = outcome.granted.to_string();
        assert_eq!(
            text,
            "patient/Claim.rs?status=active patient/Coverage.write user/Claim.r openid"
        );
        assert_eq!(Scopes::parse(&text).unwrap(), outcome.granted);
    }
}
