"""Sources: every result row has one; ingesting another source changes no released row and no answer of NNI's views,
models or the default queries; other sources are read at their own budgets and datasets, by name or device kind;
EC-NAS-Bench's real files are converted bit for bit (checked against a reader written here)."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasbench_db import db as _db
from nasbench_db import models
from nasbench_db.cli import cli
from nasbench_db.convert.ecnas import convert_ecnas, device_tag
from nasbench_db.convert.nb101 import convert_nb101
from nasbench_db.convert.results import convert_results
from nasbench_db.errors import CorruptInput, InvalidArgument
from nasbench_db.query import query_nb101_trial_stats, query_nb201_trial_stats
from nasbench_db.spaces import nb101 as space
from nasbench_db.train import schema
from conftest import DATA, SAMPLE_TFRECORD

ECNAS_4V = DATA / "ecnas" / "energy_4V9E_estimate.tfrecord"
ECNAS_5V = DATA / "ecnas" / "energy_5V9E.tfrecord"
INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"
NB101_VIEWS = ("nb101trialconfig", "nb101trialstats", "nb101intermediatestats")


# ----------------------------------------------------------------------------------------------------------------------
# an independent reader of EC-NAS-Bench files: TFRecord framing by hand, the payload through the protobuf runtime with
# a message class built from a descriptor declared here (field numbers and types of model_metrics_energy.proto)

def _ecnas_message_class():
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="test_ecnas.proto", package="testecnas", syntax="proto2")

    def message(name, fields):
        proto = file.message_type.add(name=name)
        for number, (field_name, kind, repeated, type_name) in fields.items():
            entry = proto.field.add(name=field_name, number=number, type=kind,
                                    label=field.LABEL_REPEATED if repeated else field.LABEL_OPTIONAL)
            if type_name:
                entry.type_name = f".testecnas.{type_name}"

    D, S, I, M = field.TYPE_DOUBLE, field.TYPE_STRING, field.TYPE_INT32, field.TYPE_MESSAGE
    message("Evaluation", {1: ("current_epoch", D, 0, None), 2: ("training_time", D, 0, None),
                           3: ("train_accuracy", D, 0, None), 4: ("validation_accuracy", D, 0, None),
                           5: ("test_accuracy", D, 0, None), 6: ("energy", D, 0, None), 7: ("co2eq", D, 0, None),
                           8: ("avg_intensity", D, 0, None), 9: ("start_emission", S, 0, None),
                           10: ("stop_emission", S, 0, None), 11: ("pred_energy", D, 0, None),
                           12: ("pred_co2eq", D, 0, None), 13: ("pred_training_time", D, 0, None),
                           14: ("pred_avg_intensity", D, 0, None), 15: ("checkpoint_path", S, 0, None)})
    message("Device", {1: ("name", S, 0, None)})
    message("Usage", {1: ("avg_power_usage", D, 0, None)})
    message("Hardware", {1: ("w", M, 1, "Usage"), 2: ("j", M, 1, "Usage"), 3: ("devices", M, 1, "Device")})
    message("Power", {1: ("gpu", M, 0, "Hardware"), 2: ("cpu", M, 0, "Hardware")})
    message("Metrics", {1: ("evaluation_data_energy", M, 1, "Evaluation"), 2: ("trainable_parameters", I, 0, None),
                        3: ("total_time", D, 0, None), 4: ("total_energy", D, 0, None),
                        5: ("total_co2eq", D, 0, None), 6: ("start_emission", S, 0, None),
                        7: ("stop_emission", S, 0, None), 8: ("overall_avg_intensity", D, 0, None),
                        9: ("avg_power_usages", M, 0, "Power")})
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("testecnas.Metrics"))


def _independent_records(path):
    """``[(hash, epochs, adjacency, operations, message)]`` of an EC-NAS-Bench file, in file order."""
    import base64

    metrics = _ecnas_message_class()
    data = Path(path).read_bytes()
    records, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        payload = data[pos + 12:pos + 12 + length]
        pos += 12 + length + 4
        module_hash, epochs, adjacency, operations, raw = json.loads(payload)
        records.append((module_hash, epochs, adjacency, operations, metrics.FromString(base64.b64decode(raw))))
    assert pos == len(data)
    return records


@pytest.fixture(scope="module")
def ecnas_records():
    return {path: _independent_records(path) for path in (ECNAS_4V, ECNAS_5V)}


@pytest.fixture(scope="module")
def sample_with_ecnas(tmp_path_factory):
    """The converted NB-101 sample plus both EC-NAS-Bench files."""
    directory = tmp_path_factory.mktemp("ecnas")
    convert_nb101(SAMPLE_TFRECORD, directory, progress=False)
    reports = [convert_ecnas(ECNAS_4V, directory), convert_ecnas(ECNAS_5V, directory)]
    _db.close_all()
    return directory, reports


def _copy(directory, tmp_path, monkeypatch):
    target = tmp_path / "db"
    shutil.copytree(directory, target)
    monkeypatch.setenv("NASBENCHMARK_DIR", str(target))
    return target


# ----------------------------------------------------------------------------------------------------------------------
# EC-NAS-Bench: every value, bit for bit

def _stored_ecnas_runs(db_dir, file_name):
    conn = sqlite3.connect(Path(db_dir) / "nasbench101.db")
    try:
        return conn.execute(
            "SELECT a.hash, c.num_epochs, c.dataset, a.adjacency, a.operations, a.parameters, t.halfway_training_time, "
            "t.halfway_train_acc, t.halfway_valid_acc, t.halfway_test_acc, t.training_time, t.train_acc, t.valid_acc, "
            "t.test_acc, t.total_time, h.halfway_epoch, e.step0_energy, e.step0_co2eq, e.halfway_energy, "
            "e.halfway_co2eq, e.energy, e.co2eq, e.total_energy, e.total_co2eq, s.device, s.device_kind "
            "FROM nb101_trial t JOIN nasbench_source s ON s.id = t.source_id "
            "JOIN nb101_config c ON c.id = t.id / 1024 JOIN nb101_arch a ON a.id = c.arch_id "
            "JOIN nb101_trial_halfway h ON h.trial_id = t.id JOIN nb101_trial_energy e ON e.trial_id = t.id "
            "WHERE s.kind = 'ecnas' AND s.file_name = ? ORDER BY t.id / 1024, t.id", (file_name,)).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("path", [ECNAS_4V, ECNAS_5V], ids=["4V9E_estimate", "5V9E"])
def test_ecnas_values_bit_for_bit(sample_with_ecnas, ecnas_records, path):
    directory, _ = sample_with_ecnas
    stored = _stored_ecnas_runs(directory, path.name)
    records = ecnas_records[path]
    assert len(stored) == len(records) > 0
    expected = []
    for module_hash, epochs, adjacency, operations, m in records:
        step0, half, final = m.evaluation_data_energy
        assert (step0.current_epoch, final.current_epoch) == (0.0, float(epochs))
        expected.append((
            module_hash, epochs, "cifar10", adjacency, operations, m.trainable_parameters, half.training_time,
            half.train_accuracy * 100, half.validation_accuracy * 100, half.test_accuracy * 100, final.training_time,
            final.train_accuracy * 100, final.validation_accuracy * 100, final.test_accuracy * 100, m.total_time,
            half.current_epoch, step0.energy, step0.co2eq, half.energy, half.co2eq, final.energy, final.co2eq,
            m.total_energy, m.total_co2eq, "quadrortx6000", "cuda"))
    # Same values, same float bits (== on floats; NaN never occurs in these files), compared as multisets of runs.
    key = lambda row: (row[0], row[1])  # noqa: E731 - one run per (cell, budget) in these files
    assert sorted(stored, key=key) == sorted(expected, key=key)
    # The file's halfway epoch, not E/2: epoch 1 in the 4-vertex file at every budget, epoch 2 in the 5-vertex one.
    assert {row[15] for row in stored} == ({1.0} if path == ECNAS_4V else {2.0})


def test_ecnas_report_device_and_fields_not_kept(sample_with_ecnas, ecnas_records):
    _, (four, five) = sample_with_ecnas
    assert (four.runs, four.cells, four.new_cells) == (364, 91, 91)
    assert (five.runs, five.cells, five.new_cells) == (2532, 2532, 2441)  # the 91 cells of <= 4 vertices are known
    gpus = {d.name for *_, m in ecnas_records[ECNAS_5V] for d in m.avg_power_usages.gpu.devices}
    assert gpus == {"NVIDIA Quadro RTX 6000", "Quadro RTX 6000"} and {device_tag(g) for g in gpus} == {"quadrortx6000"}
    assert five.device == "quadrortx6000" and five.device_kind == "cuda"
    assert five.halfway_epochs == {2.0: 2532} and four.halfway_epochs == {1.0: 364}
    for name in ("evaluation avg_intensity", "evaluation pred_energy", "evaluation pred_co2eq",
                 "evaluation pred_training_time", "evaluation pred_avg_intensity", "evaluation start_emission",
                 "evaluation stop_emission", "message overall_avg_intensity"):
        assert name in five.not_kept
    assert any(n.startswith("message avg_power_usages") for n in five.not_kept)
    assert not any("energy," in n or n in ("evaluation energy", "evaluation co2eq", "message total_energy")
                   for n in five.not_kept)
    assert "Not kept: " in five.summary() and "source='ecnas'" in five.summary()


def test_ecnas_through_the_nni_function(sample_with_ecnas, ecnas_records, tmp_path, monkeypatch):
    _copy(sample_with_ecnas[0], tmp_path, monkeypatch)
    module_hash, epochs, adjacency, operations, m = ecnas_records[ECNAS_4V][0]
    arch = {"matrix": [list(r) for r in space.adjacency_to_matrix(adjacency)], "ops": operations.split(",")}
    assert list(query_nb101_trial_stats(arch, epochs)) == []  # not a released run
    assert len(list(query_nb101_trial_stats(arch, epochs, source="ecnas"))) == 2  # a 4-epoch run in each file
    (row,) = query_nb101_trial_stats(arch, epochs, source=ECNAS_4V.name, include_intermediates=True)
    step0, half, final = m.evaluation_data_energy
    assert row["config"]["hash"] == module_hash and row["config"]["dataset"] == "cifar10"
    assert row["test_acc"] == final.test_accuracy * 100 and row["training_time"] == final.training_time
    assert row["parameters"] == m.trainable_parameters / 1e6
    assert row["source"]["kind"] == "ecnas" and row["source"]["device"] == "quadrortx6000"
    assert [i["current_epoch"] for i in row["intermediates"]] == [1, epochs]  # the file's halfway epoch, not E/2
    assert row["intermediates"][0]["valid_acc"] == half.validation_accuracy * 100
    # by device name and by device kind
    assert len(list(query_nb101_trial_stats(None, None, source="quadrortx6000"))) == 364 + 2532
    assert len(list(query_nb101_trial_stats(None, None, source="cuda"))) == 364 + 2532
    assert len(list(query_nb101_trial_stats(None, 4, source="energy_5V9E.tfrecord"))) == 2532
    # a cell in both files at 4 epochs: the mean reports each halfway epoch of its runs
    (both,) = query_nb101_trial_stats(arch, 4, source="ecnas", reduction="mean", include_intermediates=True)
    assert [i["current_epoch"] for i in both["intermediates"]] == [1, 2, 4]


def test_energy_columns_in_sql(sample_with_ecnas, ecnas_records, tmp_path, monkeypatch):
    _copy(sample_with_ecnas[0], tmp_path, monkeypatch)
    result = CliRunner().invoke(cli, ["sql", "SELECT c.num_epochs AS epochs, COUNT(*) AS runs, SUM(e.total_energy) AS "
                                             "kwh FROM nb101_trial_energy e JOIN nb101_config c ON c.id = "
                                             "e.trial_id / 1024 GROUP BY c.num_epochs ORDER BY 1", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    expected: dict = {}
    for _, epochs, _, _, m in ecnas_records[ECNAS_4V] + ecnas_records[ECNAS_5V]:
        expected.setdefault(epochs, []).append(m.total_energy)
    assert [(r["epochs"], r["runs"]) for r in rows] == [(e, len(v)) for e, v in sorted(expected.items())]
    for row in rows:
        assert row["kwh"] == pytest.approx(math.fsum(expected[row["epochs"]]), rel=1e-12)


def _dump(path):
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_converting_again_changes_nothing(sample_with_ecnas, tmp_path, monkeypatch):
    target = _copy(sample_with_ecnas[0], tmp_path, monkeypatch)
    before = _dump(target / "nasbench101.db")
    result = CliRunner().invoke(cli, ["convert", "ecnas", str(ECNAS_5V), "--db-dir", str(target)])
    assert result.exit_code == 0 and "already in" in result.output and "nothing to do" in result.output
    assert _dump(target / "nasbench101.db") == before


def test_reconverting_the_released_file_keeps_the_ecnas_runs(sample_with_ecnas, tmp_path, monkeypatch):
    target = _copy(sample_with_ecnas[0], tmp_path, monkeypatch)
    before = {name: _stored_ecnas_runs(target, name) for name in (ECNAS_4V.name, ECNAS_5V.name)}
    report = convert_nb101(SAMPLE_TFRECORD, target, progress=False)
    assert report.trials == 102
    for name, rows in before.items():
        assert _stored_ecnas_runs(target, name) == rows
    assert convert_ecnas(ECNAS_4V, target).already_present  # still known after the carry-over


def test_convert_nb101_refuses_an_ecnas_file(tmp_path):
    with pytest.raises(CorruptInput, match="EC-NAS-Bench energy fields.*nasbench-db convert ecnas"):
        convert_nb101(ECNAS_5V, tmp_path, progress=False)
    assert not (tmp_path / "nasbench101.db").exists()


def test_ecnas_device_from_the_option_or_the_file_name(tmp_path):
    renamed = tmp_path / "energy_4V9E_rtx3090.tfrecord"
    shutil.copy(ECNAS_4V, renamed)
    assert convert_ecnas(renamed, tmp_path / "a").device == "rtx3090"
    result = CliRunner().invoke(cli, ["convert", "ecnas", str(ECNAS_4V), "--device", "my-gpu", "--db-dir",
                                      str(tmp_path / "b")])
    assert result.exit_code == 0 and "device my-gpu, cuda" in result.output
    assert device_tag("NVIDIA GeForce RTX 3090") == "rtx3090" and device_tag("NVIDIA TITAN Xp") == "titanxp"


def test_a_damaged_ecnas_file_changes_nothing(sample_with_ecnas, tmp_path, monkeypatch):
    target = _copy(sample_with_ecnas[0], tmp_path, monkeypatch)
    data = bytearray(ECNAS_4V.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped byte deep in the file: its record's CRC fails
    bad = tmp_path / "energy_4V9E_bad.tfrecord"
    bad.write_bytes(bytes(data))
    before = (target / "nasbench101.db").read_bytes()
    result = CliRunner().invoke(cli, ["convert", "ecnas", str(bad), "--db-dir", str(target)])
    assert result.exit_code == 1 and result.output.startswith(f"Error: {bad}, record ")
    assert (target / "nasbench101.db").read_bytes() == before


# ----------------------------------------------------------------------------------------------------------------------
# isolation: ingesting other sources changes no released row, no NNI view, model or default answer

def _nb101_result(arch_hash, dataset, epochs, seed, device=("cpu", "AMD EPYC 7B13 64-Core Processor")):
    """A format-1 NB-101 training result (as ``nasbench-db train`` writes it) of a sample cell."""
    from nb101_fixture import real_cells

    cell = next(c for c in real_cells() if c["hash"] == arch_hash) if arch_hash else None
    if cell is None:  # a cell the sample lacks
        matrix, ops = [[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", space.CONV3X3, "output"]
        parameters = 10_177_674  # the NB-101 network of this cell (as EC-NAS-Bench records it)
    else:
        matrix, ops = [list(r) for r in space.adjacency_to_matrix(cell["adjacency"])], cell["operations"].split(",")
        parameters = cell["parameters"]

    def sets(base):
        return {name: {"acc": base + k, "loss": 1.0, "correct": 1, "count": 2}
                for k, name in enumerate(("train", "valid", "test"))}

    return schema.seal({
        "format": schema.FORMAT, "format_version": schema.FORMAT_VERSION, "space": "nb101",
        "arch": {"matrix": matrix, "ops": ops}, "arch_hash": None, "arch_index": None, "dataset": dataset,
        "data": {"scheme": "nb101", "sets": {}}, "epochs": epochs, "seed": seed, "parameters": parameters,
        "flops": 1.0, "protocol": {}, "epoch_stats": [],
        "evaluations": [{"epoch": 0, "step": 0, "training_time": 0.0, "sets": sets(10.0)},
                        {"epoch": epochs / 2, "step": 1, "training_time": 5.5, "sets": sets(20.0 + seed)},
                        {"epoch": epochs, "step": 2, "training_time": 11.0, "sets": sets(30.0 + seed)}],
        "training_time": 11.0, "total_time": 12.0, "status": "completed",
        "device": {"type": device[0], "name": device[1], "count": 1}, "runtime": {}, "software": {},
        "host": "test", "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:00:01+00:00"})


def _write(directory, results):
    directory.mkdir(parents=True, exist_ok=True)
    for k, result in enumerate(results):
        (directory / f"r{k}.json").write_text(json.dumps(result))
    return directory


def _nb101_snapshot(db_dir):
    """Everything of the released runs a user can see: NNI's views, the models, the default query answers, and the
    released rows of the compact tables."""
    _db.close_all()
    conn = sqlite3.connect(Path(db_dir) / "nasbench101.db")
    try:
        views = {name: conn.execute(f"SELECT * FROM {name} ORDER BY id").fetchall() for name in NB101_VIEWS}
        released = conn.execute("SELECT t.* FROM nb101_trial t JOIN nasbench_source s ON s.id = t.source_id "
                                "WHERE s.kind = 'original' ORDER BY t.id").fetchall()
        cells = conn.execute("SELECT a.* FROM nb101_arch a WHERE a.id IN (SELECT t.id / 16384 FROM nb101_trial t "
                             "JOIN nasbench_source s ON s.id = t.source_id WHERE s.kind = 'original') "
                             "ORDER BY a.id").fetchall()
        configs = conn.execute("SELECT c.* FROM nb101_config c WHERE c.id IN (SELECT t.id / 1024 FROM nb101_trial t "
                               "JOIN nasbench_source s ON s.id = t.source_id WHERE s.kind = 'original') "
                               "ORDER BY c.id").fetchall()
    finally:
        conn.close()
    from playhouse.shortcuts import model_to_dict

    answers = [list(query_nb101_trial_stats(None, None, include_intermediates=True, db_dir=db_dir)),
               list(query_nb101_trial_stats(None, 108, reduction="mean", include_intermediates=True, db_dir=db_dir)),
               list(query_nb101_trial_stats(None, None, isomorphism=False, db_dir=db_dir))]
    models.bind("nb101", _db.sqlite_database(Path(db_dir) / "nasbench101.db", readonly=True))
    try:
        orm = [[model_to_dict(r, recurse=False) for r in model.select().order_by(model.id)]
               for model in (models.Nb101TrialConfig, models.Nb101TrialStats, models.Nb101IntermediateStats)]
    finally:
        models.bind("nb101", None)
    from nasbench_db.analysis import top_k

    top = top_k("nb101", 5, "valid_acc", epochs=108, db_dir=db_dir)
    return {"views": views, "released": released, "cells": cells, "configs": configs, "answers": answers,
            "orm": orm, "top": top}


def test_ingesting_other_sources_changes_no_released_row_nor_nni_view(nb101_sample_db, tmp_path):
    db_dir = tmp_path / "db"
    shutil.copytree(nb101_sample_db, db_dir)
    before = _nb101_snapshot(db_dir)
    assert len(before["views"]["nb101trialstats"]) == 102 and len(before["orm"][1]) == 102
    results = [_nb101_result(INCEPTION_HASH, "fashion-mnist", 108, 1),   # another dataset, a released budget
               _nb101_result(INCEPTION_HASH, "cifar10", 108, 2),         # the released config itself
               _nb101_result(INCEPTION_HASH, "cifar10", 2, 3),           # a budget the release lacks
               _nb101_result(None, "cifar100", 4, 4, ("cuda", "NVIDIA H100 80GB HBM3"))]  # a new cell
    assert convert_results(_write(tmp_path / "results", results), db_dir).ingested == 4
    convert_ecnas(ECNAS_4V, db_dir)
    after = _nb101_snapshot(db_dir)
    assert after == before
    conn = sqlite3.connect(db_dir / "nasbench101.db")
    assert conn.execute("SELECT COUNT(*) FROM nb101_trial").fetchone()[0] == 102 + 4 + 364
    conn.close()


def test_a_run_on_another_dataset_is_not_a_run_of_the_cifar10_config(nb101_sample_db, tmp_path, monkeypatch):
    db_dir = tmp_path / "db"
    shutil.copytree(nb101_sample_db, db_dir)
    monkeypatch.setenv("NASBENCHMARK_DIR", str(db_dir))
    released = list(query_nb101_trial_stats(_inception(), 108, reduction="mean"))
    convert_results(_write(tmp_path / "r", [_nb101_result(INCEPTION_HASH, "fashion-mnist", 108, 1)]), db_dir)
    rows = list(query_nb101_trial_stats(_inception(), 108, reduction="mean", source=None))
    assert [(r["config"]["dataset"], r["test_acc"]) for r in rows] == [
        ("cifar10", released[0]["test_acc"]), ("fashion-mnist", 33.0)]  # 93.0856: not averaged with the new run
    assert rows[0]["config"]["id"] == released[0]["config"]["id"] != rows[1]["config"]["id"]
    assert len(list(query_nb101_trial_stats(_inception(), 108, source=None, dataset="cifar10"))) == 3
    (run,) = query_nb101_trial_stats(_inception(), 108, source="cpu", dataset="fashion-mnist",
                                     include_intermediates=True)
    assert run["source"]["device"] == "AMD EPYC 7B13 64-Core Processor" and run["valid_acc"] == 32.0
    assert [i["current_epoch"] for i in run["intermediates"]] == [54, 108]
    runner = CliRunner()
    result = runner.invoke(cli, ["query", "nb101", "--hash", INCEPTION_HASH, "--epochs", "108", "--source", "all",
                                 "--reduction", "mean", "--csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("id,config.hash,config.num_epochs,config.dataset,") and len(lines) == 3
    with pytest.raises(ValueError, match="released NB-101 runs are cifar10 only.*source=None"):
        query_nb101_trial_stats(_inception(), 108, dataset="fashion-mnist")


def _inception():
    return {"matrix": [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                       [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
            "ops": ["input", space.CONV1X1, space.CONV3X3, space.CONV3X3, space.CONV3X3, space.MAXPOOL3X3, "output"]}


def test_cli_queries_trained_runs_at_their_own_budget_dataset_and_device_kind(nb101_sample_db, tmp_path, monkeypatch):
    db_dir = tmp_path / "db"
    shutil.copytree(nb101_sample_db, db_dir)
    monkeypatch.setenv("NASBENCHMARK_DIR", str(db_dir))
    convert_results(_write(tmp_path / "r", [_nb101_result(INCEPTION_HASH, "fashion-mnist", 2, 7),
                                            _nb101_result(None, "cifar10", 4, 8, ("cuda", "NVIDIA H100 80GB HBM3"))]),
                    db_dir)
    runner = CliRunner()
    for source in ("cpu", "trained", "all", "AMD EPYC 7B13 64-Core Processor", "amd epyc 7b13 64-core processor"):
        result = runner.invoke(cli, ["query", "nb101", "--source", source, "--epochs", "2", "--dataset",
                                     "fashion-mnist", "--json"])
        assert result.exit_code == 0, (source, result.output)
        (row,) = json.loads(result.output)
        assert (row["config"]["num_epochs"], row["config"]["dataset"], row["test_acc"]) == (2, "fashion-mnist", 39.0)
    for source, count in (("cuda", 1), ("gpu", 1), ("NVIDIA H100 80GB HBM3", 1), ("cpu", 0)):
        result = runner.invoke(cli, ["query", "nb101", "--source", source, "--epochs", "4", "--json"])
        assert result.exit_code == 0 and len(json.loads(result.output)) == count, (source, result.output)
    table = runner.invoke(cli, ["query", "nb101", "--source", "cpu", "--epochs", "2"])
    assert "source.device" in table.output.splitlines()[0] and "AMD EPYC" in table.output
    # the released runs at a budget they do not have: nothing, and a hint on where such runs are
    empty = runner.invoke(cli, ["query", "nb101", "--epochs", "2", "--json"])
    assert empty.exit_code == 0 and "no 2-epoch budget" in empty.output and "--source all" in empty.output
    unknown = runner.invoke(cli, ["query", "nb101", "--source", "rtx-9999"])
    assert unknown.exit_code == 1 and "no nb101 source matches 'rtx-9999'" in unknown.output
    assert "'trained' (1 results on cpu device 'AMD EPYC 7B13 64-Core Processor')" in unknown.output
    info = runner.invoke(cli, ["info"])
    assert info.exit_code == 0
    assert "trained on AMD EPYC 7B13 64-Core Processor (cpu): 1 results" in info.output
    assert "fashion-mnist at epochs 2" in info.output and "cifar10 at epochs 4" in info.output
    data = json.loads(runner.invoke(cli, ["info", "--json"]).output)
    groups = next(d for d in data if d["benchmark"] == "nb101")["other_sources"]
    assert {(g["kind"], g["device_kind"], g["runs"]) for g in groups} == {("trained", "cpu", 1), ("trained", "cuda", 1)}


def test_top_and_plots_default_to_the_released_runs(sample_with_ecnas, tmp_path, monkeypatch):
    from nasbench_db.analysis import filter_archs, metric_columns, top_k

    _copy(sample_with_ecnas[0], tmp_path, monkeypatch)
    released = filter_archs("nb101", epochs=4)
    assert len(released) == 1 and released[0]["config"]["hash"] == INCEPTION_HASH  # the sample's one 4-epoch cell
    assert "dataset" not in released[0]["config"]  # NNI's shape for the released runs
    ecnas = top_k("nb101", 3, "valid_acc", epochs=4, source="ecnas")
    assert len(ecnas) == 3 and all(r["config"]["dataset"] == "cifar10" for r in ecnas)
    assert ecnas[0]["valid_acc"] == max(r["valid_acc"] for r in filter_archs("nb101", epochs=4, source="ecnas"))
    assert len(metric_columns("nb101", ["valid_acc"], epochs=4)["valid_acc"]) == 1
    assert len(metric_columns("nb101", ["valid_acc"], epochs=4, source="ecnas")["valid_acc"]) == 2532
    result = CliRunner().invoke(cli, ["top", "nb101", "--epochs", "4", "--source", "cuda", "--k", "2", "--json"])
    assert result.exit_code == 0 and [r["config"]["hash"] for r in json.loads(result.output)] == [
        r["config"]["hash"] for r in ecnas[:2]]
    pytest.importorskip("matplotlib")
    out = tmp_path / "ecdf.png"
    result = CliRunner().invoke(cli, ["plot", "ecdf", "nb101", "--epochs", "4", "--source", "ecnas", "--out", str(out)])
    assert result.exit_code == 0 and out.stat().st_size > 0


# ----------------------------------------------------------------------------------------------------------------------
# NB-201 / NATS: other sources' runs in tables of their own

def _nb201_result(arch_index, dataset, epochs, seed, device=("cpu", "AMD EPYC 7B13 64-Core Processor")):
    from nasbench_db.spaces import nb201 as tss

    def sets(base):
        return {name: {"acc": base + k, "loss": 0.5 + k, "correct": 1, "count": 2}
                for k, name in enumerate(("x-valid", "ori-test"))}

    return schema.seal({
        "format": schema.FORMAT, "format_version": schema.FORMAT_VERSION, "space": "nb201",
        "arch": tss.arch_str(tss.ops_of(arch_index)), "arch_hash": None, "arch_index": arch_index,
        "dataset": dataset, "data": {"scheme": "nb201", "sets": {}}, "epochs": epochs, "seed": seed,
        "parameters": 100000, "flops": 1.5, "protocol": {},
        "epoch_stats": [{"epoch": e, "train_loss": 1.0 / e, "train_acc": 50.0 + e} for e in range(1, epochs + 1)],
        "evaluations": [{"epoch": e, "step": e, "training_time": 1.0 * e, "sets": sets(60.0 + e + seed)}
                        for e in range(1, epochs + 1)],
        "training_time": 1.0 * epochs, "total_time": 2.0 * epochs, "status": "completed",
        "device": {"type": device[0], "name": device[1], "count": 1}, "runtime": {}, "software": {},
        "host": "test", "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:00:01+00:00"})


def _nb201_snapshot(db_dir):
    _db.close_all()
    conn = sqlite3.connect(Path(db_dir) / "nasbench201.db")
    try:
        tables = {name: conn.execute(f"SELECT * FROM {name} ORDER BY id").fetchall()
                  for name in ("nb201trialconfig", "nb201trialstats", "nb201intermediatestats")}
    finally:
        conn.close()
    from playhouse.shortcuts import model_to_dict

    models.bind("nb201", _db.sqlite_database(Path(db_dir) / "nasbench201.db", readonly=True))
    try:
        orm = [[model_to_dict(r, recurse=False) for r in model.select().order_by(model.id)]
               for model in (models.Nb201TrialConfig, models.Nb201TrialStats)]
    finally:
        models.bind("nb201", None)
    answers = [list(query_nb201_trial_stats(None, None, None, include_intermediates=True, db_dir=db_dir)),
               list(query_nb201_trial_stats(None, 200, None, reduction="mean", db_dir=db_dir))]
    return tables, orm, answers


@pytest.fixture
def nats_tss_db(tmp_path):
    from nasbench_db.convert.nb201 import convert_nats_tss

    db_dir = tmp_path / "db201"
    convert_nats_tss(next((DATA / "nats").glob("NATS-tss-*-simple")), db_dir, progress=False, jobs=1)
    return db_dir


def test_nb201_trained_runs_leave_nni_tables_alone(nats_tss_db, tmp_path, monkeypatch):
    before = _nb201_snapshot(nats_tss_db)
    results = [_nb201_result(11, "fashion-mnist", 1, 0), _nb201_result(11, "cifar10-valid", 12, 1),
               _nb201_result(1835, "cifar100", 2, 2, ("cuda", "NVIDIA H100 80GB HBM3"))]
    assert convert_results(_write(tmp_path / "r", results), nats_tss_db).ingested == 3
    assert _nb201_snapshot(nats_tss_db) == before
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nats_tss_db))
    # the released runs at a budget / dataset they lack: a ValueError saying where such runs are
    with pytest.raises(ValueError, match="one of 12, 200.*got 1; runs at other budgets .* source=None"):
        query_nb201_trial_stats(11, 1, "fashion-mnist")
    (row,) = query_nb201_trial_stats(11, 1, "fashion-mnist", source="cpu", include_intermediates=True)
    assert row["valid_acc"] == 61.0 and row["source"]["device"] == "AMD EPYC 7B13 64-Core Processor"
    assert [i["current_epoch"] for i in row["intermediates"]] == [1]
    # a trained run of a released config is read beside the released runs only when asked
    released = list(query_nb201_trial_stats(11, 12, "cifar10-valid"))
    both = list(query_nb201_trial_stats(11, 12, "cifar10-valid", source=None))
    assert len(both) == len(released) + 1 and both[:-1] == [dict(r, source=both[0]["source"]) for r in released]
    assert both[-1]["config"]["id"] == released[0]["config"]["id"]
    mean = list(query_nb201_trial_stats(11, 12, "cifar10-valid", source=None, reduction="mean",
                                        include_intermediates=True))
    assert len(mean) == 1 and len(mean[0]["intermediates"]) == 12
    runner = CliRunner()
    result = runner.invoke(cli, ["query", "nb201", "--epochs", "1", "--dataset", "fashion-mnist", "--source", "cpu",
                                 "--json"])
    assert result.exit_code == 0 and len(json.loads(result.output)) == 1, result.output
    result = runner.invoke(cli, ["query", "nb201", "--epochs", "1", "--dataset", "fashion-mnist"])
    assert result.exit_code == 1 and "source=None" in result.output
    result = runner.invoke(cli, ["query", "nb201", "--source", "gpu", "--epochs", "2", "--dataset", "cifar100",
                                 "--json"])
    assert result.exit_code == 0 and [r["ori_test_acc"] for r in json.loads(result.output)] == [65.0]
    from nasbench_db.analysis import filter_archs, top_k

    assert len(filter_archs("nb201", epochs=1, dataset="fashion-mnist", source="trained")) == 1
    assert filter_archs("nb201", epochs=1, dataset="fashion-mnist", source="trained")[0]["num_runs"] == 1
    assert top_k("nb201", 1, "valid_acc", epochs=2, dataset="cifar100", source="cuda")[0]["valid_acc"] == 64.0
    assert len(filter_archs("nb201", epochs=12, dataset="cifar10-valid", source=None,
                            config={"arch_index": 11})) == 1
    with pytest.raises(ValueError, match="unknown dataset 'fashion-mnist'"):
        filter_archs("nb201", dataset="fashion-mnist")
    from nasbench_db.search import NB201Simulator

    sim = NB201Simulator(dataset="fashion-mnist", epochs=1, source="trained")
    assert sim.settings()["source"] == "trained"


def test_nds_rows_are_its_release(tmp_path):
    import nds_fixture

    from nasbench_db.convert.nds import convert_nds
    from nasbench_db.query import query_nds_trial_stats

    directory = nds_fixture.write_dir(tmp_path / "nds_data", nds_fixture.build_sweeps({"ResNet": 3}, seed=1))
    convert_nds(directory, tmp_path / "db", progress=False)
    every = list(query_nds_trial_stats(None, None, None, None, None, None, db_dir=tmp_path / "db"))
    assert len(every) == 3
    assert list(query_nds_trial_stats(None, None, None, None, None, None, source=None, db_dir=tmp_path / "db")) == every
    assert list(query_nds_trial_stats(None, None, None, None, None, None, source=1, db_dir=tmp_path / "db")) == every
    assert list(query_nds_trial_stats(None, None, None, None, None, None, source="trained",
                                      db_dir=tmp_path / "db")) == []
    with pytest.raises(ValueError, match="no nds source matches 'rtx3090'"):
        query_nds_trial_stats(None, None, None, None, None, None, source="rtx3090", db_dir=tmp_path / "db")


def test_sources_on_postgresql(pg_url, tmp_path):
    """The same on the server: EC-NAS runs and a trained run beside the release, NNI's views unchanged, the EC-NAS
    runs carried over when the released file is converted again."""
    convert_nb101(SAMPLE_TFRECORD, progress=False)
    database = _db.open_benchmark("nb101").database

    def views():
        return {name: _db.fetchall(database, f"SELECT * FROM {name} ORDER BY id") for name in NB101_VIEWS}

    before = views()
    assert len(before["nb101trialstats"]) == 102
    report = convert_ecnas(ECNAS_4V)
    assert report.database.startswith("postgresql://") and report.runs == 364
    convert_results(_write(tmp_path / "r", [_nb101_result(INCEPTION_HASH, "fashion-mnist", 108, 1)]))
    assert views() == before
    rows = list(query_nb101_trial_stats(None, None, source="ecnas", include_intermediates=True))
    assert len(rows) == 364 and {r["intermediates"][0]["current_epoch"] for r in rows} == {1}
    assert len(list(query_nb101_trial_stats(None, 108, source="cpu", dataset="fashion-mnist"))) == 1
    energy = _db.fetchall(database, "SELECT SUM(total_energy) FROM nb101_trial_energy")[0][0]
    convert_nb101(SAMPLE_TFRECORD, progress=False)  # the release again: the other sources stay
    _db.close_all()
    database = _db.open_benchmark("nb101").database
    assert _db.fetchall(database, "SELECT SUM(total_energy) FROM nb101_trial_energy")[0][0] == energy
    assert len(list(query_nb101_trial_stats(None, None, source="quadrortx6000"))) == 364
    assert len(list(query_nb101_trial_stats(None, 108, source="trained"))) == 1
    after = views()  # the new release's provenance row has a new id: the rest is the same

    def without_source_id(rows):
        return [row[:-1] for row in rows]

    assert without_source_id(after.pop("nb101trialstats")) == without_source_id(before.pop("nb101trialstats"))
    assert after == before


def test_parameter_counts_of_ecnas_cells(tmp_path):
    """A cell first seen in a self-trained run on another dataset (another classifier: another count) takes the
    CIFAR-10 network's count EC-NAS-Bench records; a count disagreeing with a trusted source's is refused."""
    db_dir = tmp_path / "db"
    other = _nb101_result(None, "cifar100", 4, 1)  # the I -> conv3x3 -> O cell, which both EC-NAS files hold
    other["parameters"] = 10_177_674 + 90 * 513  # a 100-class classifier
    convert_results(_write(tmp_path / "r", [schema.seal(other)]), db_dir)
    convert_ecnas(ECNAS_4V, db_dir)
    conn = sqlite3.connect(db_dir / "nasbench101.db")
    digest = "b49ac8c578b4561d79ac7087988f1c61"
    assert conn.execute("SELECT parameters FROM nb101_arch WHERE hash = ?", (digest,)).fetchone() == (10_177_674,)
    conn.execute("UPDATE nb101_arch SET parameters = 5 WHERE hash = ?", (digest,))  # now disagrees with EC-NAS's
    conn.commit()
    conn.close()
    with pytest.raises(CorruptInput, match=f"cell {digest} has 10,177,674 trainable parameters here and 5 in the "
                                           "database"):
        convert_ecnas(ECNAS_5V, db_dir)


def test_hostile_ecnas_records_name_the_record(tmp_path):
    """A valid TFRecord whose row is wrong: an error naming file and record, never a traceback or a partial load."""
    import base64

    from nasbench_db.convert.tfrecord import write_records

    good = _independent_records(ECNAS_4V)[0]
    message = good[4]
    cases = {
        "nested": b"[" * 100_000 + b"]" * 100_000,
        "epochs": json.dumps([good[0], 10 ** 30, good[2], good[3], base64.b64encode(
            message.SerializeToString()).decode()]).encode(),
    }
    nan = type(message).FromString(message.SerializeToString())
    nan.evaluation_data_energy[1].current_epoch = float("nan")
    cases["nan-halfway"] = json.dumps([good[0], good[1], good[2], good[3],
                                       base64.b64encode(nan.SerializeToString()).decode()]).encode()
    for name, payload in cases.items():
        path = tmp_path / f"energy_4V9E_{name.replace('-', '')}.tfrecord"
        write_records(path, [payload])
        result = CliRunner().invoke(cli, ["convert", "ecnas", str(path), "--db-dir", str(tmp_path / "db")])
        assert result.exit_code == 1 and result.output.startswith(f"Error: {path}, record 0"), (name, result.output)
        assert not (tmp_path / "db" / "nasbench101.db").exists()


def test_released_format_halfway_epoch_is_the_files(tmp_path, nb101_real_cells):
    """An original-format file whose halfway evaluation is not at E/2: the file's epoch is stored and reported (the
    released files' E/2 is stored as nothing: every released run reads back E/2)."""
    from nb101_fixture import run_payload

    from nasbench_db.convert.nb101 import decode_model_metrics, decode_payload, encode_model_metrics, encode_payload
    from nasbench_db.convert.tfrecord import write_records

    cell = next(c for c in nb101_real_cells if c["hash"] == INCEPTION_HASH)
    payloads = []
    for epochs in (4, 108):
        for run in cell["runs"][epochs]:
            payload = run_payload(cell, epochs, run)
            if epochs == 4:  # move the halfway evaluation to epoch 1, as EC-NAS-Bench's files have it
                digest, _, adjacency, operations, raw = decode_payload(payload)
                step0, half, final = decode_model_metrics(raw).evaluations
                metrics = encode_model_metrics([step0, half._replace(current_epoch=1.0), final],
                                               cell["parameters"])
                payload = encode_payload(digest, epochs, adjacency, operations, metrics)
            payloads.append(payload)
    write_records(tmp_path / "mixed.tfrecord", payloads)
    report = convert_nb101(tmp_path / "mixed.tfrecord", tmp_path / "db", progress=False)
    assert report.other_halfway == 3 and "3 runs evaluated halfway at another epoch" in report.summary()
    rows = list(query_nb101_trial_stats(_inception(), None, include_intermediates=True, db_dir=tmp_path / "db"))
    assert [r["intermediates"][0]["current_epoch"] for r in rows] == [1, 1, 1, 54, 54, 54]
    conn = sqlite3.connect(tmp_path / "db" / "nasbench101.db")
    assert [r[0] for r in conn.execute("SELECT current_epoch FROM nb101intermediatestats WHERE id % 2 = 0 "
                                       "ORDER BY id")] == [1, 1, 1, 54, 54, 54]


