//! Tenants (issue 7): two organisations, "north" and "south", each with a client
//! registered in its tenant, share one server. Whatever south asks — read, vread,
//! search in every form, includes, history, writes to north's ids, references to
//! north's resources, Bundles, conditional interactions — north's data neither
//! shows nor changes; and north, asking the same of its own data, finds it (so an
//! empty answer to south means isolation, not a broken query).

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::helpers::{bearer_client, client_credentials_token, TestApp};

crate::on_both_backends!(
    another_tenant_cannot_read_search_or_see_history,
    includes_and_references_stay_within_a_tenant,
    another_tenant_cannot_change_or_take_over_resources,
    conditional_interactions_match_only_the_own_tenant,
    bundles_stay_within_a_tenant,
    the_default_tenant_keeps_the_operator_apis,
);

const NORTH_MRN: &str = "http://north.example/mrn";

/// A client of `tenant` with every FHIR scope (and `extra` ones), as an
/// organisation's integration would be registered by the operator.
async fn tenant_client(app: &TestApp, tenant: &str, extra: &str) -> Client {
    let client_id = format!("{tenant}-app");
    let (status, registered) = app
        .api_post(
            "/admin/clients",
            &json!({"clientId": client_id, "name": format!("{tenant} EHR"), "type": "confidential",
                    "scopes": format!("system/*.* {extra}").trim(), "tenant": tenant}),
        )
        .await;
    assert_eq!(status, 201, "{registered}");
    assert_eq!(registered["tenant"], tenant, "{registered}");
    let secret = registered["clientSecret"].as_str().expect("a secret");
    bearer_client(&client_credentials_token(&app.base, &client_id, secret, None).await)
}

async fn north_and_south(app: &TestApp) -> (Client, Client) {
    (
        tenant_client(app, "north", "").await,
        tenant_client(app, "south", "").await,
    )
}

