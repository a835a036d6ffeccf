"""How many intra-op threads torch should use in this process, given the cores and the processes.

torch's default is one thread per core in *every* process. mmfa often runs several processes at
once (DDP ranks, DataLoader workers, audio extraction workers, or a second run), and OpenMP
threads spin while they wait, so they starve each other: on a busy 2-core machine one training
epoch of the MMFA-RNN took 93 s with the default against 2-4 s with one thread per process
(docs/performance.md). :func:`configure_threads` gives each process its share of the cores.

Precedence, first that applies: ``$MMFA_THREADS``; the ``threads`` argument (from a config);
``$OMP_NUM_THREADS`` when the user set it (respected, not overridden); otherwise
``max(1, min(cores // processes, cores - load))``, where ``load`` is the machine's one-minute
load average when mmfa starts (other users' and other runs' work; mmfa's own start-up counts
about one), so a busy shared machine gets fewer threads. For the MMFA-RNN's small GRUs fewer
threads cost nothing on an idle machine (docs/performance.md), so erring low is safe.
"""

from __future__ import annotations

import logging
import os

__all__ = ["ENV_VAR", "configure_threads", "default_threads", "usable_cores"]

ENV_VAR = "MMFA_THREADS"

log = logging.getLogger(__name__)


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
    load: float = 0.0,
) -> int:
    """Threads per process so that all of a run's processes together use each core once.

    Args:
        ranks: Training processes on this machine (DDP ranks; 1 without DDP).
        dataloader_workers: DataLoader worker processes per rank (``data.num_workers``).
        extract_workers: Audio extraction processes running beside training (usually 0: the
            pool ends before training starts).
        cores: Usable cores (default: :func:`usable_cores`).
        load: Cores already busy (the load average); they are left alone.

    Returns:
        ``max(1, min(cores // processes, cores - round(load)))`` with ``processes = ranks *
        (1 + dataloader_workers) + extract_workers``.
    """
    processes = max(1, ranks) * (1 + max(0, dataloader_workers)) + max(0, extract_workers)
    total = cores or usable_cores()
    return max(1, min(total // processes, total - round(load)))


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
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        chosen = default_threads(
            ranks=ranks,
            dataloader_workers=dataloader_workers,
            extract_workers=extract_workers,
            load=load,
        )
        why = f"{usable_cores()} cores, load {load:.1f}, {ranks} x (1 + {dataloader_workers}) procs"
    if torch.get_num_threads() != chosen:
        torch.set_num_threads(chosen)
    log.info("torch intra-op threads: %d (%s)", chosen, why)
    return chosen
