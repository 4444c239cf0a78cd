//! The sections whose pages are still to come (the claims worklist and the
//! dashboard): their addresses answer already, so the navigation is whole and a
//! bookmark made now keeps working.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::html;

use super::access::Viewer;
use super::layout::{self, Section};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(dashboard))
        .route("/claims", web::get().to(claims));
}

async fn dashboard(viewer: Viewer) -> HttpResponse {
    coming(
        &viewer,
        Section::Dashboard,
        "Dashboard",
        "/api/billing/dashboard/kpis",
    )
}

async fn claims(viewer: Viewer) -> HttpResponse {
    coming(&viewer, Section::Claims, "Claims", "/api/billing/claims")
}

fn coming(viewer: &Viewer, section: Section, title: &str, api: &str) -> HttpResponse {
    let content = html! {
        p { "This page is not built yet. Meanwhile the same data is in the API at " code { (api) } "." }
    };
    layout::answer(
        StatusCode::OK,
        layout::page(Some(viewer), Some(section), title, content),
    )
}
