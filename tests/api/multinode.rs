//! Two `claimbridge` processes on one PostgreSQL and one Redis, as a deployment
//! behind a load balancer runs them (one public URL, one secrets key, one Redis
//! key prefix): what one node writes the other reads at once, its cache
//! notwithstanding; each job runs once whichever node runs it; an HL7 message
//! resent to the other node is applied once; a token revoked on one node is
//! refused by the other at once; and killing a node mid-load (SIGKILL) loses no
//! message it acknowledged and no claim it accepted.
//!
//! Needs `CLAIMBRIDGE_TEST_POSTGRES_URL` and `CLAIMBRIDGE_TEST_REDIS_URL`; skipped
//! (with a message) without them, except on CI.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use claimbridge_plugin_claimmd::simulator as claimmd;
use claimbridge_simulator_kit::{Fault, Simulator};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::{json, Value};

use crate::helpers::{bearer_client, client_credentials_token, Server, TEST_SECRETS_KEY};
use crate::hl7::{admit, field, MllpClient, MRN};
use crate::submission::ready_claim;

const BINARY: &str = env!("CARGO_BIN_EXE_claimbridge");

/// What clients and tokens call the deployment, whichever node answers.
const PUBLIC_URL: &str = "http://claimbridge.test";

/// How long a claimed job is its node's before another may take it over: short,
/// so that a killed node's jobs move on within the test.
const LEASE_SECS: &str = "2";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_database_and_one_redis_agree() {
    let Some(deployment) = Deployment::new().await else {
        return;
    };
    let mut a = Node::start("a", &deployment).await;
    let credentials = deployment.bootstrap_credentials();
    let mut b = Node::start("b", &deployment).await;
    let token = client_credentials_token(&a.fhir_base(), &credentials.0, &credentials.1, None).await;
    a.client = bearer_client(&token);
    b.client = bearer_client(&token);
    let clearinghouse = claimmd::start("127.0.0.1:0".parse().unwrap(), None)
        .await
        .expect("the Claim.MD simulator starts");
    let (status, body) = a
        .api_post(
            "/admin/integrations",
            &json!({"vendor": "claimmd", "name": "Claim.MD", "baseUrl": clearinghouse.base_url(),
                    "settings": {"timeoutSecs": 5}, "credentials": {"accountKey": claimmd::DEFAULT_ACCOUNT_KEY}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    within("reads", a_write_on_one_node_is_read_on_the_other_at_once(&a, &b)).await;
    within(
        "revocation",
        a_token_revoked_on_one_node_is_refused_by_the_other(&a, &b, &credentials),
    )
    .await;
    within(
        "jobs",
        each_job_runs_once_whichever_node_runs_it(&a, &b, &clearinghouse),
    )
    .await;
    within(
        "resend",
        a_message_resent_to_the_other_node_is_applied_once(&a, &b),
    )
    .await;
    within(
        "kill",
        killing_a_node_mid_load_loses_nothing_it_acknowledged(&mut a, &b, &clearinghouse),
    )
    .await;

    drop((a, b));
    within("teardown", deployment.drop_schema()).await;
}

/// Runs one part of the test, failing it, named, if it has not finished in two
/// minutes (alone it takes seconds): a part stuck for good fails the suite at once
/// instead of holding it until CI's limit.
async fn within(part: &str, test: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(Duration::from_secs(120), test)
        .await
        .is_err()
    {
        panic!("the {part} part did not finish in two minutes");
    }
}

/// (a) B's cache is hot with each version before A replaces it; B still answers
/// with A's version at once, through updates, a delete and a re-creation.
async fn a_write_on_one_node_is_read_on_the_other_at_once(a: &Node, b: &Node) {
    let hits_before = b.cache_hits().await;
    let mut patient =
        json!({"resourceType": "Patient", "id": "multinode-1", "name": [{"family": "Version-1"}]});
    assert_eq!(a.put_fhir("Patient/multinode-1", &patient).await.0, 201);
    for version in 1..=50 {
        // Twice: the first read may fill the cache, the second is served by it.
        for _ in 0..2 {
            let (status, read) = b.get_fhir("Patient/multinode-1").await;
            assert_eq!(status, 200, "{read}");
            assert_eq!(
                read["meta"]["versionId"],
                version.to_string(),
                "B read a stale version"
            );
            assert_eq!(read["name"][0]["family"], format!("Version-{version}"));
        }
        patient["name"][0]["family"] = json!(format!("Version-{}", version + 1));
        let (status, written) = a.put_fhir("Patient/multinode-1", &patient).await;
        assert_eq!(status, 200, "{written}");
    }
    let (_, read) = b.get_fhir("Patient/multinode-1").await;
    assert_eq!(read["meta"]["versionId"], "51");
    assert!(
        b.cache_hits().await >= hits_before + 50,
        "B answered from its cache (else this proves nothing)"
    );
    // The current version, asked for by number, comes from the same entry; an
    // older one from history.
    let (status, vread) = b.get_fhir("Patient/multinode-1/_history/51").await;
    assert_eq!((status, &vread["name"][0]["family"]), (200, &json!("Version-51")));
    let (_, vread) = b.get_fhir("Patient/multinode-1/_history/7").await;
    assert_eq!(vread["name"][0]["family"], "Version-7");

    let deleted = a
        .client
        .delete(a.fhir("Patient/multinode-1"))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    assert_eq!(
        b.get_fhir("Patient/multinode-1").await.0,
        410,
        "B still served it after A deleted it"
    );
    assert_eq!(b.get_fhir("Patient/multinode-1").await.0, 410);
    patient["name"][0]["family"] = json!("Back");
    assert_eq!(a.put_fhir("Patient/multinode-1", &patient).await.0, 201);
    let (status, read) = b.get_fhir("Patient/multinode-1").await;
    assert_eq!((status, &read["name"][0]["family"]), (200, &json!("Back")));
}

/// A token B has verified (and remembers) is refused by B as soon as A revokes
/// it, not at B's next recheck half a minute later.
async fn a_token_revoked_on_one_node_is_refused_by_the_other(
    a: &Node,
    b: &Node,
    (client_id, secret): &(String, String),
) {
    let token = client_credentials_token(&a.fhir_base(), client_id, secret, None).await;
    let holder = bearer_client(&token);
    let read = || holder.get(b.fhir("Patient?_count=1")).send();
    assert_eq!(read().await.unwrap().status(), 200);
    let revoked = reqwest::Client::new()
        .post(format!("{}/auth/revoke", a.base))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let since = Instant::now();
    while read().await.unwrap().status() != 401 {
        assert!(
            since.elapsed() < Duration::from_secs(2),
            "B still honours a token A revoked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// (b) Claims submitted on both nodes: every submission job runs once, on
/// whichever node claims it, and the clearinghouse receives each claim once.
async fn each_job_runs_once_whichever_node_runs_it(a: &Node, b: &Node, clearinghouse: &Simulator) {
    const CLAIMS: usize = 16;
    let mut claims = Vec::new();
    for n in 0..CLAIMS {
        let node = if n % 2 == 0 { a } else { b };
        let claim = ready_claim(node).await;
        let (status, queued) = node.submit(&claim).await;
        assert_eq!(status, 202, "{queued}");
        claims.push(claim);
    }
    for claim in &claims {
        b.await_claim_submitted(claim).await;
    }
    let (status, jobs) = b
        .api_get("/api/billing/jobs?kind=claim_submission&limit=100")
        .await;
    assert_eq!(status, 200, "{jobs}");
    let jobs = jobs["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), CLAIMS);
    for job in jobs {
        assert_eq!(
            (&job["status"], &job["attempts"]),
            (&json!("succeeded"), &json!(1)),
            "{job}"
        );
    }
    let received = received(clearinghouse).await;
    assert_eq!(received.len(), CLAIMS, "{received:?}");
    assert!(received.iter().all(|(_, times)| *times == 1), "{received:?}");
}

/// (c) An interface engine that resends a message to the other node (its first
/// connection broke before the ACK) gets the same ACK; the message applies once.
async fn a_message_resent_to_the_other_node_is_applied_once(a: &Node, b: &Node) {
    let message = admit("MULTINODE-RESEND", "MN100", "MNV100");
    let first = MllpClient::connect(a.mllp).await.exchange(&message).await;
    let second = MllpClient::connect(b.mllp).await.exchange(&message).await;
    assert_eq!(field(&first, "MSA", 1), "AA", "{first}");
    assert_eq!(first, second, "the resend gets the first ACK");
    let (_, found) = b.get_fhir(&format!("Patient?identifier={MRN}|MN100")).await;
    let entries = found["entry"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{found}");
    assert_eq!(entries[0]["resource"]["meta"]["versionId"], "1", "applied once");
}

/// (d) HL7 messages and claim submissions stream into A; A is killed mid-stream
/// with submissions in flight at a slow clearinghouse. B has every message A
/// acknowledged, and every claim A accepted is submitted (by B, once A's leases
/// lapse), once.
async fn killing_a_node_mid_load_loses_nothing_it_acknowledged(
    a: &mut Node,
    b: &Node,
    clearinghouse: &Simulator,
) {
    const CLAIMS: usize = 12;
    let mut ready = Vec::new();
    for _ in 0..CLAIMS {
        ready.push(ready_claim(b).await);
    }
    let received_before = received(clearinghouse).await.len();
    // Slow enough that uploads are under way when A dies.
    clearinghouse.set_fault(Fault::Slow(Duration::from_millis(400)), None);

    let mllp = a.mllp;
    let messages = tokio::spawn(async move {
        let mut acknowledged = Vec::new();
        let mut connection = MllpClient::connect(mllp).await;
        for n in 0.. {
            let control_id = format!("MULTINODE-LOAD-{n}");
            let message = admit(&control_id, &format!("MNL{n}"), &format!("MNLV{n}"));
            match connection.try_exchange(&message).await {
                Some(ack) if field(&ack, "MSA", 1) == "AA" => acknowledged.push(control_id),
                Some(ack) => panic!("{control_id} was not accepted: {ack}"),
                None => break,
            }
        }
        acknowledged
    });
    let (submitter, base) = (a.client.clone(), a.base.clone());
    let submissions = tokio::spawn(async move {
        let mut accepted = Vec::new();
        for claim in ready {
            let sent = submitter
                .post(format!("{base}/api/billing/claims/{claim}/submit"))
                .json(&json!({"actor": "multinode"}))
                .send()
                .await;
            match sent {
                Ok(answer) if answer.status().is_success() => accepted.push(claim),
                Ok(answer) => panic!("{claim} was refused: {}", answer.status()),
                Err(_) => break,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        accepted
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    a.kill();
    let acknowledged = messages.await.unwrap();
    let accepted = submissions.await.unwrap();
    assert!(
        acknowledged.len() >= 3 && accepted.len() >= 3,
        "A took too little before it died to prove anything: {} messages, {} claims",
        acknowledged.len(),
        accepted.len()
    );
    clearinghouse.clear_fault();

    let (status, stored) = b.api_get("/api/hl7/messages?limit=1000").await;
    assert_eq!(status, 200, "{stored}");
    let applied: std::collections::HashSet<&str> = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| message["status"] == "applied")
        .filter_map(|message| message["controlId"].as_str())
        .collect();
    for control_id in &acknowledged {
        assert!(
            applied.contains(control_id.as_str()),
            "{control_id} was acknowledged, then lost"
        );
    }
    for claim in &accepted {
        b.await_claim_submitted(claim).await;
    }
    // A claims most of what it queues (its runner is woken first), and uploads
    // take 400 ms: some of its claims were in flight and went on on B.
    let (_, jobs) = b
        .api_get("/api/billing/jobs?kind=claim_submission&limit=100")
        .await;
    let taken_over = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|job| {
            accepted
                .iter()
                .any(|claim| job["payload"]["claimId"] == claim.as_str())
        })
        .filter(|job| job["attempts"].as_i64() > Some(1))
        .count();
    assert!(
        taken_over > 0,
        "no job of A's was taken over: the kill proved nothing"
    );
    let received = received(clearinghouse).await;
    assert!(received.len() >= received_before + accepted.len(), "{received:?}");
    assert!(
        received.iter().all(|(_, times)| *times == 1),
        "a claim was sent twice: {received:?}"
    );
}

/// How many times the clearinghouse received each claim, by patient control number.
async fn received(simulator: &Simulator) -> Vec<(String, u64)> {
    let claims: Value = reqwest::get(format!("{}/__simulator/claims", simulator.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    claims
        .as_array()
        .unwrap()
        .iter()
        .map(|claim| {
            (
                claim["pcn"].as_str().unwrap().to_owned(),
                claim["timesReceived"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The database, Redis and files the nodes share.
struct Deployment {
    server_url: String,
    schema: String,
    database_url: String,
    redis_url: String,
    key_prefix: String,
    dir: tempfile::TempDir,
}

impl Deployment {
    async fn new() -> Option<Deployment> {
        let (Ok(server_url), Ok(redis_url)) = (
            std::env::var("CLAIMBRIDGE_TEST_POSTGRES_URL"),
            std::env::var("CLAIMBRIDGE_TEST_REDIS_URL"),
        ) else {
            assert!(
                std::env::var("CI").is_err(),
                "CI must set CLAIMBRIDGE_TEST_POSTGRES_URL and CLAIMBRIDGE_TEST_REDIS_URL so the multi-node test runs"
            );
            eprintln!(
                "CLAIMBRIDGE_TEST_POSTGRES_URL or CLAIMBRIDGE_TEST_REDIS_URL is not set: skipping the multi-node test"
            );
            return None;
        };
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let schema = format!("test_{unique}");
        let mut conn = AsyncPgConnection::establish(&server_url)
            .await
            .expect("connect to PostgreSQL");
        conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create schema");
        let separator = if server_url.contains('?') { '&' } else { '?' };
        Some(Deployment {
            database_url: format!("{server_url}{separator}options=-c%20search_path%3D{schema}"),
            server_url,
            schema,
            redis_url,
            key_prefix: format!("claimbridge-test-{unique}"),
            dir: tempfile::tempdir().expect("temporary directory"),
        })
    }

    fn bootstrap_file(&self) -> PathBuf {
        self.dir.path().join("bootstrap-admin.json")
    }

    /// The bootstrap admin client the first node made.
    fn bootstrap_credentials(&self) -> (String, String) {
        let credentials: Value =
            serde_json::from_slice(&std::fs::read(self.bootstrap_file()).expect("bootstrap-admin.json"))
                .expect("JSON credentials");
        (
            credentials["client_id"].as_str().unwrap().to_owned(),
            credentials["client_secret"].as_str().unwrap().to_owned(),
        )
    }

    /// Drops the schema once the nodes are gone; a failed test leaves it for
    /// inspection.
    async fn drop_schema(self) {
        let mut conn = AsyncPgConnection::establish(&self.server_url)
            .await
            .expect("connect to PostgreSQL");
        conn.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await
            .expect("drop schema");
    }
}

/// One `claimbridge serve` process.
struct Node {
    child: Child,
    /// `http://127.0.0.1:{port}`
    base: String,
    mllp: SocketAddr,
    log: PathBuf,
    /// Carries the admin's token.
    client: reqwest::Client,
}

impl Node {
    /// Starts a node of `deployment` and waits until it is ready.
    async fn start(name: &str, deployment: &Deployment) -> Node {
        let (port, mllp_port) = (free_port(), free_port());
        let log = deployment.dir.path().join(format!("node-{name}.log"));
        let output = std::fs::File::create(&log).expect("a log file");
        let child = Command::new(BINARY)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .envs([
                ("CLAIMBRIDGE_DATABASE_URL", deployment.database_url.as_str()),
                ("CLAIMBRIDGE_DATABASE_POOL_SIZE", "8"),
                ("CLAIMBRIDGE_WORKERS", "2"),
                ("CLAIMBRIDGE_REDIS_URL", &deployment.redis_url),
                ("CLAIMBRIDGE_REDIS_KEY_PREFIX", &deployment.key_prefix),
                ("CLAIMBRIDGE_RESOURCE_CACHE", "redis"),
                ("CLAIMBRIDGE_PUBLIC_URL", PUBLIC_URL),
                ("CLAIMBRIDGE_SECRETS_KEY", TEST_SECRETS_KEY),
                (
                    "CLAIMBRIDGE_AUTH_BOOTSTRAP_FILE",
                    &deployment.bootstrap_file().to_string_lossy(),
                ),
                ("CLAIMBRIDGE_AUTH_TOKEN_LIFETIME_SECS", "3600"),
                ("CLAIMBRIDGE_AUTH_RATE_LIMIT_PER_SECOND", "0"),
                ("CLAIMBRIDGE_BILLING_GATEWAY", "integrations"),
                ("CLAIMBRIDGE_INTEGRATION_RETRY_BASE_MS", "10"),
                ("CLAIMBRIDGE_INTEGRATION_RETRY_CAP_MS", "100"),
                // Above the slow clearinghouse's 400 ms; a node taking over an upload
                // the other left unanswered waits this out before it asks.
                ("CLAIMBRIDGE_INTEGRATION_CALL_TIMEOUT_MS", "2000"),
                ("CLAIMBRIDGE_JOBS_LEASE_SECS", LEASE_SECS),
                ("CLAIMBRIDGE_JOBS_POLL_INTERVAL_MS", "200"),
                ("CLAIMBRIDGE_JOBS_RETRY_BASE_MS", "50"),
                ("CLAIMBRIDGE_JOBS_RETRY_CAP_SECS", "1"),
            ])
            .env("CLAIMBRIDGE_BIND", format!("127.0.0.1:{port}"))
            .env("CLAIMBRIDGE_MLLP_BIND", format!("127.0.0.1:{mllp_port}"))
            .arg("serve")
            .stdout(output.try_clone().expect("a log file"))
            .stderr(output)
            .spawn()
            .expect("claimbridge starts");
        claimbridge_plugin_sdk::http_client::install_crypto_provider();
        let mut node = Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
            mllp: SocketAddr::from(([127, 0, 0, 1], mllp_port)),
            log,
            client: reqwest::Client::new(),
        };
        node.await_ready().await;
        node
    }

    async fn await_ready(&mut self) {
        let since = Instant::now();
        loop {
            if let Ok(answer) = self
                .client
                .get(format!("{}/health/ready", self.base))
                .send()
                .await
            {
                if answer.status() == 200 {
                    return;
                }
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the node exited ({status}):\n{}", tail(&self.log));
            }
            assert!(
                since.elapsed() < Duration::from_secs(30),
                "the node is not ready:\n{}",
                tail(&self.log)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no shutdown, no goodbye.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the node is gone");
    }

    /// `http://127.0.0.1:{port}/fhir`
    fn fhir_base(&self) -> String {
        format!("{}/fhir", self.base)
    }

    fn fhir(&self, path: &str) -> String {
        format!("{}/fhir/{path}", self.base)
    }

    async fn get_fhir(&self, path: &str) -> (u16, Value) {
        let answer = self.client.get(self.fhir(path)).send().await.unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap_or_default())
    }

    async fn put_fhir(&self, path: &str, resource: &Value) -> (u16, Value) {
        let answer = self
            .client
            .put(self.fhir(path))
            .header("Content-Type", "application/fhir+json")
            .body(resource.to_string())
            .send()
            .await
            .unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap_or_default())
    }

    async fn api_get(&self, path: &str) -> (u16, Value) {
        let answer = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap_or_default())
    }

    async fn submit(&self, claim: &str) -> (u16, Value) {
        self.api_post(
            &format!("/api/billing/claims/{claim}/submit"),
            &json!({"actor": "multinode"}),
        )
        .await
    }

    /// Waits until the claim's submission went through (its job ran somewhere).
    async fn await_claim_submitted(&self, claim: &str) {
        let since = Instant::now();
        loop {
            let (_, status) = self.api_get(&format!("/api/billing/claims/{claim}")).await;
            if status["status"] == "submitted" {
                return;
            }
            assert!(
                since.elapsed() < Duration::from_secs(20),
                "{claim} was never submitted: {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Reads answered from the resource cache, as the node's metrics count them.
    async fn cache_hits(&self) -> u64 {
        let metrics = reqwest::get(format!("{}/metrics", self.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        metrics
            .lines()
            .find_map(|line| line.strip_prefix("claimbridge_resource_cache_lookups_total{result=\"hit\"} "))
            .map_or(0, |count| count.trim().parse().unwrap())
    }
}

impl Server for Node {
    async fn create(&self, resource: &Value) -> Value {
        let resource_type = resource["resourceType"].as_str().expect("resourceType");
        let answer = self
            .client
            .post(self.fhir(resource_type))
            .header("Content-Type", "application/fhir+json")
            .body(resource.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201, "create {resource_type}");
        answer.json().await.unwrap()
    }

    async fn api_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let answer = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap_or_default())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The end of a node's log, for a failure's message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
