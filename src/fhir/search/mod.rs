//! FHIR search: parameter definitions (`definitions`), what a resource is indexed
//! under (`extract`), request parsing (`params`), paging cursors (`cursor`),
//! subsetting (`summary`), and here the execution of a parsed request into a
//! searchset Bundle with its includes and paging links.

pub mod cursor;
pub mod definitions;
pub mod extract;
pub mod params;
pub mod summary;
pub mod values;

use std::collections::HashSet;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::fhir::outcome::{operation_outcome, FhirError};
use crate::fhir::resource_type::ResourceType;
use crate::store::model::FoundResource;
use crate::store::search::SearchQuery;
use crate::store::Session;
use params::{Include, SearchRequest, Summary, TotalMode};
use summary::Subset;

/// The live resources of `resource_type` matching `query` (search parameters and
/// `_sort`, as in a search URL), at most `limit`, in the query's order: for the
/// server's own APIs built on FHIR search.
pub async fn find(
    session: &mut Session,
    resource_type: ResourceType,
    query: &str,
    base_url: &str,
    limit: usize,
) -> Result<Vec<FoundResource>, FhirError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let options = params::ParseOptions {
        base_url,
        max_count: limit,
        lenient: false,
    };
    let request = SearchRequest::parse(resource_type, &pairs, options)?;
    let query = SearchQuery {
        res_type: resource_type.to_string(),
        filters: request.filters,
        sort: request.sort,
        cursor: None,
        limit: limit as i64,
        // Written by the server, run again and again: worth keeping prepared.
        repeated: true,
    };
    Ok(session.search(&query).await?)
}

/// Runs `request` and renders the searchset Bundle. `self_url` is the search's URL
/// without query, e.g. `http://host/fhir/Claim`.
pub async fn search_bundle(
    session: &mut Session,
    request: &SearchRequest,
    base_url: &str,
    self_url: &str,
) -> Result<String, FhirError> {
    let mut returned = Vec::new();
    search_bundle_noting(session, request, base_url, self_url, &mut returned).await
}

/// `search_bundle`, also noting in `returned` the resources the page holds
/// (`Type/id`, matches then includes) for the audit trail.
pub async fn search_bundle_noting(
    session: &mut Session,
    request: &SearchRequest,
    base_url: &str,
    self_url: &str,
    returned: &mut Vec<String>,
) -> Result<String, FhirError> {
    let query = SearchQuery {
        res_type: request.resource_type.to_string(),
        filters: request.filters.clone(),
        sort: request.sort.clone(),
        cursor: request.cursor.clone(),
        limit: request.count as i64 + 1,
        repeated: false,
    };
    let link_to = |cursor: Option<String>| {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &request.link_params {
            serializer.append_pair(name, value);
        }
        if let Some(cursor) = cursor {
            serializer.append_pair("_cursor", &cursor);
        }
        let query = serializer.finish();
        if query.is_empty() {
            self_url.to_owned()
        } else {
            format!("{self_url}?{query}")
        }
    };
    let mut links = vec![Link {
        relation: "self",
        url: link_to(request.cursor.as_ref().map(cursor::encode)),
    }];

    if request.summary == Summary::Count || request.count == 0 {
        let total = session.count(&query).await?;
        return render(Bundle::new(Some(total), links, Vec::new()));
    }

    let mut rows = session.search(&query).await?;
    let more_in_this_direction = rows.len() > request.count;
    rows.truncate(request.count);
    let backwards = request.cursor.as_ref().is_some_and(|c| c.before);
    if backwards {
        rows.reverse();
    }
    let cursor_at = |row: &FoundResource, before: bool| {
        cursor::encode(&cursor::at_row(
            request.resource_type,
            &request.sort,
            row,
            before,
            base_url,
        ))
    };
    let has_next = if backwards { true } else { more_in_this_direction };
    let has_previous = if backwards {
        more_in_this_direction
    } else {
        request.cursor.is_some()
    };
    if let (true, Some(last)) = (has_next, rows.last()) {
        links.push(Link {
            relation: "next",
            url: link_to(Some(cursor_at(last, false))),
        });
    }
    if let (true, Some(first)) = (has_previous, rows.first()) {
        links.push(Link {
            relation: "previous",
            url: link_to(Some(cursor_at(first, true))),
        });
    }

    let total = match request.total {
        TotalMode::None => None,
        TotalMode::Estimate | TotalMode::Accurate => Some(session.count(&query).await?),
        // Known for free when the first page holds every match.
        TotalMode::Default if request.cursor.is_none() && !more_in_this_direction => Some(rows.len() as i64),
        TotalMode::Default => None,
    };

    let included = included_resources(session, request, &rows).await?;
    returned.extend(
        rows.iter()
            .chain(&included)
            .map(|row| format!("{}/{}", row.res_type, row.id)),
    );
    let subset = Subset::new(request.summary, request.elements.as_deref());
    let mut entries = Vec::with_capacity(rows.len() + included.len() + 1);
    for (row, mode) in rows
        .iter()
        .map(|r| (r, "match"))
        .chain(included.iter().map(|r| (r, "include")))
    {
        entries.push(entry(base_url, row, mode, &subset)?);
    }
    if !request.ignored.is_empty() {
        entries.push(Entry {
            full_url: None,
            resource: ResourceJson::Owned(operation_outcome(&request.ignored).to_string()),
            search: SearchMode { mode: "outcome" },
        });
    }
    render(Bundle::new(total, links, entries))
}

