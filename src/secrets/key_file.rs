//! The key generated for local development: when no key is configured and the
//! server runs on the embedded SQLite database, credentials are still sealed, under a
//! random key kept in a file beside the database that only its owner can read.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{KeyInit, OsRng};
use aes_gcm::Aes256Gcm;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::SecretsError;

/// `claimbridge.secrets-key` in the directory of the SQLite file at `database`.
pub fn beside(database: &str) -> PathBuf {
    let dir = Path::new(database).parent().unwrap_or(Path::new(""));
    dir.join("claimbridge.secrets-key")
}

/// The key in `path`, created (owner read/write only) when there is none yet.
pub fn load_or_create(path: &Path) -> Result<Vec<u8>, SecretsError> {
    let failed = |source| SecretsError::KeyFile {
        path: path.display().to_string(),
        source,
    };
    match OpenOptions::new().read(true).open(path) {
        Ok(mut file) => {
            let mut text = String::new();
            file.read_to_string(&mut text).map_err(failed)?;
            return BASE64
                .decode(text.trim())
                .map_err(|_| failed(std::io::Error::new(ErrorKind::InvalidData, "not base64")));
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(failed(error)),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let key = Aes256Gcm::generate_key(&mut OsRng);
    let mut options = OpenOptions::new();
    // create_new: two processes starting at once must not each write a key.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(BASE64.encode(key).as_bytes()).map_err(failed)?;
            file.sync_all().map_err(failed)?;
        }
        Err(error) if error.kind() == ErrorKind::AlreadyExists => return load_or_create(path),
        Err(error) => return Err(failed(error)),
    }
    Ok(key.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_key_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = beside(&dir.path().join("sub/claimbridge.db").display().to_string());
        let key = load_or_create(&path).unwrap();
        assert_eq!(key.len(), 32);
        assert_eq!(
            load_or_create(&path).unwrap(),
            key,
            "the same key on the next start"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
