"""mmfa's loggers: run versions concurrent runs cannot share, and one local folder per run.

Lightning picks ``version_N`` as one more than the highest ``version_*`` folder it sees; two runs
started together in one folder see the same folders, pick the same N, and interleave their
``metrics.csv``, checkpoints and ``config.yaml``. This subclass *reserves* the version with an
atomic ``mkdir``: only one process can create ``version_N``, the other moves on to N+1. Use it
in a config exactly like Lightning's own::

    trainer:
      logger:
        class_path: mmfa.loggers.CSVLogger
        init_args: {save_dir: runs, name: demo}

Lightning takes a run's folder (``trainer.log_dir``: ``config.yaml``, ``predictions.csv``, the
checkpoints) from the *first* logger, and a W&B logger's folder is its ``save_dir`` itself,
shared by every run. :func:`with_run_folder` therefore puts a CSV logger first whenever a config
names only loggers without a folder of their own (W&B): every ``mmfa fit``/``mmfa test`` gets
``runs/<corpus>-<fusion>/version_N`` with a local ``metrics.csv`` beside what goes to W&B.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jsonargparse import Namespace
from lightning.pytorch.loggers import CSVLogger as _LightningCSVLogger
from lightning.pytorch.loggers import WandbLogger as _LightningWandbLogger
from lightning.pytorch.utilities.rank_zero import rank_zero_only

__all__ = [
    "CSVLogger",
    "WandbLogger",
    "reserve_version",
    "run_name",
    "uses_wandb",
    "with_run_folder",
]

#: Loggers whose ``log_dir`` is a folder of the run's own (``<save_dir>/<name>/version_N``).
_FOLDER_LOGGERS = ("CSVLogger", "TensorBoardLogger")


def reserve_version(root: str | os.PathLike[str], start: int = 0) -> int:
    """Create ``root/version_N`` for the first free ``N >= start`` and return ``N``.

    ``os.mkdir`` either creates the folder or fails because it exists, atomically, also between
    processes, so no two callers ever get the same ``N``.

    Args:
        root: the folder that holds the ``version_*`` folders (created if needed).
        start: the first version to try (Lightning's guess: highest existing + 1).

    Returns:
        The reserved version number; its folder exists and is empty.
    """
    Path(root).mkdir(parents=True, exist_ok=True)
    version = start
    while True:
        try:
            os.mkdir(Path(root) / f"version_{version}")
        except FileExistsError:
            version += 1
            continue
        return version


class CSVLogger(_LightningCSVLogger):
    """:class:`lightning.pytorch.loggers.CSVLogger` whose ``version_N`` is reserved atomically."""

    def _get_next_version(self) -> int:
        guess = super()._get_next_version()
        # Other DDP ranks get rank 0's folder by broadcast; remote file systems keep
        # Lightning's listing (no atomic mkdir there).
        if getattr(rank_zero_only, "rank", 0) != 0 or "file" not in _protocols(self._fs):
            return guess
        return reserve_version(self.root_dir, guess)


def _protocols(fs: object) -> tuple[str, ...]:
    protocol = getattr(fs, "protocol", "file")
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


class WandbLogger(_LightningWandbLogger):
    """:class:`lightning.pytorch.loggers.WandbLogger` without W&B's warning about ``anonymous``.

    Lightning always passes ``anonymous=None`` to ``wandb.init``; W&B (0.19 on) warns on every
    run that the setting "has no effect", before any of its own quiet settings apply.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._wandb_init.get("anonymous", False) is None:
            del self._wandb_init["anonymous"]


def _class_name(entry: Any) -> str:
    class_path = entry.get("class_path") if isinstance(entry, (Namespace, dict)) else None
    return str(class_path or "").rsplit(".", 1)[-1]


def _entries(loggers: Any) -> list[Any] | None:
    """The configured logger entries, or None for a default/True/False/instance (left alone)."""
    if isinstance(loggers, Namespace):
        return [loggers]
    if isinstance(loggers, list) and all(isinstance(e, Namespace) for e in loggers):
        return list(loggers)
    return None


def uses_wandb(loggers: Any) -> bool:
    """Whether a ``trainer.logger`` config value names a W&B logger."""
    entries = _entries(loggers) or []
    return any(_class_name(e) == "WandbLogger" for e in entries)


def run_name(config: Any) -> str:
    """``<corpus>-<fusion>`` of a resolved config, e.g. ``ravdess-MMFAFusion``.

    The corpus is the datamodule's class without ``DataModule`` (``RAVDESSDataModule`` ->
    ``ravdess``), the fusion its class name; a missing one is left out (``run`` if both are).
    """
    data = _class_name(config.get("data")) if isinstance(config, Namespace) else ""
    model = config.get("model") if isinstance(config, Namespace) else None
    fusion = _class_name(model.get("fusion")) if isinstance(model, Namespace) else ""
    corpus = data.removesuffix("DataModule").lower()
    return "-".join(part for part in (corpus, fusion) if part) or "run"


def with_run_folder(loggers: Any, name: str) -> Any:
    """``trainer.logger`` with a logger that gives the run a folder of its own, first.

    A CSV or TensorBoard logger already configured is moved first (Lightning takes the run's
    folder from the first logger); when there is none (e.g. only W&B), an
    :class:`CSVLogger` writing ``<save_dir>/<name>/version_N`` is put first, ``save_dir`` being
    the first logger's (default ``runs``). Defaults, ``true``/``false`` and instances are
    returned unchanged.

    Args:
        loggers: the ``trainer.logger`` value of a parsed config.
        name: the folder under ``save_dir`` (see :func:`run_name`).
    """
    entries = _entries(loggers)
    if not entries:
        return loggers
    local = [e for e in entries if _class_name(e) in _FOLDER_LOGGERS]
    if local:
        if entries[0] is local[0]:
            return loggers
        return [local[0], *(e for e in entries if e is not local[0])]
    first_args = entries[0].get("init_args")
    save_dir = (first_args.get("save_dir") if isinstance(first_args, Namespace) else None) or "runs"
    csv = Namespace(
        class_path=f"{__name__}.CSVLogger", init_args=Namespace(save_dir=str(save_dir), name=name)
    )
    return [csv, *entries]
