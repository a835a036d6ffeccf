"""Item 9: on the command line an mmfa error is one line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO = ["--config", str(REPO / "configs/demo.yaml")]
SMALL = ["--data.num_speakers=6", "--data.utterances_per_speaker=12"]


def _mmfa(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MMFA_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "mmfa", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_error_while_building_the_datamodule_is_one_line() -> None:
    proc = _mmfa("fit", *DEMO, "--data.use_audio=false", "--data.use_text=false")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "mmfa: error: data.use_audio and data.use_text are both false: nothing to feed"
    )
    assert "Traceback" not in proc.stderr and "Union subtypes" not in proc.stderr
    # (MMFA_DEBUG=1 keeping the traceback: test_console.py, without a subprocess)


def test_error_at_setup_is_one_line(tmp_path: Path) -> None:
    proc = _mmfa(
        "fit", *DEMO, *SMALL, "--data.batch_size=1", f"--trainer.default_root_dir={tmp_path}",
        "--trainer.logger=false",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("mmfa: error: data.batch_size=1: the model's BatchNorm")
    assert "Traceback" not in proc.stderr
