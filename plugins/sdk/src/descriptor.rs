//! What a plugin says about itself before it is configured: which vendor it speaks
//! to, what kind of integration it is and which operations it performs. The registry
//! routes an operation only to integrations whose plugin declares its capability, and
//! [`crate::execute_checked`] refuses the rest, so a declaration is a promise the
//! orchestrator relies on.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One kind of operation a plugin may perform; each has its [`crate::Operation`]
/// variant. The serde names (`submit_claim`, …) are the ones stored with
/// integration attempts and jobs and shown by the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// A 270 eligibility inquiry answered by a 271.
    Eligibility,
    /// An 837P interchange handed to a clearinghouse.
    SubmitClaim,
    /// Where one claim stands, asked about that claim.
    ClaimStatus,
    /// Acknowledgments and status changes of every claim sent, read as a feed after
    /// a cursor (Claim.MD's response feed): cheaper than asking claim by claim.
    ClaimStatusFeed,
    /// Remittance advice (835), read as a feed after a cursor.
    FetchRemittance,
    /// A prior authorization request and the payer's decision.
    PriorAuth,
    /// The decision on a pended prior authorization, asked of the vendor that took it.
    PriorAuthStatus,
    /// Charging a patient.
    PatientPayment,
    /// Returning a patient payment, whole or in part.
    Refund,
    /// The payers reachable through the vendor.
    PayerList,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: [Capability; 10] = [
        Capability::Eligibility,
        Capability::SubmitClaim,
        Capability::ClaimStatus,
        Capability::ClaimStatusFeed,
        Capability::FetchRemittance,
        Capability::PriorAuth,
        Capability::PriorAuthStatus,
        Capability::PatientPayment,
        Capability::Refund,
        Capability::PayerList,
    ];

    /// The serde name, for logs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Eligibility => "eligibility",
            Capability::SubmitClaim => "submit_claim",
            Capability::ClaimStatus => "claim_status",
            Capability::ClaimStatusFeed => "claim_status_feed",
            Capability::FetchRemittance => "fetch_remittance",
            Capability::PriorAuth => "prior_auth",
            Capability::PriorAuthStatus => "prior_auth_status",
            Capability::PatientPayment => "patient_payment",
            Capability::Refund => "refund",
            Capability::PayerList => "payer_list",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of integration, which is also the failover group: an operation fails
/// over only between integrations of the same category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Clearinghouse,
    Payments,
}

/// Who a plugin is and what it can do. Plugins declare it as a constant: it does not
/// depend on configuration, so the admin API can list vendors before any is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginDescriptor {
    /// Stable id, used in configuration and webhook URLs (`claimmd`, `stripe`).
    pub vendor: &'static str,
    /// For people ("Claim.MD").
    pub display_name: &'static str,
    pub category: Category,
    pub capabilities: &'static [Capability],
}

impl PluginDescriptor {
    pub fn supports(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_have_snake_case_names_on_the_wire_and_in_messages() {
        let expected = [
            "eligibility",
            "submit_claim",
            "claim_status",
            "claim_status_feed",
            "fetch_remittance",
            "prior_auth",
            "prior_auth_status",
            "patient_payment",
            "refund",
            "payer_list",
        ];
        for (capability, name) in Capability::ALL.into_iter().zip(expected) {
            assert_eq!(serde_json::to_value(capability).unwrap(), name);
            assert_eq!(capability.to_string(), name);
            assert_eq!(
                serde_json::from_value::<Capability>(name.into()).unwrap(),
                capability
            );
        }
    }

    #[test]
    fn a_name_that_is_no_capability_does_not_read() {
        assert!(serde_json::from_value::<Capability>("submitClaim".into()).is_err());
    }

    #[test]
    fn a_descriptor_supports_what_it_declares_and_nothing_else() {
        let descriptor = PluginDescriptor {
            vendor: "acme",
            display_name: "Acme",
            category: Category::Clearinghouse,
            capabilities: &[Capability::Eligibility, Capability::ClaimStatus],
        };
        assert!(descriptor.supports(Capability::Eligibility));
        assert!(!descriptor.supports(Capability::SubmitClaim));
        assert_eq!(
            serde_json::to_value(&descriptor).unwrap(),
            serde_json::json!({
                "vendor": "acme",
                "displayName": "Acme",
                "category": "clearinghouse",
                "capabilities": ["eligibility", "claim_status"],
            })
        );
    }
}
