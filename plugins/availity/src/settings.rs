//! The integration's settings (the `settings` JSON of its registry row, camelCase)
//! and credentials, read once by `initialize`. Everything has the default Availity
//! documents, so an empty `{}` works against production except for the batch
//! channel, which needs its SFTP host.

use std::time::Duration;

use claimbridge_plugin_sdk::{PluginConfig, PluginError, Secret};
use serde::Deserialize;

/// `settings` of an Availity integration.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Path of the REST API under `baseUrl` (the Swaggers' `basePath`); some
    /// Availity pages show `/availity/v1`.
    pub api_path: String,
    /// Path of the Service Reviews API under `baseUrl`: its Swagger (2.0.0)
    /// declares `basePath` `/v2`, unlike the others.
    pub service_reviews_path: String,
    /// Absolute token URL; default `{baseUrl}{apiPath}/token`.
    pub token_url: Option<String>,
    /// OAuth scope(s), space separated. The plan is chosen by scope alone
    /// (`…-demo` / `…-standard`) on the same host.
    pub scope: String,
    /// How long before its expiry a token is replaced (tokens last 300 s and cannot
    /// be refreshed).
    pub token_renew_margin_secs: u64,
    /// The whole of one HTTP exchange.
    pub timeout_secs: u64,
    /// Wait between two polls of a pending coverage or claim status.
    pub poll_interval_millis: u64,
    /// Polls before a pending answer is given up (transient: ask again later).
    pub max_polls: u32,
    /// `X-Availity-Customer-Id`, sent on every call when set.
    pub customer_id: Option<String>,
    /// Host of Availity's EDI SFTP server; without it `submit_claim` is refused.
    pub sftp_host: Option<String>,
    pub sftp_port: u16,
    /// The server's public host key (`ssh-ed25519 AAAA…`), checked strictly. Without
    /// it the first key seen is trusted for this handler's life.
    pub sftp_host_key: Option<String>,
    /// Where 837 files are put.
    pub sftp_send_folder: String,
    /// Where 999, 277CA and Availity's reports come back.
    pub sftp_receive_folder: String,
    /// Prefix of uploaded file names, before the submission id.
    pub sftp_file_prefix: String,
    /// The whole of one SFTP session (connect, transfer, close).
    pub sftp_timeout_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            api_path: "/v1".into(),
            service_reviews_path: "/v2".into(),
            token_url: None,
            scope: "healthcare-hipaa-transactions".into(),
            token_renew_margin_secs: 60,
            timeout_secs: 30,
            poll_interval_millis: 2_000,
            max_polls: 15,
            customer_id: None,
            sftp_host: None,
            sftp_port: 22,
            sftp_host_key: None,
            sftp_send_folder: "SendFiles".into(),
            sftp_receive_folder: "ReceiveFiles".into(),
            sftp_file_prefix: "CB".into(),
            sftp_timeout_secs: 60,
        }
    }
}

impl Settings {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_millis)
    }

    pub fn renew_margin(&self) -> Duration {
        Duration::from_secs(self.token_renew_margin_secs)
    }
}

/// The REST API's root, the Service Reviews API's root and the token URL, from
/// `baseUrl` and the settings.
pub fn endpoints(config: &PluginConfig, settings: &Settings) -> Endpoints {
    let under_base = |path: &str| {
        format!(
            "{}/{}",
            config.base_url.trim_end_matches('/'),
            path.trim_matches('/')
        )
        .trim_end_matches('/')
        .to_owned()
    };
    let api = under_base(&settings.api_path);
    let token = settings
        .token_url
        .clone()
        .unwrap_or_else(|| format!("{api}/token"));
    Endpoints {
        service_reviews: under_base(&settings.service_reviews_path),
        api,
        token,
    }
}

pub struct Endpoints {
    pub api: String,
    pub service_reviews: String,
    pub token: String,
}

/// The batch channel's login, when the integration has one.
#[derive(Debug, Clone)]
pub struct SftpLogin {
    pub host: String,
    pub port: u16,
    pub host_key: Option<String>,
    pub username: String,
    /// An OpenSSH private key (PEM text).
    pub private_key: Secret,
}

/// The SFTP login from the settings and the `sftpUsername` / `sftpPrivateKey`
/// credentials; `None` without `sftpHost`. Password logins are refused: the
/// channel drives the system `ssh` in batch mode, which takes keys only.
pub fn sftp_login(config: &PluginConfig, settings: &Settings) -> Result<Option<SftpLogin>, PluginError> {
    let Some(host) = settings.sftp_host.clone() else {
        return Ok(None);
    };
    let username = config.credentials.require("sftpUsername")?.expose().to_owned();
    let private_key = match config.credentials.get("sftpPrivateKey") {
        Some(key) => key.clone(),
        None if config.credentials.get("sftpPassword").is_some() => return Err(PluginError::rejected(
            "the credential `sftpPassword` is not supported: set `sftpPrivateKey` (an OpenSSH private key)",
        )),
        None => {
            return Err(PluginError::rejected(
                "the credential `sftpPrivateKey` is not set",
            ))
        }
    };
    Ok(Some(SftpLogin {
        host,
        port: settings.sftp_port,
        host_key: settings.sftp_host_key.clone(),
        username,
        private_key,
    }))
}
