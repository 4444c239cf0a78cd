//! The MLLP listener: accepts interface-engine connections, reads frames, hands each
//! message to `Ingest` and writes its ACK, one message at a time per connection
//! (MLLP senders wait for each ACK before the next message).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::audit::classify::mllp_message;
use crate::audit::{Auditor, Outcome};
use crate::hl7::connection::{Connection, ConnectionError};
use crate::hl7::ingest::Ingest;
use crate::observability::metrics;

/// Connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 1024;
/// A peer that has not finished the TLS handshake by then is dropped.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct ListenerLimits {
    pub max_frame: usize,
    pub idle_timeout: Duration,
}

pub struct MllpListener {
    listener: TcpListener,
    ingest: Arc<Ingest>,
    limits: ListenerLimits,
    tls: Option<TlsAcceptor>,
    /// One AuditEvent per message (see `crate::audit`).
    auditor: Auditor,
    /// True while `run` accepts connections (the readiness probe reads it).
    accepting: Arc<AtomicBool>,
}

impl MllpListener {
    pub async fn bind(
        address: SocketAddr,
        ingest: Arc<Ingest>,
        limits: ListenerLimits,
        tls: Option<TlsAcceptor>,
        auditor: Auditor,
    ) -> std::io::Result<Self> {
        Ok(MllpListener {
            listener: TcpListener::bind(address).await?,
            ingest,
            limits,
            tls,
            auditor,
            accepting: Arc::default(),
        })
    }

    /// Whether the listener is accepting connections, as it changes.
    pub fn accepting(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.accepting)
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` turns true, then stops accepting and waits for every
    /// connection to finish the message it is processing.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut connections = JoinSet::new();
        self.accepting.store(true, Ordering::Relaxed);
        loop {
            let permit = tokio::select! {
                permit = Arc::clone(&permits).acquire_owned() => permit.expect("the semaphore is never closed"),
                _ = shutdown.changed() => break,
            };
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = shutdown.changed() => break,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "MLLP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let open = metrics::mllp::connection_opened();
            let ingest = Arc::clone(&self.ingest);
            let limits = self.limits;
            let shutdown = shutdown.clone();
            let tls = self.tls.clone();
            let auditor = self.auditor.clone();
            connections.spawn(async move {
                serve_connection(stream, peer, tls, ingest, limits, shutdown, auditor).await;
                drop(open);
                drop(permit);
            });
            // Reap finished connections so the set does not grow without bound.
            while connections.try_join_next().is_some() {}
        }
        self.accepting.store(false, Ordering::Relaxed);
        tracing::info!(
            open = connections.len(),
            "MLLP listener stopping; finishing in-flight messages"
        );
        while connections.join_next().await.is_some() {}
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    ingest: Arc<Ingest>,
    limits: ListenerLimits,
    shutdown: watch::Receiver<bool>,
    auditor: Auditor,
) {
    tracing::debug!(%peer, "MLLP connection opened");
    match tls {
        None => serve(stream, peer, &ingest, limits, shutdown, &auditor).await,
        Some(acceptor) => match tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => serve(stream, peer, &ingest, limits, shutdown, &auditor).await,
            Ok(Err(error)) => tracing::info!(%peer, %error, "MLLP TLS handshake failed"),
            Err(_) => tracing::info!(%peer, "MLLP TLS handshake timed out"),
        },
    }
    tracing::debug!(%peer, "MLLP connection closed");
}

/// Reads messages off one connection (plain or TLS) and answers each with its ACK.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: SocketAddr,
    ingest: &Ingest,
    limits: ListenerLimits,
    mut shutdown: watch::Receiver<bool>,
    auditor: &Auditor,
) {
    let mut connection = Connection::new(stream, limits.max_frame);
    loop {
        let frame = tokio::select! {
            frame = tokio::time::timeout(limits.idle_timeout, connection.read_frame()) => frame,
            // Between messages only: a message being processed is finished first.
            _ = shutdown.changed() => return,
        };
        let payload = match frame {
            Err(_) => {
                tracing::info!(%peer, timeout_secs = limits.idle_timeout.as_secs(), "MLLP connection idle; closing");
                return;
            }
            Ok(Ok(Some(payload))) => payload,
            Ok(Ok(None)) => return,
            Ok(Err(ConnectionError::TooLarge { limit })) => {
                tracing::warn!(%peer, limit, "MLLP frame over the size limit; closing the connection");
                metrics::mllp::oversize_frame();
                return;
            }
            Ok(Err(error)) => {
                tracing::info!(%peer, %error, "MLLP connection ended");
                return;
            }
        };
        let received = std::time::Instant::now();
        let text = decode_text(&payload);
        match ingest.receive(&text, Some(peer.ip())).await {
            Ok(reply) => {
                metrics::mllp::message(&reply.message_type, reply.status.as_str());
                // A message ingestion committed has its AuditEvent committed with it.
                // A resend committed nothing: its event goes to the audit writer,
                // which an accepted one waits for before its ACK goes out.
                if !reply.audited {
                    let record = mllp_message(Some(&reply), peer.ip());
                    if record.outcome == Outcome::Success {
                        auditor.record_durably(record).await;
                    } else {
                        auditor.record(record).await;
                    }
                }
                for ack in &reply.acks {
                    if let Err(error) = connection.write_frame(ack.as_bytes()).await {
                        tracing::info!(%peer, %error, "could not write an ACK; the sender will resend");
                        return;
                    }
                }
                if !reply.acks.is_empty() {
                    metrics::mllp::ack_written(received);
                }
            }
            Err(error) => {
                // Nothing was stored, so nothing may be acknowledged: closing makes
                // the sender resend.
                tracing::error!(%peer, %error, "MLLP message not stored; closing without ACK");
                auditor.record(mllp_message(None, peer.ip())).await;
                return;
            }
        }
    }
}

/// HL7 v2 is ASCII by default, often Latin-1 in practice, and UTF-8 when MSH-18
/// says so: UTF-8 when the bytes are valid UTF-8, else each byte as Latin-1.
fn decode_text(payload: &[u8]) -> String {
    match std::str::from_utf8(payload) {
        Ok(text) => text.to_owned(),
        Err(_) => payload.iter().map(|&b| b as char).collect(),
    }
}
