//! Which HTTP requests are audited, and as what: read from the method and path
//! before the request runs ([`classify`]), completed from the answer afterwards
//! ([`Pending::complete`]) with the status, the verified principal, the route, a
//! create's `Location` and what the handler noted ([`AuditNote`]).
//!
//! Pure functions over strings, so every rule here is unit-tested without a
//! server. Path segments become references only when they look like a FHIR type
//! name and id: a path is the client's text, and nothing that does not fit that
//! shape is copied into the trail. Query strings contribute parameter names only.

use std::net::IpAddr;

use actix_web::http::Method;

use super::event::{Action, AuditRecord, Entity, EventKind, Hl7Sender, Outcome, HL7_MESSAGE_SYSTEM};
use crate::auth::policy::AUDIT_EVENT;
use crate::auth::Principal;
use crate::hl7::ingest::Reply;
use crate::integrations::registry::DEFAULT_TENANT;
use crate::store::messages::MessageStatus;

/// What a handler tells the audit trail that its path does not: put into the
/// request's extensions (see [`super::note`]), read once the handler is done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditNote {
    /// The restful-interaction code, when the path does not say (a Bundle's
    /// `batch` or `transaction`).
    pub interaction: Option<&'static str>,
    /// Resources returned or written: `Type/id` or `Type/id/_history/v`.
    pub references: Vec<String>,
    /// Search parameter names, when they came in the body (`POST _search`).
    pub parameters: Option<Vec<String>>,
    /// An HL7 v2 message received over HTTP.
    pub hl7: Option<Hl7Note>,
}

/// What became of one HL7 v2 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hl7Note {
    /// `ADT^A01`.
    pub message_type: String,
    pub sender: Hl7Sender,
    /// The stored message's id, when it was stored.
    pub message_id: Option<i64>,
    /// Applied or stored: success; in error or rejected: a minor failure.
    pub outcome: Outcome,
    /// The ACK code (`AA`, `AE`, `AR`) or the message's status.
    pub outcome_desc: String,
}

impl Hl7Note {
    /// What ingestion answered about a message.
    pub fn of(reply: &Reply) -> Hl7Note {
        let outcome = match reply.status {
            MessageStatus::Applied | MessageStatus::Stored | MessageStatus::Processing => Outcome::Success,
            MessageStatus::Error | MessageStatus::Rejected => Outcome::MinorFailure,
        };
        Hl7Note {
            message_type: reply.type_and_event.clone(),
            sender: Hl7Sender {
                application: reply.sending_application.clone(),
                facility: reply.sending_facility.clone(),
            },
            message_id: reply.message_id,
            outcome,
            outcome_desc: reply.status.as_str().to_owned(),
        }
    }
}

/// The record of one message received over MLLP, from `peer`: what ingestion
/// answered, or `None` when the message could not be stored (the connection is
/// closed without an ACK, and the sender resends).
pub fn mllp_message(reply: Option<&Reply>, peer: IpAddr) -> AuditRecord {
    let Some(reply) = reply else {
        let mut record = AuditRecord::new(
            DEFAULT_TENANT.to_owned(),
            EventKind::Hl7Import("unknown".into()),
            Action::Create,
            Outcome::SeriousFailure,
        );
        record.outcome_desc = Some("not stored; closed without ACK".into());
        record.address = Some(peer);
        return record;
    };
    let note = Hl7Note::of(reply);
    let mut record = AuditRecord::new(
        DEFAULT_TENANT.to_owned(),
        EventKind::Hl7Import(note.message_type),
        Action::Create,
        note.outcome,
    );
    record.outcome_desc = Some(note.outcome_desc);
    record.sender = Some(note.sender);
    record.address = Some(peer);
    record.entities = note
        .message_id
        .map(|id| Entity::Record {
            system: HL7_MESSAGE_SYSTEM,
            value: id.to_string(),
        })
        .into_iter()
        .chain(reply.written.iter().filter_map(|r| reference_in_url(r)))
        .collect();
    record
}

/// Where the request is, and what its path already says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Area {
    /// A FHIR interaction (its restful-interaction code).
    Fhir(&'static str),
    /// `POST /hl7/v2`.
    Hl7,
    /// The billing and operations API.
    Api,
    /// A change under `/admin`.
    Admin,
}

