//! Client authentication with a signed assertion (`private_key_jwt`, RFC 7523), as
//! SMART Backend Services requires: a JWT the client signs with its own key (RS384
//! or ES384), `iss` = `sub` = its client id, `aud` = the token endpoint, `exp` at
//! most five minutes ahead, and a `jti` it never uses twice.

use chrono::Utc;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::time::Duration;

use super::clients::{Client, ClientRegistry};
use crate::store::Store;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The furthest ahead an assertion may expire.
const MAX_LIFETIME_SECS: i64 = 300;
/// How long fetching a client's `jwksUri` may take.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an assertion did not authenticate its client (`invalid_client`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("the client assertion does not read: {0}")]
    Malformed(String),
    #[error("the client assertion is signed with {0:?}: use RS384 or ES384")]
    Algorithm(Algorithm),
    #[error("no client {0:?} is registered with keys")]
    UnknownClient(String),
    #[error("none of the client's keys verifies the assertion: {0}")]
    BadSignature(String),
    #[error("the client assertion is not valid: {0}")]
    Invalid(String),
    #[error("the client assertion's jti was used before")]
    Replayed,
    #[error("the client's keys cannot be fetched: {0}")]
    KeysUnavailable(String),
    #[error("the server cannot check the assertion now: {0}")]
    Internal(String),
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    exp: i64,
    jti: String,
}

/// The client the assertion authenticates.
pub async fn authenticate(
    assertion: &str,
    token_endpoint: &str,
    clients: &ClientRegistry,
    store: &Store,
) -> Result<Client, AssertionError> {
    let header = decode_header(assertion).map_err(|e| AssertionError::Malformed(e.to_string()))?;
    if !matches!(header.alg, Algorithm::RS384 | Algorithm::ES384) {
        return Err(AssertionError::Algorithm(header.alg));
    }
    // Who it claims to be, before any key is chosen: the keys are that client's.
    let unverified = unverified_subject(assertion)?;
    let client = clients
        .client(&unverified)
        .await
        .map_err(|e| AssertionError::Internal(e.to_string()))?
        .filter(|client| client.enabled && (client.jwks.is_some() || client.jwks_uri.is_some()))
        .ok_or_else(|| AssertionError::UnknownClient(unverified.clone()))?;
    let keys = client_keys(&client).await?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[token_endpoint]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 30;
    let candidates: Vec<&Jwk> = keys
        .keys
        .iter()
        .filter(|jwk| header.kid.is_none() || jwk.common.key_id == header.kid)
        .collect();
    let mut last_error = String::from("no key with that kid");
    let mut claims = None;
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        match decode::<AssertionClaims>(assertion, &key, &validation) {
            Ok(data) => {
                claims = Some(data.claims);
                break;
            }
            Err(error) => match error.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature
                | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm
                | jsonwebtoken::errors::ErrorKind::InvalidKeyFormat => {
                    last_error = format!("{:?}", error.kind())
                }
                other => return Err(AssertionError::Invalid(format!("{other:?}"))),
            },
        }
    }
    let claims = claims.ok_or(AssertionError::BadSignature(last_error))?;
    if claims.iss != client.client_id || claims.sub != client.client_id {
        return Err(AssertionError::Invalid(
            "iss and sub must both be the client id".into(),
        ));
    }
    let now = Utc::now().timestamp();
    if claims.exp > now + MAX_LIFETIME_SECS {
        return Err(AssertionError::Invalid(
            "exp is more than five minutes ahead".into(),
        ));
    }
    if claims.jti.is_empty() {
        return Err(AssertionError::Invalid("jti is required".into()));
    }
    let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now);
    let fresh = store
        .session()
        .await
        .map_err(|e| AssertionError::Internal(e.to_string()))?
        .use_assertion_jti(&client.client_id, &claims.jti, expires_at)
        .await
        .map_err(|e| AssertionError::Internal(e.to_string()))?;
    if !fresh {
        return Err(AssertionError::Replayed);
    }
    Ok(client)
}

/// The `sub` of a JWT, read without verifying it (only to know whose keys to use).
fn unverified_subject(assertion: &str) -> Result<String, AssertionError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let payload = assertion
        .split('.')
        .nth(1)
        .ok_or_else(|| AssertionError::Malformed("not three parts".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| AssertionError::Malformed(e.to_string()))?;
    let claims: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| AssertionError::Malformed(e.to_string()))?;
    claims["sub"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| AssertionError::Malformed("no sub".into()))
}

/// The client's registered JWK Set, or the one at its `jwksUri`.
async fn client_keys(client: &Client) -> Result<JwkSet, AssertionError> {
    if let Some(jwks) = &client.jwks {
        return serde_json::from_value(jwks.clone())
            .map_err(|e| AssertionError::KeysUnavailable(format!("the registered jwks: {e}")));
    }
    let uri = client.jwks_uri.as_deref().unwrap_or_default();
    let http = claimbridge_plugin_sdk::http_client::client(JWKS_FETCH_TIMEOUT)
        .map_err(|e| AssertionError::KeysUnavailable(e.to_string()))?;
    let answer = http
        .get(uri)
        .send()
        .await
        .map_err(|e| AssertionError::KeysUnavailable(e.to_string()))?;
    if !answer.status().is_success() {
        return Err(AssertionError::KeysUnavailable(format!(
            "{uri} answered {}",
            answer.status()
        )));
    }
    answer
        .json()
        .await
        .map_err(|e| AssertionError::KeysUnavailable(e.to_string()))
}
