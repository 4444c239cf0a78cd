//! How billing's people, providers and addresses become NM1, N3, N4 and DMG
//! segments: the parts the 837P and 270 writers share.

use chrono::NaiveDate;

use crate::billing::claim::{Address, Person, Provider};
use crate::x12::writer::{SegmentBuilder, TransactionWriter, WriteError};

/// NM104 and NM105: the first given name, and the second as middle name.
fn first_and_middle(person: &Person) -> (&str, &str) {
    let given = |index: usize| person.given.get(index).map_or("", String::as_str);
    (given(0), given(1))
}

/// DMG03 from FHIR administrative gender: F, M, or U for other, unknown or absent.
pub fn gender_code(gender: Option<&str>) -> &'static str {
    match gender {
        Some("female") => "F",
        Some("male") => "M",
        _ => "U",
    }
}

/// NM102: 1 a person, 2 an organisation.
pub fn entity_type(provider: &Provider) -> &'static str {
    if provider.is_person {
        "1"
    } else {
        "2"
    }
}

/// NM103–NM105 of a provider: a person's family and given name, or the
/// organisation's name.
pub fn provider_name<'w>(segment: SegmentBuilder<'w>, provider: &Provider) -> SegmentBuilder<'w> {
    segment
        .element(&provider.name)
        .element(
            provider
                .given
                .as_deref()
                .filter(|_| provider.is_person)
                .unwrap_or(""),
        )
        .element("")
}

/// NM103–NM105 of a person.
pub fn person_name<'w>(segment: SegmentBuilder<'w>, person: &Person) -> SegmentBuilder<'w> {
    let (first, middle) = first_and_middle(person);
    segment.element(&person.family).element(first).element(middle)
}

/// N3 and N4. Address lines beyond the second go into N302 after it: N3 has two
/// elements, and dropping a line would misdirect mail.
pub fn write_address(transaction: &mut TransactionWriter<'_>, address: &Address) -> Result<(), WriteError> {
    let first = address.lines.first().map_or("", String::as_str);
    let rest = address.lines.get(1..).unwrap_or_default().join(" ");
    transaction.segment("N3").element(first).element(&rest).finish()?;
    transaction
        .segment("N4")
        .element(&address.city)
        .element(&address.state)
        .element(&address.postal_code)
        .finish()
}

/// DMG with the birth date (D8) and gender.
pub fn write_demographics(
    transaction: &mut TransactionWriter<'_>,
    birth_date: NaiveDate,
    gender: Option<&str>,
) -> Result<(), WriteError> {
    transaction
        .segment("DMG")
        .element("D8")
        .date(birth_date)
        .element(gender_code(gender))
        .finish()
}

/// An address is usable when it has a street line, city, state and postal code.
pub fn is_complete(address: &Address) -> bool {
    address.lines.first().is_some_and(|line| !line.is_empty())
        && !address.city.is_empty()
        && !address.state.is_empty()
        && !address.postal_code.is_empty()
}