/// A request that will be audited, as far as its method and path tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    area: Area,
    action: Action,
    operation: Option<String>,
    /// References named by the path.
    entities: Vec<Entity>,
    /// The type a type-level request is about.
    resource_type: Option<String>,
    /// Names of the query-string parameters.
    parameters: Vec<String>,
    /// The request acts on a whole type or the whole server (a search, history, a
    /// conditional update): its query entity is recorded even when references
    /// are known too.
    type_level: bool,
    /// A read of the audit trail itself: only refusals are recorded.
    audit_trail: bool,
}

/// What is known once the request has been answered.
#[derive(Debug, Clone, Copy)]
pub struct Completion<'a> {
    pub method: &'a Method,
    pub status: u16,
    /// The verified principal (also for a 403 or 429); `None` for a 401.
    pub principal: Option<&'a Principal>,
    pub address: Option<IpAddr>,
    /// The matched route template (`/api/billing/claims/{id}`).
    pub route: Option<&'a str>,
    /// The route's parameters (`id` → `claim-1`).
    pub params: &'a [(&'a str, &'a str)],
    /// The answer's `Location` header.
    pub location: Option<&'a str>,
    pub note: Option<&'a AuditNote>,
}

/// Whether and how the request will be audited: `None` for what holds no PHI and
/// changes nothing of note (the CapabilityStatement, discovery, tokens, metrics,
/// admin reads, vendors' webhooks, which their own log keeps).
pub fn classify(method: &Method, path: &str, query: &str) -> Option<Pending> {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if path == "/fhir/metadata" || path.starts_with("/fhir/.well-known/") {
        None
    } else if under("/fhir") {
        Some(classify_fhir(method, path, query))
    } else if under("/hl7") {
        Some(Pending::new(Area::Hl7, Action::Create))
    } else if under("/api") {
        let mut pending = Pending::new(Area::Api, api_action(method, path));
        pending.parameters = parameter_names(query);
        Some(pending)
    } else if under("/admin") && *method != Method::GET && *method != Method::HEAD {
        Some(Pending::new(Area::Admin, admin_action(method, path)))
    } else if under("/console") {
        classify_console(method, path, query)
    } else {
        None
    }
}

/// The console's pages as the APIs they stand for: what shows or changes billing
/// records and HL7 messages (PHI) as an API call, a change of configuration as an
/// admin change; its other pages, its assets and its sign-in are not audited (the
/// API they stand for does not audit reads of configuration either).
fn classify_console(method: &Method, path: &str, query: &str) -> Option<Pending> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let reads = *method == Method::GET || *method == Method::HEAD;
    match segments.as_slice() {
        ["console", "assets" | "callback" | "sign-out", ..] => None,
        ["console", "hl7" | "claims" | "dashboard", ..] => {
            let action = if reads { Action::Read } else { Action::Execute };
            let mut pending = Pending::new(Area::Api, action);
            pending.parameters = parameter_names(query);
            Some(pending)
        }
        _ if reads => None,
        // Adding an integration; anything else (edit, enable, reorder, test) runs
        // a function of one.
        ["console", "integrations"] => Some(Pending::new(Area::Admin, Action::Create)),
        _ => Some(Pending::new(Area::Admin, Action::Execute)),
    }
}

impl Pending {
    fn new(area: Area, action: Action) -> Pending {
        Pending {
            area,
            action,
            operation: None,
            entities: Vec::new(),
            resource_type: None,
            parameters: Vec::new(),
            type_level: false,
            audit_trail: false,
        }
    }

    /// Whether `complete` uses the route template and parameters (API and admin
    /// calls): FHIR requests do without, sparing their hot path the lookup.
    pub fn wants_route(&self) -> bool {
        matches!(self.area, Area::Api | Area::Admin)
    }

