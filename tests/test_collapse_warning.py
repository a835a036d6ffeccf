"""CollapseWarning: warns once after N chance-level validation epochs, names cause and fix."""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from mmfa.callbacks.collapse import CollapseWarning
from mmfa.problem import get_problem


def _epoch(
    callback: CollapseWarning, module: Any, predicted: list[int], target: list[int], epoch: int
) -> None:
    """One validation epoch: batches of what the task's validation_step returns."""
    trainer = SimpleNamespace(sanity_checking=False, world_size=1, current_epoch=epoch)
    callback.on_validation_epoch_start(trainer, module)  # type: ignore[arg-type]
    for start in range(0, len(predicted), 4):  # a few batches
        chunk = slice(start, start + 4)
        scores = torch.nn.functional.one_hot(torch.tensor(predicted[chunk]), 3).float()
        outputs = {"scores": scores, "target": torch.tensor(target[chunk])}
        callback.on_validation_batch_end(trainer, module, outputs, {}, 0)  # type: ignore[arg-type]
    callback.on_validation_epoch_end(trainer, module)  # type: ignore[arg-type]


TARGET = [0, 1, 2] * 4  # 12 utterances, 4 per class


@pytest.fixture
def module() -> Any:
    return SimpleNamespace(
        problem=get_problem("multiclass"),
        class_names=["neutral", "happy", "sad"],
        hparams={"num_outputs": 3},
    )


def test_warns_once_after_patience_one_class_epochs(module: Any) -> None:
    callback = CollapseWarning(patience=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(2):
            _epoch(callback, module, [1] * 12, TARGET, epoch)
        assert not caught and callback.streak == 2
        _epoch(callback, module, [1] * 12, TARGET, 2)
        _epoch(callback, module, [1] * 12, TARGET, 3)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "3 epochs in a row" in message and "1 of 3 classes predicted (happy 100%)" in message
    assert "UA 33.3% against a chance level of 33.3%" in message
    assert "audio_path=true" in message and "configs/recipe/practical.yaml" in message


def test_predictions_unrelated_to_the_labels_count_as_collapse(module: Any) -> None:
    # Two classes predicted by something other than the emotion (e.g. one per fixed sentence):
    # no single class dominates, but UA is exactly chance.
    predicted = [0, 0, 0, 2, 2, 2] * 2
    callback = CollapseWarning(patience=2)
    with pytest.warns(UserWarning, match="2 of 3 classes predicted"):
        _epoch(callback, module, predicted, TARGET, 0)
        _epoch(callback, module, predicted, TARGET, 1)


def test_a_learning_epoch_resets_the_streak(module: Any) -> None:
    callback = CollapseWarning(patience=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        _epoch(callback, module, [0] * 12, TARGET, 0)
        _epoch(callback, module, TARGET, TARGET, 1)  # perfect: not collapsed
        assert callback.streak == 0
        _epoch(callback, module, [2] * 12, TARGET, 2)
    assert callback.streak == 1
    assert CollapseWarning().state_dict() == {"streak": 0, "warned": False}


def test_sanity_check_and_other_tasks_are_ignored(module: Any) -> None:
    callback = CollapseWarning(patience=1)
    sanity = SimpleNamespace(sanity_checking=True, world_size=1, current_epoch=0)
    callback.on_validation_epoch_start(sanity, module)  # type: ignore[arg-type]
    callback.on_validation_epoch_end(sanity, module)  # type: ignore[arg-type]
    module.problem = get_problem("regression")
    _epoch(callback, module, [1] * 12, TARGET, 0)
    assert callback.streak == 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="patience"):
        CollapseWarning(patience=0)


def test_reads_what_the_real_task_returns_from_validation_step() -> None:
    from mmfa.fusion.single import AudioOnly
    from mmfa.models.task import EmotionTask

    task = EmotionTask(
        fusion=AudioOnly, text_dim=0, num_outputs=3, class_names=["neutral", "happy", "sad"]
    )
    task.eval()
    batch = {
        "audio": torch.randn(6, 10, 39),
        "audio_mask": None,
        "text": None,
        "text_mask": None,
        "target": torch.tensor([0, 1, 2] * 2),
    }
    outputs = task.validation_step(batch, 0)
    assert outputs["scores"].shape == (6, 3) and outputs["target"].tolist() == [0, 1, 2] * 2
    callback = CollapseWarning(patience=1)
    trainer = SimpleNamespace(sanity_checking=False, world_size=1, current_epoch=0)
    callback.on_validation_epoch_start(trainer, task)  # type: ignore[arg-type]
    callback.on_validation_batch_end(trainer, task, outputs, batch, 0)  # type: ignore[arg-type]
    assert callback._confusion is not None and int(callback._confusion.sum()) == 6
