"""`convert results`: every file validated before anything is written, then all of it in one transaction.

Needs no torch and no dataset: the results are written here in format 1 (as `nasbench-db train` writes them), with
made-up numbers on real cells.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasbench_db.cli import cli
from nasbench_db.convert import results as results_module
from nasbench_db.convert.nb101 import convert_nb101
from nasbench_db.convert.results import convert_results
from nasbench_db.errors import CorruptInput, NasbenchDbError
from nasbench_db.train import schema

from conftest import SAMPLE_TFRECORD
from test_concurrency import synthetic_result, write_results

NB201_ARCH = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


def nb201_result(seed: int, epochs: int = 3, dataset: str = "cifar10-valid") -> dict:
    from nasbench_db.spaces import nb201 as space

    def sets(epoch):
        return {"x-valid": {"acc": 50.0 + epoch, "loss": 1.0, "correct": 5, "count": 10},
                "ori-test": {"acc": 40.0 + epoch, "loss": 1.5, "correct": 4, "count": 10}}

    result = {
        "format": schema.FORMAT, "format_version": schema.FORMAT_VERSION, "space": "nb201", "arch": NB201_ARCH,
        "arch_hash": None, "arch_index": space.index_of(NB201_ARCH), "dataset": dataset,
        "data": {"scheme": "nb201", "sets": {}}, "epochs": epochs, "seed": seed, "parameters": 1_000_000,
        "flops": 100.0, "protocol": {},
        "epoch_stats": [{"epoch": e, "lr": 0.1, "train_loss": 1.0, "train_acc": 30.0 + e, "steps": 2,
                         "train_time": 1.0} for e in range(1, epochs + 1)],
        "evaluations": [{"epoch": float(e), "step": 2 * e, "training_time": float(e), "sets": sets(e)}
                        for e in range(1, epochs + 1)],
        "training_time": float(epochs), "total_time": epochs + 1.0, "status": "completed",
        "device": {"type": "cpu", "name": "test-cpu", "count": 1}, "runtime": {}, "software": {}, "host": "test",
        "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:00:01+00:00",
    }
    return schema.seal(result)


def trained_count(db_dir: Path, benchmark: str = "nb101") -> int | None:
    """Trained provenance rows in the benchmark's file (None when the file does not exist)."""
    path = Path(db_dir) / {"nb101": "nasbench101.db", "nb201": "nasbench201.db"}[benchmark]
    if not path.exists():
        return None
    conn = sqlite3.connect(str(path))
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "nasbench_source" not in tables:
            return 0
        return conn.execute("SELECT COUNT(*) FROM nasbench_source WHERE kind = 'trained'").fetchone()[0]
    finally:
        conn.close()


def invoke(*args):
    return CliRunner().invoke(cli, ["convert", "results", *map(str, args)])


def assert_error(result, *fragments):
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: "), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for fragment in fragments:
        assert fragment in result.output, result.output


# ----------------------------------------------------------------------------------------------------------------------
# all or nothing


def test_250_good_results_and_1_bad_commit_nothing(tmp_path, nb101_real_cells):
    db_dir = tmp_path / "db"
    convert_nb101(SAMPLE_TFRECORD, db_dir, progress=False)
    results = tmp_path / "results"
    write_results(results, nb101_real_cells, range(250))
    bad = synthetic_result(nb101_real_cells[0], 108, 999)
    bad["epochs"] = -3
    schema.seal(bad)
    (results / "x.json").write_text(json.dumps(bad))
    before = (db_dir / "nasbench101.db").read_bytes()
    outcome = invoke(results, "--db-dir", db_dir)
    assert_error(outcome, f"{results / 'x.json'}: field 'epochs' must be an integer 1..10000: got -3")
    assert (db_dir / "nasbench101.db").read_bytes() == before  # not a byte written
    (results / "x.json").unlink()
    outcome = invoke(results, "--db-dir", db_dir)
    assert outcome.exit_code == 0, outcome.output
    assert "ingested 250 of 250 results" in outcome.output and trained_count(db_dir) == 250


