"""Ensembles: several trained models' probabilities averaged, in Python, mmfa predict and cv."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score

from mmfa.cli import main
from mmfa.ensemble import EnsembleRecognizer
from mmfa.errors import ConfigError
from mmfa.experiments.report import build_report
from mmfa.inference import EmotionRecognizer
from mmfa.manifest import Utterance
from mmfa.testing.demo_fit import fit_demo

CLASSES = ["neutral", "happy", "sad", "angry"]  # the demo corpus' classes, in its order


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {r["id"]: r for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two demo fits with other seeds (other weights), and a labelled manifest of test files."""
    root = tmp_path_factory.mktemp("ensemble")
    first, predictions = fit_demo(root / "seed0", "--seed_everything=0")
    second, _ = fit_demo(root / "seed1", "--seed_everything=1")
    from mmfa.datamodules.synthetic import SyntheticDataModule

    dm = SyntheticDataModule(num_speakers=6, utterances_per_speaker=12)
    utterances = {u.id: u for u in dm.load_manifest()}
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "path", "text", "label"])
        for uid, row in _rows(predictions).items():
            utt = utterances[uid]
            writer.writerow([uid, utt.audio_path, utt.text, dm.class_names[int(row["target"])]])
    return first, second, manifest


def _utterances(manifest: Path) -> tuple[list[Utterance], list[str | None]]:
    from mmfa.datamodules.inputs import read_inputs

    inputs = read_inputs([str(manifest)])
    return list(inputs.utterances), list(inputs.labels or [])


