"""The documentation site builds strictly, and every ``mmfa ...`` command the docs show parses.

Commands are read from the fenced shell blocks of README.md and docs/**/*.md and checked without
running anything: LightningCLI subcommands (``fit``, ``test``, ``validate``) by parsing them with
the parser ``mmfa`` builds (what ``--print_config`` does before it prints); mmfa's own commands
(``cv``, ``predict``, ...) by running them up to the end of their option parsing, then parsing the
config overrides they pass on; ``ablate`` as the cv runs it would start; ``plugins`` and
``--version`` by running them. All in this one interpreter: each new one would import lightning
again (~9 s).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
# Every fenced block, in order (so that a closing fence is never taken for an opening one).
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
SHELL = {"", "bash", "sh", "shell", "console"}
# Words that stand for the reader's own things, and what to parse in their place. Paths need no
# entry: parsing never opens them.
PLACEHOLDERS = {
    "<meld dir>": "/data/MELD.Raw",
    "<out>": "/tmp/out",
}
# Class names that stand for the reader's own plugin: the example plugin stands in for them.
PLUGIN_PLACEHOLDERS = {"MyCorpusDataModule": "WavFolderDataModule"}
# Plugins a doc writes as an example, with options of their own: nothing installed stands in.
NOT_INSTALLED = {"GatedFusion": "docs/add_a_fusion.md's example fusion"}
EXAMPLE_PLUGIN = importlib.util.find_spec("mmfa_wav_folder") is not None
SHELL_OPERATORS = {">", ">>", "|", "&&", ";", "2>&1"}


@dataclass(frozen=True)
class DocCommand:
    """One ``mmfa`` command as a doc shows it, with where it is shown."""

    where: str
    args: tuple[str, ...]


def _mmfa_args(line: str) -> list[str] | None:
    """The arguments after ``mmfa`` on a shell line (None: the line runs no mmfa)."""
    for placeholder, value in PLACEHOLDERS.items():
        line = line.replace(placeholder, value)
    line = re.sub(r"\[(--[^\]]+)\]", r"\1", line)  # an optional flag, [--x=y]: check it too
    if not re.search(r"(^|[\s/])mmfa(\s|$)", line):
        return None
    words = shlex.split(line, comments=True)
    # `mmfa ...`, `.venv/bin/mmfa ...`, `srun mmfa ...`, `torchrun ... -m mmfa ...`
    starts = [i for i, w in enumerate(words) if w == "mmfa" or w.endswith("/mmfa")]
    if not starts:
        return None
    args = words[starts[0] + 1 :]
    ends = [i for i, w in enumerate(args) if w in SHELL_OPERATORS]
    return args[: ends[0]] if ends else args


def _quotes_closed(line: str) -> bool:
    try:
        shlex.split(line, comments=True)
    except ValueError:  # "No closing quotation"
        return False
    return True


def _shell_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """Each command of a shell block with its first line's index: a line ending in a backslash
    continues on the next, and so does a quoted string left open (the newline stays in it)."""
    k = 0
    while k < len(lines):
        start, line = k, lines[k]
        k += 1
        while k < len(lines) and (line.endswith("\\") or not _quotes_closed(line)):
            line = line[:-1] + " " + lines[k] if line.endswith("\\") else line + "\n" + lines[k]
            k += 1
        yield start, line


def documented_commands() -> list[DocCommand]:
    """Every distinct ``mmfa`` command in the docs' shell blocks, at its first appearance."""
    seen: dict[tuple[str, ...], DocCommand] = {}
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        for block in FENCE.finditer(text):
            if block.group(1) not in SHELL:
                continue
            first_line = text.count("\n", 0, block.start(2)) + 1
            for start, line in _shell_lines(block.group(2).split("\n")):
                args = _mmfa_args(line)
                if args is not None:
                    where = f"{path.relative_to(REPO)}:{first_line + start}"
                    seen.setdefault(tuple(args), DocCommand(where, tuple(args)))
    return list(seen.values())


COMMANDS = documented_commands()


