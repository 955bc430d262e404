"""The drawings that are not digits, the rejection threshold, and the held-out recognition set."""

import json

import numpy as np

from digits_training import nondigits, recognition_set, rejection


def test_both_families_make_mnist_form_drawings_and_share_no_generator():
    train, held_out = nondigits.family("train"), nondigits.family("held_out")
    assert not set(train) & set(held_out), "the held-out figure must come from other generators"
    for name in ("train", "held_out"):
        images, kinds = nondigits.make(name, 40, seed=1)
        assert images.shape == (40, 28, 28) and images.dtype == np.uint8
        assert set(kinds) <= set(nondigits.family(name))
        # MNIST form: the ink's longer side fits the 20-pixel box.
        for image in images:
            rows, cols = np.flatnonzero((image > 25).any(1)), np.flatnonzero((image > 25).any(0))
            assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21
        assert (images.reshape(40, -1).max(1) > 200).all()


def test_letters_that_read_as_digits_are_left_out():
    for letter in "ODQIlijZzSsbGBgq":
        assert letter not in nondigits.LETTERS


def test_the_threshold_rejects_at_most_the_target_share_of_digits():
    rng = np.random.default_rng(3)
    p_not = rng.beta(0.5, 20, size=10_000)
    for target in (0.001, 0.005, 0.01):
        t = rejection.calibrate(p_not, target)
        assert rejection.rate(p_not, t) <= target
        # ... and not far below it: the next lower threshold step rejects more.
        assert rejection.rate(p_not, t - 0.002) > rejection.rate(p_not, t) or t <= 0.002
    curve = rejection.curve(p_not, rng.uniform(size=100), [0.1, 0.5, 0.9])
    assert [c["digits_rejected"] for c in curve] == sorted((c["digits_rejected"] for c in curve), reverse=True)


def test_the_recognition_set_indexes_every_drawing(tmp_path, mnist_dir):
    recognition_set.main(
        [
            "--data", str(mnist_dir), "--out", str(tmp_path), "--digits", "2", "--numbers", "2", "--non-digits", "9",
            "--first-touches", "8",
        ]
    )
    index = json.loads((tmp_path / "index.json").read_text())["drawings"]
    size = (tmp_path / "drawings.bin").stat().st_size
    assert len(index) == 2 * 6 + 2 * 3 + 9 + 8
    assert all(d["expected"] == "" for d in index if d["kind"].startswith("first-touch"))
    assert sum(d["width"] * d["height"] for d in index) == size
    numbers = [d for d in index if d["kind"].startswith("number-")]
    assert all(len(d["expected"]) == int(d["kind"][-1]) for d in numbers)
    assert all(d["expected"] == "" for d in index if d["kind"].startswith("not-a-digit"))
