//! `/console/claims`: the billers' worklist — claims by billing state, filtered by
//! date, payer, state, denial category and assignee, assigned in bulk, exported as
//! CSV — and one claim's page: its scrub findings with suggestions, state history,
//! integration attempts, 837P and 835 documents, denials with their analysis and
//! playbook action, and the actions fix-and-resubmit and mark resolved.
//!
//! Everything goes through `billing::worklist` (what `/api/billing/claims…` uses)
//! and the orchestrator's attempt log.

use std::collections::HashMap;

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use super::access::{Permission, Viewer};
use super::integrations::attempt_table;
use super::layout::{self, Section};
use crate::billing::corrections::{Corrections, LineCorrection};
use crate::billing::denials::{self, Category};
use crate::billing::denied::as_denial;
use crate::billing::lifecycle::BillingState;
use crate::billing::paging::next_before;
use crate::billing::remittance::money::from_cents;
use crate::billing::routes::BillingContext;
use crate::billing::scrub::ScrubReport;
use crate::billing::service::{self, BillingError, ClaimStatus};
use crate::billing::worklist::{self, Resubmission, ResubmitError, WorklistQuery};
use crate::fhir::outcome::FhirError;
use crate::fhir::pointer::Pointer;
use crate::fhir::routes::FhirContext;
use crate::integrations::registry::DEFAULT_TENANT;
use crate::integrations::routes::IntegrationsContext;
use crate::store::attempts::AttemptFilter;
use crate::store::denials::DenialRecord;
use crate::store::worklist::WorklistRow;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/claims", web::get().to(list))
        .route("/claims/export.csv", web::get().to(export))
        .route("/claims/assign", web::post().to(assign))
        .route("/claims/{id}", web::get().to(show))
        .route("/claims/{id}/837", web::get().to(document_837))
        .route("/claims/{id}/835/{remittance}", web::get().to(document_835))
        .route("/claims/{id}/resubmit", web::post().to(resubmit))
        .route("/claims/{id}/resolve", web::post().to(resolve));
}

const PAGE: i64 = 50;
/// Attempts shown on a claim's page.
const ATTEMPTS: i64 = 25;

/// The worklist's filters as the query string carries them.
#[derive(Debug, Clone, Default, Deserialize)]
struct Filters {
    state: Option<String>,
    payer: Option<String>,
    assignee: Option<String>,
    from: Option<String>,
    to: Option<String>,
    category: Option<String>,
    before: Option<i64>,
    /// Set after a bulk assignment: how many claims it gave.
    assigned: Option<usize>,
}

impl Filters {
    fn query(&self) -> Result<WorklistQuery, worklist::FilterError> {
        WorklistQuery::parse(
            self.state.as_deref(),
            self.payer.as_deref(),
            self.assignee.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
            self.category.as_deref(),
            self.before,
            PAGE,
        )
    }

    /// The query string of these filters, with `before` when given.
    fn to_query(&self, before: Option<i64>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let given = [
            ("state", &self.state),
            ("payer", &self.payer),
            ("assignee", &self.assignee),
            ("from", &self.from),
            ("to", &self.to),
            ("category", &self.category),
        ];
        for (name, value) in given {
            if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                query.append_pair(name, value);
            }
        }
        if let Some(before) = before {
            query.append_pair("before", &before.to_string());
        }
        query.finish()
    }
}

fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn money(cents: Option<i64>) -> String {
    cents
        .map(|c| format!("${}", from_cents(c)))
        .unwrap_or_else(|| "—".into())
}

fn state_badge(state: &str) -> Markup {
    let class = match BillingState::parse(state) {
        Some(BillingState::Paid | BillingState::Accepted | BillingState::Closed) => "ok",
        Some(BillingState::Denied | BillingState::Rejected) => "bad",
        Some(BillingState::NeedsReview | BillingState::PartiallyPaid | BillingState::Appealed) => "warn",
        _ => "neutral",
    };
    html! { span class={ "badge " (class) } { (state.replace('_', " ")) } }
}

fn unavailable(viewer: &Viewer, error: &dyn std::fmt::Display) -> HttpResponse {
    layout::server_error(Some(viewer), "working claims", error)
}

