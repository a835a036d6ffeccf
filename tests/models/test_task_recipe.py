"""The practical recipe's task options: label smoothing, class weights, schedules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from mmfa.fusion.single import AudioOnly
from mmfa.models.task import EmotionTask


def _task(dm: Any, **kwargs: Any) -> EmotionTask:
    return EmotionTask(
        fusion=AudioOnly,
        audio_dim=dm.audio_dim,
        text_dim=dm.text_dim,
        num_outputs=dm.num_outputs,
        class_names=list(dm.class_names),
        **kwargs,
    )


def test_defaults_are_the_papers(small_synthetic: Any) -> None:
    hp = _task(small_synthetic).hparams
    assert (hp["optimizer"], hp["schedule"], hp["label_smoothing"]) == ("sgd", "keras_decay", 0)
    assert (hp["class_weight"], hp["modality_dropout"], hp["weight_decay"]) == ("none", 0, None)


def test_label_smoothing_applies_in_training_only(small_synthetic: Any) -> None:
    task = _task(small_synthetic, label_smoothing=0.2)
    logits, target = torch.tensor([[4.0, 0.0, 0.0, 0.0]]), torch.tensor([0])
    task.train()
    smoothed = task._loss(logits, target)
    task.eval()
    plain = task._loss(logits, target)
    assert smoothed > plain
    torch.testing.assert_close(plain, torch.nn.functional.cross_entropy(logits, target))


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_recipe_trains_with_class_weights(
    small_synthetic: Any, schedule: str, tmp_path: Path
) -> None:
    task = _task(
        small_synthetic,
        optimizer="adamw",
        lr=3e-3,
        weight_decay=0.05,
        schedule=schedule,
        warmup=0.1,
        label_smoothing=0.1,
        class_weight="balanced",
    )
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        default_root_dir=str(tmp_path),
    )
    trainer.fit(task, datamodule=small_synthetic)
    assert task.class_weights is not None and task.class_weights.shape == (
        task.hparams["num_outputs"],
    )
    assert torch.isfinite(torch.tensor(float(trainer.callback_metrics["train/loss"])))
