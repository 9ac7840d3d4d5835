"""Top-k, filters, whole-space columns, iteration, DataFrames and plots (nasbench_db.analysis / plots) and their CLI."""

from __future__ import annotations

import json
import statistics
import sys

import pytest
from click.testing import CliRunner

from nasbench_db import analysis, plots
from nasbench_db import db as _db
from nasbench_db.cli import cli
from nasbench_db.errors import InvalidArgument, MissingDependency
from nasbench_db.search import NB101Simulator, run_search
from nasbench_db.spaces import nb101 as space
from nasbench_db.spaces import nb201 as space201

import search_fixture
from conftest import count_statements

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"


def _means(cells, epochs=108, field="final_validation_accuracy"):
    """Independent means (percent) from the real records, not through the database."""
    return {c["hash"]: statistics.fmean(r[field] * 100 for r in c["runs"][epochs])
            for c in cells if epochs in c["runs"]}


@pytest.fixture(scope="session")
def landscape201(tmp_path_factory):
    directory = tmp_path_factory.mktemp("analysis201")
    return directory, search_fixture.build_nb201_landscape(directory)


@pytest.fixture
def land201(landscape201, monkeypatch):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(landscape201[0]))
    return landscape201[1]


# ----------------------------------------------------------------------------------------------------------------------
# NB-101 on the real sample


def test_top_k_matches_an_independent_ranking(nb101_env, nb101_real_cells):
    means = _means(nb101_real_cells)
    expected = sorted(means, key=lambda h: -means[h])[:10]
    rows = analysis.top_k("nb101", k=10, metric="valid_acc", epochs=108)
    assert [r["config"]["hash"] for r in rows] == expected
    for row in rows:
        assert row["valid_acc"] == pytest.approx(means[row["config"]["hash"]], abs=1e-9)
        assert row["num_runs"] == 3 and row["id"] is None
        assert row["config"]["num_epochs"] == 108
        matrix, ops = space.arch_to_matrix(row["config"]["arch"])
        assert space.canonical(matrix, ops)[2] == row["config"]["hash"]
    worst = analysis.top_k("nb101", k=3, metric="valid_acc", epochs=108, ascending=True)
    assert [r["config"]["hash"] for r in worst] == sorted(means, key=lambda h: means[h])[:3]


