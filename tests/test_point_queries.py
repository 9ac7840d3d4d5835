"""Point queries at the floor (issue 14): NB-101 cells found by their labelled form (no hashing), by hash straight
to the rows, one statement per point query, and PostgreSQL plans without JIT or scans."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from conftest import count_statements, selects
from nasbench_db import db as _db
from nasbench_db.compat.nasbench import api
from nasbench_db.query import nb101 as query_nb101
from nasbench_db.query import query_nb101_trial_stats
from nasbench_db.spaces import nb101 as space


def _stored_cells(db_dir) -> list:
    with sqlite3.connect(db_dir / "nasbench101.db") as conn:
        return conn.execute("SELECT id, hash, adjacency, operations FROM nb101_arch ORDER BY id").fetchall()


def _no_hashing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the graph hash was computed")

    monkeypatch.setattr(space, "graph_hash", refuse)
    space._canonical_cached.cache_clear()


def test_forms_table_holds_every_upper_triangular_form_of_every_cell(nb101_env):
    cells = _stored_cells(nb101_env)
    with sqlite3.connect(nb101_env / "nasbench101.db") as conn:
        stored = dict(conn.execute("SELECT matrix_key, cells FROM nb101_form").fetchall())
    expected = {}
    for cell_id, _, adjacency, operations in cells:
        for matrix, ops in space.isomorphic_forms(space.adjacency_to_matrix(adjacency), operations.split(",")):
            expected[(space.matrix_key(matrix), space.ops_code(ops))] = cell_id
    found = {(key, code): space.form_cell(row, code) for key, row in stored.items()
             for code in range(len(row) // space.FORM_ID_BYTES) if space.form_cell(row, code)}
    assert found == expected
    assert all(len(row) == space.form_row_size(key) for key, row in stored.items())
    assert len(expected) > len(cells)  # relabellings, not only the stored forms


def test_forms_are_the_original_enumeration():
    """Over every cell of at most 5 vertices, the table holds exactly the labelled graphs of the original enumeration
    (``generate_graphs.py``; 1,293,208 of them for the full space), each under the cell its hash names."""
    from search_fixture import nb101_cells

    cells = nb101_cells(5)
    table = space.labelled_forms((i + 1, space.matrix_to_adjacency(m), ",".join(o)) for i, (_, m, o) in
                                 enumerate(cells))
    found = {(key, code): cell_id for key, row in table.items()
             for code in range(len(row) // space.FORM_ID_BYTES) if (cell_id := space.form_cell(row, code))}
    enumeration = {}
    for size in range(2, 6):
        for matrix, ops in space.enumerate_labelled(size):
            enumeration[(space.matrix_key(matrix), space.ops_code(ops))] = space.graph_hash(matrix,
                                                                                             space.labeling(ops))
    assert len(found) == len(enumeration)
    assert all(cells[found[key] - 1][0] == digest for key, digest in enumeration.items())


def test_every_form_answers_as_the_hash_without_hashing(nb101_env, monkeypatch):
    cells = _stored_cells(nb101_env)
    expected = {digest: (list(query_nb101_trial_stats(digest, None, include_intermediates=True)),
                         list(query_nb101_trial_stats(digest, 108, reduction="mean")))
                for _, digest, _, _ in cells}
    forms = [(digest, space.isomorphic_forms(space.adjacency_to_matrix(adjacency), operations.split(",")))
             for _, digest, adjacency, operations in cells]
    _no_hashing(monkeypatch)
    list(query_nb101_trial_stats(cells[0][1], 108))  # open the handle, check the table once
    asked = 0
    for digest, cell_forms in forms:
        for matrix, ops in cell_forms:
            arch = space.matrix_to_arch(matrix, ops)
            with count_statements() as statements:
                rows = list(query_nb101_trial_stats(arch, None, include_intermediates=True))
            assert rows == expected[digest][0] and rows
            assert selects(statements) == 1  # the form, the cell, its configs and runs: one statement
            mean = list(query_nb101_trial_stats({"matrix": [list(r) for r in matrix], "ops": ops}, 108,
                                                reduction="mean"))
            assert mean == expected[digest][1]
            asked += 1
    assert asked > len(cells)


def test_query_by_hash_goes_straight_to_the_rows(nb101_env, monkeypatch):
    digest = _stored_cells(nb101_env)[5][1]
    _no_hashing(monkeypatch)
    list(query_nb101_trial_stats(digest, 108))
    with count_statements() as statements:
        rows = list(query_nb101_trial_stats(digest, 108))
    assert len(rows) == 3 and {r["config"]["hash"] for r in rows} == {digest}
    assert selects(statements) == 1
    assert list(query_nb101_trial_stats("0" * 32, 108)) == []
    with pytest.raises(ValueError):
        list(query_nb101_trial_stats("not-a-hash", 108))


def test_missing_cell_is_hashed_and_found_absent(nb101_env):
    stored = {row[1] for row in _stored_cells(nb101_env)}
    matrix = [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    ops = ["input", space.MAXPOOL3X3, space.MAXPOOL3X3, space.MAXPOOL3X3, "output"]
    assert space.canonical(matrix, ops)[2] not in stored
    list(query_nb101_trial_stats(next(iter(stored)), 108))
    with count_statements() as statements:
        assert list(query_nb101_trial_stats({"matrix": matrix, "ops": ops}, 108)) == []
    assert selects(statements) == 3  # the form's statement, the form's cell id (none), the hash's statement


def test_cell_without_runs_at_a_budget_is_not_hashed(nb101_env, monkeypatch):
    _, digest, adjacency, operations = _stored_cells(nb101_env)[0]
    arch = {"matrix": [list(r) for r in space.adjacency_to_matrix(adjacency)], "ops": operations.split(",")}
    _no_hashing(monkeypatch)
    assert list(query_nb101_trial_stats(arch, 7)) == []


def test_database_without_forms_table_answers_the_same(nb101_env, tmp_path, monkeypatch):
    cells = _stored_cells(nb101_env)
    queries = []
    for _, digest, adjacency, operations in cells[:8]:
        matrix, ops = space.adjacency_to_matrix(adjacency), operations.split(",")
        form = space.isomorphic_forms(matrix, ops)[-1]
        queries += [(space.matrix_to_arch(*form), {}), (space.matrix_to_arch(matrix, ops), {"isomorphism": False}),
                    ({"matrix": [list(r) for r in form[0]], "ops": form[1]}, {"reduction": "mean"}),
                    (space.matrix_to_arch(*form), {"include_intermediates": True, "source": None})]
    before = [list(query_nb101_trial_stats(arch, 108, **kw)) for arch, kw in queries]
    old = tmp_path / "old"
    shutil.copytree(nb101_env, old)
    with sqlite3.connect(old / "nasbench101.db") as conn:
        conn.execute("DROP TABLE nb101_form")
    monkeypatch.setenv("NASBENCHMARK_DIR", str(old))
    assert [list(query_nb101_trial_stats(arch, 108, **kw)) for arch, kw in queries] == before
    assert any(before) and all(b for b, (_, kw) in zip(before, queries) if not kw.get("isomorphism") is False)


def test_facade_finds_a_relabelled_spec_without_hashing(nb101_env, monkeypatch):
    _, digest, adjacency, operations = _stored_cells(nb101_env)[3]
    matrix, ops = space.isomorphic_forms(space.adjacency_to_matrix(adjacency), operations.split(","))[-1]
    reference = api.NASBench(None).get_metrics_from_hash(digest)
    nb = api.NASBench(None)
    real_hash = space.graph_hash
    _no_hashing(monkeypatch)
    with count_statements() as statements:
        fixed, computed = nb.get_metrics_from_spec(api.ModelSpec([list(r) for r in matrix], list(ops)))
    assert len(statements) == 1
    assert json.dumps([fixed, computed], default=str) == json.dumps(list(reference), default=str)
    assert nb.get_metrics_from_hash(digest)[1] == reference[1]
    # A float matrix hashes differently in the original (and misses): never looked up by its form.
    monkeypatch.setattr(space, "graph_hash", real_hash)
    spec = api.ModelSpec([[float(e) for e in row] for row in matrix], list(ops))
    with pytest.raises(KeyError):
        nb.query(spec)


def test_new_cells_of_trained_results_enter_the_forms_table(nb101_env):
    from nasbench_db.convert.nb101 import add_cell

    matrix = ((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0))
    ops = ["input", space.MAXPOOL3X3, space.CONV1X1, "output"]
    digest = space.canonical(matrix, ops)[2]
    path = nb101_env / "nasbench101.db"
    with sqlite3.connect(path) as conn:
        if conn.execute("SELECT 1 FROM nb101_arch WHERE hash = ?", (digest,)).fetchone():
            pytest.skip("the sample already holds this cell")
        cell_id = add_cell(conn, digest, space.matrix_to_adjacency(matrix), ",".join(ops), 4, 1000, "test")
        for form, form_ops in space.isomorphic_forms(matrix, ops):
            row = conn.execute("SELECT cells FROM nb101_form WHERE matrix_key = ?",
                               (space.matrix_key(form),)).fetchone()[0]
            assert space.form_cell(row, space.ops_code(form_ops)) == cell_id


def test_point_statements_plan_key_lookups_at_full_scale_statistics(nb101_env, tmp_path, monkeypatch):
    """With the full NB-101 file's statistics (``sqlite_stat1`` as the converter's ANALYZE writes it: 5,083,488
    runs), no point statement may plan a scan or an automatic index of a large table: the released source's
    inlined ids once made SQLite index all 5 M runs at every query (seconds each)."""
    full = tmp_path / "full"
    shutil.copytree(nb101_env, full)
    with sqlite3.connect(full / "nasbench101.db") as conn:
        for table, index, stat in (("nb101_trial", None, "5083488"), ("nb101_config", None, "1694496"),
                                   ("nb101_arch", "nb101arch_hash", "423624 1"), ("nb101_form", None, "6472")):
            conn.execute("DELETE FROM sqlite_stat1 WHERE tbl = ?", (table,))
            conn.execute("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)", (table, index, stat))
    monkeypatch.setenv("NASBENCHMARK_DIR", str(full))
    _, digest, adjacency, operations = _stored_cells(full)[4]
    matrix, ops = space.adjacency_to_matrix(adjacency), operations.split(",")
    form = space.isomorphic_forms(matrix, ops)[-1]
    list(query_nb101_trial_stats(digest, 108))
    with count_statements() as statements:
        assert list(query_nb101_trial_stats(digest, 108))
        assert list(query_nb101_trial_stats(space.matrix_to_arch(*form), None, include_intermediates=True))
        assert list(query_nb101_trial_stats(space.matrix_to_arch(matrix, ops), 108, reduction="mean",
                                            include_intermediates=True))
        assert list(query_nb101_trial_stats(space.matrix_to_arch(matrix, ops), 108, isomorphism=False))
    assert len(statements) == 5
    with sqlite3.connect(full / "nasbench101.db") as conn:
        for statement in statements:  # the trace holds them with their values bound
            plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement))
            assert "AUTOMATIC" not in plan and "SCAN" not in plan.replace("SCAN s ", ""), (statement, plan)


# ----------------------------------------------------------------------------------------------------------------------
# PostgreSQL: the point statements plan primary-key lookups with small estimates, never a JIT or a scan


def _plan_nodes(plan):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


def test_postgres_point_queries_plan_without_jit_or_scans(pg_url, tmp_path, monkeypatch):
    from search_fixture import build_nb101_landscape

    import psycopg2

    from nasbench_db.convert._server import publish
    from nasbench_db.models import NB101_TABLES, NB101_VIEWS

    monkeypatch.delenv("NASBENCHMARK_DB_URL")
    scores = build_nb101_landscape(tmp_path / "build", max_vertices=5, epochs=(4, 12, 36, 108))
    publish(tmp_path / "build" / "nasbench101.db", pg_url, "nb101", list(NB101_TABLES), NB101_VIEWS)
    monkeypatch.setenv("NASBENCHMARK_DB_URL", pg_url)
    digest = sorted(scores)[len(scores) // 2]
    seen = []
    real_execute = query_nb101.execute

    def capture(database, sql, params):
        seen.append((sql, list(params)))
        return real_execute(database, sql, params)

    monkeypatch.setattr(query_nb101, "execute", capture)
    monkeypatch.setattr(api._query_common, "execute", capture)
    rows = list(query_nb101_trial_stats(digest, 108))
    assert len(rows) == 3
    stored = rows[0]["config"]["arch"]
    form = space.isomorphic_forms(*space.arch_to_matrix(stored))[-1]
    assert list(query_nb101_trial_stats(space.matrix_to_arch(*form), None, include_intermediates=True))
    assert list(query_nb101_trial_stats(stored, 108, reduction="mean"))
    nb = api.NASBench(None)
    assert nb.query(api.ModelSpec([list(r) for r in form[0]], form[1]))["trainable_parameters"] > 0
    assert nb.get_metrics_from_hash(digest)
    # The plain point queries and the facade's cells go through the server's point function (its own plan is
    # checked by test_postgres_point_function_plans_key_lookups); means and intermediates are statements.
    assert len([sql for sql, _ in seen if 'nb101_point_runs(' in sql]) >= 2 and len(seen) >= 6
    connection = psycopg2.connect(pg_url)
    try:
        with connection.cursor() as cursor:
            for sql, params in seen:
                cursor.execute("EXPLAIN (FORMAT JSON) " + _db.paramstyle(sql, "%s"), params)
                explained = cursor.fetchone()[0][0]
                nodes = list(_plan_nodes(explained["Plan"]))
                assert "JIT" not in explained, sql
                scans = [n["Relation Name"] for n in nodes if n["Node Type"] == "Seq Scan"]
                # A table of a few pages (this small space's nb101_form: 134 rows) is read whole faster than through
                # its key; the run, config and cell tables never are.
                cursor.execute("SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relpages > 8", (scans,))
                assert not cursor.fetchall(), (sql, explained)
                # And every table is reachable by its key: with scans priced out none is left (at full scale the
                # planner makes that choice itself).
                cursor.execute("SET enable_seqscan = off")
                cursor.execute("EXPLAIN (FORMAT JSON) " + _db.paramstyle(sql, "%s"), params)
                keyed = list(_plan_nodes(cursor.fetchone()[0][0]["Plan"]))
                cursor.execute("RESET enable_seqscan")
                assert not [n for n in keyed if n["Node Type"] == "Seq Scan"], sql
                # The estimate (a cell has at most 16 configs of a few runs) is what keeps the JIT away at scale.
                assert explained["Plan"]["Plan Rows"] <= 1000, (sql, explained["Plan"]["Plan Rows"])
    finally:
        connection.close()


def test_postgres_point_function_plans_key_lookups(pg_url, tmp_path, monkeypatch):
    """The statement of the server's point function (models.NB101_POINT_RUNS), planned once per session as a generic
    plan, reads the cell, its configs and its runs by key: no scan of a table even with scans allowed, none left
    with scans priced out."""
    import re

    from search_fixture import build_nb101_landscape

    import psycopg2

    from nasbench_db.convert._server import publish
    from nasbench_db.models import NB101_POINT_RUNS, NB101_TABLES, NB101_VIEWS

    monkeypatch.delenv("NASBENCHMARK_DB_URL")
    build_nb101_landscape(tmp_path / "build", max_vertices=5, epochs=(4, 12, 36, 108))
    publish(tmp_path / "build" / "nasbench101.db", pg_url, "nb101", list(NB101_TABLES), NB101_VIEWS)
    statement = re.sub(r"\bcell\b", "$1", NB101_POINT_RUNS).replace("p_epochs", "$2")
    connection = psycopg2.connect(pg_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            cursor.execute("SET jit = off")
            cursor.execute(f"PREPARE point(bigint, integer) AS {statement}")
            for seqscan in ("on", "off"):
                cursor.execute(f"SET enable_seqscan = {seqscan}")
                for epochs in ("108", "NULL"):
                    cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE point(3, {epochs})")
                    nodes = list(_plan_nodes(cursor.fetchone()[0][0]["Plan"]))
                    scanned = {n.get("Relation Name") for n in nodes if n["Node Type"] == "Seq Scan"}
                    # nasbench_source (a row per file) may be read whole for the released-source list.
                    assert scanned <= {"nasbench_source"}, nodes
                    assert {"nb101_arch", "nb101_config", "nb101_trial"} <= {
                        n.get("Relation Name") for n in nodes if n["Node Type"] == "Index Scan"}
    finally:
        connection.close()


def test_postgres_point_function_answers_as_sqlite(pg_url, tmp_path, monkeypatch):
    """Through the server's point function: every stored cell by hash, by its stored and a relabelled form, at one
    budget, at every budget and at one without runs, and cells the database lacks, answer exactly as the SQLite
    file; one statement per query (two for a form no stored cell has: the function says so, then the hash). A server
    without the function (published by an earlier version) answers the same through the statements."""
    from search_fixture import build_nb101_landscape

    from nasbench_db.convert._server import publish
    from nasbench_db.models import NB101_POINT_FUNCTION, NB101_TABLES, NB101_VIEWS

    monkeypatch.delenv("NASBENCHMARK_DB_URL")
    build_nb101_landscape(tmp_path / "build", max_vertices=4, epochs=(4, 12, 36, 108))
    monkeypatch.setenv("NASBENCHMARK_DIR", str(tmp_path / "build"))
    cells = _stored_cells(tmp_path / "build")
    missing = {"matrix": [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
               "ops": ["input", space.MAXPOOL3X3, space.MAXPOOL3X3, space.MAXPOOL3X3, "output"]}  # 5 vertices
    asked = [(missing, 108), ("0" * 32, 108)]
    for _, digest, adjacency, operations in cells:
        matrix, ops = space.adjacency_to_matrix(adjacency), operations.split(",")
        relabelled = space.isomorphic_forms(matrix, ops)[-1]
        asked += [(digest, 108), (digest, None), (space.matrix_to_arch(matrix, ops), 36),
                  (space.matrix_to_arch(*relabelled), None), ({"matrix": relabelled[0], "ops": relabelled[1]}, 7)]
    expected = [list(query_nb101_trial_stats(arch, epochs)) for arch, epochs in asked]
    assert expected[0] == [] and sum(map(len, expected)) > len(cells)
    publish(tmp_path / "build" / "nasbench101.db", pg_url, "nb101", list(NB101_TABLES), NB101_VIEWS)
    monkeypatch.setenv("NASBENCHMARK_DB_URL", pg_url)
    _db.close_all()
    list(query_nb101_trial_stats(cells[0][1], 108))  # open the handle, check for the function once
    statements = []
    real_execute = query_nb101.execute

    def capture(database, sql, params):
        statements.append(sql)
        return real_execute(database, sql, params)

    monkeypatch.setattr(query_nb101, "execute", capture)
    for (arch, epochs), rows in zip(asked, expected):
        statements.clear()
        assert list(query_nb101_trial_stats(arch, epochs)) == rows, (arch, epochs)
        assert [NB101_POINT_FUNCTION in sql for sql in statements] == [True] * (2 if arch is missing else 1)
    monkeypatch.undo()
    monkeypatch.setenv("NASBENCHMARK_DB_URL", pg_url)
    handle = _db.open_benchmark("nb101")
    handle.database.execute_sql(f"DROP FUNCTION {NB101_POINT_FUNCTION}")
    _db.close_all()
    assert [list(query_nb101_trial_stats(arch, epochs)) for arch, epochs in asked] == expected


def test_postgres_nni_views_join_cells_configs_and_runs_by_key(pg_url, tmp_path, monkeypatch):
    """NNI's NB-101 views on a server state each id-range join as an equality too (models.server_view): without it
    PostgreSQL could only test every (cell, config) and (config, run) pair, which never finished at full scale. With
    nested loops priced out, whole-table reads through the views must plan without one, and answer as SQLite does."""
    from search_fixture import build_nb101_landscape

    import psycopg2

    from nasbench_db.convert._server import publish
    from nasbench_db.models import NB101_TABLES, NB101_VIEWS

    monkeypatch.delenv("NASBENCHMARK_DB_URL")
    build_nb101_landscape(tmp_path / "build", max_vertices=5, epochs=(4, 12, 36, 108))
    local = sqlite3.connect(tmp_path / "build" / "nasbench101.db")
    publish(tmp_path / "build" / "nasbench101.db", pg_url, "nb101", list(NB101_TABLES), NB101_VIEWS)
    statements = [
        "SELECT COUNT(*) FROM nb101trialconfig WHERE num_epochs = 108",
        "SELECT COUNT(*), SUM(s.valid_acc) FROM nb101trialstats s JOIN nb101trialconfig c ON c.id = s.config_id "
        "WHERE c.num_epochs = 108",
        "SELECT COUNT(*), SUM(i.current_epoch) FROM nb101intermediatestats i",
    ]
    connection = psycopg2.connect(pg_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET enable_nestloop = off")
            for sql in statements:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
                nodes = list(_plan_nodes(cursor.fetchone()[0][0]["Plan"]))
                assert not [n for n in nodes if n["Node Type"] == "Nested Loop"], (sql, nodes)
                cursor.execute(sql)
                count, *total = cursor.fetchone()
                expected = local.execute(sql).fetchone()
                assert count == expected[0] > 0
                assert [float(v) for v in total] == pytest.approx(list(expected[1:]))
    finally:
        connection.close()
        local.close()


def test_server_connections_run_without_jit(pg_url):
    """Every connection we open to a server has PostgreSQL's JIT off (it compiled whole-benchmark aggregates for
    longer than they ran); a URL that sets its own ``options`` keeps them."""
    database = _db.url_database(pg_url)
    try:
        assert database.execute_sql("SHOW jit").fetchone()[0] == "off"
    finally:
        database.close()
    separator = "&" if "?" in pg_url else "?"
    database = _db.url_database(pg_url + separator + "options=-c%20jit%3Don")
    try:
        assert database.execute_sql("SHOW jit").fetchone()[0] == "on"
    finally:
        database.close()


# ----------------------------------------------------------------------------------------------------------------------
# NB-201 / NATS: statements built once per opened database and query shape, one statement per point query (two with
# intermediates), the same rows as a fresh handle and as the multi-source path (a separate statement and row builder)


@pytest.fixture(scope="module")
def nats_db(tmp_path_factory):
    from nb201_fixture import SSS_DIR, TSS_DIR

    from nasbench_db.convert.nb201 import convert_nats_sss, convert_nats_tss

    directory = tmp_path_factory.mktemp("nats_point")
    convert_nats_tss(TSS_DIR, directory, progress=False)
    convert_nats_sss(SSS_DIR, directory, progress=False)
    return directory


def _nats_queries():
    from nb201_fixture import INDICES

    from nasbench_db.spaces import nats_sss as sss_space
    from nasbench_db.spaces import nb201 as tss_space

    queries = []
    for index in INDICES:
        for arch in (index, tss_space.arch_str(index), tss_space.to_nni(index)):
            for epochs, dataset in ((200, "cifar10-valid"), (12, "cifar100"), (None, "imagenet16-120"),
                                    (200, None)):
                queries.append(("nb201", arch, epochs, dataset, {}))
            queries.append(("nb201", arch, 200, "cifar10", {"reduction": "mean"}))
            queries.append(("nb201", arch, 200, "cifar100", {"include_intermediates": True}))
        channels = ":".join(map(str, sss_space.all_archs()[index]))
        for arch in (index, channels):
            queries.append(("nats_sss", arch, 90, "cifar10", {}))
            queries.append(("nats_sss", arch, None, None, {"reduction": "mean", "include_intermediates": True}))
    return queries


def _ask(query):
    from nasbench_db.query import query_nats_sss_trial_stats, query_nb201_trial_stats

    benchmark, arch, epochs, dataset, kwargs = query
    function = query_nb201_trial_stats if benchmark == "nb201" else query_nats_sss_trial_stats
    return list(function(arch, epochs, dataset, **kwargs))


def test_nb201_point_queries_reuse_their_statements(nats_db, monkeypatch):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nats_db))
    queries = _nats_queries()
    fresh = []
    for query in queries:  # each on a newly opened database: its statements built for it
        _db.close_all()
        fresh.append(_ask(query))
    assert all(fresh)
    _db.close_all()
    for _ in range(2):  # then all on one warm handle, in two orders: the statements of other archs reused
        assert [_ask(q) for q in queries] == fresh
        assert [_ask(q) for q in reversed(queries)] == fresh[::-1]
    caches = {b: len(_db.open_benchmark(b).schema_cache) for b in ("nb201", "nats_sss")}
    for query in queries:
        benchmark = query[0]
        with count_statements(benchmark) as statements:
            _ask(query)
        assert selects(statements) == (2 if query[4].get("include_intermediates") else 1), query
    assert {b: len(_db.open_benchmark(b).schema_cache) for b in caches} == caches  # nothing built again
    # The multi-source path (its own statements and row builder) answers the same rows, each tagged.
    for query, rows in zip(queries, fresh):
        benchmark, arch, epochs, dataset, kwargs = query
        tagged = _ask((benchmark, arch, epochs, dataset, {**kwargs, "source": None}))
        assert all(row.pop("source") is None or kwargs.get("reduction") is None for row in tagged)
        key = (lambda r: r["config"]["id"]) if kwargs.get("reduction") else (lambda r: r["id"])
        assert sorted(tagged, key=key) == sorted(rows, key=key), query


def test_nb201_point_query_has_no_source_subquery_list(nats_db, monkeypatch):
    """The released source is selected per row by its key: no list rebuilt at every run, nothing read first."""
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nats_db))
    with count_statements("nb201") as statements:
        assert _ask(("nb201", 11, 200, "cifar100", {}))
    (statement,) = statements
    with sqlite3.connect(nats_db / "nasbench201.db") as conn:
        plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement))
    assert "LIST SUBQUERY" not in plan and "SCAN" not in plan.replace("SCAN nasbench_source", "X"), plan
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
