//! Our 837P read by somebody else's parser: the Python `linuxforhealth-x12` package,
//! which validates each transaction set against its 005010X222 model (required
//! segments and elements, code values, HL parents, SE01, CLM02 = Σ SV102). A file it
//! parses without a validation error is one we did not grade ourselves.
//!
//! Needs `CLAIMBRIDGE_X12_PYTHON`: a Python with the package installed, e.g.
//!
//!     python3 -m venv /tmp/x12venv && /tmp/x12venv/bin/pip install linuxforhealth-x12 'pydantic<2'
//!     CLAIMBRIDGE_X12_PYTHON=/tmp/x12venv/bin/python cargo test --test x12_independent
//!
//! (The package imports `pydantic.BaseSettings`, which pydantic 2 removed, yet does not
//! pin pydantic 1.)

use std::io::Write;
use std::process::Command;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use claimbridge::billing::claim::{
    Address, BillingClaim, DateSource, Payer, Person, Provider, ServiceLine, Subscriber,
};
use claimbridge::x12::check_envelope;
use claimbridge::x12::claim_837p::{write_837p, ClaimSubmission, ClaimSubmissionConfig, Receiver, Submitter};
use claimbridge::x12::{ControlNumbers, EnvelopeConfig, InterchangeParty, Usage};

/// Parses the file named by argv[1] and prints how many transaction sets and claims
/// it found; a validation error raises, ending the process with a traceback.
const PARSE: &str = r#"
import json, sys
from linuxforhealth.x12.io import X12ModelReader

with X12ModelReader(sys.argv[1]) as reader:
    models = [model.dict() for model in reader.models()]
claims = 0
for model in models:
    for provider in model["loop_2000a"]:
        for subscriber in provider["loop_2000b"]:
            claims += len(subscriber.get("loop_2300") or [])
            for patient in subscriber.get("loop_2000c") or []:
                claims += len(patient.get("loop_2300") or [])
print(json.dumps({"transactions": len(models), "claims": claims}))
"#;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

fn address(street: &str) -> Option<Address> {
    Some(Address {
        lines: vec![street.into()],
        city: "KANSAS CITY".into(),
        state: "MO".into(),
        postal_code: "641080000".into(),
    })
}

fn person(family: &str, given: &str, birth: NaiveDate, gender: &str) -> Person {
    Person {
        family: family.into(),
        given: vec![given.into()],
        birth_date: Some(birth),
        gender: Some(gender.into()),
        address: address("15197 BROADWAY AVE"),
    }
}

fn provider(name: &str, npi: &str) -> Provider {
    Provider {
        npi: Some(npi.into()),
        tax_id: Some("12-3456789".into()),
        name: name.into(),
        taxonomy: Some("207Q00000X".into()),
        address: address("100 MAIN ST"),
        ..Provider::default()
    }
}

/// Claim `n` of a generated batch: every third for a dependent (seen by a rendering
/// provider), every fourth billed by a second clinic, line counts and modifiers
/// varying.
fn generated_claim(n: u32) -> BillingClaim {
    let dependent = n % 3 == 2;
    let patient = if dependent {
        person("ROE", &format!("CHILD{n}"), date(2014, 3, 1), "male")
    } else {
        person("DOE", "JANE", date(1970, 1, 1), "female")
    };
    let lines: Vec<ServiceLine> = (1..=1 + n % 3)
        .map(|sequence| ServiceLine {
            sequence,
            code: ["99213", "87070", "36415"][(sequence - 1) as usize].into(),
            modifiers: if sequence == 1 && n.is_multiple_of(2) {
                vec!["25".into()]
            } else {
                vec![]
            },
            units: Decimal::ONE,
            charge: Decimal::new(4000 + 1250 * i64::from(sequence), 2),
            service_date: date(2024, 1, 8 + n),
            service_end: None,
            date_source: DateSource::ServicedDate,
            diagnosis_pointers: if sequence == 1 { vec![1, 2] } else { vec![1] },
            place_of_service: None,
        })
        .collect();
    BillingClaim {
        claim_id: format!("claim-{n}"),
        patient_id: format!("patient-{}", if dependent { n } else { 0 }),
        created: date(2024, 1, 15),
        patient,
        subscriber: Subscriber {
            member_id: Some(if dependent { "R987654321" } else { "M123456789" }.into()),
            group_number: Some("G100".into()),
            relationship: if dependent { "19" } else { "18" }.into(),
            person: dependent.then(|| person("ROE", "JOHN", date(1980, 2, 2), "male")),
        },
        payer: Payer {
            payer_id: "60054".into(),
            name: "ACME HEALTH PLAN".into(),
            organization_id: None,
        },
        coverage: None,
        billing_provider: if n % 4 == 3 {
            provider("HARBOR LAB", "1518012345")
        } else {
            provider("BRIGHT CLINIC", "1234567893")
        },
        rendering_provider: dependent.then(|| Provider {
            npi: Some("1245319599".into()),
            name: "SMITH".into(),
            given: Some("ANN".into()),
            is_person: true,
            ..Provider::default()
        }),
        place_of_service: Some("11".into()),
        diagnoses: vec!["J069".into(), "R509".into()],
        diagnosis_elements: vec![],
        total_charge: lines.iter().map(|line| line.charge).sum(),
        lines,
        original_reference: None,
    }
}

