//! Search request parameters → what to match, in what order, and what to return,
//! per http://hl7.org/fhir/R4/search.html. Every problem names the parameter; in
//! lenient mode the offending parameter is dropped and reported instead.

use crate::fhir::outcome::{FhirError, Issue};
use crate::fhir::resource_type::ResourceType;
use crate::fhir::search::cursor;
use crate::fhir::search::definitions::{ParamKind, Registry, SearchParam};
use crate::fhir::search::extract::parse_reference;
use crate::fhir::search::values::{normalize_string, DateRange, Decimal};
use crate::store::search::{
    Condition, Cursor, Filter, IndexTable, Prefix, SortField, SortKey, StringMatch, TokenSystem,
};

/// Page size when the client gives no `_count`.
pub const DEFAULT_COUNT: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalMode {
    /// Not asked: given when it costs nothing (a first page that holds every match).
    Default,
    None,
    Estimate,
    Accurate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    False,
    True,
    Count,
    Data,
    Text,
}

/// `_include` / `_revinclude`: resources of `source_type` referring through `param`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    pub source_type: ResourceType,
    pub param: String,
    pub target_type: Option<String>,
    pub iterate: bool,
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub resource_type: ResourceType,
    pub filters: Vec<Filter>,
    pub sort: Vec<SortKey>,
    pub count: usize,
    pub cursor: Option<Cursor>,
    pub total: TotalMode,
    pub summary: Summary,
    pub elements: Option<Vec<String>>,
    pub includes: Vec<Include>,
    pub revincludes: Vec<Include>,
    /// Parameters dropped in lenient mode, as warnings for the Bundle's outcome.
    pub ignored: Vec<Issue>,
    /// The accepted parameters in their original form, for paging links.
    pub link_params: Vec<(String, String)>,
}

/// What the parser needs to know of the server.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions<'a> {
    pub base_url: &'a str,
    pub max_count: usize,
    pub lenient: bool,
}

/// Parameters that only format the response; not criteria, not echoed in links.
const FORMAT_PARAMS: [&str; 2] = ["_format", "_pretty"];

impl SearchRequest {
    pub fn parse(
        resource_type: ResourceType,
        pairs: &[(String, String)],
        options: ParseOptions<'_>,
    ) -> Result<Self, FhirError> {
        let mut request = SearchRequest {
            resource_type,
            filters: Vec::new(),
            sort: Vec::new(),
            count: DEFAULT_COUNT.min(options.max_count),
            cursor: None,
            total: TotalMode::Default,
            summary: Summary::False,
            elements: None,
            includes: Vec::new(),
            revincludes: Vec::new(),
            ignored: Vec::new(),
            link_params: Vec::new(),
        };
        for (name, value) in pairs {
            if FORMAT_PARAMS.contains(&name.as_str()) {
                continue;
            }
            match request.apply(name, value, options) {
                Ok(keep_in_links) => {
                    if keep_in_links {
                        request.link_params.push((name.clone(), value.clone()));
                    }
                }
                Err(message) if options.lenient => {
                    request.ignored.push(
                        Issue::warning("not-supported", format!("{message}; ignored")).at(name.clone()),
                    );
                }
                Err(message) => return Err(FhirError::invalid_at("invalid", name.clone(), message)),
            }
        }
        Ok(request)
    }

