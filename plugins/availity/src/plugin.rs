//! [`AvailityPlugin`]: the handler the registry holds, routing each operation to
//! the REST API (eligibility, claim status, prior authorization, payer list) or the batch EDI channel
//! (claim submission, and the status of what it submitted).

use std::sync::atomic::{AtomicU32, Ordering};

use claimbridge_plugin_sdk::http::HeaderMap;
use claimbridge_plugin_sdk::http_client;
use claimbridge_plugin_sdk::{
    Capability, Category, ClaimStatusReport, ClaimStatusRequest, ConnectionCheck, Health, HealthStatus,
    Operation, OperationOutput, PluginConfig, PluginDescriptor, PluginError, PluginHandler, WebhookOutcome,
    WebhookRejection,
};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;

use crate::api::Api;
use crate::edi::{BatchChannel, SftpClient};
use crate::poll::Polling;
use crate::prior_auth::ServiceReviews;
use crate::settings::{endpoints, sftp_login, Settings};
use crate::token::TokenSource;
use crate::{claim_status, eligibility, payers, prior_auth, VENDOR};

pub const DESCRIPTOR: PluginDescriptor = PluginDescriptor {
    vendor: VENDOR,
    display_name: "Availity",
    category: Category::Clearinghouse,
    capabilities: &[
        Capability::Eligibility,
        Capability::SubmitClaim,
        Capability::ClaimStatus,
        Capability::PriorAuth,
        Capability::PriorAuthStatus,
        Capability::PayerList,
    ],
};

/// The Availity integration. Settings and credentials: see the crate README.
#[derive(Default)]
pub struct AvailityPlugin {
    ready: Option<Ready>,
}

struct Ready {
    api: Api,
    polling: Polling,
    reviews: ServiceReviews,
    batch: Option<BatchChannel>,
    /// ISA13 of the 271s written for the server; only has to differ between answers.
    next_control_number: AtomicU32,
}

impl AvailityPlugin {
    /// An uninitialized handler.
    pub fn new() -> Self {
        AvailityPlugin::default()
    }

    fn ready(&self) -> Result<&Ready, PluginError> {
        self.ready
            .as_ref()
            .ok_or_else(|| PluginError::rejected("the Availity plugin is not initialized"))
    }

    async fn prepare(config: PluginConfig) -> Result<Ready, PluginError> {
        let settings: Settings = config.settings()?;
        let client_id = config.credentials.require("clientId")?;
        let client_secret = config.credentials.require("clientSecret")?;
        let endpoints = endpoints(&config, &settings);
        let http = http_client::client(settings.timeout())?;
        let tokens = TokenSource::new(
            &endpoints.token,
            client_id,
            client_secret,
            &settings.scope,
            settings.renew_margin(),
            http.clone(),
        )?;
        let batch = match sftp_login(&config, &settings)? {
            Some(login) => Some(BatchChannel {
                client: SftpClient::new(
                    login,
                    std::time::Duration::from_secs(settings.sftp_timeout_secs.max(1)),
                )?,
                send_folder: settings.sftp_send_folder.clone(),
                receive_folder: settings.sftp_receive_folder.clone(),
                file_prefix: settings.sftp_file_prefix.clone(),
            }),
            None => None,
        };
        let seed = (chrono::Utc::now().timestamp() % 100_000_000) as u32;
        Ok(Ready {
            api: Api {
                http,
                root: endpoints.api,
                tokens,
                customer_id: settings.customer_id.clone(),
            },
            polling: Polling {
                interval: settings.poll_interval(),
                max_polls: settings.max_polls,
            },
            reviews: ServiceReviews {
                root: endpoints.service_reviews,
            },
            batch,
            next_control_number: AtomicU32::new(seed),
        })
    }

