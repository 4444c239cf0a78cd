//! The console over plain HTTP, as a browser without script meets it: signing in
//! through the real sign-in and consent pages, roles refusing what they must, the
//! cross-site check, credentials never shown, the assets' caching, and the
//! console with authorization disabled. (`tests/console` drives it in Chromium.)

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::json;

use crate::helpers::TestApp;
use crate::smart_launch::form_fields;

crate::on_both_backends!(
    signing_in_reaches_the_console_with_the_users_role,
    a_session_ends_at_sign_out_and_its_token_is_revoked,
    an_account_without_a_console_role_is_refused,
    changes_from_another_site_are_refused,
    an_admin_adds_and_edits_an_integration_whose_credentials_never_show,
    a_biller_reads_integrations_and_an_auditor_changes_nothing,
    an_hl7_message_shows_its_fields_by_name,
);

const PASSWORD: &str = "correct horse battery staple";

/// A browser without script: keeps cookies (by name, for this one server), follows
/// no redirect by itself, and sends `Origin` with a POST as browsers do.
pub struct ConsoleBrowser {
    http: reqwest::Client,
    /// `http://127.0.0.1:{port}`
    origin: String,
    jar: Mutex<BTreeMap<String, String>>,
}

/// An answer: status, headers and body.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> String {
        self.headers["location"].to_str().unwrap().to_owned()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// Every `Set-Cookie` line that sets `name`.
    pub fn set_cookie(&self, name: &str) -> String {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|value| value.to_str().unwrap())
            .find(|line| line.starts_with(&format!("{name}=")))
            .unwrap_or_default()
            .to_owned()
    }
}

