"""Convert HW-NAS-Bench's ``HW-NAS-Bench-v1_0.pickle`` into the NB-201 database (tables ``hw_nb201_metric`` and
``hw_fbnet_lookup``, see :mod:`nasbench_db.models`).

The file (GATECH-EIC/HW-NAS-Bench, MIT) is one pickle of plain data:

* ``['nasbench201'][dataset][metric]``: one value per NB-201 architecture, in NB-201 index order, for the datasets
  ``cifar10``, ``cifar100`` and ``ImageNet16-120`` and the metrics of
  :data:`~nasbench_db.models.HW_NB201_METRICS` (latency in ms, energy in mJ, Eyeriss arithmetic intensity); the
  sequences may be lists or numpy arrays (both are read), or dicts keyed by index;
* ``['nasbench201'][dataset]['config']``: per architecture the network config the API's ``get_net_config`` returns
  (``{'name': 'infer.tiny', 'C': 16, 'N': 5, 'arch_str': ..., 'num_classes': ...}``); every ``arch_str`` is checked
  against the NB-201 index it sits at, so a file in another order cannot be joined to the wrong cells;
* ``['fbnet'][metric]``: the FBNet space's lookup tables, ``{layer key: value}`` (:mod:`nasbench_db.spaces.fbnet`).

It is read whole (at most ``limits.MAX_MEMBER_BYTES``) by the project's restricted pickle reader: only plain data and
numpy scalars / arrays are built, nothing in the file can run code. The whole file is checked before anything is
written; then its rows replace any earlier HW-NAS-Bench load in one transaction (:mod:`.joined`). Keys the tables do
not hold are listed in the report and in the provenance row's ``details`` (``not_kept``).
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CorruptInput
from ..limits import MAX_MEMBER_BYTES, as_float, check_nesting, short_repr
from ..models import HW_NB201_METRICS, HwFbnetLookup, HwNb201Metric
from ..spaces import nb201 as nb201_space
from . import joined
from .pickle_stream import (NUMPY_ARRAY_GLOBALS, SAFE_GLOBALS, NumpyArray, PickleDataError, StreamUnpickler,
                            UnsupportedPickle)

CONVERTER = "hw-nasbench-pickle"
KIND = "hw-nasbench"
WHAT = "HW-NAS-Bench pickle (HW-NAS-Bench-v1_0.pickle)"
NB201_KEY = "nasbench201"
FBNET_KEY = "fbnet"
CONFIG_KEY = "config"
#: the file's dataset names -> NNI's
DATASET_NAMES = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16-120"}
_METRIC_COLUMNS = tuple(HW_NB201_METRICS)
_JSON_SCALARS = (str, int, float, bool, type(None))


@dataclass
class HwReport:
    path: str
    database: str = ""
    sha256: str = ""
    datasets: dict = field(default_factory=dict)  # file dataset -> archs
    metrics: list = field(default_factory=list)
    nb201_rows: int = 0
    fbnet_tables: dict = field(default_factory=dict)  # metric -> entries
    not_kept: list = field(default_factory=list)
    replaced: int = 0

    def summary(self) -> str:
        parts = [f"loaded {Path(self.path).name} into {self.database}: {self.nb201_rows:,} NB-201 rows"]
        if self.datasets:
            parts[0] += (f" ({', '.join(f'{d}: {n:,} archs' for d, n in self.datasets.items())}; "
                         f"{len(self.metrics)} metrics)")
        if self.fbnet_tables:
            parts.append(f"FBNet lookup tables: {len(self.fbnet_tables)} metrics x "
                         f"{max(self.fbnet_tables.values()):,} entries")
        if self.replaced:
            parts.append(f"replaced an earlier HW-NAS-Bench load ({self.replaced:,} rows)")
        if self.not_kept:
            parts.append("not kept: " + ", ".join(self.not_kept))
        return "; ".join(parts)


def _container_kind(value) -> str | None:
    if isinstance(value, NumpyArray):
        return "ndarray"
    if isinstance(value, list):
        return "list"
    if isinstance(value, tuple):
        return "tuple"
    if isinstance(value, dict):
        return "dict"
    return None


def _items(path, container, where: str):
    """``(index, value)`` pairs of a per-architecture container (sequence in index order, or dict by index)."""
    kind = _container_kind(container)
    if kind is None:
        raise CorruptInput(path, f"{where}: expected a list or array with one value per architecture, got "
                                 f"{type(container).__name__}")
    if isinstance(container, NumpyArray) and len(container.shape) != 1:
        raise CorruptInput(path, f"{where}: expected a 1-D array, got shape {container.shape}")
    if kind == "dict":
        pairs = list(container.items())
        for index, _ in pairs:
            if isinstance(index, bool) or not isinstance(index, int):
                raise CorruptInput(path, f"{where}: architecture keys must be NB-201 indices, got {short_repr(index)}")
    else:
        pairs = list(enumerate(container))
    if len(pairs) > nb201_space.NUM_ARCHS:
        raise CorruptInput(path, f"{where}: {len(pairs):,} values, more than the {nb201_space.NUM_ARCHS:,} NB-201 "
                                 "architectures")
    for index, _ in pairs:
        if not 0 <= index < nb201_space.NUM_ARCHS:
            raise CorruptInput(path, f"{where}: architecture index {index} outside 0..{nb201_space.NUM_ARCHS - 1}")
    return kind, pairs


def _number(path, value, where: str):
    """The file's value as a float (as the API's ``float(...)``); None for NaN, which SQL cannot hold."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CorruptInput(path, f"{where}: expected a number, got {type(value).__name__} {short_repr(value)}")
    try:
        value = as_float(value, where, allow_inf=True)  # an int too large for a double is refused
    except ValueError as exc:
        raise CorruptInput(path, str(exc)) from None
    return None if math.isnan(value) else value


