"""What happens to an utterance's audio features between the store and the model: one object.

:class:`AudioPreparation` holds every step a trained model depends on after extraction: silence
trimming and per-speaker standardisation (the front-end and its clip-length cap key the feature
store and travel with the front-end's own settings). The datamodule builds it from its
``data.*`` options, every checkpoint saves :meth:`AudioPreparation.record`, and prediction
restores it with :meth:`AudioPreparation.from_record`, so an option added here cannot be
forgotten on one side.

Per-speaker standardisation needs to know who speaks. At prediction time the speaker is often
unknown (a single file, a folder of recordings). Such utterances (``speaker == ""``) are
standardised with the *training set's* statistics (:attr:`AudioPreparation.training_stats`,
pooled over every training frame and saved in the checkpoint), never with statistics of the one
utterance itself: measured on RAVDESS, per-utterance statistics cut unweighted accuracy by about
20 points (docs/use_a_trained_model.md).

A named speaker with few utterances has the same problem in a milder form: their statistics
come from a handful of clips and standardise away what those clips say. With
``speaker_norm_prior`` each speaker's statistics are pooled with that many utterances' worth of
the training statistics, so they move from the training set's (no utterance of the speaker,
the unknown-speaker case) to the speaker's own as the speaker's utterances add up. Training
utterances keep their speaker's own statistics, so training is the same with or without a prior;
validation, test and prediction all use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmfa.datamodules.transforms import SpeakerStats, speaker_statistics, trim_silence

#: The speaker of an utterance nobody named: standardised with the training statistics.
UNKNOWN_SPEAKER = ""
#: Key of the training-set statistics in :data:`SpeakerStats` (never a real speaker id: ids are
#: strings from the corpus, and this one cannot come from a CSV cell or a folder name).
_TRAINING = "\0training"


@dataclass
class AudioPreparation:
    """Trimming and standardisation of audio features, as training did them.

    Attributes:
        trim_silence: drop leading/trailing frames this far (log-energy) below the loudest one
            (:func:`~mmfa.datamodules.transforms.trim_silence`); None: keep every frame.
        speaker_norm: standardise each feature with its speaker's mean and std.
        training_stats: ``(mean, std)`` over every (trimmed) frame of the training split, the
            statistics of an unknown speaker; set by the datamodule at setup when
            ``speaker_norm`` is on.
        training_stats_only: with ``speaker_norm``, standardise *every* utterance with the
            training statistics, named speaker or not (the utterance-level features of a run
            without per-speaker normalisation: they still need one common scale).
        speaker_norm_prior: with ``speaker_norm``, how many utterances' worth of the training
            statistics are pooled into each named speaker's statistics outside training (0:
            the speaker's own; see the module docstring).
    """

    trim_silence: float | None = None
    speaker_norm: bool = False
    training_stats: tuple[np.ndarray, np.ndarray] | None = None
    training_stats_only: bool = False
    speaker_norm_prior: float = 0.0

    def trimmed(self, x: np.ndarray) -> np.ndarray:
        """``x`` without its silent ends (``x`` itself when trimming is off)."""
        return trim_silence(x, self.trim_silence) if self.trim_silence is not None else x

    def statistics(
        self, rows: Iterable[tuple[str, np.ndarray]], training: bool = False
    ) -> SpeakerStats:
        """Per-speaker statistics over ``(speaker, raw features)`` rows, trimmed first.

        Unknown speakers (``""``) get no statistics of their own (see the module docstring).
        Returns ``{}`` when ``speaker_norm`` is off. Named speakers' statistics are pooled with
        ``speaker_norm_prior`` utterances' worth of the training statistics once those exist,
        except ``training`` ones (for the training split's utterances).
        """
        if not self.speaker_norm:
            return {}
        if self.training_stats_only:
            return {_TRAINING: self.training_stats} if self.training_stats is not None else {}
        stats = speaker_statistics(
            ((speaker, self.trimmed(x)) for speaker, x in rows if speaker != UNKNOWN_SPEAKER),
            prior=None if training else self.training_stats,
            prior_utterances=self.speaker_norm_prior,
        )
        if self.training_stats is not None:
            stats[_TRAINING] = self.training_stats
        return stats

    def fit_training_stats(self, rows: Iterable[np.ndarray]) -> None:
        """Pool every training frame (trimmed) into :attr:`training_stats`."""
        if self.speaker_norm:
            pooled = speaker_statistics(("all", self.trimmed(x)) for x in rows)
            self.training_stats = pooled.get("all")

    def __call__(self, x: np.ndarray, speaker: str, stats: SpeakerStats) -> np.ndarray:
        """One utterance's features ready for the model: trimmed, then standardised.

        Args:
            x: ``(T, D)`` features as stored.
            speaker: the utterance's speaker (``""``: unknown).
            stats: from :meth:`statistics` over the utterances served together.

        Raises:
            KeyError: a named speaker without statistics (a bug: statistics cover every input).
        """
        x = self.trimmed(x)
        if not self.speaker_norm:
            return x
        named = speaker != UNKNOWN_SPEAKER and not self.training_stats_only
        key = speaker if named else _TRAINING
        if key not in stats:
            if key == _TRAINING:
                raise ValueError(
                    "an utterance without a speaker, and this model has no training statistics "
                    "to standardise it with (a checkpoint from an older mmfa): give each input a "
                    "speaker (manifest 'speaker' column, --speaker, or speaker= in Python)"
                )
            raise KeyError(f"no statistics for speaker {speaker!r}")
        mean, std = stats[key]
        return (x - mean) / std

    # -- the record a checkpoint carries --------------------------------------------------------
    def record(self) -> dict[str, Any]:
        """Plain data (JSON-able) for a checkpoint or an exported model."""
        stats = None
        if self.training_stats is not None:
            mean, std = self.training_stats
            stats = {"mean": [float(v) for v in mean], "std": [float(v) for v in std]}
        return {
            "trim_silence": self.trim_silence,
            "speaker_norm": self.speaker_norm,
            "training_stats": stats,
            "training_stats_only": self.training_stats_only,
            "speaker_norm_prior": self.speaker_norm_prior,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> AudioPreparation:
        """The preparation a checkpoint recorded (None or ``{}``: none, the paper's setting)."""
        record = record or {}
        stats = record.get("training_stats")
        return cls(
            trim_silence=record.get("trim_silence"),
            speaker_norm=bool(record.get("speaker_norm", False)),
            training_stats_only=bool(record.get("training_stats_only", False)),
            speaker_norm_prior=float(record.get("speaker_norm_prior", 0.0)),
            training_stats=(
                (
                    np.asarray(stats["mean"], dtype=np.float32),
                    np.asarray(stats["std"], dtype=np.float32),
                )
                if stats
                else None
            ),
        )
