"""Self-contained checkpoints: everything inference needs travels inside the ``.ckpt``.

``mmfa fit`` (and every fold of ``mmfa cv``) stores under the checkpoint's ``"mmfa"`` key the class
names and problem type, the audio and text front-ends (class, arguments and the exact settings
that key the feature store), the fusion and its arguments, and the mmfa version. Only plain data
(strings, numbers, lists, dicts) is stored, so checkpoints load with ``torch.load(...,
weights_only=True)``: no pickled code runs. Classes named in a checkpoint are only imported when
they are mmfa's own or registered by an installed plugin.

Checkpoints and configs must come from a trusted source all the same (docs/security.md).
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmfa import __version__
from mmfa.errors import ConfigError

if TYPE_CHECKING:
    from mmfa.models.task import EmotionTask

SPEC_KEY = "mmfa"
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


def inference_spec(config: Any, datamodule: Any, model: EmotionTask) -> dict[str, Any]:
    """What a checkpoint must carry to be used without a config (see the module docstring).

    Args:
        config: the parsed configuration of the run (a jsonargparse Namespace).
        datamodule: the instantiated datamodule (its front-ends and facts).
        model: the instantiated task.
    """
    data_args = config.get("data")
    data_init = data_args.get("init_args") if data_args is not None else None
    fusion_cfg = config.get("model").get("fusion") if config.get("model") is not None else None
    fusion = model.fusion
    fusion_args: dict[str, Any] = {}
    if fusion_cfg is not None and fusion_cfg.get("init_args") is not None:
        raw = fusion_cfg.get("init_args")
        fusion_args = dict(raw.as_dict() if hasattr(raw, "as_dict") else raw)
    return {
        "mmfa_version": __version__,
        "task_type": model.problem.kind,
        "class_names": list(model.class_names),
        "datamodule": type(datamodule).__name__,
        # Per-speaker feature statistics are not in the checkpoint: inference must know.
        "speaker_norm": bool(getattr(datamodule, "speaker_norm", False)),
        "trim_silence": getattr(datamodule, "trim_silence", None),
        "fusion": {
            "class_path": f"{type(fusion).__module__}.{type(fusion).__qualname__}",
            "init_args": fusion_args,
        },
        "audio": _spec_of(
            datamodule.audio, data_init.get("audio") if data_init is not None else None
        ),
        "text": _spec_of(datamodule.text, data_init.get("text") if data_init is not None else None),
    }


def feature_mismatch(spec: dict[str, Any], datamodule: Any) -> list[str]:
    """``modality.setting: trained -> now`` for every front-end setting that differs."""
    differences = []
    for modality in ("audio", "text"):
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


def _allowed_class(class_path: str, group: str) -> type:
    """Import a class named in a checkpoint, only if it is mmfa's own or a registered plugin."""
    from importlib.metadata import entry_points

    registered = {ep.value.replace(":", ".") for ep in entry_points(group=group)}
    if not (class_path.startswith("mmfa.") or class_path in registered):
        raise ConfigError(
            f"the checkpoint names {class_path!r}, which is neither part of mmfa nor registered "
            f"in the {group!r} entry-point group; install the plugin that provides it"
        )
    module, _, name = class_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ConfigError(
            f"the checkpoint needs {class_path!r}, which cannot be imported here: {err}"
        ) from None


def build_frontend(spec: dict[str, Any] | None, group: str) -> Any:
    """The audio or text front-end a checkpoint was trained with (None: the modality was off)."""
    if spec is None:
        return None
    cls = _allowed_class(spec["class_path"], group)
    frontend = cls(**spec.get("init_args", {}))
    for key, value in spec.get("settings", {}).items():
        # Options set after construction (e.g. the datamodule's clip-length cap) are plain
        # attributes recorded in the settings: restore them.
        if key in vars(frontend) and not key.startswith("_") and getattr(frontend, key) != value:
            setattr(frontend, key, value)
    now = frontend.settings()
    if now != spec.get("settings", now):
        keys = sorted(
            k for k in set(now) | set(spec["settings"]) if now.get(k) != spec["settings"].get(k)
        )
        raise ConfigError(
            f"{spec['class_path']} here computes other features than in training (settings "
            f"{keys} differ: e.g. another openSMILE or text-model version); predictions would "
            "be wrong. Install the versions the checkpoint was trained with."
        )
    return frontend


def build_task(checkpoint: dict[str, Any]) -> EmotionTask:
    """The trained task, in eval mode, from a checkpoint loaded with :func:`load`.

    Raises:
        ConfigError: the checkpoint lacks mmfa's inference record (written by mmfa >= 0.2).
    """
    from mmfa.models.task import EmotionTask

    spec = checkpoint.get(SPEC_KEY)
    if not spec:
        raise ConfigError(
            "this checkpoint carries no mmfa inference record (written by an older mmfa, or "
            "not by mmfa fit/cv); use mmfa predict with --config instead, or retrain"
        )
    fusion_cls = _allowed_class(spec["fusion"]["class_path"], "mmfa.fusion")
    hparams = dict(checkpoint.get("hyper_parameters", {}))
    hparams.pop("_instantiator", None)
    task = EmotionTask(
        fusion=functools.partial(fusion_cls, **spec["fusion"]["init_args"]), **hparams
    )
    task.load_state_dict(checkpoint["state_dict"])
    task.inference_spec = spec
    return task.eval()
