//! The `claimbridge` binary as a newcomer runs it: `migrate`, then `serve`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "api/prometheus_text.rs"]
mod prometheus_text;

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

/// An HTTP client; reqwest carries no TLS provider of its own in this workspace.
fn http() -> reqwest::Client {
    claimbridge_plugin_sdk::http_client::install_crypto_provider();
    reqwest::Client::new()
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
        .env("CLAIMBRIDGE_MLLP_IDLE_TIMEOUT_SECS", "1")
        .arg("serve")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/fhir/metadata");
    let started = Instant::now();
    let status = loop {
        match http().get(&url).send().await {
            Ok(response) => break response.status(),
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(error) => panic!("server did not answer: {error}"),
        }
    };
    assert_eq!(status, 200);

    // The README's tour: the first start wrote the bootstrap admin's credentials
    // beside the database, for this user only; they get a token that opens the API.
    let file = dir.path().join("bootstrap-admin.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let patients = format!("http://127.0.0.1:{port}/fhir/Patient");
    assert_eq!(http().get(&patients).send().await.unwrap().status(), 401);
    let bearer = admin_token(dir.path(), port).await;
    let status = http()
        .get(&patients)
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .status();
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

    // A connection that stays silent past the idle timeout is closed by the server.
    let quiet_since = Instant::now();
    assert_eq!(
        stream.read(&mut byte).unwrap(),
        0,
        "the idle connection is closed"
    );
    assert!(quiet_since.elapsed() < Duration::from_secs(5));

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

#[test]
fn authorization_cannot_be_disabled_off_loopback() {
    let output = claimbridge("sqlite://./unused.db")
        .env("CLAIMBRIDGE_AUTH", "disabled")
        .env("CLAIMBRIDGE_BIND", "0.0.0.0:0")
        .arg("serve")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
}

/// MLLP over TLS with a configured certificate and key: a client that trusts the
/// certificate gets its ACK over the encrypted connection.
#[tokio::test]
async fn mllp_speaks_tls_when_given_a_certificate() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{crypto, ClientConfig, RootCertStore};

    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    // A server (not CA) certificate for localhost: rustls refuses a CA as end entity.
    let config = dir.path().join("openssl.cnf");
    std::fs::write(
        &config,
        "[req]\ndistinguished_name = dn\nx509_extensions = server\nprompt = no\n[dn]\nCN = localhost\n\
         [server]\nbasicConstraints = critical, CA:FALSE\nsubjectAltName = DNS:localhost\n",
    )
    .unwrap();
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-config",
        ])
        .arg(&config)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl made a test certificate");
    let (port, mllp_port) = (free_port(), free_port());
    let child = claimbridge(&format!("sqlite://{}/db.sqlite", dir.path().display()))
        .env("CLAIMBRIDGE_BIND", format!("127.0.0.1:{port}"))
        .env("CLAIMBRIDGE_MLLP_BIND", format!("127.0.0.1:{mllp_port}"))
        .env("CLAIMBRIDGE_MLLP_TLS_CERT", &cert)
        .env("CLAIMBRIDGE_MLLP_TLS_KEY", &key)
        .arg("serve")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _server = KillOnDrop(child);

    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(&cert).unwrap()).unwrap();
    let config = ClientConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let started = Instant::now();
    let tcp = loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", mllp_port)).await {
            Ok(tcp) => break tcp,
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(error) => panic!("MLLP listener did not come up: {error}"),
        }
    };
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake");
    tls.write_all(b"\x0bMSH|^~\\&|A|B|C|D|20240101||ADT^A08|TLS-1|P|2.5\rPID|1||9^^^H^MR\x1c\x0d")
        .await
        .unwrap();
    let mut ack = Vec::new();
    while !ack.ends_with(b"\x1c\x0d") {
        let mut chunk = [0u8; 512];
        let read = tls.read(&mut chunk).await.unwrap();
        assert!(read > 0, "closed before the ACK");
        ack.extend_from_slice(&chunk[..read]);
    }
    assert!(String::from_utf8_lossy(&ack).contains("MSA|AA|TLS-1"));
}

