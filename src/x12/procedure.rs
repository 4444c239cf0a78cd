//! A procedure composite as payers send it back (SVC01 of the 835 and the 277): a
//! code list qualifier — HC (CPT/HCPCS), AD (ADA), NU (revenue), N4 (NDC) — then
//! the code and up to four modifiers.

use crate::x12::error::{Problem, ReadError};
use crate::x12::segment::Segment;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    pub qualifier: String,
    pub code: String,
    pub modifiers: Vec<String>,
}

/// Reads the procedure composite in element `n` of `segment`.
///
/// Some senders write the composite with `>` — the component separator most of
/// them declare — even when their ISA16 says otherwise (the TR3-derived
/// `secondary-payment.835` sample writes `HC>12345>26` under ISA16 `:`). When the
/// declared separator finds a single component and the value contains `>`, the
/// value is split on `>` (and the fault noted): a procedure code never contains
/// one, so a well-formed composite can never be misread this way.
pub fn procedure(
    segment: &Segment<'_>,
    n: usize,
    problems: &mut Vec<ReadError>,
) -> Result<Procedure, ReadError> {
    let text = segment.required(n)?;
    let element = segment
        .element(n)
        .ok_or_else(|| segment.element_error(n, Problem::Missing))?;
    let single_component = element.components().nth(1).is_none();
    let procedure = if single_component && text.contains('>') {
        problems.push(segment.element_error(n, Problem::UndeclaredComponentSeparator(text.to_string())));
        procedure_from(text.split('>'))
    } else {
        procedure_from(element.components())
    };
    if procedure.qualifier.is_empty() {
        return Err(segment.located_error(n, Some(1), Problem::Missing));
    }
    if procedure.code.is_empty() {
        return Err(segment.located_error(n, Some(2), Problem::Missing));
    }
    Ok(procedure)
}

fn procedure_from<'a>(mut components: impl Iterator<Item = &'a str>) -> Procedure {
    let qualifier = components.next().unwrap_or("").to_string();
    let code = components.next().unwrap_or("").to_string();
    let modifiers = components
        .take(4)
        .filter(|modifier| !modifier.is_empty())
        .map(str::to_string)
        .collect();
    Procedure {
        qualifier,
        code,
        modifiers,
    }
}
