"""RAVDESS speech (8 emotions) with actor-independent folds over whichever actors are present."""

from __future__ import annotations

import logging
from typing import Any

from mmfa.corpora.ravdess import (
    DEFAULT_NUM_FOLDS,
    RAVDESS_CLASSES,
    RavdessFold,
    assign_ravdess_split,
    list_actors,
    ravdess_folds,
    read_ravdess_with_report,
)
from mmfa.datamodules.base import EmotionDataModule, require_root
from mmfa.manifest import Utterance

log = logging.getLogger(__name__)


class RAVDESSDataModule(EmotionDataModule):
    """RAVDESS audio-only speech: 8 classes, the statement as transcript, actor-independent folds.

    Folds come from :func:`mmfa.corpora.ravdess.ravdess_folds` over the actors found under
    ``root``: groups of actors (gender balanced where the counts allow) take turns as test, the
    next group validates, the rest train. On the full 24 actors: 6 folds of 4 test, 4 validation
    and 16 training actors; on actors 01-12: 6 folds of 2, 2 and 8.

    Args:
        root: the folder holding ``Actor_01`` ... ``Actor_24`` (any subset, at least 3 actors).
        num_folds: the largest number of folds (default 6; fewer when there are fewer actors).
        **kwargs: the :class:`EmotionDataModule` arguments; ``fold`` is a fold name such as
            ``actors-01-02`` (the test actors); None = the first fold.
    """

    class_names = RAVDESS_CLASSES
    speaker_independent = True

    def __init__(
        self, root: str | None = None, num_folds: int = DEFAULT_NUM_FOLDS, **kwargs: Any
    ) -> None:
        self.num_folds = num_folds
        self.reader_counts: dict[str, int] = {}
        self._folds: dict[str, RavdessFold] | None = None
        super().__init__(root=require_root(root, "RAVDESS (holding Actor_XX)"), **kwargs)

    def load_manifest(self) -> list[Utterance]:
        """Every speech clip under ``root/Actor_XX`` (see :func:`read_ravdess_with_report`)."""
        assert self.root is not None
        utts, self.reader_counts = read_ravdess_with_report(self.root)
        log.info("RAVDESS: %d clips; reader counts %s", len(utts), self.reader_counts)
        return utts

    def folds(self) -> dict[str, RavdessFold]:
        """The folds by name, computed once from the actor folders under ``root``."""
        if self._folds is None:
            assert self.root is not None
            found = ravdess_folds(list_actors(self.root), self.num_folds)
            self._folds = {f.name: f for f in found}
        return self._folds

    def fold_names(self) -> list[str]:
        """Fold names, after the test actors: ``actors-01-02``, ``actors-03-04``, ..."""
        return list(self.folds())

    def split_of(self, utt: Utterance) -> str:
        """Test = the fold's actors, val = the next group's, train = every other actor."""
        return assign_ravdess_split(utt, self.folds()[str(self.fold)])
