"""Batches padded to the longest sample in the batch, with masks (the paper's dynamic padding)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from mmfa.datamodules.preparation import UNKNOWN_SPEAKER, AudioPreparation
from mmfa.datamodules.transforms import FeatureTransform, SpeakerStats
from mmfa.features.pipeline import SampleRef
from mmfa.features.store import FeatureReader
from mmfa.manifest import Utterance


def pad_sequences(arrays: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    """Stack variable-length sequences, zero-padded at the end.

    Args:
        arrays: B arrays of shape (T_i, D).

    Returns:
        (B, T_max, D) float tensor and (B, T_max) bool mask, True on real steps.
    """
    lengths = [a.shape[0] for a in arrays]
    out = torch.zeros(len(arrays), max(lengths), arrays[0].shape[1])
    mask = torch.zeros(len(arrays), max(lengths), dtype=torch.bool)
    for i, (a, n) in enumerate(zip(arrays, lengths, strict=True)):
        out[i, :n] = torch.from_numpy(np.asarray(a, dtype=np.float32))
        mask[i, :n] = True
    return out, mask


def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Collate samples from :class:`FeatureDataset` into a padded batch.

    Returns:
        ``audio`` (B, Ta, Da) and ``audio_mask`` (B, Ta) (or None), ``text`` (B, Tw, Dt) and
        ``text_mask`` (B, Tw) (or None), ``functionals`` (B, Df) (or None), ``target`` (B,)
        long / (B,) float / (B, C) float, and ``index`` (B,) positions in the datamodule's
        manifest.
    """
    batch: dict[str, Any] = {}
    for kind in ("audio", "text"):
        if samples[0][kind] is None:
            batch[kind], batch[f"{kind}_mask"] = None, None
        else:
            batch[kind], batch[f"{kind}_mask"] = pad_sequences([s[kind] for s in samples])
    if samples[0].get("functionals") is None:
        batch["functionals"] = None
    else:  # one fixed-size vector per utterance: nothing to pad
        batch["functionals"] = torch.from_numpy(
            np.stack([np.asarray(s["functionals"], dtype=np.float32) for s in samples])
        )
    targets = [s["target"] for s in samples]
    if isinstance(targets[0], int):
        batch["target"] = torch.tensor(targets, dtype=torch.long)
    else:
        batch["target"] = torch.tensor(targets, dtype=torch.float32)
    batch["index"] = torch.tensor([s["index"] for s in samples], dtype=torch.long)
    return batch


class FeatureDataset(Dataset[dict[str, Any]]):
    """Reads cached features from the (memory-mapped) stores, prepared as the model expects.

    Args:
        refs: the utterances to serve (manifest positions and store rows).
        utterances: the manifest ``refs`` index into.
        audio_store: audio features (None: no audio).
        text_store: text features (None: no text).
        preparation: trimming and standardisation of the audio (None: features as stored).
        speaker_stats: from ``preparation.statistics`` over the utterances served together.
        audio_transform: train-time augmentation (None: off).
        unknown_speaker_rate: share of utterances prepared as if their speaker were unknown
            (train-time ``data.speaker_norm_dropout``; torch's global generator, so seeded runs
            repeat).
        functionals_store: utterance-level features, one ``(1, Df)`` row each (None: none).
        functionals_preparation: their standardisation (per speaker when the audio's is).
        functionals_stats: from ``functionals_preparation.statistics``.
    """

    def __init__(
        self,
        refs: list[SampleRef],
        utterances: list[Utterance],
        audio_store: FeatureReader | None,
        text_store: FeatureReader | None,
        preparation: AudioPreparation | None = None,
        speaker_stats: SpeakerStats | None = None,
        audio_transform: FeatureTransform | None = None,
        unknown_speaker_rate: float = 0.0,
        functionals_store: FeatureReader | None = None,
        functionals_preparation: AudioPreparation | None = None,
        functionals_stats: SpeakerStats | None = None,
    ) -> None:
        self.refs = refs
        self.utterances = utterances
        self.audio_store = audio_store
        self.text_store = text_store
        self.preparation = preparation
        self.speaker_stats = speaker_stats or {}
        self.audio_transform = audio_transform
        self.unknown_speaker_rate = unknown_speaker_rate
        self.functionals_store = functionals_store
        self.functionals_preparation = functionals_preparation
        self.functionals_stats = functionals_stats or {}

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, i: int) -> dict[str, Any]:
        ref = self.refs[i]
        label = self.utterances[ref.index].label
        speaker = self.utterances[ref.index].speaker
        if self.unknown_speaker_rate and float(torch.rand(())) < self.unknown_speaker_rate:
            speaker = UNKNOWN_SPEAKER  # one draw: frames and functionals are treated alike
        audio = self.audio_store.get_row(ref.audio_row) if self.audio_store is not None else None
        if audio is not None and self.preparation is not None:
            audio = self.preparation(audio, speaker, self.speaker_stats)
        if audio is not None and self.audio_transform is not None:
            audio = self.audio_transform(audio)
        functionals = None
        if self.functionals_store is not None:
            functionals = self.functionals_store.get_row(ref.functionals_row)
            if self.functionals_preparation is not None:
                functionals = self.functionals_preparation(
                    functionals, speaker, self.functionals_stats
                )
            functionals = np.asarray(functionals, dtype=np.float32).reshape(-1)
        return {
            "audio": audio,
            "functionals": functionals,
            "text": self.text_store.get_row(ref.text_row) if self.text_store is not None else None,
            "target": list(label) if isinstance(label, tuple) else label,
            "index": ref.index,
        }
