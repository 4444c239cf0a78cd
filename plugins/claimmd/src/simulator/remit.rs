//! The simulator's payer: a small, valid 005010X221A1 835 paying one accepted claim
//! in full by check. Enough for the server's 835 reader and posting to work end to
//! end: BPR and TRN, payer (N1*PR with its required N3/N4/PER) and payee (N1*PE,
//! REF*TJ), one claim (CLP with the patient's NM1*QC); BPR02 equals CLP04 and the
//! claim balances (CLP03 − CLP04 = 0, no adjustments).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use super::x12::{amount, interchange, ClaimRead, Envelope};

/// The simulator's id in the envelopes it writes.
pub(crate) const SIMULATOR_ID: &str = "CLAIMMDSIM";

/// One payment: the claim, what it is paid, and how it is identified.
pub(crate) struct Payment<'a> {
    pub claim: &'a ClaimRead,
    pub paid: Decimal,
    pub check_number: &'a str,
    /// CLP07, the payer's claim number.
    pub payer_claim_number: &'a str,
    /// ISA13/GS06 of the 835.
    pub control: u64,
    pub at: NaiveDateTime,
}

pub(crate) fn write_835(payment: &Payment<'_>) -> String {
    let claim = payment.claim;
    let date = payment.at.format("%Y%m%d").to_string();
    let paid = amount(payment.paid);
    let charge = amount(claim.charge.unwrap_or_default());
    let payer_name = or(&claim.payer.last, "SIMULATED PAYER");
    let payer_id = or(&claim.payer.id, "SIMPAYER");
    let payee_name = or(&claim.billing.last, "SIMULATED PROVIDER");
    let patient = claim.patient.as_ref().unwrap_or(&claim.subscriber);
    let body = vec![
        format!("BPR*I*{paid}*C*CHK************{date}"),
        format!(
            "TRN*1*{}*1{}",
            payment.check_number,
            or(&claim.billing_tax_id, "990000000")
        ),
        format!("DTM*405*{date}"),
        format!("N1*PR*{payer_name}*XV*{payer_id}"),
        "N3*1 SIMULATION WAY".to_owned(),
        "N4*TESTVILLE*MN*55401".to_owned(),
        "PER*BL*PROVIDER SERVICES*TE*8005550100".to_owned(),
        format!("N1*PE*{payee_name}*XX*{}", or(&claim.billing.id, "1999999984")),
        format!("REF*TJ*{}", or(&claim.billing_tax_id, "990000000")),
        "LX*1".to_owned(),
        format!(
            "CLP*{}*1*{charge}*{paid}**12*{}*11*1",
            claim.pcn, payment.payer_claim_number
        ),
        format!(
            "NM1*QC*1*{}*{}****MI*{}",
            or(&patient.last, "UNKNOWN"),
            patient.first,
            or(&claim.subscriber.id, "UNKNOWN")
        ),
    ];
    interchange(
        &Envelope {
            from: SIMULATOR_ID,
            to: or(&claim.billing.id, "PROVIDER"),
            control: payment.control,
            functional_id: "HP",
            transaction_set: "835",
            version: "005010X221A1",
            at: payment.at,
        },
        &body,
    )
}

fn or<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.is_empty() {
        default
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::super::x12::{read_837, segments, tests::two_claims};
    use super::*;

    #[test]
    fn the_835_pays_the_claim_in_full_and_balances() {
        let (_, claims) = read_837(&two_claims()).unwrap();
        let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 20)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap();
        let text = write_835(&Payment {
            claim: &claims[0],
            paid: Decimal::from(150),
            check_number: "SIM000001",
            payer_claim_number: "SIM1001",
            control: 7,
            at,
        });
        let segments = segments(&text).unwrap();
        let find = |id: &str| segments.iter().find(|s| s[0] == id).unwrap().clone();
        assert_eq!(find("BPR")[2], "150");
        let clp = find("CLP");
        assert_eq!(
            (clp[1].as_str(), clp[3].as_str(), clp[4].as_str()),
            ("PCN-A", "150", "150")
        );
        assert_eq!(clp[7], "SIM1001");
        assert_eq!(find("TRN")[2], "SIM000001");
        let st_to_se = segments
            .iter()
            .skip_while(|s| s[0] != "ST")
            .take_while(|s| s[0] != "GE")
            .count();
        assert_eq!(find("SE")[1], st_to_se.to_string());
        assert_eq!(find("ST")[3], "005010X221A1");
    }
}
