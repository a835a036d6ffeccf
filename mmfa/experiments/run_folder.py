"""A cross-validation run folder: reading ``run.json`` and each fold's predictions, and locking it.

The layout and the ``predictions.csv`` columns are described in :mod:`mmfa.experiments.report`.
Every error names the file (and line) at fault. One ``mmfa cv`` at a time writes a run folder
(:func:`lock_run_folder`): two at once would train the same folds and write the same files.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmfa.errors import ConfigError, MMFAError
from mmfa.problem import PredictionFormatError, get_problem


class RunFolderError(MMFAError, ValueError):
    """A run folder lacks a file, or a file in it is malformed; the message names the file."""


class RunFolderBusyError(MMFAError):
    """Another ``mmfa cv`` is writing the run folder now; the message names it and the way out."""


#: The lock file inside a run folder (held while ``mmfa cv`` runs; left behind, harmless).
LOCK_FILE = ".cv.lock"


@contextlib.contextmanager
def lock_run_folder(run_dir: Path) -> Iterator[Path]:
    """Hold ``run_dir`` for this process until the block ends (creating the folder).

    An OS file lock: it ends with the process, so a ``kill -9`` never leaves the folder locked.

    Raises:
        RunFolderBusyError: another process holds it; nothing in the folder was touched.
    """
    from filelock import FileLock, Timeout

    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(run_dir / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunFolderBusyError(
            f"{run_dir} is being written by another `mmfa cv` (it holds {run_dir / LOCK_FILE}); "
            "wait for it to finish, or choose another --out (or pass --new-run)"
        ) from None
    try:
        yield run_dir
    finally:
        lock.release()


@dataclass
class FoldPredictions:
    """One fold's test predictions as read from ``predictions.csv``.

    Attributes:
        name: the fold folder's name.
        ids: utterance ids, ``N`` of them.
        target: ``(N,)`` class indices / gold scores, or ``(N, K)`` 0/1 labels (multilabel).
        scores: ``(N, K)`` probabilities, or ``(N,)`` predicted scores (regression).
        info: the fold's ``fold.json`` (empty when the file is missing).
    """

    name: str
    ids: list[str]
    target: np.ndarray
    scores: np.ndarray
    info: dict[str, Any]


def read_run(run_dir: Path) -> tuple[dict[str, Any], list[FoldPredictions], list[str]]:
    """Read ``run.json`` and every fold's predictions, folds sorted by name.

    Returns:
        ``(run, folds, notes)``; notes say which fold folders were skipped or lack provenance.

    Raises:
        RunFolderError: ``run.json`` is missing or malformed, no fold has predictions, or a
            ``predictions.csv`` lacks a column or holds a bad value.
    """
    run_json = run_dir / "run.json"
    try:
        run = json.loads(run_json.read_text())
    except (OSError, ValueError) as err:
        raise RunFolderError(
            f"{run_json}: cannot read the run description ({err}); "
            "is this a run folder written by `mmfa cv`?"
        ) from None
    task = run.get("task_type")
    try:
        problem = get_problem(task, key=f"{run_json}: task_type")
    except ConfigError as err:
        raise RunFolderError(str(err)) from None
    names = [str(n) for n in run.get("class_names") or []]
    if problem.per_class and not names:
        raise RunFolderError(f"{run_json}: class_names is empty; a {task} report needs them")
    folds, notes = [], []
    fold_dirs = sorted(p for p in (run_dir / "folds").glob("*") if p.is_dir())
    for fold_dir in fold_dirs:
        csv_path = fold_dir / "predictions.csv"
        if not csv_path.exists():
            notes.append(f"fold {fold_dir.name}: no predictions.csv (unfinished?): left out.")
            continue
        info: dict[str, Any] = {}
        if (fold_dir / "fold.json").exists():
            info = json.loads((fold_dir / "fold.json").read_text())
        else:
            notes.append(f"fold {fold_dir.name}: no fold.json: its provenance is unknown.")
        ids, target, scores = read_predictions(csv_path, task, names)
        folds.append(FoldPredictions(fold_dir.name, ids, target, scores, info))
    if not folds:
        raise RunFolderError(f"{run_dir / 'folds'}: no fold folder holds a predictions.csv")
    return run, folds, notes


def read_predictions(
    path: Path, task: str, class_names: Sequence[str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Parse one ``predictions.csv`` (columns: :mod:`mmfa.problem`) into ids, targets, scores."""
    try:
        return get_problem(task).read_predictions(path, class_names)
    except PredictionFormatError as err:
        raise RunFolderError(str(err)) from None
