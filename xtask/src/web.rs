//! `cargo xtask web`: builds the web app into `web-ui/dist` without trunk:
//! cargo for wasm32, then wasm-bindgen at exactly the version in Cargo.lock
//! (installed when missing), then the static files, each with a gzip twin the
//! gateway serves to browsers that accept it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::setup;

/// The crate and its wasm file name.
const CRATE: &str = "digits-web-ui";

pub fn web() -> anyhow::Result<()> {
    build().map(|_| ())
}

/// Builds the app; returns the `dist` folder.
pub fn build() -> anyhow::Result<PathBuf> {
    setup::wasm_target()?;
    let bindgen = wasm_bindgen_cli()?;
    setup::run(Command::new("cargo").args([
        "build",
        "-p",
        CRATE,
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ]))?;
    let root = setup::root();
    let dist = root.join("web-ui/dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist).with_context(|| format!("emptying {}", dist.display()))?;
    }
    std::fs::create_dir_all(&dist)?;
    let wasm = root.join(format!("target/wasm32-unknown-unknown/wasm-release/{CRATE}.wasm"));
    setup::run(Command::new(bindgen).args(["--target", "web", "--no-typescript", "--out-dir"]).arg(&dist).arg(&wasm))?;
    let bindgen_wasm = dist.join(format!("{CRATE}_bg.wasm"));
    optimise(&bindgen_wasm)?;
    for file in ["index.html", "boot.js", "style.css"] {
        std::fs::copy(root.join("web-ui").join(file), dist.join(file)).with_context(|| format!("copying {file}"))?;
    }
    let files: Vec<PathBuf> = std::fs::read_dir(&dist)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    let mut sizes = Vec::new();
    for path in files {
        let gz = gzip(&path)?;
        sizes.push(format!("  {:<24} {:>8} bytes, {:>8} gzip", file_name(&path), std::fs::metadata(&path)?.len(), gz));
    }
    sizes.sort();
    eprintln!("web app built in {}:\n{}", dist.display(), sizes.join("\n"));
    Ok(dist)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Writes `path.gz`; returns its size.
fn gzip(path: &Path) -> anyhow::Result<u64> {
    let data = std::fs::read(path)?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&data)?;
    let compressed = encoder.finish()?;
    let gz = PathBuf::from(format!("{}.gz", path.display()));
    std::fs::write(&gz, &compressed)?;
    Ok(compressed.len() as u64)
}

/// Runs `wasm-opt -Oz` (npm's binaryen, installed once): about a third off
/// the app. Where npm cannot be had, the app is left as it is, and works.
fn optimise(wasm: &Path) -> anyhow::Result<()> {
    let Some(wasm_opt) = setup::wasm_opt() else {
        eprintln!("wasm-opt (npm's binaryen) is not available: the web app is not optimised");
        return Ok(());
    };
    setup::run(
        Command::new(wasm_opt)
            .args(["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext"])
            .args(["--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue"])
            .arg(wasm)
            .arg("-o")
            .arg(wasm),
    )
}

/// The version of the `wasm-bindgen` crate in Cargo.lock.
fn locked_wasm_bindgen() -> anyhow::Result<String> {
    let lock = std::fs::read_to_string(setup::root().join("Cargo.lock"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            let version = lines.next().unwrap_or_default();
            if let Some(v) = version.trim().strip_prefix("version = \"").and_then(|v| v.strip_suffix('"')) {
                return Ok(v.to_owned());
            }
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

/// A `wasm-bindgen` command at the locked version, installed with cargo
/// when missing (about 7 minutes once; kept in `~/.cargo/bin`).
fn wasm_bindgen_cli() -> anyhow::Result<PathBuf> {
    let version = locked_wasm_bindgen()?;
    let installed = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if installed.split_whitespace().nth(1) != Some(version.as_str()) {
        eprintln!("installing wasm-bindgen-cli {version} (once; about a minute)");
        // Without --locked: its own lockfile pins crates some registries lack.
        // Only the one binary, unoptimised and without debug info: it builds
        // in about a minute instead of five to seven, and still processes the
        // app in under half a second, to the same bytes.
        setup::run(
            Command::new("cargo")
                .args(["install", "wasm-bindgen-cli", "--version", &version, "--debug", "--bin", "wasm-bindgen"])
                .env("CARGO_PROFILE_DEV_DEBUG", "false"),
        )?;
    }
    Ok(PathBuf::from("wasm-bindgen"))
}
