"""Read-only ad-hoc SQL over an installed benchmark database (``nasbench-db sql``).

One statement, read-only, bounded in time and memory, streamed; the guarantees do not depend on the statement being
well-meant.

SQLite
    The file is opened ``mode=ro`` and, when no ``-wal`` / ``-journal`` file lies beside it, ``immutable=1``: SQLite
    then takes no lock and creates no side file (a WAL-mode database gets no ``-wal``/``-shm``). An authorizer allows
    reading only: SELECT, reads, recursive CTEs, functions (not ``load_extension``) and an allow-list of read-only
    PRAGMAs; ATTACH (so ``VACUUM INTO``), VACUUM, transactions, temporary objects and every write are denied, so the
    statement can create no file. ``SQLITE_LIMIT_LENGTH`` caps any string or blob (``zeroblob(400000000)`` fails),
    ``hard_heap_limit`` caps SQLite's memory while the statement runs and temporary tables stay in memory. A progress
    handler enforces ``timeout`` and honours Ctrl-C. Rows are fetched one at a time.

PostgreSQL
    Only the statement kinds of :data:`PG_STATEMENTS` (plain queries) are accepted, one statement (a lexer that knows
    quotes, dollar quotes and comments finds any second one): ``COPY ... TO PROGRAM`` never reaches the server. The
    statement runs in a ``READ ONLY`` transaction with ``statement_timeout``, through a server-side cursor, and is
    rolled back. A superuser (or a member of ``pg_read_server_files`` / ``pg_write_server_files`` /
    ``pg_execute_server_program``, who could call ``pg_read_file`` or ``lo_export``) is refused unless
    ``allow_superuser``: connect as a SELECT-only role (``docs/postgres.md``, ``.ci/start-postgres.sh`` creates
    ``nasbench_reader``).

Refusals raise :class:`~nasbench_db.errors.ReadOnlyError`; other failures :class:`~nasbench_db.errors.NasbenchDbError`.
"""

from __future__ import annotations

import contextlib
import re
import signal
import sqlite3
import threading
import time

from . import db as _db
from .errors import NasbenchDbError, ReadOnlyError

#: Default time limit of one statement, output included (seconds; 0 or None: no limit).
DEFAULT_TIMEOUT_S = 60.0
#: Largest string or blob a statement may build on SQLite (SQLITE_LIMIT_LENGTH).
MAX_VALUE_BYTES = 64 << 20
#: Largest statement text.
MAX_SQL_BYTES = 1 << 20
#: SQLite's memory while the statement runs (sqlite3_hard_heap_limit64, process-wide, restored afterwards).
HEAP_LIMIT_BYTES = 1 << 30
#: VM instructions between two checks of the deadline and of Ctrl-C.
PROGRESS_STEPS = 20_000
#: Rows fetched per round trip from a PostgreSQL server-side cursor.
PG_FETCH_ROWS = 2_000

_WRITE_HINT = ("nasbench-db sql is read-only: the statement tried to change the database ({reason}). "
               "Use the convert commands to load data.")

# ---------------------------------------------------------------------------------------------------------------------
# SQLite

#: PRAGMAs that only read (any argument is a table or index name, or a row count for the checks).
SQLITE_READ_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
    "foreign_key_check", "collation_list", "function_list", "module_list", "pragma_list", "database_list",
    "compile_options", "integrity_check", "quick_check",
})
#: PRAGMAs that read a value, allowed without an argument only (with one they would set it).
SQLITE_VALUE_PRAGMAS = frozenset({
    "page_count", "page_size", "freelist_count", "user_version", "application_id", "schema_version", "encoding",
    "data_version", "journal_mode", "auto_vacuum", "max_page_count",
})
#: Functions denied although the statement reads only.
SQLITE_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"})


def _authorizer(action, arg1, arg2, db_name, trigger):
    """Allow reading only (see the module docstring)."""
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in SQLITE_DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA:
        name = (arg1 or "").lower()
        if name in SQLITE_READ_PRAGMAS or (name in SQLITE_VALUE_PRAGMAS and arg2 is None):
            return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


