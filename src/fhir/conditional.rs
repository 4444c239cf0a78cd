//! Search criteria of conditional interactions (`If-None-Exist`, conditional update):
//! `identifier=[system|]value` and `_id=id`, combined with AND.

use crate::fhir::outcome::FhirError;
use crate::fhir::resource_type::ResourceType;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Criterion {
    Id(String),
    Identifier { system: Option<String>, value: String },
}

/// Parsed criteria, at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criteria(Vec<Criterion>);

impl Criteria {
    pub fn parse(query: &str) -> Result<Self, FhirError> {
        let mut criteria = Vec::new();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let criterion = match name.as_ref() {
                "_id" => Criterion::Id(value.into_owned()),
                "identifier" => match value.split_once('|') {
                    Some((system, code)) if !code.is_empty() => Criterion::Identifier {
                        system: Some(system.to_owned()),
                        value: code.to_owned(),
                    },
                    None if !value.is_empty() => Criterion::Identifier {
                        system: None,
                        value: value.into_owned(),
                    },
                    _ => {
                        return Err(FhirError::invalid_at(
                            "invalid",
                            "identifier",
                            format!("identifier criterion {value:?} needs a value: use [system|]value"),
                        ))
                    }
                },
                // Format and pretty-printing are not criteria.
                "_format" | "_pretty" => continue,
                other => {
                    return Err(FhirError::invalid_at(
                        "not-supported",
                        other,
                        format!("conditional criteria support identifier and _id, not {other:?}"),
                    ))
                }
            };
            criteria.push(criterion);
        }
        if criteria.is_empty() {
            return Err(FhirError::invalid(
                "invalid",
                "conditional request without criteria",
            ));
        }
        Ok(Criteria(criteria))
    }

    /// Ids of the live resources of `resource_type` that match every criterion.
    pub async fn matching_ids(
        &self,
        store: &Store,
        resource_type: ResourceType,
    ) -> Result<Vec<String>, StoreError> {
        let mut matches: Option<Vec<String>> = None;
        for criterion in &self.0 {
            let ids = match criterion {
                Criterion::Id(id) => match store.read_current(resource_type.as_str(), id).await? {
                    Some(current) if !current.deleted => vec![id.clone()],
                    _ => Vec::new(),
                },
                Criterion::Identifier { system, value } => {
                    store
                        .find_ids_by_token(resource_type.as_str(), "identifier", system.as_deref(), value)
                        .await?
                }
            };
            matches = Some(match matches {
                None => ids,
                Some(previous) => previous.into_iter().filter(|id| ids.contains(id)).collect(),
            });
        }
        Ok(matches.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_identifier_forms() {
        let criteria = Criteria::parse("identifier=http%3A%2F%2Fh.org%2Fmrn%7C123&_id=a").unwrap();
        assert_eq!(
            criteria.0,
            vec![
                Criterion::Identifier {
                    system: Some("http://h.org/mrn".into()),
                    value: "123".into()
                },
                Criterion::Id("a".into())
            ]
        );
        assert!(Criteria::parse("name=smith").is_err());
        assert!(Criteria::parse("identifier=sys%7C").is_err());
        assert!(Criteria::parse("").is_err());
    }
}
