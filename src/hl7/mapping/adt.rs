//! ADT: Patient from PID, Encounter from PV1/PV2 keyed by the visit number,
//! Coverage from IN1 with the payer as Organization; A40 merges Patients.

use serde_json::{json, Map, Value};

use super::datatypes::{address, contact_point, date, date_time, human_name, identifier};
use super::{
    missing, token_query, upsert, upsert_keyed, write_over, AuthoritySystems, MappingContext, MappingError,
};
use crate::fhir::conditional::CriteriaAuthor;
use crate::fhir::outcome::FhirError;
use crate::fhir::pointer::Pointer;
use crate::fhir::resource_type::ResourceType;
use crate::hl7::ack::{ErrorCode, ErrorLocation, Problem};
use crate::hl7::message::{Parsed, SegmentView};

const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
/// The most Encounters or Coverages one merge re-points.
const MERGE_LIMIT: usize = 10_000;
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// A01 admit, A04 register, A05 pre-admit, A08 update, A03 discharge, A11 cancel admit.
pub async fn admit_or_update(
    context: &mut MappingContext<'_>,
    event: &str,
    message: &Parsed<'_>,
) -> Result<(), MappingError> {
    let pid = message
        .segment("PID")
        .ok_or_else(|| missing("PID", 3, "patient segment"))?;
    let patient_id = upsert_patient(context, &pid).await?;
    match message.segment("PV1") {
        Some(pv1) => {
            upsert_encounter(context, event, &pv1, &patient_id).await?;
        }
        // A discharge or a cancelled admission is about a visit: without one
        // there is nothing to finish or cancel, and AA would say it was done.
        None if matches!(event, "A03" | "A11") => return Err(missing("PV1", 19, "visit segment")),
        None => {}
    }
    upsert_coverages(context, message, &patient_id).await?;
    Ok(())
}

/// Every IN1 → its Coverage; the ids of those made or updated, in IN1 order.
pub(super) async fn upsert_coverages(
    context: &mut MappingContext<'_>,
    message: &Parsed<'_>,
    patient_id: &str,
) -> Result<Vec<String>, MappingError> {
    let mut ids = Vec::new();
    for (n, in1) in message.segments("IN1").enumerate() {
        ids.extend(upsert_coverage(context, n + 1, &in1, patient_id).await?);
    }
    Ok(ids)
}

/// PID → Patient, matched by its key identifier (MR if there is one, else the first).
pub(super) async fn upsert_patient(
    context: &mut MappingContext<'_>,
    pid: &SegmentView<'_>,
) -> Result<String, MappingError> {
    let identifiers = patient_identifiers(pid, context.systems);
    let key = key_identifier(&identifiers).ok_or_else(|| missing("PID", 3, "patient identifier list"))?;
    let query = token_query("identifier", key);
    let mapped = patient_fields(pid, identifiers);
    upsert(context, ResourceType::Patient, &query, |current| {
        merge(current, "Patient", mapped)
    })
    .await
}

fn patient_identifiers(pid: &SegmentView<'_>, systems: &AuthoritySystems) -> Vec<Value> {
    pid.repetitions(3)
        .iter()
        .filter_map(|cx| identifier(cx, systems))
        .collect()
}

/// The identifier a Patient is matched by: MR if there is one, else the first.
fn key_identifier(identifiers: &[Value]) -> Option<&Value> {
    identifiers
        .iter()
        .find(|i| i.at("/type/coding/0/code").and_then(Value::as_str) == Some("MR"))
        .or(identifiers.first())
}

/// The criteria `upsert_patient` matches the Patient of `pid` by.
pub(super) fn patient_key(pid: &SegmentView<'_>, systems: &AuthoritySystems) -> Option<String> {
    let identifiers = patient_identifiers(pid, systems);
    key_identifier(&identifiers).map(|key| token_query("identifier", key))
}

/// The visit number (PV1-19) as an identifier, typed VN when it has no type.
fn visit_identifier(pv1: &SegmentView<'_>, systems: &AuthoritySystems) -> Option<Value> {
    let mut visit = pv1.first(19).and_then(|cx| identifier(&cx, systems))?;
    if visit.get("type").is_none() {
        visit["type"] = json!({"coding": [{"system": V2_0203, "code": "VN"}]});
    }
    Some(visit)
}

