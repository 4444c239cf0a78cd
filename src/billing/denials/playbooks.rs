//! Which work a denial becomes: playbooks, read from `data/denials/playbooks.json`,
//! so a billing office changes its routing by editing data.
//!
//! ```json
//! {"playbooks": [
//!   {"id": "authorization-mismatch", "priority": 85, "description": "…",
//!    "match": {"carcs": ["15", "197"], "rarcs": ["N54"]},
//!    "action": {"kind": "auto_resubmit", "fix": ["Compare …", "Send …"]},
//!    "max_attempts": 2}
//! ]}
//! ```
//!
//! A playbook matches when every condition it states holds (`carcs`, `groups`,
//! `payers`: the denial's value is listed; `rarcs`: one of the denial's remark codes
//! is listed; `keywords`: one appears in the payer's text, ignoring case); a
//! condition left out matches anything. The highest priority match wins, and
//! priorities are unique so the choice never depends on the order of the file.
//! Actions are `auto_resubmit` (with `fix` instructions), `manual_review` (in a
//! `queue`) and `notify` (a `recipient`).
//!
//! Loading refuses what would route denials wrongly without anyone noticing:
//! unknown fields, repeated ids or priorities, empty condition lists (they could
//! never match), codes the knowledge base lacks (a typo would never match),
//! blank texts, and `max_attempts` of 0.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::codes::{parse_group, AdjustmentGroup, Carc, Rarc};
use super::knowledge::{blank_list, blank_text, KnowledgeBase};
use super::Denial;

pub const PLAYBOOK_FILE: &str = "data/denials/playbooks.json";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub id: String,
    pub priority: u32,
    /// Why the playbook handles its denials the way it does.
    pub description: String,
    #[serde(rename = "match")]
    pub conditions: Conditions,
    pub action: Action,
    /// How many times the action may be tried on one denial before a person
    /// takes over.
    pub max_attempts: u32,
}

/// What a denial must look like for a playbook to apply; `None` means any.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    pub carcs: Option<Vec<Carc>>,
    pub rarcs: Option<Vec<Rarc>>,
    pub groups: Option<Vec<GroupCode>>,
    pub payers: Option<Vec<String>>,
    /// Lower-cased when loaded.
    pub keywords: Option<Vec<String>>,
}

/// A group code as the playbook file writes it (`"CO"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct GroupCode(pub AdjustmentGroup);

impl TryFrom<String> for GroupCode {
    type Error = super::codes::CodeError;

