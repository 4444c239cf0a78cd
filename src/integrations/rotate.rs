//! `claimbridge rotate-key`: reseals every integration's credentials under the
//! current key, so a previous key can then be removed from configuration.

use super::registry::{associated_data, RegistryError};
use crate::secrets::Keyring;
use crate::store::Store;

/// Reseals every row in one transaction (all or none move to the current key);
/// returns how many rows were resealed.
pub async fn rotate_key(store: &Store, keyring: &Keyring) -> Result<usize, RegistryError> {
    let mut tx = store.begin().await?;
    let records = tx.all_integrations().await?;
    for record in &records {
        let associated = associated_data(&record.id);
        let plaintext = keyring.open(&record.credentials, &associated)?;
        tx.set_integration_credentials(&record.id, &keyring.seal(&plaintext, &associated))
            .await?;
    }
    tx.commit().await?;
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::Map;

    use super::*;
    use crate::integrations::registry::{NewIntegration, Registry};
    use crate::integrations::Vendor;
    use crate::secrets::SecretsError;
    use crate::store::Database;

    const K1: [u8; 32] = [1; 32];
    const K2: [u8; 32] = [2; 32];

    fn ring(current: (&str, &[u8]), previous: &[(&str, &[u8])]) -> Option<Arc<Keyring>> {
        Some(Arc::new(Keyring::new(current, previous).unwrap()))
    }

    // Migrations block in place, which needs the multi-threaded runtime.
    #[tokio::test(flavor = "multi_thread")]
    async fn rows_sealed_under_k1_read_under_k2_after_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
        let database = Database::open(&url).await.unwrap();
        let under_k1 = Registry::new(database.store(1).unwrap(), ring(("k1", &K1), &[]));
        let created = under_k1
            .create(NewIntegration {
                tenant: "default".into(),
                vendor: Vendor::Stripe,
                name: "stripe".into(),
                category: None,
                priority: None,
                enabled: true,
                base_url: "https://api.stripe.com".into(),
                settings: Map::new(),
                credentials: [("apiKey".to_owned(), "sk_test_1".to_owned())].into(),
            })
            .await
            .unwrap();
        assert_eq!(created.key_id, "k1");

        let rotated = Keyring::new(("k2", &K2), &[("k1", &K1)]).unwrap();
        assert_eq!(
            rotate_key(&database.store(1).unwrap(), &rotated).await.unwrap(),
            1
        );

        // k1 can go: the row now opens under k2 alone, and no longer under k1.
        let only_k2 = Registry::new(database.store(1).unwrap(), ring(("k2", &K2), &[]));
        let read = only_k2.get(&created.id).await.unwrap();
        assert_eq!(
            (read.key_id.as_str(), read.credential_names),
            ("k2", vec!["apiKey".to_owned()])
        );
        let mut session = database.store(1).unwrap().session().await.unwrap();
        let record = session.integration(&created.id).await.unwrap().unwrap();
        let opened = rotated
            .open(&record.credentials, &super::associated_data(&created.id))
            .unwrap();
        assert_eq!(opened, br#"{"apiKey":"sk_test_1"}"#);
        assert!(matches!(
            under_k1.get(&created.id).await,
            Err(RegistryError::Secrets(SecretsError::UnknownKey(_)))
        ));
    }
}
