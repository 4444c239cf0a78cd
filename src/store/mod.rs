//! Durable storage of FHIR resources: one API over PostgreSQL (production) and an
//! embedded SQLite file (the zero-install default).
//!
//! The query code lives once in `ops.rs` and is compiled for each backend's
//! connection type; `Store` picks the backend from the database URL and dispatches.
//! SQLite allows one writer at a time, so writes there are queued on a mutex instead
//! of failing with "database is locked".

pub mod attempts;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod dashboard;
pub mod denials;
pub mod identity_hash;
pub mod inbound;
pub mod integrations;
pub mod jobs;
mod jobs_rows;
pub mod messages;
pub mod model;
pub mod pools;
pub mod remittance;
mod rows;
mod schema;
pub mod search;
pub(crate) mod sql_types;
mod staged_write;
mod statement;
pub mod statistics;
mod token_hash;
mod unnest;
pub mod webhook_subscriptions;
mod webhook_subscriptions_rows;
pub mod worklist;

use std::path::Path;
use std::sync::Arc;

use chrono::SubsecRound;
use diesel::sqlite::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures_util::FutureExt;
use tokio::sync::{Mutex, OwnedMutexGuard};
use tracing::Instrument;

use crate::cache::{CacheHandle, ResourceCache};
use crate::jobs::JobWake;

use attempts::{AttemptFilter, AttemptRecord};
use billing::{ClaimStateRow, NewBillingClaim, StateChange};
use dashboard::{KpiFigures, KpiQuery};
use denials::{DenialFilter, DenialRecord, NewDenialRecord, Resolution};
use inbound::{NewWebhookEvent, PatientPayment};
use integrations::{IntegrationRecord, SealedColumns};
use jobs::{
    ClaimRequest, JobCount, JobFilter, JobId, JobRecord, Lease, NewJobRecord, QueuedJobs, Settlement,
};
use messages::{FinishedMessage, MessageFilter, MessageOutcome, NewMessage, StoredMessage};
use model::{
    CurrentResource, FoundResource, HistoryEntry, HistoryQuery, NewVersion, RenderedVersion, StagedCreate,
    Tenant, WriteMethod, WriteOutcome, WriteRequest,
};
use remittance::{
    LedgerAmount, NewLedgerEntry, NewRemittance, NewUnmatchedClaim, RemittanceFilter, RemittanceSummary,
    UnmatchedClaim,
};
use search::SearchQuery;
use webhook_subscriptions::{
    DeliveryRecord, SessionTargets, SubscriberPresence, SubscriptionRecord, WebhookTarget,
};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How often a write is retried when a concurrent writer took the same version.
const WRITE_ATTEMPTS: usize = 3;

/// Calls the same `ops` function on whichever backend the session is on. The
/// connection is borrowed from its field alone, so the arguments may borrow the
/// session's other fields (its tenant). Each call runs in a debug-level `db` span
/// named after the operation: off at the default `info`, where it costs one
/// check of a cached flag.
macro_rules! on_session {
    ($session:expr, $op:ident($($arg:expr),*)) => {{
        let span = db_span(stringify!($op));
        match $session.conn.as_mut().expect("a session has its connection until dropped") {
            SessionConn::Postgres(conn) => postgres::$op(conn, $($arg),*).instrument(span).await,
            SessionConn::Sqlite(conn) => sqlite::$op(conn, $($arg),*).instrument(span).await,
        }
    }};
}

/// Reads a deadpool pool's status for `PoolRegistry` through a weak reference (a
/// macro: the pool type differs per backend, and deadpool's status type cannot be
/// named here).
macro_rules! pool_probe {
    ($pool:expr) => {{
        let weak = $pool.weak();
        Box::new(move || {
            let status = weak.upgrade()?.status();
            Some(pools::PoolFigures::of(
                status.max_size,
                status.size,
                status.available,
                status.waiting,
            ))
        })
    }};
}

/// The span of one database operation: its name only, never its arguments (they
/// hold ids and search values).
fn db_span(op: &'static str) -> tracing::Span {
    tracing::debug_span!("db", op)
}

mod postgres {
    pub type Conn = diesel_async::AsyncPgConnection;

    use crate::store::messages::FinishedMessage;
    use crate::store::rows::staged_history_rows;
    use crate::store::staged_write::{StagedWrite, REFUSED_FOREIGN_REFERENCE, REFUSED_MESSAGE_NOT_RECORDED};
    use crate::store::LockMode;

    /// Rows per INSERT: PostgreSQL takes at most 65,535 bind parameters per
    /// statement, and no table here has more than 10 columns. (The UNNEST inserts
    /// bind one array per column whatever the row count; they split at the same
    /// size only to keep each statement's arrays moderate.)
    const ROWS_PER_INSERT: usize = 5000;

    /// Statements sent at once on the connection (pipelined): PostgreSQL still runs
    /// them one after another, in order, but the round trips overlap. Each is
    /// `$statement` with `$conn` bound to a shared reference to the connection.
    macro_rules! execute_together {
        ($conn:expr, |$c:ident| [$($statement:expr),+ $(,)?]) => {{
            let shared: &Conn = $conn;
            let mut pending: Vec<futures_util::future::BoxFuture<'_, diesel::QueryResult<usize>>> =
                Vec::new();
            $({
                let mut copy = shared;
                let $c = &mut copy;
                pending.push($statement);
            })+
            futures_util::future::try_join_all(pending).await?;
        }};
    }

    /// Each of `$rows`' chunks inserted by the statement `$insert` makes of
    /// `$chunk`, all pipelined (see `execute_together!`).
    macro_rules! insert_chunks_together {
        ($conn:expr, |$chunk:ident| [$($insert:expr => $rows:expr),+ $(,)?]) => {{
            let shared: &Conn = $conn;
            let mut pending: Vec<futures_util::future::BoxFuture<'_, diesel::QueryResult<usize>>> =
                Vec::new();
            $(
                let rows = $rows;
                for $chunk in rows.chunks(ROWS_PER_INSERT) {
                    let mut conn = shared;
                    pending.push($insert.execute(&mut conn));
                }
            )+
            futures_util::future::try_join_all(pending)
                .await
                .map_err(race_on_unique_violation)?;
        }};
    }

    /// Multi-row INSERTs into several tables, pipelined.
    macro_rules! insert_together {
        ($conn:expr, [$($table:ident <- $rows:expr),+ $(,)?]) => {
            insert_chunks_together!($conn, |chunk| [
                $(diesel::insert_into($table::table).values(chunk) => $rows),+
            ])
        };
    }

    /// Rows of the resource and search index tables, each table's in one
    /// statement whose text is the same whatever the row count (`UNNEST`, see
    /// `crate::store::unnest`), so it stays prepared; pipelined like
    /// `insert_together!`. The row type names its table.
    macro_rules! insert_prepared_together {
        ($conn:expr, [$($table:ident <- $rows:expr),+ $(,)?]) => {{
            use crate::store::unnest::UnnestRows;
            insert_chunks_together!($conn, |chunk| [$(UnnestRows::unnest(chunk) => $rows),+])
        }};
    }

    /// Row locks for the rest of the transaction (`FOR UPDATE`).
    macro_rules! lock_rows {
        ($query:expr) => {
            $query.for_update()
        };
    }

    /// SQL for the whole seconds from `$earlier` to `$later` (timestamptz).
    macro_rules! seconds_between {
        ($later:literal, $earlier:literal) => {
            concat!("FLOOR(EXTRACT(EPOCH FROM (", $later, " - ", $earlier, ")))")
        };
    }

    pub async fn begin(conn: &mut Conn) -> Result<(), StoreError> {
        Ok(<Conn as AsyncConnection>::TransactionManager::begin_transaction(conn).await?)
    }

    include!("ops.rs");
    include!("messages_ops.rs");
    include!("billing_ops.rs");
    include!("dashboard_ops.rs");
    include!("remittance_ops.rs");
    include!("denials_ops.rs");
    include!("intake_ops.rs");
    include!("integrations_ops.rs");
    include!("jobs_ops.rs");
    include!("attempts_ops.rs");
    include!("audit_ops.rs");
    include!("webhook_subscriptions_ops.rs");
    include!("inbound_ops.rs");
    include!("cursors_ops.rs");
    include!("auth_ops.rs");
    include!("health_ops.rs");
    include!("worklist_ops.rs");

    #[derive(diesel::QueryableByName)]
    struct TableName {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }

    /// Analyzes the tables of the current schema that hold at least 50 rows (what
    /// autovacuum waits for too) and have no column statistics; their names.
    pub async fn analyze_tables_without_statistics(conn: &mut Conn) -> Result<Vec<String>, StoreError> {
        let tables: Vec<TableName> = diesel::sql_query(
            "SELECT t.relname::TEXT AS name FROM pg_stat_user_tables t \
             WHERE t.schemaname = current_schema() AND t.n_live_tup >= 50 \
             AND NOT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = t.schemaname AND s.tablename = t.relname)",
        )
        .load(conn)
        .await?;
        let mut analyzed = Vec::with_capacity(tables.len());
        for table in tables {
            // A name from the catalog, quoted as an identifier.
            diesel::sql_query(format!("ANALYZE \"{}\"", table.name.replace('"', "\"\"")))
                .execute(conn)
                .await?;
            analyzed.push(table.name);
        }
        Ok(analyzed)
    }

    /// Takes the transaction-scoped advisory lock `key` (held until commit or
    /// rollback), then runs the search. Both go in one round trip: PostgreSQL runs
    /// pipelined statements in order, and the search's snapshot is taken once the
    /// lock is held, so it sees whatever the lock's previous holder committed.
    pub async fn lock_then_load(
        conn: &mut Conn,
        key: i64,
        search: Statement,
    ) -> Result<Vec<FoundResource>, StoreError> {
        let lock = advisory_lock(key);
        let shared: &Conn = conn;
        let (mut first, mut second) = (shared, shared);
        let locking = lock.get_result::<CountRow>(&mut first);
        let loading = search.load::<FoundRow>(&mut second);
        let (_, rows) = futures_util::future::try_join(locking, loading).await?;
        Ok(rows.into_iter().map(FoundResource::from).collect())
    }

    /// Takes the transaction-scoped advisory locks `keys`, in the order given, in one
    /// statement.
    pub async fn lock_keys(conn: &mut Conn, keys: &[i64], mode: LockMode) -> Result<(), StoreError> {
        lock_keys_statement(keys, mode)
            .get_result::<CountRow>(conn)
            .await?;
        Ok(())
    }

    /// The statement `lock_keys` runs.
    fn lock_keys_statement(keys: &[i64], mode: LockMode) -> Statement {
        // Functions in the select list run in the order UNNEST yields the keys.
        let function = match mode {
            LockMode::Exclusive => "pg_advisory_xact_lock",
            LockMode::Shared => "pg_advisory_xact_lock_shared",
        };
        let mut lock = Statement::new("SELECT COUNT(*)::BIGINT AS count FROM (SELECT ");
        lock.sql(function).sql("(k) FROM UNNEST(ARRAY[");
        for (at, key) in keys.iter().enumerate() {
            if at > 0 {
                lock.sql(", ");
            }
            lock.bind(*key);
        }
        lock.sql("]::BIGINT[]) AS t(k)) AS locked");
        lock
    }

