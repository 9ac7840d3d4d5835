"""Synthetic benchmark databases in the exact schema, with a landscape that has locality, for the search tests.

* :func:`build_nb101_landscape`: every NB-101 cell of at most ``max_vertices`` vertices (2,532 cells for 5), written
  as original TFRecord records (the real framing and protobuf) and converted by the real converter. Accuracy grows
  with the number of conv3x3 / conv1x1 vertices and edges, so one edit changes it by a few points (locality); each
  run adds noise.
* :func:`build_nb201_landscape`: the 15,625 NB-201 cells (arch and config rows from the real converter's loader,
  trial rows with synthetic values), with accuracy growing with conv3x3 / conv1x1 edges.

Both return ``{hash or index: score}`` (the noise-free mean) so tests can check what the searches see.
"""

from __future__ import annotations

import random
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nasbench_db.convert.nb101 import Evaluation, convert_nb101, encode_model_metrics, encode_payload  # noqa: E402
from nasbench_db.convert.tfrecord import write_records  # noqa: E402
from nasbench_db.spaces import nb101 as space101  # noqa: E402
from nasbench_db.spaces import nb201 as space201  # noqa: E402

_F32 = struct.Struct("<f")


def f32(x: float) -> float:
    return _F32.unpack(_F32.pack(x))[0]


def nb101_cells(max_vertices: int = 5) -> list:
    """``(hash, matrix, ops)`` of every NB-101 cell with at most ``max_vertices`` vertices, in the original
    enumeration's order, each stored as its first-seen labelled form (as the released file does)."""
    seen = {}
    for size in range(2, max_vertices + 1):
        for matrix, ops in space101.enumerate_labelled(size):
            digest = space101.graph_hash(matrix, space101.labeling(ops))
            if digest not in seen:
                seen[digest] = (digest, matrix, ops)
    return list(seen.values())


def nb101_score(matrix, ops) -> float:
    """Noise-free accuracy (percent) of a cell: locality by construction."""
    edges = sum(map(sum, matrix))
    return (70.0 + 5.0 * ops.count(space101.CONV3X3) + 2.5 * ops.count(space101.CONV1X1) + 1.0 * edges
            - 0.5 * ops.count(space101.MAXPOOL3X3))


def build_nb101_landscape(db_dir, max_vertices: int = 5, seed: int = 0, epochs=(108,), noise: float = 0.5,
                          runs: int = 3) -> dict:
    """Convert a synthetic NB-101 file into ``db_dir``; returns ``{hash: score}``."""
    rng = random.Random(seed)
    cells = nb101_cells(max_vertices)
    scores = {}
    payloads = []
    for digest, matrix, ops in sorted(cells):
        score = nb101_score(matrix, ops)
        scores[digest] = score
        adjacency = space101.matrix_to_adjacency(matrix)
        parameters = 100_000 * (1 + 3 * ops.count(space101.CONV3X3) + ops.count(space101.CONV1X1))
        for budget in epochs:
            scale = budget / 108
            for _ in range(runs):
                final_time = f32(budget * (8.0 + ops.count(space101.CONV3X3)) * rng.uniform(0.9, 1.1))
                valid = min(99.0, score * (0.6 + 0.4 * scale) + rng.gauss(0, noise))
                test = min(99.0, score * (0.6 + 0.4 * scale) + rng.gauss(0, noise))
                half = Evaluation(budget / 2, f32(final_time / 2), f32(0.8 * valid / 100), f32(0.8 * valid / 100),
                                  f32(0.8 * test / 100))
                final = Evaluation(float(budget), final_time, f32(min(1.0, (valid + 5) / 100)), f32(valid / 100),
                                   f32(test / 100))
                metrics = encode_model_metrics([Evaluation(), half, final], parameters, f32(final_time * 1.1))
                payloads.append(encode_payload(digest, budget, adjacency, ",".join(ops), metrics))
    path = Path(db_dir) / "synthetic_landscape.tfrecord"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_records(path, payloads)
    convert_nb101(path, db_dir, progress=False)
    path.unlink()
    return scores


def nb201_score(ops) -> float:
    n3, n1 = space201.count_convs(ops)
    if not space201.has_path(ops):
        return 10.0
    return 60.0 + 5.0 * n3 + 2.0 * n1 - 1.0 * ops.count(space201.AVG_POOL_3X3)


def build_nb201_landscape(db_dir, seed: int = 0, datasets=("cifar10-valid", "cifar10"), epochs: int = 200,
                          seeds=(777, 888, 999), noise: float = 0.5) -> dict:
    """Write a synthetic NB-201 database into ``db_dir``; returns ``{index: score}``."""
    from nasbench_db.convert import _build
    from nasbench_db.convert.nb201 import TSS, _Loader

    rng = random.Random(seed)
    scores = {}
    marker = Path(db_dir) / "synthetic-nb201"
    marker.mkdir(parents=True, exist_ok=True)
    with _build.DatabaseBuild("nb201", db_dir) as build:
        build.create_tables(TSS.tables)
        conn = build.connection
        source_id = build.add_source("original", marker, "synthetic nb201 landscape (tests)", None)
        conn.execute("BEGIN")
        loader = _Loader(build, TSS)
        loader.static_rows()
        trial_id = 0
        rows = []
        for index, ops in enumerate(space201.all_archs()):
            score = nb201_score(ops)
            scores[index] = score
            n3, n1 = space201.count_convs(ops)
            for dataset in datasets:
                config_id = TSS.config_id(index, epochs, dataset)
                for s in seeds:
                    trial_id += 1
                    valid = score + rng.gauss(0, noise)
                    test = score + rng.gauss(0, noise)
                    seconds = epochs * (5.0 + 2.0 * n3 + 0.5 * n1) * rng.uniform(0.9, 1.1)
                    rows.append((trial_id, config_id, s, min(100.0, valid + 10), valid, test, test, 0.5, 1.0, 1.0,
                                 1.0, space201.parameters(ops, dataset), 0.01, space201.flops(ops, dataset),
                                 seconds, 2.0, 2.0, 2.0, source_id, None, None, None))
        conn.executemany(loader.trial_sql, rows)
        build.set_source_counts(source_id, {TSS.trial_table: len(rows)})
        conn.execute("COMMIT")
        build.finish(TSS.views)
    marker.rmdir()
    return scores
