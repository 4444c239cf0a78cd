//! The 277 family: the 277CA claim acknowledgment (005010X214), the payer's answer
//! to each claim of an 837 before adjudication, and the 277 claim status response
//! (005010X212), the answer to a 276 inquiry. Both report status (STC) in the same
//! hierarchy — HL 20 source, 21 receiver, 19 provider, then 22/23 (X212) or PT
//! (X214) for the claims — so one reader serves both.
//!
//! Each claim is found by the TRN*2 at the patient or subscriber level, which
//! echoes our CLM01; REF*1K is the payer's claim number. Statuses reported above the
//! claims (a batch accepted or rejected at the receiver level, an inquiry that could
//! not be answered) are kept per level.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::x12::entity::EntityName;
use crate::x12::error::{Problem, ReadError};
use crate::x12::procedure::{procedure, Procedure};
use crate::x12::segment::{Element, Segment};
use crate::x12::transaction::{read_transactions, TransactionHeader, TransactionReader};
use crate::x12::values::parse_period;

/// Every 277 transaction set (277CA or claim status response) in `text`.
pub fn read_277(text: &str) -> Result<Vec<StatusReport>, ReadError> {
    read_transactions::<StatusReader>(text)
}

/// One 277 transaction set.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// ST02.
    pub control_number: String,
    /// ST03 (or GS08): 005010X214 for a 277CA, 005010X212 for a status response.
    pub implementation: String,
    /// Statuses above the claims: the source, receiver (batch) or provider level.
    pub level_statuses: Vec<LevelStatus>,
    pub claims: Vec<ClaimStatus>,
    /// Faults read around (see [`crate::x12::procedure::procedure`]).
    pub problems: Vec<ReadError>,
}

/// STC segments reported for a whole level of the hierarchy.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelStatus {
    /// HL03: 20 information source, 21 information receiver, 19 provider.
    pub level: String,
    /// The level's NM1.
    pub entity: Option<EntityName>,
    /// The level's TRN02 (for the receiver level of a 277CA, our BHT03 batch reference).
    pub trace: Option<String>,
    pub statuses: Vec<StatusInfo>,
}

/// What the payer says about one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimStatus {
    /// TRN02 of the claim level: our CLM01, echoed.
    pub patient_control_number: String,
    /// REF*1K: the payer's claim control number.
    pub payer_claim_control_number: Option<String>,
    /// The patient (or subscriber) NM1 of the claim's level.
    pub patient: Option<EntityName>,
    /// DTP*472: the claim's service dates (from, to).
    pub service_period: Option<(NaiveDate, NaiveDate)>,
    /// Claim-level STC segments.
    pub statuses: Vec<StatusInfo>,
    /// SVC loops (2220): line-level status.
    pub services: Vec<ServiceStatus>,
}

/// One STC segment.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusInfo {
    /// STC01, then STC10 and STC11 when the payer reports more than one status.
    pub codes: Vec<StatusCode>,
    /// STC02.
    pub effective_date: Option<NaiveDate>,
    /// STC03: in a 277CA, WQ accepted or U rejected.
    pub action: Option<String>,
    /// STC04: the claim's (or line's) charge.
    pub charge: Option<Decimal>,
    /// STC05: the amount paid.
    pub paid: Option<Decimal>,
    /// STC12: free text from the payer.
    pub message: Option<String>,
}

/// One health care claim status composite (C043).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCode {
    /// C043-1, the claim status category: A1, A2, A7, F1, P3…
    pub category: String,
    /// C043-2, the claim status code: 20 accepted for processing, 21 missing or
    /// invalid information, 164 entity's contract/member number…
    pub status: String,
    /// C043-3, the entity the status is about: IL subscriber, QC patient, 85 billing
    /// provider, PR payer…
    pub entity: Option<String>,
    /// C043-4, the code list of `status` when not the claim status codes (RX: NCPDP
    /// reject codes).
    pub code_list: Option<String>,
}