def _config_json(path, config, index: int, where: str) -> str:
    if not isinstance(config, dict):
        raise CorruptInput(path, f"{where}: expected a config dict, got {type(config).__name__}")
    for key, value in config.items():
        if not isinstance(key, str) or not isinstance(value, _JSON_SCALARS):
            raise CorruptInput(path, f"{where}: config entry {short_repr(key)} is not a plain name and value")
    arch_str = config.get("arch_str")
    if arch_str is not None and arch_str != nb201_space.arch_str(index):
        raise CorruptInput(path, f"{where}: arch_str {short_repr(arch_str)} is not NB-201 architecture {index} "
                                 f"({nb201_space.arch_str(index)}): the file is not in NB-201's index order")
    try:
        return json.dumps(config, allow_nan=False, separators=(",", ":"))
    except ValueError:  # NaN or an infinity: JSON (and the API's configs) have none
        raise CorruptInput(path, f"{where}: a config value is NaN or infinite") from None


def read_pickle(path, data: bytes):
    """The file's top-level object, read by the restricted reader (plain data, numpy scalars and arrays only)."""
    reader = StreamUnpickler(io.BytesIO(data).read, globals_map={**SAFE_GLOBALS, **NUMPY_ARRAY_GLOBALS})
    try:
        for _ in reader.load():
            pass
    except (UnsupportedPickle, PickleDataError) as exc:
        raise CorruptInput(path, f"not an HW-NAS-Bench pickle: {exc.reason}", offset=exc.offset) from None
    except EOFError:
        raise CorruptInput(path, "no pickle data") from None
    check_nesting(reader.result, path)
    return reader.result


