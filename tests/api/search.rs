use serde_json::{json, Value};

use crate::helpers::{assert_issue_at, fhir_json, TestApp};

crate::on_both_backends!(
    each_parameter_type_matches_by_its_rules,
    dates_compare_as_ranges_with_prefixes,
    references_chains_and_reverse_chains,
    includes_mark_their_entries,
    paging_survives_concurrent_writes,
    sort_total_summary_and_elements,
    bad_parameters_are_refused_or_reported,
    post_search_and_conditional_delete,
);

/// The ids of a searchset's entries with `mode`, in order.
fn ids(bundle: &Value, mode: &str) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["search"]["mode"] == mode)
                .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn search(app: &TestApp, query: &str) -> Value {
    let response = app.get(query).await;
    assert_eq!(response.status(), 200, "{query}");
    let bundle = fhir_json(response).await;
    assert_eq!(bundle["type"], "searchset", "{query}");
    bundle
}

/// Matched ids for `query`, sorted for comparison.
async fn matched(app: &TestApp, query: &str) -> Vec<String> {
    let mut found = ids(&search(app, query).await, "match");
    found.sort();
    found
}

async fn put(app: &TestApp, resource: Value) {
    let path = format!(
        "{}/{}",
        resource["resourceType"].as_str().unwrap(),
        resource["id"].as_str().unwrap()
    );
    let response = app.put(&path, &resource).await;
    assert!(
        response.status().is_success(),
        "PUT {path}: {}",
        response.text().await.unwrap()
    );
}

fn patient(id: &str, family: &str, given: &str, birth: &str, extra: Value) -> Value {
    let mut patient = json!({
        "resourceType": "Patient",
        "id": id,
        "name": [{"family": family, "given": [given]}],
        "birthDate": birth,
    });
    for (key, value) in extra.as_object().unwrap() {
        patient[key] = value.clone();
    }
    patient
}

