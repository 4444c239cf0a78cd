//! What a plugin is configured with: one integration's row of the registry, with its
//! credentials already decrypted. Secrets are wrapped so that logging a
//! configuration, an error built from one or a `{:?}` in a test never prints them.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::PluginError;

/// One integration's configuration, as [`crate::PluginHandler::initialize`] receives it.
#[derive(Debug, Clone)]
pub struct PluginConfig {
    /// Where the vendor's API is (production, its sandbox, or a local simulator).
    pub base_url: String,
    /// Vendor-specific settings the plugin defines, read with [`PluginConfig::settings`].
    pub settings: Value,
    pub credentials: Credentials,
}

impl PluginConfig {
    /// The settings as the plugin's own type. Settings that do not read are the
    /// configuration's fault, which no retry or other integration fixes: final.
    pub fn settings<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        T::deserialize(&self.settings)
            .map_err(|e| PluginError::rejected(format!("settings do not read: {e}")))
    }
}

/// Named secrets (`accountKey`, `clientSecret`, `webhookSecret`). Deserializes from a
/// JSON object of strings (the decrypted credentials column); deliberately not
/// serializable, so that no response or log can carry them by accident.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Credentials(BTreeMap<String, Secret>);

impl Credentials {
    pub fn insert(&mut self, name: impl Into<String>, secret: Secret) {
        self.0.insert(name.into(), secret);
    }

    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.0.get(name)
    }

    /// The secret the plugin cannot work without; its absence is final (an admin
    /// has to set it).
    pub fn require(&self, name: &str) -> Result<&Secret, PluginError> {
        self.get(name)
            .ok_or_else(|| PluginError::rejected(format!("the credential `{name}` is not set")))
    }
}

/// A secret string: `Debug` and `Display` print `[redacted]`; only
/// [`Secret::expose`] gives the value, at the point where it goes on the wire.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorClass;

    const KEY: &str = "sk_test_51Hx9SECRETVALUE";

    fn config() -> PluginConfig {
        let mut credentials = Credentials::default();
        credentials.insert("apiKey", Secret::new(KEY));
        PluginConfig {
            base_url: "http://127.0.0.1:12111".into(),
            settings: json!({"timeoutSecs": 5}),
            credentials,
        }
    }

    #[test]
    fn a_secret_never_appears_in_debug_or_display_output() {
        let config = config();
        let secret = config.credentials.require("apiKey").unwrap();
        for printed in [
            format!("{config:?}"),
            format!("{config:#?}"),
            format!("{:?}", config.credentials),
            format!("{secret:?}"),
            format!("{secret}"),
        ] {
            assert!(!printed.contains(KEY), "{printed}");
            assert!(printed.contains("[redacted]"), "{printed}");
        }
        assert_eq!(secret.expose(), KEY);
    }

    #[test]
    fn credentials_read_from_a_json_object_of_strings() {
        let credentials: Credentials =
            serde_json::from_value(json!({"clientId": "cb-client", "clientSecret": "s3cr3t"})).unwrap();
        assert_eq!(credentials.require("clientSecret").unwrap().expose(), "s3cr3t");
        assert!(credentials.get("webhookSecret").is_none());
    }

    #[test]
    fn a_missing_credential_is_final() {
        let error = config().credentials.require("webhookSecret").unwrap_err();
        assert_eq!(error.class(), ErrorClass::Final);
        assert!(error.to_string().contains("webhookSecret"));
    }

    #[test]
    fn settings_read_as_the_plugins_type_and_a_mismatch_is_final() {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Settings {
            timeout_secs: u64,
        }
        assert_eq!(config().settings::<Settings>().unwrap().timeout_secs, 5);
        assert_eq!(
            config().settings::<Vec<String>>().unwrap_err().class(),
            ErrorClass::Final
        );
    }
}
