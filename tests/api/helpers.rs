//! A running server per test, on the backend the test asks for.

use claimbridge::app::Application;
use claimbridge::billing::gateway::GatewayKind;
use claimbridge::config::{SecretText, Settings};
use claimbridge::jobs::JobRegistry;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::Value;

/// The PostgreSQL server the suite also runs against (CI sets it).
const POSTGRES_ENV: &str = "CLAIMBRIDGE_TEST_POSTGRES_URL";

/// The Redis the shared rate limit tests use (CI sets it).
const REDIS_ENV: &str = "CLAIMBRIDGE_TEST_REDIS_URL";

/// Small enough that the 413 test need not send megabytes.
pub const TEST_BODY_LIMIT: usize = 256 * 1024;

/// Where a test's SQLite database lives, under its temporary directory.
const SQLITE_FILE: &str = "nested/claimbridge.db";

/// Claims per batch transaction: small, so that a few lines span several chunks.
pub const TEST_BATCH_CHUNK: usize = 2;

/// The secrets key of PostgreSQL test servers (base64 of 32 bytes); SQLite ones use
/// the key generated beside their database file, as a developer's server does.
pub const TEST_SECRETS_KEY: &str = "dGVzdC1zZWNyZXRzLWtleS0zMi1ieXRlcy1sb25nISE=";

/// The MLLP frame limit of test servers: above every sample message.
pub const TEST_MAX_FRAME: usize = 64 * 1024;

/// How long test servers let one integration call take (i64: it is added to times).
pub const TEST_CALL_TIMEOUT_MS: i64 = 5_000;

pub struct TestApp {
    /// `http://127.0.0.1:{port}/fhir`
    pub base: String,
    /// Carries the bootstrap admin's access token (`system/*.* admin`) on every
    /// request, as an administrator's tools would.
    pub client: reqwest::Client,
    /// The bootstrap admin client, as the server wrote it.
    pub admin_client_id: String,
    /// The token `client` carries.
    pub admin_token: String,
    /// Holds `bootstrap-admin.json`.
    _auth_dir: tempfile::TempDir,
    /// The MLLP listener's address.
    pub mllp: std::net::SocketAddr,
    /// The server's database, for tests that work the job queue as another node.
    pub database_url: String,
    /// The server, stopped (with its job runner) before its database is dropped.
    server: actix_web::dev::ServerHandle,
    running: tokio::task::JoinHandle<std::io::Result<()>>,
    cleanup: Cleanup,
}

/// How a test's server differs from the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestOptions {
    /// Billing operations go through the sandbox clearinghouse (else none is
    /// configured).
    pub sandbox_gateway: bool,
    /// Adds job kinds (handlers, schedules) of the test's own to the server's.
    pub jobs: Option<fn(&mut JobRegistry)>,
    /// The server runs no jobs (`jobs_enabled` off): what is enqueued stays queued.
    pub jobs_paused: bool,
    /// The server enqueues recurring jobs when their periods begin. Off by default:
    /// a clearinghouse feed read at the turn of the hour would meet a simulator the
    /// test has taken down, or take the fault it set for the claim's upload.
    pub recurring_jobs: bool,
    /// The server's `database_pool_size` (split between its two HTTP workers);
    /// otherwise 4.
    pub pool_size: Option<usize>,
    /// Billing operations go through the integration registry, with retries,
    /// breakers and timeouts short enough for tests.
    pub integrations: bool,
    /// Requests per second (and burst) a client may make; otherwise more than any
    /// test makes.
    pub rate_limit: Option<u32>,
    /// An external issuer (URL) whose tokens the server also accepts, for the
    /// default tenant; its keys may be read again every second. A `&'static str`
    /// keeps the options `Copy`: a test's issuer, on an ephemeral port, is leaked.
    pub trusted_issuer: Option<&'static str>,
    /// Rate limits counted in this Redis (`redis_url`), under a namespace
    /// (`redis_key_prefix`) that servers of one test share and other tests do not.
    pub redis: Option<TestRedis>,
    /// The fee schedules (`billing_fee_schedules`, the file's JSON) claims are
    /// priced with; otherwise none: every line at its charge.
    pub fee_schedules: Option<&'static str>,
    /// Changes to the shipped scrub rules (`billing_scrub_rules`, the file's JSON).
    pub scrub_rules: Option<&'static str>,
    /// The practice's time zone (`billing_time_zone`); otherwise UTC.
    pub time_zone: Option<&'static str>,
}

