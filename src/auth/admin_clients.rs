//! `/admin/clients`: registering, listing, reading and removing the clients of the
//! embedded authorization server, and `POST /admin/auth/keys/rotate`. A
//! confidential client's secret is in the creation answer only (`clientSecret`);
//! after that every answer says `"secret": "set"`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::clients::client_of;
use super::AuthContext;
use crate::admin_body::{delete_answer, error_answer, read_answer};
use crate::store::StoreError;

const API: &str = "admin clients API";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/clients", web::post().to(create))
        .route("/admin/clients", web::get().to(list))
        .route("/admin/clients/{id}", web::get().to(read))
        .route("/admin/clients/{id}", web::delete().to(remove))
        .route("/admin/auth/keys/rotate", web::post().to(rotate_keys));
}

fn store_error(error: &StoreError) -> HttpResponse {
    error_answer(StatusCode::SERVICE_UNAVAILABLE, error, None, API)
}

async fn create(context: web::Data<AuthContext>, body: web::Json<Value>) -> HttpResponse {
    let client = match client_of(body.into_inner()) {
        Ok(client) => client,
        Err(invalid) => return invalid.answer(API),
    };
    match context.clients.register(client).await {
        Ok((client, secret)) => {
            let mut answer = client.to_json();
            if let Some(secret) = secret {
                answer["clientSecret"] = json!(secret);
            }
            HttpResponse::Created().json(answer)
        }
        Err(StoreError::WriteRace) => error_answer(
            StatusCode::CONFLICT,
            &"a client with that clientId exists",
            Some(("clientId", "is taken")),
            API,
        ),
        Err(error) => store_error(&error),
    }
}

async fn list(context: web::Data<AuthContext>) -> HttpResponse {
    match context.clients.list().await {
        Ok(clients) => HttpResponse::Ok().json(json!({
            "clients": clients.iter().map(|client| client.to_json()).collect::<Vec<_>>(),
        })),
        Err(error) => store_error(&error),
    }
}

async fn read(context: web::Data<AuthContext>, id: web::Path<String>) -> HttpResponse {
    let found = context.clients.client(&id).await;
    read_answer(found, |client| client.to_json(), &format!("no client {id}"), API)
}

async fn remove(context: web::Data<AuthContext>, id: web::Path<String>) -> HttpResponse {
    let deleted = context.clients.delete(&id).await;
    delete_answer(deleted, &format!("no client {id}"), API)
}

async fn rotate_keys(context: web::Data<AuthContext>) -> HttpResponse {
    match context.keys.rotate().await {
        Ok(kid) => HttpResponse::Ok().json(json!({"kid": kid})),
        Err(error) => error_answer(StatusCode::SERVICE_UNAVAILABLE, &error, None, API),
    }
}
