//! `GET /fhir/AuditEvent` (search) and `GET /fhir/AuditEvent/{id}` (read): the
//! audit trail for auditors. The gate decides who may ask
//! ([`crate::auth::policy::check_audit_trail`]); here every query is confined to
//! the asking principal's tenant. Nothing here writes: other methods get 405 (the
//! gate already refuses them with 403 when authorization is on).
//!
//! Search parameters (all optional, repeated ones AND, comma-separated values OR):
//! `date` (`recorded`, with `eq` `ge` `gt` `le` `lt`), `agent` (client id, user or
//! HL7 sender), `entity` (a reference), `patient` (a Patient reference or id),
//! `action`, `outcome`, `type`, `subtype`, `_count`; pages go newest first and the
//! `next` link carries a `_cursor`.

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::fhir::format::ResponseFormat;
use crate::fhir::outcome::FhirError;
use crate::fhir::routes::FhirContext;
use crate::fhir::search::values::DateRange;
use crate::integrations::registry::DEFAULT_TENANT;
use crate::store::audit::{AuditFilter, RecordedBound};

/// Default page size, as for other searches.
const DEFAULT_COUNT: usize = 20;

/// Registers the AuditEvent routes; called inside the `/fhir` scope before the
/// generic `/{type}` routes, which would otherwise take these paths.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/AuditEvent")
            .route(web::get().to(search))
            .default_service(web::to(not_allowed)),
    )
    .service(
        web::resource("/AuditEvent/{id}")
            .route(web::get().to(read))
            .default_service(web::to(not_allowed)),
    )
    .service(web::resource("/AuditEvent/{id}/{rest:.*}").to(not_supported));
}

async fn not_allowed(request: HttpRequest) -> Result<HttpResponse, FhirError> {
    Err(FhirError::MethodNotAllowed {
        allow: "GET",
        message: format!(
            "{} is not supported on AuditEvent: the audit trail is recorded by the server and read-only",
            request.method()
        ),
    })
}

async fn not_supported() -> Result<HttpResponse, FhirError> {
    Err(FhirError::NotFound(
        "AuditEvent supports read and search only".into(),
    ))
}

fn tenant(request: &HttpRequest) -> String {
    request
        .extensions()
        .get::<Principal>()
        .map_or_else(|| DEFAULT_TENANT.to_owned(), |principal| principal.tenant.clone())
}

async fn read(
    request: HttpRequest,
    id: web::Path<String>,
    ctx: web::Data<FhirContext>,
) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(&request)?;
    let mut session = ctx
        .service
        .session(&crate::store::model::Tenant::default())
        .await?;
    let event = session
        .audit_event(&tenant(&request), &id)
        .await?
        .ok_or_else(|| FhirError::NotFound(format!("AuditEvent/{id} is not known")))?;
    let body = format.render(event.body)?;
    Ok(HttpResponse::Ok().content_type(format.content_type()).body(body))
}

async fn search(request: HttpRequest, ctx: web::Data<FhirContext>) -> Result<HttpResponse, FhirError> {
    let format = ResponseFormat::negotiate(&request)?;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(request.query_string().as_bytes())
        .into_owned()
        .collect();
    let query = AuditQuery::parse(&pairs, tenant(&request), ctx.search_max_count)?;
    let mut filter = query.filter.clone();
    filter.limit = query.count as i64 + 1;
    let mut session = ctx
        .service
        .session(&crate::store::model::Tenant::default())
        .await?;
    let mut events = session.search_audit_events(&filter).await?;
    let has_next = events.len() > query.count;
    events.truncate(query.count);
    let page_url = |cursor: Option<i64>| {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &query.link_params {
            serializer.append_pair(name, value);
        }
        if let Some(cursor) = cursor {
            serializer.append_pair("_cursor", &cursor.to_string());
        }
        let params = serializer.finish();
        let base = format!("{}/AuditEvent", ctx.base_url);
        if params.is_empty() {
            base
        } else {
            format!("{base}?{params}")
        }
    };
    let mut links = vec![json!({"relation": "self", "url": page_url(query.filter.before_seq)})];
    if let (true, Some(last)) = (has_next, events.last()) {
        links.push(json!({"relation": "next", "url": page_url(Some(last.seq))}));
    }
    let mut entries = Vec::with_capacity(events.len());
    for event in &events {
        let resource: Value = serde_json::from_str(&event.body)
            .map_err(|error| FhirError::Internal(format!("a stored AuditEvent is not JSON: {error}")))?;
        entries.push(json!({
            "fullUrl": format!("{}/AuditEvent/{}", ctx.base_url, event.event_id),
            "resource": resource,
            "search": {"mode": "match"},
        }));
    }
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
    });
    // Known for free when the first page holds every match.
    if query.filter.before_seq.is_none() && !has_next {
        bundle["total"] = json!(entries.len());
    }
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    let body = format.render(bundle.to_string())?;
    Ok(HttpResponse::Ok().content_type(format.content_type()).body(body))
}

