//! One audited happening as the server knows it ([`AuditRecord`]), and the two
//! forms it is stored in: the FHIR R4 AuditEvent served at `/fhir/AuditEvent`, and
//! the columns that event is searched by.
//!
//! A record is built on the request path (cheaply: a few strings, no JSON) and
//! rendered by the writer task, off that path. What it may hold is chosen so that
//! it cannot carry PHI: client ids, user subjects, network addresses, HL7 sending
//! applications, resource references (`Patient/123`), resource types, search
//! parameter names and route templates — never a search value, a body or a name.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::store::audit::{NewAuditEntityRow, NewAuditEvent, NewAuditEventRow};
use crate::store::sql_types::StoredInstant;

/// `AuditEvent.type` of FHIR interactions.
const AUDIT_EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const RESTFUL_INTERACTION: &str = "http://hl7.org/fhir/restful-interaction";
const RESOURCE_TYPES: &str = "http://hl7.org/fhir/resource-types";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const AUDIT_ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const SECURITY_SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const SECURITY_ROLE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/extra-security-role-type";

/// Identifier systems of this server's own identities and records.
pub const CLIENT_SYSTEM: &str = "urn:claimbridge:client";
pub const USER_SYSTEM: &str = "urn:claimbridge:user";
pub const HL7_SENDER_SYSTEM: &str = "urn:claimbridge:hl7-sender";
pub const HL7_MESSAGE_SYSTEM: &str = "urn:claimbridge:hl7-message";
pub const HL7_MESSAGE_TYPE_SYSTEM: &str = "urn:claimbridge:hl7-v2-message-type";
pub const ROUTE_SYSTEM: &str = "urn:claimbridge:route";
pub const OPERATION_SYSTEM: &str = "urn:claimbridge:fhir-operation";

/// `AuditEvent.action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    Execute,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Create => "C",
            Action::Read => "R",
            Action::Update => "U",
            Action::Delete => "D",
            Action::Execute => "E",
        }
    }

    /// Whether the request may have changed something.
    pub fn writes(self) -> bool {
        self != Action::Read
    }
}

/// `AuditEvent.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The request was refused or could not be done as asked (4xx, an HL7 AE/AR).
    MinorFailure,
    /// The server failed (5xx, a message that could not be stored).
    SeriousFailure,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Success => "0",
            Outcome::MinorFailure => "4",
            Outcome::SeriousFailure => "8",
        }
    }

    /// From an HTTP status: 1xx–3xx success, 4xx minor, 5xx serious.
    pub fn of_status(status: u16) -> Outcome {
        match status {
            500.. => Outcome::SeriousFailure,
            400..=499 => Outcome::MinorFailure,
            _ => Outcome::Success,
        }
    }
}

/// What kind of event it was: `AuditEvent.type` and the first `subtype`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A FHIR RESTful interaction: type `rest`, subtype its restful-interaction code
    /// (`read`, `search-type`, `transaction`, `operation`, …).
    Rest(&'static str),
    /// An HL7 v2 message received (over MLLP or `POST /hl7/v2`): DICOM `Import`,
    /// subtype the message's type and event (`ADT^A01`).
    Hl7Import(String),
    /// A call of the billing and operations API under `/api`, which reads and
    /// changes patients' billing records: DICOM `Patient Record`, subtype the method
    /// and route template (`POST /api/billing/claims/{id}/submit`).
    Api(String),
    /// A configuration change under `/admin` (clients, keys, integrations,
    /// webhooks): DICOM `Security Alert`, subtype the method and route template.
    AdminChange(String),
}

