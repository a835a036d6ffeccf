"""One training epoch through mmfa's LightningModule vs a minimal plain-PyTorch loop.

Same network, same optimiser, same cached batches (the synthetic corpus' training split, padded
once up front), so the ratio is the cost of Lightning and the task's bookkeeping (logging, L2,
schedule). Writes ``benchmarks/results/training_epoch.json``. Run:

    python benchmarks/bench_training_epoch.py [--epochs 4]
"""

from __future__ import annotations

import statistics
import time

import lightning as L
import torch
import torch.nn.functional as F
from common import command_line, parser, write_result
from torch.utils.data import DataLoader

from mmfa.datamodules.synthetic import SyntheticDataModule
from mmfa.models.task import EmotionTask


class EpochTimer(L.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.times.append(time.perf_counter() - self.start)


def make_task(dm: SyntheticDataModule) -> EmotionTask:
    torch.manual_seed(0)
    return EmotionTask(
        audio_dim=dm.audio_dim,
        text_dim=dm.text_dim,
        num_outputs=dm.num_outputs,
        class_names=list(dm.class_names),
    )


def plain_epochs(dm: SyntheticDataModule, batches: list[dict], epochs: int) -> list[float]:
    task = make_task(dm)
    net = task.network
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    net.train()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for b in batches:
            logits = net(b["audio"], b["audio_mask"], b["text"], b["text_mask"])
            loss = F.cross_entropy(logits, b["target"]) + net.l2_penalty()
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def lightning_epochs(dm: SyntheticDataModule, batches: list[dict], epochs: int) -> list[float]:
    task = make_task(dm)
    timer = EpochTimer()
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[timer],
    )
    trainer.fit(task, train_dataloaders=DataLoader(batches, batch_size=None))
    return timer.times


def main() -> None:
    cli = parser(__doc__, "training_epoch.json")
    cli.add_argument("--epochs", type=int, default=4)
    args = cli.parse_args()
    dm = SyntheticDataModule(batch_size=16)
    dm.prepare_data()
    dm.setup("fit")
    batches = list(dm.train_dataloader())
    plain = plain_epochs(dm, batches, args.epochs)[1:]  # first epoch warms up
    light = lightning_epochs(dm, batches, args.epochs)[1:]
    p, q = statistics.median(plain), statistics.median(light)
    result = {
        "benchmark": "training_epoch",
        "command": command_line(),
        "batches_per_epoch": len(batches),
        "batch_size": 16,
        "threads": torch.get_num_threads(),
        "plain_s_per_epoch": p,
        "lightning_s_per_epoch": q,
        "ratio_lightning_over_plain": q / p,
    }
    print("| loop | s / epoch |\n|---|---|")
    print(f"| plain PyTorch | {p:.3f} |\n| mmfa LightningModule | {q:.3f} |")
    print(f"ratio (Lightning / plain): {q / p:.2f}x over {len(batches)} batches of 16")
    write_result(args.out, result)


if __name__ == "__main__":
    main()
