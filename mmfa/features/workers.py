"""Worker processes that never outlive the run that started them.

A ``kill -9`` of the parent leaves a process pool's workers blocked forever on their task queue
(each forked worker holds both ends of the queue's pipe, so it never sees end-of-file), hundreds
of megabytes each. :func:`exit_with_parent`, called first thing in a worker, makes it exit when
its parent dies: on Linux the kernel sends it SIGKILL (``prctl(PR_SET_PDEATHSIG)``); everywhere,
a watchdog thread notices the re-parenting within about half a second.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

__all__ = ["exit_with_parent"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_INTERVAL = 0.5
#: Off-switch for the Linux fast path (tests use it to exercise the portable watchdog alone).
USE_PRCTL = True


def exit_with_parent(parent_pid: int) -> None:
    """Make this process exit as soon as ``parent_pid`` (its parent) is gone.

    Args:
        parent_pid: ``os.getpid()`` of the parent, taken before the worker was started, so a
            parent that died before this call is noticed too.
    """
    if USE_PRCTL:
        _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)
    watchdog = threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="mmfa-parent-watchdog", daemon=True
    )
    watchdog.start()


def _set_parent_death_signal() -> None:
    """Linux: ask the kernel to SIGKILL this process when its parent thread exits."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no usable libc (e.g. a static build): the watchdog still covers it


def _watch_parent(parent_pid: int) -> None:
    # An orphan is re-parented (to init or a subreaper), so its parent pid changes.
    stop = threading.Event()
    while not stop.wait(WATCH_INTERVAL):
        if os.getppid() != parent_pid:
            os._exit(1)  # no cleanup to do: the results have nobody left to go to
