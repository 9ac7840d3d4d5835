"""Download commands: ``download`` (the original files, resumable and verified) and ``has-source``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .. import db as _db
from ._common import CONTEXT_SETTINGS, cli, db_dir_option, emit, handle_errors, output_options


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def _size(value) -> str:
    if not value:
        return "?"
    return f"{value / 1e9:.2f} GB" if value >= 1e9 else f"{value / 1e6:.0f} MB"


@cli.command("download", context_settings=CONTEXT_SETTINGS)
@click.argument("name", required=False)
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Where to put the file (default: $NASBENCHMARK_DIR/downloads; $NASBENCHMARK_DIR for NNI's "
                   "databases).")
@click.option("--url", help="Fetch from this URL instead of the catalog's. With a NAME outside the catalog, the file "
                            "is saved under NAME.")
@click.option("--mirror", envvar="NASBENCH_MIRROR", show_envvar=True,
              help="Base URL of a mirror that holds the files under their original names.")
@click.option("--sha256", help="Expected sha256 (replaces the catalog's checksums).")
@click.option("--md5", help="Expected md5 (replaces the catalog's checksums).")
@click.option("--extract", is_flag=True,
              help="Unpack the verified archive (tar/zip) beside it and print the unpacked folder instead.")
@click.option("--list", "list_catalog", is_flag=True, help="List the files this command knows and exit.")
@click.option("--retries", type=click.IntRange(0, 10_000), default=8, show_default=True,
              help="Retries after a failure that made no progress (progress resets the count).")
@click.option("--backoff", type=click.FloatRange(0), default=1.0, show_default=True,
              envvar="NASBENCH_DOWNLOAD_BACKOFF", help="First delay between retries in seconds (doubles, max 60).")
@click.option("--timeout", type=click.FloatRange(0.1), default=60.0, show_default=True,
              help="Seconds without data before the connection counts as cut.")
@click.option("--deadline", type=click.FloatRange(0), default=12 * 3600.0, show_default=True,
              help="Seconds for the whole download, retries included (0 = no limit); the partial file is kept.")
@click.option("--min-rate", type=click.IntRange(0), default=8 << 10, show_default=True,
              help="Bytes/s (averaged over a minute) under which an attempt counts as failed (0 = none): a "
                   "trickling server cannot hold the download forever.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@output_options
@db_dir_option
@handle_errors
def download_command(name, directory, url, mirror, sha256, md5, extract, list_catalog, retries, backoff, timeout,
                     deadline, min_rate, progress, fmt, db_dir):
    """Download an original benchmark file, resuming after cuts, verify its checksum, install it atomically.

    Prints the path of the file (or, with --extract, of the unpacked folder) on stdout; everything else goes to
    stderr. Only a full published digest verifies a file (NB-101, CIFAR); files with none (NB-201 / NATS, whose
    names carry a short md5 identifier, NDS, NNI's databases) are installed and reported UNVERIFIED: the
    converters' restricted readers run no code whatever the bytes (docs/download.md). A file already present is not
    fetched again. The sha256 is recorded in <file>.sha256, so the converters never hash the file again. On a
    checksum mismatch, an HTTP error, a Google Drive quota page, an empty body, an unresolvable host, a missed
    deadline or a full disk: `Error: ...`, exit status 1, and nothing under the final name (a partial download stays
    hidden as .<file>.part and the next run resumes it).

    \b
    Example:
        nasbench-db download --list
        nasbench-db download nb101-only108
        nasbench-db download nb201-v1_1 --dir ~/data
        nasbench-db download nds --extract
        NASBENCH_MIRROR=https://mirror.example.org/nasbench nasbench-db download nb101-full
        nasbench-db download my.tfrecord --url https://host/my.tfrecord --sha256 3d64db81...
    """
    from .. import download as dl

    if list_catalog:
        rows = []
        for entry in dl.catalog().values():
            rows.append({"name": entry.name, "file": entry.file_name, "size": _size(entry.approx_bytes),
                         "checksum": entry.expected.describe(), "checksum_source": entry.checksum_source,
                         "feeds": entry.benchmark or "-", "urls": list(entry.urls)})
        if fmt == "table":
            emit([{k: r[k] for k in ("name", "file", "size", "checksum", "feeds")} for r in rows], fmt)
        else:
            emit(rows, fmt)
        return
    if not name:
        raise click.UsageError("give a NAME (see --list)")
    result = dl.download(name, directory, url=url, sha256=sha256, md5=md5, mirror=mirror or None, progress=progress,
                         retries=retries, backoff=backoff, timeout=(min(20.0, timeout), timeout), log=_stderr,
                         db_dir=db_dir, deadline=deadline or None, min_rate=min_rate or None)
    _stderr(result.summary())
    if extract:
        folder = dl.extract(result.path, sha256=result.sha256, log=_stderr)
        _stderr(f"unpacked: {folder}")
        click.echo(str(folder))
    else:
        click.echo(str(result.path))


@cli.command("has-source", context_settings=CONTEXT_SETTINGS)
@click.argument("benchmark", type=click.Choice(sorted(_db.FILE_NAMES)))
@click.option("--file", "file_path", type=click.Path(exists=True),
              help="An original file (matched by its sha256: the download record, else one hash) or a converted "
                   "directory (matched by name).")
@click.option("--sha256", help="Match this sha256.")
@click.option("--file-name", help="Match this file or directory name (for sources loaded without a sha256).")
@click.option("--json", "as_json", is_flag=True, help="Print the matching provenance row as JSON.")
@db_dir_option
@handle_errors
def has_source_command(benchmark, file_path, sha256, file_name, as_json, db_dir):
    """Exit 0 if BENCHMARK's database already holds an original file, 1 if not (the scripts skip converting then).

    Looks in the provenance table nasbench_source: by sha256 where the row has one, else by file name.

    \b
    Example:
        nasbench-db has-source nb101 --file ~/.cache/nasbench_db/downloads/nasbench_full.tfrecord
        nasbench-db has-source nb101 --sha256 3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c
        nasbench-db has-source nats_sss --file-name NATS-sss-v1_0-50262-simple
    """
    from .. import download as dl

    if file_path:
        path = Path(file_path)
        file_name = file_name or path.name
        if path.is_file() and not sha256:
            record = dl.read_record(path)
            sha256 = record[0] if record else dl.hash_file(path, with_md5=False)[0]
    if not sha256 and not file_name:
        raise click.UsageError("give --file, --sha256 or --file-name")
    row = _db.has_source(benchmark, sha256=sha256, file_name=file_name, db_dir=db_dir)
    on_server = db_dir is None and _db.database_url()
    where = "the database server" if on_server else _db.database_path(benchmark, db_dir)
    if as_json:
        click.echo(json.dumps(row))
    if row is None:
        if not as_json:
            what = f"sha256 {sha256}" if sha256 else f"name {file_name}"
            click.echo(f"no: {where} holds no original file with {what}")
        sys.exit(1)
    if not as_json:
        click.echo(f"yes: {where} holds source {row['id']} ({row['file_name']}, sha256 "
                   f"{row['sha256'] or 'not recorded'}, converted {row['created_at']})")