    async fn run(&self, operation: &Operation) -> Result<OperationOutput, PluginError> {
        let ready = self.ready()?;
        match operation {
            Operation::Eligibility(request) => {
                let control = ready.next_control_number.fetch_add(1, Ordering::Relaxed) % 1_000_000_000;
                eligibility::check(&ready.api, &ready.polling, control, request)
                    .await
                    .map(OperationOutput::Eligibility)
            }
            Operation::ClaimStatus(request) => ready
                .claim_status(request)
                .await
                .map(OperationOutput::ClaimStatus),
            Operation::PriorAuth(request) => {
                prior_auth::request(&ready.api, &ready.reviews, &ready.polling, request)
                    .await
                    .map(OperationOutput::PriorAuth)
            }
            Operation::PriorAuthStatus(request) => prior_auth::status(&ready.api, &ready.reviews, request)
                .await
                .map(OperationOutput::PriorAuthStatus),
            Operation::PayerList(request) => payers::list(&ready.api, request)
                .await
                .map(OperationOutput::PayerList),
            Operation::SubmitClaim(submission) => {
                let batch = ready.batch.as_ref().ok_or_else(|| {
                    PluginError::rejected("claims go through Availity's EDI SFTP channel: set `sftpHost`")
                })?;
                batch.submit(submission).await.map(OperationOutput::SubmitClaim)
            }
            other => Err(PluginError::unsupported(VENDOR, other.capability())),
        }
    }
}

impl Ready {
    /// A claim this integration submitted is looked for on the batch channel first:
    /// the payer's claim status API knows nothing of a file Availity has not
    /// forwarded yet. Otherwise, and when the channel has no trace of it, the
    /// Claim Statuses API answers.
    async fn claim_status(&self, request: &ClaimStatusRequest) -> Result<ClaimStatusReport, PluginError> {
        if let (Some(batch), Some(submission_id)) = (&self.batch, &request.submission_id) {
            if let Some(report) = batch
                .status(submission_id, &request.patient_control_number)
                .await?
            {
                return Ok(report);
            }
        }
        claim_status::query(&self.api, &self.polling, request).await
    }
}

impl PluginHandler for AvailityPlugin {
    fn descriptor(&self) -> &PluginDescriptor {
        &DESCRIPTOR
    }

    fn initialize<'a>(&'a mut self, config: PluginConfig) -> BoxFuture<'a, Result<(), PluginError>> {
        async move {
            self.ready = Some(Self::prepare(config).await?);
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
        async move {
            let ready = self.ready()?;
            let payers = payers::total(&ready.api).await?;
            let mut detail = format!("client credentials accepted; {payers} payers listed");
            if let Some(batch) = &ready.batch {
                batch.check().await?;
                detail.push_str("; SFTP login accepted, send and receive folders listed");
            }
            Ok(ConnectionCheck { detail })
        }
        .boxed()
    }

    fn health_check(&self) -> BoxFuture<'_, Health> {
        async move {
            let ready = match self.ready() {
                Ok(ready) => ready,
                Err(error) => return unhealthy(error.to_string()),
            };
            match payers::probe(&ready.api).await {
                Ok(answer) if answer.status().is_success() => Health {
                    status: HealthStatus::Healthy,
                    detail: None,
                },
                // Throttled, or the product is not subscribed: Availity answers.
                Ok(answer) if matches!(answer.status().as_u16(), 403 | 429) => Health {
                    status: HealthStatus::Degraded,
                    detail: Some(format!("payer list answered {}", answer.status())),
                },
                Ok(answer) => unhealthy(format!("payer list answered {}", answer.status())),
                Err(error) => unhealthy(error.to_string()),
            }
        }
        .boxed()
    }

    fn handle_webhook<'a>(
        &'a self,
        _headers: &'a HeaderMap,
        _body: &'a [u8],
    ) -> BoxFuture<'a, Result<WebhookOutcome, PluginError>> {
        async {
            Ok(WebhookOutcome::Rejected(WebhookRejection::Malformed(
                "Availity sends no webhooks".into(),
            )))
        }
        .boxed()
    }

    fn cleanup(&self) -> BoxFuture<'_, Result<(), PluginError>> {
        // The key directory goes with the handler; tokens cannot be revoked.
        async { Ok(()) }.boxed()
    }
}

fn unhealthy(detail: String) -> Health {
    Health {
        status: HealthStatus::Unhealthy,
        detail: Some(detail),
    }
}
