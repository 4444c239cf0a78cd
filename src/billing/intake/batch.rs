//! Batch intake (`POST /api/claims/batch`): the claims of an NDJSON batch taken a
//! chunk at a time, each chunk in one transaction.
//!
//! One claim on its own costs a dozen round trips (each reference read, the
//! patient's earlier claims searched and read, each row written). A chunk reads
//! ahead instead: the resources its claims reference, a handful of queries for the
//! whole chunk and none for what an earlier chunk read; each patient's earlier
//! claims once per batch, kept up to date as the batch adds claims; then it writes
//! its claims together at commit (staged creates and multi-row inserts).
//!
//! A claim refused for its content (a bad field, a reference to nothing, no price)
//! is reported on its line and left out of its chunk. A chunk whose write fails is
//! rolled back whole and each of its claims reports why: nothing is half-stored.
//! On PostgreSQL chunks' writes overlap (on SQLite, one writer at a time, a
//! chunk begins only once the one before it has committed), but chunks commit in
//! order, and a chunk computed while a failed one was in flight is rolled back too
//! (its duplicate check counted the failed chunk's claims).
//!
//! Duplicates: from before it reads its patients' earlier claims until it commits,
//! a chunk holds the per-patient locks single intake takes, shared: a single intake
//! of one of its patients waits for the chunk and then sees its claims, and chunks
//! do not wait for each other. A patient's earlier claims are read when the batch
//! first meets the patient, so that chunk also sees what single intakes stored
//! before it; a claim stored for the patient by another request after that (a
//! single intake between two of the batch's chunks, or another batch) is not seen by
//! the batch's later chunks.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use futures_util::stream::{FuturesOrdered, StreamExt};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::billing::checks::{billed_services, billing_claims_of, claim_lock_key, is_live};
use crate::billing::from_fhir::{self, reference_of, ResourceSource};
use crate::billing::intake::request::IntakeRequest;
use crate::billing::intake::{missing, Intake, IntakeError, INTAKE_ACTOR};
use crate::billing::lifecycle::BillingState;
use crate::billing::pricing::{price, FeeSchedules};
use crate::billing::scrub::{self, BilledService, DuplicateCheck, RuleSet, ScrubContext};
use crate::billing::service::{charge_cents, first_seen, scrub_move, state_change, BillingError, Move};
use crate::fhir::outcome::FhirError;
use crate::fhir::pointer::Pointer;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::integrations::registry::DEFAULT_TENANT;
use crate::outbound_webhooks::events::claim_created;
use crate::store::billing::{NewBillingClaim, StateChange};
use crate::store::model::Tenant;
use crate::store::{LockMode, Session};

/// The most earlier claims of one patient read for the duplicate check.
const EARLIER_CLAIMS: usize = 1_000;

/// Claims computed between two chances for the previous chunk's write to progress.
const YIELD_EVERY: usize = 16;

/// Chunks holding a connection at once: computed or written, until each commits.
/// Three, so that one is computed while two are written (with two, the database
/// wrote one chunk at a time on one backend, and a fifth of the two cores idled);
/// but only where the worker's pool keeps a connection for other requests beside
/// them (see `chunks_in_flight`), and never fewer than two.
const CHUNKS_IN_FLIGHT: usize = 3;

/// How many chunks a batch keeps in flight with a pool of `pool_size`.
fn chunks_in_flight(pool_size: usize) -> usize {
    pool_size.saturating_sub(1).clamp(2, CHUNKS_IN_FLIGHT)
}

/// Why a chunk computed while an earlier one was in flight was not stored.
const EARLIER_CHUNK_NOT_STORED: &str = "an earlier chunk of the batch could not be stored";

/// Patients per search for earlier claims: each is one more OR in the query, and
/// SQLite refuses expressions nested 1,000 deep.
const PATIENTS_PER_SEARCH: usize = 100;

/// One line's outcome.
pub type LineOutcome = (usize, Result<Intake, IntakeError>);

/// A chunk's write: its lines, or what to take back when it was not stored.
type Written = Result<Vec<LineOutcome>, FailedChunk>;

