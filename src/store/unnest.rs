//! Multi-row INSERTs on PostgreSQL whose text does not depend on how many rows
//! they carry: `INSERT INTO t (a, b, …) SELECT * FROM UNNEST($1, $2, …)`, one array
//! per column.
//!
//! A `VALUES` list has a placeholder per value, so every row count is a statement
//! PostgreSQL has not seen: it is parsed, analysed and planned afresh, and the
//! server prepares and closes it each time. An HL7 admission writes a few dozen
//! index rows in six tables, a different count each time, and the per-statement work
//! was about a tenth of PostgreSQL's CPU per message (BENCHMARKS.md, issue 4). With
//! arrays the statement stays prepared on the connection and only executes.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Double, Nullable, Text};
use diesel::QueryResult;

use crate::store::audit::{NewAuditEntityRow, NewAuditEventRow};
use crate::store::identity_hash::identity_hash;
use crate::store::rows::{
    NewBillingClaimRow, NewDateRow, NewHistoryRow, NewQuantityRow, NewReferenceRow, NewResourceRow,
    NewStateChangeRow, NewStringRow, NewTokenRow, NewUriRow,
};
use crate::store::sql_types::{StoredInstant, UtcTimestamp};

/// One column's values, in row order.
enum Column<'a> {
    Text(Vec<&'a str>),
    NullableText(Vec<Option<&'a str>>),
    BigInt(Vec<i64>),
    NullableBigInt(Vec<Option<i64>>),
    Double(Vec<f64>),
    Bool(Vec<bool>),
    Instant(Vec<StoredInstant>),
}

/// An INSERT of rows of one table as column arrays.
pub struct UnnestInsert<'a> {
    /// `INSERT INTO t (a, b, …) SELECT * FROM UNNEST(`
    head: &'static str,
    columns: Vec<Column<'a>>,
}

/// Row types that can be inserted as column arrays.
pub trait UnnestRows: Sized {
    fn unnest(rows: &[Self]) -> UnnestInsert<'_>;
}

impl UnnestInsert<'_> {
    /// Whether the insert carries no rows (every column array is empty).
    pub fn is_empty(&self) -> bool {
        self.columns.first().is_none_or(|column| match column {
            Column::Text(v) => v.is_empty(),
            Column::NullableText(v) => v.is_empty(),
            Column::BigInt(v) => v.is_empty(),
            Column::NullableBigInt(v) => v.is_empty(),
            Column::Double(v) => v.is_empty(),
            Column::Bool(v) => v.is_empty(),
            Column::Instant(v) => v.is_empty(),
        })
    }
}

impl QueryFragment<Pg> for UnnestInsert<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(self.head);
        for (at, column) in self.columns.iter().enumerate() {
            if at > 0 {
                out.push_sql(", ");
            }
            match column {
                Column::Text(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                Column::NullableText(v) => out.push_bind_param::<Array<Nullable<Text>>, _>(v)?,
                Column::BigInt(v) => out.push_bind_param::<Array<BigInt>, _>(v)?,
                Column::NullableBigInt(v) => out.push_bind_param::<Array<Nullable<BigInt>>, _>(v)?,
                Column::Double(v) => out.push_bind_param::<Array<Double>, _>(v)?,
                Column::Bool(v) => out.push_bind_param::<Array<Bool>, _>(v)?,
                Column::Instant(v) => out.push_bind_param::<Array<UtcTimestamp>, _>(v)?,
            }
        }
        out.push_sql(")");
        Ok(())
    }
}

