"""Reader for the IDX format that MNIST is distributed in.

The format is a big-endian header (magic, dimension sizes) followed by the raw
data. MNIST uses unsigned bytes (type code 0x08). Files may be gzip-compressed.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

_UBYTE = 0x08


class IdxError(ValueError):
    """The bytes are not a valid unsigned-byte IDX file."""


def parse_idx(data: bytes) -> np.ndarray:
    """Parses IDX bytes (already decompressed) into a uint8 array of the declared shape."""
    if len(data) < 4:
        raise IdxError("file is shorter than the IDX magic number")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise IdxError(f"bad magic: first two bytes must be 0, got {zero:#06x}")
    if dtype != _UBYTE:
        raise IdxError(f"unsupported element type {dtype:#04x}; MNIST uses 0x08 (ubyte)")
    if ndim == 0:
        raise IdxError("IDX file declares zero dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IdxError("file ends inside the dimension header")
    shape = struct.unpack(f">{ndim}I", data[4:header_len])
    expected = int(np.prod(shape, dtype=np.int64))
    body = data[header_len:]
    if len(body) != expected:
        raise IdxError(f"body has {len(body)} bytes, header {shape} needs {expected}")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape).copy()


def read_idx(path: Path) -> np.ndarray:
    """Reads an IDX file, gzip-compressed (``.gz``) or plain."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return parse_idx(raw)


@dataclass
class Mnist:
    """The MNIST splits as uint8 arrays: images ``[N,28,28]``, labels ``[N]``."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_mnist(data_dir: Path) -> Mnist:
    """Loads the four MNIST files from ``data_dir`` and checks that they agree."""
    data_dir = Path(data_dir)
    missing = [name for name in FILES.values() if not (data_dir / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"{data_dir} lacks {', '.join(missing)}; pass the folder that holds the MNIST "
            "IDX .gz files (e.g. ../shared/data/mnist) or use --download"
        )
    arrays = {key: read_idx(data_dir / name) for key, name in FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise IdxError(f"{split} images have shape {images.shape}, expected [N,28,28]")
        if labels.shape != (images.shape[0],):
            raise IdxError(f"{split} labels {labels.shape} do not match images {images.shape}")
        if labels.max() > 9:
            raise IdxError(f"{split} labels contain {labels.max()}, expected 0-9")
    return Mnist(**arrays)


def checksums(data_dir: Path) -> dict[str, str]:
    """SHA-256 of each MNIST file as stored, for the model card."""
    return {
        name: hashlib.sha256((Path(data_dir) / name).read_bytes()).hexdigest()
        for name in FILES.values()
    }


def download(data_dir: Path) -> None:
    """Downloads the four files from a public mirror. Only used with ``--download``."""
    import urllib.request

    mirror = "https://ossci-datasets.s3.amazonaws.com/mnist/"
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in FILES.values():
        target = data_dir / name
        if not target.exists():
            print(f"downloading {name}", flush=True)
            urllib.request.urlretrieve(mirror + name, target)
