//! The party an NM1 segment names: a patient, an insured, a provider, a payer. The
//! same layout serves every transaction set that reads one, and the answers that
//! echo a party back as it was sent (a 271 repeats the 270's names).

use crate::x12::error::ReadError;
use crate::x12::segment::Segment;
use crate::x12::writer::{TransactionWriter, WriteError};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntityName {
    /// NM101, the entity identifier code: QC patient, IL insured or subscriber,
    /// 03 dependent, 82 rendering provider, 85 billing provider, PR payer…
    pub entity: String,
    /// NM102 is 1 (a person) rather than 2 (an organisation).
    pub is_person: bool,
    /// NM103: a person's last name, or an organisation's name. Empty when not sent.
    pub name: String,
    /// NM104.
    pub first: Option<String>,
    /// NM105.
    pub middle: Option<String>,
    /// NM108: MI member id, XX NPI, PI payer id, FI tax id, HN Medicare number…
    pub id_qualifier: Option<String>,
    /// NM109.
    pub id: Option<String>,
}

impl EntityName {
    pub fn from_nm1(segment: &Segment<'_>) -> Result<EntityName, ReadError> {
        let [entity, kind, name, first, middle, _prefix, _suffix, id_qualifier, id] = segment.values::<9>();
        if entity.is_empty() {
            return Err(segment.element_error(1, crate::x12::error::Problem::Missing));
        }
        let owned = |value: &str| Some(value.to_string()).filter(|v| !v.is_empty());
        Ok(EntityName {
            entity: entity.to_string(),
            is_person: kind == "1",
            name: name.to_string(),
            first: owned(first),
            middle: owned(middle),
            id_qualifier: owned(id_qualifier),
            id: owned(id),
        })
    }

    /// Writes the party as an NM1, as it was read (NM106/NM107, prefix and suffix,
    /// are not kept and stay empty).
    pub fn write(&self, transaction: &mut TransactionWriter<'_>) -> Result<(), WriteError> {
        transaction
            .segment("NM1")
            .element(&self.entity)
            .element(if self.is_person { "1" } else { "2" })
            .element(&self.name)
            .optional(self.first.as_deref())
            .optional(self.middle.as_deref())
            .element("")
            .element("")
            .optional(self.id_qualifier.as_deref())
            .optional(self.id.as_deref())
            .finish()
    }
}
