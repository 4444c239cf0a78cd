//! Claim.MD clearinghouse plugin for Claimbridge, and a simulator of Claim.MD's API.
//!
//! Claim.MD's API is a set of services, each a `POST {baseUrl}/services/<name>/` carrying
//! the account's `AccountKey` as a form field; `Accept: application/json` asks for JSON
//! instead of XML, and errors come back as an `error` element in an HTTP 200 answer.
//! The plugin ([`ClaimMdPlugin`]) uploads 837P files (`upload`), finds out whether an
//! upload whose answer was lost arrived (`uploadlist`, `response`), reads the claim
//! response and ERA feeds after their cursors (`response`, `eralist`, `era835`), asks
//! eligibility with a 270 (`elig`) and lists payers (`payerlist`), all under a
//! client-side throttle to Claim.MD's published 100 requests per minute.
//!
//! Configuration (camelCase JSON):
//!
//! | Name | Kind | Meaning |
//! |---|---|---|
//! | `accountKey` | credential, required | the AccountKey from Claim.MD's portal (Settings → Account Settings) |
//! | `timeoutSecs` | setting, default 30 | how long one exchange, including a wait for the throttle, may take |
//! | `requestsPerMinute` | setting, default 100 | the throttle's budget, Claim.MD's published limit |
//! | `remittancesPerPage` | setting, default 20 | how many ERAs one `fetch_remittance` page downloads |
//!
//! [`simulator`] serves the same services with Claim.MD's field names, for tests and
//! `claimbridge simulate claimmd`.

mod feeds;
mod plugin;
mod reference;
mod settings;
pub mod simulator;
mod status;
mod submit;
mod throttle;
mod transport;
mod vendor_error;
mod wire;

use claimbridge_plugin_sdk::{Capability, Category, PluginDescriptor};

pub use plugin::ClaimMdPlugin;
pub use settings::{Settings, ACCOUNT_KEY_CREDENTIAL};

/// The vendor id, in configuration and webhook URLs.
pub const VENDOR: &str = "claimmd";

/// What the plugin offers. No prior authorization: Claim.MD's API has none.
pub const DESCRIPTOR: PluginDescriptor = PluginDescriptor {
    vendor: VENDOR,
    display_name: "Claim.MD",
    category: Category::Clearinghouse,
    capabilities: &[
        Capability::Eligibility,
        Capability::SubmitClaim,
        Capability::ClaimStatus,
        Capability::ClaimStatusFeed,
        Capability::FetchRemittance,
        Capability::PayerList,
    ],
};
