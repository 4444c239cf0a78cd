//! A canary patient pushed through every way PHI comes in — FHIR create, update,
//! search and refused bodies; HL7 v2 over MLLP and HTTP, valid and broken; X12 837P
//! out and 835 in, an eligibility check (270/271); the claims intake API; requests
//! refused by authorization — and then the server's log, as this process captured
//! it (log_capture), must show the requests and hold none of the canary's values.
//! tests/zz_logs_hold_no_phi.rs checks the same file again after the whole suite,
//! for every seeded value, and requires this test's marker line.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::billing::claim_for_new_patient;
use crate::helpers::TestApp;
use crate::log_capture::run::LOG_FILE;

#[path = "../phi/canary.rs"]
mod canary;
#[path = "../phi/scan.rs"]
mod scan;
use canary::*;
use scan::{search, Needle};

crate::on_both_backends!(with crate::helpers::TestOptions::SANDBOX; the_canary_patient_never_reaches_the_logs);

/// Clients whose every request carries this test's request id, with the admin's
/// token and without any.
struct Clients {
    request_id: String,
    admin: reqwest::Client,
    anonymous: reqwest::Client,
}

impl Clients {
    fn new(app: &TestApp) -> Clients {
        let request_id = format!("{REQUEST_ID_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let client = |token: Option<&str>| {
            let mut headers = HeaderMap::new();
            headers.insert("x-request-id", HeaderValue::from_str(&request_id).unwrap());
            if let Some(token) = token {
                headers.insert(
                    AUTHORIZATION,
                    HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
                );
            }
            reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .unwrap()
        };
        Clients {
            admin: client(Some(&app.admin_token)),
            anonymous: client(None),
            request_id,
        }
    }
}

fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [
            {"system": "http://hospital.example.org/mrn", "value": MRN},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": SSN}
        ],
        "name": [{"family": FAMILY, "given": [GIVEN, MIDDLE]}],
        "birthDate": BIRTH_DATE,
        "gender": "other",
        "telecom": [{"system": "phone", "value": PHONE}, {"system": "email", "value": EMAIL}],
        "address": [{"line": [STREET], "city": CITY, "state": "IL", "postalCode": "60613"}]
    })
}

/// Sends `body` with `method` to `url` and returns the status; what is asserted is
/// only that the server answered as it should: the point is what it logged.
async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    content_type: &str,
    body: String,
) -> u16 {
    client
        .request(method, url)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("the server answers")
        .status()
        .as_u16()
}

async fn fhir(app: &TestApp, clients: &Clients) {
    let post = |path: &str, body: String| {
        send(
            &clients.admin,
            reqwest::Method::POST,
            app.url(path),
            "application/fhir+json",
            body,
        )
    };
    let created = clients
        .admin
        .post(app.url("Patient"))
        .header("Content-Type", "application/fhir+json")
        .body(patient().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut updated = patient();
    updated["id"] = json!(id);
    updated["telecom"][0]["value"] = json!(format!("{PHONE} ext. {MRN}"));
    let put = send(
        &clients.admin,
        reqwest::Method::PUT,
        app.url(&format!("Patient/{id}")),
        "application/fhir+json",
        updated.to_string(),
    )
    .await;
    assert_eq!(put, 200);
    for query in [
        format!("Patient?family={FAMILY}&given={GIVEN}&birthdate={BIRTH_DATE}"),
        format!("Patient?identifier=http://hospital.example.org/mrn|{MRN}"),
        format!("Patient?telecom={EMAIL}&address-city={CITY}"),
        format!("Patient?{FAMILY}={GIVEN}"),
        format!("Patient?birthdate=born-{BIRTH_DATE_COMPACT}-{FAMILY}"),
        format!("Patient/{MRN}"),
        format!("Patient/{id}/_history?_since={FAMILY}"),
    ] {
        let status = clients.admin.get(app.url(&query)).send().await.unwrap().status();
        assert!(
            status.is_success() || status.is_client_error(),
            "{query}: {status}"
        );
    }
    // Refused bodies: a value of the wrong type, an unknown element, broken JSON,
    // a resource of the wrong type at the path, a transaction with a bad entry.
    let mut invalid = patient();
    invalid["birthDate"] = json!(format!("{FAMILY} {BIRTH_DATE}"));
    invalid["nickname"] = json!(GIVEN);
    assert_eq!(post("Patient", invalid.to_string()).await, 400);
    assert_eq!(
        post("Patient", patient().to_string()[..120].to_owned()).await,
        400
    );
    assert!(post("Observation", patient().to_string()).await >= 400);
    let bundle = json!({
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:6a5f1f4e-0000-4000-8000-000000000001", "resource": patient(),
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Patient", "birthDate": MRN},
             "request": {"method": "PUT", "url": format!("Patient/{MRN}")}}
        ]
    });
    assert!(
        send(
            &clients.admin,
            reqwest::Method::POST,
            app.base.clone(),
            "application/fhir+json",
            bundle.to_string()
        )
        .await
            >= 400
    );
}

