"""Helpers shared by the NNI-compatible query functions: argument checks and statement caching."""

from __future__ import annotations

import re

import peewee

from .. import db as _db
from ..errors import InvalidArgument

REDUCTIONS = (None, "none", "mean")


def check_reduction(reduction) -> bool:
    """True for 'mean', False for None/'none'; anything else is a ValueError (as in NNI)."""
    if reduction is None or reduction == "none":
        return False
    if reduction == "mean":
        return True
    raise InvalidArgument(f"unsupported reduction {reduction!r}: expected None, 'none' or 'mean'")


def check_int(name: str, value, allowed=None):
    """None (wildcard) or an int, optionally one of ``allowed``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy

            if isinstance(value, numpy.integer):
                value = int(value)
            else:
                raise TypeError
        except (ImportError, TypeError):
            raise InvalidArgument(f"{name} must be an integer or None: got {value!r}") from None
    if allowed is not None and value not in allowed:
        raise InvalidArgument(f"{name} must be one of {', '.join(map(str, allowed))} (or None): got {value}")
    return value


def check_bool(name: str, value) -> bool:
    """A flag, read as NNI reads it where NNI's reading is unambiguous.

    NNI tests flags for truth (``if include_intermediates:``), so it takes ``1``, ``0`` and ``None`` too. Accepted
    here: bools (and numpy bools), integers (numpy too; 0 is False, any other is True) and None (False). Refused,
    because NNI answers them wrongly: strings (``'False'`` is true in NNI), floats, containers and other objects.
    """
    if value is True or value is False or value is None:
        return bool(value)
    if isinstance(value, int):
        return bool(value)
    try:
        import numpy

        if isinstance(value, (numpy.bool_, numpy.integer)):
            return bool(value)
    except ImportError:
        pass
    hint = " (a string is not a flag: NNI would read any non-empty one, 'False' too, as True)" \
        if isinstance(value, str) else ""
    raise InvalidArgument(f"{name} must be True or False (or 1 / 0): got {value!r}{hint}")


#: Text SQLite's numeric affinity turns into a number (surrounding whitespace allowed, no '_' or non-ASCII digits).
_NUMERIC_TEXT = re.compile(r"^[ \t\n\r\f\v]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r\f\v]*$")


def _is_float(value) -> bool:
    if isinstance(value, float):
        return True
    try:
        import numpy

        return isinstance(value, numpy.floating)
    except ImportError:
        return False


def check_epochs(name: str, value, allowed=None):
    """An epoch count as NNI's SQL comparison reads it: None (wildcard), an int, an integral float (``108.0``) or a
    numeric string (``'108'``, ``' 108 '``, ``'108.0'``), all normalised to an int.

    NNI passes the value to ``num_epochs == value`` and SQLite's numeric affinity makes those match. Refused, because
    NNI silently answers them wrongly (with nothing, or with the wrong rows): bools (``True`` is epoch 1),
    non-integral or non-finite floats, strings that are not a number, and anything else. ``allowed``: the budgets
    the caller knows (checked after normalising).
    """
    if value is None or type(value) is int and allowed is None:
        return value  # the common case, as check_int would answer it
    original = value
    if isinstance(value, str):
        if not _NUMERIC_TEXT.match(value):
            raise InvalidArgument(f"{name} must be an integer or None: got {original!r}")
        text = value.strip()
        # Long digit strings go through float (Python refuses int() beyond 4,300 digits); they end as 'not whole'.
        value = int(text) if text.lstrip("+-").isdigit() and len(text) < 20 else float(text)
    if _is_float(value):
        as_float = float(value)
        if not as_float.is_integer():
            raise InvalidArgument(f"{name} must be a whole number of epochs: got {original!r}")
        value = int(as_float)
    return check_int(name, value, allowed)


#: Source kinds (``nasbench_source.kind``): the released benchmark, ``nasbench-db train`` results, EC-NAS-Bench files.
SOURCE_KINDS = ("original", "trained", "ecnas")
#: Device kinds a ``source`` may name (``nasbench_source.device_kind``); 'gpu' is taken as 'cuda'.
DEVICE_KINDS = ("cpu", "cuda")
DEVICE_KIND_ALIASES = {"gpu": "cuda"}


def check_source(source):
    """``'original'`` (default: the released benchmark rows), ``None`` (every row), a source id, or a name: a source
    kind ('trained', 'ecnas'), a device kind ('cpu', 'cuda' / 'gpu'), a device name (case-insensitive) or a file
    name."""
    if source is None or type(source) is str and source == "original":
        return source
    if isinstance(source, int) and not isinstance(source, bool):
        return source
    if isinstance(source, str) and source.strip():
        source = source.strip()
        known = source.lower()  # kinds and device kinds in any case ('CPU', 'Original')
        return known if known in SOURCE_KINDS + DEVICE_KINDS or known in DEVICE_KIND_ALIASES else source
    raise InvalidArgument(f"source must be 'original', None (all rows), a source id or a name (a kind such as "
                          f"'trained', a device kind 'cpu' / 'cuda', a device or file name): got {source!r}")


#: Which ``nasbench_source`` rows a source name selects (parameters: :func:`_match_params`).
_SOURCE_MATCH = "kind = ? OR file_name = ? OR LOWER(device) = ? OR device_kind = ?"


def _match_params(source: str) -> list:
    low = source.lower()
    return [source, source, low, DEVICE_KIND_ALIASES.get(low, low)]


def placeholders(database, sql: str) -> str:
    """Rewrite '?' placeholders for ``database``'s driver (see :func:`nasbench_db.db.paramstyle`)."""
    return _db.paramstyle(sql, database.param)


