//! The party an NM1 segment names: a patient, an insured, a provider, a payer. The
//! same layout serves every transaction set that reads one.

use crate::x12::error::ReadError;
use crate::x12::segment::Segment;

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
}
