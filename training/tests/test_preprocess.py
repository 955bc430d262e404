import numpy as np
import pytest

from digits_training import canvas, preprocess


def test_mnist_digits_pass_through_almost_unchanged(mnist):
    same = sum(np.array_equal(preprocess.to_mnist(im / 255.0), im) for im in mnist.test_images[:500])
    assert same >= 375


def test_a_drawn_digit_is_fitted_and_centred(mnist):
    rng = np.random.default_rng(0)
    for style in canvas.STYLES:
        ink = canvas.render(mnist.test_images[:8], style, rng)
        for one in ink:
            out = preprocess.to_mnist(one).astype(float)
            rows = np.flatnonzero((out > 25).any(1))
            cols = np.flatnonzero((out > 25).any(0))
            assert max(len(rows), len(cols)) in (19, 20, 21), style.name
            ys, xs = np.indices(out.shape)
            assert abs((out * xs).sum() / out.sum() - 14) <= 1
            assert abs((out * ys).sum() / out.sum() - 14) <= 1


def test_an_empty_drawing_is_rejected():
    with pytest.raises(preprocess.EmptyDrawing):
        preprocess.to_mnist(np.zeros((280, 280)))
    speck = np.zeros((280, 280))
    speck[100, 100:103] = 1.0
    with pytest.raises(preprocess.EmptyDrawing):
        preprocess.to_mnist(speck)


def _disc(side: int, diameter: float) -> np.ndarray:
    ys, xs = np.indices((side, side)) + 0.5 - side / 2
    return (np.hypot(xs, ys) <= diameter / 2).astype(float)


def _on_canvas(mark: np.ndarray) -> np.ndarray:
    canvas_ = np.zeros((280, 280))
    h, w = mark.shape
    canvas_[100 : 100 + h, 100 : 100 + w] = mark
    return canvas_


def test_a_tap_is_too_small_to_read_as_the_rust_crate_decides():
    # The same shapes and answers as services/libs/preprocess/src/tap.rs's tests.
    with pytest.raises(preprocess.TooSmall):
        preprocess.to_mnist(_on_canvas(_disc(16, 16)))
    assert 32 <= preprocess.brush_width(_disc(40, 40) > 0) <= 40
    assert preprocess.brush_width(np.ones((6, 30), bool)) == 6
    assert preprocess.brush_width(np.ones((30, 6), bool)) == 6
    for h, w, tap in [(24, 12, False), (6, 30, False), (10, 14, True), (10, 16, False)]:
        assert preprocess.is_tap(np.ones((h, w), bool)) == tap, (h, w)
        if not tap:
            preprocess.to_mnist(_on_canvas(np.ones((h, w))))
    ring = _disc(36, 36) - _disc(36, 24)
    assert preprocess.brush_width(ring > 0) < 12 and not preprocess.is_tap(ring > 0)


def test_area_weights_sum_to_one():
    for src, dst in [(100, 20), (20, 20), (5, 20), (1, 7)]:
        assert np.allclose(preprocess._axis_weights(src, dst).sum(1), 1.0)


def test_thin_strokes_are_thickened_to_mnist_width(mnist):
    rng = np.random.default_rng(1)
    digits = mnist.test_images[:50]
    fine = canvas.render(digits, canvas.Style("thin", edge=(0.72, 0.72)), rng)
    usual = canvas.render(digits, canvas.Style("usual", edge=(0.45, 0.45)), rng)
    mass = lambda inks: np.mean([preprocess.to_mnist(one).astype(float).sum() for one in inks])  # noqa: E731
    # Without thickening a fine pen leaves about half the ink of a usual one.
    assert mass(fine) > 0.85 * mass(usual)
    # Strokes as wide as MNIST's are left alone.
    bar = np.zeros((40, 6))
    bar[:, 1:5] = 1.0
    assert preprocess.stroke_radius(bar) == 0
    assert preprocess.thicken(bar) is bar
    # A hairline 200 px tall is dilated to a tenth of its height.
    line = np.zeros((200, 3))
    line[:, 1] = 1.0
    assert preprocess.stroke_radius(line) == 10
    assert preprocess.thicken(line).shape == (220, 23)