class _Guard:
    """Deadline and Ctrl-C for one statement; :meth:`check` is the progress handler (non-zero interrupts)."""

    def __init__(self, timeout):
        self.timeout = float(timeout) if timeout else None
        self.deadline = time.monotonic() + self.timeout if self.timeout else None
        self.cancelled = False
        self.timed_out = False

    def check(self) -> int:
        if self.cancelled:
            return 1
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.timed_out = True
            return 1
        return 0

    def expired(self) -> bool:
        return self.check() != 0

    def error(self) -> NasbenchDbError:
        if self.cancelled:
            return NasbenchDbError("interrupted (Ctrl-C): the statement was stopped, nothing was changed")
        return NasbenchDbError(f"the statement ran past the time limit of {self.timeout:g} s and was stopped: add "
                               "a WHERE or LIMIT, or raise --timeout (0 = no limit)")

    @contextlib.contextmanager
    def sigint(self, on_cancel=None):
        """While inside, Ctrl-C cancels the statement instead of raising KeyboardInterrupt somewhere in C code."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            self.cancelled = True
            if on_cancel is not None:
                on_cancel()

        try:
            previous = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main interpreter
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def _sqlite_error(exc: Exception, guard: _Guard) -> NasbenchDbError:
    text = str(exc)
    if guard.cancelled or guard.timed_out or "interrupted" in text:
        return guard.error()
    if any(marker in text for marker in ("not authorized", "authorization denied", "readonly", "read-only",
                                         "query_only")):
        return ReadOnlyError(_WRITE_HINT.format(reason=f"{text}: only reading statements are allowed; ATTACH, VACUUM, "
                                                       "transactions, temporary objects and writes are not"))
    if "too big" in text or "out of memory" in text:
        return NasbenchDbError(f"SQL error: {text} (the statement needs more than the limits of nasbench-db sql: "
                               f"{MAX_VALUE_BYTES >> 20} MB per value, {HEAP_LIMIT_BYTES >> 20} MB of memory; add "
                               "a WHERE or LIMIT)")
    return NasbenchDbError(f"SQL error: {text}")


@contextlib.contextmanager
def _sqlite_stream(path, statement: str, params, guard: _Guard):
    try:
        conn = sqlite3.connect(_db.sqlite_readonly_uri(path), uri=True, timeout=_db.SQLITE_BUSY_TIMEOUT_S,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise NasbenchDbError(f"cannot open {path} read-only: {exc}") from None
    heap_before = None
    try:
        conn.execute("PRAGMA query_only = 1")
        conn.execute("PRAGMA temp_store = MEMORY")
        if hasattr(conn, "setlimit"):  # Python >= 3.11
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
            conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
            conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        heap_before = conn.execute("PRAGMA hard_heap_limit").fetchone()
        conn.execute(f"PRAGMA hard_heap_limit = {HEAP_LIMIT_BYTES}")
        conn.set_authorizer(_authorizer)
        conn.set_progress_handler(guard.check, PROGRESS_STEPS)
        with guard.sigint(conn.interrupt):
            try:
                cursor = conn.execute(statement, params)
            except (sqlite3.Error, sqlite3.Warning, OverflowError, ValueError) as exc:
                raise _sqlite_error(exc, guard) from None
            columns = [d[0] for d in cursor.description or ()]

            def rows():
                try:
                    for row in cursor:
                        yield row
                except (sqlite3.Error, OverflowError, ValueError) as exc:
                    raise _sqlite_error(exc, guard) from None
                if guard.cancelled:
                    raise guard.error()

            yield columns, rows()
    finally:
        try:
            conn.set_authorizer(None)
            conn.set_progress_handler(None, 0)
            if heap_before is not None:
                conn.execute(f"PRAGMA hard_heap_limit = {int(heap_before[0])}")
        except sqlite3.Error:
            pass
        conn.close()


# ---------------------------------------------------------------------------------------------------------------------
# PostgreSQL

#: Statement kinds ``nasbench-db sql`` runs on a server: plain queries only (an allow-list).
PG_STATEMENTS = ("SELECT", "WITH", "VALUES", "TABLE", "EXPLAIN", "SHOW")
#: Roles whose members can read or write the server's files or run programs (PostgreSQL >= 11).
PG_FILE_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$")


def split_pg_statement(statement: str) -> tuple[str, str]:
    """``(keyword, statement without a trailing ';')`` of one PostgreSQL statement, or :class:`ReadOnlyError`.

    A small lexer walks the text: quoted strings (``'...'``, ``E'...'`` with backslash escapes), quoted identifiers,
    dollar quotes (``$tag$...$tag$``), ``--`` and nested ``/* */`` comments. A ``;`` outside them followed by anything
    but whitespace and comments is a second statement: refused. The first keyword (after comments and opening
    parentheses) must be one of :data:`PG_STATEMENTS`.
    """
    text = statement
    n = len(text)
    i = 0
    first = None
    end = None  # index of a top-level ';'
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif c == "/" and text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            if depth:
                raise ReadOnlyError("unterminated /* comment in the statement")
        elif end is not None:
            if not c.isspace():
                raise ReadOnlyError("nasbench-db sql runs one statement at a time: found more after ';'")
            i += 1
        elif c == ";":
            end = i
            i += 1
        elif c == "'" or ((c in "eE") and text.startswith("'", i + 1) and (i == 0 or not _word(text[i - 1]))):
            escapes = c != "'"
            i += 2 if escapes else 1
            while True:
                if i >= n:
                    raise ReadOnlyError("unterminated string literal in the statement")
                if escapes and text[i] == "\\":
                    i += 2
                elif text[i] == "'":
                    if text.startswith("''", i):
                        i += 2
                    else:
                        i += 1
                        break
                else:
                    i += 1
            first = first or "'"
        elif c == '"':
            close = i + 1
            while True:
                close = text.find('"', close)
                if close < 0:
                    raise ReadOnlyError("unterminated quoted identifier in the statement")
                if text.startswith('""', close):
                    close += 2
                    continue
                break
            i = close + 1
            first = first or '"'
        elif c == "$" and (i == 0 or not _word(text[i - 1])) and (tag := _DOLLAR_TAG.match(text, i)):
            close = text.find(tag.group(0), tag.end())
            if close < 0:
                raise ReadOnlyError("unterminated dollar-quoted string in the statement")
            i = close + len(tag.group(0))
            first = first or "$"
        elif c.isspace() or (c == "(" and first is None):
            i += 1
        else:
            if first is None:
                match = re.match(r"[A-Za-z_]+", text[i:i + 40])
                first = match.group(0).upper() if match else c
            i += 1
    if first is None:
        raise ReadOnlyError("empty statement")
    if first not in PG_STATEMENTS:
        raise ReadOnlyError(f"nasbench-db sql runs plain queries only ({', '.join(PG_STATEMENTS)}): a statement "
                            f"starting with {first[:20]!r} is not one. Use the convert commands to load data.")
    return first, (text[:end] if end is not None else text)


def _word(char: str) -> bool:
    return char.isalnum() or char == "_" or char == "$"


def _pg_role_problem(cursor) -> str | None:
    cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    if row is None:
        return None
    user, superuser = row
    if superuser:
        return f"the role {user!r} is a superuser"
    cursor.execute("SELECT r FROM unnest(%s::text[]) AS r WHERE to_regrole(r) IS NOT NULL "
                   "AND pg_has_role(current_user, r, 'MEMBER')", (list(PG_FILE_ROLES),))
    roles = [r[0] for r in cursor.fetchall()]
    if roles:
        return f"the role {user!r} is a member of {', '.join(roles)} (it can read or write the server's files)"
    return None


@contextlib.contextmanager
def _pg_stream(url: str, statement: str, params, guard: _Guard, allow_superuser: bool):
    kind, statement = split_pg_statement(statement)
    database = _db.url_database(url)
    try:
        database.connect()
    except Exception as exc:  # the driver's connection errors
        raise _db.server_error(exc, url) from None
    conn = database.connection()
    wait_callback = _interruptible_waits(conn)
    try:
        conn.autocommit = False
        with conn.cursor() as check:
            problem = _pg_role_problem(check)
            conn.rollback()
        if problem and not allow_superuser:
            raise ReadOnlyError(
                f"refusing to run nasbench-db sql as {problem}: such a role can run programs and read files on the "
                "server through SQL. Connect as a SELECT-only role (see docs/postgres.md: the test server's "
                "nasbench_reader) with --url, or pass --allow-superuser if you accept that risk")
        plain = conn.cursor()
        plain.execute("SET TRANSACTION READ ONLY")
        plain.execute("SET LOCAL standard_conforming_strings = on")  # the lexer's reading of '...' strings
        if guard.timeout:
            plain.execute(f"SET LOCAL statement_timeout = {max(1, int(guard.timeout * 1000))}")
        plain.execute("SET LOCAL lock_timeout = 5000")
        # queries stream through a server-side cursor; EXPLAIN and SHOW (small) run as they are
        cursor = conn.cursor(name="nasbench_sql") if kind in ("SELECT", "WITH", "VALUES", "TABLE") else plain
        if cursor is not plain:
            cursor.itersize = PG_FETCH_ROWS
        with guard.sigint(getattr(conn, "cancel", None)):
            try:
                cursor.execute(statement, params or None)
                if cursor is not plain:
                    first = cursor.fetchmany(PG_FETCH_ROWS)
                else:
                    first = cursor.fetchall() if cursor.description else []
            except Exception as exc:  # the driver's errors (psycopg2 / psycopg)
                raise _pg_error(exc, guard) from None
            columns = [d[0] for d in cursor.description or ()]

            def rows():
                batch = first
                while batch:
                    for row in batch:
                        yield tuple(row)
                    if cursor is plain:
                        return
                    try:
                        batch = cursor.fetchmany(PG_FETCH_ROWS)
                    except Exception as exc:
                        raise _pg_error(exc, guard) from None

            yield columns, rows()
    finally:
        try:
            conn.rollback()
        except Exception:
            pass
        if wait_callback is not None:
            wait_callback()
        database.close()


def _interruptible_waits(conn):
    """With psycopg2, wait for the server in Python (``wait_select``) so that Ctrl-C can cancel a long query; returns
    the function restoring the previous setting."""
    try:
        import psycopg2.extensions
        import psycopg2.extras
    except ImportError:
        return None
    if not isinstance(conn, psycopg2.extensions.connection):
        return None
    previous = psycopg2.extensions.get_wait_callback()
    psycopg2.extensions.set_wait_callback(psycopg2.extras.wait_select)
    return lambda: psycopg2.extensions.set_wait_callback(previous)


def _pg_error(exc: Exception, guard: _Guard) -> NasbenchDbError:
    text = str(exc).strip()
    first_line = text.splitlines()[0] if text else type(exc).__name__
    if guard.cancelled or isinstance(exc, KeyboardInterrupt):
        guard.cancelled = True
        return guard.error()
    if "statement timeout" in text or "canceling statement" in text:
        guard.timed_out = True
        return guard.error()
    if "read-only" in text or "read only" in text or "permission denied" in text or "data-modifying" in text:
        return ReadOnlyError(_WRITE_HINT.format(reason=first_line))
    return NasbenchDbError(f"SQL error: {first_line}")


# ---------------------------------------------------------------------------------------------------------------------
# Public functions


@contextlib.contextmanager
def stream_sql(statement: str, benchmark: str = "nb101", db_dir=None, params=(), *, timeout=DEFAULT_TIMEOUT_S,
               url: str | None = None, allow_superuser: bool = False):
    """``with stream_sql(...) as (columns, rows):`` one read-only statement, its rows fetched as they are iterated.

    ``timeout`` (seconds, None/0: none) covers the whole statement, the iteration included. ``url`` names a
    database server instead of ``NASBENCHMARK_DB_URL`` / ``db_dir``. ``allow_superuser``: run on a server as a
    superuser anyway (see the module docstring).
    """
    guard = _Guard(timeout)
    if len(statement.encode("utf-8", "replace")) > MAX_SQL_BYTES:
        raise NasbenchDbError(f"the statement is longer than {MAX_SQL_BYTES:,} bytes")
    if url:
        with _pg_or_sqlite_url(url, statement, params, guard, allow_superuser) as result:
            yield result
        return
    location = _db.locate(benchmark, db_dir)
    if location.kind == "url":
        with _pg_or_sqlite_url(location.target, statement, params, guard, allow_superuser) as result:
            yield result
        return
    with _sqlite_stream(location.target, statement, params, guard) as result:
        yield result


@contextlib.contextmanager
def _pg_or_sqlite_url(url: str, statement, params, guard, allow_superuser):
    if url.startswith("sqlite:///"):
        with _sqlite_stream(url[len("sqlite:///"):], statement, params, guard) as result:
            yield result
        return
    if url.lower().startswith("sqlite:"):
        raise NasbenchDbError(f"a SQLite URL names its file as sqlite:///path: got {_db._redact(url)}")
    with _pg_stream(url, statement, params, guard, allow_superuser) as result:
        yield result


def run_sql(statement: str, benchmark: str = "nb101", db_dir=None, params=(), *, timeout=DEFAULT_TIMEOUT_S,
            url: str | None = None, allow_superuser: bool = False) -> tuple[list[str], list[tuple]]:
    """Run one read-only statement; returns ``(column names, rows)`` (see :func:`stream_sql`)."""
    with stream_sql(statement, benchmark, db_dir, params, timeout=timeout, url=url,
                    allow_superuser=allow_superuser) as (columns, rows):
        return columns, list(rows)
