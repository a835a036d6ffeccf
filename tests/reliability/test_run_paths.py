"""Names from the data never become paths outside the run folder (issue: hostile fold names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmfa.errors import ConfigError
from mmfa.experiments.cv import _unit_name
from mmfa.experiments.run_config import inside, safe_name


@pytest.mark.parametrize(
    "hostile",
    ["../../../../victim", "/etc/passwd", "..", ".", "", "a/b\\c", "~root", "x\x00y", ".hidden"],
)
def test_fold_names_become_one_safe_folder_name(hostile: str, tmp_path: Path) -> None:
    name = _unit_name(hostile, 0, 1)
    assert name and "/" not in name and "\\" not in name and not name.startswith(".")
    folder = tmp_path / "run" / "folds" / name
    assert inside(tmp_path / "run" / "folds", folder) == folder
    assert folder.resolve().parent == (tmp_path / "run" / "folds").resolve()


def test_a_path_leaving_the_run_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="outside the run folder"):
        inside(tmp_path / "run", tmp_path / "run" / ".." / "victim")


def test_safe_names_keep_ordinary_fold_names() -> None:
    assert safe_name("Ses01F") == "Ses01F" and safe_name("pair1") == "pair1"
    assert safe_name("actors_01-02") == "actors_01-02"