    /// Applies one parameter; `Ok(false)` for the paging cursor, which links replace.
    fn apply(&mut self, name: &str, value: &str, options: ParseOptions<'_>) -> Result<bool, String> {
        match name {
            "_count" => {
                let count: usize = value
                    .parse()
                    .map_err(|_| format!("_count must be a non-negative integer, not {value:?}"))?;
                self.count = count.min(options.max_count);
            }
            "_cursor" => {
                self.cursor = Some(cursor::decode(value).ok_or("the paging cursor is not valid")?);
                return Ok(false);
            }
            "_sort" => self.sort = parse_sort(self.resource_type, value)?,
            "_total" => {
                self.total = match value {
                    "none" => TotalMode::None,
                    "estimate" => TotalMode::Estimate,
                    "accurate" => TotalMode::Accurate,
                    other => {
                        return Err(format!(
                            "_total must be none, estimate or accurate, not {other:?}"
                        ))
                    }
                }
            }
            "_summary" => {
                self.summary = match value {
                    "true" => Summary::True,
                    "false" => Summary::False,
                    "count" => Summary::Count,
                    "data" => Summary::Data,
                    "text" => Summary::Text,
                    other => {
                        return Err(format!(
                            "_summary must be true, false, count, data or text, not {other:?}"
                        ))
                    }
                }
            }
            "_elements" => {
                let elements: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect();
                if elements
                    .iter()
                    .any(|e| !e.chars().all(|c| c.is_ascii_alphanumeric()))
                {
                    return Err(format!("_elements lists top-level element names, not {value:?}"));
                }
                self.elements = Some(elements);
            }
            "_include" | "_include:iterate" => {
                let include = parse_include(value, name.ends_with(":iterate"))?;
                if !include.iterate && include.source_type != self.resource_type {
                    return Err(format!(
                        "_include={value} must start with the searched type {} (or use _include:iterate)",
                        self.resource_type
                    ));
                }
                self.includes.push(include);
            }
            "_revinclude" | "_revinclude:iterate" => {
                self.revincludes
                    .push(parse_include(value, name.ends_with(":iterate"))?);
            }
            _ => {
                let filter = parse_filter(self.resource_type, name, value, options.base_url, true)?;
                self.filters.push(filter);
            }
        }
        Ok(true)
    }
}

fn parse_sort(resource_type: ResourceType, value: &str) -> Result<Vec<SortKey>, String> {
    value
        .split(',')
        .map(|key| {
            let (descending, code) = match key.trim().strip_prefix('-') {
                Some(code) => (true, code),
                None => (false, key.trim()),
            };
            let field = match code {
                "_id" => SortField::Id,
                "_lastUpdated" => SortField::LastUpdated,
                _ => {
                    let param = Registry::get().param(resource_type, code).ok_or_else(|| {
                        format!("{resource_type} has no search parameter {code:?} to sort by")
                    })?;
                    let table = match param.kind {
                        ParamKind::String => IndexTable::String,
                        ParamKind::Date => IndexTable::Date,
                        ParamKind::Token => IndexTable::Token,
                        _ => {
                            return Err(format!(
                                "cannot sort by {code:?}: only date, string and token parameters sort"
                            ))
                        }
                    };
                    SortField::Param {
                        table,
                        param: param.stored_as.clone(),
                    }
                }
            };
            Ok(SortKey { field, descending })
        })
        .collect()
}

fn parse_include(value: &str, iterate: bool) -> Result<Include, String> {
    let mut parts = value.split(':');
    let (source, param) = (parts.next().unwrap_or_default(), parts.next());
    let target_type = parts.next().map(str::to_owned);
    let source_type: ResourceType = source
        .parse()
        .map_err(|_| format!("{source:?} is not a resource type this server stores"))?;
    let param = param.ok_or_else(|| format!("use Type:parameter[:targetType], not {value:?}"))?;
    Ok(Include {
        source_type,
        param: reference_param(source_type, param)?.stored_as.clone(),
        target_type,
        iterate,
    })
}

