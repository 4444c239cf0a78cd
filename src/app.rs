//! Wiring: storage, the FHIR context and the HTTP server, bound and ready to run.
//! Tests build the same `Application` on port 0 and talk HTTP to it.

use std::net::{SocketAddr, TcpListener};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::audit::{AuditWriter, Observer};
use crate::billing::claim_guard::SubmissionFence;
use crate::billing::dispatch::{SubmissionRunner, SUBMISSION_JOB};
use crate::billing::feeds::FeedReader;
use crate::billing::gateway::GatewayKind;
use crate::billing::prior_auth_sync::PriorAuthSync;
use crate::billing::routes::BillingContext;
use crate::config::Settings;
use crate::fhir::capability::capability_statement;
use crate::fhir::change_guard::ChangeGuards;
use crate::fhir::routes::{self, FhirContext};
use crate::fhir::service::ResourceService;
use crate::hl7::ingest::{Ingest, IngestSettings};
use crate::hl7::listener::{ListenerLimits, MllpListener};
use crate::hl7::routes::Hl7Context;
use crate::integrations::breaker::Breakers;
use crate::integrations::host::PluginHost;
use crate::integrations::orchestrator::{Orchestrator, OrchestratorParts, RegistryChanges};
use crate::integrations::plugins::vendor_plugin;
use crate::integrations::registry::Registry;
use crate::integrations::routes::IntegrationsContext;
use crate::jobs::routes::JobsContext;
use crate::jobs::{JobQueue, JobRegistry, JobRunner, QueueSettings, RunnerSettings};
use crate::observability::log_request;
use crate::observability::metrics::http::HttpMetrics;
use crate::observability::metrics::scrape::{Scrape, ScrapeSources};
use crate::outbound_webhooks::delivery::{Deliverer, DELIVERY_JOB};
use crate::outbound_webhooks::routes::WebhookSubscriptionsContext;
use crate::outbound_webhooks::subscriptions::Subscriptions;
use crate::store::{Database, DatabaseKind, Store};
use crate::webhooks::routes::WebhooksContext;

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
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthSetupError),
    #[error("redis_url: {0}")]
    Redis(String),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// Connections per worker for the admin API.
const ADMIN_POOL_SIZE: usize = 2;
/// Connections of the authorization server (clients, keys, assertion ids), shared by
/// every worker.
const AUTH_POOL_SIZE: usize = 4;
/// Connections of the audit trail's writer: one task, one batch at a time.
const AUDIT_POOL_SIZE: usize = 1;

pub struct Application {
    server: Server,
    address: SocketAddr,
    base_url: String,
    mllp: Option<MllpListener>,
    /// This node's job runner, unless `jobs_enabled` is off.
    jobs: Option<JobRunner>,
    /// Stores the audit trail; stopped last, once nothing records any more.
    audit: AuditWriter,
    /// Gathers first planner statistics (see `store::statistics`), on PostgreSQL.
    statistics: Option<Store>,
}

