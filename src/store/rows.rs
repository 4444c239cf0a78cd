//! Row types: how the storage model maps onto the diesel schema.

use diesel::prelude::*;

use crate::store::attempts::AttemptRecord;
use crate::store::billing::{NewBillingClaim, StateChange};
use crate::store::denials::{DenialRecord, NewDenialRecord};
use crate::store::integrations::{IntegrationRecord, SealedColumns};
use crate::store::messages::{MessageStatus, StoredMessage};
use crate::store::model::{
    DateEntry, FoundResource, HistoryEntry, QuantityEntry, ReferenceEntry, SearchIndexEntries, StagedCreate,
    StringEntry, TokenEntry, UriEntry, WriteMethod,
};
use crate::store::remittance::NewLedgerEntry;
use crate::store::schema::integration_attempts;
use crate::store::schema::{
    billing_claims, billing_state_history, claim_denials, hl7_messages, integrations, ledger_entries,
    resource_history, resources, search_date, search_quantity, search_reference, search_string, search_token,
    search_uri,
};
use crate::store::sql_types::StoredInstant;
use crate::store::token_hash::TokenHashes;
use crate::store::StoreError;

#[derive(Insertable)]
#[diesel(table_name = resources)]
pub struct NewResourceRow<'a> {
    pub tenant: &'a str,
    pub res_type: &'a str,
    pub res_id: &'a str,
    pub version_id: i64,
    pub last_updated: StoredInstant,
    pub deleted: bool,
    pub change_seq: i64,
    pub body: &'a str,
}

/// The new state of an existing resource row; a `None` body leaves the body as it is.
#[derive(AsChangeset)]
#[diesel(table_name = resources)]
pub struct ResourceChangeset<'a> {
    pub version_id: i64,
    pub last_updated: StoredInstant,
    pub deleted: bool,
    pub change_seq: i64,
    pub body: Option<&'a str>,
}

#[derive(Insertable)]
#[diesel(table_name = resource_history)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewHistoryRow<'a> {
    pub tenant: &'a str,
    pub res_type: &'a str,
    pub res_id: &'a str,
    pub version_id: i64,
    pub last_updated: StoredInstant,
    pub method: &'a str,
    pub deleted: bool,
    pub body: Option<&'a str>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = resource_history)]
pub struct HistoryRow {
    pub change_seq: i64,
    pub res_type: String,
    pub res_id: String,
    pub version_id: i64,
    pub last_updated: StoredInstant,
    pub method: String,
    pub body: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = ledger_entries)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewLedgerRow<'a> {
    pub claim_id: Option<&'a str>,
    pub remittance_id: i64,
    pub kind: &'a str,
    pub party: &'a str,
    pub group_code: Option<&'a str>,
    pub reason_code: Option<&'a str>,
    pub amount_cents: i64,
    pub posted_at: StoredInstant,
}

impl<'a> From<&'a NewLedgerEntry> for NewLedgerRow<'a> {
    fn from(entry: &'a NewLedgerEntry) -> Self {
        NewLedgerRow {
            claim_id: entry.claim_id.as_deref(),
            remittance_id: entry.remittance_id,
            kind: entry.kind,
            party: entry.party,
            group_code: entry.group_code.as_deref(),
            reason_code: entry.reason_code.as_deref(),
            amount_cents: entry.amount_cents,
            posted_at: StoredInstant(entry.posted_at),
        }
    }
}

/// A stored HL7 v2 message as read back.
#[derive(Queryable, Selectable)]
#[diesel(table_name = hl7_messages)]
pub struct MessageRow {
    pub id: i64,
    pub received_at: StoredInstant,
    pub sending_application: String,
    pub sending_facility: String,
    pub control_id: Option<String>,
    pub message_type: String,
    pub version: String,
    pub status: String,
    pub error: Option<String>,
    pub raw: String,
    pub ack: String,
    pub processed_at: Option<StoredInstant>,
}

