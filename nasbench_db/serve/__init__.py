"""``nasbench-db serve``: every installed benchmark, read-only, in a web page and as JSON / CSV (Datasette).

:func:`build_datasette` finds the installed SQLite files (``NASBENCHMARK_DIR`` or ``db_dir``, NNI's prebuilt files
too), reads what each holds, and configures a Datasette instance from the models:

* metadata: each table's and column's meaning and unit from the model docstrings (:mod:`.metadata`), facets by
  dataset / epoch budget / source, provenance rows labelled by file name;
* canned queries: top-k under bounds, Pareto fronts, rank correlation, a cell by any encoding (:mod:`.queries`);
* the plugin (:mod:`.plugin`): the cell page ``/<database>/-/cell/<key>`` (graph, runs per source, learning curves,
  costs, proxies: :mod:`.cells` reads, :mod:`.pages` draws) and the correlation page (Kendall and Spearman via scipy).

Read-only always: files are opened immutable (``?immutable=1``: no lock, no journal, nothing written), every served
connection has an authorizer that allows reading only (no ``ATTACH``, no ``PRAGMA`` that sets anything, no write, no
``load_extension``), no canned query writes, the database files cannot be downloaded, and every statement stops at
``sql_time_limit_ms``. Immutable readers assume the file does not change: loading data into a served file in place
(``convert hw-nasbench``, ``zc``, ``results``, ``ecnas``) needs the service stopped, and a swapped-in file is seen
after a restart.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from .. import db as _db
from ..errors import BenchmarkNotInstalled, MissingDependency, NasbenchDbError
from .metadata import table_metadata
from .queries import Served, canned_queries, space_of

PLUGIN_NAME = "nasbench-db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
#: A statement running longer is interrupted (HTTP 400 "SQL query took too long"). Datasette's own default is 1 s;
#: NB-101's canned queries average the runs of every cell at a budget (423,624 cells), which takes about a second on
#: an idle machine (more under load), so the service allows a few.
DEFAULT_SQL_TIME_LIMIT_MS = 5000
INSTALL_HINT = "pip install 'nasbench_db[serve]'"
POSTGRES_MESSAGE = (
    "the browser serves SQLite files only, and NASBENCHMARK_DB_URL points at a database server ({url}). Serve "
    "the SQLite files instead (unset NASBENCHMARK_DB_URL, or pass --db-dir DIR / set NASBENCHMARK_DIR to their "
    "directory), and query the server with 'nasbench-db sql' or the Python API.")


def require_datasette():
    """The ``datasette`` package, or :class:`MissingDependency` saying how to install it."""
    try:
        import datasette  # noqa: F401
        from datasette.app import Datasette
    except ImportError:
        raise MissingDependency(f"nasbench-db serve needs Datasette: {INSTALL_HINT}") from None
    return Datasette


def immutable_connect(path) -> sqlite3.Connection:
    """A connection that cannot write and writes nothing (no lock, no -wal / -shm file): ``immutable=1``."""
    uri = "file:" + quote(os.path.abspath(os.fspath(path))) + "?immutable=1"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def _inspect(location: _db.Location) -> Served:
    path = location.target
    served = Served(name=Path(path).stem, benchmark=location.benchmark, layout=location.layout, path=path)
    try:
        conn = immutable_connect(path)
    except sqlite3.Error as exc:
        raise NasbenchDbError(f"{path}: cannot open the database ({exc})") from None
    try:
        names = conn.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
                             "AND name NOT LIKE 'sqlite_autoindex%'").fetchall()
        served.views = frozenset(name for name, kind in names if kind == "view")
        for name, _ in names:
            columns = conn.execute("SELECT name FROM pragma_table_info(?)", (name,)).fetchall()
            served.tables[name] = frozenset(c[0] for c in columns)
        if "nasbench_source" in served.tables:
            proxies: list = []
            keys = ("id", "kind", "file_name", "device")
            for row in conn.execute(f"SELECT {', '.join(keys)}, details FROM nasbench_source ORDER BY id"):
                served.sources.append(dict(zip(keys, row[:-1])))
                if row[1] == "zc":
                    try:
                        details = json.loads(row[-1] or "{}")
                    except ValueError:
                        details = {}
                    proxies.extend(p for p in details.get("proxies", []) if isinstance(p, str) and p not in proxies)
            served.proxies = tuple(proxies)
    except sqlite3.DatabaseError as exc:
        raise NasbenchDbError(f"{path}: not a readable SQLite database ({exc}); convert the benchmark's original "
                              f"file again: {_db.INSTALL_HINTS[location.benchmark]}") from None
    finally:
        conn.close()
    return served


def discover(db_dir=None) -> list[Served]:
    """Every installed benchmark's SQLite file, inspected; :class:`NasbenchDbError` when none or on a server."""
    url = _db.database_url() if db_dir is None else None
    if url:
        raise NasbenchDbError(POSTGRES_MESSAGE.format(url=_db._redact(url)))
    found, names = [], set()
    for benchmark in _db.FILE_NAMES:
        try:
            location = _db.locate(benchmark, db_dir)
        except BenchmarkNotInstalled:
            continue
        served = _inspect(location)
        stem, i = served.name, 2
        while served.name in names:  # two files with the same stem in different directories: Datasette's naming
            served.name = f"{stem}_{i}"
            i += 1
        names.add(served.name)
        found.append(served)
    if not found:
        where = ", ".join(str(d) for d in _db.search_dirs(db_dir))
        raise BenchmarkNotInstalled(
            f"no benchmark database to serve in {where}. Set NASBENCHMARK_DIR (or --db-dir) to the directory of "
            "the .db files, or build one, e.g. nasbench-db convert nb101 --sample")
    return found


