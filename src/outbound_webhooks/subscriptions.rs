//! What the admin operations on webhook subscriptions mean, independent of HTTP:
//! validation, the signing secret (generated here, sealed at rest, shown once), and
//! the transactions. Each committed change tells the store, so events on this node
//! see it at once.

use std::sync::Arc;

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::OsRng;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};

use super::events::{EventType, ALL_EVENTS};
use crate::secrets::{Keyring, SecretsError};
use crate::store::integrations::SealedColumns;
use crate::store::webhook_subscriptions::{DeliveryRecord, SubscriptionRecord};
use crate::store::{Store, StoreError};

/// Random bytes in a generated secret.
const SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("no webhook subscription by that id")]
    NotFound,
    #[error("no secrets key is configured (secrets_key), so signing secrets cannot be sealed")]
    NoKey,
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::admin_body::FieldError> for SubscriptionError {
    fn from(error: crate::admin_body::FieldError) -> Self {
        SubscriptionError::Invalid {
            field: error.field,
            message: error.message,
        }
    }
}

impl SubscriptionError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        SubscriptionError::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// A subscription as answers show it: no secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub tenant: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub key_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SubscriptionRecord> for Subscription {
    fn from(record: SubscriptionRecord) -> Self {
        Subscription {
            id: record.id,
            tenant: record.tenant,
            url: record.url,
            events: record.events,
            enabled: record.enabled,
            key_id: record.secret.key_id,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

#[derive(Debug)]
pub struct NewSubscription {
    pub tenant: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
}

/// An update: what is `None` stays as it is.
#[derive(Debug, Default)]
pub struct SubscriptionPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    /// A new secret replaces the old one at once.
    pub rotate_secret: bool,
}

/// A signing secret, shown once: in the answer that made it.
pub struct NewSecret(pub String);

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSecret(…)")
    }
}

pub struct Subscriptions {
    store: Store,
    keyring: Option<Arc<Keyring>>,
}

impl Subscriptions {
    pub fn new(store: Store, keyring: Option<Arc<Keyring>>) -> Self {
        Subscriptions { store, keyring }
    }

    fn keyring(&self) -> Result<&Keyring, SubscriptionError> {
        self.keyring.as_deref().ok_or(SubscriptionError::NoKey)
    }

    pub async fn create(&self, new: NewSubscription) -> Result<(Subscription, NewSecret), SubscriptionError> {
        let keyring = self.keyring()?;
        check_url(&new.url)?;
        let events = checked_events(new.events)?;
        let id = uuid::Uuid::new_v4().to_string();
        let secret = generate_secret();
        let now = Utc::now();
        let record = SubscriptionRecord {
            secret: seal(keyring, &id, &secret),
            id,
            tenant: new.tenant,
            url: new.url,
            events,
            enabled: new.enabled,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_webhook_subscription(&record).await?;
        tx.commit().await?;
        self.store.webhook_subscriptions_changed();
        Ok((record.into(), secret))
    }

    /// The tenant's subscriptions, oldest first.
    pub async fn list(&self, tenant: &str) -> Result<Vec<Subscription>, SubscriptionError> {
        let records = self
            .store
            .session()
            .await?
            .list_webhook_subscriptions(tenant)
            .await?;
        Ok(records.into_iter().map(Subscription::from).collect())
    }

    pub async fn get(&self, id: &str) -> Result<Subscription, SubscriptionError> {
        let record = self.store.session().await?.webhook_subscription(id).await?;
        Ok(record.ok_or(SubscriptionError::NotFound)?.into())
    }

    /// The new secret when the patch rotates it.
    pub async fn update(
        &self,
        id: &str,
        patch: SubscriptionPatch,
    ) -> Result<(Subscription, Option<NewSecret>), SubscriptionError> {
        if let Some(url) = &patch.url {
            check_url(url)?;
        }
        let events = patch.events.map(checked_events).transpose()?;
        let keyring = if patch.rotate_secret {
            Some(self.keyring()?)
        } else {
            None
        };
        let mut tx = self.store.begin().await?;
        let mut record = tx
            .webhook_subscription_for_update(id)
            .await?
            .ok_or(SubscriptionError::NotFound)?;
        if let Some(url) = patch.url {
            record.url = url;
        }
        if let Some(events) = events {
            record.events = events;
        }
        if let Some(enabled) = patch.enabled {
            record.enabled = enabled;
        }
        let secret = keyring.map(|keyring| {
            let secret = generate_secret();
            record.secret = seal(keyring, &record.id, &secret);
            secret
        });
        record.updated_at = Utc::now();
        tx.update_webhook_subscription(&record).await?;
        tx.commit().await?;
        self.store.webhook_subscriptions_changed();
        Ok((record.into(), secret))
    }

    /// Deletes the subscription and its delivery log; deliveries still queued for
    /// it then find nobody to tell.
    pub async fn delete(&self, id: &str) -> Result<(), SubscriptionError> {
        let mut tx = self.store.begin().await?;
        if !tx.delete_webhook_subscription(id).await? {
            return Err(SubscriptionError::NotFound);
        }
        tx.commit().await?;
        self.store.webhook_subscriptions_changed();
        Ok(())
    }

    /// The subscription's delivery attempts, newest first.
    pub async fn deliveries(
        &self,
        id: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, SubscriptionError> {
        let mut session = self.store.session().await?;
        if session.webhook_subscription(id).await?.is_none() {
            return Err(SubscriptionError::NotFound);
        }
        Ok(session.list_webhook_deliveries(id, before, limit).await?)
    }
}

/// An absolute http(s) URL with a host.
fn check_url(text: &str) -> Result<(), SubscriptionError> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(()),
        _ => Err(SubscriptionError::invalid(
            "url",
            "must be an absolute http or https URL",
        )),
    }
}