/// What one batch has read so far, shared by its chunks.
pub struct Batch<'a> {
    fhir: &'a ResourceService,
    rules: &'a RuleSet,
    schedules: &'a FeeSchedules,
    resources: HashMap<(ResourceType, String), Option<Arc<Value>>>,
    /// Patient id → (provider reference, date of service, code) → the claim billing it.
    services: HashMap<String, HashMap<ServiceKey, String>>,
    /// Chunks computed so far: the next chunk's number.
    computed: usize,
    /// What chunks not stored added to `services`, by chunk number, until every
    /// chunk in flight has settled (see `forget_not_stored`).
    not_stored: Vec<(usize, Vec<Added>)>,
}

type ServiceKey = (String, NaiveDate, String);

impl<'a> Batch<'a> {
    pub fn new(fhir: &'a ResourceService, rules: &'a RuleSet, schedules: &'a FeeSchedules) -> Self {
        Batch {
            fhir,
            rules,
            schedules,
            resources: HashMap::new(),
            services: HashMap::new(),
            computed: 0,
            not_stored: Vec::new(),
        }
    }

    /// Stores every chunk, reporting each line in order. A chunk is computed while
    /// those before it are written, and starts writing at once, on its own
    /// connection, beside the end of their writes: the server's work and the
    /// database's overlap, and so do chunks' writes (at most `chunks_in_flight`
    /// connections in all). Chunks commit in order, each only
    /// once the one before it has: a chunk is computed against the claims of the
    /// chunks before it (the duplicate check), so when one is not stored, neither
    /// is any chunk computed while it was in flight.
    pub async fn submit(
        &mut self,
        chunks: impl IntoIterator<Item = Vec<(usize, Value)>>,
    ) -> Vec<LineOutcome> {
        let mut outcomes = Vec::new();
        let mut writing = FuturesOrdered::new();
        // The chunk written last tells the next one whether it was stored.
        let mut last_stored: Option<oneshot::Receiver<bool>> = None;
        let mut failed = false;
        let in_flight = chunks_in_flight(self.fhir.max_connections());
        for chunk in chunks {
            let mut finished = Vec::new();
            while writing.len() >= in_flight {
                finished.extend(writing.next().await);
            }
            if self.settle(finished, &mut outcomes) || failed {
                // The chunks still in flight were computed against the failed
                // one's claims and will not be stored either: take theirs back
                // before computing the next chunk.
                self.settle_all(&mut writing, &mut outcomes).await;
                last_stored = None;
            }
            let mut finished = Vec::new();
            let prepared = {
                let prepare = std::pin::pin!(self.prepare(chunk));
                drive_while(prepare, &mut writing, &mut finished).await
            };
            failed = self.settle(finished, &mut outcomes);
            match prepared {
                // Computed against a failed chunk's claims, which were not stored.
                Ok(staged) if failed => {
                    let not_stored = staged.abandon(EARLIER_CHUNK_NOT_STORED);
                    self.settle(vec![Err(not_stored)], &mut outcomes);
                }
                Ok(staged) => {
                    let (stored, next_after) = oneshot::channel();
                    writing.push_back(staged.write(last_stored.replace(next_after), stored));
                }
                Err(lines) => outcomes.extend(lines),
            }
        }
        self.settle_all(&mut writing, &mut outcomes).await;
        outcomes.sort_by_key(|(line, _)| *line);
        outcomes
    }

    /// Reports the lines of chunks whose write finished, and keeps what those not
    /// stored added for `forget_not_stored`. `true` when one was not.
    fn settle(&mut self, finished: Vec<Written>, outcomes: &mut Vec<LineOutcome>) -> bool {
        let mut failed = false;
        for chunk in finished {
            match chunk {
                Ok(lines) => outcomes.extend(lines),
                Err(not_stored) => {
                    self.not_stored.push((not_stored.chunk, not_stored.added));
                    outcomes.extend(not_stored.lines);
                    failed = true;
                }
            }
        }
        failed
    }

    /// Waits for every chunk in flight, settles it, and takes back the services of
    /// those not stored.
    async fn settle_all(
        &mut self,
        writing: &mut FuturesOrdered<impl Future<Output = Written>>,
        outcomes: &mut Vec<LineOutcome>,
    ) {
        let mut finished = Vec::new();
        while let Some(chunk) = writing.next().await {
            finished.push(chunk);
        }
        self.settle(finished, outcomes);
        self.forget_not_stored();
    }

