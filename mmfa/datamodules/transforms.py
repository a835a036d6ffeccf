"""Feature transforms of the practical recipe: per-speaker standardisation and train-time masking.

Both are options of :class:`mmfa.datamodules.base.EmotionDataModule`, off by default (the paper
feeds the per-utterance mean-normalised MFCC as they are).

- ``speaker_norm``: each audio feature is standardised with the mean and standard deviation of
  its speaker's frames, over all that speaker's utterances in every split. It uses no labels, so
  it is as legitimate on a test speaker as on a training one (a deployed system normalises on a
  speaker's earlier speech the same way). With the MFCC's own per-utterance mean normalisation
  off (``audio.init_args.normalise: false``) it keeps what that removes, e.g. how loud an
  utterance is relative to the same speaker's other utterances.
- ``augment``: :class:`FeatureAugment`, SpecAugment-style time and feature masking plus Gaussian
  noise on the (normalised) training features only.
- ``trim_silence``: :func:`trim_silence` drops the leading and trailing frames that are much
  quieter than the utterance's loudest frame (acted corpora such as RAVDESS have about a second
  of silence at each end), in every split and before the speaker statistics; no labels used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

#: speaker -> (mean, std), each of shape (D,).
SpeakerStats = dict[str, tuple[np.ndarray, np.ndarray]]
#: A train-time transform of one ``(T, D)`` feature matrix.
FeatureTransform = Callable[[np.ndarray], np.ndarray]


def trim_silence(x: np.ndarray, drop: float) -> np.ndarray:
    """Cut the leading and trailing frames whose log-energy is ``drop`` below the loudest frame.

    Feature 0 must be the log-energy (natural log), as in mmfa's MFCC front-ends; a per-utterance
    mean subtraction does not matter (only differences are used). ``drop=6`` is about 26 dB.

    Args:
        x: ``(T, D)`` features of one utterance.
        drop: how far below the peak log-energy a frame counts as silence.

    Returns:
        ``(T', D)`` with ``1 <= T' <= T``: the frames from the first to the last loud one.
    """
    loud = np.flatnonzero(x[:, 0] >= x[:, 0].max() - drop)
    return x[loud[0] : loud[-1] + 1]


def speaker_statistics(
    rows: Iterable[tuple[str, np.ndarray]],
    eps: float = 1e-5,
    prior: tuple[np.ndarray, np.ndarray] | None = None,
    prior_utterances: float = 0.0,
) -> SpeakerStats:
    """Mean and standard deviation of every feature over all frames of each speaker.

    With a ``prior`` each speaker's statistics are those of their own frames pooled with
    ``prior_utterances`` utterances' worth of a population whose statistics are ``prior``
    (the speaker's first and second moments get weight ``n / (n + prior_utterances)`` for ``n``
    utterances). A speaker with a handful of utterances then gets statistics near the
    population's instead of ones that standardise away what the utterances say; one with many
    keeps their own.

    Args:
        rows: ``(speaker, features (T, D))`` for every usable utterance (labels are not needed).
        eps: floor of the standard deviation (a constant feature is centred, not blown up).
        prior: ``(mean (D,), std (D,))`` of the population, e.g. the training set's.
        prior_utterances: how many utterances the prior counts as (0: none).

    Returns:
        speaker -> ``(mean (D,), std (D,))``, float32.
    """
    if prior_utterances < 0:
        raise ValueError(f"prior_utterances={prior_utterances}: give a count >= 0")
    # speaker -> [utterances, frames, sum, sum of squares]
    sums: dict[str, list[Any]] = {}
    for speaker, x in rows:
        x = np.asarray(x, dtype=np.float64)
        acc = sums.setdefault(speaker, [0, 0, np.zeros(x.shape[1]), np.zeros(x.shape[1])])
        acc[0] += 1
        acc[1] += x.shape[0]
        acc[2] = acc[2] + x.sum(0)
        acc[3] = acc[3] + (x * x).sum(0)
    stats: SpeakerStats = {}
    for speaker, (utterances, frames, s, ss) in sums.items():
        mean = s / max(frames, 1)
        second = ss / max(frames, 1)
        if prior is not None and prior_utterances > 0:
            weight = utterances / (utterances + prior_utterances)
            prior_mean = np.asarray(prior[0], dtype=np.float64)
            prior_second = np.asarray(prior[1], dtype=np.float64) ** 2 + prior_mean**2
            mean = weight * mean + (1 - weight) * prior_mean
            second = weight * second + (1 - weight) * prior_second
        std = np.maximum(np.sqrt(np.maximum(second - mean**2, 0.0)), eps)
        stats[speaker] = (mean.astype(np.float32), std.astype(np.float32))
    return stats


class FeatureAugment:
    """SpecAugment-style masking and additive noise on one ``(T, D)`` feature matrix.

    Applied to training batches only. Masked steps/features are set to 0, which after
    per-speaker standardisation is the speaker's mean. Uses torch's global random generator, so
    ``seed_everything`` makes runs repeatable.

    Args:
        time_masks: number of time masks per utterance.
        time_width: each time mask covers up to this fraction of the utterance's steps.
        feature_masks: number of feature (column) masks per utterance.
        feature_width: each feature mask covers up to this many consecutive columns.
        noise: standard deviation of the Gaussian noise added to every value (0: none).
        p: probability that an utterance is augmented at all.
    """

    def __init__(
        self,
        time_masks: int = 2,
        time_width: float = 0.1,
        feature_masks: int = 2,
        feature_width: int = 4,
        noise: float = 0.0,
        p: float = 1.0,
    ) -> None:
        if not 0.0 <= time_width < 1.0 or not 0.0 <= p <= 1.0 or noise < 0:
            raise ValueError(
                "FeatureAugment: time_width must be in [0, 1), p in [0, 1] and noise >= 0 "
                f"(got time_width={time_width}, p={p}, noise={noise})"
            )
        self.time_masks, self.time_width = time_masks, time_width
        self.feature_masks, self.feature_width = feature_masks, feature_width
        self.noise, self.p = noise, p

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Return an augmented copy of ``x (T, D)``."""
        if self.p < 1.0 and float(torch.rand(())) >= self.p:
            return x
        out = np.array(x, dtype=np.float32, copy=True)
        steps, dims = out.shape
        for _ in range(self.time_masks):
            width = int(torch.randint(0, int(self.time_width * steps) + 1, ()))
            if width:
                start = int(torch.randint(0, steps - width + 1, ()))
                out[start : start + width] = 0.0
        for _ in range(self.feature_masks):
            width = int(torch.randint(0, min(self.feature_width, dims) + 1, ()))
            if width:
                start = int(torch.randint(0, dims - width + 1, ()))
                out[:, start : start + width] = 0.0
        if self.noise:
            out += self.noise * torch.randn(steps, dims).numpy()
        return out

    def __repr__(self) -> str:
        return (
            f"FeatureAugment(time_masks={self.time_masks}, time_width={self.time_width}, "
            f"feature_masks={self.feature_masks}, feature_width={self.feature_width}, "
            f"noise={self.noise}, p={self.p})"
        )
