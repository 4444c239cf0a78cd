//! The 837P professional claim (005010X222A1), written from billing's claims.
//!
//! One file carries one transaction set holding every claim, arranged in the guide's
//! hierarchy: billing provider (HL 20) → subscriber (HL 22) → patient (HL 23, only
//! when the patient is not the subscriber) → claims (2300) → service lines (2400).
//! Claims that share a billing provider share one HL 20, and claims of the same
//! subscriber and payer share one HL 22, in the order the claims were given.
//!
//! Every claim is checked before anything is written: a claim the guide would
//! reject (no NPI, a diagnosis pointer to nowhere, lines that do not add up to the
//! total) is an error naming the claim, not a file the clearinghouse bounces.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use crate::billing::claim::{BillingClaim, Person, Provider, ServiceLine};
use crate::x12::people::{
    entity_type, is_complete, person_name, provider_name, write_address, write_demographics,
};
use crate::x12::writer::{ControlNumbers, EnvelopeConfig, InterchangeWriter, TransactionWriter, WriteError};

/// GS08 and ST03.
pub const IMPLEMENTATION: &str = "005010X222A1";

/// The guide's limits.
const MAX_CLAIMS: usize = 5000;
const MAX_DIAGNOSES: usize = 12;
const MAX_LINES: usize = 50;
const MAX_MODIFIERS: usize = 4;
const MAX_POINTERS: usize = 4;
/// CLM01 may be longer, but receivers need keep only 20 characters, so anything
/// longer may come back truncated in the 277CA and 835.
const MAX_PATIENT_CONTROL_NUMBER: usize = 20;

/// Who sends claims to whom: the envelope and loops 1000A/1000B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimSubmissionConfig {
    pub envelope: EnvelopeConfig,
    pub submitter: Submitter,
    pub receiver: Receiver,
}

/// Loop 1000A: who sent the file, and whom to call about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitter {
    pub name: String,
    /// NM109 (qualifier 46): the id the receiver assigned to us.
    pub id: String,
    pub contact_name: String,
    /// Digits only, area code first.
    pub phone: String,
}

/// Loop 1000B: the clearinghouse or payer receiving the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    pub name: String,
    /// NM109 (qualifier 46).
    pub id: String,
}

/// A claim as submitted: the claim, and what only its submission knows.
#[derive(Debug, Clone, Copy)]
pub struct ClaimSubmission<'c> {
    pub claim: &'c BillingClaim,
    /// CLM01: the number the payer echoes back (277CA TRN*2, 835 CLP01), at most 20
    /// characters. A FHIR id (a UUID) does not fit, so the caller assigns it and
    /// keeps it with the claim.
    pub patient_control_number: &'c str,
    /// SBR09: CI commercial, MB Medicare Part B, MC Medicaid, BL Blue Cross/Blue
    /// Shield, HM HMO, 12 PPO, 16 HMO Medicare risk…
    pub claim_filing_indicator: &'c str,
}

/// Why no file was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimFileError {
    #[error("there are no claims to write")]
    NoClaims,
    #[error("{0} claims: one 837P transaction set carries at most 5000")]
    TooManyClaims(usize),
    #[error("claim {claim_id}: {problem}")]
    Claim { claim_id: String, problem: ClaimProblem },
    #[error(transparent)]
    Envelope(#[from] WriteError),
}

/// What is wrong with one claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimProblem {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("the patient control number {0:?} is longer than 20 characters")]
    PatientControlNumberTooLong(String),
    #[error("{0} diagnoses: an 837P claim carries 1 to 12")]
    DiagnosisCount(usize),
    #[error("{0} service lines: an 837P claim carries 1 to 50")]
    LineCount(usize),
    #[error("line {line}: {count} modifiers, SV101 carries at most 4")]
    TooManyModifiers { line: u32, count: usize },
    #[error("line {line}: {count} diagnosis pointers, SV107 carries 1 to 4")]
    PointerCount { line: u32, count: usize },
    #[error("line {line}: diagnosis pointer {pointer} points at none of the {diagnoses} diagnoses")]
    PointerOutOfRange {
        line: u32,
        pointer: u32,
        diagnoses: usize,
    },
    #[error("the total charge {total} is not the sum of the line charges, {lines}")]
    TotalMismatch { total: Decimal, lines: Decimal },
    #[error(transparent)]
    Unwritable(WriteError),
}