    fn try_from(text: String) -> Result<GroupCode, Self::Error> {
        parse_group(&text).map(GroupCode)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Fixable without judgement: apply the fix and send the claim again.
    AutoResubmit { fix: Vec<String> },
    /// A person decides, from the named work queue.
    ManualReview { queue: String },
    /// Nothing to fix on the claim; someone needs to know.
    Notify { recipient: String },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::AutoResubmit { .. } => "auto_resubmit",
            Action::ManualReview { .. } => "manual_review",
            Action::Notify { .. } => "notify",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    #[error("{PLAYBOOK_FILE} is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{PLAYBOOK_FILE} has two playbooks with id {0:?}")]
    DuplicateId(String),
    #[error("{PLAYBOOK_FILE}: playbooks {first:?} and {second:?} share priority {priority}; priorities must be unique")]
    DuplicatePriority {
        priority: u32,
        first: String,
        second: String,
    },
    #[error("{PLAYBOOK_FILE}: playbook {playbook:?} names CARC {code}, which data/denials/carc.json does not know")]
    UnknownCarc { playbook: String, code: String },
    #[error("{PLAYBOOK_FILE}: playbook {playbook:?} names RARC {code}, which data/denials/rarc.json does not know")]
    UnknownRarc { playbook: String, code: String },
    #[error("{PLAYBOOK_FILE}: playbook {playbook:?} has a blank or empty {field}")]
    Blank { playbook: String, field: &'static str },
    #[error("{PLAYBOOK_FILE}: playbook {0:?} has max_attempts 0, so it would never act")]
    NoAttempts(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybookFile {
    playbooks: Vec<Playbook>,
}

/// The playbooks, highest priority first.
#[derive(Debug)]
pub struct Playbooks {
    by_priority: Vec<Playbook>,
}

impl Playbooks {
    /// Reads a playbook file (the format is in the module documentation); every
    /// code it names must be in `knowledge`.
    pub fn from_json(text: &str, knowledge: &KnowledgeBase) -> Result<Playbooks, PlaybookError> {
        let file: PlaybookFile = serde_json::from_str(text)?;
        let mut ids: HashSet<&str> = HashSet::new();
        let mut priorities: HashMap<u32, &str> = HashMap::new();
        for playbook in &file.playbooks {
            check(playbook, knowledge)?;
            if !ids.insert(&playbook.id) {
                return Err(PlaybookError::DuplicateId(playbook.id.clone()));
            }
            if let Some(first) = priorities.insert(playbook.priority, &playbook.id) {
                return Err(PlaybookError::DuplicatePriority {
                    priority: playbook.priority,
                    first: first.to_owned(),
                    second: playbook.id.clone(),
                });
            }
        }
        let mut by_priority = file.playbooks;
        for playbook in &mut by_priority {
            if let Some(keywords) = &mut playbook.conditions.keywords {
                keywords.iter_mut().for_each(|k| *k = k.to_lowercase());
            }
        }
        by_priority.sort_by_key(|playbook| std::cmp::Reverse(playbook.priority));
        Ok(Playbooks { by_priority })
    }

    /// The highest-priority playbook that matches `denial`.
    pub fn choose(&self, denial: &Denial) -> Option<&Playbook> {
        let text = denial.text.as_deref().map(str::to_lowercase);
        self.by_priority
            .iter()
            .find(|playbook| playbook.conditions.matches(denial, text.as_deref()))
    }
}

impl Conditions {
    /// `text` is the denial's text, lower-cased once by the caller.
    fn matches(&self, denial: &Denial, text: Option<&str>) -> bool {
        let carc = self
            .carcs
            .as_ref()
            .is_none_or(|carcs| carcs.contains(&denial.carc));
        let rarc = self
            .rarcs
            .as_ref()
            .is_none_or(|rarcs| denial.rarcs.iter().any(|r| rarcs.contains(r)));
        let group = self
            .groups
            .as_ref()
            .is_none_or(|groups| groups.contains(&GroupCode(denial.group)));
        let payer = self.payers.as_ref().is_none_or(|payers| {
            denial
                .payer_id
                .as_ref()
                .is_some_and(|payer| payers.contains(payer))
        });
        let keyword = self.keywords.as_ref().is_none_or(|keywords| {
            text.is_some_and(|text| keywords.iter().any(|k| text.contains(k.as_str())))
        });
        carc && rarc && group && payer && keyword
    }
}

/// Everything about one playbook that can be checked on its own.
fn check(playbook: &Playbook, knowledge: &KnowledgeBase) -> Result<(), PlaybookError> {
    let conditions = &playbook.conditions;
    let action = match &playbook.action {
        Action::AutoResubmit { fix } => ("action.fix", blank_list(fix)),
        Action::ManualReview { queue } => ("action.queue", blank_text(queue)),
        Action::Notify { recipient } => ("action.recipient", blank_text(recipient)),
    };
    let fields = [
        ("id", blank_text(&playbook.id)),
        ("description", blank_text(&playbook.description)),
        // An empty list could never match: a condition that does not apply is left out.
        (
            "match.carcs",
            conditions.carcs.as_ref().is_some_and(Vec::is_empty),
        ),
        (
            "match.rarcs",
            conditions.rarcs.as_ref().is_some_and(Vec::is_empty),
        ),
        (
            "match.groups",
            conditions.groups.as_ref().is_some_and(Vec::is_empty),
        ),
        (
            "match.payers",
            conditions.payers.as_deref().is_some_and(blank_list),
        ),
        (
            "match.keywords",
            conditions.keywords.as_deref().is_some_and(blank_list),
        ),
        action,
    ];
    if let Some((field, _)) = fields.into_iter().find(|(_, blank)| *blank) {
        return Err(PlaybookError::Blank {
            playbook: playbook.id.clone(),
            field,
        });
    }
    if playbook.max_attempts == 0 {
        return Err(PlaybookError::NoAttempts(playbook.id.clone()));
    }
    if let Some(code) = conditions
        .carcs
        .iter()
        .flatten()
        .find(|c| knowledge.carc(c).is_none())
    {
        return Err(PlaybookError::UnknownCarc {
            playbook: playbook.id.clone(),
            code: code.as_str().to_owned(),
        });
    }
    if let Some(code) = conditions
        .rarcs
        .iter()
        .flatten()
        .find(|r| knowledge.rarc(r).is_none())
    {
        return Err(PlaybookError::UnknownRarc {
            playbook: playbook.id.clone(),
            code: code.as_str().to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::denials::test_denial as denial;

    fn knowledge() -> KnowledgeBase {
        let carc = |code: &str, category: &str| {
            format!(
                r#"{{"code": "{code}", "category": "{category}", "appealable": true, "description": "d",
                    "root_causes": ["r"], "recommended_actions": ["a"], "prevention": ["p"]}}"#
            )
        };
        let carcs = format!(
            r#"{{"codes": [{}, {}, {}]}}"#,
            carc("16", "claim_data"),
            carc("197", "authorization"),
            carc("45", "contractual")
        );
        let rarcs = r#"{"codes": [{"code": "N54", "description": "d", "action": "a"},
                                  {"code": "MA130", "description": "d", "action": "a"}]}"#;
        KnowledgeBase::from_json(&carcs, rarcs).expect("valid knowledge")
    }

    /// Listed lowest priority first, so a choice by file order would be wrong.
    const PLAYBOOKS: &str = r#"{"playbooks": [
        {"id": "review", "priority": 0, "description": "d", "match": {},
         "action": {"kind": "manual_review", "queue": "denials"}, "max_attempts": 1},
        {"id": "authorization", "priority": 10, "description": "d", "match": {"carcs": ["197"]},
         "action": {"kind": "manual_review", "queue": "authorization"}, "max_attempts": 2},
        {"id": "authorization-mismatch", "priority": 20, "description": "d",
         "match": {"carcs": ["197"], "rarcs": ["N54"]},
         "action": {"kind": "auto_resubmit", "fix": ["Match the authorization."]}, "max_attempts": 2},
        {"id": "acme-authorization", "priority": 30, "description": "d",
         "match": {"carcs": ["197"], "groups": ["CO"], "payers": ["ACME01"]},
         "action": {"kind": "notify", "recipient": "acme_representative"}, "max_attempts": 1},
        {"id": "retro", "priority": 40, "description": "d", "match": {"keywords": ["Retro Auth"]},
         "action": {"kind": "manual_review", "queue": "appeals"}, "max_attempts": 1}
    ]}"#;

    fn chosen<'a>(playbooks: &'a Playbooks, denial: &Denial) -> Option<&'a str> {
        playbooks.choose(denial).map(|playbook| playbook.id.as_str())
    }

    fn load(text: &str) -> Result<Playbooks, PlaybookError> {
        Playbooks::from_json(text, &knowledge())
    }

    #[test]
    fn the_highest_priority_playbook_whose_conditions_all_hold_wins() {
        let playbooks = load(PLAYBOOKS).expect("valid playbooks");
        assert_eq!(chosen(&playbooks, &denial("CO-197", &[])), Some("authorization"));
        assert_eq!(
            chosen(&playbooks, &denial("CO-197", &["MA130", "N54"])),
            Some("authorization-mismatch")
        );
        assert_eq!(chosen(&playbooks, &denial("CO-45", &["N54"])), Some("review"));

        let mut acme = denial("CO-197", &["N54"]);
        acme.payer_id = Some("ACME01".into());
        assert_eq!(chosen(&playbooks, &acme), Some("acme-authorization"));
        let mut acme_patient_share = denial("PR-197", &[]);
        acme_patient_share.payer_id = Some("ACME01".into());
        assert_eq!(chosen(&playbooks, &acme_patient_share), Some("authorization"));

        let mut retro = acme.clone();
        retro.text = Some("Denied: RETRO AUTH not on file".into());
        assert_eq!(chosen(&playbooks, &retro), Some("retro"));
    }

    #[test]
    fn without_a_catch_all_a_denial_may_match_nothing() {
        let playbooks = load(&PLAYBOOKS.replace(r#""match": {}"#, r#""match": {"carcs": ["16"]}"#))
            .expect("valid playbooks");
        assert_eq!(chosen(&playbooks, &denial("CO-45", &[])), None);
    }

    #[test]
    fn repeated_ids_and_priorities_are_refused() {
        let id = load(&PLAYBOOKS.replace(r#""id": "retro""#, r#""id": "review""#)).unwrap_err();
        assert!(
            matches!(id, PlaybookError::DuplicateId(ref id) if id == "review"),
            "{id}"
        );
        let priority = load(&PLAYBOOKS.replace(r#""priority": 40"#, r#""priority": 10"#)).unwrap_err();
        assert!(
            matches!(priority, PlaybookError::DuplicatePriority { priority: 10, ref first, ref second }
                if first == "authorization" && second == "retro"),
            "{priority}"
        );
    }

    #[test]
    fn codes_missing_from_the_knowledge_base_are_refused() {
        let carc = load(&PLAYBOOKS.replace(r#"["197"]}"#, r#"["197", "29"]}"#)).unwrap_err();
        assert!(
            matches!(carc, PlaybookError::UnknownCarc { ref playbook, ref code }
                if playbook == "authorization" && code == "29"),
            "{carc}"
        );
        assert!(carc.to_string().contains("carc.json"), "{carc}");
        let rarc = load(&PLAYBOOKS.replace(r#""rarcs": ["N54"]"#, r#""rarcs": ["N55"]"#)).unwrap_err();
        assert!(
            matches!(rarc, PlaybookError::UnknownRarc { ref code, .. } if code == "N55"),
            "{rarc}"
        );
    }

    #[test]
    fn unknown_fields_kinds_and_malformed_values_are_refused() {
        for (from, to) in [
            (r#""max_attempts": 2}"#, r#""max_attempts": 2, "notes": "x"}"#),
            (r#""match": {}"#, r#""match": {"carc": ["197"]}"#),
            (r#""kind": "notify""#, r#""kind": "email""#),
            (r#""queue": "appeals""#, r#""queue": "appeals", "fix": ["x"]"#),
            (r#""groups": ["CO"]"#, r#""groups": ["XX"]"#),
            (r#""carcs": ["197"]}"#, r#""carcs": ["0197"]}"#),
        ] {
            let text = PLAYBOOKS.replacen(from, to, 1);
            assert_ne!(text, PLAYBOOKS, "{from}");
            assert!(matches!(load(&text), Err(PlaybookError::Json(_))), "{to}");
        }
    }

    #[test]
    fn empty_conditions_blank_texts_and_zero_attempts_are_refused() {
        for (from, to, field) in [
            (r#""rarcs": ["N54"]"#, r#""rarcs": []"#, "match.rarcs"),
            (
                r#""keywords": ["Retro Auth"]"#,
                r#""keywords": [" "]"#,
                "match.keywords",
            ),
            (r#""payers": ["ACME01"]"#, r#""payers": []"#, "match.payers"),
            (r#"["Match the authorization."]"#, "[]", "action.fix"),
            (
                r#""recipient": "acme_representative""#,
                r#""recipient": """#,
                "action.recipient",
            ),
        ] {
            let error = load(&PLAYBOOKS.replacen(from, to, 1)).unwrap_err();
            assert!(
                matches!(error, PlaybookError::Blank { field: f, .. } if f == field),
                "{error}"
            );
        }
        let never = load(&PLAYBOOKS.replacen(r#""max_attempts": 1"#, r#""max_attempts": 0"#, 1)).unwrap_err();
        assert!(
            matches!(never, PlaybookError::NoAttempts(ref id) if id == "review"),
            "{never}"
        );
    }
}
