//! The billers' worklist over HTTP, as a billing office's tools use it: claims
//! found by state, payer, entry date, denial category and assignee; assigned in
//! bulk; exported as CSV; a denied claim corrected and sent again; a claim's work
//! marked resolved; and the dashboard's chart data.

use serde_json::{json, Value};

use crate::denied::{denied, post_denial};
use crate::helpers::{fhir_json, TestApp};
use crate::remittance::{api_get, billed_claim, claim_view};

crate::on_both_backends!(with crate::helpers::TestOptions::SANDBOX;
    the_worklist_filters_assigns_and_exports,
    a_denied_claim_is_corrected_and_sent_again,
    resolving_a_claim_resolves_its_denials_and_closes_it,
    the_dashboard_charts_count_denials_and_the_days_billed,
);

fn ids(page: &Value) -> Vec<String> {
    page["claims"]
        .as_array()
        .expect("claims")
        .iter()
        .map(|claim| claim["claimId"].as_str().unwrap().to_owned())
        .collect()
}

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

/// A billed claim the payer denied as not medically necessary (CO-50, left for a
/// person by its playbook), and its patient control number.
async fn denied_claim(app: &TestApp, trace: &str) -> (String, String) {
    let (id, number) = billed_claim(app).await;
    let posted = post_denial(app, trace, denied(&number, "CO", "50", "N115")).await;
    assert_eq!(posted["state"], "denied", "{posted}");
    (id, number)
}

/// The Claim as stored now.
async fn stored_claim(app: &TestApp, id: &str) -> Value {
    fhir_json(app.get(&format!("Claim/{id}")).await).await
}

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    app.api_post(path, &body).await
}

