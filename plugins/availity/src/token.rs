//! Availity's OAuth 2.0 client-credentials tokens, through the `oauth2` crate over
//! the SDK's reqwest client.
//!
//! A token lasts 300 s and there is no refresh token: the only way to a new one is
//! to ask again with the client secret. So the handler keeps one token, replaces it
//! a margin before it expires (a call in flight must not carry a token that dies on
//! the way), and fetches under a lock so a burst of concurrent calls asks once, not
//! once per call. A 401 on an API call drops the token ([`TokenSource::discard`])
//! for the caller to fetch a fresh one and try once more.

use std::time::{Duration, Instant};

use claimbridge_plugin_sdk::http_client::send_error;
use claimbridge_plugin_sdk::{Idempotency, PluginError, Secret};
use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use tokio::sync::Mutex;

/// Lifetime assumed when the token answer leaves out `expires_in`: Availity's
/// documented 5 minutes.
const DOCUMENTED_LIFETIME: Duration = Duration::from_secs(300);

type OAuthClient = BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Issues bearer tokens for one handler.
pub struct TokenSource {
    oauth: OAuthClient,
    http: reqwest::Client,
    scopes: Vec<Scope>,
    renew_margin: Duration,
    current: Mutex<Option<CachedToken>>,
}

#[derive(Clone)]
struct CachedToken {
    token: Secret,
    renew_at: Instant,
}

impl TokenSource {
    pub fn new(
        token_url: &str,
        client_id: &Secret,
        client_secret: &Secret,
        scope: &str,
        renew_margin: Duration,
        http: reqwest::Client,
    ) -> Result<Self, PluginError> {
        let token_url = TokenUrl::new(token_url.to_owned())
            .map_err(|e| PluginError::rejected(format!("the token URL does not read: {e}")))?;
        // Availity's guide sends the client id and secret as form fields, not as
        // HTTP Basic credentials (the crate's default).
        let oauth = BasicClient::new(ClientId::new(client_id.expose().to_owned()))
            .set_client_secret(ClientSecret::new(client_secret.expose().to_owned()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(token_url);
        Ok(TokenSource {
            oauth,
            http,
            scopes: scope
                .split_whitespace()
                .map(|s| Scope::new(s.to_owned()))
                .collect(),
            renew_margin,
            current: Mutex::new(None),
        })
    }

    /// A token valid for at least the renew margin: the cached one, or a new one.
    /// Callers that find no usable token wait for the one fetch under way.
    pub async fn bearer(&self) -> Result<Secret, PluginError> {
        let mut current = self.current.lock().await;
        if let Some(cached) = current.as_ref() {
            if Instant::now() < cached.renew_at {
                return Ok(cached.token.clone());
            }
        }
        let fresh = self.fetch().await?;
        *current = Some(fresh.clone());
        Ok(fresh.token)
    }

    /// Forgets `token` after the API refused it, unless another caller already
    /// replaced it.
    pub async fn discard(&self, token: &Secret) {
        let mut current = self.current.lock().await;
        if current
            .as_ref()
            .is_some_and(|cached| cached.token.expose() == token.expose())
        {
            *current = None;
        }
    }

    async fn fetch(&self) -> Result<CachedToken, PluginError> {
        let asked_at = Instant::now();
        let http = self.http.clone();
        let send = move |request: HttpRequest| {
            let http = http.clone();
            async move { send_token_request(&http, request).await }
        };
        let answer = self
            .oauth
            .exchange_client_credentials()
            .add_scopes(self.scopes.iter().cloned())
            .request_async(&send)
            .await
            .map_err(token_error)?;
        let lifetime = answer.expires_in().unwrap_or(DOCUMENTED_LIFETIME);
        tracing::debug!(lifetime_secs = lifetime.as_secs(), "Availity token issued");
        Ok(CachedToken {
            token: Secret::new(answer.access_token().secret().clone()),
            renew_at: asked_at + lifetime.saturating_sub(self.renew_margin),
        })
    }
}

/// The `oauth2` crate's HTTP client: the SDK's reqwest client. Statuses that say
/// the token endpoint is unavailable (408, 429, 5xx) are classified here, with
/// `Retry-After`, because the crate would only report an unreadable body; 4xx
/// answers go back to the crate, which reads the OAuth error JSON.
async fn send_token_request(
    http: &reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, PluginError> {
    let (parts, body) = request.into_parts();
    let answer = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| send_error(&e, Idempotency::Idempotent))?;
    let status = answer.status();
    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        return Err(PluginError::from_status(
            status,
            answer.headers(),
            Idempotency::Idempotent,
            "the token endpoint is unavailable",
        ));
    }
    let headers = answer.headers().clone();
    let bytes = answer
        .bytes()
        .await
        .map_err(|e| send_error(&e, Idempotency::Idempotent))?;
    let mut response = HttpResponse::new(bytes.to_vec());
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

fn token_error(error: RequestTokenError<PluginError, BasicErrorResponse>) -> PluginError {
    match error {
        RequestTokenError::Request(error) => error,
        RequestTokenError::ServerResponse(answer) => PluginError::rejected(format!(
            "the token endpoint refused the client credentials: {}{}",
            answer.error(),
            answer
                .error_description()
                .map(|text| format!(" ({text})"))
                .unwrap_or_default()
        )),
        RequestTokenError::Parse(error, _) => {
            PluginError::rejected(format!("the token endpoint's answer does not read: {error}"))
        }
        RequestTokenError::Other(text) => {
            PluginError::rejected(format!("the token endpoint answered unexpectedly: {text}"))
        }
    }
}