def test_good_nb101_and_bad_nb201_commit_nothing(tmp_path, nb101_real_cells):
    db_dir = tmp_path / "db"
    results = tmp_path / "results"
    write_results(results, nb101_real_cells, range(3))
    bad = nb201_result(1)
    bad["arch"] = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|"  # a node short
    schema.seal(bad)
    (results / "z-nb201.json").write_text(json.dumps(bad))
    outcome = invoke(results, "--db-dir", db_dir)
    assert_error(outcome, "z-nb201.json: field 'arch' is not in the nb201 space")
    assert trained_count(db_dir) is None and trained_count(db_dir, "nb201") is None  # nothing even created
    (results / "z-nb201.json").write_text(json.dumps(nb201_result(1)))
    outcome = invoke(results, "--db-dir", db_dir)
    assert outcome.exit_code == 0, outcome.output
    assert trained_count(db_dir) == 3 and trained_count(db_dir, "nb201") == 1
    assert f"into {db_dir}" in outcome.output  # two databases: the directory is named


def _field_cases():
    """(name, edit of a good NB-101 result as raw JSON text or a dict change, expected message fragment)."""
    return [
        ("zero epochs", {"epochs": 0}, "field 'epochs' must be an integer 1..10000: got 0"),
        ("huge epochs", {"epochs": 10 ** 12}, "field 'epochs' must be an integer 1..10000: got 1000000000000"),
        ("text epochs", {"epochs": "half"}, "field 'epochs' must be an integer 1..10000: got 'half'"),
        ("float epochs", {"epochs": 2.5}, "field 'epochs' must be an integer 1..10000: got 2.5"),
        ("bool seed", {"seed": True}, "field 'seed' must be an integer"),
        ("seed 2^70", {"seed": 2 ** 70}, "field 'seed' must be an integer -9223372036854775808..9223372036854775807"
                                         " (SQLite's 64-bit range): got 1180591620717411303424"),
        ("parameters 10^400", {"parameters": 10 ** 400}, "field 'parameters' must be an integer -92233720368547758"
                                                         "08..9223372036854775807 (SQLite's 64-bit range): got an "
                                                         "integer of 401 digits"),
        ("negative parameters", {"parameters": -5}, "field 'parameters' must be an integer 1..9223372036854775807"),
        ("text flops", {"flops": "many"}, "field 'flops' must be a number >= 0: got 'many'"),
        ("NaN accuracy", "NAN_ACC", "field 'evaluations[2].sets.test.acc' must be a finite number: got NaN"),
        ("Infinity time", "INF_TIME", "field 'training_time' must be a finite number: got inf"),
        ("accuracy over 100", "ACC_150", "field 'evaluations[2].sets.valid.acc' must be a number 0..100 or null: "
                                         "got 150.0"),
        ("half accuracy", "ACC_HALF", "field 'evaluations[1].sets.train.acc' must be a number 0..100 or null: got "
                                      "'half'"),
        ("deep nesting", "DEEP", "JSON nested deeper than 64 levels"),
        ("nesting under the limit of json but over ours", "DEEP_100", "containers nested deeper than 64 levels"),
        ("device a string", {"device": "cpu"}, "field 'device' must be a JSON object: got 'cpu'"),
        ("evaluations not a list", {"evaluations": {"a": 1}}, "field 'evaluations' must be a non-empty JSON array"),
        ("evaluation past the budget", "EVAL_PAST", "field 'evaluations[2].epoch' must be a number"),
        ("unknown dataset", {"dataset": "mnist"}, "field 'dataset' must be one of cifar10, cifar10-valid"),
        ("bad hash", {"arch_hash": "0" * 32}, "field 'arch_hash' is '00000000000000000000000000000000' but the "
                                             "arch hashes to"),
        ("bad cell", {"arch": {"matrix": [[0, 1], [0, 0]], "ops": ["input", "conv9x9"]}},
         "field 'arch' is not in the nb101 space"),
        ("not completed", {"status": "running"}, "status is 'running': only completed trials are ingested"),
        ("future version", {"format_version": 2}, "unsupported format_version 2"),
        ("missing field", "MISSING", "missing fields ['seed']"),
        ("edited", "EDITED", "result_key does not match the content"),
        ("not JSON", "TRUNCATED", "not valid JSON"),
    ]