/// What a status category means for the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// A0 forwarded, A1 received: not yet accepted or rejected.
    Acknowledged,
    /// A2 accepted into adjudication, A5 split upon acceptance.
    Accepted,
    /// A3 returned as unprocessable, A4 not found, A6 missing information, A7 invalid
    /// information, A8 relational field in error: never entered adjudication, fix and
    /// resubmit.
    Rejected,
    /// P0–P5.
    Pending,
    /// F0–F5: adjudicated (paid, denied, revised…).
    Finalized,
    /// R0–R16: the payer wants more information.
    InformationRequested,
    /// E0–E4 (response not possible) and D0 (data search unsuccessful).
    Unavailable,
    /// A category this reader does not know.
    Unknown,
}

/// SVC and its STC (2220 loop).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceStatus {
    pub procedure: Procedure,
    /// SVC02.
    pub charge: Option<Decimal>,
    /// SVC03.
    pub paid: Option<Decimal>,
    /// REF*FJ: our line item control number.
    pub line_item_control_number: Option<String>,
    /// DTP*472: the line's service dates (from, to).
    pub service_period: Option<(NaiveDate, NaiveDate)>,
    pub statuses: Vec<StatusInfo>,
}

impl StatusCode {
    pub fn disposition(&self) -> Disposition {
        match self.category.as_str() {
            "A0" | "A1" => Disposition::Acknowledged,
            "A2" | "A5" => Disposition::Accepted,
            "A3" | "A4" | "A6" | "A7" | "A8" => Disposition::Rejected,
            category => match category.as_bytes().first() {
                Some(b'P') => Disposition::Pending,
                Some(b'F') => Disposition::Finalized,
                Some(b'R') => Disposition::InformationRequested,
                Some(b'E' | b'D') => Disposition::Unavailable,
                _ => Disposition::Unknown,
            },
        }
    }
}

impl ClaimStatus {
    /// Rejected when any claim-level status is a rejection (a 277CA lists every
    /// reason); otherwise what the first status says.
    pub fn disposition(&self) -> Disposition {
        let mut codes = self.statuses.iter().flat_map(|status| status.codes.iter());
        if codes
            .clone()
            .any(|code| code.disposition() == Disposition::Rejected)
        {
            return Disposition::Rejected;
        }
        codes.next().map_or(Disposition::Unknown, StatusCode::disposition)
    }
}

/// The levels whose TRN*2 identifies a claim: subscriber and dependent (X212),
/// patient (X214).
fn is_claim_level(level: &str) -> bool {
    matches!(level, "22" | "23" | "PT")
}

struct StatusReader {
    report: StatusReport,
    level: String,
    level_entity: Option<EntityName>,
    level_trace: Option<String>,
    /// A claim opened by TRN*2 at the current level.
    in_claim: bool,
    /// An SVC opened in the current claim.
    in_service: bool,
}

impl<'a> TransactionReader<'a> for StatusReader {
    type Output = StatusReport;
    const SET_ID: &'static str = "277";

    fn start(header: &TransactionHeader<'a>) -> Self {
        StatusReader {
            report: StatusReport {
                control_number: header.control_number.to_string(),
                implementation: header.implementation.to_string(),
                level_statuses: Vec::new(),
                claims: Vec::new(),
                problems: Vec::new(),
            },
            level: String::new(),
            level_entity: None,
            level_trace: None,
            in_claim: false,
            in_service: false,
        }
    }