    /// Takes back what the chunks not stored added, the last computed first: a
    /// chunk computed beside a failed one may have displaced that one's claim, and
    /// putting it back before the failed chunk's own entry is removed would leave a
    /// claim never stored in the duplicate check. Chunks settle out of that order
    /// (a chunk abandoned at once, those in flight after), hence the wait until
    /// none is in flight.
    fn forget_not_stored(&mut self) {
        let mut not_stored = std::mem::take(&mut self.not_stored);
        not_stored.sort_by_key(|(chunk, _)| std::cmp::Reverse(*chunk));
        for (_, added) in not_stored {
            self.forget(added);
        }
    }

    /// Computes one chunk (`(line, body)`) and stages its claims in an open
    /// transaction; `Err` with every line reported when its reads fail.
    async fn prepare(&mut self, chunk: Vec<(usize, Value)>) -> Result<StagedChunk, Vec<LineOutcome>> {
        let mut claims = ChunkClaims {
            chunk: self.computed,
            ..ChunkClaims::default()
        };
        self.computed += 1;
        let mut requests = Vec::with_capacity(chunk.len());
        for (line, body) in chunk {
            match IntakeRequest::parse(&body) {
                Ok(request) => requests.push((line, request)),
                Err(invalid) => claims.lines.push((line, Err(invalid.into()))),
            }
        }
        let lines: Vec<usize> = requests.iter().map(|(line, _)| *line).collect();
        match self.stage(requests, &mut claims).await {
            Ok(tx) => Ok(StagedChunk { tx, claims }),
            Err(error) => {
                let mut failed = claims.not_stored(&error.to_string());
                self.forget(std::mem::take(&mut failed.added));
                // Lines the chunk had not reached when it failed.
                let reached: BTreeSet<usize> = failed.lines.iter().map(|(line, _)| *line).collect();
                let unreached = lines.into_iter().filter(|line| !reached.contains(line));
                let why = error.to_string();
                failed
                    .lines
                    .extend(unreached.map(|line| (line, Err(IntakeError::NotStored(why.clone())))));
                Err(failed.lines)
            }
        }
    }

    async fn stage(
        &mut self,
        requests: Vec<(usize, IntakeRequest)>,
        staged: &mut ChunkClaims,
    ) -> Result<Session, BillingError> {
        let mut tx = self.fhir.begin(&Tenant::default()).await?;
        self.read_ahead(&mut tx, &requests).await?;
        let patients: BTreeSet<String> = requests
            .iter()
            .map(|(_, request)| request.patient.id.clone())
            .collect();
        // Shared: chunks in flight together do not wait for each other, single
        // intakes of these patients wait for the chunk (and then see its claims),
        // and the chunk sees what single intakes holding them committed.
        let lock_keys: Vec<String> = patients.iter().map(|id| claim_lock_key(id)).collect();
        tx.lock_keys(&lock_keys, LockMode::Shared).await?;
        self.read_earlier_claims(&mut tx, &patients).await?;

        let today = self.rules.today();
        let now = Utc::now();
        for (at, (line, request)) in requests.into_iter().enumerate() {
            if at % YIELD_EVERY == 0 {
                // The writes in flight run on this same thread (`submit` drives
                // them beside this): let them send their next statements.
                tokio::task::yield_now().await;
            }
            match self.intake(&mut tx, &request, today).await {
                Ok(claim) => {
                    let claim_id = &claim.intake.claim_id;
                    for key in claim.services {
                        let patient = request.patient.id.clone();
                        let displaced = self
                            .services
                            .entry(patient.clone())
                            .or_default()
                            .insert(key.clone(), claim_id.clone());
                        staged.added.push(Added {
                            patient,
                            key,
                            displaced,
                        });
                    }
                    staged.billing_rows.push(NewBillingClaim {
                        claim_id: claim_id.clone(),
                        state: claim.step.to.as_str().to_owned(),
                        at: now,
                        charge_cents: claim.charge_cents,
                        payer: claim.payer,
                    });
                    staged.history.push(first_seen(claim_id, now));
                    staged
                        .history
                        .push(state_change(claim_id, BillingState::Draft, &claim.step, now));
                    staged.lines.push((line, Ok(claim.intake)));
                }
                Err(IntakeError::Billing(BillingError::Fhir(error))) if !refuses_claim(&error) => {
                    return Err(error.into())
                }
                Err(error) => staged.lines.push((line, Err(error))),
            }
        }
        Ok(tx)
    }

