//! Scrubbing and pricing throughput: N generated professional claims (three lines,
//! four diagnoses, varied codes, payers and dates), each scrubbed against the shipped
//! rule set and priced from a small fee schedule, for a few seconds. The duplicate
//! lookup is an in-memory "no earlier claims": the database behind the real one is
//! not what this measures. Prints one JSON line.
//!
//!     cargo bench --bench scrub_price -- [CLAIMS]

use std::hint::black_box;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use claimbridge::billing::claim::{
    BillingClaim, CoverageTerms, DateSource, Payer, Person, Provider, ServiceLine, Subscriber,
};
use claimbridge::billing::pricing::{self, Fee, FeeSchedule, FeeSchedules};
use claimbridge::billing::scrub::{self, BilledService, DuplicateCheck, RuleSet, ScrubContext};

/// How long the claims are scrubbed and priced, after one warm-up pass.
const RUN: Duration = Duration::from_secs(3);
const DEFAULT_CLAIMS: usize = 10_000;

const VISITS: &[&str] = &["99203", "99204", "99212", "99213", "99214", "99215"];
const PROCEDURES: &[&str] = &["96372", "36415", "81002", "93000", "J3420", "G0438"];
const DIAGNOSES: &[&str] = &[
    "E119", "I10", "E785", "Z7984", "J069", "M5450", "R51.9", "K219", "F419",
];
const PAYERS: &[&str] = &["87726", "60054", "62308"];

struct NoEarlierClaims;

impl DuplicateCheck for NoEarlierClaims {
    fn earlier_claim(&self, _service: &BilledService<'_>) -> Option<String> {
        None
    }
}

fn money(text: &str) -> Decimal {
    Decimal::from_str(text).expect("an amount")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).expect("a date")
}

fn line(
    sequence: u32,
    code: &str,
    modifiers: &[&str],
    charge: &str,
    day: NaiveDate,
    pointers: Vec<u32>,
) -> ServiceLine {
    ServiceLine {
        sequence,
        code: code.into(),
        modifiers: modifiers.iter().map(|m| m.to_string()).collect(),
        units: Decimal::ONE,
        charge: money(charge),
        service_date: day,
        service_end: None,
        date_source: DateSource::ServicedDate,
        diagnosis_pointers: pointers,
        place_of_service: None,
    }
}

/// The `n`th claim: an office visit with modifier 25 and two procedures.
fn claim(n: usize) -> BillingClaim {
    let pick = |list: &[&'static str], k: usize| list[(n + k) % list.len()];
    let day = today() - Days::new((n % 200) as u64 + 1);
    let lines = vec![
        line(1, pick(VISITS, 0), &["25"], "150.00", day, vec![1, 2, 3, 4]),
        line(2, pick(PROCEDURES, 0), &[], "40.00", day, vec![1]),
        line(3, pick(PROCEDURES, 3), &["59"], "25.50", day, vec![2]),
    ];
    BillingClaim {
        claim_id: format!("claim-{n}"),
        patient_id: format!("patient-{}", n % 5_000),
        created: day,
        patient: Person {
            family: "Doe".into(),
            given: vec!["Jane".into()],
            birth_date: NaiveDate::from_ymd_opt(1970, 1, 1),
            gender: Some("female".into()),
            address: None,
        },
        subscriber: Subscriber {
            member_id: Some(format!("M{n:09}")),
            group_number: None,
            relationship: "18".into(),
            person: None,
        },
        payer: Payer {
            payer_id: pick(PAYERS, 0).into(),
            name: "Health Plan".into(),
            organization_id: None,
        },
        coverage: Some(CoverageTerms {
            status: "active".into(),
            period_start: NaiveDate::from_ymd_opt(2025, 1, 1),
            period_end: None,
            copay: Some(money("25")),
            coinsurance: Some(money("0.2")),
        }),
        billing_provider: Provider {
            npi: Some("1234567893".into()),
            tax_id: Some("12-3456789".into()),
            name: "Example Clinic".into(),
            ..Provider::default()
        },
        rendering_provider: Some(Provider {
            npi: Some("1245319599".into()),
            name: "Smith".into(),
            is_person: true,
            ..Provider::default()
        }),
        place_of_service: Some("11".into()),
        diagnoses: (0..4).map(|k| pick(DIAGNOSES, k * 2).to_owned()).collect(),
        diagnosis_elements: vec![],
        total_charge: money("215.50"),
        lines,
        original_reference: None,
    }
}

fn fee_schedules() -> FeeSchedules {
    let mut default = FeeSchedule::new();
    for (code, rvu) in [
        ("99203", "3.1"),
        ("99204", "4.6"),
        ("99212", "1.6"),
        ("99213", "2.6"),
    ] {
        default.set_fee(code, None, Fee::Rvu(money(rvu)));
    }
    default.set_fee("96372", None, Fee::Fixed(money("14.21")));
    default.set_fee("J3420", None, Fee::Fixed(money("0.45")));
    let mut payer = FeeSchedule::new().with_conversion_factor(money("41.25"));
    payer.set_fee("99214", None, Fee::Rvu(money("3.8")));
    payer.set_fee("93000", Some("59"), Fee::Fixed(money("17.10")));
    FeeSchedules::new(default).with_payer("87726", payer)
}

/// Scrubs and prices every claim once; returns the findings and allowed cents seen,
/// so the work cannot be optimised away.
fn pass(claims: &[BillingClaim], rules: &RuleSet, context: &ScrubContext<'_>, fees: &FeeSchedules) -> usize {
    let mut seen = 0;
    for claim in claims {
        let report = scrub::scrub(black_box(claim), rules, context);
        let priced = pricing::price(black_box(claim), fees).expect("priceable claims");
        seen += report.findings.len() + priced.lines.len();
    }
    seen
}

fn main() {
    let count = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map_or(DEFAULT_CLAIMS, |a| a.parse().expect("CLAIMS is a number"));
    let claims: Vec<BillingClaim> = (0..count).map(claim).collect();
    let rules = RuleSet::default();
    let fees = fee_schedules();
    let context = ScrubContext {
        today: today(),
        duplicates: &NoEarlierClaims,
    };
    let findings: usize = claims
        .iter()
        .map(|c| scrub::scrub(c, &rules, &context).findings.len())
        .sum();
    let started = Instant::now();
    let mut scrubbed = 0u64;
    while started.elapsed() < RUN {
        black_box(pass(&claims, &rules, &context, &fees));
        scrubbed += count as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"bench\": \"scrub_price\", \"claims\": {count}, \"findings_per_pass\": {findings}, \"claims_per_second\": {:.0}, \"microseconds_per_claim\": {:.3}}}",
        scrubbed as f64 / seconds,
        seconds * 1e6 / scrubbed as f64
    );
}
