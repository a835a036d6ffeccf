"""Early-fusion baseline: MMFA without its second level."""

from __future__ import annotations

import torch
from torch import Tensor

from mmfa.fusion.base import Fusion
from mmfa.layers import AttentionPool, ClassifierHead


class ConcatFusion(Fusion):
    """Self-attention per modality -> GAP each -> concatenate -> one FC head.

    The ablation of the paper's second level (eq. (4)): both modalities still get their
    first-level attention (eqs. (1)-(3)), but they meet only as two pooled vectors.

    Args:
        audio_dim: encoded audio size (audio GRU units).
        text_dim: encoded text size (text GRU units).
        num_outputs: number of logits.
        head_hidden: units per FC layer of the head (paper: 80).
        head_dropout: dropout in the head (paper: 0.3).
    """

    def __init__(
        self,
        audio_dim: int,
        text_dim: int,
        num_outputs: int,
        head_hidden: int = 80,
        head_dropout: float = 0.3,
    ) -> None:
        super().__init__(audio_dim, text_dim, num_outputs)
        self.audio_pool = AttentionPool(audio_dim)
        self.text_pool = AttentionPool(text_dim)
        self.head = ClassifierHead(
            audio_dim + text_dim, num_outputs, hidden=head_hidden, dropout=head_dropout
        )

    def forward(
        self,
        audio: Tensor | None,
        audio_mask: Tensor | None,
        text: Tensor | None,
        text_mask: Tensor | None,
    ) -> Tensor:
        """Logits ``(B, C)`` from ``audio (B, Ta, audio_dim)`` and ``text (B, Tw, text_dim)``."""
        audio, audio_mask = self._require("audio", audio, audio_mask)
        text, text_mask = self._require("text", text, text_mask)
        pooled = torch.cat(
            [self.audio_pool(audio, audio_mask), self.text_pool(text, text_mask)], dim=-1
        )  # (B, audio_dim + text_dim)
        return self.head(pooled)
