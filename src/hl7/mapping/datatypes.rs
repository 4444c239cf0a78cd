//! v2 data types to FHIR elements, per the HL7 v2-to-FHIR data type maps (CX →
//! Identifier, XPN → HumanName, XAD → Address, XTN → ContactPoint, TS/DTM → dateTime).

use serde_json::{json, Map, Value};

use crate::hl7::message::Repetition;

/// Assigning authorities (CX.4 namespace) to identifier systems, from configuration.
pub type AuthoritySystems = std::collections::BTreeMap<String, String>;

const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// The identifier system of a CX: the configured system of its assigning authority,
/// else the authority's universal id (an OID, `urn:oid:`, or a URI), else a URN
/// naming the authority. `None` when the CX names no authority.
pub fn identifier_system(cx: &Repetition, systems: &AuthoritySystems) -> Option<String> {
    let namespace = cx.subcomponent(4, 1);
    if let Some(system) = namespace.as_ref().and_then(|n| systems.get(n)) {
        return Some(system.clone());
    }
    let universal = cx.subcomponent(4, 2);
    match (universal, cx.subcomponent(4, 3).as_deref()) {
        (Some(oid), Some("ISO")) => Some(format!("urn:oid:{oid}")),
        (Some(uri), Some("URI" | "URL")) => Some(uri),
        _ => namespace.map(|n| format!("urn:claimbridge:hl7:authority:{}", url_safe(&n))),
    }
}

