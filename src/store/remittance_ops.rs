// Storage of posted remittances, written once for both backends (included into
// each backend module of `store/mod.rs`, like `ops.rs`).

use crate::store::remittance::{
    LedgerAmount, NewLedgerEntry, NewRemittance, NewUnmatchedClaim, RemittanceFilter, RemittanceSummary,
    UnmatchedClaim,
};
use crate::store::rows::NewLedgerRow;
use crate::store::schema::{ledger_entries, remittances, unmatched_remittance_claims};

type UnmatchedColumns = (
    i64,
    i64,
    String,
    String,
    String,
    StoredInstant,
    String,
    Option<String>,
    i64,
    i64,
    String,
);

/// Records a remittance (its report still empty) and returns its id, or `None` when
/// the payer's trace number is already recorded. A concurrent transaction recording
/// the same one makes this wait for its outcome (the unique index), so one payment
/// is never posted twice.
pub async fn insert_remittance(
    conn: &mut Conn,
    remittance: &NewRemittance<'_>,
) -> Result<Option<i64>, StoreError> {
    Ok(diesel::insert_into(remittances::table)
        .values((
            remittances::payer_id.eq(remittance.payer_id),
            remittances::payer_name.eq(remittance.payer_name),
            remittances::trace_number.eq(remittance.trace_number),
            remittances::payment_cents.eq(remittance.payment_cents),
            remittances::payment_date.eq(remittance.payment_date),
            remittances::raw.eq(remittance.raw),
            remittances::received_at.eq(StoredInstant(remittance.received_at)),
            remittances::report.eq(""),
        ))
        .on_conflict_do_nothing()
        .returning(remittances::id)
        .get_result(conn)
        .await
        .optional()?)
}

/// The posting report of the payer's remittance with this trace number, if recorded.
pub async fn remittance_report(
    conn: &mut Conn,
    payer_id: &str,
    trace_number: &str,
) -> Result<Option<String>, StoreError> {
    Ok(remittances::table
        .filter(remittances::payer_id.eq(payer_id))
        .filter(remittances::trace_number.eq(trace_number))
        .select(remittances::report)
        .first(conn)
        .await
        .optional()?)
}

/// Stores what posting did: the report, and how many claim payments it posted and
/// left unmatched (for lists, which do not read reports).
pub async fn set_remittance_report(
    conn: &mut Conn,
    id: i64,
    report: &str,
    posted_claims: i64,
    unmatched_claims: i64,
) -> Result<(), StoreError> {
    diesel::update(remittances::table.find(id))
        .set((
            remittances::report.eq(report),
            remittances::posted_claims.eq(posted_claims),
            remittances::unmatched_claims.eq(unmatched_claims),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The posting report of the remittance with this id, if there is one.
pub async fn remittance_report_by_id(conn: &mut Conn, id: i64) -> Result<Option<String>, StoreError> {
    Ok(remittances::table
        .find(id)
        .select(remittances::report)
        .first(conn)
        .await
        .optional()?)
}

type SummaryColumns = (
    i64,
    String,
    String,
    String,
    i64,
    Option<chrono::NaiveDate>,
    StoredInstant,
    i64,
    i64,
);

/// Remittances newest first, as `filter` narrows them.
pub async fn list_remittances(
    conn: &mut Conn,
    filter: &RemittanceFilter<'_>,
) -> Result<Vec<RemittanceSummary>, StoreError> {
    let mut query = remittances::table
        .select((
            remittances::id,
            remittances::payer_id,
            remittances::payer_name,
            remittances::trace_number,
            remittances::payment_cents,
            remittances::payment_date,
            remittances::received_at,
            remittances::posted_claims,
            remittances::unmatched_claims,
        ))
        .into_boxed();
    if let Some(payer_id) = filter.payer_id {
        query = query.filter(remittances::payer_id.eq(payer_id));
    }
    if let Some(from) = filter.received_from {
        query = query.filter(remittances::received_at.ge(StoredInstant(from)));
    }
    if let Some(before) = filter.received_before {
        query = query.filter(remittances::received_at.lt(StoredInstant(before)));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(remittances::id.lt(before));
    }
    let rows: Vec<SummaryColumns> = query
        .order(remittances::id.desc())
        .limit(filter.limit)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| RemittanceSummary {
            id: row.0,
            payer_id: row.1,
            payer_name: row.2,
            trace_number: row.3,
            payment_cents: row.4,
            payment_date: row.5,
            received_at: row.6 .0,
            posted_claims: row.7,
            unmatched_claims: row.8,
        })
        .collect())
}

pub async fn insert_ledger_entries(conn: &mut Conn, entries: &[NewLedgerEntry]) -> Result<(), StoreError> {
    let rows: Vec<NewLedgerRow<'_>> = entries.iter().map(NewLedgerRow::from).collect();
    insert_together!(conn, [ledger_entries <- rows]);
    Ok(())
}

/// Every ledger amount of a claim.
pub async fn claim_ledger(conn: &mut Conn, claim_id: &str) -> Result<Vec<LedgerAmount>, StoreError> {
    let rows: Vec<(String, String, i64)> = ledger_entries::table
        .filter(ledger_entries::claim_id.eq(claim_id))
        .select((
            ledger_entries::kind,
            ledger_entries::party,
            ledger_entries::amount_cents,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, party, amount_cents)| LedgerAmount {
            kind,
            party,
            amount_cents,
        })
        .collect())
}