async fn each_parameter_type_matches_by_its_rules(app: &TestApp) {
    let mrn = "http://hospital.org/mrn";
    put(app, patient("p1", "Müller", "Anna", "1980-04-12", json!({
        "gender": "female", "active": true,
        "identifier": [{"system": mrn, "value": "100",
                        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}], "text": "Medical record"}}],
        "telecom": [{"system": "phone", "value": "555-0100"}],
        "address": [{"city": "Springfield", "postalCode": "12345"}]
    }))).await;
    put(
        app,
        patient(
            "p2",
            "Mueller",
            "Bob",
            "1975",
            json!({
                "gender": "male", "identifier": [{"system": "http://other.org/id", "value": "100"}],
                "address": [{"city": "Shelbyville"}]
            }),
        ),
    )
    .await;
    put(
        app,
        patient(
            "p3",
            "Smith",
            "Carla",
            "2001-09",
            json!({"gender": "female", "identifier": [{"value": "100"}]}),
        ),
    )
    .await;

    // String: starts-with, case- and accent-insensitive; :exact; :contains.
    assert_eq!(matched(app, "Patient?family=muller").await, ["p1"]);
    assert_eq!(matched(app, "Patient?family=MU").await, ["p1", "p2"]);
    assert_eq!(matched(app, "Patient?name=carl").await, ["p3"]);
    assert_eq!(matched(app, "Patient?family:exact=Müller").await, ["p1"]);
    assert!(matched(app, "Patient?family:exact=muller").await.is_empty());
    assert_eq!(matched(app, "Patient?family:contains=ELL").await, ["p2"]);
    assert_eq!(matched(app, "Patient?address-city=spring").await, ["p1"]);
    assert_eq!(matched(app, "Patient?address=12345").await, ["p1"]);

    // Token: system|code, |code, system|, code; :not; :text; :of-type.
    assert_eq!(
        matched(app, &format!("Patient?identifier={mrn}|100")).await,
        ["p1"]
    );
    assert_eq!(matched(app, "Patient?identifier=100").await, ["p1", "p2", "p3"]);
    assert_eq!(matched(app, "Patient?identifier=|100").await, ["p3"]);
    assert_eq!(
        matched(app, "Patient?identifier=http://other.org/id|").await,
        ["p2"]
    );
    assert_eq!(matched(app, "Patient?gender=female").await, ["p1", "p3"]);
    assert_eq!(matched(app, "Patient?gender:not=female").await, ["p2"]);
    assert_eq!(matched(app, "Patient?identifier:text=medical").await, ["p1"]);
    assert_eq!(
        matched(
            app,
            "Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|100"
        )
        .await,
        ["p1"]
    );
    assert_eq!(matched(app, "Patient?active=true").await, ["p1"]);
    assert_eq!(matched(app, "Patient?phone=555-0100").await, ["p1"]);

    // Comma is OR, a repeated parameter is AND; :missing on any type.
    assert_eq!(matched(app, "Patient?family=smith,mueller").await, ["p2", "p3"]);
    assert_eq!(matched(app, "Patient?gender=female&family=smi").await, ["p3"]);
    assert_eq!(matched(app, "Patient?active:missing=true").await, ["p2", "p3"]);
    assert_eq!(matched(app, "Patient?address:missing=false").await, ["p1", "p2"]);
    assert_eq!(matched(app, "Patient?_id=p1,p3").await, ["p1", "p3"]);

    // Number/quantity with prefixes and units.
    for (id, minutes) in [("e1", 30), ("e2", 45), ("e3", 120)] {
        put(app, json!({"resourceType": "Encounter", "id": id, "status": "finished",
                        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                        "length": {"value": minutes, "unit": "min", "system": "http://unitsofmeasure.org", "code": "min"}})).await;
    }
    assert_eq!(matched(app, "Encounter?length=45").await, ["e2"]);
    assert_eq!(matched(app, "Encounter?length=gt40").await, ["e2", "e3"]);
    assert_eq!(
        matched(app, "Encounter?length=le45|http://unitsofmeasure.org|min").await,
        ["e1", "e2"]
    );
    assert_eq!(matched(app, "Encounter?length=ap110").await, ["e3"]);
    assert!(matched(app, "Encounter?length=gt40|http://unitsofmeasure.org|h")
        .await
        .is_empty());
    assert_eq!(matched(app, "Encounter?length=ne45").await, ["e1", "e3"]);
    assert_eq!(matched(app, "Encounter?class=AMB").await, ["e1", "e2", "e3"]);
}

