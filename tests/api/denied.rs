//! Denials as billers meet them: a payer's 835 denies a claim, the denial is
//! recorded with the playbook that matches it, the playbook acts (a corrected claim
//! queued, or a person's work queue), and a person resolves it with a note.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::remittance::{api_get, billed_claim, claim_view, interchange, payment, post_835};

crate::on_both_backends!(
    a_fixable_denial_is_queued_for_resubmission_until_its_attempts_run_out,
    a_denial_for_a_person_waits_in_its_queue_until_resolved,
);

/// CLP02 4 (denied) for the whole 146.00 of `claim_for_new_patient`, with `reason`
/// (CAS group, CARC) and claim-level remark codes (MOA).
pub(crate) fn denied(patient_control_number: &str, group: &str, carc: &str, remarks: &str) -> String {
    format!(
        "CLP*{patient_control_number}*4*146.00*0**12*ICN-DENY~CAS*{group}*{carc}*146.00~\
         NM1*QC*1*DOE*JANE****MI*M123~MOA***{remarks}~"
    )
}

pub(crate) async fn post_denial(app: &TestApp, trace: &str, claim: String) -> Value {
    let (status, body) = post_835(app, &interchange(&[payment(trace, "0", &[claim], "")])).await;
    assert_eq!(status, 200, "{body}");
    body["remittances"][0]["posted"][0].clone()
}

async fn a_fixable_denial_is_queued_for_resubmission_until_its_attempts_run_out(app: &TestApp) {
    let (id, number) = billed_claim(app).await;

    // CO-16 with N290 (missing rendering provider): the playbook fixes and resends.
    let posted = post_denial(app, "DENY-1", denied(&number, "CO", "16", "N290")).await;
    assert_eq!(posted["state"], "ready_to_submit", "{posted}");
    let outcome = &posted["denial"];
    assert_eq!(outcome["code"], "CO-16");
    assert_eq!(outcome["playbook"], "missing-rendering-npi");
    assert_eq!(outcome["action"], "auto_resubmit");
    assert_eq!(outcome["status"], "resubmit_queued");

    let view = claim_view(app, &id).await;
    assert_eq!(view["status"], "ready_to_submit");
    let denial = &view["denials"][0];
    assert_eq!(denial["denialCode"], "CO-16");
    assert_eq!(denial["rarc"], json!(["N290"]));
    assert_eq!(denial["amount"].to_string(), "146.00");
    assert_eq!(denial["attempt"], 1);
    assert!(
        denial["instructions"][0].as_str().unwrap().contains("2310B"),
        "{denial}"
    );
    assert!(!denial["reasonDescription"].as_str().unwrap().is_empty());
    let last_move = view["statusHistory"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last_move["from"].as_str(),
            last_move["to"].as_str(),
            last_move["actor"].as_str()
        ),
        (Some("denied"), Some("ready_to_submit"), Some("denial-playbook")),
        "{last_move}"
    );
    assert_eq!(last_move["details"]["denialId"], denial["id"]);

    // Denied again for the same reason: the second and last attempt.
    let posted = post_denial(app, "DENY-2", denied(&number, "CO", "16", "N290")).await;
    assert_eq!(posted["denial"]["status"], "resubmit_queued", "{posted}");

    // A third time: the playbook's two attempts are used, a person decides.
    let posted = post_denial(app, "DENY-3", denied(&number, "CO", "16", "N290")).await;
    assert_eq!(posted["state"], "denied", "{posted}");
    assert_eq!(posted["denial"]["action"], "manual_review");
    assert_eq!(posted["denial"]["assignee"], "denials");
    assert_eq!(posted["denial"]["status"], "open");

    let status = api_get(app, &format!("/api/claims/{id}/status")).await;
    let attempts: Vec<(i64, &str)> = status["denials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["attempt"].as_i64().unwrap(), d["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        attempts,
        [(1, "resubmit_queued"), (2, "resubmit_queued"), (3, "open")]
    );
    let last = status["denials"][2]["instructions"].as_array().unwrap();
    assert!(
        last.last().unwrap().as_str().unwrap().contains("its maximum"),
        "{last:?}"
    );
}

async fn a_denial_for_a_person_waits_in_its_queue_until_resolved(app: &TestApp) {
    let (id, number) = billed_claim(app).await;
    let (_, other) = billed_claim(app).await;
    // CO-50, not medically necessary: an appeal with records, by a person.
    let posted = post_denial(app, "DENY-MN", denied(&number, "CO", "50", "N115")).await;
    assert_eq!(posted["state"], "denied", "{posted}");
    // PR-204, not covered by the plan: someone else's denial in another queue.
    post_denial(app, "DENY-OTHER", denied(&other, "PR", "204", "N130")).await;

    let queue = api_get(app, "/api/billing/denials?status=open&assignee=appeals").await;
    let listed = queue["denials"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{queue}");
    let denial = &listed[0];
    assert_eq!(denial["claimId"], id.as_str());
    assert_eq!(denial["playbook"], "coverage-determination");
    assert_eq!(denial["action"], "manual_review");
    assert_eq!(denial["category"], "medical_necessity");
    let all_open = api_get(app, "/api/billing/denials?status=open").await;
    assert_eq!(all_open["denials"].as_array().unwrap().len(), 2);
    let page = api_get(app, "/api/billing/denials?limit=1").await;
    assert_eq!(page["denials"].as_array().unwrap().len(), 1);
    let before = page["nextBefore"].as_i64().expect("a next page");
    let rest = api_get(app, &format!("/api/billing/denials?limit=1&before={before}")).await;
    assert_ne!(rest["denials"][0]["id"], page["denials"][0]["id"]);

    let resolve = |id: &Value, body: Value| {
        let url = app.server_url(&format!("/api/billing/denials/{id}/resolve"));
        let request = app.client.post(url).json(&body);
        async move {
            let response = request.send().await.expect("POST");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("JSON body"))
        }
    };
    let (status, body) = resolve(&denial["id"], json!({"note": "  "})).await;
    assert_eq!(status, 400, "{body}");
    let note = json!({"note": "Appealed with the visit notes", "actor": "biller-2"});
    let (status, body) = resolve(&denial["id"], note.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "resolved");
    assert_eq!(body["resolution"]["by"], "biller-2");
    assert_eq!(body["resolution"]["note"], "Appealed with the visit notes");
    let (status, body) = resolve(&denial["id"], note.clone()).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = resolve(&json!(999_999), note).await;
    assert_eq!(status, 404);

    let open = api_get(app, "/api/billing/denials?status=open&assignee=appeals").await;
    assert_eq!(open["denials"], json!([]));
    let view = claim_view(app, &id).await;
    assert_eq!(view["denials"][0]["status"], "resolved");
    let response = app
        .client
        .get(app.server_url("/api/billing/denials?status=lost"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 400);
}