/// One criterion `name=value` on `resource_type`: a plain parameter with optional
/// modifier, a chain (`patient.identifier`) or a reverse chain (`_has:…`).
pub fn parse_filter(
    resource_type: ResourceType,
    name: &str,
    value: &str,
    base_url: &str,
    allow_chains: bool,
) -> Result<Filter, String> {
    if let Some(rest) = name.strip_prefix("_has:") {
        if !allow_chains {
            return Err("_has is supported one level deep".into());
        }
        let mut parts = rest.splitn(3, ':');
        let (source, param, inner) = (parts.next(), parts.next(), parts.next());
        let (Some(source), Some(param), Some(inner)) = (source, param, inner) else {
            return Err(format!("use _has:Type:reference:parameter=value, not {name:?}"));
        };
        let source_type: ResourceType = source
            .parse()
            .map_err(|_| format!("{source:?} is not a resource type this server stores"))?;
        return Ok(Filter::ReverseChain {
            source_type: source_type.to_string(),
            param: reference_param(source_type, param)?.stored_as.clone(),
            filters: vec![parse_filter(source_type, inner, value, base_url, false)?],
        });
    }
    if let Some((reference, inner)) = name.split_once('.') {
        if !allow_chains {
            return Err("chained parameters are supported one level deep".into());
        }
        let (code, type_modifier) = match reference.split_once(':') {
            Some((code, modifier)) => (code, Some(modifier)),
            None => (reference, None),
        };
        let param = lookup(resource_type, code)?;
        if param.kind != ParamKind::Reference {
            return Err(format!(
                "{code:?} is not a reference parameter, so it cannot be chained"
            ));
        }
        let target = chain_target(param, type_modifier)?;
        return Ok(Filter::Chain {
            param: param.stored_as.clone(),
            target_type: target.to_string(),
            filters: vec![parse_filter(target, inner, value, base_url, false)?],
        });
    }
    let (code, modifier) = match name.split_once(':') {
        Some((code, modifier)) => (code, Some(modifier)),
        None => (name, None),
    };
    if modifier == Some("missing") {
        return missing_filter(resource_type, code, value);
    }
    let values = split_values(value);
    if values.iter().any(String::is_empty) {
        return Err(format!("{name} needs a value"));
    }
    match code {
        "_id" => {
            reject_modifier(code, modifier)?;
            return Ok(Filter::Id(values));
        }
        "_lastUpdated" => {
            reject_modifier(code, modifier)?;
            let conditions = values
                .iter()
                .map(|v| date_condition(v))
                .collect::<Result<_, _>>()?;
            return Ok(Filter::LastUpdated(conditions));
        }
        _ => {}
    }
    let param = lookup(resource_type, code)?;
    // The code the parameter's rows are stored under.
    let stored = param.stored_as.as_str();
    let (table, filter_param, negate, conditions) = match param.kind {
        ParamKind::Token => {
            let (param_name, negate) = match modifier {
                None => (stored.to_owned(), false),
                Some("not") => (stored.to_owned(), true),
                Some("text") => {
                    let conditions = values.into_iter().map(Condition::TokenText).collect();
                    return Ok(index_filter(IndexTable::Token, stored, conditions));
                }
                Some("of-type") if param.paths.iter().any(|p| p.type_name == "Identifier") => {
                    (format!("{stored}:of-type"), false)
                }
                Some(other) => return Err(unsupported_modifier(code, other)),
            };
            let conditions = values
                .iter()
                .map(|v| token_condition(v, modifier == Some("of-type")))
                .collect::<Result<_, _>>()?;
            (IndexTable::Token, param_name, negate, conditions)
        }
        ParamKind::String => {
            let mode = match modifier {
                None => StringMatch::StartsWith,
                Some("exact") => StringMatch::Exact,
                Some("contains") => StringMatch::Contains,
                Some(other) => return Err(unsupported_modifier(code, other)),
            };
            let conditions = values
                .into_iter()
                .map(|v| Condition::String {
                    mode,
                    value: if mode == StringMatch::Exact {
                        v
                    } else {
                        normalize_string(&v)
                    },
                })
                .collect();
            (IndexTable::String, stored.to_owned(), false, conditions)
        }
        ParamKind::Date => {
            reject_modifier(code, modifier)?;
            let conditions = values
                .iter()
                .map(|v| date_condition(v))
                .collect::<Result<_, _>>()?;
            (IndexTable::Date, stored.to_owned(), false, conditions)
        }
        ParamKind::Number | ParamKind::Quantity => {
            reject_modifier(code, modifier)?;
            let conditions = values
                .iter()
                .map(|v| number_condition(v, param.kind == ParamKind::Quantity))
                .collect::<Result<_, _>>()?;
            (IndexTable::Quantity, stored.to_owned(), false, conditions)
        }
        ParamKind::Reference => {
            let conditions = values
                .iter()
                .map(|v| reference_condition(param, modifier, v, base_url))
                .collect::<Result<_, _>>()?;
            (IndexTable::Reference, stored.to_owned(), false, conditions)
        }
        ParamKind::Uri => {
            let below = match modifier {
                None => false,
                Some("below") => true,
                Some(other) => return Err(unsupported_modifier(code, other)),
            };
            let conditions = values
                .into_iter()
                .map(|value| Condition::Uri { value, below })
                .collect();
            (IndexTable::Uri, stored.to_owned(), false, conditions)
        }
    };
    let filter = index_filter(table, &filter_param, conditions);
    Ok(if negate {
        Filter::Not(Box::new(filter))
    } else {
        filter
    })
}

