"""The manifest: one row per utterance, the first stage of mmfa's data flow.

raw corpus -> **manifest** -> cached features -> padded batches -> model. A corpus plugin only has
to produce a list of :class:`Utterance`; everything after it is shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Utterance:
    """One labelled utterance.

    Attributes:
        id: unique id within the corpus (e.g. ``Ses01F_impro01_F000``).
        audio_path: audio file (wav, flac, mp4...); ``None`` for text-only corpora.
        text: the transcript.
        label: class index (multiclass), a float (regression) or a tuple of 0/1 floats (multilabel).
        speaker: speaker id; used to check speaker-independent folds.
        split: ``train``/``val``/``test`` for official splits; ``""`` when a fold decides.
        start: segment start in seconds within ``audio_path`` (``None``: from the beginning).
        end: segment end in seconds (``None``: to the end of the file).
        group: free-form grouping, e.g. ``improvised``/``scripted`` or a dialogue id.
        context: earlier turns of the same dialogue, oldest first, as text (e.g.
            ``"Speaker: text"``); never later turns, never labels. Empty (the default, the
            paper's setting) means the utterance is encoded alone; see :mod:`mmfa.dialogue`.
    """

    id: str
    audio_path: Path | None
    text: str
    label: int | float | tuple[float, ...]
    speaker: str
    split: str = ""
    start: float | None = None
    end: float | None = None
    group: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    context: tuple[str, ...] = ()
