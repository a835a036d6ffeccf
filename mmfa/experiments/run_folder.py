"""Reading a cross-validation run folder: ``run.json`` and each fold's predictions and provenance.

The layout and the ``predictions.csv`` columns are described in :mod:`mmfa.experiments.report`.
Every error names the file (and line) at fault.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmfa.errors import MMFAError

TASKS = ("multiclass", "multilabel", "regression")


class RunFolderError(MMFAError, ValueError):
    """A run folder lacks a file, or a file in it is malformed; the message names the file."""


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
    if task not in TASKS:
        raise RunFolderError(f"{run_json}: task_type is {task!r}; expected one of {TASKS}")
    names = [str(n) for n in run.get("class_names") or []]
    if task != "regression" and not names:
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
    """Parse one ``predictions.csv`` (format in the module docstring) into ids, targets, scores."""
    if task == "multiclass":
        t_cols, s_cols = ["target"], [f"score_{n}" for n in class_names]
    elif task == "multilabel":
        t_cols, s_cols = [f"target_{n}" for n in class_names], [f"score_{n}" for n in class_names]
    else:
        t_cols, s_cols = ["target"], ["score"]
    ids: list[str] = []
    rows_t: list[list[float]] = []
    rows_s: list[list[float]] = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ["id", *t_cols, *s_cols] if c not in (reader.fieldnames or [])]
        if missing:
            raise RunFolderError(
                f"{path}: missing column(s) {missing} for a {task} run with "
                f"classes {list(class_names)}"
            )
        for line, row in enumerate(reader, start=2):
            try:
                rows_t.append([float(row[c]) for c in t_cols])
                rows_s.append([float(row[c]) for c in s_cols])
            except (TypeError, ValueError) as err:
                raise RunFolderError(
                    f"{path}, line {line} (id {row.get('id')!r}): not a number: {err}"
                ) from None
            ids.append(str(row["id"]))
    target, scores = np.asarray(rows_t, dtype=float), np.asarray(rows_s, dtype=float)
    if not ids:
        raise RunFolderError(f"{path}: no prediction rows")
    if not (np.isfinite(target).all() and np.isfinite(scores).all()):
        raise RunFolderError(f"{path}: NaN or infinite target/score values")
    if task == "regression":
        return ids, target[:, 0], scores[:, 0]
    allowed = range(len(class_names)) if task == "multiclass" else (0, 1)
    bad = ~np.isin(target, allowed)
    if bad.any():
        first = int(np.argwhere(bad)[0][0])
        raise RunFolderError(
            f"{path}, line {first + 2} (id {ids[first]!r}): target must be in "
            f"{list(allowed)}, got {target[first].tolist()}"
        )
    target = target.astype(int)
    return ids, (target[:, 0] if task == "multiclass" else target), scores
