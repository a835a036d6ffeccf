from __future__ import annotations

import csv
import re
import wave
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mmfa.errors import ConfigError, MMFAError
from mmfa.synthetic.corpus import (
    SYNTHETIC_CLASSES,
    read_synthetic_manifest,
    write_synthetic_corpus,
)
from mmfa.synthetic.speech import make_speaker
from mmfa.synthetic.text import _CUES, make_transcript

SMALL = {"num_speakers": 2, "utterances_per_speaker": 8}


def read_rows(manifest: Path) -> list[dict[str, str]]:
    with open(manifest, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2), path
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return x.astype(np.float64) / 32768, w.getframerate()


@pytest.fixture(scope="module")
def default_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Default arguments (320 clips, a few seconds; the demo uses 60 per speaker)."""
    return write_synthetic_corpus(tmp_path_factory.mktemp("corpus"))


def test_layout_and_balance(default_manifest: Path) -> None:
    folder = default_manifest.parent
    assert folder.name == "synthetic-v2-s0-n8x40"
    assert (folder / "params.json").is_file()
    rows = read_rows(default_manifest)
    assert list(rows[0]) == ["id", "path", "text", "label", "speaker"]
    assert len(rows) == 320 and len({r["id"] for r in rows}) == 320
    assert Counter(r["speaker"] for r in rows) == {f"spk{i:02d}": 40 for i in range(1, 9)}
    assert Counter(r["label"] for r in rows) == {c: 80 for c in SYNTHETIC_CLASSES}
    # Balanced within each speaker too, but not in a fixed order.
    per_speaker = Counter((r["speaker"], r["label"]) for r in rows)
    assert set(per_speaker.values()) == {10}
    orders = {tuple(r["label"] for r in rows if r["speaker"] == s) for s in ("spk01", "spk02")}
    assert len(orders) == 2
    for r in rows:
        assert re.fullmatch(r"spk0[1-8]_00[0-3]\d", r["id"]) and r["id"].startswith(r["speaker"])
        assert r["path"] == f"wav/{r['id']}.wav"


def test_clips_are_speech_like(default_manifest: Path) -> None:
    peaks: dict[str, list[float]] = {c: [] for c in SYNTHETIC_CLASSES}
    for r in read_rows(default_manifest):
        x, sr = read_wav(default_manifest.parent / r["path"])
        assert sr == 16000
        assert 0.8 <= len(x) / sr <= 4.0, r["id"]
        peak = np.abs(x).max()
        assert 10 ** (-30 / 20) < peak < 0.95, r["id"]  # neither silent nor clipped
        # Short leading silence: the first 20 ms hold only the background noise.
        assert np.abs(x[: sr // 50]).max() < peak / 10, r["id"]
        peaks[r["label"]].append(float(20 * np.log10(peak)))
        assert 6 <= len(r["text"].split()) <= 9, r["text"]
    # Arousal is in the energy: high-arousal classes are louder on average.
    mean = {c: float(np.mean(v)) for c, v in peaks.items()}
    assert min(mean["happy"], mean["angry"]) > max(mean["neutral"], mean["sad"]) + 2


def _frame_db(x: np.ndarray, sr: int) -> np.ndarray:
    """Level (dB) of 100 ms frames every 50 ms, as the MFCC front end frames the audio."""
    win, hop = sr // 10, sr // 20
    frames = np.stack([x[i : i + win] for i in range(0, len(x) - win + 1, hop)])
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def test_transcripts_have_a_true_and_a_decoy_phrase() -> None:
    cues = {w: c for c, words in _CUES.items() for w in words}
    first_true = []
    for k in range(400):
        label = SYNTHETIC_CLASSES[k % 4]
        phrases = make_transcript(label, np.random.default_rng(k))
        assert len(phrases) == 2 and sorted(p.true for p in phrases) == [False, True]
        true, decoy = sorted(phrases, key=lambda p: not p.true)
        assert true.label == label and decoy.label != label
        for p in phrases:
            assert {cues[w] for w in p.words if w in cues} == {p.label}, p
        first_true.append(phrases[0].true)
    assert 0.4 < np.mean(first_true) < 0.6  # the order tells nothing


def test_audio_emphasises_the_true_phrase(default_manifest: Path) -> None:
    # Map each word to the audio frame that linear resampling puts it on (as MMFA's eq. (4) does):
    # the words of the true phrase land on louder frames than those of the decoy.
    cues = {w: c for c, words in _CUES.items() for w in words}
    louder = []
    for r in read_rows(default_manifest)[:80]:
        x, sr = read_wav(default_manifest.parent / r["path"])
        level = _frame_db(x, sr)
        words = r["text"].split()
        at = np.round(np.arange(len(words)) / (len(words) - 1) * (len(level) - 1)).astype(int)
        true = np.array([cues.get(w) == r["label"] for w in words])
        decoy = np.array([w in cues and cues[w] != r["label"] for w in words])
        louder.append(level[at[true]].mean() > level[at[decoy]].mean())
    assert np.mean(louder) > 0.85  # single 100 ms frames: pauses and boundaries add noise


def test_read_manifest(default_manifest: Path) -> None:
    utts = read_synthetic_manifest(default_manifest)
    rows = read_rows(default_manifest)
    assert [u.id for u in utts] == [r["id"] for r in rows]
    for u, r in zip(utts, rows, strict=True):
        assert u.audio_path is not None and u.audio_path.is_absolute() and u.audio_path.is_file()
        assert isinstance(u.label, int) and SYNTHETIC_CLASSES[u.label] == r["label"]
        assert (u.text, u.speaker, u.split, u.group) == (r["text"], r["speaker"], "", "")
        assert u.text.strip()


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = write_synthetic_corpus(tmp_path / "a", seed=3, **SMALL)
    b = write_synthetic_corpus(tmp_path / "b", seed=3, **SMALL)
    assert a.read_bytes() == b.read_bytes()
    wavs = sorted(p.name for p in (a.parent / "wav").iterdir())
    assert len(wavs) == 16
    for name in wavs:
        assert (a.parent / "wav" / name).read_bytes() == (b.parent / "wav" / name).read_bytes()


def test_other_seed_other_corpus(tmp_path: Path) -> None:
    a = write_synthetic_corpus(tmp_path, seed=0, **SMALL)
    b = write_synthetic_corpus(tmp_path, seed=1, **SMALL)
    assert a.parent != b.parent
    assert a.read_bytes() != b.read_bytes()
    name = "spk01_0000.wav"
    assert (a.parent / "wav" / name).read_bytes() != (b.parent / "wav" / name).read_bytes()


def test_utterances_do_not_depend_on_corpus_size(tmp_path: Path) -> None:
    small = write_synthetic_corpus(tmp_path, num_speakers=2, utterances_per_speaker=4)
    big = write_synthetic_corpus(tmp_path, num_speakers=3, utterances_per_speaker=4)
    assert read_rows(small) == read_rows(big)[:8]


def test_second_call_does_not_rewrite(tmp_path: Path) -> None:
    manifest = write_synthetic_corpus(tmp_path, **SMALL)
    wav = manifest.parent / "wav" / "spk02_0003.wav"
    before = (manifest.stat().st_mtime_ns, wav.stat().st_mtime_ns)
    assert write_synthetic_corpus(tmp_path, **SMALL) == manifest
    assert (manifest.stat().st_mtime_ns, wav.stat().st_mtime_ns) == before
    # No temporary folder is left behind.
    assert [p.name for p in tmp_path.iterdir()] == [manifest.parent.name]


def test_interrupted_corpus_is_regenerated(tmp_path: Path) -> None:
    reference = write_synthetic_corpus(tmp_path / "ref", **SMALL)
    # A folder without params.json, as a writer killed half-way would leave it.
    broken = tmp_path / "run" / reference.parent.name
    (broken / "wav").mkdir(parents=True)
    (broken / "manifest.csv").write_text("id,path,text,label,speaker\n")
    manifest = write_synthetic_corpus(tmp_path / "run", **SMALL)
    assert manifest == broken / "manifest.csv"
    assert (broken / "params.json").is_file()
    assert manifest.read_bytes() == reference.read_bytes()


@pytest.mark.parametrize(
    "kwargs", [{"num_speakers": 0}, {"utterances_per_speaker": 0}, {"sample_rate": 4000}]
)
def test_bad_arguments_name_the_key(tmp_path: Path, kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        write_synthetic_corpus(tmp_path, **kwargs)
    assert not list(tmp_path.iterdir())


def test_unknown_label_is_reported(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("id,path,text,label,speaker\nx1,wav/x1.wav,hi there you,bored,spk01\n")
    with pytest.raises(MMFAError, match="x1.*bored"):
        read_synthetic_manifest(manifest)


def test_speakers_low_and_high_pitch() -> None:
    f0 = [make_speaker(i, np.random.default_rng(i)).f0 for i in range(8)]
    assert all(105 <= f <= 135 for f in f0[0::2])  # spk01, spk03, ...
    assert all(185 <= f <= 235 for f in f0[1::2])  # spk02, spk04, ...
