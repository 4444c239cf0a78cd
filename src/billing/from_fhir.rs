//! Reads a FHIR Claim and the resources it references (Patient, Coverage, the payer
//! Organization, the billing and rendering providers) into a `BillingClaim`.
//!
//! Only what billing cannot do without is refused here (no patient, no coverage, a
//! line without a date of service); everything else is carried as found, empty or
//! not, for the scrubber to judge and report with its path.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::billing::claim::{
    Address, BillingClaim, CoverageTerms, DateSource, Payer, Person, Provider, ServiceLine, Subscriber,
};
use crate::fhir::outcome::FhirError;
use crate::fhir::pointer::Pointer;
use crate::fhir::resource_type::ResourceType;
use crate::fhir::service::ResourceService;
use crate::store::Session;

pub const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";
pub const TAX_ID_SYSTEM: &str = "urn:oid:2.16.840.1.113883.4.4";
/// ICD-10-CM, the system claims' diagnoses are coded in.
pub const ICD10_SYSTEM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const ICD10_SYSTEMS: &[&str] = &[ICD10_SYSTEM, "http://hl7.org/fhir/sid/icd-10"];
const POS_SYSTEM: &str =
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set";

/// The resources a Claim points at, as read from the store. Shared, not copied: a
/// batch's claims reference the same few resources it read once.
#[derive(Debug, Default)]
pub struct Referenced {
    pub patient: Arc<Value>,
    pub coverage: Arc<Value>,
    pub payer: Arc<Value>,
    pub billing_provider: Arc<Value>,
    pub rendering_provider: Option<Arc<Value>>,
    /// The Coverage's subscriber when it is another Patient.
    pub subscriber: Option<Arc<Value>>,
}

/// Reads Claim `claim_id` and what it references.
pub async fn read_claim(
    fhir: &ResourceService,
    session: &mut Session,
    claim_id: &str,
) -> Result<BillingClaim, FhirError> {
    let claim = read_json(fhir, session, ResourceType::Claim, claim_id).await?;
    read_claim_body(fhir, session, claim_id, &claim).await
}

/// Reads what `claim` (a Claim body, stored or not) references and builds the claim.
pub async fn read_claim_body(
    fhir: &ResourceService,
    session: &mut Session,
    claim_id: &str,
    claim: &Value,
) -> Result<BillingClaim, FhirError> {
    let referenced = referenced(&mut StoreResources { fhir, session }, claim).await?;
    billing_claim(claim_id, claim, &referenced)
}

/// The name of the payer `claim` is billed to (the focal Coverage's payor, else
/// `Claim.insurer`), for the worklist; `None` when it cannot be read yet (no
/// Coverage, a payer without a name): such a claim is listed under no payer.
pub async fn payer_name(fhir: &ResourceService, session: &mut Session, claim: &Value) -> Option<String> {
    let mut source = StoreResources { fhir, session };
    let (_, insurance) = focal_insurance(claim).ok()?;
    let coverage = follow(&mut source, insurance, "/coverage", "").await.ok()?;
    let payer = payer_of(&mut source, claim, &coverage).await.ok()?;
    let name = payer.get("name")?.as_str()?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Where the resources a claim references come from: the store, one read each
/// (`StoreResources`), or what a batch has read ahead.
pub(crate) trait ResourceSource {
    /// The resource's JSON; `FhirError::NotFound` or `Gone` when there is none.
    async fn fetch(&mut self, resource_type: ResourceType, id: &str) -> Result<Arc<Value>, FhirError>;
}

/// Each resource read from the store when asked for.
pub(crate) struct StoreResources<'a> {
    pub fhir: &'a ResourceService,
    pub session: &'a mut Session,
}

impl ResourceSource for StoreResources<'_> {
    async fn fetch(&mut self, resource_type: ResourceType, id: &str) -> Result<Arc<Value>, FhirError> {
        read_json(self.fhir, self.session, resource_type, id)
            .await
            .map(Arc::new)
    }
}

