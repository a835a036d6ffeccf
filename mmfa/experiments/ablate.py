r"""``mmfa ablate``: a grid of cross-validations and one table comparing them.

    mmfa ablate --config configs/iemocap_4class.yaml \\
        --grid model.fusion=MMFAFusion,AudioOnly,TextOnly \\
        --grid data.label_set=4class,8class --grid data.scenario=improvised,mixed

runs ``mmfa cv`` once per combination (each resumable, each a W&B group with ``--wandb``) into
``<out>/<combination>/`` and writes ``<out>/comparison.md`` and ``.csv``: one row per run, like the
paper's audio / text / multimodal rows.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import re
from pathlib import Path

log = logging.getLogger("mmfa.ablate")


def parse_grid(specs: list[str]) -> list[tuple[str, list[str]]]:
    """``["model.fusion=A,B", "data.x=1,2"]`` -> ``[("model.fusion", ["A", "B"]), ...]``."""
    grid = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        if not sep or not key or not values:
            raise SystemExit(f"mmfa ablate: --grid {spec!r} is not KEY=V1,V2,...")
        grid.append((key.strip(), [v.strip() for v in values.split(",") if v.strip()]))
    return grid


def combination_name(combo: list[tuple[str, str]]) -> str:
    """A folder-safe name such as ``fusion-AudioOnly__label_set-4class``."""
    parts = [f"{key.split('.')[-1]}-{value}" for key, value in combo]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "__".join(parts)) or "base"


def ablate_main(argv: list[str]) -> Path:
    """Entry point of ``mmfa ablate``. Returns the output folder."""
    from mmfa.experiments.cv import add_cv_arguments, cv_main
    from mmfa.experiments.report import compare_runs
    from mmfa.logs import setup_logging

    setup_logging()

    parser = argparse.ArgumentParser(
        prog="mmfa ablate",
        description=__doc__,
        epilog="Every option of mmfa cv above is passed to each cross-validation, and so is any "
        "config override (--model.*, --data.*, --trainer.*, e.g. --trainer.max_epochs 20).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--grid", action="append", default=[], help="KEY=V1,V2 (repeatable)")
    parser.add_argument(
        "--out", type=Path, default=Path("runs") / "ablate", help="folder of the runs and table"
    )
    add_cv_arguments(parser.add_argument_group("passed to mmfa cv"), out=False)
    args, rest = parser.parse_known_args(argv)
    grid = parse_grid(args.grid)
    # What mmfa cv parses again: its own options, then the overrides.
    rest = [a for c in args.config for a in ("--config", c)] + _cv_flags(args) + rest

    run_dirs, labels = [], []
    keys = [k for k, _ in grid]
    combos = list(itertools.product(*[v for _, v in grid]))
    for k, values in enumerate(combos, start=1):
        combo = list(zip(keys, values, strict=True))
        run_dir = args.out / combination_name(combo)
        overrides = [f"--{key}={value}" for key, value in combo]
        log.info("ablation %d/%d: %s", k, len(combos), run_dir.name)
        run_dirs.append(cv_main([*rest, *overrides, "--out", str(run_dir)]))  # --new-run: RUN-2
        labels.append(" / ".join(value for _, value in combo) or "base")
    table = compare_runs(run_dirs, args.out, labels=labels)
    print(table)
    log.info("comparison written to %s", args.out / "comparison.md")
    return args.out


def _cv_flags(args: argparse.Namespace) -> list[str]:
    """``mmfa cv`` options given to ``mmfa ablate``, as command-line flags again."""
    flags = []
    if args.new_run:
        flags.append("--new-run")
    if args.folds:
        flags += ["--folds", args.folds]
    if args.wandb:
        flags.append("--wandb")
    flags += ["--seeds", args.seeds, "--wandb-project", args.wandb_project]
    return flags + ["--tags", args.tags]
