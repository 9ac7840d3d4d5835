"""NAS-Bench-201: the space module, the streaming pickle reader, the .pth converter, the queries, NNI's file, CLI."""

from __future__ import annotations

import bz2
import collections
import datetime
import hashlib
import io
import itertools
import json
import math
import pickle
import random
import re
import shutil
import sqlite3

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from nasbench_db import db as _db
from nasbench_db.cli import cli
from nasbench_db.convert.nb201 import convert_nb201
from nasbench_db.convert.pickle_stream import PickleDataError, StreamUnpickler, UnsupportedPickle
from nasbench_db.errors import CorruptInput, NasbenchDbError, OutOfSearchSpace
from nasbench_db.query import query_nb201_trial_stats
from nasbench_db.spaces import nb201 as space

from conftest import SAMPLE_TFRECORD, count_statements
from nb201_fixture import INDICES, TSS_DIR, expected_trials, load_simple, nb201_dict, write_pth

torch = pytest.importorskip("torch")

NB201_HP = {"less": 12, "full": 200}
RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


def _closed_form(index, dataset):
    return space.parameters(index, dataset), space.flops(index, dataset)


# ----------------------------------------------------------------------------------------------------------------------
# the space


def test_index_order_is_the_released_meta_order():
    meta, _ = load_simple(TSS_DIR)
    archs = space.meta_archs()
    assert archs == meta["meta_archs"]
    assert hashlib.sha256("\n".join(archs).encode()).hexdigest() == \
        "83abc799e45cf34e9d2163654668ab998b9a54d01c39e72ca1f71f2cdf356d84"
    # the order is itertools.product over the ops (edge 0->1 outermost) shuffled by random.seed(88)
    cells = list(itertools.product(space.OPS, repeat=6))
    random.seed(88)
    random.shuffle(cells)
    assert [space.arch_str(c) for c in cells] == archs
    assert archs[0] == "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    assert archs[9] == "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    assert archs[123] == "|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    assert archs[15624] == "|nor_conv_1x1~0|+|none~0|nor_conv_1x1~1|+|none~0|nor_conv_1x1~1|nor_conv_1x1~2|"


def test_named_cells():
    assert space.index_of(RESNET) == 11472
    assert [space.index_of((op,) * 6) for op in ("nor_conv_3x3", "nor_conv_1x1", "none", "skip_connect")] == \
        [1462, 4317, 1651, 1835]
    assert space.index_of("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
                          "nor_conv_3x3~2|") == 9930


def _nni_parse_arch_str(text):
    """NNI's db_gen.parse_arch_str, transcribed: its regex and op renaming."""
    mp = {"none": "none", "skip_connect": "skip_connect", "nor_conv_1x1": "conv_1x1", "nor_conv_3x3": "conv_3x3",
          "avg_pool_3x3": "avg_pool_3x3"}
    m = re.match(r"\|(.*)~0\|\+\|(.*)~0\|(.*)~1\|\+\|(.*)~0\|(.*)~1\|(.*)~2\|", text)
    return {"0_1": mp[m.group(1)], "0_2": mp[m.group(2)], "1_2": mp[m.group(3)], "0_3": mp[m.group(4)],
            "1_3": mp[m.group(5)], "2_3": mp[m.group(6)]}


def test_every_encoding_round_trips():
    for index, text in enumerate(space.meta_archs()):
        ops = space.arch_of_index(index)
        nni = space.to_nni(text)
        assert nni == _nni_parse_arch_str(text)
        assert space.arch_str(nni) == text and space.from_nni(nni) == ops and space.parse_arch_str(text) == ops
        assert space.index_of(nni) == space.index_of(text) == space.index_of(list(ops)) == index
    # NNI dicts may use the original op names and any key order
    shuffled = dict(reversed(list(space.to_nni(RESNET).items())))
    assert space.index_of(shuffled) == 11472
    assert space.index_of({k: space.ORIGINAL_NAME[v] for k, v in shuffled.items()}) == 11472
    assert space.to_matrix(RESNET) == [[0, 0, 0, 0], [3, 0, 0, 0], [0, 3, 0, 0], [1, 0, 1, 0]]
    assert space.node_inputs(RESNET)[2] == (("skip_connect", 0), ("none", 1), ("skip_connect", 2))