/// Stops a spawned server even when the test fails half-way.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` with the given extra environment and waits until it answers.
async fn start_serving(database_url: &str, env: &[(&str, &str)]) -> (std::process::Child, u16) {
    let port = free_port();
    let mut command = claimbridge(database_url);
    command
        .env("CLAIMBRIDGE_BIND", format!("127.0.0.1:{port}"))
        .env("CLAIMBRIDGE_MLLP_BIND", "off")
        .arg("serve")
        .stdout(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
    let started = Instant::now();
    while http()
        .get(format!("http://127.0.0.1:{port}/fhir/metadata"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not answer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, port)
}

/// A token for the bootstrap admin client whose credentials the first start wrote
/// into `dir`, beside the database.
async fn admin_token(dir: &std::path::Path, port: u16) -> String {
    let credentials: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bootstrap-admin.json")).unwrap()).unwrap();
    let token: serde_json::Value = http()
        .post(format!("http://127.0.0.1:{port}/auth/token"))
        .basic_auth(
            credentials["client_id"].as_str().unwrap(),
            credentials["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().expect("a token").to_owned()
}

fn stop(mut child: std::process::Child) {
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(child.wait().unwrap().success());
}

/// `rotate-key`: credentials sealed under k1 are resealed under k2, after which the
/// server runs with k2 alone.
#[tokio::test]
async fn rotate_key_moves_credentials_to_the_new_key() {
    const K1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    const K2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/db.sqlite", dir.path().display());
    let k1 = [
        ("CLAIMBRIDGE_SECRETS_KEY", K1),
        ("CLAIMBRIDGE_SECRETS_KEY_ID", "k1"),
    ];
    let (server, port) = start_serving(&database, &k1).await;
    let token = admin_token(dir.path(), port).await;
    let created: serde_json::Value = http()
        .post(format!("http://127.0.0.1:{port}/admin/integrations"))
        .bearer_auth(&token)
        .json(
            &serde_json::json!({"vendor": "stripe", "name": "stripe", "baseUrl": "https://api.stripe.com",
                                  "credentials": {"apiKey": "sk_test_rotate"}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["keyId"], "k1", "{created}");
    stop(server);

    let previous = format!("k1={K1}");
    let k2 = [
        ("CLAIMBRIDGE_SECRETS_KEY", K2),
        ("CLAIMBRIDGE_SECRETS_KEY_ID", "k2"),
    ];
    let rotated = claimbridge(&database)
        .envs(k2)
        .env("CLAIMBRIDGE_SECRETS_PREVIOUS_KEYS", &previous)
        .arg("rotate-key")
        .output()
        .unwrap();
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );

    // The token signing key was resealed too: the server starts under k2 alone and
    // issues tokens.
    let (server, port) = start_serving(&database, &k2).await;
    let token = admin_token(dir.path(), port).await;
    let read = http()
        .get(format!(
            "http://127.0.0.1:{port}/admin/integrations/{}",
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let read: serde_json::Value = read.json().await.unwrap();
    assert_eq!(
        (&read["keyId"], &read["credentials"]),
        (&serde_json::json!("k2"), &serde_json::json!({"apiKey": "set"}))
    );
    stop(server);
}

/// `CLAIMBRIDGE_METRICS_ENABLED=false` takes the per-request recording away (so a
/// benchmark can measure what it costs on one binary), and nothing else: `/metrics`
/// still serves what is read when scraped. A process of its own, so that the
/// process-wide counters are this server's alone.
#[tokio::test]
async fn metrics_can_be_switched_off_to_measure_their_cost() {
    for enabled in ["true", "false"] {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite://{}/db.sqlite", dir.path().display());
        let (server, port) = start_serving(&database, &[("CLAIMBRIDGE_METRICS_ENABLED", enabled)]).await;
        let server = KillOnDrop(server);
        for _ in 0..3 {
            let answer = http()
                .get(format!("http://127.0.0.1:{port}/fhir/metadata"))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
        }
        let text = http()
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let scraped = prometheus_text::parse(&text);
        let metadata = [("method", "GET"), ("route", "/fhir/metadata"), ("status", "200")];
        let requests = scraped.sum("claimbridge_http_requests_total", &metadata);
        let checkouts = scraped.sum("claimbridge_db_pool_wait_seconds_count", &[]);
        if enabled == "true" {
            assert!(requests >= 3.0, "{requests} requests counted");
            assert!(checkouts >= 1.0, "{checkouts} checkouts timed");
        } else {
            assert_eq!(requests, 0.0);
            assert_eq!(checkouts, 0.0);
        }
        // Read at scrape time either way.
        assert_eq!(
            scraped.value("claimbridge_claims", &[("state", "draft")]),
            Some(0.0)
        );
        assert!(scraped
            .value("claimbridge_db_pool_max_connections", &[("pool", "fhir")])
            .is_some());
        drop(server);
    }
}

/// docs/configuration.md is what `claimbridge config reference` prints: the
/// reference generated from the configuration type, never edited by hand.
#[test]
fn the_committed_configuration_reference_is_the_generated_one() {
    // No environment: the reference does not depend on it.
    let output = Command::new(BINARY)
        .env_clear()
        .args(["config", "reference"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let generated = String::from_utf8(output.stdout).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/configuration.md is not what the binary generates; regenerate it with\n    \
         cargo run --quiet -- config reference > docs/configuration.md"
    );
    assert!(generated.contains("| `database_url`<br>`CLAIMBRIDGE_DATABASE_URL` |"));
}
