//! Claims through the batch channel, against a real OpenSSH SFTP server on
//! loopback (Debian's `openssh-server`; root, since `sshd` logs users in) that the
//! simulator answers like Availity's EDI front end.

mod common;

use std::time::Duration;

use claimbridge_plugin_availity::simulator::sftp::SftpServer;
use claimbridge_plugin_availity::simulator::{self, SimulatorState, CLIENT_SECRET};
use claimbridge_plugin_availity::AvailityPlugin;
use claimbridge_plugin_sdk::{
    ClaimStatusKind, ClaimStatusReport, ClaimSubmission, Credentials, ErrorClass, Operation, OperationOutput,
    PluginConfig, PluginError, PluginHandler, Secret,
};
use claimbridge_simulator_kit::Fault;
use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Channel {
    vendor: Vendor,
    sftp: SftpServer,
    _root: tempfile::TempDir,
}

async fn channel() -> Channel {
    let vendor = vendor(SimulatorState::default()).await;
    let root = tempfile::tempdir().unwrap();
    let sftp = SftpServer::start(root.path(), vendor.state.clone(), vendor.faults.clone())
        .await
        .expect("sshd starts (apt-get install -y openssh-server)");
    Channel {
        vendor,
        sftp,
        _root: root,
    }
}

fn batch_settings(sftp: &SftpServer) -> Value {
    let mut settings = quick_settings();
    settings["sftpHost"] = json!(sftp.host());
    settings["sftpPort"] = json!(sftp.port());
    settings["sftpHostKey"] = json!(sftp.host_public_key());
    settings["sftpTimeoutSecs"] = json!(10);
    settings
}

async fn batch_plugin(channel: &Channel, settings: Value, private_key: &str) -> AvailityPlugin {
    let mut credentials = credentials(CLIENT_SECRET);
    credentials.insert("sftpUsername", Secret::new(channel.sftp.username()));
    credentials.insert("sftpPrivateKey", Secret::new(private_key));
    plugin_with(channel.vendor.http.base_url(), settings, credentials).await
}

fn submission(id: &str, pcns: [&str; 2]) -> Operation {
    Operation::SubmitClaim(ClaimSubmission {
        submission_id: id.into(),
        interchange_837p: interchange_837p(pcns),
    })
}

async fn status(plugin: &AvailityPlugin, pcn: &str, submission_id: Option<&str>) -> ClaimStatusReport {
    match run(plugin, Operation::ClaimStatus(status_request(pcn, submission_id))).await {
        Ok(OperationOutput::ClaimStatus(report)) => report,
        other => panic!("{other:?}"),
    }
}

