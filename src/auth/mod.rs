//! SMART on FHIR authorization: the embedded authorization server (clients,
//! signing keys, the token endpoint, discovery) and the resource server's side
//! (bearer tokens checked on every protected request, scopes against what is
//! asked).
//!
//! `CLAIMBRIDGE_AUTH=required` (the default) protects `/fhir`, `/api`, `/hl7` and
//! `/admin`; `disabled` turns every check off, with a warning, and is refused on a
//! non-loopback bind. What stays open: the CapabilityStatement, discovery
//! documents, the token and JWKS endpoints, vendors' webhooks (verified by their
//! signatures), `/metrics` and the health probes.

pub mod access_token;
pub mod admin_clients;
pub mod admin_users;
pub mod assertion;
pub mod authorize;
pub mod bootstrap;
pub mod clients;
pub mod discovery;
pub mod external_issuers;
pub mod gate;
pub mod grants;
pub mod keys;
pub mod launch;
pub mod pages;
pub mod policy;
pub mod rate_limit;
pub mod redis_limits;
pub mod scopes;
pub mod token_endpoint;
pub mod token_lifecycle;
pub mod users;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

pub use access_token::{AccessTokens, Principal};
pub use keys::SigningKeys;

/// Every route of the authorization server and of its admin API.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.configure(discovery::configure)
        .configure(authorize::configure)
        .configure(token_lifecycle::configure)
        .configure(launch::configure)
        .configure(admin_clients::configure)
        .configure(admin_users::configure);
}

/// Whether requests need a bearer token (`auth`).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Every request needs a bearer token (see Authorization in the README).
    #[default]
    Required,
    /// Nothing is checked and a warning is logged: for development on this
    /// machine only, refused unless `bind` is a loopback address.
    Disabled,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// Where the embedded authorization server lives and what it hands out.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// `{public url}/auth`: the `iss` of its tokens.
    pub issuer: String,
    /// `{public url}/fhir`: the `aud` its tokens must carry.
    pub audience: String,
}

impl Endpoints {
    pub fn new(public_url: &str) -> Self {
        Endpoints {
            issuer: format!("{public_url}/auth"),
            audience: format!("{public_url}/fhir"),
        }
    }

    pub fn token(&self) -> String {
        format!("{}/token", self.issuer)
    }

    pub fn jwks(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    pub fn authorize(&self) -> String {
        format!("{}/authorize", self.issuer)
    }

    pub fn introspect(&self) -> String {
        format!("{}/introspect", self.issuer)
    }

    pub fn revoke(&self) -> String {
        format!("{}/revoke", self.issuer)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error(
        "authorization needs a secrets key to seal its signing keys: set CLAIMBRIDGE_SECRETS_KEY \
         (or CLAIMBRIDGE_AUTH=disabled for development on this machine)"
    )]
    NoSecretsKey,
    #[error("auth = disabled is for development on this machine only, and {0} is not a loopback address")]
    DisabledOffLoopback(std::net::SocketAddr),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bootstrap(#[from] bootstrap::BootstrapError),
    #[error("redis_url: {0}")]
    Redis(#[from] redis::RedisError),
}

/// The authorization server of a node: `None` when authorization is disabled
/// (with a warning). On first start it makes the signing key and the bootstrap
/// admin client; on every start it rotates a key older than the rotation period.
pub async fn setup(
    settings: &crate::config::Settings,
    store: Arc<Store>,
    keyring: Option<Arc<crate::secrets::Keyring>>,
    bound: std::net::SocketAddr,
    signals: Option<Arc<crate::cluster::Signals>>,
) -> Result<Option<AuthContext>, AuthSetupError> {
    if settings.auth == AuthMode::Disabled {
        if !bound.ip().is_loopback() {
            return Err(AuthSetupError::DisabledOffLoopback(bound));
        }
        tracing::warn!("authorization is DISABLED (CLAIMBRIDGE_AUTH=disabled): every request is allowed");
        return Ok(None);
    }
    let keyring = keyring.ok_or(AuthSetupError::NoSecretsKey)?;
    let lifetime = std::time::Duration::from_secs(settings.auth_token_lifetime_secs);
    let keys = SigningKeys::load_or_create(Arc::clone(&store), keyring, lifetime).await?;
    keys.rotate_if_older_than(std::time::Duration::from_secs(
        settings.auth_key_rotation_days.saturating_mul(86_400),
    ))
    .await?;
    let endpoints = Endpoints::new(&settings.public_url(bound));
    let external = external_issuers::ExternalIssuers::new(
        &settings.auth_trusted_issuers,
        &endpoints.issuer,
        &endpoints.audience,
        std::time::Duration::from_secs(settings.auth_jwks_min_refresh_secs),
    )?;
    if let Some(external) = &external {
        external.discover_all().await;
    }
    let clients = clients::ClientRegistry::new(Arc::clone(&store));
    let bootstrap_file = settings
        .auth_bootstrap_file
        .clone()
        .unwrap_or_else(|| bootstrap::default_path(&settings.database_url));
    bootstrap::ensure_admin(&clients, &bootstrap_file).await?;
    crate::console::client::ensure_registered(&clients, &endpoints).await?;
    let limits = rate_limit::RequestLimits::new(
        settings.auth_rate_limit_per_second,
        settings.auth_rate_limit_burst,
        settings.redis_url.as_deref(),
        &settings.redis_key_prefix,
    )?;
    if let Some(limits) = &limits {
        // Connected before the first request, if Redis is there; a Redis that is
        // down only delays start-up this long, then requests are counted in process.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), limits.connect()).await;
    }
    Ok(Some(AuthContext {
        mode: AuthMode::Required,
        tokens: AccessTokens::new(Arc::clone(&keys), Arc::clone(&store), endpoints.clone(), lifetime)
            .with_external_issuers(external)
            .with_signals(signals),
        endpoints,
        keys,
        clients,
        users: users::UserRegistry::new(Arc::clone(&store)),
        grants: grants::Grants::new(Arc::clone(&store)),
        store,
        limits,
        sign_in_limits: rate_limit::ClientRateLimits::per_minute(SIGN_INS_PER_MINUTE, SIGN_IN_BURST),
    }))
}

/// What the auth routes and the gate share, per server.
pub struct AuthContext {
    pub mode: AuthMode,
    pub endpoints: Endpoints,
    pub store: Arc<Store>,
    pub keys: Arc<SigningKeys>,
    pub tokens: AccessTokens,
    pub clients: clients::ClientRegistry,
    pub users: users::UserRegistry,
    pub grants: grants::Grants,
    /// `None`: no limit. Shared by every node through Redis when configured.
    pub limits: Option<rate_limit::RequestLimits>,
    /// Password attempts per username.
    pub sign_in_limits: rate_limit::ClientRateLimits,
}

/// Sign-in attempts allowed per username, right or wrong: a person launching a
/// few apps in a row is not held back; a guesser gets 10 tries a minute.
const SIGN_INS_PER_MINUTE: u32 = 10;
const SIGN_IN_BURST: u32 = 10;
