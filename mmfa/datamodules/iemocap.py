"""IEMOCAP as a datamodule: the paper's 10-fold leave-one-speaker-out protocol.

The reader, label maps and folds live in :mod:`mmfa.corpora.iemocap`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from mmfa.corpora.iemocap import (
    IEMOCAP_LABEL_SETS,
    assign_iemocap_split,
    iemocap_folds,
    read_iemocap_with_report,
)
from mmfa.datamodules.base import EmotionDataModule, require_root
from mmfa.dialogue import check_context_size
from mmfa.errors import ConfigError
from mmfa.manifest import Utterance

__all__ = ["IEMOCAPDataModule"]

log = logging.getLogger(__name__)


class IEMOCAPDataModule(EmotionDataModule):
    """IEMOCAP with the paper's 10-fold leave-one-speaker-out protocol.

    Args:
        root: the ``IEMOCAP_full_release`` folder.
        label_set: ``4class`` (neutral, angry, sad, happy+excited) or ``8class``.
        scenario: ``improvised`` (impro dialogs only) or ``mixed`` (all dialogs).
        context_turns: give the text encoder up to this many earlier turns of the same dialog
            (by start time, either speaker; never later turns, never labels) as ``[CLS]
            context [SEP] utterance [SEP]``; the model still reads only the utterance's words.
            0 (the paper's setting): each utterance alone.
        context_speakers: prefix each context turn with its speaker.
        **kwargs: the :class:`EmotionDataModule` arguments; ``fold`` is the test speaker
            (``Ses01F`` ... ``Ses05M``), validation is the other speaker of that session.
    """

    speaker_independent = True

    def __init__(
        self,
        root: str | None = None,
        label_set: Literal["4class", "8class"] = "4class",
        scenario: Literal["improvised", "mixed"] = "mixed",
        context_turns: int = 0,
        context_speakers: bool = True,
        **kwargs: Any,
    ) -> None:
        if label_set not in IEMOCAP_LABEL_SETS:
            raise ConfigError(
                f"data.label_set={label_set!r}: use one of {list(IEMOCAP_LABEL_SETS)}"
            )
        self.label_set = label_set
        self.scenario = scenario
        self.context_turns = check_context_size(context_turns)
        self.context_speakers = context_speakers
        self.class_names = IEMOCAP_LABEL_SETS[label_set]
        self.reader_counts: dict[str, int] = {}
        super().__init__(root=require_root(root, "IEMOCAP_full_release"), **kwargs)

    def load_manifest(self) -> list[Utterance]:
        """Read the consensus labels, transcripts and wav paths (see :func:`read_iemocap`)."""
        assert self.root is not None
        utts, self.reader_counts = read_iemocap_with_report(
            self.root,
            self.label_set,
            self.scenario,
            context_turns=self.context_turns,
            context_speakers=self.context_speakers,
        )
        log.info(
            "IEMOCAP %s/%s: %d utterances; reader counts %s",
            self.label_set,
            self.scenario,
            len(utts),
            self.reader_counts,
        )
        return utts

    def fold_names(self) -> list[str]:
        """The test speaker of each fold: ``Ses01F``, ``Ses01M``, ..., ``Ses05M``."""
        return [name for name, _, _ in iemocap_folds()]

    def split_of(self, utt: Utterance) -> str:
        """Test = the fold's speaker, val = the same session's other speaker, train = the rest."""
        return assign_iemocap_split(utt, str(self.fold))
