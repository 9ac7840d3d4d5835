"""Publish a finished benchmark database to a server database (PostgreSQL) in one transaction.

Converters always build a private SQLite file first (the fast, tested path). When ``NASBENCHMARK_DB_URL`` names a
server, :func:`publish` then copies that file into it:

1. one transaction: a private staging schema, the tables created from the peewee models (server types), rows streamed
   with ``COPY ... FROM STDIN`` (the server's bulk path), indexes built after loading, then the server-only tables
   derived from those rows (:data:`nasbench_db.models.SERVER_DERIVED_TABLES`: NB-101's per-config means);
2. in the same transaction, the benchmark's old views and tables are dropped, the new tables moved into the public
   schema, its provenance rows replaced and the views recreated.

Readers keep answering from the old tables until the commit (they wait only for the final swap, never see a mix);
a failure or a kill at any point rolls everything back and leaves the previous data as it was. Provenance ids are
global on a server (``nasbench_source`` holds every benchmark), so ``source_id`` columns are renumbered on the way.
"""

from __future__ import annotations

import io
import os
import re
import sqlite3
from contextlib import contextmanager

import peewee

from .. import db as _db
from ..errors import NasbenchDbError
from ..models import JOINED_SOURCE_KINDS, SERVER_DERIVED_TABLES, SERVER_FUNCTIONS, Source, server_view

COPY_ROWS = 20_000
#: A provenance table created by an earlier version gains the columns added since. Checked first: an ALTER TABLE
#: takes an exclusive lock even when it changes nothing, which readers would wait on (and deadlock with a publish).
SOURCE_COLUMN_CHECK = ("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND "
                       "table_name = 'nasbench_source' AND column_name = 'device_kind'")
SOURCE_UPGRADE = "ALTER TABLE nasbench_source ADD COLUMN IF NOT EXISTS device_kind VARCHAR(16)"


def upgrade_source_table(execute) -> None:
    """Add the provenance columns an older server table lacks; ``execute(sql)`` runs a statement, returns a cursor."""
    if not execute(SOURCE_COLUMN_CHECK).fetchone():
        execute(SOURCE_UPGRADE)
_VIEW_NAME = re.compile(r"CREATE\s+VIEW\s+(\w+)", re.IGNORECASE)


@contextmanager
def server_tables(models, schema: str | None = None):
    """Render ``models`` as server (PostgreSQL) tables while inside: no SQLite-only table options (WITHOUT ROWID),
    and in ``schema`` when given. The models' own settings are restored on exit."""
    saved = {m: (m._meta.schema, m._meta.without_rowid) for m in models}
    try:
        for model in models:
            model._meta.without_rowid = False
            if schema is not None:
                model._meta.schema = schema
        yield
    finally:
        for model, (old_schema, without_rowid) in saved.items():
            model._meta.schema = old_schema
            model._meta.without_rowid = without_rowid


def view_names(views) -> list[str]:
    names = []
    for view in views:
        match = _VIEW_NAME.search(view)
        if match:
            names.append(match.group(1))
    return names


_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    """One value in COPY's text format (\\N = NULL; floats as their shortest exact repr)."""
    if value is None:
        return "\\N"
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    return str(value).translate(_TEXT_ESCAPES)


