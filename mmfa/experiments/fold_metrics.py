"""Metrics of one fold's test predictions, computed with scikit-learn.

The paper computes every metric with scikit-learn (its Appendix B), so these functions are the
reference that the toolkit's torchmetrics numbers are checked against. Each returns plain floats
(fractions, not percent) so that a report can average them over folds.

:func:`report_metrics` picks the function of a problem from a table keyed by its kind (so that
:mod:`mmfa.problem` stays plain data). Keys are the vocabulary of :data:`mmfa.problem.METRICS`, the
same as training logs. Conventions:

- ``precision_w``, ``recall_w``, ``Fbeta_w`` (β = 0.5) and ``F1_w`` are support-weighted averages
  over classes, as in the paper's Tables 3-4 (PRE, REC, Fβ, F1); ``recall_w`` therefore equals
  ``WA``. ``zero_division=0``: a class that is never
  predicted counts with precision 0 (scikit-learn's default value, without its warning).
- Per-class precision/recall/F1/AUC of a class with no test utterance in the fold are
  undefined (NaN), so fold means leave that fold out instead of averaging in a fake 0.
- Multilabel predictions are ``score > 0.5``, as torchmetrics thresholds them.
- Regression follows the CMU-MOSEI convention (MulT's ``eval_mosei_senti``): Acc-2 on sign with
  zero counted as positive, Acc-2 (non-zero) dropping zero targets, Acc-7 on ``round(clip(x, -3,
  3))`` (NumPy's round-half-to-even).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import pearsonr
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from mmfa.problem import FBETA as BETA
from mmfa.problem import MULTILABEL_THRESHOLD as THRESHOLD

if TYPE_CHECKING:
    from mmfa.problem import Problem


@dataclass
class FoldMetrics:
    """What one fold contributes to a report.

    Attributes:
        headline: metric name -> value (NaN where undefined).
        per_class: metric name -> values, shape ``(K,)`` (NaN where undefined).
        support: test utterances (multiclass) or positives (multilabel) per class, shape ``(K,)``.
        confusion: summed-up-able confusion counts: ``(K, K)`` multiclass, ``(K, 2, 2)``
            multilabel, ``None`` for regression.
        notes: why some value is NaN or what convention decided it.
    """

    headline: dict[str, float]
    per_class: dict[str, np.ndarray] = field(default_factory=dict)
    support: np.ndarray | None = None
    confusion: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence scikit-learn's undefined-metric warnings: the notes say it once, in the report."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        warnings.filterwarnings("ignore", message=".*input array is constant")
        yield


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC of one class against the rest; NaN when the fold holds only one side."""
    if positive.all() or not positive.any():
        return float("nan")
    return float(roc_auc_score(positive, score))


