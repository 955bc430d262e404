"""The retraining from feedback: screening, the split by person, the gate's
test, loading a served version's ONNX weights, and small real runs that
publish a passing child and refuse a broken one."""

import json

import numpy as np
import pytest

from digits_training import export, feedback, retrain, synthetic_users


def rows(owners_labels):
    return [
        json.dumps({"id": i + 1, "owner": owner, "true_label": label, "input": [i % 256] * 784})
        for i, (owner, label) in enumerate(owners_labels)
    ]


def test_an_identity_flooding_one_label_is_screened_out_and_people_drawing_in_turn_are_not():
    people = [(f"v:{p}", d) for p in range(5) for d in range(10)] * 6  # 60 labels each, a tenth per class
    flood = [("v:flood", 7)] * 45 + [("v:flood", d) for d in range(10)] * 2  # 65 labels, 72% "7"
    few = [("v:few", 7)] * 10  # one class, but only 10 labels
    examples = feedback.parse(rows(people + flood + few))
    screened = feedback.screen(examples, min_labels=50, top_share=0.6)
    assert (screened.excluded, screened.excluded_identities) == (65, 1)
    assert "v:flood" not in screened.kept.owners and "v:few" in screened.kept.owners
    assert len(screened.kept) == len(examples) - 65


def test_the_split_keeps_each_person_on_one_side_and_falls_back_to_drawings():
    examples = feedback.parse(rows([(f"v:{p}", p % 10) for p in range(40)] * 5))
    train, held, how = feedback.split(examples, 0.25, seed=1)
    assert how == "by identity"
    assert set(train.owners).isdisjoint(held.owners)
    assert 0 < len(held) < len(examples) and len(train) + len(held) == len(examples)
    assert feedback.split(examples, 0.25, seed=1)[1].checksum() == held.checksum(), "deterministic"
    two = feedback.parse(rows([("v:a", 1), ("v:b", 2)] * 3))
    train, held, _ = feedback.split(two, 0.01, seed=1)
    assert len(train) == 3 and len(held) == 3, "both sides get someone"
    anonymous = feedback.parse(rows([("", d % 10) for d in range(200)]))
    train, held, how = feedback.split(anonymous, 0.25, seed=1)
    assert how.startswith("by drawing") and 20 < len(held) < 80


def test_the_sign_test_tells_a_regression_from_noise():
    assert retrain.sign_test(0, 0) == 1.0
    assert retrain.sign_test(5, 0) == pytest.approx(1 / 32)
    assert retrain.sign_test(6, 4) > 0.3, "6 against 4 is noise"
    assert retrain.sign_test(15, 3) < 0.01, "15 against 3 is not"
    assert retrain.sign_test(2, 9) > 0.95


def test_a_served_version_loads_as_a_trainable_model_that_reproduces_its_fixture():
    parent, card = retrain.load_parent(retrain.newest_release())
    assert card["version"] == "2.0.0" and retrain.next_minor(card["version"]) == "2.1.0"
    assert all(p.requires_grad for p in parent.parameters())
    assert not any("BatchNorm" in type(m).__name__ for m in parent.modules()), "as exported: batch norm folded"


@pytest.fixture(scope="module")
def labels(tmp_path_factory, mnist_dir):
    path = tmp_path_factory.mktemp("labels") / "labels.ndjson"
    synthetic_users.main(
        ["--data", str(mnist_dir), "--count", "300", "--identities", "30", "--flood", "60", "--out", str(path)]
    )
    return path


def run(tmp_path, mnist_dir, labels, *extra):
    out, repository = tmp_path / "runs" / "2.1.0", tmp_path / "repository"
    status = retrain.main(
        [
            "--data", str(mnist_dir), "--labels", str(labels), "--out", str(out), "--publish", str(repository),
            "--epochs", "1", "--epoch-samples", "2000", "--nondigits", "300", "--threads", "2",
            "--cache", str(tmp_path / "cache"), "--min-mnist-accuracy", "0.99", *extra,
        ]
    )
    return status, out, repository / "digits-mnist-cnn" / "2.1.0"


def test_a_fine_tune_that_passes_the_gate_is_published_with_its_lineage(tmp_path, mnist_dir, labels):
    status, out, published = run(tmp_path, mnist_dir, labels)
    assert status == 0
    for name in ("model.onnx", "model.json", "golden.json"):
        assert (published / name).read_bytes() == (out / name).read_bytes(), name
    card = json.loads((published / "model.json").read_text())
    assert card["version"] == "2.1.0" and card["golden"] == export.GOLDEN
    assert card["file"]["sha256"] == export.sha256(published / "model.onnx")
    lineage = card["lineage"]
    assert lineage["parent"]["version"] == "2.0.0"
    users = lineage["data"]["users"]
    assert (users["labelled"], users["screened_out"], users["screened_out_identities"]) == (360, 60, 1)
    assert users["train"] + users["held_out"] == 300 and users["held_out"] >= 20
    assert len(lineage["data"]["mnist"]["sha256"]) == 4
    assert "--labels" in lineage["command"]
    held = lineage["evaluation"]["held_out_users"]
    assert held["samples"] == users["held_out"] and 0.8 < held["accuracy"] <= 1.0
    assert sum(c["samples"] for c in held["per_class"].values()) == held["samples"]
    assert lineage["gate"]["passed"] and card["metrics"]["test_accuracy"] >= 0.99
    assert len(card["metrics"]["per_digit_accuracy"]) == 10
    golden = json.loads((published / "golden.json").read_text())
    assert len(golden["cases"]) == retrain.GOLDEN_CASES + 8


def test_a_fine_tune_that_breaks_the_model_is_refused_and_not_published(tmp_path, mnist_dir, labels):
    status, out, published = run(tmp_path, mnist_dir, labels, "--lr", "0.5")
    assert status == 2
    assert not published.exists()
    card = json.loads((out / "model.json").read_text())
    assert not card["lineage"]["gate"]["passed"]
    assert any("MNIST test accuracy" in reason for reason in card["lineage"]["gate"]["refused_because"])
