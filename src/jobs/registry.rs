//! Which job kinds this server runs, with what code, and which recur. Built once in
//! `Application::build`, where the modules that own job kinds add theirs: a runner
//! claims only kinds it has a handler for, and the manual trigger accepts only those.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::handler::JobHandler;

/// A job enqueued once per period of `every`, whatever the number of nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub kind: String,
    pub every: Duration,
    /// The payload of each period's job (and of a manual trigger without one).
    pub payload: Value,
}

impl Schedule {
    /// When the period `now` falls in began. Periods are counted from the Unix epoch,
    /// so every node, whenever it started, agrees on them.
    pub fn period_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let every = self.every.as_millis().max(1) as i64;
        let start = now.timestamp_millis().div_euclid(every) * every;
        DateTime::from_timestamp_millis(start).unwrap_or(now)
    }

    /// The dedupe key of the period's job: the nodes that enqueue it agree on it, and
    /// an operator reading it sees which period it is for.
    pub fn dedupe_key(&self, now: DateTime<Utc>) -> String {
        format!(
            "schedule:{}:{}",
            self.kind,
            self.period_start(now)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        )
    }
}

#[derive(Default)]
pub struct JobRegistry {
    handlers: BTreeMap<String, Arc<dyn JobHandler>>,
    schedules: BTreeMap<String, Schedule>,
}

impl JobRegistry {
    pub fn new() -> Self {
        JobRegistry::default()
    }

    /// Runs jobs of `kind` with `handler`.
    ///
    /// # Panics
    /// When `kind` has a handler already: two modules claiming one kind is a wiring
    /// mistake, which every test that starts the server then reports.
    pub fn handle(&mut self, kind: &str, handler: impl JobHandler) -> &mut Self {
        let previous = self.handlers.insert(kind.to_owned(), Arc::new(handler));
        assert!(previous.is_none(), "job kind {kind:?} has two handlers");
        self
    }

    /// Enqueues a job of `kind` with `payload` once per period of `every` (each
    /// period's job deduplicated across nodes by its key, see `Schedule`).
    ///
    /// # Panics
    /// When `kind` recurs already, or `every` is under a second.
    pub fn every(&mut self, kind: &str, every: Duration, payload: Value) -> &mut Self {
        assert!(
            every >= Duration::from_secs(1),
            "job kind {kind:?} recurs more than once a second"
        );
        let schedule = Schedule {
            kind: kind.to_owned(),
            every,
            payload,
        };
        let previous = self.schedules.insert(kind.to_owned(), schedule);
        assert!(previous.is_none(), "job kind {kind:?} has two schedules");
        self
    }

    pub fn handler(&self, kind: &str) -> Option<&Arc<dyn JobHandler>> {
        self.handlers.get(kind)
    }

    /// The kinds with a handler, in name order.
    pub fn kinds(&self) -> Vec<String> {
        self.handlers.keys().cloned().collect()
    }

    pub fn schedule(&self, kind: &str) -> Option<&Schedule> {
        self.schedules.get(kind)
    }

    pub fn schedules(&self) -> impl Iterator<Item = &Schedule> {
        self.schedules.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly() -> Schedule {
        Schedule {
            kind: "era.fetch".into(),
            every: Duration::from_secs(3600),
            payload: Value::Null,
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_period_is_named_by_its_start_whenever_it_is_asked() {
        let schedule = hourly();
        let key = schedule.dedupe_key(at("2026-11-26T02:00:00Z"));
        assert_eq!(key, "schedule:era.fetch:2026-11-26T02:00:00.000Z");
        assert_eq!(schedule.dedupe_key(at("2026-11-26T02:59:59.999Z")), key);
        assert_ne!(schedule.dedupe_key(at("2026-11-26T03:00:00Z")), key);
    }

    #[test]
    #[should_panic(expected = "two handlers")]
    fn a_kind_has_one_handler() {
        let mut registry = JobRegistry::new();
        let handler = |_job| async { Ok(()) };
        registry
            .handle("claim.submit", handler)
            .handle("claim.submit", handler);
    }
}
