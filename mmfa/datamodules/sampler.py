"""Length-bucketed training batches (little padding), and a memory check before training.

Batches pad to their longest utterance, and the MMFA-RNN's attention grows with the square of
the padded length, so random batches on a corpus whose clips run from 0.5 to 30 s spend much of
their time on zeros. :class:`BucketBatchSampler` shuffles the corpus, cuts it into pools of about
``pool_batches`` batches, sorts each pool by length, cuts the pools into batches and shuffles the
batch order: batch composition and order change every epoch (seeded), padding stays small.

The sort is loose on purpose: each utterance's place in its pool's length order moves by a
random amount of up to ``mix_batches`` batches before the pool is cut. A strict sort gives the
same batches every epoch whenever a pool holds the whole corpus (a small corpus, e.g. RAVDESS's
480 training clips in 15 batches); the loose sort keeps most of the padding saving. Bucketing
is opt-in (``data.bucketing``); docs/performance.md gives what it costs in accuracy.

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

__all__ = [
    "BucketBatchSampler",
    "attention_bytes",
    "check_batch_memory",
    "padding_ratio",
    "store_lengths",
]


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
        mix_batches: How far (in batches) an utterance may move from its place in the sorted
            pool, at random each epoch, so batch composition changes; 0 = a strict sort (least
            padding; fixed batches when one pool holds the corpus).
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
        mix_batches: float = 1.0,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if pool_batches < 1:
            raise ValueError(f"pool_batches must be >= 1, got {pool_batches}")
        if mix_batches < 0:
            raise ValueError(f"mix_batches must be >= 0, got {mix_batches}")
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
        self.mix_batches = float(mix_batches)
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
            if self.shuffle and self.mix_batches > 0:  # loosen it: rank + U(0, mix) batches
                jitter = rng.uniform(0, self.mix_batches * self.batch_size, len(pool))
                pool = pool[np.argsort(np.arange(len(pool)) + jitter, kind="stable")]
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


#: float32 ``(T, T)`` matrices held per utterance while training the MMFA-RNN on ``T`` audio
#: frames: the first-level self-attention's scores, masked scores, weights and their gradients
#: (about 4), and the 8-head second-level attention's (about 3 per head); rounded up.
ATTENTION_MATRICES = 32


def attention_bytes(batch_size: int, frames: int) -> int:
    """Estimated attention memory of one training batch of ``batch_size`` clips of ``frames``."""
    return batch_size * frames * frames * 4 * ATTENTION_MATRICES


def available_memory(device: Any = "cpu") -> int:
    """Bytes free for a batch: free GPU memory on CUDA, else the OS's ``MemAvailable``."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_available():
        return int(torch.cuda.mem_get_info(dev)[0])
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))  # total: a last resort


def check_batch_memory(
    dataset: Any,
    utterances: Sequence[Any],
    batch_size: int,
    *,
    frame_rate: float = 20.0,
    device: Any = "cpu",
    budget: int | None = None,
) -> None:
    """Stop before a training batch whose attention matrices cannot fit; warn when it is close.

    The worst batch holds ``batch_size`` clips padded to the longest one (length bucketing puts
    the longest clips together), so the bound is ``attention_bytes(batch_size, T_max)``.

    Args:
        dataset: The training ``FeatureDataset`` (its audio store gives the frame counts).
        utterances: The manifest, to name the longest clip.
        batch_size: ``data.batch_size``.
        frame_rate: Audio frames per second of the front-end (to report seconds).
        device: Where training runs (CUDA: free GPU memory; else available RAM).
        budget: Bytes available (default: :func:`available_memory`).

    Raises:
        MMFAError: the estimate exceeds 80% of the budget; names the clip and the settings.
    """
    import logging

    from mmfa.errors import MMFAError

    if dataset.audio_store is None or len(dataset) == 0:
        return
    lengths = store_lengths(dataset.audio_store, [ref.audio_row for ref in dataset.refs])
    longest = int(np.argmax(lengths))
    frames = int(lengths[longest])
    need = attention_bytes(min(batch_size, len(lengths)), frames)
    have = available_memory(device) if budget is None else budget
    clip = utterances[dataset.refs[longest].index].id
    text = (
        f"the longest training clip, {clip!r} ({frames} frames, {frames / frame_rate:.0f} s), "
        f"makes a batch of {batch_size} need about {need / 2**30:.1f} GiB for attention, "
        f"with {have / 2**30:.1f} GiB available"
    )
    fix = (
        "set data.max_clip_seconds lower (clips are cut to it when extracted; the cut is "
        "counted in the log) or data.batch_size lower, or drop the clip from the corpus"
    )
    if need > 0.8 * have:
        raise MMFAError(f"out of memory ahead: {text}. To train, {fix}.")
    if need > 0.3 * have:
        logging.getLogger(__name__).warning("memory is tight: %s; if training fails, %s", text, fix)
