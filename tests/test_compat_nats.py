"""NATS-Bench facade (``nasbench_db.compat.nats_bench``) against the real ``nats_bench`` 1.8 package, call by call,
on the real NATS archives of tests/data/nats (archs 0, 11, 284 of both spaces).

Every comparison checks values bit for bit, their types, the exception type where the original raises, and the
global ``random`` state after the call (the same draws in the same order).
"""

from __future__ import annotations

import bz2
import copy
import inspect
import pickle
import random
import shutil

import numpy as np
import pytest

from nasbench_db import db as _db
from nasbench_db.compat import nats_bench as ours_module
from nasbench_db.compat.nats_bench import WeightsNotAvailable, create, topology_str2structure
from nasbench_db.errors import NasbenchDbError
from nasbench_db.spaces import nb201 as tss_space

from conftest import count_statements
from nb201_fixture import INDICES, SSS_DIR, TSS_DIR

nats_bench = pytest.importorskip("nats_bench", reason="the NATS-Bench reference package: pip install nats_bench==1.8")
from nats_bench.genotype_utils import topology_str2structure as original_str2structure  # noqa: E402

DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
HPS = {"tss": ("12", "200"), "sss": ("01", "12", "90")}
DIRS = {"tss": TSS_DIR, "sss": SSS_DIR}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Both archives converted once (through the facade's own first-use conversion)."""
    directory = tmp_path_factory.mktemp("compat_nats")
    for space, source in DIRS.items():
        create(str(source), space, fast_mode=True, verbose=False, db_dir=directory)
    _db.close_all()
    return directory


def _apis(converted, space, fast_mode=True):
    ours = create(None, space, fast_mode=fast_mode, verbose=False, db_dir=converted)
    theirs = nats_bench.create(str(DIRS[space]), space, fast_mode=True, verbose=False)
    return ours, theirs


def _same(a, b):
    """Equal values of equal types, recursively (NaN equal to NaN)."""
    if isinstance(b, dict):
        return isinstance(a, dict) and set(a) == set(b) and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(b, float) and b != b:
        return isinstance(a, float) and a != a
    if isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    return type(a) is type(b) and a == b


def _call(fn):
    """``(outcome, value, random state after)``: outcome is 'ok' or the exception type."""
    try:
        value = fn()
        outcome = "ok"
    except Exception as exc:  # noqa: BLE001
        value, outcome = None, type(exc)
    return outcome, value, random.getstate()


def _compare(ours_fn, theirs_fn, seed=11, drop=()):
    random.seed(seed)
    mine = _call(ours_fn)
    random.seed(seed)
    other = _call(theirs_fn)
    assert mine[0] == other[0], (mine[0], other[0])
    mine_value, other_value = mine[1], other[1]
    if isinstance(mine_value, dict) and isinstance(other_value, dict):
        for key in drop:
            mine_value.pop(key, None)
            other_value.pop(key, None)
    assert _same(mine_value, other_value), (mine_value, other_value)
    assert mine[2] == other[2], "different random draws"
    return mine_value


# ----------------------------------------------------------------------------------------------------------------------
# get_more_info and friends, over every arch, dataset, hp, epoch and randomness form


@pytest.mark.parametrize("space", ["tss", "sss"])
def test_get_more_info_every_form(converted, space):
    ours, theirs = _apis(converted, space)
    calls = 0
    for index in INDICES:
        for hp in HPS[space] + ("200" if space == "sss" else "90",):
            for dataset in DATASETS + ("cifar10-VALID",):
                for iepoch in (None, 0, 11, 88, 199, 200, -1):
                    for is_random in (False, True, 777, 111, "yes"):
                        info = _compare(lambda: ours.get_more_info(index, dataset, iepoch, hp, is_random),
                                        lambda: theirs.get_more_info(index, dataset, iepoch, hp, is_random),
                                        drop=("comment",))
                        calls += 1
                        if info is not None and dataset in ("cifar10-valid", "cifar10"):
                            assert "comment" in ours.get_more_info(index, dataset, iepoch, hp, False)
    assert calls > 800
    # other forms of the index: the arch string, a structure, an unknown string, out of range
    text = theirs[284]
    for arch in (text, topology_str2structure(text) if space == "tss" else text, "|nope~0|", 10 ** 6, -3, 2.5):
        _compare(lambda: ours.get_more_info(arch, "cifar100", hp="12", is_random=False),
                 lambda: theirs.get_more_info(arch, "cifar100", hp="12", is_random=False), drop=("comment",))
    # hp given as a number works as in the original
    _compare(lambda: ours.get_more_info(0, "cifar10", hp=12), lambda: theirs.get_more_info(0, "cifar10", hp=12),
             drop=("comment",))


@pytest.mark.parametrize("space", ["tss", "sss"])
def test_costs_latency_config_and_simulation(converted, space):
    ours, theirs = _apis(converted, space)
    for index in INDICES:
        for hp in HPS[space] + ("7",):
            for dataset in DATASETS + ("mnist",):
                _compare(lambda: ours.get_cost_info(index, dataset, hp), lambda: theirs.get_cost_info(index, dataset,
                                                                                                    hp))
                _compare(lambda: ours.get_latency(index, dataset, hp), lambda: theirs.get_latency(index, dataset, hp))
                for iepoch in (None, 3):
                    _compare(lambda: ours.simulate_train_eval(index, dataset, iepoch=iepoch, hp=hp),
                             lambda: theirs.simulate_train_eval(index, dataset, iepoch=iepoch, hp=hp))
                    assert ours.used_time == theirs.used_time
            _compare(lambda: ours.simulate_train_eval(index, "cifar100", hp=hp, account_time=False),
                     lambda: theirs.simulate_train_eval(index, "cifar100", hp=hp, account_time=False))
        for dataset in DATASETS + ("mnist",):
            _compare(lambda: ours.get_net_config(index, dataset), lambda: theirs.get_net_config(index, dataset))
    ours.reset_time()
    theirs.reset_time()
    assert ours.used_time == theirs.used_time == 0


@pytest.mark.parametrize("space", ["tss", "sss"])
def test_query_objects_answer_as_the_originals(converted, space):
    ours, theirs = _apis(converted, space)
    for index in INDICES:
        for hp in HPS[space]:
            mine, other = ours.query_meta_info_by_index(index, hp), theirs.query_meta_info_by_index(index, hp)
            assert repr(mine) == repr(other)
            assert mine.get_dataset_names() == other.get_dataset_names()
            assert mine.arch_idx_str() == other.arch_idx_str()
            assert mine.get_total_epoch() == other.get_total_epoch()
            assert _same(mine.state_dict(), other.state_dict())  # every field of every trial, bit for bit
            for dataset in DATASETS:
                assert mine.get_dataset_seeds(dataset) == other.get_dataset_seeds(dataset)
                _compare(lambda: mine.get_latency(dataset), lambda: other.get_latency(dataset))
                _compare(lambda: mine.get_compute_costs(dataset), lambda: other.get_compute_costs(dataset))
                assert mine.get_total_epoch(dataset) == other.get_total_epoch(dataset)
                for setname in ("train", "x-valid", "x-test", "ori-test", "valid", "bogus"):
                    for iepoch in (None, 0, 10):
                        for is_random in (False, True, 777, 999):
                            _compare(lambda: mine.get_metrics(dataset, setname, iepoch, is_random),
                                     lambda: other.get_metrics(dataset, setname, iepoch, is_random))
                trials = ours.query_by_index(index, dataset, hp)
                theirs_trials = theirs.query_by_index(index, dataset, hp)
                assert list(trials) == list(theirs_trials)
                for seed, result in trials.items():
                    original = theirs_trials[seed]
                    assert repr(result) == repr(original)
                    for method in ("get_times", "get_latency", "get_total_epoch", "get_eval_set"):
                        _compare(getattr(result, method), getattr(original, method))
                    for iepoch in (None, 0, 5, -1, 300):
                        _compare(lambda: result.get_train(iepoch), lambda: original.get_train(iepoch))
                        for name in ("x-valid", "valid", "x-test", "ori-test", "nope"):
                            _compare(lambda: result.get_eval(name, iepoch), lambda: original.get_eval(name, iepoch))
                    assert _same(result.get_config(None), original.get_config(None))
                    assert _same(result.get_config(str), original.get_config(str))
                    for field in ("name", "seed", "epochs", "params", "flop", "latency", "arch_config",
                                  "eval_names", "train_acc1es", "train_acc5es", "train_losses", "train_times",
                                  "eval_acc1es", "eval_losses", "eval_times"):
                        assert _same(getattr(result, field), getattr(original, field)), field
            _compare(lambda: ours.query_by_index(index, "mnist", hp), lambda: theirs.query_by_index(index, "mnist",
                                                                                                    hp))
        _compare(lambda: ours.query_meta_info_by_index(index, "3"), lambda: theirs.query_meta_info_by_index(index,
                                                                                                            "3"))


def test_changing_a_returned_object_works_on_its_copy(converted):
    ours, theirs = _apis(converted, "tss")
    mine = ours.query_by_index(11, "cifar100", "200")[777]
    other = theirs.query_by_index(11, "cifar100", "200")[777]
    for result in (mine, other):
        result.reset_pseudo_train_times(5.0)
        result.reset_pseudo_eval_times("x-valid", 1.5)
        result.update_latency([0.25, 0.5])
        result.train_acc1es[199] = 12.5
    for iepoch in (None, 5):
        _compare(lambda: mine.get_train(iepoch), lambda: other.get_train(iepoch))
        _compare(lambda: mine.get_eval("x-valid", iepoch), lambda: other.get_eval("x-valid", iepoch))
    _compare(mine.get_times, other.get_times)
    _compare(mine.get_latency, other.get_latency)
    with pytest.raises(ValueError):
        mine.reset_pseudo_eval_times("bogus", 1.0)
    # the API's own data is untouched
    _compare(lambda: ours.get_more_info(11, "cifar100", hp="200", is_random=777),
             lambda: theirs.get_more_info(11, "cifar100", hp="200", is_random=777), drop=("comment",))
    info = ours.query_meta_info_by_index(11, "200")
    other_info = theirs.query_meta_info_by_index(11, "200")
    info.reset_latency("cifar100", None, 0.125)
    other_info.reset_latency("cifar100", None, 0.125)
    _compare(lambda: info.get_compute_costs("cifar100"), lambda: other_info.get_compute_costs("cifar100"))
    copied = copy.deepcopy(info)
    assert _same(copied.state_dict(), info.state_dict())
    assert _same(pickle.loads(pickle.dumps(mine)).state_dict(), mine.state_dict())


@pytest.mark.parametrize("space", ["tss", "sss"])
def test_find_best_and_statistics(converted, space):
    ours, theirs = _apis(converted, space)
    for index in INDICES:  # load them in the original's fast mode (its evaluated_indexes grow as it loads)
        theirs.get_cost_info(index, "cifar10", HPS[space][1])
        ours.get_cost_info(index, "cifar10", HPS[space][1])
    assert ours.evaluated_indexes == theirs.evaluated_indexes == set(INDICES)
    assert sorted(ours.avaliable_hps) == sorted(theirs.avaliable_hps)
    for dataset in DATASETS:
        for metric in ("valid", "test", "train", "x-valid", "x-test", "ori-test"):
            for hp in HPS[space]:
                for limits in ((None, None), (100, None), (None, 0.5), (1.0, 0.1)):
                    _compare(lambda: ours.find_best(dataset, metric, *limits, hp=hp, enforce_all=False),
                             lambda: theirs.find_best(dataset, metric, *limits, hp=hp, enforce_all=False))
        for hp in HPS[space] + (12,):
            _compare(lambda: ours.statistics(dataset, hp), lambda: theirs.statistics(dataset, hp))
    _compare(lambda: ours.statistics("mnist", "12"), lambda: theirs.statistics("mnist", "12"))
    _compare(lambda: ours.find_best("cifar10", "valid", hp=12, enforce_all=False),
             lambda: theirs.find_best("cifar10", "valid", hp=12, enforce_all=False))
    # enforce_all (the fast-mode default) visits every index: the partial archive misses most of them in both
    _compare(lambda: ours.find_best("cifar10", "valid"), lambda: theirs.find_best("cifar10", "valid"))
    slow = create(None, space, fast_mode=False, verbose=False, db_dir=converted)
    assert slow.evaluated_indexes == set(INDICES) and repr(slow).startswith(type(slow).__name__ + "(3/")
    with pytest.raises(AssertionError):
        slow.find_best("cifar10", "valid", enforce_all=True)
    assert slow.find_best("cifar100", "valid", hp=HPS[space][1]) == \
        theirs.find_best("cifar100", "valid", hp=HPS[space][1], enforce_all=False)


@pytest.mark.parametrize("space", ["tss", "sss"])
def test_indexing_strings_and_printing(converted, space, capsys):
    ours, theirs = _apis(converted, space)
    assert len(ours) == len(theirs) and ours.meta_archs == theirs.meta_archs
    assert ours.archstr2index == theirs.archstr2index
    assert (ours.is_size, ours.is_topology, ours.full_epochs_in_paper, ours.search_space_name,
            ours.full_train_epochs, ours.fast_mode) == \
        (theirs.is_size, theirs.is_topology, theirs.full_epochs_in_paper, theirs.search_space_name,
         theirs.full_train_epochs, theirs.fast_mode)
    for index in (0, 284, len(theirs) - 1, -1, len(theirs), 3.5):
        _compare(lambda: ours[index], lambda: theirs[index])
        _compare(lambda: ours.arch(index), lambda: theirs.arch(index))
    for arch in (theirs[11], theirs[15000 if space == "tss" else 30000], "nope", 7, -1, 10 ** 6, None, True):
        _compare(lambda: ours.query_index_by_arch(arch), lambda: theirs.query_index_by_arch(arch))
    for seed in range(5):
        _compare(ours.random, theirs.random, seed=seed)
    for index in INDICES:
        for hp in HPS[space] + (12,):
            _compare(lambda: ours.query_info_str_by_arch(index, hp), lambda: theirs.query_info_str_by_arch(index,
                                                                                                            hp))
            _compare(lambda: ours.query_by_arch(theirs[index], hp), lambda: theirs.query_by_arch(theirs[index], hp))
        capsys.readouterr()
        ours.show(index)
        mine = capsys.readouterr().out
        theirs.show(index)
        assert mine == capsys.readouterr().out
    _compare(lambda: ours.show(5), lambda: theirs.show(5))  # not in the partial archive: both raise
    slow = create(None, space, fast_mode=False, verbose=False, db_dir=converted)
    slow.show(5)
    assert "has not been evaluated" in capsys.readouterr().out
    ours.show(10 ** 6)
    assert "out of range" in capsys.readouterr().out
    ours.show()  # every evaluated architecture (the original's show() of all fails on its own bug)
    assert capsys.readouterr().out.count("-th architecture!") == len(ours.evaluated_indexes)
    if space == "tss":
        for arch in (theirs[0], 284, "unknown"):
            _compare(lambda: ours.get_unique_str(arch), lambda: theirs.get_unique_str(arch))
        for text in (theirs[0], theirs[9930], "|nor_conv_3x3~0|+|none~0|none~1|", "|bad|"):
            _compare(lambda: ours.str2lists(text), lambda: theirs.str2lists(text))
            _compare(lambda: ours.str2matrix(text), lambda: theirs.str2matrix(text))
        _compare(lambda: ours.str2matrix(theirs[0], ("none", "skip_connect")),
                 lambda: theirs.str2matrix(theirs[0], ("none", "skip_connect")))


def test_errors_and_weights(converted):
    ours, theirs = _apis(converted, "tss")
    with pytest.raises(ValueError):
        ours.get_more_info(100000, "cifar10")
    with pytest.raises(AssertionError, match="has no results"):  # not in the partial archive (the original:
        ours.get_more_info(5, "cifar10")                          # AssertionError 'invalid data path')
    with pytest.raises(AssertionError):
        theirs.get_more_info(5, "cifar10")
    with pytest.raises(WeightsNotAvailable, match="not in the benchmark's simple archives"):
        ours.get_net_param(284, "cifar10", 777, hp="200")
    with pytest.raises(WeightsNotAvailable):
        ours.query_by_index(284, "cifar10", "200")[777].get_net_param()
    assert theirs.get_net_param(284, "cifar10", 777, hp="200") is None  # the original's silent None
    with pytest.raises(ValueError):
        create(None, "dss")
    with pytest.raises(ValueError, match="dict"):
        create({"meta_archs": []}, "tss")
    with pytest.raises(ValueError, match="neither a file or a dir"):
        create("/no/such/NATS-tss-simple", "tss", verbose=False)
    ours.clear_params(284)
    ours.clear_params(284, "200")
    with pytest.raises(ValueError):
        ours.clear_params(284, "7")
    with pytest.warns(UserWarning):
        ours.clear_params(5)


def test_first_use_conversion_and_recognition(tmp_path, monkeypatch, capsys):
    archive = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    shutil.copytree(TSS_DIR, archive)
    api = create(str(archive), "tss", fast_mode=True, verbose=False)  # into NASBENCHMARK_DIR
    assert "converting" in capsys.readouterr().err
    built = _db.database_path("nb201").stat().st_mtime_ns
    _db.close_all()

    import nasbench_db.convert.nb201 as convert_nb201

    monkeypatch.setattr(convert_nb201, "convert_nats_tss", lambda *a, **k: pytest.fail("converted again"))
    again = create(str(archive), "topology", fast_mode=False, verbose=False)
    assert _db.database_path("nb201").stat().st_mtime_ns == built
    assert again.get_more_info(284, "cifar10", hp="200", is_random=False) == \
        api.get_more_info(284, "cifar10", hp="200", is_random=False)
    assert capsys.readouterr().err == ""
    # the same directory with one more file is another archive: converted (here: the patched converter fails)
    shutil.copy(archive / "000011.pickle.pbz2", archive / "000012.pickle.pbz2")
    with pytest.raises(pytest.fail.Exception):
        create(str(archive), "tss", verbose=False)


def test_default_archive_under_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    shutil.copytree(SSS_DIR, tmp_path / "NATS-sss-v1_0-50262-simple")
    api = create(None, "sss", fast_mode=True, verbose=False)  # nothing installed: the original's default, converted
    assert api.get_cost_info(0, "cifar100", "90")["params"] == nats_bench.create(
        str(SSS_DIR), "sss", True, False).get_cost_info(0, "cifar100", "90")["params"]


def test_warm_calls_run_no_sql(converted):
    ours = create(None, "tss", fast_mode=True, verbose=False, db_dir=converted)
    with count_statements("nb201", converted) as cold:
        ours.get_more_info(284, "cifar10-valid", hp="200", is_random=False)
    assert len(cold) == 1  # the architecture's trials, final values and details in one statement
    with count_statements("nb201", converted) as curve:
        ours.get_more_info(284, "cifar10-valid", iepoch=50, hp="200", is_random=False)
    assert len(curve) == 1  # one statement for the per-epoch values of that (arch, hp, dataset)
    with count_statements("nb201", converted) as warm:
        for iepoch in (None, 50, 199):
            for is_random in (True, False, 777):
                ours.get_more_info(284, "cifar10-valid", iepoch=iepoch, hp="200", is_random=is_random)
        ours.get_cost_info(284, "cifar10-valid", "200")
        ours.simulate_train_eval(284, "cifar10", hp="200")
    assert warm == []


def test_topology_structures(converted):
    ours_api, theirs_api = _apis(converted, "tss")
    unique = set()
    for text in theirs_api.meta_archs:
        structure = topology_str2structure(text)
        unique.add(structure.to_unique_str(consider_zero=True))
    assert len(unique) == tss_space.NUM_UNIQUE == 6466
    for text in theirs_api.meta_archs[:400] + ["|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~2|"]:
        mine, other = topology_str2structure(text), original_str2structure(text)
        assert repr(mine) == repr(other) and len(mine) == len(other) and mine.tostr() == other.tostr() == text
        assert mine.nodes == other.nodes and mine.node_N == other.node_N and mine.node_num == other.node_num
        for consider_zero in (True, False, None):
            assert mine.to_unique_str(consider_zero) == other.to_unique_str(consider_zero)
        assert mine.check_valid() == other.check_valid()
        assert mine.tolist("none") == other.tolist("none") and mine.tolist("") == other.tolist("")
        assert mine.check_valid_op(["none", "skip_connect"]) == other.check_valid_op(["none", "skip_connect"])
        assert mine.node(1) == other.node(1) and mine[0] == other[0]
        assert type(mine).str2fullstructure(text).nodes == type(other).str2fullstructure(text).nodes
    for bad in ("|nor_conv_3x3~0~1|", 5):
        _compare(lambda: topology_str2structure(bad), lambda: original_str2structure(bad))
    assert topology_str2structure(topology_str2structure("|a~0|")).tostr() == "|a~0|"
    everything = type(topology_str2structure("|a~0|")).gen_all(["a", "b"], 3, True)
    assert len(everything) == 2 * 4 and everything[0] == [(("a", 0),), (("a", 0), ("a", 1))]


def test_pickle_helpers_and_module_functions(tmp_path):
    meta = ours_module.pickle_load(str(TSS_DIR / "meta.pickle.pbz2"))
    assert meta == nats_bench.pickle_load(str(TSS_DIR / "meta.pickle.pbz2"))
    record = ours_module.pickle_load(str(TSS_DIR / "000284.pickle"))  # '.pbz2' appended, as the original
    assert _same(record, nats_bench.pickle_load(str(TSS_DIR / "000284.pickle.pbz2")))
    ours_module.pickle_save({"a": [1, 2.5]}, tmp_path / "x.pickle")
    assert nats_bench.pickle_load(str(tmp_path / "x.pickle")) == {"a": [1, 2.5]}
    evil = tmp_path / "evil.pickle.pbz2"
    with bz2.open(evil, "wb") as handle:
        handle.write(b"cos\nsystem\n(S'echo pwned'\ntR.")
    with pytest.raises(NasbenchDbError, match="evil.pickle.pbz2"):
        ours_module.pickle_load(str(evil))
    assert ours_module.version() == nats_bench.version()
    for args in (("nats-bench", "sss"), ("nats-bench", "topology"), ("nas-bench-201", None), ("nas-bench-201", "x"),
                 ("nats-bench", "x"), ("x", None)):
        _compare(lambda: ours_module.search_space_info(*args), lambda: nats_bench.search_space_info(*args))
    assert ours_module.NATS_BENCH_SSS_NAMEs == nats_bench.NATS_BENCH_SSS_NAMEs
    assert ours_module.NATS_BENCH_TSS_NAMEs == nats_bench.NATS_BENCH_TSS_NAMEs


def _public(cls):
    """Methods and attributes of a class (the original's private helpers such as ``_prepare_info`` included, which
    user code calls too), without the machinery of ``abc``."""
    return {name for name, _ in inspect.getmembers(cls) if not name.startswith("__") and name != "_abc_impl"}


def test_every_public_name_of_nats_bench_exists(tmp_path):
    from nats_bench.api_utils import ArchResults, NASBenchMetaAPI, ResultsCount
    from nats_bench.genotype_utils import TopologyStructure

    import nasbench_db.compat.nats_bench.api_utils as ours_utils
    from nasbench_db.compat.nats_bench import api_size, api_topology, genotype_utils

    module_names = {name for name in dir(nats_bench) if not name.startswith("_")} - {
        "api_size", "api_topology", "api_utils", "genotype_utils", "Text", "Optional"}
    assert module_names <= set(dir(ours_module)), module_names - set(dir(ours_module))
    pairs = [(nats_bench.NATStopology, ours_module.NATStopology), (nats_bench.NATSsize, ours_module.NATSsize),
             (ArchResults, ours_module.ArchResults), (ResultsCount, ours_module.ResultsCount),
             (NASBenchMetaAPI, ours_utils.NASBenchMetaAPI), (TopologyStructure, genotype_utils.TopologyStructure)]
    for original, facade in pairs:
        missing = _public(original) - _public(facade)
        assert not missing, (original.__name__, missing)
    # the submodules answer the original's imports too
    assert api_topology.ALL_BASE_NAMES == nats_bench.api_topology.ALL_BASE_NAMES
    assert api_size.ALL_BASE_NAMES == nats_bench.api_size.ALL_BASE_NAMES
    for name in ("pickle_load", "pickle_save", "remap_dataset_set_names", "get_torch_home", "time_string", "mean",
                 "PICKLE_EXT"):
        assert hasattr(ours_utils, name), name
    # instance attributes the original sets
    for space, directory in DIRS.items():
        original = nats_bench.create(str(directory), space, True, False)
        original.get_more_info(0, "cifar10")
        facade = create(str(directory), space, True, False, db_dir=tmp_path)
        missing = {name for name in vars(original) if not hasattr(facade, name)}
        assert not missing, missing


def test_postgresql_backend(pg_url, monkeypatch):
    monkeypatch.setenv("NASBENCHMARK_DB_URL", pg_url)
    ours = create(str(TSS_DIR), "tss", fast_mode=True, verbose=False)  # converted into the server
    theirs = nats_bench.create(str(TSS_DIR), "tss", True, False)
    for index in INDICES:
        for dataset in DATASETS:
            for iepoch in (None, 7):
                _compare(lambda: ours.get_more_info(index, dataset, iepoch, "12", False),
                         lambda: theirs.get_more_info(index, dataset, iepoch, "12", False), drop=("comment",))
            _compare(lambda: ours.get_cost_info(index, dataset, "200"),
                     lambda: theirs.get_cost_info(index, dataset, "200"))


def test_irregular_records_round_trip_bit_for_bit(tmp_path):
    """Records the regular columns cannot give back (NaN, eval sets outside NNI's mapping, gaps, several latencies,
    odd key orders) are kept verbatim and answered exactly as the original answers them."""
    archive = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    archive.mkdir()
    shutil.copy(TSS_DIR / "meta.pickle.pbz2", archive)
    record = pickle.load(bz2.BZ2File(TSS_DIR / "000284.pickle.pbz2"))
    results = record["200"]["all_results"]
    odd = results[("cifar100", 777)]
    odd["train_losses"][5] = float("nan")
    odd["eval_acc1es"]["x-test@3"] = float("nan")
    odd["eval_names"].append("x-foo")
    for e in range(200):
        odd["eval_acc1es"][f"x-foo@{e}"] = 50.0 + e / 7
        odd["eval_losses"][f"x-foo@{e}"] = 1.0 / (e + 1)
        odd["eval_times"][f"x-foo@{e}"] = 0.5
    del odd["eval_times"]["x-valid@17"]
    odd["latency"] = [np.float64(0.1), np.float64(0.2), np.float64(0.3)]
    odd["seed"] = 777
    odd["train_times"] = dict(reversed(list(odd["train_times"].items())))
    odd["arch_config"] = dict(odd["arch_config"], note="kept")
    other = results[("cifar10", 888)]
    other["eval_names"] = ["ori-test", "x-valid"]  # cifar10 has no x-valid in NNI's mapping
    for e in range(200):
        other["eval_acc1es"][f"x-valid@{e}"] = 80.0 + e / 11
        other["eval_losses"][f"x-valid@{e}"] = 0.25
        other["eval_times"][f"x-valid@{e}"] = 0.75 + e
    other["train_acc5es"] = {0: 1.0, 3: 2.0}
    other["latency"] = None
    with bz2.BZ2File(archive / "000284.pickle.pbz2", "wb") as handle:
        pickle.dump(record, handle, protocol=4)

    theirs = nats_bench.create(str(archive), "tss", True, False)
    ours = create(str(archive), "tss", True, False, db_dir=tmp_path / "db")
    with _db.sqlite_database(tmp_path / "db" / "nasbench201.db", readonly=True) as database:
        extras = [row[0] for row in database.execute_sql("SELECT extra FROM nb201_trial_detail WHERE extra IS NOT "
                                                         "NULL")]
    assert len(extras) == 2  # only the two altered trials carry anything verbatim
    for key in (("cifar100", 777), ("cifar10", 888)):
        mine = ours.query_meta_info_by_index(284, "200").all_results[key]
        original = theirs.query_meta_info_by_index(284, "200").all_results[key]
        assert _same(mine.state_dict(), original.state_dict()), key
        for iepoch in (None, 3, 5, 17, 199):
            _compare(lambda: mine.get_train(iepoch), lambda: original.get_train(iepoch))
            for name in ("x-valid", "x-test", "ori-test", "x-foo"):
                _compare(lambda: mine.get_eval(name, iepoch), lambda: original.get_eval(name, iepoch))
        _compare(mine.get_times, original.get_times)
        _compare(mine.get_latency, original.get_latency)
    for dataset in ("cifar100", "cifar10"):
        for iepoch in (None, 3, 5, 17):
            for is_random in (False, True, 777, 888, 999):
                _compare(lambda: ours.get_more_info(284, dataset, iepoch, "200", is_random),
                         lambda: theirs.get_more_info(284, dataset, iepoch, "200", is_random), drop=("comment",))
        _compare(lambda: ours.get_cost_info(284, dataset, "200"), lambda: theirs.get_cost_info(284, dataset, "200"))
        _compare(lambda: ours.get_net_config(284, dataset), lambda: theirs.get_net_config(284, dataset))
