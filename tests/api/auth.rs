//! Authorization as SMART clients meet it: discovery, the token endpoint driven by
//! the `oauth2` crate (client credentials with a secret, and with a signed
//! assertion as SMART Backend Services do), and the resource server refusing
//! missing, foreign, replayed and out-of-scope credentials.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AuthType, ClientId, ClientSecret, HttpRequest, HttpResponse, RequestTokenError, Scope, TokenResponse,
    TokenUrl,
};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P384_SHA384_FIXED_SIGNING};
use serde_json::{json, Value};

use crate::helpers::{bearer_client, client_credentials_token, TestApp};

crate::on_both_backends!(
    discovery_describes_the_authorization_server,
    requests_without_a_good_token_are_refused,
    a_client_with_a_secret_gets_a_token_through_oauth2,
    a_backend_service_authenticates_with_a_signed_assertion,
    scopes_limit_what_a_token_may_do,
);

/// The oauth2 crate's HTTP client, over reqwest, keeping the server's status.
///
/// The test server speaks plain HTTP on loopback, but the crate refuses a
/// revocation URL that is not `https` (RFC 7009 §2): a test names it
/// `https://127.0.0.1:…`, and this transport carries it to the same address over
/// HTTP.
pub async fn oauth_http(request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let uri = parts
        .uri
        .to_string()
        .replacen("https://127.0.0.1:", "http://127.0.0.1:", 1);
    let answer = reqwest::Client::new()
        .request(parts.method, uri)
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let status = answer.status().as_u16();
    let mut response = HttpResponse::new(answer.bytes().await?.to_vec());
    *response.status_mut() = oauth2::http::StatusCode::from_u16(status).unwrap();
    Ok(response)
}

/// `error: error_description` of a refusal from the token endpoint.
pub fn refusal<T, E: std::error::Error>(
    result: &Result<T, RequestTokenError<E, BasicErrorResponse>>,
) -> String {
    match result {
        Err(RequestTokenError::ServerResponse(response)) => format!(
            "{}: {}",
            response.error().as_ref(),
            response.error_description().cloned().unwrap_or_default()
        ),
        Err(other) => panic!("not a refusal: {other}"),
        Ok(_) => panic!("a token was issued"),
    }
}

fn token_url(app: &TestApp) -> String {
    app.server_url("/auth/token")
}

