//! Reads MNIST from its IDX files, gzip-compressed, as distributed.
//!
//! Tests and benchmarks take the data folder from `DIGITS_MNIST_DIR`, falling
//! back to `../shared/data/mnist` beside the repository (see [`data_dir`]).

use std::io::Read;
use std::path::{Path, PathBuf};

/// What can go wrong reading MNIST.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    /// The file could not be read or decompressed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The bytes are not an unsigned-byte IDX file of the expected shape.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// One MNIST split: `images[i]` is 784 bytes, `labels[i]` its digit.
#[derive(Debug, Clone)]
pub struct Split {
    /// 28x28 images, row-major, ink high.
    pub images: Vec<[u8; 784]>,
    /// Digits 0-9.
    pub labels: Vec<u8>,
}

/// The MNIST folder: `DIGITS_MNIST_DIR`, or `../shared/data/mnist` next to the workspace.
pub fn data_dir() -> PathBuf {
    std::env::var_os("DIGITS_MNIST_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data/mnist"), PathBuf::from)
}

fn read_gz(path: &Path) -> Result<Vec<u8>, IdxError> {
    let io = |source| IdxError::Io { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file).read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

fn parse(path: &Path, bytes: &[u8], dims: usize) -> Result<(Vec<usize>, Vec<u8>), IdxError> {
    let bad = |reason: String| IdxError::Format { path: path.to_owned(), reason };
    let header = 4 + 4 * dims;
    if bytes.len() < header || bytes[0..2] != [0, 0] || bytes[2] != 0x08 || usize::from(bytes[3]) != dims {
        return Err(bad(format!("not a {dims}-dimensional unsigned-byte IDX file")));
    }
    let shape: Vec<usize> =
        bytes[4..header].chunks(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let body = &bytes[header..];
    if body.len() != shape.iter().product::<usize>() {
        return Err(bad(format!("body of {} bytes does not match shape {shape:?}", body.len())));
    }
    Ok((shape, body.to_vec()))
}

/// Loads a split: `prefix` is `"t10k"` (test) or `"train"`.
///
/// # Errors
/// When a file is missing, unreadable or malformed.
pub fn load(dir: &Path, prefix: &str) -> Result<Split, IdxError> {
    let images_path = dir.join(format!("{prefix}-images-idx3-ubyte.gz"));
    let labels_path = dir.join(format!("{prefix}-labels-idx1-ubyte.gz"));
    let (shape, pixels) = parse(&images_path, &read_gz(&images_path)?, 3)?;
    if shape[1..] != [28, 28] {
        return Err(IdxError::Format { path: images_path, reason: format!("images are {shape:?}, not Nx28x28") });
    }
    let (label_shape, labels) = parse(&labels_path, &read_gz(&labels_path)?, 1)?;
    if label_shape[0] != shape[0] {
        return Err(IdxError::Format { path: labels_path, reason: "label count differs from image count".into() });
    }
    let images = pixels.chunks_exact(784).map(|c| c.try_into().expect("chunks_exact gives 784 bytes")).collect();
    Ok(Split { images, labels })
}

/// Loads the 10,000 test images from [`data_dir`].
///
/// # Errors
/// As [`load`].
pub fn test_set() -> Result<Split, IdxError> {
    load(&data_dir(), "t10k")
}