#[test]
fn linuxforhealth_x12_parses_our_837p_without_validation_errors() {
    let Some(python) = std::env::var_os("CLAIMBRIDGE_X12_PYTHON").filter(|python| !python.is_empty()) else {
        // Straight to stderr: the test harness captures eprintln! of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: x12_independent needs CLAIMBRIDGE_X12_PYTHON, a Python with linuxforhealth-x12 installed \
             (see the top of tests/x12_independent.rs); the 837P was NOT checked by an independent parser"
        );
        return;
    };
    let claims: Vec<BillingClaim> = (0..6).map(generated_claim).collect();
    let numbers: Vec<String> = (0..claims.len()).map(|n| format!("CB{:04}", 1001 + n)).collect();
    let submissions: Vec<ClaimSubmission<'_>> = claims
        .iter()
        .zip(&numbers)
        .map(|(claim, number)| ClaimSubmission {
            claim,
            patient_control_number: number,
            claim_filing_indicator: "CI",
        })
        .collect();
    let config = ClaimSubmissionConfig {
        envelope: EnvelopeConfig {
            sender: InterchangeParty {
                qualifier: "ZZ".into(),
                id: "CLAIMBRIDGE".into(),
            },
            receiver: InterchangeParty {
                qualifier: "ZZ".into(),
                id: "CLEARINGHOUSE".into(),
            },
            application_sender: "CLAIMBRIDGE".into(),
            application_receiver: "CLEARINGHOUSE".into(),
            usage: Usage::Test,
            acknowledgment_requested: false,
        },
        submitter: Submitter {
            name: "CLAIMBRIDGE BILLING".into(),
            id: "CB0001".into(),
            contact_name: "BILLING DESK".into(),
            phone: "8165551234".into(),
        },
        receiver: Receiver {
            name: "CLEARINGHOUSE".into(),
            id: "CH0001".into(),
        },
    };
    let control = ControlNumbers {
        interchange: 907,
        group: 12,
    };
    let created = date(2024, 1, 15).and_hms_opt(9, 5, 0).expect("a time");
    let text = write_837p(&submissions, &config, control, created).expect("an 837P");
    check_envelope(&text).expect("our own envelope check");

    let file = tempfile::Builder::new()
        .suffix(".837")
        .tempfile()
        .expect("a temp file");
    std::fs::write(file.path(), &text).expect("the 837P written");
    let output = Command::new(&python)
        .arg("-c")
        .arg(PARSE)
        .arg(file.path())
        .output()
        .expect("the Python interpreter runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "linuxforhealth-x12 refused our 837P:\n{stderr}\n--- the file ---\n{text}"
    );
    let parsed: serde_json::Value = serde_json::from_str(stdout.trim()).expect("the parser's summary");
    assert_eq!(parsed["transactions"], 1, "{stdout}");
    assert_eq!(parsed["claims"], claims.len(), "{stdout}");
}
