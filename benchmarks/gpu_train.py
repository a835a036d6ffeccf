"""GPU benchmark: a front-end and the MMFA-RNN on the device, on an IEMOCAP-sized corpus.

One command on a CUDA machine (no data, no downloads):

    python benchmarks/gpu_train.py                  # torch MFCC, the paper's SGD
    python benchmarks/gpu_train.py --recipe ssl     # configs/recipe/ssl.yaml: WavLM Base+, AdamW

A synthetic corpus the size of IEMOCAP (10,000 utterances, 12 hours, IEMOCAP-like lengths) is
synthesised on the device in chunks (harmonic "voiced" signals with a syllable-rate envelope and
noise; the synthesis is not timed), turned into the paper's 39 MFCC values per frame by
:class:`~mmfa.features.torch_mfcc.TorchMFCCExtractor` on the device, and paired with random
384-dim word vectors (MiniLM size, 2.5 words per second). The MMFA-RNN (paper fusion, SGD
1e-3) then trains on it for a few epochs with length-bucketed batches. Prints:

* extraction: utterances/s and seconds of audio per second;
* training: utterances/s (median epoch), evaluation utterances/s;
* peak GPU memory (``torch.cuda.max_memory_allocated``);
* the projected 10-fold leave-one-speaker-out time: ``folds x fold_epochs x (train epoch on
  8/10 of the corpus + evaluation of 2/10)`` plus one extraction.

``--recipe ssl`` extracts the recipe's self-supervised features instead (its model and layer,
one utterance per forward pass as mmfa runs it; ``--ssl-model DIR`` for a downloaded folder,
default ``models/wavlm-base-plus`` when it exists, else the recipe's hub name in the local
Hugging Face cache) and trains with the recipe's optimiser, batch size, ``audio_factor`` and
epochs. Without the model on disk it says so and exits 0 (nothing is downloaded; the one-time
download is in docs/recipes.md).

Results go to ``benchmarks/results/gpu_train.json`` (``gpu_train_ssl.json`` with
``--recipe ssl``). ``--device cpu --utterances 40`` runs the same code path on a CPU in seconds
(what CI-less checks use).
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from common import REPO, RESULTS, command_line, parser, relative, write_result
from torch.utils.data import DataLoader

from mmfa.datamodules.collate import collate
from mmfa.datamodules.sampler import BucketBatchSampler
from mmfa.errors import ModelUnavailableError
from mmfa.features.ssl import SSLFrontEnd
from mmfa.features.torch_mfcc import TorchMFCCExtractor
from mmfa.models.network import MMFANetwork

SSL_RECIPE = REPO / "configs" / "recipe" / "ssl.yaml"
#: Where docs/recipes.md downloads the recipe's model to.
SSL_FOLDER = REPO / "models" / "wavlm-base-plus"


def clock(dev: torch.device) -> float:
    """``time.perf_counter()`` once the device's queued work has finished."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return time.perf_counter()


def iemocap_like_seconds(rng: np.random.Generator, utterances: int, hours: float) -> np.ndarray:
    """IEMOCAP-like utterance lengths (log-normal, 0.5-30 s) scaled to ``hours`` in total."""
    seconds = np.clip(rng.lognormal(np.log(3.5), 0.65, utterances), 0.5, 30.0)
    return np.clip(seconds * hours * 3600 / seconds.sum(), 0.5, 30.0)


@dataclass
class FrontEnd:
    """A front-end as the benchmark times it: what happens before extraction is not timed."""

    name: str
    dim: int  # feature values per frame
    prepare: Callable[[list[torch.Tensor]], Any]  # device signals -> its input (untimed)
    compute: Callable[[Any], list[torch.Tensor]]  # that input -> (T, dim) features (timed)
    facts: dict[str, Any]  # its settings, for the results file


def torch_mfcc(dev: torch.device) -> FrontEnd:
    """The paper's 39 MFCC values, all signals of a chunk in one batch on the device."""
    extractor = TorchMFCCExtractor(device=str(dev))
    return FrontEnd("torch-mfcc", extractor.dim, lambda x: x, extractor.compute, {})


