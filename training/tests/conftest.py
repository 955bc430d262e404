"""Shared fixtures: the MNIST folder comes from ``--mnist-dir`` or ``DIGITS_MNIST_DIR``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TRAINING = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TRAINING))


def pytest_addoption(parser):
    parser.addoption("--mnist-dir", default=None, help="folder with the MNIST IDX .gz files")


@pytest.fixture(scope="session")
def mnist_dir(request) -> Path:
    value = request.config.getoption("--mnist-dir") or os.environ.get("DIGITS_MNIST_DIR")
    path = Path(value) if value else TRAINING.parents[1] / "shared" / "data" / "mnist"
    if not (path / "t10k-images-idx3-ubyte.gz").exists():
        pytest.fail(f"MNIST not found in {path}; pass --mnist-dir or set DIGITS_MNIST_DIR")
    return path


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    from digits_training.idx import load_mnist

    return load_mnist(mnist_dir)