async fn register(app: &TestApp, client: Value) -> Value {
    let (status, body) = app.api_post("/admin/clients", &client).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn discovery_describes_the_authorization_server(app: &TestApp) {
    for path in [
        "/.well-known/smart-configuration",
        "/fhir/.well-known/smart-configuration",
    ] {
        let answer = reqwest::Client::new()
            .get(app.server_url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{path} needs no token");
        let document: Value = answer.json().await.unwrap();
        assert_eq!(document["token_endpoint"], token_url(app));
        assert_eq!(
            document["grant_types_supported"],
            json!(["authorization_code", "client_credentials", "refresh_token"])
        );
        assert_eq!(document["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            document["authorization_endpoint"],
            app.server_url("/auth/authorize")
        );
        assert!(document["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt")));
    }
    let metadata: Value = reqwest::Client::new()
        .get(app.url("metadata"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let security = &metadata["rest"][0]["security"];
    assert_eq!(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
    assert_eq!(
        security["extension"][0]["extension"][0]["valueUri"],
        token_url(app)
    );
    let jwks: Value = reqwest::Client::new()
        .get(app.server_url("/auth/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!((&key["kty"], &key["alg"]), (&json!("EC"), &json!("ES256")));
    assert!(key.get("d").is_none(), "never the private half");
}

async fn requests_without_a_good_token_are_refused(app: &TestApp) {
    let anonymous = reqwest::Client::new();
    let answer = anonymous.get(app.url("Patient")).send().await.unwrap();
    assert_eq!(answer.status(), 401);
    assert!(answer.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let outcome: Value = answer.json().await.unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    for path in ["/admin/clients", "/api/billing/jobs/status", "/hl7/v2"] {
        let status = anonymous.get(app.server_url(path)).send().await.unwrap().status();
        assert_eq!(status, 401, "{path}");
    }

    // Not a JWT; and a well-formed one signed by a key this server never made.
    let garbage = bearer_client("not-a-token")
        .get(app.url("Patient"))
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 401);
    let challenge = garbage.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let foreign = foreign_token(app);
    let status = bearer_client(&foreign)
        .get(app.url("Patient"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);

    // A bad secret gets the Basic challenge RFC 6749 asks for.
    let answer = anonymous
        .post(token_url(app))
        .basic_auth(&app.admin_client_id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert!(answer.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let error: Value = answer.json().await.unwrap();
    assert_eq!(error["error"], "invalid_client");
}

/// A token shaped like the server's (same claims, ES256) but signed by another key.
fn foreign_token(app: &TestApp) -> String {
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("not-ours".into());
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": app.server_url("/auth"), "aud": app.base, "sub": "x", "exp": now + 60,
                        "iat": now, "scope": "system/*.*", "client_id": "x", "tenant": "default"});
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

async fn a_client_with_a_secret_gets_a_token_through_oauth2(app: &TestApp) {
    let registered = register(
        app,
        json!({"clientId": "reporting-job", "name": "Reporting job", "type": "confidential",
               "scopes": "system/Patient.rs system/Claim.rs"}),
    )
    .await;
    let secret = registered["clientSecret"].as_str().unwrap().to_owned();
    let (_, shown) = app.api_get("/admin/clients/reporting-job").await;
    assert_eq!(
        (&shown["secret"], shown.get("clientSecret")),
        (&json!("set"), None)
    );

    let oauth = BasicClient::new(ClientId::new("reporting-job".into()))
        .set_client_secret(ClientSecret::new(secret.clone()))
        .set_auth_type(AuthType::BasicAuth)
        .set_token_uri(TokenUrl::new(token_url(app)).unwrap());
    let token = oauth
        .exchange_client_credentials()
        .add_scope(Scope::new("system/Patient.rs".into()))
        .request_async(&oauth_http)
        .await
        .expect("a token");
    assert_eq!(
        token
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        Some(vec!["system/Patient.rs".to_owned()])
    );
    let expires_in = token.expires_in().unwrap().as_secs();
    assert!(expires_in > 0 && expires_in <= 3600, "{expires_in}");
    let reader = bearer_client(token.access_token().secret());
    assert_eq!(reader.get(app.url("Patient")).send().await.unwrap().status(), 200);

    // More than it is registered for is refused, and a removed client gets nothing.
    let refused = oauth
        .exchange_client_credentials()
        .add_scope(Scope::new("system/Coverage.rs".into()))
        .request_async(&oauth_http)
        .await;
    assert!(
        refusal(&refused).starts_with("invalid_scope"),
        "{}",
        refusal(&refused)
    );
    let (status, _) = app
        .api_send(reqwest::Method::DELETE, "/admin/clients/reporting-job", None)
        .await;
    assert_eq!(status, 204);
    let gone = oauth
        .exchange_client_credentials()
        .request_async(&oauth_http)
        .await;
    assert!(refusal(&gone).starts_with("invalid_client"), "{}", refusal(&gone));
}

/// An ES384 key pair for a backend service, and its public JWK.
fn backend_key(kid: &str) -> (EcdsaKeyPair, Value) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let jwk = json!({"kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384", "use": "sig",
                     "x": URL_SAFE_NO_PAD.encode(&point[1..49]), "y": URL_SAFE_NO_PAD.encode(&point[49..97])});
    (pair, jwk)
}

/// A client assertion signed with `pair` (ES384), as RFC 7523 and SMART describe it.
fn assertion(pair: &EcdsaKeyPair, kid: &str, client_id: &str, audience: &str, jti: &str) -> String {
    let header = json!({"alg": "ES384", "typ": "JWT", "kid": kid});
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": client_id, "sub": client_id, "aud": audience, "exp": now + 240, "jti": jti});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = pair.sign(&SystemRandom::new(), signing_input.as_bytes()).unwrap();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

async fn a_backend_service_authenticates_with_a_signed_assertion(app: &TestApp) {
    let (pair, jwk) = backend_key("payer-key-1");
    register(
        app,
        json!({"clientId": "payer-backend", "name": "Payer back end", "type": "backend",
               "scopes": "system/Claim.rs system/ClaimResponse.cruds", "jwks": {"keys": [jwk]}}),
    )
    .await;
    let oauth = BasicClient::new(ClientId::new("payer-backend".into()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(token_url(app)).unwrap());
    let ask = |jwt: String| {
        oauth
            .exchange_client_credentials()
            .add_scope(Scope::new("system/Claim.rs".into()))
            .add_extra_param(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .add_extra_param("client_assertion", jwt)
            .request_async(&oauth_http)
    };
    let signed = assertion(&pair, "payer-key-1", "payer-backend", &token_url(app), "jti-1");
    let token = ask(signed.clone()).await.expect("a token for a good assertion");
    let reader = bearer_client(token.access_token().secret());
    assert_eq!(reader.get(app.url("Claim")).send().await.unwrap().status(), 200);

    // The same assertion again is a replay.
    let replayed = ask(signed).await;
    assert!(
        refusal(&replayed).contains("used before"),
        "{}",
        refusal(&replayed)
    );
    // Meant for another server.
    let elsewhere = assertion(
        &pair,
        "payer-key-1",
        "payer-backend",
        "https://other.example/token",
        "jti-2",
    );
    assert!(refusal(&ask(elsewhere).await).starts_with("invalid_client"));
    // Signed by a key the client never registered.
    let (stranger, _) = backend_key("payer-key-1");
    let forged = assertion(
        &stranger,
        "payer-key-1",
        "payer-backend",
        &token_url(app),
        "jti-3",
    );
    let refused = ask(forged).await;
    assert!(
        refusal(&refused).starts_with("invalid_client"),
        "{}",
        refusal(&refused)
    );
}

async fn scopes_limit_what_a_token_may_do(app: &TestApp) {
    let registered = register(
        app,
        json!({"clientId": "patient-reader", "name": "Reader", "type": "confidential",
               "scopes": "system/Patient.rs"}),
    )
    .await;
    let token = client_credentials_token(
        &app.base,
        "patient-reader",
        registered["clientSecret"].as_str().unwrap(),
        None,
    )
    .await;
    let reader = bearer_client(&token);
    assert_eq!(reader.get(app.url("Patient")).send().await.unwrap().status(), 200);
    let denied = reader.get(app.url("Claim")).send().await.unwrap();
    assert_eq!(denied.status(), 403);
    let outcome: Value = denied.json().await.unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let create = reader
        .post(app.url("Patient"))
        .json(&json!({"resourceType": "Patient"}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 403, "rs does not allow create");
    let admin = reader.get(app.server_url("/admin/clients")).send().await.unwrap();
    assert_eq!(admin.status(), 403);
    let billing = reader
        .get(app.server_url("/api/billing/jobs/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(billing.status(), 403);
}
