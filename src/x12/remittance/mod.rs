//! The 835 health care claim payment/advice (005010X221A1, the ERA): one payment
//! (BPR/TRN) explained claim by claim (CLP) and line by line (SVC), with every
//! adjustment (CAS) and the provider-level adjustments (PLB) that are not about any
//! one claim. Read into owned values for posting; [`balance`] checks that the
//! amounts add up before anything is posted.

pub mod balance;
mod reader;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::x12::entity::EntityName;
use crate::x12::error::ReadError;
pub use crate::x12::procedure::Procedure;
use crate::x12::transaction::read_transactions;

pub use balance::Imbalance;

/// Every 835 transaction set of the interchange in `text`.
pub fn read_835(text: &str) -> Result<Vec<Remittance>, ReadError> {
    read_transactions::<reader::RemittanceReader>(text)
}

/// One 835 transaction set: one payment and what it pays for.
#[derive(Debug, Clone, PartialEq)]
pub struct Remittance {
    /// ST02.
    pub control_number: String,
    pub payment: Payment,
    /// TRN: the check or EFT trace. Posting deduplicates on it.
    pub trace: Trace,
    /// DTM*405: when the payer produced the remittance.
    pub production_date: Option<NaiveDate>,
    /// N1*PR loop (1000A).
    pub payer: Party,
    /// N1*PE loop (1000B).
    pub payee: Party,
    /// LX loops (2000): claims grouped by the payer (by provider, bill type…).
    pub groups: Vec<ClaimGroup>,
    /// PLB: adjustments to the payment not tied to a claim, one per reason/amount pair.
    pub provider_adjustments: Vec<ProviderAdjustment>,
    /// Faults the reader read around rather than refuse a payment that has arrived:
    /// an unreadable BPR16 date, a composite written with an undeclared separator.
    /// Everything else wrong is an error.
    pub problems: Vec<ReadError>,
}

/// BPR: the money itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    /// BPR01: I remittance and payment, H notification only, C payment accompanies…
    pub handling: String,
    /// BPR02: the total actually paid.
    pub amount: Decimal,
    /// BPR03.
    pub credit_debit: CreditDebit,
    /// BPR04: ACH, CHK (check), NON (no payment), BOP, FWT.
    pub method: String,
    /// BPR16: the check issue or EFT effective date; `None` (and a problem noted)
    /// when it is absent or not a date — the guide-derived samples have one with
    /// month 23 and one with the date in BPR15.
    pub date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditDebit {
    Credit,
    Debit,
}

/// TRN (reassociation trace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// TRN02: the check number or EFT trace number.
    pub number: String,
    /// TRN03: the payer's originating company id ("1" + its tax id).
    pub originator: String,
}

/// A party of the remittance header: the payer or the payee.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    /// N102.
    pub name: String,
    /// N103/N104: for the payee XX (NPI) or FI (tax id); rarely sent for the payer.
    pub identifier: Option<Reference>,
    /// The REF segments of the loop: 2U payer id, TJ tax id, PQ payee id…
    pub references: Vec<Reference>,
}

/// A qualified identifier (REF01/REF02, N103/N104).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub qualifier: String,
    pub value: String,
}

impl Party {
    /// The value of REF*`qualifier`, if the loop has one.
    pub fn reference(&self, qualifier: &str) -> Option<&str> {
        self.references
            .iter()
            .find(|r| r.qualifier == qualifier)
            .map(|r| r.value.as_str())
    }

    fn identifier(&self, qualifier: &str) -> Option<&str> {
        self.identifier
            .as_ref()
            .filter(|id| id.qualifier == qualifier)
            .map(|id| id.value.as_str())
    }

    /// The payer's id: REF*2U, or N104 when the payer sends it there.
    pub fn payer_id(&self) -> Option<&str> {
        self.reference("2U")
            .or_else(|| self.identifier.as_ref().map(|id| id.value.as_str()))
    }

    /// The payee's NPI (N1*PE…*XX).
    pub fn npi(&self) -> Option<&str> {
        self.identifier("XX")
    }

    /// The payee's federal tax id: N1*PE…*FI, or REF*TJ.
    pub fn tax_id(&self) -> Option<&str> {
        self.identifier("FI").or_else(|| self.reference("TJ"))
    }
}

/// LX: a group of claims.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimGroup {
    /// LX01.
    pub number: String,
    pub claims: Vec<ClaimPayment>,
}

