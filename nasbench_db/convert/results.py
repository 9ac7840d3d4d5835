"""Ingest the JSON results of ``nasbench-db train`` beside the original rows.

Every result becomes one :class:`~nasbench_db.models.Source` row (``kind='trained'``, ``device`` = the device that
trained it, ``sha256`` = the result's ``result_key``, ``details`` = the whole result JSON) and its trial row(s) in the
benchmark's own tables, so queries see them only when asked (``source=None`` / a device / a source id).

* **All or nothing**: every file is read and validated first (types, ranges, finite numbers, integers SQLite can
  store, evaluations inside the run's budget, the arch in its space, the ``result_key``; JSON size and nesting
  bounded by :mod:`nasbench_db.limits`), and only then is anything written, in one transaction per database, all
  committed together. One bad file refuses the whole command, naming the file and the field; a failure while
  writing (a full disk, a read-only directory) rolls everything back.
* **Which files**: ``PATH`` is one result file or a directory searched recursively for ``*.json`` (hidden files
  skipped). A JSON document without the result format marker (``"format": "nasbench_db.train_result"``), such as a
  ``nasbench-db search`` output, is not a result: in a directory it is reported and skipped; named on its own it
  is refused. Entries named ``*.json`` that are not
  regular files (directories, FIFOs, sockets, broken links, symlink loops) are reported and skipped without being
  opened. A file with the marker that fails validation, or a ``*.json`` that is not valid JSON, refuses the run.
* **Idempotent**: a result whose ``result_key`` is already in the database is skipped (a unique partial index on
  ``nasbench_source(benchmark, sha256) WHERE kind = 'trained'`` backs the check).
* **Concurrent-safe**: SQLite in WAL mode with a busy timeout; the write transaction is ``BEGIN IMMEDIATE`` (databases
  locked in name order, so ingesters never deadlock), so several ingesters (e.g. the tasks of a job array) can run
  at once. It never uses the build-and-swap of the original converters, which would lose a concurrent ingester's
  rows. On PostgreSQL all benchmarks share one server transaction.
* **Creates** the database with the benchmark's schema when it does not exist yet.
* **Survives re-conversion**: :func:`carry_over` re-ingests the trained results of a database that a converter of
  an original file is about to replace (called by :meth:`DatabaseBuild.finish`), from the JSON kept in ``details``.

Tables: NB-101 results go to ``nb101_trial`` (halfway and final evaluations) and ``nb101_trial_halfway`` (the
halfway evaluation's epoch), under the config of their cell, budget and dataset (added when new: a Fashion-MNIST run
never becomes a run of the cell's CIFAR-10 config). NB-201 / NATS size-space results go to tables of their own,
``nb201_trained_trialconfig`` / ``_trialstats`` / ``_epoch`` (``nats_sss_trained_*``), with NNI's split mapping of
:data:`nasbench_db.convert.nb201.SPLITS` (final = last epoch), so NNI's tables keep exactly the released runs. A
budget or dataset the benchmark never had (a 2-epoch smoke run, Fashion-MNIST) gets a config numbered after the
benchmark's.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from .. import db as _db
from ..errors import CorruptInput, NasbenchDbError
from ..limits import loads_json
from ..models import (NATS_SSS_TABLES, NATS_SSS_VIEWS, NB101_TABLES, NB101_VIEWS, NB201_TABLES, NB201_VIEWS,
                      server_view)
from ..spaces import nats_sss as sss_space
from ..spaces import nb101 as nb101_space
from ..spaces import nb201 as tss_space
from ..train import schema as _schema
from ._build import utc_now

CONVERTER_NAME = "train-results"
#: validated results kept in memory between validation and writing, in bytes of their files; beyond it a result
#: is read (and validated) again when written, so memory stays bounded for sweeps of any size
CACHE_BYTES = 64 << 20
#: benchmark database of each result space
BENCHMARK_OF_SPACE = {"nb101": "nb101", "nb201": "nb201", "nats_sss": "nats_sss"}
TRAINED_KEY_INDEX = ("CREATE UNIQUE INDEX IF NOT EXISTS nasbench_source_trained_key ON nasbench_source "
                     "(benchmark, sha256) WHERE kind = 'trained'")


@dataclass
class ResultsReport:
    path: str
    database: str = ""
    files: int = 0
    ingested: int = 0
    skipped: int = 0
    by_device: dict = field(default_factory=dict)
    #: (path, reason) of every entry that was not ingested because it is not a training result file
    ignored: list = field(default_factory=list)

    def summary(self) -> str:
        devices = ", ".join(f"{d}: {n}" for d, n in sorted(self.by_device.items())) or "none"
        text = (f"ingested {self.ingested} of {self.files} results from {self.path} into {self.database} "
                f"({self.skipped} already present; by device: {devices})")
        if self.ignored:
            text += f"; skipped {len(self.ignored)} other entries that are not training results (listed above)"
        return text


@dataclass
class _Pending:
    """A validated result waiting to be written (``result`` None: read it again when writing)."""

    path: Path
    benchmark: str
    result_key: str
    size: int
    result: dict | None


def scan(path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """``(candidate files, [(entry, why it is skipped)])`` of ``path``: the file itself, or every ``*.json`` under the
    directory (sorted; hidden entries skipped; symbolic links to directories not followed). Nothing is opened: a
    FIFO named ``x.json`` is reported, never read."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ENOENT and not path.is_symlink():
            raise NasbenchDbError(f"no such file or directory: {path} (expected a result JSON or a directory of "
                                  "them)") from None
        raise NasbenchDbError(f"{path}: {_entry_problem(exc)}: expected a result JSON or a directory of them") \
            from None
    if stat.S_ISREG(info.st_mode):
        return [path], []
    if not stat.S_ISDIR(info.st_mode):
        raise NasbenchDbError(f"{path} is {_kind(info.st_mode)}, not a result file or a directory of them (nothing "
                              "was read from it)")
    files, skipped = [], []

    def refuse(exc):
        raise NasbenchDbError(f"cannot list {exc.filename}: {exc.strerror}: fix its permissions or ingest another "
                              "directory") from None

    for root, dirs, names in os.walk(path, onerror=refuse, followlinks=False):
        for name in sorted(dirs):
            if name.endswith(".json") and not name.startswith("."):
                skipped.append((Path(root) / name, "a directory (or a link to one), not a result file"))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.endswith(".json") or name.startswith("."):
                continue
            entry = Path(root) / name
            try:
                mode = entry.stat().st_mode  # follows a link; a loop or a dangling link raises
            except OSError as exc:
                skipped.append((entry, _entry_problem(exc)))
                continue
            if stat.S_ISREG(mode):
                files.append(entry)
            else:
                skipped.append((entry, f"{_kind(mode)}, not a result file (not opened)"))
    return sorted(files), skipped


