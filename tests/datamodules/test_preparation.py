"""AudioPreparation: one object for trimming and standardisation, in training and prediction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmfa.datamodules.preparation import UNKNOWN_SPEAKER, AudioPreparation
from mmfa.datamodules.transforms import speaker_statistics


def _rows(seed: int = 0) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        (speaker, rng.normal(loc=offset, size=(int(rng.integers(5, 20)), 3)).astype(np.float32))
        for speaker, offset in (("ann", 2.0), ("ann", 2.0), ("bob", -1.0), ("bob", -1.0))
    ]


def test_named_speakers_use_their_statistics_and_unknown_ones_the_training_set() -> None:
    rows = _rows()
    prep = AudioPreparation(speaker_norm=True)
    prep.fit_training_stats(x for _, x in rows)
    stats = prep.statistics(rows)
    assert set(stats) >= {"ann", "bob"}
    mean, std = speaker_statistics(rows)["ann"]
    x = rows[0][1]
    np.testing.assert_allclose(prep(x, "ann", stats), (x - mean) / std)
    pooled = speaker_statistics(("all", x) for _, x in rows)["all"]
    np.testing.assert_allclose(prep(x, UNKNOWN_SPEAKER, stats), (x - pooled[0]) / pooled[1])
    # An unknown speaker never gets statistics of its own from the inputs served with it.
    assert UNKNOWN_SPEAKER not in prep.statistics([*rows, (UNKNOWN_SPEAKER, x)])


def test_without_training_statistics_an_unknown_speaker_is_refused_with_the_fix() -> None:
    prep = AudioPreparation(speaker_norm=True)
    with pytest.raises(ValueError, match="speaker"):
        prep(np.ones((4, 3), dtype=np.float32), UNKNOWN_SPEAKER, prep.statistics(_rows()))


def test_off_means_features_as_stored_and_trimming_still_applies() -> None:
    x = np.zeros((10, 3), dtype=np.float32)
    x[3:7, 0] = 10.0  # loud frames in the middle; log-energy is feature 0
    assert AudioPreparation()(x, "ann", {}) is x
    np.testing.assert_array_equal(AudioPreparation(trim_silence=6.0)(x, "ann", {}), x[3:7])


def test_the_record_is_plain_json_and_restores_the_same_preparation() -> None:
    prep = AudioPreparation(trim_silence=6.0, speaker_norm=True)
    prep.fit_training_stats(x for _, x in _rows())
    record = json.loads(json.dumps(prep.record()))
    again = AudioPreparation.from_record(record)
    assert again.trim_silence == 6.0 and again.speaker_norm
    assert again.training_stats is not None and prep.training_stats is not None
    for a, b in zip(again.training_stats, prep.training_stats, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert AudioPreparation.from_record(None) == AudioPreparation()


def test_speaker_norm_dropout_prepares_training_utterances_as_unknown_speakers() -> None:
    import torch

    from mmfa.datamodules.collate import FeatureDataset
    from mmfa.features.pipeline import SampleRef
    from mmfa.features.store import MemoryStore
    from mmfa.manifest import Utterance

    rows = _rows()
    store = MemoryStore()
    store.add((str(i), x) for i, (_, x) in enumerate(rows))
    utts = [Utterance(str(i), None, "", 0, s) for i, (s, _) in enumerate(rows)]
    prep = AudioPreparation(speaker_norm=True)
    prep.fit_training_stats(x for _, x in rows)
    stats = prep.statistics(rows)
    refs = [SampleRef(i, i, -1) for i in range(len(rows))]
    always = FeatureDataset(refs, utts, store, None, prep, stats, unknown_speaker_rate=1.0)
    never = FeatureDataset(refs, utts, store, None, prep, stats)
    for i, (_, x) in enumerate(rows):
        np.testing.assert_allclose(always[i]["audio"], prep(x, UNKNOWN_SPEAKER, stats))
        np.testing.assert_allclose(never[i]["audio"], prep(x, rows[i][0], stats))
    torch.manual_seed(0)
    half = FeatureDataset(refs * 50, utts, store, None, prep, stats, unknown_speaker_rate=0.5)
    unknown = sum(
        np.allclose(half[i]["audio"], prep(rows[i % 4][1], UNKNOWN_SPEAKER, stats))
        for i in range(200)
    )
    assert 60 < unknown < 140  # about half, from torch's seeded generator


def test_the_datamodule_refuses_a_dropout_outside_zero_one() -> None:
    from mmfa.datamodules.synthetic import SyntheticDataModule
    from mmfa.errors import ConfigError

    with pytest.raises(ConfigError, match="speaker_norm_dropout"):
        SyntheticDataModule(speaker_norm=True, speaker_norm_dropout=1.5)


def test_the_prior_pools_a_speaker_with_utterances_worth_of_the_training_statistics() -> None:
    """The same statistics as a weighted pool of the speaker's frames and the population's."""
    rng = np.random.default_rng(1)
    population = rng.normal(0.5, 2.0, (400, 3))
    prior = (population.mean(0), population.std(0))
    clips = [rng.normal(4.0, 0.5, (int(rng.integers(3, 9)), 3)) for _ in range(2)]
    for kappa in (0.5, 3.0, 40.0):
        mean, std = speaker_statistics(
            [("ann", c) for c in clips], prior=prior, prior_utterances=kappa
        )["ann"]
        own = np.concatenate(clips)
        weight = len(clips) / (len(clips) + kappa)
        frames = np.concatenate([own, population])
        weights = np.r_[np.full(len(own), weight / len(own)), np.full(400, (1 - weight) / 400)]
        pooled_mean = np.average(frames, axis=0, weights=weights)
        pooled_var = np.average((frames - pooled_mean) ** 2, axis=0, weights=weights)
        np.testing.assert_allclose(mean, pooled_mean, rtol=1e-5)
        np.testing.assert_allclose(std, np.sqrt(pooled_var), rtol=1e-5)
    # No prior, or one worth nothing: the speaker's own frames.
    alone = speaker_statistics([("ann", c) for c in clips])["ann"]
    unused = speaker_statistics([("ann", c) for c in clips], prior=prior)["ann"]
    for a, b in zip(alone, unused, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="prior_utterances"):
        speaker_statistics([("ann", clips[0])], prior=prior, prior_utterances=-1)


def test_with_a_prior_one_clip_of_a_speaker_is_standardised_near_an_unknown_speaker() -> None:
    """Without it a one-clip speaker's clip is standardised to about nothing; with it, its
    preparation moves from the unknown-speaker one to the speaker's own as clips add up."""
    rows = _rows()
    x = rows[0][1]
    distances = []
    for kappa in (0.0, 3.0, 1e6):
        prep = AudioPreparation(speaker_norm=True, speaker_norm_prior=kappa)
        prep.fit_training_stats(x for _, x in rows)
        stats = prep.statistics([("one clip", x)])
        unknown = prep(x, UNKNOWN_SPEAKER, stats)
        distances.append(float(np.abs(prep(x, "one clip", stats) - unknown).max()))
    assert distances[0] > distances[1] > distances[2]
    assert distances[2] < 1e-4  # a prior worth everything: the training statistics
    again = AudioPreparation.from_record(json.loads(json.dumps(prep.record())))
    assert again.speaker_norm_prior == 1e6
    assert AudioPreparation.from_record({"speaker_norm": True}).speaker_norm_prior == 0.0


