"""LightningCLI for mmfa: plugins loaded, data facts linked into the model, test after fit."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from mmfa.datamodules.base import EmotionDataModule
from mmfa.models.task import EmotionTask
from mmfa.plugins import load_plugins

log = logging.getLogger("mmfa")


class MMFACLI(LightningCLI):
    """LightningCLI with the datamodule's facts linked into the task.

    ``audio_dim``, ``text_dim``, ``num_outputs``, ``class_names`` and ``task_type`` come from the
    instantiated datamodule, so no config copies a number that the data already knows.
    """

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Links from data to model, and mmfa's own options."""
        for name in ("audio_dim", "text_dim", "num_outputs", "task_type"):
            parser.link_arguments(f"data.{name}", f"model.{name}", apply_on="instantiate")
        parser.link_arguments(
            "data.class_names", "model.class_names", compute_fn=list, apply_on="instantiate"
        )
        parser.add_argument(
            "--test_after_fit",
            type=bool,
            default=True,
            help="after fit, test the checkpoint that was best on validation",
        )

    def after_fit(self) -> None:
        """Test the validation-selected checkpoint (never the last one, never chosen on test)."""
        if not self.config[self.subcommand].get("test_after_fit", True):
            return
        if getattr(self.trainer, "fast_dev_run", False):
            self.trainer.test(self.model, datamodule=self.datamodule)
            return
        ckpt = self.trainer.checkpoint_callback
        best = getattr(ckpt, "best_model_path", "") if ckpt is not None else ""
        if not best:
            log.warning(
                "no validation-selected checkpoint (is a ModelCheckpoint monitoring a "
                "val/ metric configured?); testing the final weights"
            )
        self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best or None)


def wandb_key_available() -> bool:
    """Whether W&B could log in without asking: a key in the environment or in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return "api.wandb.ai" in netrc.read_text()
    except OSError:
        return False


def keep_wandb_noninteractive() -> None:
    """Never let W&B prompt for a key or hang: without one, log offline and say so."""
    if os.environ.get("WANDB_MODE") or wandb_key_available():
        return
    os.environ["WANDB_MODE"] = "offline"
    log.info(
        "no W&B API key found (WANDB_API_KEY or ~/.netrc): any W&B logging is offline; "
        "upload later with `wandb sync <save_dir>/wandb/offline-run-*`"
    )


def run_cli(args: list[str] | None = None, **kwargs: Any) -> MMFACLI:
    """Run ``mmfa <subcommand> ...`` through LightningCLI."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    keep_wandb_noninteractive()
    load_plugins()
    return MMFACLI(
        EmotionTask,
        EmotionDataModule,
        subclass_mode_data=True,
        auto_configure_optimizers=False,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"parser_mode": "omegaconf"},
        args=args,
        **kwargs,
    )
