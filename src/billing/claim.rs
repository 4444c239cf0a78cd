//! A professional claim as billing sees it: the FHIR Claim and the resources it
//! references (Patient, Coverage, payer and provider Organizations/Practitioners)
//! read into one typed value. Scrubbing, pricing and the 837P writer work on this;
//! each part remembers the FHIR path it came from, so a problem can name it.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// One claim ready to be checked, priced or written as an 837P.
#[derive(Debug, Clone, PartialEq)]
pub struct BillingClaim {
    /// The FHIR Claim's id.
    pub claim_id: String,
    /// Claim.patient: the FHIR Patient id, the patient's identity within this server
    /// (duplicate-claim checks match on it; demographics can change or collide).
    pub patient_id: String,
    /// Claim.created: the date the claim was made.
    pub created: NaiveDate,
    pub patient: Person,
    pub subscriber: Subscriber,
    pub payer: Payer,
    pub coverage: Option<CoverageTerms>,
    pub billing_provider: Provider,
    pub rendering_provider: Option<Provider>,
    /// Claim.facility / the place of service code (CMS POS, two digits), claim level.
    pub place_of_service: Option<String>,
    /// ICD-10-CM codes in Claim.diagnosis sequence order, without the dot.
    pub diagnoses: Vec<String>,
    /// Where each of `diagnoses` is in `Claim.diagnosis`, for findings' paths;
    /// empty for a claim not read from FHIR (its paths use the position).
    pub diagnosis_elements: Vec<usize>,
    pub lines: Vec<ServiceLine>,
    /// Claim.total.
    pub total_charge: Decimal,
    /// The payer's claim control number of an earlier submission (resubmissions).
    pub original_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Person {
    pub family: String,
    pub given: Vec<String>,
    pub birth_date: Option<NaiveDate>,
    /// FHIR administrative gender: male | female | other | unknown.
    pub gender: Option<String>,
    pub address: Option<Address>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Address {
    pub lines: Vec<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subscriber {
    /// Coverage.subscriberId (or the member identifier).
    pub member_id: Option<String>,
    /// Coverage.class of type `group`.
    pub group_number: Option<String>,
    /// X12 individual relationship code (18 = self), from Coverage.relationship.
    pub relationship: String,
    /// The subscriber when not the patient.
    pub person: Option<Person>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payer {
    /// The payer id used by clearinghouses (Organization.identifier).
    pub payer_id: String,
    pub name: String,
    /// The FHIR Organization id, for per-payer rules and fee schedules.
    pub organization_id: Option<String>,
}

/// What the Coverage says about dates and cost sharing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CoverageTerms {
    /// Coverage.status: active | cancelled | draft | entered-in-error.
    pub status: String,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    /// Coverage.costToBeneficiary of type copay (a money value).
    pub copay: Option<Decimal>,
    /// Coverage.costToBeneficiary of type coinsurance, as a fraction (0.2 = 20 %).
    pub coinsurance: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Provider {
    pub npi: Option<String>,
    /// EIN (9 digits) or SSN, as given.
    pub tax_id: Option<String>,
    /// An organisation's name, or a person's family name.
    pub name: String,
    pub given: Option<String>,
    pub is_person: bool,
    pub taxonomy: Option<String>,
    pub address: Option<Address>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceLine {
    /// Claim.item.sequence.
    pub sequence: u32,
    /// CPT or HCPCS code.
    pub code: String,
    pub modifiers: Vec<String>,
    pub units: Decimal,
    /// Claim.item.net (or unitPrice × quantity): the line's charge.
    pub charge: Decimal,
    /// The (first) day of service.
    pub service_date: NaiveDate,
    /// The last day of a `servicedPeriod` that runs past `service_date`.
    pub service_end: Option<NaiveDate>,
    /// Which element the line's date was read from, for findings' paths.
    pub date_source: DateSource,
    /// Claim.item.diagnosisSequence as 1-based positions in `diagnoses` (what an
    /// 837P's SV107 writes); 0 for an entry naming no ICD-10-CM diagnosis of the claim.
    pub diagnosis_pointers: Vec<u32>,
    /// A line-level place of service overriding the claim's.
    pub place_of_service: Option<String>,
}

impl ServiceLine {
    /// The last day of service: `service_end` for a period, else `service_date`.
    pub fn last_day(&self) -> NaiveDate {
        self.service_end.unwrap_or(self.service_date)
    }

    /// The path of the line's date in the FHIR Claim (the line at `index`), for
    /// findings.
    pub fn date_path(&self, index: usize) -> String {
        match self.date_source {
            DateSource::ServicedDate => format!("Claim.item[{index}].servicedDate"),
            DateSource::ServicedPeriod => format!("Claim.item[{index}].servicedPeriod"),
            DateSource::BillablePeriod => "Claim.billablePeriod".into(),
        }
    }
}

/// Where a line's date of service comes from in the FHIR Claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSource {
    /// `Claim.item.servicedDate`.
    ServicedDate,
    /// `Claim.item.servicedPeriod`.
    ServicedPeriod,
    /// The claim's `billablePeriod`, for a line dated neither way.
    BillablePeriod,
}
