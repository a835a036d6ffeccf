"""The one place that builds metric collections (torchmetrics).

Build once, clone per stage with a slash prefix (``val/``, ``test/``)::

    metrics = build_metrics(get_problem("multiclass"), ["neutral", "angry", "sad", "happy"])
    val_metrics = metrics.clone(prefix="val/")   # keys: val/WA, val/UA, val/F1/angry, ...
    val_metrics.update(probs, target)            # probs (B, C) softmax, target (B,) int
    val_metrics.compute()

Every task takes ``collection.update(preds, target)``:

============  ==============================================  ==================================
task          ``preds``                                       ``target``
============  ==============================================  ==================================
multiclass    probabilities ``(B, C)`` (softmax outputs)      class index ``(B,)`` int
multilabel    probabilities ``(B, C)`` (sigmoid), ``> 0.5``   0/1 indicators ``(B, C)`` int/float
regression    values ``(B,)`` float (MOSEI sentiment)         values ``(B,)`` float in [-3, 3]
============  ==============================================  ==================================

Every key and what it means is defined once, in :data:`mmfa.problem.METRICS` (the same keys
appear in reports, CSVs and W&B; docs/metrics.md shows the table).

The two Acc-2 conventions are both in use in the field: "non-negative vs negative" (``acc2``)
counts neutral (0) targets as positive; "non-zero" (``acc2_nonzero``, as in MulT and most later
MOSEI work) drops them and calls a prediction positive when it is > 0. Rounding for ``acc7`` is
half-to-even, as numpy's (``np.round``) and torch's (``torch.round``) both do.

Conventions against scikit-learn (the paper computed its numbers with it; the tests check these):

- Undefined precision/recall/F (0 / 0) is 0, as sklearn's ``zero_division=0``.
- Macro averages skip classes absent from both targets and predictions, as sklearn does by
  default (its labels are those present in either).
- ``UA`` averages recall only over classes present in the targets, exactly as
  ``sklearn.metrics.balanced_accuracy_score``. torchmetrics' ``MulticlassAccuracy(average="macro")``
  would also count a class that is predicted but absent from the targets (recall 0), which pulls UA
  down on small folds (e.g. a LOSO speaker with no "fear"); hence the small class below.
- ROC-AUC of a class absent from the targets is undefined: sklearn raises, torchmetrics warns and
  returns a number (0) that ``AUC_macro`` then averages in. Read AUCs of such folds with care.

The confusion matrix is not a scalar: :func:`build_confusion` builds it.

What each problem gets is a table keyed by :attr:`mmfa.problem.Problem.kind` here, not a method of
the problem: :mod:`mmfa.problem` stays plain data that imports neither torch nor this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassFBetaScore,
    MulticlassPrecision,
    MulticlassRecall,
    MulticlassStatScores,
    MultilabelAccuracy,
    MultilabelAUROC,
    MultilabelConfusionMatrix,
    MultilabelExactMatch,
    MultilabelF1Score,
    MultilabelFBetaScore,
    MultilabelPrecision,
    MultilabelRecall,
    MultilabelStatScores,
)
from torchmetrics.regression import MeanAbsoluteError, PearsonCorrCoef
from torchmetrics.wrappers import ClasswiseWrapper

from mmfa.problem import FBETA, MULTILABEL_THRESHOLD

if TYPE_CHECKING:
    from mmfa.problem import Problem


# -- metrics torchmetrics lacks ------------------------------------------------------------------
class MulticlassBalancedAccuracy(MulticlassStatScores):
    """Balanced accuracy exactly as ``sklearn.metrics.balanced_accuracy_score``.

    Mean of per-class recall over the classes present in the targets (support > 0).

    Args:
        num_classes: number of classes C.
        **kwargs: passed to :class:`torchmetrics.Metric`.

    Update with ``preds`` (B, C) probabilities or (B,) class indices and ``target`` (B,) int.
    """

    higher_is_better = True
    full_state_update = False

    def __init__(self, num_classes: int, **kwargs: Any) -> None:
        super().__init__(num_classes=num_classes, average=None, **kwargs)

    def compute(self) -> Tensor:
        """Balanced accuracy, a scalar tensor (0 if no sample was seen)."""
        tp, _, _, fn = self._final_state()
        support = tp + fn
        present = support > 0
        if not present.any():
            return torch.tensor(0.0)
        return (tp[present].float() / support[present].float()).mean()


class MultilabelBalancedAccuracy(MultilabelStatScores):
    """Mean over labels of the per-label balanced accuracy (TPR + TNR) / 2.

    Per label this equals ``sklearn.metrics.balanced_accuracy_score`` on that column: a rate whose
    denominator is 0 (no positive, or no negative target) is left out of the label's mean.

    Args:
        num_labels: number of labels L.
        threshold: decision threshold on probabilities.
        **kwargs: passed to :class:`torchmetrics.Metric`.

    Update with ``preds`` (B, L) probabilities and ``target`` (B, L) 0/1.
    """

    higher_is_better = True
    full_state_update = False

    def __init__(self, num_labels: int, threshold: float = 0.5, **kwargs: Any) -> None:
        super().__init__(num_labels=num_labels, threshold=threshold, average=None, **kwargs)

    def compute(self) -> Tensor:
        """Balanced accuracy averaged over labels, a scalar tensor."""
        tp, fp, tn, fn = (s.float() for s in self._final_state())
        pos, neg = tp + fn, tn + fp
        rates = torch.stack([tp / pos.clamp(min=1), tn / neg.clamp(min=1)])  # (2, L)
        defined = torch.stack([pos > 0, neg > 0]).float()
        per_label = (rates * defined).sum(0) / defined.sum(0)  # nan for a label with no sample
        per_label = per_label[~per_label.isnan()]
        return per_label.mean() if per_label.numel() else torch.tensor(0.0)


def _as_long(target: Tensor) -> Tensor:
    # The task's BCE loss needs float 0/1 targets and multilabel stat scores take them, but
    # torchmetrics' AUROC and confusion matrix insist on integers: cast here, not in every caller.
    return target.long() if target.is_floating_point() else target


class MultilabelAUROCFloatTarget(MultilabelAUROC):
    """``MultilabelAUROC`` that also takes float 0/1 targets (B, L)."""

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch: ``preds`` (B, L) probabilities, ``target`` (B, L) 0/1 int or float."""
        super().update(preds, _as_long(target))


