"""Self-contained checkpoints: everything inference needs travels inside the ``.ckpt``.

``mmfa fit`` (and every fold of ``mmfa cv``) stores under the checkpoint's ``"mmfa"`` key the class
names and problem type, the audio and text front-ends (class, arguments and the exact settings
that key the feature store), the fusion and its arguments, and the mmfa version. Only plain data
(strings, numbers, lists, dicts) is stored, so checkpoints load with ``torch.load(...,
weights_only=True)``: no pickled code runs, and a remote checkpoint is never loaded otherwise.

A checkpoint names its classes, but it cannot make mmfa call whatever it names: each name must be
a registered entry point (mmfa's own or an installed plugin's) of the group for its role
(:data:`ROLE_GROUPS`), matched by entry-point name or by the exact class path the entry point
declares. Anything else is refused before any module is imported (:func:`check_classes`).

This module holds plain data, loading and that registry check only; the task is built from a
checkpoint by :meth:`mmfa.models.task.EmotionTask.from_checkpoint`. Checkpoints must come from a
trusted source all the same (docs/security.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from mmfa import __version__
from mmfa.errors import ConfigError

log = logging.getLogger(__name__)

SPEC_KEY = "mmfa"
#: Role in a checkpoint's inference record -> the entry-point group its class must be registered
#: in. The three groups are the whole registry: a checkpoint can name nothing else.
ROLE_GROUPS: dict[str, str] = {
    "fusion": "mmfa.fusion",
    "audio": "mmfa.frontends",
    "text": "mmfa.text",
    "functionals": "mmfa.frontends",  # utterance-level audio features (data.functionals)
}
REMOTE_HINT = (
    "download it yourself from a source you trust and pass the local file, or opt in with "
    "--allow_remote_checkpoint true (Python: allow_remote=True)"
)


def is_remote(path: str | Path) -> bool:
    """Whether a checkpoint path is a URL (``https://``, ``s3://``, ...)."""
    return "://" in str(path)


def check_remote(path: str | Path | None, allow: bool) -> None:
    """Refuse a remote checkpoint unless the user opted in.

    Raises:
        ConfigError: naming the URL and the two ways out.
    """
    if path is not None and is_remote(path) and not allow:
        raise ConfigError(
            f"ckpt_path={str(path)!r} is a URL; mmfa does not fetch checkpoints "
            f"by default: {REMOTE_HINT}"
        )


def weights_only_for(path: str | Path | None, requested: bool | None) -> bool:
    """The ``weights_only`` a checkpoint is loaded with: ``True`` unless asked for a local file.

    Args:
        path: the checkpoint (``ckpt_path``), a local file or a URL; ``None``: none.
        requested: what the user asked for (``--weights_only``); ``None``: not asked.

    Raises:
        ConfigError: ``weights_only=False`` for a URL; its pickled code would run here.
    """
    if path is not None and is_remote(path):
        if requested is False:
            raise ConfigError(
                f"--weights_only false with ckpt_path={str(path)!r}: a remote checkpoint is "
                "only ever loaded as plain data (weights_only=True); drop --weights_only, or "
                "download the file, check where it comes from and pass the local copy"
            )
        return True
    return True if requested is None else bool(requested)


def _spec_of(obj: Any, args: Any) -> dict[str, Any] | None:
    """``{"class_path", "init_args", "settings"}`` of a front-end (None: the modality is off)."""
    if obj is None:
        return None
    init_args = {}
    if args is not None and hasattr(args, "get") and args.get("init_args") is not None:
        raw = args.get("init_args")
        init_args = dict(raw.as_dict() if hasattr(raw, "as_dict") else raw)
    return {
        "class_path": f"{type(obj).__module__}.{type(obj).__qualname__}",
        "init_args": init_args,
        "settings": obj.settings(),
    }


def inference_spec(config: Any, datamodule: Any, model: Any) -> dict[str, Any]:
    """What a checkpoint must carry to be used without a config (see the module docstring).

    Args:
        config: the parsed configuration of the run (a jsonargparse Namespace).
        datamodule: the instantiated datamodule (its front-ends and facts).
        model: the instantiated task (an :class:`~mmfa.models.task.EmotionTask`: its ``fusion``,
            ``problem`` and ``class_names``).
    """
    data_args = config.get("data")
    data_init = data_args.get("init_args") if data_args is not None else None
    fusion_cfg = config.get("model").get("fusion") if config.get("model") is not None else None
    fusion = model.fusion
    fusion_args: dict[str, Any] = {}
    if fusion_cfg is not None and fusion_cfg.get("init_args") is not None:
        raw = fusion_cfg.get("init_args")
        fusion_args = dict(raw.as_dict() if hasattr(raw, "as_dict") else raw)
    record: dict[str, Any] = {
        "mmfa_version": __version__,
        "task_type": model.problem.kind,
        "class_names": list(model.class_names),
        "datamodule": type(datamodule).__name__,
        # Trimming and standardisation after extraction (mmfa.datamodules.preparation).
        "audio_preparation": (
            datamodule.preparation.record() if hasattr(datamodule, "preparation") else None
        ),
        "fusion": {
            "class_path": f"{type(fusion).__module__}.{type(fusion).__qualname__}",
            "init_args": fusion_args,
        },
        "audio": _spec_of(
            datamodule.audio, data_init.get("audio") if data_init is not None else None
        ),
        "text": _spec_of(datamodule.text, data_init.get("text") if data_init is not None else None),
        "functionals": _spec_of(
            getattr(datamodule, "functionals", None),
            data_init.get("functionals") if data_init is not None else None,
        ),
    }
    if record["functionals"] is not None:
        record["functionals_preparation"] = datamodule.functionals_preparation.record()
    for role, group in ROLE_GROUPS.items():
        part = record[role]
        if part is not None and _find_entry_point(part["class_path"], group) is None:
            # Training goes on; only the checkpoint's later use without a config is affected.
            log.warning(
                "%s %s is not registered in the %r entry-point group: mmfa predict --ckpt_path and "
                "EmotionRecognizer will refuse this run's checkpoints until a package registers it "
                "(docs/security.md)",
                role,
                part["class_path"],
                group,
            )
    return record


def feature_mismatch(spec: dict[str, Any], datamodule: Any) -> list[str]:
    """``modality.setting: trained -> now`` for every front-end setting that differs."""
    differences = []
    for modality in ("audio", "text", "functionals"):
        trained = (spec.get(modality) or {}).get("settings")
        extractor = getattr(datamodule, modality, None)
        now = extractor.settings() if extractor is not None else None
        if trained is None or now is None:
            if (trained is None) != (now is None):
                differences.append(
                    f"data.{modality}: {'off' if trained is None else 'on'} in training, "
                    f"{'off' if now is None else 'on'} now"
                )
            continue
        for key in sorted(set(trained) | set(now)):
            if trained.get(key) != now.get(key):
                differences.append(
                    f"data.{modality} {key}: {trained.get(key)!r} in training, {now.get(key)!r} now"
                )
    return differences


def load(path: str | Path, *, allow_remote: bool = False, map_location: str = "cpu") -> Any:
    """Load a checkpoint as plain data (``weights_only=True``), refusing URLs unless allowed.

    Raises:
        ConfigError: a URL without opt-in, a missing file, or a file that is not a checkpoint.
    """
    import torch

    check_remote(path, allow_remote)
    if not is_remote(path) and not Path(path).is_file():
        raise ConfigError(f"checkpoint {str(path)!r} does not exist")
    try:
        if is_remote(path):
            return torch.hub.load_state_dict_from_url(
                str(path), map_location=map_location, weights_only=True
            )
        return torch.load(str(path), map_location=map_location, weights_only=True)
    except Exception as err:  # pickle, zip or unsafe-type errors all mean: not usable here
        raise ConfigError(
            f"checkpoint {str(path)!r} cannot be loaded as plain data (weights_only=True): "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}. mmfa only "
            "loads checkpoints that hold no code; is it an mmfa checkpoint?"
        ) from None


