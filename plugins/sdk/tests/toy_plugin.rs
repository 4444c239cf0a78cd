//! A toy clearinghouse written as a plugin author would write one, driven only through
//! `Box<dyn PluginHandler>` as the registry will drive real ones: proves the trait is
//! dyn-compatible and that the contract's checks hold from outside the crate.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use claimbridge_plugin_sdk::http::{HeaderMap, HeaderValue, StatusCode};
use claimbridge_plugin_sdk::{
    execute_checked, Capability, Category, ClaimSubmission, ConnectionCheck, Credentials, EligibilityRequest,
    EligibilityResponse, ErrorClass, Health, HealthStatus, Idempotency, Operation, OperationOutput,
    PayerList, PayerListRequest, PluginConfig, PluginDescriptor, PluginError, PluginHandler, Secret,
    WebhookEvent, WebhookOutcome, WebhookRejection,
};
use futures_util::future::{self, BoxFuture};
use futures_util::FutureExt;
use serde::Deserialize;
use serde_json::{json, Value};

const TOY: PluginDescriptor = PluginDescriptor {
    vendor: "toy",
    display_name: "Toy clearinghouse",
    category: Category::Clearinghouse,
    capabilities: &[Capability::Eligibility, Capability::PayerList],
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToySettings {
    /// Answers payer lists with eligibility output, like a buggy plugin would.
    answer_payer_list_wrongly: bool,
}

/// What the test watches from outside the boxed handler.
#[derive(Default)]
struct Probe {
    executed: AtomicUsize,
    cleaned_up: AtomicBool,
}

/// Once initialized, what the toy works with.
struct Ready {
    api_key: Secret,
    settings: ToySettings,
}

struct ToyClearinghouse {
    ready: Option<Ready>,
    probe: Arc<Probe>,
}

impl ToyClearinghouse {
    fn ready(&self) -> Result<&Ready, PluginError> {
        self.ready
            .as_ref()
            .ok_or_else(|| PluginError::rejected("not initialized"))
    }

    fn eligibility(&self, request: &EligibilityRequest) -> Result<OperationOutput, PluginError> {
        if request.inquiry_270.contains("BUSY") {
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", HeaderValue::from_static("7"));
            return Err(PluginError::from_status(
                StatusCode::SERVICE_UNAVAILABLE,
                &headers,
                Idempotency::Idempotent,
                "try later",
            ));
        }
        Ok(OperationOutput::Eligibility(EligibilityResponse {
            response_271: request.inquiry_270.replace("*270*", "*271*"),
            vendor_reference: Some("toy-1".into()),
        }))
    }

    fn payer_list(&self, settings: &ToySettings) -> OperationOutput {
        if settings.answer_payer_list_wrongly {
            return OperationOutput::Eligibility(EligibilityResponse {
                response_271: String::new(),
                vendor_reference: None,
            });
        }
        OperationOutput::PayerList(PayerList { payers: vec![] })
    }

    fn read_webhook(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookOutcome, PluginError> {
        let ready = self.ready()?;
        let signed = headers
            .get("x-toy-signature")
            .and_then(|value| value.to_str().ok());
        if signed != Some(ready.api_key.expose()) {
            return Ok(WebhookOutcome::Rejected(WebhookRejection::Unauthenticated(
                "signature does not match".into(),
            )));
        }
        let Ok(payload) = serde_json::from_slice::<Value>(body) else {
            return Ok(WebhookOutcome::Rejected(WebhookRejection::Malformed(
                "not JSON".into(),
            )));
        };
        Ok(WebhookOutcome::Verified(WebhookEvent {
            id: payload["id"].as_str().unwrap_or_default().into(),
            event_type: payload["type"].as_str().unwrap_or_default().into(),
            payload,
        }))
    }
}

impl PluginHandler for ToyClearinghouse {
    fn descriptor(&self) -> &PluginDescriptor {
        &TOY
    }

    fn initialize<'a>(&'a mut self, config: PluginConfig) -> BoxFuture<'a, Result<(), PluginError>> {
        async move {
            let settings = config.settings()?;
            let api_key = config.credentials.require("apiKey")?.clone();
            self.ready = Some(Ready { api_key, settings });
            Ok(())
        }
        .boxed()
    }

    fn execute<'a>(
        &'a self,
        operation: &'a Operation,
    ) -> BoxFuture<'a, Result<OperationOutput, PluginError>> {
        self.probe.executed.fetch_add(1, Ordering::SeqCst);
        let answer = self.ready().and_then(|ready| match operation {
            Operation::Eligibility(request) => self.eligibility(request),
            Operation::PayerList(_) => Ok(self.payer_list(&ready.settings)),
            other => Err(PluginError::unsupported(TOY.vendor, other.capability())),
        });
        future::ready(answer).boxed()
    }

    fn test_connection(&self) -> BoxFuture<'_, Result<ConnectionCheck, PluginError>> {
        let answer = self.ready().map(|_| ConnectionCheck {
            detail: "key accepted".into(),
        });
        future::ready(answer).boxed()
    }

    fn health_check(&self) -> BoxFuture<'_, Health> {
        let health = match self.ready {
            Some(_) => Health {
                status: HealthStatus::Healthy,
                detail: None,
            },
            None => Health {
                status: HealthStatus::Unhealthy,
                detail: Some("not initialized".into()),
            },
        };
        future::ready(health).boxed()
    }

    fn handle_webhook<'a>(
        &'a self,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<WebhookOutcome, PluginError>> {
        future::ready(self.read_webhook(headers, body)).boxed()
    }

    fn cleanup(&self) -> BoxFuture<'_, Result<(), PluginError>> {
        self.probe.cleaned_up.store(true, Ordering::SeqCst);
        future::ready(Ok(())).boxed()
    }
}