/// A Redis for a test's servers, and their keys' namespace in it.
#[derive(Debug, Clone, Copy)]
pub struct TestRedis {
    pub url: &'static str,
    pub key_prefix: &'static str,
}

impl TestRedis {
    /// The suite's Redis with a namespace of the test's own (both leaked, to keep
    /// the options `Copy`); `None` when no Redis is configured, except on CI, where
    /// that is a failure.
    pub fn from_env() -> Option<TestRedis> {
        let Ok(url) = std::env::var(REDIS_ENV) else {
            assert!(
                std::env::var("CI").is_err(),
                "CI must set {REDIS_ENV} so the shared rate limits are tested"
            );
            eprintln!("{REDIS_ENV} is not set: skipping a test of rate limits in Redis");
            return None;
        };
        let key_prefix = format!("claimbridge-test-{}", uuid::Uuid::new_v4().simple());
        Some(TestRedis {
            url: url.leak(),
            key_prefix: key_prefix.leak(),
        })
    }
}

/// Writes a configuration file the server is started with, returning its path.
fn write_file(dir: &std::path::Path, name: &str, contents: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write a configuration file");
    path
}

impl TestOptions {
    /// Billing operations go through the sandbox clearinghouse.
    pub const SANDBOX: TestOptions = TestOptions {
        sandbox_gateway: true,
        jobs: None,
        jobs_paused: false,
        recurring_jobs: false,
        pool_size: None,
        integrations: false,
        rate_limit: None,
        trusted_issuer: None,
        redis: None,
        fee_schedules: None,
        scrub_rules: None,
        time_zone: None,
    };

    /// Billing operations go through the integration registry.
    pub const INTEGRATIONS: TestOptions = TestOptions {
        sandbox_gateway: false,
        jobs: None,
        jobs_paused: false,
        recurring_jobs: false,
        pool_size: None,
        integrations: true,
        rate_limit: None,
        trusted_issuer: None,
        redis: None,
        fee_schedules: None,
        scrub_rules: None,
        time_zone: None,
    };
}

enum Cleanup {
    /// The SQLite file lives in this directory, removed on drop.
    Sqlite(tempfile::TempDir),
    /// Each PostgreSQL test runs in a schema of its own, dropped when it ends.
    Postgres { server_url: String, schema: String },
}

/// A token from the server's token endpoint for a client with a secret
/// (`client_secret_basic`), with `scope` or all the client may have.
pub async fn client_credentials_token(
    base: &str,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
) -> String {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let answer = reqwest::Client::new()
        .post(format!("{}/auth/token", base.trim_end_matches("/fhir")))
        .basic_auth(client_id, Some(secret))
        .form(&form)
        .send()
        .await
        .expect("token request");
    assert_eq!(answer.status(), 200, "the token endpoint refused {client_id}");
    let body: Value = answer.json().await.expect("a token answer");
    body["access_token"].as_str().expect("an access token").to_owned()
}

/// A client that sends `token` as its bearer token on every request.
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let mut value =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value");
    value.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("an HTTP client")
}

