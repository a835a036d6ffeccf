"""Long recordings: windows with start/end, a per-recording summary, scores as of cut files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from mmfa.cli import main
from mmfa.errors import ConfigError
from mmfa.testing.demo_fit import fit_demo


@pytest.fixture(scope="module")
def audio_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(checkpoint of a 1-epoch AudioOnly demo fit, a 7.5 s recording made of demo clips)."""
    import soundfile

    root = tmp_path_factory.mktemp("fit")
    ckpt, _ = fit_demo(root, "--model.fusion=AudioOnly")
    from mmfa.datamodules.synthetic import SyntheticDataModule

    clips = [u.audio_path for u in SyntheticDataModule(num_speakers=6).load_manifest()[:6]]
    signal = np.concatenate([soundfile.read(c, dtype="float32")[0] for c in clips])
    signal = signal[: int(7.5 * 16000)]
    long = root / "long.wav"
    soundfile.write(long, signal, 16000, subtype="FLOAT")
    return ckpt, long


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_windows_match_the_same_samples_as_files(
    audio_model: tuple[Path, Path], tmp_path: Path
) -> None:
    import soundfile

    ckpt, long = audio_model
    out = tmp_path / "windows.csv"
    main(
        ["predict", "--ckpt_path", str(ckpt), "--input", str(long), "--out", str(out)]
        + ["--window", "3", "--hop", "2"]
    )
    rows = _rows(out)
    assert [(float(r["start"]), float(r["end"])) for r in rows] == [
        (0.0, 3.0), (2.0, 5.0), (4.0, 7.0), (6.0, 7.5),
    ]  # fmt: skip
    signal, _ = soundfile.read(long, dtype="float32")
    cut = []
    for r in rows:
        piece = tmp_path / f"{r['start']}.wav"
        a, b = int(float(r["start"]) * 16000), int(float(r["end"]) * 16000)
        soundfile.write(piece, signal[a:b], 16000, subtype="FLOAT")
        cut.append(str(piece))
    from mmfa import EmotionRecognizer

    recognizer = EmotionRecognizer.from_checkpoint(ckpt)
    whole = recognizer.predict_many(cut, progress=False).predictions
    columns = [c for c in rows[0] if c.startswith("score_")]
    for row, ref in zip(rows, whole, strict=True):
        for c in columns:
            assert float(row[c]) == pytest.approx(ref.scores[c.removeprefix("score_")], abs=2e-6)
    summary = _rows(tmp_path / "windows.summary.csv")
    assert len(summary) == 1 and summary[0]["segments"] == "4"
    weights = np.array([3.0, 3.0, 3.0, 1.5])
    for c in columns:
        mean = np.dot(weights, [float(r[c]) for r in rows]) / weights.sum()
        assert float(summary[0][c]) == pytest.approx(mean, abs=2e-6)
    windows, recording = recognizer.predict_windows(long, window=3, hop=2)
    assert [w.start for w in windows] == [0.0, 2.0, 4.0, 6.0]
    assert recording.prediction == summary[0]["prediction"]


def test_without_windows_the_cap_hint_names_the_option(
    audio_model: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import soundfile

    from mmfa import EmotionRecognizer

    ckpt, long = audio_model
    signal, _ = soundfile.read(long, dtype="float32")
    longer = tmp_path / "longer.wav"  # past the model's 60 s clip cap
    soundfile.write(longer, np.tile(signal, 9), 16000, subtype="FLOAT")
    recognizer = EmotionRecognizer.from_checkpoint(ckpt)
    with caplog.at_level("WARNING"):
        recognizer.predict_many([longer], progress=False)
    assert "--window" in caplog.text


def test_windows_need_positive_lengths() -> None:
    from mmfa.datamodules.inputs import Inputs, segments

    with pytest.raises(ConfigError, match="positive"):
        segments(Inputs([], []), 0, 1)