fn config(settings: Value) -> PluginConfig {
    let mut credentials = Credentials::default();
    credentials.insert("apiKey", Secret::new("toy-key"));
    PluginConfig {
        base_url: "http://127.0.0.1:9".into(),
        settings,
        credentials,
    }
}

/// A toy plugin as the registry holds one, initialized with `settings`.
async fn plugin(settings: Value) -> (Box<dyn PluginHandler>, Arc<Probe>) {
    let probe = Arc::new(Probe::default());
    let mut handler: Box<dyn PluginHandler> = Box::new(ToyClearinghouse {
        ready: None,
        probe: probe.clone(),
    });
    handler.initialize(config(settings)).await.unwrap();
    (handler, probe)
}

fn eligibility(inquiry: &str) -> Operation {
    Operation::Eligibility(EligibilityRequest {
        inquiry_270: inquiry.into(),
    })
}

#[tokio::test]
async fn a_declared_operation_runs_and_answers_in_kind() {
    let (handler, _) = plugin(json!({"answerPayerListWrongly": false})).await;
    let output = execute_checked(handler.as_ref(), &eligibility("ST*270*0001~"))
        .await
        .unwrap();
    let OperationOutput::Eligibility(answer) = output else {
        panic!("{output:?}")
    };
    assert_eq!(answer.response_271, "ST*271*0001~");
}

#[tokio::test]
async fn an_undeclared_operation_is_final_and_never_reaches_the_plugin() {
    let (handler, probe) = plugin(json!({"answerPayerListWrongly": false})).await;
    let submission = Operation::SubmitClaim(ClaimSubmission {
        submission_id: "sub-1".into(),
        interchange_837p: "ISA*00*…~".into(),
    });
    let error = execute_checked(handler.as_ref(), &submission).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(!error.may_fail_over());
    assert_eq!(
        error.to_string(),
        "the integration refused the request: toy does not offer submit_claim"
    );
    assert_eq!(probe.executed.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_output_that_does_not_answer_the_operation_is_refused() {
    let (handler, probe) = plugin(json!({"answerPayerListWrongly": true})).await;
    let error = execute_checked(
        handler.as_ref(),
        &Operation::PayerList(PayerListRequest::default()),
    )
    .await
    .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(
        error
            .to_string()
            .contains("toy answered payer_list with eligibility"),
        "{error}"
    );
    assert_eq!(probe.executed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_vendor_failure_keeps_its_class_and_wait_through_the_trait_object() {
    let (handler, _) = plugin(json!({"answerPayerListWrongly": false})).await;
    let error = execute_checked(handler.as_ref(), &eligibility("ST*270*BUSY~"))
        .await
        .unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(std::time::Duration::from_secs(7)));
}

#[tokio::test]
async fn initialization_refuses_a_configuration_that_cannot_work() {
    let mut handler: Box<dyn PluginHandler> = Box::new(ToyClearinghouse {
        ready: None,
        probe: Arc::default(),
    });
    assert_eq!(handler.health_check().await.status, HealthStatus::Unhealthy);

    let mut without_key = config(json!({"answerPayerListWrongly": false}));
    without_key.credentials = Credentials::default();
    let error = handler.initialize(without_key).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(error.to_string().contains("apiKey"), "{error}");

    let error = handler.initialize(config(json!({}))).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(handler.test_connection().await.is_err());
}

#[tokio::test]
async fn the_life_cycle_runs_through_the_trait_object() {
    let (handler, probe) = plugin(json!({"answerPayerListWrongly": false})).await;
    assert_eq!(handler.test_connection().await.unwrap().detail, "key accepted");
    assert_eq!(handler.health_check().await.status, HealthStatus::Healthy);
    handler.cleanup().await.unwrap();
    assert!(probe.cleaned_up.load(Ordering::SeqCst));
}

#[tokio::test]
async fn webhooks_are_verified_or_rejected_with_the_status_to_answer() {
    let (handler, _) = plugin(json!({"answerPayerListWrongly": false})).await;
    let body = br#"{"id": "evt_1", "type": "claim.accepted"}"#;

    let mut signed = HeaderMap::new();
    signed.insert("x-toy-signature", HeaderValue::from_static("toy-key"));
    let WebhookOutcome::Verified(event) = handler.handle_webhook(&signed, body).await.unwrap() else {
        panic!("a signed event is verified")
    };
    assert_eq!(
        (event.id.as_str(), event.event_type.as_str()),
        ("evt_1", "claim.accepted")
    );

    let mut forged = HeaderMap::new();
    forged.insert("x-toy-signature", HeaderValue::from_static("guess"));
    let WebhookOutcome::Rejected(rejection) = handler.handle_webhook(&forged, body).await.unwrap() else {
        panic!("a forged event is rejected")
    };
    assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);

    let WebhookOutcome::Rejected(rejection) = handler.handle_webhook(&signed, b"not json").await.unwrap()
    else {
        panic!("an unreadable event is rejected")
    };
    assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
}

/// The registry shares handlers between tasks.
#[test]
fn a_handler_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + ?Sized>() {}
    shareable::<dyn PluginHandler>();
    shareable::<Arc<dyn PluginHandler>>();
}
