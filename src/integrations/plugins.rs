//! The plugin each vendor is served by, and its simulator (`claimbridge simulate`).

use std::net::SocketAddr;
use std::sync::Arc;

use claimbridge_plugin_availity::AvailityPlugin;
use claimbridge_plugin_claimmd::ClaimMdPlugin;
use claimbridge_plugin_sdk::PluginHandler;
use claimbridge_plugin_stripe::StripePlugin;
use claimbridge_simulator_kit::Simulator;

use super::Vendor;

/// A new, uninitialized handler for `vendor`.
pub fn vendor_plugin(vendor: Vendor) -> Box<dyn PluginHandler> {
    match vendor {
        Vendor::ClaimMd => Box::new(ClaimMdPlugin::new()),
        Vendor::Availity => Box::new(AvailityPlugin::new()),
        Vendor::Stripe => Box::new(StripePlugin::new()),
    }
}

/// Starts the vendor's simulator on `bind` with an optional scripted fault.
pub async fn start_simulator(
    vendor: Vendor,
    bind: SocketAddr,
    fault: Option<&str>,
) -> Result<Arc<Simulator>, Box<dyn std::error::Error + Send + Sync>> {
    Ok(match vendor {
        Vendor::ClaimMd => claimbridge_plugin_claimmd::simulator::start(bind, fault).await?,
        Vendor::Availity => claimbridge_plugin_availity::simulator::start(bind, fault).await?,
        Vendor::Stripe => claimbridge_plugin_stripe::simulator::start(bind, fault).await?,
    })
}
