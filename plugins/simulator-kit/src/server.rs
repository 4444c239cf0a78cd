//! The simulator's HTTP server: one address for its whole life, closed while the
//! simulator is `down` and opened again on the same address when it comes back, so
//! a client sees exactly what a dead vendor looks like (connection refused).

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header::RETRY_AFTER;
use actix_web::middleware::{from_fn, Next};
use actix_web::web::{self, ServiceConfig};
use actix_web::{App, HttpResponse, HttpServer};
use tokio::sync::Notify;

use crate::fault::{parse_scripted, Fault, FaultCommand, Faults};

const CONTROL_PREFIX: &str = "/__simulator/";

/// How long a request that hit the `timeout` fault is held before its answer is
/// dropped: longer than any client waits.
const NEVER: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    #[error("cannot listen on {address}: {source}")]
    Bind { address: SocketAddr, source: io::Error },
    #[error(transparent)]
    Fault(#[from] crate::fault::FaultParseError),
}

type Configure = dyn Fn(&mut ServiceConfig) + Send + Sync;

/// A running simulator. Dropping it does not stop it; [`Simulator::stop`] does.
pub struct Simulator {
    address: SocketAddr,
    faults: Faults,
    configure: Arc<Configure>,
    running: Mutex<Option<ServerHandle>>,
    changed: Arc<Notify>,
}

impl Simulator {
    /// Listens on `bind` (port 0 picks one) with the vendor's routes from
    /// `configure`, showing `scripted` faults (`5xx*3`, `down=2000`) from the start.
    pub async fn start(
        bind: SocketAddr,
        scripted: Option<&str>,
        configure: impl Fn(&mut ServiceConfig) + Send + Sync + 'static,
    ) -> Result<Arc<Simulator>, SimulatorError> {
        Self::start_with(bind, Faults::default(), scripted, configure).await
    }

    /// As [`Simulator::start`], with faults the caller already holds (a vendor
    /// simulator's handlers ask them [`Faults::take_reject`]).
    pub async fn start_with(
        bind: SocketAddr,
        faults: Faults,
        scripted: Option<&str>,
        configure: impl Fn(&mut ServiceConfig) + Send + Sync + 'static,
    ) -> Result<Arc<Simulator>, SimulatorError> {
        let listener = TcpListener::bind(bind).map_err(|source| SimulatorError::Bind {
            address: bind,
            source,
        })?;
        let address = listener.local_addr().map_err(|source| SimulatorError::Bind {
            address: bind,
            source,
        })?;
        let simulator = Arc::new(Simulator {
            address,
            faults,
            configure: Arc::new(configure),
            running: Mutex::new(None),
            changed: Arc::new(Notify::new()),
        });
        simulator.open(listener)?;
        tokio::spawn(supervise(Arc::downgrade(&simulator)));
        if let Some(scripted) = scripted {
            let (fault, times) = parse_scripted(scripted)?;
            simulator.set_fault(fault, times);
        }
        Ok(simulator)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://<address>`, what an integration's `baseUrl` points at.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Shows `fault` from now on (for the next `times` requests); `down` closes
    /// the listener at once.
    pub fn set_fault(&self, fault: Fault, times: Option<u32>) {
        self.faults.set(fault, times);
        self.changed.notify_one();
    }

    /// Back to normal; a simulator that was down listens again.
    pub fn clear_fault(&self) {
        self.faults.clear();
        self.changed.notify_one();
    }

    /// Stops serving for good.
    pub async fn stop(&self) {
        let handle = self.lock_running().take();
        if let Some(handle) = handle {
            handle.stop(false).await;
        }
    }

    fn open(&self, listener: TcpListener) -> Result<(), SimulatorError> {
        let faults = self.faults.clone();
        let changed = self.changed.clone();
        let configure = self.configure.clone();
        let server = HttpServer::new(move || {
            let configure = configure.clone();
            App::new()
                .app_data(web::Data::new(faults.clone()))
                .app_data(web::Data::new(changed.clone()))
                .wrap(from_fn(show_faults))
                .route("/__simulator/fault", web::put().to(put_fault))
                .route("/__simulator/fault", web::delete().to(delete_fault))
                .route("/__simulator/requests", web::get().to(get_served))
                .configure(move |config| configure(config))
        })
        .workers(1)
        .shutdown_timeout(1)
        .disable_signals()
        .listen(listener)
        .map_err(|source| SimulatorError::Bind {
            address: self.address,
            source,
        })?
        .run();
        *self.lock_running() = Some(server.handle());
        tokio::spawn(server);
        Ok(())
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, Option<ServerHandle>> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Closes and reopens the listener as `down` comes and goes. Holds the simulator
/// weakly, so it ends when the simulator is dropped.
async fn supervise(simulator: std::sync::Weak<Simulator>) {
    loop {
        let changed = match simulator.upgrade() {
            Some(simulator) => simulator.changed.clone(),
            None => return,
        };
        changed.notified().await;
        let Some(simulator) = simulator.upgrade() else {
            return;
        };
        let is_down = matches!(simulator.faults.current(), Some(Fault::Down { .. }));
        let is_open = simulator.lock_running().is_some();
        if is_down && is_open {
            let handle = simulator.lock_running().take();
            if let Some(handle) = handle {
                handle.stop(false).await;
            }
            tracing::info!(address = %simulator.address, "simulator down");
            if let Some(Fault::Down {
                for_duration: Some(duration),
            }) = simulator.faults.current()
            {
                let changed = simulator.changed.clone();
                let faults = simulator.faults.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(duration).await;
                    faults.clear();
                    changed.notify_one();
                });
            }
        } else if !is_down && !is_open {
            match TcpListener::bind(simulator.address) {
                Ok(listener) => {
                    if let Err(error) = simulator.open(listener) {
                        tracing::error!(%error, "simulator cannot come back up");
                    }
                }
                Err(error) => tracing::error!(%error, "simulator cannot listen again"),
            }
            tracing::info!(address = %simulator.address, "simulator up");
        }
    }
}

async fn show_faults(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if request.path().starts_with(CONTROL_PREFIX) {
        return Ok(next.call(request).await?.map_into_boxed_body());
    }
    let faults = request
        .app_data::<web::Data<Faults>>()
        .expect("the simulator registers its faults")
        .get_ref()
        .clone();
    faults.count_served(request.path());
    let fault = faults.take_if(|fault| {
        matches!(
            fault,
            Fault::Slow(_) | Fault::ServerError | Fault::RateLimited { .. } | Fault::TimeoutAfterAccepting
        )
    });
    match fault {
        Some(Fault::ServerError) => Ok(request.into_response(
            HttpResponse::InternalServerError()
                .content_type("text/plain")
                .body("simulated server error"),
        )),
        Some(Fault::RateLimited { retry_after_secs }) => Ok(request.into_response(
            HttpResponse::TooManyRequests()
                .insert_header((RETRY_AFTER, retry_after_secs.to_string()))
                .content_type("text/plain")
                .body("simulated rate limit"),
        )),
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(next.call(request).await?.map_into_boxed_body())
        }
        Some(Fault::TimeoutAfterAccepting) => {
            // The vendor does the work; only the answer is lost.
            let _done = next.call(request).await?;
            tokio::time::sleep(NEVER).await;
            Err(actix_web::error::ErrorGatewayTimeout("never answered"))
        }
        _ => Ok(next.call(request).await?.map_into_boxed_body()),
    }
}

