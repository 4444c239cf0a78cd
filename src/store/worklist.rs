//! The billers' worklist as stored: claims' billing rows with who they are billed
//! to and who works them, filtered and paged (keyset, newest first), and assigned
//! in bulk. States and categories are text here (`billing::lifecycle` and
//! `billing::denials` give them meaning).

use chrono::{DateTime, Utc};

/// One claim in the worklist.
#[derive(Debug, Clone, PartialEq)]
pub struct WorklistRow {
    pub id: i64,
    pub claim_id: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub charge_cents: Option<i64>,
    pub payer: Option<String>,
    pub assignee: Option<String>,
}

impl WorklistRow {
    /// The claim's number (CLM01), as the 837P and the payers' answers show it.
    pub fn patient_control_number(&self) -> String {
        super::billing::patient_control_number(self.id)
    }
}

/// Which claims a page shows. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct WorklistFilter {
    pub state: Option<String>,
    /// The payer's name, exactly.
    pub payer: Option<String>,
    pub assignee: Option<String>,
    /// Billing first saw the claim at or after this instant…
    pub created_from: Option<DateTime<Utc>>,
    /// …and before this one.
    pub created_until: Option<DateTime<Utc>>,
    /// Claims with at least one denial of this category.
    pub denial_category: Option<String>,
    /// Older than this row id (the previous page's last).
    pub before: Option<i64>,
    pub limit: i64,
}
