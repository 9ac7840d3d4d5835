"""Costs and proxies joined to all of NAS-Bench-201: top-k, correlate and Pareto fronts, beside a raw-SQL floor.

Builds, under ``--workdir``:

* a full-size NB-201 database: all 15,625 cells x 4 datasets x 200 epochs x 3 seeds = 187,500 trials (synthetic
  accuracies, tests/search_fixture.py; the per-epoch rows play no part in these queries);
* the full-size HW-NAS-Bench fixture (tests/hw_nasbench_fixture.py: 15,625 cells x 3 datasets x 10 metrics and the
  FBNet lookup tables, in the original pickle layout), loaded with ``convert_hw_nasbench``;
* the real NB-201 zero-cost file (tests/data/zc, 725 cells per dataset x 12 proxies), loaded with ``convert_zc``.

Then times (best of ``--repeat`` warm runs, in-process) each analysis call beside the floor: the same answer from
one hand-written SQL statement over sqlite3 (plus, for correlate, the same scipy call; for Pareto, the same one-pass
sweep). Goal: every call <= 0.5 s on this machine. Usage::

    python bench/joined_bench.py --workdir /tmp/joined            # builds (about 30 s), measures, deletes
    python bench/joined_bench.py --workdir /tmp/joined --keep     # keep the database; --reuse measures it again
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sqlite3
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

GOAL_S = 0.5
ZC_FILE = ROOT / "tests" / "data" / "zc" / "zc_nasbench201_6639fd15.json"


def build(workdir: Path) -> dict:
    import hw_nasbench_fixture as fx
    import search_fixture

    from nasbench_db.convert.hw_nasbench import convert_hw_nasbench
    from nasbench_db.convert.zc import convert_zc

    db_dir = workdir / "db"
    timings = {}
    start = time.perf_counter()
    search_fixture.build_nb201_landscape(db_dir, datasets=("cifar10-valid", "cifar10", "cifar100",
                                                            "imagenet16-120"), seeds=(777, 888, 999))
    timings["NB-201 database (187,500 trials)"] = time.perf_counter() - start
    pickle_path = fx.write_pickle(workdir / "HW-NAS-Bench-v1_0.pickle", fx.hw_dict())
    start = time.perf_counter()
    convert_hw_nasbench(pickle_path, db_dir)
    timings[f"convert hw-nasbench ({pickle_path.stat().st_size / 1e6:.1f} MB pickle, 46,875 rows)"] = \
        time.perf_counter() - start
    start = time.perf_counter()
    convert_zc(ZC_FILE, db_dir)
    timings["convert zc (real NB-201 file, 26,087 scores)"] = time.perf_counter() - start
    return timings


def best_of(function, repeat: int):
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def front(rows):
    """One pass over (cost, metric) rows sorted by cost: the Pareto front (lowest cost, highest metric)."""
    out, best, group_cost, group_best = [], -math.inf, None, None
    for cost, metric in rows:
        if cost is None or metric is None:
            continue
        if cost != group_cost:
            if group_best is not None and group_best > best:
                best = group_best
                out.append(group_cost)
            group_cost, group_best = cost, metric
        elif metric > group_best:
            group_best = metric
    if group_best is not None and group_best > best:
        out.append(group_cost)
    return out


def measure(db_dir: Path, repeat: int) -> list:
    from scipy import stats

    from nasbench_db import analysis

    path = db_dir / "nasbench201.db"
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    base = ("FROM nb201trialstats t JOIN nb201trialconfig c ON c.id = t.config_id "
            "WHERE c.dataset = 'cifar100' AND c.num_epochs = 200")
    hw = "JOIN hw_nb201_metric h ON h.arch_index = c.arch_index AND h.dataset = 'cifar100'"
    zc = ("JOIN zc_nb201_score z ON z.arch_index = c.arch_index AND z.dataset = 'cifar100' AND "
          "z.proxy = 'synflow'")
    where = base.replace("WHERE", f"{hw} WHERE")
    kw = dict(dataset="cifar100", epochs=200, db_dir=db_dir)

    def floor_top():
        return raw.execute(f"SELECT c.id, AVG(t.valid_acc) AS m {where} AND h.edgegpu_latency <= 5 GROUP BY c.id "
                           "ORDER BY m DESC LIMIT 10").fetchall()

    def floor_top_proxy():
        return raw.execute(f"SELECT c.id, z.score {base.replace('WHERE', f'{zc} WHERE')} GROUP BY c.id "
                           "ORDER BY z.score DESC LIMIT 10").fetchall()

    def floor_correlate():
        rows = raw.execute(f"SELECT AVG(t.valid_acc), z.score {base.replace('WHERE', f'{zc} WHERE')} "
                           "GROUP BY c.id").fetchall()
        xs, ys = [r[0] for r in rows], [r[1] for r in rows]
        return stats.kendalltau(xs, ys).statistic, stats.spearmanr(xs, ys).statistic, len(rows)

    def floor_correlate_hw():
        rows = raw.execute(f"SELECT AVG(t.valid_acc), h.edgegpu_latency {where} GROUP BY c.id").fetchall()
        xs, ys = [r[0] for r in rows], [r[1] for r in rows]
        return stats.kendalltau(xs, ys).statistic, stats.spearmanr(xs, ys).statistic, len(rows)

    def floor_pareto():
        rows = raw.execute(f"SELECT h.edgegpu_latency, AVG(t.test_acc) {where} GROUP BY c.id "
                           "ORDER BY h.edgegpu_latency").fetchall()
        return front(rows)

    cases = [
        ("top 10 by valid_acc, edgegpu_latency <= 5 ms",
         lambda: analysis.top_k("nb201", 10, "valid_acc", max_edgegpu_latency=5, **kw), floor_top),
        ("top 10 by synflow",
         lambda: analysis.top_k("nb201", 10, "synflow", **kw), floor_top_proxy),
        ("filter synflow >= 60 and edgegpu_energy <= 30 (all rows)",
         lambda: analysis.filter_archs("nb201", min_synflow=60, max_edgegpu_energy=30, **kw),
         lambda: raw.execute(f"SELECT c.id, AVG(t.valid_acc) {where.replace('WHERE', f'{zc} WHERE')} "
                             "AND z.score >= 60 AND h.edgegpu_energy <= 30 GROUP BY c.id").fetchall()),
        ("correlate valid_acc ~ synflow (Kendall, Spearman)",
         lambda: analysis.correlate("nb201", "valid_acc", "synflow", **kw), floor_correlate),
        ("correlate valid_acc ~ edgegpu_latency (15,625 archs)",
         lambda: analysis.correlate("nb201", "valid_acc", "edgegpu_latency", **kw), floor_correlate_hw),
        ("Pareto front test_acc vs edgegpu_latency",
         lambda: analysis.pareto_front("nb201", "edgegpu_latency", "test_acc", **kw), floor_pareto),
    ]
    results = []
    for label, call, floor in cases:
        ours, answer = best_of(call, repeat)
        floor_s, floor_answer = best_of(floor, repeat)
        size = len(answer) if isinstance(answer, list) else answer.get("n")
        floor_size = len(floor_answer) if isinstance(floor_answer, list) else floor_answer[2]
        results.append((label, ours, floor_s, size, floor_size))
    raw.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/nasbench-joined-bench"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--reuse", action="store_true", help="measure an existing --workdir database")
    args = parser.parse_args()
    start = time.perf_counter()
    import scipy.stats  # noqa: F401  (imported once, as any process that correlates does; not in the timings)

    scipy_import = time.perf_counter() - start
    if not args.reuse:
        shutil.rmtree(args.workdir, ignore_errors=True)
        args.workdir.mkdir(parents=True)
        for label, seconds in build(args.workdir).items():
            print(f"{label}: {seconds:.2f} s")
    print(f"(scipy.stats import, once per process: {scipy_import:.2f} s)")
    rows = measure(args.workdir / "db", args.repeat)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'call'.ljust(width)}  {'nasbench_db':>11}  {'raw SQL floor':>13}  {'rows':>6}  goal <= {GOAL_S} s")
    for label, ours, floor, size, floor_size in rows:
        verdict = "ok" if ours <= GOAL_S else "MISSED"
        note = "" if size == floor_size else f" (floor: {floor_size})"
        print(f"{label.ljust(width)}  {ours * 1000:9.1f} ms  {floor * 1000:10.1f} ms  {size:>6}{note}  {verdict}")
    print(json.dumps({r[0]: {"seconds": round(r[1], 4), "floor_seconds": round(r[2], 4)} for r in rows}))
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
