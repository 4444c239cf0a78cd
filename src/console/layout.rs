//! The frame around every console page — skip link, header with the navigation
//! and who is signed in, `main` — and the answers pages are sent in: never cached,
//! never framed, no referrer to any other site, and a Content Security Policy that
//! allows only this server's own scripts and styles (no inline script: htmx is
//! configured by a meta tag).
//!
//! The referrer policy is `same-origin`, not `no-referrer`: under `no-referrer` a
//! browser sends `Origin: null` with a form's POST, and the console's cross-site
//! check ([`super::csrf`]) could not tell its own forms from anyone's. The console's
//! URLs still reach no other site.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use maud::{html, Markup, DOCTYPE};

use super::access::Viewer;
use super::assets;

/// Where the pages send what they do not allow themselves: only this origin's
/// scripts, styles, images (and `data:` images, which uPlot's legends use),
/// forms posted only here, never framed.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
                   object-src 'none'";

/// htmx without the features a strict CSP forbids or this console does not use:
/// no indicator styles injected inline, no `eval`, no script tags in swapped
/// content, and history snapshots kept out of localStorage (pages hold PHI).
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0,"refreshOnHistoryMiss":true}"#;

/// The sections of the console, in the navigation's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Dashboard,
    Claims,
    Integrations,
    Hl7,
}

const NAVIGATION: [(Section, &str, &str); 5] = [
    (Section::Home, "/console", "Home"),
    (Section::Dashboard, "/console/dashboard", "Dashboard"),
    (Section::Claims, "/console/claims", "Claims"),
    (Section::Integrations, "/console/integrations", "Integrations"),
    (Section::Hl7, "/console/hl7", "HL7 messages"),
];

/// A whole page: `title` (the `h1` and the document title), in `section`.
pub fn page(viewer: Option<&Viewer>, section: Option<Section>, title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=(HTMX_CONFIG);
                title { (title) " — Claimbridge console" }
                link rel="stylesheet" href=(assets::url("console.css"));
                script src=(assets::url("htmx.min.js")) defer {}
            }
            body {
                a class="skip-link" href="#main" { "Skip to main content" }
                header class="site-header" {
                    a class="brand" href="/console" { "Claimbridge" }
                    @if let Some(viewer) = viewer {
                        nav aria-label="Console sections" {
                            ul {
                                @for (item, href, label) in NAVIGATION {
                                    li {
                                        @if Some(item) == section {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        div class="who" {
                            span { "Signed in as " strong { (viewer.name) } }
                            @for role in viewer.roles() {
                                span class="role" { (role) }
                            }
                            @if !viewer.anonymous {
                                form method="post" action="/console/sign-out" {
                                    button type="submit" class="link-button" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// A page (or an htmx fragment) as an answer, with the console's headers.
pub fn answer(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        // A URL answers a whole page or, to htmx, a fragment of one.
        .insert_header(("Vary", "HX-Request"))
        .body(markup.into_string())
}

/// Whether htmx sent the request (and wants a fragment, not a page).
pub fn is_htmx(request: &HttpRequest) -> bool {
    request.headers().contains_key("HX-Request")
}

/// A message page: refusals, errors, "signed out".
pub fn message(
    viewer: Option<&Viewer>,
    status: StatusCode,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> HttpResponse {
    answer(
        status,
        page(
            viewer,
            None,
            title,
            html! {
                p role=(if status.is_success() { "status" } else { "alert" }) { (text) }
                @if let Some((href, label)) = link {
                    p { a href=(href) { (label) } }
                }
            },
        ),
    )
}

pub fn forbidden(viewer: Option<&Viewer>, why: &str) -> HttpResponse {
    message(
        viewer,
        StatusCode::FORBIDDEN,
        "Not allowed",
        why,
        Some(("/console", "Back to the console")),
    )
}

pub fn server_error(viewer: Option<&Viewer>, what: &str, error: &dyn std::fmt::Display) -> HttpResponse {
    tracing::error!(%error, "console: {what}");
    message(
        viewer,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not do this now; try again. The error is in the server's log.",
        Some(("/console", "Back to the console")),
    )
}

pub async fn not_found(request: HttpRequest) -> HttpResponse {
    use actix_web::HttpMessage;
    let viewer = request.extensions().get::<Viewer>().cloned();
    message(
        viewer.as_ref(),
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no console page at this address.",
        Some(("/console", "Back to the console")),
    )
}