def test_unique_topologies():
    classes = space.unique_indices()
    assert len(set(classes)) == space.NUM_UNIQUE == 6466
    assert sum(space.has_path(ops) for ops in space.all_archs()) == 15284
    for index, rep in enumerate(classes):
        assert rep <= index and classes[rep] == rep
        assert space.unique_str(index) == space.unique_str(rep)
    # node 1 fed only by 'none' is zero: whatever leaves it does not matter
    a = ("none", "nor_conv_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "nor_conv_3x3")
    b = ("none", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_3x3")
    assert space.unique_index(a) == space.unique_index(b)
    # skip_connect forwards its input: conv3x3 over node 0 or over node 1 = skip(node 0) is the same; a conv is
    # not a skip
    c = ("skip_connect", "none", "nor_conv_3x3", "none", "none", "nor_conv_1x1")
    d = ("skip_connect", "nor_conv_3x3", "none", "none", "none", "nor_conv_1x1")
    assert space.unique_index(c) == space.unique_index(d)
    assert space.unique_index(c) != space.unique_index(("nor_conv_3x3",) + c[1:])
    assert space.unique_str((space.NONE,) * 6) == "#+#+#"


def test_closed_form_cost():
    table = {0: [(0.129306, 15.64737), (0.135156, 15.65322), (0.136456, 3.91948)],
             11: [(0.802426, 113.95137), (0.808276, 113.95722), (0.809576, 28.49548)],
             284: [(0.101306, 11.71521), (0.107156, 11.72106), (0.108456, 2.93644)],
             11472: [(0.559386, 78.56193), (0.565236, 78.56778), (0.566536, 19.64812)],
             9930: [(1.288506, 184.73025), (1.294356, 184.73610), (1.295656, 46.19020)],
             1651: [(0.073306, 7.78305), (0.079156, 7.78890), (0.080456, 1.95340)]}
    for index, values in table.items():
        got = [_closed_form(index, d) for d in ("cifar10", "cifar100", "ImageNet16-120")]
        assert got == values  # exact: the closed form divided by 1e6 is the correctly rounded decimal
    # exactly the files' values (both budgets, every dataset and seed of the real records)
    _, records = load_simple(TSS_DIR)
    for index, record in records.items():
        for state in record.values():
            for (dataset, _seed), result in state["all_results"].items():
                assert _closed_form(index, dataset) == (float(result["params"]), float(result["flop"]))
    assert space.count_convs(11) == (3, 0)


def test_space_errors_name_the_problem():
    cases = [
        (lambda: space.arch_of_index(15625), "arch index out of range: got 15625, expected 0..15624"),
        (lambda: space.index_of(-1), "arch index out of range: got -1"),
        (lambda: space.ops_of("|nor_conv_3x3~0|+|none~0|"), "not an NB-201 arch string"),
        (lambda: space.ops_of("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
         "edge 0->1: unknown op 'conv_5x5'"),
        (lambda: space.ops_of({"0_1": "none"}), "missing ['0_2', '0_3', '1_2', '1_3', '2_3']"),
        (lambda: space.ops_of(dict(space.to_nni(0), **{"3_4": "none"})), "unexpected ['3_4']"),
        (lambda: space.ops_of(["none"] * 5), "6 edges: got 5 ops"),
        (lambda: space.ops_of(1.5), "arch must be an index"),
        (lambda: space.parameters(0, "imagenet"), "unknown dataset 'imagenet'"),
    ]
    for call, message in cases:
        with pytest.raises(OutOfSearchSpace) as info:
            call()
        assert message in str(info.value)
        assert isinstance(info.value, ValueError)


# ----------------------------------------------------------------------------------------------------------------------
# the streaming pickle reader

_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=False),
                  st.text(max_size=12), st.binary(max_size=12))
_keys = st.text(alphabet="xrq@-0123456789oritesvalG.", min_size=1, max_size=14)
_float_dicts = st.one_of(st.dictionaries(_keys, st.floats(allow_nan=False), max_size=40),
                         st.dictionaries(st.integers(0, 255), st.floats(allow_nan=False), max_size=40))
_objects = st.recursive(_leaf | _float_dicts, lambda children: st.one_of(
    st.lists(children, max_size=6), st.tuples(children, children),
    st.dictionaries(st.one_of(st.text(max_size=8), st.integers(-2 ** 70, 2 ** 70)), children, max_size=6)),
    max_leaves=40)  # integers within the reader's MAX_INT_BYTES (9 bytes), as every benchmark value is


@settings(max_examples=150, deadline=None)
@given(_objects, st.sampled_from([0, 1, 2, 3, 4, 5]))
def test_stream_reader_equals_pickle(obj, protocol):
    data = pickle.dumps(obj, protocol=protocol)
    reader = StreamUnpickler(io.BytesIO(data).read)
    for _ in reader.load():
        pass
    assert reader.result == obj


@settings(max_examples=60, deadline=None)
@given(st.lists(_float_dicts, min_size=1, max_size=5), st.sampled_from([2, 4]))
def test_stream_reader_shared_keys(dicts, protocol):
    # dicts sharing their key objects: the pickler writes memo references (BINGET runs) for the later ones
    keys = [list(d) for d in dicts]
    obj = [dict(zip(keys[i % len(keys)], d.values())) for i, d in enumerate(dicts)] + \
        [collections.OrderedDict(zip(keys[0], range(len(keys[0]))))]
    data = pickle.dumps(obj, protocol=protocol)
    reader = StreamUnpickler(io.BytesIO(data).read)
    list(reader.load())
    assert reader.result == obj


def _is_record(key, value):
    return isinstance(value, dict) and bool(value) and all(
        isinstance(v, dict) and "all_results" in v for v in value.values())


def test_stream_reader_hands_over_and_releases_records():
    meta, records = load_simple(TSS_DIR)
    top = nb201_dict(records, meta)
    for protocol in (2, 4):
        reader = StreamUnpickler(io.BytesIO(pickle.dumps(top, protocol=protocol)).read, is_record=_is_record)
        got = dict(reader.load())
        assert got == top["arch2infos"]
        assert reader.result["arch2infos"] == {i: None for i in INDICES}
        assert reader.result["meta_archs"] == meta["meta_archs"] and reader.records == 3
        assert reader.released > 30000  # the per-epoch keys and containers of the records are forgotten
    # one pickler for many records, each loaded from its own file first (as the released files were merged):
    # attribute names are shared across records and kept; everything else a record brought is released, so what
    # stays grows by a few small values per record
    held = []
    for count in (6, 30):
        many = {i: pickle.loads(pickle.dumps(records[INDICES[i % 3]])) for i in range(count)}
        reader = StreamUnpickler(io.BytesIO(pickle.dumps({"arch2infos": many}, protocol=2)).read,
                                 is_record=_is_record)
        assert sum(1 for _ in reader.load()) == count
        held.append(reader.memo_size)
    # a record has 17 trials: a few small values each (seed text, (dataset, seed) key, eval-set names)
    assert (held[1] - held[0]) / 24 < 100, held
    # an object shared by two records cannot be handed over: said so, not guessed
    shared = [1, 2, 3]
    data = pickle.dumps({"arch2infos": {0: {"less": {"all_results": {}, "x": shared}},
                                        1: {"less": {"all_results": {}, "x": shared}}}}, protocol=2)
    reader = StreamUnpickler(io.BytesIO(data).read, is_record=_is_record)
    with pytest.raises(UnsupportedPickle, match="earlier architecture record"):
        list(reader.load())


def test_stream_reader_refuses_code_and_tensors():
    data = pickle.dumps({"when": datetime.date(2020, 1, 1)}, protocol=2)
    with pytest.raises(UnsupportedPickle, match="unexpected class datetime.date"):
        list(StreamUnpickler(io.BytesIO(data).read).load())
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buffer, _use_new_zipfile_serialization=False)
    reader = StreamUnpickler(io.BytesIO(buffer.getvalue()).read)
    reader.max_int_bytes = 10  # torch's legacy magic number is an 80-bit integer (nb201 allows it in the header)
    with pytest.raises(UnsupportedPickle):
        for _ in range(4):
            list(reader.load())
    data = pickle.dumps({"a": [1.5] * 100}, protocol=4)
    with pytest.raises(PickleDataError, match="truncated"):
        list(StreamUnpickler(io.BytesIO(data[:-20]).read).load())
    with pytest.raises(PickleDataError, match="opcode"):
        list(StreamUnpickler(io.BytesIO(b"\x80\x02\xff.").read).load())