def test_the_docs_show_commands_of_every_kind() -> None:
    """The extraction finds what it should (an empty list would pass every check below)."""
    kinds = {c.args[0] for c in COMMANDS if c.args}
    assert {"fit", "test", "predict", "cv", "ablate", "plugins", "--version"} <= kinds
    assert len(COMMANDS) > 30


class _Parsed(Exception):
    """Raised to hand a parser (or a parse's result) out of the code that made it."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


@pytest.fixture(scope="module")
def parsers() -> Iterator[dict[str, Any]]:
    """mmfa's LightningCLI parsers, built once by the one factory (``build_cli``)."""
    from mmfa.lightning_cli import MMFACLI, build_cli

    def hand_out(self: Any, parser: Any, args: Any) -> None:
        raise _Parsed(parser)

    built = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("WANDB_MODE", "offline")  # no "no W&B key" note in every failure message
        mp.chdir(REPO)  # the docs' config paths are relative to the repository
        with pytest.MonkeyPatch.context() as handing_out:
            handing_out.setattr(MMFACLI, "parse_arguments", hand_out)
            # run=True: with subcommands (`mmfa fit ...`); run=False: without, as cv builds it
            for name, run in (("subcommands", True), ("cv", False)):
                with pytest.raises(_Parsed) as handed:
                    build_cli([], run=run)
                built[name] = handed.value.value
        yield built


def _parse(parser: Any, args: list[str]) -> None:
    """Parse ``args`` like the command line would; a parse error fails with jsonargparse's text."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(args)
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            pytest.fail(f"mmfa {shlex.join(args)}\n{err.getvalue()[-1500:]}")


def _own_parse(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str]]:
    """Run ``mmfa <args>`` up to the end of its own option parsing, and stop there.

    The first parse a command makes (argparse or jsonargparse) returns here with its options and
    the arguments it left (config overrides) instead of going on to train or predict.
    """
    import argparse

    import jsonargparse

    from mmfa.cli import main

    depth = [0]

    def stop_after(original: Any) -> Any:
        def parse(self: Any, *a: Any, **k: Any) -> Any:
            depth[0] += 1
            try:
                result = original(self, *a, **k)
            finally:
                depth[0] -= 1
            if depth[0] == 0:  # the outermost parse is complete (nested ones are its parts)
                raise _Parsed(result if isinstance(result, tuple) else (result, []))
            return result

        return parse

    for cls in (argparse.ArgumentParser, jsonargparse.ArgumentParser):
        for name in ("parse_args", "parse_known_args"):
            monkeypatch.setattr(cls, name, stop_after(getattr(cls, name)))
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            main(args)
    except _Parsed as parsed:
        return parsed.value
    except SystemExit as exit_:  # --help exits 0; a parse error exits 2 with the reason
        if exit_.code not in (0, None):
            pytest.fail(f"mmfa {shlex.join(args)} (exit {exit_.code})\n{err.getvalue()[-1500:]}")
        return None, []
    finally:
        monkeypatch.undo()
    pytest.fail(f"mmfa {shlex.join(args)} parsed no options")


def _cv_argvs_of_ablate(args: list[str], monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The ``mmfa cv`` argument lists ``mmfa ablate`` would run, without running them."""
    from mmfa.experiments import ablate, cv, report

    calls: list[list[str]] = []

    def record(argv: list[str]) -> Path:
        calls.append(list(argv))
        return Path("unused")

    monkeypatch.setattr(cv, "cv_main", record)
    monkeypatch.setattr(report, "compare_runs", lambda *a, **k: "")
    with contextlib.redirect_stdout(io.StringIO()):
        ablate.ablate_main(args)
    monkeypatch.undo()
    assert calls, f"mmfa ablate {shlex.join(args)} runs no cross-validation"
    return calls


