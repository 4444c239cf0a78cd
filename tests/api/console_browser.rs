//! The console in a real browser: Debian's headless Chromium, driven over
//! WebDriver (chromedriver) by `fantoccini`, against a server with authorization
//! on. A person signs in through the real sign-in and consent pages, adds two
//! Claim.MD integrations pointing at simulators, tests one, reorders them with
//! the keyboard-focusable buttons, sees a failover in the attempt log after the
//! first clearinghouse goes down, opens that claim in the worklist once the payer
//! denies it and resubmits it corrected, looks at the dashboard's charts, opens a
//! failed HL7 message, reprocesses it and signs out. Each page is saved as a PNG under `target/console-screenshots/`
//! (and, with `CLAIMBRIDGE_UPDATE_SCREENSHOTS=1`, under `docs/screenshots/`).
//!
//! Without chromedriver these tests fail, saying how to install it: a browser
//! test that skips itself proves nothing.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use claimbridge_plugin_claimmd::simulator as claimmd;
use claimbridge_simulator_kit::Fault;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::console::console_user;
use crate::denied::{denied, post_denial};
use crate::failover::{start_claimmd, submit_and_settle};
use crate::helpers::TestApp;
use crate::hl7::{admit, search, send_one, MRN};
use crate::submission::ready_claim;

crate::on_both_backends!(
    with crate::helpers::TestOptions::INTEGRATIONS;
    an_admin_configures_integrations_sees_a_failover_and_reprocesses_a_message,
);

/// How long the browser may take to show what a step expects (the suite runs
/// many servers at once on a small machine).
const PATIENCE: Duration = Duration::from_secs(30);
const PASSWORD: &str = "correct horse battery staple";

/// Where chromedriver is: `CHROMEDRIVER`, else Debian's.
fn chromedriver_path() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

