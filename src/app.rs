//! Wiring: storage, the FHIR context and the HTTP server, bound and ready to run.
//! Tests build the same `Application` on port 0 and talk HTTP to it.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::config::Settings;
use crate::fhir::capability::capability_statement;
use crate::fhir::routes::{self, FhirContext};
use crate::fhir::service::ResourceService;
use crate::observability::log_request;
use crate::store::Database;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

pub struct Application {
    server: Server,
    address: SocketAddr,
    base_url: String,
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
            });
            App::new()
                .wrap(from_fn(log_request))
                .app_data(context)
                .configure(routes::configure)
        })
        .workers(workers)
        .listen(listener)
        .map_err(|source| StartupError::Bind { address, source })?
        .run();
        Ok(Application {
            server,
            address,
            base_url,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `{public url}/fhir`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Serves until the process is asked to stop (SIGINT/SIGTERM), finishing
    /// in-flight requests first.
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}
