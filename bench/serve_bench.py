"""``nasbench-db serve`` on all of NAS-Bench-201 joined with its costs: how long a page takes, beside its floors.

Builds (or reuses, ``--reuse``) the database of ``bench/joined_bench.py`` under ``--workdir``: all 15,625 NB-201 cells
x 4 datasets x 3 seeds of 200-epoch runs = 187,500 trials (synthetic accuracies), the full-size HW-NAS-Bench fixture
(15,625 cells x 3 datasets, original pickle layout) and the real NB-201 zero-cost file; then adds per-epoch rows (200
epochs x 12 runs) for the cells whose pages are timed, as the released file has for every cell.

Each page is requested through Datasette's in-process ASGI client (the whole page: routing, SQL, template or JSON
rendering; no socket) ``--repeat`` times after one warm-up, and the median and worst wall times and the median CPU
time (every thread of the process: what the page costs on an idle machine) are printed beside two floors measured in
the same run: the page's SQL statement alone on a plain ``sqlite3`` connection, and the analysis API's answer to the
same question (``nasbench_db.analysis``), where there is one. Goal: every canned query page <= 300 ms.

    python bench/serve_bench.py --workdir /tmp/serve-bench             # builds (about 30 s), measures, deletes
    python bench/serve_bench.py --workdir /tmp/serve-bench --keep      # keep it; --reuse measures it again
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

GOAL_MS = 300.0
CELLS = (11, 11472, 9930, 0)  # cells whose pages are timed (per-epoch rows are added for them)


def add_epochs(path: Path, cells) -> int:
    """Per-epoch rows (200 epochs) for every run of ``cells``, as the released files hold for every cell."""
    rng = random.Random(0)
    conn = sqlite3.connect(path)
    trials = conn.execute(f"SELECT t.id, t.valid_acc FROM nb201trialstats t JOIN nb201trialconfig c ON "
                          f"c.id = t.config_id WHERE c.arch_index IN ({', '.join('?' * len(cells))})",
                          list(cells)).fetchall()
    rows = []
    for trial_id, final in trials:
        for epoch in range(1, 201):
            value = final * (1 - 0.6 * (1 - epoch / 200) ** 2) + rng.gauss(0, 0.5)
            rows.append((trial_id, epoch, min(100.0, value + 10), value, value, value, 1.0, 1.0, 1.0, 1.0))
    with conn:
        conn.executemany("INSERT OR REPLACE INTO nb201_epoch (trial_id, current_epoch, train_acc, valid_acc, "
                         "test_acc, ori_test_acc, train_loss, valid_loss, test_loss, ori_test_loss) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()
    return len(rows)


def _bind(sql: str, params: dict) -> dict:
    return {name: params.get(name, "") for name in set(re.findall(r":(\w+)", sql))}


def measure(db_dir: Path, repeat: int) -> list:
    from nasbench_db import analysis
    from nasbench_db.serve import build_datasette, discover
    from nasbench_db.serve.queries import canned_queries

    served = next(s for s in discover(db_dir) if s.benchmark == "nb201")
    queries = canned_queries(served)
    ds = build_datasette(db_dir)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(ds.invoke_startup())
    raw = sqlite3.connect(f"file:{served.path}?immutable=1", uri=True)
    from nasbench_db.serve.cells import nb201_index, sql_function

    raw.create_function("nb201_index", 1, sql_function(nb201_index), deterministic=True)
    kw = dict(dataset="cifar100", epochs=200, db_dir=db_dir)
    cases = [
        ("top_k", {"dataset": "cifar100", "metric": "test_acc", "cost": "edgegpu_latency", "max_cost": "5"},
         lambda: analysis.top_k("nb201", 10, "test_acc", max_edgegpu_latency=5, **kw)),
        ("top_k", {"dataset": "cifar100", "metric": "synflow", "k": "50"},
         lambda: analysis.top_k("nb201", 50, "synflow", **kw)),
        ("top_k", {}, lambda: analysis.top_k("nb201", 10, "valid_acc", dataset="cifar10-valid", epochs=200,
                                             db_dir=db_dir)),
        ("pareto", {"dataset": "cifar100", "cost": "edgegpu_latency", "metric": "test_acc"},
         lambda: analysis.pareto_front("nb201", "edgegpu_latency", "test_acc", **kw)),
        ("pareto", {"dataset": "imagenet16-120", "cost": "parameters", "metric": "valid_acc"},
         lambda: analysis.pareto_front("nb201", "parameters", "valid_acc", dataset="imagenet16-120", epochs=200,
                                       db_dir=db_dir)),
        ("correlation", {"dataset": "cifar100", "x": "test_acc", "y": "synflow"},
         lambda: analysis.correlate("nb201", "test_acc", "synflow", **kw)),
        ("correlation", {"dataset": "cifar100", "x": "test_acc", "y": "edgegpu_latency"},
         lambda: analysis.correlate("nb201", "test_acc", "edgegpu_latency", **kw)),
        ("arch", {"arch": "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
                          "skip_connect~2|"}, None),
    ]
    results = []
    cpu_ms: list = []  # median CPU time of each timed page, in results' order

    def timed(url, params):
        async def one():
            return await ds.client.get(url, params=params)

        response = loop.run_until_complete(one())  # warm-up
        assert response.status_code == 200, (url, response.text[:500])
        times, cpu = [], []
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            response = loop.run_until_complete(one())
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)  # every thread of the process: SQL + page
            assert response.status_code == 200
        cpu_ms.append(statistics.median(cpu))
        return times, response

    def best_ms(call):
        call()
        best = float("inf")
        for _ in range(max(3, repeat // 4)):
            start = time.perf_counter()
            call()
            best = min(best, (time.perf_counter() - start) * 1000)
        return best

    for name, params, peer in cases:
        sql = queries[name]["sql"]
        for fmt in ("", ".json"):
            times, response = timed(f"/{served.name}/{name}{fmt}", params)
            rows = len(response.json()["rows"]) if fmt else None
            floor = best_ms(lambda: raw.execute(sql, _bind(sql, params)).fetchall())
            peer_ms = best_ms(peer) if peer is not None and fmt == "" else None
            label = f"{name}{fmt or ' (HTML)'} " + " ".join(f"{k}={v}" for k, v in params.items() if k != "arch")
            results.append((label, statistics.median(times), max(times), floor, peer_ms, rows, True))
    for cell in CELLS:
        for fmt in ("", ".json"):
            times, _ = timed(f"/{served.name}/-/cell/{cell}{fmt}", {})
            results.append((f"cell page {cell}{fmt or ' (HTML)'}", statistics.median(times), max(times), None, None,
                            None, False))
    times, _ = timed(f"/{served.name}/-/correlation", {"dataset": "cifar100", "x": "test_acc", "y": "synflow"})
    results.append(("correlation page (scipy: Kendall + Spearman)", statistics.median(times), max(times), None,
                    best_ms(lambda: analysis.correlate("nb201", "test_acc", "synflow", **kw)), None, False))
    times, _ = timed(f"/{served.name}/-/pareto", {"dataset": "cifar100", "cost": "edgegpu_latency",
                                                  "metric": "test_acc"})
    results.append(("Pareto page (15,625 points drawn as SVG, the front)", statistics.median(times), max(times),
                    None, None, None, False))
    for table in ("nb201trialconfig", "nb201trialstats", "hw_nb201_metric"):
        times, _ = timed(f"/{served.name}/{table}", {})
        results.append((f"table page {table} (with its facets)", statistics.median(times), max(times), None, None,
                        None, False))
    raw.close()
    loop.close()
    return [row[:3] + (cpu,) + row[3:] for row, cpu in zip(results, cpu_ms)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/nasbench-serve-bench"))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--reuse", action="store_true", help="measure an existing --workdir database")
    args = parser.parse_args()
    import scipy.stats  # noqa: F401  (the service imports it once at start-up too)

    import joined_bench

    if not args.reuse:
        shutil.rmtree(args.workdir, ignore_errors=True)
        args.workdir.mkdir(parents=True)
        for label, seconds in joined_bench.build(args.workdir).items():
            print(f"{label}: {seconds:.2f} s")
        print(f"per-epoch rows added for cells {CELLS}: {add_epochs(args.workdir / 'db' / 'nasbench201.db', CELLS)}")
    load = os.getloadavg()[0]
    rows = measure(args.workdir / "db", args.repeat)
    load = max(load, os.getloadavg()[0])
    width = max(len(r[0]) for r in rows)
    print(f"\nload average {load:.1f} on {os.cpu_count()} cores (wall times stretch with it; CPU time does not)")
    print(f"{'page'.ljust(width)}  {'median':>9}  {'worst':>9}  {'CPU':>9}  {'SQL floor':>9}  {'analysis API':>12}  "
          f"rows  goal <= {GOAL_MS:.0f} ms")
    for label, median, worst, cpu, floor, peer, size, goal in rows:
        floor_text = f"{floor:7.1f} ms" if floor is not None else " " * 10
        peer_text = f"{peer:10.1f} ms" if peer is not None else " " * 13
        verdict = ("ok" if median <= GOAL_MS else "MISSED") if goal else ""
        print(f"{label.ljust(width)}  {median:6.1f} ms  {worst:6.1f} ms  {cpu:6.1f} ms  {floor_text}  {peer_text}  "
              f"{'' if size is None else size:>4}  {verdict}")
    print(json.dumps({r[0]: {"median_ms": round(r[1], 1), "worst_ms": round(r[2], 1), "cpu_ms": round(r[3], 1)}
                      for r in rows}))
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