impl ConsoleBrowser {
    pub fn new(app: &TestApp) -> Self {
        ConsoleBrowser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            origin: app.server_url(""),
            jar: Mutex::default(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.origin)
        }
    }

    fn cookies(&self) -> String {
        self.jar
            .lock()
            .unwrap()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&self, answer: reqwest::Response) -> Page {
        {
            let mut jar = self.jar.lock().unwrap();
            for line in answer.headers().get_all("set-cookie") {
                let line = line.to_str().unwrap();
                let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
                let (name, value) = pair.split_once('=').unwrap();
                if value.is_empty() || attributes.contains("Max-Age=0") {
                    jar.remove(name);
                } else {
                    jar.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        Page {
            status: answer.status().as_u16(),
            headers: answer.headers().clone(),
            body: answer.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let answer = self
            .http
            .get(self.url(path))
            .header("Cookie", self.cookies())
            .send()
            .await
            .unwrap();
        self.read(answer).await
    }

    /// What htmx asks for when it swaps part of a page (`HX-Request`).
    pub async fn get_htmx(&self, path: &str) -> Page {
        let answer = self
            .http
            .get(self.url(path))
            .header("Cookie", self.cookies())
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap();
        self.read(answer).await
    }

    /// A form posted from the console's own pages.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_from(path, form, Some(&self.origin.clone())).await
    }

    /// A form posted from `origin` (`None`: no `Origin` header at all).
    pub async fn post_from(&self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Page {
        let mut request = self
            .http
            .post(self.url(path))
            .header("Cookie", self.cookies())
            .form(form);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        self.read(request.send().await.unwrap()).await
    }

    /// Signs in from `/console` through the sign-in and consent pages, as a person
    /// does; the console page the sign-in ends on.
    pub async fn sign_in(&self, username: &str, password: &str) -> Page {
        let start = self.get("/console").await;
        assert_eq!(start.status, 303, "{}", start.body);
        let sign_in_page = self.get(&start.location()).await;
        assert_eq!(sign_in_page.status, 200, "{}", sign_in_page.body);
        let mut form = form_fields(&sign_in_page.body, "hidden");
        form.push(("username".into(), username.into()));
        form.push(("password".into(), password.into()));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let consent = self.post("/auth/authorize", &form).await;
        assert_eq!(consent.status, 200, "{}", consent.body);
        let mut decision = form_fields(&consent.body, "hidden");
        decision.push(("decision".into(), "allow".into()));
        let decision: Vec<(&str, &str)> = decision.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let back = self.post("/auth/authorize/consent", &decision).await;
        assert_eq!(back.status, 303, "{}", back.body);
        let callback = self.get(&back.location()).await;
        assert_eq!(callback.status, 303, "{}", callback.body);
        self.get(&callback.location()).await
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    pub fn forget(&self, name: &str) {
        self.jar.lock().unwrap().remove(name);
    }
}

/// A user an admin made over `/admin/users` with these scopes; signs in with
/// [`PASSWORD`].
pub async fn console_user(app: &TestApp, username: &str, display_name: &str, scopes: &str) {
    let (status, body) = app
        .api_post(
            "/admin/users",
            &json!({"username": username, "displayName": display_name, "password": PASSWORD,
                    "scopes": scopes}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// A browser signed in as a new user with these scopes.
pub async fn signed_in(app: &TestApp, username: &str, scopes: &str) -> ConsoleBrowser {
    console_user(app, username, username, scopes).await;
    let browser = ConsoleBrowser::new(app);
    let home = browser.sign_in(username, PASSWORD).await;
    assert_eq!(home.status, 200, "{}", home.body);
    browser
}

async fn signing_in_reaches_the_console_with_the_users_role(app: &TestApp) {
    // The admin makes a console user with the admin role alone.
    console_user(app, "ada", "Ada <Admin>", "admin").await;
    let browser = ConsoleBrowser::new(app);

    // A page without a session is a redirect to the authorization endpoint, with
    // PKCE and the sign-in kept in a cookie of its own.
    let start = browser.get("/console/integrations?tenant=default").await;
    assert_eq!(start.status, 303);
    let authorize = url::Url::parse(&start.location()).unwrap();
    assert_eq!(authorize.path(), "/auth/authorize");
    let param = |name: &str| {
        authorize
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    assert_eq!(param("client_id"), "claimbridge-console");
    assert_eq!(param("code_challenge_method"), "S256");
    assert_eq!(param("code_challenge").len(), 43);
    assert_eq!(param("redirect_uri"), app.server_url("/console/callback"));
    assert!(param("state").len() >= 32);
    let flow = start.set_cookie("claimbridge_console_sign_in");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/console", "Max-Age=600"] {
        assert!(flow.contains(attribute), "{attribute} in {flow}");
    }

    // Sign in and consent: the roles are described in words.
    let sign_in_page = browser.get(&start.location()).await;
    let mut form = form_fields(&sign_in_page.body, "hidden");
    form.push(("username".into(), "ada".into()));
    form.push(("password".into(), PASSWORD.into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let consent = browser.post("/auth/authorize", &form).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(
        consent.body.contains("administer Claimbridge"),
        "{}",
        consent.body
    );
    assert!(!consent.body.contains("biller"), "only the user's own roles");
    let mut decision = form_fields(&consent.body, "hidden");
    decision.push(("decision".into(), "allow".into()));
    let decision: Vec<(&str, &str)> = decision.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let back = browser.post("/auth/authorize/consent", &decision).await;
    assert_eq!(back.status, 303);
    assert!(back.location().starts_with(&app.server_url("/console/callback?")));

    // The callback sets the session and returns to the page first asked for.
    let callback = browser.get(&back.location()).await;
    assert_eq!(callback.status, 303, "{}", callback.body);
    assert_eq!(callback.location(), "/console/integrations?tenant=default");
    let session = callback.set_cookie("claimbridge_console");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    assert!(
        !callback.set_cookie("claimbridge_console_refresh").is_empty(),
        "online_access: a refresh token beside the access token"
    );
    assert!(browser.cookie("claimbridge_console_sign_in").is_none());

    let home = browser.get("/console").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("Signed in as"), "{}", home.body);
    assert!(home.body.contains("Ada &lt;Admin&gt;"), "escaped: {}", home.body);
    assert!(home.body.contains("<span class=\"role\">admin</span>"));
    assert!(home.body.contains("configure integrations"));
    for (header, value) in [
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
        // Not no-referrer: browsers then send `Origin: null` with a form's POST.
        ("referrer-policy", "same-origin"),
        ("content-type", "text/html; charset=utf-8"),
    ] {
        assert_eq!(home.header(header), value, "{header}");
    }
    let csp = home.header("content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    // Landmarks and the skip link.
    for landmark in [
        "<header",
        "<nav",
        "<main id=\"main\"",
        "class=\"skip-link\" href=\"#main\"",
    ] {
        assert!(home.body.contains(landmark), "{landmark}");
    }

    // The session's token is the user's, as the API sees it.
    let token = browser.cookie("claimbridge_console").unwrap();
    let introspected = crate::helpers::bearer_client(&token)
        .get(app.server_url("/admin/integrations"))
        .send()
        .await
        .unwrap();
    assert_eq!(introspected.status(), 200, "the admin role reaches the admin API");
}

async fn a_session_ends_at_sign_out_and_its_token_is_revoked(app: &TestApp) {
    let browser = signed_in(app, "bea", "biller").await;
    let token = browser.cookie("claimbridge_console").unwrap();

    // An expired (here: missing) access token is renewed from the refresh token.
    browser.forget("claimbridge_console");
    let renewed = browser.get("/console").await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let new_token = browser.cookie("claimbridge_console").unwrap();
    assert_ne!(new_token, token);
    assert!(!renewed.set_cookie("claimbridge_console_refresh").is_empty());

    let signed_out = browser.post("/console/sign-out", &[]).await;
    assert_eq!(signed_out.status, 200, "{}", signed_out.body);
    assert!(signed_out.body.contains("You are signed out"));
    assert!(browser.cookie("claimbridge_console").is_none());
    assert!(browser.cookie("claimbridge_console_refresh").is_none());
    // The token is revoked, not only forgotten by the browser.
    let revoked = crate::helpers::bearer_client(&new_token)
        .get(app.server_url("/api/hl7/messages"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);
    assert_eq!(browser.get("/console").await.status, 303, "signed out");
}

async fn an_account_without_a_console_role_is_refused(app: &TestApp) {
    // The default scopes reach FHIR data but carry no console role: the grant
    // asked for by the console is refused, and the callback says why.
    let (status, body) = app
        .api_post("/admin/users", &json!({"username": "carl", "password": PASSWORD}))
        .await;
    assert_eq!(status, 201, "{body}");
    let browser = ConsoleBrowser::new(app);
    let start = browser.get("/console").await;
    let sign_in_page = browser.get(&start.location()).await;
    let mut form = form_fields(&sign_in_page.body, "hidden");
    form.push(("username".into(), "carl".into()));
    form.push(("password".into(), PASSWORD.into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = browser.post("/auth/authorize", &form).await;
    assert_eq!(refused.status, 303, "{}", refused.body);
    let callback = browser.get(&refused.location()).await;
    assert_eq!(callback.status, 403, "{}", callback.body);
    assert!(callback.body.contains("none of the console"), "{}", callback.body);
    assert!(browser.cookie("claimbridge_console").is_none());
}

async fn changes_from_another_site_are_refused(app: &TestApp) {
    let browser = signed_in(app, "dee", "admin").await;
    for origin in [Some("https://evil.example"), None] {
        let refused = browser.post_from("/console/sign-out", &[], origin).await;
        assert_eq!(refused.status, 403, "{origin:?}");
        assert!(refused.body.contains("did not come from the console"));
    }
    // Still signed in.
    assert_eq!(browser.get("/console").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_cached_by_content_hash() {
    let app = TestApp::sqlite(crate::helpers::TestOptions::default()).await;
    let browser = ConsoleBrowser::new(&app);
    let home = browser.get("/console").await;
    assert_eq!(home.status, 303, "assets need no session; pages do");
    // The page names its assets by content hash; read the names from a signed-in page.
    let browser = signed_in(&app, "eve", "auditor").await;
    let page = browser.get("/console").await.body;
    let asset = |prefix: &str| {
        let start = page.find(prefix).unwrap_or_else(|| panic!("{prefix} in {page}"));
        let end = page[start..].find('"').unwrap() + start;
        page[start..end].to_owned()
    };
    let htmx = asset("/console/assets/htmx.min.");
    let css = asset("/console/assets/console.");
    for (path, content_type) in [
        (&htmx, "text/javascript; charset=utf-8"),
        (&css, "text/css; charset=utf-8"),
    ] {
        let served = browser.get(path).await;
        assert_eq!(served.status, 200, "{path}");
        assert_eq!(served.header("content-type"), content_type);
        assert_eq!(
            served.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        let etag = served.header("etag");
        assert!(path.contains(etag.trim_matches('"')), "{etag} names {path}");
        let revalidated = browser
            .http
            .get(browser.url(path))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), 304);
    }
    // Another hash is not this file.
    let stale = htmx.replace("htmx.min.", "htmx.min.0");
    assert_eq!(browser.get(&stale).await.status, 404);
    assert_eq!(browser.get("/console/assets/htmx.min.js").await.status, 404);
    app.finish().await;
}

/// With `CLAIMBRIDGE_AUTH=disabled` (loopback development) the console opens
/// without sign-in, as an admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_authorization_disabled_the_console_opens_as_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let settings = claimbridge::config::Settings {
        auth: claimbridge::auth::AuthMode::Disabled,
        database_url: format!("sqlite://{}", dir.path().join("claimbridge.db").display()),
        bind: "127.0.0.1:0".parse().unwrap(),
        mllp_bind: "off".into(),
        workers: Some(1),
        ..claimbridge::config::Settings::default()
    };
    let app = claimbridge::app::Application::build(&settings)
        .await
        .expect("server starts");
    let origin = format!("http://{}", app.address());
    let server = app.server_handle();
    let running = tokio::spawn(app.run());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let home = http.get(format!("{origin}/console")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let body = home.text().await.unwrap();
    assert!(body.contains("authorization disabled"), "{body}");
    assert!(body.contains("<span class=\"role\">admin</span>"), "{body}");
    assert!(!body.contains("Sign out"), "nothing to sign out of");
    // The cross-site check holds all the same.
    let refused = http
        .post(format!("{origin}/console/integrations/none/enable"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    server.stop(true).await;
    let _ = running.await;
}

/// The id of the integration named `name`, as the admin API lists it.
async fn integration_named(app: &TestApp, name: &str) -> serde_json::Value {
    let (status, listed) = app.api_get("/admin/integrations").await;
    assert_eq!(status, 200, "{listed}");
    listed["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|integration| integration["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {listed}"))
}

async fn an_admin_adds_and_edits_an_integration_whose_credentials_never_show(app: &TestApp) {
    let browser = signed_in(app, "ada", "admin").await;
    let form = browser.get("/console/integrations/new?tenant=default").await;
    assert_eq!(form.status, 200, "{}", form.body);
    for label in [
        "<label for=\"name\">",
        "<label for=\"baseUrl\">",
        "<label for=\"credential-value-0\">",
    ] {
        assert!(form.body.contains(label), "{label}");
    }
    let secret = "s3cret-account-key-4242";
    let added = browser
        .post(
            "/console/integrations",
            &[
                ("tenant", "default"),
                ("vendor", "claimmd"),
                ("name", "Claim.MD"),
                ("baseUrl", "http://127.0.0.1:9/claimmd"),
                ("enabled", "on"),
                ("settings", "{\"timeoutSecs\": 1}"),
                ("credential_name", "accountKey"),
                ("credential_value", secret),
                ("credential_name", ""),
                ("credential_value", ""),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let integration = integration_named(app, "Claim.MD").await;
    let id = integration["id"].as_str().unwrap().to_owned();
    assert_eq!(integration["credentials"], json!({"accountKey": "set"}));
    assert_eq!(integration["settings"], json!({"timeoutSecs": 1}));
    assert_eq!(integration["enabled"], true);
    assert!(added
        .location()
        .starts_with("/console/integrations?tenant=default"));

    let list = browser.get(&added.location()).await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("Claim.MD") && list.body.contains("never tested"));
    let edit = browser.get(&format!("/console/integrations/{id}/edit")).await;
    assert_eq!(edit.status, 200);
    assert!(
        edit.body
            .contains("Replace <code>accountKey</code> (set; leave empty to keep)"),
        "{}",
        edit.body
    );
    for page in [&list.body, &edit.body] {
        assert!(!page.contains(secret), "a credential shown");
    }

    // A mistake is shown at its field, with what was typed except secrets.
    let refused = browser
        .post(
            &format!("/console/integrations/{id}"),
            &[
                ("tenant", "default"),
                ("vendor", "claimmd"),
                ("name", "Claim.MD renamed"),
                ("baseUrl", "not a url"),
                ("settings", "{}"),
                ("credential_name", "extraKey"),
                ("credential_value", "another-secret-99"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("id=\"baseUrl-error\""), "{}", refused.body);
    assert!(refused.body.contains("Claim.MD renamed"));
    assert!(!refused.body.contains("another-secret-99"));

    // Kept credentials stay; a replaced one changes; a new one is added.
    let saved = browser
        .post(
            &format!("/console/integrations/{id}"),
            &[
                ("tenant", "default"),
                ("vendor", "claimmd"),
                ("name", "Claim.MD renamed"),
                ("baseUrl", "http://127.0.0.1:9/other"),
                ("settings", "{}"),
                ("replace:accountKey", ""),
                ("credential_name", "extraKey"),
                ("credential_value", "another-secret-99"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let integration = integration_named(app, "Claim.MD renamed").await;
    assert_eq!(
        integration["credentials"],
        json!({"accountKey": "set", "extraKey": "set"})
    );
    assert_eq!(integration["enabled"], false, "the box was left unticked");
    assert_eq!(integration["baseUrl"], "http://127.0.0.1:9/other");
    let removed = browser
        .post(
            &format!("/console/integrations/{id}"),
            &[
                ("tenant", "default"),
                ("vendor", "claimmd"),
                ("name", "Claim.MD renamed"),
                ("baseUrl", "http://127.0.0.1:9/other"),
                ("settings", "{}"),
                ("enabled", "on"),
                ("remove", "extraKey"),
            ],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert_eq!(
        integration_named(app, "Claim.MD renamed").await["credentials"],
        json!({"accountKey": "set"})
    );

    // htmx gets the part of the page an action changes, not a page.
    let fragment = browser
        .http
        .post(browser.url(&format!("/console/integrations/{id}/disable")))
        .header("Cookie", browser.cookies())
        .header("Origin", &browser.origin)
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(fragment.status(), 200);
    let fragment = fragment.text().await.unwrap();
    assert!(
        fragment.starts_with("<section id=\"category-clearinghouse\""),
        "{fragment}"
    );
    assert!(
        fragment.contains("disabled") && !fragment.contains("<html"),
        "{fragment}"
    );
    assert_eq!(integration_named(app, "Claim.MD renamed").await["enabled"], false);
}

async fn a_biller_reads_integrations_and_an_auditor_changes_nothing(app: &TestApp) {
    let (status, created) = app
        .api_post(
            "/admin/integrations",
            &json!({"vendor": "claimmd", "name": "Claim.MD", "baseUrl": "http://127.0.0.1:9/",
                    "credentials": {"accountKey": "k"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    for (user, role) in [("bill", "biller"), ("audrey", "auditor")] {
        let browser = signed_in(app, user, role).await;
        let list = browser.get("/console/integrations").await;
        assert_eq!(list.status, 200, "{role}");
        assert!(list.body.contains("Claim.MD"), "{role} reads the list");
        assert!(
            !list.body.contains("Add an integration"),
            "{role} sees no add link"
        );
        assert!(
            !list.body.contains("Test connection"),
            "{role} sees no test button"
        );
        for (path, form) in [
            (format!("/console/integrations/{id}/enable"), vec![]),
            (
                format!("/console/integrations/{id}/move"),
                vec![("direction", "up")],
            ),
            (format!("/console/integrations/{id}/test"), vec![]),
            (
                "/console/integrations".to_owned(),
                vec![("vendor", "claimmd"), ("name", "X")],
            ),
        ] {
            let refused = browser.post(&path, &form).await;
            assert_eq!(refused.status, 403, "{role} {path}");
            assert!(refused.body.contains("Your role does not allow this action"));
        }
        assert_eq!(browser.get("/console/integrations/new").await.status, 403);
        let hl7 = browser.get("/console/hl7").await;
        assert_eq!(hl7.status, 200, "{role} reads HL7 messages");
    }
    let (_, unchanged) = app.api_get(&format!("/admin/integrations/{id}")).await;
    assert_eq!(unchanged["enabled"], true);
    assert_eq!(integration_named(app, "Claim.MD").await["priority"], 1);
}

async fn an_hl7_message_shows_its_fields_by_name(app: &TestApp) {
    // Two patients carry the message's MRN, so it cannot be applied.
    for _ in 0..2 {
        app.create(&json!({"resourceType": "Patient",
                            "identifier": [{"system": crate::hl7::MRN, "value": "P700"}]}))
            .await;
    }
    crate::hl7::send_one(app, &crate::hl7::admit("CONSOLE-7", "P700", "V700")).await;
    let (_, listed) = app.api_get("/api/hl7/messages?status=error&type=ADT%5EA01").await;
    let id = listed["messages"][0]["id"].as_i64().expect("the failed message");

    let auditor = signed_in(app, "audrey", "auditor").await;
    let list = auditor.get("/console/hl7?status=error&type=adt%5Ea01").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains(&format!("/console/hl7/messages/{id}")),
        "{}",
        list.body
    );
    let none = auditor.get("/console/hl7?status=applied&type=ADT%5EA01").await;
    assert!(!none.body.contains(&format!("/console/hl7/messages/{id}")));
    let view = auditor.get(&format!("/console/hl7/messages/{id}")).await;
    assert_eq!(view.status, 200);
    for expected in [
        "MSH — Message Header",
        "PID — Patient Identification",
        "<th scope=\"row\" class=\"mono\">PID-5</th><td>Patient Name</td>",
        "Insurance Company Name",
        "Why it failed",
    ] {
        assert!(view.body.contains(expected), "{expected}: {}", view.body);
    }
    assert!(
        !view.body.contains("Reprocess this message"),
        "an auditor may not"
    );
    let refused = auditor
        .post(&format!("/console/hl7/messages/{id}/reprocess"), &[])
        .await;
    assert_eq!(refused.status, 403);

    let biller = signed_in(app, "bill", "biller").await;
    let view = biller.get(&format!("/console/hl7/messages/{id}")).await;
    assert!(view.body.contains("Reprocess this message"));
    let again = biller
        .post(&format!("/console/hl7/messages/{id}/reprocess"), &[])
        .await;
    assert_eq!(again.status, 303, "{}", again.body);
    let after = biller.get(&again.location()).await;
    assert!(
        after.body.contains("Reprocessed: the message is now"),
        "{}",
        after.body
    );
    assert_eq!(biller.get("/console/hl7/messages/999999").await.status, 404);
}
