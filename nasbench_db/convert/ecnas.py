"""EC-NAS-Bench: NAS-Bench-101 cells trained again with energy measurements, added as a source beside the released runs.

EC-NAS-Bench (github PedramBakh/EC-NAS-Bench, MIT) re-trained the NB-101 cells of at most 4 or 5 vertices with
NB-101's own pipeline on CIFAR-10, measuring each run's energy with carbontracker. Its files are NB-101 TFRecords
(framing, CRC, the JSON row ``[hash, epochs, adjacency, operations, base64(message)]``: read by
:mod:`nasbench_db.convert.tfrecord` and :mod:`nasbench_db.convert.nb101`), whose message ``ModelMetricsEnergy``
extends NB-101's ``ModelMetrics`` (layout from ``ecnas/vendors/ec_nasbench/nasbench/lib/model_metrics_energy.proto``)::

    ModelMetricsEnergy  1-3 as NB-101 (evaluations, trainable_parameters, total_time)   4 double total_energy (kWh)
                        5 double total_co2eq (g)   6, 7 string start/stop_emission   8 double overall_avg_intensity
                        9 PowerUsageData avg_power_usages {1 gpu, 2 cpu: {1 W, 2 J per device, 3 Device{1 name}}}
    evaluation          1-5 as NB-101 (current_epoch ... test_accuracy)   6 double energy (kWh)   7 double co2eq (g)
                        8 double avg_intensity (gCO2/kWh)   9, 10 string start/stop_emission
                        11-14 double pred_energy, pred_co2eq, pred_training_time, pred_avg_intensity
                        15 string checkpoint_path

Kept (see :class:`nasbench_db.models.Nb101TrialEnergy` for units): accuracies and times as for NB-101, the halfway
evaluation's epoch (after epoch 1 or 2 in EC-NAS's files, not E/2), ``energy`` and ``co2eq`` of the three
evaluations, ``total_energy`` and ``total_co2eq``; the device. Everything else is named in the report as not kept.

The runs become one :class:`~nasbench_db.models.Source` row (kind ``'ecnas'``, the device, the file's sha256) and
runs of the configs of their cell, budget and dataset (CIFAR-10), after the runs already there: the released runs are
never changed, and NNI's views never show these. Converting the same file again does nothing. The device is
``device=`` when given, else EC-NAS's hardware tag in the file name (``energy_4V9E_rtx3090.tfrecord``), else the
GPU the file's power records name, written as EC-NAS's tags are (``NVIDIA Quadro RTX 6000`` -> ``quadrortx6000``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from .. import db as _db
from ..checksums import recorded_sha256
from ..errors import CorruptInput, NasbenchDbError
from ..limits import check_lfs_pointer
from . import nb101 as _nb101
from ._build import utc_now
from .tfrecord import iter_records

CONVERTER_NAME = "ecnas-tfrecord"
KIND = "ecnas"
#: EC-NAS-Bench trained on CIFAR-10 with NB-101's splits.
DATASET = "cifar10"

LAYOUT = _nb101.ForeignLayout(
    "EC-NAS-Bench ModelMetricsEnergy",
    evaluation_fields={6: ("energy", 1), 7: ("co2eq", 1), 8: ("avg_intensity", 1), 9: ("start_emission", 2),
                       10: ("stop_emission", 2), 11: ("pred_energy", 1), 12: ("pred_co2eq", 1),
                       13: ("pred_training_time", 1), 14: ("pred_avg_intensity", 1), 15: ("checkpoint_path", 2)},
    message_fields={4: ("total_energy", 1), 5: ("total_co2eq", 1), 6: ("start_emission", 2),
                    7: ("stop_emission", 2), 8: ("overall_avg_intensity", 1), 9: ("avg_power_usages", 2)},
)
KEPT_EVALUATION_FIELDS = ("energy", "co2eq")
KEPT_MESSAGE_FIELDS = ("total_energy", "total_co2eq")
#: EC-NAS-Bench's hardware tags (``tabular_benchmarks/hardware/energy_4V9E_<tag>.tfrecord``).
HARDWARE_TAGS = ("quadrortx6000", "rtx3060", "rtx3090", "titanxp")
_FILE_NAME = re.compile(r"^energy_\d+V\d+E(?:_(?P<tag>[A-Za-z0-9]+))?\.tfrecord$")
_VENDOR_WORDS = ("nvidia", "geforce")

_ENERGY_SQL = ("INSERT INTO nb101_trial_energy (trial_id, step0_energy, step0_co2eq, halfway_energy, halfway_co2eq, "
               "energy, co2eq, total_energy, total_co2eq) VALUES (?,?,?,?,?,?,?,?,?)")
_SOURCE_SQL = ("INSERT INTO nasbench_source (benchmark, kind, file_name, file_size, sha256, converter, created_at, "
               "row_counts, device, details, device_kind) VALUES (?,?,?,?,?,?,?,?,?,?,?)")


def device_tag(name: str) -> str:
    """A GPU name written as EC-NAS-Bench's hardware tags: lower case, letters and digits only, without the vendor
    words ('NVIDIA GeForce RTX 3090' -> 'rtx3090', 'Quadro RTX 6000' -> 'quadrortx6000')."""
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w and w not in _VENDOR_WORDS]
    return "".join(words)


@dataclass
class EcnasRun:
    """One record: the cell, the budget, NB-101's evaluations (fractions, seconds) and the energy fields kept."""

    hash: str
    epochs: int
    adjacency: str
    operations: str
    num_vertices: int
    parameters: int
    halfway: object  # nb101.Evaluation
    final: object
    total_time: float | None
    halfway_epoch: float
    energy: tuple  # step0 energy, step0 co2eq, halfway energy, halfway co2eq, energy, co2eq, totals
    percent: bool = True  # accuracies are the file's fractions (False: percent, as stored in a database)


