//! SMART App Launch as apps and people meet it: the `oauth2` crate as the app
//! (authorization code with PKCE, refresh, introspection, revocation), a person
//! signing in and consenting through the server's HTML forms, an EHR handing over
//! its launch context, and the `openidconnect` crate discovering the issuer and
//! checking the id token.

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, IntrospectionUrl, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RevocationUrl,
    Scope, StandardRevocableToken, StandardTokenResponse, TokenIntrospectionResponse, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::{oauth_http, refusal};
use crate::helpers::{bearer_client, TestApp};

crate::on_both_backends!(
    a_standalone_launch_picks_a_patient_and_refreshes,
    an_ehr_launch_hands_over_its_context,
    the_authorization_endpoint_refuses_what_it_must,
    tokens_are_introspected_and_revoked,
    openid_connect_discovers_the_issuer_and_checks_the_id_token,
    patient_scopes_reach_the_launch_patients_compartment_only,
    bundle_entries_are_checked_one_by_one,
    a_constrained_scope_reads_only_what_matches,
);

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const PASSWORD: &str = "correct horse battery staple";

/// What SMART adds to a token response.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SmartFields {
    patient: Option<String>,
    encounter: Option<String>,
    id_token: Option<String>,
    need_patient_banner: Option<bool>,
}

impl ExtraTokenFields for SmartFields {}

type SmartTokenResponse = StandardTokenResponse<SmartFields, BasicTokenType>;

/// An app as the `oauth2` crate makes it: authorization, token, introspection and
/// revocation endpoints set.
type SmartApp = oauth2::Client<
    BasicErrorResponse,
    SmartTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointSet,
    EndpointSet,
    EndpointSet,
>;

