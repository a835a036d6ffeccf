"""Real-speech benchmark: every fusion on RAVDESS, the paper's recipe vs the practical one.

Each row is one ``mmfa cv`` run (all actor-independent folds of the actors found) with the command
recorded beside its numbers; rows run one after another, each in its own process, with one torch
thread (the model is tiny; on shared cores more threads only slow it down)::

    python benchmarks/ravdess_fusions.py [--data DIR] [--rows practical/AudioOnly,...] [--out DIR]
    python benchmarks/ravdess_fusions.py --list          # the row names

``--data`` is the folder holding ``Actor_XX`` (default ``$MMFA_SHARED/data/ravdess``,
``MMFA_SHARED`` being the ``shared`` folder beside the repository); without it the script says so
and exits 0. Run folders go to
``<out>/<recipe>-<fusion>`` (default ``runs/bench_ravdess``); a finished fold is not run again.
``--seeds 0,1,2`` trains every fold with each seed (the mean is then over folds x seeds);
``--collect`` only reads finished run folders. Results are merged into
``benchmarks/results/ravdess_fusions.json`` (per-fold test UA and WA, mean and population std over
folds, wall time, machine), which ``docs/results.md`` shows.
"""

from __future__ import annotations

import json
import shlex
import statistics
import sys
from pathlib import Path
from typing import Any

from common import (
    RAVDESS_CORPUS,
    REPO,
    RESULTS,
    merge_results,
    parser,
    ravdess_actors,
    run_mmfa,
    run_wall,
    shared_data,
    skip_without,
)

RESULT_FILE = RESULTS / "ravdess_fusions.json"
FAITHFUL = "configs/ravdess_8class.yaml"
PRACTICAL = "configs/recipe/practical.yaml"

#: fusion row name -> LightningCLI overrides.
FUSIONS: dict[str, list[str]] = {
    "MMFAFusion": ["--model.fusion=MMFAFusion"],
    "MMFAFusion+audio_path": [
        "--model.fusion=MMFAFusion",
        "--model.fusion.init_args.audio_path=true",
    ],
    "ConcatFusion": ["--model.fusion=ConcatFusion"],
    "LateFusion": ["--model.fusion=LateFusion"],
    "AudioOnly": ["--model.fusion=AudioOnly"],
    "TextOnly": ["--model.fusion=TextOnly"],
}
RECIPES: dict[str, list[str]] = {"faithful": [FAITHFUL], "practical": [FAITHFUL, PRACTICAL]}
ROWS = [f"{recipe}/{fusion}" for recipe in RECIPES for fusion in FUSIONS]


def command(row: str, data: str, out: str, seeds: str = "0") -> list[str]:
    """The ``mmfa cv`` command of a row (the one the docs print)."""
    recipe, fusion = row.split("/")
    configs = [a for c in RECIPES[recipe] for a in ("--config", c)]
    extra = [] if seeds == "0" else ["--seeds", seeds]
    return ["mmfa", "cv", *configs, "--data.root", data, *FUSIONS[fusion], *extra, "--out", out]


def run_row(row: str, data: Path, out: Path, seeds: str) -> float:
    """Run one row in a fresh process; return its wall time in seconds."""
    return run_mmfa(command(row, str(data), str(out), seeds))


def collect(row: str, run_dir: Path, wall_s: float | None, seeds: str) -> dict[str, Any]:
    """Per-fold and mean test UA/WA of a finished run folder (its ``report/report.json``)."""
    report = json.loads((run_dir / "report" / "report.json").read_text())
    folds = {f["fold"]: {"UA": 100 * f["UA"], "WA": 100 * f["WA"]} for f in report["per_fold"]}
    ua = [f["UA"] for f in folds.values()]
    wa = [f["WA"] for f in folds.values()]
    if wall_s is None:
        wall_s = run_wall(run_dir)
    spread = report.get("seeds") or {}  # several seeds: each seed's mean and their spread
    per_seed = {k: 100 * v["UA"] for k, v in spread.get("per_seed", {}).items()}
    ensemble = report.get("ensemble") or {}  # the seeds' probabilities averaged, per fold
    return {
        "command": shlex.join(command(row, "/path/to/ravdess", f"runs/ravdess/{slug(row)}", seeds)),
        "folds": folds,
        "UA_mean": statistics.fmean(ua),
        "UA_std": statistics.pstdev(ua),
        "WA_mean": statistics.fmean(wa),
        "WA_std": statistics.pstdev(wa),
        "wall_s": round(wall_s),
        "code": report.get("provenance", {}).get("run", {}).get("git"),  # the rows' vintages differ
        **({"UA_per_seed": per_seed, "UA_seed_std": 100 * spread["std"]["UA"]} if per_seed else {}),
        **(
            {
                "UA_ensemble_of_seeds": 100 * ensemble["mean"]["UA"],
                "UA_ensemble_of_seeds_std": 100 * ensemble["std"]["UA"],
            }
            if ensemble
            else {}
        ),
    }


def slug(row: str) -> str:
    return row.replace("/", "-").replace("+", "-")


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--data", type=Path, default=shared_data("ravdess"))
    cli.add_argument("--rows", default=",".join(ROWS), help="comma-separated row names")
    cli.add_argument("--out", type=Path, default=REPO / "runs" / "bench_ravdess")
    cli.add_argument("--seeds", default="0", help="comma-separated seeds (cv --seeds)")
    cli.add_argument("--collect", action="store_true", help="only read finished run folders")
    cli.add_argument("--list", action="store_true", help="print the row names and exit")
    args = cli.parse_args()
    if args.list:
        print("\n".join(ROWS))
        return
    rows = args.rows.split(",")
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        sys.exit(f"unknown rows {unknown}; choose from {ROWS}")
    if not args.collect and skip_without(
        ravdess_actors(args.data), "RAVDESS (Actor_XX folders)", args.data, "--data"
    ):
        return
    measured: dict[str, Any] = {}
    for row in rows:
        run_dir = args.out / slug(row)
        wall = None if args.collect else run_row(row, args.data, run_dir, args.seeds)
        if not (run_dir / "report" / "report.json").exists():
            print(f"{row}: no report in {run_dir}; skipped")
            continue
        done = measured[row] = collect(row, run_dir, wall, args.seeds)
        print(f"{row}: UA {done['UA_mean']:.1f} ± {done['UA_std']:.1f}")
    merge_results(
        RESULT_FILE,
        measured,
        corpus=RAVDESS_CORPUS,
        std="population std over folds (ddof=0), as mmfa's reports",
    )


if __name__ == "__main__":
    main()
