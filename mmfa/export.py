"""A model you can hand to someone: ``mmfa export`` and :func:`load_exported`.

A Lightning checkpoint is a training artefact: a pickle container with the optimiser state and
no word about what the model is or how well it does. ``mmfa export --ckpt_path CKPT --out DIR``
writes a folder with three files and no code:

- ``model.safetensors``: the weights (safetensors: tensors only, nothing to unpickle);
- ``config.json``: the inference record (classes, problem, fusion, front-ends, audio
  preparation), the task's hyper-parameters, the metrics the run measured, and provenance;
- ``README.md``: a model card (classes, training data and its licence, recipe, metrics,
  intended use and limits), with the Hugging Face Hub's metadata header.

:meth:`mmfa.inference.EmotionRecognizer.from_pretrained` and ``mmfa predict --model DIR`` load
such a folder, or a Hub repository holding one (through ``huggingface_hub``; offline, from its
cache). Every class the record names must still be registered (docs/security.md).
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from mmfa import __version__
from mmfa.errors import ConfigError

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"
FORMAT = "mmfa-model"
FORMAT_VERSION = 1

#: Known corpora: (name, licence, where it comes from). A model inherits its data's terms.
CORPORA = {
    "IEMOCAPDataModule": ("IEMOCAP", "research licence of USC SAIL (no redistribution)"),
    "MELDDataModule": ("MELD", "GPL-3.0 (the MELD release)"),
    "MOSEIDataModule": ("CMU-MOSEI", "the CMU Multimodal SDK's terms"),
    "RAVDESSDataModule": ("RAVDESS", "CC BY-NC-SA 4.0 (non-commercial)"),
    "SyntheticDataModule": ("mmfa's synthetic demo corpus", "generated; no restriction"),
}


def export_model(ckpt_path: str | Path, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write the shareable folder of a checkpoint (see the module docstring).

    Args:
        ckpt_path: a checkpoint from ``mmfa fit`` or ``mmfa cv``.
        out: the folder to write; it must not exist, be empty, or hold an earlier export when
            ``overwrite`` is set.
        overwrite: replace an earlier export in ``out``.

    Raises:
        ConfigError: the checkpoint is not usable (see :func:`mmfa.checkpoints.load`), or ``out``
            holds other files.
    """
    from safetensors.torch import save_file

    from mmfa import checkpoints
    from mmfa.models.task import EmotionTask

    out = Path(out)
    _check_out(out, overwrite)
    checkpoint = checkpoints.load(ckpt_path)
    task = EmotionTask.from_checkpoint(checkpoint)  # refuses unregistered classes first
    hparams = {
        k: v for k, v in dict(checkpoint.get("hyper_parameters") or {}).items() if k[0] != "_"
    }
    metrics = measured_metrics(Path(ckpt_path), checkpoint, task)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mmfa_version": __version__,
        "inference": task.inference_spec,
        "hyper_parameters": hparams,
        "metrics": metrics,
        "source_checkpoint": Path(ckpt_path).name,
    }
    json.dumps(config)  # plain data only: fail here, not in a reader
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in task.state_dict().items()}
    save_file(state, str(out / WEIGHTS_FILE), metadata={"format": FORMAT})
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    (out / CARD_FILE).write_text(model_card(config), encoding="utf-8")
    log.info("exported %s to %s (%s, %s, %s)", ckpt_path, out, WEIGHTS_FILE, CONFIG_FILE, CARD_FILE)
    return out


