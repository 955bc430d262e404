//! `digits-logging`: the logging gRPC server.
//!
//! ```text
//! digits-logging                      serve (configured by DATABASE_URL and DIGITS_* variables)
//! digits-logging healthcheck [ADDR]   exit 0 if the server at ADDR is SERVING
//! ```

use std::time::Duration;

use anyhow::{Context, bail};
use digits_logging::config::Config;
use digits_logging::startup::{Application, SERVICE_NAME};
use digits_service_kit::{healthcheck, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => {
            telemetry::init();
            let app = Application::build(Config::from_env()?).await.context("starting the logging server")?;
            app.run_until_stopped(shutdown::signal()).await?;
            Ok(())
        }
        Some("healthcheck") => {
            let addr = args
                .get(1)
                .cloned()
                .unwrap_or_else(|| healthcheck::local_url("DIGITS_LOGGING_ADDR", Config::default().addr));
            healthcheck::check(&addr, SERVICE_NAME, Duration::from_secs(3)).await?;
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}; use no argument to serve, or `healthcheck [ADDR]`"),
    }
}
