"""How mmfa's own errors reach the terminal: one line, ``mmfa: error: <message>``, exit code 2.

An :class:`~mmfa.errors.MMFAError` already says what is wrong and how to fix it; a traceback only
buries that. Errors raised while the CLI builds a datamodule arrive wrapped by jsonargparse
("Does not validate against any of the Union subtypes", with the message in a list and two
tracebacks): :func:`find_mmfa_error` digs the original out of the exception chain. Set
``MMFA_DEBUG=1`` to get the full traceback instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

from mmfa.errors import MMFAError

__all__ = ["EXIT_CODE", "debug_enabled", "find_mmfa_error", "format_error", "report_errors"]

#: Exit status for an mmfa error (argparse's status for a usage error, too).
EXIT_CODE = 2


def debug_enabled() -> bool:
    """Whether ``MMFA_DEBUG`` asks for full tracebacks (any value but empty, 0, false, no)."""
    return os.environ.get("MMFA_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def find_mmfa_error(exc: BaseException | None) -> MMFAError | None:
    """The first :class:`MMFAError` in ``exc`` or the chain of exceptions behind it.

    Follows ``__cause__`` (``raise ... from``) and ``__context__`` (raised while handling), which
    is how jsonargparse and Lightning keep the original error when they wrap it.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, MMFAError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def format_error(err: MMFAError) -> str:
    """``mmfa: error: <message>`` on one line per line of the message."""
    return f"mmfa: error: {err}"


@contextlib.contextmanager
def report_errors(stream: TextIO | None = None) -> Iterator[None]:
    """Turn an mmfa error raised inside the block into one message and ``SystemExit(2)``.

    Other exceptions (bugs) keep their traceback. A ``SystemExit`` whose chain holds an mmfa
    error (a parser that exited over it) is reported the same way. With ``MMFA_DEBUG=1`` nothing
    is caught.

    Args:
        stream: where the message goes (default: ``sys.stderr``).
    """
    try:
        yield
    except SystemExit as exc:
        err = find_mmfa_error(exc.__cause__ or exc.__context__)
        if err is None or debug_enabled() or exc.code in (0, None):
            raise
        print(format_error(err), file=stream or sys.stderr)
        raise SystemExit(EXIT_CODE) from None
    except Exception as exc:
        err = find_mmfa_error(exc)
        if err is None or debug_enabled():
            raise
        print(format_error(err), file=stream or sys.stderr)
        raise SystemExit(EXIT_CODE) from None
