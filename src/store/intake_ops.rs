// Storage of a claims batch, written once for both backends (included into each
// backend module of `store/mod.rs`, like `ops.rs`).

use crate::store::rows::NewStateChangeRow;

/// Billing rows for claims billing has not seen before, and their history, in as
/// few statements as the backend allows (on PostgreSQL, prepared ones: a batch's
/// chunks differ in how many claims they store).
pub async fn insert_billing_claims(
    conn: &mut Conn,
    claims: &[NewBillingClaim],
    history: &[StateChange],
) -> Result<(), StoreError> {
    let claim_rows: Vec<NewBillingClaimRow<'_>> = claims.iter().map(NewBillingClaimRow::from).collect();
    let history_rows: Vec<NewStateChangeRow<'_>> = history.iter().map(NewStateChangeRow::from).collect();
    insert_prepared_together!(
        conn,
        [billing_claims <- claim_rows, billing_state_history <- history_rows]
    );
    Ok(())
}