impl MessageRow {
    pub fn into_message(self) -> Result<StoredMessage, StoreError> {
        let status = MessageStatus::parse(&self.status)
            .ok_or_else(|| StoreError::Corrupt(format!("message status {:?}", self.status)))?;
        Ok(StoredMessage {
            id: self.id,
            received_at: self.received_at.0,
            sending_application: self.sending_application,
            sending_facility: self.sending_facility,
            control_id: self.control_id,
            message_type: self.message_type,
            version: self.version,
            status,
            error: self.error,
            raw: self.raw,
            ack: self.ack,
            processed_at: self.processed_at.map(|at| at.0),
        })
    }
}

impl HistoryRow {
    pub fn into_entry(self) -> Result<HistoryEntry, StoreError> {
        let method = WriteMethod::from_http_verb(&self.method)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown history method {:?}", self.method)))?;
        Ok(HistoryEntry {
            change_seq: self.change_seq,
            res_type: self.res_type,
            id: self.res_id,
            version_id: self.version_id,
            last_updated: self.last_updated.0,
            method,
            body: self.body,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = search_token)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewTokenRow<'a> {
    pub tenant: &'a str,
    pub res_type: &'a str,
    pub res_id: &'a str,
    pub param: &'a str,
    pub system: Option<&'a str>,
    pub code: Option<&'a str>,
    pub display: Option<&'a str>,
    pub hash_code: i64,
    pub hash_system_code: i64,
    pub hash_system: i64,
}

impl<'a> NewTokenRow<'a> {
    pub fn new(tenant: &'a str, res_type: &'a str, res_id: &'a str, token: &'a TokenEntry) -> Self {
        let hashes = TokenHashes::new(&token.param, token.system.as_deref(), token.code.as_deref());
        NewTokenRow {
            tenant,
            res_type,
            res_id,
            param: &token.param,
            system: token.system.as_deref(),
            code: token.code.as_deref(),
            display: token.display.as_deref(),
            hash_code: hashes.code,
            hash_system_code: hashes.system_code,
            hash_system: hashes.system,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = search_string)]
pub struct NewStringRow<'a> {
    pub tenant: &'a str,
    pub res_type: &'a str,
    pub res_id: &'a str,
    pub param: &'a str,
    pub value_normalized: &'a str,
    pub value_exact: &'a str,
}

impl<'a> NewStringRow<'a> {
    pub fn new(tenant: &'a str, res_type: &'a str, res_id: &'a str, entry: &'a StringEntry) -> Self {
        NewStringRow {
            tenant,
            res_type,
            res_id,
            param: &entry.param,
            value_normalized: &entry.normalized,
            value_exact: &entry.exact,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = search_date)]
pub struct NewDateRow<'a> {
    pub tenant: &'a str,
    pub res_type: &'a str,
    pub res_id: &'a str,
    pub param: &'a str,
    pub low: StoredInstant,
    pub high: StoredInstant,
}

impl<'a> NewDateRow<'a> {
    pub fn new(tenant: &'a str, res_type: &'a str, res_id: &'a str, entry: &'a DateEntry) -> Self {
        NewDateRow {
            tenant,
            res_type,
            res_id,
            param: &entry.param,
            low: StoredInstant(entry.low),
            high: StoredInstant(entry.high),
        }
    }
}

/// Quantities are stored as the point value they state (`low` = `high`); searches
/// apply the precision of the value asked for.
#[derive(Insertable)]
#[diesel(table_name = search_quantity)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewQuantityRow<'a> {
    pub tenant: &'a str,
    pub res_type: &'a str,
    pub res_id: &'a str,
    pub param: &'a str,
    pub low: f64,
    pub high: f64,
    pub system: Option<&'a str>,
    pub code: Option<&'a str>,
    pub unit: Option<&'a str>,
}

impl<'a> NewQuantityRow<'a> {
    pub fn new(tenant: &'a str, res_type: &'a str, res_id: &'a str, entry: &'a QuantityEntry) -> Self {
        NewQuantityRow {
            tenant,
            res_type,
            res_id,
            param: &entry.param,
            low: entry.value,
            high: entry.value,
            system: entry.system.as_deref(),
            code: entry.code.as_deref(),
            unit: entry.unit.as_deref(),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = search_reference)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewReferenceRow<'a> {
    pub tenant: &'a str,
    pub res_type: &'a str,
    pub res_id: &'a str,
    pub param: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub target_url: Option<&'a str>,
    pub identifier_system: Option<&'a str>,
    pub identifier_value: Option<&'a str>,
}

impl<'a> NewReferenceRow<'a> {
    pub fn new(tenant: &'a str, res_type: &'a str, res_id: &'a str, entry: &'a ReferenceEntry) -> Self {
        NewReferenceRow {
            tenant,
            res_type,
            res_id,
            param: &entry.param,
            target_type: entry.target_type.as_deref(),
            target_id: entry.target_id.as_deref(),
            target_url: entry.target_url.as_deref(),
            identifier_system: entry.identifier_system.as_deref(),
            identifier_value: entry.identifier_value.as_deref(),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = search_uri)]
pub struct NewUriRow<'a> {
    pub tenant: &'a str,
    pub res_type: &'a str,
    pub res_id: &'a str,
    pub param: &'a str,
    pub uri: &'a str,
}

impl<'a> NewUriRow<'a> {
    pub fn new(tenant: &'a str, res_type: &'a str, res_id: &'a str, entry: &'a UriEntry) -> Self {
        NewUriRow {
            tenant,
            res_type,
            res_id,
            param: &entry.param,
            uri: &entry.uri,
        }
    }
}

/// A result row of a search statement.
#[derive(QueryableByName)]
pub struct FoundRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub res_type: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub res_id: String,
    #[diesel(sql_type = crate::store::sql_types::UtcTimestamp)]
    pub last_updated: StoredInstant,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub body: String,
}

impl From<FoundRow> for FoundResource {
    fn from(row: FoundRow) -> Self {
        FoundResource {
            res_type: row.res_type,
            id: row.res_id,
            last_updated: row.last_updated.0,
            body: row.body,
        }
    }
}

/// A resource named by a reference, as the check for references into another
/// tenant finds it.
#[derive(QueryableByName)]
pub struct TargetRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub res_type: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub res_id: String,
}