def class_path_of(entry_point: EntryPoint) -> str:
    """``module.Class``: the class path of an entry point declared as ``module:Class``."""
    return f"{entry_point.module}.{entry_point.attr}"


def _find_entry_point(name: object, group: str) -> EntryPoint | None:
    if not isinstance(name, str):
        return None
    for entry_point in entry_points(group=group):
        if entry_point.attr and name in (entry_point.name, class_path_of(entry_point)):
            return entry_point
    return None


def registered_entry_point(name: object, group: str) -> EntryPoint:
    """The registered class a checkpoint names, found from package metadata, importing nothing.

    Args:
        name: an entry-point name of ``group`` (``"mmfa"``) or the exact class path one of its
            entry points declares (``"mmfa.fusion.mmfa.MMFAFusion"``).
        group: the entry-point group of the role (:data:`ROLE_GROUPS`).

    Raises:
        ConfigError: ``name`` is neither; nothing has been imported or called.
    """
    found = _find_entry_point(name, group)
    if found is None:
        shown = repr(name)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        raise ConfigError(
            f"the checkpoint names {shown}, which is not registered in the {group!r} entry-point "
            "group, and mmfa builds only registered classes from a checkpoint; if a plugin "
            "provides it, install that plugin (`mmfa plugins` lists the registered ones)"
        )
    return found


