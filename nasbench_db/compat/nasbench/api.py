"""google-research/nasbench's ``nasbench.api``, answered from the nasbench_db database.

Change one import and nothing else::

    # from nasbench import api
    from nasbench_db.compat.nasbench import api

    nasbench = api.NASBench('nasbench_full.tfrecord')   # converted once into NASBENCHMARK_DIR, then opened in ms
    nasbench = api.NASBench(None)                       # the installed database (NASBENCHMARK_DIR / _DB_URL)
    spec = api.ModelSpec(matrix=[[0, 1, 1], [0, 0, 1], [0, 0, 0]], ops=['input', 'conv3x3-bn-relu', 'output'])
    data = nasbench.query(spec)

No TensorFlow. Every method and attribute of the original ``NASBench`` and ``ModelSpec`` is here, with the same
arguments, return values (keys, types, units, bit-for-bit values), exceptions and random draws: ``NASBench(file,
seed)`` seeds the global ``random`` module and ``query`` draws its repeat with ``random.randint`` exactly as the
original, so a seeded search follows the same trajectory.

``query(spec, epochs=108, stop_halfway=False)`` returns one sampled training run:

======================== ============= ===============================================================================
key                      type          meaning (unit)
======================== ============= ===============================================================================
``module_adjacency``     numpy int8    the stored V x V adjacency matrix (the canonical member of the cell's
                                       isomorphism class, as in the file)
``module_operations``    list of str   its V ops, ``'input'`` ... ``'output'``
``trainable_parameters`` int           exact number of trainable parameters
``training_time``        float         seconds of training (TPU v2) up to the halfway or final evaluation
``train_accuracy``       float         fraction in [0, 1] on 9,984 training images
``validation_accuracy``  float         fraction in [0, 1] on 9,984 validation images
``test_accuracy``        float         fraction in [0, 1] on 9,984 test images
======================== ============= ===============================================================================

``get_metrics_from_hash(h)`` / ``get_metrics_from_spec(spec)`` return ``(fixed_stats, computed_stats)``:
``fixed_stats`` has the first three keys above; ``computed_stats[epochs]`` is the list of that budget's runs in file
order, each with ``halfway_`` and ``final_`` + ``training_time`` (seconds), ``train_accuracy``,
``validation_accuracy``, ``test_accuracy`` (fractions). ``fixed_statistics`` and ``computed_statistics`` are
read-only mappings (hash -> those dicts) read from SQL on demand, so opening costs milliseconds and megabytes
instead of minutes and gigabytes; each lookup returns fresh objects.

Differences from the original (docs/compat.md): ``evaluate()`` raises :class:`EvaluateNotSupported` (train with
``nasbench-db train nb101``); a pruned cell of more than 7 vertices raises an error that is both an
:class:`OutOfDomainError` and the ``TypeError`` the original raised by accident; the statistics mappings cannot be
assigned to. Nothing is printed while opening (the original prints its load time).
"""

from __future__ import annotations

import copy
import operator
import random
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ... import db as _db
from ...errors import InvalidArgument, MissingDependency, NasbenchDbError
from ...models import NB101_CONFIG_ID_FACTOR, NB101_RUN_ROW, NB101_TRIAL_ID_FACTOR
from ...query import _common as _query_common
from ...query import nb101 as _query_nb101
from ...query._common import check_source, check_source_exists, source_filter
from ...query.nb101 import DATASET_EXPR, RELEASED_DATASET, check_dataset
from ...spaces import nb101 as _space
from .._install import ensure_installed

__all__ = ["NASBench", "ModelSpec", "OutOfDomainError", "EvaluateNotSupported", "is_upper_triangular"]

