//! What a user's consent becomes: an authorization code (one minute, one
//! redemption, bound to the client, the redirect URI and a PKCE S256 challenge),
//! then refresh tokens that rotate on every use. A refresh token used twice has
//! leaked: its whole family, and every access token issued from it, is revoked
//! (OAuth 2.0 Security BCP, refresh token rotation).
//!
//! Codes and refresh tokens are 32 random bytes (base64url) kept only as their
//! SHA-256.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::clients::{hash_secret as hash, new_secret};
use crate::store::auth::{CodeRow, RefreshTokenRow, RefreshUse};
use crate::store::sql_types::StoredInstant;
use crate::store::{Store, StoreError};

/// How long a code waits for its redemption (RFC 6749 recommends at most ten
/// minutes; an app redeems at once).
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// `offline_access`: the app keeps access while the user is away.
const OFFLINE_LIFETIME: Duration = Duration::from_secs(30 * 86_400);
/// `online_access`: about a working day.
const ONLINE_LIFETIME: Duration = Duration::from_secs(12 * 3_600);

/// What the user agreed to, waiting in a code.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub patient: Option<String>,
    pub encounter: Option<String>,
}

/// A grant the token endpoint turns into tokens (from a code or a refresh token).
#[derive(Debug, Clone, PartialEq)]
pub struct Authorized {
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub nonce: Option<String>,
    /// The refresh-token family it belongs to, when it has one already.
    pub family_id: Option<String>,
}

/// Why a code or refresh token was not accepted (`invalid_grant`).
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("the code is unknown, expired or already used")]
    UnknownCode,
    #[error("the code was issued to another client or redirect_uri")]
    CodeMismatch,
    #[error("code_verifier does not match the code_challenge")]
    VerifierMismatch,
    #[error("the refresh token is unknown or expired")]
    UnknownRefreshToken,
    #[error("the refresh token was used before; its grant is revoked")]
    RefreshTokenReused,
    #[error("the refresh token was issued to another client; its grant is revoked")]
    RefreshTokenStolen,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Grants {
    store: Arc<Store>,
}

/// RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    // §4.1: 43 to 128 unreserved characters.
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed && URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

/// Whether the refresh tokens of `scope` are for offline access (else online).
fn lifetime(scope: &str) -> Duration {
    if scope.split(' ').any(|scope| scope == "offline_access") {
        OFFLINE_LIFETIME
    } else {
        ONLINE_LIFETIME
    }
}

/// Whether `scope` asks for refresh tokens at all.
pub fn wants_refresh_token(scope: &str) -> bool {
    scope
        .split(' ')
        .any(|scope| scope == "offline_access" || scope == "online_access")
}

fn at(offset: Duration) -> StoredInstant {
    StoredInstant(Utc::now() + chrono::Duration::from_std(offset).unwrap_or(chrono::Duration::zero()))
}

impl Grants {
    pub fn new(store: Arc<Store>) -> Self {
        Grants { store }
    }

    /// A new code for what the user consented to.
    pub async fn issue_code(&self, consent: Consent) -> Result<String, StoreError> {
        let (code, code_hash) = new_secret();
        let row = CodeRow {
            code_hash,
            client_id: consent.client_id,
            user_id: consent.user_id,
            redirect_uri: consent.redirect_uri,
            scope: consent.scope,
            code_challenge: consent.code_challenge,
            nonce: consent.nonce,
            patient: consent.patient,
            encounter: consent.encounter,
            expires_at: at(CODE_LIFETIME),
        };
        self.store.session().await?.insert_auth_code(&row).await?;
        Ok(code)
    }