/// `segment` with the given fields set (numbered as in the standard).
fn segment(name: &str, fields: &[(usize, &str)]) -> String {
    let last = fields.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let mut values = vec![String::new(); last + 1];
    values[0] = name.to_owned();
    for (n, value) in fields {
        values[*n] = (*value).to_owned();
    }
    values.join("|") + "\r"
}

/// An admission of the canary patient, with `control_id`.
fn admission(control_id: &str) -> String {
    let ids = format!("{MRN}^^^HOSP^MR~{}^^^SSA^SS", SSN.replace('-', ""));
    let name = format!(
        "{}^{}^{}",
        FAMILY.to_uppercase(),
        GIVEN.to_uppercase(),
        MIDDLE.to_uppercase()
    );
    let address = format!("{STREET}^^{CITY}^IL^60613^USA^H");
    let phone = format!("{}^PRN^PH~^NET^Internet^{EMAIL}", PHONE.replace(' ', ""));
    [
        format!("MSH|^~\\&|EPIC|GOODHEALTH|CLAIMBRIDGE|BILLING|20240501120000||ADT^A01^ADT_A01|{control_id}|P|2.5.1\r"),
        segment("EVN", &[(1, "A01"), (2, "20240501120000")]),
        segment(
            "PID",
            &[(1, "1"), (3, &ids), (5, &name), (7, BIRTH_DATE_COMPACT), (8, "F"), (11, &address), (13, &phone)],
        ),
        segment("PV1", &[(1, "1"), (2, "I"), (3, "4E^401^B"), (19, &format!("{MRN}V^^^HOSP^VN"))]),
        segment(
            "IN1",
            &[(1, "1"), (2, "GOLD^Gold PPO"), (3, "ACME01^^^PAYERS"), (4, "Acme Health Plan"), (16, &name), (17, "SEL"), (18, BIRTH_DATE_COMPACT), (36, MEMBER_ID)],
        ),
    ]
    .concat()
}

