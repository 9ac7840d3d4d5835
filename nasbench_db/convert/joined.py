"""Load joined data (HW-NAS-Bench costs, zero-cost proxies) into a benchmark's database, and keep it there.

Joined data is small (tens of thousands of rows) and describes a space whose benchmark may already be installed, so
it is loaded *in place* rather than by rebuilding the file: a converter first reads and checks its whole input
(nothing is written for a bad file), then :func:`connect` opens the benchmark's database for writing (creating it
with the benchmark's schema when missing; NNI's prebuilt files are refused, they cannot take our tables) and
:func:`transaction` writes everything in one transaction: the provenance row, the rows, and the removal of the rows
they replace. A failure rolls back; readers see the old or the new data, never a mix.

A rebuild of the database from the benchmark's original file (``convert nb201`` ...) keeps the joined tables:
:func:`carry_over` copies them, with their provenance rows, into the new file before it is swapped in. On a server the
tables are never dropped by a rebuild (they are not the benchmark's tables) and their provenance rows are kept.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import contextmanager, nullcontext
from pathlib import Path

import peewee

from .. import __version__
from .. import db as _db
from ..models import JOINED_SCHEMAS, JOINED_SOURCE_KINDS, server_view
from ._build import utc_now

#: rows per INSERT statement on a server (psycopg2's execute_values pages)
SERVER_PAGE_ROWS = 1000


def schema_statements(benchmark: str, server: bool = False) -> list[str]:
    """``CREATE ... IF NOT EXISTS`` statements of the joined tables (with their keys) and views of ``benchmark``."""
    from ._server import server_tables

    models, views = JOINED_SCHEMAS[benchmark]
    database = peewee.PostgresqlDatabase(None) if server else peewee.SqliteDatabase(":memory:")
    statements = []
    with server_tables(models) if server else nullcontext(), \
            database.bind_ctx(list(models), bind_refs=False, bind_backrefs=False):
        for model in models:
            statements.append(model._schema._create_table(safe=True).query()[0])
        for model in models:
            for index in model._schema._create_indexes(safe=True):
                statements.append(index.query()[0])
    create = "CREATE OR REPLACE VIEW" if server else "CREATE VIEW IF NOT EXISTS"
    statements.extend((server_view(view) if server else view).replace("CREATE VIEW", create, 1) for view in views)
    return statements


def is_server(conn) -> bool:
    from .results import ServerConnection

    return isinstance(conn, ServerConnection)


def connect(benchmark: str, db_dir=None):
    """``(connection, where)``: the benchmark's database opened for writing with the joined tables created.

    SQLite (WAL mode, busy timeout) or the server of ``NASBENCHMARK_DB_URL`` (when no ``db_dir`` is given), through
    the same entry as ``convert results``; ``where`` is the file path or the redacted URL.
    """
    from .results import connect as connect_benchmark

    conn, where = connect_benchmark(benchmark, db_dir)
    try:
        with transaction(conn):
            if is_server(conn):
                conn.execute("SELECT pg_advisory_xact_lock(74102)")  # one schema creator at a time
            for statement in schema_statements(benchmark, server=is_server(conn)):
                conn.execute(statement)
    except BaseException:
        release(conn)
        raise
    return conn, where


def release(conn) -> None:
    from .results import _release

    _release(conn)


@contextmanager
def transaction(conn):
    """One write transaction (``BEGIN IMMEDIATE``: on a server, the provenance table's self-exclusive lock)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if is_server(conn):
            conn.raw.rollback()
        else:
            conn.execute("ROLLBACK")
        raise


def insert_many(conn, table: str, columns, rows) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``; one statement per page on a server."""
    rows = list(rows)
    if not rows:
        return 0
    if is_server(conn):
        from psycopg2.extras import execute_values

        with conn.raw.cursor() as cursor:
            execute_values(cursor, f"INSERT INTO {table} ({', '.join(columns)}) VALUES %s", rows,
                           page_size=SERVER_PAGE_ROWS)
    else:
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                         rows)
    return len(rows)


def add_source(conn, benchmark: str, kind: str, path: Path, converter: str, sha256: str, file_size: int,
               row_counts: dict, details: dict) -> int:
    """Insert the provenance row of a joined-data load and return its id."""
    cursor = conn.execute(
        "INSERT INTO nasbench_source (benchmark, kind, file_name, file_size, sha256, converter, created_at, "
        "row_counts, device, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
        (benchmark, kind, path.name, file_size, sha256, f"{converter} nasbench_db {__version__}", utc_now(),
         json.dumps(row_counts, sort_keys=True), json.dumps(details, sort_keys=True)))
    return cursor.lastrowid


def drop_unused_sources(conn, benchmark: str, kind: str, tables) -> int:
    """Delete the ``kind`` provenance rows that no row of ``tables`` points to any more; returns how many."""
    unused = " AND ".join(f"id NOT IN (SELECT source_id FROM {table})" for table in tables)
    rows = conn.execute(f"SELECT id FROM nasbench_source WHERE benchmark = ? AND kind = ? AND {unused}",
                        (benchmark, kind)).fetchall()
    for (source_id,) in rows:
        conn.execute("DELETE FROM nasbench_source WHERE id = ?", (source_id,))
    return len(rows)


def read_input(path, limit: int, what: str) -> tuple[bytes, str]:
    """``(bytes, sha256)`` of a whole input file no larger than ``limit`` (checked before reading it)."""
    from ..errors import CorruptInput, NasbenchDbError
    from ..limits import LFS_POINTER_MAX_BYTES, check_declared_length, check_lfs_pointer, read_limited

    path = Path(path)
    if path.is_dir():
        raise NasbenchDbError(f"{path} is a directory: expected {what}")
    if not path.is_file():
        raise NasbenchDbError(f"no such file: {path} (expected {what})")
    check_declared_length(path, path.stat().st_size, limit, f"the {what}")
    with open(path, "rb") as handle:
        data = read_limited(handle, limit, path, f"the {what}")
    if not data:
        raise CorruptInput(path, f"the file is empty: expected {what}")
    check_lfs_pointer(path, data[:LFS_POINTER_MAX_BYTES])
    return data, hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------------------------------------------------
# carry-over across a rebuild of the benchmark's database


def carry_over(build) -> dict:
    """Copy the joined tables of the SQLite file ``build`` replaces into the new file (before the swap).

    Returns rows copied per table. Provenance rows are copied too and their ids renumbered in the new file. On a
    server nothing is copied: a rebuild leaves the joined tables and their provenance rows where they are.
    """
    if build.benchmark not in JOINED_SCHEMAS or getattr(build, "url", None) or not build.final.is_file():
        return {}
    try:
        old = sqlite3.connect(f"file:{build.final}?mode=ro", uri=True, timeout=_db.SQLITE_BUSY_TIMEOUT_S)
    except sqlite3.Error:
        return {}
    counts: dict = {}
    try:
        try:
            present = {row[0] for row in old.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError:
            return {}
        models, _ = JOINED_SCHEMAS[build.benchmark]
        tables = [m for m in models if m._meta.table_name in present]
        if not tables or "nasbench_source" not in present:
            return {}
        conn = build.connection
        for statement in schema_statements(build.benchmark):
            conn.execute(statement)
        kinds = ", ".join(f"'{kind}'" for kind in JOINED_SOURCE_KINDS)
        columns = ("benchmark", "kind", "file_name", "file_size", "sha256", "converter", "created_at", "row_counts",
                   "device", "details")
        new_ids = {}
        for old_id, *values in old.execute(f"SELECT id, {', '.join(columns)} FROM nasbench_source WHERE benchmark = ? "
                                           f"AND kind IN ({kinds}) ORDER BY id", (build.benchmark,)):
            cursor = conn.execute(f"INSERT INTO nasbench_source ({', '.join(columns)}) VALUES "
                                  f"({', '.join('?' * len(columns))})", values)
            new_ids[old_id] = cursor.lastrowid
        for model in tables:
            names = [f.column_name for f in model._meta.sorted_fields]
            at = names.index("source_id")
            rows = [row[:at] + (new_ids.get(row[at], row[at]),) + row[at + 1:]
                    for row in old.execute(f"SELECT {', '.join(names)} FROM {model._meta.table_name}")]
            counts[model._meta.table_name] = insert_many(conn, model._meta.table_name, names, rows)
    finally:
        old.close()
    return counts
