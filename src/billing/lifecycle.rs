//! The billing life of a claim: which states exist, which moves between them are
//! legal, and what each state means for the FHIR Claim's own `status`.

use std::fmt;

/// Where a claim stands in billing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BillingState {
    Draft,
    /// Scrubbing found errors a person must fix.
    NeedsReview,
    ReadyToSubmit,
    Submitted,
    /// The clearinghouse or payer accepted it for adjudication (999/277CA).
    Accepted,
    /// Refused before adjudication (999/277CA): fix and resubmit.
    Rejected,
    Paid,
    PartiallyPaid,
    Denied,
    Appealed,
    Closed,
}

impl BillingState {
    pub const ALL: [BillingState; 11] = [
        BillingState::Draft,
        BillingState::NeedsReview,
        BillingState::ReadyToSubmit,
        BillingState::Submitted,
        BillingState::Accepted,
        BillingState::Rejected,
        BillingState::Paid,
        BillingState::PartiallyPaid,
        BillingState::Denied,
        BillingState::Appealed,
        BillingState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BillingState::Draft => "draft",
            BillingState::NeedsReview => "needs_review",
            BillingState::ReadyToSubmit => "ready_to_submit",
            BillingState::Submitted => "submitted",
            BillingState::Accepted => "accepted",
            BillingState::Rejected => "rejected",
            BillingState::Paid => "paid",
            BillingState::PartiallyPaid => "partially_paid",
            BillingState::Denied => "denied",
            BillingState::Appealed => "appealed",
            BillingState::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The states this one may move to.
    pub fn next_states(self) -> &'static [BillingState] {
        use BillingState::*;
        match self {
            Draft => &[ReadyToSubmit, NeedsReview, Closed],
            NeedsReview => &[Draft, ReadyToSubmit, Closed],
            ReadyToSubmit => &[Submitted, Draft, NeedsReview],
            Submitted => &[Accepted, Rejected],
            // Corrected and sent again, or given up.
            Rejected => &[Draft, NeedsReview, ReadyToSubmit, Closed],
            Accepted => &[Paid, PartiallyPaid, Denied],
            PartiallyPaid => &[Paid, Appealed, Closed],
            // Appealed, or corrected and resubmitted as a replacement claim.
            Denied => &[Appealed, ReadyToSubmit, NeedsReview, Closed],
            Appealed => &[Paid, PartiallyPaid, Denied, Closed],
            Paid => &[Closed],
            Closed => &[],
        }
    }

    pub fn can_move_to(self, to: BillingState) -> bool {
        self.next_states().contains(&to)
    }

    /// Whether an 835 may move the claim: every move `next_states` allows, and
    /// two only a remittance makes — a reversal (CLP02 22) takes the payer's
    /// decision back to `accepted`, and a denied claim the payer reprocessed is
    /// paid. Neither is open to the transitions API or the status feeds: a
    /// late acknowledgement must not undo a payment, nor a person pay a claim
    /// no money came for.
    pub fn can_move_on_remittance(self, to: BillingState) -> bool {
        use BillingState::*;
        self.can_move_to(to)
            || matches!(
                (self, to),
                (Paid | PartiallyPaid | Denied | Appealed, Accepted) | (Denied, Paid | PartiallyPaid)
            )
    }

    /// `Claim.status` in FHIR: a claim being prepared is `draft`; once it is meant
    /// for the payer it is `active`, whatever the payer made of it.
    pub fn fhir_status(self) -> &'static str {
        match self {
            BillingState::Draft | BillingState::NeedsReview => "draft",
            _ => "active",
        }
    }
}

impl fmt::Display for BillingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move that is not allowed from the claim's current state (HTTP 409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a claim in state {from} cannot move to {to} (allowed: {allowed})")]
pub struct IllegalTransition {
    pub from: BillingState,
    pub to: BillingState,
    pub allowed: String,
}

/// Checks the move `from → to`.
pub fn check_transition(from: BillingState, to: BillingState) -> Result<(), IllegalTransition> {
    if from.can_move_to(to) {
        return Ok(());
    }
    let allowed: Vec<&str> = from.next_states().iter().map(|s| s.as_str()).collect();
    Err(IllegalTransition {
        from,
        to,
        allowed: if allowed.is_empty() {
            "none: the claim is closed".into()
        } else {
            allowed.join(", ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in BillingState::ALL {
            assert_eq!(BillingState::parse(state.as_str()), Some(state));
        }
        assert_eq!(BillingState::parse("lost"), None);
    }

    #[test]
    fn a_claim_goes_out_and_comes_back_paid() {
        use BillingState::*;
        let path = [
            Draft,
            ReadyToSubmit,
            Submitted,
            Accepted,
            PartiallyPaid,
            Appealed,
            Paid,
            Closed,
        ];
        for pair in path.windows(2) {
            assert_eq!(
                check_transition(pair[0], pair[1]),
                Ok(()),
                "{} → {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn only_a_remittance_takes_a_decision_back_or_pays_a_denial() {
        use BillingState::*;
        for (from, to) in [
            (Paid, Accepted),
            (PartiallyPaid, Accepted),
            (Denied, Accepted),
            (Denied, Paid),
        ] {
            assert!(from.can_move_on_remittance(to), "{from} → {to}");
            assert!(check_transition(from, to).is_err(), "{from} → {to} by hand");
        }
        assert!(!Closed.can_move_on_remittance(Accepted));
        assert!(Accepted.can_move_on_remittance(Paid));
    }

    #[test]
    fn illegal_moves_are_refused_with_what_is_allowed() {
        let refused = check_transition(BillingState::Draft, BillingState::Paid).unwrap_err();
        assert!(refused.to_string().contains("ready_to_submit"), "{refused}");
        let closed = check_transition(BillingState::Closed, BillingState::Draft).unwrap_err();
        assert!(closed.to_string().contains("closed"), "{closed}");
        // Once sent, a claim is not pulled back to draft before the payer answers.
        assert!(check_transition(BillingState::Submitted, BillingState::Draft).is_err());
    }

    #[test]
    fn every_state_but_closed_has_a_way_on_and_is_reachable() {
        for state in BillingState::ALL {
            assert_eq!(state.next_states().is_empty(), state == BillingState::Closed);
            let reachable =
                state == BillingState::Draft || BillingState::ALL.iter().any(|s| s.can_move_to(state));
            assert!(reachable, "{state} cannot be reached");
        }
    }

    #[test]
    fn fhir_status_follows_the_billing_state() {
        assert_eq!(BillingState::NeedsReview.fhir_status(), "draft");
        assert_eq!(BillingState::Denied.fhir_status(), "active");
    }
}
