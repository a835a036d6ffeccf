"""Items 6 and 9: bad manifests and splits stop at setup with one message naming ids and the fix."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mmfa.errors import ConfigError, MMFAError

from .conftest import ListCorpus, split_corpus

OK = {"train": 4, "val": 2, "test": 2}


def _dm(tmp_path: Path, utts: list, **kwargs):  # noqa: ANN001, ANN003, ANN202
    return ListCorpus.make(utts, tmp_path / "cache", **kwargs)


def test_a_good_corpus_passes(tmp_path: Path) -> None:
    dm = _dm(tmp_path, split_corpus(tmp_path / "d", OK), batch_size=2)
    dm.setup("fit")
    assert {s: len(r) for s, r in dm.refs.items()} == OK


def test_duplicate_ids_are_listed(tmp_path: Path) -> None:
    utts = split_corpus(tmp_path / "d", OK)
    utts[5] = dataclasses.replace(utts[5], id="u1")
    utts[6] = dataclasses.replace(utts[6], id="u2")
    with pytest.raises(MMFAError, match=r"2 utterance ids occur more than once: 'u1', 'u2'"):
        _dm(tmp_path, utts).setup("fit")


def test_label_outside_the_declared_classes_names_id_and_value(tmp_path: Path) -> None:
    utts = split_corpus(tmp_path / "d", OK)
    utts[3] = dataclasses.replace(utts[3], label=2)  # a third class nobody declared
    with pytest.raises(MMFAError, match=r"0\.\.1 for \['a', 'b'\]\), e\.g\. 'u3' with label 2"):
        _dm(tmp_path, utts).setup("fit")


def test_one_class_corpus_is_refused_before_torchmetrics(tmp_path: Path) -> None:
    utts = [dataclasses.replace(u, label=0) for u in split_corpus(tmp_path / "d", OK)]
    with pytest.raises(MMFAError, match="needs at least two"):
        _dm(tmp_path, utts, class_names=("a",)).setup("fit")


@pytest.mark.parametrize("where", ["manifest", "split_of"])
def test_split_dev_suggests_val(tmp_path: Path, where: str) -> None:
    utts = split_corpus(tmp_path / "d", OK)
    if where == "manifest":
        utts = [dataclasses.replace(u, split="dev" if u.split == "val" else u.split) for u in utts]
        dm = _dm(tmp_path, utts)
    else:
        dm = _dm(tmp_path, utts, split_of=lambda u: "dev" if u.split == "val" else u.split)
    with pytest.raises(MMFAError, match=r"split 'dev'.*use 'val'"):
        dm.setup("fit")


def test_empty_test_split_fails_at_fit_setup_naming_the_fix(tmp_path: Path) -> None:
    dm = _dm(tmp_path, split_corpus(tmp_path / "d", {"train": 4, "val": 2}), batch_size=2)
    with pytest.raises(MMFAError, match=r"test split is empty.*test_after_fit"):
        dm.setup("fit")
    dm.test_after_fit = False  # fit alone needs train and val only
    dm.setup("fit")


@pytest.mark.parametrize("stage,missing", [("fit", "val"), ("validate", "val"), ("test", "test")])
def test_each_stage_needs_its_splits(tmp_path: Path, stage: str, missing: str) -> None:
    sizes = {s: n for s, n in OK.items() if s != missing}
    dm = _dm(tmp_path, split_corpus(tmp_path / "d", sizes), batch_size=2)
    with pytest.raises(MMFAError, match=rf"the {missing} split is empty"):
        dm.setup(stage)


def test_batch_size_one_names_the_key(tmp_path: Path) -> None:
    dm = _dm(tmp_path, split_corpus(tmp_path / "d", OK), batch_size=1)
    with pytest.raises(ConfigError, match=r"data\.batch_size=1.*BatchNorm"):
        dm.setup("fit")
    dm.setup("test")  # evaluation in batches of one is fine


def test_one_utterance_train_split(tmp_path: Path) -> None:
    dm = _dm(tmp_path, split_corpus(tmp_path / "d", {"train": 1, "val": 2, "test": 2}))
    with pytest.raises(MMFAError, match="train split has 1 usable utterance"):
        dm.setup("fit")