def ssl_frontend(recipe: dict[str, Any], model: str, dev: torch.device) -> FrontEnd:
    """The recipe's SSL front-end on ``dev``, one utterance per forward pass as mmfa runs it.

    Raises:
        ModelUnavailableError: ``model`` is neither a folder nor in the local Hugging Face cache.
    """
    init_args = recipe["data"]["init_args"]["audio"]["init_args"]
    frontend = SSLFrontEnd(**{**init_args, "model": model, "device": str(dev)})
    settings = frontend.settings()  # reads the config: fails here when the model is missing

    def compute(signals: list[np.ndarray]) -> list[torch.Tensor]:
        return [torch.from_numpy(frontend.from_signal(x, f"u{i}")) for i, x in enumerate(signals)]

    def on_host(signals: list[torch.Tensor]) -> list[np.ndarray]:
        return [x.cpu().numpy() for x in signals]  # mmfa reads audio files into numpy

    facts = {
        "model": relative(model) if Path(model).expanduser().is_dir() else model,
        "model_type": settings["model_type"],
        "layer": settings["layer"],
        "dim": settings["dim"],
    }
    return FrontEnd("ssl", frontend.dim, on_host, compute, facts)


def extract(
    seconds: np.ndarray, dev: torch.device, frontend: FrontEnd, chunk_seconds: float, seed: int
) -> tuple[list[torch.Tensor], float]:
    """Synthesise speech-like signals on the device, chunk by chunk; time only their features."""
    gen = torch.Generator(device=dev).manual_seed(seed)

    def synthesise(duration: float) -> torch.Tensor:
        n = int(duration * 16000)
        t = torch.arange(n, device=dev, dtype=torch.float32) / 16000
        f0 = 90.0 + 160.0 * torch.rand((), device=dev, generator=gen)
        x = sum(torch.sin(2 * torch.pi * k * f0 * t + 0.3 * k) / k for k in range(1, 7))
        x = x * (0.6 + 0.4 * torch.sin(2 * torch.pi * 4.0 * t))
        x = x + 0.05 * torch.randn(n, device=dev, generator=gen)
        return 0.5 * x / x.abs().max()

    with torch.inference_mode():  # warm-up: kernels, FFT plans, loading the model
        frontend.compute(frontend.prepare([synthesise(1.0)]))
    audio: list[torch.Tensor] = []
    extract_s, start_i = 0.0, 0
    while start_i < len(seconds):
        stop_i, acc = start_i, 0.0
        while stop_i < len(seconds) and (acc < chunk_seconds or stop_i == start_i):
            acc += seconds[stop_i]
            stop_i += 1
        with torch.inference_mode():
            inputs = frontend.prepare([synthesise(float(s)) for s in seconds[start_i:stop_i]])
            t0 = clock(dev)
            feats = frontend.compute(inputs)
            extract_s += clock(dev) - t0
        audio.extend(f.to("cpu") for f in feats)
        start_i = stop_i
    return audio, extract_s


@dataclass
class Recipe:
    """What trains on the features: the network's audio GRU size and the optimiser."""

    name: str
    audio_factor: float
    optimizer: str  # torch.optim class name
    optimizer_args: dict[str, float]
    batch_size: int
    fold_epochs: int  # epochs per fold, for the projection


#: The paper's recipe (Appendix A): plain SGD, lr 1e-3, 50 epochs per fold.
PAPER = Recipe("paper", 2.0, "SGD", {"lr": 1e-3}, 16, 50)


def ssl_recipe(recipe: dict[str, Any]) -> Recipe:
    """configs/recipe/ssl.yaml's training settings (its cosine schedule costs no time)."""
    model = recipe["model"]
    optimizer = {"adamw": "AdamW", "adam": "Adam", "sgd": "SGD"}[model["optimizer"]]
    args = {"lr": float(model["lr"]), "weight_decay": float(model.get("weight_decay") or 0.0)}
    batch_size = int(recipe["data"]["init_args"]["batch_size"])
    epochs = int(recipe["trainer"]["max_epochs"])
    return Recipe("ssl", float(model["audio_factor"]), optimizer, args, batch_size, epochs)


