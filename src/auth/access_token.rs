//! Access tokens: JWTs the embedded server signs (`iss` its issuer URL, `aud` the
//! FHIR base URL, `exp` minutes away, `scope`, `client_id`, `tenant`, and for a
//! patient launch `patient`), and their verification by the resource server.
//!
//! A verified token is remembered until it expires (bounded), so a client reusing
//! its token pays one signature check, not one per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde::Deserialize;
use serde_json::json;

use super::keys::SigningKeys;
use super::scopes::{Role, Scopes};
use super::{AuthError, Endpoints};

/// Tokens remembered as verified, at most.
const VERIFIED_CACHE_LIMIT: usize = 10_000;
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Who is asking, as their verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub client_id: String,
    /// The user, or the client itself for a backend service.
    pub subject: String,
    pub tenant: String,
    /// The granted scopes, read once when the token is verified (a verified token
    /// is remembered with them, so no request parses them again).
    pub scopes: Scopes,
    /// The launch patient, for `patient/` scopes.
    pub patient: Option<String>,
    /// Seconds since the epoch.
    pub expires_at: i64,
}

impl Principal {
    /// Everyone, when authorization is disabled for local development.
    pub fn unrestricted() -> Self {
        Principal {
            client_id: "anonymous".into(),
            subject: "anonymous".into(),
            tenant: crate::integrations::registry::DEFAULT_TENANT.into(),
            scopes: Scopes::parse_lenient("system/*.* admin biller auditor").0,
            patient: None,
            expires_at: i64::MAX,
        }
    }

    /// Whether the role scope (`admin`, `biller`, `auditor`) was granted.
    pub fn has_role(&self, role: Role) -> bool {
        self.scopes.has_role(role)
    }
}

/// Why a bearer token was not accepted (the `error_description` of a 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a JWT this server can read: {0}")]
    Malformed(String),
    #[error("the token was signed by a key this server does not know")]
    UnknownKey,
    #[error("the token is not valid: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    scope: String,
    client_id: String,
    tenant: String,
    #[serde(default)]
    patient: Option<String>,
}

pub struct AccessTokens {
    keys: Arc<SigningKeys>,
    endpoints: Endpoints,
    lifetime: Duration,
    verified: Mutex<HashMap<String, Principal>>,
}

/// What the token endpoint hands out.
pub struct IssuedToken {
    pub token: String,
    pub expires_in: u64,
}

/// What a token is issued for.
pub struct Grant<'a> {
    pub client_id: &'a str,
    pub subject: &'a str,
    pub tenant: &'a str,
    pub scope: &'a str,
    pub patient: Option<&'a str>,
}

