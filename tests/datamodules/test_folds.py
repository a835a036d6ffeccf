"""The fold API of EmotionDataModule: checked on first use, before any feature is extracted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mmfa.datamodules.base import EmotionDataModule
from mmfa.datamodules.synthetic import SyntheticDataModule
from mmfa.errors import ConfigError
from mmfa.manifest import Utterance


class LateAttributes(EmotionDataModule):
    """Sets what ``fold_names`` needs *after* ``super().__init__`` (once forbidden)."""

    def __init__(self, speakers: tuple[str, ...] = ("a", "b", "c"), **kwargs: Any) -> None:
        super().__init__(use_text=False, **kwargs)
        self.speakers = speakers
        self.manifest_reads = 0

    def load_manifest(self) -> list[Utterance]:
        self.manifest_reads += 1
        raise AssertionError("the fold must be checked before the manifest is read")

    def fold_names(self) -> list[str]:
        return list(self.speakers)


class OfficialSplit(EmotionDataModule):
    """A corpus with one official split: no folds."""

    def load_manifest(self) -> list[Utterance]:
        raise AssertionError("not reached")


def test_attributes_may_be_set_after_super_init(tmp_path: Path) -> None:
    dm = LateAttributes(fold="b", cache_dir=str(tmp_path))
    assert dm.fold == "b"
    assert LateAttributes(cache_dir=str(tmp_path)).fold == "a"  # None: the first fold


@pytest.mark.parametrize("hook", ["prepare_data", "setup"])
def test_bad_fold_fails_early_naming_key_and_choices(tmp_path: Path, hook: str) -> None:
    dm = LateAttributes(fold="zed", cache_dir=str(tmp_path))  # constructing does not check
    with pytest.raises(ConfigError, match=r"data\.fold='zed'.*choose one of \['a', 'b', 'c'\]"):
        getattr(dm, hook)()
    assert dm.manifest_reads == 0


def test_assigning_a_fold_checks_it_again(tmp_path: Path) -> None:
    dm = LateAttributes(fold="a", cache_dir=str(tmp_path))
    assert dm.fold == "a"
    dm.fold = "c"
    assert dm.fold == "c"
    dm.fold = "nope"
    with pytest.raises(ConfigError, match="data.fold='nope'"):
        _ = dm.fold


def test_official_split_refuses_a_fold(tmp_path: Path) -> None:
    assert OfficialSplit(use_text=False, cache_dir=str(tmp_path)).fold is None
    dm = OfficialSplit(fold="x", use_text=False, cache_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="data.fold='x'.*remove data.fold"):
        dm.prepare_data()


def test_synthetic_bad_fold_fails_before_generating(tmp_path: Path) -> None:
    dm = SyntheticDataModule(fold="pair9", num_speakers=6, cache_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"data\.fold='pair9'.*'pair1', 'pair2', 'pair3'"):
        dm.prepare_data()
    assert list(tmp_path.iterdir()) == []  # no corpus written, no feature extracted