/// No static id: diesel keys its prepared-statement cache by the SQL text instead,
/// which is one per table here.
impl QueryId for UnnestInsert<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// `UnnestRows` for a row type: its table, and each of its fields with its column
/// kind (fields and columns share names). `String` and `NullableString` are text
/// columns of a row that owns its values. A search index table (`=> table +
/// hash_identity`) also gets its rows' identity hash, which only PostgreSQL's
/// tables have (`crate::store::identity_hash`).
macro_rules! unnest_rows {
    ($row:ty => $table:ident { $($fields:tt)* }) => {
        unnest_rows!(@impl $row => $table, "", |_rows| None, { $($fields)* });
    };
    ($row:ty => $table:ident + hash_identity { $($fields:tt)* }) => {
        unnest_rows!(@impl $row => $table, ", hash_identity", |rows: &[Self]| Some(Column::BigInt(
            rows.iter().map(|row| identity_hash(row.tenant, row.res_type, row.param)).collect(),
        )), { $($fields)* });
    };
    (@impl $row:ty => $table:ident, $extra:literal, $extra_column:expr,
        { $first:ident: $first_kind:ident $(, $field:ident: $kind:ident)* $(,)? }) => {
        impl UnnestRows for $row {
            fn unnest(rows: &[Self]) -> UnnestInsert<'_> {
                // Names every field, without `..`: a field added to the row type
                // but not to this list fails to compile instead of going unwritten.
                let _ = |row: &Self| {
                    let Self { $first: _, $($field: _),* } = row;
                };
                let mut columns = vec![
                    unnest_rows!(@column rows, $first, $first_kind)
                    $(, unnest_rows!(@column rows, $field, $kind))*
                ];
                columns.extend(($extra_column)(rows));
                UnnestInsert {
                    head: concat!(
                        "INSERT INTO ", stringify!($table), " (", stringify!($first),
                        $(", ", stringify!($field),)* $extra, ") SELECT * FROM UNNEST("
                    ),
                    columns,
                }
            }
        }
    };
    (@column $rows:ident, $field:ident, String) => {
        Column::Text($rows.iter().map(|row| row.$field.as_str()).collect())
    };
    (@column $rows:ident, $field:ident, NullableString) => {
        Column::NullableText($rows.iter().map(|row| row.$field.as_deref()).collect())
    };
    (@column $rows:ident, $field:ident, $kind:ident) => {
        Column::$kind($rows.iter().map(|row| row.$field).collect())
    };
}

unnest_rows!(NewResourceRow<'_> => resources {
    tenant: Text, res_type: Text, res_id: Text, version_id: BigInt, last_updated: Instant,
    deleted: Bool, change_seq: BigInt, body: Text,
});
unnest_rows!(NewHistoryRow<'_> => resource_history {
    tenant: Text, res_type: Text, res_id: Text, version_id: BigInt, last_updated: Instant,
    method: Text, deleted: Bool, body: NullableText,
});
unnest_rows!(NewTokenRow<'_> => search_token + hash_identity {
    tenant: Text, res_type: Text, res_id: Text, param: Text, system: NullableText, code: NullableText,
    display: NullableText, hash_code: BigInt, hash_system_code: BigInt, hash_system: BigInt,
});
unnest_rows!(NewStringRow<'_> => search_string + hash_identity {
    tenant: Text, res_type: Text, res_id: Text, param: Text, value_normalized: Text, value_exact: Text,
});
unnest_rows!(NewDateRow<'_> => search_date + hash_identity {
    tenant: Text, res_type: Text, res_id: Text, param: Text, low: Instant, high: Instant,
});
unnest_rows!(NewQuantityRow<'_> => search_quantity + hash_identity {
    tenant: Text, res_type: Text, res_id: Text, param: Text, low: Double, high: Double,
    system: NullableText, code: NullableText, unit: NullableText,
});
unnest_rows!(NewReferenceRow<'_> => search_reference + hash_identity {
    tenant: Text, res_type: Text, res_id: Text, param: Text, target_type: NullableText,
    target_id: NullableText, target_url: NullableText, identifier_system: NullableText,
    identifier_value: NullableText,
});
unnest_rows!(NewUriRow<'_> => search_uri + hash_identity { tenant: Text, res_type: Text, res_id: Text, param: Text, uri: Text });
unnest_rows!(NewAuditEventRow => audit_events {
    event_id: String, tenant: String, recorded: Instant, type_code: String, subtype: NullableString,
    action: String, outcome: String, agent_client: NullableString, agent_user: NullableString,
    address: NullableString, body: String,
});
unnest_rows!(NewAuditEntityRow => audit_event_entities { event_id: String, tenant: String, reference: String });
unnest_rows!(NewBillingClaimRow<'_> => billing_claims {
    claim_id: Text, state: Text, updated_at: Instant, created_at: Instant, charge_cents: NullableBigInt,
    payer: NullableText,
});
unnest_rows!(NewStateChangeRow<'_> => billing_state_history {
    claim_id: Text, from_state: NullableText, to_state: Text, actor: Text, reason: NullableText,
    details: NullableText, at: Instant,
});
