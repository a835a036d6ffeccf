"""`mmfa fit` and `mmfa test` end with lines that say where everything is, and write cv's report."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmfa.cli import main
from mmfa.experiments.report import build_test_report
from mmfa.run_summary import RunSummary

REPO = Path(__file__).resolve().parents[1]
SMALL = [
    "--data.init_args.num_speakers=6",
    "--data.init_args.utterances_per_speaker=12",
    "--data.init_args.batch_size=8",
]


@pytest.fixture(scope="module")
def fit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A tiny `mmfa fit` of the demo on the command line: (save_dir, its stdout lines)."""
    root = tmp_path_factory.mktemp("fit")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable, "-m", "mmfa", "fit", "--config", str(REPO / "configs/demo.yaml"),
            "--trainer.max_epochs=2", f"--trainer.logger.init_args.save_dir={root}", *SMALL,
        ],
        capture_output=True, text=True, env=env, timeout=600, cwd=root,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, proc.stdout.strip().splitlines()


def _numbers(line: str) -> list[float]:
    """The metric values of a summary's test line (``... : ACC (WA) 37.50 | ...``)."""
    return [float(part.rsplit(" ", 1)[1]) for part in line.split(": ", 1)[1].split(" | ")]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_last_lines_name_folder_best_epoch_checkpoint_and_predictions(
    fit: tuple[Path, list[str]],
) -> None:
    root, lines = fit
    folder = root / "demo" / "version_0"
    last = lines[-6:]
    assert last[0] == f"mmfa fit: done. Run folder: {folder}"
    assert last[1].startswith("  best epoch ") and "(of 0-1), val/UA " in last[1]
    assert last[1].endswith(f"checkpoint {folder / 'checkpoints' / 'best.ckpt'}")
    assert last[2].startswith("  test, 24 utterances: ACC (WA) ")
    assert last[3] == f"  predictions: {folder / 'predictions.csv'}"
    assert last[4] == f"  skipped: none ({folder / 'skipped.csv'})"
    assert last[5].startswith(f"  report: {folder / 'report' / 'report.md'} (")
    assert (folder / "checkpoints" / "best.ckpt").is_file()
    # Lightning's 24-row test table is left out after fit: the summary is the headline.
    assert not any("Test metric" in line for line in lines)


def test_best_epoch_is_the_checkpoints(fit: tuple[Path, list[str]]) -> None:
    import torch

    root, lines = fit
    ckpt = torch.load(next(root.rglob("best.ckpt")), map_location="cpu", weights_only=True)
    assert lines[-5].startswith(f"  best epoch {ckpt['epoch']} (of 0-1), ")
    state = next(v for k, v in ckpt["callbacks"].items() if "ModelCheckpoint" in k)
    assert f", val/UA {100 * float(state['best_model_score']):.2f}, " in lines[-5]


def test_fit_writes_the_report_cv_writes_for_a_fold(fit: tuple[Path, list[str]]) -> None:
    root, lines = fit
    folder = root / "demo" / "version_0"
    for name in (
        "report.md",
        "report.json",
        "per_class.csv",
        "confusion_matrix.png",
        "roc_curves.png",
    ):
        assert (folder / "report" / name).stat().st_size > 0, name
    report = json.loads((folder / "report" / "report.json").read_text())
    assert report["single"] is True and report["num_predictions"] == 24
    # The headline the console shows is the report's, and the metrics logged in training.
    logged = [r for r in _rows(folder / "metrics.csv") if r.get("test/WA")][-1]
    for key in report["headline"]:
        assert float(logged[f"test/{key}"]) == pytest.approx(report["mean"][key], abs=1e-5), key
    assert f"ACC (WA) {100 * report['mean']['WA']:.2f} |" in lines[-4]
    md = (folder / "report" / "report.md").read_text()
    assert "## Per class" in md and "Pooled" not in md and "±" not in md


def test_predictions_csv_carries_the_predicted_class(fit: tuple[Path, list[str]]) -> None:
    root, _ = fit
    rows = _rows(next(root.rglob("predictions.csv")))
    names = [c.removeprefix("score_") for c in rows[0] if c.startswith("score_")]
    assert list(rows[0])[-1] == "prediction"
    for row in rows:
        scores = [float(row[f"score_{n}"]) for n in names]
        assert row["prediction"] == names[int(np.argmax(scores))], row["id"]


def test_mmfa_test_keeps_lightnings_table_and_ends_with_the_summary(
    fit: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, fit_lines = fit
    ckpt = next(root.rglob("best.ckpt"))
    main(
        [
            "test", "--config", str(REPO / "configs/demo.yaml"), *SMALL,
            "--trainer.enable_progress_bar=false", "--trainer.logger=false",
            f"--trainer.default_root_dir={tmp_path}", f"--ckpt_path={ckpt}",
        ]
    )  # fmt: skip
    lines = capsys.readouterr().out.strip().splitlines()
    assert any("Test metric" in line for line in lines)  # Lightning's verbose table, as before
    assert lines[-6] == f"mmfa test: done. Run folder: {tmp_path}"
    assert lines[-5].startswith("  best epoch ") and f"checkpoint {ckpt}" in lines[-5]
    # The same checkpoint, the same test numbers (to the last digit but one: this process may
    # use other torch threads than the fit's, which moves scores by ~1e-7).
    assert _numbers(lines[-4]) == pytest.approx(_numbers(fit_lines[-4]), abs=0.011)
    assert (tmp_path / "report" / "confusion_matrix.png").is_file()


def test_a_regression_run_gets_a_scatter_and_raw_mae(tmp_path: Path) -> None:
    path = tmp_path / "predictions.csv"
    rng = np.random.default_rng(0)
    target = rng.uniform(-3, 3, 20)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "target", "score", "prediction"])
        for i, t in enumerate(target):
            score = t + rng.normal(0, 0.5)
            writer.writerow([f"u{i}", f"{t:.6f}", f"{score:.6f}", f"{score:.4f}"])
    report = build_test_report(path, "regression", [], tmp_path / "report")
    assert (tmp_path / "report" / "scatter.png").stat().st_size > 0
    summary = RunSummary(
        "test",
        folder=tmp_path,
        checkpoint=tmp_path / "best.ckpt",
        best_epoch=3,
        monitor="val/MAE",
        val_score=0.71234,
        headline={k: report["mean"][k] for k in report["headline"]},
        num_test=20,
    )
    text = "\n".join(summary.lines())
    assert f"  best epoch 3, val/MAE 0.712, checkpoint {tmp_path / 'best.ckpt'}" in text
    assert f"MAE {report['mean']['MAE']:.3f} |" in text
    assert f"Acc-2 {100 * report['mean']['acc2']:.2f}" in text


@pytest.mark.slow
def test_fit_under_ddp_ends_with_one_summary(tmp_path: Path) -> None:
    """2 CPU processes: the test after fit ends (the run folder is asked for on every rank)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable, "-m", "mmfa", "fit", "--config", str(REPO / "configs/demo.yaml"),
            "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false",
            "--trainer.strategy=ddp", "--trainer.accelerator=cpu", "--trainer.devices=2",
            f"--trainer.logger.init_args.save_dir={tmp_path}", *SMALL,
        ],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert sum(line.startswith("mmfa fit: done.") for line in lines) == 1
    assert lines[-6] == f"mmfa fit: done. Run folder: {tmp_path / 'demo' / 'version_0'}"
    assert len(_rows(tmp_path / "demo" / "version_0" / "predictions.csv")) == 24
