"""The feedback loop end to end, at small scale, against the three release
binaries (``cargo xtask lifecycle`` starts them and runs this):

1. synthetic people draw a few hundred digits through the API and label
   them (one of them flooding "7");
2. a one-epoch fine-tune on a subset pulls the labels through the gateway's
   export and publishes 2.1.0 into the model repository;
3. the inference service loads it without a restart, as the canary that
   ``serving.json`` already names;
4. new visitors are answered by it in about its configured share;
5. ``/api/stats/global`` splits their feedback by version.

Environment: DIGITS_HTTP (gateway host:port), DIGITS_ADMIN_TOKEN,
DIGITS_REPOSITORY (the inference service's model repository),
DIGITS_CANARY_PERCENT, DIGITS_MNIST_DIR, DIGITS_OUT (where the run writes).
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import os
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from digits_training import idx, retrain, synthetic_users

HTTP = "http://" + os.environ["DIGITS_HTTP"]
TOKEN = os.environ["DIGITS_ADMIN_TOKEN"]
REPOSITORY = Path(os.environ["DIGITS_REPOSITORY"])
CANARY = int(os.environ["DIGITS_CANARY_PERCENT"])
MNIST = Path(os.environ["DIGITS_MNIST_DIR"])
OUT = Path(os.environ["DIGITS_OUT"])


class Person:
    """One browser: its own cookie, so its own identity."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> dict:
        request = urllib.request.Request(HTTP + path, data=body, method=method)
        if content_type:
            request.add_header("content-type", content_type)
        with self.opener.open(request, timeout=30) as response:
            return json.loads(response.read())

    def draw(self, ink: np.ndarray) -> dict:
        """Posts a canvas drawing (float ink, ink high) as a PNG, black on white."""
        png = io.BytesIO()
        Image.fromarray(np.uint8(255 - np.clip(ink, 0, 1) * 255), "L").save(png, "PNG")
        return self.call("POST", "/api/predictions", png.getvalue(), "image/png")

    def label(self, prediction_id: str, label: int) -> dict:
        return self.call(
            "PUT", f"/api/predictions/{prediction_id}/feedback", json.dumps({"true_label": label}).encode(), "application/json"
        )


def model() -> dict:
    with urllib.request.urlopen(HTTP + "/api/model", timeout=30) as response:
        return json.loads(response.read())


def test_feedback_becomes_a_canary_that_answers_its_share():
    digits = idx.load_mnist(MNIST)
    assert model()["versions"] == [
        {"version": "2.0.0", "role": "current", "traffic_percent": 100, "test_accuracy": 0.9963, "origin": "embedded"}
    ], "serving.json names a canary that does not exist yet"

    # 1. Thirty people draw ten digits each and label them; one more floods "7".
    rng = np.random.default_rng(3)
    picks = rng.choice(np.arange(synthetic_users.FIRST, len(digits.train_labels)), 360, replace=False)
    inks = synthetic_users.drawings(digits.train_images[picks], seed=3)
    people = [Person() for _ in range(31)]
    exported = 0  # drawings read as several digits are labelled, but not exported for training
    for n, (ink, label) in enumerate(zip(inks, digits.train_labels[picks])):
        person = people[n % 30] if n < 300 else people[30]
        answer = person.draw(ink)
        assert answer["model_version"] == "2.0.0"
        person.label(answer["id"], 7 if n >= 300 else int(label))
        exported += answer["verdict"] != "several_digits"

    # 2. A one-epoch fine-tune on a subset, from the gateway's export, published.
    started = time.perf_counter()
    status = retrain.main(
        [
            "--data", str(MNIST), "--labels", HTTP, "--out", str(OUT / "2.1.0"), "--publish", str(REPOSITORY),
            "--epochs", "1", "--epoch-samples", "3000", "--nondigits", "500", "--threads", "2",
            "--cache", str(OUT / "cache"), "--min-mnist-accuracy", "0.99",
        ]
    )
    assert status == 0, "the gate passes"
    card = json.loads((REPOSITORY / "digits-mnist-cnn" / "2.1.0" / "model.json").read_text())
    users = card["lineage"]["data"]["users"]
    assert users["labelled"] == exported >= 350
    assert (users["screened_out_identities"], users["identities"]) == (1, 31)
    print(f"\nretrained in {time.perf_counter() - started:.1f}s; the card of 2.1.0:")
    print(json.dumps({k: card[k] for k in ("name", "version", "created", "file", "golden", "metrics", "lineage")}, indent=1))

    # 3. Loaded without a restart, as the canary.
    deadline = time.monotonic() + 60
    while not any(v["version"] == "2.1.0" for v in model()["versions"]):
        assert time.monotonic() < deadline, "2.1.0 was never loaded"
        time.sleep(0.25)
    roles = {v["version"]: (v["role"], v["traffic_percent"]) for v in model()["versions"]}
    assert roles == {"2.1.0": ("canary", CANARY), "2.0.0": ("current", 100 - CANARY)}

    # 4. New visitors: the canary's share of them is answered by 2.1.0, each by one version.
    visitors = [Person() for _ in range(300)]
    fresh = synthetic_users.drawings(digits.test_images[:300], seed=4)
    answered = {}
    for visitor, ink, label in zip(visitors, fresh, digits.test_labels[:300]):
        first = visitor.draw(ink)
        again = visitor.draw(ink)
        assert again["model_version"] == first["model_version"], "one visitor, one version"
        answered.setdefault(first["model_version"], 0)
        answered[first["model_version"]] += 1
        visitor.label(first["id"], int(label))
    share = answered.get("2.1.0", 0) / len(visitors)
    print(f"canary share: {answered.get('2.1.0', 0)} of {len(visitors)} visitors ({share:.1%}), configured {CANARY}%")
    assert abs(share - CANARY / 100) < 0.1, answered

    # 5. The statistics split by version, once the log queue has drained
    # (the global figures are also cached for a second).
    expected = {"2.1.0": answered["2.1.0"], "2.0.0": 360 + answered["2.0.0"]}  # stats count numbers too
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(HTTP + "/api/stats/global", timeout=30) as response:
            by_version = {v["model_version"]: v for v in json.loads(response.read())["by_model_version"]}
        if {v: s["labeled"] for v, s in by_version.items()} == expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print("feedback by version:", json.dumps(by_version))
    assert {v: s["labeled"] for v, s in by_version.items()} == expected
