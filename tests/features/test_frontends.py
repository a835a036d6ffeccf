"""The audio front-end contract: built-ins follow it; a third-party one plugs in by entry point."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

import mmfa.plugins as plugins
from mmfa.datamodules.base import EmotionDataModule
from mmfa.features.audio import MFCCExtractor
from mmfa.features.frontend import AudioFrontEnd
from mmfa.features.pipeline import FeaturePipeline
from mmfa.features.torch_mfcc import TorchMFCCExtractor
from mmfa.manifest import Utterance
from mmfa.testing.media import tone, write_wav

# A front-end as a third party would ship it: its own package, registered in mmfa.frontends.
PLUGIN_SOURCE = textwrap.dedent(
    '''
    import numpy as np
    from mmfa.features.frontend import AudioFrontEnd

    class EnvelopeFrontEnd(AudioFrontEnd):
        """Log RMS and zero-crossing rate of 50 ms frames."""

        def __init__(self, hop: int = 800) -> None:
            self.hop = hop

        @property
        def dim(self) -> int:
            return 2

        def settings(self) -> dict:
            return {"extractor": "envelope", "hop": self.hop}

        def from_signal(self, signal, utterance_id):
            n = len(signal) // self.hop
            frames = np.asarray(signal[: n * self.hop], np.float64).reshape(n, self.hop)
            rms = np.log(np.sqrt((frames**2).mean(1)) + 1e-6)
            zcr = (np.diff(np.sign(frames), axis=1) != 0).mean(1)
            return np.stack([rms, zcr], 1).astype(np.float32)
    '''
)


class TinyCorpus(EmotionDataModule):
    class_names = ("a", "b")

    def __init__(self, utterances: list[Utterance], **kwargs: object) -> None:
        self._utterances = utterances
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def load_manifest(self) -> list[Utterance]:
        return self._utterances


def tiny_corpus(root: Path) -> list[Utterance]:
    utts = []
    for i in range(8):
        path = write_wav(root / f"u{i}.wav", tone(0.4 + 0.1 * i, freq=120.0 + 20 * i, seed=i))
        split = ("train", "train", "val", "test")[i % 4]
        utts.append(Utterance(f"u{i}", path, f"words {i}", i % 2, f"s{i % 4}", split=split))
    return utts


@pytest.fixture
def plugin_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    package = tmp_path / "plugin_src" / "envelope_frontend"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(package.parent))
    entry = EntryPoint("envelope", "envelope_frontend:EnvelopeFrontEnd", "mmfa.frontends")
    monkeypatch.setattr(
        plugins, "entry_points", lambda group: [entry] if group == "mmfa.frontends" else []
    )
    loaded = plugins.load_plugins(("mmfa.frontends",))
    yield loaded["mmfa.frontends:envelope"]
    sys.modules.pop("envelope_frontend", None)


def test_built_in_front_ends_follow_the_contract() -> None:
    for frontend in (MFCCExtractor(), TorchMFCCExtractor()):
        assert isinstance(frontend, AudioFrontEnd)
        assert frontend.dim == 39 and frontend.frame_rate == pytest.approx(20.0)
        assert frontend.settings()["dim"] == 39
    assert TorchMFCCExtractor.batched and not MFCCExtractor.batched


def test_built_ins_are_registered_in_the_entry_point_group() -> None:
    names = {p.name: p.target for p in plugins.list_plugins(("mmfa.frontends",))}
    assert names["opensmile-mfcc"] == "mmfa.features.audio:MFCCExtractor"
    assert names["torch-mfcc"] == "mmfa.features.torch_mfcc:TorchMFCCExtractor"
    assert names["ssl"] == "mmfa.features.ssl:SSLFrontEnd"


def test_a_third_party_front_end_registered_by_entry_point_feeds_a_datamodule(
    tmp_path: Path, plugin_class: type
) -> None:
    frontend = plugin_class()
    assert isinstance(frontend, AudioFrontEnd) and not frontend.batched
    dm = TinyCorpus(
        tiny_corpus(tmp_path / "corpus"),
        audio=frontend,
        use_text=False,
        cache_dir=str(tmp_path / "cache"),
        batch_size=2,
    )
    dm.setup("fit")
    assert dm.audio_dim == 2
    batch = next(iter(dm.train_dataloader()))
    assert batch["audio"].shape[0] == 2 and batch["audio"].shape[2] == 2
    # The store folder is keyed by the plugin's own settings.
    folders = [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith("audio-")]
    assert len(folders) == 1


def test_pipeline_extracts_with_any_front_end(tmp_path: Path, plugin_class: type) -> None:
    utts = tiny_corpus(tmp_path / "corpus")
    expected = {}
    for frontend in (plugin_class(), TorchMFCCExtractor()):
        pipeline = FeaturePipeline(tmp_path / "cache", frontend, None, progress=False)
        refs, report = pipeline.run(utts)
        assert len(refs) == 8 and report.extracted["audio"] == 8
        assert pipeline.audio_store is not None
        row = pipeline.audio_store.get_row(refs[0].audio_row)
        expected[frontend.dim] = row.shape[1]
        ref_row = frontend.from_file(utts[0].audio_path, utterance_id="u0")
        # float32 MFCC of magnitude ~10: batched and one-by-one FFTs round differently (~3e-6
        # relative, more with other thread counts and CPU kernel sets)
        np.testing.assert_allclose(row, ref_row, rtol=1e-5, atol=1e-4)
    assert expected == {2: 2, 39: 39}
