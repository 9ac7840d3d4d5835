"""Sources in the compat facades: the released runs by default, whatever else is ingested; other sources' runs
(``nasbench-db train`` results, kept in tables of their own) only when a ``source`` asks for them, never on another
dataset's config, and never one run hiding another."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from nasbench_db import db as _db
from nasbench_db.compat.nasbench import api
from nasbench_db.compat.nats_bench import create
from nasbench_db.compat.nats_bench._store import SIZE, TOPOLOGY
from nasbench_db.convert.nb201 import convert_nats_sss, convert_nats_tss
from nasbench_db.convert.results import convert_results
from nasbench_db.errors import InvalidArgument, NasbenchDbError
from nasbench_db.spaces import nats_sss as sss_space
from nasbench_db.spaces import nb101 as nb101_space
from nasbench_db.spaces import nb201 as tss_space
from nasbench_db.train import schema

from nb201_fixture import SSS_DIR, TSS_DIR

CPU = ("cpu", "AMD EPYC 7B13 64-Core Processor")
GPU = ("cuda", "NVIDIA H100 80GB HBM3")


def _result(space, arch, dataset, epochs, seed, sets, device=CPU, **fields):
    """A format-1 training result as ``nasbench-db train`` writes it (``sets(epoch)``: the evaluation's sets)."""
    return schema.seal({
        "format": schema.FORMAT, "format_version": schema.FORMAT_VERSION, "space": space, "arch": arch,
        "arch_hash": None, "arch_index": fields.pop("arch_index", None), "dataset": dataset,
        "data": {"scheme": space, "sets": {}}, "epochs": epochs, "seed": seed,
        "parameters": fields.pop("parameters", 100_000), "flops": 1.5, "protocol": {},
        "epoch_stats": [{"epoch": e, "train_loss": 1.0 / e, "train_acc": min(50.0 + e, 100.0)} for e in range(1, epochs + 1)],
        "evaluations": fields.pop("evaluations", None) or [
            {"epoch": e, "step": e, "training_time": 1.0 * e, "sets": sets(e)} for e in range(1, epochs + 1)],
        "training_time": 1.0 * epochs, "total_time": 2.0 * epochs, "status": "completed",
        "device": {"type": device[0], "name": device[1], "count": 1}, "runtime": {}, "software": {},
        "host": "test", "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:00:01+00:00"})


def _ingest(directory, db_dir, results):
    directory.mkdir(parents=True, exist_ok=True)
    for k, result in enumerate(results):
        (directory / f"r{k}.json").write_text(json.dumps(result))
    assert convert_results(directory, db_dir).ingested == len(results)
    _db.close_all()


def _nb201_sets(seed):
    # accuracies stay within 0..100 (convert results refuses others) for the released seeds (777...) too
    return lambda e: {"x-valid": {"acc": 60.0 + e + seed % 10, "loss": 0.5, "correct": 1, "count": 2},
                      "ori-test": {"acc": 61.0 + e + seed % 10, "loss": 1.5, "correct": 1, "count": 2}}


def _nb201(index, dataset, epochs, seed, device=CPU):
    return _result("nb201", tss_space.arch_str(tss_space.ops_of(index)), dataset, epochs, seed, _nb201_sets(seed),
                   device, arch_index=index)


def _answers(api_object):
    """What the default facade shows of the released runs (values and random draws)."""
    import random

    random.seed(3)
    found = []
    for dataset in ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"):
        for hp in ("12", "200"):
            for is_random in (False, True):
                found.append(api_object.get_more_info(11, dataset, None, hp, is_random))
            found.append(api_object.get_cost_info(11, dataset, hp))
            found.append(api_object.statistics(dataset, hp))
    found.append(api_object.find_best("cifar100", "x-valid", hp="200"))
    found.append(sorted(api_object.evaluated_indexes))
    found.append(api_object.query_meta_info_by_index(11, "12").dataset_seed)
    found.append(random.getstate())
    return found


def test_nats_facade_reads_other_sources_only_when_asked(tmp_path):
    db_dir = tmp_path / "db"
    convert_nats_tss(TSS_DIR, db_dir, progress=False, jobs=1)
    _db.close_all()
    before = _answers(create(None, "tss", fast_mode=False, verbose=False, db_dir=db_dir))
    _ingest(tmp_path / "r1", db_dir, [_nb201(11, "fashion-mnist", 1, 0), _nb201(11, "cifar10-valid", 12, 1),
                                      _nb201(284, "cifar100", 2, 2, GPU)])
    # the default API shows the released runs exactly as before
    assert _answers(create(None, "tss", fast_mode=False, verbose=False, db_dir=db_dir)) == before
    released = create(None, "tss", fast_mode=False, verbose=False, db_dir=db_dir)
    with pytest.raises(KeyError):  # the original's error for an hp the architecture lacks
        released.get_more_info(11, "fashion-mnist", hp="1")

    trained = create(None, "tss", fast_mode=False, verbose=False, source="trained", db_dir=db_dir)
    assert sorted(trained.evaluated_indexes) == [11, 284]
    assert sorted(trained.avaliable_hps) == ["1", "12", "2"]
    info = trained.get_more_info(11, "fashion-mnist", hp="1", is_random=False)
    # the run's own values; no per-epoch times were recorded, so the times are None (never made up)
    assert info == {"train-loss": 1.0, "train-accuracy": 51.0, "train-per-time": None, "train-all-time": None,
                    "valid-loss": 0.5, "valid-accuracy": 61.0, "valid-per-time": None, "valid-all-time": None,
                    "valtest-loss": 1.5, "valtest-accuracy": 62.0, "valtest-per-time": None,
                    "valtest-all-time": None}
    results = trained.query_meta_info_by_index(11, "12")
    assert results.dataset_seed == {"cifar10-valid": [1]}
    run = results.query("cifar10-valid", 1)
    assert run.get_eval("x-valid", 5)["accuracy"] == 67.0 and run.get_train(11)["accuracy"] == 62.0
    assert run.eval_names == ["x-valid", "ori-test"] and run.train_times is None and run.latency is None
    assert run.params == np.float64(0.1) and run.get_latency() == -1.0
    costs = trained.get_cost_info(11, "cifar10-valid", "12")
    assert costs["flops"] == 1.5 and costs["latency"] is None and costs["T-train@total"] is None
    assert trained.get_net_config(11, "fashion-mnist")["num_classes"] is None  # not recorded by the run
    cuda = create(None, "tss", fast_mode=True, verbose=False, source="cuda", db_dir=db_dir)
    assert cuda.get_more_info(284, "cifar100", hp="2", is_random=2)["valtest-accuracy"] == 65.0
    with pytest.raises(AssertionError, match="no results"):
        cuda.get_more_info(11, "cifar100", hp="2")  # fast mode: an architecture without runs of the source

    # every source: the released seeds and the trained one side by side, the released values unchanged
    both = create(None, "tss", fast_mode=False, verbose=False, source=None, db_dir=db_dir)
    assert both.query_meta_info_by_index(11, "12").dataset_seed["cifar10-valid"] == [1, 111, 777]
    for seed in (111, 777):
        assert both.get_more_info(11, "cifar10-valid", None, "12", seed) == \
            released.get_more_info(11, "cifar10-valid", None, "12", seed)
    assert both.statistics("cifar10-valid", "12") == {2: 2, 3: 1}  # 0, 284: two seeds; 11: three

    # a trained run of a released seed would hide a released run: an error naming both
    _ingest(tmp_path / "r2", db_dir, [_nb201(11, "cifar10-valid", 12, 777)])
    both = create(None, "tss", fast_mode=False, verbose=False, source=None, db_dir=db_dir)
    with pytest.raises(NasbenchDbError, match="two runs of seed 777 on cifar10-valid at 12 epochs .*original.*"
                                              "trained.*source='original'"):
        both.get_more_info(11, "cifar10-valid", hp="12")
    assert both.get_more_info(0, "cifar10-valid", hp="12", is_random=False) == \
        released.get_more_info(0, "cifar10-valid", hp="12", is_random=False)
    with pytest.raises(InvalidArgument, match="no nb201 source matches 'tpu-v9'.*installed: 'original'"):
        create(None, "tss", verbose=False, source="tpu-v9", db_dir=db_dir)


def test_size_space_hp_of_trained_budgets(tmp_path):
    assert SIZE.hp_of(2) == "02" and SIZE.hp_of(90) == "90" and TOPOLOGY.hp_of(1) == "1"
    assert SIZE.epochs_of("02") == 2 and SIZE.epochs_of("2") is None and TOPOLOGY.epochs_of("012") is None
    db_dir = tmp_path / "db"
    convert_nats_sss(SSS_DIR, db_dir, progress=False, jobs=1)
    _db.close_all()
    channels = ":".join(map(str, sss_space.arch_of_index(11)))
    _ingest(tmp_path / "r", db_dir, [_result("nats_sss", channels, "cifar10", 2, 5, _nb201_sets(5),
                                             arch_index=11)])
    trained = create(None, "sss", fast_mode=True, verbose=False, source="trained", db_dir=db_dir)
    info = trained.get_more_info(11, "cifar10", hp="02", is_random=True)
    # the size-space original divides times without a None check; trained runs without times answer None
    assert info["train-per-time"] is None and info["test-accuracy"] == 68.0
    assert trained.statistics("cifar10", "02") == {1: 1}
    released = create(None, "sss", fast_mode=True, verbose=False, db_dir=db_dir)
    assert released.query_meta_info_by_index(11, "01").dataset_seed["cifar10"] == [777]


# ----------------------------------------------------------------------------------------------------------------------
# NB-101


def _nb101(matrix, ops, dataset, epochs, seed, parameters, device=CPU):
    def sets(base):
        return {name: {"acc": base + k, "loss": 1.0, "correct": 1, "count": 2}
                for k, name in enumerate(("train", "valid", "test"))}

    evaluations = [{"epoch": 0, "step": 0, "training_time": 0.0, "sets": sets(10.0)},
                   {"epoch": epochs / 2, "step": 1, "training_time": 5.5, "sets": sets(20.0 + seed)},
                   {"epoch": epochs, "step": 2, "training_time": 11.0, "sets": sets(30.0 + seed)}]
    return _result("nb101", {"matrix": matrix, "ops": ops}, dataset, epochs, seed, None, device,
                   parameters=parameters, evaluations=evaluations)


def test_nasbench_facade_keeps_sources_and_datasets_apart(nb101_env, tmp_path):
    released = api.NASBench(None)
    module_hash = next(iter(released.hash_iterator()))
    fixed, computed = released.get_metrics_from_hash(module_hash)
    matrix, ops = fixed["module_adjacency"].tolist(), fixed["module_operations"]
    before = (list(released.hash_iterator()), released.valid_epochs, released.get_metrics_from_hash(module_hash))
    _ingest(tmp_path / "r", nb101_env, [
        _nb101(matrix, ops, "cifar10", 108, 1, fixed["trainable_parameters"]),
        _nb101(matrix, ops, "cifar10", 2, 2, fixed["trainable_parameters"], GPU),
        _nb101([[0, 1], [0, 0]], ["input", "output"], "fashion-mnist", 108, 3, 1234)])

    default = api.NASBench(None)
    after = (list(default.hash_iterator()), default.valid_epochs, default.get_metrics_from_hash(module_hash))
    assert after[:2] == before[:2] and len(default.fixed_statistics) == len(before[0])
    assert [json.dumps(x, default=str) for x in after[2]] == [json.dumps(x, default=str) for x in before[2]]

    every = api.NASBench(None, source=None)  # every source, CIFAR-10 only (the API's dataset)
    assert every.valid_epochs == {2, 4, 12, 36, 108}
    assert len(every.fixed_statistics) == len(before[0])  # the fashion-mnist cell is not a CIFAR-10 cell
    runs = every.computed_statistics[module_hash]
    assert runs[108][:3] == computed[108]  # the released runs first, in file order
    assert runs[108][3] == {"halfway_training_time": 5.5, "halfway_train_accuracy": 0.21,
                            "halfway_validation_accuracy": 0.22, "halfway_test_accuracy": 0.23,
                            "final_training_time": 11.0, "final_train_accuracy": 0.31,
                            "final_validation_accuracy": 0.32, "final_test_accuracy": 0.33}
    assert runs[2] == [{"halfway_training_time": 5.5, "halfway_train_accuracy": 0.22,
                        "halfway_validation_accuracy": 0.23, "halfway_test_accuracy": 0.24,
                        "final_training_time": 11.0, "final_train_accuracy": 0.32,
                        "final_validation_accuracy": 0.33, "final_test_accuracy": 0.34}]

    cuda = api.NASBench(None, source="cuda")
    assert list(cuda.hash_iterator()) == [module_hash] and cuda.valid_epochs == {2}
    spec = api.ModelSpec(matrix, ops)
    random.seed(1)  # query draws randint(0, 2) as the original; this cell has one run at 2 epochs: draw 0
    assert cuda.query(spec, epochs=2)["validation_accuracy"] == 0.33
    random.seed(0)  # draws 1: the original's IndexError, with the runs there are
    with pytest.raises(IndexError, match="this cell has 1 runs at 2 epochs"):
        cuda.query(spec, epochs=2)
    with pytest.raises(api.OutOfDomainError, match="invalid number of epochs"):
        cuda.query(spec)

    fashion = api.NASBench(None, source="trained", dataset="fashion-mnist")
    other = nb101_space.graph_hash([[0, 1], [0, 0]], [-1, -2], ([1, 0], [0, 1]))
    assert list(fashion.hash_iterator()) == [other] and fashion.valid_epochs == {108}
    assert fashion.fixed_statistics[other]["trainable_parameters"] == 1234
    with pytest.raises(InvalidArgument, match="released NB-101 runs are cifar10 only"):
        api.NASBench(None, dataset="fashion-mnist")
    with pytest.raises(InvalidArgument, match="runs on several datasets cannot be mixed"):
        api.NASBench(None, source=None, dataset=None)
    with pytest.raises(InvalidArgument, match="no nb101 source matches"):
        api.NASBench(None, source="no-such-device")


def test_other_sources_on_postgresql(pg_url, tmp_path):
    """The same on the server (bytea detail rows, the trained tables' statements, the source checks)."""
    from nasbench_db.convert.nb101 import convert_nb101

    from conftest import SAMPLE_TFRECORD

    create(str(TSS_DIR), "tss", fast_mode=True, verbose=False)  # converted into the server
    released = create(None, "tss", fast_mode=True, verbose=False)
    before = released.get_more_info(11, "cifar10-valid", None, "12", False)
    convert_nb101(SAMPLE_TFRECORD, progress=False)
    nb = api.NASBench(None)
    module_hash = next(iter(nb.hash_iterator()))
    fixed = nb.fixed_statistics[module_hash]
    matrix, ops = fixed["module_adjacency"].tolist(), fixed["module_operations"]
    directory = tmp_path / "r"
    directory.mkdir()
    for k, result in enumerate([_nb201(11, "cifar10-valid", 12, 1), _nb201(11, "fashion-mnist", 1, 0),
                                _nb101(matrix, ops, "cifar10", 2, 2, fixed["trainable_parameters"])]):
        (directory / f"r{k}.json").write_text(json.dumps(result))
    assert convert_results(directory).ingested == 3
    _db.close_all()
    assert create(None, "tss", fast_mode=True, verbose=False).get_more_info(11, "cifar10-valid", None, "12",
                                                                           False) == before
    both = create(None, "tss", fast_mode=False, verbose=False, source=None)
    assert both.query_meta_info_by_index(11, "12").dataset_seed["cifar10-valid"] == [1, 111, 777]
    assert both.get_more_info(11, "fashion-mnist", hp="1", is_random=0)["valtest-accuracy"] == 62.0
    assert both.get_more_info(11, "cifar10-valid", None, "12", 777) == \
        released.get_more_info(11, "cifar10-valid", None, "12", 777)
    assert api.NASBench(None, source="trained").valid_epochs == {2}
    assert api.NASBench(None, source=None).computed_statistics[module_hash][2][0]["final_test_accuracy"] == 0.34
    with pytest.raises(InvalidArgument, match="no nb201 source matches"):
        create(None, "tss", verbose=False, source="no-such-file")
