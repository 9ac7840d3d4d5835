"""Build a benchmark database atomically: write a temporary file, swap it in only when complete.

A converter opens a :class:`DatabaseBuild`, creates tables (no indexes), bulk-loads rows through the raw DB-API
connection in one transaction, and on success :meth:`DatabaseBuild.finish` builds the indexes and views, runs
``ANALYZE``, fsyncs and ``os.replace``-s the file over the final name. Any exception (or a kill) leaves the previous
database untouched; a temporary file left by a killed process is removed by the next build.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import sqlite3
from pathlib import Path

import peewee

from .. import __version__
from .. import db as _db
from .._process import pid_alive
from ..errors import NasbenchDbError
from ..limits import check_lfs_pointer
from ..models import Source

BUILD_PREFIX = "."
BUILD_SUFFIX = ".building-"


def remove_stale_builds(final: Path) -> None:
    """Delete temporary build files of ``final`` whose process is gone (a killed conversion)."""
    pattern = f"{BUILD_PREFIX}{final.name}{BUILD_SUFFIX}"
    for candidate in final.parent.glob(pattern + "*"):
        pid_text = candidate.name[len(pattern):].split(".")[0]
        if pid_text.isdigit() and not pid_alive(int(pid_text)):
            for extra in (candidate, Path(str(candidate) + "-journal"), Path(str(candidate) + "-wal"),
                          Path(str(candidate) + "-shm")):
                try:
                    extra.unlink()
                except FileNotFoundError:
                    pass


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


class DatabaseBuild:
    """Context manager owning a temporary SQLite database that becomes ``<db_dir>/<benchmark file>`` on success."""

    def __init__(self, benchmark: str, db_dir=None):
        self.benchmark = _db.check_benchmark(benchmark)
        # With NASBENCHMARK_DB_URL (and no explicit directory) the SQLite build is private and then published.
        self.url = _db.database_url() if db_dir is None else None
        if self.url:
            import tempfile

            self.private_dir = Path(tempfile.mkdtemp(prefix=f"nasbench-{benchmark}-",
                                                     dir=os.environ.get("NASBENCHMARK_BUILD_DIR")))
            db_dir = self.private_dir
        self.final = _db.database_path(benchmark, db_dir)
        self.temp = self.final.parent / f"{BUILD_PREFIX}{self.final.name}{BUILD_SUFFIX}{os.getpid()}"
        self.database: peewee.SqliteDatabase | None = None
        self.finished = False

    # -- lifecycle ---------------------------------------------------------------------------------------------------
    def __enter__(self) -> "DatabaseBuild":
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NasbenchDbError(f"cannot create the database directory {self.final.parent}: {exc.strerror}") from exc
        if not os.access(self.final.parent, os.W_OK):
            raise NasbenchDbError(f"cannot write to {self.final.parent}: permission denied "
                                  "(choose another --db-dir or NASBENCHMARK_DIR)")
        remove_stale_builds(self.final)
        if self.temp.exists():
            self.temp.unlink()
        # Loading runs without a journal: the file is private until the swap, so a crash only loses the temp file.
        self.database = peewee.SqliteDatabase(str(self.temp), pragmas={
            "journal_mode": "off", "synchronous": "off", "cache_size": -262144, "temp_store": "memory",
            "locking_mode": "exclusive", "page_size": 4096})
        self.database.connect()
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.database is not None and not self.database.is_closed():
            self.database.close()
        if self.url:
            import shutil

            shutil.rmtree(self.private_dir, ignore_errors=True)
        if not self.finished:
            for extra in ("", "-journal"):
                try:
                    Path(str(self.temp) + extra).unlink()
                except FileNotFoundError:
                    pass
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise NasbenchDbError(f"disk full while writing {self.temp}: free space in {self.final.parent} "
                                  "or choose another --db-dir") from exc
        if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
            raise NasbenchDbError(f"disk full while writing {self.temp}: free space in {self.final.parent} "
                                  "or choose another --db-dir") from exc
        return False

    @property
    def connection(self) -> sqlite3.Connection:
        return self.database.connection()

    # -- schema ------------------------------------------------------------------------------------------------------
    def create_tables(self, models) -> None:
        """Create ``models``' tables without their indexes (built by :meth:`finish`, after loading)."""
        self.models = list(models)
        with self.database.bind_ctx(self.models + [Source], bind_refs=False, bind_backrefs=False):
            for model in [Source] + [m for m in self.models if m is not Source]:
                model._schema.create_table(safe=True)

    def add_source(self, kind: str, path: Path, converter: str, sha256: str | None, details: dict | None = None,
                   device: str | None = None) -> int:
        """Insert the provenance row of this load and return its id.

        An original file that is a Git LFS pointer is refused here, for every converter (``git lfs pull``)."""
        if kind == "original" and path.is_file():
            check_lfs_pointer(path)
        try:
            size = path.stat().st_size if path.is_file() else sum(
                p.stat().st_size for p in path.rglob("*") if p.is_file())
        except OSError:
            size = None
        cursor = self.connection.execute(
            "INSERT INTO nasbench_source (benchmark, kind, file_name, file_size, sha256, converter, created_at, "
            "row_counts, device, details) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            (self.benchmark, kind, path.name, size, sha256, f"{converter} nasbench_db {__version__}", utc_now(),
             device, json.dumps(details or {}, sort_keys=True)))
        return cursor.lastrowid

    def set_source_counts(self, source_id: int, row_counts: dict, details: dict | None = None,
                          sha256: str | None = None) -> None:
        sets = ["row_counts = ?"]
        params: list = [json.dumps(row_counts, sort_keys=True)]
        if details is not None:
            sets.append("details = ?")
            params.append(json.dumps(details, sort_keys=True))
        if sha256 is not None:
            sets.append("sha256 = ?")
            params.append(sha256)
        self.connection.execute(f"UPDATE nasbench_source SET {', '.join(sets)} WHERE id = ?", (*params, source_id))

    def finish(self, views=(), vacuum: bool = False):
        """Index, create views, analyze, fsync and swap the finished file into place; returns the final path.

        With a server URL the finished file is published to the server in one transaction instead (see
        :mod:`._server`) and the (password-redacted) URL is returned.
        ``vacuum``: rebuild the file first (a loader whose keys arrived out of order leaves half-full pages).
        """
        conn = self.connection
        if vacuum:
            conn.execute("VACUUM")
        with self.database.bind_ctx(self.models + [Source], bind_refs=False, bind_backrefs=False):
            for model in [Source] + [m for m in self.models if m is not Source]:
                model._schema.create_indexes(safe=True)
        # Self-trained results live only in the file being replaced: re-ingest them (needs the indexes above).
        from .results import carry_over

        self.carried_over = carry_over(self)
        # HW-NAS-Bench costs and zero-cost proxies loaded into the file being replaced: copy them too.
        from .joined import carry_over as carry_over_joined

        self.carried_joined = carry_over_joined(self)
        if self.benchmark == "nb101":  # and the runs of EC-NAS-Bench files, copied from it
            from .ecnas import carry_over as carry_over_ecnas

            self.carried_over += carry_over_ecnas(self)
        for view in views:
            conn.execute(view)
        conn.execute("ANALYZE")
        conn.commit()
        # Readers open the result with mode=ro; DELETE journal mode needs no -wal/-shm beside it.
        conn.execute("PRAGMA journal_mode = DELETE")
        self.database.close()
        with open(self.temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self.temp, self.final)
        if self.url:
            from ._server import publish

            self.published = publish(self.final, self.url, self.benchmark, self.models, views)
            self.finished = True
            return _db._redact(self.url)
        try:
            dir_fd = os.open(self.final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass
        self.finished = True
        return self.final
