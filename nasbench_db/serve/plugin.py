"""The Datasette plugin of ``nasbench-db serve`` (registered by :func:`nasbench_db.serve.register_plugin`).

Hooks act only on the databases named in the instance's ``plugins.nasbench-db`` metadata, so another Datasette
instance in the same process is left alone.

* ``prepare_connection``: a read-only authorizer on every connection to a served file, and the SQL functions
  ``nb201_index(text)``, ``nb101_hash(text)``, ``nats_sss_index(text)`` (any encoding -> the key, NULL if it is none),
  plus ``sqrt`` where SQLite was built without its math functions;
* ``asgi_wrapper``: every request but GET / HEAD is answered 405 (no write endpoint, whatever Datasette offers), and
  every request 503 once a served file changed on disk (immutable readers must not read a file being rewritten);
* ``register_routes``: ``/<database>/-/cell/<key>`` (also ``?arch=``; ``.json`` and ``.csv``) and
  ``/<database>/-/correlation`` (also ``.json`` and ``.csv``), ``/<database>/-/pareto`` (also ``.json``);
* ``render_cell``: an architecture's key in any table or query links to its cell page.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sqlite3
import threading
import weakref
from urllib.parse import quote, unquote

from datasette import Response, hookimpl
from datasette.database import QueryInterrupted
from markupsafe import Markup, escape

from .. import db as _db
from ..errors import NasbenchDbError, OutOfSearchSpace
from . import cells, pages
from .queries import Served, choices, pairs_sql, pareto_sql, space_of

PLUGIN_NAME = "nasbench-db"

# --------------------------------------------------------------------------------------------------------------------
# read-only authorizer

#: Pragmas that only read, allowed without an argument (a value would set them).
READ_PRAGMAS = frozenset({"schema_version", "page_size", "page_count", "max_page_count", "freelist_count",
                          "encoding", "user_version", "application_id", "data_version", "database_list",
                          "function_list", "module_list", "pragma_list", "collation_list", "compile_options",
                          "table_list"})
#: Pragmas that read about a named table or index (their argument is the name).
TABLE_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                           "foreign_key_list"})
#: Functions that reach outside the database (files, extensions) or change how SQLite parses: never callable.
DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "zipfile",
                              "sqlar_compress", "sqlar_uncompress", "shell_add_schema", "sqlite_dbpage"})
_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, getattr(sqlite3, "SQLITE_RECURSIVE", 33)}


def authorizer(action, arg1, arg2, database, trigger):
    """Allow reading only: SELECT, reading columns, recursive CTEs, harmless functions and read-only pragmas.
    Everything else (writes, schema changes, ATTACH / DETACH, transactions, savepoints, ANALYZE, pragmas that set a
    value, extension loading) is denied: the statement fails to prepare and nothing runs."""
    if action in _ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and arg1 in ("sqlite_master", "sqlite_schema") and database == "main":
        # SQLite reports declaring a pragma function's virtual table (pragma_table_info(...)) as an update of the
        # schema table's columns. Nothing can write that table: no writable_schema, and the file is immutable.
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA:
        name = (arg1 or "").lower()
        if name in TABLE_PRAGMAS or (name in READ_PRAGMAS and arg2 is None):
            return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


_CONFIGS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _config(datasette) -> dict:
    """The served databases of this Datasette instance (read once: render_cell runs for every cell of a page)."""
    config = _CONFIGS.get(datasette)
    if config is None:
        config = (datasette.plugin_config(PLUGIN_NAME) or {}).get("databases", {})
        _CONFIGS[datasette] = config
    return config


#: What a read-only service answers: nothing else reaches Datasette (its few POST endpoints are debugging and login
#: tools, and a POST to a canned query would run it outside the page's own checks).
READ_METHODS = ("GET", "HEAD")


def _identity(path):
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


async def _plain(send, status: int, text: str, headers=()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), *headers]})
    await send({"type": "http.response.body", "body": text.encode()})


def _no_view_count(scope, views):
    """A view's page without its row count (``_nocount=1``): counting NNI's NB-101 run view means joining millions of
    runs on every page view, until the SQL time limit. Tables have their counts counted once (:func:`count_rows`)."""
    parts = scope.get("path", "").strip("/").split("/")
    if len(parts) != 2:
        return scope
    database, name = parts
    for suffix in (".json", ".csv"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if (unquote(database), unquote(name)) not in views:
        return scope
    query = scope.get("query_string", b"")
    if b"_nocount=" in query:
        return scope
    return dict(scope, query_string=query + (b"&" if query else b"") + b"_nocount=1")


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        if not _config(datasette):
            return app

        views = {(name, view) for name, config in _config(datasette).items() for view in config.get("views", [])}
        files = {database.path: _identity(database.path) for name, database in datasette.databases.items()
                 if name in _config(datasette)}

        async def read_only(scope, receive, send):
            if scope.get("type") == "http" and views:
                scope = _no_view_count(scope, views)
            changed = [path for path, identity in files.items() if _identity(path) != identity] \
                if scope.get("type") == "http" else []
            if changed:  # immutable readers must not read a file that is being rewritten: refuse until a restart
                await _plain(send, 503, f"503 Service Unavailable: {changed[0]} changed on disk since the service "
                                        "started (a conversion or an ingestion into it?). Restart nasbench-db serve.\n")
                return
            if scope.get("type") == "http" and scope.get("method", "GET").upper() not in READ_METHODS:
                await _plain(send, 405, "405 Method Not Allowed: this service is read-only (GET and HEAD only)\n",
                             [(b"allow", ", ".join(READ_METHODS).encode())])
                return
            await app(scope, receive, send)

        return read_only

    return wrap


#: Longest a background row count of one table or view may run (the full NB-201 per-epoch table: a few seconds).
COUNT_LIMIT_S = 60.0


def count_rows(datasette) -> None:
    """Count the rows of every served table and view once, into Datasette's ``inspect_data``: a table page then
    shows its count at once instead of counting millions of rows (up to the SQL time limit) on every view. Runs in
    a background thread on connections of its own (immutable, read-only authorizer); a count past
    :data:`COUNT_LIMIT_S` is left to Datasette."""
    import time

    from . import immutable_connect

    for name, config in _config(datasette).items():
        database = datasette.databases.get(name)
        if database is None:
            continue
        counts = {}
        conn = immutable_connect(database.path)
        try:
            conn.set_authorizer(authorizer)
            for table in config.get("tables", []):
                deadline = time.monotonic() + COUNT_LIMIT_S
                conn.set_progress_handler(lambda: time.monotonic() > deadline, 100_000)
                try:
                    counts[table] = {"count": conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]}
                except sqlite3.Error:
                    break  # Datasette lists a database's tables from these counts: all of them or none
            else:
                # Published whole (Datasette 0.65 reads inspect_data's tables as the table list), then the
                # database's own cache is dropped so its next look reads them.
                datasette.inspect_data[name] = {"hash": database.hash, "size": database.size,
                                                "file": database.path, "tables": counts}
                database._cached_table_counts = None
        finally:
            conn.close()


@hookimpl
def startup(datasette):
    if not _config(datasette):
        return
    if datasette.inspect_data is None:
        datasette.inspect_data = {}
    threading.Thread(target=count_rows, args=(datasette,), name="nasbench-db row counts", daemon=True).start()
    try:  # the correlation page's scipy: imported once now (1-3 s) rather than on a user's first request
        import scipy.stats  # noqa: F401
    except ImportError:
        pass


@hookimpl
def prepare_connection(conn, database, datasette):
    config = _config(datasette).get(database)
    if config is None:
        return
    conn.set_authorizer(authorizer)
    for name, parse in (("nb201_index", cells.nb201_index), ("nb101_hash", cells.nb101_hash),
                        ("nats_sss_index", cells.nats_sss_index)):
        conn.create_function(name, 1, cells.sql_function(parse), deterministic=True)
    try:
        conn.execute("SELECT sqrt(4)").fetchone()
    except sqlite3.OperationalError:  # SQLite built without SQLITE_ENABLE_MATH_FUNCTIONS
        conn.create_function("sqrt", 1, lambda x: math.sqrt(x) if x is not None and x >= 0 else None,
                             deterministic=True)


# --------------------------------------------------------------------------------------------------------------------
# cell links


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    config = _config(datasette).get(database)
    if config is None or value is None or config.get("layout") == "nni":
        return None
    linked = column == config.get("cell_key") or (table == "nb201_arch" and column == "id") or (
        config["benchmark"] == "nb201" and column == "unique_index")
    if config["benchmark"] == "nb101" and column != "hash":
        linked = False
    if not linked or config["benchmark"] not in ("nb201", "nb101"):
        return None
    href = datasette.urls.path(f"/{quote(database)}/-/cell/{quote(str(value), safe='')}")
    return Markup(f'<a href="{escape(href)}">{escape(str(value))}</a>')


# --------------------------------------------------------------------------------------------------------------------
# pages


@hookimpl
def register_routes():
    return [
        (r"^/(?P<database>[^/]+)/-/cell(?:/(?P<key>.+?))?(?P<format>\.json|\.csv)?$", cell_view),
        (r"^/(?P<database>[^/]+)/-/correlation(?P<format>\.json|\.csv)?$", correlation_view),
        (r"^/(?P<database>[^/]+)/-/pareto(?P<format>\.json)?$", pareto_view),
    ]


class _NotServed(Exception):
    pass


def _served(datasette, request) -> tuple:
    name = request.url_vars["database"]
    config = _config(datasette).get(name)
    if config is None or name not in datasette.databases:
        raise _NotServed(f"no benchmark database named {name!r} is served here")
    served = Served(name=name, benchmark=config["benchmark"], layout=config["layout"],
                    path=datasette.databases[name].path)
    return served, config, datasette.databases[name]


def _executor(database):
    async def execute(sql, params=()):
        results = await database.execute(sql, params if isinstance(params, dict) else list(params))
        return [dict(zip(results.columns, row)) for row in results.rows]

    return execute


async def _page(datasette, request, title, body, database=None, status=200):
    template = datasette.jinja_env.from_string(pages.PAGE_TEMPLATE)
    html = await datasette.render_template(template, {"title": title, "body": body, "database": database,
                                                      "style": Markup(pages.STYLE)}, request=request)
    return Response.html(html, status=status)


async def _error(datasette, request, status, title, message, fmt=None, database=None, form=None):
    if fmt == ".json":
        return Response.json({"ok": False, "error": message, "status": status}, status=status)
    if fmt == ".csv":
        return Response.text(f"Error: {message}\n", status=status)
    return await _page(datasette, request, title, pages.error_body(title, message, form), database, status)


_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


async def _tables(database) -> dict:
    """``{table or view: columns}`` of a served (immutable) file, read once."""
    out = _TABLES.get(database)
    if out is None:
        rows = await database.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        out = {}
        for (name,) in rows.rows:
            columns = await database.execute("SELECT name FROM pragma_table_info(?)", [name])
            out[name] = frozenset(row[0] for row in columns.rows)
        _TABLES[database] = out
    return out


async def cell_view(datasette, request):
    fmt = request.url_vars.get("format")
    try:
        served, config, database = _served(datasette, request)
    except _NotServed as exc:
        return await _error(datasette, request, 404, "Not found", str(exc), fmt)
    key = request.url_vars.get("key")
    key = unquote(key) if key else request.args.get("arch")  # the route matches the raw, still quoted path
    benchmark = served.benchmark
    form = None
    if benchmark in pages.PLACEHOLDERS:
        form = pages.cell_form(datasette.urls.path(f"/{quote(served.name)}/-/cell"), "Another cell:",
                               pages.PLACEHOLDERS[benchmark])
    if benchmark not in ("nb201", "nb101") or served.layout == "nni":
        what = "NNI's prebuilt file" if served.layout == "nni" else _db.DISPLAY_NAMES[benchmark]
        return await _error(datasette, request, 404, "No cell pages here",
                            f"cell pages cover NB-201 and NB-101 in nasbench_db's own files, not {what}: convert the "
                            "benchmark's original file (nasbench-db convert ...)", fmt, served.name)
    if not key:
        return await _error(datasette, request, 400, "Which cell?", "pass a cell: /-/cell/<key> or ?arch=<key> (an "
                            "index or arch string for NB-201, a hash or {\"matrix\", \"ops\"} JSON for NB-101)",
                            fmt, served.name, form)
    tables = await _tables(database)
    try:
        if benchmark == "nb201":
            cell = await cells.nb201_cell(_executor(database), tables, key)
        else:
            cell = await cells.nb101_cell(_executor(database), tables, key)
    except (OutOfSearchSpace, ValueError) as exc:
        return await _error(datasette, request, 400, "Not a cell of this space", str(exc), fmt, served.name, form)
    except NasbenchDbError as exc:
        return await _error(datasette, request, 500, "Error", str(exc), fmt, served.name, form)
    own_key = cell.get("index", cell.get("hash"))
    base = f"/{quote(served.name)}/-/cell"

    def cell_url(other=None):
        return datasette.urls.path(f"{base}/{quote(str(own_key if other is None else other), safe='')}")

    if fmt == ".json":
        return Response.json({"ok": True, "database": served.name, "benchmark": benchmark, **cell}, default=str)
    if fmt == ".csv":
        return Response(_runs_csv(cell.get("runs", [])), content_type="text/csv; charset=utf-8")
    database_url = datasette.urls.database(served.name)
    if benchmark == "nb201":
        body = pages.nb201_body(cell, database_url, cell_url)
        title = f"NB-201 cell {cell['index']}"
    else:
        body = pages.nb101_body(cell, database_url, cell_url)
        title = f"NB-101 cell {cell['hash']}"
    status = 200 if cell.get("found", True) else 404
    return await _page(datasette, request, title, Markup(str(body) + str(form or "")), served.name, status)


def _runs_csv(runs) -> str:
    """Dict rows as CSV (columns in order of first appearance)."""
    buffer = io.StringIO()
    columns = []
    for run in runs:
        columns.extend(key for key in run if key not in columns)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for run in runs:
        writer.writerow(["" if run.get(c) is None else run.get(c) for c in columns])
    return buffer.getvalue()


async def _space(served, database):
    """The canned queries' spec of a served database (its tables and proxies read from the file)."""
    served.tables = await _tables(database)
    proxies = []
    if "nasbench_source" in served.tables:
        rows = await database.execute("SELECT details FROM nasbench_source WHERE kind = 'zc'")
        for (details,) in rows.rows:
            try:
                proxies.extend(p for p in json.loads(details or "{}").get("proxies", []) if isinstance(p, str))
            except ValueError:
                pass
    served.proxies = tuple(dict.fromkeys(proxies))
    served.sources = [{"kind": row[0]} for row in (await database.execute(
        "SELECT kind FROM nasbench_source")).rows] if "nasbench_source" in served.tables else []
    return space_of(served)


