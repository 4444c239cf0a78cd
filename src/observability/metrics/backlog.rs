//! Work waiting, read from the database when `/metrics` is scraped: queued jobs
//! and the age of the longest-waiting due one, by kind, and claims by billing
//! state. The read is two grouped queries over indexes (see
//! `Session::queued_jobs` and `Session::claims_by_state`), time-boxed: a scrape
//! that does not get them within `READ_BOUND` serves the last values read, and
//! no second read starts while one is still running, so a slow database is not
//! piled on by its own monitoring.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use prometheus::{GaugeVec, IntGaugeVec, Opts, Registry};

use crate::billing::lifecycle::BillingState;
use crate::store::{Store, StoreError};

/// The longest a scrape waits for the figures.
const READ_BOUND: Duration = Duration::from_secs(1);

pub(super) struct Backlog {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// The job kinds this server knows, shown (as 0) even without jobs.
    kinds: Vec<String>,
    queued: IntGaugeVec,
    oldest_due: GaugeVec,
    claims: IntGaugeVec,
    reading: AtomicBool,
}

impl Backlog {
    pub(super) fn register(registry: &Registry, store: Store, kinds: Vec<String>) -> Self {
        let queued = IntGaugeVec::new(
            Opts::new(
                "claimbridge_jobs_queued",
                "Jobs waiting to run, by kind (due now or later, such as a retry in its backoff)",
            ),
            &["kind"],
        )
        .expect("valid metric");
        let oldest_due = GaugeVec::new(
            Opts::new(
                "claimbridge_jobs_oldest_due_age_seconds",
                "How long the longest-waiting due job of a kind has been due (0: none due)",
            ),
            &["kind"],
        )
        .expect("valid metric");
        let claims = IntGaugeVec::new(
            Opts::new("claimbridge_claims", "Claims by billing state"),
            &["state"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(queued.clone()))
            .expect("metric registered once");
        registry
            .register(Box::new(oldest_due.clone()))
            .expect("metric registered once");
        registry
            .register(Box::new(claims.clone()))
            .expect("metric registered once");
        Backlog {
            inner: Arc::new(Inner {
                store,
                kinds,
                queued,
                oldest_due,
                claims,
                reading: AtomicBool::new(false),
            }),
        }
    }

    /// Reads the figures, waiting for them up to `READ_BOUND`. A read that takes
    /// longer finishes in the background and its figures serve the next scrape.
    pub(super) async fn refresh(&self) {
        if self.inner.reading.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::clone(&self.inner);
        let reading = tokio::spawn(async move {
            if let Err(error) = inner.read().await {
                tracing::warn!(%error, "metrics: queued jobs and claims not read; serving the last values");
            }
            inner.reading.store(false, Ordering::Release);
        });
        if tokio::time::timeout(READ_BOUND, reading).await.is_err() {
            tracing::warn!(
                bound_ms = READ_BOUND.as_millis() as u64,
                "metrics: queued jobs and claims not read in time; serving the last values"
            );
        }
    }
}

impl Inner {
    async fn read(&self) -> Result<(), StoreError> {
        let mut session = self.store.session().await?;
        let now = Utc::now();
        let jobs = session.queued_jobs(now).await?;
        let claims = session.claims_by_state().await?;
        drop(session);
        for kind in &self.kinds {
            self.queued.with_label_values(&[kind]).set(0);
            self.oldest_due.with_label_values(&[kind]).set(0.0);
        }
        for kind in jobs {
            self.queued.with_label_values(&[&kind.kind]).set(kind.queued);
            let age = kind
                .oldest_due
                .map_or(0.0, |due| (now - due).num_milliseconds().max(0) as f64 / 1000.0);
            self.oldest_due.with_label_values(&[&kind.kind]).set(age);
        }
        for state in BillingState::ALL {
            self.claims.with_label_values(&[state.as_str()]).set(0);
        }
        for (state, count) in claims {
            // A state this build does not know is left out rather than minted.
            if let Some(state) = BillingState::parse(&state) {
                self.claims.with_label_values(&[state.as_str()]).set(count);
            }
        }
        Ok(())
    }
}