@pytest.mark.parametrize("name, edit, message", _field_cases(), ids=[c[0] for c in _field_cases()])
def test_every_bad_field_is_a_named_error(tmp_path, nb101_real_cells, name, edit, message):
    good = synthetic_result(nb101_real_cells[0], 108, 7)
    path = tmp_path / "results" / "x.json"
    path.parent.mkdir()
    if isinstance(edit, dict):
        text = json.dumps(schema.seal(dict(good, **edit)))
    elif edit == "NAN_ACC":
        good["evaluations"][2]["sets"]["test"]["acc"] = float("nan")
        text = json.dumps(good)
    elif edit == "INF_TIME":
        good["training_time"] = float("inf")
        text = json.dumps(good)
    elif edit == "ACC_150":
        good["evaluations"][2]["sets"]["valid"]["acc"] = 150.0
        text = json.dumps(schema.seal(good))
    elif edit == "ACC_HALF":
        good["evaluations"][1]["sets"]["train"]["acc"] = "half"
        text = json.dumps(schema.seal(good))
    elif edit == "DEEP":
        text = json.dumps(good)[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    elif edit == "DEEP_100":
        text = json.dumps(good)[:-1] + ', "extra": ' + "[" * 100 + "]" * 100 + "}"
    elif edit == "EVAL_PAST":
        good["evaluations"][2]["epoch"] = 200
        text = json.dumps(schema.seal(good))
    elif edit == "MISSING":
        del good["seed"]
        text = json.dumps(good)
    elif edit == "EDITED":
        good["evaluations"][2]["sets"]["test"]["acc"] = 99.0
        text = json.dumps(good)
    elif edit == "TRUNCATED":
        text = json.dumps(good)[:200]
    path.write_text(text)
    db_dir = tmp_path / "db"
    outcome = invoke(path.parent, "--db-dir", db_dir)
    assert_error(outcome, f"Error: {path}: ", message)
    assert trained_count(db_dir) is None
    with pytest.raises(CorruptInput):
        schema.load(path) if name != "bad hash" and name != "bad cell" else results_module.read_result(path)


def test_nb201_epochs_of_10_to_the_12_are_refused_at_once(tmp_path):
    result = nb201_result(3)
    result["epochs"] = 10 ** 12
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(schema.seal(result)))
    outcome = invoke(path, "--db-dir", tmp_path / "db")
    assert_error(outcome, "huge.json: field 'epochs' must be an integer 1..10000: got 1000000000000")


# ----------------------------------------------------------------------------------------------------------------------
# which files are read


