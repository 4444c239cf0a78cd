//! What each reason and remark code means and what to do about it: the knowledge
//! base in `data/denials/carc.json` and `rarc.json` (the texts are the project's
//! own summaries; see `data/denials/README.md`).
//!
//! Loading is strict, so a mistake in the data stops the server rather than
//! showing a biller an empty or wrong analysis: unknown fields, malformed or
//! repeated codes, and blank texts are refused.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::codes::{Carc, Rarc};

pub const CARC_FILE: &str = "data/denials/carc.json";
pub const RARC_FILE: &str = "data/denials/rarc.json";

/// What kind of problem a reason code points at: it decides who works the denial
/// and, with `appealable`, how likely an appeal is to succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Eligibility,
    Authorization,
    Coding,
    /// Claim data missing or invalid (CARC 16): the remark codes say which.
    ClaimData,
    Duplicate,
    TimelyFiling,
    Bundling,
    MedicalNecessity,
    Documentation,
    /// The plan does not cover the service, or its limit is reached.
    Coverage,
    /// The provider's enrolment, type or network status.
    Provider,
    Contractual,
    PatientResponsibility,
    CoordinationOfBenefits,
    Other,
}

impl Category {
    pub const ALL: [Category; 15] = [
        Category::Eligibility,
        Category::Authorization,
        Category::Coding,
        Category::ClaimData,
        Category::Duplicate,
        Category::TimelyFiling,
        Category::Bundling,
        Category::MedicalNecessity,
        Category::Documentation,
        Category::Coverage,
        Category::Provider,
        Category::Contractual,
        Category::PatientResponsibility,
        Category::CoordinationOfBenefits,
        Category::Other,
    ];

    pub fn parse(text: &str) -> Option<Category> {
        Self::ALL.into_iter().find(|category| category.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Eligibility => "eligibility",
            Category::Authorization => "authorization",
            Category::Coding => "coding",
            Category::ClaimData => "claim_data",
            Category::Duplicate => "duplicate",
            Category::TimelyFiling => "timely_filing",
            Category::Bundling => "bundling",
            Category::MedicalNecessity => "medical_necessity",
            Category::Documentation => "documentation",
            Category::Coverage => "coverage",
            Category::Provider => "provider",
            Category::Contractual => "contractual",
            Category::PatientResponsibility => "patient_responsibility",
            Category::CoordinationOfBenefits => "coordination_of_benefits",
            Category::Other => "other",
        }
    }
}

/// One claim adjustment reason code.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarcEntry {
    pub code: Carc,
    pub description: String,
    pub category: Category,
    /// Whether contesting the decision with evidence is the usual remedy, rather
    /// than a corrected claim, a bill to someone else, or nothing.
    pub appealable: bool,
    pub root_causes: Vec<String>,
    pub recommended_actions: Vec<String>,
    pub prevention: Vec<String>,
}

/// One remittance advice remark code.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RarcEntry {
    pub code: Rarc,
    pub description: String,
    pub action: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeFile<T> {
    codes: Vec<T>,
}

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("{file} is not valid: {source}")]
    Json {
        file: &'static str,
        source: serde_json::Error,
    },
    #[error("{file} lists {code} twice")]
    Duplicate { file: &'static str, code: String },
    #[error("{file}: {code} has a blank or empty {field}")]
    Blank {
        file: &'static str,
        code: String,
        field: &'static str,
    },
}

/// The reason and remark codes we can explain.
#[derive(Debug)]
pub struct KnowledgeBase {
    carcs: HashMap<String, CarcEntry>,
    rarcs: HashMap<String, RarcEntry>,
}

impl KnowledgeBase {
    /// Reads the two files (each is `{"codes": [entry, …]}`).
    pub fn from_json(carc_file: &str, rarc_file: &str) -> Result<KnowledgeBase, KnowledgeError> {
        Ok(KnowledgeBase {
            carcs: load(CARC_FILE, carc_file)?,
            rarcs: load(RARC_FILE, rarc_file)?,
        })
    }

    pub fn carc(&self, code: &Carc) -> Option<&CarcEntry> {
        self.carcs.get(code.as_str())
    }

    pub fn rarc(&self, code: &Rarc) -> Option<&RarcEntry> {
        self.rarcs.get(code.as_str())
    }
}

/// What loading needs to know of an entry of either file.
trait Entry: DeserializeOwned {
    fn code(&self) -> &str;
    /// The first text left blank or list left empty: an analysis would show nothing.
    fn blank_field(&self) -> Option<&'static str>;
}

