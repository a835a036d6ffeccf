"""Lazy re-exports for package ``__init__`` files.

``from mmfa.fusion import MMFAFusion`` should work, yet importing a package (say, for
``mmfa.datamodules.manifest``, or ``mmfa plugins`` listing entry points) must not pull in torch or
lightning. So a package names its public objects and where they live, and each is imported on
first access (PEP 562 module ``__getattr__``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build a package's module-level ``__getattr__`` and ``__dir__``.

    Args:
        package: the package's ``__name__``.
        exports: public name -> module that defines it (absolute dotted path).

    Returns:
        ``(__getattr__, __dir__)`` to assign at module level in the package ``__init__``.
    """
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
