"""Paper-style reports from a cross-validation run's saved per-fold test predictions.

A run folder, as ``mmfa cv`` writes it (see :mod:`mmfa.experiments.cv`)::

    RUN/run.json                        {"task_type", "class_names", "provenance": {...}}
    RUN/folds/<fold>/predictions.csv    one row per test utterance (below)
    RUN/folds/<fold>/fold.json          {"fold", "seed", "fold_manifest_sha256", "checkpoint",
                                         "val_metrics", ...}; copied into the provenance

``predictions.csv`` columns, by ``task_type``:

- ``multiclass``: ``id, target, score_<class>...`` (target = class index, softmax scores)
- ``multilabel``: ``id, target_<label>..., score_<label>...`` (0/1 targets, sigmoid scores)
- ``regression``: ``id, target, score``

then ``prediction`` (the predicted class; written by mmfa, not read: every number is recomputed
from the scores). Columns are read by name, so files without it (older runs) still read.

:func:`build_report` recomputes every number with scikit-learn (:mod:`.fold_metrics`), averages
over folds (mean ± population std, ddof=0) as the paper's Tables 3-4 and 8-9 do, and writes
``RUN/report/``: ``report.md``, ``report.json``, ``per_fold.csv``, ``per_class.csv`` and PNG
figures. :func:`build_test_report` writes the same report for the one ``predictions.csv`` of
``mmfa fit`` or ``mmfa test`` (:mod:`mmfa.run_summary`). :func:`compare_runs` puts several runs'
headline rows side by side.
"""

from __future__ import annotations

import csv
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmfa.experiments import plots
from mmfa.experiments.ensemble_report import seed_ensemble
from mmfa.experiments.fold_metrics import (
    BETA,
    STD_DDOF,
    THRESHOLD,
    FoldMetrics,
    report_metrics,
    summarise,
)
from mmfa.experiments.report_markdown import headline_table, render_report
from mmfa.experiments.run_folder import (
    FoldPredictions,
    RunFolderError,
    read_predictions,
    read_run,
)
from mmfa.problem import get_problem

__all__ = [
    "RunFolderError",
    "build_report",
    "build_test_report",
    "compare_runs",
    "fold_metrics",
    "summarise",
]


def fold_metrics(
    task: str, target: np.ndarray, scores: np.ndarray, class_names: list[str], fold: str
) -> FoldMetrics:
    """The problem's scikit-learn metrics of one fold (:mod:`.fold_metrics`)."""
    return report_metrics(get_problem(task), target, scores, class_names, fold)


def build_report(run_dir: Path) -> dict[str, Any]:
    """Compute a run's report and write it into ``run_dir/report/``.

    Args:
        run_dir: a run folder (layout in the module docstring).

    Returns:
        The report: ``mean``/``std``/``n_folds`` per headline metric (fractions), ``per_fold``,
        ``per_class``, ``pooled``, ``confusion_matrix``, ``provenance``, ``notes`` and ``files``.
        NaN marks an undefined value (``null`` in ``report.json``).
    """
    run_dir = Path(run_dir)
    run, folds, notes = read_run(run_dir)
    task, names = run["task_type"], [str(n) for n in run.get("class_names") or []]
    return _write_report(
        run_dir / "report",
        f"Cross-validation report: {run_dir.name}",
        run_dir,
        task,
        names,
        folds,
        notes,
        run.get("provenance", {}),
    )


