"""Item 5: two runs started together in one folder never share ``runs/<name>/version_N``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lightning.pytorch.loggers import CSVLogger as LightningCSVLogger

from mmfa.loggers import CSVLogger, reserve_version

REPO = Path(__file__).resolve().parents[2]


def test_reserve_version_skips_taken_folders(tmp_path: Path) -> None:
    (tmp_path / "version_0").mkdir()
    assert reserve_version(tmp_path, 0) == 1
    assert reserve_version(tmp_path, 0) == 2
    assert reserve_version(tmp_path / "new", 5) == 5 and (tmp_path / "new/version_5").is_dir()


def test_loggers_that_listed_the_folder_at_the_same_moment_get_different_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both runs list runs/demo before either creates its folder: Lightning's guess is the same.
    monkeypatch.setattr(LightningCSVLogger, "_get_next_version", lambda self: 0)
    plain = [LightningCSVLogger(str(tmp_path / "plain"), name="demo") for _ in range(2)]
    assert plain[0].version == plain[1].version  # the defect, in Lightning's logger
    ours = [CSVLogger(str(tmp_path), name="demo") for _ in range(2)]
    assert [lg.version for lg in ours] == [0, 1]
    assert {Path(lg.log_dir).name for lg in ours} == {"version_0", "version_1"}


def test_explicit_version_is_kept(tmp_path: Path) -> None:
    assert CSVLogger(str(tmp_path), name="demo", version="mine").version == "mine"
    assert not (tmp_path / "demo" / "version_0").exists()


_RACE = """
import sys, time
from mmfa.loggers import CSVLogger
start = float(sys.argv[2])
while time.time() < start:
    pass
versions = [CSVLogger(sys.argv[1], name="demo").version for _ in range(20)]
print(" ".join(map(str, versions)))
"""


@pytest.mark.slow
def test_concurrent_processes_get_distinct_versions(tmp_path: Path) -> None:
    start = time.time() + 8  # both processes imported and spinning before the gate opens
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE, str(tmp_path), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    versions = [int(v) for out in outs for v in out]
    assert len(versions) == 40 and len(set(versions)) == 40


@pytest.mark.slow
def test_two_fits_started_together_write_two_run_folders(tmp_path: Path) -> None:
    args = [
        sys.executable,
        "-m",
        "mmfa",
        "fit",
        "--config",
        str(REPO / "configs/demo.yaml"),
        "--trainer.max_epochs=1",
        f"--trainer.logger.init_args.save_dir={tmp_path / 'runs'}",
        "--data.init_args.num_speakers=6",
        "--data.init_args.utterances_per_speaker=12",
        "--data.init_args.extract_workers=1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(args, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    runs = sorted((tmp_path / "runs" / "demo").iterdir())
    assert [r.name for r in runs] == ["version_0", "version_1"]
    for run in runs:
        assert (run / "config.yaml").is_file()
        lines = (run / "metrics.csv").read_text().splitlines()
        assert len([line for line in lines if line.startswith("epoch") or "," in line]) >= 2
        assert len(list((run / "checkpoints").glob("*.ckpt"))) == 1
