// What the readiness probe asks the database, written once for both backends
// (included into each backend module of `store/mod.rs`, like `ops.rs`).

#[derive(diesel::QueryableByName)]
struct LatestMigration {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    version: Option<String>,
}

/// The newest migration applied to the database (diesel's own table); a query
/// that also proves the database answers.
pub async fn latest_applied_migration(conn: &mut Conn) -> Result<Option<String>, StoreError> {
    let latest: LatestMigration =
        diesel::sql_query("SELECT MAX(version) AS version FROM __diesel_schema_migrations")
            .get_result(conn)
            .await?;
    Ok(latest.version)
}
