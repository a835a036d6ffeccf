"""build_report / compare_runs on fake run folders: every number against scikit-learn directly."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn import metrics as skm

from mmfa.experiments.report import RunFolderError, build_report, compare_runs

CLASSES = ["neutral", "angry", "sad", "happy"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _write_fold(
    run_dir: Path, name: str, header: list[str], rows: list[list[object]], info: dict[str, object]
) -> None:
    fold_dir = run_dir / "folds" / name
    fold_dir.mkdir(parents=True)
    with (fold_dir / "predictions.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    (fold_dir / "fold.json").write_text(json.dumps(info))


def _write_run_json(run_dir: Path, task: str, names: list[str]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    provenance = {
        "argv": ["mmfa", "cv", "--config", "configs/x.yaml"],
        "configs": {"configs/x.yaml": "model:\n  lr: 0.001\n"},
        "versions": {"torch": "2.4.0", "scikit-learn": "1.9.1"},
    }
    (run_dir / "run.json").write_text(
        json.dumps({"task_type": task, "class_names": names, "provenance": provenance})
    )


def make_multiclass_run(run_dir: Path, seed: int = 0) -> None:
    """3 folds written out of name order; fold_b never predicts 'happy', fold_c has no 'sad'."""
    rng = np.random.default_rng(seed)
    _write_run_json(run_dir, "multiclass", CLASSES)
    for name, size in (("fold_c", 30), ("fold_a", 40), ("fold_b", 50)):
        choices = [0, 1, 3] if name == "fold_c" else [0, 1, 2, 3]
        target = rng.choice(choices, size=size)
        logits = rng.normal(size=(size, 4)) + 1.5 * np.eye(4)[target]
        if name == "fold_b":
            logits[:, 3] -= 20.0
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        rows = [
            [f"{name}_{i}", int(t)] + [f"{p:.6f}" for p in probs[i]] for i, t in enumerate(target)
        ]
        info: dict[str, object] = {
            "fold": name,
            "fold_manifest_sha256": f"sha-{name}",
            "checkpoint": f"/ckpt/{name}.ckpt",
            "seed": 7,
            "val_metrics": {"val/UA": 0.5},
        }
        if name == "fold_a":
            info = {"fold": name}  # fold.json may lack keys
        _write_fold(run_dir, name, ["id", "target"] + [f"score_{c}" for c in CLASSES], rows, info)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _multiclass_truth(run_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    folds = {}
    for name in ("fold_a", "fold_b", "fold_c"):
        rows = _read_csv(run_dir / "folds" / name / "predictions.csv")
        target = np.array([int(r["target"]) for r in rows])
        scores = np.array([[float(r[f"score_{c}"]) for c in CLASSES] for r in rows])
        folds[name] = (target, scores)
    return folds


@pytest.fixture
def multiclass_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run_mc"
    make_multiclass_run(run_dir)
    return run_dir


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_multiclass_headline_matches_sklearn(multiclass_run: Path) -> None:
    report = build_report(multiclass_run)
    assert report["folds"] == ["fold_a", "fold_b", "fold_c"]
    truth = _multiclass_truth(multiclass_run)
    labels = list(range(4))
    expected: dict[str, list[float]] = {}
    for target, scores in truth.values():
        pred = scores.argmax(axis=1)
        values = {
            "WA": skm.accuracy_score(target, pred),
            "UA": skm.balanced_accuracy_score(target, pred),
            "precision_w": skm.precision_score(target, pred, average="weighted", zero_division=0),
            "recall_w": skm.recall_score(target, pred, average="weighted", zero_division=0),
            "Fbeta_w": skm.fbeta_score(target, pred, beta=0.5, average="weighted", zero_division=0),
            "F1_w": skm.f1_score(target, pred, average="weighted", zero_division=0),
            "F1_macro": skm.f1_score(target, pred, labels=labels, average="macro", zero_division=0),
            "AUC_macro": skm.roc_auc_score(target, scores, multi_class="ovr", labels=labels)
            if len(set(target)) == 4
            else np.nan,
        }
        for key, value in values.items():
            expected.setdefault(key, []).append(float(value))
    for i, row in enumerate(report["per_fold"]):
        for key, values in expected.items():
            np.testing.assert_allclose(row[key], values[i], rtol=1e-12, atol=1e-12, err_msg=key)
        assert row["recall_w"] == pytest.approx(row["WA"])  # weighted recall is accuracy
    for key, values in expected.items():
        defined = np.array([v for v in values if not np.isnan(v)])
        assert report["mean"][key] == pytest.approx(defined.mean(), abs=1e-12), key
        assert report["std"][key] == pytest.approx(defined.std(ddof=0), abs=1e-12), key
    assert np.isnan(report["per_fold"][2]["AUC_macro"])  # fold_c lacks 'sad'
    assert report["n_folds"]["AUC_macro"] == 2 and report["n_folds"]["WA"] == 3
    assert report["std"]["WA"] > 0

    target = np.concatenate([t for t, _ in truth.values()])
    scores = np.concatenate([s for _, s in truth.values()])
    assert report["pooled"]["WA"] == pytest.approx(
        skm.accuracy_score(target, scores.argmax(axis=1))
    )
    assert report["pooled"]["AUC_macro"] == pytest.approx(
        skm.roc_auc_score(target, scores, multi_class="ovr")
    )
    assert any("never predicted" in n and "fold_b" in n for n in report["notes"])
    assert any("no test utterance of class 'sad'" in n for n in report["notes"])


def test_multiclass_per_class_confusion_and_files(multiclass_run: Path) -> None:
    report = build_report(multiclass_run)
    truth = _multiclass_truth(multiclass_run)
    total = sum(len(t) for t, _ in truth.values())
    for k, name in enumerate(CLASSES):
        entry = report["per_class"][name]
        assert entry["support"] == sum(int((t == k).sum()) for t, _ in truth.values())
        pre, rec, auc = [], [], []
        for target, scores in truth.values():
            if not (target == k).any():
                continue  # undefined in this fold: left out of the class mean
            pred = scores.argmax(axis=1)
            pre.append(
                skm.precision_score(target, pred, labels=[k], average=None, zero_division=0)[0]
            )
            rec.append(skm.recall_score(target, pred, labels=[k], average=None)[0])
            auc.append(skm.roc_auc_score(target == k, scores[:, k]))
        for metric, values in (("precision", pre), ("recall", rec), ("AUC", auc)):
            assert entry[metric]["mean"] == pytest.approx(np.mean(values), abs=1e-12)
            assert entry[metric]["std"] == pytest.approx(np.std(values), abs=1e-12)
            assert entry[metric]["n_folds"] == len(values)
    assert report["per_class"]["sad"]["precision"]["n_folds"] == 2
    assert report["per_class"]["happy"]["precision"]["per_fold"][1] == 0.0  # never predicted in b

    counts = np.array(report["confusion_matrix"]["counts"])
    assert counts.sum() == total
    expected = sum(
        skm.confusion_matrix(t, s.argmax(axis=1), labels=range(4)) for t, s in truth.values()
    )
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_allclose(np.array(report["confusion_matrix"]["row_normalised"]).sum(1), 1)

    out = multiclass_run / "report"
    for png in ("confusion_matrix.png", "roc_curves.png"):
        data = (out / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000
    saved = json.loads((out / "report.json").read_text())
    assert saved["per_fold"][2]["AUC_macro"] is None  # NaN stored as null: strict JSON
    assert saved["mean"]["WA"] == pytest.approx(report["mean"]["WA"])
    assert saved["provenance"]["folds"]["fold_b"]["checkpoint"] == "/ckpt/fold_b.ckpt"
    assert len(_read_csv(out / "per_fold.csv")) == 3
    per_class_rows = _read_csv(out / "per_class.csv")
    assert [r["class"] for r in per_class_rows] == CLASSES

    md = (out / "report.md").read_text()
    assert "| ACC (WA) | ACC_B (UA) | PRE | REC | Fβ | F1 |" in md
    acc = f"{100 * report['mean']['WA']:.2f} ± {100 * report['std']['WA']:.2f}"
    assert acc in md
    assert "| class / label | PRE | REC | F1 | support | AUC |" in md
    assert "AUC (macro) over 2 of 3" in md
    assert "ddof=0" in md and "Pooled" in md and "Not the paper's protocol" in md
    assert "(confusion_matrix.png)" in md and "(roc_curves.png)" in md
    assert "sha-fold_c" in md and "/ckpt/fold_c.ckpt" in md and "lr: 0.001" in md


def make_multilabel_run(run_dir: Path, seed: int = 1) -> list[str]:
    names = ["happy", "sad", "angry"]
    rng = np.random.default_rng(seed)
    _write_run_json(run_dir, "multilabel", names)
    for name in ("f2", "f1", "f3"):
        target = (rng.random((40, 3)) < 0.4).astype(int)
        scores = 1 / (1 + np.exp(-(rng.normal(size=(40, 3)) + 2 * target - 1)))
        rows = [
            [f"{name}_{i}", *target[i].tolist(), *[f"{v:.6f}" for v in scores[i]]]
            for i in range(40)
        ]
        header = ["id"] + [f"target_{n}" for n in names] + [f"score_{n}" for n in names]
        _write_fold(run_dir, name, header, rows, {"fold": name, "seed": 0})
    return names


def test_multilabel_metrics(tmp_path: Path) -> None:
    run_dir = tmp_path / "run_ml"
    names = make_multilabel_run(run_dir)
    report = build_report(run_dir)
    per_label_f1, weighted, macro = [], [], []
    for fold in ("f1", "f2", "f3"):
        rows = _read_csv(run_dir / "folds" / fold / "predictions.csv")
        target = np.array([[int(r[f"target_{n}"]) for n in names] for r in rows])
        pred = np.array([[float(r[f"score_{n}"]) > 0.5 for n in names] for r in rows]).astype(int)
        per_label_f1.append(skm.f1_score(target, pred, average=None))
        weighted.append(skm.f1_score(target, pred, average="weighted"))
        macro.append(skm.f1_score(target, pred, average="macro"))
    assert report["mean"]["F1_w"] == pytest.approx(np.mean(weighted))
    assert report["mean"]["F1_macro"] == pytest.approx(np.mean(macro))
    for k, name in enumerate(names):
        assert report["per_class"][name]["F1"]["mean"] == pytest.approx(
            np.mean([f[k] for f in per_label_f1])
        )
        assert 0.5 < report["per_class"][name]["AUC"]["mean"] <= 1.0
        assert 0.0 <= report["per_class"][name]["acc"]["mean"] <= 1.0
    assert (run_dir / "report" / "roc_curves.png").read_bytes().startswith(PNG_MAGIC)
    assert "ACC (exact match)" in (run_dir / "report" / "report.md").read_text()


def make_regression_run(run_dir: Path, seed: int = 2) -> None:
    rng = np.random.default_rng(seed)
    _write_run_json(run_dir, "regression", [])
    for name in ("r1", "r2", "r3"):
        target = np.round(rng.uniform(-3, 3, size=60) * 3) / 3
        target[:5] = 0.0  # zero targets: Acc-2 (non-zero) drops them
        score = target + rng.normal(scale=0.8, size=60)
        rows = [
            [f"{name}_{i}", f"{t:.6f}", f"{s:.6f}"]
            for i, (t, s) in enumerate(zip(target, score, strict=True))
        ]
        _write_fold(run_dir, name, ["id", "target", "score"], rows, {"fold": name})


def test_regression_metrics(tmp_path: Path) -> None:
    run_dir = tmp_path / "run_reg"
    make_regression_run(run_dir)
    report = build_report(run_dir)
    expected: dict[str, list[float]] = {}
    for fold in ("r1", "r2", "r3"):
        rows = _read_csv(run_dir / "folds" / fold / "predictions.csv")
        y = np.array([float(r["target"]) for r in rows])
        s = np.array([float(r["score"]) for r in rows])
        nz = y != 0
        values = {
            "MAE": np.abs(y - s).mean(),
            "pearson": pearsonr(y, s)[0],
            "acc2": np.mean((y >= 0) == (s >= 0)),
            "acc2_nonzero": np.mean((y[nz] > 0) == (s[nz] > 0)),
            "acc7": np.mean(np.round(np.clip(y, -3, 3)) == np.round(np.clip(s, -3, 3))),
            "F1_2": skm.f1_score(y >= 0, s >= 0, average="weighted"),
        }
        for key, value in values.items():
            expected.setdefault(key, []).append(float(value))
    for key, values in expected.items():
        assert report["mean"][key] == pytest.approx(np.mean(values)), key
        assert report["std"][key] == pytest.approx(np.std(values)), key
    out = run_dir / "report"
    assert (out / "scatter.png").read_bytes().startswith(PNG_MAGIC)
    assert not (out / "confusion_matrix.png").exists() and not (out / "roc_curves.png").exists()
    md = (out / "report.md").read_text()
    mae = f"{report['mean']['MAE']:.3f} ± {report['std']['MAE']:.3f}"  # MAE is not in percent
    assert mae in md and "Acc-2 (non-zero)" in md


def test_compare_runs_one_row_per_run(tmp_path: Path) -> None:
    runs = [tmp_path / "audio", tmp_path / "text", tmp_path / "mosei"]
    make_multiclass_run(runs[0], seed=3)
    make_multiclass_run(runs[1], seed=4)
    make_regression_run(runs[2])
    build_report(runs[0])  # the others have no report yet: compare_runs builds them
    labels = ["audio-only / 4class / improvised", "text-only / 4class / improvised", "mosei"]
    md = compare_runs(runs, tmp_path / "cmp", labels=labels)
    assert (tmp_path / "cmp" / "comparison.md").read_text() == md
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(runs)  # header, separator, one row per run
    assert table[0].startswith(
        "| run | task | folds | ACC (WA) | ACC_B (UA) | PRE | REC | Fβ | F1 |"
    )
    assert table[2].startswith(f"| {labels[0]} | multiclass | 3 |")
    rows = _read_csv(tmp_path / "cmp" / "comparison.csv")
    assert [r["label"] for r in rows] == labels
    first = json.loads((runs[0] / "report" / "report.json").read_text())
    assert float(rows[0]["WA_mean"]) == pytest.approx(first["mean"]["WA"])
    assert rows[2]["WA_mean"] == "nan" and float(rows[2]["MAE_mean"]) > 0
    with pytest.raises(ValueError, match="2 labels for 3 runs"):
        compare_runs(runs, tmp_path / "cmp", labels=labels[:2])


def test_bad_inputs_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="run.json"):
        build_report(tmp_path / "nothing")
    run_dir = tmp_path / "bad"
    _write_run_json(run_dir, "multiclass", CLASSES)
    _write_fold(run_dir, "f1", ["id", "target", "score_neutral"], [["u1", 0, "1.0"]], {})
    with pytest.raises(RunFolderError, match=r"f1/predictions.csv: missing column"):
        build_report(run_dir)
    header = ["id", "target"] + [f"score_{c}" for c in CLASSES]
    (run_dir / "folds" / "f1" / "predictions.csv").write_text(
        ",".join(header) + "\nu1,0,0.25,0.25,0.25,0.25\nu2,7,0.25,0.25,0.25,0.25\n"
    )
    with pytest.raises(RunFolderError, match=r"line 3 \(id 'u2'\): target must be in"):
        build_report(run_dir)


def test_two_class_auc_uses_the_positive_score() -> None:
    from mmfa.experiments.fold_metrics import multiclass_metrics

    rng = np.random.default_rng(5)
    target = rng.integers(0, 2, 50)
    scores = rng.random((50, 2))
    scores /= scores.sum(axis=1, keepdims=True)
    result = multiclass_metrics(target, scores, ["neg", "pos"])
    assert result.headline["AUC_macro"] == pytest.approx(skm.roc_auc_score(target, scores[:, 1]))


PINNED = Path(__file__).with_name("data") / "pinned_reports.json"


@pytest.mark.parametrize(
    ("kind", "maker"),
    [
        ("multiclass", make_multiclass_run),
        ("multilabel", make_multilabel_run),
        ("regression", make_regression_run),
    ],
)
def test_report_numbers_unchanged_by_the_vocabulary_refactor(
    tmp_path: Path, kind: str, maker: object
) -> None:
    """Numbers computed before the metric keys were unified (pinned, keys renamed) still hold."""
    run_dir = tmp_path / kind
    maker(run_dir)  # type: ignore[operator]
    report = build_report(run_dir)
    pinned = json.loads(PINNED.read_text())[kind]
    for section in ("mean", "std", "pooled"):
        for key, value in pinned[section].items():
            got = report[section][key]
            if value is None:
                assert np.isnan(got), (section, key)
            else:
                assert got == pytest.approx(value, abs=1e-12, nan_ok=True), (section, key)
    for row, want in zip(report["per_fold"], pinned["per_fold"], strict=True):
        for key, value in want.items():
            if value is not None and not isinstance(value, str):
                assert row[key] == pytest.approx(value, abs=1e-12, nan_ok=True), key
    for name, entry in pinned["per_class"].items():
        for key, value in entry.items():
            got = report["per_class"][name][key]
            got = got["mean"] if isinstance(got, dict) else got
            if value is not None:
                assert got == pytest.approx(value, abs=1e-12, nan_ok=True), (name, key)


def test_several_seeds_get_per_seed_means_and_their_spread(tmp_path: Path) -> None:
    run_dir = tmp_path / "seeds"
    _write_run_json(run_dir, "multiclass", CLASSES)
    rng = np.random.default_rng(3)
    truth: dict[int, list[float]] = {0: [], 1: []}
    for seed in (0, 1):
        for fold in ("a", "b"):
            target = rng.choice(4, size=40)
            logits = rng.normal(size=(40, 4)) + (1.0 + seed) * np.eye(4)[target]
            probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            rows = [[f"{fold}{seed}_{i}", int(t), *probs[i]] for i, t in enumerate(target)]
            header = ["id", "target"] + [f"score_{c}" for c in CLASSES]
            _write_fold(run_dir, f"{fold}-seed{seed}", header, rows, {"seed": seed})
            truth[seed].append(skm.balanced_accuracy_score(target, probs.argmax(1)))
    report = build_report(run_dir)
    seeds = report["seeds"]
    assert seeds["folds_per_seed"] == {"0": 2, "1": 2}
    means = [np.mean(truth[0]), np.mean(truth[1])]
    assert seeds["per_seed"]["0"]["UA"] == pytest.approx(means[0])
    assert seeds["per_seed"]["1"]["UA"] == pytest.approx(means[1])
    assert seeds["mean"]["UA"] == pytest.approx(np.mean(means))
    assert seeds["std"]["UA"] == pytest.approx(np.std(means))  # population std, as elsewhere
    markdown = (run_dir / "report" / "report.md").read_text()
    assert "## Seeds" in markdown and "| mean ± std |" in markdown


def test_one_seed_has_no_seed_section(tmp_path: Path) -> None:
    make_multiclass_run(tmp_path / "one")
    assert build_report(tmp_path / "one")["seeds"] is None
    assert "## Seeds" not in (tmp_path / "one" / "report" / "report.md").read_text()


def test_cv_summary_line_names_the_seed_spread() -> None:
    from mmfa.experiments.cv import _summary_line

    report = {
        "headline": ["WA", "UA", "precision_w", "recall_w"],
        "folds": ["a-seed0", "b-seed0", "a-seed1", "b-seed1"],
        "mean": {"WA": 0.5, "UA": 0.4, "precision_w": 0.45},
        "std": {"WA": 0.1, "UA": 0.05, "precision_w": 0.02},
        "seeds": {
            "per_seed": {"0": {}, "1": {}},
            "mean": {"WA": 0.5, "UA": 0.4, "precision_w": 0.45},
            "std": {"WA": 0.03, "UA": 0.02, "precision_w": 0.01},
        },
    }
    line = _summary_line(report)
    assert line.startswith("mean over 4 folds: WA 50.00 ± 10.00, UA 40.00 ± 5.00")
    assert (
        "over 2 seeds (mean ± std of the per-seed means): WA 50.00 ± 3.00, UA 40.00 ± 2.00" in line
    )
    assert "seeds" not in _summary_line({**report, "seeds": None})
