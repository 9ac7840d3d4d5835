"""NAS-Bench-101 as a simulated search problem: :class:`NB101Simulator` and its fast genotype machinery.

Genotypes
---------
The built-in searches work on bit-packed *genotypes*: unpruned upper-triangular cells of ``num_vertices`` vertices
(7, as in the NB-101 paper's searches), packed in one int by :class:`Genotypes`: bit ``k`` is the k-th edge gene of
:func:`nasbench_db.spaces.nb101.edge_positions` (row-major upper triangle), then 2 bits per interior vertex hold its
op (index into :data:`~nasbench_db.spaces.nb101.OPS`). Mutation, sampling and neighbourhoods on codes follow the
semantics of :func:`~nasbench_db.spaces.nb101.mutate`, :func:`~nasbench_db.spaces.nb101.random_cell` and
:func:`~nasbench_db.spaces.nb101.neighbours`; only the speed differs.

Lookups without hashing
-----------------------
Hashing a cell (``graph_util.hash_module``: ~60 MD5s) costs ~150 us in Python, too slow for 100 rollouts of
thousands of queries. Instead the simulator lists, once and vectorised with numpy, every *labelled form* of every
installed cell: each relabelling of interior vertices that keeps the matrix upper-triangular
(:func:`~nasbench_db.spaces.nb101.isomorphic_forms`; 1,293,208 forms for the 423,624 cells of the full space,
exactly the labelled graphs of the original enumeration). The pruned form of any valid genotype is one of them, so
a lookup is: prune with bit operations, pack, one dict access. A valid cell absent from the table is not installed
(partial databases).
"""

from __future__ import annotations

import itertools
import math
import random
from array import array

from .. import db as _db
from ..errors import InvalidArgument, OutOfSearchSpace
from ..query._common import check_int, check_source, placeholders
from ..spaces import nb101 as space
from .base import Simulator

#: Sampling methods of :meth:`NB101Simulator.random_genotype`.
SAMPLINGS = ("rejection", "uniform")
#: Metric fields of a loaded run, in the order of :data:`_RUN_SQL`'s columns after ``t.id``.
RUN_FIELDS = ("valid_acc", "train_acc", "test_acc", "training_time", "halfway_valid_acc", "halfway_train_acc",
              "halfway_test_acc", "halfway_training_time")
#: Draws before rejection sampling gives up (a partial database); on the full space about 3 in 4 draws are valid.
REJECTION_DRAWS = 100_000
_CONFIG_BITS = 14  # trial id >> 14 = arch id (config id = arch id * 16 + slot, trial id = config id * 1024 + repeat)


def _pair_bit(n: int, a: int, b: int) -> int:
    """Bit of edge a -> b (a < b) in the row-major upper triangle of an n-vertex matrix."""
    return a * n - a * (a + 1) // 2 + (b - a - 1)


