"""Compat facades beside the originals: google's ``nasbench.api`` and NATS-Bench's ``create()``, same inputs, same run.

Figures (each printed beside the peer's, measured in the same run, and the goal of issue 11):

* open-to-first-answer and peak RSS, each in a fresh interpreter (import time shown apart);
* warm per-call p50 / p99 on the same arguments;
* NATS: an architecture's first call (``get_more_info`` on an index not loaded yet).

The peers: ``nats_bench`` (PyPI, installed) on the same archive; google's API when TensorFlow is importable, else
its load cost measured as what its ``NASBench.__init__`` does per record (TFRecord framing, ``json.loads``,
``base64``, ``ModelMetrics`` parsed by the protobuf runtime, the int8 adjacency array and the two dicts) and its
``query`` as the steps of its code (``_check_spec``, ``hash_module`` on numpy, two ``deepcopy``, ``randint``).

Usage::

    python bench/compat_bench.py nb101 --workdir /tmp/nb --cells 423624   # full scale (generates ~2 GB once)
    python bench/compat_bench.py nb101 --workdir /tmp/nb --cells 20000    # a quick run
    python bench/compat_bench.py nats                                     # tests/data NATS archive (3 archs)
    python bench/compat_bench.py nats --archive /tmp/tss/NATS-tss-v1_0-3ffb9-simple   # e.g. from nb201_bench.py
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))


def run_child(code: str, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object last. Adds the child's peak RSS (MB)."""
    # VmHWM (peak RSS of this process image): ru_maxrss would carry the parent's peak across fork + exec
    wrapped = code + "\n_hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n" \
                     "_out['rss_mb'] = int(_hwm[0].split()[1]) / 1024 if _hwm else float('nan')\n" \
                     "print(json.dumps(_out))\n"
    full_env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {}))
    out = subprocess.run([sys.executable, "-c", wrapped], env=full_env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def row(label, ours, peer, unit, goal=""):
    ratio = f"{peer / ours:,.1f}x" if ours and peer else ""
    peer_text = f"{peer:,.1f}" if isinstance(peer, (int, float)) else str(peer)
    print(f"  {label:<44} {ours:>12,.1f} {peer_text:>12} {unit:<4} {ratio:>8}  {goal}")


def header(title, peer):
    print(f"\n{title}")
    print(f"  {'figure':<44} {'nasbench_db':>12} {peer:>12} {'unit':<4} {'peer/us':>8}  goal")


# ----------------------------------------------------------------------------------------------------------------------
# NB-101

NB101_OURS = r"""
import json, sys, time
t0 = time.perf_counter()
from nasbench_db.compat.nasbench import api
t1 = time.perf_counter()
nb = api.NASBench(None)
spec = api.ModelSpec(matrix=MATRIX, ops=OPS)
data = nb.query(spec)
t2 = time.perf_counter()
assert data["trainable_parameters"] > 0
_out = {"import_ms": (t1 - t0) * 1e3, "first_ms": (t2 - t1) * 1e3}
"""

NB101_GOOGLE_LOAD = r"""
import base64, copy, hashlib, json, random, struct, time
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

def metrics_class():
    proto = descriptor_pb2.FileDescriptorProto(name="m.proto", package="nasbench", syntax="proto2")
    f = descriptor_pb2.FieldDescriptorProto
    ev = proto.message_type.add(name="EvaluationData")
    for n, name in enumerate(["current_epoch", "training_time", "train_accuracy", "validation_accuracy",
                              "test_accuracy"], 1):
        ev.field.add(name=name, number=n, type=f.TYPE_DOUBLE, label=f.LABEL_OPTIONAL)
    ev.field.add(name="checkpoint_path", number=6, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
    mm = proto.message_type.add(name="ModelMetrics")
    mm.field.add(name="evaluation_data", number=1, type=f.TYPE_MESSAGE, label=f.LABEL_REPEATED,
                 type_name=".nasbench.EvaluationData")
    mm.field.add(name="trainable_parameters", number=2, type=f.TYPE_INT32, label=f.LABEL_OPTIONAL)
    mm.field.add(name="total_time", number=3, type=f.TYPE_DOUBLE, label=f.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool(); pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("nasbench.ModelMetrics"))

ModelMetrics = metrics_class()
import google_crc32c
t0 = time.perf_counter()
fixed, computed, valid_epochs = {}, {}, set()
with open(PATH, "rb") as handle:
    while True:
        head = handle.read(12)
        if not head:
            break
        (length,) = struct.unpack("<Q", head[:8])
        row = handle.read(length)
        handle.read(4)
        google_crc32c.value(row)  # tf_record_iterator checks every record's CRC
        module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = json.loads(row.decode("utf-8"))
        dim = int(np.sqrt(len(raw_adjacency)))
        adjacency = np.reshape(np.array([int(e) for e in list(raw_adjacency)], dtype=np.int8), (dim, dim))
        operations = raw_operations.split(",")
        metrics = ModelMetrics.FromString(base64.b64decode(raw_metrics))
        if module_hash not in fixed:
            fixed[module_hash] = {"module_adjacency": adjacency, "module_operations": operations,
                                  "trainable_parameters": metrics.trainable_parameters}
            computed[module_hash] = {}
        valid_epochs.add(epochs)
        computed[module_hash].setdefault(epochs, [])
        half, final = metrics.evaluation_data[1], metrics.evaluation_data[2]
        computed[module_hash][epochs].append({
            "halfway_training_time": half.training_time, "halfway_train_accuracy": half.train_accuracy,
            "halfway_validation_accuracy": half.validation_accuracy, "halfway_test_accuracy": half.test_accuracy,
            "final_training_time": final.training_time, "final_train_accuracy": final.train_accuracy,
            "final_validation_accuracy": final.validation_accuracy, "final_test_accuracy": final.test_accuracy})
load_s = time.perf_counter() - t0
"""

#: google's ``NASBench.query`` as the steps of its code, over ``fixed`` / ``computed`` / ``valid_epochs`` dicts of
#: its layout (also run by bench/point_bench.py beside our point query, on dicts of the sampled cells).
NB101_GOOGLE_QUERY = r"""
import copy, hashlib, random
import numpy as np
ops = ["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"]

def hash_module(matrix, labeling):
    vertices = np.shape(matrix)[0]
    in_edges = np.sum(matrix, axis=0).tolist()
    out_edges = np.sum(matrix, axis=1).tolist()
    hashes = [hashlib.md5(str((out_edges[v], in_edges[v], labeling[v])).encode()).hexdigest() for v in range(vertices)]
    for _ in range(vertices):
        hashes = [hashlib.md5(("".join(sorted(hashes[w] for w in range(vertices) if matrix[w, v])) + "|" +
                               "".join(sorted(hashes[w] for w in range(vertices) if matrix[v, w])) + "|" +
                               hashes[v]).encode()).hexdigest() for v in range(vertices)]
    return hashlib.md5(str(sorted(hashes)).encode()).hexdigest()

def query(matrix, operations, epochs=108):
    # NASBench.query: _check_spec, hash_spec, get_metrics_from_hash (two deepcopies), randint, the data dict
    if epochs not in valid_epochs:
        raise ValueError
    if len(operations) > 7 or np.sum(matrix) > 9 or operations[0] != "input" or operations[-1] != "output":
        raise ValueError
    for op in operations[1:-1]:
        if op not in ops:
            raise ValueError
    h = hash_module(matrix, [-1] + [ops.index(op) for op in operations[1:-1]] + [-2])
    f, c = copy.deepcopy(fixed[h]), copy.deepcopy(computed[h])
    run = c[epochs][random.randint(0, 2)]
    return {"module_adjacency": f["module_adjacency"], "module_operations": f["module_operations"],
            "trainable_parameters": f["trainable_parameters"], "training_time": run["final_training_time"],
            "train_accuracy": run["final_train_accuracy"], "validation_accuracy": run["final_validation_accuracy"],
            "test_accuracy": run["final_test_accuracy"]}

"""

NB101_GOOGLE = NB101_GOOGLE_LOAD + NB101_GOOGLE_QUERY + r"""
specs = [(np.array(m), o) for m, o in json.load(open(SPECS))]
for m, o in specs[:50]:
    query(m, o)
times = []
for m, o in specs:
    t = time.perf_counter(); query(m, o); times.append(time.perf_counter() - t)
_out = {"load_s": load_s, "cells": len(fixed), "query_us": [x * 1e6 for x in times]}
"""


def bench_nb101(args):
    import nb101_bench

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="compat-nb101-"))
    workdir.mkdir(parents=True, exist_ok=True)
    tfrecord = workdir / "synthetic_full.tfrecord"
    if not tfrecord.exists():
        t = time.perf_counter()
        cells = nb101_bench.synthetic_cells(args.cells, args.seed)
        records = nb101_bench.write_synthetic(tfrecord, cells, args.seed)
        print(f"generated {records:,} records ({tfrecord.stat().st_size / 1e9:.2f} GB) for {len(cells):,} cells in "
              f"{time.perf_counter() - t:.0f} s")
    db_dir = workdir / "db"
    os.environ["NASBENCHMARK_DIR"] = str(db_dir)
    from nasbench_db.compat.nasbench import api

    t = time.perf_counter()
    api.NASBench(str(tfrecord))  # converted on first use (recognised by its record afterwards)
    print(f"first use of the file (conversion or recognition): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    nb = api.NASBench(str(tfrecord))
    print(f"second use of the file (recognised by its .sha256 record): {(time.perf_counter() - t) * 1e3:.1f} ms")

    hashes = list(nb.hash_iterator())
    rng = random.Random(args.seed)
    picks = [hashes[rng.randrange(len(hashes))] for _ in range(args.queries)]
    specs = []
    for h in picks:
        fixed = nb.fixed_statistics[h]
        specs.append((fixed["module_adjacency"].astype(int).tolist(), list(fixed["module_operations"])))
    spec_file = workdir / "specs.json"
    spec_file.write_text(json.dumps(specs))

    matrix, ops = specs[0]
    ours_open = [run_child(NB101_OURS.replace("MATRIX", repr(matrix)).replace("OPS", repr(ops)),
                           {"NASBENCHMARK_DIR": str(db_dir)}) for _ in range(5)]
    try:
        import tensorflow  # noqa: F401

        peer = "google (TF)"  # the real API could be timed here; not installed on this machine
    except ImportError:
        peer = "google*"
    google = run_child(NB101_GOOGLE.replace("PATH", repr(str(tfrecord))).replace("SPECS", repr(str(spec_file))))

    # warm queries: the same specs, each queried once before (hash and rows remembered); cold: first time each
    model_specs = [api.ModelSpec(m, o) for m, o in specs]
    cold = []
    fresh = api.NASBench(None)
    for spec in model_specs:
        t = time.perf_counter()
        fresh.query(spec)
        cold.append(time.perf_counter() - t)
    warm = []
    for spec in model_specs:
        t = time.perf_counter()
        fresh.query(spec)
        warm.append(time.perf_counter() - t)
    warm_us = [x * 1e6 for x in warm]
    cold_us = [x * 1e6 for x in cold]
    google_us = google["query_us"]

    header(f"NB-101: {google['cells']:,} cells, {tfrecord.stat().st_size / 1e9:.2f} GB file "
           f"({'*' if peer.endswith('*') else ''}google's per-record load loop and query steps, no TensorFlow here)",
           peer)
    import_ms = statistics.median(r["import_ms"] for r in ours_open)
    first_ms = statistics.median(r["first_ms"] for r in ours_open)
    rss = statistics.median(r["rss_mb"] for r in ours_open)
    row("import of the API module", import_ms, "", "ms")
    row("open to first query (after import)", first_ms, google["load_s"] * 1e3, "ms", "<= 50 ms")
    row("peak RSS, open + first query", rss, google["rss_mb"], "MB", "<= 100 MB")
    row("warm query(spec) p50", statistics.median(warm_us), statistics.median(google_us), "us",
        ">= 4x faster than google")
    row("warm query(spec) p99", pct(warm_us, 99), pct(google_us, 99), "us")
    row("first query of a cell (hash + SQL) p50", statistics.median(cold_us), statistics.median(google_us), "us")
    row("first query of a cell (hash + SQL) p99", pct(cold_us, 99), pct(google_us, 99), "us")


# ----------------------------------------------------------------------------------------------------------------------
# NATS-Bench

NATS_OPEN = r"""
import json, time
t0 = time.perf_counter()
from MODULE import create
t1 = time.perf_counter()
api = create(ARG, "tss", fast_mode=True, verbose=False)
info = api.get_more_info(INDEX, "cifar10-valid", hp="200", is_random=False)
t2 = time.perf_counter()
assert "valid-accuracy" in info
_out = {"import_ms": (t1 - t0) * 1e3, "first_ms": (t2 - t1) * 1e3}
"""


def bench_nats(args):
    import nats_bench

    from nasbench_db.compat import nats_bench as ours

    archive = Path(args.archive or ROOT / "tests" / "data" / "nats" / "NATS-tss-v1_0-3ffb9-simple")
    db_dir = Path(args.workdir or tempfile.mkdtemp(prefix="compat-nats-"))
    os.environ["NASBENCHMARK_DIR"] = str(db_dir)
    t = time.perf_counter()
    ours.create(str(archive), "tss", fast_mode=True, verbose=False)
    print(f"first use of {archive.name} (conversion or recognition): {time.perf_counter() - t:.1f} s")
    indexes = sorted(int(p.name.split(".")[0]) for p in archive.glob("[0-9]*.pickle.pbz2"))
    index = indexes[len(indexes) // 2]

    opens = {name: [run_child(NATS_OPEN.replace("MODULE", module).replace("ARG", arg).replace("INDEX", str(index)),
                              {"NASBENCHMARK_DIR": str(db_dir)}) for _ in range(3)]
             for name, module, arg in (("ours", "nasbench_db.compat.nats_bench", "None"),
                                       ("nats", "nats_bench", repr(str(archive))))}

    # an architecture's first call: a fresh API object per sample, so nothing of that index is loaded yet
    rng = random.Random(args.seed)
    samples = [indexes[rng.randrange(len(indexes))] for _ in range(args.first_calls)]
    first = {"ours": [], "nats": []}
    for name, make in (("ours", lambda: ours.create(None, "tss", True, False)),
                       ("nats", lambda: nats_bench.create(str(archive), "tss", True, False))):
        for arch in samples:
            api = make()
            t = time.perf_counter()
            api.get_more_info(arch, "cifar10-valid", hp="200", is_random=False)
            first[name].append((time.perf_counter() - t) * 1e6)

    # warm calls: the same mix of arguments on loaded architectures, the same seeds drawn
    calls = []
    for _ in range(args.queries):
        calls.append((indexes[rng.randrange(len(indexes))], rng.choice(("cifar10-valid", "cifar10", "cifar100",
                                                                        "ImageNet16-120")),
                      rng.choice(("12", "200")), rng.choice((True, False)),
                      rng.choice((None, None, None, 5))))
    warm = {}
    for name, api in (("ours", ours.create(None, "tss", True, False)),
                      ("nats", nats_bench.create(str(archive), "tss", True, False))):
        for call in calls:  # load and warm
            api.get_more_info(call[0], call[1], iepoch=call[4], hp=call[2], is_random=call[3])
        random.seed(0)
        times = []
        for arch, dataset, hp, is_random, iepoch in calls:
            t = time.perf_counter()
            api.get_more_info(arch, dataset, iepoch=iepoch, hp=hp, is_random=is_random)
            times.append((time.perf_counter() - t) * 1e6)
        warm[name] = times

    header(f"NATS-Bench topology: {len(indexes):,} archs in {archive.name}; peer: nats_bench "
           f"{nats_bench.version()}, fast_mode=True", "nats_bench")
    for label, key, unit, goal in (("import of the API module", "import_ms", "ms", ""),
                                   ("create() to first get_more_info (after import)", "first_ms", "ms", ""),
                                   ("peak RSS, create + first answer", "rss_mb", "MB", "")):
        row(label, statistics.median(r[key] for r in opens["ours"]), statistics.median(r[key] for r in opens["nats"]),
            unit, goal)
    row("an architecture's first get_more_info p50", statistics.median(first["ours"]),
        statistics.median(first["nats"]), "us", "<= 1 ms")
    row("an architecture's first get_more_info p99", pct(first["ours"], 99), pct(first["nats"], 99), "us")
    row("warm get_more_info p50", statistics.median(warm["ours"]), statistics.median(warm["nats"]), "us",
        ">= 8x faster than nats_bench")
    row("warm get_more_info p99", pct(warm["ours"], 99), pct(warm["nats"], 99), "us")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=["nb101", "nats"])
    parser.add_argument("--workdir", default=None, help="nb101: where the synthetic file and database live; nats: "
                                                        "the database directory (default: a temp dir)")
    parser.add_argument("--cells", type=int, default=20_000, help="nb101: distinct cells to generate (423624 = all)")
    parser.add_argument("--archive", default=None, help="nats: a NATS-tss -simple directory (default: tests/data)")
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--first-calls", type=int, default=300, help="nats: samples of an architecture's first call")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.which == "nb101":
        bench_nb101(args)
    else:
        bench_nats(args)


if __name__ == "__main__":
    main()