fn chromium_path() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// A chromedriver of this test's own, on a free port, and a headless Chromium
/// session in it; chromedriver (and its browser) is stopped when this is dropped,
/// whether the test passed or not.
struct Browser {
    client: Client,
    driver: Child,
    /// `http://127.0.0.1:{port}` of the server under test.
    origin: String,
    /// `sqlite` or `postgres`: screenshots of one run do not overwrite the other's.
    backend: &'static str,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start(app: &TestApp) -> Browser {
        let driver_path = chromedriver_path();
        assert!(
            driver_path.exists(),
            "{} is missing: the console's browser tests need Chromium and its WebDriver. \
             Install them with `apt-get install chromium chromium-driver` (Debian; .ci/run does), \
             or point CHROMEDRIVER and CHROMIUM at yours.",
            driver_path.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("{} does not start: {error}", driver_path.display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium_path(),
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--window-size=1280,1000", "--lang=en-US"],
            }),
        );
        let webdriver = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&webdriver)
                .await
            {
                Ok(client) => break client,
                // chromedriver may not listen yet.
                Err(_) if started.elapsed() < PATIENCE => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("no Chromium session from chromedriver: {error}"),
            }
        };
        let backend = if app.database_url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        };
        Browser {
            client,
            driver,
            origin: app.server_url(""),
            backend,
        }
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.origin))
            .await
            .expect("the page opens");
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(error) => panic!("{css}: {error}\n{}", self.page_text().await),
        }
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("a click");
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("cleared");
        field.send_keys(text).await.expect("typed");
    }

    async fn page_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the text of `css` contains `needle`; that text.
    async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return text;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css} never showed {needle:?}; it shows: {text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("a URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the address (path and query) contains `needle`.
    async fn wait_for_path(&self, needle: &str) {
        let started = Instant::now();
        while !self.path().await.contains(needle) {
            assert!(
                started.elapsed() < PATIENCE,
                "the address never showed {needle:?}: {}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The id of the focused element.
    async fn focused_id(&self) -> String {
        let id = self
            .client
            .execute("return document.activeElement.id;", vec![])
            .await
            .expect("a script runs");
        id.as_str().unwrap_or_default().to_owned()
    }

    /// Saves what the browser shows as `{name}.png` under
    /// `target/console-screenshots/{backend}/`, and under `docs/screenshots/` when
    /// `CLAIMBRIDGE_UPDATE_SCREENSHOTS=1` (from the SQLite run).
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("target/console-screenshots").join(self.backend);
        std::fs::create_dir_all(&dir).expect("the screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), &png).expect("the screenshot is saved");
        if std::env::var("CLAIMBRIDGE_UPDATE_SCREENSHOTS").as_deref() == Ok("1") && self.backend == "sqlite" {
            let docs = root.join("docs/screenshots");
            std::fs::create_dir_all(&docs).expect("docs/screenshots");
            std::fs::write(docs.join(format!("{name}.png")), &png).expect("the screenshot is saved");
        }
    }
}

/// The claim once its queued resubmission has run (it leaves `ready_to_submit`).
async fn submit_settled(app: &TestApp, claim_id: &str) -> Value {
    let started = Instant::now();
    loop {
        let (_, claim) = app.api_get(&format!("/api/billing/claims/{claim_id}")).await;
        if claim["status"] != "ready_to_submit" {
            return claim;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "the resubmission never ran: {claim}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The integration named `name`, as the admin API lists it.
async fn integration_id(app: &TestApp, name: &str) -> String {
    let (status, listed) = app.api_get("/admin/integrations").await;
    assert_eq!(status, 200, "{listed}");
    listed["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|integration| integration["name"] == name)
        .and_then(|integration| integration["id"].as_str())
        .unwrap_or_else(|| panic!("no integration {name}: {listed}"))
        .to_owned()
}

/// The names in a category's table, in the order shown.
async fn shown_order(browser: &Browser) -> Vec<String> {
    let rows = browser
        .client
        .find_all(Locator::Css("#category-clearinghouse tbody th"))
        .await
        .expect("rows");
    let mut names = Vec::new();
    for row in rows {
        names.push(row.text().await.unwrap_or_default());
    }
    names
}

async fn add_claimmd_in_the_form(browser: &Browser, name: &str, base_url: &str) {
    browser.click("a[href^='/console/integrations/new']").await;
    browser
        .find("#vendor")
        .await
        .select_by_value("claimmd")
        .await
        .expect("vendor chosen");
    browser.type_into("#name", name).await;
    browser.type_into("#baseUrl", base_url).await;
    browser.type_into("#settings", "{\"timeoutSecs\": 1}").await;
    browser.type_into("#credential-name-0", "accountKey").await;
    browser
        .type_into("#credential-value-0", claimmd::DEFAULT_ACCOUNT_KEY)
        .await;
    if name.ends_with("primary") {
        browser.screenshot("integration-form").await;
    }
    browser.click("form.stacked button[type=submit]").await;
    browser.wait_for_text("main", name).await;
    assert!(browser
        .path()
        .await
        .starts_with("/console/integrations?tenant=default"));
}

async fn an_admin_configures_integrations_sees_a_failover_and_reprocesses_a_message(app: &TestApp) {
    console_user(app, "ada", "Ada Lovelace", "admin").await;
    let primary = start_claimmd(None).await;
    let secondary = start_claimmd(None).await;
    let browser = Browser::start(app).await;

    // Sign in through the authorization server's own pages.
    browser.goto("/console/integrations").await;
    browser.type_into("#username", "ada").await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_text("main", "administer Claimbridge").await;
    browser.click("button[value=allow]").await;
    browser.wait_for_text("header", "Ada Lovelace").await;
    assert_eq!(browser.path().await, "/console/integrations");

    // The landing page.
    browser.click("nav a[href='/console']").await;
    browser.wait_for_text("main h1", "Console").await;
    browser.screenshot("home").await;

    // Add two clearinghouses, each pointing at a simulator.
    browser.click("nav a[href='/console/integrations']").await;
    add_claimmd_in_the_form(&browser, "Claim.MD primary", &primary.base_url()).await;
    add_claimmd_in_the_form(&browser, "Claim.MD secondary", &secondary.base_url()).await;
    let first = integration_id(app, "Claim.MD primary").await;
    let second = integration_id(app, "Claim.MD secondary").await;
    assert_eq!(
        shown_order(&browser).await,
        vec!["Claim.MD primary", "Claim.MD secondary"]
    );
    // Credentials are never shown, not even to the admin who typed them.
    let source = browser.client.source().await.unwrap();
    assert!(!source.contains(claimmd::DEFAULT_ACCOUNT_KEY));

    // Test the connection: the result appears in the row, the page stays.
    browser.click(&format!("#test-button-{first}")).await;
    browser.wait_for_text(&format!("#test-{first}"), "passed").await;

    // Reorder with the buttons: the row moves, focus stays on the button pressed.
    browser.click(&format!("#up-{second}")).await;
    let started = Instant::now();
    while shown_order(&browser).await != ["Claim.MD secondary", "Claim.MD primary"] {
        assert!(started.elapsed() < PATIENCE, "the secondary never moved up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(browser.focused_id().await, format!("up-{second}"));
    browser.click(&format!("#down-{second}")).await;
    let started = Instant::now();
    while shown_order(&browser).await != ["Claim.MD primary", "Claim.MD secondary"] {
        assert!(
            started.elapsed() < PATIENCE,
            "the secondary never moved back down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, stored) = app.api_get(&format!("/admin/integrations/{first}")).await;
    assert_eq!(stored["priority"], 1, "{stored}");

    // The primary goes down; a claim goes out through the secondary.
    primary.set_fault(Fault::Down { for_duration: None }, None);
    let claim_id = ready_claim(app).await;
    let claim = submit_and_settle(app, &claim_id).await;
    assert_eq!(claim["status"], "submitted", "{claim}");
    browser.goto("/console/integrations").await;
    let log = browser.wait_for_text("#attempts", "failover").await;
    assert!(log.contains(&format!("Claim/{claim_id}")), "{log}");
    assert!(log.contains("Claim.MD secondary"), "{log}");
    browser.screenshot("integrations").await;
    browser
        .client
        .execute(
            "document.getElementById('attempts-heading').scrollIntoView();",
            vec![],
        )
        .await
        .expect("scrolled");
    browser.screenshot("attempt-log").await;

    // The payer denies that claim; a biller finds it in the worklist, reads the
    // denial's analysis, corrects the code and resubmits it.
    let (_, submitted) = app.api_get("/api/billing/claims?status=submitted").await;
    let number = submitted["claims"]
        .as_array()
        .and_then(|claims| claims.iter().find(|c| c["claimId"] == claim_id.as_str()))
        .and_then(|claim| claim["number"].as_str())
        .expect("the submitted claim in the worklist")
        .to_owned();
    let posted = post_denial(app, "BROWSER-DENY", denied(&number, "CO", "50", "N115")).await;
    assert_eq!(posted["state"], "denied", "{posted}");
    browser.click("nav a[href='/console/claims']").await;
    browser
        .find("#state")
        .await
        .select_by_value("denied")
        .await
        .expect("state chosen");
    browser.click("form.filters button[type=submit]").await;
    browser.wait_for_path("state=denied").await;
    browser.wait_for_text("#claims", &number).await;
    browser.screenshot("claims").await;
    browser
        .click(&format!("#claims a[href='/console/claims/{claim_id}']"))
        .await;
    browser.wait_for_text("#denials-heading", "Denials").await;
    let shown = browser.page_text().await;
    for expected in [
        "CO-50",
        "Appeal likelihood",
        "State history",
        "Claim.MD secondary",
    ] {
        assert!(shown.contains(expected), "{expected}: {shown}");
    }
    browser.screenshot("claim").await;
    browser.type_into("#code-1", "99214").await;
    browser.click("#resubmit").await;
    browser.wait_for_text("main", "its submission is queued").await;
    let settled = submit_settled(app, &claim_id).await;
    assert_eq!(settled["status"], "submitted", "{settled}");

    // The dashboard draws its charts (uPlot marks each figure drawn).
    browser.click("nav a[href='/console/dashboard']").await;
    browser.wait_for_text("#kpis", "Collection rate").await;
    for chart in ["chart-states", "chart-denials", "chart-trend"] {
        browser.find(&format!("#{chart}[data-drawn='true'] canvas")).await;
    }
    browser.screenshot("dashboard").await;

    // A message that cannot be applied: two patients carry its MRN.
    for _ in 0..2 {
        app.create(&json!({"resourceType": "Patient", "identifier": [{"system": MRN, "value": "P900"}]}))
            .await;
    }
    send_one(app, &admit("CONSOLE-1", "P900", "V900")).await;
    browser.click("nav a[href='/console/hl7']").await;
    browser
        .find("#status")
        .await
        .select_by_value("error")
        .await
        .expect("status chosen");
    browser.click("form.filters button[type=submit]").await;
    // htmx swaps the list in and puts the filter in the address.
    browser.wait_for_path("status=error").await;
    browser.wait_for_text("#messages", "ADT^A01").await;
    browser.screenshot("hl7-messages").await;
    browser.click("#messages tbody a").await;
    let shown = browser.wait_for_text("main", "Why it failed").await;
    for named in ["Patient Name", "Message Control ID", "Insurance Company Name"] {
        assert!(shown.contains(named), "{named}: {shown}");
    }
    browser.screenshot("hl7-message").await;

    // The duplicate goes, and the message is applied again.
    let duplicate = search(app, &format!("Patient?identifier={MRN}|P900")).await[1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.client
        .delete(app.url(&format!("Patient/{duplicate}")))
        .send()
        .await
        .unwrap();
    browser.click("main form button.primary").await;
    browser
        .wait_for_text("main", "Reprocessed: the message is now applied")
        .await;

    // At phone width the pages stay usable: one column, tables scroll sideways.
    browser.client.set_window_size(375, 812).await.expect("resized");
    browser.goto("/console/integrations").await;
    browser.find("#category-clearinghouse").await;
    let overflow: Value = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(true), "no sideways scrolling of the page itself");
    browser.screenshot("integrations-phone").await;
    browser.client.set_window_size(1280, 1000).await.expect("resized");

    // Sign out: the session is gone.
    browser.goto("/console").await;
    browser.click("header form button").await;
    browser.wait_for_text("main", "You are signed out").await;
    browser.goto("/console").await;
    browser.find("#username").await;
    assert!(browser.path().await.starts_with("/auth/authorize"));

    browser.client.clone().close().await.expect("the session ends");
    primary.stop().await;
    secondary.stop().await;
}
