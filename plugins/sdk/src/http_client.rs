//! The HTTP client every plugin talks to its vendor with, and the one reading of a
//! failed send as a [`PluginError`] class, so that the three plugins agree on what a
//! refused connection or a timeout means.
//!
//! TLS is rustls with the `ring` provider the server already uses for MLLP over
//! TLS (reqwest's default provider, aws-lc-rs, would add a second C library to
//! build); certificates are checked against the platform's trust store.

use std::sync::Once;
use std::time::Duration;

use crate::error::{Idempotency, PluginError};

/// Connecting is bounded on its own: a vendor that does not accept the connection
/// in this time is down, and nothing was sent.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client whose requests give up after `timeout` (the whole exchange), with
/// connection reuse and rustls. Plugins keep one per initialized handler.
pub fn client(timeout: Duration) -> Result<reqwest::Client, PluginError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(concat!("claimbridge/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| PluginError::rejected(format!("the HTTP client cannot be built: {e}")))
}

/// Makes `ring` the process's rustls provider, once. Every reqwest client in the
/// workspace needs one (reqwest is built without a provider of its own), so
/// programs and tests that build clients some other way call this first.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Fails only if another part of the process installed one first, which
        // serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Classifies an error from sending a request or reading its answer. A connection
/// that was never made sent nothing: transient. Anything later (a timeout waiting
/// for the answer, a connection reset mid-response, a body that does not read)
/// may have reached the vendor: transient only for an idempotent request,
/// otherwise ambiguous.
pub fn send_error(error: &reqwest::Error, idempotency: Idempotency) -> PluginError {
    let message = without_url(error);
    if error.is_connect() {
        PluginError::transient(format!("cannot connect: {message}"))
    } else if error.is_builder() {
        PluginError::rejected(format!("the request cannot be built: {message}"))
    } else if error.is_timeout() {
        PluginError::no_answer(idempotency, format!("no answer in time: {message}"))
    } else {
        PluginError::no_answer(idempotency, format!("the exchange broke off: {message}"))
    }
}

/// reqwest's message names the URL, whose query may carry identifiers; the
/// plugin knows which endpoint it called and says so itself.
fn without_url(error: &reqwest::Error) -> String {
    let mut error = std::error::Error::source(error)
        .map(|source| source.to_string())
        .unwrap_or_else(|| "request failed".to_owned());
    error.truncate(200);
    error
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;
    use crate::error::ErrorClass;

    #[tokio::test]
    async fn a_refused_connection_is_transient_even_for_a_claim_upload() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let client = client(Duration::from_secs(2)).unwrap();
        let error = client
            .post(format!("http://127.0.0.1:{port}/services/upload/"))
            .send()
            .await
            .unwrap_err();
        let classified = send_error(&error, Idempotency::NotIdempotent);
        assert_eq!(classified.class(), ErrorClass::Transient, "{classified}");
    }

    #[tokio::test]
    async fn no_answer_after_sending_is_ambiguous_for_a_claim_upload_and_transient_for_a_read() {
        // Accepts the connection and reads, but never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let client = client(Duration::from_millis(300)).unwrap();
        for (idempotency, class) in [
            (Idempotency::NotIdempotent, ErrorClass::Ambiguous),
            (Idempotency::Idempotent, ErrorClass::Transient),
        ] {
            let error = client
                .post(format!("http://{address}/services/upload/"))
                .body("ISA*00*…")
                .send()
                .await
                .unwrap_err();
            let classified = send_error(&error, idempotency);
            assert_eq!(classified.class(), class, "{classified}");
            assert!(!classified.to_string().contains("/services/"), "{classified}");
        }
    }
}
