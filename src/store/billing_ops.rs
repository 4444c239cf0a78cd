// Storage of claims' billing state, written once for both backends (included into
// each backend module of `store/mod.rs`, like `ops.rs`).

use crate::store::billing::{ClaimStateRow, NewBillingClaim, StateChange};
use crate::store::rows::NewBillingClaimRow;
use crate::store::schema::{billing_claims, billing_state_history, x12_interchanges};

type ClaimStateColumns = (i64, String, String, StoredInstant);

/// What every read of a billing row selects, in `ClaimStateColumns` order.
const CLAIM_STATE_COLUMNS: (
    billing_claims::id,
    billing_claims::claim_id,
    billing_claims::state,
    billing_claims::updated_at,
) = (
    billing_claims::id,
    billing_claims::claim_id,
    billing_claims::state,
    billing_claims::updated_at,
);
type StateChangeColumns = (
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    StoredInstant,
);

fn claim_state(row: ClaimStateColumns) -> ClaimStateRow {
    ClaimStateRow {
        id: row.0,
        claim_id: row.1,
        state: row.2,
        updated_at: row.3 .0,
    }
}

/// The claim's billing row as it stands, without locking it (for reads).
pub async fn read_claim_state(conn: &mut Conn, claim_id: &str) -> Result<Option<ClaimStateRow>, StoreError> {
    let row: Option<ClaimStateColumns> = billing_claims::table
        .filter(billing_claims::claim_id.eq(claim_id))
        .select(CLAIM_STATE_COLUMNS)
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(claim_state))
}

/// The claim's billing row, locked for the rest of the transaction on PostgreSQL so
/// that two moves of one claim take turns.
pub async fn claim_state_for_update(
    conn: &mut Conn,
    claim_id: &str,
) -> Result<Option<ClaimStateRow>, StoreError> {
    let query = billing_claims::table
        .filter(billing_claims::claim_id.eq(claim_id))
        .select(CLAIM_STATE_COLUMNS);
    let row: Option<ClaimStateColumns> = lock_rows!(query).first(conn).await.optional()?;
    Ok(row.map(claim_state))
}

/// The billing row with this number (`id`, the digits of the patient control number
/// `CB…`), locked like `claim_state_for_update`.
pub async fn claim_state_by_number_for_update(
    conn: &mut Conn,
    number: i64,
) -> Result<Option<ClaimStateRow>, StoreError> {
    let query = billing_claims::table.find(number).select(CLAIM_STATE_COLUMNS);
    let row: Option<ClaimStateColumns> = lock_rows!(query).first(conn).await.optional()?;
    Ok(row.map(claim_state))
}

/// Gives a claim its first billing state (`claim.at` being when billing first saw
/// it), its total charge and payer; `None` if it already has one.
pub async fn insert_claim_state(
    conn: &mut Conn,
    claim: &NewBillingClaim,
) -> Result<Option<ClaimStateRow>, StoreError> {
    let row: Option<ClaimStateColumns> = diesel::insert_into(billing_claims::table)
        .values(NewBillingClaimRow::from(claim))
        .on_conflict_do_nothing()
        .returning(CLAIM_STATE_COLUMNS)
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(claim_state))
}

pub async fn set_claim_state(
    conn: &mut Conn,
    claim_id: &str,
    state: &str,
    at: chrono::DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(billing_claims::table.filter(billing_claims::claim_id.eq(claim_id)))
        .set((
            billing_claims::state.eq(state),
            billing_claims::updated_at.eq(StoredInstant(at)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Notes a submission of the claim: the charge sent replaces the one kept, and the
/// first submission's time is kept as when the claim was billed.
pub async fn mark_claim_submitted(
    conn: &mut Conn,
    claim_id: &str,
    at: chrono::DateTime<Utc>,
    charge_cents: Option<i64>,
) -> Result<(), StoreError> {
    let of_claim = billing_claims::table.filter(billing_claims::claim_id.eq(claim_id));
    execute_together!(conn, |c| [
        diesel::update(of_claim)
            .set(billing_claims::charge_cents.eq(charge_cents))
            .execute(c),
        diesel::update(of_claim.filter(billing_claims::submitted_at.is_null()))
            .set(billing_claims::submitted_at.eq(StoredInstant(at)))
            .execute(c),
    ]);
    Ok(())
}

/// Notes a payment posted on the claim at `at`; only the first is kept.
pub async fn mark_claim_paid(
    conn: &mut Conn,
    claim_id: &str,
    at: chrono::DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(
        billing_claims::table
            .filter(billing_claims::claim_id.eq(claim_id))
            .filter(billing_claims::first_paid_at.is_null()),
    )
    .set(billing_claims::first_paid_at.eq(StoredInstant(at)))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_state_change(conn: &mut Conn, change: &StateChange) -> Result<(), StoreError> {
    diesel::insert_into(billing_state_history::table)
        .values((
            billing_state_history::claim_id.eq(&change.claim_id),
            billing_state_history::from_state.eq(&change.from_state),
            billing_state_history::to_state.eq(&change.to_state),
            billing_state_history::actor.eq(&change.actor),
            billing_state_history::reason.eq(&change.reason),
            billing_state_history::details.eq(&change.details),
            billing_state_history::at.eq(StoredInstant(change.at)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A claim's moves, oldest first.
pub async fn state_history(conn: &mut Conn, claim_id: &str) -> Result<Vec<StateChange>, StoreError> {
    let rows: Vec<StateChangeColumns> = billing_state_history::table
        .filter(billing_state_history::claim_id.eq(claim_id))
        .order(billing_state_history::id.asc())
        .select((
            billing_state_history::claim_id,
            billing_state_history::from_state,
            billing_state_history::to_state,
            billing_state_history::actor,
            billing_state_history::reason,
            billing_state_history::details,
            billing_state_history::at,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(claim_id, from_state, to_state, actor, reason, details, at)| StateChange {
                claim_id,
                from_state,
                to_state,
                actor,
                reason,
                details,
                at: at.0,
            },
        )
        .collect())
}

/// Reserves the next interchange control number; the document is stored with
/// `store_interchange` once written around it.
pub async fn reserve_interchange(
    conn: &mut Conn,
    kind: &str,
    at: chrono::DateTime<Utc>,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(x12_interchanges::table)
        .values((
            x12_interchanges::kind.eq(kind),
            x12_interchanges::document.eq(""),
            x12_interchanges::created_at.eq(StoredInstant(at)),
        ))
        .returning(x12_interchanges::control_number)
        .get_result(conn)
        .await?)
}

pub async fn store_interchange(
    conn: &mut Conn,
    control_number: i64,
    document: &str,
) -> Result<(), StoreError> {
    diesel::update(x12_interchanges::table.find(control_number))
        .set(x12_interchanges::document.eq(document))
        .execute(conn)
        .await?;
    Ok(())
}

/// How many claims are in each billing state (states without claims left out).
/// Counted on `billing_claims_state`, the index on (state, id).
pub async fn claims_by_state(conn: &mut Conn) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(billing_claims::table
        .group_by(billing_claims::state)
        .select((billing_claims::state, diesel::dsl::count_star()))
        .load(conn)
        .await?)
}
