//! [`StripePlugin`]: the [`PluginHandler`] for Stripe.

use chrono::Utc;
use claimbridge_plugin_sdk::http::HeaderMap;
use claimbridge_plugin_sdk::{
    Capability, Category, ConnectionCheck, Health, HealthStatus, Operation, OperationOutput, PluginConfig,
    PluginDescriptor, PluginError, PluginHandler, WebhookOutcome,
};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde::Deserialize;

use crate::api::StripeApi;
use crate::settings::{credential, Settings};
use crate::webhook::WebhookVerifier;
use crate::{payments, refunds, VENDOR};

const DESCRIPTOR: PluginDescriptor = PluginDescriptor {
    vendor: VENDOR,
    display_name: "Stripe",
    category: Category::Payments,
    capabilities: &[Capability::PatientPayment, Capability::Refund],
};

/// Stripe patient payments. Created uninitialized with [`StripePlugin::new`]; the
/// configuration it reads is described in the crate documentation.
#[derive(Default)]
pub struct StripePlugin {
    ready: Option<Ready>,
}

struct Ready {
    api: StripeApi,
    /// `None` when no `webhookSecret` is configured.
    webhooks: Option<WebhookVerifier>,
}

#[derive(Deserialize)]
struct Balance {
    livemode: bool,
}

impl StripePlugin {
    pub fn new() -> Self {
        StripePlugin::default()
    }

    fn ready(&self) -> Result<&Ready, PluginError> {
        self.ready
            .as_ref()
            .ok_or_else(|| PluginError::rejected("the Stripe plugin is not initialized"))
    }

    async fn run(&self, operation: &Operation) -> Result<OperationOutput, PluginError> {
        let api = &self.ready()?.api;
        match operation {
            Operation::PatientPayment(request) => payments::pay(api, request)
                .await
                .map(OperationOutput::PatientPayment),
            Operation::Refund(request) => refunds::refund(api, request).await.map(OperationOutput::Refund),
            other => Err(PluginError::unsupported(VENDOR, other.capability())),
        }
    }

    async fn connection_test(&self) -> Result<ConnectionCheck, PluginError> {
        let api = &self.ready()?.api;
        let balance = api
            .get::<Balance>("balance", &[], "reading the balance")
            .await?
            .object;
        let mode = if balance.livemode { "live" } else { "test" };
        Ok(ConnectionCheck {
            detail: format!(
                "secret key accepted ({mode} mode); requests pinned to Stripe-Version {}",
                api.version()
            ),
        })
    }

    async fn health(&self) -> Health {
        let unhealthy = |detail: String| Health {
            status: HealthStatus::Unhealthy,
            detail: Some(detail),
        };
        let api = match self.ready() {
            Ok(ready) => &ready.api,
            Err(error) => return unhealthy(error.to_string()),
        };
        match api.probe().await {
            Ok(status) if status.is_success() => Health {
                status: HealthStatus::Healthy,
                detail: None,
            },
            Ok(status) if status == reqwest::StatusCode::TOO_MANY_REQUESTS => Health {
                status: HealthStatus::Degraded,
                detail: Some("Stripe is rate limiting this key (429)".into()),
            },
            Ok(status) => unhealthy(format!("Stripe answered HTTP {}", status.as_u16())),
            Err(error) => unhealthy(format!(
                "Stripe does not answer: {}",
                if error.is_timeout() {
                    "timed out"
                } else {
                    "connection failed"
                }
            )),
        }
    }

    fn webhook(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookOutcome, PluginError> {
        let verifier = self.ready()?.webhooks.as_ref().ok_or_else(|| {
            // An error, not a rejection: the server answers 5xx and Stripe delivers
            // again, by which time an admin may have set the secret.
            PluginError::rejected(format!(
                "the credential `{}` is not set: webhooks cannot be verified",
                credential::WEBHOOK_SECRET
            ))
        })?;
        Ok(verifier.verify(headers, body, Utc::now().timestamp()))
    }
}

impl PluginHandler for StripePlugin {
    fn descriptor(&self) -> &PluginDescriptor {
        &DESCRIPTOR
    }

    fn initialize<'a>(&'a mut self, config: PluginConfig) -> BoxFuture<'a, Result<(), PluginError>> {
        async move {
            let settings: Settings = if config.settings.is_null() {
                Settings::default()
            } else {
                config.settings()?
            };
            let secret_key = config.credentials.require(credential::SECRET_KEY)?.clone();
            let secrets: Vec<_> = [credential::WEBHOOK_SECRET, credential::PREVIOUS_WEBHOOK_SECRET]
                .into_iter()
                .filter_map(|name| config.credentials.get(name).cloned())
                .collect();
            let webhooks = config
                .credentials
                .get(credential::WEBHOOK_SECRET)
                .is_some()
                .then(|| WebhookVerifier::new(secrets, settings.webhook_tolerance_secs));
            let api = StripeApi::new(&config.base_url, secret_key, &settings)?;
            self.ready = Some(Ready { api, webhooks });
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
        self.connection_test().boxed()
    }

    fn health_check(&self) -> BoxFuture<'_, Health> {
        self.health().boxed()
    }

    fn handle_webhook<'a>(
        &'a self,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<WebhookOutcome, PluginError>> {
        async move { self.webhook(headers, body) }.boxed()
    }

    fn cleanup(&self) -> BoxFuture<'_, Result<(), PluginError>> {
        // Nothing is held beyond the HTTP client, which closes when dropped.
        async { Ok(()) }.boxed()
    }
}
