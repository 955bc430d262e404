"""Synthetic users for testing the feedback loop: MNIST training digits drawn
as on a canvas, each by one of several pseudonymous people, with their true
labels, and optionally one identity flooding a single label.

    python -m digits_training.synthetic_users --data ../../shared/data/mnist \\
        --count 1000 --identities 50 --out labels.ndjson

writes an export file in the form of ``/api/admin/export`` (the retraining
reads it with ``--labels labels.ndjson``). The digits come from the end of the
MNIST training set (index 50,000 on), and each is drawn in the training
canvas style and put into MNIST form as the server does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from . import canvas, idx, preprocess

FIRST = 50_000


def drawings(images: np.ndarray, seed: int) -> np.ndarray:
    """``images`` drawn canvas-style: float ink ``[N,H,W]``."""
    return canvas.render(images, canvas.TRAINING_STYLE, np.random.default_rng(seed))


def labelled(data: Path, count: int, identities: int, seed: int, flood: int = 0) -> list[dict]:
    """``count`` export rows from ``identities`` people, then ``flood`` rows of
    one more identity labelling everything "7"."""
    mnist = idx.load_mnist(data)
    rng = np.random.default_rng(seed)
    picks = rng.choice(np.arange(FIRST, len(mnist.train_labels)), count + flood, replace=False)
    rows = []
    for n, (ink, label) in enumerate(zip(drawings(mnist.train_images[picks], seed), mnist.train_labels[picks])):
        try:
            pixels = preprocess.to_mnist(ink)
        except preprocess.EmptyDrawing:
            continue
        flooding = n >= count
        rows.append(
            {
                "id": n + 1,
                "owner": "v:flood" if flooding else f"v:user{n % identities:04d}",
                "true_label": 7 if flooding else int(label),
                "predicted_digit": int(label),
                "model_version": "2.0.0",
                "input": pixels.reshape(-1).tolist(),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--identities", type=int, default=50)
    p.add_argument("--flood", type=int, default=0, help="rows of one more identity labelling everything 7")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    rows = labelled(args.data, args.count, args.identities, args.seed, args.flood)
    args.out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    print(f"{len(rows)} labelled drawings -> {args.out}")


if __name__ == "__main__":
    main()
