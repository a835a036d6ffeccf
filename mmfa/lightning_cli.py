"""The one way mmfa builds and runs LightningCLI: ``mmfa fit/test/predict`` and every fold of cv.

:func:`build_cli` is the only factory. It loads the plugins, links the datamodule's facts into the
model, adds the prediction writer and the config-to-logger callback, and, for ``mmfa cv``, points
the configured loggers and the prediction writer at the fold's folder (:class:`FoldTarget`)
without replacing them. :func:`test_best` is the one "test the checkpoint that was best on
validation" step, used after ``fit`` and by every fold of ``mmfa cv``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import yaml
from jsonargparse import Namespace, lazy_instance
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback

from mmfa.callbacks.collapse import CollapseWarning
from mmfa.callbacks.predictions import PredictionWriter
from mmfa.callbacks.selection import BestCheckpoint
from mmfa.callbacks.skipped import SkippedWriter
from mmfa.checkpoints import check_remote, inference_spec
from mmfa.cli_errors import MMFAArgumentParser
from mmfa.datamodules.base import EmotionDataModule
from mmfa.errors import ConfigError
from mmfa.loggers import CSVLogger, run_name, uses_wandb, with_run_folder
from mmfa.logs import expect_moved_checkpoint, setup_logging
from mmfa.models.task import EmotionTask
from mmfa.plugins import load_plugins
from mmfa.problem import get_problem
from mmfa.threads import configure_threads

log = logging.getLogger("mmfa")

_DEFAULT_LOGGER = "mmfa.loggers.CSVLogger"

#: Trainer settings every shipped config had repeated: defaults of every run, so that configs keep
#: only what differs (docs/configuration.md). A command that reads these configs with a parser of
#: its own (``mmfa finetune-text``) needs them too.
TRAINER_DEFAULTS: dict[str, Any] = {
    "devices": 1,  # DDP is asked for (configs/trainer/ddp.yaml), never picked by chance
    "enable_model_summary": False,
}


@dataclass(frozen=True)
class FoldTarget:
    """Where one fold of ``mmfa cv`` writes, and how its loggers are named.

    Attributes:
        folder: the fold's folder; every logger, checkpoint and prediction file goes inside.
        group: the cross-validation run's name (the W&B group).
        name: the fold's name.
        wandb_project: add a W&B logger for this project when the config has none (``--wandb``).
        tags: extra W&B tags.
    """

    folder: Path
    group: str
    name: str
    wandb_project: str | None = None
    tags: tuple[str, ...] = ()


class LoggerSaveConfigCallback(SaveConfigCallback):
    """Save ``config.yaml`` in the log folder and send the resolved config to every logger.

    Lightning's own callback only writes the file; here W&B (and any other logger) also gets the
    configuration as the run's hyper-parameters, so a dashboard shows what produced each run.
    """

    def save_config(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Log the resolved configuration and the run's provenance to each logger.

        The provenance (:func:`mmfa.provenance.collect`: versions, git commit, CPU kernel set,
        the thread count and why) lands in the CSV logger's ``hparams.yaml`` in the run folder
        and in W&B's run config: the last digits of a result depend on it.
        """
        from mmfa.provenance import collect

        config = yaml.safe_load(self.parser.dump(self.config, skip_none=False))
        for logger in trainer.loggers:
            logger.log_hyperparams({"config": config, "provenance": collect()})


