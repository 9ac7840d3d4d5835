"""NDS: space mapping, the streaming converter (directory and data.zip), the NNI-compatible query and the CLI.

Fixtures are synthetic sweep files in the exact format of ``nds_data/*.json`` (see tests/nds_fixture.py); every
converted value is checked against the job it came from. NNI's own layout is rebuilt here with peewee the way NNI's
``db_gen`` does it (``get_or_create`` per job, ``json()``-wrapped JSON columns, rowid intermediates) so the query can
be checked on it too.
"""

from __future__ import annotations

import io
import json
import math
import sqlite3
import zipfile
from functools import partial
from pathlib import Path

import peewee
import pytest
from click.testing import CliRunner

import nds_fixture as fixture
from nasbench_db import db as _db
from nasbench_db.cli import cli
from nasbench_db.convert.nds import JsonStreamReader, convert_nds
from nasbench_db.errors import CorruptInput, NasbenchDbError
from nasbench_db.models import NdsIntermediateStats, NdsTrialConfig, NdsTrialStats
from nasbench_db.query import query_nds_trial_stats
from nasbench_db.spaces import nds as space
from conftest import count_statements, selects

CIFAR_EPOCHS = 8
IMAGENET_EPOCHS = 5
COUNTS = {name: 3 for name in fixture.SWEEPS}
COUNTS.update({"ResNet": 4, "Vanilla": 4, "ResNet_reruns": 2, "Vanilla_reruns": 2})


@pytest.fixture(scope="module")
def sweeps():
    return fixture.build_sweeps(COUNTS, seed=7, epochs_cifar=CIFAR_EPOCHS, epochs_imagenet=IMAGENET_EPOCHS,
                                nan_every=2)


@pytest.fixture(scope="module")
def nds_inputs(sweeps, tmp_path_factory):
    """The fixture written as an ``nds_data/`` directory and as ``data.zip``."""
    root = tmp_path_factory.mktemp("nds_inputs")
    directory = fixture.write_dir(root / "nds_data", sweeps)
    archive = fixture.write_zip(root / "data.zip", sweeps)
    return directory, archive


@pytest.fixture(scope="module")
def nds_db(nds_inputs, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("nds_db")
    convert_nds(nds_inputs[0], directory, progress=False)
    return directory


@pytest.fixture
def nds_env(nds_db, monkeypatch):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nds_db))
    return nds_db


def jobs_in_order(sweeps):
    """``(sweep, group, index, job)`` in NNI's processing order."""
    for name in space.SWEEPS:
        if name not in sweeps:
            continue
        content = sweeps[name]
        if isinstance(content, dict):
            for group in space.RERUN_GROUPS:
                for index, job in enumerate(content[group]):
                    yield name, group, index, job
        else:
            for index, job in enumerate(content):
                yield name, None, index, job


def rows(path: Path, sql: str, params=()):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def nan_to_none(value):
    return None if isinstance(value, float) and math.isnan(value) else value


# ----------------------------------------------------------------------------------------------------------------------
# Space


def test_sweep_names_map_as_nni_does():
    assert len(space.SWEEPS) == 34 and len(set(space.SWEEPS)) == 34
    assert space.SWEEPS == fixture.SWEEPS
    expected = {
        "Amoeba": ("amoeba", "random", "cifar10"),
        "Amoeba_in": ("amoeba", "random", "imagenet"),
        "DARTS_fix-w-d": ("darts", "fix_w_d", "cifar10"),
        "DARTS_lr-wd_in": ("darts", "tune_lr_wd", "imagenet"),
        "ResNeXt-A_in": ("resnext-a", "random", "imagenet"),
        "ResNeXt-B": ("resnext-b", "random", "cifar10"),
        "ResNet-B": ("resnet-b", "random", "cifar10"),
        "ResNet_reruns": ("resnet", "random", "cifar10"),
        "ResNet_rng3": ("resnet", "random", "cifar10"),
        "Vanilla_lr-wd": ("vanilla", "tune_lr_wd", "cifar10"),
        "Vanilla_lr-wd_in": ("vanilla", "tune_lr_wd", "imagenet"),
    }
    for name, triple in expected.items():
        info = space.sweep_info(name + ".json")
        assert (info.proposer, info.generator, info.dataset) == triple, name
    for name in space.SWEEPS:
        info = space.sweep_info(name)
        assert info.proposer in space.PROPOSERS
        assert info.generator in space.GENERATORS
        assert info.dataset in space.DATASETS
    with pytest.raises(ValueError, match="unknown NDS sweep"):
        space.sweep_info("ResNet_rng4.json")


def test_flatten_genotype_names_every_node():
    genotype = {
        "normal": [["sep_conv_3x3", 0], ["skip_connect", 1], ["max_pool_3x3", 2], ["none", 0]],
        "normal_concat": [3],
        "reduce": [["avg_pool_3x3", 0], ["conv_1x1", 1], ["sep_conv_5x5", 2], ["skip_connect", 3],
                   ["dil_conv_3x3", 1], ["conv_7x1_1x7", 4]],
        "reduce_concat": [2, 4],
    }
    spec = space.flatten_genotype(genotype)
    assert spec == {
        "normal_0_op_x": "sep_conv_3x3", "normal_0_input_x": 0, "normal_0_op_y": "skip_connect",
        "normal_0_input_y": 1, "normal_1_op_x": "max_pool_3x3", "normal_1_input_x": 2, "normal_1_op_y": "none",
        "normal_1_input_y": 0, "normal_concat": [3],
        "reduce_0_op_x": "avg_pool_3x3", "reduce_0_input_x": 0, "reduce_0_op_y": "conv_1x1", "reduce_0_input_y": 1,
        "reduce_1_op_x": "sep_conv_5x5", "reduce_1_input_x": 2, "reduce_1_op_y": "skip_connect",
        "reduce_1_input_y": 3,
        # NNI's loop (range(num_nodes_normal) for both cells) would drop this third reduce node.
        "reduce_2_op_x": "dil_conv_3x3", "reduce_2_input_x": 1, "reduce_2_op_y": "conv_7x1_1x7",
        "reduce_2_input_y": 4, "reduce_concat": [2, 4],
    }
    assert space.unflatten_cell_spec(spec) == genotype
    family, model_spec, cell_spec = space.specs_of_net(
        {"genotype": genotype, "width": 16, "depth": 8, "aux": False, "drop_prob": 0.0, "extra": 1})
    assert family == "nas_cell" and cell_spec == spec
    assert model_spec == {"num_nodes_normal": 2, "num_nodes_reduce": 3, "depth": 8, "width": 16, "aux": False,
                          "drop_prob": 0.0}
    with pytest.raises(ValueError, match="two per node"):
        space.flatten_genotype(dict(genotype, normal=genotype["normal"][:3]))


