"""The import floors: shared vocabulary at the bottom, no import runs back up a floor.

Read from the source with ``ast`` (every import statement, including ones inside functions or
under ``TYPE_CHECKING``), so a violation fails here whether or not a test happens to run it.
"""

from __future__ import annotations

import ast
import re
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


def imported_modules(
    path: Path, *, names: bool = False, root: Path = PACKAGE
) -> list[tuple[int, str]]:
    """``(line, module)`` for every import statement in a source file of the package ``root``.

    Relative imports are resolved against the file's package. With ``names``, ``from X import
    y`` also gives ``X.y`` (a module when ``y`` is a submodule: ``from mmfa import checkpoints``).
    """
    found = []
    package = _module_name(path, root).split(".") if path.is_relative_to(root) else []
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module:
                found.append((node.lineno, module))
                if names:
                    found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
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


#: module -> mmfa packages it must never import, beside the folder rules above.
MODULE_FORBIDDEN = {
    # Plain data, loading and the class registry; the task builds itself from a checkpoint.
    "mmfa.checkpoints": ("mmfa.models",),
}


def _source(module: str) -> Path:
    path = PACKAGE.parent / module.replace(".", "/")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


@pytest.mark.parametrize("module", sorted(MODULE_FORBIDDEN))
def test_module_does_not_import(module: str) -> None:
    bad = [
        f"{module}:{line} imports {imported}"
        for line, imported in imported_modules(_source(module), names=True)
        if any(_under(imported, banned) for banned in MODULE_FORBIDDEN[module])
    ]
    assert not bad, "\n".join(bad)


def test_problem_imports_only_the_ground_floor() -> None:
    """The problem types are vocabulary: metrics, tasks and reports import them, never back."""
    modules = set(import_graph())
    bad = [
        f"mmfa.problem:{line} imports {module}"
        for line, module in imported_modules(_source("mmfa.problem"), names=True)
        if module in modules and module not in (*GROUND, "mmfa")
    ]
    assert not bad, "\n".join(bad)


#: What counts as importing an optimiser: torch's, mmfa's recipe, transformers' schedules.
_OPTIMIZER = re.compile(
    r"^(torch\.optim|mmfa\.models\.optim|transformers\.optimization)(\.|$)"
    r"|^transformers\.(AdamW|Adafactor|get_\w*schedule\w*)$"
)


def optimizer_uses(path: Path) -> list[str]:
    """Imports of an optimiser, and ``torch.optim`` reached as an attribute, in a source file."""
    found = [
        f"{line} imports {module}"
        for line, module in imported_modules(path, names=True)
        if _OPTIMIZER.match(module)
    ]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "optim"
            and isinstance(node.value, ast.Name)
            and node.value.id == "torch"
        ):
            found.append(f"{node.lineno} uses torch.optim")
    return found


def test_features_never_import_an_optimizer() -> None:
    """Front-ends compute features; training anything (e.g. fine-tuning an encoder) lives above."""
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{use}"
        for path in sorted((PACKAGE / "features").rglob("*.py"))
        for use in optimizer_uses(path)
    ]
    assert not bad, "\n".join(bad)


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module of ``root`` -> the modules of ``root`` it imports, counting every import statement.

    Function-level and ``TYPE_CHECKING`` imports count: they are loops all the same, deferred
    (one refactor away from failing at import time) or hidden from the type checker's view of
    the layers. A package's lazy ``__getattr__`` exports count through their ``TYPE_CHECKING``
    block.
    """
    modules = {_module_name(p, root): p for p in root.rglob("*.py")}
    return {
        name: {
            m
            for _, m in imported_modules(path, names=True, root=root)
            if m in modules and m != name
        }
        for name, path in modules.items()
    }


def import_cycles(root: Path = PACKAGE) -> list[list[str]]:
    """The groups of modules of ``root`` that import each other round a loop, each sorted."""
    import networkx as nx  # a dependency of torch

    graph = nx.DiGraph([(a, b) for a, targets in import_graph(root).items() for b in targets])
    return sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)


def test_no_import_cycle() -> None:
    cycles = import_cycles()
    edges = import_graph()
    shown = [
        " / ".join(f"{m} -> {sorted(edges[m] & set(cycle))}" for m in cycle) for cycle in cycles
    ]
    assert not cycles, "import loops in mmfa/:\n" + "\n".join(shown)


def test_the_checker_sees_a_loop(tmp_path: Path) -> None:
    """Loops closed by ``from package import module``, a function-level relative import, or an
    import under ``TYPE_CHECKING`` are all found."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def f():\n    from . import a\n")
    (package / "c.py").write_text("import pkg.sub.d\n")
    (package / "sub" / "d.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..c import X\n"
    )
    assert import_cycles(package) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.sub.d"]]


def test_the_checker_sees_an_optimizer(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text(
        "from torch.optim import SGD\nfrom transformers import get_cosine_schedule_with_warmup\n"
        "def f(torch):\n    return torch.optim.AdamW\n"
    )
    assert {use.split()[0] for use in optimizer_uses(source)} == {"1", "2", "4"}


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
    "mmfa.datamodules",
    "mmfa.fusion",
    "mmfa.models",
    "mmfa.features",
    "mmfa.plugins",
    "mmfa.corpora",
    "mmfa.synthetic.corpus",  # the generator: numpy and scipy only
    "mmfa.testing.fakes",
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
    )
    for package in packages:
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            assert getattr(value, "__name__", name) == name, (package, name)
        with pytest.raises(AttributeError, match="no attribute"):
            module.NoSuchThing  # noqa: B018
