"""HW-NAS-Bench's ``HWNASBenchAPI``, answered from the database: change one import.

>>> # from hw_nas_bench_api import HWNASBenchAPI as HWAPI
>>> from nasbench_db.compat.hw_nas_bench import HWNASBenchAPI as HWAPI
>>> hw_api = HWAPI("HW-NAS-Bench-v1_0.pickle", search_space="nasbench201")
>>> hw_api.query_by_index(0, "cifar10")["edgegpu_latency"]
5.807418537139893

The pickle named on construction is converted into the NB-201 database on first use (``nasbench-db convert
hw-nasbench``, read by the restricted pickle reader: nothing in it runs); later constructions find it there by its
sha256 and read nothing but the database. ``HWNASBenchAPI()`` without a path uses what is installed.

Returned keys and units (as the original; HW-NAS-Bench's own units, never rescaled):

* ``query_by_index(arch_index, dataname)``, space ``nasbench201`` (``arch_index`` an NB-201 index, ``dataname``
  'cifar10', 'cifar100' or 'ImageNet16-120'): ``edgegpu_latency`` (ms), ``edgegpu_energy`` (mJ), ``raspi4_latency``
  (ms), ``edgetpu_latency`` (ms), ``pixel3_latency`` (ms), ``eyeriss_latency`` (ms), ``eyeriss_energy`` (mJ),
  ``eyeriss_arithmetic_intensity`` (no unit stated), ``fpga_latency`` (ms), ``fpga_energy`` (mJ) and
  ``average_hw_metric``: the product of all but the intensity, multiplied in that order;
* space ``fbnet`` (``arch_index`` a list of 22 op indices, ``dataname`` 'cifar100' or 'ImageNet'): the same keys
  without ``edgetpu_latency`` and the intensity, each the sum of the network's layers in the lookup table, added in
  the original's order from 0.0 (:func:`nasbench_db.spaces.fbnet.layer_keys`);
* ``get_net_config``: nasbench201: the file's config dict (``name``, ``C``, ``N``, ``arch_str``, ``num_classes``);
  fbnet: ``dataset``, ``num_classes``, ``op_idx_list`` (the list passed in), ``arch_str`` (block names);
* ``get_op_lookup_tables()`` (fbnet): ``{metric: {layer key: value}}``, the same dicts on every call;
* ``HW_metrics``: the whole original dict, rebuilt on first access (numpy arrays where the file had them).

Exceptions are the original's: ``KeyError`` for an unknown dataset or metric, the index errors of the file's
container (list or numpy array) for an index out of range, ``AssertionError`` (with the original messages) for a bad
FBNet architecture or dataset, and the ``TypeError`` the original raises for any other ``search_space`` (its error
branch calls the built-in ``format`` with three arguments).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from .. import db as _db
from ..errors import BenchmarkNotInstalled
from ..models import HW_AVERAGE_FACTORS, HW_FBNET_METRICS, HW_NB201_METRICS, HwFbnetLookup, HwNb201Metric
from ..spaces import fbnet as fbnet_space

__all__ = ["HWNASBenchAPI"]

NB201_METRICS = tuple(HW_NB201_METRICS)
_NB201_TABLE = HwNb201Metric._meta.table_name
_FBNET_TABLE = HwFbnetLookup._meta.table_name
KIND = "hw-nasbench"
INSTALL_HINT = "nasbench-db convert hw-nasbench HW-NAS-Bench-v1_0.pickle (or scripts/hw_nasbench.sh)"


def _wrong_space_error() -> TypeError:
    # The original's else-branch is print("...", format(a, b, c)): the built-in format() takes at most 2 arguments.
    return TypeError("format expected at most 2 arguments, got 3")


def _is_index(value) -> bool:
    if isinstance(value, int):
        return True
    try:
        import numpy

        return isinstance(value, numpy.integer)
    except ImportError:  # pragma: no cover - numpy is a dependency
        return False


def _position(kind: str, length: int, arch_index):
    """The position ``container[arch_index]`` reads in a container of the file's kind, or its exception."""
    if kind == "dict":
        return arch_index
    if not _is_index(arch_index):
        if kind == "ndarray":
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer or "
                             "boolean arrays are valid indices")
        raise TypeError(f"{kind} indices must be integers or slices, not {type(arch_index).__name__}")
    index = int(arch_index)
    position = index + length if index < 0 else index
    if not 0 <= position < length:
        if kind == "ndarray":
            raise IndexError(f"index {index} is out of bounds for axis 0 with size {length}")
        raise IndexError(f"{kind} index out of range")
    return position


