//! Conditional interactions (`If-None-Exist`, conditional update and delete,
//! conditional references in Bundles) select resources by search criteria: any
//! supported search parameters, combined with AND.

use crate::fhir::outcome::FhirError;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::search::params::{ParseOptions, SearchRequest};
use crate::store::search::SearchQuery;
use crate::store::Session;

/// Up to two ids of live resources of `resource_type` matching `query`: enough to
/// tell none, one and several apart.
/// Who wrote conditional criteria: a client (any shape) or the server's own maps (a
/// few shapes run again and again, whose statements are worth keeping prepared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CriteriaAuthor {
    Client,
    Server,
}

pub async fn matching_ids(
    session: &mut Session,
    resource_type: ResourceType,
    query: &str,
    base_url: &str,
    author: CriteriaAuthor,
) -> Result<Vec<String>, FhirError> {
    ids_matching(session, resource_type, query, base_url, 2, author).await
}

/// The ids of every live resource matching `query`, up to `limit` (callers that
/// change them all, like a patient merge, bound the work of one message).
pub async fn all_matching_ids(
    session: &mut Session,
    resource_type: ResourceType,
    query: &str,
    base_url: &str,
    limit: usize,
) -> Result<Vec<String>, FhirError> {
    ids_matching(
        session,
        resource_type,
        query,
        base_url,
        limit,
        CriteriaAuthor::Server,
    )
    .await
}

async fn ids_matching(
    session: &mut Session,
    resource_type: ResourceType,
    query: &str,
    base_url: &str,
    limit: usize,
    author: CriteriaAuthor,
) -> Result<Vec<String>, FhirError> {
    let query = criteria_query(resource_type, query, base_url, limit, author)?;
    Ok(session.search(&query).await?.into_iter().map(|r| r.id).collect())
}

/// The search that conditional criteria `query` stand for, up to `limit` matches.
/// The server's own criteria come through here too when a message map looks up
/// several keys in one round trip (`Session::begin_recording`).
pub fn criteria_query(
    resource_type: ResourceType,
    query: &str,
    base_url: &str,
    limit: usize,
    author: CriteriaAuthor,
) -> Result<SearchQuery, FhirError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(name, _)| !matches!(name.as_str(), "_format" | "_pretty"))
        .collect();
    if pairs.is_empty() {
        return Err(FhirError::invalid(
            "invalid",
            "conditional request without criteria",
        ));
    }
    let options = ParseOptions {
        base_url,
        max_count: limit,
        lenient: false,
    };
    let request = SearchRequest::parse(resource_type, &pairs, options)?;
    if request.filters.is_empty() {
        return Err(FhirError::invalid(
            "invalid",
            format!("conditional criteria {query:?} select nothing: name search parameters"),
        ));
    }
    Ok(SearchQuery {
        res_type: resource_type.to_string(),
        filters: request.filters,
        sort: Vec::new(),
        cursor: None,
        limit: limit as i64,
        repeated: author == CriteriaAuthor::Server,
    })
}
