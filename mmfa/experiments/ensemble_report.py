"""What an ensemble of a cv run's seeds scores: per fold, the seeds' test probabilities averaged.

``mmfa cv --seeds 0,1,2`` trains every fold once per seed and saves each one's test predictions
(``folds/<fold>-seed<N>/predictions.csv``, from the checkpoint selected on validation). Averaging
those probabilities per fold is exactly what ``mmfa predict --ckpt_path <the seeds' checkpoints>``
would predict on that fold's test set, so the ensemble's score is computed from the saved files,
without running a model again, by the same scikit-learn code as every other number of the report
(:mod:`.fold_metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmfa.experiments.fold_metrics import report_metrics, summarise
from mmfa.experiments.run_folder import FoldPredictions, RunFolderError
from mmfa.problem import get_problem


def fold_of(fold: FoldPredictions) -> str:
    """The fold a fold/seed folder belongs to: its name without cv's ``-seed<N>`` ending."""
    seed = fold.info.get("seed")
    return fold.name.removesuffix(f"-seed{seed}") if seed is not None else fold.name


def seed_ensemble(
    task: str, class_names: list[str], folds: Sequence[FoldPredictions]
) -> dict[str, Any] | None:
    """The ensemble of the seeds of every fold, scored like a fold.

    Returns:
        ``None`` for a run of one seed; else ``seeds`` (those averaged), ``per_fold`` (fold,
        ``n``, ``models`` and the headline metrics), ``mean``/``std``/``n_folds`` per headline
        metric (over folds, ddof=0 as elsewhere; NaN when no fold has two seeds), and ``notes``
        on folds left out.

    Raises:
        RunFolderError: two seeds of a fold disagree on a test utterance's gold label (the
            folders are not the same fold).
    """
    seeds = sorted({str(f.info["seed"]) for f in folds if f.info.get("seed") is not None})
    if len(seeds) < 2:
        return None
    by_fold: dict[str, list[FoldPredictions]] = {}
    for fold in folds:
        if fold.info.get("seed") is not None:
            by_fold.setdefault(fold_of(fold), []).append(fold)
    problem = get_problem(task)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for name, members in by_fold.items():
        if len(members) < 2:
            notes.append(f"ensemble: fold {name} has one finished seed: left out of the ensemble.")
            continue
        if any(set(m.ids) != set(members[0].ids) for m in members[1:]):
            notes.append(
                f"ensemble: the seeds of fold {name} tested other utterances "
                f"({', '.join(m.name for m in members)}): left out of the ensemble."
            )
            continue
        target, scores = _averaged(members)
        metrics = report_metrics(problem, target, scores, class_names, f"{name} (ensemble)")
        rows.append({"fold": name, "n": len(target), "models": len(members), **metrics.headline})
    stats = {k: summarise([float(r[k]) for r in rows]) for k in problem.headline}
    return {
        "seeds": seeds,
        "per_fold": rows,
        "mean": {k: v["mean"] for k, v in stats.items()},
        "std": {k: v["std"] for k, v in stats.items()},
        "n_folds": {k: v["n_folds"] for k, v in stats.items()},
        "notes": notes,
    }


def _averaged(members: list[FoldPredictions]) -> tuple[np.ndarray, np.ndarray]:
    """The gold labels and the mean scores of one fold's seeds, in the first seed's row order."""
    first = members[0]
    stacked = []
    for member in members:
        row_of = {uid: i for i, uid in enumerate(member.ids)}
        order = [row_of[uid] for uid in first.ids]
        if not np.array_equal(member.target[order], first.target):
            raise RunFolderError(
                f"folds/{member.name} and folds/{first.name} give other gold labels to the same "
                "test utterances: they are not seeds of one fold; rerun one of them"
            )
        stacked.append(member.scores[order])
    return first.target, np.mean(stacked, axis=0)
