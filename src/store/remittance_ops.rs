// Storage of posted remittances, written once for both backends (included into
// each backend module of `store/mod.rs`, like `ops.rs`).

use crate::store::remittance::{
    LedgerAmount, NewLedgerEntry, NewRemittance, NewUnmatchedClaim, UnmatchedClaim,
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

pub async fn set_remittance_report(conn: &mut Conn, id: i64, report: &str) -> Result<(), StoreError> {
    diesel::update(remittances::table.find(id))
        .set(remittances::report.eq(report))
        .execute(conn)
        .await?;
    Ok(())
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
