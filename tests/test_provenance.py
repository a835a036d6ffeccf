"""The one provenance collector: every key present, no path of the machine, no torch on import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mmfa import provenance

REPO = Path(__file__).resolve().parents[1]


def test_collect_records_code_machine_and_packages() -> None:
    record = provenance.collect()
    assert set(record) == {
        "git",
        "python",
        "platform",
        "cpus",
        "cpu_capability",
        "torch_threads",
        "threads",
        "versions",
    }
    assert set(record["versions"]) == set(provenance.PACKAGES)
    assert record["versions"]["torch"] != "not installed"
    assert record["cpu_capability"] and record["torch_threads"] >= 1
    json.dumps(record)  # JSON-ready as it is


def test_nothing_recorded_names_a_path_of_this_machine() -> None:
    text = json.dumps(provenance.collect())
    for path in {str(REPO), str(Path.home()), sys.executable, sys.prefix, os.getcwd()}:
        assert path not in text


def test_a_missing_package_is_said_not_to_be_installed() -> None:
    versions = provenance.package_versions(["numpy", "surely-not-a-distribution"])
    assert versions["surely-not-a-distribution"] == "not installed"
    assert versions["numpy"] != "not installed"


def test_git_state_only_for_mmfa_s_own_checkout(tmp_path: Path) -> None:
    state = provenance.git_state()
    if (REPO / ".git").exists():
        assert state is not None and len(state["commit"]) == 40
        assert isinstance(state["dirty"], bool)
    assert provenance.git_state(tmp_path) is None  # not a checkout at all


def test_importing_it_imports_no_torch() -> None:
    code = "import sys, mmfa.provenance; print('torch' in sys.modules, 'lightning' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.split() == ["False", "False"]


def test_a_fit_records_its_thread_choice_in_the_run_folder(tmp_path: Path) -> None:
    """The thread count changes a result's last digits: `mmfa fit` writes it beside the run."""
    import yaml

    from mmfa.testing.demo_fit import fit_demo

    ckpt, _ = fit_demo(tmp_path)
    hparams = yaml.safe_load((ckpt.parents[1] / "hparams.yaml").read_text())
    threads = hparams["provenance"]["threads"]
    assert threads["threads"] >= 1 and threads["source"]
    assert hparams["provenance"]["cpu_capability"]