def test_filters_parameters_and_ranges(nb101_env, nb101_real_cells):
    means = _means(nb101_real_cells)
    params = {c["hash"]: c["parameters"] for c in nb101_real_cells}
    limit = sorted(params.values())[len(params) // 2]
    rows = analysis.filter_archs("nb101", epochs=108, max_params=limit, order_by="valid_acc")
    assert {r["config"]["hash"] for r in rows} == {h for h in means if params[h] <= limit}
    assert all(r["parameters"] == params[r["config"]["hash"]] / 1e6 for r in rows)
    threshold = statistics.median(means.values())
    above = analysis.filter_archs("nb101", epochs=108, min_valid_acc=threshold)
    assert {r["config"]["hash"] for r in above} == {h for h in means if means[h] >= threshold}
    ranged = analysis.filter_archs("nb101", epochs=108, ranges={"valid_acc": (threshold, None),
                                                                "test_acc": (None, 100.0)})
    assert {r["config"]["hash"] for r in ranged} == {r["config"]["hash"] for r in above}
    assert analysis.filter_archs("nb101", epochs=108, min_valid_acc=101) == []


def test_per_run_rows_and_all_budgets(nb101_env, nb101_real_cells):
    runs = analysis.filter_archs("nb101", epochs=108, reduction=None, order_by="test_acc", limit=5)
    all_tests = sorted((r["final_test_accuracy"] * 100 for c in nb101_real_cells for r in c["runs"].get(108, [])),
                       reverse=True)
    assert [r["test_acc"] for r in runs] == pytest.approx(all_tests[:5], abs=1e-9)
    assert all(r["id"] is not None and "num_runs" not in r for r in runs)
    inception = analysis.filter_archs("nb101", config={"hash": INCEPTION_HASH})
    assert sorted(r["config"]["num_epochs"] for r in inception) == [4, 12, 36, 108]
    halfway = analysis.top_k("nb101", 1, "halfway_valid_acc", epochs=108)
    assert "halfway_valid_acc" in halfway[0]


def test_top_k_is_one_statement_and_avoids_the_quadratic_plan(nb101_env):
    analysis.top_k("nb101", 1)
    with count_statements() as statements:
        analysis.top_k("nb101", 10, "valid_acc", epochs=108, max_params=5e6)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2  # the provenance check, then the top-k statement
    database = _db.open_benchmark("nb101").database
    for kwargs in ({"order_by": "valid_acc", "limit": 10}, {"reduction": None, "order_by": "test_acc", "limit": 3},
                   {"min_valid_acc": 90}, {"reduction": None}):
        _, _, query = analysis._build("nb101", epochs=108, **kwargs)
        plan = " ".join(str(row) for row in database.execute_sql("EXPLAIN QUERY PLAN " + query.sql, query.params))
        # An automatic index on num_epochs makes SQLite probe every config for every cell (minutes on 40k cells).
        assert "AUTOMATIC" not in plan, plan


def test_self_trained_runs_are_excluded_by_default(nb101_env):
    import sqlite3

    path = nb101_env / "nasbench101.db"
    before = analysis.top_k("nb101", 3, epochs=108)
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("INSERT INTO nasbench_source (id, benchmark, kind, file_name, converter, created_at) "
                           "VALUES (99, 'nb101', 'trained', 'results.json', 'test', '2026-01-01')")
        config_id = before[-1]["config"]["id"]
        connection.execute("INSERT INTO nb101_trial (id, source_id, valid_acc, test_acc, train_acc, training_time) "
                           "VALUES (?, 99, 100.0, 100.0, 100.0, 1.0)", (config_id * 1024 + 500,))
    connection.close()
    _db.close_all()
    assert analysis.top_k("nb101", 3, epochs=108) == before
    everything = analysis.top_k("nb101", 1, epochs=108, source=None)
    assert everything[0]["config"]["id"] == config_id and everything[0]["num_runs"] == 4
    trained = analysis.filter_archs("nb101", source="trained", reduction=None)
    assert [r["valid_acc"] for r in trained] == [100.0]


def test_argument_errors_name_the_problem(nb101_env):
    with pytest.raises(InvalidArgument, match="unknown metric 'accuracy' for nb101"):
        analysis.top_k("nb101", 3, "accuracy")
    with pytest.raises(InvalidArgument, match="nb101 stores no FLOP counts"):
        analysis.filter_archs("nb101", max_flops=1e8)
    with pytest.raises(InvalidArgument, match="unknown benchmark 'nb301'"):
        analysis.top_k("nb301")
    with pytest.raises(InvalidArgument, match="unknown dataset 'cifar100' for nb101"):
        analysis.top_k("nb101", dataset="cifar100")
    with pytest.raises(InvalidArgument, match="k must be >= 1"):
        analysis.top_k("nb101", 0)
    with pytest.raises(InvalidArgument, match="min_<metric>="):
        analysis.filter_archs("nb101", valid_acc=3)
    with pytest.raises(InvalidArgument, match="unique=True needs"):
        analysis.filter_archs("nb101", unique=True)


def test_metric_columns_and_iter_cells(nb101_env, nb101_real_cells):
    columns = analysis.metric_columns("nb101", ["valid_acc", "test_acc", "parameters"], epochs=108)
    means = _means(nb101_real_cells)
    assert sorted(columns["valid_acc"]) == pytest.approx(sorted(means.values()), abs=1e-9)
    cells = list(analysis.iter_cells("nb101"))
    assert sorted(c["hash"] for c in cells) == sorted(c["hash"] for c in nb101_real_cells)
    inception = next(c for c in cells if c["hash"] == INCEPTION_HASH)
    assert inception["parameters"] == 2.694282
    assert space.canonical(inception["matrix"], inception["ops"])[2] == INCEPTION_HASH
    assert space.parse_arch(inception["arch"]) == space.check_matrix(inception["matrix"], inception["ops"])


def test_to_dataframe_flattens_rows(nb101_env, monkeypatch):
    pandas = pytest.importorskip("pandas")
    rows = analysis.top_k("nb101", 5, epochs=108)
    frame = analysis.to_dataframe(rows)
    assert isinstance(frame, pandas.DataFrame) and len(frame) == 5
    assert list(frame.columns) == ["id", "config_id", "arch", "num_vertices", "hash", "num_epochs", "train_acc",
                                   "valid_acc", "test_acc", "parameters", "training_time", "num_runs"]
    assert frame["valid_acc"].tolist() == [r["valid_acc"] for r in rows]
    from nasbench_db.query import query_nb101_trial_stats

    queried = analysis.to_dataframe(query_nb101_trial_stats(None, 108, include_intermediates=True))
    assert "intermediates" in queried.columns and len(queried) == 31 * 3
    assert analysis.to_dataframe({"a": [1, 2]})["a"].tolist() == [1, 2]
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependency, match="pip install pandas"):
        analysis.to_dataframe(rows)


