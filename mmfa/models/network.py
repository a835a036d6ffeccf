"""The MMFA-RNN: one encoder per modality + a fusion strategy (paper Fig. 1, Appendix A)."""

from __future__ import annotations

import functools

import torch
from torch import Tensor, nn

from mmfa.errors import ConfigError
from mmfa.fusion.base import Fusion, FusionFactory
from mmfa.fusion.mmfa import MMFAFusion
from mmfa.layers import full_mask
from mmfa.models.encoder import ModalityEncoder

_KNOWN_MODALITIES = ("audio", "text")
#: A fusion to suggest when a modality has no features.
_WITHOUT = {"audio": "TextOnly", "text": "AudioOnly"}


class NetworkConfigError(ConfigError, ValueError):
    """A network setting that cannot work; the message names the config key (a ValueError too)."""


def _declared_modalities(factory: FusionFactory) -> tuple[str, ...] | None:
    """Return the modalities a factory's Fusion class declares, without building it.

    Handles a class, ``functools.partial(cls, ...)`` and LightningCLI's
    ``partial(instantiator, cls, ...)``; None when the class cannot be seen (e.g. a lambda).
    """
    candidates: list[object] = [factory]
    while isinstance(part := candidates[-1], functools.partial):
        candidates.pop()
        candidates += [*part.args, part.func]  # the class is the func or a positional argument
    for obj in candidates:
        if isinstance(obj, type) and issubclass(obj, Fusion):
            return tuple(obj.modalities)
    return None


