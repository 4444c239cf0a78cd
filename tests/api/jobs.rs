//! The durable job queue as operators and other nodes see it: the manual trigger
//! and its deduplication, status counts, lists, the runner working jobs through to
//! success, retries and the dead letter, an admin's requeue, and — working the
//! queue directly as a second and third node on the same database — leases that
//! pass on when a node stops, outcomes refused to a node that lost its lease, two
//! claimers that never share a job, and recurring jobs enqueued once per period.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use claimbridge::jobs::backoff::Backoff;
use claimbridge::jobs::{
    AfterFailure, Job, JobError, JobQueue, JobRegistry, JobRunner, JobStatus, NewJob, QueueError,
    QueueSettings, RunnerSettings, Schedule, Scheduler,
};
use claimbridge::store::Database;
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestOptions};

/// Job kinds of these tests: `test.echo` succeeds, `test.fail` fails as its payload
/// says (`retryable`, `message`), `test.panic` panics, `test.tick` recurs hourly.
fn test_kinds(jobs: &mut JobRegistry) {
    jobs.handle("test.echo", |_job: Job| async { Ok::<(), JobError>(()) })
        .handle("test.fail", |job: Job| async move {
            let message = job.payload["message"].as_str().unwrap_or("failed").to_owned();
            match job.payload["retryable"].as_bool() {
                Some(true) => Err(JobError::transient(message)),
                _ => Err(JobError::permanent(message)),
            }
        })
        .handle("test.panic", |_job: Job| async { panic!("a bug in a handler") })
        .handle("test.tick", |_job: Job| async { Ok::<(), JobError>(()) })
        .every(
            "test.tick",
            Duration::from_secs(3600),
            json!({"source": "schedule"}),
        );
}

const RUNNING: TestOptions = TestOptions {
    sandbox_gateway: false,
    jobs: Some(test_kinds),
    jobs_paused: false,
    recurring_jobs: true,
    pool_size: None,
    integrations: false,
    rate_limit: None,
    trusted_issuer: None,
    redis: None,
    fee_schedules: None,
    scrub_rules: None,
    time_zone: None,
};

/// What is enqueued stays queued, for the tests that claim jobs themselves.
const PAUSED: TestOptions = TestOptions {
    jobs_paused: true,
    ..RUNNING
};

/// The queue as another node on the test's database sees it.
async fn node(app: &TestApp) -> JobQueue {
    let database = Database::open(&app.database_url)
        .await
        .expect("the database opens");
    JobQueue::new(
        database.store(2).expect("a pool"),
        QueueSettings {
            retry: Backoff {
                base: Duration::from_millis(10),
                cap: Duration::from_secs(1),
            },
        },
    )
}

fn kinds(kinds: &[&str]) -> Vec<String> {
    kinds.iter().map(|kind| kind.to_string()).collect()
}

async fn trigger(app: &TestApp, kind: &str, body: Option<Value>) -> (u16, Value) {
    let (status, text) = app
        .api_send(
            reqwest::Method::POST,
            &format!("/api/billing/jobs/{kind}/run"),
            body.as_ref(),
        )
        .await;
    (status, serde_json::from_str(&text).expect("a JSON answer"))
}

async fn triggered(app: &TestApp, kind: &str, body: Option<Value>) -> Value {
    let (status, job) = trigger(app, kind, body).await;
    assert_eq!(status, 202, "{job}");
    job
}

async fn requeue(app: &TestApp, id: impl std::fmt::Display) -> (u16, Value) {
    let (status, text) = app
        .api_send(reqwest::Method::POST, &format!("/admin/jobs/{id}/requeue"), None)
        .await;
    (status, serde_json::from_str(&text).expect("a JSON answer"))
}

async fn list(app: &TestApp, query: &str) -> Value {
    let (status, page) = app.api_get(&format!("/api/billing/jobs?{query}")).await;
    assert_eq!(status, 200, "{page}");
    page
}

