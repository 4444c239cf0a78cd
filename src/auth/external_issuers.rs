//! Access tokens of other authorization servers (an organisation's identity
//! provider: Keycloak, Entra ID, Okta, …) that the resource server is configured to
//! trust (`auth_trusted_issuers`).
//!
//! Each trusted issuer's OpenID Connect discovery document is read with the
//! `openidconnect` crate (which also checks that it names the issuer it was asked
//! for), at start-up, or at the first token of that issuer when it could not be
//! reached then. Its JWKS (`jwks_uri`) is kept in memory and read again when a
//! token names a `kid` it does not hold (the issuer rotated its keys), when the
//! keys are older than [`KEYS_MAX_AGE`], but never more often than the configured
//! minimum interval per issuer: a stream of tokens with made-up kids costs the
//! issuer one request per interval, not one per token. A key the issuer no longer
//! publishes stops verifying once the set has been read again.
//!
//! A token is checked as the embedded server's are (`aud` the FHIR base URL, `iss`
//! exactly the issuer, `exp` required, `nbf` honoured, 30 s leeway) and signed
//! RS256, RS384, ES256 or ES384 with a key whose type and curve fit that
//! algorithm; `none` and HMAC never verify. Its claims become a [`Principal`] of
//! the tenant configured for the issuer ([`principal_from_claims`]).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{decode, Algorithm, DecodingKey, Header, Validation};
use openidconnect::core::CoreProviderMetadata;
use openidconnect::IssuerUrl;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::access_token::{Principal, TokenError};
use super::scopes::Scopes;
use super::AuthError;

/// How long reading an issuer's discovery document or JWKS may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Keys older than this are read again at the next token (kept if that fails).
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(15 * 60);
/// The largest discovery document or JWKS accepted.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Clock skew tolerated on `exp` and `nbf`, in seconds (as for embedded tokens).
const LEEWAY_SECS: u64 = 30;

/// An issuer whose access tokens are accepted, as configured: a URL alone, or a
/// table `{issuer, tenant?, scope_claim?, client_id_claim?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(from = "IssuerEntry")]
pub struct TrustedIssuer {
    /// Exactly the `iss` of its tokens (and of its discovery document).
    pub issuer: String,
    /// The tenant its tokens act in.
    pub tenant: String,
    /// The claim carrying the scopes; default `scope` (then `scp`).
    pub scope_claim: Option<String>,
    /// The claim naming the client; default `client_id` (then `azp`).
    pub client_id_claim: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum IssuerEntry {
    Url(String),
    #[serde(rename_all = "snake_case")]
    Table {
        issuer: String,
        tenant: Option<String>,
        scope_claim: Option<String>,
        client_id_claim: Option<String>,
    },
}

impl From<IssuerEntry> for TrustedIssuer {
    fn from(entry: IssuerEntry) -> Self {
        match entry {
            IssuerEntry::Url(issuer) => TrustedIssuer::new(issuer.trim()),
            IssuerEntry::Table {
                issuer,
                tenant,
                scope_claim,
                client_id_claim,
            } => TrustedIssuer {
                issuer,
                tenant: tenant.unwrap_or_else(|| crate::store::model::Tenant::DEFAULT.to_owned()),
                scope_claim,
                client_id_claim,
            },
        }
    }
}

impl TrustedIssuer {
    /// An issuer of the default tenant, with the default claims.
    pub fn new(issuer: impl Into<String>) -> Self {
        TrustedIssuer {
            issuer: issuer.into(),
            tenant: crate::store::model::Tenant::DEFAULT.to_owned(),
            scope_claim: None,
            client_id_claim: None,
        }
    }
}

/// `auth_trusted_issuers`: a list of entries, or one string of comma-separated
/// issuer URLs (the convenient form in an environment variable).
pub fn deserialize_trusted_issuers<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<TrustedIssuer>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<TrustedIssuer>),
        One(TrustedIssuer),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Many(issuers) => issuers,
        OneOrMany::One(one) if one.issuer.contains(',') && one.scope_claim.is_none() => one
            .issuer
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(|url| TrustedIssuer {
                issuer: url.to_owned(),
                ..one.clone()
            })
            .collect(),
        OneOrMany::One(one) => vec![one],
    })
}

