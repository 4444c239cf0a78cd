//! The two ways of asking whether an integration works. An admin's connection test
//! proves the configuration (the credentials are accepted) and fails with the
//! error that says why; a health check is cheap, runs often and cannot fail — a
//! vendor that does not answer is simply unhealthy.

use serde::Serialize;

/// What a successful connection test proved, in words for the admin
/// ("AccountKey accepted; 4,812 payers listed").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionCheck {
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub status: HealthStatus,
    /// Why, when not healthy.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Healthy,
    /// Answering, but not fully (throttled, slow, a product not subscribed).
    Degraded,
    Unhealthy,
}