class HWNASBenchAPI:
    """HW-NAS-Bench's API over the database (see the module docstring)."""

    def __init__(self, file_path_or_dict=None, search_space="nasbench201", db_dir=None):
        self.search_space = search_space
        self._db_dir = db_dir
        self._hw_metrics = None
        self._tables = None
        if file_path_or_dict is not None:
            if not isinstance(file_path_or_dict, (str, bytes, os.PathLike)):
                raise TypeError(f"expected str, bytes or os.PathLike object, not {type(file_path_or_dict).__name__}")
            self._install(Path(os.fsdecode(file_path_or_dict)))
        self._details = self._load_details()

    # -- the database ------------------------------------------------------------------------------------------------
    def _database(self):
        return _db.open_benchmark("nb201", self._db_dir).database

    def _sources(self) -> list:
        try:
            database = self._database()
        except BenchmarkNotInstalled:
            return []
        if "nasbench_source" not in _db.table_names(database):
            return []
        return _db.fetchall(database, "SELECT file_name, sha256, details FROM nasbench_source WHERE kind = ? "
                                      "ORDER BY id DESC", (KIND,))

    def _install(self, path: Path) -> None:
        """Convert the pickle unless the database already holds it (matched by sha256, read once)."""
        from ..checksums import known_or_hashed_sha256

        sources = self._sources()
        if not path.is_file():
            if any(name == path.name for name, _, _ in sources):
                return  # converted earlier; the original file is gone but its data is here
            open(path, "rb").close()  # the original's exception: FileNotFoundError / IsADirectoryError
        digest = known_or_hashed_sha256(path)
        if any(sha == digest for _, sha, _ in sources):
            return
        from ..convert.hw_nasbench import convert_hw_nasbench

        convert_hw_nasbench(path, self._db_dir)

    def _load_details(self) -> dict:
        sources = self._sources()
        if not sources:
            where = _db.benchmark_dir(self._db_dir) if not _db.database_url() or self._db_dir else "the server"
            raise BenchmarkNotInstalled(f"HW-NAS-Bench is not installed in {where}: {INSTALL_HINT}, or pass the "
                                        "pickle's path to HWNASBenchAPI")
        return json.loads(sources[0][2] or "{}")

    def _dataset(self, dataname) -> dict:
        return self._details.get("nasbench201", {})[dataname]

    def _nb201_row(self, dataname, arch_index, wanted: str):
        """The stored row of ``(arch_index, dataname)`` for ``wanted`` ('metrics' or 'config'), with the original's
        exceptions for a missing dataset, metric or index."""
        info = self._dataset(dataname)  # KeyError(dataname)
        if wanted == "config":
            if "config" not in info["containers"]:
                raise KeyError("config")
            kinds = [("config", info["containers"]["config"], info["lengths"]["config"])]
        else:
            kinds = []
            for metric in NB201_METRICS:
                if metric not in info["containers"]:
                    break
                kinds.append((metric, info["containers"][metric], info["lengths"][metric]))
        for _, kind, length in kinds:
            position = _position(kind, length, arch_index)
        if wanted != "config" and len(kinds) < len(NB201_METRICS):
            raise KeyError(NB201_METRICS[len(kinds)])
        columns = "config" if wanted == "config" else ", ".join(NB201_METRICS)
        rows = _db.fetchall(self._database(), f"SELECT {columns} FROM {_NB201_TABLE} WHERE arch_index = ? AND "
                                              "dataset = ?", (position, info["dataset"]))
        if not rows:
            raise KeyError(arch_index)
        return rows[0]

    def _lookup_tables(self) -> dict:
        if self._tables is None:
            if not self._details.get("fbnet"):
                raise KeyError("fbnet")
            tables: dict = {}
            for metric, key, value in _db.fetchall(self._database(), f"SELECT metric, op_key, value FROM "
                                                                     f"{_FBNET_TABLE} ORDER BY metric, position"):
                tables.setdefault(metric, {})[key] = math.nan if value is None else value
            self._tables = {metric: tables.get(metric, {}) for metric in self._details["fbnet"]}
        return self._tables

    # -- the original API --------------------------------------------------------------------------------------------
    def query_by_index(self, arch_index, dataname):
        if self.search_space == "nasbench201":
            row = self._nb201_row(dataname, arch_index, "metrics")
            results = {metric: math.nan if value is None else float(value) for metric, value in zip(NB201_METRICS, row)}
            results["average_hw_metric"] = _product(results, HW_AVERAGE_FACTORS)
            return results
        elif self.search_space == "fbnet":
            tables = self._lookup_tables()
            results = {}
            for metric in HW_FBNET_METRICS:
                results[metric] = _fbnet_metric(arch_index, dataname, tables[metric])
            results["average_hw_metric"] = _product(results, HW_FBNET_METRICS)
            return results
        raise _wrong_space_error()

    def get_net_config(self, arch_index, dataname):
        if self.search_space == "nasbench201":
            return json.loads(self._nb201_row(dataname, arch_index, "config")[0])
        elif self.search_space == "fbnet":
            # plain asserts, as the original (skipped under python -O there too)
            assert dataname in ["cifar100", "ImageNet"], (
                "Only {} and {} are allowed to be datasets in FBNet space, while receive {}".format(
                    "cifar100", "ImageNet", dataname))
            num_classes = fbnet_space.DATASETS[dataname].num_classes
            arch_str = [list(fbnet_space.OPS)[v] for v in arch_index]
            return {"dataset": dataname, "num_classes": num_classes, "op_idx_list": arch_index, "arch_str": arch_str}
        raise _wrong_space_error()

    def get_op_lookup_tables(self):
        if self.search_space == "fbnet":
            tables = self._lookup_tables()
            return {metric: tables[metric] for metric in HW_FBNET_METRICS}
        raise _wrong_space_error()

    @property
    def HW_metrics(self) -> dict:  # noqa: N802 - the original attribute name
        """The original's whole dict, rebuilt from the database on first access."""
        if self._hw_metrics is None:
            self._hw_metrics = self._rebuild()
        return self._hw_metrics

    def _rebuild(self) -> dict:
        import numpy

        out: dict = {}
        database = self._database()
        for file_dataset, info in self._details.get("nasbench201", {}).items():
            columns = [m for m in info["containers"] if m != "config"]
            select = ", ".join(["arch_index"] + columns + ["config"])
            rows = _db.fetchall(database, f"SELECT {select} FROM {_NB201_TABLE} WHERE dataset = ? ORDER BY arch_index",
                                (info["dataset"],))
            entries: dict = {}
            for name, kind in info["containers"].items():
                at = len(columns) + 1 if name == "config" else columns.index(name) + 1
                values = {row[0]: _value(row[at], name) for row in rows}
                if kind == "dict":
                    entries[name] = values
                elif kind == "ndarray":
                    ordered = [values.get(i) for i in range(info["lengths"][name])]
                    entries[name] = (numpy.array(ordered, dtype=object) if name == "config" else
                                     numpy.array(ordered, dtype=numpy.float64))
                else:
                    ordered = [values.get(i) for i in range(info["lengths"][name])]
                    entries[name] = tuple(ordered) if kind == "tuple" else ordered
            out[file_dataset] = entries
        result = {"nasbench201": out}
        if self._details.get("fbnet"):
            result["fbnet"] = dict(self._lookup_tables())
        return result


def _value(value, name: str):
    if name == "config":
        return None if value is None else json.loads(value)
    return math.nan if value is None else float(value)


def _product(results: dict, names) -> float:
    names = list(names)
    total = results[names[0]]
    for name in names[1:]:
        total = total * results[name]
    return total


def _fbnet_metric(arch_index, dataname, lookup_table) -> float:
    """One FBNet metric: the original's checks (plain asserts, messages verbatim), then the layers' sum from 0.0."""
    assert type(arch_index) == list, (  # noqa: E721 - the original compares types exactly
        "The type of arch_index should be a list in FBNet space, while receive {}".format(type(arch_index)))
    assert len(arch_index) == 22, (
        "The length of arch_index should be 22 in FBNet space, while receive {}".format(len(arch_index)))
    assert dataname in ["cifar100", "ImageNet"], (
        "Only {} and {} are allowed to be datasets in FBNet space, while receive {}".format(
            "cifar100", "ImageNet", dataname))
    metric = 0.0
    for key in fbnet_space.layer_keys(arch_index, dataname):
        metric += lookup_table[key]
    return metric
