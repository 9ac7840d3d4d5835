"""NAS-Bench-NLP benchmark: PTB-scale synthetic logs in the original layout, conversion, point queries.

The PTB archives of the release are not bundled. This writes look-alikes with tests/nlp_fixture.py (the exact layout
of ``train_logs_*/logs.zip``: flat zips of ``log_stats_model_*.json``, 50 epochs per run) and prints each figure beside
a floor measured in the same run:

* conversion of the single-run archive (14,322 logs x 50 epochs; goal <= 30 s) vs a bare read of the same zip (every
  member read and parsed with ``json.loads``, the recipe too; no rows, no SQL);
* with ``--multi``: the three archives together (single-run, multi-run with the shared files, WikiText-2 real logs);
* database size;
* point query ``list(query_nlp_trial_stats(arch, 'ptb'))`` p50 / p99 (goal p50 <= 150 us) vs the same SELECT through
  raw sqlite3 with the key already computed.

Usage::

    python bench/nlp_bench.py                      # PTB single-run scale: 14,322 logs
    python bench/nlp_bench.py --logs 2000          # quick
    python bench/nlp_bench.py --multi              # also the PTB multi-run archive (12,343 logs, 4,114 shared)
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

import nlp_fixture  # noqa: E402

from nasbench_db import db as _db  # noqa: E402
from nasbench_db.convert.nlp import convert_nlp  # noqa: E402
from nasbench_db.query import query_nlp_trial_stats  # noqa: E402
from nasbench_db.query.nlp import arch_key  # noqa: E402

WIKI_ZIP = HERE.parent / "tests" / "data" / "nas-bench-nlp" / "train_logs_wikitext-2_logs.zip"


def bare_read(paths) -> tuple[int, float]:
    """Every member read and parsed (log and recipe): the floor of any converter."""
    started = time.perf_counter()
    count = 0
    for path in paths:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                log = json.loads(archive.read(info))
                json.loads(log["recepie"])
                count += 1
    return count, time.perf_counter() - started


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logs", type=int, default=14_322, help="single-run logs (PTB: 14,322)")
    parser.add_argument("--multi", action="store_true", help="also convert the multi-run and WikiText-2 archives")
    parser.add_argument("--multi-recipes", type=int, default=4_115, help="recipes of the multi-run archive (x3 runs)")
    parser.add_argument("--overlap", type=int, default=4_114, help="logs shared by the two PTB archives")
    parser.add_argument("--queries", type=int, default=5_000)
    parser.add_argument("--workdir", help="scratch directory (default: a temporary one, removed)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="nlp-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        run(args, workdir)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir: Path) -> None:
    started = time.perf_counter()
    single, multi = nlp_fixture.ptb_archives(args.logs, args.multi_recipes if args.multi else 0,
                                             args.overlap if args.multi else 0, seed=args.seed, failed_every=50,
                                             recipe_nodes=12)
    single_zip = nlp_fixture.write_zip(workdir / "train_logs_single_run" / "logs.zip", single)
    inputs = [single_zip]
    if args.multi:
        inputs += [nlp_fixture.write_zip(workdir / "train_logs_multi_runs" / "logs.zip", multi), WIKI_ZIP]
    print(f"generated {len(single):,} single-run logs" + (f" and {len(multi):,} multi-run logs" if args.multi else "")
          + f" x 50 epochs in {time.perf_counter() - started:.1f} s ({single_zip.stat().st_size / 1e6:.1f} MB zip)")

    count, floor = bare_read([single_zip])
    db_dir = workdir / "db"
    report = convert_nlp(single_zip, db_dir, progress=False)
    size = (db_dir / "nlp.db").stat().st_size
    print(f"conversion, single-run archive: {report.trials:,} logs, {report.epochs:,} epoch rows in "
          f"{report.seconds:.2f} s = {report.trials / report.seconds:,.0f} logs/s  |  bare read + json.loads floor: "
          f"{floor:.2f} s = {count / floor:,.0f} logs/s  |  goal <= 30 s")
    print(f"database: {size / 1e6:.1f} MB = {size / report.epochs:.1f} bytes per epoch row")
    if args.multi:
        count_all, floor_all = bare_read(inputs)
        all_dir = workdir / "db_all"
        report_all = convert_nlp(inputs, all_dir, progress=False)
        print(f"conversion, three archives: {report_all.trials:,} runs ({report_all.duplicates_identical:,} "
              f"duplicates skipped) in {report_all.seconds:.2f} s  |  bare read floor of {count_all:,} logs: "
              f"{floor_all:.2f} s")

    rng = random.Random(args.seed)
    ok = [log for log in single if log["status"] == "OK"]
    archs = [nlp_fixture_flat(json.loads(log["recepie"])) for log in rng.choices(ok, k=args.queries)]
    _db.close_all()
    list(query_nlp_trial_stats(archs[0], "ptb", db_dir=db_dir))  # open the connection once
    times = []
    for arch in archs:
        t0 = time.perf_counter()
        rows = list(query_nlp_trial_stats(arch, "ptb", db_dir=db_dir))
        times.append(time.perf_counter() - t0)
        assert rows
    keys = [arch_key(a) for a in archs]
    conn = sqlite3.connect(f"file:{db_dir / 'nlp.db'}?mode=ro", uri=True)
    sql = ("SELECT t.id, c.id, c.arch, c.dataset, t.train_loss, t.val_loss, t.test_loss, t.training_time, t.status "
           "FROM nlp_trial t JOIN nlptrialconfig c ON c.id = t.config_id WHERE c.arch = ? AND c.dataset = ? AND "
           "t.status = 'OK' ORDER BY c.id, t.id")
    raw = []
    for key in keys:
        t0 = time.perf_counter()
        conn.execute(sql, (key, "ptb")).fetchall()
        raw.append(time.perf_counter() - t0)
    us = 1e6
    print(f"point query list(query_nlp_trial_stats(arch, 'ptb')), {len(times):,} random recipes: p50 "
          f"{statistics.median(times) * us:.0f} us, p99 {percentile(times, 0.99) * us:.0f} us  |  raw sqlite3 floor: "
          f"p50 {statistics.median(raw) * us:.0f} us, p99 {percentile(raw, 0.99) * us:.0f} us  |  goal p50 <= 150 us")
    again = []
    for arch in archs[: min(2000, len(archs))]:  # the same recipes again: the key cached
        t0 = time.perf_counter()
        list(query_nlp_trial_stats(arch, "ptb", db_dir=db_dir))
        again.append(time.perf_counter() - t0)
    print(f"the same recipes again (key cached): p50 {statistics.median(again) * us:.0f} us, p99 "
          f"{percentile(again, 0.99) * us:.0f} us")


def nlp_fixture_flat(recipe: dict) -> dict:
    """NNI's flat dict of a recipe (written out here, as a user's code would)."""
    flat = {}
    for node, spec in recipe.items():
        flat[f"{node}_op"] = spec["op"]
        for i, name in enumerate(spec["input"]):
            flat[f"{node}_input_{i}"] = name
    return flat


if __name__ == "__main__":
    main()