# ----------------------------------------------------------------------------------------------------------------------
# NB-201, NATS size space, NDS


def test_nb201_filters_on_the_landscape(land201):
    rows = analysis.top_k("nb201", 5, "valid_acc", dataset="cifar10", epochs=200)
    values = [r["valid_acc"] for r in rows]
    assert values == sorted(values, reverse=True) and len(rows) == 5
    assert all(r["config"]["dataset"] == "cifar10" and set(r["config"]["arch"]) == set(space201.NNI_KEYS)
               for r in rows)
    best = rows[0]
    index = space201.index_of(best["config"]["arch"])
    assert best["parameters"] == pytest.approx(space201.parameters(index, "cifar10"))
    unique = analysis.filter_archs("nb201", dataset="cifar10", epochs=200, unique=True)
    assert len(unique) == space201.NUM_UNIQUE
    small = analysis.filter_archs("nb201", dataset="cifar10", epochs=200, max_flops=20e6, max_params=0.2e6)
    assert small and all(r["flops"] <= 20 and r["parameters"] <= 0.2 for r in small)
    assert len(small) == sum(1 for ops in space201.all_archs()
                             if space201.flops(ops, "cifar10") <= 20 and space201.parameters(ops, "cifar10") <= 0.2)
    ids = analysis.filter_archs("nb201", dataset="cifar10", epochs=200, config={"arch_index": 7})
    assert len(ids) == 1 and space201.index_of(ids[0]["config"]["arch"]) == 7
    cells = list(analysis.iter_cells("nb201"))
    assert [c["index"] for c in cells] == list(range(space201.NUM_ARCHS))
    assert cells[5]["arch_str"] == space201.meta_archs()[5]


def test_nats_sss_and_nds(tmp_path, monkeypatch):
    from nasbench_db.convert.nb201 import convert_nats_sss
    from nasbench_db.convert.nds import convert_nds
    from nb201_fixture import SSS_DIR

    import nds_fixture

    convert_nats_sss(SSS_DIR, tmp_path, progress=False)
    sweeps = nds_fixture.build_sweeps({"DARTS": 6, "ResNet": 4}, seed=3)
    convert_nds(nds_fixture.write_dir(tmp_path / "nds_data", sweeps), tmp_path, progress=False)
    monkeypatch.setenv("NASBENCHMARK_DIR", str(tmp_path))
    from nasbench_db.query import query_nats_sss_trial_stats, query_nds_trial_stats

    expected = sorted((r["valid_acc"] for r in query_nats_sss_trial_stats(None, 90, "cifar100", reduction="mean")),
                      reverse=True)
    rows = analysis.top_k("nats-sss", 2, "valid_acc", epochs=90, dataset="cifar100")
    assert [r["valid_acc"] for r in rows] == pytest.approx(expected[:2])
    nds = analysis.top_k("nds", 3, config={"proposer": "darts"})
    independent = sorted((r["final_test_acc"] for r in query_nds_trial_stats(None, "darts", None, None, None, None,
                                                                             reduction="mean")), reverse=True)
    assert [r["final_test_acc"] for r in nds] == pytest.approx(independent[:3])
    assert all(r["config"]["proposer"] == "darts" and isinstance(r["config"]["model_spec"], dict) for r in nds)
    with pytest.raises(InvalidArgument, match="cannot filter nds configs on 'colour'"):
        analysis.top_k("nds", config={"colour": "red"})


# ----------------------------------------------------------------------------------------------------------------------
# Plots


def _png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000
    return data


def test_plots_write_pngs(nb101_env, tmp_path, monkeypatch):
    assert plots.plot_ecdf("nb101", tmp_path / "ecdf.png", epochs=108, xmin=80) == str(tmp_path / "ecdf.png")
    _png(tmp_path / "ecdf.png")
    plots.plot_scatter("nb101", tmp_path / "scatter.png", "training_time", "test_acc", epochs=108)
    _png(tmp_path / "scatter.png")
    sim = NB101Simulator(seed=0, sampling="uniform")
    results = [run_search(sim, algo, runs=3, budget=2e4) for algo in ("rs", "re")]
    path = tmp_path / "regret.png"
    plots.plot_regret(results, path)
    _png(path)
    with pytest.raises(InvalidArgument, match="no values to plot"):
        plots.plot_ecdf("nb101", tmp_path / "none.png", epochs=108, min_valid_acc=101)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependency, match="pip install matplotlib"):
        plots.plot_regret(results, tmp_path / "x.png")