@dataclass
class EcnasReport:
    """What a conversion did (printed by the CLI)."""

    source: str
    database: str = ""
    records: int = 0
    cells: int = 0
    new_cells: int = 0
    runs: int = 0
    epochs: list = field(default_factory=list)
    halfway_epochs: dict = field(default_factory=dict)
    device: str = ""
    device_kind: str = ""
    source_id: int | None = None
    already_present: bool = False
    not_kept: list = field(default_factory=list)
    sha256: str = ""
    seconds: float = 0.0

    def summary(self) -> str:
        if self.already_present:
            return (f"{self.source} is already in {self.database} (source {self.source_id}, device {self.device}): "
                    "nothing to do")
        halfway = ", ".join(f"epoch {e:g}: {n:,}" for e, n in sorted(self.halfway_epochs.items()))
        return (f"added {self.runs:,} EC-NAS-Bench runs of {self.cells:,} cells ({self.new_cells:,} new) from "
                f"{self.source} into {self.database} as source {self.source_id} (kind 'ecnas', device "
                f"{self.device}, {self.device_kind}; query with source='ecnas' or --source {self.device}): "
                f"epochs {self.epochs}, halfway evaluation at {halfway}; in {self.seconds:.1f} s. "
                f"Not kept: {', '.join(self.not_kept)}")


def _devices(raw: bytes, counts: Counter) -> None:
    """Count the device names of an ``avg_power_usages`` message (``PowerUsageData``) into ``counts``, keyed
    ``('gpu' | 'cpu', name)``."""
    for number, wire_type, hardware in _nb101.iter_fields(raw):
        if number not in (1, 2) or wire_type != 2:
            continue
        for inner, inner_type, device in _nb101.iter_fields(hardware):
            if inner != 3 or inner_type != 2:
                continue
            for leaf, leaf_type, name in _nb101.iter_fields(device):
                if leaf == 1 and leaf_type == 2:
                    counts[("gpu" if number == 1 else "cpu", name.decode("utf-8", "replace"))] += 1


def _extra(evaluation, name):
    return (evaluation.extra or {}).get(name)


