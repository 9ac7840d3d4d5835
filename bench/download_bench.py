"""Download benchmark: a large file served on 127.0.0.1, cut several times, fetched with nasbench_db.download.

The file is generated on the fly by the loopback server of the tests (deterministic pseudo-random 1 MiB blocks; no
disk is used on the serving side), so only the downloaded copy takes space. Figures, each beside its floor measured in
the same run:

* bytes transferred vs the file size, for a download whose connection is cut N times (goal: a 2 GB download cut
  three times completes with at most one extra copy of the bytes already received; with Range resume the extra is 0);
* the same against a server that ignores Range (the worst case: every cut costs the bytes received so far);
* with ``--kill``: the download process SIGKILLed N times and rerun: network bytes and the bytes of the partial file
  read back once to resume its hash;
* throughput vs a plain ``requests`` stream of the same URL that only hashes (no file, no resume logic).

Usage::

    python bench/download_bench.py                      # 300 MB, 3 cuts
    python bench/download_bench.py --size 2G --cuts 3 --kill
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from loopback_server import DataRoute, GeneratedSource, LoopbackServer  # noqa: E402

from nasbench_db import download as dl  # noqa: E402

MIB = 1 << 20


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]?)B?", text.strip().upper())
    if not match:
        raise argparse.ArgumentTypeError(f"size like 300M or 2G: got {text!r}")
    return int(float(match.group(1)) * {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}[match.group(2)])


def floor_stream(url: str) -> tuple[str, float]:
    """A plain requests stream of the whole file, hashed and discarded: (sha256, seconds)."""
    import requests

    digest = hashlib.sha256()
    started = time.perf_counter()
    with requests.get(url, stream=True, headers={"Accept-Encoding": "identity"}, timeout=60) as response:
        for chunk in response.raw.stream(dl.CHUNK_BYTES, decode_content=False):
            digest.update(chunk)
    return digest.hexdigest(), time.perf_counter() - started


def floor_to_file(url: str, path: Path) -> float:
    """The same stream written to a file and fsync-ed: what any verified download must at least cost (seconds)."""
    import requests

    digest = hashlib.sha256()
    started = time.perf_counter()
    with requests.get(url, stream=True, headers={"Accept-Encoding": "identity"}, timeout=60) as response, \
            open(path, "wb") as handle:
        for chunk in response.raw.stream(dl.CHUNK_BYTES, decode_content=False):
            digest.update(chunk)
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    seconds = time.perf_counter() - started
    os.unlink(path)
    return seconds


def cut_points(size: int, cuts: int) -> list[int]:
    return [size * (i + 1) // (cuts + 1) for i in range(cuts)]


def run_cut(server, source, sha, size, cuts, ranges, directory) -> dict:
    path = f"/cut-{'range' if ranges else 'norange'}"
    server.routes[path] = DataRoute(source, ranges=ranges, cuts=cut_points(size, cuts))
    server.bytes_sent = 0
    target = Path(directory) / f"file-{path[1:]}"
    started = time.perf_counter()
    result = dl.fetch(server.url(path), target, dl.Expected(sha256=sha), backoff=0, retries=3, progress=False)
    seconds = time.perf_counter() - started
    os.unlink(target)
    os.unlink(str(target) + ".sha256")
    received_before_cuts = sum(cut_points(size, cuts))
    return {"transferred": server.bytes_sent, "seconds": seconds, "resumes": result.resumes,
            "restarts": result.restarts, "received_before_cuts": received_before_cuts}


def run_kill(server, source, sha, size, kills, directory) -> dict:
    """Kill the download process when it has written each cut point, rerun, finally let it complete."""
    server.routes["/kill"] = DataRoute(source)
    server.bytes_sent = 0
    target = Path(directory) / "file-kill"
    part = Path(directory) / ".file-kill.part"
    command = [sys.executable, "-m", "nasbench_db", "download", "file-kill", "--url", server.url("/kill"),
               "--sha256", sha, "--dir", str(directory), "--no-progress", "--backoff", "0"]
    rehashed = 0
    started = time.perf_counter()
    for point in cut_points(size, kills):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while process.poll() is None and not (part.exists() and part.stat().st_size >= point):
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        _, err = process.communicate()
        rehashed += sum(int(m.replace(",", "")) for m in re.findall(r"at byte ([\d,]+)", err or "")
                        if "resuming" in err)
    final = subprocess.run(command, capture_output=True, text=True)
    if final.returncode != 0:
        raise SystemExit(final.stderr)
    resumed = re.search(r"resuming the partial download .* at byte ([\d,]+)", final.stderr)
    rehashed += int(resumed.group(1).replace(",", "")) if resumed else 0
    seconds = time.perf_counter() - started
    os.unlink(target)
    os.unlink(str(target) + ".sha256")
    return {"transferred": server.bytes_sent, "seconds": seconds, "rehashed": rehashed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=parse_size("300M"), help="file size (300M, 2G...)")
    parser.add_argument("--cuts", type=int, default=3, help="connection cuts (and kills) per download")
    parser.add_argument("--kill", action="store_true", help="also SIGKILL the download process --cuts times")
    parser.add_argument("--no-norange", action="store_true", help="skip the server-without-Range run")
    parser.add_argument("--dir", default=None, help="where the downloaded copies go (default: a temp dir)")
    args = parser.parse_args()
    size = args.size
    source = GeneratedSource(size, seed=2024)
    with LoopbackServer() as server, tempfile.TemporaryDirectory(dir=args.dir) as directory:
        server.routes["/plain"] = DataRoute(source)
        sha, floor_seconds = floor_stream(server.url("/plain"))
        floor_rate = size / floor_seconds / MIB
        print(f"file: {size:,} bytes ({size / MIB:,.0f} MiB), sha256 {sha[:16]}..., {args.cuts} cuts")
        print(f"floor 1: plain requests stream + sha256, no file: {floor_seconds:.2f} s, {floor_rate:,.0f} MiB/s")
        # disk timings are noisy (page cache, writeback): best of two for the floor and for the uncut fetch
        file_seconds = min(floor_to_file(server.url("/plain"), Path(directory) / "floor") for _ in range(2))
        file_rate = size / file_seconds / MIB
        print(f"floor 2: the same written to a file + fsync (best of 2): {file_seconds:.2f} s, {file_rate:,.0f} MiB/s")
        uncut = min((run_cut(server, source, sha, size, 0, True, directory) for _ in range(2)),
                    key=lambda r: r["seconds"])
        uncut_rate = size / uncut["seconds"] / MIB
        print(f"nasbench_db fetch, no cut (best of 2): {uncut['seconds']:.2f} s, {uncut_rate:,.0f} MiB/s "
              f"({size / uncut['seconds'] / MIB / file_rate:.0%} of floor 2)")
        cut = run_cut(server, source, sha, size, args.cuts, True, directory)
        extra = cut["transferred"] - size
        allowed = cut_points(size, args.cuts)[-1]
        print(f"nasbench_db fetch, cut {args.cuts}x (Range resume): transferred {cut['transferred']:,} bytes = "
              f"{cut['transferred'] / size:.4f} x size, extra {extra:,} (goal: <= {allowed:,}, one copy of the bytes "
              f"received before the last cut), {cut['resumes']} resumes, {cut['seconds']:.2f} s, "
              f"{size / cut['seconds'] / MIB:,.0f} MiB/s ({size / cut['seconds'] / MIB / file_rate:.0%} of floor 2)")
        if not args.no_norange:
            nr = run_cut(server, source, sha, size, args.cuts, False, directory)
            print(f"cut {args.cuts}x, server ignores Range: transferred {nr['transferred']:,} bytes = "
                  f"{nr['transferred'] / size:.2f} x size ({nr['restarts']} restarts from 0; the bytes received "
                  f"before the cuts are sent again), {nr['seconds']:.2f} s")
        if args.kill:
            kill = run_kill(server, source, sha, size, args.cuts, directory)
            print(f"killed {args.cuts}x and rerun: transferred {kill['transferred']:,} bytes = "
                  f"{kill['transferred'] / size:.4f} x size (extra {kill['transferred'] - size:,}: bytes in flight "
                  f"at each kill), partial re-hashed from disk once per rerun: {kill['rehashed']:,} bytes, "
                  f"{kill['seconds']:.2f} s with {args.cuts + 1} process starts")
        ok = extra <= allowed
        print(f"goal (cut {args.cuts}x: at most one extra copy of the bytes already received): "
              f"{'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
