"""Every hostile-input family at the issue's sizes: time and peak memory of each refusal, beside the limit.

Each case writes its input file(s) first (in ``--work``), then runs the reader, the converter or the command in a
fresh process and records its wall time and peak RSS (VmHWM of /proc/self/status: Linux keeps ru_maxrss across
fork + exec, so a child's getrusage would report its parent's peak). Goals (issue 15): no code runs, no traceback,
no hang, every refusal names the file and the problem, peak RSS <= 1 GB on any bomb. ``unbounded`` estimates what the
input would cost a reader without the limits.

Usage::

    python bench/hostile_bench.py                      # all families (about 2 minutes; ~1.6 GB of scratch files)
    python bench/hostile_bench.py --family pickle      # pickle, compressed, tfrecord, nds, nlp, zc, hw, ecnas,
                                                       # json, sql, download
    python bench/hostile_bench.py --small              # small sizes (a quick look)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import hostile_inputs as H  # noqa: E402

LIMIT_MB = 1024
CHILD_PRELUDE = """
import os, sys, time, traceback
sys.path[:0] = [{root!r}, {tests!r}]
def _peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
def _report(outcome, started):
    print("RESULT", repr(outcome[:150]), round(time.perf_counter() - started, 2), round(_peak_mb()))
started = time.perf_counter()
try:
"""
CHILD_EPILOGUE = """
except BaseException as exc:
    name = type(exc).__name__
    _report(("TRACEBACK " if name not in ("CorruptInput", "PickleDataError", "UnsupportedPickle", "NasbenchDbError",
              "ReadOnlyError", "DownloadError") else "") + name + ": " + str(exc), started)
    if name not in ("CorruptInput", "PickleDataError", "UnsupportedPickle", "NasbenchDbError", "ReadOnlyError",
                    "DownloadError"):
        traceback.print_exc()
else:
    _report(OUTCOME, started)
