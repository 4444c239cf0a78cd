//! Row types: how the storage model maps onto the diesel schema.

use diesel::prelude::*;

use crate::store::model::{HistoryEntry, TokenEntry, WriteMethod};
use crate::store::schema::{resource_history, resources, search_token};
use crate::store::sql_types::{JsonText, StoredInstant};
use crate::store::token_hash::TokenHashes;
use crate::store::StoreError;

#[derive(Insertable)]
#[diesel(table_name = resources)]
pub struct NewResourceRow<'a> {
    pub res_type: &'a str,
    pub res_id: &'a str,
    pub version_id: i64,
    pub last_updated: StoredInstant,
    pub deleted: bool,
    pub change_seq: i64,
    pub body: JsonText,
}

/// The new state of an existing resource row; a `None` body leaves the body as it is.
#[derive(AsChangeset)]
#[diesel(table_name = resources)]
pub struct ResourceChangeset {
    pub version_id: i64,
    pub last_updated: StoredInstant,
    pub deleted: bool,
    pub change_seq: i64,
    pub body: Option<JsonText>,
}

#[derive(Insertable)]
#[diesel(table_name = resource_history)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewHistoryRow<'a> {
    pub res_type: &'a str,
    pub res_id: &'a str,
    pub version_id: i64,
    pub last_updated: StoredInstant,
    pub method: &'a str,
    pub deleted: bool,
    pub body: Option<JsonText>,
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
    pub body: Option<JsonText>,
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
            body: self.body.map(|b| b.0),
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = search_token)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewTokenRow<'a> {
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
    pub fn new(res_type: &'a str, res_id: &'a str, token: &'a TokenEntry) -> Self {
        let hashes = TokenHashes::new(&token.param, token.system.as_deref(), token.code.as_deref());
        NewTokenRow {
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