impl Application {
    /// Opens (and migrates) the database and binds the listener.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        Application::build_with_jobs(settings, JobRegistry::new()).await
    }

    /// `build`, running the job kinds of `jobs` besides the server's own (tests add
    /// kinds of their own this way).
    pub async fn build_with_jobs(settings: &Settings, jobs: JobRegistry) -> Result<Self, StartupError> {
        // Compiling the R4 schema validators takes a moment; do it off the request path.
        tokio::task::spawn_blocking(crate::fhir::validation::warm_up);
        // With Redis the nodes share the read cache and tell each other of
        // revocations and queued jobs (`crate::cache`, `crate::cluster`).
        let redis_setup = |error: redis::RedisError| StartupError::Redis(error.to_string());
        let signals = settings
            .redis_url
            .as_deref()
            .map(|url| crate::cluster::Signals::start(url, &settings.redis_key_prefix))
            .transpose()
            .map_err(redis_setup)?;
        let mut database = Database::open(&settings.database_url).await?;
        database.time_checkouts(settings.metrics_enabled);
        let cache =
            crate::cache::ResourceCache::from_settings(settings, database.kind()).map_err(redis_setup)?;
        match &cache {
            Some(cache) => tracing::info!(where_ = cache.describe(), "reads by id are cached"),
            None => tracing::info!("reads by id are not cached (resource_cache)"),
        }
        let database = database.with_cache(cache).with_job_wake(match &signals {
            Some(signals) => crate::jobs::JobWake::shared(Arc::clone(signals)),
            None => crate::jobs::JobWake::local(),
        });
        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
            address: settings.bind,
            source,
        })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            address: settings.bind,
            source,
        })?;
        let base_url = format!("{}/fhir", settings.public_url(address));
        let workers = settings
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        // Each worker gets its own share of the connection pool (see `Database`).
        let pool_per_worker = settings.database_pool_size.div_ceil(workers);
        // Fail at start-up rather than in a worker if the pool cannot be configured.
        database.store_named("fhir", pool_per_worker)?;
        let database = Arc::new(database);
        let (fhir_base, body_limit, search_max_count) =
            (base_url.clone(), settings.body_limit, settings.search_max_count);
        // Who writes the AuditEvents: the audit trail's writer, fed by every worker
        // and the MLLP listener, and HL7 ingestion, which commits an MLLP message's
        // event with the message.
        let observer = Observer {
            site: base_url.clone(),
        };
        let (auditor, audit) =
            AuditWriter::start(database.store_named("audit", AUDIT_POOL_SIZE)?, observer.clone());
        // HL7 ingestion has a pool of its own, shared by the MLLP listener and
        // `POST /hl7/v2`, sized like one HTTP worker's.
        let ingest = Arc::new(Ingest::new(
            ResourceService::new(database.store_named("hl7", pool_per_worker)?, base_url.clone()),
            IngestSettings {
                identifier_systems: settings.hl7_identifier_systems.clone(),
                store_only: settings.hl7_store_only.clone(),
                practice_zone: settings.practice_zone()?,
            },
            observer,
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
                let listener =
                    MllpListener::bind(mllp_address, Arc::clone(&ingest), limits, tls, auditor.clone())
                        .await
                        .map_err(|source| StartupError::Bind {
                            address: mllp_address,
                            source,
                        })?;
                Some(listener)
            }
        };
        let statistics = match database.kind() {
            DatabaseKind::Postgres(_) => Some(database.store_named("statistics", 1)?),
            DatabaseKind::Sqlite(_) => None,
        };
        let health = web::Data::new(crate::observability::health::Health {
            store: database.store_named("health", 1)?,
            redis: settings
                .redis_url
                .as_deref()
                .map(redis::Client::open)
                .transpose()
                .map_err(|e| crate::config::ConfigError::Invalid(format!("redis_url: {e}")))?,
            mllp: mllp.as_ref().map(MllpListener::accepting),
        });
        let scrub_rules = Arc::new(settings.scrub_rules()?);
        // Read the denial data now, so a mistake in it stops start-up, not a request.
        crate::billing::denials::shipped()?;
        let submission = settings.claim_submission()?;
        let eligibility = settings.eligibility_inquiry()?;
        let claims_batch_chunk = settings.claims_batch_chunk;
        let fee_schedules = Arc::new(settings.fee_schedules()?);
        let keyring = crate::secrets::Keyring::from_settings(settings)?.map(Arc::new);
        if keyring.is_none() {
            tracing::warn!("no secrets key configured (secrets_key): /admin/integrations answers 503");
        }
        let auth = crate::auth::setup(
            settings,
            Arc::new(database.store_named("auth", AUTH_POOL_SIZE)?),
            keyring.clone(),
            address,
            signals,
        )
        .await?
        .map(web::Data::new);
        let capability = Arc::new(capability_statement(
            &base_url,
            chrono::Utc::now(),
            auth.as_ref()
                .map(|auth| crate::auth::discovery::capability_security(&auth.endpoints)),
        ));
        let auth_mode = web::Data::new(settings.auth);
        let console = web::Data::new(crate::console::ConsoleSettings {
            public_url: settings.public_url(address),
        });
        let registry_changes = Arc::new(RegistryChanges::default());
        let orchestrator = Arc::new(Orchestrator::new(OrchestratorParts {
            store: database.store_named("integrations", ADMIN_POOL_SIZE)?,
            attempt_store: database.store_named("attempts", 1)?,
            host: PluginHost::new(keyring.clone(), Arc::new(vendor_plugin)),
            breakers: Breakers::new(settings.integration_breaker()),
            retry: settings.integration_retry(),
            call_timeout: Duration::from_millis(settings.integration_call_timeout_ms),
            changes: Arc::clone(&registry_changes),
        }));
        let gateway = crate::billing::gateway::configured(
            settings.billing_gateway,
            &submission.envelope,
            &orchestrator,
        );
        let queue_submissions = settings.billing_gateway == Some(GatewayKind::Integrations);
        let mut jobs = jobs;
        let submissions = Arc::new(SubmissionRunner {
            fhir: ResourceService::new(
                database.store_named("submissions", ADMIN_POOL_SIZE)?,
                fhir_base.clone(),
            ),
            orchestrator: Arc::clone(&orchestrator),
            config: submission.clone(),
        });
        jobs.handle(SUBMISSION_JOB, move |job| Arc::clone(&submissions).run(job));
        crate::billing::feeds::register(
            &mut jobs,
            Arc::new(FeedReader {
                fhir: ResourceService::new(
                    database.store_named("feeds", ADMIN_POOL_SIZE)?,
                    fhir_base.clone(),
                ),
                orchestrator: Arc::clone(&orchestrator),
            }),
        );
        if let Some(gateway) = &gateway {
            crate::billing::prior_auth_sync::register(
                &mut jobs,
                Arc::new(PriorAuthSync {
                    fhir: ResourceService::new(
                        database.store_named("prior_auth", ADMIN_POOL_SIZE)?,
                        fhir_base.clone(),
                    ),
                    gateway: Arc::clone(gateway),
                }),
            );
        }
        let deliverer = Arc::new(Deliverer::new(
            database.store_named("webhooks", ADMIN_POOL_SIZE)?,
            keyring.clone(),
        ));
        jobs.handle(DELIVERY_JOB, move |job| Arc::clone(&deliverer).run(job));
        let max_message = settings.mllp_max_frame;
        let job_registry = Arc::new(jobs);
        let queue_settings = QueueSettings::from_settings(settings);
        let job_runner = if settings.jobs_enabled {
            // Claims are sequential; outcomes and lease renewals come one per running job.
            Some(JobRunner::new(
                JobQueue::new(
                    database.store_named("jobs", settings.jobs_concurrency + 1)?,
                    queue_settings,
                ),
                Arc::clone(&job_registry),
                RunnerSettings::from_settings(settings),
            ))
        } else {
            None
        };
        let scrape = web::Data::new(Scrape::new(ScrapeSources {
            database: Arc::clone(&database),
            orchestrator: Arc::clone(&orchestrator),
            store: database.store_named("metrics", 1)?,
            job_kinds: job_registry.kinds(),
        }));
        let metrics_enabled = settings.metrics_enabled;
        let server = HttpServer::new(move || {
            let store = database
                .store_named("fhir", pool_per_worker)
                .expect("the same pool configuration succeeded at start-up");
            let context = web::Data::new(FhirContext {
                service: ResourceService::new(store, fhir_base.clone()),
                base_url: fhir_base.clone(),
                body_limit,
                search_max_count,
                capability: Arc::clone(&capability),
                scrub_rules: Arc::clone(&scrub_rules),
                change_guards: ChangeGuards::new(vec![Arc::new(SubmissionFence {
                    rules: Arc::clone(&scrub_rules),
                })]),
            });
            let billing = web::Data::new(BillingContext {
                rules: Arc::clone(&scrub_rules),
                submission: submission.clone(),
                batch_chunk: claims_batch_chunk,
                fee_schedules: Arc::clone(&fee_schedules),
                eligibility: eligibility.clone(),
                gateway: gateway.clone(),
                queue_submissions,
            });
            // The admin API is seldom used: a small pool of its own per worker.
            let integrations = web::Data::new(IntegrationsContext {
                registry: Registry::new(
                    database
                        .store_named("admin", ADMIN_POOL_SIZE)
                        .expect("the same pool configuration succeeded at start-up"),
                    keyring.clone(),
                )
                .announcing_changes(Arc::clone(&registry_changes)),
                orchestrator: Arc::clone(&orchestrator),
            });
            let jobs = web::Data::new(JobsContext {
                queue: JobQueue::new(
                    database
                        .store_named("admin", ADMIN_POOL_SIZE)
                        .expect("the same pool configuration succeeded at start-up"),
                    queue_settings,
                ),
                registry: Arc::clone(&job_registry),
            });
            let webhooks = web::Data::new(WebhooksContext {
                store: database
                    .store_named("admin", ADMIN_POOL_SIZE)
                    .expect("the same pool configuration succeeded at start-up"),
                orchestrator: Arc::clone(&orchestrator),
            });
            let subscriptions = web::Data::new(WebhookSubscriptionsContext {
                subscriptions: Subscriptions::new(
                    database
                        .store_named("admin", ADMIN_POOL_SIZE)
                        .expect("the same pool configuration succeeded at start-up"),
                    keyring.clone(),
                ),
            });
            let hl7 = web::Data::new(Hl7Context {
                ingest: Arc::clone(&ingest),
            });
            let auth = auth.clone();
            // Each worker counts its requests with handles of its own (see `HttpMetrics`).
            let http_metrics = metrics_enabled.then(|| Rc::new(HttpMetrics::default()));
            App::new()
                .wrap(from_fn(crate::auth::gate::gate))
                // Outside the gate: refusals are audited too, with whom the gate knew.
                .wrap(from_fn(crate::audit::middleware::audit))
                .wrap(from_fn(move |request, next| {
                    log_request(request, next, http_metrics.clone())
                }))
                .app_data(web::Data::new(auditor.clone()))
                .app_data(auth_mode.clone())
                .configure(|cfg| {
                    // Before the FHIR routes, which would take `/fhir/.well-known/…`.
                    if let Some(auth) = auth {
                        cfg.app_data(auth).configure(crate::auth::configure);
                    }
                })
                .app_data(context)
                .app_data(hl7)
                .app_data(billing)
                .app_data(integrations)
                .app_data(webhooks)
                .app_data(subscriptions)
                .app_data(jobs)
                // Bounds `POST /hl7/v2` like an MLLP frame (FHIR routes stream theirs).
                .app_data(web::PayloadConfig::new(max_message))
                .configure(routes::configure)
                .configure(crate::hl7::routes::configure)
                .configure(crate::billing::routes::configure)
                .configure(crate::billing::intake::routes::configure)
                .configure(crate::billing::denials::routes::configure)
                .configure(crate::integrations::routes::configure)
                .configure(crate::webhooks::routes::configure)
                .configure(crate::billing::payments::configure)
                .configure(crate::outbound_webhooks::routes::configure)
                .configure(crate::jobs::routes::configure)
                .app_data(scrape.clone())
                .app_data(console.clone())
                .configure(crate::console::configure)
                .route("/metrics", web::get().to(metrics))
                .app_data(health.clone())
                .configure(crate::observability::health::configure)
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
            jobs: job_runner,
            audit,
            statistics,
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

    /// Stops the server as a signal would: `run` then stops the MLLP listener and the
    /// job runner, and returns once they are done.
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the process is asked to stop (SIGINT/SIGTERM), finishing
    /// in-flight requests and HL7 messages first.
    pub async fn run(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let jobs = self.jobs.map(|runner| tokio::spawn(runner.run(stopped.clone())));
        let statistics = self
            .statistics
            .map(|store| tokio::spawn(crate::store::statistics::run(store, stopped.clone())));
        let mllp = self.mllp.map(|listener| tokio::spawn(listener.run(stopped)));
        let result = self.server.await;
        let _ = stop.send(true);
        if let Some(mllp) = mllp {
            let _ = mllp.await;
        }
        if let Some(jobs) = jobs {
            let _ = jobs.await;
        }
        if let Some(statistics) = statistics {
            let _ = statistics.await;
        }
        // Whatever the last requests and messages recorded is written before exit.
        self.audit.finish().await;
        result
    }
}

async fn metrics(scrape: web::Data<Scrape>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(scrape.render().await)
}
