//! The integration's settings, read once by `initialize`.

use std::time::Duration;

use claimbridge_plugin_sdk::{PluginConfig, PluginError};
use serde::Deserialize;

/// The credential holding the account's AccountKey.
pub const ACCOUNT_KEY_CREDENTIAL: &str = "accountKey";

/// Claim.MD's published limit: 100 requests per minute per account.
const PUBLISHED_REQUESTS_PER_MINUTE: u32 = 100;

/// Vendor settings, as camelCase JSON; every field has a default, so `{}` (or no
/// settings at all) configures a production integration. Unknown names are refused,
/// so a misspelt setting is a configuration error rather than a silent default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// How long one exchange with Claim.MD may take, a wait for the throttle included.
    pub timeout_secs: u64,
    /// The throttle's budget; lower it only for tests or a shared account.
    pub requests_per_minute: u32,
    /// How many ERAs one `fetch_remittance` page downloads: each costs a request of
    /// the budget, so a page stays well inside a minute's.
    pub remittances_per_page: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout_secs: 30,
            requests_per_minute: PUBLISHED_REQUESTS_PER_MINUTE,
            remittances_per_page: 20,
        }
    }
}

impl Settings {
    /// Reads the settings of `config` (absent settings are the defaults) and checks
    /// they can work; a configuration that cannot is final.
    pub(crate) fn read(config: &PluginConfig) -> Result<Settings, PluginError> {
        let settings = if config.settings.is_null() {
            Settings::default()
        } else {
            config.settings::<Settings>()?
        };
        if settings.timeout_secs == 0 {
            return Err(PluginError::rejected("settings: timeoutSecs must be at least 1"));
        }
        if settings.requests_per_minute == 0 {
            return Err(PluginError::rejected(
                "settings: requestsPerMinute must be at least 1",
            ));
        }
        if settings.remittances_per_page == 0 {
            return Err(PluginError::rejected(
                "settings: remittancesPerPage must be at least 1",
            ));
        }
        Ok(settings)
    }

    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use claimbridge_plugin_sdk::{Credentials, ErrorClass};
    use serde_json::{json, Value};

    use super::*;

    fn config(settings: Value) -> PluginConfig {
        PluginConfig {
            base_url: "http://127.0.0.1:1".into(),
            settings,
            credentials: Credentials::default(),
        }
    }

    #[test]
    fn no_settings_mean_the_published_limit_and_a_thirty_second_timeout() {
        for absent in [Value::Null, json!({})] {
            let settings = Settings::read(&config(absent)).unwrap();
            assert_eq!(settings.requests_per_minute, 100);
            assert_eq!(settings.timeout(), Duration::from_secs(30));
        }
    }

    #[test]
    fn settings_read_in_camel_case() {
        let settings = Settings::read(&config(json!({
            "timeoutSecs": 2, "requestsPerMinute": 5, "remittancesPerPage": 3
        })))
        .unwrap();
        assert_eq!(
            settings,
            Settings {
                timeout_secs: 2,
                requests_per_minute: 5,
                remittances_per_page: 3
            }
        );
    }

    #[test]
    fn a_misspelt_or_impossible_setting_is_final() {
        for bad in [
            json!({"requestPerMinute": 5}),
            json!({"requestsPerMinute": 0}),
            json!({"timeoutSecs": 0}),
            json!({"remittancesPerPage": 0}),
        ] {
            let error = Settings::read(&config(bad.clone())).unwrap_err();
            assert_eq!(error.class(), ErrorClass::Final, "{bad}");
        }
    }
}
