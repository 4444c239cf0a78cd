//! Just enough X12 for the simulator: splitting an interchange into segments with
//! the separators its ISA declares, reading what Claim.MD reads from an 837P (each
//! claim's CLM01 and CLM02, its lines, payer and billing provider) and from a 270,
//! and writing an interchange around a transaction set with consistent control
//! numbers and counts. Nothing here is shared with the server's X12 code: the
//! simulator is a second, independent reading of the same standard.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use std::str::FromStr;

/// ISA is fixed-width: the segment terminator is its 106th character.
const ISA_LENGTH: usize = 106;

/// The interchange's segments, each split into its elements (element 0 is the id).
pub(crate) fn segments(text: &str) -> Result<Vec<Vec<String>>, String> {
    let text = text.trim_start();
    let bytes = text.as_bytes();
    if !text.starts_with("ISA") || bytes.len() < ISA_LENGTH || !text.is_char_boundary(ISA_LENGTH) {
        return Err("the file is not an X12 interchange (it does not begin with an ISA segment)".into());
    }
    let element = bytes[3] as char;
    let terminator = bytes[ISA_LENGTH - 1] as char;
    Ok(text
        .split(terminator)
        .map(str::trim)
        .filter(|segment| !segment.is_empty())
        .map(|segment| segment.split(element).map(str::to_owned).collect())
        .collect())
}

fn element(segment: &[String], index: usize) -> Option<&str> {
    segment
        .get(index)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
}

/// The transaction set id of the interchange's (first) ST.
fn transaction_set(segments: &[Vec<String>]) -> Option<&str> {
    segments
        .iter()
        .find(|segment| segment[0] == "ST")
        .and_then(|segment| element(segment, 1))
}

/// Who sent the interchange and to whom (ISA06, ISA08).
#[derive(Debug, Clone, Default)]
pub(crate) struct Parties {
    pub sender: String,
    pub receiver: String,
}

fn parties(segments: &[Vec<String>]) -> Parties {
    let isa = &segments[0];
    Parties {
        sender: element(isa, 6).unwrap_or_default().to_owned(),
        receiver: element(isa, 8).unwrap_or_default().to_owned(),
    }
}

/// A person as an NM1 names them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Named {
    pub last: String,
    pub first: String,
    pub id: String,
}

fn named(segment: &[String]) -> Named {
    Named {
        last: element(segment, 3).unwrap_or_default().to_owned(),
        first: element(segment, 4).unwrap_or_default().to_owned(),
        id: element(segment, 9).unwrap_or_default().to_owned(),
    }
}

/// One claim (CLM) of an 837P, with the loops above it that it belongs to.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClaimRead {
    pub pcn: String,
    /// CLM02, when it reads as an amount.
    pub charge: Option<Decimal>,
    /// Σ SV102 of its service lines.
    pub line_total: Decimal,
    pub lines: usize,
    pub payer: Named,
    pub billing: Named,
    pub billing_tax_id: String,
    pub subscriber: Named,
    /// The patient when not the subscriber (2010CA).
    pub patient: Option<Named>,
    /// The first service date (DTP*472), CCYYMMDD.
    pub service_date: Option<String>,
}

