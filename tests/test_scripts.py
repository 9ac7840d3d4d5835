"""scripts/*.sh end to end against a loopback mirror serving small files in the original formats.

Each script downloads (through ``NASBENCH_MIRROR``, with ``NASBENCH_CATALOG`` pinning the small files' checksums),
verifies, converts into ``NASBENCHMARK_DIR`` and, run again, neither downloads nor converts. A script whose
converter this checkout lacks must say so (exit status 3); its full run is skipped only then.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from nasbench_db.cli import cli

from conftest import DATA as TEST_DATA
from conftest import SAMPLE_TFRECORD
from loopback_server import DataRoute, LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
NATS = TEST_DATA / "nats"


def has_converter(subcommand: str) -> bool:
    return subcommand in cli.commands["convert"].commands


class Mirror:
    """A loopback mirror plus the environment that points the scripts at it."""

    def __init__(self, server: LoopbackServer, tmp_path: Path):
        self.server = server
        self.tmp_path = tmp_path
        self.catalog: dict = {}
        self.home = tmp_path / "nasbench"

    def publish(self, catalog_name: str, file_name: str, data: bytes, cuts=(), checksum: str = "sha256"):
        self.server.routes[f"/mirror/{file_name}"] = DataRoute(data, cuts=cuts)
        digest = hashlib.sha256(data).hexdigest() if checksum == "sha256" else hashlib.md5(data).hexdigest()
        self.catalog[catalog_name] = {checksum: digest}

    def data_requests(self) -> int:
        return sum(1 for r in self.server.requests if r[1].startswith("/mirror/"))

    def env(self, **extra) -> dict:
        catalog_path = self.tmp_path / "catalog.json"
        catalog_path.write_text(json.dumps(self.catalog))
        env = dict(os.environ)
        env.pop("NASBENCHMARK_DB_URL", None)
        env.update({"NASBENCHMARK_DIR": str(self.home), "NASBENCH_MIRROR": self.server.url("/mirror"),
                    "NASBENCH_CATALOG": str(catalog_path), "NASBENCH_DOWNLOAD_BACKOFF": "0",
                    "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")})
        env.update(extra)
        return env

    def run(self, script: str, **extra) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(SCRIPTS / script)], env=self.env(**extra), capture_output=True,
                              text=True, timeout=120)


@pytest.fixture
def mirror(tmp_path):
    with LoopbackServer() as server:
        yield Mirror(server, tmp_path)


def sources(database: Path) -> list:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT kind, file_name, sha256 FROM nasbench_source ORDER BY id").fetchall()


def run_twice(mirror: Mirror, script: str, **extra):
    """First run downloads and converts; the second must do neither."""
    first = mirror.run(script, **extra)
    assert first.returncode == 0, first.stderr
    requests_after_first = mirror.data_requests()
    second = mirror.run(script, **extra)
    assert second.returncode == 0, second.stderr
    assert mirror.data_requests() == requests_after_first, "the second run downloaded again"
    assert "already present" in second.stderr
    return first, second


# ----------------------------------------------------------------------------------------------------------------------
def test_scripts_are_strict_bash():
    for script in sorted(SCRIPTS.glob("*.sh")):
        subprocess.run(["bash", "-n", str(script)], check=True)
        if script.name != "_lib.sh":
            assert "set -euo pipefail" in script.read_text(), script
            assert os.access(script, os.X_OK), f"{script} is not executable"
            help_text = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True)
            assert help_text.returncode == 0 and "NASBENCH_MIRROR" in help_text.stdout


def test_nasbench101_script_downloads_resumes_converts_and_skips_on_rerun(mirror):
    data = SAMPLE_TFRECORD.read_bytes()
    mirror.publish("nb101-full", "nasbench_full.tfrecord", data, cuts=[len(data) // 2])
    first, second = run_twice(mirror, "nasbench101.sh")
    database = mirror.home / "nasbench101.db"
    downloaded = mirror.home / "downloads" / "nasbench_full.tfrecord"
    assert downloaded.read_bytes() == data
    assert "the connection closed early" in first.stderr and "converted 102 records" in first.stderr
    assert f"database: {database}" in first.stdout and f"original file: {downloaded}" in first.stdout
    assert sources(database) == [("original", "nasbench_full.tfrecord", hashlib.sha256(data).hexdigest())]
    assert "skipping the conversion: yes" in second.stderr and "converted 102 records" not in second.stderr
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM nb101_trial").fetchone() == (102,)


def test_script_says_clearly_when_its_converter_is_missing(mirror, tmp_path):
    shim = tmp_path / "old_nasbench_db.py"  # an installation that predates the converter
    shim.write_text("from nasbench_db.cli import cli\ncli.commands['convert'].commands.pop('nb101')\n"
                    "cli(prog_name='nasbench-db')\n")
    mirror.publish("nb101-full", "nasbench_full.tfrecord", SAMPLE_TFRECORD.read_bytes())
    result = mirror.run("nasbench101.sh", NASBENCH_DB_CMD=f"{sys.executable} {shim}")
    assert result.returncode == 3
    assert "has no 'nb101' converter yet" in result.stderr and "NASBENCH_DOWNLOAD_ONLY=1" in result.stderr
    assert mirror.data_requests() == 0  # said before downloading anything
    only = mirror.run("nasbench101.sh", NASBENCH_DB_CMD=f"{sys.executable} {shim}", NASBENCH_DOWNLOAD_ONLY="1")
    assert only.returncode == 0, only.stderr
    assert (mirror.home / "downloads" / "nasbench_full.tfrecord").is_file()
    assert not (mirror.home / "nasbench101.db").exists()


def test_script_failure_is_exit_1_with_the_reason(mirror):
    mirror.publish("nb101-full", "nasbench_full.tfrecord", SAMPLE_TFRECORD.read_bytes())
    mirror.catalog["nb101-full"] = {"sha256": "0" * 64}
    result = mirror.run("nasbench101.sh")
    assert result.returncode == 1
    assert "Error: nasbench_full.tfrecord" in result.stderr and "expected 0000" in result.stderr
    assert "failed; see the message above" in result.stderr
    assert not (mirror.home / "downloads" / "nasbench_full.tfrecord").exists()


def _expect_missing_converter(result, subcommand):
    assert result.returncode == 3, result.stderr
    assert f"has no '{subcommand}' converter yet" in result.stderr


# ----------------------------------------------------------------------------------------------------------------------
def nb201_pth_from_nats(path: Path) -> bytes:
    """A small NAS-Bench-201 .pth in the v1_1 layout (``less``/``full`` = hp 12/200) from the real NATS tss records
    of archs 0, 11 and 284, saved with torch.save as the original was."""
    torch = pytest.importorskip("torch")
    folder = NATS / "NATS-tss-v1_0-3ffb9-simple"
    meta = pickle.load(bz2.BZ2File(folder / "meta.pickle.pbz2"))
    arch2infos = {}
    for index in (0, 11, 284):
        record = pickle.load(bz2.BZ2File(folder / f"{index:06d}.pickle.pbz2"))
        arch2infos[index] = {"less": record["12"], "full": record["200"]}
    torch.save({"meta_archs": meta["meta_archs"], "total_archs": meta["total_archs"], "arch2infos": arch2infos,
                "evaluated_indexes": sorted(arch2infos)}, path)
    return path.read_bytes()


def test_nasbench201_script(mirror, tmp_path):
    if not has_converter("nb201"):
        _expect_missing_converter(mirror.run("nasbench201.sh"), "nb201")
        pytest.skip("`nasbench-db convert nb201` is not in this checkout yet: checked that the script says so")
    data = nb201_pth_from_nats(tmp_path / "v1_1.pth")
    mirror.publish("nb201-v1_1", "NAS-Bench-201-v1_1-096897.pth", data, cuts=[len(data) // 2], checksum="md5")
    first, second = run_twice(mirror, "nasbench201.sh")
    database = mirror.home / "nasbench201.db"
    assert f"database: {database}" in first.stdout
    assert [row[1] for row in sources(database)] == ["NAS-Bench-201-v1_1-096897.pth"]
    assert "skipping the conversion: yes" in second.stderr
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM nb201trialstats").fetchone()[0] > 0


def _tar_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:  # the NATS archives are plain tars
        archive.add(folder, arcname=folder.name)
    return buffer.getvalue()


def test_nats_script(mirror):
    if not (has_converter("nats-tss") and has_converter("nats-sss")):
        missing = "nats-tss" if not has_converter("nats-tss") else "nats-sss"
        _expect_missing_converter(mirror.run("nats.sh"), missing)
        pytest.skip("`nasbench-db convert nats-tss/nats-sss` is not in this checkout yet: checked that nats.sh "
                    "says so")
    for space, suffix in (("tss", "3ffb9"), ("sss", "50262")):
        name = f"NATS-{space}-v1_0-{suffix}-simple"
        data = _tar_folder(NATS / name)
        mirror.publish(f"nats-{space}-simple", f"{name}.tar", data, cuts=[len(data) // 3])
    first, second = run_twice(mirror, "nats.sh")
    downloads = mirror.home / "downloads"
    for space, suffix, database in (("tss", "3ffb9", "nasbench201.db"), ("sss", "50262", "nats_sss.db")):
        folder = downloads / f"NATS-{space}-v1_0-{suffix}-simple"
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in (NATS / folder.name).iterdir())
        assert f"unpacked archive: {folder}" in first.stdout
        assert [row[1] for row in sources(mirror.home / database)] == [folder.name]
    assert second.stderr.count("skipping the conversion: yes") == 2


STAND_IN = """
import sys
from pathlib import Path

