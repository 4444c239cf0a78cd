//! `/console/integrations`: a tenant's clearinghouses and payment processors in the
//! order they are tried, with their circuit and last connection test; adding and
//! editing them (credentials write-only), enabling, reordering, testing; and the
//! tenant's attempt log, failovers marked.
//!
//! Everything goes through the integration registry and the orchestrator (the same
//! calls `/admin/integrations` makes). Enable, reorder and test answer htmx with
//! the part of the page they change; without script they are plain forms that
//! come back to the list.

use std::collections::HashMap;

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::access::{Permission, Viewer};
use super::layout::{self, Section};
use crate::billing::paging::{next_before, page_size};
use crate::integrations::breaker::BreakerState;
use crate::integrations::orchestrator::ConnectionTest;
use crate::integrations::registry::{
    CredentialChanges, CredentialMap, Integration, IntegrationPatch, NewIntegration, RegistryError,
    DEFAULT_TENANT,
};
use crate::integrations::routes::IntegrationsContext;
use crate::integrations::{Category, Vendor};
use crate::store::attempts::{AttemptFilter, AttemptRecord};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/integrations", web::get().to(list))
        .route("/integrations", web::post().to(create))
        .route("/integrations/new", web::get().to(new_form))
        .route("/integrations/{id}/edit", web::get().to(edit_form))
        .route("/integrations/{id}", web::post().to(update))
        .route("/integrations/{id}/enable", web::post().to(enable))
        .route("/integrations/{id}/disable", web::post().to(disable))
        .route("/integrations/{id}/move", web::post().to(move_one))
        .route("/integrations/{id}/test", web::post().to(test));
}

/// Attempts per page of the log.
const ATTEMPTS_PAGE: i64 = 25;
/// New credentials the add form offers (more can be added by editing).
const NEW_CREDENTIAL_ROWS: usize = 3;

#[derive(Deserialize)]
struct ListQuery {
    tenant: Option<String>,
    /// The attempt log's page: attempts older than this id.
    before: Option<i64>,
    /// The attempt log of one integration only.
    integration: Option<String>,
}

fn tenant_of(tenant: Option<&str>) -> String {
    tenant
        .map(str::trim)
        .filter(|tenant| !tenant.is_empty())
        .unwrap_or(DEFAULT_TENANT)
        .to_owned()
}

/// `text` as a query value.
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn list_url(tenant: &str) -> String {
    format!("/console/integrations?tenant={}", encode(tenant))
}

/// What the list shows of each integration besides its configuration.
struct Status {
    circuit: HashMap<String, BreakerState>,
    last_tests: HashMap<String, AttemptRecord>,
}

async fn status_of(
    context: &IntegrationsContext,
    integrations: &[Integration],
) -> Result<Status, RegistryError> {
    let ids: Vec<&str> = integrations.iter().map(|i| i.id.as_str()).collect();
    Ok(Status {
        circuit: integrations
            .iter()
            .map(|i| (i.id.clone(), context.orchestrator.breaker_state(&i.id)))
            .collect(),
        last_tests: context.orchestrator.last_tests(&ids).await?,
    })
}

/// A registry error as a page: the missing secrets key says so, the rest is a 500.
fn failure(viewer: &Viewer, error: RegistryError) -> HttpResponse {
    match error {
        RegistryError::NotFound => layout::message(
            Some(viewer),
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no integration by that id.",
            Some(("/console/integrations", "Back to integrations")),
        ),
        RegistryError::NoKey => layout::message(
            Some(viewer),
            StatusCode::SERVICE_UNAVAILABLE,
            "Integrations unavailable",
            "No secrets key is configured (secrets_key), so integrations' credentials cannot be read or sealed.",
            None,
        ),
        other => layout::server_error(Some(viewer), "the integration registry", &other),
    }
}

