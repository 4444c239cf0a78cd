//! How Claim.MD's failures are classified, over HTTP: errors inside a 200 (a refused
//! AccountKey, data errors, temporary trouble) and unusable HTTP statuses.

mod common;

use std::time::Duration;

use claimbridge_plugin_claimmd::simulator::DEFAULT_ACCOUNT_KEY;
use claimbridge_plugin_sdk::{ErrorClass, Operation, PayerListRequest, PluginHandler};
use common::{control_client, harness, harness_with, interchange_837};
use serde_json::json;

fn payer_list() -> Operation {
    Operation::PayerList(PayerListRequest::default())
}

#[tokio::test]
async fn a_wrong_account_key_is_final_for_reads_uploads_and_the_connection_test() {
    let h = harness_with(None, json!({"timeoutSecs": 1}), "not-the-key").await;
    for error in [
        h.run(payer_list()).await.unwrap_err(),
        h.submit("key-1", &interchange_837(&[("PCN-K", "100", "100")]))
            .await
            .unwrap_err(),
        h.plugin.test_connection().await.unwrap_err(),
    ] {
        assert_eq!(error.class(), ErrorClass::Final, "{error}");
        assert!(error.to_string().contains("accountKey"), "{error}");
        assert!(
            !error.to_string().contains("not-the-key"),
            "the key never shows: {error}"
        );
    }
    assert!(h.claims_received().await.as_array().unwrap().is_empty());
    h.simulator.stop().await;
}

#[tokio::test]
async fn claim_md_refuses_a_wrong_key_with_an_error_element_in_a_200_in_xml_by_default() {
    let h = harness(None).await;
    let answer = control_client()
        .post(format!("{}/services/payerlist/", h.simulator.base_url()))
        .form(&[("AccountKey", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let xml = answer.text().await.unwrap();
    assert!(
        xml.contains("<error error_code=\"E001\" error_mesg=\"Invalid AccountKey\"/>"),
        "{xml}"
    );
    h.simulator.stop().await;
}

#[tokio::test]
async fn an_error_saying_claim_md_is_temporarily_unable_is_transient() {
    let h = harness(None).await;
    h.vendor_error("E900", "System is down for maintenance, please try again later")
        .await;
    let error = h.run(payer_list()).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    // Only the next request was scripted: the one after it succeeds.
    assert!(h.run(payer_list()).await.is_ok());
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_temporary_error_on_upload_is_transient_since_claim_md_took_nothing() {
    let h = harness(None).await;
    h.vendor_error("E900", "Service temporarily unavailable").await;
    let error = h
        .submit("tmp-1", &interchange_837(&[("PCN-T", "100", "100")]))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    assert!(h.claims_received().await.as_array().unwrap().is_empty());
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_data_error_in_a_200_is_final() {
    let h = harness(None).await;
    h.vendor_error("E400", "Invalid payer id").await;
    let error = h.run(payer_list()).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    assert!(error.to_string().contains("Invalid payer id"), "{error}");
    h.simulator.stop().await;
}

#[tokio::test]
async fn throttled_by_claim_md_is_transient_with_its_retry_after() {
    let h = harness(Some("429=17*1")).await;
    let error = h.run(payer_list()).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(17)));
    h.simulator.stop().await;
}

#[tokio::test]
async fn no_answer_to_a_read_is_transient() {
    let h = harness(Some("timeout*1")).await;
    let error = h.run(payer_list()).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    h.simulator.stop().await;
}

#[tokio::test]
async fn the_plugin_refuses_an_unusable_configuration() {
    use claimbridge_plugin_sdk::{Credentials, PluginConfig, Secret};
    let mut credentials = Credentials::default();
    credentials.insert("accountKey", Secret::new(DEFAULT_ACCOUNT_KEY));
    for (base_url, credentials) in [
        ("ftp://claim.md", credentials.clone()),
        ("not a url", credentials.clone()),
        ("https://svc.claim.md", Credentials::default()),
    ] {
        let mut plugin = claimbridge_plugin_claimmd::ClaimMdPlugin::new();
        let error = plugin
            .initialize(PluginConfig {
                base_url: base_url.into(),
                settings: json!({}),
                credentials,
            })
            .await
            .unwrap_err();
        assert_eq!(error.class(), ErrorClass::Final, "{base_url}: {error}");
    }
}

#[tokio::test]
async fn an_operation_claim_md_does_not_offer_is_final_and_never_sent() {
    use claimbridge_plugin_claimmd::VENDOR;
    use claimbridge_plugin_sdk::{execute_checked, Capability, PriorAuthRequest};

    let h = harness(None).await;
    let plugin: &dyn PluginHandler = &h.plugin;
    assert_eq!(plugin.descriptor().vendor, VENDOR);
    assert!(!plugin.descriptor().supports(Capability::PriorAuth));
    let request = PriorAuthRequest {
        bundle: json!({"resourceType": "Bundle", "type": "collection"}),
    };
    let error = execute_checked(plugin, &Operation::PriorAuth(request))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    assert!(
        h.simulator.faults().served().is_empty(),
        "nothing reached Claim.MD"
    );
    h.simulator.stop().await;
}
