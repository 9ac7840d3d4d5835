"""Costs and proxies in every analysis path: top-k, filters, DataFrames, correlate, Pareto fronts, plots, CLI.

Databases: all 15,625 NB-201 cells (synthetic accuracies, tests/search_fixture.py) joined with the full-size
HW-NAS-Bench fixture and the real NB-201 zero-cost file; the 292 NB-101 cells of the real NB-101 zero-cost file
with synthetic runs. Every answer is checked against a brute force over independent reads (the pickle, the JSON, the
benchmark rows without joins). Loading joined data changes no benchmark row and no NNI view (diffed on real data).
"""

from __future__ import annotations

import functools
import json
import math
import pickle
import random
import sqlite3
import sys

import pytest
from click.testing import CliRunner

import hw_nasbench_fixture as fx
from conftest import DATA, SAMPLE_TFRECORD, count_statements, selects
from nasbench_db import analysis, plots
from nasbench_db import db as _db
from nasbench_db.cli import cli
from nasbench_db.convert.hw_nasbench import convert_hw_nasbench
from nasbench_db.convert.zc import convert_zc
from nasbench_db.errors import InvalidArgument, MissingDependency
from nasbench_db.spaces import nb101 as nb101_space
from nasbench_db.spaces import nb201 as nb201_space

ZC201 = DATA / "zc" / "zc_nasbench201_6639fd15.json"
ZC101 = DATA / "zc" / "zc_nasbench101_6639fd15.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HW_NAMES = {"cifar10-valid": "cifar10", "cifar10": "cifar10", "cifar100": "cifar100",
            "imagenet16-120": "ImageNet16-120"}


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    """``(db_dir, HW dict, ZC doc)``: NB-201 (cifar10-valid and cifar100, 200 epochs, 2 seeds) + HW + ZC."""
    import search_fixture

    directory = tmp_path_factory.mktemp("joined")
    db_dir = directory / "db"
    search_fixture.build_nb201_landscape(db_dir, datasets=("cifar10-valid", "cifar100"), seeds=(777, 888))
    hw = fx.hw_dict()
    convert_hw_nasbench(fx.write_pickle(directory / "HW-NAS-Bench-v1_0.pickle", hw), db_dir)
    convert_zc(ZC201, db_dir)
    with open(directory / "HW-NAS-Bench-v1_0.pickle", "rb") as handle:
        hw = pickle.load(handle)  # as the original API would hold it
    return db_dir, hw, json.loads(ZC201.read_text())


@functools.lru_cache(maxsize=1)
def _naslib_index() -> dict:
    names = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]
    out = {}
    for index, text in enumerate(nb201_space.meta_archs()):
        ops = [part.split("~")[0] for part in text.replace("+", "").split("|") if part]
        # string order 0->1, 0->2, 1->2, 0->3, 1->3, 2->3; NASLib's (1,2),(1,3),(1,4),(2,3),(2,4),(3,4)
        key = tuple(names.index(ops[i]) for i in (0, 1, 3, 2, 4, 5))
        out[str(key)] = index
    return out


def _arch_of_config(db_dir) -> dict:
    with sqlite3.connect(db_dir / "nasbench201.db") as conn:
        return dict(conn.execute("SELECT id, arch_index FROM nb201trialconfig"))


def _plain_rows(db_dir, dataset):
    """Every config of ``dataset`` at 200 epochs without any join: ``{config id: row}``."""
    return {r["config"]["id"]: r for r in analysis.filter_archs("nb201", dataset=dataset, epochs=200, db_dir=db_dir)}


def _proxy(doc, dataset, name) -> dict:
    """``{arch index: score}`` of one proxy, from the JSON."""
    zc_dataset = {"cifar10-valid": "cifar10"}.get(dataset, dataset)
    zc_dataset = {"imagenet16-120": "ImageNet16-120"}.get(zc_dataset, zc_dataset)
    out = {}
    for key, record in doc[zc_dataset].items():
        if name in record:
            out[_naslib_index()[key]] = record[name]["score"]
    return out


# ----------------------------------------------------------------------------------------------------------------------


