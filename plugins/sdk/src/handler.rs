//! The handler trait every plugin implements, and the one way the server calls its
//! operations.
//!
//! Methods return boxed futures, like the server's `BillingGateway`, so the trait is
//! dyn-compatible: the registry picks plugins at run time from configuration and
//! holds them as `Box<dyn PluginHandler>` / `Arc<dyn PluginHandler>`.

use futures_util::future::BoxFuture;
use http::HeaderMap;

use crate::config::PluginConfig;
use crate::descriptor::PluginDescriptor;
use crate::error::PluginError;
use crate::health::{ConnectionCheck, Health};
use crate::operation::{Operation, OperationOutput};
use crate::webhook::WebhookOutcome;

/// One vendor integration. Its life cycle: created, [`initialize`]d once with its
/// configuration before it is shared, then used concurrently for operations, tests,
/// health checks and webhooks; [`cleanup`] runs when the registry drops it. A changed
/// configuration gets a new handler, initialized and swapped in, rather than a
/// handler changed in place, so no operation ever runs half on old settings.
///
/// [`initialize`]: PluginHandler::initialize
/// [`cleanup`]: PluginHandler::cleanup
pub trait PluginHandler: Send + Sync {
    fn descriptor(&self) -> &PluginDescriptor;

    /// Reads and checks the configuration and prepares what operations need (an HTTP
    /// client, a token cache); a configuration that cannot work is a final error.
    fn initialize<'a>(&'a mut self, config: PluginConfig) -> BoxFuture<'a, Result<(), PluginError>>;

    /// Performs one operation the descriptor declares. Callers go through
    /// [`execute_checked`], which refuses the others; the operation is borrowed so a
    /// retry sends the very same one.
    fn execute<'a>(&'a self, operation: &'a Operation)
        -> BoxFuture<'a, Result<OperationOutput, PluginError>>;

    /// Proves the configuration works with an authenticated call that changes
    /// nothing.
    fn test_connection(&self) -> BoxFuture<'_, Result<ConnectionCheck, PluginError>>;

    /// Whether the vendor answers now: cheap enough to run every minute.
    fn health_check(&self) -> BoxFuture<'_, Health>;

    /// Verifies and reads a webhook from the raw request, before anything trusts it.
    /// An error (for a plugin that must fetch the event back, say) makes the server
    /// answer 5xx, so the vendor delivers it again.
    fn handle_webhook<'a>(
        &'a self,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<WebhookOutcome, PluginError>>;

    /// Releases what [`PluginHandler::initialize`] acquired. Errors are only logged:
    /// the handler is gone either way.
    fn cleanup(&self) -> BoxFuture<'_, Result<(), PluginError>>;
}

/// Runs `operation` on `handler` if its descriptor declares the operation's
/// capability, and checks the output answers that operation, so callers may match
/// on the output they asked for. An undeclared operation is a final error and never
/// reaches the plugin.
pub async fn execute_checked(
    handler: &dyn PluginHandler,
    operation: &Operation,
) -> Result<OperationOutput, PluginError> {
    let capability = operation.capability();
    let descriptor = handler.descriptor();
    if !descriptor.supports(capability) {
        return Err(PluginError::unsupported(descriptor.vendor, capability));
    }
    let output = handler.execute(operation).await?;
    if output.capability() != capability {
        return Err(PluginError::rejected(format!(
            "{} answered {} with {}",
            descriptor.vendor,
            capability,
            output.capability()
        )));
    }
    Ok(output)
}