/// A parsed `GET /fhir/AuditEvent` query.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AuditQuery {
    filter: AuditFilter,
    count: usize,
    /// The parameters a page link repeats (all but `_cursor`).
    link_params: Vec<(String, String)>,
}

impl AuditQuery {
    fn parse(pairs: &[(String, String)], tenant: String, max_count: usize) -> Result<AuditQuery, FhirError> {
        let mut filter = AuditFilter {
            tenant,
            ..AuditFilter::default()
        };
        let mut count = DEFAULT_COUNT.min(max_count);
        let mut link_params = Vec::new();
        for (name, value) in pairs {
            let values = || value.split(',').map(str::trim).filter(|v| !v.is_empty());
            match name.as_str() {
                "date" => filter.recorded.extend(date_bounds(value)?),
                "agent" => filter.agents.extend(values().map(token_code)),
                "entity" => filter
                    .entities
                    .push(values().map(|v| reference(v, None)).collect::<Result<_, _>>()?),
                "patient" => filter.entities.push(
                    values()
                        .map(|v| reference(v, Some("Patient")))
                        .collect::<Result<_, _>>()?,
                ),
                "action" => {
                    for action in values() {
                        if !matches!(action, "C" | "R" | "U" | "D" | "E") {
                            return Err(invalid(name, "action is one of C, R, U, D, E"));
                        }
                        filter.actions.push(action.to_owned());
                    }
                }
                "outcome" => {
                    for outcome in values() {
                        if !matches!(outcome, "0" | "4" | "8" | "12") {
                            return Err(invalid(name, "outcome is one of 0, 4, 8, 12"));
                        }
                        filter.outcomes.push(outcome.to_owned());
                    }
                }
                "subtype" => filter.subtypes.extend(values().map(token_code)),
                "type" => filter.types.extend(values().map(token_code)),
                "_count" => {
                    count = value
                        .parse::<usize>()
                        .map_err(|_| invalid(name, "_count must be a whole number"))?
                        .min(max_count);
                }
                "_cursor" => {
                    let cursor = value
                        .parse::<i64>()
                        .map_err(|_| invalid(name, "_cursor is not one this server made"))?;
                    filter.before_seq = Some(cursor);
                    continue;
                }
                "_format" | "_pretty" => {}
                other => {
                    return Err(invalid(
                        other,
                        format!(
                            "unknown AuditEvent search parameter {other:?}; supported: date, agent, entity, \
                             patient, action, outcome, type, subtype, _count"
                        ),
                    ))
                }
            }
            link_params.push((name.clone(), value.clone()));
        }
        Ok(AuditQuery {
            filter,
            count,
            link_params,
        })
    }
}

fn invalid(param: &str, message: impl Into<String>) -> FhirError {
    FhirError::invalid_at("invalid", param.to_owned(), message)
}

/// `system|code` → `code`; `code` as is.
fn token_code(value: &str) -> String {
    value.rsplit('|').next().unwrap_or(value).to_owned()
}

