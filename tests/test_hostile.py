"""Hostile input is normal input: every family of tests/hostile_inputs.py through the readers and the CLI.

Goals (issue 15): 0 code executions, 0 tracebacks, 0 hangs, peak RSS <= 1 GB on any bomb, every error names the file
and what was wrong, and the previous database is untouched. Bombs that would take gigabytes run in a subprocess whose
peak RSS (``resource.getrusage``) is checked; ``bench/hostile_bench.py`` runs the same families at the issue's sizes.
"""

from __future__ import annotations

import bz2
import contextlib
import hashlib
import io
import itertools
import json
import os
import pickle
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile_inputs as H
from conftest import SAMPLE_TFRECORD
from nasbench_db import limits
from nasbench_db.cli import cli
from nasbench_db.convert import nb201 as nb201_convert
from nasbench_db.convert import pickle_stream
from nasbench_db.convert.pickle_stream import PickleDataError, StreamUnpickler, UnsupportedPickle
from nasbench_db.convert.tfrecord import encode_record, iter_records
from nasbench_db.errors import CorruptInput, NasbenchDbError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RSS_LIMIT_KB = 1 << 20  # 1 GB: the bound on any bomb
NLP_ZIP = HERE / "data" / "nas-bench-nlp" / "train_logs_wikitext-2_logs.zip"
ZC_NB201 = HERE / "data" / "zc" / "zc_nasbench201_6639fd15.json"
ECNAS = HERE / "data" / "ecnas" / "energy_5V9E.tfrecord"


@contextlib.contextmanager
def time_limit(seconds: int):
    """A hang guard (not a timing assertion): a reader that loops forever fails the test instead of the suite."""

    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def cli_fails(args, *needles):
    """Run the CLI in-process: ``Error: ...`` on one line-start, exit 1, no traceback, each needle in the message."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    # the error is the last line (a download logs its progress on stderr first)
    assert result.output.strip().splitlines()[-1].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, (needle, result.output)
    return result.output


PEAK_RSS_CODE = """
def _peak_rss_kb():
    # Linux keeps ru_maxrss across fork + exec (a child of a big pytest process would report the parent's peak):
    # the VmHWM of /proc/self/status belongs to this process image only. Elsewhere: getrusage.
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        import resource, sys
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak // 1024 if sys.platform == "darwin" else peak
print("PEAK_RSS_KB", _peak_rss_kb())
"""


def peak_rss_kb(code: str, timeout: int = 300) -> tuple[int, str]:
    """Run ``code`` in a fresh interpreter; returns (its peak RSS in KB, its stdout). The code must not fail."""
    script = textwrap.dedent(code) + PEAK_RSS_CODE
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=str(HERE))
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("PEAK_RSS_KB"))
    return int(line.split()[1]), done.stdout


@pytest.fixture
def small_live_limit(monkeypatch):
    """The pickle reader's live-object limit lowered to 16 MB (the real 384 MB bound is checked in a subprocess)."""
    monkeypatch.setattr(pickle_stream, "MAX_PICKLE_LIVE_BYTES", 16 << 20)


# ---------------------------------------------------------------------------------------------------------------------
# Pickles: the reader itself


def _read_pickle(data: bytes):
    reader = StreamUnpickler(io.BytesIO(data).read, is_record=nb201_convert.is_arch_record)
    records = list(reader.load())
    return reader, records


@pytest.mark.parametrize("case", list(H.hostile_pickles()), ids=lambda c: c.name)
def test_stream_reader_bounds_every_hostile_pickle(case, small_live_limit):
    with time_limit(60):
        if case.expect is None:
            reader, _ = _read_pickle(case.data)
            return
        with pytest.raises((PickleDataError, UnsupportedPickle), match=case.expect):
            _read_pickle(case.data)


@pytest.mark.parametrize("case", list(H.payload_pickles("/tmp/never")), ids=lambda c: c.name)
def test_stream_reader_never_calls_a_payload(case, tmp_path):
    marker = tmp_path / H.PAYLOAD_MARKER
    data = next(c for c in H.payload_pickles(str(marker)) if c.name == case.name).data
    with pytest.raises(UnsupportedPickle, match=case.expect):
        _read_pickle(data)
    assert not marker.exists()
    # sanity: the payload is real (the unrestricted unpickler would run it)
    if "os.system" in case.name and "hidden" not in case.name:
        pickle.loads(data)
        assert marker.exists()


def test_memo_ids_of_any_size_cost_nothing():
    with time_limit(30):
        for put in (b"p1000000000000000000\n", b"r\xff\xff\xff\xff", b"q\xff"):
            data = H.nb201_wrapper(b"N" + put + b"0" + b"}" + put)  # an id far ahead, then the record
            reader, records = _read_pickle(data)
            assert [index for index, _ in records] == [0]


def test_string_opcode_is_text_never_evaluated():
    reader, _ = _read_pickle(b"S'__import__(\\'os\\').system(\\'true\\')'\n.")
    assert reader.result == "__import__('os').system('true')"
    assert _read_pickle(b'S"a\\x41\\n"\n.')[0].result == "aA\n"


def test_allowed_callables_rebuild_data_only():
    data = pickle.dumps({"b": bytearray(b"xy"), "s": {1, 2}, "f": frozenset({3}), "t": (1,)}, protocol=2)
    assert _read_pickle(data)[0].result == {"b": bytearray(b"xy"), "s": {1, 2}, "f": frozenset({3}), "t": (1,)}


def test_released_records_do_not_count_against_the_live_limit(small_live_limit):
    # 5,000 records of 200 floats (~40 MB of objects in all) under a 16 MB live limit: each is released when handed
    # over, so the stream passes; the same objects kept in one record do not
    records = {i: {"less": {"all_results": {}, "curve": [float(k) for k in range(200)]}} for i in range(5000)}
    reader, handed = _read_pickle(pickle.dumps({"arch2infos": records}, protocol=2))
    assert len(handed) == 5000 and reader.measures >= 1 and reader.live_bytes < (16 << 20)
    kept = {"arch2infos": {0: {"less": {"all_results": {}, "curves": [[float(k) for k in range(200)]
                                                                       for _ in range(5000)]}}}}
    with pytest.raises(PickleDataError, match="keeps more than 16 MB of objects alive"):
        _read_pickle(pickle.dumps(kept, protocol=2))


# ---------------------------------------------------------------------------------------------------------------------
# Pickles through the converters (.pth layouts, NATS archives), the CLI and the database


