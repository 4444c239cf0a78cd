//! The loop every reader shares: walk the interchange, hand each transaction set's
//! segments (ST to SE) to a reader for that set, skip the ISA/GS/GE/IEA envelope.
//! Envelope counts are not checked here — [`crate::x12::envelope::check_envelope`]
//! does that — so a file with a wrong SE01 can still be read and reported on.

use crate::x12::error::{Problem, ReadError};
use crate::x12::segment::{Segment, Segments};

/// The ST of a transaction set being read.
#[derive(Debug, Clone, Copy)]
pub struct TransactionHeader<'a> {
    /// ST02.
    pub control_number: &'a str,
    /// ST03, or GS08 when ST03 is absent (it is optional in the X12 standard).
    pub implementation: &'a str,
    pub segment: Segment<'a>,
}

/// Reads one kind of transaction set, one segment at a time.
pub trait TransactionReader<'a>: Sized {
    type Output;

    /// ST01 this reader accepts (`"835"`).
    const SET_ID: &'static str;

    fn start(header: &TransactionHeader<'a>) -> Self;

    /// A segment between ST and SE.
    fn segment(&mut self, segment: &Segment<'a>) -> Result<(), ReadError>;

    /// The SE ends the set.
    fn finish(self, trailer: &Segment<'a>) -> Result<Self::Output, ReadError>;
}

/// Every transaction set of the interchange in `text`, read by `R`. A set of
/// another type is an error: a caller expecting remittances must not silently get
/// nothing from a claim file.
pub fn read_transactions<'a, R: TransactionReader<'a>>(text: &'a str) -> Result<Vec<R::Output>, ReadError> {
    let mut read = Vec::new();
    let mut group_version = "";
    let mut open: Option<R> = None;
    for segment in Segments::new(text)? {
        let segment = segment?;
        match (segment.id, open.as_mut()) {
            ("GS", None) => group_version = segment.value(8),
            ("ST", None) => {
                let set_id = segment.required(1)?;
                if set_id != R::SET_ID {
                    return Err(segment.element_error(
                        1,
                        Problem::WrongTransactionSet {
                            found: set_id.to_string(),
                            expected: R::SET_ID,
                        },
                    ));
                }
                let header = TransactionHeader {
                    control_number: segment.required(2)?,
                    implementation: segment.optional(3).unwrap_or(group_version),
                    segment,
                };
                open = Some(R::start(&header));
            }
            ("ST", Some(_)) => return Err(segment.error(Problem::OutOfPlace("ST before the previous SE"))),
            ("SE", Some(_)) => {
                if let Some(reader) = open.take() {
                    read.push(reader.finish(&segment)?);
                }
            }
            (_, Some(reader)) => reader.segment(&segment)?,
            ("ISA" | "GE" | "IEA", None) => {}
            (_, None) => return Err(segment.error(Problem::OutOfPlace("outside a transaction set"))),
        }
    }
    if open.is_some() {
        return Err(ReadError::interchange(Problem::Unclosed(
            "a transaction set (no SE)",
        )));
    }
    Ok(read)
}