/// The criteria `upsert_encounter` matches the Encounter of `pv1` by.
pub(super) fn visit_key(pv1: &SegmentView<'_>, systems: &AuthoritySystems) -> Option<String> {
    visit_identifier(pv1, systems).map(|visit| token_query("identifier", &visit))
}

/// The payer of `in1`: its identifier (IN1-3) and name (IN1-4), and the criteria it
/// is matched by (the identifier, else the exact name); `None` without either.
fn payer(
    in1: &SegmentView<'_>,
    systems: &AuthoritySystems,
) -> Option<(Option<Value>, Option<String>, String)> {
    let payer_identifier = in1.first(3).and_then(|cx| identifier(&cx, systems));
    let payer_name = in1.value(4, 1);
    let query = match (&payer_identifier, &payer_name) {
        (Some(id), _) => token_query("identifier", id),
        (None, Some(name)) => format!(
            "name:exact={}",
            url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
        ),
        (None, None) => return None,
    };
    Some((payer_identifier, payer_name, query))
}

/// The criteria `upsert_coverage` matches the payer of `in1` by.
pub(super) fn payer_key(in1: &SegmentView<'_>, systems: &AuthoritySystems) -> Option<String> {
    payer(in1, systems).map(|(_, _, query)| query)
}

fn patient_fields(pid: &SegmentView<'_>, mut identifiers: Vec<Value>) -> Map<String, Value> {
    let mut patient = Map::new();
    if let Some(ssn) = pid.value(19, 1) {
        identifiers.push(json!({
            "type": {"coding": [{"system": V2_0203, "code": "SS"}]},
            "system": "http://hl7.org/fhir/sid/us-ssn", "value": ssn
        }));
    }
    patient.insert("identifier".into(), Value::Array(identifiers));
    patient.insert("active".into(), Value::Bool(true));
    let names: Vec<Value> = pid.repetitions(5).iter().filter_map(human_name).collect();
    if !names.is_empty() {
        patient.insert("name".into(), Value::Array(names));
    }
    if let Some(birth) = pid.value(7, 1).as_deref().and_then(date) {
        patient.insert("birthDate".into(), Value::String(birth));
    }
    let gender = match pid.value(8, 1).as_deref() {
        Some("M") => Some("male"),
        Some("F") => Some("female"),
        Some("O" | "A") => Some("other"),
        Some("U" | "N") => Some("unknown"),
        _ => None,
    };
    if let Some(gender) = gender {
        patient.insert("gender".into(), Value::String(gender.into()));
    }
    let addresses: Vec<Value> = pid.repetitions(11).iter().filter_map(address).collect();
    if !addresses.is_empty() {
        patient.insert("address".into(), Value::Array(addresses));
    }
    let telecom: Vec<Value> = pid
        .repetitions(13)
        .iter()
        .filter_map(|xtn| contact_point(xtn, "home"))
        .chain(
            pid.repetitions(14)
                .iter()
                .filter_map(|xtn| contact_point(xtn, "work")),
        )
        .collect();
    if !telecom.is_empty() {
        patient.insert("telecom".into(), Value::Array(telecom));
    }
    match (
        pid.value(30, 1).as_deref(),
        pid.value(29, 1).as_deref().and_then(date_time),
    ) {
        (_, Some(when)) => {
            patient.insert("deceasedDateTime".into(), Value::String(when));
        }
        (Some("Y"), None) => {
            patient.insert("deceasedBoolean".into(), Value::Bool(true));
        }
        _ => {}
    }
    patient
}

/// Choice elements the maps write (`deceased[x]`): the form a message gives
/// replaces whichever form was stored, since a resource may hold only one.
const CHOICE_ELEMENTS: &[&str] = &["deceased"];

/// The mapped elements over the current resource: what the message says replaces
/// what was stored, and what it does not speak of (links, extensions) is kept.
fn merge(current: Option<Value>, resource_type: &str, mapped: Map<String, Value>) -> Value {
    let mut resource = match current {
        Some(Value::Object(current)) => current,
        _ => Map::new(),
    };
    resource.insert("resourceType".into(), Value::String(resource_type.into()));
    resource.remove("meta");
    for choice in CHOICE_ELEMENTS {
        if mapped.keys().any(|key| key.starts_with(choice)) {
            resource.retain(|key, _| !key.trim_start_matches('_').starts_with(choice));
        }
    }
    resource.extend(mapped);
    Value::Object(resource)
}

