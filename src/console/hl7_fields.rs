//! HL7 v2 segments and fields by name, for the message view: a stored message is
//! split into its segments and fields (the separators its MSH declares), each
//! field labelled from a table of the standard's element names shipped as data
//! (`hl7-fields.tsv`, whose header says where the names come from).

use std::collections::HashMap;
use std::sync::LazyLock;

const TABLE: &str = include_str!("hl7-fields.tsv");

struct Segment {
    name: &'static str,
    fields: Vec<&'static str>,
}

static SEGMENTS: LazyLock<HashMap<&'static str, Segment>> = LazyLock::new(|| {
    let mut segments = HashMap::new();
    let mut current: Option<(&str, Segment)> = None;
    for line in TABLE
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
    {
        let (first, name) = line.split_once('\t').unwrap_or((line, ""));
        if first.parse::<usize>().is_ok() {
            if let Some((_, segment)) = current.as_mut() {
                segment.fields.push(name);
            }
        } else {
            segments.extend(current.take());
            current = Some((
                first,
                Segment {
                    name,
                    fields: Vec::new(),
                },
            ));
        }
    }
    segments.extend(current);
    segments
});

/// One field of a segment: `PID-5`, its name when the table has it, its value.
#[derive(Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub position: String,
    pub name: Option<&'static str>,
    pub value: &'a str,
}

/// A segment of a message, split into its fields (empty ones left out).
#[derive(Debug, PartialEq, Eq)]
pub struct NamedSegment<'a> {
    pub id: &'a str,
    pub name: Option<&'static str>,
    pub fields: Vec<Field<'a>>,
}

/// The message's segments, split by the field separator its MSH declares (`|`
/// when it has none). MSH-1 is the separator itself, so MSH's fields count from
/// one before the others'.
pub fn segments(raw: &str) -> Vec<NamedSegment<'_>> {
    let separator = raw
        .strip_prefix("MSH")
        .and_then(|rest| rest.chars().next())
        .unwrap_or('|');
    raw.split(['\r', '\n'])
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut parts = line.split(separator);
            let id = parts.next().unwrap_or_default();
            let table = SEGMENTS.get(id);
            let name_of =
                |position: usize| table.and_then(|segment| segment.fields.get(position - 1).copied());
            let is_msh = id == "MSH";
            let mut fields = Vec::new();
            if is_msh {
                fields.push(Field {
                    position: "MSH-1".into(),
                    name: name_of(1),
                    value: line.get(3..3 + separator.len_utf8()).unwrap_or_default(),
                });
            }
            for (index, value) in parts.enumerate() {
                let position = if is_msh { index + 2 } else { index + 1 };
                if !value.is_empty() {
                    fields.push(Field {
                        position: format!("{id}-{position}"),
                        name: name_of(position),
                        value,
                    });
                }
            }
            NamedSegment {
                id,
                name: table.map(|segment| segment.name),
                fields,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_every_field_of_its_segments() {
        let counts: Vec<(&str, usize)> = [
            "MSH", "EVN", "PID", "PV1", "PV2", "IN1", "IN2", "FT1", "DG1", "MSA", "ERR",
        ]
        .into_iter()
        .map(|id| (id, SEGMENTS[id].fields.len()))
        .collect();
        assert_eq!(
            counts,
            vec![
                ("MSH", 21),
                ("EVN", 7),
                ("PID", 39),
                ("PV1", 52),
                ("PV2", 49),
                ("IN1", 53),
                ("IN2", 72),
                ("FT1", 31),
                ("DG1", 21),
                ("MSA", 6),
                ("ERR", 12)
            ]
        );
        assert_eq!(SEGMENTS["PID"].name, "Patient Identification");
    }

    #[test]
    fn fields_are_numbered_as_the_standard_numbers_them() {
        let raw =
            "MSH|^~\\&|EPIC|HOSP|CB|CB|20261126||ADT^A01|MSG1|P|2.5.1\rPID|1||123^^^MRN||DOE^JANE\rZZZ|x";
        let segments = segments(raw);
        let msh = &segments[0];
        assert_eq!(msh.name, Some("Message Header"));
        assert_eq!(
            (msh.fields[0].position.as_str(), msh.fields[0].value),
            ("MSH-1", "|")
        );
        assert_eq!(msh.fields[1].name, Some("Encoding Characters"));
        let message_type = msh.fields.iter().find(|f| f.position == "MSH-9").unwrap();
        assert_eq!(
            (message_type.name, message_type.value),
            (Some("Message Type"), "ADT^A01")
        );
        let pid = &segments[1];
        let name = pid.fields.iter().find(|f| f.position == "PID-5").unwrap();
        assert_eq!((name.name, name.value), (Some("Patient Name"), "DOE^JANE"));
        assert!(
            pid.fields.iter().all(|f| f.position != "PID-2"),
            "empty fields left out"
        );
        // A segment the table does not know is shown by position alone.
        assert_eq!(segments[2].name, None);
        assert_eq!(segments[2].fields[0].name, None);
    }
}
