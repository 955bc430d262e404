//! The gateway under wrk: one connection, then 32 on two threads for 10 s
//! (`wrk -t2 -c32 -d10s`, the issue's yardstick), posting the canvas PNG and
//! the 28x28 input, each logged and as a draft (`?log=false`).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::local_stack::UNLIMITED;
use crate::setup;

/// Sends the body in `DIGITS_WRK_BODY` with the content type in `DIGITS_WRK_TYPE`.
pub const SCRIPT: &str = r#"
local file = io.open(os.getenv("DIGITS_WRK_BODY"), "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = os.getenv("DIGITS_WRK_TYPE")
"#;

/// One wrk run's figures.
pub struct Run {
    /// Requests answered a second.
    pub rate: f64,
    /// Median latency.
    pub p50_us: f64,
    /// 99th percentile latency.
    pub p99_us: f64,
    /// Answers that were not 2xx.
    pub failed: u64,
}

/// Runs every case against `base`, with the bodies `stack_bench` wrote to
/// `dir`; prints a table and adds the figures.
pub fn gateway(base: &str, dir: &Path, figures: &mut Vec<(String, f64)>) -> anyhow::Result<()> {
    let wrk = setup::wrk()?;
    let script = dir.join("post.lua");
    std::fs::write(&script, SCRIPT)?;
    let bodies = [
        ("png", "PNG", "image/png", dir.join("canvas.png")),
        ("mnist", "28x28 input", "application/vnd.digits.mnist", dir.join("input.bin")),
    ];
    for (clients, threads, seconds) in [(1, 1, 5), (32, 2, 10)] {
        println!(
            "\n{:<50} {:>11} {:>11} {:>9}",
            format!("wrk, {clients} connection(s), {seconds} s"),
            "p50",
            "p99",
            "req/s"
        );
        for (key, name, content_type, body) in &bodies {
            for logged in [false, true] {
                let url = format!("{base}/api/predictions{}", if logged { "" } else { "?log=false" });
                let run = wrk_run(&wrk, &script, &url, body, content_type, (clients, threads, seconds))?;
                let mode = if logged { "logged" } else { "draft" };
                println!(
                    "{:<50} {:>8.0} µs {:>8.0} µs {:>9.0}{}",
                    format!("HTTP POST, {name}, {mode}"),
                    run.p50_us,
                    run.p99_us,
                    run.rate,
                    if run.failed > 0 { format!("  {} not 2xx", run.failed) } else { String::new() }
                );
                if clients == 1 {
                    figures.push((format!("http_{key}_{mode}_p50_us"), run.p50_us));
                } else {
                    figures.push((format!("c32_{key}_{mode}_rps"), run.rate));
                }
                // Let the log writer catch up before the next run.
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
        }
    }
    Ok(())
}

/// One wrk run of `(clients, threads, seconds)` posting `body` to `url`.
pub fn wrk_run(
    wrk: &Path,
    script: &Path,
    url: &str,
    body: &Path,
    content_type: &str,
    (clients, threads, seconds): (u32, u32, u32),
) -> anyhow::Result<Run> {
    let output = Command::new(wrk)
        .args(["--latency", "-t", &threads.to_string(), "-c", &clients.to_string()])
        .args(["-d", &format!("{seconds}s"), "-s"])
        .arg(script)
        .arg(url)
        .env("DIGITS_WRK_BODY", body)
        .env("DIGITS_WRK_TYPE", content_type)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    }
    parse(&text).with_context(|| format!("reading wrk's output:\n{text}"))
}

/// What the model costs the whole stack: the embedded model against the
/// release before it (served from a model repository as the current
/// version), taking turns, three rounds of `wrk -t2 -c32 -d10s` posting the
/// canvas PNG (`dir/canvas.png`, logged). Prints the medians and adds
/// `c32_png_logged_rps_{embedded,previous}`.
pub fn model_cost(dir: &Path, figures: &mut Vec<(String, f64)>) -> anyhow::Result<()> {
    let wrk = setup::wrk()?;
    let script = dir.join("post.lua");
    std::fs::write(&script, SCRIPT)?;
    let models = setup::root().join("services/inference/models/mnist");
    let previous = previous_version(&models)?;
    let repository = dir.join("repository");
    let folder = repository.join("digits-mnist-cnn");
    std::fs::create_dir_all(folder.join(&previous))?;
    for file in ["model.onnx", "model.json", "golden.json"] {
        std::fs::copy(models.join(&previous).join(file), folder.join(&previous).join(file))?;
    }
    std::fs::write(folder.join("serving.json"), format!(r#"{{"current": "{previous}"}}"#))?;
    let repository = repository.to_string_lossy().into_owned();
    let png = dir.join("canvas.png");
    let mut rates: [(&str, Vec<f64>); 2] = [("embedded", Vec::new()), ("previous", Vec::new())];
    for round in 1..=3 {
        for (which, rps) in &mut rates {
            let env: &[(&str, &str)] =
                if *which == "previous" { &[("DIGITS_MODEL_REPOSITORY", repository.as_str())] } else { &[] };
            let stack = crate::local_stack::LocalStack::start_all(env, &UNLIMITED)?;
            let host = stack.url.trim_start_matches("http://");
            let page = crate::local_stack::get_ok(host, "/api/model/page").context("GET /api/model/page")?;
            let version = page.split("\"version\":\"").nth(1).and_then(|v| v.split('"').next()).unwrap_or("?");
            if *which == "previous" && version != previous {
                bail!("the stack with the repository serves {version}, not {previous}");
            }
            let url = format!("{}/api/predictions", stack.url);
            let run = wrk_run(&wrk, &script, &url, &png, "image/png", (32, 2, 10))?;
            println!(
                "round {round}, model {version:<6}: {:>6.0} req/s, p50 {:>6.0} µs, {} not 2xx",
                run.rate, run.p50_us, run.failed
            );
            rps.push(run.rate);
        }
    }
    let [(_, embedded), (_, before)] = &mut rates;
    let (embedded, before) = (median(embedded), median(before));
    println!(
        "median: embedded {embedded:.0} req/s, {previous} {before:.0} req/s: {:.0} % {}",
        (100.0 * (1.0 - embedded / before)).abs(),
        if embedded < before { "fewer" } else { "more" }
    );
    figures.push(("c32_png_logged_rps_embedded".into(), embedded));
    figures.push(("c32_png_logged_rps_previous".into(), before));
    Ok(())
}

/// The newest version in `models` below the embedded one (the highest).
fn previous_version(models: &Path) -> anyhow::Result<String> {
    let mut versions: Vec<(Vec<u64>, String)> = std::fs::read_dir(models)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some((name.split('.').map(|n| n.parse().ok()).collect::<Option<Vec<u64>>>()?, name)))
        .collect();
    versions.sort();
    versions.iter().rev().nth(1).map(|(_, name)| name.clone()).context("no release before the embedded one")
}

/// The middle value (the upper one of an even count); sorts `values`.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// What the Prometheus metrics cost on the request path: the same release
/// build with `DIGITS_METRICS=on` and `off`, alternating, three rounds of
/// `wrk -t2 -c32 -d10s` posting a logged 28x28 input; prints the medians.
pub fn metrics_cost() -> anyhow::Result<()> {
    let wrk = setup::wrk()?;
    let dir = std::env::temp_dir().join(format!("digits-metrics-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("post.lua");
    std::fs::write(&script, SCRIPT)?;
    let body = dir.join("input.bin");
    let mut image = vec![0u8; 784];
    for y in 4..24 {
        for x in 13..16 {
            image[y * 28 + x] = 255;
        }
    }
    std::fs::write(&body, image)?;
    let mut rates: [(&str, Vec<f64>, Vec<f64>); 2] = [("on", Vec::new(), Vec::new()), ("off", Vec::new(), Vec::new())];
    for round in 1..=3 {
        for (mode, rps, p50) in &mut rates {
            let stack = crate::local_stack::LocalStack::start_all(&[("DIGITS_METRICS", mode)], &UNLIMITED)?;
            let url = format!("{}/api/predictions", stack.url);
            let run = wrk_run(&wrk, &script, &url, &body, "application/vnd.digits.mnist", (32, 2, 10))?;
            println!(
                "round {round}, metrics {mode:<3}: {:>7.0} req/s, p50 {:>5.0} µs, {} not 2xx",
                run.rate, run.p50_us, run.failed
            );
            rps.push(run.rate);
            p50.push(run.p50_us);
        }
    }
    let [(_, on_rps, on_p50), (_, off_rps, off_p50)] = &mut rates;
    let (on, off) = (median(on_rps), median(off_rps));
    println!(
        "\nmetrics on: {on:.0} req/s (p50 {:.0} µs); off: {off:.0} req/s (p50 {:.0} µs); on/off = {:.3}",
        median(on_p50),
        median(off_p50),
        on / off
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn parse(text: &str) -> Option<Run> {
    let field = |label: &str| text.lines().find_map(|line| line.trim().strip_prefix(label).map(str::trim));
    let failed = field("Non-2xx or 3xx responses:").map_or(Some(0), |n| n.parse().ok())?;
    Some(Run {
        rate: field("Requests/sec:")?.parse().ok()?,
        p50_us: micros(field("50%")?)?,
        p99_us: micros(field("99%")?)?,
        failed,
    })
}

/// wrk's durations: `812.00us`, `1.23ms`, `1.02s`.
fn micros(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else {
        (text.strip_suffix('s')?, 1e6)
    };
    Some(number.parse::<f64>().ok()? * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_wrk_prints() {
        let text = "Running 10s test @ http://127.0.0.1:8080/api/predictions
  2 threads and 32 connections
  Latency Distribution
     50%    9.47ms
     75%   11.61ms
     90%   13.92ms
     99%  812.00us
  32305 requests in 10.00s, 12.08MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   3230.65
";
        let run = parse(text).expect("parsed");
        assert_eq!(run.rate, 3230.65);
        assert_eq!(run.p50_us, 9470.0);
        assert_eq!(run.p99_us, 812.0);
        assert_eq!(run.failed, 3);
        assert_eq!(micros("1.5s"), Some(1.5e6));
    }
}
