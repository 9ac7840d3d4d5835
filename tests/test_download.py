"""Downloads against a loopback HTTP server: cuts and resume, servers without Range, checksums, HTTP errors, Google
Drive's confirm and quota pages, a full disk, a download killed mid-way, archives, and the CLI."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from nasbench_db import db as _db
from nasbench_db import download as dl
from nasbench_db.cli import cli
from nasbench_db import checksums
from nasbench_db.errors import ChecksumMismatch, CorruptInput, DownloadError, DriveQuotaExceeded, InvalidArgument

from loopback_server import (DRIVE_QUOTA_PAGE, DataRoute, DriveDataRoute, DriveRoute, GeneratedSource, HtmlRoute,
                             LoopbackServer, StatusRoute)

SIZE = 3_000_000
DATA = GeneratedSource(SIZE, seed=7).read(0, SIZE)
SHA = hashlib.sha256(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()
FAST = {"backoff": 0.0, "retries": 3, "timeout": (5, 5)}


@pytest.fixture
def server():
    with LoopbackServer() as running:
        yield running


def leftovers(directory: Path) -> list[str]:
    """Names in ``directory`` other than the lock files (kept on purpose: see download._exclusive)."""
    return sorted(p.name for p in directory.iterdir() if not p.name.endswith(".lock"))


def data_requests(server, path):
    return [r for r in server.requests if r[1].startswith(path)]


# ----------------------------------------------------------------------------------------------------------------------
# Resume, restarts, checksums
# ----------------------------------------------------------------------------------------------------------------------
def test_cut_halfway_resumes_with_range_and_transfers_each_byte_once(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA, cuts=[SIZE // 2])
    result = dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert (tmp_path / "f.bin").read_bytes() == DATA
    assert result.status == "downloaded" and result.verified and result.sha256 == SHA
    assert result.resumes == 1 and result.restarts == 0
    assert server.bytes_sent == SIZE and result.bytes_transferred == SIZE
    assert [r[2] for r in data_requests(server, "/f")] == [None, f"bytes={SIZE // 2}-"]
    # the record beside the file is the one the converters read: they never hash the file again
    assert checksums.recorded_sha256(tmp_path / "f.bin") == SHA
    assert leftovers(tmp_path) == ["f.bin", "f.bin.sha256"]


def test_three_cuts_still_transfer_the_file_once(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA, cuts=[400_000, 1_500_000, 2_900_000])
    result = dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert result.resumes == 3 and server.bytes_sent == SIZE
    assert (tmp_path / "f.bin").read_bytes() == DATA


def test_server_without_range_support_restarts_cleanly_from_zero(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA, ranges=False, cuts=[SIZE // 2])
    result = dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert (tmp_path / "f.bin").read_bytes() == DATA
    assert result.restarts == 1 and result.resumes == 0
    assert result.bytes_transferred == SIZE + SIZE // 2  # the bytes before the cut, then the whole file once more


def test_wrong_checksum_installs_nothing_and_deletes_the_bad_bytes(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA)
    with pytest.raises(ChecksumMismatch) as info:
        dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256="0" * 64), **FAST)
    message = str(info.value)
    assert server.url("/f") in message and SHA in message and "expected " + "0" * 64 in message
    assert "nothing was installed" in message and "--sha256" in message
    assert leftovers(tmp_path) == []


def test_md5_suffix_and_sha256_prefix_are_identifiers_not_checksums(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA)
    result = dl.fetch(server.url("/f"), tmp_path / "a.pth", dl.Expected(md5_suffix=MD5[-6:]), **FAST)
    # checked (a mismatch is another file), but a few hex digits verify nothing: forging them takes seconds
    assert result.md5 == MD5 and not result.verified
    assert "UNVERIFIED" in result.summary()
    assert dl.fetch(server.url("/f"), tmp_path / "d.pth", dl.Expected(md5=MD5), **FAST).verified
    # md5-checked files get their sha256 recorded too (the converters read it), and the md5 beside it
    assert checksums.recorded_sha256(tmp_path / "a.pth") == SHA
    assert dl.read_record(tmp_path / "a.pth") == (SHA, MD5)
    dl.fetch(server.url("/f"), tmp_path / "b.db", dl.Expected(sha256_prefix=SHA[:8]), **FAST)
    wrong = format((int(MD5[-6:], 16) + 1) % (1 << 24), "06x")
    with pytest.raises(ChecksumMismatch, match=f"expected one ending with {wrong}"):
        dl.fetch(server.url("/f"), tmp_path / "c.pth", dl.Expected(md5_suffix=wrong), **FAST)
    assert not (tmp_path / "c.pth").exists()


def test_http_404_is_reported_with_the_url(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        dl.fetch(server.url("/missing"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert "HTTP 404" in str(info.value) and server.url("/missing") in str(info.value)
    assert leftovers(tmp_path) == []


def test_next_url_is_tried_when_the_first_cannot_serve(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA)
    result = dl.fetch([server.url("/dead"), server.url("/f")], tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert result.url == server.url("/f")


def test_server_errors_are_retried_with_backoff(server, tmp_path):
    class FlakyRoute:
        def __init__(self):
            self.calls = 0

        def handle(self, handler, query):
            self.calls += 1
            route = {1: StatusRoute(503), 2: HtmlRoute("<html><title>Service Unavailable</title></html>", 503)}
            route.get(self.calls, DataRoute(DATA)).handle(handler, query)

    server.routes["/f"] = FlakyRoute()
    lines = []
    dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), backoff=0.01, retries=3,
             log=lines.append)
    assert server.routes["/f"].calls == 3
    assert sum("HTTP 503" in line and "retry" in line for line in lines) == 2


def test_retries_are_bounded_when_nothing_answers(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(DownloadError, match="gave up after 2 retries .*cannot connect"):
        dl.fetch(f"http://127.0.0.1:{port}/f", tmp_path / "f.bin", backoff=0.01, retries=2)
    assert time.perf_counter() - started < 10
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------------------------------------------------------------
# Google Drive
# ----------------------------------------------------------------------------------------------------------------------
def test_drive_confirm_page_then_the_data(server, tmp_path):
    drive = DriveRoute("1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs", "NAS-Bench-201-v1_0-e61699.pth", "/download")
    server.routes["/uc"] = drive
    server.routes["/download"] = DriveDataRoute(drive, DataRoute(DATA, cuts=[SIZE // 3]))
    url = server.url("/uc?export=download&id=1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs")
    result = dl.fetch(url, tmp_path / "f.pth", dl.Expected(md5_suffix=MD5[-6:]), **FAST)
    assert (tmp_path / "f.pth").read_bytes() == DATA
    confirmed = [r for r in server.requests if r[1].startswith("/download")]
    assert confirmed and all(f"uuid={drive.uuid}" in r[1] and "confirm=t" in r[1] for r in confirmed)
    assert confirmed[-1][2] == f"bytes={SIZE // 3}-"  # resumed through the confirm flow
    assert result.resumes == 1 and server.bytes_sent == SIZE


def test_drive_old_style_confirm_link(server, tmp_path):
    page = ('<html><head><title>Google Drive - Virus scan warning</title></head><body><a id="uc-download-link" '
            'href="/uc?export=download&amp;confirm=Xy_9&amp;id=abc">Download anyway</a></body></html>')

    class OldDrive:
        def handle(self, handler, query):
            if query.get("confirm") == ["Xy_9"]:
                DataRoute(DATA).handle(handler, query)
            else:
                HtmlRoute(page).handle(handler, query)

    server.routes["/uc"] = OldDrive()
    dl.fetch(server.url("/uc?export=download&id=abc"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert (tmp_path / "f.bin").read_bytes() == DATA


def test_drive_quota_page_is_reported_not_saved(server, tmp_path):
    server.routes["/uc"] = HtmlRoute(DRIVE_QUOTA_PAGE, status=200)
    with pytest.raises(DriveQuotaExceeded) as info:
        dl.fetch(server.url("/uc?export=download&id=abc"), tmp_path / "f.pth", dl.Expected(md5_suffix="e61699"),
                 **FAST)
    message = str(info.value)
    assert "Too many users have viewed or downloaded this file recently" in message
    assert "24 hours" in message and "Make a copy" in message and "--url" in message
    assert leftovers(tmp_path) == []


def test_any_other_html_page_instead_of_data_is_an_error(server, tmp_path):
    server.routes["/login"] = HtmlRoute("<html><head><title>Sign in - Google Accounts</title></head></html>", 200)
    with pytest.raises(DownloadError, match="HTML page titled 'Sign in - Google Accounts' instead of the file"):
        dl.fetch(server.url("/login"), tmp_path / "f.bin", **FAST)
    assert leftovers(tmp_path) == []


def test_next_url_from_page_reads_the_download_form():
    page = ('<form id="download-form" action="https://drive.usercontent.google.com/download" method="get">'
            '<input type="hidden" name="id" value="ID1"><input type="hidden" name="export" value="download">'
            '<input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="u-1"></form>')
    assert dl.next_url_from_page(page, "https://drive.google.com/uc?export=download&id=ID1") == \
        "https://drive.usercontent.google.com/download?id=ID1&export=download&confirm=t&uuid=u-1"
    assert dl.next_url_from_page("<html></html>", "https://x/uc?id=1", {"download_warning_13_abc": "tok"}) == \
        "https://x/uc?id=1&confirm=tok"


# ----------------------------------------------------------------------------------------------------------------------
# Files already there, partial files from earlier runs
# ----------------------------------------------------------------------------------------------------------------------
def test_present_and_verified_file_is_not_fetched_again(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA)
    dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    before = len(server.requests)
    again = dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert again.status == "present" and again.bytes_rehashed == 0 and len(server.requests) == before


def test_present_file_without_record_is_hashed_once(server, tmp_path):
    (tmp_path / "f.bin").write_bytes(DATA)
    result = dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert result.status == "present" and result.bytes_rehashed == SIZE and server.requests == []
    assert checksums.recorded_sha256(tmp_path / "f.bin") == SHA


def test_present_but_wrong_file_is_replaced_by_a_verified_copy(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA)
    (tmp_path / "f.bin").write_bytes(b"not the file")
    result = dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert result.status == "downloaded" and (tmp_path / "f.bin").read_bytes() == DATA


def test_partial_from_an_earlier_run_is_resumed_and_hashed_once(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA, cuts=[1_200_000])
    with pytest.raises(DownloadError, match="partial download .* is kept"):
        dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), backoff=0, retries=0)
    assert not (tmp_path / "f.bin").exists()
    assert (tmp_path / ".f.bin.part").stat().st_size == 1_200_000
    server.bytes_sent = 0
    result = dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert result.bytes_rehashed == 1_200_000 and server.bytes_sent == SIZE - 1_200_000
    assert (tmp_path / "f.bin").read_bytes() == DATA
    assert leftovers(tmp_path) == ["f.bin", "f.bin.sha256"]


def test_file_changed_on_the_server_between_runs_starts_over(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA, cuts=[1_000_000], etag='"old"')
    with pytest.raises(DownloadError):
        dl.fetch(server.url("/f"), tmp_path / "f.bin", backoff=0, retries=0)
    new = DATA[::-1]
    server.routes["/f"] = DataRoute(new, etag='"new"')  # If-Range "old" no longer matches: the server sends 200
    result = dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(), **FAST)
    assert (tmp_path / "f.bin").read_bytes() == new and result.restarts == 1 and not result.verified


def test_complete_partial_left_before_the_rename_is_installed(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA)
    expected = dl.Expected(sha256=SHA)
    (tmp_path / ".f.bin.part").write_bytes(DATA)
    (tmp_path / ".f.bin.part.json").write_text(json.dumps({"expected": expected.key(), "validator": '"v1"'}))
    result = dl.fetch(server.url("/f"), tmp_path / "f.bin", expected, **FAST)
    assert server.bytes_sent == 0 and result.bytes_rehashed == SIZE  # HTTP 416 said it is all there
    assert (tmp_path / "f.bin").read_bytes() == DATA


def test_partial_for_other_checksums_is_not_resumed(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA)
    (tmp_path / ".f.bin.part").write_bytes(b"x" * 1000)
    (tmp_path / ".f.bin.part.json").write_text(json.dumps({"expected": dl.Expected(sha256="1" * 64).key()}))
    result = dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert result.bytes_rehashed == 0 and (tmp_path / "f.bin").read_bytes() == DATA


# ----------------------------------------------------------------------------------------------------------------------
# A full disk, a killed download
# ----------------------------------------------------------------------------------------------------------------------
def test_not_enough_free_space_is_refused_before_downloading(server, tmp_path, monkeypatch):
    import shutil

    server.routes["/f"] = DataRoute(DATA)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(DownloadError, match=r"disk full .*3,000,000 more bytes needed, 1,000 free"):
        dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert leftovers(tmp_path) == []


class _FullDisk(io.FileIO):
    """A file that fails with ENOSPC once more than ``room`` bytes were written."""

    room = 1_500_000

    def write(self, data):
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def _fill_disk_after(monkeypatch, room):
    real_open = open

    def fake_open(path, mode="r", *args, **kwargs):
        if str(path).endswith(".part") and "b" in mode and ("w" in mode or "+" in mode):
            _FullDisk.room = room
            return _FullDisk(path, mode.replace("b", ""))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)


def test_disk_filling_up_mid_download_is_reported_and_resumable(server, tmp_path, monkeypatch):
    server.routes["/f"] = DataRoute(DATA)
    _fill_disk_after(monkeypatch, 1_500_000)
    with pytest.raises(DownloadError) as info:
        dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    message = str(info.value)
    assert "disk full" in message and "No space left on device" in message and "--dir" in message
    assert "is kept so that the next run resumes it" in message
    assert not (tmp_path / "f.bin").exists()
    monkeypatch.undo()
    result = dl.fetch(server.url("/f"), tmp_path / "f.bin", dl.Expected(sha256=SHA), **FAST)
    assert result.bytes_rehashed > 0 and (tmp_path / "f.bin").read_bytes() == DATA


def test_killed_download_leaves_nothing_under_the_final_name_and_the_rerun_completes(server, tmp_path):
    server.routes["/slow"] = DataRoute(DATA, throttle=2_000_000)  # 1.5 s for the whole file
    target = tmp_path / "dl"
    command = [sys.executable, "-m", "nasbench_db", "download", "f.bin", "--url", server.url("/slow"),
               "--sha256", SHA, "--dir", str(target), "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    part = target / ".f.bin.part"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (part.exists() and part.stat().st_size >= 600_000):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    assert not (target / "f.bin").exists() and not (target / "f.bin.sha256").exists()
    kept = part.stat().st_size
    assert 0 < kept < SIZE
    server.routes["/slow"].throttle = None
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip() == str(target / "f.bin")
    assert "resuming the partial download" in rerun.stderr
    assert (target / "f.bin").read_bytes() == DATA
    # only the missing bytes were asked for again
    assert data_requests(server, "/slow")[-1][2] == f"bytes={kept}-" and len(data_requests(server, "/slow")) == 2


# ----------------------------------------------------------------------------------------------------------------------
# Catalog
# ----------------------------------------------------------------------------------------------------------------------
def test_catalog_entries_are_consistent():
    entries = dl.catalog()
    assert {"nb101-full", "nb101-only108", "nb201-v1_0", "nb201-v1_1", "nats-tss", "nats-sss", "nats-tss-simple",
            "nats-sss-simple", "nds", "cifar10", "cifar100", "nni-nb101", "nni-nb201", "nni-nds"} <= set(entries)
    for entry in entries.values():
        assert entry.urls and all(u.startswith("https://") for u in entry.urls)
        stem = entry.file_name.split(".")[0]
        if entry.expected.md5_suffix:  # the published name carries the suffix
            assert stem.endswith(entry.expected.md5_suffix)
        if entry.expected.sha256_prefix:
            assert stem.endswith("-" + entry.expected.sha256_prefix)
            assert entry.file_name == _db.NNI_FILE_NAMES[entry.benchmark]
        if not entry.expected.verifies:  # only full digests verify: the rest say so
            assert entry.checksum_source.startswith("none published")
        if entry.expected.sha256 is None:
            assert entry.name not in ("nb101-full", "nb101-only108", "cifar10", "cifar100")
    assert entries["nb101-full"].expected.sha256 == \
        "3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c"
    assert entries["nds"].urls == ("https://dl.fbaipublicfiles.com/nds/data.zip",)


def test_resolve_mirror_url_and_checksum_overrides(tmp_path, monkeypatch):
    entry, path, urls, expected = dl.resolve("nb201-v1_1", mirror="https://m.example/nb/")
    assert urls == ["https://m.example/nb/NAS-Bench-201-v1_1-096897.pth"]
    assert expected.md5_suffix == "096897"
    assert path == _db.benchmark_dir() / "downloads" / "NAS-Bench-201-v1_1-096897.pth"
    monkeypatch.setenv("NASBENCH_MIRROR", "http://127.0.0.1:1/x")
    assert dl.resolve("nds")[2] == ["http://127.0.0.1:1/x/data.zip"]
    _, _, urls, expected = dl.resolve("nb101-full", tmp_path, url="http://h/f", sha256="A" * 64)
    assert urls == ["http://h/f"] and expected == dl.Expected(sha256="a" * 64)
    assert dl.resolve("nni-nb201")[1] == _db.benchmark_dir() / "nasbench201-b2b60732.db"
    with pytest.raises(InvalidArgument, match="unknown download 'nope'.*--url"):
        dl.resolve("nope")
    with pytest.raises(InvalidArgument, match="sha256 must be 64 hex digits"):
        dl.resolve("nope", url="http://h/f", sha256="xyz")


def test_catalog_overrides_from_nasbench_catalog(tmp_path, monkeypatch):
    overrides = tmp_path / "catalog.json"
    overrides.write_text(json.dumps({"nb201-v1_1": {"sha256": SHA}, "mine": {"file_name": "m.bin",
                                                                              "urls": "https://h/m.bin"}}))
    monkeypatch.setenv("NASBENCH_CATALOG", str(overrides))
    entries = dl.catalog()
    assert entries["nb201-v1_1"].expected == dl.Expected(sha256=SHA)  # other checksums cleared
    assert entries["mine"].urls == ("https://h/m.bin",)
    overrides.write_text(json.dumps({"nb101-full": {"sha": "x"}}))
    with pytest.raises(InvalidArgument, match=r"unknown fields \['sha'\]"):
        dl.catalog()


def test_record_format_matches_what_the_converters_read(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    dl.write_record(path, hashlib.sha256(b"abc").hexdigest(), md5=hashlib.md5(b"abc").hexdigest())
    sha, size, mtime_ns, md5 = (tmp_path / "f.sha256").read_text().split()
    assert (int(size), int(mtime_ns)) == (3, path.stat().st_mtime_ns) and md5.startswith("md5:")
    assert checksums.recorded_sha256(path) == sha == hashlib.sha256(b"abc").hexdigest()
    path.write_bytes(b"abcd")  # changed since: the record is stale for both readers
    assert checksums.recorded_sha256(path) is None and dl.read_record(path) is None


# ----------------------------------------------------------------------------------------------------------------------
# Archives
# ----------------------------------------------------------------------------------------------------------------------
def _tar(path: Path, members: dict, mode="w:gz"):
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_extract_unpacks_atomically_and_only_once(tmp_path):
    archive = _tar(tmp_path / "a.tar.gz", {"top/x.txt": b"x", "top/sub/y.txt": b"y"})
    folder = dl.extract(archive)
    assert folder == tmp_path / "top" and (folder / "sub" / "y.txt").read_bytes() == b"y"
    (folder / "x.txt").write_bytes(b"changed")  # a second call trusts the marker and does not unpack again
    assert dl.extract(archive) == folder and (folder / "x.txt").read_bytes() == b"changed"
    assert not list(tmp_path.glob(".top.extracting-*"))


def test_extract_refuses_members_outside_the_folder(tmp_path):
    bad_tar = _tar(tmp_path / "bad.tar", {"../evil.txt": b"x"}, mode="w")
    with pytest.raises(CorruptInput, match="outside the target folder"):
        dl.extract(bad_tar)
    bad_zip = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad_zip, "w") as handle:
        handle.writestr("/etc/evil", "x")
    with pytest.raises(CorruptInput, match="outside the target folder"):
        dl.extract(bad_zip)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_truncated_archive_leaves_no_folder(tmp_path):
    archive = _tar(tmp_path / "a.tar", {"top/x.bin": os.urandom(200_000)}, mode="w")
    archive.write_bytes(archive.read_bytes()[:100_000])
    with pytest.raises(CorruptInput):
        dl.extract(archive)
    assert not (tmp_path / "top").exists() and not list(tmp_path.glob(".top.*"))


# ----------------------------------------------------------------------------------------------------------------------
# Provenance: has_source
# ----------------------------------------------------------------------------------------------------------------------
def test_has_source_by_sha256_and_by_name(nb101_env):
    from conftest import SAMPLE_TFRECORD

    sha = hashlib.sha256(SAMPLE_TFRECORD.read_bytes()).hexdigest()
    row = _db.has_source("nb101", sha256=sha)
    assert row is not None and row["file_name"] == SAMPLE_TFRECORD.name and row["kind"] == "original"
    assert _db.has_source("nb101", sha256="0" * 64) is None
    assert _db.has_source("nb101", sha256="0" * 64, file_name=SAMPLE_TFRECORD.name) is None  # sha256 decides
    assert _db.has_source("nds", file_name="data.zip") is None  # not installed
    runner = CliRunner()
    found = runner.invoke(cli, ["has-source", "nb101", "--sha256", sha])
    assert found.exit_code == 0 and found.output.startswith("yes:")
    missing = runner.invoke(cli, ["has-source", "nb101", "--sha256", "1" * 64])
    assert missing.exit_code == 1 and missing.output.startswith("no:")
    as_json = runner.invoke(cli, ["has-source", "nb101", "--file", str(SAMPLE_TFRECORD), "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["sha256"] == sha


# ----------------------------------------------------------------------------------------------------------------------
# The command line
# ----------------------------------------------------------------------------------------------------------------------
def test_cli_download_prints_the_path_and_reuses_the_file(server, tmp_path):
    server.routes["/f"] = DataRoute(DATA, cuts=[SIZE // 2])
    runner = CliRunner()
    args = ["download", "f.bin", "--url", server.url("/f"), "--sha256", SHA, "--dir", str(tmp_path),
            "--backoff", "0"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == str(tmp_path / "f.bin")
    assert "1 resume(s)" in first.stderr and "verified" in first.stderr
    second = runner.invoke(cli, args)
    assert second.exit_code == 0 and "already present" in second.stderr


def test_cli_catalog_name_with_mirror_and_catalog_override(server, tmp_path, monkeypatch):
    server.routes["/mirror/NAS-Bench-201-v1_1-096897.pth"] = DataRoute(DATA)
    monkeypatch.setenv("NASBENCH_MIRROR", server.url("/mirror"))
    runner = CliRunner()
    # the real file's md5 does not end in 096897: the catalog's check is applied to the mirror's copy
    refused = runner.invoke(cli, ["download", "nb201-v1_1", "--backoff", "0"])
    assert refused.exit_code == 1 and "Error:" in refused.stderr and "ending with 096897" in refused.stderr
    overrides = tmp_path / "catalog.json"
    overrides.write_text(json.dumps({"nb201-v1_1": {"md5": MD5}}))
    monkeypatch.setenv("NASBENCH_CATALOG", str(overrides))
    accepted = runner.invoke(cli, ["download", "nb201-v1_1", "--backoff", "0"])
    assert accepted.exit_code == 0, accepted.output
    assert Path(accepted.stdout.strip()) == _db.benchmark_dir() / "downloads" / "NAS-Bench-201-v1_1-096897.pth"


@pytest.mark.parametrize("case", ["checksum", "404", "quota", "disk"])
def test_cli_failures_say_error_exit_1_and_install_nothing(server, tmp_path, monkeypatch, case):
    import shutil

    server.routes["/f"] = DataRoute(DATA)
    server.routes["/uc"] = HtmlRoute(DRIVE_QUOTA_PAGE)
    url = {"checksum": "/f", "404": "/nothing", "quota": "/uc?export=download&id=q", "disk": "/f"}[case]
    sha = "0" * 64 if case == "checksum" else SHA
    if case == "disk":
        monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9, 10))
    result = CliRunner().invoke(cli, ["download", "f.bin", "--url", server.url(url), "--sha256", sha,
                                      "--dir", str(tmp_path), "--backoff", "0", "--retries", "1"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert {"checksum": "expected 000", "404": "HTTP 404", "quota": "Too many users", "disk": "disk full"}[case] \
        in result.stderr
    assert result.stdout == "" and leftovers(tmp_path) == []


def test_cli_list_and_extract(server, tmp_path):
    runner = CliRunner()
    listed = runner.invoke(cli, ["download", "--list", "--format", "json"])
    names = {row["name"]: row for row in json.loads(listed.stdout)}
    assert names["nds"]["checksum"] == "no published checksum"
    archive = _tar(tmp_path / "src.tar.gz", {"cifar-10-batches-py/data_batch_1": b"batch"})
    server.routes["/c.tar.gz"] = DataRoute(archive.read_bytes())
    out = tmp_path / "out"
    result = runner.invoke(cli, ["download", "c.tar.gz", "--url", server.url("/c.tar.gz"), "--dir", str(out),
                                 "--extract"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out / "cifar-10-batches-py")
    assert "UNVERIFIED download: no full checksum is published" in result.stderr
    assert (out / "cifar-10-batches-py" / "data_batch_1").read_bytes() == b"batch"
