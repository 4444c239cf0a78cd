//! [`ClaimMdPlugin`]: the handler the registry holds, dispatching operations to their
//! modules and answering connection tests, health checks and webhooks.

use std::time::{Duration, Instant};

use claimbridge_plugin_sdk::http::HeaderMap;
use claimbridge_plugin_sdk::{
    ConnectionCheck, Health, HealthStatus, Operation, OperationOutput, PayerListRequest, PluginConfig,
    PluginDescriptor, PluginError, PluginHandler, WebhookOutcome, WebhookRejection,
};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use crate::settings::{Settings, ACCOUNT_KEY_CREDENTIAL};
use crate::transport::{Body, Probe, Transport};
use crate::vendor_error::{self, Kind};
use crate::{feeds, reference, status, submit, DESCRIPTOR};

/// A health answer slower than this (or than half the timeout, if less) is degraded.
const SLOW_ANSWER: Duration = Duration::from_secs(2);

/// The payer the health check asks about: a one-row answer from an authenticated
/// service (UnitedHealthcare's id, on every clearinghouse's list), cheaper than the
/// whole list.
const HEALTH_PROBE_PAYER_ID: &str = "87726";

/// Why [`PluginHandler::handle_webhook`] refuses everything.
const NO_SIGNED_WEBHOOKS: &str = "Claim.MD sends no signed webhooks: the only callbacks known \
(enrollment and appeal-form events) carry no signature to verify, and claim statuses and ERAs \
come through the polled response and ERA feeds";

/// The Claim.MD plugin. Created empty by [`ClaimMdPlugin::new`]; `initialize` reads
/// the base URL, the `accountKey` credential and the [`Settings`].
#[derive(Debug, Default)]
pub struct ClaimMdPlugin {
    ready: Option<Ready>,
}

/// What `initialize` prepared.
#[derive(Debug)]
struct Ready {
    transport: Transport,
    settings: Settings,
}

impl ClaimMdPlugin {
    pub fn new() -> Self {
        ClaimMdPlugin { ready: None }
    }

    fn ready(&self) -> Result<&Ready, PluginError> {
        self.ready
            .as_ref()
            .ok_or_else(|| PluginError::rejected("the Claim.MD plugin is not initialized"))
    }

    async fn run(&self, operation: &Operation) -> Result<OperationOutput, PluginError> {
        let ready = self.ready()?;
        let transport = &ready.transport;
        Ok(match operation {
            Operation::SubmitClaim(submission) => {
                OperationOutput::SubmitClaim(submit::submit_claim(transport, submission).await?)
            }
            Operation::ClaimStatus(request) => {
                OperationOutput::ClaimStatus(status::claim_status(transport, request).await?)
            }
            Operation::ClaimStatusFeed(request) => {
                OperationOutput::ClaimStatusFeed(feeds::claim_status_feed(transport, request).await?)
            }
            Operation::FetchRemittance(request) => OperationOutput::FetchRemittance(
                feeds::fetch_remittance(transport, request, ready.settings.remittances_per_page).await?,
            ),
            Operation::Eligibility(request) => {
                OperationOutput::Eligibility(reference::eligibility(transport, request).await?)
            }
            Operation::PayerList(request) => {
                OperationOutput::PayerList(reference::payer_list(transport, request).await?)
            }
            other => return Err(PluginError::unsupported(DESCRIPTOR.vendor, other.capability())),
        })
    }

    async fn connection_check(&self) -> Result<ConnectionCheck, PluginError> {
        let ready = self.ready()?;
        let payers = reference::payer_list(&ready.transport, &PayerListRequest::default()).await?;
        Ok(ConnectionCheck {
            detail: format!("AccountKey accepted; {} payers listed", payers.payers.len()),
        })
    }

