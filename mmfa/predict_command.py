"""``mmfa predict``: a trained model on your recordings, or on a config's split.

Its parser is plain argparse on purpose: ``mmfa predict --help`` answers at once, lists only
prediction's options, and needs no config. Every input goes through
:meth:`mmfa.inference.EmotionRecognizer.predict_utterances`, the one prediction path.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmfa.errors import ConfigError

log = logging.getLogger("mmfa.predict")

OUT_SUFFIXES = (".csv", ".jsonl")

DESCRIPTION = "Predict emotions with a trained model (a checkpoint from mmfa fit or mmfa cv)."
EXAMPLES = """\
examples:
  mmfa predict --ckpt_path best.ckpt --input recordings/ --out preds.csv
  mmfa predict --ckpt_path best.ckpt --input a.wav b.wav             (table on the console)
  mmfa predict --ckpt_path best.ckpt --input manifest.csv --out preds.jsonl
  mmfa predict --ckpt_path best.ckpt --input calls/ --speaker_from_folder --out preds.csv
  mmfa predict --ckpt_path best.ckpt --config configs/demo.yaml --split test --out preds.csv
  mmfa predict --model exported_model/ --input clip.wav           (a folder from mmfa export)
  mmfa predict --ckpt_path seed0.ckpt seed1.ckpt seed2.ckpt --input recordings/ --out preds.csv
                                              (an ensemble: the models' probabilities averaged)

inputs (--input):
  a folder       every audio file in it (.wav .flac .ogg .mp3 .mp4 .m4a, sub-folders too);
                 a .txt beside an audio file (same stem) is its transcript
  audio files    one after the other
  a manifest     .csv or .jsonl with 'path' (relative to the manifest) and/or 'text';
                 optional 'id', 'speaker', 'label' (a class name: metrics are printed)

speakers: a model trained with per-speaker normalisation (data.speaker_norm) standardises each
speaker's recordings together. Name them (manifest 'speaker' column, --speaker, or
--speaker_from_folder); inputs without a speaker use the statistics of the model's training set.

output: one row per input: id, path, text, prediction, [label], one score column per class (or
'score'), modalities. Unusable inputs are listed in <out stem>.skipped.csv with the reason.