def _entry_problem(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "a broken symbolic link"
    return f"cannot be read ({exc.strerror})"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def result_files(path) -> list[Path]:
    """The regular ``*.json`` files :func:`scan` finds under ``path`` (or ``path`` itself)."""
    return scan(path)[0]


def check_result(result: dict, path) -> str:
    """The space checks of a format-valid result (the arch is in its space and matches its hash / index): raises
    CorruptInput naming the file and the field. Returns the benchmark database the result belongs to."""
    space = result["space"]
    try:
        if space == "nb101":
            matrix, ops = nb101_space.parse_arch(result["arch"])
            digest = nb101_space.canonical(matrix, ops)[2]
            if result["arch_hash"] not in (None, digest):
                raise CorruptInput(path, f"field 'arch_hash' is {result['arch_hash']!r} but the arch hashes to "
                                         f"{digest}")
        else:
            module = tss_space if space == "nb201" else sss_space
            index = module.index_of(tss_space.ops_of(result["arch"]) if space == "nb201"
                                    else sss_space.channels_of(result["arch"]))
            if result["arch_index"] not in (None, index):
                raise CorruptInput(path, f"field 'arch_index' is {result['arch_index']!r} but the arch is index "
                                         f"{index}")
    except ValueError as exc:
        raise CorruptInput(path, f"field 'arch' is not in the {space} space: {exc}") from None
    return BENCHMARK_OF_SPACE[space]


def read_result(path, required: bool = False) -> dict | None:
    """One file read and fully checked (:func:`schema.validate` and :func:`check_result`), or None when the file is
    not a training result (no format marker; ``required``: an error naming the file instead)."""
    document = _schema.read(path, required)
    if document is None:
        return None
    result = _schema.validate(document, path)
    check_result(result, path)
    return result


# ----------------------------------------------------------------------------------------------------------------------
# schema

def _schema_statements(models, views, server: bool = False) -> list[str]:
    """``CREATE ... IF NOT EXISTS`` statements of ``models`` (tables, then indexes) and ``views``.

    ``server``: PostgreSQL syntax (no SQLite table options; views created or replaced).
    """
    import peewee

    from contextlib import nullcontext

    from ._server import server_tables

    database = peewee.PostgresqlDatabase(None) if server else peewee.SqliteDatabase(":memory:")
    statements = []
    # bind_refs/backrefs off: never drag other models along onto this database
    with server_tables(models) if server else nullcontext(), \
            database.bind_ctx(list(models), bind_refs=False, bind_backrefs=False):
        for model in models:
            statements.append(model._schema._create_table(safe=True).query()[0])
        for model in models:
            for index in model._schema._create_indexes(safe=True):
                statements.append(index.query()[0])
    create = "CREATE OR REPLACE VIEW" if server else "CREATE VIEW IF NOT EXISTS"
    statements.extend((server_view(v) if server else v).replace("CREATE VIEW", create, 1) for v in views)
    statements.append(TRAINED_KEY_INDEX)
    return statements


class _ServerCursor:
    def __init__(self, cursor, lastrowid=None):
        self._cursor = cursor
        self.lastrowid = lastrowid

    def fetchone(self):
        return self._cursor.fetchone()

    def fetchall(self):
        return self._cursor.fetchall()


class ServerConnection:
    """The subset of ``sqlite3.Connection`` the ingesters use, over PostgreSQL (psycopg2 through peewee).

    Statements are written once, in SQLite's dialect, and translated here: ``?`` placeholders, ``INSERT OR
    IGNORE`` (an upsert that does nothing on conflict), the new provenance id (``RETURNING id``), and ``BEGIN
    IMMEDIATE`` (a transaction holding the provenance table's self-exclusive lock, so ingesters and a publishing
    converter take turns while readers never wait).
    """

    LOCK = "LOCK TABLE nasbench_source IN SHARE ROW EXCLUSIVE MODE"
    #: tells the shared ingestion helpers (``convert.nb101.add_forms``) which catalog to ask
    is_server = True

    def __init__(self, url: str):
        self.database = _db.url_database(url)
        self.database.connect(reuse_if_open=True)
        self.raw = self.database.connection()
        self.raw.autocommit = True

    @staticmethod
    def translate(sql: str) -> tuple[str, bool]:
        returning = False
        if sql.startswith("INSERT OR IGNORE INTO"):
            sql = "INSERT INTO" + sql[len("INSERT OR IGNORE INTO"):] + " ON CONFLICT DO NOTHING"
        elif sql.startswith("INSERT INTO nasbench_source "):
            sql += " RETURNING id"
            returning = True
        return _db.paramstyle(sql, "%s"), returning

    def execute(self, sql: str, params=()):
        cursor = self.raw.cursor()
        if sql.startswith("PRAGMA"):
            return _ServerCursor(cursor)
        if sql == "BEGIN IMMEDIATE":
            cursor.execute("BEGIN")
            cursor.execute(self.LOCK)
            return _ServerCursor(cursor)
        if not params:  # DDL and transaction control: no placeholders to translate
            cursor.execute(sql)
            return _ServerCursor(cursor)
        sql, returning = self.translate(sql)
        cursor.execute(sql, tuple(params))
        return _ServerCursor(cursor, cursor.fetchone()[0] if returning else None)

    def executemany(self, sql: str, rows):
        sql, _ = self.translate(sql)
        with self.raw.cursor() as cursor:
            cursor.executemany(sql, [tuple(r) for r in rows])

    def close(self):
        self.database.close()


def _connect_server(benchmarks, url: str) -> ServerConnection:
    """One server connection with the schema of every benchmark of ``benchmarks`` (a name or several) in place."""
    conn = ServerConnection(url)
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(74101)")  # one schema creator at a time
        for benchmark in [benchmarks] if isinstance(benchmarks, str) else benchmarks:
            for statement in _schema_statements(*SCHEMAS[benchmark], server=True):
                conn.execute(statement)
        from ._server import upgrade_source_table

        upgrade_source_table(conn.execute)
        conn.execute("COMMIT")
    except BaseException:
        conn.raw.rollback()
        conn.close()
        raise
    return conn


#: benchmark -> (models, views) of its database
SCHEMAS = {"nb101": (NB101_TABLES, NB101_VIEWS),
           "nb201": (NB201_TABLES, NB201_VIEWS), "nats_sss": (NATS_SSS_TABLES, NATS_SSS_VIEWS)}


def connect(benchmark: str, db_dir=None, hold: bool = False):
    """A writable connection to the benchmark's database, created with its schema when missing: SQLite in WAL mode,
    or the server of ``NASBENCHMARK_DB_URL`` (when no ``db_dir`` is given).

    ``hold`` (SQLite): return inside the write transaction that created the schema, for the caller to fill and
    commit, so that a failed ingestion leaves not even a new table or index behind.
    """
    if _db.database_url() and db_dir is None:
        return _connect_server(benchmark, _db.database_url()), _db._redact(_db.database_url())
    path = _db.database_path(benchmark, db_dir)
    nni_name = _db.NNI_FILE_NAMES.get(benchmark)
    if not path.exists() and nni_name and (path.parent / nni_name).is_file():
        # a new file of ours would shadow NNI's prebuilt file for every query
        raise NasbenchDbError(f"{path.parent} holds NNI's {nni_name}, which cannot take trained rows: convert the "
                              f"original file first ({_db.INSTALL_HINTS[benchmark]}) or ingest into another --db-dir")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NasbenchDbError(f"cannot create the database directory {path.parent}: {exc.strerror} (choose another "
                              "--db-dir or NASBENCHMARK_DIR)") from exc
    conn = sqlite3.connect(str(path), timeout=_db.SQLITE_BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(_db.SQLITE_BUSY_TIMEOUT_S * 1000)}")
        _enter_wal(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            if "device_kind" not in {row[1] for row in conn.execute("PRAGMA table_info(nasbench_source)")} and \
                    conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'nasbench_source'").fetchone():
                # Its NNI views would show the rows added now: rebuild it (other sources' rows are carried over).
                raise NasbenchDbError(f"{path} was built by an earlier nasbench_db, whose tables do not keep other "
                                      f"sources apart from the released runs: convert the original file again "
                                      f"({_db.INSTALL_HINTS[benchmark]}; ingested results are kept), then retry")
            for statement in _schema_statements(*SCHEMAS[benchmark]):
                conn.execute(statement)
            if not hold:
                conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except BaseException:
        _release(conn)  # back to rollback-journal mode where possible: no WAL side files left behind a failure
        raise
    return conn, path


def _enter_wal(conn) -> None:
    """Switch ``conn``'s file to WAL mode, waiting up to the busy timeout for other connections.

    Changing the journal mode needs the file's exclusive lock, and SQLite answers a conflict there (another ingester
    switching it at the same moment, or the last one out switching it back) with an immediate ``database is locked``
    instead of calling the busy handler, so the wait is done here: short sleeps, growing, until the timeout.
    """
    deadline = time.monotonic() + _db.SQLITE_BUSY_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            remaining = deadline - time.monotonic()
            if "locked" not in str(exc) or remaining <= 0:
                raise
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.2)


def _release(conn) -> None:
    """Close, leaving the file in rollback-journal mode when no one else has it open (readers open it read-only,
    and an original converter's swap must not leave a stale -wal beside a new file)."""
    if isinstance(conn, ServerConnection):
        conn.close()
        return
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.Error:
        pass  # another ingester or reader is connected (the last one out switches it back), or the storage failed
    conn.close()


# ----------------------------------------------------------------------------------------------------------------------
# NB-101 rows

def _sets(entry: dict) -> dict:
    sets = entry.get("sets") or {}

    def acc(*names):
        for name in names:
            if name in sets and sets[name].get("acc") is not None:
                return float(sets[name]["acc"])
        return None

    return {"train": acc("train"), "valid": acc("valid", "x-valid"), "test": acc("test", "ori-test", "x-test")}


def _evaluation_at(result: dict, epoch: float):
    for entry in result["evaluations"]:
        if abs(float(entry["epoch"]) - epoch) < 1e-9:
            return entry
    return None


def _nb101_arch_id(conn, result: dict, path) -> int:
    from .nb101 import add_cell

    try:
        matrix, ops = nb101_space.parse_arch(result["arch"])
        pmatrix, pops, digest = nb101_space.canonical(matrix, ops)
    except ValueError as exc:
        raise CorruptInput(path, f"arch is not an NB-101 cell: {exc}") from None
    if result.get("arch_hash") not in (None, digest):
        raise CorruptInput(path, f"arch_hash {result['arch_hash']} does not match the arch (hashes to {digest})")
    return add_cell(conn, digest, nb101_space.matrix_to_adjacency(pmatrix), ",".join(pops), len(pmatrix),
                    int(result["parameters"]), path)


def _insert_source(conn, benchmark: str, result: dict, file_name: str, file_size, row_counts: dict) -> int:
    cursor = conn.execute(
        "INSERT INTO nasbench_source (benchmark, kind, file_name, file_size, sha256, converter, created_at, "
        "row_counts, device, details, device_kind) VALUES (?, 'trained', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (benchmark, file_name, file_size, result["result_key"], f"{CONVERTER_NAME} nasbench_db {__version__}",
         utc_now(), json.dumps(row_counts, sort_keys=True),
         result["device"].get("name") or result["device"].get("type"), _schema.canonical_json(result),
         result["device"].get("type")))
    return cursor.lastrowid


