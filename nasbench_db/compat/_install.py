"""The facades' one door to ``convert/``: convert an original file on first use, recognise it afterwards.

``api.NASBench('nasbench_full.tfrecord')``, ``create('NATS-tss-v1_0-3ffb9-simple', 'tss')`` and
``NASBench201API('NAS-Bench-201-v1_1-096897.pth')`` hand their path here. A file already converted into the target
database is recognised by its sha256 taken from the ``<file>.sha256`` record (:mod:`nasbench_db.checksums`: digest,
size and mtime, so a changed file is not mistaken for the old one) and the database's provenance rows; it is never
hashed again. A file without a record is converted (the converter hashes it while reading) and the record written
beside it, so the next run opens the database in milliseconds. A NATS ``-simple`` directory is recognised by its
name, its ``meta.pickle.pbz2`` digest and its number of per-architecture files.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .. import checksums
from .. import db as _db
from ..errors import BenchmarkNotInstalled, NasbenchDbError

#: kind -> (benchmark key, what the argument should be)
KINDS = {
    "nb101": ("nb101", "nasbench_full.tfrecord or nasbench_only108.tfrecord"),
    "nb201": ("nb201", "NAS-Bench-201-v1_1-096897.pth or NAS-Bench-201-v1_0-e61699.pth"),
    "nats-tss": ("nb201", "NATS-tss-v1_0-3ffb9-simple/ or NATS-tss-v1_0-3ffb9.pickle.pbz2"),
    "nats-sss": ("nats_sss", "NATS-sss-v1_0-50262-simple/ or NATS-sss-v1_0-50262.pickle.pbz2"),
}
SIMPLE_META = "meta.pickle.pbz2"


def _original_sources(benchmark: str, db_dir) -> list[dict]:
    """Provenance rows (with details) of the originals in the installed database; [] when there is none."""
    try:
        handle = _db.open_benchmark(benchmark, db_dir)
    except BenchmarkNotInstalled:
        return []
    if handle.location.layout == "nni" or "nasbench_source" not in _db.table_names(handle.database):
        return []
    rows = _db.fetchall(handle.database, "SELECT file_name, file_size, sha256, details FROM nasbench_source "
                                         "WHERE kind = 'original' AND benchmark = ? ORDER BY id", (benchmark,))
    found = []
    for file_name, file_size, sha256, details in rows:
        try:
            details = json.loads(details) if details else {}
        except ValueError:
            details = {}
        found.append({"file_name": file_name, "file_size": file_size, "sha256": sha256, "details": details})
    return found


def _simple_files(directory: Path) -> int:
    return sum(1 for entry in os.scandir(directory) if entry.name.endswith(".pickle.pbz2")
               and entry.name != SIMPLE_META)


def is_installed(kind: str, path, db_dir=None) -> bool:
    """True when the database already holds the original ``path`` (nothing is hashed: records and metadata only)."""
    benchmark = KINDS[kind][0]
    path = Path(path)
    sources = _original_sources(benchmark, db_dir)
    if not sources:
        return False
    if path.is_dir():
        meta = path / SIMPLE_META
        if not meta.is_file():
            return False
        meta_sha = checksums.file_digest(meta)  # tens of kilobytes
        files = None
        for source in sources:
            if source["file_name"] == path.name and source["details"].get("meta_sha256") == meta_sha:
                files = _simple_files(path) if files is None else files
                if source["details"].get("files") == files:
                    return True
        return False
    sha = checksums.recorded_sha256(path)
    if sha is None:
        # No record beside the file (converted elsewhere, or a read-only directory): hash it once, only when a
        # loaded original has its name and size, and keep the record when the directory allows.
        size = path.stat().st_size
        if not any(s["file_name"] == path.name and s["file_size"] == size and s["sha256"] for s in sources):
            return False
        sha = checksums.file_digest(path)
        try:
            checksums.write_record(path, sha)
        except OSError:
            pass
    return any(source["sha256"] == sha for source in sources)


def ensure_installed(kind: str, path, db_dir=None, verbose: bool = True) -> None:
    """Convert the original ``path`` into the database unless it is already there (see the module docstring).

    ``kind``: 'nb101', 'nb201', 'nats-tss' or 'nats-sss'. Errors are :class:`NasbenchDbError` subclasses naming the
    file and the fix (a corrupt file, a wrong kind), and leave any existing database as it was.
    """
    if kind not in KINDS:
        raise NasbenchDbError(f"unknown original kind {kind!r}: expected one of {', '.join(KINDS)}")
    path = Path(os.path.expanduser(os.fspath(path)))
    if not path.exists():
        raise NasbenchDbError(f"no such file or directory: {path} (expected {KINDS[kind][1]})")
    if is_installed(kind, path, db_dir):
        return
    from ..convert import nb101 as convert_nb101
    from ..convert import nb201 as convert_nb201

    target = _db.database_url() if db_dir is None and _db.database_url() else _db.database_path(KINDS[kind][0],
                                                                                                 db_dir)
    if verbose:
        print(f"nasbench_db: converting {path} into {_db._redact(str(target))} (once; later runs open the database "
              "in milliseconds)...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    if kind == "nb101":
        report = convert_nb101.convert_nb101(path, db_dir, progress=None)
    elif kind == "nb201":
        report = convert_nb201.convert_nb201(path, db_dir, progress=None)
    elif kind == "nats-tss":
        report = convert_nb201.convert_nats_tss(path, db_dir, progress=None)
    else:
        report = convert_nb201.convert_nats_sss(path, db_dir, progress=None)
    sha = getattr(report, "sha256", None)
    if path.is_file() and sha and checksums.recorded_sha256(path) is None:
        try:
            checksums.write_record(path, sha)
        except OSError:
            pass  # a read-only directory: the next run hashes the file once to recognise it
    if verbose:
        print(f"nasbench_db: converted in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


def read_nats_pickle(path):
    """A NATS ``.pickle.pbz2`` file's object through the converters' restricted reader (no code from the file
    runs): what ``nats_bench.pickle_load`` returns for the released files."""
    from ..convert import nb201 as convert_nb201
    from ..errors import CorruptInput

    path = Path(path)
    if not path.is_file() and Path(str(path) + ".pbz2").is_file():
        path = Path(str(path) + ".pbz2")
    try:
        return convert_nb201._read_simple_file(path, numpy_scalars=True)
    except convert_nb201.RecordError as exc:
        raise CorruptInput(path, str(exc)) from None
