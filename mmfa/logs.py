"""The console: mmfa's log lines once each, Lightning's own lines once, its sales tips never.

Lightning logs through its own handlers on the ``lightning.pytorch`` and ``lightning.fabric``
loggers. Configuring the root logger as well (``logging.basicConfig``) printed every Lightning
line twice, and a cross-validation builds one Trainer per fold, which repeats "GPU available",
"Seed set" and the tips once per fold. :func:`setup_logging` gives mmfa its own handler, leaves
the root alone, and filters repeats and tips out of every console handler it knows. Lines that
tell an mmfa user nothing (which accelerators exist, advertising) are dropped; mmfa's own warnings
(categories defined in ``mmfa``) print as one line like its log lines, without Python's echo of
the source line that raised them.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

#: Messages that never help an mmfa user (advertising, or advice that does not apply here).
_NOISE = (
    "💡 Tip",
    "litlogger",
    "litmodels",
    "`Trainer(limit_",  # a test/fast_dev_run setting echoed back
    # Which accelerators exist: mmfa picks the device (trainer.accelerator), errors say if not.
    "GPU available:",
    "TPU available:",
    "HPU available:",
)
#: Warnings Lightning raises for choices mmfa makes on purpose.
_IGNORED_WARNINGS = (
    # mmfa runs LightningCLI from Python by design (mmfa cv builds one per fold).
    r"LightningCLI's args parameter is intended to run from within Python",
    # Evaluation loaders are small and ordered on purpose; worker count is the user's choice.
    r".*does not have many workers which may be a bottleneck.*",
    # A logger's folder is reused on purpose when mmfa cv restarts an interrupted fold.
    r"Experiment logs directory .* exists and is not empty",
    r"Checkpoint directory .* exists and is not empty",
    # Tiny folds: a logging interval longer than an epoch is harmless.
    r"The number of training batches .* is smaller than the logging interval",
    # Lightning's own use of a torch API torch deprecated: nothing a user can act on.
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",
)


class _Quiet(logging.Filter):
    """Drop noise, and any message this process has already shown."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(marker in message for marker in _NOISE):
            return False
        key = (record.levelname, message)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


_FILTER = _Quiet()


def _one_line(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> str:
    """Format mmfa's warnings as ``WARNING <module>: <message>``, others as Python does."""
    if category.__module__.split(".")[0] == "mmfa":
        return f"WARNING {category.__module__}: {message}\n"
    return _python_format(message, category, *args, **kwargs)


_python_format = warnings.formatwarning


def setup_logging(level: int = logging.INFO) -> None:
    """Give the ``mmfa`` logger one console handler and quieten Lightning (idempotent)."""
    global _python_format
    for pattern in _IGNORED_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    if warnings.formatwarning is not _one_line:  # e.g. Lightning's format, kept for the rest
        _python_format, warnings.formatwarning = warnings.formatwarning, _one_line
    mmfa_log = logging.getLogger("mmfa")
    mmfa_log.setLevel(level)
    if not any(getattr(h, "_mmfa", False) for h in mmfa_log.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._mmfa = True  # type: ignore[attr-defined]
        handler.addFilter(_FILTER)
        mmfa_log.addHandler(handler)
        mmfa_log.propagate = False  # never twice through a root handler someone else set up
    for name in ("lightning.pytorch", "lightning.fabric"):
        for existing in logging.getLogger(name).handlers:
            if _FILTER not in existing.filters:
                existing.addFilter(_FILTER)


def expect_moved_checkpoint() -> None:
    """Hush Lightning's "dirpath has changed" for a checkpoint evaluated from another folder.

    ``mmfa test``/``validate`` load a checkpoint written by an earlier run, whose callback state
    names that run's folder; Lightning warns that the selection state (best score, top-k) will
    not be reloaded, which evaluation never uses. A resumed ``mmfa fit`` still warns.
    """
    warnings.filterwarnings("ignore", message=r"The dirpath has changed from .*")


def forget_shown() -> None:
    """Let every message be shown again (tests, or a new top-level command in one process)."""
    _FILTER.seen.clear()