def read_ecnas(path) -> tuple[list, dict]:
    """Every record of an EC-NAS-Bench file as :class:`EcnasRun`, checked (CRC, cell, hash, three evaluations,
    parameters), plus ``{'sha256', 'devices' (Counter), 'skipped' (unknown fields), 'present' (layout fields seen)}``.
    Raises :class:`CorruptInput` naming the record and byte offset of the first bad record."""
    path = Path(path)
    check_lfs_pointer(path)
    known_sha = recorded_sha256(path)
    digest = None if known_sha else hashlib.sha256()
    runs, devices, skipped, present = [], Counter(), {}, Counter()
    cells: dict = {}
    for number, offset, data in iter_records(path, digest=digest):
        try:
            module_hash, epochs, adjacency, operations, raw = _nb101.decode_payload(data)
            metrics = _nb101.decode_model_metrics(raw, LAYOUT, skipped)
        except RecursionError:
            raise CorruptInput(path, "payload nested too deeply: not an EC-NAS-Bench record", number, offset) from None
        except ValueError as exc:
            raise CorruptInput(path, str(exc), number, offset) from None
        known = cells.get(module_hash)
        if known is None:
            num_vertices = _nb101.check_cell(path, number, offset, module_hash, adjacency, operations)
            known = cells[module_hash] = (adjacency, operations, num_vertices)
        elif known[:2] != (adjacency, operations):
            raise CorruptInput(path, f"cell {module_hash} appears with two different graphs", number, offset)
        if metrics.trainable_parameters is None:
            raise CorruptInput(path, f"cell {module_hash} has no trainable_parameters", number, offset)
        if len(metrics.evaluations) != 3:
            raise CorruptInput(path, f"expected 3 evaluations (step 0, halfway, final): got "
                                     f"{len(metrics.evaluations)}", number, offset)
        step0, half, final = metrics.evaluations
        if half.current_epoch is None or not math.isfinite(half.current_epoch):
            raise CorruptInput(path, f"the halfway evaluation's current_epoch must be a number: got "
                                     f"{half.current_epoch}", number, offset)
        for evaluation in metrics.evaluations:
            present.update(f"evaluation {name}" for name in (evaluation.extra or {}))
        present.update(f"message {name}" for name in (metrics.extra or {}))
        power = (metrics.extra or {}).get("avg_power_usages")
        if power is not None:
            try:
                _devices(power, devices)
            except ValueError as exc:
                raise CorruptInput(path, f"avg_power_usages: {exc}", number, offset) from None
        message = metrics.extra or {}
        runs.append(EcnasRun(module_hash, epochs, adjacency, operations, known[2], metrics.trainable_parameters,
                             half, final, metrics.total_time, half.current_epoch,
                             (_extra(step0, "energy"), _extra(step0, "co2eq"), _extra(half, "energy"),
                              _extra(half, "co2eq"), _extra(final, "energy"), _extra(final, "co2eq"),
                              message.get("total_energy"), message.get("total_co2eq"))))
    if not runs:
        raise CorruptInput(path, "no records: expected EC-NAS-Bench TFRecord records")
    return runs, {"sha256": known_sha or digest.hexdigest(), "devices": devices, "skipped": skipped,
                  "present": present}


def _not_kept(info: dict, runs: list) -> list:
    """Names of the fields the file holds that the tables do not keep."""
    kept = {f"evaluation {n}" for n in KEPT_EVALUATION_FIELDS} | {f"message {n}" for n in KEPT_MESSAGE_FIELDS}
    names = ["evaluation 0's accuracies (after 1 step at learning rate 0, unused as in NB-101)"]
    if any(r.halfway.checkpoint_path or r.final.checkpoint_path for r in runs):
        names.append("evaluation checkpoint_path")
    labels = {"message avg_power_usages": "message avg_power_usages (GPU / CPU watts and joules; the device names "
                                          "are kept in the source's details)"}
    names += sorted(labels.get(name, name) for name in info["present"] if name not in kept)
    names += _nb101.foreign_fields(info["skipped"])
    return names


