"""A shuffle whose order is a function of (seed, epoch) only.

``DataLoader(shuffle=True, generator=g)`` draws each epoch's permutation from ``g``, whose state
then depends on every earlier draw from it: the loader also takes a worker seed from ``g`` for
every iterator, and how these draws interleave differs between a prefetching loader
(``num_workers > 0``) and a lazy one (``0``). Measured under Lightning: the first epoch's order
is the same, the second's is not, so the trained model changed with ``data.num_workers``.
Seeding a fresh generator from ``(seed, epoch)`` at the start of every epoch (Lightning calls
:meth:`set_epoch`) removes that history.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

__all__ = ["EpochShuffleSampler"]


class EpochShuffleSampler(Sampler[int]):
    """Every index once per epoch, in an order fixed by ``seed`` and the epoch number.

    Args:
        size: number of items in the dataset.
        seed: seed of the shuffling; epoch ``e`` uses the generator seeded with ``(seed, e)``.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = int(size)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order (Lightning calls this at the start of every epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        # seed and epoch packed into one 63-bit seed; distinct for any realistic pair
        generator = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % 2**63)
        yield from torch.randperm(self.size, generator=generator).tolist()
