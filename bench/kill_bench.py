"""Kill a conversion with SIGKILL at N random points; count intact previous databases and successful reruns.

Usage::

    python bench/kill_bench.py --kills 20            # NB-101, a 36,000-record synthetic file in the original format

Each round: convert the small real sample (the "previous" database), start converting a bigger file in a child
process, SIGKILL it at a random moment inside the conversion, check that the database under the final name is the
previous one byte for byte and passes ``PRAGMA integrity_check``, then rerun the conversion to completion.
"""

from __future__ import annotations

import argparse
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from nasbench_db.convert.nb101 import convert_nb101  # noqa: E402
from nb101_bench import synthetic_cells, write_synthetic  # noqa: E402

SAMPLE = HERE.parent / "nasbench_db" / "data" / "nb101_sample.tfrecord"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--cells", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="killbench-"))
    big = work / "big.tfrecord"
    write_synthetic(big, synthetic_cells(args.cells, args.seed), args.seed)
    db_dir = work / "db"
    code = ("from nasbench_db.convert.nb101 import convert_nb101; "
            f"convert_nb101({str(big)!r}, {str(db_dir)!r}, progress=False)")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    full = time.perf_counter() - started
    rng = random.Random(args.seed)
    intact = reruns = 0
    for _ in range(args.kills):
        convert_nb101(SAMPLE, db_dir, progress=False)
        before = (db_dir / "nasbench101.db").read_bytes()
        proc = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(rng.uniform(0.0, full))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = (db_dir / "nasbench101.db").read_bytes()
        conn = sqlite3.connect(db_dir / "nasbench101.db")
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        # A kill after the swap legitimately leaves the new, complete database: that counts as intact too.
        complete_new = ok and after != before and sqlite3.connect(db_dir / "nasbench101.db").execute(
            "SELECT COUNT(*) FROM nb101_trial").fetchone()[0] == args.cells * 12
        intact += int(ok and (after == before or complete_new))
        report = convert_nb101(big, db_dir, progress=False)
        reruns += int(report.trials == args.cells * 12
                      and sorted(p.name for p in db_dir.iterdir()) == ["nasbench101.db"])
    print(f"{args.kills} SIGKILLs during a {full:.1f} s conversion: {intact} intact databases, "
          f"{reruns} successful reruns (goal: {args.kills} and {args.kills})")


if __name__ == "__main__":
    main()