def test_anynet_specs_drop_falsy_values_like_nni():
    family, model_spec, cell_spec = space.specs_of_net(
        {"block_type": "res_basic_block", "ds": [1, 2], "ws": [16, 32], "ss": [1, 2], "bot_muls": None,
         "num_gs": []})
    assert (family, model_spec, cell_spec) == ("residual_basic", {"ds": [1, 2], "ws": [16, 32], "ss": [1, 2]}, {})
    family, model_spec, _ = space.specs_of_net(
        {"block_type": "res_bottleneck_block", "ds": [1], "ws": [16], "ss": [1], "bot_muls": [0.0],
         "num_gs": [1]})
    assert family == "residual_bottleneck" and model_spec["bot_muls"] == [0.0]  # a list holding 0.0 is truthy
    assert space.specs_of_net({"block_type": "double_plain_block", "ds": [1]})[0] == "vanilla"
    with pytest.raises(ValueError, match="unrecognized block_type"):
        space.specs_of_net({"block_type": "mbconv", "ds": [1]})


def test_canonical_json_matches_sqlite_json_of_sorted_dumps():
    value = {"ws": [16, 24], "bot_muls": [0.0, 0.25], "aux": False, "drop_prob": 1e-05, "b": None}
    conn = sqlite3.connect(":memory:")
    stored = conn.execute("SELECT json(?)", (json.dumps(value, sort_keys=True),)).fetchone()[0]
    assert space.canonical_json(value) == stored
    assert space.canonical_json(dict(reversed(list(value.items())))) == stored


# ----------------------------------------------------------------------------------------------------------------------
# Streaming reader


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_stream_reader_matches_json_loads_at_any_chunk_size(sweeps, chunk):
    for name in ("DARTS", "ResNet_reruns"):
        text = fixture.dump(sweeps[name]) + "\n"
        reader = JsonStreamReader(io.BytesIO(text.encode()), name, chunk=chunk)
        got = list(reader.jobs())
        loaded = json.loads(text)
        if isinstance(loaded, dict):
            expected = [(g, i, j) for g in ("top", "mid") for i, j in enumerate(loaded[g])]
        else:
            expected = [(None, i, j) for i, j in enumerate(loaded)]
        assert json.dumps(got) == json.dumps(expected)


def test_stream_reader_handles_multibyte_text_split_across_chunks():
    text = '[{"a": "\u00e9\u00e9\u00e9\u6f22", "b": [1, 2.5, NaN]}, {"c": -1e-05}]'
    for chunk in (1, 2, 3, 5):
        got = list(JsonStreamReader(io.BytesIO(text.encode()), "x.json", chunk=chunk).jobs())
        assert got[0][2]["a"] == "\u00e9\u00e9\u00e9\u6f22" and math.isnan(got[0][2]["b"][2])
        assert got[1][2] == {"c": -1e-05}


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("   \n", "the file is empty"),
    ('[{"a": 1}, {"a": ]', "malformed JSON"),
    ('[{"a": 1}, {"a": 2}', "unexpected end of file"),
    ('[{"a": 1} {"a": 2}]', "expected ',' or ']'"),
    ('[1, 2]', "not an object"),
    ('{"top": [], "bottom": []}', "unexpected key 'bottom'"),
    ('{"top": []}', "without 'mid'"),
    ('[] []', "extra data"),
    ('"nds"', "not a sweep file"),
])
def test_stream_reader_errors_name_the_problem(text, message):
    with pytest.raises(CorruptInput, match=message) as info:
        list(JsonStreamReader(io.BytesIO(text.encode()), "Sweep.json", chunk=4).jobs())
    assert str(info.value).startswith("Sweep.json")


# ----------------------------------------------------------------------------------------------------------------------
# Converter: values