class MultilabelExactMatchFloatTarget(MultilabelExactMatch):
    """``MultilabelExactMatch`` (subset accuracy) that also takes float 0/1 targets (B, L)."""

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch: ``preds`` (B, L) probabilities, ``target`` (B, L) 0/1 int or float."""
        super().update(preds, _as_long(target))


class MultilabelConfusionMatrixFloatTarget(MultilabelConfusionMatrix):
    """``MultilabelConfusionMatrix`` that also takes float 0/1 targets (B, L)."""

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch: ``preds`` (B, L) probabilities, ``target`` (B, L) 0/1 int or float."""
        super().update(preds, _as_long(target))


class _SignConfusion(Metric):
    """Binary confusion counts of the sign of a regression output (MOSEI sentiment).

    Args:
        exclude_zero: False: positive means ``>= 0`` for both (neutral targets count as
            positive). True: targets equal to 0 are dropped and positive means ``> 0``.
        **kwargs: passed to :class:`torchmetrics.Metric`.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    tp: Tensor
    fp: Tensor
    tn: Tensor
    fn: Tensor

    def __init__(self, exclude_zero: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exclude_zero = exclude_zero
        for name in ("tp", "fp", "tn", "fn"):
            # Counts summed across processes: DDP synchronisation is exact.
            self.add_state(name, torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch: ``preds`` (B,) or (B, 1), ``target`` (B,) or (B, 1), floats."""
        preds, target = preds.detach().reshape(-1), target.detach().reshape(-1)
        if preds.shape != target.shape:
            raise ValueError(f"preds {tuple(preds.shape)} and target {tuple(target.shape)} differ")
        if self.exclude_zero:
            keep = target != 0
            pred_pos, true_pos = preds[keep] > 0, target[keep] > 0
        else:
            pred_pos, true_pos = preds >= 0, target >= 0
        self.tp += (pred_pos & true_pos).sum()
        self.fp += (pred_pos & ~true_pos).sum()
        self.tn += (~pred_pos & ~true_pos).sum()
        self.fn += (~pred_pos & true_pos).sum()


