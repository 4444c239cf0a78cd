use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::x12::error::Problem;
use crate::x12::test_fixtures::{fixture, fixtures_starting};

fn money(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn only(text: &str) -> Remittance {
    let mut all = read_835(text).unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

#[test]
fn every_sample_835_reads_and_balances() {
    let names = fixtures_starting("835_");
    assert_eq!(names.len(), 3);
    for name in names {
        let remittances = read_835(&fixture(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        for remittance in remittances {
            assert_eq!(remittance.imbalances(), [], "{name}");
        }
    }
}

#[test]
fn the_managed_care_sample_is_read_field_by_field() {
    let remittance = only(&fixture("835_005010X221A1__managed-care.835"));
    assert_eq!(remittance.control_number, "112233");
    assert_eq!(
        remittance.payment,
        Payment {
            handling: "I".into(),
            amount: money("945.00"),
            credit_debit: CreditDebit::Credit,
            method: "ACH".into(),
            // BPR16 reads 20002316: month 23.
            date: None,
        }
    );
    assert_eq!(remittance.problems.len(), 1);
    assert_eq!(
        remittance.problems[0].to_string(),
        "segment 4, BPR16: \"20002316\" is not a date (CCYYMMDD)"
    );
    assert_eq!(
        remittance.trace,
        Trace {
            number: "7170066655".into(),
            originator: "1935665544".into()
        }
    );
    assert_eq!(remittance.production_date, Some(date(2002, 3, 14)));
    assert_eq!(remittance.payer.name, "RUSHMORE LIFE");
    assert_eq!(remittance.payee.name, "ACME MEDICAL CENTER");
    assert_eq!(remittance.payee.npi(), Some("5544667733"));
    assert_eq!(remittance.payee.tax_id(), Some("777667755"));
    assert_eq!(remittance.groups.len(), 1);
    assert_eq!(remittance.groups[0].number, "1");

    let claims: Vec<&ClaimPayment> = remittance.claims().collect();
    assert_eq!(claims.len(), 2);
    let first = claims[0];
    assert_eq!(first.patient_control_number, "5554555444");
    assert_eq!(first.status, "1");
    assert_eq!((first.charge, first.paid), (money("800.00"), money("450.00")));
    assert_eq!(first.patient_responsibility, Some(money("300.00")));
    assert_eq!(first.filing_indicator, "12");
    assert_eq!(
        first.payer_claim_control_number.as_deref(),
        Some("94060555410000")
    );
    assert_eq!(
        first.adjustments,
        [Adjustment {
            group: AdjustmentGroup::ContractualObligation,
            reason: "A2".into(),
            amount: money("50.00"),
            quantity: None
        }]
    );
    let patient = first.patient.as_ref().unwrap();
    assert_eq!(
        (
            patient.name.as_str(),
            patient.first.as_deref(),
            patient.id.as_deref()
        ),
        ("BUDD", Some("WILLIAM"), Some("33344555510"))
    );
    let line = &first.lines[0];
    assert_eq!(
        line.procedure,
        Procedure {
            qualifier: "HC".into(),
            code: "99211".into(),
            modifiers: vec![]
        }
    );
    assert_eq!(
        (line.charge, line.paid, line.units),
        (money("800.00"), money("500.00"), Decimal::ONE)
    );
    assert_eq!(
        (line.service_from, line.service_to),
        (Some(date(2002, 3, 1)), Some(date(2002, 3, 4)))
    );
    assert_eq!(line.adjustments[0].group, AdjustmentGroup::PatientResponsibility);
    assert_eq!(line.adjustments[0].reason, "1");
    // The second claim's line carries two CAS segments.
    assert_eq!(claims[1].lines[0].adjustments.len(), 2);
}

#[test]
fn the_medicare_sample_balances_only_with_its_provider_adjustment() {
    let remittance = only(&fixture("835_005010X221A1__medicare-part-a.835"));
    assert_eq!(remittance.payer.payer_id(), Some("999"));
    assert_eq!(remittance.groups.len(), 2);
    assert_eq!(remittance.groups[1].number, "130212");
    let first = remittance.claims().next().unwrap();
    assert_eq!(first.patient_responsibility, None);
    assert_eq!(first.filing_indicator, "MA");
    assert_eq!(first.statement_from, Some(date(2002, 8, 16)));
    assert_eq!(first.statement_to, Some(date(2002, 8, 24)));
    assert_eq!(
        first.patient.as_ref().unwrap().id_qualifier.as_deref(),
        Some("HN")
    );
    assert_eq!(
        remittance.provider_adjustments,
        [ProviderAdjustment {
            provider_id: "6543210903".into(),
            fiscal_period_end: date(2002, 12, 31),
            reason: "CV".into(),
            reference: Some("CP".into()),
            amount: money("-1.27"),
        }]
    );
    // 138,018.40 + 11,980.33 − (−1.27) = 150,000.00.
    assert_eq!(remittance.imbalances(), []);
    let mut without_plb = remittance.clone();
    without_plb.provider_adjustments.clear();
    assert_eq!(
        without_plb.imbalances(),
        [Imbalance::Payment {
            stated: money("150000.00"),
            computed: money("149998.73")
        }]
    );
}

#[test]
fn the_secondary_payment_sample_has_line_details_and_a_mis_delimited_composite() {
    let remittance = only(&fixture("835_005010X221A1__secondary-payment.835"));
    assert_eq!(remittance.payment.method, "CHK");
    // The sample puts its date in BPR15, leaving BPR16 empty.
    assert_eq!(remittance.payment.date, None);
    assert_eq!(remittance.payee.tax_id(), Some("599944521"));
    assert_eq!(remittance.payee.reference("PQ"), Some("10488"));
    let claims: Vec<&ClaimPayment> = remittance.claims().collect();
    assert_eq!(
        claims[0].rendering_provider.as_ref().unwrap().name,
        "ACME MEDICAL CENTER"
    );
    assert_eq!(
        claims[0].amounts,
        [Amount {
            qualifier: "AU".into(),
            amount: money("912.00")
        }]
    );
    let second = claims[1];
    assert_eq!(second.lines.len(), 2);
    let line = &second.lines[1];
    // SVC01 is written `HC>66543>26` although ISA16 is `:`.
    assert_eq!(
        line.procedure,
        Procedure {
            qualifier: "HC".into(),
            code: "66543".into(),
            modifiers: vec!["26".into()]
        }
    );
    assert_eq!(line.revenue_code.as_deref(), Some("220"));
    let problems: Vec<String> = remittance.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        problems,
        [
            "segment 4, BPR16: is required but empty",
            "segment 29, SVC01: \"HC>12345>26\" is written with '>' although ISA16 declares another component separator; read as if split on '>'",
            "segment 34, SVC01: \"HC>66543>26\" is written with '>' although ISA16 declares another component separator; read as if split on '>'",
        ]
    );
    assert_eq!(line.units, money("1.00"));
    assert_eq!(line.service_date, Some(date(2005, 1, 6)));
    assert_eq!(line.allowed, Some(money("500.00")));
    let reasons: Vec<(&str, Decimal)> = line
        .adjustments
        .iter()
        .map(|a| (a.reason.as_str(), a.amount))
        .collect();
    assert_eq!(
        reasons,
        [
            ("1", money("150.00")),
            ("2", money("70.00")),
            ("42", money("85.00"))
        ]
    );
}

const ERA: &str = "ISA*00*          *00*          *ZZ*PAYER          *ZZ*PROVIDER       *240301*1200*^*00501*000000001*0*P*>~
GS*HP*PAYER*PROVIDER*20240301*1200*1*X*005010X221A1~
ST*835*0001~
BPR*I*90*C*ACH*CCP*01*011000015*DA*123456*1234567890**01*011000028*DA*654321*20240305~
TRN*1*EFT0001*1234567890~
DTM*405*20240301~
N1*PR*ACME HEALTH PLAN~
REF*2U*60054~
N1*PE*BRIGHT CLINIC*XX*1234567893~
LX*1~
CLP*CB-1001*1*150*90*20*12*ICN0001~
NM1*QC*1*DOE*JANE****MI*M123~
MOA***MA01*N211~
SVC*HC>99213>25*150*90**1~
DTM*472*20240220~
CAS*CO*45*40~
CAS*PR*3*20~
AMT*B6*110~
LQ*HE*N130~
LQ*HE*M15~
REF*6R*CB-1001-1~
SE*20*0001~
GE*1*1~
IEA*1*000000001~
";

#[test]
fn line_item_control_numbers_remark_codes_and_declared_delimiters_are_read() {
    let remittance = only(ERA);
    let claim = remittance.claims().next().unwrap();
    let line = &claim.lines[0];
    assert_eq!(line.procedure.modifiers, ["25"]);
    assert_eq!(line.remark_codes, ["N130", "M15"]);
    assert_eq!(claim.remark_codes, ["MA01", "N211"]);
    assert_eq!(line.line_item_control_number.as_deref(), Some("CB-1001-1"));
    assert_eq!(line.allowed, Some(money("110")));
    assert_eq!(remittance.imbalances(), []);
    assert_eq!(remittance.problems, []);
}

#[test]
fn amounts_that_do_not_add_up_are_reported_not_refused() {
    let text = ERA.replace("CAS*PR*3*20~", "CAS*PR*3*25~");
    let remittance = only(&text);
    assert_eq!(
        remittance.imbalances(),
        [
            Imbalance::Claim {
                patient_control_number: "CB-1001".into(),
                charge: money("150"),
                adjustments: money("65"),
                paid: money("90"),
            },
            Imbalance::Line {
                patient_control_number: "CB-1001".into(),
                line: 1,
                charge: money("150"),
                adjustments: money("65"),
                paid: money("90"),
            },
        ]
    );
}

#[test]
fn errors_name_the_segment_and_element() {
    let error = read_835(&ERA.replace("CLP*CB-1001*1*150*90", "CLP*CB-1001*1*15O*90")).unwrap_err();
    assert_eq!(error.problem, Problem::NotAnAmount("15O".into()));
    assert_eq!(
        error.to_string(),
        "segment 11, CLP03: \"15O\" is not a decimal amount"
    );

    let error = read_835(&ERA.replace("CAS*CO*45", "CAS*XX*45")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "segment 16, CAS01: \"XX\" is not one of CO, PR, OA, PI or CR"
    );

    let error = read_835(&ERA.replace("LX*1~\n", "")).unwrap_err();
    assert_eq!(error.to_string(), "segment 10 (CLP): CLP before any LX");

    let error = read_835(&ERA.replace("SVC*HC>99213>25", "SVC*HC")).unwrap_err();
    assert_eq!(error.to_string(), "segment 14, SVC01-2: is required but empty");

    let error = read_835(&ERA.replace("TRN*1*EFT0001*1234567890~\n", "")).unwrap_err();
    assert_eq!(error.problem, Problem::MissingSegment("TRN"));

    let error = read_835(&fixture("271_005010X279A1__subscriber-health-benefit-check.271")).unwrap_err();
    assert!(matches!(error.problem, Problem::WrongTransactionSet { .. }));
}