impl EventKind {
    /// The `type_code` column: `rest` or the DICOM code.
    pub fn type_code(&self) -> &'static str {
        match self {
            EventKind::Rest(_) => "rest",
            EventKind::Hl7Import(_) => "110107",
            EventKind::Api(_) => "110110",
            EventKind::AdminChange(_) => "110113",
        }
    }

    /// The `subtype` column.
    pub fn subtype_code(&self) -> &str {
        match self {
            EventKind::Rest(interaction) => interaction,
            EventKind::Hl7Import(message_type) => message_type,
            EventKind::Api(route) | EventKind::AdminChange(route) => route,
        }
    }

    fn type_coding(&self) -> Value {
        match self {
            EventKind::Rest(_) => {
                json!({"system": AUDIT_EVENT_TYPE, "code": "rest", "display": "RESTful Operation"})
            }
            EventKind::Hl7Import(_) => json!({"system": DICOM, "code": "110107", "display": "Import"}),
            EventKind::Api(_) => json!({"system": DICOM, "code": "110110", "display": "Patient Record"}),
            EventKind::AdminChange(_) => {
                json!({"system": DICOM, "code": "110113", "display": "Security Alert"})
            }
        }
    }

    fn subtype_coding(&self) -> Value {
        match self {
            EventKind::Rest(interaction) => {
                json!({"system": RESTFUL_INTERACTION, "code": interaction, "display": interaction})
            }
            EventKind::Hl7Import(message_type) => {
                json!({"system": HL7_MESSAGE_TYPE_SYSTEM, "code": message_type})
            }
            EventKind::Api(route) | EventKind::AdminChange(route) => {
                json!({"system": ROUTE_SYSTEM, "code": route})
            }
        }
    }
}

/// The sending application and facility of an HL7 v2 message (MSH-3, MSH-4): an
/// interface engine's name, not PHI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hl7Sender {
    pub application: String,
    pub facility: String,
}

impl Hl7Sender {
    /// `APP^FACILITY`, as the `agent` search finds it.
    pub fn id(&self) -> String {
        format!("{}^{}", self.application, self.facility)
    }
}

/// What an event was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entity {
    /// A resource: `Patient/123`, with the version when one was read or written.
    Resource {
        reference: String,
        version: Option<String>,
    },
    /// A search or another request on a whole type: the type and the names (never
    /// the values) of the parameters it was asked with.
    Query {
        resource_type: Option<String>,
        parameters: Vec<String>,
    },
    /// A record that is not a FHIR resource, by its identifier (a stored HL7
    /// message, a client, an integration).
    Record { system: &'static str, value: String },
}

impl Entity {
    /// `Type/id` (from `Type/id` or `Type/id/_history/v`), as a resource entity.
    pub fn resource(reference: &str) -> Entity {
        let mut parts = reference.splitn(4, '/');
        let (kind, id) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let version = match (parts.next(), parts.next()) {
            (Some("_history"), Some(version)) if !version.is_empty() => Some(version.to_owned()),
            _ => None,
        };
        Entity::Resource {
            reference: format!("{kind}/{id}"),
            version,
        }
    }

    fn to_fhir(&self) -> Value {
        match self {
            Entity::Resource { reference, version } => {
                let kind = reference.split('/').next().unwrap_or_default();
                let literal = match version {
                    Some(version) => format!("{reference}/_history/{version}"),
                    None => reference.clone(),
                };
                let role = if kind == "Patient" {
                    json!({"system": OBJECT_ROLE, "code": "1", "display": "Patient"})
                } else {
                    json!({"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"})
                };
                json!({
                    "what": {"reference": literal},
                    "type": {"system": RESOURCE_TYPES, "code": kind},
                    "role": role,
                })
            }
            Entity::Query {
                resource_type,
                parameters,
            } => {
                let mut entity = json!({
                    "type": match resource_type {
                        Some(kind) => json!({"system": RESOURCE_TYPES, "code": kind}),
                        None => json!({"system": AUDIT_ENTITY_TYPE, "code": "2", "display": "System Object"}),
                    },
                    "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
                });
                if !parameters.is_empty() {
                    entity["detail"] =
                        json!([{"type": "parameter-names", "valueString": parameters.join(",")}]);
                }
                entity
            }
            Entity::Record { system, value } => json!({
                "what": {"identifier": {"system": system, "value": value}},
                "type": {"system": AUDIT_ENTITY_TYPE, "code": "2", "display": "System Object"},
            }),
        }
    }
}