async fn put_fault(
    faults: web::Data<Faults>,
    changed: web::Data<Arc<Notify>>,
    command: web::Json<FaultCommand>,
) -> HttpResponse {
    match command.fault() {
        Ok(fault) => {
            faults.set(fault, command.times);
            // The answer goes out before a `down` closes the listener: stopping
            // waits for requests in flight.
            changed.notify_one();
            HttpResponse::NoContent().finish()
        }
        Err(error) => HttpResponse::BadRequest().body(error.to_string()),
    }
}

async fn delete_fault(faults: web::Data<Faults>, changed: web::Data<Arc<Notify>>) -> HttpResponse {
    faults.clear();
    changed.notify_one();
    HttpResponse::NoContent().finish()
}

async fn get_served(faults: web::Data<Faults>) -> HttpResponse {
    HttpResponse::Ok().json(faults.served())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_simulator(scripted: Option<&str>) -> Arc<Simulator> {
        Simulator::start("127.0.0.1:0".parse().unwrap(), scripted, |config| {
            config.route(
                "/services/ping/",
                web::post().to(|| async { HttpResponse::Ok().body("pong") }),
            );
        })
        .await
        .unwrap()
    }

    fn client() -> reqwest::Client {
        claimbridge_plugin_sdk::http_client::client(Duration::from_millis(500)).unwrap()
    }

    async fn ping(simulator: &Simulator) -> Result<reqwest::Response, reqwest::Error> {
        client()
            .post(format!("{}/services/ping/", simulator.base_url()))
            .send()
            .await
    }

    #[tokio::test]
    async fn scripted_server_errors_fail_exactly_their_count_then_the_vendor_answers() {
        let simulator = echo_simulator(Some("5xx*2")).await;
        assert_eq!(ping(&simulator).await.unwrap().status(), 500);
        assert_eq!(ping(&simulator).await.unwrap().status(), 500);
        let answer = ping(&simulator).await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), "pong");
        let served: serde_json::Value = client()
            .get(format!("{}/__simulator/requests", simulator.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(served["/services/ping/"], 3);
        simulator.stop().await;
    }

    #[tokio::test]
    async fn a_throttled_answer_says_when_to_come_back() {
        let simulator = echo_simulator(Some("429=7")).await;
        let answer = ping(&simulator).await.unwrap();
        assert_eq!(answer.status(), 429);
        assert_eq!(answer.headers()[RETRY_AFTER.as_str()], "7");
        simulator.stop().await;
    }

    #[tokio::test]
    async fn down_refuses_connections_until_it_comes_back_on_the_same_address() {
        let simulator = echo_simulator(None).await;
        let control = client()
            .put(format!("{}/__simulator/fault", simulator.base_url()))
            .json(&serde_json::json!({"fault": "down", "forMillis": 400}))
            .send()
            .await
            .unwrap();
        assert_eq!(control.status(), 204);
        tokio::time::sleep(Duration::from_millis(150)).await;
        let refused = ping(&simulator).await.unwrap_err();
        assert!(refused.is_connect(), "{refused:?}");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(ping(&simulator).await.unwrap().status(), 200);
        simulator.stop().await;
    }

    #[tokio::test]
    async fn a_timeout_after_accepting_does_the_work_and_never_answers() {
        let simulator = echo_simulator(Some("timeout*1")).await;
        let error = ping(&simulator).await.unwrap_err();
        assert!(error.is_timeout(), "{error:?}");
        assert_eq!(simulator.faults().served()["/services/ping/"], 1);
        assert_eq!(ping(&simulator).await.unwrap().status(), 200);
        simulator.stop().await;
    }
}
