//! `GET /metrics` as Prometheus scrapes it: real traffic first — FHIR requests
//! that succeed, miss and are refused, an HL7 message over MLLP, a claim that
//! fails over from a dead clearinghouse, jobs, webhooks in and out — then the text
//! format parsed line by line, each family checked for its type and labels, and
//! each counter for having moved by what the test did. The process-wide counters
//! are shared with tests running beside this one, so they are compared as deltas
//! of at least what this test caused; the figures read from the database at
//! scrape time are this server's own and are compared exactly. No label value
//! may carry an id the test used.

use std::time::Duration;

use claimbridge::jobs::{Job, JobError, JobRegistry};
use claimbridge_simulator_kit::Fault;
use serde_json::json;

use crate::failover::{submit_and_settle, two_clearinghouses};
use crate::helpers::{fhir_json, TestApp, TestOptions};
use crate::hl7::{admit, field, MllpClient};
use crate::prometheus_text::{parse, Exposition};
use crate::submission::ready_claim;

crate::on_both_backends!(
    with crate::metrics::OPTIONS;
    every_family_moves_with_the_traffic_that_feeds_it,
);

/// Claims go through the integration registry; `metrics.ok` is a job kind of
/// this test's own.
const OPTIONS: TestOptions = TestOptions {
    jobs: Some(metrics_kinds),
    ..TestOptions::INTEGRATIONS
};

fn metrics_kinds(jobs: &mut JobRegistry) {
    jobs.handle("metrics.ok", |_job: Job| async { Ok::<(), JobError>(()) });
}

/// A kind no node runs: a job of it stays queued.
const WAITING_KIND: &str = "metrics.waiting";

/// The latency buckets of the HTTP and MLLP histograms, as served.
const LATENCY_BOUNDS: [&str; 14] = [
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];

