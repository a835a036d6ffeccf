"""`mmfa baseline` on the synthetic corpus: the config's folds, choices on validation, report."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, fbeta_score

from mmfa.cli import main
from mmfa.errors import ConfigError
from mmfa.experiments.baseline import (
    SCALES,
    Inputs,
    Settings,
    class_scores,
    fit_grid,
    load_inputs,
    run_fold,
)

REPO = Path(__file__).resolve().parents[2]
# The session's small synthetic corpus (tests/conftest.py: small_synthetic): 6 speakers x 12.
CORPUS = ["--data.num_speakers=6", "--data.utterances_per_speaker=12"]
FOLDS = ["pair1", "pair2", "pair3"]


def baseline(out: Path, *options: str) -> Path:
    main(
        [
            "baseline",
            "--config",
            str(REPO / "configs/demo.yaml"),
            *CORPUS,
            *options,
            "--out",
            str(out),
        ]
    )
    return out


def read_predictions(path: Path) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    with path.open() as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    target = np.array([int(r["target"]) for r in rows])
    scores = np.array([[float(r[k]) for k in header if k.startswith("score_")] for r in rows])
    return header, [r["id"] for r in rows], target, scores


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baseline") / "egemaps"
    return baseline(
        out, "--features", "egemaps", "--classifier", "linear_svm", "--speaker_norm", "true"
    )


def test_folds_are_the_configs_folds(run_dir: Path, small_synthetic) -> None:  # type: ignore[no-untyped-def]
    report = json.loads((run_dir / "report" / "report.json").read_text())
    assert report["folds"] == FOLDS == small_synthetic.fold_names()
    dm, original = small_synthetic, small_synthetic.fold
    try:
        for fold in FOLDS:
            dm.fold = fold
            dm.setup("fit")  # what mmfa cv trains, validates and tests on in this fold
            written = json.loads((run_dir / "folds" / fold / "fold_manifest.json").read_text())
            assert written["splits"] == dm.fold_manifest()
            info = json.loads((run_dir / "folds" / fold / "fold.json").read_text())
            assert info["fold_manifest_sha256"] == dm.fold_manifest_hash()
            header, ids, _, _ = read_predictions(run_dir / "folds" / fold / "predictions.csv")
            assert header == ["id", "target", *(f"score_{c}" for c in dm.class_names)]
            assert sorted(ids) == dm.fold_manifest()["test"]
    finally:
        dm.fold = original
        dm.setup("fit")
    for name in ("report.md", "per_fold.csv", "per_class.csv", "confusion_matrix.png"):
        assert (run_dir / "report" / name).stat().st_size > 0, name
    run = json.loads((run_dir / "run.json").read_text())
    assert run["provenance"]["baseline"]["features"] == "egemaps"
    assert run["provenance"]["baseline"]["speaker_norm"] is True


def test_report_numbers_recompute_with_sklearn(run_dir: Path) -> None:
    report = json.loads((run_dir / "report" / "report.json").read_text())
    per_fold = {row["fold"]: row for row in report["per_fold"]}
    for fold in FOLDS:
        _, _, target, scores = read_predictions(run_dir / "folds" / fold / "predictions.csv")
        np.testing.assert_allclose(scores.sum(1), 1.0, atol=1e-4)
        pred = scores.argmax(1)
        assert per_fold[fold]["WA"] == pytest.approx(accuracy_score(target, pred))
        assert per_fold[fold]["UA"] == pytest.approx(balanced_accuracy_score(target, pred))
        assert per_fold[fold]["F1_w"] == pytest.approx(
            f1_score(target, pred, average="weighted", labels=range(4), zero_division=0)
        )
        assert per_fold[fold]["Fbeta_w"] == pytest.approx(
            fbeta_score(
                target, pred, beta=0.5, average="weighted", labels=range(4), zero_division=0
            )
        )
    uas = [per_fold[f]["UA"] for f in FOLDS]
    assert report["mean"]["UA"] == pytest.approx(np.mean(uas))
    assert report["std"]["UA"] == pytest.approx(np.std(uas))


def test_val_choice_is_recorded_and_the_best_of_the_grid(run_dir: Path) -> None:
    for fold in FOLDS:
        info = json.loads((run_dir / "folds" / fold / "fold.json").read_text())
        grid = info["validation_grid"]
        assert [g["C_scale"] for g in grid] == SCALES["linear_svm"]["C_scale"]
        # standardised eGeMAPS: C is C_scale / 88 (the inputs' mean squared norm)
        assert [g["C"] for g in grid] == pytest.approx([g["C_scale"] / 88 for g in grid], rel=1e-3)
        best = max(g["val/UA"] for g in grid)
        first = next(g for g in grid if g["val/UA"] == best)  # ties go to the smaller C
        assert info["val_metrics"] == {"val/UA": best}
        assert info["model"] == f"LinearSVC(C={first['C']:.3g})"


def _relabel(data: Inputs, positions: set[int], labels: dict[int, int]) -> Inputs:
    utts = list(data.utterances)
    for i in positions:
        utts[i] = dataclasses.replace(utts[i], label=labels[i])
    return dataclasses.replace(data, utterances=utts)


def test_choice_follows_validation_labels_never_test_labels(run_dir: Path, tmp_path: Path) -> None:
    """Relabelled test utterances change nothing chosen; relabelled validation ones change C."""
    from mmfa.datamodules.synthetic import SyntheticDataModule

    dm = SyntheticDataModule(num_speakers=6, utterances_per_speaker=12)
    settings = Settings("egemaps", "linear_svm", True, "none", "val/UA", "max")
    data = load_inputs(dm, settings)  # cached by the module's run: nothing extracted
    dm.fold = "pair1"
    split = {i: dm.split_of(data.utterances[i]) for i in data.rows}
    k = len(dm.class_names)
    first = run_fold(dm, data, "pair1", settings, {}, tmp_path / "a", "a")
    _, ids, target, scores = read_predictions(tmp_path / "a/folds/pair1/predictions.csv")

    test = {i for i in data.rows if split[i] == "test"}
    shifted = {i: (int(data.utterances[i].label) + 1) % k for i in test}
    second = run_fold(dm, _relabel(data, test, shifted), "pair1", settings, {}, tmp_path / "b", "b")
    _, ids2, target2, scores2 = read_predictions(tmp_path / "b/folds/pair1/predictions.csv")
    assert second["model"] == first["model"]
    assert second["validation_grid"] == first["validation_grid"]
    assert ids2 == ids and np.array_equal(scores2, scores)
    assert not np.array_equal(target2, target)

    # Validation labels set to what another C predicts: only a model predicting exactly those
    # labels reaches val UA 1, so the choice must move to one that predicts like that C.
    pos = {i: n for n, i in enumerate(data.rows)}
    rows = lambda s: [pos[i] for i in data.rows if split[i] == s]  # noqa: E731
    labels = np.array([data.utterances[i].label for i in data.rows])
    inputs, fitted = fit_grid(settings, (data.x[rows("train")], labels[rows("train")]))
    x_val = inputs.transform(data.x[rows("val")])
    val_predictions = {
        f"LinearSVC(C={params['C']:.3g})": class_scores(model, x_val, k).argmax(1)
        for params, model in fitted
    }
    chosen = first["model"]
    other = next(
        c for c, p in val_predictions.items() if not np.array_equal(p, val_predictions[chosen])
    )
    val = [i for i in data.rows if split[i] == "val"]
    relabelled = {i: int(p) for i, p in zip(val, val_predictions[other], strict=True)}
    third = run_fold(
        dm, _relabel(data, set(val), relabelled), "pair1", settings, {}, tmp_path / "c", "c"
    )
    assert third["val_metrics"] == {"val/UA": 1.0}
    assert third["model"] != first["model"]


def test_second_run_extracts_nothing_and_tfidf_runs(run_dir: Path, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level("INFO", logger="mmfa.features.pipeline"):
        baseline(tmp_path / "again", "--features", "egemaps", "--classifier", "rbf_svm")
    assert "audio features: 72 reused, 0 extracted" in caplog.text
    out = baseline(tmp_path / "tfidf", "--features", "tfidf", "--classifier", "logreg")
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["folds"] == FOLDS
    info = json.loads((out / "folds/pair1/fold.json").read_text())
    assert info["model"].startswith("LogisticRegression(C=")


def test_refusals(tmp_path: Path, run_dir: Path) -> None:
    with pytest.raises(ConfigError, match="no effect on tfidf"):
        baseline(
            tmp_path / "x",
            "--features",
            "tfidf",
            "--classifier",
            "logreg",
            "--speaker_norm",
            "true",
        )
    with pytest.raises(ConfigError, match="choose another --out"):  # another run's folder
        baseline(run_dir, "--features", "compare", "--classifier", "linear_svm")
    from mmfa.testing.fakes import write_fake_mosei

    mosei = write_fake_mosei(tmp_path / "mosei")
    with pytest.raises(ConfigError, match="multilabel corpus; the baseline supports multiclass"):
        main(
            [
                "baseline",
                "--config",
                str(REPO / "configs/mosei_6class.yaml"),
                f"--data.root={mosei}",
                "--data.task=multilabel",
                "--data.text.init_args.model=minilm",
                "--features",
                "egemaps",
                "--classifier",
                "logreg",
                "--out",
                str(tmp_path / "mosei-run"),
            ]
        )


def test_a_monitor_the_baseline_cannot_compute_gives_way_to_ua() -> None:
    from types import SimpleNamespace

    from mmfa.experiments.baseline import _monitor

    def cli(monitor: str, mode: str) -> SimpleNamespace:
        ckpt = SimpleNamespace(monitor=monitor, mode=mode)
        return SimpleNamespace(trainer=SimpleNamespace(checkpoint_callback=ckpt))

    assert _monitor(cli("val/loss", "min")) == ("val/UA", "max")  # CMU-MOSEI's config
    assert _monitor(cli("val/F1_w", "max")) == ("val/F1_w", "max")