class SignAccuracy(_SignConfusion):
    """Acc-2: accuracy of the sign of a regression output (see :class:`_SignConfusion`)."""

    def compute(self) -> Tensor:
        """Accuracy, a scalar tensor (0 if no sample was counted)."""
        total = self.tp + self.fp + self.tn + self.fn
        return (self.tp + self.tn).float() / total.clamp(min=1).float()


class SignF1Weighted(_SignConfusion):
    """F1-2: support-weighted F1 over the two sign classes, as sklearn ``average="weighted"``."""

    def compute(self) -> Tensor:
        """Weighted F1, a scalar tensor (0 if no sample was counted)."""
        tp, fp, tn, fn = (s.float() for s in (self.tp, self.fp, self.tn, self.fn))
        # F1 = 2TP / (2TP + FP + FN); for the negative class TN plays TP and FP/FN swap roles.
        f1_pos = 2 * tp / (2 * tp + fp + fn).clamp(min=1)
        f1_neg = 2 * tn / (2 * tn + fn + fp).clamp(min=1)
        support_pos, support_neg = tp + fn, tn + fp
        total = (support_pos + support_neg).clamp(min=1)
        return (f1_pos * support_pos + f1_neg * support_neg) / total


class Acc7(Metric):
    """Acc-7: accuracy after rounding and clipping predictions and targets to {-3, ..., 3}.

    Args:
        low: lowest class (-3 for MOSEI sentiment).
        high: highest class (3).
        **kwargs: passed to :class:`torchmetrics.Metric`.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False
    correct: Tensor
    total: Tensor

    def __init__(self, low: float = -3.0, high: float = 3.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.low, self.high = low, high
        self.add_state("correct", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Add a batch: ``preds`` (B,) or (B, 1), ``target`` (B,) or (B, 1), floats."""
        preds, target = preds.detach().reshape(-1), target.detach().reshape(-1)
        if preds.shape != target.shape:
            raise ValueError(f"preds {tuple(preds.shape)} and target {tuple(target.shape)} differ")
        p = preds.round().clamp(self.low, self.high)  # half-to-even, like np.round
        t = target.round().clamp(self.low, self.high)
        self.correct += (p == t).sum()
        self.total += target.numel()

    def compute(self) -> Tensor:
        """Accuracy, a scalar tensor (0 if no sample was seen)."""
        return self.correct.float() / self.total.clamp(min=1).float()


# -- builders ------------------------------------------------------------------------------------
def _classwise(metric: Metric, names: Sequence[str], prefix: str) -> ClasswiseWrapper:
    return ClasswiseWrapper(metric, labels=list(names), prefix=prefix)


def _multiclass(num_classes: int, names: Sequence[str]) -> dict[str, Metric]:
    c = num_classes

    def per_class(cls: type[Metric]) -> Metric:
        return cls(num_classes=c, average=None)

    return {
        "WA": MulticlassAccuracy(num_classes=c, average="micro"),
        "UA": MulticlassBalancedAccuracy(num_classes=c),
        "precision_w": MulticlassPrecision(num_classes=c, average="weighted"),
        "recall_w": MulticlassRecall(num_classes=c, average="weighted"),
        "F1_w": MulticlassF1Score(num_classes=c, average="weighted"),
        # MulticlassFBetaScore takes keyword arguments only (beta first positionally is an error).
        "Fbeta_w": MulticlassFBetaScore(beta=FBETA, num_classes=c, average="weighted"),
        "F1_macro": MulticlassF1Score(num_classes=c, average="macro"),
        "AUC_macro": MulticlassAUROC(num_classes=c, average="macro"),
        "precision": _classwise(per_class(MulticlassPrecision), names, "precision/"),
        "recall": _classwise(per_class(MulticlassRecall), names, "recall/"),
        "F1": _classwise(per_class(MulticlassF1Score), names, "F1/"),
        "AUC": _classwise(per_class(MulticlassAUROC), names, "AUC/"),
    }


