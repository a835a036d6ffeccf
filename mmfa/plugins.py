"""Plugin discovery through entry points: list without importing, load with clear warnings.

Built-in corpora, fusions, audio and text front-ends register in the same groups as
third-party ones (``mmfa.datamodules``, ``mmfa.fusion``, ``mmfa.frontends``, ``mmfa.text``), so
there is one way to find them all; the last three are also the only classes a checkpoint may
name (:mod:`mmfa.checkpoints`). A plugin that fails to import is reported and skipped; it never
breaks the CLI. Set ``MMFA_DISABLE_PLUGIN_AUTOLOAD=1`` to load only mmfa's own entries.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points

GROUPS = ("mmfa.datamodules", "mmfa.fusion", "mmfa.frontends", "mmfa.text")


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin, as its package declared it (nothing imported)."""

    group: str
    name: str
    target: str  # "module:Class"
    package: str


def list_plugins(groups: tuple[str, ...] = GROUPS) -> list[PluginInfo]:
    """Every registered plugin, sorted by group and name, without importing any of them."""
    found = []
    for group in groups:
        for ep in entry_points(group=group):
            dist = ep.dist.name if ep.dist is not None else "?"
            found.append(PluginInfo(group, ep.name, ep.value, dist))
    return sorted(found, key=lambda p: (p.group, p.name))


def load_plugins(groups: tuple[str, ...] = GROUPS) -> dict[str, type]:
    """Import every plugin class so LightningCLI can resolve short class names.

    Returns:
        ``{"group:name": class}`` of the plugins that loaded. Failures are warned about.
    """
    own_only = os.environ.get("MMFA_DISABLE_PLUGIN_AUTOLOAD", "") not in ("", "0")
    loaded: dict[str, type] = {}
    for info in list_plugins(groups):
        if own_only and info.package != "mmfa":
            continue
        module_name, _, attr = info.target.partition(":")
        try:
            obj = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception as err:  # a broken plugin must never break the CLI
            warnings.warn(
                f"mmfa plugin {info.name!r} ({info.target}, from package "
                f"{info.package}) failed to load and is skipped: "
                f"{type(err).__name__}: {err}",
                stacklevel=2,
            )
            continue
        loaded[f"{info.group}:{info.name}"] = obj  # type: ignore[assignment]
    return loaded


def format_plugins(plugins: list[PluginInfo]) -> str:
    """A table for ``mmfa plugins``."""
    rows = [("GROUP", "NAME", "CLASS", "PACKAGE")]
    rows += [(p.group, p.name, p.target, p.package) for p in plugins]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def plugins_main(argv: list[str]) -> None:
    """``mmfa plugins``: print every installed plugin by entry-point group (nothing imported)."""
    import argparse

    argparse.ArgumentParser(
        prog="mmfa plugins",
        description="List the installed datamodule, fusion and front-end plugins (read from "
        "package metadata: nothing is imported).",
    ).parse_args(argv)
    print(format_plugins(list_plugins()))