def parse(path, data: bytes):
    """Check the whole file; returns ``(nb201 rows, fbnet rows, details, report)`` (source ids left as None)."""
    report = HwReport(path=str(path))
    root = read_pickle(path, data)
    if not isinstance(root, dict) or not ({NB201_KEY, FBNET_KEY} & set(root)):
        found = sorted(map(str, root)) if isinstance(root, dict) else type(root).__name__
        raise CorruptInput(path, f"not an HW-NAS-Bench pickle: expected a dict with '{NB201_KEY}' and '{FBNET_KEY}', "
                                 f"found {found}")
    details: dict = {NB201_KEY: {}, FBNET_KEY: {}, "not_kept": []}
    report.not_kept = details["not_kept"]
    for key in root:
        if key not in (NB201_KEY, FBNET_KEY):
            report.not_kept.append(f"top-level {short_repr(key)}")
    rows = {}
    space = root.get(NB201_KEY, {})
    if not isinstance(space, dict):
        raise CorruptInput(path, f"'{NB201_KEY}' must be a dict of datasets, got {type(space).__name__}")
    for file_dataset, entries in space.items():
        where = f"{NB201_KEY}[{short_repr(file_dataset)}]"
        if not isinstance(file_dataset, str) or not isinstance(entries, dict):
            raise CorruptInput(path, f"{where}: expected a dataset name and a dict of metrics")
        dataset = DATASET_NAMES.get(file_dataset, file_dataset.lower())
        info = {"dataset": dataset, "metrics": [], "containers": {}, "lengths": {}}
        details[NB201_KEY][file_dataset] = info
        archs = set()
        for metric, container in entries.items():
            if metric != CONFIG_KEY and metric not in HW_NB201_METRICS:
                report.not_kept.append(f"{where}[{short_repr(metric)}]")
                continue
            kind, pairs = _items(path, container, f"{where}[{short_repr(metric)}]")
            info["containers"][metric] = kind
            info["lengths"][metric] = len(pairs)
            if metric != CONFIG_KEY:
                info["metrics"].append(metric)
                if metric not in report.metrics:
                    report.metrics.append(metric)
            column = _METRIC_COLUMNS.index(metric) if metric != CONFIG_KEY else len(_METRIC_COLUMNS)
            for index, value in pairs:
                row = rows.get((index, dataset))
                if row is None:
                    row = rows[(index, dataset)] = [None] * (len(_METRIC_COLUMNS) + 1) + [file_dataset]
                if metric == CONFIG_KEY:
                    row[column] = _config_json(path, value, index, f"{where}['config'][{index}]")
                else:
                    row[column] = _number(path, value, f"{where}[{short_repr(metric)}][{index}]")
                archs.add(index)
        report.datasets[file_dataset] = len(archs)
    nb201_rows = [(index, dataset, row[-1], *row[:-1], None) for (index, dataset), row in sorted(rows.items())]
    report.nb201_rows = len(nb201_rows)
    fbnet_rows = []
    tables = root.get(FBNET_KEY, {})
    if not isinstance(tables, dict):
        raise CorruptInput(path, f"'{FBNET_KEY}' must be a dict of lookup tables, got {type(tables).__name__}")
    for metric, table in tables.items():
        where = f"{FBNET_KEY}[{short_repr(metric)}]"
        if not isinstance(metric, str) or not isinstance(table, dict):
            report.not_kept.append(where)
            continue
        for position, (op_key, value) in enumerate(table.items()):
            if not isinstance(op_key, str):
                raise CorruptInput(path, f"{where}: layer keys must be strings, got {short_repr(op_key)}")
            fbnet_rows.append((metric, position, op_key, _number(path, value, f"{where}[{short_repr(op_key)}]"), None))
        report.fbnet_tables[metric] = len(table)
        details[FBNET_KEY][metric] = len(table)
    if not nb201_rows and not fbnet_rows:
        raise CorruptInput(path, "the HW-NAS-Bench pickle holds no metrics")
    return nb201_rows, fbnet_rows, details, report


NB201_COLUMNS = ("arch_index", "dataset", "file_dataset", *_METRIC_COLUMNS, "config", "source_id")
FBNET_COLUMNS = ("metric", "position", "op_key", "value", "source_id")


def convert_hw_nasbench(path, db_dir=None) -> HwReport:
    """Load ``HW-NAS-Bench-v1_0.pickle`` into the NB-201 database (see the module docstring)."""
    path = Path(path)
    data, sha256 = joined.read_input(path, MAX_MEMBER_BYTES, WHAT)
    nb201_rows, fbnet_rows, details, report = parse(path, data)
    del data
    report.sha256 = sha256
    conn, where = joined.connect("nb201", db_dir)
    report.database = str(where)
    tables = (HwNb201Metric._meta.table_name, HwFbnetLookup._meta.table_name)
    try:
        with joined.transaction(conn):
            for table in tables:
                report.replaced += conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                conn.execute(f"DELETE FROM {table} WHERE 1 = 1")
            joined.drop_unused_sources(conn, "nb201", KIND, tables)
            counts = {tables[0]: len(nb201_rows), tables[1]: len(fbnet_rows)}
            source_id = joined.add_source(conn, "nb201", KIND, path, CONVERTER, sha256, path.stat().st_size, counts,
                                          details)
            joined.insert_many(conn, tables[0], NB201_COLUMNS, (row[:-1] + (source_id,) for row in nb201_rows))
            joined.insert_many(conn, tables[1], FBNET_COLUMNS, (row[:-1] + (source_id,) for row in fbnet_rows))
    finally:
        joined.release(conn)
    return report
