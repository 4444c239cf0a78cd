//! Wiring: storage, the FHIR context and the HTTP server, bound and ready to run.
//! Tests build the same `Application` on port 0 and talk HTTP to it.

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::config::Settings;
use crate::fhir::capability::capability_statement;
use crate::fhir::routes::{self, FhirContext};
use crate::fhir::service::ResourceService;
use crate::observability::log_request;
use crate::store::Store;

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
        let store = Store::open(&settings.database_url, settings.database_pool_size).await?;
        let listener = TcpListener::bind(settings.bind).map_err(|source| StartupError::Bind {
            address: settings.bind,
            source,
        })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            address: settings.bind,
            source,
        })?;
        let base_url = format!("{}/fhir", settings.public_url(address));
        let context = web::Data::new(FhirContext {
            service: ResourceService::new(store),
            base_url: base_url.clone(),
            body_limit: settings.body_limit,
            capability: capability_statement(&base_url, chrono::Utc::now()),
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(log_request))
                .app_data(context.clone())
                .configure(routes::configure)
        });
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        let server = server
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
