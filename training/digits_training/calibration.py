"""Confidence that means what it says: temperature scaling and its measure.

A network trained with cross-entropy is often over- or under-confident: it
says "96 % sure" of answers that are right 99 % (or 90 %) of the time. One
temperature ``T`` divides every logit (Guo et al., "On Calibration of
Modern Neural Networks", 2017); it is fitted on drawings the model never
trained on by minimising their negative log-likelihood, and changes no
answer, only how sure each one is. ``fold`` bakes it into the last linear
layer, so the exported graph and every runtime (tract, onnxruntime, the
page) give calibrated logits with no extra operator.

``expected_calibration_error`` is the measure: answers grouped into bins of
confidence, the gap between each bin's mean confidence and its accuracy,
weighted by the bin's size.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

BINS = 15


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature that minimises the mean negative log-likelihood of ``labels``."""
    log_t = torch.zeros(1, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")
    loss_fn = nn.CrossEntropyLoss()

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = loss_fn(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimiser.step(closure)
    return float(log_t.detach().exp())


def fold(model: nn.Module, temperature: float) -> None:
    """Divides the model's last linear layer by ``temperature``, in place."""
    head = model.classifier
    with torch.no_grad():
        head.weight.div_(temperature)
        head.bias.div_(temperature)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS) -> float:
    """ECE over ``bins`` equal-width confidence bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(total)


def report(probs: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """Calibration of the digits a model accepts (P(not a digit) below ``threshold``):
    ECE, and the median confidence of its right and wrong answers."""
    digit = probs[:, :10].argmax(1)
    confidence = probs[:, :10].max(1)
    accepted = probs[:, 10] < threshold if probs.shape[1] > 10 else np.ones(len(probs), bool)
    correct = (digit == labels)[accepted]
    confidence = confidence[accepted]
    return {
        "samples": int(accepted.sum()),
        "expected_calibration_error": round(expected_calibration_error(confidence, correct.astype(float)), 5),
        "median_confidence_right": round(float(np.median(confidence[correct])), 5) if correct.any() else None,
        "median_confidence_wrong": round(float(np.median(confidence[~correct])), 5) if (~correct).any() else None,
        "accuracy": round(float(correct.mean()), 5),
    }