/// PV1 → Encounter, matched by the visit number (PV1-19); none without one.
pub(super) async fn upsert_encounter(
    context: &mut MappingContext<'_>,
    event: &str,
    pv1: &SegmentView<'_>,
    patient_id: &str,
) -> Result<Option<String>, MappingError> {
    let Some(visit) = visit_identifier(pv1, context.systems) else {
        if matches!(event, "A03" | "A11") {
            return Err(missing("PV1", 19, "visit number"));
        }
        return Ok(None);
    };
    let mut mapped = Map::new();
    mapped.insert("identifier".into(), json!([visit.clone()]));
    let (code, display) = match pv1.value(2, 1).as_deref() {
        Some("I") => ("IMP", "inpatient encounter"),
        Some("E") => ("EMER", "emergency"),
        Some("P") => ("PRENC", "pre-admission"),
        _ => ("AMB", "ambulatory"),
    };
    mapped.insert(
        "class".into(),
        json!({"system": ACT_CODE, "code": code, "display": display}),
    );
    mapped.insert(
        "subject".into(),
        json!({"reference": format!("Patient/{patient_id}")}),
    );
    let mut period = Map::new();
    if let Some(start) = pv1.value(44, 1).as_deref().and_then(date_time) {
        period.insert("start".into(), Value::String(start));
    }
    if let Some(end) = pv1.value(45, 1).as_deref().and_then(date_time) {
        period.insert("end".into(), Value::String(end));
    }
    let location: Vec<String> = (1..=3).filter_map(|c| pv1.value(3, c)).collect();
    if !location.is_empty() {
        mapped.insert(
            "location".into(),
            json!([{"location": {"display": location.join(" ")}}]),
        );
    }
    let status = match event {
        "A01" => Some("in-progress"),
        "A04" => Some("arrived"),
        "A05" => Some("planned"),
        "A03" => Some("finished"),
        "A11" => Some("cancelled"),
        // A08 updates what is known and leaves the status where it is.
        _ => None,
    };
    let id = upsert(
        context,
        ResourceType::Encounter,
        &token_query("identifier", &visit),
        |current| {
            let previous_period = current
                .as_ref()
                .and_then(|c| c.get("period"))
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let previous_status = current
                .as_ref()
                .and_then(|c| c.get("status"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let mut merged_period = previous_period;
            merged_period.extend(period);
            let mut mapped = mapped;
            if !merged_period.is_empty() {
                mapped.insert("period".into(), Value::Object(merged_period));
            }
            let status = status
                .map(str::to_owned)
                .or(previous_status)
                .unwrap_or_else(|| "in-progress".into());
            mapped.insert("status".into(), Value::String(status));
            merge(current, "Encounter", mapped)
        },
    )
    .await?;
    Ok(Some(id))
}

/// IN1 → Coverage of the patient with the payer (IN1-3/IN1-4) as Organization;
/// one Coverage per patient and payer.
async fn upsert_coverage(
    context: &mut MappingContext<'_>,
    occurrence: usize,
    in1: &SegmentView<'_>,
    patient_id: &str,
) -> Result<Option<String>, MappingError> {
    let Some((payer_identifier, payer_name, payer_query)) = payer(in1, context.systems) else {
        // A Coverage needs its payer; the rest of the message still applies.
        context.warnings.push(Problem::warning(
            ErrorCode::RequiredFieldMissing,
            Some(ErrorLocation::field("IN1", occurrence, 3)),
            format!("IN1 #{occurrence} names no insurance company (IN1-3, IN1-4): no Coverage made from it"),
        ));
        return Ok(None);
    };
    let mut payer = Map::new();
    if let Some(id) = &payer_identifier {
        payer.insert("identifier".into(), json!([id]));
    }
    if let Some(name) = &payer_name {
        payer.insert("name".into(), Value::String(name.clone()));
    }
    payer.insert(
        "type".into(),
        json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "pay", "display": "Payer"}]}]),
    );
    let payer_id = upsert(context, ResourceType::Organization, &payer_query, |current| {
        merge(current, "Organization", payer)
    })
    .await?;

    let mut coverage = Map::new();
    coverage.insert("status".into(), json!("active"));
    coverage.insert(
        "beneficiary".into(),
        json!({"reference": format!("Patient/{patient_id}")}),
    );
    coverage.insert(
        "payor".into(),
        json!([{"reference": format!("Organization/{payer_id}")}]),
    );
    // IN1-36 policy number, else IN1-49 insured's id: the member id on the card.
    if let Some(member) = in1.value(36, 1).or_else(|| in1.value(49, 1)) {
        coverage.insert("subscriberId".into(), Value::String(member.clone()));
        coverage.insert(
            "identifier".into(),
            json!([{"type": {"coding": [{"system": V2_0203, "code": "MB"}]}, "value": member}]),
        );
    }
    let mut classes = Vec::new();
    if let Some(plan) = in1.value(2, 1) {
        classes.push(coverage_class("plan", plan, in1.value(2, 2)));
    }
    if let Some(group) = in1.value(8, 1) {
        classes.push(coverage_class("group", group, in1.value(9, 1)));
    }
    if !classes.is_empty() {
        coverage.insert("class".into(), Value::Array(classes));
    }
    let mut period = Map::new();
    if let Some(start) = in1.value(12, 1).as_deref().and_then(date) {
        period.insert("start".into(), Value::String(start));
    }
    if let Some(end) = in1.value(13, 1).as_deref().and_then(date) {
        period.insert("end".into(), Value::String(end));
    }
    if !period.is_empty() {
        coverage.insert("period".into(), Value::Object(period));
    }
    let relationship = match in1.value(17, 1).as_deref() {
        Some("SEL" | "01" | "18") => Some("self"),
        Some("SPO" | "02") => Some("spouse"),
        Some("CHD" | "19" | "03") => Some("child"),
        Some(_) => Some("other"),
        None => None,
    };
    if let Some(relationship) = relationship {
        coverage.insert(
            "relationship".into(),
            json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship", "code": relationship}]}),
        );
        if relationship == "self" {
            coverage.insert(
                "subscriber".into(),
                json!({"reference": format!("Patient/{patient_id}")}),
            );
        }
    }
    if let Some(order) = in1
        .value(1, 1)
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n > 0)
    {
        coverage.insert("order".into(), json!(order));
    }
    let query = format!("beneficiary=Patient/{patient_id}&payor=Organization/{payer_id}");
    // A patient or payer this message created has no Coverage but what it made.
    let made_here_only = context.fresh.contains(patient_id) || context.fresh.contains(&payer_id);
    let id = upsert_keyed(
        context,
        ResourceType::Coverage,
        &query,
        made_here_only,
        |current| merge(current, "Coverage", coverage),
    )
    .await?;
    Ok(Some(id))
}

