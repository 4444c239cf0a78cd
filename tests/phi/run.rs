//! Where the API suite's server logs go, and which `cargo test` run wrote them.
//!
//! The api test binary writes every log line of its in-process servers to one file
//! (truncated when the binary starts its first server), headed by a line naming
//! the `cargo` process that ran it. `tests/zz_logs_hold_no_phi.rs` reads the file
//! after the whole API suite: cargo runs a package's integration test binaries one
//! after another in the order of their names (`compile_tests` sorts the compiled
//! units: by package, then target kind, then target name), so `zz_…` runs after
//! `api`, in the same `cargo` process. The header lets it refuse a log left by an
//! earlier run, or by none.

/// The log file: JSON, one object per line, under the target directory.
pub const LOG_FILE: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/api-server-logs.jsonl");

/// The key of the first line's object, which names the run.
pub const HEADER_KEY: &str = "api_server_log";

/// The `cargo` process that runs this test binary: its process id and, where
/// `/proc` tells it, its start time (clock ticks after boot), so that a process id
/// reused later does not pass for the same run.
pub fn cargo_invocation() -> String {
    let parent = std::os::unix::process::parent_id();
    let started = std::fs::read_to_string(format!("/proc/{parent}/stat"))
        .ok()
        .and_then(|stat| {
            // Field 22 (starttime), counted after the command name in parentheses.
            let (_, rest) = stat.rsplit_once(')')?;
            rest.split_whitespace().nth(19).map(str::to_owned)
        })
        .unwrap_or_else(|| "?".to_owned());
    format!("pid {parent} started {started}")
}
