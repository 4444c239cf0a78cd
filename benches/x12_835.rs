//! Parse-only throughput of 835 remittances: the text tokenized with the ISA's
//! delimiters and read into typed remittances (decimal amounts, dates, claims, lines,
//! adjustments). `bench/x12_835_peer.py` times the Python linuxforhealth-x12 package on
//! the same files; the goal is at least 50 times its rate.
//!
//!     cargo bench --bench x12_835 -- tests/fixtures/x12/835_*.835

use std::hint::black_box;
use std::time::{Duration, Instant};

use claimbridge::x12::remittance::read_835;

/// Each file is parsed for this long, after a warm-up of a tenth of it.
const RUN: Duration = Duration::from_secs(3);

fn parse(text: &str) -> usize {
    let remittances = read_835(text).expect("a readable 835");
    // Touch the result so the parse cannot be skipped.
    remittances
        .iter()
        .map(|remittance| remittance.claims().count())
        .sum()
}

fn main() {
    let files: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    assert!(!files.is_empty(), "name the 835 files to parse");
    for file in files {
        let text = std::fs::read_to_string(&file).expect("an 835 file");
        let warm_up = Instant::now();
        while warm_up.elapsed() < RUN / 10 {
            black_box(parse(black_box(&text)));
        }
        let started = Instant::now();
        let mut messages = 0u64;
        while started.elapsed() < RUN {
            for _ in 0..100 {
                black_box(parse(black_box(&text)));
            }
            messages += 100;
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{{\"parser\": \"claimbridge x12\", \"file\": \"{file}\", \"bytes\": {}, \"messages_per_second\": {:.0}, \"microseconds_per_message\": {:.2}}}",
            text.len(),
            messages as f64 / seconds,
            seconds * 1e6 / messages as f64
        );
    }
}
