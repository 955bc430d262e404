"""Measures a trained model again, with the current preprocessing, and updates its card.

    python -m digits_training.evaluate --data ../../shared/data/mnist --run runs/strided \
        [--robustness-samples 10000]

Reads ``model.pt`` and ``model.json`` from ``--run`` and rewrites in the card
what depends on how drawings are put into MNIST form or on how many were
drawn: the canvas-style robustness table and the "not a digit" figures, at
the card's own threshold (the threshold is never moved here). The training
record and the model file stay as they are.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from . import idx, models, train


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder with the four MNIST IDX .gz files")
    p.add_argument("--run", type=Path, required=True, help="folder with model.pt and model.json")
    p.add_argument("--robustness-samples", type=int, default=10000, help="test digits per drawing style")
    p.add_argument("--held-out-nondigits", type=int, default=4500, help="held-out non-digit drawings")
    args = p.parse_args(argv)

    card_path = args.run / "model.json"
    card = json.loads(card_path.read_text())
    model = models.build(card["architecture"]["candidate"])
    model.load_state_dict(torch.load(args.run / "model.pt"))
    model.eval()
    seed = card["training"]["seed"]
    threshold = card["rejection"]["threshold"]

    data = idx.load_mnist(args.data)
    samples = min(args.robustness_samples, len(data.test_images))
    test_t = train.to_tensor(data.test_images)
    _, _, test_p_not = train.evaluate(model, test_t, torch.from_numpy(data.test_labels.astype(np.int64)))
    drawn = train.draw_styles(data.test_images[:samples], seed)
    robust, drawn_p_not = train.robustness(model, drawn, data.test_labels[:samples], threshold)
    settings = argparse.Namespace(held_out_nondigits=args.held_out_nondigits, seed=seed)
    refused = train.reject_report(model, settings, threshold, np.concatenate([test_p_not.numpy(), drawn_p_not]))

    card["metrics"]["robustness"] = robust
    card["rejection"].update(refused)
    card["preprocessing"] = train.preprocessing()
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(f"updated {card_path}")


if __name__ == "__main__":
    main()