import click

from nasbench_db.cli import cli
from nasbench_db.cli._common import convert
from nasbench_db.convert._build import DatabaseBuild


def stand_in(benchmark):
    @click.argument("path")
    @click.option("--db-dir")
    def command(path, db_dir):
        with DatabaseBuild(benchmark, db_dir) as build:  # only the provenance row the scripts ask about
            build.create_tables([])
            build.add_source("original", Path(path), "stand-in", None)
            build.finish()
        click.echo(f"stand-in converted {path}")
    return command


for name, benchmark in (("nb201", "nb201"), ("nats-tss", "nb201"), ("nats-sss", "nats_sss")):
    convert.commands.pop(name, None)
    convert.command(name)(stand_in(benchmark))
cli(prog_name="nasbench-db")
"""


def test_nats_and_nb201_script_plumbing_with_stand_in_converters(mirror, tmp_path):
    """Downloads through the md5 catalog check, unpacking, provenance checks by sha256 and by folder name: the
    scripts' own logic, whatever converters this checkout has (their full runs are the tests above)."""
    shim = tmp_path / "stand_in.py"
    shim.write_text(STAND_IN)
    command = f"{sys.executable} {shim}"
    for space, suffix in (("tss", "3ffb9"), ("sss", "50262")):
        name = f"NATS-{space}-v1_0-{suffix}-simple"
        mirror.publish(f"nats-{space}-simple", f"{name}.tar", _tar_folder(NATS / name))
    pth = b"not really a .pth: the stand-in converter only records it"
    mirror.publish("nb201-v1_0", "NAS-Bench-201-v1_0-e61699.pth", pth, checksum="md5")
    first, second = run_twice(mirror, "nats.sh", NASBENCH_DB_CMD=command)
    downloads = mirror.home / "downloads"
    assert first.stderr.count("stand-in converted") == 2 and "stand-in converted" not in second.stderr
    assert sources(mirror.home / "nats_sss.db") == [("original", "NATS-sss-v1_0-50262-simple", None)]
    assert (downloads / "NATS-tss-v1_0-3ffb9-simple" / "meta.pickle.pbz2").is_file()
    assert second.stderr.count("skipping the conversion: yes") == 2
    first, second = run_twice(mirror, "nasbench201.sh", NASBENCH_DB_CMD=command, NASBENCH201_VERSION="v1_0")
    assert "stand-in converted" in first.stderr and "skipping the conversion: yes" in second.stderr
    assert (downloads / "NAS-Bench-201-v1_0-e61699.pth.sha256").read_text().split()[3] == \
        "md5:" + hashlib.md5(pth).hexdigest()