# ----------------------------------------------------------------------------------------------------------------------
# Command line


def test_cli_top(nb101_env, nb101_real_cells):
    runner = CliRunner()
    result = runner.invoke(cli, ["top", "nb101", "--k", "3", "--metric", "valid_acc", "--max-params", "1e7",
                                 "--epochs", "108", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows == json.loads(json.dumps(analysis.top_k("nb101", 3, "valid_acc", epochs=108, max_params=1e7)))
    table = runner.invoke(cli, ["top", "nb101", "--k", "2", "--epochs", "108", "--min", "valid_acc=80"])
    assert table.exit_code == 0 and table.output.splitlines()[0].split()[0] == "config.hash"
    csv = runner.invoke(cli, ["top", "nb101", "--all", "--epochs", "108", "--per-run", "--format", "csv"])
    assert csv.exit_code == 0 and len(csv.output.splitlines()) == 1 + sum(len(c["runs"].get(108, []))
                                                                            for c in nb101_real_cells)
    bad = runner.invoke(cli, ["top", "nb101", "--metric", "accuracy"])
    assert bad.exit_code == 1 and "Error: unknown metric 'accuracy' for nb101" in bad.output
    bad = runner.invoke(cli, ["top", "nb101", "--min", "valid_acc"])
    assert bad.exit_code == 2 and "--min takes METRIC=VALUE" in bad.output


def test_cli_plots(nb101_env, tmp_path):
    runner = CliRunner()
    ecdf = tmp_path / "ecdf.png"
    assert runner.invoke(cli, ["plot", "ecdf", "nb101", "--epochs", "108", "--out", str(ecdf)]).exit_code == 0
    _png(ecdf)
    scatter = tmp_path / "scatter.png"
    result = runner.invoke(cli, ["plot", "scatter", "nb101", "--x", "parameters", "--epochs", "108", "--out",
                                 str(scatter)])
    assert result.exit_code == 0, result.output
    _png(scatter)
    out = tmp_path / "rs.json"
    assert runner.invoke(cli, ["search", "nb101", "--algo", "rs", "--runs", "2", "--budget", "2e4", "--sampling",
                               "uniform", "--out", str(out)]).exit_code == 0
    regret = tmp_path / "regret.png"
    result = runner.invoke(cli, ["plot", "regret", str(out), str(out), "--label", "a", "--label", "b", "--out",
                                 str(regret)])
    assert result.exit_code == 0, result.output
    _png(regret)
    (tmp_path / "bad.json").write_text("{}")
    bad = runner.invoke(cli, ["plot", "regret", str(tmp_path / "bad.json"), "--out", str(regret)])
    assert bad.exit_code == 1 and "not a search result" in bad.output


# ----------------------------------------------------------------------------------------------------------------------
# PostgreSQL: the same statements through NASBENCHMARK_DB_URL


def test_postgres_top_k_filters_and_simulator_equal_sqlite(pg_url, nb101_sample_db, monkeypatch):
    from nasbench_db.convert.nb101 import convert_nb101
    from conftest import SAMPLE_TFRECORD

    convert_nb101(SAMPLE_TFRECORD, progress=False)
    calls = [
        dict(benchmark="nb101", k=5, metric="valid_acc", epochs=108),
        dict(benchmark="nb101", k=3, metric="test_acc", epochs=108, reduction=None, max_params=5e6),
        dict(benchmark="nb101", k=4, metric="training_time", ascending=True, min_valid_acc=90),
    ]
    on_server = [analysis.top_k(**kwargs) for kwargs in calls]
    filtered = analysis.filter_archs("nb101", epochs=108, min_test_acc=92)
    columns = analysis.metric_columns("nb101", ["valid_acc"], epochs=12)
    sim = NB101Simulator(seed=4, sampling="uniform")
    server_search = run_search(sim, "re", runs=2, budget=2e4, population_size=5, sample_size=2)
    monkeypatch.delenv("NASBENCHMARK_DB_URL")
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nb101_sample_db))
    _db.close_all()
    for kwargs, rows in zip(calls, on_server):
        local = analysis.top_k(**kwargs)
        assert [r["config"]["hash"] for r in rows] == [r["config"]["hash"] for r in local]
        for a, b in zip(rows, local):
            for key in ("valid_acc", "test_acc", "training_time", "parameters"):
                assert a[key] == pytest.approx(b[key], rel=1e-9)
    local_filtered = analysis.filter_archs("nb101", epochs=108, min_test_acc=92)
    assert sorted(r["config"]["hash"] for r in filtered) == sorted(r["config"]["hash"] for r in local_filtered)
    assert sorted(columns["valid_acc"]) == pytest.approx(sorted(analysis.metric_columns(
        "nb101", ["valid_acc"], epochs=12)["valid_acc"]))
    local_search = run_search(NB101Simulator(seed=4, sampling="uniform"), "re", runs=2, budget=2e4,
                              population_size=5, sample_size=2)
    assert [r["queries"] for r in server_search["rollouts"]] == [r["queries"] for r in local_search["rollouts"]]


