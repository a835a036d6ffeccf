"""Evaluation and prediction loaders: manifest order, every utterance exactly once.

Shared by the corpus datamodules (validation, test) and :class:`~.utterances.UtteranceDataModule`
(prediction), so an utterance is batched the same way whichever command serves it.
"""

from __future__ import annotations

from typing import Any

from torch.utils.data import DataLoader, Dataset

from mmfa.datamodules.collate import collate


def eval_loader(
    dataset: Dataset[Any], batch_size: int, num_workers: int, trainer: Any
) -> DataLoader:
    """Batches of ``dataset`` in order; under DDP each utterance goes to exactly one rank.

    Args:
        dataset: a :class:`~.collate.FeatureDataset`.
        batch_size: utterances per batch.
        num_workers: DataLoader worker processes.
        trainer: the attached Trainer, or None outside one.
    """
    sampler = None
    if trainer is not None and trainer.world_size > 1:
        # The default DistributedSampler repeats samples to even out ranks, which skews metrics
        # (docs/evaluation.md); this one gives each sample to exactly one rank.
        from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler

        sampler = UnrepeatedDistributedSampler(
            dataset, num_replicas=trainer.world_size, rank=trainer.global_rank, shuffle=False
        )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        sampler=sampler,
        collate_fn=collate,
        num_workers=num_workers,
    )