BENCHMARK = "nb101"
#: The original ``config.build_config()`` (the flag defaults of ``nasbench/lib/config.py``), in its order.
_CONFIG = (
    ("train_data_files", []), ("valid_data_file", ""), ("test_data_file", ""), ("sample_data_file", ""),
    ("data_format", "channels_last"), ("num_labels", 10), ("module_vertices", _space.MAX_VERTICES),
    ("max_edges", _space.MAX_EDGES), ("available_ops", list(_space.OPS)), ("stem_filter_size", 128),
    ("num_stacks", 3), ("num_modules_per_stack", 3), ("batch_size", 256), ("train_epochs", 108),
    ("train_seconds", 4.0 * 60 * 60), ("learning_rate", 0.1), ("lr_decay_method", "COSINE_BY_STEP"),
    ("momentum", 0.9), ("weight_decay", 1e-4), ("max_attempts", 5), ("intermediate_evaluations", ["0.5"]),
    ("num_repeats", 3), ("use_tpu", True), ("tpu_iterations_per_loop", 100), ("tpu_num_shards", 2),
)
#: Keys of one run in ``computed_stats[epochs]``, in the original's order.
RUN_KEYS = ("halfway_training_time", "halfway_train_accuracy", "halfway_validation_accuracy",
            "halfway_test_accuracy", "final_training_time", "final_train_accuracy", "final_validation_accuracy",
            "final_test_accuracy")
_CACHE_CELLS = 16384
_PAGE = 10000


def build_config() -> dict:
    """A fresh copy of the original's ``config.build_config()``."""
    return {name: copy.deepcopy(value) for name, value in _CONFIG}


class OutOfDomainError(Exception):
    """The requested graph is outside of the search domain (the original's exception)."""


class _TooManyVertices(OutOfDomainError, TypeError):
    """A pruned cell with too many vertices. The original meant an OutOfDomainError but raised a TypeError (its
    message formats the ``config`` module); this is both, so either ``except`` clause keeps working."""


class EvaluateNotSupported(NasbenchDbError, NotImplementedError):
    """``NASBench.evaluate`` trains with TensorFlow on TPUs; nasbench_db trains with ``nasbench-db train nb101``."""


# ----------------------------------------------------------------------------------------------------------------------
# ModelSpec (nasbench/lib/model_spec.py)


def is_upper_triangular(matrix) -> bool:
    """True if ``matrix`` is 0 on and below the diagonal."""
    matrix = np.asarray(matrix)
    return not np.any(np.tril(matrix) != 0)


class ModelSpec:
    """Model specification given an adjacency matrix and op labels, pruned on creation (the original's class).

    ``matrix``: ndarray or nested list, V x V, upper-triangular; ``ops``: V labels (first 'input', last 'output').
    ``original_matrix`` / ``original_ops`` keep deep copies of the arguments; ``matrix`` / ``ops`` hold the cell
    with every vertex not on an input -> output path removed, or None with ``valid_spec = False`` when the output
    cannot be reached. Raises ValueError for a matrix that is not square, upper-triangular or as long as ``ops``.
    """

    def __init__(self, matrix, ops, data_format="channels_last"):
        if not isinstance(matrix, np.ndarray):
            matrix = np.array(matrix)
        shape = np.shape(matrix)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"matrix must be square: got shape {shape}")
        if shape[0] != len(ops):
            raise ValueError(f"length of ops must match matrix dimensions: got {len(ops)} ops for a "
                             f"{shape[0]} x {shape[0]} matrix")
        if not is_upper_triangular(matrix):
            raise ValueError("matrix must be upper triangular (edges go from a lower to a higher vertex)")
        self.original_matrix = copy.deepcopy(matrix)
        self.original_ops = copy.deepcopy(ops)
        self.matrix = copy.deepcopy(matrix)
        self.ops = copy.deepcopy(ops)
        self.valid_spec = True
        self._prune()
        self.data_format = data_format

    def _prune(self):
        """Delete the vertices (rows, columns, ops) not on an input -> output path; invalid when none is left."""
        num_vertices = np.shape(self.original_matrix)[0]
        keep = _space.kept_vertices(self.original_matrix)
        if keep is None:
            self.matrix = None
            self.ops = None
            self.valid_spec = False
            return
        extraneous = sorted(set(range(num_vertices)) - set(keep))
        self.matrix = np.delete(self.matrix, extraneous, axis=0)
        self.matrix = np.delete(self.matrix, extraneous, axis=1)
        for index in reversed(extraneous):
            del self.ops[index]

    def hash_spec(self, canonical_ops):
        """The isomorphism-invariant graph hash of the pruned spec (``graph_util.hash_module``, byte for byte).

        ``canonical_ops``: the interior ops in label order (``config['available_ops']``). The degrees are summed
        from the matrix as the original does, so a float matrix hashes differently (and misses in ``query``).
        """
        labeling = [-1] + [canonical_ops.index(op) for op in self.ops[1:-1]] + [-2]
        matrix = np.asarray(self.matrix)
        degrees = np.sum(matrix, axis=1).tolist(), np.sum(matrix, axis=0).tolist()
        return _space.graph_hash(matrix.tolist(), labeling, degrees)

    def visualize(self):
        """A graphviz ``Digraph`` of the pruned cell (needs ``pip install graphviz``)."""
        try:
            import graphviz
        except ImportError:
            raise MissingDependency("ModelSpec.visualize needs graphviz: pip install graphviz") from None
        num_vertices = np.shape(self.matrix)[0]
        graph = graphviz.Digraph()
        graph.node(str(0), "input")
        for v in range(1, num_vertices - 1):
            graph.node(str(v), self.ops[v])
        graph.node(str(num_vertices - 1), "output")
        for src in range(num_vertices - 1):
            for dst in range(src + 1, num_vertices):
                if self.matrix[src, dst]:
                    graph.edge(str(src), str(dst))
        return graph


