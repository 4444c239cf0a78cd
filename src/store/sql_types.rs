//! Column types whose storage differs between PostgreSQL and SQLite.
//!
//! Declaring them once, with one encoding per backend, lets a single `table!` schema
//! and a single copy of the query code serve both databases.

use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::query_builder::QueryId;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{BigInt, SqlType, Timestamptz};
use diesel::sqlite::{Sqlite, SqliteValue};

/// A UTC instant: `timestamptz` on PostgreSQL, microseconds since the epoch on SQLite
/// (an integer keeps range comparisons exact and index-friendly there).
#[derive(SqlType, QueryId, Debug, Clone, Copy)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Long"))]
pub struct UtcTimestamp;

/// A point in time as stored in `UtcTimestamp` columns (microsecond precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = UtcTimestamp)]
pub struct StoredInstant(pub DateTime<Utc>);

impl ToSql<UtcTimestamp, Pg> for StoredInstant {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <DateTime<Utc> as ToSql<Timestamptz, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<UtcTimestamp, Pg> for StoredInstant {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <DateTime<Utc> as FromSql<Timestamptz, Pg>>::from_sql(value).map(StoredInstant)
    }
}

impl ToSql<UtcTimestamp, Sqlite> for StoredInstant {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.timestamp_micros());
        Ok(IsNull::No)
    }
}

impl FromSql<UtcTimestamp, Sqlite> for StoredInstant {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let micros = <i64 as FromSql<BigInt, Sqlite>>::from_sql(value)?;
        DateTime::from_timestamp_micros(micros)
            .map(StoredInstant)
            .ok_or_else(|| "timestamp out of range".into())
    }
}
