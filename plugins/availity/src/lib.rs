//! Availity for Claimbridge: eligibility (Coverages), claim status (Claim
//! Statuses), prior authorization (Service Reviews) and the payer list through
//! Availity's REST API with OAuth 2.0
//! client-credentials tokens, and claim submission through Availity's batch EDI
//! channel (837 files over SFTP, 999 and 277CA back), with a simulator of both.
//!
//! The server creates an [`AvailityPlugin`] with [`AvailityPlugin::new`] and
//! initializes it with the integration's configuration:
//!
//! - `baseUrl`: the API host (`https://api.availity.com`, or a simulator's
//!   [`claimbridge_simulator_kit::Simulator::base_url`]);
//! - `settings` (all optional): `apiPath` (`/v1`), `serviceReviewsPath` (`/v2`), `tokenUrl`
//!   (`{baseUrl}{apiPath}/token`), `scope` (`healthcare-hipaa-transactions`),
//!   `tokenRenewMarginSecs` (60), `timeoutSecs` (30), `pollIntervalMillis` (2000),
//!   `maxPolls` (15), `customerId`, and for the batch channel `sftpHost`, `sftpPort`
//!   (22), `sftpHostKey`, `sftpSendFolder` (`SendFiles`), `sftpReceiveFolder`
//!   (`ReceiveFiles`), `sftpFilePrefix` (`CB`), `sftpTimeoutSecs` (60);
//! - `credentials`: `clientId`, `clientSecret`, and with `sftpHost`
//!   `sftpUsername` and `sftpPrivateKey`.

mod api;
mod claim_status;
mod edi;
mod eligibility;
mod payers;
mod plugin;
mod poll;
mod prior_auth;
mod settings;
pub mod simulator;
mod token;
mod x12;

pub use plugin::{AvailityPlugin, DESCRIPTOR};
pub use settings::Settings;

/// The vendor id in configuration, webhook URLs and `claimbridge simulate`.
pub const VENDOR: &str = "availity";