impl TestApp {
    pub async fn sqlite(options: TestOptions) -> TestApp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join(SQLITE_FILE).display());
        TestApp::start(url, Cleanup::Sqlite(dir), options).await
    }

    /// `None` when no PostgreSQL is configured, except on CI, where that is a failure.
    pub async fn postgres(options: TestOptions) -> Option<TestApp> {
        let Ok(server_url) = std::env::var(POSTGRES_ENV) else {
            assert!(
                std::env::var("CI").is_err(),
                "CI must set {POSTGRES_ENV} so the suite runs on PostgreSQL"
            );
            return None;
        };
        let schema = format!("test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = AsyncPgConnection::establish(&server_url)
            .await
            .expect("connect to PostgreSQL");
        conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create schema");
        let separator = if server_url.contains('?') { '&' } else { '?' };
        let url = format!("{server_url}{separator}options=-c%20search_path%3D{schema}");
        Some(TestApp::start(url, Cleanup::Postgres { server_url, schema }, options).await)
    }

    async fn start(database_url: String, cleanup: Cleanup, options: TestOptions) -> TestApp {
        // Every line the server logs goes to the file the PHI check reads.
        crate::log_capture::install();
        let secrets_key =
            matches!(cleanup, Cleanup::Postgres { .. }).then(|| SecretText::new(TEST_SECRETS_KEY));
        let auth_dir = tempfile::tempdir().expect("temporary directory");
        let bootstrap_file = auth_dir.path().join("bootstrap-admin.json");
        let settings = Settings {
            secrets_key,
            auth_bootstrap_file: Some(bootstrap_file.clone()),
            // Longer than any test.
            auth_token_lifetime_secs: 3600,
            auth_rate_limit_per_second: options.rate_limit.unwrap_or(100_000),
            auth_rate_limit_burst: options.rate_limit.unwrap_or(100_000),
            auth_trusted_issuers: options
                .trusted_issuer
                .map(|issuer| vec![claimbridge::auth::external_issuers::TrustedIssuer::new(issuer)])
                .unwrap_or_default(),
            auth_jwks_min_refresh_secs: 1,
            redis_url: options.redis.map(|redis| redis.url.to_owned()),
            redis_key_prefix: options
                .redis
                .map_or_else(|| "claimbridge".to_owned(), |redis| redis.key_prefix.to_owned()),
            database_url: database_url.clone(),
            database_pool_size: options.pool_size.unwrap_or(4),
            bind: "127.0.0.1:0".parse().unwrap(),
            body_limit: TEST_BODY_LIMIT,
            claims_batch_chunk: TEST_BATCH_CHUNK,
            workers: Some(2),
            mllp_bind: "127.0.0.1:0".into(),
            mllp_max_frame: TEST_MAX_FRAME,
            billing_gateway: if options.integrations {
                Some(GatewayKind::Integrations)
            } else {
                options.sandbox_gateway.then_some(GatewayKind::Sandbox)
            },
            // Two calls per integration, a breaker that opens after two failures and
            // stays open for the rest of a test.
            integration_retry_attempts: 2,
            integration_retry_base_ms: 10,
            integration_retry_cap_ms: 100,
            integration_breaker_failures: 2,
            integration_breaker_open_ms: 60_000,
            integration_call_timeout_ms: TEST_CALL_TIMEOUT_MS as u64,
            // Jobs are picked up and retried within milliseconds.
            jobs_enabled: !options.jobs_paused,
            jobs_recurring_enabled: options.recurring_jobs,
            jobs_poll_interval_ms: 50,
            jobs_retry_base_ms: 10,
            jobs_retry_cap_secs: 1,
            billing_fee_schedules: options
                .fee_schedules
                .map(|json| write_file(auth_dir.path(), "fee-schedules.json", json)),
            billing_scrub_rules: options
                .scrub_rules
                .map(|json| write_file(auth_dir.path(), "scrub-rules.json", json)),
            billing_time_zone: options.time_zone.unwrap_or("UTC").into(),
            ..Settings::default()
        };
        let mut jobs = JobRegistry::new();
        if let Some(add) = options.jobs {
            add(&mut jobs);
        }
        let app = Application::build_with_jobs(&settings, jobs)
            .await
            .expect("server starts");
        let base = app.base_url().to_owned();
        let mllp = app.mllp_address().expect("the MLLP listener is on");
        let server = app.server_handle();
        let running = tokio::spawn(app.run());
        // reqwest carries no TLS provider of its own in this workspace.
        claimbridge_plugin_sdk::http_client::install_crypto_provider();
        let credentials: Value =
            serde_json::from_slice(&std::fs::read(&bootstrap_file).expect("the bootstrap credentials"))
                .expect("bootstrap-admin.json is JSON");
        let admin_client_id = credentials["client_id"].as_str().unwrap().to_owned();
        let admin_client_secret = credentials["client_secret"].as_str().unwrap().to_owned();
        let token = client_credentials_token(&base, &admin_client_id, &admin_client_secret, None).await;
        TestApp {
            base,
            client: bearer_client(&token),
            admin_token: token,
            admin_client_id,
            _auth_dir: auth_dir,
            mllp,
            database_url,
            server,
            running,
            cleanup,
        }
    }

    /// Stops the server, then drops the PostgreSQL schema; a test that panics leaves
    /// it for inspection.
    pub async fn finish(self) {
        // Background jobs still at work would deadlock with the DROP.
        self.server.stop(false).await;
        let _ = self.running.await;
        if let Cleanup::Postgres { server_url, schema } = &self.cleanup {
            let mut conn = AsyncPgConnection::establish(server_url)
                .await
                .expect("connect to PostgreSQL");
            // A deadlock with a last background write of the server's (one not stopped
            // with it) makes PostgreSQL fail one side: the DROP is tried again.
            let mut tries = 0;
            while let Err(error) = conn.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await {
                tries += 1;
                assert!(
                    tries < 5 && error.to_string().contains("deadlock"),
                    "drop schema: {error}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }

    /// Runs SQL on the test's own database, as an operator would: `postgres` in its
    /// schema, or `sqlite` on its file.
    pub async fn execute_sql(&self, postgres: &str, sqlite: &str) {
        match &self.cleanup {
            Cleanup::Postgres { server_url, schema } => {
                let mut conn = AsyncPgConnection::establish(server_url)
                    .await
                    .expect("connect to PostgreSQL");
                conn.batch_execute(&format!("SET search_path TO {schema}; {postgres}"))
                    .await
                    .expect("SQL runs");
            }
            Cleanup::Sqlite(dir) => {
                use diesel::connection::SimpleConnection;
                open_sqlite_file(dir).batch_execute(sqlite).expect("SQL runs");
            }
        }
    }

    /// Makes the database refuse, with `error`, each row inserted into `table` for
    /// which `condition` holds (an SQL expression on `NEW`, written alike for both
    /// backends): a trigger, as a DBA's check constraint or a failing disk would
    /// refuse a write the server did not foresee.
    pub async fn refuse_inserts(&self, table: &str, condition: &str, error: &str) {
        self.execute_sql(
            &format!(
                "CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF {condition} THEN RAISE EXCEPTION '{error}'; END IF; RETURN NEW; END $$; \
                 CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION refuse_{table}();"
            ),
            &format!(
                "CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} \
                 WHEN {condition} BEGIN SELECT RAISE(ABORT, '{error}'); END;"
            ),
        )
        .await;
    }

    /// Takes away what `refuse_inserts` put on `table`.
    pub async fn allow_inserts(&self, table: &str) {
        self.execute_sql(
            &format!("DROP TRIGGER refuse_{table} ON {table}; DROP FUNCTION refuse_{table}();"),
            &format!("DROP TRIGGER refuse_{table};"),
        )
        .await;
    }

    /// The `text` column of `sql`'s rows, read from the test's own database (the
    /// same SQL on both backends).
    pub async fn select_texts(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            text: String,
        }
        let rows: Vec<Row> = match &self.cleanup {
            Cleanup::Postgres { server_url, schema } => {
                use diesel_async::RunQueryDsl;
                let mut conn = AsyncPgConnection::establish(server_url)
                    .await
                    .expect("connect to PostgreSQL");
                conn.batch_execute(&format!("SET search_path TO {schema}"))
                    .await
                    .expect("schema");
                diesel::sql_query(sql).load(&mut conn).await.expect("query runs")
            }
            Cleanup::Sqlite(dir) => {
                use diesel::RunQueryDsl;
                diesel::sql_query(sql)
                    .load(&mut open_sqlite_file(dir))
                    .expect("query runs")
            }
        };
        rows.into_iter().map(|row| row.text).collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// A URL outside the FHIR base (`/hl7/v2`, `/api/…`, `/metrics`).
    pub fn server_url(&self, path: &str) -> String {
        format!("{}{path}", self.base.trim_end_matches("/fhir"))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// POSTs a FHIR JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    /// PUTs a FHIR JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::PUT, path, body).await
    }

    async fn send_json(&self, method: reqwest::Method, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .expect("request sent")
    }

    /// POSTs JSON to a URL outside the FHIR base (`/api/…`): the status and the
    /// JSON answer.
    pub async fn api_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.server_url(path))
            .json(body)
            .send()
            .await
            .expect("POST");
        (
            response.status().as_u16(),
            response.json().await.expect("a JSON answer"),
        )
    }

    /// Runs the job kind now, as an admin's trigger does, and waits until that run
    /// has finished (succeeded or dead); the job as `/api/billing/jobs` lists it.
    pub async fn run_job(&self, kind: &str) -> Value {
        let (status, job) = self
            .api_post(&format!("/api/billing/jobs/{kind}/run"), &serde_json::json!({}))
            .await;
        assert_eq!(status, 202, "{job}");
        for _ in 0..200 {
            let (_, jobs) = self.api_get(&format!("/api/billing/jobs?kind={kind}")).await;
            let found = jobs["jobs"]
                .as_array()
                .and_then(|jobs| jobs.iter().find(|candidate| candidate["id"] == job["id"]))
                .cloned()
                .unwrap_or_default();
            if matches!(found["status"].as_str(), Some("succeeded" | "dead")) {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{kind} never finished");
    }

    /// Sends `body` (if any) as JSON to a URL outside the FHIR base: the status and
    /// the answer's text.
    pub async fn api_send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, String) {
        let mut request = self.client.request(method, self.server_url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request sent");
        (
            response.status().as_u16(),
            response.text().await.expect("an answer"),
        )
    }

    /// GETs a URL outside the FHIR base: the status and the JSON answer.
    pub async fn api_get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(self.server_url(path)).send().await.expect("GET");
        (
            response.status().as_u16(),
            response.json().await.expect("a JSON answer"),
        )
    }

    /// Creates a resource and returns the stored body.
    pub async fn create(&self, resource: &Value) -> Value {
        let resource_type = resource["resourceType"].as_str().expect("resourceType");
        let response = self.post(resource_type, resource).await;
        let status = response.status();
        let body: Value = response.json().await.expect("created body is JSON");
        assert_eq!(status, 201, "create {resource_type}: {body}");
        body
    }
}

/// The test's SQLite file, opened as the server opens it: a statement waits for the
/// server's writer (its job runner writes in the background) rather than failing.
fn open_sqlite_file(dir: &tempfile::TempDir) -> diesel::sqlite::SqliteConnection {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let path = dir.path().join(SQLITE_FILE);
    let mut conn =
        diesel::sqlite::SqliteConnection::establish(&path.to_string_lossy()).expect("open the SQLite file");
    conn.batch_execute("PRAGMA busy_timeout = 5000")
        .expect("a busy timeout");
    conn
}

/// A server fixtures store resources on and call: a test's `TestApp`, or a node
/// of the multi-node test.
pub(crate) trait Server {
    /// Creates a resource and returns the stored body.
    async fn create(&self, resource: &Value) -> Value;
    /// POSTs JSON to a URL outside the FHIR base: the status and the JSON answer.
    async fn api_post(&self, path: &str, body: &Value) -> (u16, Value);
}

impl Server for TestApp {
    async fn create(&self, resource: &Value) -> Value {
        TestApp::create(self, resource).await
    }

    async fn api_post(&self, path: &str, body: &Value) -> (u16, Value) {
        TestApp::api_post(self, path, body).await
    }
}

/// Parses a response body as JSON, checking it is FHIR JSON.
pub async fn fhir_json(response: reqwest::Response) -> Value {
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/fhir+json"),
        "content type {content_type}"
    );
    response.json().await.expect("JSON body")
}

/// Asserts the history Bundle at `path` has no entries.
pub async fn assert_history_empty(app: &TestApp, path: &str) {
    let bundle = fhir_json(app.get(path).await).await;
    assert_eq!(bundle["type"], "history", "{bundle}");
    let entries = bundle.get("entry").and_then(Value::as_array).map_or(0, Vec::len);
    assert_eq!(entries, 0, "{path}: {bundle}");
}

/// Asserts `outcome` is an OperationOutcome with an issue whose expression is `path`.
pub fn assert_issue_at(outcome: &Value, path: &str) {
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
    let found = outcome["issue"].as_array().unwrap().iter().any(|issue| {
        issue["expression"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x == path))
    });
    assert!(found, "no issue at {path}: {outcome}");
}

/// Runs each listed `async fn(TestApp)` once on SQLite and once on PostgreSQL;
/// `with options;` first starts the servers with those `TestOptions`.
#[macro_export]
macro_rules! on_both_backends {
    (with $options:expr; $($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let app = $crate::helpers::TestApp::sqlite($options).await;
                    super::$test(&app).await;
                    app.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    if let Some(app) = $crate::helpers::TestApp::postgres($options).await {
                        super::$test(&app).await;
                        app.finish().await;
                    }
                }
            )*
        }
    };
    ($($test:ident),* $(,)?) => {
        $crate::on_both_backends!(with $crate::helpers::TestOptions::default(); $($test),*);
    };
}
