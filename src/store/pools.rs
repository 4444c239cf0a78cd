//! The connection pools a `Database` has made, each under the purpose it serves
//! (`fhir`, `admin`, `jobs`, …), so that `/metrics` can say how full each kind is.
//! Only weak references are kept: a pool lives as long as the `Store` that owns
//! it, and one dropped since is forgotten at the next reading.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// How full the pools of one purpose are, summed over its pools (each HTTP worker
/// has a pool of its own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolFigures {
    /// Connections handed out: a session holds each.
    pub in_use: usize,
    /// Connections open and free.
    pub idle: usize,
    /// The most connections the pools may open.
    pub max: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

impl PoolFigures {
    /// From a deadpool status (`max_size`, `size`, `available`, `waiting`):
    /// `available` counts open, unclaimed connections.
    pub(crate) fn of(max_size: usize, size: usize, available: usize, waiting: usize) -> Self {
        PoolFigures {
            in_use: size.saturating_sub(available),
            idle: available,
            max: max_size,
            waiting,
        }
    }

    fn add(&mut self, other: PoolFigures) {
        self.in_use += other.in_use;
        self.idle += other.idle;
        self.max += other.max;
        self.waiting += other.waiting;
    }
}

/// Reads one pool, or `None` once it is gone.
type Probe = Box<dyn Fn() -> Option<PoolFigures> + Send + Sync>;

#[derive(Default)]
pub(crate) struct PoolRegistry {
    probes: Mutex<Vec<(&'static str, Probe)>>,
}

impl PoolRegistry {
    pub(crate) fn note(&self, purpose: &'static str, probe: Probe) {
        self.lock().push((purpose, probe));
    }

    /// Every live pool's figures, summed by purpose.
    pub(crate) fn figures(&self) -> BTreeMap<&'static str, PoolFigures> {
        let mut by_purpose = BTreeMap::new();
        self.lock().retain(|(purpose, probe)| match probe() {
            Some(figures) => {
                by_purpose
                    .entry(*purpose)
                    .or_insert_with(PoolFigures::default)
                    .add(figures);
                true
            }
            None => false,
        });
        by_purpose
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(&'static str, Probe)>> {
        self.probes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn pools_of_one_purpose_add_up_and_dropped_ones_are_forgotten() {
        let registry = PoolRegistry::default();
        let alive = Arc::new(());
        let weak = Arc::downgrade(&alive);
        registry.note(
            "fhir",
            Box::new(move || weak.upgrade().map(|_| PoolFigures::of(4, 3, 1, 0))),
        );
        registry.note("fhir", Box::new(|| Some(PoolFigures::of(4, 4, 0, 2))));
        registry.note("admin", Box::new(|| Some(PoolFigures::of(2, 0, 0, 0))));
        let figures = registry.figures();
        assert_eq!(
            figures["fhir"],
            PoolFigures {
                in_use: 6,
                idle: 1,
                max: 8,
                waiting: 2
            }
        );
        assert_eq!(figures["admin"].max, 2);

        drop(alive);
        assert_eq!(registry.figures()["fhir"].max, 4);
        assert_eq!(registry.lock().len(), 2);
    }
}
