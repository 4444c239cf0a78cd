//! One typed configuration, layered: built-in defaults, then an optional TOML file,
//! then `CLAIMBRIDGE_*` environment variables (highest precedence).

pub mod reference;

use crate::auth::AuthMode;
use crate::billing::gateway::GatewayKind;
use crate::integrations::backoff::RetryPolicy;
use crate::integrations::breaker::BreakerPolicy;
use crate::x12::claim_837p::{ClaimSubmissionConfig, Receiver, Submitter};
use crate::x12::eligibility_inquiry::EligibilityConfig;
use crate::x12::{EnvelopeConfig, InterchangeParty, Usage};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Every setting, with its default; `claimbridge config reference` renders the
/// reference (docs/configuration.md) from this type: its doc comments, its JSON
/// schema and `Settings::default()`. Document a new field here, not elsewhere.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(default)]
pub struct Settings {
    /// `sqlite://<path>` (the embedded database: file and directory created on
    /// first run) or `postgres://user@host:port/db` (PostgreSQL). TLS to
    /// PostgreSQL is not supported yet: run it on a private network.
    pub database_url: String,
    /// Connections in the database pool.
    pub database_pool_size: usize,
    /// Address the HTTP server listens on (`host:port`).
    pub bind: SocketAddr,
    /// Base URL clients see (behind a proxy: the proxy's URL); the FHIR base is
    /// `{public_url}/fhir`. Unset: `http://{bind}`.
    pub public_url: Option<String>,
    /// `redis://host:port[/db]` (Redis 5 or later): what the nodes of a deployment
    /// share — request rate limits, the read cache (see `resource_cache`),
    /// revocations and job wake-ups. `rediss://` (TLS) is refused: not supported
    /// yet, run Redis on a private network.
    pub redis_url: Option<String>,
    /// What this deployment's Redis keys and channel start with
    /// (`{prefix}:ratelimit:…`, `{prefix}:res:…`, `{prefix}:signals`), so that
    /// deployments can share one Redis.
    pub redis_key_prefix: String,
    /// The cache of reads by id (`GET /fhir/{type}/{id}`): `auto` (the default)
    /// keeps it in process on SQLite (one node by construction) and, on
    /// PostgreSQL, in Redis when `redis_url` is set, shared by every node, else
    /// has none (other nodes' writes would go unseen); `redis`, `local` (in
    /// process: one node only) or `off` choose. README, Resource cache.
    pub resource_cache: crate::cache::CacheMode,
    /// How long a cached version is kept: what bounds a stale entry when a node
    /// could not reach Redis to invalidate it.
    pub resource_cache_ttl_secs: u64,
    /// The in-process cache's size, in MiB of resource bodies.
    pub resource_cache_local_mb: usize,
    /// Largest accepted request body, in bytes; a larger one gets 413.
    pub body_limit: usize,
    /// `pretty` (for people) or `json` (one JSON object per line, for log
    /// collectors). `RUST_LOG` filters what is logged (default `info`).
    pub log_format: LogFormat,
    /// Whether each HTTP request and each database checkout is counted and timed
    /// for `/metrics`. Off only to measure what that costs: `/metrics` still
    /// answers, without those figures.
    pub metrics_enabled: bool,
    /// Largest search page a client may ask for with `_count` (the default page is 20).
    pub search_max_count: usize,
    /// Claims of a `POST /api/claims/batch` stored per transaction.
    pub claims_batch_chunk: usize,
    /// A JSON file of fee schedules claims are priced with: the default schedule
    /// and each payer's (by payer id), each with its conversion factor (default
    /// $36.04), GPCI, cap at the charge, and fees per code (RVUs or fixed amounts);
    /// see README, "Pricing". Unset: every line is estimated at its charge.
    pub billing_fee_schedules: Option<std::path::PathBuf>,
    /// A JSON file of changes to the shipped scrub rules (`data/scrub-rules.json`):
    /// the rules it names, with what it changes of each (enabled, severity, the
    /// timely-filing days, per-payer overrides); see README, "Scrubbing". Unset: the
    /// shipped rules.
    pub billing_scrub_rules: Option<std::path::PathBuf>,
    /// The practice's time zone, an IANA name such as `America/Chicago`: "today",
    /// the day new claims are dated and their dates of service checked against
    /// (not in the future, within timely filing), is the date there.
    pub billing_time_zone: String,
    /// HTTP worker threads. Unset: the number of CPU cores.
    pub workers: Option<usize>,
    /// Address of the HL7 v2 MLLP listener (`host:port`), or `off`.
    pub mllp_bind: String,
    /// Largest MLLP frame (and `POST /hl7/v2` body) accepted, in bytes; a larger
    /// frame closes the connection.
    pub mllp_max_frame: usize,
    /// Seconds an MLLP connection may stay silent before it is closed.
    pub mllp_idle_timeout_secs: u64,
    /// PEM certificate chain of the MLLP listener: with `mllp_tls_key`, MLLP is
    /// served over TLS (rustls).
    pub mllp_tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of `mllp_tls_cert`; the two are set together.
    pub mllp_tls_key: Option<std::path::PathBuf>,
    /// HL7 assigning authorities (CX.4 namespace id) to FHIR identifier systems,
    /// e.g. `HOSP = "http://hospital.example.org/mrn"`; unmapped authorities become
    /// `urn:oid:…` (ISO universal ids) or `urn:claimbridge:hl7:authority:{namespace}`.
    pub hl7_identifier_systems: std::collections::BTreeMap<String, String>,
    /// Message types (`ORU`) or type^event (`SIU^S12`) accepted and stored without
    /// mapping, instead of being rejected with AR; e.g. `["ORU","SIU^S12"]`.
    pub hl7_store_only: Vec<String>,
    /// Who the server is in the X12 files it writes (ISA06/GS02, loop 1000A): the
    /// id the clearinghouse assigned at enrolment.
    pub x12_sender_id: String,
    /// The submitter's name in loop 1000A of the 837P files this server writes.
    pub x12_submitter_name: String,
    /// The submitter's contact person in loop 1000A.
    pub x12_submitter_contact: String,
    /// The submitter's contact phone in loop 1000A: digits only, area code first.
    pub x12_submitter_phone: String,
    /// Whom the X12 files go to (ISA08/GS03, loop 1000B): the clearinghouse's id.
    pub x12_receiver_id: String,
    /// The receiver's name in loop 1000B.
    pub x12_receiver_name: String,
    /// ISA15: `T` test or `P` production.
    pub x12_usage: String,
    /// TRN03 of eligibility inquiries: `1` followed by our nine-digit federal tax id.
    pub x12_trace_originator: String,
    /// Where claim submission, eligibility checks and prior authorizations go.
    /// Unset: those endpoints answer 503.
    pub billing_gateway: Option<GatewayKind>,
    /// Base64 of the 32-byte AES-256-GCM key integration credentials, webhook
    /// secrets and token signing keys are sealed with (`openssl rand -base64 32`).
    /// Unset on SQLite: a key is generated in `claimbridge.secrets-key` beside the
    /// database (mode 0600, key id `local`, a warning at start-up), for development
    /// only. Unset on PostgreSQL: `serve` refuses to start while authorization is
    /// required.
    pub secrets_key: Option<SecretText>,
    /// The id stored with each value sealed under `secrets_key`.
    pub secrets_key_id: String,
    /// Keys rotated out, `id=base64,id=base64`: values sealed under them still open
    /// (`local=<the key file's content>` to move off the generated key); see
    /// `claimbridge rotate-key`.
    pub secrets_previous_keys: Option<SecretText>,
    /// The longest one call to an integration may take before it counts as
    /// unanswered (plugins have their own, usually shorter, timeouts). A claim
    /// upload whose end was never recorded (its node stopped) is waited out this
    /// long after it was marked before its vendor is asked whether it has the
    /// claim, so a takeover can delay a submission by up to this much.
    pub integration_call_timeout_ms: u64,
    /// Calls to one integration for one operation (the first included) before the
    /// next integration is tried, on transient failures.
    pub integration_retry_attempts: u32,
    /// The exponential backoff's first bound: each wait between two calls is drawn
    /// at random below the bound (full jitter), which doubles per call.
    pub integration_retry_base_ms: u64,
    /// The cap of the backoff's bound between two calls to an integration.
    pub integration_retry_cap_ms: u64,
    /// An integration's circuit opens after this many failures within
    /// `integration_breaker_window_ms`.
    pub integration_breaker_failures: u32,
    /// The window the circuit breaker counts an integration's failures in.
    pub integration_breaker_window_ms: u64,
    /// How long an open circuit refuses calls before it lets one probe through.
    pub integration_breaker_open_ms: u64,
    /// Whether this node runs due jobs and enqueues recurring ones (every node may
    /// enqueue; a node with this off leaves the running to the others).
    pub jobs_enabled: bool,
    /// Whether this node enqueues the recurring jobs (the clearinghouses' feed reads)
    /// when their periods begin. Off, they run only when enqueued by hand
    /// (`POST /api/billing/jobs/{kind}/run`) or by another node: for maintenance,
    /// or a test whose clearinghouses must see only the calls it makes.
    pub jobs_recurring_enabled: bool,
    /// How long an idle node waits before it looks for due jobs again.
    pub jobs_poll_interval_ms: u64,
    /// Jobs a node runs at once.
    pub jobs_concurrency: usize,
    /// How long a claim holds a job before another node may take it over; renewed
    /// while the job runs, so it bounds how long a stopped node's jobs wait.
    pub jobs_lease_secs: u64,
    /// The longest wait before a failed job's second attempt; doubled per attempt
    /// up to `jobs_retry_cap_secs`, and each wait drawn at random below it.
    pub jobs_retry_base_ms: u64,
    /// The cap of the wait between a failed job's attempts.
    pub jobs_retry_cap_secs: u64,
    /// Whether `/fhir`, `/api`, `/hl7` and `/admin` need a bearer token.
    pub auth: AuthMode,
    /// How long an access token from the embedded authorization server lives.
    pub auth_token_lifetime_secs: u64,
    /// Days before the token signing key is replaced by a new one (checked at
    /// start-up).
    pub auth_key_rotation_days: u64,
    /// Where the bootstrap admin client's credentials are written on first start.
    /// Unset: `bootstrap-admin.json` beside the embedded database, else in the
    /// working directory.
    pub auth_bootstrap_file: Option<std::path::PathBuf>,
    /// Requests a client may make per second on average (0: no limit); over it,
    /// 429 with `Retry-After`. Counted in Redis for all nodes together when
    /// `redis_url` is set, per node otherwise.
    pub auth_rate_limit_per_second: u32,
    /// Requests a client may make at once, in a burst, before the average rate
    /// of `auth_rate_limit_per_second` applies.
    pub auth_rate_limit_burst: u32,
    /// Other authorization servers whose access tokens are accepted: issuer URLs,
    /// or tables `{issuer, tenant?, scope_claim?, client_id_claim?}` (tenant default
    /// `default`, scope claim `scope` then `scp`, client id claim `client_id` then
    /// `azp`); in the environment also one comma-separated string of URLs.
    #[serde(deserialize_with = "crate::auth::external_issuers::deserialize_trusted_issuers")]
    pub auth_trusted_issuers: Vec<crate::auth::external_issuers::TrustedIssuer>,
    /// The least time between two reads of one trusted issuer's JWKS (a token with
    /// an unknown kid asks for one), so bad tokens cannot make us hammer it.
    pub auth_jwks_min_refresh_secs: u64,
}