fn bad_filter(viewer: &Viewer, error: &worklist::FilterError) -> HttpResponse {
    layout::message(
        Some(viewer),
        StatusCode::BAD_REQUEST,
        "Unknown filter",
        &error.to_string(),
        Some(("/console/claims", "All claims")),
    )
}

fn missing(viewer: &Viewer, id: &str) -> HttpResponse {
    layout::message(
        Some(viewer),
        StatusCode::NOT_FOUND,
        "Not found",
        &format!("There is no claim {id}."),
        Some(("/console/claims", "Back to the claims")),
    )
}

/// A billing failure as a page: 404 for a claim that is not there, 409 for a move
/// its state does not allow, else the server's error.
fn billing_failure(viewer: &Viewer, id: &str, error: &BillingError) -> HttpResponse {
    match error {
        BillingError::Fhir(FhirError::NotFound(_) | FhirError::Gone(_)) => missing(viewer, id),
        BillingError::Illegal(illegal) => layout::message(
            Some(viewer),
            StatusCode::CONFLICT,
            "Not allowed now",
            &illegal.to_string(),
            Some((&format!("/console/claims/{id}"), "Back to the claim")),
        ),
        other => unavailable(viewer, other),
    }
}

async fn list(
    viewer: Viewer,
    fhir: web::Data<FhirContext>,
    filters: web::Query<Filters>,
    request: HttpRequest,
) -> HttpResponse {
    let filters = filters.into_inner();
    let query = match filters.query() {
        Ok(query) => query,
        Err(error) => return bad_filter(&viewer, &error),
    };
    let rows = match worklist::list(&fhir.service, &query).await {
        Ok(rows) => rows,
        Err(error) => return unavailable(&viewer, &error),
    };
    let older = next_before(rows.len(), PAGE, rows.last().map(|r| r.id));
    let results = results(&viewer, &filters, &rows, older);
    if layout::is_htmx(&request) {
        return layout::answer(StatusCode::OK, results);
    }
    let payers = match worklist::payers(&fhir.service).await {
        Ok(payers) => payers,
        Err(error) => return unavailable(&viewer, &error),
    };
    let content = html! {
        @if let Some(assigned) = filters.assigned {
            p class="notice" role="status" { "Assigned " (assigned) " claim(s)." }
        }
        (filter_form(&filters, &query, &payers))
        (results)
    };
    layout::answer(
        StatusCode::OK,
        layout::page(Some(&viewer), Some(Section::Claims), "Claims", content),
    )
}

fn filter_form(filters: &Filters, query: &WorklistQuery, payers: &[String]) -> Markup {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    html! {
        form class="filters" method="get" action="/console/claims" role="search"
            hx-get="/console/claims" hx-target="#claims" hx-swap="outerHTML" hx-push-url="true" {
            div {
                label for="state" { "State" }
                select id="state" name="state" {
                    option value="" { "Any" }
                    @for state in BillingState::ALL {
                        option value=(state.as_str()) selected[query.state == Some(state)] { (state.as_str().replace('_', " ")) }
                    }
                }
            }
            div {
                label for="payer" { "Payer" }
                select id="payer" name="payer" {
                    option value="" { "Any" }
                    @for payer in payers {
                        option value=(payer) selected[query.payer.as_deref() == Some(payer.as_str())] { (payer) }
                    }
                }
            }
            div {
                label for="category" { "Denial category" }
                select id="category" name="category" {
                    option value="" { "Any" }
                    @for category in Category::ALL {
                        option value=(category.as_str()) selected[query.denial_category == Some(category)] { (category.as_str().replace('_', " ")) }
                    }
                }
            }
            div {
                label for="from" { "From" }
                input id="from" name="from" type="date" value=(text(&filters.from));
            }
            div {
                label for="to" { "To" }
                input id="to" name="to" type="date" value=(text(&filters.to));
            }
            div {
                label for="assignee" { "Assignee" }
                input id="assignee" name="assignee" type="text" value=(text(&filters.assignee)) autocomplete="off";
            }
            button type="submit" { "Filter" }
        }
    }
}

