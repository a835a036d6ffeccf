"""The report's figures: confusion matrices, per-class ROC curves over folds, a regression scatter.

Figures are built with matplotlib's object API (``Figure`` + ``savefig``), never ``pyplot``: no
display backend is needed and no global figure state leaks into a training process.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

FPR_GRID = np.linspace(0.0, 1.0, 101)  # common grid on which fold curves are averaged


def _annotated_matrix(
    ax: Axes,
    values: np.ndarray,
    row_names: Sequence[str],
    col_names: Sequence[str],
    fmt: str,
    title: str,
) -> None:
    image = ax.imshow(values, cmap="Blues", vmin=0)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(col_names)), labels=list(col_names), rotation=45, ha="right")
    ax.set_yticks(range(len(row_names)), labels=list(row_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if values.size <= 400:  # beyond ~20x20 the numbers are unreadable anyway
        top = float(values.max()) if values.size else 0.0
        for (i, j), value in np.ndenumerate(values):
            color = "white" if top and value > 0.6 * top else "black"
            ax.text(j, i, format(value, fmt), ha="center", va="center", color=color, fontsize=8)


def plot_confusion(
    path: Path,
    counts: np.ndarray,
    class_names: Sequence[str],
    title: str = "",
    counts_title: str = "counts (summed over folds)",
) -> None:
    """Plot the confusion counts summed over folds beside the row-normalised matrix.

    Args:
        path: the PNG to write.
        counts: ``(K, K)`` counts, rows = true class, columns = predicted class.
        class_names: ``K`` names.
        title: the figure's title (the run's name), so a PNG seen alone says where it is from.
        counts_title: the counts' subtitle (``"counts"`` for one run).
    """
    fig = Figure(
        figsize=(6 + 0.9 * len(class_names), 3.2 + 0.35 * len(class_names)), layout="constrained"
    )
    fig.suptitle(title)
    left, right = fig.subplots(1, 2)
    _annotated_matrix(left, counts, class_names, class_names, "d", counts_title)
    _annotated_matrix(
        right, row_normalise(counts), class_names, class_names, ".2f", "row-normalised"
    )
    fig.savefig(path, dpi=120)


def plot_label_confusion(
    path: Path, counts: np.ndarray, label_names: Sequence[str], title: str = ""
) -> None:
    """One 2x2 confusion matrix per label (multilabel), counts summed over folds.

    Args:
        path: the PNG to write.
        counts: ``(K, 2, 2)`` as from ``sklearn.metrics.multilabel_confusion_matrix``.
        label_names: ``K`` names.
        title: the figure's title (the run's name).
    """
    cols = min(4, len(label_names))
    rows = math.ceil(len(label_names) / cols)
    fig = Figure(figsize=(3.2 * cols, 2.9 * rows), layout="constrained")
    fig.suptitle(title)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, name, matrix in zip(axes, label_names, counts, strict=False):
        _annotated_matrix(ax, matrix, ["0", "1"], ["0", "1"], "d", name)
    for ax in axes[len(label_names) :]:
        ax.set_visible(False)
    fig.savefig(path, dpi=120)


def row_normalise(counts: np.ndarray) -> np.ndarray:
    """Rows divided by their sums; a class with no true utterance keeps a row of zeros."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)


def mean_roc(folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[list[np.ndarray], np.ndarray]:
    """Each fold's TPR interpolated on ``FPR_GRID``, and their mean (scikit-learn's CV-ROC recipe).

    Args:
        folds: per fold, ``(is_positive, score)``, each of shape ``(N_fold,)``. Folds where the
            class is absent or is everything are skipped: their ROC curve is undefined.

    Returns:
        The interpolated TPR of each usable fold and their mean, each of shape ``(101,)``; the
        mean is all NaN when no fold is usable.
    """
    curves = []
    for positive, score in folds:
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, score)
        curve = np.interp(FPR_GRID, fpr, tpr)
        curve[0] = 0.0
        curves.append(curve)
    if not curves:
        return [], np.full_like(FPR_GRID, np.nan)
    mean = np.mean(curves, axis=0)
    mean[-1] = 1.0
    return curves, mean


def plot_roc(
    path: Path,
    class_names: Sequence[str],
    per_class: Sequence[Sequence[tuple[np.ndarray, np.ndarray]]],
    auc_mean: Sequence[float],
    auc_std: Sequence[float],
    title: str = "",
) -> None:
    """One subplot per class: a thin ROC curve per fold and their mean (paper Figs. 4-7).

    Args:
        path: the PNG to write.
        class_names: ``K`` names.
        per_class: for each class, per fold, ``(is_positive, score)`` (one-vs-rest).
        auc_mean: per-class AUC mean over folds, shown in the legend.
        auc_std: per-class AUC standard deviation over folds.
        title: the figure's title (the run's name).
    """
    cols = min(4, len(class_names))
    rows = math.ceil(len(class_names) / cols)
    fig = Figure(figsize=(3.4 * cols, 3.3 * rows), layout="constrained")
    fig.suptitle(title)
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True)).ravel()
    for ax, name, folds, mean_auc, std_auc in zip(
        axes, class_names, per_class, auc_mean, auc_std, strict=False
    ):
        curves, mean = mean_roc(folds)
        single = len(folds) == 1  # one run (mmfa fit/test): its curve, no mean over folds
        for curve in [] if single else curves:
            ax.plot(FPR_GRID, curve, color="tab:blue", lw=0.6, alpha=0.35)
        if curves:
            ax.plot(
                FPR_GRID,
                mean,
                color="tab:red",
                lw=2,
                label=f"AUC {mean_auc:.3f}"
                if single
                else f"mean, AUC {mean_auc:.3f} ± {std_auc:.3f}\n({len(curves)} folds)",
            )
            ax.legend(loc="lower right", fontsize=7)
        else:
            ax.text(0.5, 0.5, "undefined in every fold", ha="center", va="center")
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        ax.set_title(name)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
    for ax in axes[len(class_names) :]:
        ax.set_visible(False)
    fig.savefig(path, dpi=120)


def plot_scatter(
    path: Path, folds: Sequence[tuple[str, np.ndarray, np.ndarray]], title: str = ""
) -> None:
    """Predicted against gold scores, one colour per fold, with the identity line.

    Args:
        path: the PNG to write.
        folds: per fold, ``(name, target, score)`` with arrays of shape ``(N_fold,)``.
        title: the figure's title (the run's name).
    """
    fig = Figure(figsize=(5.5, 5), layout="constrained")
    ax = fig.subplots()
    lo = min([-3.0] + [float(min(t.min(), s.min())) for _, t, s in folds if len(t)])
    hi = max([3.0] + [float(max(t.max(), s.max())) for _, t, s in folds if len(t)])
    for name, target, score in folds:
        ax.scatter(target, score, s=6, alpha=0.5, label=name)
    ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("gold score")
    ax.set_ylabel("predicted score")
    ax.set_title(f"{title}: test predictions, all folds" if title else "test predictions")
    if len(folds) <= 12:
        ax.legend(fontsize=7, markerscale=2)
    fig.savefig(path, dpi=120)
