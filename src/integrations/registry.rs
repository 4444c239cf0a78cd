//! What the admin operations on integrations mean, independent of HTTP: validation
//! that needs the whole configuration, sealing credentials, and the transactions.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::orchestrator::RegistryChanges;
use super::{Category, Vendor};
use crate::secrets::{Keyring, SecretsError};
use crate::store::integrations::IntegrationRecord;
use crate::store::{Store, StoreError};

pub const DEFAULT_TENANT: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("tenant {tenant:?} already has an integration named {name:?}")]
    NameTaken { tenant: String, name: String },
    #[error("no integration by that id")]
    NotFound,
    #[error("no secrets key is configured (secrets_key), so credentials cannot be sealed")]
    NoKey,
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::admin_body::FieldError> for RegistryError {
    fn from(error: crate::admin_body::FieldError) -> Self {
        RegistryError::Invalid {
            field: error.field,
            message: error.message,
        }
    }
}

impl RegistryError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        RegistryError::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// Credentials as an admin gives them: names to secret strings.
pub type CredentialMap = BTreeMap<String, String>;

/// An integration as answers show it: the names of its credentials, never values.
#[derive(Debug, Clone)]
pub struct Integration {
    pub id: String,
    pub tenant: String,
    pub vendor: String,
    pub name: String,
    pub category: String,
    pub priority: i32,
    pub enabled: bool,
    pub base_url: String,
    pub settings: Value,
    pub credential_names: Vec<String>,
    pub key_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new integration; a priority left out puts it last in its tenant and category.
#[derive(Debug)]
pub struct NewIntegration {
    pub tenant: String,
    pub vendor: Vendor,
    pub name: String,
    /// Left out, the vendor's.
    pub category: Option<Category>,
    pub priority: Option<i32>,
    pub enabled: bool,
    pub base_url: String,
    pub settings: Map<String, Value>,
    pub credentials: CredentialMap,
}

/// An update: what is `None` stays as it is; credentials are replaced as a whole
/// (`credentials`) or one by one (`credential_changes`).
#[derive(Debug, Default)]
pub struct IntegrationPatch {
    pub vendor: Option<Vendor>,
    pub name: Option<String>,
    pub category: Option<Category>,
    pub priority: Option<i32>,
    pub enabled: Option<bool>,
    pub base_url: Option<String>,
    pub settings: Option<Map<String, Value>>,
    pub credentials: Option<CredentialMap>,
    pub credential_changes: Option<CredentialChanges>,
}

/// Credentials changed one by one, the others kept: what a form can do that never
/// shows the values it keeps.
#[derive(Debug, Default)]
pub struct CredentialChanges {
    /// Set (added or replaced).
    pub set: CredentialMap,
    /// Removed, by name.
    pub remove: Vec<String>,
}

/// The registry over the database; without a key it can list and read nothing
/// sealed, so every operation answers `NoKey`.
pub struct Registry {
    store: Store,
    keyring: Option<Arc<Keyring>>,
    changes: Option<Arc<RegistryChanges>>,
}

impl Registry {
    pub fn new(store: Store, keyring: Option<Arc<Keyring>>) -> Self {
        Registry {
            store,
            keyring,
            changes: None,
        }
    }

    /// Tells the orchestrator of each committed change, so its routing applies the
    /// change to the next operation.
    pub fn announcing_changes(mut self, changes: Arc<RegistryChanges>) -> Self {
        self.changes = Some(changes);
        self
    }

    fn changed(&self) {
        if let Some(changes) = &self.changes {
            changes.bump();
        }
    }

    /// The stored row, credentials sealed, for the plugin host.
    pub async fn record(&self, id: &str) -> Result<IntegrationRecord, RegistryError> {
        self.store
            .session()
            .await?
            .integration(id)
            .await?
            .ok_or(RegistryError::NotFound)
    }

    fn keyring(&self) -> Result<&Keyring, RegistryError> {
        self.keyring.as_deref().ok_or(RegistryError::NoKey)
    }