fn coverage_class(kind: &str, value: String, name: Option<String>) -> Value {
    let mut class = json!({
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": kind}]},
        "value": value
    });
    if let Some(name) = name {
        class["name"] = Value::String(name);
    }
    class
}

/// A40: in each PID/MRG group, the Patient of PID survives; the one MRG-1 names
/// is marked replaced, and the Encounters and Coverages that pointed to it now
/// point to the survivor. The groups are applied in order, all in the message's
/// transaction.
pub async fn merge_patients(
    context: &mut MappingContext<'_>,
    message: &Parsed<'_>,
) -> Result<(), MappingError> {
    let patients: Vec<_> = message.segments("PID").collect();
    let merged: Vec<_> = message.segments("MRG").collect();
    if patients.is_empty() {
        return Err(missing("PID", 3, "patient segment"));
    }
    // Each group is a PID and its MRG: a PID without one merges nothing.
    if merged.len() != patients.len() {
        return Err(missing("MRG", 1, "merge segment of every patient group"));
    }
    for (pid, mrg) in patients.iter().zip(&merged) {
        merge_group(context, pid, mrg).await?;
    }
    Ok(())
}

async fn merge_group(
    context: &mut MappingContext<'_>,
    pid: &SegmentView<'_>,
    mrg: &SegmentView<'_>,
) -> Result<(), MappingError> {
    let prior_identifier = mrg
        .first(1)
        .and_then(|cx| identifier(&cx, context.systems))
        .ok_or_else(|| missing("MRG", 1, "prior patient identifier list"))?;
    let survivor = upsert_patient(context, pid).await?;
    let prior = context
        .fhir
        .single_match_by(
            context.session,
            ResourceType::Patient,
            &token_query("identifier", &prior_identifier),
            CriteriaAuthor::Server,
        )
        .await?;
    let Some(prior) = prior.filter(|p| *p != survivor) else {
        // Nothing stored under the old identifier: the survivor is all there is.
        return Ok(());
    };
    let link =
        |other: &str, kind: &str| json!({"other": {"reference": format!("Patient/{other}")}, "type": kind});
    let survivor_link = link(&prior, "replaces");
    write_over(
        context,
        ResourceType::Patient,
        Some(survivor.clone()),
        |current| {
            let mut mapped = Map::new();
            mapped.insert(
                "link".into(),
                Value::Array(links_with(current.as_ref(), survivor_link)),
            );
            merge(current, "Patient", mapped)
        },
    )
    .await?;
    let prior_link = link(&survivor, "replaced-by");
    write_over(context, ResourceType::Patient, Some(prior.clone()), |current| {
        let mut mapped = Map::new();
        mapped.insert("active".into(), Value::Bool(false));
        // Added to its links: a patient merged before keeps saying whom it replaces.
        mapped.insert(
            "link".into(),
            Value::Array(links_with(current.as_ref(), prior_link)),
        );
        merge(current, "Patient", mapped)
    })
    .await?;
    // A policy of the replaced patient with a payer the survivor already has
    // stays with the replaced patient: moved, it would be a second Coverage of
    // the survivor and the payer, which every later IN1 of the payer would
    // match (AE from then on); left, it still serves the claims that name it.
    let payers = coverage_payers(context, &survivor).await?;
    let prior_reference = format!("Patient/{prior}");
    let moved = |coverage: &Value| {
        let payer = coverage.at("/payor/0/reference").and_then(Value::as_str);
        !payer.is_some_and(|payer| payers.iter().any(|held| held == payer))
    };
    let every = |_: &Value| true;
    repoint(
        context,
        ResourceType::Encounter,
        "subject",
        &prior,
        &survivor,
        every,
    )
    .await?;
    repoint(
        context,
        ResourceType::Coverage,
        "beneficiary",
        &prior,
        &survivor,
        moved,
    )
    .await?;
    // The policy holder, when the replaced patient held it, of the policies that
    // moved and of others' (a dependant's).
    let not_left_behind = |coverage: &Value| {
        coverage.at("/beneficiary/reference").and_then(Value::as_str) != Some(prior_reference.as_str())
    };
    repoint(
        context,
        ResourceType::Coverage,
        "subscriber",
        &prior,
        &survivor,
        not_left_behind,
    )
    .await?;
    Ok(())
}

