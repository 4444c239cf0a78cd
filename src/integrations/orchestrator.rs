//! `execute_with_failover`: runs one operation on a tenant's integrations of a
//! category, in priority order, until one answers.
//!
//! - An integration whose circuit is open is skipped (recorded as `circuit_open`).
//! - A transient failure is retried on the same integration with backoff and
//!   jitter; when its retries are spent, or its circuit opens, the next one is
//!   tried (failover).
//! - A final failure (the vendor refused the data) ends the operation: another
//!   vendor would refuse the same data.
//! - An ambiguous failure (sent, no answer) of a claim submission is followed by a
//!   status check with the same vendor before anything else: if the vendor has the
//!   claim, the submission is done; if it has no record, sending again (here or
//!   elsewhere) is safe; if it cannot be asked, the operation stops unresolved and
//!   the claim goes nowhere else. No clearinghouse takes idempotency keys, so this
//!   is what keeps a claim from being submitted twice. An upload a run marked
//!   `sending` and never recorded the end of is waited out first (its deadline is
//!   the call timeout after the mark; node clocks are assumed in step): asked too
//!   soon, the vendor would not have it yet.
//!
//! Every call is recorded in the attempt log with its outcome and latency.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use claimbridge_plugin_sdk::{
    execute_checked, Capability, ClaimStatusRequest, ErrorClass, Idempotency, Operation, OperationOutput,
    PluginError, PluginHandler, SubmissionReceipt, SubmittedClaim,
};
use tokio::time::Instant;
use tracing::Instrument;

use super::attempt_log::AttemptLog;
use super::backoff::RetryPolicy;
use super::breaker::{Admission, BreakerState, Breakers};
use super::host::PluginHost;
use super::Category;
use crate::observability::metrics;
use crate::store::attempts::{AttemptFilter, AttemptRecord};
use crate::store::integrations::IntegrationRecord;
use crate::store::{Store, StoreError};

/// How long a tenant's routing (its integrations in order) is reused before it is
/// read again, for changes made on other nodes; this node's own changes apply at
/// once (see [`RegistryChanges`]).
const ROUTE_TTL: Duration = Duration::from_secs(2);

/// Counts changes to the registry made through this node, so cached routes are
/// dropped at once.
#[derive(Debug, Default)]
pub struct RegistryChanges(AtomicU64);

impl RegistryChanges {
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }

    fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// One operation to run.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub tenant: &'a str,
    pub category: Category,
    pub operation: &'a Operation,
    /// What it is about, for the attempt log (`Claim/123`).
    pub subject: Option<&'a str>,
    /// For a claim submission: how to ask a vendor whether it holds the claim.
    pub status_probe: Option<&'a ClaimStatusRequest>,
}