async fn scrape(app: &TestApp) -> Exposition {
    // Unauthenticated, as a Prometheus server scrapes it.
    let response = reqwest::get(app.server_url("/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse(&response.text().await.expect("a body"))
}

/// How much `name{labels…}` (summed over any other labels) grew between scrapes.
fn delta(before: &Exposition, after: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.sum(name, labels) - before.sum(name, labels)
}

/// Asserts a family is served with this type and exactly these label names.
fn assert_family(scraped: &Exposition, family: &str, kind: &str, labels: &[&str]) {
    assert_eq!(scraped.family_type(family), Some(kind), "the type of {family}");
    let sample_names: Vec<String> = match kind {
        "histogram" => ["_bucket", "_sum", "_count"]
            .iter()
            .map(|suffix| format!("{family}{suffix}"))
            .collect(),
        _ => vec![family.to_owned()],
    };
    let samples: Vec<_> = scraped
        .samples
        .iter()
        .filter(|sample| sample_names.contains(&sample.name))
        .collect();
    assert!(!samples.is_empty(), "{family} has samples");
    for sample in samples {
        let mut names: Vec<&str> = sample
            .labels
            .keys()
            .map(String::as_str)
            .filter(|label| *label != "le")
            .collect();
        names.sort_unstable();
        let mut expected = labels.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected, "the labels of {sample:?}");
    }
}

/// A histogram series is well formed: the latency buckets, cumulative, the last
/// equal to the count.
fn assert_histogram(scraped: &Exposition, family: &str, labels: &[(&str, &str)]) {
    let bucket = format!("{family}_bucket");
    let buckets: Vec<(String, f64)> = scraped
        .matching(&bucket, labels)
        .map(|sample| (sample.labels["le"].clone(), sample.value))
        .collect();
    let bounds: Vec<&str> = buckets.iter().map(|(le, _)| le.as_str()).collect();
    assert_eq!(bounds, LATENCY_BOUNDS, "{family} {labels:?}");
    assert!(
        buckets.windows(2).all(|pair| pair[0].1 <= pair[1].1),
        "cumulative: {buckets:?}"
    );
    let count = scraped
        .value(&format!("{family}_count"), labels)
        .expect("a count");
    assert_eq!(buckets.last().unwrap().1, count, "{family} {labels:?}");
}

async fn every_family_moves_with_the_traffic_that_feeds_it(app: &TestApp) {
    // What a waiting job and the clearinghouses look like before any traffic.
    let (primary, secondary, first, second) = two_clearinghouses(app).await;
    let waiting_job = "metrics-waiting-job-7c1";
    app.execute_sql(
        &format!(
            "INSERT INTO jobs (kind, payload, dedupe_key, status, attempts, max_attempts, run_at, created_at, updated_at) \
             VALUES ('{WAITING_KIND}', '{{}}', '{waiting_job}', 'queued', 0, 3, now() - interval '1 hour', now(), now())"
        ),
        &format!(
            "INSERT INTO jobs (kind, payload, dedupe_key, status, attempts, max_attempts, run_at, created_at, updated_at) \
             VALUES ('{WAITING_KIND}', '{{}}', '{waiting_job}', 'queued', 0, 3, \
             (strftime('%s', 'now') - 3600) * 1000000, strftime('%s', 'now') * 1000000, strftime('%s', 'now') * 1000000)"
        ),
    )
    .await;
    let before = scrape(app).await;

    // FHIR: a create, a read, a search, a read of an id that does not exist, a
    // search the server refuses, and a path no route takes.
    let patient = app
        .create(&json!({"resourceType": "Patient", "name": [{"family": "Metricsdottir"}]}))
        .await;
    let patient_id = patient["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("Patient/{patient_id}")).await.status(), 200);
    let found = fhir_json(app.get("Patient?family=Metricsdottir").await).await;
    assert_eq!(found["total"], 1, "{found}");
    let missing_id = "metrics-missing-4f2a9";
    assert_eq!(app.get(&format!("Patient/{missing_id}")).await.status(), 404);
    assert_eq!(app.get("Patient?no-such-parameter=1").await.status(), 400);
    let stray_path = "/nowhere/metrics-stray-93bd";
    let stray = app.client.get(app.server_url(stray_path)).send().await.unwrap();
    assert_eq!(stray.status(), 404);

    // HL7 v2 over MLLP: an admission, and a message whose type is not an HL7 code.
    let (control_id, mrn) = ("METRICS-ADM-1", "METRICS-MRN-55");
    let mut mllp = MllpClient::connect(app.mllp).await;
    let ack = mllp.exchange(&admit(control_id, mrn, "METRICS-VISIT-1")).await;
    assert_eq!(field(&ack, "MSA", 1), "AA", "{ack}");
    let odd_type = "MSH|^~\\&|EPIC|GOODHEALTH|CLAIMBRIDGE|BILLING|20240501120000||METRICS-P77^A01|METRICS-ODD-1|P|2.5.1\r";
    let ack = mllp.exchange(odd_type).await;
    assert_eq!(field(&ack, "MSA", 1), "AR", "{ack}");

    // A subscriber that cannot be reached, told of every claim event.
    let (status, subscription) = app
        .api_post(
            "/admin/webhooks",
            &json!({"url": "http://127.0.0.1:1/metrics-hook", "events": ["*"]}),
        )
        .await;
    assert_eq!(status, 201, "{subscription}");
    let subscription_id = subscription["id"].as_str().unwrap().to_owned();

    // A claim that finds the primary clearinghouse down and fails over.
    primary.set_fault(Fault::Down { for_duration: None }, None);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let claim_id = ready_claim(app).await;
    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "submitted", "{claim}");

    // A job of this test's own kind, and webhooks for an integration that does not
    // exist (one of a vendor there is no plugin for).
    let job = app.run_job("metrics.ok").await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let webhook = app
        .client
        .post(app.server_url("/webhooks/stripe/metrics-no-such-integration"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 404);
    let webhook = app
        .client
        .post(app.server_url("/webhooks/metrics-vendor-x/metrics-no-such-integration"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), 404);

    // The unreachable subscriber's deliveries are attempted in the background.
    let mut after = scrape(app).await;
    for _ in 0..100 {
        if delta(
            &before,
            &after,
            "claimbridge_webhook_deliveries_total",
            &[("outcome", "unreachable")],
        ) >= 1.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = scrape(app).await;
    }

    // HTTP: every request above, by route template.
    let requests = "claimbridge_http_requests_total";
    assert_family(&after, requests, "counter", &["method", "route", "status"]);
    for (method, route, status) in [
        ("POST", "/fhir/{type}", "201"),
        ("GET", "/fhir/{type}/{id}", "200"),
        ("GET", "/fhir/{type}", "200"),
        ("GET", "/fhir/{type}/{id}", "404"),
        ("GET", "/fhir/{type}", "400"),
        ("GET", "<unmatched>", "404"),
        ("POST", "/webhooks/{vendor}/{integration}", "404"),
    ] {
        let labels = [("method", method), ("route", route), ("status", status)];
        assert!(
            delta(&before, &after, requests, &labels) >= 1.0,
            "{method} {route} {status} counted"
        );
    }
    let duration = "claimbridge_http_request_duration_seconds";
    assert_family(&after, duration, "histogram", &["method", "route"]);
    let read = [("method", "GET"), ("route", "/fhir/{type}/{id}")];
    assert_histogram(&after, duration, &read);
    assert!(delta(&before, &after, &format!("{duration}_count"), &read) >= 2.0);
    assert!(delta(&before, &after, &format!("{duration}_sum"), &read) > 0.0);

    // Database pools: this server's figures, and the waits of its checkouts.
    assert_family(
        &after,
        "claimbridge_db_pool_connections",
        "gauge",
        &["pool", "state"],
    );
    assert_family(&after, "claimbridge_db_pool_max_connections", "gauge", &["pool"]);
    assert_family(&after, "claimbridge_db_pool_waiting", "gauge", &["pool"]);
    // Four connections split between the test server's two HTTP workers.
    assert_eq!(
        after.value("claimbridge_db_pool_max_connections", &[("pool", "fhir")]),
        Some(4.0)
    );
    for pool in ["fhir", "hl7", "jobs", "admin", "metrics", "audit"] {
        let max = after
            .value("claimbridge_db_pool_max_connections", &[("pool", pool)])
            .unwrap_or_else(|| panic!("pool {pool} is served"));
        let held = after.sum("claimbridge_db_pool_connections", &[("pool", pool)]);
        assert!(held <= max, "{pool}: {held} open of at most {max}");
    }
    let metrics_pool = [("pool", "metrics"), ("state", "idle")];
    assert_eq!(
        after.value("claimbridge_db_pool_connections", &metrics_pool),
        Some(1.0)
    );
    assert_family(&after, "claimbridge_db_pool_wait_seconds", "histogram", &["pool"]);
    assert!(
        delta(
            &before,
            &after,
            "claimbridge_db_pool_wait_seconds_count",
            &[("pool", "fhir")]
        ) >= 5.0,
        "each FHIR request checked a connection out"
    );

    // MLLP: the connection is still open; both messages were answered.
    assert_family(&after, "claimbridge_mllp_connections_open", "gauge", &[]);
    assert!(after.sum("claimbridge_mllp_connections_open", &[]) >= 1.0);
    assert_family(
        &after,
        "claimbridge_mllp_connections_accepted_total",
        "counter",
        &[],
    );
    assert!(
        delta(
            &before,
            &after,
            "claimbridge_mllp_connections_accepted_total",
            &[]
        ) >= 1.0
    );
    assert_family(
        &after,
        "claimbridge_mllp_messages_total",
        "counter",
        &["type", "outcome"],
    );
    let messages = "claimbridge_mllp_messages_total";
    assert!(
        delta(
            &before,
            &after,
            messages,
            &[("type", "ADT"), ("outcome", "applied")]
        ) >= 1.0
    );
    assert!(
        delta(
            &before,
            &after,
            messages,
            &[("type", "other"), ("outcome", "rejected")]
        ) >= 1.0
    );
    assert_family(&after, "claimbridge_mllp_ack_duration_seconds", "histogram", &[]);
    assert_histogram(&after, "claimbridge_mllp_ack_duration_seconds", &[]);
    assert!(
        delta(
            &before,
            &after,
            "claimbridge_mllp_ack_duration_seconds_count",
            &[]
        ) >= 2.0
    );
    drop(mllp);

    // Integrations: two failed tries on the primary (one retry), the breaker
    // opened, the secondary took the claim.
    let calls = "claimbridge_integration_calls_total";
    assert_family(&after, calls, "counter", &["vendor", "operation", "outcome"]);
    let submit = |outcome| {
        [
            ("vendor", "claimmd"),
            ("operation", "submit_claim"),
            ("outcome", outcome),
        ]
    };
    assert!(delta(&before, &after, calls, &submit("transient")) >= 2.0);
    assert!(delta(&before, &after, calls, &submit("succeeded")) >= 1.0);
    assert_eq!(
        delta(&before, &after, calls, &submit("sending")),
        0.0,
        "the mark before an upload is no call"
    );
    let submit_claim = [("vendor", "claimmd"), ("operation", "submit_claim")];
    assert_family(
        &after,
        "claimbridge_integration_retries_total",
        "counter",
        &["vendor", "operation"],
    );
    assert!(
        delta(
            &before,
            &after,
            "claimbridge_integration_retries_total",
            &submit_claim
        ) >= 1.0
    );
    assert_family(
        &after,
        "claimbridge_integration_failovers_total",
        "counter",
        &["vendor", "operation"],
    );
    assert!(
        delta(
            &before,
            &after,
            "claimbridge_integration_failovers_total",
            &submit_claim
        ) >= 1.0
    );
    let circuit = "claimbridge_integration_circuit_state";
    assert_family(&after, circuit, "gauge", &["vendor"]);
    assert_eq!(after.value(circuit, &[("vendor", "claimmd")]), Some(2.0), "open");
    assert_eq!(after.value(circuit, &[("vendor", "availity")]), Some(0.0));
    assert_eq!(after.value(circuit, &[("vendor", "stripe")]), Some(0.0));

    // Jobs: the run of `metrics.ok`; the queue as the database holds it.
    assert_family(
        &after,
        "claimbridge_job_runs_total",
        "counter",
        &["kind", "outcome"],
    );
    let ran = [("kind", "metrics.ok"), ("outcome", "succeeded")];
    assert!(delta(&before, &after, "claimbridge_job_runs_total", &ran) >= 1.0);
    assert_family(&after, "claimbridge_jobs_queued", "gauge", &["kind"]);
    assert_eq!(
        after.value("claimbridge_jobs_queued", &[("kind", WAITING_KIND)]),
        Some(1.0)
    );
    assert_eq!(
        after.value("claimbridge_jobs_queued", &[("kind", "metrics.ok")]),
        Some(0.0),
        "a kind this server runs is served without jobs"
    );
    assert_family(
        &after,
        "claimbridge_jobs_oldest_due_age_seconds",
        "gauge",
        &["kind"],
    );
    let age = after
        .value(
            "claimbridge_jobs_oldest_due_age_seconds",
            &[("kind", WAITING_KIND)],
        )
        .unwrap();
    assert!((3600.0..3900.0).contains(&age), "due an hour ago: {age}");

    // Claims: this database's one claim, submitted.
    assert_family(&after, "claimbridge_claims", "gauge", &["state"]);
    assert_eq!(
        after.value("claimbridge_claims", &[("state", "submitted")]),
        Some(1.0)
    );
    assert_eq!(
        after.value("claimbridge_claims", &[("state", "draft")]),
        Some(0.0)
    );
    assert_eq!(after.sum("claimbridge_claims", &[]), 1.0);
    assert_eq!(
        after.matching("claimbridge_claims", &[]).count(),
        11,
        "every state"
    );

    // Webhooks, out and in.
    assert_family(
        &after,
        "claimbridge_webhook_deliveries_total",
        "counter",
        &["outcome"],
    );
    assert!(
        delta(
            &before,
            &after,
            "claimbridge_webhook_deliveries_total",
            &[("outcome", "unreachable")]
        ) >= 1.0,
        "a delivery to the unreachable subscriber was attempted"
    );
    let received = "claimbridge_webhooks_received_total";
    assert_family(&after, received, "counter", &["vendor", "outcome"]);
    assert!(
        delta(
            &before,
            &after,
            received,
            &[("vendor", "stripe"), ("outcome", "not_found")]
        ) >= 1.0
    );
    assert!(
        delta(
            &before,
            &after,
            received,
            &[("vendor", "other"), ("outcome", "not_found")]
        ) >= 1.0
    );

    // Nothing this test named anything by is a label value.
    let used = [
        patient_id.as_str(),
        missing_id,
        "metrics-stray",
        control_id,
        mrn,
        "METRICS-P77",
        "METRICS-ODD",
        "metrics-vendor-x",
        "metrics-no-such-integration",
        &claim_id,
        &first,
        &second,
        &subscription_id,
        waiting_job,
        "Metricsdottir",
    ];
    for (sample, value) in after.label_values() {
        for id in used {
            assert!(!value.contains(id), "{id} is in a label of {sample:?}");
        }
    }
    primary.stop().await;
    secondary.stop().await;
}

/// A database that does not answer does not hold up the scrape: the figures read
/// from it are served as last read, and read again once it answers. (PostgreSQL
/// only: a lock there blocks readers; SQLite's readers never wait for a writer.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_database_serves_the_last_figures_within_the_bound() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

    let Some(app) = TestApp::postgres(OPTIONS).await else {
        return;
    };
    let queued = |scraped: &Exposition| scraped.value("claimbridge_jobs_queued", &[("kind", WAITING_KIND)]);
    let insert = format!(
        "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) \
         VALUES ('{WAITING_KIND}', '{{}}', 'queued', 0, 3, now(), now(), now())"
    );
    app.execute_sql(&insert, "").await;
    assert_eq!(queued(&scrape(&app).await), Some(1.0));

    // Another session takes the jobs table and adds a job without committing.
    let mut blocker = AsyncPgConnection::establish(&app.database_url)
        .await
        .expect("connect to PostgreSQL");
    blocker
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE; {insert}"
        ))
        .await
        .expect("the lock is taken");
    let started = std::time::Instant::now();
    let blocked = scrape(&app).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(queued(&blocked), Some(1.0), "the last figures");
    // The HTTP figures are served all the same.
    assert!(blocked.sum("claimbridge_http_requests_total", &[]) > 0.0);

    blocker.batch_execute("COMMIT").await.expect("commit");
    let mut latest = scrape(&app).await;
    for _ in 0..100 {
        if queued(&latest) == Some(2.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        latest = scrape(&app).await;
    }
    assert_eq!(queued(&latest), Some(2.0), "read again once the database answers");
    app.finish().await;
}