/// The issuer claim of a JWT, read without verifying it: only to choose whose keys
/// verify it. `None` for something that is not a JWT with a string `iss`.
pub fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    serde_json::from_slice::<Iss>(&bytes)
        .ok()
        .map(|claims| claims.iss)
}

/// The principal an external token's verified claims stand for: the issuer's
/// tenant; the client from the configured claim (default `client_id`), else `azp`;
/// the subject `sub`; the scopes from the configured claim (default `scope`, else
/// `scp`), a space-separated string or an array, read leniently (a scope this
/// server does not know grants nothing); `patient` if present; the `jti`, or
/// without one a digest of the token (what the verified-token cache and
/// revocation checks name it by).
pub fn principal_from_claims(
    claims: &Value,
    issuer: &TrustedIssuer,
    token: &str,
) -> Result<Principal, TokenError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    let subject = text("sub").ok_or_else(|| TokenError::Invalid("the token has no sub".into()))?;
    let client_id = issuer
        .client_id_claim
        .as_deref()
        .and_then(text)
        .or_else(|| text("client_id"))
        .or_else(|| text("azp"))
        .ok_or_else(|| {
            TokenError::Invalid(format!(
                "the token names no client (claim {:?} or azp)",
                issuer.client_id_claim.as_deref().unwrap_or("client_id")
            ))
        })?;
    let scope_value = match issuer.scope_claim.as_deref() {
        Some(claim) => claims.get(claim),
        None => claims.get("scope").or_else(|| claims.get("scp")),
    };
    let scope = match scope_value {
        Some(Value::String(words)) => words.clone(),
        Some(Value::Array(words)) => words
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    let expires_at = claims
        .get("exp")
        .and_then(|exp| exp.as_i64().or_else(|| exp.as_f64().map(|exp| exp as i64)))
        .ok_or_else(|| TokenError::Invalid("the token has no exp".into()))?;
    let jti = match text("jti") {
        Some(jti) => jti.to_owned(),
        None => format!(
            "sha256:{}",
            URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
        ),
    };
    Ok(Principal {
        client_id: client_id.to_owned(),
        subject: subject.to_owned(),
        tenant: issuer.tenant.clone(),
        scopes: Scopes::parse_lenient(&scope).0,
        patient: text("patient").map(str::to_owned),
        expires_at,
        jti,
        grant: None,
    })
}

/// The key an external token was verified with, so that a token remembered as
/// verified stops being honoured once its issuer no longer publishes the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub issuer: String,
    pub kid: Option<String>,
}

/// The trusted issuers of a node and what it knows of their keys.
pub struct ExternalIssuers {
    issuers: HashMap<String, Issuer>,
    /// The FHIR base URL: the `aud` tokens must carry.
    audience: String,
    http: reqwest::Client,
    /// The least time between two reads of one issuer's keys.
    min_refresh: Duration,
}