/// An operation done.
#[derive(Debug, Clone)]
pub struct Executed {
    pub integration_id: String,
    pub vendor: String,
    pub output: OperationOutput,
    /// Done by an earlier, unanswered upload, as a status check found.
    pub found_by_status_check: bool,
    /// Not the first integration in priority order.
    pub failed_over: bool,
    /// For a claim upload, the submission the vendor holds: this one's, or the
    /// earlier one a status check found.
    pub submission_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrchestrationError {
    #[error("no enabled {category} integration offers {capability}")]
    NoIntegration {
        category: &'static str,
        capability: Capability,
    },
    #[error("{vendor} refused it: {error}")]
    Refused {
        integration_id: String,
        vendor: String,
        error: PluginError,
    },
    #[error("{vendor} may have received it and cannot be asked now, so it was sent nowhere else: {error}")]
    Unresolved {
        integration_id: String,
        vendor: String,
        error: PluginError,
    },
    #[error("no integration could do it: {error}")]
    Unavailable { error: PluginError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The attempt log's operation for a connection test.
pub const TEST_CONNECTION: &str = "test_connection";

/// What a connection test found.
#[derive(Debug)]
pub struct ConnectionTest {
    /// What the vendor said, when the test passed.
    pub detail: Option<String>,
    /// Why it failed.
    pub error: Option<PluginError>,
    pub latency: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A claim upload is about to be sent (its outcome follows).
    Sending,
    Succeeded,
    Transient,
    Ambiguous,
    Final,
    CircuitOpen,
    /// A status check found the claim at the vendor.
    Found,
    /// A status check found no record of the claim.
    NotFound,
    /// The integration's configuration cannot work (a credential missing).
    Misconfigured,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sending => "sending",
            Outcome::Succeeded => "succeeded",
            Outcome::Transient => "transient",
            Outcome::Ambiguous => "ambiguous",
            Outcome::Final => "final",
            Outcome::CircuitOpen => "circuit_open",
            Outcome::Found => "found",
            Outcome::NotFound => "not_found",
            Outcome::Misconfigured => "misconfigured",
        }
    }

    fn of(error: &PluginError) -> Outcome {
        match error.class() {
            ErrorClass::Transient => Outcome::Transient,
            ErrorClass::Ambiguous => Outcome::Ambiguous,
            ErrorClass::Final => Outcome::Final,
        }
    }
}

struct Route {
    loaded_at: Instant,
    generation: u64,
    integrations: Arc<Vec<IntegrationRecord>>,
}

pub struct Orchestrator {
    store: Store,
    host: PluginHost,
    breakers: Breakers,
    retry: RetryPolicy,
    /// Bounds each call, whatever the plugin's own timeouts.
    call_timeout: Duration,
    attempts: AttemptLog,
    changes: Arc<RegistryChanges>,
    routes: Mutex<HashMap<(String, Category), Route>>,
}

/// The parts an orchestrator is built from.
pub struct OrchestratorParts {
    pub store: Store,
    /// The attempt log writer's own.
    pub attempt_store: Store,
    pub host: PluginHost,
    pub breakers: Breakers,
    pub retry: RetryPolicy,
    pub call_timeout: Duration,
    pub changes: Arc<RegistryChanges>,
}

/// One integration's view of one submission of a subject: its id, and the
/// submission's name (`None` for attempts recorded before they named it).
type Submission<'a> = (&'a str, Option<&'a str>);

/// How one integration's turn ended.
enum Turn {
    Done(Executed),
    Stop(OrchestrationError),
    /// Try the next integration; why this one was given up on.
    Next(PluginError),
}

impl Orchestrator {
    /// Starts the attempt log writer on the current runtime.
    pub fn new(parts: OrchestratorParts) -> Self {
        Orchestrator {
            attempts: AttemptLog::start(parts.attempt_store),
            store: parts.store,
            host: parts.host,
            breakers: parts.breakers,
            retry: parts.retry,
            call_timeout: parts.call_timeout,
            changes: parts.changes,
            routes: Mutex::default(),
        }
    }

    pub async fn execute_with_failover(&self, request: Request<'_>) -> Result<Executed, OrchestrationError> {
        let capability = request.operation.capability();
        let integrations = self.route(request.tenant, request.category).await?;
        let mut failed_over = false;
        let mut last_error = None;
        // The integration last given up on, counted as a failover once another is tried.
        let mut given_up: Option<&IntegrationRecord> = None;
        for record in integrations.iter() {
            let handler = match self.host.handler(record).await {
                Ok(handler) => handler,
                Err(error) => {
                    self.record(
                        record,
                        capability,
                        &request,
                        Outcome::Misconfigured,
                        Some(&error),
                        Duration::ZERO,
                        failed_over,
                    );
                    last_error = Some(error);
                    failed_over = true;
                    given_up = Some(record);
                    continue;
                }
            };
            if !handler.descriptor().supports(capability) {
                continue;
            }
            if let Some(left) = given_up.take() {
                metrics::integrations::failover(&left.vendor, capability.as_str());
            }
            match self
                .take_turn(record, handler.as_ref(), &request, failed_over)
                .await
            {
                Turn::Done(executed) => return Ok(executed),
                Turn::Stop(error) => return Err(error),
                Turn::Next(error) => {
                    last_error = Some(error);
                    failed_over = true;
                    given_up = Some(record);
                }
            }
        }
        // Every integration that could take the operation failed; with no error,
        // none could.
        match last_error {
            Some(error) => Err(OrchestrationError::Unavailable { error }),
            None => Err(OrchestrationError::NoIntegration {
                category: request.category.as_str(),
                capability,
            }),
        }
    }

