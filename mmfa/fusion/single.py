"""Single-modality baselines: the paper's "Audio" and "Text" rows (Tables 3-4)."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from mmfa.fusion.base import Fusion
from mmfa.layers import AttentionPool, ClassifierHead


class _OneModality(Fusion):
    """One branch: self-attention (eqs. (1)-(3)) -> GAP -> FC head; the other encoder is not built.

    A subclass names its one modality in ``modalities`` (``("audio",)`` or ``("text",)``), the
    attribute every fusion declares and the network reads to build only that encoder.

    Args:
        audio_dim: encoded audio size (audio GRU units; unused by TextOnly).
        text_dim: encoded text size (text GRU units; unused by AudioOnly).
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
        if len(self.modalities) != 1 or self.modalities[0] not in ("audio", "text"):
            raise TypeError(f"{type(self).__name__}.modalities must be ('audio',) or ('text',)")
        self.input_modality = self.modalities[0]
        dim = audio_dim if self.input_modality == "audio" else text_dim
        self.pool = AttentionPool(dim)
        self.head = ClassifierHead(dim, num_outputs, hidden=head_hidden, dropout=head_dropout)

    def forward(
        self,
        audio: Tensor | None,
        audio_mask: Tensor | None,
        text: Tensor | None,
        text_mask: Tensor | None,
    ) -> Tensor:
        """Logits ``(B, C)`` from the one modality used; the other arrives as None."""
        given = (audio, audio_mask) if self.input_modality == "audio" else (text, text_mask)
        x, mask = self._require(self.input_modality, *given)
        return self.head(self.pool(x, mask))


class AudioOnly(_OneModality):
    """Audio alone (the paper's "Audio" rows). See :class:`_OneModality` for the arguments."""

    modalities: ClassVar[tuple[str, ...]] = ("audio",)


class TextOnly(_OneModality):
    """Text alone (the paper's "Text" rows). See :class:`_OneModality` for the arguments."""

    modalities: ClassVar[tuple[str, ...]] = ("text",)
