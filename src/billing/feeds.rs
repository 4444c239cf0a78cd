//! The clearinghouses' feeds, read by recurring jobs: claim status responses
//! (`claim_status_sync`, every 30 minutes) move submitted claims to `accepted` or
//! `rejected`; ERAs (`era_fetch`, hourly) are posted as 835 remittances. Each
//! integration's cursor is saved only once what its page returned is committed, so
//! a crash re-reads a page rather than skipping one; re-reading is harmless (a move
//! is checked against the claim's state, an 835 is posted once per payer and trace
//! number).

use std::sync::Arc;
use std::time::Duration;

use claimbridge_plugin_sdk::{
    ClaimStatusKind, ClaimStatusUpdate, Cursor, FeedPage, FeedRequest, Operation, OperationOutput, Remittance,
};
use serde_json::json;

use crate::billing::lifecycle::{check_transition, BillingState};
use crate::billing::remittance::posting::post_835;
use crate::billing::service::{self, Move};
use crate::fhir::service::ResourceService;
use crate::integrations::orchestrator::Orchestrator;
use crate::integrations::registry::DEFAULT_TENANT;
use crate::integrations::Category;
use crate::jobs::{Job, JobError, JobRegistry};
use crate::store::billing::row_id_of;
use crate::store::integrations::IntegrationRecord;
use crate::store::model::Tenant;

pub const STATUS_SYNC_JOB: &str = "claim_status_sync";
pub const ERA_FETCH_JOB: &str = "era_fetch";

const ACTOR: &str = "clearinghouse-feed";

/// Pages one run reads from one integration at most; the next run goes on.
const PAGES_PER_RUN: usize = 50;

pub struct FeedReader {
    pub fhir: ResourceService,
    pub orchestrator: Arc<Orchestrator>,
}

/// Registers both jobs and their schedules.
pub fn register(jobs: &mut JobRegistry, reader: Arc<FeedReader>) {
    let statuses = Arc::clone(&reader);
    jobs.handle(STATUS_SYNC_JOB, move |_job: Job| {
        Arc::clone(&statuses).sync_statuses()
    })
    .every(STATUS_SYNC_JOB, Duration::from_secs(30 * 60), json!({}));
    jobs.handle(ERA_FETCH_JOB, move |_job: Job| {
        Arc::clone(&reader).fetch_remittances()
    })
    .every(ERA_FETCH_JOB, Duration::from_secs(60 * 60), json!({}));
}

impl FeedReader {
    pub async fn sync_statuses(self: Arc<Self>) -> Result<(), JobError> {
        self.each_integration(|reader, record| async move { reader.read(&record, Feed::Statuses).await })
            .await
    }

    pub async fn fetch_remittances(self: Arc<Self>) -> Result<(), JobError> {
        self.each_integration(|reader, record| async move { reader.read(&record, Feed::Remittances).await })
            .await
    }

