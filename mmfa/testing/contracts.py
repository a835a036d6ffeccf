"""Contract tests that every datamodule and fusion passes, built-in or third-party.

Inherit a class in your own test file and supply the fixture it names; pytest collects the
inherited tests::

    class TestMyCorpus(DataModuleContract):
        @pytest.fixture
        def datamodule(self, tmp_path):
            return MyCorpusDataModule(root=..., cache_dir=str(tmp_path / "cache"))

    class TestGated(FusionContract):
        fusion_class = GatedFusion
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mmfa.datamodules.base import EmotionDataModule
from mmfa.manifest import SPLITS
from mmfa.problem import get_problem


class DataModuleContract:
    """Checks for an :class:`EmotionDataModule`. Needs a ``datamodule`` fixture (not set up)."""

    def test_manifest_is_well_formed(self, datamodule: EmotionDataModule) -> None:
        utts = datamodule.load_manifest()
        assert utts, "the manifest is empty"
        ids = [u.id for u in utts]
        assert len(ids) == len(set(ids)), "utterance ids must be unique"
        for u in utts:
            assert u.split in ("", *SPLITS), f"{u.id}: split {u.split!r}"
            problem = get_problem(datamodule.task_type)
            assert problem.label_ok(u.label, len(datamodule.class_names)), f"{u.id}: {u.label!r}"

    def test_setup_gives_train_and_val(self, datamodule: EmotionDataModule) -> None:
        datamodule.prepare_data()
        datamodule.setup("fit")
        assert datamodule.refs["train"] and datamodule.refs["val"]
        if datamodule.speaker_independent:
            datamodule.check_speaker_independence()
        assert len(datamodule.fold_manifest_hash()) == 64

    def test_batch_is_padded_with_masks(self, datamodule: EmotionDataModule) -> None:
        datamodule.prepare_data()
        datamodule.setup("fit")
        batch = next(iter(datamodule.val_dataloader()))
        size = len(batch["target"])
        for kind, dim in (("audio", datamodule.audio_dim), ("text", datamodule.text_dim)):
            x, mask = batch[kind], batch[f"{kind}_mask"]
            if dim == 0:
                assert x is None
                continue
            assert x.shape[0] == size and x.shape[2] == dim and mask.shape == x.shape[:2]
            assert mask.any(1).all(), f"a sample has no {kind} steps"
            assert torch.isfinite(x).all(), f"{kind} features contain NaN/Inf"
            assert (x[~mask] == 0).all(), f"{kind} padding must be zeros"

    def test_one_training_step(self, datamodule: EmotionDataModule, tmp_path: Any) -> None:
        import lightning as L

        from mmfa.fusion.mmfa import MMFAFusion
        from mmfa.fusion.single import AudioOnly, TextOnly
        from mmfa.models.task import EmotionTask

        fusion = (
            MMFAFusion
            if datamodule.audio_dim and datamodule.text_dim
            else AudioOnly
            if datamodule.audio_dim
            else TextOnly
        )
        model = EmotionTask(
            fusion=fusion,
            audio_dim=datamodule.audio_dim,
            text_dim=datamodule.text_dim,
            num_outputs=datamodule.num_outputs,
            class_names=list(datamodule.class_names),
            task_type=datamodule.task_type,
        )
        trainer = L.Trainer(
            fast_dev_run=True,
            accelerator="cpu",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            default_root_dir=str(tmp_path),
        )
        trainer.fit(model, datamodule=datamodule)
        assert torch.isfinite(torch.tensor(float(trainer.callback_metrics["train/loss"])))


class FusionContract:
    """Checks for a :class:`mmfa.fusion.base.Fusion` subclass. Set ``fusion_class``."""

    fusion_class: ClassVar[Any]
    fusion_kwargs: ClassVar[dict[str, Any]] = {}

    def _build(self) -> Any:
        torch.manual_seed(0)
        return self.fusion_class(6, 8, 3, **self.fusion_kwargs).eval()

    def _inputs(self, pad: int = 0) -> tuple[Any, ...]:
        gen = torch.Generator().manual_seed(1)
        lengths_a, lengths_t = [5, 3, 7], [2, 4, 1]
        audio = torch.zeros(3, 7 + pad, 6)
        text = torch.zeros(3, 4 + pad, 8)
        audio_mask = torch.zeros(3, 7 + pad, dtype=torch.bool)
        text_mask = torch.zeros(3, 4 + pad, dtype=torch.bool)
        for i, (la, lt) in enumerate(zip(lengths_a, lengths_t, strict=True)):
            audio[i, :la] = torch.randn(la, 6, generator=gen)
            text[i, :lt] = torch.randn(lt, 8, generator=gen)
            audio_mask[i, :la] = True
            text_mask[i, :lt] = True
        use = self.fusion_class.modalities
        return (
            audio if "audio" in use else None,
            audio_mask if "audio" in use else None,
            text if "text" in use else None,
            text_mask if "text" in use else None,
        )

    def test_output_shape(self) -> None:
        with torch.no_grad():
            out = self._build()(*self._inputs())
        assert out.shape == (3, 3) and torch.isfinite(out).all()

    def test_padding_does_not_change_outputs(self) -> None:
        fusion = self._build()
        with torch.no_grad():
            torch.testing.assert_close(
                fusion(*self._inputs()), fusion(*self._inputs(pad=5)), atol=1e-5, rtol=1e-5
            )

    def test_samples_do_not_see_each_other(self) -> None:
        fusion = self._build()
        inputs = self._inputs()
        with torch.no_grad():
            full = fusion(*inputs)
            first = fusion(*[x[:1] if x is not None else None for x in inputs])
        torch.testing.assert_close(full[:1], first, atol=1e-5, rtol=1e-5)

    def test_batch_of_one(self) -> None:
        """Each sample alone (eval mode, as in prediction) gives its row of the full batch."""
        fusion = self._build()
        inputs = self._inputs()
        with torch.no_grad():
            full = fusion(*inputs)
            for i in range(3):
                alone = fusion(*[x[i : i + 1] if x is not None else None for x in inputs])
                assert alone.shape == (1, 3) and torch.isfinite(alone).all()
                torch.testing.assert_close(alone, full[i : i + 1], atol=1e-5, rtol=1e-5)

    def test_gradient_reaches_every_parameter(self) -> None:
        """A training step updates every parameter: none is left out of the graph.

        Every parameter must receive a finite gradient. A parameter with more than one element
        must receive a non-zero one (a scalar may legitimately get zero, e.g. the bias b_a of
        eq. (1), which softmax ignores).
        """
        fusion = self._build().train()
        out = fusion(*self._inputs())
        (out.pow(2).mean() + fusion.l2_penalty()).backward()
        missing = [n for n, p in fusion.named_parameters() if p.requires_grad and p.grad is None]
        assert not missing, f"no gradient reaches {missing}"
        for name, param in fusion.named_parameters():
            assert param.grad is not None and torch.isfinite(param.grad).all(), name
            if param.numel() > 1:
                assert param.grad.abs().sum() > 0, f"{name} gets an all-zero gradient"

    def test_l2_penalty_is_a_differentiable_non_negative_scalar(self) -> None:
        fusion = self._build().train()
        penalty = fusion.l2_penalty()
        assert isinstance(penalty, torch.Tensor) and penalty.shape == ()
        assert torch.isfinite(penalty) and penalty.item() >= 0
        if penalty.item() > 0:
            assert penalty.requires_grad, "a non-zero penalty must depend on the weights"
            penalty.backward()
            grads = [p.grad for p in fusion.parameters() if p.grad is not None]
            assert grads and any(g.abs().sum() > 0 for g in grads)
        with torch.no_grad():  # the penalty grows with the weights it regularises
            for param in fusion.parameters():
                param.mul_(2.0)
        assert fusion.l2_penalty().item() >= penalty.item()
