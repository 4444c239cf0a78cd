//! Stored integration configurations: the registry's rows as the store sees them.
//! Vendors and categories are text here (`crate::integrations` gives them meaning);
//! credentials are only ever ciphertext (`crate::secrets` seals and opens them).

use chrono::{DateTime, Utc};

/// One integration's row.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationRecord {
    pub id: String,
    pub tenant: String,
    pub vendor: String,
    pub name: String,
    pub category: String,
    /// Lower goes first within a tenant and category.
    pub priority: i32,
    pub enabled: bool,
    pub base_url: String,
    /// JSON object text.
    pub settings: String,
    pub credentials: SealedColumns,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The credentials columns: base64 ciphertext and nonce, and the id of the key that
/// sealed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedColumns {
    pub ciphertext: String,
    pub nonce: String,
    pub key_id: String,
}
