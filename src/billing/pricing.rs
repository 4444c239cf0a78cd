//! Pricing: what the payer is expected to allow for each line of a claim, and how much
//! of that the patient is likely to owe, for estimates before the payer's 835 says.
//!
//! A [`FeeSchedule`] maps a procedure code (optionally with a modifier) to a fixed
//! amount or to relative value units. Each payer may have its own schedule; a code a
//! payer's schedule lacks takes its fee from the default schedule, priced on the
//! payer's terms (conversion factor, GPCI, cap: RVUs are national, dollars per RVU
//! are the contract's), and a code no schedule knows is estimated at its charge
//! (what the payer would be asked to pay). The server reads its schedules from the
//! JSON file `billing_fee_schedules` names ([`FeeSchedules::from_json`]).
//!
//! Money is `Decimal` throughout, rounded to cents once per amount, half a cent away
//! from zero ([`round_to_cents`]). Arithmetic is checked: absurd input (units in the
//! octillions) gives an error rather than a panic.

use std::collections::HashMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::billing::claim::{BillingClaim, CoverageTerms, ServiceLine};

/// The default dollars per RVU: $36.04, near Medicare's 2019–2020 physician fee
/// schedule factors (36.0391, 36.0896). Medicare's has since fallen (32.3465 for
/// 2025) and commercial contracts differ, so set each payer's own.
pub const DEFAULT_CONVERSION_FACTOR: Decimal = Decimal::from_parts(3604, 0, 0, false, 2);

/// What a fee schedule allows per unit of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fee {
    /// A fixed amount per unit.
    Fixed(Decimal),
    /// Total relative value units per unit, priced as RVU × GPCI × conversion factor.
    Rvu(Decimal),
}

/// A code's fees: unmodified, and for modifiers that change the price (such as 26,
/// the professional component, or TC, the technical one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct CodeFees {
    unmodified: Option<Fee>,
    /// Few per code, so a list scanned in order beats a map.
    by_modifier: Vec<(String, Fee)>,
}

/// One payer's (or the default) prices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeSchedule {
    conversion_factor: Decimal,
    /// The geographic practice cost index of the locality, one overall factor.
    gpci: Decimal,
    cap_at_charge: bool,
    fees: HashMap<String, CodeFees>,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        FeeSchedule::new()
    }
}

impl FeeSchedule {
    /// An empty schedule: the default conversion factor, a GPCI of 1, and allowed
    /// amounts capped at the charge.
    pub fn new() -> Self {
        FeeSchedule {
            conversion_factor: DEFAULT_CONVERSION_FACTOR,
            gpci: Decimal::ONE,
            cap_at_charge: true,
            fees: HashMap::new(),
        }
    }

    pub fn with_conversion_factor(mut self, conversion_factor: Decimal) -> Self {
        self.conversion_factor = conversion_factor;
        self
    }

    pub fn with_gpci(mut self, gpci: Decimal) -> Self {
        self.gpci = gpci;
        self
    }

    /// Whether the allowed amount is limited to the line's charge. On by default: that
    /// is Medicare's "lesser of the charge or the fee schedule amount" and the usual
    /// contract term. Turn it off for a payer that pays its fee whatever is billed.
    pub fn with_cap_at_charge(mut self, cap_at_charge: bool) -> Self {
        self.cap_at_charge = cap_at_charge;
        self
    }

    /// Sets the fee for `code`, or for `code` with `modifier`.
    pub fn set_fee(&mut self, code: &str, modifier: Option<&str>, fee: Fee) {
        let fees = self.fees.entry(code.to_owned()).or_default();
        match modifier {
            None => fees.unmodified = Some(fee),
            Some(modifier) => match fees.by_modifier.iter_mut().find(|(m, _)| m == modifier) {
                Some((_, existing)) => *existing = fee,
                None => fees.by_modifier.push((modifier.to_owned(), fee)),
            },
        }
    }

    /// The fee for a line: the first of its modifiers with a fee of its own, else the
    /// code's unmodified fee.
    fn fee_for(&self, line: &ServiceLine) -> Option<Fee> {
        let fees = self.fees.get(&line.code)?;
        line.modifiers
            .iter()
            .find_map(|modifier| {
                fees.by_modifier
                    .iter()
                    .find(|(m, _)| m == modifier)
                    .map(|(_, fee)| *fee)
            })
            .or(fees.unmodified)
    }

