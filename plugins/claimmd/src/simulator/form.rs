//! Reading a request's fields as Claim.MD does: `multipart/form-data` (the file
//! services, and what Claim.MD's own samples send everywhere) or
//! `application/x-www-form-urlencoded`, plus the query string, where Claim.MD also
//! takes the AccountKey.

use actix_web::web::Query;

/// A file part.
#[derive(Debug, Clone)]
pub(crate) struct FilePart {
    pub file_name: Option<String>,
    pub contents: String,
}

/// The fields and the `File` part of one request.
#[derive(Debug, Default)]
pub(crate) struct Submitted {
    fields: Vec<(String, String)>,
    pub file: Option<FilePart>,
}

impl Submitted {
    /// The field's value; Claim.MD's field names are matched without regard to case.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }
}

pub(crate) fn read(content_type: Option<&str>, query: &str, body: &[u8]) -> Result<Submitted, String> {
    let mut submitted = Submitted {
        fields: urlencoded(query)?,
        file: None,
    };
    let content_type = content_type.unwrap_or_default();
    if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        let boundary = parameter(content_type, "boundary").ok_or("a multipart request without a boundary")?;
        let text = std::str::from_utf8(body).map_err(|_| "the request is not UTF-8 text")?;
        for part in multipart(&boundary, text)? {
            if part.name.eq_ignore_ascii_case("File") {
                submitted.file = Some(FilePart {
                    file_name: part.file_name,
                    contents: part.contents,
                });
            } else {
                submitted.fields.push((part.name, part.contents));
            }
        }
    } else if !body.is_empty() {
        let text = std::str::from_utf8(body).map_err(|_| "the request is not UTF-8 text")?;
        submitted.fields.extend(urlencoded(text)?);
    }
    Ok(submitted)
}

fn urlencoded(text: &str) -> Result<Vec<(String, String)>, String> {
    Query::<Vec<(String, String)>>::from_query(text)
        .map(Query::into_inner)
        .map_err(|e| format!("the form does not read: {e}"))
}

struct Part {
    name: String,
    file_name: Option<String>,
    contents: String,
}

fn multipart(boundary: &str, body: &str) -> Result<Vec<Part>, String> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    for chunk in body.split(delimiter.as_str()).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
        let (head, contents) = chunk
            .split_once("\r\n\r\n")
            .ok_or("a multipart part without headers")?;
        let disposition = head
            .lines()
            .find(|line| line.to_ascii_lowercase().starts_with("content-disposition:"))
            .ok_or("a multipart part without Content-Disposition")?;
        parts.push(Part {
            name: parameter(disposition, "name").ok_or("a multipart part without a name")?,
            file_name: parameter(disposition, "filename"),
            contents: contents.strip_suffix("\r\n").unwrap_or(contents).to_owned(),
        });
    }
    Ok(parts)
}

/// A `name=value` or `name="value"` parameter of a header value.
fn parameter(header: &str, name: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|item| {
        let (key, value) = item.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_upload_gives_its_fields_and_file() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"AccountKey\"\r\n\r\nk1\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"File\"; filename=demo.837\r\n\
                    Content-Type: text/plain\r\n\r\nISA*00~\r\n--XyZ--\r\n";
        let submitted = read(Some("multipart/form-data; boundary=XyZ"), "", body.as_bytes()).unwrap();
        assert_eq!(submitted.field("accountkey"), Some("k1"));
        let file = submitted.file.unwrap();
        assert_eq!(file.file_name.as_deref(), Some("demo.837"));
        assert_eq!(file.contents, "ISA*00~");
    }

    #[test]
    fn url_encoded_fields_and_the_query_string_both_count() {
        let submitted = read(
            Some("application/x-www-form-urlencoded"),
            "AccountKey=k%201",
            b"ResponseID=12&ClaimID=",
        )
        .unwrap();
        assert_eq!(submitted.field("AccountKey"), Some("k 1"));
        assert_eq!(submitted.field("ResponseID"), Some("12"));
        assert_eq!(submitted.field("ClaimID"), None);
    }
}
