"""Start the functionals path from the classifier a researcher would fit first.

A linear layer on thousands of openSMILE functionals (ComParE 2016: 6,373) memorises 480
training utterances within an epoch when trained by gradient descent with the sequence path:
on RAVDESS the joint model fell 10 points below a linear SVM on the same vectors. The convex
fit does not: an L2-regularised logistic regression whose strength is chosen on the validation
split (never the test) gives what the classical baseline gives (``mmfa baseline``). So
``model.functionals_head=logistic`` fits that regression at the start of training, copies it
into the network's linear layer and freezes it. The sequence path is trained on its own, not on
top of it: the regression fits its own training utterances almost perfectly, so a path trained
on its residual learns noise (measured: the joint model's best epoch was the first). At
evaluation the two paths' logits are summed: a product of two experts, selected on validation
like any model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

#: Inverse L2 strengths tried; the best on validation unweighted accuracy is kept.
C_GRID: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


def fit_logistic_head(
    head: nn.Linear,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    num_classes: int,
    grid: Sequence[float] = C_GRID,
) -> dict[str, float]:
    """Fit ``head`` as a multinomial logistic regression, C chosen on ``val``; freeze it.

    Args:
        head: the network's ``Linear(functionals_dim, num_classes)``.
        train: ``(X (N, D), y (N,))`` prepared functionals and class indices of the training split.
        val: the same for the validation split (chooses C by unweighted accuracy).
        num_classes: the number of classes (a class absent from training gets a bias of -inf
            in sklearn's terms: here a very low bias, so it is never predicted by this path).
        grid: the C values to try.

    Returns:
        ``{"C": chosen, "val_UA": its validation unweighted accuracy}``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    x_train, y_train = train
    x_val, y_val = val
    best: tuple[float, float, LogisticRegression] | None = None
    for c in grid:
        model = LogisticRegression(C=c, max_iter=500).fit(x_train, y_train)
        score = float(balanced_accuracy_score(y_val, model.predict(x_val)))
        if best is None or score > best[0]:
            best = (score, c, model)
    assert best is not None
    score, c, model = best
    weight = np.zeros((num_classes, x_train.shape[1]), dtype=np.float32)
    bias = np.full(num_classes, -30.0, dtype=np.float32)  # classes never seen in training
    classes = model.classes_.astype(int)
    coef, intercept = model.coef_, model.intercept_
    if len(classes) == 2:  # sklearn keeps one row for two classes: logit of the second
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weight[classes] = coef
    bias[classes] = intercept
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(weight))
        head.bias.copy_(torch.from_numpy(bias))
    head.requires_grad_(False)
    log.info(
        "functionals head: logistic regression, C=%g chosen on validation (UA %.2f)", c, 100 * score
    )
    return {"C": c, "val_UA": score}
