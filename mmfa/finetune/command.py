r"""``mmfa finetune-text``: fine-tune a config's text encoder on its train split, select on val.

    mmfa finetune-text --config configs/meld_7class.yaml \
        --config configs/recipe/finetune_text.yaml --data.root DIR --out runs/meld_minilm_ft
    mmfa fit --config configs/meld_7class.yaml --data.root DIR \
        --data.text.init_args.model runs/meld_minilm_ft

The corpus config is read as ``mmfa fit`` reads it: its ``data:`` (corpus, fold, dialogue
context, and the text front-end, whose model is the encoder to start from and whose
``max_length`` and tokenizer are used as it uses them) and its ``trainer:`` (loggers, W&B,
devices, DDP strategy, precision). A fragment, ``configs/recipe/finetune_text.yaml``, sets the
fine-tune's schedule (``trainer.max_epochs``, gradient clipping) and drops the corpus config's
early stopping and checkpoints, which watch the fusion model; ``--finetune.*`` (a
``finetune:`` section) sets the optimiser (:class:`FinetuneSettings`). The corpus config's
``model:`` describes the fusion network of ``mmfa fit`` and is ignored here.

Why a small jsonargparse parser and not LightningCLI: LightningCLI would parse the corpus
config's ``model:`` as this command's LightningModule and reject it; here it and any other
section only ``mmfa fit`` uses (``checkpoint:``...) are accepted and left alone, so the one corpus
config serves both commands. The parser is Lightning's own
(:class:`~lightning.pytorch.cli.LightningArgumentParser`), so ``trainer:`` and ``data:`` read as in
``mmfa fit`` (``--print_config`` works too).

Selection: a :class:`~lightning.pytorch.callbacks.ModelCheckpoint` on ``val/F1_w`` (weighted F1 on
the validation split; the test split is never read). After training, the best checkpoint's
encoder and the tokenizer are saved in ``--out`` as a model folder, and
:data:`~mmfa.finetune.DONE_FILE` is written last (its presence means the folder is complete). A
complete folder of the same settings and data is reused, not trained again.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from jsonargparse import ActionConfigFile, Namespace, lazy_instance
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser

from mmfa.datamodules.base import EmotionDataModule
from mmfa.errors import ConfigError
from mmfa.features.text import TextFeatureExtractor, resolve_model
from mmfa.finetune import DONE_FILE
from mmfa.finetune.data import TextClassificationData, corpus_splits, data_key
from mmfa.finetune.module import TextFinetuneModule
from mmfa.lightning_cli import LoggerSaveConfigCallback, keep_wandb_noninteractive
from mmfa.loggers import CSVLogger
from mmfa.logs import setup_logging
from mmfa.plugins import load_plugins
from mmfa.threads import configure_threads

log = logging.getLogger("mmfa")


@dataclass(frozen=True)
class FinetuneSettings:
    """The fine-tune's own settings (the ``finetune:`` section of a config).

    Attributes:
        lr: AdamW peak learning rate.
        weight_decay: AdamW weight decay (not on biases and LayerNorm).
        warmup: fraction of the steps spent warming up; then linear decay to 0.
        dropout: dropout before the classification head.
        layer_decay: layer-wise learning-rate decay (1.0: none; e.g. 0.9: each layer gets 0.9
            times the learning rate of the one above).
        batch_size: utterances per training batch (``data.batch_size`` is the fusion model's).
    """

    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup: float = 0.1
    dropout: float = 0.1
    layer_decay: float = 1.0
    batch_size: int = 32


def build_parser(unused: Sequence[str] = ("model",)) -> LightningArgumentParser:
    """The ``mmfa finetune-text`` parser: a corpus config's ``data``/``trainer``, ``finetune``.

    Args:
        unused: top-level sections of the configs that only ``mmfa fit`` uses (its ``model:``,
            selection...): accepted as they are and ignored.
    """
    parser = LightningArgumentParser(
        prog="mmfa finetune-text",
        description="Fine-tune the config's text encoder on its train split (best val weighted "
        "F1 kept) and save it as a model folder for data.text.init_args.model.",
        parser_mode="omegaconf",
    )
    parser.add_argument(
        "-c", "--config", action=ActionConfigFile, help="a config file (repeatable)"
    )
    parser.add_argument(
        "--out", type=str, required=True,
        help="the folder the fine-tuned encoder is written to (then "
        "--data.text.init_args.model=OUT in mmfa fit)",
    )  # fmt: skip
    parser.add_argument("--seed_everything", type=int, default=0, help="seed of everything")
    parser.add_class_arguments(
        L.Trainer, "trainer", fail_untyped=False, instantiate=False, sub_configs=True
    )
    parser.add_lightning_class_args(EmotionDataModule, "data", subclass_mode=True, required=True)
    parser.add_class_arguments(FinetuneSettings, "finetune")
    for key in dict.fromkeys(unused):
        if key not in _OWN:
            parser.add_argument(
                f"--{key}", type=Any, default=None, help="read with the config; used by mmfa fit"
            )
    parser.set_defaults(
        {"trainer.logger": lazy_instance(CSVLogger, save_dir=".", name="lightning_logs")}
    )
    return parser


#: The top-level sections this command reads; a config's others belong to ``mmfa fit``.
_OWN = ("config", "out", "seed_everything", "trainer", "data", "finetune")


def _config_sections(argv: Sequence[str]) -> list[str]:
    """The top-level keys of the config files named in ``argv``.

    An unreadable file gives none here; the parser then reports it.
    """
    import yaml

    paths = [b for a, b in zip(argv, argv[1:], strict=False) if a in ("-c", "--config")]
    paths += [a.partition("=")[2] for a in argv if a.startswith("--config=")]
    keys: list[str] = []
    for path in paths:
        try:
            loaded = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(loaded, dict):
            keys += [k for k in loaded if isinstance(k, str) and k not in keys]
    return keys


class _ValHistory(L.Callback):
    """The validation metrics after each epoch (not the sanity check)."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        m = trainer.callback_metrics
        self.epochs.append(
            {k: round(float(m[k]), 6) for k in ("val/F1_w", "val/WA", "val/UA", "val/loss")
             if k in m}
        )  # fmt: skip


def finetune_text_main(argv: list[str]) -> dict[str, Any]:
    """Run ``mmfa finetune-text ARGS``; return what :data:`DONE_FILE` records.

    Raises:
        ConfigError: a text-less or non-classification datamodule, an empty split.
    """
    setup_logging()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    keep_wandb_noninteractive()
    load_plugins()
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # per-load and per-save bars say nothing useful
    parser = build_parser(["model", *_config_sections(argv)])
    cfg = parser.parse_args(argv)
    # Only transcripts are read: no clip is opened, whatever the corpus config says of audio.
    cfg.data.init_args.use_audio = False
    if cfg.data.init_args.get("use_text") is False:
        raise ConfigError("data.use_text is false: text fine-tuning needs the text front-end")
    init = parser.instantiate_classes(cfg)
    corpus: EmotionDataModule = init.data
    if not isinstance(corpus.text, TextFeatureExtractor):
        raise ConfigError(
            f"data.text is {type(corpus.text).__name__}; text fine-tuning needs "
            "mmfa.features.text.TextFeatureExtractor (a BERT-like encoder) as data.text"
        )
    settings: FinetuneSettings = init.finetune
    out = Path(cfg.out).expanduser()
    train, val = corpus_splits(corpus)
    text = corpus.text
    record_key = {
        "encoder": text.settings()["model"],
        "encoder_fingerprint": text.settings()["model_fingerprint"],
        "max_length": text.max_length,
        "finetune": asdict(settings),
        "seed": cfg.seed_everything,
        "max_epochs": cfg.trainer.max_epochs,
        "class_names": list(corpus.class_names),
    }
    key = data_key(train, val)
    done = out / DONE_FILE
    if done.is_file():
        record = json.loads(done.read_text())
        if record.get("settings") == record_key and record.get("data") == key:
            log.info("text fine-tune: %s is complete for these settings and data; reused", out)
            return {**record, "reused": True}

    L.seed_everything(cfg.seed_everything, workers=True)
    t0 = time.perf_counter()
    module = TextFinetuneModule(
        encoder=text.model,
        num_classes=len(corpus.class_names),
        **{k: v for k, v in asdict(settings).items() if k != "batch_size"},
    )
    data = TextClassificationData(
        train, val, resolve_model(text.model), text.max_length, settings.batch_size,
        cfg.seed_everything,
    )  # fmt: skip
    selection = ModelCheckpoint(
        monitor="val/F1_w", mode="max", save_top_k=1, save_weights_only=True,
        filename="finetune-best", auto_insert_metric_name=False,
    )  # fmt: skip
    history = _ValHistory()
    trainer = _trainer(init.trainer, [selection, history, _config_saver(parser, cfg)])
    configure_threads(ranks=getattr(trainer, "num_devices", 1))
    log.info(
        "text fine-tune: %s on %s train (%d) / val (%d), saving to %s",
        text.model, type(corpus).__name__, len(train), len(val), out,
    )  # fmt: skip
    trainer.fit(module, datamodule=data)
    best = selection.best_model_path
    if not best:
        raise ConfigError(
            "text fine-tune: no checkpoint was selected on val/F1_w (did trainer.max_epochs or "
            "limit_val_batches skip validation?)"
        )
    record = {
        "settings": record_key,
        "data": key,
        "best_epoch": int(torch.load(best, map_location="cpu", weights_only=True)["epoch"]),
        "best_val_F1_w": float(selection.best_model_score or 0.0),
        "val_per_epoch": history.epochs,
        "checkpoint": best,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if trainer.is_global_zero:
        _save_folder(module, best, resolve_model(text.model), out, record)
    trainer.strategy.barrier()
    log.info(
        "text fine-tune: epoch %d kept (val weighted F1 %.4f); use it with "
        "--data.text.init_args.model=%s",
        record["best_epoch"], record["best_val_F1_w"], out,
    )  # fmt: skip
    return {**record, "reused": False}


def _trainer(config: Namespace, callbacks: list[L.Callback]) -> L.Trainer:
    """The Trainer of the config's ``trainer:``, with the selection callbacks added."""
    kwargs = dict(config)
    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), *callbacks]
    return L.Trainer(**kwargs)


def _config_saver(parser: LightningArgumentParser, cfg: Namespace) -> L.Callback:
    """Write ``config.yaml`` into the log folder and send it to every logger, as ``mmfa fit``."""
    return LoggerSaveConfigCallback(parser, cfg, overwrite=True)


def _save_folder(
    module: TextFinetuneModule, best: str, source: str, out: Path, record: dict[str, Any]
) -> None:
    """Save the best checkpoint's encoder and the source tokenizer in ``out``; DONE_FILE last."""
    from transformers import AutoTokenizer

    state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
    module.load_state_dict(state)
    out.mkdir(parents=True, exist_ok=True)
    (out / DONE_FILE).unlink(missing_ok=True)
    module.encoder.save_pretrained(out)
    AutoTokenizer.from_pretrained(source, local_files_only=True).save_pretrained(out)
    (out / DONE_FILE).write_text(json.dumps(record, indent=1) + "\n")
