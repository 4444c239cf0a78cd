//! First planner statistics for tables that have rows but none yet.
//!
//! PostgreSQL plans a query from its tables' statistics, and a table has none until
//! its first ANALYZE: autovacuum's first pass, up to a minute (`autovacuum_naptime`)
//! after the rows arrive, or never on a database restored from a dump until that
//! pass. Without them every equality looks as if it selected one row, and the
//! identifier lookups HL7 ingestion makes for every message were planned as a walk
//! over every Patient with, for each, a walk over the Patients' index rows: on a
//! fresh database each message took longer than the one before (4 ms at the start,
//! 76 ms at the 200th). Statements kept prepared keep such a plan until statistics
//! arrive. So every few seconds this analyzes the tables of ours that hold rows and
//! have no statistics; once a table has them, autovacuum keeps them current.
//! SQLite needs none of this: without statistics it prefers the index matching most
//! columns, which is the right one here.

use std::time::Duration;

use tokio::sync::watch;

use super::Store;

/// How often to look for tables without statistics: one catalog query.
const INTERVAL: Duration = Duration::from_secs(2);

/// Looks for, and analyzes, tables without statistics until `stopped` turns true
/// (or its sender is dropped).
pub async fn run(store: Store, mut stopped: watch::Receiver<bool>) {
    while !*stopped.borrow() {
        let analyzed = match store.session().await {
            Ok(mut session) => session.analyze_tables_without_statistics().await,
            Err(error) => Err(error),
        };
        match analyzed {
            Ok(analyzed) if !analyzed.is_empty() => {
                tracing::info!(tables = %analyzed.join(","), "planner statistics gathered for tables that had none")
            }
            Ok(_) => {}
            // autovacuum gathers them in the end; nothing here is needed for answers.
            Err(error) => tracing::debug!(%error, "could not look for tables without statistics"),
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            changed = stopped.changed() => if changed.is_err() { break },
        }
    }
}
