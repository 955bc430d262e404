//! `cargo xtask web`: builds the web app into `web-ui/dist` without trunk:
//! cargo for wasm32, then wasm-bindgen at exactly the version in Cargo.lock
//! (installed when missing), then the static files, each with a gzip twin the
//! gateway serves to browsers that accept it.
//!
//! The app is built twice: with wasm SIMD (`simd128`, every current browser)
//! into `dist/simd/`, where the model reads a drawing about twice as fast,
//! and without it into `dist/`, for browsers that lack it. `boot.js` loads
//! the one the browser can run. The SIMD build has a target folder of its own
//! (`target/wasm-simd`), since its flags apply to every crate.

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
    let root = setup::root();
    let dist = root.join("web-ui/dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist).with_context(|| format!("emptying {}", dist.display()))?;
    }
    for variant in [Variant::Plain, Variant::Simd] {
        let target_dir = root.join(variant.target_dir());
        let mut cargo = Command::new("cargo");
        cargo
            .args(["build", "-p", CRATE, "--target", "wasm32-unknown-unknown", "--profile", "wasm-release"])
            .arg("--target-dir")
            .arg(&target_dir);
        if let Some(flags) = variant.rustflags() {
            cargo.env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", flags);
        }
        setup::run(&mut cargo)?;
        let out = dist.join(variant.folder());
        std::fs::create_dir_all(&out)?;
        let wasm = target_dir.join(format!("wasm32-unknown-unknown/wasm-release/{CRATE}.wasm"));
        setup::run(
            Command::new(&bindgen).args(["--target", "web", "--no-typescript", "--out-dir"]).arg(&out).arg(&wasm),
        )?;
        optimise(&out.join(format!("{CRATE}_bg.wasm")), variant)?;
    }
    for file in ["index.html", "boot.js", "style.css"] {
        std::fs::copy(root.join("web-ui").join(file), dist.join(file)).with_context(|| format!("copying {file}"))?;
    }
    let mut sizes = Vec::new();
    for folder in [Variant::Plain.folder(), Variant::Simd.folder()] {
        for entry in std::fs::read_dir(dist.join(folder))? {
            let path = entry?.path();
            if path.is_file() {
                let gz = gzip(&path)?;
                let name = Path::new(folder).join(file_name(&path));
                let size = std::fs::metadata(&path)?.len();
                sizes.push(format!("  {:<30} {size:>8} bytes, {gz:>8} gzip", name.display()));
            }
        }
    }
    sizes.sort();
    eprintln!("web app built in {}:\n{}", dist.display(), sizes.join("\n"));
    Ok(dist)
}

/// The two builds of the app.
#[derive(Clone, Copy)]
enum Variant {
    /// Plain wasm: every browser with WebAssembly.
    Plain,
    /// With wasm SIMD: what current browsers load.
    Simd,
}

impl Variant {
    /// Its folder in `dist` (the page's URL path).
    fn folder(self) -> &'static str {
        match self {
            Self::Plain => "",
            Self::Simd => SIMD_FOLDER,
        }
    }

    fn target_dir(self) -> &'static str {
        match self {
            Self::Plain => "target",
            Self::Simd => "target/wasm-simd",
        }
    }

    fn rustflags(self) -> Option<&'static str> {
        match self {
            Self::Plain => None,
            Self::Simd => Some("-C target-feature=+simd128"),
        }
    }
}

/// Where the SIMD build of the app is, in `dist` and on the site.
pub const SIMD_FOLDER: &str = "simd";

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
fn optimise(wasm: &Path, variant: Variant) -> anyhow::Result<()> {
    let Some(wasm_opt) = setup::wasm_opt() else {
        eprintln!("wasm-opt (npm's binaryen) is not available: the web app is not optimised");
        return Ok(());
    };
    let mut cmd = Command::new(wasm_opt);
    cmd.args(["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext"]).args([
        "--enable-mutable-globals",
        "--enable-reference-types",
        "--enable-multivalue",
    ]);
    if matches!(variant, Variant::Simd) {
        cmd.arg("--enable-simd");
    }
    setup::run(cmd.arg(wasm).arg("-o").arg(wasm))
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