#: peewee's translation of DB-API errors into its own classes (a module attribute in peewee 3 and 4).
_PEEWEE_ERRORS = getattr(peewee, "__exception_wrapper__")


def execute(database, sql: str, params):
    """Run a read statement (written with '?' placeholders) on the database's cached connection and return the
    cursor. On SQLite it goes straight to the sqlite3 connection, whose statement cache reuses the prepared statement
    of the same text; errors are peewee's, as from ``execute_sql``."""
    with _PEEWEE_ERRORS:
        if database.param == "?" and isinstance(database, peewee.SqliteDatabase):
            return database.connection().execute(sql, params)
        return database.execute_sql(_db.paramstyle(sql, database.param), params)


def original_source_ids(handle):
    """The ids of the ``'original'`` provenance rows of an opened SQLite file, read once per opened file (a changed
    file is a new handle); None on a server, whose rows can change under a long-lived reader."""
    if not _db.is_sqlite(handle.database):
        return None
    found = handle.schema_cache.get("original_sources")
    if found is None:
        rows = handle.database.execute_sql("SELECT id FROM nasbench_source WHERE kind = 'original' ORDER BY id")
        found = handle.schema_cache["original_sources"] = tuple(int(row[0]) for row in rows)
    return found


def source_filter(source, params: list, column: str = "t.source_id", handle=None) -> str:
    """SQL condition (with a leading AND) selecting rows of ``source`` (see :func:`check_source`); appends params.

    ``handle``: the opened database (:func:`nasbench_db.db.open_benchmark`), given for statements that read a few
    rows; on SQLite the released file's source ids are then written into the statement instead of a subquery run at
    every execution, on a server each row's source is looked up by its key."""
    if source is None:
        return ""
    if source == "original":
        ids = original_source_ids(handle) if handle is not None else None
        if ids:
            # Unary '+': a constant list on an unindexed column would let SQLite build an automatic index over the
            # whole run table at every execution (at full NB-101 scale, with sqlite_stat1, it does: seconds per
            # point query); the term is then only a filter on the rows the keys found.
            return f" AND +{column} IN ({', '.join(map(str, ids))})"
        if handle is not None:
            # A server's point query (a cell's runs): each run's source by its key. The subquery's semi-join
            # would add a relation to the join search, about half of the statement's planning time there.
            return _original_by_key(column)
        return _original_in_subquery(column)
    if isinstance(source, int):
        params.append(source)
        return f" AND {column} = ?"
    params.extend(_match_params(source))
    return f" AND {column} IN (SELECT id FROM nasbench_source WHERE {_SOURCE_MATCH})"


