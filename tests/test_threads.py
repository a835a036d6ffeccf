"""Thread defaults: cores shared among processes, env var and explicit settings win."""

from __future__ import annotations

import pytest
import torch

from mmfa.errors import ConfigError
from mmfa.threads import ENV_VAR, configure_threads, default_threads


def test_cores_are_shared_among_processes() -> None:
    assert default_threads(cores=16) == 16
    assert default_threads(cores=16, ranks=2) == 8
    assert default_threads(cores=16, ranks=2, dataloader_workers=3) == 2
    assert default_threads(cores=2, ranks=2, dataloader_workers=2) == 1  # never below one
    assert default_threads(cores=8, extract_workers=3) == 2
    assert default_threads(cores=2, load=4.2) == 1  # a busy shared machine
    assert default_threads(cores=16, load=3.0) == 13


@pytest.fixture
def restore_threads() -> object:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_precedence(monkeypatch: pytest.MonkeyPatch, restore_threads: object) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("mmfa.threads.usable_cores", lambda: 4)
    monkeypatch.setattr("os.getloadavg", lambda: (0.0, 0.0, 0.0))
    assert configure_threads(ranks=2) == 2 == torch.get_num_threads()
    assert configure_threads(3, ranks=2) == 3 == torch.get_num_threads()
    monkeypatch.setenv(ENV_VAR, "1")
    assert configure_threads(3) == 1 == torch.get_num_threads()
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    assert configure_threads(ranks=1) == 1  # the user's OMP_NUM_THREADS is respected


def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "many")
    with pytest.raises(ConfigError, match=ENV_VAR):
        configure_threads()
    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(ConfigError, match="threads"):
        configure_threads(0)