class MMFACLI(LightningCLI):
    """LightningCLI with the datamodule's facts linked into the task.

    ``audio_dim``, ``text_dim``, ``num_outputs``, ``class_names`` and ``task_type`` come from the
    instantiated datamodule, so no config copies a number that the data already knows.

    Args:
        fold_target: set by ``mmfa cv`` for one fold (see :class:`FoldTarget`); None otherwise.
        *args: passed to :class:`~lightning.pytorch.cli.LightningCLI`.
        **kwargs: passed to :class:`~lightning.pytorch.cli.LightningCLI`.
    """

    def __init__(
        self,
        *args: Any,
        fold_target: FoldTarget | None = None,
        data_only: bool = False,
        **kwargs: Any,
    ) -> None:
        self.fold_target = fold_target
        self.data_only = data_only
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Links from data to model, the prediction writer, and mmfa's own options."""
        for name in ("audio_dim", "text_dim", "functionals_dim", "num_outputs", "task_type"):
            parser.link_arguments(f"data.{name}", f"model.{name}", apply_on="instantiate")
        parser.link_arguments(
            ("data.class_names", "data.task_type"),
            "model.class_names",
            compute_fn=model_class_names,
            apply_on="instantiate",
        )
        parser.add_lightning_class_args(PredictionWriter, "predictions")
        parser.add_lightning_class_args(SkippedWriter, "skipped")
        # Every run says so when its validation predictions sit at chance (e.g. the paper's MMFA
        # on transcripts that carry no emotion), instead of letting a user wait for the result.
        parser.add_lightning_class_args(CollapseWarning, "collapse_warning")
        # Every run keeps its best validation epoch (best.ckpt), selected on the problem's metric
        # unless `checkpoint.monitor` names another; test_best and `mmfa cv` test that one.
        parser.add_lightning_class_args(BestCheckpoint, "checkpoint")
        parser.add_argument(
            "--allow_remote_checkpoint",
            type=bool,
            default=False,
            help="allow a URL as ckpt_path (it is still loaded with weights_only=True); "
            "checkpoints must come from a source you trust",
        )
        parser.add_argument(
            "--test_after_fit",
            type=bool,
            default=True,
            help="after fit, test the checkpoint that was best on validation",
        )

    def before_instantiate_classes(self) -> None:
        """Refuse remote checkpoints; for a cv fold, send loggers and outputs to its folder.

        ``weights_only`` defaults to True, and a remote checkpoint cannot turn it off: no
        pickled code from a URL ever runs (``mmfa.checkpoints.weights_only_for``).
        """
        from mmfa.checkpoints import weights_only_for

        config = self.config[self.subcommand] if self.subcommand else self.config
        check_remote(config.get("ckpt_path"), bool(config.get("allow_remote_checkpoint")))
        if "weights_only" in config:
            config.weights_only = weights_only_for(
                config.get("ckpt_path"), config.get("weights_only")
            )
        # A folder of the run's own even when the config logs only to W&B (mmfa.loggers).
        config.trainer.logger = with_run_folder(config.trainer.logger, run_name(config))
        if self.fold_target is not None:
            target = self.fold_target
            config.trainer.default_root_dir = str(target.folder)
            config.predictions.dirpath = str(target.folder)
            config.skipped.dirpath = str(target.folder)
            config.trainer.logger = _fold_loggers(config.trainer.logger, target)
        keep_wandb_noninteractive(uses_wandb(config.trainer.logger))

    def instantiate_classes(self) -> None:
        """Instantiate; give the task what its checkpoints carry; set this process's threads.

        With ``data_only`` only the datamodule is built: the data links to the model (e.g.
        ``text_dim``) would load the config's encoder, which a command reading only the data
        (``mmfa predict --config``, ``mmfa data-check``) does not need and a machine may not
        have.
        """
        if self.data_only:
            from jsonargparse import ArgumentParser

            config = self.config[self.subcommand] if self.subcommand else self.config
            data = ArgumentParser(exit_on_error=False)
            data.add_subclass_arguments(EmotionDataModule, "data", required=True)
            parsed = data.parse_object({"data": config.data.as_dict()})
            self.datamodule = data.instantiate_classes(parsed).data
            return
        super().instantiate_classes()
        config = self.config[self.subcommand] if self.subcommand else self.config
        self.model.inference_spec = inference_spec(config, self.datamodule, self.model)
        # An empty test split stops fit before training, unless no test follows it.
        self.datamodule.test_after_fit = bool(config.get("test_after_fit", True))
        configure_threads(  # cores shared among this run's processes ($MMFA_THREADS overrides)
            ranks=getattr(self.trainer, "num_devices", 1),
            dataloader_workers=getattr(self.datamodule, "num_workers", 0),
        )

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Any]) -> L.Trainer:
        # `--trainer.enable_checkpointing=false` still means no checkpoint: the `checkpoint:`
        # callback every run has is left out (Lightning refuses a ModelCheckpoint then).
        if config.get("enable_checkpointing") is False:
            callbacks = [c for c in callbacks if not isinstance(c, BestCheckpoint)]
        return super()._instantiate_trainer(config, callbacks)

    def after_fit(self) -> None:
        """Test the validation-selected checkpoint (never the last one, never chosen on test).

        Lightning's test table is left out: the run's summary (:mod:`mmfa.run_summary`), last on
        the console, gives the headline metrics and where the report with every number is.
        """
        from mmfa.run_summary import finish_run

        if self.config[self.subcommand].get("test_after_fit", True):
            best = test_best(self.trainer, self.model, self.datamodule, verbose=False)
        else:  # nothing tested: the summary still names the run and its best checkpoint
            best = getattr(self.trainer.checkpoint_callback, "best_model_path", None) or None
        finish_run(self.trainer, self.model, "fit", best)

    def before_test(self) -> None:
        """Refuse, in one line, a checkpoint whose weights do not fit the configured network."""
        self._check_checkpoint()

    def before_validate(self) -> None:
        """Refuse, in one line, a checkpoint whose weights do not fit the configured network."""
        self._check_checkpoint()

    def _check_checkpoint(self) -> None:
        path = self.config[self.subcommand].get("ckpt_path")
        if path:  # an earlier run's checkpoint, evaluated in this run's folder
            expect_moved_checkpoint()
        if path and isinstance(self.model, EmotionTask):
            check_checkpoint_fits(path, self.model, self.datamodule)

    def after_test(self) -> None:
        """Write the report and print the summary, after Lightning's own test table."""
        from mmfa.run_summary import finish_run

        finish_run(self.trainer, self.model, "test", self.trainer.ckpt_path)


