//! Denials: what a payer's reason and remark codes mean, how likely an appeal is,
//! and which playbook works the denial.
//!
//! What we know about codes and how denials are routed is data in `data/denials/`
//! (embedded at build time, read once, and checked when the server starts), so
//! billers improve it without touching code. This module holds no HTTP and no
//! database: the API, remittance posting and tests get the same answer.

mod analysis;
mod codes;
mod from_remittance;
mod knowledge;
mod playbooks;
pub mod routes;

use std::sync::OnceLock;

use rust_decimal::Decimal;

use knowledge::KnowledgeBase;
use playbooks::Playbooks;

pub use analysis::{AppealLikelihood, DenialAnalysis, Remark};
pub use codes::{group_meaning, parse_denial_code, parse_group, AdjustmentGroup, Carc, CodeError, Rarc};
pub use from_remittance::{denial_code, denials_of};
pub use knowledge::{Category, KnowledgeError};
pub use playbooks::{Action, Playbook, PlaybookError};

static CARCS: &str = include_str!("../../../data/denials/carc.json");
static RARCS: &str = include_str!("../../../data/denials/rarc.json");
static PLAYBOOKS: &str = include_str!("../../../data/denials/playbooks.json");

/// A denial as the payer gave it.
#[derive(Debug, Clone)]
pub struct Denial {
    pub group: AdjustmentGroup,
    pub carc: Carc,
    pub rarcs: Vec<Rarc>,
    /// The clearinghouse payer id, for payer-specific playbooks.
    pub payer_id: Option<String>,
    /// The amount denied, carried into the analysis.
    pub amount: Option<Decimal>,
    /// The payer's remark text, searched by playbook keywords.
    pub text: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DenialDataError {
    #[error(transparent)]
    Knowledge(#[from] KnowledgeError),
    #[error(transparent)]
    Playbooks(#[from] PlaybookError),
}

/// The knowledge base and the playbooks that route denials with it.
#[derive(Debug)]
pub struct Denials {
    knowledge: KnowledgeBase,
    playbooks: Playbooks,
}

impl Denials {
    /// Reads the three files of `data/denials/` (or an operator's versions of them).
    pub fn from_json(carcs: &str, rarcs: &str, playbooks: &str) -> Result<Denials, DenialDataError> {
        let knowledge = KnowledgeBase::from_json(carcs, rarcs)?;
        let playbooks = Playbooks::from_json(playbooks, &knowledge)?;
        Ok(Denials { knowledge, playbooks })
    }

    pub fn analyze(&self, denial: &Denial) -> DenialAnalysis<'_> {
        analysis::analyze(&self.knowledge, &self.playbooks, denial)
    }
}

static SHIPPED: OnceLock<Result<Denials, DenialDataError>> = OnceLock::new();

/// The data shipped in `data/denials/`, read on first use. The server calls this
/// when it starts and refuses to start on an error.
pub fn shipped() -> Result<&'static Denials, &'static DenialDataError> {
    SHIPPED
        .get_or_init(|| Denials::from_json(CARCS, RARCS, PLAYBOOKS))
        .as_ref()
}

/// Analyses `denial` with the shipped data.
pub fn analyze(denial: &Denial) -> DenialAnalysis<'static> {
    // Checked when the server starts and by a unit test, so it cannot fail here.
    shipped().expect("data/denials/ is valid").analyze(denial)
}

/// A denial from its hyphenated code (`CO-197`) and remark codes, for tests.
#[cfg(test)]
pub(crate) fn test_denial(code: &str, rarcs: &[&str]) -> Denial {
    let (group, carc) = parse_denial_code(code).expect("denial code");
    Denial {
        group,
        carc,
        rarcs: rarcs
            .iter()
            .map(|r| Rarc::parse(r).expect("remark code"))
            .collect(),
        payer_id: None,
        amount: None,
        text: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_denial as denial;

    fn playbook_id<'a>(analysis: &DenialAnalysis<'a>) -> Option<&'a str> {
        analysis.playbook.map(|playbook| playbook.id.as_str())
    }

    #[test]
    fn the_shipped_data_loads_and_knows_the_codes_billers_meet_most() {
        let denials = shipped().expect("data/denials/ is valid");
        let carcs = "1 2 3 4 5 6 9 11 15 16 18 22 23 26 27 29 31 39 45 50 55 56 96 97 109 119 140 146 \
                     151 167 170 181 182 185 197 198 204 222 226 227 234 236 242 252 253 288";
        for code in carcs.split_whitespace() {
            let carc = Carc::parse(code).expect("code");
            assert!(denials.knowledge.carc(&carc).is_some(), "CARC {code}");
        }
        let rarcs = "M15 M20 M51 M76 M80 M86 MA04 MA13 MA18 MA130 N4 N20 N30 N54 N56 N115 N130 N180 \
                     N211 N290 N362 N386 N479 N522 N657";
        for code in rarcs.split_whitespace() {
            let rarc = Rarc::parse(code).expect("code");
            assert!(denials.knowledge.rarc(&rarc).is_some(), "RARC {code}");
        }
    }