/// One MLLP exchange: the framed reply, if any came within two seconds.
async fn over_mllp(app: &TestApp, message: &str) -> Option<String> {
    let mut stream = TcpStream::connect(app.mllp).await.expect("MLLP connect");
    let mut frame = vec![0x0b];
    frame.extend_from_slice(message.as_bytes());
    frame.extend_from_slice(&[0x1c, 0x0d]);
    stream.write_all(&frame).await.expect("MLLP write");
    let mut reply = Vec::new();
    let read = async {
        let mut buffer = [0u8; 1024];
        loop {
            let n = stream.read(&mut buffer).await.ok()?;
            if n == 0 {
                return None;
            }
            reply.extend_from_slice(&buffer[..n]);
            if reply.ends_with(&[0x1c, 0x0d]) {
                return Some(String::from_utf8_lossy(&reply).into_owned());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(2), read)
        .await
        .ok()
        .flatten()
}

async fn hl7(app: &TestApp, clients: &Clients) {
    let accepted = over_mllp(app, &admission("CANARY-1")).await.expect("an ACK");
    assert!(accepted.contains("MSA|AA|CANARY-1"), "{accepted}");
    // Refused ones: no MSH, an unknown event, a bad encoding, a date that is no date.
    let without_msh = admission("CANARY-2").split_once('\r').unwrap().1.to_owned();
    let unknown_event = admission("CANARY-3").replace("ADT^A01^ADT_A01", "ADT^A99");
    let bad_encoding = admission("CANARY-4").replacen("^~\\&", "^^\\&", 1);
    let bad_date = admission("CANARY-5").replace(
        &format!("|{BIRTH_DATE_COMPACT}|F|"),
        &format!("|{FAMILY}{BIRTH_DATE_COMPACT}|F|"),
    );
    for message in [&without_msh, &unknown_event, &bad_encoding, &bad_date] {
        let ack = over_mllp(app, message).await.expect("an ACK");
        assert!(ack.contains("MSA|A"), "{ack}");
    }
    // An oversize frame closes the connection.
    let oversize = admission("CANARY-6") + &format!("NTE|1||{}\r", FAMILY.repeat(70_000 / FAMILY.len()));
    assert_eq!(over_mllp(app, &oversize).await, None);
    // The same over HTTP.
    let endpoint = app.server_url("/hl7/v2");
    for (message, expected) in [
        (admission("CANARY-7"), 200),
        (bad_date.replace("CANARY-5", "CANARY-8"), 200),
    ] {
        let status = send(
            &clients.admin,
            reqwest::Method::POST,
            endpoint.clone(),
            "x-application/hl7-v2+er7",
            message,
        )
        .await;
        assert_eq!(status, expected);
    }
    let status = send(
        &clients.admin,
        reqwest::Method::POST,
        endpoint,
        "x-application/hl7-v2+er7",
        without_msh,
    )
    .await;
    assert!(status == 200 || status == 400, "{status}");
}

/// A claim for the canary patient, scrubbed, written as an 837P, submitted to the
/// sandbox clearinghouse; an 835 paying it and one for a claim nobody knows; a
/// broken 835; an eligibility check.
async fn x12_and_claims(app: &TestApp, clients: &Clients) {
    let mut claim = claim_for_new_patient(app).await;
    let patient_id = claim["patient"]["reference"]
        .as_str()
        .unwrap()
        .trim_start_matches("Patient/")
        .to_owned();
    let mut canary = patient();
    canary["id"] = json!(patient_id);
    // The eligibility inquiry asks on behalf of the patient's clinic.
    canary["managingOrganization"] = claim["provider"].clone();
    let put = send(
        &clients.admin,
        reqwest::Method::PUT,
        app.url(&format!("Patient/{patient_id}")),
        "application/fhir+json",
        canary.to_string(),
    )
    .await;
    assert_eq!(put, 200);
    let coverage_id = claim["insurance"][0]["coverage"]["reference"]
        .as_str()
        .unwrap()
        .trim_start_matches("Coverage/")
        .to_owned();

    // The intake API: a claim, a refused one, a batch with a broken line.
    let served = claim["item"][0]["servicedDate"].clone();
    let intake = json!({
        "patient": claim["patient"], "provider": claim["provider"],
        "coverage": claim["insurance"][0]["coverage"], "rendering": claim["careTeam"][0]["provider"],
        "diagnoses": ["E11.9"],
        "procedures": [{"code": "99213", "units": 1, "charge": "125.00", "serviceDate": served,
                        "diagnosisPointers": [1], "placeOfService": "11"}]
    });
    let api = |path: &str, body: String| {
        send(
            &clients.admin,
            reqwest::Method::POST,
            app.server_url(path),
            "application/json",
            body,
        )
    };
    assert_eq!(api("/api/claims", intake.to_string()).await, 201);
    let mut refused = intake.clone();
    refused["patient"] =
        json!({"reference": format!("Patient/{MRN}"), "display": format!("{GIVEN} {FAMILY}")});
    refused["diagnoses"] = json!([BIRTH_DATE]);
    assert!(api("/api/claims", refused.to_string()).await >= 400);
    let batch = format!("{refused}\n{{\"patient\": \"{FAMILY}, {GIVEN} {BIRTH_DATE}\n");
    assert!(api("/api/claims/batch", batch).await < 500);

    // The 837P of a stored claim, submitted to the sandbox.
    claim["patient"]["display"] = json!(format!("{GIVEN} {FAMILY}"));
    let stored = app.create(&claim).await;
    let claim_id = stored["id"].as_str().unwrap().to_owned();
    assert_eq!(
        api(
            &format!("/api/billing/claims/{claim_id}/validate"),
            "null".to_owned()
        )
        .await,
        200
    );
    let document = clients
        .admin
        .get(app.server_url(&format!("/api/billing/claims/{claim_id}/837")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        document.contains(FAMILY),
        "the 837P carries the canary: {document}"
    );
    let control_number = document
        .split('~')
        .find_map(|segment| segment.trim().strip_prefix("CLM*"))
        .and_then(|clm| clm.split('*').next())
        .expect("CLM01")
        .to_owned();
    let submitted = api(
        &format!("/api/billing/claims/{claim_id}/submit"),
        json!({"actor": "biller-1"}).to_string(),
    )
    .await;
    assert_eq!(submitted, 200);

    // 835s: one paying the claim, one for a claim nobody knows, one broken.
    let name = format!("{}*{}", FAMILY.to_uppercase(), GIVEN.to_uppercase());
    let clp = |number: &str| {
        format!(
            "CLP*{number}*1*125.00*100.00*25.00*12*ICN-{MRN}~NM1*QC*1*{name}****MI*{MEMBER_ID}~\
             SVC*HC:99213*125.00*100.00**1~DTM*472*20260101~CAS*PR*1*25.00~"
        )
    };
    let remittance = |claims: String| {
        let body = format!(
            "BPR*I*100.00*C*CHK************20260110~TRN*1*{MRN}*1999999999~DTM*405*20260109~\
             N1*PR*ACME HEALTH~REF*2U*ACME01~N1*PE*GOOD CLINIC*XX*1234567893~LX*1~{claims}"
        );
        let segments = body.matches('~').count() + 2;
        format!(
            "ISA*03*9876543210*01*9876543210*30*000000005      *30*12345          *131031*1147*^*00501*000000907*1*T*:~\
             GS*HP*000000005*54321*20260110*1200*1*X*005010X221A1~ST*835*0001~{body}SE*{segments}*0001~GE*1*1~IEA*1*000000907~"
        )
    };
    let edi = |text: String| {
        send(
            &clients.admin,
            reqwest::Method::POST,
            app.server_url("/api/billing/remittance"),
            "application/edi-x12",
            text,
        )
    };
    assert_eq!(edi(remittance(clp(&control_number))).await, 200);
    assert_eq!(
        edi(remittance(clp(&format!("{MRN}-{BIRTH_DATE_COMPACT}")))).await,
        200
    );
    assert!(edi(remittance(clp(&control_number)).replace("ST*835", &format!("ST*{FAMILY}"))).await >= 400);

    // An eligibility check: a 270 out, a 271 back, for the canary's coverage.
    let eligibility =
        json!({"patientId": patient_id, "coverageId": coverage_id, "serviceDate": "2026-11-02"});
    assert_eq!(
        api("/api/billing/eligibility/check", eligibility.to_string()).await,
        201
    );
}

/// Requests refused before they reach anything: no token, a forged one, a token
/// request from a client that does not exist.
async fn refused_by_authorization(app: &TestApp, clients: &Clients) {
    let search = app.url(&format!("Patient?family={FAMILY}&birthdate={BIRTH_DATE}"));
    assert_eq!(clients.anonymous.get(&search).send().await.unwrap().status(), 401);
    let forged = clients
        .anonymous
        .get(&search)
        .header(AUTHORIZATION, format!("Bearer {MRN}.{GIVEN}.{FAMILY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let created = send(
        &clients.anonymous,
        reqwest::Method::POST,
        app.url("Patient"),
        "application/fhir+json",
        patient().to_string(),
    )
    .await;
    assert_eq!(created, 401);
    let token = clients
        .anonymous
        .post(app.server_url("/auth/token"))
        .basic_auth(FAMILY, Some(MRN))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", format!("patient/{GIVEN}.read").as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 401);
}

async fn the_canary_patient_never_reaches_the_logs(app: &TestApp) {
    let clients = Clients::new(app);
    fhir(app, &clients).await;
    hl7(app, &clients).await;
    x12_and_claims(app, &clients).await;
    refused_by_authorization(app, &clients).await;
    // The server logs asynchronously from no thread of its own, but the jobs a
    // submission enqueues may still be running: give them a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let log = std::fs::read_to_string(LOG_FILE).expect("the server log file");
    let ours: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(&clients.request_id))
        .collect();
    assert!(
        ours.len() >= 30,
        "the server's request lines reach {LOG_FILE}: {} found",
        ours.len()
    );
    let needles: Vec<Needle> = VALUES
        .iter()
        .map(|(what, value)| {
            Needle::new(format!("the canary's {what}"), value).expect("a canary value is distinct")
        })
        .collect();
    let found = search(log.lines().enumerate().map(|(n, line)| (n + 1, line)), &needles);
    let report: Vec<String> = found
        .iter()
        .map(|finding| {
            format!(
                "{} at line {}: {}",
                finding.needle.what, finding.line_number, finding.line
            )
        })
        .collect();
    assert!(
        report.is_empty(),
        "PHI in the server log {LOG_FILE}:\n{}",
        report.join("\n")
    );
    tracing::info!(target: MARKER_TARGET, request_id = %clients.request_id, "the canary went through every ingress");
}
