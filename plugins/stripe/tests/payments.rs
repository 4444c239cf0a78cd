//! The plugin charging and refunding patients against the simulator, over HTTP.

mod common;

use std::time::Duration;

use claimbridge_plugin_sdk::{
    execute_checked, Category, EligibilityRequest, ErrorClass, Operation, PaymentStatus, PluginHandler,
    RefundStatus,
};
use claimbridge_plugin_stripe::StripePlugin;
use claimbridge_plugin_stripe::DEFAULT_STRIPE_VERSION;
use claimbridge_simulator_kit::Fault;
use common::*;

#[tokio::test]
async fn a_card_payment_is_created_and_confirmed_for_its_exact_amount() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;

    let result = pay(&plugin, &payment("123.45", "pm_card_visa", "pay-1"))
        .await
        .unwrap();

    assert_eq!(result.status, PaymentStatus::Succeeded);
    assert_eq!(result.amount, usd("123.45"));
    assert!(result.vendor_payment_id.starts_with("pi_"));
    let intents = simulator.payment_intents();
    assert_eq!(intents.len(), 1);
    let intent = &intents[0];
    assert_eq!(intent["id"], result.vendor_payment_id.as_str());
    assert_eq!(intent["amount"], 12345);
    assert_eq!(intent["currency"], "usd");
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["metadata"]["claim_id"], "C-1");
    assert_eq!(intent["metadata"]["patient_id"], "Patient/synthetic-1");
    let customer = result.vendor_customer_id.clone().unwrap();
    assert_eq!(intent["customer"], customer.as_str());
    assert_eq!(
        simulator.customers()[0]["metadata"]["patient_id"],
        "Patient/synthetic-1"
    );
    // Every POST carried an idempotency key derived from the operation's, and
    // every request the pinned version.
    for request in simulator.requests() {
        assert_eq!(
            request.stripe_version.as_deref(),
            Some(DEFAULT_STRIPE_VERSION),
            "{request:?}"
        );
        if request.method == "POST" {
            assert!(
                request.idempotency_key.as_deref().unwrap().starts_with("pay-1"),
                "{request:?}"
            );
        }
    }
    let posts: Vec<_> = simulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[1].idempotency_key.as_deref(), Some("pay-1"));
}

#[tokio::test]
async fn the_patients_customer_is_found_again_rather_than_created_twice() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    let first = pay(&plugin, &payment("10.00", "pm_card_visa", "pay-a"))
        .await
        .unwrap();
    let second = pay(&plugin, &payment("20.00", "pm_card_visa", "pay-b"))
        .await
        .unwrap();
    assert_eq!(first.vendor_customer_id, second.vendor_customer_id);
    assert_eq!(simulator.customers().len(), 1);
    assert_eq!(simulator.payment_intents().len(), 2);
}

#[tokio::test]
async fn a_declined_card_is_final_and_says_why() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;

    let error = pay(
        &plugin,
        &payment("50.00", "pm_card_chargeDeclinedInsufficientFunds", "pay-2"),
    )
    .await
    .unwrap_err();

    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    let text = error.to_string();
    for part in ["card_error", "card_declined", "insufficient_funds"] {
        assert!(text.contains(part), "{text}");
    }
    assert_eq!(
        simulator.payment_intents()[0]["status"],
        "requires_payment_method"
    );
    let generic = pay(&plugin, &payment("50.00", "pm_card_chargeDeclined", "pay-3"))
        .await
        .unwrap_err();
    assert!(generic.to_string().contains("generic_decline"), "{generic}");
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_gets_the_same_payment_intent_and_charges_once() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    let known = pay(&plugin, &payment("1.00", "pm_card_visa", "setup"))
        .await
        .unwrap();
    let mut request = payment("75.10", "pm_card_visa", "pay-lost-answer");
    request.customer.vendor_customer_id = known.vendor_customer_id.clone();

    // Stripe creates and confirms the PaymentIntent, then the answer is lost.
    simulator.kit().set_fault(Fault::TimeoutAfterAccepting, Some(1));
    let lost = pay(&plugin, &request).await.unwrap_err();
    assert_eq!(lost.class(), ErrorClass::Transient, "{lost}");
    assert_eq!(simulator.payment_intents().len(), 2);

    let retried = pay(&plugin, &request).await.unwrap();
    assert_eq!(retried.status, PaymentStatus::Succeeded);
    assert_eq!(retried.amount, usd("75.10"));
    let intents = simulator.payment_intents();
    assert_eq!(intents.len(), 2, "the retry created nothing");
    assert!(intents
        .iter()
        .any(|intent| intent["id"] == retried.vendor_payment_id.as_str() && intent["amount"] == 7510));
    let keys: Vec<_> = simulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/payment_intents")
        .filter_map(|r| r.idempotency_key)
        .filter(|key| key == "pay-lost-answer")
        .collect();
    assert_eq!(keys.len(), 2, "both attempts carried the operation's key");

    // And a plain second execution of the same operation answers the same intent.
    let again = pay(&plugin, &request).await.unwrap();
    assert_eq!(again.vendor_payment_id, retried.vendor_payment_id);
    assert_eq!(simulator.payment_intents().len(), 2);
}