async fn list(
    viewer: Viewer,
    context: web::Data<IntegrationsContext>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let tenant = tenant_of(query.tenant.as_deref());
    let integrations = match context.registry.list(&tenant).await {
        Ok(integrations) => integrations,
        Err(error) => return failure(&viewer, error),
    };
    let status = match status_of(&context, &integrations).await {
        Ok(status) => status,
        Err(error) => return failure(&viewer, error),
    };
    let filter = AttemptFilter {
        tenant: Some(tenant.clone()),
        integration_id: query.integration.clone().filter(|id| !id.is_empty()),
        before: query.before,
        limit: page_size(Some(ATTEMPTS_PAGE)),
        ..AttemptFilter::default()
    };
    let attempts = match context.orchestrator.attempts(&filter).await {
        Ok(attempts) => attempts,
        Err(error) => return failure(&viewer, error.into()),
    };
    let names: HashMap<&str, &str> = integrations
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    let older_url =
        next_before(attempts.len(), filter.limit, attempts.last().and_then(|a| a.id)).map(|older| {
            let integration = filter
                .integration_id
                .as_deref()
                .map(|id| format!("&integration={}", encode(id)))
                .unwrap_or_default();
            format!(
                "{}&before={older}{integration}#attempts-heading",
                list_url(&tenant)
            )
        });
    let content = html! {
        form class="filters" method="get" action="/console/integrations" {
            div {
                label for="tenant" { "Tenant" }
                input id="tenant" name="tenant" type="text" value=(tenant) required;
            }
            button type="submit" { "Show" }
        }
        @if viewer.may(Permission::ManageIntegrations) {
            p { a class="button primary" href={ "/console/integrations/new?tenant=" (encode(&tenant)) } { "Add an integration" } }
        }
        @for category in [Category::Clearinghouse, Category::Payments] {
            (category_section(&viewer, &tenant, category, &integrations, &status))
        }
        section aria-labelledby="attempts-heading" {
            h2 id="attempts-heading" { "Recent attempts" }
            p class="muted" {
                "Every call to a vendor, newest first: submissions, status checks, feeds and connection tests. "
                "A " span class="badge warn" { "failover" } " attempt was made because an integration before it failed or its circuit was open."
            }
            form class="filters" method="get" action="/console/integrations" {
                input type="hidden" name="tenant" value=(tenant);
                div {
                    label for="attempts-integration" { "Integration" }
                    select id="attempts-integration" name="integration" {
                        option value="" { "All" }
                        @for integration in &integrations {
                            option value=(integration.id) selected[query.integration.as_deref() == Some(integration.id.as_str())] {
                                (integration.name)
                            }
                        }
                    }
                }
                button type="submit" { "Filter" }
            }
            (attempt_table(&attempts, &names))
            @if let Some(older) = older_url {
                nav class="pager" aria-label="Attempt log pages" {
                    a href=(older) { "Older attempts" }
                }
            }
        }
    };
    layout::answer(
        StatusCode::OK,
        layout::page(
            Some(&viewer),
            Some(Section::Integrations),
            "Integrations",
            content,
        ),
    )
}

fn category_title(category: Category) -> &'static str {
    match category {
        Category::Clearinghouse => "Clearinghouses",
        Category::Payments => "Payment processors",
    }
}