def test_unrelated_json_and_odd_entries_are_reported_and_skipped(tmp_path, nb101_real_cells):
    results = tmp_path / "results"
    write_results(results, nb101_real_cells, range(2))
    (results / "re.json").write_text(json.dumps({"algo": "re", "summary": {}, "rollouts": []}))  # a search output
    (results / "list.json").write_text("[1, 2, 3]")
    (results / "other-format.json").write_text(json.dumps({"format": "something.else", "value": 1}))
    (results / "folder.json").mkdir()
    (results / "loop.json").symlink_to(results / "loop.json")
    (results / "dangling.json").symlink_to(results / "missing-target")
    os.mkfifo(results / "pipe.json")
    (results / "notes.txt").write_text("not json, not looked at")
    db_dir = tmp_path / "db"
    # a subprocess with a deadline: opening the FIFO would block forever
    proc = subprocess.run([sys.executable, "-m", "nasbench_db", "convert", "results", str(results), "--db-dir",
                           str(db_dir)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ingested 2 of 2 results" in proc.stdout and "skipped 7 other entries" in proc.stdout
    expected = {"re.json": "not a training result", "list.json": "not a training result",
                "other-format.json": "not a training result", "folder.json": "a directory",
                "loop.json": "a symbolic link loop", "dangling.json": "a broken symbolic link",
                "pipe.json": "a FIFO (named pipe), not a result file (not opened)"}
    for name, reason in expected.items():
        assert f"skipped {results / name}: " in proc.stderr and reason in proc.stderr, (name, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert trained_count(db_dir) == 2


def test_a_fifo_or_a_loop_given_as_path_is_an_error(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    for path, message in ((fifo, "is a FIFO (named pipe), not a result file or a directory of them"),
                          (loop, "a symbolic link loop"), (tmp_path / "absent.json", "no such file or directory")):
        proc = subprocess.run([sys.executable, "-m", "nasbench_db", "convert", "results", str(path), "--db-dir",
                               str(tmp_path / "db")], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1 and proc.stderr.startswith("Error: ") and message in proc.stderr, proc.stderr


def test_a_directory_of_only_unrelated_files_ingests_nothing(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "search.json").write_text(json.dumps({"rollouts": []}))
    outcome = invoke(tmp_path / "r", "--db-dir", tmp_path / "db")
    assert outcome.exit_code == 0 and "ingested 0 of 0 results" in outcome.output
    assert trained_count(tmp_path / "db") is None


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "MAX_RESULT_BYTES", 100)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"format": schema.FORMAT, "pad": "x" * 200}))
    outcome = invoke(path, "--db-dir", tmp_path / "db")
    assert_error(outcome, "big.json: ", "over the limit of 100 for a result file")


def test_results_evicted_from_memory_are_read_again(tmp_path, nb101_real_cells, monkeypatch):
    monkeypatch.setattr(results_module, "CACHE_BYTES", 0)  # keep nothing: every result is read twice
    write_results(tmp_path / "r", nb101_real_cells, range(5))
    report = convert_results(tmp_path / "r", tmp_path / "db")
    assert report.ingested == 5 and trained_count(tmp_path / "db") == 5


# ----------------------------------------------------------------------------------------------------------------------
# storage failures: nothing half-written


class _FailingConnection:
    """A sqlite3 connection that raises ``error`` on the statement ``trigger`` (the n-th time it is seen)."""

    def __init__(self, conn, trigger: str, error: Exception, after: int = 0):
        self._conn, self._trigger, self._error, self._after = conn, trigger, error, after

    def execute(self, sql, params=()):
        if sql.startswith(self._trigger):
            if self._after == 0:
                raise self._error
            self._after -= 1
        return self._conn.execute(sql, params)

    def executemany(self, sql, rows):
        return self._conn.executemany(sql, rows)

    def close(self):
        self._conn.close()


def _fail_in(monkeypatch, benchmark: str, trigger: str, error: Exception, after: int = 0):
    real = results_module.connect

    def connect(name, db_dir=None, **options):
        conn, path = real(name, db_dir, **options)
        return (_FailingConnection(conn, trigger, error, after) if name == benchmark else conn), path

    monkeypatch.setattr(results_module, "connect", connect)


def test_a_full_disk_while_inserting_changes_nothing(tmp_path, nb101_real_cells, monkeypatch):
    db_dir = tmp_path / "db"
    convert_nb101(SAMPLE_TFRECORD, db_dir, progress=False)
    write_results(tmp_path / "r", nb101_real_cells, range(20))
    _fail_in(monkeypatch, "nb101", "INSERT INTO nb101_trial", sqlite3.OperationalError("database or disk is full"),
             after=10)
    outcome = invoke(tmp_path / "r", "--db-dir", db_dir)
    assert_error(outcome, f"disk full while ingesting into {db_dir / 'nasbench101.db'}: nothing was ingested; "
                          "free space there or choose another --db-dir")
    assert trained_count(db_dir) == 0


def test_a_failed_commit_of_the_second_database_withdraws_the_first(tmp_path, nb101_real_cells, monkeypatch):
    db_dir = tmp_path / "db"
    write_results(tmp_path / "r", nb101_real_cells, range(4))
    (tmp_path / "r" / "nb201.json").write_text(json.dumps(nb201_result(2)))
    real_connect = results_module.connect
    _fail_in(monkeypatch, "nb201", "COMMIT", sqlite3.OperationalError("database or disk is full"))
    outcome = invoke(tmp_path / "r", "--db-dir", db_dir)  # nasbench101.db commits, then nasbench201.db fails
    assert_error(outcome, "disk full while ingesting into", "nasbench201.db")
    assert trained_count(db_dir) == 0 and trained_count(db_dir, "nb201") == 0
    conn = sqlite3.connect(str(db_dir / "nasbench101.db"))
    assert conn.execute("SELECT COUNT(*) FROM nb101_trial").fetchone()[0] == 0
    conn.close()
    monkeypatch.setattr(results_module, "connect", real_connect)
    assert convert_results(tmp_path / "r", db_dir).ingested == 5  # and it all goes in when run again


def test_an_enospc_oserror_is_a_disk_full_error(tmp_path, nb101_real_cells, monkeypatch):
    import errno

    write_results(tmp_path / "r", nb101_real_cells, range(2))
    _fail_in(monkeypatch, "nb101", "INSERT INTO nasbench_source", OSError(errno.ENOSPC, "No space left on device"))
    outcome = invoke(tmp_path / "r", "--db-dir", tmp_path / "db")
    assert_error(outcome, "disk full while ingesting into")


def test_a_read_only_database_is_an_error_with_the_fix(tmp_path, nb101_real_cells, monkeypatch):
    db_dir = tmp_path / "db"
    convert_nb101(SAMPLE_TFRECORD, db_dir, progress=False)
    write_results(tmp_path / "r", nb101_real_cells, range(2))
    real = sqlite3.connect

    def read_only_connect(database, *args, **kwargs):
        if str(database).endswith("nasbench101.db") and not str(database).startswith("file:"):
            conn = real(database, *args, **kwargs)
            return _FailingConnection(conn, "PRAGMA journal_mode = WAL",
                                      sqlite3.OperationalError("attempt to write a readonly database"))
        return real(database, *args, **kwargs)

    monkeypatch.setattr(results_module.sqlite3, "connect", read_only_connect)
    outcome = invoke(tmp_path / "r", "--db-dir", db_dir)
    assert_error(outcome, f"cannot write to {db_dir / 'nasbench101.db'}: the database or its directory is "
                          "read-only", "nothing was ingested. Fix the permissions, or choose another --db-dir")


class _LockedForAWhile:
    """A sqlite3 connection whose first ``times`` journal-mode switches get SQLite's immediate ``database is locked``
    (what a concurrent ingester's switch gives: SQLite does not call the busy handler there)."""

    def __init__(self, conn, times: int):
        self._conn, self.times, self.tries = conn, times, 0

    def execute(self, sql, params=()):
        if sql.startswith("PRAGMA journal_mode = WAL"):
            self.tries += 1
            if self.tries <= self.times:
                raise sqlite3.OperationalError("database is locked")
        return self._conn.execute(sql, params)

    def close(self):
        self._conn.close()


def _lock_wal_switch(monkeypatch, times: int) -> list:
    real = sqlite3.connect
    made = []

    def connect(database, *args, **kwargs):
        conn = real(database, *args, **kwargs)
        if str(database).endswith("nasbench101.db") and not str(database).startswith("file:"):
            made.append(_LockedForAWhile(conn, times))
            return made[-1]
        return conn

    monkeypatch.setattr(results_module.sqlite3, "connect", connect)
    return made


def test_a_journal_mode_switch_locked_for_a_moment_is_waited_for(tmp_path, nb101_real_cells, monkeypatch):
    # The CI failure this guards: four concurrent ingesters, one refused within 10 ms as "locked for 30 s".
    write_results(tmp_path / "r", nb101_real_cells, range(2))
    made = _lock_wal_switch(monkeypatch, times=3)
    assert convert_results(tmp_path / "r", tmp_path / "db").ingested == 2
    assert made[0].tries == 4
    assert trained_count(tmp_path / "db") == 2


def test_a_journal_mode_switch_locked_past_the_timeout_is_an_error(tmp_path, nb101_real_cells, monkeypatch):
    write_results(tmp_path / "r", nb101_real_cells, range(2))
    monkeypatch.setattr(results_module._db, "SQLITE_BUSY_TIMEOUT_S", 0.3)
    _lock_wal_switch(monkeypatch, times=10 ** 6)
    started = time.monotonic()
    outcome = invoke(tmp_path / "r", "--db-dir", tmp_path / "db")
    assert 0.2 <= time.monotonic() - started < 10
    assert_error(outcome, "nasbench101.db stayed locked by another process for 0.3 s", "nothing was ingested")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_a_read_only_directory_is_an_error_with_the_fix(tmp_path, nb101_real_cells):
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    write_results(tmp_path / "r", nb101_real_cells, range(2))
    db_dir.chmod(0o555)
    try:
        outcome = invoke(tmp_path / "r", "--db-dir", db_dir)
    finally:
        db_dir.chmod(0o755)
    assert_error(outcome, "cannot write to", "nothing was ingested")


# ----------------------------------------------------------------------------------------------------------------------
# re-conversion keeps trained results wherever the database lives


@pytest.mark.parametrize("odd", ["runs#2", "what?now", "100%", "a%20b", "sp ace"])
def test_reconverting_keeps_trained_results_in_a_directory_with_uri_characters(tmp_path, nb101_real_cells, odd):
    db_dir = tmp_path / odd / "db"
    convert_nb101(SAMPLE_TFRECORD, db_dir, progress=False)
    write_results(tmp_path / "r", nb101_real_cells, range(3))
    assert convert_results(tmp_path / "r", db_dir).ingested == 3
    report = convert_nb101(SAMPLE_TFRECORD, db_dir, progress=False)
    assert trained_count(db_dir) == 3, report
    from nasbench_db.query import query_nb101_trial_stats

    assert len(list(query_nb101_trial_stats(None, 108, source="trained", db_dir=db_dir))) == 3


def test_a_carry_over_that_cannot_read_the_old_file_refuses_the_conversion(tmp_path, nb101_real_cells, monkeypatch):
    db_dir = tmp_path / "db"
    convert_nb101(SAMPLE_TFRECORD, db_dir, progress=False)
    write_results(tmp_path / "r", nb101_real_cells, range(2))
    convert_results(tmp_path / "r", db_dir)
    before = (db_dir / "nasbench101.db").read_bytes()
    monkeypatch.setattr(results_module._db, "sqlite_uri", lambda path, **params: "file:/nonexistent/x.db?mode=ro")
    with pytest.raises(NasbenchDbError, match="cannot read the trained results of .* to carry them over"):
        convert_nb101(SAMPLE_TFRECORD, db_dir, progress=False)
    assert (db_dir / "nasbench101.db").read_bytes() == before


def test_sqlite_uri_encodes_what_sqlite_would_misread(tmp_path):
    from nasbench_db.db import sqlite_uri

    for name in ("a#b", "a?b", "100%", "a%23b", "x y"):
        path = tmp_path / name / "f.db"
        path.parent.mkdir()
        sqlite3.connect(str(path)).execute("CREATE TABLE t (x)").connection.commit()
        conn = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True)
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]
        conn.close()


