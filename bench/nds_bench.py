"""NDS benchmark: a synthetic full-scale ``data.zip`` in the original format, conversion, memory, queries.

The real ``data.zip`` (facebookresearch/nds) is not bundled. This writes a look-alike with the 34 sweep files at the
per-file job counts below (``--scale`` multiplies them), jobs in the exact format of tests/nds_fixture.py, and prints
each figure beside a floor measured in the same run:

* conversion jobs/s            vs a bare streaming parse of the same zip (no rows, no SQL)
* peak RSS of the conversion   vs the peak RSS of ``json.load`` of the largest sweep file alone (what NNI's db_gen
                               does per file), both in fresh processes
* database bytes per trial / per epoch row, projected to full scale
* point query p50/p99          vs the same SELECT through raw sqlite3 (no dict building)

Full-scale counts (an estimate; the real per-file counts are not published): NNI's prebuilt database numbers the first
Vanilla config 139,492 and its trial 154,692, so everything before the Vanilla sweeps holds 154,691 trials of which
15,200 reuse a config. The counts below give 154,780 trials and 15,200 reused configs before Vanilla (3 x 5,000 rng
reruns + 200 in ``ResNet_reruns``), plus a Vanilla group shaped like the ResNet one: about 200k trials, 170k configs
and 19.9M per-epoch rows in all. CIFAR-10 jobs have 100 epochs; ImageNet (``_in``) jobs are given 50. Each job carries
``train_it_loss``/``train_it_top1`` lists of ``--iter-points`` values (default 200), which the converter reads past.

Usage::

    python bench/nds_bench.py --scale 0.1      # about 20k jobs: a quick run (figures per job are scale-free)
    python bench/nds_bench.py --scale 1        # full scale (about 1.2 GB of JSON before compression)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

import nds_fixture  # noqa: E402

from nasbench_db.convert.nds import JsonStreamReader  # noqa: E402

FULL_COUNTS = {
    "Amoeba": 4900, "Amoeba_in": 120, "DARTS": 4900, "DARTS_fix-w-d": 5000, "DARTS_in": 120, "DARTS_lr-wd": 5000,
    "DARTS_lr-wd_in": 120, "ENAS": 4900, "ENAS_fix-w-d": 5000, "ENAS_in": 120, "NASNet": 4900, "NASNet_in": 120,
    "PNAS": 4900, "PNAS_fix-w-d": 5000, "PNAS_in": 120, "ResNeXt-A": 25000, "ResNeXt-A_in": 120, "ResNeXt-B": 25000,
    "ResNeXt-B_in": 120, "ResNet-B": 14000, "ResNet": 25000, "ResNet_lr-wd": 5000, "ResNet_lr-wd_in": 120,
    "ResNet_reruns": 100, "ResNet_rng1": 5000, "ResNet_rng2": 5000, "ResNet_rng3": 5000, "Vanilla": 25000,
    "Vanilla_lr-wd": 5000, "Vanilla_lr-wd_in": 120, "Vanilla_reruns": 100, "Vanilla_rng1": 5000,
    "Vanilla_rng2": 5000, "Vanilla_rng3": 5000,
}  # *_reruns: jobs per group (top and mid)
CIFAR_EPOCHS = 100
IMAGENET_EPOCHS = 50


def full_totals():
    trials = sum(2 * c if n.endswith("_reruns") else c for n, c in FULL_COUNTS.items())
    epochs = sum((2 * c if n.endswith("_reruns") else c) * (IMAGENET_EPOCHS if "_in" in n else CIFAR_EPOCHS)
                 for n, c in FULL_COUNTS.items())
    return trials, epochs


CONVERT = r"""
import json, resource, sys, time
from nasbench_db.convert.nds import convert_nds
report = convert_nds(sys.argv[1], sys.argv[2], progress=False)
print(json.dumps({"seconds": report.seconds, "configs": report.configs, "trials": report.trials,
                  "intermediates": report.intermediates, "database": report.database,
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

JSON_LOAD = r"""
import json, resource, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    with archive.open(sys.argv[2]) as member:
        data = json.load(member)
print(json.dumps({"jobs": len(data), "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

BASELINE = r"""
import json, resource
import nasbench_db.convert.nds
print(json.dumps({"rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run_python(code: str, *args) -> dict:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bare_parse(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    jobs = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".json"):
                continue
            with archive.open(info) as stream:
                for _ in JsonStreamReader(stream, info.filename).jobs():
                    jobs += 1
    return jobs, time.perf_counter() - started


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of the full-scale job counts")
    parser.add_argument("--iter-points", type=int, default=200)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=None, help="keep the zip and database here (default: a temp dir, "
                                                        "removed at the end)")
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ndsbench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        run(args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir: Path) -> None:
    counts = {n: max(1, round(c * args.scale)) for n, c in FULL_COUNTS.items()}
    zip_path = workdir / "data.zip"
    t = time.perf_counter()
    jobs = nds_fixture.write_zip_streaming(zip_path, counts, seed=args.seed, epochs_cifar=CIFAR_EPOCHS,
                                           epochs_imagenet=IMAGENET_EPOCHS, iter_points=args.iter_points,
                                           nan_every=97)
    with zipfile.ZipFile(zip_path) as archive:
        raw = sum(i.file_size for i in archive.infolist())
    print(f"generated {jobs:,} jobs in 34 sweep files: {raw / 1e6:,.0f} MB of JSON, zip "
          f"{zip_path.stat().st_size / 1e6:,.0f} MB, in {time.perf_counter() - t:.0f} s (scale {args.scale})")

    parsed, floor_s = bare_parse(zip_path)
    assert parsed == jobs
    result = run_python(CONVERT, zip_path, workdir)
    rate = jobs / result["seconds"]
    full_trials, full_epochs = full_totals()
    print(f"conversion: {result['seconds']:.1f} s, {rate:,.0f} jobs/s ({result['configs']:,} configs, "
          f"{result['trials']:,} trials, {result['intermediates']:,} per-epoch rows); "
          f"floor (bare streaming parse): {jobs / floor_s:,.0f} jobs/s ({floor_s:.1f} s)")
    print(f"  full-scale projection ({full_trials:,} trials, {full_epochs:,} per-epoch rows): "
          f"{full_trials / rate / 60:.1f} min (NNI's docs: about 80 minutes)")

    baseline = run_python(BASELINE)["rss_kb"]
    largest = max(counts, key=lambda n: counts[n] if not n.endswith("_reruns") else 0)
    loaded = run_python(JSON_LOAD, zip_path, f"nds_data/{largest}.json")
    print(f"peak RSS: conversion {result['rss_kb'] / 1024:,.0f} MB (of which SQLite's build cache is at most "
          f"256 MB); floor (interpreter + imports) {baseline / 1024:,.0f} MB; for comparison, json.load of "
          f"{largest}.json alone ({loaded['jobs']:,} jobs, as NNI's db_gen reads each file) "
          f"{loaded['rss_kb'] / 1024:,.0f} MB")

    db_path = Path(result["database"])
    size = db_path.stat().st_size
    conn = sqlite3.connect(db_path)
    per_table = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()) \
        if _has_dbstat(conn) else {}
    epochs_bytes = per_table.get("ndsintermediatestats")
    print(f"database: {size / 1e6:,.1f} MB, {size / jobs:,.0f} bytes per trial"
          + (f", per-epoch table {epochs_bytes / result['intermediates']:.1f} bytes per row" if epochs_bytes else "")
          + f"; projected full scale {size / jobs * full_trials / 1e9:.2f} GB (NNI's file: about 1.6 GB)")

    # Point queries on random configs: all six NNI filters given.
    configs = conn.execute("SELECT id, model_family, proposer, generator, model_spec, cell_spec, dataset "
                           "FROM ndstrialconfig").fetchall()
    rng = random.Random(args.seed)
    picks = [rng.choice(configs) for _ in range(args.queries)]
    floor_times = []
    for _, family, proposer, generator, model_spec, cell_spec, dataset in picks:
        t0 = time.perf_counter()
        conn.execute("SELECT t.*, c.* FROM ndstrialstats t JOIN ndstrialconfig c ON c.id = t.config_id WHERE "
                     "c.model_family = ? AND c.proposer = ? AND c.generator = ? AND c.model_spec = ? AND "
                     "c.cell_spec = ? AND c.dataset = ?",
                     (family, proposer, generator, model_spec, cell_spec, dataset)).fetchall()
        floor_times.append(time.perf_counter() - t0)
    conn.close()

    os.environ["NASBENCHMARK_DIR"] = str(workdir)
    from nasbench_db.query import query_nds_trial_stats

    def timed(include):
        times = []
        for _, family, proposer, generator, model_spec, cell_spec, dataset in picks:
            spec, cell = json.loads(model_spec), json.loads(cell_spec)
            t0 = time.perf_counter()
            found = list(query_nds_trial_stats(family, proposer, generator, spec, cell, dataset,
                                               include_intermediates=include))
            times.append(time.perf_counter() - t0)
            assert found
        return times

    timed(False)  # warm the page cache and statement cache
    plain = timed(False)
    with_epochs = timed(True)
    print(f"point query p50 {statistics.median(plain) * 1e6:,.0f} us, p99 {percentile(plain, 0.99) * 1e6:,.0f} us; "
          f"with intermediates p50 {statistics.median(with_epochs) * 1e6:,.0f} us; floor (raw sqlite3, same "
          f"SELECT, no dicts) p50 {statistics.median(floor_times) * 1e6:,.0f} us")
    t0 = time.perf_counter()
    means = list(query_nds_trial_stats(None, "resnet", None, None, None, "cifar10", reduction="mean"))
    t1 = time.perf_counter()
    everything = sum(1 for _ in query_nds_trial_stats(None, None, None, None, None, None))
    t2 = time.perf_counter()
    print(f"filters: mean of every resnet/cifar10 config ({len(means):,} rows) {t1 - t0:.2f} s; every trial "
          f"({everything:,} dicts) {t2 - t1:.2f} s")


def _has_dbstat(conn) -> bool:
    try:
        conn.execute("SELECT 1 FROM dbstat LIMIT 1")
        return True
    except sqlite3.Error:
        return False


if __name__ == "__main__":
    main()
