// Storage of feed cursors, written once for both backends (included into each
// backend module of `store/mod.rs`, like `ops.rs`).

use crate::store::schema::feed_cursors;

/// Where the integration's feed was read up to; `None` before its first page.
pub async fn feed_cursor(
    conn: &mut Conn,
    integration_id: &str,
    feed: &str,
) -> Result<Option<String>, StoreError> {
    Ok(feed_cursors::table
        .find((integration_id, feed))
        .select(feed_cursors::cursor)
        .first(conn)
        .await
        .optional()?)
}

pub async fn save_feed_cursor(
    conn: &mut Conn,
    integration_id: &str,
    feed: &str,
    cursor: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    diesel::insert_into(feed_cursors::table)
        .values((
            feed_cursors::integration_id.eq(integration_id),
            feed_cursors::feed.eq(feed),
            feed_cursors::cursor.eq(cursor),
            feed_cursors::updated_at.eq(StoredInstant(at)),
        ))
        .on_conflict((feed_cursors::integration_id, feed_cursors::feed))
        .do_update()
        .set((
            feed_cursors::cursor.eq(cursor),
            feed_cursors::updated_at.eq(StoredInstant(at)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
