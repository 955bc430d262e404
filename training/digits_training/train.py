"""Trains a candidate CNN on MNIST and writes the release files.

    python -m digits_training.train --data ../../shared/data/mnist --arch small --out runs/small

Writes into ``--out``: ``model.onnx``, ``model.json`` (the model card),
``golden.json`` (parity fixture for the Rust side) and ``model.pt``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import platform
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import canvas, export, idx, models, preprocess
from .augment import AugmentConfig, augment


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder with the four MNIST IDX .gz files")
    p.add_argument("--download", action="store_true", help="download missing MNIST files first (needs internet)")
    p.add_argument("--arch", default="strided", choices=sorted(models.CANDIDATES), help="candidate architecture")
    p.add_argument("--out", type=Path, required=True, help="output folder for model.onnx, model.json, golden.json")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.05)
    p.add_argument("--no-augment", action="store_true", help="train on plain MNIST")
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.add_argument("--limit-train", type=int, default=0, help="use only the first N training images (smoke runs)")
    p.add_argument("--limit-test", type=int, default=0, help="use only the first N test images (smoke runs)")
    p.add_argument("--robustness-samples", type=int, default=2000, help="test digits per drawing style (0: skip)")
    p.add_argument("--golden", type=int, default=64, help="test images in the golden fixture")
    p.add_argument("--name", default="digits-mnist-cnn")
    p.add_argument("--version", default="1.1.0")
    return p.parse_args(argv)


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, list[float], torch.Tensor]:
    """Accuracy, per-digit accuracy and predictions."""
    model.eval()
    preds = []
    with torch.no_grad():
        for start in range(0, len(images), 1000):
            preds.append(model(images[start : start + 1000]).argmax(1))
    pred = torch.cat(preds)
    correct = pred == labels
    per_digit = [float(correct[labels == d].float().mean()) if (labels == d).any() else float("nan") for d in range(10)]
    return float(correct.float().mean()), per_digit, pred


def robustness(model: nn.Module, test_images: np.ndarray, test_labels: np.ndarray, samples: int, seed: int) -> list[dict]:
    """Accuracy on test digits drawn in each canvas style, after the serving normalisation."""
    rng = np.random.default_rng(seed)
    results = []
    images, labels = test_images[:samples], test_labels[:samples]
    for style in canvas.STYLES:
        inputs = []
        kept = []
        for start in range(0, len(images), 256):
            ink = canvas.render(images[start : start + 256], style, rng)
            for i, one in enumerate(ink):
                try:
                    inputs.append(preprocess.to_mnist(one))
                    kept.append(start + i)
                except preprocess.EmptyDrawing:
                    pass
        acc, _, _ = evaluate(model, to_tensor(np.stack(inputs)), torch.from_numpy(labels[kept].astype(np.int64)))
        # A drawing rejected as empty counts as wrong.
        acc = acc * len(kept) / len(images)
        results.append({"style": canvas.describe(style), "samples": len(images), "accuracy": round(acc, 4)})
        print(f"  robustness {style.name:<40} {acc * 100:6.2f}%", flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    gen = seed_everything(args.seed)
    if args.download:
        idx.download(args.data)
    data = idx.load_mnist(args.data)
    train_x, train_y = data.train_images, data.train_labels
    if args.limit_train:
        train_x, train_y = train_x[: args.limit_train], train_y[: args.limit_train]
    test_x, test_y = data.test_images, data.test_labels
    if args.limit_test:
        test_x, test_y = test_x[: args.limit_test], test_y[: args.limit_test]
    train_t, train_l = to_tensor(train_x), torch.from_numpy(train_y.astype(np.int64))
    test_t, test_l = to_tensor(test_x), torch.from_numpy(test_y.astype(np.int64))

    model = models.build(args.arch)
    aug_cfg = AugmentConfig()
    steps_per_epoch = (len(train_t) + args.batch_size - 1) // args.batch_size
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.2
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    print(
        f"training {args.arch}: {models.count_parameters(model):,} parameters, "
        f"{models.count_macs(model):,} multiply-adds per image, {len(train_t):,} images, "
        f"{args.epochs} epochs, {torch.get_num_threads()} threads",
        flush=True,
    )

    started = time.perf_counter()
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(train_t), generator=gen)
        total_loss, total_correct = 0.0, 0
        for step in range(steps_per_epoch):
            batch = order[step * args.batch_size : (step + 1) * args.batch_size]
            x, y = train_t[batch], train_l[batch]
            if not args.no_augment:
                x = augment(x, gen, aug_cfg)
            logits = model(x)
            loss = loss_fn(logits, y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total_loss += loss.item() * len(batch)
            total_correct += int((logits.argmax(1) == y).sum())
        test_acc, _, _ = evaluate(model, test_t, test_l)
        record = {
            "epoch": epoch,
            "loss": round(total_loss / len(train_t), 5),
            "train_accuracy": round(total_correct / len(train_t), 5),
            "test_accuracy": round(test_acc, 5),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        history.append(record)
        print(
            f"epoch {epoch:>3}/{args.epochs}  loss {record['loss']:.4f}  train {record['train_accuracy'] * 100:6.2f}%  "
            f"test {record['test_accuracy'] * 100:6.2f}%  {record['seconds']:6.1f}s",
            flush=True,
        )
    train_seconds = time.perf_counter() - started

    test_acc, per_digit, _ = evaluate(model, test_t, test_l)
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "model.onnx"
    export.export_onnx(model, onnx_path)
    torch.save(model.state_dict(), args.out / "model.pt")

    # The exported (BN-folded) graph must agree with PyTorch.
    check = test_x[:256]
    diff = float(np.abs(export.onnx_logits(onnx_path, check) - export.torch_logits(model, check)).max())
    print(f"onnxruntime vs PyTorch: max |logit difference| = {diff:.2e}", flush=True)
    onnx_acc = float((export.onnx_logits(onnx_path, test_x).argmax(1) == test_y).mean())
    export.write_golden(model, test_x[: args.golden], test_y[: args.golden], args.out / "golden.json")

    robust = robustness(model, test_x, test_y, args.robustness_samples, args.seed) if args.robustness_samples else []

    card = {
        "name": args.name,
        "version": args.version,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "architecture": {"candidate": args.arch, **models.CANDIDATES[args.arch]},
        "file": {"name": "model.onnx", "sha256": export.sha256(onnx_path), "bytes": onnx_path.stat().st_size},
        "io": {
            "input": {"name": export.INPUT_NAME, "dtype": "float32", "shape": ["N", 1, 28, 28]},
            "output": {"name": export.OUTPUT_NAME, "dtype": "float32", "shape": ["N", 10], "kind": "logits (apply softmax)"},
            "opset": export.OPSET,
        },
        "normalisation": export.normalisation(),
        "preprocessing": {
            "procedure": "crop to ink bounding box, scale longer side to 20 px (area average), "
            "place in 28x28, shift centre of mass to the target",
            "box": preprocess.BOX,
            "size": preprocess.SIZE,
            "ink_threshold": preprocess.INK_THRESHOLD,
            "centre_of_mass_target_xy": list(preprocess.COM_TARGET),
        },
        "metrics": {
            "test_samples": int(len(test_y)),
            "test_accuracy": round(test_acc, 6),
            "test_accuracy_onnxruntime": round(onnx_acc, 6),
            "per_digit_accuracy": [round(a, 6) for a in per_digit],
            "onnx_vs_pytorch_max_abs_logit_diff": diff,
            "robustness": robust,
        },
        "size": {
            "parameters": models.count_parameters(model),
            "multiply_adds_per_image": models.count_macs(model),
            "flops_per_image": 2 * models.count_macs(model),
        },
        "training": {
            "data": {"train_samples": int(len(train_y)), "sha256": idx.checksums(args.data)},
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "optimizer": "AdamW",
            "lr_schedule": "one-cycle, 20% warm-up",
            "peak_lr": args.lr,
            "weight_decay": args.weight_decay,
            "label_smoothing": args.label_smoothing,
            "seed": args.seed,
            "augmentation": None if args.no_augment else dataclasses.asdict(aug_cfg),
            "seconds": round(train_seconds, 1),
            "threads": torch.get_num_threads(),
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "torch": torch.__version__,
            "history": history,
        },
    }
    (args.out / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"test accuracy {test_acc * 100:.2f}%  ({train_seconds:.0f}s)  -> {args.out}", flush=True)


if __name__ == "__main__":
    main()