def _ingest_nb101(conn, result: dict, path, file_name: str, file_size) -> None:
    from .nb101 import Evaluation, add_config, add_run, next_trial_id

    arch_id = _nb101_arch_id(conn, result, path)
    epochs = int(result["epochs"])
    # keyed by dataset too: a Fashion-MNIST run is never a run of the cell's CIFAR-10 config
    config_id = add_config(conn, arch_id, epochs, str(result["dataset"]).lower(), path)
    trial_id = next_trial_id(conn, config_id, path)
    source_id = _insert_source(conn, "nb101", result, file_name, file_size,
                               {"nb101_trial": 1, "nb101_trial_halfway": 1})
    half = _evaluation_at(result, epochs / 2)
    final = _evaluation_at(result, float(epochs)) or result["evaluations"][-1]
    h = _sets(half) if half else {"train": None, "valid": None, "test": None}
    f = _sets(final)
    add_run(conn, trial_id, source_id,
            Evaluation(None, half["training_time"] if half else None, h["train"], h["valid"], h["test"]),
            Evaluation(None, final["training_time"], f["train"], f["valid"], f["test"]), result.get("total_time"),
            float(half["epoch"]) if half else epochs / 2, percent=False)


# ----------------------------------------------------------------------------------------------------------------------
# NB-201 / NATS size-space rows