def _legacy_layout(data: bytes) -> bytes:
    header = (pickle.dumps(nb201_convert.TORCH_LEGACY_MAGIC, protocol=2) + pickle.dumps(1001, protocol=2) +
              pickle.dumps({"protocol_version": 1001, "little_endian": True,
                            "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2))
    return header + data


def _zip_layout(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", data)
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


LAYOUTS = {"pickle": lambda d: d, "torch-zip": _zip_layout, "torch-legacy": _legacy_layout}


@pytest.fixture(scope="module")
def nb201_database(tmp_path_factory) -> Path:
    from nb201_fixture import load_simple, nb201_dict

    meta, records = load_simple()
    directory = tmp_path_factory.mktemp("nb201")
    path = directory / "good.pth"
    path.write_bytes(pickle.dumps(nb201_dict(records, meta), protocol=2))
    nb201_convert.convert_nb201(path, directory / "db", progress=False)
    return directory / "db"


@pytest.fixture
def existing_nb201(nb201_database, tmp_path):
    """A database directory whose nasbench201.db must survive every failed conversion byte for byte."""
    db_dir = tmp_path / "db"
    shutil.copytree(nb201_database, db_dir)
    return db_dir, (db_dir / "nasbench201.db").read_bytes()


def forbid_unrestricted_unpickling(monkeypatch):
    """From here on, torch.load and the unrestricted pickle loaders fail the test if a converter calls them."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a converter called an unrestricted unpickler on an input file")

    try:
        import torch

        monkeypatch.setattr(torch, "load", forbidden)
    except ImportError:
        pass
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    import _pickle

    monkeypatch.setattr(_pickle, "load", forbidden)
    monkeypatch.setattr(_pickle, "loads", forbidden)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_convert_nb201_never_runs_a_payload(layout, tmp_path, existing_nb201, monkeypatch):
    db_dir, before = existing_nb201
    forbid_unrestricted_unpickling(monkeypatch)
    marker = tmp_path / H.PAYLOAD_MARKER
    for number, case in enumerate(H.payload_pickles(str(marker))):
        path = tmp_path / f"hostile-{layout}.pth"
        path.write_bytes(LAYOUTS[layout](case.data))
        cli_fails(["convert", "nb201", path, "--db-dir", db_dir], str(path), "restricted reader refuses",
                  "unexpected class")
        if number == 0:  # 'auto' (it fell back to torch.load) is the streaming reader now
            cli_fails(["convert", "nb201", path, "--db-dir", db_dir, "--loader", "auto"], "unexpected class")
        assert not marker.exists(), case.name
        assert (db_dir / "nasbench201.db").read_bytes() == before


CONVERTER_CASES = ("MARK/LIST", "cycle", "BINUNICODE8", "FRAME", "bytearray", "STRING opcode unquoted", "LONG1",
                   "persistent", "EMPTY_SET")


@pytest.mark.parametrize("case", [c for c in H.hostile_pickles(nesting=100_000, flood_bytes=1 << 20)
                                  if any(key in c.name for key in CONVERTER_CASES)], ids=lambda c: c.name)
def test_convert_nb201_names_every_bounded_failure(case, tmp_path, existing_nb201, small_live_limit):
    db_dir, before = existing_nb201
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    path.write_bytes(case.data if case.data.startswith(b"\x80") else b"\x80\x02" + case.data)
    with time_limit(60):
        cli_fails(["convert", "nb201", path, "--db-dir", db_dir], str(path))
    assert (db_dir / "nasbench201.db").read_bytes() == before
    assert sorted(p.name for p in db_dir.iterdir()) == ["nasbench201.db"]


def test_no_converter_calls_torch_load_without_the_opt_in(tmp_path, monkeypatch):
    """Every converter over its fixtures with torch.load / pickle.load* made to fail: all succeed."""
    from nb201_fixture import TSS_DIR, load_simple, nb201_dict, write_pbz2
    from nds_fixture import build_sweeps, write_dir

    sss_dir = HERE / "data" / "nats" / "NATS-sss-v1_0-50262-simple"
    pth = tmp_path / "v1_1.pth"
    pbz2 = tmp_path / "tss.pickle.pbz2"
    meta, records = load_simple()  # the fixtures are written with the real pickle first
    pth.write_bytes(pickle.dumps(nb201_dict(records, meta), protocol=2))
    write_pbz2(pbz2, meta, {i: {"12": r["12"], "200": r["200"]} for i, r in records.items()})
    forbid_unrestricted_unpickling(monkeypatch)
    for layout, make in LAYOUTS.items():
        path = tmp_path / f"{layout}.pth"
        path.write_bytes(make(pth.read_bytes()))
        result = CliRunner().invoke(cli, ["convert", "nb201", str(path), "--db-dir", str(tmp_path / layout)])
        assert result.exit_code == 0, result.output
    import hw_nasbench_fixture as HF

    hw = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    HF.write_pickle(hw, HF.hw_dict(num_archs=50))  # numpy arrays, numpy 1.x names: as the released file
    for args in (["nb101", SAMPLE_TFRECORD], ["nats-tss", TSS_DIR], ["nats-tss", pbz2], ["nats-sss", sss_dir],
                 ["nds", write_dir(tmp_path / "nds_data", build_sweeps({"Amoeba": 3, "ResNet": 3}))],
                 ["nlp", NLP_ZIP], ["zc", ZC_NB201], ["hw-nasbench", hw], ["ecnas", ECNAS]):
        result = CliRunner().invoke(cli, ["convert", *map(str, args), "--db-dir", str(tmp_path / "other")])
        assert result.exit_code == 0, (args, result.output)


def _tss_dir(tmp_path, member: bytes | None = None, meta: bytes | None = None) -> Path:
    from nb201_fixture import TSS_DIR

    directory = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    shutil.copytree(TSS_DIR, directory)
    if member is not None:
        (directory / "000011.pickle.pbz2").write_bytes(member)
    if meta is not None:
        (directory / "meta.pickle.pbz2").write_bytes(meta)
    return directory


def test_nats_simple_members_are_read_by_the_restricted_reader(tmp_path, existing_nb201, monkeypatch):
    db_dir, before = existing_nb201
    forbid_unrestricted_unpickling(monkeypatch)
    marker = tmp_path / H.PAYLOAD_MARKER
    for case in H.payload_pickles(str(marker)):
        directory = _tss_dir(tmp_path / case.name.replace(" ", "_"), bz2.compress(case.data))
        cli_fails(["convert", "nats-tss", directory, "--db-dir", db_dir, "--jobs", "1"], "000011.pickle.pbz2",
                  "unexpected class")
        assert not marker.exists()
    bomb = _tss_dir(tmp_path / "bomb", H.bz2_bomb(200 << 20))
    cli_fails(["convert", "nats-tss", bomb, "--db-dir", db_dir, "--jobs", "1"], "000011.pickle.pbz2",
              "expands beyond the limit of 67,108,864 bytes")
    deep = _tss_dir(tmp_path / "deep", meta=bz2.compress(b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b"."))
    cli_fails(["convert", "nats-tss", deep, "--db-dir", db_dir], "meta.pickle.pbz2", "nested deeper than 64")
    assert (db_dir / "nasbench201.db").read_bytes() == before


def test_nats_pbz2_stream_bounds(tmp_path, existing_nb201):
    db_dir, before = existing_nb201
    declared = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    declared.write_bytes(bz2.compress(b"\x80\x04\x8d" + (1 << 40).to_bytes(8, "little") + b"abc"))
    cli_fails(["convert", "nats-tss", declared, "--db-dir", db_dir], str(declared),
              "BINUNICODE8 declares 1,099,511,627,776 bytes")
    bomb = tmp_path / "bomb.pickle.pbz2"
    bomb.write_bytes(H.pickle_stream_bomb(1 << 30, unit=4 << 20))
    with time_limit(120):
        cli_fails(["convert", "nats-tss", bomb, "--db-dir", db_dir], str(bomb), "expands more than 200x")
    zipped = tmp_path / "declared.pth"
    zipped.write_bytes(_zip_layout(b"\x80\x04\x8e" + (1 << 40).to_bytes(8, "little") + b"abc"))
    cli_fails(["convert", "nb201", zipped, "--db-dir", db_dir], "BINBYTES8 declares 1,099,511,627,776 bytes")
    assert (db_dir / "nasbench201.db").read_bytes() == before


# ---------------------------------------------------------------------------------------------------------------------
# TFRecord JSON rows (NB-101)


def _sample_rows():
    return [(data, json.loads(data)) for _, _, data in iter_records(SAMPLE_TFRECORD)]


@pytest.mark.parametrize("case", list(H.nb101_rows(json.loads(next(iter_records(SAMPLE_TFRECORD))[2]))),
                         ids=lambda c: c.name)
def test_convert_nb101_refuses_hostile_rows_with_a_valid_crc(case, tmp_path, nb101_sample_db):
    db_dir = tmp_path / "db"
    shutil.copytree(nb101_sample_db, db_dir)
    before = (db_dir / "nasbench101.db").read_bytes()
    rows = [data for data, _ in _sample_rows()]
    rows[5] = case.data
    path = tmp_path / "hostile.tfrecord"
    path.write_bytes(b"".join(encode_record(r) for r in rows))
    output = cli_fails(["convert", "nb101", path, "--db-dir", db_dir], str(path), "record 5")
    assert __import__("re").search(case.expect, output), output
    assert (db_dir / "nasbench101.db").read_bytes() == before


def test_tfrecord_framing_refuses_a_huge_length(tmp_path):
    path = tmp_path / "big.tfrecord"
    length = (limits.MAX_RECORD_BYTES + 1).to_bytes(8, "little")
    from nasbench_db.convert.tfrecord import masked_crc

    path.write_bytes(length + masked_crc(length).to_bytes(4, "little") + b"x" * 100)
    with pytest.raises(CorruptInput, match="exceeds the limit of 16777216"):
        list(iter_records(path))


# ---------------------------------------------------------------------------------------------------------------------
# NDS JSON jobs and zip members


@pytest.fixture
def nds_job():
    from nds_fixture import build_sweeps

    return build_sweeps({"Amoeba": 1})["Amoeba"][0]


@pytest.mark.parametrize("index", range(9))
def test_convert_nds_refuses_hostile_jobs(index, nds_job, tmp_path):
    case = list(H.nds_jobs(nds_job, big_list_bytes=20 << 20))[index]
    from nds_fixture import build_sweeps, write_dir

    db_dir = tmp_path / "db"
    from nasbench_db.convert.nds import convert_nds

    convert_nds(write_dir(tmp_path / "good", build_sweeps({"Amoeba": 2})), db_dir, progress=False)
    before = (db_dir / "nds.db").read_bytes()
    directory = tmp_path / "nds_data"
    directory.mkdir()
    (directory / "Amoeba.json").write_bytes(case.data)
    with time_limit(60):
        output = cli_fails(["convert", "nds", directory, "--db-dir", db_dir], "Amoeba.json")
    assert __import__("re").search(case.expect, output), (case.name, output)
    assert (db_dir / "nds.db").read_bytes() == before


def test_nds_zip_bombs_are_refused_before_reading(tmp_path):
    whitespace = tmp_path / "data.zip"
    whitespace.write_bytes(H.zip_with("nds_data/Amoeba.json", b"[" + b" " * (300 << 20) + b"]"))
    cli_fails(["convert", "nds", whitespace, "--db-dir", tmp_path / "db"], "nds_data/Amoeba.json",
              "zip bomb")
    lying = tmp_path / "lying.zip"
    lying.write_bytes(H.zip_lying_size("nds_data/Amoeba.json", 4 << 30))
    cli_fails(["convert", "nds", lying, "--db-dir", tmp_path / "db"], "declares 4,294,967,295 bytes", "zip bomb")
    assert not (tmp_path / "db" / "nds.db").exists()


# ---------------------------------------------------------------------------------------------------------------------
# The joined-data and NLP readers: NAS-Bench-NLP logs, zero-cost proxy JSON, HW-NAS-Bench pickles, EC-NAS TFRecords



def _first_nlp_log() -> tuple[str, dict]:
    with zipfile.ZipFile(NLP_ZIP) as archive:
        name = next(n for n in archive.namelist() if n.rsplit("/", 1)[-1].startswith("log_stats_model_"))
        return name.rsplit("/", 1)[-1], json.loads(archive.read(name))


def _dump_db(path: Path) -> list:
    """Every row of every table (a database changed in place, WAL mode: bytes on disk are not the measure)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(t, sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"')))) for t in tables]


@pytest.fixture(scope="module")
def nlp_database(tmp_path_factory) -> Path:
    from nasbench_db.convert.nlp import convert_nlp

    directory = tmp_path_factory.mktemp("nlp")
    convert_nlp(NLP_ZIP, directory / "db", progress=False)
    return directory / "db"


@pytest.mark.parametrize("case", list(H.nlp_logs(_first_nlp_log()[1])), ids=lambda c: c.name)
def test_convert_nlp_refuses_hostile_logs(case, nlp_database, tmp_path):
    db_dir = tmp_path / "db"
    shutil.copytree(nlp_database, db_dir)
    before = (db_dir / "nlp.db").read_bytes()
    path = tmp_path / _first_nlp_log()[0]
    path.write_bytes(case.data)
    if case.expect is None:  # accepted: converted as a value of its own (a new database)
        result = CliRunner().invoke(cli, ["convert", "nlp", str(path), "--db-dir", str(tmp_path / "other")])
        assert result.exit_code == 0, result.output
        return
    with time_limit(60):
        output = cli_fails(["convert", "nlp", path, "--db-dir", db_dir], str(path))
    assert __import__("re").search(case.expect, output), (case.name, output)
    assert (db_dir / "nlp.db").read_bytes() == before
    # the same log inside a logs.zip: the member is named
    archive = tmp_path / "logs.zip"
    archive.write_bytes(H.zip_with(path.name, case.data))
    output = cli_fails(["convert", "nlp", archive, "--db-dir", db_dir], f"{archive}:{path.name}")
    assert __import__("re").search(case.expect, output), (case.name, output)
    assert (db_dir / "nlp.db").read_bytes() == before


def test_nlp_zip_bombs_are_refused_from_their_headers(tmp_path):
    bomb = tmp_path / "logs.zip"
    bomb.write_bytes(H.nlp_zip_bomb(60 << 20))  # under the 64 MB member limit, but ~1000x: many would cost hours
    cli_fails(["convert", "nlp", bomb, "--db-dir", tmp_path / "db"], str(bomb), "zip bomb")
    lying = tmp_path / "lying.zip"
    lying.write_bytes(H.zip_lying_size("log_stats_model_1_2020-01-01_00-00-00_1.json", 4 << 30))
    cli_fails(["convert", "nlp", lying, "--db-dir", tmp_path / "db"], "declares 4,294,967,295 bytes")
    assert not (tmp_path / "db" / "nlp.db").exists()


@pytest.fixture(scope="module")
def zc_database(tmp_path_factory) -> Path:
    from nasbench_db.convert.zc import convert_zc

    directory = tmp_path_factory.mktemp("zc")
    convert_zc(ZC_NB201, directory / "db")
    return directory / "db"


@pytest.mark.parametrize("case", list(H.zc_files(bomb_bytes=60 << 20)), ids=lambda c: c.name)
def test_convert_zc_refuses_hostile_files(case, zc_database, tmp_path):
    db_dir = tmp_path / "db"
    shutil.copytree(zc_database, db_dir)
    before = _dump_db(db_dir / "nasbench201.db")
    path = tmp_path / "zc_nasbench201.json"
    path.write_bytes(case.data)
    with time_limit(60):
        output = cli_fails(["convert", "zc", path, "--db-dir", db_dir], str(path))
    assert __import__("re").search(case.expect, output), (case.name, output)
    assert len(output) < 2000  # a 1 MB name or a 200,000-character key is quoted short
    assert _dump_db(db_dir / "nasbench201.db") == before


@pytest.fixture(scope="module")
def hw_valid() -> dict:
    import hw_nasbench_fixture as HF

    return HF.hw_dict(num_archs=3)


@pytest.fixture(scope="module")
def hw_database(tmp_path_factory, hw_valid) -> Path:
    from nasbench_db.convert.hw_nasbench import convert_hw_nasbench

    directory = tmp_path_factory.mktemp("hw")
    path = directory / "HW-NAS-Bench-v1_0.pickle"
    path.write_bytes(pickle.dumps(hw_valid, protocol=3))
    convert_hw_nasbench(path, directory / "db")
    return directory / "db"


def _hw_cases():
    import hw_nasbench_fixture as HF

    hostile = [c for c in H.hostile_pickles(nesting=100_000, flood_bytes=1 << 20)
               if any(key in c.name for key in CONVERTER_CASES)]
    return hostile + list(H.hw_pickles(HF.hw_dict(num_archs=3)))


@pytest.mark.parametrize("case", _hw_cases(), ids=lambda c: c.name)
def test_convert_hw_nasbench_refuses_hostile_pickles(case, hw_database, tmp_path, small_live_limit):
    db_dir = tmp_path / "db"
    shutil.copytree(hw_database, db_dir)
    before = _dump_db(db_dir / "nasbench201.db")
    path = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    path.write_bytes(case.data if case.data.startswith(b"\x80") else b"\x80\x02" + case.data)
    with time_limit(60):
        output = cli_fails(["convert", "hw-nasbench", path, "--db-dir", db_dir], str(path))
    if case.expect is not None:
        assert __import__("re").search(case.expect, output), (case.name, output)
    assert _dump_db(db_dir / "nasbench201.db") == before


def test_convert_hw_nasbench_never_runs_a_payload(hw_database, tmp_path, monkeypatch):
    db_dir = tmp_path / "db"
    shutil.copytree(hw_database, db_dir)
    before = _dump_db(db_dir / "nasbench201.db")
    forbid_unrestricted_unpickling(monkeypatch)
    marker = tmp_path / H.PAYLOAD_MARKER
    for case in H.payload_pickles(str(marker)):
        path = tmp_path / "HW-NAS-Bench-v1_0.pickle"
        path.write_bytes(case.data)
        cli_fails(["convert", "hw-nasbench", path, "--db-dir", db_dir], str(path), "unexpected class")
        assert not marker.exists(), case.name
    assert _dump_db(db_dir / "nasbench201.db") == before


@pytest.mark.parametrize("case", list(H.nb101_rows(json.loads(next(iter_records(ECNAS))[2]))), ids=lambda c: c.name)
def test_convert_ecnas_refuses_hostile_rows_with_a_valid_crc(case, nb101_sample_db, tmp_path):
    db_dir = tmp_path / "db"
    shutil.copytree(nb101_sample_db, db_dir)
    before = _dump_db(db_dir / "nasbench101.db")
    rows = [data for _, _, data in itertools.islice(iter_records(ECNAS), 8)]
    rows[5] = case.data
    path = tmp_path / "energy_5V9E.tfrecord"
    path.write_bytes(b"".join(encode_record(r) for r in rows))
    output = cli_fails(["convert", "ecnas", path, "--db-dir", db_dir], str(path), "record 5")
    assert __import__("re").search(case.expect, output), output
    assert _dump_db(db_dir / "nasbench101.db") == before


# ---------------------------------------------------------------------------------------------------------------------
# Git LFS pointers: every converter names them


def test_every_converter_names_a_git_lfs_pointer(tmp_path):
    pointer = H.lfs_pointer()
    single = {"nb101": "nasbench_full.tfrecord", "nb201": "NAS-Bench-201-v1_1-096897.pth",
              "nats-tss": "NATS-tss-v1_0-3ffb9.pickle.pbz2", "nats-sss": "NATS-sss-v1_0-50262.pickle.pbz2",
              "nds": "data.zip", "nlp": "logs.zip", "zc": "zc_nasbench201.json",
              "hw-nasbench": "HW-NAS-Bench-v1_0.pickle", "ecnas": "energy_5V9E.tfrecord"}
    for command, name in single.items():
        path = tmp_path / name
        path.write_bytes(pointer)
        cli_fails(["convert", command, path, "--db-dir", tmp_path / "db"], str(path), "Git LFS pointer",
                  "git lfs pull", "2,085,986,016 bytes")
    nds_dir = tmp_path / "nds_data"
    nds_dir.mkdir()
    (nds_dir / "Amoeba.json").write_bytes(pointer)
    cli_fails(["convert", "nds", nds_dir, "--db-dir", tmp_path / "db"], "Amoeba.json", "git lfs pull")
    member = _tss_dir(tmp_path / "member", member=pointer)
    cli_fails(["convert", "nats-tss", member, "--db-dir", tmp_path / "db", "--jobs", "1"], "000011.pickle.pbz2",
              "git lfs pull")
    meta = _tss_dir(tmp_path / "meta", meta=pointer)
    cli_fails(["convert", "nats-tss", meta, "--db-dir", tmp_path / "db"], "meta.pickle.pbz2", "git lfs pull")
    logs = tmp_path / "logs"  # a folder of NLP logs, one of them a pointer; and a pointer inside a logs.zip
    logs.mkdir()
    (logs / "log_stats_model_1_2020-01-01_00-00-00_1.json").write_bytes(pointer)
    cli_fails(["convert", "nlp", logs, "--db-dir", tmp_path / "db"], "log_stats_model_1_2020", "git lfs pull")
    zipped = tmp_path / "pointer-inside.zip"
    zipped.write_bytes(H.zip_with("log_stats_model_1_2020-01-01_00-00-00_1.json", pointer))
    cli_fails(["convert", "nlp", zipped, "--db-dir", tmp_path / "db"], "log_stats_model_1_2020", "git lfs pull")
    assert not (tmp_path / "db").exists() or not any((tmp_path / "db").glob("*.db"))


def test_the_build_refuses_an_lfs_pointer_for_every_converter(tmp_path):
    # the catch-all: any converter recording an original file through DatabaseBuild.add_source
    from nasbench_db.convert._build import DatabaseBuild

    path = tmp_path / "something.json"
    path.write_bytes(H.lfs_pointer(123))
    with pytest.raises(CorruptInput, match=r"Git LFS pointer file \(sha256:3d64db81.*123 bytes\).*git lfs pull"):
        with DatabaseBuild("nb101", tmp_path / "db") as build:
            build.create_tables([])
            build.add_source("original", path, "test", None)
    assert not list((tmp_path / "db").glob("*.db"))


# ---------------------------------------------------------------------------------------------------------------------
# sql (SQLite)


@pytest.mark.parametrize("statement, needle", [
    ("ATTACH '{target}' AS x", "read-only"),
    ("VACUUM INTO '{target}'", "read-only"),
    ("VACUUM", "read-only"),
    ("PRAGMA user_version = 5", "read-only"),
    ("PRAGMA journal_mode = WAL", "read-only"),
    ("CREATE TEMP TABLE t AS SELECT 1", "read-only"),
    ("BEGIN IMMEDIATE", "read-only"),
    ("DELETE FROM nb101_arch", "read-only"),
    ("SELECT load_extension('/tmp/x')", "read-only"),
    ("SELECT length(zeroblob(400000000))", "string or blob too big"),
    ("SELECT 1; SELECT 2", "one statement"),
])
def test_sql_sqlite_creates_no_file_and_bounds_values(statement, needle, nb101_env, tmp_path):
    target = tmp_path / "created.db"
    before = sorted(p.name for p in nb101_env.iterdir())
    cli_fails(["sql", statement.format(target=target)], needle)
    assert not target.exists()
    assert sorted(p.name for p in nb101_env.iterdir()) == before


def test_sql_reads_a_wal_mode_database_without_side_files(tmp_path):
    path = tmp_path / "nasbench101.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE nb101_arch (id INTEGER, hash TEXT)")
        conn.execute("INSERT INTO nb101_arch VALUES (1, 'a')")
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nasbench101.db"]  # a clean close removes the -wal
    result = CliRunner().invoke(cli, ["sql", "SELECT hash FROM nb101_arch", "--db-dir", str(tmp_path), "--csv"])
    assert result.exit_code == 0 and result.output == "hash\na\n", result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nasbench101.db"]


def test_sql_time_limit_and_pragmas_that_read(nb101_env):
    cli_fails(["sql", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
               "--timeout", "1"], "ran past the time limit of 1 s")
    result = CliRunner().invoke(cli, ["sql", "PRAGMA table_info(nb101_arch)", "--csv"])
    assert result.exit_code == 0 and result.output.startswith("cid,name,type"), result.output


def test_sql_ctrl_c_stops_an_endless_statement(nb101_env):
    env = dict(os.environ, NASBENCHMARK_DIR=str(nb101_env), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "nasbench_db", "sql", "--timeout", "0",
                             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)  # let it start the statement; what is checked is the reaction to SIGINT, not a time
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert err.startswith("Error: interrupted (Ctrl-C)") and "Traceback" not in err, err


def test_sql_streams_rows_in_bounded_memory(nb101_env):
    rss, out = peak_rss_kb(f"""
        import os, sys
        os.environ["NASBENCHMARK_DIR"] = {str(nb101_env)!r}
        from nasbench_db.sql import stream_sql
        statement = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3000000) " \\
                    "SELECT x, printf('%.100c', 'y') FROM c"
        count = 0
        with stream_sql(statement, timeout=0) as (columns, rows):
            for row in rows:
                count += 1
        print("ROWS", count)
    """)
    assert "ROWS 3000000" in out
    assert rss < 300 << 10, rss  # 3 M rows of ~120 bytes (~400 MB as a list) never held at once


def test_sql_zeroblob_bomb_stays_small():
    rss, out = peak_rss_kb("""
        from nasbench_db.sql import stream_sql
        from nasbench_db.errors import NasbenchDbError
        import sqlite3, tempfile, os
        path = os.path.join(tempfile.mkdtemp(), "nasbench101.db")
        sqlite3.connect(path).execute("CREATE TABLE t (a)").connection.commit()
        for n in (400_000_000, 60_000_000):
            try:
                with stream_sql(f"SELECT zeroblob({n}) || zeroblob({n}) || zeroblob({n})",
                                db_dir=os.path.dirname(path)) as (columns, rows):
                    list(rows)
                print("NO ERROR")
            except NasbenchDbError as exc:
                print("REFUSED", exc)
    """)
    assert out.count("REFUSED") == 2 and "too big" in out, out
    assert rss < 400 << 10, rss


# ---------------------------------------------------------------------------------------------------------------------
# sql (PostgreSQL)


def test_postgres_sql_allow_list_and_no_server_programs(pg_url, pg_reader_url, tmp_path):
    from nasbench_db.convert.nb101 import convert_nb101

    convert_nb101(SAMPLE_TFRECORD, progress=False)
    marker = f"/tmp/nasbench_pg_pwned_{os.getpid()}"
    for statement, needle in [
        (f"COPY (SELECT 1) TO PROGRAM 'touch {marker}'", "plain queries only"),
        (f"SELECT 1; COPY (SELECT 1) TO PROGRAM 'touch {marker}'", "one statement"),
        (f"SELECT 1 /* ; */; COPY (SELECT 1) TO PROGRAM 'touch {marker}'", "one statement"),
        (f"SELECT $x$;$x$; COPY (SELECT 1) TO PROGRAM 'touch {marker}'", "one statement"),
        ("DO $$ BEGIN PERFORM 1; END $$", "plain queries only"),
        ("SET transaction_read_only = off", "plain queries only"),
        ("CALL x()", "plain queries only"),
    ]:
        for extra in (["--allow-superuser"], ["--url", pg_reader_url]):
            cli_fails(["sql", statement, *extra], needle)
    # the file functions: refused for a superuser without the flag, and denied to the SELECT-only role
    cli_fails(["sql", "SELECT pg_read_file('/etc/passwd')"], "superuser")
    cli_fails(["sql", "SELECT pg_read_file('/etc/passwd')", "--url", pg_reader_url], "permission denied")
    cli_fails(["sql", "SELECT lo_export(1, '/tmp/x')", "--url", pg_reader_url], "Error: ")
    assert not os.path.exists(marker)
    cli_fails(["sql", "SELECT pg_sleep(30)", "--url", pg_reader_url, "--timeout", "1"], "time limit of 1 s")
    result = CliRunner().invoke(cli, ["sql", "SELECT hash FROM nb101_arch ORDER BY hash LIMIT 2", "--csv",
                                      "--url", pg_reader_url])
    assert result.exit_code == 0 and result.output.count("\n") == 3, result.output
    # the SELECT-only role is enough for the query API too (docs/postgres.md)
    from nasbench_db import db as _db

    _db.close_all()
    os.environ["NASBENCHMARK_DB_URL"] = pg_reader_url  # restored by the pg_url fixture's monkeypatch
    try:
        result = CliRunner().invoke(cli, ["query", "nb101", "--hash", "28cfc7874f6d200472e1a9dcd8650aa0",
                                          "--epochs", "108", "--format", "json"])
        assert result.exit_code == 0 and len(json.loads(result.output)) == 3, result.output
    finally:
        _db.close_all()
        os.environ["NASBENCHMARK_DB_URL"] = pg_url


# ---------------------------------------------------------------------------------------------------------------------
# download


@pytest.fixture
def server():
    from loopback_server import LoopbackServer

    with LoopbackServer() as running:
        yield running


def test_download_never_installs_an_empty_or_416_body(server, tmp_path):
    from loopback_server import DataRoute, RangeNotSatisfiableRoute

    server.routes["/416"] = RangeNotSatisfiableRoute()
    server.routes["/empty"] = DataRoute(b"")
    for route, needle in (("/416", "HTTP 416"), ("/empty", "empty body")):
        cli_fails(["download", "f.bin", "--url", server.url(route), "--dir", tmp_path, "--backoff", "0",
                   "--retries", "1"], needle, "installed under f.bin")
        assert not (tmp_path / "f.bin").exists()
        assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_download_trickle_and_deadline_are_bounded(server, tmp_path, monkeypatch):
    from loopback_server import TrickleRoute

    from nasbench_db import download as dl

    monkeypatch.setattr(dl, "MIN_RATE_WINDOW_S", 0.5)
    server.routes["/slow"] = trickle = TrickleRoute(10 << 20, step=1, every=0.05)
    with time_limit(60):
        cli_fails(["download", "f.bin", "--url", server.url("/slow"), "--dir", tmp_path, "--backoff", "0",
                   "--retries", "2", "--timeout", "5", "--min-rate", "1000"], "gave up after 2 retries",
                  "under the minimum of 1,000 bytes/s")
    assert trickle.started == 3  # the first attempt and 2 retries, although every attempt brought bytes
    with time_limit(60):
        cli_fails(["download", "g.bin", "--url", server.url("/slow"), "--dir", tmp_path, "--backoff", "0",
                   "--timeout", "5", "--min-rate", "0", "--deadline", "1"], "not complete within the deadline of 1 s",
                  "kept")
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "g.bin").exists()


def test_download_fails_fast_when_the_host_does_not_resolve(tmp_path):
    from nasbench_db import download as dl

    lines = []
    with time_limit(120):
        with pytest.raises(NasbenchDbError, match="does not resolve"):
            dl.fetch("http://nasbench-db-test-host.invalid/f", tmp_path / "f.bin", retries=8, backoff=0.0,
                     timeout=(5, 5), log=lines.append)
    assert len([line for line in lines if "retry" in line]) == dl.DNS_ATTEMPTS - 1, lines


# ---------------------------------------------------------------------------------------------------------------------
# Peak memory of the bombs (subprocesses, the real limits)


@pytest.mark.parametrize("bomb", ["pickle-set-flood", "pickle-amplifier", "nats-member-bz2", "pbz2-stream",
                                  "json-list-bomb", "hw-array-flood"])
def test_bombs_stay_under_one_gigabyte(bomb):
    code = {
        "pickle-set-flood": """
            import io, hostile_inputs as H
            from nasbench_db.convert.pickle_stream import StreamUnpickler, PickleDataError
            data = b"\\x80\\x04" + b"\\x8f" * (24 << 20) + b"."   # ~5 GB of sets unbounded
            try:
                list(StreamUnpickler(io.BytesIO(data).read).load())
            except PickleDataError as exc:
                print("REFUSED", exc)
        """,
        "pickle-amplifier": """
            import io, hostile_inputs as H
            from nasbench_db.convert.pickle_stream import StreamUnpickler, UnsupportedPickle
            case = next(c for c in H.hostile_pickles(nesting=10) if "bytearray" in c.name)
            try:
                list(StreamUnpickler(io.BytesIO(case.data).read).load())
            except UnsupportedPickle as exc:
                print("REFUSED", exc)
        """,
        "nats-member-bz2": """
            import hostile_inputs as H, tempfile, pathlib
            from nasbench_db.convert.nb201 import _read_simple_file, RecordError
            path = pathlib.Path(tempfile.mkdtemp()) / "000011.pickle.pbz2"
            path.write_bytes(H.bz2_bomb(6 << 30))   # the issue's 6 GB member (a few KB on disk)
            try:
                _read_simple_file(path)
            except RecordError as exc:
                print("REFUSED", exc)
        """,
        "pbz2-stream": """
            import hostile_inputs as H, tempfile, pathlib
            from nasbench_db.convert.nb201 import convert_nats_tss
            from nasbench_db.errors import CorruptInput
            path = pathlib.Path(tempfile.mkdtemp()) / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
            path.write_bytes(H.pickle_stream_bomb(2 << 30, unit=8 << 20))
            try:
                convert_nats_tss(path, path.parent / "db", progress=False)
            except CorruptInput as exc:
                print("REFUSED", exc)
        """,
        "hw-array-flood": """
            import hostile_inputs as H, tempfile, pathlib
            from nasbench_db.convert.hw_nasbench import convert_hw_nasbench
            from nasbench_db.errors import CorruptInput
            path = pathlib.Path(tempfile.mkdtemp()) / "HW-NAS-Bench-v1_0.pickle"
            path.write_bytes(H.hw_array_flood(60 << 20))   # 57 MB of bool arrays: ~2.3 GB as Python lists
            try:
                convert_hw_nasbench(path, path.parent / "db")
            except CorruptInput as exc:
                print("REFUSED", exc)
        """,
        "json-list-bomb": """
            from nasbench_db import limits
            from nasbench_db.errors import CorruptInput
            data = b"[" + b"{}," * ((60 << 20) // 3) + b"{}]"   # 60 MB of JSON: ~1.5 GB of dicts unbounded
            try:
                limits.loads_json(data, "bomb.json")
            except CorruptInput as exc:
                print("REFUSED", exc)
        """,
    }[bomb]
    rss, out = peak_rss_kb(code)
    assert "REFUSED" in out, out
    assert rss < RSS_LIMIT_KB, f"{bomb}: peak RSS {rss >> 10} MB"


# ---------------------------------------------------------------------------------------------------------------------
# Fuzz: every reader's byte stream gives a result or CorruptInput (hypothesis; bounded examples)


def _mutate(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for kind, position, value in edits:
        if not out:
            break
        at = position % len(out)
        if kind == 0:
            out[at] = value
        elif kind == 1:
            del out[at:at + 1 + value % 64]
        elif kind == 2:
            out[at:at] = bytes([value]) * (1 + value % 8)
        else:
            out = out[:at]
    return bytes(out)


EDITS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1 << 30), st.integers(0, 255)), min_size=1, max_size=6)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def nats_member() -> bytes:
    from nb201_fixture import TSS_DIR

    return bz2.decompress((TSS_DIR / "000011.pickle.pbz2").read_bytes())


@FUZZ
@given(edits=EDITS)
def test_fuzz_nats_member_reader(nats_member, edits, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "000011.pickle.pbz2"
    path.write_bytes(bz2.compress(_mutate(nats_member, edits), 1))
    nb201_convert._worker_init("tss", 1)
    with time_limit(30):
        index, file_path, rows, error = nb201_convert._worker_file((11, str(path)))
    assert (rows is None) != (error is None)


@FUZZ
@given(edits=EDITS)
def test_fuzz_pth_stream(nats_member, edits, tmp_path_factory):
    """The single-file reading path of convert_nb201 / convert_nats_tss (no SQL): records or CorruptInput."""
    directory = tmp_path_factory.mktemp("fuzz")
    path = directory / "f.pth"
    path.write_bytes(_mutate(_pth_bytes(nats_member), edits))
    with time_limit(30):
        try:
            with nb201_convert._stream_errors(path, "the file"):
                opened = nb201_convert._open_single(path, "pth", hashlib.sha256())
                for index, record in nb201_convert._stream_records(path, opened, {}):
                    try:
                        nb201_convert.arch_rows(nb201_convert.TSS, int(index) % 15625, record, 1)
                    except nb201_convert.RecordError:
                        pass
                    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError):
                        pass  # the converter turns these into CorruptInput naming the architecture
                for closer in opened.closers:
                    closer.close()
        except (CorruptInput, UnsupportedPickle, EOFError):
            pass  # UnsupportedPickle and EOFError become CorruptInput in _convert_single


_PTH_CACHE: dict = {}


def _pth_bytes(member: bytes) -> bytes:
    if "pth" not in _PTH_CACHE:
        record = StreamUnpickler(io.BytesIO(member).read)
        list(record.load())
        body = pickle.dumps({"arch2infos": {11: {"less": record.result["12"], "full": record.result["200"]}}},
                            protocol=2)
        _PTH_CACHE["pth"] = body
    return _PTH_CACHE["pth"]


@FUZZ
@given(edits=EDITS)
def test_fuzz_nb101_converter(edits, tmp_path_factory):
    directory = tmp_path_factory.mktemp("fuzz")
    path = directory / "f.tfrecord"
    raw = SAMPLE_TFRECORD.read_bytes()
    path.write_bytes(_mutate(raw[:20_000], edits))
    from nasbench_db.convert.nb101 import convert_nb101

    with time_limit(30):
        try:
            convert_nb101(path, directory / "db", progress=False)
        except CorruptInput:
            pass


@FUZZ
@given(edits=EDITS)
def test_fuzz_nb101_rows_with_valid_crc(edits, tmp_path_factory):
    directory = tmp_path_factory.mktemp("fuzz")
    rows = [data for data, _ in _sample_rows()[:6]]
    rows[3] = _mutate(rows[3], edits)
    path = directory / "f.tfrecord"
    path.write_bytes(b"".join(encode_record(r) for r in rows))
    from nasbench_db.convert.nb101 import convert_nb101

    with time_limit(30):
        try:
            convert_nb101(path, directory / "db", progress=False)
        except CorruptInput:
            pass


@FUZZ
@given(edits=EDITS)
def test_fuzz_nds_converter(edits, tmp_path_factory):
    from nds_fixture import build_sweeps, dump

    from nasbench_db.convert.nds import convert_nds

    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "nds_data").mkdir()
    text = dump(build_sweeps({"ENAS": 2}, seed=1)["ENAS"]).encode()
    (directory / "nds_data" / "ENAS.json").write_bytes(_mutate(text, edits))
    with time_limit(30):
        try:
            convert_nds(directory / "nds_data", directory / "db", progress=False)
        except (CorruptInput, NasbenchDbError):
            pass