/// A configured secret: `Debug` never prints it, so neither does a logged `Settings`;
/// its schema is marked `writeOnly`, so the configuration reference shows no value.
#[derive(Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(transparent)]
#[schemars(extend("writeOnly" = true))]
pub struct SecretText(String);

impl SecretText {
    pub fn new(value: impl Into<String>) -> Self {
        SecretText(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: "sqlite://./data/claimbridge.db".into(),
            database_pool_size: 16,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            redis_url: None,
            redis_key_prefix: "claimbridge".into(),
            resource_cache: crate::cache::CacheMode::Auto,
            resource_cache_ttl_secs: 300,
            resource_cache_local_mb: 64,
            body_limit: 10 * 1024 * 1024,
            log_format: LogFormat::Pretty,
            metrics_enabled: true,
            search_max_count: 1000,
            claims_batch_chunk: 1000,
            billing_fee_schedules: None,
            billing_scrub_rules: None,
            billing_time_zone: "UTC".into(),
            workers: None,
            mllp_bind: "127.0.0.1:2575".into(),
            mllp_max_frame: 1024 * 1024,
            mllp_idle_timeout_secs: 300,
            mllp_tls_cert: None,
            mllp_tls_key: None,
            hl7_identifier_systems: Default::default(),
            hl7_store_only: Vec::new(),
            x12_sender_id: "CLAIMBRIDGE".into(),
            x12_submitter_name: "Claimbridge".into(),
            x12_submitter_contact: "Billing office".into(),
            x12_submitter_phone: "0000000000".into(),
            x12_receiver_id: "CLEARINGHOUSE".into(),
            x12_receiver_name: "Clearinghouse".into(),
            x12_usage: "T".into(),
            x12_trace_originator: "1000000000".into(),
            billing_gateway: None,
            secrets_key: None,
            secrets_key_id: "k1".into(),
            secrets_previous_keys: None,
            integration_call_timeout_ms: 30_000,
            integration_retry_attempts: 3,
            integration_retry_base_ms: 200,
            integration_retry_cap_ms: 5_000,
            integration_breaker_failures: 5,
            integration_breaker_window_ms: 60_000,
            integration_breaker_open_ms: 30_000,
            jobs_enabled: true,
            jobs_recurring_enabled: true,
            jobs_poll_interval_ms: 1000,
            jobs_concurrency: 4,
            jobs_lease_secs: 60,
            jobs_retry_base_ms: 2000,
            jobs_retry_cap_secs: 3600,
            auth: AuthMode::Required,
            auth_token_lifetime_secs: 300,
            auth_key_rotation_days: 30,
            auth_bootstrap_file: None,
            auth_rate_limit_per_second: 100,
            auth_rate_limit_burst: 200,
            auth_trusted_issuers: Vec::new(),
            auth_jwks_min_refresh_secs: 5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration: {0}")]
    Source(#[from] Box<figment::Error>),
}

impl Settings {
    /// Who exchanges the X12 files this server writes, and how (ISA/GS).
    pub fn x12_envelope(&self) -> Result<EnvelopeConfig, ConfigError> {
        let usage = match self.x12_usage.as_str() {
            "P" => Usage::Production,
            "T" => Usage::Test,
            other => return Err(ConfigError::Invalid(format!("x12_usage {other:?} is not P or T"))),
        };
        let party = |id: &str| InterchangeParty {
            qualifier: "ZZ".into(),
            id: id.to_owned(),
        };
        Ok(EnvelopeConfig {
            sender: party(&self.x12_sender_id),
            receiver: party(&self.x12_receiver_id),
            application_sender: self.x12_sender_id.clone(),
            application_receiver: self.x12_receiver_id.clone(),
            usage,
            acknowledgment_requested: false,
        })
    }

    /// The X12 envelope and loops 1000A/1000B of the 837P files this server writes.
    pub fn integration_retry(&self) -> RetryPolicy {
        RetryPolicy {
            attempts: self.integration_retry_attempts.max(1),
            base: Duration::from_millis(self.integration_retry_base_ms),
            cap: Duration::from_millis(self.integration_retry_cap_ms),
        }
    }

    pub fn integration_breaker(&self) -> BreakerPolicy {
        BreakerPolicy {
            failures: self.integration_breaker_failures.max(1),
            window: Duration::from_millis(self.integration_breaker_window_ms),
            open_for: Duration::from_millis(self.integration_breaker_open_ms),
        }
    }

    /// The fee schedules `billing_fee_schedules` names, read and checked now so a
    /// mistake in them stops start-up.
    pub fn fee_schedules(&self) -> Result<crate::billing::pricing::FeeSchedules, ConfigError> {
        read_billing_file(
            "billing_fee_schedules",
            self.billing_fee_schedules.as_deref(),
            crate::billing::pricing::FeeSchedules::from_json,
        )
    }

    /// `billing_time_zone`, the practice's time zone.
    pub fn practice_zone(&self) -> Result<chrono_tz::Tz, ConfigError> {
        self.billing_time_zone.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "billing_time_zone: {:?} is not an IANA time zone (e.g. America/Chicago)",
                self.billing_time_zone
            ))
        })
    }

    /// The scrub rules in force: the shipped ones with `billing_scrub_rules`'s
    /// changes, on the calendar of `billing_time_zone`, read and checked now so a
    /// mistake in them stops start-up.
    pub fn scrub_rules(&self) -> Result<crate::billing::scrub::RuleSet, ConfigError> {
        let zone = self.practice_zone()?;
        let rules = read_billing_file(
            "billing_scrub_rules",
            self.billing_scrub_rules.as_deref(),
            |text| crate::billing::scrub::RuleSet::shipped_with(text).map_err(|e| e.to_string()),
        )?;
        Ok(rules.in_zone(zone))
    }

    pub fn claim_submission(&self) -> Result<ClaimSubmissionConfig, ConfigError> {
        Ok(ClaimSubmissionConfig {
            envelope: self.x12_envelope()?,
            submitter: Submitter {
                name: self.x12_submitter_name.clone(),
                id: self.x12_sender_id.clone(),
                contact_name: self.x12_submitter_contact.clone(),
                phone: self.x12_submitter_phone.clone(),
            },
            receiver: Receiver {
                name: self.x12_receiver_name.clone(),
                id: self.x12_receiver_id.clone(),
            },
        })
    }

    /// The envelope and trace originator of the 270 inquiries this server writes.
    pub fn eligibility_inquiry(&self) -> Result<EligibilityConfig, ConfigError> {
        Ok(EligibilityConfig {
            envelope: self.x12_envelope()?,
            trace_originator: self.x12_trace_originator.clone(),
        })
    }

    /// Loads defaults ← `file` (if given) ← environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        let settings: Settings = figment
            .merge(Env::prefixed("CLAIMBRIDGE_").ignore(&["config"]))
            .extract()
            .map_err(Box::new)?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.database_pool_size == 0 {
            return Err(ConfigError::Invalid(
                "database_pool_size must be at least 1".into(),
            ));
        }
        if let Some(redis) = &self.redis_url {
            if redis.starts_with("rediss://") {
                return Err(ConfigError::Invalid(
                    "redis_url: TLS to Redis (rediss://) is not supported yet; run Redis on a private network (redis://)"
                        .into(),
                ));
            }
            if !redis.starts_with("redis://") {
                return Err(ConfigError::Invalid(format!(
                    "redis_url {redis:?} must start with redis://"
                )));
            }
        }
        if self.resource_cache == crate::cache::CacheMode::Redis && self.redis_url.is_none() {
            return Err(ConfigError::Invalid(
                "resource_cache = redis needs redis_url".into(),
            ));
        }
        if self.resource_cache_ttl_secs == 0 {
            return Err(ConfigError::Invalid(
                "resource_cache_ttl_secs must be at least 1".into(),
            ));
        }
        self.mllp_address()?;
        // TRN03 is ten characters: 1 and a federal tax id, or 9 and another id.
        let originator = &self.x12_trace_originator;
        if originator.len() != 10 || !originator.starts_with(['1', '9']) || !originator.is_ascii() {
            return Err(ConfigError::Invalid(format!(
                "x12_trace_originator {originator:?} must be 1 and a nine-digit tax id (or 9 and nine characters)"
            )));
        }
        if self.mllp_tls_cert.is_some() != self.mllp_tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "mllp_tls_cert and mllp_tls_key must be set together".into(),
            ));
        }
        if self.jobs_poll_interval_ms == 0 || self.jobs_concurrency == 0 || self.jobs_lease_secs == 0 {
            return Err(ConfigError::Invalid(
                "jobs_poll_interval_ms, jobs_concurrency and jobs_lease_secs must be at least 1".into(),
            ));
        }
        if let Some(public) = &self.public_url {
            url::Url::parse(public)
                .map_err(|e| ConfigError::Invalid(format!("public_url {public:?}: {e}")))?;
        }
        if self.auth == AuthMode::Disabled && !self.bind.ip().is_loopback() {
            return Err(ConfigError::Invalid(format!(
                "auth = disabled is for development on this machine only, and bind {} is not a loopback address",
                self.bind
            )));
        }
        if self.auth_token_lifetime_secs == 0 || self.auth_key_rotation_days == 0 {
            return Err(ConfigError::Invalid(
                "auth_token_lifetime_secs and auth_key_rotation_days must be at least 1".into(),
            ));
        }
        if self.auth_jwks_min_refresh_secs == 0 {
            return Err(ConfigError::Invalid(
                "auth_jwks_min_refresh_secs must be at least 1".into(),
            ));
        }
        for trusted in &self.auth_trusted_issuers {
            let url = url::Url::parse(&trusted.issuer).map_err(|e| {
                ConfigError::Invalid(format!("auth_trusted_issuers: {:?}: {e}", trusted.issuer))
            })?;
            if !matches!(url.scheme(), "https" | "http") || trusted.tenant.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "auth_trusted_issuers: {:?} must be an http(s) URL with a tenant",
                    trusted.issuer
                )));
            }
        }
        Ok(())
    }

    /// Where the MLLP listener binds; `None` when it is `off`.
    pub fn mllp_address(&self) -> Result<Option<SocketAddr>, ConfigError> {
        match self.mllp_bind.trim() {
            "off" | "" => Ok(None),
            address => address.parse().map(Some).map_err(|_| {
                ConfigError::Invalid(format!("mllp_bind {address:?} is neither host:port nor off"))
            }),
        }
    }

    /// The base URL clients see, without a trailing slash.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if bound.ip().is_unspecified() => format!("http://localhost:{}", bound.port()),
            None => format!("http://{bound}"),
        }
    }
}