def test_top_k_under_a_latency_bound_is_the_brute_force(joined):
    db_dir, hw, _ = joined
    arch = _arch_of_config(db_dir)
    rows = _plain_rows(db_dir, "cifar100")
    latency = hw["nasbench201"]["cifar100"]["edgegpu_latency"]
    eligible = [(r["valid_acc"], cid) for cid, r in rows.items() if latency[arch[cid]] <= 5.0]
    expected = [cid for _, cid in sorted(eligible, key=lambda p: (-p[0], p[1]))[:10]]
    top = analysis.top_k("nb201", 10, "valid_acc", dataset="cifar100", epochs=200, max_edgegpu_latency=5,
                         db_dir=db_dir)
    assert [r["config"]["id"] for r in top] == expected
    for r in top:
        assert r["edgegpu_latency"] == float(latency[arch[r["config"]["id"]]])
        assert r["valid_acc"] == pytest.approx(rows[r["config"]["id"]]["valid_acc"], abs=1e-12)


def test_cost_as_the_metric_and_the_cifar10_valid_join(joined):
    db_dir, hw, _ = joined
    arch = _arch_of_config(db_dir)
    energy = hw["nasbench201"]["cifar10"]["fpga_energy"]  # cifar10-valid configs join the cifar10 costs
    cheapest = analysis.top_k("nb201", 5, "fpga_energy", ascending=True, dataset="cifar10-valid", epochs=200,
                              db_dir=db_dir)
    values = sorted((float(energy[arch[cid]]), cid) for cid in _plain_rows(db_dir, "cifar10-valid"))
    assert [(r["fpga_energy"], r["config"]["id"]) for r in cheapest] == values[:5]
    per_run = analysis.filter_archs("nb201", dataset="cifar10-valid", epochs=200, reduction=None,
                                    max_average_hw_metric=1e6, db_dir=db_dir)
    assert per_run and all(r["average_hw_metric"] <= 1e6 for r in per_run)
    index = arch[per_run[0]["config"]["id"]]
    assert per_run[0]["average_hw_metric"] == fx.expected_query(hw, index, "cifar10")["average_hw_metric"]


def test_proxies_as_metrics_and_bounds(joined):
    db_dir, _, doc = joined
    arch = _arch_of_config(db_dir)
    synflow = _proxy(doc, "cifar100", "synflow")
    top = analysis.top_k("nb201", 7, "synflow", dataset="cifar100", epochs=200, db_dir=db_dir)
    expected = sorted(synflow.items(), key=lambda p: -p[1])[:7]
    assert [(arch[r["config"]["id"]], r["synflow"]) for r in top] == expected
    flops = _proxy(doc, "cifar100", "flops")  # NASLib's count: its own column, not the benchmark's flops
    rows = analysis.filter_archs("nb201", dataset="cifar100", epochs=200, min_synflow=60, max_zc_flops=150,
                                 db_dir=db_dir)
    assert {arch[r["config"]["id"]] for r in rows} == {i for i, s in synflow.items() if s >= 60 and
                                                       flops[i] <= 150}
    assert all(r["zc_flops"] != r["flops"] for r in rows)
    frame = analysis.to_dataframe(analysis.filter_archs("nb201", dataset="cifar100", epochs=200, min_nwot=-1e9,
                                                        ranges={"edgegpu_energy": (None, None)}, db_dir=db_dir))
    assert {"nwot", "edgegpu_energy", "valid_acc", "config_id"} <= set(frame.columns) and len(frame) == 725 - 1
    assert "flops" in analysis.metrics_of("nb201")
    names = analysis.joined_metrics("nb201", db_dir=db_dir)
    assert {"edgegpu_latency", "average_hw_metric", "synflow", "zc_synflow", "zc_flops", "zc_params",
            "zc_val_accuracy"} <= set(names)
    assert "params" not in names  # NASLib's own count: only as zc_params


