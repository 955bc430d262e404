"""ONNX export, parity check, golden fixture and model card."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .models import MNIST_MEAN, MNIST_STD

OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
# The card's "golden": the fixture a server checks the model against before
# serving it, and how far its logits may be from PyTorch's.
GOLDEN = {"file": "golden.json", "max_abs_logit_diff": 0.001}


def fold_batch_norm(model: nn.Module) -> nn.Module:
    """Returns an eval-mode copy with every Conv2d+BatchNorm2d pair folded into one conv."""
    model = copy.deepcopy(model).eval()
    for parent in model.modules():
        if not isinstance(parent, nn.Sequential):
            continue
        children = list(parent.named_children())
        for (name, conv), (bn_name, bn) in zip(children, children[1:]):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(parent, name, fuse_conv_bn_eval(conv, bn))
                setattr(parent, bn_name, nn.Identity())
    return model


def export_onnx(model: nn.Module, path: Path) -> None:
    """Writes ``model`` as ONNX with a dynamic batch axis: ``image [N,1,28,28] -> logits [N,10]``."""
    folded = fold_batch_norm(model)
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(
        folded,
        (dummy,),
        str(path),
        dynamo=False,
        opset_version=OPSET,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAME: {0: "N"}},
        do_constant_folding=True,
    )


def onnx_logits(path: Path, images: np.ndarray, threads: int = 1) -> np.ndarray:
    """Runs the exported model in onnxruntime on uint8 ``[N,28,28]`` images."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    feed = (images.astype(np.float32) / 255.0)[:, None]
    return session.run([OUTPUT_NAME], {INPUT_NAME: feed})[0]


def torch_logits(model: nn.Module, images: np.ndarray) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
        return model(x).numpy()


def write_golden(model: nn.Module, images: np.ndarray, labels: np.ndarray, path: Path) -> None:
    """Writes the golden fixture: MNIST-form inputs with PyTorch's logits and softmax."""
    logits = torch_logits(model, images)
    probs = torch.softmax(torch.from_numpy(logits), 1).numpy()
    fixture = {
        "description": "MNIST test images (first N) with the PyTorch (eval, unfolded) outputs; "
        "the model input is pixel/255 as float32 NCHW.",
        "cases": [
            {
                "index": i,
                "label": int(labels[i]),
                "pixels": images[i].reshape(-1).tolist(),
                "logits": [float(v) for v in logits[i]],
                "probabilities": [float(v) for v in probs[i]],
            }
            for i in range(len(images))
        ],
    }
    path.write_text(json.dumps(fixture))


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def normalisation() -> dict:
    """The exact input contract, as written in the model card."""
    return {
        "input": "uint8 MNIST-form 28x28 (ink high, background 0), fed as float32 pixel * scale + offset",
        "scale": 1.0 / 255.0,
        "offset": 0.0,
        "in_graph": {
            "formula": "(x - mean) / std",
            "mean": MNIST_MEAN,
            "std": MNIST_STD,
        },
    }
