//! The authorization endpoint of SMART App Launch (`/auth/authorize`): the
//! authorization code grant with PKCE S256 (required), for a standalone launch
//! and for an EHR launch (`launch`, a context the EHR made at `/auth/launch`).
//!
//! 1. `GET /auth/authorize?...`: the request is checked; errors that cannot be
//!    trusted to the redirect URI (unknown client, unregistered redirect URI) get
//!    an error page, the rest go back to the app (`error`, `state`, `iss`). A
//!    good request gets the sign-in page.
//! 2. `POST /auth/authorize`: username and password (attempts limited per
//!    username); the request is checked again. The scopes granted are those asked
//!    for, within what the client is registered for and what the user may grant
//!    (never `system/`). The consent page follows, carrying a signed ticket (ten
//!    minutes) of who signed in and what the app is to get.
//! 3. `GET /auth/authorize/consent?ticket&name`: the patient picker's search, when
//!    `launch/patient` was granted and no launch named the patient.
//! 4. `POST /auth/authorize/consent`: allow (with the patient picked) → a code to
//!    the redirect URI; deny → `access_denied`.

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::clients::{Client, ClientType};
use super::grants::Consent;
use super::pages::{self, describe_scope, ConsentView, PatientPicker};
use super::scopes::{grant_requested_scopes, Role, Scope, ScopeContext, Scopes};
use super::users::User;
use super::AuthContext;
use crate::fhir::resource_type::ResourceType;
use crate::store::auth::LaunchContextRow;
use crate::store::model::Tenant;

/// How long the consent page may stay open.
const TICKET_LIFETIME_SECS: i64 = 600;
/// Patients the picker shows for one search.
const PICKER_MATCHES: usize = 20;
/// The authorization request's parameters, carried from page to page.
const REQUEST_PARAMS: [&str; 10] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "aud",
    "launch",
    "nonce",
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/authorize", web::get().to(start))
        .route("/auth/authorize", web::post().to(sign_in))
        .route("/auth/authorize/consent", web::get().to(pick_patient))
        .route("/auth/authorize/consent", web::post().to(decide));
}

/// A checked authorization request.
struct AuthorizationRequest {
    client: Client,
    redirect_uri: String,
    state: Option<String>,
    scope: Scopes,
    code_challenge: String,
    nonce: Option<String>,
    launch: Option<LaunchContextRow>,
}