    async fn health(&self) -> Health {
        let ready = match self.ready() {
            Ok(ready) => ready,
            Err(error) => return health(HealthStatus::Unhealthy, error.to_string()),
        };
        let transport = &ready.transport;
        // A health check does not queue behind operations, nor spend what they need.
        if !transport.throttle().try_acquire_now() {
            return health(
                HealthStatus::Degraded,
                "the request budget (requestsPerMinute) is spent for now",
            );
        }
        let slow = SLOW_ANSWER.min(transport.timeout() / 2);
        let started = Instant::now();
        let probe = transport
            .probe(
                "payerlist",
                Body::Fields(vec![("payerid", HEALTH_PROBE_PAYER_ID.to_owned())]),
            )
            .await;
        let took = started.elapsed();
        match probe {
            Probe::Unreachable(why) => health(HealthStatus::Unhealthy, why),
            Probe::Status(status) if status.as_u16() == 429 => {
                health(HealthStatus::Degraded, "Claim.MD throttles requests (HTTP 429)")
            }
            Probe::Status(status) => {
                health(HealthStatus::Unhealthy, format!("Claim.MD answers HTTP {status}"))
            }
            Probe::Unreadable => health(
                HealthStatus::Unhealthy,
                "Claim.MD answers 200 with something other than JSON",
            ),
            Probe::Answered(errors) => {
                let kinds: Vec<Kind> = errors.iter().map(vendor_error::kind).collect();
                if kinds.contains(&Kind::Credential) {
                    health(
                        HealthStatus::Unhealthy,
                        vendor_error::classify("payerlist", &errors).to_string(),
                    )
                } else if kinds.contains(&Kind::Temporary) {
                    health(
                        HealthStatus::Degraded,
                        vendor_error::classify("payerlist", &errors).to_string(),
                    )
                } else if took > slow {
                    health(
                        HealthStatus::Degraded,
                        format!("Claim.MD answers slowly ({} ms)", took.as_millis()),
                    )
                } else {
                    Health {
                        status: HealthStatus::Healthy,
                        detail: None,
                    }
                }
            }
        }
    }
}

fn health(status: HealthStatus, detail: impl Into<String>) -> Health {
    Health {
        status,
        detail: Some(detail.into()),
    }
}

impl PluginHandler for ClaimMdPlugin {
    fn descriptor(&self) -> &PluginDescriptor {
        &DESCRIPTOR
    }

    fn initialize<'a>(&'a mut self, config: PluginConfig) -> BoxFuture<'a, Result<(), PluginError>> {
        async move {
            let settings = Settings::read(&config)?;
            let account_key = config.credentials.require(ACCOUNT_KEY_CREDENTIAL)?.clone();
            let transport = Transport::new(
                &config.base_url,
                account_key,
                settings.timeout(),
                settings.requests_per_minute,
            )?;
            self.ready = Some(Ready { transport, settings });
            Ok(())
        }
        .boxed()
    }

    fn execute<'a>(
        &'a self,
        operation: &'a Operation,
    ) -> BoxFuture<'a, Result<OperationOutput, PluginError>> {
        self.run(operation).boxed()
    }

    fn test_connection(&self) -> BoxFuture<'_, Result<ConnectionCheck, PluginError>> {
        self.connection_check().boxed()
    }

    fn health_check(&self) -> BoxFuture<'_, Health> {
        self.health().boxed()
    }

    fn handle_webhook<'a>(
        &'a self,
        _headers: &'a HeaderMap,
        _body: &'a [u8],
    ) -> BoxFuture<'a, Result<WebhookOutcome, PluginError>> {
        async {
            Ok(WebhookOutcome::Rejected(WebhookRejection::Unauthenticated(
                NO_SIGNED_WEBHOOKS.to_owned(),
            )))
        }
        .boxed()
    }

    fn cleanup(&self) -> BoxFuture<'_, Result<(), PluginError>> {
        // Nothing is held beyond memory: the HTTP client's connections close with it.
        async { Ok(()) }.boxed()
    }
}