async def _space_page(datasette, request, fmt, missing_title, missing_text, extra_names):
    """The common start of the Pareto and correlation pages: ``(error response, None)``, or ``(None, (served,
    database, space, params))`` with ``params`` the space's parameters and ``extra_names`` from the query string.
    ``missing_text`` is formatted with the database's ``name`` when it has no benchmark tables."""
    try:
        served, _, database = _served(datasette, request)
    except _NotServed as exc:
        return await _error(datasette, request, 404, "Not found", str(exc), fmt), None
    space = await _space(served, database)
    if space is None:
        return await _error(datasette, request, 404, missing_title, missing_text.format(name=served.name), fmt,
                            served.name), None
    names = [name for name, _ in space.params] + list(extra_names)
    return None, (served, database, space, {name: request.args.get(name, "") for name in names})


async def _sql_error(datasette, request, exc, fmt, name):
    """The page answering a statement that failed or passed the service's time limit."""
    if isinstance(exc, QueryInterrupted):
        return await _error(datasette, request, 400, "Query took too long",
                            "SQL query took too long (the service's time limit)", fmt, name)
    return await _error(datasette, request, 400, "Query failed", str(exc), fmt, name)


async def pareto_view(datasette, request):
    """Every config as a point of a metric against a cost, the Pareto front drawn over them, and its rows."""
    fmt = request.url_vars.get("format")
    error, found = await _space_page(datasette, request, fmt, "No Pareto fronts here",
                                     "{name} has no benchmark tables", ("cost", "metric", "order"))
    if error is not None:
        return error
    served, database, space, params = found
    try:
        front = await _executor(database)(pareto_sql(space), params)
        pairs = await database.execute(pairs_sql(space), {**{n: params[n] for n, _ in space.params},
                                                          "x": params["cost"] or space.default_cost,
                                                          "y": params["metric"] or space.default_metric})
    except (QueryInterrupted, sqlite3.Error) as exc:
        return await _sql_error(datasette, request, exc, fmt, served.name)
    points = [(row[1], row[2]) for row in pairs.rows]
    if fmt == ".json":
        return Response.json({"ok": True, "database": served.name, "params": params, "configs": len(points),
                              "front": front}, default=str)
    columns = list(front[0]) if front else []
    base = datasette.urls.database(served.name)
    body = pages.pareto_body(served.name, params, points, front, columns,
                             pages.urlencoded(f"{base}/pareto", params),
                             pages.urlencoded(datasette.urls.path(f"/{quote(served.name)}/-/pareto.json"), params),
                             choices(space, served))
    return await _page(datasette, request, f"Pareto front: {served.name}", body, served.name)


