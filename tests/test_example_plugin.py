"""The example third-party plugin (examples/wav_folder_plugin), installed from its own folder.

CI installs it (`.ci/run`); this test then checks that mmfa lists it and trains on it through the
real CLI, with no change in mmfa.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmfa.cli import main
from mmfa.testing.contracts import DataModuleContract
from mmfa.testing.media import tone, write_wav

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mmfa_wav_folder") is None,
    reason="example plugin not installed: pip install -e examples/wav_folder_plugin",
)


def write_wav_folder(root: Path) -> Path:
    """Four speakers, three labels, 44.1 kHz stereo wavs (mmfa resamples and downmixes)."""
    rows = []
    words = {"happy": "great lovely day", "sad": "so tired and alone", "angry": "stop it now"}
    for s, speaker in enumerate(["ann", "bob", "cat", "dan"]):
        for i, label in enumerate(["happy", "sad", "angry"] * 3):
            signal = tone(0.6 + 0.1 * i, sample_rate=44100, freq=150 + 40 * i, seed=s * 10 + i)
            path = Path("audio") / f"{speaker}_{i}.wav"
            write_wav(root / path, np.stack([signal, signal * 0.5], axis=1), sample_rate=44100)
            rows.append(
                {
                    "path": str(path),
                    "transcript": f"{words[label]} {i}",
                    "label": label,
                    "speaker": speaker,
                }
            )
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "transcript", "label", "speaker"])
        writer.writeheader()
        writer.writerows(rows)
    return root


class TestWavFolderContract(DataModuleContract):
    """The example plugin passes the checks every built-in datamodule passes."""

    @pytest.fixture
    def datamodule(self, tmp_path: Path) -> Any:
        from mmfa_wav_folder import WavFolderDataModule

        root = write_wav_folder(tmp_path / "corpus")
        return WavFolderDataModule(root=str(root), batch_size=4, fold="bob")


def test_listed_by_mmfa(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plugins"])
    out = capsys.readouterr().out
    assert "wav-folder" in out and "mmfa-wav-folder" in out


def test_trains_through_the_real_cli(tmp_path: Path) -> None:
    from mmfa.lightning_cli import run_cli

    root = write_wav_folder(tmp_path / "corpus")
    cli = run_cli(
        [
            "fit",
            "--config",
            str(REPO / "configs/demo.yaml"),
            "--data",
            "WavFolderDataModule",
            f"--data.root={root}",
            "--data.batch_size=4",
            "--data.fold=bob",
            "--trainer.max_epochs=2",
            "--trainer.logger=false",
            f"--trainer.default_root_dir={tmp_path}",
        ]
    )
    dm = cli.datamodule
    assert type(dm).__name__ == "WavFolderDataModule"
    assert dm.class_names == ("angry", "happy", "sad")
    assert {dm.utterances[r.index].speaker for r in dm.refs["test"]} == {"bob"}
    assert cli.model.hparams["num_outputs"] == 3
    assert "test/UA" in cli.trainer.callback_metrics


def _labels_csv(root: Path, labels: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "transcript", "label", "speaker"])
        writer.writerows(
            [f"a{i}.wav", "words", label, f"s{i % 2}"] for i, label in enumerate(labels)
        )
    return root


@pytest.mark.parametrize(
    "labels",
    [
        ["happy", "happy", "hapy"],
        ["sad", "happy", "happy", "sad", "hapy"],
        ["happy"] * 11 + ["hapy"],
    ],
)
def test_a_label_seen_once_beside_others_is_named_whatever_the_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, labels: list[str]
) -> None:
    from mmfa_wav_folder import WavFolderDataModule

    with caplog.at_level("WARNING"):
        WavFolderDataModule(root=str(_labels_csv(tmp_path, labels)))
    warned = [r.getMessage() for r in caplog.records if "occur only once" in r.getMessage()]
    assert len(warned) == 1 and "['hapy']" in warned[0]


def test_no_typo_warning_when_every_label_is_seen_once_or_classes_are_listed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from mmfa_wav_folder import WavFolderDataModule

    with caplog.at_level("WARNING"):
        WavFolderDataModule(root=str(_labels_csv(tmp_path / "a", ["happy", "sad"])))
        listed = _labels_csv(tmp_path / "b", ["happy", "happy", "sad"])
        WavFolderDataModule(root=str(listed), classes=["happy", "sad"])
    assert not [r for r in caplog.records if "occur only once" in r.getMessage()]