/// The resources `claim` references: its patient, the focal Coverage and its payer,
/// the billing and rendering providers, and the subscriber when that is another
/// Patient.
pub(crate) async fn referenced(
    source: &mut impl ResourceSource,
    claim: &Value,
) -> Result<Referenced, FhirError> {
    let patient = follow(source, claim, "/patient", "Claim.patient").await?;
    let insurance = focal_insurance(claim)?;
    let coverage_path = format!("Claim.insurance[{}].coverage", insurance.0);
    let coverage = follow(source, insurance.1, "/coverage", &coverage_path).await?;
    let payer = payer_of(source, claim, &coverage).await?;
    let billing_provider = follow(source, claim, "/provider", "Claim.provider").await?;
    let rendering_provider = match rendering_member(claim) {
        Some(index) => {
            let path = format!("Claim.careTeam[{index}].provider");
            let pointer = format!("/careTeam/{index}/provider");
            Some(follow(source, claim, &pointer, &path).await?)
        }
        None => None,
    };
    let subscriber = match reference_of(&coverage, "/subscriber") {
        Some((ResourceType::Patient, id)) if Some(id) != reference_of(claim, "/patient").map(|r| r.1) => {
            Some(source.fetch(ResourceType::Patient, id).await?)
        }
        _ => None,
    };
    Ok(Referenced {
        patient,
        coverage,
        payer,
        billing_provider,
        rendering_provider,
        subscriber,
    })
}

/// Builds the claim from its body and what it references.
pub fn billing_claim(
    claim_id: &str,
    claim: &Value,
    referenced: &Referenced,
) -> Result<BillingClaim, FhirError> {
    let created = claim
        .get("created")
        .and_then(Value::as_str)
        .and_then(date_of)
        .ok_or_else(|| {
            FhirError::invalid_at("required", "Claim.created", "the claim has no creation date")
        })?;
    let patient_id = reference_of(claim, "/patient")
        .map(|(_, id)| id.to_owned())
        .unwrap_or_default();
    let diagnoses = DiagnosisSequences::of(claim)?;
    let lines = service_lines(claim, &diagnoses)?;
    let place_of_service = lines.first().and_then(|l| l.place_of_service.clone());
    let lines = lines
        .into_iter()
        .map(|mut line| {
            // Said once on the claim; a line carries it only where it differs.
            if line.place_of_service == place_of_service {
                line.place_of_service = None;
            }
            line
        })
        .collect();
    Ok(BillingClaim {
        claim_id: claim_id.to_owned(),
        patient_id,
        created,
        patient: person(&referenced.patient),
        subscriber: subscriber(&referenced.coverage, referenced.subscriber.as_deref()),
        payer: payer(&referenced.payer),
        coverage: Some(coverage_terms(&referenced.coverage)),
        billing_provider: provider(&referenced.billing_provider),
        rendering_provider: referenced.rendering_provider.as_deref().map(provider),
        place_of_service,
        diagnoses: diagnoses.codes(),
        diagnosis_elements: diagnoses.elements(),
        lines,
        total_charge: total_charge(claim).unwrap_or_default(),
        original_reference: claim
            .get("related")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|r| text(r, "/reference/value")),
    })
}

async fn read_json(
    fhir: &ResourceService,
    session: &mut Session,
    resource_type: ResourceType,
    id: &str,
) -> Result<Value, FhirError> {
    let version = fhir.read(session, resource_type, id).await?;
    serde_json::from_str(&version.body).map_err(|e| FhirError::Internal(e.to_string()))
}

/// The Organization `claim` is billed to: the Coverage's first payor, else
/// `Claim.insurer`.
async fn payer_of(
    source: &mut impl ResourceSource,
    claim: &Value,
    coverage: &Value,
) -> Result<Arc<Value>, FhirError> {
    match coverage.at("/payor/0") {
        Some(_) => follow(source, coverage, "/payor/0", "Coverage.payor[0]").await,
        None => follow(source, claim, "/insurer", "Claim.insurer").await,
    }
}

