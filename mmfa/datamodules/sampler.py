"""Length-bucketed training batches: utterances of similar length together, so little is padding.

Batches pad to their longest utterance, and the MMFA-RNN's attention grows with the square of
the padded length, so random batches on a corpus whose clips run from 0.5 to 30 s spend much of
their time on zeros. :class:`BucketBatchSampler` shuffles the corpus, cuts it into pools of about
``pool_batches`` batches, sorts each pool by length, cuts the pools into batches and shuffles the
batch order: batch composition and order change every epoch (seeded), padding stays small.

Every utterance is used exactly once per epoch on exactly one rank: the ``N`` utterances are cut
into ``world_size * ceil(N / (batch_size * world_size))`` batches whose sizes differ by at most
one (never above ``batch_size``, no size-1 tail batch), and rank ``r`` takes every
``world_size``-th batch, so all ranks run the same number of steps. ``drop_last=True`` instead
keeps only whole batches of ``batch_size``, dropping the fewest utterances (chosen at random each
epoch) that makes the batch count a multiple of the world size.

Under Lightning's DDP the trainer rebuilds this sampler with a ``DistributedSampler`` as
``sampler``; its rank and world size are then used (its order is not: the order is ours).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from torch.utils.data import BatchSampler, DistributedSampler

__all__ = ["BucketBatchSampler", "padding_ratio", "store_lengths"]


class BucketBatchSampler(BatchSampler):
    """Batches of indices into a dataset, grouped by length, shuffled per epoch, DDP-aware.

    Args:
        sampler: Ignored, except a ``DistributedSampler`` (injected by Lightning under DDP),
            whose ``num_replicas`` and ``rank`` are used. Pass ``None`` otherwise.
        batch_size: Most utterances per batch.
        drop_last: Keep only whole batches (see module docstring); ``False``: every utterance.
        lengths: Length of each dataset item (frames); the dataset has ``len(lengths)`` items.
        shuffle: ``False`` gives the sorted, unshuffled batches (deterministic for evaluation).
        seed: Seed of the shuffling; epoch ``e`` uses ``seed + e`` (see :meth:`set_epoch`).
        pool_batches: Batches per sorted pool: larger pools pad less, smaller pools mix more.
        num_replicas: World size (``None``: from ``sampler``, else 1).
        rank: This process's rank (``None``: from ``sampler``, else 0).
    """

    def __init__(
        self,
        sampler: Any = None,
        batch_size: int = 16,
        drop_last: bool = False,
        lengths: Sequence[int] | np.ndarray = (),
        shuffle: bool = True,
        seed: int = 0,
        pool_batches: int = 50,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if pool_batches < 1:
            raise ValueError(f"pool_batches must be >= 1, got {pool_batches}")
        if isinstance(sampler, DistributedSampler):
            num_replicas = sampler.num_replicas if num_replicas is None else num_replicas
            rank = sampler.rank if rank is None else rank
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.pool_batches = int(pool_batches)
        self.num_replicas = int(num_replicas or 1)
        self.rank = int(rank or 0)
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"rank {self.rank} is not in [0, {self.num_replicas})")
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order (Lightning calls this at the start of every epoch)."""
        self.epoch = int(epoch)

    def _num_batches(self) -> int:
        """Batches over all ranks: a multiple of the world size."""
        n, per_step = len(self.lengths), self.batch_size * self.num_replicas
        if self.drop_last:
            return (n // per_step) * self.num_replicas
        return -(-n // per_step) * self.num_replicas

    def __len__(self) -> int:
        return self._num_batches() // self.num_replicas

    def all_batches(self) -> list[np.ndarray]:
        """Every rank's batches for this epoch, in step order (rank r runs ``[r::world]``)."""
        n, total = len(self.lengths), self._num_batches()
        if total == 0:
            return []
        if not self.drop_last and total > n:
            raise ValueError(
                f"{n} utterances cannot give each of {self.num_replicas} ranks the same number of "
                "non-empty batches without repeating some; use more data, fewer ranks or drop_last"
            )
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        kept = total * self.batch_size if self.drop_last else n
        order = order[:kept]  # drop_last: a random few (the permutation's tail) sit this one out
        sizes = np.full(total, kept // total)
        sizes[: kept % total] += 1  # sizes differ by at most one, all <= batch_size
        batches: list[np.ndarray] = []
        start = 0
        for first in range(0, total, self.pool_batches):
            pool_sizes = sizes[first : first + self.pool_batches]
            pool = order[start : start + int(pool_sizes.sum())]
            start += len(pool)
            # Stable sort: equal lengths keep the random order, so ties are shuffled too.
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            batches.extend(np.split(pool, np.cumsum(pool_sizes)[:-1]))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.all_batches()[self.rank :: self.num_replicas]:
            yield batch.tolist()


def padding_ratio(batches: Sequence[Sequence[int]], lengths: Sequence[int] | np.ndarray) -> float:
    """Padded frames / real frames over batches (1.0: no padding at all)."""
    lens = np.asarray(lengths)
    padded = sum(len(b) * int(lens[list(b)].max()) for b in batches if len(b))
    real = sum(int(lens[list(b)].sum()) for b in batches)
    return padded / real if real else 1.0


def store_lengths(store: Any, rows: Sequence[int]) -> np.ndarray:
    """Frame counts of feature-store rows, read from the store's ``frames`` column only."""
    table = store._table  # the memory-mapped Arrow table; only one int32 column is read
    frames = np.asarray(table.with_format(None).data.column("frames").to_numpy())
    return frames[np.asarray(rows, dtype=np.int64)]
