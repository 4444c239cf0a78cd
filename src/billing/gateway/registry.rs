//! The gateway over the integration registry (`billing_gateway = "integrations"`):
//! each operation goes to the default tenant's clearinghouses through the
//! orchestrator, in priority order with retries and failover. Claim submission
//! itself is queued as a durable job (`billing::dispatch`); `submit_claims` here
//! serves callers that send an interchange directly, without the status check a
//! job's claim allows.

use std::sync::Arc;

use claimbridge_plugin_sdk::{
    ClaimSubmission, EligibilityRequest, Operation, OperationOutput, PluginError, PriorAuthRequest,
};
use futures_util::future::BoxFuture;
use serde_json::Value;

use super::{BillingGateway, GatewayError, PriorAuthDecision, PriorAuthOutcome, SubmissionReceipt};
use crate::integrations::orchestrator::{Executed, OrchestrationError, Orchestrator, Request};
use crate::integrations::registry::DEFAULT_TENANT;
use crate::integrations::Category;
use crate::x12::check_envelope;

pub struct RegistryGateway {
    orchestrator: Arc<Orchestrator>,
}

impl RegistryGateway {
    pub fn new(orchestrator: Arc<Orchestrator>) -> Self {
        RegistryGateway { orchestrator }
    }

    async fn execute(&self, operation: Operation) -> Result<OperationOutput, GatewayError> {
        let request = Request {
            tenant: DEFAULT_TENANT,
            category: Category::Clearinghouse,
            operation: &operation,
            subject: None,
            status_probe: None,
        };
        match self.orchestrator.execute_with_failover(request).await {
            Ok(Executed { output, .. }) => Ok(output),
            Err(error) => Err(gateway_error(error)),
        }
    }
}

fn gateway_error(error: OrchestrationError) -> GatewayError {
    let message = error.to_string();
    match error {
        OrchestrationError::Refused { .. } => GatewayError::Final(message),
        OrchestrationError::Unresolved { .. } => GatewayError::Ambiguous(message),
        OrchestrationError::Unavailable {
            error: PluginError::Ambiguous { .. },
        } => GatewayError::Ambiguous(message),
        OrchestrationError::NoIntegration { .. }
        | OrchestrationError::Unavailable { .. }
        | OrchestrationError::Store(_) => GatewayError::Transient(message),
    }
}

fn unexpected() -> GatewayError {
    GatewayError::Final("the integration answered another operation".into())
}

impl BillingGateway for RegistryGateway {
    fn name(&self) -> &'static str {
        "integration registry"
    }

    fn submit_claims<'a>(
        &'a self,
        interchange: &'a str,
    ) -> BoxFuture<'a, Result<SubmissionReceipt, GatewayError>> {
        Box::pin(async move {
            let operation = Operation::SubmitClaim(ClaimSubmission {
                submission_id: format!("cb-{}", uuid::Uuid::new_v4()),
                interchange_837p: interchange.to_owned(),
            });
            match self.execute(operation).await? {
                OperationOutput::SubmitClaim(receipt) => Ok(SubmissionReceipt {
                    receipt_id: receipt.vendor_batch_id,
                    // ISA13 as the project's envelope reader finds it (our own 837P's
                    // envelope is sound).
                    interchange_control_number: check_envelope(interchange)
                        .map(|summary| summary.control_number)
                        .unwrap_or_default(),
                    claims: receipt.claims.len(),
                    received_at: receipt.received_at,
                }),
                _ => Err(unexpected()),
            }
        })
    }

    fn check_eligibility<'a>(&'a self, inquiry_270: &'a str) -> BoxFuture<'a, Result<String, GatewayError>> {
        Box::pin(async move {
            let operation = Operation::Eligibility(EligibilityRequest {
                inquiry_270: inquiry_270.to_owned(),
            });
            match self.execute(operation).await? {
                OperationOutput::Eligibility(response) => Ok(response.response_271),
                _ => Err(unexpected()),
            }
        })
    }

    fn submit_prior_auth<'a>(
        &'a self,
        request: &'a Value,
    ) -> BoxFuture<'a, Result<PriorAuthDecision, GatewayError>> {
        Box::pin(async move {
            let operation = Operation::PriorAuth(PriorAuthRequest {
                bundle: request.clone(),
            });
            match self.execute(operation).await? {
                OperationOutput::PriorAuth(decision) => Ok(PriorAuthDecision {
                    outcome: match decision.outcome {
                        claimbridge_plugin_sdk::PriorAuthOutcome::Approved => PriorAuthOutcome::Approved,
                        claimbridge_plugin_sdk::PriorAuthOutcome::Denied => PriorAuthOutcome::Denied,
                        claimbridge_plugin_sdk::PriorAuthOutcome::Pended => PriorAuthOutcome::Pended,
                    },
                    reference: decision.reference,
                    period: decision.period,
                    note: decision.note,
                }),
                _ => Err(unexpected()),
            }
        })
    }
}
