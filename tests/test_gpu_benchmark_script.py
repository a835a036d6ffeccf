"""benchmarks/gpu_train.py runs its whole code path on the CPU at a tiny size (no GPU in CI)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_gpu_script_dry_run_on_cpu(tmp_path: Path) -> None:
    out = tmp_path / "gpu_train.json"
    argv = ["benchmarks/gpu_train.py", "--device", "cpu", "--utterances", "12", "--hours", "0.01"]
    argv += ["--epochs", "1", "--batch-size", "4", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # As the docs run it: `python benchmarks/gpu_train.py` from the repository root.
    done = subprocess.run(
        [sys.executable, *argv], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["utterances"] == 12 and result["device"] == "cpu"
    assert result["extraction"]["utterances_per_s"] > 0
    assert result["training"]["utterances_per_s"] > 0
    assert result["projected_loso"]["folds"] == 10 and result["projected_loso"]["seconds"] > 0
    assert result["command"].startswith("python benchmarks/gpu_train.py --device cpu")
    recorded = shlex.split(result["command"])
    assert not any(os.path.isabs(a) for a in recorded)  # relative to the repository
    assert result["provenance"]["versions"]["torch"]
