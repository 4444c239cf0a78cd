//! Stripe patient payments for Claimbridge, and a simulator of Stripe's API.
//!
//! [`StripePlugin`] charges patients (a Customer and a PaymentIntent created and
//! confirmed in one call), refunds them, and verifies the webhooks Stripe sends.
//! It speaks Stripe's own wire protocol: `{baseUrl}/v1/…`, the secret key as a
//! Bearer token, form-encoded bodies with bracket notation, an `Idempotency-Key` on
//! every POST (the operation's own key, so a retry is answered with the first
//! answer and never charges twice), a pinned `Stripe-Version`, amounts in minor
//! units, and Stripe's error object.
//!
//! # Configuration
//! - `baseUrl`: `https://api.stripe.com` (or a simulator's address); `/v1/…` is
//!   appended.
//! - `settings` (all optional, camelCase): `stripeVersion` (default
//!   [`DEFAULT_STRIPE_VERSION`]), `webhookToleranceSecs` (default 300),
//!   `timeoutSecs` (default 30). Unknown names are refused.
//! - `credentials`: `secretKey` (required), `webhookSecret` (needed to accept
//!   webhooks), `previousWebhookSecret` (while rolling the webhook secret).

mod api;
mod error;
mod money;
mod payments;
mod plugin;
mod refunds;
mod settings;
pub mod signature;
pub mod simulator;
mod webhook;

pub use plugin::StripePlugin;
pub use settings::{
    credential, Settings, DEFAULT_STRIPE_VERSION, DEFAULT_TIMEOUT_SECS, DEFAULT_WEBHOOK_TOLERANCE_SECS,
};
pub use signature::sign;

/// The vendor id in configuration and webhook URLs (`/webhooks/stripe/{id}`).
pub const VENDOR: &str = "stripe";
