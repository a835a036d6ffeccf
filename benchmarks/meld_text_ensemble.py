"""MELD text: finished ``meld_text_only.py`` runs averaged as one model, via ``mmfa predict``.

Each run (a fine-tuned encoder and the TextOnly network on it, typically one per seed) wrote a
results JSON naming its checkpoint. This benchmark predicts MELD dev and test with every
checkpoint alone and with all of them together (``mmfa predict --ckpt_path A B C``: their
probabilities averaged), and scores each with mmfa's report metrics. Whether the ensemble is the
model to use is decided on dev only; test is read for the record::

    python benchmarks/meld_text_only.py --finetune-epochs 3 --context-turns 1 --seed 0 \\
        --results benchmarks/results/meld_text_finetune_command_seed0.json    # and seeds 1, 2
    python benchmarks/meld_text_ensemble.py \\
        --runs benchmarks/results/meld_text_finetune_command_seed{0,1,2}.json

Writes ``benchmarks/results/meld_text_ensemble.json`` with the exact ``mmfa predict`` commands.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import REPO, parser, relative, shared_data, skip_without, write_result

#: The data options of the second stage that decide what the model reads (the rest is training).
DATA_KEYS = ("--data.use_audio", "--data.context_turns", "--data.context_speakers")


def fit_command(run: dict) -> list[str]:
    """The ``mmfa fit`` command a results JSON recorded (its last command)."""
    return shlex.split(run["mmfa_commands"][-1])


def predict(checkpoints: list[str], fit: list[str], meld: str, split: str, out: Path) -> list[str]:
    """Run ``mmfa predict`` on one MELD split; return the command."""
    config = next(a.split("=", 1)[1] for a in fit if a.startswith("--config="))
    data = [a for a in fit if a.split("=", 1)[0] in DATA_KEYS]
    command = [
        "mmfa", "predict", "--ckpt_path", *checkpoints, "--config", config,
        f"--data.root={meld}", *data, "--split", split, "--out", str(out),
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    print("$", shlex.join(command), flush=True)
    subprocess.run([sys.executable, "-m", "mmfa", *command[1:]], cwd=REPO, env=env, check=True)
    return command


def score(path: Path) -> dict[str, float]:
    """The report's headline metrics (in %) of a predictions CSV with gold labels."""
    from mmfa.experiments.fold_metrics import report_metrics
    from mmfa.problem import get_problem

    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = [c for c in rows[0] if c.startswith("score_")]
    names = [c.removeprefix("score_") for c in columns]
    target = np.array([names.index(r["label"]) for r in rows])
    scores = np.array([[float(r[c]) for c in columns] for r in rows])
    metrics = report_metrics(get_problem("multiclass"), target, scores, names, "meld")
    return {k: round(100 * float(v), 2) for k, v in metrics.headline.items()}


def main() -> int:
    cli = parser(__doc__, "meld_text_ensemble.json")
    cli.add_argument("--runs", type=Path, nargs="+", required=True, help="meld_text_only JSONs")
    cli.add_argument("--meld", type=Path, default=shared_data("meld"), help="the MELD CSVs")
    cli.add_argument("--work", type=Path, default=Path("runs/meld_text_ensemble"))
    opts = cli.parse_args()
    if skip_without(sorted(opts.meld.glob("*_sent_emo.csv")), "MELD CSVs", opts.meld, "--meld"):
        return 0
    runs = [json.loads(p.read_text()) for p in opts.runs]
    checkpoints = [r["selection"]["checkpoint"] for r in runs]
    fit = fit_command(runs[0])
    opts.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    models = {f"seed run {relative(p)}": [c] for p, c in zip(opts.runs, checkpoints, strict=True)}
    models["ensemble"] = checkpoints
    rows, commands = {}, {}
    for name, members in models.items():
        rows[name] = {}
        for split in ("val", "test"):
            out = opts.work / f"{len(commands)}_{split}.csv"
            commands[f"{name} / {split}"] = shlex.join(
                predict(members, fit, relative(opts.meld), split, out)
            )
            rows[name]["dev" if split == "val" else "test"] = score(out)
        print(name, rows[name], flush=True)
    singles = [n for n in rows if n != "ensemble"]
    best_single = max(singles, key=lambda n: rows[n]["dev"]["F1_w"])
    chosen = max([best_single, "ensemble"], key=lambda n: rows[n]["dev"]["F1_w"])
    write_result(
        opts.out,
        {
            "what": "MELD test/dev, TextOnly on fine-tuned MiniLM, each run alone and averaged",
            "runs": [relative(p) for p in opts.runs],
            "checkpoints": checkpoints,
            "metrics": rows,
            "chosen_on_dev": chosen,
            "commands": commands,
            "wall_s": round(time.perf_counter() - started, 1),
        },
    )
    print(f"chosen on dev: {chosen}: test F1_w {rows[chosen]['test']['F1_w']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
