"""The import floors: shared vocabulary at the bottom, no import runs back up a floor.

Read from the source with ``ast`` (every import statement, including ones inside functions or
under ``TYPE_CHECKING``), so a violation fails here whether or not a test happens to run it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mmfa"

#: The ground floor: imported by everything, importing no other mmfa module but each other.
GROUND = ("mmfa.manifest", "mmfa.layers", "mmfa.errors", "mmfa._lazy")

#: folder under mmfa/ -> mmfa packages its modules must never import.
_UPPER = ("mmfa.datamodules", "mmfa.models", "mmfa.fusion", "mmfa.experiments")
FORBIDDEN = {
    "features": _UPPER,
    "fusion": ("mmfa.models", "mmfa.datamodules", "mmfa.experiments"),
    "corpora": (*_UPPER, "mmfa.features"),  # pure parsing: manifest and errors only
    "synthetic": _UPPER,
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every absolute import in a source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_import_runs_back_up(folder: str) -> None:
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        for line, module in imported_modules(path)
        if any(_under(module, banned) for banned in FORBIDDEN[folder])
    ]
    assert not bad, "\n".join(bad)


def test_ground_floor_imports_only_itself() -> None:
    bad = []
    for name in GROUND:
        path = PACKAGE.parent / (name.replace(".", "/") + ".py")
        for line, module in imported_modules(path):
            if _under(module, "mmfa") and module not in GROUND:
                bad.append(f"{name}:{line} imports {module}")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rules above are only as good as the parser: it must see nested and typed imports."""
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from mmfa.models.task import EmotionTask\n"
        "def f():\n    import mmfa.datamodules.base\n"
    )
    assert [m for _, m in imported_modules(source)] == [
        "typing",
        "mmfa.models.task",
        "mmfa.datamodules.base",
    ]


def _heavy_after_import(modules: list[str]) -> list[str]:
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        "print(' '.join(m for m in ('torch', 'lightning', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


LIGHT = [
    *GROUND,
    "mmfa.datamodules.manifest",  # the old path, for plugins, stays light too
    "mmfa.datamodules",
    "mmfa.fusion",
    "mmfa.models",
    "mmfa.features",
    "mmfa.plugins",
    "mmfa.corpora",
    "mmfa.synthetic.corpus",  # the generator: numpy and scipy only
    "mmfa.testing.fakes",
    "mmfa.testing.fake_corpora",
]


def test_light_modules_import_without_torch_or_lightning() -> None:
    light = [m for m in LIGHT if m != "mmfa.layers"]  # layers *is* torch
    assert _heavy_after_import(light) == []


def test_corpus_readers_import_without_torch_or_lightning() -> None:
    readers = sorted(_module_name(p) for p in (PACKAGE / "corpora").glob("*.py"))
    if not readers:
        pytest.skip("no mmfa/corpora package yet")
    assert _heavy_after_import(readers) == []


def test_package_reexports_resolve() -> None:
    """Every lazily re-exported name exists (a typo would only fail on first use)."""
    import importlib

    packages = (
        "mmfa.corpora",
        "mmfa.datamodules",
        "mmfa.features",
        "mmfa.fusion",
        "mmfa.models",
        "mmfa.synthetic",
        "mmfa.testing.fakes",
        "mmfa.testing.fake_corpora",
    )
    for package in packages:
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            assert getattr(value, "__name__", name) == name, (package, name)
        with pytest.raises(AttributeError, match="no attribute"):
            module.NoSuchThing  # noqa: B018


def test_old_paths_are_the_same_objects() -> None:
    from mmfa import layers, manifest
    from mmfa.datamodules import manifest as old_manifest
    from mmfa.fusion import MMFAFusion
    from mmfa.fusion.mmfa import MMFAFusion as direct
    from mmfa.models import layers as old_layers

    assert MMFAFusion is direct
    assert old_manifest.Utterance is manifest.Utterance and old_manifest.SPLITS is manifest.SPLITS
    assert all(getattr(old_layers, n) is getattr(layers, n) for n in old_layers.__all__)


@pytest.mark.parametrize("corpus", ["iemocap", "meld", "mosei"])
def test_datamodule_modules_still_export_the_reader_names(corpus: str) -> None:
    """``from mmfa.datamodules.meld import read_meld`` (the old home) keeps working."""
    import importlib

    reader = importlib.import_module(f"mmfa.corpora.{corpus}")
    datamodule = importlib.import_module(f"mmfa.datamodules.{corpus}")
    for name in reader.__all__:
        assert getattr(datamodule, name) is getattr(reader, name), name
