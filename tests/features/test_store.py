"""Feature store and pipeline: reuse by content, recompute on change, skips counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmfa.errors import BadInputError
from mmfa.features.pipeline import FeaturePipeline
from mmfa.features.store import FeatureStore
from mmfa.manifest import Utterance


class CountingAudio:
    """Stands in for MFCCExtractor: features = file bytes summary, scaled by a setting."""

    dim = 2

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self.extracted: list[str] = []

    def settings(self) -> dict:
        return {"scale": self.scale}

    def extract_many(self, jobs, num_workers=None, progress=True):  # noqa: ANN001, ANN201
        for job in jobs:
            self.extracted.append(job.utterance_id)
            data = Path(job.path).read_bytes()
            if data == b"corrupt":
                yield job.index, BadInputError(job.utterance_id, "unreadable", str(job.path))
                continue
            value = float(len(data)) * self.scale
            yield job.index, np.full((len(data), 2), value, dtype=np.float32)


class CountingText:
    dim = 3

    def __init__(self) -> None:
        self.extracted: list[str] = []

    def settings(self) -> dict:
        return {"model": "fake"}

    def extract_many(self, texts, ids, progress=True):  # noqa: ANN001, ANN201
        for i, (text, uid) in enumerate(zip(texts, ids, strict=True)):
            self.extracted.append(uid)
            yield i, np.full((len(text.split()), 3), len(text), dtype=np.float32)


def _corpus(tmp_path: Path) -> list[Utterance]:
    utts = []
    for i, payload in enumerate([b"aaaa", b"bbbbbb", b"corrupt", b"cc"]):
        path = tmp_path / f"u{i}.bin"
        path.write_bytes(payload)
        utts.append(Utterance(f"u{i}", path, f"hello world {i}", 0, "s"))
    utts.append(Utterance("u4", tmp_path / "absent.wav", "missing audio", 0, "s"))
    utts.append(Utterance("u5", tmp_path / "u0.bin", "   ", 0, "s"))
    return utts


def test_store_roundtrip(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path, "audio", {"a": 1})
    arrays = {
        f"k{i}": np.random.default_rng(i).normal(size=(i + 1, 4)).astype(np.float32)
        for i in range(5)
    }
    assert store.add(arrays.items()) == 5
    reopened = FeatureStore(tmp_path, "audio", {"a": 1})
    for key, array in arrays.items():
        np.testing.assert_array_equal(reopened.get(key), array)
    assert FeatureStore(tmp_path, "audio", {"a": 2}).dir != store.dir


def test_pipeline_reuses_and_recomputes(tmp_path: Path) -> None:
    utts = _corpus(tmp_path)
    audio, text = CountingAudio(), CountingText()
    pipe = FeaturePipeline(tmp_path / "cache", audio, text, progress=False)
    refs, report = pipe.run(utts)
    assert [r.index for r in refs] == [0, 1, 3]
    assert report.skip_counts() == {"unreadable": 1, "missing": 1, "empty_transcript": 1}
    # Text is not extracted for utterances whose audio already failed.
    assert report.extracted["audio"] == 3 and report.extracted["text"] == 3
    np.testing.assert_array_equal(
        pipe.audio_store.get_row(refs[1].audio_row),  # type: ignore[union-attr]
        np.full((6, 2), 6.0, dtype=np.float32),
    )

    # Second run: everything reused, the known-bad file is not re-extracted.
    audio2, text2 = CountingAudio(), CountingText()
    refs2, report2 = FeaturePipeline(tmp_path / "cache", audio2, text2, progress=False).run(utts)
    assert audio2.extracted == [] and text2.extracted == []
    assert report2.reused["audio"] == 3 and len(refs2) == 3
    assert "3 reused, 0 extracted" in report2.summary()

    # Changing a file recomputes that entry only; changing a setting recomputes everything.
    Path(utts[1].audio_path).write_bytes(b"bbbbbbbb")  # type: ignore[arg-type]
    audio3 = CountingAudio()
    FeaturePipeline(tmp_path / "cache", audio3, CountingText(), progress=False).run(utts)
    assert audio3.extracted == ["u1"]
    audio4 = CountingAudio(scale=2.0)
    FeaturePipeline(tmp_path / "cache", audio4, CountingText(), progress=False).run(utts)
    assert sorted(audio4.extracted) == ["u0", "u1", "u2", "u3"]


def test_pipeline_error_policy_names_the_utterance(tmp_path: Path) -> None:
    utts = _corpus(tmp_path)
    pipe = FeaturePipeline(
        tmp_path / "c", CountingAudio(), CountingText(), progress=False, on_bad_input="error"
    )
    with pytest.raises(BadInputError, match="u4"):
        pipe.run(utts)


def test_pipeline_never_stores_nan(tmp_path: Path) -> None:
    class NaNText(CountingText):
        def extract_many(self, texts, ids, progress=True):  # noqa: ANN001, ANN201
            for i, _ in enumerate(texts):
                yield i, np.full((2, 3), np.nan, dtype=np.float32)

    utts = [Utterance("x", None, "some words", 0, "s")]
    refs, report = FeaturePipeline(tmp_path, None, NaNText(), progress=False).run(utts)
    assert refs == [] and report.skip_counts() == {"non_finite_features": 1}
