//! `cargo xtask bench`: every performance figure of the product from one
//! run, then a summary against the targets. In order: the inference path in
//! process (decoding, preprocessing, tract) and the same model in
//! onnxruntime and PyTorch; the model in the page, in headless Chromium
//! (what the browser downloads, one reading's time, requests per drawing);
//! the whole stack (release binaries on loopback,
//! SQLite) under one client and under 32, and beside MLServer, the Python
//! serving system a developer would pick, on the same OIP REST request
//! (`peer`); the logged PNG throughput with the embedded model against the
//! release before it (`load::model_cost`); the statistics and history pages
//! at a million rows on PostgreSQL and SQLite. Everything is built before
//! anything is timed. Run it on an idle machine.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;

pub mod capacity;
pub mod load;
pub mod page;
pub mod peer;

use crate::local_stack::{LocalStack, UNLIMITED};
use crate::{deploy, setup};

pub fn bench() -> anyhow::Result<()> {
    let mnist = setup::mnist_dir()?;
    let python = setup::python_venv()?;
    setup::postgres()?;
    deploy::release_builds()?;
    setup::run(Command::new("cargo").args(["build", "--release", "-p", "digits-loadgen", "--bins"]))?;
    // Each bench built by the very command that runs it (another package
    // set would unify features differently and build again).
    let inference_bench = ["bench", "-p", "digits-inference", "--bench", "inference"];
    let stats_bench = ["bench", "-p", "digits-logging", "--bench", "stats_at_scale"];
    for bench in [&inference_bench, &stats_bench] {
        setup::run(Command::new("cargo").args(bench).arg("--no-run"))?;
    }

    let figures_file = std::env::temp_dir().join(format!("digits-bench-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&figures_file);
    let with_figures = |cmd: &mut Command| {
        cmd.env("DIGITS_BENCH_FIGURES", &figures_file).env("DIGITS_MNIST_DIR", &mnist);
    };

    heading("the inference path, in process");
    let mut cmd = Command::new("cargo");
    cmd.args(inference_bench);
    with_figures(&mut cmd);
    setup::run(&mut cmd)?;

    heading("the same model in onnxruntime and PyTorch");
    let mut cmd = Command::new(&python);
    cmd.arg("bench.py").arg("--mnist-dir").arg(&mnist).current_dir(setup::root().join("training"));
    with_figures(&mut cmd);
    eprintln!("$ (cd training && python bench.py)");
    anyhow::ensure!(cmd.status()?.success(), "training/bench.py failed");

    heading("the model in the page, in headless Chromium (the browser test)");
    {
        let mut figures = Vec::new();
        page::page(&mnist, &mut figures)?;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&figures_file)?;
        for (name, value) in figures {
            writeln!(file, "{name} {value}")?;
        }
    }

    heading("a durable write on this disk: the spool's sync, each way it could be done");
    {
        let dir = setup::root().join("target/tmp");
        std::fs::create_dir_all(&dir)?;
        let mut cmd = Command::new(setup::root().join("target/release/sync_floor"));
        cmd.arg(&dir);
        with_figures(&mut cmd);
        setup::run(&mut cmd)?;
    }

    heading("the whole stack: release binaries on loopback, logging to SQLite, wrk on the same cores");
    {
        let stack = LocalStack::start(&UNLIMITED)?;
        let dir = std::env::temp_dir().join(format!("digits-bench-bodies-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let mut cmd = Command::new(setup::root().join("target/release/stack_bench"));
        cmd.arg(&stack.url).arg(&stack.inference_url).arg(&dir);
        with_figures(&mut cmd);
        setup::run(&mut cmd)?;
        let mut figures = Vec::new();
        // Resident memory once the model is loaded, before any load.
        for (service, mib) in stack.rss_mib() {
            println!("{service:<10} resident after start: {mib:.1} MiB");
            figures.push((format!("rss_{service}_mib"), mib));
        }
        load::gateway(&stack.url, &dir, &mut figures)?;
        heading("the peer: MLServer and Digits on the same OIP REST request, taking turns");
        peer::compare(&stack.url, &dir, &mut figures)?;
        drop(stack);
        heading("the model's cost to the stack: the embedded model and the release before it, taking turns");
        load::model_cost(&dir, &mut figures)?;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&figures_file)?;
        for (name, value) in figures {
            writeln!(file, "{name} {value}")?;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    heading("statistics and history at a million rows");
    let mut cmd = Command::new("cargo");
    cmd.args(stats_bench);
    with_figures(&mut cmd);
    setup::run(&mut cmd)?;

    let figures = read_figures(&figures_file)?;
    let _ = std::fs::remove_file(&figures_file);
    summary(&figures);
    Ok(())
}

/// `cargo xtask bench --model-cost`: [`load::model_cost`] alone, with the
/// canvas PNG the stack bench writes.
pub fn model_cost() -> anyhow::Result<()> {
    deploy::release_builds()?;
    setup::run(Command::new("cargo").args(["build", "--release", "-p", "digits-loadgen", "--bins"]))?;
    let dir = std::env::temp_dir().join(format!("digits-model-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    {
        let stack = LocalStack::start(&UNLIMITED)?;
        let mut cmd = Command::new(setup::root().join("target/release/stack_bench"));
        setup::run(cmd.arg(&stack.url).arg(&stack.inference_url).arg(&dir))?;
    }
    let mut figures = Vec::new();
    let result = load::model_cost(&dir, &mut figures);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn heading(title: &str) {
    println!("\n=== {title}\n");
}

fn read_figures(path: &Path) -> anyhow::Result<BTreeMap<String, f64>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(' ')?;
            Some((name.to_owned(), value.trim().parse().ok()?))
        })
        .collect())
}

/// The figures side by side, each target with whether it is met.
fn summary(f: &BTreeMap<String, f64>) {
    let get = |name: &str| f.get(name).copied().unwrap_or(f64::NAN);
    let verdict = |met: bool| if met { "met" } else { "NOT MET" };
    println!("\n=== summary\n");

    let (tract, ort) = (get("tract_single_us"), get("onnxruntime_single_us"));
    println!(
        "model, one image, one thread: tract {tract:.0} µs  (target <= 400 µs: {}), onnxruntime {ort:.0} µs",
        verdict(tract <= 400.0)
    );
    println!("  tract / onnxruntime = {:.2}  (target <= 1.30: {})", tract / ort, verdict(tract / ort <= 1.3));

    let (decode_pre, pre) = (get("decode_preprocess_us"), get("preprocess_us"));
    let (grpc_png, grpc_mnist) = (get("grpc_png_p50_us"), get("grpc_mnist_p50_us"));
    let (draft, logged) = (get("http_png_draft_p50_us"), get("http_png_logged_p50_us"));
    println!("\none request, one client, p50: where a logged PNG prediction's time goes");
    let rows = [
        ("gateway: HTTP, identity, rate limit, JSON answer, gRPC hop to inference", draft - grpc_png),
        ("inference service: gRPC and running the call (in place while a core is free)", grpc_mnist - tract),
        ("PNG decode and preprocessing, in the service", grpc_png - grpc_mnist),
        ("model (tract)", tract),
        ("log entry: queued, and on disk in the spool, before the answer", logged - draft),
    ];
    for (step, us) in rows {
        println!("  {step:<72} {us:>7.0} µs");
    }
    println!("  {:<72} {logged:>7.0} µs", "total, measured end to end");
    println!(
        "  (the floor of the inference hop, a gRPC health Check on the same port and connection: {:.0} µs)",
        get("grpc_floor_p50_us")
    );
    println!(
        "  (decode and preprocessing alone, in a hot loop: {decode_pre:.0} µs, of which preprocessing {pre:.0} µs)"
    );
    let mnist_logged = get("http_mnist_logged_p50_us");
    println!(
        "  the web app's store (28x28 input, no decode or preprocessing), logged: {mnist_logged:.0} µs  (target p50 <= 500 µs: {})",
        verdict(mnist_logged <= 500.0)
    );
    println!("  a PNG request, logged: {logged:.0} µs");
    println!(
        "  a lone 1 KiB durable write: {:.0} µs as the spool does it (zeroed segment + fdatasync), {:.0} µs appending to a growing file, {:.0} µs O_DSYNC",
        get("sync_zeroed_fdatasync_p50_us"),
        get("sync_append_fdatasync_p50_us"),
        get("sync_zeroed_odsync_p50_us")
    );

    println!("\nOIP REST (one FP32 [1,1,28,28] tensor as JSON) beside MLServer, median of the runs");
    let (digits_p50, peer_p50) = (get("oip_c1_digits_p50_us"), get("oip_c1_mlserver_p50_us"));
    println!(
        "  one client, p50: Digits (logged) {digits_p50:.0} µs, MLServer {peer_p50:.0} µs  (target <= 700 µs and below MLServer's: {})",
        verdict(digits_p50 <= 700.0 && digits_p50 < peer_p50)
    );
    println!(
        "  one client, p99: Digits {:.0} µs, MLServer {:.0} µs",
        get("oip_c1_digits_p99_us"),
        get("oip_c1_mlserver_p99_us")
    );
    println!(
        "  one client, p50 / p99, MLServer with 2 parallel workers: {:.0} / {:.0} µs",
        get("oip_c1_mlserver_workers_p50_us"),
        get("oip_c1_mlserver_workers_p99_us")
    );
    let (digits_rps, peer_rps) = (get("oip_c32_digits_rps"), get("oip_c32_mlserver_rps"));
    println!(
        "  32 clients: Digits (logged) {digits_rps:.0} req/s, MLServer {peer_rps:.0} req/s, {:.1}x  (target >= 4,500: {})",
        digits_rps / peer_rps,
        verdict(digits_rps >= 4500.0)
    );
    let workers_rps = get("oip_c32_mlserver_workers_rps");
    println!(
        "  32 clients, MLServer with 2 parallel workers: {workers_rps:.0} req/s; Digits {:.1}x",
        digits_rps / workers_rps
    );
    println!(
        "  32 clients, p50 / p99: Digits {:.0} / {:.0} µs, MLServer {:.0} / {:.0} µs",
        get("oip_c32_digits_p50_us"),
        get("oip_c32_digits_p99_us"),
        get("oip_c32_mlserver_p50_us"),
        get("oip_c32_mlserver_p99_us")
    );
    let rss = get("rss_inference_mib");
    println!(
        "\ninference service, resident after loading the model: {rss:.1} MiB  (target <= 50 MB: {})",
        verdict(rss * 1.048_576 <= 50.0)
    );

    let (download, read_p50, read_p99) = (get("page_download_bytes"), get("page_read_p50_ms"), get("page_read_p99_ms"));
    println!("\nthe model in the page (headless Chromium)");
    println!(
        "  app + model on the wire: {:.0} KB (app {:.0} KB gzip)  (target <= 1 MB: {})",
        download / 1000.0,
        get("page_wasm_gzip_bytes") / 1000.0,
        verdict(download <= 1_000_000.0)
    );
    println!(
        "  one reading in the page: p50 {read_p50:.1} ms, p99 {read_p99:.1} ms  (target p50 <= 8 ms: {})",
        verdict(read_p50 <= 8.0)
    );

    let (embedded, previous) = (get("c32_png_logged_rps_embedded"), get("c32_png_logged_rps_previous"));
    println!(
        "\n32 clients, logged PNG, the embedded model against the release before it: {embedded:.0} against {previous:.0} req/s, {:.0} % fewer  (target <= 30 %: {})",
        100.0 * (1.0 - embedded / previous),
        verdict(embedded >= 0.7 * previous)
    );

    println!("\n32 clients, every request logged vs drafts (?log=false)");
    for (kind, name) in [("png", "PNG"), ("mnist", "28x28 input")] {
        let (logged, draft) = (get(&format!("c32_{kind}_logged_rps")), get(&format!("c32_{kind}_draft_rps")));
        println!(
            "  {name:<12} logged {logged:>6.0} req/s{}, drafts {draft:>6.0} req/s, ratio {:.0}% (target >= 90%: {})",
            if kind == "png" { format!(" (target >= 3,800: {})", verdict(logged >= 3800.0)) } else { String::new() },
            100.0 * logged / draft,
            verdict(logged / draft >= 0.9)
        );
    }

    println!("\nat 1,000,000 rows, p50 (target <= 5 ms)");
    for backend in ["postgresql", "sqlite"] {
        let stats = get(&format!("{backend}_stats_everyone_p50_us")).max(get(&format!("{backend}_stats_owner_p50_us")));
        let page =
            get(&format!("{backend}_history_owner_p50_us")).max(get(&format!("{backend}_history_everyone_p50_us")));
        println!(
            "  {backend:<11} stats {:>6.2} ms ({}), history page {:>6.2} ms ({})",
            stats / 1000.0,
            verdict(stats <= 5000.0),
            page / 1000.0,
            verdict(page <= 5000.0)
        );
    }
}
