"""Plugin discovery: listing imports nothing, a broken plugin warns and is skipped."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

import mmfa.plugins as plugins


def test_listing_imports_no_plugin_module() -> None:
    code = (
        "import sys; from mmfa.plugins import list_plugins; ps = list_plugins(); "
        "assert any(p.name == 'iemocap' for p in ps); "
        "loaded = [m for m in sys.modules if m.startswith(('mmfa.datamodules', 'mmfa.fusion'))]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_broken_plugin_is_reported_and_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    good = EntryPoint(
        "synthetic", "mmfa.datamodules.synthetic:SyntheticDataModule", "mmfa.datamodules"
    )
    broken = EntryPoint("broken", "no_such_module_xyz:Thing", "mmfa.datamodules")
    monkeypatch.setattr(plugins, "entry_points", lambda group: [good, broken])
    with pytest.warns(UserWarning, match="broken.*failed to load and is skipped"):
        loaded = plugins.load_plugins(("mmfa.datamodules",))
    assert list(loaded) == ["mmfa.datamodules:synthetic"]


def test_listing_covers_text_front_ends_without_importing_torch() -> None:
    code = (
        "import sys; from mmfa.plugins import list_plugins; ps = list_plugins(); "
        "texts = {p.name: p.target for p in ps if p.group == 'mmfa.text'}; "
        "assert texts.get('bert') == 'mmfa.features.text:TextFeatureExtractor', texts; "
        "heavy = [m for m in ('torch', 'lightning', 'transformers') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_lists_every_group(capsys: pytest.CaptureFixture[str]) -> None:
    from mmfa.cli import main

    main(["plugins"])
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]}
    assert set(plugins.GROUPS) <= listed
