//! The events subscribers can ask for, their bodies, and their emission: one
//! delivery job per subscription that wants the event, enqueued in the caller's
//! transaction.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::delivery::{DELIVERY_ATTEMPTS, DELIVERY_JOB};
use crate::billing::lifecycle::BillingState;
use crate::jobs::{enqueue_in, NewJob, QueueError};
use crate::store::webhook_subscriptions::WebhookTarget;
use crate::store::{Session, StoreError};

/// What a subscription's `events` holds to receive every event.
pub const ALL_EVENTS: &str = "*";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Billing first saw the claim (intake, or the first billing operation on a
    /// FHIR Claim): it is `draft`.
    ClaimCreated,
    ClaimSubmitted,
    ClaimAccepted,
    ClaimRejected,
    /// Paid in full or in part.
    ClaimPaid,
    ClaimDenied,
    EligibilityChecked,
    /// An 835 paid money on one of our claims.
    PaymentReceived,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::ClaimCreated,
        EventType::ClaimSubmitted,
        EventType::ClaimAccepted,
        EventType::ClaimRejected,
        EventType::ClaimPaid,
        EventType::ClaimDenied,
        EventType::EligibilityChecked,
        EventType::PaymentReceived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ClaimCreated => "claim.created",
            EventType::ClaimSubmitted => "claim.submitted",
            EventType::ClaimAccepted => "claim.accepted",
            EventType::ClaimRejected => "claim.rejected",
            EventType::ClaimPaid => "claim.paid",
            EventType::ClaimDenied => "claim.denied",
            EventType::EligibilityChecked => "eligibility.checked",
            EventType::PaymentReceived => "payment.received",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        EventType::ALL.into_iter().find(|event| event.as_str() == text)
    }

    /// The event a claim's move into `state` is, if any.
    pub fn of_claim_state(state: BillingState) -> Option<Self> {
        match state {
            BillingState::Submitted => Some(EventType::ClaimSubmitted),
            BillingState::Accepted => Some(EventType::ClaimAccepted),
            BillingState::Rejected => Some(EventType::ClaimRejected),
            BillingState::Paid | BillingState::PartiallyPaid => Some(EventType::ClaimPaid),
            BillingState::Denied => Some(EventType::ClaimDenied),
            _ => None,
        }
    }

    fn wanted_by(self, target: &WebhookTarget) -> bool {
        target
            .events
            .iter()
            .any(|name| name == ALL_EVENTS || name == self.as_str())
    }
}

/// One event, as every subscriber receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `evt_<uuid>`: the same on every delivery attempt.
    pub id: String,
    pub event_type: EventType,
    pub tenant: String,
    pub created_at: DateTime<Utc>,
    /// Identifiers and states only.
    pub data: Value,
}

impl Event {
    pub fn new(event_type: EventType, tenant: &str, data: Value) -> Self {
        Event {
            id: format!("evt_{}", uuid::Uuid::new_v4().simple()),
            event_type,
            tenant: tenant.to_owned(),
            created_at: Utc::now(),
            data,
        }
    }

    /// The JSON body POSTed to subscribers.
    pub fn body(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.event_type.as_str(),
            "createdAt": crate::fhir::instant(self.created_at),
            "tenant": self.tenant,
            "data": self.data,
        })
    }
}

/// Enqueues the event for each enabled subscription of `tenant` that wants it, in
/// the caller's transaction `tx`.
pub async fn emit(
    tx: &mut Session,
    event_type: EventType,
    tenant: &str,
    data: Value,
) -> Result<(), StoreError> {
    let wanting = wanting(tx, event_type, tenant).await?;
    enqueue(tx, &wanting, &Event::new(event_type, tenant, data)).await
}

/// A claim's move `from → to`, when `to` is an event. Claim events are the
/// frequent ones (batch intake makes thousands): their data is built only when a
/// subscription wants them.
pub async fn claim_moved(
    tx: &mut Session,
    tenant: &str,
    claim_id: &str,
    from: BillingState,
    to: BillingState,
) -> Result<(), StoreError> {
    let Some(event_type) = EventType::of_claim_state(to) else {
        return Ok(());
    };
    let wanting = wanting(tx, event_type, tenant).await?;
    if wanting.is_empty() {
        return Ok(());
    }
    let data = json!({"claimId": claim_id, "state": to.as_str(), "previousState": from.as_str()});
    enqueue(tx, &wanting, &Event::new(event_type, tenant, data)).await
}

/// Billing first saw the claim: it is `draft`.
pub async fn claim_created(tx: &mut Session, tenant: &str, claim_id: &str) -> Result<(), StoreError> {
    let event_type = EventType::ClaimCreated;
    let wanting = wanting(tx, event_type, tenant).await?;
    if wanting.is_empty() {
        return Ok(());
    }
    let data = json!({"claimId": claim_id, "state": BillingState::Draft.as_str()});
    enqueue(tx, &wanting, &Event::new(event_type, tenant, data)).await
}

/// The ids of the enabled subscriptions of `tenant` that want `event_type`: no
/// query while the store knows there are none (see `Session::webhook_targets`).
async fn wanting(tx: &mut Session, event_type: EventType, tenant: &str) -> Result<Vec<String>, StoreError> {
    let targets = tx.webhook_targets().await?;
    Ok(targets
        .iter()
        .filter(|target| target.tenant == tenant && event_type.wanted_by(target))
        .map(|target| target.id.clone())
        .collect())
}

/// One delivery job per subscription, in `tx`.
async fn enqueue(tx: &mut Session, subscriptions: &[String], event: &Event) -> Result<(), StoreError> {
    if subscriptions.is_empty() {
        return Ok(());
    }
    let body = event.body();
    for subscription in subscriptions {
        let job = NewJob::new(
            DELIVERY_JOB,
            json!({"subscriptionId": subscription, "event": body}),
        )
        .max_attempts(DELIVERY_ATTEMPTS);
        match enqueue_in(tx, job).await {
            Ok(_) => {}
            Err(QueueError::Store(error)) => return Err(error),
            // Only a malformed job (blank kind, no attempts) is refused otherwise.
            Err(other) => unreachable!("a webhook delivery job is well formed: {other}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(events: &[&str]) -> WebhookTarget {
        WebhookTarget {
            id: "s1".into(),
            tenant: "default".into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    #[test]
    fn each_event_has_one_name_and_claim_states_map_onto_them() {
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
        assert_eq!(EventType::parse("claim.closed"), None);
        assert_eq!(
            EventType::of_claim_state(BillingState::PartiallyPaid),
            Some(EventType::ClaimPaid)
        );
        assert_eq!(EventType::of_claim_state(BillingState::ReadyToSubmit), None);
    }

    #[test]
    fn a_subscription_wants_what_it_names_or_everything() {
        assert!(EventType::ClaimPaid.wanted_by(&target(&["claim.paid"])));
        assert!(!EventType::ClaimDenied.wanted_by(&target(&["claim.paid"])));
        assert!(EventType::PaymentReceived.wanted_by(&target(&["*"])));
    }

    #[test]
    fn a_body_names_its_event_and_carries_only_the_data_given() {
        let event = Event::new(EventType::ClaimSubmitted, "default", json!({"claimId": "c1"}));
        let body = event.body();
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(body["type"], "claim.submitted");
        assert_eq!(body["tenant"], "default");
        assert_eq!(body["data"], json!({"claimId": "c1"}));
        assert!(body["createdAt"].as_str().unwrap().ends_with('Z'));
    }
}
