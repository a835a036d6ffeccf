"""AudioPreparation: one object for trimming and standardisation, in training and prediction."""

from __future__ import annotations

import json

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
