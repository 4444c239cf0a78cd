//! Outbound webhooks as a subscriber meets them: an admin subscribes a URL to
//! events and gets a signing secret once; claims moving through billing are then
//! POSTed to that URL, signed (`Claimbridge-Signature: t=…,v1=…`), with ids and
//! states but no PHI; a subscriber that fails gets the event again until it
//! answers 2xx, and every attempt is listed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{fhir_json, TestApp};
use crate::remittance::{billed_claim, interchange, paid_in_full, payment, post_835};
use crate::submission::ready_claim;

crate::on_both_backends!(
    claim_events_reach_the_subscriber_signed_and_without_phi,
    a_subscriber_failing_twice_gets_the_event_on_the_third_try,
    bad_subscriptions_are_refused_naming_the_field,
);

mod sandbox {
    use super::*;

    crate::on_both_backends!(
        with crate::helpers::TestOptions::SANDBOX;
        eligibility_checks_and_835_payments_are_told_too,
    );
}

/// What the patient of `claim_for_new_patient` is known by: none of it may leave.
const PHI: [&str; 5] = ["Doe", "Jane", "1980-02-29", "M123", "Elm St"];

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    event: String,
    delivery: String,
    signature: String,
    content_type: String,
    body: String,
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Requests still to answer with a 500.
    failures_left: Mutex<usize>,
}

/// A subscriber's endpoint on loopback that keeps what it is sent and answers 500
/// to the first `fail_first` requests, 204 after.
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
}

impl Receiver {
    fn start(fail_first: usize) -> Receiver {
        let state = Arc::new(ReceiverState::default());
        *state.failures_left.lock().unwrap() = fail_first;
        let shared = web::Data::from(Arc::clone(&state));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Receiver {
            url: format!("http://{address}/hooks/claimbridge"),
            state,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until `count` requests came, and returns them all.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..500 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {count} deliveries, got {:#?}", self.received());
    }
}

async fn receive(state: web::Data<ReceiverState>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    state.received.lock().unwrap().push(Received {
        event: header("Claimbridge-Event"),
        delivery: header("Claimbridge-Delivery"),
        signature: header("Claimbridge-Signature"),
        content_type: header("Content-Type"),
        body: String::from_utf8(body.to_vec()).unwrap(),
    });
    let mut failures_left = state.failures_left.lock().unwrap();
    if *failures_left > 0 {
        *failures_left -= 1;
        return HttpResponse::InternalServerError().body("down for maintenance");
    }
    HttpResponse::NoContent().finish()
}

/// Checks `Claimbridge-Signature` as the README tells subscribers to: the HMAC of
/// `"<t>.<body>"` under the secret, and a recent `t`.
fn assert_signed(received: &Received, secret: &str) {
    let mut timestamp = None;
    let mut signature = None;
    for part in received.signature.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = Some(value.to_owned()),
            Some(("v1", value)) => signature = Some(value.to_owned()),
            _ => {}
        }
    }
    let (timestamp, signature) = (timestamp.unwrap(), signature.unwrap());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", received.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(signature, expected, "signature of {}", received.body);
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "t is {age} s old");
}

/// Subscribes `url` to `events`; returns the subscription's id and its secret.
async fn subscribe(app: &TestApp, url: &str, events: Value) -> (String, String) {
    let (status, created) = app
        .api_post("/admin/webhooks", &json!({"url": url, "events": events}))
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "32 random bytes, base64url: {created}");
    (created["id"].as_str().unwrap().to_owned(), secret)
}

