//! The billing operations that leave Claimbridge — claim submission, eligibility,
//! prior authorization — go through a [`BillingGateway`], chosen by configuration
//! (`CLAIMBRIDGE_BILLING_GATEWAY`): [`registry::RegistryGateway`] over the
//! integration registry's clearinghouse plugins (`integrations`), or the in-process
//! [`sandbox::SandboxClearinghouse`] (`sandbox`). With none configured the
//! endpoints that need one answer 503.
//!
//! The gateway speaks the wire formats the other side does: an 837P interchange
//! goes in and a receipt comes back; a 270 goes in and a 271 comes back, as text,
//! for our own readers to check. Prior authorization sends a FHIR Claim with
//! `use = preauthorization` in a Bundle with the resources it references (the shape
//! of Da Vinci PAS, which the CMS prior authorization rule points payers at) and gets
//! a decision back; X12 278, which PAS intermediaries translate to, is not written.
//!
//! A failure says what retrying would do ([`GatewayError`]), which the registry's
//! retries and failover will need: transient (nothing delivered), ambiguous (maybe
//! delivered) or final (refused).

pub mod registry;
pub mod routes;
pub mod sandbox;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::integrations::orchestrator::Orchestrator;
use crate::x12::EnvelopeConfig;

/// The billing operations another party performs for us.
///
/// Methods return boxed futures so that gateways can be chosen at run time
/// (`Arc<dyn BillingGateway>`).
pub trait BillingGateway: Send + Sync {
    /// Who answers, as recorded with what it answered ("sandbox clearinghouse").
    fn name(&self) -> &'static str;

    /// Sends an 837P interchange; the receipt says the clearinghouse took it.
    fn submit_claims<'a>(
        &'a self,
        interchange: &'a str,
    ) -> BoxFuture<'a, Result<SubmissionReceipt, GatewayError>>;

    /// Sends a 270 eligibility inquiry and returns the 271 answering it.
    fn check_eligibility<'a>(&'a self, inquiry_270: &'a str) -> BoxFuture<'a, Result<String, GatewayError>>;

    /// Sends a prior authorization request: a `collection` Bundle whose first entry
    /// is a Claim with `use = preauthorization`, followed by the resources it
    /// references (Patient, Coverage, insurer, provider).
    fn submit_prior_auth<'a>(
        &'a self,
        request: &'a Value,
    ) -> BoxFuture<'a, Result<PriorAuthDecision, GatewayError>>;

    /// Asks for the decision on a pended prior authorization, of whoever took it.
    fn prior_auth_status<'a>(
        &'a self,
        tracking: &'a PriorAuthTracking,
    ) -> BoxFuture<'a, Result<PriorAuthDecision, GatewayError>>;
}

/// A clearinghouse's acknowledgment that it received an interchange (not that the
/// payer accepted the claims: that comes later, in a 999 and 277CA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionReceipt {
    /// The clearinghouse's id for the batch, to quote when asking about it.
    pub receipt_id: String,
    /// ISA13 as the clearinghouse read it.
    pub interchange_control_number: String,
    /// The claims (CLM segments) it counted.
    pub claims: usize,
    pub received_at: DateTime<Utc>,
}

/// A payer's answer to a prior authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorAuthDecision {
    pub outcome: PriorAuthOutcome,
    /// The authorization number to quote on the claim (`ClaimResponse.preAuthRef`);
    /// given with an approval.
    pub reference: Option<String>,
    /// The days the authorization covers, both included.
    pub period: Option<(NaiveDate, NaiveDate)>,
    /// The payer's explanation.
    pub note: String,
    /// How to ask about a pended request later.
    pub tracking: Option<PriorAuthTracking>,
}

/// Where a pended prior authorization can be asked about: who holds it (an
/// integration's id, or `sandbox`) and its id there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorAuthTracking {
    pub holder: String,
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriorAuthOutcome {
    Approved,
    Denied,
    /// Under review: the decision comes later.
    Pended,
}

impl PriorAuthOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            PriorAuthOutcome::Approved => "approved",
            PriorAuthOutcome::Denied => "denied",
            PriorAuthOutcome::Pended => "pended",
        }
    }
}

/// Why an operation did not go through, by what trying again would do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Nothing was delivered (connection refused, service unavailable, throttled):
    /// the same request may be sent again later.
    #[error("the clearinghouse is unavailable, nothing was sent: {0}")]
    Transient(String),
    /// Sent, but no answer came: it may or may not have been received, and sending
    /// it again could duplicate it. Find out first.
    #[error("the clearinghouse did not answer; it may have received the request: {0}")]
    Ambiguous(String),
    /// Refused: sending the same again fails the same way.
    #[error("the clearinghouse refused the request: {0}")]
    Final(String),
}

/// Which gateway the configuration selects (`billing_gateway`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    /// The in-process test clearinghouse, which speaks X12.
    Sandbox,
    /// The integrations configured in the registry (`/admin/integrations`), with
    /// failover; claim submissions are queued as jobs.
    Integrations,
}

/// The gateway `kind` names, speaking to us as `envelope` describes us; `None`
/// when no integration is configured.
pub fn configured(
    kind: Option<GatewayKind>,
    envelope: &EnvelopeConfig,
    orchestrator: &Arc<Orchestrator>,
) -> Option<Arc<dyn BillingGateway>> {
    match kind? {
        GatewayKind::Sandbox => Some(Arc::new(sandbox::SandboxClearinghouse::new(envelope))),
        GatewayKind::Integrations => Some(Arc::new(registry::RegistryGateway::new(Arc::clone(orchestrator)))),
    }
}