async fn dates_compare_as_ranges_with_prefixes(app: &TestApp) {
    put(app, patient("d1", "A", "A", "1980-04-12", json!({}))).await;
    put(app, patient("d2", "B", "B", "1980-04", json!({}))).await;
    put(app, patient("d3", "C", "C", "1981", json!({}))).await;

    assert_eq!(matched(app, "Patient?birthdate=1980-04-12").await, ["d1"]);
    // A month search contains the day and the month itself.
    assert_eq!(matched(app, "Patient?birthdate=1980-04").await, ["d1", "d2"]);
    assert_eq!(matched(app, "Patient?birthdate=1980").await, ["d1", "d2"]);
    assert_eq!(matched(app, "Patient?birthdate=ne1980").await, ["d3"]);
    assert_eq!(matched(app, "Patient?birthdate=gt1980-12-31").await, ["d3"]);
    assert_eq!(matched(app, "Patient?birthdate=lt1980-04-13").await, ["d1", "d2"]);
    assert_eq!(matched(app, "Patient?birthdate=ge1981-01-01").await, ["d3"]);
    assert_eq!(matched(app, "Patient?birthdate=le1980-04-12").await, ["d1", "d2"]);
    assert_eq!(matched(app, "Patient?birthdate=sa1980-04-30").await, ["d3"]);
    assert_eq!(matched(app, "Patient?birthdate=eb1980-05").await, ["d1", "d2"]);
    // Approximately: within 10% of the distance from now (at least a day).
    let day = |days: i64| {
        (chrono::Utc::now() - chrono::Duration::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };
    put(app, patient("d4", "D", "D", &day(2), json!({}))).await;
    assert_eq!(
        matched(app, &format!("Patient?birthdate=ap{}", day(1))).await,
        ["d4"]
    );
    // Two bounds are AND: a range.
    assert_eq!(
        matched(app, "Patient?birthdate=ge1980-01-01&birthdate=lt1981-01-01").await,
        ["d1", "d2"]
    );
    // Date-times with offsets, and _lastUpdated on the row itself.
    put(app, json!({"resourceType": "Encounter", "id": "t1", "status": "finished",
                    "class": {"code": "AMB"}, "period": {"start": "2024-03-05T10:00:00+02:00", "end": "2024-03-05T11:00:00+02:00"}})).await;
    assert_eq!(matched(app, "Encounter?date=2024-03-05").await, ["t1"]);
    assert_eq!(
        matched(app, "Encounter?date=ge2024-03-05T08:30:00Z").await,
        ["t1"]
    );
    assert!(matched(app, "Encounter?date=gt2024-03-05T09:00:00Z")
        .await
        .is_empty());
    assert_eq!(
        matched(app, "Patient?_lastUpdated=gt2020-01-01&_id=d1").await,
        ["d1"]
    );
    assert!(matched(app, "Patient?_lastUpdated=lt2020-01-01").await.is_empty());
}

async fn references_chains_and_reverse_chains(app: &TestApp) {
    put(
        app,
        patient(
            "rp1",
            "Ref",
            "One",
            "1990",
            json!({"identifier": [{"system": "http://hospital.org/mrn", "value": "R1"}]}),
        ),
    )
    .await;
    put(
        app,
        patient(
            "rp2",
            "Ref",
            "Two",
            "1990",
            json!({"identifier": [{"system": "http://hospital.org/mrn", "value": "R2"}]}),
        ),
    )
    .await;
    put(
        app,
        json!({"resourceType": "Organization", "id": "payer", "name": "Acme Health"}),
    )
    .await;
    for (id, patient_ref) in [
        ("c1", "Patient/rp1"),
        ("c2", "Patient/rp1"),
        ("c3", "Patient/rp2"),
    ] {
        put(app, claim(id, patient_ref, "Organization/payer")).await;
    }
    put(app, claim_response("cr1", "Claim/c1", "complete")).await;
    put(app, claim_response("cr2", "Claim/c3", "error")).await;

    assert_eq!(matched(app, "Claim?patient=Patient/rp1").await, ["c1", "c2"]);
    assert_eq!(matched(app, "Claim?patient=rp1").await, ["c1", "c2"]);
    let absolute = format!("Claim?patient={}/Patient/rp2", app.base);
    assert_eq!(matched(app, &absolute).await, ["c3"]);
    assert_eq!(matched(app, "Claim?patient:Patient=rp2").await, ["c3"]);
    assert_eq!(
        matched(app, "Claim?patient.identifier=http://hospital.org/mrn|R1").await,
        ["c1", "c2"]
    );
    assert_eq!(matched(app, "Claim?insurer.name=acme").await, ["c1", "c2", "c3"]);
    assert_eq!(
        matched(app, "Claim?_has:ClaimResponse:request:outcome=complete").await,
        ["c1"]
    );
    assert_eq!(matched(app, "Patient?_has:Claim:patient:_id=c3").await, ["rp2"]);
    assert_eq!(matched(app, "ClaimResponse?request=Claim/c3").await, ["cr2"]);
    // A logical reference by identifier.
    let mut by_identifier = claim("c4", "Patient/rp2", "Organization/payer");
    by_identifier["provider"] =
        json!({"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}});
    put(app, by_identifier).await;
    assert_eq!(
        matched(
            app,
            "Claim?provider:identifier=http://hl7.org/fhir/sid/us-npi|1234567893"
        )
        .await,
        ["c4"]
    );
    // Deleting a claim takes it out of every index.
    assert_eq!(
        app.client
            .delete(app.url("Claim/c2"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(matched(app, "Claim?patient=rp1").await, ["c1"]);

    // Parameters with the same paths read the same rows (Coverage's `patient` is
    // its `beneficiary`, Patient's `phonetic` its `name`), in every search form.
    put(
        app,
        json!({"resourceType": "Coverage", "id": "cov9", "status": "active",
               "beneficiary": {"reference": "Patient/rp2"}, "payor": [{"reference": "Organization/payer"}]}),
    )
    .await;
    assert_eq!(matched(app, "Coverage?patient=rp2").await, ["cov9"]);
    assert_eq!(matched(app, "Coverage?beneficiary=rp2").await, ["cov9"]);
    assert!(matched(app, "Coverage?patient=rp1").await.is_empty());
    assert_eq!(
        matched(app, "Coverage?patient.identifier=http://hospital.org/mrn|R2").await,
        ["cov9"]
    );
    assert_eq!(
        matched(app, "Patient?_has:Coverage:patient:_id=cov9").await,
        ["rp2"]
    );
    assert_eq!(matched(app, "Coverage?patient:missing=false").await, ["cov9"]);
    let included = search(app, "Coverage?_id=cov9&_include=Coverage:patient").await;
    assert_eq!(ids(&included, "include"), ["rp2"]);
    assert_eq!(matched(app, "Patient?phonetic=ref").await, ["rp1", "rp2"]);
    assert_eq!(matched(app, "Patient?phonetic:exact=Two").await, ["rp2"]);
}

fn claim(id: &str, patient: &str, insurer: &str) -> Value {
    json!({
        "resourceType": "Claim", "id": id, "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "claim", "patient": {"reference": patient}, "created": "2024-05-01",
        "insurer": {"reference": insurer}, "provider": {"reference": "Organization/payer"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": true, "coverage": {"reference": "Coverage/cov1"}}]
    })
}

fn claim_response(id: &str, request: &str, outcome: &str) -> Value {
    json!({
        "resourceType": "ClaimResponse", "id": id, "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "claim", "patient": {"reference": "Patient/rp1"}, "created": "2024-05-02",
        "insurer": {"reference": "Organization/payer"}, "request": {"reference": request}, "outcome": outcome
    })
}

async fn includes_mark_their_entries(app: &TestApp) {
    put(
        app,
        patient(
            "ip1",
            "Inc",
            "One",
            "1990",
            json!({"managingOrganization": {"reference": "Organization/org"}}),
        ),
    )
    .await;
    put(
        app,
        json!({"resourceType": "Organization", "id": "org", "name": "Org"}),
    )
    .await;
    put(
        app,
        json!({"resourceType": "Organization", "id": "payer", "name": "Payer"}),
    )
    .await;
    put(app, claim("ic1", "Patient/ip1", "Organization/payer")).await;
    put(app, claim("ic2", "Patient/ip1", "Organization/payer")).await;
    put(app, claim_response("icr1", "Claim/ic1", "complete")).await;

    let bundle = search(
        app,
        "Claim?_include=Claim:patient&_include=Claim:insurer&_sort=_id",
    )
    .await;
    assert_eq!(ids(&bundle, "match"), ["ic1", "ic2"]);
    let mut included = ids(&bundle, "include");
    included.sort();
    assert_eq!(included, ["ip1", "payer"], "each included once");

    let bundle = search(app, "Claim?_id=ic1&_revinclude=ClaimResponse:request").await;
    assert_eq!(ids(&bundle, "include"), ["icr1"]);

    // :iterate follows the included patient to its organization.
    let bundle = search(
        app,
        "Claim?_id=ic1&_include=Claim:patient&_include:iterate=Patient:organization",
    )
    .await;
    let mut included = ids(&bundle, "include");
    included.sort();
    assert_eq!(included, ["ip1", "org"]);
    let bundle = search(app, "Claim?_id=ic1&_include=Claim:patient").await;
    assert_eq!(ids(&bundle, "include"), ["ip1"], "without :iterate, one level");
}

async fn paging_survives_concurrent_writes(app: &TestApp) {
    for n in 0..7 {
        put(
            app,
            patient(&format!("pg{n}"), "Page", &format!("G{n}"), "1990", json!({})),
        )
        .await;
    }
    let first = search(app, "Patient?family=page&_count=3&_sort=_id").await;
    assert_eq!(
        first["total"],
        Value::Null,
        "a full first page does not count unasked"
    );
    assert_eq!(ids(&first, "match"), ["pg0", "pg1", "pg2"]);
    let next = link(&first, "next").expect("next link");
    assert!(link(&first, "previous").is_none());

    // Changes before and around the cursor do not shift the next page.
    assert_eq!(
        app.client
            .delete(app.url("Patient/pg0"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    put(app, patient("pg1", "Page", "changed", "1990", json!({}))).await;
    put(app, patient("pg00", "Page", "new", "1990", json!({}))).await;

    let second = fhir_json(app.client.get(&next).send().await.unwrap()).await;
    assert_eq!(ids(&second, "match"), ["pg3", "pg4", "pg5"]);
    let third = fhir_json(
        app.client
            .get(link(&second, "next").unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&third, "match"), ["pg6"]);
    assert!(link(&third, "next").is_none());
    let back = fhir_json(
        app.client
            .get(link(&third, "previous").unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&back, "match"), ["pg3", "pg4", "pg5"]);
    assert!(link(&back, "self").unwrap().contains("_cursor="));

    // Sorting by a string parameter pages by that key, descending too.
    let by_given = search(app, "Patient?family=page&_sort=-given&_count=4").await;
    assert_eq!(
        ids(&by_given, "match"),
        ["pg00", "pg6", "pg5", "pg4"],
        "new, G6, G5, G4"
    );
    let rest = fhir_json(
        app.client
            .get(link(&by_given, "next").unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&rest, "match"), ["pg3", "pg2", "pg1"], "G3, G2, changed");
}

fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .map(|l| l["url"].as_str().unwrap().to_owned())
}

async fn sort_total_summary_and_elements(app: &TestApp) {
    for (id, family, birth) in [
        ("s1", "Beta", "1990"),
        ("s2", "Alpha", "1985"),
        ("s3", "Gamma", "1985"),
    ] {
        put(
            app,
            patient(id, family, "X", birth, json!({"photo": [{"title": "portrait"}]})),
        )
        .await;
    }
    let sorted = search(app, "Patient?_sort=birthdate,-family&_total=accurate").await;
    assert_eq!(ids(&sorted, "match"), ["s3", "s2", "s1"]);
    assert_eq!(sorted["total"], 3);
    assert_eq!(
        ids(&search(app, "Patient?_sort=family").await, "match"),
        ["s2", "s1", "s3"]
    );
    assert_eq!(
        ids(&search(app, "Patient?_sort=-_lastUpdated").await, "match"),
        ["s3", "s2", "s1"]
    );

    let count = search(app, "Patient?_summary=count").await;
    assert_eq!(count["total"], 3);
    assert!(count
        .get("entry")
        .is_none_or(|e| e.as_array().unwrap().is_empty()));
    let none = search(app, "Patient?_total=none").await;
    assert!(none.get("total").is_none());
    let small = search(app, "Patient?birthdate=1990").await;
    assert_eq!(
        small["total"], 1,
        "a first page that holds every match counts itself"
    );

    let summary = search(app, "Patient?_id=s1&_summary=true").await;
    let resource = &summary["entry"][0]["resource"];
    assert!(
        resource.get("photo").is_none() && resource.get("name").is_some(),
        "{resource}"
    );
    assert_eq!(resource["meta"]["tag"][0]["code"], "SUBSETTED");
    let elements = search(app, "Patient?_id=s1&_elements=birthDate").await;
    let resource = elements["entry"][0]["resource"].as_object().unwrap();
    let keys: Vec<&str> = resource.keys().map(String::as_str).collect();
    assert_eq!(keys, ["resourceType", "id", "meta", "birthDate"]);
}

async fn bad_parameters_are_refused_or_reported(app: &TestApp) {
    for (query, parameter) in [
        ("Patient?nonsense=1", "nonsense"),
        ("Patient?birthdate=yesterday", "birthdate"),
        ("Patient?family:fuzzy=x", "family:fuzzy"),
        ("Patient?_sort=link", "_sort"),
        ("Claim?provider.name=x", "provider.name"),
        ("Patient?_count=many", "_count"),
        ("Patient?_cursor=garbage", "_cursor"),
    ] {
        let response = app.get(query).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_issue_at(&fhir_json(response).await, parameter);
    }
    let lenient = app
        .client
        .get(app.url("Patient?nonsense=1&_id=nobody"))
        .header("Prefer", "handling=lenient")
        .send()
        .await
        .unwrap();
    assert_eq!(lenient.status(), 200);
    let bundle = fhir_json(lenient).await;
    let outcome = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .unwrap();
    assert_issue_at(&outcome["resource"], "nonsense");
    assert!(!link(&bundle, "self").unwrap().contains("nonsense"));
}

async fn post_search_and_conditional_delete(app: &TestApp) {
    put(
        app,
        patient(
            "x1",
            "Post",
            "Search",
            "1990",
            json!({"identifier": [{"system": "urn:sys", "value": "del-1"}]}),
        ),
    )
    .await;
    put(
        app,
        patient(
            "x2",
            "Post",
            "Other",
            "1990",
            json!({"identifier": [{"system": "urn:sys", "value": "del-2"}]}),
        ),
    )
    .await;
    let response = app
        .client
        .post(app.url("Patient/_search"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("family=post&given=sea")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(ids(&fhir_json(response).await, "match"), ["x1"]);

    // Several matches: refused, nothing deleted.
    let many = app
        .client
        .delete(app.url("Patient?family=post"))
        .send()
        .await
        .unwrap();
    assert_eq!(many.status(), 412);
    assert_eq!(matched(app, "Patient?family=post").await, ["x1", "x2"]);
    let one = app
        .client
        .delete(app.url("Patient?identifier=urn:sys|del-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 204);
    assert_eq!(app.get("Patient/x1").await.status(), 410);
    let none = app
        .client
        .delete(app.url("Patient?identifier=urn:sys|nobody"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 204);
}

/// On PostgreSQL the server computes every index row's identity hash, and the
/// rows stored before it did (by a generated column) hold PostgreSQL's
/// `hashtextextended` of the same text: the two must agree, or a search would not
/// find those rows. Each table's rows are checked against the database's own
/// function.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_hashes_match_postgresql() {
    let Some(app) = TestApp::postgres(Default::default()).await else {
        return;
    };
    put(
        &app,
        patient(
            "h1",
            "Ñúñez",
            "Zoë",
            "1990-01-02",
            json!({
                "gender": "other",
                "identifier": [{"system": "http://hospital.org/mrn", "value": "H-1"}],
                "address": [{"city": "Köln", "postalCode": "50667"}],
                "telecom": [{"system": "email", "value": "zoe@example.org"}]
            }),
        ),
    )
    .await;
    put(
        &app,
        json!({
            "resourceType": "Encounter", "id": "e1", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": "Patient/h1"},
            "period": {"start": "2024-05-01T10:00:00Z", "end": "2024-05-01T11:00:00Z"}
        }),
    )
    .await;
    for (table, must_have_rows) in [
        ("search_token", true),
        ("search_string", true),
        ("search_date", true),
        ("search_reference", true),
        ("search_quantity", false),
        ("search_uri", false),
    ] {
        let counts = app
            .select_texts(&format!(
                "SELECT COUNT(*) FILTER (WHERE hash_identity = \
                 hashtextextended(tenant || '|' || res_type || '|' || param, 0))::TEXT \
                 || '/' || COUNT(*)::TEXT AS text FROM {table}"
            ))
            .await;
        let (matching, all) = counts[0].split_once('/').unwrap();
        assert_eq!(
            matching, all,
            "{table}: rows whose hash PostgreSQL computes alike"
        );
        assert!(!must_have_rows || all != "0", "{table} has rows to check");
    }
    assert_eq!(matched(&app, "Patient?address-city=köln").await, ["h1"]);
    assert_eq!(matched(&app, "Encounter?subject=Patient/h1").await, ["e1"]);
    app.finish().await;
}