# ----------------------------------------------------------------------------------------------------------------------
# the .pth converter


@pytest.fixture(scope="session")
def real():
    return load_simple(TSS_DIR)


@pytest.fixture(scope="session")
def pth_v1_1(real, tmp_path_factory):
    meta, records = real
    return write_pth(tmp_path_factory.mktemp("pth") / "NAS-Bench-201-v1_1-096897.pth", nb201_dict(records, meta))


@pytest.fixture(scope="session")
def nb201_db(pth_v1_1, tmp_path_factory):
    directory = tmp_path_factory.mktemp("nb201db")
    report = convert_nb201(pth_v1_1, directory, progress=False)
    return directory, report


@pytest.fixture
def nb201_env(nb201_db, monkeypatch, tmp_path):
    target = tmp_path / "env"
    shutil.copytree(nb201_db[0], target)
    monkeypatch.setenv("NASBENCHMARK_DIR", str(target))
    return target


def _all(db_dir=None, **kwargs):
    return list(query_nb201_trial_stats(None, None, None, include_intermediates=True, db_dir=db_dir, **kwargs))


def test_v1_1_pth_matches_the_records(nb201_db, real, pth_v1_1):
    directory, report = nb201_db
    assert (report.fmt, report.loader, report.archs, report.trials) == ("torch-zip", "stream", 3, 51)
    assert report.hp == ["less", "full"]
    assert report.sha256 == hashlib.sha256(pth_v1_1.read_bytes()).hexdigest()
    expected = expected_trials(nb201_dict(real[1], real[0])["arch2infos"], NB201_HP, cost=_closed_form)
    rows = _all(directory)
    got = {(space.index_of(r["config"]["arch"]), r["config"]["num_epochs"], r["config"]["dataset"], r["seed"]): r
           for r in rows}
    assert sorted(got) == sorted(expected)
    for key, (stats, intermediates) in expected.items():
        assert {k: got[key][k] for k in stats} == stats
        assert [{k: v for k, v in i.items() if k != "id"} for i in got[key]["intermediates"]] == intermediates


@pytest.mark.parametrize("layout", ["legacy", "pickle", "torch-loader"])
def test_other_layouts_give_the_same_database(layout, nb201_db, real, tmp_path):
    meta, records = real
    data = nb201_dict(records, meta)
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    if layout == "pickle":
        path.write_bytes(pickle.dumps(data, protocol=2))
    else:
        write_pth(path, data, legacy=True)
    report = convert_nb201(path, tmp_path / "db", progress=False,
                           loader="unsafe-torch-load" if layout == "torch-loader" else "auto")
    assert report.fmt == {"legacy": "torch-legacy", "pickle": "pickle", "torch-loader": "torch.load"}[layout]
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert _all(tmp_path / "db") == _all(nb201_db[0])


