//! The integration registry (issue 6): per tenant, which clearinghouses and payment
//! processors to use, in what order, with which settings and credentials. The
//! registry reads the database on every call, so an admin's change applies to the
//! next operation without a restart.

mod attempt_log;
pub mod backoff;
pub mod breaker;
mod checks;
pub mod host;
pub mod orchestrator;
pub mod plugins;
pub mod registry;
pub mod rotate;
pub mod routes;

/// The vendors a plugin exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    ClaimMd,
    Availity,
    Stripe,
}

impl Vendor {
    pub const ALL: [Vendor; 3] = [Vendor::ClaimMd, Vendor::Availity, Vendor::Stripe];

    pub fn parse(text: &str) -> Option<Vendor> {
        Vendor::ALL.into_iter().find(|vendor| vendor.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::ClaimMd => "claimmd",
            Vendor::Availity => "availity",
            Vendor::Stripe => "stripe",
        }
    }

    /// What the vendor does: an integration's category must be its vendor's.
    pub fn category(self) -> Category {
        match self {
            Vendor::ClaimMd | Vendor::Availity => Category::Clearinghouse,
            Vendor::Stripe => Category::Payments,
        }
    }
}

/// Integrations of one category stand in for each other in failover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Clearinghouse,
    Payments,
}

impl Category {
    pub fn parse(text: &str) -> Option<Category> {
        [Category::Clearinghouse, Category::Payments]
            .into_iter()
            .find(|category| category.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Clearinghouse => "clearinghouse",
            Category::Payments => "payments",
        }
    }
}