    /// Begins a transaction, reserves `message`'s row (when there is one) and runs
    /// `lookups` once their advisory locks are held, all pipelined in one round
    /// trip of four statements: BEGIN, the locks (the message's lock,
    /// `message_lock`, first, then the lookups' in their order), the check that the
    /// message's sender's control id is not recorded yet, and the lookups as one
    /// `UNION ALL`. PostgreSQL runs them in order, and a statement's snapshot is
    /// taken when it starts: the check and the lookups see whatever the locks'
    /// previous holders committed.
    ///
    /// They were a lock and a search per lookup (nine statements for an
    /// admission). Every statement costs PostgreSQL a portal, an executor start
    /// and a reply of its own on the socket, and the server a reply to read.
    ///
    /// The message's row is not written here but by the statement that finishes
    /// the message (`commit_finishing_message`): written now, its status
    /// would be updated at the end, and `status` is indexed, so the update would
    /// rewrite the row and each of its index entries (about a tenth of an
    /// admission's index insertions).
    pub async fn begin_recording(
        conn: &mut Conn,
        message: Option<(i64, &NewMessage)>,
        lookups: Vec<(Option<i64>, Statement)>,
    ) -> Result<(Option<i64>, Vec<Vec<FoundResource>>), StoreError> {
        let lookup_count = lookups.len();
        let shared: &Conn = conn;
        let (mut beginning, mut locking, mut checking, mut loading) = (shared, shared, shared, shared);
        let begin = transaction_control("BEGIN").execute(&mut beginning);
        let keys: Vec<i64> = message
            .iter()
            .map(|(key, _)| *key)
            .chain(lookups.iter().filter_map(|(key, _)| *key))
            .collect();
        let lock = async move {
            if keys.is_empty() {
                return Ok(());
            }
            let mut statement = lock_keys_statement(&keys, LockMode::Exclusive);
            statement.keep_prepared();
            statement.get_result::<CountRow>(&mut locking).await.map(|_| ())
        };
        let reserve = async move {
            let Some((_, message)) = message else {
                return Ok(None);
            };
            let mut check = Statement::new(
                "SELECT nextval('hl7_messages_id_seq') AS id, EXISTS (SELECT 1 FROM hl7_messages \
                 WHERE sending_application = ",
            );
            check
                .bind(message.sending_application.as_str())
                .sql(" AND sending_facility = ")
                .bind(message.sending_facility.as_str())
                .sql(" AND control_id = ")
                .bind(message.control_id.as_deref())
                .sql(") AS recorded")
                .keep_prepared();
            let reserved = check.get_result::<ReservedRow>(&mut checking).await?;
            Ok((!reserved.recorded).then_some(reserved.id))
        };
        let load = async move {
            if lookups.is_empty() {
                return Ok(Vec::new());
            }
            lookups_statement(lookups).load::<LookupRow>(&mut loading).await
        };
        let (_, _, id, rows) = futures_util::future::try_join4(begin, lock, reserve, load).await?;
        // The BEGIN went out with the rest: tell diesel's transaction manager, so
        // that its COMMIT and ROLLBACK (and a pool checking for an open transaction)
        // know there is one.
        <Conn as AsyncConnection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_state()?
            .change_transaction_depth(diesel::connection::TransactionDepthChange::IncreaseDepth)?;
        let mut found: Vec<Vec<FoundResource>> = (0..lookup_count).map(|_| Vec::new()).collect();
        for row in rows {
            let at = usize::try_from(row.lookup).expect("a lookup's position");
            found[at].push(FoundResource::from(row.found));
        }
        Ok((id, found))
    }

    /// The lookups' searches as one statement: each a subquery whose rows carry
    /// its position, joined by `UNION ALL`; `begin_recording` sorts the rows back
    /// to their lookups by that position. Kept prepared when every search is.
    fn lookups_statement(lookups: Vec<(Option<i64>, Statement)>) -> Statement {
        let mut statement = Statement::default();
        let kept_prepared = lookups.iter().all(|(_, search)| search.is_kept_prepared());
        for (at, (_, search)) in lookups.into_iter().enumerate() {
            if at > 0 {
                statement.sql(" UNION ALL ");
            }
            statement.sql(&format!("SELECT {at}::BIGINT AS lookup, l{at}.* FROM ("));
            statement.append(search);
            statement.sql(&format!(") AS l{at}"));
        }
        if kept_prepared {
            statement.keep_prepared();
        }
        statement
    }

    /// A row `lookups_statement` found, with the position of its lookup.
    #[derive(diesel::QueryableByName)]
    struct LookupRow {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        lookup: i64,
        #[diesel(embed)]
        found: FoundRow,
    }

    /// `BEGIN` or `COMMIT` sent in a pipeline, kept prepared. A statement diesel
    /// does not keep (`sql_query`) is prepared afresh each time, and preparing is a
    /// round trip of its own that the statements pipelined behind it wait for:
    /// the round trip the pipeline was to save.
    fn transaction_control(sql: &'static str) -> Statement {
        let mut statement = Statement::new(sql);
        statement.keep_prepared();
        statement
    }

    /// `pg_advisory_xact_lock(key)`, kept prepared.
    fn advisory_lock(key: i64) -> Statement {
        let mut statement = Statement::new("SELECT 1::BIGINT AS count FROM (SELECT pg_advisory_xact_lock(");
        statement.bind(key).sql(")) AS locked").keep_prepared();
        statement
    }

    /// A message row's id, taken from its sequence, and whether its sender's
    /// control id is recorded already.
    #[derive(diesel::QueryableByName)]
    struct ReservedRow {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        recorded: bool,
    }

    /// Writes `tenant`'s staged creates in one statement (`staged_write`): history
    /// rows, current rows copied from them and index rows, and checks in the same
    /// statement that no reference names another tenant's resource (if one does,
    /// the error leaves the transaction to be rolled back).
    pub async fn insert_staged(
        conn: &mut Conn,
        tenant: &Tenant,
        staged: &[StagedCreate],
    ) -> Result<(), StoreError> {
        let rows = StagedRows::of(tenant, staged);
        rows.write(None)
            .get_result::<CountRow>(conn)
            .await
            .map(|_| ())
            .map_err(|error| rows.refused(error, race_on_unique_violation))
    }

    /// `insert_staged`, also recording the message's outcome (and AuditEvent) in
    /// the same statement, with the COMMIT sent behind it without waiting for its
    /// answer: one round trip for both. Whatever the statement finds wrong fails
    /// it (`StagedWrite`), and PostgreSQL answers a COMMIT after a failed
    /// statement with a ROLLBACK, so nothing is committed that would not have
    /// been had the COMMIT waited.
    ///
    /// `Err`: the transaction may still be open (the write failed before it was
    /// sent, so no COMMIT went out, or the COMMIT got no answer); the caller
    /// drops the session, which rolls it back (see `Session`'s `Drop`). `Ok(written)`: the
    /// transaction has ended, committed if `written` is `Ok`, rolled back if not.
    pub async fn commit_finishing_message(
        conn: &mut Conn,
        tenant: &Tenant,
        staged: &[StagedCreate],
        message: &FinishedMessage<'_>,
    ) -> Result<Result<(), StoreError>, StoreError> {
        let rows = StagedRows::of(tenant, staged);
        let refused = |error| rows.refused(error, StoreError::from);
        let written = {
            let shared: &Conn = conn;
            let (mut writing, mut committing) = (shared, shared);
            let mut writing = std::pin::pin!(rows.write(Some(message)).get_result::<CountRow>(&mut writing));
            // The first poll sends the write. One that failed before it could be
            // sent (its SQL or binds not built) must not have a COMMIT behind it,
            // which would commit the transaction's earlier work without it; nor
            // one already refused (the caller drops the session, rolling back). One
            // already answered (the connection's task, on another thread, read
            // the reply before this poll looked) is not polled again.
            let answered = match futures_util::poll!(writing.as_mut()) {
                std::task::Poll::Ready(Err(error)) => return Err(refused(error)),
                std::task::Poll::Ready(Ok(row)) => Some(Ok(row)),
                std::task::Poll::Pending => None,
            };
            let committing = transaction_control("COMMIT").execute(&mut committing);
            let (written, committed) = match answered {
                Some(written) => (written, committing.await),
                None => futures_util::future::join(writing, committing).await,
            };
            let written = written.map(|_| ()).map_err(refused);
            match committed {
                Ok(_) => written,
                // Without an answer from PostgreSQL (a connection lost) the
                // transaction's fate is unknown.
                Err(
                    error @ diesel::result::Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _),
                ) => {
                    return Err(written.err().unwrap_or_else(|| error.into()));
                }
                // PostgreSQL refused the COMMIT itself: the transaction is rolled back.
                Err(error) => written.and(Err(error.into())),
            }
        };
        // The COMMIT went out with the write: tell diesel's transaction manager
        // that the transaction is over, as `begin_recording` told it of the BEGIN.
        // Should its bookkeeping refuse, the pool finds the connection in a
        // transaction and discards it; what was committed stays committed.
        let ended = <Conn as AsyncConnection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_state()
            .and_then(|state| {
                state.change_transaction_depth(diesel::connection::TransactionDepthChange::DecreaseDepth)
            });
        if let Err(error) = ended {
            tracing::warn!(%error, "a pipelined COMMIT was not recorded in the connection's transaction state");
        }
        Ok(written)
    }

    /// A transaction's staged creates as the rows `StagedWrite` writes.
    struct StagedRows<'a> {
        tenant: &'a str,
        history: Vec<NewHistoryRow<'a>>,
        index: IndexRows<'a>,
        indexes: Vec<(&'a str, &'a SearchIndexEntries)>,
        /// The local references' `(type, id)`, checked for another tenant's.
        targets: Vec<(&'a str, &'a str)>,
    }

    impl<'a> StagedRows<'a> {
        fn of(tenant: &'a Tenant, staged: &'a [StagedCreate]) -> Self {
            let indexes = staged_indexes(staged);
            StagedRows {
                tenant: tenant.as_str(),
                history: staged_history_rows(tenant.as_str(), staged),
                index: IndexRows::of_staged(tenant.as_str(), staged),
                targets: crate::store::search::local_targets(&indexes),
                indexes,
            }
        }

        /// The statement writing the rows, and `message`'s row or outcome when
        /// there is one.
        fn write<'w>(&'w self, message: Option<&FinishedMessage<'w>>) -> StagedWrite<'w> {
            let write = StagedWrite::new(self.tenant, &self.history, &self.index, &self.targets);
            match message {
                Some(message) => write.finishing_message(message),
                None => write,
            }
        }

        /// The caller's error for the write's `error`: what the statement refused
        /// (a foreign reference, named as `ForeignReference` names it; a message
        /// row not there), or else what `failed` makes of it.
        fn refused(
            &self,
            error: diesel::result::Error,
            failed: fn(diesel::result::Error) -> StoreError,
        ) -> StoreError {
            match refusal(&error) {
                Some((REFUSED_FOREIGN_REFERENCE, res_type, res_id)) => foreign_reference(
                    &self.indexes,
                    TargetRow {
                        res_type: res_type.to_owned(),
                        res_id: res_id.to_owned(),
                    },
                ),
                Some(_) => StoreError::NotFound,
                None => failed(error),
            }
        }
    }

    /// The reason, detail and hint of an error `claimbridge_refuse` raised.
    fn refusal(error: &diesel::result::Error) -> Option<(&str, &str, &str)> {
        match error {
            diesel::result::Error::DatabaseError(DatabaseErrorKind::CheckViolation, info) => {
                let reason = info.constraint_name()?;
                [REFUSED_FOREIGN_REFERENCE, REFUSED_MESSAGE_NOT_RECORDED]
                    .contains(&reason)
                    .then(|| (reason, info.details().unwrap_or(""), info.hint().unwrap_or("")))
            }
            _ => None,
        }
    }

    /// Row-locks `tenant`'s current version so concurrent writers of one resource
    /// queue instead of racing for the next version number.
    async fn lock_current(
        conn: &mut Conn,
        tenant: &Tenant,
        res_type: &str,
        id: &str,
    ) -> Result<Option<CurrentRow>, StoreError> {
        Ok(current_row(tenant.as_str(), res_type, id)
            .for_update()
            .first(conn)
            .await
            .optional()?)
    }
}

