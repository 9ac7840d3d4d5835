"""The NAS-Bench-201 / NATS-Bench topology search space (``tss``): ops, encodings, indices, isomorphism, cost.

This is the one home of NB-201 space knowledge; convert, query and train import it. It imports nothing of the
project except :mod:`nasbench_db.errors`.

A cell is a DAG on 4 nodes: node 0 is the cell input, node ``j`` (1..3) is the sum over ``i < j`` of
``op_ij(node i)``, node 3 is the cell output. Each of the 6 edges carries one of :data:`OPS`. Encodings:

* **ops tuple** (the canonical form here): the 6 original op names in string-position order, i.e. edges
  ``0->1, 0->2, 1->2, 0->3, 1->3, 2->3`` (:data:`EDGES`);
* **arch string** (NB-201 / NATS): ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (``op~i`` is the edge from node i);
* **NNI dict**: ``{'0_1': op, '0_2': op, '1_2': op, '0_3': op, '1_3': op, '2_3': op}`` with NNI's op names
  (:data:`NNI_OPS`: ``nor_conv_1x1`` and ``nor_conv_3x3`` become ``conv_1x1`` and ``conv_3x3``);
* **NASLib op indices** (NAS-Bench-Suite-Zero's ``zc_nasbench201.json`` keys): 6 op codes into :data:`NASLIB_OPS`
  (``0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3``) in NASLib's edge order
  ``(1,2), (1,3), (1,4), (2,3), (2,4), (3,4)`` (NASLib numbers the nodes from 1), i.e. our edges
  ``0->1, 0->2, 0->3, 1->2, 1->3, 2->3`` (:data:`NASLIB_EDGES`; :func:`from_naslib`, :func:`to_naslib`);
* **index** 0..15,624: the position in the benchmark's ``meta_archs`` list. That list is
  ``itertools.product(OPS, repeat=6)`` (edge 0->1 outermost) shuffled by ``random.seed(88)``, as the original
  ``generate_meta_info`` builds it (:func:`meta_archs`; checked against the released ``meta.pickle.pbz2``).

Unique topologies (:func:`unique_str`) follow the original ``TopologyStructure.to_unique_str(consider_zero=True)``:
``none`` edges and edges leaving an all-zero node contribute a zero, ``skip_connect`` forwards its input unchanged,
the inputs of each node are sorted. It partitions the 15,625 cells into :data:`NUM_UNIQUE` = 6,466 classes;
:func:`unique_index` names each class by its smallest member index.

Parameters and FLOPs (:func:`parameters`, :func:`flops`) are closed forms of the original counting
(``flop_benchmark.py``: every parameter incl. BN affine; multiply-adds of Conv2d and Linear for one image) for the
benchmark network (16 channels, 5 cells per stage). They depend only on the number of ``nor_conv_3x3`` and
``nor_conv_1x1`` edges, the number of classes and the input resolution.
"""

from __future__ import annotations

import itertools
import random
import re
from functools import lru_cache
from typing import Sequence

from ..errors import OutOfSearchSpace

# --------------------------------------------------------------------------------------------------------------------
# Constants

NONE = "none"
SKIP_CONNECT = "skip_connect"
NOR_CONV_1X1 = "nor_conv_1x1"
NOR_CONV_3X3 = "nor_conv_3x3"
AVG_POOL_3X3 = "avg_pool_3x3"
#: Original op names in canonical order (also the ``str2matrix`` codes 0..4 and the index enumeration order).
OPS = (NONE, SKIP_CONNECT, NOR_CONV_1X1, NOR_CONV_3X3, AVG_POOL_3X3)
#: NNI's names for the same ops, position by position.
NNI_OPS = ("none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3")
NNI_NAME = dict(zip(OPS, NNI_OPS))
ORIGINAL_NAME = dict(zip(NNI_OPS, OPS))
#: Op name (either naming) -> code 0..4.
OP_CODE = {**{op: i for i, op in enumerate(OPS)}, **{op: i for i, op in enumerate(NNI_OPS)}}

