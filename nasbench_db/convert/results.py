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

Tables: NB-101 results go to ``nb101_trial`` (halfway and final evaluations) and ``nb101_trial_halfway`` (the
halfway evaluation's epoch), under the config of their cell, budget and dataset (added when new: a Fashion-MNIST run
never becomes a run of the cell's CIFAR-10 config). NB-201 / NATS size-space results go to tables of their own,
``nb201_trained_trialconfig`` / ``_trialstats`` / ``_epoch`` (``nats_sss_trained_*``), with NNI's split mapping of
:data:`nasbench_db.convert.nb201.SPLITS` (final = last epoch), so NNI's tables keep exactly the released runs. A
budget or dataset the benchmark never had (a 2-epoch smoke run, Fashion-MNIST) gets a config numbered after the
benchmark's.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from .. import db as _db
from ..errors import CorruptInput, NasbenchDbError
from ..models import NATS_SSS_TABLES, NATS_SSS_VIEWS, NB101_TABLES, NB101_VIEWS, NB201_TABLES, NB201_VIEWS
from ..spaces import nats_sss as sss_space
from ..spaces import nb101 as nb101_space
from ..spaces import nb201 as tss_space
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
    statements.extend(v.replace("CREATE VIEW", create, 1) for v in views)
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


def _connect_server(benchmark: str, url: str) -> ServerConnection:
    conn = ServerConnection(url)
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(74101)")  # one schema creator at a time
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


def connect(benchmark: str, db_dir=None):
    """A writable connection to the benchmark's database, created with its schema when missing: SQLite in WAL mode,
    or the server of ``NASBENCHMARK_DB_URL`` (when no ``db_dir`` is given)."""
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
        raise NasbenchDbError(f"cannot create the database directory {path.parent}: {exc.strerror}") from exc
    conn = sqlite3.connect(str(path), timeout=_db.SQLITE_BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(_db.SQLITE_BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
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
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        conn.close()
        raise
    return conn, path


def _release(conn) -> None:
    """Close, leaving the file in rollback-journal mode when no one else has it open (readers open it read-only,
    and an original converter's swap must not leave a stale -wal beside a new file)."""
    if isinstance(conn, ServerConnection):
        conn.close()
        return
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
        if isinstance(conn, ServerConnection):
            conn.raw.rollback()
        else:
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
        report.database = str(_db.benchmark_dir(db_dir))
    if len(loaded) > 1:
        report.database = str(_db.benchmark_dir(db_dir))
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
    if getattr(build, "url", None):
        rows = trained_sources_on_server(build.url, build.benchmark)
        old = _db._redact(build.url)
    elif not old.is_file():
        return 0
    else:
        try:
            source = sqlite3.connect(f"file:{old}?mode=ro", uri=True, timeout=_db.SQLITE_BUSY_TIMEOUT_S)
            try:
                rows = source.execute("SELECT file_name, file_size, details FROM nasbench_source WHERE kind = "
                                      "'trained' AND benchmark = ? ORDER BY id", (build.benchmark,)).fetchall()
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