pub async fn insert_unmatched_claim(conn: &mut Conn, claim: &NewUnmatchedClaim) -> Result<(), StoreError> {
    diesel::insert_into(unmatched_remittance_claims::table)
        .values((
            unmatched_remittance_claims::remittance_id.eq(claim.remittance_id),
            unmatched_remittance_claims::patient_control_number.eq(&claim.patient_control_number),
            unmatched_remittance_claims::payer_claim_control_number.eq(&claim.payer_claim_control_number),
            unmatched_remittance_claims::charge_cents.eq(claim.charge_cents),
            unmatched_remittance_claims::paid_cents.eq(claim.paid_cents),
            unmatched_remittance_claims::detail.eq(&claim.detail),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Unmatched claim payments, newest first, older than `before_id` when given.
pub async fn list_unmatched_claims(
    conn: &mut Conn,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<UnmatchedClaim>, StoreError> {
    let mut query = unmatched_remittance_claims::table
        .inner_join(remittances::table)
        .select((
            unmatched_remittance_claims::id,
            unmatched_remittance_claims::remittance_id,
            remittances::payer_id,
            remittances::payer_name,
            remittances::trace_number,
            remittances::received_at,
            unmatched_remittance_claims::patient_control_number,
            unmatched_remittance_claims::payer_claim_control_number,
            unmatched_remittance_claims::charge_cents,
            unmatched_remittance_claims::paid_cents,
            unmatched_remittance_claims::detail,
        ))
        .into_boxed();
    if let Some(before) = before_id {
        query = query.filter(unmatched_remittance_claims::id.lt(before));
    }
    let rows: Vec<UnmatchedColumns> = query
        .order(unmatched_remittance_claims::id.desc())
        .limit(limit)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| UnmatchedClaim {
            id: row.0,
            remittance_id: row.1,
            payer_id: row.2,
            payer_name: row.3,
            trace_number: row.4,
            received_at: row.5 .0,
            patient_control_number: row.6,
            payer_claim_control_number: row.7,
            charge_cents: row.8,
            paid_cents: row.9,
            detail: row.10,
        })
        .collect())
}

/// The remittances that posted anything on the claim, oldest first.
pub async fn claim_remittances(conn: &mut Conn, claim_id: &str) -> Result<Vec<i64>, StoreError> {
    Ok(ledger_entries::table
        .filter(ledger_entries::claim_id.eq(claim_id))
        .select(ledger_entries::remittance_id)
        .distinct()
        .order(ledger_entries::remittance_id)
        .load(conn)
        .await?)
}

/// The 835 as received and its trace number, of the remittance with this id.
pub async fn remittance_document(conn: &mut Conn, id: i64) -> Result<Option<(String, String)>, StoreError> {
    Ok(remittances::table
        .find(id)
        .select((remittances::trace_number, remittances::raw))
        .first(conn)
        .await
        .optional()?)
}

/// `(id, trace number)` of the stored remittances among `ids`, by id.
pub async fn remittance_traces(conn: &mut Conn, ids: &[i64]) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(remittances::table
        .filter(remittances::id.eq_any(ids.to_vec()))
        .select((remittances::id, remittances::trace_number))
        .order(remittances::id)
        .load(conn)
        .await?)
}
