//! Secrets at rest: integration credentials are sealed with AES-256-GCM under a key
//! from configuration. Every sealed value names the key that sealed it, so that after
//! a rotation rows under the previous keys still open until `claimbridge rotate-key`
//! reseals them; the caller's associated data ties a ciphertext to its row, so one
//! copied into another row does not open there.

mod key_file;

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::config::Settings;
use crate::store::integrations::SealedColumns;
use crate::store::DatabaseKind;

/// The id of the key generated for local development (see `key_file`): distinct from
/// any configured id, so that moving to a configured key is an ordinary rotation.
pub const LOCAL_KEY_ID: &str = "local";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("secrets key configuration: {0}")]
    Config(String),
    #[error("secrets key file {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
    #[error("sealed with key {0:?}, which is not configured (add it to secrets_previous_keys)")]
    UnknownKey(String),
    /// Wrong key, wrong associated data or altered ciphertext: GCM cannot tell which.
    #[error("sealed value does not open with key {0:?}: wrong key, wrong row or altered")]
    DoesNotOpen(String),
}

/// The current key, which seals, and previous ones, which only open. `Debug` shows
/// key ids, never keys.
#[derive(Clone)]
pub struct Keyring {
    current: String,
    keys: BTreeMap<String, Aes256Gcm>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// `current` seals; `previous` (id, key) pairs only open.
    pub fn new(current: (&str, &[u8]), previous: &[(&str, &[u8])]) -> Result<Self, SecretsError> {
        let mut keys = BTreeMap::new();
        for (id, key) in previous.iter().chain(std::iter::once(&current)) {
            if id.is_empty() {
                return Err(SecretsError::Config("a key id is empty".into()));
            }
            if key.len() != 32 {
                return Err(SecretsError::Config(format!(
                    "key {id:?} is {} bytes; AES-256 needs 32",
                    key.len()
                )));
            }
            keys.insert(
                (*id).to_owned(),
                Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
            );
        }
        Ok(Keyring {
            current: current.0.to_owned(),
            keys,
        })
    }

    /// The keys configuration names; without one, on the embedded SQLite database,
    /// the generated local key (created on first use, with a warning); on PostgreSQL
    /// none, and whatever needs secrets is unavailable.
    pub fn from_settings(settings: &Settings) -> Result<Option<Self>, SecretsError> {
        let previous = match &settings.secrets_previous_keys {
            Some(list) => parse_key_list(list.expose())?,
            None => Vec::new(),
        };
        let previous: Vec<(&str, &[u8])> = previous
            .iter()
            .map(|(id, key)| (id.as_str(), key.as_slice()))
            .collect();
        if let Some(key) = &settings.secrets_key {
            let key = decode_key(&settings.secrets_key_id, key.expose())?;
            return Keyring::new((&settings.secrets_key_id, &key), &previous).map(Some);
        }
        match DatabaseKind::from_url(&settings.database_url) {
            Ok(DatabaseKind::Sqlite(path)) => {
                let file = key_file::beside(&path);
                let key = key_file::load_or_create(&file)?;
                tracing::warn!(
                    path = %file.display(),
                    "no secrets key configured: integration credentials are sealed with the key generated \
                     in this file, for local development; set CLAIMBRIDGE_SECRETS_KEY in production"
                );
                Keyring::new((LOCAL_KEY_ID, &key), &previous).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> &str {
        &self.current
    }

    /// Seals `plaintext` under the current key with a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8], associated: &[u8]) -> SealedColumns {
        let cipher = &self.keys[&self.current];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: associated,
                },
            )
            .expect("AES-GCM seals any input shorter than 64 GiB");
        SealedColumns {
            ciphertext: BASE64.encode(ciphertext),
            nonce: BASE64.encode(nonce),
            key_id: self.current.clone(),
        }
    }

