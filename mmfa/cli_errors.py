"""Command-line mistakes in one line, with the option that was probably meant.

LightningCLI (jsonargparse) answers a mistyped option with the whole usage (about 70 lines for
``mmfa fit``) and the error last. :class:`MMFAArgumentParser` keeps the exit status (2) and the
message, drops the usage, and adds "did you mean ...?" when a known option is close.
"""

from __future__ import annotations

import difflib
import re
import sys
from typing import Any, NoReturn

from lightning.pytorch.cli import LightningArgumentParser

#: Option-like words in a parser's error message: ``--model.lrr=1`` or ``Option 'tags'``.
_NAMES = re.compile(r"(--[\w.+-]+)|[Oo]ption '([\w.]+)'|[Kk]ey \"?'?([\w.]+)")


def suggestion(message: str, options: list[str]) -> str:
    """``"; did you mean --model.lr?"`` for the first unknown name in ``message`` (or ``""``)."""
    for match in _NAMES.finditer(message):
        name = next(group for group in match.groups() if group)
        dashed = name.split("=", 1)[0] if name.startswith("--") else f"--{name}"
        if dashed in options:
            continue
        close = difflib.get_close_matches(dashed, options, n=2, cutoff=0.75)
        if close:
            return f"; did you mean {' or '.join(close)}?"
    return ""


class MMFAArgumentParser(LightningArgumentParser):
    """LightningCLI's parser, with one-line errors (see the module docstring)."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        """Print ``<prog>: error: <message>; did you mean ...?`` and exit 2."""
        from jsonargparse._common import debug_mode_active

        if not self.exit_on_error or debug_mode_active():
            super().error(message, ex)  # raises: jsonargparse is trying alternatives
        parser: Any = getattr(ex, "subcommand_parser", None) or self
        prog = parser.prog.replace(" [options]", "")
        options = [o for o in parser._option_string_actions if o.startswith("--")]
        hint = suggestion(message, options)
        sys.stderr.write(f"{prog}: error: {message}{hint} ({prog} --help lists every option)\n")
        self.exit(2)
