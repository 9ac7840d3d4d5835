"""``nasbench-db serve``: the JSON API through Datasette's test client, the read-only guarantees, the SQL time limit,
the CLI, a real server over HTTP, and a real browser (headless Chromium) on four pages.

Every database file the module serves is hashed before the first test and after the last one: nothing a browser can
send (SQL writes, POST / PUT / DELETE to every page, canned queries with hostile parameters) may change a byte or
leave a journal, WAL or lock file beside it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("datasette", reason="nasbench-db serve needs Datasette: pip install 'nasbench_db[serve]'")

import serve_fixture  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from nasbench_db import analysis  # noqa: E402
from nasbench_db.cli import cli  # noqa: E402
from nasbench_db.serve import build_datasette, discover, immutable_connect  # noqa: E402
from nasbench_db.serve.metadata import models_of  # noqa: E402
from nasbench_db.serve.plugin import authorizer  # noqa: E402
from nasbench_db.spaces import nats_sss as nats_sss_space  # noqa: E402
from nasbench_db.spaces import nb101 as nb101_space  # noqa: E402
from nasbench_db.spaces import nb201 as nb201_space  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CELL = 11  # a real NATS topology record: per-epoch curves on all four datasets, 12 and 200 epochs
CELL_OPS = nb201_space.arch_of_index(CELL)


# ----------------------------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Path:
    return serve_fixture.build_lab(tmp_path_factory.mktemp("serve") / "lab")


@pytest.fixture(scope="module")
def landscape(tmp_path_factory) -> Path:
    return serve_fixture.build_landscape(tmp_path_factory.mktemp("serve") / "landscape")


def _snapshot(*directories) -> dict:
    """Every file in the directories: sha256, size and modification time (and no other file may appear)."""
    out = {}
    for directory in directories:
        for path in sorted(Path(directory).iterdir()):
            stat = path.stat()
            out[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_size, stat.st_mtime_ns)
    return out


@pytest.fixture(scope="module", autouse=True)
def files_unchanged(lab, landscape):
    """The database files hashed before the module and after it: the service changes nothing."""
    before = _snapshot(lab, landscape)
    assert any(name.endswith("nasbench201.db") for name in before)
    yield
    after = _snapshot(lab, landscape)
    assert after == before, "a database file changed (or a journal / WAL file appeared) while being served"


class Client:
    """Datasette's in-process test client on one event loop."""

    def __init__(self, datasette):
        self.ds = datasette
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(datasette.invoke_startup())

    def get(self, path, **kwargs):
        return self.loop.run_until_complete(self.ds.client.get(path, **kwargs))

    def request(self, method, path, **kwargs):
        return self.loop.run_until_complete(self.ds.client.request(method, path, **kwargs))

    def rows(self, path, **params):
        response = self.get(path, params={**params, "_shape": "objects"})
        assert response.status_code == 200, response.text[:2000]
        body = response.json()
        assert body["ok"] is True, body.get("error")
        return body["rows"]

    def close(self):
        for database in self.ds.databases.values():
            database.close()
        self.loop.close()


@pytest.fixture(scope="module")
def client(lab):
    c = Client(build_datasette(lab))
    yield c
    c.close()


@pytest.fixture(scope="module")
def land(landscape):
    c = Client(build_datasette(landscape))
    yield c
    c.close()


def _metadata(client) -> dict:
    response = client.get("/-/metadata.json")
    assert response.status_code == 200
    return response.json()


# ----------------------------------------------------------------------------------------------------------------------
# metadata: descriptions and units from the models, facets


