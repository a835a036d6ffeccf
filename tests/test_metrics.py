"""mmfa.metrics against scikit-learn (docs/metrics.md: every metric matches scikit-learn)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import pearsonr
from sklearn import metrics as skm
from torchmetrics import Metric, MetricCollection

from mmfa.errors import ConfigError
from mmfa.experiments.fold_metrics import (
    multiclass_metrics,
    multilabel_metrics,
    regression_metrics,
    report_metrics,
)
from mmfa.metrics import build_confusion, build_metrics
from mmfa.problem import METRICS, PROBLEM_TYPES, get_problem, metric_info


def _metrics(task: str, names: list[str]):  # type: ignore[no-untyped-def]
    return build_metrics(get_problem(task), names)


REPO = Path(__file__).resolve().parents[1]
NAMES = {
    4: ["neutral", "angry", "sad", "happy"],
    7: ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"],
}
ATOL = 1e-5


def _batches(n: int) -> list[slice]:
    """Three uneven batches covering 0..n, so accumulation across updates is exercised."""
    a, b = n // 5, n // 5 + n // 2
    return [slice(0, a), slice(a, b), slice(b, n)]


def _compute(collection, preds: torch.Tensor, target: torch.Tensor) -> dict[str, float]:  # type: ignore[no-untyped-def]
    for s in _batches(len(target)):
        collection.update(preds[s], target[s])
    return {k: float(v) for k, v in collection.compute().items()}


def _multiclass_data(seed: int, c: int, n: int = 240) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Probabilities (n, c) and targets (n,): every class in the targets, one never predicted."""
    g = torch.Generator().manual_seed(seed)
    target = torch.cat([torch.arange(c), torch.randint(0, c, (n - c,), generator=g)])
    target = target[torch.randperm(n, generator=g)]
    logits = torch.randn(n, c, generator=g)
    logits[torch.arange(n), target] += 1.0  # better than chance, so scores are not all ~1/c
    absent = (seed + 1) % c
    logits[:, absent] -= 20.0  # never the argmax, yet its scores still rank (for AUC)
    return logits.softmax(-1), target, absent


# -- multiclass ---------------------------------------------------------------------------------
@pytest.mark.parametrize("c", [4, 7])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiclass_matches_sklearn(seed: int, c: int) -> None:
    probs, target, absent = _multiclass_data(seed, c)
    names = NAMES[c]
    got = _compute(_metrics("multiclass", names), probs, target)

    y, p, s = target.numpy(), probs.argmax(-1).numpy(), probs.numpy().astype(np.float64)
    assert absent not in p
    labels = list(range(c))
    want = {
        "WA": skm.accuracy_score(y, p),
        "UA": skm.balanced_accuracy_score(y, p),
        "precision_w": skm.precision_score(y, p, average="weighted", zero_division=0),
        "recall_w": skm.recall_score(y, p, average="weighted", zero_division=0),
        "F1_w": skm.f1_score(y, p, average="weighted", zero_division=0),
        "Fbeta_w": skm.fbeta_score(y, p, beta=0.5, average="weighted", zero_division=0),
        "F1_macro": skm.f1_score(y, p, average="macro", zero_division=0),
        "AUC_macro": skm.roc_auc_score(y, s, multi_class="ovr", average="macro"),
    }
    per_class = {
        "precision": skm.precision_score(y, p, labels=labels, average=None, zero_division=0),
        "recall": skm.recall_score(y, p, labels=labels, average=None, zero_division=0),
        "F1": skm.f1_score(y, p, labels=labels, average=None, zero_division=0),
        "AUC": [skm.roc_auc_score(y == k, s[:, k]) for k in labels],
    }
    for kind, values in per_class.items():
        want.update({f"{kind}/{name}": v for name, v in zip(names, values, strict=True)})

    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=ATOL), key
    # The paper's REC is the weighted recall, which is the accuracy (its Tables 3-4).
    assert got["recall_w"] == pytest.approx(got["WA"], abs=ATOL)


