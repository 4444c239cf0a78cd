//! The `claimbridge` binary as a newcomer runs it: `migrate`, then `serve`.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_claimbridge");

fn claimbridge(database_url: &str) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CLAIMBRIDGE_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn");
    command
}

#[test]
fn migrate_creates_the_embedded_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sub/claimbridge.db");
    let status = claimbridge(&format!("sqlite://{}", file.display()))
        .arg("migrate")
        .status()
        .unwrap();
    assert!(status.success());
    assert!(file.exists());
}

#[tokio::test]
async fn serve_answers_on_the_configured_address() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = claimbridge(&format!("sqlite://{}/db.sqlite", dir.path().display()))
        .env("CLAIMBRIDGE_BIND", format!("127.0.0.1:{port}"))
        .arg("serve")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/fhir/metadata");
    let started = Instant::now();
    let status = loop {
        match reqwest::get(&url).await {
            Ok(response) => break response.status(),
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(error) => panic!("server did not answer: {error}"),
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200);
}

#[test]
fn serve_refuses_a_bad_configuration() {
    let output = claimbridge("sqlite://./unused.db")
        .env("CLAIMBRIDGE_REDIS_URL", "localhost")
        .arg("serve")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("redis_url"));
}
