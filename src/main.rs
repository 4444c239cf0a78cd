//! The `claimbridge` command line: thin, everything else lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use claimbridge::app::Application;
use claimbridge::config::Settings;
use claimbridge::integrations::plugins::start_simulator;
use claimbridge::integrations::Vendor;
use claimbridge::observability::init_logging;
use claimbridge::secrets::Keyring;
use claimbridge::store::{self, Database, DatabaseKind};

/// mimalloc: the request path allocates many small JSON nodes, where glibc's
/// allocator showed up at a fifth of the server's CPU time under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "claimbridge",
    version,
    about = "FHIR R4 server for healthcare exchange and billing"
)]
struct Cli {
    /// TOML configuration file (environment variables CLAIMBRIDGE_* override it).
    #[arg(long, global = true, env = "CLAIMBRIDGE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the FHIR API.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Reseal every integration's credentials under the current secrets key (run
    /// after a new key is configured, with the old one in secrets_previous_keys).
    RotateKey,
    /// Show what can be configured.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Run a vendor simulator (claimmd, availity, stripe) speaking the vendor's wire
    /// format, for demos and tests; faults: down[=ms], slow=<ms>, 5xx, 429[=secs],
    /// timeout, reject, each optionally `*N` for the next N requests only.
    Simulate {
        vendor: String,
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: std::net::SocketAddr,
        #[arg(long)]
        fault: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the configuration reference (Markdown): every key, its environment
    /// variable, type, default and meaning, read from the configuration type; the
    /// repository keeps it as docs/configuration.md.
    Reference,
}

#[tokio::main]
async fn main() -> ExitCode {
    claimbridge_plugin_sdk::http_client::install_crypto_provider();
    let cli = Cli::parse();
    // Before the configuration is read: the reference describes every setting,
    // whatever this environment sets.
    if let Command::Config {
        command: ConfigCommand::Reference,
    } = cli.command
    {
        print!("{}", claimbridge::config::reference::markdown());
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(settings.log_format);
    let result = match cli.command {
        Command::Serve => serve(&settings).await,
        Command::Migrate => migrate(&settings).await,
        Command::RotateKey => rotate_key(&settings).await,
        Command::Simulate { vendor, bind, fault } => simulate(&vendor, bind, fault.as_deref()).await,
        Command::Config { .. } => unreachable!("answered before the configuration is read"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "claimbridge stopped");
            ExitCode::FAILURE
        }
    }
}

async fn simulate(
    vendor: &str,
    bind: std::net::SocketAddr,
    fault: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let vendor = Vendor::parse(vendor)
        .ok_or_else(|| format!("no simulator for {vendor:?}: claimmd, availity or stripe"))?;
    let simulator = start_simulator(vendor, bind, fault)
        .await
        .map_err(|error| error.to_string())?;
    // The address on stdout, alone on its line, for scripts that bind port 0; then,
    // where configuring an integration for it takes more, that integration's JSON.
    println!("{}", simulator.base_url());
    if let Some(integration) = simulator.integration() {
        println!("{integration}");
    }
    tracing::info!(vendor = vendor.as_str(), address = %simulator.address(), fault, "simulating");
    tokio::signal::ctrl_c().await?;
    simulator.stop().await;
    Ok(())
}

async fn serve(settings: &Settings) -> Result<(), Box<dyn std::error::Error>> {
    if settings.redis_url.is_some() {
        tracing::info!(
            "redis_url is set: request rate limits are shared through Redis; the cache stays in process"
        );
    }
    let app = Application::build(settings).await?;
    tracing::info!(address = %app.address(), base_url = app.base_url(), "serving FHIR R4");
    app.run().await?;
    Ok(())
}

async fn migrate(settings: &Settings) -> Result<(), Box<dyn std::error::Error>> {
    store::migrate(&DatabaseKind::from_url(&settings.database_url)?).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn rotate_key(settings: &Settings) -> Result<(), Box<dyn std::error::Error>> {
    let keyring = Keyring::from_settings(settings)?.ok_or("no secrets key configured (secrets_key)")?;
    let store = Database::open(&settings.database_url).await?.store(1)?;
    let resealed = claimbridge::integrations::rotate::rotate_key(&store, &keyring).await?;
    tracing::info!(
        resealed,
        key_id = keyring.current_id(),
        "integration credentials resealed"
    );
    let resealed = claimbridge::outbound_webhooks::subscriptions::rotate_secrets(&store, &keyring).await?;
    tracing::info!(
        resealed,
        key_id = keyring.current_id(),
        "webhook signing secrets resealed"
    );
    let resealed = claimbridge::auth::keys::reseal_all(&store, &keyring).await?;
    tracing::info!(
        resealed,
        key_id = keyring.current_id(),
        "access token signing keys resealed"
    );
    Ok(())
}