def test_multiclass_confusion_matrix_matches_sklearn() -> None:
    probs, target, _ = _multiclass_data(3, 7)
    cm = build_confusion(get_problem("multiclass"), 7)
    assert cm is not None
    for s in _batches(len(target)):
        cm.update(probs[s], target[s])
    want = skm.confusion_matrix(target.numpy(), probs.argmax(-1).numpy(), labels=range(7))
    np.testing.assert_array_equal(cm.compute().numpy(), want)


@pytest.mark.filterwarnings("ignore:No positive samples in targets")  # AUC of the absent class
def test_ua_ignores_class_missing_from_targets_like_sklearn() -> None:
    # A class predicted but absent from the targets (a small LOSO fold): sklearn leaves it out of
    # the balanced accuracy; torchmetrics' macro accuracy would count it as recall 0.
    target = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    pred = torch.tensor([0, 3, 1, 1, 2, 3, 0, 0])
    probs = torch.nn.functional.one_hot(pred, 4).float() * 0.7 + 0.075
    got = _compute(_metrics("multiclass", NAMES[4]), probs, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about the class missing from y_true
        want = skm.balanced_accuracy_score(target.numpy(), pred.numpy())
    assert got["UA"] == pytest.approx(want, abs=ATOL)
    assert got["WA"] == pytest.approx(skm.accuracy_score(target.numpy(), pred.numpy()), abs=ATOL)


def test_clone_prefixes_and_keeps_stages_apart() -> None:
    metrics = _metrics("multiclass", NAMES[4])
    val, test = metrics.clone(prefix="val/"), metrics.clone(prefix="test/")
    probs, target, _ = _multiclass_data(0, 4)
    got_val = _compute(val, probs, target)
    assert {"val/UA", "val/WA", "val/Fbeta_w", "val/precision/angry", "val/AUC/happy"} <= set(
        got_val
    )
    assert all(k.startswith("val/") for k in got_val)
    # The test clone has seen nothing: its states are separate from the validation clone's.
    test.update(probs[:10], target[:10])
    got_test = {k: float(v) for k, v in test.compute().items()}
    want = skm.accuracy_score(target[:10].numpy(), probs[:10].argmax(-1).numpy())
    assert got_test["test/WA"] == pytest.approx(want, abs=ATOL)
    # reset() forgets earlier batches.
    val.reset()
    val.update(probs[:10], target[:10])
    assert float(val.compute()["val/WA"]) == pytest.approx(want, abs=ATOL)


# -- multilabel ---------------------------------------------------------------------------------
def _multilabel_data(seed: int, n_labels: int, n: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    prevalence = torch.linspace(0.1, 0.6, n_labels)  # MOSEI-like: some emotions are rare
    target = (torch.rand(n, n_labels, generator=g) < prevalence).long()
    logits = torch.randn(n, n_labels, generator=g) + 1.2 * (target - 0.5)
    return logits.sigmoid(), target


@pytest.mark.parametrize("float_target", [False, True])
@pytest.mark.parametrize(("seed", "n_labels"), [(0, 6), (1, 6), (2, 4)])
def test_multilabel_matches_sklearn(seed: int, n_labels: int, float_target: bool) -> None:
    probs, target = _multilabel_data(seed, n_labels)
    names = [f"emo{k}" for k in range(n_labels)]
    # The task's BCE loss uses float targets; the metrics must take those as well as ints.
    tgt = target.float() if float_target else target
    got = _compute(_metrics("multilabel", names), probs, tgt)

    y, s = target.numpy(), probs.numpy().astype(np.float64)
    p = (s > 0.5).astype(int)  # torchmetrics' rule: positive when strictly above the threshold
    acc = [skm.accuracy_score(y[:, k], p[:, k]) for k in range(n_labels)]
    bal = [skm.balanced_accuracy_score(y[:, k], p[:, k]) for k in range(n_labels)]
    f1 = skm.f1_score(y, p, average=None, zero_division=0)
    pre = skm.precision_score(y, p, average=None, zero_division=0)
    rec = skm.recall_score(y, p, average=None, zero_division=0)
    auc = [skm.roc_auc_score(y[:, k], s[:, k]) for k in range(n_labels)]
    want = {
        "acc_subset": skm.accuracy_score(y, p),
        "acc_macro": np.mean(acc),
        "UA": np.mean(bal),
        "precision_w": skm.precision_score(y, p, average="weighted", zero_division=0),
        "recall_w": skm.recall_score(y, p, average="weighted", zero_division=0),
        "Fbeta_w": skm.fbeta_score(y, p, beta=0.5, average="weighted", zero_division=0),
        "F1_w": skm.f1_score(y, p, average="weighted", zero_division=0),
        "F1_macro": skm.f1_score(y, p, average="macro", zero_division=0),
        "AUC_macro": skm.roc_auc_score(y, s, average="macro"),
    }
    for k, name in enumerate(names):
        want.update({f"acc/{name}": acc[k], f"F1/{name}": f1[k], f"AUC/{name}": auc[k]})
        want.update({f"precision/{name}": pre[k], f"recall/{name}": rec[k]})

    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=ATOL), key

    cm = build_confusion(get_problem("multilabel"), n_labels)
    assert cm is not None
    for sl in _batches(len(target)):
        cm.update(probs[sl], tgt[sl])
    np.testing.assert_array_equal(cm.compute().numpy(), skm.multilabel_confusion_matrix(y, p))


@pytest.mark.filterwarnings("ignore:No positive samples in targets")  # AUC of label 0
def test_multilabel_ua_with_a_label_never_present() -> None:
    probs, target = _multilabel_data(5, 3, n=60)
    target[:, 0] = 0  # no positive target for label 0: its TPR is undefined
    probs[:5, 0] = 0.9  # ... though it is predicted a few times
    got = _compute(_metrics("multilabel", ["a", "b", "c"]), probs, target)
    y, p = target.numpy(), (probs > 0.5).numpy().astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns that y_pred has a class y_true lacks
        want = np.mean([skm.balanced_accuracy_score(y[:, k], p[:, k]) for k in range(3)])
    assert got["UA"] == pytest.approx(want, abs=ATOL)


# -- regression ---------------------------------------------------------------------------------
def _regression_data(seed: int, n: int = 300) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    # MOSEI sentiment: the mean of three annotators' integers, so multiples of 1/3 with many 0s.
    target = (torch.randint(-9, 10, (n,), generator=g) / 3.0).clamp(-3, 3)
    target[: n // 6] = 0.0
    preds = (0.6 * target + torch.randn(n, generator=g)).clamp(-3.6, 3.6)
    preds[:6] = torch.tensor([0.5, -0.5, 2.5, -2.5, 0.0, 3.5])  # rounding ties and a zero
    perm = torch.randperm(n, generator=g)
    return preds[perm], target[perm]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_matches_sklearn(seed: int) -> None:
    preds, target = _regression_data(seed)
    got = _compute(_metrics("regression", []), preds, target)

    p, y = preds.numpy().astype(np.float64), target.numpy().astype(np.float64)
    nz = y != 0
    want = {
        "MAE": skm.mean_absolute_error(y, p),
        "pearson": pearsonr(p, y).statistic,
        "acc2": skm.accuracy_score(y >= 0, p >= 0),
        "acc2_nonzero": skm.accuracy_score(y[nz] > 0, p[nz] > 0),
        "F1_2": skm.f1_score(y >= 0, p >= 0, average="weighted"),
        "F1_2_nonzero": skm.f1_score(y[nz] > 0, p[nz] > 0, average="weighted"),
        "acc7": skm.accuracy_score(np.clip(np.round(y), -3, 3), np.clip(np.round(p), -3, 3)),
    }
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=ATOL), key
    assert build_confusion(get_problem("regression"), 1) is None


# -- names, docs, errors ------------------------------------------------------------------------
def test_computed_keys_are_documented() -> None:
    cases = [
        ("multiclass", _multiclass_data(0, 4)[:2], NAMES[4]),
        ("multilabel", _multilabel_data(0, 3), ["a", "b", "c"]),
        ("regression", _regression_data(0), []),
    ]
    for task, (preds, target), names in cases:
        got = _compute(_metrics(task, names).clone(prefix="val/"), preds, target)
        problem = get_problem(task)
        for key in got:
            assert key.startswith("val/")
            assert metric_info(key), key
        # every headline and per-class key of the problem is logged in training
        assert {f"val/{k}" for k in problem.headline} <= set(got)
        for key in problem.per_class:
            assert {f"val/{key}/{n}" for n in names} <= set(got)
    assert metric_info("val/UA") is METRICS["UA"]
    assert metric_info("test/F1/angry") is METRICS["F1/<class>"]
    with pytest.raises(KeyError):
        metric_info("val/nonsense")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_training_and_report_compute_the_same_keys_and_numbers() -> None:
    """One vocabulary: torchmetrics (training logs) and scikit-learn (reports) agree key by key."""
    mc_preds, mc_target, _ = _multiclass_data(3, 4)
    ml_preds, ml_target = _multilabel_data(3, 3)
    rg_preds, rg_target = _regression_data(3)
    cases = [
        ("multiclass", mc_preds, mc_target, NAMES[4], multiclass_metrics),
        ("multilabel", ml_preds, ml_target, ["a", "b", "c"], multilabel_metrics),
        ("regression", rg_preds, rg_target, [], None),
    ]
    for task, preds, target, names, _ in cases:
        logged = _compute(_metrics(task, names), preds, target)
        problem = get_problem(task)
        report = report_metrics(problem, target.numpy(), preds.numpy(), names, "f")
        assert list(report.headline) == list(problem.headline), task
        for key in problem.headline:
            assert logged[key] == pytest.approx(report.headline[key], abs=1e-4), (task, key)
        for key in problem.per_class:
            for k, name in enumerate(names):
                want = report.per_class[key][k]
                assert logged[f"{key}/{name}"] == pytest.approx(want, abs=1e-4), (task, key)
    assert regression_metrics  # the regression case goes through report_metrics too


def test_every_problem_kind_has_its_metrics_above_the_problem() -> None:
    """The tables keyed by problem kind cover every kind; the problem itself builds none."""
    from mmfa import metrics
    from mmfa.experiments import fold_metrics

    assert set(metrics._BUILDERS) == set(PROBLEM_TYPES)
    assert set(fold_metrics._REPORTS) == set(PROBLEM_TYPES)
    assert set(metrics._CONFUSIONS) == {"multiclass", "multilabel"}  # regression has none
    for kind in PROBLEM_TYPES:
        problem = get_problem(kind)
        for gone in ("metrics", "report_metrics", "confusion"):
            assert not hasattr(problem, gone), (kind, gone)


def test_bad_arguments_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="repeat"):
        _metrics("multilabel", ["a", "a"])
    with pytest.raises(ConfigError, match="task_type='ordinal'"):
        get_problem("ordinal")