    #[test]
    fn a_known_denial_is_explained_and_routed() {
        let mut missing_authorization = denial("CO-197", &["N54"]);
        missing_authorization.amount = Some(Decimal::new(12500, 2));
        let analysis = analyze(&missing_authorization);
        assert!(analysis.known_code);
        assert_eq!(analysis.category, Some(Category::Authorization));
        assert_eq!(analysis.appeal_likelihood, Some(AppealLikelihood::High));
        assert!(analysis.reason_description.contains("authorization"));
        assert!(!analysis.root_causes.is_empty() && !analysis.preventive_measures.is_empty());
        assert!(analysis
            .recommended_actions
            .last()
            .is_some_and(|a| a.starts_with("N54: ")));
        assert_eq!(analysis.remarks.len(), 1);
        assert!(analysis.remarks[0].known);
        assert_eq!(analysis.amount, Some(Decimal::new(12500, 2)));
        let playbook = analysis.playbook.expect("a playbook");
        assert_eq!(playbook.id, "authorization-mismatch");
        assert_eq!(playbook.action.kind(), "auto_resubmit");
        assert_eq!(playbook.max_attempts, 2);
    }

    #[test]
    fn the_payers_text_can_choose_a_playbook() {
        let mut emergency = denial("CO-197", &[]);
        assert_eq!(playbook_id(&analyze(&emergency)), Some("missing-authorization"));
        emergency.text = Some("No auth on file for Emergency admission".into());
        assert_eq!(
            playbook_id(&analyze(&emergency)),
            Some("emergency-without-authorization")
        );
    }

    #[test]
    fn appeal_likelihood_follows_appealable_and_category() {
        let likelihood = |code| analyze(&denial(code, &[])).appeal_likelihood;
        assert_eq!(likelihood("PR-1"), Some(AppealLikelihood::Low));
        assert_eq!(likelihood("CO-16"), Some(AppealLikelihood::Low));
        assert_eq!(likelihood("CO-50"), Some(AppealLikelihood::High));
        assert_eq!(likelihood("CO-226"), Some(AppealLikelihood::High));
        assert_eq!(likelihood("CO-29"), Some(AppealLikelihood::Medium));
        assert_eq!(likelihood("CO-97"), Some(AppealLikelihood::Medium));
    }

    #[test]
    fn an_unknown_code_gets_an_answer_that_says_so() {
        let analysis = analyze(&denial("CO-999", &["N9", "M15"]));
        assert!(!analysis.known_code);
        assert!(analysis
            .reason_description
            .contains("not in the denial knowledge base"));
        assert_eq!(analysis.category, None);
        assert_eq!(analysis.appealable, None);
        assert_eq!(analysis.appeal_likelihood, None);
        assert!(analysis.root_causes.is_empty());
        assert!(analysis.recommended_actions[0].contains("CARC 999"));
        let known: Vec<(&str, bool)> = analysis
            .remarks
            .iter()
            .map(|r| (r.code.as_str(), r.known))
            .collect();
        assert_eq!(known, [("N9", false), ("M15", true)]);
        assert!(analysis.recommended_actions[1].starts_with("N9: look it up"));
        // A known remark code can still route it; without one, a person reviews it.
        assert_eq!(playbook_id(&analysis), Some("bundling-remarks"));
        assert_eq!(playbook_id(&analyze(&denial("CO-999", &[]))), Some("review"));
    }

    #[test]
    fn shipped_data_with_a_playbook_naming_an_unknown_code_is_refused() {
        let playbooks = PLAYBOOKS.replacen(r#""carcs": ["29"]"#, r#""carcs": ["29", "30"]"#, 1);
        assert_ne!(playbooks, PLAYBOOKS);
        let error = Denials::from_json(CARCS, RARCS, &playbooks).unwrap_err();
        assert!(
            matches!(error, DenialDataError::Playbooks(PlaybookError::UnknownCarc { ref code, .. }) if code == "30"),
            "{error}"
        );
        let carcs = CARCS.replacen(r#""code": "4""#, r#""code": "3""#, 1);
        assert!(matches!(
            Denials::from_json(&carcs, RARCS, PLAYBOOKS),
            Err(DenialDataError::Knowledge(KnowledgeError::Duplicate { .. }))
        ));
    }
}