/// Why a request is refused, and how the refusal reaches the user.
enum Refusal {
    /// Shown here: the redirect URI cannot be trusted.
    Page(StatusCode, String),
    /// Sent back to the app.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

impl Refusal {
    fn answer(self, issuer: &str) -> HttpResponse {
        match self {
            Refusal::Page(status, message) => pages::error_page(status, &message),
            Refusal::Redirect {
                redirect_uri,
                state,
                error,
                description,
            } => {
                let mut params = vec![("error", error.to_owned()), ("error_description", description)];
                params.extend(state.map(|state| ("state", state)));
                params.push(("iss", issuer.to_owned()));
                redirect(&redirect_uri, &params)
            }
        }
    }
}

/// 303 to `uri` with `params` added to its query.
fn redirect(uri: &str, params: &[(&str, String)]) -> HttpResponse {
    let mut url = match url::Url::parse(uri) {
        Ok(url) => url,
        Err(_) => return pages::error_page(StatusCode::BAD_REQUEST, "the redirect_uri is not a URL"),
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    HttpResponse::SeeOther()
        .insert_header((LOCATION, url.to_string()))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.is_empty())
}

/// Checks the request's parameters, in the order RFC 6749 §4.1.2.1 asks: the
/// client and redirect URI first (refused here), the rest back to the app.
async fn check_request(
    context: &AuthContext,
    params: &[(String, String)],
) -> Result<AuthorizationRequest, Refusal> {
    let page = |message: &str| Refusal::Page(StatusCode::BAD_REQUEST, message.to_owned());
    let client_id = param(params, "client_id").ok_or_else(|| page("client_id is required"))?;
    let client = match context.clients.client(client_id).await {
        Ok(Some(client)) if client.enabled => client,
        Ok(_) => return Err(page("unknown client")),
        Err(error) => {
            tracing::error!(%error, "reading a client");
            return Err(Refusal::Page(
                StatusCode::SERVICE_UNAVAILABLE,
                "the authorization server is unavailable; try again".into(),
            ));
        }
    };
    let redirect_uri = match param(params, "redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|registered| registered == uri) => uri.to_owned(),
        Some(_) => return Err(page("redirect_uri is not one the client registered")),
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => return Err(page("redirect_uri is required")),
    };
    let state = param(params, "state").map(str::to_owned);
    let back = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description: description.to_owned(),
    };
    if param(params, "response_type") != Some("code") {
        return Err(back("unsupported_response_type", "response_type must be code"));
    }
    if client.client_type == ClientType::Backend {
        return Err(back(
            "unauthorized_client",
            "a backend client uses client_credentials",
        ));
    }
    let code_challenge = match (
        param(params, "code_challenge"),
        param(params, "code_challenge_method"),
    ) {
        (Some(challenge), Some("S256")) if challenge.len() == 43 => challenge.to_owned(),
        _ => {
            return Err(back(
                "invalid_request",
                "PKCE is required: code_challenge (43 characters) with code_challenge_method S256",
            ))
        }
    };
    // SMART: `aud` names the FHIR server the token is for; a token asked for
    // another server must not be minted here.
    if param(params, "aud").map(|aud| aud.trim_end_matches('/')) != Some(context.endpoints.audience.as_str())
    {
        return Err(back(
            "invalid_request",
            &format!("aud must be this FHIR server: {}", context.endpoints.audience),
        ));
    }
    let scope = Scopes::parse(param(params, "scope").unwrap_or_default())
        .map_err(|error| back("invalid_scope", &error.to_string()))?;
    let launch = match param(params, "launch") {
        None => None,
        Some(launch_id) => {
            let found = async { context.store.session().await?.launch_context(launch_id).await }.await;
            match found {
                Ok(Some(launch)) if launch.tenant == client.tenant => Some(launch),
                Ok(_) => return Err(back("invalid_request", "the launch is unknown or expired")),
                Err(error) => {
                    tracing::error!(%error, "reading a launch context");
                    return Err(back("temporarily_unavailable", "try again"));
                }
            }
        }
    };
    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        state,
        scope,
        code_challenge,
        nonce: param(params, "nonce").map(str::to_owned),
        launch,
    })
}

/// The request's own parameters (for the sign-in page's hidden fields).
fn request_params(params: &[(String, String)]) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(name, _)| REQUEST_PARAMS.contains(&name.as_str()))
        .cloned()
        .collect()
}

async fn start(context: web::Data<AuthContext>, query: web::Query<Vec<(String, String)>>) -> HttpResponse {
    let params = query.into_inner();
    match check_request(&context, &params).await {
        Ok(request) => pages::sign_in_page(&request.client.name, &request_params(&params), None),
        Err(refusal) => refusal.answer(&context.endpoints.issuer),
    }
}

/// What the consent page's ticket says: who signed in and what the app gets.
#[derive(Debug, Serialize, Deserialize)]
struct Ticket {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    scope: String,
    code_challenge: String,
    nonce: Option<String>,
    patient: Option<String>,
    encounter: Option<String>,
    /// The user is to pick the patient.
    pick_patient: bool,
}

fn ticket_audience(context: &AuthContext) -> String {
    format!("{}/authorize", context.endpoints.issuer)
}