NUM_NODES = 4
#: Edges (from, to) in arch-string position order.
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: NNI dict keys in the same order.
NNI_KEYS = tuple(f"{i}_{j}" for i, j in EDGES)
NUM_EDGES = len(EDGES)
NUM_ARCHS = len(OPS) ** NUM_EDGES  # 15,625
#: Isomorphism classes under :func:`unique_str` (``to_unique_str(consider_zero=True)``).
NUM_UNIQUE = 6466
#: ``random.seed`` of the original index order.
META_SEED = 88

#: Datasets under NNI's (lower-case) names, in NNI's order.
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "imagenet16-120")
#: NNI name -> the name used in the original files.
ORIGINAL_DATASET = {"cifar10-valid": "cifar10-valid", "cifar10": "cifar10", "cifar100": "cifar100",
                    "imagenet16-120": "ImageNet16-120"}
NUM_CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "imagenet16-120": 120}
#: Input side in pixels (ImageNet16-120 images are 16 x 16).
INPUT_SIZE = {"cifar10-valid": 32, "cifar10": 32, "cifar100": 32, "imagenet16-120": 16}
#: Epoch budgets of the benchmark (NB-201 ``less``/``full``; NATS hp ``'12'``/``'200'``).
EPOCHS = (12, 200)
NUM_CHANNELS = 16
NUM_CELLS = 5

_ARCH_STR_RE = re.compile(r"^\|([^|~]+)~0\|\+\|([^|~]+)~0\|([^|~]+)~1\|\+\|([^|~]+)~0\|([^|~]+)~1\|([^|~]+)~2\|$")

Ops = tuple  # 6 original op names


# --------------------------------------------------------------------------------------------------------------------
# Encodings


def _check_op(op, where: str) -> str:
    if not isinstance(op, str):
        raise OutOfSearchSpace(f"{where}: op must be a string, got {type(op).__name__} {op!r}")
    original = op if op in NNI_NAME else ORIGINAL_NAME.get(op)
    if original is None:
        raise OutOfSearchSpace(f"{where}: unknown op {op!r}: expected one of {', '.join(OPS)} "
                               f"(or NNI's {', '.join(NNI_OPS)})")
    return original


def parse_arch_str(text: str) -> Ops:
    """Ops tuple of an arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (either op naming accepted)."""
    if not isinstance(text, str):
        raise OutOfSearchSpace(f"arch string must be a str: got {type(text).__name__}")
    match = _ARCH_STR_RE.match(text.strip())
    if match is None:
        raise OutOfSearchSpace(
            f"not an NB-201 arch string: {text!r} (expected 3 nodes with 1, 2 and 3 inputs, "
            "e.g. '|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|')")
    return tuple(_check_op(op, f"edge {i}->{j}") for op, (i, j) in zip(match.groups(), EDGES))


