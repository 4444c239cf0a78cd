//! What Claimbridge's vendor simulators (Claim.MD, Availity, Stripe) share: an HTTP
//! server on a fixed address that can go down and come back ([`Simulator`]), and
//! faults scripted from the command line or at run time ([`Fault`], [`Faults`]).
//!
//! A simulator answers in its vendor's wire format; this kit adds the ways the
//! vendor fails, so the orchestrator's retries, breaker and failover meet the real
//! thing:
//!
//! - `down`: the address refuses connections (the listener is closed, not a 503);
//! - `slow=<ms>`: each answer waits that long first;
//! - `5xx`: a 500 before the vendor does anything;
//! - `429`: throttled, with `Retry-After`;
//! - `timeout`: the vendor acts on the request, then never answers (the case that
//!   makes a claim upload ambiguous);
//! - `reject`: the vendor refuses the data, in its own error format (each simulator
//!   asks [`Faults::take_reject`]).
//!
//! A fault may be limited to the next N requests (`5xx*3`). At run time,
//! `PUT /__simulator/fault` with `{"fault": "5xx", "times": 3}` (or
//! `{"fault": "down", "forMillis": 2000}`) changes it, `DELETE /__simulator/fault`
//! clears it, and `GET /__simulator/requests` counts the vendor requests served by
//! path, for tests that prove something was sent exactly once.

mod fault;
mod server;

pub use fault::{Fault, FaultParseError, Faults};
pub use server::{Simulator, SimulatorError};
