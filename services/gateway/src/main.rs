//! `digits-gateway`: the HTTP + gRPC front door of Digits.
//!
//! ```text
//! digits-gateway                      serve (configured by DIGITS_* variables)
//! digits-gateway healthcheck [ADDR]   exit 0 if the gateway at ADDR (its gRPC port) is SERVING
//! ```

use std::time::Duration;

use anyhow::{Context, bail};
use digits_gateway::config::Config;
use digits_gateway::startup::Application;
use digits_service_kit::{healthcheck, shutdown, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => {
            telemetry::init();
            let config = Config::from_env()?;
            let app = Application::build(config).await.context("starting the gateway")?;
            app.run_until_stopped(shutdown::signal()).await?;
            Ok(())
        }
        Some("healthcheck") => {
            let addr = args
                .get(1)
                .cloned()
                .unwrap_or_else(|| healthcheck::local_url("DIGITS_GATEWAY_GRPC_ADDR", Config::default().grpc_addr));
            // The whole server (""), not the upstream: the gateway is healthy
            // even while it waits for inference replicas.
            healthcheck::check(&addr, "", Duration::from_secs(3)).await?;
            Ok(())
        }
        Some("-h" | "--help" | "help") => {
            println!("usage: digits-gateway [serve | healthcheck [http://HOST:PORT]]\nConfiguration: see README.md");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}; try --help"),
    }
}