/// Asks until the 277CA has come back (the simulator sweeps every 100 ms).
async fn acknowledged(plugin: &AvailityPlugin, pcn: &str, submission_id: &str) -> ClaimStatusReport {
    for _ in 0..50 {
        let report = status(plugin, pcn, Some(submission_id)).await;
        if report.statuses.iter().any(|s| s.category_code.is_some()) {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no 277CA for {pcn}");
}

#[tokio::test]
async fn a_claim_file_goes_up_over_sftp_and_its_277ca_comes_back() {
    let channel = channel().await;
    let plugin = batch_plugin(
        &channel,
        batch_settings(&channel.sftp),
        channel.sftp.client_private_key(),
    )
    .await;

    let output = run(&plugin, submission("sub-0001", ["CB-100", "CB-101"]))
        .await
        .unwrap();

    let OperationOutput::SubmitClaim(receipt) = output else {
        panic!()
    };
    assert_eq!(receipt.vendor_batch_id, "CB_sub-0001.837");
    let pcns: Vec<_> = receipt
        .claims
        .iter()
        .map(|c| c.patient_control_number.as_str())
        .collect();
    assert_eq!(pcns, ["CB-100", "CB-101"]);
    assert!(receipt
        .claims
        .iter()
        .all(|c| c.status == ClaimStatusKind::Pending));

    let report = acknowledged(&plugin, "CB-101", "sub-0001").await;
    assert_eq!(report.statuses.len(), 1);
    let update = &report.statuses[0];
    assert_eq!(update.patient_control_number, "CB-101");
    assert_eq!(update.status, ClaimStatusKind::Accepted);
    assert_eq!(update.category_code.as_deref(), Some("A2"));
    assert!(update
        .payer_claim_number
        .as_deref()
        .is_some_and(|icn| icn.starts_with("SIMICN")));
    assert!(channel.sftp.receive_folder().join("CB_sub-0001.999").exists());

    let http = claimbridge_plugin_sdk::http_client::client(Duration::from_secs(5)).unwrap();
    let claims: Value = http
        .get(format!("{}/__simulator/claims", channel.vendor.http.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(claims.as_array().unwrap().len(), 2);
    assert_eq!(claims[0]["pcn"], "CB-100");
    assert_eq!(claims[0]["fileName"], "CB_sub-0001.837");
    assert!(claims[0]["receivedAt"].is_string());

    // Once received, the payer knows the claim too: the REST claim status finds it.
    let report = status(&plugin, "CB-100", None).await;
    assert_eq!(report.statuses[0].status, ClaimStatusKind::Accepted);
    channel.vendor.http.stop().await;
}

#[tokio::test]
async fn the_reject_fault_rejects_every_claim_of_the_next_file_in_its_277ca() {
    let channel = channel().await;
    let plugin = batch_plugin(
        &channel,
        batch_settings(&channel.sftp),
        channel.sftp.client_private_key(),
    )
    .await;
    channel.vendor.http.set_fault(Fault::Reject, Some(1));
    run(&plugin, submission("sub-0002", ["CB-200", "CB-201"]))
        .await
        .unwrap();
    let report = acknowledged(&plugin, "CB-200", "sub-0002").await;
    assert_eq!(report.statuses[0].status, ClaimStatusKind::Rejected);
    assert_eq!(report.statuses[0].category_code.as_deref(), Some("A7"));
    assert!(channel.vendor.state.claims().iter().all(|claim| !claim.accepted));
    channel.vendor.http.stop().await;
}

#[tokio::test]
async fn after_an_upload_whose_answer_was_lost_the_status_check_finds_the_file() {
    let channel = channel().await;
    let plugin = batch_plugin(
        &channel,
        batch_settings(&channel.sftp),
        channel.sftp.client_private_key(),
    )
    .await;

    // A file that never arrived: neither folder has it, and the payer has no record.
    let report = status(&plugin, "CB-300", Some("sub-0003")).await;
    assert!(report.statuses.is_empty(), "{report:?}");

    // The upload reached the server but its answer was lost: the file is in
    // SendFiles under the submission's name (put there as the plugin names it).
    std::fs::write(
        channel.sftp.send_folder().join("CB_sub-0003.837"),
        interchange_837p(["CB-300", "CB-301"]),
    )
    .unwrap();
    let report = status(&plugin, "CB-300", Some("sub-0003")).await;
    assert_eq!(
        report.statuses.len(),
        1,
        "the claim is known: it must not be sent again"
    );
    assert_eq!(report.statuses[0].patient_control_number, "CB-300");
    assert_ne!(report.statuses[0].status, ClaimStatusKind::Rejected);

    // And once Availity has picked it up, the acknowledgements say where it stands.
    let report = acknowledged(&plugin, "CB-300", "sub-0003").await;
    assert_eq!(report.statuses[0].status, ClaimStatusKind::Accepted);

    // An upload never replaces what is under its name. (A folder takes the name
    // here, because the simulated front end would sweep a file away first.)
    std::fs::create_dir(channel.sftp.send_folder().join("CB_sub-0004.837")).unwrap();
    let error = run(&plugin, submission("sub-0004", ["CB-400", "CB-401"]))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    channel.vendor.http.stop().await;
}

/// A TCP relay to `target` that cuts both sides once the client has sent `limit`
/// bytes: an SFTP session that dies in the middle of writing a file.
async fn cutting_relay(target: u16, limit: usize) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(("127.0.0.1", target))
                .await
                .unwrap();
            tokio::spawn(async move {
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let downstream = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
                let mut sent = 0;
                let mut buffer = vec![0; 16 * 1024];
                while sent < limit {
                    let read = client_read.read(&mut buffer).await.unwrap_or(0);
                    if read == 0 || server_write.write_all(&buffer[..read]).await.is_err() {
                        break;
                    }
                    sent += read;
                }
                // Dropping both halves of both sockets: the session is gone.
                downstream.abort();
            });
        }
    });
    port
}