    /// Opens a value sealed under any key of the ring with the same associated data.
    pub fn open(&self, sealed: &SealedColumns, associated: &[u8]) -> Result<Vec<u8>, SecretsError> {
        let cipher = self
            .keys
            .get(&sealed.key_id)
            .ok_or_else(|| SecretsError::UnknownKey(sealed.key_id.clone()))?;
        let does_not_open = || SecretsError::DoesNotOpen(sealed.key_id.clone());
        let nonce = BASE64.decode(&sealed.nonce).map_err(|_| does_not_open())?;
        let ciphertext = BASE64.decode(&sealed.ciphertext).map_err(|_| does_not_open())?;
        if nonce.len() != 12 {
            return Err(does_not_open());
        }
        cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: associated,
                },
            )
            .map_err(|_| does_not_open())
    }
}

/// A key as configured: base64 of 32 bytes.
fn decode_key(id: &str, base64: &str) -> Result<Vec<u8>, SecretsError> {
    BASE64
        .decode(base64.trim())
        .map_err(|_| SecretsError::Config(format!("key {id:?} is not base64")))
}

/// `id=base64,id=base64` (base64 padding holds `=` too: the id ends at the first).
fn parse_key_list(list: &str) -> Result<Vec<(String, Vec<u8>)>, SecretsError> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (id, key) = entry.split_once('=').ok_or_else(|| {
                SecretsError::Config("secrets_previous_keys entries are id=base64key".into())
            })?;
            let id = id.trim();
            Ok((id.to_owned(), decode_key(id, key)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: [u8; 32] = [1; 32];
    const K2: [u8; 32] = [2; 32];

    #[test]
    fn sealed_values_open_only_with_their_key_and_row() {
        let ring = Keyring::new(("k1", &K1), &[]).unwrap();
        let sealed = ring.seal(br#"{"apiKey":"sk_live_123"}"#, b"row-1");
        assert_eq!(sealed.key_id, "k1");
        let raw = format!("{}{}", sealed.ciphertext, sealed.nonce);
        assert!(!raw.contains("sk_live_123"));
        assert_eq!(
            ring.open(&sealed, b"row-1").unwrap(),
            br#"{"apiKey":"sk_live_123"}"#
        );

        assert!(matches!(
            ring.open(&sealed, b"row-2"),
            Err(SecretsError::DoesNotOpen(_))
        ));
        let relabelled = SealedColumns {
            key_id: "k2".into(),
            ..sealed.clone()
        };
        assert!(matches!(
            ring.open(&relabelled, b"row-1"),
            Err(SecretsError::UnknownKey(_))
        ));
        // Another key under the same id does not open it either.
        let impostor = Keyring::new(("k1", &K2), &[]).unwrap();
        assert!(matches!(
            impostor.open(&sealed, b"row-1"),
            Err(SecretsError::DoesNotOpen(_))
        ));
    }

    #[test]
    fn previous_keys_open_but_do_not_seal() {
        let old = Keyring::new(("k1", &K1), &[]).unwrap();
        let sealed = old.seal(b"secret", b"row");
        let rotated = Keyring::new(("k2", &K2), &[("k1", &K1)]).unwrap();
        assert_eq!(rotated.open(&sealed, b"row").unwrap(), b"secret");
        assert_eq!(rotated.seal(b"secret", b"row").key_id, "k2");
        let first = rotated.seal(b"secret", b"row");
        assert_ne!(
            first.nonce,
            rotated.seal(b"secret", b"row").nonce,
            "a fresh nonce each time"
        );
    }

    #[test]
    fn configured_keys_are_read_and_checked() {
        let k1 = BASE64.encode(K1);
        let parsed = parse_key_list(&format!("k0={k1}, old={k1}")).unwrap();
        assert_eq!(parsed[0].0, "k0");
        assert_eq!(parsed[1], ("old".to_owned(), K1.to_vec()));
        assert!(parse_key_list("nokey").is_err());
        assert!(Keyring::new(("k1", &[0; 16]), &[]).is_err(), "AES-256 only");
        let ring = Keyring::new(("k1", &K1), &[("k0", &K2)]).unwrap();
        let printed = format!("{ring:?}");
        assert!(printed.contains("k0") && !printed.contains("[1, 1"), "{printed}");
    }
}
