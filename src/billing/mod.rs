//! Billing: claims as billing sees them, scrubbing, pricing, and the X12 documents
//! exchanged with clearinghouses and payers.

pub mod checks;
pub mod claim;
pub mod claim_guard;
pub mod codes;
pub mod corrections;
pub mod dashboard;
pub mod denials;
pub mod denied;
pub mod dispatch;
pub mod eligibility;
pub mod feeds;
pub mod fields;
pub mod from_fhir;
pub mod gateway;
pub mod intake;
pub mod lifecycle;
pub mod paging;
pub mod parties;
pub mod payments;
pub mod period;
pub mod pricing;
pub mod prior_auth;
pub mod prior_auth_sync;
pub mod remittance;
pub mod routes;
pub mod scrub;
pub mod service;
pub mod submission;
pub mod worklist;

use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;

/// Today's date in `zone`, the practice's (`billing_time_zone`): the day claims
/// are dated and their dates of service checked on, whether they come through
/// the claims API or HL7 charges.
pub fn today_in(zone: Tz) -> NaiveDate {
    Utc::now().with_timezone(&zone).date_naive()
}