#[derive(QueryableByName)]
pub struct CountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub count: i64,
}

// The row builders below are plain functions on purpose: iterator closures written
// inside an async fn become part of its future's type, and their higher-ranked
// lifetimes defeat the `Send` proof that `tokio::spawn` needs (rust-lang/rust#64552).

/// Index rows of one or more resources, one vector per index table.
#[derive(Default)]
pub struct IndexRows<'a> {
    pub tokens: Vec<NewTokenRow<'a>>,
    pub strings: Vec<NewStringRow<'a>>,
    pub dates: Vec<NewDateRow<'a>>,
    pub quantities: Vec<NewQuantityRow<'a>>,
    pub references: Vec<NewReferenceRow<'a>>,
    pub uris: Vec<NewUriRow<'a>>,
}

impl<'a> IndexRows<'a> {
    pub fn of_one(
        tenant: &'a str,
        res_type: &'a str,
        res_id: &'a str,
        index: &'a SearchIndexEntries,
    ) -> Self {
        let mut rows = IndexRows::default();
        rows.add(tenant, res_type, res_id, index);
        rows
    }

    pub fn of_staged(tenant: &'a str, staged: &'a [StagedCreate]) -> Self {
        let mut rows = IndexRows::default();
        for create in staged {
            rows.add(tenant, &create.res_type, &create.res_id, &create.rendered.index);
        }
        rows
    }

    fn add(&mut self, tenant: &'a str, res_type: &'a str, res_id: &'a str, index: &'a SearchIndexEntries) {
        for entry in &index.tokens {
            self.tokens
                .push(NewTokenRow::new(tenant, res_type, res_id, entry));
        }
        for entry in &index.strings {
            self.strings
                .push(NewStringRow::new(tenant, res_type, res_id, entry));
        }
        for entry in &index.dates {
            self.dates.push(NewDateRow::new(tenant, res_type, res_id, entry));
        }
        for entry in &index.quantities {
            self.quantities
                .push(NewQuantityRow::new(tenant, res_type, res_id, entry));
        }
        for entry in &index.references {
            self.references
                .push(NewReferenceRow::new(tenant, res_type, res_id, entry));
        }
        for entry in &index.uris {
            self.uris.push(NewUriRow::new(tenant, res_type, res_id, entry));
        }
    }
}

