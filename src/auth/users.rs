//! The people who sign in on the embedded authorization server's login page
//! (SMART App Launch): a username, an Argon2id password hash, the tenant they work
//! in, who they are in FHIR (`fhirUser`), and the scopes apps may be granted on
//! their behalf. Managed through `/admin/users`.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::sync::{Arc, LazyLock};

use crate::admin_body::{Body, FieldError};
use crate::integrations::registry::DEFAULT_TENANT;
use crate::store::auth::UserRow;
use crate::store::sql_types::StoredInstant;
use crate::store::{Store, StoreError};

/// What a user may grant apps unless the admin says otherwise: their own access
/// (`user/`), a patient's (`patient/`), launch context, identity and refresh tokens.
pub const DEFAULT_USER_SCOPES: &str =
    "user/*.cruds patient/*.cruds launch launch/patient launch/encounter openid fhirUser offline_access online_access";

/// Shortest password an admin may set (NIST SP 800-63B asks for at least 8; a
/// person signing in to PHI gets more).
const MIN_PASSWORD_CHARS: usize = 12;

/// Checked against when the username is unknown, so that an unknown user and a
/// wrong password take the same time.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| hash_password("decoy password").unwrap_or_default());

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub user_id: String,
    pub tenant: String,
    pub username: String,
    pub display_name: String,
    pub fhir_user: Option<String>,
    pub scopes: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

impl User {
    /// The admin API's view: never the password hash.
    pub fn to_json(&self) -> Value {
        json!({
            "userId": self.user_id,
            "tenant": self.tenant,
            "username": self.username,
            "displayName": self.display_name,
            "fhirUser": self.fhir_user,
            "scopes": self.scopes,
            "enabled": self.enabled,
            "createdAt": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }

    fn from_row(row: UserRow) -> Self {
        User {
            user_id: row.user_id,
            tenant: row.tenant,
            username: row.username,
            display_name: row.display_name,
            fhir_user: row.fhir_user,
            scopes: row.scopes,
            enabled: row.enabled,
            created_at: row.created_at.0,
        }
    }
}

/// A new user as an admin asked for it, with the password to set (`None`: one is
/// generated and shown once).
pub struct NewUser {
    pub user: User,
    pub password: Option<String>,
}

/// `{"username", "displayName"?, "password"?, "tenant"?, "fhirUser"?, "scopes"?,
/// "enabled"?}`.
pub fn user_of(body: Value) -> Result<NewUser, FieldError> {
    let body = Body::of(body)?;
    let username = body
        .string("username")?
        .ok_or_else(|| FieldError::missing("username"))?;
    if !(3..=64).contains(&username.len())
        || !username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
    {
        return Err(FieldError::new(
            "username",
            "must be 3 to 64 letters, digits, '.', '_', '-' or '@'",
        ));
    }
    let password = body.string("password")?;
    if password
        .as_ref()
        .is_some_and(|password| password.chars().count() < MIN_PASSWORD_CHARS)
    {
        return Err(FieldError::new(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    let fhir_user = body.string("fhirUser")?;
    if let Some(reference) = &fhir_user {
        let valid = reference.split_once('/').is_some_and(|(kind, id)| {
            matches!(kind, "Practitioner" | "Patient" | "RelatedPerson" | "Person") && !id.is_empty()
        });
        if !valid {
            return Err(FieldError::new(
                "fhirUser",
                "must reference a Practitioner, Patient, RelatedPerson or Person",
            ));
        }
    }
    let scopes = body
        .string("scopes")?
        .unwrap_or_else(|| DEFAULT_USER_SCOPES.to_owned());
    super::scopes::Scopes::parse(&scopes).map_err(|e| FieldError::new("scopes", e.to_string()))?;
    Ok(NewUser {
        user: User {
            user_id: uuid::Uuid::new_v4().to_string(),
            tenant: body.tenant()?.unwrap_or_else(|| DEFAULT_TENANT.into()),
            display_name: body.string("displayName")?.unwrap_or_else(|| username.clone()),
            username,
            fhir_user,
            scopes,
            enabled: body.boolean("enabled")?.unwrap_or(true),
            created_at: Utc::now(),
        },
        password,
    })
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError::Corrupt(format!("hashing a password: {e}")))
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

#[derive(Clone)]
pub struct UserRegistry {
    store: Arc<Store>,
}

impl UserRegistry {
    pub fn new(store: Arc<Store>) -> Self {
        UserRegistry { store }
    }

    /// Adds the user; returns the password generated for them when none was given
    /// (shown once). `StoreError::WriteRace` when the username is taken.
    pub async fn add(&self, new: NewUser) -> Result<(User, Option<String>), StoreError> {
        let (password, generated) = match new.password {
            Some(password) => (password, None),
            None => {
                let (password, _) = super::clients::new_secret();
                (password.clone(), Some(password))
            }
        };
        // Argon2 takes tens of milliseconds of CPU on purpose: off the async workers.
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| StoreError::Corrupt(e.to_string()))??;
        let user = new.user;
        let row = UserRow {
            user_id: user.user_id.clone(),
            tenant: user.tenant.clone(),
            username: user.username.clone(),
            password_hash: hash,
            display_name: user.display_name.clone(),
            fhir_user: user.fhir_user.clone(),
            scopes: user.scopes.clone(),
            enabled: user.enabled,
            created_at: StoredInstant(user.created_at),
        };
        self.store.session().await?.insert_auth_user(&row).await?;
        Ok((user, generated))
    }

    /// The enabled user with this username and password; `None` for an unknown
    /// user, a wrong password or a disabled account alike.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<Option<User>, StoreError> {
        let row = self.store.session().await?.auth_user_named(username).await?;
        let stored = row
            .as_ref()
            .map(|row| row.password_hash.clone())
            .unwrap_or_else(|| DECOY_HASH.clone());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || password_matches(&password, &stored))
            .await
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(row.filter(|row| matches && row.enabled).map(User::from_row))
    }

    pub async fn user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let row = self.store.session().await?.auth_user(user_id).await?;
        Ok(row.map(User::from_row))
    }

    pub async fn list(&self) -> Result<Vec<User>, StoreError> {
        let rows = self.store.session().await?.list_auth_users().await?;
        Ok(rows.into_iter().map(User::from_row).collect())
    }

    pub async fn delete(&self, user_id: &str) -> Result<bool, StoreError> {
        self.store.session().await?.delete_auth_user(user_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_hash_matches_only_its_password() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse batterY", &hash));
        assert!(!password_matches("correct horse battery", "not a hash"));
    }

    #[test]
    fn each_bad_field_is_named() {
        let field = |body: Value| user_of(body).err().map(|e| e.field);
        assert_eq!(field(json!({"displayName": "A"})), Some("username"));
        assert_eq!(field(json!({"username": "a b c"})), Some("username"));
        assert_eq!(
            field(json!({"username": "alice", "password": "short"})),
            Some("password")
        );
        assert_eq!(
            field(json!({"username": "alice", "fhirUser": "Claim/1"})),
            Some("fhirUser")
        );
        assert_eq!(
            field(json!({"username": "alice", "scopes": "nonsense/x"})),
            Some("scopes")
        );
        let made = user_of(json!({"username": "alice"})).unwrap();
        assert_eq!(made.user.scopes, DEFAULT_USER_SCOPES);
        assert!(made.password.is_none());
    }
}