/// `Type/id` from `Type/id`, `Type/id/_history/v` or an absolute URL ending so; a
/// bare id when the type is implied (`patient=123`).
fn reference(value: &str, implied_type: Option<&str>) -> Result<String, FhirError> {
    let segments: Vec<&str> = value.split('/').filter(|s| !s.is_empty()).collect();
    let (kind, id) = match (segments.as_slice(), implied_type) {
        ([.., kind, id, "_history", _], _) | ([.., kind, id], _) if !id.starts_with('_') => (*kind, *id),
        ([id], Some(kind)) => (kind, *id),
        _ => {
            return Err(invalid(
                if implied_type.is_some() {
                    "patient"
                } else {
                    "entity"
                },
                format!("{value:?} is not a reference (Type/id)"),
            ))
        }
    };
    if let Some(implied) = implied_type.filter(|implied| *implied != kind) {
        return Err(invalid(
            "patient",
            format!("{value:?} is not a reference to a {implied}"),
        ));
    }
    Ok(format!("{kind}/{id}"))
}

/// `recorded` bounds of one `date` value: `eq` (or no prefix) is within the period
/// the value names; `ge`, `gt`, `le`, `lt` compare with its start or end.
fn date_bounds(value: &str) -> Result<Vec<RecordedBound>, FhirError> {
    let (prefix, text) = match value.get(..2) {
        Some(p @ ("eq" | "ge" | "gt" | "le" | "lt" | "ne" | "sa" | "eb" | "ap")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let range = DateRange::parse(text)
        .ok_or_else(|| invalid("date", format!("{text:?} is not a FHIR date or dateTime")))?;
    Ok(match prefix {
        "eq" => vec![
            RecordedBound::AtOrAfter(range.low),
            RecordedBound::AtOrBefore(range.high),
        ],
        "ge" => vec![RecordedBound::AtOrAfter(range.low)],
        "gt" => vec![RecordedBound::After(range.high)],
        "le" => vec![RecordedBound::AtOrBefore(range.high)],
        "lt" => vec![RecordedBound::Before(range.low)],
        other => {
            return Err(invalid(
                "date",
                format!("the {other} prefix is not supported on AuditEvent; use eq, ge, gt, le or lt"),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<AuditQuery, FhirError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        AuditQuery::parse(&pairs, "acme".into(), 100)
    }

    #[test]
    fn parameters_become_a_filter_of_the_tenant() {
        let query = parse(
            "date=ge2026-01-01&date=lt2026-02&agent=ehr,urn:claimbridge:user|dr-who&entity=Claim/c1\
             &patient=123&action=R,C&outcome=4&subtype=http://hl7.org/fhir/restful-interaction|read&_count=5",
        )
        .unwrap();
        let filter = &query.filter;
        assert_eq!(filter.tenant, "acme");
        assert_eq!(filter.recorded.len(), 2);
        assert!(
            matches!(filter.recorded[1], RecordedBound::Before(at) if at.to_rfc3339().starts_with("2026-02-01"))
        );
        assert_eq!(filter.agents, ["ehr", "dr-who"]);
        assert_eq!(
            filter.entities,
            [vec!["Claim/c1".to_owned()], vec!["Patient/123".to_owned()]]
        );
        assert_eq!(filter.actions, ["R", "C"]);
        assert_eq!(filter.subtypes, ["read"]);
        assert_eq!(query.count, 5);
        assert_eq!(query.link_params.len(), 9);
    }

    #[test]
    fn bad_parameters_are_refused() {
        for query in [
            "name=Chalmers",
            "action=X",
            "outcome=1",
            "date=ap2026",
            "date=yesterday",
            "patient=Claim/1",
            "entity=just-an-id",
            "_count=many",
        ] {
            assert!(parse(query).is_err(), "{query}");
        }
    }

    #[test]
    fn references_are_normalized() {
        assert_eq!(
            reference("http://x.example/fhir/Patient/1/_history/3", None).unwrap(),
            "Patient/1"
        );
        assert_eq!(reference("1", Some("Patient")).unwrap(), "Patient/1");
    }
}
