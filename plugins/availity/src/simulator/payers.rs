//! `GET /v1/availity-payer-list`: a few synthetic payers with their processing
//! routes, paged with `offset` and `limit` (1–50) as Availity pages its lists.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{authorize, envelope, field_error};
use super::state::SimulatorState;

/// `(payerId, name, transaction types routed through Availity)`.
pub const PAYERS: [(&str, &str, &[&str]); 4] = [
    ("SIM001", "Simulated Health Plan", &["270", "276", "837P", "835"]),
    ("SIM002", "Synthetic Mutual Insurance", &["270", "837P"]),
    ("SIM003", "Example State Medicaid", &["270", "276"]),
    ("SIM004", "Placeholder Dental Benefits", &["837D"]),
];

pub fn is_known(payer_id: &str) -> bool {
    PAYERS.iter().any(|(id, _, _)| *id == payer_id)
}

pub fn name_of(payer_id: &str) -> &'static str {
    PAYERS
        .iter()
        .find(|(id, _, _)| *id == payer_id)
        .map_or("Unknown Payer", |(_, name, _)| name)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    payer_id: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
}

pub async fn list(
    request: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<SimulatorState>,
) -> HttpResponse {
    if let Err(refusal) = authorize(&request, &state) {
        return *refusal;
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=50).contains(&limit) {
        return envelope(
            StatusCode::BAD_REQUEST,
            "Invalid request.",
            vec![field_error("limit", "RANGE", "limit must be between 1 and 50")],
        );
    }
    let matching: Vec<Value> = PAYERS
        .iter()
        .filter(|(id, _, _)| query.payer_id.as_deref().is_none_or(|wanted| wanted == *id))
        .map(|(id, name, routes)| {
            json!({
                "payerId": id,
                "name": name,
                "displayName": name,
                "shortName": id,
                "processingRoutes": routes.iter().map(|transaction| json!({
                    "transactionType": transaction,
                    "submissionMode": if transaction.starts_with("837") { "Batch" } else { "API" },
                    "availability": "available",
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let offset = query.offset.unwrap_or(0);
    let page: Vec<Value> = matching.iter().skip(offset).take(limit).cloned().collect();
    HttpResponse::Ok().json(json!({
        "payers": page,
        "offset": offset,
        "limit": limit,
        "count": page.len(),
        "totalCount": matching.len(),
        "links": {"self": {"href": request.uri().to_string()}, "next": null, "prev": null},
    }))
}
