//! The integration registry as an admin uses it (`/admin/integrations`): create,
//! list, read, update, enable/disable, reorder and delete; validation that names the
//! field; and credentials that no answer, and no database column, ever shows.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;

crate::on_both_backends!(
    integrations_are_created_read_updated_and_deleted,
    reorder_rewrites_the_priorities_of_one_category,
    integrations_are_enabled_and_disabled,
    invalid_configurations_are_refused_with_the_field,
    credentials_are_sealed_in_the_database,
);

/// Every secret in these tests starts so; no answer may contain it.
const SECRET: &str = "s3cret-";

async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let (status, text) = app.api_send(method, path, body.as_ref()).await;
    assert!(!text.contains(SECRET), "a secret in an answer: {text}");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("a JSON answer")
    };
    (status, value)
}

fn claimmd(name: &str) -> Value {
    json!({
        "vendor": "claimmd",
        "name": name,
        "baseUrl": "https://svc.claim.md/services/",
        "settings": {"throttlePerMinute": 100},
        "credentials": {"accountKey": format!("{SECRET}{name}")},
    })
}

fn availity(name: &str) -> Value {
    json!({
        "vendor": "availity",
        "name": name,
        "baseUrl": "https://api.availity.com",
        "credentials": {"clientId": "client", "clientSecret": format!("{SECRET}{name}")},
    })
}

fn stripe(name: &str) -> Value {
    json!({
        "vendor": "stripe",
        "name": name,
        "category": "payments",
        "baseUrl": "https://api.stripe.com",
        "credentials": {"apiKey": format!("{SECRET}sk"), "webhookSecret": format!("{SECRET}wh")},
    })
}

async fn create(app: &TestApp, body: Value) -> Value {
    let (status, created) = call(app, Method::POST, "/admin/integrations", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created
}

fn path(integration: &Value) -> String {
    format!("/admin/integrations/{}", integration["id"].as_str().unwrap())
}

async fn list(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, list) = call(app, Method::GET, &format!("/admin/integrations{query}"), None).await;
    assert_eq!(status, 200, "{list}");
    list["integrations"].as_array().unwrap().clone()
}