/// The table (inside the bulk-assignment form), the pager and the export link: what
/// htmx swaps when the filters change.
fn results(viewer: &Viewer, filters: &Filters, rows: &[WorklistRow], older: Option<i64>) -> Markup {
    let may_work = viewer.may(Permission::WorkClaims);
    let here = filters.to_query(None);
    html! {
        div id="claims" {
            p { a class="button" href={ "/console/claims/export.csv?" (here) } download { "Export these claims as CSV" } }
            @if rows.is_empty() {
                p class="muted" { "No claims match." }
            } @else {
                form method="post" action="/console/claims/assign" {
                    input type="hidden" name="return" value=(here);
                    div class="table-wrap" {
                        table {
                            caption { "Claims, newest first" }
                            thead {
                                tr {
                                    @if may_work { th scope="col" { span class="visually-hidden" { "Select" } } }
                                    th scope="col" { "Claim" }
                                    th scope="col" { "State" }
                                    th scope="col" { "Payer" }
                                    th scope="col" class="number" { "Charge" }
                                    th scope="col" { "Assignee" }
                                    th scope="col" { "Entered" }
                                }
                            }
                            tbody {
                                @for row in rows {
                                    tr {
                                        @if may_work {
                                            td {
                                                input type="checkbox" name="claim" value=(row.claim_id)
                                                    id={ "select-" (row.id) } aria-label={ "Select claim " (row.patient_control_number()) };
                                            }
                                        }
                                        th scope="row" { a href={ "/console/claims/" (row.claim_id) } { (row.patient_control_number()) } }
                                        td { (state_badge(&row.state)) }
                                        td { (row.payer.as_deref().unwrap_or("—")) }
                                        td class="number" { (money(row.charge_cents)) }
                                        td { (row.assignee.as_deref().unwrap_or("—")) }
                                        td { (when(&row.created_at)) }
                                    }
                                }
                            }
                        }
                    }
                    @if may_work {
                        div class="actions" {
                            label for="bulk-assignee" { "Assign the selected claims to" }
                            input id="bulk-assignee" name="assignee" type="text" autocomplete="off";
                            button type="submit" { "Assign" }
                        }
                    }
                }
            }
            @if let Some(older) = older {
                nav class="pager" aria-label="Claim pages" {
                    a href={ "/console/claims?" (filters.to_query(Some(older))) } { "Older claims" }
                }
            }
        }
    }
}

