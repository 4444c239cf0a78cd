//! No PHI in any log line: after the whole API suite, every line its servers logged
//! (captured by tests/api/log_capture.rs at `debug`, in production's JSON) is
//! searched for every PHI value the tests seed (tests/phi/values.rs) and for the
//! canary patient that tests/api/phi_canary.rs sends through every way in.
//!
//! It runs after the API suite because cargo runs a package's test binaries in the
//! order of their names (`zz_…` after `api`), in one `cargo test`. It fails, rather
//! than passes, when that did not happen: when the log is missing, was written under
//! another `cargo` process (an earlier run, or this binary run on its own), lacks
//! the canary's marker (the canary test did not run) or shows no request of it.

#[path = "phi/canary.rs"]
mod canary;
#[path = "phi/run.rs"]
mod run;
#[path = "phi/scan.rs"]
mod scan;
#[path = "phi/values.rs"]
mod values;

use serde_json::Value;

const RERUN: &str = "run the API suite and this check in one cargo invocation: `cargo test --locked` \
                     (or `cargo test --test api --test zz_logs_hold_no_phi`)";

/// The log's lines (numbered from 1), its header checked: written by the API suite
/// of this very `cargo test`.
fn this_runs_log(log: &str) -> Vec<(usize, &str)> {
    let mut lines = log.lines().enumerate().map(|(n, line)| (n + 1, line));
    let (_, first) = lines
        .next()
        .unwrap_or_else(|| panic!("{} is empty; {RERUN}", run::LOG_FILE));
    let header: Value = serde_json::from_str(first).unwrap_or(Value::Null);
    let written_under = header[run::HEADER_KEY]["cargo"].as_str().unwrap_or("no header");
    let this_run = run::cargo_invocation();
    assert_eq!(
        written_under,
        this_run,
        "{} was written by another cargo run than this one; {RERUN}",
        run::LOG_FILE
    );
    lines.collect()
}

/// `line` without the numbers the server measures itself — the time the subscriber
/// stamped on it and a request's duration: not data, and their digits can spell any
/// number (a seeded identifier `123457` once matched `13:00:38.123457Z`).
fn without_timestamp(line: &str) -> String {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(mut event)) => {
            event.remove("timestamp");
            if let Some(Value::Object(fields)) = event.get_mut("fields") {
                fields.remove("elapsed_ms");
            }
            Value::Object(event).to_string()
        }
        _ => line.to_owned(),
    }
}

#[test]
fn the_api_suites_server_logs_hold_no_seeded_phi() {
    let log = std::fs::read_to_string(run::LOG_FILE)
        .unwrap_or_else(|e| panic!("no server log at {} ({e}); {RERUN}", run::LOG_FILE));
    let lines = this_runs_log(&log);

    // The canary test ran in this API run, and its requests were logged.
    let marker = format!("\"target\":\"{}\"", canary::MARKER_TARGET);
    let canary_ids: Vec<String> = lines
        .iter()
        .filter(|(_, line)| line.contains(&marker))
        .filter_map(|(_, line)| {
            let event: Value = serde_json::from_str(line).ok()?;
            event["fields"]["request_id"].as_str().map(str::to_owned)
        })
        .collect();
    assert!(
        !canary_ids.is_empty(),
        "the canary test (tests/api/phi_canary.rs) did not finish in this API run, so the check would \
         prove nothing; run the API suite unfiltered"
    );
    for id in &canary_ids {
        assert!(
            id.starts_with(canary::REQUEST_ID_PREFIX),
            "a canary request id: {id}"
        );
        let logged = lines
            .iter()
            .filter(|(_, line)| line.contains(id.as_str()))
            .count();
        assert!(logged > 1, "the canary's requests ({id}) are not in the log");
    }

    let mut needles = values::seeded();
    needles.extend(
        canary::VALUES
            .iter()
            .filter_map(|(what, value)| scan::Needle::new(format!("the canary's {what} ({value})"), value)),
    );
    assert!(
        needles.len() > 100,
        "the seeded values were found: {}",
        needles.len()
    );
    let searched: Vec<(usize, String)> = lines
        .iter()
        .map(|(number, line)| (*number, without_timestamp(line)))
        .collect();
    let found = scan::search(
        searched.iter().map(|(number, line)| (*number, line.as_str())),
        &needles,
    );
    // One entry per value: where it was seeded, how many lines hold it, the first.
    let mut by_value: Vec<(&str, usize, &scan::Finding)> = Vec::new();
    for finding in &found {
        match by_value
            .iter_mut()
            .find(|(what, _, _)| *what == finding.needle.what)
        {
            Some((_, count, _)) => *count += 1,
            None => by_value.push((&finding.needle.what, 1, finding)),
        }
    }
    let report: Vec<String> = by_value
        .iter()
        .map(|(what, count, first)| {
            let excerpt: String = first.line.chars().take(400).collect();
            format!(
                "  {what}: {count} lines, the first ({}):\n    {excerpt}",
                first.line_number
            )
        })
        .collect();
    assert!(
        found.is_empty(),
        "{} log lines of {} hold PHI; log the record's id, never its contents, at the site \
         that wrote them:\n{}",
        found.len(),
        run::LOG_FILE,
        report.join("\n")
    );
}

/// The search itself finds what it must and nothing it must not, so that an empty
/// result above means clean logs, not a blind search.
#[test]
fn the_search_finds_values_however_they_are_written() {
    let needles: Vec<scan::Needle> = [
        ("name", "Doeson"),
        ("birth date", "1980-02-29"),
        ("id", "P100234"),
    ]
    .iter()
    .filter_map(|(what, value)| scan::Needle::new(*what, value))
    .collect();
    assert_eq!(needles.len(), 3);
    let lines = [
        r#"{"fields":{"message":"PID|1||X^^^HOSP^MR||DOESON^JANE"}}"#,
        r#"{"fields":{"birth":"1980-02-29T00:00:00"}}"#,
        r#"{"fields":{"message":"request","route":"/fhir/{type}/{id}","peer":"127.0.0.1:61002"}}"#,
        r#"{"fields":{"id":"p100234"}}"#,
        r#"{"fields":{"id":"XP100234","name":"Doesonling","date":"19800229"}}"#,
    ];
    let found: Vec<(usize, &str)> = scan::search(lines.iter().copied().enumerate(), &needles)
        .iter()
        .map(|finding| (finding.line_number, finding.needle.what.as_str()))
        .collect();
    assert_eq!(found, [(0, "name"), (1, "birth date"), (3, "id")]);
    // Too slight to search for: a port-like number, a word of three letters.
    assert!(scan::Needle::new("port", "61002").is_none());
    assert!(scan::Needle::new("surname", "Lam").is_none());
}
