//! The admin and billing console (`/console`): server-rendered HTML pages over the
//! same services the JSON APIs use, served by this binary (no front-end server, no
//! build step), behind the embedded authorization server's sign-in.
//!
//! - Pages are [`maud`] templates (checked at compile time, every value escaped);
//!   [htmx](https://htmx.org) (vendored, see `assets/PROVENANCE.md`) swaps parts
//!   of a page for the actions that should not reload it (reordering, a connection
//!   test's result). Every action is also a plain form, so a page works without
//!   script.
//! - Sign-in is the authorization code grant with PKCE against the embedded
//!   server, the console being a first-party public client of it ([`client`]);
//!   the session cookie carries the access token, checked on every request as the
//!   API gate checks a bearer token ([`session`]).
//! - Roles come from the token's scopes: admin, biller, auditor ([`access`]).
//! - Handlers are thin: they call the integration registry, the orchestrator,
//!   billing (worklist, dashboard) and HL7 ingestion, never the database's rows
//!   directly.

pub mod access;
pub mod assets;
mod claims;
pub mod client;
pub mod csrf;
mod dashboard;
mod hl7;
mod hl7_fields;
mod home;
mod integrations;
pub mod layout;
pub mod session;

use actix_web::middleware::from_fn;
use actix_web::web;

/// What the console needs to know of the server it is part of.
pub struct ConsoleSettings {
    /// The base URL browsers use (`public_url`), without a trailing slash: where
    /// the sign-in comes back to, whether cookies are `Secure`, and the origin
    /// state-changing requests must come from.
    pub public_url: String,
}

/// Every console route. Assets and the sign-in callback are open; everything else
/// needs a session ([`session::require`]) and, for a change, a request from the
/// console's own pages ([`csrf`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/assets/{name}", web::get().to(assets::serve))
        .route("/console/callback", web::get().to(session::callback))
        .route("/console/sign-out", web::post().to(session::sign_out))
        .service(
            web::scope("/console")
                .wrap(from_fn(session::require))
                .wrap(from_fn(csrf::same_origin_only))
                .configure(home::configure)
                .configure(integrations::configure)
                .configure(hl7::configure)
                .configure(claims::configure)
                .configure(dashboard::configure)
                .default_service(web::to(layout::not_found)),
        );
}