def _multilabel(num_labels: int, names: Sequence[str]) -> dict[str, Metric]:
    kw: dict[str, Any] = {"num_labels": num_labels, "threshold": MULTILABEL_THRESHOLD}

    def per_label(cls: type[Metric], prefix: str) -> Metric:
        return _classwise(cls(**kw, average=None), names, prefix)

    return {
        "acc_subset": MultilabelExactMatchFloatTarget(**kw),
        "acc_macro": MultilabelAccuracy(**kw, average="macro"),
        "UA": MultilabelBalancedAccuracy(**kw),
        "precision_w": MultilabelPrecision(**kw, average="weighted"),
        "recall_w": MultilabelRecall(**kw, average="weighted"),
        "Fbeta_w": MultilabelFBetaScore(beta=FBETA, **kw, average="weighted"),
        "F1_w": MultilabelF1Score(**kw, average="weighted"),
        "F1_macro": MultilabelF1Score(**kw, average="macro"),
        "AUC_macro": MultilabelAUROCFloatTarget(num_labels=num_labels, average="macro"),
        "acc": per_label(MultilabelAccuracy, "acc/"),
        "precision": per_label(MultilabelPrecision, "precision/"),
        "recall": per_label(MultilabelRecall, "recall/"),
        "F1": per_label(MultilabelF1Score, "F1/"),
        "AUC": _classwise(
            MultilabelAUROCFloatTarget(num_labels=num_labels, average=None), names, "AUC/"
        ),
    }


def _regression() -> dict[str, Metric]:
    return {
        "MAE": MeanAbsoluteError(),
        "pearson": PearsonCorrCoef(),
        "acc2": SignAccuracy(exclude_zero=False),
        "acc2_nonzero": SignAccuracy(exclude_zero=True),
        "F1_2": SignF1Weighted(exclude_zero=False),
        "F1_2_nonzero": SignF1Weighted(exclude_zero=True),
        "acc7": Acc7(),
    }


#: Problem kind -> its scalar metrics, from the class (label) names.
_BUILDERS: dict[str, Callable[[Sequence[str]], dict[str, Metric]]] = {
    "multiclass": lambda names: _multiclass(len(names), names),
    "multilabel": lambda names: _multilabel(len(names), names),
    "regression": lambda names: _regression(),
}

#: Problem kind -> its confusion-matrix metric, from the number of classes (labels). A kind that
#: is not here (regression) has none.
_CONFUSIONS: dict[str, Callable[[int], Metric]] = {
    "multiclass": lambda n: MulticlassConfusionMatrix(num_classes=n),
    "multilabel": lambda n: MultilabelConfusionMatrixFloatTarget(
        num_labels=n, threshold=MULTILABEL_THRESHOLD
    ),
}


def build_metrics(problem: Problem, class_names: Sequence[str]) -> MetricCollection:
    """Scalar metrics for one problem, un-prefixed; clone per stage with ``clone(prefix="val/")``.

    Args:
        problem: the problem (:func:`mmfa.problem.get_problem`).
        class_names: one name per class (label), for the per-class keys (``F1/angry``);
            ignored for regression.

    Returns:
        A :class:`~torchmetrics.MetricCollection` updated with ``update(preds, target)`` (shapes
        in the module docstring) whose ``compute()`` gives a flat dict of scalar tensors, keys as
        in :data:`mmfa.problem.METRICS` with ``<class>`` replaced by each class name.

    Raises:
        ValueError: class names that repeat.
    """
    names = [str(n) for n in class_names]
    if len(set(names)) != len(names):
        raise ValueError(f"build_metrics: class_names {names} repeat a name")
    metrics: dict[str, Metric | MetricCollection] = dict(_BUILDERS[problem.kind](names))
    # No compute groups: torchmetrics finds them by comparing states after the first batch, which
    # can merge metrics whose states only agree by chance (acc2 vs acc2_nonzero when the first
    # batch has no neutral target). Evaluation sets are small; the saving is not worth the risk.
    return MetricCollection(metrics, compute_groups=False)


def build_confusion(problem: Problem, num_classes: int) -> Metric | None:
    """The confusion-matrix metric of a problem, or None where it has none (regression).

    Args:
        problem: the problem (:func:`mmfa.problem.get_problem`).
        num_classes: number of classes (labels) C.

    Returns:
        Multiclass: ``(C, C)`` counts, rows = true class. Multilabel: ``(C, 2, 2)`` counts per
        label (threshold 0.5), float 0/1 targets accepted.
    """
    factory = _CONFUSIONS.get(problem.kind)
    return None if factory is None else factory(num_classes)
