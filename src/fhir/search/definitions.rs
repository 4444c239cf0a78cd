//! The search parameters the server supports, built at start-up from the official R4
//! SearchParameter definitions shipped in `fhir-profiles/search-parameters.json`.
//!
//! Each definition's FHIRPath `expression` is compiled against the R4 JSON schema's
//! type information into plain element paths (`Claim.careTeam.provider` →
//! `careTeam` then `provider`, of type Reference), so indexing a resource is a walk
//! over its JSON, with no FHIRPath engine at run time. The compiler understands the
//! subset the definitions of the stored types use: member access, unions (`|`),
//! choice types (`deceased` → `deceasedBoolean`, `deceasedDateTime`), `as T`,
//! `where(field='literal')`, `where(resolve() is T)` and the `exists() and … != false`
//! idiom of `Patient.deceased`.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use serde_json::Value;

use crate::fhir::resource_type::ResourceType;
use crate::fhir::validation::R4_SCHEMA_JSON;

const DEFINITIONS: &str = include_str!("../../../fhir-profiles/search-parameters.json");

/// The value types of search parameters this server indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    String,
    Token,
    Reference,
    Date,
    Number,
    Quantity,
    Uri,
}

impl ParamKind {
    fn from_definition(kind: &str) -> Option<Self> {
        Some(match kind {
            "string" => ParamKind::String,
            "token" => ParamKind::Token,
            "reference" => ParamKind::Reference,
            "date" => ParamKind::Date,
            "number" => ParamKind::Number,
            "quantity" => ParamKind::Quantity,
            "uri" => ParamKind::Uri,
            _ => return None,
        })
    }
}

/// A condition on the element reached by a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepFilter {
    /// `where(system='email')`: a child primitive equals a literal.
    FieldEquals { field: String, literal: String },
    /// `where(resolve() is Practitioner)`: a Reference to that type.
    ReferenceTo(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub field: String,
    pub filter: Option<StepFilter>,
}

/// One way to reach a parameter's values from the resource root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementPath {
    pub steps: Vec<Step>,
    /// The FHIR type at the end of the path (`Reference`, `HumanName`, `code`…).
    pub type_name: String,
    /// `X.exists() and X != false`: the value is whether the element is present
    /// and not `false`, not the element itself.
    pub present_and_not_false: bool,
}

#[derive(Debug, Clone)]
pub struct SearchParam {
    pub code: String,
    /// The definition's canonical URL.
    pub url: String,
    pub kind: ParamKind,
    pub paths: Vec<ElementPath>,
    /// Resource types a reference parameter may point to.
    pub targets: Vec<String>,
    /// The parameter whose index rows hold this one's values: its own code, or
    /// that of a parameter of the same type, kind and paths (Patient's `phonetic`
    /// is `Patient.name`, as `name` is; Coverage's `patient` is `beneficiary`).
    /// Such values are indexed once, and searches on either read them there.
    pub stored_as: String,
}

impl SearchParam {
    /// `_id` and `_lastUpdated` are columns of the resource row, not index entries.
    pub fn is_column(&self) -> bool {
        matches!(self.code.as_str(), "_id" | "_lastUpdated")
    }
}

/// Every supported parameter of every stored type.
pub struct Registry {
    by_type: HashMap<ResourceType, BTreeMap<String, SearchParam>>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let definitions: Value = serde_json::from_str(DEFINITIONS).expect("the shipped definitions are JSON");
    Registry::build(&definitions, &R4_SCHEMA_JSON["definitions"]).expect("the shipped definitions compile")
});

