"""NB-101 benchmark: synthetic full-scale TFRecord in the original format, conversion, size, cold start, queries.

Generates N random valid cells (real NB-101 hashes of their pruned graphs) x 4 epoch budgets x 3 repeats in the exact
``nasbench_full.tfrecord`` format (framing, masked CRC-32C, JSON payload, base64 ModelMetrics protobuf with 3
evaluations and total_time), then prints each figure beside its floor measured in the same run:

* conversion records/s   vs a bare parse loop (framing + CRC + JSON + base64 + protobuf, no hashing, no SQL)
* database bytes per trial (and the extrapolation to 5,083,488 trials)
* cold start: first answer in a new process after import
* point query p50/p99    vs a raw sqlite3 lookup of the same rows

Usage::

    python bench/nb101_bench.py --cells 423624          # full scale (about 2 GB of input)
    python bench/nb101_bench.py --cells 40000           # a quick run; figures per record are scale-free
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nasbench_db.db import sqlite_uri  # noqa: E402
from nasbench_db.convert.nb101 import (Evaluation, convert_nb101, decode_model_metrics,  # noqa: E402
                                       encode_model_metrics)
from nasbench_db.convert.tfrecord import encode_record, iter_records  # noqa: E402
from nasbench_db.spaces import nb101 as space  # noqa: E402

FULL_TRIALS = 5_083_488
_F32 = struct.Struct("<f")


def f32(x: float) -> float:
    """Round to float32 as the released file's values are."""
    return _F32.unpack(_F32.pack(x))[0]


def all_cells():
    """Every NB-101 cell as the original enumeration finds it (first-seen representative per hash): 423,624."""
    seen = set()
    cells = []
    for num_vertices in range(2, space.MAX_VERTICES + 1):
        for matrix, ops in space.enumerate_labelled(num_vertices):
            digest = space.graph_hash(matrix, space.labeling(ops))
            if digest not in seen:
                seen.add(digest)
                cells.append((digest, space.matrix_to_adjacency(matrix), ",".join(ops)))
    return cells


def synthetic_cells(count: int, seed: int):
    """``count`` distinct valid cells as (hash, adjacency, operations, parameters), sorted by hash like the file.

    Large counts draw from the full enumeration (random sampling would take forever to find the last cells);
    small ones rejection-sample random cells with the real space's vertex-count mix.
    """
    rng = random.Random(seed)
    if count > 50_000:
        pool = all_cells()
        picked = rng.sample(pool, count) if count < len(pool) else pool
        cells = [(d, a, o, rng.randrange(200_000, 40_000_000)) for d, a, o in picked]
        cells.sort()
        return cells
    seen = set()
    cells = []
    while len(cells) < count:
        # Vertex counts as in the real space (359,082 / 62,010 / 2,441 unique cells with 7 / 6 / 5 vertices).
        num_vertices = rng.choices((7, 6, 5), weights=(359_082, 62_010, 2_441))[0]
        matrix, ops = space.random_cell(rng, num_vertices)
        pmatrix, pops, digest = space.canonical(matrix, ops)
        if digest in seen:
            continue
        seen.add(digest)
        cells.append((digest, space.matrix_to_adjacency(pmatrix), ",".join(pops), rng.randrange(200_000, 40_000_000)))
    cells.sort()
    return cells


def write_synthetic(path: Path, cells, seed: int) -> int:
    rng = random.Random(seed + 1)
    count = 0
    with open(path, "wb", buffering=8 << 20) as handle:
        for digest, adjacency, operations, parameters in cells:
            for epochs in space.EPOCHS:
                for _ in range(3):
                    final_time = f32(epochs * rng.uniform(8, 20))
                    half = Evaluation(epochs / 2, f32(final_time / 2), f32(rng.randrange(9984) / 9984),
                                      f32(rng.randrange(9984) / 9984), f32(rng.randrange(9984) / 9984))
                    final = Evaluation(float(epochs), final_time, f32(rng.randrange(9984) / 9984),
                                       f32(rng.randrange(9984) / 9984), f32(rng.randrange(9984) / 9984))
                    step0 = Evaluation(0.0, 0.0, 0.1, 0.1, 0.1)
                    metrics = encode_model_metrics([step0, half, final], parameters, f32(final_time * 1.1))
                    payload = json.dumps([digest, epochs, adjacency, operations,
                                          base64.b64encode(metrics).decode("ascii")]).encode()
                    handle.write(encode_record(payload))
                    count += 1
    return count


def bare_parse(path: Path) -> float:
    """Seconds for the floor: read every record and decode it, nothing else."""
    started = time.perf_counter()
    for _, _, data in iter_records(path):
        _, _, _, _, raw = json.loads(data)
        decode_model_metrics(base64.b64decode(raw))
    return time.perf_counter() - started


