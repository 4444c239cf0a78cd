//! The 270 the server wrote, read into what Availity's Coverages form asks for:
//! payer (NM1*PR), provider (NM1*1P with its NPI), subscriber (NM1*IL with the
//! member id, DMG), the dependent when the inquiry is about one (HL 23, NM1*03),
//! the date asked about (DTP*291) and the service types (EQ01, repeating).

use chrono::NaiveDate;
use claimbridge_plugin_sdk::PluginError;

use crate::x12::{self, Segment};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    /// NM102: 1 person, 2 organization.
    pub entity_type: String,
    /// Last or organization name.
    pub last_name: String,
    pub first_name: String,
    /// NM109: NPI, payer id or member id.
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    pub name: Party,
    pub birth_date: Option<NaiveDate>,
    /// DMG03: F, M, U.
    pub gender: String,
    /// TRN*1 segments as sent (TRN02, TRN03), echoed as TRN*2 in the 271.
    pub traces: Vec<(String, String)>,
    /// INS02 for a dependent (01 spouse, 19 child…).
    pub relationship: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inquiry {
    /// ISA06 and ISA08, trimmed: the 271 goes back the other way.
    pub sender_id: String,
    pub receiver_id: String,
    /// BHT03.
    pub reference: String,
    pub payer: Party,
    pub provider: Party,
    pub subscriber: Member,
    pub dependent: Option<Member>,
    pub as_of: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    pub service_types: Vec<String>,
}

/// Reads the 270; one that names no payer or no subscriber is final (the server
/// wrote something this plugin cannot send).
pub fn read_270(text: &str) -> Result<Inquiry, PluginError> {
    let segments = x12::segments(text).map_err(PluginError::rejected)?;
    let mut inquiry = Inquiry::default();
    let mut level = String::new();
    for segment in &segments {
        match segment.id.as_str() {
            "ISA" => {
                inquiry.sender_id = segment.element(6).trim().to_owned();
                inquiry.receiver_id = segment.element(8).trim().to_owned();
            }
            "BHT" => inquiry.reference = segment.element(3).to_owned(),
            "HL" => {
                level = segment.element(3).to_owned();
                if level == "23" {
                    inquiry.dependent = Some(Member::default());
                }
            }
            "NM1" => match (level.as_str(), segment.element(1)) {
                ("20", _) => inquiry.payer = party(segment),
                ("21", _) => inquiry.provider = party(segment),
                ("22", "IL") => inquiry.subscriber.name = party(segment),
                ("23", "03") => member(&mut inquiry, &level).name = party(segment),
                _ => {}
            },
            "TRN" => member(&mut inquiry, &level)
                .traces
                .push((segment.element(2).to_owned(), segment.element(3).to_owned())),
            "DMG" => {
                let member = member(&mut inquiry, &level);
                member.birth_date = x12::date(segment.element(2));
                member.gender = segment.element(3).to_owned();
            }
            "INS" if level == "23" => {
                member(&mut inquiry, &level).relationship = segment.value(2).map(str::to_owned)
            }
            "DTP" if segment.element(1) == "291" => {
                let value = segment.element(3);
                let (from, to) = value.split_once('-').unwrap_or((value, value));
                inquiry.as_of = x12::date(from);
                inquiry.to_date = x12::date(to).filter(|_| segment.element(2) == "RD8");
            }
            "EQ" => inquiry
                .service_types
                .extend(segment.repetitions(1).map(str::to_owned)),
            _ => {}
        }
    }
    if inquiry.payer.id.is_empty() {
        return Err(PluginError::rejected("the 270 names no payer id (NM1*PR NM109)"));
    }
    if inquiry.subscriber.name.id.is_empty() {
        return Err(PluginError::rejected("the 270 names no member id (NM1*IL NM109)"));
    }
    Ok(inquiry)
}

fn party(segment: &Segment) -> Party {
    Party {
        entity_type: segment.element(2).to_owned(),
        last_name: segment.element(3).to_owned(),
        first_name: segment.element(4).to_owned(),
        id: segment.element(9).to_owned(),
    }
}

/// The member whose loop `level` is (the dependent in HL 23, else the subscriber).
fn member<'a>(inquiry: &'a mut Inquiry, level: &str) -> &'a mut Member {
    match (level, &mut inquiry.dependent) {
        ("23", Some(dependent)) => dependent,
        _ => &mut inquiry.subscriber,
    }
}

