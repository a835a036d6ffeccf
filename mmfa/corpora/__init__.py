"""Corpus readers: how each corpus lies on disk, its label maps and its folds.

One module per corpus (:mod:`mmfa.corpora.iemocap`, :mod:`mmfa.corpora.meld`,
:mod:`mmfa.corpora.mosei`, :mod:`mmfa.corpora.ravdess`): pure functions and constants that turn
the corpus as users unpack it into a list of :class:`mmfa.manifest.Utterance`. They import
neither torch nor lightning (a test checks), so they can be used, and tested, without the
training stack. The LightningDataModules over them live in :mod:`mmfa.datamodules`. On-disk
layouts and quirks are described in ``docs/corpus_formats.md``.

The readers are re-exported here and imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmfa._lazy import lazy_exports

if TYPE_CHECKING:
    from mmfa.corpora.iemocap import iemocap_folds, read_iemocap, read_iemocap_with_report
    from mmfa.corpora.meld import read_meld, read_meld_with_report
    from mmfa.corpora.mosei import read_mosei, read_mosei_folds, read_mosei_with_report
    from mmfa.corpora.ravdess import ravdess_folds, read_ravdess, read_ravdess_with_report

_EXPORTS = {
    "iemocap_folds": "mmfa.corpora.iemocap",
    "read_iemocap": "mmfa.corpora.iemocap",
    "read_iemocap_with_report": "mmfa.corpora.iemocap",
    "read_meld": "mmfa.corpora.meld",
    "read_meld_with_report": "mmfa.corpora.meld",
    "read_mosei": "mmfa.corpora.mosei",
    "read_mosei_folds": "mmfa.corpora.mosei",
    "read_mosei_with_report": "mmfa.corpora.mosei",
    "ravdess_folds": "mmfa.corpora.ravdess",
    "read_ravdess": "mmfa.corpora.ravdess",
    "read_ravdess_with_report": "mmfa.corpora.ravdess",
}
__all__ = [
    "iemocap_folds",
    "read_iemocap",
    "read_iemocap_with_report",
    "read_meld",
    "read_meld_with_report",
    "read_mosei",
    "read_mosei_folds",
    "read_mosei_with_report",
    "ravdess_folds",
    "read_ravdess",
    "read_ravdess_with_report",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
