"""PostgreSQL backend: the same converters and queries through NASBENCHMARK_DB_URL (needs the test server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from click.testing import CliRunner

from nasbench_db import db as _db
from nasbench_db.cli import cli
from nasbench_db.convert.nb101 import convert_nb101
from nasbench_db.query import query_nb101_trial_stats
from conftest import SAMPLE_TFRECORD

INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"


def _all_rows():
    return list(query_nb101_trial_stats(None, None, include_intermediates=True))


def _without_ids(rows):
    return sorted((json.dumps(dict(r, id=None, config=dict(r["config"], id=None),
                                   intermediates=[dict(i, id=None) for i in r["intermediates"]]), sort_keys=True)
                   for r in rows))


def test_postgres_answers_equal_sqlite(pg_url, nb101_sample_db, monkeypatch):
    report = convert_nb101(SAMPLE_TFRECORD, progress=False)
    assert report.database.startswith("postgresql://") and report.trials == 102
    on_server = _all_rows()
    for kwargs in ({"reduction": "mean"}, {"isomorphism": False}):
        assert len(list(query_nb101_trial_stats(None, 108, **kwargs))) > 0
    monkeypatch.delenv("NASBENCHMARK_DB_URL")
    monkeypatch.setenv("NASBENCHMARK_DIR", str(nb101_sample_db))
    on_sqlite = _all_rows()
    assert len(on_server) == len(on_sqlite) == 102
    # Same values bit for bit (COPY carries floats as their shortest exact repr), ids aside.
    assert _without_ids(on_server) == _without_ids(on_sqlite)


def test_postgres_reconversion_replaces_and_keeps_one_source(pg_url):
    convert_nb101(SAMPLE_TFRECORD, progress=False)
    convert_nb101(SAMPLE_TFRECORD, progress=False)
    info = _db.describe("nb101")
    assert info["installed"] and len(info["sources"]) == 1
    assert info["sources"][0]["row_counts"]["nb101_trial"] == 102
    assert len(_all_rows()) == 102


def test_postgres_sql_is_read_only(pg_url, pg_reader_url):
    convert_nb101(SAMPLE_TFRECORD, progress=False)
    runner = CliRunner()
    # the test server's URL is a superuser: refused unless the flag says so; the SELECT-only role just works
    result = runner.invoke(cli, ["sql", "SELECT COUNT(*) AS n FROM nb101trialstats", "--format", "json"])
    assert result.exit_code == 1 and "refusing to run nasbench-db sql as the role 'postgres' is a superuser" \
        in result.output, result.output
    for extra in (["--allow-superuser"], ["--url", pg_reader_url]):
        result = runner.invoke(cli, ["sql", "SELECT COUNT(*) AS n FROM nb101trialstats", "--format", "json", *extra])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output) == [{"n": 102}]
    for statement in ("DELETE FROM nb101_arch", "DROP TABLE nb101_trial CASCADE", "CREATE TABLE x (a int)",
                      "WITH d AS (DELETE FROM nb101_arch RETURNING 1) SELECT * FROM d", "SELECT 1 INTO TABLE y"):
        for extra in (["--allow-superuser"], ["--url", pg_reader_url]):
            result = runner.invoke(cli, ["sql", statement, *extra])
            assert result.exit_code == 1 and result.output.startswith("Error: "), result.output
    assert len(_all_rows()) == 102


def _republish_while(reader, stop, readers: int = 4, times: int = 3):
    """Run ``reader(i)`` in ``readers`` threads while the sample is converted into the server ``times`` times."""
    threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
    for t in threads:
        t.start()
    try:
        for _ in range(times):
            convert_nb101(SAMPLE_TFRECORD, progress=False)
    finally:
        stop.set()
        for t in threads:
            t.join()


def test_postgres_readers_keep_answering_during_a_replacement(pg_url):
    convert_nb101(SAMPLE_TFRECORD, progress=False)
    errors, answers = [], []
    stop = threading.Event()

    def reader(_):
        while not stop.is_set():
            try:
                rows = list(query_nb101_trial_stats(None, 108))
                answers.append(len(rows))
            except Exception as exc:  # any error is a failure of the promise
                errors.append(repr(exc))

    _republish_while(reader, stop)
    assert errors == []
    assert answers and set(answers) == {93}


def test_postgres_point_readers_keep_answering_during_a_replacement(pg_url):
    """Point queries go through the server's point function, whose plans the server keeps per session: while the
    tables under them are replaced, every answer is still the full one (a plan kept with ``PREPARE`` read with a
    snapshot from before the replacement it waited for, and answered nothing)."""
    from nasbench_db.query import nb101 as query_nb101

    convert_nb101(SAMPLE_TFRECORD, progress=False)
    hashes = sorted({row["config"]["hash"] for row in query_nb101_trial_stats(None, 108)})
    expected = {digest: list(query_nb101_trial_stats(digest, 108)) for digest in hashes}
    archs = {digest: rows[0]["config"]["arch"] for digest, rows in expected.items()}
    assert query_nb101.has_point_function(_db.open_benchmark("nb101"))
    errors, wrong, answers = [], [], []
    stop = threading.Event()

    def reader(turn):
        while not stop.is_set():
            digest = hashes[turn % len(hashes)]
            asked = digest if turn % 2 else dict(archs[digest])
            turn += 1
            try:
                rows = list(query_nb101_trial_stats(asked, 108))
            except Exception as exc:  # any error is a failure of the promise
                errors.append(repr(exc))
                continue
            answers.append(1)
            if [(r["config"]["hash"], r["train_acc"], r["valid_acc"], r["test_acc"]) for r in rows] != [
                    (r["config"]["hash"], r["train_acc"], r["valid_acc"], r["test_acc"]) for r in expected[digest]]:
                wrong.append((digest, len(rows)))

    _republish_while(reader, stop)
    assert errors == [] and wrong == []
    assert len(answers) > 100


def test_postgres_publish_upgrades_an_old_source_table_beside_point_readers(pg_url):
    """A server whose provenance table predates a column gets it from the next publish, in a transaction of its own:
    point queries running through that publish all answer (the ALTER's exclusive lock, held through the publishing
    transaction, could deadlock with a reader holding the benchmark's tables)."""
    import psycopg2

    convert_nb101(SAMPLE_TFRECORD, progress=False)
    digests = sorted({row["config"]["hash"] for row in query_nb101_trial_stats(None, 108)})
    expected = {digest: len(list(query_nb101_trial_stats(digest, 108))) for digest in digests}
    errors, answers = [], []

    def reader(turn):
        while not stop.is_set():
            digest = digests[turn % len(digests)]
            turn += 1
            try:
                answers.append(len(list(query_nb101_trial_stats(digest, 108))) == expected[digest])
            except Exception as exc:  # any error is a failure of the promise
                errors.append(repr(exc))

    for _ in range(3):
        admin = psycopg2.connect(pg_url)
        admin.autocommit = True
        with admin.cursor() as cursor:
            # As a version before EC-NAS-Bench support and device kinds left it.
            cursor.execute("DROP TABLE nb101_trial_energy CASCADE")
            cursor.execute("ALTER TABLE nasbench_source DROP COLUMN device_kind")
        admin.close()
        stop = threading.Event()
        _republish_while(reader, stop, times=1)
    assert errors == [] and answers and all(answers)
    assert _db.describe("nb101")["sources"][0]["device_kind"] is None


def test_postgres_reader_role_runs_the_point_function(pg_url, pg_reader_url, monkeypatch):
    """The SELECT-only reader runs the point function (EXECUTE is PUBLIC's by default; its LOCK ... IN ACCESS SHARE
    MODE needs SELECT only); a reader whose EXECUTE was revoked reads the same rows through the statements."""
    from nasbench_db.query import nb101 as query_nb101

    convert_nb101(SAMPLE_TFRECORD, progress=False)
    digest = next(iter(query_nb101_trial_stats(None, 108)))["config"]["hash"]
    expected = list(query_nb101_trial_stats(digest, None))
    arch = expected[0]["config"]["arch"]
    monkeypatch.setenv("NASBENCHMARK_DB_URL", pg_reader_url)
    _db.close_all()
    assert list(query_nb101_trial_stats(digest, None)) == list(query_nb101_trial_stats(arch, None)) == expected
    assert query_nb101.has_point_function(_db.open_benchmark("nb101"))
    import psycopg2

    admin = psycopg2.connect(pg_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("REVOKE EXECUTE ON FUNCTION nb101_point_runs FROM PUBLIC")
    admin.close()
    _db.close_all()
    assert list(query_nb101_trial_stats(digest, None)) == list(query_nb101_trial_stats(arch, None)) == expected
    assert not query_nb101.has_point_function(_db.open_benchmark("nb101"))


def test_postgres_kill_during_conversion_keeps_the_previous_data(pg_url, tmp_path):
    convert_nb101(SAMPLE_TFRECORD, progress=False)
    before = _without_ids(_all_rows())
    env = dict(os.environ, NASBENCHMARK_DB_URL=pg_url)
    code = ("import time, nasbench_db.convert._server as s\n"
            "orig = s._copy_rows\n"
            "def slow(*a, **k):\n"
            "    n = orig(*a, **k); time.sleep(0.3); return n\n"
            "s._copy_rows = slow\n"
            "from nasbench_db.convert.nb101 import convert_nb101\n"
            f"convert_nb101({str(SAMPLE_TFRECORD)!r}, progress=False)\n")
    for delay in (0.3, 0.8, 1.3):
        proc = subprocess.Popen([sys.executable, "-c", code], env=env)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _db.close_all()
        assert _without_ids(_all_rows()) == before
    convert_nb101(SAMPLE_TFRECORD, progress=False)
    assert _without_ids(_all_rows()) == before
    assert len(_db.describe("nb101")["sources"]) == 1


def test_postgres_trained_results_survive_a_reconversion(pg_url, tmp_path, nb101_real_cells):
    from nasbench_db.convert.results import convert_results
    from test_concurrency import write_results

    convert_nb101(SAMPLE_TFRECORD, progress=False)
    write_results(tmp_path / "results", nb101_real_cells, range(5))
    report = convert_results(tmp_path / "results")
    assert report.ingested == 5 and report.database.startswith("postgresql://")
    assert convert_results(tmp_path / "results").skipped == 5  # idempotent
    trained = sorted(r["test_acc"] for r in query_nb101_trial_stats(None, 108, source="trained"))
    assert len(trained) == 5
    convert_nb101(SAMPLE_TFRECORD, progress=False)
    assert sorted(r["test_acc"] for r in query_nb101_trial_stats(None, 108, source="trained")) == trained
    assert len(list(query_nb101_trial_stats(None, None))) == 102
    kinds = sorted(s["kind"] for s in _db.describe("nb101")["sources"])
    assert kinds == ["original"] + ["trained"] * 5
