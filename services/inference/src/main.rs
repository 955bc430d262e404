//! `digits-inference`: the inference gRPC server and its small command-line tools.
//!
//! ```text
//! digits-inference                      serve (configured by DIGITS_* variables)
//! digits-inference healthcheck [ADDR]   exit 0 if the server at ADDR is SERVING
//! digits-inference predict FILE... [--addr ADDR]
//!                                       recognise PNG/JPEG files with a running server
//! ```

use std::time::Duration;

use anyhow::{Context, bail};
use digits_inference::config::Config;
use digits_inference::startup::{Application, SERVICE_NAME};
use digits_proto::inference::v1 as pb;
use digits_service_kit::{healthcheck, shutdown, telemetry};

/// The address a local client uses by default: the server's port on loopback.
fn default_client_addr() -> String {
    healthcheck::local_url("DIGITS_INFERENCE_ADDR", Config::default().addr)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("healthcheck") => {
            let addr = args.get(1).cloned().unwrap_or_else(default_client_addr);
            healthcheck::check(&addr, SERVICE_NAME, Duration::from_secs(3)).await?;
            Ok(())
        }
        Some("predict") => predict(&args[1..]).await,
        Some("-h" | "--help" | "help") => {
            println!("{}", include_str!("usage.txt"));
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}; try --help"),
    }
}

async fn serve() -> anyhow::Result<()> {
    telemetry::init();
    let config = Config::from_env()?;
    let app = Application::build(config).await.context("starting the inference server")?;
    app.run_until_stopped(shutdown::signal()).await?;
    Ok(())
}

async fn predict(args: &[String]) -> anyhow::Result<()> {
    let mut addr = default_client_addr();
    let mut files = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--addr" {
            addr = rest.next().context("--addr needs a value")?.clone();
        } else {
            files.push(arg);
        }
    }
    if files.is_empty() {
        bail!("usage: digits-inference predict FILE... [--addr http://HOST:PORT]");
    }
    let mut client = pb::inference_client::InferenceClient::connect(addr.clone())
        .await
        .with_context(|| format!("connecting to {addr}"))?
        .max_decoding_message_size(usize::MAX);
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {file}"))?;
        let image = pb::Image { source: Some(pb::image::Source::Encoded(bytes)) };
        match client.predict(pb::PredictRequest { image: Some(image) }).await {
            Ok(response) => {
                let response = response.into_inner();
                let p = response.prediction.context("empty response")?;
                let probabilities: Vec<String> = p.probabilities.iter().map(|v| format!("{v:.3}")).collect();
                println!(
                    "{file}: {} ({:.1}%)  probabilities [{}]  model {}",
                    p.digit,
                    p.confidence * 100.0,
                    probabilities.join(" "),
                    response.model_version
                );
            }
            Err(status) => println!("{file}: error {:?}: {}", status.code(), status.message()),
        }
    }
    Ok(())
}
