"""The one LightningModule: shared GRU encoders + a fusion strategy, trained and measured.

Everything model-shaped is a plain ``nn.Module`` (:class:`mmfa.models.network.MMFANetwork`);
this file adds the loss, the paper's optimiser and the metrics, and nothing else.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Any, Literal

import lightning as L
import numpy as np
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MeanMetric

from mmfa.checkpoints import (
    SPEC_KEY,
    feature_mismatch,
    inference_record,
    init_args,
    load_class,
    registered_entry_point,
)
from mmfa.errors import ConfigError
from mmfa.fusion.base import Fusion, FusionFactory
from mmfa.metrics import build_metrics
from mmfa.models.network import MMFANetwork
from mmfa.models.optim import (
    ClassWeight,
    ScheduleName,
    build_optimizer,
    build_schedule,
    class_weights,
)
from mmfa.problem import ProblemType, get_problem


class EmotionTask(L.LightningModule):
    """MMFA-RNN training task (paper Sec. III.C, Appendix A).

    The data facts (``audio_dim``, ``text_dim``, ``num_outputs``, ``class_names``, ``task_type``)
    are linked from the datamodule by the CLI; configs never copy them by hand.

    Args:
        fusion: the fusion strategy, as a class (``class_path``/``init_args`` in configs) that the
            network calls with (audio_dim, text_dim, num_outputs). Default: the paper's MMFA.
        audio_dim: MFCC size per frame (39).
        text_dim: text embedding size (768 BERT-base, 384 MiniLM).
        num_outputs: number of classes (or labels; 1 for regression).
        class_names: label names, for per-class metric names.
        task_type: the problem (:mod:`mmfa.problem`): ``multiclass`` (cross-entropy, the paper),
            ``multilabel`` or ``regression``.
        optimizer: ``sgd`` (the paper: plain SGD) or ``adam``/``adamw`` (options beside it).
        lr: learning rate (paper: 1e-3).
        lr_decay: Keras-style decay per step, lr_t = lr / (1 + lr_decay * t) (paper: 1e-6).
        momentum: SGD momentum (paper/Keras default: 0).
        audio_factor: f_a of eq. (5): audio GRU units = f_a x 39.
        text_factor: f_w of eq. (6): text GRU units = text_dim / f_w.
        recurrent_dropout: GRU recurrent dropout (paper: 0.3; see ModalityEncoder for how).
        l2: L2 factor on the GRU weights (paper: 1e-4; the fusion has its own).
        weight_decay: optimiser weight decay; None = torch's default (0; AdamW 0.01).
        schedule: ``keras_decay`` (the paper, with ``lr_decay``), ``cosine`` (linear warm-up
            over the first ``warmup`` fraction of the steps, then cosine to 0) or ``onecycle``
            (:mod:`mmfa.models.optim`).
        warmup: fraction of the training steps spent warming up (cosine, onecycle).
        label_smoothing: cross-entropy label smoothing in training (multiclass; paper: 0).
        class_weight: ``none`` (the paper) or ``balanced``: cross-entropy weights
            ``n / (C n_c)`` from the training split's label counts (multiclass).
        modality_dropout: in training, the share of utterances that lose their audio or their
            text (see :class:`~mmfa.models.network.MMFANetwork`; paper: 0).
        functionals_dim: size of the utterance-level features (linked from
            ``data.functionals``; 0: none, the paper).
        functionals_dropout: dropout on them in training.
        functionals_head: how their linear path is learnt: ``train`` (by gradient descent with
            the rest) or ``logistic`` (fitted at the start of training as an L2 logistic
            regression, its strength chosen on validation, and frozen; the sequence path is then
            trained on its own and the two are summed when evaluating; multiclass only; see
            :mod:`mmfa.models.functionals_head`).
    """

    def __init__(
        self,
        fusion: FusionFactory | None = None,
        audio_dim: int = 39,
        text_dim: int = 384,
        num_outputs: int = 4,
        class_names: list[str] | None = None,
        task_type: ProblemType = "multiclass",
        optimizer: Literal["sgd", "adam", "adamw"] = "sgd",
        lr: float = 1e-3,
        lr_decay: float = 1e-6,
        momentum: float = 0.0,
        audio_factor: float = 2.0,
        text_factor: float = 4.0,
        recurrent_dropout: float = 0.3,
        l2: float = 1e-4,
        weight_decay: float | None = None,
        schedule: ScheduleName = "keras_decay",
        warmup: float = 0.0,
        label_smoothing: float = 0.0,
        class_weight: ClassWeight = "none",
        modality_dropout: float = 0.0,
        functionals_dim: int = 0,
        functionals_dropout: float = 0.0,
        functionals_head: Literal["train", "logistic"] = "train",
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["fusion"])
        self.class_names = list(class_names or [str(i) for i in range(num_outputs)])
        self.problem = get_problem(task_type, key="model.task_type")
        self.network = MMFANetwork(
            audio_dim,
            text_dim,
            num_outputs,
            fusion=fusion,
            audio_factor=audio_factor,
            text_factor=text_factor,
            recurrent_dropout=recurrent_dropout,
            l2=l2,
            modality_dropout=modality_dropout,
            functionals_dim=functionals_dim,
            functionals_dropout=functionals_dropout,
        )
        if functionals_head == "logistic" and self.problem.kind != "multiclass":
            raise ConfigError(
                f"model.functionals_head=logistic fits a multiclass classifier; this problem is "
                f"{self.problem.kind}: use model.functionals_head=train"
            )
        self.network.functionals_apart = functionals_head == "logistic"
        self.class_weights: Tensor | None = None  # set from the training split at fit start
        fusion_module = self.network.fusion
        if self.problem.kind not in fusion_module.problem_types:
            raise ConfigError(
                f"model.fusion={type(fusion_module).__name__} "
                f"({fusion_module.extra_repr() or 'defaults'}) cannot produce {self.problem.kind} "
                f"outputs; it supports {list(fusion_module.problem_types)}. "
                + fusion_module.problem_hint
            )
        metrics = build_metrics(self.problem, self.class_names)
        self.val_metrics = metrics.clone(prefix="val/")
        # Sample-weighted mean of the validation loss, synced as (sum, count) in float. Not
        # self.log(..., batch_size=..., sync_dist=True): Lightning 2.6 (gloo) averages its integer
        # sample count across ranks with truncation (23 over 2 ranks -> 11), so val/loss was wrong
        # under DDP whenever the ranks held different numbers of samples
        # (tests/experiments/test_ddp.py).
        self.val_loss = MeanMetric()
        self.test_metrics = metrics.clone(prefix="test/")
        #: What inference needs besides the weights (:mod:`mmfa.checkpoints`); the CLI sets it,
        #: every checkpoint saved carries it, and a loaded one restores it.
        self.inference_spec: dict[str, Any] | None = None

    @property
    def fusion(self) -> Fusion:
        """The fusion module in use."""
        return self.network.fusion

    def setup(self, stage: str) -> None:
        """Fit the functionals path as a logistic regression first (``functionals_head``)."""
        head = self.network.functionals_head
        if stage != "fit" or head is None or self.hparams.get("functionals_head") != "logistic":
            return
        from mmfa.models.functionals_head import fit_logistic_head

        datamodule: Any = getattr(self.trainer, "datamodule", None)
        linear = head[1]
        assert isinstance(linear, nn.Linear)

        def arrays(split: str) -> tuple[Any, Any]:
            named = datamodule.functionals_arrays(split)
            if not getattr(datamodule, "speaker_norm_dropout", 0):
                return named
            # Trained to serve unnamed speakers too: fit and choose on both preparations.
            unknown = datamodule.functionals_arrays(split, unknown_speakers=True)
            return np.concatenate([named[0], unknown[0]]), np.concatenate([named[1], unknown[1]])

        fit_logistic_head(linear, arrays("train"), arrays("val"), len(self.class_names))

    # -- forward and loss ------------------------------------------------------------------------
    def forward(self, batch: dict[str, Any]) -> Tensor:
        """Logits (B, num_outputs) for a padded batch."""
        return self.network(
            batch["audio"],
            batch["audio_mask"],
            batch["text"],
            batch["text_mask"],
            batch.get("functionals"),
        )

    def _loss(self, logits: Tensor, target: Tensor) -> Tensor:
        smoothing = float(self.hparams.get("label_smoothing", 0.0)) if self.training else 0.0
        if self.problem.kind == "multiclass" and (smoothing or self.class_weights is not None):
            weight = None if self.class_weights is None else self.class_weights.to(logits.device)
            return F.cross_entropy(logits, target, weight=weight, label_smoothing=smoothing)
        return self.problem.loss(logits, target)

    def _scores(self, logits: Tensor) -> Tensor:
        return self.problem.scores(logits)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        """Loss + Keras-style L2 penalty."""
        logits = self(batch)
        loss = self._loss(logits, batch["target"])
        penalty = self.network.l2_penalty()
        self.log("train/loss", loss, prog_bar=True, batch_size=len(logits))
        self.log("train/l2", penalty, batch_size=len(logits))
        return loss + penalty

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Tensor]:
        """Accumulate validation metrics (model selection uses these only).

        Returns the batch's scores and targets for callbacks (e.g. ``CollapseWarning``).
        """
        logits = self(batch)
        scores = self._scores(logits)
        self.val_loss.update(self._loss(logits, batch["target"]), weight=len(logits))
        self.val_metrics.update(scores, batch["target"])
        return {"scores": scores.detach(), "target": batch["target"].detach()}

    def on_validation_epoch_end(self) -> None:
        """Log and reset the validation metrics (compute syncs them: the values are global)."""
        self.log("val/loss", self.val_loss.compute())
        self.log_dict(self.val_metrics.compute(), prog_bar=False)
        self.val_loss.reset()
        self.val_metrics.reset()

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Tensor]:
        """Accumulate test metrics; return the scores for the prediction writer callback."""
        scores = self._scores(self(batch))
        self.test_metrics.update(scores, batch["target"])
        return {
            "index": batch["index"].detach().cpu(),
            "scores": scores.detach().cpu(),
            "target": batch["target"].detach().cpu(),
        }

    def on_test_epoch_end(self) -> None:
        """Log the test metrics (compute syncs them across ranks)."""
        self.log_dict(self.test_metrics.compute())
        self.test_metrics.reset()

    def predict_step(
        self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0
    ) -> dict[str, Any]:
        """Scores per utterance, with manifest positions and the modalities the model read.

        A model trained with modality dropout may predict without one of its modalities.
        """
        return {
            "index": batch["index"].detach().cpu(),
            "scores": self._scores(self(batch)).cpu(),
            "modalities": tuple(m for m in self.fusion.modalities if batch.get(m) is not None),
        }

    # -- checkpoints ------------------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, checkpoint: Mapping[str, Any]) -> EmotionTask:
        """The trained task, in eval mode, from a checkpoint (:func:`mmfa.checkpoints.load`).

        Every class the checkpoint names (fusion, audio and text front-ends) is first looked up
        among the registered entry points (:func:`mmfa.checkpoints.check_classes`), so a
        checkpoint naming anything else is refused before any module is imported or called.

        Args:
            checkpoint: the loaded checkpoint (plain data: ``state_dict``, ``hyper_parameters``
                and mmfa's inference record).

        Raises:
            ConfigError: no inference record (written by an older mmfa, or not by mmfa fit/cv),
                a class that is not registered, or hyper-parameters this task does not take.
        """
        spec = inference_record(checkpoint)
        fusion_cls = load_class(registered_entry_point(spec["fusion"]["class_path"], "mmfa.fusion"))
        fusion_args = init_args(spec["fusion"], "fusion")
        hparams = dict(checkpoint.get("hyper_parameters") or {})
        hparams.pop("_instantiator", None)
        known = set(inspect.signature(cls.__init__).parameters) - {"self", "fusion"}
        unknown = sorted(str(k) for k in hparams if k not in known)
        if unknown:
            raise ConfigError(
                f"the checkpoint's hyper_parameters {unknown} are not arguments of "
                f"{cls.__name__}; it was written by another mmfa version or is damaged"
            )
        task = cls(fusion=functools.partial(fusion_cls, **fusion_args), **hparams)
        task.load_state_dict(checkpoint["state_dict"])
        task.inference_spec = spec
        return task.eval()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Store the inference record (plain data) beside the weights."""
        if self.inference_spec is None:
            return
        spec = dict(self.inference_spec)
        # The audio preparation learns its training statistics at setup, after the record was
        # made: take it from the datamodule now.
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer else None
        preparation = getattr(datamodule, "preparation", None)
        if preparation is not None:
            spec["audio_preparation"] = preparation.record()
        functionals = getattr(datamodule, "functionals_preparation", None)
        if functionals is not None and spec.get("functionals") is not None:
            spec["functionals_preparation"] = functionals.record()
        checkpoint[SPEC_KEY] = spec

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Restore the inference record of the checkpoint being loaded."""
        self.inference_spec = checkpoint.get(SPEC_KEY, self.inference_spec)

    def _check_features(self) -> None:
        """Refuse to evaluate a checkpoint on other classes (or their order) or other features."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if self.inference_spec is None or datamodule is None:
            return
        trained = [str(n) for n in self.inference_spec.get("class_names") or []]
        now = [str(n) for n in getattr(datamodule, "class_names", None) or []]
        if trained and now and trained != now:  # each score column would name another class
            corpus = self.inference_spec.get("datamodule")
            fix = (
                "the same classes in another order, so its labels would be read as other "
                "classes. Declare the classes in the checkpoint's order (e.g. "
                f"data.classes=[{', '.join(trained)}])"
                if sorted(trained) == sorted(now)
                else f"it was trained on another corpus ({corpus}; the data is "
                f"{type(datamodule).__name__}). Evaluate it on the corpus it was trained on"
            )
            raise ConfigError(f"the checkpoint's classes are {trained}, the data's {now}: {fix}")
        differences = feature_mismatch(self.inference_spec, datamodule)
        if differences:
            raise ConfigError(
                "the checkpoint was trained on other features than this configuration computes:\n  "
                + "\n  ".join(differences)
                + "\nSet the same data.audio / data.text options as in training (or use "
                "`mmfa predict --ckpt_path ... --input ...`, which needs no config)."
            )

    def on_validation_start(self) -> None:
        """Check the features match the checkpoint's."""
        self._check_features()

    def on_test_start(self) -> None:
        """Check the features match the checkpoint's."""
        self._check_features()

    def on_predict_start(self) -> None:
        """Check the features match the checkpoint's."""
        self._check_features()

    # -- optimisation (Appendix A) ---------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        """SGD, lr 1e-3, Keras decay 1e-6 per step (lr / (1 + decay * step)) by default.

        The practical recipe's choices (AdamW, cosine with warm-up, class weights) come from
        :mod:`mmfa.models.optim`.
        """
        hp = self.hparams
        opt = build_optimizer(
            self.parameters(), hp["optimizer"], float(hp["lr"]), hp["momentum"], hp["weight_decay"]
        )
        schedule = build_schedule(
            opt,
            hp["schedule"],
            total_steps=int(self.trainer.estimated_stepping_batches),
            warmup=float(hp["warmup"]),
            lr_decay=float(hp["lr_decay"]),
        )
        datamodule = getattr(self.trainer, "datamodule", None)
        if hp["class_weight"] != "none" and self.problem.kind == "multiclass" and datamodule:
            self.class_weights = class_weights(datamodule.label_counts("train"), hp["class_weight"])
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