/// Known event names, at least one, each once; or `*` alone for all.
fn checked_events(mut events: Vec<String>) -> Result<Vec<String>, SubscriptionError> {
    if events.is_empty() {
        return Err(SubscriptionError::invalid(
            "events",
            "must name at least one event, or be [\"*\"] for all",
        ));
    }
    if events.iter().any(|name| name == ALL_EVENTS) {
        return if events.len() == 1 {
            Ok(events)
        } else {
            Err(SubscriptionError::invalid(
                "events",
                "\"*\" already means every event: give it alone",
            ))
        };
    }
    if let Some(unknown) = events.iter().find(|name| EventType::parse(name).is_none()) {
        let known: Vec<&str> = EventType::ALL.iter().map(|event| event.as_str()).collect();
        return Err(SubscriptionError::invalid(
            "events",
            format!("unknown event {unknown:?}; known: {}", known.join(", ")),
        ));
    }
    events.sort_by_key(|name| EventType::parse(name).map(|event| event as usize));
    events.dedup();
    Ok(events)
}

/// 32 random bytes from the operating system, base64url without padding.
fn generate_secret() -> NewSecret {
    let mut bytes = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    NewSecret(URL_SAFE_NO_PAD.encode(bytes))
}

/// The associated data of a subscription's secret: its id, which never changes, so
/// a ciphertext copied into another row does not open there.
fn associated_data(id: &str) -> Vec<u8> {
    format!("webhook_subscription:{id}").into_bytes()
}

fn seal(keyring: &Keyring, id: &str, secret: &NewSecret) -> SealedColumns {
    keyring.seal(secret.0.as_bytes(), &associated_data(id))
}

/// Opens a subscription's signing secret.
pub fn open_secret(keyring: &Keyring, record: &SubscriptionRecord) -> Result<String, SubscriptionError> {
    let plaintext = keyring.open(&record.secret, &associated_data(&record.id))?;
    String::from_utf8(plaintext).map_err(|_| {
        StoreError::Corrupt(format!(
            "the secret of webhook subscription {} does not read",
            record.id
        ))
        .into()
    })
}

/// `claimbridge rotate-key` for subscriptions: reseals every secret under the
/// current key in one transaction; returns how many were resealed.
pub async fn rotate_secrets(store: &Store, keyring: &Keyring) -> Result<usize, SubscriptionError> {
    let mut tx = store.begin().await?;
    let records = tx.all_webhook_subscriptions().await?;
    for record in &records {
        let associated = associated_data(&record.id);
        let plaintext = keyring.open(&record.secret, &associated)?;
        tx.set_webhook_secret(&record.id, &keyring.seal(&plaintext, &associated))
            .await?;
    }
    tx.commit().await?;
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(events: &[&str]) -> Vec<String> {
        events.iter().map(|e| (*e).to_owned()).collect()
    }

    #[test]
    fn events_are_known_names_once_in_their_order_or_everything() {
        assert_eq!(
            checked_events(names(&["claim.paid", "claim.created", "claim.paid"])).unwrap(),
            names(&["claim.created", "claim.paid"])
        );
        assert_eq!(checked_events(names(&["*"])).unwrap(), names(&["*"]));
        for bad in [&[][..], &["*", "claim.paid"], &["claim.closed"]] {
            assert!(matches!(
                checked_events(names(bad)),
                Err(SubscriptionError::Invalid { field: "events", .. })
            ));
        }
    }

    #[test]
    fn urls_are_absolute_http_or_https() {
        assert!(check_url("https://hooks.example.com/claimbridge").is_ok());
        assert!(check_url("http://127.0.0.1:8080/in").is_ok());
        for bad in [
            "ftp://example.com",
            "/relative",
            "mailto:a@example.com",
            "not a url",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_fresh_and_sealed_to_their_row() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_eq!(a.0.len(), 43, "32 bytes in unpadded base64url");
        assert_ne!(a.0, b.0);
        let keyring = Keyring::new(("k1", &[7; 32]), &[]).unwrap();
        let now = Utc::now();
        let record = SubscriptionRecord {
            id: "s1".into(),
            tenant: "default".into(),
            url: "https://example.com".into(),
            events: names(&["*"]),
            secret: seal(&keyring, "s1", &a),
            enabled: true,
            created_at: now,
            updated_at: now,
        };
        assert!(!record.secret.ciphertext.contains(&a.0));
        assert_eq!(open_secret(&keyring, &record).unwrap(), a.0);
        let moved = SubscriptionRecord {
            id: "s2".into(),
            ..record
        };
        assert!(open_secret(&keyring, &moved).is_err());
    }
}
