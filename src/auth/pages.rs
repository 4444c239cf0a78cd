//! The authorization server's HTML: the sign-in page, the consent page (with the
//! patient picker of a standalone patient launch) and the error page for requests
//! that cannot be sent back to the app. Plain server-rendered forms, every value
//! escaped; never framed (clickjacking), never cached, no referrer leaked.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

/// `text` safe inside HTML text and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.5}\
label{display:block;margin-top:1rem;font-weight:600}input[type=text],input[type=password],input[type=search]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1rem;margin-right:.5rem;padding:.5rem 1rem;font-size:1rem}.error{color:#a00;font-weight:600}\
fieldset{margin-top:1rem}ul{padding-left:1.2rem}";

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        title = escape(title),
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(html)
}

fn hidden_fields(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect()
}

fn error_line(error: Option<&str>) -> String {
    error
        .map(|error| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(error)))
        .unwrap_or_default()
}

/// A request the server cannot answer by redirecting to the app (unknown client,
/// unregistered redirect URI).
pub fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    page(
        status,
        "Authorization failed",
        &format!(
            "<h1>Authorization failed</h1><p class=\"error\" role=\"alert\">{}</p>",
            escape(message)
        ),
    )
}

/// The sign-in form; `request` (the authorization request's parameters) travels
/// in hidden fields and is checked again when the form comes back.
pub fn sign_in_page(app_name: &str, request: &[(String, String)], error: Option<&str>) -> HttpResponse {
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    page(
        status,
        "Sign in",
        &format!(
            "<h1>Sign in</h1><p><strong>{app}</strong> asks to use Claimbridge on your behalf.</p>{error}\
             <form method=\"post\" action=\"/auth/authorize\">{hidden}\
             <label for=\"username\">Username</label>\
             <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" required autofocus>\
             <label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\">Sign in</button></form>",
            app = escape(app_name),
            error = error_line(error),
            hidden = hidden_fields(request),
        ),
    )
}

/// The consent page's content.
pub struct ConsentView<'a> {
    pub app_name: &'a str,
    pub user_name: &'a str,
    /// What each granted scope allows, in words.
    pub scopes: Vec<String>,
    /// The signed sign-in ticket the decision is posted with.
    pub ticket: &'a str,
    /// `Some` when the app needs a patient and none came with the launch.
    pub picker: Option<PatientPicker<'a>>,
    pub error: Option<&'a str>,
}

/// The standalone launch's patient picker: a name search and its matches.
pub struct PatientPicker<'a> {
    pub name: &'a str,
    /// `(id, label)` of each patient found.
    pub matches: Vec<(String, String)>,
}

pub fn consent_page(view: &ConsentView<'_>) -> HttpResponse {
    let ticket = hidden_fields(&[("ticket".into(), view.ticket.to_owned())]);
    let scopes: String = view
        .scopes
        .iter()
        .map(|scope| format!("<li>{}</li>", escape(scope)))
        .collect();
    let picker = view.picker.as_ref().map(|picker| {
        let search = format!(
            "<form method=\"get\" action=\"/auth/authorize/consent\" role=\"search\">{ticket}\
             <label for=\"name\">Find the patient by name</label>\
             <input id=\"name\" name=\"name\" type=\"search\" value=\"{name}\">\
             <button type=\"submit\">Search</button></form>",
            name = escape(picker.name),
        );
        let choices: String = picker
            .matches
            .iter()
            .enumerate()
            .map(|(index, (id, label))| {
                format!(
                    "<div><input type=\"radio\" id=\"patient-{index}\" name=\"patient\" value=\"{id}\" required>\
                     <label for=\"patient-{index}\" style=\"display:inline;font-weight:400\">{label}</label></div>",
                    id = escape(id),
                    label = escape(label),
                )
            })
            .collect();
        let choices = if picker.matches.is_empty() {
            "<p>No patient found yet: search by name.</p>".to_owned()
        } else {
            format!("<fieldset><legend>Patient</legend>{choices}</fieldset>")
        };
        (search, choices)
    });
    let (search, choices) = picker.unwrap_or_default();
    page(
        if view.error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        "Allow access",
        &format!(
            "<h1>Allow access?</h1><p>Signed in as <strong>{user}</strong>.</p>{error}\
             <p><strong>{app}</strong> asks to:</p><ul>{scopes}</ul>{search}\
             <form method=\"post\" action=\"/auth/authorize/consent\">{ticket}{choices}\
             <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button></form>",
            user = escape(view.user_name),
            app = escape(view.app_name),
            error = error_line(view.error),
        ),
    )
}

/// What a granted scope allows, in words (`patient/Claim.rs` → "read and search
/// Claim of the chosen patient").
pub fn describe_scope(scope: &str) -> String {
    let words = match scope {
        "openid" | "fhirUser" => "know who you are".to_owned(),
        "launch" => "use the context it was launched in".to_owned(),
        "launch/patient" => "be told which patient is in context".to_owned(),
        "launch/encounter" => "be told which encounter is in context".to_owned(),
        "offline_access" => "keep access while you are away (until you revoke it)".to_owned(),
        "online_access" => "keep access while you are signed in".to_owned(),
        "admin" => "administer Claimbridge: clients, users, integrations".to_owned(),
        "biller" => "work claims, payments and HL7 messages".to_owned(),
        "auditor" => "read billing records, messages and the audit trail".to_owned(),
        _ => match scope.split_once('/').and_then(|(context, rest)| {
            let (resource, permissions) = rest.split_once('.')?;
            Some((
                context,
                resource,
                permissions.split('?').next().unwrap_or_default(),
            ))
        }) {
            Some((context, resource, permissions)) => {
                let actions = match permissions {
                    "read" => vec!["read", "search"],
                    "write" => vec!["create", "update", "delete"],
                    "*" => vec!["read", "search", "create", "update", "delete"],
                    letters => letters
                        .chars()
                        .filter_map(|letter| match letter {
                            'c' => Some("create"),
                            'r' => Some("read"),
                            'u' => Some("update"),
                            'd' => Some("delete"),
                            's' => Some("search"),
                            _ => None,
                        })
                        .collect(),
                };
                let what = if resource == "*" {
                    "all records".to_owned()
                } else {
                    format!("{resource} records")
                };
                let whose = match context {
                    "patient" => " of the chosen patient",
                    "user" => " you can access",
                    _ => "",
                };
                format!("{} {what}{whose}", actions.join(", "))
            }
            None => "use a permission of its own".to_owned(),
        },
    };
    format!("{words} ({scope})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn scopes_read_as_words() {
        assert_eq!(
            describe_scope("patient/Claim.rs"),
            "read, search Claim records of the chosen patient (patient/Claim.rs)"
        );
        assert_eq!(
            describe_scope("user/*.read"),
            "read, search all records you can access (user/*.read)"
        );
        assert_eq!(
            describe_scope("offline_access"),
            "keep access while you are away (until you revoke it) (offline_access)"
        );
    }
}