    pub async fn create(&self, new: NewIntegration) -> Result<Integration, RegistryError> {
        let keyring = self.keyring()?;
        let category = new.category.unwrap_or(new.vendor.category());
        check_category(new.vendor, category)?;
        check_name(&new.name)?;
        check_base_url(&new.base_url)?;
        let now = Utc::now();
        let id = uuid::Uuid::new_v4().to_string();
        let mut tx = self.store.begin().await?;
        let priority = match new.priority {
            Some(priority) => priority,
            None => {
                tx.next_integration_priority(&new.tenant, category.as_str())
                    .await?
            }
        };
        let record = IntegrationRecord {
            credentials: seal(keyring, &id, &new.credentials),
            id,
            tenant: new.tenant,
            vendor: new.vendor.as_str().to_owned(),
            name: new.name,
            category: category.as_str().to_owned(),
            priority,
            enabled: new.enabled,
            base_url: new.base_url,
            settings: Value::Object(new.settings).to_string(),
            created_at: now,
            updated_at: now,
        };
        if !tx.insert_integration(&record).await? {
            return Err(RegistryError::NameTaken {
                tenant: record.tenant,
                name: record.name,
            });
        }
        tx.commit().await?;
        self.changed();
        view(keyring, record)
    }

    /// The tenant's integrations in the order they are tried.
    pub async fn list(&self, tenant: &str) -> Result<Vec<Integration>, RegistryError> {
        let keyring = self.keyring()?;
        let records = self
            .store
            .session()
            .await?
            .list_integrations(tenant, None)
            .await?;
        records.into_iter().map(|record| view(keyring, record)).collect()
    }

    pub async fn get(&self, id: &str) -> Result<Integration, RegistryError> {
        let keyring = self.keyring()?;
        let record = self.store.session().await?.integration(id).await?;
        view(keyring, record.ok_or(RegistryError::NotFound)?)
    }

    pub async fn update(&self, id: &str, patch: IntegrationPatch) -> Result<Integration, RegistryError> {
        let keyring = self.keyring()?;
        let mut tx = self.store.begin().await?;
        let mut record = tx
            .integration_for_update(id)
            .await?
            .ok_or(RegistryError::NotFound)?;
        let vendor = patch.vendor.map_or_else(|| stored_vendor(&record), Ok)?;
        let category = match patch.category {
            Some(category) => category,
            // A new vendor brings its category unless one is given.
            None if patch.vendor.is_some() => vendor.category(),
            None => Category::parse(&record.category)
                .ok_or_else(|| StoreError::Corrupt(format!("integration category {:?}", record.category)))?,
        };
        check_category(vendor, category)?;
        if let Some(name) = patch.name {
            check_name(&name)?;
            record.name = name;
        }
        record.vendor = vendor.as_str().to_owned();
        record.category = category.as_str().to_owned();
        if let Some(priority) = patch.priority {
            record.priority = priority;
        }
        if let Some(enabled) = patch.enabled {
            record.enabled = enabled;
        }
        if let Some(base_url) = patch.base_url {
            check_base_url(&base_url)?;
            record.base_url = base_url;
        }
        if let Some(settings) = patch.settings {
            record.settings = Value::Object(settings).to_string();
        }
        if let Some(credentials) = &patch.credentials {
            record.credentials = seal(keyring, &record.id, credentials);
        }
        if let Some(changes) = patch.credential_changes {
            let mut credentials = open_credentials(keyring, &record)?;
            for name in &changes.remove {
                credentials.remove(name);
            }
            credentials.extend(changes.set);
            record.credentials = seal(keyring, &record.id, &credentials);
        }
        record.updated_at = Utc::now();
        if !tx.update_integration(&record).await? {
            return Err(RegistryError::NameTaken {
                tenant: record.tenant,
                name: record.name,
            });
        }
        tx.commit().await?;
        self.changed();
        view(keyring, record)
    }

