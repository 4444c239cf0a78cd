//! Access tokens: JWTs the embedded server signs (`iss` its issuer URL, `aud` the
//! FHIR base URL, `exp` minutes away, `scope`, `client_id`, `tenant`, and for a
//! patient launch `patient`), and their verification by the resource server.
//!
//! A verified token is remembered until it expires (bounded), so a client reusing
//! its token pays one signature check, not one per request. Whether it has been
//! revoked (RFC 7009: by its `jti`, or with the refresh-token grant it came from)
//! is asked of the database when it is first seen and again at most every
//! [`REVOCATION_RECHECK`]: a revocation on this node applies at once, one made on
//! another node within that time, or at once with Redis: the revoking node
//! publishes it (`crate::cluster::signals`) and every node forgets the tokens it
//! names, so their next use asks the database.
//!
//! Tokens of the external issuers the server is configured to trust are told
//! apart by their (unverified) `iss` and verified against that issuer's keys
//! ([`super::external_issuers`]); they share the cache and the revocation check.
//! Any other issuer is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::external_issuers::{self, ExternalIssuers, KeyRef};
use super::keys::SigningKeys;
use super::scopes::{Role, Scopes};
use super::{AuthError, Endpoints};
use crate::cluster::{Revocation, Signal, Signals};
use crate::store::Store;

/// Tokens remembered as verified, at most.
const VERIFIED_CACHE_LIMIT: usize = 10_000;
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;
/// How long a remembered token is trusted not to have been revoked elsewhere.
pub const REVOCATION_RECHECK: Duration = Duration::from_secs(30);

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
    /// The token's id (what revoking it names).
    pub jti: String,
    /// The refresh-token grant it was issued from, if any.
    pub grant: Option<String>,
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
            jti: String::new(),
            grant: None,
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
    #[error("the token has been revoked")]
    Revoked,
    #[error("revocation could not be checked: {0}")]
    Unavailable(String),
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
    #[serde(default)]
    jti: String,
    #[serde(default)]
    grant: Option<String>,
}

pub struct AccessTokens {
    keys: Arc<SigningKeys>,
    store: Arc<Store>,
    endpoints: Endpoints,
    lifetime: Duration,
    verified: Arc<Mutex<Verified>>,
    /// The other issuers whose tokens are accepted, if any.
    external: Option<ExternalIssuers>,
    /// Revocations go to the other nodes (and theirs come) this way, with Redis.
    signals: Option<Arc<Signals>>,
}

/// Verified tokens by their text.
type Verified = HashMap<String, Remembered>;

/// A verified token, and when it was last found unrevoked.
struct Remembered {
    principal: Principal,
    checked: Instant,
    /// For an external issuer's token, the key it was verified with: when the
    /// issuer stops publishing it, the token is no longer honoured.
    external_key: Option<KeyRef>,
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
    /// The refresh-token grant (revoking it revokes this token).
    pub grant: Option<&'a str>,
    /// SMART's `fhirUser`, for a user who is a FHIR resource.
    pub fhir_user: Option<&'a str>,
}

impl AccessTokens {
    pub fn new(keys: Arc<SigningKeys>, store: Arc<Store>, endpoints: Endpoints, lifetime: Duration) -> Self {
        AccessTokens {
            keys,
            store,
            endpoints,
            lifetime,
            verified: Arc::default(),
            external: None,
            signals: None,
        }
    }

    /// Publishes revocations to the other nodes and forgets the tokens theirs
    /// name (inside a Tokio runtime).
    pub fn with_signals(mut self, signals: Option<Arc<Signals>>) -> Self {
        if let Some(signals) = &signals {
            tokio::spawn(forget_revoked(
                signals.subscribe(),
                Arc::downgrade(&self.verified),
            ));
        }
        self.signals = signals;
        self
    }

    /// Also accepts the tokens of these external issuers.
    pub fn with_external_issuers(mut self, external: Option<ExternalIssuers>) -> Self {
        self.external = external;
        self
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
        if let Some(family) = grant.grant {
            claims["grant"] = json!(family);
        }
        if let Some(fhir_user) = grant.fhir_user {
            claims["fhirUser"] = json!(fhir_user);
        }
        Ok(IssuedToken {
            token: self.keys.sign(&claims)?,
            expires_in: self.lifetime.as_secs(),
        })
    }