/// The claims of an 837P, as Claim.MD's upload reads them.
pub(crate) fn read_837(text: &str) -> Result<(Parties, Vec<ClaimRead>), String> {
    let segments = segments(text)?;
    if transaction_set(&segments) != Some("837") {
        return Err("the file is not an 837 claim file (ST01 is not 837)".into());
    }
    let mut context = ClaimRead::default();
    let mut claims: Vec<ClaimRead> = Vec::new();
    for segment in &segments {
        match (segment[0].as_str(), element(segment, 1)) {
            ("HL", _) if element(segment, 3) == Some("22") => {
                context.subscriber = Named::default();
                context.payer = Named::default();
                context.patient = None;
            }
            ("NM1", Some("85")) => context.billing = named(segment),
            ("REF", Some("EI")) => {
                context.billing_tax_id = element(segment, 2).unwrap_or_default().to_owned()
            }
            ("NM1", Some("IL")) => context.subscriber = named(segment),
            ("NM1", Some("PR")) => context.payer = named(segment),
            ("NM1", Some("QC")) => context.patient = Some(named(segment)),
            ("CLM", _) => claims.push(ClaimRead {
                pcn: element(segment, 1).unwrap_or_default().to_owned(),
                charge: element(segment, 2).and_then(|amount| Decimal::from_str(amount).ok()),
                line_total: Decimal::ZERO,
                lines: 0,
                service_date: None,
                ..context.clone()
            }),
            ("SV1", _) => {
                if let Some(claim) = claims.last_mut() {
                    claim.lines += 1;
                    claim.line_total += element(segment, 2)
                        .and_then(|amount| Decimal::from_str(amount).ok())
                        .unwrap_or_default();
                }
            }
            ("DTP", Some("472")) => {
                if let Some(claim) = claims.last_mut() {
                    let date = element(segment, 3).map(|date| date[..date.len().min(8)].to_owned());
                    claim.service_date = claim.service_date.take().or(date);
                }
            }
            _ => {}
        }
    }
    if claims.is_empty() {
        return Err("the 837 holds no claims (no CLM segment)".into());
    }
    Ok((parties(&segments), claims))
}

/// What the simulator reads of a 270.
#[derive(Debug, Clone, Default)]
pub(crate) struct InquiryRead {
    pub parties: Parties,
    pub reference: String,
    pub payer: Named,
    pub provider: Named,
    pub subscriber: Named,
    pub trace: Option<String>,
}

pub(crate) fn read_270(text: &str) -> Result<InquiryRead, String> {
    let segments = segments(text)?;
    if transaction_set(&segments) != Some("270") {
        return Err("the file is not a 270 eligibility inquiry (ST01 is not 270)".into());
    }
    let mut inquiry = InquiryRead {
        parties: parties(&segments),
        ..InquiryRead::default()
    };
    for segment in &segments {
        match (segment[0].as_str(), element(segment, 1)) {
            ("BHT", _) => inquiry.reference = element(segment, 3).unwrap_or_default().to_owned(),
            ("NM1", Some("PR")) => inquiry.payer = named(segment),
            ("NM1", Some("1P")) => inquiry.provider = named(segment),
            ("NM1", Some("IL")) => inquiry.subscriber = named(segment),
            ("TRN", _) => inquiry.trace = element(segment, 2).map(str::to_owned),
            _ => {}
        }
    }
    Ok(inquiry)
}

/// The envelope of an interchange the simulator writes.
#[derive(Debug, Clone)]
pub(crate) struct Envelope<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// ISA13 and GS06.
    pub control: u64,
    /// GS01: HP for an 835, HB for a 271.
    pub functional_id: &'a str,
    pub transaction_set: &'a str,
    pub version: &'a str,
    pub at: NaiveDateTime,
}

/// Writes one interchange holding one transaction set: ISA/GS/ST around `body` (the
/// segments between ST and SE, without terminators), SE counting ST to SE, and the
/// GE/IEA counts and control numbers matching their headers.
pub(crate) fn interchange(envelope: &Envelope<'_>, body: &[String]) -> String {
    let Envelope {
        from,
        to,
        functional_id,
        transaction_set,
        version,
        at,
        ..
    } = envelope;
    let control = envelope.control % 1_000_000_000;
    let mut segments = vec![
        format!(
            "ISA*00*          *00*          *ZZ*{:<15}*ZZ*{:<15}*{}*{}*^*00501*{:09}*0*T*:",
            fixed(from, 15),
            fixed(to, 15),
            at.format("%y%m%d"),
            at.format("%H%M"),
            control
        ),
        format!(
            "GS*{functional_id}*{from}*{to}*{}*{}*{control}*X*{version}",
            at.format("%Y%m%d"),
            at.format("%H%M")
        ),
        format!("ST*{transaction_set}*0001*{version}"),
    ];
    segments.extend(body.iter().cloned());
    segments.push(format!("SE*{}*0001", body.len() + 2));
    segments.push(format!("GE*1*{control}"));
    segments.push(format!("IEA*1*{control:09}"));
    let mut text = segments.join("~\n");
    text.push_str("~\n");
    text
}

