"""Tiny fake corpora in the real on-disk layout, one writer per corpus, for tests.

Each writer builds a corpus folder with the quirks real copies have (``docs/corpus_formats.md``),
deterministic by seed, in about a second, and writes beside it ``<corpus>.expected.json``: what
the tree holds, computed from the plan the writer followed, not by any mmfa reader. Tests (ours
and plugins') run the real reader on the tree and compare with :func:`fake_expected`::

    from mmfa.testing.fakes import fake_expected, write_fake_iemocap

    corpus = write_fake_iemocap(tmp_path)
    assert len(read_iemocap(corpus)) == fake_expected(corpus)["4class"]["mixed"]["total"]

The writers are re-exported here and imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmfa._lazy import lazy_exports

if TYPE_CHECKING:
    from mmfa.testing.fakes._common import fake_expected
    from mmfa.testing.fakes.iemocap import write_fake_iemocap
    from mmfa.testing.fakes.meld import write_fake_meld
    from mmfa.testing.fakes.mosei import write_fake_mosei
    from mmfa.testing.fakes.ravdess import write_fake_ravdess

_EXPORTS = {
    "fake_expected": "mmfa.testing.fakes._common",
    "write_fake_iemocap": "mmfa.testing.fakes.iemocap",
    "write_fake_meld": "mmfa.testing.fakes.meld",
    "write_fake_mosei": "mmfa.testing.fakes.mosei",
    "write_fake_ravdess": "mmfa.testing.fakes.ravdess",
}
__all__ = [
    "fake_expected",
    "write_fake_iemocap",
    "write_fake_meld",
    "write_fake_mosei",
    "write_fake_ravdess",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
