"""Faults lose nothing: kills during conversion, full disks, unwritable directories, swaps under readers."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nasbench_db.convert import _build
from nasbench_db.convert.nb101 import convert_nb101
from nasbench_db.convert.tfrecord import write_records
from nasbench_db.errors import NasbenchDbError
from nasbench_db.query import query_nb101_trial_stats
from nb101_fixture import payloads

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def big_tfrecord(tmp_path_factory) -> Path:
    """The real records repeated under synthetic hashes: a file that takes a while to convert."""
    sys.path.insert(0, str(ROOT / "bench"))
    from nb101_bench import synthetic_cells, write_synthetic

    path = tmp_path_factory.mktemp("big") / "big.tfrecord"
    write_synthetic(path, synthetic_cells(3000, seed=7), seed=7)
    return path


def _snapshot(path: Path) -> bytes:
    return path.read_bytes()


def test_sigkill_at_random_points_keeps_the_previous_database(tmp_path, big_tfrecord):
    db_dir = tmp_path / "db"
    sample = tmp_path / "sample.tfrecord"
    write_records(sample, payloads())
    code = ("import sys; from nasbench_db.convert.nb101 import convert_nb101; "
            f"convert_nb101({str(big_tfrecord)!r}, {str(db_dir)!r}, progress=False)")
    rng = random.Random(11)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    full = time.perf_counter() - started
    convert_nb101(sample, db_dir, progress=False)  # back to the small one
    before = _snapshot(db_dir / "nasbench101.db")
    kills = 0
    for _ in range(20):  # until 6 kills landed mid-conversion (a run may outpace the timed one and finish first)
        proc = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(rng.uniform(0.05, full * 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        conn = sqlite3.connect(db_dir / "nasbench101.db")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        trials = conn.execute("SELECT COUNT(*) FROM nb101_trial").fetchone()[0]
        conn.close()
        if proc.returncode == 0 or trials == 3000 * 12:
            # it finished before the signal, or was killed after swapping the new database in (while it closed or
            # cleaned up): the new database, complete
            assert trials == 3000 * 12
            convert_nb101(sample, db_dir, progress=False)
            before = _snapshot(db_dir / "nasbench101.db")
            continue
        assert proc.returncode == -signal.SIGKILL
        # Killed: the database under its final name is the previous one, byte for byte, and it opens cleanly.
        assert _snapshot(db_dir / "nasbench101.db") == before
        kills += 1
        if kills == 6:
            break
    assert kills == 6
    report = convert_nb101(big_tfrecord, db_dir, progress=False)  # the rerun succeeds and cleans up
    assert report.trials == 3000 * 12
    assert sorted(p.name for p in db_dir.iterdir()) == ["nasbench101.db"]


def test_disk_full_is_a_clear_error(tmp_path, monkeypatch):
    sample = tmp_path / "sample.tfrecord"
    write_records(sample, payloads())
    real_finish = _build.DatabaseBuild.finish

    def full_disk(self, *args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(_build.DatabaseBuild, "finish", full_disk)
    with pytest.raises(NasbenchDbError, match=f"disk full while writing .*{tmp_path.name}.*free space"):
        convert_nb101(sample, tmp_path / "db", progress=False)
    assert not any((tmp_path / "db").iterdir())
    monkeypatch.setattr(_build.DatabaseBuild, "finish", real_finish)
    convert_nb101(sample, tmp_path / "db", progress=False)


def test_unwritable_directory_is_a_clear_error(tmp_path, monkeypatch):
    sample = tmp_path / "sample.tfrecord"
    write_records(sample, payloads())
    target = tmp_path / "readonly"
    target.mkdir()
    real_access = os.access
    monkeypatch.setattr(_build.os, "access", lambda p, mode: False if Path(p) == target else real_access(p, mode))
    with pytest.raises(NasbenchDbError, match=f"cannot write to {target}: permission denied"):
        convert_nb101(sample, target, progress=False)


def test_cli_reports_disk_errors_as_error_lines(tmp_path):
    from click.testing import CliRunner

    from nasbench_db.cli import cli

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(cli, ["convert", "nb101", "--sample", "--db-dir", str(blocker / "sub")])
    assert result.exit_code == 1 and result.output.startswith("Error: cannot create the database directory")


def test_sqlite_readers_keep_answering_during_swaps(nb101_env, big_tfrecord):
    sample = nb101_env / "sample.tfrecord"
    write_records(sample, payloads())
    errors, answers = [], []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                answers.append(len(list(query_nb101_trial_stats(None, 108))))
            except Exception as exc:
                errors.append(repr(exc))

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for path in (big_tfrecord, sample, big_tfrecord):
            convert_nb101(path, nb101_env, progress=False)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert set(answers) <= {93, 3000 * 3} and len(set(answers)) == 2


@pytest.mark.parametrize("content,message", [
    (b"{not json", "not valid JSON"),
    (b"", "not valid JSON"),
    (b'{"format": "something-else"}', "not a nasbench_db training result"),
    (b"[1, 2]", "a training result is a JSON object"),
])
def test_malformed_training_results_are_clear_errors(tmp_path, content, message):
    from click.testing import CliRunner

    from nasbench_db.cli import cli

    bad = tmp_path / "result.json"
    bad.write_bytes(content)
    result = CliRunner().invoke(cli, ["convert", "results", str(bad), "--db-dir", str(tmp_path / "db")])
    assert result.exit_code == 1 and result.output.startswith(f"Error: {bad}") and message in result.output, \
        result.output