def arch_str(arch) -> str:
    """The original arch string of ``arch`` (any accepted form)."""
    ops = ops_of(arch)
    return (f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|")


def to_nni(arch) -> dict:
    """NNI's arch dict ``{'0_1': ..., '2_3': ...}`` (NNI op names) of ``arch`` (any accepted form)."""
    return {key: NNI_NAME[op] for key, op in zip(NNI_KEYS, ops_of(arch))}


def from_nni(arch: dict) -> Ops:
    """Ops tuple of NNI's arch dict (keys ``'0_1'``..``'2_3'``; NNI or original op names)."""
    if not isinstance(arch, dict):
        raise OutOfSearchSpace(f"NNI arch must be a dict: got {type(arch).__name__}")
    keys = set(arch)
    if keys != set(NNI_KEYS):
        missing = sorted(set(NNI_KEYS) - keys)
        extra = sorted(map(str, keys - set(NNI_KEYS)))
        detail = "; ".join(part for part in (f"missing {missing}" if missing else "",
                                             f"unexpected {extra}" if extra else "") if part)
        raise OutOfSearchSpace(f"NNI arch dict must have exactly the 6 edge keys {list(NNI_KEYS)}: {detail}")
    return tuple(_check_op(arch[key], f"edge {key}") for key in NNI_KEYS)


def ops_of(arch) -> Ops:
    """Canonical ops tuple of ``arch``: an index (int), an arch string, an NNI dict or a sequence of 6 ops."""
    if isinstance(arch, tuple) and len(arch) == NUM_EDGES and all(op in NNI_NAME for op in arch):
        return arch
    if isinstance(arch, bool):
        raise OutOfSearchSpace(f"arch must be an index, arch string, NNI dict or 6 ops: got {arch!r}")
    if isinstance(arch, int) or type(arch).__name__ in ("int64", "int32", "uint32", "uint64"):
        return arch_of_index(int(arch))
    if isinstance(arch, str):
        return parse_arch_str(arch)
    if isinstance(arch, dict):
        return from_nni(arch)
    if isinstance(arch, (list, tuple)):
        if len(arch) != NUM_EDGES:
            raise OutOfSearchSpace(f"an NB-201 cell has {NUM_EDGES} edges: got {len(arch)} ops")
        return tuple(_check_op(op, f"edge {i}->{j}") for op, (i, j) in zip(arch, EDGES))
    raise OutOfSearchSpace(f"arch must be an index, arch string, NNI dict or 6 ops: got {type(arch).__name__}")


#: NASLib's op list for this space (``OP_NAMES_NB201`` in NASLib's ``conversions.py``): a NASLib op index points here.
NASLIB_OPS = (SKIP_CONNECT, NONE, NOR_CONV_3X3, NOR_CONV_1X1, AVG_POOL_3X3)
#: NASLib's edge order ``EDGE_LIST = (1,2), (1,3), (1,4), (2,3), (2,4), (3,4)`` in our 0-based node numbering.
NASLIB_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
#: For each NASLib position, the position of the same edge in :data:`EDGES`.
_NASLIB_POSITION = tuple(EDGES.index(edge) for edge in NASLIB_EDGES)


def from_naslib(op_indices) -> Ops:
    """Ops tuple of NASLib's 6 op indices (``convert_op_indices_to_str`` order; see :data:`NASLIB_OPS`)."""
    if isinstance(op_indices, (str, bytes)) or not hasattr(op_indices, "__len__"):
        raise OutOfSearchSpace(f"NASLib op indices must be a sequence of 6 ints: got {op_indices!r}")
    if len(op_indices) != NUM_EDGES:
        raise OutOfSearchSpace(f"NASLib op indices of an NB-201 cell are {NUM_EDGES} ints: got {len(op_indices)}")
    ops = [None] * NUM_EDGES
    for position, code in enumerate(op_indices):
        if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code < len(NASLIB_OPS):
            raise OutOfSearchSpace(f"NASLib op index at position {position} must be 0..{len(NASLIB_OPS) - 1} "
                                   f"({', '.join(f'{i} {op}' for i, op in enumerate(NASLIB_OPS))}): got {code!r}")
        ops[_NASLIB_POSITION[position]] = NASLIB_OPS[code]
    return tuple(ops)


def to_naslib(arch) -> tuple:
    """NASLib's 6 op indices of ``arch`` (any accepted form): the key NASLib's zero-cost files use."""
    ops = ops_of(arch)
    return tuple(NASLIB_OPS.index(ops[position]) for position in _NASLIB_POSITION)


def codes(arch) -> tuple:
    """The 6 op codes (0..4, :data:`OPS` order) in edge order."""
    return tuple(OP_CODE[op] for op in ops_of(arch))


def to_matrix(arch) -> list:
    """4 x 4 matrix of op codes as the original ``str2matrix``: ``m[j][i]`` = code of edge i->j (0 = none)."""
    matrix = [[0] * NUM_NODES for _ in range(NUM_NODES)]
    for op, (i, j) in zip(ops_of(arch), EDGES):
        matrix[j][i] = OP_CODE[op]
    return matrix


def node_inputs(arch) -> tuple:
    """Per node 1..3 the incoming ``(op, from_node)`` pairs in string order (as ``CellStructure.nodes``)."""
    ops = ops_of(arch)
    return ((ops[0], 0),), ((ops[1], 0), (ops[2], 1)), ((ops[3], 0), (ops[4], 1), (ops[5], 2))


# --------------------------------------------------------------------------------------------------------------------
# Index order


@lru_cache(maxsize=1)
def _meta() -> tuple:
    cells = list(itertools.product(OPS, repeat=NUM_EDGES))
    random.Random(META_SEED).shuffle(cells)
    return tuple(cells)


@lru_cache(maxsize=1)
def _index_of_ops() -> dict:
    return {ops: i for i, ops in enumerate(_meta())}


def meta_archs() -> list:
    """The 15,625 arch strings in index order (the ``meta_archs`` list of the released files)."""
    return [arch_str(ops) for ops in _meta()]


def arch_of_index(index: int) -> Ops:
    """Ops tuple of benchmark index ``index`` (0..15,624)."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise OutOfSearchSpace(f"arch index must be an int: got {index!r}")
    if not 0 <= index < NUM_ARCHS:
        raise OutOfSearchSpace(f"arch index out of range: got {index}, expected 0..{NUM_ARCHS - 1}")
    return _meta()[index]


@lru_cache(maxsize=1)
def _index_of_nni_ops() -> dict:
    return {tuple(NNI_NAME[op] for op in ops): i for i, ops in enumerate(_meta())}


def index_of_nni(arch) -> int | None:
    """The index of NNI's arch dict in NNI's own form (exactly the six edge keys, NNI op names) in one lookup, the
    point query's path for a fresh dict; None for any other input, which :func:`index_of` then reads (and reports)."""
    if type(arch) is not dict or len(arch) != NUM_EDGES:
        return None
    try:
        return _index_of_nni_ops().get(tuple(map(arch.__getitem__, NNI_KEYS)))
    except (KeyError, TypeError):  # a key missing, an unhashable op: the checking path names the problem
        return None


def index_of(arch) -> int:
    """Benchmark index (0..15,624) of ``arch`` (any accepted form)."""
    if isinstance(arch, int) and not isinstance(arch, bool):
        arch_of_index(arch)
        return arch
    return _index_of_ops()[ops_of(arch)]


# --------------------------------------------------------------------------------------------------------------------
# Isomorphism


def unique_str(arch) -> str:
    """Isomorphism key, as the original ``to_unique_str(consider_zero=True)``.

    Node 0 is ``'0'``. An edge contributes ``'#'`` (zero) if its op is ``none`` or its source node is exactly
    ``'#'``; its source's string if the op is ``skip_connect``; else ``'(' + source + ')@' + op``. A node is its
    contributions sorted and joined with ``'+'``; the key is node 3's string.
    """
    return nodes_unique_str(node_inputs(arch), consider_zero=True)


# General cell genotypes (any number of nodes and ops): what the original ``TopologyStructure`` works on. A genotype
# is a tuple of nodes 1..N, each a tuple of ``(op, source node)`` pairs in string order.


def parse_genotype(text: str) -> tuple:
    """Nodes of a genotype string ``|op~0|+|op~0|op~1|...`` of any size (node j's inputs between '+'); raises
    OutOfSearchSpace naming the bad piece."""
    if not isinstance(text, str):
        raise OutOfSearchSpace(f"a genotype string must be a str: got {type(text).__name__}")
    nodes = []
    for node_text in text.split("+"):
        node = []
        for piece in filter(None, node_text.split("|")):
            parts = piece.split("~")
            if len(parts) != 2:
                raise OutOfSearchSpace(f"invalid input {piece!r} in {text!r}: expected 'op~source'")
            try:
                node.append((parts[0], int(parts[1])))
            except ValueError:
                raise OutOfSearchSpace(f"invalid source node {parts[1]!r} in {text!r}: expected an integer") \
                    from None
        nodes.append(tuple(node))
    return tuple(nodes)


def genotype_str(nodes) -> str:
    """The string of a genotype (inverse of :func:`parse_genotype`)."""
    return "+".join("|" + "|".join(f"{op}~{source}" for op, source in node) + "|" for node in nodes)


def nodes_unique_str(nodes, consider_zero=True) -> str:
    """The original ``to_unique_str`` of a genotype. ``consider_zero``: True as :func:`unique_str`; False keeps
    ``none`` edges as ops (only ``skip_connect`` forwards); None keeps every op as written."""
    values = ["0"]
    for node in nodes:
        parts = []
        for op, source in node:
            value = values[source]
            if consider_zero is None:
                parts.append(f"({value})@{op}")
            elif consider_zero and (op == NONE or value == "#"):
                parts.append("#")
            elif op == SKIP_CONNECT:
                parts.append(value)
            else:
                parts.append(f"({value})@{op}")
        values.append("+".join(sorted(parts)))
    return values[len(nodes)]


def nodes_have_path(nodes) -> bool:
    """True if some path from node 0 to the last node avoids ``none`` (the original ``check_valid``)."""
    alive = [True]
    for node in nodes:
        alive.append(any(op != NONE and alive[source] for op, source in node))
    return alive[len(nodes)]


@lru_cache(maxsize=1)
def _unique_classes() -> tuple:
    first: dict = {}
    rep = []
    for index, ops in enumerate(_meta()):
        rep.append(first.setdefault(unique_str(ops), index))
    return tuple(rep)


def unique_index(arch) -> int:
    """The smallest benchmark index isomorphic to ``arch`` (same :func:`unique_str`): a class id for dedupe."""
    return _unique_classes()[index_of(arch)]


def unique_indices() -> tuple:
    """``unique_index`` of every index 0..15,624, in index order."""
    return _unique_classes()


def has_path(arch) -> bool:
    """True if some input->output path avoids ``none`` (the original ``check_valid``); else the output is zero."""
    return nodes_have_path(node_inputs(arch))


# --------------------------------------------------------------------------------------------------------------------
# Cost (closed forms for the benchmark network: C=16, N=5)

#: params = (PARAMS_BASE + PARAMS_PER_CLASS * K + PARAMS_CONV3X3 * n3 + PARAMS_CONV1X1 * n1) / 1e6
PARAMS_BASE = 72_656
PARAMS_PER_CLASS = 65  # Linear(64, K): 64 K weights + K biases
PARAMS_CONV3X3 = 243_040
PARAMS_CONV1X1 = 28_000
#: FLOPs = (base[side] + 65 K + per_conv3x3[side] * n3 + per_conv1x1[side] * n1) / 1e6, multiply-adds per image
FLOPS_BASE = {32: 7_782_400, 16: 1_945_600}
FLOPS_CONV3X3 = {32: 35_389_440, 16: 8_847_360}
FLOPS_CONV1X1 = {32: 3_932_160, 16: 983_040}


def count_convs(arch) -> tuple:
    """``(n_conv3x3, n_conv1x1)``: edges carrying ``nor_conv_3x3`` / ``nor_conv_1x1``."""
    ops = ops_of(arch)
    return ops.count(NOR_CONV_3X3), ops.count(NOR_CONV_1X1)


def check_dataset(dataset: str) -> str:
    """NNI's lower-case dataset name for ``dataset`` (case-insensitive); OutOfSearchSpace if unknown."""
    if not isinstance(dataset, str) or dataset.lower() not in NUM_CLASSES:
        raise OutOfSearchSpace(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)} "
                               "(case-insensitive)")
    return dataset.lower()


