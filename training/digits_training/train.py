"""Trains a candidate CNN on MNIST and writes the release files.

    python -m digits_training.train --data ../../shared/data/mnist --arch small --out runs/small

Writes into ``--out``: ``model.onnx``, ``model.json`` (the model card),
``golden.json`` (parity fixture for the Rust side) and ``model.pt``; and,
after every epoch, ``checkpoint.pt``, from which ``--resume`` goes on where a
run stopped (see ``checkpoint``).
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

from . import calibration, canvas, checkpoint, export, habits, idx, mixing, models, nondigits, preprocess, rejection
from .augment import AugmentConfig, augment


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder with the four MNIST IDX .gz files")
    p.add_argument("--download", action="store_true", help="download missing MNIST files first (needs internet)")
    p.add_argument("--arch", default="strided", choices=sorted(models.CANDIDATES), help="candidate architecture")
    p.add_argument("--out", type=Path, required=True, help="output folder for model.onnx, model.json, golden.json")
    p.add_argument("--epochs", type=int, default=35)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.05)
    p.add_argument("--no-augment", action="store_true", help="train on plain MNIST")
    p.add_argument("--seed", type=int, default=20261126)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.add_argument("--limit-train", type=int, default=0, help="use only the first N training images (smoke runs)")
    p.add_argument("--limit-test", type=int, default=0, help="use only the first N test images (smoke runs)")
    p.add_argument("--robustness-samples", type=int, default=10000, help="test digits per drawing style (0: skip)")
    p.add_argument("--golden", type=int, default=64, help="test images in the golden fixture")
    p.add_argument("--name", default="digits-mnist-cnn")
    p.add_argument("--version", default="1.3.0")
    p.add_argument("--canvas-share", type=float, default=0.5, help="share of digits taken in a canvas-drawn form")
    p.add_argument("--canvas-forms", type=int, default=2, help="canvas drawings made of every training digit")
    p.add_argument("--ema", type=float, default=0.999, help="decay of the weights' moving average that is released (0: the last weights)")
    p.add_argument("--nondigits", type=int, default=30000, help="drawings that are not digits in the training pool")
    p.add_argument("--nondigit-share", type=float, default=0.15, help="not-a-digit drawings added per epoch, as a share of the digits")
    p.add_argument("--calibration", type=int, default=2000, help="training digits held back to calibrate the rejection threshold")
    p.add_argument("--reject-target", type=float, default=0.002, help="most calibration digits the threshold may reject")
    p.add_argument("--held-out-nondigits", type=int, default=4500, help="held-out non-digit drawings measured (0: skip)")
    p.add_argument("--cache", type=Path, default=None, help="folder for the prepared pools (default: <out>/../cache)")
    p.add_argument("--habits", type=int, default=20000, help="digits drawn with writing habits in the training pool (0: none)")
    p.add_argument("--habit-share", type=float, default=0.08, help="habit digits added per epoch, as a share of the digits")
    p.add_argument("--calibration-nondigits", type=int, default=2000, help="non-digits never trained on, for the temperature")
    p.add_argument("--no-temperature", action="store_true", help="release the logits as trained (no temperature scaling)")
    p.add_argument("--marker", type=float, default=0.08, help="share of augmented digits thickened like a marker's")
    p.add_argument("--resume", action="store_true", help="go on from <out>/checkpoint.pt when it is there")
    p.add_argument("--stop-after", type=int, default=0, help="stop after this many epochs of this invocation (0: run to the end)")
    return p.parse_args(argv)


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def moving_average(decay: float):
    """An exponential moving average whose decay ramps up over the first steps,
    so that short runs are not dominated by the initial weights."""

    def update(averaged: torch.Tensor, current: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        d = min(decay, (1 + float(steps)) / (10 + float(steps)))
        return averaged * d + current * (1 - d)

    return update


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)


def probabilities(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Softmax over the eleven classes, ``[N,11]``."""
    model.eval()
    with torch.no_grad():
        return torch.cat([torch.softmax(model(images[s : s + 1000]), 1) for s in range(0, len(images), 1000)])


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, list[float], torch.Tensor]:
    """Accuracy of the most probable digit (the ten digits only), per digit, and P(not a digit)."""
    probs = probabilities(model, images)
    correct = probs[:, : models.NOT_A_DIGIT].argmax(1) == labels
    per_digit = [float(correct[labels == d].float().mean()) if (labels == d).any() else float("nan") for d in range(10)]
    return float(correct.float().mean()), per_digit, probs[:, models.NOT_A_DIGIT]


