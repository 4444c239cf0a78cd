//! Patient payments: `POST /api/billing/payments` charges a payment method a
//! processor's own front-end component tokenized (card data never reaches
//! Claimbridge) through the tenant's payments integrations. The caller's
//! `Idempotency-Key` goes to the processor with the charge, so a retried request
//! charges once; the payment names its claim in the processor's metadata, so the
//! processor's `payment_intent.succeeded` webhook posts it to that claim.

use std::collections::BTreeMap;
use std::str::FromStr;

use actix_web::{web, HttpRequest, HttpResponse};
use claimbridge_plugin_sdk::{Customer, IdempotencyKey, Money, Operation, OperationOutput, PaymentRequest};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::integrations::orchestrator::{OrchestrationError, Request};
use crate::integrations::registry::DEFAULT_TENANT;
use crate::integrations::routes::IntegrationsContext;
use crate::integrations::Category;
use crate::webhooks::CLAIM_METADATA;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/billing/payments", web::post().to(pay));
}

fn problem(
    status: actix_web::http::StatusCode,
    field: Option<&str>,
    message: impl Into<String>,
) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": message.into(), "field": field}))
}

fn invalid(field: &str, message: &str) -> HttpResponse {
    problem(
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        Some(field),
        message,
    )
}

async fn pay(
    context: web::Data<IntegrationsContext>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some(key) = request
        .headers()
        .get("Idempotency-Key")
        .and_then(|value| value.to_str().ok())
        .filter(|key| !key.trim().is_empty())
    else {
        return problem(
            actix_web::http::StatusCode::BAD_REQUEST,
            None,
            "an Idempotency-Key header is required, so that a retried request charges once",
        );
    };
    let Ok(fields) = serde_json::from_slice::<Value>(&body) else {
        return problem(
            actix_web::http::StatusCode::BAD_REQUEST,
            None,
            "the body is not JSON",
        );
    };
    let text = |name: &str| fields[name].as_str().map(str::trim).filter(|s| !s.is_empty());
    let Some(patient_id) = text("patientId") else {
        return invalid("patientId", "required");
    };
    let Some(payment_method) = text("paymentMethod") else {
        return invalid(
            "paymentMethod",
            "required: the processor's token for the card or account",
        );
    };
    let amount = match &fields["amount"] {
        Value::Number(number) => Decimal::from_str(&number.to_string()).ok(),
        Value::String(text) => Decimal::from_str(text).ok(),
        _ => None,
    };
    let Some(amount) = amount.filter(|amount| *amount > Decimal::ZERO) else {
        return invalid("amount", "a positive decimal amount is required");
    };
    let currency = text("currency").unwrap_or("USD").to_ascii_uppercase();
    let mut metadata = BTreeMap::from([("patient_id".to_owned(), patient_id.to_owned())]);
    if let Some(claim_id) = text("claimId") {
        metadata.insert(CLAIM_METADATA.to_owned(), claim_id.to_owned());
    }
    let operation = Operation::PatientPayment(PaymentRequest {
        amount: Money { amount, currency },
        customer: Customer {
            patient_id: patient_id.to_owned(),
            vendor_customer_id: text("customerId").map(str::to_owned),
            name: None,
            email: text("email").map(str::to_owned),
        },
        payment_method: payment_method.to_owned(),
        description: text("description").map(str::to_owned),
        metadata,
        idempotency_key: IdempotencyKey(key.to_owned()),
    });
    let executed = context
        .orchestrator
        .execute_with_failover(Request {
            tenant: DEFAULT_TENANT,
            category: Category::Payments,
            operation: &operation,
            subject: text("claimId").map(|id| format!("Claim/{id}")).as_deref(),
            status_probe: None,
        })
        .await;
    match executed {
        Ok(executed) => match executed.output {
            OperationOutput::PatientPayment(result) => HttpResponse::Created().json(json!({
                "integrationId": executed.integration_id,
                "vendor": executed.vendor,
                "vendorPaymentId": result.vendor_payment_id,
                "vendorCustomerId": result.vendor_customer_id,
                "status": result.status,
                "amount": crate::billing::remittance::money::json_amount(result.amount.amount),
                "currency": result.amount.currency,
            })),
            _ => problem(
                actix_web::http::StatusCode::BAD_GATEWAY,
                None,
                "the processor answered another operation",
            ),
        },
        // A decline or a refused request: the patient or the data, not the processor.
        Err(OrchestrationError::Refused { error, .. }) => problem(
            actix_web::http::StatusCode::PAYMENT_REQUIRED,
            None,
            error.to_string(),
        ),
        Err(error) => problem(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            None,
            error.to_string(),
        ),
    }
}