    fn segment(&mut self, segment: &Segment<'a>) -> Result<(), ReadError> {
        match segment.id {
            "HL" => {
                self.level = segment.required(3)?.to_string();
                self.level_entity = None;
                self.level_trace = None;
                self.in_claim = false;
                self.in_service = false;
            }
            "NM1" => self.level_entity = Some(EntityName::from_nm1(segment)?),
            "TRN" if is_claim_level(&self.level) && segment.value(1) == "2" => {
                self.report.claims.push(ClaimStatus {
                    patient_control_number: segment.required(2)?.to_string(),
                    payer_claim_control_number: None,
                    patient: self.level_entity.clone(),
                    service_period: None,
                    statuses: Vec::new(),
                    services: Vec::new(),
                });
                self.in_claim = true;
                self.in_service = false;
            }
            "TRN" => self.level_trace = segment.optional_string(2),
            "STC" => {
                let status = status_info(segment)?;
                let in_service = self.in_service;
                if let Some(claim) = self.claim() {
                    match claim.services.last_mut() {
                        Some(service) if in_service => service.statuses.push(status),
                        _ => claim.statuses.push(status),
                    }
                } else {
                    self.level_status(segment)?.statuses.push(status);
                }
            }
            "REF" => {
                let value = segment.optional_string(2);
                let in_service = self.in_service;
                match (self.claim(), segment.value(1)) {
                    (Some(claim), "1K") if !in_service => claim.payer_claim_control_number = value,
                    (Some(claim), "FJ") if in_service => {
                        if let Some(service) = claim.services.last_mut() {
                            service.line_item_control_number = value;
                        }
                    }
                    _ => {}
                }
            }
            "DTP" if segment.value(1) == "472" => {
                let text = segment.required(3)?;
                let period = parse_period(text)
                    .ok_or_else(|| segment.element_error(3, Problem::NotADate(text.to_string())))?;
                let in_service = self.in_service;
                if let Some(claim) = self.claim() {
                    match claim.services.last_mut() {
                        Some(service) if in_service => service.service_period = Some(period),
                        _ => claim.service_period = Some(period),
                    }
                }
            }
            "SVC" => {
                let service = ServiceStatus {
                    procedure: procedure(segment, 1, &mut self.report.problems)?,
                    charge: segment.optional_amount(2)?,
                    paid: segment.optional_amount(3)?,
                    line_item_control_number: None,
                    service_period: None,
                    statuses: Vec::new(),
                };
                self.claim()
                    .ok_or_else(|| segment.error(Problem::OutOfPlace("SVC outside a claim (TRN*2)")))?
                    .services
                    .push(service);
                self.in_service = true;
            }
            // BHT, DMG, QTY and AMT totals, other DTPs: not needed to route a status.
            _ => {}
        }
        Ok(())
    }

    fn finish(self, _trailer: &Segment<'a>) -> Result<StatusReport, ReadError> {
        Ok(self.report)
    }
}

impl StatusReader {
    fn claim(&mut self) -> Option<&mut ClaimStatus> {
        if self.in_claim {
            self.report.claims.last_mut()
        } else {
            None
        }
    }

    /// The status entry of the current (non-claim) level, opened on its first STC.
    fn level_status(&mut self, segment: &Segment<'_>) -> Result<&mut LevelStatus, ReadError> {
        if self.level.is_empty() {
            return Err(segment.error(Problem::OutOfPlace("STC before any HL")));
        }
        let statuses = &mut self.report.level_statuses;
        let reopened = statuses.last().is_some_and(|last| {
            last.level == self.level && last.trace == self.level_trace && last.entity == self.level_entity
        });
        if !reopened {
            statuses.push(LevelStatus {
                level: self.level.clone(),
                entity: self.level_entity.clone(),
                trace: self.level_trace.clone(),
                statuses: Vec::new(),
            });
        }
        let last = statuses.len() - 1;
        Ok(&mut statuses[last])
    }
}

fn status_code(segment: &Segment<'_>, n: usize, element: Element<'_>) -> Result<StatusCode, ReadError> {
    let owned = |c: usize| Some(element.component(c).to_string()).filter(|v| !v.is_empty());
    let category = owned(1).ok_or_else(|| segment.located_error(n, Some(1), Problem::Missing))?;
    let status = owned(2).ok_or_else(|| segment.located_error(n, Some(2), Problem::Missing))?;
    Ok(StatusCode {
        category,
        status,
        entity: owned(3),
        code_list: owned(4),
    })
}

