//! Stored HL7 v2 messages: what was received, what became of it, and the ACK sent.

use chrono::{DateTime, Utc};

use crate::store::audit::NewAuditEvent;
use crate::store::statement::Statement;

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    /// Being applied in an open transaction (never visible committed; on
    /// PostgreSQL never written at all: the row is inserted with its outcome).
    Processing,
    /// Mapped to FHIR and committed (AA).
    Applied,
    /// Accepted and kept without mapping (a type configured as store-only).
    Stored,
    /// Parsed, but could not be applied (AE); reprocessing may succeed.
    Error,
    /// Not accepted: bad header, unsupported type or version (AR).
    Rejected,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Processing => "processing",
            MessageStatus::Applied => "applied",
            MessageStatus::Stored => "stored",
            MessageStatus::Error => "error",
            MessageStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            MessageStatus::Processing,
            MessageStatus::Applied,
            MessageStatus::Stored,
            MessageStatus::Error,
            MessageStatus::Rejected,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub received_at: DateTime<Utc>,
    pub sending_application: String,
    pub sending_facility: String,
    pub control_id: Option<String>,
    pub message_type: String,
    pub version: String,
    pub status: MessageStatus,
    pub error: Option<String>,
    pub raw: String,
    pub ack: String,
}

/// The outcome a message's processing ends with.
#[derive(Debug, Clone)]
pub struct MessageOutcome {
    pub status: MessageStatus,
    pub error: Option<String>,
    pub ack: String,
}

/// What the transaction applying message row `id` records as it commits: the row's
/// outcome, and the message's AuditEvent when ingestion keeps the audit trail
/// itself (MLLP), so that an acknowledged message always has its event.
pub struct FinishedMessage<'a> {
    pub id: i64,
    pub outcome: &'a MessageOutcome,
    pub audit: Option<&'a NewAuditEvent>,
    /// The message as received, when this transaction recorded it
    /// (`Session::begin_recording`): PostgreSQL writes its row only now.
    pub received: Option<&'a NewMessage>,
}

impl NewMessage {
    /// The INSERT that records this message as row `id` (reserved by
    /// `begin_recording`) with its `outcome`, kept prepared.
    pub(crate) fn insert_as(&self, id: i64, outcome: &MessageOutcome) -> Statement {
        let mut insert = Statement::new(
            "INSERT INTO hl7_messages (id, received_at, sending_application, sending_facility, \
             control_id, message_type, version, status, error, raw, ack, processed_at) VALUES (",
        );
        insert
            .bind(id)
            .sql(", ")
            .bind(self.received_at)
            .sql(", ")
            .bind(self.sending_application.as_str())
            .sql(", ")
            .bind(self.sending_facility.as_str())
            .sql(", ")
            .bind(self.control_id.as_deref())
            .sql(", ")
            .bind(self.message_type.as_str())
            .sql(", ")
            .bind(self.version.as_str())
            .sql(", ")
            .bind(outcome.status.as_str())
            .sql(", ")
            .bind(outcome.error.as_deref())
            .sql(", ")
            .bind(self.raw.as_str())
            .sql(", ")
            .bind(outcome.ack.as_str())
            .sql(", ")
            .bind(Utc::now())
            .sql(")")
            .keep_prepared();
        insert
    }
}

impl MessageOutcome {
    /// The UPDATE that records this outcome on message row `id`, kept prepared
    /// (diesel prepares and closes every `update` afresh). Run on its own
    /// (`finish_message`) or as a clause of the staged write.
    pub(crate) fn update_of(&self, id: i64) -> Statement {
        let mut update = Statement::new("UPDATE hl7_messages SET status = ");
        update
            .bind(self.status.as_str())
            .sql(", error = ")
            .bind(self.error.as_deref())
            .sql(", ack = ")
            .bind(self.ack.as_str())
            .sql(", processed_at = ")
            .bind(Utc::now())
            .sql(" WHERE id = ")
            .bind(id)
            .keep_prepared();
        update
    }
}

#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub sending_application: String,
    pub sending_facility: String,
    pub control_id: Option<String>,
    pub message_type: String,
    pub version: String,
    pub status: MessageStatus,
    pub error: Option<String>,
    pub raw: String,
    pub ack: String,
    pub processed_at: Option<DateTime<Utc>>,
}

/// A page of the message list, newest first.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub status: Option<MessageStatus>,
    /// `ADT^A01`: the type and trigger event, as MSH-9 names them.
    pub message_type: Option<String>,
    /// Only messages older than this id (the previous page's last).
    pub before_id: Option<i64>,
    pub limit: i64,
}