struct Issuer {
    config: TrustedIssuer,
    known: RwLock<Known>,
    /// One read of the issuer at a time: concurrent tokens with a new kid wait
    /// for it rather than each asking the issuer.
    reading: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Known {
    /// From the discovery document; `None` until it has been read.
    jwks_uri: Option<String>,
    keys: Vec<Arc<VerifyingKey>>,
    /// When the issuer was last asked (answered or not), and when it answered.
    asked_at: Option<Instant>,
    loaded_at: Option<Instant>,
    /// Why the last read failed, if it did.
    failure: Option<String>,
}

/// A published key and the one algorithm it verifies.
struct VerifyingKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// What a failed read of an issuer says.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct FetchError(String);

impl ExternalIssuers {
    /// `None` when no issuer is configured. Refuses an issuer configured twice or
    /// one that is the embedded server itself.
    pub fn new(
        configured: &[TrustedIssuer],
        embedded_issuer: &str,
        audience: &str,
        min_refresh: Duration,
    ) -> Result<Option<Self>, AuthError> {
        if configured.is_empty() {
            return Ok(None);
        }
        let mut issuers = HashMap::new();
        for config in configured {
            if config.issuer == embedded_issuer {
                return Err(AuthError::Internal(format!(
                    "auth_trusted_issuers names {}, the embedded authorization server itself",
                    config.issuer
                )));
            }
            IssuerUrl::new(config.issuer.clone())
                .map_err(|e| AuthError::Internal(format!("trusted issuer {:?}: {e}", config.issuer)))?;
            let issuer = Issuer {
                config: config.clone(),
                known: RwLock::new(Known::default()),
                reading: tokio::sync::Mutex::new(()),
            };
            if issuers.insert(config.issuer.clone(), issuer).is_some() {
                return Err(AuthError::Internal(format!(
                    "auth_trusted_issuers names {} twice",
                    config.issuer
                )));
            }
        }
        let http = claimbridge_plugin_sdk::http_client::client(FETCH_TIMEOUT)
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        Ok(Some(ExternalIssuers {
            issuers,
            audience: audience.to_owned(),
            http,
            min_refresh,
        }))
    }

    /// Whether tokens with this `iss` are verified here.
    pub fn trusts(&self, issuer: &str) -> bool {
        self.issuers.contains_key(issuer)
    }

    /// Reads every issuer's discovery document and keys, at once; one that cannot
    /// be reached is logged and tried again at its first token.
    pub async fn discover_all(&self) {
        let reads = self.issuers.values().map(|issuer| async move {
            let _reading = issuer.reading.lock().await;
            match self.read_keys(issuer).await {
                Ok(count) => {
                    tracing::info!(issuer = %issuer.config.issuer, keys = count, "trusted issuer discovered")
                }
                Err(error) => tracing::warn!(
                    issuer = %issuer.config.issuer, %error,
                    "trusted issuer unreachable at start-up; its tokens are answered 503 until it answers"
                ),
            }
        });
        futures_util::future::join_all(reads).await;
    }

