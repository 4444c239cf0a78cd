//! The orchestrator's price and its failover, in process (issue 6 figures):
//!
//! 1. Overhead per operation over a direct plugin call: the same operation, a
//!    payer-list request, made N times straight through the plugin
//!    (`execute_checked`) and N times through `execute_with_failover` (routing from
//!    its cache, breaker, timeout, attempt log), against (a) a handler that answers
//!    at once, which isolates what the orchestrator adds, and (b) the Claim.MD plugin
//!    over HTTP to its simulator. Rounds alternate so drift hits both alike.
//! 2. Failover: with the primary Claim.MD refusing connections, how long an
//!    operation takes to be answered by the secondary — the first one (two refused
//!    calls and a backoff before the circuit opens) and the next ones (the open
//!    circuit is skipped without a call).
//!
//!     cargo bench --bench orchestrator -- [ROUNDS]
//!
//! Prints JSON lines.

use std::sync::Arc;
use std::time::{Duration, Instant};

use claimbridge::integrations::backoff::RetryPolicy;
use claimbridge::integrations::breaker::{BreakerPolicy, Breakers};
use claimbridge::integrations::host::PluginHost;
use claimbridge::integrations::orchestrator::{Orchestrator, OrchestratorParts, RegistryChanges, Request};
use claimbridge::integrations::plugins::vendor_plugin;
use claimbridge::integrations::registry::{NewIntegration, Registry, DEFAULT_TENANT};
use claimbridge::integrations::{Category, Vendor};
use claimbridge::secrets::Keyring;
use claimbridge::store::Database;
use claimbridge_plugin_claimmd::simulator as claimmd;
use claimbridge_plugin_sdk::{
    execute_checked, Capability, Category as PluginCategory, ConnectionCheck, Health, HealthStatus,
    Operation, OperationOutput, PayerList, PayerListRequest, PluginConfig, PluginDescriptor, PluginError,
    PluginHandler, WebhookOutcome, WebhookRejection,
};
use claimbridge_simulator_kit::Fault;
use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};

const DEFAULT_ROUNDS: usize = 20;
const CALLS_PER_ROUND: usize = 500;

/// Answers a payer list at once: what remains of a call is the caller's cost.
struct Immediate;

static IMMEDIATE: PluginDescriptor = PluginDescriptor {
    vendor: "claimmd",
    display_name: "immediate",
    category: PluginCategory::Clearinghouse,
    capabilities: &[Capability::PayerList],
};

impl PluginHandler for Immediate {
    fn descriptor(&self) -> &PluginDescriptor {
        &IMMEDIATE
    }
    fn initialize<'a>(&'a mut self, _: PluginConfig) -> BoxFuture<'a, Result<(), PluginError>> {
        Box::pin(async { Ok(()) })
    }
    fn execute<'a>(&'a self, _: &'a Operation) -> BoxFuture<'a, Result<OperationOutput, PluginError>> {
        Box::pin(async { Ok(OperationOutput::PayerList(PayerList { payers: Vec::new() })) })
    }
    fn test_connection(&self) -> BoxFuture<'_, Result<ConnectionCheck, PluginError>> {
        Box::pin(async {
            Ok(ConnectionCheck {
                detail: "immediate".into(),
            })
        })
    }
    fn health_check(&self) -> BoxFuture<'_, Health> {
        Box::pin(async {
            Health {
                status: HealthStatus::Healthy,
                detail: None,
            }
        })
    }
    fn handle_webhook<'a>(
        &'a self,
        _: &'a claimbridge_plugin_sdk::http::HeaderMap,
        _: &'a [u8],
    ) -> BoxFuture<'a, Result<WebhookOutcome, PluginError>> {
        Box::pin(async {
            Ok(WebhookOutcome::Rejected(WebhookRejection::Malformed(
                "none".into(),
            )))
        })
    }
    fn cleanup(&self) -> BoxFuture<'_, Result<(), PluginError>> {
        Box::pin(async { Ok(()) })
    }
}

struct Setup {
    orchestrator: Orchestrator,
    registry: Registry,
    _dir: tempfile::TempDir,
}

async fn setup(immediate: bool, retry: RetryPolicy) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let database = Database::open(&format!("sqlite://{}", dir.path().join("bench.db").display()))
        .await
        .unwrap();
    let keyring = Arc::new(Keyring::new(("k1", &[7; 32]), &[]).unwrap());
    let changes = Arc::new(RegistryChanges::default());
    let factory: Arc<claimbridge::integrations::host::PluginFactory> = if immediate {
        Arc::new(|_| Box::new(Immediate) as Box<dyn PluginHandler>)
    } else {
        Arc::new(vendor_plugin)
    };
    let orchestrator = Orchestrator::new(OrchestratorParts {
        store: database.store(2).unwrap(),
        attempt_store: database.store(1).unwrap(),
        host: PluginHost::new(Some(Arc::clone(&keyring)), factory),
        breakers: Breakers::new(BreakerPolicy {
            failures: 2,
            window: Duration::from_secs(60),
            open_for: Duration::from_secs(600),
        }),
        retry,
        call_timeout: Duration::from_secs(5),
        changes: Arc::clone(&changes),
    });
    let registry = Registry::new(database.store(2).unwrap(), Some(keyring)).announcing_changes(changes);
    Setup {
        orchestrator,
        registry,
        _dir: dir,
    }
}