    /// Takes back the services a chunk that was not stored had added, newest first,
    /// putting back the claim each displaced (an earlier claim billing the same
    /// service, which is still stored).
    fn forget(&mut self, added: Vec<Added>) {
        for added in added.into_iter().rev() {
            let Some(services) = self.services.get_mut(&added.patient) else {
                continue;
            };
            match added.displaced {
                Some(claim) => services.insert(added.key, claim),
                None => services.remove(&added.key),
            };
        }
    }

    /// Scrubs, prices and stages one claim; returns it with its Claim body and
    /// provider reference.
    async fn intake(
        &mut self,
        tx: &mut Session,
        request: &IntakeRequest,
        today: NaiveDate,
    ) -> Result<StagedClaim, IntakeError> {
        for reference in request.references() {
            let key = (reference.resource_type, reference.id.clone());
            if !matches!(self.resources.get(&key), Some(Some(_))) {
                return Err(missing(reference));
            }
        }
        let claim_id = crate::fhir::new_id();
        let draft = request.to_claim(today, BillingState::Draft.fhir_status());
        let referenced = from_fhir::referenced(&mut ReadAhead(&self.resources), &draft).await?;
        let billed = from_fhir::billing_claim(&claim_id, &draft, &referenced)?;
        let provider = format!("{}/{}", request.provider.resource_type, request.provider.id);
        let earlier = EarlierServices {
            services: self.services.get(&request.patient.id),
            provider: &provider,
        };
        let context = ScrubContext {
            today,
            duplicates: &earlier,
        };
        let report = scrub::scrub(&billed, self.rules, &context);
        let pricing = price(&billed, self.schedules)?;
        let step = scrub_move(&report, INTAKE_ACTOR);
        let mut claim = draft;
        claim["status"] = Value::String(step.to.fhir_status().into());
        let services = billed_services(&claim)
            .into_iter()
            .map(|(date, code)| (provider.clone(), date, code))
            .collect();
        let charge_cents = charge_cents(&claim);
        self.fhir
            .create_built(tx, ResourceType::Claim, claim, &claim_id)
            .await?;
        Ok(StagedClaim {
            intake: Intake {
                claim_id,
                state: step.to,
                report,
                pricing,
            },
            step,
            services,
            charge_cents,
            payer: Some(billed.payer.name.clone()).filter(|name| !name.is_empty()),
        })
    }

    /// Reads, in a few queries, what the chunk's claims reference and no earlier
    /// chunk read: first what the requests name, then the payers and subscribers of
    /// their Coverages.
    async fn read_ahead(
        &mut self,
        tx: &mut Session,
        requests: &[(usize, IntakeRequest)],
    ) -> Result<(), FhirError> {
        let named: Vec<(ResourceType, String)> = requests
            .iter()
            .flat_map(|(_, request)| request.references())
            .map(|reference| (reference.resource_type, reference.id.clone()))
            .collect();
        self.read_missing(tx, named).await?;
        let behind_coverages: Vec<(ResourceType, String)> = requests
            .iter()
            .filter_map(|(_, request)| {
                let key = (ResourceType::Coverage, request.coverage.id.clone());
                self.resources.get(&key)?.as_ref()
            })
            .flat_map(|coverage| {
                [
                    reference_of(coverage, "/payor/0"),
                    reference_of(coverage, "/subscriber"),
                ]
            })
            .flatten()
            .map(|(resource_type, id)| (resource_type, id.to_owned()))
            .collect();
        self.read_missing(tx, behind_coverages).await
    }