impl Entry for CarcEntry {
    fn code(&self) -> &str {
        self.code.as_str()
    }

    fn blank_field(&self) -> Option<&'static str> {
        first_blank(&[
            ("description", blank_text(&self.description)),
            ("root_causes", blank_list(&self.root_causes)),
            ("recommended_actions", blank_list(&self.recommended_actions)),
            ("prevention", blank_list(&self.prevention)),
        ])
    }
}

impl Entry for RarcEntry {
    fn code(&self) -> &str {
        self.code.as_str()
    }

    fn blank_field(&self) -> Option<&'static str> {
        first_blank(&[
            ("description", blank_text(&self.description)),
            ("action", blank_text(&self.action)),
        ])
    }
}

/// A file's entries by code, refusing a code listed twice (the second would
/// silently win).
fn load<T: Entry>(file: &'static str, text: &str) -> Result<HashMap<String, T>, KnowledgeError> {
    let parsed: CodeFile<T> =
        serde_json::from_str(text).map_err(|source| KnowledgeError::Json { file, source })?;
    let mut by_code = HashMap::with_capacity(parsed.codes.len());
    for entry in parsed.codes {
        let code = entry.code().to_owned();
        if let Some(field) = entry.blank_field() {
            return Err(KnowledgeError::Blank { file, code, field });
        }
        if by_code.contains_key(&code) {
            return Err(KnowledgeError::Duplicate { file, code });
        }
        by_code.insert(code, entry);
    }
    Ok(by_code)
}

fn first_blank(fields: &[(&'static str, bool)]) -> Option<&'static str> {
    fields.iter().find(|(_, blank)| *blank).map(|(name, _)| *name)
}

pub(super) fn blank_text(text: &str) -> bool {
    text.trim().is_empty()
}

pub(super) fn blank_list(items: &[String]) -> bool {
    items.is_empty() || items.iter().any(|item| blank_text(item))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_CARC: &str = r#"{"codes": [{"code": "18", "category": "duplicate", "appealable": false,
        "description": "Already processed.", "root_causes": ["Sent twice."],
        "recommended_actions": ["Find the original."], "prevention": ["Check status first."]}]}"#;
    const ONE_RARC: &str = r#"{"codes": [{"code": "N54", "description": "Does not match the authorization.", "action": "Compare."}]}"#;

    #[test]
    fn a_valid_pair_of_files_loads() {
        let knowledge = KnowledgeBase::from_json(ONE_CARC, ONE_RARC).expect("valid");
        let entry = knowledge.carc(&Carc::parse("18").expect("code")).expect("known");
        assert_eq!(entry.category, Category::Duplicate);
        assert!(knowledge.rarc(&Rarc::parse("N54").expect("code")).is_some());
        assert!(knowledge.carc(&Carc::parse("19").expect("code")).is_none());
    }

    #[test]
    fn a_repeated_code_is_refused() {
        let twice = ONE_RARC.replace(
            "]}",
            r#", {"code": "N54", "description": "Again.", "action": "Again."}]}"#,
        );
        let error = KnowledgeBase::from_json(ONE_CARC, &twice).unwrap_err();
        assert!(
            matches!(error, KnowledgeError::Duplicate { file: RARC_FILE, ref code } if code == "N54"),
            "{error}"
        );
    }

    #[test]
    fn unknown_fields_malformed_codes_and_categories_are_refused() {
        for carcs in [
            ONE_CARC.replace("\"prevention\"", "\"preventon\""),
            ONE_CARC.replace("\"18\"", "\"018\""),
            ONE_CARC.replace("\"duplicate\"", "\"duplicates\""),
        ] {
            let error = KnowledgeBase::from_json(&carcs, ONE_RARC).unwrap_err();
            assert!(
                matches!(error, KnowledgeError::Json { file: CARC_FILE, .. }),
                "{error}"
            );
        }
    }

    #[test]
    fn blank_texts_and_empty_lists_are_refused() {
        let empty = ONE_CARC.replace(r#"["Sent twice."]"#, "[]");
        let error = KnowledgeBase::from_json(&empty, ONE_RARC).unwrap_err();
        assert!(
            matches!(
                error,
                KnowledgeError::Blank {
                    field: "root_causes",
                    ..
                }
            ),
            "{error}"
        );
        let blank = ONE_RARC.replace("Compare.", " ");
        let error = KnowledgeBase::from_json(ONE_CARC, &blank).unwrap_err();
        assert!(
            matches!(error, KnowledgeError::Blank { field: "action", .. }),
            "{error}"
        );
    }
}