async fn job(app: &TestApp, id: &Value) -> Value {
    let page = list(app, "limit=500").await;
    page["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["id"] == *id)
        .cloned()
        .unwrap_or_else(|| panic!("job {id} is listed"))
}

/// The job once `done` holds for it (within ten seconds).
async fn job_when(app: &TestApp, id: &Value, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let job = job(app, id).await;
        if done(&job) {
            return job;
        }
        assert!(std::time::Instant::now() < deadline, "job never got there: {job}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn kind_status(app: &TestApp, kind: &str) -> Value {
    let (status, answer) = app.api_get("/api/billing/jobs/status").await;
    assert_eq!(status, 200, "{answer}");
    answer["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["kind"] == kind)
        .cloned()
        .unwrap_or_else(|| panic!("no status of {kind}: {answer}"))
}

mod paused {
    use super::*;

    crate::on_both_backends!(with crate::jobs::PAUSED;
        a_trigger_enqueues_one_job_while_it_waits,
        status_counts_and_lists_by_kind_and_status,
        a_lapsed_lease_passes_to_another_node_which_alone_records_the_outcome,
        a_lease_lapsing_on_the_last_attempt_makes_the_job_dead,
        failed_attempts_are_retried_until_the_job_is_dead,
        an_admin_requeues_a_dead_job_and_only_a_dead_one,
        two_claimers_never_claim_the_same_job,
        a_recurring_job_is_enqueued_once_per_period_by_any_number_of_nodes,
        a_running_job_keeps_its_lease_and_a_stopping_node_finishes_it,
        a_running_job_taken_over_by_another_node_is_stopped,
    );

    /// A `test.slow` job, enqueued by another node, running on a runner of its own.
    struct SlowRun {
        /// The node that enqueued it.
        other: JobQueue,
        id: claimbridge::jobs::JobId,
        stop: tokio::sync::watch::Sender<bool>,
        running: tokio::task::JoinHandle<()>,
    }

    /// Starts a runner of `registry` under `lease` on its own node, enqueues a
    /// `test.slow` job from another, and waits until the runner is running it.
    async fn run_slow_job(app: &TestApp, registry: JobRegistry, lease: Duration) -> SlowRun {
        let settings = RunnerSettings {
            poll_interval: Duration::from_millis(20),
            concurrency: 1,
            lease,
            recurring: false,
        };
        let runner = JobRunner::new(node(app).await, Arc::new(registry), settings);
        let other = node(app).await;
        let id = other
            .enqueue(NewJob::new("test.slow", json!({})))
            .await
            .unwrap()
            .job
            .id;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let running = tokio::spawn(runner.run(stopped));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while other.get(id).await.unwrap().unwrap().status != JobStatus::Running {
            assert!(std::time::Instant::now() < deadline, "the runner claims the job");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        SlowRun {
            other,
            id,
            stop,
            running,
        }
    }

    /// Sets, when dropped, that its handler's run was stopped.
    struct Stopped(Arc<std::sync::atomic::AtomicBool>);

    impl Drop for Stopped {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    async fn a_running_job_taken_over_by_another_node_is_stopped(app: &TestApp) {
        use std::sync::atomic::{AtomicBool, Ordering};
        // The job waits for the test, then says it went on.
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let (stopped, went_on) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let mut registry = JobRegistry::new();
        let (held, on_stop, on_going) = (Arc::clone(&gate), Arc::clone(&stopped), Arc::clone(&went_on));
        registry.handle("test.slow", move |_job: Job| {
            let (gate, on_stop, on_going) = (Arc::clone(&held), Arc::clone(&on_stop), Arc::clone(&on_going));
            async move {
                let _dropped = Stopped(on_stop);
                let _go = gate.acquire().await;
                on_going.store(true, Ordering::SeqCst);
                Ok::<(), JobError>(())
            }
        });
        let SlowRun {
            other,
            id,
            stop,
            running,
        } = run_slow_job(app, registry, Duration::from_millis(300)).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);

        // The runner's node misses its renewals (here: its lease is made to lapse)
        // and another node takes the job over.
        let slow = kinds(&["test.slow"]);
        let mut taken = Vec::new();
        while taken.is_empty() {
            assert!(std::time::Instant::now() < deadline, "node B takes the job over");
            app.execute_sql(
                "UPDATE jobs SET lease_until = now() - interval '1 hour'",
                "UPDATE jobs SET lease_until = 0",
            )
            .await;
            taken = other
                .claim("node-b", &slow, 1, Duration::from_secs(60))
                .await
                .unwrap();
        }
        assert_eq!(taken[0].attempts, 2);

        // The first run is stopped at its next renewal, and never goes on.
        while !stopped.load(Ordering::SeqCst) {
            assert!(
                std::time::Instant::now() < deadline,
                "the run whose lease was taken over is stopped"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        gate.add_permits(1);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!went_on.load(Ordering::SeqCst));
        // Node B's run is the job's: its outcome is the one kept.
        other.complete(&taken[0].lease().unwrap()).await.unwrap();
        let done = other.get(id).await.unwrap().unwrap();
        assert_eq!((done.status, done.attempts), (JobStatus::Succeeded, 2));
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), running)
            .await
            .expect("the runner stops")
            .unwrap();
    }

    async fn a_running_job_keeps_its_lease_and_a_stopping_node_finishes_it(app: &TestApp) {
        // The job runs until the test lets it finish.
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let mut registry = JobRegistry::new();
        let held = Arc::clone(&gate);
        registry.handle("test.slow", move |_job: Job| {
            let gate = Arc::clone(&held);
            async move {
                let _finish = gate.acquire().await;
                Ok::<(), JobError>(())
            }
        });
        let lease = Duration::from_millis(500);
        let SlowRun {
            other,
            id,
            stop,
            running,
        } = run_slow_job(app, registry, lease).await;

        // Well past its first lease the job is still the runner's: renewed, not free.
        tokio::time::sleep(lease * 2 + lease / 2).await;
        let slow = kinds(&["test.slow"]);
        assert!(other
            .claim("node-b", &slow, 1, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty());
        let job = other.get(id).await.unwrap().unwrap();
        assert_eq!((job.status, job.attempts), (JobStatus::Running, 1));

        // Asked to stop, the runner waits for its running job, then records it.
        stop.send(true).unwrap();
        tokio::time::sleep(lease).await;
        assert!(!running.is_finished(), "the runner waits for its job");
        gate.add_permits(1);
        tokio::time::timeout(Duration::from_secs(10), running)
            .await
            .expect("the runner stops")
            .unwrap();
        let done = other.get(id).await.unwrap().unwrap();
        assert_eq!((done.status, done.attempts), (JobStatus::Succeeded, 1));
    }

    async fn a_trigger_enqueues_one_job_while_it_waits(app: &TestApp) {
        let first = triggered(app, "test.echo", None).await;
        assert_eq!(first["kind"], "test.echo");
        assert_eq!(first["status"], "queued");
        assert_eq!(first["payload"], json!({}));
        assert_eq!(first["attempts"], 0);
        assert_eq!(first["maxAttempts"], 5);
        assert_eq!(first["dedupeKey"], "manual:test.echo");
        let again = triggered(app, "test.echo", None).await;
        assert_eq!(again["id"], first["id"], "pressed twice, run once");

        // A recurring kind run by hand gets its schedule's payload.
        let tick = triggered(app, "test.tick", Some(json!({}))).await;
        assert_eq!(tick["payload"], json!({"source": "schedule"}));

        // With a payload, only a dedupe key deduplicates.
        let claim = json!({"payload": {"claim": "c-1"}, "dedupeKey": "submit:c-1"});
        let submit = triggered(app, "test.echo", Some(claim.clone())).await;
        assert_eq!(submit["payload"], json!({"claim": "c-1"}));
        assert_eq!(triggered(app, "test.echo", Some(claim)).await["id"], submit["id"]);
        let unkeyed = json!({"payload": {"claim": "c-2"}});
        let one = triggered(app, "test.echo", Some(unkeyed.clone())).await;
        let other = triggered(app, "test.echo", Some(unkeyed)).await;
        assert_ne!(one["id"], other["id"]);
        assert_eq!(one["dedupeKey"], Value::Null);

        let (status, answer) = trigger(app, "claim.teleport", None).await;
        assert_eq!(status, 404, "{answer}");
        let (status, answer) = trigger(app, "test.echo", Some(json!({"payload": {}, "priority": 1}))).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(kind_status(app, "test.echo").await["queued"], 4);
    }

    async fn status_counts_and_lists_by_kind_and_status(app: &TestApp) {
        let fresh = kind_status(app, "test.fail").await;
        assert_eq!(
            fresh,
            json!({"kind": "test.fail", "queued": 0, "running": 0, "succeeded": 0, "dead": 0,
                   "oldestQueuedSecs": null}),
            "registered kinds are listed before they have jobs"
        );
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(triggered(app, "test.echo", Some(json!({"payload": {"n": n}}))).await["id"].clone());
        }
        let queue = node(app).await;
        let claimed = queue
            .claim("node-a", &kinds(&["test.echo"]), 2, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2);
        queue.complete(&claimed[0].lease().unwrap()).await.unwrap();
        let echo = kind_status(app, "test.echo").await;
        assert_eq!(
            (&echo["queued"], &echo["running"], &echo["succeeded"]),
            (&json!(3), &json!(1), &json!(1))
        );
        assert!(
            echo["oldestQueuedSecs"].as_i64().is_some_and(|secs| secs >= 0),
            "{echo}"
        );

        let page = list(app, "status=queued&kind=test.echo&limit=2").await;
        let listed: Vec<&Value> = page["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|job| &job["id"])
            .collect();
        assert_eq!(listed, [&ids[4], &ids[3]], "newest first");
        let next = list(
            app,
            &format!(
                "status=queued&kind=test.echo&limit=2&before={}",
                page["nextBefore"]
            ),
        )
        .await;
        assert_eq!(next["jobs"].as_array().unwrap().len(), 1);
        assert_eq!(next["nextBefore"], Value::Null);
        assert_eq!(
            list(app, "status=succeeded").await["jobs"][0]["id"],
            json!(claimed[0].id)
        );
        assert!(list(app, "kind=test.fail").await["jobs"]
            .as_array()
            .unwrap()
            .is_empty());
        let (status, answer) = app.api_get("/api/billing/jobs?status=lost").await;
        assert_eq!(status, 400, "{answer}");
    }

    async fn a_lapsed_lease_passes_to_another_node_which_alone_records_the_outcome(app: &TestApp) {
        let id = triggered(app, "test.echo", None).await["id"].clone();
        let (a, b) = (node(app).await, node(app).await);
        let echo = kinds(&["test.echo"]);
        let claimed_by_a = a
            .claim("node-a", &echo, 10, Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(claimed_by_a.len(), 1);
        let lease_a = claimed_by_a[0].lease().unwrap();
        assert_eq!(lease_a.attempt, 1);
        assert!(
            b.claim("node-b", &echo, 10, Duration::from_secs(60))
                .await
                .unwrap()
                .is_empty(),
            "the lease holds"
        );

        // Node A stops answering; its lease lapses and B takes the job over.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let claimed_by_b = b
            .claim("node-b", &echo, 10, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(claimed_by_b.len(), 1);
        assert_eq!(json!(claimed_by_b[0].id), id);
        assert_eq!(claimed_by_b[0].attempts, 2);
        let lease_b = claimed_by_b[0].lease().unwrap();

        // A comes back: whatever it says is refused, and changes nothing.
        assert!(matches!(
            a.complete(&lease_a).await,
            Err(QueueError::LeaseLost(_))
        ));
        let failure = JobError::permanent("late");
        assert!(matches!(
            a.fail(&lease_a, &failure).await,
            Err(QueueError::LeaseLost(_))
        ));
        assert!(matches!(
            a.extend_lease(&lease_a, Duration::from_secs(60)).await,
            Err(QueueError::LeaseLost(_))
        ));
        let running = job(app, &id).await;
        assert_eq!(
            (&running["status"], &running["leaseOwner"]),
            (&json!("running"), &json!("node-b"))
        );

        b.extend_lease(&lease_b, Duration::from_secs(60)).await.unwrap();
        b.complete(&lease_b).await.unwrap();
        let done = job(app, &id).await;
        assert_eq!(done["status"], "succeeded");
        assert_eq!(done["attempts"], 2);
        assert_eq!(
            done["lastError"],
            Value::Null,
            "A's late failure was not recorded"
        );
        assert!(done["finishedAt"].is_string());
        assert!(matches!(
            a.complete(&lease_a).await,
            Err(QueueError::LeaseLost(_))
        ));
    }

    async fn a_lease_lapsing_on_the_last_attempt_makes_the_job_dead(app: &TestApp) {
        let queue = node(app).await;
        let enqueued = queue
            .enqueue(NewJob::new("test.echo", json!({})).max_attempts(1))
            .await
            .unwrap();
        let echo = kinds(&["test.echo"]);
        let claimed = queue
            .claim("node-a", &echo, 1, Duration::from_millis(50))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(queue
            .claim("node-b", &echo, 1, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty());
        let dead = queue.get(enqueued.job.id).await.unwrap().unwrap();
        assert_eq!(dead.status, JobStatus::Dead);
        assert!(dead.last_error.unwrap().contains("lease lapsed"));
    }

    async fn failed_attempts_are_retried_until_the_job_is_dead(app: &TestApp) {
        let queue = node(app).await;
        let enqueued = queue
            .enqueue(NewJob::new("test.fail", json!({})).max_attempts(2))
            .await
            .unwrap();
        let fail = kinds(&["test.fail"]);
        let timeout = JobError::transient("clearinghouse timeout");

        let first = queue
            .claim("node-a", &fail, 1, Duration::from_secs(60))
            .await
            .unwrap();
        let before = chrono::Utc::now();
        let AfterFailure::Retrying(run_at) = queue.fail(&first[0].lease().unwrap(), &timeout).await.unwrap()
        else {
            panic!("an attempt is left");
        };
        // Full jitter below the first ceiling (10 ms here).
        assert!(run_at >= before && run_at <= chrono::Utc::now() + chrono::Duration::milliseconds(10));
        let retrying = queue.get(enqueued.job.id).await.unwrap().unwrap();
        assert_eq!(retrying.status, JobStatus::Queued);
        assert_eq!(retrying.last_error.as_deref(), Some("clearinghouse timeout"));

        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = queue
            .claim("node-a", &fail, 1, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(second[0].attempts, 2);
        let after = queue.fail(&second[0].lease().unwrap(), &timeout).await.unwrap();
        assert_eq!(after, AfterFailure::Dead, "attempts spent");
        let dead = queue.get(enqueued.job.id).await.unwrap().unwrap();
        assert_eq!(dead.status, JobStatus::Dead);
        assert!(dead.finished_at.is_some());
    }

    async fn an_admin_requeues_a_dead_job_and_only_a_dead_one(app: &TestApp) {
        let queue = node(app).await;
        let fail = kinds(&["test.fail"]);
        let body = json!({"payload": {"claim": "c-9"}, "dedupeKey": "submit:c-9"});
        let id = triggered(app, "test.fail", Some(body.clone())).await["id"].clone();
        let claimed = queue
            .claim("node-a", &fail, 1, Duration::from_secs(60))
            .await
            .unwrap();
        let rejected = JobError::permanent("payer id unknown to the clearinghouse");
        let after = queue.fail(&claimed[0].lease().unwrap(), &rejected).await.unwrap();
        assert_eq!(after, AfterFailure::Dead, "a final failure is not retried");
        let (status, answer) = requeue(app, &json!(claimed[0].id)).await;
        assert_eq!(json!(claimed[0].id), id);

        // Dead: requeued, due now, with all its attempts and the last error kept.
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["status"], "queued");
        assert_eq!(answer["attempts"], 0);
        assert_eq!(answer["finishedAt"], Value::Null);
        assert_eq!(answer["lastError"], "payer id unknown to the clearinghouse");
        let (status, answer) = requeue(app, &id).await;
        assert_eq!(status, 409, "queued is not dead: {answer}");

        // Dead again, but its key is taken by a newer job: requeueing would run the
        // same work twice at once.
        let claimed = queue
            .claim("node-a", &fail, 1, Duration::from_secs(60))
            .await
            .unwrap();
        queue.fail(&claimed[0].lease().unwrap(), &rejected).await.unwrap();
        let newer = triggered(app, "test.fail", Some(body)).await;
        assert_ne!(newer["id"], id, "a dead job frees its dedupe key");
        let (status, answer) = requeue(app, &id).await;
        assert_eq!(status, 409, "{answer}");
        assert_eq!(job(app, &id).await["status"], "dead");

        let (status, _) = requeue(app, &json!(987_654)).await;
        assert_eq!(status, 404);
        let (status, _) = requeue(app, "not-a-number").await;
        assert_eq!(status, 404);
    }

    async fn two_claimers_never_claim_the_same_job(app: &TestApp) {
        const JOBS: usize = 300;
        let seed = node(app).await;
        for n in 0..JOBS {
            seed.enqueue(NewJob::new("test.echo", json!({"n": n})))
                .await
                .unwrap();
        }
        let echo = Arc::new(kinds(&["test.echo"]));
        let mut claimers = Vec::new();
        for owner in ["node-a", "node-b"] {
            let (queue, echo) = (Arc::new(node(app).await), Arc::clone(&echo));
            claimers.push(tokio::spawn(async move {
                let mut claimed = Vec::new();
                loop {
                    let jobs = queue
                        .claim(owner, &echo, 7, Duration::from_secs(60))
                        .await
                        .unwrap();
                    if jobs.is_empty() {
                        return claimed;
                    }
                    for job in jobs {
                        queue.complete(&job.lease().unwrap()).await.unwrap();
                        claimed.push((job.id, job.attempts));
                    }
                }
            }));
        }
        let mut all = Vec::new();
        for claimer in claimers {
            let claimed = claimer.await.unwrap();
            assert!(!claimed.is_empty(), "both claimers took part");
            all.extend(claimed);
        }
        let distinct: BTreeSet<_> = all.iter().map(|(id, _)| *id).collect();
        assert_eq!(all.len(), JOBS, "every job claimed once");
        assert_eq!(distinct.len(), JOBS, "no job claimed twice");
        assert!(all.iter().all(|(_, attempts)| *attempts == 1));
        assert_eq!(kind_status(app, "test.echo").await["succeeded"], JOBS);
    }

    async fn a_recurring_job_is_enqueued_once_per_period_by_any_number_of_nodes(app: &TestApp) {
        let hourly = Schedule {
            kind: "test.hourly".into(),
            every: Duration::from_secs(3600),
            payload: json!({"fetch": "era"}),
        };
        let (a, b) = (node(app).await, node(app).await);
        let now = chrono::Utc::now();
        let mut on_a = Scheduler::new([&hourly]);
        let mut on_b = Scheduler::new([&hourly]);
        let enqueued = on_a.tick(&a, now).await.unwrap() + on_b.tick(&b, now).await.unwrap();
        assert_eq!(enqueued, 1);

        // Run it; a node started later in the same period does not enqueue it again.
        let claimed = a
            .claim("node-a", &kinds(&["test.hourly"]), 5, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].payload, json!({"fetch": "era"}));
        a.complete(&claimed[0].lease().unwrap()).await.unwrap();
        let mut restarted = Scheduler::new([&hourly]);
        assert_eq!(restarted.tick(&b, now).await.unwrap(), 0);

        let next_hour = now + chrono::Duration::hours(1);
        assert_eq!(on_b.tick(&b, next_hour).await.unwrap(), 1);
        assert_eq!(on_a.tick(&a, next_hour).await.unwrap(), 0);
        let jobs = list(app, "kind=test.hourly").await;
        let keys: Vec<&str> = jobs["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["dedupeKey"].as_str().unwrap())
            .collect();
        assert_eq!(keys, [hourly.dedupe_key(next_hour), hourly.dedupe_key(now)]);
    }
}

mod running {
    use super::*;

    crate::on_both_backends!(with crate::jobs::RUNNING;
        the_runner_runs_triggered_and_recurring_jobs,
        the_runner_retries_transient_failures_and_buries_final_ones,
    );

    async fn the_runner_runs_triggered_and_recurring_jobs(app: &TestApp) {
        let id = triggered(app, "test.echo", Some(json!({"payload": {"n": 1}}))).await["id"].clone();
        let done = job_when(app, &id, |job| job["status"] == "succeeded").await;
        assert_eq!(done["attempts"], 1);
        assert!(done["leaseOwner"].as_str().unwrap().starts_with("node-"));
        assert_eq!(done["leaseUntil"], Value::Null);

        // The server enqueued this hour's tick when it started, and ran it.
        let ticks = list(app, "kind=test.tick").await;
        let tick = &ticks["jobs"][0];
        assert!(
            tick["dedupeKey"]
                .as_str()
                .unwrap()
                .starts_with("schedule:test.tick:"),
            "{ticks}"
        );
        let tick = job_when(app, &tick["id"], |job| job["status"] == "succeeded").await;
        assert_eq!(tick["payload"], json!({"source": "schedule"}));
        assert_eq!(kind_status(app, "test.tick").await["succeeded"], 1);
    }

    async fn the_runner_retries_transient_failures_and_buries_final_ones(app: &TestApp) {
        let flaky = json!({"payload": {"retryable": true, "message": "clearinghouse timeout"}});
        let flaky = triggered(app, "test.fail", Some(flaky)).await["id"].clone();
        let rejected = json!({"payload": {"retryable": false, "message": "rejected"}});
        let rejected = triggered(app, "test.fail", Some(rejected)).await["id"].clone();
        let panicking = triggered(app, "test.panic", None).await["id"].clone();

        let flaky = job_when(app, &flaky, |job| job["status"] == "dead").await;
        assert_eq!(flaky["attempts"], 5, "every attempt used");
        assert_eq!(flaky["lastError"], "clearinghouse timeout");
        let dead = job_when(app, &rejected, |job| job["status"] == "dead").await;
        assert_eq!(dead["attempts"], 1, "a final failure is not retried");
        let panicked = job_when(app, &panicking, |job| job["status"] == "dead").await;
        assert_eq!(panicked["lastError"], "the job's handler panicked");
        assert_eq!(panicked["attempts"], 5);

        let dead_list = list(app, "status=dead&kind=test.fail").await;
        assert_eq!(dead_list["jobs"].as_array().unwrap().len(), 2);

        // Requeued, the job runs again (and, still rejected, dies again).
        let (status, answer) = requeue(app, &rejected).await;
        assert_eq!(status, 200, "{answer}");
        let again = job_when(app, &rejected, |job| {
            job["status"] == "dead" && job["updatedAt"] != dead["updatedAt"]
        })
        .await;
        assert_eq!(again["attempts"], 1);
        assert_eq!(kind_status(app, "test.fail").await["dead"], 2);
    }
}