def resolve_device(path, info: dict, device: str | None) -> tuple[str, str]:
    """``(device, device kind)``: the option, the file name's hardware tag, or the file's GPU name as a tag."""
    gpus = Counter({name: n for (kind, name), n in info["devices"].items() if kind == "gpu"})
    kind = "cuda" if gpus else "cpu"
    if device is not None:
        if not device.strip():
            raise NasbenchDbError("--device must name the device that trained the runs: got an empty name")
        return device.strip(), kind
    match = _FILE_NAME.match(Path(path).name)
    if match and match.group("tag") and match.group("tag").lower() in HARDWARE_TAGS:
        return match.group("tag").lower(), "cuda"
    tags = Counter()
    for name, n in gpus.items():
        tags[device_tag(name)] += n
    if len(tags) == 1:
        return next(iter(tags)), kind
    if tags:
        raise NasbenchDbError(f"{path}: the runs name several GPUs ({', '.join(sorted(gpus))}): say which device "
                              "to record with --device NAME")
    raise NasbenchDbError(f"{path}: neither the file name nor its records name the device that trained the runs: "
                          f"give it with --device NAME (EC-NAS-Bench's tags: {', '.join(HARDWARE_TAGS)})")


def _insert_runs(conn, runs, source_id: int, where, dataset: str = DATASET) -> tuple[int, int]:
    """Add ``runs`` (:class:`EcnasRun`) under ``source_id``; returns (new cells, cells)."""
    arch_ids: dict = {}
    before = conn.execute("SELECT COUNT(*) FROM nb101_arch").fetchone()[0]
    for run in runs:
        arch_id = arch_ids.get(run.hash)
        if arch_id is None:
            arch_id = arch_ids[run.hash] = _nb101.add_cell(conn, run.hash, run.adjacency, run.operations,
                                                          run.num_vertices, run.parameters, where,
                                                          check=dataset == DATASET)
        config_id = _nb101.add_config(conn, arch_id, run.epochs, dataset, where)
        trial_id = _nb101.next_trial_id(conn, config_id, where)
        _nb101.add_run(conn, trial_id, source_id, run.halfway, run.final, run.total_time, run.halfway_epoch,
                       percent=run.percent)
        conn.execute(_ENERGY_SQL, (trial_id, *run.energy))
    after = conn.execute("SELECT COUNT(*) FROM nb101_arch").fetchone()[0]
    return after - before, len(arch_ids)


def _rollback(conn) -> None:
    from .results import ServerConnection

    if isinstance(conn, ServerConnection):
        conn.raw.rollback()
    else:
        conn.execute("ROLLBACK")


def convert_ecnas(path, db_dir=None, device: str | None = None) -> EcnasReport:
    """Add an EC-NAS-Bench TFRecord file to the NB-101 database (created when missing) as a source of its own.

    Every record is read and checked before anything is written; the runs are then added in one transaction, so a
    bad file changes nothing. Converting a file already added (same sha256) does nothing. Returns the report.
    """
    from .results import _release, connect

    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise NasbenchDbError(f"no such file: {path} (expected an EC-NAS-Bench file such as energy_5V9E.tfrecord)")
    if path.stat().st_size == 0:
        raise CorruptInput(path, "the file is empty: expected EC-NAS-Bench TFRecord records")
    runs, info = read_ecnas(path)
    report = EcnasReport(source=str(path), records=len(runs), sha256=info["sha256"])
    report.device, report.device_kind = resolve_device(path, info, device)
    report.epochs = sorted({r.epochs for r in runs})
    report.halfway_epochs = dict(Counter(r.halfway_epoch for r in runs))
    report.not_kept = _not_kept(info, runs)
    conn, database = connect("nb101", db_dir)
    report.database = str(database)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT id, device FROM nasbench_source WHERE benchmark = 'nb101' AND kind = ? AND "
                               "sha256 = ?", (KIND, report.sha256)).fetchone()
            if row:
                report.already_present, report.source_id, report.device = True, row[0], row[1]
                conn.execute("COMMIT")
                return report
            details = {"records": len(runs), "epochs": report.epochs, "dataset": DATASET,
                       "halfway_epochs": sorted(report.halfway_epochs),
                       "gpu_names": sorted(name for kind, name in info["devices"] if kind == "gpu"),
                       "cpu_names": sorted(name for kind, name in info["devices"] if kind == "cpu"),
                       "not_kept": report.not_kept}
            counts = {"nb101_trial": len(runs), "nb101_trial_halfway": len(runs), "nb101_trial_energy": len(runs)}
            cursor = conn.execute(_SOURCE_SQL, ("nb101", KIND, path.name, path.stat().st_size, report.sha256,
                                                f"{CONVERTER_NAME} nasbench_db {__version__}", utc_now(),
                                                json.dumps(counts, sort_keys=True), report.device,
                                                json.dumps(details, sort_keys=True), report.device_kind))
            report.source_id = cursor.lastrowid
            report.new_cells, report.cells = _insert_runs(conn, runs, report.source_id, path)
            report.runs = len(runs)
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
    finally:
        _release(conn)
    report.seconds = time.perf_counter() - started
    return report


