"""configs/recipe/ssl.yaml trains: the demo corpus, a tiny random WavLM in its place, on the CPU.

The recipe names ``microsoft/wavlm-base-plus`` and a GPU; the test swaps in a 6-layer WavLM of
width 32 built here (nothing is downloaded) and the CPU, exactly the overrides the docs give a
user with a local folder and no GPU. Everything else comes from the recipe, so a key it gets
wrong fails the parse, and a value the run does not apply fails the checks below.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mmfa.cli import main
from mmfa.testing.demo_fit import REPO, SMALL

RECIPE = REPO / "configs" / "recipe" / "ssl.yaml"
WIDTH = 32  # the tiny model's hidden size: what the trained model's audio input must be


@pytest.fixture(scope="module")
def tiny_wavlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised WavLM with as many layers as base plus (the recipe's layer 6 needs
    at least 6), narrow, with the real CNN strides (50 frames per second)."""
    from transformers import WavLMConfig, WavLMModel

    torch.manual_seed(0)
    config = WavLMConfig(
        hidden_size=WIDTH,
        num_hidden_layers=6,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        num_buckets=32,
        max_bucket_distance=100,
    )
    folder = tmp_path_factory.mktemp("tiny-wavlm")
    WavLMModel(config).save_pretrained(folder)
    return folder


def test_recipe_fits_with_a_local_model_on_the_cpu(tmp_path: Path, tiny_wavlm: Path) -> None:
    main(
        [
            "fit",
            "--config",
            str(REPO / "configs/demo.yaml"),
            "--config",
            str(RECIPE),
            # what docs/recipes.md tells a user with a downloaded folder and no GPU
            f"--data.audio.init_args.model={tiny_wavlm}",
            "--data.audio.init_args.device=cpu",
            "--trainer.accelerator=cpu",
            # test size
            "--trainer.max_epochs=1",
            "--trainer.enable_progress_bar=false",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            *SMALL,
        ]
    )
    ckpt = torch.load(next(tmp_path.rglob("best.ckpt")), map_location="cpu", weights_only=False)
    recipe = yaml.safe_load(RECIPE.read_text())
    hparams = ckpt["hyper_parameters"]
    # the recipe's model settings are the ones trained with ...
    for key in ("optimizer", "lr", "weight_decay", "schedule", "warmup", "label_smoothing"):
        assert hparams[key] == recipe["model"][key], key
    # ... the WavLM's hidden states reached the model (not the MFCC's 39 values) ...
    assert hparams["audio_dim"] == WIDTH
    gru = ckpt["state_dict"]["network.audio_encoder.gru.weight_hh_l0"]
    assert gru.shape[1] == round(recipe["model"]["audio_factor"] * WIDTH)
    # ... from the recipe's layer, prepared as it says (what prediction will repeat)
    spec = ckpt["mmfa"]
    wanted = recipe["data"]["init_args"]
    assert spec["audio"]["class_path"] == wanted["audio"]["class_path"]
    assert spec["audio"]["settings"]["model_type"] == "wavlm"
    assert spec["audio"]["settings"]["layer"] == wanted["audio"]["init_args"]["layer"]
    assert spec["audio_preparation"]["speaker_norm"] is wanted["speaker_norm"] is True
    assert spec["audio_preparation"]["trim_silence"] is wanted["trim_silence"] is None
    # A model trained on a GPU predicts on a CPU: the recorded device is the training machine's.
    from mmfa import EmotionRecognizer

    spec["audio"]["init_args"]["device"] = "cuda"
    moved = tmp_path / "trained_on_cuda.ckpt"
    torch.save(ckpt, moved)
    recognizer = EmotionRecognizer.from_checkpoint(moved, device="cpu")
    assert recognizer.audio.device == "cpu"
    tone = np.sin(np.linspace(0, 2000, 16000)).astype(np.float32)
    predicted = recognizer.predict(tone, sample_rate=16000, text="hi").prediction
    assert predicted in recognizer.class_names


def test_recipe_parses_after_a_corpus_config_without_the_model(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--print_config` with RAVDESS: no model on disk, and no network attempt to find one."""

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsing the recipe tried the network")

    monkeypatch.setattr("socket.socket.connect", no_network)
    monkeypatch.setattr("socket.create_connection", no_network)
    ravdess = REPO / "configs" / "ravdess_8class.yaml"
    with pytest.raises(SystemExit) as done:
        main(["fit", "--config", str(ravdess), "--config", str(RECIPE), "--print_config"])
    assert done.value.code in (0, None)
    printed = yaml.safe_load(capsys.readouterr().out)
    audio = printed["data"]["init_args"]["audio"]
    assert audio["init_args"]["model"] == "microsoft/wavlm-base-plus"
    assert audio["init_args"]["device"] == "cuda" and printed["trainer"]["accelerator"] == "auto"


def _gpu_benchmark(*argv: str) -> subprocess.CompletedProcess[str]:
    """``python benchmarks/gpu_train.py --recipe ssl ...`` from the repository root, on the CPU."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "benchmarks/gpu_train.py", "--recipe", "ssl", "--device", "cpu", *argv]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)


def test_gpu_benchmark_runs_the_recipe_with_a_local_model(tmp_path: Path, tiny_wavlm: Path) -> None:
    out = tmp_path / "gpu_train_ssl.json"
    done = _gpu_benchmark(
        *("--ssl-model", str(tiny_wavlm), "--utterances", "12", "--hours", "0.01"),
        *("--epochs", "1", "--batch-size", "4", "--out", str(out)),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    recipe = yaml.safe_load(RECIPE.read_text())
    assert result["recipe"] == "ssl" and result["utterances"] == 12
    assert result["frontend"]["model_type"] == "wavlm" and result["frontend"]["dim"] == WIDTH
    assert result["frontend"]["layer"] == recipe["data"]["init_args"]["audio"]["init_args"]["layer"]
    assert result["training"]["optimizer"]["name"] == "AdamW"
    assert result["training"]["optimizer"]["lr"] == recipe["model"]["lr"]
    assert result["projected_loso"]["epochs_per_fold"] == recipe["trainer"]["max_epochs"]
    assert result["extraction"]["utterances_per_s"] > 0
    # relative paths only: the model folder and every path of the command
    assert not os.path.isabs(result["frontend"]["model"])
    assert not any(os.path.isabs(a) for a in shlex.split(result["command"]))


def test_gpu_benchmark_skips_without_the_model(tmp_path: Path) -> None:
    out = tmp_path / "gpu_train_ssl.json"
    done = _gpu_benchmark("--ssl-model", "no-such-org/no-such-model", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("SKIP:") and "hf download" in done.stdout
    assert not out.exists()
