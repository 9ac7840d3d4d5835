"""The NAS-Bench-101 search space: ops, cell encodings, pruning, validation and the graph hash.

This is the one home of NB-101 space knowledge; convert, query and train import it.

A cell is a DAG of at most 7 vertices and 9 edges; vertex 0 is ``input``, the last is ``output`` and every interior
vertex is one of :data:`OPS`. Encodings handled here:

* ``(matrix, ops)``: a V x V upper-triangular 0/1 matrix (``matrix[i][j] == 1`` is an edge i -> j) and V op names,
  the form of the original ``ModelSpec``;
* NNI's arch dict: ``{'op1'..'op{V-2}': op, 'input1'..'input{V-1}': [predecessor vertices]}``;
* the TFRecord strings: ``adjacency`` (V*V '0'/'1' characters, row-major) and ``operations`` (ops joined by ',');
* NASLib's tuple (the keys of NAS-Bench-Suite-Zero's ``zc_nasbench101.json``): the V*V matrix entries row-major, then
  V op indices into :data:`NASLIB_OPS` (``convert_spec_to_tuple``); :func:`from_naslib_tuple`, :func:`to_naslib_tuple`.

Pruning and validation follow the original ``ModelSpec`` (google-research/nasbench ``lib/model_spec.py``): vertices
not on an input->output path are removed first, then the pruned cell is checked. :func:`graph_hash` is byte-identical
to ``graph_util.hash_module`` (all arithmetic on Python ints, as its ``str()`` of tuples demands).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from functools import lru_cache
from typing import Iterable, Sequence

from ..errors import OutOfSearchSpace

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: Interior ops in the order of the original ``available_ops``; the hash labels them 0, 1, 2.
OPS = (CONV3X3, CONV1X1, MAXPOOL3X3)
#: The labelling used by the hash (input -1, output -2, interior ops by their index in :data:`OPS`).
LABEL_OF_OP = {INPUT: -1, OUTPUT: -2, CONV3X3: 0, CONV1X1: 1, MAXPOOL3X3: 2}
MAX_VERTICES = 7
MAX_EDGES = 9
#: Epoch budgets of the released benchmark (``nasbench_full``); ``nasbench_only108`` has 108 only.
EPOCHS = (4, 12, 36, 108)

Matrix = tuple  # tuple of tuples of Python ints (0/1)


# --------------------------------------------------------------------------------------------------------------------
# Encodings


def check_matrix(matrix, ops) -> tuple[Matrix, list[str]]:
    """Return ``(matrix, ops)`` as a tuple-of-tuples of Python ints and a list of str, or raise OutOfSearchSpace.

    Checks the shape, 0/1 entries and upper-triangularity the original ``ModelSpec`` checks on construction.
    """
    try:
        if isinstance(matrix, (str, bytes)):
            raise TypeError
        rows = [list(row) for row in matrix]
    except TypeError:
        raise OutOfSearchSpace(f"matrix must be a list of rows of 0/1 entries: got {type(matrix).__name__}") from None
    num_vertices = len(rows)
    if num_vertices == 0:
        raise OutOfSearchSpace("matrix is empty: a cell needs at least 2 vertices (input and output)")
    if any(len(r) != num_vertices for r in rows):
        raise OutOfSearchSpace(
            f"matrix must be square: got {num_vertices} rows of lengths {[len(r) for r in rows]}")
    clean = []
    for i, row in enumerate(rows):
        # Fast path: plain Python ints 0/1 (bool excluded: True == 1 but would print differently in the hash).
        if all(type(e) is int and (e == 0 or e == 1) for e in row):
            out = row
        else:
            out = [_entry(e, i, j) for j, e in enumerate(row)]
        if any(out[:i + 1]):
            j = next(j for j in range(i + 1) if out[j])
            raise OutOfSearchSpace(
                f"matrix must be upper-triangular (edges go from a lower to a higher vertex): got an edge {i} -> {j}")
        clean.append(tuple(out))
    if isinstance(ops, (str, bytes)) or not isinstance(ops, Iterable):
        raise OutOfSearchSpace(f"ops must be a list of op names: got {type(ops).__name__}")
    ops = list(ops)
    if len(ops) != num_vertices:
        raise OutOfSearchSpace(f"ops must have one entry per vertex: got {len(ops)} ops for {num_vertices} vertices")
    for k, op in enumerate(ops):
        if not isinstance(op, str):
            raise OutOfSearchSpace(f"op names must be strings: got {op!r} at vertex {k}")
    return tuple(clean), ops


def _entry(entry, i: int, j: int) -> int:
    """One matrix entry as a Python int 0/1 (bools, floats 0.0/1.0 and numpy scalars accepted and normalised)."""
    # A float matrix would hash differently in the original (nasbench#32); here it is normalised to ints.
    try:
        if entry == 0 or entry == 1:
            return int(entry)
    except (TypeError, ValueError):
        pass
    raise OutOfSearchSpace(f"matrix entries must be 0 or 1: got {entry!r} at ({i}, {j})")


def matrix_to_adjacency(matrix: Sequence[Sequence[int]]) -> str:
    """Row-major '0'/'1' string of a matrix, the TFRecord's ``raw_adjacency``."""
    return "".join("1" if e else "0" for row in matrix for e in row)