    /// The unrounded amount `fee` allows for `units`, capped at `charge` if so set.
    fn allowed(&self, fee: Fee, units: Decimal, charge: Decimal) -> Option<Decimal> {
        let per_unit = match fee {
            Fee::Fixed(amount) => amount,
            Fee::Rvu(rvu) => rvu.checked_mul(self.gpci)?.checked_mul(self.conversion_factor)?,
        };
        let amount = per_unit.checked_mul(units)?;
        Some(if self.cap_at_charge {
            amount.min(charge)
        } else {
            amount
        })
    }
}

/// The default schedule and each payer's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeeSchedules {
    default: FeeSchedule,
    /// Keyed by `Payer::payer_id`, the clearinghouse payer id.
    payers: HashMap<String, FeeSchedule>,
}

impl FeeSchedules {
    pub fn new(default: FeeSchedule) -> Self {
        FeeSchedules {
            default,
            payers: HashMap::new(),
        }
    }

    pub fn with_payer(mut self, payer_id: &str, schedule: FeeSchedule) -> Self {
        self.payers.insert(payer_id.to_owned(), schedule);
        self
    }

    /// The allowed amount for `line`, unrounded, and where it came from.
    fn allowed(&self, payer_id: &str, line: &ServiceLine) -> Option<(Decimal, PriceBasis)> {
        let own = self.payers.get(payer_id);
        let terms = own.unwrap_or(&self.default);
        let fee = own
            .and_then(|schedule| schedule.fee_for(line))
            .or_else(|| self.default.fee_for(line));
        let Some(fee) = fee else {
            return Some((line.charge, PriceBasis::Charge));
        };
        let basis = match fee {
            Fee::Fixed(_) => PriceBasis::Fixed,
            Fee::Rvu(_) => PriceBasis::Rvu,
        };
        Some((terms.allowed(fee, line.units, line.charge)?, basis))
    }

    /// Schedules as the `billing_fee_schedules` file writes them:
    ///
    /// ```json
    /// {"default": {"conversionFactor": 36.04, "gpci": 1, "capAtCharge": true,
    ///              "fees": [{"code": "99213", "rvu": 2.6},
    ///                       {"code": "93000", "modifier": "26", "rvu": 0.24},
    ///                       {"code": "36415", "amount": 3.00}]},
    ///  "payers": {"ACME01": {"conversionFactor": 32.3465, "gpci": 1.05, "fees": []}}}
    /// ```
    ///
    /// Every part is optional; amounts are JSON numbers or strings, read exactly.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: files::SchedulesFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let default = match file.default {
            Some(spec) => spec.schedule("default")?,
            None => FeeSchedule::new(),
        };
        let mut schedules = FeeSchedules::new(default);
        for (payer_id, spec) in file.payers {
            let schedule = spec.schedule(&format!("payers.{payer_id}"))?;
            schedules = schedules.with_payer(&payer_id, schedule);
        }
        Ok(schedules)
    }
}

/// The `billing_fee_schedules` file's shape.
mod files {
    use std::collections::BTreeMap;
    use std::str::FromStr;

    use rust_decimal::Decimal;
    use serde::Deserialize;
    use serde_json::Value;

