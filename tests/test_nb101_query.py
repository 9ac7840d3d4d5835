"""query_nb101_trial_stats: NNI's shapes and semantics, on our database and on NNI's prebuilt layout."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasbench_db import db as _db
from nasbench_db import models
from nasbench_db.errors import BenchmarkNotInstalled
from nasbench_db.query import query_nb101_trial_stats
from nasbench_db.spaces import nb101 as space

from conftest import count_statements

C3, C1, MP = space.CONV3X3, space.CONV1X1, space.MAXPOOL3X3
INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"
# The README form of the Inception cell (a permutation of the stored canonical cell).
INCEPTION = {"matrix": [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                        [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
             "ops": ["input", C1, C3, C3, C3, MP, "output"]}
TRIAL_KEYS = ["id", "config", "train_acc", "valid_acc", "test_acc", "parameters", "training_time"]
CONFIG_KEYS = ["id", "arch", "num_vertices", "hash", "num_epochs"]
INTERMEDIATE_KEYS = ["id", "current_epoch", "train_acc", "valid_acc", "test_acc", "training_time"]


def stored_inception(nb101_real_cells):
    cell = next(c for c in nb101_real_cells if c["hash"] == INCEPTION_HASH)
    return cell


def test_shape_and_values(nb101_env, nb101_real_cells):
    rows = list(query_nb101_trial_stats(INCEPTION, 108))
    assert len(rows) == 3
    for row in rows:
        assert list(row) == TRIAL_KEYS
        assert list(row["config"]) == CONFIG_KEYS
    cell = stored_inception(nb101_real_cells)
    runs = cell["runs"][108]
    assert [r["test_acc"] for r in rows] == [run["final_test_accuracy"] * 100 for run in runs]
    assert [r["training_time"] for r in rows] == [run["final_training_time"] for run in runs]
    assert rows[0]["parameters"] == 2.694282
    config = rows[0]["config"]
    assert config["hash"] == INCEPTION_HASH and config["num_epochs"] == 108 and config["num_vertices"] == 7
    # The stored (canonical) cell comes back, as in the original API: not the query's permutation.
    stored = space.matrix_to_arch(space.adjacency_to_matrix(cell["adjacency"]), cell["operations"].split(","))
    assert config["arch"] == stored


def test_nni_arch_dict_and_isomorphism(nb101_env, nb101_real_cells):
    cell = stored_inception(nb101_real_cells)
    stored = space.matrix_to_arch(space.adjacency_to_matrix(cell["adjacency"]), cell["operations"].split(","))
    readme_form = space.matrix_to_arch(INCEPTION["matrix"], INCEPTION["ops"])
    assert len(list(query_nb101_trial_stats(readme_form, 108))) == 3
    assert list(query_nb101_trial_stats(readme_form, 108, isomorphism=False)) == []
    assert len(list(query_nb101_trial_stats(stored, 108, isomorphism=False))) == 3


def test_dangling_vertices_are_pruned_before_hashing(nb101_env):
    # The Inception cell plus a dangling vertex 6 (an in-edge from vertex 3, no out-edge), 8 vertices in all:
    # NNI hashes the unpruned graph and finds nothing; the original API (and we) prune first and find the cell.
    cell = {"matrix": [[0, 1, 1, 1, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 1],
                       [0, 0, 0, 0, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 1],
                       [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]],
            "ops": ["input", C1, C3, C3, C3, MP, C1, "output"]}
    rows = list(query_nb101_trial_stats(cell, 108))
    assert len(rows) == 3 and rows[0]["config"]["hash"] == INCEPTION_HASH


def test_wildcards(nb101_env):
    assert len(list(query_nb101_trial_stats(None, None))) == 102
    assert len(list(query_nb101_trial_stats(None, 108))) == 93
    assert len(list(query_nb101_trial_stats(INCEPTION, None))) == 12
    assert {r["config"]["num_epochs"] for r in query_nb101_trial_stats(INCEPTION, None)} == {4, 12, 36, 108}
    assert list(query_nb101_trial_stats(INCEPTION, 7)) == []


def test_reduction_mean(nb101_env, nb101_real_cells):
    rows = list(query_nb101_trial_stats(INCEPTION, 108, reduction="mean"))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] is None and list(row) == TRIAL_KEYS
    runs = stored_inception(nb101_real_cells)["runs"][108]
    assert row["test_acc"] == pytest.approx(sum(r["final_test_accuracy"] * 100 for r in runs) / 3, rel=1e-12)
    assert row["training_time"] == pytest.approx(sum(r["final_training_time"] for r in runs) / 3, rel=1e-12)
    assert len(list(query_nb101_trial_stats(None, 108, reduction="mean"))) == 31
    assert list(query_nb101_trial_stats(INCEPTION, 108, reduction="none")) == list(
        query_nb101_trial_stats(INCEPTION, 108))


def test_intermediates(nb101_env, nb101_real_cells):
    rows = list(query_nb101_trial_stats(INCEPTION, 108, include_intermediates=True))
    run = stored_inception(nb101_real_cells)["runs"][108][0]
    inter = rows[0]["intermediates"]
    assert [list(i) for i in inter] == [INTERMEDIATE_KEYS, INTERMEDIATE_KEYS]
    assert [i["current_epoch"] for i in inter] == [54, 108]
    assert inter[0]["training_time"] == run["halfway_training_time"] == 577.0859985351562
    assert inter[0]["valid_acc"] == run["halfway_validation_accuracy"] * 100
    assert inter[1]["test_acc"] == rows[0]["test_acc"]
    assert inter[0]["id"] == 2 * rows[0]["id"] and inter[1]["id"] == 2 * rows[0]["id"] + 1
    mean = list(query_nb101_trial_stats(INCEPTION, 108, reduction="mean", include_intermediates=True))[0]
    assert mean["intermediates"][0]["id"] is None
    assert mean["intermediates"][0]["training_time"] == pytest.approx(
        sum(r["halfway_training_time"] for r in stored_inception(nb101_real_cells)["runs"][108]) / 3)


def test_intermediates_cost_no_extra_query(nb101_env):
    list(query_nb101_trial_stats(None, None))  # open the handle first
    with count_statements() as statements:
        rows = list(query_nb101_trial_stats(None, None, include_intermediates=True))
    assert len(rows) == 102
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_source_filter(nb101_env):
    assert len(list(query_nb101_trial_stats(INCEPTION, 108, source=None))) == 3
    assert len(list(query_nb101_trial_stats(INCEPTION, 108, source="original"))) == 3
    assert len(list(query_nb101_trial_stats(INCEPTION, 108, source="trained"))) == 0
    assert len(list(query_nb101_trial_stats(INCEPTION, 108, source=1))) == 3


@pytest.mark.parametrize("kwargs,message", [
    ({"reduction": "max"}, "unsupported reduction 'max'"),
    ({"num_epochs": "108 epochs"}, "num_epochs must be an integer"),
    ({"num_epochs": 108.5}, "num_epochs must be a whole number"),
    ({"num_epochs": True}, "num_epochs must be an integer"),
    ({"isomorphism": "yes"}, "isomorphism must be True or False"),
    ({"isomorphism": "False"}, "'False' too, as True"),
    ({"include_intermediates": 1.0}, "include_intermediates must be True or False"),
])
def test_bad_arguments(nb101_env, kwargs, message):
    args = {"arch": INCEPTION, "num_epochs": 108, **kwargs}
    with pytest.raises(ValueError, match=message):
        query_nb101_trial_stats(**args)


def test_out_of_space_arch_raises_value_error(nb101_env):
    with pytest.raises(ValueError, match="disconnected"):
        query_nb101_trial_stats({"matrix": [[0, 0], [0, 0]], "ops": ["input", "output"]}, 108)
    with pytest.raises(ValueError, match="too many edges: got 10, max 9"):
        chain_plus_four = [[0, 1, 1, 1, 1, 1, 0]] + [[0] * (i + 2) + [1] + [0] * (4 - i) for i in range(5)] + [[0] * 7]
        query_nb101_trial_stats({"matrix": chain_plus_four, "ops": ["input"] + [C3] * 5 + ["output"]}, 108)


def test_not_installed_message(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(tmp_path / "empty"))
    with pytest.raises(BenchmarkNotInstalled, match="nasbench101.db .*nasbench-db convert nb101"):
        query_nb101_trial_stats(INCEPTION, 108)


def test_directory_read_at_call_time(nb101_sample_db, tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(tmp_path / "empty"))
    with pytest.raises(BenchmarkNotInstalled):
        query_nb101_trial_stats(INCEPTION, 108)
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nb101_sample_db))
    assert len(list(query_nb101_trial_stats(INCEPTION, 108))) == 3
    monkeypatch.setenv("NASBENCHMARK_DIR", "~/definitely-not-there-nasbench")
    with pytest.raises(BenchmarkNotInstalled, match="definitely-not-there"):
        query_nb101_trial_stats(INCEPTION, 108)


def test_swapped_database_is_seen(nb101_env, tmp_path):
    """A reader holding a handle sees a new database after a conversion swaps it in."""
    from nasbench_db.convert import tfrecord
    from nasbench_db.convert.nb101 import convert_nb101
    from nb101_fixture import real_cells, run_payload

    assert len(list(query_nb101_trial_stats(None, None))) == 102
    cell = next(c for c in real_cells() if c["hash"] == INCEPTION_HASH)
    path = tmp_path / "one.tfrecord"
    tfrecord.write_records(path, [run_payload(cell, 108, cell["runs"][108][0])])
    convert_nb101(path, nb101_env, progress=False)
    assert len(list(query_nb101_trial_stats(None, None))) == 1


def test_peewee_models_read_the_views(nb101_env):
    rows = (models.Nb101TrialStats.select(models.Nb101TrialStats, models.Nb101TrialConfig)
            .join(models.Nb101TrialConfig)
            .where((models.Nb101TrialConfig.hash == INCEPTION_HASH) & (models.Nb101TrialConfig.num_epochs == 108))
            .order_by(models.Nb101TrialStats.id))
    rows = list(rows)
    assert len(rows) == 3
    assert rows[0].config.arch == list(query_nb101_trial_stats(INCEPTION, 108))[0]["config"]["arch"]
    assert rows[0].parameters == 2.694282
    assert models.Nb101Arch.get(models.Nb101Arch.hash == INCEPTION_HASH).parameters == 2694282
    best = (models.Nb101TrialStats.select().order_by(models.Nb101TrialStats.test_acc.desc()).limit(1).get())
    assert best.test_acc == pytest.approx(93.26923, abs=1e-4)


# ----------------------------------------------------------------------------------------------------------------------
# NNI's prebuilt file, opened as it is

def _write_nni_layout(source_db, target):
    """An NNI-layout file (NNI's tables, JSON arch, x60 training_time) holding the same runs as our database."""
    src = sqlite3.connect(source_db)
    dst = sqlite3.connect(target)
    dst.executescript("""
        CREATE TABLE nb101trialconfig (id INTEGER PRIMARY KEY, arch JSON, num_vertices INTEGER, hash VARCHAR(64),
                                       num_epochs INTEGER);
        CREATE TABLE nb101trialstats (id INTEGER PRIMARY KEY, config_id INTEGER, train_acc REAL, valid_acc REAL,
                                      test_acc REAL, parameters REAL, training_time REAL);
        CREATE TABLE nb101intermediatestats (id INTEGER PRIMARY KEY, trial_id INTEGER, current_epoch INTEGER,
                                             train_acc REAL, valid_acc REAL, test_acc REAL, training_time REAL);
    """)
    config_ids = {}
    for cid, arch, nv, digest, epochs in src.execute("SELECT id, arch, num_vertices, hash, num_epochs "
                                                     "FROM nb101trialconfig ORDER BY id"):
        adjacency, _, operations = arch.partition("|")
        nni_arch = space.matrix_to_arch(space.adjacency_to_matrix(adjacency), operations.split(","))
        cursor = dst.execute("INSERT INTO nb101trialconfig (arch, num_vertices, hash, num_epochs) "
                             "VALUES (json(?), ?, ?, ?)", (json.dumps(nni_arch, sort_keys=True), nv, digest, epochs))
        config_ids[cid] = cursor.lastrowid
    trial_ids = {}
    for tid, cid, tr, va, te, params, ttime in src.execute("SELECT id, config_id, train_acc, valid_acc, test_acc, "
                                                           "parameters, training_time FROM nb101trialstats "
                                                           "ORDER BY id"):
        cursor = dst.execute("INSERT INTO nb101trialstats (config_id, train_acc, valid_acc, test_acc, parameters, "
                             "training_time) VALUES (?, ?, ?, ?, ?, ?)",
                             (config_ids[cid], tr, va, te, params, ttime * 60))
        trial_ids[tid] = cursor.lastrowid
    for trial_id, epoch, tr, va, te, ttime in src.execute("SELECT trial_id, current_epoch, train_acc, valid_acc, "
                                                          "test_acc, training_time FROM nb101intermediatestats "
                                                          "ORDER BY id"):
        dst.execute("INSERT INTO nb101intermediatestats (trial_id, current_epoch, train_acc, valid_acc, test_acc, "
                    "training_time) VALUES (?, ?, ?, ?, ?, ?)", (trial_ids[trial_id], epoch, tr, va, te, ttime))
    dst.commit()


@pytest.fixture
def nni_env(nb101_sample_db, tmp_path, monkeypatch):
    directory = tmp_path / "nni"
    directory.mkdir()
    _write_nni_layout(nb101_sample_db / "nasbench101.db", directory / "nasbench101-209f5694.db")
    monkeypatch.setenv("NASBENCHMARK_DIR", str(directory))
    return directory


def _strip_ids(rows):
    out = []
    for row in rows:
        row = dict(row, id=None, config=dict(row["config"], id=None))
        if "intermediates" in row:
            row["intermediates"] = [dict(i, id=None) for i in row["intermediates"]]
        out.append(row)
    return out


@pytest.mark.parametrize("kwargs", [
    {"arch": INCEPTION, "num_epochs": 108},
    {"arch": INCEPTION, "num_epochs": None, "include_intermediates": True},
    {"arch": None, "num_epochs": 108, "reduction": "mean", "include_intermediates": True},
    {"arch": None, "num_epochs": None, "include_intermediates": True},
])
def test_nni_layout_gives_the_same_answers(nb101_sample_db, nni_env, monkeypatch, kwargs):
    nni_rows = list(query_nb101_trial_stats(**kwargs))
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nb101_sample_db))
    ours = list(query_nb101_trial_stats(**kwargs))
    assert len(ours) == len(nni_rows) > 0
    for a, b in zip(_strip_ids(nni_rows), _strip_ids(ours)):
        assert a["config"] == b["config"]
        # NNI's file stores training_time x 60; reading divides it back to real seconds.
        for key in ("train_acc", "valid_acc", "test_acc", "parameters", "training_time"):
            assert a[key] == pytest.approx(b[key], rel=1e-12)
        if "intermediates" in a:
            assert len(a["intermediates"]) == len(b["intermediates"]) == 2
            for ia, ib in zip(a["intermediates"], b["intermediates"]):
                assert ia["current_epoch"] == ib["current_epoch"]
                assert ia["training_time"] == pytest.approx(ib["training_time"], rel=1e-12)


