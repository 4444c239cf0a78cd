//! What an integration configures: settings (`settings` JSON, camelCase) and the
//! names of the credentials it reads.

use std::time::Duration;

use serde::Deserialize;

/// The API version every request pins with `Stripe-Version`, so that an account's
/// default version moving on never changes the shapes this plugin reads. The
/// current version per docs.stripe.com/api-versions when this was written.
pub const DEFAULT_STRIPE_VERSION: &str = "2026-09-30.endive";

/// Stripe's libraries accept a signature this many seconds old (`DEFAULT_TOLERANCE`
/// in stripe-node, 300 in stripe-ruby).
pub const DEFAULT_WEBHOOK_TOLERANCE_SECS: u64 = 300;

/// How long one request may take, whole exchange.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// Credential names (keys of the integration's `credentials` object).
pub mod credential {
    /// `sk_test_…` / `sk_live_…` (or a restricted `rk_…`): required.
    pub const SECRET_KEY: &str = "secretKey";
    /// The endpoint's signing secret (`whsec_…`): required to accept webhooks.
    pub const WEBHOOK_SECRET: &str = "webhookSecret";
    /// The secret being rolled away from: accepted too while Stripe still signs with
    /// it (Stripe keeps signing with the old secret for up to 24 hours after a roll).
    pub const PREVIOUS_WEBHOOK_SECRET: &str = "previousWebhookSecret";
}

/// `settings` of a Stripe integration; every field is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// `Stripe-Version` sent with every request; default [`DEFAULT_STRIPE_VERSION`].
    #[serde(default = "default_version")]
    pub stripe_version: String,
    /// Oldest (or furthest in the future) webhook signature timestamp accepted, in
    /// seconds; default [`DEFAULT_WEBHOOK_TOLERANCE_SECS`].
    #[serde(default = "default_tolerance")]
    pub webhook_tolerance_secs: u64,
    /// Per-request timeout in seconds; default [`DEFAULT_TIMEOUT_SECS`].
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            stripe_version: default_version(),
            webhook_tolerance_secs: default_tolerance(),
            timeout_secs: default_timeout(),
        }
    }
}

impl Settings {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }
}

fn default_version() -> String {
    DEFAULT_STRIPE_VERSION.to_owned()
}

fn default_tolerance() -> u64 {
    DEFAULT_WEBHOOK_TOLERANCE_SECS
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECS
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn empty_settings_take_the_documented_defaults() {
        let settings: Settings = serde_json::from_value(json!({})).unwrap();
        assert_eq!(settings.stripe_version, DEFAULT_STRIPE_VERSION);
        assert_eq!(settings.webhook_tolerance_secs, 300);
        assert_eq!(settings.timeout(), Duration::from_secs(30));
    }

    #[test]
    fn a_misspelt_setting_is_refused_rather_than_ignored() {
        assert!(serde_json::from_value::<Settings>(json!({"stripeVersoin": "2024-06-20"})).is_err());
        let pinned: Settings = serde_json::from_value(json!({"stripeVersion": "2024-06-20"})).unwrap();
        assert_eq!(pinned.stripe_version, "2024-06-20");
    }
}