"""


def run_child(body: str, timeout: int = 600) -> tuple[str, float, int]:
    code = CHILD_PRELUDE.format(root=str(ROOT), tests=str(ROOT / "tests")) + textwrap.indent(
        textwrap.dedent(body).strip() + "\nOUTCOME = locals().get('OUTCOME', 'accepted')", "    ") + CHILD_EPILOGUE
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return "HANG (killed after the timeout)", time.perf_counter() - started, -1
    line = next((line for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
    if line is None:
        return f"CRASH rc={done.returncode}: {done.stderr.strip()[-200:]}", time.perf_counter() - started, -1
    _, rest = line.split(" ", 1)
    outcome, seconds, peak = rest.rsplit(" ", 2)
    return eval(outcome), float(seconds), int(peak)  # noqa: S307 (our own repr)


def convert_cli(*args) -> str:
    """Child body: a converter through the CLI in-process; the outcome is its exit status and first line."""
    return f"""
        from click.testing import CliRunner
        from nasbench_db.cli import cli
        result = CliRunner().invoke(cli, {[str(a) for a in args]!r})
        lines = result.output.strip().splitlines() or ['']
        if "Traceback" in result.output or result.exit_code not in (0, 1):
            raise RuntimeError("exit %s: %s" % (result.exit_code, result.output[-300:]))
        OUTCOME = ("exit %d: " % result.exit_code) + lines[-1]
    """


def reader(data_path: Path) -> str:
    return f"""
        from nasbench_db.convert.pickle_stream import StreamUnpickler
        from nasbench_db.convert.nb201 import is_arch_record
        with open({str(data_path)!r}, "rb") as handle:
            r = StreamUnpickler(handle.read, is_record=is_arch_record)
            list(r.load())
    """


def cases(work: Path, small: bool):
    """(family, name, unbounded estimate, child body) with the inputs written to ``work``."""
    gb = (64 << 20) if small else (6 << 30)
    marker = work / H.PAYLOAD_MARKER
    nb201_db = work / "db_nb201"

    def file(name: str, data: bytes) -> Path:
        path = work / name
        path.write_bytes(data)
        return path

    # pickle ---------------------------------------------------------------------------------------------------------
    for case in H.payload_pickles(str(marker)):
        path = file("payload.pth", case.data)
        yield "pickle", f"{case.name}: convert nb201", "runs `touch` (code execution)", \
            convert_cli("convert", "nb201", path, "--db-dir", nb201_db) + \
            f"\n        OUTCOME += ' | payload ran: ' + str(os.path.exists({str(marker)!r}))"
    flood = 16 << 20 if small else 256 << 20
    for case in H.hostile_pickles(nesting=100_000, flood_bytes=flood):
        path = file("case.pickle", case.data)
        unbounded = f"~{case.extra['unbounded_bytes'] >> 30} GB" if "unbounded_bytes" in case.extra else ""
        if "4.5e9" in case.name:
            unbounded = "4.3 GB"
        if "2**60" in case.name:
            unbounded = "read(2**60)"
        if "PUT" in case.name:
            unbounded = "loop over 10**18 / 2**32 ids"
        yield "pickle", case.name, unbounded, reader(path)
    # compressed -----------------------------------------------------------------------------------------------------
    from nb201_fixture import TSS_DIR

    tss = work / "NATS-tss-v1_0-3ffb9-simple"
    shutil.copytree(TSS_DIR, tss)
    (tss / "000011.pickle.pbz2").write_bytes(H.bz2_bomb(gb))
    yield "compressed", f"NATS -simple member: {(tss / '000011.pickle.pbz2').stat().st_size:,} B of bz2 -> " \
                        f"{gb >> 20:,} MB", f"{gb >> 20:,} MB decompressed whole", \
        convert_cli("convert", "nats-tss", tss, "--db-dir", work / "db_tss", "--jobs", "1")
    pbz2 = file("NATS-tss-v1_0-3ffb9.pickle.pbz2", H.pickle_stream_bomb(gb, unit=8 << 20))
    yield "compressed", f".pbz2 stream of NONE/POP: {pbz2.stat().st_size:,} B -> {gb >> 20:,} MB", \
        f"reads {gb >> 20:,} MB", convert_cli("convert", "nats-tss", pbz2, "--db-dir", work / "db_tss")
    declared = file("declared.pickle.pbz2", __import__("bz2").compress(
        b"\x80\x04\x8d" + (1 << 40).to_bytes(8, "little") + b"abc"))
    yield "compressed", ".pbz2 declaring a 2**40-byte value", "read(2**40)", \
        convert_cli("convert", "nats-tss", declared, "--db-dir", work / "db_tss")
    zipped = work / "declared.pth"
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x04\x8e" + (1 << 40).to_bytes(8, "little") + b"abc")
    zipped.write_bytes(buffer.getvalue())
    yield "compressed", "zip .pth declaring a 2**40-byte value", "read(2**40)", \
        convert_cli("convert", "nb201", zipped, "--db-dir", nb201_db)
    spaces = (32 << 20) if small else (1 << 30)
    nds_zip = work / "data.zip"
    with zipfile.ZipFile(nds_zip, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("nds_data/Amoeba.json", "w", force_zip64=True) as member:
            member.write(b"[")
            for _ in range(spaces >> 20):
                member.write(b" " * (1 << 20))
            member.write(b"]")
    yield "compressed", f"NDS data.zip: {nds_zip.stat().st_size:,} B deflated -> {spaces >> 20:,} MB of whitespace", \
        f"reads {spaces >> 20:,} MB", convert_cli("convert", "nds", nds_zip, "--db-dir", work / "db_nds")
    lying = file("lying.zip", H.zip_lying_size("nds_data/Amoeba.json", 4 << 30))
    yield "compressed", "NDS zip member declaring 4 GB from 4 bytes", "reads 4 GB", \
        convert_cli("convert", "nds", lying, "--db-dir", work / "db_nds")
    # tfrecord rows ---------------------------------------------------------------------------------------------------
    from nasbench_db.convert.tfrecord import encode_record, iter_records

    sample = ROOT / "nasbench_db" / "data" / "nb101_sample.tfrecord"
    rows = [data for _, _, data in iter_records(sample)]
    for case in H.nb101_rows(json.loads(rows[0])):
        changed = list(rows)
        changed[5] = case.data
        path = file("rows.tfrecord", b"".join(encode_record(r) for r in changed))
        yield "tfrecord", case.name, "", convert_cli("convert", "nb101", path, "--db-dir", work / "db_nb101")
    # nds jobs ---------------------------------------------------------------------------------------------------------
    from nds_fixture import build_sweeps

    job = build_sweeps({"Amoeba": 1})["Amoeba"][0]
    big = (20 << 20) if small else (1536 << 20)
    for case in H.nds_jobs(job, big_list_bytes=min(big, 20 << 20)):
        directory = work / "nds_data"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir()
        target = directory / "Amoeba.json"
        if "MB list" in case.name:  # the 1.5 GB list, written in pieces
            with open(target, "wb") as handle:
                handle.write(json.dumps([job]).encode()[:-1] + b',{"train_ep_top1": [')
                piece = b"1.0," * (1 << 18)
                for _ in range(big // len(piece)):
                    handle.write(piece)
                handle.write(b"1.0]}]")
            name = f"a job with a {big >> 20:,} MB list"
        else:
            target.write_bytes(case.data)
            name = case.name
        yield "nds", name, f"{big >> 20:,} MB parsed" if "MB list" in name else "", \
            convert_cli("convert", "nds", directory, "--db-dir", work / "db_nds")
    # NAS-Bench-NLP logs ---------------------------------------------------------------------------------------------------
    import zipfile as _zipfile

    nlp_zip = ROOT / "tests" / "data" / "nas-bench-nlp" / "train_logs_wikitext-2_logs.zip"
    with _zipfile.ZipFile(nlp_zip) as archive:
        log_member = next(n for n in archive.namelist() if "log_stats_model_" in n)
        log = json.loads(archive.read(log_member))
    log_name = log_member.rsplit("/", 1)[-1]
    for case in H.nlp_logs(log):
        path = file(log_name, case.data)
        yield "nlp", case.name, "", convert_cli("convert", "nlp", path, "--db-dir", work / "db_nlp")
    nlp_bomb = file("logs.zip", H.nlp_zip_bomb((8 << 20) if small else (60 << 20)))
    yield "nlp", f"logs.zip: {nlp_bomb.stat().st_size:,} B deflated -> {(8 if small else 60)} MB member", \
        "reads the member whole", convert_cli("convert", "nlp", nlp_bomb, "--db-dir", work / "db_nlp")
    # zero-cost proxy JSON -------------------------------------------------------------------------------------------------
    for case in H.zc_files(bomb_bytes=(8 << 20) if small else (60 << 20)):
        path = file("zc_nasbench201.json", case.data)
        unbounded = f"~{case.extra['unbounded_bytes'] >> 30} GB of dicts" if "unbounded_bytes" in case.extra else ""
        yield "zc", case.name, unbounded, convert_cli("convert", "zc", path, "--db-dir", work / "db_zc")
    # HW-NAS-Bench pickles ---------------------------------------------------------------------------------------------------
    import hw_nasbench_fixture as HF

    for case in H.payload_pickles(str(marker)):
        path = file("HW-NAS-Bench-v1_0.pickle", case.data)
        yield "hw", f"{case.name}: convert hw-nasbench", "runs `touch` (code execution)", \
            convert_cli("convert", "hw-nasbench", path, "--db-dir", work / "db_hw") + \
            f"\n        OUTCOME += ' | payload ran: ' + str(os.path.exists({str(marker)!r}))"
    for case in H.hw_pickles(HF.hw_dict(num_archs=3)):
        path = file("HW-NAS-Bench-v1_0.pickle", case.data)
        yield "hw", case.name, "", convert_cli("convert", "hw-nasbench", path, "--db-dir", work / "db_hw")
    flood = file("HW-NAS-Bench-v1_0.pickle", H.hw_array_flood((8 << 20) if small else (60 << 20)))
    yield "hw", f"bool arrays of 10**7 elements, {flood.stat().st_size >> 20} MB of pickle", \
        f"~{flood.stat().st_size * 40 >> 20:,} MB of list slots and numbers", \
        convert_cli("convert", "hw-nasbench", flood, "--db-dir", work / "db_hw")
    # EC-NAS-Bench TFRecord rows ---------------------------------------------------------------------------------------------
    ecnas = ROOT / "tests" / "data" / "ecnas" / "energy_5V9E.tfrecord"
    ecnas_rows = [data for _, data in zip(range(8), (d for _, _, d in iter_records(ecnas)))]
    for case in H.nb101_rows(json.loads(ecnas_rows[0])):
        changed = list(ecnas_rows)
        changed[5] = case.data
        path = file("energy_5V9E.tfrecord", b"".join(encode_record(r) for r in changed))
        yield "ecnas", case.name, "", convert_cli("convert", "ecnas", path, "--db-dir", work / "db_ecnas")
    # json ---------------------------------------------------------------------------------------------------------------
    bomb = file("bomb.json", b"[" + b"{}," * ((60 << 20) // 3) + b"{}]")
    yield "json", "60 MB of [{},{},...] read whole", "~1.5 GB of dicts", f"""
        from nasbench_db import limits
        limits.loads_json(open({str(bomb)!r}, "rb").read(), {str(bomb)!r})
    """
    # the largest document of the worst shape that the build estimate lets through: parsed, then its nesting checked
    from nasbench_db import limits

    count = limits.MAX_JSON_BUILD_BYTES // 108 - 1000  # 12 * 3 + 72 estimated bytes per "{},"
    edge = file("edge.json", b"[" + b"{}," * count + b"{}]")
    yield "json", f"{edge.stat().st_size >> 20} MB of [{{}},...]: just under the build limit", \
        f"{count:,} dicts", f"""
        from nasbench_db import limits
        value = limits.loads_json(open({str(edge)!r}, "rb").read(), {str(edge)!r})
        OUTCOME = "parsed, nesting checked: %d dicts" % len(value)
    """
    # sql ------------------------------------------------------------------------------------------------------------------
    yield "sql", "SELECT zeroblob(400000000)", "5 GB RSS", convert_cli(
        "sql", "SELECT zeroblob(400000000)", "--db-dir", work / "db_nb101")
    yield "sql", "endless recursive CTE, --timeout 5", "runs forever", convert_cli(
        "sql", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c", "--timeout",
        "5", "--db-dir", work / "db_nb101")
    target = work / "attached.db"
    yield "sql", "ATTACH / VACUUM INTO a new file", "creates a file", convert_cli(
        "sql", f"VACUUM INTO '{target}'", "--db-dir", work / "db_nb101") + \
        f"\n        OUTCOME += ' | file created: ' + str(os.path.exists({str(target)!r}))"
    # download ---------------------------------------------------------------------------------------------------------
    yield "download", "host that does not resolve (8 retries allowed)", "2 min 23 s of retries", """
        from nasbench_db import download as dl
        dl.fetch("http://nasbench-db-bench.invalid/f", os.path.join(os.environ.get("TMPDIR", "/tmp"), "f.bin"),
                 retries=8, backoff=1.0, log=lambda line: None)
    """
    yield "download", "server trickling 20 bytes/s (window 2 s, 2 retries)", "no deadline: forever", """
        from loopback_server import LoopbackServer, TrickleRoute
        from nasbench_db import download as dl
        dl.MIN_RATE_WINDOW_S = 2.0
        import tempfile
        with LoopbackServer() as server:
            server.routes["/slow"] = TrickleRoute(10 << 20, step=1, every=0.05)
            dl.fetch(server.url("/slow"), os.path.join(tempfile.mkdtemp(), "f.bin"), retries=2, backoff=0.0,
                     timeout=(5, 5), log=lambda line: None)
    """
    yield "download", "HTTP 416 to a fresh request", "installs an EMPTY file", """
        from loopback_server import LoopbackServer, RangeNotSatisfiableRoute
        from nasbench_db import download as dl
        import tempfile
        target = os.path.join(tempfile.mkdtemp(), "f.bin")
        with LoopbackServer() as server:
            server.routes["/f"] = RangeNotSatisfiableRoute()
            try:
                dl.fetch(server.url("/f"), target, retries=1, backoff=0.0, log=lambda line: None)
            finally:
                print("installed:", os.path.exists(target))
    """


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", action="append", help="only these families (repeatable)")
    parser.add_argument("--small", action="store_true", help="small sizes")
    parser.add_argument("--work", type=Path, default=None, help="scratch directory (deleted afterwards)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hostile-", dir=args.work))
    try:
        # the databases a refused conversion must leave untouched
        from nasbench_db.convert.nb101 import convert_nb101

        convert_nb101(ROOT / "nasbench_db" / "data" / "nb101_sample.tfrecord", work / "db_nb101", progress=False)
        print(f"{'family':<10} {'case':<62} {'time s':>7} {'peak MB':>8} {'limit':>6}  unbounded / outcome")
        worst = 0
        failures = 0
        for family, name, unbounded, body in cases(work, args.small):
            if args.family and family not in args.family:
                continue
            outcome, seconds, peak = run_child(body)
            worst = max(worst, peak)
            bad = outcome.startswith(("TRACEBACK", "HANG", "CRASH")) or "payload ran: True" in outcome or \
                "file created: True" in outcome or peak > LIMIT_MB
            failures += bad
            print(f"{family:<10} {name[:62]:<62} {seconds:>7.2f} {peak:>8} {LIMIT_MB:>6}  "
                  f"{unbounded or '-'} / {'FAIL ' if bad else ''}{outcome[:110]}")
        print(f"\nworst peak RSS {worst} MB (limit {LIMIT_MB} MB); {failures} case(s) failing the goals")
        sys.exit(1 if failures else 0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
