"""The test session cleans up after itself: its temporary cache folder is gone at exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_session_removes_its_temporary_folder(tmp_path: Path) -> None:
    probe = "tests/test_layering.py::test_the_checker_sees_a_violation"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", probe, "-q", "-p", "no:cacheprovider"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith("mmfa-tests-")]
    assert left == [], f"left behind: {left}"
