//! `POST /api/denials/analyze`: what a denial means and what to do about it. The
//! handler reads the request into a [`Denial`], calls [`analyze`](super::analyze)
//! and renders the analysis; a missing or malformed code is a 400.
//!
//! ```json
//! {"groupCode": "CO", "carc": "197", "rarc": ["N54"], "payerId": "87726",
//!  "amount": 125.00, "text": "…"}
//! ```
//! or, as denials are often written, `{"denialCode": "CO-197", …}`. Codes are read
//! regardless of case.

use std::str::FromStr;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Number, Value};

use super::{
    group_meaning, parse_denial_code, parse_group, Action, Carc, Category, CodeError, Denial, DenialAnalysis,
    Playbook, Rarc,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/denials/analyze")
            // A body that is not JSON of the right shape gets the same kind of answer
            // as a bad code, rather than actix's plain-text one.
            .app_data(
                web::JsonConfig::default().error_handler(|error, _| BadRequest(error.to_string()).into()),
            )
            .route(web::post().to(analyze)),
    );
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadRequest(String);

impl From<CodeError> for BadRequest {
    fn from(error: CodeError) -> Self {
        BadRequest(error.to_string())
    }
}

impl ResponseError for BadRequest {
    fn status_code(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::BadRequest().json(json!({"error": self.0}))
    }
}

/// Either `groupCode` and `carc`, or `denialCode`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnalyzeRequest {
    group_code: Option<String>,
    carc: Option<String>,
    denial_code: Option<String>,
    #[serde(default)]
    rarc: Vec<String>,
    payer_id: Option<String>,
    amount: Option<Number>,
    text: Option<String>,
}

impl AnalyzeRequest {
    fn into_denial(self) -> Result<Denial, BadRequest> {
        let (group, carc) = match (self.denial_code, self.group_code, self.carc) {
            (Some(code), None, None) => parse_denial_code(&normalize(&code))?,
            (None, Some(group), Some(carc)) => {
                (parse_group(&normalize(&group))?, Carc::parse(&normalize(&carc))?)
            }
            (Some(_), _, _) => {
                return Err(BadRequest(
                    "give either denialCode (\"CO-197\") or groupCode and carc, not both".into(),
                ))
            }
            (None, None, _) => return Err(BadRequest("groupCode is required (CO, PR, OA, PI or CR)".into())),
            (None, Some(_), None) => return Err(BadRequest("carc is required".into())),
        };
        let rarcs = self
            .rarc
            .iter()
            .map(|code| Rarc::parse(&normalize(code)))
            .collect::<Result<Vec<_>, _>>()?;
        let amount = self
            .amount
            .map(|number| {
                Decimal::from_str(&number.to_string())
                    .map_err(|_| BadRequest(format!("amount {number} is not a plain decimal number")))
            })
            .transpose()?;
        let payer_id = self
            .payer_id
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty());
        Ok(Denial {
            group,
            carc,
            rarcs,
            payer_id,
            amount,
            text: self.text,
        })
    }
}

fn normalize(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

async fn analyze(request: web::Json<AnalyzeRequest>) -> Result<HttpResponse, BadRequest> {
    let denial = request.into_inner().into_denial()?;
    Ok(HttpResponse::Ok().json(analysis_json(&super::analyze(&denial))))
}

fn analysis_json(analysis: &DenialAnalysis<'_>) -> Value {
    let remarks: Vec<Value> = analysis
        .remarks
        .iter()
        .map(|remark| {
            json!({
                "code": remark.code.as_str(),
                "known": remark.known,
                "description": remark.description,
            })
        })
        .collect();
    json!({
        "groupCode": analysis.group.code(),
        "groupDescription": group_meaning(analysis.group),
        "carc": analysis.carc.as_str(),
        "knownCode": analysis.known_code,
        "reasonDescription": analysis.reason_description,
        "category": analysis.category.map(Category::as_str),
        "appealable": analysis.appealable,
        "appealLikelihood": analysis.appeal_likelihood.map(|likelihood| likelihood.as_str()),
        "rootCauses": analysis.root_causes,
        "recommendedActions": analysis.recommended_actions,
        "preventiveMeasures": analysis.preventive_measures,
        "remarks": remarks,
        "playbook": analysis.playbook.map(playbook_json),
        // Exact, as given: serde_json keeps numbers as written here.
        "amount": analysis.amount.and_then(|amount| Number::from_str(&amount.to_string()).ok()),
    })
}

fn playbook_json(playbook: &Playbook) -> Value {
    let mut body = json!({
        "id": playbook.id,
        "description": playbook.description,
        "priority": playbook.priority,
        "action": playbook.action.kind(),
        "maxAttempts": playbook.max_attempts,
    });
    match &playbook.action {
        Action::AutoResubmit { fix } => body["fixInstructions"] = json!(fix),
        Action::ManualReview { queue } => body["queue"] = json!(queue),
        Action::Notify { recipient } => body["recipient"] = json!(recipient),
    }
    body
}
