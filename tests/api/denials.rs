//! Denial analysis as a biller meets it: post the codes from a remittance or a
//! payer portal and get what they mean, how likely an appeal is, and the playbook
//! that works the denial. No database is involved; the suite's macro runs it on
//! both backends for uniformity.

use serde_json::{json, Value};

use crate::helpers::TestApp;

crate::on_both_backends!(
    a_known_denial_is_explained_with_its_playbook,
    the_hyphenated_denial_code_is_read_like_separate_codes,
    an_unknown_code_is_answered_not_refused,
    a_missing_or_malformed_code_is_a_400,
);

async fn analyze(app: &TestApp, body: &Value, status: u16) -> Value {
    let response = app
        .client
        .post(app.server_url("/api/denials/analyze"))
        .json(body)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), status, "{body}");
    response.json().await.expect("JSON body")
}

async fn a_known_denial_is_explained_with_its_playbook(app: &TestApp) {
    let analysis = analyze(
        app,
        &json!({"carc": "197", "groupCode": "CO", "rarc": ["N54"], "payerId": "87726",
                "amount": 125.00, "text": "Services differ from those authorized"}),
        200,
    )
    .await;
    assert_eq!(analysis["groupCode"], "CO");
    assert_eq!(analysis["carc"], "197");
    assert_eq!(analysis["knownCode"], true);
    assert_eq!(analysis["category"], "authorization");
    assert_eq!(analysis["appealLikelihood"], "high");
    assert!(
        analysis["reasonDescription"]
            .as_str()
            .unwrap()
            .contains("authorization"),
        "{analysis}"
    );
    for list in ["rootCauses", "recommendedActions", "preventiveMeasures"] {
        assert!(
            !analysis[list].as_array().unwrap().is_empty(),
            "{list}: {analysis}"
        );
    }
    assert_eq!(analysis["remarks"][0]["code"], "N54");
    assert_eq!(analysis["remarks"][0]["known"], true);
    assert_eq!(analysis["amount"], json!(125.00));
    let playbook = &analysis["playbook"];
    assert_eq!(playbook["id"], "authorization-mismatch", "{analysis}");
    assert_eq!(playbook["action"], "auto_resubmit");
    assert_eq!(playbook["maxAttempts"], 2);
    assert!(!playbook["fixInstructions"].as_array().unwrap().is_empty());
}

async fn the_hyphenated_denial_code_is_read_like_separate_codes(app: &TestApp) {
    let hyphenated = analyze(app, &json!({"denialCode": "pr-1"}), 200).await;
    let separate = analyze(app, &json!({"groupCode": "PR", "carc": "1"}), 200).await;
    assert_eq!(hyphenated, separate);
    assert_eq!(hyphenated["groupCode"], "PR");
    assert_eq!(hyphenated["category"], "patient_responsibility");
    assert_eq!(hyphenated["appealLikelihood"], "low");
    assert_eq!(hyphenated["playbook"]["id"], "patient-share");
    assert_eq!(hyphenated["playbook"]["action"], "notify");
    assert_eq!(hyphenated["playbook"]["recipient"], "patient_billing");
}

async fn an_unknown_code_is_answered_not_refused(app: &TestApp) {
    let analysis = analyze(app, &json!({"denialCode": "CO-999", "rarc": ["N9"]}), 200).await;
    assert_eq!(analysis["knownCode"], false);
    assert!(
        analysis["reasonDescription"]
            .as_str()
            .unwrap()
            .contains("not in the denial knowledge base"),
        "{analysis}"
    );
    assert_eq!(analysis["category"], Value::Null);
    assert_eq!(analysis["appealLikelihood"], Value::Null);
    assert_eq!(analysis["remarks"][0]["known"], false);
    assert_eq!(analysis["playbook"]["id"], "review");
    assert_eq!(analysis["playbook"]["action"], "manual_review");
}

async fn a_missing_or_malformed_code_is_a_400(app: &TestApp) {
    for body in [
        json!({"groupCode": "CO"}),
        json!({"carc": "197"}),
        json!({"groupCode": "CO", "carc": "19x"}),
        json!({"groupCode": "XY", "carc": "197"}),
        json!({"denialCode": "CO197"}),
        json!({"denialCode": "CO-197", "carc": "16"}),
        json!({"denialCode": "CO-197", "rarc": ["hello"]}),
        json!({"denialCode": "CO-197", "rarc": "N54"}),
    ] {
        let error = analyze(app, &body, 400).await;
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}: {error}"
        );
    }
}
