"""What every fake corpus writer shares: the ``<corpus>.expected.json`` file and filler words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["fake_expected", "sentence", "write_expected"]

_WORDS = ("well", "I", "really", "think", "so", "maybe", "no", "yes", "okay", "you", "know", "it")


def fake_expected(corpus: Path) -> dict[str, Any]:
    """Read what a fake corpus holds: the ``<corpus>.expected.json`` written beside it."""
    corpus = Path(corpus)
    return json.loads((corpus.parent / f"{corpus.name}.expected.json").read_text(encoding="utf-8"))


def write_expected(corpus: Path, expected: dict[str, Any]) -> None:
    """Write ``<corpus>.expected.json`` beside the corpus folder (read by :func:`fake_expected`)."""
    path = corpus.parent / f"{corpus.name}.expected.json"
    path.write_text(json.dumps(expected, indent=1, sort_keys=True), encoding="utf-8")


def sentence(rng: np.random.Generator, n: int = 4) -> str:
    """``n`` filler words drawn from a small vocabulary (transcripts of the fake corpora)."""
    return " ".join(str(w) for w in rng.choice(_WORDS, size=n))
