"""MELD as a datamodule: the official train/dev/test split, audio from the mp4 clips.

The reader and label sets live in :mod:`mmfa.corpora.meld`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from mmfa.corpora.meld import (
    MELD_EMOTIONS,
    MELD_MAX_SECONDS,
    MELD_SENTIMENTS,
    read_meld_with_report,
)
from mmfa.datamodules.base import EmotionDataModule, require_root
from mmfa.dialogue import check_context_size
from mmfa.features.audio import MFCCExtractor
from mmfa.manifest import Utterance

__all__ = ["MELDDataModule"]

log = logging.getLogger(__name__)


class MELDDataModule(EmotionDataModule):
    """MELD with its official train/dev/test split (dev is the validation split).

    Audio is read from the mp4 clips (downmixed to 16 kHz mono), capped at
    :data:`MELD_MAX_SECONDS` because some clips are cut wrongly and last minutes
    (docs/corpus_formats.md).
    Unreadable and missing clips are skipped and counted. With ``use_audio: false`` only the CSVs
    are needed (text-only runs, e.g. with ``model.fusion: TextOnly``).

    Args:
        root: the ``MELD.Raw`` folder.
        target: ``emotion`` (7 classes, the paper) or ``sentiment`` (3 classes).
        context_turns: give the text encoder up to this many earlier utterances of the same
            dialogue (never later ones, never labels) as ``[CLS] context [SEP] utterance
            [SEP]``; the model still reads only the utterance's words. 0 (the paper's setting):
            each utterance alone.
        context_speakers: prefix each context turn with ``"Speaker: "``.
        **kwargs: the :class:`EmotionDataModule` arguments.
    """

    def __init__(
        self,
        root: str | None = None,
        target: Literal["emotion", "sentiment"] = "emotion",
        context_turns: int = 0,
        context_speakers: bool = True,
        **kwargs: Any,
    ) -> None:
        self.target = target
        self.context_turns = check_context_size(context_turns)
        self.context_speakers = context_speakers
        self.class_names = MELD_EMOTIONS if target == "emotion" else MELD_SENTIMENTS
        self.reader_counts: dict[str, int] = {}
        if kwargs.get("use_audio", True) and kwargs.get("audio") is None:
            kwargs["audio"] = MFCCExtractor(max_seconds=MELD_MAX_SECONDS)
        super().__init__(root=require_root(root, "MELD.Raw"), **kwargs)

    def load_manifest(self) -> list[Utterance]:
        """Read the three CSVs (cp1252 damage repaired) and locate the clips."""
        assert self.root is not None
        utts, self.reader_counts = read_meld_with_report(
            self.root,
            self.target,
            with_audio=self.audio is not None,
            context_turns=self.context_turns,
            context_speakers=self.context_speakers,
        )
        log.info(
            "MELD (%s): %d utterances; reader counts %s", self.target, len(utts), self.reader_counts
        )
        return utts