    /// The record, or `None` for a successful read of the audit trail (those are
    /// not recorded: they would fill the trail with the auditors' own polling).
    pub fn complete(self, done: Completion<'_>) -> Option<AuditRecord> {
        if self.audit_trail && !matches!(done.status, 401 | 403) {
            return None;
        }
        let note = done.note;
        let hl7 = note.and_then(|note| note.hl7.as_ref());
        let route = || format!("{} {}", done.method, done.route.unwrap_or("<unmatched>"));
        let kind = match &self.area {
            Area::Fhir(interaction) => {
                EventKind::Rest(note.and_then(|note| note.interaction).unwrap_or(*interaction))
            }
            Area::Hl7 => {
                EventKind::Hl7Import(hl7.map_or_else(|| "unknown".to_owned(), |hl7| hl7.message_type.clone()))
            }
            Area::Api => EventKind::Api(route()),
            Area::Admin => EventKind::AdminChange(route()),
        };
        let http_outcome = Outcome::of_status(done.status);
        // An HL7 message answered 200 may still have been refused (AE, AR).
        let (outcome, outcome_desc) = match hl7 {
            Some(hl7) if http_outcome == Outcome::Success => (hl7.outcome, hl7.outcome_desc.clone()),
            _ => (http_outcome, http_status_text(done.status)),
        };
        let tenant = done
            .principal
            .map_or_else(|| DEFAULT_TENANT.to_owned(), |principal| principal.tenant.clone());
        let mut record = AuditRecord::new(tenant, kind, self.action, outcome);
        record.outcome_desc = Some(outcome_desc);
        record.operation = self.operation;
        record.address = done.address;
        if let Some(principal) = done.principal {
            record.client_id = Some(principal.client_id.clone());
            // A backend service's token names the client itself as its subject.
            if principal.subject != principal.client_id {
                record.user = Some(principal.subject.clone());
            }
        }
        if let Some(hl7) = hl7 {
            record.sender = Some(hl7.sender.clone());
        }

        let mut named = self.entities;
        if let Some(location) = done.location.and_then(reference_in_url) {
            named.push(location);
        }
        match self.area {
            Area::Api => named.extend(api_entities(done.route, done.params)),
            Area::Admin => named.extend(admin_entities(done.route, done.params)),
            Area::Fhir(_) | Area::Hl7 => {}
        }
        if let Some(message_id) = hl7.and_then(|hl7| hl7.message_id) {
            named.push(Entity::Record {
                system: HL7_MESSAGE_SYSTEM,
                value: message_id.to_string(),
            });
        }
        if let Some(note) = note {
            named.extend(note.references.iter().filter_map(|r| reference_in_url(r)));
        }
        let parameters = note
            .and_then(|note| note.parameters.clone())
            .unwrap_or(self.parameters);
        let mut entities = Vec::with_capacity(named.len() + 1);
        if self.type_level || (named.is_empty() && (self.resource_type.is_some() || !parameters.is_empty())) {
            entities.push(Entity::Query {
                resource_type: self.resource_type,
                parameters,
            });
        }
        for entity in named {
            if !entities.contains(&entity) {
                entities.push(entity);
            }
        }
        record.entities = entities;
        Some(record)
    }
}

fn classify_fhir(method: &Method, path: &str, query: &str) -> Pending {
    let parts: Vec<&str> = path
        .trim_start_matches("/fhir")
        .split('/')
        .filter(|part| !part.is_empty())
        .collect();
    let is = |m: &Method| method == m;
    let (interaction, action) = match parts.as_slice() {
        [] if is(&Method::POST) => ("batch", Action::Execute),
        [] => ("search-system", Action::Read),
        ["_history"] => ("history-system", Action::Read),
        [_] if is(&Method::POST) => ("create", Action::Create),
        [_] if is(&Method::PUT) => ("update", Action::Update),
        [_] if is(&Method::DELETE) => ("delete", Action::Delete),
        [_] | [_, "_search"] => ("search-type", Action::Read),
        [_, "_history"] => ("history-type", Action::Read),
        [_, "$validate"] | [_, _, "$validate"] => ("operation", Action::Execute),
        [_, _] if is(&Method::PUT) => ("update", Action::Update),
        [_, _] if is(&Method::PATCH) => ("patch", Action::Update),
        [_, _] if is(&Method::DELETE) => ("delete", Action::Delete),
        [_, _] if is(&Method::POST) => ("create", Action::Create),
        [_, _] => ("read", Action::Read),
        [_, _, "_history"] => ("history-instance", Action::Read),
        [_, _, "_history", _] => ("vread", Action::Read),
        _ => ("operation", Action::Execute),
    };
    let mut pending = Pending::new(Area::Fhir(interaction), action);
    pending.resource_type = parts
        .first()
        .filter(|kind| is_type_name(kind))
        .map(|kind| (*kind).to_owned());
    pending.audit_trail = parts.first() == Some(&AUDIT_EVENT);
    pending.operation = parts
        .iter()
        .find(|part| part.starts_with('$'))
        .filter(|operation| is_id(&operation[1..]))
        .map(|operation| (*operation).to_owned());
    match parts.as_slice() {
        [kind, id, "_history", version] => {
            if let Some(mut entity) = resource(kind, id) {
                if let Entity::Resource { version: v, .. } = &mut entity {
                    *v = is_id(version).then(|| (*version).to_owned());
                }
                pending.entities.push(entity);
            }
        }
        [kind, id, ..] if !id.starts_with('_') && !id.starts_with('$') => {
            pending.entities.extend(resource(kind, id));
        }
        _ => {
            // Type- or server-level: a search, history, a conditional write, a
            // create (whose reference comes from `Location`), a Bundle.
            pending.type_level = !matches!(interaction, "create" | "batch" | "operation");
            pending.parameters = parameter_names(query);
        }
    }
    pending
}