impl Registry {
    pub fn get() -> &'static Registry {
        &REGISTRY
    }

    pub fn params(&self, resource_type: ResourceType) -> &BTreeMap<String, SearchParam> {
        &self.by_type[&resource_type]
    }

    pub fn param(&self, resource_type: ResourceType, code: &str) -> Option<&SearchParam> {
        self.by_type[&resource_type].get(code)
    }

    fn build(bundle: &Value, types: &Value) -> Result<Self, String> {
        let mut by_type: HashMap<ResourceType, BTreeMap<String, SearchParam>> = ResourceType::ALL
            .into_iter()
            .map(|t| (t, BTreeMap::new()))
            .collect();
        let entries = bundle["entry"]
            .as_array()
            .ok_or("the definitions Bundle has no entries")?;
        for definition in entries.iter().map(|e| &e["resource"]) {
            let text = |field: &str| definition[field].as_str().unwrap_or_default();
            let Some(kind) = ParamKind::from_definition(text("type")) else {
                continue;
            };
            let targets: Vec<String> = definition["target"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            for resource_type in ResourceType::ALL {
                let table = by_type.get_mut(&resource_type).expect("every type has a table");
                if table.contains_key(text("code")) {
                    continue;
                }
                let paths = compile(text("expression"), resource_type.as_str(), types)
                    .map_err(|e| format!("{} ({}): {e}", text("url"), text("expression")))?;
                if !paths.is_empty() {
                    table.insert(
                        text("code").to_owned(),
                        SearchParam {
                            code: text("code").to_owned(),
                            url: text("url").to_owned(),
                            kind,
                            paths,
                            targets: targets.clone(),
                            stored_as: text("code").to_owned(),
                        },
                    );
                }
            }
        }
        by_type.values_mut().for_each(share_identical_rows);
        Ok(Registry { by_type })
    }
}

/// Points each parameter whose values another one of the type already indexes
/// (the same kind and paths, so the same rows) at that one, the first by code:
/// an HL7 admission's Patient and Coverage write 6 fewer of their 60 index rows.
fn share_identical_rows(params: &mut BTreeMap<String, SearchParam>) {
    let codes: Vec<String> = params.keys().cloned().collect();
    for (at, code) in codes.iter().enumerate() {
        let stored_as = codes[..at].iter().find(|earlier| {
            let (earlier, this) = (&params[*earlier], &params[code]);
            // `_id` and `_lastUpdated` have no rows to share.
            !earlier.is_column()
                && earlier.stored_as == earlier.code
                && earlier.kind == this.kind
                && earlier.paths == this.paths
        });
        if let Some(stored_as) = stored_as.cloned() {
            params.get_mut(code).expect("listed above").stored_as = stored_as;
        }
    }
}

/// The element paths of `expression` that apply to `resource_type`; empty when no
/// branch of the expression starts at that type (or at `Resource`).
pub fn compile(expression: &str, resource_type: &str, types: &Value) -> Result<Vec<ElementPath>, String> {
    let mut paths = Vec::new();
    for branch in split_top_level(expression, '|') {
        let branch = strip_parens(branch.trim());
        paths.extend(compile_branch(branch, resource_type, types)?);
    }
    Ok(paths)
}

fn compile_branch(branch: &str, resource_type: &str, types: &Value) -> Result<Vec<ElementPath>, String> {
    if let Some((left, right)) = branch.split_once(" and ") {
        let subject = left
            .trim()
            .strip_suffix(".exists()")
            .filter(|s| right.trim() == format!("{s} != false"))
            .ok_or_else(|| format!("unsupported conjunction {branch:?}"))?;
        let mut paths = compile_branch(subject, resource_type, types)?;
        paths.iter_mut().for_each(|p| p.present_and_not_false = true);
        return Ok(paths);
    }
    let (path, cast) = match branch.split_once(" as ") {
        Some((path, cast)) => (path.trim(), Some(cast.trim())),
        None => (branch, None),
    };
    let segments = split_top_level(path, '.');
    let root = segments[0];
    if root != resource_type && root != "Resource" {
        return Ok(Vec::new());
    }
    let mut paths = vec![ElementPath {
        steps: Vec::new(),
        type_name: resource_type.to_owned(),
        present_and_not_false: false,
    }];
    for segment in &segments[1..] {
        paths = apply_segment(paths, segment, types)?;
    }
    if let Some(cast) = cast {
        paths.retain(|p| p.type_name == cast);
    }
    Ok(paths)
}