class MMFANetwork(nn.Module):
    """Encoders (BatchNorm + GRU per modality) feeding a :class:`~mmfa.fusion.base.Fusion`.

    GRU sizes follow Appendix A: audio ``round(audio_factor * audio_dim)`` (eq. (5): 2 x 39 = 78),
    text ``round(text_dim / text_factor)`` (eq. (6): 768 / 4 = 192; 96 for 384-dim MiniLM).

    The fusion is built first, as ``fusion(audio_units, text_units, num_outputs)``, and only the
    encoders named in its ``modalities`` are built. ``modalities`` is read from the built instance,
    which works for any factory (a class, a ``functools.partial`` of one, or LightningCLI's
    ``partial(instantiator, cls, ...)``); when the class can be seen in the factory, the GRU sizes
    are checked before the fusion is built.

    Args:
        audio_dim: MFCC values per frame (39).
        text_dim: text embedding size (768 BERT-base, 384 MiniLM).
        num_outputs: number of logits.
        fusion: the fusion factory; None = :class:`~mmfa.fusion.mmfa.MMFAFusion` with defaults.
        audio_factor: f_a of eq. (5).
        text_factor: f_w of eq. (6).
        recurrent_dropout: DropConnect on the GRUs' recurrent weights (paper: 0.3; see
            :class:`~mmfa.models.encoder.ModalityEncoder`).
        l2: Keras ``l2`` on the GRU weight matrices (paper: 1e-4); the fusion has its own.
        modality_dropout: in training, the probability that an utterance loses one of its two
            modalities (audio or text, equally likely): its encoded sequence is zeroed, so the
            model learns to serve with either modality alone. With it > 0, a modality may also
            be None at inference (it is then fed as one zero step). Off (0) by default.
        functionals_dim: size of an utterance-level feature vector (``data.functionals``, e.g.
            openSMILE's ComParE functionals); > 0 adds a linear path from it to the logits,
            summed with the fusion's: the network starts from what a linear classifier on those
            functionals knows and the sequence path learns what they miss. Only for a fusion
            that reads audio. 0 (the paper): none.
        functionals_dropout: dropout on that vector in training.

    Attributes:
        functionals_apart: train the sequence path on its own: in training mode the forward
            pass leaves the functionals path out (it is fitted apart, e.g. as a logistic
            regression: :mod:`mmfa.models.functionals_head`); in eval mode the two paths' logits
            are summed (a product of the two experts' probabilities). False: always summed.
    """

    def __init__(
        self,
        audio_dim: int,
        text_dim: int,
        num_outputs: int,
        fusion: FusionFactory | None = None,
        audio_factor: float = 2,
        text_factor: float = 4,
        recurrent_dropout: float = 0.3,
        l2: float = 1e-4,
        modality_dropout: float = 0.0,
        functionals_dim: int = 0,
        functionals_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= modality_dropout <= 1.0:
            raise NetworkConfigError(
                f"model.modality_dropout={modality_dropout}: a share of training utterances, "
                "so it must be in [0, 1] (0: off, the paper)"
            )
        self.modality_dropout = modality_dropout
        self.audio_units = round(audio_factor * audio_dim)  # paper eq. (5)
        self.text_units = round(text_dim / text_factor)  # paper eq. (6)
        self.l2 = l2
        factory = MMFAFusion if fusion is None else fusion
        declared = _declared_modalities(factory)
        if declared is not None:  # check before building, so the error names the real cause
            self._check_units(declared)
        self.fusion: Fusion = factory(self.audio_units, self.text_units, num_outputs)
        modalities = tuple(self.fusion.modalities)
        self._check_units(modalities)
        self.audio_encoder = (
            ModalityEncoder(audio_dim, self.audio_units, recurrent_dropout)
            if "audio" in modalities
            else None
        )
        self.text_encoder = (
            ModalityEncoder(text_dim, self.text_units, recurrent_dropout)
            if "text" in modalities
            else None
        )
        self.functionals_apart = False
        # Functionals are audio: a fusion that does not read audio (TextOnly) gets no such path.
        self.functionals_head = (
            nn.Sequential(nn.Dropout(functionals_dropout), nn.Linear(functionals_dim, num_outputs))
            if functionals_dim > 0 and "audio" in modalities
            else None
        )

    def _check_units(self, modalities: tuple[str, ...]) -> None:
        """Check that the modalities are known and each used one gets a GRU of >= 1 unit."""
        unknown = set(modalities) - set(_KNOWN_MODALITIES)
        if not modalities or unknown:
            raise ValueError(
                f"fusion modalities must be a non-empty subset of {_KNOWN_MODALITIES}, "
                f"got {modalities}"
            )
        # an unused modality may have no features at all (dim 0, e.g. an audio-only corpus)
        units = {
            "audio": (self.audio_units, "audio_dim * audio_factor"),
            "text": (self.text_units, "text_dim / text_factor"),
        }
        for name in modalities:
            if units[name][0] < 1:
                # dim 0: the data gives no such features (data.use_<name>=false, or the corpus)
                raise NetworkConfigError(
                    f"model.fusion reads {name}, but its GRU would have {units[name][0]} units "
                    f"({units[name][1]}): the data gives no {name} features (is "
                    f"data.use_{name} false?) or model.{name}_factor is off. Turn data.use_{name} "
                    f"on, or pick a fusion without {name} ({_WITHOUT[name]})"
                )

    def _encode(
        self,
        encoder: ModalityEncoder | None,
        name: str,
        x: Tensor | None,
        mask: Tensor | None,
        batch: int,
    ) -> tuple[Tensor | None, Tensor | None]:
        if encoder is None:
            return None, None  # the fusion does not use this modality
        if x is None and self.modality_dropout > 0:  # trained to do without: one zero step
            param = next(encoder.parameters())
            zeros = param.new_zeros(batch, 1, encoder.hidden_size)
            return zeros, torch.ones(batch, 1, dtype=torch.bool, device=param.device)
        if x is None:
            raise ValueError(f"the fusion uses the {name} modality but the batch has {name}=None")
        mask = full_mask(x) if mask is None else mask
        return encoder(x, mask), mask

    def forward(
        self,
        audio: Tensor | None,
        audio_mask: Tensor | None,
        text: Tensor | None,
        text_mask: Tensor | None,
        functionals: Tensor | None = None,
    ) -> Tensor:
        """Logits for a padded batch.

        Args:
            audio: ``(B, Ta, audio_dim)`` MFCC frames (may be None if the fusion is text-only).
            audio_mask: ``(B, Ta)`` bool, True = real frame; None = all real.
            text: ``(B, Tw, text_dim)`` word embeddings (may be None if the fusion is audio-only).
            text_mask: ``(B, Tw)`` bool; None = all real.
            functionals: ``(B, functionals_dim)`` utterance-level features (a network built
                with ``functionals_dim > 0`` needs them; others ignore them).

        Returns:
            ``(B, num_outputs)``.
        """
        given = audio if audio is not None else text
        batch = given.shape[0] if given is not None else 0
        a, a_mask = self._encode(self.audio_encoder, "audio", audio, audio_mask, batch)
        t, t_mask = self._encode(self.text_encoder, "text", text, text_mask, batch)
        if self.training and self.modality_dropout > 0 and a is not None and t is not None:
            a, t = self._drop_modality(a, t)
        logits = self.fusion(a, a_mask, t, t_mask)
        if self.functionals_head is None or (self.training and self.functionals_apart):
            return logits
        if functionals is None:
            raise ValueError(
                "the network has a functionals path (model.functionals_dim > 0) but the batch "
                "has no functionals: set data.functionals as in training"
            )
        return logits + self.functionals_head(functionals)

    def _drop_modality(self, a: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """Zero the audio or the text ``(B, T, units)`` of a random subset of the utterances."""
        drop = torch.rand(a.shape[0], device=a.device) < self.modality_dropout
        audio_side = torch.rand(a.shape[0], device=a.device) < 0.5
        keep_a = ~(drop & audio_side)
        keep_t = ~(drop & ~audio_side)
        return a * keep_a[:, None, None].to(a.dtype), t * keep_t[:, None, None].to(t.dtype)

    def l2_penalty(self) -> Tensor:
        """``l2 * sum(w^2)`` over the GRU weight matrices plus the fusion's own penalty.

        Returns:
            A scalar tensor, to add to the loss.
        """
        penalty = self.fusion.l2_penalty()
        for encoder in (self.audio_encoder, self.text_encoder):
            if encoder is not None:
                for w in encoder.l2_parameters():
                    penalty = penalty + self.l2 * w.pow(2).sum()
        return penalty
