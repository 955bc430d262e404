//! The Prometheus test: Debian's `prometheus` scrapes the three release
//! binaries (the gateway's `/metrics`, the admin ports of inference and
//! logging) with the shipped alert rules loaded; traffic goes through the
//! gateway; the expected series are then asserted through Prometheus's
//! query API. `promtool` checks the shipped configuration and rules first.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::Value;

use crate::local_stack::LocalStack;
use crate::setup;

/// A check: what it shows, the PromQL query, and what its value must satisfy.
type Check = (&'static str, &'static str, Box<dyn Fn(f64) -> bool>);

/// Predictions sent through the gateway.
const PREDICTIONS: usize = 24;

pub fn prometheus_test() -> anyhow::Result<()> {
    let (prometheus, promtool) = setup::prometheus()?;
    let deploy = setup::root().join("deploy/prometheus");
    setup::run(Command::new(&promtool).arg("check").arg("config").arg(deploy.join("prometheus.yml")))?;
    setup::run(Command::new(&promtool).arg("check").arg("rules").arg(deploy.join("alerts.yml")))?;

    let stack = LocalStack::start(&[])?;
    let gateway = stack.url.trim_start_matches("http://").to_owned();
    let dir = std::env::temp_dir().join(format!("digits-prometheus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\nscrape_configs:\n  \
         - job_name: gateway\n    static_configs:\n      - targets: ['{gateway}']\n  \
         - job_name: inference\n    static_configs:\n      - targets: ['{inference}']\n  \
         - job_name: logging\n    static_configs:\n      - targets: ['{logging}']\n",
        rules = deploy.join("alerts.yml").display(),
        inference = stack.inference_metrics,
        logging = stack.logging_metrics,
    );
    std::fs::write(dir.join("prometheus.yml"), config)?;
    let listen = format!("127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port());
    let server = Server(
        Command::new(prometheus)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={listen}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log"))?)
            .spawn()
            .context("starting prometheus")?,
    );

    // Traffic: logged predictions, drafts, and a lookup of a missing id.
    let image = digit_image();
    for i in 0..PREDICTIONS {
        let path = if i % 4 == 3 { "/api/predictions?log=false" } else { "/api/predictions" };
        let (status, _) = http(&gateway, "POST", path, Some(("application/vnd.digits.mnist", &image)))?;
        ensure!(status == 201 || status == 200, "a prediction answered {status}");
    }
    let (status, _) = http(&gateway, "GET", "/api/predictions/6f1c7d4e-0000-4000-8000-000000000000", None)?;
    ensure!(status == 404, "a missing prediction answered {status}");
    let logged = (PREDICTIONS - PREDICTIONS / 4) as f64;

    let checks: [Check; 11] = [
        ("every target is up", "count(up == 1)", Box::new(|v| v == 3.0)),
        ("build info of every service", "count(digits_build_info)", Box::new(|v| v == 3.0)),
        (
            "logged predictions answered 201",
            r#"sum(digits_http_requests_total{job="gateway",route="/api/predictions",method="POST",status="201"})"#,
            Box::new(move |v| v >= logged),
        ),
        (
            "the 404 with its code",
            r#"sum(digits_http_requests_total{route="/api/predictions/{id}",status="404",code="not_found"})"#,
            Box::new(|v| v >= 1.0),
        ),
        ("a healthy inference replica", r#"digits_inference_replicas{state="healthy"}"#, Box::new(|v| v == 1.0)),
        (
            "Predict calls on the inference service",
            r#"sum(digits_grpc_server_requests_total{job="inference",method="digits.inference.v1.Inference/Predict",code="OK"})"#,
            Box::new(move |v| v >= PREDICTIONS as f64),
        ),
        (
            "the model served, current with all the traffic",
            r#"count(digits_model_info{job="inference",role="current",traffic_percent="100"} == 1)"#,
            Box::new(|v| v == 1.0),
        ),
        (
            "calls answered by that version",
            r#"sum(digits_model_calls_total{job="inference",version="2.0.0"})"#,
            Box::new(move |v| v >= PREDICTIONS as f64),
        ),
        (
            "rows stored by the logging service",
            r#"sum(digits_log_entries_created_total{job="logging"})"#,
            Box::new(move |v| v >= logged),
        ),
        ("the database pool", r#"digits_db_pool_max{job="logging"}"#, Box::new(|v| v >= 1.0)),
        (
            "p99 of the model's compute, in seconds",
            "histogram_quantile(0.99, sum by (le) (digits_inference_compute_seconds_bucket))",
            Box::new(|v| v > 0.0 && v < 0.1),
        ),
    ];
    let prom = listen.clone();
    for (what, query, ok) in &checks {
        let value = wait_for(&prom, query, ok.as_ref())
            .with_context(|| format!("{what}: {query} (logs in {})", dir.display()))?;
        println!("prometheus: {what}: {query} = {value}");
    }
    // Every query of the shipped Grafana dashboard runs, and most have data.
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(setup::root().join("deploy/grafana/digits-dashboard.json"))?)?;
    let queries: Vec<String> = dashboard["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(str::to_owned))
        .collect();
    ensure!(!queries.is_empty(), "the dashboard has queries");
    let mut with_data = 0;
    for query in &queries {
        let (status, body) = http(&prom, "GET", &format!("/api/v1/query?query={}", encode(query)), None)?;
        let answer: Value = serde_json::from_str(&body)?;
        ensure!(status == 200 && answer["status"] == "success", "dashboard query {query}: {body}");
        with_data += usize::from(answer["data"]["result"].as_array().is_some_and(|r| !r.is_empty()));
    }
    println!("prometheus: the dashboard's {} queries run, {with_data} with data", queries.len());
    // The shipped alert rules are loaded and evaluate.
    let (status, body) = http(&prom, "GET", "/api/v1/rules", None)?;
    ensure!(status == 200, "rules: {status}");
    let rules: Value = serde_json::from_str(&body)?;
    let loaded: Vec<(String, String)> = rules["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .map(|r| (r["name"].as_str().unwrap_or("").to_owned(), r["health"].as_str().unwrap_or("").to_owned()))
        .collect();
    println!("prometheus: alert rules {loaded:?}");
    ensure!(
        loaded.len() == 6 && loaded.iter().all(|(_, health)| health == "ok"),
        "the 6 shipped alert rules are loaded and evaluate: {loaded:?}"
    );
    drop(server);
    drop(stack);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Kills Prometheus when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A 28x28 input with a vertical stroke: a "1" the model reads.
fn digit_image() -> Vec<u8> {
    let mut image = vec![0u8; 784];
    for y in 4..24 {
        for x in 13..16 {
            image[y * 28 + x] = 255;
        }
    }
    image
}

/// Queries Prometheus until the single value of `query` satisfies `ok` (30 s at most).
fn wait_for(prometheus: &str, query: &str, ok: &dyn Fn(f64) -> bool) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < Duration::from_secs(30) {
        let path = format!("/api/v1/query?query={}", encode(query));
        if let Ok((200, body)) = http(prometheus, "GET", &path, None) {
            let answer: Value = serde_json::from_str(&body)?;
            let value = answer["data"]["result"][0]["value"][1].as_str().and_then(|v| v.parse::<f64>().ok());
            if let Some(v) = value {
                if ok(v) {
                    return Ok(v);
                }
                last = Some(v);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    bail!("not as expected within 30 s; last value {last:?}")
}

/// Percent-encodes a query string value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One HTTP/1.1 request on a new connection; returns the status and the body.
fn http(host: &str, method: &str, path: &str, body: Option<(&str, &[u8])>) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(host).with_context(|| format!("connecting to {host}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n").into_bytes();
    if let Some((content_type, bytes)) = body {
        request.extend(format!("content-type: {content_type}\r\ncontent-length: {}\r\n", bytes.len()).bytes());
        request.extend(b"\r\n");
        request.extend(bytes);
    } else {
        request.extend(b"\r\n");
    }
    stream.write_all(&request)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).context("an HTTP status line")?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // Prometheus and the gateway answer small bodies; a chunked one is decoded crudely.
    let body =
        if text.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_owned() };
    Ok((status, body))
}

/// The payload of a chunked body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}
