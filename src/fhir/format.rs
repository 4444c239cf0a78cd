//! Content negotiation: which representation a request carries and which one the
//! client wants back (`_format` overrides `Accept`; JSON is the default).

use actix_web::http::header::{ACCEPT, CONTENT_TYPE};
use actix_web::HttpRequest;
use fhirbolt::model::r4::Resource;
use serde_json::Value;

use crate::fhir::outcome::FhirError;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";
pub const FHIR_XML: &str = "application/fhir+xml; charset=utf-8";
pub const JSON_PATCH: &str = "application/json-patch+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// How a response body should be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseFormat {
    pub format: Format,
    pub pretty: bool,
}

/// What a request body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Resource(Format),
    JsonPatch,
}

fn format_of_mime(mime: &str) -> Option<Format> {
    match mime.trim().to_ascii_lowercase().as_str() {
        "json" | "application/json" | "application/fhir+json" | "application/json+fhir" => Some(Format::Json),
        "xml" | "text/xml" | "application/xml" | "application/fhir+xml" | "application/xml+fhir" => {
            Some(Format::Xml)
        }
        _ => None,
    }
}

/// The value of one query parameter (the first if repeated).
pub fn query_param<'a>(request: &'a HttpRequest, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    url::form_urlencoded::parse(request.query_string().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

impl ResponseFormat {
    pub fn negotiate(request: &HttpRequest) -> Result<Self, FhirError> {
        let pretty = query_param(request, "_pretty").is_some_and(|v| v == "true");
        let format = if let Some(requested) = query_param(request, "_format") {
            // `_format` may carry parameters too, e.g. `application/fhir+json;fhirVersion=4.0`.
            let mime = requested.split(';').next().unwrap_or_default();
            format_of_mime(mime)
                .ok_or_else(|| FhirError::NotAcceptable(format!("_format {requested:?} is not supported")))?
        } else {
            match request.headers().get(ACCEPT).and_then(|v| v.to_str().ok()) {
                None => Format::Json,
                Some(accept) => accept_format(accept).ok_or_else(|| {
                    FhirError::NotAcceptable(format!(
                        "none of the media types in Accept ({accept}) is available; \
                         use application/fhir+json or application/fhir+xml"
                    ))
                })?,
            }
        };
        Ok(ResponseFormat { format, pretty })
    }

    pub fn content_type(self) -> &'static str {
        match self.format {
            Format::Json => FHIR_JSON,
            Format::Xml => FHIR_XML,
        }
    }

    /// Writes a resource whose JSON text is `json` in this format. Compact JSON is the
    /// stored text as is: reads never re-parse what the store returns.
    pub fn render(self, json: String) -> Result<Vec<u8>, FhirError> {
        match (self.format, self.pretty) {
            (Format::Json, false) => Ok(json.into_bytes()),
            (Format::Json, true) => {
                let value: Value = serde_json::from_str(&json).map_err(internal)?;
                serde_json::to_vec_pretty(&value).map_err(internal)
            }
            (Format::Xml, _) => {
                let resource: Resource = fhirbolt::json::from_str(&json, None).map_err(internal)?;
                fhirbolt::xml::to_vec(&resource, None).map_err(internal)
            }
        }
    }
}

fn internal(error: impl std::fmt::Display) -> FhirError {
    FhirError::Internal(format!("cannot render the response: {error}"))
}

/// The preferred available format in an Accept header, honouring q-values.
fn accept_format(accept: &str) -> Option<Format> {
    let mut best: Option<(f32, Format)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let mime = parts.next().unwrap_or_default().trim();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let format = match mime {
            "*/*" | "application/*" => Some(Format::Json),
            other => format_of_mime(other),
        };
        if let Some(format) = format.filter(|_| quality > 0.0) {
            if best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, format));
            }
        }
    }
    best.map(|(_, format)| format)
}

/// Classifies the request body by Content-Type. A missing Content-Type is read as
/// FHIR JSON, the default format.
pub fn body_kind(request: &HttpRequest) -> Result<BodyKind, FhirError> {
    let Some(content_type) = request.headers().get(CONTENT_TYPE) else {
        return Ok(BodyKind::Resource(Format::Json));
    };
    let content_type = content_type.to_str().unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if mime.eq_ignore_ascii_case(JSON_PATCH) {
        return Ok(BodyKind::JsonPatch);
    }
    format_of_mime(mime).map(BodyKind::Resource).ok_or_else(|| {
        FhirError::UnsupportedMediaType(format!(
            "Content-Type {content_type:?} is not supported; send application/fhir+json or application/fhir+xml"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_prefers_highest_quality() {
        assert_eq!(
            accept_format("application/fhir+xml;q=0.9, application/fhir+json"),
            Some(Format::Json)
        );
        assert_eq!(
            accept_format("application/fhir+json;q=0.5, text/xml"),
            Some(Format::Xml)
        );
        assert_eq!(
            accept_format("text/html,application/xhtml+xml,*/*;q=0.8"),
            Some(Format::Json)
        );
        assert_eq!(accept_format("text/plain"), None);
        assert_eq!(accept_format("application/fhir+json;q=0"), None);
    }
}