#: Hyper-parameters that set the network's tensor shapes (with the fusion and its arguments).
_SHAPE_HPARAMS = (
    "audio_dim",
    "text_dim",
    "functionals_dim",
    "num_outputs",
    "audio_factor",
    "text_factor",
)


def check_checkpoint_fits(path: str | Path, model: EmotionTask, datamodule: Any) -> None:
    """Refuse a checkpoint whose weights cannot load into ``model``, saying why in words.

    Lightning would fail inside ``load_state_dict`` with lists of tensor names; the checkpoint's
    inference record and hyper-parameters say why: another fusion (or fusion settings), other
    front-ends, or another number of classes (a checkpoint of another corpus). The classes' names
    and order are checked once the weights are in (``EmotionTask._check_features``). A remote,
    missing or unreadable file is left to Lightning, which says what is wrong with it.

    Raises:
        ConfigError: the checkpoint does not fit; the message lists every difference.
    """
    import torch

    from mmfa.checkpoints import SPEC_KEY, feature_mismatch, is_remote

    if is_remote(path) or not Path(path).is_file():
        return
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not a checkpoint: Lightning's own load names the problem
        return
    if not isinstance(checkpoint, dict) or _weights_fit(checkpoint.get("state_dict"), model):
        return
    trained, now = checkpoint.get(SPEC_KEY) or {}, model.inference_spec or {}
    differences = []
    t_fusion, n_fusion = trained.get("fusion") or {}, now.get("fusion") or {}
    if t_fusion.get("class_path") != n_fusion.get("class_path"):
        differences.append(
            f"model.fusion: {t_fusion.get('class_path')} in training, "
            f"{n_fusion.get('class_path')} now"
        )
    else:
        t_args, n_args = t_fusion.get("init_args") or {}, n_fusion.get("init_args") or {}
        differences += [
            f"model.fusion.init_args.{key}: {t_args[key]!r} in training, {n_args[key]!r} now"
            for key in sorted(set(t_args) & set(n_args))
            if t_args[key] != n_args[key]
        ]
    t_names, n_names = list(trained.get("class_names") or []), list(model.class_names)
    if len(t_names) != len(n_names):
        differences.append(
            f"classes: {t_names} in training ({trained.get('datamodule')}), {n_names} now "
            f"({now.get('datamodule')})"
        )
    hparams = checkpoint.get("hyper_parameters") or {}
    differences += [
        f"model.{key}: {hparams[key]!r} in training, {model.hparams[key]!r} now"
        for key in _SHAPE_HPARAMS
        if key in hparams
        and key in model.hparams
        and hparams[key] != model.hparams[key]
        and not (key == "num_outputs" and len(t_names) != len(n_names))  # said above
    ]
    differences += feature_mismatch(trained, datamodule) if trained else []
    if not differences:  # no record (not written by mmfa fit/cv) or a difference it cannot see
        differences = ["its weights are not this network's shapes"]
    raise ConfigError(
        f"checkpoint {path} does not fit this configuration: {'; '.join(differences)}. "
        "Evaluate it with the settings it was trained with (its run's config.yaml), or use "
        "`mmfa predict --ckpt_path ...`, which needs no config"
    )


