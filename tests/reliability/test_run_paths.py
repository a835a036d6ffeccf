"""Where a run's files go: never outside the run folder (issue: hostile fold names), and one
folder per run also when a config logs to W&B (issue "Trust": W&B runs shared ``runs/``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from jsonargparse import Namespace

from mmfa.errors import ConfigError
from mmfa.experiments.cv import _unit_name
from mmfa.experiments.run_config import inside, safe_name
from mmfa.loggers import run_name, uses_wandb, with_run_folder

REPO = Path(__file__).resolve().parents[2]
SMALL = [
    "--data.init_args.num_speakers=6",
    "--data.init_args.utterances_per_speaker=12",
    "--trainer.max_epochs=1",
]


@pytest.mark.parametrize(
    "hostile",
    ["../../../../victim", "/etc/passwd", "..", ".", "", "a/b\\c", "~root", "x\x00y", ".hidden"],
)
def test_fold_names_become_one_safe_folder_name(hostile: str, tmp_path: Path) -> None:
    name = _unit_name(hostile, 0, 1)
    assert name and "/" not in name and "\\" not in name and not name.startswith(".")
    folder = tmp_path / "run" / "folds" / name
    assert inside(tmp_path / "run" / "folds", folder) == folder
    assert folder.resolve().parent == (tmp_path / "run" / "folds").resolve()


def test_a_path_leaving_the_run_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="outside the run folder"):
        inside(tmp_path / "run", tmp_path / "run" / ".." / "victim")


def test_safe_names_keep_ordinary_fold_names() -> None:
    assert safe_name("Ses01F") == "Ses01F" and safe_name("pair1") == "pair1"
    assert safe_name("actors_01-02") == "actors_01-02"


def _logger(class_path: str, **init_args: object) -> Namespace:
    return Namespace(class_path=class_path, init_args=Namespace(**init_args))


def test_a_wandb_only_config_gets_a_csv_folder_first() -> None:
    wandb = _logger("lightning.pytorch.loggers.WandbLogger", project="mmfa", save_dir="out")
    loggers = with_run_folder(wandb, "ravdess-MMFAFusion")
    assert [e.class_path for e in loggers] == ["mmfa.loggers.CSVLogger", wandb.class_path]
    assert loggers[0].init_args == Namespace(save_dir="out", name="ravdess-MMFAFusion")
    assert uses_wandb(loggers) and not uses_wandb(loggers[:1])


def test_a_csv_logger_is_kept_and_put_first() -> None:
    csv = _logger("mmfa.loggers.CSVLogger", save_dir="runs", name="demo")
    wandb = _logger("mmfa.loggers.WandbLogger", project="mmfa")
    assert with_run_folder(csv, "x") is csv
    assert with_run_folder([wandb, csv], "x") == [csv, wandb]
    for unchanged in (None, True, False):
        assert with_run_folder(unchanged, "x") is unchanged


def test_run_name_is_corpus_and_fusion() -> None:
    config = Namespace(
        data=Namespace(class_path="mmfa.datamodules.ravdess.RAVDESSDataModule"),
        model=Namespace(fusion=Namespace(class_path="mmfa.fusion.simple.AudioOnly")),
    )
    assert run_name(config) == "ravdess-AudioOnly"
    assert run_name(Namespace()) == "run"


def _fit(cwd: Path, *args: str) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline"}
    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        env[var] = str(cwd / "wandb-home")
    proc = subprocess.run(
        [sys.executable, "-m", "mmfa", "fit", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_two_wandb_fits_in_a_row_leave_two_folders(tmp_path: Path) -> None:
    config = ["--config", str(REPO / "configs/demo.yaml")]
    config += ["--config", str(REPO / "configs/trainer/wandb_offline.yaml"), *SMALL]
    first = _fit(tmp_path, *config)
    run_files = (tmp_path / "runs/synthetic-MMFAFusion").rglob("*")
    written = {p: p.read_bytes() for p in run_files if p.is_file()}
    second = _fit(tmp_path, *config)
    folders = [tmp_path / "runs/synthetic-MMFAFusion" / f"version_{n}" for n in (0, 1)]
    for folder, out in zip(folders, (first, second), strict=True):
        assert f"Run folder: {folder.relative_to(tmp_path)}" in out
        for name in ("config.yaml", "metrics.csv", "predictions.csv", "skipped.csv"):
            assert (folder / name).is_file(), folder / name
        assert (folder / "checkpoints/best.ckpt").is_file()
        assert "val/UA" in (folder / "metrics.csv").read_text()  # local metrics beside W&B's
    assert len(list((tmp_path / "runs/wandb").glob("offline-run-*"))) == 2
    # Nothing the first run wrote was touched by the second; nothing lies loose in runs/.
    assert written and all(p.read_bytes() == data for p, data in written.items())
    assert not [p for p in (tmp_path / "runs").iterdir() if p.is_file()]


def test_cv_folder_is_named_after_corpus_and_fusion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not after the last --config: a recipe on two corpora would share one folder."""
    from mmfa.cli import main

    monkeypatch.chdir(tmp_path)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("model:\n  lr: 0.002\n")
    main(
        ["cv", "--config", str(REPO / "configs/demo.yaml"), "--config", str(recipe), *SMALL]
        + ["--trainer.enable_progress_bar=false", "--folds", "pair1", "--model.fusion=TextOnly"]
    )
    assert (tmp_path / "runs/cv/synthetic-TextOnly/folds/pair1/fold.json").is_file()
    assert not (tmp_path / "runs/cv/recipe").exists()
