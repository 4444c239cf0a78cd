//! Search as the store understands it: a backend-neutral description of what to
//! match and in what order (built by the FHIR layer from request parameters), and
//! its translation to SQL over `resources` and the `search_*` index tables.
//!
//! Every filter becomes `<alias>.res_id IN (subquery)`, so filters compose: AND is a
//! conjunction of such tests, chaining nests a subquery over the target type, `_has`
//! one over the referring type, `:not` and `:missing=true` are `NOT IN`.
//!
//! Every statement is over one tenant: each table it reads — `resources` and the
//! index tables, in the outer query and in every subquery — is filtered by the
//! tenant, the leading column of the indexes those reads use. Another tenant's rows
//! are never read, so they can neither match, be included, nor count.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::store::identity_hash::identity_hash;
use crate::store::model::Tenant;
use crate::store::statement::Statement;
use crate::store::token_hash::TokenHashes;

/// Comparison prefixes of date, number and quantity searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

impl Prefix {
    pub const ALL: [(&'static str, Prefix); 9] = [
        ("eq", Prefix::Eq),
        ("ne", Prefix::Ne),
        ("gt", Prefix::Gt),
        ("lt", Prefix::Lt),
        ("ge", Prefix::Ge),
        ("le", Prefix::Le),
        ("sa", Prefix::Sa),
        ("eb", Prefix::Eb),
        ("ap", Prefix::Ap),
    ];
}

/// The system part of a token search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSystem {
    /// `code`: any system.
    Any,
    /// `|code`: no system.
    Absent,
    /// `system|code` or `system|`.
    Is(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringMatch {
    StartsWith,
    Exact,
    Contains,
}

/// One alternative of a parameter's value (comma-separated values are OR-ed).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Token {
        system: TokenSystem,
        code: Option<String>,
    },
    /// `:text` — starts-with on the display text, case-insensitive.
    TokenText(String),
    String {
        mode: StringMatch,
        value: String,
    },
    Date {
        prefix: Prefix,
        low: DateTime<Utc>,
        high: DateTime<Utc>,
    },
    /// A number or quantity: the value asked for and the range its precision implies.
    Number {
        prefix: Prefix,
        value: f64,
        low: f64,
        high: f64,
        system: Option<String>,
        code: Option<String>,
    },
    Reference {
        target_type: Option<String>,
        target_id: String,
    },
    ReferenceUrl(String),
    ReferenceIdentifier {
        system: Option<String>,
        value: String,
    },
    Uri {
        value: String,
        below: bool,
    },
}

/// The index table a parameter's values live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexTable {
    Token,
    String,
    Date,
    Quantity,
    Reference,
    Uri,
}

impl IndexTable {
    fn name(self) -> &'static str {
        match self {
            IndexTable::Token => "search_token",
            IndexTable::String => "search_string",
            IndexTable::Date => "search_date",
            IndexTable::Quantity => "search_quantity",
            IndexTable::Reference => "search_reference",
            IndexTable::Uri => "search_uri",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `_id`: any of these ids.
    Id(Vec<String>),
    /// `_lastUpdated`: any of these date conditions on the row's own timestamp.
    LastUpdated(Vec<Condition>),
    /// Any of `conditions` holds for some indexed value of `param`.
    Index {
        table: IndexTable,
        param: String,
        conditions: Vec<Condition>,
    },
    /// `:missing`: the parameter has (false) or has no (true) indexed value.
    Missing {
        table: IndexTable,
        param: String,
        missing: bool,
    },
    Not(Box<Filter>),
    /// `param.x=…`: a reference of `param` to a `target_type` matching `filters`.
    Chain {
        param: String,
        target_type: String,
        filters: Vec<Filter>,
    },
    /// `_has:Source:param:x=…`: some `source_type` referring here by `param` matches.
    ReverseChain {
        source_type: String,
        param: String,
        filters: Vec<Filter>,
    },
}

/// What a search orders by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortField {
    Id,
    LastUpdated,
    Param { table: IndexTable, param: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub field: SortField,
    pub descending: bool,
}

/// A sort value of one row, as a cursor carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Text(String),
    Instant(DateTime<Utc>),
}

