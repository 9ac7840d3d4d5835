"""NAS-Bench-201 / NATS benchmark: synthetic full-scale inputs in the original formats, converted and queried.

Inputs are generated in the released layouts (see docs/nb201_nats.md), with the released shapes: per-epoch
curves for every seed and split, 200 (or 90) epochs, fresh per-epoch key strings in every dict, numpy scalars for
params and latency:

* ``pth``: NAS-Bench-201-v1_1 layout, torch's legacy (non-zip) format: 15,625 archs, 200-epoch runs on 4 datasets
  with 1/2/3 seeds for 2,225/5,439/7,961 archs, 12-epoch runs once per dataset (twice on cifar10-valid):
  226,069 trials, 30.5 M per-epoch rows (about 4.5 GB);
* ``tss``: NATS topology ``-simple/`` directory (one bz2 pickle per arch; hp '12' and '200', 3 seeds);
* ``tss-pbz2``: NATS topology single file ``.pickle.pbz2`` (the same records in one bz2 pickle);
* ``sss``: NATS size ``-simple/`` directory (32,768 archs; hp '01', '12' x 3 seeds, '90').

Figures, each beside a floor measured in the same run:

* conversion wall time and peak memory (RSS of the converter process; worker processes separately), against the
  floor of only reading the input (pickle / bz2 + pickle, no rows, no SQL);
* point query ``query_nb201_trial_stats(arch, 200, 'cifar100')`` p50 over random archs, against the same lookup in
  raw sqlite3;
* the full-table filter "best valid_acc on cifar100 at 200 epochs" through the peewee models, against raw SQL.

Usage::

    python bench/nb201_bench.py pth --archs 15625            # full scale v1_1 (about 4.5 GB input, 2.7 GB db)
    python bench/nb201_bench.py tss --archs 1500             # a fraction; extrapolated figures are labelled
    python bench/nb201_bench.py tss-pbz2 --archs 1000
    python bench/nb201_bench.py sss --archs 3000
    python bench/nb201_bench.py query --db-dir DIR           # queries on an existing database
    python bench/nb201_bench.py pth --work DIR --keep --pg postgresql://postgres@127.0.0.1:54329/x
                                       # ... then published into a PostgreSQL server: point query, top-10 there
"""

from __future__ import annotations

import argparse
import bz2
import json
import multiprocessing
import os
import pickle
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy  # noqa: E402

from nasbench_db.db import sqlite_uri  # noqa: E402
from nasbench_db.spaces import nats_sss as sss_space  # noqa: E402
from nasbench_db.spaces import nb201 as tss_space  # noqa: E402

FILE_DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
#: eval sets per dataset and which epochs carry them, as in the released files (200-epoch runs)
EVAL_NAMES = {"cifar10-valid": ("x-valid", "ori-test"), "cifar10": ("ori-test",),
              "cifar100": ("x-valid", "x-test", "ori-test"), "ImageNet16-120": ("x-valid", "x-test", "ori-test")}
LAST_ONLY_200 = {"cifar10-valid": ("ori-test",), "cifar100": ("x-valid", "x-test"),
                 "ImageNet16-120": ("x-valid", "x-test")}


class _Curves:
    """A pool of per-epoch value lists (Python floats) to draw from: generating 30 M fresh randoms costs minutes."""

    def __init__(self, seed: int = 0, variants: int = 97):
        rng = numpy.random.default_rng(seed)
        self.pool = {}
        for epochs in (1, 12, 90, 200):
            base = 100 * (1 - numpy.exp(-numpy.arange(1, epochs + 1) / (epochs / 4)))
            self.pool[epochs] = [(base * rng.uniform(0.5, 0.99) + rng.normal(0, 0.3, epochs)).tolist()
                                 for _ in range(variants)]
        self.counter = 0

    def take(self, epochs: int) -> list:
        self.counter += 1
        pool = self.pool[epochs]
        return pool[self.counter % len(pool)]


def _np_float(value: float):
    return numpy.float64(value)