async fn integrations_are_created_read_updated_and_deleted(app: &TestApp) {
    let created = create(app, claimmd("Claim.MD primary")).await;
    assert_eq!(created["tenant"], "default");
    assert_eq!(created["category"], "clearinghouse", "the vendor's category");
    assert_eq!(created["priority"], 1);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["baseUrl"], "https://svc.claim.md/services/");
    assert_eq!(created["settings"], json!({"throttlePerMinute": 100}));
    assert_eq!(created["credentials"], json!({"accountKey": "set"}));

    let (status, read) = call(app, Method::GET, &path(&created), None).await;
    assert_eq!((status, &read), (200, &created));

    // Credentials left out stay as they are.
    let (status, renamed) = call(
        app,
        Method::PATCH,
        &path(&created),
        Some(json!({"name": "Claim.MD", "baseUrl": "https://sandbox.claim.md/services/"})),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "Claim.MD");
    assert_eq!(renamed["baseUrl"], "https://sandbox.claim.md/services/");
    assert_eq!(renamed["credentials"], json!({"accountKey": "set"}));
    assert_eq!(renamed["settings"], created["settings"]);

    // Credentials given replace the old ones as a whole.
    let (status, replaced) = call(
        app,
        Method::PUT,
        &path(&created),
        Some(json!({"credentials": {"accountKey": format!("{SECRET}new"), "userId": "u1"}})),
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(
        replaced["credentials"],
        json!({"accountKey": "set", "userId": "set"})
    );
    assert_eq!(replaced["name"], "Claim.MD");

    let mut acme = availity("Availity");
    acme["tenant"] = json!("acme");
    let acme = create(app, acme).await;
    assert_eq!(acme["tenant"], "acme");
    let names = |list: Vec<Value>| list.iter().map(|i| i["name"].clone()).collect::<Vec<_>>();
    assert_eq!(
        names(list(app, "").await),
        [json!("Claim.MD")],
        "the default tenant's"
    );
    assert_eq!(names(list(app, "?tenant=acme").await), [json!("Availity")]);

    let (status, _) = call(app, Method::DELETE, &path(&created), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(app, Method::GET, &path(&created), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(app, Method::DELETE, &path(&created), None).await;
    assert_eq!(status, 404);
    assert!(list(app, "").await.is_empty());
}

async fn reorder_rewrites_the_priorities_of_one_category(app: &TestApp) {
    let first = create(app, claimmd("first")).await;
    let second = create(app, availity("second")).await;
    let third = create(app, claimmd("third")).await;
    let payments = create(app, stripe("payments")).await;
    let priorities = |list: &[Value]| {
        list.iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().to_owned(),
                    i["priority"].as_i64().unwrap(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        [&first, &second, &third, &payments].map(|i| i["priority"].as_i64().unwrap()),
        [1, 2, 3, 1],
        "each new integration goes last in its category"
    );

    let ids = |list: &[&Value]| list.iter().map(|i| i["id"].clone()).collect::<Vec<_>>();
    let (status, reordered) = call(
        app,
        Method::POST,
        "/admin/integrations/reorder",
        Some(json!({"category": "clearinghouse", "ids": ids(&[&third, &first, &second])})),
    )
    .await;
    assert_eq!(status, 200, "{reordered}");
    let expected = [
        ("third".to_owned(), 1),
        ("first".to_owned(), 2),
        ("second".to_owned(), 3),
    ];
    assert_eq!(
        priorities(reordered["integrations"].as_array().unwrap()),
        expected
    );
    let clearinghouses: Vec<Value> = list(app, "")
        .await
        .into_iter()
        .filter(|i| i["category"] == "clearinghouse")
        .collect();
    assert_eq!(
        priorities(&clearinghouses),
        expected,
        "the list is in the new order"
    );
    let (_, stripe) = call(app, Method::GET, &path(&payments), None).await;
    assert_eq!(stripe["priority"], 1, "other categories keep theirs");

    for wrong in [
        ids(&[&third, &first]),
        ids(&[&third, &first, &second, &payments]),
        ids(&[&third, &first, &first]),
    ] {
        let (status, error) = call(
            app,
            Method::POST,
            "/admin/integrations/reorder",
            Some(json!({"category": "clearinghouse", "ids": wrong})),
        )
        .await;
        assert_eq!((status, &error["field"]), (422, &json!("ids")), "{error}");
    }
    let (_, unchanged) = call(app, Method::GET, &path(&first), None).await;
    assert_eq!(unchanged["priority"], 2, "a refused reorder changes nothing");
}

async fn integrations_are_enabled_and_disabled(app: &TestApp) {
    let created = create(app, claimmd("switch")).await;
    let (status, disabled) = call(app, Method::POST, &format!("{}/disable", path(&created)), None).await;
    assert_eq!((status, &disabled["enabled"]), (200, &json!(false)));
    let (_, read) = call(app, Method::GET, &path(&created), None).await;
    assert_eq!(read["enabled"], false, "takes effect at once");
    assert_eq!(read["credentials"], json!({"accountKey": "set"}));
    let (status, enabled) = call(app, Method::POST, &format!("{}/enable", path(&created)), None).await;
    assert_eq!((status, &enabled["enabled"]), (200, &json!(true)));
    let (status, _) = call(app, Method::POST, "/admin/integrations/nope/enable", None).await;
    assert_eq!(status, 404);

    let mut off = claimmd("created off");
    off["enabled"] = json!(false);
    assert_eq!(create(app, off).await["enabled"], false);
}

async fn invalid_configurations_are_refused_with_the_field(app: &TestApp) {
    let with = |base: Value, field: &str, value: Value| {
        let mut body = base;
        body[field] = value;
        body
    };
    let cases = [
        (with(claimmd("x"), "vendor", json!("acme")), "vendor"),
        (with(stripe("x"), "category", json!("clearinghouse")), "category"),
        (with(availity("x"), "category", json!("payments")), "category"),
        (with(claimmd("x"), "category", json!("billing")), "category"),
        (with(claimmd("x"), "baseUrl", json!("not a url")), "baseUrl"),
        (
            with(claimmd("x"), "baseUrl", json!("ftp://svc.claim.md")),
            "baseUrl",
        ),
        (
            with(claimmd("x"), "credentials", json!({"accountKey": 5})),
            "credentials",
        ),
        (
            with(claimmd("x"), "credentials", json!("s3cret-string")),
            "credentials",
        ),
        (with(claimmd("x"), "settings", json!([1])), "settings"),
        (with(claimmd("x"), "priority", json!("first")), "priority"),
        (with(claimmd("x"), "name", json!("  ")), "name"),
        (
            json!({"vendor": "claimmd", "baseUrl": "https://svc.claim.md"}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let (status, text) = app
            .api_send(Method::POST, "/admin/integrations", Some(&body))
            .await;
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!((status, &error["field"]), (422, &json!(field)), "{body}: {error}");
    }
    assert!(list(app, "").await.is_empty(), "nothing refused was stored");

    let first = create(app, claimmd("taken")).await;
    let (status, error) = call(app, Method::POST, "/admin/integrations", Some(claimmd("taken"))).await;
    assert_eq!(status, 409, "{error}");
    let mut elsewhere = claimmd("taken");
    elsewhere["tenant"] = json!("acme");
    create(app, elsewhere).await;
    let second = create(app, claimmd("free")).await;
    let (status, _) = call(app, Method::PATCH, &path(&second), Some(json!({"name": "taken"}))).await;
    assert_eq!(status, 409, "a rename onto a taken name");
    let (status, error) = call(
        app,
        Method::PATCH,
        &path(&first),
        Some(json!({"vendor": "stripe", "category": "clearinghouse"})),
    )
    .await;
    assert_eq!((status, &error["field"]), (422, &json!("category")));
    // An answer sent back as it came must not overwrite the secrets with "set".
    let (_, echoed) = call(app, Method::GET, &path(&first), None).await;
    let (status, error) = call(app, Method::PUT, &path(&first), Some(echoed)).await;
    assert_eq!((status, &error["field"]), (422, &json!("credentials")), "{error}");
    let (status, error) = call(app, Method::PATCH, &path(&first), Some(json!({"tenant": "acme"}))).await;
    assert_eq!((status, &error["field"]), (422, &json!("tenant")));

    for method in [Method::GET, Method::PATCH, Method::PUT, Method::DELETE] {
        let body = (method == Method::PATCH || method == Method::PUT).then(|| json!({"enabled": false}));
        let (status, _) = call(app, method.clone(), "/admin/integrations/unknown", body).await;
        assert_eq!(status, 404, "{method}");
    }
    let response = app
        .client
        .post(app.server_url("/admin/integrations"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

async fn credentials_are_sealed_in_the_database(app: &TestApp) {
    let first = create(app, stripe("stripe")).await;
    let second = create(app, stripe("stripe backup")).await;
    let stored = app
        .select_texts(
            "SELECT id || ' ' || credentials_ciphertext || ' ' || credentials_nonce || ' ' || key_id \
             || ' ' || settings AS text FROM integrations",
        )
        .await;
    assert_eq!(stored.len(), 2);
    for row in &stored {
        assert!(
            !row.contains(SECRET) && !row.contains("webhookSecret"),
            "plaintext at rest: {row}"
        );
    }
    let key_ids = app.select_texts("SELECT key_id AS text FROM integrations").await;
    assert_eq!(key_ids, [first["keyId"].as_str().unwrap(); 2]);

    // A ciphertext copied into another row does not open there: it is bound to its row.
    let (one, two) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    let copy = format!(
        "UPDATE integrations SET \
           credentials_ciphertext = (SELECT credentials_ciphertext FROM integrations WHERE id = '{one}'), \
           credentials_nonce = (SELECT credentials_nonce FROM integrations WHERE id = '{one}') \
         WHERE id = '{two}'"
    );
    app.execute_sql(&copy, &copy).await;
    let (status, _) = call(app, Method::GET, &path(&second), None).await;
    assert_eq!(status, 500);
    let (status, _) = call(app, Method::GET, &path(&first), None).await;
    assert_eq!(status, 200);
}
