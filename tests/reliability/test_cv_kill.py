"""``kill -9`` of ``mmfa cv`` at a random point, then a rerun: the same report (issue 10's bar).

Each seed kills a fresh run (fresh feature cache, so kills also land in corpus generation and
feature extraction) at a random moment of an uninterrupted run's duration, checks that no process
of it survives, reruns it to the end and compares what the report is made of with the
uninterrupted run: every fold's predictions, ``per_fold.csv``, ``per_class.csv`` byte for byte,
and ``report.md`` apart from its wall times (a duration cannot repeat) and the run
folder's own path.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ARGS = [
    "-m",
    "mmfa",
    "cv",
    "--config",
    str(REPO / "configs/demo.yaml"),
    "--trainer.max_epochs=2",
    "--trainer.enable_progress_bar=false",
    "--data.num_speakers=6",
    "--data.utterances_per_speaker=12",
    "--data.batch_size=8",
    "--data.extract_workers=2",
]
COMPARED = ["report/per_fold.csv", "report/per_class.csv"]


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "MMFA_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}


def _run(out: Path, cache: Path) -> float:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, *ARGS, "--out", str(out)],
        env=_env(cache),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return time.monotonic() - started


def _group_alive(pgid: int) -> list[int]:
    """Pids still running (not zombies) in a process group."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _report_md(run: Path) -> str:
    text = (run / "report" / "report.md").read_text().replace(str(run), "<run>")
    text = re.sub(r"wall_s=[0-9.]+", "wall_s=<wall>", text)  # provenance table
    return re.sub(r"\| \d+ s \|", "| <wall> |", text)  # the fold table's wall-time column


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see pids")
def test_killed_and_rerun_cv_reports_like_an_uninterrupted_one(tmp_path: Path) -> None:
    reference = tmp_path / "reference" / "run"
    duration = _run(reference, tmp_path / "reference-cache")
    for seed in range(5):
        out, cache = tmp_path / f"seed{seed}" / "run", tmp_path / f"seed{seed}-cache"
        proc = subprocess.Popen(
            [sys.executable, *ARGS, "--out", str(out)],
            env=_env(cache),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: we can find its children
        )
        time.sleep(random.Random(seed).uniform(0.5, duration))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = _group_alive(proc.pid)
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
        assert not survivors, f"seed {seed}: processes {survivors} outlived the killed cv"
        _run(out, cache)
        for name in COMPARED + sorted(
            str(p.relative_to(reference)) for p in reference.glob("folds/*/predictions.csv")
        ):
            assert (out / name).read_bytes() == (reference / name).read_bytes(), (seed, name)
        assert _report_md(out) == _report_md(reference), seed
