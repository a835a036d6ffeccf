"""BucketBatchSampler: every utterance once, seeded, DDP split disjoint, padding small."""

from __future__ import annotations

import numpy as np
import pytest

from mmfa.datamodules.sampler import BucketBatchSampler, padding_ratio


def iemocap_like(n: int, seed: int = 0) -> np.ndarray:
    """Frame counts of clips from 0.5 to 30 s (log-normal around 4 s, 20 frames per second)."""
    rng = np.random.default_rng(seed)
    seconds = np.clip(rng.lognormal(np.log(4.0), 0.7, n), 0.5, 30.0)
    return (seconds * 20).astype(int)


@pytest.mark.parametrize("n", [1, 17, 100, 1003])
def test_every_utterance_exactly_once(n: int) -> None:
    sampler = BucketBatchSampler(None, 16, lengths=iemocap_like(n), seed=1)
    batches = list(sampler)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(n))
    assert len(batches) == len(sampler)
    assert max(len(b) for b in batches) <= 16
    if n > 16:
        assert min(len(b) for b in batches) >= 2  # no size-1 tail batch for BatchNorm


def test_seeded_and_changes_per_epoch() -> None:
    lengths = iemocap_like(500)
    a, b = (BucketBatchSampler(None, 16, lengths=lengths, seed=3) for _ in range(2))
    assert list(a) == list(b)
    a.set_epoch(1)
    assert list(a) != list(b)
    b.set_epoch(1)
    assert list(a) == list(b)
    assert list(BucketBatchSampler(None, 16, lengths=lengths, seed=4)) != list(b)


@pytest.mark.parametrize(("n", "world"), [(1003, 2), (1000, 3), (37, 4)])
def test_ddp_ranks_are_disjoint_cover_everything_and_step_together(n: int, world: int) -> None:
    lengths = iemocap_like(n)
    per_rank = [
        list(BucketBatchSampler(None, 8, lengths=lengths, seed=5, num_replicas=world, rank=r))
        for r in range(world)
    ]
    assert len({len(batches) for batches in per_rank}) == 1  # same number of steps everywhere
    seen = [i for batches in per_rank for b in batches for i in b]
    assert sorted(seen) == list(range(n))  # disjoint and complete: nothing dropped or repeated


def test_drop_last_keeps_whole_batches_only() -> None:
    lengths = iemocap_like(1003)
    per_rank = [
        list(BucketBatchSampler(None, 16, True, lengths=lengths, num_replicas=2, rank=r))
        for r in range(2)
    ]
    sizes = {len(b) for batches in per_rank for b in batches}
    assert sizes == {16}
    seen = [i for batches in per_rank for b in batches for i in b]
    assert len(seen) == len(set(seen)) == (1003 // 32) * 32


def test_distributed_sampler_injected_by_lightning_sets_rank() -> None:
    from torch.utils.data import DistributedSampler

    dist = DistributedSampler(range(100), num_replicas=4, rank=3, shuffle=False)
    sampler = BucketBatchSampler(dist, 8, lengths=iemocap_like(100))
    assert (sampler.num_replicas, sampler.rank) == (4, 3)


def test_bucketing_pads_far_less_than_random_batches() -> None:
    lengths = iemocap_like(5000)
    rng = np.random.default_rng(0)
    random_batches = np.array_split(rng.permutation(5000), 5000 // 16)
    loose = list(BucketBatchSampler(None, 16, lengths=lengths))
    strict = list(BucketBatchSampler(None, 16, lengths=lengths, mix_batches=0))
    assert padding_ratio(random_batches, lengths) > 1.5
    assert padding_ratio(strict, lengths) < 1.10
    assert padding_ratio(loose, lengths) < 1.20  # the default's price for changing batches


def partners(batches: list[list[int]]) -> set[frozenset[int]]:
    """Which pairs of utterances share a batch."""
    return {frozenset((a, b)) for batch in batches for a in batch for b in batch if a < b}


def test_one_pool_corpus_gets_new_batch_partners_every_epoch() -> None:
    # 480 distinct lengths in 15 batches: one pool holds the corpus, as with RAVDESS.
    lengths = np.random.default_rng(0).permutation(np.arange(40, 520))
    for mix, most_shared in [(0, 1.0), (1, 0.6)]:
        sampler = BucketBatchSampler(None, 32, lengths=lengths, seed=0, mix_batches=mix)
        first = partners(list(sampler))
        sampler.set_epoch(1)
        shared = len(first & partners(list(sampler))) / len(first)
        assert shared <= most_shared
        if mix == 0:
            assert shared == 1.0  # a strict sort of distinct lengths: the same batches again


def test_mix_batches_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="mix_batches"):
        BucketBatchSampler(None, 8, lengths=iemocap_like(10), mix_batches=-1)


def test_unshuffled_is_deterministic_and_sorted() -> None:
    lengths = iemocap_like(64)
    batches = list(BucketBatchSampler(None, 8, lengths=lengths, shuffle=False, pool_batches=100))
    maxima = [lengths[b].max() for b in batches]
    assert maxima == sorted(maxima)
