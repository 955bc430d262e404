"""Fine-tunes a served model version on the users' labelled drawings and writes
the next version, with its lineage, if it passes the gate.

    python -m digits_training.retrain --data ../../shared/data/mnist \\
        --labels http://127.0.0.1:8080 --parent ../services/inference/models/mnist/2.0.0 \\
        --out runs/2.1.0 --publish /models

1. **Labels** (``feedback.read``): the gateway's ``/api/admin/export`` (the
   logging service's ``ExportLabeled``; set ``DIGITS_ADMIN_TOKEN``) or a file
   saved from it. Flooding identities are dropped (``--abuse-min-labels``,
   ``--abuse-top-share``), and ``--holdout`` of the identities are held out.
2. **Fine-tune** from the parent version's ONNX weights (checked to reproduce
   the parent's golden fixture first): each epoch is ``--epoch-samples``
   drawings, ``--user-share`` of them the users' (drawn with replacement), the
   rest MNIST training digits, plus ``--nondigit-share`` drawings that are not
   digits so the model keeps that class.
3. **Evaluate** child and parent on the 10,000 MNIST test digits and on the
   held-out users' drawings, per class.
4. **Gate**: the child is refused if its MNIST test accuracy is below
   ``--min-mnist-accuracy`` (99.5%), or if on the held-out drawings it is
   worse than the parent beyond noise: among the drawings exactly one of the
   two reads right, the parent's share is tested against a fair coin (exact
   one-sided sign test, McNemar's) and a p-value below ``--alpha`` (0.05)
   refuses. Too few held-out drawings (``--min-holdout``) refuse as well,
   since nothing could be said.
5. **Write** ``model.onnx``, ``golden.json`` and ``model.json`` (the card, with
   ``lineage``) to ``--out``; with ``--publish REPOSITORY`` and a passed gate,
   publish the version there (copied aside, then renamed into place).

Exit status: 0 published (or written, without ``--publish``), 2 refused by the gate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from . import export, feedback, idx, mixing, models

RELEASES = Path(__file__).resolve().parents[2] / "services" / "inference" / "models" / "mnist"
GOLDEN_CASES = 64


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder with the four MNIST IDX .gz files")
    p.add_argument("--labels", required=True, help="gateway URL (with DIGITS_ADMIN_TOKEN) or a saved export file")
    p.add_argument("--parent", type=Path, default=None, help="version folder to fine-tune (default: the newest release in the repository's source tree)")
    p.add_argument("--out", type=Path, required=True, help="folder for model.onnx, model.json, golden.json")
    p.add_argument("--version", default=None, help="the new version (default: the parent's next minor version)")
    p.add_argument("--publish", type=Path, default=None, help="model repository to publish to if the gate passes")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--epoch-samples", type=int, default=20000, help="drawings per epoch, users' and MNIST together")
    p.add_argument("--user-share", type=float, default=0.3, help="share of each epoch drawn from the users' drawings")
    p.add_argument("--nondigit-share", type=float, default=0.1, help="not-a-digit drawings added per epoch, as a share of it")
    p.add_argument("--nondigits", type=int, default=3000, help="not-a-digit drawings in the pool")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-4, help="AdamW learning rate, cosine-decayed to 0")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.05)
    p.add_argument("--holdout", type=float, default=0.2, help="share of the identities held out for evaluation")
    p.add_argument("--min-holdout", type=int, default=20, help="fewest held-out drawings the gate can judge on")
    p.add_argument("--abuse-min-labels", type=int, default=50, help="labels from which an identity is screened")
    p.add_argument("--abuse-top-share", type=float, default=0.6, help="share of one class that marks an identity as flooding")
    p.add_argument("--min-mnist-accuracy", type=float, default=0.995)
    p.add_argument("--alpha", type=float, default=0.05, help="significance of the held-out regression test")
    p.add_argument("--seed", type=int, default=20261203)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.add_argument("--cache", type=Path, default=None, help="folder for the not-a-digit pool (default: <out>/../cache)")
    return p.parse_args(argv)


def newest_release() -> Path:
    versions = [p for p in RELEASES.iterdir() if (p / "model.json").exists()]
    return max(versions, key=lambda p: tuple(int(x) for x in p.name.split(".")))


def next_minor(version: str) -> str:
    major, minor, *_ = (int(x) for x in version.split("-")[0].split("."))
    return f"{major}.{minor + 1}.0"


def load_parent(folder: Path) -> tuple[nn.Module, dict]:
    """The parent version as a trainable PyTorch model (its architecture with
    batch norm folded, as exported), with the ONNX file's weights, checked to
    reproduce its golden fixture."""
    card = json.loads((folder / "model.json").read_text())
    model = export.fold_batch_norm(models.build(card["architecture"]["candidate"]))
    graph = onnx.load(str(folder / "model.onnx")).graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    nodes = [n for n in graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    if len(nodes) != len(layers):
        raise SystemExit(f"{folder}: {len(nodes)} weighted ONNX nodes for {len(layers)} layers of the architecture")
    for layer, node in zip(layers, nodes):
        weight, bias = weights[node.input[1]], weights[node.input[2]] if len(node.input) > 2 else None
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        transposed = node.op_type == "MatMul" or (node.op_type == "Gemm" and trans_b == 0)
        if isinstance(layer, nn.Linear) and transposed:
            weight = weight.T
        if tuple(weight.shape) != tuple(layer.weight.shape) or bias is None:
            raise SystemExit(f"{folder}: ONNX node {node.name} does not fit {layer}")
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(np.array(weight, dtype=np.float32)))
            layer.bias.copy_(torch.from_numpy(np.array(bias, dtype=np.float32)))
    # Folding leaves the fused weights frozen; fine-tuning trains them all.
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    golden = json.loads((folder / card["golden"]["file"]).read_text())["cases"]
    images = np.array([c["pixels"] for c in golden], dtype=np.uint8).reshape(-1, 28, 28)
    diff = float(np.abs(export.torch_logits(model, images) - np.array([c["logits"] for c in golden])).max())
    if diff > card["golden"]["max_abs_logit_diff"]:
        raise SystemExit(f"{folder}: the loaded weights miss the golden fixture by {diff:.2e}")
    return model, card


def classify(model: nn.Module, images: np.ndarray, threshold: float) -> np.ndarray:
    """What serving answers for each image: 10 when P(not a digit) >= threshold, else the likeliest digit."""
    logits = export.torch_logits(model, images) if len(images) else np.zeros((0, models.CLASSES))
    probs = torch.softmax(torch.from_numpy(logits), 1).numpy()
    digits = probs[:, : models.NOT_A_DIGIT].argmax(1)
    return np.where(probs[:, models.NOT_A_DIGIT] >= threshold, models.NOT_A_DIGIT, digits)


def mnist_accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> tuple[float, list[float]]:
    """Accuracy of the likeliest digit (as the card's test_accuracy), overall and per digit."""
    right = export.torch_logits(model, images)[:, : models.NOT_A_DIGIT].argmax(1) == labels
    return float(right.mean()), [round(float(right[labels == d].mean()), 6) for d in range(10)]


def sign_test(parent_only: int, child_only: int) -> float:
    """P(parent_only or more of the discordant drawings go the parent's way | a fair coin)."""
    n = parent_only + child_only
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(parent_only, n + 1)) / 2**n


