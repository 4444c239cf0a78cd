//! The console's claims worklist and dashboard over plain HTTP, as a browser
//! without script meets them: filters, bulk assignment, the CSV export, a denied
//! claim's page with its denial analysis, fix-and-resubmit, mark resolved, what an
//! auditor may not do, and the dashboard's figures and chart data.
//! (`console_browser` drives the same pages in Chromium.)

use crate::console::{signed_in, ConsoleBrowser};
use crate::denied::{denied, post_denial};
use crate::helpers::TestApp;
use crate::remittance::{billed_claim, claim_view};

crate::on_both_backends!(with crate::helpers::TestOptions::SANDBOX;
    a_biller_finds_assigns_and_exports_claims,
    a_biller_corrects_and_resubmits_a_denied_claim,
    a_biller_resolves_a_claim_and_an_auditor_cannot,
    the_dashboard_shows_the_periods_figures_and_charts,
);

async fn denied_claim(app: &TestApp, trace: &str) -> (String, String) {
    let (id, number) = billed_claim(app).await;
    let posted = post_denial(app, trace, denied(&number, "CO", "50", "N115")).await;
    assert_eq!(posted["state"], "denied", "{posted}");
    (id, number)
}

async fn a_biller_finds_assigns_and_exports_claims(app: &TestApp) {
    let (denied_id, denied_number) = denied_claim(app, "CC-LIST").await;
    let (_, ready_number) = billed_claim(app).await;
    let browser = signed_in(app, "bea", "biller").await;

    let page = browser.get("/console/claims").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [&denied_number, &ready_number, "Acme Health", "$146.00"] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let denied_page = browser
        .get("/console/claims?state=denied&category=medical_necessity")
        .await;
    assert!(denied_page.body.contains(&denied_number));
    assert!(!denied_page.body.contains(&ready_number), "filtered out");
    // htmx asks for the results only.
    let fragment = browser.get_htmx("/console/claims?state=denied").await;
    assert!(
        fragment.body.starts_with("<div id=\"claims\">"),
        "{}",
        fragment.body
    );
    let refused = browser.get("/console/claims?state=lost").await;
    assert_eq!(refused.status, 400);

    let assigned = browser
        .post(
            "/console/claims/assign",
            &[
                ("claim", &denied_id),
                ("assignee", "bea"),
                ("return", "state=denied&evil=https://x.example"),
            ],
        )
        .await;
    assert_eq!(assigned.status, 303, "{}", assigned.body);
    assert_eq!(assigned.location(), "/console/claims?state=denied&assigned=1");
    let mine = browser.get("/console/claims?assignee=bea").await;
    assert!(mine.body.contains(&denied_number) && !mine.body.contains(&ready_number));
    let nothing = browser
        .post("/console/claims/assign", &[("assignee", "bea")])
        .await;
    assert_eq!(nothing.status, 400);

    let csv = browser.get("/console/claims/export.csv?assignee=bea").await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert_eq!(csv.body.lines().count(), 2, "{}", csv.body);
    assert!(csv.body.contains(&format!(
        "{denied_id},{denied_number},denied,Acme Health,bea,146.00"
    )));
}

