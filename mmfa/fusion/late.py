"""Late-fusion baseline: one classifier per modality, their predictions averaged."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from mmfa.fusion.base import Fusion
from mmfa.layers import AttentionPool, ClassifierHead

Combine = Literal["mean_probs", "mean_logits"]


class LateFusion(Fusion):
    """Per modality: self-attention -> GAP -> its own FC head; the two outputs are then combined.

    ``combine="mean_probs"`` (default, for single-label classification) returns the log of the
    average of the two softmax distributions,
    ``log((softmax(z_a) + softmax(z_t)) / 2) = logsumexp([log_softmax(z_a), log_softmax(z_t)]) -
    log 2``. These are log-probabilities, and log_softmax leaves them unchanged, so
    ``F.cross_entropy`` on them is the negative log-likelihood of the mixture: the two branches
    are trained jointly through the averaged prediction. ``combine="mean_logits"`` averages the
    raw outputs instead, for multilabel or regression outputs where a softmax makes no sense.

    Args:
        audio_dim: encoded audio size (audio GRU units).
        text_dim: encoded text size (text GRU units).
        num_outputs: number of logits.
        combine: ``"mean_probs"`` or ``"mean_logits"``.
        head_hidden: units per FC layer of each head (paper: 80).
        head_dropout: dropout in each head (paper: 0.3).
    """

    def __init__(
        self,
        audio_dim: int,
        text_dim: int,
        num_outputs: int,
        combine: Combine = "mean_probs",
        head_hidden: int = 80,
        head_dropout: float = 0.3,
    ) -> None:
        super().__init__(audio_dim, text_dim, num_outputs)
        if combine not in ("mean_probs", "mean_logits"):
            raise ValueError(
                f"LateFusion: combine must be 'mean_probs' or 'mean_logits', got {combine!r}"
            )
        self.combine = combine
        if combine == "mean_probs":  # averaging softmax distributions presumes one class
            self.problem_types = ("multiclass",)
            self.problem_hint = (
                "Set model.fusion.init_args.combine=mean_logits for multilabel or regression."
            )
        self.audio_pool = AttentionPool(audio_dim)
        self.text_pool = AttentionPool(text_dim)
        self.audio_head = ClassifierHead(
            audio_dim, num_outputs, hidden=head_hidden, dropout=head_dropout
        )
        self.text_head = ClassifierHead(
            text_dim, num_outputs, hidden=head_hidden, dropout=head_dropout
        )

    def forward(
        self,
        audio: Tensor | None,
        audio_mask: Tensor | None,
        text: Tensor | None,
        text_mask: Tensor | None,
    ) -> Tensor:
        """Combine the two branches on ``audio (B, Ta, audio_dim)``, ``text (B, Tw, text_dim)``.

        Returns:
            Log-probabilities for ``mean_probs``, averaged raw outputs for ``mean_logits``.
        """
        audio, audio_mask = self._require("audio", audio, audio_mask)
        text, text_mask = self._require("text", text, text_mask)
        z_a = self.audio_head(self.audio_pool(audio, audio_mask))
        z_t = self.text_head(self.text_pool(text, text_mask))
        if self.combine == "mean_logits":
            return (z_a + z_t) / 2
        log_probs = torch.stack([z_a.log_softmax(-1), z_t.log_softmax(-1)])
        return torch.logsumexp(log_probs, dim=0) - math.log(2.0)