def test_nni_layout_intermediates_in_two_statements(nni_env):
    list(query_nb101_trial_stats(None, None))
    with count_statements() as statements:
        rows = list(query_nb101_trial_stats(None, None, include_intermediates=True))
    assert len(rows) == 102 and all(len(r["intermediates"]) == 2 for r in rows)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2


def test_nni_layout_exact_arch(nni_env, nb101_real_cells):
    cell = stored_inception(nb101_real_cells)
    stored = {"matrix": [list(r) for r in space.adjacency_to_matrix(cell["adjacency"])],
              "ops": cell["operations"].split(",")}
    assert len(list(query_nb101_trial_stats(stored, 108, isomorphism=False))) == 3
    assert list(query_nb101_trial_stats(INCEPTION, 108, isomorphism=False)) == []


def test_ours_preferred_over_nni_file(nni_env, nb101_sample_db):
    shutil.copy(nb101_sample_db / "nasbench101.db", nni_env / "nasbench101.db")
    assert _db.locate("nb101").kind == "sqlite"


# ----------------------------------------------------------------------------------------------------------------------
# Property: any input gives results or a ValueError, nothing else

op_names = st.sampled_from([C3, C1, MP, "input", "output", "conv5x5", 3, None])
matrices = st.integers(min_value=0, max_value=9).flatmap(
    lambda n: st.lists(st.lists(st.sampled_from([0, 1, 1, 2, 0.0, True, "1", None]), min_size=n, max_size=n),
                       min_size=n, max_size=n))
