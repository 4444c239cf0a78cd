//! Signing in to the console, staying signed in, and signing out.
//!
//! 1. A console page without a session redirects to `/auth/authorize` (the
//!    authorization code grant, PKCE S256, `state`), keeping the verifier, the
//!    state and the page asked for in a short-lived cookie (`SameSite=Lax`: it
//!    must come back with the redirect from the sign-in pages).
//! 2. `/console/callback` checks the state, then redeems the code in process,
//!    through the token endpoint's own code path ([`tokens_for_code`]): the same
//!    checks (one use, this client, this redirect URI, the verifier) without a
//!    request from the server to itself, which a deployment's network need not
//!    allow (its public URL may point at a load balancer this node cannot reach).
//! 3. The session is the access token itself, in an HttpOnly `SameSite=Strict`
//!    cookie scoped to `/console` (never sent to the APIs), verified on every
//!    request by [`crate::auth::gate::admit`] — revocation, expiry and the
//!    client's request rate included — so a console request is checked exactly as
//!    an API request with that token would be. The refresh token (`online_access`)
//!    sits beside it; an expired access token is replaced in process, and the new
//!    pair set on the answer. Two tabs refreshing at the same instant present the
//!    same refresh token twice, which the server treats as theft: the grant is
//!    revoked and both are sent to sign in again — safe, if abrupt.
//! 4. `POST /console/sign-out` revokes the access token and the refresh grant, and
//!    clears the cookies.
//!
//! With authorization disabled (loopback development) every page opens as an
//! admin who cannot sign out.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::LOCATION;
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::access::Viewer;
use super::{client, csrf, layout, ConsoleSettings};
use crate::auth::access_token::TokenError;
use crate::auth::gate::{admit, Refused};
use crate::auth::token_endpoint::{tokens_for_code, tokens_for_refresh, UserTokens};
use crate::auth::{AuthContext, AuthMode, Principal};
use crate::integrations::registry::DEFAULT_TENANT;

/// The access token.
const SESSION_COOKIE: &str = "claimbridge_console";
/// The refresh token, when the user may have one.
const REFRESH_COOKIE: &str = "claimbridge_console_refresh";
/// The sign-in under way: state, PKCE verifier, the page to return to.
const SIGN_IN_COOKIE: &str = "claimbridge_console_sign_in";
/// As long as the sign-in page's own ticket lasts.
const SIGN_IN_MINUTES: i64 = 10;
const COOKIE_PATH: &str = "/console";

/// The session middleware around every console page.
pub async fn require(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let mode = request
        .app_data::<web::Data<AuthMode>>()
        .map(|mode| *mode.get_ref());
    if mode == Some(AuthMode::Disabled) {
        let principal = request
            .extensions()
            .get::<Principal>()
            .cloned()
            .unwrap_or_else(Principal::unrestricted);
        request.extensions_mut().insert(Viewer {
            principal,
            name: "Developer (authorization disabled)".to_owned(),
            anonymous: true,
        });
        return next.call(request).await.map(ServiceResponse::map_into_boxed_body);
    }
    let (Some(context), Some(settings)) = (
        request.app_data::<web::Data<AuthContext>>().cloned(),
        request.app_data::<web::Data<ConsoleSettings>>().cloned(),
    ) else {
        tracing::error!("the console needs the authorization server, which is not configured");
        let answer = unavailable();
        return Ok(request.into_response(answer));
    };
    let (principal, renewed) = match open(&context, request.request()).await {
        Ok(opened) => opened,
        Err(Closed::SignIn) => {
            let answer = sign_in(&context, &settings, request.request());
            return Ok(request.into_response(answer));
        }
        Err(Closed::Unavailable) => return Ok(request.into_response(unavailable())),
        Err(Closed::TooMany(principal)) => {
            request.extensions_mut().insert(*principal);
            let answer = layout::message(
                None,
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "The console is receiving more requests than it may serve; wait a moment and try again.",
                None,
            );
            return Ok(request.into_response(answer));
        }
    };
    let name = match context.users.user(&principal.subject).await {
        Ok(Some(user)) => user.display_name,
        Ok(None) => principal.subject.clone(),
        Err(error) => {
            tracing::error!(%error, "reading the console user");
            return Ok(request.into_response(unavailable()));
        }
    };
    let viewer = Viewer {
        principal: principal.clone(),
        name,
        anonymous: false,
    };
    // Known to the audit trail, refused or not.
    request.extensions_mut().insert(principal);
    let refusal = if viewer.principal.tenant != DEFAULT_TENANT {
        Some("The console serves the default organisation; this account belongs to another.")
    } else if !viewer.has_console_role() {
        Some(
            "This account has none of the console's roles (admin, biller, auditor). \
             Ask an administrator to add one to your user's scopes.",
        )
    } else {
        None
    };
    let mut response = match refusal {
        Some(why) => {
            let answer = layout::forbidden(Some(&viewer), why);
            request.into_response(answer)
        }
        None => {
            request.extensions_mut().insert(viewer);
            next.call(request).await?.map_into_boxed_body()
        }
    };
    if let Some(tokens) = renewed {
        for cookie in session_cookies(&settings, &tokens) {
            response.response_mut().add_cookie(&cookie)?;
        }
    }
    Ok(response)
}