def test_every_served_table_and_column_is_described_from_the_models(client, lab):
    databases = _metadata(client)["databases"]
    served = {s.name: s for s in discover(lab)}
    assert set(served) == {"nasbench101", "nasbench201", "nats_sss", "nds", "nlp"}
    for name, entry in served.items():
        known = models_of(entry.benchmark)
        tables = databases[name]["tables"]
        for table, columns in entry.tables.items():
            if table.startswith("sqlite_"):
                assert tables[table] == {"hidden": True}
                continue
            assert table in known or table == "hw_nb201_device", f"{name}.{table} has no model"
            assert tables[table].get("description"), f"{name}.{table} has no description"
            missing = sorted(set(columns) - set(tables[table].get("columns", {})))
            assert not missing, f"{name}.{table}: columns without a description: {missing}"
    nb201 = databases["nasbench201"]["tables"]
    nb101 = databases["nasbench101"]["tables"]
    assert nb201["hw_nb201_metric"]["columns"]["edgegpu_latency"].startswith("ms on an NVIDIA Jetson TX2")
    assert nb201["hw_nb201_metric"]["columns"]["fpga_energy"].startswith("mJ")
    assert nb201["nb201trialstats"]["columns"]["training_time"].startswith("seconds: sum of the per-epoch")
    assert nb201["nb201trialstats"]["columns"]["parameters"].startswith("millions of parameters")
    assert "6,466 classes" in nb201["nb201_arch"]["columns"]["unique_index"]
    assert nb101["nb101trialstats"]["columns"]["parameters"] == "millions"
    assert nb101["nb101trialstats"]["columns"]["training_time"].startswith("seconds, real")
    assert nb101["nb101_trial_energy"]["columns"]["total_energy"].startswith("kWh")
    assert nb101["nb101intermediatestats"]["columns"]["valid_acc"] == "percent, at that epoch"
    assert "nats per token" in databases["nlp"]["tables"]["nlp_trial"]["columns"]["val_loss"]
    # a model reusing another's fields documents them through it (NATS size space: "as Nb201TrialStats")
    assert databases["nats_sss"]["tables"]["nats_sss_trialstats"]["columns"]["test_acc"].startswith(
        "final accuracy on the test split")


def test_table_pages_show_the_descriptions_and_facet_by_dataset_epochs_and_source(client):
    html = client.get("/nasbench201/hw_nb201_metric").text
    assert "ms on an NVIDIA Jetson TX2 edge GPU (measured)" in html
    body = client.get("/nasbench201/nb201trialconfig.json").json()
    facets = body["facet_results"]
    assert {item["value"]: item["count"] for item in facets["dataset"]["results"]} == {
        "cifar10-valid": 31250, "cifar10": 31250, "cifar100": 31250, "imagenet16-120": 31250}
    assert {item["value"] for item in facets["num_epochs"]["results"]} == {12, 200}
    stats = client.get("/nasbench201/nb201trialstats.json").json()["facet_results"]
    source = stats["source_id"]["results"]
    assert [(item["label"], item["count"]) for item in source] == [("NATS-tss-v1_0-3ffb9-simple", 51)]
    runs = client.get("/nasbench101/nb101_config.json").json()["facet_results"]
    assert {item["value"] for item in runs["num_epochs"]["results"]} == {4, 12, 36, 108}
    kinds = client.get("/nasbench101/nasbench_source.json").json()["facet_results"]["kind"]["results"]
    assert {item["value"] for item in kinds} == {"original", "ecnas", "zc", "trained"}


def test_table_rows_are_counted_once_in_the_background_and_views_are_not_counted(client, lab):
    deadline = time.monotonic() + 60
    while len(client.ds.inspect_data or {}) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(client.ds.inspect_data) == {"nasbench101", "nasbench201", "nats_sss", "nds", "nlp"}
    conn = immutable_connect(lab / "nasbench201.db")
    epochs = conn.execute("SELECT COUNT(*) FROM nb201_epoch").fetchone()[0]
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert client.get("/nasbench201/nb201_epoch.json").json()["filtered_table_rows_count"] == epochs > 0
    listed = client.get("/nasbench201.json").json()["tables"]
    assert {t["name"] for t in listed} == tables  # every table listed (Datasette lists them from the counts)
    view = client.get("/nasbench101/nb101trialstats.json").json()
    assert view["filtered_table_rows_count"] is None and len(view["rows"]) == 100
    assert client.get("/nasbench101/nb101trialstats.json", params={"_nocount": "0"}).status_code == 200


# ----------------------------------------------------------------------------------------------------------------------
# canned queries


def _queries(client):
    for database, entry in _metadata(client)["databases"].items():
        for name in entry.get("queries", {}):
            yield database, name


ARCH_EXAMPLES = {"nasbench201": str(CELL), "nasbench101": serve_fixture.INCEPTION_HASH, "nats_sss": "8:16:24:32:40"}


def test_every_canned_query_answers_as_json_and_csv(client):
    seen = []
    for database, name in _queries(client):
        params = {"arch": ARCH_EXAMPLES[database]} if name == "arch" else {}
        if database == "nlp":
            params["dataset"] = "wikitext-2"  # the real logs in tests/data are WikiText-2's
        rows = client.rows(f"/{database}/{name}.json", **params)
        assert rows, f"{database}/{name} returned no rows with its defaults"
        csv = client.get(f"/{database}/{name}.csv", params=params)
        assert csv.status_code == 200 and csv.text.count("\n") == len(rows) + 1
        html = client.get(f"/{database}/{name}", params=params)
        assert html.status_code == 200
        seen.append((database, name))
    assert len(seen) == 4 + 4 + 4 + 3 + 3  # nb101, nb201, nats_sss: top_k, pareto, correlation, arch; nds, nlp: 3


