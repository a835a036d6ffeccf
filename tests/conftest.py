"""Test-wide settings: no network, caches in a temporary folder removed at exit, W&B offline."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# Set before transformers / huggingface_hub / wandb are imported: they read these at import time.
_TMP = Path(tempfile.mkdtemp(prefix="mmfa-tests-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["MMFA_CACHE_DIR"] = str(_TMP / "cache")
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
    os.environ[var] = str(_TMP / "wandb")

import pytest  # noqa: E402


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's cache and W&B folder (subprocesses started by tests have ended)."""
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """The session's feature cache (also $MMFA_CACHE_DIR)."""
    return Path(os.environ["MMFA_CACHE_DIR"])


@pytest.fixture(scope="session")
def small_synthetic(cache_dir: Path):  # type: ignore[no-untyped-def]
    """A small synthetic corpus datamodule with features extracted once for the session."""
    from mmfa.datamodules.synthetic import SyntheticDataModule

    dm = SyntheticDataModule(
        num_speakers=6, utterances_per_speaker=12, batch_size=8, cache_dir=str(cache_dir)
    )
    dm.prepare_data()
    dm.setup("fit")
    return dm