    use super::{Fee, FeeSchedule};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct SchedulesFile {
        pub default: Option<ScheduleSpec>,
        #[serde(default)]
        pub payers: BTreeMap<String, ScheduleSpec>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    pub struct ScheduleSpec {
        conversion_factor: Option<Value>,
        gpci: Option<Value>,
        cap_at_charge: Option<bool>,
        #[serde(default)]
        fees: Vec<FeeSpec>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct FeeSpec {
        code: String,
        modifier: Option<String>,
        rvu: Option<Value>,
        amount: Option<Value>,
    }

    /// A JSON number or string as an exact, non-negative decimal.
    fn decimal(value: &Value, at: &str) -> Result<Decimal, String> {
        let text = match value {
            Value::Number(number) => number.to_string(),
            Value::String(text) => text.clone(),
            _ => return Err(format!("{at}: not a number")),
        };
        Decimal::from_str(&text)
            .ok()
            .filter(|amount| !amount.is_sign_negative())
            .ok_or_else(|| format!("{at}: {text:?} is not a non-negative decimal"))
    }

    impl ScheduleSpec {
        pub fn schedule(self, at: &str) -> Result<FeeSchedule, String> {
            let mut schedule = FeeSchedule::new();
            if let Some(factor) = &self.conversion_factor {
                schedule =
                    schedule.with_conversion_factor(decimal(factor, &format!("{at}.conversionFactor"))?);
            }
            if let Some(gpci) = &self.gpci {
                schedule = schedule.with_gpci(decimal(gpci, &format!("{at}.gpci"))?);
            }
            if let Some(cap) = self.cap_at_charge {
                schedule = schedule.with_cap_at_charge(cap);
            }
            for (n, spec) in self.fees.iter().enumerate() {
                let here = format!("{at}.fees[{n}]");
                let fee = match (&spec.rvu, &spec.amount) {
                    (Some(rvu), None) => Fee::Rvu(decimal(rvu, &format!("{here}.rvu"))?),
                    (None, Some(amount)) => Fee::Fixed(decimal(amount, &format!("{here}.amount"))?),
                    _ => return Err(format!("{here}: give either rvu or amount")),
                };
                schedule.set_fee(&spec.code, spec.modifier.as_deref(), fee);
            }
            Ok(schedule)
        }
    }
}

/// Where a line's allowed amount came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceBasis {
    Fixed,
    Rvu,
    /// No schedule knows the code: the estimate is the charge itself.
    Charge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    /// The line's Claim.item.sequence.
    pub sequence: u32,
    pub allowed: Decimal,
    pub patient_estimate: Decimal,
    pub basis: PriceBasis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedClaim {
    pub lines: Vec<PricedLine>,
    pub allowed_total: Decimal,
    pub patient_estimate_total: Decimal,
    /// What the payer is expected to pay: allowed less the patient's share.
    pub payer_estimate_total: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("line {sequence}: the amounts are too large to price")]
    Overflow { sequence: u32 },
}

/// Rounds to cents, half a cent away from zero (4.505 → 4.51): the rounding billers
/// and remittances use, so an estimate matches one worked by hand. Banker's rounding
/// (half to even) would turn 4.505 into 4.50 and disagree with them by a cent.
pub fn round_to_cents(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The patient's cost sharing, made safe: a negative copay counts as none, and
/// coinsurance is a fraction between 0 and 1.
struct CostSharing {
    copay_left: Decimal,
    coinsurance: Decimal,
}

impl CostSharing {
    /// Without a Coverage the patient is self-pay and owes everything allowed.
    fn of(coverage: Option<&CoverageTerms>) -> Self {
        match coverage {
            None => CostSharing {
                copay_left: Decimal::ZERO,
                coinsurance: Decimal::ONE,
            },
            Some(terms) => CostSharing {
                copay_left: terms.copay.unwrap_or_default().max(Decimal::ZERO),
                coinsurance: terms
                    .coinsurance
                    .unwrap_or_default()
                    .clamp(Decimal::ZERO, Decimal::ONE),
            },
        }
    }

    /// The patient's share of a line's (rounded, non-negative) allowed amount. The
    /// copay is per claim: it is taken from the lines in order until used up, and
    /// coinsurance applies to what is left of each line after it.
    fn patient_share(&mut self, allowed: Decimal) -> Decimal {
        let copay = self.copay_left.min(allowed);
        self.copay_left -= copay;
        let coinsurance = round_to_cents(self.coinsurance * (allowed - copay));
        (copay + coinsurance).clamp(Decimal::ZERO, allowed)
    }
}

/// Prices every line of `claim` from the payer's schedule (or the default one) and
/// estimates the patient's share from its Coverage.
pub fn price(claim: &BillingClaim, schedules: &FeeSchedules) -> Result<PricedClaim, PricingError> {
    let mut sharing = CostSharing::of(claim.coverage.as_ref());
    let mut lines = Vec::with_capacity(claim.lines.len());
    let mut allowed_total = Decimal::ZERO;
    let mut patient_estimate_total = Decimal::ZERO;
    for line in &claim.lines {
        let overflow = PricingError::Overflow {
            sequence: line.sequence,
        };
        let (amount, basis) = schedules.allowed(&claim.payer.payer_id, line).ok_or(overflow)?;
        // A negative charge or unit count (which scrubbing reports) allows nothing.
        let allowed = round_to_cents(amount).max(Decimal::ZERO);
        let patient_estimate = sharing.patient_share(allowed);
        allowed_total = allowed_total.checked_add(allowed).ok_or(overflow)?;
        patient_estimate_total = patient_estimate_total
            .checked_add(patient_estimate)
            .ok_or(overflow)?;
        lines.push(PricedLine {
            sequence: line.sequence,
            allowed,
            patient_estimate,
            basis,
        });
    }
    Ok(PricedClaim {
        lines,
        allowed_total,
        patient_estimate_total,
        payer_estimate_total: allowed_total - patient_estimate_total,
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::NaiveDate;

    use super::*;
    use crate::billing::claim::{DateSource, Payer, Provider, Subscriber};

    fn money(text: &str) -> Decimal {
        Decimal::from_str(text).expect("a test amount")
    }

    fn line(sequence: u32, code: &str, modifiers: &[&str], units: &str, charge: &str) -> ServiceLine {
        ServiceLine {
            sequence,
            code: code.into(),
            modifiers: modifiers.iter().map(|m| m.to_string()).collect(),
            units: money(units),
            charge: money(charge),
            service_date: NaiveDate::from_ymd_opt(2026, 2, 20).expect("a date"),
            service_end: None,
            date_source: DateSource::ServicedDate,
            diagnosis_pointers: vec![1],
            place_of_service: None,
        }
    }

    fn claim(lines: Vec<ServiceLine>, copay: Option<&str>, coinsurance: Option<&str>) -> BillingClaim {
        BillingClaim {
            claim_id: "claim-1".into(),
            patient_id: "patient-1".into(),
            created: NaiveDate::from_ymd_opt(2026, 2, 21).expect("a date"),
            patient: Default::default(),
            subscriber: Subscriber::default(),
            payer: Payer {
                payer_id: "87726".into(),
                ..Payer::default()
            },
            coverage: Some(CoverageTerms {
                status: "active".into(),
                copay: copay.map(money),
                coinsurance: coinsurance.map(money),
                ..CoverageTerms::default()
            }),
            billing_provider: Provider::default(),
            rendering_provider: None,
            place_of_service: Some("11".into()),
            diagnoses: vec!["E119".into()],
            diagnosis_elements: vec![],
            total_charge: lines.iter().map(|l| l.charge).sum(),
            lines,
            original_reference: None,
        }
    }

    fn schedule(fees: &[(&str, Option<&str>, Fee)]) -> FeeSchedule {
        let mut schedule = FeeSchedule::new();
        for (code, modifier, fee) in fees {
            schedule.set_fee(code, *modifier, *fee);
        }
        schedule
    }

    fn allowed(priced: &PricedClaim) -> Vec<Decimal> {
        priced.lines.iter().map(|l| l.allowed).collect()
    }

    #[test]
    fn the_default_conversion_factor_is_36_04() {
        assert_eq!(DEFAULT_CONVERSION_FACTOR, money("36.04"));
    }

    #[test]
    fn rvus_are_priced_at_rvu_times_gpci_times_conversion_factor_times_units() {
        let fees = FeeSchedules::new(schedule(&[("99213", None, Fee::Rvu(money("2.6")))]));
        let priced =
            price(&claim(vec![line(1, "99213", &[], "1", "500")], None, None), &fees).expect("priced");
        // 2.6 × 36.04 = 93.704
        assert_eq!(allowed(&priced), [money("93.70")]);
        assert_eq!(priced.lines[0].basis, PriceBasis::Rvu);

        let local = FeeSchedules::new(
            schedule(&[("99213", None, Fee::Rvu(money("2.6")))])
                .with_gpci(money("1.1"))
                .with_conversion_factor(money("33")),
        );
        let priced = price(
            &claim(vec![line(1, "99213", &[], "2", "500")], None, None),
            &local,
        )
        .expect("priced");
        // 2.6 × 1.1 × 33 × 2 = 188.76
        assert_eq!(allowed(&priced), [money("188.76")]);
    }

    #[test]
    fn half_a_cent_rounds_away_from_zero() {
        assert_eq!(round_to_cents(money("4.505")), money("4.51"));
        assert_eq!(round_to_cents(money("4.5049")), money("4.50"));
        assert_eq!(round_to_cents(money("4.515")), money("4.52"));
        assert_eq!(round_to_cents(money("-4.505")), money("-4.51"));
        // 0.125 RVU × 36.04 = 4.505: banker's rounding would give 4.50.
        let fees = FeeSchedules::new(schedule(&[("0001F", None, Fee::Rvu(money("0.125")))]));
        let priced =
            price(&claim(vec![line(1, "0001F", &[], "1", "10")], None, None), &fees).expect("priced");
        assert_eq!(allowed(&priced), [money("4.51")]);
    }

    #[test]
    fn a_fixed_fee_is_per_unit() {
        let fees = FeeSchedules::new(schedule(&[("J3420", None, Fee::Fixed(money("0.45")))]));
        let priced = price(
            &claim(vec![line(1, "J3420", &[], "10", "12.50")], None, None),
            &fees,
        )
        .expect("priced");
        assert_eq!(allowed(&priced), [money("4.50")]);
        assert_eq!(priced.lines[0].basis, PriceBasis::Fixed);
    }

    #[test]
    fn a_modifier_with_its_own_fee_prices_the_line() {
        let fees = FeeSchedules::new(schedule(&[
            ("71046", None, Fee::Fixed(money("40"))),
            ("71046", Some("26"), Fee::Fixed(money("12"))),
            ("71046", Some("TC"), Fee::Fixed(money("28"))),
        ]));
        let lines = vec![
            line(1, "71046", &["RT", "26"], "1", "100"),
            line(2, "71046", &["TC"], "1", "100"),
            line(3, "71046", &["59"], "1", "100"),
        ];
        let priced = price(&claim(lines, None, None), &fees).expect("priced");
        assert_eq!(allowed(&priced), [money("12"), money("28"), money("40")]);
    }

    #[test]
    fn the_payers_schedule_comes_first_then_the_default_then_the_charge() {
        let fees = FeeSchedules::new(schedule(&[
            ("99213", None, Fee::Fixed(money("80"))),
            ("96372", None, Fee::Fixed(money("20"))),
        ]))
        .with_payer("87726", schedule(&[("99213", None, Fee::Fixed(money("95")))]));
        let lines = vec![
            line(1, "99213", &[], "1", "150"),
            line(2, "96372", &[], "1", "40"),
            line(3, "0042T", &[], "1", "75.5"),
        ];
        let priced = price(&claim(lines.clone(), None, None), &fees).expect("priced");
        assert_eq!(allowed(&priced), [money("95"), money("20"), money("75.50")]);
        assert_eq!(priced.lines[2].basis, PriceBasis::Charge);
        let mut other_payer = claim(lines, None, None);
        other_payer.payer.payer_id = "60054".into();
        assert_eq!(
            allowed(&price(&other_payer, &fees).expect("priced"))[0],
            money("80")
        );
    }

    #[test]
    fn a_default_rvu_is_priced_on_the_payers_terms() {
        let fees = FeeSchedules::from_json(
            r#"{"default": {"fees": [{"code": "99213", "rvu": 2.0}]},
                "payers": {"87726": {"conversionFactor": "32.3465", "gpci": 1.05}}}"#,
        )
        .expect("schedules");
        let lines = vec![line(1, "99213", &[], "1", "150")];
        // 2.0 × 1.05 × 32.3465 = 67.92765: the payer's factor and GPCI, not $36.04.
        assert_eq!(
            allowed(&price(&claim(lines, None, None), &fees).expect("priced")),
            [money("67.93")]
        );
        for (bad, why) in [
            (
                r#"{"default": {"fees": [{"code": "99213"}]}}"#,
                "default.fees[0]: give either rvu or amount",
            ),
            (r#"{"payers": {"X": {"gpci": -1}}}"#, "payers.X.gpci"),
            (r#"{"defaults": {}}"#, "unknown field"),
        ] {
            let error = FeeSchedules::from_json(bad).expect_err(bad);
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn allowed_is_capped_at_the_charge_unless_the_schedule_says_otherwise() {
        let fee = [("99213", None, Fee::Fixed(money("95")))];
        let billed_low = claim(vec![line(1, "99213", &[], "1", "90")], None, None);
        let capped = FeeSchedules::new(schedule(&fee));
        assert_eq!(
            allowed(&price(&billed_low, &capped).expect("priced")),
            [money("90")]
        );
        let uncapped = FeeSchedules::new(schedule(&fee).with_cap_at_charge(false));
        assert_eq!(
            allowed(&price(&billed_low, &uncapped).expect("priced")),
            [money("95")]
        );
    }

    #[test]
    fn the_copay_comes_first_then_coinsurance_on_the_rest() {
        let fees = FeeSchedules::new(schedule(&[
            ("99214", None, Fee::Fixed(money("100"))),
            ("96372", None, Fee::Fixed(money("50"))),
        ]));
        let lines = vec![
            line(1, "99214", &[], "1", "150"),
            line(2, "96372", &[], "1", "60"),
        ];
        let priced = price(&claim(lines, Some("25"), Some("0.2")), &fees).expect("priced");
        let patient: Vec<Decimal> = priced.lines.iter().map(|l| l.patient_estimate).collect();
        // 25 + 20 % of 75 = 40; the copay is used up, so 20 % of 50 = 10.
        assert_eq!(patient, [money("40"), money("10")]);
        assert_eq!(priced.allowed_total, money("150"));
        assert_eq!(priced.patient_estimate_total, money("50"));
        assert_eq!(priced.payer_estimate_total, money("100"));
    }

    #[test]
    fn a_copay_larger_than_a_line_carries_over_to_the_next() {
        let fees = FeeSchedules::new(schedule(&[("96372", None, Fee::Fixed(money("20")))]));
        let lines = vec![line(1, "96372", &[], "1", "60"), line(2, "96372", &[], "1", "60")];
        let priced = price(&claim(lines, Some("25"), None), &fees).expect("priced");
        let patient: Vec<Decimal> = priced.lines.iter().map(|l| l.patient_estimate).collect();
        assert_eq!(patient, [money("20"), money("5")]);
        assert_eq!(priced.payer_estimate_total, money("15"));
    }

    #[test]
    fn coinsurance_rounds_half_a_cent_away_from_zero() {
        let fees = FeeSchedules::new(schedule(&[("96372", None, Fee::Fixed(money("12.01")))]));
        let priced = price(
            &claim(vec![line(1, "96372", &[], "1", "60")], None, Some("0.5")),
            &fees,
        )
        .expect("priced");
        // Half of 12.01 is 6.005.
        assert_eq!(priced.lines[0].patient_estimate, money("6.01"));
        assert_eq!(priced.payer_estimate_total, money("6.00"));
    }

    #[test]
    fn the_patient_estimate_is_never_negative_nor_above_allowed() {
        let fees = FeeSchedules::new(schedule(&[("96372", None, Fee::Fixed(money("20")))]));
        let one_line = || vec![line(1, "96372", &[], "1", "60")];
        let odd_terms = price(&claim(one_line(), Some("-10"), Some("-0.3")), &fees).expect("priced");
        assert_eq!(odd_terms.lines[0].patient_estimate, Decimal::ZERO);
        let over_one = price(&claim(one_line(), Some("5"), Some("1.5")), &fees).expect("priced");
        assert_eq!(over_one.lines[0].patient_estimate, money("20"));
        let mut self_pay = claim(one_line(), None, None);
        self_pay.coverage = None;
        let priced = price(&self_pay, &fees).expect("priced");
        assert_eq!(priced.patient_estimate_total, money("20"));
        assert_eq!(priced.payer_estimate_total, Decimal::ZERO);
    }

    #[test]
    fn negative_units_allow_nothing() {
        let fees = FeeSchedules::new(schedule(&[("96372", None, Fee::Fixed(money("20")))]));
        let priced = price(
            &claim(vec![line(1, "96372", &[], "-1", "60")], Some("5"), None),
            &fees,
        )
        .expect("priced");
        assert_eq!(allowed(&priced), [Decimal::ZERO]);
        assert_eq!(priced.lines[0].patient_estimate, Decimal::ZERO);
    }

    #[test]
    fn amounts_too_large_to_compute_are_an_error_not_a_panic() {
        let fees = FeeSchedules::new(
            schedule(&[("96372", None, Fee::Rvu(money("1000000")))]).with_cap_at_charge(false),
        );
        let huge = line(7, "96372", &[], "70000000000000000000000", "60");
        assert_eq!(
            price(&claim(vec![huge], None, None), &fees),
            Err(PricingError::Overflow { sequence: 7 })
        );
    }
}