fn index_filter(table: IndexTable, param: &str, conditions: Vec<Condition>) -> Filter {
    Filter::Index {
        table,
        param: param.to_owned(),
        conditions,
    }
}

/// The reference parameter `code` of `resource_type`, as `_include`, `_revinclude`
/// and `_has` name one.
fn reference_param(resource_type: ResourceType, code: &str) -> Result<&'static SearchParam, String> {
    match Registry::get().param(resource_type, code) {
        Some(param) if param.kind == ParamKind::Reference => Ok(param),
        _ => Err(format!("{resource_type} has no reference parameter {code:?}")),
    }
}

fn lookup(resource_type: ResourceType, code: &str) -> Result<&'static SearchParam, String> {
    Registry::get()
        .param(resource_type, code)
        .ok_or_else(|| format!("{resource_type} has no search parameter {code:?}"))
}

fn missing_filter(resource_type: ResourceType, code: &str, value: &str) -> Result<Filter, String> {
    let missing = match value {
        "true" => true,
        "false" => false,
        other => return Err(format!("{code}:missing takes true or false, not {other:?}")),
    };
    if let "_id" | "_lastUpdated" = code {
        // Every resource has an id and a lastUpdated.
        return Ok(if missing {
            Filter::Id(Vec::new())
        } else {
            Filter::Not(Box::new(Filter::Id(Vec::new())))
        });
    }
    let param = lookup(resource_type, code)?;
    let table = match param.kind {
        ParamKind::Token => IndexTable::Token,
        ParamKind::String => IndexTable::String,
        ParamKind::Date => IndexTable::Date,
        ParamKind::Number | ParamKind::Quantity => IndexTable::Quantity,
        ParamKind::Reference => IndexTable::Reference,
        ParamKind::Uri => IndexTable::Uri,
    };
    Ok(Filter::Missing {
        table,
        param: param.stored_as.clone(),
        missing,
    })
}

/// The type a chain goes through: the modifier's, or the parameter's only target
/// among the stored types.
fn chain_target(param: &SearchParam, type_modifier: Option<&str>) -> Result<ResourceType, String> {
    if let Some(modifier) = type_modifier {
        return modifier
            .parse()
            .map_err(|_| format!("{modifier:?} is not a resource type this server stores"));
    }
    let stored: Vec<ResourceType> = param.targets.iter().filter_map(|t| t.parse().ok()).collect();
    match stored.as_slice() {
        [only] => Ok(*only),
        [] => Err(format!(
            "{:?} refers to no resource type this server stores",
            param.code
        )),
        _ => Err(format!(
            "{:?} may refer to several types: name one, e.g. {}:{}.<parameter>",
            param.code, param.code, stored[0]
        )),
    }
}

fn reject_modifier(code: &str, modifier: Option<&str>) -> Result<(), String> {
    match modifier {
        None => Ok(()),
        Some(other) => Err(unsupported_modifier(code, other)),
    }
}

fn unsupported_modifier(code: &str, modifier: &str) -> String {
    format!("modifier :{modifier} is not supported on {code:?}")
}