fn smart_app(app: &TestApp, client_id: &str, secret: Option<&str>) -> SmartApp {
    let client = oauth2::Client::new(ClientId::new(client_id.into()))
        .set_auth_uri(AuthUrl::new(app.server_url("/auth/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(app.server_url("/auth/token")).unwrap())
        .set_introspection_url(IntrospectionUrl::new(app.server_url("/auth/introspect")).unwrap())
        // https: see `oauth_http`.
        .set_revocation_url(
            RevocationUrl::new(app.server_url("/auth/revoke").replacen("http://", "https://", 1)).unwrap(),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    match secret {
        Some(secret) => client
            .set_client_secret(ClientSecret::new(secret.into()))
            .set_auth_type(AuthType::BasicAuth),
        // A public client names itself in the form.
        None => client.set_auth_type(AuthType::RequestBody),
    }
}

async fn register_client(app: &TestApp, client: Value) -> Value {
    let (status, body) = app.api_post("/admin/clients", &client).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn register_user(app: &TestApp, user: Value) -> Value {
    let (status, body) = app.api_post("/admin/users", &user).await;
    assert_eq!(status, 201, "{body}");
    assert!(body.get("passwordHash").is_none() && body.get("password").is_none());
    body
}

async fn public_app(app: &TestApp, client_id: &str, scopes: &str) -> SmartApp {
    register_client(
        app,
        json!({"clientId": client_id, "name": "Chart viewer <b>", "type": "public",
               "redirectUris": [REDIRECT], "scopes": scopes}),
    )
    .await;
    smart_app(app, client_id, None)
}

/// The authorization URL with PKCE S256 and SMART's `aud`, plus `extra` parameters.
fn authorization_url(
    app: &TestApp,
    smart: &SmartApp,
    scopes: &str,
    extra: &[(&str, &str)],
) -> (url::Url, CsrfToken, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = smart
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_extra_param("aud", app.base.clone());
    for scope in scopes.split(' ') {
        request = request.add_scope(Scope::new(scope.into()));
    }
    for (name, value) in extra {
        request = request.add_extra_param(*name, *value);
    }
    let (url, state) = request.url();
    (url, state, verifier)
}

/// A person at a browser: follows nothing by itself, so each redirect is seen.
struct Browser {
    http: reqwest::Client,
}

/// The page's form fields: hidden inputs and radio choices, unescaped.
pub(crate) fn form_fields(html: &str, kind: &str) -> Vec<(String, String)> {
    let unescape = |text: &str| {
        text.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    html.split("<input")
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>')?];
            if attribute(tag, "type")? != kind {
                return None;
            }
            Some((attribute(tag, "name")?, attribute(tag, "value")?))
        })
        .collect()
}

impl Browser {
    fn new() -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn get(&self, url: &str) -> (u16, String) {
        let answer = self.http.get(url).send().await.unwrap();
        (answer.status().as_u16(), answer.text().await.unwrap())
    }

    async fn post(&self, url: &str, form: &[(String, String)]) -> reqwest::Response {
        self.http.post(url).form(form).send().await.unwrap()
    }

    /// Opens the authorization URL and signs in; the consent page's HTML.
    async fn sign_in(&self, app: &TestApp, url: &url::Url, username: &str, password: &str) -> (u16, String) {
        let (status, page) = self.get(url.as_str()).await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("<form method=\"post\" action=\"/auth/authorize\">"),
            "{page}"
        );
        let mut form = form_fields(&page, "hidden");
        form.push(("username".into(), username.into()));
        form.push(("password".into(), password.into()));
        let answer = self.post(&app.server_url("/auth/authorize"), &form).await;
        (answer.status().as_u16(), answer.text().await.unwrap())
    }

    /// Decides on the consent page (with the patient picked, if any); where the
    /// server sends the browser.
    async fn decide(&self, app: &TestApp, consent: &str, decision: &str, patient: Option<&str>) -> url::Url {
        let mut form = form_fields(consent, "hidden");
        form.push(("decision".into(), decision.into()));
        if let Some(patient) = patient {
            form.push(("patient".into(), patient.into()));
        }
        let answer = self.post(&app.server_url("/auth/authorize/consent"), &form).await;
        assert_eq!(answer.status(), 303, "{}", answer.text().await.unwrap());
        redirected(&answer)
    }
}

fn redirected(answer: &reqwest::Response) -> url::Url {
    url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap()
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The code a redirect carries, after checking it belongs to this request.
fn code_of(redirect: &url::Url, state: &CsrfToken, app: &TestApp) -> AuthorizationCode {
    assert!(redirect.as_str().starts_with(REDIRECT), "{redirect}");
    assert_eq!(query(redirect, "state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(query(redirect, "iss"), Some(app.server_url("/auth")));
    AuthorizationCode::new(query(redirect, "code").expect("a code"))
}

async fn a_patient(app: &TestApp, family: &str) -> String {
    let created = app
        .create(
            &json!({"resourceType": "Patient", "name": [{"family": family, "given": ["Amy"]}],
                        "birthDate": "1980-02-03"}),
        )
        .await;
    created["id"].as_str().unwrap().to_owned()
}

async fn a_standalone_launch_picks_a_patient_and_refreshes(app: &TestApp) {
    let patient = a_patient(app, "Shepherd").await;
    a_patient(app, "Shepard").await;
    register_user(
        app,
        json!({"username": "dr.lee", "password": PASSWORD, "displayName": "Dr Lee",
               "fhirUser": "Practitioner/lee"}),
    )
    .await;
    let scopes = "launch/patient openid fhirUser offline_access user/Patient.rs user/Claim.rs";
    let smart = public_app(app, "chart-viewer", scopes).await;
    let (url, state, verifier) = authorization_url(app, &smart, scopes, &[]);

    let browser = Browser::new();
    let (status, consent) = browser.sign_in(app, &url, "dr.lee", PASSWORD).await;
    assert_eq!(status, 200, "{consent}");
    assert!(
        consent.contains("Dr Lee") && consent.contains("Chart viewer &lt;b&gt;"),
        "{consent}"
    );
    assert!(consent.contains("read, search Patient records you can access (user/Patient.rs)"));
    // No patient came with the launch: the picker searches by name.
    let ticket = form_fields(&consent, "hidden")[0].1.clone();
    let (status, found) = browser
        .get(&format!(
            "{}?ticket={ticket}&name=Shepherd",
            app.server_url("/auth/authorize/consent")
        ))
        .await;
    assert_eq!(status, 200);
    let choices = form_fields(&found, "radio");
    assert_eq!(choices, vec![("patient".to_owned(), patient.clone())], "{found}");
    assert!(found.contains("Shepherd, Amy (born 1980-02-03)"));
    // Allowing without choosing is sent back to choose.
    let mut form = form_fields(&found, "hidden");
    form.push(("decision".into(), "allow".into()));
    let unchosen = browser
        .post(&app.server_url("/auth/authorize/consent"), &form)
        .await;
    assert_eq!(unchosen.status(), 422);

    let redirect = browser.decide(app, &found, "allow", Some(&patient)).await;
    let token = smart
        .exchange_code(code_of(&redirect, &state, app))
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http)
        .await
        .expect("tokens for the code");
    assert_eq!(token.extra_fields().patient.as_deref(), Some(patient.as_str()));
    assert_eq!(token.extra_fields().need_patient_banner, Some(true));
    assert!(token.extra_fields().id_token.is_some());
    let granted: Vec<String> = token.scopes().unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(granted.join(" "), scopes);

    // The token reads as the user's scopes allow, and nothing else.
    let reader = bearer_client(token.access_token().secret());
    let read = reader
        .get(app.url(&format!("Patient/{patient}")))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let write = reader
        .post(app.url("Patient"))
        .json(&json!({"resourceType": "Patient"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);

    // Refreshing rotates: the new refresh token works, the old one has leaked.
    let first_refresh = token.refresh_token().unwrap().clone();
    let refreshed = smart
        .exchange_refresh_token(&first_refresh)
        .request_async(&oauth_http)
        .await
        .expect("a refreshed token");
    assert_eq!(
        refreshed.extra_fields().patient.as_deref(),
        Some(patient.as_str())
    );
    let second_refresh = refreshed.refresh_token().unwrap().clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    let narrowed = smart
        .exchange_refresh_token(&second_refresh)
        .add_scope(Scope::new("user/Claim.rs".into()))
        .add_scope(Scope::new("offline_access".into()))
        .request_async(&oauth_http)
        .await
        .expect("a narrowed token");
    assert_eq!(
        narrowed
            .scopes()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        vec!["user/Claim.rs", "offline_access"]
    );
    let third_refresh = narrowed.refresh_token().unwrap().clone();
    let replayed = smart
        .exchange_refresh_token(&first_refresh)
        .request_async(&oauth_http)
        .await;
    assert!(
        refusal(&replayed).starts_with("invalid_grant"),
        "{}",
        refusal(&replayed)
    );
    // The replay revoked the whole grant: its newest refresh token and its access tokens.
    let after = smart
        .exchange_refresh_token(&third_refresh)
        .request_async(&oauth_http)
        .await;
    assert!(
        refusal(&after).starts_with("invalid_grant"),
        "{}",
        refusal(&after)
    );
    let revoked = bearer_client(narrowed.access_token().secret())
        .get(app.url("Claim"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);
}

async fn an_ehr_launch_hands_over_its_context(app: &TestApp) {
    let patient = a_patient(app, "Okafor").await;
    let encounter = app
        .create(&json!({"resourceType": "Encounter", "status": "in-progress",
                        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                        "subject": {"reference": format!("Patient/{patient}")}}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    register_user(app, json!({"username": "nurse.kim", "password": PASSWORD})).await;
    let registered = register_client(
        app,
        json!({"clientId": "growth-charts", "name": "Growth charts", "type": "confidential",
               "redirectUris": [REDIRECT], "scopes": "launch openid user/*.rs"}),
    )
    .await;
    let smart = smart_app(app, "growth-charts", registered["clientSecret"].as_str());

    // The EHR makes the launch with its own token; someone without one cannot.
    let anonymous = reqwest::Client::new()
        .post(app.server_url("/auth/launch"))
        .json(&json!({"patient": patient}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let (status, body) = app
        .api_post("/auth/launch", &json!({"patient": "no-such-patient"}))
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("patient")));
    let (status, launch) = app
        .api_post(
            "/auth/launch",
            &json!({"patient": patient, "encounter": encounter}),
        )
        .await;
    assert_eq!(status, 201, "{launch}");
    assert_eq!(launch["iss"], app.base);

    let (url, state, verifier) = authorization_url(
        app,
        &smart,
        "launch openid user/*.rs",
        &[("launch", launch["launch"].as_str().unwrap())],
    );
    let browser = Browser::new();
    let (status, consent) = browser.sign_in(app, &url, "nurse.kim", PASSWORD).await;
    assert_eq!(status, 200, "{consent}");
    assert!(
        form_fields(&consent, "radio").is_empty(),
        "no picker: the EHR said who"
    );
    let redirect = browser.decide(app, &consent, "allow", None).await;
    let token = smart
        .exchange_code(code_of(&redirect, &state, app))
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http)
        .await
        .expect("tokens for the code");
    assert_eq!(token.extra_fields().patient.as_deref(), Some(patient.as_str()));
    assert_eq!(
        token.extra_fields().encounter.as_deref(),
        Some(encounter.as_str())
    );
    assert!(
        token.refresh_token().is_none(),
        "neither offline nor online access was asked"
    );
}

async fn the_authorization_endpoint_refuses_what_it_must(app: &TestApp) {
    register_user(app, json!({"username": "clerk", "password": PASSWORD})).await;
    let smart = public_app(app, "scheduler", "user/*.rs").await;
    let browser = Browser::new();

    // Nothing is sent to a redirect URI the server cannot trust.
    let (url, _, _) = authorization_url(app, &smart, "user/*.rs", &[]);
    let unknown = url.as_str().replace("client_id=scheduler", "client_id=nobody");
    assert_eq!(browser.get(&unknown).await.0, 400);
    let elsewhere = url
        .as_str()
        .replace("127.0.0.1%3A9%2Fcallback", "evil.example%2Fcallback");
    assert_ne!(elsewhere, url.as_str());
    assert_eq!(browser.get(&elsewhere).await.0, 400);

    // What the app got wrong goes back to the app, with its state.
    let without_pkce = url::Url::parse_with_params(
        &app.server_url("/auth/authorize"),
        &[
            ("response_type", "code"),
            ("client_id", "scheduler"),
            ("redirect_uri", REDIRECT),
            ("scope", "user/*.rs"),
            ("state", "s1"),
            ("aud", app.base.as_str()),
        ],
    )
    .unwrap();
    let answer = browser.http.get(without_pkce).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    let back = redirected(&answer);
    assert_eq!(
        (query(&back, "error").as_deref(), query(&back, "state").as_deref()),
        (Some("invalid_request"), Some("s1"))
    );
    let (other_server, _, _) = authorization_url(app, &smart, "user/*.rs", &[]);
    let other_server = other_server.as_str().replace(
        &url::form_urlencoded::byte_serialize(app.base.as_bytes()).collect::<String>(),
        "https%3A%2F%2Fother.example%2Ffhir",
    );
    let answer = browser.http.get(&other_server).send().await.unwrap();
    assert_eq!(
        query(&redirected(&answer), "error").as_deref(),
        Some("invalid_request")
    );

    // A wrong password is refused on the page, without saying which part was wrong.
    let (status, page) = browser
        .sign_in(app, &url, "clerk", "not the password at all")
        .await;
    assert_eq!(status, 401);
    assert!(page.contains("Wrong username or password."), "{page}");
    let (status, _) = browser.sign_in(app, &url, "nobody", PASSWORD).await;
    assert_eq!(status, 401);

    // Denying sends access_denied back.
    let (_, consent) = browser.sign_in(app, &url, "clerk", PASSWORD).await;
    let denied = browser.decide(app, &consent, "deny", None).await;
    assert_eq!(query(&denied, "error").as_deref(), Some("access_denied"));

    // A code redeems once, only with its verifier, only by its client.
    let (url, state, verifier) = authorization_url(app, &smart, "user/*.rs", &[]);
    let (_, consent) = browser.sign_in(app, &url, "clerk", PASSWORD).await;
    let code = code_of(&browser.decide(app, &consent, "allow", None).await, &state, app);
    let wrong_verifier = smart
        .exchange_code(AuthorizationCode::new(code.secret().clone()))
        .set_pkce_verifier(PkceCodeVerifier::new("x".repeat(64)))
        .request_async(&oauth_http)
        .await;
    assert!(
        refusal(&wrong_verifier).starts_with("invalid_grant"),
        "{}",
        refusal(&wrong_verifier)
    );
    // The failed attempt used the code up.
    let after_failure = smart
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http)
        .await;
    assert!(refusal(&after_failure).starts_with("invalid_grant"));

    let (url, state, verifier) = authorization_url(app, &smart, "user/*.rs", &[]);
    let (_, consent) = browser.sign_in(app, &url, "clerk", PASSWORD).await;
    let code = code_of(&browser.decide(app, &consent, "allow", None).await, &state, app);
    let verifier_text = verifier.secret().clone();
    public_app(app, "intruder", "user/*.rs").await;
    let stolen = smart_app(app, "intruder", None)
        .exchange_code(AuthorizationCode::new(code.secret().clone()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier_text.clone()))
        .request_async(&oauth_http)
        .await;
    assert!(refusal(&stolen).starts_with("invalid_grant"));

    let (url, state, verifier) = authorization_url(app, &smart, "user/*.rs", &[]);
    let (_, consent) = browser.sign_in(app, &url, "clerk", PASSWORD).await;
    let code = code_of(&browser.decide(app, &consent, "allow", None).await, &state, app);
    smart
        .exchange_code(AuthorizationCode::new(code.secret().clone()))
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http)
        .await
        .expect("the first redemption");
    let replay = smart
        .exchange_code(code)
        .set_pkce_verifier(PkceCodeVerifier::new(verifier_text))
        .request_async(&oauth_http)
        .await;
    assert!(refusal(&replay).starts_with("invalid_grant"));

    // system/ scopes are never granted to a user's app.
    let (url, _, _) = authorization_url(app, &smart, "system/*.rs", &[]);
    let (status, _) = browser.sign_in(app, &url, "clerk", PASSWORD).await;
    assert_eq!(status, 303);
}

async fn tokens_are_introspected_and_revoked(app: &TestApp) {
    register_user(app, json!({"username": "biller.ann", "password": PASSWORD})).await;
    let smart = public_app(app, "claims-app", "user/Claim.rs online_access").await;
    let resource_server = register_client(
        app,
        json!({"clientId": "gateway", "name": "API gateway", "type": "confidential",
               "scopes": "system/Claim.rs"}),
    )
    .await;
    let gateway = smart_app(app, "gateway", resource_server["clientSecret"].as_str());

    let browser = Browser::new();
    let (url, state, verifier) = authorization_url(app, &smart, "user/Claim.rs online_access", &[]);
    let (_, consent) = browser.sign_in(app, &url, "biller.ann", PASSWORD).await;
    let code = code_of(&browser.decide(app, &consent, "allow", None).await, &state, app);
    let token = smart
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http)
        .await
        .unwrap();
    let access = token.access_token().clone();
    let refresh = token.refresh_token().unwrap().clone();

    let seen = gateway
        .introspect(&access)
        .request_async(&oauth_http)
        .await
        .expect("an introspection");
    assert!(seen.active());
    assert_eq!(seen.client_id().map(|id| id.as_str()), Some("claims-app"));
    assert_eq!(
        seen.scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        Some(vec!["user/Claim.rs".to_owned(), "online_access".to_owned()])
    );
    let garbage = gateway
        .introspect(&oauth2::AccessToken::new("not-a-token".into()))
        .request_async(&oauth_http)
        .await
        .unwrap();
    assert!(!garbage.active());
    // A public client cannot introspect.
    let public = smart.introspect(&access).request_async(&oauth_http).await;
    assert!(public.is_err());

    // Another client cannot revoke the app's token; the app can.
    let foreign = gateway
        .revoke_token(StandardRevocableToken::AccessToken(access.clone()))
        .unwrap()
        .request_async(&oauth_http)
        .await;
    assert!(foreign.is_err());
    let reader = bearer_client(access.secret());
    assert_eq!(reader.get(app.url("Claim")).send().await.unwrap().status(), 200);
    smart
        .revoke_token(StandardRevocableToken::AccessToken(access.clone()))
        .unwrap()
        .request_async(&oauth_http)
        .await
        .expect("revoked");
    assert_eq!(reader.get(app.url("Claim")).send().await.unwrap().status(), 401);
    let seen = gateway
        .introspect(&access)
        .request_async(&oauth_http)
        .await
        .unwrap();
    assert!(!seen.active());

    // Revoking the refresh token ends the grant.
    let live = gateway
        .introspect(&oauth2::AccessToken::new(refresh.secret().clone()))
        .request_async(&oauth_http)
        .await
        .unwrap();
    assert!(live.active());
    smart
        .revoke_token(StandardRevocableToken::RefreshToken(refresh.clone()))
        .unwrap()
        .request_async(&oauth_http)
        .await
        .expect("revoked");
    let refused = smart
        .exchange_refresh_token(&refresh)
        .request_async(&oauth_http)
        .await;
    assert!(refusal(&refused).starts_with("invalid_grant"));
}

async fn openid_connect_discovers_the_issuer_and_checks_the_id_token(app: &TestApp) {
    use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
    use openidconnect::{IssuerUrl, Nonce};

    register_user(
        app,
        json!({"username": "dr.patel", "password": PASSWORD, "fhirUser": "Practitioner/patel"}),
    )
    .await;
    let registered = register_client(
        app,
        json!({"clientId": "portal", "name": "Portal", "type": "confidential",
               "redirectUris": [REDIRECT], "scopes": "openid fhirUser user/Patient.rs"}),
    )
    .await;
    let issuer = IssuerUrl::new(app.server_url("/auth")).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &oauth_http)
        .await
        .expect("the issuer's OpenID configuration");
    assert_eq!(
        metadata.token_endpoint().map(|url| url.as_str().to_owned()),
        Some(app.server_url("/auth/token"))
    );
    let oidc = CoreClient::from_provider_metadata(
        metadata,
        openidconnect::ClientId::new("portal".into()),
        registered["clientSecret"]
            .as_str()
            .map(|secret| openidconnect::ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(openidconnect::RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = openidconnect::PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = oidc
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            openidconnect::CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(openidconnect::Scope::new("fhirUser".into()))
        .add_scope(openidconnect::Scope::new("user/Patient.rs".into()))
        .add_extra_param("aud", app.base.clone())
        .set_pkce_challenge(challenge)
        .url();
    let browser = Browser::new();
    let (status, consent) = browser.sign_in(app, &url, "dr.patel", PASSWORD).await;
    assert_eq!(status, 200, "{consent}");
    let redirect = browser.decide(app, &consent, "allow", None).await;
    assert_eq!(
        query(&redirect, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let token = oidc
        .exchange_code(openidconnect::AuthorizationCode::new(
            query(&redirect, "code").unwrap(),
        ))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http)
        .await
        .expect("tokens for the code");
    let id_token = openidconnect::TokenResponse::id_token(&token).expect("an id token");
    let claims = id_token
        .claims(&oidc.id_token_verifier(), &nonce)
        .expect("a valid id token: signature, issuer, audience, nonce");
    let (_, user) = app.api_get("/admin/users").await;
    let patel = user["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["username"] == "dr.patel")
        .unwrap();
    assert_eq!(claims.subject().as_str(), patel["userId"].as_str().unwrap());
    // A nonce other than the one sent is refused.
    assert!(id_token
        .claims(&oidc.id_token_verifier(), &Nonce::new("another".into()))
        .is_err());
}

fn claim_for(patient: &str) -> Value {
    json!({"resourceType": "Claim", "status": "active",
           "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
           "use": "claim", "patient": {"reference": format!("Patient/{patient}")},
           "created": "2026-11-01", "provider": {"reference": "Organization/clinic"},
           "priority": {"coding": [{"code": "normal"}]},
           "insurance": [{"sequence": 1, "focal": true, "coverage": {"reference": "Coverage/cov-1"}}]})
}

async fn patient_scopes_reach_the_launch_patients_compartment_only(app: &TestApp) {
    let mine = a_patient(app, "Mine").await;
    let theirs = a_patient(app, "Theirs").await;
    app.create(&claim_for(&mine)).await;
    app.create(&claim_for(&theirs)).await;
    register_user(app, json!({"username": "pat.mine", "password": PASSWORD})).await;
    let scopes = "launch/patient patient/*.rs patient/Claim.cruds";
    let smart = public_app(app, "patient-app", scopes).await;
    let (url, state, verifier) = authorization_url(app, &smart, scopes, &[]);
    let browser = Browser::new();
    let (_, consent) = browser.sign_in(app, &url, "pat.mine", PASSWORD).await;
    let redirect = browser.decide(app, &consent, "allow", Some(&mine)).await;
    let token = smart
        .exchange_code(code_of(&redirect, &state, app))
        .set_pkce_verifier(verifier)
        .request_async(&oauth_http)
        .await
        .unwrap();
    let client = bearer_client(token.access_token().secret());
    let status = |path: String| {
        let client = client.clone();
        async move { client.get(app.url(&path)).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(format!("Patient/{mine}")).await, 200);
    assert_eq!(status(format!("Patient/{theirs}")).await, 403);
    assert_eq!(status("Claim/_history".into()).await, 403);

    let claims: Value = client
        .get(app.url("Claim?_include=Claim:patient"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let found: Vec<String> = claims["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(
            |entry| match entry["resource"]["resourceType"].as_str().unwrap() {
                "Claim" => entry["resource"]["patient"]["reference"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                _ => format!("Patient/{}", entry["resource"]["id"].as_str().unwrap()),
            },
        )
        .collect();
    assert_eq!(
        found,
        vec![format!("Patient/{mine}"), format!("Patient/{mine}")],
        "{claims}"
    );
    let everyone: Value = client
        .get(app.url("Patient"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(everyone["entry"].as_array().unwrap().len(), 1, "{everyone}");

    let write = |claim: Value| {
        let client = client.clone();
        async move {
            client
                .post(app.url("Claim"))
                .json(&claim)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(write(claim_for(&theirs)).await, 403);
    assert_eq!(write(claim_for(&mine)).await, 201);
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": []});
    let posted = client.post(&app.base).json(&bundle).send().await.unwrap();
    assert_eq!(posted.status(), 403);
}

async fn bundle_entries_are_checked_one_by_one(app: &TestApp) {
    let registered = register_client(
        app,
        json!({"clientId": "claims-loader", "name": "Claims loader", "type": "confidential",
               "scopes": "system/Claim.cruds"}),
    )
    .await;
    let token = crate::helpers::client_credentials_token(
        &app.base,
        "claims-loader",
        registered["clientSecret"].as_str().unwrap(),
        None,
    )
    .await;
    let loader = bearer_client(&token);
    let entries = json!([
        {"resource": claim_for("p-1"), "request": {"method": "POST", "url": "Claim"}},
        {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
    ]);
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let refused = loader.post(&app.base).json(&transaction).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let outcome: Value = refused.json().await.unwrap();
    assert!(outcome.to_string().contains("Bundle.entry[1]"), "{outcome}");
    let claims: Value = app.get("Claim").await.json().await.unwrap();
    assert!(
        claims["entry"]
            .as_array()
            .is_none_or(|entries| entries.is_empty()),
        "nothing of the refused transaction was written: {claims}"
    );

    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": entries});
    let answered: Value = loader
        .post(&app.base)
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statuses: Vec<&str> = answered["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["response"]["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses[0].starts_with("201") && statuses[1].starts_with("403"),
        "{answered}"
    );
}

async fn a_constrained_scope_reads_only_what_matches(app: &TestApp) {
    let active = app.create(&claim_for("p-1")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut draft = claim_for("p-1");
    draft["status"] = json!("draft");
    let draft = app.create(&draft).await["id"].as_str().unwrap().to_owned();
    let registered = register_client(
        app,
        json!({"clientId": "active-claims", "name": "Active claims report", "type": "confidential",
               "scopes": "system/Claim.rs?status=active"}),
    )
    .await;
    let token = crate::helpers::client_credentials_token(
        &app.base,
        "active-claims",
        registered["clientSecret"].as_str().unwrap(),
        None,
    )
    .await;
    let reader = bearer_client(&token);
    let status = |path: String| {
        let reader = reader.clone();
        async move { reader.get(app.url(&path)).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(format!("Claim/{active}")).await, 200);
    assert_eq!(status(format!("Claim/{draft}")).await, 403);
    assert_eq!(status(format!("Claim/{draft}/_history")).await, 403);
    assert_eq!(status("Patient".into()).await, 403);
    let found: Value = reader
        .get(app.url("Claim"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = found["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["resource"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![active.as_str()], "{found}");
    let drafts: Value = reader
        .get(app.url("Claim?status=draft"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        drafts["entry"]
            .as_array()
            .is_none_or(|entries| entries.is_empty()),
        "{drafts}"
    );
    let write = reader
        .post(app.url("Claim"))
        .json(&claim_for("p-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
}
