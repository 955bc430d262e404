//! The request bodies and the inference side of `cargo xtask bench`'s stack
//! figures: writes a real MNIST digit drawn on a 280x280 canvas (`canvas.png`,
//! as API users send it) and its 28x28 input (`input.bin`, as the web app
//! sends it: the server's own preprocessing of that canvas) into DIR, then
//! times `Predict` from one client straight on the inference port with each,
//! so the gateway's share of a request can be told apart, beside the
//! standard health `Check` on that port: the same server and connection with
//! no work behind the call, the floor of a tonic unary call here. (xtask
//! then loads the gateway with wrk.)
//!
//! ```text
//! cargo run --release -p digits-loadgen --bin stack_bench -- http://127.0.0.1:8080 http://127.0.0.1:50051 DIR
//! ```
//! With `DIGITS_BENCH_FIGURES=FILE`, the figures are appended to FILE as
//! `name value` lines for the summary.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use digits_proto::inference::v1 as pb;

const ONE_CLIENT: Duration = Duration::from_secs(5);

/// An MNIST test digit drawn 10x larger in black on a transparent canvas,
/// as the web app's drawing pad holds it, as PNG.
fn canvas_png() -> anyhow::Result<Vec<u8>> {
    let test = digits_mnist_idx::test_set().context("the MNIST test set (DIGITS_MNIST_DIR)")?;
    let digit = &test.images[0];
    let canvas = image::RgbaImage::from_fn(280, 280, |x, y| {
        image::Rgba([0, 0, 0, digit[(y as usize / 10) * 28 + x as usize / 10]])
    });
    let mut png = Vec::new();
    canvas.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}

/// Requests, their latencies sorted, and failures.
struct Run {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

impl Run {
    fn p(&self, q: f64) -> Duration {
        let last = self.latencies.len().saturating_sub(1);
        self.latencies.get((last as f64 * q) as usize).copied().unwrap_or_default()
    }

    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// One client calling `call` back to back for `time`; `call` answers whether it succeeded.
async fn one_client<F, Fut>(time: Duration, mut call: F) -> Run
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(async move {
        let (mut latencies, mut errors) = (Vec::new(), 0);
        while started.elapsed() < time {
            let t = Instant::now();
            if call().await {
                latencies.push(t.elapsed());
            } else {
                errors += 1;
            }
        }
        (latencies, errors)
    });
    collect(tasks, started).await
}

async fn predict(channel: tonic::transport::Channel, image: pb::Image, time: Duration) -> Run {
    let client = pb::inference_client::InferenceClient::new(channel);
    one_client(time, move || {
        let (mut client, image) = (client.clone(), image.clone());
        async move { client.predict(pb::PredictRequest { image: Some(image), ..Default::default() }).await.is_ok() }
    })
    .await
}

/// The floor of a unary call: the standard health `Check` on the same port,
/// through the same server and connection, with no work behind it.
async fn health(channel: tonic::transport::Channel, time: Duration) -> Run {
    let client = tonic_health::pb::health_client::HealthClient::new(channel);
    one_client(time, move || {
        let mut client = client.clone();
        async move { client.check(tonic_health::pb::HealthCheckRequest::default()).await.is_ok() }
    })
    .await
}

async fn collect(mut tasks: tokio::task::JoinSet<(Vec<Duration>, usize)>, started: Instant) -> Run {
    let (mut latencies, mut errors) = (Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        let (l, e) = done.unwrap_or_default();
        latencies.extend(l);
        errors += e;
    }
    latencies.sort_unstable();
    Run { latencies, errors, elapsed: started.elapsed() }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, inference, dir] = args.as_slice() else {
        bail!("usage: stack_bench GATEWAY_URL INFERENCE_GRPC_URL DIR");
    };
    let dir = std::path::Path::new(dir);
    let base = base.trim_end_matches('/');
    let mut figures: Vec<(String, f64)> = Vec::new();
    let png = canvas_png()?;
    let client = reqwest::Client::new();

    // The 28x28 input the web app would send for this drawing: the server's own.
    let answer: serde_json::Value = client
        .post(format!("{base}/api/predictions?log=false"))
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let input: Vec<u8> = answer["input"]
        .as_array()
        .context("an input in the answer")?
        .iter()
        .map(|v| v.as_u64().and_then(|v| u8::try_from(v).ok()).context("a byte"))
        .collect::<anyhow::Result<_>>()?;
    println!("the digit: predicted {} from a {} byte PNG and from its 784-byte input", answer["digit"], png.len());

    std::fs::write(dir.join("canvas.png"), &png)?;
    std::fs::write(dir.join("input.bin"), &input)?;

    let channel = tonic::transport::Endpoint::from_shared(inference.clone())?.connect().await?;
    println!(
        "\n{:<50} {:>11} {:>11} {:>9}",
        format!("one client, {} s each", ONE_CLIENT.as_secs()),
        "p50",
        "p99",
        "calls/s"
    );
    let mnist = pb::Image { source: Some(pb::image::Source::Mnist(input)) };
    let encoded = pb::Image { source: Some(pb::image::Source::Encoded(png)) };
    let runs = [
        ("gRPC health Check (a unary call's floor)", "grpc_floor", health(channel.clone(), ONE_CLIENT).await),
        (
            "gRPC Predict on the inference port, 28x28 input",
            "grpc_mnist",
            predict(channel.clone(), mnist, ONE_CLIENT).await,
        ),
        ("gRPC Predict on the inference port, PNG", "grpc_png", predict(channel.clone(), encoded, ONE_CLIENT).await),
    ];
    for (name, key, run) in runs {
        println!(
            "{name:<50} {:>8.0} µs {:>8.0} µs {:>9.0}{}",
            us(run.p(0.5)),
            us(run.p(0.99)),
            run.rate(),
            if run.errors > 0 { format!("  {} errors", run.errors) } else { String::new() }
        );
        figures.push((format!("{key}_p50_us"), us(run.p(0.5))));
    }

    if let Some(path) = std::env::var_os("DIGITS_BENCH_FIGURES") {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        for (name, value) in figures {
            writeln!(file, "{name} {value}")?;
        }
    }
    Ok(())
}