fn status_info(segment: &Segment<'_>) -> Result<StatusInfo, ReadError> {
    let mut codes = Vec::with_capacity(1);
    for n in [1, 10, 11] {
        match segment.element(n).filter(|e| !e.as_str().is_empty()) {
            Some(element) => codes.push(status_code(segment, n, element)?),
            None if n == 1 => return Err(segment.element_error(1, Problem::Missing)),
            None => {}
        }
    }
    Ok(StatusInfo {
        codes,
        effective_date: segment.optional_date(2)?,
        action: segment.optional_string(3),
        charge: segment.optional_amount(4)?,
        paid: segment.optional_amount(5)?,
        message: segment.optional_string(12),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::test_fixtures::{fixture, fixtures_starting};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn only(name: &str) -> StatusReport {
        let mut reports = read_277(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(reports.len(), 1, "{name}");
        reports.remove(0)
    }

    #[test]
    fn the_277ca_tells_accepted_from_rejected_claims() {
        let report = only("277CA_005010X214__accepted-and-rejected.277");
        assert_eq!(report.implementation, "005010X214");
        assert_eq!(report.claims.len(), 2);

        let accepted = &report.claims[0];
        assert_eq!(accepted.patient_control_number, "CB1001");
        assert_eq!(
            accepted.payer_claim_control_number.as_deref(),
            Some("24016000123")
        );
        assert_eq!(accepted.disposition(), Disposition::Accepted);
        assert_eq!(accepted.patient.as_ref().unwrap().name, "DOE");
        assert_eq!(
            accepted.service_period,
            Some((date(2024, 1, 10), date(2024, 1, 10)))
        );
        let status = &accepted.statuses[0];
        assert_eq!(
            status.codes,
            [StatusCode {
                category: "A2".into(),
                status: "20".into(),
                entity: Some("PR".into()),
                code_list: None
            }]
        );
        assert_eq!(status.action.as_deref(), Some("WQ"));
        assert_eq!(status.charge, Some(Decimal::from(150)));
        assert_eq!(status.effective_date, Some(date(2024, 1, 16)));

        let rejected = &report.claims[1];
        assert_eq!(rejected.patient_control_number, "CB1002");
        assert_eq!(rejected.payer_claim_control_number, None);
        assert_eq!(rejected.disposition(), Disposition::Rejected);
        let status = &rejected.statuses[0];
        let codes: Vec<(&str, &str, Option<&str>)> = status
            .codes
            .iter()
            .map(|c| (c.category.as_str(), c.status.as_str(), c.entity.as_deref()))
            .collect();
        assert_eq!(codes, [("A7", "164", Some("IL")), ("A7", "562", Some("82"))]);
        assert_eq!(status.message.as_deref(), Some("MEMBER ID NOT FOUND"));
        assert_eq!(
            rejected.service_period,
            Some((date(2024, 1, 8), date(2024, 1, 9)))
        );
        let service = &rejected.services[0];
        assert_eq!(
            (
                service.procedure.code.as_str(),
                service.procedure.modifiers.as_slice()
            ),
            ("99214", &["25".to_string()][..])
        );
        assert_eq!(service.line_item_control_number.as_deref(), Some("CB1002-1"));
        assert_eq!(service.service_period, Some((date(2024, 1, 8), date(2024, 1, 8))));
        assert_eq!(service.statuses[0].codes[0].disposition(), Disposition::Rejected);
        // The line's STC is not taken for the claim's.
        assert_eq!(rejected.statuses.len(), 1);

        // The receiver level acknowledges the batch (our BHT03) as received.
        let batch = &report.level_statuses[0];
        assert_eq!(
            (batch.level.as_str(), batch.trace.as_deref()),
            ("21", Some("000000907"))
        );
        assert_eq!(
            batch.statuses[0].codes[0].disposition(),
            Disposition::Acknowledged
        );
        assert_eq!(report.level_statuses.len(), 1);
    }

    #[test]
    fn every_277_claim_status_sample_reads() {
        let names = fixtures_starting("277_");
        assert_eq!(names.len(), 4);
        for name in names {
            let report = only(&name);
            assert_eq!(report.implementation, "005010X212", "{name}");
            assert_eq!(report.problems, [], "{name}");
        }
    }

    #[test]
    fn claim_level_status_responses_carry_pending_and_finalized_claims() {
        let report = only("277_005010X212__claim-level-status.277");
        let claims: Vec<(&str, Disposition, Option<&str>)> = report
            .claims
            .iter()
            .map(|c| {
                (
                    c.patient_control_number.as_str(),
                    c.disposition(),
                    c.payer_claim_control_number.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            claims,
            [
                ("ABCXYZ1", Disposition::Pending, Some("05347006051")),
                ("ABCXYZ2", Disposition::Finalized, Some("0529675341")),
                ("ABCXYC3", Disposition::Finalized, Some("051681010827")),
            ]
        );
        let paid = &report.claims[1].statuses[0];
        assert_eq!(
            (paid.charge, paid.paid),
            (Some(Decimal::new(759900, 2)), Some(Decimal::new(759900, 2)))
        );
        // The dependent's claim is reported under the dependent (HL 23), not the subscriber.
        let dependent = &report.claims[2];
        assert_eq!(
            dependent.patient.as_ref().unwrap().first.as_deref(),
            Some("JOSEPH")
        );
        assert_eq!(dependent.services.len(), 1);
        assert_eq!(dependent.services[0].statuses.len(), 1);
        // Its DTP*472 follows the SVC: the line's date, not the claim's.
        assert_eq!(dependent.service_period, None);
        assert_eq!(
            dependent.services[0].service_period,
            Some((date(2005, 5, 1), date(2005, 5, 1)))
        );
        assert_eq!(
            report.claims[0].service_period,
            Some((date(2005, 8, 31), date(2005, 9, 6)))
        );
    }

    #[test]
    fn statuses_above_the_claims_are_kept_per_level() {
        let report = only("277_005010X212__information-receiver-level-status.277");
        assert!(report.claims.is_empty());
        let level = &report.level_statuses[0];
        assert_eq!(
            (level.level.as_str(), level.trace.as_deref()),
            ("21", Some("ABC276XXX"))
        );
        assert_eq!(level.statuses[0].codes[0].disposition(), Disposition::Unavailable);

        let report = only("277_005010X212__provider-level-status.277");
        assert_eq!(report.claims.len(), 1);
        let provider = &report.level_statuses[0];
        assert_eq!(provider.level, "19");
        assert_eq!(
            provider.entity.as_ref().unwrap().id.as_deref(),
            Some("6166666666")
        );
        assert_eq!(provider.statuses[0].codes[0].entity.as_deref(), Some("85"));

        let report = only("277_005010X212__claim-level-status-ncpdp.277");
        assert_eq!(
            report.claims[0].statuses[0].codes[0].code_list.as_deref(),
            Some("RX")
        );
    }

    #[test]
    fn category_codes_map_to_dispositions() {
        let code = |category: &str| StatusCode {
            category: category.into(),
            status: "0".into(),
            entity: None,
            code_list: None,
        };
        for (category, expected) in [
            ("A0", Disposition::Acknowledged),
            ("A1", Disposition::Acknowledged),
            ("A2", Disposition::Accepted),
            ("A5", Disposition::Accepted),
            ("A3", Disposition::Rejected),
            ("A4", Disposition::Rejected),
            ("A6", Disposition::Rejected),
            ("A7", Disposition::Rejected),
            ("A8", Disposition::Rejected),
            ("P1", Disposition::Pending),
            ("F2", Disposition::Finalized),
            ("R3", Disposition::InformationRequested),
            ("E0", Disposition::Unavailable),
            ("D0", Disposition::Unavailable),
            ("ZZ", Disposition::Unknown),
        ] {
            assert_eq!(code(category).disposition(), expected, "{category}");
        }
    }

    #[test]
    fn a_status_without_its_category_is_an_error() {
        let text =
            fixture("277CA_005010X214__accepted-and-rejected.277").replace("STC*A2:20:PR", "STC*:20:PR");
        let error = read_277(&text).unwrap_err();
        assert_eq!(error.to_string(), "segment 29, STC01-1: is required but empty");
    }
}