/// Writes `claims` as one 837P interchange. `created` dates the envelope and the
/// BHT; BHT03, the batch reference a 277CA echoes in its receiver-level TRN, is the
/// interchange control number.
pub fn write_837p(
    claims: &[ClaimSubmission<'_>],
    config: &ClaimSubmissionConfig,
    control: ControlNumbers,
    created: NaiveDateTime,
) -> Result<String, ClaimFileError> {
    if claims.is_empty() {
        return Err(ClaimFileError::NoClaims);
    }
    if claims.len() > MAX_CLAIMS {
        return Err(ClaimFileError::TooManyClaims(claims.len()));
    }
    for submission in claims {
        check(submission).map_err(|problem| claim_error(submission, problem))?;
    }
    let hierarchy = arrange(claims);
    let mut interchange = InterchangeWriter::begin(&config.envelope, control.interchange, created)?;
    interchange.group("HC", IMPLEMENTATION, control.group, |group| {
        group.transaction("837", |transaction| {
            write_header(transaction, config, control, created)?;
            write_hierarchy(transaction, &hierarchy)
        })
    })?;
    Ok(interchange.finish())
}

fn claim_error(submission: &ClaimSubmission<'_>, problem: ClaimProblem) -> ClaimFileError {
    ClaimFileError::Claim {
        claim_id: submission.claim.claim_id.clone(),
        problem,
    }
}

fn is_patient_the_subscriber(claim: &BillingClaim) -> bool {
    claim.subscriber.relationship == "18"
}

/// The subscriber: the patient themself, or the person the coverage names.
fn subscriber_of(claim: &BillingClaim) -> Option<&Person> {
    if is_patient_the_subscriber(claim) {
        Some(&claim.patient)
    } else {
        claim.subscriber.person.as_ref()
    }
}

/// What the guide requires of a claim, checked before anything is written.
fn check(submission: &ClaimSubmission<'_>) -> Result<(), ClaimProblem> {
    use ClaimProblem::*;
    let claim = submission.claim;
    let pcn = submission.patient_control_number;
    if pcn.is_empty() {
        return Err(Missing("the patient control number (CLM01)"));
    }
    if pcn.chars().count() > MAX_PATIENT_CONTROL_NUMBER {
        return Err(PatientControlNumberTooLong(pcn.to_string()));
    }
    if submission.claim_filing_indicator.is_empty() {
        return Err(Missing("the claim filing indicator (SBR09)"));
    }
    let billing = &claim.billing_provider;
    if billing.name.is_empty() {
        return Err(Missing("the billing provider's name"));
    }
    if billing.npi.as_deref().unwrap_or("").is_empty() {
        return Err(Missing("the billing provider's NPI"));
    }
    if billing.tax_id.as_deref().unwrap_or("").is_empty() {
        return Err(Missing("the billing provider's tax id (REF*EI)"));
    }
    if !billing.address.as_ref().is_some_and(is_complete) {
        return Err(Missing("the billing provider's address"));
    }
    if claim.payer.payer_id.is_empty() || claim.payer.name.is_empty() {
        return Err(Missing("the payer's id and name"));
    }
    if claim.subscriber.member_id.as_deref().unwrap_or("").is_empty() {
        return Err(Missing("the subscriber's member id"));
    }
    if subscriber_of(claim).is_none() {
        return Err(Missing("the subscriber (the patient is not the subscriber)"));
    }
    // The patient's demographics and address: in 2010BA when they are the
    // subscriber, in 2010CA otherwise; required either way.
    if claim.patient.birth_date.is_none() {
        return Err(Missing("the patient's birth date"));
    }
    if !claim.patient.address.as_ref().is_some_and(is_complete) {
        return Err(Missing("the patient's address"));
    }
    if claim.place_of_service.as_deref().unwrap_or("").is_empty() {
        return Err(Missing("the place of service (CLM05-1)"));
    }
    if claim.diagnoses.is_empty() || claim.diagnoses.len() > MAX_DIAGNOSES {
        return Err(DiagnosisCount(claim.diagnoses.len()));
    }
    if claim.lines.is_empty() || claim.lines.len() > MAX_LINES {
        return Err(LineCount(claim.lines.len()));
    }
    for line in &claim.lines {
        check_line(line, claim.diagnoses.len())?;
    }
    let lines: Decimal = claim.lines.iter().map(|line| line.charge).sum();
    if lines != claim.total_charge {
        return Err(TotalMismatch {
            total: claim.total_charge,
            lines,
        });
    }
    if let Some(rendering) = rendering_provider(claim) {
        if rendering.npi.as_deref().unwrap_or("").is_empty() || rendering.name.is_empty() {
            return Err(Missing("the rendering provider's name and NPI"));
        }
    }
    Ok(())
}

fn check_line(line: &ServiceLine, diagnoses: usize) -> Result<(), ClaimProblem> {
    use ClaimProblem::*;
    if line.code.is_empty() {
        return Err(Missing("a line's procedure code"));
    }
    if line.modifiers.len() > MAX_MODIFIERS {
        return Err(TooManyModifiers {
            line: line.sequence,
            count: line.modifiers.len(),
        });
    }
    let pointers = line.diagnosis_pointers.len();
    if pointers == 0 || pointers > MAX_POINTERS {
        return Err(PointerCount {
            line: line.sequence,
            count: pointers,
        });
    }
    if let Some(&pointer) = line
        .diagnosis_pointers
        .iter()
        .find(|&&p| p == 0 || p as usize > diagnoses)
    {
        return Err(PointerOutOfRange {
            line: line.sequence,
            pointer,
            diagnoses,
        });
    }
    Ok(())
}

/// 2310B is written only when the rendering provider is not the billing provider
/// (the guide: "when different than the Billing Provider").
fn rendering_provider(claim: &BillingClaim) -> Option<&Provider> {
    claim
        .rendering_provider
        .as_ref()
        .filter(|rendering| rendering.npi != claim.billing_provider.npi)
}

/// HL 20: one billing provider and their subscribers.
struct BillingProviderLoop<'a> {
    provider: &'a Provider,
    subscribers: Vec<SubscriberLoop<'a>>,
}