/// The status and JSON body of a FHIR request.
async fn call(
    client: &Client,
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    // The empty path is the base itself (Bundles).
    let url = if path.is_empty() {
        app.base.clone()
    } else {
        app.url(path)
    };
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(client: &Client, app: &TestApp, path: &str) -> (u16, Value) {
    call(client, app, Method::GET, path, None).await
}

/// Creates `resource` and returns its id.
async fn create(client: &Client, app: &TestApp, resource: Value) -> String {
    let resource_type = resource["resourceType"].as_str().unwrap().to_owned();
    let (status, body) = call(client, app, Method::POST, &resource_type, Some(&resource)).await;
    assert_eq!(status, 201, "create {resource_type}: {body}");
    body["id"].as_str().unwrap().to_owned()
}

/// `Type/id` of every entry of a Bundle (search or history).
fn entry_refs(bundle: &Value) -> Vec<String> {
    assert!(bundle["resourceType"] == "Bundle", "not a Bundle: {bundle}");
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["resource"]["resourceType"] != "OperationOutcome")
                .map(|e| {
                    format!(
                        "{}/{}",
                        e["resource"]["resourceType"].as_str().unwrap(),
                        e["resource"]["id"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn search(client: &Client, app: &TestApp, path: &str) -> Vec<String> {
    let (status, bundle) = get(client, app, path).await;
    assert_eq!(status, 200, "{path}: {bundle}");
    entry_refs(&bundle)
}

fn patient(family: &str, mrn: &str) -> Value {
    json!({"resourceType": "Patient", "active": true,
           "identifier": [{"system": NORTH_MRN, "value": mrn}],
           "name": [{"family": family, "given": ["Nora"]}], "birthDate": "1980-02-03"})
}

fn claim_for(patient: &str) -> Value {
    json!({
        "resourceType": "Claim", "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "claim", "patient": {"reference": patient}, "created": "2026-05-01",
        "provider": {"reference": "Organization/tenants-clinic"}, "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": true, "coverage": {"reference": "Coverage/tenants-coverage"}}]
    })
}

/// North's patient (MRN N-1, "Northman") with one update, and a Claim for it.
struct NorthData {
    patient: String,
    claim: String,
}

async fn north_data(app: &TestApp, north: &Client) -> NorthData {
    let patient_id = create(north, app, patient("Northman", "N-1")).await;
    let mut second = patient("Northman", "N-1");
    second["id"] = json!(patient_id);
    second["gender"] = json!("female");
    let (status, body) = call(
        north,
        app,
        Method::PUT,
        &format!("Patient/{patient_id}"),
        Some(&second),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claim = create(north, app, claim_for(&format!("Patient/{patient_id}"))).await;
    NorthData {
        patient: patient_id,
        claim,
    }
}

/// North still reads its patient as it left it: version 2, family Northman.
async fn assert_north_patient_unchanged(app: &TestApp, north: &Client, id: &str) {
    let (status, body) = get(north, app, &format!("Patient/{id}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["versionId"], "2", "{body}");
    assert_eq!(body["name"][0]["family"], "Northman", "{body}");
    assert_eq!(body["gender"], "female", "{body}");
    let history = search(north, app, &format!("Patient/{id}/_history")).await;
    assert_eq!(history.len(), 2, "{history:?}");
}

async fn another_tenant_cannot_read_search_or_see_history(app: &TestApp) {
    let (north, south) = north_and_south(app).await;
    let data = north_data(app, &north).await;
    let (p, c) = (data.patient.as_str(), data.claim.as_str());
    let south_patient = create(&south, app, patient("Southby", "S-1")).await;

    // Read and vread: as if north's resources did not exist.
    for path in [
        format!("Patient/{p}"),
        format!("Patient/{p}/_history/1"),
        format!("Patient/{p}/_history/2"),
        format!("Patient/{p}/_history"),
        format!("Claim/{c}"),
    ] {
        let (status, outcome) = get(&south, app, &path).await;
        assert_eq!(status, 404, "{path}: {outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
        let (status, _) = get(&north, app, &path).await;
        assert_eq!(status, 200, "north reads its own {path}");
    }

    // Every search form finds north's data for north and nothing of it for south.
    let by_identifier = format!("Patient?identifier={NORTH_MRN}|N-1");
    let searches = [
        format!("Patient?_id={p}"),
        by_identifier.clone(),
        "Patient?identifier=N-1".to_owned(),
        "Patient?name=northman".to_owned(),
        "Patient?family:exact=Northman".to_owned(),
        "Patient?name:contains=orthm".to_owned(),
        "Patient?birthdate=1980-02-03".to_owned(),
        "Patient?gender=female".to_owned(),
        format!("Claim?patient=Patient/{p}"),
        format!("Claim?patient={p}"),
        "Claim?patient.name=Northman".to_owned(),
        format!("Claim?patient.identifier={NORTH_MRN}|N-1"),
        "Patient?_has:Claim:patient:status=active".to_owned(),
        "Claim?created=2026-05-01".to_owned(),
        "Claim?_sort=-_lastUpdated".to_owned(),
        "Patient?_sort=family".to_owned(),
    ];
    for query in &searches {
        let north_found = search(&north, app, query).await;
        assert!(!north_found.is_empty(), "north finds its own data with {query}");
        let south_found = search(&south, app, query).await;
        assert!(
            south_found
                .iter()
                .all(|r| r == &format!("Patient/{south_patient}")),
            "{query} found north's data for south: {south_found:?}"
        );
    }
    // POST _search too, and counts.
    let posted = south
        .post(app.url("Patient/_search"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("_id={p}"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert!(entry_refs(&posted.json().await.unwrap()).is_empty());
    for (client, expected) in [(&north, 1), (&south, 0)] {
        let (_, counted) = get(client, app, &format!("{by_identifier}&_summary=count")).await;
        assert_eq!(counted["total"], expected, "{counted}");
        let (_, counted) = get(client, app, "Claim?_total=accurate").await;
        assert_eq!(counted["total"], expected, "{counted}");
    }
    // South's own data is there for south (and not for north).
    assert_eq!(
        search(&south, app, "Patient").await,
        [format!("Patient/{south_patient}")]
    );
    assert!(!search(&north, app, "Patient")
        .await
        .contains(&format!("Patient/{south_patient}")));

    // History at type and system level: south's versions only.
    let north_versions = [format!("Patient/{p}"), format!("Claim/{c}")];
    for path in [
        "Patient/_history",
        "Claim/_history",
        "_history",
        "_history?_count=1000",
    ] {
        let seen = search(&south, app, path).await;
        assert!(
            seen.iter().all(|r| !north_versions.contains(r)),
            "{path} showed south north's versions: {seen:?}"
        );
        let seen = search(&north, app, path).await;
        assert!(
            seen.iter().all(|r| r != &format!("Patient/{south_patient}")),
            "{path} showed north south's versions: {seen:?}"
        );
    }
    assert_eq!(
        search(&south, app, "_history").await,
        [format!("Patient/{south_patient}")]
    );
    let north_history = search(&north, app, "_history").await;
    assert_eq!(north_history.len(), 3, "{north_history:?}");
}

async fn includes_and_references_stay_within_a_tenant(app: &TestApp) {
    let (north, south) = north_and_south(app).await;
    let data = north_data(app, &north).await;
    let p = data.patient.as_str();

    // South cannot refer to north's patient, by relative or absolute reference, on
    // create or update; the answer is the one a missing resource would get.
    for reference in [format!("Patient/{p}"), app.url(&format!("Patient/{p}"))] {
        let (status, outcome) = call(&south, app, Method::POST, "Claim", Some(&claim_for(&reference))).await;
        assert_eq!(status, 400, "{reference}: {outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"][0]["code"], "not-found", "{outcome}");
        let diagnostics = outcome["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(diagnostics.contains(&format!("Patient/{p}")), "{diagnostics}");
        assert!(!diagnostics.contains("north"), "names no tenant: {diagnostics}");
    }
    let south_claim = create(&south, app, claim_for("Patient/not-yet-anywhere")).await;
    let mut repointed = claim_for(&format!("Patient/{p}"));
    repointed["id"] = json!(south_claim);
    let (status, outcome) = call(
        &south,
        app,
        Method::PUT,
        &format!("Claim/{south_claim}"),
        Some(&repointed),
    )
    .await;
    assert_eq!(status, 400, "{outcome}");
    let patch = json!([{"op": "replace", "path": "/patient/reference", "value": format!("Patient/{p}")}]);
    let patched = south
        .patch(app.url(&format!("Claim/{south_claim}")))
        .header("Content-Type", "application/json-patch+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 400);
    let (_, kept) = get(&south, app, &format!("Claim/{south_claim}")).await;
    assert_eq!(kept["meta"]["versionId"], "1", "{kept}");
    assert_eq!(kept["patient"]["reference"], "Patient/not-yet-anywhere");
    // Nothing of south refers to north's patient, for either of them.
    assert!(search(&south, app, &format!("Claim?patient={p}"))
        .await
        .is_empty());
    assert_eq!(
        search(&north, app, &format!("Claim?patient={p}")).await,
        [format!("Claim/{}", data.claim)]
    );
    // The same reference is fine within north.
    create(&north, app, claim_for(&format!("Patient/{p}"))).await;

    // South's claim refers to an id nobody had; north then takes that id. The
    // reference does not reach across: no include, revinclude or chain crosses.
    let mut taken = patient("Northman", "N-2");
    taken["id"] = json!("not-yet-anywhere");
    let (status, body) = call(&north, app, Method::PUT, "Patient/not-yet-anywhere", Some(&taken)).await;
    assert_eq!(status, 201, "{body}");
    let south_patient = create(&south, app, patient("Southby", "S-1")).await;
    let own_claim = create(&south, app, claim_for(&format!("Patient/{south_patient}"))).await;
    for (query, expected) in [
        (
            format!("Claim?_id={south_claim}&_include=Claim:patient"),
            vec![format!("Claim/{south_claim}")],
        ),
        (
            format!("Claim?_id={south_claim}&_include=Claim:patient:Patient&_include:iterate=Patient:organization"),
            vec![format!("Claim/{south_claim}")],
        ),
        (
            "Claim?_include=Claim:patient".to_owned(),
            vec![
                format!("Claim/{own_claim}"),
                format!("Claim/{south_claim}"),
                format!("Patient/{south_patient}"),
            ],
        ),
        ("Claim?patient.name=Northman".to_owned(), vec![]),
        ("Patient?_id=not-yet-anywhere&_revinclude=Claim:patient".to_owned(), vec![]),
        (
            format!("Patient?_id={south_patient}&_revinclude=Claim:patient"),
            vec![format!("Patient/{south_patient}"), format!("Claim/{own_claim}")],
        ),
    ] {
        let mut found = search(&south, app, &query).await;
        let mut expected = expected;
        found.sort();
        expected.sort();
        assert_eq!(found, expected, "{query}");
    }
    // North sees its patient but not south's claim pointing at it.
    assert_eq!(
        search(
            &north,
            app,
            "Patient?_id=not-yet-anywhere&_revinclude=Claim:patient"
        )
        .await,
        ["Patient/not-yet-anywhere"]
    );
    let mut north_includes = search(&north, app, &format!("Patient?_id={p}&_revinclude=Claim:patient")).await;
    north_includes.sort();
    assert_eq!(
        north_includes.len(),
        3,
        "north's patient and its two claims: {north_includes:?}"
    );
    assert!(search(&north, app, "Claim?patient=not-yet-anywhere")
        .await
        .is_empty());
}

async fn another_tenant_cannot_change_or_take_over_resources(app: &TestApp) {
    let (north, south) = north_and_south(app).await;
    let data = north_data(app, &north).await;
    let p = data.patient.as_str();

    // An update with north's id neither changes north's resource nor creates one
    // for south: ids are one pool, and the answer says only that it is taken.
    let mut overwrite = patient("Southby", "S-9");
    overwrite["id"] = json!(p);
    let (status, outcome) = call(
        &south,
        app,
        Method::PUT,
        &format!("Patient/{p}"),
        Some(&overwrite),
    )
    .await;
    assert_eq!(status, 409, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let diagnostics = outcome["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(diagnostics.contains("in use"), "{diagnostics}");
    assert!(
        !diagnostics.contains("Northman") && !diagnostics.contains("north"),
        "{diagnostics}"
    );
    let versioned = south
        .put(app.url(&format!("Patient/{p}")))
        .header("Content-Type", "application/fhir+json")
        .header("If-Match", "W/\"2\"")
        .body(overwrite.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(versioned.status(), 412, "as for a resource that does not exist");
    let patch = json!([{"op": "replace", "path": "/name/0/family", "value": "Southby"}]);
    let patched = south
        .patch(app.url(&format!("Patient/{p}")))
        .header("Content-Type", "application/json-patch+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 404);
    let (status, _) = call(&south, app, Method::DELETE, &format!("Patient/{p}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &south,
        app,
        Method::DELETE,
        &format!("Claim/{}", data.claim),
        None,
    )
    .await;
    assert_eq!(status, 404);
    // A conditional delete matching north's patient matches nothing for south.
    let (status, _) = call(
        &south,
        app,
        Method::DELETE,
        &format!("Patient?identifier={NORTH_MRN}|N-1"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_north_patient_unchanged(app, &north, p).await;
    let (status, claim) = get(&north, app, &format!("Claim/{}", data.claim)).await;
    assert_eq!((status, &claim["meta"]["versionId"]), (200, &json!("1")));
    assert!(
        search(&south, app, "Patient").await.is_empty(),
        "south created nothing"
    );

    // South's own client-chosen id is south's; north cannot take it over either.
    let mut own = patient("Southby", "S-1");
    own["id"] = json!("south-chosen");
    let (status, body) = call(&south, app, Method::PUT, "Patient/south-chosen", Some(&own)).await;
    assert_eq!(status, 201, "{body}");
    let mut theirs = patient("Northman", "N-3");
    theirs["id"] = json!("south-chosen");
    let (status, _) = call(&north, app, Method::PUT, "Patient/south-chosen", Some(&theirs)).await;
    assert_eq!(status, 409);
    let (status, body) = get(&south, app, "Patient/south-chosen").await;
    assert_eq!((status, &body["name"][0]["family"]), (200, &json!("Southby")));
    assert_eq!(body["meta"]["versionId"], "1");
    // A deleted resource stays its tenant's: north cannot revive south's id.
    let (status, _) = call(&south, app, Method::DELETE, "Patient/south-chosen", None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&north, app, Method::PUT, "Patient/south-chosen", Some(&theirs)).await;
    assert_eq!(status, 409);
    let (status, _) = get(&north, app, "Patient/south-chosen").await;
    assert_eq!(status, 404);
    let (status, _) = get(&south, app, "Patient/south-chosen").await;
    assert_eq!(status, 410);
}

async fn conditional_interactions_match_only_the_own_tenant(app: &TestApp) {
    let (north, south) = north_and_south(app).await;
    let data = north_data(app, &north).await;
    let p = data.patient.as_str();
    let criteria = format!("identifier={NORTH_MRN}|N-1");

    // Conditional create: north's match is north's only; south gets a new resource.
    for (client, expected_status) in [(&north, 200), (&south, 201)] {
        let response = client
            .post(app.url("Patient"))
            .header("Content-Type", "application/fhir+json")
            .header("If-None-Exist", criteria.as_str())
            .body(patient("Anyone", "N-1").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected_status);
        let body: Value = response.json().await.unwrap();
        if expected_status == 200 {
            assert_eq!(body["id"], p, "north's conditional create matched its patient");
        } else {
            assert_ne!(body["id"], p, "south's conditional create did not match north's");
            assert_eq!(body["name"][0]["family"], "Anyone");
        }
    }
    let south_match = search(&south, app, &format!("Patient?{criteria}")).await;
    assert_eq!(south_match.len(), 1, "{south_match:?}");

    // Conditional update: south's criteria match south's patient only.
    let (status, updated) = call(
        &south,
        app,
        Method::PUT,
        &format!("Patient?{criteria}"),
        Some(&patient("Southby", "N-1")),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        format!("Patient/{}", updated["id"].as_str().unwrap()),
        south_match[0]
    );
    // Criteria matching only north's data create for south (never update north's).
    let (status, created) = call(
        &south,
        app,
        Method::PUT,
        "Patient?name=Northman",
        Some(&patient("Southby", "S-7")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_ne!(created["id"], p);
    assert_north_patient_unchanged(app, &north, p).await;
    // North's criteria still see only north's.
    assert_eq!(
        search(&north, app, &format!("Patient?{criteria}")).await,
        [format!("Patient/{p}")]
    );
}

async fn bundles_stay_within_a_tenant(app: &TestApp) {
    let (north, south) = north_and_south(app).await;
    let data = north_data(app, &north).await;
    let p = data.patient.as_str();
    let placeholder = "urn:uuid:5b1f7c3e-0000-4000-8000-000000000001";
    let bundle =
        |entries: Vec<Value>, kind: &str| json!({"resourceType": "Bundle", "type": kind, "entry": entries});
    let new_south_patient = json!({
        "fullUrl": placeholder,
        "resource": patient("Southby", "S-1"),
        "request": {"method": "POST", "url": "Patient"}
    });

    // A transaction creating south's patient and a claim for north's: refused, and
    // nothing of it kept.
    let refused = bundle(
        vec![
            new_south_patient.clone(),
            json!({"resource": claim_for(&format!("Patient/{p}")), "request": {"method": "POST", "url": "Claim"}}),
        ],
        "transaction",
    );
    let (status, outcome) = call(&south, app, Method::POST, "", Some(&refused)).await;
    assert_eq!(status, 400, "{outcome}");
    assert_eq!(outcome["issue"][0]["code"], "not-found", "{outcome}");
    // Updating north's patient inside a transaction: refused as a whole too.
    let mut overwrite = patient("Southby", "S-2");
    overwrite["id"] = json!(p);
    let refused = bundle(
        vec![
            new_south_patient.clone(),
            json!({"resource": overwrite, "request": {"method": "PUT", "url": format!("Patient/{p}")}}),
        ],
        "transaction",
    );
    let (status, outcome) = call(&south, app, Method::POST, "", Some(&refused)).await;
    assert_eq!(status, 409, "{outcome}");
    // Reading or deleting it inside a transaction finds nothing, and fails it.
    for request in [
        json!({"request": {"method": "GET", "url": format!("Patient/{p}")}}),
        json!({"request": {"method": "DELETE", "url": format!("Patient/{p}")}}),
    ] {
        let refused = bundle(vec![new_south_patient.clone(), request], "transaction");
        let (status, outcome) = call(&south, app, Method::POST, "", Some(&refused)).await;
        assert_eq!(status, 404, "{outcome}");
    }
    // A conditional reference resolves among south's resources only.
    let conditional = bundle(
        vec![
            json!({"resource": claim_for(&format!("Patient?identifier={NORTH_MRN}|N-1")),
                    "request": {"method": "POST", "url": "Claim"}}),
        ],
        "transaction",
    );
    let (status, outcome) = call(&south, app, Method::POST, "", Some(&conditional)).await;
    assert_eq!(status, 412, "matches nothing for south: {outcome}");
    assert!(
        search(&south, app, "Patient").await.is_empty(),
        "no transaction kept anything"
    );
    assert!(search(&south, app, "Claim").await.is_empty());
    assert_north_patient_unchanged(app, &north, p).await;

    // A batch: each entry on its own; north's resource is not found, south's entry
    // is made.
    let batch = bundle(
        vec![
            json!({"request": {"method": "GET", "url": format!("Patient/{p}")}}),
            json!({"request": {"method": "GET", "url": format!("Patient?identifier={NORTH_MRN}|N-1")}}),
            json!({"resource": claim_for(&format!("Patient/{p}")), "request": {"method": "POST", "url": "Claim"}}),
            new_south_patient,
        ],
        "batch",
    );
    let (status, answer) = call(&south, app, Method::POST, "", Some(&batch)).await;
    assert_eq!(status, 200, "{answer}");
    let entries = answer["entry"].as_array().unwrap();
    assert_eq!(entries[0]["response"]["status"], "404 Not Found", "{answer}");
    assert!(entry_refs(&entries[1]["resource"]).is_empty(), "{answer}");
    assert_eq!(entries[2]["response"]["status"], "400 Bad Request", "{answer}");
    assert_eq!(entries[3]["response"]["status"], "201 Created", "{answer}");
    assert_eq!(search(&south, app, "Patient").await.len(), 1);

    // North's own transaction referring to its patient goes through.
    let accepted = bundle(
        vec![
            json!({"resource": claim_for(&format!("Patient/{p}")), "request": {"method": "POST", "url": "Claim"}}),
        ],
        "transaction",
    );
    let (status, answer) = call(&north, app, Method::POST, "", Some(&accepted)).await;
    assert_eq!(status, 200, "{answer}");
}

async fn the_default_tenant_keeps_the_operator_apis(app: &TestApp) {
    let (north, _) = north_and_south(app).await;
    let data = north_data(app, &north).await;
    // The bootstrap admin is of the default tenant: its FHIR requests see the
    // default tenant's resources, not north's.
    let (status, _) = get(&app.client, app, &format!("Patient/{}", data.patient)).await;
    assert_eq!(status, 404);
    assert!(
        search(&app.client, app, &format!("Patient?identifier={NORTH_MRN}|N-1"))
            .await
            .is_empty()
    );
    let own = create(&app.client, app, patient("Defaulting", "D-1")).await;
    assert_eq!(
        search(&app.client, app, &format!("Patient?identifier={NORTH_MRN}|D-1")).await,
        [format!("Patient/{own}")]
    );
    let (status, _) = get(&north, app, &format!("Patient/{own}")).await;
    assert_eq!(status, 404);

    // Billing, HL7 and administration work in the default tenant: another tenant's
    // client is refused there, whatever its roles.
    let north_admin = tenant_client(app, "north-ops", "admin biller").await;
    for path in ["/api/billing/claims", "/api/hl7/messages", "/admin/clients"] {
        let refused = north_admin.get(app.server_url(path)).send().await.unwrap();
        assert_eq!(refused.status(), 403, "{path}");
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("default tenant"),
            "{body}"
        );
        let (status, _) = app.api_get(path).await;
        assert_eq!(status, 200, "the bootstrap admin keeps {path}");
    }
    let hl7 = north_admin
        .post(app.server_url("/hl7/v2"))
        .body("MSH|^~\\&|A|B|C|D|20260101000000||ADT^A01|1|P|2.5\r")
        .send()
        .await
        .unwrap();
    assert_eq!(hl7.status(), 403);
    // Its FHIR requests are north's.
    let (status, _) = call(
        &north_admin,
        app,
        Method::GET,
        &format!("Patient/{}", data.patient),
        None,
    )
    .await;
    assert_eq!(status, 404, "north-ops is a tenant of its own");
}