    /// Reads every clearinghouse's feed; one that fails does not keep the others
    /// from being read, and makes the job retry.
    async fn each_integration<F, Fut>(self: Arc<Self>, read: F) -> Result<(), JobError>
    where
        F: Fn(Arc<Self>, IntegrationRecord) -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let integrations = self
            .orchestrator
            .integrations(DEFAULT_TENANT, Category::Clearinghouse)
            .await
            .map_err(|error| JobError::transient(error.to_string()))?;
        let mut failures = Vec::new();
        for record in integrations.iter() {
            if let Err(error) = read(Arc::clone(&self), record.clone()).await {
                failures.push(format!("{} ({}): {error}", record.name, record.vendor));
            }
        }
        match failures.is_empty() {
            true => Ok(()),
            false => Err(JobError::transient(failures.join("; "))),
        }
    }

    async fn cursor(&self, record: &IntegrationRecord, feed: &str) -> Result<FeedRequest, String> {
        let mut session = self
            .fhir
            .session(&Tenant::default())
            .await
            .map_err(|e| e.to_string())?;
        let cursor = session
            .feed_cursor(&record.id, feed)
            .await
            .map_err(|e| e.to_string())?;
        Ok(FeedRequest {
            after: cursor.map(Cursor),
        })
    }

    async fn supports(&self, record: &IntegrationRecord, operation: &Operation) -> bool {
        match self.orchestrator.host().handler(record).await {
            Ok(handler) => handler.descriptor().supports(operation.capability()),
            Err(_) => false,
        }
    }

    /// Reads the integration's feed from its saved cursor, page after page, applying
    /// each before the next is asked for.
    async fn read(&self, record: &IntegrationRecord, feed: Feed) -> Result<(), String> {
        for _ in 0..PAGES_PER_RUN {
            let operation = feed.operation(self.cursor(record, feed.name()).await?);
            if !self.supports(record, &operation).await {
                return Ok(());
            }
            let more = match self
                .orchestrator
                .execute_on(DEFAULT_TENANT, record, &operation)
                .await
            {
                Ok(OperationOutput::ClaimStatusFeed(page)) => {
                    self.apply_statuses(record, &page)
                        .await
                        .map_err(|e| e.to_string())?;
                    page.more
                }
                Ok(OperationOutput::FetchRemittance(page)) => {
                    self.post_remittances(record, &page).await?;
                    page.more
                }
                Ok(_) => return Err("the feed answered another operation".into()),
                Err(error) => return Err(error.to_string()),
            };
            if !more {
                break;
            }
        }
        Ok(())
    }

    /// Moves each submitted claim the page judged, and saves the cursor, in one
    /// transaction.
    async fn apply_statuses(
        &self,
        record: &IntegrationRecord,
        page: &FeedPage<ClaimStatusUpdate>,
    ) -> Result<(), crate::billing::service::BillingError> {
        let mut tx = self.fhir.begin(&Tenant::default()).await?;
        for update in &page.items {
            let to = match update.status {
                ClaimStatusKind::Accepted => BillingState::Accepted,
                ClaimStatusKind::Rejected => BillingState::Rejected,
                // Pending says nothing new; finalized claims are settled by the 835.
                ClaimStatusKind::Pending | ClaimStatusKind::Finalized => continue,
            };
            let Some(number) = row_id_of(&update.patient_control_number) else {
                continue;
            };
            let Some(row) = tx.claim_state_by_number_for_update(number).await? else {
                continue;
            };
            let from = service::parse_state(&row)?;
            if from == to || check_transition(from, to).is_err() {
                continue;
            }
            let step = Move {
                to,
                actor: ACTOR.to_owned(),
                reason: Some(match update.messages.is_empty() {
                    true => format!("{} reported it {}", record.vendor, to.as_str()),
                    false => format!(
                        "{} reported it {}: {}",
                        record.vendor,
                        to.as_str(),
                        update.messages.join("; ")
                    ),
                }),
                details: Some(json!({
                    "integrationId": record.id,
                    "vendorClaimId": update.vendor_claim_id,
                    "payerClaimNumber": update.payer_claim_number,
                    "categoryCode": update.category_code,
                })),
            };
            service::record(&self.fhir, &mut tx, &row.claim_id, from, &step).await?;
        }
        tx.save_feed_cursor(&record.id, Feed::Statuses.name(), &page.cursor.0)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Posts each 835 of the page (each commits on its own; posting one again finds
    /// it posted), then moves the cursor.
    async fn post_remittances(
        &self,
        record: &IntegrationRecord,
        page: &FeedPage<Remittance>,
    ) -> Result<(), String> {
        for remittance in &page.items {
            post_835(&self.fhir, &remittance.interchange_835)
                .await
                .map_err(|error| format!("ERA {}: {error}", remittance.vendor_remittance_id))?;
        }
        let mut session = self
            .fhir
            .session(&Tenant::default())
            .await
            .map_err(|e| e.to_string())?;
        session
            .save_feed_cursor(&record.id, Feed::Remittances.name(), &page.cursor.0)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The two feeds a clearinghouse keeps for us.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Statuses,
    Remittances,
}

impl Feed {
    /// The cursor's name.
    fn name(self) -> &'static str {
        match self {
            Feed::Statuses => "claim_status",
            Feed::Remittances => "remittance",
        }
    }

    fn operation(self, request: FeedRequest) -> Operation {
        match self {
            Feed::Statuses => Operation::ClaimStatusFeed(request),
            Feed::Remittances => Operation::FetchRemittance(request),
        }
    }
}