def _copy_rows(cursor, table: str, columns: list[str], rows) -> int:
    """Stream rows into ``table`` with COPY ... FROM STDIN (text format), in chunks of :data:`COPY_ROWS`."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    count = 0
    lines = []
    for row in rows:
        lines.append("\t".join(map(_copy_value, row)))
        if len(lines) >= COPY_ROWS:
            cursor.copy_expert(sql, io.StringIO("\n".join(lines) + "\n"))
            count += len(lines)
            lines.clear()
    if lines:
        cursor.copy_expert(sql, io.StringIO("\n".join(lines) + "\n"))
        count += len(lines)
    return count


def publish(sqlite_path, url: str, benchmark: str, models, views) -> dict:
    """Copy the benchmark tables of a finished SQLite build into the server at ``url``; returns rows per table."""
    server = _db.url_database(url)
    if not isinstance(server, peewee.PostgresqlDatabase):
        raise NasbenchDbError(f"NASBENCHMARK_DB_URL must name a PostgreSQL database for conversions: got "
                              f"{_db._redact(url)}")
    tables = [m for m in models if m is not Source]
    staging = f"nasbench_staging_{benchmark}_{os.getpid()}"
    source = sqlite3.connect(_db.sqlite_uri(sqlite_path, mode="ro"), uri=True)
    counts: dict[str, int] = {}
    try:
        server.connect(reuse_if_open=True)
        conn = server.connection()
        conn.autocommit = False
        with conn.cursor() as cursor:
            # An older provenance table gains its new columns in a transaction of its own, committed at once (no
            # data changes): its ALTER's exclusive lock, held through the publish below, would deadlock with a
            # point query that holds a benchmark table and waits to read the provenance (docs/postgres.md).
            cursor.execute("SELECT to_regclass('nasbench_source') IS NOT NULL")
            if cursor.fetchone()[0]:
                upgrade_source_table(lambda sql: cursor.execute(sql) or cursor)
        conn.commit()
        with conn.cursor() as cursor:
            # Everything below is one transaction: any failure rolls the server back to the previous data.
            cursor.execute(f"CREATE SCHEMA {staging}")
            with server.bind_ctx([Source], bind_refs=False, bind_backrefs=False):
                Source._schema.create_table(safe=True)  # a table created just now has every column
            cursor.execute("LOCK TABLE nasbench_source IN SHARE ROW EXCLUSIVE MODE")
            # Other sources (trained results, EC-NAS files) are carried into the build before publishing; one
            # ingested since then would be lost.
            # (Joined data, HW-NAS-Bench costs and zero-cost proxies, is not carried: it stays on the server.)
            others = "kind <> 'original' AND kind NOT IN (" + ", ".join(f"'{k}'" for k in JOINED_SOURCE_KINDS) + ")"
            carried = {row[0] for row in source.execute(
                f"SELECT sha256 FROM nasbench_source WHERE {others} AND benchmark = ?", (benchmark,))}
            cursor.execute(f"SELECT sha256 FROM nasbench_source WHERE {others} AND benchmark = %s", (benchmark,))
            arrived = {row[0] for row in cursor.fetchall()} - carried
            if arrived:
                raise NasbenchDbError(f"{len(arrived)} training results were ingested into the server while this "
                                      "conversion ran; nothing was changed: run the conversion again")
            source_ids = {}
            columns = [c for c in Source._meta.sorted_field_names if c != "id"]
            at = columns.index("benchmark")
            # New provenance rows wait under a staging name until the old ones go (their keys are unique).
            pending_name = f"{benchmark}#{os.getpid()}"
            for old_id, *values in source.execute(f"SELECT id, {', '.join(columns)} FROM nasbench_source"):
                values[at] = pending_name
                cursor.execute(f"INSERT INTO nasbench_source ({', '.join(columns)}) VALUES "
                               f"({', '.join(['%s'] * len(columns))}) RETURNING id", values)
                source_ids[old_id] = cursor.fetchone()[0]
            with server_tables(tables, staging), server.bind_ctx(tables, bind_refs=False, bind_backrefs=False):
                for model in tables:
                    model._schema.create_table(safe=False)
                for model in tables:
                    name = model._meta.table_name
                    columns = [f.column_name for f in model._meta.sorted_fields]
                    quoted = [f'"{c}"' for c in columns]
                    rows = source.execute(f"SELECT {', '.join(quoted)} FROM {name}")
                    if "source_id" in columns:
                        at = columns.index("source_id")
                        rows = (r[:at] + (source_ids.get(r[at], r[at]),) + r[at + 1:] for r in rows)
                    counts[name] = _copy_rows(cursor, f"{staging}.{name}", quoted, rows)
                for model in tables:
                    model._schema.create_indexes(safe=False)
            # Derived tables (models.SERVER_DERIVED_TABLES) are computed here from the staged rows: the server's
            # own arithmetic, so they equal what a statement over the runs returns.
            derived = SERVER_DERIVED_TABLES.get(benchmark, ())
            with server_tables([m for m, _ in derived], staging), \
                    server.bind_ctx([m for m, _ in derived], bind_refs=False, bind_backrefs=False):
                for model, fill in derived:
                    model._schema.create_table(safe=False)
                    cursor.execute(fill(staging))
                    counts[model._meta.table_name] = cursor.rowcount
                    model._schema.create_indexes(safe=False)
            tables = tables + [m for m, _ in derived]
            for name in view_names(views):
                cursor.execute(f"DROP VIEW IF EXISTS public.{name}")
            for model in tables:
                cursor.execute(f"DROP TABLE IF EXISTS public.{model._meta.table_name} CASCADE")
            # Joined data (HW-NAS-Bench costs, zero-cost proxies) is not the benchmark's: its tables and provenance
            # rows stay.
            cursor.execute("DELETE FROM nasbench_source WHERE benchmark = %s AND kind NOT IN %s",
                           (benchmark, JOINED_SOURCE_KINDS))
            cursor.execute("UPDATE nasbench_source SET benchmark = %s WHERE benchmark = %s", (benchmark, pending_name))
            for model in tables:
                cursor.execute(f"ALTER TABLE {staging}.{model._meta.table_name} SET SCHEMA public")
            for view in views:
                cursor.execute(server_view(view))
            for function in SERVER_FUNCTIONS.get(benchmark, ()):
                cursor.execute(function("public"))
            cursor.execute(f"DROP SCHEMA {staging}")
        conn.commit()
        with conn.cursor() as cursor:
            conn.autocommit = True
            for model in tables:
                cursor.execute(f"ANALYZE {model._meta.table_name}")
    except Exception:
        try:
            server.connection().rollback()
        except Exception:
            pass
        raise
    finally:
        source.close()
        server.close()
    return counts
