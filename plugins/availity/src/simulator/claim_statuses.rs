//! `POST /v1/claim-statuses`, which is a search: Availity takes it only with
//! `X-HTTP-Method-Override: GET` and form fields with dotted names, answers 202
//! with a `Location` and a `ResultSet` of one summary (the lookup started), and
//! `GET /v1/claim-statuses/{id}` answers 202 with the lookup in progress once, then
//! 200 with the `ClaimStatus` (both declared by the Swagger). Claims are found by `patient.accountNumber`
//! (CLM01) among those received over SFTP: accepted ones are A2/20, rejected A7/21;
//! an unknown claim gets an empty `claimStatuses`.

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use claimbridge_simulator_kit::Faults;
use serde_json::{json, Value};

use super::http::{authorize, envelope, field_error, first, form};
use super::payers::{is_known, name_of};
use super::state::SimulatorState;
use crate::claim_status::METHOD_OVERRIDE;

/// The fields Availity needs to find a claim.
const REQUIRED: [&str; 4] = [
    "payer.id",
    "providers.npi",
    "subscriber.memberId",
    "patient.lastName",
];

pub async fn search(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<SimulatorState>,
    faults: web::Data<Faults>,
) -> HttpResponse {
    if let Err(refusal) = authorize(&request, &state) {
        return *refusal;
    }
    let overridden = request
        .headers()
        .get(METHOD_OVERRIDE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|method| method.eq_ignore_ascii_case("GET"));
    if !overridden {
        return envelope(
            StatusCode::METHOD_NOT_ALLOWED,
            "The method specified in the request is not allowed for the resource: send X-HTTP-Method-Override: GET.",
            vec![field_error(METHOD_OVERRIDE, "REQUIRED", "X-HTTP-Method-Override must be GET")],
        );
    }
    let fields = match form(&request, &body) {
        Ok(fields) => fields,
        Err(refusal) => return *refusal,
    };
    let missing: Vec<Value> = REQUIRED
        .iter()
        .filter(|name| first(&fields, name).is_none())
        .map(|name| field_error(name, "REQUIRED", "is required"))
        .collect();
    if !missing.is_empty() {
        return envelope(StatusCode::BAD_REQUEST, "Invalid request.", missing);
    }
    let payer_id = first(&fields, "payer.id").unwrap_or("");
    if faults.take_reject() || !is_known(payer_id) {
        return envelope(
            StatusCode::BAD_REQUEST,
            "Invalid request.",
            vec![field_error(
                "payer.id",
                "PAYER_NOT_SUPPORTED",
                "Payer is not supported for claim status",
            )],
        );
    }
    let id = state.next_id();
    let summary = json!({
        "id": id,
        "status": "In Progress",
        "statusCode": "0",
        "payer": {"id": payer_id},
        "patient": {"accountNumber": first(&fields, "patient.accountNumber")},
        "createdDate": chrono::Utc::now().to_rfc3339(),
    });
    let results: Vec<Value> = first(&fields, "patient.accountNumber")
        .and_then(|pcn| state.claim(pcn))
        .map(|claim| {
            let (category, category_text, status, status_text) = if claim.accepted {
                (
                    "A2",
                    "Acknowledgement/Acceptance into adjudication system",
                    "20",
                    "Accepted for processing",
                )
            } else {
                (
                    "A7",
                    "Acknowledgement/Rejected for Invalid Information",
                    "21",
                    "Missing or invalid information",
                )
            };
            json!({
                "claimControlNumber": format!("ICN{}", &id[id.len() - 8..]),
                "claimIdentificationNumber": format!("AV{}", &id[id.len() - 8..]),
                "patientControlNumber": claim.pcn,
                "fromDate": first(&fields, "fromDate"),
                "toDate": first(&fields, "toDate"),
                "statusDetails": [{
                    "categoryCode": category,
                    "category": category_text,
                    "statusCode": status,
                    "status": status_text,
                    "effectiveDate": claim.received_at.date_naive().to_string(),
                    "claimAmount": first(&fields, "claimAmount"),
                }],
            })
        })
        .into_iter()
        .collect();
    let complete = json!({
        "id": id,
        "status": "Complete",
        "statusCode": "4",
        "claimCount": results.len(),
        "payer": {"id": payer_id, "name": name_of(payer_id)},
        "claimStatuses": results,
    });
    state.store(&id, summary.clone(), complete);
    HttpResponse::Accepted()
        .insert_header((LOCATION, format!("/v1/claim-statuses/{id}")))
        .insert_header((
            "X-Status-Message",
            "Request accepted; poll the Location for the result",
        ))
        .json(json!({
            "claimStatuses": [summary],
            "count": 1,
            "totalCount": 1,
            "offset": 0,
            "limit": 50,
            "links": {},
        }))
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
        Some((false, summary)) => HttpResponse::Accepted().json(summary),
        Some((true, complete)) => HttpResponse::Ok().json(complete),
        None => envelope(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist.",
            vec![],
        ),
    }
}
