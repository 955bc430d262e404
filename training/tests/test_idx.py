import gzip
import struct

import numpy as np
import pytest

from digits_training.idx import IdxError, checksums, parse_idx, read_idx


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_round_trip_of_a_small_array(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(idx_bytes(array)), array)
    plain, packed = tmp_path / "a.idx", tmp_path / "a.idx.gz"
    plain.write_bytes(idx_bytes(array))
    packed.write_bytes(gzip.compress(idx_bytes(array)))
    assert np.array_equal(read_idx(plain), array)
    assert np.array_equal(read_idx(packed), array)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "shorter"),
        (b"\x01\x00\x08\x01" + b"\x00" * 4, "magic"),
        (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00", "type"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x02", "header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "body"),
    ],
)
def test_malformed_files_are_rejected(data, message):
    with pytest.raises(IdxError, match=message):
        parse_idx(data)


def test_the_real_mnist_files_have_the_documented_shapes_and_counts(mnist, mnist_dir):
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert np.bincount(mnist.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(mnist.train_labels)[0] == 5923
    sums = checksums(mnist_dir)
    assert len(sums) == 4 and all(len(v) == 64 for v in sums.values())
