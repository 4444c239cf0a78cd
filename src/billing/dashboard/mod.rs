//! The billing dashboard's key figures for a period (whole UTC days, both ends
//! included). Each is summed by the database over an index range (see
//! `store::dashboard`), never by loading claims. The definitions:
//!
//! - **billed**: the total charges (`Claim.total`, as last submitted) of the claims
//!   first submitted in the period — a claim is billed when it first moves to
//!   `submitted`, once, however often it is resubmitted.
//! - **collected**: payments posted in the period (ledger kind `payment`, payer and
//!   patient), less refunds posted in it (a payer taking money back). Adjustments,
//!   patient responsibility and provider-level adjustments (PLB) are not money
//!   received and do not count.
//! - **collection rate**: collected ÷ billed, 4 decimals; `None` when nothing was
//!   billed. Both are of the same period, not of the same claims: a payment in
//!   March for a claim billed in February counts in March.
//! - **denial rate**: of the claims adjudicated in the period (moved to `paid`,
//!   `partially_paid` or `denied`), the share moved to `denied` in it, 4 decimals;
//!   a claim denied, appealed and paid counts once, as denied. `None` when none
//!   was adjudicated.
//! - **average days to pay**: over the claims whose first payment (a payer payment
//!   above zero) was posted in the period, the mean time from their first
//!   submission (or, never submitted, from when billing first saw them) to that
//!   posting, in days to 1 decimal; `None` when no claim was paid.
//! - **claims by status**: the claims billing first saw in the period, by their
//!   state now; every state is listed, zero included.

pub mod routes;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::billing::lifecycle::BillingState;
use crate::billing::remittance::ledger::EntryKind;
use crate::billing::service::BillingError;
use crate::fhir::service::ResourceService;
use crate::store::dashboard::{DayFigures, KpiFigures, KpiQuery};
use crate::store::model::Tenant;

/// The period's figures, money in cents.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpis {
    pub billed_cents: i64,
    pub collected_cents: i64,
    pub collection_rate: Option<Decimal>,
    pub denial_rate: Option<Decimal>,
    pub average_days_to_pay: Option<Decimal>,
    /// Every state, in lifecycle order, with how many claims are in it.
    pub claims_by_status: Vec<(String, i64)>,
}

const SECONDS_PER_DAY: i64 = 24 * 60 * 60;

/// The figures of the period from `start` to just before `end`.
pub async fn kpis(
    fhir: &ResourceService,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> Result<Kpis, BillingError> {
    let query = KpiQuery {
        start,
        end,
        collected_kinds: &[EntryKind::Payment.as_str(), EntryKind::Refund.as_str()],
        adjudicated_states: &[
            BillingState::Paid.as_str(),
            BillingState::PartiallyPaid.as_str(),
            BillingState::Denied.as_str(),
        ],
        denied_state: BillingState::Denied.as_str(),
    };
    let mut session = fhir.session(&Tenant::default()).await?;
    Ok(Kpis::of(session.kpi_figures(&query).await?))
}

impl Kpis {
    fn of(figures: KpiFigures) -> Kpis {
        let mut claims_by_status: Vec<(String, i64)> = BillingState::ALL
            .iter()
            .map(|state| (state.as_str().to_owned(), 0))
            .collect();
        for (state, count) in figures.claims_by_state {
            match claims_by_status.iter_mut().find(|(known, _)| *known == state) {
                Some(entry) => entry.1 = count,
                // A state this version does not know is still counted, not hidden.
                None => claims_by_status.push((state, count)),
            }
        }
        Kpis {
            billed_cents: figures.billed_cents,
            collected_cents: figures.collected_cents,
            collection_rate: ratio(figures.collected_cents, figures.billed_cents, 4),
            denial_rate: ratio(figures.denied_claims, figures.adjudicated_claims, 4),
            average_days_to_pay: ratio(
                figures.seconds_to_pay,
                figures.paid_claims.saturating_mul(SECONDS_PER_DAY),
                1,
            ),
            claims_by_status,
        }
    }
}

/// Denial reasons the dashboard's chart shows.
pub const TOP_REASONS: i64 = 8;

/// Days the dashboard's trend covers, ending on the period's last day.
pub const TREND_DAYS: u32 = 30;

/// A denial reason and how often payers gave it in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct DenialReason {
    /// `CO-197`
    pub code: String,
    pub description: String,
    pub count: i64,
}

