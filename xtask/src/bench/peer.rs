//! The peer: MLServer (`deploy/peers/mlserver/`) serving the same
//! `model.onnx` in onnxruntime, one thread per process, against Digits'
//! gateway on the same OIP REST request (`POST /v2/models/mnist/infer`, one
//! FP32 `[1, 1, 28, 28]` tensor as JSON; Digits logs every call durably,
//! MLServer logs nothing). MLServer runs twice: inference in its main process
//! (`parallel_workers: 0`), and with two worker processes, one per core. One
//! client, then 32, the servers taking turns, [`ROUNDS`] runs each; the
//! medians are kept.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::load::{self, Run};
use crate::local_stack::{free_port, get_ok};
use crate::setup;

/// Runs per server and per load, alternating.
pub const ROUNDS: usize = 3;

/// MLServer on a free loopback port, stopped when dropped.
struct MlServer {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl MlServer {
    /// Writes the model folder and settings into `dir`, starts MLServer with
    /// `workers` inference processes (0: inference in its main process) and
    /// waits until the model is ready.
    fn start(dir: &Path, workers: u32) -> anyhow::Result<Self> {
        let bin = setup::mlserver_venv()?;
        let model = dir.join("mnist");
        std::fs::create_dir_all(&model)?;
        let root = setup::root();
        std::fs::copy(root.join("deploy/peers/mlserver/runtime.py"), model.join("runtime.py"))?;
        std::fs::copy(root.join("services/inference/models/mnist/2.0.0/model.onnx"), model.join("model.onnx"))?;
        std::fs::write(
            model.join("model-settings.json"),
            r#"{"name": "mnist", "implementation": "runtime.OnnxModel", "parameters": {"uri": "./model.onnx"}}"#,
        )?;
        let (http, grpc, metrics) = (free_port()?, free_port()?, free_port()?);
        std::fs::write(
            dir.join("settings.json"),
            serde_json::json!({
                "debug": false, "parallel_workers": workers, "host": "127.0.0.1",
                "http_port": http, "grpc_port": grpc, "metrics_port": metrics,
            })
            .to_string(),
        )?;
        let log = std::fs::File::create(dir.join("mlserver.log"))?;
        let child = Command::new(bin.join("mlserver"))
            .args(["start", "."])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting MLServer")?;
        let server = Self { child, url: format!("http://127.0.0.1:{http}"), dir: dir.to_path_buf() };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if ready(http) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        bail!("MLServer was not ready within 120 s; its log: {}", server.dir.join("mlserver.log").display())
    }
}

impl Drop for MlServer {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// Whether MLServer on `port` says the model is ready.
fn ready(port: u16) -> bool {
    get_ok(&format!("127.0.0.1:{port}"), "/v2/models/mnist/ready").is_some()
}

/// The OIP REST request body: the 28x28 input `stack_bench` wrote (bytes,
/// ink high) as an FP32 tensor of 0.0 to 1.0.
fn request_body(input: &Path) -> anyhow::Result<String> {
    let pixels = std::fs::read(input)?;
    anyhow::ensure!(pixels.len() == 784, "{} is a 28x28 input", input.display());
    let data: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    Ok(serde_json::json!({ "inputs": [{ "name": "image", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": data }] })
        .to_string())
}

/// Digits (`digits`, the gateway's base URL) against MLServer on the same
/// request, with the bodies in `dir`; prints a table and adds the figures.
pub fn compare(digits: &str, dir: &Path, figures: &mut Vec<(String, f64)>) -> anyhow::Result<()> {
    let wrk = setup::wrk()?;
    let script = dir.join("post.lua");
    std::fs::write(&script, load::SCRIPT)?;
    let body = dir.join("oip.json");
    std::fs::write(&body, request_body(&dir.join("input.bin"))?)?;
    let (single_dir, parallel_dir) = (dir.join("mlserver"), dir.join("mlserver-workers"));
    let single = MlServer::start(&single_dir, 0)?;
    let parallel = MlServer::start(&parallel_dir, 2)?;
    let servers = [
        ("digits", "Digits (logged)", digits),
        ("mlserver", "MLServer 1.7.1", single.url.as_str()),
        ("mlserver_workers", "MLServer 1.7.1, 2 parallel workers", parallel.url.as_str()),
    ];
    for (clients, threads, seconds) in [(1, 1, 5), (32, 2, 10)] {
        let mut runs: Vec<Vec<Run>> = servers.iter().map(|_| Vec::new()).collect();
        for _ in 0..ROUNDS {
            for (i, (_, _, base)) in servers.iter().enumerate() {
                let url = format!("{base}/v2/models/mnist/infer");
                let run = load::wrk_run(&wrk, &script, &url, &body, "application/json", (clients, threads, seconds))?;
                anyhow::ensure!(run.failed == 0, "{url}: {} answers were not 2xx", run.failed);
                runs[i].push(run);
                // Let Digits' log writer catch up before the next run.
                std::thread::sleep(Duration::from_secs(2));
            }
        }
        println!(
            "\n{:<50} {:>11} {:>11} {:>9}",
            format!("OIP REST, {clients} connection(s), median of {ROUNDS} x {seconds} s"),
            "p50",
            "p99",
            "req/s"
        );
        for ((key, name, _), runs) in servers.iter().zip(&runs) {
            let median = |pick: fn(&Run) -> f64| {
                let mut v: Vec<f64> = runs.iter().map(pick).collect();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let (p50, p99, rate) = (median(|r| r.p50_us), median(|r| r.p99_us), median(|r| r.rate));
            println!("{name:<50} {p50:>8.0} µs {p99:>8.0} µs {rate:>9.0}");
            figures.push((format!("oip_c{clients}_{key}_p50_us"), p50));
            figures.push((format!("oip_c{clients}_{key}_p99_us"), p99));
            figures.push((format!("oip_c{clients}_{key}_rps"), rate));
        }
    }
    drop((single, parallel));
    let _ = std::fs::remove_dir_all(&single_dir);
    let _ = std::fs::remove_dir_all(&parallel_dir);
    Ok(())
}
