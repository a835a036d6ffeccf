"""benchmarks/meld_text_ensemble.py's own behaviour (not its numbers): skip without data, the
``mmfa predict`` command it builds from a recorded fit, and its scores against scikit-learn."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(REPO / "benchmarks"))  # as when run as `python benchmarks/x.py`
    try:
        import meld_text_ensemble
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return meld_text_ensemble


def test_skips_cleanly_without_the_csvs(
    bench: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "r.json"
    argv = ["x", "--runs", str(tmp_path / "a.json"), "--meld", str(tmp_path), "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    assert bench.main() == 0
    assert capsys.readouterr().out.startswith("SKIP: MELD CSVs")
    assert not out.exists()


def test_the_predict_command_reads_the_data_as_the_fit_did(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fit = (
        "mmfa fit --config=configs/meld_7class.yaml --data.batch_size=16 --data.use_audio=false "
        "--data.context_turns=1 --data.context_speakers=true --model.lr=0.001"
    )
    ran: list[list[str]] = []
    monkeypatch.setattr(bench.subprocess, "run", lambda argv, **_: ran.append(argv))
    command = bench.predict(
        ["a.ckpt", "b.ckpt"], bench.fit_command({"mmfa_commands": [fit]}), "meld", "val",
        tmp_path / "p.csv",
    )  # fmt: skip
    assert command[:5] == ["mmfa", "predict", "--ckpt_path", "a.ckpt", "b.ckpt"]
    assert "--data.context_turns=1" in command and "--data.use_audio=false" in command
    assert not any(a.startswith(("--model.", "--data.batch_size")) for a in command)
    assert command[command.index("--split") + 1] == "val" and ran[0][1:3] == ["-m", "mmfa"]


def test_scores_match_scikit_learn(bench: ModuleType, tmp_path: Path) -> None:
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(0)
    names = ["neutral", "joy", "anger"]
    gold = rng.integers(0, 3, 40)
    scores = rng.dirichlet(np.ones(3), 40)
    path = tmp_path / "p.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "prediction", "label", *(f"score_{n}" for n in names)])
        for i, (g, s) in enumerate(zip(gold, scores, strict=True)):
            writer.writerow([i, names[int(s.argmax())], names[g], *s])
    got = bench.score(path)
    predicted = scores.argmax(1)
    assert got["F1_w"] == pytest.approx(
        100 * f1_score(gold, predicted, average="weighted"), abs=0.01
    )
    assert got["WA"] == pytest.approx(100 * accuracy_score(gold, predicted), abs=0.01)
