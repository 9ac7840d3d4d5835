"""4 ingester processes x 1,000 training results and 8 reader processes at once: nothing lost or duplicated, no
reader error — on SQLite (WAL + busy timeout) and on PostgreSQL (locked transactions, upserts)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nasbench_db.convert.nb101 import convert_nb101
from nasbench_db.train import schema
from conftest import SAMPLE_TFRECORD

INGESTERS = 4
RESULTS_EACH = 1000
SHARED = 50  # results every ingester also loads: each must be stored once
READERS = 8

READER = r"""
import sys, time
from nasbench_db.query import query_nb101_trial_stats
deadline = time.time() + float(sys.argv[1])
reads = errors = 0
while time.time() < deadline:
    try:
        rows = list(query_nb101_trial_stats(None, 108, source=None))
        assert len(rows) >= 93, len(rows)
        reads += 1
    except Exception as exc:
        errors += 1
        print("reader error:", repr(exc), file=sys.stderr)
print(reads, errors)
"""

INGESTER = r"""
import sys
from nasbench_db.convert.results import convert_results
for directory in sys.argv[1:]:
    print(convert_results(directory).summary())
"""


def synthetic_result(cell: dict, epochs: int, seed: int) -> dict:
    """A format-1 NB-101 training result (as ``nasbench-db train`` writes) with made-up numbers."""
    rng = random.Random(seed)
    from nasbench_db.spaces import nb101 as space

    matrix = [list(r) for r in space.adjacency_to_matrix(cell["adjacency"])]

    def sets():
        return {name: {"acc": rng.uniform(10, 95), "loss": rng.uniform(0.1, 2), "correct": 1, "count": 2}
                for name in ("train", "valid", "test")}

    result = {
        "format": schema.FORMAT, "format_version": schema.FORMAT_VERSION, "space": "nb101",
        "arch": {"matrix": matrix, "ops": cell["operations"].split(",")}, "arch_hash": cell["hash"],
        "arch_index": None, "dataset": "cifar10", "data": {"scheme": "nb101", "sets": {}}, "epochs": epochs,
        "seed": seed, "parameters": cell["parameters"], "flops": 1.0, "protocol": {},
        "epoch_stats": [], "evaluations": [{"epoch": 0, "step": 0, "training_time": 0.0, "sets": sets()},
                                           {"epoch": epochs / 2, "step": 1, "training_time": 1.0, "sets": sets()},
                                           {"epoch": epochs, "step": 2, "training_time": 2.0, "sets": sets()}],
        "training_time": 2.0, "total_time": 3.0, "status": "completed",
        "device": {"type": "cpu", "name": f"test-cpu-{seed % 3}", "count": 1}, "runtime": {}, "software": {},
        "host": "test", "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:00:01+00:00",
    }
    return schema.seal(result)


def write_results(directory: Path, cells, seeds) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    keys = []
    for seed in seeds:
        cell = cells[seed % len(cells)]
        result = synthetic_result(cell, 108, seed)
        (directory / f"r{seed}.json").write_text(json.dumps(result))
        keys.append(result["result_key"])
    return keys


def run_race(tmp_path, env, nb101_real_cells):
    shared = tmp_path / "shared"
    write_results(shared, nb101_real_cells, range(10_000, 10_000 + SHARED))
    own = []
    for k in range(INGESTERS):
        directory = tmp_path / f"ingester{k}"
        write_results(directory, nb101_real_cells, range(k * RESULTS_EACH, (k + 1) * RESULTS_EACH))
        own.append(directory)
    readers = [subprocess.Popen([sys.executable, "-c", READER, "12"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(READERS)]
    time.sleep(0.5)
    started = time.perf_counter()
    ingesters = [subprocess.Popen([sys.executable, "-c", INGESTER, str(shared), str(d)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for d in own]
    for proc in ingesters:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    ingest_s = time.perf_counter() - started
    totals = [0, 0]
    for proc in readers:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        reads, errors = map(int, out.split())
        totals[0] += reads
        totals[1] += errors
    return ingest_s, totals


def check_counts():
    from nasbench_db.query import query_nb101_trial_stats

    trained = list(query_nb101_trial_stats(None, 108, source="trained"))
    assert len(trained) == INGESTERS * RESULTS_EACH + SHARED  # 0 lost, 0 duplicated
    original = list(query_nb101_trial_stats(None, None))
    assert len(original) == 102


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_ingesters_and_readers(backend, tmp_path, nb101_real_cells, monkeypatch, request):
    env = dict(os.environ)
    if backend == "postgresql":
        url = request.getfixturevalue("pg_url")
        env["NASBENCHMARK_DB_URL"] = url
    else:
        env["NASBENCHMARK_DIR"] = os.environ["NASBENCHMARK_DIR"]
    convert_nb101(SAMPLE_TFRECORD, progress=False)
    ingest_s, (reads, errors) = run_race(tmp_path, env, nb101_real_cells)
    assert errors == 0 and reads > 0
    check_counts()
    print(f"{backend}: {INGESTERS} x {RESULTS_EACH} results ingested in {ingest_s:.1f} s beside {READERS} readers "
          f"({reads} full reads, 0 errors)")
