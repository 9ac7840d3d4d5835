"""Helpers shared by the NNI-compatible query functions: argument checks and statement caching."""

from __future__ import annotations

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
    if not isinstance(value, bool):
        try:
            import numpy

            if isinstance(value, numpy.bool_):
                return bool(value)
        except ImportError:
            pass
        raise InvalidArgument(f"{name} must be True or False: got {value!r}")
    return value


def check_source(source):
    """``'original'`` (default: the released benchmark rows), ``None`` (every row) or a source name / id."""
    if source is None or isinstance(source, (str, int)) and not isinstance(source, bool):
        return source
    raise InvalidArgument(f"source must be 'original', None (all rows), a source id or a device/file name: "
                          f"got {source!r}")


def placeholders(database, sql: str) -> str:
    """Rewrite '?' placeholders for ``database``'s driver (see :func:`nasbench_db.db.paramstyle`)."""
    return _db.paramstyle(sql, database.param)


def source_filter(source, params: list, column: str = "t.source_id") -> str:
    """SQL condition (with a leading AND) selecting rows of ``source`` (see :func:`check_source`); appends params."""
    if source is None:
        return ""
    if source == "original":
        return f" AND {column} IN (SELECT id FROM nasbench_source WHERE kind = 'original')"
    if isinstance(source, int):
        params.append(source)
        return f" AND {column} = ?"
    params.extend([source, source, source])
    return f" AND {column} IN (SELECT id FROM nasbench_source WHERE kind = ? OR device = ? OR file_name = ?)"
