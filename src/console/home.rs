//! `/console`: where a person lands after signing in — what each section is for,
//! and what their role lets them do there.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::html;

use super::access::{Permission, Viewer};
use super::layout::{self, Section};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(home)).route("/", web::get().to(home));
}

/// `(path, title, what it is for)` of each section.
const SECTIONS: [(&str, &str, &str); 4] = [
    (
        "/console/dashboard",
        "Dashboard",
        "Billed, collected, collection and denial rates, days to pay, for a date range.",
    ),
    (
        "/console/claims",
        "Claims",
        "The worklist by billing state: scrub errors, denials, resubmissions.",
    ),
    (
        "/console/integrations",
        "Integrations",
        "Clearinghouses and payment processors per tenant: order, health, attempts and failovers.",
    ),
    (
        "/console/hl7",
        "HL7 messages",
        "Messages received over MLLP and HTTP: status, fields by name, errors, reprocessing.",
    ),
];

async fn home(viewer: Viewer) -> HttpResponse {
    let abilities = [
        (Permission::ManageIntegrations, "configure integrations"),
        (Permission::WorkClaims, "work claims"),
        (Permission::ReprocessHl7, "reprocess HL7 messages"),
    ];
    let can: Vec<&str> = abilities
        .iter()
        .filter(|(permission, _)| viewer.may(*permission))
        .map(|(_, what)| *what)
        .collect();
    let content = html! {
        p {
            @if can.is_empty() {
                "Your role reads everything here and changes nothing."
            } @else {
                "Your role lets you read everything here and " (can.join(", ")) "."
            }
        }
        ul class="cards" {
            @for (href, title, about) in SECTIONS {
                li {
                    h2 { a href=(href) { (title) } }
                    p { (about) }
                }
            }
        }
    };
    layout::answer(
        StatusCode::OK,
        layout::page(Some(&viewer), Some(Section::Home), "Console", content),
    )
}
