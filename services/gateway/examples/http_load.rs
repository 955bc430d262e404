//! Load for a running gateway: `concurrency` clients post the same PNG to
//! `POST /api/predictions` for `seconds`, then the latency percentiles and
//! the request rate are printed.
//!
//! ```text
//! cargo run --release -p digits-gateway --example http_load -- digit.png http://127.0.0.1:8080 32 10
//! ```
//!
//! Every request is logged, as the web app's are; add `?log=false` to the
//! URL's path yourself to measure drafts.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, base, concurrency, seconds] = args.as_slice() else {
        bail!("usage: http_load FILE.png BASE_URL CONCURRENCY SECONDS");
    };
    let png = std::fs::read(file).with_context(|| format!("reading {file}"))?;
    let url = format!("{}/api/predictions", base.trim_end_matches('/'));
    let concurrency: usize = concurrency.parse().context("concurrency")?;
    let duration = Duration::from_secs(seconds.parse().context("seconds")?);
    let client = reqwest::Client::new();

    // One call to warm up connections and check the answer.
    let first = client.post(&url).header("content-type", "image/png").body(png.clone()).send().await?;
    println!("warm-up: {} {}", first.status(), first.text().await?.chars().take(80).collect::<String>());

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, url, png) = (client.clone(), url.clone(), png.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while started.elapsed() < duration {
                let t = Instant::now();
                match client.post(&url).header("content-type", "image/png").body(png.clone()).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(done) = tasks.join_next().await {
        let (l, e) = done?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pick = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    println!(
        "concurrency {concurrency}: {} requests in {elapsed:.1} s = {:.0} req/s; p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms; {errors} errors",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        ms(pick(0.5)),
        ms(pick(0.9)),
        ms(pick(0.99)),
    );
    Ok(())
}
