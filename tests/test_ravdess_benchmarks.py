"""The RAVDESS benchmarks' own behaviour (not their numbers): skip without data, summaries,
results files that keep what another run wrote."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def benches() -> tuple[ModuleType, ModuleType]:
    sys.path.insert(0, str(REPO / "benchmarks"))  # as when run as `python benchmarks/x.py`
    try:
        import ravdess_fusions
        import ravdess_missing_modality
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return ravdess_fusions, ravdess_missing_modality


def test_skips_cleanly_without_the_actor_folders(
    benches: tuple[ModuleType, ModuleType],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, missing = benches
    monkeypatch.setattr(missing, "RESULTS", tmp_path / "r.json")
    monkeypatch.setattr(sys, "argv", ["x", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    missing.main()
    assert "RAVDESS not found" in capsys.readouterr().out
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "o").exists()


def test_summary_counts_refusals_and_averages_the_rest(
    benches: tuple[ModuleType, ModuleType],
) -> None:
    _, missing = benches
    refused = {"refused": "MMFAFusion needs audio and text"}
    folds = {
        "a-seed0": {"both": {"UA": 50.0, "WA": 50.0}, "audio_only": refused, "text_only": refused},
        "b-seed0": {"both": {"UA": 60.0, "WA": 70.0}, "audio_only": refused, "text_only": refused},
    }
    summary = missing.summarise(folds)
    assert summary["both"] == {"UA_mean": 55.0, "UA_std": 5.0, "WA_mean": 60.0, "units": 2}
    assert summary["audio_only"] == {"refused": 2} and summary["text_only"] == {"refused": 2}


def test_merge_keeps_rows_another_run_wrote(
    benches: tuple[ModuleType, ModuleType], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fusions, _ = benches
    monkeypatch.setattr(fusions, "REPO", tmp_path)
    path = tmp_path / "results.json"
    fusions.merge_results(path, {"practical/AudioOnly": {"UA_mean": 51.9}}, std="x")
    fusions.merge_results(path, {"faithful/AudioOnly": {"UA_mean": 30.1}}, std="x")
    rows = json.loads(path.read_text())["rows"]
    assert set(rows) == {"practical/AudioOnly", "faithful/AudioOnly"}


def test_commands_are_the_ones_the_docs_print(benches: tuple[ModuleType, ModuleType]) -> None:
    fusions, missing = benches
    command = missing.command("/path/to/ravdess", "runs/x", 0.3, "0,1,2")
    assert "--model.modality_dropout=0.3" in command and "audio_path=true" in " ".join(command)
    assert fusions.command("practical/AudioOnly", "/path/to/ravdess", "runs/x")[:2] == [
        "mmfa",
        "cv",
    ]
