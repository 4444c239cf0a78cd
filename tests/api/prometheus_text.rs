//! The Prometheus text exposition format (version 0.0.4), read as a scraper reads
//! it: `# TYPE` lines give each family's type, every other non-comment line is one
//! sample, `name{label="value",…} value`, with `\\`, `\"` and `\n` escaped in
//! label values. A line that does not parse fails the test: the format is part of
//! what is tested. Shared by the API tests and `tests/cli.rs`.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    /// Family name → `counter`, `gauge`, `histogram`, …
    pub types: HashMap<String, String>,
}

pub fn parse(text: &str) -> Exposition {
    let mut exposition = Exposition::default();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE") {
                let (Some(name), Some(kind), None) = (words.next(), words.next(), words.next()) else {
                    panic!("line {}: a malformed TYPE line: {line:?}", number + 1);
                };
                let previous = exposition.types.insert(name.to_owned(), kind.to_owned());
                assert!(previous.is_none(), "line {}: {name} typed twice", number + 1);
            }
            continue;
        }
        let sample = sample(line).unwrap_or_else(|why| panic!("line {}: {why}: {line:?}", number + 1));
        exposition.samples.push(sample);
    }
    exposition
}

fn sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err(format!("metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (label, after) = rest.split_once("=\"").ok_or("a label without =\"")?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next().ok_or("an unterminated label value")? {
                    (_, '\\') => match chars.next().ok_or("a dangling escape")?.1 {
                        'n' => value.push('\n'),
                        escaped @ ('\\' | '"') => value.push(escaped),
                        other => return Err(format!("escape \\{other}")),
                    },
                    (at, '"') => break at,
                    (_, c) => value.push(c),
                }
            };
            if labels.insert(label.to_owned(), value).is_some() {
                return Err(format!("label {label} twice"));
            }
            rest = &after[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        number => number.parse().map_err(|e| format!("value {number:?}: {e}"))?,
    };
    // An optional timestamp (milliseconds), then nothing.
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|e| format!("timestamp {timestamp:?}: {e}"))?;
    }
    if fields.next().is_some() {
        return Err("text after the timestamp".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

impl Exposition {
    /// The samples of `name` whose labels include every one of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> {
        self.samples.iter().filter(move |sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(label, value)| sample.labels.get(*label).map(String::as_str) == Some(*value))
        })
    }

    /// The one sample of `name` with exactly `labels`, if served.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<&Sample> = self
            .matching(name, labels)
            .filter(|sample| sample.labels.len() == labels.len())
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?} served {} times", found.len());
        found.first().map(|sample| sample.value)
    }

    /// The sum of the samples of `name` whose labels include `labels` (0 when none).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|sample| sample.value).sum()
    }

    pub fn family_type(&self, family: &str) -> Option<&str> {
        self.types.get(family).map(String::as_str)
    }

    /// Every label value served, with the sample it is on.
    pub fn label_values(&self) -> impl Iterator<Item = (&Sample, &str)> {
        self.samples
            .iter()
            .flat_map(|sample| sample.labels.values().map(move |value| (sample, value.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_labels_escapes_and_types_are_read() {
        let text = "# HELP a_total A counter.\n# TYPE a_total counter\n\
                    a_total{route=\"/fhir/{type}\",note=\"say \\\"hi\\\"\\\\\\n\"} 3\n\
                    b_bucket{le=\"+Inf\"} 7 1700000000000\nc NaN\n";
        let parsed = parse(text);
        assert_eq!(parsed.family_type("a_total"), Some("counter"));
        assert_eq!(parsed.samples.len(), 3);
        assert_eq!(parsed.samples[0].labels["route"], "/fhir/{type}");
        assert_eq!(parsed.samples[0].labels["note"], "say \"hi\"\\\n");
        assert_eq!(parsed.value("b_bucket", &[("le", "+Inf")]), Some(7.0));
        assert!(parsed.samples[2].value.is_nan());
    }

    #[test]
    #[should_panic(expected = "unterminated")]
    fn a_broken_line_fails() {
        parse("a{x=\"open} 1\n");
    }
}
