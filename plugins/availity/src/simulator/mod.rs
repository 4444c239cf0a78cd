//! A simulator of Availity: the REST API (token, coverages, claim statuses,
//! service reviews, payer list) on the simulator kit's HTTP server, and the batch EDI channel as a real
//! OpenSSH SFTP server on loopback ([`sftp::SftpServer`]) whose uploaded 837 files
//! are answered with 999 and 277CA files.
//!
//! It accepts the client credentials [`CLIENT_ID`] / [`CLIENT_SECRET`]. Besides the
//! kit's control plane, `GET /__simulator/claims` lists the claims received over
//! SFTP (`pcn`, `fileName`, `receivedAt`, `accepted`), `GET /__simulator/tokens`
//! counts the tokens issued, `POST /__simulator/tokens/revoke` invalidates them and
//! `PUT /__simulator/service-reviews/{id}` decides a pended service review.
//! The `reject` fault refuses the next coverage or claim status with Availity's
//! error envelope, or rejects every claim of the next 837 in its 277CA.

mod acknowledgements;
mod claim_statuses;
mod control;
mod coverages;
mod http;
mod payers;
mod service_reviews;
pub mod sftp;
mod state;
mod token;

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use actix_web::web;
use claimbridge_simulator_kit::{Faults, Simulator, SimulatorError};
use serde_json::{json, Value};

pub use state::{ReceivedClaim, SimulatorState, TOKEN_LIFETIME};

/// The client id the simulator's token endpoint accepts.
pub const CLIENT_ID: &str = "claimbridge-simulator";
/// The client secret the simulator's token endpoint accepts.
pub const CLIENT_SECRET: &str = "simulated-availity-secret";

/// Starts the REST simulator on `bind` with `scripted_fault` (`5xx*2`, `429=3`…).
pub async fn start(bind: SocketAddr, scripted_fault: Option<&str>) -> Result<Arc<Simulator>, SimulatorError> {
    start_with(bind, scripted_fault, SimulatorState::default(), Faults::default()).await
}

/// As [`start`], with state and faults the caller keeps: the same ones go to an
/// [`sftp::SftpServer`] so that claims uploaded there show in claim statuses and
/// `/__simulator/claims`, and tests can read the state directly.
pub async fn start_with(
    bind: SocketAddr,
    scripted_fault: Option<&str>,
    state: SimulatorState,
    faults: Faults,
) -> Result<Arc<Simulator>, SimulatorError> {
    Simulator::start_with(bind, faults, scripted_fault, move |config| {
        config
            .app_data(web::Data::new(state.clone()))
            .route("/v1/token", web::post().to(token::issue))
            .route("/v1/coverages", web::post().to(coverages::create))
            .route("/v1/coverages/{id}", web::get().to(coverages::read))
            .route("/v1/claim-statuses", web::post().to(claim_statuses::search))
            .route("/v1/claim-statuses/{id}", web::get().to(claim_statuses::read))
            .route("/v1/availity-payer-list", web::get().to(payers::list))
            .route("/v2/service-reviews", web::post().to(service_reviews::create))
            .route("/v2/service-reviews/{id}", web::get().to(service_reviews::read))
            .route(
                "/__simulator/service-reviews/{id}",
                web::put().to(service_reviews::decide),
            )
            .route("/__simulator/claims", web::get().to(control::claims))
            .route("/__simulator/tokens", web::get().to(control::tokens))
            .route("/__simulator/tokens/revoke", web::post().to(control::revoke));
    })
    .await
}

/// Both channels of a simulated Availity, sharing state and faults.
pub struct Running {
    pub http: Arc<Simulator>,
    pub sftp: sftp::SftpServer,
    pub state: SimulatorState,
}

/// Why [`start_with_sftp`] failed.
#[derive(Debug)]
pub enum StartError {
    Http(SimulatorError),
    /// `sshd` could not be started (not installed, not root, no free port).
    Sftp(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Http(error) => write!(f, "the REST simulator cannot start: {error}"),
            StartError::Sftp(error) => write!(f, "the SFTP simulator cannot start: {error}"),
        }
    }
}

impl std::error::Error for StartError {}

/// The REST simulator on `bind` and the SFTP server serving `sftp_root`, as
/// `claimbridge simulate availity` runs them.
pub async fn start_with_sftp(
    bind: SocketAddr,
    scripted_fault: Option<&str>,
    sftp_root: &Path,
) -> Result<Running, StartError> {
    let state = SimulatorState::default();
    let faults = Faults::default();
    let http = start_with(bind, scripted_fault, state.clone(), faults.clone())
        .await
        .map_err(StartError::Http)?;
    let sftp = match sftp::SftpServer::start(sftp_root, state.clone(), faults).await {
        Ok(sftp) => sftp,
        Err(error) => {
            http.stop().await;
            return Err(StartError::Sftp(error));
        }
    };
    Ok(Running { http, sftp, state })
}

impl Running {
    /// An integration configured against this simulator, in the admin API's shape
    /// (`baseUrl`, `settings`, `credentials`). The credentials are the simulator's
    /// own, generated for this run: safe to print for a demo.
    pub fn integration(&self) -> Value {
        json!({
            "vendor": crate::VENDOR,
            "baseUrl": self.http.base_url(),
            "settings": {
                "sftpHost": self.sftp.host(),
                "sftpPort": self.sftp.port(),
                "sftpHostKey": self.sftp.host_public_key(),
            },
            "credentials": {
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "sftpUsername": self.sftp.username(),
                "sftpPrivateKey": self.sftp.client_private_key(),
            },
        })
    }
}
