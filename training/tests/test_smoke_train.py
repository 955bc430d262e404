"""A one-epoch run on a small subset: trains, exports, reloads with
onnxruntime and checks the card, the golden fixture and PyTorch parity."""

import json

import numpy as np
import onnx
import torch

import pytest

from digits_training import checkpoint, evaluate, export, models, train


SMALL = [
    "--epochs", "2", "--limit-train", "1500", "--limit-test", "300", "--golden", "16", "--threads", "2",
    "--nondigits", "400", "--calibration", "300", "--habits", "200", "--calibration-nondigits", "100",
]


def test_smoke_run_trains_exports_and_matches_pytorch(tmp_path, mnist_dir, mnist):
    out = tmp_path / "run"
    common = ["--data", str(mnist_dir), "--arch", "strided", "--out", str(out), *SMALL, "--cache", str(tmp_path / "cache")]
    # Stopped after its first epoch, as a session's end stops a long run...
    train.main([*common, "--stop-after", "1", "--robustness-samples", "64", "--held-out-nondigits", "90"])
    assert (out / checkpoint.FILE).exists() and not (out / "model.onnx").exists()
    # ...and resumed where it stopped.
    train.main([*common, "--resume", "--robustness-samples", "64", "--held-out-nondigits", "90"])
    for name in ("model.onnx", "model.json", "golden.json", "model.pt"):
        assert (out / name).exists(), name
    # A run that never stopped ends with the very same weights.
    straight = tmp_path / "straight"
    train.main(
        [*common[:5], str(straight), *common[6:], "--robustness-samples", "0", "--held-out-nondigits", "0", "--golden", "2"]
    )
    resumed, whole = torch.load(out / "model.pt"), torch.load(straight / "model.pt")
    assert all(torch.equal(resumed[k], whole[k]) for k in whole), "resuming changed the training"
    # A checkpoint is not resumed by a run of another recipe.
    with pytest.raises(checkpoint.RecipeMismatch):
        train.main([*common, "--resume", "--lr", "0.001"])

    graph = onnx.load(str(out / "model.onnx"))
    onnx.checker.check_model(graph)
    assert graph.graph.input[0].name == "image"
    assert graph.graph.output[0].name == "logits"
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    assert not any(n.op_type == "BatchNormalization" for n in graph.graph.node), "BN is folded"

    model = models.build("strided")
    model.load_state_dict(torch.load(out / "model.pt"))
    images = mnist.test_images[:37]
    ours = export.torch_logits(model, images)
    theirs = export.onnx_logits(out / "model.onnx", images)
    assert theirs.shape == (37, 11)
    assert np.abs(ours - theirs).max() < 1e-4

    card = json.loads((out / "model.json").read_text())
    assert 0.5 < card["metrics"]["test_accuracy"] <= 1.0
    assert len(card["metrics"]["per_digit_accuracy"]) == 10
    assert card["normalisation"]["scale"] == 1 / 255
    assert card["size"]["multiply_adds_per_image"] == models.count_macs(model)
    assert len(card["training"]["data"]["sha256"]) == 4
    assert len(card["metrics"]["robustness"]) == 6
    assert card["classes"] == [str(d) for d in range(10)] + ["not_a_digit"]
    assert card["io"]["output"]["shape"] == ["N", 11]
    rejection = card["rejection"]
    assert 0 < rejection["threshold"] <= 1
    assert rejection["held_out_non_digits"] == 90
    assert set(rejection["held_out_rejected_by_generator"]) >= {"smileys", "scribbles"}
    assert [p["threshold"] for p in rejection["curve"]] == sorted(p["threshold"] for p in rejection["curve"])
    golden = json.loads((out / "golden.json").read_text())
    # 16 test digits, then 2 drawings that are not digits (label 10).
    assert len(golden["cases"]) == 18 and len(golden["cases"][0]["pixels"]) == 784
    assert [c["label"] for c in golden["cases"][16:]] == [10, 10]
    assert len(golden["cases"][0]["logits"]) == 11
    assert card["preprocessing"]["stroke_width"] == 0.1
    assert card["golden"] == export.GOLDEN, "the fixture a server checks the model against"
    assert card["training"]["weights"] == "moving average, decay 0.999"
    assert card["training"]["data"]["habit_digits_pool"] == 200
    assert [h["epoch"] for h in card["training"]["history"]] == [1, 2]
    calibrated = card["metrics"]["calibration"]
    assert calibrated["temperature"] > 0
    assert 0 <= calibrated["after"]["expected_calibration_error"] <= 1
    assert calibrated["after"]["accuracy"] == calibrated["before"]["accuracy"], "a temperature changes no answer"

    # Measured again with other sample counts: the card's figures change, its threshold does not.
    evaluate.main(["--data", str(mnist_dir), "--run", str(out), "--robustness-samples", "32", "--held-out-nondigits", "45"])
    again = json.loads((out / "model.json").read_text())
    assert [r["samples"] for r in again["metrics"]["robustness"]] == [32] * 6
    assert again["rejection"]["held_out_non_digits"] == 45
    assert again["rejection"]["threshold"] == rejection["threshold"]
    assert again["training"] == card["training"]


def test_candidates_have_the_documented_costs():
    # The figures in training/README.md's table.
    # With the eleventh class ("not a digit") in each head.
    assert models.count_macs(models.build("tiny")) == 508_384
    assert models.count_macs(models.build("small")) == 2_126_272
    assert models.count_macs(models.build("strided")) == 2_581_472
    assert models.count_parameters(models.build("strided")) == 87_155
    unpadded = models.build("unpadded")
    assert (models.count_macs(unpadded), models.count_parameters(unpadded)) == (1_715_840, 78_707)
    deep = models.build("deep")
    assert (models.count_macs(deep), models.count_parameters(deep)) == (10_305_696, 168_011)
    # No convolution pads: tract would run each padding as a copy of its own.
    assert all(m.padding == (0, 0) for m in unpadded.modules() if isinstance(m, torch.nn.Conv2d))
