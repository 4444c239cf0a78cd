//! What happens to one received message: it is recorded, applied to FHIR in the same
//! transaction, and only then acknowledged. A resent message (same sender, same
//! control id) gets the first one's ACK and changes nothing.
//!
//! A message received over MLLP has its AuditEvent written in the transaction that
//! records the message: an acknowledged message always has its event, and the
//! audit trail costs the message no transaction of its own. (`POST /hl7/v2` is
//! audited by the HTTP middleware, like every request.)

use std::net::IpAddr;

use chrono::Utc;

use crate::audit::classify::mllp_message;
use crate::audit::Observer;
use crate::fhir::outcome::FhirError;
use crate::fhir::service::ResourceService;
use crate::hl7::ack::{self, AckCode, ErrorCode, Problem};
use crate::hl7::mapping::{self, AuthoritySystems, MappingContext, MappingError, MessageLookup};
use crate::hl7::message::{normalize_segment_endings, Header, Parsed};
use crate::observability::metrics;
use crate::store::audit::NewAuditEvent;
use crate::store::messages::{
    FinishedMessage, MessageFilter, MessageOutcome, MessageStatus, NewMessage, StoredMessage,
};
use crate::store::model::{FoundResource, Tenant};
use crate::store::StoreError;

/// How ingestion is set up.
#[derive(Debug, Clone, Default)]
pub struct IngestSettings {
    pub identifier_systems: AuthoritySystems,
    /// `ORU` or `SIU^S12`: accepted and stored without mapping.
    pub store_only: Vec<String>,
    /// The practice's time zone (`billing_time_zone`), on whose calendar the
    /// claims of DFT charges are dated.
    pub practice_zone: chrono_tz::Tz,
}

pub struct Ingest {
    fhir: ResourceService,
    settings: IngestSettings,
    /// This server, as the AuditEvents of MLLP messages name it.
    observer: Observer,
}

/// What to answer: in original mode the ACK; in enhanced mode the commit ACK and
/// the application ACK, each only when MSH-15 and MSH-16 ask for it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The acknowledgements, in the order they are sent (the commit ACK first).
    pub acks: Vec<String>,
    pub status: MessageStatus,
    /// MSH-9.1 as received (for metrics: a small set of values).
    pub message_type: String,
    /// MSH-9.1^MSH-9.2 (`ADT^A01`), MSH-3 and MSH-4: what the audit trail records
    /// of the message (no PHI).
    pub type_and_event: String,
    pub sending_application: String,
    pub sending_facility: String,
    /// The stored message's id.
    pub message_id: Option<i64>,
    /// The resources the message created or updated (`Type/id`), when it was
    /// applied.
    pub written: Vec<String>,
    /// The message's AuditEvent was committed with it (it came over MLLP and was
    /// recorded); otherwise the caller records one.
    pub audited: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The message could not be recorded: nothing may be acknowledged, the sender
    /// must resend (the connection is closed without an ACK).
    #[error("the message could not be stored: {0}")]
    Store(#[from] StoreError),
    #[error("the message could not be stored: {0}")]
    Fhir(FhirError),
}

/// Why a stored message was not reprocessed.
#[derive(Debug, thiserror::Error)]
pub enum ReprocessError {
    #[error("no stored message has id {0}")]
    NotFound(i64),
    #[error("message {id} is {}; only messages in error are reprocessed", status.as_str())]
    NotInError { id: i64, status: MessageStatus },
    #[error(transparent)]
    Unavailable(#[from] IngestError),
}

impl Ingest {
    pub fn new(fhir: ResourceService, settings: IngestSettings, observer: Observer) -> Self {
        Ingest {
            fhir,
            settings,
            observer,
        }
    }

