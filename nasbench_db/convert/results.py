"""Ingest the JSON results of ``nasbench-db train`` beside the original rows.

Every result becomes one :class:`~nasbench_db.models.Source` row (``kind='trained'``, ``device`` = the device that
trained it, ``sha256`` = the result's ``result_key``, ``details`` = the whole result JSON) and its trial row(s) in the
benchmark's own tables, so queries see them only when asked (``source=None`` / a device / a source id).

* **Idempotent**: a result whose ``result_key`` is already in the database is skipped (a unique partial index on
  ``nasbench_source(benchmark, sha256) WHERE kind = 'trained'`` backs the check).
* **Concurrent-safe**: SQLite in WAL mode with a busy timeout; each batch of results is one short
  ``BEGIN IMMEDIATE`` transaction, so several ingesters (e.g. the tasks of a job array) can run at once. It never
  uses the build-and-swap of the original converters, which would lose a concurrent ingester's rows.
* **Creates** the database with the benchmark's schema when it does not exist yet.
* **Survives re-conversion**: :func:`carry_over` re-ingests the trained results of a database that a converter of
  an original file is about to replace (called by :meth:`DatabaseBuild.finish`), from the JSON kept in ``details``.

Supported now: NB-101 (``nb101_arch`` / ``nb101_config`` / ``nb101_trial``). NB-201 and NATS size-space results are
recognised and refused with a clear error until their tables take trained rows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from .. import db as _db
from ..errors import CorruptInput, NasbenchDbError
from ..models import NB101_CONFIG_ID_FACTOR, NB101_TRIAL_ID_FACTOR, NB101_VIEWS, Nb101Arch, Nb101Config, Nb101Trial, \
    Source
from ..spaces import nb101 as nb101_space
from ..train import schema as _schema
from ._build import utc_now

CONVERTER_NAME = "train-results"
BATCH_RESULTS = 200
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

    def summary(self) -> str:
        devices = ", ".join(f"{d}: {n}" for d, n in sorted(self.by_device.items())) or "none"
        return (f"ingested {self.ingested} of {self.files} results from {self.path} into {self.database} "
                f"({self.skipped} already present; by device: {devices})")


def result_files(path) -> list[Path]:
    """``path`` itself, or every ``*.json`` under the directory ``path`` (sorted; hidden temp files skipped)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*.json") if not p.name.startswith("."))
    raise NasbenchDbError(f"no such file or directory: {path} (expected a result JSON or a directory of them)")


# ----------------------------------------------------------------------------------------------------------------------
# schema

def _schema_statements(models, views) -> list[str]:
    """``CREATE ... IF NOT EXISTS`` statements of ``models`` (tables, then indexes) and ``views`` for SQLite."""
    import peewee

    database = peewee.SqliteDatabase(":memory:")
    statements = []
    with database.bind_ctx(list(models)):
        for model in models:
            statements.append(model._schema._create_table(safe=True).query()[0])
        for model in models:
            for index in model._schema._create_indexes(safe=True):
                statements.append(index.query()[0])
    statements.extend(v.replace("CREATE VIEW", "CREATE VIEW IF NOT EXISTS", 1) for v in views)
    statements.append(TRAINED_KEY_INDEX)
    return statements


NB101_SCHEMA = (Source, Nb101Arch, Nb101Config, Nb101Trial)