def multiclass_metrics(
    target: np.ndarray, scores: np.ndarray, class_names: list[str], fold: str = "pooled"
) -> FoldMetrics:
    """Headline, per-class and confusion metrics of single-label predictions.

    Args:
        target: class indices, shape ``(N,)``.
        scores: softmax probabilities, shape ``(N, K)``; the prediction is their argmax.
        class_names: ``K`` names, used in the notes.
        fold: the fold's name, used in the notes.
    """
    labels = list(range(len(class_names)))
    pred = scores.argmax(axis=1)
    with _quiet():
        pre, rec, fbeta, _ = precision_recall_fscore_support(
            target, pred, beta=BETA, labels=labels, average="weighted", zero_division=0
        )
        p_c, r_c, f_c, support = precision_recall_fscore_support(
            target, pred, labels=labels, average=None, zero_division=0
        )
        auc_c = np.array([_binary_auc(target == k, scores[:, k]) for k in labels])
        absent = support == 0
        if absent.any():
            auc_macro = float("nan")
        elif len(labels) == 2:  # scikit-learn wants the positive class's score alone here
            auc_macro = float(roc_auc_score(target, scores[:, 1]))
        else:
            auc_macro = float(
                roc_auc_score(target, scores, multi_class="ovr", average="macro", labels=labels)
            )
        headline = {
            "WA": float(accuracy_score(target, pred)),
            "UA": float(balanced_accuracy_score(target, pred)),
            "precision_w": float(pre),
            "recall_w": float(rec),
            "Fbeta_w": float(fbeta),
            "F1_w": float(
                f1_score(target, pred, labels=labels, average="weighted", zero_division=0)
            ),
            "F1_macro": float(
                f1_score(target, pred, labels=labels, average="macro", zero_division=0)
            ),
            "AUC_macro": auc_macro,
        }
    notes = []
    for k in np.flatnonzero(absent):
        notes.append(
            f"fold {fold}: no test utterance of class {class_names[k]!r}: its per-class "
            "precision/recall/F1/AUC are undefined there (left out of the means), and so is "
            "the fold's AUC_macro (one-vs-rest needs every class)."
        )
    for k in np.flatnonzero((~absent) & ~np.isin(labels, pred)):
        notes.append(
            f"fold {fold}: class {class_names[k]!r} is never predicted: its precision "
            "counts as 0 (scikit-learn zero_division=0)."
        )
    per_class = {"precision": p_c, "recall": r_c, "F1": f_c, "AUC": auc_c}
    for values in per_class.values():
        values[absent] = np.nan
    return FoldMetrics(
        headline,
        {k: v.astype(float) for k, v in per_class.items()},
        support.astype(int),
        confusion_matrix(target, pred, labels=labels),
        notes,
    )


def _label_balanced_accuracy(target: np.ndarray, pred: np.ndarray) -> float:
    """Mean over labels of balanced accuracy; a rate with no sample (no positive) is left out."""
    per_label = []
    for k in range(target.shape[1]):
        if len(np.unique(target[:, k])) == 1:
            # One class present: balanced accuracy is that class's recall (TPR or TNR).
            per_label.append(float(np.mean(pred[:, k] == target[0, k])))
        else:
            per_label.append(float(balanced_accuracy_score(target[:, k], pred[:, k])))
    return float(np.mean(per_label)) if per_label else float("nan")


def multilabel_metrics(
    target: np.ndarray, scores: np.ndarray, class_names: list[str], fold: str = "pooled"
) -> FoldMetrics:
    """Headline and per-label metrics of multi-label predictions.

    Args:
        target: 0/1 labels, shape ``(N, K)``.
        scores: sigmoid probabilities, shape ``(N, K)``; predicted positive where ``> 0.5``.
        class_names: ``K`` label names, used in the notes.
        fold: the fold's name, used in the notes.
    """
    pred = (scores > THRESHOLD).astype(int)
    k_all = range(len(class_names))
    with _quiet():
        pre, rec, fbeta, _ = precision_recall_fscore_support(
            target, pred, beta=BETA, average="weighted", zero_division=0
        )
        p_c, r_c, f_c, support = precision_recall_fscore_support(
            target, pred, average=None, zero_division=0
        )
        auc_c = np.array([_binary_auc(target[:, k] == 1, scores[:, k]) for k in k_all])
        acc_c = np.array([accuracy_score(target[:, k], pred[:, k]) for k in k_all])
        headline = {
            "acc_subset": float(accuracy_score(target, pred)),  # every label right
            "acc_macro": float(acc_c.mean()),
            "UA": _label_balanced_accuracy(target, pred),
            "precision_w": float(pre),
            "recall_w": float(rec),
            "Fbeta_w": float(fbeta),
            "F1_w": float(f1_score(target, pred, average="weighted", zero_division=0)),
            "F1_macro": float(f1_score(target, pred, average="macro", zero_division=0)),
            "AUC_macro": float("nan")
            if np.isnan(auc_c).any()
            else float(roc_auc_score(target, scores, average="macro")),
        }
    absent = support == 0
    notes = [
        f"fold {fold}: label {class_names[k]!r} has no positive test utterance: its "
        "precision/recall/F1 are undefined there (left out of the means)."
        for k in np.flatnonzero(absent)
    ]
    notes += [
        f"fold {fold}: label {class_names[k]!r} has a single class among the test "
        "utterances: its AUC, and the fold's AUC_macro, are undefined."
        for k in np.flatnonzero(np.isnan(auc_c))
    ]
    per_class = {"acc": acc_c, "precision": p_c, "recall": r_c, "F1": f_c, "AUC": auc_c}
    for name in ("precision", "recall", "F1"):
        per_class[name][absent] = np.nan
    return FoldMetrics(
        headline,
        {k: v.astype(float) for k, v in per_class.items()},
        support.astype(int),
        multilabel_confusion_matrix(target, pred),
        notes,
    )