    async fn read_missing(
        &mut self,
        tx: &mut Session,
        wanted: Vec<(ResourceType, String)>,
    ) -> Result<(), FhirError> {
        let mut by_type: HashMap<ResourceType, BTreeSet<String>> = HashMap::new();
        for key in wanted {
            if !self.resources.contains_key(&key) {
                by_type.entry(key.0).or_default().insert(key.1);
            }
        }
        for (resource_type, ids) in by_type {
            let ids: Vec<String> = ids.into_iter().collect();
            let found = tx.read_current_many(resource_type.as_str(), &ids).await?;
            for id in ids {
                self.resources.entry((resource_type, id)).or_insert(None);
            }
            for (id, current) in found.into_iter().filter(|(_, current)| !current.deleted) {
                let body =
                    serde_json::from_str(&current.body).map_err(|e| FhirError::Internal(e.to_string()))?;
                self.resources.insert((resource_type, id), Some(Arc::new(body)));
            }
        }
        Ok(())
    }

    /// The services billed on the stored, live claims of patients the batch meets
    /// for the first time.
    async fn read_earlier_claims(
        &mut self,
        tx: &mut Session,
        patients: &BTreeSet<String>,
    ) -> Result<(), FhirError> {
        let new: Vec<&String> = patients
            .iter()
            .filter(|patient| !self.services.contains_key(*patient))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::new();
        for group in new.chunks(PATIENTS_PER_SEARCH) {
            let list: Vec<String> = group.iter().map(|id| format!("Patient/{id}")).collect();
            let query = billing_claims_of(&list.join(","));
            let found = crate::fhir::conditional::all_matching_ids(
                tx,
                ResourceType::Claim,
                &query,
                self.fhir.base_url(),
                EARLIER_CLAIMS * group.len(),
            )
            .await?;
            ids.extend(found);
        }
        // Kept aside until every read succeeded: a patient marked as read with
        // nothing in it would hide their claims from the rest of the batch.
        let mut read: HashMap<String, HashMap<ServiceKey, String>> = new
            .into_iter()
            .map(|patient| (patient.clone(), HashMap::new()))
            .collect();
        for (_, current) in tx.read_current_many("Claim", &ids).await? {
            let claim: Value =
                serde_json::from_str(&current.body).map_err(|e| FhirError::Internal(e.to_string()))?;
            let live = is_live(&claim);
            let patient = reference_of(&claim, "/patient").map(|(_, id)| id.to_owned());
            let provider = claim.at("/provider/reference").and_then(Value::as_str);
            let (Some(patient), Some(provider), true) = (patient, provider, live && !current.deleted) else {
                continue;
            };
            let claim_id = claim
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let services = read.entry(patient).or_default();
            for (date, code) in billed_services(&claim) {
                services.insert((provider.to_owned(), date, code), claim_id.clone());
            }
        }
        self.services.extend(read);
        Ok(())
    }
}

/// A chunk's claims staged in their open transaction, waiting to be written.
struct StagedChunk {
    tx: Session,
    claims: ChunkClaims,
}

/// What a chunk holds besides its transaction.
#[derive(Default)]
struct ChunkClaims {
    /// The chunk's number in the batch, in the order chunks are computed.
    chunk: usize,
    /// Every line of the chunk: the staged claims and the refused ones.
    lines: Vec<LineOutcome>,
    /// The services the staged claims added to the batch's duplicate check.
    added: Vec<Added>,
    billing_rows: Vec<NewBillingClaim>,
    history: Vec<StateChange>,
}

/// A service a staged claim added to the batch's duplicate check.
struct Added {
    patient: String,
    key: ServiceKey,
    /// The claim the same service pointed at before, if any.
    displaced: Option<String>,
}

/// A chunk that was not stored: every line reported, and what to take back.
struct FailedChunk {
    chunk: usize,
    lines: Vec<LineOutcome>,
    added: Vec<Added>,
}

impl StagedChunk {
    /// Writes the billing rows, enqueues each claim's `claim.created` webhook
    /// (subscribers looked up once per chunk, not at all while there are none) and
    /// sends the staged Claims; then, once the chunk before it (`after`) was stored,
    /// commits. Tells the chunk after it through `stored`.
    async fn write(self, after: Option<oneshot::Receiver<bool>>, stored: oneshot::Sender<bool>) -> Written {
        let written = self.write_in_turn(after).await;
        // The next chunk may already be gone (its own write failed).
        let _ = stored.send(written.is_ok());
        written
    }