/// Why a request has no session.
enum Closed {
    /// None, or one that has ended: sign in.
    SignIn,
    Unavailable,
    TooMany(Box<Principal>),
}

/// The principal of the request's session, and the new tokens when it had to be
/// renewed.
async fn open(
    context: &AuthContext,
    request: &HttpRequest,
) -> Result<(Principal, Option<UserTokens>), Closed> {
    if let Some(token) = request.cookie(SESSION_COOKIE) {
        match admit(context, token.value()).await {
            Ok(principal) => return Ok((principal, None)),
            Err(Refused::Invalid(_)) => {}
            Err(Refused::Unavailable(error)) => {
                tracing::error!(%error, "checking a console session");
                return Err(Closed::Unavailable);
            }
            Err(Refused::TooMany { principal, .. }) => return Err(Closed::TooMany(principal)),
        }
    }
    let refresh = request.cookie(REFRESH_COOKIE).ok_or(Closed::SignIn)?;
    let console = match context.clients.client(client::CLIENT_ID).await {
        Ok(Some(console)) if console.enabled => console,
        Ok(_) => return Err(Closed::SignIn),
        Err(error) => {
            tracing::error!(%error, "reading the console's client");
            return Err(Closed::Unavailable);
        }
    };
    let tokens = tokens_for_refresh(context, &console, refresh.value(), None)
        .await
        .map_err(|_| Closed::SignIn)?;
    match admit(context, &tokens.access_token).await {
        Ok(principal) => Ok((principal, Some(tokens))),
        Err(Refused::TooMany { principal, .. }) => Err(Closed::TooMany(principal)),
        Err(Refused::Unavailable(_)) => Err(Closed::Unavailable),
        Err(Refused::Invalid(_)) => Err(Closed::SignIn),
    }
}

fn unavailable() -> HttpResponse {
    layout::message(
        None,
        StatusCode::SERVICE_UNAVAILABLE,
        "Console unavailable",
        "Sign-in cannot be checked right now; try again in a moment.",
        None,
    )
}

fn secure(settings: &ConsoleSettings) -> bool {
    settings.public_url.starts_with("https://")
}

fn cookie(
    settings: &ConsoleSettings,
    name: &'static str,
    value: String,
    same_site: SameSite,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(secure(settings))
        .same_site(same_site)
        .finish()
}

fn removal(settings: &ConsoleSettings, name: &'static str) -> Cookie<'static> {
    let mut cookie = cookie(settings, name, String::new(), SameSite::Strict);
    cookie.set_max_age(CookieDuration::ZERO);
    cookie
}

/// The session's cookies: for the browser's session only (no expiry of their
/// own); the tokens in them expire on their own.
fn session_cookies(settings: &ConsoleSettings, tokens: &UserTokens) -> Vec<Cookie<'static>> {
    let mut cookies = vec![cookie(
        settings,
        SESSION_COOKIE,
        tokens.access_token.clone(),
        SameSite::Strict,
    )];
    cookies.push(match &tokens.refresh_token {
        Some(refresh) => cookie(settings, REFRESH_COOKIE, refresh.clone(), SameSite::Strict),
        None => removal(settings, REFRESH_COOKIE),
    });
    cookies
}

/// The sign-in under way, as its cookie carries it.
struct SignIn {
    state: String,
    verifier: String,
    return_to: String,
}

impl SignIn {
    fn new(return_to: String) -> SignIn {
        SignIn {
            state: crate::auth::clients::new_secret().0,
            verifier: crate::auth::clients::new_secret().0,
            return_to,
        }
    }

    /// `state.verifier.base64url(return_to)`: the first two are base64url, which
    /// has no `.`.
    fn to_cookie(&self) -> String {
        format!(
            "{}.{}.{}",
            self.state,
            self.verifier,
            URL_SAFE_NO_PAD.encode(&self.return_to)
        )
    }