    /// Records, applies and acknowledges one message (the bytes of one frame).
    /// `mllp_peer` is the sending address of a message received over MLLP, whose
    /// AuditEvent is then committed with it.
    pub async fn receive(&self, raw: &str, mllp_peer: Option<IpAddr>) -> Result<Reply, IngestError> {
        let received_at = Utc::now();
        let text = normalize_segment_endings(raw);
        let header = match Header::read(&text) {
            Ok(header) => header,
            Err(unreadable) => {
                return self
                    .reject_unreadable(raw, &unreadable.header, unreadable.problem, mllp_peer)
                    .await
            }
        };
        let parsed = Parsed::parse(&text, &header);
        let lookups = match &parsed {
            Ok(parsed) => mapping::lookups(&self.fhir, &header, parsed, &self.settings.identifier_systems),
            Err(_) => Vec::new(),
        };
        let record = NewMessage {
            received_at,
            sending_application: header.sending_application.clone(),
            sending_facility: header.sending_facility.clone(),
            control_id: Some(header.control_id.clone()),
            message_type: header.type_and_event(),
            version: header.version.clone().unwrap_or_default(),
            status: MessageStatus::Processing,
            error: None,
            raw: raw.to_owned(),
            ack: String::new(),
        };
        // The transaction's start, the record and the message's key lookups go in
        // one round trip; the lookups are of use only when the record is new.
        let searches: Vec<_> = lookups.iter().map(|l| l.lookup.clone()).collect();
        let (mut tx, recorded, found) = self
            .fhir
            .begin_recording(&Tenant::default(), Some(&record), &searches)
            .await
            .map_err(IngestError::Fhir)?;
        let (record, prefetched) = match recorded {
            Some(id) => (Record::Inserted(id, Box::new(record)), Some(found)),
            // Sent before (or to another connection or node at the same moment, whose
            // transaction the recording waited for).
            None => {
                let previous = tx
                    .find_message(
                        &header.sending_application,
                        &header.sending_facility,
                        &header.control_id,
                    )
                    .await?
                    .ok_or(StoreError::WriteRace)?;
                if previous.status != MessageStatus::Error {
                    tx.rollback().await?;
                    return Ok(resend(&header, previous));
                }
                // A message in error is applied again; what the lookups found may
                // predate the recording's wait, so the mapping looks again.
                (Record::Stored(previous.id), None)
            }
        };
        let prefetched = prefetched.map(|found| (lookups.as_slice(), found));
        self.process(tx, record, &header, parsed, prefetched, mllp_peer)
            .await
    }

    /// Applies the stored message `id` again, when it is in error (after a mapping
    /// or data fix); the message as it is afterwards.
    pub async fn reprocess_stored(&self, id: i64) -> Result<StoredMessage, ReprocessError> {
        let message = self.message(id).await?.ok_or(ReprocessError::NotFound(id))?;
        if message.status != MessageStatus::Error {
            return Err(ReprocessError::NotInError {
                id,
                status: message.status,
            });
        }
        self.reprocess(&message).await?;
        self.message(id).await?.ok_or(ReprocessError::NotFound(id))
    }

    /// Applies a stored message in error again (after a mapping or data fix).
    async fn reprocess(&self, message: &StoredMessage) -> Result<Reply, ReprocessError> {
        let text = normalize_segment_endings(&message.raw);
        let header = match Header::read(&text) {
            Ok(header) => header,
            Err(unreadable) => {
                return Ok(reply(
                    &unreadable.header,
                    MessageStatus::Rejected,
                    &[unreadable.problem],
                ));
            }
        };
        let mut tx = self
            .fhir
            .begin(&Tenant::default())
            .await
            .map_err(IngestError::Fhir)?;
        // Another reprocessing, or a resend of the message (which holds the same
        // lock while it applies), may have applied it since it was read: the
        // message is applied once.
        tx.lock_message(
            &message.sending_application,
            &message.sending_facility,
            message.control_id.as_deref(),
        )
        .await?;
        let status = tx.get_message(message.id).await?.map(|m| m.status);
        if status != Some(MessageStatus::Error) {
            tx.rollback().await?;
            return Err(match status {
                Some(status) => ReprocessError::NotInError {
                    id: message.id,
                    status,
                },
                None => ReprocessError::NotFound(message.id),
            });
        }
        let parsed = Parsed::parse(&text, &header);
        // Reprocessing is asked over HTTP, whose middleware records the event.
        Ok(self
            .process(tx, Record::Stored(message.id), &header, parsed, None, None)
            .await?)
    }

