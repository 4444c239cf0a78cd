//! The first administrator: on first start with authorization required and no
//! client registered, a confidential client `bootstrap-admin` (scopes
//! `system/*.* admin`) is created; its secret is printed once and written to
//! `bootstrap-admin.json` (`client_id`, `client_secret`), readable by the owner
//! only, so that a newcomer can get a token with curl. Two nodes starting at once
//! make one: the other's insert loses the race and it writes nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::clients::{client_of, ClientRegistry};
use crate::store::StoreError;

pub const BOOTSTRAP_CLIENT_ID: &str = "bootstrap-admin";
pub const BOOTSTRAP_SCOPES: &str = "system/*.* admin";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the bootstrap credentials cannot be written to {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Where the credentials go by default: beside the embedded database, else in the
/// working directory.
pub fn default_path(database_url: &str) -> PathBuf {
    match database_url.strip_prefix("sqlite://") {
        Some(file) => Path::new(file)
            .parent()
            .unwrap_or(Path::new("."))
            .join("bootstrap-admin.json"),
        None => PathBuf::from("bootstrap-admin.json"),
    }
}

/// Creates the bootstrap client when no client exists; `true` when it did.
pub async fn ensure_admin(clients: &ClientRegistry, path: &Path) -> Result<bool, BootstrapError> {
    if !clients.is_empty().await? {
        return Ok(false);
    }
    let client = client_of(json!({
        "clientId": BOOTSTRAP_CLIENT_ID,
        "name": "Bootstrap administrator",
        "type": "confidential",
        "scopes": BOOTSTRAP_SCOPES,
    }))
    .expect("the bootstrap client is well formed");
    let secret = match clients.register(client).await {
        Ok((_, Some(secret))) => secret,
        Ok((_, None)) => unreachable!("a confidential client gets a secret"),
        // Another node made it first.
        Err(StoreError::WriteRace) => return Ok(false),
        Err(error) => return Err(error.into()),
    };
    write_owner_only(
        path,
        &json!({"client_id": BOOTSTRAP_CLIENT_ID, "client_secret": secret}).to_string(),
    )
    .map_err(|source| BootstrapError::Write {
        path: path.to_owned(),
        source,
    })?;
    // Printed, not logged: log lines are shipped and kept; this is shown once.
    println!(
        "Created the bootstrap admin client.\n  client_id:     {BOOTSTRAP_CLIENT_ID}\n  client_secret: {secret}\n  (also in {}, readable by this user only; it is not shown again)",
        path.display()
    );
    tracing::warn!(path = %path.display(), "bootstrap admin client created; its credentials are in the file");
    Ok(true)
}

fn write_owner_only(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}