fn url_safe(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// CX → Identifier (value, system, type from CX.5).
pub fn identifier(cx: &Repetition, systems: &AuthoritySystems) -> Option<Value> {
    let value = cx.component(1)?;
    let mut identifier = Map::new();
    if let Some(code) = cx.component(5) {
        identifier.insert(
            "type".into(),
            json!({"coding": [{"system": V2_0203, "code": code}]}),
        );
    }
    if let Some(system) = identifier_system(cx, systems) {
        identifier.insert("system".into(), Value::String(system));
    }
    identifier.insert("value".into(), Value::String(value));
    Some(Value::Object(identifier))
}

/// XPN → HumanName.
pub fn human_name(xpn: &Repetition) -> Option<Value> {
    let mut name = Map::new();
    // XPN.1 is FN (surname & own surname prefix & …): the surname is sub-component 1.
    if let Some(family) = xpn.subcomponent(1, 1) {
        name.insert("family".into(), Value::String(family));
    }
    let given: Vec<Value> = [xpn.component(2), xpn.component(3)]
        .into_iter()
        .flatten()
        .map(Value::String)
        .collect();
    if !given.is_empty() {
        name.insert("given".into(), Value::Array(given));
    }
    if let Some(suffix) = xpn.component(4) {
        name.insert("suffix".into(), json!([suffix]));
    }
    if let Some(prefix) = xpn.component(5) {
        name.insert("prefix".into(), json!([prefix]));
    }
    let usage = match xpn.component(7).as_deref() {
        Some("L") => Some("official"),
        Some("D") => Some("usual"),
        Some("M") => Some("maiden"),
        Some("N") => Some("nickname"),
        Some("A") => Some("anonymous"),
        Some("C") => Some("old"),
        _ => None,
    };
    if name.is_empty() {
        return None;
    }
    if let Some(usage) = usage {
        name.insert("use".into(), Value::String(usage.into()));
    }
    Some(Value::Object(name))
}

/// XAD → Address.
pub fn address(xad: &Repetition) -> Option<Value> {
    let mut address = Map::new();
    // XAD.1 is SAD (street & name & number): the street line is sub-component 1.
    let lines: Vec<Value> = [xad.subcomponent(1, 1), xad.component(2)]
        .into_iter()
        .flatten()
        .map(Value::String)
        .collect();
    if !lines.is_empty() {
        address.insert("line".into(), Value::Array(lines));
    }
    for (component, key) in [(3, "city"), (4, "state"), (5, "postalCode"), (6, "country")] {
        if let Some(value) = xad.component(component) {
            address.insert(key.into(), Value::String(value));
        }
    }
    if address.is_empty() {
        return None;
    }
    match xad.component(7).as_deref() {
        Some("H") => {
            address.insert("use".into(), json!("home"));
        }
        Some("B" | "O") => {
            address.insert("use".into(), json!("work"));
        }
        Some("C") => {
            address.insert("use".into(), json!("temp"));
        }
        Some("BA") => {
            address.insert("use".into(), json!("old"));
        }
        Some("M") => {
            address.insert("type".into(), json!("postal"));
        }
        _ => {}
    }
    Some(Value::Object(address))
}

/// XTN → ContactPoint; `default_use` is what the field says (PID-13 home, PID-14 work).
pub fn contact_point(xtn: &Repetition, default_use: &str) -> Option<Value> {
    let equipment = xtn.component(3);
    let email = xtn.component(4);
    let (system, value) = match (equipment.as_deref(), email) {
        (Some("Internet" | "X.400"), Some(email)) => ("email", email),
        _ => {
            // v2.5+ puts the number in XTN.5-7; v2.3 senders write it whole in XTN.1.
            let composed = [xtn.component(5), xtn.component(6), xtn.component(7)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let value = xtn.component(1).or((!composed.is_empty()).then_some(composed))?;
            let system = match equipment.as_deref() {
                Some("FX") => "fax",
                Some("BP") => "pager",
                _ => "phone",
            };
            (system, value)
        }
    };
    let usage = match (xtn.component(2).as_deref(), equipment.as_deref()) {
        (_, Some("CP")) => "mobile",
        (Some("WPN"), _) => "work",
        (Some("PRN" | "ORN" | "VHN"), _) => "home",
        _ => default_use,
    };
    Some(json!({"system": system, "value": value, "use": usage}))
}

/// A v2 DT/TS/DTM value as a FHIR date or dateTime. Times without an offset are
/// taken as UTC (FHIR needs a zone once there is a time). `None` if malformed.
pub fn date_time(value: &str) -> Option<String> {
    let value = value.trim();
    let (digits, zone) = match value.find(['+', '-']) {
        Some(at) => (&value[..at], Some(&value[at..])),
        None => (value, None),
    };
    let digits = digits.split('.').next().unwrap_or_default();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part = |from: usize, to: usize| digits.get(from..to);
    let date = match digits.len() {
        4 => return Some(digits.to_owned()),
        6 => return Some(format!("{}-{}", part(0, 4)?, part(4, 6)?)),
        8.. => format!("{}-{}-{}", part(0, 4)?, part(4, 6)?, part(6, 8)?),
        _ => return None,
    };
    chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok()?;
    if digits.len() < 12 {
        return Some(date);
    }
    let seconds = part(12, 14).unwrap_or("00");
    let zone = match zone {
        // +/-HHMM, or +/-HH as some senders write it; the sign is ASCII, so byte
        // offsets past it are character ones.
        Some(zone) if zone[1..].bytes().all(|b| b.is_ascii_digit()) && zone.len() == 5 => {
            format!("{}:{}", &zone[..3], &zone[3..])
        }
        Some(zone) if zone[1..].bytes().all(|b| b.is_ascii_digit()) && zone.len() == 3 => {
            format!("{zone}:00")
        }
        Some(_) => return None,
        None => "Z".to_owned(),
    };
    Some(format!(
        "{date}T{}:{}:{seconds}{zone}",
        part(8, 10)?,
        part(10, 12)?
    ))
}

/// Only the date of a v2 date/time (`birthDate`, coverage periods).
pub fn date(value: &str) -> Option<String> {
    date_time(value).map(|v| v.chars().take(10).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_times_become_fhir_dates_and_date_times() {
        assert_eq!(date_time("19800229").as_deref(), Some("1980-02-29"));
        assert_eq!(date_time("198002").as_deref(), Some("1980-02"));
        assert_eq!(date_time("200501100452").as_deref(), Some("2005-01-10T04:52:00Z"));
        assert_eq!(
            date_time("20050110045253-0500").as_deref(),
            Some("2005-01-10T04:52:53-05:00")
        );
        assert_eq!(
            date_time("20050110045253.1234+0100").as_deref(),
            Some("2005-01-10T04:52:53+01:00")
        );
        assert_eq!(date_time("19801332"), None);
        assert_eq!(date_time("abc"), None);
        assert_eq!(date_time("198001011200+1é1"), None, "a zone of other than digits");
        assert_eq!(
            date_time("198001011200+05").as_deref(),
            Some("1980-01-01T12:00:00+05:00")
        );
        assert_eq!(date_time("198001011200+5"), None, "a zone of one digit");
        assert_eq!(date("20050110045253").as_deref(), Some("2005-01-10"));
    }
}
