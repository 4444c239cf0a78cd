//! A simulator of Claim.MD's API, for tests and `claimbridge simulate claimmd`.
//!
//! It serves `POST /services/<name>/` for `upload`, `uploadlist`, `response`,
//! `eralist`, `era835`, `elig` and `payerlist` with Claim.MD's field names and
//! shapes: the AccountKey form field (refused with an `Invalid AccountKey` error
//! element in an HTTP 200), XML unless `Accept` asks for JSON, errors as `error`
//! elements in a 200, monotonic `ResponseID` and `ERAID` cursors. An upload is read
//! as an 837P: each claim (CLM01, CLM02, its lines, its payer) is checked by a few
//! Claim.MD-like edits, accepted or rejected with messages on the response feed, and
//! each accepted claim is paid in full by an ERA whose 835 the simulator writes.
//!
//! Besides the kit's faults (`down`, `slow`, `5xx`, `429`, `timeout`), `reject` makes
//! the next upload (or eligibility request) fail Claim.MD's file-level validation.
//! Inspection and control, outside the vendor's API:
//! - `GET /__simulator/claims`: `[{"pcn", "fileName", "fileNames", "timesReceived"}]`,
//!   every claim received and how many times — what proves "exactly once";
//! - `PUT /__simulator/vendor-error` `{"errorCode", "errorMesg", "times"}`: the next
//!   requests are answered with that Claim.MD error (HTTP 200);
//! - `PUT /__simulator/listing-lag` `{"times"}`: the next `uploadlist` answers list
//!   no file, as a listing that lags behind the uploads;
//! - the kit's `PUT/DELETE /__simulator/fault` and `GET /__simulator/requests`.

mod answer;
mod benefits;
mod books;
mod form;
mod payers;
mod remit;
mod services;
mod x12;

use std::net::SocketAddr;
use std::sync::Arc;

pub use books::Books;
use claimbridge_simulator_kit::Faults;
pub use claimbridge_simulator_kit::{Simulator, SimulatorError};

/// The AccountKey the simulator accepts unless told otherwise: configure an
/// integration with `{"accountKey": DEFAULT_ACCOUNT_KEY}` to talk to it.
pub const DEFAULT_ACCOUNT_KEY: &str = "claimmd-simulator-account-key";

/// Runs the simulator on `bind` (port 0 picks one) accepting
/// [`DEFAULT_ACCOUNT_KEY`], showing `scripted_fault` (`5xx*3`, `reject`, …) from the
/// start.
pub async fn start(bind: SocketAddr, scripted_fault: Option<&str>) -> Result<Arc<Simulator>, SimulatorError> {
    start_with(bind, scripted_fault, DEFAULT_ACCOUNT_KEY)
        .await
        .map(|(simulator, _)| simulator)
}

/// As [`start`], accepting `account_key`, and returning the simulated account's
/// records as well.
pub async fn start_with(
    bind: SocketAddr,
    scripted_fault: Option<&str>,
    account_key: &str,
) -> Result<(Arc<Simulator>, Books), SimulatorError> {
    let faults = Faults::default();
    let shared = services::Shared {
        books: Books::default(),
        faults: faults.clone(),
        account_key: account_key.to_owned(),
    };
    let books = shared.books.clone();
    let simulator = Simulator::start_with(bind, faults, scripted_fault, move |config| {
        services::configure(config, shared.clone())
    })
    .await?;
    Ok((simulator, books))
}