def original_filter(database, column: str = "t.source_id") -> str:
    """SQL condition (with a leading AND) selecting the released benchmark's rows, without parameters and without
    reading anything first (statements cached per query shape stay the same text).

    On SQLite a correlated lookup of the row's source by its primary key: cheaper per execution than the
    subquery's list, which SQLite rebuilds at every run, and it needs no read of the source ids beforehand (which
    would cost a statement on the first query of every opened file). On a server, the subquery (a hashed subplan)."""
    if _db.is_sqlite(database):
        return _original_by_key(column)
    return _original_in_subquery(column)


def _original_by_key(column: str) -> str:
    """SQL condition (with a leading AND): the row's source, looked up by its primary key, is a released file."""
    return f" AND (SELECT kind FROM nasbench_source WHERE id = {column}) = 'original'"


def _original_in_subquery(column: str) -> str:
    """SQL condition (with a leading AND): the row's source is among the released files' (a hashed subplan on a
    server, for statements over many rows)."""
    return f" AND {column} IN (SELECT id FROM nasbench_source WHERE kind = 'original')"


def check_source_exists(database, benchmark: str, source) -> None:
    """Raise :class:`InvalidArgument` listing the installed sources when ``source`` names none of them.

    'original', None, the source kinds and device kinds are always accepted (a query for them may find nothing);
    any other name or id must match a provenance row of ``benchmark``. One small query, run only for such names.
    """
    if source is None or source == "original":
        return
    if isinstance(source, str) and (source.lower() in SOURCE_KINDS + DEVICE_KINDS or
                                    source.lower() in DEVICE_KIND_ALIASES):
        return
    if isinstance(source, int):
        sql, params = "SELECT 1 FROM nasbench_source WHERE benchmark = ? AND id = ?", [benchmark, source]
    else:
        sql, params = (f"SELECT 1 FROM nasbench_source WHERE benchmark = ? AND ({_SOURCE_MATCH})",
                       [benchmark, *_match_params(source)])
    if database.execute_sql(placeholders(database, sql + " LIMIT 1"), params).fetchone():
        return
    raise InvalidArgument(f"no {benchmark} source matches {source!r}: {describe_sources(database, benchmark)}")


def describe_sources(database, benchmark: str) -> str:
    """One line naming the installed sources of ``benchmark`` and how to select them (for error messages)."""
    # One entry per file, but one per device for training results (each result is a source of its own).
    name = "CASE WHEN kind = 'trained' THEN NULL ELSE file_name END"
    sql = (f"SELECT kind, device, device_kind, {name}, COUNT(*) FROM nasbench_source WHERE benchmark = ? "
           f"GROUP BY kind, device, device_kind, {name} ORDER BY MIN(id)")
    rows = database.execute_sql(placeholders(database, sql), [benchmark]).fetchall()
    if not rows:
        return "none is installed"
    parts = []
    for kind, device, device_kind, file_name, count in rows:
        if kind == "trained":
            parts.append(f"'trained' ({count} results on {device_kind or '?'} device {device!r})")
        elif kind == "original":
            parts.append(f"'original' ({file_name})")
        else:
            parts.append(f"{kind!r} ({file_name}" + (f" on {device!r}, {device_kind})" if device else ")"))
    return ("installed: " + "; ".join(parts) + ". Name a kind, a device kind (cpu, cuda), a device or file name, "
            "a source id, or None for every source")


