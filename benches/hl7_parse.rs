//! Parse-only throughput of HL7 v2 ADT^A01 messages: what the server does with a
//! message before mapping it (segment endings normalized, MSH read, structure parsed
//! by hl7-parser). `bench/hl7.sh` runs it beside python-hl7 and hl7apy on the same
//! files.
//!
//!     cargo bench --bench hl7_parse -- tests/fixtures/hl7v2/ADT-A01-01.hl7 …

use std::hint::black_box;
use std::time::{Duration, Instant};

use claimbridge::hl7::message::{normalize_segment_endings, Header, Parsed};

/// Each file is parsed for this long, after a warm-up of a tenth of it.
const RUN: Duration = Duration::from_secs(3);

fn parse(raw: &str) -> usize {
    let text = normalize_segment_endings(raw);
    let header = Header::read(&text).expect("a readable header");
    let parsed = Parsed::parse(&text, &header).expect("a parsable message");
    // Touch a field so the parse cannot be skipped.
    parsed
        .segment("PID")
        .and_then(|pid| pid.value(3, 1))
        .map_or(0, |id| id.len())
}

fn main() {
    let files: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    assert!(!files.is_empty(), "name the message files to parse");
    for file in files {
        let raw = std::fs::read_to_string(&file).expect("message file");
        let warm_up = Instant::now();
        while warm_up.elapsed() < RUN / 10 {
            black_box(parse(black_box(&raw)));
        }
        let started = Instant::now();
        let mut messages = 0u64;
        while started.elapsed() < RUN {
            for _ in 0..100 {
                black_box(parse(black_box(&raw)));
            }
            messages += 100;
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{{\"parser\": \"claimbridge (hl7-parser)\", \"file\": \"{file}\", \"bytes\": {}, \"messages_per_second\": {:.0}, \"microseconds_per_message\": {:.2}}}",
            raw.len(),
            messages as f64 / seconds,
            seconds * 1e6 / messages as f64
        );
    }
}
