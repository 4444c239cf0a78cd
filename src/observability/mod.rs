//! Logs and request metrics. Request logs carry the route template, never the
//! concrete path or query string: those hold ids and search values that can be
//! PHI. Every request has an id (`X-Request-Id`: the caller's when it is a plain
//! token, else a new one), returned in the response and on every log line made
//! while it is served.
//!
//! Spans: database operations (`db`, with the operation's name) and Redis calls
//! (`redis`) are at debug level, so that at the default `info` they cost a check
//! of a cached flag; calls that leave the server for a vendor
//! (`integration_call`), a webhook subscriber (`webhook_delivery`) or a trusted
//! issuer (`issuer_fetch`) are at info, and name the vendor and operation, never
//! URLs with their queries, bodies, or anything of a patient.

use std::rc::Rc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub mod health;
pub mod metrics;

use metrics::http::HttpMetrics;

/// Installs the global subscriber, writing to standard output; `RUST_LOG` filters
/// (default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    init_logging_to(format, filter, std::io::stdout);
}

/// Installs the global subscriber, writing each line to `writer`: the server's
/// logs exactly as they are formatted in production, wherever they go (the API
/// tests keep them in a file that is then searched for PHI). `false` when a
/// subscriber was already installed: a second call (tests start many servers in
/// one process) keeps the first.
pub fn init_logging_to<W>(format: LogFormat, filter: EnvFilter, writer: W) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    }
    .is_ok()
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The caller's request id when it is one we can log as is (1 to 64 letters,
/// digits, `-`, `_`, `.`: nothing that could forge a log line or carry data),
/// else a new one.
fn request_id(offered: Option<&HeaderValue>) -> String {
    offered
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Logs one line per request: method, route template, status, duration, under a
/// span holding the request id; and counts it in `metrics` (the worker's handles)
/// unless metrics are off.
pub async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
    metrics: Option<Rc<HttpMetrics>>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = request.method().clone();
    let id = request_id(request.headers().get(&REQUEST_ID));
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.call(request).instrument(span.clone()).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "<unmatched>".into());
    let (status, elapsed) = (response.status(), started.elapsed());
    span.in_scope(|| {
        tracing::info!(
            %method,
            route,
            status = status.as_u16(),
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        )
    });
    if let Some(metrics) = metrics {
        metrics.record(&method, route, status, elapsed);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_request_id_is_kept_and_anything_else_replaced() {
        let kept = request_id(Some(&HeaderValue::from_static("lb-7f3a.9_x")));
        assert_eq!(kept, "lb-7f3a.9_x");
        for offered in ["", "has space", "a\"quote", &"x".repeat(65)] {
            let replaced = request_id(HeaderValue::from_str(offered).ok().as_ref());
            assert_ne!(replaced, offered);
            assert_eq!(replaced.len(), 32, "{replaced}");
        }
        assert_eq!(request_id(None).len(), 32);
    }
}
