"""The users' labelled drawings, as the retraining reads them.

- **Reading.** The labelled export is the logging service's
  ``ExportLabeled``, served by the gateway as ``GET /api/admin/export``
  (newline-delimited JSON, the operators' token). ``read`` takes the gateway's
  address or a file saved from that endpoint.
- **Screening.** Labels that look like abuse are dropped before anything
  else: an identity (``owner``, an opaque pseudonym) with at least
  ``min_labels`` labels, ``top_share`` or more of them one and the same class,
  loses all its labels. A person drawing digits in turn gives each about a
  tenth; one labelling hundreds of drawings "7" is flooding.
- **Splitting.** A share of the identities (by a hash of the pseudonym, so the
  same person always falls on the same side) is held out to evaluate on, so
  the evaluation measures how the model reads people it never learnt from.
  With fewer than two identities, drawings are split one by one instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NOT_A_DIGIT = 10


@dataclass
class Examples:
    """Labelled drawings: ``inputs`` uint8 ``[N,28,28]``, ``labels`` ``[N]`` (0-9, 10 = not a digit)."""

    ids: np.ndarray
    owners: list[str]
    inputs: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, mask: np.ndarray) -> "Examples":
        return Examples(
            self.ids[mask], [o for o, keep in zip(self.owners, mask) if keep], self.inputs[mask], self.labels[mask]
        )

    def checksum(self) -> str:
        """SHA-256 over the ids, labels and inputs, in id order: what the card records."""
        digest = hashlib.sha256()
        for i in np.argsort(self.ids, kind="stable"):
            digest.update(int(self.ids[i]).to_bytes(8, "little", signed=True))
            digest.update(bytes([int(self.labels[i])]))
            digest.update(self.inputs[i].tobytes())
        return digest.hexdigest()

    def identities(self) -> int:
        return len(set(self.owners))


def parse(lines) -> Examples:
    """Examples from export lines (JSON objects with id, owner, true_label, input)."""
    ids, owners, inputs, labels = [], [], [], []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        row = json.loads(line)
        pixels = row["input"]
        label = int(row["true_label"])
        if len(pixels) != 784 or not 0 <= label <= NOT_A_DIGIT:
            raise ValueError(f"line {number}: expected 784 pixels and a label 0-10, got {len(pixels)} and {label}")
        ids.append(int(row["id"]))
        owners.append(str(row.get("owner", "")))
        inputs.append(np.asarray(pixels, dtype=np.uint8).reshape(28, 28))
        labels.append(label)
    return Examples(
        np.asarray(ids, dtype=np.int64),
        owners,
        np.stack(inputs) if inputs else np.zeros((0, 28, 28), np.uint8),
        np.asarray(labels, dtype=np.int64),
    )


def read(source: str, token: str | None = None) -> Examples:
    """The labelled drawings from a gateway (``http://…``; the operators' token
    from ``token`` or ``DIGITS_ADMIN_TOKEN``) or from a saved export file."""
    if source.startswith(("http://", "https://")):
        token = token or os.environ.get("DIGITS_ADMIN_TOKEN")
        if not token:
            raise SystemExit("reading from a gateway needs the operators' token: set DIGITS_ADMIN_TOKEN")
        request = urllib.request.Request(
            source.rstrip("/") + "/api/admin/export", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            return parse(line.decode() for line in response)
    with open(Path(source), encoding="utf-8") as file:
        return parse(file)


@dataclass
class Screening:
    kept: Examples
    excluded: int
    excluded_identities: int


def screen(examples: Examples, min_labels: int, top_share: float) -> Screening:
    """Drops every label of an identity with ``min_labels`` or more labels of
    which ``top_share`` or more are one class."""
    by_owner: dict[str, Counter] = {}
    for owner, label in zip(examples.owners, examples.labels):
        by_owner.setdefault(owner, Counter())[int(label)] += 1
    flooding = {
        owner
        for owner, counts in by_owner.items()
        if sum(counts.values()) >= min_labels and max(counts.values()) >= top_share * sum(counts.values())
    }
    keep = np.array([owner not in flooding for owner in examples.owners], dtype=bool)
    return Screening(examples.take(keep), int((~keep).sum()), len(flooding))


def _share(key: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split(examples: Examples, holdout: float, seed: int) -> tuple[Examples, Examples, str]:
    """(train, held out, how): by identity when there are two or more, else by drawing."""
    if examples.identities() >= 2:
        shares = {owner: _share(owner, seed) for owner in set(examples.owners)}
        held_out = {owner for owner, share in shares.items() if share < holdout}
        # Both sides get someone, however few the identities.
        if not held_out:
            held_out = {min(shares, key=shares.get)}
        if len(held_out) == len(shares):
            held_out.discard(max(shares, key=shares.get))
        held = np.array([owner in held_out for owner in examples.owners], dtype=bool)
        how = "by identity"
    else:
        held = np.array([_share(str(i), seed) < holdout for i in examples.ids], dtype=bool)
        how = "by drawing (fewer than two identities)"
    return examples.take(~held), examples.take(held), how