async fn a_biller_corrects_and_resubmits_a_denied_claim(app: &TestApp) {
    let (id, _) = denied_claim(app, "CC-FIX").await;
    let browser = signed_in(app, "bea", "biller").await;
    let page = browser.get(&format!("/console/claims/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "CO-50",
        "does not consider the service medically necessary",
        "medical necessity",
        "coverage-determination",
        "Appeal likelihood",
        "State history",
        "Fix and resubmit",
        "Mark resolved",
        "835 remittance, trace number CC-FIX",
        "id=\"code-1\"",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }

    // Units that are not a number: the page again, with the reason, nothing stored.
    let wrong = browser
        .post(&format!("/console/claims/{id}/resubmit"), &[("units-1", "two")])
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("Line 1: units"), "{}", wrong.body);
    assert_eq!(claim_view(app, &id).await["status"], "denied");

    let fixed = browser
        .post(
            &format!("/console/claims/{id}/resubmit"),
            &[
                ("code-1", "99214"),
                ("modifiers-1", "25"),
                ("units-1", "1"),
                ("charge-1", "150.00"),
                ("diagnoses", "R05.1 E11.9"),
            ],
        )
        .await;
    assert_eq!(fixed.status, 303, "{}", fixed.body);
    assert_eq!(fixed.location(), format!("/console/claims/{id}?done=resubmitted"));
    let after = browser.get(&fixed.location()).await;
    assert!(after.body.contains("Corrected and submitted."), "{}", after.body);
    let view = claim_view(app, &id).await;
    assert_eq!(view["status"], "submitted");
    let last = view["statusHistory"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "bea", "the move is the biller's: {last}");

    // The 837P of the corrected claim bills the new code.
    let document = browser.get(&format!("/console/claims/{id}/837")).await;
    assert_eq!(document.status, 200);
    assert!(document.body.contains("SV1*HC:99214:25*150"), "{}", document.body);
    let remittance = browser.get(&format!("/console/claims/{id}/835/999999")).await;
    assert_eq!(remittance.status, 404);
}

async fn a_biller_resolves_a_claim_and_an_auditor_cannot(app: &TestApp) {
    let (id, _) = denied_claim(app, "CC-RESOLVE").await;
    let auditor = signed_in(app, "ava", "auditor").await;
    let page = auditor.get(&format!("/console/claims/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Fix and resubmit") && !page.body.contains("Mark resolved"));
    let list = auditor.get("/console/claims").await;
    assert!(!list.body.contains("Assign the selected"), "{}", list.body);
    let refused = auditor
        .post(&format!("/console/claims/{id}/resolve"), &[("note", "mine now")])
        .await;
    assert_eq!(refused.status, 403);
    let refused = auditor
        .post("/console/claims/assign", &[("claim", &id), ("assignee", "ava")])
        .await;
    assert_eq!(refused.status, 403);

    let biller: ConsoleBrowser = signed_in(app, "bea", "biller").await;
    let empty = biller
        .post(&format!("/console/claims/{id}/resolve"), &[("note", " ")])
        .await;
    assert_eq!(empty.status, 422);
    let resolved = biller
        .post(
            &format!("/console/claims/{id}/resolve"),
            &[("note", "Patient self-pay agreed"), ("close", "1")],
        )
        .await;
    assert_eq!(resolved.status, 303, "{}", resolved.body);
    let view = claim_view(app, &id).await;
    assert_eq!(view["status"], "closed");
    assert_eq!(
        view["denials"][0]["resolution"]["note"],
        "Patient self-pay agreed"
    );
    let page = biller.get(&format!("/console/claims/{id}?done=resolved")).await;
    assert!(page.body.contains("Marked resolved.") && page.body.contains("Patient self-pay agreed"));
}

async fn the_dashboard_shows_the_periods_figures_and_charts(app: &TestApp) {
    denied_claim(app, "CC-DASH").await;
    let browser = signed_in(app, "ava", "auditor").await;
    let page = browser.get("/console/dashboard").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "Collection rate",
        "Denial rate",
        "Average days to pay",
        "$146.00",
        "id=\"chart-states\"",
        "id=\"chart-denials\"",
        "id=\"chart-trend\"",
        "CO-50",
        "/console/assets/charts.",
        "/console/assets/uPlot.iife.min.",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    assert!(!page.body.contains("<script>"), "no inline script under the CSP");
    let old = browser
        .get("/console/dashboard?from=2000-01-01&to=2000-01-31")
        .await;
    assert_eq!(old.status, 200);
    assert!(old.body.contains("No denials in the period."));
    let wrong = browser
        .get("/console/dashboard?from=2026-02-01&to=2026-01-01")
        .await;
    assert_eq!(wrong.status, 400);
}
