"""Item 10: training does not depend on ``data.num_workers`` (0 and 2 give the same run)."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import RandomSampler

from mmfa.datamodules.shuffle import EpochShuffleSampler

from .conftest import ListCorpus, split_corpus

REPO = Path(__file__).resolve().parents[2]


class _Recorder(L.LightningModule):
    """Records the manifest indices of every training batch; learns nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(()))
        self.batches: list[list[int]] = []

    def training_step(self, batch, batch_idx):  # noqa: ANN001, ANN201
        self.batches.append(batch["index"].tolist())
        return self.weight * 0.0

    def configure_optimizers(self):  # noqa: ANN201
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _orders(tmp_path: Path, num_workers: int, bucketing: bool) -> list[list[int]]:
    utts = split_corpus(tmp_path / "d", {"train": 12, "val": 2, "test": 2})
    dm = ListCorpus.make(
        utts, tmp_path / "cache", batch_size=4, num_workers=num_workers, bucketing=bucketing
    )
    model = _Recorder()
    L.Trainer(
        max_epochs=3,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
    ).fit(model, datamodule=dm)
    return model.batches


@pytest.mark.parametrize("bucketing", [False, True])
def test_batch_order_is_the_same_for_0_and_2_workers(tmp_path: Path, bucketing: bool) -> None:
    inline, workers = _orders(tmp_path, 0, bucketing), _orders(tmp_path, 2, bucketing)
    assert len(inline) == 9 and inline == workers
    if not bucketing:  # (bucketed batches of distinct lengths may legitimately repeat)
        assert inline[:3] != inline[3:6]  # still reshuffled every epoch


def test_epoch_shuffle_is_a_function_of_seed_and_epoch() -> None:
    sampler = EpochShuffleSampler(range(50), seed=3)
    # Lightning recognises shuffling loaders by this type (under DDP it swaps in its own
    # epoch-seeded DistributedSampler); a plain Sampler would be run unshuffled across ranks.
    assert isinstance(sampler, RandomSampler)
    first = list(sampler)
    assert list(sampler) == first and sorted(first) == list(range(50))
    sampler.set_epoch(1)
    assert list(sampler) != first
    sampler.set_epoch(0)
    assert list(sampler) == first
    assert list(EpochShuffleSampler(range(50), seed=4)) != first


@pytest.mark.slow
def test_trained_weights_are_the_same_for_0_and_2_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmfa.lightning_cli import run_cli

    # The thread count follows the number of processes (DataLoader workers included), and a
    # different count sums floats in another order (~1e-6 apart after 3 epochs). Fix it here:
    # this test is about the data order, which must not depend on num_workers. (Bit-identical
    # weights also need OpenMP itself at one thread, OMP_NUM_THREADS=1, as .ci/run sets.)
    monkeypatch.setenv("MMFA_THREADS", "1")

    weights = []
    for workers in (0, 2):
        cli = run_cli(
            [
                "fit",
                "--config",
                str(REPO / "configs/demo.yaml"),
                "--trainer.max_epochs=3",
                "--trainer.logger=false",
                "--trainer.enable_checkpointing=false",
                "--trainer.callbacks=[]",
                "--test_after_fit=false",
                f"--trainer.default_root_dir={tmp_path}",
                "--data.init_args.num_speakers=6",
                "--data.init_args.utterances_per_speaker=12",
                "--data.init_args.bucketing=false",
                f"--data.init_args.num_workers={workers}",
            ]
        )
        weights.append([p.detach().clone() for p in cli.model.parameters()])
    for a, b in zip(*weights, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