def test_directory_conversion_matches_every_job(sweeps, nds_db):
    path = nds_db / "nds.db"
    configs = {r[0]: r[1:] for r in rows(path, "SELECT id, model_family, model_spec, cell_spec, dataset, generator, "
                                                "proposer, base_lr, weight_decay, num_epochs FROM ndstrialconfig")}
    trials = rows(path, "SELECT t.id, t.config_id, t.seed, t.final_train_acc, t.final_train_loss, t.final_test_acc, "
                        "t.best_train_acc, t.best_train_loss, t.best_test_acc, t.parameters, t.flops, t.iter_time, "
                        "o.sweep, o.rerun_group, o.job_index, o.job_id "
                        "FROM ndstrialstats t JOIN nds_trial_origin o ON o.trial_id = t.id ORDER BY t.id")
    epochs = {}
    for row in rows(path, "SELECT trial_id, id, current_epoch, train_loss, train_acc, test_acc "
                          "FROM ndsintermediatestats ORDER BY trial_id, current_epoch"):
        epochs.setdefault(row[0], []).append(row[1:])
    expected_jobs = list(jobs_in_order(sweeps))
    assert len(trials) == len(expected_jobs) == sum(COUNTS.values()) + 2 + 2
    families = set()
    next_epoch_id = 1
    for trial, (name, group, index, job) in zip(trials, expected_jobs):
        (trial_id, config_id, seed, final_train_acc, final_train_loss, final_test_acc, best_train_acc,
         best_train_loss, best_test_acc, parameters, flops, iter_time, sweep, rerun_group, job_index, job_id) = trial
        assert (sweep, rerun_group, job_index, job_id) == (name, group, index, str(job["job_id"]))
        info = space.sweep_info(name)
        family, model_spec, cell_spec, dataset, generator, proposer, base_lr, wd, num_epochs = configs[config_id]
        families.add(family)
        assert (dataset, generator, proposer) == (info.dataset, info.generator, info.proposer)
        assert (json.loads(model_spec), json.loads(cell_spec)) == space.specs_of_net(job["net"])[1:]
        assert (base_lr, wd, num_epochs) == (job["optim"]["base_lr"], job["optim"]["wd"], job["optim"]["max_ep"])
        assert num_epochs == (IMAGENET_EPOCHS if info.dataset == "imagenet" else CIFAR_EPOCHS)
        train_err, test_err, loss = job["train_ep_top1"], job["test_ep_top1"], job["train_ep_loss"]
        assert seed == job["rng_seed"]
        assert final_train_acc == 100 - train_err[-1]
        assert final_test_acc == 100 - test_err[-1]
        assert final_train_loss == nan_to_none(loss[-1])
        assert best_train_acc == 100 - min(train_err)
        assert best_test_acc == 100 - min(test_err)
        assert best_train_loss == min(v for v in loss if not math.isnan(v))
        assert parameters == job["params"] / 1e6 and flops == job["flops"] / 1e6
        assert iter_time == job["iter_time"]
        curve = epochs[trial_id]
        assert [c[1] for c in curve] == list(range(1, num_epochs + 1))
        assert [c[0] for c in curve] == list(range(next_epoch_id, next_epoch_id + num_epochs))
        next_epoch_id += num_epochs
        assert [c[2] for c in curve] == [nan_to_none(v) for v in loss]
        assert [c[3] for c in curve] == [100 - v for v in train_err]
        assert [c[4] for c in curve] == [100 - v for v in test_err]
    assert families == set(space.MODEL_FAMILIES)
    # The fixture put NaN losses in; they are NULL, and best_train_loss ignored them.
    assert rows(path, "SELECT COUNT(*) FROM ndsintermediatestats WHERE train_loss IS NULL")[0][0] > 0


def test_configs_dedupe_across_files_like_get_or_create(sweeps, nds_db):
    keys = {}
    for name, _, _, job in jobs_in_order(sweeps):
        info = space.sweep_info(name)
        family, model_spec, cell_spec = space.specs_of_net(job["net"])
        key = (family, space.canonical_json(model_spec), space.canonical_json(cell_spec), info.proposer,
               job["optim"]["base_lr"], job["optim"]["wd"], job["optim"]["max_ep"], info.dataset, info.generator)
        keys.setdefault(key, len(keys) + 1)
    path = nds_db / "nds.db"
    assert rows(path, "SELECT COUNT(*) FROM ndstrialconfig")[0][0] == len(keys)
    # Every rng/reruns trial shares its config with the plain ResNet/Vanilla run of the same net.
    shared = rows(path, "SELECT o.sweep, COUNT(*) FROM nds_trial_origin o JOIN ndstrialstats t ON t.id = o.trial_id "
                        "WHERE t.config_id IN (SELECT t2.config_id FROM ndstrialstats t2 JOIN nds_trial_origin o2 "
                        "ON o2.trial_id = t2.id WHERE o2.sweep IN ('ResNet', 'Vanilla')) GROUP BY o.sweep")
    shared = dict(shared)
    for name in ("ResNet_rng1", "ResNet_rng2", "ResNet_rng3", "ResNet_reruns", "Vanilla_rng1", "Vanilla_reruns"):
        assert shared[name] == (2 * COUNTS[name] if name.endswith("reruns") else COUNTS[name])
    groups = rows(path, "SELECT rerun_group, COUNT(*) FROM nds_trial_origin WHERE sweep = 'ResNet_reruns' "
                        "GROUP BY rerun_group ORDER BY rerun_group")
    assert groups == [("mid", 2), ("top", 2)]


def test_zip_conversion_equals_directory_conversion(nds_inputs, nds_db, tmp_path):
    report = convert_nds(nds_inputs[1], tmp_path, progress=False)
    assert sorted(report.sweeps) == sorted(space.SWEEPS) and not report.missing
    assert report.sha256 and len(report.sha256) == 64
    for table in ("ndstrialconfig", "ndstrialstats", "ndsintermediatestats"):
        sql = f"SELECT * FROM {table} ORDER BY 1, 2, 3"
        assert rows(tmp_path / "nds.db", sql) == rows(nds_db / "nds.db", sql), table
    source = rows(tmp_path / "nds.db", "SELECT benchmark, kind, file_name, sha256, row_counts, details "
                                       "FROM nasbench_source")
    benchmark, kind, file_name, sha256, row_counts, details = source[0]
    assert (benchmark, kind, file_name, sha256) == ("nds", "original", "data.zip", report.sha256)
    assert json.loads(row_counts)["ndstrialstats"] == report.trials
    assert json.loads(details)["sweeps"]["ResNet"]["jobs"] == COUNTS["ResNet"]


def test_parent_directory_and_single_sweep_file(nds_inputs, tmp_path):
    directory = nds_inputs[0]
    report = convert_nds(directory.parent, tmp_path / "a", progress=False)  # the parent of nds_data/
    assert len(report.sweeps) == 34
    report = convert_nds(directory / "ENAS_in.json", tmp_path / "b", progress=False)
    assert list(report.sweeps) == ["ENAS_in"] and len(report.missing) == 33
    assert rows(tmp_path / "b" / "nds.db", "SELECT DISTINCT dataset, proposer FROM ndstrialconfig") == [
        ("imagenet", "enas")]