def synth_result(curves: _Curves, dataset: str, seed: int, epochs: int, arch_str: str, space: str) -> dict:
    """One ResultsCount state dict shaped like the released ones (fresh key strings in every dict)."""
    eval_names = EVAL_NAMES[dataset]
    last_only = LAST_ONLY_200.get(dataset, ()) if epochs == 200 else ()
    eval_acc, eval_loss, eval_time = {}, {}, {}
    for name in eval_names:
        accs = curves.take(epochs)
        losses = curves.take(epochs)
        for e in range(epochs):
            if name not in last_only or e == epochs - 1:
                eval_acc[f"{name}@{e}"] = accs[e]
                eval_loss[f"{name}@{e}"] = losses[e] / 50.0
            eval_time[f"{name}@{e}"] = 1.5 + seed / 1000.0
    train = curves.take(epochs)
    result = {
        "name": dataset,
        "train_acc1es": dict(zip(range(epochs), train)),
        "train_acc5es": dict(zip(range(epochs), curves.take(epochs))) if epochs != 200 else None,
        "train_losses": dict(zip(range(epochs), [v / 40.0 for v in curves.take(epochs)])),
        "train_times": OrderedDict(zip(range(epochs), [12.5] * epochs)),
        "arch_config": {"channel": 16, "num_cells": 5, "arch_str": arch_str, "class_num": CLASSES[dataset]},
        "params": _np_float(0.8),
        "flop": 113.95137,
        "seed": f"{seed:04d}",
        "epochs": epochs,
        "latency": [_np_float(0.0161)],
        "eval_names": list(eval_names),
        "eval_acc1es": eval_acc,
        "eval_times": eval_time,
        "eval_losses": eval_loss,
        "net_state_dict": None,
    }
    if space == "sss":
        result["arch_config"] = {"name": "infer.shape.tiny", "channels": arch_str, "arch_str": arch_str,
                                 "genotype": sss_space.CELL, "class_num": CLASSES[dataset]}
    return result


def _arch_results(curves, index, arch_str, epochs, plan, space):
    all_results = OrderedDict()
    dataset_seed = {}
    for dataset, seeds in plan:
        dataset_seed[dataset] = list(seeds)
        for seed in seeds:
            all_results[(dataset, seed)] = synth_result(curves, dataset, seed, epochs, arch_str, space)
    return {"arch_index": index, "arch_str": arch_str, "all_results": all_results, "dataset_seed": dataset_seed,
            "clear_net_done": True}


def v1_1_seeds_200(index: int) -> tuple:
    """1, 2 or 3 seeds for 2,225 / 5,439 / 7,961 archs, as NAS-Bench-201 v1_1."""
    if index < 2225:
        return (777,)
    if index < 2225 + 5439:
        return (777, 888)
    return (777, 888, 999)


def tss_record(curves, index: int, hp_names=("less", "full"), seeds_200=None) -> "OrderedDict":
    arch_str = tss_space.arch_str(index)
    seeds = seeds_200 or v1_1_seeds_200(index)
    plan_12 = [(d, (111, 777) if d == "cifar10-valid" else (111,)) for d in FILE_DATASETS]
    plan_200 = [(d, seeds) for d in FILE_DATASETS]
    return OrderedDict([(hp_names[0], _arch_results(curves, index, arch_str, 12, plan_12, "tss")),
                        (hp_names[1], _arch_results(curves, index, arch_str, 200, plan_200, "tss"))])


def sss_record(curves, index: int) -> "OrderedDict":
    arch_str = sss_space.arch_str(index)
    return OrderedDict([
        ("01", _arch_results(curves, index, arch_str, 1, [(d, (777,)) for d in FILE_DATASETS], "sss")),
        ("12", _arch_results(curves, index, arch_str, 12, [(d, (777, 888, 999)) for d in FILE_DATASETS], "sss")),
        ("90", _arch_results(curves, index, arch_str, 90, [(d, (777,)) for d in FILE_DATASETS], "sss")),
    ])


# --------------------------------------------------------------------------------------------------------------------
# Writers


