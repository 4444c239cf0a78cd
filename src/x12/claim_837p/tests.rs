use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::billing::claim::{Address, DateSource, Payer, Subscriber};
use crate::x12::envelope::check_envelope;
use crate::x12::segment::{Segment, Segments};
use crate::x12::writer::tests::{created, envelope_config};

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn money(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn address(line: &str) -> Option<Address> {
    Some(Address {
        lines: vec![line.into()],
        city: "MIAMI".into(),
        state: "FL".into(),
        postal_code: "331110000".into(),
    })
}

fn person(family: &str, given: &str, birth: &str, gender: &str) -> Person {
    Person {
        family: family.into(),
        given: vec![given.into()],
        birth_date: Some(date(birth)),
        gender: Some(gender.into()),
        address: address("236 N MAIN ST"),
    }
}

fn clinic() -> Provider {
    Provider {
        npi: Some("1234567893".into()),
        tax_id: Some("12-3456789".into()),
        name: "BRIGHT CLINIC".into(),
        taxonomy: Some("207Q00000X".into()),
        address: address("100 HARBOR DR"),
        ..Provider::default()
    }
}

fn line(sequence: u32, code: &str, charge: &str, pointers: &[u32]) -> ServiceLine {
    ServiceLine {
        sequence,
        code: code.into(),
        modifiers: vec![],
        units: Decimal::ONE,
        charge: money(charge),
        service_date: date("2024-01-10"),
        service_end: None,
        date_source: DateSource::ServicedDate,
        diagnosis_pointers: pointers.to_vec(),
        place_of_service: None,
    }
}

/// An office visit for a patient who is her own subscriber.
fn office_visit(claim_id: &str) -> BillingClaim {
    BillingClaim {
        claim_id: claim_id.into(),
        patient_id: "patient-jane".into(),
        created: date("2024-01-12"),
        patient: person("DOE", "JANE", "1970-01-01", "female"),
        subscriber: Subscriber {
            member_id: Some("M123456789".into()),
            group_number: Some("G100".into()),
            relationship: "18".into(),
            person: None,
        },
        payer: Payer {
            payer_id: "60054".into(),
            name: "ACME HEALTH PLAN".into(),
            organization_id: None,
        },
        coverage: None,
        billing_provider: clinic(),
        rendering_provider: None,
        place_of_service: Some("11".into()),
        diagnoses: vec!["E119".into(), "I10".into()],
        diagnosis_elements: vec![],
        lines: vec![
            ServiceLine {
                modifiers: vec!["25".into()],
                ..line(1, "99214", "150.00", &[1, 2])
            },
            line(2, "96372", "40.00", &[1]),
        ],
        total_charge: money("190.00"),
        original_reference: None,
    }
}

/// A child's visit under his father's coverage, seen by a rendering provider.
fn childs_visit() -> BillingClaim {
    let mut claim = office_visit("claim-tim");
    claim.patient_id = "patient-tim".into();
    claim.patient = person("ROE", "TIM", "2015-06-01", "male");
    claim.subscriber = Subscriber {
        member_id: Some("R987654321".into()),
        group_number: None,
        relationship: "19".into(),
        person: Some(person("ROE", "JOHN", "1980-02-02", "male")),
    };
    claim.rendering_provider = Some(Provider {
        npi: Some("1245319599".into()),
        name: "SMITH".into(),
        given: Some("ANN".into()),
        is_person: true,
        taxonomy: Some("208000000X".into()),
        ..Provider::default()
    });
    claim.diagnoses = vec!["J069".into()];
    claim.lines = vec![line(1, "99213", "95.50", &[1])];
    claim.total_charge = money("95.50");
    claim
}

fn config() -> ClaimSubmissionConfig {
    ClaimSubmissionConfig {
        envelope: envelope_config(),
        submitter: Submitter {
            name: "CLAIMBRIDGE BILLING".into(),
            id: "CB0001".into(),
            contact_name: "BILLING DESK".into(),
            phone: "3055552222".into(),
        },
        receiver: Receiver {
            name: "CLEARINGHOUSE".into(),
            id: "CH0001".into(),
        },
    }
}

const CONTROL: ControlNumbers = ControlNumbers {
    interchange: 907,
    group: 12,
};

fn submission<'c>(claim: &'c BillingClaim, pcn: &'c str) -> ClaimSubmission<'c> {
    ClaimSubmission {
        claim,
        patient_control_number: pcn,
        claim_filing_indicator: "CI",
    }
}

fn segments(text: &str) -> Vec<Segment<'_>> {
    Segments::new(text).unwrap().collect::<Result<_, _>>().unwrap()
}

