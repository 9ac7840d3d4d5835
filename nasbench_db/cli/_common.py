"""Shared pieces of the command line: the root group, output options and error handling.

The CLI is a thin layer: parse, call the library, print. Library exceptions (:class:`NasbenchDbError`) become
``Error: <message>`` with exit code 1; so do other expected failures (a missing file, bad JSON on the command line).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import sys

import click

from .. import __version__
from ..errors import NasbenchDbError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="nasbench-db")
def cli():
    """nasbench-db: NAS benchmark results (NAS-Bench-101, NAS-Bench-201 / NATS-Bench, NDS, NAS-Bench-NLP) as SQL
    tables.

    Databases live in $NASBENCHMARK_DIR (default ~/.cache/nasbench_db), or on a server named by
    $NASBENCHMARK_DB_URL.

    \b
    Example:
        nasbench-db convert nb101 nasbench_full.tfrecord
        nasbench-db query nb101 --hash 28cfc7874f6d200472e1a9dcd8650aa0 --epochs 108
    """


@cli.group(context_settings=CONTEXT_SETTINGS)
def convert():
    """Convert an original benchmark file into SQL tables.

    Every converter writes a temporary file and swaps it in only when complete: an existing database survives any
    failure.

    \b
    Example:
        nasbench-db convert nb101 nasbench_only108.tfrecord --db-dir ~/nasbench
    """


@cli.group(context_settings=CONTEXT_SETTINGS)
def query():
    """Query a benchmark with NNI's semantics (None = wildcard).

    \b
    Example:
        nasbench-db query nb101 --hash 00005c142e6f48ac74fdcf73e3439874 --epochs 108 --reduction mean
    """


def handle_errors(func):
    """Turn expected failures into ``Error: ...`` and exit code 1 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except NasbenchDbError as exc:
            raise click.ClickException(str(exc)) from exc
        except FileNotFoundError as exc:
            raise click.ClickException(f"no such file: {exc.filename or exc}") from exc
        except PermissionError as exc:
            raise click.ClickException(f"permission denied: {exc.filename or exc}") from exc
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def db_dir_option(func):
    return click.option("--db-dir", type=click.Path(file_okay=False), default=None,
                        help="Directory of the SQLite databases (default: $NASBENCHMARK_DIR).")(func)


OUTPUT_FORMATS = ("table", "json", "csv")


def output_options(func):
    """``--format table|json|csv`` and its shortcuts ``--table``, ``--json``, ``--csv``; the command gets ``fmt``."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        chosen = [name for name in OUTPUT_FORMATS if kwargs.pop(f"as_{name}")]
        if len(chosen) > 1 or (chosen and kwargs["fmt"] is not None and kwargs["fmt"] != chosen[0]):
            given = [f"--{name}" for name in chosen] + ([f"--format {kwargs['fmt']}"] if kwargs["fmt"] else [])
            raise click.UsageError(f"choose one output format: got {' and '.join(given)}")
        kwargs["fmt"] = chosen[0] if chosen else (kwargs["fmt"] or "table")
        return func(*args, **kwargs)

    for name in reversed(OUTPUT_FORMATS):
        wrapper = click.option(f"--{name}", f"as_{name}", is_flag=True, help=f"Same as --format {name}.")(wrapper)
    return click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default=None,
                        help="Output format (default: table).")(wrapper)


SOURCE_HELP = ("Which runs: 'original' (the released benchmark), 'all', a source kind ('trained', 'ecnas'), a device "
               "kind ('cpu', 'cuda' / 'gpu'), a device or file name, or a source id ('nasbench-db info' lists them).")


def source_option(func):
    return click.option("--source", default="original", show_default=True, help=SOURCE_HELP)(func)


def hint_other_sources(rows: int, source, epochs, released_epochs) -> None:
    """On stderr, after an empty answer from the released runs at a budget they do not have: where such runs are."""
    if rows == 0 and source == "original" and epochs is not None and epochs not in released_epochs:
        click.echo(f"The released runs have no {epochs}-epoch budget (they have "
                   f"{', '.join(map(str, released_epochs))}). Runs at other budgets or on other datasets come from "
                   "other sources: add --source all, --source trained, --source cpu / cuda or a device name "
                   "('nasbench-db info' lists the sources).", err=True)


def limit_option(func):
    return click.option("--limit", type=click.IntRange(min=0), default=None,
                        help="Print at most this many rows.")(func)


def source_value(text: str):
    """``--source`` as the query functions take it: 'all' -> None (every row), digits -> a source id."""
    if text == "all":
        return None
    return int(text) if text.isdigit() else text


def take(rows, limit):
    """At most ``limit`` rows of an iterable (all when None), without reading past them."""
    if limit is None:
        return list(rows)
    taken = []
    for row in rows:
        if len(taken) >= limit:
            break
        taken.append(row)
    return taken


def parse_json_option(name: str, text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.ClickException(f"{name} is not valid JSON: {exc}") from None


def _flatten(record: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key != "arch" and not key.endswith("spec"):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, (dict, list)):
            flat[name] = json.dumps(value, sort_keys=True, separators=(",", ":"))
        else:
            flat[name] = value
    return flat


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.1f}"
    return str(value)


def emit(rows, fmt: str, columns=None, out=None) -> int:
    """Print ``rows`` (dicts, possibly nested) as a table, JSON or CSV; returns how many were printed."""
    out = out or sys.stdout
    rows = list(rows)
    if fmt == "json":
        out.write(json.dumps(rows, indent=2, default=str) + "\n")
        return len(rows)
    flat = [_flatten(r) for r in rows]
    if columns is None:
        columns = []
        for r in flat:
            for key in r:
                if key not in columns:
                    columns.append(key)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for r in flat:
            writer.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
        out.write(buffer.getvalue())
        return len(rows)
    table = [[_cell(r.get(c)) for c in columns] for r in flat]
    widths = [max([len(c)] + [len(row[i]) for row in table]) for i, c in enumerate(columns)]
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in table:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")
    return len(rows)
