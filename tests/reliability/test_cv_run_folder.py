"""``mmfa cv`` failure cases of the "Trust" issue: what a resumed or shared run folder must refuse.

- the corpus changed under a finished fold (labels corrected, rows dropped): refused, not averaged;
- a run folder named with a character W&B refuses (``h24-MMFAFusion+path``) finishes, and a W&B
  failure after the report is a warning, never a failed run;
- two ``mmfa cv`` into one ``--out`` at once: the second is refused before it touches anything;
- fold names that collide once made safe (``x/y`` and ``x_y``) get two folders, never one skipped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmfa.cli import main
from mmfa.datamodules.synthetic import SyntheticDataModule
from mmfa.errors import ConfigError
from mmfa.experiments.cv import _unit_names
from mmfa.experiments.run_folder import lock_run_folder
from mmfa.experiments.wandb_summary import artifact_name

REPO = Path(__file__).resolve().parents[2]
ARGS = [
    "cv",
    "--config",
    str(REPO / "configs/demo.yaml"),
    "--trainer.max_epochs=1",
    "--trainer.enable_progress_bar=false",
    "--data.num_speakers=6",
    "--data.utterances_per_speaker=12",
    "--data.batch_size=8",
]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished fold (pair1), logged to W&B offline, in a folder whose name has a ``+``."""
    out = tmp_path_factory.mktemp("cv") / "h24-MMFAFusion+path"
    main([*ARGS, "--folds", "pair1", "--wandb", "--out", str(out)])  # died in W&B's naming
    return out


def test_a_folder_name_wandb_refuses_still_finishes(finished: Path) -> None:
    assert (finished / "report" / "report.md").is_file()
    assert list((finished / "wandb").glob("offline-run-*"))  # the summary run was written
    assert artifact_name("h24-MMFAFusion+path-report") == "h24-MMFAFusion_path-report"


def test_a_wandb_failure_after_the_report_is_a_warning(
    finished: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("W&B is down")

    monkeypatch.setattr("mmfa.experiments.wandb_summary.log_run_summary", broken)
    report = finished / "report" / "report.json"
    report.unlink()
    main([*ARGS, "--folds", "pair1", "--wandb", "--out", str(finished)])
    assert report.is_file()  # the finished fold was reused and the report rebuilt
    assert "W&B summary not logged (RuntimeError: W&B is down)" in caplog.text


def _changed_corpus(monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """The corpus as if edited after the first run: spk05's labels corrected, or spk06 dropped."""
    original = SyntheticDataModule.load_manifest

    def edited(self: SyntheticDataModule) -> list:  # type: ignore[type-arg]
        utts = original(self)
        if change == "labels":
            return [
                dataclasses.replace(u, label=(u.label + 1) % 4) if u.speaker == "spk05" else u
                for u in utts
            ]
        return [u for u in utts if not (u.speaker == "spk06" and u.id.endswith(("0", "1")))]

    monkeypatch.setattr(SyntheticDataModule, "load_manifest", edited)


@pytest.mark.parametrize(
    ("change", "message"), [("labels", "labels or speakers"), ("rows", "utterances")]
)
def test_a_changed_corpus_is_not_averaged_with_finished_folds(
    finished: Path, monkeypatch: pytest.MonkeyPatch, change: str, message: str
) -> None:
    _changed_corpus(monkeypatch, change)
    before = (finished / "run.json").read_text()
    with pytest.raises(ConfigError, match=rf"folds/pair1/fold.json: its {message} differ"):
        main([*ARGS, "--folds", "pair1,pair2", "--out", str(finished)])
    assert not (finished / "folds" / "pair2").exists()  # refused before training anything
    assert (finished / "run.json").read_text() == before
    fold = json.loads((finished / "folds/pair1/fold.json").read_text())
    assert len(fold["fold_data_sha256"]) == 64


def test_a_second_cv_into_a_busy_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with lock_run_folder(out):  # as a first `mmfa cv` holds it while it runs
        proc = subprocess.run(
            [sys.executable, "-m", "mmfa", *ARGS, "--out", str(out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"mmfa: error: {out} is being written by another `mmfa cv`"), last
    assert sorted(p.name for p in out.iterdir()) == [".cv.lock"]  # nothing else touched


def test_fold_names_that_collide_once_made_safe_get_their_own_folders() -> None:
    names = _unit_names([("x/y", 0), ("x_y", 0), ("pair1", 0)], 1)
    assert len(set(names)) == 3 and names[1:] == ["x_y", "pair1"]
    assert names[0].startswith("x_y-")
    with pytest.raises(ConfigError, match="'Pair1' and 'pair1' would share"):
        _unit_names([("Pair1", 0), ("pair1", 0)], 1)  # one folder on a case-blind disk


@pytest.mark.slow
def test_colliding_fold_names_are_all_trained_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = {"x/y": 0, "x_y": 1, "pair3": 2}
    monkeypatch.setattr(SyntheticDataModule, "fold_names", lambda self: list(pairs))

    def split_of(self: SyntheticDataModule, utt: object) -> str:
        pair, test = self._pair_of(utt.speaker), pairs[str(self.fold)]  # type: ignore[attr-defined]
        return "test" if pair == test else "val" if pair == (test + 1) % 3 else "train"

    monkeypatch.setattr(SyntheticDataModule, "split_of", split_of)
    out = tmp_path / "run"
    main([*ARGS, "--folds", "x/y,x_y", "--out", str(out)])
    report = json.loads((out / "report" / "report.json").read_text())
    assert len(report["per_fold"]) == 2  # before: x_y "already finished", 1 fold of 2 reported
    folds = {json.loads(p.read_text())["fold"] for p in (out / "folds").glob("*/fold.json")}
    assert folds == {"x/y", "x_y"}
