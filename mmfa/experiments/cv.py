"""``mmfa cv``: cross-validation in one command, resumable, ending in a paper-style report.

For every fold the datamodule declares (IEMOCAP's 10 speakers, the synthetic corpus' speaker
pairs, a plugin's folds), or for every seed of an official-split corpus: fit on train, select the
checkpoint on validation, test it, and save the test predictions. A fold whose ``fold.json`` exists
is finished and is not run again, so an interrupted run is completed by the same command.

Every fold is built by the same factory as ``mmfa fit`` (:func:`mmfa.lightning_cli.build_cli`):
the loggers the config names are kept, only pointed at the fold's folder, and the test
predictions are written by the same callback. Resuming checks that the configuration is the one
the run started with (:mod:`mmfa.experiments.run_config`).

Layout of a run folder::

    RUN/run.json                  task, class names, config and its hash, provenance
    RUN/config.yaml               the resolved configuration
    RUN/folds/<fold>/             checkpoints, logs, predictions.csv, fold_manifest.json, fold.json
    RUN/report/                   report.md, report.json, CSVs and PNG plots
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
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
        "then write a report. Any other option (--model.*, --data.*, --trainer.*, e.g. "
        "--model.fusion TextOnly) is passed to the config as in mmfa fit.",
    )
    add_cv_arguments(parser)
    return parser.parse_known_args(argv)


def add_cv_arguments(parser: argparse._ActionsContainer, *, out: bool = True) -> None:
    """The options of ``mmfa cv`` (``mmfa ablate`` shows them in its help too)."""
    parser.add_argument(
        "--config",
        action="append",
        required=True,
        help="config file(s), as for mmfa fit (repeatable; later files override earlier ones)",
    )
    if out:
        parser.add_argument(
            "--out",
            type=Path,
            default=None,
            help="run folder (default: runs/cv/<corpus>-<fusion>, e.g. runs/cv/ravdess-MMFAFusion)",
        )
    parser.add_argument(
        "--new-run",
        action="store_true",
        help="if the run folder exists, start a fresh one beside it (RUN-2, ...) instead of "
        "resuming it",
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
        help="also log to Weights & Biases (one group per run, one job per fold) when the "
        "config names no W&B logger",
    )
    parser.add_argument("--wandb-project", default="mmfa", help="W&B project (default: mmfa)")
    parser.add_argument("--tags", default="", help="extra comma-separated W&B tags")


def cv_main(argv: list[str]) -> Path:
    """Entry point of ``mmfa cv``. Returns the run folder."""
    from mmfa.logs import forget_shown, setup_logging

    setup_logging()
    forget_shown()  # each cross-validation's console is complete (several run under mmfa ablate)
    args, overrides = parse_args(argv)
    from mmfa.experiments.run_config import fresh_folder
    from mmfa.experiments.run_folder import lock_run_folder
    from mmfa.lightning_cli import build_cli
    from mmfa.loggers import run_name

    base = [a for c in args.config for a in ("--config", c)] + overrides
    probe = build_cli(base, run=False)
    # Named after what is cross-validated (runs/cv/ravdess-MMFAFusion), not the last --config
    # file: a recipe added after two corpus configs would give both runs one folder.
    run_dir = args.out or Path("runs") / "cv" / run_name(probe.config)
    if args.new_run:
        run_dir = fresh_folder(run_dir)
    if not _is_rank_zero():  # a DDP rank started by rank 0, which holds the folder
        return _cross_validate(run_dir, probe, base, args, argv)
    with lock_run_folder(run_dir):
        return _cross_validate(run_dir, probe, base, args, argv)


def _cross_validate(
    run_dir: Path, probe: Any, base: list[str], args: argparse.Namespace, argv: list[str]
) -> Path:
    from mmfa.experiments.run_config import check_resume

    config = _resolved_config(probe)
    check_resume(run_dir, config)
    fold_names = probe.datamodule.fold_names()
    chosen = args.folds.split(",") if args.folds else (fold_names or [None])
    unknown = [f for f in chosen if f is not None and fold_names and f not in fold_names]
    if unknown:
        from mmfa.errors import ConfigError

        raise ConfigError(f"--folds: {unknown} are not folds of this datamodule: {fold_names}")
    seeds = [int(s) for s in str(args.seeds).split(",")]
    units = [(fold, seed) for fold in chosen for seed in seeds]
    names = _unit_names(units, len(seeds))
    _check_finished_units(run_dir, probe.datamodule, units, names)
    _write_run_json(run_dir, probe, config, args, argv)
    tags = _tags(probe, args)
    for k, ((fold, seed), name) in enumerate(zip(units, names, strict=True), start=1):
        progress = f"fold {name} ({k}/{len(units)})"
        unit_dir = run_dir / "folds" / name
        if (unit_dir / "fold.json").exists():
            log.info("%s already finished: skipped (delete %s to rerun it)", progress, unit_dir)
            continue
        if unit_dir.exists() and _is_rank_zero():
            # An interrupted fold restarts clean; its partial files are kept aside, not deleted.
            aside = run_dir / "interrupted" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
            aside.parent.mkdir(parents=True, exist_ok=True)
            unit_dir.rename(aside)
            log.info("%s was interrupted earlier: restarting it (old files in %s)", progress, aside)
        log.info("%s: training", progress)
        run_unit(base, unit_dir, fold, seed, run_dir.name, args, config, tags, progress)
    from mmfa.experiments.report import build_report

    if _is_rank_zero():
        report = build_report(run_dir)
        log.info("%s", _summary_line(report))
        log.info("report written to %s", run_dir / "report" / "report.md")
        if args.wandb or _has_wandb(probe):
            _log_summary_to_wandb(run_dir, report, args, tags)
    return run_dir


def _log_summary_to_wandb(
    run_dir: Path, report: dict[str, Any], args: argparse.Namespace, tags: list[str]
) -> None:
    """The W&B summary run; its failure is a warning: the run itself has finished by now."""
    from mmfa.experiments.wandb_summary import log_run_summary

    try:
        log_run_summary(run_dir, report, project=args.wandb_project, tags=tags)
    except Exception as err:  # any W&B failure (names, network, disk) after the report
        log.warning(
            "W&B summary not logged (%s: %s); the run is complete and its report is in %s",
            type(err).__name__,
            err,
            run_dir / "report",
        )
        import wandb

        with contextlib.suppress(Exception):  # close the half-made summary run if W&B can
            if wandb.run is not None:
                wandb.finish(exit_code=1)


def run_unit(
    base: list[str],
    unit_dir: Path,
    fold: str | None,
    seed: int,
    group: str,
    args: argparse.Namespace,
    config: dict[str, Any],
    tags: list[str],
    progress: str,
) -> None:
    """Fit, select on validation, test and save predictions for one fold/seed."""
    from mmfa.experiments.run_config import config_hash, inside
    from mmfa.lightning_cli import FoldTarget, build_cli, test_best
    from mmfa.threads import thread_choice

    inside(unit_dir.parent, unit_dir)
    started = time.monotonic()
    extra = [f"--seed_everything={seed}"]
    if fold is not None:
        extra.append(f"--data.init_args.fold={fold}")
    target = FoldTarget(
        unit_dir,
        group,
        unit_dir.name,
        wandb_project=args.wandb_project if args.wandb else None,
        tags=tuple(tags),
    )
    cli = build_cli(base + extra, run=False, fold_target=target)
    trainer, dm = cli.trainer, cli.datamodule
    trainer.fit(cli.model, datamodule=dm)
    best = test_best(trainer, cli.model, dm, verbose=False)
    if not _is_rank_zero():
        return
    predictions = unit_dir / "predictions.csv"
    if not predictions.exists():
        raise RuntimeError(f"{progress}: the test wrote no {predictions}")
    digest = dm.write_fold_manifest(unit_dir / "fold_manifest.json")
    ckpt = trainer.checkpoint_callback
    val_score = getattr(ckpt, "best_model_score", None)
    test = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")}
    info = {
        "fold": fold,
        "seed": seed,
        "config_sha256": config_hash(config),
        "fold_manifest_sha256": digest,
        "fold_data_sha256": _fold_data_hash(dm),
        "checkpoint": best,
        "monitor": getattr(ckpt, "monitor", None),
        "val_metrics": {str(getattr(ckpt, "monitor", "val")): float(val_score)}
        if val_score is not None
        else {},
        "epochs": trainer.current_epoch,
        "best_epoch": _best_epoch(best),
        "wall_s": round(time.monotonic() - started, 1),
        "sizes": {s: len(r) for s, r in dm.refs.items()},
        "skipped": dm.feature_report.skip_counts() if dm.feature_report else {},
        # The count and its reason: it sets the float summation order, hence the last digits.
        "threads": thread_choice(),
    }
    log.info("%s: %s", progress, _one_line(cli.model.problem.headline, test, info))
    if any(type(lg).__name__ == "WandbLogger" for lg in trainer.loggers):
        from mmfa.experiments.wandb_summary import log_fold_tables

        log_fold_tables(predictions, cli.model.problem, list(dm.class_names))
        import wandb

        wandb.finish()
    # Written last: its presence marks the fold as finished (resumability).
    (unit_dir / "fold.json").write_text(json.dumps(info, indent=1, default=str))


def _one_line(headline: tuple[str, ...], test: dict[str, float], info: dict[str, Any]) -> str:
    from mmfa.problem import metric_info

    shown = []
    for key in headline[:3]:
        if f"test/{key}" in test:
            value = test[f"test/{key}"]
            pct = metric_info(key).percent
            shown.append(f"{key} {100 * value:.2f}" if pct else f"{key} {value:.3f}")
    best = info["best_epoch"]
    return (
        f"test {', '.join(shown)}; best epoch {best if best is not None else '?'} "
        f"of {info['epochs']}; {info['wall_s']:.0f} s"
    )


def _summary_line(report: dict[str, Any]) -> str:
    """``mean over 18 folds: WA 53.84 ± 9.22, ...; over 3 seeds: UA 51.87 ± 3.17`` for the log."""
    from mmfa.experiments.report_markdown import fmt

    keys = report["headline"][:3]

    def shown(stats: dict[str, Any]) -> str:
        return ", ".join(f"{k} {fmt(stats['mean'][k], k, stats['std'][k])}" for k in keys)

    line = f"mean over {len(report['folds'])} folds: {shown(report)}"
    seeds = report.get("seeds")
    if seeds:
        line += (
            f"; over {len(seeds['per_seed'])} seeds (mean ± std of the per-seed means): "
            + shown(seeds)
        )
    ensemble = report.get("ensemble")
    if ensemble and ensemble["per_fold"]:
        line += f"; the seeds averaged (ensemble): {shown(ensemble)}"
    return line


def _best_epoch(checkpoint: str | None) -> int | None:
    """The epoch a checkpoint was saved at (read without unpickling any code)."""
    if not checkpoint:
        return None
    import torch

    try:
        epoch = torch.load(checkpoint, map_location="cpu", weights_only=True).get("epoch")
    except Exception:  # an unreadable checkpoint only loses this one number of the report
        return None
    return int(epoch) if epoch is not None else None


def _resolved_config(cli: Any) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(cli.parser.dump(cli.config, skip_none=False)))


def _has_wandb(cli: Any) -> bool:
    return any(type(lg).__name__ == "WandbLogger" for lg in cli.trainer.loggers)


def _write_run_json(
    run_dir: Path, cli: Any, config: dict[str, Any], args: argparse.Namespace, argv: list[str]
) -> None:
    if not _is_rank_zero():
        return
    from mmfa.experiments.run_config import config_hash
    from mmfa.provenance import collect

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(cli.parser.dump(cli.config, skip_none=False))
    dm = cli.datamodule
    provenance = {
        "argv": ["mmfa", "cv", *argv],
        "configs": {c: Path(c).read_text() for c in args.config if Path(c).exists()},
        "resolved_config": "config.yaml",
        "seeds": args.seeds,
        # git commit, python, platform, CPU kernel set, threads (count and rule), versions
        **collect(),
        "datamodule": type(dm).__name__,
        "fusion": type(cli.model.fusion).__name__,
    }
    run = {
        "task_type": cli.model.problem.kind,
        "class_names": list(dm.class_names),
        "config_sha256": config_hash(config),
        "config": config,
        "provenance": provenance,
    }
    (run_dir / "run.json").write_text(json.dumps(run, indent=1, default=str))


def _tags(cli: Any, args: argparse.Namespace) -> list[str]:
    dm, fusion = cli.datamodule, type(cli.model.fusion).__name__
    modality = "+".join(m for m in ("audio", "text") if m in cli.model.fusion.modalities)
    tags = [type(dm).__name__, fusion, modality]
    return tags + [t for t in args.tags.split(",") if t]


def _unit_name(fold: str | None, seed: int, num_seeds: int) -> str:
    """The folder name of one fold/seed: the fold's name made safe, plus the seed if several."""
    from mmfa.experiments.run_config import safe_name

    name = safe_name(fold) if fold is not None else "official"
    return f"{name}-seed{seed}" if num_seeds > 1 or fold is None else name


