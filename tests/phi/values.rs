//! The PHI the tests seed, read from where it is seeded: the FHIR Patient fixtures
//! (names, birth dates, telecoms, addresses, identifiers), the HL7 v2 samples (PID,
//! NK1, GT1 and IN1: ids, names, birth dates, addresses, phones, SSNs, policy
//! numbers), the X12 samples (NM1 of subscribers and patients with the DMG, N3, N4
//! and REF that follow), and the literals of the API tests themselves (the names,
//! birth dates and member ids of the patients they create, and the names and ids
//! in the 835s they post).

use serde_json::Value;

use super::scan::Needle;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Words the fixtures fill in where no name is meant (`PID|…|Test^Test^A`), which
/// are also the server's own words (the route `/admin/integrations/{id}/test`, the
/// test job kinds `test.*`): no one's PHI, and found on every other line.
const PLACEHOLDERS: [&str; 1] = ["test"];

/// Every seeded value that is distinct enough to look for.
pub fn seeded() -> Vec<Needle> {
    let mut needles = Vec::new();
    let mut add = |source: &str, what: &str, value: &str| {
        if PLACEHOLDERS.contains(&value.to_lowercase().as_str()) {
            return;
        }
        for form in written_forms(value) {
            if let Some(needle) = Needle::new(format!("{what} from {source} ({value})"), &form) {
                needles.push(needle);
            }
        }
    };
    for (source, text) in files("tests/fixtures/fhir-examples", "json")
        .into_iter()
        .chain(files("tests/fixtures/bundles", "json"))
    {
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{source}: {e}"));
        for patient in patients(&json) {
            for (what, value) in patient_values(patient) {
                add(&source, what, &value);
            }
        }
    }
    for (source, text) in files("tests/fixtures/hl7v2", "hl7") {
        for (what, value) in hl7_values(&text) {
            add(&source, what, &value);
        }
    }
    for (source, text) in files("tests/fixtures/x12", "") {
        for (what, value) in x12_values(&text) {
            add(&source, what, &value);
        }
    }
    for (source, text) in files("tests/api", "rs") {
        for (what, value) in test_literals(&text) {
            add(&source, what, &value);
        }
    }
    needles
}

/// A value as it is written, and a date also as the other standards write it:
/// FHIR's `1980-02-29` is HL7's and X12's `19800229`, and the other way round.
fn written_forms(value: &str) -> Vec<String> {
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let dashed =
        value.len() == 10 && value.as_bytes()[4] == b'-' && value.as_bytes()[7] == b'-' && digits.len() == 8;
    let compact =
        value.len() == 8 && digits.len() == 8 && (value.starts_with("19") || value.starts_with("20"));
    if dashed {
        vec![value.to_owned(), digits]
    } else if compact {
        vec![
            value.to_owned(),
            format!("{}-{}-{}", &value[..4], &value[4..6], &value[6..]),
        ]
    } else {
        vec![value.to_owned()]
    }
}

/// `(path, text)` of the files under `dir` whose names end with `extension`
/// (every file when it is empty), but the SOURCES.md of the fixtures.
fn files(dir: &str, extension: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = std::fs::read_dir(format!("{ROOT}/{dir}"))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e != "md"))
        .filter(|path| extension.is_empty() || path.extension().is_some_and(|e| e == extension))
        .map(|path| {
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            let text = String::from_utf8_lossy(&std::fs::read(&path).expect("readable")).into_owned();
            (name, text)
        })
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no files in {dir}");
    found
}

