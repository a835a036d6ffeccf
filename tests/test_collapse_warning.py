"""CollapseWarning: warns once after N chance-level validation epochs, names cause and fix."""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn

from mmfa.callbacks.collapse import CollapseWarning
from mmfa.problem import get_problem


class _Logits(nn.Module):
    """Stands in for the task's network: returns whatever logits the test sets."""

    def __init__(self) -> None:
        super().__init__()
        self.logits = torch.zeros(1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits


def _epoch(
    callback: CollapseWarning, module: Any, predicted: list[int], target: list[int], epoch: int
) -> None:
    trainer = SimpleNamespace(sanity_checking=False, world_size=1, current_epoch=epoch)
    callback.on_validation_epoch_start(trainer, module)  # type: ignore[arg-type]
    for start in range(0, len(predicted), 4):  # a few batches
        chunk = slice(start, start + 4)
        module.network.logits = torch.nn.functional.one_hot(torch.tensor(predicted[chunk]), 3)
        module.network(torch.zeros(1))
        batch = {"target": torch.tensor(target[chunk])}
        callback.on_validation_batch_end(trainer, module, None, batch, 0)  # type: ignore[arg-type]
    callback.on_validation_epoch_end(trainer, module)  # type: ignore[arg-type]


TARGET = [0, 1, 2] * 4  # 12 utterances, 4 per class


@pytest.fixture
def module() -> Any:
    return SimpleNamespace(
        network=_Logits(),
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
    assert callback.streak == 0 and not module.network._forward_hooks


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="patience"):
        CollapseWarning(patience=0)
