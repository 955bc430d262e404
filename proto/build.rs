//! Compiles every `.proto` under `digits/` (Digits' own APIs) and `oip/`
//! (the Open Inference Protocol) with protox (pure Rust, so no
//! `protoc` is needed), generates the tonic/prost code from the result and
//! keeps the encoded descriptor set for gRPC server reflection.

use std::path::{Path, PathBuf};

use prost::Message;

fn proto_files(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            proto_files(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            found.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let mut files = Vec::new();
    for dir in ["digits", "oip"] {
        proto_files(&root.join(dir), &mut files)?;
        println!("cargo:rerun-if-changed={dir}");
    }
    files.sort();

    let descriptors = protox::compile(&files, [&root])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("descriptors.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
