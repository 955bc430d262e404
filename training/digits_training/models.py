"""Candidate CNNs for Digits and a multiply-add counter.

Every candidate takes ``image``: float ``[N,1,28,28]`` with pixel/255 (ink high)
and returns ``logits`` ``[N,11]``: digits 0-9 and "not a digit" (class 10). The MNIST mean/std normalisation is the
first op of ``forward`` so that it is baked into the exported graph.

The candidates trade cost in tract for accuracy (see training/README.md for
the measured table):

- ``tiny``:   8-16-32 channels, 3x3 convs, global average pool.
- ``small``:  16-32-64 channels, 5x5 stem, 3x3 convs, 3x3 pooled map + linear.
- ``strided``: no pooling at all; four convolutions, three of them with
  stride 2 (24-48-64-64 channels). tract's max pooling and its
  small-K stem convolution are slow, so this layout is the one tract
  runs fastest for its accuracy.
- ``unpadded``: ``strided``'s channels with no zero padding anywhere
  (28 -> 12 -> 10 -> 4 -> 2). tract runs every padded convolution as a
  separate Pad copy before its matrix product (a third of the model's time
  in ``strided``), while onnxruntime pads inside its convolution; MNIST's
  4-pixel empty border makes the padding worth nothing. A third faster in
  tract and as accurate on MNIST, but worse at telling drawn digits from
  non-digits, so not released (training/README.md has the figures).
- ``deep``: the second generation (2.0.0). Seven unpadded 3x3
  convolutions in three stages of 32, 64 and 96 channels, two of them with
  stride 2 (28 -> 26 -> 24 -> 11 -> 9 -> 7 -> 3 -> 1), batch norm after
  each, dropout after each stage, then a linear head: about 10 M
  multiply-adds and 167k parameters, four times ``strided``'s cost. The
  server reads one image per stored drawing now (drafts are read in the
  page), so a model may cost this much; 167k float32 weights keep the page's
  download under 1 MB with the app.
"""

from __future__ import annotations

import torch
from torch import nn

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
# Digits 0-9, then "not a digit".
CLASSES = 11
NOT_A_DIGIT = 10


def _block(cin: int, cout: int, kernel: int = 3, stride: int = 1, padding: int | None = None) -> list[nn.Module]:
    padding = kernel // 2 if padding is None else padding
    conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
    return [conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class DigitNet(nn.Module):
    """Three conv stages with 2x2 max pooling between them, then a linear head."""

    def __init__(self, widths: tuple[int, int, int], stem_kernel: int, head: str, dropout: float = 0.1):
        super().__init__()
        c1, c2, c3 = widths
        layers: list[nn.Module] = []
        layers += _block(1, c1, stem_kernel) + [nn.MaxPool2d(2)]  # 28 -> 14
        layers += _block(c1, c2) + [nn.MaxPool2d(2)]  # 14 -> 7
        layers += _block(c2, c3)
        if head == "gap":
            layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            features = c3
        else:
            layers += [nn.MaxPool2d(2), nn.Flatten()]  # 7 -> 3
            features = c3 * 9
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(features, CLASSES)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = (image - MNIST_MEAN) / MNIST_STD
        return self.classifier(self.dropout(self.features(x)))


class StridedNet(nn.Module):
    """All-convolutional: stride-2 convolutions downsample instead of pooling."""

    def __init__(self, widths: tuple[int, int, int, int], padded: bool = True, dropout: float = 0.1):
        super().__init__()
        c1, c2, c3, c4 = widths
        layers: list[nn.Module] = []
        if padded:
            layers += _block(1, c1, 5, stride=2)  # 28 -> 14
            layers += _block(c1, c2, 3, stride=2)  # 14 -> 7
            layers += _block(c2, c3, 3)
            layers += _block(c3, c4, 3, stride=2)  # 7 -> 4
            side = 4
        else:
            layers += _block(1, c1, 5, stride=2, padding=0)  # 28 -> 12
            layers += _block(c1, c2, 3, padding=0)  # 12 -> 10
            layers += _block(c2, c3, 3, stride=2, padding=0)  # 10 -> 4
            layers += _block(c3, c4, 3, padding=0)  # 4 -> 2
            side = 2
        layers += [nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c4 * side * side, CLASSES)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = (image - MNIST_MEAN) / MNIST_STD
        return self.classifier(self.dropout(self.features(x)))


class DeepNet(nn.Module):
    """Three stages of unpadded 3x3 convolutions, each ending in a stride-2 one
    (the last in a 3x3 to 1x1 one), with dropout between the stages."""

    def __init__(self, widths: tuple[int, int, int], dropout: tuple[float, float] = (0.1, 0.25)):
        super().__init__()
        c1, c2, c3 = widths
        conv_drop, head_drop = dropout
        layers: list[nn.Module] = []
        layers += _block(1, c1, 3, padding=0)  # 28 -> 26
        layers += _block(c1, c1, 3, padding=0)  # 26 -> 24
        layers += _block(c1, c1, 3, stride=2, padding=0)  # 24 -> 11
        layers += [nn.Dropout(conv_drop)]
        layers += _block(c1, c2, 3, padding=0)  # 11 -> 9
        layers += _block(c2, c2, 3, padding=0)  # 9 -> 7
        layers += _block(c2, c2, 3, stride=2, padding=0)  # 7 -> 3
        layers += [nn.Dropout(conv_drop)]
        layers += _block(c2, c3, 3, padding=0)  # 3 -> 1
        layers += [nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(head_drop)
        self.classifier = nn.Linear(c3, CLASSES)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = (image - MNIST_MEAN) / MNIST_STD
        return self.classifier(self.dropout(self.features(x)))


CANDIDATES = {
    "tiny": dict(widths=(8, 16, 32), stem_kernel=3, head="gap"),
    "small": dict(widths=(16, 32, 64), stem_kernel=5, head="pool"),
    "strided": dict(widths=(24, 48, 64, 64)),
    "unpadded": dict(widths=(24, 48, 64, 64), padded=False),
    "deep": dict(widths=(32, 64, 96)),
}


def build(name: str) -> nn.Module:
    """Builds the candidate called ``name`` (one of ``CANDIDATES``)."""
    if name not in CANDIDATES:
        raise KeyError(f"unknown architecture {name!r}; choose from {sorted(CANDIDATES)}")
    if name in ("strided", "unpadded"):
        return StridedNet(**CANDIDATES[name])
    if name == "deep":
        return DeepNet(**CANDIDATES[name])
    return DigitNet(**CANDIDATES[name])


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module) -> int:
    """Multiply-adds of one 28x28 image through the convolutions and linear layers."""
    total = 0

    def conv_hook(module: nn.Conv2d, _inp, out):
        nonlocal total
        kh, kw = module.kernel_size
        total += out[0].numel() * (module.in_channels // module.groups) * kh * kw

    def linear_hook(module: nn.Linear, _inp, _out):
        nonlocal total
        total += module.in_features * module.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return total
