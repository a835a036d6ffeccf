"""benchmarks/gpu_train.py runs its whole code path on the CPU at a tiny size (no GPU in CI)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_train.py"


def test_gpu_script_dry_run_on_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "gpu_train.json"
    argv = ["gpu_train.py", "--device", "cpu", "--utterances", "12", "--hours", "0.01"]
    argv += ["--epochs", "1", "--batch-size", "4", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(SCRIPT), run_name="__main__")
    result = json.loads(out.read_text())
    assert result["utterances"] == 12 and result["device"] == "cpu"
    assert result["extraction"]["utterances_per_s"] > 0
    assert result["training"]["utterances_per_s"] > 0
    assert result["projected_loso"]["folds"] == 10 and result["projected_loso"]["seconds"] > 0