#[tokio::test]
async fn an_upload_cut_off_midway_is_ambiguous_and_the_status_check_finds_the_file() {
    let channel = channel().await;
    let relay = cutting_relay(channel.sftp.port(), 96 * 1024).await;
    let mut settings = batch_settings(&channel.sftp);
    settings["sftpPort"] = json!(relay);
    // The host key is known under the relay's port too.
    let cut = batch_plugin(&channel, settings, channel.sftp.client_private_key()).await;
    let pcns: Vec<String> = (0..4000).map(|n| format!("CB-7{n:04}")).collect();
    let pcns: Vec<&str> = pcns.iter().map(String::as_str).collect();
    let big = Operation::SubmitClaim(ClaimSubmission {
        submission_id: "sub-0007".into(),
        interchange_837p: interchange_837p_of(&pcns),
    });

    let error = run(&cut, big).await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Ambiguous, "{error}");

    // The status check, over a sound connection, finds what arrived: the claim
    // must not be sent anywhere else.
    let plugin = batch_plugin(
        &channel,
        batch_settings(&channel.sftp),
        channel.sftp.client_private_key(),
    )
    .await;
    let report = status(&plugin, "CB-70000", Some("sub-0007")).await;
    assert_eq!(report.statuses.len(), 1, "{report:?}");
    assert_eq!(report.statuses[0].patient_control_number, "CB-70000");
    channel.vendor.http.stop().await;
}

#[tokio::test]
async fn a_refused_key_is_final_and_an_unreachable_server_transient() {
    let channel = channel().await;
    let plugin = batch_plugin(&channel, batch_settings(&channel.sftp), "not an OpenSSH key").await;
    let error = run(&plugin, submission("sub-0005", ["CB-500", "CB-501"]))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");

    let mut settings = batch_settings(&channel.sftp);
    settings["sftpPort"] = json!(std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port());
    let plugin = batch_plugin(&channel, settings, channel.sftp.client_private_key()).await;
    let error = run(&plugin, submission("sub-0006", ["CB-600", "CB-601"]))
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
    assert!(channel.vendor.state.claims().is_empty());
    channel.vendor.http.stop().await;
}

#[tokio::test]
async fn the_simulator_describes_an_integration_that_works_against_both_channels() {
    let root = tempfile::tempdir().unwrap();
    let running = simulator::start_with_sftp("127.0.0.1:0".parse().unwrap(), None, root.path())
        .await
        .unwrap();
    let integration = running.integration();
    let credentials: Credentials = serde_json::from_value(integration["credentials"].clone()).unwrap();
    let mut plugin = AvailityPlugin::new();
    plugin
        .initialize(PluginConfig {
            base_url: integration["baseUrl"].as_str().unwrap().to_owned(),
            settings: integration["settings"].clone(),
            credentials,
        })
        .await
        .unwrap();
    let check = plugin.test_connection().await.unwrap();
    assert!(check.detail.contains("SFTP login accepted"), "{}", check.detail);
    running.http.stop().await;
}

#[tokio::test]
async fn the_connection_test_logs_in_to_the_sftp_server_too() {
    let channel = channel().await;
    let plugin = batch_plugin(
        &channel,
        batch_settings(&channel.sftp),
        channel.sftp.client_private_key(),
    )
    .await;
    let check = plugin.test_connection().await.unwrap();
    assert!(check.detail.contains("SFTP login accepted"), "{}", check.detail);

    let mut settings = batch_settings(&channel.sftp);
    // Another server's key: the host key check refuses the real one.
    settings["sftpHostKey"] =
        json!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBlYWNlIGFuZCBxdWlldCBhbmQgbm8gc2VydmVyIGhlcmU=");
    let plugin = batch_plugin(&channel, settings, channel.sftp.client_private_key()).await;
    let error: PluginError = plugin.test_connection().await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::Final, "{error}");
    channel.vendor.http.stop().await;
}