def _same(rows, expected, key):
    assert [r[key] for r in rows] == [e for e, _ in expected]
    for row, (_, value) in zip(rows, expected):
        assert row["value"] == pytest.approx(value, rel=1e-12)


def test_top_k_under_bounds_matches_the_analysis_api(land, landscape):
    kw = dict(dataset="cifar100", epochs=200, db_dir=landscape)
    rows = land.rows("/nasbench201/top_k.json", dataset="cifar100", metric="test_acc", k=10, max_params=0.8,
                     cost="edgegpu_latency", max_cost=5)
    expected = analysis.top_k("nb201", 10, "test_acc", max_params=0.8e6, max_edgegpu_latency=5, **kw)
    _same(rows, [(nb201_space.index_of(r["config"]["arch"]), r["test_acc"]) for r in expected], "arch_index")
    assert all(r["edgegpu_latency"] <= 5 and r["parameters"] <= 0.8 for r in rows)
    # a zero-cost proxy as the metric, a cost ranked cheapest first (the default order for costs)
    rows = land.rows("/nasbench201/top_k.json", dataset="cifar100", metric="synflow", k=7)
    expected = analysis.top_k("nb201", 7, "synflow", **kw)
    _same(rows, [(nb201_space.index_of(r["config"]["arch"]), r["synflow"]) for r in expected], "arch_index")
    rows = land.rows("/nasbench201/top_k.json", dataset="cifar10-valid", metric="fpga_energy", k=5,
                     cost="test_acc", min_cost=70)
    expected = analysis.top_k("nb201", 5, "fpga_energy", ascending=True, dataset="cifar10-valid", epochs=200,
                              min_test_acc=70, db_dir=landscape)
    _same(rows, [(nb201_space.index_of(r["config"]["arch"]), r["fpga_energy"]) for r in expected], "arch_index")
    assert land.rows("/nasbench201/top_k.json", metric="no_such_metric") == []


def test_pareto_front_matches_the_analysis_api(land, landscape):
    for cost, metric, order in (("edgegpu_latency", "test_acc", ""), ("parameters", "valid_acc", ""),
                                ("edgegpu_energy", "training_time", "asc")):
        rows = land.rows("/nasbench201/pareto.json", dataset="cifar100", cost=cost, metric=metric, order=order)
        front = analysis.pareto_front("nb201", cost, metric, maximize=order != "asc", dataset="cifar100",
                                      epochs=200, db_dir=landscape)
        assert len(rows) > 3
        assert [r["arch_index"] for r in rows] == [nb201_space.index_of(r["config"]["arch"]) for r in front]
        assert [r["cost_value"] for r in rows] == pytest.approx([r[cost] for r in front], rel=1e-12)
        assert [r["metric_value"] for r in rows] == pytest.approx([r[metric] for r in front], rel=1e-12)


def test_pareto_page_plots_every_config_and_the_front(land, landscape):
    params = {"dataset": "cifar100", "cost": "edgegpu_latency", "metric": "test_acc"}
    front = analysis.pareto_front("nb201", "edgegpu_latency", "test_acc", dataset="cifar100", epochs=200,
                                  db_dir=landscape)
    body = land.get("/nasbench201/-/pareto.json", params=params).json()
    assert body["configs"] == 15625
    assert [r["arch_index"] for r in body["front"]] == [nb201_space.index_of(r["config"]["arch"]) for r in front]
    html = land.get("/nasbench201/-/pareto", params=params).text
    assert html.count('class="front-point"') == len(front) and 'class="front"' in html
    assert "15625 configs (every 4th drawn)" in html


def test_correlation_in_sql_and_on_the_scipy_page_match_correlate(land, landscape):
    expected = analysis.correlate("nb201", "test_acc", "synflow", dataset="cifar100", epochs=200, db_dir=landscape)
    assert expected["n"] == 725
    (row,) = land.rows("/nasbench201/correlation.json", dataset="cifar100", x="test_acc", y="synflow")
    assert row["n"] == expected["n"] and row["spearman_rho"] == pytest.approx(expected["spearman_rho"], rel=1e-9)
    page = land.get("/nasbench201/-/correlation.json",
                    params={"dataset": "cifar100", "x": "test_acc", "y": "synflow"}).json()
    for key in ("n", "kendall_tau", "kendall_p", "spearman_rho", "spearman_p"):
        assert page[key] == pytest.approx(expected[key], rel=1e-9), key
    csv = land.get("/nasbench201/-/correlation.csv", params={"dataset": "cifar100", "x": "test_acc", "y": "synflow"})
    assert csv.text.splitlines()[0] == "x,y,n,kendall_tau,kendall_p,spearman_rho,spearman_p"
    html = land.get("/nasbench201/-/correlation", params={"dataset": "cifar100", "y": "edgegpu_latency"}).text
    assert "kendall_tau" in html and "scipy.stats" in html