def test_partial_directory_converts_what_is_present(sweeps, tmp_path):
    partial = {name: sweeps[name] for name in ("ResNet", "ResNet_rng1", "Vanilla_reruns_missing_base")
               if name in sweeps}
    directory = fixture.write_dir(tmp_path / "nds_data", partial)
    (directory / "notes.json").write_text("[]")
    report = convert_nds(directory, tmp_path / "db", progress=False)
    assert list(report.sweeps) == ["ResNet", "ResNet_rng1"]
    assert len(report.missing) == 32 and "Amoeba" in report.missing and "ResNet" not in report.missing
    assert report.ignored == ["notes.json"]
    assert "missing (32): Amoeba.json" in report.summary()
    assert report.trials == COUNTS["ResNet"] + COUNTS["ResNet_rng1"]
    assert report.configs == COUNTS["ResNet"]  # the rng1 runs retrain the same nets


def test_reduce_cell_longer_than_normal_keeps_every_node(tmp_path):
    net = {"genotype": {"normal": [["skip_connect", 0], ["sep_conv_3x3", 1]], "normal_concat": [2],
                        "reduce": [["max_pool_3x3", 0], ["skip_connect", 1], ["sep_conv_5x5", 2],
                                   ["avg_pool_3x3", 0]],
                        "reduce_concat": [3]},
           "width": 16, "depth": 4, "aux": False, "drop_prob": 0.0}
    job = fixture.make_job(__import__("random").Random(1), 5, net, False, False, 3)
    fixture.write_dir(tmp_path / "nds_data", {"PNAS": [job]})
    convert_nds(tmp_path / "nds_data", tmp_path / "db", progress=False)
    stored = json.loads(rows(tmp_path / "db" / "nds.db", "SELECT cell_spec FROM ndstrialconfig")[0][0])
    assert stored["reduce_1_op_y"] == "avg_pool_3x3" and stored["reduce_1_input_x"] == 2


# ----------------------------------------------------------------------------------------------------------------------
# Converter: bad input