/// The subscription's deliveries once `count` are recorded (each is recorded just
/// after the subscriber answers).
async fn recorded_deliveries(app: &TestApp, subscription: &str, count: usize) -> Value {
    for _ in 0..250 {
        let (status, page) = app
            .api_get(&format!("/admin/webhooks/{subscription}/deliveries"))
            .await;
        assert_eq!(status, 200, "{page}");
        if page["deliveries"].as_array().unwrap().len() >= count {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{count} deliveries were not recorded");
}

async fn move_claim(app: &TestApp, claim_id: &str, to: &str) {
    let (status, body) = app
        .api_post(
            &format!("/api/billing/claims/{claim_id}/transitions"),
            &json!({"to": to, "actor": "biller-1"}),
        )
        .await;
    assert_eq!((status, &body["status"]), (200, &json!(to)), "{body}");
}

async fn claim_events_reach_the_subscriber_signed_and_without_phi(app: &TestApp) {
    let receiver = Receiver::start(0);
    let (subscription, secret) = subscribe(app, &receiver.url, json!(["*"])).await;

    let claim = ready_claim(app).await;
    for state in ["submitted", "accepted", "paid"] {
        move_claim(app, &claim, state).await;
    }

    let received = receiver.wait_for(4).await;
    let types: BTreeSet<&str> = received.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        types,
        BTreeSet::from(["claim.created", "claim.submitted", "claim.accepted", "claim.paid"])
    );
    for delivery in &received {
        assert_signed(delivery, &secret);
        assert_eq!(delivery.content_type, "application/json");
        let body: Value = serde_json::from_str(&delivery.body).unwrap();
        assert_eq!(body["type"], delivery.event.as_str());
        assert_eq!(body["id"], delivery.delivery.as_str());
        assert!(delivery.delivery.starts_with("evt_"), "{}", delivery.delivery);
        assert_eq!(body["tenant"], "default");
        assert_eq!(body["data"]["claimId"], claim.as_str());
        let state = body["data"]["state"].as_str().unwrap();
        let expected = match delivery.event.as_str() {
            "claim.created" => "draft",
            other => other.trim_start_matches("claim."),
        };
        assert_eq!(state, expected, "{body}");
        for phi in PHI {
            assert!(!delivery.body.contains(phi), "{phi} in {}", delivery.body);
        }
    }
    assert!(
        received
            .iter()
            .map(|r| &r.delivery)
            .collect::<BTreeSet<_>>()
            .len()
            == 4,
        "each event has its own id"
    );

    // The secret was shown once: no later answer carries it.
    let reads = [
        app.api_get(&format!("/admin/webhooks/{subscription}")).await.1,
        app.api_get("/admin/webhooks").await.1,
        recorded_deliveries(app, &subscription, 4).await,
        app.api_send(
            reqwest::Method::PATCH,
            &format!("/admin/webhooks/{subscription}"),
            Some(&json!({"events": ["claim.paid", "claim.denied"]})),
        )
        .await
        .1
        .parse()
        .unwrap(),
    ];
    for answer in &reads {
        assert!(!answer.to_string().contains(&secret), "{answer}");
    }
    assert_eq!(reads[0]["secret"], "set");
    assert_eq!(reads[1]["subscriptions"][0]["secret"], "set");
    assert_eq!(reads[3]["events"], json!(["claim.paid", "claim.denied"]));
    let delivered = reads[2]["deliveries"].as_array().unwrap();
    assert_eq!(delivered.len(), 4, "{}", reads[2]);
    assert!(delivered
        .iter()
        .all(|d| d["status"] == "delivered" && d["httpStatus"] == 204));

    // A rotated secret is shown once and signs what follows.
    let (status, rotated) = app
        .api_send(
            reqwest::Method::PATCH,
            &format!("/admin/webhooks/{subscription}"),
            Some(&json!({"rotateSecret": true, "events": ["*"]})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let rotated: Value = serde_json::from_str(&rotated).unwrap();
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let next = ready_claim(app).await;
    let received = receiver.wait_for(5).await;
    let created = received
        .iter()
        .find(|r| r.body.contains(&next))
        .expect("the new claim's claim.created");
    assert_signed(created, new_secret);
}

async fn a_subscriber_failing_twice_gets_the_event_on_the_third_try(app: &TestApp) {
    let receiver = Receiver::start(2);
    let (subscription, secret) = subscribe(app, &receiver.url, json!(["claim.submitted"])).await;
    // Neither another tenant's subscription nor a disabled one hears of the claim.
    for other in [
        json!({"url": receiver.url, "events": ["*"], "tenant": "other-clinic"}),
        json!({"url": receiver.url, "events": ["*"], "enabled": false}),
    ] {
        let (status, created) = app.api_post("/admin/webhooks", &other).await;
        assert_eq!(status, 201, "{created}");
    }

    let claim = ready_claim(app).await;
    move_claim(app, &claim, "submitted").await;

    let received = receiver.wait_for(3).await;
    assert!(
        received.iter().all(|r| r.event == "claim.submitted"),
        "only what it asked for: {received:#?}"
    );
    // The same event, signed each time, on every attempt.
    assert!(received.iter().all(|r| r.delivery == received[0].delivery));
    assert!(received.iter().all(|r| r.body == received[0].body));
    for attempt in &received {
        assert_signed(attempt, &secret);
    }

    let deliveries = recorded_deliveries(app, &subscription, 3).await;
    let attempts: Vec<(i64, &str, i64)> = deliveries["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["eventId"], received[0].delivery.as_str());
            assert_eq!(d["eventType"], "claim.submitted");
            (
                d["attempt"].as_i64().unwrap(),
                d["status"].as_str().unwrap(),
                d["httpStatus"].as_i64().unwrap(),
            )
        })
        .collect();
    // Newest first.
    assert_eq!(
        attempts,
        [(3, "delivered", 204), (2, "failed", 500), (1, "failed", 500)],
        "{deliveries}"
    );
    let failed = &deliveries["deliveries"][1];
    assert!(failed["error"].as_str().unwrap().contains("500"), "{failed}");
    assert!(
        !deliveries.to_string().contains("maintenance"),
        "the subscriber's body is not kept"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.received().len(),
        3,
        "nothing more once delivered, nothing for the other subscriptions"
    );
}

async fn bad_subscriptions_are_refused_naming_the_field(app: &TestApp) {
    let refused = |body: Value| async move {
        let (status, answer) = app.api_post("/admin/webhooks", &body).await;
        assert_eq!(status, 422, "{body} → {answer}");
        answer["field"].as_str().unwrap().to_owned()
    };
    let events = json!(["claim.paid"]);
    assert_eq!(
        refused(json!({"url": "ftp://example.com/in", "events": events})).await,
        "url"
    );
    assert_eq!(
        refused(json!({"url": "/relative", "events": events})).await,
        "url"
    );
    assert_eq!(refused(json!({"events": events})).await, "url");
    let url = "https://hooks.example.com/in";
    assert_eq!(refused(json!({"url": url})).await, "events");
    assert_eq!(refused(json!({"url": url, "events": []})).await, "events");
    assert_eq!(
        refused(json!({"url": url, "events": "claim.paid"})).await,
        "events"
    );
    assert_eq!(
        refused(json!({"url": url, "events": ["claim.closed"]})).await,
        "events"
    );
    assert_eq!(
        refused(json!({"url": url, "events": ["*", "claim.paid"]})).await,
        "events"
    );
    assert_eq!(
        refused(json!({"url": url, "events": events, "enabled": "yes"})).await,
        "enabled"
    );

    let (id, _) = subscribe(app, url, events.clone()).await;
    let path = format!("/admin/webhooks/{id}");
    let (status, answer) = app
        .api_send(
            reqwest::Method::PATCH,
            &path,
            Some(&json!({"url": "mailto:x@example.com"})),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let (status, answer) = app
        .api_send(reqwest::Method::PATCH, &path, Some(&json!({"secret": "mine"})))
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(app.api_get(&path).await.1["url"], url, "nothing changed");

    assert_eq!(app.api_get("/admin/webhooks/no-such-id").await.0, 404);
    assert_eq!(app.api_get("/admin/webhooks/no-such-id/deliveries").await.0, 404);
    let (status, _) = app.api_send(reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    assert_eq!(app.api_get(&path).await.0, 404);
    let (status, _) = app
        .api_send(reqwest::Method::PATCH, &path, Some(&json!({"enabled": false})))
        .await;
    assert_eq!(status, 404);
}

async fn eligibility_checks_and_835_payments_are_told_too(app: &TestApp) {
    let receiver = Receiver::start(0);
    let (_, secret) = subscribe(
        app,
        &receiver.url,
        json!(["eligibility.checked", "payment.received", "claim.paid"]),
    )
    .await;

    let (claim_id, number) = billed_claim(app).await;
    let claim = fhir_json(app.get(&format!("Claim/{claim_id}")).await).await;
    let reference = |pointer: &str| {
        let reference = claim.pointer(pointer).and_then(Value::as_str).unwrap();
        reference.split_once('/').unwrap().1.to_owned()
    };
    let (patient, coverage) = (
        reference("/patient/reference"),
        reference("/insurance/0/coverage/reference"),
    );
    let (status, checked) = app
        .api_post(
            "/api/billing/eligibility/check",
            &json!({"patientId": patient, "coverageId": coverage, "provider": claim["provider"]}),
        )
        .await;
    assert_eq!(status, 201, "{checked}");
    let file = interchange(&[payment("TRACE-HOOK", "146.00", &[paid_in_full(&number)], "")]);
    let (status, posted) = post_835(app, &file).await;
    assert_eq!(status, 200, "{posted}");

    let received = receiver.wait_for(3).await;
    let body_of = |event: &str| -> Value {
        let delivery = received
            .iter()
            .find(|r| r.event == event)
            .unwrap_or_else(|| panic!("no {event} in {received:#?}"));
        serde_json::from_str(&delivery.body).unwrap()
    };
    let eligibility = &body_of("eligibility.checked")["data"];
    assert_eq!(eligibility["requestId"], checked["requestId"], "{eligibility}");
    assert_eq!(eligibility["responseId"], checked["responseId"]);
    assert_eq!(eligibility["patientId"], patient.as_str());
    assert_eq!(eligibility["coverageId"], coverage.as_str());
    assert_eq!(eligibility["active"], true);
    let paid = &body_of("payment.received")["data"];
    assert_eq!(paid["claimId"], claim_id.as_str(), "{paid}");
    assert_eq!(paid["state"], "paid");
    assert_eq!(paid["amount"].to_string(), "146.00");
    assert_eq!(paid["remittanceId"], posted["remittances"][0]["remittanceId"]);
    assert_eq!(body_of("claim.paid")["data"]["claimId"], claim_id.as_str());
    for delivery in &received {
        assert_signed(delivery, &secret);
        for phi in PHI {
            assert!(!delivery.body.contains(phi), "{phi} in {}", delivery.body);
        }
        assert!(!delivery.body.to_uppercase().contains("DOE"), "{}", delivery.body);
    }
}
