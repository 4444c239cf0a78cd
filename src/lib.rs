//! Claimbridge: a FHIR R4 server for healthcare exchange and billing.

pub mod admin_body;
pub mod app;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod cache;
pub mod cluster;
pub mod config;
pub mod console;
pub mod fhir;
pub mod hl7;
pub mod integrations;
pub mod jobs;
pub mod observability;
pub mod outbound_webhooks;
pub mod secrets;
pub mod store;
pub mod webhooks;
pub mod x12;
