//! An organisation's own identity provider issues the access tokens: the server,
//! configured to trust it, discovers it (OpenID Connect discovery, JWKS) and honours
//! its RS256 and ES384 tokens within their scopes, refuses forged, misaddressed and
//! stale ones, follows the provider's key rotation without a restart, and does not
//! let a flood of tokens with made-up key ids make it hammer the provider.
//!
//! The provider is a fake one run by the test (discovery document and JWKS on an
//! ephemeral port, counting JWKS reads). Its RSA key is the committed test key
//! `tests/fixtures/idp/rs256-test-key.der` (ring cannot generate RSA keys); its
//! P-384 keys are generated per test. The storage backend plays no part: SQLite only.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents, ECDSA_P384_SHA384_FIXED_SIGNING,
};
use serde_json::{json, Value};

use crate::helpers::{bearer_client, TestApp, TestOptions};

/// Longer than the server's least interval between two reads of the provider's
/// keys in tests (one second).
const REFRESH_INTERVAL: Duration = Duration::from_millis(1100);

/// The fake identity provider.
struct Idp {
    state: Arc<IdpState>,
    server: actix_web::dev::ServerHandle,
}

struct IdpState {
    issuer: &'static str,
    /// The JWKS it publishes.
    published: Mutex<Vec<Value>>,
    jwks_reads: AtomicUsize,
    /// Off: every request is answered 503, as by a provider under maintenance.
    up: AtomicBool,
}

impl Idp {
    async fn start(keys: &[&SigningKey]) -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let issuer: &'static str =
            Box::leak(format!("http://{}", listener.local_addr().unwrap()).into_boxed_str());
        let state = Arc::new(IdpState {
            issuer,
            published: Mutex::new(keys.iter().map(|key| key.jwk.clone()).collect()),
            jwks_reads: AtomicUsize::new(0),
            up: AtomicBool::new(true),
        });
        let data = web::Data::from(Arc::clone(&state));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/.well-known/openid-configuration", web::get().to(discovery))
                .route("/jwks", web::get().to(jwks))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("the fake issuer listens")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Idp {
            state,
            server: handle,
        }
    }

    fn issuer(&self) -> &'static str {
        self.state.issuer
    }

    fn publish(&self, keys: &[&SigningKey]) {
        *self.state.published.lock().unwrap() = keys.iter().map(|key| key.jwk.clone()).collect();
    }

    fn set_up(&self, up: bool) {
        self.state.up.store(up, Ordering::SeqCst);
    }

    fn jwks_reads(&self) -> usize {
        self.state.jwks_reads.load(Ordering::SeqCst)
    }
}

async fn discovery(idp: web::Data<IdpState>) -> HttpResponse {
    if !idp.up.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let issuer = idp.issuer;
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES384"],
    }))
}