def test_ecnas_energy_as_a_metric_and_a_bound(sample_with_ecnas, ecnas_records, tmp_path, monkeypatch):
    """EC-NAS-Bench's energy columns rank and filter NB-101 runs of that source (per run, averaged per config)."""
    from nasbench_db.analysis import ECNAS_METRICS, filter_archs, joined_metrics, top_k

    _copy(sample_with_ecnas[0], tmp_path, monkeypatch)
    assert set(ECNAS_METRICS) <= set(joined_metrics("nb101"))
    per_config: dict = {}
    for module_hash, epochs, _, _, m in ecnas_records[ECNAS_4V] + ecnas_records[ECNAS_5V]:
        per_config.setdefault((module_hash, epochs), []).append(m.total_energy)
    expected = sorted(((math.fsum(v) / len(v), key) for key, v in per_config.items() if key[1] == 4))[:3]
    best = top_k("nb101", 3, "total_energy", ascending=True, epochs=4, source="ecnas")
    assert [(row["config"]["hash"], row["config"]["num_epochs"]) for row in best] == [key for _, key in expected]
    assert [row["total_energy"] for row in best] == pytest.approx([v for v, _ in expected], rel=1e-12)
    limit = expected[1][0]
    kept = filter_archs("nb101", epochs=4, source="ecnas", max_total_energy=limit)
    assert sorted(row["config"]["hash"] for row in kept) == sorted(
        key[0] for key, v in per_config.items() if key[1] == 4 and math.fsum(v) / len(v) <= limit)
    # the released runs have no energy: the metric is refused only where no EC-NAS-Bench file is installed
    result = CliRunner().invoke(cli, ["top", "nb101", "--metric", "total_energy", "--ascending", "--epochs", "4",
                                      "--source", "ecnas", "--k", "2", "--max", f"total_energy={limit}"])
    assert result.exit_code == 0, result.output
    assert expected[0][1][0] in result.output


def test_ecnas_energy_metric_without_ecnas_names_the_command(tmp_path, monkeypatch):
    from nasbench_db.analysis import top_k

    directory = tmp_path / "db"
    convert_nb101(SAMPLE_TFRECORD, directory, progress=False)
    _db.close_all()
    monkeypatch.setenv("NASBENCHMARK_DIR", str(directory))
    with pytest.raises(InvalidArgument, match="nasbench-db convert ecnas"):
        top_k("nb101", 3, "energy", epochs=108)