def train_and_evaluate(
    samples: list[dict],
    dev: torch.device,
    audio_dim: int,
    recipe: Recipe,
    batch_size: int,
    epochs: int,
    seed: int,
) -> tuple[list[float], float]:
    """Seconds of each timed training epoch (bucketed batches) and of one evaluation pass."""
    lengths = [len(x["audio"]) for x in samples]
    sampler = BucketBatchSampler(None, batch_size, lengths=lengths, seed=seed)
    loader = DataLoader(samples, batch_sampler=sampler, collate_fn=collate)
    torch.manual_seed(seed)
    net = MMFANetwork(audio_dim, 384, 4, audio_factor=recipe.audio_factor).to(dev)
    opt = getattr(torch.optim, recipe.optimizer)(net.parameters(), **recipe.optimizer_args)

    def to_dev(batch: dict) -> list[torch.Tensor]:
        keys = ("audio", "audio_mask", "text", "text_mask", "target")
        return [batch[k].to(dev, non_blocking=True) for k in keys]

    epoch_s = []
    for epoch in range(epochs + 1):  # epoch 0 warms up (cuDNN, allocator)
        sampler.set_epoch(epoch)
        net.train()
        t0 = clock(dev)
        for batch in loader:
            a, am, t, tm, y = to_dev(batch)
            loss = F.cross_entropy(net(a, am, t, tm), y) + net.l2_penalty()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if epoch:
            epoch_s.append(clock(dev) - t0)
            print(f"epoch {epoch}: {epoch_s[-1]:.2f} s", file=sys.stderr)

    net.eval()
    eval_loader = DataLoader(samples, batch_size=batch_size, collate_fn=collate)
    t0 = clock(dev)
    with torch.inference_mode():
        for batch in eval_loader:
            a, am, t, tm, _ = to_dev(batch)
            net(a, am, t, tm)
    return epoch_s, clock(dev) - t0


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument(
        "--recipe",
        choices=("paper", "ssl"),
        default="paper",
        help="paper: torch MFCC + SGD; ssl: configs/recipe/ssl.yaml",
    )
    cli.add_argument(
        "--ssl-model",
        default=None,
        help="--recipe ssl: a downloaded model folder (default: "
        f"{relative(SSL_FOLDER)} if it exists, else the recipe's hub name)",
    )
    cli.add_argument("--utterances", type=int, default=10_000)
    cli.add_argument("--hours", type=float, default=12.0, help="total audio (IEMOCAP: ~12)")
    cli.add_argument("--device", default=None, help="default: cuda (required unless set)")
    cli.add_argument("--epochs", type=int, default=3, help="timed training epochs")
    cli.add_argument("--batch-size", type=int, default=None, help="default: the recipe's")
    cli.add_argument("--chunk-seconds", type=float, default=1800.0, help="audio per chunk")
    cli.add_argument("--folds", type=int, default=10, help="for the projection (LOSO: 10)")
    cli.add_argument(
        "--fold-epochs",
        type=int,
        default=None,
        help="epochs per fold, for the projection (default: the recipe's)",
    )
    cli.add_argument("--seed", type=int, default=0)
    cli.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results JSON (default: benchmarks/results/gpu_train[_ssl].json)",
    )
    args = cli.parse_args()

    device = args.device or "cuda"
    dev = torch.device(device)
    if args.recipe == "ssl":
        config = yaml.safe_load(SSL_RECIPE.read_text())
        default_model = config["data"]["init_args"]["audio"]["init_args"]["model"]
        model = args.ssl_model or (str(SSL_FOLDER) if SSL_FOLDER.is_dir() else default_model)
        try:
            frontend = ssl_frontend(config, model, dev)
        except ModelUnavailableError:
            print(
                f"SKIP: --recipe ssl: {model!r} is neither a model folder nor in the local "
                "Hugging Face cache; nothing is downloaded here. Get it "
                f"once (docs/recipes.md, Self-supervised front-ends): hf download "
                f"{default_model} --local-dir {relative(SSL_FOLDER)} (found there by default; "
                "elsewhere: --ssl-model DIR)"
            )
            return
        recipe = ssl_recipe(config)
    else:
        frontend, recipe = torch_mfcc(dev), PAPER
    batch_size = args.batch_size or recipe.batch_size
    fold_epochs = args.fold_epochs or recipe.fold_epochs
    out = args.out or RESULTS / ("gpu_train.json" if recipe is PAPER else "gpu_train_ssl.json")
    if device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("no CUDA device: run on a GPU machine, or pass --device cpu for a dry run")
    cuda = dev.type == "cuda"

    rng = np.random.default_rng(args.seed)
    seconds = iemocap_like_seconds(rng, args.utterances, args.hours)
    total_s = float(seconds.sum())
    print(
        f"corpus: {args.utterances} utterances, {total_s / 3600:.2f} h, "
        f"{seconds.min():.1f}-{seconds.max():.1f} s, device {dev}",
        file=sys.stderr,
    )
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    audio, extract_s = extract(seconds, dev, frontend, args.chunk_seconds, args.seed)
    extract_uts = len(audio) / extract_s
    extract_peak = torch.cuda.max_memory_allocated(dev) if cuda else None
    print(
        f"extraction: {extract_s:.2f} s, {extract_uts:.0f} utterances/s, "
        f"{total_s / extract_s:.0f} s of audio/s",
        file=sys.stderr,
    )

    samples = [  # random 384-dim word vectors (MiniLM size), 2.5 words per second
        {
            "audio": a.numpy(),
            "text": rng.standard_normal((max(1, round(2.5 * s)), 384)).astype(np.float32),
            "target": int(rng.integers(4)),
            "index": i,
        }
        for i, (a, s) in enumerate(zip(audio, seconds, strict=True))
    ]
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    epoch_s, eval_s = train_and_evaluate(
        samples, dev, frontend.dim, recipe, batch_size, args.epochs, args.seed
    )
    train_epoch = statistics.median(epoch_s)
    peak = torch.cuda.max_memory_allocated(dev) if cuda else None

    n = len(samples)
    fold_s = fold_epochs * (0.8 * train_epoch + 0.2 * eval_s)
    projected = args.folds * fold_s + extract_s
    result = {
        "benchmark": "gpu_train",
        "command": command_line(),
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if cuda else platform.processor(),
        "recipe": recipe.name,
        "frontend": {"name": frontend.name, "dim": frontend.dim, **frontend.facts},
        "utterances": n,
        "audio_hours": total_s / 3600,
        "extraction": {
            "seconds": extract_s,
            "utterances_per_s": extract_uts,
            "audio_seconds_per_s": total_s / extract_s,
            "peak_gpu_memory_bytes": extract_peak,
        },
        "training": {
            "batch_size": batch_size,
            "audio_gru_units": round(recipe.audio_factor * frontend.dim),
            "optimizer": {"name": recipe.optimizer, **recipe.optimizer_args},
            "bucketed": True,
            "epoch_seconds": epoch_s,
            "utterances_per_s": n / train_epoch,
            "eval_seconds": eval_s,
            "eval_utterances_per_s": n / eval_s,
        },
        "peak_gpu_memory_bytes": peak,  # training (a loaded SSL encoder stays allocated)
        "projected_loso": {
            "folds": args.folds,
            "epochs_per_fold": fold_epochs,
            "formula": "folds * epochs * (0.8 * train_epoch + 0.2 * eval_pass) + extraction",
            "seconds": projected,
            "hours": projected / 3600,
        },
    }
    print(
        f"\nextraction {extract_uts:.0f} utt/s ({total_s / extract_s:.0f}x real time); training "
        f"{n / train_epoch:.0f} utt/s ({train_epoch:.1f} s/epoch); evaluation {n / eval_s:.0f} "
        f"utt/s; peak GPU memory "
        f"{'n/a' if peak is None else f'{peak / 2**30:.2f} GiB'}; projected {args.folds}-fold "
        f"LOSO with {fold_epochs} epochs per fold: {projected / 3600:.2f} h"
    )
    write_result(out, result)


if __name__ == "__main__":
    main()