    /// Gives the tenant's integrations of `category` the priorities 1, 2, … in the
    /// order of `ids`, which must name each of them once.
    pub async fn reorder(
        &self,
        tenant: &str,
        category: Category,
        ids: &[String],
    ) -> Result<Vec<Integration>, RegistryError> {
        let keyring = self.keyring()?;
        let mut tx = self.store.begin().await?;
        let current = tx.list_integrations(tenant, Some(category.as_str())).await?;
        let mut given: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut known: Vec<&str> = current.iter().map(|record| record.id.as_str()).collect();
        given.sort_unstable();
        known.sort_unstable();
        if given != known {
            return Err(RegistryError::invalid(
                "ids",
                format!(
                    "must list each of the {} {} integrations of tenant {tenant:?} once",
                    known.len(),
                    category.as_str()
                ),
            ));
        }
        let now = Utc::now();
        for (at, id) in ids.iter().enumerate() {
            let priority = i32::try_from(at + 1).map_err(|_| RegistryError::invalid("ids", "too many"))?;
            tx.set_integration_priority(id, priority, now).await?;
        }
        let reordered = tx.list_integrations(tenant, Some(category.as_str())).await?;
        tx.commit().await?;
        self.changed();
        reordered
            .into_iter()
            .map(|record| view(keyring, record))
            .collect()
    }

    pub async fn delete(&self, id: &str) -> Result<(), RegistryError> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_integration(id).await? {
            return Err(RegistryError::NotFound);
        }
        tx.commit().await?;
        self.changed();
        Ok(())
    }
}

fn check_category(vendor: Vendor, category: Category) -> Result<(), RegistryError> {
    if vendor.category() != category {
        return Err(RegistryError::invalid(
            "category",
            format!(
                "{} is a {} integration, not {}",
                vendor.as_str(),
                vendor.category().as_str(),
                category.as_str()
            ),
        ));
    }
    Ok(())
}

fn check_base_url(text: &str) -> Result<(), RegistryError> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(()),
        _ => Err(RegistryError::invalid(
            "baseUrl",
            "must be an absolute http or https URL",
        )),
    }
}

fn check_name(name: &str) -> Result<(), RegistryError> {
    if name.trim().is_empty() {
        return Err(RegistryError::invalid("name", "must not be empty"));
    }
    Ok(())
}

fn stored_vendor(record: &IntegrationRecord) -> Result<Vendor, RegistryError> {
    Vendor::parse(&record.vendor)
        .ok_or_else(|| StoreError::Corrupt(format!("integration vendor {:?}", record.vendor)).into())
}

/// The associated data of a row's credentials: its id, which never changes, so a
/// ciphertext copied into another row does not open there.
pub(super) fn associated_data(id: &str) -> Vec<u8> {
    format!("integration:{id}").into_bytes()
}

fn seal(
    keyring: &Keyring,
    id: &str,
    credentials: &CredentialMap,
) -> crate::store::integrations::SealedColumns {
    let plaintext = serde_json::to_vec(credentials).expect("a map of strings serializes");
    keyring.seal(&plaintext, &associated_data(id))
}

/// Opens a row's credentials.
pub(super) fn open_credentials(
    keyring: &Keyring,
    record: &IntegrationRecord,
) -> Result<CredentialMap, RegistryError> {
    let plaintext = keyring.open(&record.credentials, &associated_data(&record.id))?;
    serde_json::from_slice(&plaintext).map_err(|_| {
        StoreError::Corrupt(format!("credentials of integration {} do not read", record.id)).into()
    })
}

/// The record as answers show it: credentials opened only to learn their names.
fn view(keyring: &Keyring, record: IntegrationRecord) -> Result<Integration, RegistryError> {
    let credential_names = open_credentials(keyring, &record)?.into_keys().collect();
    let settings = serde_json::from_str(&record.settings)
        .map_err(|_| StoreError::Corrupt(format!("settings of integration {} do not read", record.id)))?;
    Ok(Integration {
        id: record.id,
        tenant: record.tenant,
        vendor: record.vendor,
        name: record.name,
        category: record.category,
        priority: record.priority,
        enabled: record.enabled,
        base_url: record.base_url,
        settings,
        credential_names,
        key_id: record.credentials.key_id,
        created_at: record.created_at,
        updated_at: record.updated_at,
    })
}