/// Reads the file a billing setting names with `parse`; unset, the built-in value.
fn read_billing_file<T: Default>(
    key: &str,
    path: Option<&std::path::Path>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    let Some(path) = path else {
        return Ok(T::default());
    };
    let invalid = |why: String| ConfigError::Invalid(format!("{key} {}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
    parse(&text).map_err(invalid)
}

#[cfg(test)]
// figment's Jail reports failures as figment::Error, which clippy finds large.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_and_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "claimbridge.toml",
                "bind = \"127.0.0.1:9000\"\nbody_limit = 1024\n",
            )?;
            jail.set_env("CLAIMBRIDGE_BODY_LIMIT", "2048");
            jail.set_env("CLAIMBRIDGE_LOG_FORMAT", "json");
            let settings = Settings::load(Some(Path::new("claimbridge.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(settings.bind.port(), 9000);
            assert_eq!(settings.body_limit, 2048);
            assert_eq!(settings.log_format, LogFormat::Json);
            assert_eq!(settings.database_url, "sqlite://./data/claimbridge.db");
            assert_eq!(settings.public_url(settings.bind), "http://127.0.0.1:9000");
            Ok(())
        });
    }

    #[test]
    fn rejects_bad_values() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CLAIMBRIDGE_REDIS_URL", "localhost:6379");
            assert!(Settings::load(None).is_err());
            jail.set_env("CLAIMBRIDGE_REDIS_URL", "rediss://redis.example:6380");
            assert!(Settings::load(None).is_err(), "no TLS to Redis yet");
            Ok(())
        });
    }

    #[test]
    fn the_resource_cache_in_redis_needs_redis() {
        figment::Jail::expect_with(|jail| {
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(settings.resource_cache, crate::cache::CacheMode::Auto);
            jail.set_env("CLAIMBRIDGE_RESOURCE_CACHE", "redis");
            assert!(Settings::load(None).is_err(), "no redis_url");
            jail.set_env("CLAIMBRIDGE_REDIS_URL", "redis://127.0.0.1:6379");
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(settings.resource_cache, crate::cache::CacheMode::Redis);
            jail.set_env("CLAIMBRIDGE_RESOURCE_CACHE_TTL_SECS", "0");
            assert!(Settings::load(None).is_err(), "entries live a while");
            Ok(())
        });
    }

    #[test]
    fn the_practice_time_zone_is_an_iana_name() {
        figment::Jail::expect_with(|jail| {
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(settings.billing_time_zone, "UTC");
            assert!(settings.scrub_rules().is_ok());
            jail.set_env("CLAIMBRIDGE_BILLING_TIME_ZONE", "Pacific/Honolulu");
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(settings.scrub_rules().is_ok());
            jail.set_env("CLAIMBRIDGE_BILLING_TIME_ZONE", "Central Time");
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            let error = settings.scrub_rules().unwrap_err().to_string();
            assert!(error.contains("billing_time_zone"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn job_settings_are_bounded() {
        figment::Jail::expect_with(|jail| {
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(
                settings.jobs_enabled,
                "every node runs jobs unless told otherwise"
            );
            jail.set_env("CLAIMBRIDGE_JOBS_CONCURRENCY", "0");
            assert!(
                Settings::load(None).is_err(),
                "a node runs at least one job at once"
            );
            jail.set_env("CLAIMBRIDGE_JOBS_CONCURRENCY", "8");
            jail.set_env("CLAIMBRIDGE_JOBS_LEASE_SECS", "0");
            assert!(Settings::load(None).is_err(), "a lease lasts");
            Ok(())
        });
    }

    #[test]
    fn the_billing_gateway_is_chosen_by_name() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(
                Settings::load(None).map_err(|e| e.to_string())?.billing_gateway,
                None
            );
            jail.set_env("CLAIMBRIDGE_BILLING_GATEWAY", "sandbox");
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(settings.billing_gateway, Some(GatewayKind::Sandbox));
            jail.set_env("CLAIMBRIDGE_BILLING_GATEWAY", "acme");
            assert!(Settings::load(None).is_err(), "an unknown gateway is refused");
            jail.set_env("CLAIMBRIDGE_BILLING_GATEWAY", "sandbox");
            jail.set_env("CLAIMBRIDGE_X12_TRACE_ORIGINATOR", "12345");
            assert!(Settings::load(None).is_err(), "TRN03 is ten characters");
            Ok(())
        });
    }

    #[test]
    fn secrets_keys_come_from_the_environment_and_never_print() {
        figment::Jail::expect_with(|jail| {
            let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
            jail.set_env("CLAIMBRIDGE_SECRETS_KEY", key);
            jail.set_env("CLAIMBRIDGE_SECRETS_PREVIOUS_KEYS", format!("k0={key}"));
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(settings.secrets_key_id, "k1");
            assert_eq!(settings.secrets_key.as_ref().map(SecretText::expose), Some(key));
            assert!(!format!("{settings:?}").contains("AQEB"), "keys never print");
            Ok(())
        });
    }

    #[test]
    fn trusted_issuers_come_from_file_or_environment() {
        use crate::auth::external_issuers::TrustedIssuer;
        figment::Jail::expect_with(|jail| {
            assert!(Settings::load(None)
                .map_err(|e| e.to_string())?
                .auth_trusted_issuers
                .is_empty());
            jail.create_file(
                "claimbridge.toml",
                "auth_trusted_issuers = [\"https://idp.example/realms/a\", \
                 { issuer = \"https://login.example\", tenant = \"north\", scope_claim = \"scp\" }]\n",
            )?;
            let settings = Settings::load(Some(Path::new("claimbridge.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(
                settings.auth_trusted_issuers,
                [
                    TrustedIssuer::new("https://idp.example/realms/a"),
                    TrustedIssuer {
                        tenant: "north".into(),
                        scope_claim: Some("scp".into()),
                        ..TrustedIssuer::new("https://login.example")
                    }
                ]
            );
            jail.set_env(
                "CLAIMBRIDGE_AUTH_TRUSTED_ISSUERS",
                "https://a.example, https://b.example/tenant",
            );
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                settings.auth_trusted_issuers,
                [
                    TrustedIssuer::new("https://a.example"),
                    TrustedIssuer::new("https://b.example/tenant")
                ]
            );
            jail.set_env(
                "CLAIMBRIDGE_AUTH_TRUSTED_ISSUERS",
                r#"[{issuer="https://c.example", tenant="south", client_id_claim="appid"}]"#,
            );
            let settings = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(settings.auth_trusted_issuers[0].tenant, "south");
            assert_eq!(
                settings.auth_trusted_issuers[0].client_id_claim.as_deref(),
                Some("appid")
            );
            jail.set_env("CLAIMBRIDGE_AUTH_TRUSTED_ISSUERS", "not a url");
            assert!(Settings::load(None).is_err(), "an issuer is a URL");
            Ok(())
        });
    }

    #[test]
    fn hl7_settings_come_from_file_and_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "claimbridge.toml",
                "[hl7_identifier_systems]\nHOSP = \"http://hospital.example.org/mrn\"\n",
            )?;
            jail.set_env("CLAIMBRIDGE_HL7_STORE_ONLY", r#"["ORU","SIU^S12"]"#);
            jail.set_env("CLAIMBRIDGE_MLLP_BIND", "off");
            let settings = Settings::load(Some(Path::new("claimbridge.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(settings.hl7_store_only, ["ORU", "SIU^S12"]);
            assert_eq!(
                settings.hl7_identifier_systems["HOSP"],
                "http://hospital.example.org/mrn"
            );
            assert_eq!(settings.mllp_address().map_err(|e| e.to_string())?, None);
            jail.set_env("CLAIMBRIDGE_MLLP_BIND", "2575");
            assert!(Settings::load(None).is_err(), "a port alone is not an address");
            Ok(())
        });
    }
}