def form_key(matrix, ops) -> int:
    """Pack an upper-triangular labelled cell (pruned, ops valid) into the int used by the form table.

    ``V | edge bits << 3 | op codes << (3 + V(V-1)/2)``; edge bits row-major, 2 bits per interior op.
    """
    n = len(matrix)
    bits = 0
    for a in range(n):
        row = matrix[a]
        for b in range(a + 1, n):
            if row[b]:
                bits |= 1 << _pair_bit(n, a, b)
    codes = 0
    for k, op in enumerate(ops[1:-1]):
        codes |= space.OPS.index(op) << (2 * k)
    return n | bits << 3 | codes << (3 + n * (n - 1) // 2)


class Genotypes:
    """Int codes of unpruned NB-101 cells with ``num_vertices`` vertices (layout in the module docstring)."""

    def __init__(self, num_vertices: int = space.MAX_VERTICES):
        if not 2 <= num_vertices <= space.MAX_VERTICES:
            raise InvalidArgument(f"num_vertices must be 2..{space.MAX_VERTICES}: got {num_vertices}")
        size = num_vertices
        self.num_vertices = size
        self.positions = space.edge_positions(size)
        self.num_edge_genes = len(self.positions)
        self.num_op_genes = size - 2
        self.num_genes = self.num_edge_genes + self.num_op_genes
        self.edge_mask = (1 << self.num_edge_genes) - 1
        # Row i's edge genes are contiguous (row-major): (offset, mask, first target vertex).
        self._rows = []
        offset = 0
        for i in range(size - 1):
            width = size - 1 - i
            self._rows.append((offset, (1 << width) - 1, i + 1))
            offset += width
        self._op_shift = [self.num_edge_genes + 2 * k for k in range(self.num_op_genes)]
        # Every op assignment (base-3 number r) packed as 2-bit fields, for uniform op sampling in one randrange.
        self._op_fields = []
        for r in range(3 ** self.num_op_genes):
            field = 0
            for k in range(self.num_op_genes):
                field |= (r // 3 ** k % 3) << self._op_shift[k]
            self._op_fields.append(field)
        self._kept = [tuple(v for v in range(size) if mask >> v & 1) for mask in range(1 << size)]
        self._pair_bits = {n: [[_pair_bit(n, a, b) if b > a else -1 for b in range(n)] for a in range(n)]
                           for n in range(2, size + 1)}

    # ------------------------------------------------------------------------------------------------ encoding

    def encode(self, matrix, ops) -> int:
        """Code of a cell given as ``(matrix, ops)``; a smaller cell is padded (:func:`space.pad`) first."""
        matrix, ops = space.check_matrix(matrix, ops)
        if len(matrix) != self.num_vertices:
            matrix, ops = space.pad(matrix, ops, self.num_vertices)
        code = 0
        for k, (i, j) in enumerate(self.positions):
            if matrix[i][j]:
                code |= 1 << k
        for k, op in enumerate(ops[1:-1]):
            if op not in space.OPS:
                raise OutOfSearchSpace(f"unsupported op {op!r} at vertex {k + 1} "
                                       f"(available ops: {', '.join(space.OPS)})")
            code |= space.OPS.index(op) << self._op_shift[k]
        if ops[0] != space.INPUT or ops[-1] != space.OUTPUT:
            raise OutOfSearchSpace(f"ops must start with {space.INPUT!r} and end with {space.OUTPUT!r}: got {ops}")
        return code

    def decode(self, code: int) -> tuple:
        """``(matrix, ops)`` of a code (unpruned, ``num_vertices`` vertices)."""
        size = self.num_vertices
        rows = [[0] * size for _ in range(size)]
        for k, (i, j) in enumerate(self.positions):
            if code >> k & 1:
                rows[i][j] = 1
        ops = [space.INPUT] + [space.OPS[code >> s & 3] for s in self._op_shift] + [space.OUTPUT]
        return tuple(tuple(r) for r in rows), ops

    # ------------------------------------------------------------------------------------------------ pruning

    def form_key(self, code: int) -> int:
        """:func:`form_key` of the pruned cell of ``code``, or -1 when the cell is invalid (disconnected, more than
        9 edges after pruning, or an op code 3)."""
        size = self.num_vertices
        last = size - 1
        out = [(code >> offset & mask) << first for offset, mask, first in self._rows]
        out.append(0)
        forward = 1
        for i in range(last):
            if forward >> i & 1:
                forward |= out[i]
        if not forward >> last & 1:
            return -1
        backward = 1 << last
        for i in range(last - 1, -1, -1):
            if out[i] & backward:
                backward |= 1 << i
        keep = forward & backward
        kept = self._kept[keep]
        n = len(kept)
        position = {v: a for a, v in enumerate(kept)}
        pair_bits = self._pair_bits[n]
        bits = 0
        edges = 0
        for a in range(n - 1):
            row = out[kept[a]] & keep
            bit_row = pair_bits[a]
            while row:
                low = row & -row
                row ^= low
                bits |= 1 << bit_row[position[low.bit_length() - 1]]
                edges += 1
        if edges > space.MAX_EDGES:
            return -1
        codes = 0
        for a in range(1, n - 1):
            op = code >> self._op_shift[kept[a] - 1] & 3
            if op == 3:
                return -1
            codes |= op << (2 * (a - 1))
        return n | bits << 3 | codes << (3 + n * (n - 1) // 2)

    # ------------------------------------------------------------------------------------------------ edits

    def random_code(self, rng: random.Random) -> int:
        """A genotype drawn as the NB-101 paper's random search: each edge gene 1 with probability 1/2, each op
        uniform (not necessarily valid)."""
        return rng.getrandbits(self.num_edge_genes) | self._op_fields[rng.randrange(len(self._op_fields))]

    def random_edit(self, code: int, rng: random.Random) -> int:
        """One random edit (not necessarily valid): a gene drawn uniformly, set to a different value uniformly."""
        gene = rng.randrange(self.num_genes)
        if gene < self.num_edge_genes:
            return code ^ (1 << gene)
        shift = self._op_shift[gene - self.num_edge_genes]
        current = code >> shift & 3
        new = (current + 1 + rng.randrange(2)) % 3
        return code & ~(3 << shift) | new << shift

    def edits(self, code: int) -> list:
        """Every code one edit away, in :func:`space.single_edits` order."""
        found = [code ^ (1 << k) for k in range(self.num_edge_genes)]
        for shift in self._op_shift:
            current = code >> shift & 3
            cleared = code & ~(3 << shift)
            found.extend(cleared | op << shift for op in range(3) if op != current)
        return found


def build_form_table(num_vertices, adjacencies, operations) -> dict:
    """``{form_key: cell index}`` over every labelled form of the given canonical cells (vectorised with numpy).

    ``num_vertices[i]``, ``adjacencies[i]`` (V*V '0'/'1' characters) and ``operations[i]`` (ops joined by ',')
    describe cell ``i``.
    """
    import numpy as np

    table: dict = {}
    groups: dict = {}
    for index, size in enumerate(num_vertices):
        groups.setdefault(size, []).append(index)
    op_codes_cache: dict = {}
    for size, members in sorted(groups.items()):
        idx = np.asarray(members, dtype=np.int64)
        flat = np.frombuffer("".join(adjacencies[i] for i in members).encode("ascii"), dtype=np.uint8)
        flat = (flat - ord("0")).reshape(len(members), size * size)
        interior = size - 2
        ops = np.zeros((len(members), max(interior, 1)), dtype=np.int64)
        for row, i in enumerate(members):
            text = operations[i]
            codes = op_codes_cache.get(text)
            if codes is None:
                names = text.split(",")
                codes = [space.OPS.index(op) for op in names[1:-1]] if interior else [0]
                op_codes_cache[text] = codes
            ops[row, :len(codes)] = codes
        upper = [(i, j) for i in range(size) for j in range(i + 1, size)]
        lower = [(i, j) for i in range(size) for j in range(i)]
        edge_weights = np.array([1 << (3 + _pair_bit(size, i, j)) for i, j in upper], dtype=np.int64)
        op_weights = np.array([1 << (3 + len(upper) + 2 * k) for k in range(interior)], dtype=np.int64)
        for order in itertools.permutations(range(1, size - 1)):
            perm = (0, *order, size - 1)  # new vertex k is old vertex perm[k]
            if lower:
                violations = flat[:, [perm[i] * size + perm[j] for i, j in lower]].any(axis=1)
                rows = np.nonzero(~violations)[0]
            else:
                rows = np.arange(len(members))
            if len(rows) == 0:
                continue
            keys = np.full(len(rows), size, dtype=np.int64)
            if upper:
                keys += flat[rows][:, [perm[i] * size + perm[j] for i, j in upper]].astype(np.int64) @ edge_weights
            if interior:
                keys += ops[rows][:, [perm[k] - 1 for k in range(1, size - 1)]] @ op_weights
            table.update(zip(keys.tolist(), idx[rows].tolist()))
    return table


class _Runs:
    """The runs of one epoch budget, loaded in one statement: CSR over cells (``start``/``count``) + flat arrays."""

    def __init__(self, num_cells: int):
        self.start = array("q", [0]) * num_cells
        self.count = array("l", [0]) * num_cells
        self.values = {name: array("d") for name in RUN_FIELDS}
        self.mean_test = array("d", [math.nan]) * num_cells
        self.mean_valid = array("d", [math.nan]) * num_cells
        self.best_mean_test = math.nan


class NB101Simulator(Simulator):
    """NAS-Bench-101 from the installed database, with the original API's budget accounting.

    :param epochs: the epoch budget queries use by default (4, 12, 36 or 108); another budget can be named per
        query and is loaded on first use.
    :param seed: seed of the simulator's own ``random.Random``, which picks the run a query returns.
    :param db_dir: database directory (default ``NASBENCHMARK_DIR``).
    :param num_vertices: genotype size of the built-in searches (7, as in the paper; smaller restricts the search
        to cells of at most that many vertices).
    :param sampling: how :meth:`random_genotype` draws: ``'rejection'`` (the NB-101 paper's random search: a
        random upper-triangular matrix, each edge with probability 1/2, and random ops, redrawn until valid; cells
        with many labelled forms, i.e. small or symmetric ones, come up more often) or ``'uniform'`` (every
        installed cell equally likely: uniform over the 423,624 unique cells of the full database).
    :param source: which runs: ``'original'`` (the released file, default), None (every source) or a source
        id / kind / device kind / device / file name.
    :param dataset: the dataset of the runs (default 'cifar10', the released runs'); runs on other datasets are
        never mixed in.

    Everything is bulk-loaded: the cells in one statement, each epoch budget's runs in one more.
    """

    benchmark = "nb101"

    def __init__(self, epochs: int = 108, seed=0, db_dir=None, *, num_vertices: int = space.MAX_VERTICES,
                 sampling: str = "rejection", source="original", dataset: str = "cifar10"):
        super().__init__(seed)
        self.epochs = check_int("epochs", epochs)
        if self.epochs is None:
            raise InvalidArgument("epochs must be an epoch budget (4, 12, 36 or 108): got None")
        if sampling not in SAMPLINGS:
            raise InvalidArgument(f"sampling must be one of {', '.join(SAMPLINGS)}: got {sampling!r}")
        self.sampling = sampling
        self.source = check_source(source)
        from ..query.nb101 import check_dataset

        self.dataset = check_dataset(dataset, self.source)
        if self.dataset is None:
            raise InvalidArgument("dataset must name the dataset of the runs (e.g. 'cifar10'): got None")
        self.db_dir = db_dir
        self.genotypes = Genotypes(num_vertices)
        handle = _db.open_benchmark("nb101", db_dir)
        self._database = handle.database
        self._nni_layout = handle.location.layout == "nni"
        self._runs: dict = {}
        self._forms = None
        self._code_cache: dict = {}
        self._load_cells()
        self._load_runs(self.epochs)

    # ------------------------------------------------------------------------------------------------ loading

    def _execute(self, sql: str, params=()):
        return self._database.execute_sql(placeholders(self._database, sql), params)

    def _source_clause(self, params: list) -> str:
        from ..query._common import source_filter

        return source_filter(self.source, params)

    def _load_cells(self) -> None:
        if self._nni_layout:
            self._load_nni()
            return
        self.hashes: list = []
        self.num_vertices: list = []
        self.adjacencies: list = []
        self.operations: list = []
        self.parameters = array("q")
        self._index_of_arch: dict = {}
        cursor = self._execute("SELECT id, hash, num_vertices, adjacency, operations, parameters FROM nb101_arch "
                               "ORDER BY id")
        for arch_id, digest, size, adjacency, operations, parameters in cursor:
            self._index_of_arch[arch_id] = len(self.hashes)
            self.hashes.append(digest)
            self.num_vertices.append(size)
            self.adjacencies.append(adjacency)
            self.operations.append(operations)
            self.parameters.append(parameters)
        self.index_of_hash = {digest: i for i, digest in enumerate(self.hashes)}

    def _load_runs(self, epochs: int) -> _Runs:
        runs = self._runs.get(epochs)
        if runs is not None:
            return runs
        if self._nni_layout:
            raise InvalidArgument(f"epoch budget {epochs} was not loaded from NNI's file: create the simulator "
                                  f"with epochs={epochs}")
        runs = _Runs(len(self.hashes))
        params = [epochs, self.dataset]
        sql = ("SELECT t.id, t.valid_acc, t.train_acc, t.test_acc, t.training_time, t.halfway_valid_acc, "
               "t.halfway_train_acc, t.halfway_test_acc, t.halfway_training_time "
               "FROM nb101_config c CROSS JOIN nb101_trial t "
               "WHERE c.num_epochs = ? AND c.dataset = ? AND t.id BETWEEN c.id * 1024 AND c.id * 1024 + 1023")
        sql += self._source_clause(params)
        self._fill_runs(runs, ((self._index_of_arch[row[0] >> _CONFIG_BITS],) + row[1:]
                               for row in self._execute(sql, params)))
        if not any(runs.count):
            raise InvalidArgument(f"no NB-101 runs with {epochs} epochs in the installed database "
                                  f"(source={self.source!r})")
        self._runs[epochs] = runs
        return runs

    def _fill_runs(self, runs: _Runs, rows) -> None:
        """Rows ``(cell index, *RUN_FIELDS)`` grouped by cell, in any cell order."""
        columns = [runs.values[name] for name in RUN_FIELDS]
        previous = -1
        for row in rows:
            cell = row[0]
            if cell != previous:
                runs.start[cell] = len(columns[0])
                previous = cell
            runs.count[cell] += 1
            for column, value in zip(columns, row[1:]):
                column.append(math.nan if value is None else value)
        valid, test = runs.values["valid_acc"], runs.values["test_acc"]
        best = -math.inf
        for cell, count in enumerate(runs.count):
            if count:
                first = runs.start[cell]
                mean_test = math.fsum(test[first:first + count]) / count
                runs.mean_test[cell] = mean_test
                runs.mean_valid[cell] = math.fsum(valid[first:first + count]) / count
                if mean_test > best:
                    best = mean_test
        runs.best_mean_test = best

    def _load_nni(self) -> None:
        """NNI's prebuilt file: read through the NNI-compatible query (its x60 time is undone there)."""
        from ..query.nb101 import query_nb101_trial_stats

        self.hashes, self.num_vertices, self.adjacencies, self.operations = [], [], [], []
        self.parameters = array("q")
        self.index_of_hash = {}
        rows = []
        for record in query_nb101_trial_stats(None, self.epochs, include_intermediates=True, source=self.source,
                                              dataset=self.dataset, db_dir=self.db_dir):
            config = record["config"]
            cell = self.index_of_hash.get(config["hash"])
            if cell is None:
                cell = len(self.hashes)
                self.index_of_hash[config["hash"]] = cell
                matrix, ops = space.arch_to_matrix(config["arch"])
                self.hashes.append(config["hash"])
                self.num_vertices.append(len(matrix))
                self.adjacencies.append(space.matrix_to_adjacency(matrix))
                self.operations.append(",".join(ops))
                self.parameters.append(round(record["parameters"] * 1e6))
            halfway = next((i for i in record.get("intermediates", []) if i["current_epoch"] != self.epochs), {})
            rows.append((cell, record["valid_acc"], record["train_acc"], record["test_acc"], record["training_time"],
                         halfway.get("valid_acc"), halfway.get("train_acc"), halfway.get("test_acc"),
                         halfway.get("training_time")))
        rows.sort(key=lambda r: r[0])
        runs = _Runs(len(self.hashes))
        self._fill_runs(runs, rows)
        self._runs[self.epochs] = runs

    def _form_table(self) -> dict:
        if self._forms is None:
            self._forms = build_form_table(self.num_vertices, self.adjacencies, self.operations)
        return self._forms

    # ------------------------------------------------------------------------------------------------ lookups

    def cell_of(self, genotype: int) -> int:
        """Cell index of a genotype code: -1 when the cell is invalid or not installed (never charges)."""
        cell = self._code_cache.get(genotype)
        if cell is not None:
            return cell
        key = self.genotypes.form_key(genotype)
        if key < 0:
            cell = -1
        else:
            # Not a form of an installed cell means not installed: the table holds every form of every installed
            # cell, and within the NB-101 space equal hashes mean isomorphic cells (the original enumeration
            # verified it), so no hash is needed.
            cell = self._form_table().get(key, -1)
        if cell >= 0 and not self._runs[self.epochs].count[cell]:
            cell = -1
        if len(self._code_cache) >= 4_000_000:  # bound the memory of very long sessions
            self._code_cache.clear()
        self._code_cache[genotype] = cell
        return cell

    def cell_index(self, arch) -> int:
        """Cell index of any accepted arch form: a genotype code (int), a hash (32 hex), ``(matrix, ops)``,
        ``{'matrix', 'ops'}`` or NNI's arch dict. Raises OutOfSearchSpace for an invalid cell and KeyError for a
        valid cell that is not installed."""
        if isinstance(arch, int) and not isinstance(arch, bool):
            cell = self.cell_of(arch)
            if cell < 0:
                matrix, ops = self.genotypes.decode(arch)
                digest = space.canonical(matrix, ops, checked=True)[2]  # raises for an invalid cell
                raise KeyError(f"cell {digest} is not installed (with {self.epochs}-epoch runs)")
            return cell
        if isinstance(arch, str):
            digest = arch.lower()
        else:
            if isinstance(arch, dict):
                matrix, ops = space.parse_arch(arch)
            elif isinstance(arch, (tuple, list)) and len(arch) == 2:
                matrix, ops = space.check_matrix(*arch)
            else:
                raise OutOfSearchSpace(f"arch must be a genotype code, a hash, (matrix, ops), {{'matrix', 'ops'}} or "
                                       f"an NNI arch dict: got {type(arch).__name__}")
            digest = space.canonical(matrix, ops, checked=True)[2]
        cell = self.index_of_hash.get(digest)
        if cell is None:
            raise KeyError(f"cell {digest} is not installed")
        return cell

    def genotype(self, arch, rng: random.Random | None = None) -> int:
        """Genotype code of any arch form (a stored cell is padded; ``rng`` draws the padding ops)."""
        if isinstance(arch, int) and not isinstance(arch, bool):
            return arch
        if isinstance(arch, str):
            cell = self.cell_index(arch)
            return self._stored_genotype(cell, rng)
        if isinstance(arch, dict):
            matrix, ops = space.parse_arch(arch)
        else:
            matrix, ops = space.check_matrix(*arch)
        if len(matrix) > self.genotypes.num_vertices:
            matrix, ops, _ = space.canonical(matrix, ops, checked=True)
        return self.genotypes.encode(matrix, ops)

    def _stored_genotype(self, cell: int, rng: random.Random | None) -> int:
        matrix = space.adjacency_to_matrix(self.adjacencies[cell])
        ops = self.operations[cell].split(",")
        filler = rng.choice(space.OPS) if rng is not None else space.CONV3X3
        return self.genotypes.encode(*space.pad(matrix, ops, self.genotypes.num_vertices, filler))

    def cell(self, genotype: int) -> tuple:
        """``(matrix, ops)`` of a genotype code (unpruned)."""
        return self.genotypes.decode(genotype)

    def hash_of(self, arch) -> str:
        """The NB-101 hash of an installed cell given in any accepted form."""
        return self.hashes[self.cell_index(arch)]

    def is_valid(self, arch) -> bool:
        """True when the cell is in the NB-101 space (never charges; as the original ``is_valid``)."""
        if isinstance(arch, int) and not isinstance(arch, bool):
            return self.genotypes.form_key(arch) >= 0
        try:
            matrix, ops = space.parse_arch(arch) if isinstance(arch, dict) else space.check_matrix(*arch)
        except (OutOfSearchSpace, TypeError):
            return False
        return space.is_valid(matrix, ops)

    # ------------------------------------------------------------------------------------------------ search side

    def random_genotype(self, rng: random.Random, sampling: str | None = None) -> int:
        """A random installed cell's genotype (see ``sampling`` in the class docstring)."""
        sampling = sampling or self.sampling
        if sampling == "uniform":
            runs = self._runs[self.epochs]
            if not hasattr(self, "_uniform_pool"):
                limit = self.genotypes.num_vertices
                self._uniform_pool = [c for c in range(len(self.hashes))
                                      if runs.count[c] and self.num_vertices[c] <= limit]
            return self._stored_genotype(self._uniform_pool[rng.randrange(len(self._uniform_pool))], rng)
        if sampling != "rejection":
            raise InvalidArgument(f"sampling must be one of {', '.join(SAMPLINGS)}: got {sampling!r}")
        for _ in range(REJECTION_DRAWS):
            code = self.genotypes.random_code(rng)
            if self.cell_of(code) >= 0:
                return code
        raise InvalidArgument(f"rejection sampling found no installed cell in {REJECTION_DRAWS:,} draws: the "
                              "database holds few cells; use sampling='uniform'")

    def mutate_genotype(self, genotype: int, rng: random.Random) -> int:
        """One random edit of a genotype whose cell is valid and installed (:func:`space.mutate` semantics).

        When no single edit reaches an installed cell (only in partial databases) a random genotype is returned.
        """
        genes = self.genotypes
        for _ in range(200):
            child = genes.random_edit(genotype, rng)
            if self.cell_of(child) >= 0:
                return child
        edits = genes.edits(genotype)
        weights = [2 if k < genes.num_edge_genes else 1 for k in range(len(edits))]
        allowed = [(c, w) for c, w in zip(edits, weights) if self.cell_of(c) >= 0]
        if not allowed:
            return self.random_genotype(rng)
        return rng.choices([c for c, _ in allowed], weights=[w for _, w in allowed])[0]

    def neighbour_genotypes(self, genotype: int) -> list:
        """Genotypes one edit away whose cells are installed and differ from each other and from ``genotype``'s
        (:func:`space.neighbours` with ``distinct=True``), in :func:`space.single_edits` order."""
        seen = {self.cell_of(genotype)}
        found = []
        for child in self.genotypes.edits(genotype):
            cell = self.cell_of(child)
            if cell >= 0 and cell not in seen:
                seen.add(cell)
                found.append(child)
        return found

    def evaluate(self, genotype: int):
        """Train ``genotype`` in simulation: ``(cell index, validation accuracy %, training seconds)`` of one
        randomly drawn run at the default budget, charged to the budget. The fast path of :meth:`query`."""
        cell = self.cell_of(genotype)
        if cell < 0:
            self.cell_index(genotype)  # raises the precise error
        runs = self._runs[self.epochs]
        run = runs.start[cell] + self._rng.randrange(runs.count[cell])
        seconds = runs.values["training_time"][run]
        self._charge(cell, seconds, self.epochs)
        return cell, runs.values["valid_acc"][run], seconds

    def query(self, arch, epochs: int | None = None, stop_halfway: bool = False) -> dict:
        """What training ``arch`` for ``epochs`` (default: the simulator's) shows a search; charges the budget.

        One run is drawn from the simulator's RNG, as the original ``NASBench.query``. Returns a dict (accuracies
        in percent, times in seconds; no test accuracy: see :meth:`mean_metrics`): ``hash``, ``num_epochs``,
        ``current_epoch`` (E//2 with ``stop_halfway``), ``repeat`` (the run drawn, 0-based), ``parameters``
        (millions), ``train_acc``, ``valid_acc``, ``training_time``, ``isomorphic_repeat`` (the cell was queried
        before since the last reset). Charges the run's training time and ``epochs`` (``epochs // 2`` with
        ``stop_halfway``), as the original. An invalid cell raises OutOfSearchSpace (a ValueError), a valid cell
        missing from the database KeyError.
        """
        epochs = self.epochs if epochs is None else check_int("epochs", epochs)
        cell = self.cell_index(arch)
        runs = self._load_runs(epochs)
        if not runs.count[cell]:
            raise KeyError(f"cell {self.hashes[cell]} has no {epochs}-epoch runs")
        repeat = self._rng.randrange(runs.count[cell])
        run = runs.start[cell] + repeat
        prefix = "halfway_" if stop_halfway else ""
        seconds = runs.values[prefix + "training_time"][run]
        repeated = self._charge(cell, seconds, epochs // 2 if stop_halfway else epochs)
        return {"hash": self.hashes[cell], "num_epochs": epochs,
                "current_epoch": epochs // 2 if stop_halfway else epochs, "repeat": repeat,
                "parameters": self.parameters[cell] / 1e6, "train_acc": runs.values[prefix + "train_acc"][run],
                "valid_acc": runs.values[prefix + "valid_acc"][run], "training_time": seconds,
                "isomorphic_repeat": repeated}

    def settings(self) -> dict:
        """The simulator's settings, for reports."""
        return {"benchmark": self.benchmark, "epochs": self.epochs, "num_vertices": self.genotypes.num_vertices,
                "sampling": self.sampling, "source": self.source, "dataset": self.dataset, "cells": sum(1 for c in self._runs[self.epochs].count
                                                                              if c)}

    # ------------------------------------------------------------------------------------------------ analysis

    def hash_iterator(self):
        """Every installed cell's hash (database order)."""
        return iter(self.hashes)

    def mean_metrics(self, arch, epochs: int | None = None) -> dict:
        """Means over the runs of a cell (never charges): ``hash``, ``num_epochs``, ``runs``, ``parameters``
        (millions) and the mean of every run field (``valid_acc``, ``test_acc``, ``halfway_valid_acc``...)."""
        epochs = self.epochs if epochs is None else check_int("epochs", epochs)
        cell = self.cell_index(arch)
        runs = self._load_runs(epochs)
        count = runs.count[cell]
        first = runs.start[cell]
        means = {name: (math.fsum(runs.values[name][first:first + count]) / count if count else math.nan)
                 for name in RUN_FIELDS}
        return {"hash": self.hashes[cell], "num_epochs": epochs, "runs": count,
                "parameters": self.parameters[cell] / 1e6, **means}

    def get_metrics_from_hash(self, digest: str) -> tuple:
        """``(fixed, computed)`` like the original (never charges), in this package's units.

        ``fixed``: ``module_adjacency`` (matrix), ``module_operations``, ``trainable_parameters`` (count).
        ``computed``: ``{epochs: [run dicts with the fields of RUN_FIELDS]}`` for every budget in the database (one
        statement through :func:`~nasbench_db.query.query_nb101_trial_stats`).
        """
        from ..query.nb101 import query_nb101_trial_stats

        cell = self.cell_index(digest)
        fixed = {"module_adjacency": [list(r) for r in space.adjacency_to_matrix(self.adjacencies[cell])],
                 "module_operations": self.operations[cell].split(","),
                 "trainable_parameters": self.parameters[cell]}
        computed: dict = {}
        for record in query_nb101_trial_stats({"matrix": fixed["module_adjacency"], "ops": fixed["module_operations"]},
                                              None, include_intermediates=True, source=self.source,
                                              dataset=self.dataset, db_dir=self.db_dir):
            halfway = record["intermediates"][0]
            computed.setdefault(record["config"]["num_epochs"], []).append({
                "valid_acc": record["valid_acc"], "train_acc": record["train_acc"], "test_acc": record["test_acc"],
                "training_time": record["training_time"], "halfway_valid_acc": halfway["valid_acc"],
                "halfway_train_acc": halfway["train_acc"], "halfway_test_acc": halfway["test_acc"],
                "halfway_training_time": halfway["training_time"]})
        return fixed, computed

    def test_accuracy(self, cell: int) -> float:
        """Mean test accuracy (percent, over runs, default budget) of a cell index (never charges)."""
        return self._runs[self.epochs].mean_test[cell]

    @property
    def best_mean_test_acc(self) -> float:
        """The best mean test accuracy over every installed cell at the default budget: the regret reference."""
        return self._runs[self.epochs].best_mean_test

    def regret(self, cell: int) -> float:
        """Test regret of a cell index, in percentage points: ``best_mean_test_acc`` minus its mean test accuracy."""
        runs = self._runs[self.epochs]
        return runs.best_mean_test - runs.mean_test[cell]

    def describe(self, cell: int) -> dict:
        """A cell for reports: ``hash``, ``arch`` (NNI dict), ``parameters`` (millions)."""
        matrix = space.adjacency_to_matrix(self.adjacencies[cell])
        return {"hash": self.hashes[cell], "arch": space.matrix_to_arch(matrix, self.operations[cell].split(",")),
                "parameters": self.parameters[cell] / 1e6}
