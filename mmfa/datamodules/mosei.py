"""CMU-MOSEI as a datamodule: the raw release, its standard folds, three tasks.

The reader, label order and folds live in :mod:`mmfa.corpora.mosei`.
"""

from __future__ import annotations

import logging
from typing import Any

from mmfa.corpora.mosei import (
    MOSEI_EMOTIONS,
    MoseiTask,
    read_mosei_with_report,
)
from mmfa.datamodules.base import EmotionDataModule, require_root
from mmfa.errors import ConfigError
from mmfa.manifest import Utterance
from mmfa.problem import ProblemType

__all__ = ["MOSEIDataModule"]

log = logging.getLogger(__name__)

_TASK_TYPES: dict[str, ProblemType] = {
    "emotion6": "multiclass",
    "multilabel": "multilabel",
    "sentiment": "regression",
}


class MOSEIDataModule(EmotionDataModule):
    """CMU-MOSEI from the raw release, standard folds.

    Segments are cut from ``WAV_16000/<video>.wav`` by the label intervals. Folds are
    video-disjoint, so they are checked like speaker-independent folds (MOSEI has no speaker ids;
    the video stands in for the speaker).

    Args:
        root: the folder holding ``CMU_MOSEI_Labels.csd``, ``Raw/`` and the folds file.
        task: ``emotion6`` (the paper: one label, the strongest emotion), ``multilabel``
            (presence of each emotion, the field's standard) or ``sentiment`` (a score in
            [-3, 3], regression).
        keep_all_zero: ``emotion6`` only: keep segments with no emotion as ``happy`` (the argmax).
        **kwargs: the :class:`EmotionDataModule` arguments.
    """

    speaker_independent = True

    def __init__(
        self,
        root: str | None = None,
        task: MoseiTask = "emotion6",
        keep_all_zero: bool = False,
        **kwargs: Any,
    ) -> None:
        if task not in _TASK_TYPES:
            raise ConfigError(f"data.task={task!r}: use one of {list(_TASK_TYPES)}")
        self.task = task
        self.keep_all_zero = keep_all_zero
        self.task_type = _TASK_TYPES[task]
        self.class_names = ("sentiment",) if task == "sentiment" else MOSEI_EMOTIONS
        self.reader_counts: dict[str, int] = {}
        super().__init__(root=require_root(root, "CMU-MOSEI"), **kwargs)

    def load_manifest(self) -> list[Utterance]:
        """One utterance per labelled segment (see :func:`read_mosei`)."""
        assert self.root is not None
        utts, self.reader_counts = read_mosei_with_report(self.root, self.task, self.keep_all_zero)
        log.info(
            "CMU-MOSEI (%s): %d segments; reader counts %s",
            self.task,
            len(utts),
            self.reader_counts,
        )
        return utts
