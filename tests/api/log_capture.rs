//! Every log line of every server this test binary starts, kept in one file for the
//! PHI check that runs after the suite (tests/zz_logs_hold_no_phi.rs).
//!
//! The servers log through the library's own subscriber set-up, in JSON as in
//! production, with the claimbridge crates at `debug` and everything else at the
//! production default (`info`): more than an operator sees by default, so that a
//! debug line cannot hide PHI either.

use std::io::Write;
use std::sync::{Mutex, Once};

use claimbridge::config::LogFormat;
use tracing_subscriber::EnvFilter;

#[path = "../phi/run.rs"]
pub mod run;

/// The server's crates and its plugins', at `debug`.
const FILTER: &str = "info,claimbridge=debug,claimbridge_plugin_sdk=debug,\
                      claimbridge_plugin_claimmd=debug,claimbridge_plugin_availity=debug,\
                      claimbridge_plugin_stripe=debug,claimbridge_simulator_kit=debug";

/// Opens the log file (emptied) and installs the subscriber, once per process,
/// before the first server starts.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let path = std::path::Path::new(run::LOG_FILE);
        std::fs::create_dir_all(path.parent().expect("a directory")).expect("the log directory");
        let mut file = std::fs::File::create(path).expect("the log file");
        let header = serde_json::json!({
            run::HEADER_KEY: {
                "cargo": run::cargo_invocation(),
                "pid": std::process::id(),
                "started": chrono::Utc::now().to_rfc3339(),
                "args": std::env::args().skip(1).collect::<Vec<_>>(),
            }
        });
        writeln!(file, "{header}").expect("the log header");
        // Unbuffered: each line is one write, whole when the process ends however
        // it ends.
        let installed = claimbridge::observability::init_logging_to(
            LogFormat::Json,
            EnvFilter::new(FILTER),
            Mutex::new(file),
        );
        assert!(installed, "nothing else installs a subscriber in the API tests");
    });
}
