//! HTTP requests: a counter by method, route template and status, and a latency
//! histogram by method and route template. The route is actix's template
//! (`/fhir/{type}/{id}`), or `<unmatched>`: never the path, which holds ids.
//!
//! Recording costs one hash lookup per request: each worker keeps the handles it
//! has used, by route, so the registry's own (locked, hashing every label) lookup
//! happens once per route, method and status.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use prometheus::{
    register_histogram_vec, register_int_counter_vec, Histogram, HistogramVec, IntCounter, IntCounterVec,
};

use super::LATENCY_BUCKETS;

static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "claimbridge_http_requests_total",
        "HTTP requests answered, by method, route template and status",
        &["method", "route", "status"]
    )
    .expect("metric registered once")
});

static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "claimbridge_http_request_duration_seconds",
        "Time from a request's arrival to its answer's headers, by method and route template",
        &["method", "route"],
        LATENCY_BUCKETS.to_vec()
    )
    .expect("metric registered once")
});

/// One HTTP worker's handles (actix runs each worker on a thread of its own, so
/// nothing here is shared or locked).
#[derive(Default)]
pub struct HttpMetrics {
    by_route: RefCell<HashMap<String, Vec<Handles>>>,
}

/// The series of one method and status of a route.
struct Handles {
    method: &'static str,
    status: StatusCode,
    requests: IntCounter,
    duration: Histogram,
}

impl HttpMetrics {
    /// Counts one answered request; `route` is its template.
    pub fn record(&self, method: &Method, route: String, status: StatusCode, elapsed: Duration) {
        let method = method_label(method);
        let seconds = elapsed.as_secs_f64();
        let mut by_route = self.by_route.borrow_mut();
        let known = by_route
            .get(&route)
            .and_then(|handles| handles.iter().find(|h| h.method == method && h.status == status));
        if let Some(handles) = known {
            handles.requests.inc();
            handles.duration.observe(seconds);
            return;
        }
        let handles = Handles {
            method,
            status,
            requests: REQUESTS.with_label_values(&[method, &route, status.as_str()]),
            duration: DURATION.with_label_values(&[method, &route]),
        };
        handles.requests.inc();
        handles.duration.observe(seconds);
        by_route.entry(route).or_default().push(handles);
    }
}

/// The method's name, or `other` for an extension method: a client can send any
/// token there, and each would be a new series.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::from_bytes(b"PROPFIND").unwrap()), "other");
    }
}