# -- distributed --------------------------------------------------------------------------------
DDP_CASES = {
    "multiclass": (*_multiclass_data(4, 4)[:2], NAMES[4]),
    "multilabel": (*_multilabel_data(4, 3, n=151), ["a", "b", "c"]),
    "regression": (*_regression_data(4, n=301), []),
}


def _shards(n: int) -> list[range]:
    """Two ranks with unequal shares and no repeated sample (UnrepeatedDistributedSampler)."""
    cut = n * 2 // 3 + 1
    return [range(0, cut), range(cut, n)]


def _leaves(collection: MetricCollection) -> list[Metric]:
    # ClasswiseWrapper keeps no state of its own: the wrapped metric holds and syncs it.
    return [getattr(m, "metric", m) for m in collection.values()]


def _gather_at_compute(ranks: list[MetricCollection]) -> None:
    """Make ranks[0].compute() see every rank's states, as all_gather does under DDP.

    Each other rank's states are read through the same ``sync`` path in the same order, then
    handed to rank 0's ``dist_sync_fn``; the metrics' own reductions do the rest.
    """
    per_rank = [_leaves(c) for c in ranks]
    for k, leaf in enumerate(per_rank[0]):
        others = []
        for leaves in per_rank[1:]:
            seen: list[torch.Tensor] = []
            leaves[k].sync(
                dist_sync_fn=lambda t, group=None, seen=seen: seen.append(t) or [t],
                distributed_available=lambda: True,
            )
            others.append(iter(seen))
        leaf.dist_sync_fn = lambda t, group=None, others=others: [t, *(next(o) for o in others)]
        leaf.distributed_available_fn = lambda: True


