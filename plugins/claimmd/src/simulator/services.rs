//! The HTTP face of the simulated Claim.MD: one handler for `POST /services/<name>/`
//! (with or without the trailing slash, as clients send both), checking the
//! AccountKey the way Claim.MD does — an `error` element in a 200 — and the
//! inspection routes under `/__simulator/`.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{self, Bytes, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDate;
use claimbridge_simulator_kit::Faults;
use serde::Deserialize;
use serde_json::{json, Value};

use super::answer::{error, respond, wants_json};
use super::books::{codes, Books};
use super::form::{self, Submitted};
use super::payers;

/// What every worker of the simulator shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub books: Books,
    pub faults: Faults,
    pub account_key: String,
}

pub(crate) fn configure(config: &mut ServiceConfig, shared: Shared) {
    config
        .app_data(web::Data::new(shared))
        .route("/services/{service}/", web::post().to(service))
        .route("/services/{service}", web::post().to(service))
        .route("/__simulator/claims", web::get().to(claims))
        .route("/__simulator/vendor-error", web::put().to(script_vendor_error))
        .route("/__simulator/listing-lag", web::put().to(lag_listing));
}

async fn service(
    request: HttpRequest,
    name: web::Path<String>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let json = wants_json(&request);
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let submitted = match form::read(content_type, request.query_string(), &body) {
        Ok(submitted) => submitted,
        Err(why) => return respond(json, &error(codes::BAD_REQUEST, &why)),
    };
    if let Some(scripted) = shared.books.take_scripted_error() {
        return respond(json, &scripted);
    }
    if submitted.field("AccountKey") != Some(shared.account_key.as_str()) {
        return respond(json, &error(codes::ACCOUNT_KEY, "Invalid AccountKey"));
    }
    let result = match name.as_str() {
        "upload" => upload(&shared, &submitted),
        "uploadlist" => upload_list(&shared.books, &submitted),
        "response" => responses(&shared.books, &submitted),
        "eralist" => era_list(&shared.books, &submitted),
        "era835" => era_835(&shared.books, &submitted),
        "elig" => eligibility(&shared, &submitted),
        "payerlist" => payers::list(submitted.field("payerid"), submitted.field("payer_name")),
        _ => return HttpResponse::NotFound().body("no such service"),
    };
    respond(json, &result)
}

fn upload(shared: &Shared, submitted: &Submitted) -> Value {
    let Some(file) = &submitted.file else {
        return error(
            codes::NO_FILE,
            "No file was uploaded (the File field is required)",
        );
    };
    if shared.faults.take_reject() {
        return error(
            codes::REJECTED_FILE,
            "The file was rejected: it failed Claim.MD's file-level validation",
        );
    }
    let file_name = submitted
        .field("Filename")
        .map(str::to_owned)
        .or_else(|| file.file_name.clone())
        .unwrap_or_else(|| "upload.837".to_owned());
    shared.books.upload(&file_name, &file.contents)
}

fn eligibility(shared: &Shared, submitted: &Submitted) -> Value {
    let Some(file) = &submitted.file else {
        return error(
            codes::NO_FILE,
            "No file was uploaded (the File field is required)",
        );
    };
    if shared.faults.take_reject() {
        return error(
            codes::REJECTED_FILE,
            "The eligibility request was rejected by the payer",
        );
    }
    shared.books.eligibility(&file.contents)
}

fn upload_list(books: &Books, submitted: &Submitted) -> Value {
    let page = number(submitted, "Page").unwrap_or(1).max(1) as usize;
    let on = match submitted.field("UploadDate") {
        None => None,
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(day) => Some(day),
            Err(_) => return error(codes::BAD_REQUEST, "UploadDate must be yyyy-mm-dd"),
        },
    };
    books.upload_list(page, on)
}

fn responses(books: &Books, submitted: &Submitted) -> Value {
    let Some(after) = number(submitted, "ResponseID") else {
        return error(
            codes::BAD_REQUEST,
            "ResponseID is required (0 for the first request)",
        );
    };
    books.responses_after(after, submitted.field("ClaimID"))
}

fn era_list(books: &Books, submitted: &Submitted) -> Value {
    let after = number(submitted, "ERAID").unwrap_or(0);
    let new_only = submitted.field("NewOnly") != Some("0");
    let page = number(submitted, "Page").unwrap_or(1).max(1) as usize;
    books.era_list(after, new_only, page)
}

fn era_835(books: &Books, submitted: &Submitted) -> Value {
    match number(submitted, "eraid") {
        Some(eraid) => books.era_835(eraid),
        None => error(codes::BAD_REQUEST, "eraid is required"),
    }
}

fn number(submitted: &Submitted, name: &str) -> Option<u64> {
    submitted.field(name)?.parse().ok()
}

async fn claims(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.books.claims_received())
}

/// `PUT /__simulator/vendor-error`: the next `times` (default 1) service requests
/// are answered with this Claim.MD error, in a 200.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScriptedError {
    error_code: String,
    error_mesg: String,
    times: Option<u32>,
}

async fn script_vendor_error(shared: web::Data<Shared>, scripted: web::Json<ScriptedError>) -> HttpResponse {
    shared.books.script_error(
        json!({"error": [{"error_code": scripted.error_code, "error_mesg": scripted.error_mesg}]}),
        scripted.times.unwrap_or(1),
    );
    HttpResponse::NoContent().finish()
}

/// `PUT /__simulator/listing-lag` `{"times"}`: the next `times` `uploadlist`
/// answers list no file (0 ends it).
#[derive(Deserialize)]
struct ListingLag {
    times: u32,
}

async fn lag_listing(shared: web::Data<Shared>, lag: web::Json<ListingLag>) -> HttpResponse {
    shared.books.lag_listing(lag.times);
    HttpResponse::NoContent().finish()
}
