"""``mmfa cv``: cross-validation in one command, resumable, ending in a paper-style report.

For every fold the datamodule declares (IEMOCAP's 10 speakers, the synthetic corpus' speaker
pairs, a plugin's folds), or for every seed of an official-split corpus: fit on train, select the
checkpoint on validation, test it, and save the test predictions. A fold whose ``fold.json`` exists
is finished and is not run again, so an interrupted run is completed by the same command.

Layout of a run folder::

    RUN/run.json                  task, class names, provenance (configs, versions, argv)
    RUN/config.yaml               the resolved configuration
    RUN/folds/<fold>/             checkpoints, logs, predictions.csv, fold_manifest.json, fold.json
    RUN/report/                   report.md, report.json, CSVs and PNG plots
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("mmfa.cv")


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Parse `mmfa cv`'s own options; everything else is passed to LightningCLI as overrides."""
    parser = argparse.ArgumentParser(
        prog="mmfa cv",
        description="Cross-validate a config: fit, select on validation, test, for every fold; "
        "then write a report. Unknown options (e.g. --model.fusion TextOnly) go to LightningCLI.",
    )
    parser.add_argument(
        "--config",
        action="append",
        required=True,
        help="config file(s), as for mmfa fit (repeatable)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="run folder (default: runs/cv/<last config's name>)"
    )
    parser.add_argument(
        "--folds",
        default=None,
        help="comma-separated fold names (default: every fold of the datamodule)",
    )
    parser.add_argument(
        "--seeds", default="0", help="comma-separated seeds; folds x seeds runs (default: 0)"
    )
    parser.add_argument(
        "--wandb",
        action="store_true",
        help="log to Weights & Biases: one group per run, one job per fold",
    )
    parser.add_argument("--wandb-project", default="mmfa", help="W&B project (default: mmfa)")
    parser.add_argument("--tags", default="", help="extra comma-separated W&B tags")
    return parser.parse_known_args(argv)


def cv_main(argv: list[str]) -> Path:
    """Entry point of ``mmfa cv``. Returns the run folder."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args, overrides = parse_args(argv)
    from mmfa.lightning_cli import keep_wandb_noninteractive

    keep_wandb_noninteractive()
    run_dir = args.out or Path("runs") / "cv" / Path(args.config[-1]).stem
    base = [a for c in args.config for a in ("--config", c)] + overrides
    probe = _make_cli(base)
    fold_names = probe.datamodule.fold_names()
    chosen = args.folds.split(",") if args.folds else (fold_names or [None])
    seeds = [int(s) for s in str(args.seeds).split(",")]
    units = [(fold, seed) for fold in chosen for seed in seeds]
    _write_run_json(run_dir, probe, args, argv)
    for fold, seed in units:
        name = _unit_name(fold, seed, len(seeds))
        unit_dir = run_dir / "folds" / name
        if (unit_dir / "fold.json").exists():
            log.info("fold %s already finished: skipped (delete %s to rerun it)", name, unit_dir)
            continue
        if unit_dir.exists() and _is_rank_zero():
            # An interrupted fold restarts clean; its partial files are kept aside, not deleted.
            aside = run_dir / "interrupted" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            unit_dir.rename(aside)
            log.info(
                "fold %s was interrupted earlier: restarting it (old files in %s)", name, aside
            )
        run_unit(base, unit_dir, fold, seed, run_dir.name, args)
    from mmfa.experiments.report import build_report

    if _is_rank_zero():
        report = build_report(run_dir)
        log.info("report written to %s", run_dir / "report" / "report.md")
        if args.wandb:
            from mmfa.experiments.wandb_summary import log_run_summary

            log_run_summary(run_dir, report, project=args.wandb_project, tags=_tags(probe, args))
    return run_dir


def run_unit(
    base: list[str],
    unit_dir: Path,
    fold: str | None,
    seed: int,
    group: str,
    args: argparse.Namespace,
) -> None:
    """Fit, select on validation, test and save predictions for one fold/seed."""
    from lightning.pytorch.loggers import CSVLogger

    extra = [f"--seed_everything={seed}", f"--trainer.default_root_dir={unit_dir}"]
    if fold is not None:
        extra.append(f"--data.init_args.fold={fold}")
    cli = _make_cli(base + extra)
    loggers: list[Any] = [CSVLogger(str(unit_dir), name="", version="")]
    if args.wandb:
        from lightning.pytorch.loggers import WandbLogger

        loggers.append(
            WandbLogger(
                project=args.wandb_project,
                group=group,
                job_type="fold",
                name=f"{group}-{unit_dir.name}",
                save_dir=str(unit_dir),
                tags=_tags(cli, args),
                config=_resolved_config(cli),
            )
        )
    cli.trainer.loggers = loggers
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    ckpt = cli.trainer.checkpoint_callback
    best = getattr(ckpt, "best_model_path", "") or None
    if best is None:
        log.warning("fold %s: no validation-selected checkpoint; testing final weights", fold)
    cli.trainer.test(cli.model, datamodule=cli.datamodule, ckpt_path=best)
    if not _is_rank_zero():
        return
    from mmfa.experiments.predictions import write_predictions

    dm = cli.datamodule
    write_predictions(unit_dir / "predictions.csv", cli.model, dm)
    digest = dm.write_fold_manifest(unit_dir / "fold_manifest.json")
    val_score = getattr(ckpt, "best_model_score", None)
    info = {
        "fold": fold,
        "seed": seed,
        "fold_manifest_sha256": digest,
        "checkpoint": best,
        "monitor": getattr(ckpt, "monitor", None),
        "val_metrics": {str(getattr(ckpt, "monitor", "val")): float(val_score)}
        if val_score is not None
        else {},
        "sizes": {s: len(r) for s, r in dm.refs.items()},
        "skipped": dm.feature_report.skip_counts() if dm.feature_report else {},
    }
    if args.wandb:
        from mmfa.experiments.wandb_summary import log_fold_tables

        log_fold_tables(cli.model, dm)
        import wandb

        wandb.finish()
    # Written last: its presence marks the fold as finished (resumability).
    (unit_dir / "fold.json").write_text(json.dumps(info, indent=1, default=str))


def _make_cli(args: list[str]) -> Any:
    from mmfa.datamodules.base import EmotionDataModule
    from mmfa.lightning_cli import MMFACLI
    from mmfa.models.task import EmotionTask
    from mmfa.plugins import load_plugins

    load_plugins()
    return MMFACLI(
        EmotionTask,
        EmotionDataModule,
        subclass_mode_data=True,
        auto_configure_optimizers=False,
        run=False,
        save_config_callback=None,
        parser_kwargs={"parser_mode": "omegaconf"},
        args=args,
    )


def _resolved_config(cli: Any) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(cli.parser.dump(cli.config, skip_none=False)))


def _write_run_json(run_dir: Path, cli: Any, args: argparse.Namespace, argv: list[str]) -> None:
    if not _is_rank_zero():
        return
    from importlib.metadata import version

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(cli.parser.dump(cli.config, skip_none=False))
    dm = cli.datamodule
    packages = [
        "mmfa",
        "torch",
        "lightning",
        "torchmetrics",
        "transformers",
        "opensmile",
        "datasets",
        "scikit-learn",
        "numpy",
    ]
    provenance = {
        "argv": ["mmfa", "cv", *argv],
        "configs": {c: Path(c).read_text() for c in args.config if Path(c).exists()},
        "resolved_config": str(run_dir / "config.yaml"),
        "seeds": args.seeds,
        "python": platform.python_version(),
        "versions": {p: _version(version, p) for p in packages},
        "datamodule": type(dm).__name__,
        "fusion": type(cli.model.fusion).__name__,
    }
    run = {"task_type": dm.task_type, "class_names": list(dm.class_names), "provenance": provenance}
    (run_dir / "run.json").write_text(json.dumps(run, indent=1))


def _version(version: Any, package: str) -> str:
    try:
        return str(version(package))
    except Exception:  # not installed: say so rather than fail the run
        return "not installed"


def _tags(cli: Any, args: argparse.Namespace) -> list[str]:
    dm, fusion = cli.datamodule, type(cli.model.fusion).__name__
    modality = "+".join(m for m in ("audio", "text") if m in cli.model.fusion.modalities)
    tags = [type(dm).__name__, fusion, modality]
    return tags + [t for t in args.tags.split(",") if t]


def _unit_name(fold: str | None, seed: int, num_seeds: int) -> str:
    name = fold or "official"
    return f"{name}-seed{seed}" if num_seeds > 1 or fold is None else name


def _is_rank_zero() -> bool:
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


if __name__ == "__main__":
    cv_main(sys.argv[1:])