    /// The principal of a token whose unverified `iss` is `issuer` (a trusted one),
    /// and the key that verified it.
    pub async fn verify(
        &self,
        token: &str,
        header: &Header,
        issuer: &str,
    ) -> Result<(Principal, KeyRef), TokenError> {
        let issuer = self
            .issuers
            .get(issuer)
            .ok_or_else(|| TokenError::Invalid("InvalidIssuer: not a trusted issuer".into()))?;
        if !matches!(
            header.alg,
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::ES256 | Algorithm::ES384
        ) {
            return Err(TokenError::Invalid(format!(
                "{:?} is not accepted: RS256, RS384, ES256 or ES384",
                header.alg
            )));
        }
        let key = self.key_for(issuer, header).await?;
        let mut validation = Validation::new(key.algorithm);
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&[&issuer.config.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        let claims = decode::<Value>(token, &key.key, &validation)
            .map_err(|e| TokenError::Invalid(format!("{:?}", e.kind())))?
            .claims;
        let principal = principal_from_claims(&claims, &issuer.config, token)?;
        Ok((
            principal,
            KeyRef {
                issuer: issuer.config.issuer.clone(),
                kid: key.kid.clone(),
            },
        ))
    }

    /// Whether the key is still among those its issuer publishes (as last read).
    pub fn still_publishes(&self, key: &KeyRef) -> bool {
        self.issuers.get(&key.issuer).is_some_and(|issuer| {
            issuer
                .known
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .keys
                .iter()
                .any(|known| known.kid == key.kid)
        })
    }

    /// The issuer's key for the token: from memory, or after reading the issuer
    /// again when it is not there (or the keys are old) and the interval allows.
    async fn key_for(&self, issuer: &Issuer, header: &Header) -> Result<Arc<VerifyingKey>, TokenError> {
        let (found, stale) = self.lookup(issuer, header);
        if let (Some(key), false) = (&found, stale) {
            return Ok(Arc::clone(key));
        }
        let _reading = issuer.reading.lock().await;
        // Another token may have had the issuer read while this one waited.
        let (found, stale) = self.lookup(issuer, header);
        if let (Some(key), false) = (&found, stale) {
            return Ok(Arc::clone(key));
        }
        let (asked_at, failure) = {
            let known = issuer
                .known
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (known.asked_at, known.failure.clone())
        };
        let may_ask = asked_at.is_none_or(|at| at.elapsed() >= self.min_refresh);
        if may_ask {
            if let Err(error) = self.read_keys(issuer).await {
                tracing::warn!(issuer = %issuer.config.issuer, %error, "reading a trusted issuer's keys");
                // Old keys still verify while the issuer is away; a new kid cannot.
                return found.ok_or_else(|| TokenError::Unavailable(format!("the issuer's keys: {error}")));
            }
            return self.lookup(issuer, header).0.ok_or(TokenError::UnknownKey);
        }
        match (found, failure) {
            (Some(key), _) => Ok(key),
            (None, Some(failure)) => Err(TokenError::Unavailable(format!("the issuer's keys: {failure}"))),
            (None, None) => Err(TokenError::UnknownKey),
        }
    }

    /// The key for the token's kid (without a kid: the issuer's only key for its
    /// algorithm) and whether the keys are due to be read again.
    fn lookup(&self, issuer: &Issuer, header: &Header) -> (Option<Arc<VerifyingKey>>, bool) {
        let known = issuer
            .known
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let stale = known.loaded_at.is_none_or(|at| at.elapsed() >= KEYS_MAX_AGE);
        let mut candidates = known.keys.iter().filter(|key| match &header.kid {
            Some(kid) => key.kid.as_deref() == Some(kid),
            None => key.algorithm == header.alg,
        });
        let key = match (&header.kid, candidates.next(), candidates.next()) {
            (Some(_), Some(key), _) | (None, Some(key), None) => Some(Arc::clone(key)),
            _ => None,
        };
        // A kid whose key is of another type or curve than `alg` says: refused,
        // whatever the key would say of the signature.
        let key = key.filter(|key| key.algorithm == header.alg);
        (key, stale)
    }

    /// Reads the discovery document (first time) and the JWKS; the number of
    /// usable keys. The caller holds `issuer.reading`.
    async fn read_keys(&self, issuer: &Issuer) -> Result<usize, FetchError> {
        let jwks_uri = issuer
            .known
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .jwks_uri
            .clone();
        // The issuer as configured, never the JWKS URL the issuer chose (it may
        // carry a query).
        let read = match jwks_uri {
            Some(uri) => self
                .fetch_json(&uri)
                .instrument(tracing::info_span!("issuer_fetch", issuer = %issuer.config.issuer, op = "jwks"))
                .await
                .map(|jwks| (uri, jwks)),
            None => {
                self.discover(&issuer.config.issuer)
                    .instrument(tracing::info_span!(
                        "issuer_fetch",
                        issuer = %issuer.config.issuer,
                        op = "discovery"
                    ))
                    .await
            }
        };
        let mut known = issuer
            .known
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        known.asked_at = Some(Instant::now());
        match read {
            Ok((uri, jwks)) => {
                known.keys = usable_keys(&jwks);
                known.jwks_uri = Some(uri);
                known.loaded_at = known.asked_at;
                known.failure = None;
                Ok(known.keys.len())
            }
            Err(error) => {
                known.failure = Some(error.to_string());
                Err(error)
            }
        }
    }

    /// The issuer's `jwks_uri` and JWKS, through its OpenID Connect discovery
    /// document (which must name this issuer).
    async fn discover(&self, issuer: &str) -> Result<(String, Value), FetchError> {
        let url = IssuerUrl::new(issuer.to_owned()).map_err(|e| FetchError(e.to_string()))?;
        let http = self.http.clone();
        let client = move |request: openidconnect::HttpRequest| {
            let http = http.clone();
            async move { send(&http, request).await }
        };
        let metadata = CoreProviderMetadata::discover_async(url, &client)
            .await
            .map_err(|e| FetchError(format!("discovery: {}", error_chain(&e))))?;
        let jwks = serde_json::to_value(metadata.jwks()).map_err(|e| FetchError(e.to_string()))?;
        Ok((metadata.jwks_uri().url().to_string(), jwks))
    }

    async fn fetch_json(&self, url: &str) -> Result<Value, FetchError> {
        let request = openidconnect::http::Request::get(url)
            .header("accept", "application/json")
            .body(Vec::new())
            .map_err(|e| FetchError(e.to_string()))?;
        let answer = send(&self.http, request).await?;
        if !answer.status().is_success() {
            return Err(FetchError(format!("{url} answered {}", answer.status())));
        }
        serde_json::from_slice(answer.body()).map_err(|e| FetchError(format!("{url}: {e}")))
    }
}

/// openidconnect's HTTP client: one exchange over our reqwest client (rustls with
/// ring, timeouts), with a bounded body.
async fn send(
    http: &reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, FetchError> {
    let request = reqwest::Request::try_from(request).map_err(|e| FetchError(e.to_string()))?;
    let answer = http
        .execute(request)
        .await
        .map_err(|e| FetchError(error_chain(&e)))?;
    let mut response = openidconnect::http::Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        response = response.header(name, value);
    }
    if answer.content_length().unwrap_or(0) > MAX_DOCUMENT_BYTES as u64 {
        return Err(FetchError("the answer is too large".into()));
    }
    let body = answer.bytes().await.map_err(|e| FetchError(error_chain(&e)))?;
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(FetchError("the answer is too large".into()));
    }
    response
        .body(body.to_vec())
        .map_err(|e| FetchError(e.to_string()))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The signing keys of a JWKS this server can verify with, each with the one
/// algorithm its type, curve and `alg` allow; others (encryption keys, HMAC,
/// unknown types) are skipped, not fatal.
fn usable_keys(jwks: &Value) -> Vec<Arc<VerifyingKey>> {
    let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
        return Vec::new();
    };
    keys.iter()
        .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
        .filter_map(|jwk| {
            let algorithm = key_algorithm(&jwk)?;
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            Some(Arc::new(VerifyingKey {
                kid: jwk.common.key_id.clone(),
                algorithm,
                key,
            }))
        })
        .collect()
}

/// The algorithm a JWK verifies: RSA keys RS256 (or RS384 if their `alg` says
/// so), P-256 keys ES256, P-384 keys ES384; `None` for anything else, an
/// encryption key, or an `alg` that contradicts the key.
fn key_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    let declared = jwk.common.key_algorithm;
    match (&jwk.algorithm, declared) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Some(Algorithm::RS256),
        (AlgorithmParameters::RSA(_), Some(KeyAlgorithm::RS384)) => Some(Algorithm::RS384),
        (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
            if ec.curve == EllipticCurve::P256 =>
        {
            Some(Algorithm::ES256)
        }
        (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES384))
            if ec.curve == EllipticCurve::P384 =>
        {
            Some(Algorithm::ES384)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issuer() -> TrustedIssuer {
        TrustedIssuer {
            tenant: "north".into(),
            ..TrustedIssuer::new("https://idp.example")
        }
    }

    #[test]
    fn claims_become_a_principal_of_the_issuers_tenant() {
        let claims = json!({"iss": "https://idp.example", "sub": "user-7", "client_id": "ehr",
            "scope": "system/Patient.rs launch/patient unknown/thing", "patient": "p1",
            "exp": 2_000_000_000, "jti": "abc"});
        let principal = principal_from_claims(&claims, &issuer(), "t").unwrap();
        assert_eq!(
            (
                principal.client_id.as_str(),
                principal.subject.as_str(),
                principal.tenant.as_str()
            ),
            ("ehr", "user-7", "north")
        );
        assert_eq!(principal.scopes.to_string(), "system/Patient.rs launch/patient");
        assert_eq!(principal.patient.as_deref(), Some("p1"));
        assert_eq!(
            (principal.expires_at, principal.jti.as_str()),
            (2_000_000_000, "abc")
        );
        assert_eq!(principal.grant, None);
    }

    #[test]
    fn scp_arrays_azp_and_tokens_without_jti_are_understood() {
        let claims = json!({"sub": "svc", "azp": "billing-robot",
            "scp": ["system/Claim.rs", "system/Coverage.r"], "exp": 2_000_000_000});
        let principal = principal_from_claims(&claims, &issuer(), "header.payload.sig").unwrap();
        assert_eq!(principal.client_id, "billing-robot");
        assert_eq!(principal.scopes.to_string(), "system/Claim.rs system/Coverage.r");
        assert!(principal.jti.starts_with("sha256:"), "{}", principal.jti);
        let again = principal_from_claims(&claims, &issuer(), "header.payload.sig").unwrap();
        assert_eq!(again.jti, principal.jti, "the same token, the same id");
        let other = principal_from_claims(&claims, &issuer(), "header.payload.sig2").unwrap();
        assert_ne!(other.jti, principal.jti);
    }

    #[test]
    fn configured_claims_are_read_first() {
        let configured = TrustedIssuer {
            scope_claim: Some("roles".into()),
            client_id_claim: Some("appid".into()),
            ..issuer()
        };
        let claims = json!({"sub": "s", "appid": "app-1", "client_id": "ignored",
            "roles": "system/Claim.r", "scope": "system/*.*", "exp": 1});
        let principal = principal_from_claims(&claims, &configured, "t").unwrap();
        assert_eq!(principal.client_id, "app-1");
        assert_eq!(
            principal.scopes.to_string(),
            "system/Claim.r",
            "only the configured claim"
        );
        let without_client = json!({"sub": "s", "exp": 1});
        assert!(principal_from_claims(&without_client, &issuer(), "t").is_err());
        let without_scopes = json!({"sub": "s", "client_id": "c", "exp": 1});
        assert!(principal_from_claims(&without_scopes, &issuer(), "t")
            .unwrap()
            .scopes
            .to_string()
            .is_empty());
    }

    #[test]
    fn keys_verify_only_the_algorithm_their_type_allows() {
        let rsa = json!({"kty": "RSA", "kid": "r", "n": "sXch", "e": "AQAB"});
        let p384 = json!({"kty": "EC", "kid": "e", "crv": "P-384",
            "x": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "y": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
        let jwk = |value: Value| serde_json::from_value::<Jwk>(value).unwrap();
        assert_eq!(key_algorithm(&jwk(rsa.clone())), Some(Algorithm::RS256));
        assert_eq!(key_algorithm(&jwk(p384.clone())), Some(Algorithm::ES384));
        let mut rs384 = rsa.clone();
        rs384["alg"] = json!("RS384");
        assert_eq!(key_algorithm(&jwk(rs384)), Some(Algorithm::RS384));
        let mut contradicted = p384.clone();
        contradicted["alg"] = json!("ES256");
        assert_eq!(key_algorithm(&jwk(contradicted)), None);
        let mut encryption = rsa;
        encryption["use"] = json!("enc");
        assert_eq!(key_algorithm(&jwk(encryption)), None);
        let hmac = json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"});
        assert_eq!(key_algorithm(&jwk(hmac)), None);
        // One unreadable key does not lose the others.
        let set = json!({"keys": [{"kty": "OKP", "crv": "X25519", "x": "AA"}, p384]});
        assert_eq!(usable_keys(&set).len(), 1);
    }

    #[test]
    fn the_issuer_is_read_from_an_unverified_token() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"https://idp.example","sub":"x"}"#);
        assert_eq!(
            unverified_issuer(&format!("e30.{payload}.c2ln")).as_deref(),
            Some("https://idp.example")
        );
        assert_eq!(unverified_issuer("not a jwt"), None);
    }
}