def _cell_rows(benchmark: str, result: dict, path):
    """``(arch index, arch row SQL, arch row, config row builder)`` of a topology- or size-space result."""
    try:
        if benchmark == "nb201":
            ops = tss_space.ops_of(result["arch"])
            index = tss_space.index_of(ops)
        else:
            channels = sss_space.channels_of(result["arch"])
            index = sss_space.index_of(channels)
    except ValueError as exc:
        raise CorruptInput(path, f"arch is not in the {result['space']} space: {exc}") from None
    if result.get("arch_index") not in (None, index):
        raise CorruptInput(path, f"arch_index {result['arch_index']} does not match the arch (index {index})")
    if benchmark == "nb201":
        arch_json = json.dumps(tss_space.to_nni(ops), sort_keys=True, separators=(",", ":"))
        n3, n1 = tss_space.count_convs(ops)
        unique = tss_space.unique_index(ops)
        arch_sql = ("INSERT OR IGNORE INTO nb201_arch (id, arch_str, arch, unique_index, unique_str, num_conv3x3, "
                    "num_conv1x1, has_path) VALUES (?,?,?,?,?,?,?,?)")
        arch_row = (index, tss_space.arch_str(ops), arch_json, unique, tss_space.unique_str(ops), n3, n1,
                    tss_space.has_path(ops))
        config_sql = ("INSERT INTO nb201_trained_trialconfig (id, arch, num_epochs, num_channels, num_cells, "
                      "dataset, arch_index, unique_index) VALUES (?,?,?,?,?,?,?,?)")

        def config_row(config_id, epochs, dataset):
            return (config_id, arch_json, epochs, tss_space.NUM_CHANNELS, tss_space.NUM_CELLS, dataset, index, unique)
    else:
        text = sss_space.arch_str(channels)
        arch_sql = "INSERT OR IGNORE INTO nats_sss_arch (id, arch, c1, c2, c3, c4, c5) VALUES (?,?,?,?,?,?,?)"
        arch_row = (index, text, *channels)
        config_sql = ("INSERT INTO nats_sss_trained_trialconfig (id, arch, arch_index, num_epochs, dataset) "
                      "VALUES (?,?,?,?,?)")

        def config_row(config_id, epochs, dataset):
            return (config_id, text, index, epochs, dataset)
    return index, arch_sql, arch_row, config_sql, config_row


