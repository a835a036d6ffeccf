"""What every benchmark main needs: data folders, timing, results files, the ``mmfa`` runner.

Imported as a sibling module (``from common import ...``): ``python benchmarks/x.py`` puts this
folder first on ``sys.path``. Importing it sets ``HF_HUB_OFFLINE=1`` unless the caller chose
otherwise: a benchmark measures what is installed and never downloads a model.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Generic, TypeVar

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
AUDIO_SUFFIXES = (".wav", ".flac")

T = TypeVar("T")


def parser(doc: str | None, result: str | None = None) -> argparse.ArgumentParser:
    """An argument parser described by the first line of ``doc``.

    With ``result`` (a file name in ``benchmarks/results``) it has ``--out`` defaulting to it.
    """
    made = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    if result:
        made.add_argument("--out", type=Path, default=RESULTS / result, help="results JSON")
    return made


def shared_data(corpus: str) -> Path:
    """``$MMFA_SHARED/data/<corpus>``; ``MMFA_SHARED`` defaults to ``shared`` beside the repo."""
    shared = Path(os.environ.get("MMFA_SHARED", REPO.parent / "shared")).expanduser()
    return shared / "data" / corpus


def audio_files(root: Path) -> list[Path]:
    """The wav/flac files under ``root``, sorted (none when it is not a folder)."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)


#: What the RAVDESS benchmarks' results describe (their ``corpus`` field).
RAVDESS_CORPUS = "RAVDESS speech (actors found under --data), 8 classes, actor-independent folds"


def ravdess_actors(data: Path) -> list[Path]:
    """The ``Actor_XX`` folders of a RAVDESS copy."""
    return sorted(data.glob("Actor_[0-9][0-9]"))


def skip_without(found: Sequence[Any], what: str, where: Path, option: str) -> bool:
    """True, after saying why, when ``found`` is empty: the benchmark has no data and exits 0."""
    if found:
        return False
    print(f"SKIP: {what} not found in {where}; pass {option} DIR or set MMFA_SHARED.")
    return True


def load_average() -> float | None:
    """The one-minute load average (other work slowing a timing), None where the OS has none."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its finished children."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Timing(Generic[T]):
    """The best wall and CPU seconds over repeats, and what the last repeat returned."""

    seconds: float
    cpu_seconds: float
    value: T


def best_of(repeats: int, fn: Callable[[], T]) -> Timing[T]:
    """Run ``fn`` ``repeats`` times; the best wall time and the best CPU time, separately."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        start, cpu = time.perf_counter(), cpu_seconds()
        value = fn()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, cpu_seconds() - cpu)
    return Timing(best, best_cpu, value)


def frames_of(extracted: Iterable[tuple[Any, Any]]) -> int:
    """Frames of all the features an ``extract_many`` yields (each must be an array)."""
    import numpy as np

    frames = 0
    for _, out in extracted:
        assert isinstance(out, np.ndarray), out  # an extraction error, not features
        frames += len(out)
    return frames


def relative(path: str | Path) -> str:
    """``path`` relative to the repository (``../x`` outside it): never this machine's layout."""
    try:
        return os.path.relpath(Path(path).expanduser().resolve(), REPO)
    except ValueError:  # another drive (Windows): the name is all that is safe to record
        return Path(path).name


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that ran this benchmark, as typed from the repository root.

    Absolute paths (``/x`` or ``--opt=/x``) are written relative to the repository, so a results
    file can be committed and the command rerun from another checkout.
    """
    argv = list(sys.argv if argv is None else argv)
    args = []
    for arg in argv[1:]:
        option, eq, value = arg.rpartition("=") if arg.startswith("--") else ("", "", arg)
        args.append(option + eq + relative(value) if os.path.isabs(value) else arg)
    return shlex.join(["python", f"benchmarks/{Path(argv[0]).name}", *args])


def utc_now() -> str:
    """The time a result was written, e.g. ``2026-12-02 06:50 UTC``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Write a benchmark's results JSON with the time and :func:`mmfa.provenance.collect`."""
    from mmfa.provenance import collect

    record = {**result, "date": utc_now(), "provenance": collect()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {relative(path)}")


def merge_results(path: Path, rows: dict[str, Any], **facts: Any) -> None:
    """Add ``rows`` to the results JSON at ``path``, with ``facts``, the time and provenance.

    The file is read only now, so rows another run wrote meanwhile are kept.
    """
    from mmfa.provenance import collect

    results = json.loads(path.read_text()) if path.exists() else {"rows": {}}
    results["rows"].update(rows)
    results.pop("machine", None)  # files written before provenance: superseded by it
    results.update(facts, updated=utc_now(), provenance=collect())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {relative(path)}")


def run_mmfa(argv: list[str]) -> float:
    """Run ``mmfa ...`` in a fresh process with one torch thread; return its wall time in s."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    env.setdefault("WANDB_MODE", "offline")
    print("$", shlex.join(argv), flush=True)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mmfa", *argv[1:], "--trainer.enable_progress_bar=false"],
        cwd=REPO,
        env=env,
        check=True,
    )
    return time.perf_counter() - start


def run_wall(run_dir: Path) -> float:
    """Wall time of a finished ``mmfa cv`` run, from its folder (run.json to the report)."""
    report = run_dir / "report" / "report.json"
    return report.stat().st_mtime - (run_dir / "run.json").stat().st_mtime
