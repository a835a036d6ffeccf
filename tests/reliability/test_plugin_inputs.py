"""Items 6 and 9 on the example plugin: one id per file, Latin-1 CSV named, no test split caught."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from mmfa.errors import ConfigError, MMFAError
from mmfa.testing.media import tone, write_wav

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mmfa_wav_folder") is None,
    reason="example plugin not installed: pip install -e examples/wav_folder_plugin",
)
FIELDS = ["path", "transcript", "label", "speaker", "split"]


def _write_csv(root: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with (root / "labels.csv").open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return root


def _row(path: str, label: str = "happy", speaker: str = "ann", split: str = "train") -> dict:
    return {"path": path, "transcript": "a few words", "label": label, "speaker": speaker,
            "split": split}  # fmt: skip


def test_files_differing_only_in_extension_get_distinct_ids(tmp_path: Path) -> None:
    from mmfa_wav_folder import WavFolderDataModule

    rows = [_row("clips/x.mp3"), _row("clips/x.mp4", "sad"), _row("clips/y.wav", "sad")]
    dm = WavFolderDataModule(root=str(_write_csv(tmp_path, rows)), cache_dir=str(tmp_path))
    ids = [u.id for u in dm.load_manifest()]
    assert ids == ["clips/x.mp3", "clips/x.mp4", "clips/y"]


def test_latin1_csv_error_names_the_file(tmp_path: Path) -> None:
    from mmfa_wav_folder import WavFolderDataModule

    root = _write_csv(tmp_path, [_row("a.wav"), _row("b.wav", "sad")], encoding="latin-1")
    text = (root / "labels.csv").read_text(encoding="latin-1").replace("a few", "café, a few")
    (root / "labels.csv").write_text(text, encoding="latin-1")
    with pytest.raises(ConfigError, match=rf"{root / 'labels.csv'} is not UTF-8"):
        WavFolderDataModule(root=str(root))


def test_fit_without_a_test_split_stops_before_training(tmp_path: Path) -> None:
    from mmfa.lightning_cli import run_cli

    rows = []
    for i in range(6):
        path = f"audio/u{i}.wav"
        write_wav(tmp_path / "corpus" / path, tone(0.6, freq=150 + 30 * i, seed=i))
        rows.append(_row(path, ("happy", "sad")[i % 2], f"s{i}", "val" if i >= 4 else "train"))
    root = _write_csv(tmp_path / "corpus", rows)
    with pytest.raises(MMFAError, match=r"WavFolderDataModule: the test split is empty"):
        run_cli(
            [
                "fit",
                "--config",
                str(REPO / "configs/demo.yaml"),
                "--data",
                "WavFolderDataModule",
                f"--data.root={root}",
                "--data.batch_size=2",
                f"--data.cache_dir={tmp_path / 'cache'}",
                "--trainer.max_epochs=1",
                "--trainer.logger=false",
                f"--trainer.default_root_dir={tmp_path / 'runs'}",
            ]
        )
    assert not list((tmp_path / "runs").rglob("*.ckpt"))  # nothing was trained


def test_a_label_seen_once_is_flagged_as_a_likely_typo(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from mmfa_wav_folder import WavFolderDataModule

    rows = [_row(f"u{i}.wav", ("happy", "sad")[i % 2]) for i in range(10)]
    rows.append(_row("typo.wav", "sda"))
    with caplog.at_level("WARNING"):
        dm = WavFolderDataModule(root=str(_write_csv(tmp_path, rows)))
    assert "['sda'] occur only once" in caplog.text and "data.classes" in caplog.text
    assert dm.class_names == ("happy", "sad", "sda")  # still the user's call, but not silent