/// What every 837P we write must satisfy when read back: the envelope's counts and
/// control numbers, one claim per submission, and a sound HL hierarchy.
fn assert_reads_back(text: &str, claims: usize) {
    let summary = check_envelope(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(summary.control_number, "000000907");
    assert_eq!(summary.groups.len(), 1);
    let group = &summary.groups[0];
    assert_eq!(
        (group.functional_id.as_str(), group.control_number.as_str()),
        ("HC", "12")
    );
    assert_eq!(group.version, IMPLEMENTATION);
    assert_eq!(group.transactions.len(), 1);
    assert_eq!(group.transactions[0].control_number, "0001");
    let all = segments(text);
    assert_eq!(group.transactions[0].segment_count, all.len() - 4);
    assert_eq!(all.iter().filter(|s| s.id == "CLM").count(), claims);
    // Each HL names an earlier HL as parent, and its level is the parent's child.
    let mut levels: Vec<(String, String)> = Vec::new();
    for hl in all.iter().filter(|s| s.id == "HL") {
        let [id, parent, level, _] = hl.values::<4>();
        assert_eq!(id.parse::<usize>().unwrap(), levels.len() + 1);
        let parent_level = levels.iter().find(|(i, _)| i == parent).map(|(_, l)| l.as_str());
        match level {
            "20" => assert_eq!(parent, ""),
            "22" => assert_eq!(parent_level, Some("20")),
            "23" => assert_eq!(parent_level, Some("22")),
            other => panic!("unexpected HL level {other}"),
        }
        levels.push((id.to_string(), level.to_string()));
    }
}

#[test]
fn one_claim_is_written_segment_by_segment() {
    let claim = office_visit("claim-jane");
    let text = write_837p(&[submission(&claim, "CB1001")], &config(), CONTROL, created()).unwrap();
    let expected = "\
ISA*00*          *00*          *ZZ*CLAIMBRIDGE    *ZZ*CLEARINGHOUSE  *240115*0905*^*00501*000000907*0*T*:~
GS*HC*CLAIMBRIDGE*CLEARINGHOUSE*20240115*0905*12*X*005010X222A1~
ST*837*0001*005010X222A1~
BHT*0019*00*000000907*20240115*0905*CH~
NM1*41*2*CLAIMBRIDGE BILLING*****46*CB0001~
PER*IC*BILLING DESK*TE*3055552222~
NM1*40*2*CLEARINGHOUSE*****46*CH0001~
HL*1**20*1~
PRV*BI*PXC*207Q00000X~
NM1*85*2*BRIGHT CLINIC*****XX*1234567893~
N3*100 HARBOR DR~
N4*MIAMI*FL*331110000~
REF*EI*123456789~
HL*2*1*22*0~
SBR*P*18*G100******CI~
NM1*IL*1*DOE*JANE****MI*M123456789~
N3*236 N MAIN ST~
N4*MIAMI*FL*331110000~
DMG*D8*19700101*F~
NM1*PR*2*ACME HEALTH PLAN*****PI*60054~
CLM*CB1001*190***11:B:1*Y*A*Y*Y~
HI*ABK:E119*ABF:I10~
LX*1~
SV1*HC:99214:25*150*UN*1***1:2~
DTP*472*D8*20240110~
LX*2~
SV1*HC:96372*40*UN*1***1~
DTP*472*D8*20240110~
SE*27*0001~
GE*1*12~
IEA*1*000000907~
";
    assert_eq!(text, expected);
    assert_reads_back(&text, 1);
}

#[test]
fn claims_are_grouped_by_billing_provider_subscriber_and_patient() {
    let jane_first = office_visit("claim-jane-1");
    let child = childs_visit();
    let jane_second = office_visit("claim-jane-2");
    let mut elsewhere = office_visit("claim-jane-3");
    elsewhere.billing_provider.npi = Some("1518012345".into());
    elsewhere.billing_provider.name = "HARBOR LAB".into();
    let claims = [
        submission(&jane_first, "CB1001"),
        submission(&child, "CB1002"),
        submission(&jane_second, "CB1003"),
        submission(&elsewhere, "CB1004"),
    ];
    let text = write_837p(&claims, &config(), CONTROL, created()).unwrap();
    assert_reads_back(&text, 4);

    let all = segments(&text);
    let outline: Vec<String> = all
        .iter()
        .filter(|s| matches!(s.id, "HL" | "CLM" | "PAT"))
        .map(|s| match s.id {
            "HL" => format!("HL {}/{}/{}", s.value(1), s.value(2), s.value(3)),
            "CLM" => format!("CLM {}", s.value(1)),
            _ => format!("PAT {}", s.value(1)),
        })
        .collect();
    assert_eq!(
        outline,
        [
            "HL 1//20",
            "HL 2/1/22",
            "CLM CB1001",
            "CLM CB1003",
            "HL 3/1/22",
            "HL 4/3/23",
            "PAT 19",
            "CLM CB1002",
            "HL 5//20",
            "HL 6/5/22",
            "CLM CB1004",
        ]
    );
    // The father is the subscriber: no SBR02, and his child level follows.
    assert!(text.contains("\nHL*3*1*22*1~\nSBR*P********CI~\n"));
    // Not the patient: no address or demographics for him.
    assert!(text.contains("\nNM1*IL*1*ROE*JOHN****MI*R987654321~\nNM1*PR*2*ACME HEALTH PLAN*****PI*60054~\n"));
    assert!(
        text.contains("\nNM1*QC*1*ROE*TIM~\nN3*236 N MAIN ST~\nN4*MIAMI*FL*331110000~\nDMG*D8*20150601*M~\n")
    );
    // The rendering provider differs from the billing provider.
    assert!(text
        .contains("\nHI*ABK:J069~\nNM1*82*1*SMITH*ANN****XX*1245319599~\nPRV*PE*PXC*208000000X~\nLX*1~\n"));
}

#[test]
fn replacements_and_line_level_places_of_service_are_written() {
    let mut claim = office_visit("claim-jane");
    claim.original_reference = Some("24016000123".into());
    claim.lines[1].place_of_service = Some("22".into());
    claim.lines[0].place_of_service = Some("11".into());
    let text = write_837p(&[submission(&claim, "CB1001")], &config(), CONTROL, created()).unwrap();
    assert!(text.contains("\nCLM*CB1001*190***11:B:7*Y*A*Y*Y~\nREF*F8*24016000123~\nHI*"));
    assert!(text.contains("\nSV1*HC:99214:25*150*UN*1***1:2~\n"));
    assert!(text.contains("\nSV1*HC:96372*40*UN*1*22**1~\n"));
    assert_reads_back(&text, 1);
}

#[test]
fn a_period_of_service_is_written_as_a_date_range() {
    let mut claim = office_visit("claim-jane");
    claim.lines[1].service_end = Some(date("2024-01-12"));
    let text = write_837p(&[submission(&claim, "CB1001")], &config(), CONTROL, created()).unwrap();
    assert!(text.contains("\nSV1*HC:96372*40*UN*1***1~\nDTP*472*RD8*20240110-20240112~\n"));
    assert!(text.contains("\nDTP*472*D8*20240110~\n"));
    assert_reads_back(&text, 1);
}

#[test]
fn twelve_diagnoses_fit_and_thirteen_do_not() {
    let mut claim = office_visit("claim-jane");
    claim.diagnoses = (0..12).map(|i| format!("Z00{i:02}")).collect();
    let text = write_837p(&[submission(&claim, "CB1001")], &config(), CONTROL, created()).unwrap();
    let hi = segments(&text).into_iter().find(|s| s.id == "HI").unwrap();
    assert_eq!(hi.elements.len(), 12);
    assert_eq!(hi.value(12), "ABF:Z0011");
    assert_reads_back(&text, 1);
    claim.diagnoses.push("Z0012".into());
    let error = write_837p(&[submission(&claim, "CB1001")], &config(), CONTROL, created()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "claim claim-jane: 13 diagnoses: an 837P claim carries 1 to 12"
    );
}

#[test]
fn claims_the_guide_would_reject_are_refused_with_their_reason() {
    let refuse = |claim: &BillingClaim, pcn: &str| {
        write_837p(&[submission(claim, pcn)], &config(), CONTROL, created())
            .unwrap_err()
            .to_string()
    };
    let mut claim = office_visit("claim-jane");
    claim.billing_provider.npi = None;
    assert_eq!(
        refuse(&claim, "CB1"),
        "claim claim-jane: the billing provider's NPI is required"
    );

    let mut claim = office_visit("claim-jane");
    claim.lines[1].diagnosis_pointers = vec![3];
    assert_eq!(
        refuse(&claim, "CB1"),
        "claim claim-jane: line 2: diagnosis pointer 3 points at none of the 2 diagnoses"
    );

    let mut claim = office_visit("claim-jane");
    claim.total_charge = money("200");
    assert_eq!(
        refuse(&claim, "CB1"),
        "claim claim-jane: the total charge 200 is not the sum of the line charges, 190.00"
    );

    let claim = office_visit("claim-jane");
    assert_eq!(
        refuse(&claim, "6f1c2b0e-3d4a-4e8b-9f10-a1b2c3d4e5f6"),
        "claim claim-jane: the patient control number \"6f1c2b0e-3d4a-4e8b-9f10-a1b2c3d4e5f6\" is longer than 20 characters"
    );

    let mut claim = childs_visit();
    claim.subscriber.person = None;
    assert_eq!(
        refuse(&claim, "CB1"),
        "claim claim-tim: the subscriber (the patient is not the subscriber) is required"
    );

    let mut claim = office_visit("claim-jane");
    claim.patient.family = "O*BRIEN".into();
    assert_eq!(
        refuse(&claim, "CB1"),
        "claim claim-jane: NM103: \"O*BRIEN\" contains '*', a delimiter or line break (X12 cannot escape it)"
    );

    assert_eq!(
        write_837p(&[], &config(), CONTROL, created()).unwrap_err(),
        ClaimFileError::NoClaims
    );
}

#[test]
fn every_batch_written_reads_back_with_matching_counts_and_control_numbers() {
    let claims: Vec<BillingClaim> = (0..25)
        .map(|n| {
            let mut claim = if n % 3 == 0 {
                childs_visit()
            } else {
                office_visit("claim")
            };
            claim.claim_id = format!("claim-{n}");
            if n % 4 == 0 {
                claim.billing_provider.npi = Some("1518012345".into());
            }
            if n % 5 == 0 {
                claim.patient.given = vec![format!("SIBLING{n}")];
            }
            claim
        })
        .collect();
    let numbers: Vec<String> = (0..claims.len()).map(|n| format!("CB{n:04}")).collect();
    for size in 1..=claims.len() {
        let batch: Vec<ClaimSubmission<'_>> = claims[..size]
            .iter()
            .zip(&numbers)
            .map(|(claim, number)| submission(claim, number))
            .collect();
        let text = write_837p(&batch, &config(), CONTROL, created()).unwrap();
        assert_reads_back(&text, size);
    }
}