def draw_styles(images: np.ndarray, seed: int) -> list[tuple[canvas.Style, np.ndarray, np.ndarray]]:
    """``images`` drawn in each canvas style and put in MNIST form: (style, inputs, kept indices)."""
    rng = np.random.default_rng(seed)
    out = []
    for style in canvas.STYLES:
        inputs, kept = [], []
        for start in range(0, len(images), 256):
            ink = canvas.render(images[start : start + 256], style, rng)
            for i, one in enumerate(ink):
                try:
                    inputs.append(preprocess.to_mnist(one))
                    kept.append(start + i)
                except preprocess.EmptyDrawing:
                    pass
        out.append((style, np.stack(inputs), np.array(kept)))
    return out


def robustness(model: nn.Module, drawn, labels: np.ndarray, threshold: float) -> tuple[list[dict], np.ndarray]:
    """Accuracy on test digits drawn in each canvas style, after the serving normalisation,
    and P(not a digit) of all of them."""
    results, p_nots = [], []
    for style, inputs, kept in drawn:
        acc, _, p_not = evaluate(model, to_tensor(inputs), torch.from_numpy(labels[kept].astype(np.int64)))
        p_not = p_not.numpy()
        probs = probabilities(model, to_tensor(inputs))
        right = (probs[:, : models.NOT_A_DIGIT].argmax(1).numpy() == labels[kept]) & (p_not < threshold)
        # A drawing rejected as empty counts as wrong.
        acc = acc * len(kept) / len(labels)
        accepted = float(right.sum()) / len(labels)
        rejected = rejection.rate(p_not, threshold)
        results.append(
            {
                "style": canvas.describe(style),
                "samples": len(labels),
                "accuracy": round(acc, 4),
                "accuracy_with_rejection": round(accepted, 4),
                "rejected": round(rejected, 4),
            }
        )
        p_nots.append(p_not)
        print(
            f"  robustness {style.name:<40} {acc * 100:6.2f}%  (with rejection {accepted * 100:6.2f}%, "
            f"rejected {rejected * 100:5.2f}%)",
            flush=True,
        )
    return results, np.concatenate(p_nots)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    gen = seed_everything(args.seed)
    if args.download:
        idx.download(args.data)
    cache = args.cache or args.out.parent / "cache"
    data = idx.load_mnist(args.data)
    train_x, train_y = data.train_images, data.train_labels
    if args.limit_train:
        train_x, train_y = train_x[: args.limit_train], train_y[: args.limit_train]
    # The last --calibration training digits are held back for the rejection threshold.
    held = min(args.calibration, len(train_x) // 5)
    calib_x, calib_y = train_x[len(train_x) - held :], train_y[len(train_y) - held :]
    train_x, train_y = train_x[: len(train_x) - held], train_y[: len(train_y) - held]
    test_x, test_y = data.test_images, data.test_labels
    if args.limit_test:
        test_x, test_y = test_x[: args.limit_test], test_y[: args.limit_test]

    prepared = time.perf_counter()
    drawn_x = [mixing.canvas_digits(train_x, args.seed + 1000 * form, cache) for form in range(args.canvas_forms)]
    other_x = mixing.not_digits(args.nondigits, args.seed, cache) if args.nondigits else np.zeros((0, 28, 28), np.uint8)
    habit_x, habit_y = mixing.habit_digits(args.habits, args.seed + 4, cache)
    print(
        f"prepared {sum(map(len, drawn_x)):,} canvas-drawn digits, {len(habit_x):,} digits with writing habits "
        f"and {len(other_x):,} non-digit drawings in {time.perf_counter() - prepared:.0f}s",
        flush=True,
    )
    n = len(train_x)
    forms = 1 + len(drawn_x)
    pool = to_tensor(np.concatenate([train_x, *drawn_x, habit_x, other_x]))
    pool_labels = torch.from_numpy(
        np.concatenate([*[train_y] * forms, habit_y, np.full(len(other_x), models.NOT_A_DIGIT)]).astype(np.int64)
    )
    test_t, test_l = to_tensor(test_x), torch.from_numpy(test_y.astype(np.int64))
    per_epoch_others = int(round(args.nondigit_share * n)) if len(other_x) else 0
    per_epoch_habits = int(round(args.habit_share * n)) if len(habit_x) else 0
    epoch_size = n + per_epoch_habits + per_epoch_others

    model = models.build(args.arch)
    # The released weights: a moving average of the trained ones (batch-norm statistics included).
    averaged = (
        torch.optim.swa_utils.AveragedModel(model, avg_fn=moving_average(args.ema), use_buffers=True)
        if args.ema
        else None
    )
    aug_cfg = AugmentConfig(marker_p=args.marker)
    steps_per_epoch = (epoch_size + args.batch_size - 1) // args.batch_size
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.2
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    print(
        f"training {args.arch}: {models.count_parameters(model):,} parameters, "
        f"{models.count_macs(model):,} multiply-adds per image, {n:,} digits, {per_epoch_habits:,} digits "
        f"with writing habits and {per_epoch_others:,} non-digits per epoch, {args.epochs} epochs, "
        f"{torch.get_num_threads()} threads",
        flush=True,
    )

    run = checkpoint.Run(args.out / checkpoint.FILE, checkpoint.recipe(args, epoch_size))
    history: list[dict] = []
    first, trained_before = 1, 0.0
    if args.resume and run.path.exists():
        first, trained_before, history = run.load(model, averaged, optimiser, schedule, gen)
        print(f"resumed from {run.path} after epoch {first - 1} ({trained_before:.0f}s trained)", flush=True)
    started = time.perf_counter()
    last = args.epochs if not args.stop_after else min(args.epochs, first - 1 + args.stop_after)
    for epoch in range(first, last + 1):
        t0 = time.perf_counter()
        model.train()
        # Each digit in its MNIST form or one of its canvas-drawn forms, plus draws of
        # digits with writing habits and of non-digits.
        drawn = (torch.rand(n, generator=gen) < args.canvas_share).long()
        form = drawn * (1 + torch.randint(forms - 1, (n,), generator=gen)) if forms > 1 else drawn * 0
        digits = torch.arange(n) + form * n
        parts = [digits]
        if per_epoch_habits:
            parts.append(forms * n + torch.randint(len(habit_x), (per_epoch_habits,), generator=gen))
        if per_epoch_others:
            parts.append(forms * n + len(habit_x) + torch.randint(len(other_x), (per_epoch_others,), generator=gen))
        chosen = torch.cat(parts)
        order = chosen[torch.randperm(len(chosen), generator=gen)]
        total_loss, total_correct = 0.0, 0
        for step in range(steps_per_epoch):
            batch = order[step * args.batch_size : (step + 1) * args.batch_size]
            x, y = pool[batch], pool_labels[batch]
            if not args.no_augment:
                x = augment(x, gen, aug_cfg)
            logits = model(x)
            loss = loss_fn(logits, y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            if averaged is not None:
                averaged.update_parameters(model)
            total_loss += loss.item() * len(batch)
            total_correct += int((logits.argmax(1) == y).sum())
        test_acc, _, _ = evaluate(model, test_t, test_l)
        record = {
            "epoch": epoch,
            "loss": round(total_loss / len(order), 5),
            "train_accuracy": round(total_correct / len(order), 5),
            "test_accuracy": round(test_acc, 5),
        }
        if averaged is not None:
            record["test_accuracy_averaged"] = round(evaluate(averaged.module, test_t, test_l)[0], 5)
        record["seconds"] = round(time.perf_counter() - t0, 1)
        history.append(record)
        print(
            f"epoch {epoch:>3}/{args.epochs}  loss {record['loss']:.4f}  train {record['train_accuracy'] * 100:6.2f}%  "
            f"test {record['test_accuracy'] * 100:6.2f}%"
            + (f" (averaged {record['test_accuracy_averaged'] * 100:6.2f}%)" if averaged is not None else "")
            + f"  {record['seconds']:6.1f}s",
            flush=True,
        )
        run.save(epoch, trained_before + time.perf_counter() - started, history, model, averaged, optimiser, schedule, gen)
    train_seconds = trained_before + time.perf_counter() - started
    if last < args.epochs:
        print(f"stopped after epoch {last} of {args.epochs}; go on with --resume", flush=True)
        return
    if averaged is not None:
        model = averaged.module

    # The temperature, from digits and non-digits never trained on (it changes no answer).
    calib_drawn = [inputs for _, inputs, _ in draw_styles(calib_x, args.seed + 1)]
    calib_inputs = np.concatenate([calib_x, *calib_drawn])
    calib_labels = np.concatenate([calib_y] * (1 + len(calib_drawn)))
    calib_others = (
        nondigits.make("train", args.calibration_nondigits, args.seed + 5)[0]
        if args.calibration_nondigits
        else np.zeros((0, 28, 28), np.uint8)
    )
    temperature = 1.0
    if not args.no_temperature:
        model.eval()
        with torch.no_grad():
            fit_x = to_tensor(np.concatenate([calib_inputs, calib_others]))
            fit_logits = torch.cat([model(fit_x[s : s + 1000]) for s in range(0, len(fit_x), 1000)])
        fit_y = torch.from_numpy(
            np.concatenate([calib_labels, np.full(len(calib_others), models.NOT_A_DIGIT)]).astype(np.int64)
        )
        temperature = calibration.fit_temperature(fit_logits, fit_y)
        print(f"temperature {temperature:.4f} (from {len(fit_y):,} drawings never trained on)", flush=True)
    drawn_test = draw_styles(test_x[: min(args.robustness_samples, len(test_x))], args.seed) if args.robustness_samples else []
    drawn_inputs = np.concatenate([inputs for _, inputs, _ in drawn_test]) if drawn_test else test_x[:0]
    drawn_labels = np.concatenate([test_y[kept] for _, _, kept in drawn_test]) if drawn_test else test_y[:0]
    before = calibration.report(probabilities(model, to_tensor(drawn_inputs)).numpy(), drawn_labels, 1.0) if drawn_test else None
    calibration.fold(model, temperature)

    # The rejection threshold, from digits never trained on: plain and canvas-drawn.
    _, _, calib_p_not = evaluate(model, to_tensor(calib_inputs), torch.zeros(len(calib_inputs), dtype=torch.int64))
    threshold = rejection.calibrate(calib_p_not.numpy(), args.reject_target)
    print(f"rejection threshold {threshold} (from {len(calib_inputs):,} held-back digits)", flush=True)

    test_acc, per_digit, test_p_not = evaluate(model, test_t, test_l)
    test_p_not = test_p_not.numpy()
    test_probs = probabilities(model, test_t)
    accepted_acc = float(
        ((test_probs[:, :10].argmax(1) == test_l).numpy() & (test_p_not < threshold)).mean()
    )
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "model.onnx"
    export.export_onnx(model, onnx_path)
    torch.save(model.state_dict(), args.out / "model.pt")

    # The exported (BN-folded) graph must agree with PyTorch.
    check = test_x[:256]
    diff = float(np.abs(export.onnx_logits(onnx_path, check) - export.torch_logits(model, check)).max())
    print(f"onnxruntime vs PyTorch: max |logit difference| = {diff:.2e}", flush=True)
    onnx_acc = float((export.onnx_logits(onnx_path, test_x)[:, :10].argmax(1) == test_y).mean())
    golden_others = nondigits.make("train", max(1, args.golden // 8), args.seed + 2)[0]
    export.write_golden(
        model,
        np.concatenate([test_x[: args.golden], golden_others]),
        np.concatenate([test_y[: args.golden], np.full(len(golden_others), models.NOT_A_DIGIT)]),
        args.out / "golden.json",
    )

    robust, drawn_p_not = [], np.zeros(0)
    calibrated = None
    if drawn_test:
        samples = min(args.robustness_samples, len(test_x))
        robust, drawn_p_not = robustness(model, drawn_test, test_y[:samples], threshold)
        drawn_probs = probabilities(model, to_tensor(drawn_inputs)).numpy()
        calibrated = {
            "temperature": round(temperature, 5),
            "fitted_on": f"{len(calib_inputs)} held-back digits (plain and in every canvas style) and "
            f"{len(calib_others)} training-family non-digits, none trained on; folded into the last layer",
            "measured_on": "the robustness set: test digits drawn in every canvas style",
            "before": before,
            "after": calibration.report(drawn_probs, drawn_labels, 1.0),
            "after_with_rejection": calibration.report(drawn_probs, drawn_labels, threshold),
        }
        print(
            f"calibration (canvas digits): ECE {before['expected_calibration_error'] * 100:.2f}% -> "
            f"{calibrated['after']['expected_calibration_error'] * 100:.2f}%, median confidence of right answers "
            f"{calibrated['after_with_rejection']['median_confidence_right'] * 100:.2f}%",
            flush=True,
        )
    refused = reject_report(model, args, threshold, np.concatenate([test_p_not, drawn_p_not]))

    card = {
        "name": args.name,
        "version": args.version,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "architecture": {"candidate": args.arch, **models.CANDIDATES[args.arch]},
        "file": {"name": "model.onnx", "sha256": export.sha256(onnx_path), "bytes": onnx_path.stat().st_size},
        "golden": export.GOLDEN,
        "io": {
            "input": {"name": export.INPUT_NAME, "dtype": "float32", "shape": ["N", 1, 28, 28]},
            "output": {
                "name": export.OUTPUT_NAME,
                "dtype": "float32",
                "shape": ["N", models.CLASSES],
                "kind": "logits (apply softmax)",
            },
            "opset": export.OPSET,
        },
        "classes": [str(d) for d in range(10)] + ["not_a_digit"],
        "rejection": {
            "rule": "a drawing is not a digit when the softmax probability of class not_a_digit >= threshold",
            "threshold": threshold,
            "calibrated_on": f"{held} MNIST training digits held back from training, plain and in every canvas style "
            f"({len(calib_inputs)} images), at most {args.reject_target:.1%} of them rejected",
            **refused,
        },
        "normalisation": export.normalisation(),
        "preprocessing": preprocessing(),
        "metrics": {
            "test_samples": int(len(test_y)),
            "test_accuracy": round(test_acc, 6),
            "test_accuracy_with_rejection": round(accepted_acc, 6),
            "test_accuracy_onnxruntime": round(onnx_acc, 6),
            "per_digit_accuracy": [round(a, 6) for a in per_digit],
            "onnx_vs_pytorch_max_abs_logit_diff": diff,
            "robustness": robust,
            "calibration": calibrated,
        },
        "size": {
            "parameters": models.count_parameters(model),
            "multiply_adds_per_image": models.count_macs(model),
            "flops_per_image": 2 * models.count_macs(model),
        },
        "training": {
            "data": {
                "train_samples": int(len(train_y)),
                "calibration_samples": int(held),
                "canvas_share": args.canvas_share,
                "canvas_forms": args.canvas_forms,
                "not_a_digit_pool": int(len(other_x)),
                "not_a_digit_per_epoch": per_epoch_others,
                "not_a_digit_generators": sorted(nondigits.family("train")),
                "habit_digits_pool": int(len(habit_x)),
                "habit_digits_per_epoch": per_epoch_habits,
                "habits": sorted(habits.HABITS),
                "sha256": idx.checksums(args.data),
            },
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "optimizer": "AdamW",
            "lr_schedule": "one-cycle, 20% warm-up",
            "peak_lr": args.lr,
            "weight_decay": args.weight_decay,
            "label_smoothing": args.label_smoothing,
            "weights": f"moving average, decay {args.ema}" if args.ema else "last",
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


def preprocessing() -> dict:
    """The card's account of how drawings are put into MNIST form."""
    return {
        "procedure": "refuse a tap (ink box no larger than tap_side brush widths either way), "
        "crop to ink bounding box, thicken strokes thinner than stroke_width of the longer side, "
        "scale longer side to 20 px (area average), place in 28x28, shift centre of mass to the target",
        "box": preprocess.BOX,
        "size": preprocess.SIZE,
        "ink_threshold": preprocess.INK_THRESHOLD,
        "stroke_width": preprocess.STROKE_WIDTH,
        "stroke_ink": preprocess.STROKE_INK,
        "centre_of_mass_target_xy": list(preprocess.COM_TARGET),
        "tap_side": preprocess.TAP_SIDE,
    }


def reject_report(model: nn.Module, args: argparse.Namespace, threshold: float, digit_p_not: np.ndarray) -> dict:
    """How the threshold does on test digits (plain and drawn) and on held-out non-digits."""
    report: dict = {"test_digits": len(digit_p_not), "test_digits_rejected": round(rejection.rate(digit_p_not, threshold), 5)}
    if not args.held_out_nondigits:
        return report
    images, kinds = nondigits.make("held_out", args.held_out_nondigits, args.seed + 3)
    _, _, p_not = evaluate(model, to_tensor(images), torch.zeros(len(images), dtype=torch.int64))
    p_not = p_not.numpy()
    kinds_arr = np.array(kinds)
    per_kind = {k: round(rejection.rate(p_not[kinds_arr == k], threshold), 4) for k in sorted(set(kinds))}
    report.update(
        {
            "held_out_non_digits": len(images),
            "held_out_non_digits_rejected": round(rejection.rate(p_not, threshold), 5),
            "held_out_rejected_by_generator": per_kind,
            "curve": rejection.curve(digit_p_not, p_not, sorted(set(rejection.CURVE + [threshold]))),
        }
    )
    print(
        f"not a digit: held-out drawings rejected {report['held_out_non_digits_rejected'] * 100:.1f}%, "
        f"test digits rejected {report['test_digits_rejected'] * 100:.2f}%",
        flush=True,
    )
    for kind, r in per_kind.items():
        print(f"  {kind:<28} {r * 100:6.1f}%", flush=True)
    for point in report["curve"]:
        print(
            f"  threshold {point['threshold']:<6} digits rejected {point['digits_rejected'] * 100:6.2f}%  "
            f"non-digits rejected {point['non_digits_rejected'] * 100:6.1f}%",
            flush=True,
        )
    return report


if __name__ == "__main__":
    main()