def test_the_datamodule_refuses_a_negative_prior() -> None:
    from mmfa.datamodules.synthetic import SyntheticDataModule
    from mmfa.errors import ConfigError

    with pytest.raises(ConfigError, match="speaker_norm_prior"):
        SyntheticDataModule(speaker_norm=True, speaker_norm_prior=-1)


def test_training_utterances_keep_their_speakers_statistics_and_the_rest_get_the_prior(
    tmp_path: Path,
) -> None:
    """Training is the same with or without a prior; validation and test (and prediction, which
    has no training split) use it, for every speaker."""
    from mmfa.datamodules.synthetic import SyntheticDataModule
    from mmfa.features.audio import MFCCExtractor

    def datamodule(prior: float) -> SyntheticDataModule:
        dm = SyntheticDataModule(
            fold="pair1",
            audio=MFCCExtractor(normalise=False),  # per-utterance means would all be 0
            num_speakers=6,
            utterances_per_speaker=4,
            speaker_norm=True,
            speaker_norm_prior=prior,
            use_text=False,
            cache_dir=str(tmp_path),
        )
        dm.setup()
        return dm

    own, pooled = datamodule(0.0), datamodule(1e9)
    training_mean = np.asarray(pooled.preparation.record()["training_stats"]["mean"])
    speakers = [s for s in own.speaker_statistics("test") if not s.startswith("\0")]
    assert len(speakers) == 6
    for speaker in speakers:
        for split in ("train", "val", "test"):
            assert own.speaker_statistics(split) is own.speaker_statistics("test")  # one kind
        np.testing.assert_array_equal(
            pooled.speaker_statistics("train")[speaker][0], own.speaker_statistics()[speaker][0]
        )
        for split in ("val", "test"):
            got = pooled.speaker_statistics(split)[speaker][0]
            np.testing.assert_allclose(got, training_mean, rtol=1e-4, atol=1e-4)
        assert not np.allclose(own.speaker_statistics()[speaker][0], training_mean, atol=1e-2)