def _weights_fit(state: Any, model: EmotionTask) -> bool:
    """Whether a checkpoint's ``state_dict`` has exactly the model's tensor names and shapes."""
    if not isinstance(state, dict):
        return True  # not a Lightning checkpoint: left to Lightning's own load
    mine = model.state_dict()
    return set(state) == set(mine) and all(
        tuple(getattr(state[k], "shape", ())) == tuple(mine[k].shape) for k in mine
    )


def model_class_names(class_names: Any, task_type: str) -> list[str]:
    """The datamodule's class names, for the task; too few for its problem is a one-line error.

    Checked here, as the data's facts reach the task: the task's metrics (torchmetrics) would
    otherwise fail with a long traceback over ``num_classes``.

    Raises:
        ConfigError: fewer classes than the problem needs (one class for classification).
    """
    names = [str(n) for n in class_names]
    problem = get_problem(task_type, key="data.task_type")
    if len(names) < problem.min_classes:
        raise ConfigError(
            f"data: {len(names)} class{'' if len(names) == 1 else 'es'} ({names}); "
            f"{problem.kind} classification needs at least {problem.min_classes}. Check the "
            "corpus' label column and the declared classes (e.g. data.classes)"
        )
    return names


def test_best(
    trainer: L.Trainer, model: L.LightningModule, datamodule: Any, *, verbose: bool = True
) -> str | None:
    """Test the checkpoint that was best on validation; return its path (None: final weights).

    Under ``fast_dev_run`` no checkpoint is written, so the final weights are tested.
    """
    if getattr(trainer, "fast_dev_run", False):
        trainer.test(model, datamodule=datamodule, verbose=verbose)
        return None
    ckpt = trainer.checkpoint_callback
    best = getattr(ckpt, "best_model_path", "") if ckpt is not None else ""
    if not best:
        log.warning(
            "no validation-selected checkpoint (is a ModelCheckpoint monitoring a "
            "val/ metric configured?); testing the final weights"
        )
    trainer.test(
        model, datamodule=datamodule, ckpt_path=best or None, verbose=verbose, weights_only=True
    )
    return best or None