mod sqlite {
    pub type Conn =
        diesel_async::sync_connection_wrapper::SyncConnectionWrapper<diesel::sqlite::SqliteConnection>;

    use crate::store::rows::{staged_history_rows, staged_resource_rows};

    /// SQLite has no pipelining: the statements run one after another.
    macro_rules! execute_together {
        ($conn:expr, |$c:ident| [$($statement:expr),+ $(,)?]) => {{
            $({
                let $c = &mut *$conn;
                $statement.await?;
            })+
        }};
    }

    /// diesel_async cannot send a multi-row INSERT to SQLite; rows go one by one,
    /// which costs little on an in-process database inside one transaction.
    macro_rules! insert_together {
        ($conn:expr, [$($table:ident <- $rows:expr),+ $(,)?]) => {{
            $(
                for row in &$rows {
                    diesel::insert_into($table::table)
                        .values(row)
                        .execute($conn)
                        .await
                        .map_err(race_on_unique_violation)?;
                }
            )+
        }};
    }

    /// Row by row, each statement is already the same for any row count.
    macro_rules! insert_prepared_together {
        ($($arguments:tt)*) => {
            insert_together!($($arguments)*)
        };
    }

    /// SQLite has no row locks; `Store` already runs one write at a time.
    macro_rules! lock_rows {
        ($query:expr) => {
            $query
        };
    }

    /// SQL for the whole seconds from `$earlier` to `$later` (microseconds since the
    /// epoch; never negative where it is used).
    macro_rules! seconds_between {
        ($later:literal, $earlier:literal) => {
            concat!("((", $later, " - ", $earlier, ") / 1000000)")
        };
    }

    /// Transactions here write, so they take SQLite's write lock at BEGIN
    /// (IMMEDIATE). A deferred one takes it at its first write, and fails at once
    /// (SQLITE_BUSY_SNAPSHOT, which the busy timeout does not wait out) when a write
    /// committed outside `Store`'s writer lock — a feed cursor, a token row — since
    /// its first read.
    pub async fn begin(conn: &mut Conn) -> Result<(), StoreError> {
        Ok(conn
            .spawn_blocking(|inner| {
                diesel::connection::AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")
            })
            .await?)
    }

    include!("ops.rs");
    include!("messages_ops.rs");
    include!("billing_ops.rs");
    include!("dashboard_ops.rs");
    include!("remittance_ops.rs");
    include!("denials_ops.rs");
    include!("intake_ops.rs");
    include!("integrations_ops.rs");
    include!("jobs_ops.rs");
    include!("attempts_ops.rs");
    include!("audit_ops.rs");
    include!("webhook_subscriptions_ops.rs");
    include!("inbound_ops.rs");
    include!("cursors_ops.rs");
    include!("auth_ops.rs");
    include!("health_ops.rs");
    include!("worklist_ops.rs");

    /// SQLite plans well without statistics (see `store::statistics`).
    pub async fn analyze_tables_without_statistics(_conn: &mut Conn) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    /// Writes `tenant`'s staged creates: their history rows, current rows and index
    /// rows, once one statement has found that none refers to another tenant's
    /// resource.
    pub async fn insert_staged(
        conn: &mut Conn,
        tenant: &Tenant,
        staged: &[StagedCreate],
    ) -> Result<(), StoreError> {
        refuse_foreign_references(conn, tenant, &staged_indexes(staged)).await?;
        let history = staged_history_rows(tenant.as_str(), staged);
        let change_seqs = insert_history_rows(conn, &history).await?;
        drop(history);
        insert_current_and_index_rows(
            conn,
            staged_resource_rows(tenant.as_str(), staged, change_seqs),
            IndexRows::of_staged(tenant.as_str(), staged),
        )
        .await
    }

    /// Inserts history rows one by one, returning each one's `change_seq`.
    async fn insert_history_rows(
        conn: &mut Conn,
        rows: &[NewHistoryRow<'_>],
    ) -> Result<Vec<i64>, StoreError> {
        let mut change_seqs = Vec::with_capacity(rows.len());
        for row in rows {
            change_seqs.push(
                diesel::insert_into(resource_history::table)
                    .values(row)
                    .returning(resource_history::change_seq)
                    .get_result(conn)
                    .await
                    .map_err(race_on_unique_violation)?,
            );
        }
        Ok(change_seqs)
    }

    /// SQLite has no row locks; `Store` already runs one write at a time.
    async fn lock_current(
        conn: &mut Conn,
        tenant: &Tenant,
        res_type: &str,
        id: &str,
    ) -> Result<Option<CurrentRow>, StoreError> {
        Ok(current_row(tenant.as_str(), res_type, id)
            .first(conn)
            .await
            .optional()?)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("no database connection available: {0}")]
    Pool(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("unsupported database URL {0:?}: use sqlite://<path> or postgres://…")]
    UnsupportedUrl(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("resource not found")]
    NotFound,
    /// `If-Match` named a version that is not the current one.
    #[error("version conflict: the current version is {current:?}")]
    VersionMismatch { current: Option<i64> },
    /// Another writer changed the resource while this write was in flight.
    #[error("the resource was changed concurrently")]
    WriteRace,
    /// An update would create a resource with an id another tenant's resource has
    /// (ids are unique across tenants).
    #[error("the id is in use")]
    IdTaken,
    /// A resource of `source_type` refers (through search parameter `param`) to
    /// `target`, which another tenant holds: to the writer it does not exist.
    #[error("{source_type} refers to {target} ({param}), which was not found")]
    ForeignReference {
        source_type: String,
        param: String,
        target: String,
    },
}

impl From<PoolError> for StoreError {
    fn from(error: PoolError) -> Self {
        StoreError::Pool(error.to_string())
    }
}

/// Which database a URL selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    Postgres(String),
    /// A file path for SQLite.
    Sqlite(String),
}

impl DatabaseKind {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseKind::Postgres(url.to_owned()))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Ok(DatabaseKind::Sqlite(path.to_owned()))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }
}

enum Backend {
    Postgres(Pool<AsyncPgConnection>),
    Sqlite {
        pool: Pool<SyncConnectionWrapper<SqliteConnection>>,
        writer: Arc<Mutex<()>>,
    },
}

/// The storage API used by the FHIR layer, whatever the backend.
pub struct Store {
    backend: Backend,
    webhook_presence: Arc<SubscriberPresence>,
    /// What the pool serves (see `Database::store_named`).
    purpose: &'static str,
    /// How long checkouts wait for a connection, unless metrics are off.
    pool_wait: Option<prometheus::Histogram>,
    /// The read cache, when there is one; its sessions invalidate what they write.
    cache: Option<CacheHandle>,
    /// Told when a session's queued jobs are committed.
    job_wake: Arc<JobWake>,
}

/// An opened, migrated database from which each HTTP worker takes a `Store` with a
/// pool of its own: a PostgreSQL connection is driven by the runtime that opened it,
/// so sharing one pool across worker threads would add a cross-thread hop to every
/// query.
pub struct Database {
    kind: DatabaseKind,
    /// SQLite's single writer, shared by every worker's store.
    sqlite_writer: Arc<Mutex<()>>,
    /// Whether any webhook subscription is enabled, shared by every worker's store.
    webhook_presence: Arc<SubscriberPresence>,
    /// Every pool made so far, for the metrics.
    pools: pools::PoolRegistry,
    /// Whether stores time their checkouts (`metrics_enabled`).
    time_checkouts: bool,
    cache: Option<Arc<ResourceCache>>,
    job_wake: Arc<JobWake>,
}

impl Database {
    /// Opens the database named by `url`, applying pending migrations first.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let kind = DatabaseKind::from_url(url)?;
        migrate(&kind).await?;
        Ok(Database {
            kind,
            sqlite_writer: Arc::new(Mutex::new(())),
            webhook_presence: Arc::default(),
            pools: pools::PoolRegistry::default(),
            time_checkouts: true,
            cache: None,
            job_wake: JobWake::local(),
        })
    }

    /// Whether stores made from here on time how long each checkout waits for a
    /// connection (on by default; off with `metrics_enabled`, to measure the cost).
    pub fn time_checkouts(&mut self, on: bool) {
        self.time_checkouts = on;
    }

    pub fn kind(&self) -> &DatabaseKind {
        &self.kind
    }

    /// Reads by id go through `cache` (see `Store::read_current_cached`), and every
    /// session invalidates what it writes there.
    pub fn with_cache(mut self, cache: Option<Arc<ResourceCache>>) -> Self {
        self.cache = cache;
        self
    }

    /// Job runners are woken through `wake` when a session's queued jobs commit.
    pub fn with_job_wake(mut self, wake: Arc<JobWake>) -> Self {
        self.job_wake = wake;
        self
    }

    /// A store with a pool of up to `pool_size` connections, opened lazily; its
    /// pool shows in the metrics as `other` (see `store_named`).
    pub fn store(&self, pool_size: usize) -> Result<Store, StoreError> {
        self.store_named("other", pool_size)
    }

    /// `store`, whose pool the metrics show under `purpose` (`fhir`, `admin`, …:
    /// a fixed name, summed over the pools of that purpose).
    pub fn store_named(&self, purpose: &'static str, pool_size: usize) -> Result<Store, StoreError> {
        let backend = match &self.kind {
            DatabaseKind::Postgres(url) => {
                // Checked out as deadpool-postgres does by default: a connection whose
                // socket closed (the server restarted, a proxy timed it out) or that
                // broke mid-transaction is still dropped, without the `SELECT 1` round
                // trip diesel-async's default sends before every checkout — half the
                // round trips of a read by id.
                let mut config = ManagerConfig::default();
                config.recycling_method = RecyclingMethod::Fast;
                let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
                let pool = Pool::builder(manager)
                    .max_size(pool_size)
                    .build()
                    .map_err(pool_error)?;
                self.pools.note(purpose, pool_probe!(pool));
                Backend::Postgres(pool)
            }
            DatabaseKind::Sqlite(path) => {
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(|path| open_sqlite(path.to_owned()).boxed());
                let manager = AsyncDieselConnectionManager::new_with_config(path, config);
                let pool = Pool::builder(manager)
                    .max_size(pool_size)
                    .build()
                    .map_err(pool_error)?;
                self.pools.note(purpose, pool_probe!(pool));
                Backend::Sqlite {
                    pool,
                    writer: Arc::clone(&self.sqlite_writer),
                }
            }
        };
        Ok(Store {
            backend,
            webhook_presence: Arc::clone(&self.webhook_presence),
            purpose,
            pool_wait: self
                .time_checkouts
                .then(|| crate::observability::metrics::db::pool_wait(purpose)),
            cache: self.cache.as_ref().map(ResourceCache::handle),
            job_wake: Arc::clone(&self.job_wake),
        })
    }

    /// How full the pools of each purpose are now.
    pub fn pool_figures(&self) -> std::collections::BTreeMap<&'static str, pools::PoolFigures> {
        self.pools.figures()
    }
}