def per_class(predicted: np.ndarray, labels: np.ndarray) -> dict[str, dict]:
    names = [str(d) for d in range(10)] + ["not_a_digit"]
    return {
        names[c]: {"samples": int((labels == c).sum()), "accuracy": round(float((predicted[labels == c] == c).mean()), 4)}
        for c in range(models.CLASSES)
        if (labels == c).any()
    }


def epoch_indices(rng: np.random.Generator, args: argparse.Namespace, users: int, mnist: int, others: int):
    n_user = round(args.epoch_samples * args.user_share) if users else 0
    n_mnist = args.epoch_samples - n_user
    n_other = round(args.epoch_samples * args.nondigit_share) if others else 0
    return (
        rng.integers(0, users, n_user) if n_user else np.zeros(0, np.int64),
        rng.choice(mnist, min(n_mnist, mnist), replace=False),
        rng.choice(others, min(n_other, others), replace=False) if n_other else np.zeros(0, np.int64),
    )


def fine_tune(model: nn.Module, args: argparse.Namespace, user_x, user_y, mnist_x, mnist_y, other_x) -> float:
    rng = np.random.default_rng(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil((args.epoch_samples + round(args.epoch_samples * args.nondigit_share)) / args.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, args.epochs * steps_per_epoch))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    started = time.perf_counter()
    for epoch in range(args.epochs):
        u, m, o = epoch_indices(rng, args, len(user_y), len(mnist_y), len(other_x))
        x = np.concatenate([user_x[u], mnist_x[m], other_x[o]])
        y = np.concatenate([user_y[u], mnist_y[m], np.full(len(o), models.NOT_A_DIGIT)])
        order = torch.randperm(len(y), generator=generator)
        xs, ys = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)[order], torch.from_numpy(y)[order]
        model.train()
        total = 0.0
        for start in range(0, len(ys), args.batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(xs[start : start + args.batch_size]), ys[start : start + args.batch_size])
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(ys[start : start + args.batch_size])
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / len(ys):.4f} ({len(u)} users', {len(m)} MNIST, {len(o)} other)", flush=True)
    model.eval()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    parent_dir = args.parent or newest_release()
    parent, parent_card = load_parent(parent_dir)
    child = export.fold_batch_norm(parent)
    version = args.version or next_minor(parent_card["version"])
    threshold = parent_card["rejection"]["threshold"]

    labelled = feedback.read(args.labels)
    screened = feedback.screen(labelled, args.abuse_min_labels, args.abuse_top_share)
    train_users, held, split_how = feedback.split(screened.kept, args.holdout, args.seed)
    print(
        f"{len(labelled)} labelled drawings from {labelled.identities()} identities; {screened.excluded} screened out "
        f"({screened.excluded_identities} identities); {len(train_users)} to train on, {len(held)} held out ({split_how})",
        flush=True,
    )
    mnist = idx.load_mnist(args.data)
    cache = args.cache or args.out.parent / "cache"
    others = mixing.not_digits(args.nondigits, args.seed, cache) if args.nondigits else np.zeros((0, 28, 28), np.uint8)
    seconds = fine_tune(
        child, args, train_users.inputs, train_users.labels, mnist.train_images, mnist.train_labels.astype(np.int64), others
    )

    mnist_child, per_digit = mnist_accuracy(child, mnist.test_images, mnist.test_labels)
    mnist_parent, _ = mnist_accuracy(parent, mnist.test_images, mnist.test_labels)
    child_held = classify(child, held.inputs, threshold)
    parent_held = classify(parent, held.inputs, threshold)
    child_right, parent_right = child_held == held.labels, parent_held == held.labels
    parent_only, child_only = int((parent_right & ~child_right).sum()), int((child_right & ~parent_right).sum())
    p_value = sign_test(parent_only, child_only)
    reasons = []
    if mnist_child < args.min_mnist_accuracy:
        reasons.append(f"MNIST test accuracy {mnist_child:.4f} is below {args.min_mnist_accuracy}")
    if len(held) < args.min_holdout:
        reasons.append(f"{len(held)} held-out drawings are fewer than {args.min_holdout}: nothing can be said")
    elif p_value < args.alpha:
        reasons.append(
            f"worse than {parent_card['version']} on the held-out drawings: {parent_only} read right only by the parent, "
            f"{child_only} only by the child (p = {p_value:.3g} < {args.alpha})"
        )

    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "model.onnx"
    export.export_onnx(child, onnx_path)
    check = mnist.test_images[:256]
    diff = float(np.abs(export.onnx_logits(onnx_path, check) - export.torch_logits(child, check)).max())
    if diff > 1e-4:
        raise SystemExit(f"the exported graph differs from PyTorch by {diff:.2e}")
    golden_x = np.concatenate([mnist.test_images[:GOLDEN_CASES], held.inputs[:8]])
    golden_y = np.concatenate([mnist.test_labels[:GOLDEN_CASES], held.labels[:8]])
    export.write_golden(child, golden_x, golden_y, args.out / "golden.json")

    card = {key: value for key, value in parent_card.items() if key not in ("training", "lineage")}
    card.update(
        version=version,
        created=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        file={"name": "model.onnx", "sha256": export.sha256(onnx_path), "bytes": onnx_path.stat().st_size},
        golden=export.GOLDEN,
    )
    card["rejection"] = {**parent_card["rejection"], "inherited_from": parent_card["version"]}
    card["metrics"] = {
        "test_samples": int(len(mnist.test_labels)),
        "test_accuracy": round(mnist_child, 6),
        "per_digit_accuracy": per_digit,
        "onnx_vs_pytorch_max_abs_logit_diff": diff,
    }
    card["lineage"] = {
        "parent": {"version": parent_card["version"], "sha256": parent_card["file"]["sha256"]},
        "command": " ".join(["python", "-m", "digits_training.retrain", *(argv if argv is not None else sys.argv[1:])]),
        "data": {
            "mnist": {
                "sha256": idx.checksums(args.data),
                "train_pool": int(len(mnist.train_labels)),
                "per_epoch": args.epoch_samples - round(args.epoch_samples * args.user_share) * bool(len(train_users)),
            },
            "users": {
                "source": args.labels if args.labels.startswith("http") else Path(args.labels).name,
                "labelled": len(labelled),
                "identities": labelled.identities(),
                "screened_out": screened.excluded,
                "screened_out_identities": screened.excluded_identities,
                "screening_rule": f"an identity with >= {args.abuse_min_labels} labels, >= {args.abuse_top_share:.0%} "
                "of them one class, is dropped",
                "train": len(train_users),
                "train_identities": train_users.identities(),
                "train_sha256": train_users.checksum(),
                "held_out": len(held),
                "held_out_identities": held.identities(),
                "held_out_sha256": held.checksum(),
                "split": f"{args.holdout:.0%} held out {split_how}",
            },
            "not_a_digit_per_epoch": round(args.epoch_samples * args.nondigit_share) if len(others) else 0,
        },
        "fine_tune": {
            "epochs": args.epochs,
            "epoch_samples": args.epoch_samples,
            "user_share": args.user_share,
            "batch_size": args.batch_size,
            "optimizer": "AdamW, cosine decay",
            "lr": args.lr,
            "weight_decay": args.weight_decay,
            "label_smoothing": args.label_smoothing,
            "seed": args.seed,
            "seconds": round(seconds, 1),
            "threads": torch.get_num_threads(),
            "machine": platform.machine(),
            "torch": torch.__version__,
        },
        "evaluation": {
            "mnist_test": {"accuracy": round(mnist_child, 6), "parent_accuracy": round(mnist_parent, 6)},
            "held_out_users": {
                "samples": len(held),
                "accuracy": round(float(child_right.mean()), 4) if len(held) else None,
                "parent_accuracy": round(float(parent_right.mean()), 4) if len(held) else None,
                "per_class": per_class(child_held, held.labels),
                "parent_per_class": per_class(parent_held, held.labels),
                "right_only_by_parent": parent_only,
                "right_only_by_child": child_only,
                "sign_test_p": round(p_value, 6),
            },
        },
        "gate": {
            "passed": not reasons,
            "rules": [
                f"MNIST test accuracy >= {args.min_mnist_accuracy}",
                f"at least {args.min_holdout} held-out drawings",
                f"not worse than the parent on them: one-sided sign test over the drawings only one reads right, p >= {args.alpha}",
            ],
            "refused_because": reasons,
        },
    }
    (args.out / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    print(
        f"{version}: MNIST test {mnist_child:.4f} (parent {mnist_parent:.4f}); held-out users "
        f"{card['lineage']['evaluation']['held_out_users']['accuracy']} "
        f"(parent {card['lineage']['evaluation']['held_out_users']['parent_accuracy']}); fine-tune {seconds:.1f}s",
        flush=True,
    )
    if reasons:
        print("refused by the gate: " + "; ".join(reasons), file=sys.stderr, flush=True)
        return 2
    if args.publish:
        print(f"published {publish(args.out, args.publish, card)}", flush=True)
    return 0


def publish(folder: Path, repository: Path, card: dict) -> Path:
    """Copies the version into ``repository/<name>/<version>``: aside first, then renamed into place."""
    models_dir = repository / card["name"]
    models_dir.mkdir(parents=True, exist_ok=True)
    staging, target = models_dir / f".{card['version']}.partial", models_dir / card["version"]
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for name in ("model.onnx", "model.json", "golden.json"):
        shutil.copy2(folder / name, staging / name)
    if target.exists():
        old = models_dir / f".{card['version']}.old"
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old)
    else:
        staging.rename(target)
    return target


if __name__ == "__main__":
    sys.exit(main())
