"""RAVDESS: the file-name reader, actor-independent folds on any subset, the datamodule, the CLI."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from mmfa.cli import main
from mmfa.corpora.ravdess import (
    RAVDESS_CLASSES,
    actor_groups,
    gender_of,
    list_actors,
    parse_name,
    ravdess_folds,
    read_ravdess,
    read_ravdess_with_report,
)
from mmfa.datamodules.ravdess import RAVDESSDataModule
from mmfa.errors import ConfigError
from mmfa.testing.contracts import DataModuleContract
from mmfa.testing.fakes import fake_expected
from mmfa.testing.fakes.ravdess import write_fake_ravdess

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ravdess_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_ravdess(tmp_path_factory.mktemp("ravdess"), actors=range(1, 7))


class TestRAVDESSContract(DataModuleContract):
    @pytest.fixture
    def datamodule(self, ravdess_root: Path) -> RAVDESSDataModule:
        return RAVDESSDataModule(root=str(ravdess_root), batch_size=4)


# --- reader ---------------------------------------------------------------------------------------


def test_reader_matches_the_plan(ravdess_root: Path) -> None:
    expected = fake_expected(ravdess_root)
    utts, report = read_ravdess_with_report(ravdess_root)
    assert report == expected["report"]  # the song clip is counted, ._*, .DS_Store, .mp4 ignored
    assert sorted(u.id for u in utts) == sorted(expected["ids"])
    assert dict(Counter(RAVDESS_CLASSES[int(u.label)] for u in utts)) == expected["classes"]
    assert dict(Counter(u.speaker for u in utts)) == expected["speakers"]
    for u in utts:
        fields = u.id.split("-")
        assert u.text == expected["texts"][str(int(fields[4]))]
        assert u.speaker == f"Actor_{fields[6]}" and u.split == ""
        assert u.extra["gender"] == ("male" if int(fields[6]) % 2 else "female")
        assert u.audio_path is not None and u.audio_path.suffix == ".flac"


def test_reader_takes_the_original_wav_layout(tmp_path: Path) -> None:
    corpus = write_fake_ravdess(tmp_path, actors=[3, 8, 11], suffix=".wav")
    utts = read_ravdess(corpus)
    assert len(utts) == fake_expected(corpus)["total"]
    assert {u.audio_path.suffix for u in utts if u.audio_path} == {".wav"}
    assert list_actors(corpus) == [3, 8, 11]


def test_parse_name_fields() -> None:
    name = parse_name(Path("03-01-08-02-02-01-24.wav"))
    assert (name.emotion, name.intensity, name.statement, name.repetition, name.actor) == (
        8,
        2,
        2,
        1,
        24,
    )
    assert name.is_speech_audio and gender_of(24) == "female" and gender_of(1) == "male"


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("03-01-09-01-01-01-01", "emotion 09"),
        ("03-01-01-02-01-01-01", "neutral"),
        ("03-01-02-01-03-01-01", "statement 03"),
        ("03-01-02-01-01-01-25", "actor 25"),
        ("03-01-02-01-01-01", "malformed"),
        ("happy_take1", "malformed"),
    ],
)
def test_bad_names_are_named(bad: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as info:
        parse_name(Path(f"Actor_01/{bad}.wav"))
    assert bad in str(info.value)


def test_bad_name_in_a_tree_names_the_file(tmp_path: Path) -> None:
    corpus = write_fake_ravdess(tmp_path, actors=[1, 2, 3])
    shutil.copy(
        corpus / "Actor_02" / "03-01-03-01-01-01-02.flac", corpus / "Actor_02" / "take 7.flac"
    )
    with pytest.raises(ConfigError, match=r"take 7\.flac"):
        read_ravdess(corpus)


def test_clip_in_the_wrong_actor_folder(tmp_path: Path) -> None:
    corpus = write_fake_ravdess(tmp_path, actors=[1, 2, 3])
    shutil.move(
        corpus / "Actor_02" / "03-01-03-01-01-01-02.flac",
        corpus / "Actor_03" / "03-01-03-01-01-01-02.flac",
    )
    with pytest.raises(ConfigError, match="Actor_03.*move it to Actor_02"):
        read_ravdess(corpus)


def test_wav_and_flac_of_one_clip_count_once(tmp_path: Path) -> None:
    corpus = write_fake_ravdess(tmp_path, actors=[1, 2, 3])
    clip = corpus / "Actor_01" / "03-01-05-02-01-01-01.flac"
    shutil.copy(clip, clip.with_suffix(".wav"))
    utts, report = read_ravdess_with_report(corpus)
    assert report["duplicates"] == 1 and len(utts) == fake_expected(corpus)["total"]
    assert next(u for u in utts if u.id == clip.stem).audio_path == clip.with_suffix(".wav")


def test_root_without_actor_folders(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no Actor_XX folders"):
        read_ravdess(tmp_path)


# --- folds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actors",
    [
        list(range(1, 25)),
        list(range(1, 13)),
        [1, 2, 5, 6, 9, 10, 13, 14],
        [2, 4, 6, 7, 9],
        [1, 2, 3],
    ],
    ids=["24", "12", "8", "5-unbalanced", "3"],
)
def test_folds_are_actor_independent_on_any_subset(actors: list[int]) -> None:
    folds = ravdess_folds(actors)
    assert len(folds) == min(6, len(actors))
    tested = [a for f in folds for a in f.test]
    assert sorted(tested) == sorted(actors), "every actor is tested exactly once"
    for f in folds:
        assert f.test and f.val and not set(f.test) & set(f.val)
        assert set(actors) - set(f.test) - set(f.val), "a fold must keep actors for training"
    assert len({f.name for f in folds}) == len(folds)


@pytest.mark.parametrize("n", [24, 12])
def test_groups_are_gender_balanced_when_counts_allow(n: int) -> None:
    groups = actor_groups(list(range(1, n + 1)), 6)
    for group in groups:
        genders = Counter(gender_of(a) for a in group)
        assert genders["male"] == genders["female"] == n // 12
    assert groups[0] == tuple(range(1, n // 6 + 1))


def test_unbalanced_groups_differ_by_at_most_one() -> None:
    actors = [1, 3, 5, 7, 9, 11, 13, 2, 4]  # 7 men, 2 women
    groups = actor_groups(actors, 4)
    sizes = [len(g) for g in groups]
    assert max(sizes) - min(sizes) <= 1 and sorted(a for g in groups for a in g) == sorted(actors)
    assert sum(any(gender_of(a) == "female" for a in g) for g in groups) == 2


@pytest.mark.parametrize("actors", [[], [4], [1, 2]])
def test_too_few_actors_is_a_clear_error(actors: list[int]) -> None:
    with pytest.raises(ConfigError, match="at least 3"):
        ravdess_folds(actors)


def test_too_few_folds_names_the_key() -> None:
    with pytest.raises(ConfigError, match="data.num_folds"):
        ravdess_folds(list(range(1, 13)), num_folds=2)


# --- datamodule -----------------------------------------------------------------------------------


def test_datamodule_folds_split_by_actor(ravdess_root: Path) -> None:
    dm = RAVDESSDataModule(root=str(ravdess_root), batch_size=4)
    assert dm.fold_names() == [f"actors-0{a}" for a in (2, 4, 6, 1, 3, 5)]
    for fold in dm.fold_names():
        dm.fold = fold
        dm.setup("fit")  # the speaker check runs here and raises on any overlap
        test = {dm.utterances[r.index].speaker for r in dm.refs["test"]}
        val = {dm.utterances[r.index].speaker for r in dm.refs["val"]}
        train = {dm.utterances[r.index].speaker for r in dm.refs["train"]}
        assert test == {f"Actor_{fold[-2:]}"} and len(val) == 1 and len(train) == 4
    assert dm.label_counts("test") == {c: 2 if c == "neutral" else 4 for c in RAVDESS_CLASSES}


def test_datamodule_names_a_bad_fold(ravdess_root: Path) -> None:
    with pytest.raises(ConfigError, match="actors-01-02.*choose one of"):
        RAVDESSDataModule(root=str(ravdess_root), fold="actors-01-02").setup("fit")


def test_datamodule_needs_root() -> None:
    with pytest.raises(ConfigError, match="data.root is required"):
        RAVDESSDataModule()


def test_config_through_the_real_cli(ravdess_root: Path, tmp_path: Path) -> None:
    main(
        [
            "fit",
            "--config",
            str(REPO / "configs" / "ravdess_8class.yaml"),
            f"--data.root={ravdess_root}",
            "--data.batch_size=4",
            "--trainer.fast_dev_run=true",
            "--trainer.logger=false",
            f"--trainer.default_root_dir={tmp_path}",
        ]
    )


def test_practical_recipe_with_audio_path_through_the_real_cli(
    ravdess_root: Path, tmp_path: Path
) -> None:
    main(
        [
            "fit",
            "--config",
            str(REPO / "configs" / "ravdess_8class.yaml"),
            "--config",
            str(REPO / "configs" / "recipe" / "practical.yaml"),
            f"--data.root={ravdess_root}",
            "--data.batch_size=4",
            "--model.fusion.init_args.audio_path=true",
            "--model.modality_dropout=0.3",
            "--trainer.fast_dev_run=true",
            "--trainer.logger=false",
            f"--trainer.default_root_dir={tmp_path}",
        ]
    )