def _fold_loggers(loggers: Any, target: FoldTarget) -> list[Namespace]:
    """The configured loggers, each writing into the fold's folder; CSV when none is set."""
    if loggers is None or loggers is True:
        loggers = [Namespace(class_path=_DEFAULT_LOGGER, init_args=Namespace())]
    elif loggers is False:
        loggers = []
    elif not isinstance(loggers, list):
        loggers = [loggers]
    out = []
    for entry in loggers:
        entry = entry.clone() if isinstance(entry, Namespace) else Namespace(entry)
        if entry.get("init_args") is None:
            entry.init_args = Namespace()
        entry.init_args.save_dir = str(target.folder)
        if entry.class_path.endswith("WandbLogger"):
            entry.init_args.group = target.group
            entry.init_args.name = f"{target.group}-{target.name}"
            entry.init_args.job_type = "fold"
            entry.init_args.tags = [*(entry.init_args.get("tags") or []), *target.tags]
        else:  # CSV, TensorBoard: the fold folder itself is the version folder
            entry.init_args.name = ""
            entry.init_args.version = ""
        out.append(entry)
    has_wandb = any(e.class_path.endswith("WandbLogger") for e in out)
    if target.wandb_project and not has_wandb:
        out.append(
            Namespace(
                class_path="mmfa.loggers.WandbLogger",
                init_args=Namespace(
                    project=target.wandb_project,
                    save_dir=str(target.folder),
                    group=target.group,
                    name=f"{target.group}-{target.name}",
                    job_type="fold",
                    tags=list(target.tags),
                ),
            )
        )
    return out


def wandb_key_available() -> bool:
    """Whether W&B could log in without asking: a key in the environment or in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return "api.wandb.ai" in netrc.read_text()
    except OSError:
        return False


def keep_wandb_noninteractive(wandb_configured: bool = True) -> None:
    """Never let W&B prompt for a key or hang: without one, log offline and say so.

    Only for a run that logs to W&B (``wandb_configured``); others say nothing. W&B's own console
    lines (banners, "sync this run", deprecations, with raw colour codes in log files) are
    silenced unless ``WANDB_SILENT`` is set: its files, and any exception, still say everything.
    """
    if not wandb_configured:
        return
    os.environ.setdefault("WANDB_SILENT", "true")
    if os.environ.get("WANDB_MODE") or wandb_key_available():
        return
    os.environ["WANDB_MODE"] = "offline"
    log.info(
        "no W&B API key found (WANDB_API_KEY or ~/.netrc): any W&B logging is offline; "
        "upload later with `wandb sync <save_dir>/wandb/offline-run-*`"
    )


def build_cli(
    args: list[str] | None = None,
    *,
    run: bool = True,
    fold_target: FoldTarget | None = None,
    data_only: bool = False,
    **kwargs: Any,
) -> MMFACLI:
    """Build (and with ``run=True`` run) the mmfa LightningCLI.

    Args:
        args: command-line arguments; None: ``sys.argv``.
        run: run the subcommand (``mmfa fit ...``); False: only parse and instantiate (cv).
        fold_target: for one fold of ``mmfa cv``: where its outputs go.
        data_only: with ``run=False``, build only the datamodule (no model, no trainer).
        **kwargs: passed to :class:`MMFACLI`.
    """
    setup_logging()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    load_plugins()
    return MMFACLI(
        EmotionTask,
        EmotionDataModule,
        parser_class=MMFAArgumentParser,  # one-line parse errors with "did you mean"
        subclass_mode_data=True,
        auto_configure_optimizers=False,
        save_config_callback=LoggerSaveConfigCallback,
        save_config_kwargs={"overwrite": True},
        # A config that names no logger gets one whose version_N concurrent runs cannot share;
        # a caller's trainer_defaults (e.g. extra callbacks) are kept beside it.
        trainer_defaults={
            "logger": lazy_instance(CSVLogger, save_dir=".", name="lightning_logs"),
            **TRAINER_DEFAULTS,
            **kwargs.pop("trainer_defaults", {}),
        },
        parser_kwargs={"parser_mode": "omegaconf", "prog": "mmfa"},
        args=args,
        run=run,
        fold_target=fold_target,
        data_only=data_only,
        **kwargs,
    )


def run_cli(args: list[str] | None = None, **kwargs: Any) -> MMFACLI:
    """Run ``mmfa <subcommand> ...`` through LightningCLI."""
    return build_cli(args, **kwargs)