archs = st.one_of(
    st.none(),
    st.builds(lambda m, o: {"matrix": m, "ops": o}, matrices, st.lists(op_names, max_size=9)),
    st.dictionaries(st.sampled_from(["op1", "op2", "op3", "input1", "input2", "input3", "input4", "x"]),
                    st.one_of(op_names, st.lists(st.integers(-1, 5), max_size=4)), max_size=8),
    st.integers(), st.text(max_size=5),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arch=archs, num_epochs=st.one_of(st.none(), st.sampled_from([4, 12, 36, 108, 0, -1]), st.text(max_size=2)),
       isomorphism=st.one_of(st.booleans(), st.integers(0, 1)),
       reduction=st.sampled_from([None, "none", "mean", "max", 1]),
       include_intermediates=st.booleans())
def test_any_input_returns_or_raises_value_error(nb101_env, arch, num_epochs, isomorphism, reduction,
                                                 include_intermediates):
    try:
        rows = list(query_nb101_trial_stats(arch, num_epochs, isomorphism, reduction, include_intermediates))
    except ValueError as exc:
        assert str(exc)
    else:
        assert all(isinstance(r, dict) and "config" in r for r in rows)


def test_wildcard_plans_follow_the_id_ranges(nb101_env):
    """No automatic index on num_epochs: it would make `query(None, 108)` quadratic on the full file."""
    from nasbench_db.query import nb101 as query_module

    conn = sqlite3.connect(nb101_env / "nasbench101.db")
    for key in (None, query_module.resolve_arch(INCEPTION)):
        where, params = query_module._where_ours(key, 108, True, "original")
        sql = "SELECT t.id" + query_module._FROM_OURS + "WHERE " + where
        plan = " | ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert "AUTOMATIC" not in plan and "SCAN t" not in plan and "SCAN c" not in plan, plan
