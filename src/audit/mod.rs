//! The audit trail: a FHIR R4 AuditEvent for every access to PHI — each FHIR
//! interaction (Bundles and `$validate` included), each HL7 v2 message (over MLLP
//! or HTTP), each billing API call — and for every admin configuration change,
//! whether it succeeded or was refused (401, 403, 429, 4xx, 5xx alike).
//!
//! How it fits together, and why:
//!
//! - [`middleware::audit`] wraps the app outside the gate: a refusal is recorded
//!   too, with whoever the gate verified. It builds an [`AuditRecord`] from the
//!   method and path, the status, the `Principal`, the peer address, a create's
//!   `Location`, and what a handler noted when the path cannot say
//!   ([`AuditNote`]: a search's results, a Bundle's kind and locations, an HL7
//!   message's outcome). An interceptor rather than code in every handler, so a
//!   new route is audited without anyone remembering to.
//! - [`writer`] stores records in batches from a bounded queue; reads pay a channel
//!   send, successful writes wait for their record's commit (trade-offs there).
//! - [`event`] is the record and its FHIR form. It holds no PHI by construction:
//!   client ids, user subjects, addresses, HL7 sending applications, references
//!   (`Patient/123`), resource types, search parameter *names*, route templates.
//! - [`routes`] serves `GET /fhir/AuditEvent` and `GET /fhir/AuditEvent/{id}` to
//!   auditors, within their tenant. Successful reads of the trail are not
//!   themselves recorded — the auditors' polling would bury everything else, and
//!   the trail holds no PHI; refused attempts to read it are.
//! - A message received over MLLP has one event (there is no HTTP request to
//!   wrap): its agent is the peer and the message's sending application and
//!   facility (MSH-3/4), its entities the resources the message wrote and the
//!   stored message's id. Ingestion writes it in the transaction that stores the
//!   message (`crate::hl7::ingest`); the listener hands the writer the events of
//!   what stored nothing: a resend, a message that could not be stored.
//!
//! Each event carries its principal's tenant (`default` when nobody is known);
//! the trail is searched within the asker's tenant.

pub mod classify;
pub mod event;
pub mod middleware;
pub mod routes;
pub mod writer;

pub use classify::{AuditNote, Hl7Note};
pub use event::{Action, AuditRecord, Entity, EventKind, Hl7Sender, Observer, Outcome};
pub use middleware::note;
pub use writer::{AuditWriter, Auditor};