# ----------------------------------------------------------------------------------------------------------------------
# NASBench


#: What a cell's read takes of each run, in this order (the cell's columns, then the run's metrics as ``_load_cell``
#: reads them); ``_RUN_COLUMNS`` picks them from a row of the server's point function (models.NB101_RUN_ROW).
_RUN_COLUMN_NAMES = ("a.hash", "a.adjacency", "a.operations", "a.parameters", "c.num_epochs", "t.halfway_training_time",
                     "t.halfway_train_acc", "t.halfway_valid_acc", "t.halfway_test_acc", "t.training_time",
                     "t.train_acc", "t.valid_acc", "t.test_acc")
_RUN_COLUMNS = operator.itemgetter(*(NB101_RUN_ROW.index(name) for name in _RUN_COLUMN_NAMES))


class _Cell:
    """One cell's stored data: adjacency, ops, parameters and its runs per epoch budget (fractions, seconds)."""

    __slots__ = ("adjacency", "operations", "parameters", "runs")

    def __init__(self, adjacency, operations, parameters, runs):
        self.adjacency = adjacency  # int8 array, never handed out (copies are)
        self.operations = operations  # tuple of str
        self.parameters = parameters
        self.runs = runs  # {epochs: [8-tuple in RUN_KEYS order]}, budgets in file order

    def fixed(self) -> dict:
        return {"module_adjacency": self.adjacency.copy(), "module_operations": list(self.operations),
                "trainable_parameters": self.parameters}

    def computed(self) -> dict:
        return {epochs: [dict(zip(RUN_KEYS, run)) for run in runs] for epochs, runs in self.runs.items()}


class _Statistics(Mapping):
    """A read-only mapping hash -> statistics dict, read from the database on demand (``fixed_statistics`` or
    ``computed_statistics`` of :class:`NASBench`). Iteration follows the file's order of first appearance."""

    def __init__(self, owner: "NASBench", kind: str):
        self._owner = owner
        self._kind = kind

    def __getitem__(self, module_hash):
        cell = self._owner._cell(module_hash)
        return cell.fixed() if self._kind == "fixed" else cell.computed()

    def __contains__(self, module_hash):
        try:
            self._owner._cell(module_hash)
        except KeyError:
            return False
        return True

    def __iter__(self):
        return self._owner._iter_hashes()

    def __len__(self):
        return self._owner._num_cells()

    def __repr__(self):
        return (f"<{self._kind}_statistics: {len(self):,} NB-101 cells read on demand from "
                f"{self._owner._location()}>")


