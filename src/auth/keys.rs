//! The keys the embedded authorization server signs access tokens with.
//!
//! ES256 (ECDSA over P-256 with SHA-256, by ring): the signature ring computes
//! fastest, which is what lets one node issue thousands of tokens a second; the
//! resource server also accepts RS256 and ES384 from other issuers. A key is
//! generated on first start, its PKCS#8 private half sealed with the server's
//! secrets key (`crate::secrets`, the kid as associated data) and its public half
//! published as a JWK. Rotation makes a new key current and retires the others; a
//! retired key still verifies until the tokens it signed have expired, and is then
//! dropped. Every node reads the keys from the database, and reloads them when a
//! token names a kid it does not know (another node rotated).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::DecodingKey;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use crate::secrets::Keyring;
use crate::store::auth::SigningKeyRow;
use crate::store::sql_types::StoredInstant;
use crate::store::Store;

use super::AuthError;

pub const SIGNING_ALG: &str = "ES256";

/// How often an unknown kid may send this node back to the database.
const RELOAD_AT_MOST_EVERY: Duration = Duration::from_secs(5);

pub struct SigningKeys {
    store: Arc<Store>,
    keyring: Arc<Keyring>,
    /// Retired keys verify for this long after retirement (the longest token life).
    grace: chrono::Duration,
    loaded: RwLock<Loaded>,
    rng: SystemRandom,
}

struct Loaded {
    current: Option<CurrentKey>,
    verifying: HashMap<String, Arc<DecodingKey>>,
    jwks: Value,
    at: Instant,
}

struct CurrentKey {
    kid: String,
    pair: Arc<EcdsaKeyPair>,
    created_at: DateTime<Utc>,
}