def _check(args: list[str], parsers: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Check that ``mmfa <args>`` parses, running nothing."""
    kind = args[0] if args else ""
    if kind in ("--version", "plugins"):  # cheap, and they parse nothing: run them
        from mmfa.cli import main

        with contextlib.redirect_stdout(io.StringIO()):
            main(args)
    elif kind in ("fit", "validate", "test"):
        _parse(parsers["subcommands"], args)
    elif kind == "ablate":  # its grid becomes overrides of each cv run
        for cv_args in _cv_argvs_of_ablate(args[1:], monkeypatch):
            _check(["cv", *cv_args], parsers, monkeypatch)
    else:  # mmfa's own commands (cv, predict, baseline, ...): their options, then the overrides
        options, overrides = _own_parse(args, monkeypatch)
        configs = getattr(options, "config", None) or []
        if overrides and not configs:
            pytest.fail(f"mmfa {shlex.join(args)}: unrecognized arguments {overrides}")
        if configs:  # configs and overrides go to build_cli(run=False), as cv and predict do
            _parse(parsers["cv"], [a for c in configs for a in ("--config", str(c))] + overrides)


@pytest.mark.parametrize("command", COMMANDS, ids=[c.where for c in COMMANDS])
def test_documented_command_parses(
    command: DocCommand, parsers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = [PLUGIN_PLACEHOLDERS.get(a, a) for a in command.args]
    for name, what in NOT_INSTALLED.items():
        if name in args:
            pytest.skip(f"{name} is {what}, not installed here")
    if "WavFolderDataModule" in args and not EXAMPLE_PLUGIN:
        pytest.skip("example plugin not installed: pip install -e examples/wav_folder_plugin")
    _check(args, parsers, monkeypatch)


@pytest.mark.parametrize(
    "line",
    [
        "fit --config configs/demo.yaml --model.no_such_key 1",
        "fit --config configs/no_such_config.yaml",
        "cv --config configs/demo.yaml --no-such-option",
        "cv --config configs/demo.yaml --data.no_such_key 1",
        "ablate --config configs/demo.yaml --grid model.no_such_key=1,2",
        "predict --ckpt_path x.ckpt --input a.wav --no_such_option",
        "predict --ckpt_path x.ckpt --config configs/demo.yaml --data.no_such_key 1",
        "no-such-command",
    ],
)
def test_a_command_that_does_not_parse_fails_the_check(
    line: str, parsers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(pytest.fail.Exception):
        _check(shlex.split(line), parsers, monkeypatch)


@pytest.mark.parametrize("line", ["cv --help", "predict --help", "fit --help"])
def test_help_passes_the_check(
    line: str, parsers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(shlex.split(line), parsers, monkeypatch)


def _nav_pages(entry: Any) -> Iterator[str]:
    """The pages of an mkdocs ``nav`` entry, in reading order."""
    if isinstance(entry, str):
        yield entry
    elif isinstance(entry, dict):
        for value in entry.values():
            yield from _nav_pages(value)
    elif isinstance(entry, list):
        for item in entry:
            yield from _nav_pages(item)


def test_site_navigation_follows_the_readme_table() -> None:
    """The pages of README.md's "where to go next" table come in the site's menu in its order."""
    import yaml

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Where to go next", 1)[1].split("\n## ", 1)[0]
    wanted = list(dict.fromkeys(re.findall(r"\]\(docs/([\w/]+\.md)\)", table)))
    nav = list(_nav_pages(yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]))
    assert wanted and all(page in nav for page in wanted), set(wanted) - set(nav)
    assert sorted(wanted, key=nav.index) == wanted


def test_site_builds_strictly(tmp_path: Path) -> None:
    """``mkdocs build --strict``: no broken link or anchor, no missing API reference."""
    if importlib.util.find_spec("mkdocs") is None:
        pytest.skip('mkdocs not installed: pip install -c constraints/cpu.txt -e ".[docs]"')
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner about MkDocs 2.0
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    api = (site / "api" / "datamodules.html").read_text(encoding="utf-8")
    assert 'id="mmfa.datamodules.base.EmotionDataModule"' in api
    experiments = (site / "experiments.html").read_text(encoding="utf-8")
    for png in re.findall(r"\]\((assets/[^)]+\.png)\)", (REPO / "docs/experiments.md").read_text()):
        assert (site / png).is_file() and png in experiments
    assert (site / "search" / "search_index.json").is_file()
