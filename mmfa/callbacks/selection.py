"""Model selection on validation: the best checkpoint and early stopping, on the problem's metric.

Which validation metric picks the checkpoint follows from the problem a corpus declares
(:attr:`mmfa.problem.Problem.monitor`: ``val/UA``, higher is better, for multiclass and
multilabel; ``val/MAE``, lower is better, for regression), so no config has to repeat it. Both
callbacks here are Lightning's, with ``monitor`` and ``mode`` defaulting to None: None means "the
problem's", filled in at ``setup``, once the task (and so its problem) is known. Lightning calls
``setup`` before it restores a checkpoint's callback states, so resuming finds the same keys.
An explicit ``monitor`` always wins; with it, ``mode`` may be left out for ``*/loss`` (min) and
for the metrics of :data:`mmfa.problem.METRICS` (their direction).

``mmfa fit`` and ``mmfa cv`` add :class:`BestCheckpoint` to every run (the ``checkpoint:`` config
key, e.g. ``--checkpoint.monitor=val/F1_w``); configs add :class:`ProblemEarlyStopping` to
``trainer.callbacks`` with their patience::

    trainer:
      callbacks:
        - class_path: mmfa.callbacks.selection.ProblemEarlyStopping
          init_args: {patience: 20}
"""

from __future__ import annotations

from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_warn

from mmfa.errors import ConfigError
from mmfa.problem import metric_info

Mode = Literal["max", "min"]

#: The checkpoint file of the best epoch: ``best.ckpt`` in the run's ``checkpoints/`` folder.
BEST_FILENAME = "best"


def mode_of(monitor: str, owner: str) -> Mode:
    """Whether a monitored key is better high or low: ``*/loss`` min, else the vocabulary's.

    Args:
        monitor: a logged key, e.g. ``val/F1_w`` or ``val/loss``.
        owner: the callback, named in the error.

    Raises:
        ConfigError: a key whose direction mmfa does not know.
    """
    if monitor.rsplit("/", 1)[-1] == "loss":
        return "min"
    try:
        return "max" if metric_info(monitor).higher_is_better else "min"
    except KeyError:
        raise ConfigError(
            f"{owner}: cannot tell whether {monitor!r} is better high or low; set its mode "
            "(max or min) beside its monitor"
        ) from None


def resolve(
    monitor: str | None, mode: str | None, pl_module: L.LightningModule | None, owner: str
) -> tuple[str | None, Mode | None]:
    """The monitor and mode a selection callback uses.

    Args:
        monitor: the configured monitor; None: the problem's.
        mode: the configured mode; None: the problem's (monitor None) or the key's direction.
        pl_module: the task whose ``problem`` gives the defaults; None: not known yet (the pair
            stays None when ``monitor`` is None).
        owner: the callback, named in errors.

    Raises:
        ConfigError: a mode without a monitor, or no problem to take the monitor from.
    """
    if monitor is not None:
        return monitor, mode_of(monitor, owner) if mode is None else _checked(mode, owner)
    if mode is not None:
        raise ConfigError(
            f"{owner}: mode={mode!r} without a monitor; set both, or neither to select on the "
            "problem's metric"
        )
    if pl_module is None:
        return None, None
    problem = getattr(pl_module, "problem", None)
    if problem is None:
        raise ConfigError(
            f"{owner}: no monitor set, and {type(pl_module).__name__} has no problem to take "
            "it from; set monitor and mode"
        )
    return problem.monitor, _checked(problem.mode, owner)


def _checked(mode: str, owner: str) -> Mode:
    if mode not in ("max", "min"):
        raise ConfigError(f"{owner}: mode must be max or min, got {mode!r}")
    return "max" if mode == "max" else "min"


def _lightning_key(callback: L.Callback, key: str, lightning_name: str) -> str:
    """``key`` under the Lightning base class's name, which checkpoints have always used."""
    return key.replace(type(callback).__qualname__, lightning_name, 1)


def _warn_of_twins(callback: L.Callback, trainer: L.Trainer) -> None:
    """Say so when another callback keeps its state under the same key (an old-style config)."""
    twins = [
        c
        for c in trainer.callbacks  # type: ignore[attr-defined]
        if c is not callback and c.state_key == callback.state_key
    ]
    if twins:
        rank_zero_warn(
            f"trainer.callbacks has a {type(twins[0]).__name__} on the same metric as mmfa's "
            f"{type(callback).__name__} ({callback.state_key}): both select the same epoch and "
            "save their state under one key. Remove it; mmfa's takes the same arguments (the "
            "`checkpoint:` key, e.g. --checkpoint.monitor=..., or ProblemEarlyStopping's "
            "init_args)",
            category=UserWarning,
        )