def test_nb101_and_other_benchmarks_top_k_match_the_analysis_api(client, lab):
    rows = client.rows("/nasbench101/top_k.json", k=5)
    expected = analysis.top_k("nb101", 5, "valid_acc", epochs=108, db_dir=lab)
    _same(rows, [(r["config"]["hash"], r["valid_acc"]) for r in expected], "hash")
    rows = client.rows("/nats_sss/top_k.json", dataset="cifar100", metric="test_acc", k=3)
    expected = analysis.top_k("nats_sss", 3, "test_acc", dataset="cifar100", epochs=90, db_dir=lab)
    _same(rows, [(nats_sss_space.index_of(r["config"]["arch"]), r["test_acc"]) for r in expected], "arch_index")
    rows = client.rows("/nds/top_k.json", k=4)
    expected = analysis.top_k("nds", 4, "final_test_acc", dataset="cifar10", db_dir=lab)
    _same(rows, [(r["config"]["id"], r["final_test_acc"]) for r in expected], "config_id")
    # EC-NAS-Bench energy: its own source, cheapest first
    rows = client.rows("/nasbench101/top_k.json", source="ecnas", epochs=4, metric="total_energy", k=3)
    conn = immutable_connect(lab / "nasbench101.db")
    expected = conn.execute(
        "SELECT a.hash, AVG(e.total_energy) AS m FROM nb101_trial_energy e JOIN nb101_trial t ON t.id = e.trial_id "
        "JOIN nb101_config c ON c.id = t.id / 1024 JOIN nb101_arch a ON a.id = c.id / 16 WHERE c.num_epochs = 4 "
        "GROUP BY c.id ORDER BY m, c.id LIMIT 3").fetchall()
    conn.close()
    _same(rows, expected, "hash")
    losses = client.rows("/nlp/top_k.json", dataset="wikitext-2", k=5)
    assert [r["val_loss"] for r in losses] == sorted(r["val_loss"] for r in losses)  # losses: smallest first


def test_a_cell_by_any_of_its_encodings(client):
    nni = nb201_space.to_nni(CELL_OPS)
    encodings = [str(CELL), nb201_space.arch_str(CELL_OPS), json.dumps(dict(reversed(list(nni.items())))),
                 json.dumps({k: nb201_space.ORIGINAL_NAME[v] for k, v in nni.items()}), json.dumps(list(CELL_OPS))]
    for text in encodings:
        assert [r["arch_index"] for r in client.rows("/nasbench201/arch.json", arch=text)] == [CELL], text
    matrix, ops = serve_fixture.INCEPTION["matrix"], serve_fixture.INCEPTION["ops"]
    relabelled = nb101_space.permute(matrix, ops, [0, 5, 3, 2, 4, 1, 6])
    assert [list(r) for r in relabelled[0]] != matrix
    for arch in (serve_fixture.INCEPTION_HASH, serve_fixture.INCEPTION_HASH.upper(),
                 json.dumps(serve_fixture.INCEPTION),
                 json.dumps({"matrix": [list(r) for r in relabelled[0]], "ops": list(relabelled[1])}),
                 json.dumps(nb101_space.matrix_to_arch(matrix, ops))):
        assert [r["hash"] for r in client.rows("/nasbench101/arch.json", arch=arch)] == [
            serve_fixture.INCEPTION_HASH], arch
    for bad in ("15625", "-1", "|foo~0|", "{not json", "[" * 3000, "x" * 5000, ""):
        assert client.rows("/nasbench201/arch.json", arch=bad) == []
        assert client.rows("/nasbench101/arch.json", arch=bad) == []
    assert [r["id"] for r in client.rows("/nats_sss/arch.json", arch="8:16:24:32:40")] == [668]


# ----------------------------------------------------------------------------------------------------------------------
# cell pages