def _cli(*args, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def test_wrong_files_fail_with_clear_errors(sweeps, tmp_path):
    from nasbench_db.convert.tfrecord import encode_record

    tfrecord = tmp_path / "nasbench_only108.tfrecord"
    tfrecord.write_bytes(encode_record(b'["00005c142e6f48ac74fdcf73e3439874", 108, "0", "input", ""]'))
    empty = tmp_path / "data.zip"
    empty.write_bytes(b"")
    no_nds = tmp_path / "other.zip"
    with zipfile.ZipFile(no_nds, "w") as archive:
        archive.writestr("nasbench/readme.txt", "hello")
        archive.writestr("nasbench/results.json", "[]")
    bad_json = tmp_path / "bad" / "nds_data"
    fixture.write_dir(bad_json, {"Amoeba": sweeps["Amoeba"]})
    (bad_json / "DARTS.json").write_text('[{"net": {"genotype": ')
    empty_member = tmp_path / "emptymember.zip"
    with zipfile.ZipFile(empty_member, "w") as archive:
        archive.writestr("nds_data/ENAS.json", "")
    short = dict(sweeps["ENAS"][0], test_ep_top1=sweeps["ENAS"][0]["test_ep_top1"][:-1])
    short_dir = fixture.write_dir(tmp_path / "short" / "nds_data", {"ENAS": [sweeps["ENAS"][1], short]})
    no_seed = {k: v for k, v in sweeps["NASNet"][0].items() if k != "rng_seed"}
    no_seed_dir = fixture.write_dir(tmp_path / "noseed" / "nds_data", {"NASNet": [no_seed]})
    bad_block = dict(sweeps["ResNet"][0], net={"block_type": "mbconv", "ds": [1]})
    bad_block_dir = fixture.write_dir(tmp_path / "block" / "nds_data", {"ResNet": [bad_block]})
    cases = [
        (tfrecord, f"{tfrecord}: not a zip archive: expected NDS's data.zip"),
        (empty, f"{empty}: the file is empty"),
        (no_nds, f"{no_nds}: no NDS sweep files in the archive"),
        (bad_json.parent, f"{bad_json / 'DARTS.json'}, record 0: unexpected end of file"),
        (empty_member, f"{empty_member}:nds_data/ENAS.json: the file is empty"),
        (short_dir, f"{short_dir / 'ENAS.json'}, record 1: 'test_ep_top1' has 7 epochs but optim.max_ep is 8"),
        (no_seed_dir, f"{no_seed_dir / 'NASNet.json'}, record 0: missing 'rng_seed'"),
        (bad_block_dir, "record 0: bad 'net': unrecognized block_type 'mbconv'"),
        (tmp_path / "nowhere", "no such file or directory"),
    ]
    for path, message in cases:
        with pytest.raises(NasbenchDbError) as info:
            convert_nds(path, tmp_path / "db", progress=False)
        assert message in str(info.value), (path, str(info.value))
        result = _cli("convert", "nds", str(path), "--db-dir", str(tmp_path / "db"))
        assert result.exit_code == 1 and result.output.startswith("Error: ") and message in result.output
    assert not (tmp_path / "db" / "nds.db").exists()
    assert not list((tmp_path / "db").glob(".nds.db.building-*"))


def test_null_and_non_numbers_in_epoch_lists(sweeps, tmp_path):
    job = json.loads(json.dumps(sweeps["ENAS"][0]))
    job["train_ep_loss"][0] = None
    job["train_ep_top1"][1] = None
    fixture.write_dir(tmp_path / "ok" / "nds_data", {"ENAS": [job]})
    convert_nds(tmp_path / "ok" / "nds_data", tmp_path / "ok", progress=False)
    curve = rows(tmp_path / "ok" / "nds.db", "SELECT train_loss, train_acc FROM ndsintermediatestats "
                                             "ORDER BY current_epoch")
    assert curve[0][0] is None and curve[1][1] is None
    assert curve[2] == (job["train_ep_loss"][2], 100 - job["train_ep_top1"][2])
    best = rows(tmp_path / "ok" / "nds.db", "SELECT best_train_acc FROM ndstrialstats")[0][0]
    assert best == 100 - min(v for v in job["train_ep_top1"] if v is not None)
    job["test_ep_top1"][3] = "9.5"
    fixture.write_dir(tmp_path / "bad" / "nds_data", {"ENAS": [job]})
    with pytest.raises(CorruptInput, match=r"ENAS.json, record 0: 'test_ep_top1' holds a non-number '9.5'"):
        convert_nds(tmp_path / "bad" / "nds_data", tmp_path / "bad", progress=False)


def test_failed_conversion_leaves_the_existing_database(nds_inputs, tmp_path, sweeps):
    convert_nds(nds_inputs[1], tmp_path, progress=False)
    before = rows(tmp_path / "nds.db", "SELECT COUNT(*) FROM ndstrialstats")
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("nds_data/Amoeba.json", fixture.dump(sweeps["Amoeba"]))
        archive.writestr("nds_data/DARTS.json", fixture.dump(sweeps["DARTS"])[:-40])
    with pytest.raises(CorruptInput, match="DARTS.json"):
        convert_nds(broken, tmp_path, progress=False)
    assert rows(tmp_path / "nds.db", "SELECT COUNT(*) FROM ndstrialstats") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.zip", "nds.db"]


# ----------------------------------------------------------------------------------------------------------------------
# Query


def _first_config(path, family):
    return rows(path, "SELECT model_spec, cell_spec, proposer FROM ndstrialconfig WHERE model_family = ? "
                      "ORDER BY id LIMIT 1", (family,))[0]


def test_query_semantics(nds_env, sweeps):
    path = nds_env / "nds.db"
    everything = list(query_nds_trial_stats(None, None, None, None, None, None))
    assert len(everything) == len(list(jobs_in_order(sweeps)))
    assert [r["id"] for r in everything] == sorted(r["id"] for r in everything)
    first = everything[0]
    assert list(first) == ["id", "config", "seed", "final_train_acc", "final_train_loss", "final_test_acc",
                           "best_train_acc", "best_train_loss", "best_test_acc", "parameters", "flops", "iter_time"]
    assert list(first["config"]) == ["id", "model_family", "model_spec", "cell_spec", "dataset", "generator",
                                     "proposer", "base_lr", "weight_decay", "num_epochs"]
    assert first["config"]["proposer"] == "amoeba" and first["config"]["model_family"] == "nas_cell"
    amoeba_job = sweeps["Amoeba"][0]
    assert first["final_test_acc"] == 100 - amoeba_job["test_ep_top1"][-1]
    assert first["config"]["cell_spec"] == space.flatten_genotype(amoeba_job["net"]["genotype"])

    by_family = {f: list(query_nds_trial_stats(f, None, None, None, None, None)) for f in space.MODEL_FAMILIES}
    assert sum(len(v) for v in by_family.values()) == len(everything)
    assert all(r["config"]["model_family"] == f for f, v in by_family.items() for r in v)
    imagenet = list(query_nds_trial_stats(None, None, None, None, None, "ImageNet"))
    assert len(imagenet) == sum(COUNTS[n] for n in space.SWEEPS if "_in" in n)
    assert {r["config"]["num_epochs"] for r in imagenet} == {IMAGENET_EPOCHS}
    assert len(list(query_nds_trial_stats(None, None, None, None, None, None, num_epochs=IMAGENET_EPOCHS))) == \
        len(imagenet)
    tuned = list(query_nds_trial_stats(None, "DARTS", "tune_lr_wd", None, None, None))
    assert len(tuned) == COUNTS["DARTS_lr-wd"] + COUNTS["DARTS_lr-wd_in"]
    non_cell = list(query_nds_trial_stats(None, None, None, None, {}, None))
    assert len(non_cell) == len(everything) - len(by_family["nas_cell"])

    # model_spec / cell_spec: equality whatever the key order.
    model_spec, cell_spec, proposer = _first_config(path, "nas_cell")
    spec = json.loads(model_spec)
    cell = json.loads(cell_spec)
    reordered = dict(reversed(list(cell.items())))
    hits = list(query_nds_trial_stats("nas_cell", proposer, None, dict(reversed(list(spec.items()))), reordered,
                                      "cifar10"))
    assert hits and all(h["config"]["cell_spec"] == cell for h in hits)
    model_spec, _, _ = _first_config(path, "residual_basic")
    resnet = list(query_nds_trial_stats("residual_basic", "resnet", "random", json.loads(model_spec), {},
                                        "cifar10"))
    # The plain run and its rng1..3 / reruns retrainings share one config.
    assert len(resnet) >= 4 and len({r["config"]["id"] for r in resnet}) == 1
    assert sorted(r["seed"] for r in resnet) == [1, 2, 3, 4, 5]
    assert list(query_nds_trial_stats("vanilla", None, None, json.loads(model_spec), None, None)) == []

    with pytest.raises(TypeError):
        query_nds_trial_stats(None, None, None)  # the first six are required, as in NNI
    with pytest.raises(ValueError, match="unsupported reduction"):
        query_nds_trial_stats(None, None, None, None, None, None, reduction="max")
    with pytest.raises(ValueError, match="unknown model_family 'cell'"):
        query_nds_trial_stats("cell", None, None, None, None, None)
    with pytest.raises(ValueError, match="unknown dataset"):
        query_nds_trial_stats(None, None, None, None, None, "cifar100")
    with pytest.raises(ValueError, match="model_spec must be a dict"):
        query_nds_trial_stats(None, None, None, "ds=1", None, None)
    with pytest.raises(ValueError, match="num_epochs must be an integer"):
        query_nds_trial_stats(None, None, None, None, None, None, num_epochs="100 epochs")
    # What NNI accepts (SQLite compares 100 = '100' = 100.0) is accepted and means the same
    same = list(query_nds_trial_stats(None, "resnet", None, None, None, None, num_epochs=CIFAR_EPOCHS))
    assert same
    for lenient in (str(CIFAR_EPOCHS), float(CIFAR_EPOCHS), f" {CIFAR_EPOCHS} "):
        assert list(query_nds_trial_stats(None, "resnet", None, None, None, None, num_epochs=lenient)) == same


def test_mean_reduction_groups_by_config(nds_env):
    trials = list(query_nds_trial_stats(None, "resnet", None, None, None, None, include_intermediates=True))
    means = list(query_nds_trial_stats(None, "resnet", None, None, None, None, reduction="mean",
                                       include_intermediates=True))
    by_config = {}
    for t in trials:
        by_config.setdefault(t["config"]["id"], []).append(t)
    assert [m["config"]["id"] for m in means] == sorted(by_config)
    for m in means:
        group = by_config[m["config"]["id"]]
        assert m["id"] is None and m["seed"] is None and m["config"] == group[0]["config"]
        for key in ("final_test_acc", "best_train_acc", "parameters", "iter_time"):
            assert m[key] == pytest.approx(sum(t[key] for t in group) / len(group))
        losses = [t["best_train_loss"] for t in group if t["best_train_loss"] is not None]
        assert m["best_train_loss"] == pytest.approx(sum(losses) / len(losses))
        assert [i["current_epoch"] for i in m["intermediates"]] == list(range(1, m["config"]["num_epochs"] + 1))
        for epoch in (0, -1):
            expected = sum(t["intermediates"][epoch]["test_acc"] for t in group) / len(group)
            assert m["intermediates"][epoch]["test_acc"] == pytest.approx(expected)
            assert m["intermediates"][epoch]["id"] is None
    assert len(means) < len(trials)  # the rng / reruns trials were averaged into their configs


def test_intermediates_take_at_most_two_statements(nds_env):
    with count_statements("nds") as statements:
        results = list(query_nds_trial_stats(None, None, None, None, None, None, include_intermediates=True))
        assert len(results) > 100 and all(len(r["intermediates"]) == r["config"]["num_epochs"] for r in results)
        assert selects(statements) == 2
        statements.clear()
        means = list(query_nds_trial_stats("nas_cell", None, None, None, None, None, reduction="mean",
                                           include_intermediates=True))
        assert means and selects(statements) == 2
        statements.clear()
        list(query_nds_trial_stats(None, None, None, None, None, None))
        assert selects(statements) == 1
    ids = [i["id"] for r in results for i in r["intermediates"]]
    assert ids == list(range(1, len(ids) + 1))


def test_models_read_our_tables(nds_env):
    from nasbench_db.models import DATABASES, NdsTrialOrigin, Source

    # Binding the shared provenance model elsewhere (converters do) must not drag the NDS models along.
    with peewee.SqliteDatabase(":memory:").bind_ctx([Source]):
        pass
    for model in (NdsTrialConfig, NdsTrialStats, NdsIntermediateStats, NdsTrialOrigin):
        assert model._meta.database is DATABASES["nds"], model
    config = NdsTrialConfig.select().where(NdsTrialConfig.model_family == "residual_bottleneck").first()
    assert isinstance(config.model_spec, dict) and config.cell_spec == {}
    same = NdsTrialConfig.select().where(NdsTrialConfig.model_spec == dict(reversed(list(config.model_spec.items()))))
    assert config.id in [c.id for c in same]
    trial = config.trial_stats.first()
    assert [i.current_epoch for i in trial.intermediates.order_by(NdsIntermediateStats.current_epoch)] == \
        list(range(1, config.num_epochs + 1))
    assert trial.origin.get().sweep in ("ResNeXt-A", "ResNeXt-A_in", "ResNeXt-B", "ResNeXt-B_in", "ResNet-B")
    assert NdsTrialStats.select().where(NdsTrialStats.best_test_acc > 100).count() == 0


# ----------------------------------------------------------------------------------------------------------------------
# NNI's prebuilt layout, rebuilt the way NNI's db_gen writes it


def build_nni_layout(path: Path, sweeps: dict) -> None:
    """Write ``sweeps`` into NNI's schema with NNI's mapping (peewee models declared as NNI's, get_or_create per
    job, the reduce loop over num_nodes_normal, one insert_many of intermediates per trial)."""
    from playhouse.sqlite_ext import JSONField

    database = peewee.SqliteDatabase(str(path))
    dumps = partial(json.dumps, sort_keys=True)

    class Config(peewee.Model):
        model_family = peewee.CharField(max_length=20, index=True)
        model_spec = JSONField(json_dumps=dumps, index=True)
        cell_spec = JSONField(json_dumps=dumps, index=True, null=True)
        dataset = peewee.CharField(max_length=15, index=True)
        generator = peewee.CharField(max_length=15, index=True)
        proposer = peewee.CharField(max_length=15, index=True)
        base_lr = peewee.FloatField()
        weight_decay = peewee.FloatField()
        num_epochs = peewee.IntegerField()

        class Meta:
            table_name = "ndstrialconfig"

    class Stats(peewee.Model):
        config = peewee.ForeignKeyField(Config, backref="trial_stats", index=True)
        seed = peewee.IntegerField()
        final_train_acc = peewee.FloatField()
        final_train_loss = peewee.FloatField(null=True)
        final_test_acc = peewee.FloatField()
        best_train_acc = peewee.FloatField()
        best_train_loss = peewee.FloatField(null=True)
        best_test_acc = peewee.FloatField()
        parameters = peewee.FloatField()
        flops = peewee.FloatField()
        iter_time = peewee.FloatField()

        class Meta:
            table_name = "ndstrialstats"

    class Intermediate(peewee.Model):
        trial = peewee.ForeignKeyField(Stats, backref="intermediates", index=True)
        current_epoch = peewee.IntegerField(index=True)
        train_loss = peewee.FloatField(null=True)
        train_acc = peewee.FloatField()
        test_acc = peewee.FloatField()

        class Meta:
            table_name = "ndsintermediatestats"

    models = [Config, Stats, Intermediate]
    with database.bind_ctx(models), database:
        database.create_tables(models)
        for name, _, _, job in jobs_in_order(sweeps):
            info = space.sweep_info(name)
            net = job["net"]
            if "genotype" in net:
                family = "nas_cell"
                genotype = net["genotype"]
                nodes_normal = len(genotype["normal"]) // 2
                model_spec = {"num_nodes_normal": nodes_normal, "num_nodes_reduce": len(genotype["reduce"]) // 2,
                              "depth": net["depth"], "width": net["width"], "aux": net["aux"],
                              "drop_prob": net["drop_prob"]}
                cell_spec = {}
                for cell in ("normal", "reduce"):
                    for i in range(nodes_normal):
                        for j, label in enumerate("xy"):
                            cell_spec[f"{cell}_{i}_op_{label}"] = genotype[cell][2 * i + j][0]
                            cell_spec[f"{cell}_{i}_input_{label}"] = genotype[cell][2 * i + j][1]
                    cell_spec[f"{cell}_concat"] = genotype[f"{cell}_concat"]
            else:
                family = {"res_bottleneck_block": "residual_bottleneck", "res_basic_block": "residual_basic",
                          "double_plain_block": "vanilla"}[net["block_type"]]
                model_spec = {k: v for k, v in net.items() if v and k != "block_type"}
                cell_spec = {}
            config, _ = Config.get_or_create(
                model_family=family, model_spec=model_spec, cell_spec=cell_spec, proposer=info.proposer,
                base_lr=job["optim"]["base_lr"], weight_decay=job["optim"]["wd"],
                num_epochs=job["optim"]["max_ep"], dataset=info.dataset, generator=info.generator)
            losses = job["train_ep_loss"]
            finite = [v for v in losses if not math.isnan(v)]
            trial = Stats.create(
                config=config, seed=job["rng_seed"], final_train_acc=100 - job["train_ep_top1"][-1],
                final_train_loss=losses[-1], final_test_acc=100 - job["test_ep_top1"][-1],
                best_train_acc=100 - min(job["train_ep_top1"]), best_train_loss=min(finite),
                best_test_acc=100 - min(job["test_ep_top1"]), parameters=job["params"] / 1e6,
                flops=job["flops"] / 1e6, iter_time=job["iter_time"])
            Intermediate.insert_many([
                {"trial": trial, "current_epoch": e + 1, "train_loss": losses[e],
                 "train_acc": 100 - job["train_ep_top1"][e], "test_acc": 100 - job["test_ep_top1"][e]}
                for e in range(config.num_epochs)]).execute()


@pytest.fixture(scope="module")
def nni_db(sweeps, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("nni_nds")
    build_nni_layout(directory / _db.NNI_FILE_NAMES["nds"], sweeps)
    return directory


def test_nni_prebuilt_layout_gives_the_same_answers(nni_db, nds_db, sweeps, monkeypatch):
    assert _db.locate("nds", nni_db).layout == "nni"
    model_spec, cell_spec, proposer = _first_config(nds_db / "nds.db", "nas_cell")
    bottleneck_spec = json.loads(_first_config(nds_db / "nds.db", "residual_bottleneck")[0])
    queries = [
        ((None, None, None, None, None, None), {"include_intermediates": True}),
        ((None, "resnet", None, None, None, None), {"reduction": "mean", "include_intermediates": True}),
        (("nas_cell", proposer, None, json.loads(model_spec), json.loads(cell_spec), "cifar10"), {}),
        (("residual_bottleneck", None, None, bottleneck_spec, None, None), {"include_intermediates": True}),
        ((None, None, "fix_w_d", None, None, None), {}),
        ((None, "vanilla", None, None, {}, None), {"include_intermediates": True}),
        ((None, None, None, None, None, "imagenet"), {"num_epochs": IMAGENET_EPOCHS, "reduction": "mean"}),
    ]
    for args, kwargs in queries:
        ours = list(query_nds_trial_stats(*args, db_dir=nds_db, **kwargs))
        theirs = list(query_nds_trial_stats(*args, db_dir=nni_db, **kwargs))
        assert ours, (args, kwargs)
        assert theirs == ours, (args, kwargs)
    # The same ids as NNI: configs and trials numbered in NNI's file order.
    with count_statements("nds", nni_db) as statements:
        list(query_nds_trial_stats(None, None, None, None, None, None, include_intermediates=True, db_dir=nni_db))
    assert selects(statements) == 2
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nni_db))
    result = _cli("query", "nds", "--proposer", "enas", "--format", "json")
    assert result.exit_code == 0
    assert len(json.loads(result.output)) == sum(COUNTS[n] for n in space.SWEEPS if n.startswith("ENAS"))