def test_the_ensemble_predicts_the_mean_of_its_models(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    first, second, manifest = models
    utterances, labels = _utterances(manifest)
    singles = [
        EmotionRecognizer.from_checkpoint(p).predict_utterances(utterances, progress=False)
        for p in (first, second)
    ]
    ensemble = EnsembleRecognizer.from_checkpoints([first, second])
    run = ensemble.predict_utterances(utterances, progress=False)
    columns = [f"score_{c}" for c in CLASSES]
    one, two = ({r["id"]: r for r in s.rows} for s in singles)
    assert [r["id"] for r in run.rows] == [r["id"] for r in singles[0].rows]
    assert run.index == singles[0].index
    differs = 0
    for row in run.rows:
        want = np.mean(
            [[one[row["id"]][c] for c in columns], [two[row["id"]][c] for c in columns]], 0
        )
        got = np.array([row[c] for c in columns])
        assert got == pytest.approx(want, abs=1e-6), row["id"]
        assert row["prediction"] == CLASSES[int(want.argmax())]
        assert row["modalities"] == "audio+text"
        assert list(row) == list(one[row["id"]])  # the one schema of PredictionWriter
        differs += one[row["id"]][columns[0]] != two[row["id"]][columns[0]]
    assert differs, "the two seeds gave the same model: the test would prove nothing"
    # predict() takes the same route: the first file's averaged scores.
    utt = utterances[0]
    single = ensemble.predict(str(utt.audio_path), text=utt.text)
    assert [single.scores[c] for c in CLASSES] == pytest.approx(
        [run.rows[0][f"score_{c}"] for c in CLASSES], abs=1e-6
    )

    # mmfa predict with two checkpoints writes the same rows (6 decimals, with the labels).
    out = tmp_path / "ensemble.csv"
    main(
        ["predict", "--ckpt_path", str(first), str(second), "--input", str(manifest)]
        + ["--out", str(out)]
    )
    written = _rows(out)
    assert list(written) == [r["id"] for r in run.rows]
    for row in run.rows:
        line = written[row["id"]]
        assert line["label"] == labels[run.rows.index(row)]
        assert line["prediction"] == row["prediction"]
        for c in columns:
            assert float(line[c]) == pytest.approx(row[c], abs=1e-6)


def test_one_model_is_todays_prediction(models: tuple[Path, Path, Path], tmp_path: Path) -> None:
    first, _, manifest = models
    utterances, _ = _utterances(manifest)
    alone = EmotionRecognizer.from_checkpoint(first).predict_utterances(utterances, progress=False)
    ensemble = EnsembleRecognizer.from_checkpoints([first])
    run = ensemble.predict_utterances(utterances, progress=False)
    assert [list(r) for r in run.rows] == [list(r) for r in alone.rows]
    for got, want in zip(run.rows, alone.rows, strict=True):
        assert got["prediction"] == want["prediction"]
        assert [got[f"score_{c}"] for c in CLASSES] == pytest.approx(
            [want[f"score_{c}"] for c in CLASSES], abs=1e-6
        )
    assert run.predictions == alone.predictions
    # Windows take the same route, and the same refusal: these models need transcripts.
    with pytest.raises(ConfigError, match="needs text"):
        ensemble.predict_windows(str(utterances[0].audio_path), window=1.0)


def _with_classes(ckpt: Path, out: Path, names: list[str]) -> Path:
    """A copy of a checkpoint whose model names other classes (or the same in another order)."""
    record = torch.load(ckpt, map_location="cpu", weights_only=True)
    record["hyper_parameters"]["class_names"] = names
    record["mmfa"]["class_names"] = names
    torch.save(record, out)
    return out


def test_models_of_other_classes_are_refused(
    models: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    first, second, _ = models
    renamed = _with_classes(second, tmp_path / "renamed.ckpt", [*CLASSES[:3], "fear"])
    with pytest.raises(ConfigError, match="class names") as err:
        EnsembleRecognizer.from_checkpoints([first, renamed])
    assert str(first) in str(err.value) and str(renamed) in str(err.value)
    assert "\n" not in str(err.value)
    shuffled = _with_classes(second, tmp_path / "shuffled.ckpt", CLASSES[::-1])
    with pytest.raises(ConfigError, match="class order"):
        EnsembleRecognizer.from_checkpoints([first, shuffled])


def test_out_never_overwrites_a_member(models: tuple[Path, Path, Path], tmp_path: Path) -> None:
    first, second, manifest = models
    # A checkpoint may carry any name: the second model is protected as well as the first.
    member = tmp_path / "second_model.csv"
    member.write_bytes(second.read_bytes())
    before = member.read_bytes()
    for out in (member, first):
        with pytest.raises(ConfigError, match="--out"):
            main(
                ["predict", "--ckpt_path", str(first), str(member)]
                + ["--input", str(manifest), "--out", str(out)]
            )
    assert member.read_bytes() == before


def _write_seed_fold(run_dir: Path, fold: str, seed: int, rows: list[list[object]]) -> None:
    folder = run_dir / "folds" / f"{fold}-seed{seed}"
    folder.mkdir(parents=True)
    with (folder / "predictions.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "target"] + [f"score_{c}" for c in CLASSES])
        writer.writerows(rows)
    (folder / "fold.json").write_text(json.dumps({"fold": fold, "seed": seed}))


def test_cv_report_scores_the_seeds_averaged(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(
        json.dumps({"task_type": "multiclass", "class_names": CLASSES, "provenance": {}})
    )
    rng = np.random.default_rng(5)
    want = {}
    for fold in ("a", "b"):
        target = rng.choice(4, size=40)
        probs = []
        for seed in (0, 1, 2):
            logits = rng.normal(size=(40, 4)) + 0.8 * np.eye(4)[target]
            p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            order = rng.permutation(40)  # each seed's file lists the utterances in its own order
            rows = [[f"{fold}_{i}", int(target[i]), *p[i]] for i in order]
            _write_seed_fold(run_dir, fold, seed, rows)
            probs.append(p)
        want[fold] = balanced_accuracy_score(target, np.mean(probs, axis=0).argmax(axis=1))
    report = build_report(run_dir)
    ensemble = report["ensemble"]
    assert ensemble["seeds"] == ["0", "1", "2"]
    got = {r["fold"]: r["UA"] for r in ensemble["per_fold"]}
    assert got == pytest.approx(want, abs=1e-9)
    assert ensemble["mean"]["UA"] == pytest.approx(np.mean(list(want.values())), abs=1e-9)
    assert [r["models"] for r in ensemble["per_fold"]] == [3, 3]
    assert "## Ensemble of the seeds" in (run_dir / "report" / "report.md").read_text()
    assert json.loads((run_dir / "report" / "report.json").read_text())["ensemble"]["mean"]["UA"]
    from mmfa.experiments.cv import _summary_line

    assert "the seeds averaged (ensemble): " in _summary_line(report)


def test_a_fold_with_one_finished_seed_is_left_out_of_the_ensemble(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(
        json.dumps({"task_type": "multiclass", "class_names": CLASSES, "provenance": {}})
    )
    rows = [[f"u{i}", i % 4, *np.eye(4)[(i + (i % 3 == 0)) % 4]] for i in range(12)]
    for fold, seeds in (("a", (0, 1)), ("b", (0,))):
        for seed in seeds:
            _write_seed_fold(run_dir, fold, seed, rows)
    ensemble = build_report(run_dir)["ensemble"]
    assert [r["fold"] for r in ensemble["per_fold"]] == ["a"]
    assert any("fold b has one finished seed" in n for n in ensemble["notes"])
    one_run = tmp_path / "one"
    one_run.mkdir()
    (one_run / "run.json").write_text((run_dir / "run.json").read_text())
    _write_seed_fold(one_run, "a", 0, rows)
    assert build_report(one_run)["ensemble"] is None
