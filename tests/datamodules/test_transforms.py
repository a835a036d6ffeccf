"""Per-speaker standardisation and train-time augmentation (options of every datamodule)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mmfa.datamodules.ravdess import RAVDESSDataModule
from mmfa.datamodules.transforms import FeatureAugment, speaker_statistics, trim_silence
from mmfa.testing.fakes.ravdess import write_fake_ravdess


@pytest.fixture(scope="module")
def ravdess_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_ravdess(tmp_path_factory.mktemp("ravdess"), actors=[1, 2, 3, 4])


def test_speaker_statistics_pool_every_frame_of_a_speaker() -> None:
    rng = np.random.default_rng(0)
    a1, a2, b = rng.normal(3, 2, (5, 4)), rng.normal(3, 2, (9, 4)), rng.normal(-1, 1, (4, 4))
    stats = speaker_statistics([("a", a1), ("b", b), ("a", a2)])
    frames = np.concatenate([a1, a2])
    np.testing.assert_allclose(stats["a"][0], frames.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats["a"][1], frames.std(0), rtol=1e-4)
    np.testing.assert_allclose(stats["b"][0], b.mean(0), rtol=1e-5)
    constant = speaker_statistics([("c", np.ones((3, 2)))])["c"]
    assert (constant[1] > 0).all(), "a constant feature must not divide by zero"


def test_augment_masks_and_leaves_the_input_alone() -> None:
    x = np.arange(1, 201, dtype=np.float32).reshape(20, 10)
    torch.manual_seed(0)
    out = FeatureAugment(time_masks=2, time_width=0.2, feature_masks=2, feature_width=3)(x)
    assert out.shape == x.shape and (x > 0).all()
    zero_rows = (out == 0).all(1).sum()
    zero_cols = (out == 0).all(0).sum()
    assert 0 < zero_rows <= 8 and 0 < zero_cols <= 6
    kept = out != 0
    np.testing.assert_array_equal(out[kept], x[kept])
    torch.manual_seed(0)
    np.testing.assert_array_equal(
        out, FeatureAugment(time_masks=2, time_width=0.2, feature_masks=2, feature_width=3)(x)
    )


def test_augment_noise_and_probability() -> None:
    x = np.zeros((50, 8), dtype=np.float32)
    torch.manual_seed(0)
    noisy = FeatureAugment(time_masks=0, feature_masks=0, noise=0.5)(x)
    assert 0.4 < noisy.std() < 0.6
    assert FeatureAugment(noise=0.5, p=0.0)(x) is x
    with pytest.raises(ValueError, match="time_width"):
        FeatureAugment(time_width=1.0)


def test_speaker_norm_standardises_each_speaker(ravdess_root: Path) -> None:
    dm = RAVDESSDataModule(root=str(ravdess_root), speaker_norm=True, batch_size=64)
    dm.setup("fit")
    frames: dict[str, list[np.ndarray]] = {}
    for split in ("train", "val", "test"):
        dataset = dm._dataset(split)
        for i in range(len(dataset)):
            speaker = dm.utterances[dataset.refs[i].index].speaker
            frames.setdefault(speaker, []).append(dataset[i]["audio"])
    assert len(frames) == 4
    for rows in frames.values():
        x = np.concatenate(rows)
        np.testing.assert_allclose(x.mean(0), 0, atol=1e-3)
        np.testing.assert_allclose(x.std(0), 1, atol=1e-2)


def test_augment_touches_training_batches_only(ravdess_root: Path) -> None:
    plain = RAVDESSDataModule(root=str(ravdess_root), batch_size=8)
    augmented = RAVDESSDataModule(
        root=str(ravdess_root), batch_size=8, augment=FeatureAugment(noise=0.1)
    )
    for dm in (plain, augmented):
        dm.setup("fit")
    val_plain, val_aug = next(iter(plain.val_dataloader())), next(iter(augmented.val_dataloader()))
    torch.testing.assert_close(val_plain["audio"], val_aug["audio"])
    train_plain = next(iter(plain.train_dataloader()))
    train_aug = next(iter(augmented.train_dataloader()))
    assert torch.equal(train_plain["index"], train_aug["index"])  # same shuffling
    assert not torch.allclose(train_plain["audio"], train_aug["audio"])
    assert (train_aug["audio"][~train_aug["audio_mask"]] == 0).all(), "padding stays zero"


def test_trim_silence_keeps_the_loud_middle() -> None:
    energy = np.array([1.0, 2.0, 9.0, 14.0, 3.0, 15.0, 12.0, 4.0, 1.0])
    x = np.stack([energy, np.arange(9.0)], axis=1)
    trimmed = trim_silence(x, drop=6.0)  # loud = within 6 of the peak 15: frames 2..6
    np.testing.assert_array_equal(trimmed[:, 1], [2, 3, 4, 5, 6])
    shifted = x - [100.0, 0.0]  # a per-utterance mean subtraction changes nothing
    np.testing.assert_array_equal(trim_silence(shifted, 6.0), trimmed - [100.0, 0.0])
    assert len(trim_silence(x, drop=0.0)) == 1


def test_trim_silence_option_shortens_every_split(ravdess_root: Path) -> None:
    plain = RAVDESSDataModule(root=str(ravdess_root), batch_size=64)
    trimmed = RAVDESSDataModule(root=str(ravdess_root), batch_size=64, trim_silence=0.5)
    for dm in (plain, trimmed):
        dm.setup("fit")
    for split in ("train", "val", "test"):
        a, b = plain._dataset(split), trimmed._dataset(split)
        lengths = [(len(a[i]["audio"]), len(b[i]["audio"])) for i in range(len(a))]
        assert all(0 < t <= p for p, t in lengths) and any(t < p for p, t in lengths)
