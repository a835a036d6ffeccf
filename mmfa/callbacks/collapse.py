"""A clear warning when a model stops listening: validation predictions collapsed to one class.

:class:`CollapseWarning` watches the validation predictions of a multiclass run. When for
``patience`` epochs in a row (nearly) every validation utterance gets the same class, the model
has collapsed to a constant answer; its UA is then chance, whatever the epoch budget. It says so
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
from torch.utils.hooks import RemovableHandle

ADVICE = (
    "Likely causes: (1) the fusion takes its values from an uninformative modality: in the "
    "paper's MMFAFusion (eq. (4)) only the text supplies the values, so transcripts that carry "
    "no emotion (fixed read sentences, ASR errors, back-channels) leave it at chance; (2) the "
    "optimiser barely moves the weights (the paper's plain SGD, lr 1e-3, needs hundreds of "
    "epochs on real speech). Fixes: keep an audio path to the classifier "
    "(--model.fusion.init_args.audio_path=true), and/or train with the practical recipe "
    "(--config configs/recipe/practical.yaml after the corpus config)."
)


class CollapseWarning(L.Callback):
    """Warn when validation predictions collapse to one class for ``patience`` epochs in a row.

    The predictions are read with a forward hook on the task's ``network`` (no extra forward
    pass). Only multiclass tasks are watched; the sanity check is ignored.

    Args:
        patience: consecutive validation epochs of collapse before warning.
        share: an epoch counts as collapsed when one class gets at least this fraction of the
            validation predictions.
    """

    def __init__(self, patience: int = 5, share: float = 0.95) -> None:
        super().__init__()
        if patience < 1 or not 0.0 < share <= 1.0:
            raise ValueError(
                f"CollapseWarning: patience must be >= 1 and share in (0, 1] "
                f"(got patience={patience}, share={share})"
            )
        self.patience, self.share = patience, share
        self.streak = 0
        self.warned = False
        self._counts: Tensor | None = None
        self._handle: RemovableHandle | None = None

    def _watched(self, trainer: L.Trainer, pl_module: L.LightningModule) -> bool:
        network = getattr(pl_module, "network", None)
        multiclass = getattr(pl_module, "task_type", "multiclass") == "multiclass"
        return multiclass and network is not None and not trainer.sanity_checking

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start counting predicted classes."""
        if not self._watched(trainer, pl_module):
            return
        self._counts = None

        def count(module: Any, inputs: Any, logits: Tensor) -> None:
            predicted = logits.detach().argmax(-1).flatten().cpu()
            counts = torch.bincount(predicted, minlength=logits.shape[-1])
            self._counts = counts if self._counts is None else self._counts + counts

        network: torch.nn.Module = pl_module.network  # type: ignore[assignment]
        self._handle = network.register_forward_hook(count)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Update the streak of collapsed epochs; warn once when it reaches ``patience``."""
        if self._handle is None:
            return
        self._handle.remove()
        self._handle = None
        counts = self._counts
        if counts is None or trainer.world_size > 1:
            counts = self._synced(trainer, pl_module, counts)
        if counts is None or int(counts.sum()) == 0:
            return
        top = int(counts.argmax())
        fraction = float(counts[top]) / float(counts.sum())
        self.streak = self.streak + 1 if fraction >= self.share else 0
        if self.streak >= self.patience and not self.warned:
            self.warned = True
            names = getattr(pl_module, "class_names", None) or []
            name = names[top] if top < len(names) else str(top)
            rank_zero_warn(
                f"validation predictions collapsed to one class for {self.streak} epochs in a "
                f"row: {fraction:.0%} of {int(counts.sum())} validation utterances are "
                f"predicted {name!r} (epoch {trainer.current_epoch}); UA stays at chance. "
                + ADVICE,
                category=UserWarning,
            )

    @staticmethod
    def _synced(
        trainer: L.Trainer, pl_module: L.LightningModule, counts: Tensor | None
    ) -> Tensor | None:
        """Sum the counts over ranks (DDP), so every rank sees the same streak."""
        if trainer.world_size <= 1:
            return counts
        width = int(getattr(pl_module, "hparams", {}).get("num_outputs", 0) or 0)
        if counts is None:
            counts = torch.zeros(width, dtype=torch.long)
        gathered = pl_module.all_gather(counts.to(pl_module.device))
        assert isinstance(gathered, Tensor)
        return gathered.sum(0).cpu()

    def state_dict(self) -> dict[str, Any]:
        """The streak survives a resumed run."""
        return {"streak": self.streak, "warned": self.warned}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the streak."""
        self.streak = int(state_dict.get("streak", 0))
        self.warned = bool(state_dict.get("warned", False))
