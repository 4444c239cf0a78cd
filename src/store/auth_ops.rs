// Storage of the embedded authorization server, written once for both backends
// (included into each backend module of `store/mod.rs`, like `ops.rs`).

use crate::store::auth::{ClientRow, SigningKeyRow};
use crate::store::schema::{auth_assertion_jtis, auth_clients, auth_signing_keys};

pub async fn insert_auth_client(conn: &mut Conn, row: &ClientRow) -> Result<(), StoreError> {
    diesel::insert_into(auth_clients::table)
        .values(row)
        .execute(conn)
        .await
        .map_err(race_on_unique_violation)?;
    Ok(())
}

pub async fn auth_client(conn: &mut Conn, client_id: &str) -> Result<Option<ClientRow>, StoreError> {
    Ok(auth_clients::table
        .find(client_id)
        .select(ClientRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Every client, oldest first.
pub async fn list_auth_clients(conn: &mut Conn) -> Result<Vec<ClientRow>, StoreError> {
    Ok(auth_clients::table
        .order((auth_clients::created_at, auth_clients::client_id))
        .select(ClientRow::as_select())
        .load(conn)
        .await?)
}

/// `false` when there is no such client.
pub async fn delete_auth_client(conn: &mut Conn, client_id: &str) -> Result<bool, StoreError> {
    let deleted = diesel::delete(auth_clients::table.find(client_id))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// Every signing key, newest first.
pub async fn signing_keys(conn: &mut Conn) -> Result<Vec<SigningKeyRow>, StoreError> {
    Ok(auth_signing_keys::table
        .order(auth_signing_keys::created_at.desc())
        .select(SigningKeyRow::as_select())
        .load(conn)
        .await?)
}

pub async fn insert_signing_key(conn: &mut Conn, row: &SigningKeyRow) -> Result<(), StoreError> {
    diesel::insert_into(auth_signing_keys::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks every unretired key but `keep` retired at `at`.
pub async fn retire_signing_keys_except(
    conn: &mut Conn,
    keep: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    diesel::update(
        auth_signing_keys::table
            .filter(auth_signing_keys::kid.ne(keep))
            .filter(auth_signing_keys::retired_at.is_null()),
    )
    .set(auth_signing_keys::retired_at.eq(Some(StoredInstant(at))))
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes keys retired before `before` (no token they signed is alive).
pub async fn drop_signing_keys_retired_before(
    conn: &mut Conn,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    diesel::delete(auth_signing_keys::table.filter(auth_signing_keys::retired_at.lt(StoredInstant(before))))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a client assertion's `jti`; `false` when the client used it before and
/// it has not expired (a replay). Expired ones are swept first.
pub async fn use_assertion_jti(
    conn: &mut Conn,
    client_id: &str,
    jti: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    diesel::delete(auth_assertion_jtis::table.filter(auth_assertion_jtis::expires_at.lt(StoredInstant(now))))
        .execute(conn)
        .await?;
    let inserted = diesel::insert_into(auth_assertion_jtis::table)
        .values((
            auth_assertion_jtis::client_id.eq(client_id),
            auth_assertion_jtis::jti.eq(jti),
            auth_assertion_jtis::expires_at.eq(StoredInstant(expires_at)),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// Replaces a signing key's sealed private half (key rotation).
pub async fn set_signing_key_private(
    conn: &mut Conn,
    kid: &str,
    sealed: &crate::store::integrations::SealedColumns,
) -> Result<(), StoreError> {
    diesel::update(auth_signing_keys::table.find(kid))
        .set((
            auth_signing_keys::private_ciphertext.eq(&sealed.ciphertext),
            auth_signing_keys::private_nonce.eq(&sealed.nonce),
            auth_signing_keys::key_id.eq(&sealed.key_id),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
