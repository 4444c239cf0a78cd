//! What the embedded authorization server keeps: registered clients, the keys it
//! signs access tokens with (private halves sealed), the client assertion ids it
//! has seen, its users, and the codes, refresh tokens and launch contexts of SMART
//! App Launch. `crate::auth` gives them meaning; these are the rows.

use diesel::prelude::*;

use crate::store::integrations::SealedColumns;
use crate::store::schema::{
    auth_clients, auth_codes, auth_launch_contexts, auth_refresh_tokens, auth_signing_keys, auth_users,
};
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

/// A row of `auth_users`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_users)]
pub struct UserRow {
    pub user_id: String,
    pub tenant: String,
    pub username: String,
    /// Argon2id, PHC string.
    pub password_hash: String,
    pub display_name: String,
    /// `Practitioner/123`: who the user is in FHIR.
    pub fhir_user: Option<String>,
    /// Space separated.
    pub scopes: String,
    pub enabled: bool,
    pub created_at: StoredInstant,
}

/// A row of `auth_codes`: an authorization code waiting to be redeemed.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_codes)]
pub struct CodeRow {
    /// SHA-256 (hex) of the code.
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub expires_at: StoredInstant,
}

/// A row of `auth_refresh_tokens`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_refresh_tokens)]
pub struct RefreshTokenRow {
    /// SHA-256 (hex) of the token.
    pub token_hash: String,
    /// The grant: every token rotated from one authorization shares it.
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub created_at: StoredInstant,
    pub expires_at: StoredInstant,
    /// Set when it was exchanged for the next one.
    pub used_at: Option<StoredInstant>,
}

/// A row of `auth_launch_contexts`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_launch_contexts)]
pub struct LaunchContextRow {
    pub launch_id: String,
    pub tenant: String,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    /// The client that asked for it.
    pub created_by: String,
    pub expires_at: StoredInstant,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshUse {
    /// Unused until now, and now marked used.
    Fresh(RefreshTokenRow),
    /// Used before: the family it belongs to has leaked.
    Reused { family_id: String },
    /// Unknown or expired.
    Unknown,
}
