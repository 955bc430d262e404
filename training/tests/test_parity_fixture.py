import gzip
from pathlib import Path

from digits_training import parity

FIXTURE = Path(__file__).resolve().parents[2] / "services/libs/preprocess/tests/fixtures/reference.bin.gz"


def test_the_committed_rust_fixture_is_what_the_reference_produces(mnist):
    # The Rust crate is tested against this file; if the numpy reference
    # changes, the fixture must be regenerated (see digits_training/parity.py).
    expected = parity.encode(parity.cases(mnist.test_images, 8))
    assert gzip.decompress(FIXTURE.read_bytes()) == expected
