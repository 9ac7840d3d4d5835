"""Core commands: ``convert nb101``, ``query nb101``, ``sql``, ``info``."""

from __future__ import annotations

import json

import click

from .. import db as _db
from .._resources import bundled_file
from ._common import (CONTEXT_SETTINGS, NO_RUNS_HINT, cli, convert, db_dir_option, emit, emit_query,
                      handle_errors, hint_other_sources, limit_option, output_options, parse_json_option, query,
                      source_option, source_value, take)


@convert.command("nb101", context_settings=CONTEXT_SETTINGS)
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--sample", is_flag=True,
              help="Convert the bundled real sample (31 cells, 102 runs) instead of FILE.")
@click.option("--no-crc", is_flag=True, help="Skip CRC-32C verification (faster; not recommended).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@db_dir_option
@handle_errors
def convert_nb101_command(file, sample, no_crc, progress, db_dir):
    """Convert NAS-Bench-101's nasbench_full.tfrecord or nasbench_only108.tfrecord (no TensorFlow needed).

    Every record becomes a trial with its halfway and final evaluations; each cell's hash is recomputed and checked.

    \b
    Example:
        nasbench-db convert nb101 nasbench_full.tfrecord --db-dir ~/nasbench
        nasbench-db convert nb101 --sample
    """
    from ..convert.nb101 import convert_nb101

    if sample == bool(file):
        raise click.UsageError("give either FILE or --sample")
    path = bundled_file("nb101_sample.tfrecord") if sample else file
    report = convert_nb101(path, db_dir, progress=progress, verify_crc=not no_crc)
    click.echo(report.summary())


NB101_COLUMNS = ["id", "config.hash", "config.num_epochs", "config.num_vertices", "train_acc", "valid_acc",
                 "test_acc", "parameters", "training_time"]
#: Columns added to the table of runs read from other sources than the released one.
SOURCE_COLUMNS = ["source.kind", "source.device"]


@query.command("nb101", context_settings=CONTEXT_SETTINGS)
@click.option("--arch", help="NNI arch dict or {\"matrix\": [[...]], \"ops\": [...]} as JSON.")
@click.option("--hash", "arch_hash", help="A cell's NB-101 hash (instead of --arch).")
@click.option("--epochs", type=int, default=None,
              help="Epoch budget: 4, 12, 36 or 108, or any budget of another source's runs (default: all).")
@click.option("--dataset", default=None,
              help="Dataset of the runs: cifar10 (the released runs) or another source's, e.g. fashion-mnist "
                   "(default: all).")
@click.option("--reduction", type=click.Choice(["none", "mean"]), default="none", show_default=True)
@click.option("--exact", is_flag=True, help="Match the stored cell exactly instead of any isomorphic cell.")
@click.option("--intermediates", is_flag=True,
              help="Include the halfway/final evaluations (values in --json / --csv; the table summarises them).")
@source_option
@limit_option
@output_options
@db_dir_option
@handle_errors
def query_nb101_command(arch, arch_hash, epochs, dataset, reduction, exact, intermediates, source, limit, fmt,
                        db_dir):
    """Query NAS-Bench-101 runs (NNI's query_nb101_trial_stats).

    Accuracies in percent, parameters in millions, training_time in seconds. Only the released runs unless
    --source names others (self-trained runs, EC-NAS-Bench), at their own budgets and datasets.

    \b
    Example:
        nasbench-db query nb101 --arch '{"matrix": [[0,1,1,1,0,1,0],[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],
            [0,0,0,0,1,0,0],[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],[0,0,0,0,0,0,0]], "ops": ["input",
            "conv1x1-bn-relu","conv3x3-bn-relu","conv3x3-bn-relu","conv3x3-bn-relu","maxpool3x3","output"]}'
            --epochs 108
        nasbench-db query nb101 --hash 28cfc7874f6d200472e1a9dcd8650aa0 --reduction mean --format json
        nasbench-db query nb101 --source cpu --epochs 2 --dataset fashion-mnist
        nasbench-db query nb101 --source ecnas --epochs 4 --limit 5
    """
    from ..query.nb101 import query_nb101_trial_stats

    if arch and arch_hash:
        raise click.UsageError("give --arch or --hash, not both")
    source_arg = source_value(source)
    if arch_hash:
        rows = _query_nb101_by_hash(arch_hash, epochs, reduction, intermediates, source_arg, db_dir, dataset)
    else:
        rows = query_nb101_trial_stats(parse_json_option("--arch", arch), epochs, isomorphism=not exact,
                                       reduction=reduction, include_intermediates=intermediates,
                                       source=source_arg, dataset=dataset, db_dir=db_dir)
    rows = take(rows, limit)
    columns = NB101_COLUMNS
    if source_arg != "original":
        columns = columns[:3] + ["config.dataset"] + columns[3:] + (SOURCE_COLUMNS if reduction != "mean" else [])
    emit_query(rows, fmt, columns, intermediates=intermediates, empty_hint=NO_RUNS_HINT)
    from ..query.nb101 import RELEASED_EPOCHS

    hint_other_sources(len(rows), source_arg, epochs, RELEASED_EPOCHS)






def _query_nb101_by_hash(arch_hash, epochs, reduction, intermediates, source, db_dir, dataset=None):
    """Look a hash up in the installed database and query its stored cell."""
    from ..errors import InvalidArgument
    from ..query.nb101 import query_nb101_trial_stats
    from ..spaces import nb101 as space

    text = arch_hash.strip().lower()
    if len(text) != 32 or set(text) - set("0123456789abcdef"):
        raise InvalidArgument(f"--hash must be 32 hex characters: got {arch_hash!r}")
    handle = _db.open_benchmark("nb101", db_dir)
    if handle.location.layout == "nni":
        rows = _db.fetchall(handle.database, "SELECT arch FROM nb101trialconfig WHERE hash = ? LIMIT 1", (text,))
        arch = json.loads(rows[0][0]) if rows else None
    else:
        rows = _db.fetchall(handle.database, "SELECT adjacency, operations FROM nb101_arch WHERE hash = ?", (text,))
        arch = ({"matrix": [list(r) for r in space.adjacency_to_matrix(rows[0][0])], "ops": rows[0][1].split(",")}
                if rows else None)
    if arch is None:
        raise InvalidArgument(f"no cell with hash {text} in {handle.location.target}")
    # The stored cell by its hash: no rebuilt arch, no hashing again.
    return query_nb101_trial_stats(text, epochs, reduction=reduction, include_intermediates=intermediates,
                                   source=source, dataset=dataset, db_dir=db_dir)


@cli.command("sql", context_settings=CONTEXT_SETTINGS)
@click.argument("statement")
@click.option("--db", "benchmark", type=click.Choice(sorted(_db.FILE_NAMES)), default="nb101", show_default=True,
              help="Which benchmark's database to read.")
@click.option("--timeout", type=click.FloatRange(min=0), default=None,
              help="Stop the statement after this many seconds, output included (default: 60; 0 = no limit).")
@click.option("--url", default=None,
              help="Database server URL for this statement instead of $NASBENCHMARK_DB_URL, e.g. a SELECT-only role: "
                   "postgresql://nasbench_reader@host/nasbench.")
@click.option("--allow-superuser", is_flag=True,
              help="On PostgreSQL, run even when the role is a superuser (who can run programs and read files on "
                   "the server through SQL). Refused without this flag.")
@output_options
@db_dir_option
@handle_errors
def sql_command(statement, benchmark, timeout, url, allow_superuser, fmt, db_dir):
    """Run one read-only SQL statement against a benchmark database; rows are printed as they come.

    Writes are refused. On SQLite the file is opened immutable and read-only: no ATTACH, VACUUM, temporary objects or
    side files; values are capped at 64 MB and SQLite's memory at 1 GB. On PostgreSQL only plain queries (SELECT,
    WITH, VALUES, TABLE, EXPLAIN, SHOW) run, one per call, in a read-only transaction, and a superuser role is refused
    (use a SELECT-only role, see docs/postgres.md). Ctrl-C stops a statement. Tables: nb101_arch, nb101_config,
    nb101_trial, nasbench_source, and NNI's views nb101trialconfig, nb101trialstats, nb101intermediatestats.

    \b
    Example:
        nasbench-db sql "SELECT hash, parameters FROM nb101_arch ORDER BY parameters DESC LIMIT 5"
        nasbench-db sql "SELECT num_epochs, COUNT(*) FROM nb101trialconfig GROUP BY num_epochs" --format csv
        nasbench-db sql "SELECT * FROM nb201trialstats" --db nb201 --csv --timeout 0 > all.csv
    """
    from ..sql import DEFAULT_TIMEOUT_S, stream_sql

    with stream_sql(statement, benchmark, db_dir, timeout=DEFAULT_TIMEOUT_S if timeout is None else timeout,
                    url=url, allow_superuser=allow_superuser) as (columns, rows):
        try:
            _emit_stream(columns, rows, fmt)
        except BrokenPipeError:  # `| head`: the reader left, not an error
            import os
            import sys

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


#: Rows a table's column widths are computed from before the rest streams with those widths.
TABLE_WIDTH_ROWS = 1000


def _emit_stream(columns, rows, fmt: str) -> None:
    """Print ``rows`` (tuples) as they come: the same text as ``emit`` for JSON and CSV; a table sizes its columns
    on the first TABLE_WIDTH_ROWS rows (longer values later overflow their column)."""
    import csv
    import itertools
    import sys

    from ._common import _cell

    out = sys.stdout
    if fmt == "json":
        first = True
        for row in rows:
            text = json.dumps(dict(zip(columns, row)), indent=2, default=str)
            out.write(("[\n" if first else ",\n") + "\n".join("  " + line for line in text.splitlines()))
            first = False
        out.write("[]\n" if first else "\n]\n")
        return
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
        return
    head = [[_cell(v) for v in row] for row in itertools.islice(rows, TABLE_WIDTH_ROWS)]
    widths = [max([len(c)] + [len(row[i]) for row in head]) for i, c in enumerate(columns)]
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in itertools.chain(head, ([_cell(v) for v in row] for row in rows)):
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")


@cli.command("info", context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_dir_option
@handle_errors
def info_command(as_json, db_dir):
    """Show which benchmarks are installed, where, their row counts and sources.

    Every benchmark lists its sources: the released file, and the runs other sources added beside it (EC-NAS-Bench
    files, self-trained results per device) with their datasets and epoch budgets and the --source value that
    selects them.

    \b
    Example:
        nasbench-db info
        NASBENCHMARK_DIR=~/nasbench nasbench-db info --json
    """
    from ..query.sources import source_groups

    entries = [_db.describe(name, db_dir) for name in _db.FILE_NAMES]
    for entry in entries:
        entry["other_sources"] = source_groups(entry["benchmark"], db_dir) if entry["installed"] else []
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    where = _db.database_url() if db_dir is None and _db.database_url() else _db.benchmark_dir(db_dir)
    click.echo(f"databases: {_db._redact(str(where))}")
    for entry in entries:
        if not entry["installed"]:
            click.echo(f"- {entry['name']}: not installed (install: {entry['install']})")
            continue
        size = f", {entry['bytes'] / 1e6:.1f} MB" if entry["bytes"] is not None else ""
        layout = " (NNI's prebuilt file)" if entry["layout"] == "nni" else ""
        click.echo(f"- {entry['name']}: {entry['location']}{layout}{size}")
        for source in entry["sources"]:
            if source["kind"] == "trained":  # one row per ingested result: summarised per device below
                continue
            counts = ", ".join(f"{k} {v:,}" for k, v in (source["row_counts"] or {}).items())
            device = f" on {source['device']}" if source["device"] else ""
            if source.get("device_kind"):
                device += f" ({source['device_kind']})"
            click.echo(f"    source {source['id']}: {source['kind']} {source['file_name']}{device} "
                       f"[{counts}] {source['created_at']} sha256 {(source['sha256'] or '?')[:12]}")
        latest: dict = {}
        for source in entry["sources"]:
            if source["kind"] == "trained":
                key = source["device"] or "unknown device"
                latest[key] = max(latest.get(key, ""), source["created_at"])
        for group in entry["other_sources"]:
            data = "; ".join(f"{dataset} at epochs {', '.join(map(str, epochs))}"
                             for dataset, epochs in group["datasets"].items())
            kind = f" ({group['device_kind']})" if group["device_kind"] else ""
            if group["kind"] == "trained":
                click.echo(f"    trained on {group['device'] or 'unknown device'}{kind}: {group['sources']:,} "
                           f"results (latest {latest.get(group['device'] or 'unknown device', '?')}): {data}; "
                           f"query with --source \"{group['select']}\", --source {group['device_kind'] or 'trained'} "
                           "or --source trained")
            else:
                click.echo(f"    {group['kind']} runs on {group['device'] or 'an unknown device'}{kind}: "
                           f"{group['runs']:,} runs from {group['sources']:,} file(s): {data}; query with "
                           f"--source {group['kind']} or --source \"{group['select']}\"")