/// Version-1 history rows of staged creates.
pub fn staged_history_rows<'a>(tenant: &'a str, staged: &'a [StagedCreate]) -> Vec<NewHistoryRow<'a>> {
    let mut rows = Vec::with_capacity(staged.len());
    for create in staged {
        rows.push(NewHistoryRow {
            tenant,
            res_type: &create.res_type,
            res_id: &create.res_id,
            version_id: 1,
            last_updated: StoredInstant(create.last_updated),
            method: WriteMethod::Create.http_verb(),
            deleted: false,
            body: Some(&create.rendered.body),
        });
    }
    rows
}

/// Current rows of staged creates, with the change numbers their history rows got.
pub fn staged_resource_rows<'a>(
    tenant: &'a str,
    staged: &'a [StagedCreate],
    change_seqs: Vec<i64>,
) -> Vec<NewResourceRow<'a>> {
    let mut rows = Vec::with_capacity(staged.len());
    for (create, change_seq) in staged.iter().zip(change_seqs) {
        rows.push(NewResourceRow {
            tenant,
            res_type: &create.res_type,
            res_id: &create.res_id,
            version_id: 1,
            last_updated: StoredInstant(create.last_updated),
            deleted: false,
            change_seq,
            body: &create.rendered.body,
        });
    }
    rows
}

#[derive(Insertable)]
#[diesel(table_name = claim_denials)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewDenialRow<'a> {
    pub claim_id: &'a str,
    pub remittance_id: i64,
    pub code: &'a str,
    pub reasons: &'a str,
    pub rarcs: &'a str,
    pub amount_cents: i64,
    pub category: Option<&'a str>,
    pub playbook_id: Option<&'a str>,
    pub action: &'a str,
    pub assignee: Option<&'a str>,
    pub instructions: &'a str,
    pub attempt: i32,
    pub status: &'a str,
    pub created_at: StoredInstant,
}

impl<'a> From<&'a NewDenialRecord> for NewDenialRow<'a> {
    fn from(record: &'a NewDenialRecord) -> Self {
        NewDenialRow {
            claim_id: &record.claim_id,
            remittance_id: record.remittance_id,
            code: &record.code,
            reasons: &record.reasons,
            rarcs: &record.rarcs,
            amount_cents: record.amount_cents,
            category: record.category.as_deref(),
            playbook_id: record.playbook_id.as_deref(),
            action: &record.action,
            assignee: record.assignee.as_deref(),
            instructions: &record.instructions,
            attempt: record.attempt,
            status: &record.status,
            created_at: StoredInstant(record.created_at),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = claim_denials)]
pub struct DenialRow {
    pub id: i64,
    pub claim_id: String,
    pub remittance_id: i64,
    pub code: String,
    pub reasons: String,
    pub rarcs: String,
    pub amount_cents: i64,
    pub category: Option<String>,
    pub playbook_id: Option<String>,
    pub action: String,
    pub assignee: Option<String>,
    pub instructions: String,
    pub attempt: i32,
    pub status: String,
    pub created_at: StoredInstant,
    pub resolution: Option<String>,
}

impl From<DenialRow> for DenialRecord {
    fn from(row: DenialRow) -> Self {
        DenialRecord {
            id: row.id,
            new: NewDenialRecord {
                claim_id: row.claim_id,
                remittance_id: row.remittance_id,
                code: row.code,
                reasons: row.reasons,
                rarcs: row.rarcs,
                amount_cents: row.amount_cents,
                category: row.category,
                playbook_id: row.playbook_id,
                action: row.action,
                assignee: row.assignee,
                instructions: row.instructions,
                attempt: row.attempt,
                status: row.status,
                created_at: row.created_at.0,
            },
            resolution: row.resolution,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = billing_claims)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewBillingClaimRow<'a> {
    pub claim_id: &'a str,
    pub state: &'a str,
    pub updated_at: StoredInstant,
    pub created_at: StoredInstant,
    pub charge_cents: Option<i64>,
    pub payer: Option<&'a str>,
}

impl<'a> From<&'a NewBillingClaim> for NewBillingClaimRow<'a> {
    fn from(claim: &'a NewBillingClaim) -> Self {
        NewBillingClaimRow {
            claim_id: &claim.claim_id,
            state: &claim.state,
            updated_at: StoredInstant(claim.at),
            created_at: StoredInstant(claim.at),
            charge_cents: claim.charge_cents,
            payer: claim.payer.as_deref(),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = billing_state_history)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewStateChangeRow<'a> {
    pub claim_id: &'a str,
    pub from_state: Option<&'a str>,
    pub to_state: &'a str,
    pub actor: &'a str,
    pub reason: Option<&'a str>,
    pub details: Option<&'a str>,
    pub at: StoredInstant,
}

impl<'a> From<&'a StateChange> for NewStateChangeRow<'a> {
    fn from(change: &'a StateChange) -> Self {
        NewStateChangeRow {
            claim_id: &change.claim_id,
            from_state: change.from_state.as_deref(),
            to_state: &change.to_state,
            actor: &change.actor,
            reason: change.reason.as_deref(),
            details: change.details.as_deref(),
            at: StoredInstant(change.at),
        }
    }
}

