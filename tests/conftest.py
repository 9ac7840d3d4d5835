"""Shared fixtures: an isolated NASBENCHMARK_DIR per test and the converted real NB-101 sample."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

from nasbench_db import db as _db

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SAMPLE_TFRECORD = HERE.parent / "nasbench_db" / "data" / "nb101_sample.tfrecord"


@contextlib.contextmanager
def count_statements(benchmark="nb101", db_dir=None):
    """Every SQL statement run on the benchmark's cached connection (the sqlite3 trace callback; peewee's
    assert_query_count idea, at the sqlite3 level)."""
    statements = []
    connection = _db.open_benchmark(benchmark, db_dir).database.connection()
    connection.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        connection.set_trace_callback(None)


def selects(statements) -> int:
    """How many of ``statements`` are SELECTs."""
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """Every test gets its own empty NASBENCHMARK_DIR and no server URL; cached connections are closed after."""
    monkeypatch.setenv("NASBENCHMARK_DIR", str(tmp_path / "nasbench"))
    monkeypatch.delenv("NASBENCHMARK_DB_URL", raising=False)
    yield
    _db.close_all()


@pytest.fixture(scope="session")
def nb101_sample_db(tmp_path_factory) -> Path:
    """Directory holding nasbench101.db converted once from the bundled real sample."""
    from nasbench_db.convert.nb101 import convert_nb101

    directory = tmp_path_factory.mktemp("nb101db")
    convert_nb101(SAMPLE_TFRECORD, directory, progress=False)
    return directory


@pytest.fixture
def nb101_env(nb101_sample_db, monkeypatch, tmp_path) -> Path:
    """NASBENCHMARK_DIR pointing at a private copy of the converted sample."""
    target = tmp_path / "nb101env"
    shutil.copytree(nb101_sample_db, target)
    monkeypatch.setenv("NASBENCHMARK_DIR", str(target))
    return target


@pytest.fixture(scope="session")
def nb101_real_cells() -> list[dict]:
    """The real NB-101 cells of tests/data (see nb101_fixture.real_cells)."""
    from nb101_fixture import real_cells

    return real_cells()


@pytest.fixture
def pg_url(monkeypatch):
    """A fresh, empty PostgreSQL database on the test server named by $NASBENCH_TEST_PG_URL (skip without one).

    ``.ci/start-postgres.sh`` starts such a server on 127.0.0.1 and prints the URL.
    """
    import os
    import uuid

    base = os.environ.get("NASBENCH_TEST_PG_URL")
    if not base:
        pytest.skip("no PostgreSQL test server: set NASBENCH_TEST_PG_URL (see .ci/start-postgres.sh)")
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"nasbench_t_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(base)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    url = base.rsplit("/", 1)[0] + "/" + name
    monkeypatch.setenv("NASBENCHMARK_DB_URL", url)
    yield url
    _db.close_all()
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.close()


#: The SELECT-only role of the test server (.ci/start-postgres.sh creates it; the fixture below too if missing).
PG_READER_ROLE = "nasbench_reader"


@pytest.fixture
def pg_reader_url(pg_url):
    """The URL of ``pg_url``'s database as the SELECT-only role, which can read every table created there later
    (the setup of .ci/start-postgres.sh and docs/postgres.md, applied to the test's fresh database)."""
    import psycopg2

    admin = psycopg2.connect(pg_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        try:
            cursor.execute(f"CREATE ROLE {PG_READER_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT")
        except (psycopg2.errors.DuplicateObject, psycopg2.errors.UniqueViolation):
            pass  # created earlier (or by a test running at the same time)
        database = pg_url.rsplit("/", 1)[1]
        cursor.execute(f"GRANT CONNECT ON DATABASE {database} TO {PG_READER_ROLE}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {PG_READER_ROLE}")
        cursor.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT SELECT ON TABLES TO {PG_READER_ROLE}")
    admin.close()
    scheme, rest = pg_url.split("://", 1)
    return f"{scheme}://{PG_READER_ROLE}@{rest.split('@', 1)[1]}"
