//! The contract between Claimbridge and its integration plugins (clearinghouses,
//! payment processors).
//!
//! A plugin is a [`PluginHandler`]: it declares who it is and what it can do
//! ([`PluginDescriptor`], [`Capability`]), is configured once ([`PluginConfig`]),
//! performs typed [`Operation`]s, answers connection tests and health checks, and
//! verifies the webhooks its vendor sends. Every failure is a [`PluginError`] of one
//! of three classes — transient, ambiguous, final — because the orchestrator decides
//! from the class alone whether to retry, ask the vendor first, fail over or stop.
//!
//! The crate is its own so that the server and each plugin depend on the contract and
//! not on each other: a plugin compiles without the server, and the compiler keeps
//! the boundary.

mod config;
mod descriptor;
mod error;
mod handler;
mod health;
pub mod http_client;
mod operation;
mod retry_after;
mod webhook;

pub use config::{Credentials, PluginConfig, Secret};
pub use descriptor::{Capability, Category, PluginDescriptor};
pub use error::{ErrorClass, Idempotency, PluginError};
pub use handler::{execute_checked, PluginHandler};
pub use health::{ConnectionCheck, Health, HealthStatus};
pub use operation::{
    ClaimStatusKind, ClaimStatusReport, ClaimStatusRequest, ClaimStatusUpdate, ClaimSubmission, Cursor,
    Customer, EligibilityRequest, EligibilityResponse, FeedPage, FeedRequest, IdempotencyKey, Money,
    Operation, OperationOutput, Payer, PayerList, PayerListRequest, PaymentRequest, PaymentResult,
    PaymentStatus, Person, PriorAuthDecision, PriorAuthOutcome, PriorAuthRequest, PriorAuthStatusRequest,
    RefundRequest, RefundResult, RefundStatus, Remittance, SubmissionReceipt, SubmittedClaim,
};
pub use webhook::{WebhookEvent, WebhookOutcome, WebhookRejection};

/// Re-exported so that plugins name the same `HeaderMap` and `StatusCode` the
/// contract does, whatever their own HTTP stack.
pub use http;
