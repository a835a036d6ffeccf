"""The RAVDESS benchmarks' own behaviour (not their numbers): skip without data, summaries,
results files that keep what another run wrote and name no path of the machine."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def benches() -> tuple[ModuleType, ModuleType, ModuleType]:
    sys.path.insert(0, str(REPO / "benchmarks"))  # as when run as `python benchmarks/x.py`
    try:
        import common
        import ravdess_fusions
        import ravdess_missing_modality
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return common, ravdess_fusions, ravdess_missing_modality


def test_skips_cleanly_without_the_actor_folders(
    benches: tuple[ModuleType, ModuleType, ModuleType],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, fusions, missing = benches
    for bench in (fusions, missing):
        monkeypatch.setattr(bench, "RESULT_FILE", tmp_path / "r.json")
        monkeypatch.setattr(
            sys, "argv", ["x", "--data", str(tmp_path), "--out", str(tmp_path / "o")]
        )
        bench.main()
        said = capsys.readouterr().out
        assert said.startswith("SKIP: RAVDESS") and "--data" in said
        assert not (tmp_path / "r.json").exists() and not (tmp_path / "o").exists()


def test_summary_counts_refusals_and_averages_the_rest(
    benches: tuple[ModuleType, ModuleType, ModuleType],
) -> None:
    missing = benches[2]
    refused = {"refused": "MMFAFusion needs audio and text"}
    folds = {
        "a-seed0": {"both": {"UA": 50.0, "WA": 50.0}, "audio_only": refused, "text_only": refused},
        "b-seed0": {"both": {"UA": 60.0, "WA": 70.0}, "audio_only": refused, "text_only": refused},
    }
    summary = missing.summarise(folds)
    assert summary["both"] == {"UA_mean": 55.0, "UA_std": 5.0, "WA_mean": 60.0, "units": 2}
    assert summary["audio_only"] == {"refused": 2} and summary["text_only"] == {"refused": 2}


def test_merge_keeps_rows_another_run_wrote_and_records_provenance(
    benches: tuple[ModuleType, ModuleType, ModuleType], tmp_path: Path
) -> None:
    common = benches[0]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"rows": {"old": {"UA_mean": 1.0}}, "machine": "x86_64, 2 cores"}))
    common.merge_results(path, {"practical/AudioOnly": {"UA_mean": 51.9}}, std="x")
    common.merge_results(path, {"faithful/AudioOnly": {"UA_mean": 30.1}}, std="x")
    results = json.loads(path.read_text())
    assert set(results["rows"]) == {"old", "practical/AudioOnly", "faithful/AudioOnly"}
    assert "machine" not in results  # superseded by the provenance of the latest run
    assert results["provenance"]["versions"]["mmfa"] and results["std"] == "x"


def test_results_record_commands_relative_to_the_repository(
    benches: tuple[ModuleType, ModuleType, ModuleType], tmp_path: Path
) -> None:
    common = benches[0]
    data = REPO.parent / "somewhere" / "ravdess"
    argv = ["/abs/benchmarks/bench_cache.py", "--root", str(data), f"--out={tmp_path / 'r.json'}"]
    recorded = shlex.split(common.command_line(argv))
    assert recorded[:4] == ["python", "benchmarks/bench_cache.py", "--root", "../somewhere/ravdess"]
    assert not any(os.path.isabs(a.partition("=")[2] or a) for a in recorded)
    common.write_result(tmp_path / "r.json", {"benchmark": "x", "command": " ".join(recorded)})
    written = json.loads((tmp_path / "r.json").read_text())
    assert set(written) == {"benchmark", "command", "date", "provenance"}


def test_commands_are_the_ones_the_docs_print(
    benches: tuple[ModuleType, ModuleType, ModuleType],
) -> None:
    _, fusions, missing = benches
    command = missing.command("/path/to/ravdess", "runs/x", 0.3, "0,1,2")
    assert "--model.modality_dropout=0.3" in command and "audio_path=true" in " ".join(command)
    assert fusions.command("practical/AudioOnly", "/path/to/ravdess", "runs/x")[:2] == [
        "mmfa",
        "cv",
    ]


def test_speaker_information_skips_without_data_and_standardises_per_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import ravdess_speaker_information as bench
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    out = tmp_path / "r.json"
    monkeypatch.setattr(sys, "argv", ["x", "--data", str(tmp_path), "--out", str(out)])
    assert bench.main() == 0
    assert capsys.readouterr().out.startswith("SKIP: RAVDESS") and not out.exists()
    import numpy as np

    x = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 0.0], [7.0, 2.0]])
    groups = np.array([0, 0, 1, 1])
    done = bench.standardised(x, groups)
    for g in (0, 1):
        assert np.allclose(done[groups == g].mean(0), 0.0)
        assert np.allclose(done[groups == g].std(0), 1.0, atol=1e-6)