def _body(obj) -> bytes:
    """Protocol-2 opcodes of ``obj`` without PROTO and STOP (its own memo ids; a valid pickle fragment)."""
    data = pickle.dumps(obj, protocol=2)
    assert data[:2] == b"\x80\x02" and data[-1:] == b"."
    return data[2:-1]


def _int_op(value: int) -> bytes:
    if value < 256:
        return b"K" + bytes([value])
    if value < 65536:
        return b"M" + value.to_bytes(2, "little")
    return b"J" + value.to_bytes(4, "little", signed=True)


def write_pth(path: Path, num_archs: int, seed: int = 0, nats: bool = False) -> dict:
    """NAS-Bench-201 v1_1 layout in torch's legacy format, streamed arch by arch (bounded memory).

    ``nats``: NATS's single-file topology archive instead: the same dict with hp '12'/'200' and 3 seeds, no torch
    header, bz2-compressed (``.pickle.pbz2``).
    """
    curves = _Curves(seed)
    # a fraction takes evenly spaced indices, so the 1/2/3-seed mix of v1_1 stays representative
    indices = sorted({round(k * tss_space.NUM_ARCHS / num_archs) for k in range(num_archs)})
    trials = rows = 0
    with (bz2.open(path, "wb", compresslevel=9) if nats else open(path, "wb")) as out:
        # torch legacy header: magic number, protocol version, system info
        for header in (() if nats else (0x1950A86A20F9469CFC6C, 1001,
                                        {"protocol_version": 1001, "little_endian": True,
                                         "type_sizes": {"short": 2, "int": 4, "long": 4}})):
            out.write(pickle.dumps(header, protocol=2))
        out.write(b"\x80\x02}(")  # top dict, MARK
        out.write(_body("meta_archs") + _body(tss_space.meta_archs()))
        out.write(_body("total_archs") + _int_op(tss_space.NUM_ARCHS))
        out.write(_body("arch2infos") + b"}")
        for start in range(0, num_archs, 1000):
            out.write(b"(")
            for index in indices[start:start + 1000]:
                record = tss_record(curves, index, ("12", "200"), (777, 888, 999)) if nats else \
                    tss_record(curves, index)
                for state in record.values():
                    for result in state["all_results"].values():
                        trials += 1
                        rows += result["epochs"]
                out.write(_int_op(index) + _body(record))
            out.write(b"u")
        out.write(_body("evaluated_indexes") + _body(indices))
        out.write(b"u.")
        if not nats:
            out.write(pickle.dumps([], protocol=2))  # storage keys of the legacy format: none
    return {"archs": num_archs, "trials": trials, "rows": rows, "bytes": path.stat().st_size}


def _write_simple_file(task):
    directory, space, index = task
    curves = _Curves(index % 7)
    curves.counter = index
    record = tss_record(curves, index, ("12", "200"), (777, 888, 999)) if space == "tss" else \
        sss_record(curves, index)
    data = bz2.compress(pickle.dumps(record, protocol=4), 9)
    (Path(directory) / f"{index:06d}.pickle.pbz2").write_bytes(data)
    trials = sum(len(state["all_results"]) for state in record.values())
    rows = sum(r["epochs"] for state in record.values() for r in state["all_results"].values())
    return trials, rows, len(data)


