//! Durable storage of FHIR resources: one API over PostgreSQL (production) and an
//! embedded SQLite file (the zero-install default).
//!
//! The query code lives once in `ops.rs` and is compiled for each backend's
//! connection type; `Store` picks the backend from the database URL and dispatches.
//! SQLite allows one writer at a time, so writes there are queued on a mutex instead
//! of failing with "database is locked".

pub mod model;
mod rows;
mod schema;
mod sql_types;
mod token_hash;

use std::path::Path;
use std::sync::Arc;

use diesel::sqlite::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Pool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures_util::FutureExt;
use tokio::sync::Mutex;

use model::{
    CurrentResource, HistoryEntry, HistoryQuery, NewVersion, RenderedVersion, WriteOutcome, WriteRequest,
};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How often a write is retried when a concurrent writer took the same version.
const WRITE_ATTEMPTS: usize = 3;

mod postgres {
    pub type Conn = diesel_async::AsyncPgConnection;
    include!("ops.rs");

    /// Row-locks the current version so concurrent writers of one resource queue
    /// instead of racing for the next version number.
    async fn lock_current(
        conn: &mut Conn,
        res_type: &str,
        id: &str,
    ) -> Result<Option<CurrentRow>, StoreError> {
        Ok(current_row(res_type, id)
            .for_update()
            .first(conn)
            .await
            .optional()?)
    }

    async fn insert_token_rows(conn: &mut Conn, rows: &[NewTokenRow<'_>]) -> Result<(), StoreError> {
        diesel::insert_into(search_token::table)
            .values(rows)
            .execute(conn)
            .await?;
        Ok(())
    }
}

mod sqlite {
    pub type Conn =
        diesel_async::sync_connection_wrapper::SyncConnectionWrapper<diesel::sqlite::SqliteConnection>;
    include!("ops.rs");

    /// SQLite has no row locks; `Store` already runs one write at a time.
    async fn lock_current(
        conn: &mut Conn,
        res_type: &str,
        id: &str,
    ) -> Result<Option<CurrentRow>, StoreError> {
        Ok(current_row(res_type, id).first(conn).await.optional()?)
    }

    /// diesel_async cannot send a multi-row INSERT to SQLite; rows go one by one,
    /// which costs little on an in-process database inside one transaction.
    async fn insert_token_rows(conn: &mut Conn, rows: &[NewTokenRow<'_>]) -> Result<(), StoreError> {
        for row in rows {
            diesel::insert_into(search_token::table)
                .values(row)
                .execute(conn)
                .await?;
        }
        Ok(())
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
}

/// Calls the same `ops` function on whichever backend is in use.
macro_rules! on_backend {
    ($store:expr, $op:ident($($arg:expr),*)) => {
        match &$store.backend {
            Backend::Postgres(pool) => postgres::$op(&mut *pool.get().await?, $($arg),*).await,
            Backend::Sqlite { pool, .. } => sqlite::$op(&mut *pool.get().await?, $($arg),*).await,
        }
    };
}

/// An opened, migrated database from which each HTTP worker takes a `Store` with a
/// pool of its own: a PostgreSQL connection is driven by the runtime that opened it,
/// so sharing one pool across worker threads would add a cross-thread hop to every
/// query.
pub struct Database {
    kind: DatabaseKind,
    /// SQLite's single writer, shared by every worker's store.
    sqlite_writer: Arc<Mutex<()>>,
}

impl Database {
    /// Opens the database named by `url`, applying pending migrations first.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let kind = DatabaseKind::from_url(url)?;
        migrate(&kind).await?;
        Ok(Database {
            kind,
            sqlite_writer: Arc::new(Mutex::new(())),
        })
    }

    /// A store with a pool of up to `pool_size` connections, opened lazily.
    pub fn store(&self, pool_size: usize) -> Result<Store, StoreError> {
        let backend = match &self.kind {
            DatabaseKind::Postgres(url) => {
                let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
                Backend::Postgres(
                    Pool::builder(manager)
                        .max_size(pool_size)
                        .build()
                        .map_err(pool_error)?,
                )
            }
            DatabaseKind::Sqlite(path) => {
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(|path| open_sqlite(path.to_owned()).boxed());
                let manager = AsyncDieselConnectionManager::new_with_config(path, config);
                let pool = Pool::builder(manager)
                    .max_size(pool_size)
                    .build()
                    .map_err(pool_error)?;
                Backend::Sqlite {
                    pool,
                    writer: Arc::clone(&self.sqlite_writer),
                }
            }
        };
        Ok(Store { backend })
    }
}

impl Store {
    pub async fn read_current(
        &self,
        res_type: &str,
        id: &str,
    ) -> Result<Option<CurrentResource>, StoreError> {
        on_backend!(self, read_current(res_type, id))
    }

    pub async fn read_version(
        &self,
        res_type: &str,
        id: &str,
        version_id: i64,
    ) -> Result<Option<HistoryEntry>, StoreError> {
        on_backend!(self, read_version(res_type, id, version_id))
    }

    pub async fn history(&self, query: HistoryQuery<'_>) -> Result<Vec<HistoryEntry>, StoreError> {
        on_backend!(self, history(query))
    }

    pub async fn find_ids_by_token(
        &self,
        res_type: &str,
        param: &str,
        system: Option<&str>,
        code: &str,
    ) -> Result<Vec<String>, StoreError> {
        on_backend!(self, find_ids_by_token(res_type, param, system, code))
    }

    /// Writes a new version (or a deletion) in one transaction, retrying when a
    /// concurrent writer claimed the same version number first.
    pub async fn write(
        &self,
        request: WriteRequest<'_>,
        render: &(dyn Fn(NewVersion) -> RenderedVersion + Sync),
    ) -> Result<WriteOutcome, StoreError> {
        let _queued = match &self.backend {
            Backend::Sqlite { writer, .. } => Some(writer.lock().await),
            Backend::Postgres(_) => None,
        };
        let mut attempt = 1;
        loop {
            match on_backend!(self, write(request, render)) {
                Err(StoreError::WriteRace) if attempt < WRITE_ATTEMPTS => attempt += 1,
                outcome => return outcome,
            }
        }
    }
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