def test_nb201_cell_page_json_csv_and_html(client, lab):
    conn = immutable_connect(lab / "nasbench201.db")
    runs = conn.execute("SELECT COUNT(*) FROM nb201trialstats t JOIN nb201trialconfig c ON c.id = t.config_id "
                        "WHERE c.arch_index = ?", (CELL,)).fetchone()[0]
    costs = conn.execute("SELECT dataset, edgegpu_latency FROM hw_nb201_metric WHERE arch_index = ? ORDER BY dataset",
                         (CELL,)).fetchall()
    conn.close()
    cell = client.get(f"/nasbench201/-/cell/{CELL}.json").json()
    assert cell["ok"] and cell["index"] == CELL and cell["arch_str"] == nb201_space.arch_str(CELL_OPS)
    assert runs == 17 and len(cell["runs"]) == runs + 1
    (trained,) = [r for r in cell["runs"] if r["source_kind"] == "trained"]
    assert trained["source_device"] == "NVIDIA H100 80GB HBM3" and trained["table"] == "nb201_trained_trialstats"
    assert (CELL, trained["dataset"], trained["num_epochs"]) == serve_fixture.TRAINED_NB201
    curve = next(c for c in cell["curves"] if c["dataset"] == "cifar10-valid" and c["num_epochs"] == 200)
    assert curve["runs"] == 3 and len(curve["series"]["valid_acc"]) == 200
    mine = next(c for c in cell["curves"] if c["source_kind"] == "trained")
    assert mine["runs"] == 1 and len(mine["series"]["valid_acc"]) == 12
    assert [(c["dataset"], c["edgegpu_latency"]) for c in cell["costs"]] == costs
    for form in (nb201_space.arch_str(CELL_OPS), json.dumps(nb201_space.to_nni(CELL_OPS))):
        assert client.get("/nasbench201/-/cell.json", params={"arch": form}).json()["index"] == CELL
    csv = client.get(f"/nasbench201/-/cell/{CELL}.csv").text.splitlines()
    assert csv[0].startswith("dataset,num_epochs,trial_id,seed") and len(csv) == len(cell["runs"]) + 1
    html = client.get(f"/nasbench201/-/cell/{CELL}").text
    assert html.count('class="edge"') == 6
    for (i, j), op in zip(nb201_space.EDGES, CELL_OPS):
        assert f'data-edge="{i}-{j}" data-op="{op}"' in html
    assert html.count('<svg class="nb-chart"') == len(cell["curves"]) == 9
    assert "trained #" in html and "NVIDIA H100 80GB HBM3" in html
    assert "Runs per source" in html and "Hardware costs (HW-NAS-Bench)" in html
    # cells of the same isomorphism class link to each other
    assert cell["unique_index"] in cell["isomorphic"]


def test_nb101_cell_page_shows_runs_per_source_with_energy(client, lab):
    cell = client.get(f"/nasbench101/-/cell/{serve_fixture.INCEPTION_HASH}.json").json()
    # the file's own labelling of the cell: same ops, same graph
    assert sorted(cell["ops"]) == sorted(serve_fixture.INCEPTION["ops"]) and cell["parameters"] == 2694282
    assert nb101_space.arch_hash({"matrix": cell["matrix"], "ops": cell["ops"]}) == serve_fixture.INCEPTION_HASH
    assert sorted({(r["num_epochs"], r["source_kind"]) for r in cell["runs"]}) == [
        (4, "original"), (12, "original"), (36, "original"), (108, "original"), (108, "trained")]
    assert len(cell["runs"]) == 13 and len(cell["curves"]) == 5
    html = client.get(f"/nasbench101/-/cell/{serve_fixture.INCEPTION_HASH}").text
    assert html.count('class="node"') == 7 and html.count('class="edge"') == 9
    conn = immutable_connect(lab / "nasbench101.db")
    digest, energy = conn.execute(
        "SELECT a.hash, e.total_energy FROM nb101_trial_energy e JOIN nb101_trial t ON t.id = e.trial_id "
        "JOIN nb101_arch a ON a.id = t.id / 16384 ORDER BY t.id LIMIT 1").fetchone()
    conn.close()
    cell = client.get(f"/nasbench101/-/cell/{digest}.json").json()
    ecnas = [r for r in cell["runs"] if r["source_kind"] == "ecnas"]
    assert ecnas and energy in [r["total_energy"] for r in ecnas]
    assert "total_energy (kWh)" in client.get(f"/nasbench101/-/cell/{digest}").text
    # a valid cell the sample does not hold
    chain = [[1 if j == i + 1 else 0 for j in range(7)] for i in range(7)]
    missing = nb101_space.arch_hash({"matrix": chain, "ops": ["input"] + ["conv3x3-bn-relu"] * 5 + ["output"]})
    assert client.get(f"/nasbench101/-/cell/{missing}").status_code == 404


