"""Single-modality baselines: the paper's "Audio" and "Text" rows (Tables 3-4)."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from mmfa.fusion.base import Fusion
from mmfa.models.layers import AttentionPool, ClassifierHead


class AudioOnly(Fusion):
    """Audio alone: self-attention (eqs. (1)-(3)) -> GAP -> FC head. The text encoder is not built.

    Args:
        audio_dim: encoded audio size (audio GRU units).
        text_dim: unused (part of the common constructor).
        num_outputs: number of logits.
        head_hidden: units per FC layer of the head (paper: 80).
        head_dropout: dropout in the head (paper: 0.3).
    """

    modalities: ClassVar[tuple[str, ...]] = ("audio",)

    def __init__(
        self,
        audio_dim: int,
        text_dim: int,
        num_outputs: int,
        head_hidden: int = 80,
        head_dropout: float = 0.3,
    ) -> None:
        super().__init__(audio_dim, text_dim, num_outputs)
        self.pool = AttentionPool(audio_dim)
        self.head = ClassifierHead(audio_dim, num_outputs, hidden=head_hidden, dropout=head_dropout)

    def forward(
        self,
        audio: Tensor | None,
        audio_mask: Tensor | None,
        text: Tensor | None,
        text_mask: Tensor | None,
    ) -> Tensor:
        """Logits ``(B, C)`` from ``audio (B, Ta, audio_dim)``; text is ignored (None)."""
        audio, audio_mask = self._require("audio", audio, audio_mask)
        return self.head(self.pool(audio, audio_mask))


class TextOnly(Fusion):
    """Text alone: self-attention (eqs. (1)-(3)) -> GAP -> FC head. The audio encoder is not built.

    Args:
        audio_dim: unused (part of the common constructor).
        text_dim: encoded text size (text GRU units).
        num_outputs: number of logits.
        head_hidden: units per FC layer of the head (paper: 80).
        head_dropout: dropout in the head (paper: 0.3).
    """

    modalities: ClassVar[tuple[str, ...]] = ("text",)

    def __init__(
        self,
        audio_dim: int,
        text_dim: int,
        num_outputs: int,
        head_hidden: int = 80,
        head_dropout: float = 0.3,
    ) -> None:
        super().__init__(audio_dim, text_dim, num_outputs)
        self.pool = AttentionPool(text_dim)
        self.head = ClassifierHead(text_dim, num_outputs, hidden=head_hidden, dropout=head_dropout)

    def forward(
        self,
        audio: Tensor | None,
        audio_mask: Tensor | None,
        text: Tensor | None,
        text_mask: Tensor | None,
    ) -> Tensor:
        """Logits ``(B, C)`` from ``text (B, Tw, text_dim)``; audio is ignored (None)."""
        text, text_mask = self._require("text", text, text_mask)
        return self.head(self.pool(text, text_mask))
