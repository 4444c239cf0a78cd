//! What `GET /metrics` serves: the process-wide registry, plus the figures of this
//! server's state read at scrape time into a registry of its own (so that several
//! servers in one process, as in the tests, each report their own).

use std::sync::Arc;

use prometheus::{Encoder, Registry, TextEncoder};

use super::backlog::Backlog;
use super::db::PoolGauges;
use super::integrations::BreakerGauge;
use crate::integrations::orchestrator::Orchestrator;
use crate::store::{Database, Store};

pub struct Scrape {
    registry: Registry,
    database: Arc<Database>,
    orchestrator: Arc<Orchestrator>,
    pools: PoolGauges,
    breakers: BreakerGauge,
    backlog: Backlog,
}

/// Where the scrape-time figures come from.
pub struct ScrapeSources {
    pub database: Arc<Database>,
    pub orchestrator: Arc<Orchestrator>,
    /// A pool of its own for the backlog queries.
    pub store: Store,
    /// The job kinds this server runs or enqueues.
    pub job_kinds: Vec<String>,
}

impl Scrape {
    pub fn new(sources: ScrapeSources) -> Self {
        let registry = Registry::new();
        Scrape {
            pools: PoolGauges::register(&registry),
            breakers: BreakerGauge::register(&registry),
            backlog: Backlog::register(&registry, sources.store, sources.job_kinds),
            registry,
            database: sources.database,
            orchestrator: sources.orchestrator,
        }
    }

    /// Every metric in the Prometheus text format, the scrape-time ones read now.
    pub async fn render(&self) -> String {
        self.pools.refresh(&self.database);
        self.breakers.refresh(&self.orchestrator);
        self.backlog.refresh().await;
        let mut families = prometheus::gather();
        families.extend(self.registry.gather());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut buffer)
            .expect("the text encoder writes to memory");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}
