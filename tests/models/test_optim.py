"""Optimisers, schedules and class weights of the paper and of the practical recipe."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmfa.errors import ConfigError
from mmfa.models.optim import build_optimizer, build_schedule, class_weights, schedule_factor


def test_keras_decay_is_the_papers() -> None:
    for step in (0, 10, 12345):
        assert schedule_factor(step, "keras_decay", 100, lr_decay=1e-6) == 1 / (1 + 1e-6 * step)


def test_cosine_warms_up_then_decays_to_zero() -> None:
    total, warm = 200, 0.1
    factors = [schedule_factor(s, "cosine", total, warmup=warm) for s in range(total + 1)]
    assert factors[0] == pytest.approx(1 / 20) and factors[19] == pytest.approx(1.0)
    assert factors[20] == pytest.approx(1.0) and factors[-1] == pytest.approx(0.0)
    assert factors[110] == pytest.approx(0.5 * (1 + math.cos(math.pi * 90 / 180)))
    after = factors[20:]
    assert all(a >= b for a, b in zip(after, after[1:], strict=False))


@pytest.mark.parametrize("name", ["keras_decay", "cosine", "onecycle"])
def test_schedules_step_the_optimiser(name: str) -> None:
    param = torch.nn.Parameter(torch.zeros(2))
    opt = build_optimizer([param], "adamw", lr=0.01, weight_decay=0.01)
    schedule = build_schedule(opt, name, total_steps=10, warmup=0.2, lr_decay=1e-6)  # type: ignore[arg-type]
    lrs = []
    for _ in range(10):
        opt.step()
        schedule.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert all(lr >= 0 for lr in lrs) and max(lrs) <= 0.01 + 1e-12


def test_unknown_names_name_the_key() -> None:
    with pytest.raises(ConfigError, match="model.optimizer"):
        build_optimizer([torch.nn.Parameter(torch.zeros(1))], "rmsprop")  # type: ignore[arg-type]
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(ConfigError, match="model.schedule"):
        build_schedule(opt, "step")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="model.class_weight"):
        class_weights({"a": 1}, "inverse")  # type: ignore[arg-type]


def test_balanced_class_weights_match_scikit_learn() -> None:
    from sklearn.utils.class_weight import compute_class_weight

    counts = {"neutral": 10, "happy": 30, "sad": 0, "angry": 20}
    labels = [i for i, n in enumerate(counts.values()) for _ in range(n)]
    present = np.array([0, 1, 3])
    expected = compute_class_weight("balanced", classes=present, y=labels)
    weights = class_weights(counts, "balanced")
    assert weights is not None
    torch.testing.assert_close(weights[present], torch.tensor(expected, dtype=torch.float32))
    assert weights[2] == 0 and class_weights(counts, "none") is None


def test_weight_decay_none_keeps_torch_defaults() -> None:
    params = [torch.nn.Parameter(torch.zeros(1))]
    assert build_optimizer(params, "adamw").param_groups[0]["weight_decay"] == 0.01
    assert build_optimizer(params, "sgd").param_groups[0]["weight_decay"] == 0
    assert build_optimizer(params, "adam", weight_decay=0.1).param_groups[0]["weight_decay"] == 0.1