several models (--ckpt_path A B ..., --model D1 D2 ..., or both): each predicts in turn and the
rows hold the mean of their probabilities (regression: of their scores); the prediction is taken
from the mean. The models must share the problem type and class names (in the same order).
"""


def build_parser() -> argparse.ArgumentParser:
    """The options of ``mmfa predict``."""
    parser = argparse.ArgumentParser(
        prog="mmfa predict",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_argument_group("what to predict (one of)")
    what.add_argument("--input", nargs="+", metavar="PATH", help="a folder, files or a manifest")
    what.add_argument(
        "--config",
        action="append",
        metavar="FILE",
        help="a corpus config (repeatable, like mmfa fit): predict one of its splits",
    )
    what.add_argument("--split", default="test", choices=("train", "val", "test"))
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write the predictions here (.csv or .jsonl); without it, print a table",
    )
    model = parser.add_argument_group("model (one, or several averaged: an ensemble)")
    model.add_argument(
        "--ckpt_path",
        nargs="+",
        metavar="CKPT",
        help="a checkpoint from mmfa fit or mmfa cv (several: their probabilities averaged)",
    )
    model.add_argument(
        "--model",
        nargs="+",
        metavar="DIR",
        help="a folder from mmfa export, or a Hugging Face repo id (several: averaged, also "
        "with --ckpt_path)",
    )
    model.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    model.add_argument("--batch_size", type=int, default=32, help="utterances per batch")
    model.add_argument(
        "--allow_remote_checkpoint",
        action="store_true",
        help="accept a URL as --ckpt_path (always loaded with weights_only=True)",
    )
    inputs = parser.add_argument_group("speakers and transcripts")
    inputs.add_argument("--speaker", metavar="NAME", help="every input is this speaker")
    inputs.add_argument(
        "--speaker_from_folder",
        action="store_true",
        help="each file's parent folder names its speaker",
    )
    inputs.add_argument(
        "--transcribe",
        metavar="MODEL",
        help="fill missing transcripts with this transformers speech-recognition model (a local "
        "folder or a model in the local Hugging Face cache)",
    )
    inputs.add_argument("--cache_dir", default=None, help="feature cache (default: mmfa's)")
    long = parser.add_argument_group("long recordings")
    long.add_argument(
        "--window",
        type=float,
        metavar="S",
        help="predict windows of S seconds (rows with start/end) and a per-recording summary "
        "(<out stem>.summary.csv); without it a recording is read up to the model's clip cap",
    )
    long.add_argument("--hop", type=float, metavar="S", help="window start every S s (default S)")
    return parser


def predict_main(argv: list[str]) -> Path | None:
    """Entry point of ``mmfa predict``. Returns the file written (None: console table)."""
    from mmfa.logs import setup_logging

    setup_logging()
    parser = build_parser()
    args, overrides = parser.parse_known_args(argv)
    if args.config is None and overrides:
        parser.error(f"unrecognized arguments: {' '.join(overrides)}")
    if (args.input is None) == (args.config is None):
        parser.error("give --input (files, a folder, a manifest) or --config (a corpus config)")
    if args.batch_size < 1:
        parser.error(f"--batch_size {args.batch_size}: give 1 or more")
    models = [*(args.ckpt_path or []), *(args.model or [])]
    if not models:
        parser.error("give the model: --ckpt_path CKPT [CKPT ...] and/or --model DIR [DIR ...]")

    from mmfa.datamodules.inputs import read_inputs

    if args.input is not None:
        inputs = read_inputs(
            args.input, speaker=args.speaker, speaker_from_folder=args.speaker_from_folder
        )
    else:
        inputs = config_inputs(args.config, overrides, args.split)
    if args.hop is not None and args.window is None:
        parser.error("--hop needs --window")
    if args.window is not None:
        from mmfa.datamodules.inputs import segments

        inputs = segments(inputs, args.window, args.hop or args.window)
    skipped_out = check_out(args.out, models, args.input or [], inputs)
    recognizer = load_recognizer(args)
    utterances = inputs.utterances
    if args.window is not None and recognizer.needs_text:
        raise ConfigError(
            "--window cuts the audio, and transcripts cannot be cut with it; this model "
            "needs text. Use an audio-only model (AudioOnly) or one trained with "
            "model.modality_dropout > 0"
        )
    if args.transcribe:
        utterances = _transcribe(utterances, args.transcribe, args.device)
    hint = speaker_folders_hint(recognizer, utterances)
    if hint:
        log.warning(hint)
    log.info("predicting %d inputs with %s", len(utterances), " + ".join(models))
    run = recognizer.predict_utterances(
        utterances,
        labels=inputs.labels,
        out=args.out,
        skipped_out=skipped_out,
        progress=args.out is not None,
    )
    shown = run.rows
    if args.window is not None:
        from mmfa.callbacks.predictions import write_rows

        shown = summary_of(recognizer, run.rows)
        if args.out is not None:
            write_rows(args.out.with_name(f"{args.out.stem}.summary{args.out.suffix}"), shown)
    if args.out is None:
        print(console_table(shown, run.skipped))
    _print_metrics(recognizer, run.rows)
    return args.out


def speaker_folders_hint(recognizer: Any, utterances: list[Any]) -> str | None:
    """A nudge towards ``--speaker_from_folder`` when the inputs look filed by speaker.

    Only for a model that normalises per speaker, and only as advice: folders may just as well
    be filed by date or by emotion, so mmfa never groups by folder unless told to.
    """
    members = getattr(recognizer, "members", [recognizer])
    if not any(m.preparation.speaker_norm for m in members):
        return None
    folders = Counter(u.audio_path.parent for u in utterances if u.audio_path and not u.speaker)
    if len(folders) < 2 or min(folders.values()) < 2:
        return None
    return (
        f"the inputs without a speaker lie in {len(folders)} folders of several recordings "
        "each; if each folder holds one speaker, add --speaker_from_folder (this model "
        "normalises per speaker: on RAVDESS, naming the speakers is worth 8-12 UA points)"
    )


def load_recognizer(args: argparse.Namespace) -> Any:
    """The model the options name: one recogniser, or an ensemble of several."""
    from mmfa.inference import EmotionRecognizer

    options = {"device": args.device, "cache_dir": args.cache_dir, "batch_size": args.batch_size}
    checkpoints, exported = args.ckpt_path or [], args.model or []
    if len(checkpoints) + len(exported) > 1:
        from mmfa.ensemble import EnsembleRecognizer

        return EnsembleRecognizer.load(
            checkpoints, exported, allow_remote=args.allow_remote_checkpoint, **options
        )
    if checkpoints:
        return EmotionRecognizer.from_checkpoint(
            checkpoints[0], allow_remote=args.allow_remote_checkpoint, **options
        )
    return EmotionRecognizer.from_pretrained(exported[0], **options)


def summary_of(recognizer: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-recording rows from the windows' rows (scores averaged over time)."""
    import numpy as np

    from mmfa.datamodules.inputs import summarise

    columns = recognizer.problem.score_columns(recognizer.class_names)

    def predicted(scores: list[float]) -> str:
        return recognizer.problem.predicted(np.asarray([scores]), recognizer.class_names)[0]

    return summarise(rows, columns, predicted)