async fn add_claimmd(registry: &Registry, name: &str, base_url: &str) {
    let mut settings = Map::new();
    settings.insert("requestsPerMinute".into(), json!(10_000_000));
    registry
        .create(NewIntegration {
            tenant: DEFAULT_TENANT.into(),
            vendor: Vendor::ClaimMd,
            name: name.into(),
            category: None,
            priority: None,
            enabled: true,
            base_url: base_url.into(),
            settings,
            credentials: [("accountKey".to_owned(), claimmd::DEFAULT_ACCOUNT_KEY.to_owned())].into(),
        })
        .await
        .unwrap();
}

fn payer_list() -> Operation {
    Operation::PayerList(PayerListRequest {
        payer_id: None,
        name: None,
    })
}

async fn direct_plugin(base_url: &str, immediate: bool) -> Box<dyn PluginHandler> {
    let mut plugin: Box<dyn PluginHandler> = if immediate {
        Box::new(Immediate)
    } else {
        vendor_plugin(Vendor::ClaimMd)
    };
    let mut credentials = claimbridge_plugin_sdk::Credentials::default();
    credentials.insert(
        "accountKey",
        claimbridge_plugin_sdk::Secret::new(claimmd::DEFAULT_ACCOUNT_KEY),
    );
    plugin
        .initialize(PluginConfig {
            base_url: base_url.into(),
            settings: json!({"requestsPerMinute": 10_000_000}),
            credentials,
        })
        .await
        .unwrap();
    plugin
}

/// Mean microseconds per call, direct and through the orchestrator, over `rounds`
/// alternating rounds.
async fn overhead(label: &str, immediate: bool, base_url: &str, rounds: usize) -> Value {
    let setup = setup(immediate, RetryPolicy::default()).await;
    add_claimmd(&setup.registry, "Claim.MD", base_url).await;
    let plugin = direct_plugin(base_url, immediate).await;
    let operation = payer_list();
    let request = Request {
        tenant: DEFAULT_TENANT,
        category: Category::Clearinghouse,
        operation: &operation,
        subject: None,
        status_probe: None,
    };
    // Warm up both paths (connections, the routing cache, the handler).
    for _ in 0..50 {
        execute_checked(plugin.as_ref(), &operation).await.unwrap();
        setup.orchestrator.execute_with_failover(request).await.unwrap();
    }
    let (mut direct, mut orchestrated) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..CALLS_PER_ROUND {
            execute_checked(plugin.as_ref(), &operation).await.unwrap();
        }
        direct += started.elapsed();
        let started = Instant::now();
        for _ in 0..CALLS_PER_ROUND {
            setup.orchestrator.execute_with_failover(request).await.unwrap();
        }
        orchestrated += started.elapsed();
    }
    let calls = (rounds * CALLS_PER_ROUND) as f64;
    let direct_us = direct.as_secs_f64() * 1e6 / calls;
    let orchestrated_us = orchestrated.as_secs_f64() * 1e6 / calls;
    json!({
        "bench": "orchestrator_overhead",
        "plugin": label,
        "calls": calls,
        "direct_us": round(direct_us),
        "orchestrated_us": round(orchestrated_us),
        "overhead_us": round(orchestrated_us - direct_us),
        "ratio": round(orchestrated_us / direct_us),
    })
}

async fn failover() -> Value {
    let primary = claimmd::start("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let secondary = claimmd::start("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let setup = setup(false, RetryPolicy::default()).await;
    add_claimmd(&setup.registry, "Claim.MD primary", &primary.base_url()).await;
    add_claimmd(&setup.registry, "Claim.MD secondary", &secondary.base_url()).await;
    let operation = payer_list();
    let request = Request {
        tenant: DEFAULT_TENANT,
        category: Category::Clearinghouse,
        operation: &operation,
        subject: None,
        status_probe: None,
    };
    setup.orchestrator.execute_with_failover(request).await.unwrap();
    primary.set_fault(Fault::Down { for_duration: None }, None);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let first = setup.orchestrator.execute_with_failover(request).await.unwrap();
    let first_ms = started.elapsed().as_secs_f64() * 1e3;
    assert!(first.failed_over);
    let mut open = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        let executed = setup.orchestrator.execute_with_failover(request).await.unwrap();
        open.push(started.elapsed().as_secs_f64() * 1e3);
        assert!(executed.failed_over);
    }
    open.sort_by(f64::total_cmp);
    primary.stop().await;
    secondary.stop().await;
    json!({
        "bench": "failover",
        "first_failure_to_answer_ms": round(first_ms),
        "circuit_open_median_ms": round(open[open.len() / 2]),
        "circuit_open_max_ms": round(open[open.len() - 1]),
        "retry_policy": "3 calls, 200 ms base, 5 s cap; breaker opens after 2 failures",
    })
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[tokio::main]
async fn main() {
    claimbridge_plugin_sdk::http_client::install_crypto_provider();
    let rounds = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    println!(
        "{}",
        overhead("immediate (in process)", true, "http://127.0.0.1:9", rounds).await
    );
    let simulator = claimmd::start("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    println!(
        "{}",
        overhead(
            "claimmd over HTTP to its simulator",
            false,
            &simulator.base_url(),
            rounds / 4 + 1
        )
        .await
    );
    simulator.stop().await;
    println!("{}", failover().await);
}