    /// The grant behind a code, redeemed by `client_id` from `redirect_uri` with the
    /// PKCE verifier. The code is gone afterwards, whatever the outcome.
    pub async fn redeem_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: &str,
    ) -> Result<Authorized, GrantError> {
        let row = self
            .store
            .session()
            .await?
            .take_auth_code(&hash(code))
            .await?
            .filter(|row| row.expires_at.0 > Utc::now())
            .ok_or(GrantError::UnknownCode)?;
        if row.client_id != client_id || redirect_uri != Some(row.redirect_uri.as_str()) {
            return Err(GrantError::CodeMismatch);
        }
        if !pkce_matches(verifier, &row.code_challenge) {
            return Err(GrantError::VerifierMismatch);
        }
        Ok(Authorized {
            client_id: row.client_id,
            user_id: row.user_id,
            scope: row.scope,
            patient: row.patient,
            encounter: row.encounter,
            nonce: row.nonce,
            family_id: None,
        })
    }

    /// A refresh token for the grant (in its family, or a new family); returns the
    /// token and the family.
    pub async fn issue_refresh_token(&self, grant: &Authorized) -> Result<(String, String), StoreError> {
        let (token, token_hash) = new_secret();
        let family_id = grant
            .family_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let row = RefreshTokenRow {
            token_hash,
            family_id: family_id.clone(),
            client_id: grant.client_id.clone(),
            user_id: grant.user_id.clone(),
            scope: grant.scope.clone(),
            patient: grant.patient.clone(),
            encounter: grant.encounter.clone(),
            created_at: StoredInstant(Utc::now()),
            expires_at: at(lifetime(&grant.scope)),
            used_at: None,
        };
        self.store.session().await?.insert_refresh_token(&row).await?;
        Ok((token, family_id))
    }

    /// The grant behind a refresh token presented by `client_id`, which is used up.
    /// A token used before, or presented by another client, revokes its family
    /// (`revoked` is told which, to forget the access tokens it remembers).
    pub async fn use_refresh_token(
        &self,
        token: &str,
        client_id: &str,
        revoked: impl Fn(&str),
    ) -> Result<Authorized, GrantError> {
        let used = self
            .store
            .session()
            .await?
            .use_refresh_token(&hash(token))
            .await?;
        let row = match used {
            RefreshUse::Fresh(row) => row,
            RefreshUse::Reused { family_id } => {
                self.revoke_family(&family_id).await?;
                revoked(&family_id);
                return Err(GrantError::RefreshTokenReused);
            }
            RefreshUse::Unknown => return Err(GrantError::UnknownRefreshToken),
        };
        if row.client_id != client_id {
            self.revoke_family(&row.family_id).await?;
            revoked(&row.family_id);
            return Err(GrantError::RefreshTokenStolen);
        }
        Ok(Authorized {
            client_id: row.client_id,
            user_id: row.user_id,
            scope: row.scope,
            patient: row.patient,
            encounter: row.encounter,
            nonce: None,
            family_id: Some(row.family_id),
        })
    }

    /// The stored refresh token, unused and unexpired, for introspection and
    /// revocation.
    pub async fn live_refresh_token(&self, token: &str) -> Result<Option<RefreshTokenRow>, StoreError> {
        let row = self.store.session().await?.refresh_token(&hash(token)).await?;
        Ok(row.filter(|row| row.used_at.is_none() && row.expires_at.0 > Utc::now()))
    }

    /// Revokes a family: its refresh tokens are forgotten, and the access tokens
    /// issued from it are refused until the longest of them has expired.
    pub async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        let until =
            Utc::now() + chrono::Duration::from_std(OFFLINE_LIFETIME).unwrap_or(chrono::Duration::zero());
        self.store
            .session()
            .await?
            .revoke_refresh_family(family_id, until)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(&verifier.replace('d', "e"), challenge));
        // Too short to be a verifier, whatever it hashes to.
        let short = "abc";
        assert!(!pkce_matches(
            short,
            &URL_SAFE_NO_PAD.encode(Sha256::digest(short))
        ));
    }

    #[test]
    fn refresh_tokens_come_only_with_offline_or_online_access() {
        assert!(wants_refresh_token("launch/patient offline_access"));
        assert!(wants_refresh_token("online_access"));
        assert!(!wants_refresh_token("openid fhirUser user/*.rs"));
        assert_eq!(lifetime("offline_access"), OFFLINE_LIFETIME);
        assert_eq!(lifetime("online_access"), ONLINE_LIFETIME);
    }
}