/// Where a page starts: strictly after (or, for a previous page, before) the row
/// with these sort values and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub before: bool,
    pub values: Vec<SortValue>,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub res_type: String,
    pub filters: Vec<Filter>,
    pub sort: Vec<SortKey>,
    pub cursor: Option<Cursor>,
    pub limit: i64,
    /// The server runs this query's shape over and over (a lookup made for every
    /// message): its statement stays prepared. Never for client-shaped searches.
    pub repeated: bool,
}

impl SearchQuery {
    /// Whether answering this query reads resources of `res_type`: its own type, or
    /// the target of a chain or the source of a `_has` at any depth.
    pub fn reads_type(&self, res_type: &str) -> bool {
        fn in_filters(filters: &[Filter], res_type: &str) -> bool {
            filters.iter().any(|filter| match filter {
                Filter::Chain {
                    target_type, filters, ..
                } => target_type == res_type || in_filters(filters, res_type),
                Filter::ReverseChain {
                    source_type, filters, ..
                } => source_type == res_type || in_filters(filters, res_type),
                Filter::Not(inner) => in_filters(std::slice::from_ref(inner), res_type),
                _ => false,
            })
        }
        self.res_type == res_type || in_filters(&self.filters, res_type)
    }
}

/// Value that stands for "no value" in a sort key, so missing values order
/// predictably (first ascending, last descending) on both backends.
pub const MISSING_TEXT: &str = "";

pub fn missing_instant() -> DateTime<Utc> {
    earliest_instant()
}

/// The earliest instant the index holds; an open period start is stored as it.
pub fn earliest_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap()
}

/// Builds SQL over one tenant's rows, numbering table aliases so nested subqueries
/// never collide.
struct Builder<'t> {
    tenant: &'t str,
    aliases: usize,
}

impl<'t> Builder<'t> {
    fn new(tenant: &'t Tenant) -> Self {
        Builder {
            tenant: tenant.as_str(),
            aliases: 0,
        }
    }

    /// `alias.tenant = ? AND alias.res_type = ?`: the leading columns of every
    /// index over resources and the index tables.
    fn owned_by(&self, s: &mut Statement, alias: &str, res_type: &str) {
        s.sql(&format!("{alias}.tenant = "))
            .bind(self.tenant)
            .sql(&format!(" AND {alias}.res_type = "))
            .bind(res_type);
    }

