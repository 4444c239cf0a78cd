//! What the simulator remembers: tokens it issued, the coverages and claim
//! statuses it is answering, and the claims that came in over SFTP. Shared by the
//! HTTP routes and the SFTP file processor, and by tests that inspect it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// Availity's documented token lifetime.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct SimulatorState(Arc<Mutex<Inner>>);

struct Inner {
    token_lifetime: Duration,
    tokens: HashMap<String, Instant>,
    tokens_issued: u64,
    next_id: u64,
    resources: HashMap<String, Resource>,
    claims: Vec<ReceivedClaim>,
}

/// A coverage, claim status or service review: answered "in progress" on its first poll, then
/// with its final body.
struct Resource {
    polls: u32,
    summary: Value,
    complete: Value,
}

/// A claim read from an uploaded 837, as `GET /__simulator/claims` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedClaim {
    /// CLM01.
    pub pcn: String,
    pub file_name: String,
    pub received_at: DateTime<Utc>,
    pub accepted: bool,
}

impl Default for SimulatorState {
    fn default() -> Self {
        SimulatorState::with_token_lifetime(TOKEN_LIFETIME)
    }
}

impl SimulatorState {
    /// Tokens that expire after `lifetime` instead of 300 s, for tests of renewal.
    pub fn with_token_lifetime(lifetime: Duration) -> Self {
        SimulatorState(Arc::new(Mutex::new(Inner {
            token_lifetime: lifetime,
            tokens: HashMap::new(),
            tokens_issued: 0,
            next_id: 1,
            resources: HashMap::new(),
            claims: Vec::new(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Issues a token; returns it with its lifetime.
    pub(crate) fn issue_token(&self) -> (String, Duration) {
        let mut inner = self.lock();
        inner.tokens_issued += 1;
        let token = format!(
            "sim-{}-{}",
            inner.tokens_issued,
            Utc::now().timestamp_nanos_opt().unwrap_or(0)
        );
        let lifetime = inner.token_lifetime;
        inner.tokens.insert(token.clone(), Instant::now() + lifetime);
        (token, lifetime)
    }

    pub(crate) fn token_is_valid(&self, token: &str) -> bool {
        self.lock()
            .tokens
            .get(token)
            .is_some_and(|expires| Instant::now() < *expires)
    }

    /// How many tokens the token endpoint has issued.
    pub fn tokens_issued(&self) -> u64 {
        self.lock().tokens_issued
    }

    /// Makes every issued token invalid, as if Availity had revoked them.
    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    pub(crate) fn next_id(&self) -> String {
        let mut inner = self.lock();
        inner.next_id += 1;
        // Availity's ids are long numeric strings.
        format!("{}", 7_400_000_000_000 + inner.next_id)
    }

    pub(crate) fn store(&self, id: &str, summary: Value, complete: Value) {
        self.lock().resources.insert(
            id.to_owned(),
            Resource {
                polls: 0,
                summary,
                complete,
            },
        );
    }

    /// The body for a poll of `id`: `(false, summary)` the first time, then
    /// `(true, complete)`.
    pub(crate) fn poll(&self, id: &str) -> Option<(bool, Value)> {
        let mut inner = self.lock();
        let resource = inner.resources.get_mut(id)?;
        resource.polls += 1;
        Some(if resource.polls == 1 {
            (false, resource.summary.clone())
        } else {
            (true, resource.complete.clone())
        })
    }

    /// Changes the final body of `id` (a payer deciding a pended review); false
    /// when there is no such resource.
    pub(crate) fn update_complete(&self, id: &str, change: impl FnOnce(&mut Value)) -> bool {
        match self.lock().resources.get_mut(id) {
            Some(resource) => {
                change(&mut resource.complete);
                true
            }
            None => false,
        }
    }

    pub(crate) fn receive_claim(&self, claim: ReceivedClaim) {
        self.lock().claims.push(claim);
    }

    /// The claims received over SFTP so far, in order.
    pub fn claims(&self) -> Vec<ReceivedClaim> {
        self.lock().claims.clone()
    }

    /// The latest claim received with `pcn`.
    pub(crate) fn claim(&self, pcn: &str) -> Option<ReceivedClaim> {
        self.lock()
            .claims
            .iter()
            .rev()
            .find(|claim| claim.pcn == pcn)
            .cloned()
    }
}