#[tokio::test]
async fn the_same_key_with_other_parameters_is_final() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    pay(&plugin, &payment("40.00", "pm_card_visa", "pay-4"))
        .await
        .unwrap();

    let error = pay(&plugin, &payment("41.00", "pm_card_visa", "pay-4"))
        .await
        .unwrap_err();

    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    assert!(error.to_string().contains("idempotency_error"), "{error}");
    assert_eq!(simulator.payment_intents().len(), 1);
}

#[tokio::test]
async fn a_card_needing_3d_secure_reports_requires_action_then_the_retry_sees_it_succeed() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    let request = payment("60.00", "pm_card_authenticationRequired", "pay-3ds");

    let first = pay(&plugin, &request).await.unwrap();
    assert_eq!(first.status, PaymentStatus::RequiresAction);

    let answer = claimbridge_plugin_sdk::http_client::client(Duration::from_secs(2))
        .unwrap()
        .post(format!(
            "{}/__simulator/payment-intents/{}/authenticate",
            simulator.base_url(),
            first.vendor_payment_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    // Stripe replays the stored `requires_action`; the plugin reads the intent now.
    let again = pay(&plugin, &request).await.unwrap();
    assert_eq!(again.vendor_payment_id, first.vendor_payment_id);
    assert_eq!(again.status, PaymentStatus::Succeeded);
}

#[tokio::test]
async fn a_partial_refund_then_more_than_is_left_is_refused_then_the_rest() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    let paid = pay(&plugin, &payment("100.00", "pm_card_visa", "pay-5"))
        .await
        .unwrap();

    let partial = refund_with(
        &plugin,
        &refund(&paid.vendor_payment_id, Some("40.00"), "refund-1"),
    )
    .await
    .unwrap();
    assert_eq!(partial.status, RefundStatus::Succeeded);
    assert_eq!(partial.amount, usd("40.00"));
    assert!(partial.vendor_refund_id.starts_with("re_"));

    let too_much = refund_with(
        &plugin,
        &refund(&paid.vendor_payment_id, Some("60.01"), "refund-2"),
    )
    .await
    .unwrap_err();
    assert_eq!(too_much.class(), ErrorClass::Final, "{too_much}");
    assert!(
        too_much.to_string().contains("greater than unrefunded amount"),
        "{too_much}"
    );
    assert!(too_much.to_string().contains("[param amount]"), "{too_much}");

    let rest = refund_with(&plugin, &refund(&paid.vendor_payment_id, None, "refund-3"))
        .await
        .unwrap();
    assert_eq!(rest.amount, usd("60.00"));
    let nothing_left = refund_with(&plugin, &refund(&paid.vendor_payment_id, None, "refund-4"))
        .await
        .unwrap_err();
    assert!(
        nothing_left.to_string().contains("charge_already_refunded"),
        "{nothing_left}"
    );
    assert_eq!(simulator.refunds().len(), 2);
}

