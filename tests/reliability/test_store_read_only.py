"""Item 7: a read-only cache that already holds every feature serves it, with one warning."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from mmfa.errors import MMFAError
from mmfa.features.pipeline import FeaturePipeline

from .conftest import FakeAudio, FakeText, read_only, write_corpus


def test_full_read_only_cache_is_used_even_when_the_hash_memo_is_stale(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    utts = write_corpus(tmp_path / "data")
    cache = tmp_path / "cache"
    refs, _ = FeaturePipeline(cache, FakeAudio(), FakeText(), progress=False).run(utts)
    # Same bytes, new mtime (a copied or re-extracted corpus): the memo entry is stale, the
    # features are not.
    for utt in utts:
        os.utime(utt.audio_path, ns=(1, 1))  # type: ignore[arg-type]
    with read_only(cache) as view, caplog.at_level(logging.WARNING):
        audio, text = FakeAudio(), FakeText()
        refs2, report = FeaturePipeline(view, audio, text, progress=False).run(utts)
    assert audio.extracted == [] and text.extracted == []
    assert len(refs2) == len(refs) and report.reused["audio"] == len(utts)
    warnings = [r for r in caplog.records if "not writable" in r.getMessage()]
    assert len(warnings) == 1, caplog.text


def test_unchanged_memo_is_not_rewritten(tmp_path: Path) -> None:
    utts = write_corpus(tmp_path / "data")
    cache = tmp_path / "cache"
    FeaturePipeline(cache, FakeAudio(), FakeText(), progress=False).run(utts)
    memo = cache / "file_hashes.json"
    before = memo.stat().st_mtime_ns, memo.stat().st_ino
    FeaturePipeline(cache, FakeAudio(), FakeText(), progress=False).run(utts)
    assert (memo.stat().st_mtime_ns, memo.stat().st_ino) == before


def test_read_only_cache_missing_features_says_which_folder(tmp_path: Path) -> None:
    utts = write_corpus(tmp_path / "data")
    cache = tmp_path / "cache"
    FeaturePipeline(cache, FakeAudio(), FakeText(), progress=False).run(utts[:3])
    with read_only(cache) as view, pytest.raises(MMFAError, match="cannot write features"):
        FeaturePipeline(view, FakeAudio(), FakeText(), progress=False).run(utts)
