"""The contract every fusion strategy follows (built-in or plugin)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import Tensor, nn

from mmfa.layers import full_mask
from mmfa.problem import PROBLEM_TYPES


class Fusion(nn.Module, ABC):
    """Abstract fusion: encoded audio and/or text sequences in, logits out.

    The network builds a fusion as ``factory(audio_dim, text_dim, num_outputs)``; every other
    ``__init__`` argument of a subclass is a hyper-parameter with a default, so configs can set it
    through ``class_path``/``init_args``. The network builds only the encoders named in
    ``modalities``; a modality the fusion does not use reaches ``forward`` as None.

    Args:
        audio_dim: feature size of the encoded audio (the audio GRU's hidden size).
        text_dim: feature size of the encoded text (the text GRU's hidden size).
        num_outputs: number of logits.
    """

    modalities: ClassVar[tuple[str, ...]] = ("audio", "text")
    #: Problem types (:mod:`mmfa.problem`) whose outputs this fusion can produce; a subclass
    #: narrows it (class or instance attribute) when its output only makes sense for some.
    problem_types: tuple[str, ...] = PROBLEM_TYPES
    #: What to do instead, shown when a problem type is refused.
    problem_hint: str = ""

    def __init__(self, audio_dim: int, text_dim: int, num_outputs: int) -> None:
        super().__init__()
        self.audio_dim = audio_dim
        self.text_dim = text_dim
        self.num_outputs = num_outputs

    @abstractmethod
    def forward(
        self,
        audio: Tensor | None,
        audio_mask: Tensor | None,
        text: Tensor | None,
        text_mask: Tensor | None,
    ) -> Tensor:
        """Fuse the encoded modalities.

        Args:
            audio: ``(B, Ta, audio_dim)`` or None when unused.
            audio_mask: ``(B, Ta)`` bool, True = real step; None = all real.
            text: ``(B, Tw, text_dim)`` or None when unused.
            text_mask: ``(B, Tw)`` bool; None = all real.

        Returns:
            Logits ``(B, num_outputs)``.
        """

    def l2_penalty(self) -> Tensor:
        """Keras-style L2 term ``lambda * sum(w^2)`` to add to the loss (default: none).

        Returns:
            A scalar tensor.
        """
        param = next(self.parameters(), None)
        return torch.zeros((), device=param.device if param is not None else None)

    def _require(self, name: str, x: Tensor | None, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """Check that a modality this fusion uses was given; fill in a missing mask."""
        if x is None:
            raise ValueError(
                f"{type(self).__name__} uses the {name} modality but got {name}=None; "
                f"the network must build the {name} encoder (see Fusion.modalities)"
            )
        return x, (full_mask(x) if mask is None else mask)


FusionFactory = Callable[[int, int, int], Fusion]
"""Builds a fusion as ``factory(audio_dim, text_dim, num_outputs)``: a Fusion subclass, or a
``functools.partial`` of one that fixes its hyper-parameters (what LightningCLI produces)."""
