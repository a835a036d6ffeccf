"""Optimisers, learning-rate schedules and class weights: the paper's and the practical recipe's.

The task calls :func:`build_optimizer` and :func:`build_schedule` from ``configure_optimizers``.
The defaults reproduce Appendix A (plain SGD, lr 1e-3, Keras decay ``lr / (1 + 1e-6 t)`` per step);
``configs/recipe/practical.yaml`` picks AdamW with warm-up and cosine decay instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import torch
from torch import Tensor

from mmfa.errors import ConfigError

OptimizerName = Literal["sgd", "adam", "adamw"]
ScheduleName = Literal["keras_decay", "cosine", "onecycle"]
ClassWeight = Literal["none", "balanced"]


def build_optimizer(
    params: Iterable[Any],
    name: OptimizerName = "sgd",
    lr: float = 1e-3,
    momentum: float = 0.0,
    weight_decay: float | None = None,
) -> torch.optim.Optimizer:
    """The optimiser by name: ``sgd`` (the paper), ``adam`` or ``adamw`` (decoupled decay).

    ``weight_decay=None`` keeps torch's default of each (0 for SGD and Adam, 0.01 for AdamW).

    Raises:
        ConfigError: an unknown name (the message names ``model.optimizer``).
    """
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay or 0.0)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay or 0.0)
    if name == "adamw":  # torch's AdamW decays by 0.01 unless told otherwise
        return torch.optim.AdamW(
            params, lr=lr, weight_decay=0.01 if weight_decay is None else weight_decay
        )
    raise ConfigError(f"model.optimizer={name!r}: use 'sgd', 'adam' or 'adamw'")


def schedule_factor(
    step: int,
    name: ScheduleName,
    total_steps: int,
    warmup: float = 0.0,
    lr_decay: float = 0.0,
    final_factor: float = 0.0,
) -> float:
    """The learning-rate multiplier at optimiser step ``step``.

    Args:
        step: optimiser steps taken so far.
        name: ``keras_decay``: ``1 / (1 + lr_decay * step)`` (Keras' ``decay``, the paper);
            ``cosine``: linear warm-up over the first ``warmup`` fraction of ``total_steps``,
            then a half cosine down to ``final_factor``; ``onecycle`` is handled by torch's
            :class:`~torch.optim.lr_scheduler.OneCycleLR` (see :func:`build_schedule`).
        total_steps: optimiser steps of the whole run (``trainer.estimated_stepping_batches``).
        warmup: fraction of ``total_steps`` spent warming up (cosine).
        lr_decay: Keras decay per step (keras_decay).
        final_factor: multiplier reached at the last step (cosine).
    """
    if name == "keras_decay":
        return 1.0 / (1.0 + lr_decay * step)
    warm = max(int(round(warmup * total_steps)), 0)
    if step < warm:
        return (step + 1) / warm
    progress = min((step - warm) / max(total_steps - warm, 1), 1.0)
    return final_factor + (1.0 - final_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_schedule(
    optimizer: torch.optim.Optimizer,
    name: ScheduleName = "keras_decay",
    total_steps: int = 1,
    warmup: float = 0.0,
    lr_decay: float = 0.0,
) -> torch.optim.lr_scheduler.LRScheduler:
    """A per-step schedule; see :func:`schedule_factor` (``onecycle``: torch's OneCycleLR).

    Raises:
        ConfigError: an unknown name (the message names ``model.schedule``).
    """
    if name == "onecycle":
        max_lr = [group["lr"] for group in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=max(total_steps, 2), pct_start=warmup or 0.3
        )
    if name not in ("keras_decay", "cosine"):
        raise ConfigError(
            f"model.schedule={name!r}: use 'keras_decay' (the paper), 'cosine' or 'onecycle'"
        )
    total = max(total_steps, 1)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: schedule_factor(step, name, total, warmup, lr_decay)
    )


def class_weights(counts: Mapping[str, int], mode: ClassWeight = "none") -> Tensor | None:
    """Cross-entropy class weights from the training label counts.

    Args:
        counts: class name -> number of training utterances, in label-index order.
        mode: ``none`` (no weights) or ``balanced`` (``n / (C * n_c)``, as scikit-learn's
            ``class_weight="balanced"``; a class absent from training gets weight 0).

    Returns:
        ``(C,)`` float weights, or None.
    """
    if mode == "none":
        return None
    if mode != "balanced":
        raise ConfigError(f"model.class_weight={mode!r}: use 'none' or 'balanced'")
    n = torch.tensor([float(c) for c in counts.values()])
    total, present = n.sum(), (n > 0).sum()
    return torch.where(n > 0, total / (present * n.clamp(min=1.0)), torch.zeros_like(n))
