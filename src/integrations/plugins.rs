//! The plugin each vendor is served by, and its simulator (`claimbridge simulate`).

use std::net::SocketAddr;
use std::sync::Arc;

use claimbridge_plugin_availity::AvailityPlugin;
use claimbridge_plugin_claimmd::ClaimMdPlugin;
use claimbridge_plugin_sdk::PluginHandler;
use claimbridge_plugin_stripe::StripePlugin;
use claimbridge_simulator_kit::Simulator;
use serde_json::Value;

use super::Vendor;

/// A new, uninitialized handler for `vendor`.
pub fn vendor_plugin(vendor: Vendor) -> Box<dyn PluginHandler> {
    match vendor {
        Vendor::ClaimMd => Box::new(ClaimMdPlugin::new()),
        Vendor::Availity => Box::new(AvailityPlugin::new()),
        Vendor::Stripe => Box::new(StripePlugin::new()),
    }
}

/// A vendor simulator running: its HTTP side, and for Availity the SFTP batch
/// channel beside it (an OpenSSH server, while this value lives).
pub struct RunningSimulator {
    http: Arc<Simulator>,
    availity: Option<claimbridge_plugin_availity::simulator::Running>,
}

impl RunningSimulator {
    pub fn base_url(&self) -> String {
        self.http.base_url()
    }

    pub fn address(&self) -> SocketAddr {
        self.http.address()
    }

    /// An integration configured against this simulator, when configuring one takes
    /// more than its base URL and documented credentials (Availity's SFTP host key
    /// and generated login key).
    pub fn integration(&self) -> Option<Value> {
        self.availity.as_ref().map(|running| running.integration())
    }

    pub async fn stop(self) {
        self.http.stop().await;
    }
}

/// Starts the vendor's simulator on `bind` with an optional scripted fault. Availity's
/// batch channel needs `sshd` (and root); without it only its REST side runs.
pub async fn start_simulator(
    vendor: Vendor,
    bind: SocketAddr,
    fault: Option<&str>,
) -> Result<RunningSimulator, Box<dyn std::error::Error + Send + Sync>> {
    let http = match vendor {
        Vendor::ClaimMd => claimbridge_plugin_claimmd::simulator::start(bind, fault).await?,
        Vendor::Stripe => claimbridge_plugin_stripe::simulator::start(bind, fault).await?,
        Vendor::Availity => {
            let root = std::env::temp_dir().join(format!("claimbridge-availity-{}", std::process::id()));
            std::fs::create_dir_all(&root)?;
            match claimbridge_plugin_availity::simulator::start_with_sftp(bind, fault, &root).await {
                Ok(running) => {
                    return Ok(RunningSimulator {
                        http: Arc::clone(&running.http),
                        availity: Some(running),
                    })
                }
                Err(error) => {
                    tracing::warn!(%error, "Availity's SFTP batch channel is not simulated; REST only");
                    claimbridge_plugin_availity::simulator::start(bind, fault).await?
                }
            }
        }
    };
    Ok(RunningSimulator { http, availity: None })
}
