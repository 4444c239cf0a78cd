//! `GET /api/billing/dashboard/kpis?from=YYYY-MM-DD&to=YYYY-MM-DD`: the dashboard's
//! figures for a period (defined in `billing::dashboard`); and
//! `GET /api/billing/dashboard/charts?from=…&to=…`: what its charts draw besides
//! the claims by status — the top denial reasons of the period and the 30 days'
//! trend of billed and collected ending on `to`. Money is an exact decimal number
//! with two decimals (`1234.50`), rates and days exact decimal numbers.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use chrono::{DateTime, NaiveDate, Utc};

use crate::billing::dashboard::{kpis, top_denial_reasons, trend, TOP_REASONS};
use crate::billing::period::Period;
use crate::billing::remittance::money::{from_cents, json_amount};
use crate::billing::routes::billing_status;
use crate::fhir::routes::FhirContext;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/billing/dashboard/kpis", web::get().to(show))
        .route("/api/billing/dashboard/charts", web::get().to(charts));
}

#[derive(Deserialize)]
struct KpiRequest {
    from: Option<String>,
    to: Option<String>,
}

/// `(from, to, start, end)` of a request's period, both ends required.
type Bounds = (NaiveDate, NaiveDate, DateTime<Utc>, DateTime<Utc>);

fn bounds(query: &KpiRequest) -> Result<Bounds, String> {
    let period =
        Period::parse(query.from.as_deref(), query.to.as_deref()).map_err(|error| error.to_string())?;
    match (period.from, period.to, period.start(), period.end()) {
        (Some(from), Some(to), Some(start), Some(end)) => Ok((from, to, start, end)),
        _ => Err("from and to are both required (YYYY-MM-DD, UTC days, both included)".into()),
    }
}

async fn charts(fhir: web::Data<FhirContext>, query: web::Query<KpiRequest>) -> HttpResponse {
    let (from, to, start, end) = match bounds(&query) {
        Ok(bounds) => bounds,
        Err(why) => return bad_request(why),
    };
    let drawn = async {
        let reasons = top_denial_reasons(&fhir.service, start, end, TOP_REASONS).await?;
        let days = trend(&fhir.service, to).await?;
        Ok::<_, crate::billing::service::BillingError>((reasons, days))
    };
    match drawn.await {
        Ok((reasons, days)) => HttpResponse::Ok().json(json!({
            "from": from,
            "to": to,
            "denialReasons": reasons.iter().map(|reason| json!({
                "code": reason.code,
                "description": reason.description,
                "count": reason.count,
            })).collect::<Vec<_>>(),
            "trend": days.iter().map(|day| json!({
                "day": day.start.date_naive(),
                "billed": json_amount(from_cents(day.billed_cents)),
                "collected": json_amount(from_cents(day.collected_cents)),
            })).collect::<Vec<_>>(),
        })),
        Err(error) => HttpResponse::build(billing_status(&error)).json(json!({"error": error.to_string()})),
    }
}

async fn show(fhir: web::Data<FhirContext>, query: web::Query<KpiRequest>) -> HttpResponse {
    let (from, to, start, end) = match bounds(&query) {
        Ok(bounds) => bounds,
        Err(why) => return bad_request(why),
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