/// Fetches the resource `from[pointer]` refers to; a missing or dangling reference
/// is reported at `path`.
async fn follow(
    source: &mut impl ResourceSource,
    from: &Value,
    pointer: &str,
    path: &str,
) -> Result<Arc<Value>, FhirError> {
    let (resource_type, id) = reference_of(from, pointer).ok_or_else(|| {
        FhirError::invalid_at("required", path, format!("{path} is needed to bill the claim"))
    })?;
    source
        .fetch(resource_type, id)
        .await
        .map_err(|error| match error {
            FhirError::NotFound(_) | FhirError::Gone(_) => FhirError::invalid_at(
                "not-found",
                path,
                format!("{path} refers to {resource_type}/{id}, which does not exist"),
            ),
            other => other,
        })
}

/// `Type/id` of a relative reference at `pointer`.
pub(crate) fn reference_of<'v>(from: &'v Value, pointer: &str) -> Option<(ResourceType, &'v str)> {
    let reference = from.at(pointer)?.get("reference")?.as_str()?;
    let (resource_type, id) = reference.split_once('/')?;
    Some((resource_type.parse().ok()?, id))
}

/// The insurance the claim is for: the focal one, else the first.
fn focal_insurance(claim: &Value) -> Result<(usize, &Value), FhirError> {
    let insurance = claim.get("insurance").and_then(Value::as_array);
    let mut entries = insurance.into_iter().flatten().enumerate();
    let focal = entries
        .clone()
        .find(|(_, i)| i.get("focal") == Some(&Value::Bool(true)));
    focal
        .or_else(|| entries.next())
        .ok_or_else(|| FhirError::invalid_at("required", "Claim.insurance", "the claim names no insurance"))
}

/// The care team member who performed the service (role `primary`, else the first).
fn rendering_member(claim: &Value) -> Option<usize> {
    let team = claim.get("careTeam")?.as_array()?;
    let role = |member: &Value| text(member, "/role/coding/0/code");
    team.iter()
        .position(|m| role(m).as_deref() == Some("primary"))
        .or((!team.is_empty()).then_some(0))
}

fn service_lines(claim: &Value, diagnoses: &DiagnosisSequences) -> Result<Vec<ServiceLine>, FhirError> {
    let billable_start = claim.at("/billablePeriod/start").and_then(Value::as_str);
    let items = claim.get("item").and_then(Value::as_array).into_iter().flatten();
    items
        .enumerate()
        .map(|(index, item)| {
            let (service_date, service_end, date_source) = serviced(item, index, billable_start)?;
            let units = item
                .at("/quantity/value")
                .and_then(decimal)
                .unwrap_or(Decimal::ONE);
            // A product past what a decimal holds is no charge: the charge rules
            // report the line rather than the claim's every read panicking.
            let charge = item.at("/net/value").and_then(decimal).or_else(|| {
                item.at("/unitPrice/value")
                    .and_then(decimal)
                    .and_then(|price| price.checked_mul(units))
            });
            Ok(ServiceLine {
                sequence: item
                    .get("sequence")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(index as u32 + 1),
                code: text(item, "/productOrService/coding/0/code").unwrap_or_default(),
                modifiers: item
                    .get("modifier")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|m| text(m, "/coding/0/code"))
                    .collect(),
                units,
                charge: charge.unwrap_or_default(),
                service_date,
                service_end,
                date_source,
                diagnosis_pointers: item
                    .get("diagnosisSequence")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|n| diagnoses.position_of(n))
                    .collect(),
                place_of_service: coding_in(item.get("locationCodeableConcept"), &[POS_SYSTEM])
                    .or_else(|| text(item, "/locationCodeableConcept/coding/0/code")),
            })
        })
        .collect()
}