def test_nds_script(mirror, tmp_path):
    if not has_converter("nds"):
        _expect_missing_converter(mirror.run("nds.sh"), "nds")
        pytest.skip("`nasbench-db convert nds` is not in this checkout yet: checked that nds.sh says so")
    nds_fixture = pytest.importorskip("nds_fixture")
    archive = nds_fixture.write_zip(tmp_path / "data.zip",
                                    nds_fixture.build_sweeps({"DARTS": 3, "ResNet": 2, "ResNet_reruns": 1}))
    data = archive.read_bytes()
    mirror.publish("nds", "data.zip", data, cuts=[len(data) // 2])
    mirror.catalog["nds"] = {}  # NDS publishes no checksum: keep it that way
    first, second = run_twice(mirror, "nds.sh")
    assert "UNVERIFIED download: no full checksum is published" in first.stderr
    database = mirror.home / "nds.db"
    assert sources(database) == [("original", "data.zip", hashlib.sha256(data).hexdigest())]
    assert "skipping the conversion: yes" in second.stderr
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM ndstrialstats").fetchone() == (3 + 2 + 2,)


# ----------------------------------------------------------------------------------------------------------------------
def _cifar_tarball(folder: str, files: dict) -> bytes:
    """A tarball in the CIFAR python layout: pickled dicts of uint8 rows and labels (two images per batch)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            payload = pickle.dumps(content, protocol=2)
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def test_cifar_script_downloads_verifies_md5_and_unpacks_once(mirror):
    import numpy as np

    rng = np.random.default_rng(0)
    images = {"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8)}
    c10 = {f"data_batch_{i}": {**images, "labels": [i % 10, 3]} for i in range(1, 6)}
    c10["test_batch"] = {**images, "labels": [1, 2]}
    c10["batches.meta"] = {"label_names": [str(i) for i in range(10)]}
    c100 = {"train": {**images, "fine_labels": [1, 99], "coarse_labels": [0, 19]},
            "test": {**images, "fine_labels": [5, 6], "coarse_labels": [1, 2]},
            "meta": {"fine_label_names": [str(i) for i in range(100)]}}
    tar10 = _cifar_tarball("cifar-10-batches-py", c10)
    tar100 = _cifar_tarball("cifar-100-python", c100)
    mirror.publish("cifar10", "cifar-10-python.tar.gz", tar10, cuts=[len(tar10) // 2], checksum="md5")
    mirror.publish("cifar100", "cifar-100-python.tar.gz", tar100, checksum="md5")
    first, second = run_twice(mirror, "cifar.sh")
    cifar = mirror.home / "cifar"
    assert f"cifar10: {cifar / 'cifar-10-batches-py'}" in first.stdout
    assert f"--data-dir {cifar}" in first.stdout
    batch = pickle.loads((cifar / "cifar-10-batches-py" / "data_batch_3").read_bytes())
    assert batch["labels"] == [3, 3] and batch["data"].shape == (2, 3072)
    assert (cifar / "cifar-100-python" / "meta").is_file()
    assert "unpacking" in first.stderr and "unpacking" not in second.stderr
    assert "md5" in (cifar / "cifar-10-python.tar.gz.sha256").read_text()
