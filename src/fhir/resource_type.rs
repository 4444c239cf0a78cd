//! The resource types this server stores. Routing, validation and the
//! CapabilityStatement all read this one list, so they cannot disagree.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    Patient,
    Coverage,
    Encounter,
    Claim,
    ClaimResponse,
    CoverageEligibilityRequest,
    CoverageEligibilityResponse,
    Organization,
    Practitioner,
    Location,
}

impl ResourceType {
    pub const ALL: [ResourceType; 10] = [
        ResourceType::Patient,
        ResourceType::Coverage,
        ResourceType::Encounter,
        ResourceType::Claim,
        ResourceType::ClaimResponse,
        ResourceType::CoverageEligibilityRequest,
        ResourceType::CoverageEligibilityResponse,
        ResourceType::Organization,
        ResourceType::Practitioner,
        ResourceType::Location,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Patient => "Patient",
            ResourceType::Coverage => "Coverage",
            ResourceType::Encounter => "Encounter",
            ResourceType::Claim => "Claim",
            ResourceType::ClaimResponse => "ClaimResponse",
            ResourceType::CoverageEligibilityRequest => "CoverageEligibilityRequest",
            ResourceType::CoverageEligibilityResponse => "CoverageEligibilityResponse",
            ResourceType::Organization => "Organization",
            ResourceType::Practitioner => "Practitioner",
            ResourceType::Location => "Location",
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the supported resource types.
#[derive(Debug)]
pub struct UnsupportedType;

impl FromStr for ResourceType {
    type Err = UnsupportedType;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ResourceType::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or(UnsupportedType)
    }
}
