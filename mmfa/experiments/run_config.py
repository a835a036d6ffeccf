"""What identifies a cross-validation run: its resolved configuration, hashed, and safe fold names.

A run folder is resumable: ``mmfa cv`` skips folds that finished earlier. That is only honest if
the earlier folds ran under the same configuration, so ``run.json`` records a hash of the
resolved configuration (without the keys that legitimately change per fold or per machine) and
each ``fold.json`` repeats it; resuming under another configuration is refused with the keys that
differ. Fold names come from the data (speaker ids, plugin folds), so they are sanitised before
they become folder names.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from mmfa.errors import ConfigError

#: Keys that may differ between a run's folds or between resumptions without changing results.
VOLATILE = (
    "trainer.default_root_dir",
    "trainer.enable_progress_bar",
    "data.init_args.fold",
    "data.init_args.cache_dir",
    "data.init_args.num_workers",
    "data.init_args.extract_workers",
    "predictions.dirpath",
    "seed_everything",
)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists stay values)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}


def identity(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration keys that decide a run's numbers (everything but :data:`VOLATILE`)."""
    flat = flatten(config)
    return {
        k: v for k, v in flat.items() if not any(k == p or k.startswith(p + ".") for p in VOLATILE)
    }


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 of :func:`identity`, stable across key order."""
    blob = json.dumps(identity(config), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def differing_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old -> new`` lines for every identity key that differs."""
    a, b = identity(old), identity(new)
    return [
        f"{key}: {a.get(key, '<unset>')!r} -> {b.get(key, '<unset>')!r}"
        for key in sorted(set(a) | set(b))
        if a.get(key, "<unset>") != b.get(key, "<unset>")
    ]


def check_resume(run_dir: Path, config: dict[str, Any]) -> None:
    """Refuse to resume ``run_dir`` under a configuration other than the one it started with.

    Raises:
        ConfigError: naming the differing keys and the two ways out.
    """
    path = run_dir / "run.json"
    if not path.exists():
        return
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"{path} cannot be read ({err}); it is not a run folder mmfa cv can resume. "
            "Choose another --out."
        ) from None
    old = earlier.get("config")
    if old is None or earlier.get("config_sha256") == config_hash(config):
        return
    diff = differing_keys(old, config)
    more = f"\n  ... and {len(diff) - 20} more" if len(diff) > 20 else ""
    shown = "\n  ".join(diff[:20]) + more
    raise ConfigError(
        f"{run_dir} holds folds run under another configuration; resuming would mix them.\n"
        f"Differing keys:\n  {shown}\n"
        "Rerun with the original settings to finish it, or pass --new-run to start a fresh "
        "folder beside it (or --out to name one)."
    )


def fresh_folder(run_dir: Path) -> Path:
    """``run_dir`` if free, else the first free ``run_dir-2``, ``run_dir-3``, ..."""
    candidate, n = run_dir, 1
    while candidate.exists():
        n += 1
        candidate = run_dir.with_name(f"{run_dir.name}-{n}")
    return candidate


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A fold name fit to be one folder name: no separators, no ``..``, never empty or hidden.

    A name that had to change gets a short hash of the original, so that names differing only
    in unsafe characters (``x/y`` and ``x_y``) never share a folder.
    """
    cleaned = (_UNSAFE.sub("_", name).strip("._") or "fold")[:90]
    if cleaned == name:
        return cleaned
    return f"{cleaned}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def inside(folder: Path, path: Path) -> Path:
    """``path``, after checking that it resolves inside ``folder`` (never written outside).

    Raises:
        ConfigError: the path would leave the folder.
    """
    resolved, root = path.resolve(), folder.resolve()
    if resolved != root and root not in resolved.parents:
        raise ConfigError(f"refusing to write {path}: it is outside the run folder {folder}")
    return path
