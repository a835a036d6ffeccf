"""Item 9: mmfa's own errors print as one line (``mmfa: error: ...``, exit 2), no traceback."""

from __future__ import annotations

import io

import pytest

from mmfa.console import find_mmfa_error, report_errors
from mmfa.errors import BadInputError, ConfigError


def _wrapped() -> ValueError:
    """What jsonargparse raises when a datamodule's __init__ raises a ConfigError."""
    try:
        try:
            raise ConfigError("data.use_audio and data.use_text are both false: nothing to feed")
        except ConfigError as inner:
            raise ValueError("Problem with given class_path ...") from inner
    except ValueError as middle:
        try:
            raise ValueError("Does not validate against any of the Union subtypes") from middle
        except ValueError as outer:
            return outer


def test_one_line_and_exit_code_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MMFA_DEBUG", raising=False)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info, report_errors(out):
        raise BadInputError("u7", "unreadable", "cannot decode x.wav")
    assert exit_info.value.code == 2
    assert out.getvalue() == "mmfa: error: utterance 'u7': unreadable: cannot decode x.wav\n"


def test_the_parser_wrapping_is_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MMFA_DEBUG", raising=False)
    out = io.StringIO()
    with pytest.raises(SystemExit), report_errors(out):
        raise _wrapped()
    assert out.getvalue() == (
        "mmfa: error: data.use_audio and data.use_text are both false: nothing to feed\n"
    )


def test_a_parser_exit_over_an_mmfa_error_is_reported_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MMFA_DEBUG", raising=False)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info, report_errors(out):
        try:
            raise _wrapped()
        except ValueError:
            raise SystemExit(2) from None  # noqa: B904 - argparse's error() exits like this
    # `from None` keeps __context__: the chain still leads to the ConfigError
    assert exit_info.value.code == 2 and out.getvalue().startswith("mmfa: error: data.use_audio")


def test_debug_keeps_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMFA_DEBUG", "1")
    with pytest.raises(ValueError, match="Union subtypes"), report_errors(io.StringIO()):
        raise _wrapped()


def test_bugs_keep_their_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MMFA_DEBUG", raising=False)
    with pytest.raises(ZeroDivisionError), report_errors(io.StringIO()):
        _ = 1 / 0


def test_find_mmfa_error_survives_cycles() -> None:
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a
    assert find_mmfa_error(a) is None
    assert isinstance(find_mmfa_error(_wrapped()), ConfigError)