/// The denial reasons recorded most often from `start` to just before `end`, at
/// most `limit`, with what each means.
pub async fn top_denial_reasons(
    fhir: &ResourceService,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<Vec<DenialReason>, BillingError> {
    let mut session = fhir.session(&Tenant::default()).await?;
    let counted = session.top_denial_codes(start, end, limit).await?;
    Ok(counted
        .into_iter()
        .map(|(code, count)| {
            let description = crate::billing::denials::parse_denial_code(&code)
                .map(|(group, carc)| {
                    let denial = crate::billing::denials::Denial {
                        group,
                        carc,
                        rarcs: Vec::new(),
                        payer_id: None,
                        amount: None,
                        text: None,
                    };
                    crate::billing::denials::analyze(&denial).reason_description
                })
                .unwrap_or_default();
            DenialReason {
                code,
                description,
                count,
            }
        })
        .collect())
}

/// Billed and collected on each of the `TREND_DAYS` days ending with `last_day`
/// (UTC), oldest first, with the figures' definitions above.
pub async fn trend(
    fhir: &ResourceService,
    last_day: chrono::NaiveDate,
) -> Result<Vec<DayFigures>, BillingError> {
    let days: Vec<chrono::DateTime<chrono::Utc>> = (0..TREND_DAYS)
        .rev()
        .filter_map(|back| last_day.checked_sub_days(chrono::Days::new(u64::from(back))))
        .filter_map(|day| day.and_hms_opt(0, 0, 0))
        .map(|midnight| midnight.and_utc())
        .collect();
    let collected = [EntryKind::Payment.as_str(), EntryKind::Refund.as_str()];
    let mut session = fhir.session(&Tenant::default()).await?;
    Ok(session.daily_figures(&days, &collected).await?)
}

/// `part / whole` to exactly `decimals` places (rounded half away from zero, so
/// `0.5` shows as `0.5000`); `None` when `whole` is zero.
fn ratio(part: i64, whole: i64, decimals: u32) -> Option<Decimal> {
    let quotient = Decimal::from(part).checked_div(Decimal::from(whole))?;
    let mut rounded = quotient.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(decimals);
    Some(rounded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> KpiFigures {
        KpiFigures {
            billed_cents: 43800,
            collected_cents: 24600,
            adjudicated_claims: 3,
            denied_claims: 1,
            paid_claims: 2,
            seconds_to_pay: 3 * SECONDS_PER_DAY + 12 * 3600,
            claims_by_state: vec![
                ("paid".into(), 1),
                ("denied".into(), 1),
                ("ready_to_submit".into(), 4),
            ],
        }
    }

    #[test]
    fn rates_and_days_are_exact_decimals_rounded_half_away_from_zero() {
        let kpis = Kpis::of(figures());
        assert_eq!(kpis.collection_rate.unwrap().to_string(), "0.5616");
        assert_eq!(kpis.denial_rate.unwrap().to_string(), "0.3333");
        // 3.5 days over two claims.
        assert_eq!(kpis.average_days_to_pay.unwrap().to_string(), "1.8");
        assert_eq!(ratio(1, 8, 2).unwrap().to_string(), "0.13");
        assert_eq!(ratio(2, 3, 4).unwrap().to_string(), "0.6667");
        assert_eq!(ratio(1, 2, 4).unwrap().to_string(), "0.5000");
        assert_eq!(ratio(0, 86400, 1).unwrap().to_string(), "0.0");
    }

    #[test]
    fn nothing_to_divide_by_gives_no_rate() {
        let kpis = Kpis::of(KpiFigures {
            collected_cents: 500,
            ..KpiFigures::default()
        });
        assert_eq!(
            (kpis.collection_rate, kpis.denial_rate, kpis.average_days_to_pay),
            (None, None, None)
        );
    }

    #[test]
    fn every_state_is_listed_in_lifecycle_order() {
        let kpis = Kpis::of(figures());
        let states: Vec<&str> = kpis.claims_by_status.iter().map(|(s, _)| s.as_str()).collect();
        let all: Vec<&str> = BillingState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(states, all);
        let count = |name: &str| kpis.claims_by_status.iter().find(|(s, _)| s == name).unwrap().1;
        assert_eq!(
            (count("ready_to_submit"), count("paid"), count("closed")),
            (4, 1, 0)
        );
    }
}