# ----------------------------------------------------------------------------------------------------------------------
# CLI


def test_cli_convert_and_query(nds_inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(tmp_path))
    result = _cli("convert", "nds", str(nds_inputs[1]), "--no-progress")
    assert result.exit_code == 0, result.output
    assert "converted 34 of 34 NDS sweep files" in result.output and "trials" in result.output

    result = _cli("query", "nds", "--proposer", "ResNet", "--dataset", "cifar10", "--limit", "3")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["id", "config.id", "config.model_family"] and len(lines) == 2 + 3
    assert all("resnet" in line for line in lines[2:])

    spec = json.dumps(json.loads(_first_config(tmp_path / "nds.db", "vanilla")[0]))
    result = _cli("query", "nds", "--model-family", "vanilla", "--model-spec", spec, "--format", "json",
                  "--intermediates")
    records = json.loads(result.output)
    assert result.exit_code == 0 and records and all(len(r["intermediates"]) == CIFAR_EPOCHS for r in records)

    result = _cli("query", "nds", "--generator", "fix_w_d", "--reduction", "mean", "--format", "csv")
    header, *body = result.output.splitlines()
    assert result.exit_code == 0 and header.startswith("id,config.id") and len(body) == 9
    assert all(line.startswith(",") for line in body)  # mean rows have no trial id

    result = _cli("query", "nds", "--cell-spec", "{not json")
    assert result.exit_code == 1 and result.output.startswith("Error: --cell-spec is not valid JSON")
    result = _cli("query", "nds", "--model-spec", "[1, 2]")
    assert result.exit_code == 1 and "model_spec must be a dict" in result.output

    result = _cli("info", "--json")
    entry = next(e for e in json.loads(result.output) if e["benchmark"] == "nds")
    assert entry["installed"] and entry["sources"][0]["row_counts"]["ndstrialstats"] == sum(
        len(c) if isinstance(c, list) else len(c["top"]) + len(c["mid"]) for c in fixture.build_sweeps(
            COUNTS, seed=7, epochs_cifar=CIFAR_EPOCHS, epochs_imagenet=IMAGENET_EPOCHS).values())


