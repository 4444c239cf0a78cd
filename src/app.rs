//! Wiring: storage, the FHIR context and the HTTP server, bound and ready to run.
//! Tests build the same `Application` on port 0 and talk HTTP to it.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::billing::routes::BillingContext;
use crate::billing::scrub::RuleSet;
use crate::config::Settings;
use crate::fhir::capability::capability_statement;
use crate::fhir::routes::{self, FhirContext};
use crate::fhir::service::ResourceService;
use crate::hl7::ingest::{Ingest, IngestSettings};
use crate::hl7::listener::{ListenerLimits, MllpListener};
use crate::hl7::routes::Hl7Context;
use crate::integrations::registry::Registry;
use crate::integrations::routes::IntegrationsContext;
use crate::observability::log_request;
use crate::store::Database;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Tls(#[from] crate::hl7::tls::TlsError),
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error(transparent)]
    Denials(#[from] &'static crate::billing::denials::DenialDataError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// Connections per worker for the admin API.
const ADMIN_POOL_SIZE: usize = 2;

pub struct Application {
    server: Server,
    address: SocketAddr,
    base_url: String,
    mllp: Option<MllpListener>,
}

impl Application {
    /// Opens (and migrates) the database and binds the listener.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        // Compiling the R4 schema validators takes a moment; do it off the request path.
        tokio::task::spawn_blocking(crate::fhir::validation::warm_up);
        let database = Database::open(&settings.database_url).await?;
        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
            address: settings.bind,
            source,
        })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            address: settings.bind,
            source,
        })?;
        let base_url = format!("{}/fhir", settings.public_url(address));
        let capability = Arc::new(capability_statement(&base_url, chrono::Utc::now()));
        let workers = settings
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        // Each worker gets its own share of the connection pool (see `Database`).
        let pool_per_worker = settings.database_pool_size.div_ceil(workers);
        // Fail at start-up rather than in a worker if the pool cannot be configured.
        database.store(pool_per_worker)?;
        let database = Arc::new(database);
        let (fhir_base, body_limit, search_max_count) =
            (base_url.clone(), settings.body_limit, settings.search_max_count);
        // HL7 ingestion has a pool of its own, shared by the MLLP listener and
        // `POST /hl7/v2`, sized like one HTTP worker's.
        let ingest = Arc::new(Ingest::new(
            ResourceService::new(database.store(pool_per_worker)?, base_url.clone()),
            IngestSettings {
                identifier_systems: settings.hl7_identifier_systems.clone(),
                store_only: settings.hl7_store_only.clone(),
            },
        ));
        let mllp = match settings.mllp_address()? {
            None => None,
            Some(mllp_address) => {
                let limits = ListenerLimits {
                    max_frame: settings.mllp_max_frame,
                    idle_timeout: std::time::Duration::from_secs(settings.mllp_idle_timeout_secs),
                };
                let tls = match (&settings.mllp_tls_cert, &settings.mllp_tls_key) {
                    (Some(cert), Some(key)) => Some(crate::hl7::tls::acceptor(cert, key)?),
                    _ => None,
                };
                let listener = MllpListener::bind(mllp_address, Arc::clone(&ingest), limits, tls)
                    .await
                    .map_err(|source| StartupError::Bind {
                        address: mllp_address,
                        source,
                    })?;
                Some(listener)
            }
        };
        let scrub_rules = Arc::new(RuleSet::default());
        // Read the denial data now, so a mistake in it stops start-up, not a request.
        crate::billing::denials::shipped()?;
        let submission = settings.claim_submission()?;
        let eligibility = settings.eligibility_inquiry()?;
        let gateway = crate::billing::gateway::configured(settings.billing_gateway, &submission.envelope);
        let claims_batch_chunk = settings.claims_batch_chunk;
        let keyring = crate::secrets::Keyring::from_settings(settings)?.map(Arc::new);
        if keyring.is_none() {
            tracing::warn!("no secrets key configured (secrets_key): /admin/integrations answers 503");
        }
        let max_message = settings.mllp_max_frame;
        let server = HttpServer::new(move || {
            let store = database
                .store(pool_per_worker)
                .expect("the same pool configuration succeeded at start-up");
            let context = web::Data::new(FhirContext {
                service: ResourceService::new(store, fhir_base.clone()),
                base_url: fhir_base.clone(),
                body_limit,
                search_max_count,
                capability: Arc::clone(&capability),
                scrub_rules: Arc::clone(&scrub_rules),
            });
            let billing = web::Data::new(BillingContext {
                rules: Arc::clone(&scrub_rules),
                submission: submission.clone(),
                batch_chunk: claims_batch_chunk,
                eligibility: eligibility.clone(),
                gateway: gateway.clone(),
            });
            // The admin API is seldom used: a small pool of its own per worker.
            let integrations = web::Data::new(IntegrationsContext {
                registry: Registry::new(
                    database
                        .store(ADMIN_POOL_SIZE)
                        .expect("the same pool configuration succeeded at start-up"),
                    keyring.clone(),
                ),
            });
            let hl7 = web::Data::new(Hl7Context {
                ingest: Arc::clone(&ingest),
            });
            App::new()
                .wrap(from_fn(log_request))
                .app_data(context)
                .app_data(hl7)
                .app_data(billing)
                .app_data(integrations)
                // Bounds `POST /hl7/v2` like an MLLP frame (FHIR routes stream theirs).
                .app_data(web::PayloadConfig::new(max_message))
                .configure(routes::configure)
                .configure(crate::hl7::routes::configure)
                .configure(crate::billing::routes::configure)
                .configure(crate::billing::intake::routes::configure)
                .configure(crate::billing::denials::routes::configure)
                .configure(crate::integrations::routes::configure)
                .route("/metrics", web::get().to(metrics))
        })
        .workers(workers)
        .listen(listener)
        .map_err(|source| StartupError::Bind { address, source })?
        .run();
        Ok(Application {
            server,
            address,
            base_url,
            mllp,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `{public url}/fhir`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Where the MLLP listener accepts connections, when it is on.
    pub fn mllp_address(&self) -> Option<SocketAddr> {
        self.mllp.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until the process is asked to stop (SIGINT/SIGTERM), finishing
    /// in-flight requests and HL7 messages first.
    pub async fn run(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mllp = self.mllp.map(|listener| tokio::spawn(listener.run(stopped)));
        let result = self.server.await;
        let _ = stop.send(true);
        if let Some(mllp) = mllp {
            let _ = mllp.await;
        }
        result
    }
}

async fn metrics() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::observability::metrics::render())
}
