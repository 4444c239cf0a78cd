//! X12 5010: the EDI documents exchanged with clearinghouses and payers.
//!
//! Reading is built on one zero-copy tokenizer ([`segment::Segments`]) over the
//! interchange text, using the delimiters the ISA declares; each transaction set has
//! a small reader that walks the segments once and builds typed values (amounts are
//! `Decimal`, dates `NaiveDate`). Writing goes through one writer
//! ([`writer::InterchangeWriter`]) that computes every count and control number, so
//! the document writers (837P, 270, 271) only say which segments to write.
//!
//! | Module | Guide | Direction |
//! |---|---|---|
//! | [`claim_837p`] | 005010X222A1 professional claim | write |
//! | [`remittance`] | 005010X221A1 835 payment/advice | read, balance |
//! | [`claim_status`] | 005010X214 277CA and 005010X212 277 | read |
//! | [`implementation_ack`] | 005010X231A1 999 | read |
//! | [`eligibility_inquiry`] | 005010X279A1 270 | write, read |
//! | [`eligibility_response`] | 005010X279A1 271 | read, write (answers to a 270) |

pub mod claim_837p;
pub mod claim_status;
pub mod delimiters;
pub mod eligibility_inquiry;
pub mod eligibility_response;
pub mod entity;
pub mod envelope;
pub mod error;
pub mod implementation_ack;
mod people;
pub mod procedure;
pub mod remittance;
pub mod segment;
pub mod transaction;
pub mod values;
pub mod writer;

pub use delimiters::Delimiters;
pub use envelope::{check_envelope, InterchangeSummary};
pub use error::{Location, Problem, ReadError};
pub use segment::{Element, Segment, Segments};
pub use writer::{ControlNumbers, EnvelopeConfig, InterchangeParty, InterchangeWriter, Usage, WriteError};

pub use claim_837p::write_837p;
pub use claim_status::read_277;
pub use eligibility_inquiry::{read_270, write_270};
pub use eligibility_response::{read_271, write_271};
pub use implementation_ack::read_999;
pub use remittance::read_835;

#[cfg(test)]
pub(crate) mod test_fixtures {
    //! The sample files in `tests/fixtures/x12` (provenance in its SOURCES.md).

    use std::path::PathBuf;

    fn directory() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/x12")
    }

    pub fn fixture(name: &str) -> String {
        let path = directory().join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Every X12 file in the fixtures, sorted.
    pub fn fixture_names() -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(directory())
            .expect("tests/fixtures/x12")
            .map(|entry| {
                entry
                    .expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name != "SOURCES.md")
            .collect();
        names.sort();
        names
    }

    /// The fixtures whose name starts with `prefix` ("835_", "271_"…).
    pub fn fixtures_starting(prefix: &str) -> Vec<String> {
        fixture_names()
            .into_iter()
            .filter(|name| name.starts_with(prefix))
            .collect()
    }
}