def parameters(arch, dataset: str) -> float:
    """Parameters of the benchmark network in millions (all parameters, BN affine included)."""
    n3, n1 = count_convs(arch)
    classes = NUM_CLASSES[check_dataset(dataset)]
    return (PARAMS_BASE + PARAMS_PER_CLASS * classes + PARAMS_CONV3X3 * n3 + PARAMS_CONV1X1 * n1) / 1e6


def flops(arch, dataset: str) -> float:
    """Multiply-adds of Conv2d and Linear layers for one image, in millions (pooling not counted)."""
    n3, n1 = count_convs(arch)
    dataset = check_dataset(dataset)
    side = INPUT_SIZE[dataset]
    return (FLOPS_BASE[side] + PARAMS_PER_CLASS * NUM_CLASSES[dataset] + FLOPS_CONV3X3[side] * n3
            + FLOPS_CONV1X1[side] * n1) / 1e6


def random_arch(rng: random.Random | None = None) -> Ops:
    """A uniformly random cell (ops tuple)."""
    rng = rng or random
    return tuple(rng.choice(OPS) for _ in range(NUM_EDGES))


def all_archs() -> Sequence[Ops]:
    """Every cell's ops tuple in index order."""
    return _meta()


# --------------------------------------------------------------------------------------------------------------------
# Search tools: mutation, neighbourhoods, edit distance, sampling over isomorphism classes


