"""Model selection on the problem's validation metric (mmfa.callbacks.selection)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

from mmfa.callbacks.selection import BestCheckpoint, ProblemEarlyStopping
from mmfa.errors import ConfigError
from mmfa.problem import PROBLEM_TYPES, get_problem

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--data.init_args.num_speakers=6", "--data.init_args.utterances_per_speaker=12"]


def _task(kind: str) -> Any:
    """Stands in for the task at setup: selection reads only its ``problem``."""
    return SimpleNamespace(problem=get_problem(kind))


def _set_up(callback: L.Callback, module: Any, tmp_path: Path) -> None:
    trainer = L.Trainer(default_root_dir=tmp_path, logger=False, enable_checkpointing=False)
    callback.setup(trainer, module, "fit")


@pytest.mark.parametrize("kind", PROBLEM_TYPES)
def test_monitor_and_mode_come_from_the_problem(kind: str, tmp_path: Path) -> None:
    problem = get_problem(kind)
    checkpoint, stopping = BestCheckpoint(), ProblemEarlyStopping(patience=4, min_delta=0.01)
    assert (checkpoint.monitor, checkpoint.mode) == (None, None)  # not known before setup
    assert (stopping.monitor, stopping.mode) == (None, None)
    for callback in (checkpoint, stopping):
        _set_up(callback, _task(kind), tmp_path)
    # The same state as Lightning's own callbacks given the problem's monitor and mode.
    plain_ckpt = ModelCheckpoint(monitor=problem.monitor, mode=problem.mode)
    plain_stop = EarlyStopping(
        monitor=problem.monitor, mode=problem.mode, patience=4, min_delta=0.01
    )
    assert (checkpoint.monitor, checkpoint.mode) == (problem.monitor, problem.mode)
    assert torch.equal(checkpoint.kth_value, plain_ckpt.kth_value)
    for name in ("monitor", "mode", "min_delta", "patience", "best_score"):
        assert getattr(stopping, name) == getattr(plain_stop, name), name
    assert stopping.monitor_op == plain_stop.monitor_op

    # Saved under Lightning's keys, as before: old checkpoints resume, `mmfa export` reads them.
    assert checkpoint.state_key == plain_ckpt.state_key
    assert stopping.state_key == plain_stop.state_key


def test_a_plain_twin_in_trainer_callbacks_is_named(tmp_path: Path) -> None:
    """An old-style config's own ModelCheckpoint on the same metric: said, with the fix."""
    checkpoint = BestCheckpoint()
    trainer = L.Trainer(
        default_root_dir=tmp_path,
        logger=False,
        callbacks=[ModelCheckpoint(monitor="val/UA", mode="max"), checkpoint],
    )
    with pytest.warns(UserWarning, match="Remove it; mmfa's takes the same arguments"):
        checkpoint.setup(trainer, _task("multiclass"), "fit")


def test_selection_defaults_are_mmfas() -> None:
    checkpoint = BestCheckpoint()
    assert (checkpoint.filename, checkpoint.save_top_k) == ("best", 1)
    assert checkpoint.auto_insert_metric_name is False


def test_an_explicit_monitor_wins(tmp_path: Path) -> None:
    checkpoint = BestCheckpoint(monitor="val/F1_w")
    stopping = ProblemEarlyStopping(monitor="val/loss", patience=8)
    for callback in (checkpoint, stopping):
        _set_up(callback, _task("regression"), tmp_path)  # the problem would say val/MAE, min
    assert (checkpoint.monitor, checkpoint.mode) == ("val/F1_w", "max")  # the key's direction
    assert (stopping.monitor, stopping.mode) == ("val/loss", "min")
    assert BestCheckpoint(monitor="val/loss", mode="max").mode == "max"  # a given mode wins


def test_unclear_settings_say_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mode='min' without a monitor"):
        BestCheckpoint(mode="min")
    with pytest.raises(ConfigError, match="better high or low; set its mode"):
        ProblemEarlyStopping(monitor="val/my_metric")
    with pytest.raises(ConfigError, match="has no problem to take it from"):
        _set_up(BestCheckpoint(), SimpleNamespace(), tmp_path)


def _fit(tmp_path: Path, *args: str) -> Any:
    from mmfa.lightning_cli import run_cli

    return run_cli(
        [
            "fit",
            "--config",
            str(REPO / "configs/demo.yaml"),
            "--trainer.logger=false",
            "--trainer.enable_progress_bar=false",
            f"--trainer.default_root_dir={tmp_path}",
            "--test_after_fit=false",
            *SMALL,
            *args,
        ]
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_every_run_keeps_its_best_epoch_and_resumes_with_it(tmp_path: Path) -> None:
    cli = _fit(tmp_path, "--trainer.max_epochs=2")
    checkpoint = cli.trainer.checkpoint_callback
    assert isinstance(checkpoint, BestCheckpoint)
    assert (checkpoint.monitor, checkpoint.mode) == ("val/UA", "max")
    assert Path(checkpoint.best_model_path) == tmp_path / "checkpoints" / "best.ckpt"
    stopping = cli.trainer.early_stopping_callback
    assert isinstance(stopping, ProblemEarlyStopping)
    assert (stopping.monitor, stopping.mode, stopping.patience) == ("val/UA", "max", 25)
    best = checkpoint.best_model_score
    assert best is not None

    # Resuming: the states saved under Lightning's keys come back (setup runs before restoring).
    resumed = _fit(tmp_path, "--trainer.max_epochs=2", f"--ckpt_path={checkpoint.best_model_path}")
    again = resumed.trainer.checkpoint_callback
    assert isinstance(again, BestCheckpoint)
    assert again.best_model_score is not None and float(again.best_model_score) == float(best)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_checkpointing_can_still_be_turned_off(tmp_path: Path) -> None:
    cli = _fit(
        tmp_path,
        "--trainer.max_epochs=1",
        "--trainer.enable_checkpointing=false",
        "--trainer.callbacks=[]",
    )
    assert cli.trainer.checkpoint_callback is None
    assert not (tmp_path / "checkpoints").exists()
