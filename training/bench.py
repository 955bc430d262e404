"""Times onnxruntime and PyTorch on a released model: single-image latency
and batched throughput. Prints a table; run beside the Rust benchmark
(`cargo xtask bench`) so that tract and onnxruntime are compared in one go.

    python bench.py [--model-dir ../services/inference/models/mnist/2.0.0] [--mnist-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def percentile(samples: list[float], p: float) -> float:
    return float(np.percentile(np.array(samples), p * 100))


def time_each(fn, runs: int) -> list[float]:
    for _ in range(max(runs // 10, 1)):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def figure(name: str, seconds: float) -> None:
    """Appends `name value` (µs) for the summary of `cargo xtask bench`."""
    path = os.environ.get("DIGITS_BENCH_FIGURES")
    if path:
        with open(path, "a") as out:
            out.write(f"{name} {seconds * 1e6}\n")


def report(name: str, run, images: np.ndarray, key: str | None = None) -> None:
    single = time_each(lambda: run(images[:1]), 3000)
    if key:
        figure(key, percentile(single, 0.5))
    print(f"{name:<32} single image p50 {percentile(single, 0.5) * 1e6:8.1f} µs  p99 {percentile(single, 0.99) * 1e6:8.1f} µs")
    for batch in (1, 8, 32, 128):
        t = time_each(lambda: run(images[:batch]), max(4000 // batch, 30))
        p50 = percentile(t, 0.5)
        print(f"{'':<32} batch {batch:>4}: p50 {p50 * 1e6:9.1f} µs  {batch / p50:10.0f} images/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=HERE.parent / "services/inference/models/mnist/2.0.0")
    parser.add_argument("--mnist-dir", type=Path, default=Path(os.environ.get("DIGITS_MNIST_DIR", HERE.parents[1] / "shared/data/mnist")))
    args = parser.parse_args()

    import onnxruntime as ort
    import torch

    from digits_training.idx import read_idx

    images = read_idx(args.mnist_dir / "t10k-images-idx3-ubyte.gz")[:128].astype(np.float32)[:, None] / 255.0
    for threads in (1, 2):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        session = ort.InferenceSession(str(args.model_dir / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        report(
            f"onnxruntime, {threads} thread{'s' if threads > 1 else ''}",
            lambda x, s=session: s.run(None, {"image": x}),
            images,
            "onnxruntime_single_us" if threads == 1 else None,
        )

    import json

    from digits_training import models

    card = json.loads((args.model_dir / "model.json").read_text())
    pt = HERE / "runs" / card["architecture"]["candidate"] / "model.pt"
    if pt.exists():
        torch.set_num_threads(1)
        model = models.build(card["architecture"]["candidate"]).eval()
        model.load_state_dict(torch.load(pt))

        def torch_run(x):
            with torch.no_grad():
                return model(torch.from_numpy(x))

        report("PyTorch eager, 1 thread", torch_run, images)
    else:
        print(f"(PyTorch skipped: no {pt}; train the model to compare)")


if __name__ == "__main__":
    main()
