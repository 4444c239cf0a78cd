//! Health for load balancers and Kubernetes probes (`application/health+json`,
//! the IETF health-check draft's shape):
//! - `GET /health/live`: the process serves HTTP (a liveness probe restarts it
//!   when not);
//! - `GET /health/ready`: it can do its work: the database answers and has every
//!   migration this binary embeds, Redis answers `PING` when configured, the MLLP
//!   listener accepts when enabled. 503 naming what fails otherwise (a readiness
//!   probe takes the node out of the load balancer until it passes).
//!
//! Both are open (no token) and carry no data beyond pass/fail and why.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::{json, Map, Value};

use crate::store::Store;

/// How long one check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Health {
    pub store: Store,
    pub redis: Option<redis::Client>,
    /// Whether the MLLP listener is accepting; `None` when it is off.
    pub mllp: Option<Arc<AtomicBool>>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready));
}

fn answer(pass: bool, checks: Map<String, Value>) -> HttpResponse {
    let mut builder = if pass {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    builder
        .content_type("application/health+json")
        .insert_header(("Cache-Control", "no-store"))
        .body(json!({"status": if pass { "pass" } else { "fail" }, "checks": checks}).to_string())
}

async fn live() -> HttpResponse {
    answer(true, Map::new())
}

async fn ready(health: web::Data<Health>) -> HttpResponse {
    let mut checks = Map::new();
    let database = bounded(database(&health.store)).await;
    let mut pass = record(&mut checks, "database", database);
    if let Some(client) = &health.redis {
        pass &= record(&mut checks, "redis", bounded(redis_ping(client)).await);
    }
    if let Some(accepting) = &health.mllp {
        let up = if accepting.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err("the MLLP listener is not accepting connections".to_owned())
        };
        pass &= record(&mut checks, "mllp", up);
    }
    answer(pass, checks)
}

/// Adds the check's result; whether it passed.
fn record(checks: &mut Map<String, Value>, name: &str, result: Result<(), String>) -> bool {
    let entry = match &result {
        Ok(()) => json!([{"status": "pass"}]),
        Err(why) => json!([{"status": "fail", "output": why}]),
    };
    checks.insert(name.to_owned(), entry);
    result.is_ok()
}

async fn bounded(check: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())))
}

async fn database(store: &Store) -> Result<(), String> {
    let expected = store.newest_embedded_migration().map_err(|e| e.to_string())?;
    let applied = async { store.session().await?.latest_applied_migration().await }
        .await
        .map_err(|e| format!("the database does not answer: {e}"))?;
    if applied < expected {
        return Err(format!(
            "migrations pending: the database has {}, this binary needs {}",
            applied.as_deref().unwrap_or("none"),
            expected.as_deref().unwrap_or("none")
        ));
    }
    Ok(())
}

#[tracing::instrument(level = "debug", name = "redis", skip_all, fields(op = "ping"))]
async fn redis_ping(client: &redis::Client) -> Result<(), String> {
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| format!("Redis does not answer: {e}"))?;
    let pong: String = redis::cmd("PING")
        .query_async(&mut connection)
        .await
        .map_err(|e| format!("Redis does not answer: {e}"))?;
    if pong == "PONG" {
        Ok(())
    } else {
        Err(format!("Redis answered {pong:?} to PING"))
    }
}
