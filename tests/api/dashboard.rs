//! The billing dashboard over HTTP: claims billed through the API, one 835 that pays
//! one in full, one in part and denies a third, and the figures read back exactly.

use chrono::{Days, Utc};
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::remittance::{billed_claim, interchange, paid_in_full, payment, post_835, post_json};

crate::on_both_backends!(
    the_figures_count_what_was_billed_paid_and_denied,
    a_period_with_nothing_in_it_has_no_rates,
    a_bad_period_is_refused,
);

async fn kpis(app: &TestApp, query: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.server_url(&format!("/api/billing/dashboard/kpis{query}")))
        .send()
        .await
        .expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// `?from=…&to=…` from yesterday to tomorrow (UTC): today, whenever the test runs.
fn around_today() -> String {
    let today = Utc::now().date_naive();
    format!("?from={}&to={}", today - Days::new(1), today + Days::new(1))
}

async fn submit(app: &TestApp, id: &str) {
    let sent = json!({"to": "submitted", "actor": "biller-1"});
    post_json(app, &format!("/api/billing/claims/{id}/transitions"), sent).await;
}

fn by_status(figures: &Value) -> Vec<(String, i64)> {
    figures["claimsByStatus"]
        .as_object()
        .expect("claimsByStatus")
        .iter()
        .filter(|(_, count)| count.as_i64() != Some(0))
        .map(|(state, count)| (state.clone(), count.as_i64().unwrap()))
        .collect()
}

async fn the_figures_count_what_was_billed_paid_and_denied(app: &TestApp) {
    // Three claims of 146.00 sent to the payer; a fourth is ready but never sent.
    let (paid, paid_number) = billed_claim(app).await;
    let (partial, partial_number) = billed_claim(app).await;
    let (denied, denied_number) = billed_claim(app).await;
    billed_claim(app).await;
    for id in [&paid, &partial, &denied] {
        submit(app, id).await;
    }
    // 146.00 paid in full; 100.00 of 146.00 (30.00 the patient's, 16.00 over the fee
    // schedule); nothing, for timely filing (CO-29, a playbook that leaves it denied).
    let partly = format!(
        "CLP*{partial_number}*1*146.00*100.00*30.00*12*ICN-PART~\
         SVC*HC:99213:25*125.00*90.00**1~DTM*472*20260101~CAS*PR*1*25.00~CAS*CO*45*10.00~\
         SVC*HC:36415*21.00*10.00**1~DTM*472*20260101~CAS*PR*2*5.00~CAS*CO*45*6.00~"
    );
    let refused = format!("CLP*{denied_number}*4*146.00*0.00**12*ICN-DENIED~CAS*CO*29*146.00~");
    let file = interchange(&[payment(
        "TRACE-KPI",
        "246.00",
        &[paid_in_full(&paid_number), partly, refused],
        "",
    )]);
    let (status, body) = post_835(app, &file).await;
    assert_eq!(status, 200, "{body}");
    let states: Vec<&str> = body["remittances"][0]["posted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|posted| posted["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["paid", "partially_paid", "denied"], "{body}");

    let (status, figures) = kpis(app, &around_today()).await;
    assert_eq!(status, 200, "{figures}");
    let today = Utc::now().date_naive();
    assert_eq!(figures["from"], (today - Days::new(1)).to_string());
    assert_eq!(figures["to"], (today + Days::new(1)).to_string());
    // Money is text with two decimals.
    assert_eq!(figures["billed"].to_string(), "438.00", "{figures}");
    assert_eq!(figures["collected"].to_string(), "246.00", "{figures}");
    // 246 / 438 = 0.56164…; one denied of three adjudicated.
    assert_eq!(figures["collectionRate"].to_string(), "0.5616");
    assert_eq!(figures["denialRate"].to_string(), "0.3333");
    // Submitted and paid seconds apart.
    assert_eq!(figures["averageDaysToPay"].to_string(), "0.0");
    assert_eq!(
        by_status(&figures),
        [
            ("ready_to_submit".to_owned(), 1),
            ("paid".to_owned(), 1),
            ("partially_paid".to_owned(), 1),
            ("denied".to_owned(), 1),
        ]
    );
    assert_eq!(figures["claimsByStatus"].as_object().unwrap().len(), 11);

    // The same 835 again changes nothing.
    post_835(app, &file).await;
    let (_, again) = kpis(app, &around_today()).await;
    assert_eq!(again, figures);
}

async fn a_period_with_nothing_in_it_has_no_rates(app: &TestApp) {
    let (id, _) = billed_claim(app).await;
    submit(app, &id).await;
    let (status, figures) = kpis(app, "?from=2020-01-01&to=2020-12-31").await;
    assert_eq!(status, 200, "{figures}");
    assert_eq!(figures["billed"].to_string(), "0.00");
    assert_eq!(figures["collected"].to_string(), "0.00");
    assert_eq!(figures["collectionRate"], Value::Null);
    assert_eq!(figures["denialRate"], Value::Null);
    assert_eq!(figures["averageDaysToPay"], Value::Null);
    assert_eq!(by_status(&figures), []);

    // Today, the claim is billed but nothing is collected yet: a rate of zero.
    let (_, figures) = kpis(app, &around_today()).await;
    assert_eq!(figures["billed"].to_string(), "146.00");
    assert_eq!(figures["collectionRate"].to_string(), "0.0000");
    assert_eq!(figures["denialRate"], Value::Null);
    assert_eq!(by_status(&figures), [("submitted".to_owned(), 1)]);
}

async fn a_bad_period_is_refused(app: &TestApp) {
    for (query, says) in [
        (
            "?from=2026-02-01&to=2026-01-31",
            "from (2026-02-01) is after to (2026-01-31)",
        ),
        (
            "?from=2026-02-30&to=2026-03-31",
            "from must be a date written YYYY-MM-DD",
        ),
        (
            "?from=2026-01-01&to=31/01/2026",
            "to must be a date written YYYY-MM-DD",
        ),
        ("?from=2026-01-01", "from and to are both required"),
        ("", "from and to are both required"),
    ] {
        let (status, body) = kpis(app, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.starts_with(says), "{query}: {body}");
    }
}
