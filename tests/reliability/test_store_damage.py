"""Item 8: damage to the feature store is named, set aside and repaired, never fatal."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest

from mmfa.features import store as store_module
from mmfa.features.pipeline import FeaturePipeline
from mmfa.features.store import FeatureStore

from .conftest import FakeAudio, write_corpus


def _two_shards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list, Path]:
    utts = write_corpus(tmp_path / "data", n=6)
    monkeypatch.setattr(store_module, "SHARD_SIZE", 3)
    FeaturePipeline(tmp_path / "cache", FakeAudio(), None, progress=False).run(utts)
    (audio_dir,) = (tmp_path / "cache").glob("audio-*")
    assert len(list(audio_dir.glob("shard-*"))) == 2
    return utts, audio_dir


def test_unreadable_shard_is_named_moved_aside_and_recomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    utts, audio_dir = _two_shards(tmp_path, monkeypatch)
    bad = sorted(audio_dir.glob("shard-*"))[0]
    (arrow,) = bad.glob("*.arrow")
    arrow.write_bytes(arrow.read_bytes()[:100])  # truncated, as by a full disk or a bad copy
    audio = FakeAudio()
    with caplog.at_level(logging.WARNING):
        refs, report = FeaturePipeline(tmp_path / "cache", audio, None, progress=False).run(utts)
    assert str(bad) in caplog.text
    assert not bad.exists() and len(list((audio_dir / "damaged").iterdir())) == 1  # kept
    assert sorted(audio.extracted) == ["u0", "u1", "u2"]  # the lost entries, and only them
    assert len(refs) == 6 and report.extracted["audio"] == 3
    store = FeatureStore(tmp_path / "cache", "audio", FakeAudio().settings())
    np.testing.assert_array_equal(store.get_row(refs[1].audio_row), np.full((2, 2), 2.0))


def test_garbage_state_file_is_damage_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    utts, audio_dir = _two_shards(tmp_path, monkeypatch)
    bad = sorted(audio_dir.glob("shard-*"))[1]
    (bad / "state.json").write_text("{not json")
    store = FeatureStore(tmp_path / "cache", "audio", FakeAudio().settings())
    assert len(store) == 3 and not bad.exists()


def test_damaged_failures_file_counts_as_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    utts = write_corpus(tmp_path / "data", n=4, corrupt=2)
    FeaturePipeline(tmp_path / "cache", FakeAudio(), None, progress=False).run(utts)
    (failures,) = (tmp_path / "cache").glob("audio-*/failures.json")
    failures.write_text('{"truncated": ["unread')
    audio = FakeAudio()
    with caplog.at_level(logging.WARNING):
        refs, report = FeaturePipeline(tmp_path / "cache", audio, None, progress=False).run(utts)
    assert str(failures) in caplog.text and "treated as empty" in caplog.text
    assert audio.extracted == ["u2"] and report.skip_counts() == {"unreadable": 1}
    json.loads(failures.read_text())  # rewritten: valid JSON again


def test_stale_temporaries_of_dead_writers_are_swept(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path, "audio", {"a": 1})
    dead_pid = 2**22 + 12345  # above Linux's pid_max default: no such process
    stale = store.dir / f".tmp-shard-00000-deadbeef-pid{dead_pid}"
    live_old = store.dir / f".tmp-shard-00001-cafecafe-pid{os.getpid()}"
    fresh = store.dir / f".tmp-shard-00002-f00df00d-pid{dead_pid}"
    legacy = store.dir / ".tmp-shard-00003-0badf00d"  # written before pids were recorded
    for folder in (stale, live_old, fresh, legacy):
        folder.mkdir()
        (folder / "data-00000-of-00001.arrow").write_bytes(b"partial")
    old = time.time() - 2 * store_module.STALE_TMP_SECONDS
    for folder in (stale, live_old, legacy):
        os.utime(folder, (old, old))
    FeatureStore(tmp_path, "audio", {"a": 1})
    assert not stale.exists() and not legacy.exists()
    assert live_old.exists() and fresh.exists()


def test_shards_are_synced_before_they_are_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append(f"replace {Path(dst).name}")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    store = FeatureStore(tmp_path, "audio", {"a": 1})
    events.clear()
    store.add([("k", np.ones((2, 2), np.float32))])
    publish = next(i for i, e in enumerate(events) if e.startswith("replace shard-"))
    # Every file of the shard plus its folder before the rename, the parent folder after.
    files = len(list(next(store.dir.glob("shard-*")).iterdir()))
    assert events[:publish].count("fsync") >= files + 1
    assert "fsync" in events[publish + 1 :]