def test_v1_0_layout_and_the_params_defect(real, tmp_path):
    meta, records = real
    data = nb201_dict(records, meta, version="v1_0")
    # a 200-epoch record carrying another network's parameter count (the documented defect), and a NaN loss
    broken = data["arch2infos"][11]["full"]["all_results"][("cifar10", 888)]
    broken["params"] = 0.6404
    broken["train_losses"][199] = float("nan")
    report = convert_nb201(write_pth(tmp_path / "v1_0.pth", data, legacy=True), tmp_path / "db", progress=False)
    assert report.trials == 3 * (2 + 12) and report.file_params_differ == 1
    assert "1 trials carry params" in report.summary()
    rows = {(r["config"]["num_epochs"], r["config"]["dataset"], r["seed"]): r
            for r in query_nb201_trial_stats(11, None, None, db_dir=tmp_path / "db")}
    assert {k[1] for k in rows if k[0] == 12} == {"cifar10-valid"}
    defect = rows[(200, "cifar10", 888)]
    assert defect["parameters"] == 0.802426 and defect["train_loss"] is None  # NaN stored as NULL
    assert all(r["training_time"] is None and r["valid_evaluation_time"] is None
               for k, r in rows.items() if k[0] == 200)  # v1_0 200-epoch runs have no times
    with sqlite3.connect(tmp_path / "db" / "nasbench201.db") as conn:
        assert conn.execute("SELECT file_parameters, parameters FROM nb201trialstats WHERE id = ?",
                            (defect["id"],)).fetchone() == (0.6404, 0.802426)


def test_no_torch_fallback_only_the_explicit_unsafe_opt_in(real, tmp_path, capsys):
    meta, records = real
    data = nb201_dict(records, meta)
    data["arch2infos"][0]["less"]["extra"] = datetime.date(2020, 3, 1)  # a class the stream reader does not build
    path = write_pth(tmp_path / "odd.pth", data, legacy=True)
    for loader in ("stream", "auto"):  # 'auto' no longer hands a refused file to torch.load
        with pytest.raises(CorruptInput, match="unexpected class datetime.date.*--unsafe-torch-load"):
            convert_nb201(path, tmp_path / "db", progress=False, loader=loader)
    assert not (tmp_path / "db" / "nasbench201.db").exists()
    with pytest.raises(NasbenchDbError, match="loader 'torch' was removed.*runs any code"):
        convert_nb201(path, tmp_path / "db", progress=False, loader="torch")
    report = convert_nb201(path, tmp_path / "db", progress=False, loader="unsafe-torch-load")
    assert report.loader == "unsafe-torch-load" and report.trials == 51
    assert "runs any code the file contains" in capsys.readouterr().err
    result = CliRunner().invoke(cli, ["convert", "nb201", str(path), "--db-dir", str(tmp_path / "db2")])
    assert result.exit_code == 1 and "--unsafe-torch-load" in result.output
    result = CliRunner().invoke(cli, ["convert", "nb201", str(path), "--db-dir", str(tmp_path / "db2"),
                                      "--loader", "torch"])
    assert result.exit_code == 1 and "was removed" in result.output
    result = CliRunner().invoke(cli, ["convert", "nb201", str(path), "--db-dir", str(tmp_path / "db2"),
                                      "--unsafe-torch-load"])
    assert result.exit_code == 0, result.output


def test_wrong_files_fail_clearly_and_keep_the_old_database(nb201_db, tmp_path):
    db_dir = tmp_path / "db"
    shutil.copytree(nb201_db[0], db_dir)
    before = (db_dir / "nasbench201.db").read_bytes()
    runner = CliRunner()

    def fails(path, *needles):
        result = runner.invoke(cli, ["convert", "nb201", str(path), "--db-dir", str(db_dir)])
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: "), result.output
        for needle in needles:
            assert needle in result.output, result.output
        assert (db_dir / "nasbench201.db").read_bytes() == before
        assert [p.name for p in db_dir.iterdir()] == ["nasbench201.db"]

    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    fails(empty, str(empty), "empty")
    fails(SAMPLE_TFRECORD, str(SAMPLE_TFRECORD), "not a PyTorch .pth or pickle file")
    nats = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    nats.write_bytes(bz2.compress(b"x"))
    fails(nats, "bz2-compressed", "convert nats-tss")
    fails(tmp_path, "is a directory")
    fails(tmp_path / "missing.pth", "no such file")
    other = tmp_path / "other.pth"
    torch.save({"state_dict": {"a": 1}}, other)
    fails(other, str(other), "no 'arch2infos'")
    cut = tmp_path / "cut.pth"
    whole = (nb201_db[0] / "nasbench201.db")  # any bytes: take the real fixture and cut it
    data = io.BytesIO()
    meta, records = load_simple(TSS_DIR)
    torch.save(nb201_dict(records, meta), data, _use_new_zipfile_serialization=False)
    cut.write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    fails(cut, str(cut), "truncated")
    assert whole.exists()