    /// Before a subject's operation is sent again (a retried job, or a new one after
    /// an earlier job ended), asks each integration whose last word on one of the
    /// subject's submissions was an unanswered upload whether it holds the claim,
    /// by that submission's name: `Some` when one does (the submission is done),
    /// `None` when none does; unresolved when one cannot be asked, so the claim goes
    /// nowhere until it can.
    ///
    /// An upload that was taken (it succeeded, or a status check found it) stands
    /// for this submission unless the caller recorded its answer (`recorded`, the
    /// submissions the claim's history holds): this submission's own, or an earlier
    /// one whose job ended before the answer was recorded (the database refused the
    /// claim's move, or the node stopped). It is asked about rather than sent
    /// again, and the claim stays unresolved while the vendor has no record of it.
    /// A recorded one belongs to an earlier submission and does not stand for this
    /// one: a corrected claim is sent afresh, however soon after.
    ///
    /// Attempts recorded before they named their submission fall back on time:
    /// taken since `own_since` (when this submission's job was queued) is this
    /// submission's, anything older an earlier one's.
    pub async fn resolve_unanswered(
        &self,
        request: Request<'_>,
        own_since: DateTime<Utc>,
        recorded: &[String],
    ) -> Result<Option<Executed>, OrchestrationError> {
        let (Some(subject), Some(probe)) = (request.subject, request.status_probe) else {
            return Ok(None);
        };
        // A recorded submission is over, whatever the log lost of its last words
        // (a `succeeded` is written in the background): the claim has moved on
        // since, and asking about it could take it for a corrected claim. Left out
        // in the query, its attempts do not push older unrecorded ones out of the
        // rows read.
        let history = self
            .attempts(&AttemptFilter {
                subject: Some(subject.to_owned()),
                limit: 500,
                except_submissions: recorded.to_vec(),
                ..AttemptFilter::default()
            })
            .await?;
        let own = submission_of(request.operation);
        // What is left with a submission id is unrecorded; without one (attempts
        // logged before they carried ids), this submission's when stamped since it
        // began.
        let unrecorded =
            |attempt: &AttemptRecord| attempt.submission_id.is_some() || attempt.attempted_at >= own_since;
        // Taken uploads whose answer was never recorded. Whatever the integration
        // said of them since (a status lookup that lags behind uploads), it is asked
        // again, for the receipt to record.
        let answered: Vec<Submission<'_>> = history
            .iter()
            .filter(|attempt| unrecorded(attempt) && took_upload(attempt))
            .map(submission_key)
            .collect();
        // Newest first: each submission's last conclusive word from each integration.
        let mut concluded: Vec<Submission<'_>> = Vec::new();
        let mut unanswered: Vec<Submission<'_>> = Vec::new();
        let mut in_flight_until = None;
        for attempt in &history {
            let submission = submission_key(attempt);
            if concluded.contains(&submission) || unanswered.contains(&submission) {
                continue;
            }
            let upload = is_upload(attempt);
            match attempt.outcome.as_str() {
                _ if answered.contains(&submission) => unanswered.push(submission),
                // Sent and not answered.
                "ambiguous" if upload => unanswered.push(submission),
                // Being sent by another run, or sent by a node that stopped before
                // the answer was recorded. That run may still be uploading (its node
                // was too busy to renew its lease, or its request is still on the
                // way): asked before the upload ends, the vendor would have no record
                // yet and the claim would go twice.
                "sending" if upload => {
                    unanswered.push(submission);
                    in_flight_until = in_flight_until.max(Some(self.call_over_by(attempt.attempted_at)));
                }
                // A transient upload failure sent nothing (one that may have is
                // ambiguous).
                "transient" if upload => concluded.push(submission),
                // A status check refused for its data tells nothing of the upload.
                "succeeded" | "final" if upload => concluded.push(submission),
                "found" | "not_found" => concluded.push(submission),
                _ => {}
            }
        }
        if unanswered.is_empty() {
            return Ok(None);
        }
        if let Some(Ok(remaining)) = in_flight_until.map(|until| (until - Utc::now()).to_std()) {
            // Then a moment for the vendor to finish reading what it was sent (as
            // after an ambiguous call); capped, should the other node's clock run
            // far ahead of this one's.
            let settle = self.retry.base;
            tokio::time::sleep(remaining.min(self.call_timeout) + settle).await;
        }
        let integrations = self.route(request.tenant, request.category).await?;
        for submission @ (id, submission_id) in unanswered {
            let Some(record) = integrations.iter().find(|record| record.id == id) else {
                // Disabled or deleted since: it cannot be asked, and it may hold the claim.
                return Err(OrchestrationError::Unresolved {
                    integration_id: id.to_owned(),
                    vendor: String::new(),
                    error: PluginError::ambiguous(
                        "the integration that may hold the claim is no longer enabled",
                    ),
                });
            };
            let handler =
                self.host
                    .handler(record)
                    .await
                    .map_err(|error| OrchestrationError::Unresolved {
                        integration_id: record.id.clone(),
                        vendor: record.vendor.clone(),
                        error,
                    })?;
            // By the name it was uploaded under (this submission's own for attempts
            // that named none).
            let asked = ClaimStatusRequest {
                submission_id: submission_id.map(str::to_owned).or_else(|| own.clone()),
                ..probe.clone()
            };
            match self
                .check_status(record, handler.as_ref(), &request, &asked, submission_id, false)
                .await
            {
                Ok(Some(receipt)) => {
                    return Ok(Some(Executed {
                        integration_id: record.id.clone(),
                        vendor: record.vendor.clone(),
                        output: OperationOutput::SubmitClaim(receipt),
                        found_by_status_check: true,
                        failed_over: false,
                        submission_id: asked.submission_id,
                    }))
                }
                // It took the upload, so its status lookup lags behind it: sending
                // again would submit the claim twice. Asked again on the next run.
                Ok(None) if answered.contains(&submission) => {
                    return Err(OrchestrationError::Unresolved {
                        integration_id: record.id.clone(),
                        vendor: record.vendor.clone(),
                        error: PluginError::ambiguous(
                            "the integration took this submission's upload but has no record of it yet",
                        ),
                    })
                }
                Ok(None) => {}
                Err(error) => {
                    return Err(OrchestrationError::Unresolved {
                        integration_id: record.id.clone(),
                        vendor: record.vendor.clone(),
                        error,
                    })
                }
            }
        }
        Ok(None)
    }