def connect(benchmark: str, db_dir=None) -> tuple[sqlite3.Connection, Path]:
    """A writable WAL connection to the benchmark's SQLite file, created with its schema when missing."""
    if _db.database_url() and db_dir is None:
        raise NasbenchDbError("ingesting results into NASBENCHMARK_DB_URL is not supported yet: unset it and use "
                              "the SQLite file (--db-dir)")
    if benchmark != "nb101":
        raise NasbenchDbError(f"ingesting {benchmark} results is not supported yet (NB-101 only)")
    path = _db.database_path(benchmark, db_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NasbenchDbError(f"cannot create the database directory {path.parent}: {exc.strerror}") from exc
    conn = sqlite3.connect(str(path), timeout=_db.SQLITE_BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(_db.SQLITE_BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _schema_statements(NB101_SCHEMA, NB101_VIEWS):
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        conn.close()
        raise
    return conn, path


def _release(conn: sqlite3.Connection) -> None:
    """Close, leaving the file in rollback-journal mode when no one else has it open (readers open it read-only,
    and an original converter's swap must not leave a stale -wal beside a new file)."""
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.OperationalError:
        pass  # another ingester or reader is connected: the last one out switches it back
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
    try:
        matrix, ops = nb101_space.parse_arch(result["arch"])
        pmatrix, pops, digest = nb101_space.canonical(matrix, ops)
    except ValueError as exc:
        raise CorruptInput(path, f"arch is not an NB-101 cell: {exc}") from None
    if result.get("arch_hash") not in (None, digest):
        raise CorruptInput(path, f"arch_hash {result['arch_hash']} does not match the arch (hashes to {digest})")
    row = conn.execute("SELECT id FROM nb101_arch WHERE hash = ?", (digest,)).fetchone()
    if row:
        return row[0]
    next_id = (conn.execute("SELECT MAX(id) FROM nb101_arch").fetchone()[0] or 0) + 1
    conn.execute("INSERT INTO nb101_arch (id, hash, num_vertices, adjacency, operations, parameters) "
                 "VALUES (?,?,?,?,?,?)", (next_id, digest, len(pmatrix), nb101_space.matrix_to_adjacency(pmatrix),
                                          ",".join(pops), int(result["parameters"])))
    return next_id


def _nb101_config_id(conn, arch_id: int, epochs: int, path) -> int:
    low = arch_id * NB101_CONFIG_ID_FACTOR
    rows = conn.execute("SELECT id, num_epochs FROM nb101_config WHERE id BETWEEN ? AND ?",
                        (low, low + NB101_CONFIG_ID_FACTOR - 1)).fetchall()
    for config_id, num_epochs in rows:
        if num_epochs == epochs:
            return config_id
    if len(rows) >= NB101_CONFIG_ID_FACTOR:
        raise CorruptInput(path, f"too many epoch budgets for this cell: max {NB101_CONFIG_ID_FACTOR}")
    config_id = low + max((r[0] - low for r in rows), default=-1) + 1
    conn.execute("INSERT INTO nb101_config (id, arch_id, num_epochs) VALUES (?,?,?)", (config_id, arch_id, epochs))
    return config_id


def _insert_source(conn, benchmark: str, result: dict, file_name: str, file_size) -> int:
    cursor = conn.execute(
        "INSERT INTO nasbench_source (benchmark, kind, file_name, file_size, sha256, converter, created_at, "
        "row_counts, device, details) VALUES (?, 'trained', ?, ?, ?, ?, ?, ?, ?, ?)",
        (benchmark, file_name, file_size, result["result_key"], f"{CONVERTER_NAME} nasbench_db {__version__}",
         utc_now(), json.dumps({"nb101_trial": 1}), result["device"].get("name") or result["device"].get("type"),
         _schema.canonical_json(result)))
    return cursor.lastrowid


def _ingest_nb101(conn, result: dict, path, file_name: str, file_size) -> None:
    arch_id = _nb101_arch_id(conn, result, path)
    epochs = int(result["epochs"])
    config_id = _nb101_config_id(conn, arch_id, epochs, path)
    low = config_id * NB101_TRIAL_ID_FACTOR
    last = conn.execute("SELECT MAX(id) FROM nb101_trial WHERE id BETWEEN ? AND ?",
                        (low, low + NB101_TRIAL_ID_FACTOR - 1)).fetchone()[0]
    trial_id = low if last is None else last + 1
    if trial_id > low + NB101_TRIAL_ID_FACTOR - 1:
        raise NasbenchDbError(f"{path}: this config already holds {NB101_TRIAL_ID_FACTOR} runs, the maximum")
    source_id = _insert_source(conn, "nb101", result, file_name, file_size)
    half = _evaluation_at(result, epochs / 2)
    final = _evaluation_at(result, float(epochs)) or result["evaluations"][-1]
    h = _sets(half) if half else {"train": None, "valid": None, "test": None}
    f = _sets(final)
    conn.execute(
        "INSERT INTO nb101_trial (id, source_id, halfway_training_time, halfway_train_acc, halfway_valid_acc, "
        "halfway_test_acc, training_time, train_acc, valid_acc, test_acc, total_time) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (trial_id, source_id, half["training_time"] if half else None, h["train"], h["valid"], h["test"],
         final["training_time"], f["train"], f["valid"], f["test"], result.get("total_time")))


INGESTERS = {"nb101": _ingest_nb101}


def _ingest_batch(conn, batch: list, report: ResultsReport) -> None:
    """One short write transaction: skip known keys, insert the rest."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for result, path, file_name, file_size in batch:
            benchmark = BENCHMARK_OF_SPACE[result["space"]]
            known = conn.execute("SELECT 1 FROM nasbench_source WHERE benchmark = ? AND kind = 'trained' AND "
                                 "sha256 = ?", (benchmark, result["result_key"])).fetchone()
            if known:
                report.skipped += 1
                continue
            INGESTERS[benchmark](conn, result, path, file_name, file_size)
            report.ingested += 1
            device = result["device"].get("name") or result["device"].get("type")
            report.by_device[device] = report.by_device.get(device, 0) + 1
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def convert_results(path, db_dir=None) -> ResultsReport:
    """Ingest one result JSON or a directory of them (see the module docstring). Returns what was done."""
    files = result_files(path)
    report = ResultsReport(path=str(path), files=len(files))
    loaded: dict[str, list] = {}
    for file in files:
        result = _schema.load(file)
        benchmark = BENCHMARK_OF_SPACE[result["space"]]
        if benchmark not in INGESTERS:
            raise NasbenchDbError(f"{file}: ingesting {result['space']} results is not supported yet (NB-101 only)")
        loaded.setdefault(benchmark, []).append((result, file, file.name, file.stat().st_size))
    for benchmark, items in loaded.items():
        conn, db_path = connect(benchmark, db_dir)
        report.database = str(db_path)
        try:
            for start in range(0, len(items), BATCH_RESULTS):
                _ingest_batch(conn, items[start:start + BATCH_RESULTS], report)
        finally:
            _release(conn)
    if not report.database:
        report.database = str(_db.database_path("nb101", db_dir))
    return report


# ----------------------------------------------------------------------------------------------------------------------
# carry-over across a rebuild from an original file

def carry_over(build) -> int:
    """Copy the trained results of the database ``build`` replaces into the new file (before the swap).

    Re-ingests each result from the JSON its Source row keeps, so ids follow the new file's cells and configs.
    Returns how many results were carried over. A benchmark whose trained rows cannot be re-ingested yet raises
    rather than drop them.
    """
    old = build.final
    if not old.is_file():
        return 0
    try:
        source = sqlite3.connect(f"file:{old}?mode=ro", uri=True, timeout=_db.SQLITE_BUSY_TIMEOUT_S)
        try:
            rows = source.execute("SELECT file_name, file_size, details FROM nasbench_source "
                                  "WHERE kind = 'trained' AND benchmark = ? ORDER BY id", (build.benchmark,)).fetchall()
        finally:
            source.close()
    except sqlite3.DatabaseError:
        return 0  # no provenance table (an NNI file) or not a database: nothing of ours to keep
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
        result = _schema.validate(json.loads(details), f"{old} (trained source {file_name})")
        batch.append((result, old, file_name, file_size))
    _ingest_batch(conn, batch, report)
    return report.ingested
