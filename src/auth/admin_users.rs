//! `/admin/users`: the people who may sign in on the login page. A password is
//! given by the admin or generated and shown once (`password` in the creation
//! answer); only its Argon2id hash is kept and no answer ever shows it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::users::user_of;
use super::AuthContext;
use crate::admin_body::{delete_answer, error_answer, read_answer};
use crate::store::StoreError;

const API: &str = "admin users API";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::post().to(create))
        .route("/admin/users", web::get().to(list))
        .route("/admin/users/{id}", web::get().to(read))
        .route("/admin/users/{id}", web::delete().to(remove));
}

fn store_error(error: &StoreError) -> HttpResponse {
    error_answer(StatusCode::SERVICE_UNAVAILABLE, error, None, API)
}

async fn create(context: web::Data<AuthContext>, body: web::Json<Value>) -> HttpResponse {
    let new = match user_of(body.into_inner()) {
        Ok(new) => new,
        Err(invalid) => return invalid.answer(API),
    };
    match context.users.add(new).await {
        Ok((user, generated)) => {
            let mut answer = user.to_json();
            if let Some(password) = generated {
                answer["password"] = json!(password);
            }
            HttpResponse::Created().json(answer)
        }
        Err(StoreError::WriteRace) => error_answer(
            StatusCode::CONFLICT,
            &"a user with that username exists",
            Some(("username", "is taken")),
            API,
        ),
        Err(error) => store_error(&error),
    }
}

async fn list(context: web::Data<AuthContext>) -> HttpResponse {
    match context.users.list().await {
        Ok(users) => HttpResponse::Ok().json(json!({
            "users": users.iter().map(|user| user.to_json()).collect::<Vec<_>>(),
        })),
        Err(error) => store_error(&error),
    }
}

async fn read(context: web::Data<AuthContext>, id: web::Path<String>) -> HttpResponse {
    let found = context.users.user(&id).await;
    read_answer(found, |user| user.to_json(), &format!("no user {id}"), API)
}

async fn remove(context: web::Data<AuthContext>, id: web::Path<String>) -> HttpResponse {
    let deleted = context.users.delete(&id).await;
    delete_answer(deleted, &format!("no user {id}"), API)
}