def _split_values(sets: dict, names) -> list:
    out = []
    for name in names:
        entry = sets.get(name) or {}
        out.append((entry.get("acc"), entry.get("loss")))
    return out


def _ingest_cells(conn, result: dict, path, file_name: str, file_size, benchmark: str) -> None:
    from .nb201 import SPLITS, SSS, TRIALS_PER_ARCH, TSS

    space = TSS if benchmark == "nb201" else SSS
    # Runs of other sources live in tables of their own (models.Nb201TrainedTrialStats): NNI's tables stay the release.
    config_table, trial_table = f"{space.prefix}_trained_trialconfig", f"{space.prefix}_trained_trialstats"
    epoch_table = f"{space.prefix}_trained_epoch"
    index, arch_sql, arch_row, config_sql, config_row = _cell_rows(benchmark, result, path)
    conn.execute(arch_sql, arch_row)
    epochs, dataset = int(result["epochs"]), result["dataset"]
    if epochs in space.epochs and dataset in SPLITS:  # the benchmark's own config id
        config_id = space.config_id(index, epochs, dataset)
        if not conn.execute(f"SELECT 1 FROM {config_table} WHERE id = ?", (config_id,)).fetchone():
            conn.execute(config_sql, config_row(config_id, epochs, dataset))
    else:  # a budget or dataset the benchmark never had: a config numbered after the benchmark's range
        row = conn.execute(f"SELECT id FROM {config_table} WHERE arch_index = ? AND num_epochs = ? AND "
                           "dataset = ?", (index, epochs, dataset)).fetchone()
        if row:
            config_id = row[0]
        else:
            floor = space.config_id(space.num_archs, space.epochs[0], tss_space.DATASETS[0])
            config_id = max(conn.execute(f"SELECT MAX(id) FROM {config_table}").fetchone()[0] or 0,
                            floor - 1) + 1
            conn.execute(config_sql, config_row(config_id, epochs, dataset))
    trial_id = max(conn.execute(f"SELECT MAX(id) FROM {trial_table}").fetchone()[0] or 0,
                   TRIALS_PER_ARCH * space.num_archs) + 1  # after every id the original converter can use
    names = SPLITS.get(dataset, SPLITS["cifar10-valid"])
    evaluations = {int(round(float(e["epoch"]))): e["sets"] for e in result["evaluations"]
                   if float(e["epoch"]) == int(float(e["epoch"])) and float(e["epoch"]) >= 1}
    stats = {int(e["epoch"]): e for e in result["epoch_stats"]}
    epoch_rows = []
    for epoch in range(1, epochs + 1):
        train = stats.get(epoch) or {}
        values = _split_values(evaluations.get(epoch, {}), names)
        row = (trial_id, epoch, train.get("train_acc"), values[0][0], values[1][0], values[2][0],
               train.get("train_loss"), values[0][1], values[1][1], values[2][1])
        if any(v is not None for v in row[2:]):
            epoch_rows.append(row)
    final_sets = result["evaluations"][-1]["sets"]
    final = _split_values(final_sets, names)
    last = stats.get(epochs) or (result["epoch_stats"][-1] if result["epoch_stats"] else {})
    source_id = _insert_source(conn, benchmark, result, file_name, file_size,
                               {trial_table: 1, epoch_table: len(epoch_rows)})
    conn.execute(
        f"INSERT INTO {trial_table} (id, config_id, seed, train_acc, valid_acc, test_acc, ori_test_acc, "
        "train_loss, valid_loss, test_loss, ori_test_loss, parameters, latency, flops, training_time, "
        "valid_evaluation_time, test_evaluation_time, ori_test_evaluation_time, source_id, result_key, "
        "file_parameters, file_flops) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,NULL,?,?,NULL,NULL,NULL,?,?,NULL,NULL)",
        (trial_id, config_id, int(result["seed"]), last.get("train_acc"), final[0][0], final[1][0], final[2][0],
         last.get("train_loss"), final[0][1], final[1][1], final[2][1], int(result["parameters"]) / 1e6,
         float(result["flops"]), result.get("training_time"), source_id, result["result_key"]))
    conn.executemany(f"INSERT INTO {epoch_table} (trial_id, current_epoch, train_acc, valid_acc, test_acc, "
                     "ori_test_acc, train_loss, valid_loss, test_loss, ori_test_loss) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     epoch_rows)


def _ingest_nb201(conn, result, path, file_name, file_size):
    _ingest_cells(conn, result, path, file_name, file_size, "nb201")


def _ingest_nats_sss(conn, result, path, file_name, file_size):
    _ingest_cells(conn, result, path, file_name, file_size, "nats_sss")


INGESTERS = {"nb101": _ingest_nb101, "nb201": _ingest_nb201, "nats_sss": _ingest_nats_sss}


def _ingest_into(conn, items, report: ResultsReport) -> list:
    """Insert ``items`` (result, path, file name, size) inside the open transaction of ``conn``, skipping keys
    already present. Returns the ids of the provenance rows added."""
    added = []
    for result, path, file_name, file_size in items:
        benchmark = BENCHMARK_OF_SPACE[result["space"]]
        known = conn.execute("SELECT 1 FROM nasbench_source WHERE benchmark = ? AND kind = 'trained' AND "
                             "sha256 = ?", (benchmark, result["result_key"])).fetchone()
        if known:
            report.skipped += 1
            continue
        INGESTERS[benchmark](conn, result, path, file_name, file_size)
        added.append(conn.execute("SELECT id FROM nasbench_source WHERE benchmark = ? AND kind = 'trained' AND "
                                  "sha256 = ?", (benchmark, result["result_key"])).fetchone()[0])
        report.ingested += 1
        device = result["device"].get("name") or result["device"].get("type")
        report.by_device[device] = report.by_device.get(device, 0) + 1
    return added


def _rollback(conn) -> None:
    try:
        if isinstance(conn, ServerConnection):
            conn.raw.rollback()
        else:
            conn.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - the connection may be gone already; the original error is what matters
        pass


def _ingest_batch(conn, batch: list, report: ResultsReport) -> None:
    """One write transaction: skip known keys, insert the rest."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        _ingest_into(conn, batch, report)
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


#: tables holding the rows of one trained result, by benchmark: (trial table, tables of rows keyed by its trial id)
TRIAL_TABLES = {"nb101": ("nb101_trial", ("nb101_trial_halfway",)),
                "nb201": ("nb201_trained_trialstats", ("nb201_trained_epoch",)),
                "nats_sss": ("nats_sss_trained_trialstats", ("nats_sss_trained_epoch",))}


def _withdraw(conn, benchmark: str, source_ids: list) -> None:
    """Delete the results of ``source_ids`` again (their trials, per-trial rows and provenance rows): undoes a
    commit when a later database of the same command failed to commit. Cells and configs the results added stay
    (they hold no run, so no query returns them)."""
    trials, children = TRIAL_TABLES[benchmark]
    conn.execute("BEGIN IMMEDIATE")
    try:
        for start in range(0, len(source_ids), 500):
            chunk = source_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for child in children:
                conn.execute(f"DELETE FROM {child} WHERE trial_id IN (SELECT id FROM {trials} WHERE source_id IN "
                             f"({marks}))", chunk)
            conn.execute(f"DELETE FROM {trials} WHERE source_id IN ({marks})", chunk)
            conn.execute(f"DELETE FROM nasbench_source WHERE id IN ({marks})", chunk)
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _storage_error(exc: BaseException, where) -> NasbenchDbError | None:
    """A clear error (with the fix) for a failure of the storage under a database, or None for anything else.

    SQLite reports a full filesystem as ``SQLITE_FULL``, or, when the shared-memory file of WAL mode cannot grow, as
    an I/O error (``SQLITE_IOERR_SHMSIZE``): an I/O error where the filesystem has (almost) no space left is a full
    disk too.
    """
    text = str(exc).lower()
    name = getattr(exc, "sqlite_errorname", "") or ""  # Python >= 3.11
    full = (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or name == "SQLITE_FULL" \
        or "disk is full" in text or "no space left" in text
    io_error = name.startswith("SQLITE_IOERR") or "disk i/o error" in text
    if io_error and not full:
        full = _free_bytes(where) < NEARLY_FULL_BYTES
    if full:
        return NasbenchDbError(f"disk full while ingesting into {where}: nothing was ingested; free space there or "
                               "choose another --db-dir / NASBENCHMARK_DIR, then run the command again")
    if io_error:
        return NasbenchDbError(f"disk I/O error while ingesting into {where} ({name or exc}): nothing was ingested; "
                               "check the storage under it (a network filesystem may not support SQLite's locks: "
                               "choose a local --db-dir), then run the command again")
    if "readonly" in text or "read-only" in text or "unable to open database" in text or \
            name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")) or \
            (isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)):
        return NasbenchDbError(f"cannot write to {where}: the database or its directory is read-only or not "
                               f"writable ({exc}); nothing was ingested. Fix the permissions, or choose another "
                               "--db-dir / NASBENCHMARK_DIR")
    if "database is locked" in text:
        return NasbenchDbError(f"{where} stayed locked by another process for {_db.SQLITE_BUSY_TIMEOUT_S:g} s: "
                               "nothing was ingested; run the command again")
    return None


#: free bytes below which an I/O error of SQLite is taken for a full filesystem
NEARLY_FULL_BYTES = 1 << 20


def _free_bytes(where) -> float:
    """Bytes free to unprivileged writers on the filesystem of ``where`` (its nearest existing ancestor); infinite
    when unknown."""
    path = Path(where)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        stats = os.statvfs(path)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return float("inf")
    return stats.f_bavail * stats.f_frsize


def _validate_all(files, report: ResultsReport, required: bool = False) -> list:
    """Read and check every file before anything is written; keeps results in memory up to CACHE_BYTES.
    ``required``: a file that is not a training result is an error (a file named on its own), not skipped."""
    pending, cached = [], 0
    for file in files:
        result = read_result(file, required)
        if result is None:
            report.ignored.append((file, f"no \"format\": {_schema.FORMAT!r} marker: not a training result"))
            continue
        size = file.stat().st_size
        keep = cached + size <= CACHE_BYTES
        cached += size if keep else 0
        pending.append(_Pending(file, BENCHMARK_OF_SPACE[result["space"]], result["result_key"], size,
                                result if keep else None))
    return pending


def _items(pending: list, benchmark: str | None = None):
    """(result, path, file name, size) of each pending result (of ``benchmark`` only, when given), reading evicted
    ones again (and checking that the file still holds the result that was validated)."""
    for entry in pending:
        if benchmark is not None and entry.benchmark != benchmark:
            continue
        result = entry.result
        if result is None:
            result = read_result(entry.path)
            if result is None or result["result_key"] != entry.result_key:
                raise CorruptInput(entry.path, "the file changed while the results were being ingested: nothing was "
                                               "ingested; run the command again")
        yield result, entry.path, entry.path.name, entry.size


def convert_results(path, db_dir=None) -> ResultsReport:
    """Ingest one result JSON or a directory of them (see the module docstring): all or nothing. Returns what was
    done; ``report.ignored`` lists the entries that are not training results."""
    files, ignored = scan(path)
    report = ResultsReport(path=str(path), ignored=list(ignored))
    # a file named on its own must be a result; in a directory, other JSON files (search outputs) are skipped
    pending = _validate_all(files, report, required=files == [Path(path)])  # scan's answer for a file: itself
    report.files = len(pending)
    benchmarks = sorted({entry.benchmark for entry in pending})
    if len(benchmarks) == 1:
        report.database = str(_db.database_path(benchmarks[0], db_dir))
    else:
        report.database = str(_db.benchmark_dir(db_dir))
    if not pending:
        return report
    url = _db.database_url() if db_dir is None else None
    if url:
        report.database = _db._redact(url)
        _write_server(url, benchmarks, pending, report)
    else:
        _write_sqlite(db_dir, benchmarks, pending, report)
    return report


def _write_server(url: str, benchmarks, pending, report) -> None:
    """Everything in one server transaction."""
    conn = _connect_server(benchmarks, url)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            _ingest_into(conn, _items(pending), report)
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
    finally:
        _release(conn)


def _check_space(path: Path, result_bytes: int) -> None:
    """Refuse before touching the database when its filesystem cannot hold even the results' JSON (each result keeps
    its whole JSON) plus a margin: on a full disk SQLite fails in its WAL files, and a database switched to WAL mode
    there cannot be read until space is freed. A lower bound: it never refuses what could fit."""
    free = _free_bytes(path)
    needed = result_bytes + NEARLY_FULL_BYTES
    if free < needed:
        raise NasbenchDbError(f"disk full: ingesting into {path} needs at least {needed / 1e6:.1f} MB, and "
                              f"{free / 1e6:.1f} MB are free there: nothing was ingested; free space there or choose "
                              "another --db-dir / NASBENCHMARK_DIR, then run the command again")


def _write_sqlite(db_dir, benchmarks, pending, report) -> None:
    """One write transaction per database file, opened in name order and committed together; a commit that fails
    after another database committed withdraws that database's new results again."""
    opened, committed = [], []
    counts = (report.ingested, report.skipped, dict(report.by_device))
    current = None
    for benchmark in benchmarks:
        _check_space(_db.database_path(benchmark, db_dir),
                     sum(entry.size for entry in pending if entry.benchmark == benchmark))
    try:
        for benchmark in benchmarks:
            current = _db.database_path(benchmark, db_dir)
            # An existing database is held in the transaction that adds any missing table or index, so a failure
            # leaves it exactly as it was; a new one keeps its committed empty schema (readers see no runs, rather
            # than a file without tables).
            existed = current.exists()
            conn, path = connect(benchmark, db_dir, hold=existed)
            if not existed:
                conn.execute("BEGIN IMMEDIATE")
            opened.append([benchmark, conn, path, []])
        for entry in opened:
            current = entry[2]
            entry[3] = _ingest_into(entry[1], _items(pending, entry[0]), report)
        for entry in opened:
            current = entry[2]
            entry[1].execute("COMMIT")
            committed.append(entry)
    except BaseException as exc:
        for entry in opened:
            if entry not in committed:
                _rollback(entry[1])
        for benchmark, conn, path, source_ids in committed:
            if source_ids:
                _withdraw(conn, benchmark, source_ids)
        report.ingested, report.skipped, report.by_device = counts[0], counts[1], counts[2]
        if isinstance(exc, (sqlite3.Error, OSError)):
            mapped = _storage_error(exc, current if current is not None else _db.benchmark_dir(db_dir))
            if mapped is not None:
                raise mapped from exc
        raise
    finally:
        for entry in opened:
            _release(entry[1])


