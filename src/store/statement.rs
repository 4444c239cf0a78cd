//! A SQL statement assembled at run time with its bind values, runnable on both
//! backends through diesel: search builds its WHERE clauses from the request, so
//! the query cannot be a static diesel expression. Bind placeholders (`$n` or `?`)
//! are written by diesel for the backend at hand; values are never spliced in.
//! A part may be PostgreSQL's alone: a predicate on a column only its schema has.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Double, Nullable, Text, Untyped};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

use crate::store::sql_types::{StoredInstant, UtcTimestamp};

#[derive(Debug, Clone, PartialEq)]
pub enum BindValue {
    Text(String),
    NullableText(Option<String>),
    Int(i64),
    Float(f64),
    Instant(StoredInstant),
}

#[derive(Debug, Clone)]
enum Part {
    Sql(String),
    Bind(BindValue),
    /// Sent to PostgreSQL only; SQLite receives nothing in its place.
    PostgresOnly(Vec<Part>),
}

#[derive(Debug, Clone, Default)]
pub struct Statement {
    parts: Vec<Part>,
    /// Kept prepared on the connection (see `keep_prepared`).
    keep_prepared: bool,
}

impl Statement {
    pub fn new(sql: &str) -> Self {
        let mut statement = Statement::default();
        statement.sql(sql);
        statement
    }

    pub fn sql(&mut self, sql: &str) -> &mut Self {
        match self.parts.last_mut() {
            Some(Part::Sql(text)) => text.push_str(sql),
            _ => self.parts.push(Part::Sql(sql.to_owned())),
        }
        self
    }

    /// Statements built at run time are prepared once and dropped, since a client can
    /// make endlessly many shapes; one whose SQL repeats (a lookup the server runs for
    /// every message) is kept prepared, saving a round trip and the planning.
    pub fn keep_prepared(&mut self) -> &mut Self {
        self.keep_prepared = true;
        self
    }

    pub fn is_kept_prepared(&self) -> bool {
        self.keep_prepared
    }

    pub fn bind(&mut self, value: impl Into<BindValue>) -> &mut Self {
        self.parts.push(Part::Bind(value.into()));
        self
    }

    /// `(?, ?, …)` for a non-empty list.
    pub fn bind_list<T: Into<BindValue>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        self.sql("(");
        for (at, value) in values.into_iter().enumerate() {
            if at > 0 {
                self.sql(", ");
            }
            self.bind(value);
        }
        self.sql(")")
    }

    /// Adds what `build` writes to the statement PostgreSQL receives and nothing to
    /// SQLite's, so it must not change which rows match: a predicate that only lets
    /// PostgreSQL's planner use an index SQLite does not have.
    pub fn postgres_only(&mut self, build: impl FnOnce(&mut Statement)) -> &mut Self {
        let mut inner = Statement::default();
        build(&mut inner);
        // Already PostgreSQL's alone: a part nested in it is opened here, so
        // `PostgresOnly` never holds another.
        let parts = inner
            .parts
            .into_iter()
            .flat_map(|part| match part {
                Part::PostgresOnly(nested) => nested,
                other => vec![other],
            })
            .collect();
        self.parts.push(Part::PostgresOnly(parts));
        self
    }

    pub fn append(&mut self, other: Statement) -> &mut Self {
        for part in other.parts {
            match part {
                Part::Sql(text) => {
                    self.sql(&text);
                }
                other => self.parts.push(other),
            }
        }
        self
    }

    /// The SQL PostgreSQL receives, with `?` for each bind, for logs and tests.
    pub fn text(&self) -> String {
        parts_for(&self.parts, true)
            .map(|part| match part {
                Part::Sql(text) => text.as_str(),
                Part::Bind(_) => "?",
                Part::PostgresOnly(_) => unreachable!("parts_for opens every PostgresOnly"),
            })
            .collect()
    }
}

impl From<String> for BindValue {
    fn from(value: String) -> Self {
        BindValue::Text(value)
    }
}

impl From<&str> for BindValue {
    fn from(value: &str) -> Self {
        BindValue::Text(value.to_owned())
    }
}

impl From<&String> for BindValue {
    fn from(value: &String) -> Self {
        BindValue::Text(value.clone())
    }
}

impl From<Option<&str>> for BindValue {
    fn from(value: Option<&str>) -> Self {
        BindValue::NullableText(value.map(str::to_owned))
    }
}

impl From<i64> for BindValue {
    fn from(value: i64) -> Self {
        BindValue::Int(value)
    }
}

impl From<f64> for BindValue {
    fn from(value: f64) -> Self {
        BindValue::Float(value)
    }
}

impl From<DateTime<Utc>> for BindValue {
    fn from(value: DateTime<Utc>) -> Self {
        BindValue::Instant(StoredInstant(value))
    }
}

/// The parts PostgreSQL (`postgres`) or SQLite receives, in order. A
/// `PostgresOnly` never holds another (`postgres_only` opens them), so one level is
/// all there is to open.
fn parts_for(parts: &[Part], postgres: bool) -> impl Iterator<Item = &Part> {
    parts.iter().flat_map(move |part| match part {
        Part::PostgresOnly(inner) if postgres => inner.as_slice(),
        Part::PostgresOnly(_) => &[],
        other => std::slice::from_ref(other),
    })
}

/// Writes the statement for backend `$db`; instants go through `StoredInstant`,
/// which encodes them as that backend stores them.
macro_rules! walk_statement {
    ($db:ty, postgres: $postgres:expr) => {
        impl QueryFragment<$db> for Statement {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, $db>) -> QueryResult<()> {
                if !self.keep_prepared {
                    out.unsafe_to_cache_prepared();
                }
                for part in parts_for(&self.parts, $postgres) {
                    match part {
                        Part::Sql(text) => out.push_sql(text),
                        Part::Bind(BindValue::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                        Part::Bind(BindValue::NullableText(v)) => {
                            out.push_bind_param::<Nullable<Text>, _>(v)?
                        }
                        Part::Bind(BindValue::Int(v)) => out.push_bind_param::<BigInt, _>(v)?,
                        Part::Bind(BindValue::Float(v)) => out.push_bind_param::<Double, _>(v)?,
                        Part::Bind(BindValue::Instant(v)) => out.push_bind_param::<UtcTimestamp, _>(v)?,
                        Part::PostgresOnly(_) => unreachable!("parts_for opens every PostgresOnly"),
                    }
                }
                Ok(())
            }
        }
    };
}

walk_statement!(Pg, postgres: true);
walk_statement!(Sqlite, postgres: false);

impl QueryId for Statement {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement {
    type SqlType = Untyped;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_only_part_reaches_postgres_alone() {
        let mut s = Statement::new("SELECT 1 WHERE a = ");
        s.bind("x")
            .postgres_only(|s| {
                s.sql(" AND b = ").bind(2_i64);
            })
            .sql(" AND c = ")
            .bind("y");
        let postgres = diesel::debug_query::<Pg, _>(&s).to_string();
        assert!(
            postgres.starts_with("SELECT 1 WHERE a = $1 AND b = $2 AND c = $3 "),
            "{postgres}"
        );
        let sqlite = diesel::debug_query::<Sqlite, _>(&s).to_string();
        assert!(sqlite.starts_with("SELECT 1 WHERE a = ? AND c = ? "), "{sqlite}");
        assert_eq!(s.text(), "SELECT 1 WHERE a = ? AND b = ? AND c = ?");
    }
}
