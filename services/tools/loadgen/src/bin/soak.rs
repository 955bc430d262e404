//! A soak of mixed traffic for a running gateway: `concurrency` visitors
//! for `seconds`, each drawing (three drafts, then the stored prediction),
//! giving feedback, and now and then reading their history and statistics.
//! Prints the answers by status and the latency percentiles.
//!
//! With a fourth argument, `people` or `people-drafting`, the visitors are
//! people at a person's pace instead of as fast as the server answers: each
//! draws for 3 s, rests (one stored prediction of the web app's 28x28
//! input), and gives feedback a second later, a drawing every 5 s.
//! `people-drafting` adds what the web app sent while the model was read on
//! the server: a draft about every 90 ms (never two at once) for as long as
//! the pen moves. Prints what the people asked for and what they got, so the
//! number of people a server carries can be read off.
//!
//! ```text
//! cargo run --release -p digits-loadgen --bin soak -- http://127.0.0.1:8080 64 60
//! cargo run --release -p digits-loadgen --bin soak -- http://127.0.0.1:8080 2000 60 people
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
    let (base, concurrency, seconds, pace) = match args.as_slice() {
        [base, concurrency, seconds] => (base, concurrency, seconds, None),
        [base, concurrency, seconds, pace] if pace == "people" || pace == "people-drafting" => {
            (base, concurrency, seconds, Some(pace == "people-drafting"))
        }
        _ => bail!("usage: soak BASE_URL CONCURRENCY SECONDS [people | people-drafting]"),
    };
    let base = base.trim_end_matches('/').to_owned();
    let concurrency: usize = concurrency.parse().context("concurrency")?;
    let seconds: u64 = seconds.parse().context("seconds")?;
    if let Some(drafting) = pace {
        return people::soak(&base, concurrency, Duration::from_secs(seconds), drafting).await;
    }
    let until = Instant::now() + Duration::from_secs(seconds);
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

/// People drawing at a person's pace.
mod people {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// How long the pen moves in one drawing.
    const DRAWING: Duration = Duration::from_secs(3);
    /// How often the web app sent a draft while the pen moved (measured in
    /// the browser: about every 90 ms; never two at once).
    const DRAFT_EVERY: Duration = Duration::from_millis(90);
    /// A drawing every this often: drawing, resting, answering.
    const CYCLE: Duration = Duration::from_secs(5);

    /// A 7 in the model's 28x28 form (ink 255 on 0), as the web app sends it.
    fn seven() -> Vec<u8> {
        let mut input = vec![0u8; 784];
        for y in 4..24usize {
            for x in 4..24usize {
                let bar = (4..7).contains(&y) && (6..22).contains(&x);
                let stroke = y >= 6 && (x as i64 - (21 - (y as i64 - 6) / 2)).abs() < 2;
                if bar || stroke {
                    input[y * 28 + x] = 255;
                }
            }
        }
        input
    }

    #[derive(Default)]
    struct Tally {
        stores_ms: Vec<f64>,
        drafts_ms: Vec<f64>,
        feedback: u64,
        failed: u64,
        /// What failed, by request and status.
        failures: std::collections::BTreeMap<String, u64>,
        /// Drawings whose time came.
        due: u64,
        /// Stores sent more than a second after their time: the server fell behind.
        late: u64,
    }

    /// The answer if it succeeded; otherwise how it failed (the status and
    /// the API's error code).
    async fn outcome(answer: reqwest::Result<reqwest::Response>) -> Result<reqwest::Response, String> {
        match answer {
            Ok(r) if r.status().is_success() => Ok(r),
            Ok(r) => {
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                Err(format!("{status} {}", body["code"].as_str().unwrap_or("")))
            }
            Err(e) if e.is_connect() => Err("connect error".to_owned()),
            Err(_) => Err("error".to_owned()),
        }
    }

    impl Tally {
        /// Counts a failed answer by what was asked and how it failed.
        fn note<T>(&mut self, what: &str, answer: &Result<T, String>) {
            if let Err(failure) = answer {
                self.failed += 1;
                *self.failures.entry(format!("{what} {failure}")).or_default() += 1;
            }
        }
    }