@pytest.mark.parametrize("path, status, text", [
    ("/nasbench201/-/cell/15625", 400, "out of range"),
    ("/nasbench201/-/cell/%7Cfoo~0%7C", 400, "not an NB-201 arch string"),
    ("/nasbench201/-/cell", 400, "pass a cell"),
    ("/nasbench101/-/cell/abc", 400, "32-hex hash or JSON"),
    ("/nasbench201/-/cell/" + "%5B" * 3000, 400, "not valid JSON"),
    ("/nasbench201/-/cell/" + "1" * 5000, 400, "too long"),
    ("/nats_sss/-/cell/1", 404, "cell pages cover NB-201 and NB-101"),
    ("/nosuchdb/-/cell/1", 404, "no benchmark database named"),
])
def test_cell_page_errors_name_the_problem(client, path, status, text):
    for suffix in ("", ".json"):
        response = client.get(path + suffix)
        assert response.status_code == status, (path, response.text[:300])
        assert text in response.text


def test_pages_escape_what_they_echo(client):
    response = client.get("/nasbench201/-/cell", params={"arch": "<script>alert(1)</script>"})
    assert response.status_code == 400
    assert "<script>alert(1)" not in response.text and "&lt;script&gt;" in response.text


def test_cell_keys_in_tables_and_queries_link_to_cell_pages(client):
    html = client.get("/nasbench201/top_k", params={"dataset": "cifar100"}).text
    assert f'href="/nasbench201/-/cell/{CELL}"' in html
    html = client.get("/nasbench101/nb101_arch").text
    assert f'href="/nasbench101/-/cell/{serve_fixture.INCEPTION_HASH}"' in html
    index = client.get("/").text
    assert 'action="/nasbench201/-/cell"' in index and 'href="/nasbench201/top_k"' in index


# ----------------------------------------------------------------------------------------------------------------------
# read-only


@pytest.mark.parametrize("sql, message", [
    ("INSERT INTO nasbench_source (kind) VALUES ('x')", "Statement must be a SELECT"),
    ("WITH a AS (SELECT 1) INSERT INTO nasbench_source (kind) SELECT 'x' FROM a", "not authorized"),
    ("WITH a AS (SELECT 1) DELETE FROM nb201_arch", "not authorized"),
    ("WITH a AS (SELECT 1) UPDATE nb201trialstats SET test_acc = 0", "not authorized"),
    ("WITH a AS (SELECT 1) UPDATE sqlite_master SET sql = ''", "may not be modified"),
    ("DROP TABLE nb201_arch", "Statement must be a SELECT"),
    ("ATTACH DATABASE '/tmp/evil.db' AS evil", "Statement must be a SELECT"),
    ("SELECT load_extension('/tmp/evil.so')", "not authorized"),
    ("PRAGMA writable_schema = 1", "Statement must be a SELECT"),
    ("SELECT * FROM pragma_journal_mode", "disallowed PRAGMA"),
    ("VACUUM INTO '/tmp/copy.db'", "Statement must be a SELECT"),
    ("SELECT fts3_tokenizer('simple')", "not authorized"),
])
def test_sql_that_writes_or_reaches_outside_is_refused(client, sql, message):
    response = client.get("/nasbench201.json", params={"sql": sql})
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_every_method_but_get_and_head_is_refused(client):
    paths = ["/", "/nasbench201", "/nasbench201/nb201_arch", "/nasbench201/nb201_arch/1", "/nasbench201/-/create",
             "/nasbench201/nb201_arch/-/insert", "/nasbench201/-/cell/11", "/-/messages", "/-/permissions",
             "/nasbench201.json?sql=select+1"]
    paths += [f"/{database}/{name}" for database, name in _queries(client)]
    for path in paths:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            response = client.request(method, path, data={"sql": "DELETE FROM nb201_arch", "arch": "11"})
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == "GET, HEAD"
    assert client.request("HEAD", "/nasbench201/-/cell/11").status_code == 200


def test_database_files_are_not_handed_out(client):
    for name in ("nasbench201", "nasbench101"):
        assert client.get(f"/{name}.db").status_code == 403
    assert client.get("/-/static/../../nasbench201.db").status_code in (403, 404)
    for path in ("/-/static-plugins/nasbench-db/__init__.py", "/-/static-plugins/nasbench-db/../plugin.py",
                 "/-/static/%2e%2e/%2e%2e/setup.cfg"):
        assert client.get(path).status_code == 404, path


