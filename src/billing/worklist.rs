//! The billers' worklist: `GET /api/billing/claims?status=denied&limit=50&before=ID`,
//! the claims billing knows of, newest first, a page at a time.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::billing::lifecycle::BillingState;
use crate::billing::paging::{next_before, page_size};
use crate::fhir::routes::FhirContext;
use crate::store::model::Tenant;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/billing/claims", web::get().to(list));
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
    before: Option<i64>,
}

async fn list(fhir: web::Data<FhirContext>, query: web::Query<ListQuery>) -> HttpResponse {
    let query = query.into_inner();
    let state = match query.status.as_deref().map(|s| (s, BillingState::parse(s))) {
        None => None,
        Some((_, Some(state))) => Some(state),
        Some((text, None)) => {
            let known: Vec<&str> = BillingState::ALL.iter().map(|s| s.as_str()).collect();
            let error = format!("unknown status {text:?}; statuses are {}", known.join(", "));
            return HttpResponse::BadRequest().json(json!({"error": error}));
        }
    };
    let limit = page_size(query.limit);
    let page = async {
        let mut session = fhir.service.session(&Tenant::default()).await?;
        session
            .list_claim_states(state.map(BillingState::as_str), query.before, limit)
            .await
            .map_err(crate::fhir::outcome::FhirError::from)
    };
    match page.await {
        Ok(rows) => {
            let next = next_before(rows.len(), limit, rows.last().map(|r| r.id));
            let claims: Vec<_> = rows
                .iter()
                .map(|row| {
                    json!({
                        "claimId": row.claim_id,
                        "number": row.patient_control_number(),
                        "status": row.state,
                        "updatedAt": crate::fhir::instant(row.updated_at),
                    })
                })
                .collect();
            HttpResponse::Ok().json(json!({"claims": claims, "nextBefore": next}))
        }
        Err(error) => HttpResponse::ServiceUnavailable().json(json!({"error": error.to_string()})),
    }
}