async fn the_worklist_filters_assigns_and_exports(app: &TestApp) {
    let (denied_id, number) = denied_claim(app, "WL-DENY").await;
    let (ready_id, _) = billed_claim(app).await;

    let all = api_get(app, "/api/billing/claims").await;
    assert_eq!(ids(&all), [ready_id.clone(), denied_id.clone()], "newest first");
    let listed = &all["claims"][1];
    assert_eq!(listed["payer"], "Acme Health", "{listed}");
    assert_eq!(listed["number"], number.as_str());
    assert_eq!(listed["charge"].to_string(), "146.00");

    let denied_only = api_get(app, "/api/billing/claims?status=denied").await;
    assert_eq!(ids(&denied_only), [denied_id.as_str()]);
    let necessity = api_get(app, "/api/billing/claims?denialCategory=medical_necessity").await;
    assert_eq!(ids(&necessity), [denied_id.as_str()]);
    let coding = api_get(app, "/api/billing/claims?denialCategory=coding").await;
    assert_eq!(ids(&coding), Vec::<String>::new());
    let by_payer = api_get(app, "/api/billing/claims?payer=Acme%20Health").await;
    assert_eq!(ids(&by_payer).len(), 2);
    let other_payer = api_get(app, "/api/billing/claims?payer=Nobody").await;
    assert!(ids(&other_payer).is_empty());
    let today = today();
    let entered_today = api_get(app, &format!("/api/billing/claims?from={today}&to={today}")).await;
    assert_eq!(ids(&entered_today).len(), 2);
    let long_ago = api_get(app, "/api/billing/claims?from=2000-01-01&to=2000-01-31").await;
    assert!(ids(&long_ago).is_empty());
    let page = api_get(app, "/api/billing/claims?limit=1").await;
    assert_eq!(ids(&page), [ready_id.as_str()]);
    let before = page["nextBefore"].as_i64().expect("a next page");
    let rest = api_get(app, &format!("/api/billing/claims?limit=1&before={before}")).await;
    assert_eq!(ids(&rest), [denied_id.as_str()]);
    for refused in [
        "status=lost",
        "denialCategory=bad_luck",
        "from=2026-02-01&to=2026-01-01",
        "from=yesterday",
    ] {
        let (status, body) = app.api_get(&format!("/api/billing/claims?{refused}")).await;
        assert_eq!(status, 400, "{refused}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }

    let (status, body) = post(
        app,
        "/api/billing/claims/assign",
        json!({"claimIds": [], "assignee": "dana"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let both = json!({"claimIds": [denied_id, ready_id], "assignee": " dana "});
    let (status, body) = post(app, "/api/billing/claims/assign", both).await;
    assert_eq!((status, &body["assigned"]), (200, &json!(2)), "{body}");
    let danas = api_get(app, "/api/billing/claims?assignee=dana").await;
    assert_eq!(ids(&danas).len(), 2);
    let unassign = json!({"claimIds": [ready_id], "assignee": ""});
    post(app, "/api/billing/claims/assign", unassign).await;
    let danas = api_get(app, "/api/billing/claims?assignee=dana").await;
    assert_eq!(ids(&danas), [denied_id.as_str()]);

    let response = app
        .client
        .get(app.server_url("/api/billing/claims/export.csv?status=denied"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "claim_id,number,state,payer,assignee,charge,created_at,updated_at"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].starts_with(&format!("{denied_id},{number},denied,Acme Health,dana,146.00,")),
        "{csv}"
    );
}

async fn a_denied_claim_is_corrected_and_sent_again(app: &TestApp) {
    let (id, _) = denied_claim(app, "WL-FIX").await;
    let path = format!("/api/billing/claims/{id}/resubmit");
    let version = |claim: &Value| claim["meta"]["versionId"].as_str().unwrap().to_owned();
    let before = stored_claim(app, &id).await;

    // A line the claim does not have: refused, nothing stored.
    let (status, body) = post(app, &path, json!({"lines": [{"sequence": 9, "code": "99214"}]})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["path"], "Claim.item.sequence=9");
    let unchanged = stored_claim(app, &id).await;
    assert_eq!(version(&unchanged), version(&before));

    // A correction whose scrub cannot record its verdict keeps nothing: the claim
    // is never left corrected but unscrubbed, where a due submission could send it.
    app.refuse_inserts(
        "billing_state_history",
        "NEW.to_state = 'needs_review'",
        "history refused",
    )
    .await;
    let (status, body) = post(app, &path, json!({"diagnoses": ["E11.9"]})).await;
    app.allow_inserts("billing_state_history").await;
    assert!(status >= 500, "{status} {body}");
    let unchanged = stored_claim(app, &id).await;
    assert_eq!(version(&unchanged), version(&before));
    assert_eq!(claim_view(app, &id).await["status"], "denied");

    // A correction that leaves an error (line 1 points at a second diagnosis):
    // stored, not sent, held for review with what the scrub found.
    let (status, body) = post(app, &path, json!({"diagnoses": ["E11.9"]})).await;
    assert_eq!((status, &body["status"]), (422, &json!("needs_review")), "{body}");
    assert!(
        body["scrubResults"]
            .to_string()
            .contains("DIAGNOSIS_POINTER_NO_DIAGNOSIS"),
        "{body}"
    );

    // The first line billed at the next level of visit, with its modifier.
    let fix = json!({"lines": [{"sequence": 1, "code": "99214", "modifiers": ["25"], "charge": 150}],
                     "diagnoses": ["E11.9", "I10"], "actor": "bea"});
    let (status, body) = post(app, &path, fix).await;
    assert_eq!((status, &body["status"]), (200, &json!("submitted")), "{body}");
    let moves: Vec<(&str, &str)> = body["statusHistory"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .take(2)
        .map(|m| (m["from"].as_str().unwrap(), m["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        moves,
        [
            ("ready_to_submit", "submitted"),
            ("needs_review", "ready_to_submit")
        ]
    );
    let corrected = stored_claim(app, &id).await;
    assert_ne!(version(&corrected), version(&before));
    assert_eq!(
        corrected["item"][0]["productOrService"]["coding"][0]["code"],
        "99214"
    );
    assert_eq!(
        corrected["total"]["value"].to_string(),
        "171.00",
        "150.00 + 21.00"
    );
    assert_eq!(claim_view(app, &id).await["status"], "submitted");

    // Submitted claims are not corrected in place.
    let (status, body) = post(app, &path, json!({"lines": [{"sequence": 1, "code": "99215"}]})).await;
    assert_eq!(status, 409, "{body}");
    let unchanged = stored_claim(app, &id).await;
    assert_eq!(version(&unchanged), version(&corrected), "nothing stored");
}

async fn resolving_a_claim_resolves_its_denials_and_closes_it(app: &TestApp) {
    let (id, _) = denied_claim(app, "WL-RESOLVE").await;
    let path = format!("/api/billing/claims/{id}/resolve");
    let (status, body) = post(app, &path, json!({"note": "   ", "close": true})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(claim_view(app, &id).await["status"], "denied");

    let note = json!({"note": "Written off after review", "close": true, "actor": "bea"});
    let (status, body) = post(app, &path, note).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "closed");
    assert_eq!(body["denialsResolved"], 1);
    assert_eq!(body["denials"][0]["status"], "resolved");
    assert_eq!(
        body["denials"][0]["resolution"]["note"],
        "Written off after review"
    );
    let last = body["statusHistory"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["to"], &last["actor"], &last["reason"]),
        (
            &json!("closed"),
            &json!("bea"),
            &json!("Written off after review")
        )
    );
    let open = api_get(app, "/api/billing/denials?status=open").await;
    assert_eq!(open["denials"], json!([]));

    // Nothing left to resolve; a closed claim stays closed.
    let (status, body) = post(app, &path, json!({"note": "again", "close": true})).await;
    assert_eq!((status, &body["denialsResolved"]), (200, &json!(0)), "{body}");
    let (status, _) = post(
        app,
        "/api/billing/claims/no-such-claim/resolve",
        json!({"note": "x"}),
    )
    .await;
    assert_eq!(status, 404);
}

async fn the_dashboard_charts_count_denials_and_the_days_billed(app: &TestApp) {
    let (abandoned_on, _) = denied_claim(app, "WL-CHART-0").await;
    let (other, _) = denied_claim(app, "WL-CHART-2").await;
    let today = today();
    let charts = api_get(
        app,
        &format!("/api/billing/dashboard/charts?from={today}&to={today}"),
    )
    .await;
    let reasons = charts["denialReasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{charts}");
    assert_eq!(reasons[0]["code"], "CO-50");
    assert_eq!(reasons[0]["count"], 2);
    assert!(!reasons[0]["description"].as_str().unwrap().is_empty());
    let trend = charts["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 30);
    assert_eq!(trend[29]["day"], today.as_str());
    let kpis = api_get(
        app,
        &format!("/api/billing/dashboard/kpis?from={today}&to={today}"),
    )
    .await;
    assert_eq!(trend[29]["billed"], kpis["billed"], "{charts} {kpis}");

    // Both claims denied two days ago: today adjudicated nothing. An admin's
    // abandonment of an upload of one of them keeps its state: a history row that
    // moves nothing counts as no denial and no adjudication.
    let both = format!("claim_id IN ('{abandoned_on}', '{other}')");
    app.execute_sql(
        &format!("UPDATE billing_state_history SET at = at - interval '2 days' WHERE {both}"),
        &format!("UPDATE billing_state_history SET at = at - 172800000000 WHERE {both}"),
    )
    .await;
    let kpis = api_get(
        app,
        &format!("/api/billing/dashboard/kpis?from={today}&to={today}"),
    )
    .await;
    assert_eq!(kpis["denialRate"], Value::Null, "{kpis}");
    let at = chrono::Utc::now();
    let insert = |failover: &str, at: String| {
        format!(
            "INSERT INTO integration_attempts (tenant, integration_id, vendor, operation, subject, outcome, \
             latency_micros, failover, attempted_at, submission_id) VALUES ('default', 'ch-1', 'claimmd', \
             'submit_claim', 'Claim/{abandoned_on}', 'succeeded', 0, {failover}, {at}, 'cb-77')"
        )
    };
    app.execute_sql(
        &insert("false", format!("'{}'", at.to_rfc3339())),
        &insert("0", at.timestamp_micros().to_string()),
    )
    .await;
    let (status, body) = post(
        app,
        &format!("/admin/claims/{abandoned_on}/submissions/cb-77/abandon"),
        json!({"reason": "the clearinghouse confirmed it has no such file"}),
    )
    .await;
    assert_eq!((status, &body["status"]), (200, &json!("denied")), "{body}");
    let again = api_get(
        app,
        &format!("/api/billing/dashboard/kpis?from={today}&to={today}"),
    )
    .await;
    assert_eq!(again, kpis);
    assert_eq!(trend[29]["billed"].to_string(), "292.00");
    assert_eq!(trend[0]["billed"].to_string(), "0.00");
    let (status, _) = app
        .api_get("/api/billing/dashboard/charts?from=2026-01-02&to=2026-01-01")
        .await;
    assert_eq!(status, 400);
}