def adjacency_to_matrix(adjacency: str) -> Matrix:
    """Inverse of :func:`matrix_to_adjacency`; raises OutOfSearchSpace on a length that is not a square."""
    dim = math.isqrt(len(adjacency))
    if dim * dim != len(adjacency) or dim == 0:
        raise OutOfSearchSpace(f"adjacency string length must be a square (V*V): got {len(adjacency)}")
    if set(adjacency) - {"0", "1"}:
        raise OutOfSearchSpace(f"adjacency string must hold only '0' and '1': got {adjacency!r}")
    return tuple(tuple(1 if adjacency[i * dim + j] == "1" else 0 for j in range(dim)) for i in range(dim))


def arch_to_matrix(arch: dict) -> tuple[Matrix, list[str]]:
    """NNI arch dict -> ``(matrix, ops)`` (not pruned). Raises OutOfSearchSpace naming a missing or bad key."""
    if not isinstance(arch, dict):
        raise OutOfSearchSpace(f"arch must be a dict: got {type(arch).__name__}")
    op_keys = sorted((k for k in arch if isinstance(k, str) and k.startswith("op")), key=lambda k: (len(k), k))
    num_ops = len(op_keys)
    expected_ops = [f"op{i}" for i in range(1, num_ops + 1)]
    if op_keys != expected_ops:
        raise OutOfSearchSpace(f"arch op keys must be op1..op{num_ops}: got {op_keys}")
    num_vertices = num_ops + 2
    expected_inputs = {f"input{i}" for i in range(1, num_vertices)}
    extra = sorted(set(arch) - set(expected_ops) - expected_inputs, key=str)
    if extra:
        raise OutOfSearchSpace(
            f"unexpected arch keys {extra}: a cell with {num_ops} ops has keys op1..op{num_ops} and "
            f"input1..input{num_vertices - 1}")
    matrix = [[0] * num_vertices for _ in range(num_vertices)]
    for i in range(1, num_vertices):
        key = f"input{i}"
        if key not in arch:
            raise OutOfSearchSpace(
                f"arch is missing {key!r}: a cell with {num_ops} ops needs input1..input{num_vertices - 1}")
        preds = arch[key]
        if isinstance(preds, (str, bytes)) or not isinstance(preds, Iterable):
            raise OutOfSearchSpace(f"{key} must be a list of predecessor vertices: got {preds!r}")
        for k in preds:
            if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < i:
                raise OutOfSearchSpace(f"{key} may only list vertices 0..{i - 1}: got {k!r}")
            matrix[k][i] = 1
    ops = [INPUT] + [arch[k] for k in expected_ops] + [OUTPUT]
    return check_matrix(matrix, ops)


#: NASLib's op list for this space (``all_ops`` of its ``nasbench101/conversions.py``): NASLib tuples index into it.
NASLIB_OPS = (INPUT, OUTPUT, MAXPOOL3X3, CONV1X1, CONV3X3)


def from_naslib_tuple(values) -> tuple[Matrix, list[str]]:
    """``(matrix, ops)`` (not pruned) of NASLib's tuple: V*V matrix entries row-major, then V op indices.

    V follows from the length (V*V + V entries, V = 2..7). Raises OutOfSearchSpace naming the problem.
    """
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise OutOfSearchSpace(f"a NASLib NB-101 tuple must be a sequence of ints: got {values!r}")
    length = len(values)
    num_vertices = next((v for v in range(2, MAX_VERTICES + 1) if v * v + v == length), None)
    if num_vertices is None:
        raise OutOfSearchSpace(f"a NASLib NB-101 tuple has V*V + V entries for V = 2..{MAX_VERTICES} "
                               f"(6, 12, 20, 30, 42 or 56): got {length}")
    for position, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int):
            raise OutOfSearchSpace(f"NASLib NB-101 tuple entry {position} must be an int: got {value!r}")
    square = num_vertices * num_vertices
    matrix = [list(values[row * num_vertices:(row + 1) * num_vertices]) for row in range(num_vertices)]
    ops = []
    for position, code in enumerate(values[square:]):
        if not 0 <= code < len(NASLIB_OPS):
            raise OutOfSearchSpace(f"NASLib NB-101 op index of vertex {position} must be 0..{len(NASLIB_OPS) - 1} "
                                   f"({', '.join(f'{i} {op}' for i, op in enumerate(NASLIB_OPS))}): got {code}")
        ops.append(NASLIB_OPS[code])
    return check_matrix(matrix, ops)


def to_naslib_tuple(matrix, ops) -> tuple:
    """NASLib's tuple of a cell as given (not pruned): matrix entries row-major, then op indices."""
    matrix, ops = check_matrix(matrix, ops)
    return tuple(e for row in matrix for e in row) + tuple(NASLIB_OPS.index(op) for op in ops)