COLD_START = r"""
import sys, time
t0 = time.perf_counter()
from nasbench_db.query import query_nb101_trial_stats
t1 = time.perf_counter()
rows = list(query_nb101_trial_stats({"matrix": MATRIX, "ops": OPS}, 108))
t2 = time.perf_counter()
assert len(rows) == 3, rows
print(f"{(t1 - t0) * 1e3:.1f} {(t2 - t1) * 1e3:.1f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=40_000, help="distinct cells (423624 = full scale)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--workdir", default=None, help="where to write the file and database (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file and database")
    parser.add_argument("--reuse", action="store_true", help="reuse WORKDIR/synthetic_full.tfrecord if present")
    parser.add_argument("--generate-only", action="store_true", help="write the file and stop")
    parser.add_argument("--queries-only", action="store_true",
                        help="skip the conversion and measure queries on WORKDIR/nasbench101.db")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="nb101bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    tfrecord = workdir / "synthetic_full.tfrecord"
    t = time.perf_counter()
    if args.reuse and tfrecord.exists():
        cells = None
        records = sum(1 for _ in iter_records(tfrecord, verify_crc=False))
        print(f"reusing {tfrecord} ({records:,} records)")
    else:
        cells = synthetic_cells(args.cells, args.seed)
        records = write_synthetic(tfrecord, cells, args.seed)
        print(f"generated {records:,} records ({tfrecord.stat().st_size / 1e6:,.0f} MB) for {len(cells):,} cells "
              f"in {time.perf_counter() - t:.0f} s")
    if args.generate_only:
        return

    db_path = workdir / "nasbench101.db"
    if not args.queries_only:
        floor_s = bare_parse(tfrecord)
        import resource

        report = convert_nb101(tfrecord, workdir, progress=False)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"conversion: {records / report.seconds:,.0f} records/s ({report.seconds:.1f} s); "
              f"floor (bare parse loop): {records / floor_s:,.0f} records/s ({floor_s:.1f} s); "
              f"goal >= 28,000 records/s")
        print(f"  full-file projection: {FULL_TRIALS / (records / report.seconds) / 60:.1f} min (goal <= 3 min); "
              f"peak RSS of this process so far {peak_mb:,.0f} MB")
    if cells is None:
        with sqlite3.connect(db_path) as conn:
            cells = conn.execute("SELECT hash, adjacency, operations, parameters FROM nb101_arch").fetchall()
    size = db_path.stat().st_size
    print(f"database: {size / 1e6:,.1f} MB, {size / records:.1f} bytes per trial; "
          f"projected for 5,083,488 trials: {size / records * FULL_TRIALS / 1e9:.2f} GB (goal <= 0.6 GB)")

    # Cold start: a fresh interpreter, import, first answer.
    digest, adjacency, operations, _ = cells[len(cells) // 2]
    matrix = [list(r) for r in space.adjacency_to_matrix(adjacency)]
    code = COLD_START.replace("MATRIX", repr(matrix)).replace("OPS", repr(operations.split(",")))
    env = dict(os.environ, NASBENCHMARK_DIR=str(workdir), PYTHONPATH=str(HERE.parent))
    samples = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        samples.append([float(x) for x in out.stdout.split()])
    imports = statistics.median(s[0] for s in samples)
    first = statistics.median(s[1] for s in samples)
    print(f"cold start: import {imports:.0f} ms, first answer after import {first:.1f} ms (goal <= 50 ms)")

    # Point queries through the public API vs the raw sqlite3 floor, over random cells of the database.
    os.environ["NASBENCHMARK_DIR"] = str(workdir)
    from nasbench_db.query import query_nb101_trial_stats

    rng = random.Random(args.seed + 2)
    picks = [cells[rng.randrange(len(cells))] for _ in range(args.queries)]
    archs = [{"matrix": [list(r) for r in space.adjacency_to_matrix(a)], "ops": o.split(",")} for _, a, o, _ in picks]
    for arch in archs[:100]:  # warm the page cache
        list(query_nb101_trial_stats(arch, 108))
    api = []
    for arch in archs:
        t0 = time.perf_counter()
        rows = list(query_nb101_trial_stats(arch, 108))
        api.append(time.perf_counter() - t0)
        assert len(rows) == 3
    raw = sqlite3.connect(sqlite_uri(db_path, mode="ro"), uri=True)
    sql = ("SELECT t.* FROM nb101_arch a CROSS JOIN nb101_config c CROSS JOIN nb101_trial t "
           "WHERE c.id BETWEEN a.id * 16 AND a.id * 16 + 15 AND t.id BETWEEN c.id * 1024 AND c.id * 1024 + 1023 "
           "AND a.hash = ? AND c.num_epochs = 108")
    floor = []
    for digest, _, _, _ in picks:
        t0 = time.perf_counter()
        raw.execute(sql, (digest,)).fetchall()
        floor.append(time.perf_counter() - t0)

    def pct(values, q):
        values = sorted(values)
        return values[min(len(values) - 1, int(q * len(values)))] * 1e6

    print(f"point query list(query_nb101_trial_stats(arch, 108)) over {len(archs):,} random cells (hash computed "
          f"per distinct cell, then cached): p50 {pct(api, 0.5):.0f} us, p99 {pct(api, 0.99):.0f} us (goal p50 <= 150 us)")
    print(f"  floor (raw sqlite3 lookup by hash): p50 {pct(floor, 0.5):.0f} us, p99 {pct(floor, 0.99):.0f} us")
    space._canonical_cached.cache_clear()
    cold_hash = []
    for arch in archs[:2000]:
        t0 = time.perf_counter()
        list(query_nb101_trial_stats(arch, 108))
        cold_hash.append(time.perf_counter() - t0)
        space._canonical_cached.cache_clear()
    print(f"  with the hash recomputed on every call: p50 {pct(cold_hash, 0.5):.0f} us, "
          f"p99 {pct(cold_hash, 0.99):.0f} us")

    if not args.keep and args.workdir is None:
        for p in workdir.iterdir():
            p.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
