"""MFCCExtractor: shape, framing, normalisation, pin to openSMILE, options, parallel extraction."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from mmfa.errors import BadInputError
from mmfa.features.audio import CONFIG_PATH, FEATURE_LEVEL, AudioJob, MFCCExtractor
from mmfa.testing.media import tone, write_wav


@pytest.fixture(scope="module")
def extractor() -> MFCCExtractor:
    return MFCCExtractor()


@pytest.fixture(scope="module")
def raw() -> MFCCExtractor:
    return MFCCExtractor(normalise=False)


def test_dim_and_dtype(extractor: MFCCExtractor) -> None:
    feats = extractor.from_signal(tone(1.0), "u")
    assert extractor.dim == 39
    assert feats.shape[1] == 39 and feats.dtype == np.float32
    assert feats.flags.writeable and feats.flags.c_contiguous
    assert np.all(np.isfinite(feats))


@pytest.mark.parametrize("n", [1600, 1601, 2399, 2400, 16000, 33333, 80000])
def test_frame_count_follows_the_paper(extractor: MFCCExtractor, n: int) -> None:
    feats = extractor.from_signal(tone(n / 16000, seed=n), "u")
    assert feats.shape == ((n - 1600) // 800 + 1, 39)


def test_about_20_frames_per_second(extractor: MFCCExtractor) -> None:
    assert extractor.from_signal(tone(10.0), "u").shape[0] == 199


def test_columns_have_zero_mean(extractor: MFCCExtractor, raw: MFCCExtractor) -> None:
    x = tone(3.0, freq=180.0, seed=3)
    feats = extractor.from_signal(x, "u")
    np.testing.assert_allclose(feats.mean(axis=0), 0.0, atol=1e-4)
    unnormalised = raw.from_signal(x, "u")
    assert abs(unnormalised[:, 0].mean()) > 1.0  # log-energy is far from 0 before normalising
    np.testing.assert_allclose(feats, unnormalised - unnormalised.mean(axis=0), atol=1e-4)


def test_pinned_to_a_direct_opensmile_call(tmp_path: Path, extractor: MFCCExtractor) -> None:
    import opensmile

    path = write_wav(tmp_path / "a.wav", tone(2.3, seed=5))
    smile = opensmile.Smile(feature_set=str(CONFIG_PATH), feature_level=FEATURE_LEVEL)
    direct = smile.process_file(str(path)).to_numpy(dtype=np.float64)
    direct = direct - direct.mean(axis=0)
    ours = extractor.from_file(path, utterance_id="u")
    assert ours.shape == direct.shape
    np.testing.assert_allclose(ours, direct, atol=1e-5)


def test_full_scale_signal_does_not_wrap(raw: MFCCExtractor) -> None:
    # +1.0 * 32768 overflows int16 inside the wrapper unless clipped: energy would collapse.
    square = np.where(np.arange(16000) % 80 < 40, 1.0, -1.0).astype(np.float32)
    feats = raw.from_signal(square, "u")
    assert feats[:, 0].min() > np.log(1600 * 32000.0**2)


def test_an_option_changes_settings_and_output(tmp_path: Path, extractor: MFCCExtractor) -> None:
    path = write_wav(tmp_path / "a.wav", tone(2.0))
    base = extractor.from_file(path, utterance_id="u")
    bands = MFCCExtractor(num_bands=40)
    assert bands.settings() != extractor.settings()
    assert bands.settings()["num_bands"] == 40
    other = bands.from_file(path, utterance_id="u")
    assert other.shape == base.shape
    assert not np.allclose(other[:, 1:13], base[:, 1:13], atol=1e-2)
    assert np.allclose(other[:, 0], base[:, 0], atol=1e-4)  # energy does not use the bands
    step = MFCCExtractor(frame_step=0.025)
    assert step.settings()["frame_step"] == 0.025
    assert step.from_file(path, utterance_id="u").shape == ((32000 - 1600) // 400 + 1, 39)
    ceps = MFCCExtractor(num_ceps=13)
    assert ceps.dim == 42 and ceps.from_file(path, utterance_id="u").shape[1] == 42


def test_settings_are_json_and_hash_the_config(extractor: MFCCExtractor) -> None:
    settings = extractor.settings()
    assert json.loads(json.dumps(settings)) == settings
    assert len(settings["config_sha256"]) == 16
    assert settings == MFCCExtractor().settings()
    assert MFCCExtractor(normalise=False).settings() != settings
    assert MFCCExtractor(max_seconds=30).settings() != settings


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="frame_step"):
        MFCCExtractor(frame_step=0.2)
    with pytest.raises(ValueError, match="high_freq"):
        MFCCExtractor(high_freq=12000)


def test_too_short_signal(extractor: MFCCExtractor) -> None:
    with pytest.raises(BadInputError) as info:
        extractor.from_signal(tone(0.05), "short")
    assert info.value.reason == "too_short" and info.value.utterance_id == "short"


def test_max_seconds_caps_frames(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "long.wav", tone(5.0))
    assert MFCCExtractor(max_seconds=1.0).from_file(path, utterance_id="u").shape[0] == 19


def test_picklable_after_use(extractor: MFCCExtractor) -> None:
    x = tone(1.0)
    clone = pickle.loads(pickle.dumps(extractor))
    assert clone.settings() == extractor.settings()
    np.testing.assert_array_equal(clone.from_signal(x, "u"), extractor.from_signal(x, "u"))


def _jobs(tmp_path: Path, n: int) -> list[AudioJob]:
    jobs = []
    for i in range(n):
        path = write_wav(tmp_path / f"u{i}.wav", tone(0.5 + 0.1 * (i % 7), seed=i))
        jobs.append(AudioJob(index=i, utterance_id=f"u{i}", path=path))
    jobs[3] = AudioJob(index=3, utterance_id="u3", path=tmp_path / "missing.wav")
    whole = write_wav(tmp_path / "whole.wav", tone(3.0, seed=99))
    jobs.append(AudioJob(index=n, utterance_id="seg", path=whole, start=1.0, end=2.0))
    return jobs


@pytest.mark.parametrize(("count", "workers"), [(20, 2), (5, None), (20, 1)])
def test_extract_many(
    tmp_path: Path, extractor: MFCCExtractor, count: int, workers: int | None
) -> None:
    jobs = _jobs(tmp_path, count)
    results = dict(extractor.extract_many(jobs, num_workers=workers, progress=False))
    assert sorted(results) == [job.index for job in jobs]
    err = results[3]
    assert isinstance(err, BadInputError)
    assert err.reason == "missing" and err.utterance_id == "u3"
    for job in jobs:
        if job.index == 3:
            continue
        got = results[job.index]
        assert isinstance(got, np.ndarray)
        want = extractor.from_file(
            job.path, utterance_id=job.utterance_id, start=job.start, end=job.end
        )
        np.testing.assert_array_equal(got, want)
    assert results[count].shape == (19, 39)  # the 1 s segment


def _htk_statics(x: np.ndarray, size: int = 1600, step: int = 800, bands: int = 26) -> np.ndarray:
    """Independent numpy HTK recipe: log E of the raw frame, then MFCC 1-12 liftered by 22."""
    x = np.asarray(x, np.float64) * 32768.0  # HTK works on the int16 scale
    idx = np.arange(size)[None, :] + step * np.arange((len(x) - size) // step + 1)[:, None]
    frames = x[idx]
    log_e = np.log(np.sum(frames**2, axis=1))
    pe = frames.copy()
    pe[:, 1:] -= 0.97 * frames[:, :-1]
    pe[:, 0] *= 1 - 0.97
    power = np.abs(np.fft.rfft(pe * np.hamming(size), 2048)) ** 2

    def mel(f: np.ndarray) -> np.ndarray:
        return 1127.0 * np.log(1 + f / 700.0)

    edges = np.linspace(mel(np.array(0.0)), mel(np.array(8000.0)), bands + 2)
    bin_mel = mel(np.arange(1025) * 16000 / 2048)
    fbank = np.stack(
        [
            np.clip(
                np.minimum(
                    (bin_mel - edges[m]) / (edges[m + 1] - edges[m]),
                    (edges[m + 2] - bin_mel) / (edges[m + 2] - edges[m + 1]),
                ),
                0,
                None,
            )
            for m in range(bands)
        ]
    )
    i = np.arange(1, 13)[:, None]
    dct = np.sqrt(2 / bands) * np.cos(np.pi * i * (np.arange(bands)[None, :] + 0.5) / bands)
    ceps = np.log(power @ fbank.T) @ dct.T * (1 + 11 * np.sin(np.pi * np.arange(1, 13) / 22))
    return np.concatenate([log_e[:, None], ceps], axis=1)


def _htk_deltas(c: np.ndarray, win: int = 2) -> np.ndarray:
    pad = np.concatenate([np.repeat(c[:1], win, 0), c, np.repeat(c[-1:], win, 0)])
    n = len(c)
    num = sum(t * (pad[win + t : win + t + n] - pad[win - t : win - t + n]) for t in range(1, 3))
    return num / (2 * sum(t * t for t in range(1, win + 1)))


def test_matches_an_independent_htk_mfcc(raw: MFCCExtractor) -> None:
    x = np.round(tone(2.0, freq=150.0, seed=11) * 32768) / 32768  # what openSMILE sees (int16)
    ours = raw.from_signal(x, "u").astype(np.float64)
    statics = _htk_statics(x)
    np.testing.assert_allclose(ours[:, :13], statics, atol=2e-3)
    np.testing.assert_allclose(ours[:, 13:26], _htk_deltas(ours[:, :13]), atol=1e-4)
    # openSMILE's accelerations differ from HTK's edge rule in the last two frames only.
    np.testing.assert_allclose(ours[:-2, 26:], _htk_deltas(ours[:, 13:26])[:-2], atol=1e-4)
