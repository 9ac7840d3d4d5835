"""Where the databases live and how they are opened.

* ``NASBENCHMARK_DIR`` (read at every call, ``~`` expanded; default ``~/.cache/nasbench_db``) holds one SQLite file
  per benchmark (:data:`FILE_NAMES`). NNI's prebuilt files (:data:`NNI_FILE_NAMES`) in that directory are opened as
  they are when ours are absent.
* With ``NASBENCHMARK_DIR`` unset, NNI's default directories are searched after ours (:func:`search_dirs`): NNI 2.5+'s
  ``$NNI_HOME`` or ``${XDG_CACHE_HOME:-~/.cache}/nni`` + ``/nasbenchmark``, then NNI 1.x-2.4's ``~/.nni/nasbenchmark``.
  In each directory our file name comes first, then NNI's hashed name. A file under our name whose tables are NNI's
  (NNI <= 2.4 used our names: ``nasbench101.db`` ...; NNI's NAS-Bench-NLP file is ``nlp.db`` in every version) is
  recognised by its tables and read as NNI's layout.
* ``NASBENCHMARK_DB_URL`` (a peewee ``db_url`` such as ``postgresql://user@host/nasbench``) puts every benchmark in
  one server database instead: same tables, same API.

Opening never hashes a file: a database is trusted once a conversion (or a verified download) produced it. A cached
connection is reopened when the file under its name was replaced (a conversion swaps a finished file in atomically),
so long-lived readers see the new data on their next call and never a half-written file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import peewee

from .errors import BenchmarkNotInstalled, InvalidArgument, MissingDependency, NasbenchDbError

#: Benchmark key -> our SQLite file name.
FILE_NAMES = {
    "nb101": "nasbench101.db",
    "nb201": "nasbench201.db",
    "nats_sss": "nats_sss.db",
    "nds": "nds.db",
    "nlp": "nlp.db",
}
#: Benchmark key -> NNI's prebuilt file name (sha256 prefix in the name), opened when ours is absent.
NNI_FILE_NAMES = {
    "nb101": "nasbench101-209f5694.db",
    "nb201": "nasbench201-b2b60732.db",
    "nds": "nds-5745c235.db",
}
# NNI publishes no prebuilt NAS-Bench-NLP file: NNI's db_gen writes ``nlp.db``, our name too (told apart by its tables).
#: How each benchmark is named to users, and the command that installs it.
DISPLAY_NAMES = {"nb101": "NAS-Bench-101", "nb201": "NAS-Bench-201 / NATS-Bench topology",
                 "nats_sss": "NATS-Bench size space", "nds": "NDS", "nlp": "NAS-Bench-NLP"}
INSTALL_HINTS = {
    "nb101": "nasbench-db convert nb101 nasbench_full.tfrecord (or scripts/nasbench101.sh)",
    "nb201": "nasbench-db convert nb201 NAS-Bench-201-v1_1-096897.pth (or scripts/nasbench201.sh)",
    "nats_sss": "nasbench-db convert nats-sss NATS-sss-v1_0-50262-simple/ (or scripts/nats.sh)",
    "nds": "nasbench-db convert nds nds_data/ (or scripts/nds.sh)",
    "nlp": "nasbench-db convert nlp train_logs_single_run/logs.zip train_logs_multi_runs/logs.zip "
           "train_logs_wikitext-2/logs.zip (or scripts/nlp.sh)",
}
#: NNI's directories, searched after ours when NASBENCHMARK_DIR is unset (see :func:`search_dirs`).
NNI_LEGACY_DIR = "~/.nni/nasbenchmark"
#: NNI's NB-101 ``db_gen`` stores the final ``training_time`` x 60 (its bug: the file's value is already in seconds);
#: everything reading NNI's NB-101 file divides by this.
NNI_NB101_TIME_FACTOR = 60.0
DEFAULT_DIR = "~/.cache/nasbench_db"
SQLITE_BUSY_TIMEOUT_S = 30.0


def check_benchmark(benchmark: str) -> str:
    if benchmark not in FILE_NAMES:
        raise InvalidArgument(f"unknown benchmark {benchmark!r}: expected one of {', '.join(FILE_NAMES)}")
    return benchmark


def benchmark_dir(db_dir: str | os.PathLike | None = None) -> Path:
    """The directory of the SQLite files: ``db_dir`` if given, else ``$NASBENCHMARK_DIR``, else the default.

    Converters write here; readers also look in NNI's directories (:func:`search_dirs`)."""
    raw = db_dir if db_dir is not None else (os.environ.get("NASBENCHMARK_DIR") or DEFAULT_DIR)
    return Path(os.path.expanduser(os.fspath(raw)))


