"""google's ``nasbench.api`` facade against an independent reference that follows google's api.py (no TensorFlow).

The reference below reads the real NB-101 records of the bundled sample (nasbench_db/data/nb101_sample.tfrecord:
the README Inception cell at 4 budgets and 30 real NASLib cells, 3 runs each) the way google-research/nasbench's
``NASBench.__init__`` does (TFRecord framing, ``json.loads``, ``base64``, ``ModelMetrics`` parsed by the real protobuf
runtime, ``fixed_statistics`` / ``computed_statistics`` filled in file order), and implements ``ModelSpec``,
``_check_spec``, ``hash_module`` and ``query`` after google's code. Nothing of nasbench_db is used by it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
import shutil
import struct

import numpy as np
import pytest

from nasbench_db import db as _db
from nasbench_db.compat.nasbench import api
from nasbench_db.errors import NasbenchDbError

from conftest import SAMPLE_TFRECORD, count_statements

CONV3X3, CONV1X1, MAXPOOL3X3 = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
AVAILABLE_OPS = [CONV3X3, CONV1X1, MAXPOOL3X3]
INCEPTION = ([[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
              [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
             ["input", CONV1X1, CONV3X3, CONV3X3, CONV3X3, MAXPOOL3X3, "output"])


# ----------------------------------------------------------------------------------------------------------------------
# The reference: google's api.py, model_spec.py and graph_util.py as read (google-research/nasbench b942470)


def _metrics_class():
    descriptor_pb2 = pytest.importorskip("google.protobuf.descriptor_pb2")
    from google.protobuf import descriptor_pool, message_factory

    proto = descriptor_pb2.FileDescriptorProto(name="nb101_compat_reference.proto", package="nb101ref",
                                               syntax="proto2")
    field = descriptor_pb2.FieldDescriptorProto
    evaluation = proto.message_type.add(name="EvaluationData")
    for number, name in enumerate(["current_epoch", "training_time", "train_accuracy", "validation_accuracy",
                                   "test_accuracy"], start=1):
        evaluation.field.add(name=name, number=number, type=field.TYPE_DOUBLE, label=field.LABEL_OPTIONAL)
    evaluation.field.add(name="checkpoint_path", number=6, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    metrics = proto.message_type.add(name="ModelMetrics")
    metrics.field.add(name="evaluation_data", number=1, type=field.TYPE_MESSAGE, label=field.LABEL_REPEATED,
                      type_name=".nb101ref.EvaluationData")
    metrics.field.add(name="trainable_parameters", number=2, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL)
    metrics.field.add(name="total_time", number=3, type=field.TYPE_DOUBLE, label=field.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("nb101ref.ModelMetrics"))


def _tfrecords(path):
    """TFRecord framing: uint64 length, uint32 crc, data, uint32 crc (CRCs not checked by the reference)."""
    with open(path, "rb") as handle:
        while True:
            head = handle.read(12)
            if not head:
                return
            (length,) = struct.unpack("<Q", head[:8])
            data = handle.read(length)
            handle.read(4)
            yield data


class RefOutOfDomainError(Exception):
    pass


class RefModelSpec:
    """model_spec.ModelSpec, as read."""

    def __init__(self, matrix, ops, data_format="channels_last"):
        if not isinstance(matrix, np.ndarray):
            matrix = np.array(matrix)
        shape = np.shape(matrix)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError("matrix must be square")
        if shape[0] != len(ops):
            raise ValueError("length of ops must match matrix dimensions")
        for src in range(shape[0]):
            for dst in range(0, src + 1):
                if matrix[src, dst] != 0:
                    raise ValueError("matrix must be upper triangular")
        self.original_matrix = copy.deepcopy(matrix)
        self.original_ops = copy.deepcopy(ops)
        self.matrix = copy.deepcopy(matrix)
        self.ops = copy.deepcopy(ops)
        self.valid_spec = True
        num_vertices = shape[0]
        forward, frontier = {0}, [0]
        while frontier:
            top = frontier.pop()
            for v in range(top + 1, num_vertices):
                if self.original_matrix[top, v] and v not in forward:
                    forward.add(v)
                    frontier.append(v)
        backward, frontier = {num_vertices - 1}, [num_vertices - 1]
        while frontier:
            top = frontier.pop()
            for v in range(0, top):
                if self.original_matrix[v, top] and v not in backward:
                    backward.add(v)
                    frontier.append(v)
        extraneous = set(range(num_vertices)).difference(forward.intersection(backward))
        if len(extraneous) > num_vertices - 2:
            self.matrix = self.ops = None
            self.valid_spec = False
        else:
            self.matrix = np.delete(self.matrix, list(extraneous), axis=0)
            self.matrix = np.delete(self.matrix, list(extraneous), axis=1)
            for index in sorted(extraneous, reverse=True):
                del self.ops[index]
        self.data_format = data_format

    def hash_spec(self, canonical_ops):
        labeling = [-1] + [canonical_ops.index(op) for op in self.ops[1:-1]] + [-2]
        return ref_hash_module(self.matrix, labeling)


def ref_hash_module(matrix, labeling):
    """graph_util.hash_module, as read."""
    vertices = np.shape(matrix)[0]
    in_edges = np.sum(matrix, axis=0).tolist()
    out_edges = np.sum(matrix, axis=1).tolist()
    hashes = [hashlib.md5(str((out_edges[v], in_edges[v], labeling[v])).encode("utf-8")).hexdigest()
              for v in range(vertices)]
    for _ in range(vertices):
        new_hashes = []
        for v in range(vertices):
            in_neighbors = [hashes[w] for w in range(vertices) if matrix[w, v]]
            out_neighbors = [hashes[w] for w in range(vertices) if matrix[v, w]]
            new_hashes.append(hashlib.md5(("".join(sorted(in_neighbors)) + "|" + "".join(sorted(out_neighbors)) + "|"
                                           + hashes[v]).encode("utf-8")).hexdigest())
        hashes = new_hashes
    return hashlib.md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


class RefNASBench:
    """api.NASBench, as read (the TFRecord loop without TensorFlow)."""

    def __init__(self, dataset_file, seed=None):
        self.config = {"module_vertices": 7, "max_edges": 9, "available_ops": list(AVAILABLE_OPS), "num_repeats": 3}
        random.seed(seed)
        metrics_class = _metrics_class()
        self.fixed_statistics, self.computed_statistics, self.valid_epochs = {}, {}, set()
        for row in _tfrecords(dataset_file):
            module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = json.loads(row.decode("utf-8"))
            dim = int(np.sqrt(len(raw_adjacency)))
            adjacency = np.reshape(np.array([int(e) for e in list(raw_adjacency)], dtype=np.int8), (dim, dim))
            operations = raw_operations.split(",")
            metrics = metrics_class.FromString(base64.b64decode(raw_metrics))
            if module_hash not in self.fixed_statistics:
                self.fixed_statistics[module_hash] = {"module_adjacency": adjacency, "module_operations": operations,
                                                      "trainable_parameters": metrics.trainable_parameters}
                self.computed_statistics[module_hash] = {}
            self.valid_epochs.add(epochs)
            self.computed_statistics[module_hash].setdefault(epochs, [])
            half, final = metrics.evaluation_data[1], metrics.evaluation_data[2]
            self.computed_statistics[module_hash][epochs].append({
                "halfway_training_time": half.training_time, "halfway_train_accuracy": half.train_accuracy,
                "halfway_validation_accuracy": half.validation_accuracy,
                "halfway_test_accuracy": half.test_accuracy, "final_training_time": final.training_time,
                "final_train_accuracy": final.train_accuracy,
                "final_validation_accuracy": final.validation_accuracy, "final_test_accuracy": final.test_accuracy})
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    def query(self, model_spec, epochs=108, stop_halfway=False):
        if epochs not in self.valid_epochs:
            raise RefOutOfDomainError("invalid number of epochs")
        fixed_stat, computed_stat = self.get_metrics_from_spec(model_spec)
        sampled_index = random.randint(0, self.config["num_repeats"] - 1)
        computed_stat = computed_stat[epochs][sampled_index]
        prefix = "halfway_" if stop_halfway else "final_"
        data = dict(fixed_stat)
        for key in ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy"):
            data[key] = computed_stat[prefix + key]
        self.training_time_spent += data["training_time"]
        self.total_epochs_spent += epochs // 2 if stop_halfway else epochs
        return data

    def is_valid(self, model_spec):
        try:
            self._check_spec(model_spec)
        except RefOutOfDomainError:
            return False
        return True

    def get_metrics_from_hash(self, module_hash):
        return (copy.deepcopy(self.fixed_statistics[module_hash]),
                copy.deepcopy(self.computed_statistics[module_hash]))

    def get_metrics_from_spec(self, model_spec):
        self._check_spec(model_spec)
        return self.get_metrics_from_hash(model_spec.hash_spec(self.config["available_ops"]))

    def _check_spec(self, model_spec):
        if not model_spec.valid_spec:
            raise RefOutOfDomainError("disconnected")
        if len(model_spec.ops) > self.config["module_vertices"]:
            raise TypeError("the original formats the config module here")
        if np.sum(model_spec.matrix) > self.config["max_edges"]:
            raise RefOutOfDomainError("edges")
        if model_spec.ops[0] != "input" or model_spec.ops[-1] != "output":
            raise RefOutOfDomainError("ends")
        for op in model_spec.ops[1:-1]:
            if op not in self.config["available_ops"]:
                raise RefOutOfDomainError("op")


# ----------------------------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def reference():
    return RefNASBench(SAMPLE_TFRECORD)


@pytest.fixture
def ours(nb101_env):
    return api.NASBench(None)


def _same_value(a, b):
    """Equal value and type (numpy arrays: equal elements, dtype and shape)."""
    if isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(b, dict):
        return isinstance(a, dict) and list(a) == list(b) and all(_same_value(a[k], b[k]) for k in b)
    if isinstance(b, list):
        return isinstance(a, list) and len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _specs(reference):
    """Real cells of the sample (their stored form and a permuted, padded form), and cells outside the space."""
    specs = []
    for module_hash, fixed in reference.fixed_statistics.items():
        matrix, ops = fixed["module_adjacency"].astype(int).tolist(), list(fixed["module_operations"])
        specs.append((matrix, ops))
        # a dangling vertex that pruning removes: the same cell
        size = len(matrix)
        padded = [row[:-1] + [0] + row[-1:] for row in matrix] + [[0] * (size + 1)]
        padded.insert(size - 1, [0] * (size + 1))
        padded = padded[:size + 1]
        specs.append((padded, ops[:-1] + [MAXPOOL3X3] + ops[-1:]))
    specs.append(INCEPTION)
    specs.append(([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", CONV3X3, "output"]))  # disconnected
    specs.append(([[0, 1], [0, 0]], ["input", "output"]))  # valid, not in the sample
    specs.append(([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"]))  # unknown op
    specs.append(([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["output", CONV3X3, "input"]))  # wrong ends
    ten = [[1 if j > i and (j - i) <= 2 else 0 for j in range(7)] for i in range(7)]  # 11 edges
    specs.append((ten, ["input"] + [CONV3X3] * 5 + ["output"]))
    eight = [[1 if j == i + 1 else 0 for j in range(8)] for i in range(8)]
    specs.append((eight, ["input"] + [CONV3X3] * 6 + ["output"]))  # 8 vertices after pruning
    return specs


def _outcome(call):
    try:
        return "ok", call()
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__, None


# ----------------------------------------------------------------------------------------------------------------------
# values


def test_every_cell_of_the_file_matches(reference, ours):
    assert list(ours.hash_iterator()) == list(reference.fixed_statistics)
    assert len(ours.hash_iterator()) == len(ours.fixed_statistics) == 31
    assert ours.valid_epochs == reference.valid_epochs == {4, 12, 36, 108}
    for module_hash in reference.fixed_statistics:
        assert module_hash in ours.hash_iterator()
        fixed, computed = ours.get_metrics_from_hash(module_hash)
        ref_fixed, ref_computed = reference.get_metrics_from_hash(module_hash)
        assert _same_value(fixed, ref_fixed), module_hash
        assert _same_value(computed, ref_computed), module_hash  # bit for bit: fractions and seconds
        assert _same_value(ours.fixed_statistics[module_hash], ref_fixed)
        assert _same_value(ours.computed_statistics[module_hash], ref_computed)
        assert list(computed) == list(ref_computed)  # budgets in file order


def test_query_follows_the_same_random_trajectory(reference, nb101_env):
    calls = []
    for matrix, ops in _specs(reference):
        for epochs in (108, 4, 36, 12, 5):
            for halfway in (False, True):
                calls.append((matrix, ops, epochs, halfway))
    random.Random(1).shuffle(calls)

    def run(make_api, make_spec, translate):
        nasbench = make_api()
        trace = []
        for matrix, ops, epochs, halfway in calls:
            kind, value = _outcome(lambda: nasbench.query(make_spec(matrix, list(ops)), epochs, halfway))
            trace.append((translate.get(kind, kind), value, nasbench.training_time_spent,
                          nasbench.total_epochs_spent))
        return trace, random.getstate()

    ours, ours_state = run(lambda: api.NASBench(None, seed=7), api.ModelSpec,
                           {"OutOfDomainError": "RefOutOfDomainError", "_TooManyVertices": "TypeError"})
    ref, ref_state = run(lambda: RefNASBench(SAMPLE_TFRECORD, seed=7), RefModelSpec, {})
    assert len(ours) == len(ref) == len(calls)
    for call, mine, theirs in zip(calls, ours, ref):
        assert mine[0] == theirs[0], call
        assert mine[2:] == theirs[2:], call  # budget counters after every call
        if mine[0] == "ok":
            assert _same_value(mine[1], theirs[1]), call
    assert {kind for kind, *_ in ours} == {"ok", "KeyError", "RefOutOfDomainError", "TypeError"}
    assert ours_state == ref_state  # the same draws, in the same order
    nasbench = api.NASBench(None)
    nasbench.query(api.ModelSpec(*INCEPTION))
    nasbench.reset_budget_counters()
    assert nasbench.get_budget_counters() == (0.0, 0)


def test_seed_none_and_repeated_seeds(nb101_env):
    spec = api.ModelSpec(*INCEPTION)
    first = [api.NASBench(None, seed=3).query(spec)["test_accuracy"] for _ in range(2)]
    nb = api.NASBench(None, seed=3)
    again = [nb.query(spec)["test_accuracy"], api.NASBench(None, seed=3).query(spec)["test_accuracy"]]
    assert first[0] == first[1] == again[0] == again[1]
    random.seed(3)
    expected = random.randint(0, 2)
    assert first[0] == [0.9311898946762085, 0.932692289352417, 0.9286859035491943][expected]


def test_model_spec_matches_the_original(reference):
    for matrix, ops in _specs(reference) + [([[0, 1], [0, 0]], ("input", "output"))]:
        ours, ref = api.ModelSpec(matrix, list(ops)), RefModelSpec(matrix, list(ops))
        assert ours.valid_spec == ref.valid_spec
        assert _same_value(ours.original_matrix, ref.original_matrix) and ours.original_ops == ref.original_ops
        if ref.valid_spec:
            assert _same_value(ours.matrix, ref.matrix) and ours.ops == ref.ops
            if all(op in AVAILABLE_OPS for op in ref.ops[1:-1]):
                assert ours.hash_spec(AVAILABLE_OPS) == ref.hash_spec(AVAILABLE_OPS)
        else:
            assert ours.matrix is None and ours.ops is None
        assert ours.data_format == "channels_last"
    # dtype rules of the original's hash: a float matrix hashes differently (nasbench#32) and misses
    float_spec = api.ModelSpec(np.array(INCEPTION[0], dtype=float), list(INCEPTION[1]))
    ref_float = RefModelSpec(np.array(INCEPTION[0], dtype=float), list(INCEPTION[1]))
    assert float_spec.hash_spec(AVAILABLE_OPS) == ref_float.hash_spec(AVAILABLE_OPS) != \
        api.ModelSpec(*INCEPTION).hash_spec(AVAILABLE_OPS) == "28cfc7874f6d200472e1a9dcd8650aa0"
    assert api.ModelSpec(np.array(INCEPTION[0], dtype=bool), list(INCEPTION[1])).hash_spec(AVAILABLE_OPS) == \
        "28cfc7874f6d200472e1a9dcd8650aa0"
    for matrix, ops, text in (([[0, 1, 0]], ["input", "output"], "square"),
                              ([[0, 1], [0, 0]], ["input", CONV3X3, "output"], "length of ops"),
                              ([[0, 1], [1, 0]], ["input", "output"], "upper triangular")):
        with pytest.raises(ValueError, match=text):
            api.ModelSpec(matrix, ops)
        with pytest.raises(ValueError):
            RefModelSpec(matrix, ops)


def test_errors_are_the_originals(ours, reference):
    spec = api.ModelSpec(*INCEPTION)
    with pytest.raises(api.OutOfDomainError, match="invalid number of epochs"):
        ours.query(spec, epochs=100)
    with pytest.raises(KeyError):
        ours.query(api.ModelSpec([[0, 1], [0, 0]], ["input", "output"]))  # valid, not in the sample
    with pytest.raises(KeyError):
        ours.get_metrics_from_hash("0" * 32)
    with pytest.raises(api.OutOfDomainError, match="too many edges, got 11 .max edges = 9."):
        ours.query(api.ModelSpec(*_specs(reference)[-2]))
    with pytest.raises(api.OutOfDomainError, match="disconnected"):
        ours.get_metrics_from_spec(api.ModelSpec([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", CONV3X3, "output"]))
    eight = api.ModelSpec(*_specs(reference)[-1])
    with pytest.raises(TypeError):  # what the original raises (by accident), still an OutOfDomainError too
        ours.query(eight)
    with pytest.raises(api.OutOfDomainError, match="too many vertices, got 8 .max vertices = 7."):
        ours.query(eight)
    assert ours.is_valid(eight) is False and ours.is_valid(spec) is True
    with pytest.raises(api.EvaluateNotSupported, match="nasbench-db train nb101"):
        ours.evaluate(spec, "/tmp/model_dir")
    assert isinstance(api.EvaluateNotSupported("x"), NotImplementedError)
    # is_valid charges nothing and draws nothing
    state = random.getstate()
    assert ours.is_valid(spec) and random.getstate() == state and ours.get_budget_counters() == (0.0, 0)


def test_statistics_mappings_are_read_only_views(ours):
    with pytest.raises(TypeError):
        ours.fixed_statistics["x"] = {}
    assert "28cfc7874f6d200472e1a9dcd8650aa0" in ours.fixed_statistics and "nope" not in ours.computed_statistics
    a = ours.fixed_statistics["28cfc7874f6d200472e1a9dcd8650aa0"]
    a["module_adjacency"][0, 0] = 9  # a fresh object: the next lookup is untouched
    assert ours.fixed_statistics["28cfc7874f6d200472e1a9dcd8650aa0"]["module_adjacency"][0, 0] == 0
    assert "31 NB-101 cells" in repr(ours.fixed_statistics)


def test_warm_queries_run_no_sql(ours, nb101_env):
    spec = api.ModelSpec(*INCEPTION)
    with count_statements("nb101") as cold:
        ours.query(spec)
    assert len(cold) == 1
    with count_statements("nb101") as warm:
        for _ in range(5):
            ours.query(spec)
            ours.query(api.ModelSpec(*INCEPTION), epochs=4, stop_halfway=True)
    assert warm == []


def test_original_file_converted_once_then_recognised(tmp_path, monkeypatch):
    tfrecord = tmp_path / "nasbench_only108.tfrecord"
    shutil.copy(SAMPLE_TFRECORD, tfrecord)
    db_dir = tmp_path / "db"
    nb = api.NASBench(str(tfrecord), seed=0, db_dir=db_dir)
    assert (db_dir / "nasbench101.db").is_file() and (tmp_path / "nasbench_only108.tfrecord.sha256").is_file()
    built = (db_dir / "nasbench101.db").stat().st_mtime_ns
    assert nb.query(api.ModelSpec(*INCEPTION))["trainable_parameters"] == 2694282
    _db.close_all()

    import nasbench_db.convert.nb101 as convert_nb101

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(convert_nb101, "convert_nb101", no_conversion)
    again = api.NASBench(str(tfrecord), db_dir=db_dir)
    assert (db_dir / "nasbench101.db").stat().st_mtime_ns == built
    assert again.valid_epochs == {4, 12, 36, 108}
    # the record is gone (say a read-only copy elsewhere): hashed once, recognised, nothing converted
    (tmp_path / "nasbench_only108.tfrecord.sha256").unlink()
    api.NASBench(str(tfrecord), db_dir=db_dir)
    # NASBENCHMARK_DIR is the default target, None the installed database
    monkeypatch.setenv("NASBENCHMARK_DIR", str(db_dir))
    assert len(api.NASBench(None).fixed_statistics) == 31


def test_missing_database_and_bad_files_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="nasbench-db convert nb101"):
        api.NASBench(None)
    with pytest.raises(NasbenchDbError, match="no such file"):
        api.NASBench(str(tmp_path / "nope.tfrecord"))
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(b"\x00" * 40)
    with pytest.raises(NasbenchDbError, match="bad.tfrecord"):
        api.NASBench(str(bad), db_dir=tmp_path / "db")
    assert not (tmp_path / "db" / "nasbench101.db").exists()


def test_every_public_name_of_the_original_exists():
    # Read from google-research/nasbench b942470 nasbench/api.py and nasbench/lib/model_spec.py: the module's
    # classes, NASBench's methods and instance attributes, ModelSpec's methods and attributes.
    for name in ("NASBench", "ModelSpec", "OutOfDomainError"):
        assert hasattr(api, name)
    for name in ("query", "is_valid", "get_budget_counters", "reset_budget_counters", "evaluate", "hash_iterator",
                 "get_metrics_from_hash", "get_metrics_from_spec", "_check_spec", "_hash_spec"):
        assert callable(getattr(api.NASBench, name)), name
    for name in ("hash_spec", "visualize", "_prune"):
        assert callable(getattr(api.ModelSpec, name)), name
    assert callable(api.is_upper_triangular)


def test_instance_attributes_of_the_original(ours):
    for name in ("config", "fixed_statistics", "computed_statistics", "valid_epochs", "history",
                 "training_time_spent", "total_epochs_spent"):
        assert hasattr(ours, name), name
    assert ours.config["available_ops"] == AVAILABLE_OPS and ours.config["num_repeats"] == 3
    assert ours.config["module_vertices"] == 7 and ours.config["max_edges"] == 9
    spec = api.ModelSpec(*INCEPTION)
    for name in ("original_matrix", "original_ops", "matrix", "ops", "valid_spec", "data_format"):
        assert hasattr(spec, name), name
    # the config is honoured as in the original (it is read at every check)
    ours.config["max_edges"] = 5
    assert not ours.is_valid(spec)


def test_postgresql_backend(pg_url, monkeypatch, tmp_path, reference):
    monkeypatch.setenv("NASBENCHMARK_DB_URL", pg_url)
    tfrecord = tmp_path / "nasbench_full.tfrecord"
    shutil.copy(SAMPLE_TFRECORD, tfrecord)
    ours = api.NASBench(str(tfrecord))  # converted into the server on first use
    assert list(ours.hash_iterator()) == list(reference.fixed_statistics)
    for module_hash in reference.fixed_statistics:
        fixed, computed = ours.get_metrics_from_hash(module_hash)
        ref_fixed, ref_computed = reference.get_metrics_from_hash(module_hash)
        assert _same_value(fixed, ref_fixed) and _same_value(computed, ref_computed)
    assert api.NASBench(str(tfrecord)).valid_epochs == reference.valid_epochs  # recognised, not converted again
