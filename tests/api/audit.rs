//! The audit trail as an auditor meets it: every access to PHI — reads, searches,
//! creates, failures, refusals, HL7 messages — and every admin change leaves a FHIR
//! AuditEvent, found through `GET /fhir/AuditEvent` with an auditor's token; the
//! trail names who, what (by reference), when, from where and how it ended, and
//! holds no PHI.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{bearer_client, client_credentials_token, TestApp};
use crate::hl7::{admit, field, messages, search, send_one, MllpClient, MRN};

crate::on_both_backends!(
    reads_searches_creates_and_failures_are_audited,
    refused_requests_are_audited_with_what_is_known,
    only_auditors_read_the_trail_and_only_their_tenant,
    no_phi_reaches_the_audit_trail,
    admin_changes_are_audited,
    hl7_messages_over_mllp_are_audited,
    a_failed_mllp_message_s_event_names_its_stored_record,
    an_mllp_message_is_stored_only_with_its_audit_event,
    bundles_history_operations_and_billing_calls_are_audited,
);

/// A PHI-laden patient: the values the trail must never hold.
const FAMILY: &str = "Auditkowski";
const GIVEN: &str = "Philomena";
const BIRTH_DATE: &str = "1961-07-04";
const MRN_VALUE: &str = "MRN-55501234";

fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{"system": "http://hospital.example/mrn", "value": MRN_VALUE}],
        "name": [{"family": FAMILY, "given": [GIVEN]}],
        "birthDate": BIRTH_DATE,
    })
}

/// Registers a confidential client with `scopes` (in `tenant`, if given) and
/// returns an HTTP client carrying its token.
async fn client_with(app: &TestApp, client_id: &str, scopes: &str, tenant: Option<&str>) -> reqwest::Client {
    let mut registration =
        json!({"clientId": client_id, "name": client_id, "type": "confidential", "scopes": scopes});
    if let Some(tenant) = tenant {
        registration["tenant"] = json!(tenant);
    }
    let (status, body) = app.api_post("/admin/clients", &registration).await;
    assert_eq!(status, 201, "{body}");
    let secret = body["clientSecret"].as_str().expect("a secret");
    bearer_client(&client_credentials_token(&app.base, client_id, secret, None).await)
}

async fn auditor(app: &TestApp) -> reqwest::Client {
    client_with(app, "auditor-1", "auditor", None).await
}