def check_out(
    out: Path | None, models: str | Sequence[str], given: list[str], inputs: Any
) -> Path | None:
    """Refuse an ``--out`` that would overwrite an input, a model (any of several), or a folder.

    Returns:
        Where the skipped-inputs list goes (None without ``--out``).

    Raises:
        ConfigError: naming the clash and what to do.
    """
    if out is None:
        return None
    if out.suffix.lower() not in OUT_SUFFIXES:
        raise ConfigError(
            f"--out {out}: give a file name ending in .csv or .jsonl (got {out.suffix or 'none'})"
        )
    if out.is_dir():
        raise ConfigError(f"--out {out} is a folder; give a file name such as {out}/preds.csv")
    skipped = out.with_name(out.stem + ".skipped.csv")
    protected = {p.resolve() for p in inputs.paths()} | {Path(g).resolve() for g in given}
    for name in [models] if isinstance(models, str) else models:
        if "://" not in str(name):
            model = Path(name)
            files = model.glob("*") if model.is_dir() else []
            protected |= {model.resolve(), *(f.resolve() for f in files)}
    summary = out.with_name(f"{out.stem}.summary{out.suffix}")
    for target in (out, skipped, summary):
        if target.resolve() in protected:
            raise ConfigError(
                f"--out {out} would overwrite {target} (an input or the model); choose another "
                "file name"
            )
        if target.exists() and target.suffix.lower() not in OUT_SUFFIXES:
            raise ConfigError(f"--out {out} would overwrite {target}; choose another name")
    return skipped


def config_inputs(configs: list[str], overrides: list[str], split: str) -> Any:
    """One split of a corpus config as inputs: its utterances, speakers and gold labels."""
    from mmfa.datamodules.inputs import Inputs
    from mmfa.lightning_cli import build_cli

    args = [a for c in configs for a in ("--config", c)]
    cli = build_cli([*args, *overrides, "--trainer.logger=false"], run=False, data_only=True)
    dm = cli.datamodule
    _ = dm.fold  # a bad data.fold fails here
    utterances = [u for u in dm.load_manifest() if dm.split_of(u) == split]
    if not utterances:
        raise ConfigError(
            f"--split {split}: the config's {type(dm).__name__} has no such utterances"
        )
    names = list(dm.class_names)
    labels: list[str | None] = [
        names[u.label] if isinstance(u.label, int) and u.label < len(names) else None
        for u in utterances
    ]
    return Inputs(utterances, labels)


def console_table(rows: list[dict[str, Any]], skipped: list[Any]) -> str:
    """File, top class and its score per input, for a terminal."""
    if not rows and not skipped:
        return "no inputs"
    width = min(60, max([len("input"), *(len(r["id"]) for r in rows)]))
    lines = [f"{'input':<{width}}  {'prediction':<12}  score"]
    for row in rows:
        scores = [v for k, v in row.items() if k.startswith("score")]
        top = max(scores) if scores else float("nan")
        name = row["id"] if len(row["id"]) <= width else "..." + row["id"][-(width - 3) :]
        lines.append(f"{name:<{width}}  {row['prediction']:<12}  {top:.3f}")
    for s in skipped:
        lines.append(f"{s.id:<{width}}  skipped ({s.reason}): {s.detail}")
    return "\n".join(lines)


def _transcribe(utterances: list[Any], model: str, device: str) -> list[Any]:
    """Fill empty transcripts with ASR."""
    from dataclasses import replace

    from mmfa.features.asr import Transcriber

    todo = [i for i, u in enumerate(utterances) if u.audio_path is not None and not u.text.strip()]
    if not todo:
        return utterances
    texts = Transcriber(model, device=device).transcribe(
        [utterances[i].audio_path for i in todo], [utterances[i].id for i in todo]
    )
    out = list(utterances)
    done = 0
    for i, text in zip(todo, texts, strict=True):
        if isinstance(text, str) and text:
            out[i] = replace(out[i], text=text)
            done += 1
    log.info("transcribed %d of %d inputs without a transcript", done, len(todo))
    return out


def _print_metrics(recognizer: Any, rows: list[dict[str, Any]]) -> None:
    """With gold labels (multiclass), log the report's metrics for the labelled rows."""
    labelled = [r for r in rows if r.get("label")]
    if not labelled or recognizer.problem.kind != "multiclass":
        return
    import numpy as np

    from mmfa.experiments.fold_metrics import report_metrics
    from mmfa.problem import metric_label

    names = recognizer.class_names
    unknown = sorted({r["label"] for r in labelled} - set(names))
    if unknown:
        raise ConfigError(f"labels {unknown} are not classes of this model: {names}")
    target = np.array([names.index(r["label"]) for r in labelled])
    columns = recognizer.problem.score_columns(names)
    scores = np.array([[float(r[c]) for c in columns] for r in labelled])
    metrics = report_metrics(recognizer.problem, target, scores, names, "input")
    shown = ", ".join(f"{metric_label(k)} {100 * v:.2f}" for k, v in metrics.headline.items())
    log.info("on %d labelled inputs: %s", len(labelled), shown)