def write_simple_dir(directory: Path, space: str, num_archs: int, jobs: int) -> dict:
    """A NATS ``-simple/`` directory: meta.pickle.pbz2 plus one bz2 pickle per index (0..num_archs-1)."""
    directory.mkdir(parents=True, exist_ok=True)
    meta_archs = tss_space.meta_archs() if space == "tss" else sss_space.meta_archs()
    meta = {"meta_archs": meta_archs, "total_archs": len(meta_archs), "arch2infos": None,
            "evaluated_indexes": set()}
    (directory / "meta.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps(meta, protocol=4)))
    tasks = [(str(directory), space, i) for i in range(num_archs)]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        done = pool.map(_write_simple_file, tasks, chunksize=16)
    return {"archs": num_archs, "trials": sum(d[0] for d in done), "rows": sum(d[1] for d in done),
            "bytes": sum(d[2] for d in done)}


# --------------------------------------------------------------------------------------------------------------------
# Measurements


def run_measured(code: str) -> dict:
    """Run python ``code`` in a child process; wall seconds, peak RSS of it (MB) and of its own children."""
    wrapper = (code + "\nimport resource, json\n"
               "print('RUSAGE', json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
               "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True,
                          cwd=str(HERE.parent))
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stdout}\n{proc.stderr}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RUSAGE ")][-1]
    own, children = json.loads(line[7:])
    out = [ln for ln in proc.stdout.splitlines() if not ln.startswith("RUSAGE ")]
    return {"seconds": wall, "peak_mb": own / 1024, "children_peak_mb": children / 1024, "output": out}


def floor_read_pth(path: Path) -> dict:
    """I/O floor: read and sha256 the whole file (the converter does both; C pickle.load would need ~30 GB)."""
    code = (f"import hashlib\nh = hashlib.sha256()\nf = open({str(path)!r}, 'rb')\n"
            "while True:\n    b = f.read(8 << 20)\n    if not b: break\n    h.update(b)\nprint(h.hexdigest())")
    return run_measured(code)


def floor_read_bz2(path: Path) -> dict:
    """Floor: decompress the whole .pickle.pbz2 (the converter does this in a thread beside the reader)."""
    code = (f"import bz2\nf = bz2.BZ2File({str(path)!r})\nn = 0\n"
            "while True:\n    b = f.read(8 << 20)\n    if not b: break\n    n += len(b)\nprint(n)")
    return run_measured(code)


def floor_sql(rows: int) -> dict:
    """SQL floor: executemany of ``rows`` prebuilt 10-value rows into an empty WITHOUT ROWID epoch table."""
    code = f"""
import sqlite3, os, tempfile, itertools
path = os.path.join(tempfile.mkdtemp(), 'floor.db')
c = sqlite3.connect(path, isolation_level=None)
for p in ('journal_mode=off', 'synchronous=off', 'cache_size=-262144', 'locking_mode=exclusive'):
    c.execute('PRAGMA ' + p)
c.execute('CREATE TABLE e (trial_id INTEGER NOT NULL, current_epoch INTEGER NOT NULL, a REAL, b REAL, c REAL, '
          'd REAL, e REAL, f REAL, g REAL, h REAL, PRIMARY KEY (trial_id, current_epoch)) WITHOUT ROWID')
c.execute('BEGIN')
done = 0
values = (61.5, 60.25, None, 59.75, 0.95, 1.01, None, 1.02)
while done < {rows}:
    n = min(200000, {rows} - done)
    c.executemany('INSERT INTO e VALUES (?,?,?,?,?,?,?,?,?,?)',
                  ((k // 200 + 1, k % 200 + 1) + values for k in range(done, done + n)))
    done += n
c.execute('COMMIT')
os.remove(path)
print(done)
"""
    return run_measured(code)


def floor_read_simple(directory: Path) -> dict:
    """Floor: bz2-decompress and unpickle every file (one process), nothing else."""
    code = (f"import bz2, pickle, os\nd = {str(directory)!r}\nn = 0\n"
            "for name in sorted(os.listdir(d)):\n"
            "    if name.endswith('.pickle.pbz2') and name != 'meta.pickle.pbz2':\n"
            "        pickle.loads(bz2.decompress(open(os.path.join(d, name), 'rb').read())); n += 1\n"
            "print(n)")
    return run_measured(code)


def convert_measured(kind: str, source: Path, db_dir: Path, jobs: int | None = None) -> dict:
    call = {"pth": f"convert_nb201({str(source)!r}, {str(db_dir)!r}, progress=False)",
            "tss-pbz2": f"convert_nats_tss({str(source)!r}, {str(db_dir)!r}, progress=False)",
            "tss": f"convert_nats_tss({str(source)!r}, {str(db_dir)!r}, progress=False, jobs={jobs})",
            "sss": f"convert_nats_sss({str(source)!r}, {str(db_dir)!r}, progress=False, jobs={jobs})"}[kind]
    code = ("from nasbench_db.convert.nb201 import convert_nb201, convert_nats_tss, convert_nats_sss\n"
            f"report = {call}\nprint(report.summary())")
    return run_measured(code)