async def correlation_view(datasette, request):
    """Kendall's tau and Spearman's rho (scipy) of two columns over the configs of a served database."""
    fmt = request.url_vars.get("format")
    error, found = await _space_page(datasette, request, fmt, "No correlations here",
                                     "{name} has no benchmark tables to correlate", ("x", "y"))
    if error is not None:
        return error
    served, database, space, params = found
    result = None
    if any(params.values()) or fmt in (".json", ".csv"):
        try:
            from ..analysis import rank_correlation

            rows = await database.execute(pairs_sql(space), params)
            x_name = params["x"] or space.default_metric
            y_name = params["y"] or space.default_y
            values = list(rows.rows)
            result = {"x": x_name, "y": y_name,
                      **rank_correlation([r[1] for r in values], [r[2] for r in values])}
        except NasbenchDbError as exc:  # scipy missing
            return await _error(datasette, request, 500, "Correlation unavailable", str(exc), fmt, served.name)
        except (QueryInterrupted, sqlite3.Error) as exc:
            return await _sql_error(datasette, request, exc, fmt, served.name)
    if fmt == ".json":
        return Response.json({"ok": True, "database": served.name, "params": params, **(result or {})})
    if fmt == ".csv":
        return Response(_runs_csv([result] if result else []), content_type="text/csv; charset=utf-8")
    base = datasette.urls.database(served.name)
    query_url = pages.urlencoded(f"{base}/correlation", params)
    json_url = pages.urlencoded(datasette.urls.path(f"/{quote(served.name)}/-/correlation.json"), params)
    body = pages.correlation_body(served.name, params, result, query_url, json_url, choices(space, served))
    return await _page(datasette, request, f"Correlation: {served.name}", body, served.name)