def nni_cache_dir() -> Path:
    """NNI 2.5+'s default benchmark directory: ``$NNI_HOME`` or ``${XDG_CACHE_HOME:-~/.cache}/nni``, then
    ``nasbenchmark`` (NNI's ``nni_cache_home()``, read at every call here)."""
    home = os.environ.get("NNI_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "nni")
    return Path(os.path.expanduser(home)) / "nasbenchmark"


def search_dirs(db_dir: str | os.PathLike | None = None) -> list[Path]:
    """Where readers look, in order. ``db_dir`` or ``$NASBENCHMARK_DIR`` when given (NNI reads that variable too);
    otherwise our default, then NNI's default (:func:`nni_cache_dir`), then NNI 1.x-2.4's ``~/.nni/nasbenchmark``."""
    if db_dir is not None or os.environ.get("NASBENCHMARK_DIR"):
        return [benchmark_dir(db_dir)]
    found = []
    for directory in (benchmark_dir(), nni_cache_dir(), Path(os.path.expanduser(NNI_LEGACY_DIR))):
        if directory not in found:
            found.append(directory)
    return found


def database_url() -> str | None:
    """``$NASBENCHMARK_DB_URL`` or None (the embedded SQLite default)."""
    return os.environ.get("NASBENCHMARK_DB_URL") or None


def database_path(benchmark: str, db_dir=None) -> Path:
    """Path of our SQLite file for ``benchmark`` (whether or not it exists)."""
    return benchmark_dir(db_dir) / FILE_NAMES[check_benchmark(benchmark)]


@dataclass(frozen=True)
class Location:
    """Where a benchmark's data is: ``kind`` is 'sqlite' (ours), 'nni' (NNI's prebuilt SQLite file) or 'url'."""

    benchmark: str
    kind: str
    target: str  # file path or database URL

    @property
    def layout(self) -> str:
        """'nni' for NNI's own files (NNI's tables and units), else 'nasbench_db'."""
        return "nni" if self.kind == "nni" else "nasbench_db"


def _candidates_of(benchmark: str, db_dir) -> list[tuple[str, str]]:
    """``(kind, path)`` of every file a reader may open for ``benchmark``, in search order."""
    nni_name = NNI_FILE_NAMES.get(benchmark)
    candidates = []
    for directory in search_dirs(db_dir):
        candidates.append(("sqlite", str(directory / FILE_NAMES[benchmark])))
        if nni_name:
            candidates.append(("nni", str(directory / nni_name)))
    return candidates


def has_our_tables(database) -> bool:
    """True for a file nasbench_db wrote (it has the provenance table), False for one of NNI's (same names or not)."""
    return bool(fetchall(database, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'nasbench_source'"))


def sniff_layout(path) -> str:
    """'nni' when the SQLite file at ``path`` holds NNI's tables only, else 'sqlite' (ours)."""
    try:
        connection = raw_sqlite_connect(path, readonly=True)
    except sqlite3.Error:
        return "sqlite"
    try:
        rows = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'nasbench_source'").fetchall()
    except sqlite3.DatabaseError:
        return "sqlite"  # not a database: opening it later reports that
    finally:
        connection.close()
    return "sqlite" if rows else "nni"


def locate(benchmark: str, db_dir=None) -> Location:
    """Find the installed database of ``benchmark`` or raise :class:`BenchmarkNotInstalled` saying how to install it."""
    check_benchmark(benchmark)
    url = database_url() if db_dir is None else None
    if url:
        return Location(benchmark, "url", url)
    for kind, path in _candidates_of(benchmark, db_dir):
        if os.path.isfile(path):
            if kind == "sqlite":
                kind = sniff_layout(path)
            return Location(benchmark, kind, path)
    nni_name = NNI_FILE_NAMES.get(benchmark)
    also = f" (nor NNI's {nni_name})" if nni_name else ""
    directories = search_dirs(db_dir)
    where = str(directories[0]) if len(directories) == 1 else \
        ", ".join(map(str, directories[:-1])) + " or " + str(directories[-1])
    raise BenchmarkNotInstalled(
        f"{DISPLAY_NAMES[benchmark]} is not installed: no {FILE_NAMES[benchmark]}{also} in {where}. "
        f"Set NASBENCHMARK_DIR to the directory that holds it, or build it: {INSTALL_HINTS[benchmark]}")


def sqlite_uri(path, **params) -> str:
    """The ``file:`` URI of ``path`` for ``sqlite3.connect(..., uri=True)`` with query ``params`` (``mode='ro'``).

    The one place such URIs are built: the path is made absolute and percent-encoded, so a directory named
    ``runs#2``, ``what?`` or ``100%`` opens the right file (unquoted, SQLite would read ``#`` / ``?`` as the start of
    the fragment / query and ``%xx`` as an escape, and open another file or none).
    """
    uri = "file:" + quote(os.path.abspath(os.fspath(path)), safe="/")
    if params:
        uri += "?" + "&".join(f"{key}={quote(str(value), safe='')}" for key, value in params.items())
    return uri


def sqlite_database(path, readonly: bool = False) -> peewee.SqliteDatabase:
    """A plain peewee ``SqliteDatabase`` (peewee 3 and 4); read-only opens use ``mode=ro`` and ``query_only``."""
    pragmas = {"cache_size": -64000, "mmap_size": 1 << 30}
    if readonly:
        pragmas["query_only"] = 1
        uri = sqlite_uri(path, mode="ro")
        return peewee.SqliteDatabase(uri, uri=True, pragmas=pragmas, timeout=SQLITE_BUSY_TIMEOUT_S,
                                     check_same_thread=False)
    pragmas["busy_timeout"] = int(SQLITE_BUSY_TIMEOUT_S * 1000)
    return peewee.SqliteDatabase(os.fspath(path), pragmas=pragmas, timeout=SQLITE_BUSY_TIMEOUT_S,
                                 check_same_thread=False)


#: URL schemes a database URL may use (PostgreSQL is the supported server; sqlite:/// names one file)
URL_SCHEMES = ("postgresql", "postgres", "sqlite")
#: a table that every database holding the benchmark has (checked when a server database is opened)
MARKER_TABLES = {"nb101": "nb101_trial", "nb201": "nb201trialstats", "nats_sss": "nats_sss_trialstats",
                 "nds": "ndstrialstats"}


def url_database(url: str) -> peewee.Database:
    """A peewee database for a ``db_url`` (``sqlite:///path``, ``postgresql://...``); an unsupported scheme or a
    missing driver is a named error saying what to do."""
    from urllib.parse import urlsplit

    from playhouse.db_url import connect

    scheme = urlsplit(url).scheme.lower().split("+", 1)[0]
    if scheme not in URL_SCHEMES:
        raise InvalidArgument(f"NASBENCHMARK_DB_URL {_redact(url)!r}: unsupported scheme {scheme!r}: use "
                              "postgresql://user@host/dbname, or unset NASBENCHMARK_DB_URL to use the SQLite files in "
                              "NASBENCHMARK_DIR")
    params = {}
    if scheme != "sqlite" and "options=" not in urlsplit(url).query:
        # PostgreSQL's JIT compiles any statement its planner thinks costly: the whole-benchmark aggregates of top-k
        # (1.5 of 4 s at full NB-101 scale) and, with the id-range joins' estimates, point queries (~90 ms each).
        # Our statements are key lookups or one pass over the runs: off for every connection (a URL's own
        # ``?options=...`` wins).
        params["options"] = "-c jit=off"
    try:
        return connect(url, **params)
    except peewee.ImproperlyConfigured as exc:
        raise MissingDependency(f"NASBENCHMARK_DB_URL {_redact(url)!r} needs a database driver ({exc}): pip install "
                                "'nasbench_db[postgres]'") from None


def server_error(exc: Exception, url: str) -> NasbenchDbError:
    """A clear error for a failure to reach the server of ``url`` (down, wrong host, port, user or database)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return NasbenchDbError(f"cannot reach the database server of NASBENCHMARK_DB_URL ({_redact(url)}): {first}. "
                           "Start the server or fix the URL, or unset NASBENCHMARK_DB_URL to use the SQLite files in "
                           "NASBENCHMARK_DIR")


def _check_server(database: peewee.Database, benchmark: str, url: str) -> None:
    """Connect now (a server that is down is an error here, not a traceback later) and check that ``benchmark``
    was converted into that database."""
    try:
        database.connect(reuse_if_open=True)
        tables = set(database.get_tables())
    except (peewee.OperationalError, peewee.InterfaceError) as exc:
        database.close()
        raise server_error(exc, url) from None
    marker = MARKER_TABLES.get(benchmark)
    if marker and marker not in tables:
        database.close()
        hint = INSTALL_HINTS.get(benchmark, "nasbench-db convert ...")
        raise BenchmarkNotInstalled(f"{DISPLAY_NAMES.get(benchmark, benchmark)} is not in the server database "
                                    f"{_redact(url)} (no {marker} table): convert it there, e.g. "
                                    f"NASBENCHMARK_DB_URL=... {hint}")


class _Handle:
    """An opened database plus the identity of the file it was opened on (to notice an atomic swap)."""

    def __init__(self, location: Location, database: peewee.Database, identity):
        self.location = location
        self.database = database
        self.identity = identity
        self.schema_cache: dict = {}


_handles: dict[tuple, _Handle] = {}
_handles_lock = threading.Lock()


_candidates: dict[tuple, list[tuple[str, Location]]] = {}


def _fast_location(benchmark: str, db_dir) -> tuple[Location, tuple | None]:
    """``locate`` for the hot path: paths are cached per environment, only the files are stat-ed (a file under our
    name is told apart from NNI's by :func:`open_benchmark`, once per opened file)."""
    environ = os.environ
    url = environ.get("NASBENCHMARK_DB_URL") if db_dir is None else None
    if url:
        return Location(benchmark, "url", url), None
    env_key = (benchmark, db_dir) if db_dir is not None else (benchmark, None, environ.get("NASBENCHMARK_DIR"))
    if env_key[-1] is None:  # NNI's directories are searched too: they depend on these
        env_key += (environ.get("HOME"), environ.get("NNI_HOME"), environ.get("XDG_CACHE_HOME"))
    candidates = _candidates.get(env_key)
    if candidates is None:
        # The Location objects too: building a frozen dataclass costs more than the stat below.
        candidates = [(path, Location(benchmark, kind, path))
                      for kind, path in _candidates_of(check_benchmark(benchmark), db_dir)]
        _candidates[env_key] = candidates
    for path, location in candidates:
        try:
            st = os.stat(path)
        except OSError:
            continue
        return location, (st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size)
    return locate(benchmark, db_dir), None  # raises BenchmarkNotInstalled with the full message


def open_benchmark(benchmark: str, db_dir=None) -> _Handle:
    """Open (or reuse) the read-only database of ``benchmark``; cheap to call on every query."""
    location, identity = _fast_location(benchmark, db_dir)
    key = (location.kind, location.target)
    handle = _handles.get(key)
    if handle is not None and handle.identity == identity:
        return handle
    with _handles_lock:
        handle = _handles.get(key)
        if handle is not None and handle.identity == identity:
            return handle
        if handle is not None:
            handle.database.close()
        if location.kind == "url":
            database = url_database(location.target)
            _check_server(database, benchmark, location.target)
        else:
            database = sqlite_database(location.target, readonly=True)
            if location.kind == "sqlite" and not has_our_tables(database):
                # NNI's own tables under our file name (NNI's nlp.db, NNI <= 2.4's nasbench101.db ...).
                location = Location(benchmark, "nni", location.target)
        handle = _Handle(location, database, identity)
        _handles[key] = handle
        return handle


def close_all() -> None:
    """Close every cached connection (tests, forks)."""
    with _handles_lock:
        for handle in _handles.values():
            handle.database.close()
        _handles.clear()


def table_names(database: peewee.Database) -> set[str]:
    return set(database.get_tables()) | set(v.name for v in database.get_views())


def paramstyle(sql: str, param: str) -> str:
    """Rewrite a statement written with '?' placeholders for a driver whose placeholder is ``param``.

    PostgreSQL drivers use '%s' and read every '%' as a placeholder marker, so literal ones (``t.id % 1024``) are
    doubled. Statements are written once, in SQLite's style, and pass through here for every other backend.
    """
    if param == "?":
        return sql
    return sql.replace("%", "%%").replace("?", param)


def fetchall(database: peewee.Database, sql: str, params=()) -> list:
    """Run one statement and return all rows (DB-API tuples). ``sql`` uses '?' placeholders on every backend."""
    return database.execute_sql(paramstyle(sql, database.param), params).fetchall()


def is_sqlite(database: peewee.Database) -> bool:
    return isinstance(database, peewee.SqliteDatabase)


def sqlite_readonly_uri(path) -> str:
    """``file:`` URI of a read-only open that creates no file: ``mode=ro``, plus ``immutable=1`` when no ``-wal`` /
    ``-journal`` lies beside the database (no writer is active: SQLite then takes no lock and creates no ``-wal`` /
    ``-shm``, even for a WAL-mode file). With a writer active, ``mode=ro`` alone reads its committed data."""
    path = os.path.abspath(os.fspath(path))
    uri = sqlite_uri(path, mode="ro")
    side = [path + suffix for suffix in ("-wal", "-journal")]
    if not any(os.path.exists(p) and os.path.getsize(p) > 0 for p in side):
        uri += "&immutable=1"
    return uri


def raw_sqlite_connect(path, readonly=True) -> sqlite3.Connection:
    """A bare ``sqlite3`` connection (used by bulk loaders and layout checks); a read-only one creates no side file
    (:func:`sqlite_readonly_uri`)."""
    if readonly:
        conn = sqlite3.connect(sqlite_readonly_uri(path), uri=True, timeout=SQLITE_BUSY_TIMEOUT_S)
        conn.execute("PRAGMA query_only = 1")
        return conn
    return sqlite3.connect(os.fspath(path), timeout=SQLITE_BUSY_TIMEOUT_S)


def describe(benchmark: str, db_dir=None) -> dict:
    """What is installed for ``benchmark``: location, layout, size and the provenance rows (no full-table scans)."""
    try:
        location = locate(benchmark, db_dir)
    except BenchmarkNotInstalled:
        return {"benchmark": benchmark, "name": DISPLAY_NAMES[benchmark], "installed": False, "location": None,
                "layout": None, "bytes": None, "sources": [], "install": INSTALL_HINTS[benchmark]}
    try:
        handle = open_benchmark(benchmark, db_dir)
    except BenchmarkNotInstalled:  # a server database without this benchmark
        return {"benchmark": benchmark, "name": DISPLAY_NAMES[benchmark], "installed": False, "location": None,
                "layout": None, "bytes": None, "sources": [], "install": INSTALL_HINTS[benchmark]}
    location = handle.location
    sources = []
    if "nasbench_source" in table_names(handle.database):
        keys = ("id", "kind", "file_name", "file_size", "sha256", "converter", "created_at", "row_counts", "device")
        if "device_kind" in {c.name for c in handle.database.get_columns("nasbench_source")}:
            keys += ("device_kind",)  # files from before device kinds were recorded lack it
        sql = f"SELECT {', '.join(keys)} FROM nasbench_source WHERE benchmark = ? ORDER BY id"
        for row in fetchall(handle.database, sql, (benchmark,)):
            entry = dict(zip(keys, row))
            entry["row_counts"] = _json_or_none(entry["row_counts"])
            sources.append(entry)
    size = os.path.getsize(location.target) if location.kind != "url" else None
    return {"benchmark": benchmark, "name": DISPLAY_NAMES[benchmark], "installed": True,
            "location": location.target if location.kind != "url" else _redact(location.target),
            "layout": location.layout, "bytes": size, "sources": sources, "install": None}


def has_source(benchmark: str, sha256: str | None = None, file_name: str | None = None, db_dir=None) -> dict | None:
    """The provenance row (as in :func:`describe`) of an original file already loaded into ``benchmark``, or None.

    A row matches by ``sha256`` when both it and the argument have one; a row without a sha256 (a converted
    directory) matches by ``file_name``. Used by the download scripts to skip a conversion already done.
    """
    if not sha256 and not file_name:
        raise InvalidArgument("has_source needs a sha256 or a file name")
    wanted = sha256.strip().lower() if sha256 else None
    for source in describe(benchmark, db_dir)["sources"]:
        if source["kind"] == "trained":  # released files only (the benchmark's own, HW-NAS-Bench, zero-cost...)
            continue
        if wanted and source["sha256"]:
            if source["sha256"].lower() == wanted:
                return source
        elif file_name and source["file_name"] == file_name:
            return source
    return None


def _json_or_none(text):
    import json

    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _redact(url: str) -> str:
    """Hide a password in a database URL."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
