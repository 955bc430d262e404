import numpy as np
import torch

from digits_training import preprocess
from digits_training.augment import AugmentConfig, augment, renormalise


def batch(mnist, n=256):
    return torch.from_numpy(mnist.train_images[:n].astype(np.float32) / 255).unsqueeze(1)


def test_augmentation_keeps_shape_range_and_quantisation(mnist):
    x = batch(mnist)
    out = augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    # Values are bytes / 255, as serving feeds them.
    assert torch.allclose(out * 255, torch.round(out * 255), atol=1e-3)
    # Every image still has ink: no digit is erased.
    assert bool((out.flatten(1).amax(1) > 0.5).all())


def test_augmentation_changes_images_but_keeps_them_in_mnist_form(mnist):
    x = batch(mnist)
    out = augment(x, torch.Generator().manual_seed(1), AugmentConfig(probability=1.0))
    changed = (out - x).abs().flatten(1).amax(1) > 0.1
    assert float(changed.float().mean()) > 0.9
    ys, xs = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    mass = out[:, 0].sum((1, 2))
    com_x = (out[:, 0] * xs).sum((1, 2)) / mass
    com_y = (out[:, 0] * ys).sum((1, 2)) / mass
    # Centre of mass near the MNIST target, within the jitter.
    assert float((com_x - preprocess.COM_TARGET[0]).abs().max()) < 2.5
    assert float((com_y - preprocess.COM_TARGET[1]).abs().max()) < 2.5


def test_augmentation_is_reproducible_with_a_seed(mnist):
    x = batch(mnist, 32)
    a = augment(x, torch.Generator().manual_seed(7))
    b = augment(x, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_augmented_digits_keep_their_labels(mnist):
    # The released model, which never saw these augmented copies, still reads
    # nearly all of them as their original label: augmentation keeps identity.
    from pathlib import Path

    from digits_training.export import onnx_logits

    released = Path(__file__).resolve().parents[2] / "services/inference/models/mnist/2.0.0/model.onnx"
    x = batch(mnist, 2000)
    out = augment(x, torch.Generator().manual_seed(5), AugmentConfig(probability=1.0))
    images = np.round(out[:, 0].numpy() * 255).astype(np.uint8)
    predicted = onnx_logits(released, images).argmax(1)
    assert float((predicted == mnist.train_labels[:2000]).mean()) > 0.97


def test_renormalise_fits_the_box_like_the_reference(mnist):
    # Without jitter, the ink box's longer side is 20 MNIST pixels (40 at the
    # doubled working resolution), give or take the bilinear edge.
    x = torch.nn.functional.interpolate(batch(mnist, 256), scale_factor=2, mode="bilinear", align_corners=False)
    out = renormalise(x, 0.0, (1.0, 1.0), torch.Generator())[:, 0].numpy()
    for img in out:
        rows = np.flatnonzero((img > preprocess.INK_THRESHOLD).any(1))
        cols = np.flatnonzero((img > preprocess.INK_THRESHOLD).any(0))
        assert 38 <= max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 42
