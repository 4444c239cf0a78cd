//! Answers in Claim.MD's two formats: XML by default (attributes on a `<result>`
//! element, repeated child elements for lists), JSON when `Accept` asks for it (the
//! same tree, attributes as keys). Errors are answered with HTTP 200 like any other
//! result, as Claim.MD does.

use actix_web::http::header::ACCEPT;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

/// Whether the request asked for JSON.
pub(crate) fn wants_json(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("json"))
}

/// A result: `{"error": [{"error_code": …, "error_mesg": …}]}`.
pub(crate) fn error(code: &str, message: &str) -> Value {
    json!({"error": [{"error_code": code, "error_mesg": message}]})
}

pub(crate) fn respond(json: bool, result: &Value) -> HttpResponse {
    if json {
        HttpResponse::Ok().json(result)
    } else {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        write_root(&mut xml, result);
        HttpResponse::Ok().content_type("text/xml").body(xml)
    }
}

/// `<result …>`; a top-level `data` (the era835 835) is a child element, as in
/// Claim.MD's `<result eraid="7"><data>ISA*…</data></result>`.
fn write_root(out: &mut String, result: &Value) {
    let empty = Map::new();
    let fields = result.as_object().unwrap_or(&empty);
    let (data, rest): (Vec<_>, Vec<_>) = fields
        .iter()
        .partition(|(key, value)| *key == "data" && value.is_string());
    let rest: Map<String, Value> = rest.into_iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut inner = String::new();
    for (_, value) in data {
        inner.push_str(&format!(
            "<data>{}</data>",
            escape(value.as_str().unwrap_or_default())
        ));
    }
    write_element(out, "result", &rest, &inner);
}

fn write_element(out: &mut String, name: &str, fields: &Map<String, Value>, extra: &str) {
    out.push('<');
    out.push_str(name);
    let mut children = String::from(extra);
    for (key, value) in fields {
        match value {
            Value::Array(items) => {
                for item in items {
                    child(&mut children, key, item);
                }
            }
            Value::Object(_) => child(&mut children, key, value),
            Value::Null => {}
            scalar => out.push_str(&format!(" {key}=\"{}\"", escape(&scalar_text(scalar)))),
        }
    }
    if children.is_empty() {
        out.push_str("/>");
    } else {
        out.push('>');
        out.push_str(&children);
        out.push_str(&format!("</{name}>"));
    }
}

fn child(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Object(fields) => write_element(out, name, fields, ""),
        scalar => out.push_str(&format!("<{name}>{}</{name}>", escape(&scalar_text(scalar)))),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(result: &Value) -> String {
        let mut out = String::new();
        write_root(&mut out, result);
        out
    }

    #[test]
    fn an_error_is_an_element_with_attributes() {
        assert_eq!(
            xml(&error("1", "Invalid AccountKey")),
            "<result><error error_code=\"1\" error_mesg=\"Invalid AccountKey\"/></result>"
        );
    }

    #[test]
    fn claims_repeat_as_elements_with_their_messages_inside() {
        let result = json!({
            "last_responseid": "9",
            "claim": [{"pcn": "P1", "messages": [{"message": "a < b", "status": "R"}]}]
        });
        assert_eq!(
            xml(&result),
            "<result last_responseid=\"9\"><claim pcn=\"P1\"><messages message=\"a &lt; b\" status=\"R\"/></claim></result>"
        );
    }

    #[test]
    fn the_835_is_a_data_element() {
        assert_eq!(
            xml(&json!({"eraid": "7", "data": "ISA*00~"})),
            "<result eraid=\"7\"><data>ISA*00~</data></result>"
        );
    }
}
