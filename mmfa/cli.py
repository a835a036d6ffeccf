"""``mmfa``: the command line. Thin on purpose.

``mmfa --version``, ``mmfa --help`` and ``mmfa plugins`` answer without importing torch or
Lightning. mmfa's own commands are listed in :mod:`mmfa.commands` and imported only when run;
``fit``, ``validate`` and ``test`` hand over to LightningCLI (:mod:`mmfa.lightning_cli`).
"""

from __future__ import annotations

import importlib
import sys

from mmfa import __version__
from mmfa.commands import find, overview


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point.

    On the command line (``argv`` None) mmfa's own errors print as one line, ``mmfa: error:
    <message>``, exit status 2 (``MMFA_DEBUG=1``: the full traceback); called from Python with
    ``argv``, they are raised.
    """
    if argv is None:
        from mmfa.console import report_errors

        with report_errors():
            _main(None)
        return
    _main(argv)


def _main(argv: list[str] | None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] in (["--version"], ["-V"]):
        print(f"mmfa {__version__}")
        return
    if not args or args[:1] in (["-h"], ["--help"]):
        print(overview(__version__))  # answers at once: nothing heavy is imported
        return
    found = find(args)
    if found is not None:
        name, command = found
        module, _, function = command.run.partition(":")
        getattr(importlib.import_module(module), function)(args[len(name.split()) :])
        return
    from mmfa.lightning_cli import run_cli

    run_cli(argv)  # None: LightningCLI reads sys.argv itself


if __name__ == "__main__":
    main()
