"""Item 9: a CSV in the wrong encoding names the file (the readers of mmfa.corpora)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmfa.corpora.mosei import read_mosei_folds
from mmfa.errors import ConfigError


def test_latin1_mosei_label_table_names_the_file(tmp_path: Path) -> None:
    table = tmp_path / "CMU_MOSEI_Labels.csv"
    table.write_bytes("file,split,note\nvid1,0,caf\xe9\nvid2,2,ok\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=rf"{table} is not UTF-8"):
        read_mosei_folds(tmp_path)


def test_utf8_mosei_label_table_with_bom_is_read(tmp_path: Path) -> None:
    table = tmp_path / "CMU_MOSEI_Labels.csv"
    table.write_bytes("\ufefffile,split,note\nvid1,0,café\nvid2,2,ok\n".encode())
    assert read_mosei_folds(tmp_path) == {"vid1": "train", "vid2": "test"}
