"""Each corpus datamodule on a fake tree in the real layout: contracts, folds, and the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmfa.cli import main
from mmfa.datamodules.iemocap import IEMOCAPDataModule
from mmfa.datamodules.meld import MELDDataModule
from mmfa.datamodules.mosei import MOSEIDataModule
from mmfa.datamodules.synthetic import SyntheticDataModule
from mmfa.errors import ConfigError
from mmfa.testing.contracts import DataModuleContract
from mmfa.testing.fakes import (
    fake_expected,
    write_fake_iemocap,
    write_fake_meld,
    write_fake_mosei,
)

REPO = Path(__file__).resolve().parents[2]
MINILM = ["--data.text.init_args.model=minilm"]


@pytest.fixture(scope="module")
def iemocap_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 8 per dialog: every speaker gets a few 4-class utterances, so every fold has a val split.
    return write_fake_iemocap(tmp_path_factory.mktemp("iemocap"), utterances_per_dialog=8)


@pytest.fixture(scope="module")
def meld_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_meld(tmp_path_factory.mktemp("meld"))


@pytest.fixture(scope="module")
def mosei_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_mosei(tmp_path_factory.mktemp("mosei"))


class TestSyntheticContract(DataModuleContract):
    @pytest.fixture
    def datamodule(self) -> SyntheticDataModule:
        # the conftest's small corpus: its features are already in the session cache
        return SyntheticDataModule(num_speakers=6, utterances_per_speaker=12, batch_size=8)


class TestIEMOCAPContract(DataModuleContract):
    @pytest.fixture
    def datamodule(self, iemocap_root: Path) -> IEMOCAPDataModule:
        return IEMOCAPDataModule(root=str(iemocap_root), batch_size=4)


class TestMELDContract(DataModuleContract):
    @pytest.fixture
    def datamodule(self, meld_root: Path) -> MELDDataModule:
        return MELDDataModule(root=str(meld_root), batch_size=4)


class TestMOSEIContract(DataModuleContract):
    @pytest.fixture
    def datamodule(self, mosei_root: Path) -> MOSEIDataModule:
        return MOSEIDataModule(root=str(mosei_root), batch_size=4)


def test_iemocap_ten_speaker_independent_folds(iemocap_root: Path) -> None:
    dm = IEMOCAPDataModule(root=str(iemocap_root), batch_size=4)
    assert len(dm.fold_names()) == 10
    dm.setup("fit")
    expected = fake_expected(iemocap_root)
    assert len(dm.utterances) == expected["4class"]["mixed"]["total"]
    for fold in dm.fold_names():
        dm.fold = fold
        dm.setup("fit")  # the speaker check runs here and raises on any overlap
        test = {dm.utterances[r.index].speaker for r in dm.refs["test"]}
        val = {dm.utterances[r.index].speaker for r in dm.refs["val"]}
        assert test == {fold} and val == {fold[:5] + {"F": "M", "M": "F"}[fold[5]]}


def test_meld_skips_and_counts_bad_clips(meld_root: Path) -> None:
    dm = MELDDataModule(root=str(meld_root), batch_size=4)
    dm.setup("fit")
    assert dm.feature_report is not None
    skipped = dm.feature_report.skip_counts()
    assert skipped["missing"] == 1 and skipped["unreadable"] == 1
    assert dm.reader_counts["missing_clip"] == 1


def test_meld_text_only_needs_only_the_csvs(meld_root: Path) -> None:
    dm = MELDDataModule(root=str(meld_root), use_audio=False, batch_size=4)
    dm.setup("fit")
    assert dm.audio_dim == 0 and dm.feature_report is not None
    assert not dm.feature_report.skipped


@pytest.mark.parametrize(
    "task, task_type", [("multilabel", "multilabel"), ("sentiment", "regression")]
)
def test_mosei_tasks(mosei_root: Path, task: str, task_type: str) -> None:
    dm = MOSEIDataModule(root=str(mosei_root), task=task, batch_size=4)  # type: ignore[arg-type]
    dm.setup("fit")
    assert dm.task_type == task_type
    batch = next(iter(dm.train_dataloader()))
    assert batch["target"].dtype.is_floating_point


def test_missing_root_names_the_key() -> None:
    with pytest.raises(ConfigError, match="data.root is required"):
        IEMOCAPDataModule()


@pytest.mark.parametrize(
    "config, root, extra",
    [
        ("iemocap_4class.yaml", "iemocap_root", []),
        ("iemocap_8class.yaml", "iemocap_root", ["--data.scenario=improvised"]),
        ("meld_7class.yaml", "meld_root", []),
        ("mosei_6class.yaml", "mosei_root", []),
    ],
)
def test_real_cli_fast_dev_run(
    config: str, root: str, extra: list[str], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    path = request.getfixturevalue(root)
    main(
        [
            "fit",
            "--config",
            str(REPO / "configs" / config),
            f"--data.root={path}",
            "--data.batch_size=4",
            "--trainer.fast_dev_run=true",
            "--trainer.logger=false",
            f"--trainer.default_root_dir={tmp_path}",
            *MINILM,
            *extra,
        ]
    )
