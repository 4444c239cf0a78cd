//! Posted remittances read back: the list (newest first, paged, by payer and by
//! the day received) and each remittance's report as posting answered it.

use chrono::{Days, Utc};
use serde_json::Value;

use crate::helpers::TestApp;
use crate::remittance::{billed_claim, interchange, paid_in_full, payment, post_835};

crate::on_both_backends!(
    remittances_are_listed_newest_first_and_paged,
    the_list_narrows_by_payer_and_day_received,
    a_remittance_reads_back_as_posted,
    bad_list_requests_are_refused,
);

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.client.get(app.server_url(path)).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn list(app: &TestApp, query: &str) -> Value {
    let (status, body) = get(app, &format!("/api/billing/remittance{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

fn traces(page: &Value) -> Vec<&str> {
    page["remittances"]
        .as_array()
        .expect("remittances")
        .iter()
        .map(|r| r["traceNumber"].as_str().unwrap())
        .collect()
}

/// Posts three payments, one request each: TRACE-A (Acme: a claim of ours and one
/// unknown), TRACE-B (Acme: an unknown claim), TRACE-C (Beta Health: an unknown
/// claim). Returns what posting answered for each.
async fn three_payments(app: &TestApp) -> Vec<Value> {
    let (_, number) = billed_claim(app).await;
    let files = [
        payment(
            "TRACE-A",
            "292.00",
            &[paid_in_full(&number), paid_in_full("OTHER-SYSTEM-1")],
            "",
        ),
        payment("TRACE-B", "146.00", &[paid_in_full("OTHER-SYSTEM-2")], ""),
        payment("TRACE-C", "146.00", &[paid_in_full("OTHER-SYSTEM-3")], "").replace(
            "N1*PR*ACME HEALTH~REF*2U*ACME01",
            "N1*PR*BETA HEALTH~REF*2U*BETA02",
        ),
    ];
    let mut reports = Vec::new();
    for file in files {
        let (status, body) = post_835(app, &interchange(&[file])).await;
        assert_eq!(status, 200, "{body}");
        reports.push(body["remittances"][0].clone());
    }
    reports
}

async fn remittances_are_listed_newest_first_and_paged(app: &TestApp) {
    let reports = three_payments(app).await;
    let all = list(app, "").await;
    assert_eq!(traces(&all), ["TRACE-C", "TRACE-B", "TRACE-A"]);
    assert_eq!(all["nextBefore"], Value::Null);

    let first = &all["remittances"][2];
    assert_eq!(first["id"], reports[0]["remittanceId"]);
    assert_eq!(first["payer"]["id"], "ACME01");
    assert_eq!(first["payer"]["name"], "ACME HEALTH");
    // Money is text with two decimals.
    assert_eq!(first["paymentAmount"].to_string(), "292.00");
    assert_eq!(first["paymentDate"], "2026-01-10");
    assert_eq!(first["claimsPosted"], 1);
    assert_eq!(first["claimsUnmatched"], 1);
    let received = first["receivedAt"].as_str().unwrap_or_default();
    assert!(
        received.starts_with(&Utc::now().date_naive().to_string()),
        "{first}"
    );
    assert_eq!(all["remittances"][0]["payer"]["id"], "BETA02");
    assert_eq!(all["remittances"][0]["claimsPosted"], 0);

    let page = list(app, "?limit=2").await;
    assert_eq!(traces(&page), ["TRACE-C", "TRACE-B"]);
    let next = page["nextBefore"].as_i64().expect("a full page has a next");
    assert_eq!(Value::from(next), all["remittances"][1]["id"]);
    let rest = list(app, &format!("?limit=2&before={next}")).await;
    assert_eq!(traces(&rest), ["TRACE-A"]);
    assert_eq!(rest["nextBefore"], Value::Null);

    // A repost is answered from the first posting, not listed again.
    let (_, again) = post_835(
        app,
        &interchange(&[payment(
            "TRACE-B",
            "146.00",
            &[paid_in_full("OTHER-SYSTEM-2")],
            "",
        )]),
    )
    .await;
    assert_eq!(again["remittances"][0]["duplicate"], true);
    assert_eq!(traces(&list(app, "").await).len(), 3);
}

async fn the_list_narrows_by_payer_and_day_received(app: &TestApp) {
    three_payments(app).await;
    assert_eq!(traces(&list(app, "?payer=ACME01").await), ["TRACE-B", "TRACE-A"]);
    assert_eq!(traces(&list(app, "?payer=BETA02").await), ["TRACE-C"]);
    assert!(traces(&list(app, "?payer=NOBODY").await).is_empty());

    let today = Utc::now().date_naive();
    let (yesterday, tomorrow) = (today - Days::new(1), today + Days::new(1));
    let received = |query: String| async move { traces(&list(app, &query).await).len() };
    assert_eq!(received(format!("?from={yesterday}&to={tomorrow}")).await, 3);
    assert_eq!(received(format!("?from={yesterday}")).await, 3);
    assert_eq!(received(format!("?to={yesterday}")).await, 0);
    assert_eq!(received(format!("?from={tomorrow}")).await, 0);
    assert_eq!(
        traces(&list(app, &format!("?payer=ACME01&from={yesterday}&limit=1")).await),
        ["TRACE-B"]
    );
}

async fn a_remittance_reads_back_as_posted(app: &TestApp) {
    let reports = three_payments(app).await;
    for report in &reports {
        let id = report["remittanceId"].as_i64().expect("remittanceId");
        let (status, stored) = get(app, &format!("/api/billing/remittance/{id}")).await;
        assert_eq!(status, 200, "{stored}");
        assert_eq!(&stored, report);
    }
    assert_eq!(reports[0]["posted"].as_array().map(Vec::len), Some(1));
    assert_eq!(reports[0]["unmatched"].as_array().map(Vec::len), Some(1));

    let (status, body) = get(app, "/api/billing/remittance/999999").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "no remittance 999999");
    let (status, _) = get(app, "/api/billing/remittance/not-a-number").await;
    assert_eq!(status, 404);
    // The unmatched list keeps its own route.
    let (status, body) = get(app, "/api/billing/remittance/unmatched").await;
    assert_eq!(status, 200);
    assert_eq!(body["unmatched"].as_array().map(Vec::len), Some(3));
}

async fn bad_list_requests_are_refused(app: &TestApp) {
    for (query, says) in [
        (
            "?from=2026-02-01&to=2026-01-31",
            "from (2026-02-01) is after to (2026-01-31)",
        ),
        ("?from=yesterday", "from must be a date written YYYY-MM-DD"),
        ("?to=2026-13-01", "to must be a date written YYYY-MM-DD"),
    ] {
        let (status, body) = get(app, &format!("/api/billing/remittance{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.starts_with(says), "{query}: {body}");
    }
    let (status, _) = get(app, "/api/billing/remittance?before=abc").await;
    assert_eq!(status, 400);
}
