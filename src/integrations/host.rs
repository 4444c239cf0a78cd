//! Keeps one initialized plugin handler per integration, built from its row:
//! credentials opened, `initialize` run once, then shared by every call. A row that
//! changed (its `updated_at` moved) gets a fresh handler and the old one is cleaned
//! up, so an admin's change applies to the next call without a restart and no call
//! runs half on old settings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use claimbridge_plugin_sdk::{Credentials, PluginConfig, PluginError, PluginHandler, Secret};

use super::registry::open_credentials;
use super::Vendor;
use crate::secrets::Keyring;
use crate::store::integrations::IntegrationRecord;

/// Makes an uninitialized handler for a vendor.
pub type PluginFactory = dyn Fn(Vendor) -> Box<dyn PluginHandler> + Send + Sync;

/// Each integration's handler, with the `updated_at` of the row it was built from.
type Handlers = HashMap<String, (DateTime<Utc>, Arc<dyn PluginHandler>)>;

pub struct PluginHost {
    keyring: Option<Arc<Keyring>>,
    factory: Arc<PluginFactory>,
    handlers: Mutex<Handlers>,
}

impl PluginHost {
    pub fn new(keyring: Option<Arc<Keyring>>, factory: Arc<PluginFactory>) -> Self {
        PluginHost {
            keyring,
            factory,
            handlers: Mutex::default(),
        }
    }

    /// The integration's handler, initialized. A configuration that cannot work
    /// (a credential missing, settings that do not read) is a final error.
    pub async fn handler(&self, record: &IntegrationRecord) -> Result<Arc<dyn PluginHandler>, PluginError> {
        if let Some((version, handler)) = self.lock().get(&record.id) {
            if *version == record.updated_at {
                return Ok(Arc::clone(handler));
            }
        }
        let handler: Arc<dyn PluginHandler> = Arc::from(self.initialized(record).await?);
        let replaced = self
            .lock()
            .insert(record.id.clone(), (record.updated_at, Arc::clone(&handler)));
        if let Some((_, old)) = replaced {
            tokio::spawn(async move {
                if let Err(error) = old.cleanup().await {
                    tracing::warn!(%error, "plugin cleanup failed");
                }
            });
        }
        Ok(handler)
    }

    /// A handler built and initialized for this call only (an admin's connection
    /// test of a configuration), not kept.
    pub async fn initialized(
        &self,
        record: &IntegrationRecord,
    ) -> Result<Box<dyn PluginHandler>, PluginError> {
        let vendor = Vendor::parse(&record.vendor)
            .ok_or_else(|| PluginError::rejected(format!("no plugin for vendor {:?}", record.vendor)))?;
        let keyring = self
            .keyring
            .as_deref()
            .ok_or_else(|| PluginError::rejected("no secrets key is configured to open credentials"))?;
        let opened = open_credentials(keyring, record)
            .map_err(|_| PluginError::rejected("the integration's credentials do not open"))?;
        let mut credentials = Credentials::default();
        for (name, value) in opened {
            credentials.insert(name, Secret::new(value));
        }
        let settings = serde_json::from_str(&record.settings)
            .map_err(|_| PluginError::rejected("the integration's settings do not read"))?;
        let mut handler = (self.factory)(vendor);
        handler
            .initialize(PluginConfig {
                base_url: record.base_url.clone(),
                settings,
                credentials,
            })
            .await?;
        Ok(handler)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Handlers> {
        self.handlers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