/// `_include` and `_revinclude` targets of the page's matches, then of what those
/// brought in for `:iterate` ones (one level), without duplicates or matches.
async fn included_resources(
    session: &mut Session,
    request: &SearchRequest,
    matches: &[FoundResource],
) -> Result<Vec<FoundResource>, FhirError> {
    let mut seen: HashSet<(String, String)> = matches
        .iter()
        .map(|r| (r.res_type.clone(), r.id.clone()))
        .collect();
    let mut included = Vec::new();
    let first_round = fetch_includes(session, request, matches, false).await?;
    for row in first_round {
        if seen.insert((row.res_type.clone(), row.id.clone())) {
            included.push(row);
        }
    }
    let iterates = request
        .includes
        .iter()
        .chain(&request.revincludes)
        .any(|i| i.iterate);
    if iterates && !included.is_empty() {
        let second_round = fetch_includes(session, request, &included, true).await?;
        for row in second_round {
            if seen.insert((row.res_type.clone(), row.id.clone())) {
                included.push(row);
            }
        }
    }
    Ok(included)
}

async fn fetch_includes(
    session: &mut Session,
    request: &SearchRequest,
    sources: &[FoundResource],
    iterate_round: bool,
) -> Result<Vec<FoundResource>, FhirError> {
    let ids_of = |resource_type: ResourceType| -> Vec<String> {
        sources
            .iter()
            .filter(|r| r.res_type == resource_type.as_str())
            .map(|r| r.id.clone())
            .collect()
    };
    let applies = |include: &Include| !iterate_round || include.iterate;
    let mut found = Vec::new();
    for include in request.includes.iter().filter(|i| applies(i)) {
        let ids = ids_of(include.source_type);
        let rows = session
            .included(
                include.source_type.as_str(),
                &ids,
                &include.param,
                include.target_type.as_deref(),
            )
            .await?;
        found.extend(rows);
    }
    for include in request.revincludes.iter().filter(|i| applies(i)) {
        // `_revinclude=ClaimResponse:request` on a Claim search: responses to the
        // page's claims; a target type narrows which sources are referred to.
        let target_types: Vec<ResourceType> = match &include.target_type {
            Some(t) => t.parse().into_iter().collect(),
            None => ResourceType::ALL.to_vec(),
        };
        for target_type in target_types {
            let ids = ids_of(target_type);
            let rows = session
                .referring(
                    include.source_type.as_str(),
                    &include.param,
                    target_type.as_str(),
                    &ids,
                )
                .await?;
            found.extend(rows);
        }
    }
    Ok(found)
}

fn entry<'a>(
    base_url: &str,
    row: &'a FoundResource,
    mode: &'static str,
    subset: &Subset,
) -> Result<Entry<'a>, FhirError> {
    let corrupt = |e: serde_json::Error| {
        FhirError::Internal(format!("stored {}/{} is not JSON: {e}", row.res_type, row.id))
    };
    let resource = match subset {
        Subset::Whole => ResourceJson::Stored(serde_json::from_str(&row.body).map_err(corrupt)?),
        _ => {
            let resource_type: ResourceType = row
                .res_type
                .parse()
                .map_err(|_| FhirError::Internal(format!("stored type {:?} is unknown", row.res_type)))?;
            ResourceJson::Owned(subset.apply(resource_type, &row.body).map_err(corrupt)?)
        }
    };
    Ok(Entry {
        full_url: Some(format!("{base_url}/{}/{}", row.res_type, row.id)),
        resource,
        search: SearchMode { mode },
    })
}

fn render(bundle: Bundle<'_>) -> Result<String, FhirError> {
    serde_json::to_string(&bundle).map_err(|e| FhirError::Internal(e.to_string()))
}

#[derive(Serialize)]
struct Bundle<'a> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    bundle_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<i64>,
    link: Vec<Link>,
    entry: Vec<Entry<'a>>,
}

impl<'a> Bundle<'a> {
    fn new(total: Option<i64>, link: Vec<Link>, entry: Vec<Entry<'a>>) -> Self {
        Bundle {
            resource_type: "Bundle",
            bundle_type: "searchset",
            total,
            link,
            entry,
        }
    }
}

#[derive(Serialize)]
struct Link {
    relation: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Entry<'a> {
    #[serde(rename = "fullUrl", skip_serializing_if = "Option::is_none")]
    full_url: Option<String>,
    resource: ResourceJson<'a>,
    search: SearchMode,
}

/// A resource embedded as stored (no re-parse) or as built for this response.
enum ResourceJson<'a> {
    Stored(&'a RawValue),
    Owned(String),
}

impl Serialize for ResourceJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ResourceJson::Stored(raw) => raw.serialize(serializer),
            ResourceJson::Owned(text) => {
                let raw: &RawValue = serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
                raw.serialize(serializer)
            }
        }
    }
}

#[derive(Serialize)]
struct SearchMode {
    mode: &'static str,
}
