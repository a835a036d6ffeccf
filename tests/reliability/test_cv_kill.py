"""kill -9 of `mmfa cv` at a random point, then the same command again: the same report."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARGS = [
    "cv",
    "--config",
    str(REPO / "configs/demo.yaml"),
    "--trainer.max_epochs=2",
    "--trainer.enable_progress_bar=false",
    "--data.num_speakers=6",
    "--data.utterances_per_speaker=12",
    "--data.batch_size=8",
]


def _cv(out: Path, cache: Path, kill_after: float | None = None) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MMFA_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "mmfa", *ARGS, "--out", str(out)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the run and its extraction workers
            proc.wait()
            return
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err.decode()[-3000:]


def _timeless(report_dir: Path) -> tuple[Any, str]:
    """report.json and report.md without the per-fold wall times (they differ run to run)."""
    data = json.loads((report_dir / "report.json").read_text())
    for info in data["provenance"]["folds"].values():
        info.pop("wall_s", None)
    markdown = re.sub(r"\| \d+ s \|", "| - |", (report_dir / "report.md").read_text())
    markdown = re.sub(r"wall_s=`?[\d.]+`?", "wall_s=-", markdown)
    return data, markdown


@pytest.mark.slow
def test_killed_cv_resumes_to_the_same_report(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out = tmp_path / "run"
    start = time.monotonic()
    _cv(out, cache)
    full = time.monotonic() - start
    want = _timeless(out / "report")
    rng = random.Random(0)
    for seed in range(5):
        shutil.rmtree(out)
        _cv(out, cache, kill_after=rng.uniform(1.0, full))
        _cv(out, cache)
        got = _timeless(out / "report")
        assert got[0] == want[0], f"seed {seed}: report.json differs"
        assert got[1] == want[1], f"seed {seed}: report.md differs"