    async fn process(
        &self,
        mut tx: crate::store::Session,
        record: Record,
        header: &Header,
        parsed: Result<Parsed<'_>, Problem>,
        prefetched: Option<(&[MessageLookup], Vec<Vec<FoundResource>>)>,
        mllp_peer: Option<IpAddr>,
    ) -> Result<Reply, IngestError> {
        let mut warnings = Vec::new();
        let mut written = Vec::new();
        let applied = match parsed {
            Err(problem) => Err(MappingError::Unsupported(problem)),
            Ok(parsed) => {
                let today = crate::billing::today_in(self.settings.practice_zone);
                let mut context =
                    MappingContext::new(&self.fhir, &mut tx, &self.settings.identifier_systems, today);
                if let Some((lookups, found)) = prefetched {
                    context.use_lookups(lookups, found);
                }
                let applied = mapping::apply(&mut context, header, &parsed).await;
                warnings = context.warnings;
                written = context.written;
                applied
            }
        };
        let (status, problems) = match applied {
            Ok(()) => (MessageStatus::Applied, warnings),
            Err(MappingError::Unsupported(_)) if self.stored_only(header) || is_acknowledgement(header) => {
                (MessageStatus::Stored, Vec::new())
            }
            Err(MappingError::Unsupported(problem)) => (MessageStatus::Rejected, vec![problem]),
            Err(MappingError::Invalid(problem)) => (MessageStatus::Error, vec![problem]),
            Err(MappingError::Fhir(error)) => (MessageStatus::Error, vec![fhir_problem(&error)]),
        };
        let mut reply = reply(header, status, &problems);
        let described: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let outcome = MessageOutcome {
            status,
            error: (!described.is_empty()).then(|| described.join("; ")),
            ack: stored_acks(&reply.acks),
        };
        if status == MessageStatus::Error {
            // The message's FHIR changes are undone, and with them the record made in
            // the same transaction (its row on SQLite, its reserved id on
            // PostgreSQL): it is written again, with the error (and a new id).
            tx.rollback().await?;
            let mut tx = self
                .fhir
                .begin(&Tenant::default())
                .await
                .map_err(IngestError::Fhir)?;
            let id = match record {
                Record::Stored(id) => {
                    tx.finish_message(id, &outcome).await?;
                    id
                }
                Record::Inserted(_, mut new) => {
                    new.status = outcome.status;
                    new.error = outcome.error;
                    new.ack = outcome.ack;
                    tx.insert_message(&new).await?.ok_or(StoreError::WriteRace)?
                }
            };
            reply.message_id = Some(id);
            if let Some(event) = self.audit_event(&reply, mllp_peer) {
                tx.insert_audit_events(std::slice::from_ref(&event)).await?;
                reply.audited = true;
            }
            tx.commit().await?;
            count_audited(&reply);
        } else {
            let (id, received) = match &record {
                Record::Stored(id) => (*id, None),
                Record::Inserted(id, new) => (*id, Some(new.as_ref())),
            };
            reply.message_id = Some(id);
            reply.written = written;
            let audit = self.audit_event(&reply, mllp_peer);
            tx.commit_finishing_message(FinishedMessage {
                id,
                outcome: &outcome,
                audit: audit.as_ref(),
                received,
            })
            .await?;
            reply.audited = audit.is_some();
            count_audited(&reply);
        }
        Ok(reply)
    }

    /// A page of stored messages, newest first.
    pub async fn messages(&self, filter: &MessageFilter) -> Result<Vec<StoredMessage>, IngestError> {
        let mut session = self
            .fhir
            .session(&Tenant::default())
            .await
            .map_err(IngestError::Fhir)?;
        Ok(session.list_messages(filter).await?)
    }

    pub async fn message(&self, id: i64) -> Result<Option<StoredMessage>, IngestError> {
        let mut session = self
            .fhir
            .session(&Tenant::default())
            .await
            .map_err(IngestError::Fhir)?;
        Ok(session.get_message(id).await?)
    }

    /// The AuditEvent of a message received over MLLP from `mllp_peer`, as `reply`
    /// says what became of it.
    fn audit_event(&self, reply: &Reply, mllp_peer: Option<IpAddr>) -> Option<NewAuditEvent> {
        mllp_peer.map(|peer| mllp_message(Some(reply), peer).to_new_event(&self.observer))
    }

    fn stored_only(&self, header: &Header) -> bool {
        let type_and_event = header.type_and_event();
        self.settings
            .store_only
            .iter()
            .any(|accepted| *accepted == header.message_type || *accepted == type_and_event)
    }