fn apply_segment(paths: Vec<ElementPath>, segment: &str, types: &Value) -> Result<Vec<ElementPath>, String> {
    if let Some(condition) = segment.strip_prefix("where(").and_then(|s| s.strip_suffix(')')) {
        let filter = parse_where(condition)?;
        return Ok(paths
            .into_iter()
            .map(|mut path| {
                path.steps.last_mut().expect("where() follows a member").filter = Some(filter.clone());
                path
            })
            .collect());
    }
    if !segment.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("unsupported FHIRPath step {segment:?}"));
    }
    let mut next = Vec::new();
    for path in paths {
        for (field, type_name) in member_types(&path.type_name, segment, types)? {
            let mut steps = path.steps.clone();
            steps.push(Step { field, filter: None });
            next.push(ElementPath {
                steps,
                type_name,
                present_and_not_false: false,
            });
        }
    }
    Ok(next)
}

fn parse_where(condition: &str) -> Result<StepFilter, String> {
    if let Some(target) = condition.strip_prefix("resolve() is ") {
        return Ok(StepFilter::ReferenceTo(target.trim().to_owned()));
    }
    let (field, literal) = condition
        .split_once('=')
        .ok_or_else(|| format!("unsupported where({condition})"))?;
    let literal = literal.trim().trim_matches('\'');
    Ok(StepFilter::FieldEquals {
        field: field.trim().to_owned(),
        literal: literal.to_owned(),
    })
}

/// The JSON property (or properties, for a choice element) of `member` on
/// `type_name` and the type of each.
fn member_types(type_name: &str, member: &str, types: &Value) -> Result<Vec<(String, String)>, String> {
    let properties = types[type_name]["properties"]
        .as_object()
        .ok_or_else(|| format!("type {type_name} has no elements"))?;
    if let Some(property) = properties.get(member) {
        return Ok(vec![(member.to_owned(), property_type(property, None))]);
    }
    // A choice element: `deceased` is stored as `deceasedBoolean`, `deceasedDateTime`…
    let variants: Vec<(String, String)> = properties
        .iter()
        .filter_map(|(name, property)| {
            let suffix = name.strip_prefix(member)?;
            suffix
                .starts_with(|c: char| c.is_ascii_uppercase())
                .then(|| (name.clone(), property_type(property, Some(suffix))))
        })
        .collect();
    if variants.is_empty() {
        return Err(format!("{type_name} has no element {member:?}"));
    }
    Ok(variants)
}

/// A property's FHIR type: its `$ref` (directly or for array items), else the
/// choice suffix, else what its inline JSON type implies.
fn property_type(property: &Value, choice_suffix: Option<&str>) -> String {
    let reference = property["$ref"].as_str().or(property["items"]["$ref"].as_str());
    if let Some(reference) = reference {
        return reference.trim_start_matches("#/definitions/").to_owned();
    }
    if let Some(suffix) = choice_suffix {
        let mut chars = suffix.chars();
        let first = chars.next().map(|c| c.to_ascii_lowercase());
        return first.into_iter().chain(chars).collect();
    }
    match property["type"].as_str() {
        Some("boolean") => "boolean".to_owned(),
        Some("number") => "decimal".to_owned(),
        _ if property.get("enum").is_some() => "code".to_owned(),
        _ => "string".to_owned(),
    }
}