/// The Patient resources of a resource or a Bundle.
fn patients(json: &Value) -> Vec<&Value> {
    match json["resourceType"].as_str() {
        Some("Patient") => vec![json],
        Some("Bundle") => json["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|entry| patients(&entry["resource"]))
            .collect(),
        _ => Vec::new(),
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

fn patient_values(patient: &Value) -> Vec<(&'static str, String)> {
    let mut values = Vec::new();
    let each = |list: &Value| list.as_array().cloned().unwrap_or_default();
    for name in each(&patient["name"]) {
        for part in ["family", "given", "text"] {
            values.extend(strings(&name[part]).into_iter().map(|v| ("Patient name", v)));
        }
    }
    values.extend(
        strings(&patient["birthDate"])
            .into_iter()
            .map(|v| ("Patient.birthDate", v)),
    );
    for telecom in each(&patient["telecom"]) {
        values.extend(
            strings(&telecom["value"])
                .into_iter()
                .map(|v| ("Patient.telecom", v)),
        );
    }
    for address in each(&patient["address"]) {
        for part in ["line", "city", "text"] {
            values.extend(
                strings(&address[part])
                    .into_iter()
                    .map(|v| ("Patient.address", v)),
            );
        }
    }
    for identifier in each(&patient["identifier"]) {
        values.extend(
            strings(&identifier["value"])
                .into_iter()
                .map(|v| ("Patient.identifier", v)),
        );
    }
    values
}

/// Fields of an HL7 v2 segment, numbered as in the standard (MSH excepted).
fn hl7_values(message: &str) -> Vec<(&'static str, String)> {
    // (segment, field, what): the fields that identify a person.
    const FIELDS: [(&str, usize, &str); 14] = [
        ("PID", 2, "PID-2 patient id"),
        ("PID", 3, "PID-3 identifier"),
        ("PID", 4, "PID-4 alternate id"),
        ("PID", 5, "PID-5 name"),
        ("PID", 7, "PID-7 birth date"),
        ("PID", 11, "PID-11 address"),
        ("PID", 13, "PID-13 phone"),
        ("PID", 18, "PID-18 account number"),
        ("PID", 19, "PID-19 SSN"),
        ("NK1", 2, "NK1-2 name"),
        ("GT1", 3, "GT1-3 guarantor name"),
        ("IN1", 16, "IN1-16 insured's name"),
        ("IN1", 18, "IN1-18 insured's birth date"),
        ("IN1", 36, "IN1-36 policy number"),
    ];
    let mut values = Vec::new();
    for segment in message.split(['\r', '\n']) {
        let fields: Vec<&str> = segment.split('|').collect();
        for (name, number, what) in FIELDS {
            if fields[0] != name {
                continue;
            }
            let Some(field) = fields.get(number) else { continue };
            for repetition in field.split('~') {
                let components: Vec<&str> = repetition.split('^').collect();
                let parts: Vec<String> = if what.contains("address") || what.contains("name") {
                    // A name's family, given and middle names; an address's street,
                    // other line and city.
                    components.iter().take(3).map(|part| (*part).to_owned()).collect()
                } else if what.contains("birth") {
                    // The date without its time.
                    vec![components[0].chars().take(8).collect()]
                } else {
                    // An id, a phone number: the first component.
                    vec![components[0].to_owned()]
                };
                values.extend(
                    parts
                        .into_iter()
                        .map(|part| (what, part.split('&').next().unwrap().to_owned())),
                );
            }
        }
    }
    values
}

/// The subscribers and patients of an X12 file: NM1*IL and NM1*QC (names, ids),
/// and the DMG (birth date), N3/N4 (address) and REF*SY (SSN) that follow them.
fn x12_values(text: &str) -> Vec<(&'static str, String)> {
    let text = text.trim_start_matches('\u{feff}');
    let (element, terminator) = match text.get(..106) {
        Some(isa) if isa.starts_with("ISA") => (isa[3..4].to_owned(), isa[105..106].to_owned()),
        _ => ("*".to_owned(), "~".to_owned()),
    };
    let mut values = Vec::new();
    let mut person = false;
    for segment in text.split(terminator.as_str()) {
        let fields: Vec<&str> = segment.trim().split(element.as_str()).collect();
        match fields.as_slice() {
            ["NM1", entity, ..] => {
                person = matches!(*entity, "IL" | "QC");
                if person {
                    for (index, what) in [
                        (3, "NM1 last name"),
                        (4, "NM1 first name"),
                        (5, "NM1 middle name"),
                        (9, "NM1 member id"),
                    ] {
                        if let Some(value) = fields.get(index) {
                            values.push((what, (*value).to_owned()));
                        }
                    }
                }
            }
            ["DMG", _, date, ..] if person => values.push(("DMG birth date", (*date).to_owned())),
            ["N3", lines @ ..] if person => {
                values.extend(lines.iter().map(|line| ("N3 address", (*line).to_owned())))
            }
            ["N4", city, ..] if person => values.push(("N4 city", (*city).to_owned())),
            ["REF", "SY", ssn, ..] if person => values.push(("REF*SY SSN", (*ssn).to_owned())),
            _ => {}
        }
    }
    values
}

/// The literals the API tests seed their patients with: `"family": "…"`,
/// `"given": ["…"]`, `"birthDate": "…"`, `"subscriberId": "…"` in their JSON, and
/// the names and ids of `NM1*QC`/`NM1*IL` in the X12 they post.
fn test_literals(source: &str) -> Vec<(&'static str, String)> {
    let mut values = Vec::new();
    for (key, what) in [
        ("\"family\": \"", "a test's family name"),
        ("\"given\": [\"", "a test's given name"),
        ("\"birthDate\": \"", "a test's birth date"),
        ("\"subscriberId\": \"", "a test's member id"),
    ] {
        for (at, _) in source.match_indices(key) {
            let rest = &source[at + key.len()..];
            let value = &rest[..rest.find('"').unwrap_or(0)];
            // Formatted values (`{…}`) are made at run time; the rest are seeds.
            if !value.contains('{') {
                values.push((what, value.to_owned()));
            }
        }
    }
    for key in ["NM1*QC*", "NM1*IL*"] {
        for (at, _) in source.match_indices(key) {
            let rest = &source[at + key.len()..];
            let segment = &rest[..rest.find(['~', '"']).unwrap_or(rest.len())];
            let fields: Vec<&str> = segment.split('*').collect();
            for (index, what) in [
                (1, "a test's X12 last name"),
                (2, "a test's X12 first name"),
                (7, "a test's X12 member id"),
            ] {
                if let Some(value) = fields.get(index).filter(|value| !value.contains('{')) {
                    values.push((what, (*value).to_owned()));
                }
            }
        }
    }
    values
}