/// A line's first day of service, for a `servicedPeriod` that runs past it its
/// last, and where the date was read from. A line dated neither way is dated by
/// the claim's `billablePeriod`.
fn serviced(
    item: &Value,
    index: usize,
    billable_start: Option<&str>,
) -> Result<(NaiveDate, Option<NaiveDate>, DateSource), FhirError> {
    let Some((first, source)) = first_day_of_service(item, billable_start) else {
        return Err(FhirError::invalid_at(
            "required",
            format!("Claim.item[{index}].serviced[x]"),
            "the line has no date of service",
        ));
    };
    let period_end = item
        .at("/servicedPeriod/end")
        .and_then(Value::as_str)
        .and_then(date_of);
    match period_end {
        Some(last) if last < first => Err(FhirError::invalid_at(
            "invariant",
            format!("Claim.item[{index}].servicedPeriod.end"),
            "the period of service ends before it starts",
        )),
        Some(last) if last > first => Ok((first, Some(last), source)),
        _ => Ok((first, None, source)),
    }
}

/// A line's (first) day of service and where it was read from: its
/// `servicedDate`, else its `servicedPeriod` (the start, else the end), else the
/// claim's `billablePeriod` start.
pub(crate) fn first_day_of_service(
    item: &Value,
    billable_start: Option<&str>,
) -> Option<(NaiveDate, DateSource)> {
    let day = |pointer: &str| item.at(pointer).and_then(Value::as_str).and_then(date_of);
    if let Some(date) = day("/servicedDate") {
        Some((date, DateSource::ServicedDate))
    } else if let Some(date) = day("/servicedPeriod/start").or_else(|| day("/servicedPeriod/end")) {
        Some((date, DateSource::ServicedPeriod))
    } else {
        Some((billable_start.and_then(date_of)?, DateSource::BillablePeriod))
    }
}

/// The claim's ICD-10-CM diagnoses in `sequence` order (what an 837P's HI
/// segment lists), with the `sequence` each was written under and where it is in
/// `Claim.diagnosis`. Other diagnoses (SNOMED CT, a Condition reference) cannot
/// be billed and are left out.
pub(crate) struct DiagnosisSequences {
    /// (sequence, index in `Claim.diagnosis`, code as written).
    billed: Vec<(u64, usize, String)>,
}

impl DiagnosisSequences {
    /// Refuses a claim whose diagnoses repeat a `sequence` (one left without is
    /// numbered by its place): a line pointing at it would name two.
    pub(crate) fn of(claim: &Value) -> Result<Self, FhirError> {
        let diagnoses = claim.get("diagnosis").and_then(Value::as_array);
        let mut seen = std::collections::HashSet::new();
        let mut billed = Vec::new();
        for (index, diagnosis) in diagnoses.into_iter().flatten().enumerate() {
            let sequence = diagnosis
                .get("sequence")
                .and_then(Value::as_u64)
                .unwrap_or(index as u64 + 1);
            if !seen.insert(sequence) {
                return Err(FhirError::invalid_at(
                    "invariant",
                    format!("Claim.diagnosis[{index}].sequence"),
                    format!("sequence {sequence} is given to an earlier diagnosis too"),
                ));
            }
            if let Some(code) = coding_in(diagnosis.get("diagnosisCodeableConcept"), ICD10_SYSTEMS) {
                billed.push((sequence, index, code));
            }
        }
        billed.sort_by_key(|(sequence, _, _)| *sequence);
        Ok(DiagnosisSequences { billed })
    }

    /// Where the diagnosis an item's `diagnosisSequence` entry names sits among
    /// the billed ones (1-based, as SV107 points), or 0 when it names none of them.
    /// Sequences are the claim's own numbering and may skip: a claim whose
    /// diagnoses are 1 (SNOMED CT) and 2 (ICD-10-CM) bills one diagnosis, and an
    /// item pointing at sequence 2 points at the first.
    pub(crate) fn position_of(&self, sequence: &Value) -> u32 {
        let Some(sequence) = sequence.as_u64() else {
            return 0;
        };
        self.billed
            .iter()
            .position(|(written, _, _)| *written == sequence)
            .and_then(|index| u32::try_from(index + 1).ok())
            .unwrap_or(0)
    }

    /// Where each billed diagnosis is in `Claim.diagnosis`, in billing order.
    pub(crate) fn elements(&self) -> Vec<usize> {
        self.billed.iter().map(|(_, element, _)| *element).collect()
    }