async fn sign_in(context: web::Data<AuthContext>, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let params = form.into_inner();
    let request = match check_request(&context, &params).await {
        Ok(request) => request,
        Err(refusal) => return refusal.answer(&context.endpoints.issuer),
    };
    let retry =
        |error: &str| pages::sign_in_page(&request.client.name, &request_params(&params), Some(error));
    // Without credentials this is an authorization request sent by POST
    // (`authorize-post`): the sign-in page, as for GET.
    let (Some(username), Some(password)) = (param(&params, "username"), param(&params, "password")) else {
        return pages::sign_in_page(&request.client.name, &request_params(&params), None);
    };
    if context.sign_in_limits.check(username).is_err() {
        return retry("Too many attempts for this username; wait a minute and try again.");
    }
    let user = match context.users.sign_in(username, password).await {
        Ok(Some(user)) => user,
        Ok(None) => return retry("Wrong username or password."),
        Err(error) => {
            tracing::error!(%error, "signing a user in");
            return retry("Sign-in is unavailable; try again.");
        }
    };
    let back = |error: &'static str, description: &str| {
        Refusal::Redirect {
            redirect_uri: request.redirect_uri.clone(),
            state: request.state.clone(),
            error,
            description: description.to_owned(),
        }
        .answer(&context.endpoints.issuer)
    };
    if user.tenant != request.client.tenant {
        return back(
            "access_denied",
            "the user does not belong to the app's organisation",
        );
    }
    let granted = match grant_for_user(&request, &user) {
        Ok(granted) => granted,
        Err(why) => return back("invalid_scope", &why),
    };
    let in_context = |scope: Scope| granted.contains(&scope) || granted.contains(&Scope::Launch);
    let launch = request.launch.as_ref();
    let patient = launch
        .and_then(|launch| launch.patient.clone())
        .filter(|_| in_context(Scope::LaunchPatient));
    let encounter = launch
        .and_then(|launch| launch.encounter.clone())
        .filter(|_| in_context(Scope::LaunchEncounter));
    let pick_patient = patient.is_none() && granted.contains(&Scope::LaunchPatient);
    let ticket = Ticket {
        iss: context.endpoints.issuer.clone(),
        aud: ticket_audience(&context),
        sub: user.user_id.clone(),
        exp: Utc::now().timestamp() + TICKET_LIFETIME_SECS,
        client_id: request.client.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        scope: granted.to_string(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        patient,
        encounter,
        pick_patient,
    };
    let signed = match serde_json::to_value(&ticket)
        .map_err(|e| super::AuthError::Internal(e.to_string()))
        .and_then(|claims| context.tokens.sign(&claims))
    {
        Ok(signed) => signed,
        Err(error) => {
            tracing::error!(%error, "signing a sign-in ticket");
            return back("server_error", "try again");
        }
    };
    consent(&context, &ticket, &signed, &user, None, None).await
}

/// The scopes an app gets for a user: asked for, within the client's registration
/// and within what the user may grant; `system/` scopes never (they are for
/// backend services), `launch` only with a launch. `online_access` needs no
/// listing in the user's scopes: it reaches nothing more, it only lets the app
/// (the console, typically) keep the session the user is in, for at most a working
/// day, until they sign out. Something must reach data: a resource scope or one of
/// Claimbridge's roles (an admin's user with `scopes: "admin"` signs in to the
/// console with that role alone).
fn grant_for_user(request: &AuthorizationRequest, user: &User) -> Result<Scopes, String> {
    let mut asked = Scopes::default();
    for scope in request.scope.iter() {
        let for_backends = scope
            .as_resource()
            .is_some_and(|scope| scope.context == ScopeContext::System);
        let launch_without_one = *scope == Scope::Launch && request.launch.is_none();
        if !for_backends && !launch_without_one {
            asked.insert(scope.clone());
        }
    }
    let registered = Scopes::parse_lenient(&request.client.scopes).0;
    let mut allowed = Scopes::parse_lenient(&user.scopes).0;
    allowed.insert(Scope::OnlineAccess);
    let for_client = grant_requested_scopes(&asked, &registered).granted;
    let granted = grant_requested_scopes(&for_client, &allowed).granted;
    let has_role = [Role::Admin, Role::Biller, Role::Auditor]
        .into_iter()
        .any(|role| granted.has_role(role));
    if granted.resource_scopes().next().is_none() && !has_role {
        return Err("none of the scopes asked for can be granted to this app for this user".into());
    }
    Ok(granted)
}