class NASBench:
    """The NAS-Bench-101 dataset API (the original's ``NASBench``), over the nasbench_db database.

    ``dataset_file``: the original ``.tfrecord`` (converted on first use into ``NASBENCHMARK_DIR`` and recognised
    afterwards by its recorded sha256), or None for the installed database (``NASBENCHMARK_DIR`` or
    ``NASBENCHMARK_DB_URL``). ``seed`` seeds the global ``random`` module, as the original does.
    Keyword-only extras: ``source`` ('original': the released runs; None: every source; or a source kind, device
    kind, device or file name, or id, as the query functions take it), ``dataset`` (the runs' dataset, 'cifar10'
    by default: the original API's; runs on other datasets are never mixed in) and ``db_dir`` (a database directory
    instead of ``NASBENCHMARK_DIR``). A cell's runs of several sources are listed in ``computed_stats`` in the
    order they were loaded (the released runs first); ``query`` draws among the first ``num_repeats`` of them.
    """

    def __init__(self, dataset_file, seed=None, *, source="original", dataset=RELEASED_DATASET, db_dir=None):
        self.config = build_config()
        random.seed(seed)
        self._source = check_source(source)
        if dataset is None:
            raise InvalidArgument("dataset must be a dataset name ('cifar10' for the released runs): the API "
                                  "lists a cell's runs per epoch budget, so runs on several datasets cannot be mixed")
        self._dataset = check_dataset(dataset, self._source)
        self._db_dir = db_dir
        if dataset_file is not None:
            ensure_installed("nb101", dataset_file, db_dir)
        handle = _db.open_benchmark(BENCHMARK, db_dir)
        if handle.location.layout == "nni":
            raise NasbenchDbError(
                f"{handle.location.target} is NNI's prebuilt file, which lacks the file order of the runs and "
                "stores times x 60: the nasbench API facade needs nasbench101.db. Build it with "
                "`nasbench-db convert nb101 nasbench_full.tfrecord` (or pass the .tfrecord to NASBench)")
        check_source_exists(handle.database, BENCHMARK, self._source)
        _query_nb101.has_forms(handle)  # looked up once now, not on the first query
        self._cells: OrderedDict = OrderedDict()
        self._hashes: dict = {}
        self._count = None
        self._every_row = None
        self.fixed_statistics = _Statistics(self, "fixed")
        self.computed_statistics = _Statistics(self, "computed")
        self.valid_epochs = self._valid_epochs()
        self.history = {}
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    # -- the original's methods ------------------------------------------------------------------------------------
    def query(self, model_spec, epochs=108, stop_halfway=False):
        """One sampled run of ``model_spec`` trained for ``epochs`` (see the module docstring for the keys).

        Draws the repeat with ``random.randint(0, config['num_repeats'] - 1)`` and charges the budget counters.
        Raises OutOfDomainError for an epoch budget not in ``valid_epochs`` or a spec outside the space, KeyError
        for a valid cell the dataset does not hold.
        """
        if epochs not in self.valid_epochs:
            raise OutOfDomainError("invalid number of epochs, must be one of %s" % self.valid_epochs)
        cell = self._spec_cell(model_spec)
        sampled_index = random.randint(0, self.config["num_repeats"] - 1)
        runs = cell.runs.get(epochs)
        if runs is None:
            raise KeyError(f"this cell has no runs at {epochs} epochs (its budgets: {sorted(cell.runs)})")
        if not -len(runs) <= sampled_index < len(runs):
            raise IndexError(f"repeat {sampled_index} drawn (config['num_repeats'] = {self.config['num_repeats']}) "
                             f"but this cell has {len(runs)} runs at {epochs} epochs")
        run = runs[sampled_index]
        offset = 0 if stop_halfway else 4
        data = {"module_adjacency": cell.adjacency.copy(), "module_operations": list(cell.operations),
                "trainable_parameters": cell.parameters, "training_time": run[offset],
                "train_accuracy": run[offset + 1], "validation_accuracy": run[offset + 2],
                "test_accuracy": run[offset + 3]}
        self.training_time_spent += data["training_time"]
        if stop_halfway:
            self.total_epochs_spent += epochs // 2
        else:
            self.total_epochs_spent += epochs
        return data

    def is_valid(self, model_spec):
        """True if the (pruned) spec is inside the search space; does not charge the budget."""
        try:
            self._check_spec(model_spec)
        except OutOfDomainError:
            return False
        return True

    def get_budget_counters(self):
        """``(training_time_spent, total_epochs_spent)``."""
        return self.training_time_spent, self.total_epochs_spent

    def reset_budget_counters(self):
        """Set both budget counters back to zero."""
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    def evaluate(self, model_spec, model_dir):
        """Not available: the original trains with TensorFlow on TPUs. Raises :class:`EvaluateNotSupported`."""
        raise EvaluateNotSupported(
            "NASBench.evaluate trains with TensorFlow on TPUs, which nasbench_db does not use. Train the cell with "
            "the NB-101 protocol in PyTorch instead: nasbench-db train nb101 --arch "
            "'{\"matrix\": [[...]], \"ops\": [...]}' --out DIR, then nasbench-db convert results DIR "
            "(see docs/training.md)")

    def hash_iterator(self):
        """Every cell hash of the dataset, in file order (a keys view, as the original's)."""
        return self.fixed_statistics.keys()

    def get_metrics_from_hash(self, module_hash):
        """``(fixed_stats, computed_stats)`` of a cell hash (fresh objects); KeyError for an unknown hash."""
        cell = self._cell(module_hash)
        return cell.fixed(), cell.computed()

    def get_metrics_from_spec(self, model_spec):
        """``(fixed_stats, computed_stats)`` of a spec (checked and hashed as ``query`` does); no budget charged."""
        cell = self._spec_cell(model_spec)
        return cell.fixed(), cell.computed()

    def _check_spec(self, model_spec):
        """Raise OutOfDomainError unless the pruned spec is within the dataset's space (the original's checks)."""
        if not model_spec.valid_spec:
            raise OutOfDomainError("invalid spec, provided graph is disconnected.")
        num_vertices = len(model_spec.ops)
        num_edges = np.sum(model_spec.matrix)
        if num_vertices > self.config["module_vertices"]:
            raise _TooManyVertices("too many vertices, got %d (max vertices = %d)"
                                   % (num_vertices, self.config["module_vertices"]))
        if num_edges > self.config["max_edges"]:
            raise OutOfDomainError("too many edges, got %d (max edges = %d)" % (num_edges, self.config["max_edges"]))
        if model_spec.ops[0] != "input":
            raise OutOfDomainError("first operation should be 'input'")
        if model_spec.ops[-1] != "output":
            raise OutOfDomainError("last operation should be 'output'")
        for op in model_spec.ops[1:-1]:
            if op not in self.config["available_ops"]:
                raise OutOfDomainError("unsupported op %s (available ops = %s)" % (op, self.config["available_ops"]))

    def _hash_spec(self, model_spec):
        """The MD5 graph hash of ``model_spec`` (``hash_spec`` with ``config['available_ops']``)."""
        return model_spec.hash_spec(self.config["available_ops"])

    # -- nasbench_db ---------------------------------------------------------------------------------------------------
    def _checked_hash(self, model_spec):
        """``_check_spec`` then ``_hash_spec``, remembered per (matrix, ops, limits): a repeated cell costs a dict
        lookup instead of the checks and the hash (both are pure functions of those)."""
        key, found = self._spec_key(model_spec)
        if found is not None and model_spec.valid_spec:
            return found
        self._check_spec(model_spec)
        return self._remember(key, self._hash_spec(model_spec))

    def _spec_key(self, model_spec):
        """``(cache key, remembered hash or None)`` of a spec; ``(None, None)`` for one that cannot be a key."""
        config = self.config
        try:
            matrix = model_spec.matrix
            key = (matrix.dtype.str, matrix.shape, matrix.tobytes(), tuple(model_spec.ops),
                   config["module_vertices"], config["max_edges"], tuple(config["available_ops"]))
            return key, self._hashes.get(key)
        except (AttributeError, TypeError):
            return None, None  # an invalid spec (matrix None) or unusual types: no shortcut

    def _remember(self, key, module_hash):
        if key is not None:
            if len(self._hashes) >= _CACHE_CELLS:
                self._hashes.clear()
            self._hashes[key] = module_hash
        return module_hash

    def _spec_cell(self, model_spec) -> _Cell:
        """The stored cell of a spec, checked as ``_check_spec`` does; found by its labelled form (no hashing) when
        the database's labelled-forms table holds it, else by ``_hash_spec``. KeyError when the dataset lacks it."""
        key, found = self._spec_key(model_spec)
        if found is not None and model_spec.valid_spec:
            return self._cell(found)
        self._check_spec(model_spec)
        form = self._form_of(model_spec) if key is not None else None
        if form is not None:
            found = self._load_cell("form", form)
            if found is not None:
                self._remember(key, found[0])
                return found[1]
        return self._cell(self._remember(key, self._hash_spec(model_spec)))

    def _form_of(self, model_spec):
        """(matrix key, ops code) of a checked spec when its labelled form gives the cell ``_hash_spec`` would find
        (integer 0/1 matrix, the original ops order, at most 7 vertices), else None."""
        matrix = model_spec.matrix
        if (matrix.dtype.kind not in "iub" or not 2 <= len(matrix) <= _space.MAX_VERTICES or
                tuple(self.config["available_ops"]) != _space.OPS or (matrix.size and not 0 <= matrix.min() <= 
                matrix.max() <= 1) or not _query_nb101.has_forms(self._handle())):
            return None
        return _space.matrix_key(matrix.tolist()), _space.ops_code(model_spec.ops)

    def _database(self):
        return _db.open_benchmark(BENCHMARK, self._db_dir).database

    def _handle(self):
        return _db.open_benchmark(BENCHMARK, self._db_dir)

    def _location(self) -> str:
        handle = _db.open_benchmark(BENCHMARK, self._db_dir)
        return _db._redact(handle.location.target)

    def _source_sql(self, params: list, column: str = "t.source_id") -> str:
        return source_filter(self._source, params, column)

    def _dataset_sql(self, params: list) -> str:
        """The configs' dataset condition (with a leading AND); none for the released runs, all CIFAR-10."""
        if self._source == "original" and self._dataset == RELEASED_DATASET:
            return ""
        params.append(self._dataset)
        return f" AND {DATASET_EXPR} = ?"

    def _cell(self, module_hash) -> _Cell:
        cell = self._cells.get(module_hash)
        if cell is not None:
            self._cells.move_to_end(module_hash)
            return cell
        if not isinstance(module_hash, str):
            raise KeyError(module_hash)
        found = self._load_cell("hash", module_hash)
        if found is None:
            raise KeyError(f"{module_hash!r}: no cell with this hash in the dataset")
        return found[1]

    def _load_cell(self, how, value):
        """``(hash, cell)`` read from SQL and cached, the cell given by its 'hash' or labelled 'form'; None when the
        dataset has no run of it. One statement on SQLite; on a server one call of its point function for the released
        runs (:func:`nasbench_db.query.nb101.point_function_runs`), else the cell's id is read first, so that the runs
        are read with constant id ranges (see :mod:`nasbench_db.query.nb101`)."""
        handle = self._handle()
        database = handle.database
        if (self._source == "original" and self._dataset == RELEASED_DATASET
                and _query_nb101.has_point_function(handle)):
            # A server's point function: one round trip, a plan the server keeps (the released runs, every budget).
            rows = list(map(_RUN_COLUMNS, _query_nb101.point_function_runs(database, how, value, None) or ()))
        else:
            if not _db.is_sqlite(database):
                cell_id = (_query_nb101.form_cell_id(database, value) if how == "form"
                           else _query_nb101.hash_cell_id(database, value))
                if cell_id is None:
                    return None
                how, value = "id", cell_id
            params: list = []
            from_, where = _query_nb101.cell_where(database, how, value, params)
            sql = f"SELECT {', '.join(_RUN_COLUMN_NAMES)}{from_}WHERE {where}"
            sql += self._dataset_sql(params) + self._source_sql(params)
            if not _db.is_sqlite(database):
                sql += " ORDER BY t.id"  # SQLite's CROSS JOIN order already yields the runs in id (file) order
            rows = _query_common.execute(database, sql, params).fetchall()
        if not rows:
            return None
        module_hash, adjacency, operations, parameters = rows[0][:4]
        cell = self._cells.get(module_hash)
        if cell is not None:
            self._cells.move_to_end(module_hash)
            return module_hash, cell
        dim = int(np.sqrt(len(adjacency)))
        matrix = (np.frombuffer(adjacency.encode("ascii"), dtype=np.uint8) - 48).astype(np.int8).reshape(dim, dim)
        runs: dict = {}
        for row in rows:
            # Unset protobuf fields read as 0.0; percentages are the file's fraction x 100, exact for its float32
            # values, so / 100 gives the fraction back bit for bit.
            values = [0.0 if v is None else v for v in row[5:13]]
            runs.setdefault(row[4], []).append((
                values[0], values[1] / 100.0, values[2] / 100.0, values[3] / 100.0,
                values[4], values[5] / 100.0, values[6] / 100.0, values[7] / 100.0))
        cell = _Cell(matrix, tuple(operations.split(",")), int(parameters), runs)
        if len(self._cells) >= _CACHE_CELLS:
            self._cells.popitem(last=False)
        self._cells[module_hash] = cell
        return module_hash, cell

    def _only_original(self) -> bool:
        """True when the source and dataset filters select every row: the database holds the released runs only
        (all CIFAR-10) and they are selected."""
        if self._every_row is None:
            if self._source not in ("original", None) or self._dataset != RELEASED_DATASET:
                self._every_row = False
            else:
                rows = _db.fetchall(self._database(), "SELECT COUNT(*) FROM nasbench_source WHERE kind <> "
                                                      "'original' AND benchmark = ?", (BENCHMARK,))
                self._every_row = rows[0][0] == 0
        return self._every_row

    def _has_runs_sql(self, params: list) -> str:
        if self._only_original():
            return ""
        return (f" AND EXISTS (SELECT 1 FROM nb101_config c CROSS JOIN nb101_trial t WHERE c.id BETWEEN "
                f"a.id * {NB101_CONFIG_ID_FACTOR} AND a.id * {NB101_CONFIG_ID_FACTOR} + {NB101_CONFIG_ID_FACTOR - 1}"
                f"{self._dataset_sql(params)} AND t.id BETWEEN c.id * {NB101_TRIAL_ID_FACTOR} AND c.id * "
                f"{NB101_TRIAL_ID_FACTOR} + {NB101_TRIAL_ID_FACTOR - 1}{self._source_sql(params)})")

    def _iter_hashes(self):
        last = -1
        while True:
            params: list = [last]
            sql = "SELECT a.id, a.hash FROM nb101_arch a WHERE a.id > ?" + self._has_runs_sql(params)
            rows = _db.fetchall(self._database(), sql + f" ORDER BY a.id LIMIT {_PAGE}", params)
            for _, module_hash in rows:
                yield module_hash
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def _num_cells(self) -> int:
        if self._count is None:
            params: list = []
            sql = "SELECT COUNT(*) FROM nb101_arch a WHERE 1 = 1" + self._has_runs_sql(params)
            self._count = _db.fetchall(self._database(), sql, params)[0][0]
        return self._count

    def _valid_epochs(self) -> set:
        database = self._database()
        if self._source == "original" and self._dataset == RELEASED_DATASET and \
                "nasbench_source" in _db.table_names(database):
            import json

            epochs: set = set()
            rows = _db.fetchall(database, "SELECT details FROM nasbench_source WHERE kind = 'original' AND "
                                          "benchmark = ?", (BENCHMARK,))
            try:
                for (details,) in rows:
                    epochs.update(json.loads(details)["epochs"])
                if rows:
                    return epochs
            except (TypeError, ValueError, KeyError):
                pass  # no recorded epochs: read them below
        params: list = []
        sql = (f"SELECT DISTINCT c.num_epochs FROM nb101_config c WHERE 1 = 1{self._dataset_sql(params)} AND EXISTS "
               f"(SELECT 1 FROM nb101_trial t WHERE t.id BETWEEN c.id * {NB101_TRIAL_ID_FACTOR} AND c.id * "
               f"{NB101_TRIAL_ID_FACTOR} + {NB101_TRIAL_ID_FACTOR - 1}{self._source_sql(params)})")
        return {row[0] for row in _db.fetchall(database, sql, params)}

    def __repr__(self):
        return f"NASBench({len(self.valid_epochs)} epoch budgets {sorted(self.valid_epochs)}, {self._location()})"