/// Splits on `separator` outside parentheses and quotes.
fn split_top_level(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0usize);
    for (at, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            c if c == separator && depth == 0 && !quoted => {
                parts.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn strip_parens(text: &str) -> &str {
    match text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        Some(inner) if split_top_level(inner, ')').len() == 1 => inner.trim(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(resource_type: ResourceType) -> &'static BTreeMap<String, SearchParam> {
        Registry::get().params(resource_type)
    }

    #[test]
    fn parameters_with_the_same_paths_share_their_rows() {
        let stored_as = |resource_type, code| params(resource_type)[code].stored_as.as_str();
        assert_eq!(stored_as(ResourceType::Patient, "phonetic"), "name");
        // Organization's `name` also holds its aliases; its `phonetic` does not.
        assert_eq!(stored_as(ResourceType::Organization, "phonetic"), "phonetic");
        assert_eq!(stored_as(ResourceType::Coverage, "patient"), "beneficiary");
        // Paths that differ keep their own rows: Encounter's `patient` is the subject
        // only when it is a Patient.
        assert_eq!(stored_as(ResourceType::Encounter, "patient"), "patient");
        assert_eq!(stored_as(ResourceType::Patient, "name"), "name");
        for resource_type in ResourceType::ALL {
            for param in params(resource_type).values() {
                let owner = &params(resource_type)[&param.stored_as];
                assert_eq!(owner.stored_as, owner.code, "{resource_type} {}", param.code);
                assert_eq!((owner.kind, &owner.paths), (param.kind, &param.paths));
            }
        }
    }

    #[test]
    fn every_stored_type_has_its_standard_parameters() {
        let claim = params(ResourceType::Claim);
        for code in [
            "patient",
            "insurer",
            "provider",
            "created",
            "identifier",
            "status",
            "use",
            "_id",
            "_lastUpdated",
            "_tag",
        ] {
            assert!(claim.contains_key(code), "Claim lacks {code}");
        }
        let patient = params(ResourceType::Patient);
        for code in [
            "name",
            "family",
            "given",
            "birthdate",
            "gender",
            "identifier",
            "address-city",
            "phone",
            "email",
            "deceased",
            "death-date",
        ] {
            assert!(patient.contains_key(code), "Patient lacks {code}");
        }
        assert!(params(ResourceType::Encounter).contains_key("date"));
        assert!(params(ResourceType::Encounter).contains_key("length"));
        assert!(params(ResourceType::ClaimResponse).contains_key("request"));
        assert!(params(ResourceType::Coverage).contains_key("beneficiary"));
        assert!(params(ResourceType::CoverageEligibilityRequest).contains_key("provider"));
        let response = params(ResourceType::CoverageEligibilityResponse);
        for code in [
            "patient",
            "request",
            "outcome",
            "insurer",
            "created",
            "disposition",
        ] {
            assert!(
                response.contains_key(code),
                "CoverageEligibilityResponse lacks {code}"
            );
        }
        // `near` is a special parameter: not indexed.
        assert!(!params(ResourceType::Location).contains_key("near"));
    }

    #[test]
    fn expressions_become_typed_paths() {
        let care_team = &params(ResourceType::Claim)["care-team"];
        assert_eq!(care_team.kind, ParamKind::Reference);
        assert_eq!(care_team.paths.len(), 1);
        let fields: Vec<&str> = care_team.paths[0]
            .steps
            .iter()
            .map(|s| s.field.as_str())
            .collect();
        assert_eq!(fields, ["careTeam", "provider"]);
        assert_eq!(care_team.paths[0].type_name, "Reference");

        let death = &params(ResourceType::Patient)["death-date"];
        assert_eq!(death.paths.len(), 1);
        assert_eq!(death.paths[0].steps[0].field, "deceasedDateTime");

        let deceased = &params(ResourceType::Patient)["deceased"];
        assert_eq!(deceased.paths.len(), 2);
        assert!(deceased.paths.iter().all(|p| p.present_and_not_false));

        let email = &params(ResourceType::Patient)["email"];
        assert_eq!(
            email.paths[0].steps[0].filter,
            Some(StepFilter::FieldEquals {
                field: "system".into(),
                literal: "email".into()
            })
        );
        let practitioner = &params(ResourceType::Encounter)["practitioner"];
        assert_eq!(
            practitioner.paths[0].steps[1].filter,
            Some(StepFilter::ReferenceTo("Practitioner".into()))
        );
        let name = &params(ResourceType::Organization)["name"];
        assert_eq!(name.paths.len(), 2, "name | alias");
    }

    #[test]
    fn unsupported_expressions_are_refused() {
        let types = &R4_SCHEMA_JSON["definitions"];
        assert!(compile("Patient.name.first()", "Patient", types).is_err());
        assert!(compile("Patient.nonsense", "Patient", types).is_err());
        assert!(compile("Observation.code", "Patient", types).unwrap().is_empty());
    }
}