/// Who this server is, in every event's `source`.
#[derive(Debug, Clone)]
pub struct Observer {
    /// `{public url}/fhir`.
    pub site: String,
}

/// One audited happening, as the request path builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The AuditEvent's id (a UUID).
    pub id: String,
    pub recorded: DateTime<Utc>,
    /// The principal's tenant (`default` when nobody is known).
    pub tenant: String,
    pub kind: EventKind,
    /// A FHIR operation's name (`$validate`), for `Rest("operation")`.
    pub operation: Option<String>,
    pub action: Action,
    pub outcome: Outcome,
    /// What the outcome was in the protocol's words: `404 Not Found`, `AE`.
    pub outcome_desc: Option<String>,
    /// The verified client; `None` when the request carried no good token.
    pub client_id: Option<String>,
    /// The user the client acted for, when that is not the client itself.
    pub user: Option<String>,
    /// The sender of an HL7 v2 message.
    pub sender: Option<Hl7Sender>,
    /// The peer's network address (the socket's; behind a proxy, the proxy's).
    pub address: Option<IpAddr>,
    pub entities: Vec<Entity>,
}

impl AuditRecord {
    /// A record made now, with a fresh id; the rest is filled in by the caller.
    pub fn new(tenant: String, kind: EventKind, action: Action, outcome: Outcome) -> AuditRecord {
        AuditRecord {
            id: crate::fhir::new_id(),
            recorded: Utc::now(),
            tenant,
            kind,
            operation: None,
            action,
            outcome,
            outcome_desc: None,
            client_id: None,
            user: None,
            sender: None,
            address: None,
            entities: Vec::new(),
        }
    }

    /// The FHIR R4 AuditEvent.
    pub fn to_fhir(&self, observer: &Observer) -> Value {
        let mut subtype = vec![self.kind.subtype_coding()];
        if let Some(operation) = &self.operation {
            subtype.push(json!({"system": OPERATION_SYSTEM, "code": operation}));
        }
        let recorded = crate::fhir::instant(self.recorded);
        let mut event = json!({
            "resourceType": "AuditEvent",
            "id": self.id,
            "meta": {"lastUpdated": recorded},
            "type": self.kind.type_coding(),
            "subtype": subtype,
            "action": self.action.code(),
            "recorded": recorded,
            "outcome": self.outcome.code(),
            "agent": self.agents(),
            "source": {
                "site": observer.site,
                "observer": {"display": "Claimbridge"},
                "type": [{"system": SECURITY_SOURCE_TYPE, "code": "4", "display": "Application Server"}],
            },
        });
        if let Some(description) = &self.outcome_desc {
            event["outcomeDesc"] = json!(description);
        }
        if !self.entities.is_empty() {
            event["entity"] = self.entities.iter().map(Entity::to_fhir).collect();
        }
        event
    }

    /// The requestor first (the user when there is one, else the client, else the
    /// HL7 sender, else whoever is at the address), then the others.
    fn agents(&self) -> Vec<Value> {
        let network = self
            .address
            .map(|address| json!({"address": address.to_string(), "type": "2"}));
        let mut agents = Vec::new();
        if let Some(user) = &self.user {
            agents.push(json!({
                "type": {"coding": [{"system": SECURITY_ROLE_TYPE, "code": "humanuser", "display": "human user"}]},
                "who": {"identifier": {"system": USER_SYSTEM, "value": user}},
                "requestor": true,
            }));
        }
        if let Some(client_id) = &self.client_id {
            agents.push(json!({
                "type": {"coding": [{"system": DICOM, "code": "110150", "display": "Application"}]},
                "who": {"identifier": {"system": CLIENT_SYSTEM, "value": client_id}},
                "requestor": agents.is_empty(),
            }));
        }
        if let Some(sender) = &self.sender {
            agents.push(json!({
                "type": {"coding": [{"system": DICOM, "code": "110153", "display": "Source Role ID"}]},
                "who": {
                    "identifier": {"system": HL7_SENDER_SYSTEM, "value": sender.id()},
                    "display": format!("{} at {}", sender.application, sender.facility),
                },
                "requestor": agents.is_empty(),
            }));
        }
        if agents.is_empty() {
            agents.push(json!({
                "who": {"display": "unauthenticated"},
                "requestor": true,
            }));
        }
        if let Some(network) = network {
            agents[0]["network"] = network;
        }
        agents
    }

