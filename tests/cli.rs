//! The `claimbridge` binary as a newcomer runs it: `migrate`, then `serve`.

use std::io::{Read, Write};
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn serve_answers_on_the_configured_address() {
    let dir = tempfile::tempdir().unwrap();
    let (port, mllp_port) = (free_port(), free_port());
    let mut child = claimbridge(&format!("sqlite://{}/db.sqlite", dir.path().display()))
        .env("CLAIMBRIDGE_BIND", format!("127.0.0.1:{port}"))
        .env("CLAIMBRIDGE_MLLP_BIND", format!("127.0.0.1:{mllp_port}"))
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
    assert_eq!(status, 200);

    // The MLLP listener answers on its own port.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", mllp_port)).unwrap();
    stream
        .write_all(b"\x0bMSH|^~\\&|A|B|C|D|20240101||ADT^A08|CLI-1|P|2.5\rPID|1||9^^^H^MR\x1c\x0d")
        .unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut ack = Vec::new();
    let mut byte = [0u8; 1];
    while !ack.ends_with(b"\x1c\x0d") && stream.read(&mut byte).unwrap() == 1 {
        ack.push(byte[0]);
    }
    assert!(String::from_utf8_lossy(&ack).contains("MSA|AA|CLI-1"));

    // SIGTERM: the server stops cleanly.
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
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