/// CLP and what follows it: how one claim was paid.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimPayment {
    /// CLP01: our CLM01, echoed back. How the payment finds its claim.
    pub patient_control_number: String,
    /// CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 19–21 processed
    /// and forwarded, 22 reversal of a previous payment, 23 not our claim, 25
    /// predetermination pricing only.
    pub status: String,
    /// CLP03.
    pub charge: Decimal,
    /// CLP04.
    pub paid: Decimal,
    /// CLP05.
    pub patient_responsibility: Option<Decimal>,
    /// CLP06: the claim filing indicator (12 PPO, MA/MB Medicare, MC Medicaid, CI…).
    pub filing_indicator: String,
    /// CLP07: the payer's claim control number (ICN), for appeals and corrections.
    pub payer_claim_control_number: Option<String>,
    /// CLP08: facility type (place of service or bill type).
    pub facility_code: Option<String>,
    /// CLP09: claim frequency.
    pub frequency: Option<String>,
    /// Claim-level CAS, one entry per reason/amount/quantity triplet.
    pub adjustments: Vec<Adjustment>,
    /// NM1*QC.
    pub patient: Option<EntityName>,
    /// NM1*IL, when the insured is not the patient.
    pub insured: Option<EntityName>,
    /// NM1*82.
    pub rendering_provider: Option<EntityName>,
    /// DTM*232.
    pub statement_from: Option<NaiveDate>,
    /// DTM*233.
    pub statement_to: Option<NaiveDate>,
    /// Claim-level AMT: AU coverage amount, DY per day limit, F5 patient paid, I
    /// interest…
    pub amounts: Vec<Amount>,
    /// Claim-level remittance advice remark codes (RARC): MOA03–07 (outpatient)
    /// and MIA05, MIA20–23 (inpatient).
    pub remark_codes: Vec<String>,
    pub lines: Vec<ServicePayment>,
}

/// One adjustment: a CAS group code with one reason, amount and quantity.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjustment {
    pub group: AdjustmentGroup,
    /// The claim adjustment reason code (CARC): 1 deductible, 2 coinsurance, 3 copay,
    /// 45 charge exceeds fee schedule…
    pub reason: String,
    /// Positive decreases the payment, negative increases it.
    pub amount: Decimal,
    pub quantity: Option<Decimal>,
}

/// CAS01: who bears an adjustment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentGroup {
    /// CO: contractual obligation, written off, not billed to the patient.
    ContractualObligation,
    /// PR: moves to the patient's balance.
    PatientResponsibility,
    /// OA.
    OtherAdjustment,
    /// PI: payer-initiated reduction.
    PayerInitiated,
    /// CR: correction and reversal — retired in 5010 but still sent by some payers.
    CorrectionReversal,
}

impl AdjustmentGroup {
    pub fn from_code(code: &str) -> Option<AdjustmentGroup> {
        Some(match code {
            "CO" => AdjustmentGroup::ContractualObligation,
            "PR" => AdjustmentGroup::PatientResponsibility,
            "OA" => AdjustmentGroup::OtherAdjustment,
            "PI" => AdjustmentGroup::PayerInitiated,
            "CR" => AdjustmentGroup::CorrectionReversal,
            _ => return None,
        })
    }

    /// CAS01 as written.
    pub fn code(self) -> &'static str {
        match self {
            AdjustmentGroup::ContractualObligation => "CO",
            AdjustmentGroup::PatientResponsibility => "PR",
            AdjustmentGroup::OtherAdjustment => "OA",
            AdjustmentGroup::PayerInitiated => "PI",
            AdjustmentGroup::CorrectionReversal => "CR",
        }
    }
}

/// A qualified amount (AMT01/AMT02).
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub qualifier: String,
    pub amount: Decimal,
}

/// SVC and what follows it: how one service line was paid.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePayment {
    /// SVC01: the procedure as adjudicated.
    pub procedure: Procedure,
    /// SVC02.
    pub charge: Decimal,
    /// SVC03.
    pub paid: Decimal,
    /// SVC04: the revenue code (institutional).
    pub revenue_code: Option<String>,
    /// SVC05: units paid; the guide says an absent value means one.
    pub units: Decimal,
    /// SVC06: the procedure as submitted, when the payer changed it.
    pub submitted_procedure: Option<Procedure>,
    /// DTM*472.
    pub service_date: Option<NaiveDate>,
    /// DTM*150.
    pub service_from: Option<NaiveDate>,
    /// DTM*151.
    pub service_to: Option<NaiveDate>,
    pub adjustments: Vec<Adjustment>,
    /// AMT*B6: the allowed amount.
    pub allowed: Option<Decimal>,
    /// LQ*HE: remittance advice remark codes (RARC).
    pub remark_codes: Vec<String>,
    /// REF*6R: our line item control number, echoed back.
    pub line_item_control_number: Option<String>,
}

/// One PLB reason/amount pair.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderAdjustment {
    /// PLB01: the provider's id (NPI or the payer's number).
    pub provider_id: String,
    /// PLB02: the last day of the provider's fiscal year.
    pub fiscal_period_end: NaiveDate,
    /// PLB03-1: WO overpayment recovery, L6 interest, FB forward balance, CV capital
    /// pass-through, 72 authorized return…
    pub reason: String,
    /// PLB03-2: often the ICN of the claim the adjustment is about.
    pub reference: Option<String>,
    /// Positive reduces the payment, negative increases it.
    pub amount: Decimal,
}

impl Remittance {
    /// All claims, in file order.
    pub fn claims(&self) -> impl Iterator<Item = &ClaimPayment> {
        self.groups.iter().flat_map(|group| group.claims.iter())
    }
}

#[cfg(test)]
mod tests;
