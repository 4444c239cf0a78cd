//! Outbound event webhooks (issue 6, item 7): subscribers (per tenant: a URL, the
//! events wanted, a signing secret) are told when a claim is created, submitted,
//! accepted, rejected, paid or denied, when an eligibility check is answered, and
//! when an 835 pays a claim.
//!
//! An event is enqueued as one `webhook_delivery` job per subscription that wants
//! it, in the same database transaction as the change it reports: a change that
//! rolls back tells nobody, and one that commits is told even if the node stops at
//! once. The durable job queue then delivers it, retrying with backoff, and every
//! attempt is kept (`GET /admin/webhooks/{id}/deliveries`). Delivery is at least
//! once: subscribers deduplicate by the event id.
//!
//! Bodies carry identifiers and states only, never PHI (no names, birth dates or
//! member ids), since they leave for URLs an admin typed in and sit in job
//! payloads that admins list.

pub mod delivery;
pub mod events;
pub mod routes;
pub mod signature;
pub mod subscriptions;
