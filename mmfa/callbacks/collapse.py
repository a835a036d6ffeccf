"""A clear warning when a model stops listening: validation predictions at chance.

:class:`CollapseWarning` watches the validation predictions of a multiclass run. When for
``patience`` epochs in a row (nearly) every validation utterance gets the same class, or the
predictions do not depend on the emotion at all (UA at chance), the model has collapsed; its UA
stays at chance whatever the epoch budget. It says so
once, with the likely causes and the fixes, instead of letting a user wait for a chance-level
result. Add it to ``trainer.callbacks``::

    - class_path: mmfa.callbacks.collapse.CollapseWarning
      init_args: {patience: 5}
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

ADVICE = (
    "Likely causes: (1) the fusion takes its values from an uninformative modality: in the "
    "paper's MMFAFusion (eq. (4)) only the text supplies the values, so transcripts that carry "
    "no emotion (fixed read sentences, ASR errors, back-channels) leave it at chance; (2) the "
    "optimiser barely moves the weights (the paper's plain SGD, lr 1e-3, needs hundreds of "
    "epochs on real speech). Fixes: keep an audio path to the classifier "
    "(--model.fusion.init_args.audio_path=true), and/or train with the practical recipe "
    "(--config configs/recipe/practical.yaml after the corpus config)."
)


class CollapsedPredictions(UserWarning):
    """What :class:`CollapseWarning` warns with (one console line: :mod:`mmfa.logs`)."""


class CollapseWarning(L.Callback):
    """Warn when validation predictions carry no information for ``patience`` epochs in a row.

    An epoch counts as collapsed when one class gets at least ``share`` of the validation
    predictions, or when the validation UA (balanced accuracy of the argmax) is within ``margin``
    of chance, i.e. the predictions do not depend on the emotion (e.g. one class per fixed
    sentence, what the paper's MMFA does on RAVDESS). Predictions and targets are read from what
    the task's ``validation_step`` returns (``{"scores": (B, C), "target": (B,)}``; no extra
    forward pass). Only multiclass tasks are watched; the sanity check is ignored.

    Args:
        patience: consecutive collapsed validation epochs before warning.
        share: the top class's share of the predictions that counts as collapse.
        margin: a UA at most this far above chance (1 / classes present) counts as collapse.
    """

    def __init__(self, patience: int = 5, share: float = 0.95, margin: float = 0.02) -> None:
        super().__init__()
        if patience < 1 or not 0.0 < share <= 1.0 or margin < 0:
            raise ValueError(
                f"CollapseWarning: patience must be >= 1, share in (0, 1] and margin >= 0 "
                f"(got patience={patience}, share={share}, margin={margin})"
            )
        self.patience, self.share, self.margin = patience, share, margin
        self.streak = 0
        self.warned = False
        self._confusion: Tensor | None = None  # (C, C), rows = true class; None: not watching

    def _watched(self, trainer: L.Trainer, pl_module: L.LightningModule) -> bool:
        problem = getattr(pl_module, "problem", None)
        return bool(getattr(problem, "single_label", False)) and not trainer.sanity_checking

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start a confusion matrix of the epoch's validation predictions."""
        self._confusion = None
        width = int(getattr(pl_module, "hparams", {}).get("num_outputs", 0) or 0)
        if width and self._watched(trainer, pl_module):  # the task's classes: same on every rank
            self._confusion = torch.zeros(width, width, dtype=torch.long)

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Add the batch's (target, prediction) pairs to the confusion matrix."""
        if self._confusion is None or not isinstance(outputs, dict):
            return
        scores, target = outputs.get("scores"), outputs.get("target")
        if scores is None or target is None or target.dtype.is_floating_point:
            return
        classes = self._confusion.shape[0]
        pairs = target.detach().flatten().cpu() * classes + scores.detach().argmax(-1).cpu()
        self._confusion += torch.bincount(pairs, minlength=classes * classes).view_as(
            self._confusion
        )

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Update the streak of collapsed epochs; warn once when it reaches ``patience``."""
        if self._confusion is None:
            return
        confusion = self._synced(trainer, pl_module, self._confusion)
        self._confusion = None
        if int(confusion.sum()) == 0:
            return
        predicted = confusion.sum(0)
        top = int(predicted.argmax())
        fraction = float(predicted[top]) / float(predicted.sum())
        support = confusion.sum(1)
        present = support > 0
        recall = confusion.diagonal()[present].float() / support[present].float()
        ua, chance = float(recall.mean()), 1.0 / int(present.sum())
        collapsed = fraction >= self.share or ua <= chance + self.margin
        self.streak = self.streak + 1 if collapsed else 0
        if self.streak >= self.patience and not self.warned:
            self.warned = True
            names = list(getattr(pl_module, "class_names", None) or [])
            used = [
                f"{names[i] if i < len(names) else i} {int(n) / float(predicted.sum()):.0%}"
                for i, n in enumerate(predicted.tolist())
                if n
            ]
            rank_zero_warn(
                f"validation predictions carry no information for {self.streak} epochs in a "
                f"row (epoch {trainer.current_epoch}): UA {ua:.1%} against a chance level of "
                f"{chance:.1%}; {len(used)} of {len(recall)} classes predicted "
                f"({', '.join(used)}). " + ADVICE,
                category=CollapsedPredictions,
            )

    @staticmethod
    def _synced(trainer: L.Trainer, pl_module: L.LightningModule, confusion: Tensor) -> Tensor:
        """Sum the confusion matrices over ranks (DDP), so every rank sees the same streak."""
        if trainer.world_size <= 1:
            return confusion
        gathered = pl_module.all_gather(confusion.to(pl_module.device))
        assert isinstance(gathered, Tensor)
        return gathered.sum(0).cpu()

    def state_dict(self) -> dict[str, Any]:
        """The streak survives a resumed run."""
        return {"streak": self.streak, "warned": self.warned}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the streak."""
        self.streak = int(state_dict.get("streak", 0))
        self.warned = bool(state_dict.get("warned", False))