    /// A message whose header cannot be read is kept (without a control id, so a
    /// corrected resend is not taken for a duplicate) and answered AR.
    async fn reject_unreadable(
        &self,
        raw: &str,
        header: &Header,
        problem: Problem,
        mllp_peer: Option<IpAddr>,
    ) -> Result<Reply, IngestError> {
        let mut reply = reply(header, MessageStatus::Rejected, std::slice::from_ref(&problem));
        let record = NewMessage {
            received_at: Utc::now(),
            sending_application: header.sending_application.clone(),
            sending_facility: header.sending_facility.clone(),
            control_id: None,
            message_type: header.type_and_event(),
            version: header.version.clone().unwrap_or_default(),
            status: MessageStatus::Rejected,
            error: Some(problem.to_string()),
            raw: raw.to_owned(),
            ack: stored_acks(&reply.acks),
        };
        let mut tx = self
            .fhir
            .begin(&Tenant::default())
            .await
            .map_err(IngestError::Fhir)?;
        // Without a control id there is nothing to conflict with.
        reply.message_id = tx.insert_message(&record).await?;
        if let Some(event) = self.audit_event(&reply, mllp_peer) {
            tx.insert_audit_events(std::slice::from_ref(&event)).await?;
            reply.audited = true;
        }
        tx.commit().await?;
        count_audited(&reply);
        Ok(reply)
    }
}

/// A database failure while reprocessing: the message could not be applied now.
impl From<StoreError> for ReprocessError {
    fn from(error: StoreError) -> Self {
        ReprocessError::Unavailable(IngestError::Store(error))
    }
}

/// The message's record: already stored (a resend or reprocessing of a message in
/// error), or recorded by the transaction that is applying it (its id reserved;
/// on PostgreSQL its row is written as the transaction finishes).
enum Record {
    Stored(i64),
    Inserted(i64, Box<NewMessage>),
}

/// Counts the event committed with the message, as the audit writer counts those
/// it commits.
fn count_audited(reply: &Reply) {
    if reply.audited {
        metrics::audit_written(1);
    }
}

/// The acknowledgements a resent message gets: those sent the first time, the
/// same bytes, and none where MSH-15 and MSH-16 asked for none.
fn resend(header: &Header, previous: StoredMessage) -> Reply {
    Reply {
        acks: previous
            .ack
            .split(ACK_SEPARATOR)
            .filter(|ack| !ack.is_empty())
            .map(str::to_owned)
            .collect(),
        status: previous.status,
        message_id: Some(previous.id),
        ..Reply::about(header)
    }
}

/// Between a message's stored acknowledgements: an ACK ends its segments with
/// `\r` and escapes line breaks in its text (`\.br\`), so none holds a `\n`.
const ACK_SEPARATOR: char = '\n';

fn stored_acks(acks: &[String]) -> String {
    acks.join(&ACK_SEPARATOR.to_string())
}

fn reply(header: &Header, status: MessageStatus, problems: &[Problem]) -> Reply {
    let outcome = match status {
        MessageStatus::Applied | MessageStatus::Stored | MessageStatus::Processing => AckCode::Accept,
        MessageStatus::Error => AckCode::Error,
        MessageStatus::Rejected => AckCode::Reject,
    };
    let mut acks = Vec::new();
    if is_acknowledgement(header) {
        // Acknowledgements are not acknowledged (a sender's commit ACK of our
        // application ACK, say): answering would start an endless exchange.
    } else if !header.enhanced_mode() {
        acks.push(ack::build(header, outcome, false, &shown(outcome, problems)));
    } else {
        // The commit ACK says whether the message is safely stored (a message in
        // error is: its record holds the error); what became of it is the
        // application ACK's to say.
        let commit = match outcome {
            AckCode::Reject => AckCode::Reject,
            AckCode::Accept | AckCode::Error => AckCode::Accept,
        };
        // An absent MSH-15 asks for commit ACKs; an absent MSH-16 for no
        // application ACK: a sender that did not ask for one would take it for
        // the answer to its next message.
        if wanted(header.accept_ack_type.as_deref().unwrap_or("AL"), commit) {
            acks.push(ack::build(header, commit, true, &shown(commit, problems)));
        }
        // A message refused at commit (CR) never reaches the application, which
        // has nothing to acknowledge.
        let committed = commit == AckCode::Accept;
        if committed && wanted(header.application_ack_type.as_deref().unwrap_or("NE"), outcome) {
            acks.push(ack::build(header, outcome, false, &shown(outcome, problems)));
        }
    }
    Reply {
        acks,
        status,
        ..Reply::about(header)
    }
}

/// An ACK sent to us: stored, never answered.
fn is_acknowledgement(header: &Header) -> bool {
    header.message_type == "ACK"
}

/// Whether an acknowledgement with `code` is sent under the condition MSH-15 or
/// MSH-16 names (HL7 table 0155).
fn wanted(condition: &str, code: AckCode) -> bool {
    match condition {
        "NE" => false,
        "ER" => code != AckCode::Accept,
        "SU" => code == AckCode::Accept,
        _ => true,
    }
}

/// The problems an acknowledgement with `code` reports: an accepting one only the
/// warnings.
fn shown(code: AckCode, problems: &[Problem]) -> Vec<Problem> {
    problems
        .iter()
        .filter(|p| code != AckCode::Accept || p.severity == ack::Severity::Warning)
        .cloned()
        .collect()
}

impl Reply {
    /// A reply about the message `header` heads, not yet saying what became of it.
    fn about(header: &Header) -> Reply {
        Reply {
            acks: Vec::new(),
            status: MessageStatus::Processing,
            message_type: header.message_type.clone(),
            type_and_event: header.type_and_event(),
            sending_application: header.sending_application.clone(),
            sending_facility: header.sending_facility.clone(),
            message_id: None,
            written: Vec::new(),
            audited: false,
        }
    }
}

fn fhir_problem(error: &FhirError) -> Problem {
    let code = if error.is_client_error() {
        ErrorCode::DataType
    } else {
        ErrorCode::InternalError
    };
    Problem::new(code, None, error.to_string())
}
