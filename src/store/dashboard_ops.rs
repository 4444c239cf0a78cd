// The billing dashboard's figures, written once for both backends (included into
// each backend module of `store/mod.rs`, like `ops.rs`). Every figure is an
// aggregate over a range of one of migration 000008's covering indexes.

use crate::store::dashboard::{KpiFigures, KpiQuery};

#[derive(QueryableByName)]
struct KpiRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    billed_cents: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    collected_cents: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    adjudicated_claims: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    denied_claims: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    paid_claims: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seconds_to_pay: i64,
}

#[derive(QueryableByName)]
struct StateCountRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// Appends `{column} >= start AND {column} < end`.
fn in_period(
    statement: &mut Statement,
    column: &str,
    start: chrono::DateTime<Utc>,
    end: chrono::DateTime<Utc>,
) {
    statement
        .sql(column)
        .sql(" >= ")
        .bind(start)
        .sql(" AND ")
        .sql(column)
        .sql(" < ")
        .bind(end);
}

pub async fn kpi_figures(conn: &mut Conn, query: &KpiQuery<'_>) -> Result<KpiFigures, StoreError> {
    // One statement, one round trip: each figure is a scalar subquery.
    let mut figures = Statement::new(
        "SELECT (SELECT CAST(COALESCE(SUM(charge_cents), 0) AS BIGINT) FROM billing_claims WHERE ",
    );
    in_period(&mut figures, "submitted_at", query.start, query.end);
    figures.sql(") AS billed_cents, (SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM ledger_entries WHERE ");
    in_period(&mut figures, "posted_at", query.start, query.end);
    figures
        .sql(" AND kind IN ")
        .bind_list(query.collected_kinds.iter().copied());
    // A claim denied and later paid on appeal in the same period counts once among
    // the adjudicated, and as denied.
    figures.sql(") AS collected_cents, (SELECT COUNT(DISTINCT claim_id) FROM billing_state_history WHERE ");
    in_period(&mut figures, "at", query.start, query.end);
    // Only moves: a row that keeps the state (a submission an admin abandoned)
    // decided nothing.
    figures
        .sql(" AND (from_state IS NULL OR from_state <> to_state) AND to_state IN ")
        .bind_list(query.adjudicated_states.iter().copied());
    figures
        .sql(") AS adjudicated_claims, (SELECT COUNT(DISTINCT claim_id) FROM billing_state_history WHERE ");
    in_period(&mut figures, "at", query.start, query.end);
    figures
        .sql(" AND (from_state IS NULL OR from_state <> to_state) AND to_state = ")
        .bind(query.denied_state);
    figures.sql(") AS denied_claims, (SELECT COUNT(*) FROM billing_claims WHERE ");
    in_period(&mut figures, "first_paid_at", query.start, query.end);
    // A claim paid in the posting that also walked it to `submitted` was submitted a
    // moment after its payment's timestamp: it took no time, not negative time.
    figures.sql(concat!(
        ") AS paid_claims, (SELECT CAST(COALESCE(SUM(CASE WHEN first_paid_at > COALESCE(submitted_at, created_at) THEN ",
        seconds_between!("first_paid_at", "COALESCE(submitted_at, created_at)"),
        " ELSE 0 END), 0) AS BIGINT) FROM billing_claims WHERE ",
    ));
    in_period(&mut figures, "first_paid_at", query.start, query.end);
    figures.sql(") AS seconds_to_pay").keep_prepared();
    let row: KpiRow = figures.get_result(conn).await?;

    let mut by_state = Statement::new("SELECT state, COUNT(*) AS count FROM billing_claims WHERE ");
    in_period(&mut by_state, "created_at", query.start, query.end);
    by_state.sql(" GROUP BY state").keep_prepared();
    let states: Vec<StateCountRow> = by_state.load(conn).await?;

    Ok(KpiFigures {
        billed_cents: row.billed_cents,
        collected_cents: row.collected_cents,
        adjudicated_claims: row.adjudicated_claims,
        denied_claims: row.denied_claims,
        paid_claims: row.paid_claims,
        seconds_to_pay: row.seconds_to_pay,
        claims_by_state: states.into_iter().map(|row| (row.state, row.count)).collect(),
    })
}

#[derive(QueryableByName)]
struct DayRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    day: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    billed_cents: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    collected_cents: i64,
}

/// Billed and collected of each day starting at `days[i]` (each a day long), in one
/// round trip: a row per day, each two index-range sums (migration 000008's
/// covering indexes), so thirty days cost thirty small range scans, never a scan of
/// the claims.
pub async fn daily_figures(
    conn: &mut Conn,
    days: &[chrono::DateTime<Utc>],
    collected_kinds: &[&str],
) -> Result<Vec<crate::store::dashboard::DayFigures>, StoreError> {
    if days.is_empty() {
        return Ok(Vec::new());
    }
    let mut statement = Statement::default();
    for (index, start) in days.iter().enumerate() {
        let (period_start, period_end) = (*start, *start + chrono::Duration::days(1));
        if index > 0 {
            statement.sql(" UNION ALL ");
        }
        statement
            .sql("SELECT CAST(")
            .sql(&index.to_string())
            .sql(" AS BIGINT) AS day, (SELECT CAST(COALESCE(SUM(charge_cents), 0) AS BIGINT) FROM billing_claims WHERE ");
        in_period(&mut statement, "submitted_at", period_start, period_end);
        statement.sql(") AS billed_cents, (SELECT CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) FROM ledger_entries WHERE ");
        in_period(&mut statement, "posted_at", period_start, period_end);
        statement
            .sql(" AND kind IN ")
            .bind_list(collected_kinds.iter().copied());
        statement.sql(") AS collected_cents");
    }
    let rows: Vec<DayRow> = statement.load(conn).await?;
    let mut figures: Vec<crate::store::dashboard::DayFigures> = days
        .iter()
        .map(|start| crate::store::dashboard::DayFigures {
            start: *start,
            ..Default::default()
        })
        .collect();
    for row in rows {
        if let Some(day) = usize::try_from(row.day).ok().and_then(|i| figures.get_mut(i)) {
            day.billed_cents = row.billed_cents;
            day.collected_cents = row.collected_cents;
        }
    }
    Ok(figures)
}

#[derive(QueryableByName)]
struct CodeCountRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    code: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

/// The denial reasons (`CO-197`) recorded most often in the period, most first.
pub async fn top_denial_codes(
    conn: &mut Conn,
    start: chrono::DateTime<Utc>,
    end: chrono::DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut statement = Statement::new("SELECT code, COUNT(*) AS count FROM claim_denials WHERE ");
    in_period(&mut statement, "created_at", start, end);
    statement
        .sql(" GROUP BY code ORDER BY count DESC, code LIMIT ")
        .bind(limit)
        .keep_prepared();
    let rows: Vec<CodeCountRow> = statement.load(conn).await?;
    Ok(rows.into_iter().map(|row| (row.code, row.count)).collect())
}
