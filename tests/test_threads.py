"""Thread defaults: cores shared among a run's processes, never the load; env and settings win."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import mmfa
from mmfa.errors import ConfigError
from mmfa.threads import ENV_VAR, configure_threads, default_threads, thread_choice


def test_cores_are_shared_among_processes() -> None:
    assert default_threads(cores=16) == 16
    assert default_threads(cores=16, ranks=2) == 8
    assert default_threads(cores=16, ranks=2, dataloader_workers=3) == 2
    assert default_threads(cores=2, ranks=2, dataloader_workers=2) == 1  # never below one
    assert default_threads(cores=8, extract_workers=3) == 2


@pytest.fixture
def restore_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_precedence(monkeypatch: pytest.MonkeyPatch, restore_threads: None) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("mmfa.threads.usable_cores", lambda: 4)
    assert configure_threads(ranks=2) == 2 == torch.get_num_threads()
    assert thread_choice()["threads"] == 2 and "4 cores" in str(thread_choice()["source"])
    assert configure_threads(3, ranks=2) == 3 == torch.get_num_threads()
    assert thread_choice() == {"threads": 3, "source": "configured"}
    monkeypatch.setenv(ENV_VAR, "1")
    assert configure_threads(3) == 1 == torch.get_num_threads()
    assert thread_choice() == {"threads": 1, "source": f"${ENV_VAR}"}
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    assert configure_threads(ranks=1) == 1  # the user's OMP_NUM_THREADS is respected


def test_the_machine_load_never_decides(
    monkeypatch: pytest.MonkeyPatch, restore_threads: None
) -> None:
    """Other work on the machine must not change the count (it changes the trained numbers)."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("mmfa.threads.usable_cores", lambda: 4)

    def busy() -> tuple[float, float, float]:
        raise AssertionError("mmfa read the load average")

    monkeypatch.setattr("os.getloadavg", busy, raising=False)
    assert configure_threads() == 4
    sources = Path(mmfa.__file__).parent.rglob("*.py")
    assert not [p for p in sources if "getloadavg" in p.read_text(encoding="utf-8")]


def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "many")
    with pytest.raises(ConfigError, match=ENV_VAR):
        configure_threads()
    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(ConfigError, match="threads"):
        configure_threads(0)