# ----------------------------------------------------------------------------------------------------------------------
# carry-over across a rebuild from an original file

def carry_over(build) -> int:
    """Copy the trained results of the database ``build`` replaces into the new file (before the swap).

    Re-ingests each result from the JSON its Source row keeps, so ids follow the new file's cells and configs.
    Returns how many results were carried over. A benchmark whose trained rows cannot be re-ingested yet raises
    rather than drop them.
    """
    old = build.final
    if getattr(build, "url", None):
        rows = trained_sources_on_server(build.url, build.benchmark)
        old = _db._redact(build.url)
    elif not old.is_file():
        return 0
    else:
        rows = trained_sources_in_file(old, build.benchmark)
    if not rows:
        return 0
    if build.benchmark not in INGESTERS:
        raise NasbenchDbError(f"{old} holds {len(rows)} trained results that this version cannot carry over: "
                              "ingest them again after converting, or convert into another --db-dir")
    conn = build.connection
    conn.execute(TRAINED_KEY_INDEX)
    report = ResultsReport(path=str(old))
    batch = []
    for file_name, file_size, details in rows:
        where = f"{old} (trained source {file_name})"
        result = _schema.validate(loads_json(details, where), where)
        batch.append((result, old, file_name, file_size))
    _ingest_batch(conn, batch, report)
    return report.ingested