    fn from_cookie(value: &str) -> Option<SignIn> {
        let mut parts = value.splitn(3, '.');
        let state = parts.next()?.to_owned();
        let verifier = parts.next()?.to_owned();
        let return_to = String::from_utf8(URL_SAFE_NO_PAD.decode(parts.next()?).ok()?).ok()?;
        Some(SignIn {
            state,
            verifier,
            return_to: console_path(&return_to)?,
        })
    }

    fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }
}

/// `path` when it is a console page of this server (where a sign-in may return
/// to), never another site (`//evil.example`) or another part of this one.
fn console_path(path: &str) -> Option<String> {
    let console = path == "/console" || path.starts_with("/console/") || path.starts_with("/console?");
    (console && !path.contains('\\') && !path.starts_with("/console/callback")).then(|| path.to_owned())
}

/// Starts a sign-in: to the authorization endpoint, to come back to the page
/// asked for. An htmx request is told to load the sign-in as a whole page.
fn sign_in(context: &AuthContext, settings: &ConsoleSettings, request: &HttpRequest) -> HttpResponse {
    let htmx = layout::is_htmx(request);
    let asked = if htmx {
        // The page the fragment was for.
        request
            .headers()
            .get("HX-Current-URL")
            .and_then(|value| value.to_str().ok())
            .and_then(|url| url::Url::parse(url).ok())
            .map(|url| match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            })
    } else if request.method() == Method::GET {
        Some(request.uri().to_string())
    } else {
        None
    };
    let sign_in = SignIn::new(
        asked
            .and_then(|asked| console_path(&asked))
            .unwrap_or_else(|| "/console".to_owned()),
    );
    let mut authorize = url::Url::parse(&context.endpoints.authorize()).expect("the issuer is a URL");
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client::CLIENT_ID)
        .append_pair("redirect_uri", &client::redirect_uri(&context.endpoints))
        .append_pair("scope", client::SCOPES)
        .append_pair("state", &sign_in.state)
        .append_pair("code_challenge", &sign_in.challenge())
        .append_pair("code_challenge_method", "S256")
        .append_pair("aud", &context.endpoints.audience);
    let mut flow = cookie(settings, SIGN_IN_COOKIE, sign_in.to_cookie(), SameSite::Lax);
    flow.set_max_age(CookieDuration::minutes(SIGN_IN_MINUTES));
    let mut answer = if htmx {
        let mut answer = HttpResponse::Unauthorized();
        answer.insert_header(("HX-Redirect", authorize.as_str()));
        answer
    } else {
        let mut answer = HttpResponse::SeeOther();
        answer.insert_header((LOCATION, authorize.as_str()));
        answer
    };
    answer
        .insert_header(("Cache-Control", "no-store"))
        .cookie(flow)
        // A session that ended is forgotten.
        .cookie(removal(settings, SESSION_COOKIE))
        .cookie(removal(settings, REFRESH_COOKIE))
        .finish()
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /console/callback`: where the authorization server sends the browser back.
pub async fn callback(
    request: HttpRequest,
    query: web::Query<Callback>,
    context: Option<web::Data<AuthContext>>,
    settings: web::Data<ConsoleSettings>,
) -> HttpResponse {
    let Some(context) = context else {
        // Authorization is disabled: there is nothing to sign in to.
        return HttpResponse::SeeOther()
            .insert_header((LOCATION, "/console"))
            .finish();
    };
    let failed = |status: StatusCode, text: &str| {
        let mut answer = layout::message(
            None,
            status,
            "Sign-in failed",
            text,
            Some(("/console", "Sign in again")),
        );
        let _ = answer.add_cookie(&removal(&settings, SIGN_IN_COOKIE));
        answer
    };
    let sign_in = request
        .cookie(SIGN_IN_COOKIE)
        .and_then(|cookie| SignIn::from_cookie(cookie.value()));
    let Some(sign_in) = sign_in.filter(|sign_in| query.state.as_deref() == Some(sign_in.state.as_str()))
    else {
        return failed(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired or was started in another window. Start again from the console.",
        );
    };
    if let Some(error) = &query.error {
        let why = match error.as_str() {
            "access_denied" => "Access was not allowed.".to_owned(),
            "invalid_scope" => "This account has none of the console's roles (admin, biller, auditor). \
                 Ask an administrator to add one to your user's scopes."
                .to_owned(),
            _ => format!(
                "The authorization server answered {error}: {}",
                query.error_description.as_deref().unwrap_or("no reason given")
            ),
        };
        return failed(StatusCode::FORBIDDEN, &why);
    }
    // RFC 9207: the answer must come from the issuer the sign-in went to.
    if query
        .iss
        .as_deref()
        .is_some_and(|iss| iss != context.endpoints.issuer)
    {
        return failed(
            StatusCode::BAD_REQUEST,
            "The sign-in came back from another server.",
        );
    }
    let Some(code) = &query.code else {
        return failed(StatusCode::BAD_REQUEST, "The sign-in came back without a code.");
    };
    let console = match context.clients.client(client::CLIENT_ID).await {
        Ok(Some(console)) if console.enabled => console,
        Ok(_) => return failed(StatusCode::FORBIDDEN, "The console's sign-in is disabled."),
        Err(error) => return layout::server_error(None, "reading the console's client", &error),
    };
    let redirect_uri = client::redirect_uri(&context.endpoints);
    let tokens = match tokens_for_code(&context, &console, code, Some(&redirect_uri), &sign_in.verifier).await
    {
        Ok(tokens) => tokens,
        Err(error) => {
            tracing::warn!(%error, "a console sign-in's code was refused");
            return failed(
                StatusCode::BAD_REQUEST,
                "The sign-in could not be completed (its code was refused). Start again.",
            );
        }
    };
    let mut answer = HttpResponse::SeeOther();
    answer
        .insert_header((LOCATION, sign_in.return_to.as_str()))
        .insert_header(("Cache-Control", "no-store"))
        .cookie(removal(&settings, SIGN_IN_COOKIE));
    for cookie in session_cookies(&settings, &tokens) {
        answer.cookie(cookie);
    }
    answer.finish()
}

/// `POST /console/sign-out`: the tokens are revoked (not just forgotten by the
/// browser), the cookies cleared.
pub async fn sign_out(
    request: HttpRequest,
    context: Option<web::Data<AuthContext>>,
    settings: web::Data<ConsoleSettings>,
) -> HttpResponse {
    if !csrf::from_console(&request, &settings) {
        return csrf::refusal();
    }
    if let Some(context) = &context {
        if let Err(error) = revoke(context, &request).await {
            return layout::server_error(None, "revoking a console session", &error);
        }
    }
    let mut answer = layout::message(
        None,
        StatusCode::OK,
        "Signed out",
        "You are signed out of the Claimbridge console.",
        Some(("/console", "Sign in again")),
    );
    for name in [SESSION_COOKIE, REFRESH_COOKIE] {
        let _ = answer.add_cookie(&removal(&settings, name));
    }
    answer
}

async fn revoke(context: &AuthContext, request: &HttpRequest) -> Result<(), crate::auth::AuthError> {
    if let Some(token) = request.cookie(SESSION_COOKIE) {
        match context.tokens.verify(token.value()).await {
            Ok(principal) => {
                context
                    .tokens
                    .revoke(&principal.jti, principal.expires_at)
                    .await?;
                if let Some(grant) = &principal.grant {
                    context.grants.revoke_family(grant).await?;
                    context.tokens.forget_grant(grant);
                }
            }
            Err(TokenError::Unavailable(why)) => return Err(crate::auth::AuthError::Internal(why)),
            // Expired or revoked already: the refresh token may still be live.
            Err(_) => {}
        }
    }
    if let Some(refresh) = request.cookie(REFRESH_COOKIE) {
        if let Some(row) = context.grants.live_refresh_token(refresh.value()).await? {
            if row.client_id == client::CLIENT_ID {
                context.grants.revoke_family(&row.family_id).await?;
                context.tokens.forget_grant(&row.family_id);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_returns_only_to_console_pages() {
        assert_eq!(console_path("/console").as_deref(), Some("/console"));
        assert_eq!(
            console_path("/console/hl7?status=error").as_deref(),
            Some("/console/hl7?status=error")
        );
        assert_eq!(console_path("//evil.example/console"), None);
        assert_eq!(console_path("https://evil.example/console"), None);
        assert_eq!(console_path("/consoles"), None);
        assert_eq!(console_path("/fhir/Patient"), None);
        assert_eq!(console_path("/console/callback?code=x"), None);
    }

    #[test]
    fn the_sign_in_cookie_reads_back() {
        let sign_in = SignIn::new("/console/integrations?tenant=a.b".into());
        let read = SignIn::from_cookie(&sign_in.to_cookie()).unwrap();
        assert_eq!(read.state, sign_in.state);
        assert_eq!(read.verifier, sign_in.verifier);
        assert_eq!(read.return_to, "/console/integrations?tenant=a.b");
        assert_eq!(read.challenge().len(), 43);
        assert!(SignIn::from_cookie("no dots").is_none());
    }
}