def test_cli_help_has_examples():
    for args in (["convert", "nds", "--help"], ["query", "nds", "--help"]):
        result = _cli(*args)
        assert result.exit_code == 0 and "Example:" in result.output


def test_query_without_database_says_how_to_install():
    with pytest.raises(FileNotFoundError, match="convert nds"):
        query_nds_trial_stats(None, None, None, None, None, None)
    result = _cli("query", "nds")
    assert result.exit_code == 1 and "NDS is not installed" in result.output


def test_damaged_zip_member_is_caught_by_its_crc(sweeps, tmp_path):
    archive_path = tmp_path / "data.zip"
    text = fixture.dump(sweeps["PNAS"])
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("nds_data/PNAS.json", text)
    data = bytearray(archive_path.read_bytes())
    where = data.index(b'"iter_time": ') + len(b'"iter_time": 0.')
    data[where] = ord("9") if data[where] != ord("9") else ord("8")  # still valid JSON, wrong CRC
    archive_path.write_bytes(bytes(data))
    with pytest.raises(CorruptInput, match=r"data.zip:nds_data/PNAS.json: damaged zip member: Bad CRC-32"):
        convert_nds(archive_path, tmp_path, progress=False)


def test_byte_order_mark_is_accepted(sweeps, tmp_path):
    directory = tmp_path / "nds_data"
    directory.mkdir()
    (directory / "NASNet.json").write_bytes(b"\xef\xbb\xbf" + fixture.dump(sweeps["NASNet"]).encode())
    assert convert_nds(directory, tmp_path, progress=False).trials == COUNTS["NASNet"]


