"""What a cross-validation run sends to Weights & Biases beyond Lightning's scalar metrics.

Each fold is one W&B run (``job_type="fold"``) in the run's group; at the end one more run
(``job_type="summary"``) carries the report: mean ± std metrics, per-class table and the plots.
``WANDB_MODE=offline`` works without a key or network; ``wandb sync`` uploads later.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmfa.problem import Problem


def log_fold_tables(predictions: Path, problem: Problem, class_names: list[str]) -> None:
    """Per-class test metrics and the confusion matrix of one fold, into the active W&B run.

    Computed from the fold's ``predictions.csv`` with the report's own code, so the table's
    numbers and keys are the report's.
    """
    import wandb

    from mmfa.experiments.fold_metrics import report_metrics

    if wandb.run is None or not problem.per_class:
        return
    ids, target, scores = problem.read_predictions(predictions, class_names)
    fold = report_metrics(problem, target, scores, class_names, predictions.parent.name)
    columns = list(problem.per_class)
    rows = [
        [name] + [float(fold.per_class[m][k]) for m in columns]
        for k, name in enumerate(class_names)
    ]
    payload: dict[str, Any] = {
        "test/per_class": wandb.Table(columns=["class", *columns], data=rows),
    }
    confusion = fold.confusion
    if confusion is not None and confusion.ndim == 2:
        cells = [
            [class_names[i], class_names[j], int(confusion[i, j])]
            for i in range(len(class_names))
            for j in range(len(class_names))
        ]
        payload["test/confusion_matrix"] = wandb.Table(
            columns=["true", "predicted", "count"], data=cells
        )
    wandb.log(payload)


def log_run_summary(
    run_dir: Path, report: dict[str, Any], *, project: str, tags: list[str]
) -> None:
    """One ``summary`` run in the group: the report's numbers, tables and plots."""
    import wandb

    run = wandb.init(
        project=project,
        group=run_dir.name,
        job_type="summary",
        name=f"{run_dir.name}-summary",
        dir=str(run_dir),
        tags=tags,
        config={"run_dir": str(run_dir)},
        reinit=True,
    )
    summary = _flatten(report.get("mean", {}), "cv/mean/")
    summary.update(_flatten(report.get("std", {}), "cv/std/"))
    if report.get("seeds"):  # how far a whole cross-validation moves with the seed alone
        summary.update(_flatten(report["seeds"]["std"], "cv/seed_std/"))
    run.summary.update(summary)
    images = {f"cv/{p.stem}": wandb.Image(str(p)) for p in (run_dir / "report").glob("*.png")}
    if images:
        run.log(images)
    markdown = run_dir / "report" / "report.md"
    if markdown.exists():
        artifact = wandb.Artifact(artifact_name(f"{run_dir.name}-report"), type="report")
        artifact.add_dir(str(run_dir / "report"))
        run.log_artifact(artifact)
    run.finish()


def artifact_name(text: str) -> str:
    """``text`` as a W&B artifact name: letters, digits, ``-``, ``_``, ``.``; at most 128.

    A run folder may be named ``h24-MMFAFusion+path``; W&B refuses the ``+``.
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:128] or "report"


def _flatten(values: Any, prefix: str) -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(values, dict):
        for key, value in values.items():
            out.update(
                _flatten(value, f"{prefix}{key}/")
                if isinstance(value, dict)
                else {f"{prefix}{key}": value}
                if isinstance(value, int | float)
                else {}
            )
    return {k.rstrip("/"): v for k, v in out.items()}
