//! `POST /v2/service-reviews` (JSON `ServiceReview`) answered 202 with a
//! `Location`; `GET /v2/service-reviews/{id}` answers 202 with `X-Status-Message`
//! on the first poll, then 200 with the review and its decision in `statusCode`
//! (X12 278 HCR01).
//!
//! The decision follows the member id: `PEND…` stays `A4` (pended) until a test,
//! playing the payer's reviewer, decides it with
//! `PUT /__simulator/service-reviews/{id}` `{"statusCode": "A1"|"A3"}`; `DENY…` is
//! `A3`; `NOAUTH…` is `NA` (no authorization needed); anything else `A1` with a
//! certification number and 90 days from the first date of service. A review
//! without the payer id, the requesting provider's NPI, the member id, the
//! patient's birth date or a procedure is a 400 naming the fields; so is an
//! unknown payer, or the `reject` fault.

use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDate};
use claimbridge_simulator_kit::Faults;
use serde_json::{json, Value};

use super::http::{authorize, envelope, field_error};
use super::payers::{is_known, name_of};
use super::state::SimulatorState;

/// How long a simulated certification lasts.
const CERTIFIED_DAYS: i64 = 90;

pub async fn create(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<SimulatorState>,
    faults: web::Data<Faults>,
) -> HttpResponse {
    if let Err(refusal) = authorize(&request, &state) {
        return *refusal;
    }
    let is_json = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let review: Value = match serde_json::from_slice(&body) {
        Ok(review) if is_json => review,
        _ => {
            return envelope(
                StatusCode::BAD_REQUEST,
                "The request body is not a service review.",
                vec![],
            )
        }
    };
    if faults.take_reject() {
        return envelope(
            StatusCode::BAD_REQUEST,
            "Invalid request.",
            vec![field_error(
                "subscriber.memberId",
                "INVALID",
                "Member ID is not valid for this payer",
            )],
        );
    }
    let problems = problems(&review);
    if !problems.is_empty() {
        return envelope(StatusCode::BAD_REQUEST, "Invalid request.", problems);
    }
    let id = state.next_id();
    let decided = decided(&id, review);
    state.store(&id, json!({"id": id, "status": "In Progress"}), decided);
    HttpResponse::Accepted()
        .insert_header((LOCATION, format!("/v2/service-reviews/{id}")))
        .insert_header((
            "X-Status-Message",
            "Request accepted; poll the Location for the result",
        ))
        .finish()
}

pub async fn read(
    request: HttpRequest,
    id: web::Path<String>,
    state: web::Data<SimulatorState>,
) -> HttpResponse {
    if let Err(refusal) = authorize(&request, &state) {
        return *refusal;
    }
    match state.poll(&id) {
        Some((false, _)) => HttpResponse::Accepted()
            .insert_header(("X-Status-Message", "In Progress"))
            .finish(),
        Some((true, review)) => HttpResponse::Ok().json(review),
        None => envelope(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist.",
            vec![],
        ),
    }
}

/// `PUT /__simulator/service-reviews/{id}` `{"statusCode"}`: the payer's reviewer
/// decides a pended review.
pub async fn decide(
    id: web::Path<String>,
    body: web::Json<Value>,
    state: web::Data<SimulatorState>,
) -> HttpResponse {
    let Some(code) = body.get("statusCode").and_then(Value::as_str) else {
        return HttpResponse::BadRequest().body("statusCode is required");
    };
    let code = code.to_owned();
    let changed = state.update_complete(&id, |review| {
        let from = review["fromDate"].as_str().unwrap_or_default().to_owned();
        apply(review, &code, &from, id.as_str());
    });
    if changed {
        HttpResponse::NoContent().finish()
    } else {
        HttpResponse::NotFound().body("no such service review")
    }
}

fn problems(review: &Value) -> Vec<Value> {
    let text = |pointer: &str| {
        review
            .pointer(pointer)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    };
    let mut problems = Vec::new();
    for (pointer, field) in [
        ("/payer/id", "payer.id"),
        ("/requestingProvider/npi", "requestingProvider.npi"),
        ("/subscriber/memberId", "subscriber.memberId"),
        ("/patient/birthDate", "patient.birthDate"),
        ("/fromDate", "fromDate"),
    ] {
        if text(pointer).is_none() {
            problems.push(field_error(field, "REQUIRED", "This field is required"));
        }
    }
    if let Some(payer) = text("/payer/id").filter(|payer| !is_known(payer)) {
        problems.push(field_error(
            "payer.id",
            "PAYER_NOT_SUPPORTED",
            &format!("Payer {payer} is not supported for this transaction"),
        ));
    }
    if text("/requestingProvider/npi")
        .is_some_and(|npi| npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()))
    {
        problems.push(field_error(
            "requestingProvider.npi",
            "INVALID",
            "NPI must be 10 digits",
        ));
    }
    let procedures = review["procedures"].as_array().map_or(0, Vec::len);
    if procedures == 0 {
        problems.push(field_error(
            "procedures",
            "REQUIRED",
            "At least one procedure is required",
        ));
    }
    problems
}

/// The review as the payer will have decided it.
fn decided(id: &str, mut review: Value) -> Value {
    let member_id = review["subscriber"]["memberId"]
        .as_str()
        .unwrap_or_default()
        .to_uppercase();
    let from = review["fromDate"].as_str().unwrap_or_default().to_owned();
    let payer_id = review["payer"]["id"].as_str().unwrap_or_default().to_owned();
    review["id"] = json!(id);
    review["payer"]["name"] = json!(name_of(&payer_id));
    review["createdDate"] = json!(chrono::Utc::now().to_rfc3339());
    let code = if member_id.starts_with("PEND") {
        "A4"
    } else if member_id.starts_with("DENY") {
        "A3"
    } else if member_id.starts_with("NOAUTH") {
        "NA"
    } else {
        "A1"
    };
    apply(&mut review, code, &from, id);
    review
}

/// Sets the decision `code` on `review`, with what goes with it.
fn apply(review: &mut Value, code: &str, from: &str, id: &str) {
    let (status, reasons, notes): (&str, Vec<Value>, Vec<Value>) = match code {
        "A1" => ("Certified In Total", vec![], vec![]),
        "A3" => (
            "Not Certified",
            vec![json!({"code": "N", "value": "Not medically necessary"})],
            vec![],
        ),
        "A4" => (
            "Pended",
            vec![],
            vec![json!({"type": "Payer", "typeCode": "PAY", "message": "Clinical review required"})],
        ),
        "NA" => ("No Action Required", vec![], vec![]),
        _ => ("Contact Payer", vec![], vec![]),
    };
    review["statusCode"] = json!(code);
    review["status"] = json!(status);
    review["statusReasons"] = json!(reasons);
    review["payerNotes"] = json!(notes);
    let object = review.as_object_mut().expect("a review is an object");
    for field in [
        "certificationNumber",
        "certificationIssueDate",
        "certificationEffectiveDate",
        "certificationExpirationDate",
    ] {
        object.remove(field);
    }
    if code == "A1" {
        let start =
            NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap_or_else(|_| chrono::Utc::now().date_naive());
        review["certificationNumber"] = json!(format!("SIM-SR-{id}"));
        review["certificationIssueDate"] = json!(chrono::Utc::now().date_naive().to_string());
        review["certificationEffectiveDate"] = json!(start.to_string());
        review["certificationExpirationDate"] =
            json!((start + Duration::days(CERTIFIED_DAYS - 1)).to_string());
    }
}
