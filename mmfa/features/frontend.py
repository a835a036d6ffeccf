"""The front-end contracts: what turns a waveform, or a transcript, into a ``(T, dim)`` matrix.

Every audio front-end (the paper's openSMILE MFCC, the torch MFCC that reproduces it, a frozen
self-supervised encoder, a plugin's own) subclasses :class:`AudioFrontEnd`, and every text
front-end (the BERT-like encoder of :mod:`mmfa.features.text`, a plugin's own) subclasses
:class:`TextFrontEnd`, so the feature pipeline and the datamodules never know one by name: they
call ``settings()`` to key the feature store, ``dim`` to size the model, and ``extract_many()`` to
fill the store. A config picks one with ``data.audio`` / ``data.text: {class_path: ...,
init_args: ...}``; third-party front-ends register in the ``mmfa.frontends`` (audio) and
``mmfa.text`` entry-point groups (``mmfa plugins`` lists them). Only registered front-ends can be
rebuilt from a checkpoint (:mod:`mmfa.checkpoints`).

An audio front-end implements :meth:`~AudioFrontEnd.from_signal`, :attr:`~AudioFrontEnd.dim` and
:meth:`~AudioFrontEnd.settings`; reading files, the clip-length cap and the one-by-one
:meth:`~AudioFrontEnd.extract_many` come with the base class. Front-ends that run batched on a
device (``batched = True``) override :meth:`~AudioFrontEnd.extract_many` to do so. A text
front-end implements :attr:`~TextFrontEnd.dim`, :meth:`~TextFrontEnd.settings` and
:meth:`~TextFrontEnd.extract_many` (docs/text_frontends.md).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from mmfa.errors import BadInputError
from mmfa.features.audio_io import TARGET_SAMPLE_RATE, read_audio

__all__ = ["AudioFrontEnd", "AudioJob", "TextFrontEnd", "count_capped"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioJob:
    """One utterance to extract; ``index`` is echoed back so results can arrive in any order."""

    index: int
    utterance_id: str
    path: Path
    start: float | None = None
    end: float | None = None


class AudioFrontEnd(ABC):
    """Base class of audio front-ends: 16 kHz mono waveform in, ``(T, dim)`` float32 frames out.

    Attributes:
        batched: ``True`` when :meth:`extract_many` runs many utterances at once on a torch
            device (so the pipeline need not fan out over processes).
        sample_rate: Input rate in Hz; files are resampled to it on reading.
        max_seconds: Use at most this many seconds of each utterance (``None``: no cap). The
            datamodule sets it from ``data.max_clip_seconds`` when the front-end leaves it unset.
    """

    batched: ClassVar[bool] = False
    sample_rate: ClassVar[int] = TARGET_SAMPLE_RATE
    max_seconds: float | None = None

    @property
    @abstractmethod
    def dim(self) -> int:
        """Values per output frame."""

    @property
    def frame_rate(self) -> float:
        """Output frames per second of audio (20 for the paper's MFCC: 1 / ``frame_step``)."""
        step = getattr(self, "frame_step", None)
        return 1.0 / float(step) if step else 20.0

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """Every setting that changes the output, JSON-able; the feature store keys on it."""

    @abstractmethod
    def from_signal(self, signal: np.ndarray, utterance_id: str) -> np.ndarray:
        """Features of one 16 kHz mono signal.

        Args:
            signal: Samples of shape ``(N,)``, floats in ``[-1, 1]`` at :attr:`sample_rate`.
            utterance_id: Id used in error messages.

        Returns:
            Features of shape ``(T, dim)``, float32.

        Raises:
            BadInputError: the signal cannot give features (too short, non-finite output).
        """

    def read(self, job: AudioJob) -> np.ndarray:
        """The job's samples at 16 kHz, capped at :attr:`max_seconds` (see ``read_audio``)."""
        return read_audio(
            job.path,
            utterance_id=job.utterance_id,
            start=job.start,
            end=job.end,
            max_seconds=self.max_seconds,
        )

    def from_file(
        self,
        path: Path,
        *,
        utterance_id: str,
        start: float | None = None,
        end: float | None = None,
    ) -> np.ndarray:
        """Features of ``[start, end)`` of an audio file, shape ``(T, dim)``, float32."""
        return self.from_signal(
            self.read(AudioJob(0, utterance_id, path, start, end)), utterance_id
        )

    def extract_many(
        self,
        jobs: Sequence[AudioJob],
        *,
        num_workers: int | None = None,
        progress: bool = True,
    ) -> Iterator[tuple[int, np.ndarray | BadInputError]]:
        """Extract many utterances, yielding ``(job.index, features or BadInputError)``.

        The base class runs them one by one in this process; subclasses override it to use
        processes (openSMILE) or batches on a device (torch front-ends).

        Args:
            jobs: Utterances to extract.
            num_workers: Ignored here; see subclasses.
            progress: Ignored here; see subclasses.
        """
        del num_workers, progress
        for job in jobs:
            try:
                yield job.index, self.from_signal(self.read(job), job.utterance_id)
            except BadInputError as err:
                yield job.index, err


class TextFrontEnd(ABC):
    """Base class of text front-ends: transcripts in, one ``(T, dim)`` float32 matrix each out.

    ``T`` is the front-end's own unit (words, word pieces, ...), at least 1 for a usable
    transcript; the model pads and masks over it. Construction should be cheap and touch no
    model: ``mmfa plugins``, config checks and checkpoint loading build front-ends without
    extracting anything, so load weights on the first :meth:`extract_many` call.
    """

    @property
    @abstractmethod
    def dim(self) -> int:
        """Values per output row (e.g. 384 for MiniLM, 768 for BERT-base); sizes the model."""

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """Every setting that changes the output, JSON-able; the feature store keys on it.

        Include the model's identity (a content fingerprint rather than a path) and the
        versions of the libraries that compute it, so a checkpoint refuses features computed
        differently.
        """

    @abstractmethod
    def extract_many(
        self,
        texts: Sequence[str],
        ids: Sequence[str],
        *,
        contexts: Sequence[Sequence[str]] | None = None,
        progress: bool = True,
    ) -> Iterator[tuple[int, np.ndarray | BadInputError]]:
        """Extract many transcripts, yielding ``(index into texts, features or BadInputError)``.

        Results may come in any order, but each index exactly once.

        Args:
            texts: Transcripts.
            ids: Utterance ids, parallel to ``texts`` (for error messages).
            contexts: Per transcript, the earlier turns of its dialogue, oldest first
                (:mod:`mmfa.dialogue`); ``None`` when the corpus gives none (the pipeline then
                leaves the argument out). A front-end that cannot use context must raise
                :class:`~mmfa.errors.ConfigError` when given some, not ignore it.
            progress: Show a progress bar.

        Yields:
            ``(index, features)``: float32 ``(T, dim)``; or a :class:`BadInputError` for a
            transcript that gives no features (e.g. ``empty_transcript``).
        """


def count_capped(jobs: Sequence[AudioJob], max_seconds: float | None) -> list[tuple[str, float]]:
    """The jobs longer than ``max_seconds``, as ``(utterance_id, seconds)``, from file headers.

    Used to log how many clips a front-end's cap cut, so no clip is shortened silently.
    """
    if max_seconds is None:
        return []
    from mmfa.features.audio_io import audio_duration

    capped = []
    for job in jobs:
        try:
            total = audio_duration(job.path, utterance_id=job.utterance_id)
        except BadInputError:
            continue  # reported by the extraction itself
        begin = max(0.0, job.start or 0.0)
        stop = total if job.end is None else min(job.end, total)
        if stop - begin > max_seconds + 1e-6:
            capped.append((job.utterance_id, stop - begin))
    return capped