def test_a_file_changed_on_disk_is_not_read_again(lab, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(lab / "nlp.db", copy / "nlp.db")
    served = Client(build_datasette(copy))
    try:
        assert served.get("/nlp/nlptrialconfig.json").status_code == 200
        stat = (copy / "nlp.db").stat()
        os.utime(copy / "nlp.db", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # as an in-place write would
        response = served.get("/nlp/nlptrialconfig.json")
        assert response.status_code == 503 and "changed on disk" in response.text and "Restart" in response.text
    finally:
        served.close()


def test_the_authorizer_allows_reading_only(lab):
    conn = immutable_connect(lab / "nasbench201.db")
    conn.set_authorizer(authorizer)
    try:
        assert conn.execute("SELECT COUNT(*) FROM nb201_arch").fetchone() == (15625,)
        assert conn.execute("SELECT name FROM pragma_table_info('nb201_arch') LIMIT 1").fetchone() == ("id",)
        assert conn.execute("PRAGMA schema_version").fetchone()[0] > 0
        for statement in ("ATTACH DATABASE ':memory:' AS other", "DETACH DATABASE main", "PRAGMA query_only = 0",
                          "PRAGMA journal_mode = WAL", "CREATE TEMP TABLE t (x)", "CREATE TABLE t (x)",
                          "INSERT INTO nasbench_source (kind) VALUES ('x')", "DELETE FROM nb201_arch",
                          "BEGIN", "SAVEPOINT s", "ANALYZE", "REINDEX", "SELECT load_extension('x')",
                          "CREATE VIEW v AS SELECT 1"):
            with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
                conn.execute(statement)
    finally:
        conn.close()


def test_the_sql_time_limit_stops_any_statement(lab):
    limited = Client(build_datasette(lab, sql_time_limit_ms=50))
    try:
        slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n"
        started = time.perf_counter()
        response = limited.get("/nasbench201.json", params={"sql": slow})
        assert response.status_code == 400 and "SQL query took too long" in response.json()["error"]
        assert time.perf_counter() - started < 30
        settings = limited.get("/-/settings.json").json()
        assert settings["sql_time_limit_ms"] == 50 and settings["allow_download"] is False
        assert limited.rows("/nasbench201/arch.json", arch="11")  # a quick canned query still answers
    finally:
        limited.close()


def test_no_sql_refuses_custom_sql_but_serves_the_rest(lab):
    closed = Client(build_datasette(lab, allow_sql=False))
    try:
        assert closed.get("/nasbench201.json", params={"sql": "select 1"}).status_code == 403
        assert closed.rows("/nasbench201/top_k.json")
        assert closed.get("/nasbench201/-/cell/11.json").json()["ok"]
    finally:
        closed.close()


# ----------------------------------------------------------------------------------------------------------------------
# the command


def test_serve_refuses_a_database_server(monkeypatch):
    monkeypatch.setenv("NASBENCHMARK_DB_URL", "postgresql://lab:secret@db.example/nasbench")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1
    assert "Error: the browser serves SQLite files only" in result.output
    assert "secret" not in result.output and "lab:***@db.example" in result.output


def test_serve_without_databases_or_without_datasette(tmp_path, monkeypatch, lab):
    result = CliRunner().invoke(cli, ["serve", "--db-dir", str(tmp_path)])
    assert result.exit_code == 1 and "Error: no benchmark database to serve in" in result.output
    monkeypatch.setitem(sys.modules, "datasette", None)
    monkeypatch.setitem(sys.modules, "datasette.app", None)
    result = CliRunner().invoke(cli, ["serve", "--db-dir", str(lab)])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: nasbench-db serve needs Datasette: pip install 'nasbench_db[serve]'"


def test_serve_names_a_file_that_is_not_a_database(tmp_path):
    (tmp_path / "nasbench201.db").write_bytes(b"not a database\n" * 100)
    result = CliRunner().invoke(cli, ["serve", "--db-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: " in result.output and "nasbench201.db: not a readable SQLite database" in result.output
    assert "Traceback" not in result.output


def test_serve_print_metadata_reads_nasbenchmark_dir(monkeypatch, lab):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(lab))
    result = CliRunner().invoke(cli, ["serve", "--print-metadata"])
    assert result.exit_code == 0, result.output
    metadata = json.loads(result.output)
    assert set(metadata["databases"]) == {"nasbench101", "nasbench201", "nats_sss", "nds", "nlp"}
    assert "top_k" in metadata["databases"]["nasbench201"]["queries"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(lab):
    """``nasbench-db serve`` as a user runs it, found through NASBENCHMARK_DIR, on a free loopback port."""
    port = _free_port()
    env = dict(os.environ, NASBENCHMARK_DIR=str(lab), PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    env.pop("NASBENCHMARK_DB_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "nasbench_db", "serve", "--host", "127.0.0.1", "--port",
                                str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(base + "/-/versions.json", timeout=5):
                break
        except (urllib.error.URLError, ConnectionError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.stdout.read().decode(errors="replace")
                pytest.fail(f"nasbench-db serve did not start: {output[-2000:]}")
            time.sleep(0.3)
    yield base
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_the_server_answers_over_http(server):
    with urllib.request.urlopen(server + "/nasbench201/top_k.json?dataset=cifar100&_shape=objects") as response:
        rows = json.load(response)["rows"]
    assert rows[0]["arch_index"] == CELL
    request = urllib.request.Request(server + "/nasbench201/top_k", data=b"k=1", method="POST")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)
    assert raised.value.code == 405


# ----------------------------------------------------------------------------------------------------------------------
# a real browser


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars"]


def _render(browser, url, screenshot: Path, profile: Path, height: int = 1000) -> str:
    """The DOM of ``url`` after headless Chromium rendered it, and its screenshot."""
    result = subprocess.run([browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", f"--window-size=1280,{height}",
                             f"--screenshot={screenshot}", "--dump-dom", url],
                            capture_output=True, timeout=120, cwd=screenshot.parent)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    return result.stdout.decode()


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium is not installed (Debian: apt-get install "
                                                "chromium); .ci/run installs it")
def test_a_real_browser_renders_the_index_a_faceted_table_a_canned_query_and_a_cell_page(server, tmp_path):
    browser = _chromium()
    shots = Path(os.environ.get("NASBENCH_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    pages = {
        "index": ("/", ['href="/nasbench201"', 'action="/nasbench201/-/cell"', "NAS-Bench-201"]),
        "table-facets": ("/nasbench201/nb201trialconfig", ['class="facet-info', "cifar100</a> 31,250",
                                                           "imagenet16-120", "12 (NB-201 less"]),
        "canned-query": ("/nasbench201/top_k?dataset=cifar100&metric=test_acc&cost=edgegpu_latency&max_cost=10",
                         ['<table class="rows-and-columns">', f'href="/nasbench201/-/cell/{CELL}"',
                          "edgegpu_latency"]),
        "cell": (f"/nasbench201/-/cell/{CELL}", ['<svg class="nb-cell"', 'data-op="avg_pool_3x3"',
                                                 '<svg class="nb-chart"', "Runs per source"]),
    }
    for name, (path, expected) in pages.items():
        screenshot = shots / f"serve-{name}.png"
        dom = _render(browser, server + path, screenshot, tmp_path / f"profile-{name}")
        for text in expected:
            assert text in dom, f"{name}: {text!r} not in the rendered page"
        data = screenshot.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, name


# ----------------------------------------------------------------------------------------------------------------------
# NNI's own files


def test_nni_prebuilt_files_are_served_with_their_queries(tmp_path, nb101_sample_db):
    import nni_reference
    import test_nni_compat as compat
    from nb201_fixture import TSS_DIR, load_simple

    from nasbench_db import db as _db

    nni_dir = tmp_path / "nni"
    nni_dir.mkdir()
    nni_reference.write(str(nni_dir / _db.NNI_FILE_NAMES["nb101"]), "nb101", compat.nb101_nni_rows(nb101_sample_db))
    meta, records = load_simple(TSS_DIR)
    nni_reference.write(str(nni_dir / _db.NNI_FILE_NAMES["nb201"]), "nb201", compat.nb201_nni_rows(meta, records))
    before = _snapshot(nni_dir)
    nni = Client(build_datasette(nni_dir))
    try:
        names = set(_queries(nni))
        assert names == {("nasbench101-209f5694", n) for n in ("top_k", "pareto", "correlation")} | {
            ("nasbench201-b2b60732", n) for n in ("top_k", "pareto", "correlation")}
        for database, name in names:
            assert nni.rows(f"/{database}/{name}.json"), (database, name)
        # NNI's file keeps NB-101 times x 60 (its db_gen bug): the canned queries answer in seconds, as ours
        (row,) = nni.rows("/nasbench101-209f5694/top_k.json", metric="training_time", k=1, order="desc")
        assert row["value"] < 10_000
        tables = _metadata(nni)["databases"]["nasbench201-b2b60732"]["tables"]
        assert tables["nb201trialstats"]["columns"]["test_acc"].startswith("final accuracy on the test split")
        response = nni.get("/nasbench201-b2b60732/-/cell/11.json")
        assert response.status_code == 404 and "not NNI's prebuilt file" in response.json()["error"]
    finally:
        nni.close()
    assert _snapshot(nni_dir) == before