def mutate(arch, rng: random.Random) -> Ops:
    """One edit: a uniformly chosen edge gets a different op, chosen uniformly among the 4 others.

    Every NB-201 cell is valid (a cell without an input->output path just computes zero), so no redraw is needed.
    The child may be isomorphic to the parent (same :func:`unique_index`), e.g. when the edge leaves a zero node.
    """
    ops = list(ops_of(arch))
    edge = rng.randrange(NUM_EDGES)
    ops[edge] = rng.choice([op for op in OPS if op != ops[edge]])
    return tuple(ops)


def neighbours(arch, distinct: bool = False) -> list:
    """The 24 cells one edit away (edges in string order, ops in :data:`OPS` order).

    ``distinct``: keep one cell per isomorphism class (:func:`unique_index`), none in ``arch``'s own class.
    """
    ops = ops_of(arch)
    found = []
    seen = {unique_index(ops)} if distinct else set()
    for edge in range(NUM_EDGES):
        for op in OPS:
            if op == ops[edge]:
                continue
            child = ops[:edge] + (op,) + ops[edge + 1:]
            if distinct:
                cls = unique_index(child)
                if cls in seen:
                    continue
                seen.add(cls)
            found.append(child)
    return found


@lru_cache(maxsize=1)
def _class_members() -> dict:
    members: dict = {}
    for index, cls in enumerate(_unique_classes()):
        members.setdefault(cls, []).append(_meta()[index])
    return members


def edit_distance(a, b, isomorphism: bool = False) -> int:
    """Edges whose ops differ (Hamming distance on the 6 edges).

    ``isomorphism=True``: the smallest such distance between any member of ``a``'s isomorphism class and any of
    ``b``'s (0 exactly for isomorphic cells).
    """
    ops_a, ops_b = ops_of(a), ops_of(b)
    if not isomorphism:
        return sum(x != y for x, y in zip(ops_a, ops_b))
    members = _class_members()
    group_a, group_b = members[unique_index(ops_a)], members[unique_index(ops_b)]
    return min(sum(x != y for x, y in zip(p, q)) for p in group_a for q in group_b)


def random_unique(rng: random.Random) -> Ops:
    """A cell drawn uniformly over the :data:`NUM_UNIQUE` isomorphism classes (the class's smallest index)."""
    classes = sorted(_class_members())
    return arch_of_index(classes[rng.randrange(len(classes))])