# ----------------------------------------------------------------------------------------------------------------------
# queries


def test_arch_forms_and_argument_checks(nb201_env):
    nni = space.to_nni(11)
    reference = list(query_nb201_trial_stats(nni, 200, "cifar100"))
    assert len(reference) == 3 and {r["seed"] for r in reference} == {777, 888, 999}
    import numpy

    for arch in (11, numpy.int64(11), space.arch_str(11), dict(reversed(list(nni.items()))),
                 {k: space.ORIGINAL_NAME[v] for k, v in nni.items()}):
        assert list(query_nb201_trial_stats(arch, 200, "CIFAR100")) == reference
    first = reference[0]
    assert list(first) == ["id", "config", "seed", "train_acc", "valid_acc", "test_acc", "ori_test_acc",
                           "train_loss", "valid_loss", "test_loss", "ori_test_loss", "parameters", "latency",
                           "flops", "training_time", "valid_evaluation_time", "test_evaluation_time",
                           "ori_test_evaluation_time"]
    assert first["config"] == {"id": 8 * 11 + 4 + 2 + 1, "arch": nni, "num_epochs": 200, "num_channels": 16,
                               "num_cells": 5, "dataset": "cifar100"}
    first["config"]["arch"]["0_1"] = "none"  # callers get their own dicts
    assert list(query_nb201_trial_stats(11, 200, "cifar100")) == list(query_nb201_trial_stats(nni, 200, "cifar100"))
    assert len(list(query_nb201_trial_stats(None, 12, None))) == 3 * 5
    assert len(list(query_nb201_trial_stats(None, None, "cifar10-valid"))) == 3 * (2 + 3)
    assert list(query_nb201_trial_stats(1, 200, None)) == []  # an arch absent from the partial file
    for kwargs, message in (({"num_epochs": 100}, "num_epochs must be one of 12, 200"),
                            ({"dataset": "imagenet"}, "unknown dataset 'imagenet'"),
                            ({"reduction": "max"}, "unsupported reduction 'max'"),
                            ({"arch": "|x~0|"}, "not an NB-201 arch string")):
        args = {"arch": None, "num_epochs": None, "dataset": None, **kwargs}
        with pytest.raises(ValueError, match=re.escape(message)):
            list(query_nb201_trial_stats(**args))
    # trained runs may have other budgets and datasets: with source=None those are plain filters
    assert list(query_nb201_trial_stats(None, 100, "mnist", source=None)) == []


def test_reduction_mean_and_intermediates(nb201_env):
    trials = list(query_nb201_trial_stats(11, 200, "cifar100", include_intermediates=True))
    (mean,) = query_nb201_trial_stats(11, 200, "cifar100", reduction="mean", include_intermediates=True)
    assert mean["id"] is None and mean["seed"] is None and mean["config"] == trials[0]["config"]
    for name in ("train_acc", "valid_acc", "test_acc", "ori_test_loss", "training_time", "parameters"):
        assert mean[name] == pytest.approx(sum(t[name] for t in trials) / 3)
    assert [i["current_epoch"] for i in mean["intermediates"]] == list(range(1, 201))
    assert mean["intermediates"][-1]["valid_acc"] == pytest.approx(mean["valid_acc"])
    for trial in trials:
        curve = trial["intermediates"]
        assert [i["current_epoch"] for i in curve] == list(range(1, 201))
        # cifar100, 200 epochs: x-valid / x-test are evaluated at the last epoch only (NNI leaves them None)
        assert all(i["valid_acc"] is None and i["test_acc"] is None for i in curve[:-1])
        assert curve[-1]["valid_acc"] == trial["valid_acc"] and curve[-1]["ori_test_acc"] == trial["ori_test_acc"]
        assert all(i["ori_test_acc"] is not None for i in curve)
        assert list(curve[0]) == ["id", "current_epoch", "train_acc", "valid_acc", "test_acc", "ori_test_acc",
                                  "train_loss", "valid_loss", "test_loss", "ori_test_loss"]
    (c10v,) = [t for t in query_nb201_trial_stats(0, 200, "cifar10-valid", include_intermediates=True)
               if t["seed"] == 777]
    assert all(i["ori_test_acc"] is None for i in c10v["intermediates"][:-1])
    assert all(i["valid_acc"] is not None for i in c10v["intermediates"])
    assert list(query_nb201_trial_stats(0, 12, None, include_intermediates=False))[0].get("intermediates") is None


@pytest.mark.parametrize("reduction", [None, "mean"])
def test_intermediates_cost_one_statement_more(nb201_env, reduction):
    with count_statements("nb201") as calls:
        rows = list(query_nb201_trial_stats(None, None, None, reduction=reduction, include_intermediates=True))
        assert len(rows) == (51 if reduction is None else 3 * 2 * 4) and len(calls) == 2
        calls.clear()
        list(query_nb201_trial_stats(None, None, None, reduction=reduction))
        assert len(calls) == 1


