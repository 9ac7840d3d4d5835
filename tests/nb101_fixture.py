"""Re-encode the real NB-101 records under tests/data into the original TFRecord format.

Sources (see tests/data/README.md): 30 cells of NASLib's ``nb101_dummy.pkl`` (108 epochs, 3 runs each) and the
README Inception cell at all four budgets. Both hold exactly what ``NASBench.get_metrics_from_hash`` returns, which
lacks two things the protobuf carries: the step-0 evaluation and ``total_time``. The writer leaves them out rather
than invent them: entry [0] is an empty ``EvaluationData`` and ``total_time`` is unset (stored as NULL).

``python tests/nb101_fixture.py`` regenerates the bundled sample ``nasbench_db/data/nb101_sample.tfrecord``.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from nasbench_db.convert.nb101 import Evaluation, encode_model_metrics, encode_payload  # noqa: E402
from nasbench_db.convert.tfrecord import write_records  # noqa: E402
from nasbench_db.spaces import nb101 as space  # noqa: E402

DATA = HERE / "data"
SAMPLE = HERE.parent / "nasbench_db" / "data" / "nb101_sample.tfrecord"
INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"


def real_cells() -> list[dict]:
    """Every real cell: ``{hash, adjacency, operations, parameters, runs: {epochs: [run dict x3]}}``, hash order."""
    cells = []
    with open(DATA / "naslib_nb101_30_records.pkl", "rb") as handle:
        naslib = pickle.load(handle)
    for module_hash, (fixed, computed) in naslib.items():
        matrix = [[int(e) for e in row] for row in fixed["module_adjacency"].tolist()]
        cells.append({
            "hash": module_hash,
            "adjacency": space.matrix_to_adjacency(matrix),
            "operations": ",".join(fixed["module_operations"]),
            "parameters": int(fixed["trainable_parameters"]),
            "runs": {int(e): list(runs) for e, runs in computed.items()},
        })
    inception = json.loads((DATA / "nb101_inception_28cfc787_all_epochs.json").read_text())
    cells.append({
        "hash": inception["module_hash"],
        "adjacency": space.matrix_to_adjacency(inception["module_adjacency_as_stored"]),
        "operations": ",".join(inception["module_operations_as_stored"]),
        "parameters": int(inception["trainable_parameters"]),
        "runs": {int(e): runs for e, runs in inception["computed_stats"].items()},
    })
    return sorted(cells, key=lambda c: c["hash"])


def run_payload(cell: dict, epochs: int, run: dict, total_time=None, step0: Evaluation | None = None,
                checkpoint_path=None) -> bytes:
    """One record payload for a run dict in ``get_metrics_from_hash`` form."""
    evaluations = [
        step0 or Evaluation(),
        Evaluation(epochs / 2, run["halfway_training_time"], run["halfway_train_accuracy"],
                   run["halfway_validation_accuracy"], run["halfway_test_accuracy"], checkpoint_path),
        Evaluation(float(epochs), run["final_training_time"], run["final_train_accuracy"],
                   run["final_validation_accuracy"], run["final_test_accuracy"], checkpoint_path),
    ]
    metrics = encode_model_metrics(evaluations, cell["parameters"], total_time)
    return encode_payload(cell["hash"], epochs, cell["adjacency"], cell["operations"], metrics)


def payloads(cells=None):
    for cell in cells if cells is not None else real_cells():
        for epochs in sorted(cell["runs"]):
            for run in cell["runs"][epochs]:
                yield run_payload(cell, epochs, run)


def write_real_tfrecord(path) -> int:
    """Write every real record as a TFRecord file; returns the record count."""
    return write_records(path, payloads())


if __name__ == "__main__":
    count = write_real_tfrecord(SAMPLE)
    print(f"wrote {count} records to {SAMPLE}")
