"""The "not a digit" decision: a threshold on the model's eleventh probability.

A drawing is rejected when ``P(not a digit) >= threshold``. The threshold is
calibrated on digits the model never trained on (a held-back slice of MNIST's
training set, plain and drawn in every canvas style): the largest rejection
of non-digits is bought with at most ``target`` of those digits rejected.
It is then measured, never tuned, on the MNIST test digits in every canvas
style and on the held-out family of non-digit drawings.
"""

from __future__ import annotations

import numpy as np

# Thresholds reported in the trade-off curve.
CURVE = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]


def calibrate(digit_p_not: np.ndarray, target: float) -> float:
    """The lowest threshold that rejects at most ``target`` of the digits."""
    ordered = np.sort(digit_p_not)[::-1]
    allowed = int(np.floor(target * len(ordered)))
    # Rejecting exactly the `allowed` most doubtful digits: the threshold sits
    # just above the next one. Rounded up to 1e-3 so the card reads cleanly.
    above = ordered[allowed] if allowed < len(ordered) else 0.0
    return round(min(1.0, float(np.ceil((float(above) + 1e-6) * 1000)) / 1000), 3)


def rate(p_not: np.ndarray, threshold: float) -> float:
    """The share rejected at ``threshold``."""
    return float((p_not >= threshold).mean()) if len(p_not) else float("nan")


def curve(digit_p_not: np.ndarray, other_p_not: np.ndarray, thresholds: list[float]) -> list[dict]:
    """Digits rejected against non-digits rejected, per threshold."""
    return [
        {"threshold": t, "digits_rejected": round(rate(digit_p_not, t), 5), "non_digits_rejected": round(rate(other_p_not, t), 5)}
        for t in thresholds
    ]
