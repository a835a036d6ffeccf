"""Length bucketing vs random batches: padded/real frames per epoch, and training epoch time.

An IEMOCAP-like length spread (log-normal around 3.5 s, clipped to 0.5-30 s; IEMOCAP's
utterances run from under a second to about 30 s) gives frame counts at the paper's 20 frames
per second; words at 2.5 per second. In one run:

(c) padded frames / real frames over one epoch of training batches, averaged over epochs:
    random batches as ``data.bucketing: false`` makes them (shuffled, last incomplete batch
    dropped) vs :class:`~mmfa.datamodules.sampler.BucketBatchSampler` (the default);
(d) seconds per training epoch of the MMFA-RNN (paper fusion, random features of the right
    shapes, SGD, a plain loop through ``mmfa.datamodules.collate.collate``) with each.

    python benchmarks/bench_bucketing.py [--utterances 1000] [--epochs 2] [--threads 1]

Writes ``benchmarks/results/bucketing.json``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from common import command_line, load_average, parser, write_result
from torch.utils.data import DataLoader

from mmfa.datamodules.collate import collate
from mmfa.datamodules.sampler import BucketBatchSampler, padding_ratio
from mmfa.models.network import MMFANetwork


def iemocap_like_seconds(n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(np.log(3.5), 0.65, n), 0.5, 30.0).tolist()


def frames(seconds: list[float]) -> np.ndarray:
    """Frames per utterance at the paper's 20 per second (1600-sample windows, 800-sample hop)."""
    return np.array([(int(s * 16000) - 1600) // 800 + 1 for s in seconds])


def padding_ratios(lengths: np.ndarray, batch_size: int, seed: int) -> tuple[float, float]:
    """(c): padded / real frames of random and of bucketed batches, averaged over 5 epochs."""
    random_ratios, bucket_ratios = [], []
    bucket = BucketBatchSampler(None, batch_size, lengths=lengths, seed=seed)
    for epoch in range(5):
        gen = torch.Generator().manual_seed(seed + epoch)
        loader = DataLoader(
            range(len(lengths)), batch_size=batch_size, shuffle=True, drop_last=True, generator=gen
        )
        random_ratios.append(padding_ratio([b.tolist() for b in loader], lengths))
        bucket.set_epoch(epoch)
        bucket_ratios.append(padding_ratio(list(bucket), lengths))
    return statistics.mean(random_ratios), statistics.mean(bucket_ratios)


def random_features(seconds: list[float], seed: int) -> list[dict]:
    """Random MFCC and word vectors of the shapes these utterance lengths give."""
    rng = np.random.default_rng(seed)
    return [
        {
            "audio": rng.standard_normal((t, 39)).astype(np.float32),
            "text": rng.standard_normal((max(1, round(2.5 * s)), 384)).astype(np.float32),
            "target": int(rng.integers(4)),
            "index": i,
        }
        for i, (s, t) in enumerate(zip(seconds, frames(seconds), strict=True))
    ]


def time_epochs(
    make_loader: Callable[[int], Iterable[dict]], lengths: list[int], epochs: int, seed: int
) -> tuple[list[float], float]:
    """(d): seconds of each timed epoch of the MMFA-RNN, and the last epoch's padding ratio."""
    torch.manual_seed(seed)
    net = MMFANetwork(39, 384, 4)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    net.train()
    times, ratio = [], 0.0
    for epoch in range(epochs + 1):  # epoch 0 warms up
        loader = make_loader(epoch)
        start = time.perf_counter()
        seen = []
        for batch in loader:
            seen.append(batch["index"].tolist())
            logits = net(batch["audio"], batch["audio_mask"], batch["text"], batch["text_mask"])
            loss = F.cross_entropy(logits, batch["target"]) + net.l2_penalty()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch:
            times.append(time.perf_counter() - start)
            ratio = padding_ratio(seen, lengths)
    return times, ratio


def main() -> None:
    cli = parser(__doc__, "bucketing.json")
    cli.add_argument("--utterances", type=int, default=1000, help="training utterances")
    cli.add_argument(
        "--ratio-utterances", type=int, default=5531, help="for (c): IEMOCAP 4-class size"
    )
    cli.add_argument("--batch-size", type=int, default=16)
    cli.add_argument("--epochs", type=int, default=2, help="timed epochs per method")
    cli.add_argument("--threads", type=int, default=1)
    cli.add_argument("--seed", type=int, default=0)
    args = cli.parse_args()
    torch.set_num_threads(args.threads)
    bs = args.batch_size

    lengths = frames(iemocap_like_seconds(args.ratio_utterances, args.seed))
    ratio_random, ratio_bucket = padding_ratios(lengths, bs, args.seed)
    print(f"(c) padded/real frames, {len(lengths)} utterances, batch {bs}: random "
          f"{ratio_random:.3f}, bucketed {ratio_bucket:.3f}", file=sys.stderr)  # fmt: skip

    samples = random_features(iemocap_like_seconds(args.utterances, args.seed + 1), args.seed)
    train_lengths = [len(x["audio"]) for x in samples]

    def random_loader(epoch: int) -> DataLoader:
        gen = torch.Generator().manual_seed(args.seed + epoch)
        return DataLoader(
            samples, batch_size=bs, shuffle=True, drop_last=True, generator=gen, collate_fn=collate
        )

    train_bucket = BucketBatchSampler(None, bs, lengths=train_lengths, seed=args.seed)

    def bucket_loader(epoch: int) -> DataLoader:
        train_bucket.set_epoch(epoch)
        return DataLoader(samples, batch_sampler=train_bucket, collate_fn=collate)

    load = load_average()
    t_random, r_random = time_epochs(random_loader, train_lengths, args.epochs, args.seed)
    print(f"(d) random: {t_random} s/epoch", file=sys.stderr)
    t_bucket, r_bucket = time_epochs(bucket_loader, train_lengths, args.epochs, args.seed)
    print(f"(d) bucketed: {t_bucket} s/epoch", file=sys.stderr)
    med_random, med_bucket = statistics.median(t_random), statistics.median(t_bucket)

    print(
        f"\n| batches | padded/real frames ({len(lengths)} utts) "
        f"| s / epoch ({args.utterances} utts) |"
    )
    print("|---|---:|---:|")
    print(f"| random (data.bucketing: false, default) | {ratio_random:.3f} | {med_random:.1f} |")
    print(f"| bucketed (data.bucketing: true) | {ratio_bucket:.3f} | {med_bucket:.1f} |")
    print(
        f"| ratio random / bucketed | {ratio_random / ratio_bucket:.2f}x "
        f"| {med_random / med_bucket:.2f}x |"
    )
    result = {
        "benchmark": "bucketing",
        "command": command_line(),
        "length_spread": "log-normal(ln 3.5 s, 0.65) clipped to 0.5-30 s, 20 frames/s",
        "batch_size": bs,
        "padding": {
            "utterances": len(lengths),
            "frames_min_median_max": [
                int(lengths.min()),
                float(np.median(lengths)),
                int(lengths.max()),
            ],
            "random_padded_over_real": ratio_random,
            "bucketed_padded_over_real": ratio_bucket,
            "epochs_averaged": 5,
        },
        "epoch_time": {
            "utterances": args.utterances,
            "model": "MMFANetwork(39, 384, 4), paper fusion, SGD, plain loop",
            "threads": args.threads,
            "random_seconds": t_random,
            "bucketed_seconds": t_bucket,
            "random_padded_over_real": r_random,
            "bucketed_padded_over_real": r_bucket,
            "speedup": med_random / med_bucket,
        },
        "load_average_at_start": load,
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
