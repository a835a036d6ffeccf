"""The one home of the problem type: what a label is, and everything that follows from it.

A corpus declares its problem (``multiclass`` for one emotion per utterance, the paper's setting;
``multilabel`` for several present emotions; ``regression`` for a sentiment score). Everything that
depends on it asks :func:`get_problem` instead of comparing strings: the loss, the score activation,
the validation metric that selects checkpoints (:mod:`mmfa.callbacks.selection`), the label checks,
the columns of ``predictions.csv`` and the report's headline and per-class keys.

This module is plain data: of mmfa it imports only the ground floor (:mod:`mmfa.errors`). What is
built from a problem lives above it, in tables keyed by :attr:`Problem.kind`: the torchmetrics
collections of training (:func:`mmfa.metrics.build_metrics`, :func:`mmfa.metrics.build_confusion`)
and the scikit-learn metrics of reports (:func:`mmfa.experiments.fold_metrics.report_metrics`).

The metric vocabulary is defined once, in :data:`METRICS`: the keys logged in training
(``val/UA``, ``test/F1_w``, ``test/F1/angry``) are the keys of reports, CSVs and W&B; the paper's
titles (ACC, ACC_B, PRE, ...) are display labels only.

This module imports neither torch nor scikit-learn at import time: reports and plugin listing use
it without the training stack.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

import numpy as np

from mmfa.errors import ConfigError, MMFAError

if TYPE_CHECKING:
    from torch import Tensor

ProblemType = Literal["multiclass", "multilabel", "regression"]
PROBLEM_TYPES: tuple[str, ...] = get_args(ProblemType)

#: Beta of the paper's F-beta score (Appendix B: "beta = 0.5 ... more weight to precision").
FBETA = 0.5
#: Decision threshold on sigmoid outputs for multilabel (emotion presence) metrics.
MULTILABEL_THRESHOLD = 0.5


@dataclass(frozen=True)
class MetricInfo:
    """One metric of the vocabulary.

    Attributes:
        label: the paper-style title shown in reports (display only, never a key).
        meaning: the definition, written once (docs/metrics.md is tested against it).
        percent: shown in percent (fractions); False for MAE and Pearson r.
        higher_is_better: direction, for monitors and comparisons.
    """

    label: str
    meaning: str
    percent: bool = True
    higher_is_better: bool = True


#: Every metric key mmfa logs and reports. ``<class>`` stands for a class (label) name.
METRICS: dict[str, MetricInfo] = {
    "WA": MetricInfo("ACC (WA)", "weighted accuracy = accuracy = correct / all (paper's ACC)"),
    "UA": MetricInfo(
        "ACC_B (UA)",
        "unweighted accuracy = balanced accuracy = mean recall over the classes present in the "
        "targets (paper's ACC_B); multilabel: mean over labels of (TPR + TNR) / 2",
    ),
    "precision_w": MetricInfo(
        "PRE", "precision averaged over classes (labels), weighted by support (paper's PRE)"
    ),
    "recall_w": MetricInfo(
        "REC", "recall averaged over classes (labels), weighted by support (paper's REC; = WA)"
    ),
    "Fbeta_w": MetricInfo(
        "Fβ", "F-beta with beta = 0.5, averaged over classes weighted by support (paper's Fβ)"
    ),
    "F1_w": MetricInfo("F1", "F1 averaged over classes (labels), weighted by support"),
    "F1_macro": MetricInfo("F1 (macro)", "F1, unweighted mean over classes (labels)"),
    "AUC_macro": MetricInfo(
        "AUC (macro)", "ROC-AUC, unweighted mean over classes (one-vs-rest) or labels"
    ),
    "acc_subset": MetricInfo(
        "ACC (exact match)", "multilabel: share of utterances with every label right"
    ),
    "acc_macro": MetricInfo(
        "ACC (per label)", "multilabel: mean over labels of per-label accuracy (threshold 0.5)"
    ),
    "MAE": MetricInfo(
        "MAE", "regression: mean absolute error", percent=False, higher_is_better=False
    ),
    "pearson": MetricInfo(
        "Pearson r", "regression: Pearson correlation of predictions and targets", percent=False
    ),
    "acc2": MetricInfo(
        "Acc-2", "regression: accuracy of the sign, non-negative (>= 0) vs negative"
    ),
    "acc2_nonzero": MetricInfo(
        "Acc-2 (non-zero)", "regression: accuracy of the sign (> 0 vs < 0), targets == 0 left out"
    ),
    "acc7": MetricInfo(
        "Acc-7", "regression: accuracy after rounding and clipping both to the integers -3..3"
    ),
    "F1_2": MetricInfo(
        "F1 (sign)", "regression: support-weighted F1 of the sign, non-negative vs negative"
    ),
    "F1_2_nonzero": MetricInfo(
        "F1 (sign, non-zero)", "regression: support-weighted F1 of the sign, targets == 0 left out"
    ),
    "precision/<class>": MetricInfo("PRE", "precision of one class (label)"),
    "recall/<class>": MetricInfo("REC", "recall of one class (label)"),
    "F1/<class>": MetricInfo("F1", "F1 of one class (label)"),
    "AUC/<class>": MetricInfo("AUC", "ROC-AUC of one class vs the rest (of one label)"),
    "acc/<class>": MetricInfo("ACC", "multilabel: accuracy of one label (threshold 0.5)"),
}


def metric_info(key: str) -> MetricInfo:
    """The vocabulary entry of a key, with or without a stage prefix or class name.

    Args:
        key: e.g. ``"UA"``, ``"val/UA"``, ``"test/F1/angry"`` or ``"F1"`` (a per-class column).

    Raises:
        KeyError: the key names no metric of :data:`METRICS`.
    """
    parts = key.split("/")
    for start in range(len(parts)):
        rest = parts[start:]
        for candidate in ("/".join(rest), f"{rest[0]}/<class>"):
            if candidate in METRICS:
                return METRICS[candidate]
    raise KeyError(f"no metric named {key!r}; known: {sorted(METRICS)}")


def metric_label(key: str) -> str:
    """The display title of a key (``"UA"`` -> ``"ACC_B (UA)"``); unknown keys show as they are."""
    try:
        return metric_info(key).label
    except KeyError:
        return key


class PredictionFormatError(MMFAError, ValueError):
    """A ``predictions.csv`` lacks a column or holds a bad value; the message names the file."""


@dataclass(frozen=True)
class Problem:
    """What follows from a problem type. Use :func:`get_problem`; never compare the type string.

    Attributes:
        kind: ``multiclass``, ``multilabel`` or ``regression``.
        headline: report and comparison keys, in the paper's column order.
        per_class: per-class (per-label) keys, logged as ``<key>/<class>``.
        monitor: the validation metric that selects checkpoints by default (``val/...``).
        mode: ``max`` or ``min`` for :attr:`monitor`.
    """

    kind: ClassVar[ProblemType]
    headline: ClassVar[tuple[str, ...]]
    per_class: ClassVar[tuple[str, ...]] = ()
    monitor: ClassVar[str] = "val/UA"
    mode: ClassVar[str] = "max"

    #: Fewest declared classes (labels) a corpus of this problem needs.
    min_classes: ClassVar[int] = 1
    #: One class per utterance, predicted by argmax (confusion matrices, collapse checks).
    single_label: ClassVar[bool] = False

    # -- sizes and labels ----------------------------------------------------------------------
    def num_outputs(self, num_classes: int) -> int:
        """Logits the network must produce for ``num_classes`` classes (labels)."""
        return num_classes

    def label_ok(self, label: Any, num_classes: int) -> bool:
        """Whether a manifest label (:class:`~mmfa.manifest.Utterance`) fits this problem."""
        raise NotImplementedError

    def expected_label(self, class_names: Sequence[str]) -> str:
        """What a valid label looks like, for error messages."""
        raise NotImplementedError

    # -- training ------------------------------------------------------------------------------
    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        """Training loss of logits ``(B, num_outputs)`` against targets."""
        raise NotImplementedError

    def scores(self, logits: Tensor) -> Tensor:
        """What metrics and predictions read: probabilities ``(B, C)`` or values ``(B,)``."""
        raise NotImplementedError

    # -- reports -------------------------------------------------------------------------------
    def predicted(self, scores: np.ndarray, class_names: Sequence[str]) -> list[str]:
        """Human-readable predictions per row of ``scores``."""
        raise NotImplementedError

    # -- predictions.csv -----------------------------------------------------------------------
    def target_columns(self, class_names: Sequence[str]) -> list[str]:
        """Columns holding the gold label."""
        return ["target"]

    def score_columns(self, class_names: Sequence[str]) -> list[str]:
        """Columns holding the model's scores."""
        return [f"score_{n}" for n in class_names]

    def target_cells(self, target: Any) -> list[Any]:
        """CSV cells of one gold label."""
        return [int(target)]

    def score_cells(self, scores: Any) -> list[str]:
        """CSV cells of one utterance's scores."""
        return [f"{float(v):.6f}" for v in np.asarray(scores, dtype=float).reshape(-1)]

    def read_predictions(
        self, path: Path, class_names: Sequence[str]
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Parse a ``predictions.csv`` into ids, targets and scores.

        Raises:
            PredictionFormatError: a missing column, a non-number, or a target outside the labels.
        """
        t_cols, s_cols = self.target_columns(class_names), self.score_columns(class_names)
        ids: list[str] = []
        rows_t: list[list[float]] = []
        rows_s: list[list[float]] = []
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ["id", *t_cols, *s_cols] if c not in (reader.fieldnames or [])]
            if missing:
                raise PredictionFormatError(
                    f"{path}: missing column(s) {missing} for a {self.kind} run with "
                    f"classes {list(class_names)}"
                )
            for line, row in enumerate(reader, start=2):
                try:
                    rows_t.append([float(row[c]) for c in t_cols])
                    rows_s.append([float(row[c]) for c in s_cols])
                except (TypeError, ValueError) as err:
                    raise PredictionFormatError(
                        f"{path}, line {line} (id {row.get('id')!r}): not a number: {err}"
                    ) from None
                ids.append(str(row["id"]))
        target, scores = np.asarray(rows_t, dtype=float), np.asarray(rows_s, dtype=float)
        if not ids:
            raise PredictionFormatError(f"{path}: no prediction rows")
        if not (np.isfinite(target).all() and np.isfinite(scores).all()):
            raise PredictionFormatError(f"{path}: NaN or infinite target/score values")
        return ids, *self._shape(path, ids, target, scores, class_names)

    def _shape(
        self,
        path: Path,
        ids: list[str],
        target: np.ndarray,
        scores: np.ndarray,
        class_names: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _check_targets(
        self, path: Path, ids: list[str], target: np.ndarray, allowed: Sequence[int]
    ) -> np.ndarray:
        bad = ~np.isin(target, allowed)
        if bad.any():
            first = int(np.argwhere(bad)[0][0])
            raise PredictionFormatError(
                f"{path}, line {first + 2} (id {ids[first]!r}): target must be in "
                f"{list(allowed)}, got {target[first].tolist()}"
            )
        return target.astype(int)


class Multiclass(Problem):
    """One class per utterance (the paper): cross-entropy, softmax scores, argmax prediction."""

    kind = "multiclass"
    headline = ("WA", "UA", "precision_w", "recall_w", "Fbeta_w", "F1_w", "F1_macro", "AUC_macro")
    per_class = ("precision", "recall", "F1", "AUC")
    min_classes = 2
    single_label = True

    def label_ok(self, label: Any, num_classes: int) -> bool:
        """A class index: an int (not a bool) in ``0..num_classes - 1``."""
        if not isinstance(label, Integral) or isinstance(label, bool):
            return False
        return 0 <= int(label) < num_classes

    def expected_label(self, class_names: Sequence[str]) -> str:
        """E.g. ``classes (an int in 0..3 for [...])``."""
        return f"classes (an int in 0..{len(class_names) - 1} for {list(class_names)})"

    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        """Cross-entropy, paper eq. (14)."""
        import torch.nn.functional as F

        return F.cross_entropy(logits, target)

    def scores(self, logits: Tensor) -> Tensor:
        """Softmax probabilities ``(B, C)``."""
        return logits.softmax(-1)

    def predicted(self, scores: np.ndarray, class_names: Sequence[str]) -> list[str]:
        """The class of highest probability."""
        return [str(class_names[k]) for k in np.asarray(scores).argmax(axis=-1)]

    def _shape(
        self,
        path: Path,
        ids: list[str],
        target: np.ndarray,
        scores: np.ndarray,
        class_names: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        target = self._check_targets(path, ids, target, range(len(class_names)))
        return target[:, 0], scores


class Multilabel(Problem):
    """Several present emotions per utterance: binary cross-entropy, sigmoid, threshold 0.5."""

    kind = "multilabel"
    headline = (
        "acc_subset",
        "acc_macro",
        "UA",
        "precision_w",
        "recall_w",
        "Fbeta_w",
        "F1_w",
        "F1_macro",
        "AUC_macro",
    )
    per_class = ("acc", "precision", "recall", "F1", "AUC")

    def label_ok(self, label: Any, num_classes: int) -> bool:
        """A tuple of ``num_classes`` finite 0/1 values."""
        return (
            isinstance(label, tuple)
            and len(label) == num_classes
            and all(isinstance(v, Real) and math.isfinite(float(v)) for v in label)
        )

    def expected_label(self, class_names: Sequence[str]) -> str:
        """E.g. ``labels (a tuple of 6 finite values for [...])``."""
        return f"labels (a tuple of {len(class_names)} finite values for {list(class_names)})"

    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        """Binary cross-entropy per label."""
        import torch.nn.functional as F

        return F.binary_cross_entropy_with_logits(logits, target)

    def scores(self, logits: Tensor) -> Tensor:
        """Sigmoid probabilities ``(B, L)``."""
        return logits.sigmoid()

    def predicted(self, scores: np.ndarray, class_names: Sequence[str]) -> list[str]:
        """The labels scored above 0.5, joined by ``+`` (empty: none)."""
        return [
            "+".join(str(n) for n, s in zip(class_names, row, strict=True) if s > 0.5)
            for row in np.asarray(scores)
        ]

    def target_columns(self, class_names: Sequence[str]) -> list[str]:
        """One 0/1 column per label."""
        return [f"target_{n}" for n in class_names]

    def target_cells(self, target: Any) -> list[Any]:
        """0/1 per label."""
        return [int(v) for v in np.asarray(target, dtype=float).reshape(-1)]

    def _shape(
        self,
        path: Path,
        ids: list[str],
        target: np.ndarray,
        scores: np.ndarray,
        class_names: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._check_targets(path, ids, target, (0, 1)), scores


class Regression(Problem):
    """A score per utterance (CMU-MOSEI sentiment in [-3, 3]): L1 loss, the raw output."""

    kind = "regression"
    headline = ("MAE", "pearson", "acc2", "acc2_nonzero", "acc7", "F1_2", "F1_2_nonzero")
    monitor = "val/MAE"
    mode = "min"
    min_classes = 0

    def label_ok(self, label: Any, num_classes: int) -> bool:
        """A finite number."""
        return isinstance(label, Real) and not isinstance(label, bool) and math.isfinite(label)

    def expected_label(self, class_names: Sequence[str]) -> str:
        """A finite number."""
        return "range (a finite number)"

    def num_outputs(self, num_classes: int) -> int:
        """One value, whatever the label names."""
        return 1

    def loss(self, logits: Tensor, target: Tensor) -> Tensor:
        """Mean absolute error, the field's loss for MOSEI sentiment."""
        import torch.nn.functional as F

        return F.l1_loss(logits.squeeze(-1), target)

    def scores(self, logits: Tensor) -> Tensor:
        """The output itself ``(B,)``."""
        return logits.squeeze(-1)

    def predicted(self, scores: np.ndarray, class_names: Sequence[str]) -> list[str]:
        """The value, 4 decimals."""
        return [f"{float(v):.4f}" for v in np.asarray(scores).reshape(-1)]

    def score_columns(self, class_names: Sequence[str]) -> list[str]:
        """One ``score`` column."""
        return ["score"]

    def target_cells(self, target: Any) -> list[Any]:
        """The gold value."""
        return [f"{float(target):.6f}"]

    def _shape(
        self,
        path: Path,
        ids: list[str],
        target: np.ndarray,
        scores: np.ndarray,
        class_names: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        return target[:, 0], scores[:, 0]


_PROBLEMS: dict[str, Problem] = {p.kind: p for p in (Multiclass(), Multilabel(), Regression())}


def get_problem(kind: str | Problem, key: str = "task_type") -> Problem:
    """The :class:`Problem` of a problem type.

    Args:
        kind: ``multiclass``, ``multilabel`` or ``regression`` (or a Problem, returned as is).
        key: the config key or file field that held ``kind``, named in the error.

    Raises:
        ConfigError: an unknown problem type.
    """
    if isinstance(kind, Problem):
        return kind
    try:
        return _PROBLEMS[kind]
    except (KeyError, TypeError):
        raise ConfigError(
            f"{key}={kind!r} is not a problem type; use one of {list(PROBLEM_TYPES)}"
        ) from None