def load_class(entry_point: EntryPoint) -> type:
    """Import the class a registered entry point declares.

    Raises:
        ConfigError: the plugin cannot be imported here, or its entry point is not a class.
    """
    try:
        loaded = entry_point.load()
    except Exception as err:  # a broken plugin is reported, like in mmfa.plugins
        raise ConfigError(
            f"the checkpoint needs {entry_point.value} (entry point {entry_point.name!r} of "
            f"{entry_point.group!r}), which cannot be imported here: {type(err).__name__}: {err}"
        ) from None
    if not isinstance(loaded, type):
        raise ConfigError(
            f"entry point {entry_point.name!r} of {entry_point.group!r} is {entry_point.value}, "
            "which is not a class; fix the plugin's pyproject.toml"
        )
    return loaded


def init_args(part: Mapping[str, Any], role: str) -> dict[str, Any]:
    """The keyword arguments a checkpoint records for a role's class (plain data, str keys).

    Raises:
        ConfigError: ``init_args`` is not a mapping with string keys.
    """
    args = part.get("init_args") or {}
    if not isinstance(args, Mapping) or not all(isinstance(k, str) for k in args):
        raise ConfigError(
            f"the checkpoint's {SPEC_KEY}.{role}.init_args is not a mapping of argument names; "
            "the checkpoint is damaged or was not written by mmfa"
        )
    return dict(args)


def check_classes(spec: Mapping[str, Any]) -> dict[str, EntryPoint | None]:
    """Find every class an inference record names in its role's group, before importing any.

    Args:
        spec: the checkpoint's inference record (its ``"mmfa"`` key).

    Returns:
        Role (``fusion``, ``audio``, ``text``) -> its entry point; ``None`` for a modality that
        was off in training.

    Raises:
        ConfigError: a role's record is malformed or names an unregistered class.
    """
    found: dict[str, EntryPoint | None] = {}
    for role, group in ROLE_GROUPS.items():
        part = spec.get(role)
        if part is None and role != "fusion":
            found[role] = None
            continue
        if not isinstance(part, Mapping):
            raise ConfigError(
                f"the checkpoint's {SPEC_KEY}.{role} record is {type(part).__name__}, not a "
                "mapping; the checkpoint is damaged or was not written by mmfa"
            )
        found[role] = registered_entry_point(part.get("class_path"), group)
        init_args(part, role)
    return found


def inference_record(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """A loaded checkpoint's inference record, once every class it names is found registered.

    Raises:
        ConfigError: the checkpoint has no record (written by an older mmfa, or not by mmfa
            fit/cv), or it names a class that is not registered (:func:`check_classes`).
    """
    spec = checkpoint.get(SPEC_KEY) if isinstance(checkpoint, Mapping) else None
    if not spec:
        raise ConfigError(
            "this checkpoint carries no mmfa inference record (written by an older mmfa, or "
            "not by mmfa fit/cv); use mmfa predict with --config instead, or retrain"
        )
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"the checkpoint's {SPEC_KEY!r} entry is {type(spec).__name__}, not a mapping; the "
            "checkpoint is damaged or was not written by mmfa"
        )
    check_classes(spec)
    return dict(spec)


def build_frontend(spec: Mapping[str, Any] | None, group: str, role: str | None = None) -> Any:
    """The audio or text front-end a checkpoint was trained with (None: the modality was off).

    Args:
        spec: the front-end's record (``class_path``, ``init_args``, ``settings``).
        group: its role's entry-point group (``mmfa.frontends`` or ``mmfa.text``).
        role: its role in the record, for messages (default: the first role of ``group``).

    Raises:
        ConfigError: the class is not registered in ``group`` (refused before any import), or
            it computes other features here than in training.
    """
    if spec is None:
        return None
    role = role or next((r for r, g in ROLE_GROUPS.items() if g == group), group)
    cls = load_class(registered_entry_point(spec.get("class_path"), group))
    frontend = cls(**init_args(spec, role))
    trained = spec.get("settings")
    trained = dict(trained) if isinstance(trained, Mapping) else None
    for key, value in (trained or {}).items():
        # Options set after construction (e.g. the datamodule's clip-length cap) are plain
        # attributes the constructor left unset (None), recorded in the settings: restore them.
        # Never overwrite what the init arguments set: a setting may be a derived form of one
        # (a feature-set label, a model folder's name) and would break the front-end.
        if key in vars(frontend) and not key.startswith("_") and getattr(frontend, key) is None:
            setattr(frontend, key, value)
    now = frontend.settings()
    if trained is not None and now != trained:
        keys = sorted(k for k in set(now) | set(trained) if now.get(k) != trained.get(k))
        raise ConfigError(
            f"{spec['class_path']} here computes other features than in training (settings "
            f"{keys} differ: e.g. another openSMILE or text-model version); predictions would "
            "be wrong. Install the versions the checkpoint was trained with."
        )
    return frontend
