"""2-process DDP evaluation (CPU, gloo) gives exactly the single-process numbers on odd-sized sets.

``ddp_eval_script.py`` trains briefly in one process and saves a checkpoint (extracting the features
into the session cache); then the same checkpoint is evaluated again with ``strategy="ddp"`` on 2
processes. Validation has 23 utterances (12 + 11 per rank), test 17 (9 + 8: one rank runs a batch
fewer). Every ``val/`` and ``test/`` metric, the confusion matrix and the gathered test predictions
must match: no utterance repeated (DistributedSampler padding) or lost.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

SCRIPT = Path(__file__).with_name("ddp_eval_script.py")
VAL_SIZE, TEST_SIZE = 23, 17  # 2 speakers x 12 utterances, less ddp_eval_script.DROP


def _run(devices: int, tmp: Path, cache: Path, train: bool = False) -> dict[str, Any]:
    out = tmp / f"devices{devices}.json"
    cmd = [sys.executable, str(SCRIPT), "--devices", str(devices), "--out", str(out)]
    cmd += ["--cache", str(cache), "--ckpt", str(tmp / "weights.ckpt")]
    if train:
        cmd.append("--train")
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        MMFA_CACHE_DIR=str(cache),
        WANDB_MODE="offline",
        PYTHONWARNINGS="ignore",
    )
    proc = subprocess.run(
        cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert proc.returncode == 0 and out.exists(), (
        f"devices={devices} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
        f"{proc.stderr[-6000:]}"
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _accuracy(run: dict[str, Any]) -> float:
    pairs = zip(run["scores"], run["targets"], strict=True)
    hits = [max(range(len(scores)), key=scores.__getitem__) == target for scores, target in pairs]
    return sum(hits) / len(hits)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is missing")
def test_ddp_evaluation_equals_single_process(tmp_path: Path, cache_dir: Path) -> None:
    single = _run(1, tmp_path, cache_dir, train=True)
    ddp = _run(2, tmp_path, cache_dir)

    assert (single["world_size"], ddp["world_size"]) == (1, 2)
    for run in (single, ddp):
        assert run["sizes"]["val"] == VAL_SIZE and run["sizes"]["test"] == TEST_SIZE
        # Every test utterance predicted exactly once, gathered from both ranks.
        assert run["num_predictions"] == TEST_SIZE == len(run["ids"]) == len(set(run["ids"]))
        # The gathered predictions agree with the synced metric.
        assert math.isclose(_accuracy(run), run["metrics"]["test/WA"], rel_tol=1e-6)

    # The DDP run only read the features the single-process run extracted (on every rank).
    assert len(ddp["feature_reports"]) == 2
    for report in ddp["feature_reports"]:
        assert sum(report["extracted"].values()) == 0, report
        assert report["reused"] == {"audio": 72, "text": 72}, report

    assert set(ddp["metrics"]) == set(single["metrics"])
    assert {"val/loss", "val/UA", "val/WA", "test/UA", "test/WA", "test/AUC_macro"} <= set(
        single["metrics"]
    )
    differ = {
        key: (value, ddp["metrics"][key])
        for key, value in single["metrics"].items()
        if not math.isclose(value, ddp["metrics"][key], rel_tol=1e-6, abs_tol=1e-7)
    }
    assert not differ, f"DDP metrics differ from single-process ones: {differ}"

    assert ddp["confusion"] == single["confusion"]
    assert ddp["ids"] == single["ids"] and ddp["targets"] == single["targets"]
    # Same weights and inputs; only the batches are padded differently, hence float-level noise,
    # and predictions.csv keeps 6 decimals: two values 1e-7 apart can round 1e-6 apart.
    for utt, a, b in zip(single["ids"], single["scores"], ddp["scores"], strict=True):
        assert all(math.isclose(x, y, abs_tol=2.5e-6) for x, y in zip(a, b, strict=True)), utt


def test_cv_under_ddp_saves_every_test_prediction_once(tmp_path: Path) -> None:
    """`mmfa cv` with 2 CPU processes: each fold's predictions cover the test set exactly once."""
    import csv

    out = tmp_path / "cv"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline"}
    cmd = [
        sys.executable,
        "-m",
        "mmfa",
        "cv",
        "--config",
        str(Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"),
        "--out",
        str(out),
        "--folds",
        "pair1,pair2",
        "--trainer.max_epochs=1",
        "--trainer.enable_progress_bar=false",
        "--data.num_speakers=6",
        "--data.utterances_per_speaker=12",
        "--data.batch_size=4",
        "--trainer.strategy=ddp",
        "--trainer.accelerator=cpu",
        "--trainer.devices=2",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for fold in ("pair1", "pair2"):
        with (out / "folds" / fold / "predictions.csv").open() as handle:
            ids = [row["id"] for row in csv.DictReader(handle)]
        assert len(ids) == len(set(ids)) == 24  # 2 test speakers x 12, no repeats
    assert (out / "report" / "report.md").exists()