/// A row of `integrations`, read or written whole.
#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = integrations)]
pub struct IntegrationRow {
    pub id: String,
    pub tenant: String,
    pub vendor: String,
    pub name: String,
    pub category: String,
    pub priority: i32,
    pub enabled: bool,
    pub base_url: String,
    pub settings: String,
    pub credentials_ciphertext: String,
    pub credentials_nonce: String,
    pub key_id: String,
    pub created_at: StoredInstant,
    pub updated_at: StoredInstant,
}

impl From<IntegrationRecord> for IntegrationRow {
    fn from(record: IntegrationRecord) -> Self {
        IntegrationRow {
            id: record.id,
            tenant: record.tenant,
            vendor: record.vendor,
            name: record.name,
            category: record.category,
            priority: record.priority,
            enabled: record.enabled,
            base_url: record.base_url,
            settings: record.settings,
            credentials_ciphertext: record.credentials.ciphertext,
            credentials_nonce: record.credentials.nonce,
            key_id: record.credentials.key_id,
            created_at: StoredInstant(record.created_at),
            updated_at: StoredInstant(record.updated_at),
        }
    }
}

impl From<IntegrationRow> for IntegrationRecord {
    fn from(row: IntegrationRow) -> Self {
        IntegrationRecord {
            id: row.id,
            tenant: row.tenant,
            vendor: row.vendor,
            name: row.name,
            category: row.category,
            priority: row.priority,
            enabled: row.enabled,
            base_url: row.base_url,
            settings: row.settings,
            credentials: SealedColumns {
                ciphertext: row.credentials_ciphertext,
                nonce: row.credentials_nonce,
                key_id: row.key_id,
            },
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = integration_attempts)]
#[diesel(treat_none_as_default_value = false)]
pub struct AttemptRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub tenant: String,
    pub integration_id: String,
    pub vendor: String,
    pub operation: String,
    pub subject: Option<String>,
    pub outcome: String,
    pub error: Option<String>,
    pub latency_micros: i64,
    pub failover: bool,
    pub attempted_at: StoredInstant,
    pub submission_id: Option<String>,
}

impl From<AttemptRecord> for AttemptRow {
    fn from(record: AttemptRecord) -> Self {
        AttemptRow {
            id: 0,
            tenant: record.tenant,
            integration_id: record.integration_id,
            vendor: record.vendor,
            operation: record.operation,
            subject: record.subject,
            outcome: record.outcome,
            error: record.error,
            latency_micros: record.latency_micros,
            failover: record.failover,
            attempted_at: StoredInstant(record.attempted_at),
            submission_id: record.submission_id,
        }
    }
}

impl From<AttemptRow> for AttemptRecord {
    fn from(row: AttemptRow) -> Self {
        AttemptRecord {
            id: Some(row.id),
            tenant: row.tenant,
            integration_id: row.integration_id,
            vendor: row.vendor,
            operation: row.operation,
            subject: row.subject,
            outcome: row.outcome,
            error: row.error,
            latency_micros: row.latency_micros,
            failover: row.failover,
            attempted_at: row.attempted_at.0,
            submission_id: row.submission_id,
        }
    }
}