def regression_metrics(target: np.ndarray, score: np.ndarray, fold: str = "pooled") -> FoldMetrics:
    """Sentiment-score metrics (CMU-MOSEI style) of one fold.

    Args:
        target: gold scores in ``[-3, 3]``, shape ``(N,)``.
        score: predicted scores, shape ``(N,)``.
        fold: the fold's name, used in the notes.
    """
    nonzero = target != 0
    notes = []
    with _quiet():
        r = float(pearsonr(target, score)[0]) if len(target) > 1 else float("nan")
        if np.isnan(r):
            notes.append(f"fold {fold}: Pearson r is undefined (constant targets or scores).")
        if nonzero.any():
            acc2_nz = float(accuracy_score(target[nonzero] > 0, score[nonzero] > 0))
            f1_nz = float(f1_score(target[nonzero] > 0, score[nonzero] > 0, average="weighted"))
        else:
            acc2_nz = f1_nz = float("nan")
            notes.append(f"fold {fold}: every target is 0: the non-zero Acc-2/F1 are undefined.")
        headline = {
            "MAE": float(mean_absolute_error(target, score)),
            "pearson": r,
            "acc2": float(accuracy_score(target >= 0, score >= 0)),
            "acc2_nonzero": acc2_nz,
            "acc7": float(
                accuracy_score(np.round(np.clip(target, -3, 3)), np.round(np.clip(score, -3, 3)))
            ),
            "F1_2": float(f1_score(target >= 0, score >= 0, average="weighted")),
            "F1_2_nonzero": f1_nz,
        }
    return FoldMetrics(headline, notes=notes)


#: Problem kind -> its scikit-learn metrics of one fold: (target, scores, class_names, fold).
_REPORTS: dict[str, Callable[[np.ndarray, np.ndarray, list[str], str], FoldMetrics]] = {
    "multiclass": multiclass_metrics,
    "multilabel": multilabel_metrics,
    "regression": lambda target, scores, class_names, fold: regression_metrics(
        target, scores, fold
    ),
}


def report_metrics(
    problem: Problem, target: np.ndarray, scores: np.ndarray, class_names: list[str], fold: str
) -> FoldMetrics:
    """The metrics of one fold for a problem: the keys of training's, computed with scikit-learn.

    Args:
        problem: the problem (:func:`mmfa.problem.get_problem`).
        target: gold labels as :meth:`mmfa.problem.Problem.read_predictions` returns them.
        scores: the model's scores, likewise.
        class_names: one name per class (label); unused for regression.
        fold: the fold's name, used in the notes.
    """
    return _REPORTS[problem.kind](target, scores, class_names, fold)


STD_DDOF = 0  # population std (NumPy's default); the paper does not say which it used


def summarise(values: Sequence[float]) -> dict[str, Any]:
    """Mean ± std (ddof=0) over the folds where a value is defined, with the per-fold values."""
    array = np.asarray(values, dtype=float)
    used = array[~np.isnan(array)]
    return {
        "mean": float(used.mean()) if used.size else float("nan"),
        "std": float(used.std(ddof=STD_DDOF)) if used.size else float("nan"),
        "n_folds": int(used.size),
        "per_fold": array.tolist(),
    }
