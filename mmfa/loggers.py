"""Lightning's CSV logger, with run versions that concurrent runs cannot share.

Lightning picks ``version_N`` as one more than the highest ``version_*`` folder it sees; two runs
started together in one folder see the same folders, pick the same N, and interleave their
``metrics.csv``, checkpoints and ``config.yaml``. This subclass *reserves* the version with an
atomic ``mkdir``: only one process can create ``version_N``, the other moves on to N+1. Use it
in a config exactly like Lightning's own::

    trainer:
      logger:
        class_path: mmfa.loggers.CSVLogger
        init_args: {save_dir: runs, name: demo}
"""

from __future__ import annotations

import os
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger as _LightningCSVLogger
from lightning.pytorch.utilities.rank_zero import rank_zero_only

__all__ = ["CSVLogger", "reserve_version"]


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