fn fixed(value: &str, width: usize) -> String {
    value.chars().take(width).collect()
}

/// An amount as X12 writes it: no trailing zeros.
pub(crate) fn amount(value: Decimal) -> String {
    value.round_dp(2).normalize().to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A synthetic 837P with two claims; the second's lines do not add up to its
    /// total. People and ids are invented.
    pub(crate) fn two_claims() -> String {
        [
            "ISA*00*          *00*          *ZZ*CLAIMBRIDGE    *ZZ*CLAIMMD        *260115*1200*^*00501*000000101*0*T*:~",
            "GS*HC*CLAIMBRIDGE*CLAIMMD*20260115*1200*101*X*005010X222A1~",
            "ST*837*0001*005010X222A1~",
            "BHT*0019*00*B101*20260115*1200*CH~",
            "HL*1**20*1~",
            "NM1*85*2*SYNTHETIC CLINIC*****XX*1999999984~",
            "REF*EI*990000001~",
            "HL*2*1*22*0~",
            "SBR*P*18*******CI~",
            "NM1*IL*1*TESTPERSON*ALEX****MI*SIM0001~",
            "NM1*PR*2*SIM HEALTH PLAN*****PI*87726~",
            "CLM*PCN-A*150***11:B:1*Y*A*Y*Y~",
            "LX*1~",
            "SV1*HC:99213*100*UN*1***1~",
            "DTP*472*D8*20260110~",
            "LX*2~",
            "SV1*HC:85025*50*UN*1***1~",
            "CLM*PCN-B*80***11:B:1*Y*A*Y*Y~",
            "LX*1~",
            "SV1*HC:99212*70*UN*1***1~",
            "SE*19*0001~",
            "GE*1*101~",
            "IEA*1*000000101~",
        ]
        .join("\n")
    }

    #[test]
    fn an_837_gives_each_claims_pcn_charge_and_lines() {
        let (parties, claims) = read_837(&two_claims()).unwrap();
        assert_eq!(parties.sender, "CLAIMBRIDGE");
        assert_eq!(claims.len(), 2);
        assert_eq!(claims[0].pcn, "PCN-A");
        assert_eq!(claims[0].charge, Some(Decimal::from(150)));
        assert_eq!(claims[0].line_total, Decimal::from(150));
        assert_eq!(claims[0].payer.id, "87726");
        assert_eq!(claims[0].billing.id, "1999999984");
        assert_eq!(claims[0].service_date.as_deref(), Some("20260110"));
        assert_eq!(claims[1].line_total, Decimal::from(70));
    }

    #[test]
    fn separators_come_from_the_isa() {
        let text = two_claims().replace('*', "|").replace('~', "!");
        let (_, claims) = read_837(&text).unwrap();
        assert_eq!(claims[1].pcn, "PCN-B");
    }

    #[test]
    fn what_is_not_an_837_is_refused() {
        assert!(read_837("hello").is_err());
        assert!(read_837(&two_claims().replace("ST*837", "ST*270")).is_err());
    }

    #[test]
    fn an_interchange_counts_its_segments_and_matches_its_control_numbers() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 1, 15)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let envelope = Envelope {
            from: "A",
            to: "B",
            control: 42,
            functional_id: "HP",
            transaction_set: "835",
            version: "005010X221A1",
            at,
        };
        let text = interchange(&envelope, &["BPR*I*1*C*CHK".into()]);
        let segments = segments(&text).unwrap();
        assert_eq!(segments[0].len(), 17);
        assert_eq!(segments[0][13], "000000042");
        assert_eq!(text.lines().next().unwrap().len(), 106);
        let se = segments.iter().find(|s| s[0] == "SE").unwrap();
        assert_eq!(se[1], "3");
        assert_eq!(segments.last().unwrap()[2], "000000042");
    }
}