def test_source_filter(nb201_env):
    assert len(list(query_nb201_trial_stats(None, None, None, source=None))) == 51
    assert len(list(query_nb201_trial_stats(None, None, None, source=1))) == 51
    assert list(query_nb201_trial_stats(None, None, None, source="NAS-Bench-201-v1_1-096897.pth")) != []
    assert list(query_nb201_trial_stats(None, None, None, source="cuda")) == []  # a device kind: none here
    with pytest.raises(ValueError, match="no nb201 source matches 'rtx-4090': installed: 'original'"):
        query_nb201_trial_stats(None, None, None, source="rtx-4090")  # a name no source has: say what there is


def test_peewee_models(nb201_env):
    from nasbench_db.models import Nb201Arch, Nb201IntermediateStats, Nb201TrialConfig, Nb201TrialStats

    arch = dict(reversed(list(space.to_nni(284).items())))
    query = (Nb201TrialStats.select(Nb201TrialStats, Nb201TrialConfig).join(Nb201TrialConfig)
             .where((Nb201TrialConfig.arch == arch) & (Nb201TrialConfig.num_epochs == 200)))
    trials = list(query)
    assert len(trials) == 12 and all(t.config.arch == space.to_nni(284) for t in trials)
    best = (Nb201TrialStats.select().join(Nb201TrialConfig)
            .where((Nb201TrialConfig.dataset == "cifar100") & (Nb201TrialConfig.num_epochs == 200))
            .order_by(Nb201TrialStats.valid_acc.desc()).first())
    assert best.valid_acc == max(r["valid_acc"] for r in query_nb201_trial_stats(None, 200, "cifar100"))
    curve = list(best.intermediates.order_by(Nb201IntermediateStats.current_epoch))
    assert len(curve) == 200 and curve[0].id == 1000 * best.id + 1
    row = Nb201Arch.get_by_id(11472)
    assert (row.arch_str, row.num_conv3x3, row.has_path) == (RESNET, 2, True)
    # an isomorphic cell with a smaller index names ResNet's class
    assert row.unique_index == space.unique_index(RESNET) < 11472
    assert Nb201Arch.get_by_id(row.unique_index).unique_str == row.unique_str == space.unique_str(RESNET)
    assert Nb201Arch.select().where(Nb201Arch.unique_index == Nb201Arch.id).count() == 6466


# ----------------------------------------------------------------------------------------------------------------------
# NNI's prebuilt file, opened as it is

NNI_DDL = [
    'CREATE TABLE "nb201trialconfig" ("id" INTEGER NOT NULL PRIMARY KEY, "arch" JSON NOT NULL, '
    '"num_epochs" INTEGER NOT NULL, "num_channels" INTEGER NOT NULL, "num_cells" INTEGER NOT NULL, '
    '"dataset" VARCHAR(20) NOT NULL)',
    'CREATE INDEX "nb201trialconfig_arch" ON "nb201trialconfig" ("arch")',
    'CREATE INDEX "nb201trialconfig_num_epochs" ON "nb201trialconfig" ("num_epochs")',
    'CREATE INDEX "nb201trialconfig_dataset" ON "nb201trialconfig" ("dataset")',
    'CREATE TABLE "nb201trialstats" ("id" INTEGER NOT NULL PRIMARY KEY, "config_id" INTEGER NOT NULL, '
    '"seed" INTEGER NOT NULL, "train_acc" REAL NOT NULL, "valid_acc" REAL NOT NULL, "test_acc" REAL NOT NULL, '
    '"ori_test_acc" REAL NOT NULL, "train_loss" REAL, "valid_loss" REAL, "test_loss" REAL, "ori_test_loss" REAL, '
    '"parameters" REAL NOT NULL, "latency" REAL NOT NULL, "flops" REAL NOT NULL, "training_time" REAL NOT NULL, '
    '"valid_evaluation_time" REAL NOT NULL, "test_evaluation_time" REAL NOT NULL, '
    '"ori_test_evaluation_time" REAL NOT NULL, FOREIGN KEY ("config_id") REFERENCES "nb201trialconfig" ("id"))',
    'CREATE INDEX "nb201trialstats_config_id" ON "nb201trialstats" ("config_id")',
    'CREATE TABLE "nb201intermediatestats" ("id" INTEGER NOT NULL PRIMARY KEY, "trial_id" INTEGER NOT NULL, '
    '"current_epoch" INTEGER NOT NULL, "train_acc" REAL, "valid_acc" REAL, "test_acc" REAL, "ori_test_acc" REAL, '
    '"train_loss" REAL, "valid_loss" REAL, "test_loss" REAL, "ori_test_loss" REAL, '
    'FOREIGN KEY ("trial_id") REFERENCES "nb201trialstats" ("id"))',
    'CREATE INDEX "nb201intermediatestats_trial_id" ON "nb201intermediatestats" ("trial_id")',
    'CREATE INDEX "nb201intermediatestats_current_epoch" ON "nb201intermediatestats" ("current_epoch")',
]