#[tokio::test]
async fn a_refund_in_another_currency_than_the_payment_is_refused_before_sending() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    let paid = pay(&plugin, &payment("100.00", "pm_card_visa", "pay-6"))
        .await
        .unwrap();
    let mut request = refund(&paid.vendor_payment_id, Some("10"), "refund-jpy");
    request.amount.as_mut().unwrap().currency = "JPY".into();
    let error = refund_with(&plugin, &request).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(simulator.refunds().is_empty());
}

#[tokio::test]
async fn server_errors_and_throttling_are_transient_a_rejection_final() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    let mut request = payment("10.00", "pm_card_visa", "pay-7");
    request.customer.vendor_customer_id = Some(
        pay(&plugin, &payment("1.00", "pm_card_visa", "setup"))
            .await
            .unwrap()
            .vendor_customer_id
            .unwrap(),
    );

    simulator.kit().set_fault(Fault::ServerError, Some(1));
    let server_error = pay(&plugin, &request).await.unwrap_err();
    assert_eq!(server_error.class(), ErrorClass::Transient, "{server_error}");

    simulator
        .kit()
        .set_fault(Fault::RateLimited { retry_after_secs: 7 }, Some(1));
    let throttled = pay(&plugin, &request).await.unwrap_err();
    assert_eq!(throttled.class(), ErrorClass::Transient, "{throttled}");
    assert_eq!(throttled.retry_after(), Some(Duration::from_secs(7)));

    simulator.kit().set_fault(Fault::Reject, Some(1));
    let rejected = pay(&plugin, &request).await.unwrap_err();
    assert_eq!(rejected.class(), ErrorClass::Final, "{rejected}");
    assert!(
        rejected.to_string().contains("invalid_request_error"),
        "{rejected}"
    );

    // The key was never used up: the same operation now goes through.
    assert_eq!(
        pay(&plugin, &request).await.unwrap().status,
        PaymentStatus::Succeeded
    );
}

#[tokio::test]
async fn a_vendor_that_is_down_is_transient() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    simulator
        .kit()
        .set_fault(Fault::Down { for_duration: None }, None);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let error = pay(&plugin, &payment("10.00", "pm_card_visa", "pay-8"))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    simulator.kit().clear_fault();
}

#[tokio::test]
async fn an_amount_finer_than_cents_is_refused_before_anything_is_sent() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    let error = pay(&plugin, &payment("10.005", "pm_card_visa", "pay-9"))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);
    assert!(simulator.requests().is_empty());
}

#[tokio::test]
async fn a_zero_decimal_currency_is_sent_in_whole_units_and_read_back_exactly() {
    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    let mut request = payment("500", "pm_card_visa", "pay-yen");
    request.amount.currency = "JPY".into();

    let result = pay(&plugin, &request).await.unwrap();

    assert_eq!(result.amount, request.amount);
    assert_eq!(result.amount.currency, "JPY");
    let intent = &simulator.payment_intents()[0];
    assert_eq!(intent["amount"], 500);
    assert_eq!(intent["currency"], "jpy");
}

#[tokio::test]
async fn only_payments_and_refunds_are_offered_and_only_once_initialized() {
    let uninitialized = StripePlugin::new();
    let error = pay(&uninitialized, &payment("1.00", "pm_card_visa", "pay-x"))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final);

    let simulator = simulator().await;
    let plugin = plugin(&simulator).await;
    let descriptor = plugin.descriptor();
    assert_eq!(descriptor.vendor, claimbridge_plugin_stripe::VENDOR);
    assert_eq!(descriptor.category, Category::Payments);
    let eligibility = Operation::Eligibility(EligibilityRequest {
        inquiry_270: "ISA*00*~".into(),
    });
    let refused = execute_checked(&plugin, &eligibility).await.unwrap_err();
    assert_eq!(refused.class(), ErrorClass::Final);
    assert!(simulator.requests().is_empty());
}
