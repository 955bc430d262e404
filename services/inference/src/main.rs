//! `digits-inference`: the inference gRPC server and its small command-line
//! tools; `digits-inference --help` lists the subcommands and settings.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use digits_inference::cli::{ABOUT, Cli, Command, NAME};
use digits_inference::config::Config;
use digits_inference::startup::{Application, SERVICE_NAME};
use digits_proto::inference::v1 as pb;
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
    // A local client reaches the server's port on loopback by default.
    let local = healthcheck::local_url(settings.addr);
    match command {
        None | Some(Command::Service(ServiceCommand::Serve)) => {
            let _telemetry = telemetry::init("inference", &telemetry);
            let app = Application::build(Config::from(settings)).await.context("starting the inference server")?;
            app.run_until_stopped(shutdown::signal()).await?;
            Ok(())
        }
        Some(Command::Service(ServiceCommand::Healthcheck { addr })) => {
            healthcheck::check(&addr.unwrap_or(local), SERVICE_NAME, Duration::from_secs(3)).await?;
            Ok(())
        }
        Some(Command::Predict { files, addr }) => predict(&files, addr.unwrap_or(local)).await,
    }
}

async fn predict(files: &[PathBuf], addr: String) -> anyhow::Result<()> {
    let mut client = pb::inference_client::InferenceClient::connect(addr.clone())
        .await
        .with_context(|| format!("connecting to {addr}"))?
        .max_decoding_message_size(usize::MAX);
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let image = pb::Image { source: Some(pb::image::Source::Encoded(bytes)) };
        match client.predict(pb::PredictRequest { image: Some(image), ..Default::default() }).await {
            Ok(response) => {
                let response = response.into_inner();
                let p = response.prediction.context("empty response")?;
                let reading = match p.verdict() {
                    pb::Verdict::NotADigit => format!("not a digit ({:.1}%)", p.not_a_digit * 100.0),
                    pb::Verdict::SeveralDigits => {
                        format!("the number {} (least sure {:.1}%)", p.number, p.confidence * 100.0)
                    }
                    _ => format!("{} ({:.1}%)", p.digit, p.confidence * 100.0),
                };
                let probabilities: Vec<String> = p.probabilities.iter().map(|v| format!("{v:.3}")).collect();
                println!(
                    "{}: {reading}  probabilities [{}]  model {}",
                    file.display(),
                    probabilities.join(" "),
                    response.model_version
                );
            }
            Err(status) => println!("{}: error {:?}: {}", file.display(), status.code(), status.message()),
        }
    }
    Ok(())
}
