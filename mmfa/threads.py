"""How many intra-op threads torch should use in this process, given the cores and the processes.

torch's default is one thread per core in *every* process. mmfa often runs several processes at
once (DDP ranks, DataLoader workers, audio extraction workers), and OpenMP threads spin while they
wait, so they starve each other: on a busy 2-core machine one training epoch of the MMFA-RNN took
93 s with the default against 2-4 s with one thread per process (docs/performance.md).
:func:`configure_threads` gives each of a run's processes its share of the cores.

Precedence, first that applies: ``$MMFA_THREADS``; the ``threads`` argument (from a config);
``$OMP_NUM_THREADS`` when the user set it (respected, not overridden); otherwise
``max(1, cores // processes)``. Only what the run itself knows decides the count, never the
machine's load: the thread count changes the order of float reductions, hence the last digits of
every trained number, and a result must not depend on what else ran on the machine that minute.
Work started by others is the user's to share out with ``$MMFA_THREADS``.

The choice and its reason are kept (:func:`thread_choice`) so that a run can record them.
"""

from __future__ import annotations

import logging
import os

__all__ = ["ENV_VAR", "configure_threads", "default_threads", "thread_choice", "usable_cores"]

ENV_VAR = "MMFA_THREADS"

log = logging.getLogger(__name__)

_choice: dict[str, int | str] = {}


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS has one, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def default_threads(
    *,
    ranks: int = 1,
    dataloader_workers: int = 0,
    extract_workers: int = 0,
    cores: int | None = None,
) -> int:
    """Threads per process so that all of a run's processes together use each core once.

    Args:
        ranks: Training processes on this machine (DDP ranks; 1 without DDP).
        dataloader_workers: DataLoader worker processes per rank (``data.num_workers``).
        extract_workers: Audio extraction processes running beside training (usually 0: the
            pool ends before training starts).
        cores: Usable cores (default: :func:`usable_cores`).

    Returns:
        ``max(1, cores // processes)`` with ``processes = ranks * (1 + dataloader_workers) +
        extract_workers``.
    """
    processes = max(1, ranks) * (1 + max(0, dataloader_workers)) + max(0, extract_workers)
    return max(1, (cores or usable_cores()) // processes)


def _positive_int(value: str, source: str) -> int:
    from mmfa.errors import ConfigError

    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigError(f"{source}={value!r}: must be a whole number of threads >= 1")
    return number


def configure_threads(
    threads: int | None = None,
    *,
    ranks: int = 1,
    dataloader_workers: int = 0,
    extract_workers: int = 0,
) -> int:
    """Set torch's intra-op threads for this process and return how many it now uses.

    Args:
        threads: Explicit count (e.g. from a config); ``$MMFA_THREADS`` still wins.
        ranks: DDP ranks on this machine.
        dataloader_workers: DataLoader workers per rank.
        extract_workers: Extraction processes running at the same time.

    Raises:
        ConfigError: ``$MMFA_THREADS`` or ``threads`` is not a whole number >= 1.
    """
    import torch

    if ENV_VAR in os.environ:
        chosen, why = _positive_int(os.environ[ENV_VAR], f"${ENV_VAR}"), f"${ENV_VAR}"
    elif threads is not None:
        chosen, why = _positive_int(str(threads), "threads"), "configured"
    elif "OMP_NUM_THREADS" in os.environ:
        chosen, why = torch.get_num_threads(), "$OMP_NUM_THREADS"  # the user's choice stands
    else:
        chosen = default_threads(
            ranks=ranks, dataloader_workers=dataloader_workers, extract_workers=extract_workers
        )
        why = (
            f"{usable_cores()} cores // ({ranks} ranks x (1 + {dataloader_workers} workers)"
            f" + {extract_workers} extract workers)"
        )
    if torch.get_num_threads() != chosen:
        torch.set_num_threads(chosen)
    _choice.clear()
    _choice.update(threads=chosen, source=why)
    log.info("torch intra-op threads: %d (%s)", chosen, why)
    return chosen


def thread_choice() -> dict[str, int | str]:
    """The last :func:`configure_threads` choice: ``{"threads": N, "source": why}``.

    Before any choice (a library caller that never configured threads) torch's own count, with
    ``source`` saying so.
    """
    if _choice:
        return dict(_choice)
    import torch

    return {"threads": torch.get_num_threads(), "source": "torch default (not configured)"}