impl AccessTokens {
    pub fn new(keys: Arc<SigningKeys>, endpoints: Endpoints, lifetime: Duration) -> Self {
        AccessTokens {
            keys,
            endpoints,
            lifetime,
            verified: Mutex::new(HashMap::new()),
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    pub fn issue(&self, grant: &Grant<'_>) -> Result<IssuedToken, AuthError> {
        let now = Utc::now().timestamp();
        let mut claims = json!({
            "iss": self.endpoints.issuer,
            "sub": grant.subject,
            "aud": self.endpoints.audience,
            "iat": now,
            "exp": now + self.lifetime.as_secs() as i64,
            "jti": uuid::Uuid::new_v4().simple().to_string(),
            "scope": grant.scope,
            "client_id": grant.client_id,
            "tenant": grant.tenant,
        });
        if let Some(patient) = grant.patient {
            claims["patient"] = json!(patient);
        }
        Ok(IssuedToken {
            token: self.keys.sign(&claims)?,
            expires_in: self.lifetime.as_secs(),
        })
    }

    /// The principal a bearer token stands for.
    pub async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let now = Utc::now().timestamp();
        if let Some(known) = self.remembered(token) {
            if known.expires_at + LEEWAY_SECS as i64 > now {
                return Ok(known);
            }
            return Err(TokenError::Invalid("ExpiredSignature".into()));
        }
        let header = decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::ES256 {
            return Err(TokenError::Invalid(format!(
                "{:?} is not how this issuer signs",
                header.alg
            )));
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self
            .keys
            .verifying_key(&kid)
            .await
            .map_err(|e| TokenError::Invalid(e.to_string()))?
            .ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[&self.endpoints.audience]);
        validation.set_issuer(&[&self.endpoints.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        let claims = decode::<Claims>(token, &key, &validation)
            .map_err(|e| TokenError::Invalid(format!("{:?}", e.kind())))?
            .claims;
        let principal = Principal {
            client_id: claims.client_id,
            subject: claims.sub,
            tenant: claims.tenant,
            // Lenient: a scope this server does not know grants nothing here.
            scopes: Scopes::parse_lenient(&claims.scope).0,
            patient: claims.patient,
            expires_at: claims.exp,
        };
        self.remember(token, &principal);
        Ok(principal)
    }

    fn remembered(&self, token: &str) -> Option<Principal> {
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(token)
            .cloned()
    }

    fn remember(&self, token: &str, principal: &Principal) {
        let mut verified = self
            .verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if verified.len() >= VERIFIED_CACHE_LIMIT {
            let now = Utc::now().timestamp();
            verified.retain(|_, known| known.expires_at > now);
            if verified.len() >= VERIFIED_CACHE_LIMIT {
                verified.clear();
            }
        }
        verified.insert(token.to_owned(), principal.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Keyring;
    use crate::store::Database;

    const AUDIENCE: &str = "http://fhir.example/fhir";

    async fn signing_keys(dir: &tempfile::TempDir) -> Arc<SigningKeys> {
        let database = Database::open(&format!("sqlite://{}/auth.db", dir.path().display()))
            .await
            .unwrap();
        let keyring = Arc::new(Keyring::new(("k1", &[7u8; 32]), &[]).unwrap());
        SigningKeys::load_or_create(
            Arc::new(database.store(1).unwrap()),
            keyring,
            Duration::from_secs(300),
        )
        .await
        .unwrap()
    }

    fn endpoints() -> Endpoints {
        Endpoints::new("http://fhir.example")
    }

    fn grant() -> Grant<'static> {
        Grant {
            client_id: "app",
            subject: "app",
            tenant: "default",
            scope: "system/Claim.rs",
            patient: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_issued_token_verifies_and_says_who_and_what() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = AccessTokens::new(signing_keys(&dir).await, endpoints(), Duration::from_secs(300));
        let issued = tokens.issue(&grant()).unwrap();
        let principal = tokens.verify(&issued.token).await.unwrap();
        assert_eq!(
            (
                principal.client_id.as_str(),
                principal.scopes.to_string().as_str(),
                principal.tenant.as_str()
            ),
            ("app", "system/Claim.rs", "default")
        );
        // Remembered: the second check needs no signature.
        assert_eq!(tokens.verify(&issued.token).await.unwrap(), principal);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expired_foreign_audience_foreign_issuer_and_tampered_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let keys = signing_keys(&dir).await;
        let tokens = AccessTokens::new(Arc::clone(&keys), endpoints(), Duration::from_secs(300));
        let now = Utc::now().timestamp();
        let claims = |iss: &str, aud: &str, exp: i64| {
            json!({"iss": iss, "aud": aud, "sub": "app", "exp": exp, "iat": now - 10,
                   "scope": "system/*.*", "client_id": "app", "tenant": "default"})
        };
        let issuer = endpoints().issuer;
        let expired = keys.sign(&claims(&issuer, AUDIENCE, now - 120)).unwrap();
        let elsewhere = keys
            .sign(&claims(&issuer, "https://other.example/fhir", now + 60))
            .unwrap();
        let impostor = keys
            .sign(&claims("https://idp.example", AUDIENCE, now + 60))
            .unwrap();
        for (token, why) in [
            (expired, "Expired"),
            (elsewhere, "Audience"),
            (impostor, "Issuer"),
        ] {
            let refused = tokens.verify(&token).await.unwrap_err();
            assert!(refused.to_string().contains(why), "{refused}");
        }
        let good = tokens.issue(&grant()).unwrap().token;
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let widened = claims(&issuer, AUDIENCE, now + 60).to_string();
        parts[1] = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, widened);
        let tampered = parts.join(".");
        assert!(matches!(
            tokens.verify(&tampered).await,
            Err(TokenError::Invalid(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_token_signed_before_a_rotation_still_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let keys = signing_keys(&dir).await;
        let tokens = AccessTokens::new(Arc::clone(&keys), endpoints(), Duration::from_secs(300));
        let before = tokens.issue(&grant()).unwrap().token;
        let kid = keys.rotate().await.unwrap();
        let after = tokens.issue(&grant()).unwrap().token;
        let header = decode_header(&after).unwrap();
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
        let fresh = AccessTokens::new(Arc::clone(&keys), endpoints(), Duration::from_secs(300));
        assert!(fresh.verify(&before).await.is_ok());
        assert!(fresh.verify(&after).await.is_ok());
        assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 2);
    }
}