def _percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench_queries(db_dir: Path, benchmark: str = "nb201", samples: int = 2000) -> dict:
    os.environ["NASBENCHMARK_DIR"] = str(db_dir)
    from nasbench_db import db as _db
    from nasbench_db.query import query_nats_sss_trial_stats, query_nb201_trial_stats

    _db.close_all()
    path = db_dir / ("nasbench201.db" if benchmark == "nb201" else "nats_sss.db")
    raw = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True)
    config = "nb201trialconfig" if benchmark == "nb201" else "nats_sss_trialconfig"
    trial = "nb201trialstats" if benchmark == "nb201" else "nats_sss_trialstats"
    archs = [r[0] for r in raw.execute(f"SELECT DISTINCT c.arch_index FROM {trial} t JOIN {config} c "
                                       "ON c.id = t.config_id")]
    rng = random.Random(0)
    picks = [rng.choice(archs) for _ in range(samples)]
    epochs = 200 if benchmark == "nb201" else 90
    query = query_nb201_trial_stats if benchmark == "nb201" else query_nats_sss_trial_stats
    list(query(picks[0], epochs, "cifar100"))  # open the connection once
    api = []
    found = 0
    for arch in picks:
        started = time.perf_counter()
        rows = list(query(arch, epochs, "cifar100"))
        api.append(time.perf_counter() - started)
        found += len(rows)
    sql = (f"SELECT t.* FROM {trial} t JOIN {config} c ON c.id = t.config_id "
           "WHERE c.arch_index = ? AND c.num_epochs = ? AND c.dataset = ?")
    floor = []
    for arch in picks:
        started = time.perf_counter()
        raw.execute(sql, (arch, epochs, "cifar100")).fetchall()
        floor.append(time.perf_counter() - started)
    inter = []
    for arch in picks[:300]:
        started = time.perf_counter()
        list(query(arch, epochs, "cifar100", include_intermediates=True))
        inter.append(time.perf_counter() - started)
    result = {"archs_with_trials": len(archs), "rows_per_query": found / samples,
              "api_p50_us": 1e6 * _percentile(api, 0.5), "api_p90_us": 1e6 * _percentile(api, 0.9),
              "raw_sql_p50_us": 1e6 * _percentile(floor, 0.5),
              "with_intermediates_p50_us": 1e6 * _percentile(inter, 0.5)}
    # full-table filter: best valid_acc on cifar100 at 200 epochs, through the models (peewee) and raw SQL
    if benchmark == "nb201":
        from nasbench_db.models import Nb201TrialConfig as Config
        from nasbench_db.models import Nb201TrialStats as Stats
    else:
        from nasbench_db.models import NatsSssTrialConfig as Config
        from nasbench_db.models import NatsSssTrialStats as Stats
    times, raw_times = [], []
    best = None
    for _ in range(5):
        started = time.perf_counter()
        best = (Stats.select(Stats.id, Stats.valid_acc, Config.arch_index).join(Config)
                .where((Config.dataset == "cifar100") & (Config.num_epochs == epochs))
                .order_by(Stats.valid_acc.desc()).limit(1).tuples().first())
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
        raw.execute(f"SELECT t.id, t.valid_acc, c.arch_index FROM {trial} t JOIN {config} c ON c.id = t.config_id "
                    "WHERE c.dataset = 'cifar100' AND c.num_epochs = ? ORDER BY t.valid_acc DESC LIMIT 1",
                    (epochs,)).fetchall()
        raw_times.append(time.perf_counter() - started)
    mean_times = []
    for _ in range(3):
        started = time.perf_counter()
        rows = list(query(None, epochs, "cifar100", reduction="mean"))
        mean_times.append(time.perf_counter() - started)
    total = raw.execute(f"SELECT COUNT(*) FROM {trial}").fetchone()[0]
    result.update({"trials_in_db": total, "filter_best_valid_s": min(times), "filter_raw_sql_s": min(raw_times),
                   "filter_best": best, "mean_all_archs_cifar100_s": min(mean_times),
                   "mean_all_archs_rows": len(rows)})
    raw.close()
    return result


