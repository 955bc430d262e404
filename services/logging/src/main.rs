//! `digits-logging`: the logging gRPC server; `digits-logging --help` lists
//! the subcommands and settings.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use digits_logging::cli::{ABOUT, Cli, NAME};
use digits_logging::config::Config;
use digits_logging::startup::{Application, SERVICE_NAME};
use digits_service_kit::cli::{self, ServiceCommand};
use digits_service_kit::{healthcheck, shutdown, telemetry};

/// mimalloc instead of the system allocator: a request's buffers (a decoded
/// image is 313 KB) come from memory the thread already holds, where glibc
/// maps and unmaps them afresh each time and pays a page fault per 4 KiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[tokio::main]
async fn main() -> ExitCode {
    cli::report(run(cli::parse(NAME, ABOUT)).await)
}

async fn run(Cli { command, settings, telemetry }: Cli) -> anyhow::Result<()> {
    match command {
        None | Some(ServiceCommand::Serve) => {
            let _telemetry = telemetry::init("logging", &telemetry);
            let app = Application::build(Config::try_from(settings)?).await.context("starting the logging server")?;
            app.run_until_stopped(shutdown::signal()).await?;
        }
        Some(ServiceCommand::Healthcheck { addr }) => {
            let addr = addr.unwrap_or_else(|| healthcheck::local_url(settings.addr));
            healthcheck::check(&addr, SERVICE_NAME, Duration::from_secs(3)).await?;
        }
    }
    Ok(())
}