/// Filters from a query string; what does not read is dropped.
fn read_filters(query: &str) -> Filters {
    web::Query::<Filters>::from_query(query)
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

/// The pairs of a form body (`application/x-www-form-urlencoded`), repeated names kept.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

async fn assign(viewer: Viewer, fhir: web::Data<FhirContext>, body: web::Bytes) -> HttpResponse {
    if let Some(refused) = viewer.refusal(Permission::WorkClaims) {
        return refused;
    }
    let pairs = form_pairs(&body);
    let claims: Vec<String> = pairs
        .iter()
        .filter(|(key, _)| key == "claim")
        .map(|(_, value)| value.clone())
        .collect();
    // The filters come back re-read, never as a raw address: no redirect elsewhere.
    let back = read_filters(field(&pairs, "return").unwrap_or(""));
    if claims.is_empty() {
        return layout::message(
            Some(&viewer),
            StatusCode::BAD_REQUEST,
            "Nothing selected",
            "Select the claims to assign first.",
            Some((
                &format!("/console/claims?{}", back.to_query(None)),
                "Back to the claims",
            )),
        );
    }
    let assignee = field(&pairs, "assignee").unwrap_or("");
    match worklist::assign(&fhir.service, &claims, assignee).await {
        Ok(assigned) => {
            let mut location = format!("/console/claims?{}", back.to_query(None));
            location.push_str(&format!("&assigned={assigned}"));
            HttpResponse::SeeOther()
                .insert_header((LOCATION, location))
                .finish()
        }
        Err(error) => unavailable(&viewer, &error),
    }
}

async fn export(viewer: Viewer, fhir: web::Data<FhirContext>, filters: web::Query<Filters>) -> HttpResponse {
    let query = match filters.query() {
        Ok(query) => query,
        Err(error) => return bad_filter(&viewer, &error),
    };
    match worklist::export::csv(&fhir.service, &query).await {
        Ok(text) => worklist::export::response(text),
        Err(error) => unavailable(&viewer, &error),
    }
}

#[derive(Deserialize)]
struct ShowQuery {
    /// Set after an action, to say what it did.
    done: Option<String>,
}

/// What the page says at its top after an action, or why an action failed.
enum Notice {
    Done(&'static str),
    Problem(String),
}

async fn show(
    viewer: Viewer,
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    integrations: web::Data<IntegrationsContext>,
    id: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> HttpResponse {
    let notice = match query.done.as_deref() {
        Some("resubmitted") => Some(Notice::Done("Corrected and submitted.")),
        Some("queued") => Some(Notice::Done("Corrected; its submission is queued.")),
        Some("resolved") => Some(Notice::Done("Marked resolved.")),
        _ => None,
    };
    claim_page(
        &viewer,
        &fhir,
        &billing,
        &integrations,
        &id,
        StatusCode::OK,
        notice,
    )
    .await
}

async fn claim_page(
    viewer: &Viewer,
    fhir: &FhirContext,
    billing: &BillingContext,
    integrations: &IntegrationsContext,
    id: &str,
    status_code: StatusCode,
    notice: Option<Notice>,
) -> HttpResponse {
    let status = match service::status(&fhir.service, id).await {
        Ok(status) => status,
        Err(error) => return billing_failure(viewer, id, &error),
    };
    let loaded = async {
        let entry = worklist::entry(&fhir.service, id).await?;
        let (claim, report) = worklist::scrub_now(&fhir.service, &billing.rules, id).await?;
        let remittances = worklist::remittances(&fhir.service, &status).await?;
        Ok::<_, BillingError>((entry, claim, report, remittances))
    };
    let (entry, claim, report, remittances) = match loaded.await {
        Ok(loaded) => loaded,
        Err(error) => return billing_failure(viewer, id, &error),
    };
    let filter = AttemptFilter {
        subject: Some(format!("Claim/{id}")),
        limit: ATTEMPTS,
        ..AttemptFilter::default()
    };
    let attempts = match integrations.orchestrator.attempts(&filter).await {
        Ok(attempts) => attempts,
        Err(error) => return unavailable(viewer, &error),
    };
    let registered = integrations
        .registry
        .list(DEFAULT_TENANT)
        .await
        .unwrap_or_default();
    let names: HashMap<&str, &str> = registered
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let title = entry
        .as_ref()
        .map(|row| format!("Claim {}", row.patient_control_number()))
        .unwrap_or_else(|| "Claim".into());
    let content = html! {
        p { a href="/console/claims" { "← All claims" } }
        @match &notice {
            Some(Notice::Done(text)) => p class="notice" role="status" { (text) },
            Some(Notice::Problem(text)) => p class="problem" role="alert" { (text) },
            None => {}
        }
        (summary(id, &status, entry.as_ref()))
        (scrub_section(&report))
        (denials_section(&status.denials))
        @if viewer.may(Permission::WorkClaims) {
            (actions(id, &status, &claim))
        }
        h2 id="history-heading" { "State history" }
        (history_table(&status))
        h2 id="attempts-heading" { "Integration attempts" }
        (attempt_table(&attempts, &names))
        h2 { "Documents" }
        ul {
            li { a href={ "/console/claims/" (id) "/837" } { "837P claim as it would be sent now" } }
            @for (remittance, trace) in &remittances {
                li { a href={ "/console/claims/" (id) "/835/" (remittance) } { "835 remittance, trace number " (trace) } }
            }
        }
    };
    layout::answer(
        status_code,
        layout::page(Some(viewer), Some(Section::Claims), &title, content),
    )
}

fn summary(id: &str, status: &ClaimStatus, entry: Option<&WorklistRow>) -> Markup {
    html! {
        dl class="summary" {
            dt { "State" } dd { (state_badge(status.state.as_str())) }
            dt { "FHIR Claim" } dd { code { "Claim/" (id) } " (" (status.state.fhir_status()) ")" }
            @if let Some(row) = entry {
                dt { "Payer" } dd { (row.payer.as_deref().unwrap_or("—")) }
                dt { "Charge" } dd { (money(row.charge_cents)) }
                dt { "Assignee" } dd { (row.assignee.as_deref().unwrap_or("—")) }
                dt { "Entered" } dd { (when(&row.created_at)) }
            }
            dt { "Paid" } dd { "$" (status.totals.paid()) }
            dt { "Patient responsibility" } dd { "$" (status.totals.patient_responsibility()) }
            dt { "Adjustments" } dd { "$" (status.totals.adjustments()) }
        }
    }
}

fn scrub_section(report: &ScrubReport) -> Markup {
    html! {
        h2 id="scrub-heading" { "Scrub" }
        @if report.findings.is_empty() {
            p { span class="badge ok" { "clean" } " The scrub rules find nothing to fix." }
        } @else {
            p {
                @if report.clean_claim {
                    span class="badge warn" { "warnings" } " Clean enough to send; the warnings are worth a look."
                } @else {
                    span class="badge bad" { "errors" } " Not clean: fix the errors before it goes out."
                }
            }
            div class="table-wrap" {
                table id="scrub" {
                    caption { "What the scrub rules find now" }
                    thead {
                        tr {
                            th scope="col" { "Severity" }
                            th scope="col" { "Field" }
                            th scope="col" { "Code" }
                            th scope="col" { "Problem" }
                            th scope="col" { "Suggestion" }
                        }
                    }
                    tbody {
                        @for finding in &report.findings {
                            tr {
                                td { (finding.severity.as_str()) }
                                td class="mono break" { (finding.path) }
                                td class="mono" { (finding.code.as_str()) }
                                td { (finding.message) }
                                td { (finding.suggestion) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn denials_section(records: &[DenialRecord]) -> Markup {
    html! {
        @if !records.is_empty() {
            h2 id="denials-heading" { "Denials" }
            @for record in records {
                @let new = &record.new;
                @let analysis = as_denial(record).map(|denial| denials::analyze(&denial));
                @let instructions: Vec<String> = serde_json::from_str(&new.instructions).unwrap_or_default();
                section class="denial" aria-labelledby={ "denial-" (record.id) } {
                    h3 id={ "denial-" (record.id) } {
                        code { (new.code) }
                        @if let Some(analysis) = &analysis { " — " (analysis.reason_description) }
                    }
                    dl class="summary" {
                        dt { "Status" } dd { (new.status.replace('_', " ")) }
                        dt { "Amount" } dd { (money(Some(new.amount_cents))) }
                        dt { "Category" } dd { (new.category.as_deref().unwrap_or("—").replace('_', " ")) }
                        @if !new.rarcs.is_empty() { dt { "Remark codes" } dd class="mono" { (new.rarcs) } }
                        dt { "Playbook" } dd { (new.playbook_id.as_deref().unwrap_or("none")) ": " (new.action.replace('_', " ")) }
                        dt { "Queue" } dd { (new.assignee.as_deref().unwrap_or("—")) }
                        @if let Some(likelihood) = analysis.as_ref().and_then(|a| a.appeal_likelihood) {
                            dt { "Appeal likelihood" } dd { (likelihood.as_str()) }
                        }
                        @if let Some(resolution) = &record.resolution {
                            dt { "Resolution" } dd class="break" { (resolution_text(resolution)) }
                        }
                    }
                    @if !instructions.is_empty() {
                        h4 { "What the playbook says to do" }
                        ol { @for step in &instructions { li { (step) } } }
                    }
                    @if let Some(analysis) = &analysis {
                        @if !analysis.root_causes.is_empty() {
                            h4 { "Typical root causes" }
                            ul { @for cause in &analysis.root_causes { li { (cause) } } }
                        }
                        @if !analysis.remarks.is_empty() {
                            h4 { "Remarks" }
                            ul { @for remark in &analysis.remarks { li { code { (remark.code.as_str()) } " " (remark.description) } } }
                        }
                        @if !analysis.preventive_measures.is_empty() {
                            h4 { "Prevention" }
                            ul { @for measure in &analysis.preventive_measures { li { (measure) } } }
                        }
                    }
                }
            }
        }
    }
}

fn resolution_text(resolution: &str) -> String {
    let value: Value = serde_json::from_str(resolution).unwrap_or(Value::Null);
    let part = |name: &str| value.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
    format!("{} — {} ({})", part("note"), part("by"), part("at"))
}

fn actions(id: &str, status: &ClaimStatus, claim: &Value) -> Markup {
    let items = claim
        .get("item")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // The billed diagnoses (ICD-10-CM, in sequence order), which a correction
    // replaces place by place.
    let billed = crate::billing::from_fhir::DiagnosisSequences::of(claim).ok();
    let diagnoses: Vec<&str> = billed.as_ref().map(|b| b.written_codes()).unwrap_or_default();
    let text = |value: Option<&Value>| match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    };
    let open_work = worklist::has_open_denials(status) || status.state.can_move_to(BillingState::Closed);
    html! {
        @if worklist::correctable(status.state) {
            section aria-labelledby="fix-heading" {
                h2 id="fix-heading" { "Fix and resubmit" }
                p class="muted" { "Correct the lines or diagnoses; the claim is scrubbed again and, when clean, sent." }
                form class="stacked" method="post" action={ "/console/claims/" (id) "/resubmit" } {
                    @for item in &items {
                        @let sequence = item.get("sequence").and_then(Value::as_u64).unwrap_or(0);
                        fieldset {
                            legend { "Line " (sequence) }
                            label for={ "code-" (sequence) } { "Procedure code (CPT/HCPCS)" }
                            input id={ "code-" (sequence) } name={ "code-" (sequence) } type="text"
                                value=(text(item.at("/productOrService/coding/0/code"))) autocomplete="off";
                            label for={ "modifiers-" (sequence) } { "Modifiers (space separated)" }
                            input id={ "modifiers-" (sequence) } name={ "modifiers-" (sequence) } type="text" autocomplete="off"
                                value=(item.get("modifier").and_then(Value::as_array).into_iter().flatten()
                                    .filter_map(|m| m.at("/coding/0/code").and_then(Value::as_str))
                                    .collect::<Vec<_>>().join(" "));
                            label for={ "units-" (sequence) } { "Units" }
                            input id={ "units-" (sequence) } name={ "units-" (sequence) } type="text" inputmode="decimal"
                                value=(text(item.at("/quantity/value")));
                            label for={ "charge-" (sequence) } { "Charge (USD)" }
                            input id={ "charge-" (sequence) } name={ "charge-" (sequence) } type="text" inputmode="decimal"
                                value=(text(item.at("/net/value")));
                        }
                    }
                    label for="diagnoses" { "Diagnosis codes (ICD-10-CM, in order, space separated)" }
                    input id="diagnoses" name="diagnoses" type="text" value=(diagnoses.join(" ")) autocomplete="off";
                    p { button type="submit" class="primary" id="resubmit" { "Fix and resubmit" } }
                }
            }
        }
        @if open_work {
            section aria-labelledby="resolve-heading" {
                h2 id="resolve-heading" { "Mark resolved" }
                form class="stacked" method="post" action={ "/console/claims/" (id) "/resolve" } {
                    label for="note" { "Note: how it was resolved" }
                    textarea id="note" name="note" required {}
                    @if status.state.can_move_to(BillingState::Closed) {
                        div class="checkbox" {
                            input id="close" name="close" type="checkbox" value="1";
                            label for="close" { "Close the claim too (no further billing)" }
                        }
                    }
                    p { button type="submit" id="resolve" { "Mark resolved" } }
                }
            }
        }
    }
}

fn history_table(status: &ClaimStatus) -> Markup {
    html! {
        div class="table-wrap" {
            table id="history" {
                caption { "Moves, oldest first" }
                thead {
                    tr {
                        th scope="col" { "When" }
                        th scope="col" { "From" }
                        th scope="col" { "To" }
                        th scope="col" { "By" }
                        th scope="col" { "Why" }
                    }
                }
                tbody {
                    @for change in &status.history {
                        tr {
                            td { (when(&change.at)) }
                            td { (change.from_state.as_deref().unwrap_or("—")) }
                            td { (state_badge(&change.to_state)) }
                            td { (change.actor) }
                            td class="break" { (change.reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

/// Reads the fix form: each line's fields by sequence (`code-1`, `units-1`, …) and
/// the diagnoses; a number that does not read names its field.
fn corrections_of(pairs: &[(String, String)]) -> Result<Corrections, String> {
    let mut lines: Vec<LineCorrection> = Vec::new();
    for (key, value) in pairs {
        let Some((name, sequence)) = key.rsplit_once('-') else {
            continue;
        };
        let Ok(sequence) = sequence.parse::<u32>() else {
            continue;
        };
        let index = match lines.iter().position(|line| line.sequence == sequence) {
            Some(index) => index,
            None => {
                lines.push(LineCorrection {
                    sequence,
                    ..LineCorrection::default()
                });
                lines.len() - 1
            }
        };
        let line = &mut lines[index];
        let decimal = |label: &str| {
            value
                .trim()
                .parse::<Decimal>()
                .map_err(|_| format!("Line {sequence}: {label} {value:?} is not a number."))
        };
        match name {
            "code" => line.code = Some(value.clone()),
            "modifiers" => line.modifiers = Some(value.split_whitespace().map(str::to_owned).collect()),
            "units" => line.units = Some(decimal("units")?),
            "charge" => line.charge = Some(decimal("charge")?),
            _ => {}
        }
    }
    let diagnoses =
        field(pairs, "diagnoses").map(|text| text.split_whitespace().map(str::to_owned).collect());
    Ok(Corrections { lines, diagnoses })
}

async fn resubmit(
    viewer: Viewer,
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    integrations: web::Data<IntegrationsContext>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(refused) = viewer.refusal(Permission::WorkClaims) {
        return refused;
    }
    let id = id.into_inner();
    let problem = |text: String| Some(Notice::Problem(text));
    let corrections = match corrections_of(&form_pairs(&body)) {
        Ok(corrections) => corrections,
        Err(text) => {
            return claim_page(
                &viewer,
                &fhir,
                &billing,
                &integrations,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                problem(text),
            )
            .await
        }
    };
    // The history names people as they are shown (the audit trail keeps their id).
    let actor = viewer.name.clone();
    let (status_code, notice) = match worklist::fix_and_resubmit(
        &fhir.service,
        &billing,
        &id,
        &corrections,
        &actor,
    )
    .await
    {
        Ok(Resubmission::Submitted(_)) => return see_claim(&id, "resubmitted"),
        Ok(Resubmission::Queued(..)) => return see_claim(&id, "queued"),
        Ok(Resubmission::NotClean(..)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            problem(
                "The corrections are saved, but the claim is still not clean: see the scrub's errors below."
                    .into(),
            ),
        ),
        Ok(Resubmission::NoGateway(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            problem(
                "The corrected claim is ready to submit, but no clearinghouse is configured to send it."
                    .into(),
            ),
        ),
        Err(ResubmitError::Correction(error)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, problem(error.to_string()))
        }
        Err(ResubmitError::Submission(crate::billing::submission::SubmissionError::Gateway(error))) => {
            tracing::warn!(%error, "console: resubmission not taken by the clearinghouse");
            (
                StatusCode::BAD_GATEWAY,
                problem(
                    "The clearinghouse did not take the claim; it stays ready to submit. Try again later."
                        .into(),
                ),
            )
        }
        Err(ResubmitError::Submission(crate::billing::submission::SubmissionError::Billing(error))) => {
            return billing_failure(&viewer, &id, &error)
        }
    };
    claim_page(&viewer, &fhir, &billing, &integrations, &id, status_code, notice).await
}

fn see_claim(id: &str, done: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("/console/claims/{id}?done={done}")))
        .finish()
}

async fn resolve(
    viewer: Viewer,
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    integrations: web::Data<IntegrationsContext>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(refused) = viewer.refusal(Permission::WorkClaims) {
        return refused;
    }
    let id = id.into_inner();
    let pairs = form_pairs(&body);
    let note = field(&pairs, "note").unwrap_or("").trim();
    if note.is_empty() {
        let notice = Some(Notice::Problem(
            "Write a note saying how the claim was resolved.".into(),
        ));
        return claim_page(
            &viewer,
            &fhir,
            &billing,
            &integrations,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            notice,
        )
        .await;
    }
    let close = field(&pairs, "close").is_some();
    match worklist::resolve(&fhir.service, &id, note, &viewer.name, close).await {
        Ok(_) => see_claim(&id, "resolved"),
        Err(error) => billing_failure(&viewer, &id, &error),
    }
}

fn document_page(viewer: &Viewer, id: &str, title: &str, text: &str) -> HttpResponse {
    let content = html! {
        p { a href={ "/console/claims/" (id) } { "← Back to the claim" } }
        pre class="raw" { (text.replace('~', "~\n")) }
    };
    layout::answer(
        StatusCode::OK,
        layout::page(Some(viewer), Some(Section::Claims), title, content),
    )
}

async fn document_837(
    viewer: Viewer,
    fhir: web::Data<FhirContext>,
    billing: web::Data<BillingContext>,
    id: web::Path<String>,
) -> HttpResponse {
    match service::claim_837p(&fhir.service, &billing.submission, &id).await {
        Ok(document) => document_page(&viewer, &id, "837P claim", &document),
        Err(BillingError::Unbillable(why)) => layout::message(
            Some(&viewer),
            StatusCode::UNPROCESSABLE_ENTITY,
            "No 837P yet",
            &format!("The claim cannot be written as an 837P: {why}"),
            Some((&format!("/console/claims/{id}"), "Back to the claim")),
        ),
        Err(error) => billing_failure(&viewer, &id, &error),
    }
}

async fn document_835(
    viewer: Viewer,
    fhir: web::Data<FhirContext>,
    path: web::Path<(String, i64)>,
) -> HttpResponse {
    let (id, remittance) = path.into_inner();
    match worklist::remittance_835(&fhir.service, &id, remittance).await {
        Ok(Some((trace, text))) => document_page(&viewer, &id, &format!("835 remittance {trace}"), &text),
        Ok(None) => layout::message(
            Some(&viewer),
            StatusCode::NOT_FOUND,
            "Not found",
            "No remittance by that id posted on this claim.",
            Some((&format!("/console/claims/{id}"), "Back to the claim")),
        ),
        Err(error) => billing_failure(&viewer, &id, &error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        form_pairs(text.as_bytes())
    }

    #[test]
    fn the_fix_form_reads_into_corrections() {
        let corrections = corrections_of(&pairs(
            "code-1=99214&modifiers-1=25+59&units-1=2&charge-1=120.50&code-2=36415&diagnoses=J20.9+R05.1",
        ))
        .unwrap();
        assert_eq!(corrections.lines.len(), 2);
        let first = &corrections.lines[0];
        assert_eq!(first.sequence, 1);
        assert_eq!(first.code.as_deref(), Some("99214"));
        assert_eq!(first.modifiers, Some(vec!["25".to_owned(), "59".to_owned()]));
        assert_eq!(first.units, Some(Decimal::from(2)));
        assert_eq!(first.charge, Some("120.50".parse().unwrap()));
        assert_eq!(corrections.lines[1].code.as_deref(), Some("36415"));
        assert_eq!(
            corrections.diagnoses,
            Some(vec!["J20.9".to_owned(), "R05.1".to_owned()])
        );
        let error = corrections_of(&pairs("units-3=two")).unwrap_err();
        assert!(error.contains("Line 3: units"), "{error}");
    }

    #[test]
    fn filters_survive_the_round_trip_and_drop_blanks() {
        let filters = read_filters("state=denied&payer=Acme+Health&from=&category=coding");
        assert_eq!(
            filters.to_query(Some(9)),
            "state=denied&payer=Acme+Health&category=coding&before=9"
        );
        let query = filters.query().unwrap();
        assert_eq!(query.state, Some(BillingState::Denied));
        assert_eq!(query.denial_category, Some(Category::Coding));
        let wrong = read_filters("state=lost");
        assert!(wrong.query().is_err());
    }
}
