// Storage of HL7 v2 messages, written once for both backends (included into each
// backend module of `store/mod.rs`, like `ops.rs`).

use crate::store::messages::{MessageFilter, MessageOutcome, MessageStatus, NewMessage, StoredMessage};
use crate::store::rows::MessageRow;
use crate::store::schema::hl7_messages;

/// The message a sender already sent with this control id, if any.
pub async fn find_message(
    conn: &mut Conn,
    sending_application: &str,
    sending_facility: &str,
    control_id: &str,
) -> Result<Option<StoredMessage>, StoreError> {
    let row: Option<MessageRow> = hl7_messages::table
        .filter(hl7_messages::sending_application.eq(sending_application))
        .filter(hl7_messages::sending_facility.eq(sending_facility))
        .filter(hl7_messages::control_id.eq(control_id))
        .select(MessageRow::as_select())
        .first(conn)
        .await
        .optional()?;
    row.map(MessageRow::into_message).transpose()
}

pub async fn get_message(conn: &mut Conn, id: i64) -> Result<Option<StoredMessage>, StoreError> {
    let row: Option<MessageRow> = hl7_messages::table
        .find(id)
        .select(MessageRow::as_select())
        .first(conn)
        .await
        .optional()?;
    row.map(MessageRow::into_message).transpose()
}

pub async fn list_messages(
    conn: &mut Conn,
    filter: &MessageFilter,
) -> Result<Vec<StoredMessage>, StoreError> {
    let mut query = hl7_messages::table.select(MessageRow::as_select()).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(hl7_messages::status.eq(status.as_str()));
    }
    if let Some(message_type) = &filter.message_type {
        query = query.filter(hl7_messages::message_type.eq(message_type));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(hl7_messages::id.lt(before));
    }
    let rows: Vec<MessageRow> = query
        .order(hl7_messages::id.desc())
        .limit(filter.limit)
        .load(conn)
        .await?;
    rows.into_iter().map(MessageRow::into_message).collect()
}

/// Inserts a message and returns its id, or `None` when the sender's control id is
/// already recorded. A concurrent transaction inserting the same one makes this
/// wait for its outcome (the unique index). (On PostgreSQL a message being applied
/// is recorded by `begin_recording`'s lock and reservation, and its row written
/// as it finishes.)
pub async fn insert_message(conn: &mut Conn, message: &NewMessage) -> Result<Option<i64>, StoreError> {
    Ok(diesel::insert_into(hl7_messages::table)
        .values((
            hl7_messages::received_at.eq(StoredInstant(message.received_at)),
            hl7_messages::sending_application.eq(&message.sending_application),
            hl7_messages::sending_facility.eq(&message.sending_facility),
            hl7_messages::control_id.eq(&message.control_id),
            hl7_messages::message_type.eq(&message.message_type),
            hl7_messages::version.eq(&message.version),
            hl7_messages::status.eq(message.status.as_str()),
            hl7_messages::error.eq(&message.error),
            hl7_messages::raw.eq(&message.raw),
            hl7_messages::ack.eq(&message.ack),
            hl7_messages::processed_at
                .eq((message.status != MessageStatus::Processing)
                    .then_some(StoredInstant(message.received_at))),
        ))
        .on_conflict_do_nothing()
        .returning(hl7_messages::id)
        .get_result(conn)
        .await
        .optional()?)
}

/// Records a message's outcome.
pub async fn finish_message(conn: &mut Conn, id: i64, outcome: &MessageOutcome) -> Result<(), StoreError> {
    let updated = outcome.update_of(id).execute(conn).await?;
    if updated == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}
