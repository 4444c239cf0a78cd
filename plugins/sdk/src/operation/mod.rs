//! The operations a plugin performs, one [`Operation`] variant per [`Capability`],
//! each with a typed input, and the [`OperationOutput`] answering it.
//!
//! Both serialize as `{"operation": "<capability>", "input"|"output": {…}}` with the
//! capability's name, so a durable job stores its operation as JSON and an attempt
//! log reads like the descriptor.

mod claims;
mod eligibility;
mod feed;
mod payers;
mod payments;
mod prior_auth;
mod remittance;

use serde::{Deserialize, Serialize};

pub use claims::{
    ClaimStatusKind, ClaimStatusReport, ClaimStatusRequest, ClaimStatusUpdate, ClaimSubmission, Person,
    SubmissionReceipt, SubmittedClaim,
};
pub use eligibility::{EligibilityRequest, EligibilityResponse};
pub use feed::{Cursor, FeedPage, FeedRequest};
pub use payers::{Payer, PayerList, PayerListRequest};
pub use payments::{
    Customer, IdempotencyKey, Money, PaymentRequest, PaymentResult, PaymentStatus, RefundRequest,
    RefundResult, RefundStatus,
};
pub use prior_auth::{PriorAuthDecision, PriorAuthOutcome, PriorAuthRequest, PriorAuthStatusRequest};
pub use remittance::Remittance;

use crate::descriptor::Capability;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", content = "input", rename_all = "snake_case")]
pub enum Operation {
    Eligibility(EligibilityRequest),
    SubmitClaim(ClaimSubmission),
    ClaimStatus(ClaimStatusRequest),
    ClaimStatusFeed(FeedRequest),
    FetchRemittance(FeedRequest),
    PriorAuth(PriorAuthRequest),
    PriorAuthStatus(PriorAuthStatusRequest),
    PatientPayment(PaymentRequest),
    Refund(RefundRequest),
    PayerList(PayerListRequest),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", content = "output", rename_all = "snake_case")]
pub enum OperationOutput {
    Eligibility(EligibilityResponse),
    SubmitClaim(SubmissionReceipt),
    ClaimStatus(ClaimStatusReport),
    ClaimStatusFeed(FeedPage<ClaimStatusUpdate>),
    FetchRemittance(FeedPage<Remittance>),
    PriorAuth(PriorAuthDecision),
    PriorAuthStatus(PriorAuthDecision),
    PatientPayment(PaymentResult),
    Refund(RefundResult),
    PayerList(PayerList),
}

impl Operation {
    /// What a plugin must declare to be given this operation.
    pub fn capability(&self) -> Capability {
        match self {
            Operation::Eligibility(_) => Capability::Eligibility,
            Operation::SubmitClaim(_) => Capability::SubmitClaim,
            Operation::ClaimStatus(_) => Capability::ClaimStatus,
            Operation::ClaimStatusFeed(_) => Capability::ClaimStatusFeed,
            Operation::FetchRemittance(_) => Capability::FetchRemittance,
            Operation::PriorAuth(_) => Capability::PriorAuth,
            Operation::PriorAuthStatus(_) => Capability::PriorAuthStatus,
            Operation::PatientPayment(_) => Capability::PatientPayment,
            Operation::Refund(_) => Capability::Refund,
            Operation::PayerList(_) => Capability::PayerList,
        }
    }
}

impl OperationOutput {
    /// The operation this answers.
    pub fn capability(&self) -> Capability {
        match self {
            OperationOutput::Eligibility(_) => Capability::Eligibility,
            OperationOutput::SubmitClaim(_) => Capability::SubmitClaim,
            OperationOutput::ClaimStatus(_) => Capability::ClaimStatus,
            OperationOutput::ClaimStatusFeed(_) => Capability::ClaimStatusFeed,
            OperationOutput::FetchRemittance(_) => Capability::FetchRemittance,
            OperationOutput::PriorAuth(_) => Capability::PriorAuth,
            OperationOutput::PriorAuthStatus(_) => Capability::PriorAuthStatus,
            OperationOutput::PatientPayment(_) => Capability::PatientPayment,
            OperationOutput::Refund(_) => Capability::Refund,
            OperationOutput::PayerList(_) => Capability::PayerList,
        }
    }
}

#[cfg(test)]
mod tests;
