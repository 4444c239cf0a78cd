//! `POST /v1/coverages` (form data) answered 202 with a `Location` and a summary in
//! progress (`statusCode` `0`); `GET /v1/coverages/{id}` answers 200 with
//! `statusCode` `0` "In Progress" on the first poll and the complete `Coverage`
//! (`statusCode` `4`) after — the Swagger declares no 202 for that GET, so only the
//! body tells pending from done.
//!
//! Members are synthetic and the answer depends on the member id: `NOTFOUND…` has
//! no plan, `INACTIVE…` an inactive one, `RETRYING…` never completes (statusCode
//! `1`: Availity retrying a payer that timed out), `PAYERDOWN…` ends in a
//! communication error (`E`), anything else an active PPO with a copay,
//! coinsurance and a deductible in and out of network. Its payers need the patient's
//! birth date: a request without it completes with `statusCode` `R` and
//! `validationMessages`. An unknown payer or
//! the `reject` fault is a 400 envelope.

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use claimbridge_simulator_kit::Faults;
use serde_json::{json, Value};

use super::http::{authorize, envelope, field_error, first, form};
use super::payers::{is_known, name_of};
use super::state::SimulatorState;

pub async fn create(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<SimulatorState>,
    faults: web::Data<Faults>,
) -> HttpResponse {
    if let Err(refusal) = authorize(&request, &state) {
        return *refusal;
    }
    let fields = match form(&request, &body) {
        Ok(fields) => fields,
        Err(refusal) => return *refusal,
    };
    if faults.take_reject() {
        return envelope(
            StatusCode::BAD_REQUEST,
            "Invalid request.",
            vec![field_error(
                "memberId",
                "INVALID",
                "Member ID is not valid for this payer",
            )],
        );
    }
    let payer_id = first(&fields, "payerId").unwrap_or("");
    if !is_known(payer_id) {
        return envelope(
            StatusCode::BAD_REQUEST,
            "Invalid request.",
            vec![field_error(
                "payerId",
                "PAYER_NOT_SUPPORTED",
                "Payer is not supported for this transaction",
            )],
        );
    }
    let id = state.next_id();
    let summary = json!({
        "id": id,
        "controlNumber": &id[id.len() - 9..],
        "status": "In Progress",
        "statusCode": "0",
        "payer": {"payerId": payer_id, "name": name_of(payer_id)},
        "createdDate": chrono::Utc::now().to_rfc3339(),
    });
    state.store(&id, summary.clone(), complete(&id, payer_id, &fields));
    let location = format!("/v1/coverages/{id}");
    HttpResponse::Accepted()
        .insert_header((LOCATION, location))
        .insert_header((
            "X-Status-Message",
            "Request accepted; poll the Location for the result",
        ))
        .json(summary)
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
        // The Swagger declares only 200 for this GET: progress is in `statusCode`.
        Some((_, body)) => HttpResponse::Ok().json(body),
        None => envelope(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist.",
            vec![],
        ),
    }
}

fn complete(id: &str, payer_id: &str, fields: &[(String, String)]) -> Value {
    let member_id = first(fields, "memberId").unwrap_or("");
    let mut coverage = json!({
        "id": id,
        "controlNumber": &id[id.len() - 9..],
        "status": "Complete",
        "statusCode": "4",
        "payer": {"payerId": payer_id, "name": name_of(payer_id)},
        "subscriber": {"memberId": member_id},
        "patient": {
            "firstName": first(fields, "patientFirstName"),
            "lastName": first(fields, "patientLastName"),
            "birthDate": first(fields, "patientBirthDate"),
            "subscriberRelationship": first(fields, "subscriberRelationship"),
        },
        "requestedServiceType": fields.iter()
            .filter(|(key, _)| key == "serviceType")
            .map(|(_, value)| json!({"code": value}))
            .collect::<Vec<_>>(),
        "plans": [],
        "validationMessages": [],
    });
    if first(fields, "patientBirthDate").is_none() {
        coverage["status"] = "Request Error".into();
        coverage["statusCode"] = "R".into();
        coverage["validationMessages"] = json!([
            {"field": "patientBirthDate", "code": "REQUIRED", "errorMessage": "Patient birth date is required for this payer"}
        ]);
    } else if member_id.starts_with("RETRYING") {
        // The payer timed out and Availity keeps retrying: never complete.
        coverage["status"] = "Retrying".into();
        coverage["statusCode"] = "1".into();
    } else if member_id.starts_with("PAYERDOWN") {
        coverage["status"] = "Communication Error".into();
        coverage["statusCode"] = "E".into();
        coverage["validationMessages"] = json!([
            {"code": "42", "errorMessage": "Unable to respond at current time"}
        ]);
    } else if member_id.starts_with("INACTIVE") {
        coverage["plans"] = json!([plan("6", "Inactive", vec![])]);
    } else if !member_id.starts_with("NOTFOUND") {
        coverage["plans"] = json!([plan("1", "Active Coverage", benefits())]);
    }
    coverage
}

fn plan(status_code: &str, status: &str, benefits: Vec<Value>) -> Value {
    json!({
        "status": status,
        "statusCode": status_code,
        "groupNumber": "GRP-SYN-01",
        "groupName": "SYNTHETIC PPO PLAN",
        "insuranceType": "Preferred Provider Organization (PPO)",
        "insuranceTypeCode": "PR",
        "planName": "SYNTHETIC PPO",
        "coverageStartDate": "2026-01-01T00:00:00.000+0000",
        "benefits": benefits,
    })
}

fn benefits() -> Vec<Value> {
    vec![
        json!({
            "name": "Professional (Physician) Visit - Office",
            "type": "98",
            "status": "Active Coverage",
            "statusCode": "1",
            "amounts": {
                "coPayment": {
                    "inNetwork": [{"amount": "25.00", "level": "Individual", "levelCode": "IND"}],
                    "outOfNetwork": [{"amount": "60.00", "level": "Individual", "levelCode": "IND"}],
                },
                "coInsurance": {
                    "outOfNetwork": [{"amount": "40", "units": "Percent", "level": "Individual", "levelCode": "IND"}],
                },
            },
        }),
        json!({
            "name": "Health Benefit Plan Coverage",
            "type": "30",
            "status": "Active Coverage",
            "statusCode": "1",
            "amounts": {
                "deductibles": {
                    "inNetwork": [{
                        "level": "Individual", "levelCode": "IND",
                        "total": "1500.00", "totalTimePeriod": "Calendar Year", "totalTimePeriodCode": "23",
                        "remaining": "900.00", "remainingTimePeriod": "Remaining", "remainingTimePeriodCode": "29",
                    }],
                    "notApplicableNetwork": [{
                        "level": "Family", "levelCode": "FAM",
                        "total": "3000.00", "totalTimePeriod": "Calendar Year", "totalTimePeriodCode": "23",
                    }],
                },
                "outOfPocket": {
                    "noNetwork": [{
                        "level": "Individual", "levelCode": "IND",
                        "total": "6000.00", "totalTimePeriod": "Calendar Year", "totalTimePeriodCode": "23",
                    }],
                },
            },
        }),
    ]
}
