//! Cross-site request forgery: the session cookie is `SameSite=Strict`, so a
//! browser does not send it with a request another site starts; and, should a
//! browser not honour that, every request that may change something (any method
//! but GET and HEAD) must say it comes from the console's own origin (`Origin`,
//! which browsers attach to every POST and scripts cannot forge). A request
//! without it, or from another origin, is refused with a 403 page before any
//! handler runs. Non-browser clients of the console (the tests) send `Origin`
//! like a browser.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HOST, ORIGIN};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};

use super::ConsoleSettings;

pub async fn same_origin_only(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let settings = request.app_data::<web::Data<ConsoleSettings>>().cloned();
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    if safe || settings.is_some_and(|settings| from_console(request.request(), &settings)) {
        return next.call(request).await.map(ServiceResponse::map_into_boxed_body);
    }
    Ok(request.into_response(refusal()))
}

/// Whether a state-changing request says it comes from the console's own pages.
pub fn from_console(request: &HttpRequest, settings: &ConsoleSettings) -> bool {
    let header = |name| request.headers().get(name).and_then(|value| value.to_str().ok());
    allowed(header(ORIGIN), header(HOST), &settings.public_url)
}

pub fn refusal() -> HttpResponse {
    super::layout::forbidden(
        None,
        "This request did not come from the console's own pages, so it was refused. \
         Go back to the console and try again.",
    )
}

/// Whether `origin` is the console's: the public URL's origin, or the host the
/// request was sent to (a developer on `localhost` while the public URL names
/// `127.0.0.1`; behind a proxy that terminates TLS the schemes differ, the host
/// does not).
fn allowed(origin: Option<&str>, host: Option<&str>, public_url: &str) -> bool {
    let Some(origin) = origin.and_then(|origin| url::Url::parse(origin).ok()) else {
        return false;
    };
    let authority = |url: &url::Url| {
        let host = url.host_str().unwrap_or_default();
        match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    };
    let public = url::Url::parse(public_url).ok();
    let same_as_public = public
        .as_ref()
        .is_some_and(|public| public.origin() == origin.origin());
    let same_as_host = host.is_some_and(|host| host.eq_ignore_ascii_case(&authority(&origin)));
    same_as_public || same_as_host
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_consoles_origin_may_change_things() {
        let public = "https://claims.example.org";
        assert!(allowed(Some("https://claims.example.org"), None, public));
        assert!(allowed(
            Some("http://localhost:8080"),
            Some("localhost:8080"),
            public
        ));
        assert!(!allowed(
            Some("https://evil.example"),
            Some("claims.example.org"),
            public
        ));
        assert!(!allowed(None, Some("claims.example.org"), public));
        assert!(!allowed(Some("null"), Some("claims.example.org"), public));
        // Another port is another origin.
        assert!(!allowed(
            Some("https://claims.example.org:8443"),
            Some("claims.example.org"),
            public
        ));
    }
}
