//! `GET /api/billing/dashboard/kpis?from=YYYY-MM-DD&to=YYYY-MM-DD`: the dashboard's
//! figures for a period (defined in `billing::dashboard`). Money is text with two
//! decimals (`"1234.50"`), rates and days exact decimal numbers.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::billing::dashboard::kpis;
use crate::billing::period::Period;
use crate::billing::remittance::money::{from_cents, json_amount};
use crate::billing::routes::billing_status;
use crate::fhir::routes::FhirContext;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/billing/dashboard/kpis", web::get().to(show));
}

#[derive(Deserialize)]
struct KpiRequest {
    from: Option<String>,
    to: Option<String>,
}

async fn show(fhir: web::Data<FhirContext>, query: web::Query<KpiRequest>) -> HttpResponse {
    let period = match Period::parse(query.from.as_deref(), query.to.as_deref()) {
        Ok(period) => period,
        Err(error) => return bad_request(error.to_string()),
    };
    let (Some(from), Some(to), Some(start), Some(end)) =
        (period.from, period.to, period.start(), period.end())
    else {
        return bad_request("from and to are both required (YYYY-MM-DD, UTC days, both included)".into());
    };
    match kpis(&fhir.service, start, end).await {
        Ok(kpis) => {
            let by_status: Map<String, Value> = kpis
                .claims_by_status
                .into_iter()
                .map(|(state, count)| (state, json!(count)))
                .collect();
            HttpResponse::Ok().json(json!({
                "from": from,
                "to": to,
                "billed": json_amount(from_cents(kpis.billed_cents)),
                "collected": json_amount(from_cents(kpis.collected_cents)),
                "collectionRate": kpis.collection_rate.map(json_amount),
                "denialRate": kpis.denial_rate.map(json_amount),
                "averageDaysToPay": kpis.average_days_to_pay.map(json_amount),
                "claimsByStatus": by_status,
            }))
        }
        Err(error) => HttpResponse::build(billing_status(&error)).json(json!({"error": error.to_string()})),
    }
}

fn bad_request(error: String) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": error}))
}
