"""What the model trains on besides plain MNIST, prepared once per run.

- **Canvas digits.** Every training digit is also drawn once as a browser
  canvas would show it (``canvas.TRAINING_STYLE``: random size, place,
  rotation and stroke width), once per ``--canvas-forms``, and put into MNIST
  form by the serving procedure. An epoch takes each digit in its MNIST form
  or one of its drawn forms, so the model sees the thin, thick and
  re-centred digits that people draw.
- **Writing habits.** Digits MNIST has few of (flagged 1s, crossed 7s,
  open 4s, straight-tailed 9s, thick-marker 1s), drawn by ``habits``; each
  epoch adds a random share of them.
- **Not a digit.** A pool of drawings from ``nondigits``'s training family,
  labelled ``models.NOT_A_DIGIT``; each epoch adds a random share of them.

Both pools are cached in ``--cache`` (keyed by their inputs), since making
them takes a minute or two and does not change between runs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from . import canvas, habits, nondigits, preprocess


def _cached(cache: Path | None, key: str, make) -> np.ndarray:
    if cache is None:
        return make()
    path = cache / f"{key}.npy"
    if path.exists():
        return np.load(path)
    data = make()
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, data)
    return data


def canvas_digits(images: np.ndarray, seed: int, cache: Path | None) -> np.ndarray:
    """Each of ``images`` (uint8 ``[N,28,28]``) drawn canvas-style and back in MNIST form.

    A drawing the serving procedure would reject as empty keeps its MNIST form.
    """
    settings = canvas.describe(canvas.TRAINING_STYLE) + preprocess.FINGERPRINT
    digest = hashlib.sha256(images.tobytes() + settings.encode()).hexdigest()[:16]

    def make() -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = images.copy()
        for start in range(0, len(images), 256):
            ink = canvas.render(images[start : start + 256], canvas.TRAINING_STYLE, rng)
            for i, one in enumerate(ink):
                try:
                    out[start + i] = preprocess.to_mnist(one)
                except preprocess.EmptyDrawing:
                    pass
        return out

    return _cached(cache, f"canvas-{digest}-{seed}", make)


def not_digits(count: int, seed: int, cache: Path | None) -> np.ndarray:
    """``count`` training-family drawings that are not digits, in MNIST form."""
    settings = preprocess.FINGERPRINT + ",".join(sorted(nondigits.family("train")))
    digest = hashlib.sha256(settings.encode()).hexdigest()[:8]
    return _cached(cache, f"nondigits-train-{count}-{seed}-{digest}", lambda: nondigits.make("train", count, seed)[0])


def habit_digits(count: int, seed: int, cache: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """``count`` digits drawn with writing habits (``habits``), in MNIST form, and their labels."""
    if not count:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
    settings = preprocess.FINGERPRINT + ",".join(sorted(habits.HABITS))
    digest = hashlib.sha256(settings.encode()).hexdigest()[:8]

    def make() -> np.ndarray:
        images, labels, _ = habits.make(count, seed)
        # Each row: the 784 pixels, then the label, so that one file holds both.
        return np.concatenate([images.reshape(count, -1), labels[:, None]], 1)

    both = _cached(cache, f"habits-{count}-{seed}-{digest}", make)
    return both[:, :-1].reshape(count, 28, 28), both[:, -1]