/// `Type/id` when both look like a FHIR type name and id.
fn resource(kind: &str, id: &str) -> Option<Entity> {
    (is_type_name(kind) && is_id(id)).then(|| Entity::Resource {
        reference: format!("{kind}/{id}"),
        version: None,
    })
}

/// The resource a URL or relative reference ends with: `…/Type/id` or
/// `…/Type/id/_history/v`.
fn reference_in_url(url: &str) -> Option<Entity> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [.., kind, id, "_history", version] => {
            let Entity::Resource { reference, .. } = resource(kind, id)? else {
                return None;
            };
            Some(Entity::Resource {
                reference,
                version: is_id(version).then(|| (*version).to_owned()),
            })
        }
        [.., kind, id] => resource(kind, id),
        _ => None,
    }
}

/// A FHIR resource type name: an upper-case letter, then letters and digits.
fn is_type_name(text: &str) -> bool {
    let mut chars = text.chars();
    text.len() <= 64
        && chars.next().is_some_and(|first| first.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// A FHIR id: 1 to 64 letters, digits, `-` and `.`.
fn is_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// The names of the query's parameters, in order, once each: never their values.
/// Names that do not look like search parameter names (with modifiers, chains and
/// `_has:`) are left out.
pub fn parameter_names(query: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (name, _) in url::form_urlencoded::parse(query.as_bytes()) {
        let plausible = (1..=100).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
        if plausible && !names.iter().any(|known| *known == name) {
            names.push(name.into_owned());
        }
    }
    names
}

fn http_status_text(status: u16) -> String {
    let reason = actix_web::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or_default();
    format!("{status} {reason}").trim_end().to_owned()
}

/// GET reads; PUT and PATCH update; DELETE deletes; a POST that adds to a
/// collection (claims intake, payments, remittances) creates, any other POST
/// executes a function (submit, validate, check, resolve, run).
fn api_action(method: &Method, path: &str) -> Action {
    match *method {
        Method::GET | Method::HEAD => Action::Read,
        Method::PUT | Method::PATCH => Action::Update,
        Method::DELETE => Action::Delete,
        _ => {
            let last = path.rsplit('/').next().unwrap_or_default();
            if matches!(last, "claims" | "batch" | "payments" | "remittance") {
                Action::Create
            } else {
                Action::Execute
            }
        }
    }
}

/// POST to a collection creates (a client, an integration, a subscription); other
/// POSTs execute (rotate keys, enable, test, requeue, reorder).
fn admin_action(method: &Method, path: &str) -> Action {
    match *method {
        Method::PUT | Method::PATCH => Action::Update,
        Method::DELETE => Action::Delete,
        _ => {
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            if matches!(
                segments.as_slice(),
                ["admin", "clients" | "integrations" | "webhooks"]
            ) {
                Action::Create
            } else {
                Action::Execute
            }
        }
    }
}

/// The records an API route names by its parameters.
fn api_entities(route: Option<&str>, params: &[(&str, &str)]) -> Vec<Entity> {
    let Some(route) = route else {
        return Vec::new();
    };
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
            .filter(|value| is_id(value))
    };
    let mut entities = Vec::new();
    if route.contains("/claims/{id}") {
        entities.extend(param("id").and_then(|id| resource("Claim", id)));
    } else if route.contains("/hl7/messages/{id}") {
        entities.extend(param("id").map(|id| Entity::Record {
            system: HL7_MESSAGE_SYSTEM,
            value: id.to_owned(),
        }));
    } else if route.contains("/denials/{id}") {
        entities.extend(param("id").map(|id| Entity::Record {
            system: "urn:claimbridge:denial",
            value: id.to_owned(),
        }));
    } else if route.contains("/remittance/{id}") {
        entities.extend(param("id").map(|id| Entity::Record {
            system: "urn:claimbridge:remittance",
            value: id.to_owned(),
        }));
    }
    for (_, value) in params.iter().filter(|(key, _)| *key == "patient_id") {
        entities.extend(resource("Patient", value));
    }
    entities
}

/// The configuration record an admin route names: `/admin/{collection}/{id}`.
fn admin_entities(route: Option<&str>, params: &[(&str, &str)]) -> Vec<Entity> {
    let Some(route) = route else {
        return Vec::new();
    };
    let system = match route.split('/').nth(2) {
        Some("clients") => "urn:claimbridge:client",
        Some("integrations") => "urn:claimbridge:integration",
        Some("webhooks") => "urn:claimbridge:webhook-subscription",
        Some("jobs") => "urn:claimbridge:job",
        _ => return Vec::new(),
    };
    params
        .iter()
        .filter(|(key, value)| *key == "id" && is_id(value))
        .map(|(_, value)| Entity::Record {
            system,
            value: (*value).to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::scopes::Scopes;

    fn principal(client_id: &str, subject: &str) -> Principal {
        Principal {
            client_id: client_id.into(),
            subject: subject.into(),
            tenant: "acme".into(),
            scopes: Scopes::parse("system/*.rs").unwrap(),
            patient: None,
            expires_at: 0,
            jti: String::new(),
            grant: None,
        }
    }

    fn done<'a>(method: &'a Method, status: u16, principal: Option<&'a Principal>) -> Completion<'a> {
        Completion {
            method,
            status,
            principal,
            address: Some("192.0.2.1".parse().unwrap()),
            route: None,
            params: &[],
            location: None,
            note: None,
        }
    }

    fn audit(method: Method, path: &str, query: &str, status: u16) -> AuditRecord {
        let who = principal("ehr", "ehr");
        classify(&method, path, query)
            .expect("audited")
            .complete(done(&method, status, Some(&who)))
            .expect("recorded")
    }

    #[test]
    fn fhir_interactions_are_named_by_their_path() {
        let read = audit(Method::GET, "/fhir/Patient/123", "", 200);
        assert_eq!(read.kind, EventKind::Rest("read"));
        assert_eq!(read.action, Action::Read);
        assert_eq!(read.entities, vec![Entity::resource("Patient/123")]);
        assert_eq!(
            (read.tenant.as_str(), read.client_id.as_deref()),
            ("acme", Some("ehr"))
        );
        assert_eq!(read.user, None, "a backend service is no user");

        let vread = audit(Method::GET, "/fhir/Patient/123/_history/2", "", 200);
        assert_eq!(vread.kind, EventKind::Rest("vread"));
        assert_eq!(vread.entities, vec![Entity::resource("Patient/123/_history/2")]);

        for (method, path, interaction, action) in [
            (Method::PUT, "/fhir/Claim/c1", "update", Action::Update),
            (Method::PATCH, "/fhir/Claim/c1", "patch", Action::Update),
            (Method::DELETE, "/fhir/Claim/c1", "delete", Action::Delete),
            (
                Method::GET,
                "/fhir/Claim/c1/_history",
                "history-instance",
                Action::Read,
            ),
            (
                Method::POST,
                "/fhir/Claim/c1/$validate",
                "operation",
                Action::Execute,
            ),
        ] {
            let record = audit(method, path, "", 200);
            assert_eq!(record.kind, EventKind::Rest(interaction), "{path}");
            assert_eq!(record.action, action, "{path}");
            assert_eq!(record.entities, vec![Entity::resource("Claim/c1")], "{path}");
        }
        let validate = audit(Method::POST, "/fhir/Claim/$validate", "", 200);
        assert_eq!(validate.operation.as_deref(), Some("$validate"));
    }

    #[test]
    fn a_search_keeps_parameter_names_never_values() {
        let search = audit(
            Method::GET,
            "/fhir/Patient",
            "family=Chalmers&birthdate=ge1974-12-25&identifier=http://hospital.org/mrn|123&family=Peter",
            200,
        );
        assert_eq!(search.kind, EventKind::Rest("search-type"));
        assert_eq!(
            search.entities,
            vec![Entity::Query {
                resource_type: Some("Patient".into()),
                parameters: vec!["family".into(), "birthdate".into(), "identifier".into()],
            }]
        );
        let text = format!("{:?}", search.entities);
        for value in ["Chalmers", "1974", "123", "Peter", "hospital"] {
            assert!(!text.contains(value), "{value} in {text}");
        }
        // What the handler found is added after the query.
        let method = Method::GET;
        let who = principal("ehr", "ehr");
        let note = AuditNote {
            references: vec!["Patient/1".into(), "Patient/2".into()],
            ..AuditNote::default()
        };
        let record = classify(&method, "/fhir/Patient", "name=x")
            .unwrap()
            .complete(Completion {
                note: Some(&note),
                ..done(&method, 200, Some(&who))
            })
            .unwrap();
        assert_eq!(record.entities.len(), 3);
        assert_eq!(record.entities[2], Entity::resource("Patient/2"));
    }

    #[test]
    fn a_create_names_what_its_location_says() {
        let method = Method::POST;
        let who = principal("ehr", "dr-who");
        let created = classify(&method, "/fhir/Patient", "")
            .unwrap()
            .complete(Completion {
                location: Some("http://claims.example/fhir/Patient/9f/_history/1"),
                ..done(&method, 201, Some(&who))
            })
            .unwrap();
        assert_eq!(created.kind, EventKind::Rest("create"));
        assert_eq!(created.action, Action::Create);
        assert_eq!(created.user.as_deref(), Some("dr-who"));
        assert_eq!(created.entities, vec![Entity::resource("Patient/9f/_history/1")]);
        // Refused: the type is what is known.
        let refused = classify(&method, "/fhir/Patient", "")
            .unwrap()
            .complete(done(&method, 403, Some(&who)))
            .unwrap();
        assert_eq!(refused.outcome, Outcome::MinorFailure);
        assert_eq!(
            refused.entities,
            vec![Entity::Query {
                resource_type: Some("Patient".into()),
                parameters: vec![],
            }]
        );
    }

    #[test]
    fn refusals_without_a_token_are_recorded_with_what_is_known() {
        let method = Method::GET;
        let record = classify(&method, "/fhir/Patient/1", "")
            .unwrap()
            .complete(done(&method, 401, None))
            .unwrap();
        assert_eq!(record.outcome, Outcome::MinorFailure);
        assert_eq!(record.outcome_desc.as_deref(), Some("401 Unauthorized"));
        assert_eq!((record.client_id, record.tenant.as_str()), (None, "default"));
        assert!(record.address.is_some());
    }

    #[test]
    fn odd_path_segments_are_not_copied_into_the_trail() {
        let record = audit(Method::GET, "/fhir/Patient/John Smith 1974-12-25", "", 404);
        assert_eq!(
            record.entities,
            vec![Entity::Query {
                resource_type: Some("Patient".into()),
                parameters: vec![],
            }]
        );
        let record = audit(Method::GET, "/fhir/patient name/1", "", 404);
        assert!(record.entities.is_empty(), "{:?}", record.entities);
    }

    #[test]
    fn what_is_not_audited() {
        for (method, path) in [
            (Method::GET, "/fhir/metadata"),
            (Method::GET, "/fhir/.well-known/smart-configuration"),
            (Method::POST, "/auth/token"),
            (Method::GET, "/metrics"),
            (Method::GET, "/admin/clients"),
            (Method::POST, "/webhooks/stripe/1"),
        ] {
            assert!(classify(&method, path, "").is_none(), "{path}");
        }
        // Reading the audit trail: only a refusal is kept.
        let method = Method::GET;
        let auditor = principal("auditor", "auditor");
        let pending = classify(&method, "/fhir/AuditEvent", "agent=ehr").unwrap();
        assert!(pending
            .clone()
            .complete(done(&method, 200, Some(&auditor)))
            .is_none());
        assert!(pending.complete(done(&method, 403, Some(&auditor))).is_some());
    }

    #[test]
    fn api_and_admin_calls_name_their_route_and_records() {
        let method = Method::POST;
        let who = principal("billing", "billing");
        let submit = classify(&method, "/api/billing/claims/c-1/submit", "")
            .unwrap()
            .complete(Completion {
                route: Some("/api/billing/claims/{id}/submit"),
                params: &[("id", "c-1")],
                ..done(&method, 200, Some(&who))
            })
            .unwrap();
        assert_eq!(
            submit.kind,
            EventKind::Api("POST /api/billing/claims/{id}/submit".into())
        );
        assert_eq!(submit.action, Action::Execute);
        assert_eq!(submit.entities, vec![Entity::resource("Claim/c-1")]);
        assert_eq!(api_action(&method, "/api/claims"), Action::Create);

        let registered = classify(&method, "/admin/clients", "")
            .unwrap()
            .complete(Completion {
                route: Some("/admin/clients"),
                ..done(&method, 201, Some(&who))
            })
            .unwrap();
        assert_eq!(
            registered.kind,
            EventKind::AdminChange("POST /admin/clients".into())
        );
        assert_eq!(registered.action, Action::Create);
        let delete = Method::DELETE;
        let removed = classify(&delete, "/admin/clients/reporting", "")
            .unwrap()
            .complete(Completion {
                route: Some("/admin/clients/{id}"),
                params: &[("id", "reporting")],
                ..done(&delete, 204, Some(&who))
            })
            .unwrap();
        assert_eq!(removed.action, Action::Delete);
        assert_eq!(
            removed.entities,
            vec![Entity::Record {
                system: "urn:claimbridge:client",
                value: "reporting".into()
            }]
        );
        assert_eq!(admin_action(&method, "/admin/auth/keys/rotate"), Action::Execute);
    }

    #[test]
    fn console_pages_are_audited_as_the_apis_they_stand_for() {
        let (get, post) = (Method::GET, Method::POST);
        let who = principal("claimbridge-console", "user-1");
        for (method, path) in [
            (&get, "/console"),
            (&get, "/console/integrations"),
            (&get, "/console/assets/htmx.min.0123456789abcdef.js"),
            (&get, "/console/callback"),
            (&post, "/console/sign-out"),
        ] {
            assert!(classify(method, path, "").is_none(), "{path}");
        }
        let viewed = classify(&get, "/console/hl7/messages/12", "")
            .unwrap()
            .complete(Completion {
                route: Some("/console/hl7/messages/{id}"),
                params: &[("id", "12")],
                ..done(&get, 200, Some(&who))
            })
            .unwrap();
        assert_eq!(
            viewed.kind,
            EventKind::Api("GET /console/hl7/messages/{id}".into())
        );
        assert_eq!(viewed.action, Action::Read);
        assert_eq!(viewed.user.as_deref(), Some("user-1"));
        assert_eq!(
            viewed.entities,
            vec![Entity::Record {
                system: HL7_MESSAGE_SYSTEM,
                value: "12".into()
            }]
        );
        let enabled = classify(&post, "/console/integrations/i-1/enable", "")
            .unwrap()
            .complete(Completion {
                route: Some("/console/integrations/{id}/enable"),
                params: &[("id", "i-1")],
                ..done(&post, 200, Some(&who))
            })
            .unwrap();
        assert_eq!(
            enabled.kind,
            EventKind::AdminChange("POST /console/integrations/{id}/enable".into())
        );
        assert_eq!(enabled.action, Action::Execute);
        assert_eq!(
            enabled.entities,
            vec![Entity::Record {
                system: "urn:claimbridge:integration",
                value: "i-1".into()
            }]
        );
        let added = classify(&post, "/console/integrations", "").unwrap();
        assert_eq!(added.action, Action::Create);
    }

    #[test]
    fn an_hl7_message_is_recorded_with_its_acknowledgement() {
        let method = Method::POST;
        let who = principal("engine", "engine");
        let note = AuditNote {
            references: vec!["Patient/p1".into(), "Encounter/e1".into()],
            hl7: Some(Hl7Note {
                message_type: "ADT^A01".into(),
                sender: Hl7Sender {
                    application: "EPIC".into(),
                    facility: "GOODHEALTH".into(),
                },
                message_id: Some(3),
                outcome: Outcome::MinorFailure,
                outcome_desc: "AE".into(),
            }),
            ..AuditNote::default()
        };
        let record = classify(&method, "/hl7/v2", "")
            .unwrap()
            .complete(Completion {
                note: Some(&note),
                ..done(&method, 200, Some(&who))
            })
            .unwrap();
        assert_eq!(record.kind, EventKind::Hl7Import("ADT^A01".into()));
        assert_eq!(record.outcome, Outcome::MinorFailure);
        assert_eq!(record.outcome_desc.as_deref(), Some("AE"));
        assert_eq!(record.entities.len(), 3);
        assert_eq!(record.sender.unwrap().id(), "EPIC^GOODHEALTH");
    }
}
