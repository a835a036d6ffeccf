"""CollapseWarning: warns once after N collapsed validation epochs, names the cause and the fix."""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn

from mmfa.callbacks.collapse import CollapseWarning


class _Logits(nn.Module):
    """Stands in for the task's network: returns whatever logits the test sets."""

    def __init__(self) -> None:
        super().__init__()
        self.logits = torch.zeros(1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits


def _epoch(callback: CollapseWarning, module: Any, predicted: list[int], epoch: int) -> None:
    trainer = SimpleNamespace(sanity_checking=False, world_size=1, current_epoch=epoch)
    callback.on_validation_epoch_start(trainer, module)  # type: ignore[arg-type]
    for start in range(0, len(predicted), 4):  # a few batches
        module.network.logits = torch.nn.functional.one_hot(
            torch.tensor(predicted[start : start + 4]), 3
        ).float()
        module.network(torch.zeros(1))
    callback.on_validation_epoch_end(trainer, module)  # type: ignore[arg-type]


@pytest.fixture
def module() -> Any:
    return SimpleNamespace(
        network=_Logits(), task_type="multiclass", class_names=["neutral", "happy", "sad"]
    )


def test_warns_once_after_patience_collapsed_epochs(module: Any) -> None:
    callback = CollapseWarning(patience=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(2):
            _epoch(callback, module, [1] * 10, epoch)
        assert not caught and callback.streak == 2
        _epoch(callback, module, [1] * 10, 2)
        _epoch(callback, module, [1] * 10, 3)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "'happy'" in message and "3 epochs in a row" in message
    assert "audio_path=true" in message and "configs/recipe/practical.yaml" in message


def test_a_varied_epoch_resets_the_streak(module: Any) -> None:
    callback = CollapseWarning(patience=2, share=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        _epoch(callback, module, [0] * 10, 0)
        _epoch(callback, module, [0] * 8 + [1, 2], 1)  # 80% < 90%: not collapsed
        assert callback.streak == 0
        _epoch(callback, module, [2] * 10, 2)
    assert callback.streak == 1
    assert CollapseWarning().state_dict() == {"streak": 0, "warned": False}


def test_sanity_check_and_other_tasks_are_ignored(module: Any) -> None:
    callback = CollapseWarning(patience=1)
    sanity = SimpleNamespace(sanity_checking=True, world_size=1, current_epoch=0)
    callback.on_validation_epoch_start(sanity, module)  # type: ignore[arg-type]
    callback.on_validation_epoch_end(sanity, module)  # type: ignore[arg-type]
    module.task_type = "regression"
    _epoch(callback, module, [1] * 10, 0)
    assert callback.streak == 0 and not module.network._forward_hooks


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="patience"):
        CollapseWarning(patience=0)
