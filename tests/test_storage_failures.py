"""Real storage failures, not simulated ones: a full filesystem and a read-only one under the database directory,
a read-only directory as an ordinary user, an unwritable `train --out`.

The other tests of these paths inject the errors; these need a real filesystem that fails, so they mount a small
tmpfs (root only) or run the command as the unprivileged user `nobody` (from root). Where neither is possible they
skip and say why; the injected-error tests (tests/test_results_ingest.py, tests/test_train.py) run everywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasbench_db import db as _db
from nasbench_db.cli import cli
from nasbench_db.convert import results as results_module
from nasbench_db.convert.nb101 import convert_nb101
from nasbench_db.convert.results import convert_results

from conftest import SAMPLE_TFRECORD
from test_concurrency import write_results
from test_results_ingest import assert_error, trained_count

NOBODY = 65534


@pytest.fixture
def small_fs(tmp_path):
    """A function mounting a tmpfs of ``size`` at a fresh directory (unmounted after the test); skips unless root
    may mount one here."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (the injected-error tests cover this path)")
    mounted = []

    def mount(size: str) -> Path:
        point = tmp_path / f"fs{len(mounted)}"
        point.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def remount_read_only(point: Path) -> None:
    proc = subprocess.run(["mount", "-o", "remount,ro", str(point)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot remount read-only: {proc.stderr.strip()}")


def fill(point: Path, leave: int) -> Path:
    """Fill the filesystem at ``point`` up to ``leave`` free bytes."""
    stats = os.statvfs(point)
    free = stats.f_bavail * stats.f_frsize
    filler = point / "filler"
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return filler


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dump(path: Path) -> str:
    """Every table and row of a database as SQL text (its content, whatever its journal mode)."""
    conn = sqlite3.connect(str(path))
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def test_a_really_full_disk_during_ingestion_changes_nothing(small_fs, tmp_path, nb101_real_cells, monkeypatch):
    point = small_fs("2m")
    db_dir = point / "db"
    convert_nb101(SAMPLE_TFRECORD, db_dir, progress=False)
    write_results(tmp_path / "r", nb101_real_cells, range(300))  # ~1.5 KB of JSON kept per result
    before = digest(db_dir / "nasbench101.db")
    filler = fill(point, 24 << 10)
    result = CliRunner().invoke(cli, ["convert", "results", str(tmp_path / "r"), "--db-dir", str(db_dir)])
    assert_error(result, "disk full: ingesting into", "MB are free there: nothing was ingested; free space there")
    assert digest(db_dir / "nasbench101.db") == before and sorted(os.listdir(db_dir)) == ["nasbench101.db"]
    filler.unlink()
    # the disk fills up while the results are being written (another process): checked up front, failing later
    before = dump(db_dir / "nasbench101.db")
    monkeypatch.setattr(results_module, "_check_space", lambda path, size: None)
    for leave in (24 << 10, 160 << 10):  # SQLite fails to grow WAL's shared memory, or to write the log itself
        filler = fill(point, leave)
        result = CliRunner().invoke(cli, ["convert", "results", str(tmp_path / "r"), "--db-dir", str(db_dir)])
        assert_error(result, "disk full while ingesting into", "nothing was ingested; free space there")
        assert "Traceback" not in result.output
        # Until space is freed, a file left in WAL mode may not even be readable (SQLite needs room for its shared
        # memory file: the error says to free space); once it is, the content is exactly what it was.
        filler.unlink()
        assert dump(db_dir / "nasbench101.db") == before and trained_count(db_dir) == 0
        query = CliRunner().invoke(cli, ["query", "nb101", "--hash", "28cfc7874f6d200472e1a9dcd8650aa0", "--epochs",
                                         "108", "--json", "--db-dir", str(db_dir)])
        assert query.exit_code == 0 and len(json.loads(query.stdout)) == 3, query.output
    conn = sqlite3.connect(str(db_dir / "nasbench101.db"))
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    _db.close_all()  # the queries' cached reader: the last connection out switches the file back to its journal
    assert convert_results(tmp_path / "r", db_dir).ingested == 300  # with space again, all of it goes in
    assert trained_count(db_dir) == 300
    assert not (db_dir / "nasbench101.db-wal").exists()  # and the file is back in rollback-journal mode


def test_a_read_only_filesystem_under_the_database_is_an_error(small_fs, tmp_path, nb101_real_cells):
    point = small_fs("2m")
    convert_nb101(SAMPLE_TFRECORD, point / "db", progress=False)
    (point / "empty").mkdir()
    write_results(tmp_path / "r", nb101_real_cells, range(3))
    before = digest(point / "db" / "nasbench101.db")
    remount_read_only(point)
    for db_dir in (point / "db", point / "empty", point / "missing"):
        result = CliRunner().invoke(cli, ["convert", "results", str(tmp_path / "r"), "--db-dir", str(db_dir)])
        assert_error(result, str(db_dir))
        assert "read-only" in result.output.lower(), result.output
        assert "Traceback" not in result.output
    assert digest(point / "db" / "nasbench101.db") == before
    # train refuses a read-only --out before it reads any data (the data directory does not even exist)
    result = CliRunner().invoke(cli, ["train", "nb201", "--arch", "5", "--device", "cpu", "--dataset", "cifar10",
                                      "--data-dir", str(tmp_path / "no-data"), "--out", str(point / "results")])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: --out {point / 'results'}: cannot write results there (Read-only file "
                                    "system): choose a writable directory; nothing was trained"), result.output


def _as_nobody(args, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NASBENCHMARK_DB_URL"}
    env["HOME"] = str(cwd)
    return subprocess.run([sys.executable, "-m", "nasbench_db", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, preexec_fn=lambda: (os.setgid(NOBODY), os.setuid(NOBODY)))


@pytest.fixture
def nobody_dir():
    """A world-readable scratch directory and the proof that `nobody` can run the package from here."""
    if os.geteuid() != 0:
        pytest.skip("switching to another user needs root (as an ordinary user the chmod tests of "
                    "tests/test_results_ingest.py and tests/test_train.py run instead)")
    work = Path(tempfile.mkdtemp(prefix="nasbench-nobody-"))
    work.chmod(0o755)
    try:
        try:
            probe = _as_nobody(["--version"], work)
        except OSError as exc:  # the interpreter itself lies where nobody may not go (e.g. under /root)
            pytest.skip(f"user nobody cannot run {sys.executable}: {exc}")
        if probe.returncode != 0:
            pytest.skip(f"user nobody cannot run the package from here: {probe.stderr.strip()[-300:]}")
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_a_read_only_directory_as_an_ordinary_user(nobody_dir, nb101_real_cells):
    results = nobody_dir / "r"
    write_results(results, nb101_real_cells, range(3))
    for path in [results, *results.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    db_dir = nobody_dir / "db"
    convert_nb101(SAMPLE_TFRECORD, db_dir, progress=False)
    (db_dir / "nasbench101.db").chmod(0o644)  # nobody may read the file, not write it or its directory
    db_dir.chmod(0o555)
    before = digest(db_dir / "nasbench101.db")
    proc = _as_nobody(["convert", "results", str(results), "--db-dir", str(db_dir)], nobody_dir)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"Error: cannot write to {db_dir / 'nasbench101.db'}"), proc.stderr
    assert "nothing was ingested. Fix the permissions" in proc.stderr and "Traceback" not in proc.stderr
    assert digest(db_dir / "nasbench101.db") == before
    out = nobody_dir / "ro-out"
    out.mkdir(mode=0o555)
    out.chmod(0o555)
    proc = _as_nobody(["train", "nb201", "--arch", "5", "--device", "cpu", "--dataset", "cifar10", "--data-dir",
                       str(nobody_dir / "no-data"), "--out", str(out)], nobody_dir)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"Error: --out {out}: cannot write results there (Permission denied)"), proc.stderr
