//! The model in the page, in headless Chromium: what a browser downloads
//! (the app with its runtime, and the model), what one reading in the page
//! costs, how many requests one drawing makes with drafts in the page and
//! on the server, and whether the page reads drawings as the server does.
//! The figures come from the browser test that checks them, run here on its
//! own with its output shown.

use std::process::Command;

use anyhow::Context;

use crate::{setup, web};

/// The browser test that measures the page.
const TEST: &str = "the_model_runs_in_the_page_offline_too_and_a_class_behind_one_address_is_not_limited";

/// Runs the page's browser test and records its figures.
pub fn page(mnist: &std::path::Path, figures: &mut Vec<(String, f64)>) -> anyhow::Result<()> {
    let dist = web::build()?;
    setup::browser()?;
    let axe = setup::axe()?;
    // The SIMD build: what current browsers, Chromium included, load.
    let wasm = dist.join(web::SIMD_FOLDER).join("digits-web-ui_bg.wasm");
    let raw = std::fs::metadata(&wasm).with_context(|| format!("{}", wasm.display()))?.len();
    let gzip = std::fs::metadata(wasm.with_extension("wasm.gz"))?.len();
    println!("the app (wasm with SIMD, with the runtime and the preprocessing): {raw} bytes, {gzip} gzip");
    figures.push(("page_wasm_gzip_bytes".into(), gzip as f64));

    let mut cmd = Command::new("cargo");
    cmd.args(["test", "-p", "digits-gateway", "--test", "browser", TEST, "--", "--exact", "--nocapture"])
        .env("DIGITS_MNIST_DIR", mnist)
        .env("DIGITS_AXE_JS", &axe)
        .current_dir(setup::root());
    eprintln!("$ cargo test -p digits-gateway --test browser {TEST} -- --exact --nocapture");
    let output = cmd.output().context("running the browser test")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in stdout.lines().filter(|l| {
        ["downloaded", "requests per drawing", "local reading", "the page's reading", "the class"]
            .iter()
            .any(|start| l.starts_with(start))
    }) {
        println!("{line}");
    }
    // "…: N reads, p50 X ms, p99 Y ms"
    let read = stdout.lines().find(|l| l.starts_with("local reading")).context("no local reading figure")?;
    let after = |key: &str| -> Option<f64> { read.split(key).nth(1)?.split_whitespace().next()?.parse().ok() };
    figures.push(("page_read_p50_ms".into(), after("p50 ").context("p50")?));
    figures.push(("page_read_p99_ms".into(), after("p99 ").context("p99")?));
    // "…: [{"name":…,"sent":N,…}, …]": the bytes on the wire, app and model.
    let downloaded = stdout.lines().find(|l| l.starts_with("downloaded")).context("no download figure")?;
    let list: serde_json::Value =
        serde_json::from_str(downloaded.split_once(": ").map_or("", |(_, l)| l)).context("the download list")?;
    let sent: u64 = list.as_array().into_iter().flatten().filter_map(|e| e["sent"].as_u64()).sum();
    figures.push(("page_download_bytes".into(), sent as f64));
    Ok(())
}
