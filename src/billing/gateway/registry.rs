//! The gateway over the integration registry (`billing_gateway = "integrations"`):
//! each operation goes to the default tenant's clearinghouses through the
//! orchestrator, in priority order with retries and failover. Claim submission
//! itself is queued as a durable job (`billing::dispatch`); `submit_claims` here
//! serves callers that send an interchange directly, without the status check a
//! job's claim allows.

use std::sync::Arc;

use claimbridge_plugin_sdk::{
    ClaimSubmission, EligibilityRequest, Operation, OperationOutput, PluginError, PriorAuthRequest,
    PriorAuthStatusRequest,
};
use futures_util::future::BoxFuture;
use serde_json::Value;

use super::{
    BillingGateway, GatewayError, PriorAuthDecision, PriorAuthOutcome, PriorAuthTracking, SubmissionReceipt,
};
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
        self.execute_anywhere(operation)
            .await
            .map(|executed| executed.output)
    }

    async fn execute_anywhere(&self, operation: Operation) -> Result<Executed, GatewayError> {
        let request = Request {
            tenant: DEFAULT_TENANT,
            category: Category::Clearinghouse,
            operation: &operation,
            subject: None,
            status_probe: None,
        };
        self.orchestrator
            .execute_with_failover(request)
            .await
            .map_err(gateway_error)
    }

    /// Runs `operation` on the integration `integration_id` alone: what one vendor
    /// holds is asked of that vendor.
    async fn execute_at(
        &self,
        integration_id: &str,
        operation: Operation,
    ) -> Result<OperationOutput, GatewayError> {
        let integrations = self
            .orchestrator
            .integrations(DEFAULT_TENANT, Category::Clearinghouse)
            .await
            .map_err(|error| GatewayError::Transient(error.to_string()))?;
        let record = integrations
            .iter()
            .find(|record| record.id == integration_id)
            .ok_or_else(|| {
                GatewayError::Transient(format!(
                    "integration {integration_id} is not an enabled clearinghouse now"
                ))
            })?;
        self.orchestrator
            .execute_on(DEFAULT_TENANT, record, &operation)
            .await
            .map_err(|error| {
                let message = error.to_string();
                match error {
                    PluginError::Transient { .. } => GatewayError::Transient(message),
                    PluginError::Ambiguous { .. } => GatewayError::Ambiguous(message),
                    PluginError::Final { .. } => GatewayError::Final(message),
                }
            })
    }
}

fn decision_of(decision: claimbridge_plugin_sdk::PriorAuthDecision, holder: &str) -> PriorAuthDecision {
    PriorAuthDecision {
        outcome: match decision.outcome {
            claimbridge_plugin_sdk::PriorAuthOutcome::Approved => PriorAuthOutcome::Approved,
            claimbridge_plugin_sdk::PriorAuthOutcome::Denied => PriorAuthOutcome::Denied,
            claimbridge_plugin_sdk::PriorAuthOutcome::Pended => PriorAuthOutcome::Pended,
        },
        reference: decision.reference,
        period: decision.period,
        note: decision.note,
        tracking: decision.tracking_id.map(|id| PriorAuthTracking {
            holder: holder.to_owned(),
            id,
        }),
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
            let executed = self.execute_anywhere(operation).await?;
            match executed.output {
                OperationOutput::PriorAuth(decision) => Ok(decision_of(decision, &executed.integration_id)),
                _ => Err(unexpected()),
            }
        })
    }

    fn prior_auth_status<'a>(
        &'a self,
        tracking: &'a PriorAuthTracking,
    ) -> BoxFuture<'a, Result<PriorAuthDecision, GatewayError>> {
        Box::pin(async move {
            let operation = Operation::PriorAuthStatus(PriorAuthStatusRequest {
                tracking_id: tracking.id.clone(),
            });
            match self.execute_at(&tracking.holder, operation).await? {
                OperationOutput::PriorAuthStatus(decision) => Ok(decision_of(decision, &tracking.holder)),
                _ => Err(unexpected()),
            }
        })
    }
}