    /// Whether an integration may hold the claim of submission `submission_id`,
    /// from the subject's attempts (newest first), as `resolve_unanswered` would
    /// weigh them: an upload that was taken (it succeeded, or a status check found
    /// it), whatever was said of it since (a status lookup lags behind uploads), or
    /// one whose last word was that it was under way or unanswered.
    pub fn may_hold(history: &[AttemptRecord], submission_id: &str) -> bool {
        let of_submission = || {
            history
                .iter()
                .filter(move |attempt| attempt.submission_id.as_deref() == Some(submission_id))
        };
        if of_submission().any(took_upload) {
            return true;
        }
        let mut heard: Vec<&str> = Vec::new();
        for attempt in of_submission() {
            let id = attempt.integration_id.as_str();
            if heard.contains(&id) {
                continue;
            }
            match (is_upload(attempt), attempt.outcome.as_str()) {
                (true, "sending" | "ambiguous") => return true,
                (true, "transient" | "final") | (_, "not_found") => heard.push(id),
                _ => {}
            }
        }
        false
    }

    /// When the upload whose `sending` mark was stamped at `marked` is over,
    /// answered or not: its deadline is the call timeout after the mark.
    fn call_over_by(&self, marked: DateTime<Utc>) -> DateTime<Utc> {
        TimeDelta::from_std(self.call_timeout)
            .ok()
            .and_then(|timeout| marked.checked_add_signed(timeout))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Calls one integration, retrying transient failures, until it answers, refuses,
    /// or is given up on.
    async fn take_turn(
        &self,
        record: &IntegrationRecord,
        handler: &dyn PluginHandler,
        request: &Request<'_>,
        failed_over: bool,
    ) -> Turn {
        let capability = request.operation.capability();
        let mut tries = 0;
        let mut last_error = None;
        loop {
            if self.breakers.admit(&record.id) == Admission::Refused {
                let error = PluginError::transient("circuit open");
                self.record(
                    record,
                    capability,
                    request,
                    Outcome::CircuitOpen,
                    Some(&error),
                    Duration::ZERO,
                    failed_over,
                );
                return give_up(request, tries, last_error.unwrap_or(error));
            }
            tries += 1;
            // The call's deadline counts from before its `sending` mark is stamped,
            // so a run that finds the mark knows when the upload is over whatever
            // its writing took.
            let deadline = Instant::now() + self.call_timeout;
            let mut marked = true;
            if request.subject.is_some() && matches!(request.operation, Operation::SubmitClaim(_)) {
                // On record before the upload starts: a node that stops before the
                // answer is recorded leaves this, which makes the next run ask the
                // vendor before sending the claim anywhere.
                let sending = self.attempt(
                    record,
                    capability,
                    request,
                    Outcome::Sending,
                    None,
                    Duration::ZERO,
                    failed_over,
                );
                marked = self.attempts.record_now(sending).await;
            }
            if !marked {
                // Off the record, an upload this node stopped during would be sent
                // again by the next run: it is not begun. The database failed, not
                // the vendor, so neither its circuit nor the next integration is
                // involved; the submission is tried again later.
                return Turn::Stop(OrchestrationError::Unavailable {
                    error: PluginError::transient("the upload's sending mark could not be stored"),
                });
            }
            let started = Instant::now();
            let result = if started < deadline {
                self.call(record, handler, request.operation, deadline).await
            } else {
                // The mark took the whole timeout to store: a run may already be
                // past waiting for this upload, so it is not begun.
                Err(PluginError::transient(
                    "no time was left to call before the deadline",
                ))
            };
            let latency = started.elapsed();
            let error = match result {
                Ok(output) => {
                    self.breakers.record_success(&record.id);
                    self.record(
                        record,
                        capability,
                        request,
                        Outcome::Succeeded,
                        None,
                        latency,
                        failed_over,
                    );
                    return Turn::Done(Executed {
                        integration_id: record.id.clone(),
                        vendor: record.vendor.clone(),
                        output,
                        found_by_status_check: false,
                        failed_over,
                        submission_id: submission_of(request.operation),
                    });
                }
                Err(error) => error,
            };
            let outcome = Outcome::of(&error);
            match outcome {
                // The vendor answered: it is healthy, the data is not.
                Outcome::Final => self.breakers.record_success(&record.id),
                _ => {
                    self.breakers.record_failure(&record.id, &record.vendor);
                }
            }
            let attempt = self.attempt(
                record,
                capability,
                request,
                outcome,
                Some(&error),
                latency,
                failed_over,
            );
            if outcome == Outcome::Ambiguous && request.subject.is_some() {
                // On record before anything else happens to the subject.
                self.attempts.record_now(attempt).await;
            } else {
                self.attempts.record(attempt);
            }
            match outcome {
                Outcome::Final => {
                    return Turn::Stop(OrchestrationError::Refused {
                        integration_id: record.id.clone(),
                        vendor: record.vendor.clone(),
                        error,
                    })
                }
                Outcome::Ambiguous => {
                    let unresolved = |error| {
                        Turn::Stop(OrchestrationError::Unresolved {
                            integration_id: record.id.clone(),
                            vendor: record.vendor.clone(),
                            error,
                        })
                    };
                    let Some(probe) = request.status_probe else {
                        return unresolved(error);
                    };
                    // A vendor still reading an upload nobody waited for may not
                    // list it yet: give it a moment before asking.
                    tokio::time::sleep(self.retry.base).await;
                    match self
                        .check_status(
                            record,
                            handler,
                            request,
                            probe,
                            probe.submission_id.as_deref(),
                            failed_over,
                        )
                        .await
                    {
                        Ok(Some(receipt)) => {
                            return Turn::Done(Executed {
                                integration_id: record.id.clone(),
                                vendor: record.vendor.clone(),
                                output: OperationOutput::SubmitClaim(receipt),
                                found_by_status_check: true,
                                failed_over,
                                submission_id: probe.submission_id.clone(),
                            })
                        }
                        // Never received: as safe to send again as a transient failure.
                        Ok(None) => {}
                        Err(_) => return unresolved(error),
                    }
                }
                _ => {}
            }
            if tries >= self.retry.attempts || self.breakers.state(&record.id) == BreakerState::Open {
                return give_up(request, tries, error);
            }
            match self.retry.delay(tries, error.retry_after()) {
                Some(wait) => {
                    metrics::integrations::retry(&record.vendor, capability.as_str());
                    tokio::time::sleep(wait).await
                }
                None => return give_up(request, tries, error),
            }
            last_error = Some(error);
        }
    }

    /// Asks the vendor whether it holds the claim of an unanswered submission:
    /// `Some(receipt)` if it does, `None` if it has no record; an error when it
    /// cannot be asked (after retries of transient failures). The attempt is
    /// recorded as about the submission `about`.
    async fn check_status(
        &self,
        record: &IntegrationRecord,
        handler: &dyn PluginHandler,
        request: &Request<'_>,
        probe: &ClaimStatusRequest,
        about: Option<&str>,
        failed_over: bool,
    ) -> Result<Option<SubmissionReceipt>, PluginError> {
        let operation = Operation::ClaimStatus(probe.clone());
        let mut tries = 0;
        loop {
            tries += 1;
            let started = Instant::now();
            let result = self
                .call(record, handler, &operation, started + self.call_timeout)
                .await;
            let latency = started.elapsed();
            let (outcome, error) = match &result {
                Ok(OperationOutput::ClaimStatus(report)) if report.statuses.is_empty() => {
                    (Outcome::NotFound, None)
                }
                Ok(_) => (Outcome::Found, None),
                Err(error) => (Outcome::of(error), Some(error)),
            };
            let mut attempt = self.attempt(
                record,
                Capability::ClaimStatus,
                request,
                outcome,
                error,
                latency,
                failed_over,
            );
            // The submission asked about, which may be an earlier one's, as its own
            // attempts name it (none, recorded before they named it).
            attempt.submission_id = about.map(str::to_owned);
            self.attempts.record_now(attempt).await;
            match result {
                Ok(OperationOutput::ClaimStatus(report)) if report.statuses.is_empty() => return Ok(None),
                Ok(OperationOutput::ClaimStatus(report)) => {
                    return Ok(Some(SubmissionReceipt {
                        vendor_batch_id: probe.submission_id.clone().unwrap_or_default(),
                        claims: report
                            .statuses
                            .into_iter()
                            .map(|status| SubmittedClaim {
                                patient_control_number: status.patient_control_number,
                                vendor_claim_id: status.vendor_claim_id,
                                status: status.status,
                                messages: status.messages,
                            })
                            .collect(),
                        received_at: Utc::now(),
                    }))
                }
                Ok(_) => {
                    return Err(PluginError::rejected(
                        "the status check answered another operation",
                    ))
                }
                Err(error) if error.is_retryable() && tries < self.retry.attempts => {
                    let wait = self.retry.delay(tries, error.retry_after()).ok_or(error)?;
                    metrics::integrations::retry(&record.vendor, Capability::ClaimStatus.as_str());
                    tokio::time::sleep(wait).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One call to the integration's vendor, given up at `deadline`, in a span
    /// naming the vendor and the operation (never what is sent).
    async fn call(
        &self,
        record: &IntegrationRecord,
        handler: &dyn PluginHandler,
        operation: &Operation,
        deadline: Instant,
    ) -> Result<OperationOutput, PluginError> {
        let span = tracing::info_span!(
            "integration_call",
            vendor = %record.vendor,
            operation = operation.capability().as_str()
        );
        let bounded = tokio::time::timeout_at(deadline, execute_checked(handler, operation));
        match bounded.instrument(span).await {
            Ok(result) => result,
            Err(_) => Err(PluginError::no_answer(
                idempotency(operation),
                format!("no answer within {} ms", self.call_timeout.as_millis()),
            )),
        }
    }

    /// The tenant's enabled integrations of `category`, in priority order.
    async fn route(
        &self,
        tenant: &str,
        category: Category,
    ) -> Result<Arc<Vec<IntegrationRecord>>, StoreError> {
        let generation = self.changes.current();
        let key = (tenant.to_owned(), category);
        if let Some(route) = self.lock_routes().get(&key) {
            if route.generation == generation && route.loaded_at.elapsed() < ROUTE_TTL {
                return Ok(Arc::clone(&route.integrations));
            }
        }
        let integrations: Vec<IntegrationRecord> = self
            .store
            .session()
            .await?
            .list_integrations(tenant, Some(category.as_str()))
            .await?
            .into_iter()
            .filter(|record| record.enabled)
            .collect();
        let integrations = Arc::new(integrations);
        self.lock_routes().insert(
            key,
            Route {
                loaded_at: Instant::now(),
                generation,
                integrations: Arc::clone(&integrations),
            },
        );
        Ok(integrations)
    }

    /// The tenant's enabled integrations of `category`, in priority order.
    pub async fn integrations(
        &self,
        tenant: &str,
        category: Category,
    ) -> Result<Arc<Vec<IntegrationRecord>>, StoreError> {
        self.route(tenant, category).await
    }

    /// Runs `operation` on one integration, no failover: for what belongs to one
    /// vendor, such as reading its feeds. An open circuit skips the call (transient);
    /// the call is recorded like any other.
    pub async fn execute_on(
        &self,
        tenant: &str,
        record: &IntegrationRecord,
        operation: &Operation,
    ) -> Result<OperationOutput, PluginError> {
        let request = Request {
            tenant,
            category: Category::parse(&record.category).unwrap_or(Category::Clearinghouse),
            operation,
            subject: None,
            status_probe: None,
        };
        let capability = operation.capability();
        if self.breakers.admit(&record.id) == Admission::Refused {
            let error = PluginError::transient("circuit open");
            self.record(
                record,
                capability,
                &request,
                Outcome::CircuitOpen,
                Some(&error),
                Duration::ZERO,
                false,
            );
            return Err(error);
        }
        let handler = self.host.handler(record).await?;
        let started = Instant::now();
        let result = self
            .call(record, handler.as_ref(), operation, started + self.call_timeout)
            .await;
        let latency = started.elapsed();
        match &result {
            Ok(_) => {
                self.breakers.record_success(&record.id);
                self.record(
                    record,
                    capability,
                    &request,
                    Outcome::Succeeded,
                    None,
                    latency,
                    false,
                );
            }
            Err(error) => {
                if error.class() == ErrorClass::Final {
                    self.breakers.record_success(&record.id);
                } else {
                    self.breakers.record_failure(&record.id, &record.vendor);
                }
                self.record(
                    record,
                    capability,
                    &request,
                    Outcome::of(error),
                    Some(error),
                    latency,
                    false,
                );
            }
        }
        result
    }

    /// The attempts recorded for a subject or an integration, newest first,
    /// including every one this node made before the call.
    pub async fn attempts(&self, filter: &AttemptFilter) -> Result<Vec<AttemptRecord>, StoreError> {
        self.attempts.flush().await;
        self.store.session().await?.list_attempts(filter).await
    }

    /// Tests an integration's stored configuration with a handler of its own, so a
    /// test never disturbs the handler serving operations; the outcome is in the
    /// attempt log (operation `test_connection`, no subject), where the console
    /// finds each integration's last result.
    pub async fn test_connection(&self, tenant: &str, record: &IntegrationRecord) -> ConnectionTest {
        let started = Instant::now();
        let result = match self.host.initialized(record).await {
            Ok(handler) => {
                let result = tokio::time::timeout(self.call_timeout, handler.test_connection())
                    .await
                    .unwrap_or_else(|_| {
                        Err(PluginError::transient(format!(
                            "no answer within {} ms",
                            self.call_timeout.as_millis()
                        )))
                    });
                let _ = handler.cleanup().await;
                result
            }
            Err(error) => Err(error),
        };
        let latency = started.elapsed();
        let (outcome, detail, error) = match result {
            Ok(check) => (Outcome::Succeeded, Some(check.detail), None),
            Err(error) => (Outcome::of(&error), None, Some(error)),
        };
        self.attempts
            .record_now(AttemptRecord {
                id: None,
                tenant: tenant.to_owned(),
                integration_id: record.id.clone(),
                vendor: record.vendor.clone(),
                operation: TEST_CONNECTION.to_owned(),
                subject: None,
                outcome: outcome.as_str().to_owned(),
                error: error.as_ref().map(PluginError::to_string),
                latency_micros: i64::try_from(latency.as_micros()).unwrap_or(i64::MAX),
                failover: false,
                attempted_at: Utc::now(),
                submission_id: None,
            })
            .await;
        ConnectionTest {
            detail,
            error,
            latency,
        }
    }

    /// The last connection test of each of `integration_ids` that has had one.
    pub async fn last_tests(
        &self,
        integration_ids: &[&str],
    ) -> Result<HashMap<String, AttemptRecord>, StoreError> {
        self.attempts.flush().await;
        let mut session = self.store.session().await?;
        let mut last = HashMap::new();
        for id in integration_ids {
            let found = session
                .list_attempts(&AttemptFilter {
                    integration_id: Some((*id).to_owned()),
                    operation: Some(TEST_CONNECTION.to_owned()),
                    limit: 1,
                    ..AttemptFilter::default()
                })
                .await?;
            if let Some(test) = found.into_iter().next() {
                last.insert((*id).to_owned(), test);
            }
        }
        Ok(last)
    }

    pub fn breaker_state(&self, integration_id: &str) -> BreakerState {
        self.breakers.state(integration_id)
    }

    /// The vendor and state of every breaker this node has (see `Breakers::states`).
    pub fn breaker_states(&self) -> Vec<(String, BreakerState)> {
        self.breakers.states()
    }

    pub fn host(&self) -> &PluginHost {
        &self.host
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        record: &IntegrationRecord,
        capability: Capability,
        request: &Request<'_>,
        outcome: Outcome,
        error: Option<&PluginError>,
        latency: Duration,
        failover: bool,
    ) {
        self.attempts
            .record(self.attempt(record, capability, request, outcome, error, latency, failover));
    }

    /// The attempt log's record of one call (or skip), which every caller records:
    /// the call is counted in the metrics here, except the `sending` mark an upload
    /// leaves before it starts (its outcome follows).
    #[allow(clippy::too_many_arguments)]
    fn attempt(
        &self,
        record: &IntegrationRecord,
        capability: Capability,
        request: &Request<'_>,
        outcome: Outcome,
        error: Option<&PluginError>,
        latency: Duration,
        failover: bool,
    ) -> AttemptRecord {
        if outcome != Outcome::Sending {
            metrics::integrations::call(&record.vendor, capability.as_str(), outcome.as_str());
        }
        AttemptRecord {
            id: None,
            tenant: request.tenant.to_owned(),
            integration_id: record.id.clone(),
            vendor: record.vendor.clone(),
            operation: capability.as_str().to_owned(),
            subject: request.subject.map(str::to_owned),
            outcome: outcome.as_str().to_owned(),
            error: error.map(|error| error.to_string()),
            latency_micros: i64::try_from(latency.as_micros()).unwrap_or(i64::MAX),
            failover,
            attempted_at: Utc::now(),
            // The upload's; a status check records the one it asked about.
            submission_id: submission_of(request.operation),
        }
    }

    fn lock_routes(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Category), Route>> {
        self.routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Which integration an attempt was about and which submission: attempts on one
/// subject are weighed per pair.
fn submission_key(attempt: &AttemptRecord) -> Submission<'_> {
    (attempt.integration_id.as_str(), attempt.submission_id.as_deref())
}

fn is_upload(attempt: &AttemptRecord) -> bool {
    attempt.operation == Capability::SubmitClaim.as_str()
}

/// Whether the attempt says its integration took the upload: it succeeded, or a
/// status check found it.
fn took_upload(attempt: &AttemptRecord) -> bool {
    matches!(
        (is_upload(attempt), attempt.outcome.as_str()),
        (true, "succeeded") | (_, "found")
    )
}

/// The submission a claim upload sends (`None` for other operations).
fn submission_of(operation: &Operation) -> Option<String> {
    match operation {
        Operation::SubmitClaim(submission) => Some(submission.submission_id.clone()),
        _ => None,
    }
}

/// How an integration's turn ends when it is given up on after `tries` calls: the
/// next integration is tried — except for a payment or refund that reached this
/// processor. Stripe keeps a failed answer under the idempotency key and calls its
/// outcome indeterminate, so another processor could charge the patient a second
/// time; it is retried later, here, under the same key. Only an open circuit met
/// before any call, which sent nothing, moves one on.
fn give_up(request: &Request<'_>, tries: u32, error: PluginError) -> Turn {
    let moves_money = matches!(
        request.operation,
        Operation::PatientPayment(_) | Operation::Refund(_)
    );
    if moves_money && tries > 0 {
        return Turn::Stop(OrchestrationError::Unavailable { error });
    }
    Turn::Next(error)
}

/// Whether sending the operation twice can do its work twice. Payments and
/// refunds carry an idempotency key the vendor honours; a claim upload and a prior
/// authorization request carry none.
fn idempotency(operation: &Operation) -> Idempotency {
    match operation {
        Operation::SubmitClaim(_) | Operation::PriorAuth(_) => Idempotency::NotIdempotent,
        _ => Idempotency::Idempotent,
    }
}