impl SigningKeys {
    /// The stored keys, with a first one generated when there is none.
    pub async fn load_or_create(
        store: Arc<Store>,
        keyring: Arc<Keyring>,
        grace: Duration,
    ) -> Result<Arc<Self>, AuthError> {
        let keys = Arc::new(SigningKeys {
            store,
            keyring,
            grace: chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::hours(1)),
            loaded: RwLock::new(Loaded {
                current: None,
                verifying: HashMap::new(),
                jwks: json!({"keys": []}),
                at: Instant::now(),
            }),
            rng: SystemRandom::new(),
        });
        keys.reload().await?;
        if keys.read().current.is_none() {
            keys.rotate().await?;
        }
        Ok(keys)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes a new key current and retires the others.
    pub async fn rotate(&self) -> Result<String, AuthError> {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &self.rng)
            .map_err(|_| AuthError::Internal("no signing key could be generated".into()))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &self.rng)
            .map_err(|_| AuthError::Internal("the generated signing key does not read".into()))?;
        let kid = uuid::Uuid::new_v4().simple().to_string();
        let sealed = self.keyring.seal(pkcs8.as_ref(), kid.as_bytes());
        let row = SigningKeyRow {
            kid: kid.clone(),
            alg: SIGNING_ALG.into(),
            private_ciphertext: sealed.ciphertext,
            private_nonce: sealed.nonce,
            key_id: sealed.key_id,
            public_jwk: public_jwk(&kid, pair.public_key().as_ref())?.to_string(),
            created_at: StoredInstant(Utc::now()),
            retired_at: None,
        };
        let mut tx = self.store.begin().await?;
        tx.rotate_signing_key(&row).await?;
        tx.drop_signing_keys_retired_before(Utc::now() - self.grace)
            .await?;
        tx.commit().await?;
        self.reload().await?;
        tracing::info!(kid = %kid, "new access token signing key");
        Ok(kid)
    }

    /// Rotates when the current key is older than `max_age`.
    pub async fn rotate_if_older_than(&self, max_age: Duration) -> Result<(), AuthError> {
        let created = self.read().current.as_ref().map(|key| key.created_at);
        let too_old = match created {
            Some(created) => {
                Utc::now() - created > chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX)
            }
            None => true,
        };
        if too_old {
            self.rotate().await?;
        }
        Ok(())
    }

    async fn reload(&self) -> Result<(), AuthError> {
        let rows = self.store.session().await?.signing_keys().await?;
        let now = Utc::now();
        let mut current = None;
        let mut verifying = HashMap::new();
        let mut published = Vec::new();
        for row in rows {
            let alive = row.retired_at.is_none_or(|retired| retired.0 + self.grace > now);
            if !alive {
                continue;
            }
            let jwk: Value = serde_json::from_str(&row.public_jwk)
                .map_err(|e| AuthError::Internal(format!("signing key {}: {e}", row.kid)))?;
            let x = jwk["x"].as_str().unwrap_or_default();
            let y = jwk["y"].as_str().unwrap_or_default();
            let decoding = DecodingKey::from_ec_components(x, y)
                .map_err(|e| AuthError::Internal(format!("signing key {}: {e}", row.kid)))?;
            verifying.insert(row.kid.clone(), Arc::new(decoding));
            published.push(jwk);
            // Rows come newest first: the first unretired one signs.
            if current.is_none() && row.retired_at.is_none() {
                current = Some(self.open(&row)?);
            }
        }
        let mut loaded = self
            .loaded
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *loaded = Loaded {
            current,
            verifying,
            jwks: json!({"keys": published}),
            at: Instant::now(),
        };
        Ok(())
    }

    fn open(&self, row: &SigningKeyRow) -> Result<CurrentKey, AuthError> {
        let pkcs8 = self
            .keyring
            .open(&row.sealed(), row.kid.as_bytes())
            .map_err(|e| AuthError::Internal(format!("signing key {}: {e}", row.kid)))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &self.rng)
            .map_err(|_| AuthError::Internal(format!("signing key {} does not read", row.kid)))?;
        Ok(CurrentKey {
            kid: row.kid.clone(),
            pair: Arc::new(pair),
            created_at: row.created_at.0,
        })
    }

    /// `header.payload.signature` for `claims`, signed with the current key.
    pub fn sign(&self, claims: &Value) -> Result<String, AuthError> {
        let (kid, pair) = {
            let loaded = self.read();
            let current = loaded
                .current
                .as_ref()
                .ok_or_else(|| AuthError::Internal("no signing key".into()))?;
            (current.kid.clone(), Arc::clone(&current.pair))
        };
        let header = json!({"alg": SIGNING_ALG, "typ": "JWT", "kid": kid});
        let mut token = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = pair
            .sign(&self.rng, token.as_bytes())
            .map_err(|_| AuthError::Internal("signing failed".into()))?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
        Ok(token)
    }

    /// The key that verifies tokens signed under `kid`; an unknown kid reloads the
    /// keys from the database (at most every few seconds).
    pub async fn verifying_key(&self, kid: &str) -> Result<Option<Arc<DecodingKey>>, AuthError> {
        let stale = {
            let loaded = self.read();
            if let Some(key) = loaded.verifying.get(kid) {
                return Ok(Some(Arc::clone(key)));
            }
            loaded.at.elapsed() >= RELOAD_AT_MOST_EVERY
        };
        if stale {
            self.reload().await?;
        }
        Ok(self.read().verifying.get(kid).cloned())
    }

    /// `{"keys": [...]}`: what the JWKS endpoint publishes.
    pub fn jwks(&self) -> Value {
        self.read().jwks.clone()
    }
}

/// `claimbridge rotate-key`: reseals every signing key's private half under the
/// keyring's current key, in one transaction; returns how many.
pub async fn reseal_all(store: &Store, keyring: &Keyring) -> Result<usize, AuthError> {
    let mut tx = store.begin().await?;
    let rows = tx.signing_keys().await?;
    for row in &rows {
        let plaintext = keyring
            .open(&row.sealed(), row.kid.as_bytes())
            .map_err(|e| AuthError::Internal(format!("signing key {}: {e}", row.kid)))?;
        tx.set_signing_key_private(&row.kid, &keyring.seal(&plaintext, row.kid.as_bytes()))
            .await?;
    }
    tx.commit().await?;
    Ok(rows.len())
}

/// The public JWK of a P-256 key from its uncompressed point (`04 || X || Y`).
fn public_jwk(kid: &str, point: &[u8]) -> Result<Value, AuthError> {
    if point.len() != 65 || point[0] != 4 {
        return Err(AuthError::Internal("unexpected public key encoding".into()));
    }
    Ok(json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        "kid": kid,
        "alg": SIGNING_ALG,
        "use": "sig",
    }))
}
