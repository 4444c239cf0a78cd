//! End-to-end tests: each starts the real server on an ephemeral port and speaks
//! HTTP to it, on the embedded SQLite default and, when
//! `CLAIMBRIDGE_TEST_POSTGRES_URL` is set, on PostgreSQL too.

mod audit;
mod auth;
mod billing;
mod bundles;
mod cache;
mod console;
mod console_browser;
mod crud;
mod dashboard;
mod denials;
mod denied;
mod eligibility;
mod eligibility_resources;
mod errors;
mod examples;
mod external_issuers;
mod failover;
mod feeds;
mod fhir_client;
mod health;
mod helpers;
mod history;
mod hl7;
mod intake;
mod integrations;
mod jobs;
mod log_capture;
mod metrics;
mod multinode;
mod payments;
mod phi_canary;
mod prior_auth;
mod prior_auth_sync;
mod prometheus_text;
mod rate_limit;
mod remittance;
mod remittance_list;
mod search;
mod smart_launch;
mod submission;
mod tenants;
mod validate;
mod webhooks_in;
mod webhooks_out;