def test_postgres_reads_nb101_means_of_the_released_runs_and_answers_as_the_runs_do(pg_url, tmp_path, monkeypatch,
                                                                                    nb101_real_cells):
    """On a server, publish writes each config's mean over its released runs (models.Nb101OriginalMean); analysis
    reads them instead of averaging the runs. Every answer equals the per-run statement's, before and after trained
    runs of the same configs are ingested (they are never averaged in)."""
    from nasbench_db.convert.nb101 import convert_nb101
    from nasbench_db.convert.results import convert_results
    from conftest import SAMPLE_TFRECORD
    from test_concurrency import write_results

    report = convert_nb101(SAMPLE_TFRECORD, progress=False)
    database = _db.url_database(pg_url)
    count, runs = _db.fetchall(database, "SELECT COUNT(*), SUM(num_runs) FROM nb101_original_mean")[0]
    assert count == _db.fetchall(database, "SELECT COUNT(DISTINCT id / 1024) FROM nb101_trial")[0][0] > 0
    assert runs == _db.fetchall(database, "SELECT COUNT(*) FROM nb101_trial")[0][0]
    database.close()
    calls = [
        ("top_k", dict(benchmark="nb101", k=5, metric="valid_acc", epochs=108)),  # ranked on the means alone
        ("top_k", dict(benchmark="nb101", k=4, metric="test_acc", max_params=5e6)),  # needs the cell table
        ("top_k", dict(benchmark="nb101", k=3, metric="training_time", ascending=True, min_valid_acc=90)),
        ("top_k", dict(benchmark="nb101", k=3, metric="parameters")),
        ("filter_archs", dict(benchmark="nb101", epochs=108, min_test_acc=92, order_by="halfway_valid_acc")),
        ("filter_archs", dict(benchmark="nb101", dataset="cifar10", config={"num_vertices": 7})),
        ("metric_columns", dict(benchmark="nb101", metrics=["valid_acc", "total_time", "parameters"], epochs=12)),
        ("correlate", dict(benchmark="nb101", x="valid_acc", y="test_acc", epochs=36)),
        ("pareto_front", dict(benchmark="nb101", cost="parameters", metric="test_acc", epochs=108)),
    ]
    real = analysis._server_means
    statements = []

    def answers(use_means: bool):
        def spy(*args):
            used = real(*args)
            statements.append(used)
            return used and use_means
        monkeypatch.setattr(analysis, "_server_means", spy)
        try:
            out = [getattr(analysis, name)(**kwargs) for name, kwargs in calls]
            out[5] = sorted(out[5], key=lambda row: row["config"]["id"])  # no order asked: database order
            return out
        finally:
            monkeypatch.setattr(analysis, "_server_means", real)

    from_means = answers(True)
    assert statements and all(statements)  # every call could read the means
    assert from_means == answers(False)
    assert from_means[0][0]["num_runs"] >= 1 and len(from_means[0]) == 5
    # trained runs of the same cells: the released runs' answers stay, the means still serve them
    write_results(tmp_path / "r", nb101_real_cells, range(6))
    assert convert_results(tmp_path / "r").ingested == 6
    statements.clear()
    assert answers(True) == from_means
    assert all(statements)
    everything = analysis.filter_archs("nb101", epochs=108, source=None)
    assert sum(r["num_runs"] for r in everything) == sum(r["num_runs"] for r in analysis.filter_archs(
        "nb101", epochs=108)) + 6
    # a server published by an earlier version (no means table) averages the runs
    database = _db.url_database(pg_url)
    database.execute_sql("DROP TABLE nb101_original_mean")
    database.close()
    statements.clear()
    assert answers(True) == from_means and not any(statements)
    assert report is not None