def build_test_report(
    predictions: Path,
    task: str,
    class_names: Sequence[str],
    out: Path,
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report of one test run (``mmfa fit``/``mmfa test``): cv's report for a single fold.

    Args:
        predictions: the run's ``predictions.csv``.
        task: the problem type (``multiclass``, ``multilabel``, ``regression``).
        class_names: the class (label) names, in the model's order.
        out: the folder receiving ``report.md``, ``report.json``, ``per_class.csv`` and figures.
        info: what is known of the run (``checkpoint``, ``epochs``, ``best_epoch``,
            ``val_metrics``...), shown as the fold's provenance.

    Returns:
        The report, as :func:`build_report` returns it, with ``"single": True``.

    Raises:
        RunFolderError: ``predictions.csv`` lacks a column or holds a bad value.
    """
    predictions = Path(predictions)
    names = [str(n) for n in class_names]
    ids, target, scores = read_predictions(predictions, task, names)
    run_dir = predictions.parent
    fold = FoldPredictions(run_dir.name, ids, target, scores, dict(info or {}))
    title = f"Test report: {run_dir.parent.name}/{run_dir.name}"  # e.g. demo/version_3
    return _write_report(Path(out), title, run_dir, task, names, [fold], [], {}, single=True)


def _write_report(
    out: Path,
    title: str,
    run_dir: Path,
    task: str,
    names: list[str],
    folds: list[FoldPredictions],
    notes: list[str],
    provenance: dict[str, Any],
    *,
    single: bool = False,
) -> dict[str, Any]:
    """Compute the report of some folds' predictions and write it into ``out``."""
    per_fold = [fold_metrics(task, f.target, f.scores, names, f.name) for f in folds]
    pooled = fold_metrics(
        task,
        np.concatenate([f.target for f in folds]),
        np.concatenate([f.scores for f in folds]),
        names,
        "pooled",
    )
    problem = get_problem(task)
    headline = {k: summarise([m.headline[k] for m in per_fold]) for k in problem.headline}
    report: dict[str, Any] = {
        "title": title,
        "single": single,
        "run_dir": str(run_dir),
        "task_type": task,
        "class_names": names,
        "folds": [f.name for f in folds],
        "num_predictions": int(sum(len(f.ids) for f in folds)),
        "conventions": {
            "std_ddof": STD_DDOF,
            "beta": BETA,
            "average": "weighted",
            "zero_division": 0,
            "multilabel_threshold": THRESHOLD,
        },
        "headline": list(problem.headline),
        "mean": {k: v["mean"] for k, v in headline.items()},
        "std": {k: v["std"] for k, v in headline.items()},
        "n_folds": {k: v["n_folds"] for k, v in headline.items()},
        "per_fold": [
            {"fold": f.name, "n": len(f.ids), **m.headline}
            for f, m in zip(folds, per_fold, strict=True)
        ],
        "per_class": _per_class(task, names, per_fold),
        "pooled": pooled.headline,
        "seeds": _seeds(folds, per_fold, problem.headline),
        # Several seeds: their probabilities averaged per fold, scored like a fold.
        "ensemble": seed_ensemble(task, names, folds),
        "provenance": {
            "run": provenance,
            "folds": {f.name: f.info for f in folds},
            "report": _report_versions(),
        },
        "notes": notes + [n for m in per_fold for n in m.notes],
    }
    if report["ensemble"]:
        report["notes"] += report["ensemble"]["notes"]
    out.mkdir(parents=True, exist_ok=True)
    report["files"] = _write_figures(out, task, names, folds, per_fold, report)
    report["files"].update(
        {"markdown": "report.md", "json": "report.json", "per_fold": "per_fold.csv"}
    )
    _write_csv(out / "per_fold.csv", report["per_fold"])
    if report["per_class"]:
        report["files"]["per_class"] = "per_class.csv"
        _write_csv(out / "per_class.csv", _per_class_rows(report["per_class"]))
    (out / "report.json").write_text(json.dumps(_json_safe(report), indent=1))
    (out / "report.md").write_text(render_report(report))
    return report


def _seeds(
    folds: list[FoldPredictions], per_fold: list[FoldMetrics], metrics: Sequence[str]
) -> dict[str, Any] | None:
    """Per-seed means and their spread when the folds were trained with several seeds.

    The headline std mixes fold-to-fold and seed-to-seed spread; the std of the per-seed means
    says how much one whole cross-validation moves with the training seed alone. ``None`` for a
    run with one seed.
    """
    by_seed: dict[str, list[FoldMetrics]] = {}
    for fold, metric in zip(folds, per_fold, strict=True):
        seed = fold.info.get("seed")
        if seed is not None:
            by_seed.setdefault(str(seed), []).append(metric)
    if len(by_seed) < 2:
        return None
    per_seed = {
        seed: {k: summarise([m.headline[k] for m in ms])["mean"] for k in metrics}
        for seed, ms in by_seed.items()
    }
    spread = {k: summarise([row[k] for row in per_seed.values()]) for k in metrics}
    return {
        "per_seed": per_seed,
        "folds_per_seed": {seed: len(ms) for seed, ms in by_seed.items()},
        "mean": {k: v["mean"] for k, v in spread.items()},
        "std": {k: v["std"] for k, v in spread.items()},
    }


def _per_class(task: str, names: list[str], per_fold: list[FoldMetrics]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for k, name in enumerate(names):
        entry: dict[str, Any] = {
            "support": int(sum(int(m.support[k]) for m in per_fold if m.support is not None))
        }
        for metric in get_problem(task).per_class:
            entry[metric] = summarise([m.per_class[metric][k] for m in per_fold])
        table[name] = entry
    return table


def _per_class_rows(per_class: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, entry in per_class.items():
        row: dict[str, Any] = {"class": name, "support": entry["support"]}
        for metric, stats in entry.items():
            if isinstance(stats, dict):
                row.update(
                    {
                        f"{metric}_mean": stats["mean"],
                        f"{metric}_std": stats["std"],
                        f"{metric}_n_folds": stats["n_folds"],
                    }
                )
        rows.append(row)
    return rows


def _write_figures(
    out: Path,
    task: str,
    names: list[str],
    folds: list[FoldPredictions],
    per_fold: list[FoldMetrics],
    report: dict[str, Any],
) -> dict[str, str]:
    return _FIGURES[get_problem(task).kind](out, names, folds, per_fold, report)


def _scatter_figures(
    out: Path,
    names: list[str],
    folds: list[FoldPredictions],
    per_fold: list[FoldMetrics],
    report: dict[str, Any],
) -> dict[str, str]:
    plots.plot_scatter(
        out / "scatter.png", [(f.name, f.target, f.scores) for f in folds], title=report["title"]
    )
    return {"scatter": "scatter.png"}


def _multiclass_figures(
    out: Path,
    names: list[str],
    folds: list[FoldPredictions],
    per_fold: list[FoldMetrics],
    report: dict[str, Any],
) -> dict[str, str]:
    counts = _summed_confusion(per_fold)
    report["confusion_matrix"] = {
        "labels": names,
        "counts": counts.tolist(),
        "row_normalised": plots.row_normalise(counts).tolist(),
    }
    plots.plot_confusion(
        out / "confusion_matrix.png",
        counts,
        names,
        title=report["title"],
        counts_title="counts" if report["single"] else "counts (summed over folds)",
    )
    return _roc(
        out,
        names,
        [[(f.target == k, f.scores[:, k]) for f in folds] for k in range(len(names))],
        report,
    )


def _multilabel_figures(
    out: Path,
    names: list[str],
    folds: list[FoldPredictions],
    per_fold: list[FoldMetrics],
    report: dict[str, Any],
) -> dict[str, str]:
    counts = _summed_confusion(per_fold)
    report["confusion_matrix"] = {
        "labels": names,
        "layout": "[label][true][predicted]",
        "counts": counts.tolist(),
    }
    plots.plot_label_confusion(out / "confusion_matrix.png", counts, names, title=report["title"])
    positives = [[(f.target[:, k] == 1, f.scores[:, k]) for f in folds] for k in range(len(names))]
    return _roc(out, names, positives, report)


def _summed_confusion(per_fold: list[FoldMetrics]) -> np.ndarray:
    return np.sum([m.confusion for m in per_fold if m.confusion is not None], axis=0).astype(int)


def _roc(
    out: Path,
    names: list[str],
    positives: list[list[tuple[np.ndarray, np.ndarray]]],
    report: dict[str, Any],
) -> dict[str, str]:
    """Per-class ROC curves over folds; returns the files of a classification report."""
    auc = [report["per_class"][n]["AUC"] for n in names]
    plots.plot_roc(
        out / "roc_curves.png",
        names,
        positives,
        [a["mean"] for a in auc],
        [a["std"] for a in auc],
        title=report["title"],
    )
    return {"confusion_matrix": "confusion_matrix.png", "roc_curves": "roc_curves.png"}


_FIGURES = {
    "regression": _scatter_figures,
    "multiclass": _multiclass_figures,
    "multilabel": _multilabel_figures,
}


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _report_versions() -> dict[str, str]:
    """Versions of what computed the report (the run's own versions are in run.json)."""
    from mmfa.provenance import package_versions

    versions = package_versions(["mmfa", "scikit-learn", "numpy", "scipy", "matplotlib"])
    return {"python": platform.python_version(), **versions}


def _json_safe(value: Any) -> Any:
    """NaN -> null (strict JSON), NumPy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def compare_runs(run_dirs: Sequence[Path], out: Path, labels: Sequence[str] | None = None) -> str:
    """Put several runs' headline metrics side by side (the paper's audio / text / multimodal rows).

    Each run's ``report/report.json`` is read, or built first when missing.

    Args:
        run_dirs: run folders, one table row each, in this order.
        out: folder receiving ``comparison.md`` and ``comparison.csv``.
        labels: a row label per run (e.g. ``"audio-only / 4class / improvised"``); default: the
            run folders' names.

    Returns:
        The Markdown written to ``out/comparison.md``.
    """
    run_dirs = [Path(p) for p in run_dirs]
    if labels is not None and len(labels) != len(run_dirs):
        raise ValueError(f"compare_runs: {len(labels)} labels for {len(run_dirs)} runs")
    names = list(labels) if labels is not None else [p.name for p in run_dirs]
    reports = []
    for run_dir in run_dirs:
        path = run_dir / "report" / "report.json"
        if not path.exists():
            build_report(run_dir)
        reports.append(json.loads(path.read_text()))
    metrics: list[str] = []
    for report in reports:
        metrics += [m for m in report["headline"] if m not in metrics]
    rows = []
    for name, run_dir, report in zip(names, run_dirs, reports, strict=True):
        row: dict[str, Any] = {
            "label": name,
            "run_dir": str(run_dir),
            "task_type": report["task_type"],
            "folds": len(report["folds"]),
        }
        for metric in metrics:
            row[f"{metric}_mean"] = _nan(report["mean"].get(metric))
            row[f"{metric}_std"] = _nan(report["std"].get(metric))
        rows.append(row)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "comparison.csv", rows)
    markdown = "\n".join(
        [
            "# Run comparison",
            "",
            f"Mean ± std over folds (std with ddof={STD_DDOF}); percent except MAE and Pearson r.",
            "",
            headline_table(rows, metrics, lead=["label", "task_type", "folds"]),
            "",
        ]
    )
    (out / "comparison.md").write_text(markdown)
    return markdown