/// One category's integrations in the order they are tried: the part of the page
/// enabling and reordering replace.
fn category_section(
    viewer: &Viewer,
    tenant: &str,
    category: Category,
    integrations: &[Integration],
    status: &Status,
) -> Markup {
    let members: Vec<&Integration> = integrations
        .iter()
        .filter(|i| i.category == category.as_str())
        .collect();
    let manage = viewer.may(Permission::ManageIntegrations);
    let section_id = format!("category-{}", category.as_str());
    let target = format!("#{section_id}");
    html! {
        section id=(section_id) aria-labelledby={ (section_id) "-heading" } {
            h2 id={ (section_id) "-heading" } { (category_title(category)) }
            @if members.is_empty() {
                p class="muted" { "None configured for tenant " code { (tenant) } "." }
            } @else {
                div class="table-wrap" {
                    table {
                        caption { (category_title(category)) " of " (tenant) ", in the order they are tried" }
                        thead {
                            tr {
                                th scope="col" class="number" { "Order" }
                                th scope="col" { "Name" }
                                th scope="col" { "Vendor" }
                                th scope="col" { "Enabled" }
                                th scope="col" { "Circuit" }
                                th scope="col" { "Last connection test" }
                                @if manage { th scope="col" { "Actions" } }
                            }
                        }
                        tbody {
                            @for (at, integration) in members.iter().enumerate() {
                                tr id={ "integration-" (integration.id) } {
                                    td class="number" { (at + 1) }
                                    th scope="row" { (integration.name) }
                                    td { (vendor_name(&integration.vendor)) }
                                    td {
                                        @if integration.enabled {
                                            span class="badge ok" { "enabled" }
                                        } @else {
                                            span class="badge neutral" { "disabled" }
                                        }
                                    }
                                    td { (circuit_badge(status.circuit.get(&integration.id).copied().unwrap_or(BreakerState::Closed))) }
                                    td id={ "test-" (integration.id) } aria-live="polite" {
                                        (last_test(status.last_tests.get(&integration.id)))
                                    }
                                    @if manage {
                                        td { (actions(integration, &target, at == 0, at + 1 == members.len())) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn vendor_name(vendor: &str) -> &str {
    match Vendor::parse(vendor) {
        Some(Vendor::ClaimMd) => "Claim.MD",
        Some(Vendor::Availity) => "Availity",
        Some(Vendor::Stripe) => "Stripe",
        None => vendor,
    }
}

fn circuit_badge(state: BreakerState) -> Markup {
    let (class, text) = match state {
        BreakerState::Closed => ("ok", "closed"),
        BreakerState::HalfOpen => ("warn", "half-open"),
        BreakerState::Open => ("bad", "open"),
    };
    html! { span class={ "badge " (class) } { (text) } }
}

fn last_test(test: Option<&AttemptRecord>) -> Markup {
    html! {
        @match test {
            None => span class="muted" { "never tested" },
            Some(test) => {
                @if test.outcome == "succeeded" {
                    span class="badge ok" { "passed" }
                } @else {
                    span class="badge bad" { "failed" }
                }
                " " span class="muted" { (when(&test.attempted_at)) }
                @if let Some(error) = &test.error {
                    br; span class="break" { (error) }
                }
            }
        }
    }
}

/// `2026-11-26 10:42:07 UTC`.
fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The admin's buttons on a row. Each is a form (it works without script) that
/// htmx posts instead, swapping in what it changes; buttons keep their ids across
/// the swap, so keyboard focus stays on the button pressed.
fn actions(integration: &Integration, target: &str, first: bool, last: bool) -> Markup {
    let id = &integration.id;
    let name = &integration.name;
    let base = format!("/console/integrations/{id}");
    let (toggle, toggle_label) = if integration.enabled {
        ("disable", "Disable")
    } else {
        ("enable", "Enable")
    };
    html! {
        div class="actions" {
            a class="button" href={ (base) "/edit" } aria-label={ "Edit " (name) } { "Edit" }
            form method="post" action={ (base) "/" (toggle) } hx-post={ (base) "/" (toggle) } hx-target=(target) hx-swap="outerHTML" {
                button type="submit" id={ "toggle-" (id) } aria-label={ (toggle_label) " " (name) } { (toggle_label) }
            }
            form method="post" action={ (base) "/move" } hx-post={ (base) "/move" } hx-target=(target) hx-swap="outerHTML" {
                input type="hidden" name="direction" value="up";
                button type="submit" id={ "up-" (id) } aria-label={ "Move " (name) " up" } aria-disabled=[first.then_some("true")] { "↑ Up" }
            }
            form method="post" action={ (base) "/move" } hx-post={ (base) "/move" } hx-target=(target) hx-swap="outerHTML" {
                input type="hidden" name="direction" value="down";
                button type="submit" id={ "down-" (id) } aria-label={ "Move " (name) " down" } aria-disabled=[last.then_some("true")] { "↓ Down" }
            }
            form method="post" action={ (base) "/test" } hx-post={ (base) "/test" } hx-target={ "#test-" (id) } hx-swap="innerHTML" {
                button type="submit" id={ "test-button-" (id) } aria-label={ "Test the connection of " (name) } { "Test connection" }
            }
        }
    }
}

pub(super) fn attempt_table(attempts: &[AttemptRecord], names: &HashMap<&str, &str>) -> Markup {
    html! {
        @if attempts.is_empty() {
            p class="muted" { "No attempts recorded." }
        } @else {
            div class="table-wrap" {
                table id="attempts" {
                    caption { "Attempts, newest first" }
                    thead {
                        tr {
                            th scope="col" { "When" }
                            th scope="col" { "Integration" }
                            th scope="col" { "Operation" }
                            th scope="col" { "About" }
                            th scope="col" { "Outcome" }
                            th scope="col" class="number" { "Latency (ms)" }
                            th scope="col" { "Error" }
                        }
                    }
                    tbody {
                        @for attempt in attempts {
                            tr {
                                td { (when(&attempt.attempted_at)) }
                                td {
                                    (names.get(attempt.integration_id.as_str()).copied().unwrap_or(attempt.integration_id.as_str()))
                                    @if attempt.failover {
                                        " " span class="badge warn" { "failover" }
                                    }
                                }
                                td { code { (attempt.operation) } }
                                td { (attempt.subject.as_deref().unwrap_or("—")) }
                                td { (outcome_badge(&attempt.outcome)) }
                                td class="number" { (format!("{:.1}", attempt.latency_micros as f64 / 1000.0)) }
                                td class="break" { (attempt.error.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn outcome_badge(outcome: &str) -> Markup {
    let class = match outcome {
        "succeeded" | "found" | "not_found" => "ok",
        "sending" => "neutral",
        "transient" | "circuit_open" => "warn",
        _ => "bad",
    };
    html! { span class={ "badge " (class) } { (outcome.replace('_', " ")) } }
}

/// The integration, its tenant's integrations and their status, for an action
/// that answers with its category's section.
async fn section_after(
    viewer: &Viewer,
    context: &IntegrationsContext,
    integration: &Integration,
    request: &HttpRequest,
) -> HttpResponse {
    if !layout::is_htmx(request) {
        return HttpResponse::SeeOther()
            .insert_header((
                LOCATION,
                format!("{}#integration-{}", list_url(&integration.tenant), integration.id),
            ))
            .finish();
    }
    let integrations = match context.registry.list(&integration.tenant).await {
        Ok(integrations) => integrations,
        Err(error) => return failure(viewer, error),
    };
    let status = match status_of(context, &integrations).await {
        Ok(status) => status,
        Err(error) => return failure(viewer, error),
    };
    let category = Category::parse(&integration.category).unwrap_or(Category::Clearinghouse);
    layout::answer(
        StatusCode::OK,
        category_section(viewer, &integration.tenant, category, &integrations, &status),
    )
}

async fn enable(
    viewer: Viewer,
    context: web::Data<IntegrationsContext>,
    id: web::Path<String>,
    request: HttpRequest,
) -> HttpResponse {
    switch(viewer, context, &id, true, request).await
}

async fn disable(
    viewer: Viewer,
    context: web::Data<IntegrationsContext>,
    id: web::Path<String>,
    request: HttpRequest,
) -> HttpResponse {
    switch(viewer, context, &id, false, request).await
}

async fn switch(
    viewer: Viewer,
    context: web::Data<IntegrationsContext>,
    id: &str,
    enabled: bool,
    request: HttpRequest,
) -> HttpResponse {
    if let Some(refused) = viewer.refusal(Permission::ManageIntegrations) {
        return refused;
    }
    let patch = IntegrationPatch {
        enabled: Some(enabled),
        ..IntegrationPatch::default()
    };
    match context.registry.update(id, patch).await {
        Ok(integration) => section_after(&viewer, &context, &integration, &request).await,
        Err(error) => failure(&viewer, error),
    }
}

#[derive(Deserialize)]
struct Move {
    direction: String,
}

/// Swaps the integration with its neighbour in its category (the registry's
/// reorder, so priorities stay 1, 2, …); at either end it stays where it is.
async fn move_one(
    viewer: Viewer,
    context: web::Data<IntegrationsContext>,
    id: web::Path<String>,
    form: web::Form<Move>,
    request: HttpRequest,
) -> HttpResponse {
    if let Some(refused) = viewer.refusal(Permission::ManageIntegrations) {
        return refused;
    }
    let integration = match context.registry.get(&id).await {
        Ok(integration) => integration,
        Err(error) => return failure(&viewer, error),
    };
    let Some(category) = Category::parse(&integration.category) else {
        return failure(&viewer, RegistryError::invalid("category", "unknown"));
    };
    let siblings = match context.registry.list(&integration.tenant).await {
        Ok(all) => all,
        Err(error) => return failure(&viewer, error),
    };
    let mut order: Vec<String> = siblings
        .into_iter()
        .filter(|i| i.category == integration.category)
        .map(|i| i.id)
        .collect();
    let Some(at) = order.iter().position(|other| *other == integration.id) else {
        return failure(&viewer, RegistryError::NotFound);
    };
    let to = match form.direction.as_str() {
        "up" => at.checked_sub(1),
        "down" => (at + 1 < order.len()).then_some(at + 1),
        _ => {
            return layout::message(
                Some(&viewer),
                StatusCode::BAD_REQUEST,
                "Bad request",
                "direction must be up or down.",
                None,
            )
        }
    };
    if let Some(to) = to {
        order.swap(at, to);
        if let Err(error) = context
            .registry
            .reorder(&integration.tenant, category, &order)
            .await
        {
            return failure(&viewer, error);
        }
    }
    section_after(&viewer, &context, &integration, &request).await
}

/// Tests the connection; htmx gets the result for the row's "last test" cell.
async fn test(
    viewer: Viewer,
    context: web::Data<IntegrationsContext>,
    id: web::Path<String>,
    request: HttpRequest,
) -> HttpResponse {
    if let Some(refused) = viewer.refusal(Permission::ManageIntegrations) {
        return refused;
    }
    let record = match context.registry.record(&id).await {
        Ok(record) => record,
        Err(error) => return failure(&viewer, error),
    };
    let tested: ConnectionTest = context
        .orchestrator
        .test_connection(&record.tenant, &record)
        .await;
    if !layout::is_htmx(&request) {
        return HttpResponse::SeeOther()
            .insert_header((
                LOCATION,
                format!("{}#integration-{}", list_url(&record.tenant), record.id),
            ))
            .finish();
    }
    let latency = tested.latency.as_millis();
    layout::answer(
        StatusCode::OK,
        html! {
            @match &tested.error {
                None => {
                    span class="badge ok" { "passed" }
                    " " span class="muted" { "just now, " (latency) " ms" }
                    @if let Some(detail) = &tested.detail { br; span class="break" { (detail) } }
                }
                Some(error) => {
                    span class="badge bad" { "failed" }
                    " " span class="muted" { "just now, " (latency) " ms" }
                    br; span class="break" { (error) }
                }
            }
        },
    )
}

/// What the add and edit forms hold, as typed (credential values never come back).
#[derive(Default)]
struct Draft {
    vendor: String,
    name: String,
    base_url: String,
    enabled: bool,
    settings: String,
    /// Names of the credentials set, when editing.
    credential_names: Vec<String>,
}

/// A form's problem, at the field it is about (`baseUrl`, `name`, …).
#[derive(Debug)]
struct Problem {
    field: &'static str,
    message: String,
}

fn field_error(problem: Option<&Problem>, field: &str) -> Markup {
    html! {
        @if let Some(problem) = problem.filter(|p| p.field == field) {
            p class="field-error" id={ (field) "-error" } { (problem.message) }
        }
    }
}

/// `aria-describedby` of a field: its hint, and its error when it has one.
fn described_by(problem: Option<&Problem>, field: &str, hint: bool) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{field}-hint"));
    }
    if problem.is_some_and(|p| p.field == field) {
        ids.push(format!("{field}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

fn form_page(
    viewer: &Viewer,
    tenant: &str,
    editing: Option<&str>,
    draft: &Draft,
    problem: Option<&Problem>,
) -> HttpResponse {
    let (title, action) = match editing {
        Some(id) => ("Edit integration", format!("/console/integrations/{id}")),
        None => ("Add an integration", "/console/integrations".to_owned()),
    };
    let content = html! {
        @if let Some(problem) = problem {
            p class="problem" role="alert" { "Not saved: " (problem.message) }
        }
        form class="stacked" method="post" action=(action) {
            input type="hidden" name="tenant" value=(tenant);
            p { "Tenant: " code { (tenant) } }
            label for="vendor" { "Vendor" }
            select id="vendor" name="vendor" required {
                @for vendor in Vendor::ALL {
                    option value=(vendor.as_str()) selected[draft.vendor == vendor.as_str()] {
                        (vendor_name(vendor.as_str())) " (" (vendor.category().as_str()) ")"
                    }
                }
            }
            (field_error(problem, "vendor"))
            label for="name" { "Name" }
            input id="name" name="name" type="text" value=(draft.name) required
                aria-describedby=[described_by(problem, "name", false)];
            (field_error(problem, "name"))
            label for="baseUrl" { "Base URL" }
            p class="hint" id="baseUrl-hint" { "Where the vendor's API is, e.g. https://svc.claim.md" }
            input id="baseUrl" name="baseUrl" type="url" value=(draft.base_url) required
                aria-describedby=[described_by(problem, "baseUrl", true)];
            (field_error(problem, "baseUrl"))
            div class="checkbox" {
                input id="enabled" name="enabled" type="checkbox" value="on" checked[draft.enabled];
                label for="enabled" { "Enabled" }
            }
            label for="settings" { "Settings (a JSON object)" }
            p class="hint" id="settings-hint" { "The plugin's settings, e.g. {\"timeoutSecs\": 10}" }
            textarea id="settings" name="settings" aria-describedby=[described_by(problem, "settings", true)] { (draft.settings) }
            (field_error(problem, "settings"))
            fieldset {
                legend { "Credentials" }
                p class="hint" { "Credentials are never shown again once saved: only whether each is set." }
                @for name in &draft.credential_names {
                    div {
                        label for={ "replace-" (name) } { "Replace " code { (name) } " (set; leave empty to keep)" }
                        input id={ "replace-" (name) } name={ "replace:" (name) } type="password" autocomplete="new-password";
                        div class="checkbox" {
                            input id={ "remove-" (name) } name="remove" type="checkbox" value=(name);
                            label for={ "remove-" (name) } { "Remove " code { (name) } }
                        }
                    }
                }
                @for row in 0..NEW_CREDENTIAL_ROWS {
                    div {
                        label for={ "credential-name-" (row) } { "New credential name" }
                        input id={ "credential-name-" (row) } name="credential_name" type="text" autocomplete="off";
                        label for={ "credential-value-" (row) } { "New credential value" }
                        input id={ "credential-value-" (row) } name="credential_value" type="password" autocomplete="new-password";
                    }
                }
                (field_error(problem, "credentials"))
            }
            p class="actions" {
                button type="submit" class="primary" { (if editing.is_some() { "Save" } else { "Add integration" }) }
                a href=(list_url(tenant)) { "Cancel" }
            }
        }
    };
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    layout::answer(
        status,
        layout::page(Some(viewer), Some(Section::Integrations), title, content),
    )
}

#[derive(Deserialize)]
struct TenantQuery {
    tenant: Option<String>,
}

async fn new_form(viewer: Viewer, query: web::Query<TenantQuery>) -> HttpResponse {
    if let Some(refused) = viewer.refusal(Permission::ManageIntegrations) {
        return refused;
    }
    let draft = Draft {
        vendor: Vendor::ClaimMd.as_str().to_owned(),
        enabled: true,
        settings: "{}".to_owned(),
        ..Draft::default()
    };
    form_page(&viewer, &tenant_of(query.tenant.as_deref()), None, &draft, None)
}

async fn edit_form(
    viewer: Viewer,
    context: web::Data<IntegrationsContext>,
    id: web::Path<String>,
) -> HttpResponse {
    if let Some(refused) = viewer.refusal(Permission::ManageIntegrations) {
        return refused;
    }
    let integration = match context.registry.get(&id).await {
        Ok(integration) => integration,
        Err(error) => return failure(&viewer, error),
    };
    let draft = Draft {
        vendor: integration.vendor.clone(),
        name: integration.name.clone(),
        base_url: integration.base_url.clone(),
        enabled: integration.enabled,
        settings: serde_json::to_string_pretty(&integration.settings).unwrap_or_default(),
        credential_names: integration.credential_names.clone(),
    };
    form_page(&viewer, &integration.tenant, Some(&integration.id), &draft, None)
}

/// A posted form's fields, read by name (a name may repeat).
struct Posted(Vec<(String, String)>);

impl Posted {
    fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    fn text(&self, name: &str) -> String {
        self.one(name).unwrap_or_default().trim().to_owned()
    }

    fn draft(&self, credential_names: Vec<String>) -> Draft {
        Draft {
            vendor: self.text("vendor"),
            name: self.text("name"),
            base_url: self.text("baseUrl"),
            enabled: self.one("enabled").is_some(),
            settings: self.one("settings").unwrap_or_default().to_owned(),
            credential_names,
        }
    }

    fn vendor(&self) -> Result<Vendor, Problem> {
        Vendor::parse(&self.text("vendor")).ok_or(Problem {
            field: "vendor",
            message: "choose a vendor".into(),
        })
    }

    fn settings(&self) -> Result<Map<String, Value>, Problem> {
        let text = self.text("settings");
        if text.is_empty() {
            return Ok(Map::new());
        }
        match serde_json::from_str(&text) {
            Ok(Value::Object(settings)) => Ok(settings),
            _ => Err(Problem {
                field: "settings",
                message: "settings must be a JSON object, e.g. {\"timeoutSecs\": 10}".into(),
            }),
        }
    }

    /// The new credentials: name and value rows, both filled.
    fn new_credentials(&self) -> Result<CredentialMap, Problem> {
        let mut credentials = CredentialMap::new();
        for (name, value) in self
            .all("credential_name")
            .into_iter()
            .zip(self.all("credential_value"))
        {
            match (name.trim(), value) {
                ("", "") => {}
                ("", _) | (_, "") => {
                    return Err(Problem {
                        field: "credentials",
                        message: "each new credential needs both a name and a value".into(),
                    })
                }
                (name, value) => {
                    credentials.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        Ok(credentials)
    }
}

impl From<RegistryError> for Problem {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::Invalid { field, message } => Problem {
                field,
                message: format!("{field} {message}"),
            },
            RegistryError::NameTaken { .. } => Problem {
                field: "name",
                message: error.to_string(),
            },
            other => Problem {
                field: "",
                message: other.to_string(),
            },
        }
    }
}

async fn create(
    viewer: Viewer,
    context: web::Data<IntegrationsContext>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    if let Some(refused) = viewer.refusal(Permission::ManageIntegrations) {
        return refused;
    }
    let posted = Posted(form.into_inner());
    let tenant = tenant_of(posted.one("tenant"));
    let new = (|| {
        Ok::<_, Problem>(NewIntegration {
            tenant: tenant.clone(),
            vendor: posted.vendor()?,
            name: posted.text("name"),
            category: None,
            priority: None,
            enabled: posted.one("enabled").is_some(),
            base_url: posted.text("baseUrl"),
            settings: posted.settings()?,
            credentials: posted.new_credentials()?,
        })
    })();
    let created = match new {
        Ok(new) => context.registry.create(new).await,
        Err(problem) => return form_page(&viewer, &tenant, None, &posted.draft(Vec::new()), Some(&problem)),
    };
    match created {
        Ok(integration) => HttpResponse::SeeOther()
            .insert_header((
                LOCATION,
                format!("{}#integration-{}", list_url(&tenant), integration.id),
            ))
            .finish(),
        Err(error @ (RegistryError::Invalid { .. } | RegistryError::NameTaken { .. })) => form_page(
            &viewer,
            &tenant,
            None,
            &posted.draft(Vec::new()),
            Some(&error.into()),
        ),
        Err(error) => failure(&viewer, error),
    }
}

async fn update(
    viewer: Viewer,
    context: web::Data<IntegrationsContext>,
    id: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    if let Some(refused) = viewer.refusal(Permission::ManageIntegrations) {
        return refused;
    }
    let current = match context.registry.get(&id).await {
        Ok(current) => current,
        Err(error) => return failure(&viewer, error),
    };
    let posted = Posted(form.into_inner());
    let patch = (|| {
        let mut set = posted.new_credentials()?;
        for name in &current.credential_names {
            if let Some(value) = posted.one(&format!("replace:{name}")).filter(|v| !v.is_empty()) {
                set.insert(name.clone(), value.to_owned());
            }
        }
        Ok::<_, Problem>(IntegrationPatch {
            vendor: Some(posted.vendor()?),
            name: Some(posted.text("name")),
            enabled: Some(posted.one("enabled").is_some()),
            base_url: Some(posted.text("baseUrl")),
            settings: Some(posted.settings()?),
            credential_changes: Some(CredentialChanges {
                set,
                remove: posted.all("remove").into_iter().map(str::to_owned).collect(),
            }),
            ..IntegrationPatch::default()
        })
    })();
    let again = |problem: Problem| {
        form_page(
            &viewer,
            &current.tenant,
            Some(&current.id),
            &posted.draft(current.credential_names.clone()),
            Some(&problem),
        )
    };
    let updated = match patch {
        Ok(patch) => context.registry.update(&current.id, patch).await,
        Err(problem) => return again(problem),
    };
    match updated {
        Ok(integration) => HttpResponse::SeeOther()
            .insert_header((
                LOCATION,
                format!("{}#integration-{}", list_url(&integration.tenant), integration.id),
            ))
            .finish(),
        Err(error @ (RegistryError::Invalid { .. } | RegistryError::NameTaken { .. })) => again(error.into()),
        Err(error) => failure(&viewer, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_credentials_need_a_name_and_a_value() {
        let posted = |pairs: &[(&str, &str)]| {
            Posted(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )
        };
        let form = posted(&[
            ("credential_name", "accountKey"),
            ("credential_value", "s3cret"),
            ("credential_name", ""),
            ("credential_value", ""),
        ]);
        let credentials = form.new_credentials().unwrap();
        assert_eq!(credentials.get("accountKey").map(String::as_str), Some("s3cret"));
        let half = posted(&[("credential_name", "accountKey"), ("credential_value", "")]);
        assert_eq!(half.new_credentials().err().map(|p| p.field), Some("credentials"));
        assert!(posted(&[("settings", "[1]")]).settings().is_err());
        assert!(posted(&[("settings", " ")]).settings().unwrap().is_empty());
    }
}