    fn percentile(sorted: &[f64], q: f64) -> f64 {
        sorted.get(((sorted.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0.0)
    }

    pub async fn soak(base: &str, people: usize, length: Duration, drafting: bool) -> anyhow::Result<()> {
        let started = Instant::now();
        let until = started + length;
        let input = Arc::new(seven());
        let tally = Arc::new(Mutex::new(Tally::default()));
        let mut everyone = Vec::new();
        for person in 0..people {
            let (base, input, tally) = (base.to_owned(), input.clone(), tally.clone());
            // People start over one cycle, not all at once.
            let start = started + CYCLE.mul_f64(person as f64 / people as f64);
            everyone.push(tokio::spawn(async move {
                let http = reqwest::Client::builder().cookie_store(true).build().expect("client");
                let post = |url: String| {
                    http.post(url).header("content-type", "application/vnd.digits.mnist").body(input.to_vec())
                };
                let mut cycle = start;
                while cycle + CYCLE <= until {
                    tokio::time::sleep_until(cycle.into()).await;
                    tally.lock().expect("lock").due += 1;
                    if drafting {
                        while cycle.elapsed() < DRAWING {
                            let sent = Instant::now();
                            let answer = outcome(post(format!("{base}/api/predictions?log=false")).send().await).await;
                            {
                                let mut t = tally.lock().expect("lock");
                                t.drafts_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
                                t.note("draft", &answer);
                            }
                            tokio::time::sleep_until((sent + DRAFT_EVERY).into()).await;
                        }
                    }
                    tokio::time::sleep_until((cycle + DRAWING).into()).await;
                    let sent = Instant::now();
                    let late = sent.duration_since(cycle + DRAWING) > Duration::from_secs(1);
                    let stored = outcome(post(format!("{base}/api/predictions")).send().await).await;
                    tally.lock().expect("lock").note("store", &stored);
                    let id = match stored {
                        Ok(r) => {
                            r.json::<serde_json::Value>().await.ok().and_then(|b| b["id"].as_str().map(str::to_owned))
                        }
                        _ => None,
                    };
                    {
                        let mut t = tally.lock().expect("lock");
                        t.stores_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
                        t.late += u64::from(late);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if let Some(id) = id {
                        let feedback = http
                            .put(format!("{base}/api/predictions/{id}/feedback"))
                            .json(&serde_json::json!({ "true_label": 7 }))
                            .send()
                            .await;
                        let feedback = outcome(feedback).await;
                        let mut t = tally.lock().expect("lock");
                        t.feedback += 1;
                        t.note("feedback", &feedback);
                    }
                    cycle += CYCLE;
                }
            }));
        }
        for person in everyone {
            person.await?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let mut t = Arc::try_unwrap(tally).ok().expect("everyone done").into_inner()?;
        t.stores_ms.sort_by(f64::total_cmp);
        t.drafts_ms.sort_by(f64::total_cmp);
        let drawings = t.stores_ms.len();
        let requests = drawings + t.drafts_ms.len() + t.feedback as usize;
        println!(
            "people: {people} {} for {:.0} s: {drawings} drawings stored of {} due ({} late), {:.0} requests/s, {} failed",
            if drafting { "drawing with drafts on the server" } else { "drawing with drafts in the page" },
            elapsed,
            t.due,
            t.late,
            requests as f64 / elapsed,
            t.failed
        );
        if !t.failures.is_empty() {
            println!("people: failed: {:?}", t.failures);
        }
        println!(
            "people: store p50 {:.1} ms, p99 {:.1} ms; {} drafts, p50 {:.1} ms, p99 {:.1} ms ({:.1} a second per person drawing)",
            percentile(&t.stores_ms, 0.5),
            percentile(&t.stores_ms, 0.99),
            t.drafts_ms.len(),
            percentile(&t.drafts_ms, 0.5),
            percentile(&t.drafts_ms, 0.99),
            t.drafts_ms.len() as f64 / (drawings.max(1) as f64 * DRAWING.as_secs_f64()),
        );
        Ok(())
    }
}