    /// The billed codes as written (`E11.9`), in billing order.
    pub(crate) fn written_codes(&self) -> Vec<&str> {
        self.billed.iter().map(|(_, _, code)| code.as_str()).collect()
    }

    /// The billed codes without the dot (`E119`), as an 837P writes them.
    fn codes(&self) -> Vec<String> {
        self.billed
            .iter()
            .map(|(_, _, code)| code.replace('.', ""))
            .collect()
    }
}

pub(crate) fn person(resource: &Value) -> Person {
    Person {
        family: text(resource, "/name/0/family").unwrap_or_default(),
        given: resource
            .at("/name/0/given")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect(),
        birth_date: resource
            .get("birthDate")
            .and_then(Value::as_str)
            .and_then(date_of),
        gender: text(resource, "/gender"),
        address: resource.at("/address/0").map(address),
    }
}

fn address(address: &Value) -> Address {
    Address {
        lines: address
            .get("line")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(str::to_owned))
            .collect(),
        city: text(address, "/city").unwrap_or_default(),
        state: text(address, "/state").unwrap_or_default(),
        postal_code: text(address, "/postalCode").unwrap_or_default(),
    }
}

pub(crate) fn subscriber(coverage: &Value, other: Option<&Value>) -> Subscriber {
    let relationship = match text(coverage, "/relationship/coding/0/code").as_deref() {
        Some("self") | None => "18",
        Some("spouse") => "01",
        Some("child") => "19",
        Some(_) => "G8",
    };
    let group = coverage
        .get("class")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| text(c, "/type/coding/0/code").as_deref() == Some("group"))
        .and_then(|c| text(c, "/value"));
    Subscriber {
        member_id: text(coverage, "/subscriberId").or_else(|| text(coverage, "/identifier/0/value")),
        group_number: group,
        relationship: relationship.to_owned(),
        person: other.map(person),
    }
}

pub(crate) fn payer(organization: &Value) -> Payer {
    Payer {
        payer_id: other_identifier(organization).unwrap_or_default(),
        name: text(organization, "/name").unwrap_or_default(),
        organization_id: text(organization, "/id"),
    }
}

fn coverage_terms(coverage: &Value) -> CoverageTerms {
    let costs = coverage
        .get("costToBeneficiary")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let mut terms = CoverageTerms {
        status: text(coverage, "/status").unwrap_or_default(),
        period_start: coverage
            .at("/period/start")
            .and_then(Value::as_str)
            .and_then(|text| period_bound(text, Bound::First)),
        period_end: coverage
            .at("/period/end")
            .and_then(Value::as_str)
            .and_then(|text| period_bound(text, Bound::Last)),
        copay: None,
        coinsurance: None,
    };
    for cost in costs {
        match text(cost, "/type/coding/0/code").as_deref() {
            Some("copaypct") => {
                terms.coinsurance = cost
                    .at("/valueQuantity/value")
                    .and_then(decimal)
                    .map(|percent| percent / Decimal::ONE_HUNDRED);
            }
            Some("copay" | "gpvisit" | "spvisit") if terms.copay.is_none() => {
                terms.copay = cost.at("/valueMoney/value").and_then(decimal);
            }
            _ => {}
        }
    }
    terms
}

pub(crate) fn provider(resource: &Value) -> Provider {
    let is_person = text(resource, "/resourceType").as_deref() == Some("Practitioner");
    let (name, given) = if is_person {
        let person = person(resource);
        (person.family, person.given.into_iter().next())
    } else {
        (text(resource, "/name").unwrap_or_default(), None)
    };
    Provider {
        npi: identifier_in(resource, NPI_SYSTEM),
        tax_id: identifier_in(resource, TAX_ID_SYSTEM),
        name,
        given,
        is_person,
        taxonomy: None,
        address: resource.at("/address/0").map(address),
    }
}

fn identifier_in(resource: &Value, system: &str) -> Option<String> {
    resource
        .get("identifier")?
        .as_array()?
        .iter()
        .find(|i| i.get("system").and_then(Value::as_str) == Some(system))
        .and_then(|i| text(i, "/value"))
}