    /// The rows it is stored as: the event, and one row per resource it names.
    pub fn to_new_event(&self, observer: &Observer) -> NewAuditEvent {
        let mut references: Vec<String> = self
            .entities
            .iter()
            .filter_map(|entity| match entity {
                Entity::Resource { reference, .. } => Some(reference.clone()),
                _ => None,
            })
            .collect();
        references.sort();
        references.dedup();
        let entities = references
            .into_iter()
            .map(|reference| NewAuditEntityRow {
                event_id: self.id.clone(),
                tenant: self.tenant.clone(),
                reference,
            })
            .collect();
        // An MLLP message has no client: its sender is who the `agent` search finds.
        let agent_client = self
            .client_id
            .clone()
            .or_else(|| self.sender.as_ref().map(Hl7Sender::id));
        NewAuditEvent {
            row: NewAuditEventRow {
                event_id: self.id.clone(),
                tenant: self.tenant.clone(),
                recorded: StoredInstant(self.recorded),
                type_code: self.kind.type_code().to_owned(),
                subtype: Some(self.kind.subtype_code().to_owned()),
                action: self.action.code().to_owned(),
                outcome: self.outcome.code().to_owned(),
                agent_client,
                agent_user: self.user.clone(),
                address: self.address.map(|address| address.to_string()),
                body: self.to_fhir(observer).to_string(),
            },
            entities,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observer() -> Observer {
        Observer {
            site: "http://claims.example/fhir".into(),
        }
    }

    #[test]
    fn a_read_names_its_client_user_address_and_resource() {
        let mut record = AuditRecord::new(
            "default".into(),
            EventKind::Rest("vread"),
            Action::Read,
            Outcome::Success,
        );
        record.client_id = Some("ehr".into());
        record.user = Some("dr-who".into());
        record.address = Some("10.0.0.7".parse().unwrap());
        record.entities = vec![Entity::resource("Patient/123/_history/2")];
        let event = record.to_fhir(&observer());
        assert_eq!(event["type"]["code"], "rest");
        assert_eq!(event["subtype"][0]["code"], "vread");
        assert_eq!((&event["action"], &event["outcome"]), (&json!("R"), &json!("0")));
        assert_eq!(event["agent"][0]["who"]["identifier"]["value"], "dr-who");
        assert_eq!(event["agent"][0]["requestor"], true);
        assert_eq!(event["agent"][0]["network"]["address"], "10.0.0.7");
        assert_eq!(event["agent"][1]["who"]["identifier"]["value"], "ehr");
        assert_eq!(event["agent"][1]["requestor"], false);
        assert_eq!(event["entity"][0]["what"]["reference"], "Patient/123/_history/2");
        assert_eq!(event["entity"][0]["role"]["code"], "1");
        assert_eq!(event["source"]["site"], "http://claims.example/fhir");

        let stored = record.to_new_event(&observer());
        assert_eq!(stored.row.subtype.as_deref(), Some("vread"));
        assert_eq!(stored.row.agent_client.as_deref(), Some("ehr"));
        assert_eq!(stored.row.agent_user.as_deref(), Some("dr-who"));
        let references: Vec<&str> = stored.entities.iter().map(|e| e.reference.as_str()).collect();
        assert_eq!(references, ["Patient/123"]);
    }

    #[test]
    fn a_refused_request_without_a_token_still_has_a_requestor() {
        let mut record = AuditRecord::new(
            "default".into(),
            EventKind::Rest("search-type"),
            Action::Read,
            Outcome::of_status(401),
        );
        record.address = Some("127.0.0.1".parse().unwrap());
        record.entities = vec![Entity::Query {
            resource_type: Some("Patient".into()),
            parameters: vec!["birthdate".into(), "name".into()],
        }];
        let event = record.to_fhir(&observer());
        assert_eq!(event["outcome"], "4");
        assert_eq!(event["agent"][0]["requestor"], true);
        assert_eq!(event["agent"][0]["network"]["address"], "127.0.0.1");
        assert_eq!(event["entity"][0]["role"]["code"], "24");
        assert_eq!(event["entity"][0]["detail"][0]["valueString"], "birthdate,name");
        assert!(record.to_new_event(&observer()).entities.is_empty());
    }

    /// Every shape of event this module writes against the official R4 JSON schema
    /// and fhirbolt's strict R4 model (which `_format=xml` renders through).
    #[test]
    fn events_are_valid_r4_audit_events() {
        let mut schema = crate::fhir::validation::R4_SCHEMA_JSON.clone();
        let root = schema.as_object_mut().unwrap();
        root.remove("oneOf");
        root.remove("discriminator");
        root.insert("$ref".into(), json!("#/definitions/AuditEvent"));
        let validator = jsonschema::validator_for(&schema).unwrap();
        let mut full = AuditRecord::new(
            "default".into(),
            EventKind::Rest("operation"),
            Action::Execute,
            Outcome::Success,
        );
        full.operation = Some("$validate".into());
        full.outcome_desc = Some("200 OK".into());
        full.client_id = Some("ehr".into());
        full.user = Some("dr-who".into());
        full.sender = Some(Hl7Sender {
            application: "EPIC".into(),
            facility: "GOODHEALTH".into(),
        });
        full.address = Some("::1".parse().unwrap());
        full.entities = vec![
            Entity::resource("Claim/c1/_history/1"),
            Entity::Query {
                resource_type: Some("Claim".into()),
                parameters: vec!["patient".into()],
            },
            Entity::Query {
                resource_type: None,
                parameters: vec![],
            },
            Entity::Record {
                system: HL7_MESSAGE_SYSTEM,
                value: "1".into(),
            },
        ];
        let bare = AuditRecord::new(
            "default".into(),
            EventKind::AdminChange("POST /admin/clients".into()),
            Action::Create,
            Outcome::MinorFailure,
        );
        for record in [full, bare] {
            let event = record.to_fhir(&observer());
            let errors: Vec<String> = validator.iter_errors(&event).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{errors:?} in {event}");
            let strict = fhirbolt::serde::DeserializationConfig {
                mode: fhirbolt::serde::DeserializationMode::Strict,
            };
            fhirbolt::json::from_json_value::<fhirbolt::model::r4::Resource>(event.clone(), Some(strict))
                .unwrap_or_else(|error| panic!("{error}: {event}"));
        }
    }

    #[test]
    fn outcomes_follow_the_http_status() {
        assert_eq!(Outcome::of_status(201), Outcome::Success);
        assert_eq!(Outcome::of_status(304), Outcome::Success);
        assert_eq!(Outcome::of_status(403), Outcome::MinorFailure);
        assert_eq!(Outcome::of_status(503), Outcome::SeriousFailure);
    }

    #[test]
    fn an_hl7_sender_is_the_agent_of_a_message_without_a_client() {
        let mut record = AuditRecord::new(
            "default".into(),
            EventKind::Hl7Import("ADT^A01".into()),
            Action::Create,
            Outcome::Success,
        );
        record.sender = Some(Hl7Sender {
            application: "EPIC".into(),
            facility: "GOODHEALTH".into(),
        });
        record.entities = vec![
            Entity::Record {
                system: HL7_MESSAGE_SYSTEM,
                value: "7".into(),
            },
            Entity::resource("Patient/p1"),
        ];
        let stored = record.to_new_event(&observer());
        assert_eq!(stored.row.type_code, "110107");
        assert_eq!(stored.row.agent_client.as_deref(), Some("EPIC^GOODHEALTH"));
        let event = record.to_fhir(&observer());
        assert_eq!(event["agent"][0]["requestor"], true);
        assert_eq!(event["entity"][0]["what"]["identifier"]["value"], "7");
    }
}