# ----------------------------------------------------------------------------------------------------------------------
# PostgreSQL: one server transaction for every benchmark


def test_postgres_ingestion_is_one_transaction(pg_url, tmp_path, nb101_real_cells, monkeypatch):
    from nasbench_db import db as _db

    write_results(tmp_path / "r", nb101_real_cells, range(3))
    bad = nb201_result(5)
    bad["seed"] = 2 ** 70
    (tmp_path / "r" / "nb201.json").write_text(json.dumps(bad))
    with pytest.raises(CorruptInput, match="field 'seed'"):
        convert_results(tmp_path / "r")
    (tmp_path / "r" / "nb201.json").write_text(json.dumps(nb201_result(5)))
    real = results_module.INGESTERS["nb101"]
    calls = []

    def fail_third(*args):  # the NB-201 result and two NB-101 results went in before this fails
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the server went away")
        return real(*args)

    monkeypatch.setitem(results_module.INGESTERS, "nb101", fail_third)
    with pytest.raises(RuntimeError, match="went away"):
        convert_results(tmp_path / "r")
    rows = _db.fetchall(_db.url_database(pg_url), "SELECT COUNT(*) FROM nasbench_source WHERE kind = 'trained'")
    assert rows[0][0] == 0
    monkeypatch.setitem(results_module.INGESTERS, "nb101", real)
    report = convert_results(tmp_path / "r")
    assert report.ingested == 4 and report.database.startswith("postgresql://")