def trained_sources_on_server(url: str, benchmark: str) -> list[tuple]:
    """``(file_name, file_size, details)`` of every trained result of ``benchmark`` on the server (none when the
    server has no provenance table yet)."""
    database = _db.url_database(url)
    try:
        if "nasbench_source" not in database.get_tables():
            return []
        return _db.fetchall(database, "SELECT file_name, file_size, details FROM nasbench_source "
                                      "WHERE kind = 'trained' AND benchmark = ? ORDER BY id", (benchmark,))
    finally:
        database.close()


def trained_sources_in_file(path, benchmark: str) -> list[tuple]:
    """``(file_name, file_size, details)`` of every trained result of ``benchmark`` in the SQLite file ``path``.

    A file without our provenance table (NNI's prebuilt file) or that is not a database has none; any other failure
    to read it raises, so a re-conversion never drops trained results silently (the build is abandoned and the old
    file stays)."""
    try:
        source = sqlite3.connect(_db.sqlite_uri(path, mode="ro"), uri=True, timeout=_db.SQLITE_BUSY_TIMEOUT_S)
        try:
            tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "nasbench_source" not in tables:
                return []
            return source.execute("SELECT file_name, file_size, details FROM nasbench_source WHERE kind = "
                                  "'trained' AND benchmark = ? ORDER BY id", (benchmark,)).fetchall()
        finally:
            source.close()
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            return []  # not ours: nothing to keep
        raise NasbenchDbError(f"cannot read the trained results of {path} to carry them over ({exc}): nothing was "
                              "changed; fix the file's permissions or convert into another --db-dir") from exc