    /// An OpenID Connect id token for the user, to the client (`aud`), echoing the
    /// authorization request's `nonce`, with SMART's `fhirUser` when granted.
    pub fn id_token(
        &self,
        subject: &str,
        client_id: &str,
        nonce: Option<&str>,
        fhir_user: Option<&str>,
    ) -> Result<String, AuthError> {
        let now = Utc::now().timestamp();
        let mut claims = json!({
            "iss": self.endpoints.issuer,
            "sub": subject,
            "aud": client_id,
            "iat": now,
            "exp": now + self.lifetime.as_secs() as i64,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        if let Some(fhir_user) = fhir_user {
            claims["fhirUser"] = json!(format!("{}/{fhir_user}", self.endpoints.audience));
        }
        self.keys.sign(&claims)
    }

    /// The principal a bearer token stands for.
    pub async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let now = Utc::now().timestamp();
        if let Some((known, checked, external_key)) = self.remembered(token) {
            if known.expires_at + LEEWAY_SECS as i64 <= now {
                return Err(TokenError::Invalid("ExpiredSignature".into()));
            }
            if checked.elapsed() < REVOCATION_RECHECK {
                return Ok(known);
            }
            if let (Some(key), Some(external)) = (&external_key, &self.external) {
                if !external.still_publishes(key) {
                    self.forget(|remembered| remembered.jti == known.jti);
                    return Err(TokenError::UnknownKey);
                }
            }
            self.refuse_if_revoked(&known).await?;
            self.remember(token, &known, external_key);
            return Ok(known);
        }
        if let Some(issuer) = external_issuers::unverified_issuer(token) {
            if issuer != self.endpoints.issuer {
                return self.verify_external(token, &issuer).await;
            }
        }
        let claims: Claims = self.decode(token, &self.endpoints.audience).await?;
        let principal = Principal {
            client_id: claims.client_id,
            subject: claims.sub,
            tenant: claims.tenant,
            // Lenient: a scope this server does not know grants nothing here.
            scopes: Scopes::parse_lenient(&claims.scope).0,
            patient: claims.patient,
            expires_at: claims.exp,
            jti: claims.jti,
            grant: claims.grant,
        };
        self.refuse_if_revoked(&principal).await?;
        self.remember(token, &principal, None);
        Ok(principal)
    }

    /// A token whose `iss` is not the embedded server: verified by a trusted
    /// external issuer's keys, or refused.
    async fn verify_external(&self, token: &str, issuer: &str) -> Result<Principal, TokenError> {
        let external = self
            .external
            .as_ref()
            .filter(|external| external.trusts(issuer))
            .ok_or_else(|| TokenError::Invalid("InvalidIssuer: not a trusted issuer".into()))?;
        let header = decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        let (principal, key) = external.verify(token, &header, issuer).await?;
        self.refuse_if_revoked(&principal).await?;
        self.remember(token, &principal, Some(key));
        Ok(principal)
    }

    /// The claims of a JWT this server signed for `audience` (an access token, or a
    /// sign-in ticket of the login page), its signature, issuer, audience and times
    /// checked.
    pub async fn decode<T: DeserializeOwned>(&self, token: &str, audience: &str) -> Result<T, TokenError> {
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
        validation.set_audience(&[audience]);
        validation.set_issuer(&[&self.endpoints.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Ok(decode::<T>(token, &key, &validation)
            .map_err(|e| TokenError::Invalid(format!("{:?}", e.kind())))?
            .claims)
    }

    /// Signs `claims` with the current key.
    pub fn sign(&self, claims: &serde_json::Value) -> Result<String, AuthError> {
        self.keys.sign(claims)
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Whether the token `jti`, or the grant it came from, has been revoked (asked
    /// of the database, not remembered).
    pub async fn is_revoked(&self, jti: &str, grant: Option<&str>) -> Result<bool, crate::store::StoreError> {
        let mut ids = vec![jti];
        ids.extend(grant);
        self.store.session().await?.any_revoked(&ids).await
    }

    async fn refuse_if_revoked(&self, principal: &Principal) -> Result<(), TokenError> {
        let revoked = self
            .is_revoked(&principal.jti, principal.grant.as_deref())
            .await
            .map_err(|e| TokenError::Unavailable(e.to_string()))?;
        if revoked {
            self.forget(|known| known.jti == principal.jti);
            return Err(TokenError::Revoked);
        }
        Ok(())
    }

    /// Revokes the access token with `jti` until it would have expired.
    pub async fn revoke(&self, jti: &str, expires_at: i64) -> Result<(), AuthError> {
        let until = chrono::DateTime::from_timestamp(expires_at, 0).unwrap_or_else(Utc::now);
        self.store.session().await?.insert_revocation(jti, until).await?;
        self.forget(|known| known.jti == jti);
        if let Some(signals) = &self.signals {
            signals
                .publish(&Signal::Revoked(Revocation::Token(jti.to_owned())))
                .await;
        }
        Ok(())
    }

    /// Drops remembered tokens of a revoked refresh-token grant, here and (in the
    /// background) on the other nodes.
    pub fn forget_grant(&self, family_id: &str) {
        self.forget(|known| known.grant.as_deref() == Some(family_id));
        if let Some(signals) = &self.signals {
            let (signals, family) = (Arc::clone(signals), family_id.to_owned());
            tokio::spawn(async move { signals.publish(&Signal::Revoked(Revocation::Grant(family))).await });
        }
    }

    fn forget(&self, revoked: impl Fn(&Principal) -> bool) {
        forget(&self.verified, revoked);
    }

    fn remembered(&self, token: &str) -> Option<(Principal, Instant, Option<KeyRef>)> {
        self.verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(token)
            .map(|remembered| {
                (
                    remembered.principal.clone(),
                    remembered.checked,
                    remembered.external_key.clone(),
                )
            })
    }

    fn remember(&self, token: &str, principal: &Principal, external_key: Option<KeyRef>) {
        let mut verified = self
            .verified
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if verified.len() >= VERIFIED_CACHE_LIMIT {
            let now = Utc::now().timestamp();
            verified.retain(|_, known| known.principal.expires_at > now);
            if verified.len() >= VERIFIED_CACHE_LIMIT {
                verified.clear();
            }
        }
        verified.insert(
            token.to_owned(),
            Remembered {
                principal: principal.clone(),
                checked: Instant::now(),
                external_key,
            },
        );
    }
}

fn forget(verified: &Mutex<Verified>, revoked: impl Fn(&Principal) -> bool) {
    verified
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .retain(|_, remembered| !revoked(&remembered.principal));
}

/// Forgets the tokens other nodes revoke, until the tokens' cache is dropped. A
/// node that may have missed signals (subscribed again, or fell behind) forgets
/// every token: each is checked against the database on its next use.
async fn forget_revoked(
    mut heard: tokio::sync::broadcast::Receiver<Signal>,
    verified: std::sync::Weak<Mutex<Verified>>,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let signal = heard.recv().await;
        let Some(verified) = verified.upgrade() else {
            return;
        };
        match signal {
            Ok(Signal::Revoked(Revocation::Token(jti))) => forget(&verified, |known| known.jti == jti),
            Ok(Signal::Revoked(Revocation::Grant(family))) => {
                forget(&verified, |known| known.grant.as_deref() == Some(family.as_str()))
            }
            Ok(Signal::Resubscribed) | Err(RecvError::Lagged(_)) => forget(&verified, |_| true),
            Ok(Signal::JobsQueued) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Keyring;
    use crate::store::Database;

    const AUDIENCE: &str = "http://fhir.example/fhir";

    async fn signing_keys(dir: &tempfile::TempDir) -> (Arc<SigningKeys>, Arc<Store>) {
        let database = Database::open(&format!("sqlite://{}/auth.db", dir.path().display()))
            .await
            .unwrap();
        let keyring = Arc::new(Keyring::new(("k1", &[7u8; 32]), &[]).unwrap());
        let store = Arc::new(database.store(1).unwrap());
        let keys = SigningKeys::load_or_create(Arc::clone(&store), keyring, Duration::from_secs(300))
            .await
            .unwrap();
        (keys, store)
    }

    fn tokens(keys: &(Arc<SigningKeys>, Arc<Store>)) -> AccessTokens {
        AccessTokens::new(
            Arc::clone(&keys.0),
            Arc::clone(&keys.1),
            endpoints(),
            Duration::from_secs(300),
        )
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
            grant: None,
            fhir_user: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_issued_token_verifies_and_says_who_and_what() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = tokens(&signing_keys(&dir).await);
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
        let both = signing_keys(&dir).await;
        let (keys, tokens) = (Arc::clone(&both.0), tokens(&both));
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
        let both = signing_keys(&dir).await;
        let (keys, tokens) = (Arc::clone(&both.0), tokens(&both));
        let before = tokens.issue(&grant()).unwrap().token;
        let kid = keys.rotate().await.unwrap();
        let after = tokens.issue(&grant()).unwrap().token;
        let header = decode_header(&after).unwrap();
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
        let fresh = super::tests::tokens(&both);
        assert!(fresh.verify(&before).await.is_ok());
        assert!(fresh.verify(&after).await.is_ok());
        assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_revoked_token_is_refused_even_when_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let both = signing_keys(&dir).await;
        let tokens = tokens(&both);
        let token = tokens.issue(&grant()).unwrap().token;
        let other = tokens.issue(&grant()).unwrap().token;
        let principal = tokens.verify(&token).await.unwrap();
        tokens.verify(&other).await.unwrap();
        tokens.revoke(&principal.jti, principal.expires_at).await.unwrap();
        assert_eq!(tokens.verify(&token).await, Err(TokenError::Revoked));
        // Another node, which never saw it, finds the revocation in the database.
        let elsewhere = super::tests::tokens(&both);
        assert_eq!(elsewhere.verify(&token).await, Err(TokenError::Revoked));
        assert!(tokens.verify(&other).await.is_ok());
    }
}
