"""The named exceptions of nasbench_db.

Every message states the problem, the limit and, where there is one, the fix, e.g.
``too many edges: got 10, max 9``. The CLI turns any :class:`NasbenchDbError` into ``Error: <message>`` and exit
code 1. This module imports nothing of the project.
"""


class NasbenchDbError(Exception):
    """Base class of every error this package raises on purpose."""


class OutOfSearchSpace(NasbenchDbError, ValueError):
    """An architecture or argument outside a benchmark's search space (also a ``ValueError``, as NNI users expect)."""


class InvalidArgument(NasbenchDbError, ValueError):
    """A query argument of the wrong type or value (epochs, dataset, reduction...)."""


class CorruptInput(NasbenchDbError):
    """An input file that is not what it claims to be: bad framing, checksum, payload or wrong benchmark."""

    def __init__(self, path, reason, record=None, offset=None):
        self.path = str(path)
        self.reason = reason
        self.record = record
        self.offset = offset
        where = self.path
        if record is not None:
            where += f", record {record}"
        if offset is not None:
            where += f" (byte offset {offset})"
        super().__init__(f"{where}: {reason}")


class BenchmarkNotInstalled(NasbenchDbError, FileNotFoundError):
    """No database for the benchmark where ``NASBENCHMARK_DIR`` / ``NASBENCHMARK_DB_URL`` point."""


class ChecksumMismatch(NasbenchDbError):
    """A downloaded or given file whose checksum differs from the expected one."""


class DownloadError(NasbenchDbError):
    """A download that failed: an HTTP error, an HTML page instead of the file, a full disk, retries exhausted."""


class DriveQuotaExceeded(DownloadError):
    """Google Drive answered its quota page ('Too many users have viewed or downloaded this file recently')."""


class ReadOnlyError(NasbenchDbError):
    """A write attempted through a read-only entry point (``nasbench-db sql``)."""


class MissingDependency(NasbenchDbError, ImportError):
    """An optional package a feature needs is not installed (pandas for DataFrames, matplotlib for plots)."""
