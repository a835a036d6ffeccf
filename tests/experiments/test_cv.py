"""`mmfa cv` end to end on the synthetic corpus: report, resumability, numbers recomputable."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, fbeta_score

from mmfa.cli import main

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


def read_predictions(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    target = np.array([int(r["target"]) for r in rows])
    scores = np.array([[float(v) for k, v in r.items() if k.startswith("score_")] for r in rows])
    return target, scores


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cv") / "run"
    main([*ARGS, "--out", str(out)])
    return out


def test_report_and_plots_written(run_dir: Path) -> None:
    folds = sorted(p.name for p in (run_dir / "folds").iterdir())
    assert folds == ["pair1", "pair2", "pair3"]
    for name in (
        "report.md",
        "report.json",
        "per_fold.csv",
        "per_class.csv",
        "confusion_matrix.png",
        "roc_curves.png",
    ):
        assert (run_dir / "report" / name).stat().st_size > 0, name
    run = json.loads((run_dir / "run.json").read_text())
    assert run["provenance"]["versions"]["torch"]
    fold = json.loads((run_dir / "folds/pair1/fold.json").read_text())
    assert len(fold["fold_manifest_sha256"]) == 64 and fold["checkpoint"].endswith(".ckpt")


def test_report_numbers_recompute_with_sklearn(run_dir: Path) -> None:
    report = json.loads((run_dir / "report" / "report.json").read_text())
    per_fold = {row["fold"]: row for row in report["per_fold"]}
    accs = []
    for fold in ("pair1", "pair2", "pair3"):
        target, scores = read_predictions(run_dir / "folds" / fold / "predictions.csv")
        pred = scores.argmax(1)
        assert per_fold[fold]["ACC"] == pytest.approx(accuracy_score(target, pred))
        assert per_fold[fold]["ACC_B"] == pytest.approx(balanced_accuracy_score(target, pred))
        assert per_fold[fold]["Fbeta"] == pytest.approx(
            fbeta_score(target, pred, beta=0.5, average="weighted", zero_division=0)
        )
        accs.append(accuracy_score(target, pred))
        # The torchmetrics number logged during the run agrees with scikit-learn too.
        with (run_dir / "folds" / fold / "metrics.csv").open() as handle:
            logged = [r for r in csv.DictReader(handle) if r.get("test/WA")]
        assert float(logged[-1]["test/WA"]) == pytest.approx(accs[-1], abs=1e-6)
    assert report["mean"]["ACC"] == pytest.approx(np.mean(accs))
    assert report["std"]["ACC"] == pytest.approx(np.std(accs))


def test_resume_runs_only_missing_folds(run_dir: Path) -> None:
    kept = (run_dir / "folds/pair1/predictions.csv").stat().st_mtime_ns
    (run_dir / "folds/pair2/fold.json").unlink()  # as if interrupted during pair2
    before = (run_dir / "folds/pair2/predictions.csv").stat().st_mtime_ns
    main([*ARGS, "--out", str(run_dir)])
    assert (run_dir / "folds/pair1/predictions.csv").stat().st_mtime_ns == kept
    assert (run_dir / "folds/pair2/fold.json").exists()
    assert (run_dir / "folds/pair2/predictions.csv").stat().st_mtime_ns > before
    assert len(list((run_dir / "interrupted").iterdir())) == 1  # partial files kept aside


def test_wandb_offline_run_holds_config_metrics_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "wandb_run"
    main([*ARGS, "--folds", "pair1", "--wandb", "--out", str(out)])
    fold_runs = list((out / "folds/pair1/wandb").glob("offline-run-*"))
    assert len(fold_runs) == 1
    # Offline runs keep config and history in the run's .wandb log (uploaded by `wandb sync`).
    history = b"".join(p.read_bytes() for p in fold_runs[0].glob("*.wandb"))
    assert b"SyntheticDataModule" in history  # the full resolved config
    assert b"test/UA" in history and b"val/UA" in history  # the metrics
    summary_runs = list((out / "wandb").glob("offline-run-*"))
    assert len(summary_runs) == 1
    images = list((summary_runs[0] / "files" / "media" / "images").rglob("*.png"))
    assert len(images) >= 2, "confusion matrix and ROC plots should be logged"