def bench_pg(db_dir: Path, benchmark: str, url: str, publish_first: bool = True, samples: int = 2000) -> dict:
    """The database of ``db_dir`` published into the PostgreSQL server at ``url`` (loopback): the point query's
    p50 / p99 there beside the same calls on the SQLite file, and a top-10 by mean valid_acc over every config of a
    dataset on both."""
    from nasbench_db import db as _db
    from nasbench_db.analysis import top_k
    from nasbench_db.convert._server import publish
    from nasbench_db.models import NATS_SSS_TABLES, NATS_SSS_VIEWS, NB201_TABLES, NB201_VIEWS
    from nasbench_db.query import query_nats_sss_trial_stats, query_nb201_trial_stats

    sss = benchmark == "nats_sss"
    path = db_dir / ("nats_sss.db" if sss else "nasbench201.db")
    result = {}
    if publish_first:
        started = time.perf_counter()
        tables, views = (NATS_SSS_TABLES, NATS_SSS_VIEWS) if sss else (NB201_TABLES, NB201_VIEWS)
        counts = publish(path, url, benchmark, list(tables), views)
        result["publish_s"] = time.perf_counter() - started
        result["published_rows"] = sum(counts.values())
    raw = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True)
    config = "nats_sss_trialconfig" if sss else "nb201trialconfig"
    archs = [r[0] for r in raw.execute(f"SELECT DISTINCT arch_index FROM {config}")]
    raw.close()
    rng = random.Random(1)
    picks = [rng.choice(archs) for _ in range(samples)]
    epochs = 90 if sss else 200
    query = query_nats_sss_trial_stats if sss else query_nb201_trial_stats
    tops = {}
    for where, environ in (("sqlite", {"NASBENCHMARK_DIR": str(db_dir)}), ("postgresql", {"NASBENCHMARK_DB_URL": url})):
        os.environ.pop("NASBENCHMARK_DB_URL", None)
        os.environ.update(environ)
        _db.close_all()
        for arch in picks[:200]:  # warm: connection, statements, the server's buffers
            list(query(arch, epochs, "cifar100"))
        times = []
        for arch in picks:
            started = time.perf_counter()
            list(query(arch, epochs, "cifar100"))
            times.append(time.perf_counter() - started)
        result[f"{where}_point_p50_us"] = 1e6 * _percentile(times, 0.5)
        result[f"{where}_point_p99_us"] = 1e6 * _percentile(times, 0.99)
        ranking = []
        for _ in range(3):
            started = time.perf_counter()
            top = top_k(benchmark, 10, "valid_acc", epochs=epochs, dataset="cifar100")
            ranking.append(time.perf_counter() - started)
        result[f"{where}_top10_mean_valid_acc_s"] = min(ranking)
        # ids only: SQLite sums with compensation (3.43+) and PostgreSQL does not, so a mean of 3 runs may differ
        # in its last bit
        tops[where] = [row["config"]["id"] for row in top]
    os.environ.pop("NASBENCHMARK_DB_URL", None)
    _db.close_all()
    result["same_top10_on_both"] = tops["sqlite"] == tops["postgresql"]
    result["load_average"] = os.getloadavg()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["pth", "tss", "tss-pbz2", "sss", "query"])
    parser.add_argument("--archs", type=int, default=None, help="architectures to generate (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for generation and -simple conversion")
    parser.add_argument("--work", type=Path, default=None, help="directory for inputs and databases")
    parser.add_argument("--keep", action="store_true", help="keep the generated input and database")
    parser.add_argument("--db-dir", type=Path, default=None, help="query: the database directory")
    parser.add_argument("--no-floor", action="store_true", help="skip the read-only floors")
    parser.add_argument("--pg", default=None, help="a PostgreSQL URL: publish the database there and measure")
    parser.add_argument("--no-publish", action="store_true", help="--pg: the server already holds this database")
    args = parser.parse_args()

    if args.kind == "query":
        for benchmark in ("nb201", "nats_sss"):
            name = "nasbench201.db" if benchmark == "nb201" else "nats_sss.db"
            if (args.db_dir / name).is_file():
                print(benchmark, json.dumps(bench_queries(args.db_dir, benchmark), indent=2))
                if args.pg:
                    print(benchmark, "PostgreSQL:", json.dumps(
                        bench_pg(args.db_dir, benchmark, args.pg, not args.no_publish), indent=2))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="nb201bench-"))
    work.mkdir(parents=True, exist_ok=True)
    db_dir = work / "db"
    total = {"pth": tss_space.NUM_ARCHS, "tss": tss_space.NUM_ARCHS, "tss-pbz2": tss_space.NUM_ARCHS,
             "sss": sss_space.NUM_ARCHS}[args.kind]
    num_archs = min(args.archs or total, total)
    fraction = num_archs / total
    print(f"{args.kind}: {num_archs:,} of {total:,} architectures ({fraction:.1%}); work dir {work}")
    started = time.perf_counter()
    if args.kind == "pth":
        source = work / "NAS-Bench-201-v1_1-synthetic.pth"
        info = write_pth(source, num_archs)
    elif args.kind == "tss-pbz2":
        source = work / "NATS-tss-synthetic.pickle.pbz2"
        info = write_pth(source, num_archs, nats=True)
    else:
        source = work / f"NATS-{args.kind}-synthetic-simple"
        info = write_simple_dir(source, args.kind, num_archs, args.jobs)
    print(f"generated {info['trials']:,} trials, {info['rows']:,} per-epoch rows, {info['bytes'] / 1e9:.2f} GB "
          f"in {time.perf_counter() - started:.0f} s")
    if not args.no_floor:
        floor = {"pth": floor_read_pth, "tss-pbz2": floor_read_bz2}.get(args.kind, floor_read_simple)(source)
        what = {"pth": "read + sha256 of the file", "tss-pbz2": "bz2 decompression of the file"}.get(
            args.kind, "bz2 + C pickle.loads of every file, 1 process")
        print(f"floor, input ({what}): {floor['seconds']:.1f} s, peak {floor['peak_mb']:,.0f} MB")
        sql_floor = floor_sql(info["rows"])
        print(f"floor, SQL (executemany of {info['rows']:,} prebuilt epoch rows): {sql_floor['seconds']:.1f} s")
    shutil.rmtree(db_dir, ignore_errors=True)
    measured = convert_measured(args.kind, source, db_dir, args.jobs)
    print("\n".join(measured["output"]))
    db_file = db_dir / ("nats_sss.db" if args.kind == "sss" else "nasbench201.db")
    print(f"conversion: {measured['seconds']:.1f} s, peak RSS {measured['peak_mb']:,.0f} MB (workers: "
          f"{measured['children_peak_mb']:,.0f} MB each at most), database {db_file.stat().st_size / 1e9:.2f} GB")
    if fraction < 1:
        print(f"EXTRAPOLATED to all {total:,} archs (linear in archs): conversion ~{measured['seconds'] / fraction:.0f} s"
              + ("" if args.no_floor else f", input floor ~{floor['seconds'] / fraction:.0f} s, SQL floor "
                                          f"~{sql_floor['seconds'] / fraction:.0f} s"))
    queries = bench_queries(db_dir, "nats_sss" if args.kind == "sss" else "nb201")
    print("queries:", json.dumps(queries, indent=2))
    if args.pg:
        benchmark = "nats_sss" if args.kind == "sss" else "nb201"
        print("PostgreSQL:", json.dumps(bench_pg(db_dir, benchmark, args.pg, not args.no_publish), indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