/// The AuditEvents a search finds, once `wanted` holds for them: the trail is
/// written in batches, so the search is repeated (for up to ten seconds) until
/// the expected events are there.
async fn events_until(
    app: &TestApp,
    auditor: &reqwest::Client,
    query: &[(&str, &str)],
    wanted: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..200 {
        let answer = auditor
            .get(app.url("AuditEvent"))
            .query(query)
            .send()
            .await
            .expect("search the trail");
        assert_eq!(answer.status(), 200, "{query:?}");
        let bundle: Value = answer.json().await.expect("a Bundle");
        assert_eq!(bundle["type"], "searchset");
        last = bundle["entry"]
            .as_array()
            .map(|entries| entries.iter().map(|e| e["resource"].clone()).collect())
            .unwrap_or_default();
        if wanted(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no AuditEvent as wanted for {query:?}; found {last:#?}");
}

/// The one event a search finds, once there is one.
async fn the_event(app: &TestApp, auditor: &reqwest::Client, query: &[(&str, &str)]) -> Value {
    let events = events_until(app, auditor, query, |events| !events.is_empty()).await;
    assert_eq!(events.len(), 1, "{query:?}: {events:#?}");
    events[0].clone()
}

/// `agent[].who.identifier.value` of an event.
fn agents(event: &Value) -> Vec<String> {
    event["agent"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|agent| agent["who"]["identifier"]["value"].as_str())
        .map(str::to_owned)
        .collect()
}

/// `entity[].what.reference` of an event.
fn references(event: &Value) -> Vec<String> {
    event["entity"]
        .as_array()
        .map(|entities| {
            entities
                .iter()
                .filter_map(|entity| entity["what"]["reference"].as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn requestor_address(event: &Value) -> &Value {
    let requestor = event["agent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|agent| agent["requestor"] == true)
        .expect("a requestor");
    &requestor["network"]["address"]
}

async fn reads_searches_creates_and_failures_are_audited(app: &TestApp) {
    let created = app.create(&patient()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let reference = format!("Patient/{id}");
    assert_eq!(app.get(&reference).await.status(), 200);
    let found = app
        .get(&format!("Patient?family={FAMILY}&birthdate={BIRTH_DATE}"))
        .await;
    assert_eq!(found.status(), 200);
    assert_eq!(app.get("Patient/no-such-patient").await.status(), 404);
    let auditor = auditor(app).await;

    let read = the_event(app, &auditor, &[("entity", &reference), ("subtype", "read")]).await;
    assert_eq!(read["resourceType"], "AuditEvent");
    assert_eq!(read["type"]["code"], "rest");
    assert_eq!((&read["action"], &read["outcome"]), (&json!("R"), &json!("0")));
    assert_eq!(agents(&read), [app.admin_client_id.as_str()]);
    assert_eq!(requestor_address(&read), "127.0.0.1");
    assert_eq!(references(&read), [reference.as_str()]);
    assert!(read["recorded"].as_str().unwrap().starts_with("20"), "{read}");
    assert_eq!(read["source"]["site"], app.base);

    let create = the_event(app, &auditor, &[("entity", &reference), ("subtype", "create")]).await;
    assert_eq!(create["action"], "C");
    assert_eq!(references(&create), [format!("{reference}/_history/1")]);

    let search = the_event(
        app,
        &auditor,
        &[("subtype", "search-type"), ("agent", &app.admin_client_id)],
    )
    .await;
    assert_eq!(search["action"], "R");
    let query = &search["entity"][0];
    assert_eq!(
        (&query["type"]["code"], &query["role"]["code"]),
        (&json!("Patient"), &json!("24"))
    );
    assert_eq!(query["detail"][0]["valueString"], "family,birthdate");
    assert_eq!(
        references(&search),
        [reference.as_str()],
        "what the search returned"
    );
    // The patient's events, by the patient parameter too: the create, the read and
    // the search that returned it.
    events_until(app, &auditor, &[("patient", &id)], |events| events.len() == 3).await;

    let missing = the_event(
        app,
        &auditor,
        &[("entity", "Patient/no-such-patient"), ("outcome", "4")],
    )
    .await;
    assert_eq!(missing["outcomeDesc"], "404 Not Found");
    assert_eq!(missing["action"], "R");

    // Searches of the trail: by date and action, with pages linked newest first.
    let since = chrono::Utc::now() - chrono::Duration::minutes(5);
    let since = format!("ge{}", since.format("%Y-%m-%dT%H:%M:%SZ"));
    events_until(app, &auditor, &[("date", &since), ("action", "C")], |events| {
        events
            .iter()
            .any(|event| references(event).iter().any(|r| r.starts_with(&reference)))
    })
    .await;
    assert!(events_until(app, &auditor, &[("date", "lt2000-01-01")], |_| true)
        .await
        .is_empty());
    let page: Value = auditor
        .get(app.url("AuditEvent?_count=1&outcome=0"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let next = page["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|link| link["relation"] == "next")
        .expect("a next page")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let second: Value = auditor.get(&next).send().await.unwrap().json().await.unwrap();
    assert_eq!(second["entry"].as_array().unwrap().len(), 1);
    assert_ne!(
        second["entry"][0]["resource"]["id"],
        page["entry"][0]["resource"]["id"]
    );
}

async fn refused_requests_are_audited_with_what_is_known(app: &TestApp) {
    let anonymous = reqwest::Client::new();
    let answer = anonymous.get(app.url("Patient/p-401")).send().await.unwrap();
    assert_eq!(answer.status(), 401);
    let reader = client_with(app, "patient-reader", "system/Patient.rs", None).await;
    assert_eq!(
        reader.get(app.url("Claim/c-403")).send().await.unwrap().status(),
        403
    );
    let auditor = auditor(app).await;

    let unauthenticated = the_event(app, &auditor, &[("entity", "Patient/p-401")]).await;
    assert_eq!(unauthenticated["outcome"], "4");
    assert_eq!(unauthenticated["outcomeDesc"], "401 Unauthorized");
    assert!(agents(&unauthenticated).is_empty(), "{unauthenticated}");
    assert_eq!(requestor_address(&unauthenticated), "127.0.0.1");

    let forbidden = the_event(
        app,
        &auditor,
        &[("entity", "Claim/c-403"), ("agent", "patient-reader")],
    )
    .await;
    assert_eq!(forbidden["outcome"], "4");
    assert_eq!(forbidden["outcomeDesc"], "403 Forbidden");
    assert_eq!(forbidden["subtype"][0]["code"], "read");
}

async fn only_auditors_read_the_trail_and_only_their_tenant(app: &TestApp) {
    assert_eq!(app.get("Patient").await.status(), 200);
    let everything = client_with(app, "everything", "system/*.*", None).await;
    for path in ["AuditEvent", "AuditEvent/any"] {
        let refused = everything.get(app.url(path)).send().await.unwrap();
        assert_eq!(refused.status(), 403, "system/*.* does not open {path}");
        let outcome: Value = refused.json().await.unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
    }
    // The refused looks are themselves on the record.
    let auditor = auditor(app).await;
    events_until(
        app,
        &auditor,
        &[("agent", "everything"), ("outcome", "4")],
        |events| events.len() == 2,
    )
    .await;

    let named = client_with(app, "audit-reader", "system/AuditEvent.read", None).await;
    let events = events_until(
        app,
        &named,
        &[("agent", &app.admin_client_id), ("subtype", "search-type")],
        |events| !events.is_empty(),
    )
    .await;
    let id = events[0]["id"].as_str().unwrap();
    let read = named
        .get(app.url(&format!("AuditEvent/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read, events[0]);
    assert_eq!(app.get("AuditEvent").await.status(), 200, "admin reads it too");

    // Nobody writes it.
    for (method, path) in [
        (reqwest::Method::POST, "AuditEvent"),
        (reqwest::Method::PUT, "AuditEvent/x"),
        (reqwest::Method::DELETE, "AuditEvent/x"),
    ] {
        let answer = auditor
            .request(method.clone(), app.url(path))
            .header("Content-Type", "application/fhir+json")
            .body(json!({"resourceType": "AuditEvent"}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 403, "{method} {path}");
    }

    // Another tenant's auditor sees none of this tenant's events, nor reads one.
    let other = client_with(app, "other-auditor", "auditor", Some("other-org")).await;
    let theirs: Value = other
        .get(app.url("AuditEvent"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let foreign = theirs["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| agents(&entry["resource"]).contains(&app.admin_client_id))
        .count();
    assert_eq!(foreign, 0, "{theirs}");
    let status = other
        .get(app.url(&format!("AuditEvent/{id}")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
}

async fn no_phi_reaches_the_audit_trail(app: &TestApp) {
    let created = app.create(&patient()).await;
    let id = created["id"].as_str().unwrap();
    app.get(&format!("Patient/{id}")).await;
    app.get(&format!(
        "Patient?family={FAMILY}&given={GIVEN}&birthdate={BIRTH_DATE}"
    ))
    .await;
    app.get(&format!(
        "Patient?identifier=http://hospital.example/mrn|{MRN_VALUE}"
    ))
    .await;
    let posted = app
        .client
        .post(app.url("Patient/_search"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("family={FAMILY}&birthdate={BIRTH_DATE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let hl7 = format!(
        "MSH|^~\\&|EPIC|GOODHEALTH|CLAIMBRIDGE|BILLING|20240501120000||ADT^A01|PHI-1|P|2.5.1\r\
         PID|1||{MRN_VALUE}^^^HOSP^MR||{FAMILY}^{GIVEN}||19610704|F\r\
         PV1|1|I|||||||||||||||||V-PHI-1^^^HOSP^VN\r"
    );
    let answer = app
        .client
        .post(app.server_url("/hl7/v2"))
        .body(hl7)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    let auditor = auditor(app).await;
    // The message is on the record; so is every request before it (one queue, in
    // order), such as the three searches that found the patient.
    the_event(app, &auditor, &[("type", "110107"), ("outcome", "0")]).await;
    events_until(
        app,
        &auditor,
        &[("subtype", "search-type"), ("entity", &format!("Patient/{id}"))],
        |events| events.len() == 3,
    )
    .await;
    let stored = app
        .select_texts(
            "SELECT CAST(body AS TEXT) || ' ' || COALESCE(subtype, '') || ' ' || COALESCE(agent_client, '') \
             || ' ' || COALESCE(agent_user, '') || ' ' || COALESCE(address, '') AS text FROM audit_events",
        )
        .await;
    assert!(stored.len() >= 7, "{stored:#?}");
    let entities = app
        .select_texts("SELECT reference AS text FROM audit_event_entities")
        .await;
    for text in stored.iter().chain(&entities) {
        for phi in [FAMILY, GIVEN, BIRTH_DATE, "19610704", MRN_VALUE] {
            assert!(!text.contains(phi), "{phi} in the audit trail: {text}");
        }
    }
    // The names of the parameters are kept, so an auditor knows what was asked.
    assert!(
        stored.iter().any(|text| text.contains("family,given,birthdate")),
        "{stored:#?}"
    );
}

async fn admin_changes_are_audited(app: &TestApp) {
    client_with(app, "short-lived", "system/Patient.rs", None).await;
    let (status, _) = app
        .api_send(reqwest::Method::DELETE, "/admin/clients/short-lived", None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app.api_get("/admin/clients").await;
    assert_eq!(status, 200);
    let auditor = auditor(app).await;

    let created = events_until(app, &auditor, &[("subtype", "POST /admin/clients")], |events| {
        events.len() >= 2
    })
    .await;
    let registration = created.last().unwrap();
    assert_eq!(registration["type"]["code"], "110113");
    assert_eq!(registration["action"], "C");
    assert_eq!(registration["outcome"], "0");
    assert_eq!(agents(registration), [app.admin_client_id.as_str()]);
    let removal = the_event(app, &auditor, &[("subtype", "DELETE /admin/clients/{id}")]).await;
    assert_eq!(removal["action"], "D");
    assert_eq!(
        removal["entity"][0]["what"]["identifier"],
        json!({"system": "urn:claimbridge:client", "value": "short-lived"})
    );
    // Reading the configuration changes nothing and is not recorded.
    let reads = events_until(app, &auditor, &[("subtype", "GET /admin/clients")], |_| true).await;
    assert!(reads.is_empty(), "{reads:#?}");
}

async fn hl7_messages_over_mllp_are_audited(app: &TestApp) {
    let message = "MSH|^~\\&|EPIC|GOODHEALTH|CLAIMBRIDGE|BILLING|20240501120000||ADT^A01|AUD-1|P|2.5.1\r\
                   PID|1||P-AUD-1^^^HOSP^MR||Chalmers^Peter||19741225|M\r\
                   PV1|1|I|||||||||||||||||V-AUD-1^^^HOSP^VN\r";
    let mut sender = MllpClient::connect(app.mllp).await;
    let ack = sender.exchange(message).await;
    assert!(ack.contains("MSA|AA|AUD-1"), "{ack}");
    let auditor = auditor(app).await;

    // Acknowledged, so already on the record: no waiting needed.
    let events = sender_events(app, &auditor).await;
    assert_eq!(events.len(), 1, "one event per message: {events:#?}");
    let event = &events[0];
    assert_eq!(event["subtype"][0]["code"], "ADT^A01");
    assert_eq!((&event["action"], &event["outcome"]), (&json!("C"), &json!("0")));
    assert_eq!(event["agent"][0]["who"]["display"], "EPIC at GOODHEALTH");
    assert_eq!(requestor_address(event), "127.0.0.1");
    let written = references(event);
    assert!(written.iter().any(|r| r.starts_with("Patient/")), "{event}");
    assert!(written.iter().any(|r| r.starts_with("Encounter/")), "{event}");
    let message_id = event["entity"][0]["what"]["identifier"].clone();
    assert_eq!(message_id["system"], "urn:claimbridge:hl7-message");
    let patient = written.iter().find(|r| r.starts_with("Patient/")).unwrap();
    let patient_events = events_until(app, &auditor, &[("patient", patient)], |e| !e.is_empty()).await;
    assert_eq!(patient_events[0]["id"], event["id"]);

    // Resent, it changes nothing but is on the record too, once, before its ACK:
    // two events in all for the sender, about the same stored message.
    let again = sender.exchange(message).await;
    assert!(again.contains("MSA|AA|AUD-1"), "{again}");
    let events = sender_events(app, &auditor).await;
    assert_eq!(events.len(), 2, "one event per message received: {events:#?}");
    let messages: Vec<&Value> = events
        .iter()
        .map(|e| &e["entity"][0]["what"]["identifier"]["value"])
        .collect();
    assert_eq!(messages[0], messages[1], "{events:#?}");
}

/// The HL7-import events of the sender EPIC at GOODHEALTH, as they are now (an
/// acknowledged message's event is committed before its ACK: nothing to wait for).
async fn sender_events(app: &TestApp, auditor: &reqwest::Client) -> Vec<Value> {
    let sender = [("agent", "EPIC^GOODHEALTH"), ("type", "110107")];
    events_until(app, auditor, &sender, |_| true).await
}

/// A message that parsed but could not be applied (AE) has its FHIR changes undone
/// and is recorded again with its error; its AuditEvent names that stored record,
/// which an operator then finds in error.
async fn a_failed_mllp_message_s_event_names_its_stored_record(app: &TestApp) {
    // Truncated after the MSH: there is no patient to apply.
    let truncated = admit("AUD-AE-1", "P-AUD-AE", "V-AUD-AE").replacen("|EPIC|", "|AUDAE|", 1);
    let truncated = truncated.split('\r').next().unwrap();
    let ack = send_one(app, truncated).await;
    assert_eq!(field(&ack, "MSA", 1), "AE", "{ack}");

    let auditor = auditor(app).await;
    let event = the_event(app, &auditor, &[("agent", "AUDAE^GOODHEALTH")]).await;
    assert_eq!(event["outcome"], "4", "a minor failure: {event}");
    let what = &event["entity"][0]["what"]["identifier"];
    assert_eq!(what["system"], "urn:claimbridge:hl7-message");
    let id = what["value"].as_str().expect("the message's id");
    let (status, stored) = app.api_get(&format!("/api/hl7/messages/{id}")).await;
    assert_eq!(status, 200, "the event names the stored record: {stored}");
    assert_eq!(stored["status"], "error");
    assert!(stored["raw"].as_str().unwrap().contains("AUD-AE-1"));
}

/// A message and its AuditEvent are one commit: when the event cannot be written
/// (here a trigger refuses ADT^A04 events), the message is not stored either and is
/// not acknowledged — the connection closes and the sender resends; once the event
/// can be written, the resend is applied once, with its event.
async fn an_mllp_message_is_stored_only_with_its_audit_event(app: &TestApp) {
    app.refuse_inserts("audit_events", "NEW.subtype = 'ADT^A04'", "audit refused")
        .await;
    let registration =
        admit("AUD-TX-1", "P-AUD-TX", "V-AUD-TX").replace("ADT^A01^ADT_A01", "ADT^A04^ADT_A01");
    let mut sender = MllpClient::connect(app.mllp).await;
    assert_eq!(sender.try_exchange(&registration).await, None, "not acknowledged");
    let patients = format!("Patient?identifier={MRN}|P-AUD-TX");
    assert_eq!(search(app, &patients).await.len(), 0, "no patient half-stored");
    let recorded = messages(app, "").await;
    assert!(
        recorded.iter().all(|m| m["controlId"] != "AUD-TX-1"),
        "no message row without its event: {recorded:#?}"
    );

    app.allow_inserts("audit_events").await;
    let ack = send_one(app, &registration).await;
    assert_eq!(
        (field(&ack, "MSA", 1), field(&ack, "MSA", 2)),
        ("AA".into(), "AUD-TX-1".into())
    );
    assert_eq!(search(app, &patients).await.len(), 1);
    let auditor = auditor(app).await;
    let event = the_event(app, &auditor, &[("subtype", "ADT^A04")]).await;
    assert!(
        references(&event).iter().any(|r| r.starts_with("Patient/")),
        "{event}"
    );
}

async fn bundles_history_operations_and_billing_calls_are_audited(app: &TestApp) {
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:2f1c6a52-0c1e-4a53-9d1a-6b0f6a3c1a01", "resource": patient(),
         "request": {"method": "POST", "url": "Patient"}}
    ]});
    let answer = app
        .client
        .post(&app.base)
        .header("Content-Type", "application/fhir+json")
        .body(transaction.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let bundle: Value = answer.json().await.unwrap();
    let location = bundle["entry"][0]["response"]["location"].as_str().unwrap();
    let reference = location.split("/_history").next().unwrap().to_owned();
    assert_eq!(app.get(&format!("{reference}/_history")).await.status(), 200);
    let validated = app
        .post("Patient/$validate", &json!({"resourceType": "Patient"}))
        .await;
    assert_eq!(validated.status(), 200);
    let (status, _) = app.api_get("/api/billing/claims").await;
    assert_eq!(status, 200);
    let auditor = auditor(app).await;

    let recorded = the_event(app, &auditor, &[("subtype", "transaction")]).await;
    assert_eq!(recorded["action"], "E");
    assert_eq!(references(&recorded), [location]);
    let history = the_event(app, &auditor, &[("subtype", "history-instance")]).await;
    assert_eq!(
        references(&history),
        [reference.clone(), format!("{reference}/_history/1")]
    );
    let operation = the_event(app, &auditor, &[("subtype", "operation")]).await;
    assert_eq!(operation["action"], "E");
    assert_eq!(operation["subtype"][1]["code"], "$validate");
    let worklist = the_event(app, &auditor, &[("type", "110110")]).await;
    assert_eq!(worklist["subtype"][0]["code"], "GET /api/billing/claims");
    assert_eq!(worklist["action"], "R");
}
