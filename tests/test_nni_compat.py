"""NNI compatibility suite: NNI-format files built with NNI's schema, the same calls on NNI's layout and on ours.

For each benchmark the suite writes an NNI-format file with :mod:`nni_reference` (NNI's models declared again from
its documentation; under NNI's peewee 3.x in a subprocess when ``NASBENCH_PEEWEE3`` names a directory holding it,
e.g. ``pip install --target DIR 'peewee==3.17.*'``, else with the installed peewee), filled with NNI's ``db_gen``
mapping of the same real data our converters read. Then:

* NNI's answer (the reference query on NNI's file) must equal ours on NNI's file, row for row and in NNI's order,
  apart from the documented differences applied explicitly below (NB-101 seconds, averaged intermediates for
  'mean', NLP's wildcard / 'mean' semantics);
* ours on NNI's file must equal ours on our file (ids aside: NNI numbers rows its own way);
* NNI-style ORM use (select / join / where on JSON fields / backrefs / ``model_to_dict``) answers the same on both.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import nni_reference
from conftest import DATA, HERE
from nasbench_db import db as _db
from nasbench_db import models
from nasbench_db.query import (query_nb101_trial_stats, query_nb201_trial_stats, query_nds_trial_stats,
                               query_nlp_trial_stats)
from nasbench_db.spaces import nb101 as space101
from nasbench_db.spaces import nb201 as space201

PEEWEE3 = os.environ.get("NASBENCH_PEEWEE3")
C1, C3, MP = "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3"
INCEPTION = {"matrix": [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                        [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
             "ops": ["input", C1, C3, C3, C3, MP, "output"]}
INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"


class Reference:
    """Runs :mod:`nni_reference` (in a subprocess under peewee 3 when available)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.peewee = None

    def _run(self, spec: dict) -> dict:
        if not PEEWEE3:
            if spec["action"] == "write":
                nni_reference.write(spec["path"], spec["benchmark"], json.loads(json.dumps(spec["rows"])))
                return {"peewee": nni_reference.peewee.__version__}
            answers = []
            for kwargs in spec["calls"]:
                try:
                    answers.append({"rows": nni_reference.query(spec["path"], spec["benchmark"], kwargs)})
                except Exception as exc:
                    answers.append({"error": type(exc).__name__})
            return json.loads(json.dumps({"peewee": nni_reference.peewee.__version__, "answers": answers}))
        spec_path, out_path = self.workdir / "spec.json", self.workdir / "out.json"
        spec_path.write_text(json.dumps(spec))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([PEEWEE3, str(HERE)]))
        subprocess.run([sys.executable, str(HERE / "nni_reference.py"), str(spec_path), str(out_path)], env=env,
                       check=True, timeout=600)
        return json.loads(out_path.read_text())

    def write(self, path: Path, benchmark: str, rows: dict) -> None:
        self.peewee = self._run({"action": "write", "path": str(path), "benchmark": benchmark, "rows": rows})["peewee"]

    def query(self, path: Path, benchmark: str, calls: list) -> list:
        return self._run({"action": "query", "path": str(path), "benchmark": benchmark, "calls": calls})["answers"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    ref = Reference(tmp_path_factory.mktemp("reference"))
    if PEEWEE3:
        assert Path(PEEWEE3, "peewee.py").is_file(), f"NASBENCH_PEEWEE3={PEEWEE3} holds no peewee"
    return ref


def strip_ids(rows):
    out = []
    for row in rows:
        row = dict(row, id=None, config=dict(row["config"], id=None))
        if "intermediates" in row:
            row["intermediates"] = [dict(i, id=None) for i in row["intermediates"]]
        out.append(row)
    return out


def close(a, b, rel=1e-12) -> bool:
    """Equal, floats up to rounding (averages of equal values computed in another order or unit)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=rel)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, rel) for x, y in zip(a, b))
    return a == b


def _use(monkeypatch, directory):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(directory))
    _db.close_all()


# ----------------------------------------------------------------------------------------------------------------------
# NAS-Bench-101: NNI's file from the real sample (db_gen's mapping: x100 accuracies, params / 1e6, final time x 60)


def nb101_nni_rows(ours: Path) -> dict:
    import sqlite3

    conn = sqlite3.connect(ours / "nasbench101.db")
    rows = {"config": [], "stats": [], "intermediates": []}
    trial_id = inter_id = 0
    configs = conn.execute("SELECT c.id, a.hash, a.num_vertices, a.adjacency, a.operations, a.parameters, "
                           "c.num_epochs FROM nb101_arch a JOIN nb101_config c ON c.arch_id = a.id "
                           "ORDER BY a.id, c.id").fetchall()
    for config_number, (config_id, digest, vertices, adjacency, operations, params, epochs) in enumerate(configs, 1):
        arch = space101.matrix_to_arch(space101.adjacency_to_matrix(adjacency), operations.split(","))
        rows["config"].append({"id": config_number, "arch": arch, "num_vertices": vertices, "hash": digest,
                               "num_epochs": epochs})
        for run in conn.execute("SELECT halfway_training_time, halfway_train_acc, halfway_valid_acc, "
                                "halfway_test_acc, training_time, train_acc, valid_acc, test_acc FROM nb101_trial "
                                "WHERE id BETWEEN ? AND ? ORDER BY id", (config_id * 1024, config_id * 1024 + 1023)):
            trial_id += 1
            rows["stats"].append({"id": trial_id, "config": config_number, "train_acc": run[5], "valid_acc": run[6],
                                  "test_acc": run[7], "parameters": params / 1e6, "training_time": run[4] * 60})
            for epoch, values in ((epochs // 2, run[:4]), (epochs, run[4:])):
                inter_id += 1
                rows["intermediates"].append({"id": inter_id, "trial": trial_id, "current_epoch": epoch,
                                              "training_time": values[0], "train_acc": values[1],
                                              "valid_acc": values[2], "test_acc": values[3]})
    return rows


@pytest.fixture(scope="module")
def nb101_files(reference, nb101_sample_db, tmp_path_factory):
    nni_dir = tmp_path_factory.mktemp("nni101")
    reference.write(nni_dir / _db.NNI_FILE_NAMES["nb101"], "nb101", nb101_nni_rows(nb101_sample_db))
    return nb101_sample_db, nni_dir


def _nni_hash(arch: dict) -> str:
    """NNI's isomorphism key: hash_module of the arch as given (not pruned)."""
    matrix, ops = space101.arch_to_matrix(arch)
    return space101.graph_hash(matrix, space101.labeling(ops))


NB101_CALLS = [
    {"arch": "inception", "num_epochs": 108, "include_intermediates": True},   # NNI's tutorial call
    {"arch": "inception", "num_epochs": None},
    {"arch": "inception", "num_epochs": 108, "reduction": "mean"},
    {"arch": "stored", "num_epochs": 108, "isomorphism": False},
    {"arch": "inception", "num_epochs": 108, "isomorphism": False},             # not the stored form: nothing
    {"arch": "stored_unsorted", "num_epochs": 108, "isomorphism": False},       # list order matters: nothing
    {"arch": None, "num_epochs": 108},
    {"arch": None, "num_epochs": 4, "include_intermediates": True},
    {"arch": None, "num_epochs": None, "reduction": "mean"},
    # what NNI accepts beyond the documented types
    {"arch": "inception", "num_epochs": 108.0, "include_intermediates": 1},
    {"arch": "inception", "num_epochs": "108", "isomorphism": 1},
    {"arch": "stored", "num_epochs": "36", "isomorphism": 0},
]


def _nb101_arch(name, stored):
    if name is None:
        return None
    if name == "inception":
        return space101.matrix_to_arch(INCEPTION["matrix"], INCEPTION["ops"])
    if name == "stored":
        return stored
    unsorted = dict(stored)
    key = next(k for k, v in stored.items() if k.startswith("input") and len(v) > 1)
    unsorted[key] = list(reversed(stored[key]))
    return unsorted


def test_nb101_answers_equal_nni(reference, nb101_files, monkeypatch):
    ours_dir, nni_dir = nb101_files
    stored = query_nb101_trial_stats(INCEPTION, 108, db_dir=ours_dir).__next__()["config"]["arch"]
    calls = []
    for spec in NB101_CALLS:
        kwargs = dict(spec, arch=_nb101_arch(spec["arch"], stored))
        if kwargs["arch"] is not None:
            kwargs["nni_hash"] = _nni_hash(kwargs["arch"])
        calls.append(kwargs)
    answers = reference.query(nni_dir / _db.NNI_FILE_NAMES["nb101"], "nb101", calls)
    for kwargs, answer in zip(calls, answers):
        args = {k: v for k, v in kwargs.items() if k != "nni_hash"}
        _use(monkeypatch, nni_dir)
        on_nni = list(query_nb101_trial_stats(**args))
        _use(monkeypatch, ours_dir)
        on_ours = list(query_nb101_trial_stats(**args))
        expected = answer["rows"]
        for row, got in zip(expected, on_nni):  # documented: NNI's x60 final training time, divided back
            row["training_time"] /= 60
            if args.get("reduction") == "mean":  # the mean of each run's seconds: equal up to rounding
                assert got["training_time"] == pytest.approx(row["training_time"], rel=1e-12)
                row["training_time"] = got["training_time"]
        if args.get("reduction") == "mean" and args.get("include_intermediates"):
            expected = [dict(r, intermediates=on_nni[i]["intermediates"]) for i, r in enumerate(expected)]
        assert on_nni == expected, args
        if args.get("reduction") == "mean":  # NNI averages the runs' equal parameter counts: rounding
            for a, b in zip(on_ours, on_nni):
                assert a.pop("parameters") == pytest.approx(b.pop("parameters"), rel=1e-12)
        assert strip_ids(on_ours) == strip_ids(on_nni), args
    assert len(answers[0]["rows"]) == 3 and len(answers[4]["rows"]) == 0 and len(answers[5]["rows"]) == 0


def test_nb101_models_read_both_layouts(nb101_files, monkeypatch):
    from playhouse.shortcuts import model_to_dict

    from nasbench_db.models import Nb101IntermediateStats, Nb101TrialConfig, Nb101TrialStats

    ours_dir, nni_dir = nb101_files
    stored = query_nb101_trial_stats(INCEPTION, 108, db_dir=ours_dir).__next__()["config"]["arch"]
    seen = {}
    for layout, directory in (("nasbench_db", ours_dir), ("nni", nni_dir)):
        _use(monkeypatch, directory)
        assert models.DATABASES["nb101"].layout == layout
        configs = list(Nb101TrialConfig.select().where(Nb101TrialConfig.arch == stored))
        assert len(configs) == 4 and {c.hash for c in configs} == {INCEPTION_HASH}  # NNI finds 4 rows
        assert sorted(c.num_epochs for c in configs) == [4, 12, 36, 108]
        unsorted = _nb101_arch("stored_unsorted", stored)
        assert Nb101TrialConfig.select().where(Nb101TrialConfig.arch == unsorted).count() == 0
        assert Nb101TrialConfig.select().where(Nb101TrialConfig.arch == INCEPTION).count() == 0  # exact, as NNI
        config = next(c for c in configs if c.num_epochs == 108)
        trials = sorted(config.trial_stats, key=lambda t: t.valid_acc)
        times = [t.training_time for t in trials]
        finals = [max(t.intermediates, key=lambda i: i.current_epoch).training_time for t in trials]
        assert times == finals  # seconds on both layouts: NNI's x60 divided back
        slow = (Nb101TrialStats.select().join(Nb101TrialConfig)
                .where(Nb101TrialConfig.hash == INCEPTION_HASH, Nb101TrialStats.training_time > min(times))
                .count())
        assert slow == sum(1 for c in configs for t in c.trial_stats if t.training_time > min(times))
        inter = Nb101IntermediateStats.select().where(Nb101IntermediateStats.trial == trials[0].id).get()
        assert inter.trial.id == trials[0].id and inter.trial.config.hash == INCEPTION_HASH
        data = model_to_dict(trials[0])
        assert set(data) == {"id", "config", "train_acc", "valid_acc", "test_acc", "parameters", "training_time"}
        assert data["config"]["arch"] == stored
        seen[layout] = (times, data["parameters"], Nb101TrialStats.select().count())
    assert seen["nni"] == seen["nasbench_db"]


# ----------------------------------------------------------------------------------------------------------------------
# NAS-Bench-201: NNI's file from the real NATS topology records (db_gen's split mapping, last-epoch time x epochs)


def nb201_nni_rows(meta, records) -> dict:
    from nb201_fixture import INDICES, NNI_SPLITS

    rows = {"config": [], "stats": [], "intermediates": []}
    config_ids = {}
    texts = list(dict.fromkeys(meta["meta_archs"][:200] + [meta["meta_archs"][i] for i in INDICES]))
    for text in texts:
        for epochs in (12, 200):
            for dataset in space201.DATASETS:
                config_ids[(text, epochs, dataset)] = len(config_ids) + 1
                rows["config"].append({"id": len(config_ids), "arch": space201.to_nni(text), "num_epochs": epochs,
                                       "num_channels": 16, "num_cells": 5, "dataset": dataset})
    nan = (lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
    for index, record in records.items():
        for hp, state in record.items():
            epochs = 12 if hp == "12" else 200
            for (dataset, seed), r in state["all_results"].items():
                sp = NNI_SPLITS[dataset.lower()]
                k = epochs - 1
                trial = len(rows["stats"]) + 1
                rows["stats"].append({
                    "id": trial, "config": config_ids[(meta["meta_archs"][index], epochs, dataset.lower())],
                    "seed": seed, "train_acc": r["train_acc1es"][k], "valid_acc": r["eval_acc1es"][f"{sp[1]}@{k}"],
                    "test_acc": r["eval_acc1es"][f"{sp[2]}@{k}"], "ori_test_acc": r["eval_acc1es"][f"{sp[3]}@{k}"],
                    "train_loss": nan(r["train_losses"][k]), "valid_loss": nan(r["eval_losses"][f"{sp[1]}@{k}"]),
                    "test_loss": nan(r["eval_losses"][f"{sp[2]}@{k}"]),
                    "ori_test_loss": nan(r["eval_losses"][f"{sp[3]}@{k}"]), "parameters": float(r["params"]),
                    "latency": float(r["latency"][0]), "flops": float(r["flop"]),
                    "training_time": r["train_times"][k] * epochs,
                    "valid_evaluation_time": r["eval_times"][f"{sp[1]}@{k}"],
                    "test_evaluation_time": r["eval_times"][f"{sp[2]}@{k}"],
                    "ori_test_evaluation_time": r["eval_times"][f"{sp[3]}@{k}"]})
                for epoch in range(epochs):
                    values = {"train_acc": r["train_acc1es"].get(epoch),
                              "valid_acc": r["eval_acc1es"].get(f"{sp[1]}@{epoch}"),
                              "test_acc": r["eval_acc1es"].get(f"{sp[2]}@{epoch}"),
                              "ori_test_acc": r["eval_acc1es"].get(f"{sp[3]}@{epoch}"),
                              "train_loss": r["train_losses"].get(epoch),
                              "valid_loss": r["eval_losses"].get(f"{sp[1]}@{epoch}"),
                              "test_loss": r["eval_losses"].get(f"{sp[2]}@{epoch}"),
                              "ori_test_loss": r["eval_losses"].get(f"{sp[3]}@{epoch}")}
                    if all(v is None for v in values.values()):
                        continue
                    rows["intermediates"].append(dict({k2: nan(v) for k2, v in values.items()},
                                                      id=len(rows["intermediates"]) + 1, trial=trial,
                                                      current_epoch=epoch + 1))
    return rows


@pytest.fixture(scope="module")
def nb201_files(reference, tmp_path_factory):
    from nasbench_db.convert.nb201 import convert_nats_tss
    from nb201_fixture import TSS_DIR, load_simple

    ours = tmp_path_factory.mktemp("ours201")
    convert_nats_tss(TSS_DIR, ours, progress=False)
    nni_dir = tmp_path_factory.mktemp("nni201")
    meta, records = load_simple(TSS_DIR)
    reference.write(nni_dir / _db.NNI_FILE_NAMES["nb201"], "nb201", nb201_nni_rows(meta, records))
    return ours, nni_dir


TUTORIAL_201 = {"0_1": "avg_pool_3x3", "0_2": "conv_1x1", "1_2": "skip_connect", "0_3": "conv_1x1",
                "1_3": "skip_connect", "2_3": "skip_connect"}
NB201_CALLS = [
    {"arch": 11, "num_epochs": 200, "dataset": "cifar100"},
    {"arch": 11, "num_epochs": None, "dataset": "imagenet16-120", "include_intermediates": True},  # tutorial shape
    {"arch": 284, "num_epochs": 200, "dataset": None},          # several configs: NNI's config order
    {"arch": 0, "num_epochs": None, "dataset": None, "include_intermediates": True},
    {"arch": None, "num_epochs": 12, "dataset": "cifar10"},
    {"arch": None, "num_epochs": None, "dataset": None},         # no filter: trial order
    {"arch": 284, "num_epochs": None, "dataset": None, "reduction": "mean"},
    {"arch": 11, "num_epochs": 200.0, "dataset": "cifar10-valid", "include_intermediates": 1},
    {"arch": 11, "num_epochs": "12", "dataset": None},
    {"arch": "tutorial", "num_epochs": 200, "dataset": "cifar100"},  # NNI's tutorial arch (index 0)
]


def test_nb201_answers_equal_nni(reference, nb201_files, monkeypatch):
    ours_dir, nni_dir = nb201_files
    calls = []
    for spec in NB201_CALLS:
        arch = spec["arch"]
        arch = TUTORIAL_201 if arch == "tutorial" else (space201.to_nni(arch) if arch is not None else None)
        calls.append(dict(spec, arch=arch))
    answers = reference.query(nni_dir / _db.NNI_FILE_NAMES["nb201"], "nb201", calls)
    counts = []
    for kwargs, answer in zip(calls, answers):
        _use(monkeypatch, nni_dir)
        on_nni = list(query_nb201_trial_stats(**kwargs))
        _use(monkeypatch, ours_dir)
        on_ours = list(query_nb201_trial_stats(**kwargs))
        expected = answer["rows"]
        if kwargs.get("reduction") == "mean" and kwargs.get("include_intermediates"):
            expected = [dict(r, intermediates=on_nni[i]["intermediates"]) for i, r in enumerate(expected)]
        if kwargs.get("reduction") == "mean":  # documented: the architecture's cost, not NNI's average of copies
            for row, got in zip(expected, on_nni):
                for name in ("parameters", "flops"):
                    assert got[name] == pytest.approx(row[name], rel=1e-12)
                    row[name] = got[name]
        assert on_nni == expected, kwargs
        # ours: training time summed over epochs (NNI: last epoch x epochs; equal here up to rounding)
        for a, b in zip(on_ours, on_nni):
            assert a.pop("training_time") == pytest.approx(b.pop("training_time"), rel=1e-9)
        if kwargs.get("reduction") == "mean":
            assert close(strip_ids(on_ours), strip_ids(on_nni)), kwargs
        else:
            assert strip_ids(on_ours) == strip_ids(on_nni), kwargs
        counts.append(len(expected))
    assert counts[2] == 12 and len({r["config"]["dataset"] for r in answers[2]["rows"]}) == 4
    assert counts[-1] == 3 and counts[5] == 51


def test_nb201_models_read_nni_file(nb201_files, monkeypatch):
    from playhouse.shortcuts import model_to_dict

    from nasbench_db.models import Nb201IntermediateStats, Nb201TrialConfig, Nb201TrialStats

    ours_dir, nni_dir = nb201_files
    answers = {}
    for layout, directory in (("nasbench_db", ours_dir), ("nni", nni_dir)):
        _use(monkeypatch, directory)
        assert Nb201TrialStats.select().count() == 51
        first = Nb201TrialStats.select().order_by(Nb201TrialStats.id).first()
        assert Nb201TrialStats.get_by_id(first.id).seed == first.seed
        configs = list(Nb201TrialConfig.select().where(Nb201TrialConfig.arch == space201.to_nni(284),
                                                       Nb201TrialConfig.num_epochs == 200))
        assert len(configs) == 4 and all(c.arch == space201.to_nni(284) for c in configs)
        inter = Nb201IntermediateStats.select().where(Nb201IntermediateStats.current_epoch == 200).first()
        assert inter.trial.config.num_epochs == 200
        joined = list(Nb201TrialStats.select(Nb201TrialStats, Nb201TrialConfig).join(Nb201TrialConfig)
                      .where(Nb201TrialConfig.dataset == "cifar100", Nb201TrialConfig.num_epochs == 200)
                      .order_by(Nb201TrialStats.valid_acc))
        data = model_to_dict(joined[0])
        nni_keys = {"id", "config", "seed", "train_acc", "valid_acc", "test_acc", "ori_test_acc", "train_loss",
                    "valid_loss", "test_loss", "ori_test_loss", "parameters", "latency", "flops", "training_time",
                    "valid_evaluation_time", "test_evaluation_time", "ori_test_evaluation_time"}
        assert nni_keys <= set(data)
        if layout == "nni":  # our extra columns are absent from NNI's file and read as None
            assert all(data[k] is None for k in set(data) - nni_keys)
        answers[layout] = [(t.seed, t.valid_acc, t.config.arch) for t in joined]
        assert len(list(configs[0].trial_stats)) >= 1 and len(list(first.intermediates)) in (12, 200)
    assert answers["nni"] == answers["nasbench_db"]


# ----------------------------------------------------------------------------------------------------------------------
# NDS: NNI's file from the NDS fixture sweeps (same values as our converted tables: one mapping, NNI's)


def nds_nni_rows(path: Path) -> dict:
    """NNI's NDS rows: our converted tables hold NNI's mapping and ids, under NNI's column names."""
    import sqlite3

    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return {"config": [dict(r, model_spec=json.loads(r["model_spec"]), cell_spec=json.loads(r["cell_spec"]))
                       for r in conn.execute("SELECT * FROM ndstrialconfig ORDER BY id")],
            "stats": [{("config" if k == "config_id" else k): r[k] for k in r.keys()}
                      for r in conn.execute("SELECT * FROM ndstrialstats ORDER BY id")],
            "intermediates": [{("trial" if k == "trial_id" else k): r[k] for k in r.keys()}
                              for r in conn.execute("SELECT * FROM ndsintermediatestats ORDER BY id")]}


@pytest.fixture(scope="module")
def nds_files(reference, tmp_path_factory):
    import nds_fixture
    from nasbench_db.convert.nds import convert_nds
    from test_nds import CIFAR_EPOCHS, COUNTS, IMAGENET_EPOCHS

    sweeps = nds_fixture.build_sweeps(COUNTS, seed=11, epochs_cifar=CIFAR_EPOCHS, epochs_imagenet=IMAGENET_EPOCHS)
    source = nds_fixture.write_dir(tmp_path_factory.mktemp("nds_src") / "nds_data", sweeps)
    ours = tmp_path_factory.mktemp("oursnds")
    convert_nds(source, ours, progress=False)
    rows = nds_nni_rows(ours / "nds.db")
    nni_dir = tmp_path_factory.mktemp("nninds")
    reference.write(nni_dir / _db.NNI_FILE_NAMES["nds"], "nds", rows)
    return ours, nni_dir, rows


def test_nds_answers_equal_nni(reference, nds_files, monkeypatch):
    ours_dir, nni_dir, rows = nds_files
    basic = next(c for c in rows["config"] if c["model_family"] == "residual_basic")
    cell = next(c for c in rows["config"] if c["model_family"] == "nas_cell")
    calls = [
        {"model_family": "residual_basic", "proposer": "resnet", "generator": None, "model_spec": basic["model_spec"],
         "cell_spec": {}, "dataset": basic["dataset"]},
        {"model_family": "nas_cell", "proposer": None, "generator": None, "model_spec": cell["model_spec"],
         "cell_spec": cell["cell_spec"], "dataset": cell["dataset"], "include_intermediates": True},
        {"model_family": "vanilla", "proposer": None, "generator": None, "model_spec": None, "cell_spec": None,
         "dataset": None},
        {"model_family": None, "proposer": "amoeba", "generator": None, "model_spec": None, "cell_spec": None,
         "dataset": None, "num_epochs": None},
        {"model_family": None, "proposer": "resnet", "generator": None, "model_spec": None, "cell_spec": None,
         "dataset": "cifar10", "reduction": "mean"},
        {"model_family": None, "proposer": "darts", "generator": "fix_w_d", "model_spec": None, "cell_spec": None,
         "dataset": None, "num_epochs": str(basic["num_epochs"]), "include_intermediates": 1},
    ]
    answers = reference.query(nni_dir / _db.NNI_FILE_NAMES["nds"], "nds", calls)
    for kwargs, answer in zip(calls, answers):
        _use(monkeypatch, nni_dir)
        on_nni = list(query_nds_trial_stats(**kwargs))
        _use(monkeypatch, ours_dir)
        on_ours = list(query_nds_trial_stats(**kwargs))
        assert on_nni == answer["rows"], kwargs
        assert on_ours == on_nni, kwargs  # NDS ids are NNI's on our file too
        assert on_nni, kwargs


def test_nds_models_read_both_layouts(nds_files, monkeypatch):
    from nasbench_db.models import NdsTrialConfig, NdsTrialStats

    ours_dir, nni_dir, rows = nds_files
    spec = next(c for c in rows["config"] if c["model_family"] == "residual_basic")["model_spec"]
    found = {}
    for directory in (ours_dir, nni_dir):
        _use(monkeypatch, directory)
        configs = NdsTrialConfig.select().where(NdsTrialConfig.model_spec == dict(reversed(list(spec.items()))))
        found[str(directory)] = sorted((c.id, t.id, t.final_test_acc) for c in configs for t in c.trial_stats)
        assert NdsTrialStats.select().count() == len(rows["stats"])
    assert len(set(map(tuple, found.values()))) == 1 and list(found.values())[0]


# ----------------------------------------------------------------------------------------------------------------------
# NAS-Bench-NLP: NNI's file from the real WikiText-2 logs (db_gen: one config per file, 'OK' runs only, 50 epochs)


def nlp_nni_rows() -> dict:
    rows = {"config": [], "stats": [], "intermediates": []}
    with zipfile.ZipFile(DATA / "nas-bench-nlp" / "train_logs_wikitext-2_logs.zip") as archive:
        for info in archive.infolist():
            log = json.loads(archive.read(info))
            recipe = json.loads(log["recepie"])
            flat = {}
            for node, spec in recipe.items():
                flat[f"{node}_op"] = spec["op"]
                for i, name in enumerate(spec["input"]):
                    flat[f"{node}_input_{i}"] = name
            config = len(rows["config"]) + 1
            rows["config"].append({"id": config, "arch": flat, "dataset": log["data"][5:]})
            if log["status"] != "OK":
                continue
            trial = len(rows["stats"]) + 1
            rows["stats"].append({"id": trial, "config": config, "train_loss": log["train_losses"][-1],
                                  "val_loss": log["val_losses"][-1], "test_loss": log["test_losses"][-1],
                                  "training_time": log["wall_times"][-1]})
            for epoch in range(50):
                rows["intermediates"].append({
                    "id": len(rows["intermediates"]) + 1, "trial": trial, "current_epoch": epoch + 1,
                    "train_loss": log["train_losses"][epoch], "val_loss": log["val_losses"][epoch],
                    "test_loss": log["test_losses"][epoch], "training_time": log["wall_times"][epoch]})
    return rows


@pytest.fixture(scope="module")
def nlp_files(reference, tmp_path_factory):
    from nasbench_db.convert.nlp import convert_nlp

    ours = tmp_path_factory.mktemp("oursnlp")
    convert_nlp(DATA / "nas-bench-nlp" / "train_logs_wikitext-2_logs.zip", ours, progress=False)
    nni_dir = tmp_path_factory.mktemp("nninlp")
    rows = nlp_nni_rows()
    reference.write(nni_dir / "nlp.db", "nlp", rows)  # NNI's file name for NLP is ours too
    return ours, nni_dir, rows


def test_nlp_answers_equal_nni(reference, nlp_files, monkeypatch):
    ours_dir, nni_dir, rows = nlp_files
    arch_counts = {}
    for config in rows["config"]:
        arch_counts.setdefault(json.dumps(config["arch"], sort_keys=True), []).append(config["id"])
    repeated = json.loads(next(k for k, v in arch_counts.items() if len(v) > 1))
    single = json.loads(next(k for k, v in arch_counts.items() if len(v) == 1))
    calls = [
        {"arch": single, "dataset": "wikitext-2"},
        {"arch": repeated, "dataset": "wikitext-2", "include_intermediates": True},
        {"arch": repeated, "dataset": None},
        {"arch": None, "dataset": "wikitext-2"},
        {"arch": repeated, "dataset": "wikitext-2", "reduction": "mean"},
        {"arch": single, "dataset": "ptb"},
        {"arch": single, "dataset": "wikitext-2", "include_intermediates": 1},
        {"arch": None, "dataset": None},                              # NNI: TypeError (empty reduce)
        {"arch": single, "dataset": "ptb", "reduction": "mean"},      # NNI: one row of None
    ]
    answers = reference.query(nni_dir / "nlp.db", "nlp", calls)
    _use(monkeypatch, nni_dir)
    assert _db.open_benchmark("nlp").location.layout == "nni"
    for kwargs, answer in list(zip(calls, answers))[:7]:
        _use(monkeypatch, nni_dir)
        on_nni = list(query_nlp_trial_stats(**kwargs))
        _use(monkeypatch, ours_dir)
        on_ours = list(query_nlp_trial_stats(**kwargs))
        expected = answer["rows"]
        if kwargs.get("reduction") == "mean":  # NNI's config of an average is any of the rows': compare the rest
            expected = [dict(r, config=dict(r["config"], id=on_nni[i]["config"]["id"])) for i, r in
                        enumerate(expected)]
        assert on_nni == expected, kwargs
        if kwargs["arch"] is None:  # configs are numbered per file (NNI: one per log, in directory order)
            key = (lambda r: json.dumps(r, sort_keys=True))
            assert sorted(map(key, strip_ids(on_ours))) == sorted(map(key, strip_ids(on_nni))), kwargs
        else:
            assert strip_ids(on_ours) == strip_ids(on_nni), kwargs
    assert len(answers[1]["rows"]) == len(arch_counts[json.dumps(repeated, sort_keys=True)]) > 1
    # Documented differences: NNI raises TypeError with no condition; averages nothing into a row of None
    assert answers[7] == {"error": "TypeError"}
    assert answers[8]["rows"] == [{"id": None, "config": None, "train_loss": None, "val_loss": None,
                                   "test_loss": None, "training_time": None}]
    _use(monkeypatch, nni_dir)
    assert len(list(query_nlp_trial_stats(None, None))) == 341
    assert list(query_nlp_trial_stats(single, "ptb", reduction="mean")) == []
    assert list(query_nlp_trial_stats(None, None, status="loss is nan!")) == []  # NNI's file has none
    assert len(list(query_nlp_trial_stats(None, None, status=None))) == 341


def test_nlp_models_read_both_layouts(nlp_files, monkeypatch):
    from playhouse.shortcuts import model_to_dict

    from nasbench_db.models import NlpIntermediateStats, NlpTrialConfig, NlpTrialStats

    ours_dir, nni_dir, rows = nlp_files
    log = rows["stats"][7]
    arch = rows["config"][log["config"] - 1]["arch"]
    answers = {}
    for directory in (ours_dir, nni_dir):
        _use(monkeypatch, directory)
        assert NlpTrialStats.select().count() == 341
        trials = list(NlpTrialStats.select(NlpTrialStats, NlpTrialConfig).join(NlpTrialConfig)
                      .where(NlpTrialConfig.arch == arch))
        trial = next(t for t in trials if t.training_time == log["training_time"])
        intermediates = sorted(trial.intermediates, key=lambda i: i.current_epoch)
        assert [i.current_epoch for i in intermediates] == list(range(1, 51))
        assert intermediates[-1].training_time == trial.training_time and intermediates[0].trial.id == trial.id
        data = model_to_dict(trial)
        assert set(data) == {"id", "config", "train_loss", "val_loss", "test_loss", "training_time"}
        assert data["config"]["arch"] == arch
        answers[str(directory)] = (len(trials), data["val_loss"], trial.test_perplexity,
                                   NlpIntermediateStats.select().count())
    assert len(set(answers.values())) == 1


# ----------------------------------------------------------------------------------------------------------------------
# NNI's default directories (NASBENCHMARK_DIR unset) and NNI's unhashed file names


def test_nni_default_directories_are_searched_after_ours(nb101_files, nb201_files, tmp_path, monkeypatch):
    ours101, nni101 = nb101_files
    _, nni201 = nb201_files
    home = tmp_path / "home"
    monkeypatch.delenv("NASBENCHMARK_DIR")
    monkeypatch.delenv("NNI_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(home))
    _db.close_all()
    assert _db.search_dirs() == [home / ".cache/nasbench_db", home / ".cache/nni/nasbenchmark",
                                 home / ".nni/nasbenchmark"]
    with pytest.raises(FileNotFoundError, match="nasbench_db, .*nni/nasbenchmark or .*\\.nni/nasbenchmark"):
        list(query_nb101_trial_stats(INCEPTION, 108))
    # NNI 2.5+'s cache directory, NNI's hashed file name
    nni_cache = home / ".cache" / "nni" / "nasbenchmark"
    nni_cache.mkdir(parents=True)
    shutil.copy(nni101 / _db.NNI_FILE_NAMES["nb101"], nni_cache)
    rows = list(query_nb101_trial_stats(INCEPTION, 108))
    assert len(rows) == 3 and _db.locate("nb101").layout == "nni"
    # NNI 1.x-2.4's ~/.nni/nasbenchmark under our (unhashed) name: recognised by its tables
    legacy = home / ".nni" / "nasbenchmark"
    legacy.mkdir(parents=True)
    shutil.copy(nni201 / _db.NNI_FILE_NAMES["nb201"], legacy / "nasbench201.db")
    assert _db.locate("nb201") == _db.Location("nb201", "nni", str(legacy / "nasbench201.db"))
    assert len(list(query_nb201_trial_stats(11, 200, "cifar100"))) == 3
    # ours first
    ours = home / ".cache" / "nasbench_db"
    ours.mkdir(parents=True)
    shutil.copy(ours101 / "nasbench101.db", ours)
    _db.close_all()
    assert _db.locate("nb101").kind == "sqlite" and len(list(query_nb101_trial_stats(INCEPTION, 108))) == 3
    # NNI_HOME / XDG_CACHE_HOME as NNI reads them
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _db.nni_cache_dir() == tmp_path / "xdg" / "nni" / "nasbenchmark"
    monkeypatch.setenv("NNI_HOME", str(tmp_path / "nnihome"))
    assert _db.nni_cache_dir() == tmp_path / "nnihome" / "nasbenchmark"
    # NASBENCHMARK_DIR, when set, is the only place (NNI reads it too)
    monkeypatch.setenv("NASBENCHMARK_DIR", str(tmp_path / "elsewhere"))
    assert _db.search_dirs() == [tmp_path / "elsewhere"]


def test_constants_are_nni_values():
    from nasbench_db import query

    assert (query.INPUT, query.OUTPUT, query.CONV3X3_BN_RELU, query.CONV1X1_BN_RELU, query.MAXPOOL3X3) == (
        "input", "output", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
    assert query.LABEL2ID == {"input": -1, "output": -2, "conv3x3-bn-relu": 0, "conv1x1-bn-relu": 1, "maxpool3x3": 2}
    assert query.PRIMITIVES == ["none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3"]
    assert (query.NONE, query.SKIP_CONNECT, query.CONV_1X1, query.CONV_3X3, query.AVG_POOL_3X3) == tuple(
        query.PRIMITIVES)
    nds_ops = ["none", "skip_connect", "avg_pool_3x3", "max_pool_3x3", "max_pool_5x5", "max_pool_7x7", "conv_1x1",
               "conv_3x3", "conv_3x1_1x3", "conv_7x1_1x7", "dil_conv_3x3", "dil_conv_5x5", "sep_conv_3x3",
               "sep_conv_5x5", "sep_conv_7x7", "dil_sep_conv_3x3"]
    assert [getattr(query, name.upper()) for name in nds_ops] == nds_ops
    from nasbench_db.query import Nb101TrialStats, NlpTrialConfig  # NNI's model names, one import away

    assert Nb101TrialStats is models.Nb101TrialStats and NlpTrialConfig is models.NlpTrialConfig


@pytest.mark.skipif(not PEEWEE3, reason="NASBENCH_PEEWEE3 not set: the reference ran with the installed peewee "
                                        "(set it to a directory with peewee 3.x to run it under NNI's peewee)")
def test_reference_ran_under_nni_peewee(reference, nb101_files):
    assert reference.peewee.startswith("3.")