@FUZZ
@given(edits=EDITS)
def test_fuzz_zip_layouts(edits, tmp_path_factory):
    """NDS's data.zip and NB-201's torch zip .pth with deflated members: damaged headers, CRCs and deflate streams
    give CorruptInput (zlib.error, BadZipFile...), never a traceback."""
    from nb201_fixture import load_simple, nb201_dict
    from nds_fixture import build_sweeps, dump

    from nasbench_db.convert.nb201 import convert_nb201
    from nasbench_db.convert.nds import convert_nds

    if "zips" not in _PTH_CACHE:
        meta, records = load_simple()
        pth = pickle.dumps(nb201_dict(dict(list(records.items())[:2]), meta), protocol=2)
        _PTH_CACHE["zips"] = (_zip_of({"nds_data/ENAS.json": dump(build_sweeps({"ENAS": 2}, seed=1)["ENAS"])}),
                              _zip_of({"archive/data.pkl": pth, "archive/version": "3\n"}))
    nds_zip, pth_zip = _PTH_CACHE["zips"]
    directory = tmp_path_factory.mktemp("fuzz")
    for name, raw, convert in (("data.zip", nds_zip, lambda p: convert_nds(p, directory / "db1", progress=False)),
                               ("v1_1.pth", pth_zip, lambda p: convert_nb201(p, directory / "db2", progress=False))):
        path = directory / name
        path.write_bytes(_mutate(raw, edits))
        with time_limit(30):
            try:
                convert(path)
            except (CorruptInput, NasbenchDbError):
                pass