@pytest.mark.parametrize("task", list(DDP_CASES))
def test_states_reduce_exactly_across_ranks(task: str) -> None:
    """Two ranks with shards of unequal size compute what one process computes."""
    preds, target, names = DDP_CASES[task]
    ranks = [_metrics(task, names) for _ in range(2)]  # type: ignore[arg-type]
    for collection, shard in zip(ranks, _shards(len(target)), strict=True):
        for s in range(shard.start, shard.stop, 37):  # several batches per rank
            e = min(s + 37, shard.stop)
            collection.update(preds[s:e], target[s:e])
    _gather_at_compute(ranks)
    got = {k: float(v) for k, v in ranks[0].compute().items()}
    want = _compute(_metrics(task, names), preds, target)  # type: ignore[arg-type]
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=ATOL), key


_DDP_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp

    def main(rank, data_path, out):
        torch.set_num_threads(1)
        dist.init_process_group("gloo", init_method="file://" + data_path + ".rdv", rank=rank,
                                world_size=2)
        from mmfa.metrics import build_metrics
        from mmfa.problem import get_problem
        results = {}
        for task, case in torch.load(data_path).items():
            preds, target, names = case["preds"], case["target"], case["names"]
            m = build_metrics(get_problem(task), names)
            cut = len(target) * 2 // 3 + 1  # uneven shards, as in _shards()
            lo, hi = (0, cut) if rank == 0 else (cut, len(target))
            for s in range(lo, hi, 37):
                m.update(preds[s:min(s + 37, hi)], target[s:min(s + 37, hi)])
            results[task] = {k: float(v) for k, v in m.compute().items()}
        if rank == 0:
            with open(out, "w") as f:
                json.dump(results, f)
        dist.destroy_process_group()

    if __name__ == "__main__":
        mp.spawn(main, args=(sys.argv[1], sys.argv[2]), nprocs=2)
    """
)


@pytest.mark.slow  # three interpreters importing torchmetrics: about 15-20 s on 2 cores
def test_real_gloo_ddp_matches_single_process(tmp_path: Path) -> None:
    """The same check through a real 2-process gloo group (torch.distributed all_gather)."""
    script, data, out = tmp_path / "ddp.py", tmp_path / "data.pt", tmp_path / "out.json"
    script.write_text(_DDP_SCRIPT)
    torch.save(
        {t: {"preds": p, "target": y, "names": n} for t, (p, y, n) in DDP_CASES.items()}, data
    )
    subprocess.run(
        [sys.executable, str(script), str(data), str(out)], cwd=REPO, check=True, timeout=180
    )
    got = json.loads(out.read_text())
    for task, (preds, target, names) in DDP_CASES.items():
        want = _compute(_metrics(task, names), preds, target)  # type: ignore[arg-type]
        assert set(got[task]) == set(want)
        for key, value in want.items():
            assert got[task][key] == pytest.approx(value, abs=ATOL), (task, key)
