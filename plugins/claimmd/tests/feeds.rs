//! The claim response and ERA feeds over HTTP: cursors advance, an exhausted feed
//! keeps its cursor, and a page read again from an old cursor is the same page — the
//! property that lets the server save a cursor only after committing its page.

mod common;

use claimbridge_plugin_sdk::{ClaimStatusKind, ErrorClass, Operation};
use common::{feed_after, harness, harness_with, interchange_837};
use serde_json::json;

#[tokio::test]
async fn the_response_feed_advances_its_cursor_and_a_re_read_gives_the_same_page() {
    let h = harness(None).await;
    h.submit(
        "feed-1",
        &interchange_837(&[("PCN-F1", "100", "100"), ("PCN-F2", "50", "40")]),
    )
    .await
    .unwrap();

    let first = h.status_feed(None).await;
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.items[0].patient_control_number, "PCN-F1");
    assert_eq!(first.items[0].status, ClaimStatusKind::Accepted);
    assert_eq!(first.items[1].status, ClaimStatusKind::Rejected);
    assert!(first.more);
    assert_ne!(first.cursor.0, "0");

    // A crash before the cursor was saved: the same page again.
    assert_eq!(h.status_feed(None).await, first);

    // Nothing new after the cursor: same cursor back, nothing more to read.
    let drained = h.status_feed(Some(&first.cursor.0)).await;
    assert!(drained.items.is_empty());
    assert_eq!(drained.cursor, first.cursor);
    assert!(!drained.more);

    // A later upload shows up after the saved cursor, and only it.
    h.submit("feed-2", &interchange_837(&[("PCN-F3", "70", "70")]))
        .await
        .unwrap();
    let next = h.status_feed(Some(&first.cursor.0)).await;
    assert_eq!(next.items.len(), 1);
    assert_eq!(next.items[0].patient_control_number, "PCN-F3");
    assert!(next.cursor.0.parse::<u64>().unwrap() > first.cursor.0.parse::<u64>().unwrap());
    h.simulator.stop().await;
}

#[tokio::test]
async fn remittances_come_a_page_at_a_time_with_their_835_and_re_read_alike() {
    let h = harness_with(
        None,
        json!({"timeoutSecs": 1, "remittancesPerPage": 1}),
        claimbridge_plugin_claimmd::simulator::DEFAULT_ACCOUNT_KEY,
    )
    .await;
    h.submit(
        "era-1",
        &interchange_837(&[
            ("PCN-E1", "100", "100"),
            ("PCN-E2", "250.50", "250.50"),
            ("PCN-E3", "9", "1"),
        ]),
    )
    .await
    .unwrap();

    let first = h.remittances(None).await;
    assert_eq!(first.items.len(), 1, "one ERA per page, as configured");
    assert!(first.more);
    let x835 = &first.items[0].interchange_835;
    assert!(x835.starts_with("ISA*"), "{x835}");
    assert!(x835.contains("CLP*PCN-E1*1*100*100"), "{x835}");
    assert_eq!(first.cursor.0, first.items[0].vendor_remittance_id);

    let second = h.remittances(Some(&first.cursor.0)).await;
    assert_eq!(second.items.len(), 1);
    assert!(second.items[0]
        .interchange_835
        .contains("CLP*PCN-E2*1*250.5*250.5"));

    // Downloaded ERAs are still listed after the old cursor: the re-read is the same.
    assert_eq!(h.remittances(Some(&first.cursor.0)).await, second);
    assert_eq!(h.remittances(None).await, first);

    // The rejected claim was not paid: nothing after the second.
    let drained = h.remittances(Some(&second.cursor.0)).await;
    assert!(drained.items.is_empty());
    assert_eq!(drained.cursor, second.cursor);
    assert!(!drained.more);
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_cursor_that_is_not_claim_mds_is_final() {
    let h = harness(None).await;
    let error = h
        .run(Operation::ClaimStatusFeed(feed_after(Some("page-2"))))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    h.simulator.stop().await;
}

#[tokio::test]
async fn a_server_error_on_a_feed_read_is_transient() {
    let h = harness(Some("5xx*1")).await;
    let error = h
        .run(Operation::FetchRemittance(feed_after(None)))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    h.simulator.stop().await;
}
