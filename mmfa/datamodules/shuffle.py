"""A shuffle whose order is a function of (seed, epoch) only.

``DataLoader(shuffle=True, generator=g)`` draws each epoch's permutation from ``g``, whose state
then depends on every earlier draw from it: the loader also takes a worker seed from ``g`` for
every iterator, and how these draws interleave differs between a prefetching loader
(``num_workers > 0``) and a lazy one (``0``). Measured under Lightning: the first epoch's order
is the same, the second's is not, so the trained model changed with ``data.num_workers``.
Seeding a fresh generator from ``(seed, epoch)`` at the start of every epoch (Lightning calls
:meth:`set_epoch`) removes that history.

It is a :class:`~torch.utils.data.RandomSampler` so that Lightning still knows the loader
shuffles: under DDP it swaps it for its usual epoch-seeded ``DistributedSampler``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized

import torch
from torch.utils.data import RandomSampler

__all__ = ["EpochShuffleSampler"]


class EpochShuffleSampler(RandomSampler):
    """Every index once per epoch, in an order fixed by ``seed`` and the epoch number.

    Args:
        data_source: the dataset (only its length is used).
        seed: seed of the shuffling; epoch ``e`` uses the generator seeded with ``(seed, e)``.
    """

    def __init__(self, data_source: Sized, seed: int = 0) -> None:
        super().__init__(data_source)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order (Lightning calls this at the start of every epoch)."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        # seed and epoch packed into one 63-bit seed; distinct for any realistic pair
        generator = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % 2**63)
        yield from torch.randperm(len(self.data_source), generator=generator).tolist()