/// The payers (`Organization/…`) of the patient's Coverages, read in the one
/// search that finds them.
async fn coverage_payers(
    context: &mut MappingContext<'_>,
    patient: &str,
) -> Result<Vec<String>, MappingError> {
    let search = crate::fhir::conditional::criteria_query(
        ResourceType::Coverage,
        &format!("beneficiary=Patient/{patient}"),
        context.fhir.base_url(),
        MERGE_LIMIT,
        CriteriaAuthor::Server,
    )?;
    let found = context.session.search(&search).await.map_err(FhirError::from)?;
    let mut payers = Vec::new();
    for coverage in found {
        let coverage: Value =
            serde_json::from_str(&coverage.body).map_err(|e| FhirError::Internal(e.to_string()))?;
        payers.extend(
            coverage
                .at("/payor/0/reference")
                .and_then(Value::as_str)
                .map(str::to_owned),
        );
    }
    Ok(payers)
}

/// A Patient's links with `link` added.
fn links_with(current: Option<&Value>, link: Value) -> Vec<Value> {
    let mut links = current
        .and_then(|c| c.get("link"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    links.push(link);
    links
}

/// Every `resource_type` whose `element` refers to Patient/`from` now refers to `to`
/// (the element and its search parameter share the name), those `moves` allows.
async fn repoint(
    context: &mut MappingContext<'_>,
    resource_type: ResourceType,
    element: &str,
    from: &str,
    to: &str,
    moves: impl Fn(&Value) -> bool,
) -> Result<(), MappingError> {
    let ids = crate::fhir::conditional::all_matching_ids(
        context.session,
        resource_type,
        &format!("{element}=Patient/{from}"),
        context.fhir.base_url(),
        MERGE_LIMIT,
    )
    .await?;
    // Resources stored before this message now refer to `to`.
    context.fresh.remove(to);
    for id in ids {
        write_over(context, resource_type, Some(id), |current| {
            let mut resource = current.unwrap_or_default();
            if !moves(&resource) {
                // Written back as it is: no new version.
                return resource;
            }
            resource[element] = json!({"reference": format!("Patient/{to}")});
            if let Some(object) = resource.as_object_mut() {
                object.remove("meta");
            }
            resource
        })
        .await?;
    }
    Ok(())
}