def fingerprint(served: Served) -> str:
    """A stand-in for Datasette's content hash of an immutable file (which would read the whole file): sha256 of
    the file's name, size, modification time and provenance rows. Used for the database's colour and ETag."""
    stat = os.stat(served.path)
    text = json.dumps([os.path.abspath(served.path), stat.st_size, stat.st_mtime_ns, served.sources], default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _database_description(served: Served) -> str:
    name = _db.DISPLAY_NAMES[served.benchmark]
    parts = [f"{name}" + (" (NNI's prebuilt file: NNI's tables and units)" if served.layout == "nni" else "")]
    loaded = [f"{s['file_name']} ({s['kind']}{', ' + s['device'] if s.get('device') else ''})"
              for s in served.sources if s["kind"] != "trained"]
    trained = sum(1 for s in served.sources if s["kind"] == "trained")
    if loaded:
        parts.append("Loaded from " + "; ".join(loaded) + ".")
    if trained:
        parts.append(f"Plus {trained} self-trained result(s) (source kind 'trained').")
    if served.proxies:
        parts.append("Zero-cost proxies: " + ", ".join(served.proxies) + ".")
    if any(s["kind"] == "hw-nasbench" for s in served.sources):
        parts.append("HW-NAS-Bench costs in hw_nb201_metric (latency ms, energy mJ).")
    parts.append("Released runs are kind 'original'; facets by dataset, num_epochs and source_id.")
    return " ".join(parts)


def _index_html(served_list: list, prefix: str = "/") -> str:
    from .pages import index_description

    return index_description(served_list, prefix)


def build_metadata(served_list: list, allow_sql: bool = True) -> dict:
    """The Datasette metadata of the served files (JSON-serialisable)."""
    databases: dict = {}
    plugin: dict = {"databases": {}}
    for served in served_list:
        entry: dict = {"description": _database_description(served),
                       "tables": table_metadata(served.benchmark, served.tables)}
        queries = canned_queries(served)
        if queries:
            entry["queries"] = queries
        databases[served.name] = entry
        space = space_of(served)
        plugin["databases"][served.name] = {
            "benchmark": served.benchmark, "layout": served.layout,
            "cell_key": space.cell_key if space is not None else None,
            "tables": sorted(set(served.tables) - served.views), "views": sorted(served.views),
        }
    metadata = {
        "title": "nasbench_db",
        "description_html": _index_html(served_list),
        "about": "nasbench_db: NAS benchmark results as SQL tables",
        "databases": databases,
        "plugins": {PLUGIN_NAME: plugin},
    }
    if not allow_sql:
        metadata["allow_sql"] = False
    return metadata


def settings(sql_time_limit_ms: int = DEFAULT_SQL_TIME_LIMIT_MS) -> dict:
    return {
        "sql_time_limit_ms": int(sql_time_limit_ms),
        "allow_download": False,  # the files themselves are not handed out (GBs; the service answers queries)
        "default_page_size": 100,
        "max_returned_rows": 1000,
        "suggest_facets": False,  # each suggestion is a query on every table page; the facets are configured
        "facet_time_limit_ms": 500,
    }


def register_plugin() -> None:
    """Register :mod:`.plugin` with Datasette's plugin manager (once per process)."""
    from datasette.plugins import pm

    from . import plugin

    if not pm.is_registered(plugin):
        pm.register(plugin, name=PLUGIN_NAME)


def build_datasette(db_dir=None, *, sql_time_limit_ms: int = DEFAULT_SQL_TIME_LIMIT_MS, allow_sql: bool = True,
                    served: list | None = None):
    """A configured, read-only Datasette instance over every installed benchmark (not started)."""
    Datasette = require_datasette()
    if sql_time_limit_ms is None or int(sql_time_limit_ms) < 1:
        raise NasbenchDbError(f"the SQL time limit must be at least 1 ms: got {sql_time_limit_ms}")
    served = discover(db_dir) if served is None else served
    register_plugin()
    paths = [s.path for s in served]
    ds = Datasette(immutables=paths, metadata=build_metadata(served, allow_sql),
                   settings=settings(sql_time_limit_ms))
    by_path = {os.path.abspath(s.path): s for s in served}
    for name, database in list(ds.databases.items()):
        entry = by_path.get(os.path.abspath(database.path or ""))
        if entry is None:
            continue
        if name != entry.name:  # Datasette numbers clashing names its own way: follow it
            raise NasbenchDbError(f"internal: Datasette named {database.path} {name!r}, expected {entry.name!r}")
        database.cached_hash = fingerprint(entry)
    return ds


def run(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, db_dir=None, *,
        sql_time_limit_ms: int = DEFAULT_SQL_TIME_LIMIT_MS, allow_sql: bool = True, on_ready=None,
        served: list | None = None) -> None:
    """Serve until interrupted (uvicorn, as ``datasette serve`` does)."""
    ds = build_datasette(db_dir, sql_time_limit_ms=sql_time_limit_ms, allow_sql=allow_sql, served=served)
    import asyncio

    import uvicorn

    asyncio.run(ds.invoke_startup())
    if on_ready is not None:
        on_ready(ds)
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on")


__all__ = ["build_datasette", "build_metadata", "discover", "run", "Served"]