# ----------------------------------------------------------------------------------------------------------------------
# carry-over across a rebuild from the released file

_OLD_RUNS = ("SELECT a.hash, a.adjacency, a.operations, a.num_vertices, a.parameters, c.num_epochs, c.dataset, "
             "t.halfway_training_time, t.halfway_train_acc, t.halfway_valid_acc, t.halfway_test_acc, "
             "t.training_time, t.train_acc, t.valid_acc, t.test_acc, t.total_time, h.halfway_epoch, "
             "e.step0_energy, e.step0_co2eq, e.halfway_energy, e.halfway_co2eq, e.energy, e.co2eq, e.total_energy, "
             "e.total_co2eq "
             # the halfway table holds exactly the runs of other sources: no scan of the released runs
             "FROM nb101_trial_halfway h JOIN nb101_trial t ON t.id = h.trial_id "
             "JOIN nb101_config c ON c.id = t.id / 1024 JOIN nb101_arch a ON a.id = c.arch_id "
             "LEFT JOIN nb101_trial_energy e ON e.trial_id = t.id WHERE t.source_id = ? ORDER BY t.id")


def _old_rows(build):
    """``[(source row, [run rows])]`` of the EC-NAS sources of the database ``build`` replaces."""
    columns = "id, file_name, file_size, sha256, converter, created_at, row_counts, device, details, device_kind"
    sources_sql = f"SELECT {columns} FROM nasbench_source WHERE benchmark = 'nb101' AND kind = '{KIND}' ORDER BY id"
    if getattr(build, "url", None):
        database = _db.url_database(build.url)
        try:
            tables = set(database.get_tables())
            if "nb101_trial_energy" not in tables or "nasbench_source" not in tables:
                return []
            return [(source, _db.fetchall(database, _OLD_RUNS, (source[0],)))
                    for source in _db.fetchall(database, sources_sql)]
        finally:
            database.close()
    if not build.final.is_file():
        return []
    import sqlite3

    try:
        old = _db.raw_sqlite_connect(build.final, readonly=True)
    except sqlite3.Error:
        return []
    try:
        tables = {row[0] for row in old.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "nb101_trial_energy" not in tables or "nasbench_source" not in tables:
            return []  # an NNI file, or one from before EC-NAS support: nothing to keep
        return [(source, old.execute(_OLD_RUNS, (source[0],)).fetchall())
                for source in old.execute(sources_sql).fetchall()]
    finally:
        old.close()


def carry_over(build) -> int:
    """Copy the EC-NAS runs of the database ``build`` replaces into the new file (called before the swap, like
    :func:`nasbench_db.convert.results.carry_over`). Returns how many runs were carried over."""
    sources = _old_rows(build)
    if not sources:
        return 0
    conn = build.connection
    carried = 0
    for (old_id, file_name, file_size, sha256, converter, created_at, row_counts, device, details,
         device_kind), rows in sources:
        cursor = conn.execute(_SOURCE_SQL, ("nb101", KIND, file_name, file_size, sha256, converter, created_at,
                                            row_counts, device, details, device_kind))
        runs = []
        for row in rows:
            half = _nb101.Evaluation(None, *row[7:11])
            final = _nb101.Evaluation(None, *row[11:15])
            runs.append((row[6], EcnasRun(row[0], row[5], row[1], row[2], row[3], row[4], half, final, row[15],
                                          row[16], tuple(row[17:25]), percent=False)))
        for dataset in sorted({d for d, _ in runs}):
            _insert_runs(conn, [r for d, r in runs if d == dataset], cursor.lastrowid,
                         f"{build.final} (EC-NAS source {file_name})", dataset)
        carried += len(runs)
    return carried