impl Inquiry {
    /// The patient asked about: the dependent when there is one.
    pub fn patient(&self) -> &Member {
        self.dependent.as_ref().unwrap_or(&self.subscriber)
    }

    /// The `POST /coverages` form (Swagger `formData`; Availity refuses JSON with
    /// 415). Dates are ISO (`yyyy-MM-dd`).
    pub fn form(&self) -> Vec<(&'static str, String)> {
        let patient = self.patient();
        let mut form = vec![
            ("payerId", self.payer.id.clone()),
            ("providerNpi", self.provider.id.clone()),
            ("providerLastName", self.provider.last_name.clone()),
            ("memberId", self.subscriber.name.id.clone()),
            ("patientLastName", patient.name.last_name.clone()),
            ("patientFirstName", patient.name.first_name.clone()),
        ];
        if self.provider.entity_type == "1" && !self.provider.first_name.is_empty() {
            form.push(("providerFirstName", self.provider.first_name.clone()));
        }
        if let Some(birth_date) = patient.birth_date {
            form.push(("patientBirthDate", birth_date.to_string()));
        }
        if !patient.gender.is_empty() {
            form.push(("patientGender", patient.gender.clone()));
        }
        let relationship = match &self.dependent {
            None => "18".to_owned(),
            Some(dependent) => dependent.relationship.clone().unwrap_or_else(|| "G8".into()),
        };
        form.push(("subscriberRelationship", relationship));
        if let Some(as_of) = self.as_of {
            form.push(("asOfDate", as_of.to_string()));
        }
        if let Some(to_date) = self.to_date {
            form.push(("toDate", to_date.to_string()));
        }
        for service_type in &self.service_types {
            form.push(("serviceType", service_type.clone()));
        }
        form
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A synthetic 270 for a dependent, as the server writes it.
    pub const DEPENDENT_270: &str = "ISA*00*          *00*          *ZZ*CLAIMBRIDGE    *ZZ*AVAILITY       *260302*1405*^*00501*000000011*0*T*:~\n\
GS*HS*CLAIMBRIDGE*AVAILITY*20260302*1405*11*X*005010X279A1~\n\
ST*270*0001*005010X279A1~\n\
BHT*0022*13*CB-ELIG-11*20260302*1405~\n\
HL*1**20*1~\nNM1*PR*2*SIMULATED HEALTH PLAN*****PI*SIM001~\n\
HL*2*1*21*1~\nNM1*1P*2*SYNTHETIC CLINIC*****XX*1234567893~\n\
HL*3*2*22*1~\nNM1*IL*1*TESTPERSON*ALEX****MI*SYN100200~\n\
HL*4*3*23*0~\nTRN*1*CB-TRACE-11*9CLAIMBRDG~\nNM1*03*1*TESTPERSON*JORDAN~\nINS*N*19~\nDMG*D8*20150607*F~\n\
DTP*291*D8*20260302~\nEQ*30^98~\nSE*16*0001~\nGE*1*11~\nIEA*1*000000011~\n";

    #[test]
    fn a_dependent_inquiry_asks_about_the_dependent_under_the_subscribers_member_id() {
        let inquiry = read_270(DEPENDENT_270).unwrap();
        assert_eq!(inquiry.sender_id, "CLAIMBRIDGE");
        let form = inquiry.form();
        let field = |name: &str| {
            form.iter()
                .filter(|(key, _)| *key == name)
                .map(|(_, value)| value.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(field("payerId"), ["SIM001"]);
        assert_eq!(field("memberId"), ["SYN100200"]);
        assert_eq!(field("patientFirstName"), ["JORDAN"]);
        assert_eq!(field("patientBirthDate"), ["2015-06-07"]);
        assert_eq!(field("subscriberRelationship"), ["19"]);
        assert_eq!(field("serviceType"), ["30", "98"]);
        assert_eq!(field("asOfDate"), ["2026-03-02"]);
        assert_eq!(inquiry.dependent.unwrap().traces[0].0, "CB-TRACE-11");
    }

    #[test]
    fn an_inquiry_without_a_member_id_is_final() {
        let text = DEPENDENT_270.replace("MI*SYN100200", "MI*");
        assert_eq!(
            read_270(&text).unwrap_err().class(),
            claimbridge_plugin_sdk::ErrorClass::Final
        );
    }
}