async fn consent(
    context: &AuthContext,
    ticket: &Ticket,
    signed: &str,
    user: &User,
    search: Option<&str>,
    error: Option<&str>,
) -> HttpResponse {
    let app_name = match context.clients.client(&ticket.client_id).await {
        Ok(Some(client)) => client.name,
        _ => ticket.client_id.clone(),
    };
    let matches = match search.filter(|name| !name.trim().is_empty()) {
        Some(name) => find_patients(context, &user.tenant, &format!("name={}", urlencode(name))).await,
        None => Vec::new(),
    };
    let picker = ticket.pick_patient.then(|| PatientPicker {
        name: search.unwrap_or_default(),
        matches,
    });
    pages::consent_page(&ConsentView {
        app_name: &app_name,
        user_name: &user.display_name,
        scopes: ticket.scope.split(' ').map(describe_scope).collect(),
        ticket: signed,
        picker,
        error,
    })
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `(id, "Family, Given (born YYYY-MM-DD)")` of the patients of the user's tenant
/// a search finds.
async fn find_patients(context: &AuthContext, tenant: &str, query: &str) -> Vec<(String, String)> {
    let found = async {
        let mut session = context.store.session_in(&Tenant::new(tenant)).await?;
        crate::fhir::search::find(
            &mut session,
            ResourceType::Patient,
            query,
            &context.endpoints.audience,
            PICKER_MATCHES,
        )
        .await
    }
    .await;
    match found {
        Ok(found) => found
            .into_iter()
            .map(|patient| {
                let resource: Value = serde_json::from_str(&patient.body).unwrap_or_default();
                (patient.id, patient_label(&resource))
            })
            .collect(),
        Err(error) => {
            tracing::error!(%error, "the patient picker's search");
            Vec::new()
        }
    }
}

fn patient_label(patient: &Value) -> String {
    let name = &patient["name"][0];
    let given: Vec<&str> = name["given"]
        .as_array()
        .map(|given| given.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let family = name["family"].as_str().unwrap_or("(no family name)");
    let born = patient["birthDate"].as_str().unwrap_or("unknown");
    format!("{family}, {} (born {born})", given.join(" "))
}

/// The ticket on a consent form, checked, with its user.
async fn open_ticket(context: &AuthContext, signed: Option<&str>) -> Result<(Ticket, User), HttpResponse> {
    let expired = || {
        pages::error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired or is not valid; start again from the app.",
        )
    };
    let signed = signed.ok_or_else(expired)?;
    let ticket: Ticket = context
        .tokens
        .decode(signed, &ticket_audience(context))
        .await
        .map_err(|_| expired())?;
    match context.users.user(&ticket.sub).await {
        Ok(Some(user)) if user.enabled => Ok((ticket, user)),
        _ => Err(expired()),
    }
}

async fn pick_patient(
    context: web::Data<AuthContext>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let params = query.into_inner();
    let signed = param(&params, "ticket");
    match open_ticket(&context, signed).await {
        Ok((ticket, user)) => {
            consent(
                &context,
                &ticket,
                signed.unwrap_or_default(),
                &user,
                param(&params, "name"),
                None,
            )
            .await
        }
        Err(page) => page,
    }
}

async fn decide(context: web::Data<AuthContext>, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let params = form.into_inner();
    let signed = param(&params, "ticket");
    let (ticket, user) = match open_ticket(&context, signed).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let back = |error: &'static str, description: &str| {
        Refusal::Redirect {
            redirect_uri: ticket.redirect_uri.clone(),
            state: ticket.state.clone(),
            error,
            description: description.to_owned(),
        }
        .answer(&context.endpoints.issuer)
    };
    if param(&params, "decision") != Some("allow") {
        return back("access_denied", "the user did not allow access");
    }
    let patient = if ticket.pick_patient {
        let picked = param(&params, "patient").unwrap_or_default();
        let exists = !picked.is_empty()
            && super::launch::exists(
                &context,
                &Tenant::new(user.tenant.as_str()),
                ResourceType::Patient,
                picked,
            )
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "checking the picked patient");
                false
            });
        if !exists {
            return consent(
                &context,
                &ticket,
                signed.unwrap_or_default(),
                &user,
                None,
                Some("Choose the patient first."),
            )
            .await;
        }
        Some(picked.to_owned())
    } else {
        ticket.patient.clone()
    };
    let issued = context
        .grants
        .issue_code(Consent {
            client_id: ticket.client_id.clone(),
            user_id: user.user_id.clone(),
            redirect_uri: ticket.redirect_uri.clone(),
            scope: ticket.scope.clone(),
            code_challenge: ticket.code_challenge.clone(),
            nonce: ticket.nonce.clone(),
            patient,
            encounter: ticket.encounter.clone(),
        })
        .await;
    match issued {
        Ok(code) => {
            let mut params = vec![("code", code)];
            params.extend(ticket.state.clone().map(|state| ("state", state)));
            params.push(("iss", context.endpoints.issuer.clone()));
            redirect(&ticket.redirect_uri, &params)
        }
        Err(error) => {
            tracing::error!(%error, "issuing an authorization code");
            back("server_error", "try again")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patient_reads_as_name_and_birth_date() {
        let patient =
            json!({"name": [{"family": "Chalmers", "given": ["Peter", "James"]}], "birthDate": "1974-12-25"});
        assert_eq!(patient_label(&patient), "Chalmers, Peter James (born 1974-12-25)");
    }
}
