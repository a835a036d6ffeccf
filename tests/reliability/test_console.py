"""The console: mmfa's own errors print as one line (``mmfa: error: ...``, exit 2, item 9), and
commands print no noise (no W&B key note unless W&B logs, none of W&B's chatter or colour codes,
no accelerator lines or tips, no "dirpath has changed" on ``mmfa test``, the collapse warning as
one line without its source line).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

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


# --- What a user sees on the console: no noise (issue "Trust": console noise) -----------------

REPO = Path(__file__).resolve().parents[2]
SMALL = [
    "--data.init_args.num_speakers=6",
    "--data.init_args.utterances_per_speaker=12",
    "--trainer.max_epochs=1",
]
#: Lines no mmfa command may print (W&B's banners carry a "wandb:" prefix, coloured or not).
NOISE = (
    "no W&B API key",
    "GPU available",
    "TPU available",
    "HPU available",
    "Tip",
    "litlogger",
    "dirpath has changed",
    "wandb:",
    "\x1b[",  # raw colour codes (W&B's footer, written into log files)
)


def _console_env(tmp: Path, **extra: str) -> dict[str, str]:
    """A user's environment: no W&B key, no W&B settings; W&B's files under ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", NETRC=str(tmp / "no-netrc"))
    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        env[var] = str(tmp / "wandb-home")
    return {**env, **extra}


def _mmfa(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run ``python -m mmfa ARGS`` (a real console: pytest's capture would hide it)."""
    proc = subprocess.run(
        [sys.executable, "-m", "mmfa", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _noise(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(marker in line for marker in NOISE)]


def test_help_says_nothing_about_wandb(tmp_path: Path) -> None:
    text = _mmfa(["fit", "--help"], tmp_path, _console_env(tmp_path))
    assert "W&B" not in text.split("usage:")[0] and not _noise(text.split("usage:")[0])


def test_a_csv_fit_and_its_test_print_no_noise(tmp_path: Path) -> None:
    demo = ["--config", str(REPO / "configs/demo.yaml"), *SMALL]
    env = _console_env(tmp_path)
    # A one-line collapse warning is wanted here: every epoch counts as collapsed.
    collapse = ["--collapse_warning.patience=1", "--collapse_warning.share=0.01"]
    fit = _mmfa(["fit", *demo, *collapse], tmp_path, env)
    assert not _noise(fit), _noise(fit)
    warned = [line for line in fit.splitlines() if "validation predictions carry" in line]
    assert len(warned) == 1 and warned[0].startswith("WARNING mmfa.callbacks.collapse: ")
    assert "rank_zero_warn(" not in fit and "CollapsedPredictions" not in fit  # no source line
    best = tmp_path / "runs/demo/version_0/checkpoints/best.ckpt"
    test = _mmfa(["test", *demo, "--ckpt_path", str(best)], tmp_path, env)
    assert not _noise(test), _noise(test)
    assert "mmfa test: done. Run folder: runs/demo/version_1" in test


@pytest.mark.slow
def test_a_wandb_cv_prints_no_wandb_chatter(tmp_path: Path) -> None:
    """W&B offline (no key): one mmfa line saying so, nothing of W&B's own, no colour codes."""
    args = ["cv", "--config", str(REPO / "configs/demo.yaml")]
    args += ["--config", str(REPO / "configs/trainer/wandb_offline.yaml"), *SMALL]
    text = _mmfa([*args, "--folds", "pair1,pair2"], tmp_path, _console_env(tmp_path))
    lines = [line for line in text.splitlines() if line.strip()]
    key_notes = [line for line in lines if "no W&B API key" in line]
    assert len(key_notes) == 1  # said once, as mmfa's own line
    assert not _noise(text.replace(key_notes[0], "")), _noise(text)
    assert len(list((tmp_path / "runs/cv/synthetic-MMFAFusion/folds").glob("pair*/wandb"))) == 2
