"""`mmfa --help` answers at once; `mmfa completion` completes every command from its real parser."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmfa.commands import COMMANDS, LIGHTNING_COMMANDS


def test_top_level_help_lists_every_command_without_the_training_stack() -> None:
    code = (
        "import sys; from mmfa.cli import main; main(['--help']); "
        "print('lightning' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[-1] == "False False"
    for name in (*COMMANDS, *LIGHTNING_COMMANDS):
        assert any(line.strip().startswith(name) for line in lines), name


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mmfa.completion import completion_main

    path = tmp_path_factory.mktemp("completion") / "mmfa.bash"
    path.write_text(completion_main(["bash"]))
    return path


def _complete(script: Path, *words: str) -> list[str]:
    line = " ".join(f"'{w}'" for w in ("mmfa", *words))
    code = f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words)}; _shtab_mmfa; " + (
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run(["bash", "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_commands_and_their_options(bash_script: Path) -> None:
    assert "predict" in _complete(bash_script, "pre")
    assert _complete(bash_script, "predict", "--win") == ["--window"]
    assert _complete(bash_script, "data", "ch") == ["check"]
    assert "--trainer.max_epochs" in _complete(bash_script, "fit", "--trainer.max_e")
    assert "--folds" in _complete(bash_script, "cv", "--fo")
    top = _complete(bash_script, "")
    for name in (*COMMANDS, *LIGHTNING_COMMANDS):
        assert name.split()[0] in top, name


def test_zsh_script_is_generated() -> None:
    from mmfa.completion import completion_main

    assert completion_main(["zsh"]).startswith("#compdef mmfa")