/// Splits on commas not escaped as `\,` and undoes the escapes of `\, \| \$ \\`
/// except `\|`, which token parsing still needs to see.
fn split_values(value: &str) -> Vec<String> {
    let mut values = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('|') => values.last_mut().expect("never empty").push_str("\\|"),
                Some(escaped) => values.last_mut().expect("never empty").push(escaped),
                None => values.last_mut().expect("never empty").push('\\'),
            },
            ',' => values.push(String::new()),
            c => values.last_mut().expect("never empty").push(c),
        }
    }
    values
}

/// Splits `system|code` at the first unescaped bar.
fn split_bar(value: &str) -> Option<(String, String)> {
    let mut at = None;
    let bytes = value.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'|' && (i == 0 || bytes[i - 1] != b'\\') {
            at = Some(i);
            break;
        }
    }
    at.map(|i| (unescape_bar(&value[..i]), value[i + 1..].to_owned()))
}

fn unescape_bar(value: &str) -> String {
    value.replace("\\|", "|")
}

fn token_condition(value: &str, of_type: bool) -> Result<Condition, String> {
    let (system, code) = match split_bar(value) {
        None => (TokenSystem::Any, Some(unescape_bar(value))),
        Some((system, code)) => {
            let system = if system.is_empty() {
                TokenSystem::Absent
            } else {
                TokenSystem::Is(system)
            };
            let code = (!code.is_empty()).then(|| unescape_bar(&code));
            (system, code)
        }
    };
    if of_type {
        // system|type-code|value, indexed as code "type-code|value".
        let valid = matches!(&system, TokenSystem::Is(_)) && code.as_deref().is_some_and(|c| c.contains('|'));
        if !valid {
            return Err(format!(":of-type takes system|type-code|value, not {value:?}"));
        }
    }
    if system == TokenSystem::Absent && code.is_none() {
        return Err(format!("token {value:?} has neither system nor code"));
    }
    Ok(Condition::Token { system, code })
}

/// Splits a leading comparison prefix off a date or number value.
fn split_prefix(value: &str) -> (Prefix, &str) {
    for (text, prefix) in Prefix::ALL {
        if let Some(rest) = value.strip_prefix(text) {
            if rest.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.') {
                return (prefix, rest);
            }
        }
    }
    (Prefix::Eq, value)
}

fn date_condition(value: &str) -> Result<Condition, String> {
    let (prefix, date) = split_prefix(value);
    let range = DateRange::parse(date).ok_or_else(|| {
        format!("{value:?} is not a date: use [prefix]YYYY[-MM[-DD[Thh:mm[:ss][Z|±hh:mm]]]]")
    })?;
    Ok(Condition::Date {
        prefix,
        low: range.low,
        high: range.high,
    })
}

fn number_condition(value: &str, quantity: bool) -> Result<Condition, String> {
    let (prefix, rest) = split_prefix(value);
    let mut parts = rest.split('|');
    let number = parts.next().unwrap_or_default();
    let decimal = Decimal::parse(number).ok_or_else(|| format!("{value:?} is not a number"))?;
    let (system, code) = match (parts.next(), parts.next()) {
        (None, None) => (None, None),
        _ if !quantity => return Err(format!("{value:?}: a number takes no units")),
        _ if parts.next().is_some() => return Err(format!("{value:?}: use [prefix]number[|system|code]")),
        (system, code) => (
            system.filter(|s| !s.is_empty()).map(str::to_owned),
            code.filter(|c| !c.is_empty()).map(str::to_owned),
        ),
    };
    Ok(Condition::Number {
        prefix,
        value: decimal.value,
        low: decimal.low(),
        high: decimal.high(),
        system,
        code,
    })
}

