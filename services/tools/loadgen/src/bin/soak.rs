//! A soak of mixed traffic for a running gateway: `concurrency` visitors
//! for `seconds`, each drawing (three drafts, then the stored prediction),
//! giving feedback, and now and then reading their history and statistics.
//! Prints the answers by status and the latency percentiles.
//!
//! ```text
//! cargo run --release -p digits-loadgen --bin soak -- http://127.0.0.1:8080 64 60
//! ```
//! (`cargo xtask soak` starts a local stack, runs this, and samples each
//! service's memory.)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A 280x280 canvas with a dark "7" on white, as PNG.
fn seven() -> anyhow::Result<Vec<u8>> {
    let image = image::GrayImage::from_fn(280, 280, |x, y| {
        let top = (40..70).contains(&y) && (60..220).contains(&x);
        let stroke = y >= 40 && (x as i64 - (220 - (y as i64 - 40) / 2)).abs() < 15 && y < 250;
        image::Luma([if top || stroke { 0 } else { 255 }])
    });
    let mut png = Vec::new();
    image::DynamicImage::from(image).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}

#[derive(Default)]
struct Tally {
    statuses: BTreeMap<String, u64>,
    latencies_ms: Vec<f64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, concurrency, seconds] = args.as_slice() else {
        bail!("usage: soak BASE_URL CONCURRENCY SECONDS");
    };
    let base = base.trim_end_matches('/').to_owned();
    let concurrency: usize = concurrency.parse().context("concurrency")?;
    let until = Instant::now() + Duration::from_secs(seconds.parse().context("seconds")?);
    let png = Arc::new(seven()?);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut visitors = Vec::new();
    for _ in 0..concurrency {
        let (base, png, tally) = (base.clone(), png.clone(), tally.clone());
        visitors.push(tokio::spawn(async move {
            // Each visitor keeps its cookie, as a browser does.
            let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
            let mut round = 0u64;
            while Instant::now() < until {
                round += 1;
                let mut calls: Vec<reqwest::RequestBuilder> = (0..3)
                    .map(|_| {
                        let draft = http.post(format!("{base}/api/predictions?log=false"));
                        draft.header("content-type", "image/png").body(png.to_vec())
                    })
                    .collect();
                calls.push(
                    http.post(format!("{base}/api/predictions")).header("content-type", "image/png").body(png.to_vec()),
                );
                let mut id = None;
                for call in calls {
                    let started = Instant::now();
                    let answer = call.send().await;
                    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
                    let status = answer.as_ref().map_or("error".to_owned(), |r| r.status().as_u16().to_string());
                    if let Ok(response) = answer
                        && response.status() == 201
                    {
                        let body: serde_json::Value = response.json().await.unwrap_or_default();
                        id = body["id"].as_str().map(str::to_owned);
                    }
                    let mut t = tally.lock().expect("lock");
                    *t.statuses.entry(format!("POST /api/predictions {status}")).or_default() += 1;
                    t.latencies_ms.push(elapsed);
                }
                let mut reads = Vec::new();
                if let Some(id) = id {
                    let feedback = http.put(format!("{base}/api/predictions/{id}/feedback"));
                    reads.push(("PUT feedback", feedback.json(&serde_json::json!({ "true_label": 7 }))));
                }
                if round.is_multiple_of(5) {
                    reads.push(("GET /api/predictions", http.get(format!("{base}/api/predictions?limit=20"))));
                    reads.push(("GET /api/stats", http.get(format!("{base}/api/stats"))));
                    reads.push(("GET /api/stats/global", http.get(format!("{base}/api/stats/global"))));
                }
                for (what, call) in reads {
                    let status = call.send().await.map_or("error".to_owned(), |r| r.status().as_u16().to_string());
                    *tally.lock().expect("lock").statuses.entry(format!("{what} {status}")).or_default() += 1;
                }
            }
        }));
    }
    for visitor in visitors {
        visitor.await?;
    }
    let mut tally = Arc::try_unwrap(tally).ok().context("visitors done")?.into_inner()?;
    for (what, count) in &tally.statuses {
        println!("soak: {what}: {count}");
    }
    tally.latencies_ms.sort_by(f64::total_cmp);
    let at =
        |q: f64| tally.latencies_ms.get(((tally.latencies_ms.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0.0);
    println!("soak: predictions p50 {:.1} ms, p99 {:.1} ms, {} in all", at(0.5), at(0.99), tally.latencies_ms.len());
    Ok(())
}