async fn jwks(idp: web::Data<IdpState>) -> HttpResponse {
    idp.jwks_reads.fetch_add(1, Ordering::SeqCst);
    if !idp.up.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let keys = idp.published.lock().unwrap().clone();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

/// A key the provider signs with, and its public JWK.
struct SigningKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl SigningKey {
    /// The committed RSA test key, for RS256.
    fn rsa(kid: &str) -> SigningKey {
        let der = include_bytes!("../fixtures/idp/rs256-test-key.der");
        let pair = RsaKeyPair::from_der(der).expect("a PKCS#1 RSA key");
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
        SigningKey {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(der),
            jwk: json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                        "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e)}),
        }
    }

    /// A new P-384 key, for ES384.
    fn es384(kid: &str) -> SigningKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        // Uncompressed point: 0x04, x, y.
        let point = pair.public_key().as_ref();
        SigningKey {
            kid: kid.into(),
            alg: Algorithm::ES384,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "crv": "P-384", "kid": kid,
                        "x": URL_SAFE_NO_PAD.encode(&point[1..49]), "y": URL_SAFE_NO_PAD.encode(&point[49..97])}),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.alg, &self.kid, claims)
    }

    /// Signed with this key, whatever the header says.
    fn sign_as(&self, alg: Algorithm, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        encode(&header, claims, &self.encoding).expect("signed")
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// What the provider puts in an access token for the EHR's back end.
fn claims(app: &TestApp, idp: &Idp, scope: &str) -> Value {
    json!({
        "iss": idp.issuer(), "sub": "ehr-service", "aud": app.base, "client_id": "ehr",
        "scope": scope, "iat": now(), "nbf": now() - 5, "exp": now() + 300,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

async fn status(app: &TestApp, token: &str, path: &str) -> u16 {
    bearer_client(token)
        .get(app.url(path))
        .send()
        .await
        .expect("GET")
        .status()
        .as_u16()
}

async fn trusting(idp: &Idp) -> TestApp {
    TestApp::sqlite(TestOptions {
        trusted_issuer: Some(idp.issuer()),
        ..TestOptions::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_a_trusted_issuer_read_what_their_scopes_allow() {
    let (rsa, ec) = (SigningKey::rsa("rsa-1"), SigningKey::es384("ec-1"));
    let idp = Idp::start(&[&rsa, &ec]).await;
    let app = trusting(&idp).await;
    assert_eq!(idp.jwks_reads(), 1, "discovered at start-up");

    let patients_reader = rsa.sign(&claims(&app, &idp, "system/Patient.rs"));
    assert_eq!(status(&app, &patients_reader, "Patient").await, 200);
    assert_eq!(status(&app, &patients_reader, "Patient").await, 200, "remembered");
    assert_eq!(status(&app, &patients_reader, "Claim").await, 403);

    // Entra-style: the client in `azp`, the scopes as an `scp` array, no `jti`.
    let mut robot = claims(&app, &idp, "");
    let robot = robot.as_object_mut().unwrap();
    for claim in ["client_id", "scope", "jti"] {
        robot.remove(claim);
    }
    robot.insert("azp".into(), json!("billing-robot"));
    robot.insert("scp".into(), json!(["system/Claim.rs", "system/Coverage.r"]));
    let claims_reader = ec.sign(&Value::Object(robot.clone()));
    assert_eq!(status(&app, &claims_reader, "Claim").await, 200);
    assert_eq!(status(&app, &claims_reader, "Patient").await, 403);
    let created = bearer_client(&claims_reader)
        .post(app.url("Claim"))
        .header("Content-Type", "application/fhir+json")
        .body(json!({"resourceType": "Claim"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 403, "no create in its scopes");
    // Not the admin API either: no admin role was granted.
    let admin = bearer_client(&patients_reader)
        .get(app.server_url("/admin/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 403);
    assert_eq!(idp.jwks_reads(), 1, "known keys need no further reads");
    app.finish().await;
    idp.server.stop(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_misaddressed_and_stale_tokens_are_refused() {
    let (rsa, ec) = (SigningKey::rsa("rsa-1"), SigningKey::es384("ec-1"));
    let idp = Idp::start(&[&rsa, &ec]).await;
    let app = trusting(&idp).await;
    let good = claims(&app, &idp, "system/*.*");
    let with = |changes: Value| {
        let mut claims = good.clone();
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    };
    let impostor = SigningKey::es384("ec-1");
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    let hmac = encode(
        &Header {
            kid: Some("rsa-1".into()),
            ..Header::new(Algorithm::HS256)
        },
        &good,
        &EncodingKey::from_secret(rsa.jwk["n"].as_str().unwrap().as_bytes()),
    )
    .unwrap();
    let refused = [
        (
            "another audience",
            rsa.sign(&with(json!({"aud": "https://other.example/fhir"}))),
        ),
        ("expired", rsa.sign(&with(json!({"exp": now() - 120})))),
        ("not yet valid", ec.sign(&with(json!({"nbf": now() + 300})))),
        (
            "no exp",
            ec.sign(&{
                let mut claims = good.clone();
                claims.as_object_mut().unwrap().remove("exp");
                claims
            }),
        ),
        ("signed by another key under its kid", impostor.sign(&good)),
        ("unsigned (alg none)", unsigned),
        ("HS256 with the public key as secret", hmac),
        (
            "ES384 claimed for the RSA key's kid",
            ec.sign_as(Algorithm::ES384, "rsa-1", &good),
        ),
        (
            "an issuer not trusted",
            rsa.sign(&with(json!({"iss": "http://127.0.0.1:9/other"}))),
        ),
        (
            "the issuer with a trailing slash",
            rsa.sign(&with(json!({"iss": format!("{}/", idp.issuer())}))),
        ),
    ];
    for (what, token) in refused {
        let answer = bearer_client(&token)
            .get(app.url("Patient"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401, "{what}");
        let challenge = answer.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
    }
    // The genuine one, for contrast.
    assert_eq!(status(&app, &rsa.sign(&good), "Patient").await, 200);
    app.finish().await;
    idp.server.stop(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuer_rotates_its_keys_without_a_restart() {
    let (rsa, ec) = (SigningKey::rsa("rsa-1"), SigningKey::es384("ec-1"));
    let idp = Idp::start(&[&rsa, &ec]).await;
    let app = trusting(&idp).await;
    let scope = "system/Patient.rs";
    assert_eq!(
        status(&app, &rsa.sign(&claims(&app, &idp, scope)), "Patient").await,
        200
    );
    let reads = idp.jwks_reads();

    // The provider rotates: a new key, and the RSA key withdrawn.
    let next = SigningKey::es384("ec-2");
    idp.publish(&[&next, &ec]);
    tokio::time::sleep(REFRESH_INTERVAL).await;
    assert_eq!(
        status(&app, &next.sign(&claims(&app, &idp, scope)), "Patient").await,
        200,
        "the new kid sends the server back to the JWKS"
    );
    assert_eq!(idp.jwks_reads(), reads + 1);
    assert_eq!(
        status(&app, &rsa.sign(&claims(&app, &idp, scope)), "Patient").await,
        401,
        "a withdrawn key no longer verifies"
    );

    // A burst of tokens naming a kid that never exists: one read of the JWKS (two
    // if the burst straddles the interval), not one per token.
    tokio::time::sleep(REFRESH_INTERVAL).await;
    let reads = idp.jwks_reads();
    let burst = (0..20).map(|_| {
        let token = ec.sign_as(Algorithm::ES384, "never", &claims(&app, &idp, scope));
        let url = app.url("Patient");
        async move {
            bearer_client(&token)
                .get(url)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(burst).await;
    assert!(statuses.iter().all(|status| *status == 401), "{statuses:?}");
    let burst_reads = idp.jwks_reads() - reads;
    assert!((1..=2).contains(&burst_reads), "{burst_reads} JWKS reads");

    // The provider goes away: tokens of the keys already known still verify; a
    // new kid cannot be checked (503, try again), rather than being called bad.
    idp.server.stop(false).await;
    tokio::time::sleep(REFRESH_INTERVAL).await;
    let unknown = SigningKey::es384("ec-3");
    assert_eq!(
        status(&app, &unknown.sign(&claims(&app, &idp, scope)), "Patient").await,
        503
    );
    assert_eq!(
        status(&app, &ec.sign(&claims(&app, &idp, scope)), "Patient").await,
        200
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_down_at_start_up_is_discovered_at_its_first_token() {
    let rsa = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&rsa]).await;
    idp.set_up(false);
    let app = trusting(&idp).await;
    let token = rsa.sign(&claims(&app, &idp, "system/Patient.rs"));
    assert_eq!(status(&app, &token, "Patient").await, 503, "not yet checkable");
    idp.set_up(true);
    tokio::time::sleep(REFRESH_INTERVAL).await;
    assert_eq!(status(&app, &token, "Patient").await, 200, "discovered now");
    assert_eq!(idp.jwks_reads(), 1);
    app.finish().await;
    idp.server.stop(false).await;
}