def test_one_statement_reads_the_data(joined):
    db_dir, _, _ = joined
    _db.close_all()
    for call, reads in ((lambda: analysis.top_k("nb201", 10, "valid_acc", dataset="cifar100", epochs=200,
                                                max_edgegpu_latency=5, min_synflow=1, db_dir=db_dir), 1),
                        (lambda: analysis.correlate("nb201", "valid_acc", ["synflow", "edgegpu_latency"],
                                                    dataset="cifar100", epochs=200, db_dir=db_dir), 1),
                        # every config's (cost, metric) in cost order, then the front's full rows
                        (lambda: analysis.pareto_front("nb201", "edgegpu_latency", dataset="cifar100", epochs=200,
                                                       db_dir=db_dir), 2)):
        with count_statements("nb201", db_dir) as statements:
            call()
        data = [s for s in statements if "nb201trialstats" in s]
        assert len(data) == reads, statements
        # plus the provenance look-ups (joined data, trained runs) once per data statement
        assert selects(statements) <= 3 * reads


def test_correlate_equals_scipy_on_independent_pairs(joined):
    from scipy import stats

    db_dir, hw, doc = joined
    arch = _arch_of_config(db_dir)
    rows = _plain_rows(db_dir, "cifar100")
    synflow = _proxy(doc, "cifar100", "synflow")
    pairs = [(r["valid_acc"], synflow[arch[cid]]) for cid, r in sorted(rows.items()) if arch[cid] in synflow]
    result = analysis.correlate("nb201", "valid_acc", "synflow", dataset="cifar100", epochs=200, db_dir=db_dir)
    tau = stats.kendalltau([p[0] for p in pairs], [p[1] for p in pairs])
    rho = stats.spearmanr([p[0] for p in pairs], [p[1] for p in pairs])
    assert result["n"] == len(pairs) == 725
    assert result["kendall_tau"] == pytest.approx(tau.statistic, abs=1e-12)
    assert result["spearman_rho"] == pytest.approx(rho.statistic, abs=1e-12)
    assert result["kendall_p"] == pytest.approx(tau.pvalue, rel=1e-9)
    several = analysis.correlate("nb201", "valid_acc", ["synflow", "edgegpu_latency", "nwot"], dataset="cifar100",
                                 epochs=200, db_dir=db_dir)
    assert [r["y"] for r in several] == ["synflow", "edgegpu_latency", "nwot"]
    assert several[0] == result and several[1]["n"] == 15_625
    latency = hw["nasbench201"]["cifar100"]["edgegpu_latency"]
    flops_pairs = [(float(latency[arch[cid]]), r["flops"]) for cid, r in sorted(rows.items())]
    by_cost = analysis.correlate("nb201", "edgegpu_latency", "flops", dataset="cifar100", epochs=200, db_dir=db_dir)
    assert by_cost["spearman_rho"] == pytest.approx(
        stats.spearmanr([p[0] for p in flops_pairs], [p[1] for p in flops_pairs]).statistic, abs=1e-12)
    nwot = several[2]  # three cells score -inf: ranked lowest, kept
    assert nwot["n"] == 725 and nwot["kendall_tau"] is not None


def test_pareto_front_is_the_brute_force(joined):
    db_dir, hw, _ = joined
    arch = _arch_of_config(db_dir)
    rows = _plain_rows(db_dir, "cifar100")
    for cost, metric, maximize in (("edgegpu_latency", "test_acc", True), ("parameters", "valid_acc", True),
                                   ("fpga_energy", "valid_loss", False)):
        def cost_of(cid):
            if cost == "parameters":
                return rows[cid]["parameters"]
            return float(hw["nasbench201"]["cifar100"][cost][arch[cid]])

        points = [(cost_of(cid), rows[cid][metric] if maximize else -rows[cid][metric], cid) for cid in rows]
        dominated = set()
        best = -math.inf
        for c, m, cid in sorted(points, key=lambda p: (p[0], -p[1], p[2])):
            if m > best:
                best = m
            else:
                dominated.add(cid)
        expected = [cid for c, m, cid in sorted(points, key=lambda p: (p[0], -p[1], p[2])) if cid not in dominated]
        front = analysis.pareto_front("nb201", cost, metric, maximize=maximize, dataset="cifar100", epochs=200,
                                      db_dir=db_dir)
        assert {r["config"]["id"] for r in front} == set(expected)
        assert [r[cost] for r in front] == sorted(r[cost] for r in front)
        assert all((r[metric] > p[metric]) == maximize for p, r in zip(front, front[1:]))