def matrix_to_arch(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> dict:
    """``(matrix, ops)`` -> NNI arch dict, predecessors listed in ascending order."""
    num_vertices = len(matrix)
    arch: dict = {f"op{i}": ops[i] for i in range(1, num_vertices - 1)}
    for i in range(1, num_vertices):
        arch[f"input{i}"] = [k for k in range(i) if matrix[k][i]]
    return arch


#: Per number of vertices V: NNI's op keys and input keys, in vertex order (for :func:`_nni_fast`).
_NNI_KEYS = {v: (tuple(f"op{i}" for i in range(1, v - 1)), tuple(f"input{i}" for i in range(1, v)))
             for v in range(2, MAX_VERTICES + 1)}


def _nni_parts(arch):
    """``(ops, predecessor masks)`` of a well-formed NNI arch dict of at most 7 vertices: the V op names (input and
    output included) and, per vertex, its predecessors as a bit mask; None for anything else (which the checking path
    then reads, and reports)."""
    if type(arch) is not dict:
        return None
    keys = _NNI_KEYS.get((len(arch) + 3) >> 1)
    if keys is None or not len(arch) & 1:
        return None
    op_keys, input_keys = keys
    try:
        ops = [INPUT]
        for key in op_keys:
            op = arch[key]
            if type(op) is not str:
                return None
            ops.append(op)
        ops.append(OUTPUT)
        preds = [0]
        vertex = 1
        for key in input_keys:
            given = arch[key]
            if type(given) is not list:
                return None
            mask = 0
            for k in given:
                if type(k) is not int or not 0 <= k < vertex:
                    return None
                mask |= 1 << k
            preds.append(mask)
            vertex += 1
    except KeyError:
        return None
    return ops, preds


def _nni_fast(arch: dict):
    """``(matrix, ops)`` of a well-formed NNI arch dict (see :func:`_nni_parts`), or None."""
    parts = _nni_parts(arch)
    if parts is None:
        return None
    ops, preds = parts
    size = len(ops)
    return tuple(tuple(preds[j] >> i & 1 for j in range(size)) for i in range(size)), ops


def parse_arch(arch) -> tuple[Matrix, list[str]]:
    """Accept NNI's arch dict or ``{'matrix': [[...]], 'ops': [...]}`` and return the unpruned ``(matrix, ops)``."""
    if type(arch) is dict and "matrix" not in arch:
        fast = _nni_fast(arch)
        if fast is not None:
            return fast
    if isinstance(arch, dict) and ("matrix" in arch or "ops" in arch):
        extra = set(arch) - {"matrix", "ops"}
        if extra or "matrix" not in arch or "ops" not in arch:
            raise OutOfSearchSpace(
                f"a matrix arch has exactly the keys 'matrix' and 'ops': got {sorted(map(str, arch))}")
        return check_matrix(arch["matrix"], arch["ops"])
    return arch_to_matrix(arch)


def exact_form(arch) -> tuple[Matrix, list[str]] | None:
    """``(matrix, ops)`` of ``arch`` exactly as written (not pruned), or None when an NNI arch dict is not in the
    form a stored cell has: NNI compares arch dicts as JSON, so ``'input5': [3, 0, 4]`` (or a repeated vertex) never
    equals a stored ``[0, 3, 4]``. ``{'matrix', 'ops'}`` is exact as given. Raises OutOfSearchSpace for a malformed
    arch."""
    matrix, ops = parse_arch(arch)
    if isinstance(arch, dict) and "matrix" not in arch:
        for i in range(1, len(matrix)):
            given = list(arch[f"input{i}"])
            if given != [k for k in range(i) if matrix[k][i]]:
                return None
    return matrix, ops


# --------------------------------------------------------------------------------------------------------------------
# Pruning, validation, hashing


def prune(matrix: Matrix, ops: Sequence[str]) -> tuple[Matrix, list[str]] | None:
    """Remove vertices not on an input->output path, as ``ModelSpec._prune``; None when output is unreachable."""
    keep = kept_vertices(matrix)
    if keep is None:
        return None
    if len(keep) == len(matrix):
        return matrix, list(ops)
    return tuple(tuple(matrix[i][j] for j in keep) for i in keep), [ops[i] for i in keep]


def kept_vertices(matrix) -> list[int] | None:
    """The vertices on some input->output path, ascending (what ``ModelSpec._prune`` keeps); None when the output is
    unreachable from the input. Any truthy entry is an edge (a numpy array works too)."""
    num_vertices = len(matrix)
    last = num_vertices - 1
    forward = {0}
    stack = [0]
    while stack:
        top = stack.pop()
        for v in range(top + 1, num_vertices):
            if matrix[top][v] and v not in forward:
                forward.add(v)
                stack.append(v)
    backward = {last}
    stack = [last]
    while stack:
        top = stack.pop()
        for v in range(0, top):
            if matrix[v][top] and v not in backward:
                backward.add(v)
                stack.append(v)
    keep = sorted(forward & backward)
    # The intersection is empty or holds both ends; fewer than 2 kept vertices means output is unreachable
    # (the original's "len(extraneous) > V - 2").
    return keep if len(keep) >= 2 else None


def validate(matrix: Matrix, ops: Sequence[str]) -> None:
    """Raise OutOfSearchSpace unless a *pruned* cell is in the NB-101 space (the checks of ``NASBench._check_spec``)."""
    num_vertices = len(matrix)
    if num_vertices > MAX_VERTICES:
        raise OutOfSearchSpace(f"too many vertices: got {num_vertices}, max {MAX_VERTICES} (after pruning)")
    num_edges = sum(sum(row) for row in matrix)
    if num_edges > MAX_EDGES:
        raise OutOfSearchSpace(f"too many edges: got {num_edges}, max {MAX_EDGES} (after pruning)")
    if ops[0] != INPUT:
        raise OutOfSearchSpace(f"first op must be {INPUT!r}: got {ops[0]!r}")
    if ops[-1] != OUTPUT:
        raise OutOfSearchSpace(f"last op must be {OUTPUT!r}: got {ops[-1]!r}")
    for k, op in enumerate(ops[1:-1], start=1):
        if op not in OPS:
            raise OutOfSearchSpace(f"unsupported op {op!r} at vertex {k} (available ops: {', '.join(OPS)})")


def graph_hash(matrix: Sequence[Sequence[int]], labeling: Sequence[int], degrees=None) -> str:
    """The NB-101 graph fingerprint, byte-identical to ``graph_util.hash_module(matrix, labeling)``.

    ``matrix`` and ``labeling`` must hold Python ints: ``str()`` of the degree tuple is hashed, and a float or a numpy
    scalar prints differently. ``degrees``: ``(out_degrees, in_degrees)`` per vertex as the caller's matrix gives
    them (the original sums the matrix, so a float matrix hashes ``'(2.0, 1.0, -1)'``); default: the edge counts.
    """
    md5 = hashlib.md5
    vertices = range(len(matrix))
    preds = [[w for w in vertices if matrix[w][v]] for v in vertices]
    succs = [[w for w in vertices if matrix[v][w]] for v in vertices]
    if degrees is None:
        degrees = [len(s) for s in succs], [len(p) for p in preds]
    out_degrees, in_degrees = degrees
    hashes = [md5(str((out_degrees[v], in_degrees[v], labeling[v])).encode()).hexdigest() for v in vertices]
    for _ in vertices:
        hashes = [
            md5(("".join(sorted([hashes[w] for w in preds[v]])) + "|"
                 + "".join(sorted([hashes[w] for w in succs[v]])) + "|" + hashes[v]).encode()).hexdigest()
            for v in vertices
        ]
    return md5(str(sorted(hashes)).encode()).hexdigest()


def labeling(ops: Sequence[str]) -> list[int]:
    """Hash labels of a pruned, valid cell's ops."""
    return [LABEL_OF_OP[op] for op in ops]


@lru_cache(maxsize=65536)
def _pruned_cached(matrix: Matrix, ops: tuple) -> tuple[Matrix, tuple, int, int]:
    """Prune and validate a checked cell: ``(pruned matrix, pruned ops, matrix key, ops code)``; no hashing."""
    pruned = prune(matrix, ops)
    if pruned is None:
        raise OutOfSearchSpace("invalid cell: the graph is disconnected (no path from input to output)")
    pmatrix, pops = pruned
    validate(pmatrix, pops)
    return pmatrix, tuple(pops), matrix_key(pmatrix), ops_code(pops)


@lru_cache(maxsize=65536)
def _canonical_cached(matrix: Matrix, ops: tuple) -> tuple[Matrix, tuple, str]:
    pmatrix, pops = _pruned_cached(matrix, ops)[:2]
    return pmatrix, pops, graph_hash(pmatrix, labeling(pops))


def canonical(matrix, ops, checked: bool = False) -> tuple[Matrix, list[str], str]:
    """Check, prune, validate and hash a cell: returns ``(pruned_matrix, pruned_ops, hash)``.

    Raises OutOfSearchSpace (a ValueError) naming the problem and the limit. Results are cached per cell.
    ``checked``: the pair already came from :func:`check_matrix` / :func:`parse_arch` (skip re-checking).
    """
    if not checked:
        matrix, ops = check_matrix(matrix, ops)
    pmatrix, pops, digest = _canonical_cached(matrix, tuple(ops))
    return pmatrix, list(pops), digest


def pruned_form(matrix, ops, checked: bool = False) -> tuple[Matrix, tuple, int, int]:
    """Check, prune and validate a cell without hashing it: ``(pruned_matrix, pruned_ops, matrix_key, ops_code)``.

    The two keys locate the pruned cell in the labelled-forms table (:func:`form_cell`). Raises OutOfSearchSpace as
    :func:`canonical`; cached per cell. ``checked``: as in :func:`canonical`.
    """
    if not checked:
        matrix, ops = check_matrix(matrix, ops)
    return _pruned_cached(matrix, tuple(ops))


def arch_hash(arch) -> str:
    """The hash of an NNI arch dict or ``{'matrix', 'ops'}`` after pruning (what the benchmark is keyed by)."""
    matrix, ops = parse_arch(arch)
    return canonical(matrix, ops, checked=True)[2]


def is_valid(matrix, ops) -> bool:
    """True when the cell (after pruning) is in the NB-101 space."""
    try:
        canonical(matrix, ops)
    except OutOfSearchSpace:
        return False
    return True


# --------------------------------------------------------------------------------------------------------------------
# Space tools: permutation (for isomorphism tests), sampling, mutation


def permute(matrix: Sequence[Sequence[int]], ops: Sequence[str], perm: Sequence[int]) -> tuple[Matrix, list[str]]:
    """Relabel vertices: new vertex ``perm[v]`` is old vertex ``v`` (same convention as ``graph_util.permute_graph``).

    The result need not be upper-triangular; use it with :func:`graph_hash`, which does not require it.
    """
    num_vertices = len(matrix)
    inverse = [0] * num_vertices
    for old, new in enumerate(perm):
        inverse[new] = old
    new_matrix = tuple(tuple(matrix[inverse[i]][inverse[j]] for j in range(num_vertices))
                       for i in range(num_vertices))
    return new_matrix, [ops[inverse[i]] for i in range(num_vertices)]


def random_cell(rng: random.Random, num_vertices: int = MAX_VERTICES) -> tuple[Matrix, list[str]]:
    """A random valid cell drawn as the NB-101 paper's random search does.

    Rejection-samples ``num_vertices`` x ``num_vertices`` upper-triangular matrices (each edge with probability 1/2)
    and uniform ops until the cell is valid; the returned cell is unpruned (pruning may make it smaller).
    """
    while True:
        matrix = tuple(tuple(1 if j > i and rng.random() < 0.5 else 0 for j in range(num_vertices))
                       for i in range(num_vertices))
        ops = [INPUT] + [rng.choice(OPS) for _ in range(num_vertices - 2)] + [OUTPUT]
        if is_valid(matrix, ops):
            return matrix, ops


def enumerate_full_dags(num_vertices: int):
    """Yield every matrix of the original enumeration for ``num_vertices`` (``scripts/generate_graphs.py`` order).

    Bit ``x + y(y-1)/2`` of the counter is edge x -> y; a matrix is kept when every vertex but the last has an
    out-edge, every vertex but the first has an in-edge, and it has at most :data:`MAX_EDGES` edges.
    """
    pairs = [(x, y) for y in range(num_vertices) for x in range(y)]
    for bits in range(2 ** len(pairs)):
        if bin(bits).count("1") > MAX_EDGES:
            continue
        matrix = [[0] * num_vertices for _ in range(num_vertices)]
        for index, (x, y) in enumerate(pairs):
            if bits >> index & 1:
                matrix[x][y] = 1
        if any(not any(matrix[v]) for v in range(num_vertices - 1)):
            continue
        if any(not any(matrix[w][v] for w in range(num_vertices)) for v in range(1, num_vertices)):
            continue
        yield tuple(tuple(row) for row in matrix)


def enumerate_labelled(num_vertices: int):
    """Yield ``(matrix, ops)`` for every full DAG of ``num_vertices`` and every interior op labelling."""
    for matrix in enumerate_full_dags(num_vertices):
        for labels in itertools.product(OPS, repeat=num_vertices - 2):
            yield matrix, [INPUT, *labels, OUTPUT]


# --------------------------------------------------------------------------------------------------------------------
# Search tools: padding, single edits, mutation, neighbourhoods, isomorphic forms, edit distance
#
# Searches work on *genotypes*: unpruned upper-triangular cells of a fixed size (7 x 7 in the NB-101 paper's
# searches). Vertices that pruning removes keep their edges and ops in the genotype and can be reconnected later;
# queries always prune and hash, so two genotypes can be the same cell (an isomorphic repeat).


def pad(matrix, ops, num_vertices: int = MAX_VERTICES, filler: str = CONV3X3) -> tuple[Matrix, list[str]]:
    """Grow a cell to ``num_vertices`` by inserting isolated vertices (op ``filler``) just before the output.

    The new vertices have no edges, so pruning removes them again: the padded cell is the same cell (same hash). It
    lets a stored cell with fewer vertices be mutated as a 7-vertex genotype.
    """
    matrix, ops = check_matrix(matrix, ops)
    size = len(matrix)
    if size < 2:
        raise OutOfSearchSpace(f"a cell needs at least 2 vertices (input and output): got {size}")
    if size > num_vertices:
        raise OutOfSearchSpace(f"cannot pad a {size}-vertex cell to {num_vertices} vertices")
    extra = num_vertices - size
    if extra == 0:
        return matrix, ops
    rows = [row[:-1] + (0,) * extra + row[-1:] for row in matrix[:-1]]
    rows += [(0,) * num_vertices] * (extra + 1)
    return tuple(rows), ops[:-1] + [filler] * extra + ops[-1:]


def edge_positions(num_vertices: int) -> list[tuple[int, int]]:
    """The upper-triangular entries ``(i, j)``, i < j, in row-major order: the edge genes of a genotype."""
    return [(i, j) for i in range(num_vertices) for j in range(i + 1, num_vertices)]


def single_edits(matrix, ops):
    """Yield every ``(matrix, ops)`` one edit away, valid or not, in a fixed order.

    First each upper-triangular entry flipped (row-major, ``V(V-1)/2`` of them), then each interior op replaced by
    each other op of :data:`OPS` (``2(V-2)``). Edits act on the cell as given (unpruned).
    """
    matrix, ops = check_matrix(matrix, ops)
    rows = [list(row) for row in matrix]
    for i, j in edge_positions(len(matrix)):
        rows[i][j] ^= 1
        yield tuple(tuple(row) for row in rows), list(ops)
        rows[i][j] ^= 1
    for k in range(1, len(matrix) - 1):
        for op in OPS:
            if op != ops[k]:
                yield matrix, ops[:k] + [op] + ops[k + 1:]


def mutate(matrix, ops, rng: random.Random, max_tries: int = 200) -> tuple[Matrix, list[str]]:
    """One random valid edit of a genotype: an edge flipped or one interior op changed.

    As the regularized evolution of the NB-101 paper's experiments (automl/nas_benchmarks, 26 genes for 7 vertices):
    pick one of the ``V(V-1)/2`` edge genes and ``V-2`` op genes uniformly, set it to a different value uniformly
    (an op gene has two), and draw again until the result is valid (the original recorded invalid children as failed
    evaluations instead). The child may be isomorphic to the parent when the edit touched a pruned-away part.
    Raises OutOfSearchSpace when no single edit gives a valid cell.
    """
    matrix, ops = check_matrix(matrix, ops)
    positions = edge_positions(len(matrix))
    genes = len(positions) + len(matrix) - 2
    if genes == 0:
        raise OutOfSearchSpace("a 1-vertex cell has nothing to mutate")
    for _ in range(max_tries):
        gene = rng.randrange(genes)
        if gene < len(positions):
            i, j = positions[gene]
            rows = [list(row) for row in matrix]
            rows[i][j] ^= 1
            child = tuple(tuple(row) for row in rows), list(ops)
        else:
            k = gene - len(positions) + 1
            child = matrix, ops[:k] + [rng.choice([op for op in OPS if op != ops[k]])] + ops[k + 1:]
        if is_valid(*child):
            return child
    # Reached only when valid edits are very rare: choose among all of them (same weights as above).
    weighted = [(child, 2 if gene < len(positions) else 1)
                for gene, child in enumerate(single_edits(matrix, ops)) if is_valid(*child)]
    if not weighted:
        raise OutOfSearchSpace("no single edit of this cell is valid")
    return rng.choices([c for c, _ in weighted], weights=[w for _, w in weighted])[0]


def neighbours(matrix, ops, distinct: bool = True) -> list[tuple[Matrix, list[str]]]:
    """The valid genotypes one edit away (in :func:`single_edits` order).

    ``distinct``: keep one genotype per cell (graph hash), and none isomorphic to ``(matrix, ops)`` itself: the
    different cells reachable in one edit.
    """
    seen = set()
    if distinct and is_valid(matrix, ops):
        seen.add(canonical(matrix, ops)[2])
    found = []
    for child in single_edits(matrix, ops):
        try:
            digest = canonical(child[0], child[1], checked=True)[2]
        except OutOfSearchSpace:
            continue
        if distinct:
            if digest in seen:
                continue
            seen.add(digest)
        found.append(child)
    return found


def isomorphic_forms(matrix, ops) -> list[tuple[Matrix, list[str]]]:
    """Every upper-triangular labelled form of the pruned cell: its relabellings of interior vertices that keep
    edges pointing forward (input first, output last), without duplicates, the given order first.

    These are the cell's members among the 1,293,208 labelled graphs of the original enumeration (section 5 of the
    spec); all have the cell's hash.
    """
    pmatrix, pops, _ = canonical(matrix, ops)
    size = len(pmatrix)
    forms, seen = [], set()
    for order in itertools.permutations(range(1, size - 1)):
        perm = (0, *order, size - 1)  # new vertex k is old vertex perm[k]
        new = tuple(tuple(pmatrix[perm[i]][perm[j]] for j in range(size)) for i in range(size))
        if any(new[i][j] for i in range(size) for j in range(i + 1)):
            continue
        key = (new, tuple(pops[p] for p in perm))
        if key not in seen:
            seen.add(key)
            forms.append((new, list(key[1])))
    return forms


def _cell_of(cell) -> tuple[Matrix, list[str]]:
    if isinstance(cell, dict):
        matrix, ops = parse_arch(cell)
    elif isinstance(cell, (tuple, list)) and len(cell) == 2:
        matrix, ops = check_matrix(*cell)
    else:
        raise OutOfSearchSpace(f"a cell is (matrix, ops), {{'matrix', 'ops'}} or an NNI arch dict: got {cell!r}")
    pmatrix, pops, _ = canonical(matrix, ops, checked=True)
    return pmatrix, pops


def edit_distance(a, b) -> int:
    """Graph edit distance between two cells: the fewest edge insertions/deletions and op changes turning one into a
    graph isomorphic to the other.

    Both cells are pruned, then padded to the same size with op-less isolated vertices, so adding a vertex costs its
    op plus its edges. The minimum runs over every bijection of interior vertices (at most 5! = 120), so the result
    is a metric on cells: 0 exactly for isomorphic cells. ``a``/``b``: ``(matrix, ops)``, ``{'matrix', 'ops'}`` or
    NNI arch dicts. One genotype edit can change it by more than 1 when pruning removes or revives a vertex.
    """
    (ma, oa), (mb, ob) = _cell_of(a), _cell_of(b)
    size = max(len(ma), len(mb))

    def spread(matrix, ops):
        # Vertex map into the padded frame: interior vertices keep their numbers, the output moves to size - 1.
        last = len(matrix) - 1
        where = list(range(last)) + [size - 1]
        edges = {where[i] * size + where[j] for i in range(last + 1) for j in range(last + 1) if matrix[i][j]}
        labels = [None] * size
        for v in range(1, last):
            labels[v] = ops[v]
        return edges, labels

    edges_a, labels_a = spread(ma, oa)
    edges_b, labels_b = spread(mb, ob)
    interior = range(1, size - 1)
    best = None
    for order in itertools.permutations(interior):
        f = (0, *order, size - 1)  # vertex v of b goes to vertex f[v] of a
        cost = sum(labels_b[v] != labels_a[f[v]] for v in interior)
        moved = {f[e // size] * size + f[e % size] for e in edges_b}
        cost += len(edges_a ^ moved)
        if best is None or cost < best:
            best = cost
            if best == 0:
                break
    return best


# --------------------------------------------------------------------------------------------------------------------
# Labelled forms: finding a cell without hashing it
#
# A *labelled form* is a pruned cell written as an upper-triangular (matrix, ops): the labelled graphs of the original
# enumeration (``scripts/generate_graphs.py`` keeps exactly these: every vertex on an input -> output path, at most 9
# edges), 1,293,208 of them for the 423,624 cells. Any cell a user writes (NNI dict, ``{'matrix', 'ops'}``,
# ``ModelSpec``), once pruned, is one of them. The converter stores which cell each form of each stored cell is
# (table ``nb101_form``), so a query finds its cell with a small integer key instead of the graph hash; the hash is
# still computed for a form the table does not hold (a database without the table, NNI's file, a cell missing from
# the database) and answers the same.
#
# Keys: ``matrix_key`` = V in the low 3 bits, the upper-triangular entries above them (row-major: (0,1), (0,2) ...
# (V-2, V-1)); ``ops_code`` = the interior ops as base-3 digits (vertex 1 least significant, digit = index in
# :data:`OPS`). A table row holds, for one matrix key, the cell id of each of its 3**(V-2) op labellings as
# :data:`FORM_ID_BYTES`-byte big-endian integers (0: no cell), so the full table is about 5,400 rows and 3.9 MB.

#: Bytes per cell id in a labelled-forms row; ids above :data:`MAX_FORM_CELL_ID` are left out of the table (hashed).
FORM_ID_BYTES = 3
MAX_FORM_CELL_ID = (1 << (8 * FORM_ID_BYTES)) - 1
_OP_DIGIT = {op: digit for digit, op in enumerate(OPS)}


def matrix_key(matrix: Sequence[Sequence[int]]) -> int:
    """The labelled-forms key of an upper-triangular matrix (see above); any truthy entry is an edge."""
    size = len(matrix)
    key = size
    bit = 8
    for i in range(size):
        row = matrix[i]
        for j in range(i + 1, size):
            if row[j]:
                key |= bit
            bit <<= 1
    return key


def ops_code(ops: Sequence[str]) -> int:
    """The labelled-forms code of a valid cell's interior ops (see above)."""
    code = 0
    for op in reversed(ops[1:-1]):
        code = code * 3 + _OP_DIGIT[op]
    return code


#: Per number of vertices V, per vertex j: for each set of j's predecessors (a bit mask over vertices < j), the bits
#: those edges set in :func:`matrix_key` (for :func:`nni_form`, which never builds a matrix).
_KEY_BITS = {
    size: [[sum(8 << (i * (2 * size - i - 1) // 2 + j - i - 1) for i in range(j) if mask >> i & 1)
            for mask in range(1 << j)] for j in range(size)]
    for size in range(2, MAX_VERTICES + 1)
}
_EDGES_OF_MASK = [bin(mask).count("1") for mask in range(1 << MAX_VERTICES)]


def nni_form(arch) -> tuple[int, int] | None:
    """``(matrix_key, ops_code)`` of an NNI arch dict after pruning, on bit masks: equal to
    ``pruned_form(*parse_arch(arch))[2:]`` wherever it is not None, without building a matrix, pruning one or
    caching anything (the point query's path for a fresh dict). None for whatever the checking path must read: not
    a well-formed NNI dict, a disconnected cell, a pruned cell outside the space; that path then raises, or answers.
    """
    parts = _nni_parts(arch)
    if parts is None:
        return None
    ops, preds = parts
    size = len(ops)
    digits = [_OP_DIGIT.get(op) for op in ops]  # None (not an op of the space): an error only if the vertex is kept
    # Edges go from lower to higher vertices: one pass each way finds the vertices on an input -> output path.
    last = size - 1
    forward = 1
    for v in range(1, size):
        if preds[v] & forward:
            forward |= 1 << v
    backward = 1 << last
    for v in range(last, 0, -1):
        if backward >> v & 1:
            backward |= preds[v]
    keep = forward & backward
    if not keep >> last & 1:
        return None  # disconnected
    if keep != (1 << size) - 1:  # pruned: renumber the kept vertices and their predecessor masks
        kept = [v for v in range(size) if keep >> v & 1]
        renumbered = []
        for v in kept:
            mask = 0
            for n, u in enumerate(kept):
                if preds[v] >> u & 1:
                    mask |= 1 << n
            renumbered.append(mask)
        preds = renumbered
        digits = [digits[v] for v in kept[:-1]]
        size = len(kept)
    bits = _KEY_BITS[size]
    key = size
    edges = 0
    for v in range(1, size):
        mask = preds[v]
        key |= bits[v][mask]
        edges += _EDGES_OF_MASK[mask]
    if edges > MAX_EDGES:
        return None
    code = 0
    for v in range(size - 2, 0, -1):
        digit = digits[v]
        if digit is None:
            return None
        code = code * 3 + digit
    return key, code


def form_row_size(key: int) -> int:
    """Bytes of the labelled-forms row of matrix key ``key``: one cell id per op labelling."""
    return FORM_ID_BYTES * 3 ** max((key & 7) - 2, 0)


def form_cell(row, code: int) -> int:
    """The cell id stored for ops code ``code`` in a labelled-forms row (bytes), 0 when the table holds none."""
    start = code * FORM_ID_BYTES
    return int.from_bytes(row[start:start + FORM_ID_BYTES], "big")


def labelled_forms(cells) -> dict:
    """The labelled-forms table of ``cells``: ``{matrix_key: bytes}`` (see above).

    ``cells``: ``(cell id, adjacency, operations)`` of stored cells (the TFRecord strings). Every upper-triangular
    relabelling of each cell is entered (vectorised over the cells of one size, for every order of the interior
    vertices). Left out, so that they are hashed as before: cells that are not pruned (a stored graph with a dangling
    vertex hashes differently from any query, which is pruned first), invalid cells, ids above
    :data:`MAX_FORM_CELL_ID`, and any form two cells would claim (impossible for cells with distinct hashes).
    """
    import numpy as np

    by_size: dict = {}
    for cell_id, adjacency, operations in cells:
        size = math.isqrt(len(adjacency))
        if 2 <= size <= MAX_VERTICES and size * size == len(adjacency) and 0 < cell_id <= MAX_FORM_CELL_ID:
            by_size.setdefault(size, []).append((cell_id, adjacency, operations))
    table: dict = {}
    for size, group in sorted(by_size.items()):
        digits_of: dict = {}  # operations string -> interior op digits (None: not a valid labelling)
        for _, _, operations in group:
            if operations not in digits_of:
                ops = operations.split(",")
                valid = len(ops) == size and ops[0] == INPUT and ops[-1] == OUTPUT and \
                    all(op in _OP_DIGIT for op in ops[1:-1])
                digits_of[operations] = [_OP_DIGIT[op] for op in ops[1:-1]] if valid else None
        keep = [c for c in group if digits_of[c[2]] is not None and set(c[1]) <= {"0", "1"}]
        if not keep:
            continue
        ids = np.array([c[0] for c in keep], dtype=np.int64)
        adj = (np.frombuffer("".join(c[1] for c in keep).encode("ascii"), dtype=np.uint8) - 48).reshape(-1, size, size)
        digits = np.array([digits_of[c[2]] for c in keep], dtype=np.int64).reshape(len(keep), size - 2)
        pairs = [(i, j) for i in range(size) for j in range(i + 1, size)]
        # Stored cells are upper-triangular; a pruned one has an out-edge on every vertex but the last and an in-edge
        # on every vertex but the first; at most MAX_EDGES edges.
        lower = np.tril(np.ones((size, size), dtype=bool))
        ok = ~(adj.astype(bool) & lower).any(axis=(1, 2))
        ok &= adj[:, :-1, :].any(axis=2).all(axis=1) & adj[:, :, 1:].any(axis=1).all(axis=1)
        ok &= adj.sum(axis=(1, 2)) <= MAX_EDGES
        ids, adj, digits = ids[ok], adj[ok], digits[ok]
        if not len(ids):
            continue
        edge = np.stack([adj[:, i, j].astype(np.int64) for i, j in pairs], axis=1) if pairs else \
            np.zeros((len(ids), 0), dtype=np.int64)
        keys, codes, owners = [], [], []
        for order in itertools.permutations(range(1, size - 1)):
            perm = (0, *order, size - 1)  # new vertex k is old vertex perm[k]
            where = [0] * size
            for new, old in enumerate(perm):
                where[old] = new
            key = np.full(len(ids), size, dtype=np.int64)
            valid = np.ones(len(ids), dtype=bool)
            for p, (i, j) in enumerate(pairs):
                a, b = where[i], where[j]
                if a > b:
                    valid &= edge[:, p] == 0  # this edge would point backwards: not an upper-triangular form
                else:
                    key |= edge[:, p] << (3 + pairs.index((a, b)))
            code = np.zeros(len(ids), dtype=np.int64)
            for k in range(size - 2, 0, -1):
                code = code * 3 + digits[:, perm[k] - 1]
            keys.append(key[valid])
            codes.append(code[valid])
            owners.append(ids[valid])
        key = np.concatenate(keys)
        code = np.concatenate(codes)
        owner = np.concatenate(owners)
        slots = 3 ** (size - 2)
        combined = key * slots + code
        order = np.lexsort((owner, combined))
        combined, owner = combined[order], owner[order]
        first = np.ones(len(combined), dtype=bool)
        first[1:] = combined[1:] != combined[:-1]
        # A form held by two cells (never for real data: isomorphic cells share a hash) is left to the hash.
        starts = np.flatnonzero(first)
        ends = np.append(starts[1:], len(combined))
        clash = owner[starts] != owner[ends - 1]
        combined, owner = combined[starts][~clash], owner[starts][~clash]
        matrix_keys, row = np.unique(combined // slots, return_inverse=True)
        grid = np.zeros((len(matrix_keys), slots), dtype=">u4")
        grid[row, combined % slots] = owner
        raw = grid.view(np.uint8).reshape(len(matrix_keys), slots, 4)[:, :, 4 - FORM_ID_BYTES:]
        for index, matrix_key_value in enumerate(matrix_keys.tolist()):
            table[matrix_key_value] = raw[index].tobytes()
    return table