    async fn write_in_turn(self, after: Option<oneshot::Receiver<bool>>) -> Written {
        let StagedChunk { mut tx, claims } = self;
        let sent = async {
            tx.insert_billing_claims(&claims.billing_rows, &claims.history)
                .await?;
            for row in &claims.billing_rows {
                claim_created(&mut tx, DEFAULT_TENANT, &row.claim_id).await?;
            }
            tx.flush_staged().await
        };
        if let Err(error) = sent.await {
            return Err(claims.not_stored(&BillingError::from(error).to_string()));
        }
        if let Some(after) = after {
            // A dropped sender is a chunk that never finished: not stored.
            if after.await != Ok(true) {
                return Err(claims.not_stored(EARLIER_CHUNK_NOT_STORED));
            }
        }
        match tx.commit().await {
            Ok(()) => Ok(claims.lines),
            Err(error) => Err(claims.not_stored(&BillingError::from(error).to_string())),
        }
    }

    /// Drops the chunk (its transaction rolls back); see `ChunkClaims::not_stored`.
    fn abandon(self, why: &str) -> FailedChunk {
        self.claims.not_stored(why)
    }
}

impl ChunkClaims {
    /// Each staged claim reported as not stored, with `why`.
    fn not_stored(self, why: &str) -> FailedChunk {
        let lines = self
            .lines
            .into_iter()
            .map(|(line, outcome)| match outcome {
                Ok(_) => (line, Err(IntakeError::NotStored(why.to_owned()))),
                refused => (line, refused),
            })
            .collect();
        FailedChunk {
            chunk: self.chunk,
            lines,
            added: self.added,
        }
    }
}

/// Runs `work` to the end while driving the writes in flight, collecting those
/// that finish meanwhile.
async fn drive_while<T>(
    mut work: Pin<&mut impl Future<Output = T>>,
    writing: &mut FuturesOrdered<impl Future<Output = Written>>,
    written: &mut Vec<Written>,
) -> T {
    loop {
        tokio::select! {
            biased;
            done = &mut work => return done,
            Some(chunk) = writing.next(), if !writing.is_empty() => written.push(chunk),
        }
    }
}

/// A claim error that is the claim's own (reported on its line) rather than the
/// database's (which fails the chunk).
fn refuses_claim(error: &FhirError) -> bool {
    matches!(error, FhirError::Invalid(_))
}

/// A claim scrubbed, priced and staged, with what its billing rows need.
struct StagedClaim {
    intake: Intake,
    /// Where scrubbing sends it from `draft`.
    step: Move,
    /// (provider reference, date of service, code) of each line.
    services: Vec<ServiceKey>,
    charge_cents: Option<i64>,
    /// The payer's name, for the worklist.
    payer: Option<String>,
}

/// The resources a chunk read ahead.
struct ReadAhead<'a>(&'a HashMap<(ResourceType, String), Option<Arc<Value>>>);

impl ResourceSource for ReadAhead<'_> {
    async fn fetch(&mut self, resource_type: ResourceType, id: &str) -> Result<Arc<Value>, FhirError> {
        match self.0.get(&(resource_type, id.to_owned())) {
            Some(Some(body)) => Ok(Arc::clone(body)),
            _ => Err(FhirError::NotFound(format!("{resource_type}/{id}"))),
        }
    }
}

/// The services a patient's other claims from the same provider bill.
struct EarlierServices<'a> {
    services: Option<&'a HashMap<ServiceKey, String>>,
    provider: &'a str,
}

impl DuplicateCheck for EarlierServices<'_> {
    fn earlier_claim(&self, service: &BilledService<'_>) -> Option<String> {
        let key = (
            self.provider.to_owned(),
            service.service_date,
            service.code.to_owned(),
        );
        self.services?
            .get(&key)
            .filter(|claim| claim.as_str() != service.claim_id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::chunks_in_flight;

    #[test]
    fn a_batch_leaves_a_connection_to_other_requests_but_keeps_two_chunks_in_flight() {
        let in_flight: Vec<usize> = (1..=8).map(chunks_in_flight).collect();
        assert_eq!(in_flight, [2, 2, 2, 3, 3, 3, 3, 3]);
    }
}