def test_epoch_table_is_clustered_in_sqlite(nds_db):
    ddl = rows(nds_db / "nds.db", "SELECT sql FROM sqlite_master WHERE name = 'ndsintermediatestats'")[0][0]
    assert ddl.endswith("WITHOUT ROWID") and 'PRIMARY KEY ("trial_id", "current_epoch")' in ddl
    indexes = rows(nds_db / "nds.db", "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                      "tbl_name = 'ndsintermediatestats' AND sql IS NOT NULL")
    assert indexes == []


def test_postgres_answers_equal_sqlite(pg_url, nds_inputs, nds_db):
    report = convert_nds(nds_inputs[1], progress=False)
    assert report.database.startswith("postgresql://")
    model_spec, cell_spec, proposer = _first_config(nds_db / "nds.db", "nas_cell")
    queries = [
        ((None, None, None, None, None, None), {"include_intermediates": True}),
        ((None, "resnet", None, None, None, None), {"reduction": "mean", "include_intermediates": True}),
        (("nas_cell", proposer, None, json.loads(model_spec), json.loads(cell_spec), "cifar10"), {}),
        ((None, None, None, None, {}, "imagenet"), {"num_epochs": IMAGENET_EPOCHS}),
    ]
    for args, kwargs in queries:
        on_server = list(query_nds_trial_stats(*args, **kwargs))
        on_sqlite = list(query_nds_trial_stats(*args, db_dir=nds_db, **kwargs))
        assert on_server, (args, kwargs)
        if kwargs.get("reduction") == "mean":
            # AVG sums in a different order on the server: equal to the last few bits.
            assert json.loads(json.dumps(on_server), parse_float=lambda x: round(float(x), 9)) == \
                json.loads(json.dumps(on_sqlite), parse_float=lambda x: round(float(x), 9)), (args, kwargs)
        else:
            # Same ids (numbered by the converter) and the same values bit for bit (COPY carries exact reprs).
            assert on_server == on_sqlite, (args, kwargs)
    assert NdsTrialConfig.select().where(NdsTrialConfig.cell_spec == {}).count() > 0


def test_point_queries_reuse_their_statements(nds_env):
    """Point queries (issue 14): the rows the unfiltered query holds for the asked config, one statement each,
    statements built once per opened database and query shape."""
    everything = list(query_nds_trial_stats(None, None, None, None, None, None))
    names = ("model_family", "proposer", "generator", "model_spec", "cell_spec", "dataset")
    configs = {t["config"]["id"]: t["config"] for t in everything}
    picked = [configs[k] for k in sorted(configs)[:: max(1, len(configs) // 12)]]
    cache = _db.open_benchmark("nds").schema_cache
    for round_ in range(2):
        for config in picked:
            args = [config[name] for name in names]
            expected = sorted((t for t in everything if all(t["config"][n] == config[n] for n in names) and
                               t["config"]["num_epochs"] == config["num_epochs"]),
                              key=lambda t: (t["config"]["id"], t["id"]))
            with count_statements("nds") as statements:
                rows = list(query_nds_trial_stats(*args, num_epochs=config["num_epochs"]))
            assert rows == expected and selects(statements) == 1
            (mean,) = [m for m in query_nds_trial_stats(*args, config["num_epochs"], reduction="mean")
                       if m["config"]["id"] == config["id"]]
            group = [t for t in expected if t["config"]["id"] == config["id"]]
            assert mean["final_test_acc"] == pytest.approx(sum(t["final_test_acc"] for t in group) / len(group))
        if round_ == 0:
            shapes = len(cache)
    assert len(cache) == shapes  # the second round built nothing