fn reference_condition(
    param: &SearchParam,
    modifier: Option<&str>,
    value: &str,
    base_url: &str,
) -> Result<Condition, String> {
    if modifier == Some("identifier") {
        return Ok(match split_bar(value) {
            Some((system, code)) => Condition::ReferenceIdentifier {
                system: (!system.is_empty()).then_some(system),
                value: unescape_bar(&code),
            },
            None => Condition::ReferenceIdentifier {
                system: None,
                value: unescape_bar(value),
            },
        });
    }
    let type_modifier = match modifier {
        None => None,
        Some(t) if t.parse::<ResourceType>().is_ok() || param.targets.iter().any(|x| x == t) => Some(t),
        Some(other) => return Err(unsupported_modifier(&param.code, other)),
    };
    if !value.contains('/') && !value.contains(':') {
        // A bare id: of the modifier's type, or of the parameter's only target type.
        let target_type = type_modifier
            .map(str::to_owned)
            .or_else(|| (param.targets.len() == 1).then(|| param.targets[0].clone()));
        return Ok(Condition::Reference {
            target_type,
            target_id: value.to_owned(),
        });
    }
    let parsed = parse_reference(value, base_url).ok_or_else(|| format!("{value:?} is not a reference"))?;
    Ok(match (parsed.target_type, parsed.target_id, parsed.target_url) {
        (Some(target_type), Some(target_id), _) => {
            if type_modifier.is_some_and(|t| t != target_type) {
                return Err(format!(
                    "{value:?} is not a {}",
                    type_modifier.unwrap_or_default()
                ));
            }
            Condition::Reference {
                target_type: Some(target_type),
                target_id,
            }
        }
        (_, _, Some(url)) => Condition::ReferenceUrl(url),
        _ => return Err(format!("{value:?} is not a reference")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: ParseOptions<'static> = ParseOptions {
        base_url: "http://cb.example/fhir",
        max_count: 100,
        lenient: false,
    };

    fn parse(resource_type: ResourceType, query: &str) -> Result<SearchRequest, FhirError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        SearchRequest::parse(resource_type, &pairs, OPTIONS)
    }

    #[test]
    fn tokens_take_every_system_form() {
        let r = parse(
            ResourceType::Patient,
            "identifier=http://h.org/mrn|123&gender=female,male&identifier=|x&identifier=sys|",
        )
        .unwrap();
        assert_eq!(r.filters.len(), 4);
        let Filter::Index { conditions, .. } = &r.filters[0] else {
            panic!()
        };
        assert_eq!(
            conditions[0],
            Condition::Token {
                system: TokenSystem::Is("http://h.org/mrn".into()),
                code: Some("123".into())
            }
        );
        let Filter::Index { conditions, .. } = &r.filters[1] else {
            panic!()
        };
        assert_eq!(conditions.len(), 2, "comma is OR");
        let Filter::Index { conditions, .. } = &r.filters[3] else {
            panic!()
        };
        assert_eq!(
            conditions[0],
            Condition::Token {
                system: TokenSystem::Is("sys".into()),
                code: None
            }
        );
    }

    #[test]
    fn modifiers_chains_and_has() {
        let r = parse(ResourceType::Claim, "patient.identifier=http://h.org/mrn|123&status:not=cancelled&_has:ClaimResponse:request:outcome=complete").unwrap();
        assert!(matches!(&r.filters[0], Filter::Chain { target_type, .. } if target_type == "Patient"));
        assert!(matches!(&r.filters[1], Filter::Not(_)));
        assert!(
            matches!(&r.filters[2], Filter::ReverseChain { source_type, .. } if source_type == "ClaimResponse")
        );
        let r = parse(
            ResourceType::Patient,
            "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|123",
        )
        .unwrap();
        assert!(matches!(&r.filters[0], Filter::Index { param, .. } if param == "identifier:of-type"));
        assert!(
            parse(ResourceType::Claim, "provider.name=x").is_err(),
            "ambiguous target type"
        );
        assert!(parse(ResourceType::Claim, "provider:Organization.name=x").is_ok());
        assert!(
            parse(ResourceType::Claim, "patient.organization.name=x").is_err(),
            "one level only"
        );
    }

    #[test]
    fn dates_numbers_and_references() {
        let r = parse(ResourceType::Encounter, "date=ge2024-01&length=gt30|http://unitsofmeasure.org|min&subject=Patient/1&subject=http://cb.example/fhir/Patient/2&subject=https://other.org/Patient/3").unwrap();
        let Filter::Index { conditions, .. } = &r.filters[0] else {
            panic!()
        };
        assert!(matches!(
            conditions[0],
            Condition::Date {
                prefix: Prefix::Ge,
                ..
            }
        ));
        let Filter::Index { conditions, .. } = &r.filters[1] else {
            panic!()
        };
        assert!(
            matches!(&conditions[0], Condition::Number { prefix: Prefix::Gt, code: Some(c), .. } if c == "min")
        );
        let Filter::Index { conditions, .. } = &r.filters[3] else {
            panic!()
        };
        assert_eq!(
            conditions[0],
            Condition::Reference {
                target_type: Some("Patient".into()),
                target_id: "2".into()
            }
        );
        let Filter::Index { conditions, .. } = &r.filters[4] else {
            panic!()
        };
        assert!(matches!(&conditions[0], Condition::ReferenceUrl(_)));
        let r = parse(ResourceType::Claim, "patient=123").unwrap();
        let Filter::Index { conditions, .. } = &r.filters[0] else {
            panic!()
        };
        assert_eq!(
            conditions[0],
            Condition::Reference {
                target_type: Some("Patient".into()),
                target_id: "123".into()
            }
        );
    }

    #[test]
    fn bad_parameters_name_themselves() {
        for query in [
            "nonsense=1",
            "birthdate=yesterday",
            "_count=-1",
            "name:fuzzy=x",
            "_sort=patient",
            "_include=Patient:name",
            "gender:missing=maybe",
            "length=5|a|b|c",
        ] {
            let (pairs, name): (Vec<(String, String)>, String) = {
                let pairs: Vec<_> = url::form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect();
                let name = pairs[0].0.clone();
                (pairs, name)
            };
            let resource_type = if query.starts_with("length") {
                ResourceType::Encounter
            } else {
                ResourceType::Patient
            };
            match SearchRequest::parse(resource_type, &pairs, OPTIONS) {
                Err(FhirError::Invalid(issues)) => {
                    assert_eq!(issues[0].expression.as_deref(), Some(name.as_str()), "{query}")
                }
                other => panic!("{query}: {other:?}"),
            }
        }
        let lenient = SearchRequest::parse(
            ResourceType::Patient,
            &[("nonsense".into(), "1".into()), ("gender".into(), "male".into())],
            ParseOptions {
                lenient: true,
                ..OPTIONS
            },
        )
        .unwrap();
        assert_eq!((lenient.filters.len(), lenient.ignored.len()), (1, 1));
        assert_eq!(lenient.link_params, [("gender".to_owned(), "male".to_owned())]);
    }

    #[test]
    fn result_controls() {
        let r = parse(ResourceType::Claim, "_count=500&_sort=-created,_id&_total=accurate&_summary=count&_include=Claim:patient&_revinclude=ClaimResponse:request&_elements=status,patient").unwrap();
        assert_eq!(r.count, 100, "capped at the maximum");
        assert_eq!(r.sort.len(), 2);
        assert!(r.sort[0].descending);
        assert_eq!(r.total, TotalMode::Accurate);
        assert_eq!(r.summary, Summary::Count);
        assert_eq!(r.includes[0].param, "patient");
        assert_eq!(r.revincludes[0].source_type, ResourceType::ClaimResponse);
        assert_eq!(r.elements.as_deref().unwrap(), ["status", "patient"]);
    }

    #[test]
    fn escaped_commas_and_bars() {
        assert_eq!(split_values(r"a\,b,c"), ["a,b", "c"]);
        let condition = token_condition(r"sys|a\|b", false).unwrap();
        assert_eq!(
            condition,
            Condition::Token {
                system: TokenSystem::Is("sys".into()),
                code: Some("a|b".into())
            }
        );
    }
}