def test_cli_top_correlate_pareto_and_plots(joined, tmp_path):
    db_dir, _, _ = joined
    runner = CliRunner()
    args = ["--dataset", "cifar100", "--epochs", "200", "--db-dir", str(db_dir)]
    top = runner.invoke(cli, ["top", "nb201", "--max", "edgegpu_latency=5", "--min", "synflow=1", "--csv", *args])
    assert top.exit_code == 0, top.output
    header = top.output.splitlines()[0].split(",")
    assert "edgegpu_latency" in header and "synflow" in header and len(top.output.splitlines()) == 11
    corr = runner.invoke(cli, ["correlate", "nb201", "valid_acc", "synflow", "snip", "--json", *args])
    assert corr.exit_code == 0, corr.output
    parsed = json.loads(corr.output)
    assert [r["y"] for r in parsed] == ["synflow", "snip"] and parsed[0]["n"] == 725
    pooled = runner.invoke(cli, ["correlate", "nb201", "valid_acc", "flops", "--db-dir", str(db_dir)])
    assert pooled.exit_code == 0 and "pooled" in pooled.output
    pareto = runner.invoke(cli, ["pareto", "nb201", "--cost", "edgegpu_latency", "--metric", "test_acc", *args])
    assert pareto.exit_code == 0, pareto.output
    assert pareto.output.splitlines()[0].split()[-2:] == ["edgegpu_latency", "test_acc"]
    for command in (["plot", "pareto", "nb201", "--cost", "edgegpu_energy", "--metric", "test_acc"],
                    ["plot", "scatter", "nb201", "--x", "edgegpu_latency", "--y", "test_acc",
                     "--max", "fpga_energy=40"],
                    ["plot", "ecdf", "nb201", "--metric", "valid_acc", "--min", "synflow=10"]):
        out = tmp_path / f"{command[1]}.png"
        result = runner.invoke(cli, [*command, *args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[:8] == PNG_MAGIC
    for command in (["correlate", "--help"], ["pareto", "--help"], ["plot", "pareto", "--help"]):
        assert "Example" in runner.invoke(cli, command).output
    bad = runner.invoke(cli, ["top", "nb201", "--max", "edgegpu_latncy=5", *args])
    assert bad.exit_code == 1 and bad.output.startswith("Error: unknown metric 'edgegpu_latncy'")


def test_plot_pareto_function(joined, tmp_path):
    db_dir, _, _ = joined
    out = plots.plot_pareto("nb201", tmp_path / "p.png", "zc_flops", "valid_acc", dataset="cifar10-valid", epochs=200,
                            db_dir=db_dir)
    assert open(out, "rb").read(8) == PNG_MAGIC


def test_errors_name_the_fix(joined, tmp_path, monkeypatch):
    from nasbench_db.convert.nb201 import convert_nats_tss
    from nb201_fixture import TSS_DIR

    db_dir, _, _ = joined
    with pytest.raises(InvalidArgument, match="cost and metric must differ"):
        analysis.pareto_front("nb201", "valid_acc", "valid_acc", db_dir=db_dir)
    with pytest.raises(InvalidArgument, match="takes no 'limit'"):
        analysis.pareto_front("nb201", "parameters", limit=3, db_dir=db_dir)
    plain = tmp_path / "plain"
    convert_nats_tss(TSS_DIR, plain, progress=False)
    with pytest.raises(InvalidArgument, match="HW-NAS-Bench cost, which is not installed: nasbench-db convert hw-nas"):
        analysis.top_k("nb201", 3, "edgegpu_latency", db_dir=plain)
    with pytest.raises(InvalidArgument, match="unknown metric 'synflow'.*convert zc zc_nasbench201.json"):
        analysis.filter_archs("nb201", min_synflow=1, db_dir=plain)
    assert analysis.joined_metrics("nb201", db_dir=plain) == ()
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(MissingDependency, match="pip install scipy"):
        analysis.correlate("nb201", "valid_acc", "synflow", db_dir=db_dir)
    result = CliRunner().invoke(cli, ["correlate", "nb201", "valid_acc", "synflow", "--db-dir", str(db_dir)])
    assert result.exit_code == 1 and "Error: correlate needs scipy: pip install scipy" in result.output


# ----------------------------------------------------------------------------------------------------------------------
# NB-101: the real NB-101 zero-cost cells with synthetic runs


@pytest.fixture(scope="module")
def nb101_joined(tmp_path_factory):
    from nasbench_db.convert.nb101 import Evaluation, convert_nb101, encode_model_metrics, encode_payload
    from nasbench_db.convert.tfrecord import write_records

    doc = json.loads(ZC101.read_text())["nasbench101"]["cifar10"]
    rng = random.Random(1)
    cells, first = {}, {}
    for key, record in doc.items():
        values = [int(v) for v in key.strip("()").split(",")]
        matrix, ops = nb101_space.from_naslib_tuple(values)
        pmatrix, pops, digest = nb101_space.canonical(matrix, ops)
        cells.setdefault(digest, (pmatrix, pops))
        first.setdefault(digest, record)
    payloads = []
    accuracy = {}
    for digest, (matrix, ops) in sorted(cells.items()):
        runs = [rng.uniform(0.8, 0.95) for _ in range(3)]
        accuracy[digest] = sum(r * 100 for r in runs) / 3
        for valid in runs:
            final = Evaluation(108.0, 1000.0, valid, valid, valid)
            metrics = encode_model_metrics([Evaluation(), Evaluation(54.0, 500.0, 0.5, 0.5, 0.5), final], 1_000_000,
                                           1100.0)
            payloads.append(encode_payload(digest, 108, nb101_space.matrix_to_adjacency(matrix), ",".join(ops),
                                           metrics))
    directory = tmp_path_factory.mktemp("nb101zc")
    path = directory / "cells.tfrecord"
    write_records(path, payloads)
    convert_nb101(path, directory / "db", progress=False)
    report = convert_zc(ZC101, directory / "db")
    assert report.spaces[0].installed == 292
    return directory / "db", first, accuracy


def test_nb101_proxies_join_by_hash(nb101_joined):
    db_dir, first, accuracy = nb101_joined
    top = analysis.top_k("nb101", 5, "synflow", epochs=108, db_dir=db_dir)
    expected = sorted(((r["synflow"], h) for h, r in first.items()), key=lambda p: (-p[0], p[1]))[:5]
    assert [(r["synflow"], r["config"]["hash"]) for r in top] == expected
    # a proxy bound with a ranking that otherwise skips the cell table
    best = analysis.top_k("nb101", 3, "valid_acc", epochs=108, max_zc_flops=300, db_dir=db_dir)
    eligible = sorted((-accuracy[h], h) for h, r in first.items() if r["flops"] <= 300)[:3]
    assert [r["config"]["hash"] for r in best] == [h for _, h in eligible]
    result = analysis.correlate("nb101", "valid_acc", "synflow", epochs=108, db_dir=db_dir)
    assert result["n"] == 292
    with pytest.raises(InvalidArgument, match="unknown metric 'edgegpu_latency' for nb101"):
        analysis.top_k("nb101", 3, "edgegpu_latency", db_dir=db_dir)


# ----------------------------------------------------------------------------------------------------------------------
# loading joined data changes no original row and no NNI view


def _snapshot(benchmark: str, db_dir) -> dict:
    """Every original table and NNI view, row by row, plus the NNI query functions' answers and the models'."""
    from nasbench_db import models
    from nasbench_db.query import query_nb101_trial_stats, query_nb201_trial_stats

    name = "nasbench201.db" if benchmark == "nb201" else "nasbench101.db"
    tables = (("nb201_arch", "nb201trialconfig", "nb201trialstats", "nb201_epoch", "nb201intermediatestats")
              if benchmark == "nb201" else
              ("nb101_arch", "nb101_config", "nb101_trial", "nb101trialconfig", "nb101trialstats",
               "nb101intermediatestats"))
    with sqlite3.connect(db_dir / name) as conn:
        out = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
        out["original sources"] = conn.execute("SELECT * FROM nasbench_source WHERE kind = 'original'").fetchall()
    _db.close_all()
    if benchmark == "nb201":
        out["query"] = [list(query_nb201_trial_stats(i, e, d, include_intermediates=True, db_dir=db_dir))
                        for i in (0, 11, 284) for e in (12, 200) for d in nb201_space.DATASETS]
        models.bind("nb201", _db.sqlite_database(db_dir / name, readonly=True))
        out["models"] = [(s.id, s.valid_acc, s.config.arch) for s in models.Nb201TrialStats.select()]
        models.bind("nb201", None)
    else:
        out["query"] = list(query_nb101_trial_stats(None, None, include_intermediates=True, db_dir=db_dir))
        models.bind("nb101", _db.sqlite_database(db_dir / name, readonly=True))
        out["models"] = [(s.id, s.valid_acc, s.training_time) for s in models.Nb101TrialStats.select()]
        models.bind("nb101", None)
    return out


def test_loading_costs_and_proxies_changes_no_original_row_or_view(tmp_path):
    from nasbench_db.convert.nb101 import convert_nb101
    from nasbench_db.convert.nb201 import convert_nats_tss
    from nb201_fixture import TSS_DIR

    convert_nats_tss(TSS_DIR, tmp_path, progress=False)  # real NB-201 records (archs 0, 11, 284)
    before = _snapshot("nb201", tmp_path)
    assert before["query"][0] and before["models"]
    convert_hw_nasbench(fx.write_pickle(tmp_path / "hw.pickle", fx.hw_dict(300)), tmp_path)
    convert_zc(ZC201, tmp_path)
    assert _snapshot("nb201", tmp_path) == before
    convert_nb101(SAMPLE_TFRECORD, tmp_path, progress=False)  # the real NB-101 sample
    before = _snapshot("nb101", tmp_path)
    assert len(before["query"]) == 102
    convert_zc(ZC101, tmp_path)
    assert _snapshot("nb101", tmp_path) == before
    # and the joined values are there
    assert analysis.filter_archs("nb201", dataset="cifar10", epochs=200, ranges={"edgegpu_latency": (None, None)},
                                 db_dir=tmp_path)[0]["edgegpu_latency"] == fx.REAL_NB201[(0, "cifar10")][
        "edgegpu_latency"]


def test_postgres_answers_equal_sqlite(pg_url, tmp_path, monkeypatch):
    from nasbench_db.convert.nb201 import convert_nats_tss
    from nb201_fixture import TSS_DIR

    hw_path = fx.write_pickle(tmp_path / "hw.pickle", fx.hw_dict(300))
    lite = tmp_path / "lite"
    for db_dir in (lite, None):
        convert_nats_tss(TSS_DIR, db_dir, progress=False, jobs=1)
        convert_hw_nasbench(hw_path, db_dir)
        convert_zc(ZC201, db_dir)
    calls = (lambda d: analysis.top_k("nb201", 3, "test_acc", dataset="cifar100", epochs=200,
                                      max_edgegpu_latency=100, db_dir=d),
             lambda d: analysis.filter_archs("nb201", dataset="cifar10", reduction=None, max_fpga_energy=1e9,
                                             ranges={"average_hw_metric": (None, None), "synflow": (None, None)},
                                             db_dir=d),
             lambda d: analysis.pareto_front("nb201", "fpga_latency", "valid_acc", dataset="cifar100", db_dir=d),
             lambda d: analysis.metric_columns("nb201", ["valid_acc", "edgegpu_energy", "zc_val_accuracy"],
                                               dataset="imagenet16-120", epochs=200, db_dir=d))
    joined_names = set(analysis.joined_metrics("nb201", db_dir=lite))
    for call in calls:
        server, local = call(None), call(lite)
        assert server and len(server) == len(local)
        if isinstance(server, dict):  # columns
            assert server.keys() == local.keys()
            for name in server:
                exact = name in joined_names
                assert server[name] == (local[name] if exact else pytest.approx(local[name], rel=1e-12)), name
            continue
        for a, b in zip(server, local):
            assert a["config"] == b["config"] and a.keys() == b.keys()
            for key, value in a.items():
                if key in joined_names or not isinstance(value, float):  # joined values: bit for bit
                    assert value == b[key], key
                else:  # means over runs: the server may sum in another order (last bit)
                    assert value == pytest.approx(b[key], rel=1e-12), key
