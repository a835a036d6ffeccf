"""The LightningModule of ``mmfa finetune-text``: a text encoder with a pooled linear head.

The head reads the mean of the utterance's own word pieces (its context's pieces are read by the
encoder but not pooled), after dropout. AdamW (no weight decay on biases and LayerNorm), an
optional layer-wise learning-rate decay (the top layer gets ``lr``, each layer below
``layer_decay`` times the one above, the embeddings last; the head gets ``lr``), and a linear
warm-up then linear decay to 0 over the whole run, stepped per batch.

Logged: ``train/loss``; ``val/loss``, ``val/F1_w`` (weighted F1, the selection metric), ``val/WA``
(accuracy) and ``val/UA`` (balanced accuracy) once per validation.
"""

from __future__ import annotations

import re
from typing import Any

import lightning as L
import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from mmfa.errors import ConfigError, ModelUnavailableError
from mmfa.features.text import resolve_model

#: Parameters never weight-decayed (as BERT's own recipe).
_NO_DECAY = ("bias", "LayerNorm.weight", "LayerNorm.bias", "layer_norm.weight", "layer_norm.bias")
_LAYER = re.compile(r"\.layers?\.(\d+)\.")


class TextFinetuneModule(L.LightningModule):
    """A BERT-like encoder plus dropout and a linear head on the utterance's mean piece.

    Args:
        encoder: the encoder to start from: ``"minilm"`` (packaged), a local model folder, or a
            hub name already in the local Hugging Face cache (loaded offline only).
        num_classes: number of classes.
        lr: AdamW peak learning rate (of the top layer and the head).
        weight_decay: AdamW weight decay (not on biases and LayerNorm).
        warmup: fraction of all training steps spent warming the learning rate up from 0.
        dropout: dropout before the head.
        layer_decay: layer-wise learning-rate decay in ``(0, 1]``; 1.0: one ``lr`` for all.
    """

    def __init__(
        self,
        encoder: str = "minilm",
        num_classes: int = 2,
        lr: float = 5e-5,
        weight_decay: float = 0.01,
        warmup: float = 0.1,
        dropout: float = 0.1,
        layer_decay: float = 1.0,
    ) -> None:
        super().__init__()
        if num_classes < 2 or lr <= 0 or not 0 <= warmup < 1 or not 0 < layer_decay <= 1:
            raise ConfigError(
                f"finetune: num_classes={num_classes}, lr={lr}, warmup={warmup}, "
                f"layer_decay={layer_decay}: need num_classes >= 2, lr > 0, 0 <= warmup < 1 "
                "and 0 < layer_decay <= 1"
            )
        self.save_hyperparameters()
        from transformers import AutoModel

        try:
            self.encoder = AutoModel.from_pretrained(resolve_model(encoder), local_files_only=True)
        except (OSError, ValueError) as err:
            raise ModelUnavailableError(
                f"data.text.init_args.model={encoder!r} cannot be loaded offline ({err}); "
                "point it to a local model folder or `minilm`"
            ) from err
        self.encoder.train()  # from_pretrained gives eval mode; Lightning keeps what it finds
        self.head = torch.nn.Sequential(
            torch.nn.Dropout(dropout), torch.nn.Linear(self.encoder.config.hidden_size, num_classes)
        )
        self.val_metrics = MetricCollection(
            {
                "F1_w": MulticlassF1Score(num_classes, average="weighted"),
                "WA": MulticlassAccuracy(num_classes, average="micro"),
                "UA": MulticlassAccuracy(num_classes, average="macro"),
            },
            prefix="val/",
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, num_classes) logits from the mean of each utterance's own pieces."""
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")
                  if k in batch}  # fmt: skip
        hidden = self.encoder(**inputs).last_hidden_state  # (B, L, D)
        mask = batch["utterance_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(pooled)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """Cross-entropy on one batch."""
        loss = torch.nn.functional.cross_entropy(self(batch), batch["labels"])
        self.log("train/loss", loss, batch_size=len(batch["labels"]), prog_bar=True)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        """Accumulate the validation metrics."""
        logits = self(batch)
        n = len(batch["labels"])
        loss = torch.nn.functional.cross_entropy(logits, batch["labels"])
        self.log("val/loss", loss, batch_size=n, sync_dist=True)
        self.val_metrics.update(logits.argmax(-1), batch["labels"])

    def on_validation_epoch_end(self) -> None:
        """Log ``val/F1_w``, ``val/WA`` and ``val/UA`` (synchronised across DDP ranks)."""
        self.log_dict(self.val_metrics.compute(), prog_bar=True)
        self.val_metrics.reset()

    def configure_optimizers(self) -> Any:
        """AdamW over layer-wise groups, and the linear warm-up/decay schedule per step."""
        from transformers import get_linear_schedule_with_warmup

        optimizer = torch.optim.AdamW(self.parameter_groups(), lr=self.hparams["lr"])
        total = int(self.trainer.estimated_stepping_batches)
        schedule = get_linear_schedule_with_warmup(
            optimizer, int(self.hparams["warmup"] * total), total
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def parameter_groups(self) -> list[dict[str, Any]]:
        """AdamW groups: per depth (for ``layer_decay``) and with or without weight decay."""
        n_layers = int(getattr(self.encoder.config, "num_hidden_layers", 0))
        groups: dict[tuple[int, bool], dict[str, Any]] = {}
        named = [(f"encoder.{n}", p) for n, p in self.encoder.named_parameters()]
        named += [(f"head.{n}", p) for n, p in self.head.named_parameters()]
        for name, param in named:
            if not param.requires_grad:
                continue
            depth = _depth(name, n_layers)
            decay = not name.endswith(_NO_DECAY)
            scale = self.hparams["layer_decay"] ** (n_layers + 1 - depth)
            group = groups.setdefault(
                (depth, decay),
                {
                    "params": [],
                    "lr": self.hparams["lr"] * scale,
                    "weight_decay": self.hparams["weight_decay"] if decay else 0.0,
                },
            )
            group["params"].append(param)
        return list(groups.values())


def _depth(name: str, n_layers: int) -> int:
    """0 for the embeddings, ``i + 1`` for transformer layer ``i``, ``n_layers + 1`` above."""
    if ".embeddings." in name:
        return 0
    match = _LAYER.search(name)
    if match:
        return int(match.group(1)) + 1
    return n_layers + 1
