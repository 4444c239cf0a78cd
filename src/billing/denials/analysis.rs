//! What a denial means and what to do about it, put together from the knowledge
//! base and the playbooks. A code the knowledge base lacks still gets an answer,
//! one that says so and leaves the denial to the playbooks' catch-all, because
//! payers start sending new codes before any list is updated.

use rust_decimal::Decimal;

use super::codes::{AdjustmentGroup, Carc, Rarc};
use super::knowledge::{CarcEntry, Category, KnowledgeBase};
use super::playbooks::{Playbook, Playbooks};
use super::Denial;

/// How likely an appeal is to overturn the denial.
///
/// The rule, from the reason code's `appealable` and `category`:
/// - `low` when an appeal is not the usual remedy (a corrected or new claim, a bill
///   to someone else, or a write-off is);
/// - `high` when it is and the category is decided on evidence the payer can be
///   shown: medical necessity, authorization, documentation;
/// - `medium` for any other appealable denial (coverage, bundling, timely filing,
///   network): those succeed only when the payer misapplied its own rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppealLikelihood {
    High,
    Medium,
    Low,
}

impl AppealLikelihood {
    pub fn of(entry: &CarcEntry) -> AppealLikelihood {
        match (entry.appealable, entry.category) {
            (false, _) => AppealLikelihood::Low,
            (true, Category::MedicalNecessity | Category::Authorization | Category::Documentation) => {
                AppealLikelihood::High
            }
            (true, _) => AppealLikelihood::Medium,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AppealLikelihood::High => "high",
            AppealLikelihood::Medium => "medium",
            AppealLikelihood::Low => "low",
        }
    }
}

/// The answer for one denial. For a CARC the knowledge base lacks, `known_code`
/// is false, `category`, `appealable` and `appeal_likelihood` are `None`, and the
/// texts say how to find out more.
#[derive(Debug, Clone)]
pub struct DenialAnalysis<'a> {
    pub group: AdjustmentGroup,
    pub carc: Carc,
    pub known_code: bool,
    pub reason_description: String,
    pub category: Option<Category>,
    pub appealable: Option<bool>,
    pub appeal_likelihood: Option<AppealLikelihood>,
    pub root_causes: Vec<String>,
    /// The reason code's actions, then one per remark code.
    pub recommended_actions: Vec<String>,
    pub preventive_measures: Vec<String>,
    pub remarks: Vec<Remark>,
    pub playbook: Option<&'a Playbook>,
    pub amount: Option<Decimal>,
}

/// One remark code of the denial and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remark {
    pub code: Rarc,
    pub known: bool,
    pub description: String,
}

pub(super) fn analyze<'a>(
    knowledge: &'a KnowledgeBase,
    playbooks: &'a Playbooks,
    denial: &Denial,
) -> DenialAnalysis<'a> {
    let carc = denial.carc.as_str();
    let mut analysis = match knowledge.carc(&denial.carc) {
        Some(entry) => DenialAnalysis {
            known_code: true,
            reason_description: entry.description.clone(),
            category: Some(entry.category),
            appealable: Some(entry.appealable),
            appeal_likelihood: Some(AppealLikelihood::of(entry)),
            root_causes: entry.root_causes.clone(),
            recommended_actions: entry.recommended_actions.clone(),
            preventive_measures: entry.prevention.clone(),
            ..bare(denial)
        },
        None => DenialAnalysis {
            reason_description: format!(
                "CARC {carc} is not in the denial knowledge base, so what it means is not known here."
            ),
            recommended_actions: vec![format!(
                "Look CARC {carc} up in X12's current Claim Adjustment Reason Code list, and read the remark codes and the payer's text that came with it."
            )],
            ..bare(denial)
        },
    };
    for code in &denial.rarcs {
        let rarc = code.as_str();
        let (remark, action) = match knowledge.rarc(code) {
            Some(entry) => (
                Remark {
                    code: code.clone(),
                    known: true,
                    description: entry.description.clone(),
                },
                format!("{rarc}: {}", entry.action),
            ),
            None => (
                Remark {
                    code: code.clone(),
                    known: false,
                    description: format!("Remark code {rarc} is not in the denial knowledge base."),
                },
                format!("{rarc}: look it up in the current Remittance Advice Remark Code list."),
            ),
        };
        analysis.remarks.push(remark);
        analysis.recommended_actions.push(action);
    }
    analysis.playbook = playbooks.choose(denial);
    analysis
}

/// The denial's codes and amount, before anything is learned about them.
fn bare<'a>(denial: &Denial) -> DenialAnalysis<'a> {
    DenialAnalysis {
        group: denial.group,
        carc: denial.carc.clone(),
        known_code: false,
        reason_description: String::new(),
        category: None,
        appealable: None,
        appeal_likelihood: None,
        root_causes: Vec::new(),
        recommended_actions: Vec::new(),
        preventive_measures: Vec::new(),
        remarks: Vec::with_capacity(denial.rarcs.len()),
        playbook: None,
        amount: denial.amount,
    }
}