def _write_nni_file(path, meta, records):
    """A file in NNI's exact schema, filled the way NNI's db_gen does (its params, last-epoch time x epochs)."""
    conn = sqlite3.connect(path)
    for statement in NNI_DDL:
        conn.execute(statement)
    config_ids = {}
    for text in meta["meta_archs"][:300] + [meta["meta_archs"][i] for i in INDICES]:
        if text in {t for t, *_ in config_ids}:
            continue
        arch = json.dumps(space.to_nni(text), sort_keys=True)
        for epochs in (12, 200):
            for dataset in space.DATASETS:
                cursor = conn.execute("INSERT INTO nb201trialconfig (arch, num_epochs, num_channels, num_cells, "
                                      "dataset) VALUES (json(?), ?, 16, 5, ?)", (arch, epochs, dataset))
                config_ids[(text, epochs, dataset)] = cursor.lastrowid
    for index, record in records.items():
        for hp, state in record.items():
            epochs = 12 if hp == "12" else 200
            for (dataset, seed), r in state["all_results"].items():
                sp = {"cifar10-valid": ["train", "x-valid", "ori-test", "ori-test"],
                      "cifar10": ["train", "ori-test", "ori-test", "ori-test"]}.get(
                    dataset.lower(), ["train", "x-valid", "x-test", "ori-test"])
                k = epochs - 1
                values = (config_ids[(state["arch_str"], epochs, dataset.lower())], seed, r["train_acc1es"][k],
                          r["eval_acc1es"][f"{sp[1]}@{k}"], r["eval_acc1es"][f"{sp[2]}@{k}"],
                          r["eval_acc1es"][f"{sp[3]}@{k}"], r["train_losses"][k], r["eval_losses"][f"{sp[1]}@{k}"],
                          r["eval_losses"][f"{sp[2]}@{k}"], r["eval_losses"][f"{sp[3]}@{k}"], float(r["params"]),
                          float(r["latency"][0]), r["flop"], r["train_times"][k] * epochs,
                          r["eval_times"][f"{sp[1]}@{k}"], r["eval_times"][f"{sp[2]}@{k}"],
                          r["eval_times"][f"{sp[3]}@{k}"])
                trial = conn.execute(f"INSERT INTO nb201trialstats (config_id, seed, train_acc, valid_acc, test_acc, "
                                     "ori_test_acc, train_loss, valid_loss, test_loss, ori_test_loss, parameters, "
                                     "latency, flops, training_time, valid_evaluation_time, test_evaluation_time, "
                                     f"ori_test_evaluation_time) VALUES ({','.join('?' * 17)})", values).lastrowid
                for epoch in range(epochs):
                    inter = (r["train_acc1es"].get(epoch), r["eval_acc1es"].get(f"{sp[1]}@{epoch}"),
                             r["eval_acc1es"].get(f"{sp[2]}@{epoch}"), r["eval_acc1es"].get(f"{sp[3]}@{epoch}"),
                             r["train_losses"].get(epoch), r["eval_losses"].get(f"{sp[1]}@{epoch}"),
                             r["eval_losses"].get(f"{sp[2]}@{epoch}"), r["eval_losses"].get(f"{sp[3]}@{epoch}"))
                    if all(v is None for v in inter):
                        continue
                    conn.execute("INSERT INTO nb201intermediatestats (trial_id, current_epoch, train_acc, valid_acc, "
                                 "test_acc, ori_test_acc, train_loss, valid_loss, test_loss, ori_test_loss) VALUES "
                                 "(?,?,?,?,?,?,?,?,?,?)", (trial, epoch + 1, *inter))
    conn.commit()
    conn.close()


def _comparable(rows):
    """Rows keyed by (arch, epochs, dataset, seed) without the ids (NNI numbers rows its own way)."""
    out = {}
    for row in rows:
        key = (json.dumps(row["config"]["arch"], sort_keys=True), row["config"]["num_epochs"],
               row["config"]["dataset"], row["seed"])
        out[key] = dict(row, id=None, config=dict(row["config"], id=None),
                        intermediates=[dict(i, id=None) for i in row.get("intermediates", [])])
    return out


def test_nni_prebuilt_file(real, nb201_db, tmp_path, monkeypatch):
    meta, records = real
    nni_dir = tmp_path / "nni"
    nni_dir.mkdir()
    _write_nni_file(nni_dir / _db.NNI_FILE_NAMES["nb201"], meta, records)
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nni_dir))
    assert _db.locate("nb201").layout == "nni"
    theirs = _comparable(query_nb201_trial_stats(None, None, None, include_intermediates=True))
    ours = _comparable(_all(nb201_db[0]))
    assert theirs.keys() == ours.keys() and len(theirs) == 51
    for key, row in ours.items():
        other = theirs[key]
        # NNI stores last-epoch time x epochs; we sum the epochs (equal here up to rounding: constant times)
        assert other.pop("training_time") == pytest.approx(row.pop("training_time"), rel=1e-12)
        assert other == row
    with count_statements("nb201") as calls:
        (mean,) = query_nb201_trial_stats(space.to_nni(11), 200, "cifar100", reduction="mean",
                                          include_intermediates=True)
    assert len(calls) == 2 and len(mean["intermediates"]) == 200
    assert mean["valid_acc"] == pytest.approx(sum(r["valid_acc"] for k, r in ours.items()
                                                  if k[1:3] == (200, "cifar100") and
                                                  json.loads(k[0]) == space.to_nni(11)) / 3)
    # NNI's file repeats the originals' params; the architecture's value is reported (here they agree)
    with sqlite3.connect(nni_dir / _db.NNI_FILE_NAMES["nb201"]) as conn:
        conn.execute("UPDATE nb201trialstats SET parameters = 0.6404")
    _db.close_all()
    assert {r["parameters"] for r in query_nb201_trial_stats(11, 200, "cifar10")} == {0.802426}
    assert list(query_nb201_trial_stats(11, 200, "cifar10", source="rtx-4090")) == []


