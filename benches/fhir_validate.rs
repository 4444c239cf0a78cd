//! FHIR JSON validation throughput: what the server does with a create's body before
//! storing it — the JSON parsed, then checked against the R4 JSON schema (paths for
//! every error) and, once the schema is satisfied, fhirbolt's strict R4 model.
//!
//! `bench/fhir-validate.sh` runs it beside Python's fhir.resources on the same files.
//!
//!     cargo bench --bench fhir_validate -- tests/fixtures/fhir-examples/Patient-example.json …

use std::hint::black_box;
use std::time::{Duration, Instant};

use claimbridge::fhir::resource_type::ResourceType;
use claimbridge::fhir::validation::{validate_resource, warm_up};
use serde_json::Value;

/// Each file is validated for this long, after a warm-up of a tenth of it.
const RUN: Duration = Duration::from_secs(3);

/// Parses and validates `text`; the number of issues found (zero for these files).
fn validate(resource_type: ResourceType, text: &str) -> usize {
    let resource: Value = serde_json::from_str(text).expect("a JSON resource");
    validate_resource(resource_type, &resource).len()
}

fn measure(file: &str, text: &str, resource_type: ResourceType) {
    assert_eq!(validate(resource_type, text), 0, "{file} is a valid R4 resource");
    let warm_up = Instant::now();
    while warm_up.elapsed() < RUN / 10 {
        black_box(validate(resource_type, black_box(text)));
    }
    let started = Instant::now();
    let mut resources = 0u64;
    while started.elapsed() < RUN {
        for _ in 0..20 {
            black_box(validate(resource_type, black_box(text)));
        }
        resources += 20;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"validator\": \"claimbridge (R4 schema + fhirbolt strict)\", \"file\": \"{file}\", \"bytes\": {}, \"resources_per_second\": {:.0}, \"microseconds_per_resource\": {:.2}}}",
        text.len(),
        resources as f64 / seconds,
        seconds * 1e6 / resources as f64
    );
}

fn main() {
    let files: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    assert!(!files.is_empty(), "name the resource files to validate");
    warm_up();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("resource file");
        let resource: Value = serde_json::from_str(&text).expect("a JSON resource");
        let resource_type: ResourceType = resource["resourceType"]
            .as_str()
            .and_then(|name| name.parse().ok())
            .expect("a resource type the server stores");
        measure(&file, &text, resource_type);
    }
}