impl Store {
    /// The most connections this store's pool opens.
    pub fn max_connections(&self) -> usize {
        match &self.backend {
            Backend::Postgres(pool) => pool.status().max_size,
            Backend::Sqlite { pool, .. } => pool.status().max_size,
        }
    }

    /// The newest migration this binary embeds for the store's backend: what a
    /// database must have applied to be current.
    pub fn newest_embedded_migration(&self) -> Result<Option<String>, StoreError> {
        fn newest<DB: diesel::backend::Backend>(
            migrations: &EmbeddedMigrations,
        ) -> Result<Option<String>, StoreError> {
            let all = diesel::migration::MigrationSource::<DB>::migrations(migrations)
                .map_err(|e| StoreError::Migration(e.to_string()))?;
            Ok(all.iter().map(|m| m.name().version().to_string()).max())
        }
        match &self.backend {
            Backend::Postgres(_) => newest::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS),
            Backend::Sqlite { .. } => newest::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS),
        }
    }

    /// A connection for a sequence of operations, each committed on its own, whose
    /// resource operations are the default tenant's: for the tables that have no
    /// tenant and the parts of the server that work in the default tenant.
    pub async fn session(&self) -> Result<Session, StoreError> {
        self.session_in(&Tenant::default()).await
    }

    /// A session whose resource operations read and write `tenant`'s resources only.
    pub async fn session_in(&self, tenant: &Tenant) -> Result<Session, StoreError> {
        let span = tracing::debug_span!("db", op = "checkout", pool = self.purpose);
        let started = self.pool_wait.as_ref().map(|_| std::time::Instant::now());
        let (conn, sqlite_writer) = match &self.backend {
            Backend::Postgres(pool) => (
                SessionConn::Postgres(Box::new(pool.get().instrument(span).await?)),
                None,
            ),
            Backend::Sqlite { pool, writer } => (
                SessionConn::Sqlite(pool.get().instrument(span).await?),
                Some(Arc::clone(writer)),
            ),
        };
        if let (Some(wait), Some(started)) = (&self.pool_wait, started) {
            wait.observe(started.elapsed().as_secs_f64());
        }
        Ok(Session {
            conn: Some(conn),
            tenant: tenant.clone(),
            sqlite_writer,
            transaction_lock: None,
            in_transaction: false,
            staged: Vec::new(),
            pending_lock: None,
            webhook_targets: SessionTargets::new(Arc::clone(&self.webhook_presence)),
            cache: self.cache.clone(),
            written: Vec::new(),
            jobs_queued: false,
            job_wake: Arc::clone(&self.job_wake),
        })
    }

    /// A session inside one database transaction: nothing it writes is visible to
    /// others, or kept, until `commit`. On SQLite it holds the writer lock throughout.
    /// Its resource operations are the default tenant's (see `session`).
    pub async fn begin(&self) -> Result<Session, StoreError> {
        self.begin_in(&Tenant::default()).await
    }

    /// `begin`, for `tenant`'s resources.
    pub async fn begin_in(&self, tenant: &Tenant) -> Result<Session, StoreError> {
        let lock = match &self.backend {
            Backend::Sqlite { writer, .. } => Some(Arc::clone(writer).lock_owned().await),
            Backend::Postgres(_) => None,
        };
        let mut session = self.session_in(tenant).await?;
        session.transaction_lock = lock;
        on_session!(session, begin())?;
        session.in_transaction = true;
        Ok(session)
    }

    /// A session inside a new transaction (as `begin` makes) in which `message` is
    /// recorded (when there is one) and the lookups are run, each after taking its
    /// lock (as `lock_before_next_search` would): one round trip on PostgreSQL,
    /// BEGIN included. The message's id, or `None` when its sender's control id is
    /// recorded already (by a transaction this one waited for, if need be). SQLite
    /// inserts its row now (as `Session::insert_message` does); PostgreSQL reserves
    /// its id and writes the row in `Session::commit_finishing_message`, which
    /// must then be given the message. The found resources come in the order of
    /// `lookups`.
    pub async fn begin_recording(
        &self,
        tenant: &Tenant,
        message: Option<&NewMessage>,
        lookups: &[Lookup],
    ) -> Result<(Session, Option<i64>, Vec<Vec<FoundResource>>), StoreError> {
        // SQLite's writer lock before a pooled connection, in the order `begin`
        // takes them: sessions holding connections while they wait for the lock
        // could leave its holder none to take.
        let lock = match &self.backend {
            Backend::Sqlite { writer, .. } => Some(Arc::clone(writer).lock_owned().await),
            Backend::Postgres(_) => None,
        };
        let mut session = self.session_in(tenant).await?;
        session.transaction_lock = lock;
        let (id, found) = session.begin_recording(message, lookups).await?;
        Ok((session, id, found))
    }

    /// Webhook subscriptions were changed and the change committed: events look
    /// for subscribers again (see `webhook_subscriptions`).
    pub fn webhook_subscriptions_changed(&self) {
        self.webhook_presence.changed();
    }

    /// What wakes job runners when jobs are queued.
    pub fn job_wake(&self) -> &Arc<JobWake> {
        &self.job_wake
    }

    /// The current version of `tenant`'s resource, as `Session::read_current`
    /// reads it, from the read cache when it holds it (which the database then
    /// fills on a miss): what `GET /fhir/{type}/{id}` reads. No session is taken
    /// for a hit.
    pub async fn read_current_cached(
        &self,
        tenant: &Tenant,
        res_type: &str,
        id: &str,
    ) -> Result<Option<CurrentResource>, StoreError> {
        let Some(cache) = &self.cache else {
            return self.session_in(tenant).await?.read_current(res_type, id).await;
        };
        let key = crate::cache::key(tenant.as_str(), res_type, id);
        if let Some(hit) = cache.get(&key).await {
            return Ok(Some(hit));
        }
        let started = std::time::Instant::now();
        let current = self.session_in(tenant).await?.read_current(res_type, id).await?;
        if let Some(current) = &current {
            cache.fill(&key, current, started).await;
        }
        Ok(current)
    }

    /// The current version of `tenant`'s resource if the read cache holds it; the
    /// database is not asked.
    pub async fn cached_current(&self, tenant: &Tenant, res_type: &str, id: &str) -> Option<CurrentResource> {
        let cache = self.cache.as_ref()?;
        cache.get(&crate::cache::key(tenant.as_str(), res_type, id)).await
    }
}

/// A search sent with others in one round trip (`Session::begin_recording`),
/// after taking the advisory lock `lock` when there is one: the lock
/// `lock_before_next_search` takes for the same key.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub query: SearchQuery,
    pub lock: Option<String>,
}

/// The PostgreSQL connection is boxed: it is several times the size of SQLite's.
enum SessionConn {
    Postgres(Box<Object<AsyncPgConnection>>),
    Sqlite(Object<SyncConnectionWrapper<SqliteConnection>>),
}

/// Who else may hold a transaction's advisory lock on the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// Nobody: the holders of a key take turns.
    Exclusive,
    /// Other `Shared` holders: only an `Exclusive` one waits (or is waited for).
    Shared,
}

/// One pooled connection, optionally inside a transaction. Dropping a session in a
/// transaction without `commit` or `rollback` (an error returned early) abandons it:
/// on PostgreSQL a task rolls it back and returns the connection to the pool, so a
/// client's 404 or 409 does not cost a reconnect; a connection the rollback fails on
/// is closed, which rolls back too. A SQLite connection is closed at once, before
/// the writer lock the session holds is released.
pub struct Session {
    /// Always `Some` until the session is dropped.
    conn: Option<SessionConn>,
    /// Whose resources the session reads and writes: every resource operation's
    /// statements name it.
    tenant: Tenant,
    /// SQLite's writer lock, taken for each write of a session outside a transaction.
    sqlite_writer: Option<Arc<Mutex<()>>>,
    /// SQLite's writer lock held for a whole transaction.
    transaction_lock: Option<OwnedMutexGuard<()>>,
    in_transaction: bool,
    /// Creates of this transaction not yet sent; written before anything reads.
    staged: Vec<StagedCreate>,
    /// An advisory lock the next search takes first (see `lock_before_next_search`).
    pending_lock: Option<i64>,
    /// The enabled webhook subscriptions, once read.
    webhook_targets: SessionTargets,
    /// The read cache, whose entries of what this session writes are invalidated
    /// before each commit.
    cache: Option<CacheHandle>,
    /// The cache keys and versions of what the transaction wrote (with a cache).
    written: Vec<(String, i64)>,
    /// Whether the transaction queued jobs (runners are woken after the commit).
    jobs_queued: bool,
    job_wake: Arc<JobWake>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.in_transaction {
            return;
        }
        match self.conn.take() {
            Some(SessionConn::Postgres(conn)) => roll_back_in_background(conn),
            Some(SessionConn::Sqlite(conn)) => drop(Object::take(conn)),
            None => {}
        }
    }
}

/// Rolls back an abandoned transaction and returns its connection to the pool. The
/// connection is closed instead (which rolls back too) when the rollback fails (the
/// future that dropped the session may have been cancelled mid-statement), takes
/// longer than `ABANDONED_ROLLBACK_LIMIT` (it queues behind a statement still
/// running), or never runs (no runtime, or one shutting down drops the task).
fn roll_back_in_background(conn: Box<Object<AsyncPgConnection>>) {
    let mut abandoned = AbandonedConnection(Some(conn));
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let Some(conn) = abandoned.0.as_mut() else {
            return;
        };
        if let Ok(Ok(())) = tokio::time::timeout(ABANDONED_ROLLBACK_LIMIT, postgres::rollback(conn)).await {
            // Rolled back: back to the pool.
            drop(abandoned.0.take());
        }
    });
}