# ----------------------------------------------------------------------------------------------------------------------
# command line


def test_cli_convert_and_query(pth_v1_1, tmp_path):
    runner = CliRunner()
    db_dir = str(tmp_path / "db")
    result = runner.invoke(cli, ["convert", "nb201", str(pth_v1_1), "--db-dir", db_dir, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "converted 3 architectures (partial archive: 3 of 15,625)" in result.output
    assert "51 trials, 7,380 per-epoch rows" in result.output
    result = runner.invoke(cli, ["query", "nb201", "--arch", RESNET, "--db-dir", db_dir])
    assert result.exit_code == 0 and "id" in result.output  # present in the space, absent from the file
    result = runner.invoke(cli, ["query", "nb201", "--arch", "11", "--epochs", "200", "--dataset", "cifar100",
                                 "--format", "json", "--db-dir", db_dir])
    rows = json.loads(result.output)
    assert [r["seed"] for r in rows] == [999, 777, 888] and rows[0]["config"]["arch"] == space.to_nni(11)
    arch_json = json.dumps(space.to_nni(284))
    result = runner.invoke(cli, ["query", "nb201", "--arch", arch_json, "--epochs", "12", "--reduction", "mean",
                                 "--format", "csv", "--db-dir", db_dir])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 0 and len(lines) == 1 + 4
    assert lines[0].startswith("id,config.id,arch_index,config.dataset") and lines[0].endswith(",arch")
    assert lines[1].split(",")[2] == "284" and lines[1].endswith(f",{space.arch_str(284)}")
    result = runner.invoke(cli, ["query", "nb201", "--arch", "0", "--epochs", "12", "--dataset", "cifar10",
                                 "--intermediates", "--format", "json", "--db-dir", db_dir])
    assert len(json.loads(result.output)[0]["intermediates"]) == 12
    result = runner.invoke(cli, ["query", "nb201", "--limit", "2", "--db-dir", db_dir])
    assert result.exit_code == 0 and len(result.output.strip().splitlines()) == 2 + 2
    for args, message in ((["--arch", "15625"], "arch index out of range: got 15625, expected 0..15624"),
                          (["--arch", '{"0_1": "none"}'], "missing"),
                          (["--arch", "{bad"], "--arch is not valid JSON")):
        result = runner.invoke(cli, ["query", "nb201", *args, "--db-dir", db_dir])
        assert result.exit_code == 1 and message in result.output, result.output
    result = runner.invoke(cli, ["info", "--db-dir", db_dir])
    assert "NAS-Bench-201 / NATS-Bench topology" in result.output and "nb201trialstats 51" in result.output
    for command in (["convert", "nb201", "-h"], ["convert", "nats-tss", "-h"], ["convert", "nats-sss", "-h"],
                    ["query", "nb201", "-h"], ["query", "nats-sss", "-h"]):
        result = runner.invoke(cli, command)
        assert result.exit_code == 0 and "Example:" in result.output


def test_math_of_latency_and_time(nb201_env, real):
    _, records = real
    result = records[284]["200"]["all_results"][("ImageNet16-120", 888)]
    (row,) = [r for r in query_nb201_trial_stats(284, 200, "imagenet16-120") if r["seed"] == 888]
    assert row["latency"] == float(result["latency"][0])
    assert row["training_time"] == sum(result["train_times"][e] for e in range(200))
    assert row["training_time"] == pytest.approx(result["train_times"][199] * 200, rel=1e-12)
    assert row["ori_test_evaluation_time"] == result["eval_times"]["ori-test@199"]
    assert not math.isnan(row["train_loss"])


def test_index_of_nni_is_one_lookup_that_agrees_with_index_of():
    """The point query's reading of NNI's own dict (six keys, NNI op names) equals the checking path for every
    architecture, in any key order; other spellings and malformed dicts are left to that path (None)."""
    for index in range(space.NUM_ARCHS):
        nni = space.to_nni(index)
        assert space.index_of_nni(nni) == space.index_of(nni) == index
        assert space.index_of_nni(dict(reversed(list(nni.items())))) == index
    original_names = dict(zip(space.NNI_KEYS, space.arch_of_index(77)))
    assert space.index_of_nni(original_names) is None and space.index_of(original_names) == 77
    for bad in (None, [], {"0_1": "conv_3x3"}, {key: ["conv_3x3"] for key in space.NNI_KEYS},
                {**space.to_nni(3), "0_1": "conv_5x5"}):
        assert space.index_of_nni(bad) is None
        with pytest.raises(ValueError):
            space.index_of(bad)