def load_exported(folder: str | Path) -> dict[str, Any]:
    """An exported folder as the plain checkpoint dictionary the task loads (no pickle).

    Raises:
        ConfigError: the folder is not an mmfa export, or of a newer format.
    """
    from safetensors.torch import load_file

    folder = Path(folder)
    config_path = folder / CONFIG_FILE
    if not config_path.is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise ConfigError(
            f"{folder} is not an exported mmfa model: it needs {CONFIG_FILE} and {WEIGHTS_FILE} "
            "(written by `mmfa export --ckpt_path CKPT --out DIR`)"
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{config_path}: not readable JSON ({err})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ConfigError(f"{config_path}: not an mmfa model config (format {FORMAT!r})")
    if int(config.get("format_version", 0)) > FORMAT_VERSION:
        raise ConfigError(
            f"{config_path}: format version {config['format_version']} is newer than this mmfa "
            f"reads ({FORMAT_VERSION}); upgrade mmfa"
        )
    from mmfa.checkpoints import SPEC_KEY

    return {
        SPEC_KEY: config["inference"],
        "hyper_parameters": config.get("hyper_parameters") or {},
        "state_dict": load_file(str(folder / WEIGHTS_FILE)),
    }


def resolve_pretrained(name: str | Path) -> Path:
    """A local export folder, or a Hugging Face Hub repo id fetched (or found cached).

    Raises:
        ConfigError: neither a folder nor a repository that can be had here.
    """
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    text = str(name)
    if text.count("/") != 1 or text.startswith((".", "/")) or "://" in text:
        raise ConfigError(
            f"{text!r} is neither a folder nor a Hugging Face Hub repo id (owner/name)"
        )
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - transformers depends on it
        raise ConfigError("loading from the Hub needs `pip install huggingface_hub`") from None
    try:
        return Path(snapshot_download(repo_id=text, allow_patterns=[WEIGHTS_FILE, CONFIG_FILE]))
    except Exception as err:  # offline, unknown repo, no permission: one clear line
        raise ConfigError(
            f"cannot get the Hub model {text!r}: {type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}. Offline, the model must be in the "
            "local Hugging Face cache; or download the folder and pass its path"
        ) from None


# -- what the run measured ---------------------------------------------------------------------
def measured_metrics(ckpt_path: Path, checkpoint: dict[str, Any], task: Any) -> dict[str, Any]:
    """Validation score of the selection and test metrics of the run, where they can be found.

    The validation score comes from the checkpoint's ModelCheckpoint state; the test metrics from
    the run's ``predictions.csv`` beside the checkpoint folder (``mmfa fit``'s test of this
    checkpoint, or a cv fold's), recomputed with the report's scikit-learn metrics.
    """
    found: dict[str, Any] = {}
    for key, state in (checkpoint.get("callbacks") or {}).items():
        if "ModelCheckpoint" in str(key) and isinstance(state, dict):
            score = state.get("best_model_score")
            if score is not None:
                found["selection"] = {
                    "monitor": state.get("monitor"),
                    "value": round(float(score), 6),
                }
    for folder in (ckpt_path.parent, ckpt_path.parent.parent):
        predictions = folder / "predictions.csv"
        if predictions.is_file():
            try:
                found["test"] = _test_metrics(predictions, task)
                found["test_predictions"] = len(_ids(predictions))
            except Exception as err:  # a damaged or foreign file: no metrics, said so
                log.warning("%s: test metrics not read (%s)", predictions, err)
            break
    return found


def _ids(path: Path) -> list[str]:
    with path.open(newline="") as handle:
        return [row["id"] for row in csv.DictReader(handle)]


def _test_metrics(path: Path, task: Any) -> dict[str, float]:
    from mmfa.experiments.fold_metrics import report_metrics

    problem, names = task.problem, list(task.class_names)
    _, target, scores = problem.read_predictions(path, names)
    report = report_metrics(problem, target, scores, names, "test")
    return {k: round(float(v), 6) for k, v in report.headline.items()}


# -- the model card ------------------------------------------------------------------------------
def model_card(config: dict[str, Any]) -> str:
    """The folder's README.md: what the model is, how it was trained and measured, its limits."""
    spec, hp, metrics = config["inference"], config["hyper_parameters"], config["metrics"]
    corpus, licence = CORPORA.get(
        spec.get("datamodule", ""), (spec.get("datamodule", "a corpus plugin"), "see the corpus")
    )
    fusion = spec["fusion"]["class_path"].rsplit(".", 1)[-1]
    audio = (spec.get("audio") or {}).get("class_path", "off").rsplit(".", 1)[-1]
    text = (spec.get("text") or {}).get("class_path", "off").rsplit(".", 1)[-1]
    prep = spec.get("audio_preparation") or {}
    lines = [
        "---",
        "library_name: mmfa",
        "pipeline_tag: audio-classification",
        "tags: [speech-emotion-recognition, mmfa]",
        "---",
        "",
        f"# {corpus} emotion model ({fusion})",
        "",
        f"Trained with mmfa {config['mmfa_version']} (`mmfa fit`/`mmfa cv`); exported from "
        f"`{config['source_checkpoint']}`.",
        "",
        "## What it predicts",
        f"- Problem: {spec['task_type']}; classes: {', '.join(spec['class_names'])}.",
        f"- Inputs: audio front-end {audio}, text front-end {text}, fusion {fusion}.",
        f"- Audio preparation: silence trimming {prep.get('trim_silence')}, per-speaker "
        f"normalisation {bool(prep.get('speaker_norm'))}"
        + (
            " (unknown speakers use the training set's statistics; a named speaker's are pooled "
            f"with {prep.get('speaker_norm_prior') or 0:g} utterances' worth of them)"
            if prep.get("speaker_norm")
            else ""
        )
        + ".",
        "",
        "## Training data and licence",
        f"- {corpus} ({spec.get('datamodule')}); licence: {licence}. The model inherits the "
        "data's terms.",
        "",
        "## Recipe",
        "",
        "| setting | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in sorted(hp.items()) if k not in ("class_names",)],
        "",
        "## Metrics measured by the run",
    ]
    if metrics.get("selection"):
        sel = metrics["selection"]
        lines.append(f"- Checkpoint selected on validation: {sel['monitor']} = {sel['value']:.4f}.")
    if metrics.get("test"):
        shown = ", ".join(f"{k} {100 * v:.2f}" for k, v in metrics["test"].items())
        lines.append(f"- Test ({metrics.get('test_predictions')} utterances): {shown}.")
    if not metrics:
        lines.append("- None found beside the checkpoint.")
    lines += [
        "",
        "## Use",
        "```python",
        "from mmfa import EmotionRecognizer",
        'model = EmotionRecognizer.from_pretrained("THIS_FOLDER_OR_REPO")',
        'model.predict("clip.wav", text="what was said")',
        "```",
        "or `mmfa predict --model THIS_FOLDER --input recordings/ --out preds.csv`.",
        "",
        "## Intended use and limits",
        "- Research on speech emotion recognition. Emotion labels of acted or TV corpora do not "
        "transfer to every population, language or recording condition; measure on your own "
        "data before relying on it.",
        "- Not for decisions about people (hiring, health, policing, credit).",
        "",
    ]
    return "\n".join(lines)


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder to write the model into")
    if out.is_dir() and any(out.iterdir()):
        earlier = (out / CONFIG_FILE).is_file()
        if not (earlier and overwrite):
            raise ConfigError(
                f"--out {out} is not empty"
                + ("; add --overwrite to replace the earlier export" if earlier else "")
            )


def export_main(argv: list[str]) -> Path:
    """``mmfa export --ckpt_path CKPT --out DIR [--overwrite]``."""
    import argparse

    from mmfa.logs import setup_logging

    setup_logging()
    parser = argparse.ArgumentParser(
        prog="mmfa export",
        description="Write a shareable model folder (safetensors weights, config.json, model "
        "card) from an mmfa checkpoint.",
    )
    parser.add_argument("--ckpt_path", required=True, help="checkpoint from mmfa fit or mmfa cv")
    parser.add_argument("--out", required=True, type=Path, help="folder to write")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier export")
    args = parser.parse_args(argv)
    return export_model(args.ckpt_path, args.out, overwrite=args.overwrite)