/// A payer's own id: its first identifier that is not an NPI or a tax id.
fn other_identifier(resource: &Value) -> Option<String> {
    resource
        .get("identifier")?
        .as_array()?
        .iter()
        .find(|i| {
            let system = i.get("system").and_then(Value::as_str);
            system != Some(NPI_SYSTEM) && system != Some(TAX_ID_SYSTEM)
        })
        .and_then(|i| text(i, "/value"))
}

/// The code of the first coding in one of `systems`.
fn coding_in(concept: Option<&Value>, systems: &[&str]) -> Option<String> {
    concept?
        .get("coding")?
        .as_array()?
        .iter()
        .find(|c| {
            c.get("system")
                .and_then(Value::as_str)
                .is_some_and(|s| systems.contains(&s))
        })
        .and_then(|c| text(c, "/code"))
}

fn text(from: &Value, pointer: &str) -> Option<String> {
    from.at(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The Claim's stated total (`total.value`), exactly as written.
pub(crate) fn total_charge(claim: &Value) -> Option<Decimal> {
    claim.at("/total/value").and_then(decimal)
}

/// A JSON number as an exact decimal (the server keeps numbers as written).
fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

/// The date part of a FHIR date or dateTime.
pub(crate) fn date_of(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// Which day of a month or a year a period's bound written to that precision means.
#[derive(Clone, Copy)]
enum Bound {
    First,
    Last,
}

/// A period's start or end as a day. FHIR lets a bound be a year (`2025`) or a
/// month (`2025-12`): a coverage that ends in December 2025 ends on its last day,
/// not never.
fn period_bound(text: &str, bound: Bound) -> Option<NaiveDate> {
    if let Some(day) = date_of(text) {
        return Some(day);
    }
    let (year, month) = match text.split_once('-') {
        Some((year, month)) if month.len() == 2 => (year.parse().ok()?, Some(month.parse().ok()?)),
        None if text.len() == 4 => (text.parse().ok()?, None),
        _ => return None,
    };
    match (bound, month) {
        (Bound::First, month) => NaiveDate::from_ymd_opt(year, month.unwrap_or(1), 1),
        (Bound::Last, None) => NaiveDate::from_ymd_opt(year, 12, 31),
        (Bound::Last, Some(12)) => NaiveDate::from_ymd_opt(year, 12, 31),
        (Bound::Last, Some(month)) => NaiveDate::from_ymd_opt(year, month + 1, 1)?.pred_opt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_coverage_period_to_a_month_or_a_year_covers_all_of_it() {
        let terms = |start: &str, end: &str| {
            let terms = coverage_terms(&json!({"status": "active", "period": {"start": start, "end": end}}));
            (terms.period_start, terms.period_end)
        };
        let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
        assert_eq!(
            terms("2025-02", "2025-12"),
            (day("2025-02-01"), day("2025-12-31"))
        );
        assert_eq!(terms("2024", "2024-02"), (day("2024-01-01"), day("2024-02-29")));
        assert_eq!(
            terms("2025-03-04", "2025"),
            (day("2025-03-04"), day("2025-12-31"))
        );
        assert_eq!(terms("2025-13", "soon"), (None, None));
    }

    fn claim() -> Value {
        json!({
            "resourceType": "Claim", "id": "c1", "status": "active", "use": "claim",
            "created": "2026-03-02T10:00:00Z",
            "patient": {"reference": "Patient/p1"},
            "provider": {"reference": "Organization/clinic"},
            "careTeam": [{"sequence": 1, "provider": {"reference": "Practitioner/dr"},
                          "role": {"coding": [{"code": "primary"}]}}],
            "insurance": [{"sequence": 1, "focal": true, "coverage": {"reference": "Coverage/cov"}}],
            "diagnosis": [
                {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}]}},
                {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"}]}}
            ],
            "item": [
                {"sequence": 1, "productOrService": {"coding": [{"code": "99213"}]},
                 "modifier": [{"coding": [{"code": "25"}]}], "servicedDate": "2026-03-01",
                 "quantity": {"value": 1}, "net": {"value": 125.50}, "diagnosisSequence": [1, 2],
                 "locationCodeableConcept": {"coding": [{"system": POS_SYSTEM, "code": "11"}]}},
                {"sequence": 2, "productOrService": {"coding": [{"code": "36415"}]},
                 "servicedPeriod": {"start": "2026-03-01"}, "quantity": {"value": 2},
                 "unitPrice": {"value": 10.25}, "diagnosisSequence": [1],
                 "locationCodeableConcept": {"coding": [{"system": POS_SYSTEM, "code": "22"}]}}
            ],
            "total": {"value": 146.00, "currency": "USD"}
        })
    }

    fn referenced() -> Referenced {
        Referenced {
            patient: Arc::new(
                json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Doe", "given": ["Jane", "Q"]}],
                            "birthDate": "1980-02-29", "gender": "female",
                            "address": [{"line": ["1 Main St"], "city": "Durham", "state": "NC", "postalCode": "27701"}]}),
            ),
            coverage: Arc::new(
                json!({"resourceType": "Coverage", "id": "cov", "status": "active", "subscriberId": "M123",
                             "relationship": {"coding": [{"code": "self"}]},
                             "class": [{"type": {"coding": [{"code": "group"}]}, "value": "GRP-7"}],
                             "period": {"start": "2026-01-01", "end": "2026-12-31"},
                             "costToBeneficiary": [
                                {"type": {"coding": [{"code": "copay"}]}, "valueMoney": {"value": 20, "currency": "USD"}},
                                {"type": {"coding": [{"code": "copaypct"}]}, "valueQuantity": {"value": 20}}]}),
            ),
            payer: Arc::new(
                json!({"resourceType": "Organization", "id": "acme", "name": "Acme Health",
                          "identifier": [{"system": TAX_ID_SYSTEM, "value": "111111111"},
                                         {"system": "urn:payer-id", "value": "ACME01"}]}),
            ),
            billing_provider: Arc::new(
                json!({"resourceType": "Organization", "id": "clinic", "name": "Good Clinic",
                                     "identifier": [{"system": NPI_SYSTEM, "value": "1234567893"},
                                                    {"system": TAX_ID_SYSTEM, "value": "12-3456789"}]}),
            ),
            rendering_provider: Some(Arc::new(json!({"resourceType": "Practitioner", "id": "dr",
                                            "name": [{"family": "Welby", "given": ["Marcus"]}],
                                            "identifier": [{"system": NPI_SYSTEM, "value": "1245319599"}]}))),
            subscriber: None,
        }
    }

    #[test]
    fn a_professional_claim_reads_whole() {
        let billed = billing_claim("c1", &claim(), &referenced()).unwrap();
        assert_eq!(billed.patient_id, "p1");
        assert_eq!(billed.created, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        assert_eq!(billed.diagnoses, ["E119", "I10"]);
        assert_eq!(billed.place_of_service.as_deref(), Some("11"));
        assert_eq!(billed.lines[0].place_of_service, None);
        assert_eq!(billed.lines[1].place_of_service.as_deref(), Some("22"));
        assert_eq!(billed.lines[0].charge, Decimal::new(12550, 2));
        assert_eq!(billed.lines[1].charge, Decimal::new(2050, 2));
        assert_eq!(billed.lines[0].modifiers, ["25"]);
        assert_eq!(billed.lines[0].diagnosis_pointers, [1, 2]);
        assert_eq!(billed.total_charge, Decimal::new(146, 0));
        assert_eq!(billed.payer.payer_id, "ACME01");
        assert_eq!(billed.billing_provider.npi.as_deref(), Some("1234567893"));
        assert_eq!(billed.billing_provider.tax_id.as_deref(), Some("12-3456789"));
        let rendering = billed.rendering_provider.unwrap();
        assert!(rendering.is_person);
        assert_eq!(
            (rendering.name.as_str(), rendering.given.as_deref()),
            ("Welby", Some("Marcus"))
        );
        assert_eq!(billed.subscriber.member_id.as_deref(), Some("M123"));
        assert_eq!(billed.subscriber.group_number.as_deref(), Some("GRP-7"));
        assert_eq!(billed.subscriber.relationship, "18");
        let terms = billed.coverage.unwrap();
        assert_eq!(terms.copay, Some(Decimal::new(20, 0)));
        assert_eq!(terms.coinsurance, Some(Decimal::new(2, 1)));
        assert_eq!(billed.patient.given, ["Jane", "Q"]);
    }

    /// Why `claim` cannot be read for billing.
    fn refusal(claim: &Value) -> String {
        format!("{:?}", billing_claim("c1", claim, &referenced()).unwrap_err())
    }

    #[test]
    fn a_line_without_a_date_is_refused_with_its_path() {
        let mut claim = claim();
        claim["item"][1].as_object_mut().unwrap().remove("servicedPeriod");
        let error = refusal(&claim);
        assert!(error.contains("Claim.item[1].serviced[x]"), "{error}");
    }

    #[test]
    fn pointers_name_diagnoses_by_their_sequence_not_their_place() {
        let mut claim = claim();
        // Sequence 1 is SNOMED CT, which an 837P cannot carry, and 3 is skipped:
        // the ICD-10-CM diagnoses 2 and 4 are billed first and second.
        claim["diagnosis"] = json!([
            {"sequence": 4, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}]}},
            {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]}},
            {"sequence": 2, "diagnosisCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"}]}}
        ]);
        claim["item"][0]["diagnosisSequence"] = json!([4, 2]);
        claim["item"][1]["diagnosisSequence"] = json!([1, 3, 2]);
        let billed = billing_claim("c1", &claim, &referenced()).unwrap();
        assert_eq!(billed.diagnoses, ["E119", "I10"]);
        assert_eq!(billed.lines[0].diagnosis_pointers, [2, 1]);
        assert_eq!(billed.lines[1].diagnosis_pointers, [0, 0, 1]);
    }

    #[test]
    fn a_period_of_service_keeps_its_last_day() {
        let mut claim = claim();
        claim["item"][1]["servicedPeriod"] = json!({"start": "2026-03-01", "end": "2026-03-04"});
        let billed = billing_claim("c1", &claim, &referenced()).unwrap();
        let line = &billed.lines[1];
        assert_eq!(line.service_date, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
        assert_eq!(line.service_end, NaiveDate::from_ymd_opt(2026, 3, 4));
        assert_eq!(line.date_path(1), "Claim.item[1].servicedPeriod");
        // A period of one day is a date; one that ends before it starts is refused.
        claim["item"][1]["servicedPeriod"]["end"] = json!("2026-03-01");
        let billed = billing_claim("c1", &claim, &referenced()).unwrap();
        assert_eq!(billed.lines[1].service_end, None);
        claim["item"][1]["servicedPeriod"]["end"] = json!("2026-02-28");
        let error = refusal(&claim);
        assert!(error.contains("Claim.item[1].servicedPeriod.end"), "{error}");
    }

    #[test]
    fn a_diagnosis_sequence_given_twice_is_refused_with_its_path() {
        let mut claim = claim();
        // The second has no sequence of its own, so its place, 2, repeats the first's.
        claim["diagnosis"][0]["sequence"] = json!(2);
        claim["diagnosis"][1].as_object_mut().unwrap().remove("sequence");
        let error = refusal(&claim);
        assert!(error.contains("Claim.diagnosis[1].sequence"), "{error}");
    }

    #[test]
    fn findings_name_the_element_a_date_or_a_diagnosis_was_read_from() {
        let mut claim = claim();
        claim["billablePeriod"] = json!({"start": "2026-03-01"});
        claim["item"][1].as_object_mut().unwrap().remove("servicedPeriod");
        let billed = billing_claim("c1", &claim, &referenced()).unwrap();
        assert_eq!(billed.lines[0].date_path(0), "Claim.item[0].servicedDate");
        assert_eq!(billed.lines[1].date_path(1), "Claim.billablePeriod");
        // Billed in sequence order: E11.9 (sequence 1) is Claim.diagnosis[1].
        assert_eq!(billed.diagnosis_elements, [1, 0]);
    }
}
