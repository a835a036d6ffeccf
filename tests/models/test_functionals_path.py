"""The utterance-level features path (data.functionals -> model.functionals_dim), end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from mmfa.cli import main
from mmfa.datamodules.preparation import AudioPreparation
from mmfa.fusion.single import AudioOnly
from mmfa.models.network import MMFANetwork
from mmfa.testing.demo_fit import fit_demo

FUNCTIONALS = [
    "--data.init_args.functionals=mmfa.features.functionals.FunctionalsExtractor",
    "--data.init_args.functionals.init_args.feature_set=egemaps",
    "--model.functionals_dropout=0.2",
]


def _batch(batch: int = 3, frames: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(batch, frames, 39, generator=gen), torch.ones(
        batch, frames, dtype=torch.bool
    )


def test_the_path_adds_a_linear_readout_of_the_functionals_to_the_logits() -> None:
    torch.manual_seed(0)
    net = MMFANetwork(39, 0, 4, fusion=AudioOnly, functionals_dim=5).eval()
    audio, mask = _batch()
    functionals = torch.randn(3, 5, generator=torch.Generator().manual_seed(1))
    assert net.functionals_head is not None
    linear = net.functionals_head[1]
    # Two code paths in one run: the network's sum, and the fusion plus the linear layer.
    expected = net.fusion(net.audio_encoder(audio, mask), mask, None, None) + linear(functionals)
    torch.testing.assert_close(net(audio, mask, None, None, functionals), expected)
    # The paper's network (no path) ignores nothing and needs nothing.
    assert MMFANetwork(39, 0, 4, fusion=AudioOnly).functionals_head is None


def test_a_path_fitted_apart_is_left_out_in_training_and_summed_in_eval() -> None:
    torch.manual_seed(0)
    net = MMFANetwork(39, 0, 4, fusion=AudioOnly, functionals_dim=5, recurrent_dropout=0.0)
    net.functionals_apart = True
    audio, mask = _batch()
    functionals = torch.randn(3, 5, generator=torch.Generator().manual_seed(1))
    net.train()
    torch.manual_seed(2)  # the same dropout draws in both calls
    with_functionals = net(audio, mask, None, None, functionals)
    torch.manual_seed(2)
    torch.testing.assert_close(with_functionals, net(audio, mask, None, None))
    net.eval()
    assert net.functionals_head is not None
    alone = net.fusion(net.audio_encoder(audio, mask), mask, None, None)
    torch.testing.assert_close(
        net(audio, mask, None, None, functionals), alone + net.functionals_head(functionals)
    )


def test_the_logistic_head_is_sklearns_regression_chosen_on_validation_and_frozen() -> None:
    from sklearn.linear_model import LogisticRegression

    from mmfa.models.functionals_head import fit_logistic_head

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 6)) * 2
    y = rng.integers(0, 3, size=90)
    x = (centres[y] + rng.normal(size=(90, 6))).astype(np.float32)
    head = torch.nn.Linear(6, 4)  # one class more than the data has: never predicted
    chosen = fit_logistic_head(head, (x[:60], y[:60]), (x[60:], y[60:]), 4, grid=(0.01, 1.0))
    assert chosen["C"] in (0.01, 1.0)
    reference = LogisticRegression(C=chosen["C"], max_iter=500).fit(x[:60], y[:60])
    logits = head(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(logits[:, :3], reference.decision_function(x), rtol=1e-4, atol=1e-4)
    assert (logits.argmax(1) < 3).all()
    assert not any(p.requires_grad for p in head.parameters())


def test_a_network_with_the_path_refuses_a_batch_without_functionals() -> None:
    net = MMFANetwork(39, 0, 4, fusion=AudioOnly, functionals_dim=5).eval()
    audio, mask = _batch()
    with pytest.raises(ValueError, match="model.functionals_dim"):
        net(audio, mask, None, None)


def test_training_stats_only_standardises_named_speakers_with_the_training_statistics() -> None:
    rng = np.random.default_rng(0)
    train = [rng.normal(5.0, 2.0, size=(1, 3)) for _ in range(50)]
    prep = AudioPreparation(speaker_norm=True, training_stats_only=True)
    prep.fit_training_stats(train)
    stats = prep.statistics([("alice", np.full((1, 3), 100.0))])  # alice gets no stats of her own
    x = np.full((1, 3), 7.0)
    named, unnamed = prep(x, "alice", stats), prep(x, "", stats)
    np.testing.assert_array_equal(named, unnamed)
    assert prep.training_stats is not None
    mean, std = prep.training_stats
    np.testing.assert_allclose(named, (x - mean) / std, rtol=1e-6)
    again = AudioPreparation.from_record(prep.record())
    assert again.training_stats_only and again.speaker_norm
    np.testing.assert_allclose(again(x, "alice", again.statistics([])), named, rtol=1e-6)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny demo fit with eGeMAPS functionals beside the MFCC, per-speaker normalised."""
    root = tmp_path_factory.mktemp("fit")
    return fit_demo(root, *FUNCTIONALS, "--data.init_args.speaker_norm=true", epochs=2)


def test_the_checkpoint_records_the_functionals_and_their_statistics(
    trained: tuple[Path, Path],
) -> None:
    ckpt, _ = trained
    checkpoint = torch.load(ckpt, weights_only=True)
    assert checkpoint["hyper_parameters"]["functionals_dim"] == 88
    spec = checkpoint["mmfa"]
    assert spec["functionals"]["settings"]["feature_set"] == "eGeMAPSv02"
    record = spec["functionals_preparation"]
    assert record["speaker_norm"] and not record["training_stats_only"]
    assert len(record["training_stats"]["mean"]) == 88


def test_predict_from_the_checkpoint_alone_reproduces_the_fit_test(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    from mmfa.datamodules.synthetic import SyntheticDataModule

    ckpt, predictions = trained
    with predictions.open(newline="") as handle:
        want = {r["id"]: r for r in csv.DictReader(handle)}
    utterances = {
        u.id: u
        for u in SyntheticDataModule(num_speakers=6, utterances_per_speaker=12).load_manifest()
    }
    # Per-speaker statistics need every utterance of each speaker, as in training.
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "path", "text", "speaker"])
        for utt in utterances.values():
            writer.writerow([utt.id, utt.audio_path, utt.text, utt.speaker])
    out = tmp_path / "preds.csv"
    main(["predict", "--ckpt_path", str(ckpt), "--input", str(manifest), "--out", str(out)])
    with out.open(newline="") as handle:
        got = {r["id"]: r for r in csv.DictReader(handle)}
    for uid, row in want.items():
        for column, value in row.items():
            if column.startswith("score_"):
                assert float(got[uid][column]) == pytest.approx(float(value), abs=1e-5), uid
