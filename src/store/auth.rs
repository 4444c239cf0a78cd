//! What the embedded authorization server keeps: registered clients, the keys it
//! signs access tokens with (private halves sealed), and the client assertion ids
//! it has seen. `crate::auth` gives them meaning; these are the rows.

use diesel::prelude::*;

use crate::store::integrations::SealedColumns;
use crate::store::schema::{auth_clients, auth_signing_keys};
use crate::store::sql_types::StoredInstant;

/// A row of `auth_clients`, read or written whole.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_clients)]
pub struct ClientRow {
    pub client_id: String,
    pub tenant: String,
    pub name: String,
    /// `confidential`, `public` or `backend`.
    pub client_type: String,
    /// SHA-256 (hex) of the secret; `None` for clients without one.
    pub secret_hash: Option<String>,
    /// JSON array text.
    pub redirect_uris: String,
    /// Space separated.
    pub scopes: String,
    /// JWK Set JSON text.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub enabled: bool,
    pub created_at: StoredInstant,
    pub updated_at: StoredInstant,
}

/// A row of `auth_signing_keys`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    /// The PKCS#8 private key, sealed (`crate::secrets`).
    pub private_ciphertext: String,
    pub private_nonce: String,
    pub key_id: String,
    /// The public JWK, JSON text.
    pub public_jwk: String,
    pub created_at: StoredInstant,
    pub retired_at: Option<StoredInstant>,
}

impl SigningKeyRow {
    /// The sealed private half, as `crate::secrets` opens it.
    pub fn sealed(&self) -> SealedColumns {
        SealedColumns {
            ciphertext: self.private_ciphertext.clone(),
            nonce: self.private_nonce.clone(),
            key_id: self.key_id.clone(),
        }
    }
}
