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

pub async fn insert_auth_user(conn: &mut Conn, row: &crate::store::auth::UserRow) -> Result<(), StoreError> {
    use crate::store::schema::auth_users;
    diesel::insert_into(auth_users::table)
        .values(row)
        .execute(conn)
        .await
        .map_err(race_on_unique_violation)?;
    Ok(())
}

pub async fn auth_user(
    conn: &mut Conn,
    user_id: &str,
) -> Result<Option<crate::store::auth::UserRow>, StoreError> {
    use crate::store::auth::UserRow;
    use crate::store::schema::auth_users;
    Ok(auth_users::table
        .find(user_id)
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

pub async fn auth_user_named(
    conn: &mut Conn,
    username: &str,
) -> Result<Option<crate::store::auth::UserRow>, StoreError> {
    use crate::store::auth::UserRow;
    use crate::store::schema::auth_users;
    Ok(auth_users::table
        .filter(auth_users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Every user, oldest first.
pub async fn list_auth_users(conn: &mut Conn) -> Result<Vec<crate::store::auth::UserRow>, StoreError> {
    use crate::store::auth::UserRow;
    use crate::store::schema::auth_users;
    Ok(auth_users::table
        .order((auth_users::created_at, auth_users::user_id))
        .select(UserRow::as_select())
        .load(conn)
        .await?)
}

/// `false` when there is no such user.
pub async fn delete_auth_user(conn: &mut Conn, user_id: &str) -> Result<bool, StoreError> {
    use crate::store::schema::auth_users;
    let deleted = diesel::delete(auth_users::table.find(user_id))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// Stores a new authorization code, sweeping expired ones first.
pub async fn insert_auth_code(
    conn: &mut Conn,
    row: &crate::store::auth::CodeRow,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    use crate::store::schema::auth_codes;
    diesel::delete(auth_codes::table.filter(auth_codes::expires_at.lt(StoredInstant(now))))
        .execute(conn)
        .await?;
    diesel::insert_into(auth_codes::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes and returns the code (redeemed once: a second redemption finds nothing).
pub async fn take_auth_code(
    conn: &mut Conn,
    code_hash: &str,
) -> Result<Option<crate::store::auth::CodeRow>, StoreError> {
    use crate::store::auth::CodeRow;
    use crate::store::schema::auth_codes;
    Ok(diesel::delete(auth_codes::table.find(code_hash))
        .returning(CodeRow::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

pub async fn insert_refresh_token(
    conn: &mut Conn,
    row: &crate::store::auth::RefreshTokenRow,
) -> Result<(), StoreError> {
    use crate::store::schema::auth_refresh_tokens;
    diesel::insert_into(auth_refresh_tokens::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn refresh_token(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<crate::store::auth::RefreshTokenRow>, StoreError> {
    use crate::store::auth::RefreshTokenRow;
    use crate::store::schema::auth_refresh_tokens;
    Ok(auth_refresh_tokens::table
        .find(token_hash)
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Marks the refresh token used, atomically: of two concurrent uses one finds it
/// fresh and the other finds it reused.
pub async fn use_refresh_token(
    conn: &mut Conn,
    token_hash: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<crate::store::auth::RefreshUse, StoreError> {
    use crate::store::auth::{RefreshTokenRow, RefreshUse};
    use crate::store::schema::auth_refresh_tokens;
    let claimed = diesel::update(
        auth_refresh_tokens::table
            .find(token_hash)
            .filter(auth_refresh_tokens::used_at.is_null())
            .filter(auth_refresh_tokens::expires_at.gt(StoredInstant(now))),
    )
    .set(auth_refresh_tokens::used_at.eq(Some(StoredInstant(now))))
    .returning(RefreshTokenRow::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    if let Some(row) = claimed {
        return Ok(RefreshUse::Fresh(row));
    }
    Ok(match refresh_token(conn, token_hash).await? {
        Some(row) if row.used_at.is_some() => RefreshUse::Reused {
            family_id: row.family_id,
        },
        _ => RefreshUse::Unknown,
    })
}

/// Forgets every refresh token of the family and records it revoked until
/// `until` (the access tokens issued from it carry the family id).
pub async fn revoke_refresh_family(
    conn: &mut Conn,
    family_id: &str,
    until: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    use crate::store::schema::auth_refresh_tokens;
    diesel::delete(auth_refresh_tokens::table.filter(auth_refresh_tokens::family_id.eq(family_id)))
        .execute(conn)
        .await?;
    insert_revocation(conn, family_id, until).await
}

/// Records `revoked_id` (a jti or a grant family) revoked until `until`.
pub async fn insert_revocation(
    conn: &mut Conn,
    revoked_id: &str,
    until: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    use crate::store::schema::auth_revocations;
    diesel::insert_into(auth_revocations::table)
        .values((
            auth_revocations::revoked_id.eq(revoked_id),
            auth_revocations::expires_at.eq(StoredInstant(until)),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether any of `ids` is revoked.
pub async fn any_revoked(conn: &mut Conn, ids: &[&str]) -> Result<bool, StoreError> {
    use crate::store::schema::auth_revocations;
    let found: i64 = auth_revocations::table
        .filter(auth_revocations::revoked_id.eq_any(ids))
        .count()
        .get_result(conn)
        .await?;
    Ok(found > 0)
}

pub async fn insert_launch_context(
    conn: &mut Conn,
    row: &crate::store::auth::LaunchContextRow,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    use crate::store::schema::auth_launch_contexts;
    diesel::delete(
        auth_launch_contexts::table.filter(auth_launch_contexts::expires_at.lt(StoredInstant(now))),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(auth_launch_contexts::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(())
}

/// The launch context, unless unknown or expired.
pub async fn launch_context(
    conn: &mut Conn,
    launch_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<crate::store::auth::LaunchContextRow>, StoreError> {
    use crate::store::auth::LaunchContextRow;
    use crate::store::schema::auth_launch_contexts;
    Ok(auth_launch_contexts::table
        .find(launch_id)
        .filter(auth_launch_contexts::expires_at.gt(StoredInstant(now)))
        .select(LaunchContextRow::as_select())
        .first(conn)
        .await
        .optional()?)
}
