"""``mmfa predict --ckpt_path CKPT --input ... --out preds.csv``: a trained model on your files.

No config is needed: the checkpoint carries the front-ends, the fusion and the class names
(:mod:`mmfa.checkpoints`). ``--input`` takes

- a folder: every audio file in it (``.wav .flac .ogg .mp3 .mp4 .m4a``, sub-folders included);
  a ``.txt`` file beside an audio file, same stem, is its transcript;
- audio files, listed one after the other;
- a manifest, ``.csv`` or ``.jsonl``, with a ``path`` column (relative to the manifest's folder)
  and optionally ``text``, ``id`` and ``label`` (a class name; with labels, metrics are printed).

Writes ``--out`` (CSV) and the same rows as JSON lines beside it (``.jsonl``): ``id, path, text,
prediction``, one score column per class (or ``score`` for regression), and ``modalities``.
Inputs that cannot be used are listed, with the reason, in ``<out>.skipped.csv`` and in the log;
none is dropped silently. ``--transcribe MODEL`` fills missing transcripts with a speech
recogniser from the local cache (:mod:`mmfa.features.asr`); a ``transcript`` column then says
``asr`` or ``given``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from pathlib import Path
from typing import Any

from mmfa.errors import ConfigError
from mmfa.manifest import Utterance

log = logging.getLogger("mmfa.predict")

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".mp4", ".m4a")


def wants_files(argv: list[str]) -> bool:
    """Whether ``mmfa predict`` was given files (``--input``) rather than a config's split."""
    return any(a == "--input" or a.startswith("--input=") for a in argv)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Options of ``mmfa predict`` on files."""
    parser = argparse.ArgumentParser(
        prog="mmfa predict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ckpt_path", required=True, help="checkpoint from mmfa fit or mmfa cv")
    parser.add_argument("--input", nargs="+", required=True, help="folder, files or manifest")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write (and .jsonl)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--cache_dir", default=None, help="feature cache (default: mmfa's)")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument(
        "--transcribe",
        default=None,
        metavar="MODEL",
        help="fill missing transcripts with this transformers speech-recognition model (a local "
        "folder or a model in the local Hugging Face cache); off by default",
    )
    parser.add_argument(
        "--allow_remote_checkpoint",
        action="store_true",
        help="accept a URL as --ckpt_path (loaded with weights_only=True)",
    )
    return parser.parse_args(argv)


def read_inputs(inputs: list[str]) -> tuple[list[Utterance], list[str | None]]:
    """Utterances to predict and their gold labels (class names; None where not given).

    Raises:
        ConfigError: a path that does not exist, an empty folder, a manifest without ``path``.
    """
    if len(inputs) == 1 and Path(inputs[0]).suffix.lower() in (".csv", ".jsonl"):
        return _read_manifest(Path(inputs[0]))
    utterances: list[Utterance] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
            )
            if not files:
                raise ConfigError(
                    f"--input {item}: no audio file ({', '.join(AUDIO_SUFFIXES)}) in this folder"
                )
            utterances += [_from_file(f, f.relative_to(path).as_posix()) for f in files]
        elif path.is_file():
            utterances.append(_from_file(path, path.name))
        else:
            raise ConfigError(f"--input {item}: no such file or folder")
    ids = [u.id for u in utterances]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ConfigError(f"--input gives these ids more than once: {repeated[:5]}")
    return utterances, [None] * len(utterances)


def _from_file(path: Path, uid: str) -> Utterance:
    sidecar = path.with_suffix(".txt")
    text = sidecar.read_text(encoding="utf-8").strip() if sidecar.is_file() else ""
    return Utterance(id=uid, audio_path=path, text=text, label=0, speaker=uid)


def _read_manifest(path: Path) -> tuple[list[Utterance], list[str | None]]:
    if not path.is_file():
        raise ConfigError(f"--input {path}: no such manifest")
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 ({err}); save the manifest as UTF-8") from None
    if path.suffix.lower() == ".jsonl":
        rows = []
        for n, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ConfigError(f"{path}, line {n}: not JSON ({err})") from None
    else:
        rows = list(csv.DictReader(raw.splitlines()))
    if not rows:
        raise ConfigError(f"{path}: the manifest has no rows")
    utterances, labels = [], []
    for n, row in enumerate(rows, start=2 if path.suffix.lower() == ".csv" else 1):
        if not row.get("path") and not row.get("text"):
            raise ConfigError(f"{path}, row {n}: needs a 'path' (audio) or a 'text' column")
        audio = (path.parent / row["path"]) if row.get("path") else None
        uid = str(row.get("id") or row.get("path") or f"row{n}")
        utterances.append(
            Utterance(
                id=uid,
                audio_path=audio,
                text=str(row.get("text") or ""),
                label=0,
                speaker=str(row.get("speaker") or uid),
            )
        )
        labels.append(str(row["label"]) if row.get("label") not in (None, "") else None)
    return utterances, labels


def predict_files_main(argv: list[str]) -> Path:
    """Entry point of ``mmfa predict --input ...``. Returns the CSV written."""
    from mmfa.inference import EmotionRecognizer
    from mmfa.logs import setup_logging

    setup_logging()
    args = parse_args(argv)
    utterances, labels = read_inputs(args.input)
    recognizer = EmotionRecognizer.from_checkpoint(
        args.ckpt_path,
        device=args.device,
        cache_dir=args.cache_dir,
        allow_remote=args.allow_remote_checkpoint,
    )
    transcribed: set[str] = set()
    if args.transcribe:
        utterances, transcribed = _transcribe(utterances, args.transcribe, args.device)
    log.info("predicting %d inputs with %s", len(utterances), args.ckpt_path)
    run = recognizer.predict_utterances(utterances, batch_size=args.batch_size)
    names = recognizer.class_names
    score_columns = recognizer.problem.score_columns(names)
    rows: list[dict[str, Any]] = []
    for pos, pred in zip(run.index, run.predictions, strict=True):
        utt = utterances[pos]
        row: dict[str, Any] = {
            "id": pred.id,
            "path": "" if utt.audio_path is None else str(utt.audio_path),
            "text": utt.text,
            "prediction": pred.prediction,
        }
        if labels[pos] is not None:
            row["label"] = labels[pos]
        row.update(
            {c: f"{v:.6f}" for c, v in zip(score_columns, pred.scores.values(), strict=True)}
        )
        row["modalities"] = "+".join(pred.modalities)
        if args.transcribe:
            row["transcript"] = "asr" if pred.id in transcribed else "given"
        rows.append(row)
    _write(args.out, rows, run.skipped)
    _print_metrics(recognizer, rows, labels)
    return args.out


def _transcribe(
    utterances: list[Utterance], model: str, device: str
) -> tuple[list[Utterance], set[str]]:
    """Fill empty transcripts with ASR; return the utterances and the ids transcribed."""
    from dataclasses import replace

    from mmfa.features.asr import Transcriber

    todo = [i for i, u in enumerate(utterances) if u.audio_path is not None and not u.text.strip()]
    if not todo:
        return utterances, set()
    texts = Transcriber(model, device=device).transcribe(
        [utterances[i].audio_path for i in todo],  # type: ignore[misc]
        [utterances[i].id for i in todo],
    )
    out, done = list(utterances), set()
    for i, text in zip(todo, texts, strict=True):
        if isinstance(text, str) and text:
            out[i] = replace(out[i], text=text)
            done.add(out[i].id)
    log.info("transcribed %d of %d inputs without a transcript", len(done), len(todo))
    return out, done


def _write(out: Path, rows: list[dict[str, Any]], skipped: list[Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns or ["id"])
        writer.writeheader()
        writer.writerows(rows)
    with out.with_suffix(".jsonl").open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    log.info("%d predictions written to %s (and %s)", len(rows), out, out.with_suffix(".jsonl"))
    if skipped:
        listing = out.with_name(out.stem + ".skipped.csv")
        with listing.open("w", newline="") as handle:
            plain = csv.writer(handle)
            plain.writerow(["id", "reason", "detail"])
            plain.writerows([[s.id, s.reason, s.detail] for s in skipped])
        examples = "; ".join(f"{s.id} ({s.reason})" for s in skipped[:5])
        log.warning("%d inputs skipped, listed in %s: %s", len(skipped), listing, examples)


def _print_metrics(recognizer: Any, rows: list[dict[str, Any]], labels: list[str | None]) -> None:
    """With gold labels (multiclass), print the report's metrics for the labelled rows."""
    labelled = [r for r in rows if r.get("label") is not None]
    if not labelled or recognizer.problem.kind != "multiclass":
        return
    import numpy as np

    names = recognizer.class_names
    unknown = sorted({r["label"] for r in labelled} - set(names))
    if unknown:
        raise ConfigError(f"labels {unknown} are not classes of this model: {names}")
    target = np.array([names.index(r["label"]) for r in labelled])
    scores = np.array(
        [[float(r[c]) for c in recognizer.problem.score_columns(names)] for r in labelled]
    )
    metrics = recognizer.problem.report_metrics(target, scores, names, "input")
    from mmfa.problem import metric_label

    shown = ", ".join(f"{metric_label(k)} {100 * v:.2f}" for k, v in metrics.headline.items())
    log.info("on %d labelled inputs: %s", len(labelled), shown)