/// How long an abandoned transaction's rollback may take before its connection is
/// closed instead.
const ABANDONED_ROLLBACK_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A connection whose transaction was abandoned: closed when dropped, unless taken
/// out once its rollback succeeded.
struct AbandonedConnection(Option<Box<Object<AsyncPgConnection>>>);

impl Drop for AbandonedConnection {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(Object::take(*conn));
        }
    }
}

impl Session {
    fn conn_mut(&mut self) -> &mut SessionConn {
        self.conn
            .as_mut()
            .expect("a session has its connection until dropped")
    }

    /// Whether the session is inside a transaction (`Store::begin_in`).
    pub fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// The tenant whose resources this session reads and writes.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    pub async fn read_current(
        &mut self,
        res_type: &str,
        id: &str,
    ) -> Result<Option<CurrentResource>, StoreError> {
        if self.is_staged(res_type, id) {
            self.flush_staged().await?;
        }
        on_session!(self, read_current(&self.tenant, res_type, id))
    }

    /// One version of a resource from history.
    pub async fn read_version(
        &mut self,
        res_type: &str,
        id: &str,
        version_id: i64,
    ) -> Result<Option<HistoryEntry>, StoreError> {
        if self.is_staged(res_type, id) {
            self.flush_staged().await?;
        }
        on_session!(self, read_version(&self.tenant, res_type, id, version_id))
    }

    /// A page of history, newest first.
    pub async fn history(&mut self, query: HistoryQuery<'_>) -> Result<Vec<HistoryEntry>, StoreError> {
        self.flush_staged().await?;
        on_session!(self, history(&self.tenant, query))
    }

    /// The current rows of several resources of one type (see `read_current`).
    pub async fn read_current_many(
        &mut self,
        res_type: &str,
        ids: &[String],
    ) -> Result<Vec<(String, CurrentResource)>, StoreError> {
        if ids.iter().any(|id| self.is_staged(res_type, id)) {
            self.flush_staged().await?;
        }
        on_session!(self, read_current_many(&self.tenant, res_type, ids))
    }

    /// One page of a search, in the query's order.
    pub async fn search(&mut self, query: &SearchQuery) -> Result<Vec<FoundResource>, StoreError> {
        self.flush_staged_read_by(query).await?;
        let statement = search::page_statement(&self.tenant, query);
        match (self.pending_lock.take(), self.conn_mut()) {
            (Some(key), SessionConn::Postgres(conn)) => {
                postgres::lock_then_load(conn, key, statement)
                    .instrument(db_span("lock_then_load"))
                    .await
            }
            _ => on_session!(self, load_found(statement)),
        }
    }

    /// How many resources a search matches in all.
    pub async fn count(&mut self, query: &SearchQuery) -> Result<i64, StoreError> {
        self.flush_staged_read_by(query).await?;
        let statement = search::count_statement(&self.tenant, query);
        on_session!(self, count(statement))
    }

    /// Resources referenced by `source_ids` through `param` (`_include`).
    pub async fn included(
        &mut self,
        source_type: &str,
        source_ids: &[String],
        param: &str,
        target_type: Option<&str>,
    ) -> Result<Vec<FoundResource>, StoreError> {
        if source_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.flush_staged().await?;
        let statement = search::include_statement(&self.tenant, source_type, source_ids, param, target_type);
        on_session!(self, load_found(statement))
    }

    /// Resources of `source_type` referring to `target_ids` through `param`
    /// (`_revinclude`).
    pub async fn referring(
        &mut self,
        source_type: &str,
        param: &str,
        target_type: &str,
        target_ids: &[String],
    ) -> Result<Vec<FoundResource>, StoreError> {
        if target_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.flush_staged().await?;
        let statement =
            search::revinclude_statement(&self.tenant, source_type, param, target_type, target_ids);
        on_session!(self, load_found(statement))
    }

    /// Writes a new version (or a deletion). Outside a transaction the write commits
    /// on its own and is retried when a concurrent writer claimed the same version;
    /// inside one it is part of the transaction and a race fails it.
    pub async fn write(
        &mut self,
        request: WriteRequest<'_>,
        render: &(dyn Fn(NewVersion) -> RenderedVersion + Sync),
    ) -> Result<WriteOutcome, StoreError> {
        if self.in_transaction {
            if request.method == WriteMethod::Create {
                return Ok(self.stage_create(request, render));
            }
            if self.is_staged(request.res_type, request.id) {
                self.flush_staged().await?;
            }
            let outcome = on_session!(self, write_in_transaction(&self.tenant, request, render))?;
            self.note_written(request, &outcome);
            return Ok(outcome);
        }
        let writer = self.sqlite_writer.clone();
        let _queued = match &writer {
            Some(writer) => Some(writer.lock().await),
            None => None,
        };
        let mut attempt = 1;
        loop {
            // A transaction of its own, committed as `commit` does: invalidating
            // the cache first.
            on_session!(self, begin())?;
            self.in_transaction = true;
            match on_session!(self, write_in_transaction(&self.tenant, request, render)) {
                Ok(outcome) => {
                    self.note_written(request, &outcome);
                    self.commit_in_place().await?;
                    return Ok(outcome);
                }
                Err(error) => {
                    on_session!(self, rollback())?;
                    self.in_transaction = false;
                    match error {
                        StoreError::WriteRace if attempt < WRITE_ATTEMPTS => attempt += 1,
                        error => return Err(error),
                    }
                }
            }
        }
    }

    /// Notes a version the transaction wrote, whose cache entry is invalidated
    /// before the commit. A first version needs none: the cache keeps no absence.
    fn note_written(&mut self, request: WriteRequest<'_>, outcome: &WriteOutcome) {
        if self.cache.is_some() && outcome.version_id > 1 {
            let key = crate::cache::key(self.tenant.as_str(), request.res_type, request.id);
            self.written.push((key, outcome.version_id));
        }
    }

    /// Jobs were queued: runners are woken once they are committed.
    async fn note_jobs_queued(&mut self) {
        if self.in_transaction {
            self.jobs_queued = true;
        } else {
            self.job_wake.queued().await;
        }
    }

    /// Makes transactions that look for `key` and create it when missing take turns:
    /// the next search first waits for the lock on `key` (in the same round trip), so
    /// a second transaction finds what the first made instead of making it again.
    /// SQLite runs one writer at a time already.
    pub fn lock_before_next_search(&mut self, key: &str) {
        self.pending_lock = Some(lock_key(key));
    }

    /// Waits for any transaction recording or applying the message `sender` sent
    /// with `control_id` (the lock `begin_recording` takes) and holds it off until
    /// this one ends. (SQLite: one writer at a time already.)
    pub async fn lock_message(
        &mut self,
        sending_application: &str,
        sending_facility: &str,
        control_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let name = message_lock_name(sending_application, sending_facility, control_id);
        self.lock_keys(&[name], LockMode::Exclusive).await
    }

    /// Takes the advisory locks of `keys` (the keys `lock_before_next_search`
    /// takes, always exclusively), all at once and in a fixed order (so that two
    /// transactions locking overlapping sets wait rather than deadlock);
    /// `LockMode::Shared` ones keep out only exclusive holders. SQLite runs one
    /// writer at a time already.
    pub async fn lock_keys(&mut self, keys: &[String], mode: LockMode) -> Result<(), StoreError> {
        let mut numbers: Vec<i64> = keys.iter().map(|key| lock_key(key)).collect();
        numbers.sort_unstable();
        numbers.dedup();
        match self.conn_mut() {
            SessionConn::Postgres(conn) if !numbers.is_empty() => {
                postgres::lock_keys(conn, &numbers, mode)
                    .instrument(db_span("lock_keys"))
                    .await
            }
            _ => Ok(()),
        }
    }

    /// See `Store::begin_recording` (which takes SQLite's writer lock first).
    #[tracing::instrument(level = "debug", name = "db", skip_all, fields(op = "begin_recording"))]
    async fn begin_recording(
        &mut self,
        message: Option<&NewMessage>,
        lookups: &[Lookup],
    ) -> Result<(Option<i64>, Vec<Vec<FoundResource>>), StoreError> {
        assert!(
            !self.in_transaction,
            "begin_recording on a session already in a transaction"
        );
        // From here on a failure may leave the connection in a transaction:
        // dropping the session then rolls it back (see `Drop`).
        self.in_transaction = true;
        let tenant = &self.tenant;
        match self
            .conn
            .as_mut()
            .expect("a session has its connection until dropped")
        {
            SessionConn::Postgres(conn) => {
                let statements: Vec<(Option<i64>, statement::Statement)> = lookups
                    .iter()
                    .map(|l| {
                        (
                            l.lock.as_deref().map(lock_key),
                            search::page_statement(tenant, &l.query),
                        )
                    })
                    .collect();
                let message = message.map(|m| {
                    let name = message_lock_name(
                        &m.sending_application,
                        &m.sending_facility,
                        m.control_id.as_deref(),
                    );
                    (lock_key(&name), m)
                });
                postgres::begin_recording(conn, message, statements).await
            }
            SessionConn::Sqlite(conn) => {
                // One writer at a time: no locks to take, nothing to pipeline.
                sqlite::begin(conn).await?;
                let id = match message {
                    Some(message) => sqlite::insert_message(conn, message).await?,
                    None => None,
                };
                let mut found = Vec::with_capacity(lookups.len());
                for lookup in lookups {
                    found
                        .push(sqlite::load_found(conn, search::page_statement(tenant, &lookup.query)).await?);
                }
                Ok((id, found))
            }
        }
    }

    /// Records a message's outcome (and AuditEvent) and commits: on PostgreSQL
    /// they go with the staged creates' rows in one statement, the COMMIT
    /// pipelined behind it (`postgres::commit_finishing_message`).
    pub async fn commit_finishing_message(mut self, message: FinishedMessage<'_>) -> Result<(), StoreError> {
        let staged = std::mem::take(&mut self.staged);
        let tenant = self.tenant.clone();
        // Before the COMMIT, which on PostgreSQL goes out with the writes.
        self.invalidate_written().await;
        match self.conn_mut() {
            SessionConn::Postgres(conn) => {
                let written = postgres::commit_finishing_message(conn, &tenant, &staged, &message)
                    .instrument(db_span("finish_message"))
                    .await?;
                // Committed or rolled back, the transaction is over.
                self.in_transaction = false;
                written?;
                self.wake_job_runners().await;
                Ok(())
            }
            SessionConn::Sqlite(conn) => {
                let finishing = async move {
                    sqlite::finish_message(conn, message.id, message.outcome).await?;
                    if !staged.is_empty() {
                        sqlite::insert_staged(conn, &tenant, &staged).await?;
                    }
                    if let Some(event) = message.audit {
                        sqlite::insert_audit_events(conn, std::slice::from_ref(event)).await?;
                    }
                    Ok::<(), StoreError>(())
                };
                finishing.instrument(db_span("finish_message")).await?;
                self.commit_in_place().await
            }
        }
    }

    /// Stores the billing rows of claims seen for the first time, with their history.
    pub async fn insert_billing_claims(
        &mut self,
        claims: &[NewBillingClaim],
        history: &[StateChange],
    ) -> Result<(), StoreError> {
        on_session!(self, insert_billing_claims(claims, history))
    }

    /// The message `sender` already sent with `control_id`, if any.
    pub async fn find_message(
        &mut self,
        sending_application: &str,
        sending_facility: &str,
        control_id: &str,
    ) -> Result<Option<StoredMessage>, StoreError> {
        on_session!(
            self,
            find_message(sending_application, sending_facility, control_id)
        )
    }

    pub async fn get_message(&mut self, id: i64) -> Result<Option<StoredMessage>, StoreError> {
        on_session!(self, get_message(id))
    }

    pub async fn list_messages(&mut self, filter: &MessageFilter) -> Result<Vec<StoredMessage>, StoreError> {
        on_session!(self, list_messages(filter))
    }

    /// Records a received message (in a transaction: SQLite's writer lock is held);
    /// `None` when its sender's control id is already recorded.
    pub async fn insert_message(&mut self, message: &NewMessage) -> Result<Option<i64>, StoreError> {
        on_session!(self, insert_message(message))
    }

    pub async fn finish_message(&mut self, id: i64, outcome: &MessageOutcome) -> Result<(), StoreError> {
        on_session!(self, finish_message(id, outcome))
    }

    /// The claim's billing row, unlocked: for answers, not for moves.
    pub async fn read_claim_state(&mut self, claim_id: &str) -> Result<Option<ClaimStateRow>, StoreError> {
        on_session!(self, read_claim_state(claim_id))
    }

    /// The claim's billing row, locked until the transaction ends (PostgreSQL).
    pub async fn claim_state_for_update(
        &mut self,
        claim_id: &str,
    ) -> Result<Option<ClaimStateRow>, StoreError> {
        on_session!(self, claim_state_for_update(claim_id))
    }

    /// The billing row numbered `number` (see `claim_state_by_number_for_update`).
    pub async fn claim_state_by_number_for_update(
        &mut self,
        number: i64,
    ) -> Result<Option<ClaimStateRow>, StoreError> {
        on_session!(self, claim_state_by_number_for_update(number))
    }

    /// Gives a claim its first billing state, its total charge and payer; `None` if
    /// it already has one.
    pub async fn insert_claim_state(
        &mut self,
        claim: &NewBillingClaim,
    ) -> Result<Option<ClaimStateRow>, StoreError> {
        on_session!(self, insert_claim_state(claim))
    }

    /// A page of the billers' worklist (see `worklist_ops.rs`).
    pub async fn list_worklist(
        &mut self,
        filter: &worklist::WorklistFilter,
    ) -> Result<Vec<worklist::WorklistRow>, StoreError> {
        on_session!(self, list_worklist(filter))
    }

    /// One claim's worklist row; `None` when billing has not seen the claim.
    pub async fn worklist_entry(
        &mut self,
        claim_id: &str,
    ) -> Result<Option<worklist::WorklistRow>, StoreError> {
        on_session!(self, worklist_entry(claim_id))
    }

    /// Gives the claims to `assignee` (`None`: to nobody); how many it found.
    pub async fn assign_claims(
        &mut self,
        claim_ids: &[String],
        assignee: Option<&str>,
    ) -> Result<usize, StoreError> {
        on_session!(self, assign_claims(claim_ids, assignee))
    }

    /// The payers claims are billed to, by name, at most `limit`.
    pub async fn worklist_payers(&mut self, limit: i64) -> Result<Vec<String>, StoreError> {
        on_session!(self, worklist_payers(limit))
    }

    /// Notes a submission of the claim (see `billing_ops.rs`).
    pub async fn mark_claim_submitted(
        &mut self,
        claim_id: &str,
        at: chrono::DateTime<chrono::Utc>,
        charge_cents: Option<i64>,
    ) -> Result<(), StoreError> {
        on_session!(self, mark_claim_submitted(claim_id, at, charge_cents))
    }

    /// Notes a payment posted on the claim; only the first is kept.
    pub async fn mark_claim_paid(
        &mut self,
        claim_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        on_session!(self, mark_claim_paid(claim_id, at))
    }

    /// The billing dashboard's figures (see `dashboard_ops.rs`).
    pub async fn kpi_figures(&mut self, query: &KpiQuery<'_>) -> Result<KpiFigures, StoreError> {
        on_session!(self, kpi_figures(query))
    }

    /// Billed and collected per day, a day from each of `days` (see `dashboard_ops.rs`).
    pub async fn daily_figures(
        &mut self,
        days: &[chrono::DateTime<chrono::Utc>],
        collected_kinds: &[&str],
    ) -> Result<Vec<dashboard::DayFigures>, StoreError> {
        on_session!(self, daily_figures(days, collected_kinds))
    }

    /// The denial reasons recorded most often in the period, most first.
    pub async fn top_denial_codes(
        &mut self,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        on_session!(self, top_denial_codes(start, end, limit))
    }

    /// Moves a claim to `change.to_state` and records the move.
    pub async fn record_state_change(&mut self, change: &StateChange) -> Result<(), StoreError> {
        on_session!(
            self,
            set_claim_state(&change.claim_id, &change.to_state, change.at)
        )?;
        on_session!(self, insert_state_change(change))
    }

    pub async fn state_history(&mut self, claim_id: &str) -> Result<Vec<StateChange>, StoreError> {
        on_session!(self, state_history(claim_id))
    }

    pub async fn reserve_interchange(
        &mut self,
        kind: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64, StoreError> {
        on_session!(self, reserve_interchange(kind, at))
    }

    pub async fn store_interchange(&mut self, control_number: i64, document: &str) -> Result<(), StoreError> {
        on_session!(self, store_interchange(control_number, document))
    }

    /// Records a remittance; `None` when the payer's trace number is already recorded
    /// (in a transaction: a concurrent one recording it is waited for).
    pub async fn insert_remittance(
        &mut self,
        remittance: &NewRemittance<'_>,
    ) -> Result<Option<i64>, StoreError> {
        on_session!(self, insert_remittance(remittance))
    }

    /// The posting report of a recorded remittance.
    pub async fn remittance_report(
        &mut self,
        payer_id: &str,
        trace_number: &str,
    ) -> Result<Option<String>, StoreError> {
        on_session!(self, remittance_report(payer_id, trace_number))
    }

    pub async fn set_remittance_report(
        &mut self,
        id: i64,
        report: &str,
        posted_claims: i64,
        unmatched_claims: i64,
    ) -> Result<(), StoreError> {
        on_session!(
            self,
            set_remittance_report(id, report, posted_claims, unmatched_claims)
        )
    }

    /// The posting report of the remittance with this id.
    pub async fn remittance_report_by_id(&mut self, id: i64) -> Result<Option<String>, StoreError> {
        on_session!(self, remittance_report_by_id(id))
    }

    /// Remittances newest first (see `remittance_ops.rs`).
    pub async fn list_remittances(
        &mut self,
        filter: &RemittanceFilter<'_>,
    ) -> Result<Vec<RemittanceSummary>, StoreError> {
        on_session!(self, list_remittances(filter))
    }

    pub async fn insert_ledger_entries(&mut self, entries: &[NewLedgerEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        on_session!(self, insert_ledger_entries(entries))
    }

    /// The remittances that posted on the claim, oldest first.
    pub async fn claim_remittances(&mut self, claim_id: &str) -> Result<Vec<i64>, StoreError> {
        on_session!(self, claim_remittances(claim_id))
    }

    /// `(id, trace number)` of the stored remittances among `ids`, by id.
    pub async fn remittance_traces(&mut self, ids: &[i64]) -> Result<Vec<(i64, String)>, StoreError> {
        on_session!(self, remittance_traces(ids))
    }

    /// `(trace number, 835 text)` of a stored remittance.
    pub async fn remittance_document(&mut self, id: i64) -> Result<Option<(String, String)>, StoreError> {
        on_session!(self, remittance_document(id))
    }

    pub async fn claim_ledger(&mut self, claim_id: &str) -> Result<Vec<LedgerAmount>, StoreError> {
        on_session!(self, claim_ledger(claim_id))
    }

    pub async fn insert_unmatched_claim(&mut self, claim: &NewUnmatchedClaim) -> Result<(), StoreError> {
        on_session!(self, insert_unmatched_claim(claim))
    }

    /// Unmatched claim payments, newest first.
    pub async fn list_unmatched_claims(
        &mut self,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<UnmatchedClaim>, StoreError> {
        on_session!(self, list_unmatched_claims(before_id, limit))
    }

    pub async fn insert_denial(&mut self, record: &NewDenialRecord) -> Result<i64, StoreError> {
        on_session!(self, insert_denial(record))
    }

    /// The claim's denials, oldest first.
    pub async fn claim_denials(&mut self, claim_id: &str) -> Result<Vec<DenialRecord>, StoreError> {
        on_session!(self, claim_denials(claim_id))
    }

    /// How many of the claim's denials `playbook_id` has handled.
    pub async fn playbook_attempts(&mut self, claim_id: &str, playbook_id: &str) -> Result<i64, StoreError> {
        on_session!(self, playbook_attempts(claim_id, playbook_id))
    }

    /// A page of denials, newest first.
    pub async fn list_denials(&mut self, filter: &DenialFilter) -> Result<Vec<DenialRecord>, StoreError> {
        on_session!(self, list_denials(filter))
    }

    pub async fn denial(&mut self, id: i64) -> Result<Option<DenialRecord>, StoreError> {
        on_session!(self, denial(id))
    }

    /// Resolves an unresolved denial; `None` when there is none by that id or it is
    /// resolved already.
    pub async fn resolve_denial(
        &mut self,
        id: i64,
        resolution: &Resolution<'_>,
    ) -> Result<Option<DenialRecord>, StoreError> {
        on_session!(self, resolve_denial(id, resolution))
    }

    /// Stores a new integration; `false` when its name is taken in its tenant (in a
    /// transaction on PostgreSQL, which the failed insert aborts).
    pub async fn insert_integration(&mut self, record: &IntegrationRecord) -> Result<bool, StoreError> {
        on_session!(self, insert_integration(record))
    }

    /// Rewrites an integration; `false` when its new name is taken in its tenant.
    pub async fn update_integration(&mut self, record: &IntegrationRecord) -> Result<bool, StoreError> {
        on_session!(self, update_integration(record))
    }

    pub async fn integration(&mut self, id: &str) -> Result<Option<IntegrationRecord>, StoreError> {
        on_session!(self, integration(id))
    }

    /// The integration, locked until the transaction ends (PostgreSQL).
    pub async fn integration_for_update(
        &mut self,
        id: &str,
    ) -> Result<Option<IntegrationRecord>, StoreError> {
        on_session!(self, integration_for_update(id))
    }

    /// A tenant's integrations (of one category, or all) in priority order.
    pub async fn list_integrations(
        &mut self,
        tenant: &str,
        category: Option<&str>,
    ) -> Result<Vec<IntegrationRecord>, StoreError> {
        on_session!(self, list_integrations(tenant, category))
    }

    pub async fn insert_auth_client(&mut self, row: &auth::ClientRow) -> Result<(), StoreError> {
        on_session!(self, insert_auth_client(row))
    }

    pub async fn auth_client(&mut self, client_id: &str) -> Result<Option<auth::ClientRow>, StoreError> {
        on_session!(self, auth_client(client_id))
    }

    /// Every registered client, oldest first.
    pub async fn list_auth_clients(&mut self) -> Result<Vec<auth::ClientRow>, StoreError> {
        on_session!(self, list_auth_clients())
    }

    /// `false` when there is no such client.
    pub async fn delete_auth_client(&mut self, client_id: &str) -> Result<bool, StoreError> {
        on_session!(self, delete_auth_client(client_id))
    }

    /// Every signing key, newest first.
    pub async fn signing_keys(&mut self) -> Result<Vec<auth::SigningKeyRow>, StoreError> {
        on_session!(self, signing_keys())
    }

    /// Stores a new signing key and retires the others, in the session's transaction.
    pub async fn rotate_signing_key(&mut self, row: &auth::SigningKeyRow) -> Result<(), StoreError> {
        let now = chrono::Utc::now();
        on_session!(self, insert_signing_key(row))?;
        on_session!(self, retire_signing_keys_except(&row.kid, now))
    }

    /// Replaces a signing key's sealed private half.
    pub async fn set_signing_key_private(
        &mut self,
        kid: &str,
        sealed: &SealedColumns,
    ) -> Result<(), StoreError> {
        on_session!(self, set_signing_key_private(kid, sealed))
    }

    /// Removes keys retired before `before`.
    pub async fn drop_signing_keys_retired_before(
        &mut self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        on_session!(self, drop_signing_keys_retired_before(before))
    }

    /// Records a client assertion id; `false` for a replay of an unexpired one.
    pub async fn use_assertion_jti(
        &mut self,
        client_id: &str,
        jti: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        on_session!(
            self,
            use_assertion_jti(client_id, jti, expires_at, chrono::Utc::now())
        )
    }

    pub async fn insert_auth_user(&mut self, row: &auth::UserRow) -> Result<(), StoreError> {
        on_session!(self, insert_auth_user(row))
    }

    pub async fn auth_user(&mut self, user_id: &str) -> Result<Option<auth::UserRow>, StoreError> {
        on_session!(self, auth_user(user_id))
    }

    pub async fn auth_user_named(&mut self, username: &str) -> Result<Option<auth::UserRow>, StoreError> {
        on_session!(self, auth_user_named(username))
    }

    /// Every user, oldest first.
    pub async fn list_auth_users(&mut self) -> Result<Vec<auth::UserRow>, StoreError> {
        on_session!(self, list_auth_users())
    }

    /// `false` when there is no such user.
    pub async fn delete_auth_user(&mut self, user_id: &str) -> Result<bool, StoreError> {
        on_session!(self, delete_auth_user(user_id))
    }

    /// Stores an authorization code (and sweeps expired ones).
    pub async fn insert_auth_code(&mut self, row: &auth::CodeRow) -> Result<(), StoreError> {
        on_session!(self, insert_auth_code(row, chrono::Utc::now()))
    }

    /// Removes and returns the code: it redeems once.
    pub async fn take_auth_code(&mut self, code_hash: &str) -> Result<Option<auth::CodeRow>, StoreError> {
        on_session!(self, take_auth_code(code_hash))
    }

    pub async fn insert_refresh_token(&mut self, row: &auth::RefreshTokenRow) -> Result<(), StoreError> {
        on_session!(self, insert_refresh_token(row))
    }

    pub async fn refresh_token(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<auth::RefreshTokenRow>, StoreError> {
        on_session!(self, refresh_token(token_hash))
    }

    /// Marks a refresh token used; what it was.
    pub async fn use_refresh_token(&mut self, token_hash: &str) -> Result<auth::RefreshUse, StoreError> {
        on_session!(self, use_refresh_token(token_hash, chrono::Utc::now()))
    }

    /// Forgets a grant's refresh tokens and revokes its access tokens until `until`.
    pub async fn revoke_refresh_family(
        &mut self,
        family_id: &str,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        on_session!(self, revoke_refresh_family(family_id, until))
    }

    /// Records an access token (by jti) revoked until it expires.
    pub async fn insert_revocation(
        &mut self,
        revoked_id: &str,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        on_session!(self, insert_revocation(revoked_id, until))
    }

    /// Whether any of `ids` (a token's jti, its grant) is revoked.
    pub async fn any_revoked(&mut self, ids: &[&str]) -> Result<bool, StoreError> {
        on_session!(self, any_revoked(ids))
    }

    pub async fn insert_launch_context(&mut self, row: &auth::LaunchContextRow) -> Result<(), StoreError> {
        on_session!(self, insert_launch_context(row, chrono::Utc::now()))
    }

    /// The launch context, unless unknown or expired.
    pub async fn launch_context(
        &mut self,
        launch_id: &str,
    ) -> Result<Option<auth::LaunchContextRow>, StoreError> {
        on_session!(self, launch_context(launch_id, chrono::Utc::now()))
    }

    /// The newest migration applied to the database.
    pub async fn latest_applied_migration(&mut self) -> Result<Option<String>, StoreError> {
        on_session!(self, latest_applied_migration())
    }

    /// Analyzes the tables that have rows and no planner statistics yet (see
    /// `store::statistics`); their names.
    pub async fn analyze_tables_without_statistics(&mut self) -> Result<Vec<String>, StoreError> {
        on_session!(self, analyze_tables_without_statistics())
    }

    /// Where the integration's feed was read up to; `None` before its first page.
    pub async fn feed_cursor(
        &mut self,
        integration_id: &str,
        feed: &str,
    ) -> Result<Option<String>, StoreError> {
        on_session!(self, feed_cursor(integration_id, feed))
    }

    /// Saves the feed's cursor (in the transaction that commits what its page held).
    pub async fn save_feed_cursor(
        &mut self,
        integration_id: &str,
        feed: &str,
        cursor: &str,
    ) -> Result<(), StoreError> {
        on_session!(
            self,
            save_feed_cursor(integration_id, feed, cursor, chrono::Utc::now())
        )
    }

    /// Stores a verified webhook event; `false` for a redelivery of one stored.
    pub async fn insert_webhook_event(&mut self, event: &NewWebhookEvent) -> Result<bool, StoreError> {
        on_session!(self, insert_webhook_event(event))
    }

    /// Posts a patient payment or refund; `false` when it was posted before.
    pub async fn insert_patient_payment(&mut self, payment: &PatientPayment) -> Result<bool, StoreError> {
        on_session!(self, insert_patient_payment(payment))
    }

    pub async fn claim_patient_payments(
        &mut self,
        claim_id: &str,
    ) -> Result<Vec<PatientPayment>, StoreError> {
        on_session!(self, claim_patient_payments(claim_id))
    }

    pub async fn billing_claim_exists(&mut self, claim_id: &str) -> Result<bool, StoreError> {
        on_session!(self, billing_claim_exists(claim_id))
    }

    /// Stores a batch of integration attempts in one statement.
    pub async fn insert_attempts(&mut self, records: &[AttemptRecord]) -> Result<(), StoreError> {
        on_session!(self, insert_attempts(records))
    }

    /// Integration attempts by subject and/or integration, newest first.
    pub async fn list_attempts(&mut self, filter: &AttemptFilter) -> Result<Vec<AttemptRecord>, StoreError> {
        on_session!(self, list_attempts(filter))
    }

    /// Stores a batch of audit events (in the session's transaction: one commit).
    pub async fn insert_audit_events(&mut self, events: &[audit::NewAuditEvent]) -> Result<(), StoreError> {
        on_session!(self, insert_audit_events(events))
    }

    /// A page of one tenant's audit events, newest first.
    pub async fn search_audit_events(
        &mut self,
        filter: &audit::AuditFilter,
    ) -> Result<Vec<audit::StoredAuditEvent>, StoreError> {
        on_session!(self, search_audit_events(filter))
    }

    /// One of `tenant`'s audit events by id.
    pub async fn audit_event(
        &mut self,
        tenant: &str,
        event_id: &str,
    ) -> Result<Option<audit::StoredAuditEvent>, StoreError> {
        on_session!(self, audit_event(tenant, event_id))
    }

    /// Every tenant's integrations, for key rotation.
    pub async fn all_integrations(&mut self) -> Result<Vec<IntegrationRecord>, StoreError> {
        on_session!(self, all_integrations())
    }

    /// The priority that puts a new integration last in its tenant and category.
    pub async fn next_integration_priority(
        &mut self,
        tenant: &str,
        category: &str,
    ) -> Result<i32, StoreError> {
        on_session!(self, next_integration_priority(tenant, category))
    }

    pub async fn set_integration_priority(
        &mut self,
        id: &str,
        priority: i32,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        on_session!(self, set_integration_priority(id, priority, at))
    }

    pub async fn set_integration_credentials(
        &mut self,
        id: &str,
        sealed: &SealedColumns,
    ) -> Result<(), StoreError> {
        on_session!(self, set_integration_credentials(id, sealed))
    }

    /// `false` when there is no integration by that id.
    pub async fn delete_integration(&mut self, id: &str) -> Result<bool, StoreError> {
        on_session!(self, delete_integration(id))
    }

    /// Stores a queued job; `None` when a live job already has its dedupe key.
    pub async fn insert_job(&mut self, job: &NewJobRecord) -> Result<Option<JobRecord>, StoreError> {
        let inserted = on_session!(self, insert_job(job))?;
        if inserted.is_some() {
            self.note_jobs_queued().await;
        }
        Ok(inserted)
    }

    /// The queued or running job with this dedupe key.
    pub async fn live_job_with_key(&mut self, key: &str) -> Result<Option<JobRecord>, StoreError> {
        on_session!(self, live_job_with_key(key))
    }

    /// Stores a queued job unless any job, finished or not, has the key `key`.
    pub async fn insert_job_unless_keyed(
        &mut self,
        job: &NewJobRecord,
        key: &str,
    ) -> Result<bool, StoreError> {
        let inserted = on_session!(self, insert_job_unless_keyed(job, key))?;
        if inserted {
            self.note_jobs_queued().await;
        }
        Ok(inserted)
    }

    /// Whether a job of `kinds` is due or has a lapsed lease (a read).
    pub async fn has_claimable_jobs(
        &mut self,
        kinds: &[String],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        on_session!(self, has_claimable_jobs(kinds, now))
    }

    /// Claims due jobs (see `jobs_ops.rs`).
    pub async fn claim_jobs(&mut self, request: &ClaimRequest<'_>) -> Result<Vec<JobRecord>, StoreError> {
        on_session!(self, claim_jobs(request))
    }

    /// Marks dead the running jobs whose lease lapsed on their last attempt.
    pub async fn bury_lapsed_jobs(
        &mut self,
        kinds: &[String],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, StoreError> {
        on_session!(self, bury_lapsed_jobs(kinds, now))
    }

    /// Ends the attempt `lease`; `false` when the lease is no longer the job's.
    pub async fn settle_job(
        &mut self,
        lease: &Lease,
        settlement: Settlement<'_>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        on_session!(self, settle_job(lease, settlement, now))
    }

    /// `false` when the lease is no longer the job's.
    pub async fn extend_job_lease(
        &mut self,
        lease: &Lease,
        until: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        on_session!(self, extend_job_lease(lease, until, now))
    }

    pub async fn job(&mut self, id: JobId) -> Result<Option<JobRecord>, StoreError> {
        on_session!(self, job(id))
    }

    /// The job, locked until the transaction ends (PostgreSQL).
    pub async fn job_for_update(&mut self, id: JobId) -> Result<Option<JobRecord>, StoreError> {
        on_session!(self, job_for_update(id))
    }

    /// Queues a dead job again; `false` when a live job holds its dedupe key.
    pub async fn requeue_job(
        &mut self,
        id: JobId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let requeued = on_session!(self, requeue_job(id, now))?;
        if requeued {
            self.note_jobs_queued().await;
        }
        Ok(requeued)
    }

    /// A page of jobs, newest first.
    pub async fn list_jobs(&mut self, filter: &JobFilter) -> Result<Vec<JobRecord>, StoreError> {
        on_session!(self, list_jobs(filter))
    }

    pub async fn job_counts(&mut self) -> Result<Vec<JobCount>, StoreError> {
        on_session!(self, job_counts())
    }

    /// Each kind's queued jobs (for the metrics).
    pub async fn queued_jobs(
        &mut self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<QueuedJobs>, StoreError> {
        on_session!(self, queued_jobs(now))
    }

    /// How many claims are in each billing state (for the metrics).
    pub async fn claims_by_state(&mut self) -> Result<Vec<(String, i64)>, StoreError> {
        on_session!(self, claims_by_state())
    }

    /// The earliest `run_at` of each kind's queued jobs.
    pub async fn oldest_queued_jobs(
        &mut self,
    ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, StoreError> {
        on_session!(self, oldest_queued_jobs())
    }

    pub async fn insert_webhook_subscription(
        &mut self,
        record: &SubscriptionRecord,
    ) -> Result<(), StoreError> {
        on_session!(self, insert_webhook_subscription(record))
    }

    /// `false` when there is no subscription by that id.
    pub async fn update_webhook_subscription(
        &mut self,
        record: &SubscriptionRecord,
    ) -> Result<bool, StoreError> {
        on_session!(self, update_webhook_subscription(record))
    }

    pub async fn webhook_subscription(&mut self, id: &str) -> Result<Option<SubscriptionRecord>, StoreError> {
        on_session!(self, webhook_subscription(id))
    }

    /// The subscription, locked until the transaction ends (PostgreSQL).
    pub async fn webhook_subscription_for_update(
        &mut self,
        id: &str,
    ) -> Result<Option<SubscriptionRecord>, StoreError> {
        on_session!(self, webhook_subscription_for_update(id))
    }

    /// A tenant's subscriptions, oldest first.
    pub async fn list_webhook_subscriptions(
        &mut self,
        tenant: &str,
    ) -> Result<Vec<SubscriptionRecord>, StoreError> {
        on_session!(self, list_webhook_subscriptions(tenant))
    }

    /// Every tenant's subscriptions, for key rotation.
    pub async fn all_webhook_subscriptions(&mut self) -> Result<Vec<SubscriptionRecord>, StoreError> {
        on_session!(self, all_webhook_subscriptions())
    }

    pub async fn set_webhook_secret(&mut self, id: &str, sealed: &SealedColumns) -> Result<(), StoreError> {
        on_session!(self, set_webhook_secret(id, sealed))
    }

    /// `false` when there is no subscription by that id.
    pub async fn delete_webhook_subscription(&mut self, id: &str) -> Result<bool, StoreError> {
        on_session!(self, delete_webhook_subscription(id))
    }

    /// The enabled webhook subscriptions of every tenant, read once per session and
    /// not at all while the store knows there are none.
    pub async fn webhook_targets(&mut self) -> Result<Arc<[WebhookTarget]>, StoreError> {
        if let Some(read) = &self.webhook_targets.read {
            return Ok(Arc::clone(read));
        }
        let presence = Arc::clone(&self.webhook_targets.presence);
        let targets: Arc<[WebhookTarget]> = if presence.known_none() {
            Arc::from([])
        } else {
            let generation = presence.generation();
            let read: Arc<[WebhookTarget]> = on_session!(self, enabled_webhook_targets())?.into();
            if read.is_empty() {
                presence.saw_none(generation);
            }
            read
        };
        self.webhook_targets.read = Some(Arc::clone(&targets));
        Ok(targets)
    }

    pub async fn insert_webhook_delivery(&mut self, record: &DeliveryRecord) -> Result<(), StoreError> {
        on_session!(self, insert_webhook_delivery(record))
    }

    /// A subscription's delivery attempts, newest first.
    pub async fn list_webhook_deliveries(
        &mut self,
        subscription_id: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        on_session!(self, list_webhook_deliveries(subscription_id, before, limit))
    }

    /// A create in a transaction: version 1 of a server-minted id, so its outcome is
    /// known without the database; its rows go with the next flush.
    fn stage_create(
        &mut self,
        request: WriteRequest<'_>,
        render: &(dyn Fn(NewVersion) -> RenderedVersion + Sync),
    ) -> WriteOutcome {
        let version = NewVersion {
            version_id: 1,
            last_updated: chrono::Utc::now().trunc_subsecs(3),
        };
        let rendered = render(version);
        let body = rendered.body.clone();
        self.staged.push(StagedCreate {
            res_type: request.res_type.to_owned(),
            res_id: request.id.to_owned(),
            last_updated: version.last_updated,
            rendered,
        });
        WriteOutcome {
            version_id: version.version_id,
            last_updated: version.last_updated,
            created: true,
            body: Some(body),
        }
    }

    fn is_staged(&self, res_type: &str, id: &str) -> bool {
        self.staged
            .iter()
            .any(|c| c.res_type == res_type && c.res_id == id)
    }

    /// Flushes staged creates a search could match; creates of types it does not
    /// read stay staged, so a message's or Bundle's lookups and writes do not
    /// alternate with a flush after each.
    async fn flush_staged_read_by(&mut self, query: &SearchQuery) -> Result<(), StoreError> {
        if self.staged.iter().any(|c| query.reads_type(&c.res_type)) {
            self.flush_staged().await?;
        }
        Ok(())
    }

    /// Sends the staged creates now rather than before the next read that could
    /// see them or at commit: to write while waiting for something else to commit.
    pub async fn flush_staged(&mut self) -> Result<(), StoreError> {
        if self.staged.is_empty() {
            return Ok(());
        }
        let staged = std::mem::take(&mut self.staged);
        on_session!(self, insert_staged(&self.tenant, &staged))
    }

    pub async fn commit(mut self) -> Result<(), StoreError> {
        self.flush_staged().await?;
        self.commit_in_place().await
    }

    /// Invalidates the cache entries of what the transaction wrote, commits, then
    /// wakes job runners if it queued jobs (see `crate::cache` for why in this
    /// order).
    async fn commit_in_place(&mut self) -> Result<(), StoreError> {
        self.invalidate_written().await;
        on_session!(self, commit())?;
        self.in_transaction = false;
        self.wake_job_runners().await;
        Ok(())
    }

    /// Drops the cache entries of what the transaction wrote (before its COMMIT).
    async fn invalidate_written(&mut self) {
        if let Some(cache) = &self.cache {
            cache.invalidate(std::mem::take(&mut self.written)).await;
        }
    }

    /// Wakes job runners if the transaction queued jobs (after its COMMIT).
    async fn wake_job_runners(&mut self) {
        if std::mem::take(&mut self.jobs_queued) {
            self.job_wake.queued().await;
        }
    }

    pub async fn rollback(mut self) -> Result<(), StoreError> {
        on_session!(self, rollback())?;
        self.in_transaction = false;
        Ok(())
    }
}

/// The advisory lock of a message's sender and control id (see
/// `postgres::begin_recording`).
fn message_lock_name(sending_application: &str, sending_facility: &str, control_id: Option<&str>) -> String {
    format!(
        "hl7-message\u{1f}{sending_application}\u{1f}{sending_facility}\u{1f}{}",
        control_id.unwrap_or_default()
    )
}

/// The advisory lock number of `key` (all 64 bits: collisions only make two unrelated
/// writers wait for each other).
fn lock_key(key: &str) -> i64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes()) as i64
}

fn pool_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Pool(error.to_string())
}

/// SQLite tuned for a server: WAL lets readers run beside the writer, and the busy
/// timeout covers the rare moments a checkpoint holds the lock.
async fn open_sqlite(path: String) -> diesel::ConnectionResult<SyncConnectionWrapper<SqliteConnection>> {
    let mut conn = SyncConnectionWrapper::<SqliteConnection>::establish(&path).await?;
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
    )
    .await
    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// Applies the embedded migrations of the selected backend. Creates the SQLite file
/// (and its directory) when it does not exist yet.
pub async fn migrate(kind: &DatabaseKind) -> Result<(), StoreError> {
    match kind {
        DatabaseKind::Postgres(url) => {
            let conn = AsyncPgConnection::establish(url).await?;
            run_migrations(conn, POSTGRES_MIGRATIONS)
        }
        DatabaseKind::Sqlite(path) => {
            if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Migration(format!("cannot create {}: {e}", dir.display())))?;
            }
            run_migrations(open_sqlite(path.clone()).await?, SQLITE_MIGRATIONS)
        }
    }
}

fn run_migrations<C>(conn: C, migrations: EmbeddedMigrations) -> Result<(), StoreError>
where
    C: AsyncConnection + 'static,
    AsyncMigrationHarness<C>: MigrationHarness<C::Backend>,
{
    let mut harness = AsyncMigrationHarness::new(conn);
    harness
        .run_pending_migrations(migrations)
        .map(|_| ())
        .map_err(|e| StoreError::Migration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::messages::{MessageStatus, NewMessage};
    use super::*;

    fn message(control_id: &str) -> NewMessage {
        NewMessage {
            received_at: chrono::Utc::now(),
            sending_application: "APP".into(),
            sending_facility: "FAC".into(),
            control_id: Some(control_id.into()),
            message_type: "ADT^A01".into(),
            version: "2.5.1".into(),
            status: MessageStatus::Applied,
            error: None,
            raw: "MSH|^~\\&|APP|FAC".into(),
            ack: String::new(),
        }
    }

    /// A transaction abandoned by an early return must not keep SQLite's write lock
    /// (or PostgreSQL's row locks) on a connection parked in the pool.
    // Migrations block in place, which needs the multi-threaded runtime.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_dropped_transaction_releases_the_database_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
        let store = Database::open(&url).await.unwrap().store(2).unwrap();
        // Held throughout so the abandoned connection cannot be the one reused.
        let mut other = store.session().await.unwrap();
        let mut abandoned = store.begin().await.unwrap();
        abandoned.insert_message(&message("1")).await.unwrap().unwrap();
        drop(abandoned);

        let started = std::time::Instant::now();
        other.insert_message(&message("2")).await.unwrap().unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(other.find_message("APP", "FAC", "1").await.unwrap().is_none());
    }
}