    /// ` AND x.param = ?` and the identity hash of the index row (`param_is`).
    fn of_param(&self, s: &mut Statement, x: &str, res_type: &str, param: &str) {
        param_is(s, x, self.tenant, res_type, param);
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    /// `alias.tenant = ? AND alias.res_type = ? AND alias.deleted = false AND filters…`
    fn where_clause(&mut self, statement: &mut Statement, alias: &str, res_type: &str, filters: &[Filter]) {
        self.owned_by(statement, alias, res_type);
        statement.sql(&format!(" AND {alias}.deleted = false"));
        for filter in filters {
            statement.sql(" AND ");
            self.filter(statement, alias, res_type, filter);
        }
    }

    fn filter(&mut self, s: &mut Statement, alias: &str, res_type: &str, filter: &Filter) {
        match filter {
            Filter::Id(ids) if ids.is_empty() => {
                s.sql("1 = 0");
            }
            Filter::Id(ids) => {
                s.sql(&format!("{alias}.res_id IN ")).bind_list(ids);
            }
            Filter::LastUpdated(conditions) => {
                s.sql("(");
                for (at, condition) in conditions.iter().enumerate() {
                    if at > 0 {
                        s.sql(" OR ");
                    }
                    let column = format!("{alias}.last_updated");
                    if let Condition::Date { prefix, low, high } = condition {
                        date_condition(s, &column, &column, *prefix, *low, *high);
                    }
                }
                s.sql(")");
            }
            Filter::Index {
                table,
                param,
                conditions,
            } => {
                let x = self.alias("x");
                s.sql(&format!(
                    "{alias}.res_id IN (SELECT {x}.res_id FROM {} {x} WHERE ",
                    table.name()
                ));
                self.owned_by(s, &x, res_type);
                self.of_param(s, &x, res_type, param);
                s.sql(" AND (");
                for (at, condition) in conditions.iter().enumerate() {
                    if at > 0 {
                        s.sql(" OR ");
                    }
                    s.sql("(");
                    index_condition(s, &x, param, condition);
                    s.sql(")");
                }
                s.sql("))");
            }
            Filter::Missing {
                table,
                param,
                missing,
            } => {
                let x = self.alias("x");
                let not = if *missing { "NOT " } else { "" };
                s.sql(&format!(
                    "{alias}.res_id {not}IN (SELECT {x}.res_id FROM {} {x} WHERE ",
                    table.name()
                ));
                self.owned_by(s, &x, res_type);
                self.of_param(s, &x, res_type, param);
                s.sql(")");
            }
            Filter::Not(inner) => {
                s.sql("NOT (");
                self.filter(s, alias, res_type, inner);
                s.sql(")");
            }
            Filter::Chain {
                param,
                target_type,
                filters,
            } => {
                let (x, r) = (self.alias("x"), self.alias("r"));
                s.sql(&format!(
                    "{alias}.res_id IN (SELECT {x}.res_id FROM search_reference {x} WHERE "
                ));
                self.owned_by(s, &x, res_type);
                self.of_param(s, &x, res_type, param);
                s.sql(&format!(" AND {x}.target_type = "))
                    .bind(target_type)
                    .sql(&format!(
                        " AND {x}.target_id IN (SELECT {r}.res_id FROM resources {r} WHERE "
                    ));
                self.where_clause(s, &r, target_type, filters);
                s.sql("))");
            }
            Filter::ReverseChain {
                source_type,
                param,
                filters,
            } => {
                let (x, r) = (self.alias("x"), self.alias("r"));
                s.sql(&format!(
                    "{alias}.res_id IN (SELECT {x}.target_id FROM search_reference {x} WHERE "
                ));
                self.owned_by(s, &x, source_type);
                self.of_param(s, &x, source_type, param);
                s.sql(&format!(" AND {x}.target_type = "))
                    .bind(res_type)
                    .sql(&format!(
                        " AND {x}.res_id IN (SELECT {r}.res_id FROM resources {r} WHERE "
                    ));
                self.where_clause(s, &r, source_type, filters);
                s.sql("))");
            }
        }
    }

    /// The SQL expression of a sort key for the row `alias`.
    fn sort_expression(&mut self, s: &mut Statement, alias: &str, key: &SortKey) {
        match &key.field {
            SortField::Id => {
                s.sql(&format!("{alias}.res_id"));
            }
            SortField::LastUpdated => {
                s.sql(&format!("{alias}.last_updated"));
            }
            SortField::Param { table, param } => {
                let x = self.alias("x");
                let aggregate = if key.descending { "MAX" } else { "MIN" };
                let column = match (table, key.descending) {
                    (IndexTable::String, _) => "value_normalized",
                    (IndexTable::Date, false) => "low",
                    (IndexTable::Date, true) => "high",
                    _ => "code",
                };
                s.sql(&format!(
                    "COALESCE((SELECT {aggregate}({x}.{column}) FROM {} {x} WHERE {x}.tenant = {alias}.tenant AND {x}.res_type = {alias}.res_type AND {x}.res_id = {alias}.res_id AND {x}.param = ",
                    table.name()
                ))
                .bind(param)
                .sql("), ");
                if *table == IndexTable::Date {
                    s.bind(missing_instant());
                } else {
                    s.bind(MISSING_TEXT);
                }
                s.sql(")");
            }
        }
    }
}

/// ` AND x.param = ?`, and on PostgreSQL also the row's identity hash: there the
/// parameter indexes lead with `hash_identity`, a hash of tenant, type and
/// parameter, in place of those three text columns (migration
/// 2026-11-27-000090_search_identity_hash; `crate::store::identity_hash`). The text
/// comparisons stay, so rows whose identities share a hash are still told apart.
/// SQLite's indexes lead with the text columns, so it gets the text comparison
/// alone.
fn param_is(s: &mut Statement, x: &str, tenant: &str, res_type: &str, param: &str) {
    s.sql(&format!(" AND {x}.param = ")).bind(param);
    s.postgres_only(|s| {
        s.sql(&format!(" AND {x}.hash_identity = "))
            .bind(identity_hash(tenant, res_type, param));
    });
}

fn index_condition(s: &mut Statement, x: &str, param: &str, condition: &Condition) {
    match condition {
        Condition::Token { system, code } => {
            // A token with a code is found through its code's hash, whatever the
            // system: on PostgreSQL `system|code` has no index of its own (migration
            // 2026-11-27-000130_token_codes_index_alone), as the rows sharing a
            // parameter's code are nearly always the ones sharing system and code.
            match (system, code.as_deref()) {
                (system, Some(code)) => {
                    let named = match system {
                        TokenSystem::Is(system) => Some(system.as_str()),
                        TokenSystem::Any | TokenSystem::Absent => None,
                    };
                    let hashes = TokenHashes::new(param, named, Some(code));
                    s.sql(&format!("{x}.hash_code = ")).bind(hashes.code);
                    match system {
                        TokenSystem::Any => {}
                        TokenSystem::Absent => {
                            s.sql(&format!(" AND {x}.hash_system_code = "))
                                .bind(hashes.system_code)
                                .sql(&format!(" AND {x}.system IS NULL"));
                        }
                        TokenSystem::Is(system) => {
                            s.sql(&format!(" AND {x}.hash_system_code = "))
                                .bind(hashes.system_code)
                                .sql(&format!(" AND {x}.system = "))
                                .bind(system);
                        }
                    }
                    s.sql(&format!(" AND {x}.code = ")).bind(code);
                }
                (TokenSystem::Is(system), None) => {
                    let hashes = TokenHashes::new(param, Some(system), None);
                    s.sql(&format!("{x}.hash_system = "))
                        .bind(hashes.system)
                        .sql(&format!(" AND {x}.system = "))
                        .bind(system);
                }
                (_, None) => {
                    s.sql("1 = 0");
                }
            }
        }
        Condition::TokenText(text) => {
            s.sql(&format!("LOWER({x}.display) LIKE "))
                .bind(format!("{}%", escape_like(&text.to_lowercase())))
                .sql(" ESCAPE '\\'");
        }
        Condition::String { mode, value } => match mode {
            StringMatch::StartsWith => {
                // A range on the folded value: an index seek on both backends.
                s.sql(&format!("{x}.value_normalized >= "))
                    .bind(value)
                    .sql(&format!(" AND {x}.value_normalized < "))
                    .bind(format!("{value}\u{10FFFF}"));
            }
            StringMatch::Exact => {
                s.sql(&format!("{x}.value_exact = ")).bind(value);
            }
            StringMatch::Contains => {
                s.sql(&format!("{x}.value_normalized LIKE "))
                    .bind(format!("%{}%", escape_like(value)))
                    .sql(" ESCAPE '\\'");
            }
        },
        Condition::Date { prefix, low, high } => {
            date_condition(s, &format!("{x}.low"), &format!("{x}.high"), *prefix, *low, *high);
        }
        Condition::Number {
            prefix,
            value,
            low,
            high,
            system,
            code,
        } => {
            number_condition(s, &format!("{x}.low"), *prefix, *value, *low, *high);
            match (system, code) {
                (Some(system), Some(code)) => {
                    s.sql(&format!(" AND {x}.system = "))
                        .bind(system)
                        .sql(&format!(" AND {x}.code = "))
                        .bind(code);
                }
                (None, Some(code)) => {
                    s.sql(&format!(" AND ({x}.code = "))
                        .bind(code)
                        .sql(&format!(" OR {x}.unit = "))
                        .bind(code)
                        .sql(")");
                }
                _ => {}
            }
        }
        Condition::Reference {
            target_type,
            target_id,
        } => {
            s.sql(&format!("{x}.target_id = ")).bind(target_id);
            if let Some(target_type) = target_type {
                s.sql(&format!(" AND {x}.target_type = ")).bind(target_type);
            }
        }
        Condition::ReferenceUrl(url) => {
            s.sql(&format!("{x}.target_url = ")).bind(url);
        }
        Condition::ReferenceIdentifier { system, value } => {
            s.sql(&format!("{x}.identifier_value = ")).bind(value);
            if let Some(system) = system {
                s.sql(&format!(" AND {x}.identifier_system = ")).bind(system);
            }
        }
        Condition::Uri { value, below } => {
            if *below {
                s.sql(&format!("{x}.uri LIKE "))
                    .bind(format!("{}%", escape_like(value)))
                    .sql(" ESCAPE '\\'");
            } else {
                s.sql(&format!("{x}.uri = ")).bind(value);
            }
        }
    }
}

/// Date comparisons between a value's range `[low_col, high_col]` and the searched
/// range `[low, high]`, as http://hl7.org/fhir/R4/search.html#prefix defines them.
fn date_condition(
    s: &mut Statement,
    low_col: &str,
    high_col: &str,
    prefix: Prefix,
    low: DateTime<Utc>,
    high: DateTime<Utc>,
) {
    let contained = |s: &mut Statement| {
        s.sql(&format!("({low_col} >= "))
            .bind(low)
            .sql(&format!(" AND {high_col} <= "))
            .bind(high)
            .sql(")");
    };
    match prefix {
        Prefix::Eq => contained(s),
        Prefix::Ne => {
            s.sql("NOT ");
            contained(s);
        }
        Prefix::Gt => {
            s.sql(&format!("{high_col} > ")).bind(high);
        }
        Prefix::Lt => {
            s.sql(&format!("{low_col} < ")).bind(low);
        }
        Prefix::Ge => {
            s.sql(&format!("({high_col} > ")).bind(high).sql(" OR ");
            contained(s);
            s.sql(")");
        }
        Prefix::Le => {
            s.sql(&format!("({low_col} < ")).bind(low).sql(" OR ");
            contained(s);
            s.sql(")");
        }
        Prefix::Sa => {
            s.sql(&format!("{low_col} > ")).bind(high);
        }
        Prefix::Eb => {
            s.sql(&format!("{high_col} < ")).bind(low);
        }
        Prefix::Ap => {
            // Approximately: overlapping the range widened by 10% of its distance
            // from now (at least a day).
            let distance = (Utc::now() - low).abs() / 10;
            let margin = distance.max(Duration::days(1));
            s.sql(&format!("({low_col} <= "))
                .bind(high + margin)
                .sql(&format!(" AND {high_col} >= "))
                .bind(low - margin)
                .sql(")");
        }
    }
}

/// Number comparisons of a stored point value against the searched value; `eq`
/// and `ne` use the range the searched value's precision implies.
fn number_condition(s: &mut Statement, column: &str, prefix: Prefix, value: f64, low: f64, high: f64) {
    match prefix {
        Prefix::Eq => {
            s.sql(&format!("({column} >= "))
                .bind(low)
                .sql(&format!(" AND {column} < "))
                .bind(high)
                .sql(")");
        }
        Prefix::Ne => {
            s.sql(&format!("({column} < "))
                .bind(low)
                .sql(&format!(" OR {column} >= "))
                .bind(high)
                .sql(")");
        }
        Prefix::Gt | Prefix::Sa => {
            s.sql(&format!("{column} > ")).bind(value);
        }
        Prefix::Lt | Prefix::Eb => {
            s.sql(&format!("{column} < ")).bind(value);
        }
        Prefix::Ge => {
            s.sql(&format!("{column} >= ")).bind(value);
        }
        Prefix::Le => {
            s.sql(&format!("{column} <= ")).bind(value);
        }
        Prefix::Ap => {
            let margin = (value * 0.1).abs();
            s.sql(&format!("({column} >= "))
                .bind(value - margin)
                .sql(&format!(" AND {column} <= "))
                .bind(value + margin)
                .sql(")");
        }
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The columns every result row carries.
const ROW_COLUMNS: &str = "r.res_type, r.res_id, r.last_updated, r.body";

/// One page of `tenant`'s matches: filters, keyset position, order and limit.
pub fn page_statement(tenant: &Tenant, query: &SearchQuery) -> Statement {
    let mut builder = Builder::new(tenant);
    let mut s = Statement::new(&format!("SELECT {ROW_COLUMNS} FROM resources r WHERE "));
    builder.where_clause(&mut s, "r", &query.res_type, &query.filters);
    // A previous page walks the order backwards from its cursor.
    let reversed = query.cursor.as_ref().is_some_and(|c| c.before);
    let keys: Vec<SortKey> = query
        .sort
        .iter()
        .map(|k| SortKey {
            field: k.field.clone(),
            descending: k.descending != reversed,
        })
        .collect();
    if let Some(cursor) = &query.cursor {
        s.sql(" AND ");
        keyset_condition(&mut builder, &mut s, &keys, &cursor.values, &cursor.id, reversed);
    }
    s.sql(" ORDER BY ");
    for key in &keys {
        builder.sort_expression(&mut s, "r", key);
        s.sql(if key.descending { " DESC, " } else { " ASC, " });
    }
    s.sql(if reversed { "r.res_id DESC" } else { "r.res_id ASC" });
    s.sql(" LIMIT ").bind(query.limit);
    if query.repeated {
        s.keep_prepared();
    }
    s
}

/// Rows strictly after the cursor in the order of `keys` then id:
/// `k1 > v1 OR (k1 = v1 AND (k2 > v2 OR (k2 = v2 AND id > last_id)))`.
fn keyset_condition(
    builder: &mut Builder,
    s: &mut Statement,
    keys: &[SortKey],
    values: &[SortValue],
    id: &str,
    id_descending: bool,
) {
    match (keys.split_first(), values.split_first()) {
        (Some((key, rest_keys)), Some((value, rest_values))) => {
            let bind = |s: &mut Statement| {
                match value {
                    SortValue::Text(text) => s.bind(text.as_str()),
                    SortValue::Instant(at) => s.bind(*at),
                };
            };
            s.sql("(");
            builder.sort_expression(s, "r", key);
            s.sql(if key.descending { " < " } else { " > " });
            bind(s);
            s.sql(" OR (");
            builder.sort_expression(s, "r", key);
            s.sql(" = ");
            bind(s);
            s.sql(" AND ");
            keyset_condition(builder, s, rest_keys, rest_values, id, id_descending);
            s.sql("))");
        }
        _ => {
            s.sql(if id_descending {
                "r.res_id < "
            } else {
                "r.res_id > "
            })
            .bind(id);
        }
    }
}

/// How many of `tenant`'s resources match, ignoring paging.
pub fn count_statement(tenant: &Tenant, query: &SearchQuery) -> Statement {
    let mut s = Statement::new("SELECT COUNT(*) AS count FROM resources r WHERE ");
    Builder::new(tenant).where_clause(&mut s, "r", &query.res_type, &query.filters);
    s
}

/// `tenant`'s live resources that its resources `source_ids` of `source_type`
/// reference through `param` (`_include`), optionally only of `target_type`. A
/// reference naming another tenant's resource includes nothing.
pub fn include_statement(
    tenant: &Tenant,
    source_type: &str,
    source_ids: &[String],
    param: &str,
    target_type: Option<&str>,
) -> Statement {
    let mut s = Statement::new(&format!(
        "SELECT {ROW_COLUMNS} FROM resources r WHERE r.tenant = "
    ));
    s.bind(tenant.as_str())
        .sql(
            " AND r.deleted = false AND (r.res_type, r.res_id) IN \
             (SELECT x.target_type, x.target_id FROM search_reference x WHERE x.tenant = ",
        )
        .bind(tenant.as_str())
        .sql(" AND x.res_type = ")
        .bind(source_type);
    param_is(&mut s, "x", tenant.as_str(), source_type, param);
    s.sql(" AND x.res_id IN ").bind_list(source_ids);
    if let Some(target_type) = target_type {
        s.sql(" AND x.target_type = ").bind(target_type);
    }
    s.sql(") ORDER BY r.res_type, r.res_id");
    s
}

/// `tenant`'s live resources of `source_type` that reference any of `target_ids`
/// (of `target_type`) through `param` (`_revinclude`).
pub fn revinclude_statement(
    tenant: &Tenant,
    source_type: &str,
    param: &str,
    target_type: &str,
    target_ids: &[String],
) -> Statement {
    let mut s = Statement::new(&format!(
        "SELECT {ROW_COLUMNS} FROM resources r WHERE r.tenant = "
    ));
    s.bind(tenant.as_str())
        .sql(" AND r.res_type = ")
        .bind(source_type)
        .sql(" AND r.deleted = false AND r.res_id IN (SELECT x.res_id FROM search_reference x WHERE x.tenant = ")
        .bind(tenant.as_str())
        .sql(" AND x.res_type = ")
        .bind(source_type);
    param_is(&mut s, "x", tenant.as_str(), source_type, param);
    s.sql(" AND x.target_type = ")
        .bind(target_type)
        .sql(" AND x.target_id IN ")
        .bind_list(target_ids)
        .sql(") ORDER BY r.res_id");
    s
}

/// The `(type, id)` each local reference of `indexes` names, sorted, each once.
pub fn local_targets<'a>(
    indexes: &[(&str, &'a crate::store::model::SearchIndexEntries)],
) -> Vec<(&'a str, &'a str)> {
    let mut targets: std::collections::BTreeSet<(&str, &str)> = std::collections::BTreeSet::new();
    for (_, index) in indexes {
        for reference in &index.references {
            if let (Some(target_type), Some(target_id)) = (&reference.target_type, &reference.target_id) {
                targets.insert((target_type.as_str(), target_id.as_str()));
            }
        }
    }
    targets.into_iter().collect()
}

/// Targets per statement of the foreign-reference check: SQLite takes at most
/// 32,766 bound values in one.
const TARGETS_PER_CHECK: usize = 10_000;

/// The start of a query for resources (`h.res_type`, `h.res_id`) that a tenant
/// other than the one bound next holds; the conditions on type and id follow.
/// Each resource's first version is in the history under its tenant, and history's
/// key (type, id, version) is unique across tenants, so a condition on type and id
/// is a lookup in that key (the current rows are keyed per tenant).
pub const OTHER_TENANTS_RESOURCES: &str =
    "SELECT h.res_type, h.res_id FROM resource_history h WHERE h.version_id = 1 AND h.tenant <> ";

/// Statements finding a resource named by a local reference of `indexes` (each the
/// type of the resource holding the references and its index entries) that a tenant
/// other than `tenant` holds; none when there is no local reference. Targets are
/// grouped by type, `(h.res_type = ? AND h.res_id IN (…)) OR …`, so each group is a
/// key lookup (`OTHER_TENANTS_RESOURCES`).
pub fn foreign_target_statements(
    tenant: &Tenant,
    indexes: &[(&str, &crate::store::model::SearchIndexEntries)],
) -> Vec<Statement> {
    let targets = local_targets(indexes);
    let mut statements = Vec::new();
    for chunk in targets.chunks(TARGETS_PER_CHECK) {
        let mut s = Statement::new(OTHER_TENANTS_RESOURCES);
        s.bind(tenant.as_str()).sql(" AND (");
        // Sorted, so each type's ids are together.
        for (at, group) in chunk.chunk_by(|a, b| a.0 == b.0).enumerate() {
            if at > 0 {
                s.sql(" OR ");
            }
            s.sql("(h.res_type = ")
                .bind(group[0].0)
                .sql(" AND h.res_id IN ")
                .bind_list(group.iter().map(|(_, id)| *id))
                .sql(")");
        }
        s.sql(") LIMIT 1");
        statements.push(s);
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(filters: Vec<Filter>) -> SearchQuery {
        SearchQuery {
            res_type: "Claim".into(),
            filters,
            sort: Vec::new(),
            cursor: None,
            limit: 21,
            repeated: false,
        }
    }

    #[test]
    fn chains_nest_subqueries_with_fresh_aliases() {
        let chained = Filter::Chain {
            param: "patient".into(),
            target_type: "Patient".into(),
            filters: vec![Filter::Index {
                table: IndexTable::Token,
                param: "identifier".into(),
                conditions: vec![Condition::Token {
                    system: TokenSystem::Is("http://hospital.org/mrn".into()),
                    code: Some("123".into()),
                }],
            }],
        };
        let sql = page_statement(&Tenant::default(), &query(vec![chained])).text();
        assert!(
            sql.starts_with("SELECT r.res_type, r.res_id, r.last_updated, r.body FROM resources r WHERE r.tenant = ? AND r.res_type = ?"),
            "{sql}"
        );
        assert!(
            sql.contains("r.res_id IN (SELECT x1.res_id FROM search_reference x1 WHERE x1.tenant = ? AND x1.res_type = ?"),
            "{sql}"
        );
        assert!(
            sql.contains(
                "x1.target_id IN (SELECT r2.res_id FROM resources r2 WHERE r2.tenant = ? AND r2.res_type = ?"
            ),
            "{sql}"
        );
        assert!(
            sql.contains(
                "r2.res_id IN (SELECT x3.res_id FROM search_token x3 WHERE x3.tenant = ? AND x3.res_type = ?"
            ),
            "{sql}"
        );
        assert!(sql.ends_with("ORDER BY r.res_id ASC LIMIT ?"), "{sql}");
    }

    /// Each parameter comparison is followed by the identity hash the PostgreSQL
    /// indexes lead with; without it those indexes cannot be used.
    #[test]
    fn parameter_comparisons_carry_the_identity_hash() {
        let carries_hash = |sql: &str| {
            let params = sql.matches(".param = ?").count();
            assert!(params > 0, "{sql}");
            assert_eq!(
                sql.matches(".param = ? AND x").count(),
                params,
                "every .param is followed by its alias' hash: {sql}"
            );
            assert_eq!(sql.matches(".hash_identity = ?").count(), params, "{sql}");
        };
        let name = Filter::Index {
            table: IndexTable::String,
            param: "name".into(),
            conditions: vec![Condition::String {
                mode: StringMatch::StartsWith,
                value: "smi".into(),
            }],
        };
        let filters = vec![
            name.clone(),
            Filter::Missing {
                table: IndexTable::Date,
                param: "birthdate".into(),
                missing: true,
            },
            Filter::Chain {
                param: "patient".into(),
                target_type: "Patient".into(),
                filters: vec![name.clone()],
            },
            Filter::ReverseChain {
                source_type: "Encounter".into(),
                param: "subject".into(),
                filters: vec![name],
            },
        ];
        carries_hash(&page_statement(&Tenant::default(), &query(filters)).text());
        let ids = vec!["c1".to_owned()];
        carries_hash(&include_statement(&Tenant::default(), "Claim", &ids, "patient", None).text());
        carries_hash(&revinclude_statement(&Tenant::default(), "Claim", "patient", "Patient", &ids).text());
    }

    #[test]
    fn includes_read_one_tenant_only() {
        let north = Tenant::new("north");
        let ids = vec!["c1".to_owned()];
        let sql = include_statement(&north, "Claim", &ids, "patient", None).text();
        assert!(sql.contains("WHERE r.tenant = ? AND r.deleted = false"), "{sql}");
        assert!(
            sql.contains("FROM search_reference x WHERE x.tenant = ? AND x.res_type = ?"),
            "{sql}"
        );
        let sql = revinclude_statement(&north, "Claim", "patient", "Patient", &ids).text();
        assert!(sql.contains("WHERE r.tenant = ? AND r.res_type = ?"), "{sql}");
        assert!(
            sql.contains("FROM search_reference x WHERE x.tenant = ? AND x.res_type = ?"),
            "{sql}"
        );
        let sql = count_statement(&north, &query(Vec::new())).text();
        assert!(sql.contains("WHERE r.tenant = ? AND r.res_type = ?"), "{sql}");
    }

    #[test]
    fn the_foreign_reference_check_groups_targets_by_type() {
        use crate::store::model::{ReferenceEntry, SearchIndexEntries};
        let reference = |target_type: &str, target_id: &str| ReferenceEntry {
            param: "x".into(),
            target_type: Some(target_type.into()),
            target_id: Some(target_id.into()),
            ..ReferenceEntry::default()
        };
        let mut index = SearchIndexEntries::default();
        assert!(foreign_target_statements(&Tenant::default(), &[("Claim", &index)]).is_empty());
        index.references = vec![
            reference("Patient", "p1"),
            reference("Organization", "o1"),
            reference("Patient", "p2"),
            reference("Patient", "p1"),
            ReferenceEntry {
                param: "x".into(),
                target_url: Some("http://elsewhere.example/Patient/9".into()),
                ..ReferenceEntry::default()
            },
        ];
        let statements = foreign_target_statements(&Tenant::default(), &[("Claim", &index)]);
        assert_eq!(statements.len(), 1);
        assert_eq!(
            statements[0].text(),
            "SELECT h.res_type, h.res_id FROM resource_history h WHERE h.version_id = 1 AND h.tenant <> ? AND \
             ((h.res_type = ? AND h.res_id IN (?)) OR (h.res_type = ? AND h.res_id IN (?, ?))) LIMIT 1"
        );
    }

    #[test]
    fn keyset_expands_over_every_sort_key() {
        let mut q = query(Vec::new());
        q.sort = vec![SortKey {
            field: SortField::LastUpdated,
            descending: true,
        }];
        q.cursor = Some(Cursor {
            before: false,
            values: vec![SortValue::Instant(Utc::now())],
            id: "abc".into(),
        });
        let sql = page_statement(&Tenant::default(), &q).text();
        assert!(
            sql.contains("(r.last_updated < ? OR (r.last_updated = ? AND r.res_id > ?))"),
            "{sql}"
        );
        q.cursor.as_mut().unwrap().before = true;
        let sql = page_statement(&Tenant::default(), &q).text();
        assert!(
            sql.contains("(r.last_updated > ? OR (r.last_updated = ? AND r.res_id < ?))"),
            "{sql}"
        );
        assert!(
            sql.contains("ORDER BY r.last_updated ASC, r.res_id DESC"),
            "{sql}"
        );
    }
}
