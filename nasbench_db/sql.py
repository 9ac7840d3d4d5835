"""Read-only ad-hoc SQL over an installed benchmark database (``nasbench-db sql``).

SQLite files are opened with ``mode=ro`` and ``PRAGMA query_only``; a server database runs the statement in a
``READ ONLY`` transaction that is rolled back. A write is refused with :class:`ReadOnlyError` and changes nothing.
"""

from __future__ import annotations

import sqlite3

from . import db as _db
from .errors import NasbenchDbError, ReadOnlyError

_WRITE_HINT = ("nasbench-db sql is read-only: the statement tried to change the database ({reason}). "
               "Use the convert commands to load data.")


def run_sql(statement: str, benchmark: str = "nb101", db_dir=None, params=()) -> tuple[list[str], list[tuple]]:
    """Run one SQL statement read-only; returns ``(column names, rows)``."""
    location = _db.locate(benchmark, db_dir)
    if location.kind == "url":
        return _run_server(location.target, statement, params)
    conn = _db.raw_sqlite_connect(location.target, readonly=True)
    try:
        cursor = conn.execute(statement, params)
        rows = cursor.fetchall()
        columns = [d[0] for d in cursor.description or ()]
        return columns, rows
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "readonly" in text or "read-only" in text or "query_only" in text:
            raise ReadOnlyError(_WRITE_HINT.format(reason=text)) from None
        raise NasbenchDbError(f"SQL error: {text}") from None
    except (sqlite3.DatabaseError, sqlite3.Warning, sqlite3.ProgrammingError) as exc:
        raise NasbenchDbError(f"SQL error: {exc}") from None
    finally:
        conn.close()


def _run_server(url: str, statement: str, params):
    database = _db.url_database(url)
    database.connect()
    try:
        conn = database.connection()
        conn.autocommit = False  # the driver opens a transaction; SET TRANSACTION makes it read-only
        with conn.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            try:
                cursor.execute(statement, params or None)
                columns = [d[0] for d in cursor.description or ()]
                rows = cursor.fetchall() if cursor.description else []
                return columns, [tuple(r) for r in rows]
            except Exception as exc:  # the driver's errors (psycopg2 / psycopg)
                text = str(exc).strip()
                if "read-only" in text or "read only" in text:
                    raise ReadOnlyError(_WRITE_HINT.format(reason=text.splitlines()[0])) from None
                raise NasbenchDbError(f"SQL error: {text.splitlines()[0] if text else exc}") from None
            finally:
                conn.rollback()
    finally:
        database.close()