def _unit_names(units: list[tuple[str | None, int]], num_seeds: int) -> list[str]:
    """Folder names of all units, refused if two would share a folder (also on a case-blind disk).

    Raises:
        ConfigError: two folds get one folder name; names the folds.
    """
    from mmfa.errors import ConfigError

    names = [_unit_name(fold, seed, num_seeds) for fold, seed in units]
    owner: dict[str, tuple[str | None, int]] = {}
    for unit, name in zip(units, names, strict=True):
        other = owner.setdefault(name.casefold(), unit)
        if other != unit:
            raise ConfigError(
                f"folds {other[0]!r} and {unit[0]!r} would share the folder folds/{name}; "
                "rename one of them in the datamodule, or run them with --folds in two runs"
            )
    return names


def _fold_data_hash(dm: Any) -> str:
    """SHA-256 of each split's (id, label, speaker): names the data *and* labels a fold used.

    ``fold_manifest_sha256`` hashes the ids only; a corpus whose labels were corrected keeps it.
    """
    splits = {
        split: sorted([u.id, u.label, u.speaker] for u in (dm.utterances[r.index] for r in refs))
        for split, refs in dm.refs.items()
    }
    blob = json.dumps(splits, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _check_finished_units(
    run_dir: Path, dm: Any, units: list[tuple[str | None, int]], names: list[str]
) -> None:
    """Refuse to keep a finished fold that another fold wrote or that ran on other data.

    A finished fold is skipped, and its numbers are averaged with the folds run now: only honest
    if it is the same fold on the same data. Its ``fold.json`` records the fold, the seed and
    hashes of the fold's ids and labels; they are compared with the corpus as it is now.

    Raises:
        ConfigError: naming each such fold, what differs, and the two ways out.
    """
    from mmfa.errors import ConfigError

    problems, digests = [], {}
    for (fold, seed), name in zip(units, names, strict=True):
        path = run_dir / "folds" / name / "fold.json"
        if not path.exists():
            continue
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            problems.append(f"{path}: unreadable ({err})")
            continue
        if (info.get("fold"), info.get("seed")) != (fold, seed):
            problems.append(
                f"{path}: holds fold {info.get('fold')!r} seed {info.get('seed')!r}, "
                f"not fold {fold!r} seed {seed!r}"
            )
            continue
        if fold not in digests:
            dm.fold = fold
            dm.setup("fit")
            digests[fold] = (dm.fold_manifest_hash(), _fold_data_hash(dm))
        ids, data = digests[fold]
        if info.get("fold_manifest_sha256") != ids:
            problems.append(f"{path}: its utterances differ from the corpus' now")
        elif info.get("fold_data_sha256", data) != data:
            problems.append(f"{path}: its labels or speakers differ from the corpus' now")
    if problems:
        shown = "\n  ".join(problems)
        raise ConfigError(
            f"{run_dir} holds finished folds that do not match this run; resuming would "
            f"average them with folds trained now:\n  {shown}\n"
            "Pass --new-run to start a fresh folder beside it (or --out to name one), or "
            "delete those fold folders to rerun them."
        )


def _is_rank_zero() -> bool:
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


if __name__ == "__main__":
    cv_main(sys.argv[1:])
