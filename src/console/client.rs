//! The console as a client of the embedded authorization server: a public client
//! (it runs on this server, but its sign-in is a browser's, so PKCE rather than a
//! secret binds the code to the session that asked for it), registered at start-up
//! with the redirect URI of this server's public URL.

use crate::auth::clients::{Client, ClientRegistry, ClientType};
use crate::auth::Endpoints;
use crate::integrations::registry::DEFAULT_TENANT;
use crate::store::StoreError;

pub const CLIENT_ID: &str = "claimbridge-console";

/// What the console asks for: the roles (a user gets those they have) and
/// `online_access`, so the session outlives one access token (a refresh token
/// valid for a working day, revoked at sign-out).
pub const SCOPES: &str = "admin biller auditor online_access";

/// `{public url}/console/callback`.
pub fn redirect_uri(endpoints: &Endpoints) -> String {
    format!("{}/console/callback", public_url(endpoints))
}

/// The public URL, from the issuer (`{public url}/auth`).
pub fn public_url(endpoints: &Endpoints) -> &str {
    endpoints
        .issuer
        .strip_suffix("/auth")
        .unwrap_or(&endpoints.issuer)
}

fn wanted(endpoints: &Endpoints) -> Client {
    Client {
        client_id: CLIENT_ID.to_owned(),
        tenant: DEFAULT_TENANT.to_owned(),
        name: "Claimbridge console".to_owned(),
        client_type: ClientType::Public,
        secret_hash: None,
        redirect_uris: vec![redirect_uri(endpoints)],
        scopes: SCOPES.to_owned(),
        jwks: None,
        jwks_uri: None,
        enabled: true,
        created_at: chrono::Utc::now(),
    }
}

/// Registers the console, or registers it again when the public URL (or what it
/// asks for) changed since; a registration an admin disabled stays disabled. Nodes
/// starting together may race: the loser finds the winner's registration.
pub async fn ensure_registered(clients: &ClientRegistry, endpoints: &Endpoints) -> Result<(), StoreError> {
    let wanted = wanted(endpoints);
    let current = clients.client(CLIENT_ID).await?;
    if let Some(current) = &current {
        if current.redirect_uris == wanted.redirect_uris
            && current.scopes == wanted.scopes
            && current.client_type == wanted.client_type
        {
            return Ok(());
        }
        clients.delete(CLIENT_ID).await?;
    }
    let enabled = current.as_ref().is_none_or(|current| current.enabled);
    match clients.register(Client { enabled, ..wanted }).await {
        Ok(_) | Err(StoreError::WriteRace) => Ok(()),
        Err(error) => Err(error),
    }
}
