//! Parse-only throughput of HL7 v2 ADT^A01 messages, two ways per file:
//! - `parse`: what the server does before mapping — segment endings normalized, MSH
//!   read, segments split and checked (fields are split when read);
//! - `parse+decode`: the same, then every component of every field of PID, PV1 and
//!   IN1 split and unescaped (more than the ADT map reads).
//!
//! `bench/hl7.sh` runs it beside python-hl7 and hl7apy on the same files.
//!
//!     cargo bench --bench hl7_parse -- tests/fixtures/hl7v2/ADT-A01-01.hl7 …

use std::hint::black_box;
use std::time::{Duration, Instant};

use claimbridge::hl7::message::{normalize_segment_endings, Header, Parsed};

/// Each file is parsed for this long, after a warm-up of a tenth of it.
const RUN: Duration = Duration::from_secs(3);

/// The segments the ADT map reads, with their field counts in v2.5.1.
const READ: &[(&str, usize)] = &[("PID", 39), ("PV1", 52), ("IN1", 53)];
/// Components read per repetition (XPN, XAD and XCN have at most 23).
const COMPONENTS: usize = 23;

fn parse(raw: &str) -> usize {
    let text = normalize_segment_endings(raw);
    let header = Header::read(&text).expect("a readable header");
    let parsed = Parsed::parse(&text, &header).expect("a parsable message");
    parsed.segments("PID").count()
}

fn parse_and_decode(raw: &str) -> usize {
    let text = normalize_segment_endings(raw);
    let header = Header::read(&text).expect("a readable header");
    let parsed = Parsed::parse(&text, &header).expect("a parsable message");
    let mut decoded = 0;
    for (name, fields) in READ {
        for segment in parsed.segments(name) {
            for field in 1..=*fields {
                for repetition in segment.repetitions(field) {
                    for component in 1..=COMPONENTS {
                        decoded += repetition.component(component).map_or(0, |v| v.len());
                    }
                }
            }
        }
    }
    decoded
}

/// Runs `work` on `raw` for `RUN` and prints one JSON line.
fn measure(mode: &str, file: &str, raw: &str, work: fn(&str) -> usize) {
    let warm_up = Instant::now();
    while warm_up.elapsed() < RUN / 10 {
        black_box(work(black_box(raw)));
    }
    let started = Instant::now();
    let mut messages = 0u64;
    while started.elapsed() < RUN {
        for _ in 0..100 {
            black_box(work(black_box(raw)));
        }
        messages += 100;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"parser\": \"claimbridge {mode}\", \"file\": \"{file}\", \"bytes\": {}, \"messages_per_second\": {:.0}, \"microseconds_per_message\": {:.2}}}",
        raw.len(),
        messages as f64 / seconds,
        seconds * 1e6 / messages as f64
    );
}

fn main() {
    let files: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    assert!(!files.is_empty(), "name the message files to parse");
    for file in files {
        let raw = std::fs::read_to_string(&file).expect("message file");
        measure("parse", &file, &raw, parse);
        measure("parse+decode", &file, &raw, parse_and_decode);
    }
}