class BestCheckpoint(ModelCheckpoint):
    """Keep the checkpoint of the best validation epoch as ``best.ckpt``; the problem's metric.

    A :class:`~lightning.pytorch.callbacks.ModelCheckpoint` with the selection defaults mmfa
    uses everywhere (``filename="best"``, ``save_top_k=1``, ``auto_insert_metric_name=False``)
    whose ``monitor`` and ``mode`` default to the task's problem (module docstring).
    ``trainer.checkpoint_callback.best_model_path`` is then the validation-selected checkpoint
    that ``mmfa fit`` and every fold of ``mmfa cv`` test.

    Args:
        monitor: the logged key to select on (``val/...``); None: the problem's.
        mode: ``max`` or ``min``; None: the problem's, or the direction of ``monitor``.
        filename: the checkpoint's file name, without ``.ckpt``.
        save_top_k: checkpoints kept (1: the best only; 0: none).
        auto_insert_metric_name: put the metric's name into ``filename``.
        **kwargs: passed to :class:`~lightning.pytorch.callbacks.ModelCheckpoint`.
    """

    def __init__(
        self,
        monitor: str | None = None,
        mode: Mode | None = None,
        filename: str | None = BEST_FILENAME,
        save_top_k: int = 1,
        auto_insert_metric_name: bool = False,
        **kwargs: Any,
    ) -> None:
        monitor, resolved = resolve(monitor, mode, None, type(self).__name__)
        super().__init__(
            monitor=monitor,
            mode=resolved or "max",  # a placeholder until setup; shown as None meanwhile
            filename=filename,
            save_top_k=save_top_k,
            auto_insert_metric_name=auto_insert_metric_name,
            **kwargs,
        )
        if resolved is None:
            self.mode = None  # type: ignore[assignment]  # the problem's, known at setup

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Take the problem's monitor and mode when none was set, then set up as Lightning does."""
        if self.monitor is None:
            monitor, mode = resolve(None, None, pl_module, type(self).__name__)
            assert mode is not None
            self.monitor, self.mode = monitor, mode
            # What ModelCheckpoint.__init__ derives from the mode: the worst possible score.
            self.kth_value = torch.tensor(torch.inf if mode == "min" else -torch.inf)
        _warn_of_twins(self, trainer)
        super().setup(trainer, pl_module, stage)

    @property
    def state_key(self) -> str:
        """``ModelCheckpoint``'s key: checkpoints read as before (resume, ``mmfa export``)."""
        return _lightning_key(self, super().state_key, "ModelCheckpoint")


class ProblemEarlyStopping(EarlyStopping):
    """Stop when the problem's validation metric has not improved for ``patience`` epochs.

    A :class:`~lightning.pytorch.callbacks.EarlyStopping` whose ``monitor`` and ``mode``
    default to the task's problem (module docstring).

    Args:
        monitor: the logged key to watch (``val/...``); None: the problem's.
        mode: ``max`` or ``min``; None: the problem's, or the direction of ``monitor``.
        patience: validation epochs without improvement before stopping.
        **kwargs: passed to :class:`~lightning.pytorch.callbacks.EarlyStopping`.
    """

    def __init__(
        self,
        monitor: str | None = None,
        mode: Mode | None = None,
        patience: int = 3,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        monitor, resolved = resolve(monitor, mode, None, owner)
        # EarlyStopping signs min_delta by the mode at init; keep the given one for setup.
        self._given_min_delta = float(kwargs.get("min_delta", 0.0))
        super().__init__(monitor=monitor or "", mode=resolved or "max", patience=patience, **kwargs)
        if monitor is None:  # the problem's, known at setup
            self.monitor = None  # type: ignore[assignment]
            self.mode = None  # type: ignore[assignment]

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Take the problem's monitor and mode when none was set, then set up as Lightning does."""
        if self.monitor is None:
            self.monitor, self.mode = resolve(None, None, pl_module, type(self).__name__)
            # What EarlyStopping.__init__ derives from the mode: min_delta's sign, the start.
            self.min_delta = self._given_min_delta * (1 if self.monitor_op == torch.gt else -1)
            self.best_score = torch.tensor(torch.inf if self.mode == "min" else -torch.inf)
        _warn_of_twins(self, trainer)
        super().setup(trainer, pl_module, stage)

    @property
    def state_key(self) -> str:
        """``EarlyStopping``'s key: checkpoints of plain ones resume into this, and back."""
        return _lightning_key(self, super().state_key, "EarlyStopping")