@pytest.fixture(scope="module")
def zc_sample() -> bytes:
    doc = json.loads(ZC_NB201.read_bytes())
    return json.dumps({"cifar10": dict(itertools.islice(doc["cifar10"].items(), 6))}).encode()


@FUZZ
@given(edits=EDITS)
def test_fuzz_zc_reader(zc_sample, edits):
    """The whole read of convert_zc (JSON, layouts, keys, numbers) before anything is written."""
    from nasbench_db.convert import zc

    with time_limit(30):
        try:
            doc = limits.loads_json(_mutate(zc_sample, edits), "zc.json")
            spaces, _ = zc.split_spaces(Path("zc.json"), doc, None)
            for benchmark, datasets in spaces.items():
                zc.parse_space(Path("zc.json"), benchmark, datasets)
        except CorruptInput:
            pass


@pytest.fixture(scope="module")
def nlp_sample() -> bytes:
    with zipfile.ZipFile(NLP_ZIP) as archive:
        names = sorted(n for n in archive.namelist() if "log_stats_model_" in n)[:2]
        return H.zip_with(names[0].rsplit("/", 1)[-1], archive.read(names[0])) if len(names) == 1 else \
            _zip_of({n.rsplit("/", 1)[-1]: archive.read(n) for n in names})


def _zip_of(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@FUZZ
@given(edits=EDITS)
def test_fuzz_nlp_converter(nlp_sample, edits, tmp_path_factory):
    """convert nlp over a mutated logs.zip (zip framing, deflate, JSON, logs): a database or CorruptInput."""
    from nasbench_db.convert.nlp import convert_nlp

    directory = tmp_path_factory.mktemp("fuzz")
    path = directory / "logs.zip"
    path.write_bytes(_mutate(nlp_sample, edits))
    with time_limit(30):
        try:
            convert_nlp(path, directory / "db", progress=False)
        except CorruptInput:
            pass


@FUZZ
@given(edits=EDITS)
def test_fuzz_nlp_log(edits):
    from nasbench_db.convert.nlp import parse_log

    name, log = _first_nlp_log()
    try:
        parse_log(limits.loads_json(_mutate(json.dumps(log).encode(), edits), name), name)
    except CorruptInput:
        pass


@pytest.fixture(scope="module")
def hw_sample(hw_valid) -> bytes:
    return pickle.dumps(hw_valid, protocol=3)


@FUZZ
@given(edits=EDITS)
def test_fuzz_hw_nasbench_reader(hw_sample, edits, small_live_limit):
    """The whole read of convert hw-nasbench (restricted pickle with numpy arrays, layout, values)."""
    from nasbench_db.convert import hw_nasbench

    with time_limit(30):
        try:
            hw_nasbench.parse(Path("hw.pickle"), _mutate(hw_sample, edits))
        except CorruptInput:
            pass


@pytest.fixture(scope="module")
def ecnas_sample() -> bytes:
    return b"".join(encode_record(data) for _, _, data in itertools.islice(iter_records(ECNAS), 6))


@FUZZ
@given(edits=EDITS)
def test_fuzz_ecnas_reader(ecnas_sample, edits, tmp_path_factory):
    """The whole read of convert ecnas (framing, CRC, JSON rows, ModelMetricsEnergy messages, cells)."""
    from nasbench_db.convert.ecnas import read_ecnas

    path = tmp_path_factory.mktemp("fuzz") / "energy_5V9E.tfrecord"
    path.write_bytes(_mutate(ecnas_sample, edits))
    with time_limit(30):
        try:
            read_ecnas(path)
        except CorruptInput:
            pass


@FUZZ
@given(edits=EDITS)
def test_fuzz_ecnas_rows_with_valid_crc(ecnas_sample, edits, tmp_path_factory):
    from nasbench_db.convert.ecnas import read_ecnas

    rows = [data for _, _, data in itertools.islice(iter_records(ECNAS), 6)]
    rows[3] = _mutate(rows[3], edits)
    path = tmp_path_factory.mktemp("fuzz") / "energy_5V9E.tfrecord"
    path.write_bytes(b"".join(encode_record(r) for r in rows))
    with time_limit(30):
        try:
            read_ecnas(path)
        except CorruptInput:
            pass


@FUZZ
@given(data=st.binary(max_size=2000))
def test_fuzz_json_and_bz2_helpers(data):
    for call in (lambda: limits.loads_json(data, "f.json"), lambda: limits.bz2_decompress(data, "f.bz2"),
                 lambda: limits.bz2_decompress(bz2.compress(data), "f.bz2")):
        try:
            call()
        except CorruptInput as exc:
            assert exc.path == "f.json" or exc.path == "f.bz2"


@FUZZ
@given(data=st.binary(max_size=3000))
def test_fuzz_stream_unpickler_raw_bytes(data, small_live_limit):
    with time_limit(30):
        try:
            _read_pickle(b"\x80\x02" + data)
        except (PickleDataError, UnsupportedPickle, EOFError):
            pass


@FUZZ
@given(edits=EDITS)
def test_fuzz_training_batch_reader(edits):
    """The restricted reader of training batches (numpy arrays rebuilt from raw bytes): a dict or a named refusal."""
    import numpy as np

    from nasbench_db.convert.pickle_stream import load_data_pickle

    batch = pickle.dumps({b"data": np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072), b"labels": [1, 2],
                          b"filenames": [b"a.png", b"b.png"]}, protocol=2)
    with time_limit(30):
        try:
            load_data_pickle(io.BytesIO(_mutate(batch, edits)).read, arrays=True)
        except (PickleDataError, UnsupportedPickle, EOFError):
            pass


def test_cifar_batches_are_read_without_running_code(tmp_path):
    """Training data goes through the same restricted reader: a batch with a payload (read unverified) is refused."""
    import numpy as np

    from nasbench_db.train.data import read_cifar10

    marker = tmp_path / H.PAYLOAD_MARKER
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        with open(base / name, "wb") as handle:
            pickle.dump({b"data": np.zeros((2, 3072), dtype=np.uint8), b"labels": [1, 2]}, handle, protocol=2)
    assert read_cifar10(tmp_path, verify=False)["test_batch"].labels.tolist() == [1, 2]
    (base / "test_batch").write_bytes(b"\x80\x02" + H.os_system_global(f"touch {marker}") + b".")
    with pytest.raises(CorruptInput, match=r"test_batch: not a python pickle batch: unexpected class posix.system"):
        read_cifar10(tmp_path, verify=False)
    assert not marker.exists()