/// HL 22: one subscriber of one payer, their own claims and their dependents'.
struct SubscriberLoop<'a> {
    first: &'a ClaimSubmission<'a>,
    subscriber: &'a Person,
    own_claims: Vec<&'a ClaimSubmission<'a>>,
    patients: Vec<PatientLoop<'a>>,
}

/// HL 23: a patient who is not the subscriber, and their claims.
struct PatientLoop<'a> {
    patient: &'a Person,
    relationship: &'a str,
    claims: Vec<&'a ClaimSubmission<'a>>,
}

fn same_subscriber(a: &ClaimSubmission<'_>, b: &ClaimSubmission<'_>) -> bool {
    a.claim.payer == b.claim.payer
        && a.claim.subscriber.member_id == b.claim.subscriber.member_id
        && a.claim.subscriber.group_number == b.claim.subscriber.group_number
        && a.claim_filing_indicator == b.claim_filing_indicator
        && subscriber_of(a.claim) == subscriber_of(b.claim)
}

/// Arranges checked claims into the HL hierarchy, keeping the order of first
/// appearance at every level.
fn arrange<'a>(claims: &'a [ClaimSubmission<'a>]) -> Vec<BillingProviderLoop<'a>> {
    let mut providers: Vec<BillingProviderLoop<'a>> = Vec::new();
    for submission in claims {
        let claim = submission.claim;
        let provider = match providers
            .iter()
            .position(|p| *p.provider == claim.billing_provider)
        {
            Some(index) => &mut providers[index],
            None => {
                providers.push(BillingProviderLoop {
                    provider: &claim.billing_provider,
                    subscribers: Vec::new(),
                });
                let last = providers.len() - 1;
                &mut providers[last]
            }
        };
        let subscriber = match provider
            .subscribers
            .iter()
            .position(|s| same_subscriber(s.first, submission))
        {
            Some(index) => &mut provider.subscribers[index],
            None => {
                provider.subscribers.push(SubscriberLoop {
                    first: submission,
                    // Checked: every claim has a subscriber.
                    subscriber: subscriber_of(claim).unwrap_or(&claim.patient),
                    own_claims: Vec::new(),
                    patients: Vec::new(),
                });
                let last = provider.subscribers.len() - 1;
                &mut provider.subscribers[last]
            }
        };
        if is_patient_the_subscriber(claim) {
            subscriber.own_claims.push(submission);
            continue;
        }
        let relationship = claim.subscriber.relationship.as_str();
        match subscriber
            .patients
            .iter_mut()
            .find(|p| *p.patient == claim.patient && p.relationship == relationship)
        {
            Some(patient) => patient.claims.push(submission),
            None => subscriber.patients.push(PatientLoop {
                patient: &claim.patient,
                relationship,
                claims: vec![submission],
            }),
        }
    }
    providers
}

/// BHT and loops 1000A/1000B.
fn write_header(
    transaction: &mut TransactionWriter<'_>,
    config: &ClaimSubmissionConfig,
    control: ControlNumbers,
    created: NaiveDateTime,
) -> Result<(), ClaimFileError> {
    let submitter = &config.submitter;
    let receiver = &config.receiver;
    transaction
        .segment("BHT")
        .element("0019")
        .element("00")
        .element(&format!("{:09}", control.interchange))
        .date(created.date())
        .element(&created.format("%H%M").to_string())
        .element("CH")
        .finish()?;
    transaction
        .segment("NM1")
        .element("41")
        .element("2")
        .element(&submitter.name)
        .element("")
        .element("")
        .element("")
        .element("")
        .element("46")
        .element(&submitter.id)
        .finish()?;
    transaction
        .segment("PER")
        .element("IC")
        .element(&submitter.contact_name)
        .element("TE")
        .element(&submitter.phone)
        .finish()?;
    transaction
        .segment("NM1")
        .element("40")
        .element("2")
        .element(&receiver.name)
        .element("")
        .element("")
        .element("")
        .element("")
        .element("46")
        .element(&receiver.id)
        .finish()?;
    Ok(())
}

fn write_hierarchy(
    transaction: &mut TransactionWriter<'_>,
    providers: &[BillingProviderLoop<'_>],
) -> Result<(), ClaimFileError> {
    let mut next_id = 1usize;
    for provider_loop in providers {
        let provider_id = next_id;
        next_id += 1;
        let first = provider_loop.subscribers[0].first;
        write_billing_provider(transaction, provider_id, provider_loop.provider)
            .map_err(|e| claim_error(first, ClaimProblem::Unwritable(e)))?;
        for subscriber in &provider_loop.subscribers {
            let subscriber_id = next_id;
            next_id += 1;
            write_subscriber(transaction, subscriber_id, provider_id, subscriber)
                .map_err(|e| claim_error(subscriber.first, ClaimProblem::Unwritable(e)))?;
            for submission in &subscriber.own_claims {
                write_claim(transaction, submission)?;
            }
            for patient in &subscriber.patients {
                write_patient(transaction, next_id, subscriber_id, patient)
                    .map_err(|e| claim_error(patient.claims[0], ClaimProblem::Unwritable(e)))?;
                next_id += 1;
                for submission in &patient.claims {
                    write_claim(transaction, submission)?;
                }
            }
        }
    }
    Ok(())
}

/// 2000A and 2010AA.
fn write_billing_provider(
    transaction: &mut TransactionWriter<'_>,
    id: usize,
    provider: &Provider,
) -> Result<(), WriteError> {
    transaction
        .segment("HL")
        .number(id)
        .element("")
        .element("20")
        .element("1")
        .finish()?;
    if let Some(taxonomy) = provider.taxonomy.as_deref().filter(|t| !t.is_empty()) {
        transaction
            .segment("PRV")
            .element("BI")
            .element("PXC")
            .element(taxonomy)
            .finish()?;
    }
    let nm1 = transaction
        .segment("NM1")
        .element("85")
        .element(entity_type(provider));
    provider_name(nm1, provider)
        .element("")
        .element("")
        .element("XX")
        .optional(provider.npi.as_deref())
        .finish()?;
    if let Some(address) = &provider.address {
        write_address(transaction, address)?;
    }
    // An EIN is often written 12-3456789; REF*EI takes the nine digits.
    let tax_id: String = provider
        .tax_id
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(|c| *c != '-')
        .collect();
    transaction.segment("REF").element("EI").element(&tax_id).finish()
}

/// 2000B, 2010BA and 2010BB.
fn write_subscriber(
    transaction: &mut TransactionWriter<'_>,
    id: usize,
    parent: usize,
    subscriber: &SubscriberLoop<'_>,
) -> Result<(), WriteError> {
    let claim = subscriber.first.claim;
    let has_dependents = if subscriber.patients.is_empty() { "0" } else { "1" };
    transaction
        .segment("HL")
        .number(id)
        .number(parent)
        .element("22")
        .element(has_dependents)
        .finish()?;
    // SBR02 says the subscriber is the patient of the claims directly below.
    let relationship = if subscriber.own_claims.is_empty() {
        ""
    } else {
        "18"
    };
    transaction
        .segment("SBR")
        // Primary: BillingClaim describes one payer, with no other payer loops.
        .element("P")
        .element(relationship)
        .optional(claim.subscriber.group_number.as_deref())
        .element("")
        .element("")
        .element("")
        .element("")
        .element("")
        .element(subscriber.first.claim_filing_indicator)
        .finish()?;
    let nm1 = transaction.segment("NM1").element("IL").element("1");
    person_name(nm1, subscriber.subscriber)
        .element("")
        .element("")
        .element("MI")
        .optional(claim.subscriber.member_id.as_deref())
        .finish()?;
    // The guide: N3/N4 and DMG here are "required when the patient is the
    // subscriber… if not required, do not send" (the patient's go in 2010CA).
    if !subscriber.own_claims.is_empty() {
        if let Some(address) = &subscriber.subscriber.address {
            write_address(transaction, address)?;
        }
        if let Some(birth_date) = subscriber.subscriber.birth_date {
            write_demographics(transaction, birth_date, subscriber.subscriber.gender.as_deref())?;
        }
    }
    transaction
        .segment("NM1")
        .element("PR")
        .element("2")
        .element(&claim.payer.name)
        .element("")
        .element("")
        .element("")
        .element("")
        .element("PI")
        .element(&claim.payer.payer_id)
        .finish()
}

/// 2000C and 2010CA.
fn write_patient(
    transaction: &mut TransactionWriter<'_>,
    id: usize,
    parent: usize,
    patient: &PatientLoop<'_>,
) -> Result<(), WriteError> {
    transaction
        .segment("HL")
        .number(id)
        .number(parent)
        .element("23")
        .element("0")
        .finish()?;
    transaction
        .segment("PAT")
        .element(patient.relationship)
        .finish()?;
    let nm1 = transaction.segment("NM1").element("QC").element("1");
    person_name(nm1, patient.patient).finish()?;
    if let Some(address) = &patient.patient.address {
        write_address(transaction, address)?;
    }
    if let Some(birth_date) = patient.patient.birth_date {
        write_demographics(transaction, birth_date, patient.patient.gender.as_deref())?;
    }
    Ok(())
}

/// 2300, 2310B and the 2400 lines of one claim.
fn write_claim(
    transaction: &mut TransactionWriter<'_>,
    submission: &ClaimSubmission<'_>,
) -> Result<(), ClaimFileError> {
    write_claim_segments(transaction, submission)
        .map_err(|e| claim_error(submission, ClaimProblem::Unwritable(e)))
}

fn write_claim_segments(
    transaction: &mut TransactionWriter<'_>,
    submission: &ClaimSubmission<'_>,
) -> Result<(), WriteError> {
    let claim = submission.claim;
    let place_of_service = claim.place_of_service.as_deref().unwrap_or("");
    // Frequency 1 is an original claim; 7 replaces the one REF*F8 names (the guide
    // uses REF*F8 only for replacements and voids).
    let frequency = if claim.original_reference.is_some() {
        "7"
    } else {
        "1"
    };
    transaction
        .segment("CLM")
        .element(submission.patient_control_number)
        .amount(claim.total_charge)
        .element("")
        .element("")
        .composite(&[place_of_service, "B", frequency])
        // Provider signature on file, assignment accepted, benefits assigned,
        // release of information signed: what a practice's intake paperwork covers.
        .element("Y")
        .element("A")
        .element("Y")
        .element("Y")
        .finish()?;
    if let Some(original) = &claim.original_reference {
        transaction
            .segment("REF")
            .element("F8")
            .element(original)
            .finish()?;
    }
    let mut hi = transaction.segment("HI");
    for (index, code) in claim.diagnoses.iter().enumerate() {
        // ABK: the principal ICD-10-CM diagnosis; ABF: the others.
        let qualifier = if index == 0 { "ABK" } else { "ABF" };
        hi = hi.composite(&[qualifier, code]);
    }
    hi.finish()?;
    if let Some(rendering) = rendering_provider(claim) {
        let nm1 = transaction
            .segment("NM1")
            .element("82")
            .element(entity_type(rendering));
        provider_name(nm1, rendering)
            .element("")
            .element("")
            .element("XX")
            .optional(rendering.npi.as_deref())
            .finish()?;
        if let Some(taxonomy) = rendering.taxonomy.as_deref().filter(|t| !t.is_empty()) {
            transaction
                .segment("PRV")
                .element("PE")
                .element("PXC")
                .element(taxonomy)
                .finish()?;
        }
    }
    for (index, line) in claim.lines.iter().enumerate() {
        write_line(transaction, index + 1, line, place_of_service)?;
    }
    Ok(())
}

/// 2400: LX, SV1 and DTP*472.
fn write_line(
    transaction: &mut TransactionWriter<'_>,
    number: usize,
    line: &ServiceLine,
    claim_place_of_service: &str,
) -> Result<(), WriteError> {
    transaction.segment("LX").number(number).finish()?;
    let mut procedure: Vec<&str> = Vec::with_capacity(2 + line.modifiers.len());
    procedure.extend(["HC", line.code.as_str()]);
    procedure.extend(line.modifiers.iter().map(String::as_str));
    let pointers: Vec<String> = line.diagnosis_pointers.iter().map(u32::to_string).collect();
    let pointers: Vec<&str> = pointers.iter().map(String::as_str).collect();
    // SV105 only where the line's place of service differs from the claim's.
    let place_of_service = line
        .place_of_service
        .as_deref()
        .filter(|pos| *pos != claim_place_of_service)
        .unwrap_or("");
    transaction
        .segment("SV1")
        .composite(&procedure)
        .amount(line.charge)
        .element("UN")
        .amount(line.units)
        .element(place_of_service)
        .element("")
        .composite(&pointers)
        .finish()?;
    transaction
        .segment("DTP")
        .element("472")
        .date_or_range(line.service_date, line.service_end)
        .finish()
}

#[cfg(test)]
mod tests;
