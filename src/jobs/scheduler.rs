//! Enqueues recurring jobs: each schedule's job once per period. Every node runs a
//! scheduler; the period's dedupe key (see `Schedule::dedupe_key`) makes the first
//! node's enqueue the only one, even after that job has finished. A node remembers
//! the periods it has seen, so it asks the database once per period, not per poll.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::job::NewJob;
use super::queue::{JobQueue, QueueError};
use super::registry::Schedule;

pub struct Scheduler {
    schedules: Vec<Schedule>,
    /// Kind → the start of the last period whose job is known to be enqueued.
    seen: HashMap<String, DateTime<Utc>>,
}

impl Scheduler {
    pub fn new<'a>(schedules: impl IntoIterator<Item = &'a Schedule>) -> Self {
        Scheduler {
            schedules: schedules.into_iter().cloned().collect(),
            seen: HashMap::new(),
        }
    }

    /// Enqueues the job of the period `now` falls in for each schedule whose period
    /// this scheduler has not seen yet, unless a node did already. Returns how many
    /// it enqueued itself. A schedule whose enqueue fails is tried again next tick.
    pub async fn tick(&mut self, queue: &JobQueue, now: DateTime<Utc>) -> Result<usize, QueueError> {
        let mut enqueued = 0;
        for schedule in &self.schedules {
            let period = schedule.period_start(now);
            if self.seen.get(&schedule.kind) == Some(&period) {
                continue;
            }
            let job = NewJob::new(schedule.kind.clone(), schedule.payload.clone())
                .dedupe_key(schedule.dedupe_key(now))
                .run_at(period);
            if queue.enqueue_once(job).await? {
                enqueued += 1;
            }
            self.seen.insert(schedule.kind.clone(), period);
        }
        Ok(enqueued)
    }
}
