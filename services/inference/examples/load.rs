//! A load generator for a running inference server: `C` concurrent clients
//! send the same image for `S` seconds, then latency percentiles and
//! throughput are printed.
//!
//! ```text
//! cargo run --release -p digits-inference --example load -- IMAGE.png [ADDR] [CLIENTS] [SECONDS]
//! ```
//!
//! Defaults: `http://127.0.0.1:50051`, 32 clients, 10 seconds. Only point it
//! at your own server.

use std::time::{Duration, Instant};

use digits_proto::inference::v1 as pb;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(file) = args.first() else {
        anyhow::bail!("usage: load IMAGE.png [ADDR] [CLIENTS] [SECONDS]");
    };
    let addr = args.get(1).cloned().unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let clients: usize = args.get(2).map_or(Ok(32), |s| s.parse())?;
    let seconds: u64 = args.get(3).map_or(Ok(10), |s| s.parse())?;
    let image = pb::Image { source: Some(pb::image::Source::Encoded(std::fs::read(file)?)) };
    let channel = tonic::transport::Endpoint::from_shared(addr.clone())?.connect().await?;

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let mut client = pb::inference_client::InferenceClient::new(channel.clone());
            let image = image.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0usize;
                while Instant::now() < deadline {
                    let started = Instant::now();
                    match client.predict(pb::PredictRequest { image: Some(image.clone()), ..Default::default() }).await
                    {
                        Ok(_) => latencies.push(started.elapsed()),
                        Err(_) => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await?;
        latencies.extend(l);
        errors += e;
    }
    latencies.sort_unstable();
    let at =
        |p: f64| latencies.get(((latencies.len().saturating_sub(1)) as f64 * p) as usize).copied().unwrap_or_default();
    println!(
        "{addr}: {} calls, {errors} errors, {:.0} calls/s with {clients} clients; p50 {:.2?}, p90 {:.2?}, p99 {:.2?}",
        latencies.len(),
        latencies.len() as f64 / seconds as f64,
        at(0.5),
        at(0.9),
        at(0.99)
    );
    Ok(())
}
