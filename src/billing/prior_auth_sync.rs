//! The `prior_auth_status_sync` job: every 15 minutes (and on a manual trigger) the
//! pended prior authorizations are asked about where they were filed, and the
//! decisions that came are stored (`prior_auth::sync_pended`). A request whose
//! holder cannot be asked now makes the run retry; it stays pended meanwhile.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::billing::gateway::BillingGateway;
use crate::billing::prior_auth::sync_pended;
use crate::fhir::service::ResourceService;
use crate::jobs::{Job, JobError, JobRegistry};

pub const PRIOR_AUTH_SYNC_JOB: &str = "prior_auth_status_sync";

/// Pended requests one run asks about at most; the next run goes on.
const PER_RUN: usize = 200;

pub struct PriorAuthSync {
    pub fhir: ResourceService,
    pub gateway: Arc<dyn BillingGateway>,
}

/// Registers the job and its schedule.
pub fn register(jobs: &mut JobRegistry, sync: Arc<PriorAuthSync>) {
    jobs.handle(PRIOR_AUTH_SYNC_JOB, move |_job: Job| Arc::clone(&sync).run())
        .every(PRIOR_AUTH_SYNC_JOB, Duration::from_secs(15 * 60), json!({}));
}

impl PriorAuthSync {
    async fn run(self: Arc<Self>) -> Result<(), JobError> {
        let summary = sync_pended(&self.fhir, self.gateway.as_ref(), PER_RUN)
            .await
            .map_err(|error| JobError::transient(error.to_string()))?;
        tracing::info!(
            asked = summary.asked,
            decided = summary.decided,
            failed = summary.failures.len(),
            "prior authorization status sync"
        );
        match summary.failures.is_empty() {
            true => Ok(()),
            false => Err(JobError::transient(summary.failures.join("; "))),
        }
    }
}
