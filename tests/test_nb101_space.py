"""NB-101 space: hash vectors, isomorphism invariance, pruning, validation messages, encodings, enumeration."""

from __future__ import annotations

import random

import pytest

from nasbench_db.errors import OutOfSearchSpace
from nasbench_db.spaces import nb101 as space

C3, C1, MP = space.CONV3X3, space.CONV1X1, space.MAXPOOL3X3
ABBREV = {"I": "input", "O": "output", "C3": C3, "C1": C1, "MP": MP}


def rows(text: str):
    return [[int(c) for c in row] for row in text.split("/")]


def ops(text: str):
    return [ABBREV[t] for t in text.split(",")]


# (matrix rows, ops, hash): nb101.md §4 test vectors; the first three are the released file's own hashes.
HASH_VECTORS = [
    ("0111010/0000001/0000001/0000100/0000001/0000001/0000000", "I,C1,C3,C3,C3,MP,O", "28cfc7874f6d200472e1a9dcd8650aa0"),
    ("0111100/0000001/0000001/0000001/0000010/0000001/0000000", "I,C3,C1,MP,C3,C3,O", "28cfc7874f6d200472e1a9dcd8650aa0"),
    ("0100110/0010000/0001001/0000010/0000010/0000001/0000000", "I,C3,MP,C3,C3,C1,O", "00005c142e6f48ac74fdcf73e3439874"),
    ("01/00", "I,O", "043721b9c7fe8c5fad811d47d83132ec"),
    ("010/001/000", "I,C3,O", "b49ac8c578b4561d79ac7087988f1c61"),
    ("010/001/000", "I,C1,O", "d1269d9156ddc027c40473008192958a"),
    ("010/001/000", "I,MP,O", "53cee42601ad14d661bb6878031d6acb"),
    ("011/001/000", "I,C3,O", "d32d0b26d534203b48d866facd98cc3e"),
    ("0101/0010/0001/0000", "I,C3,C3,O", "b5fb4f6193360330b6ff6a52cbf0cad7"),
]


@pytest.mark.parametrize("matrix,labels,expected", HASH_VECTORS)
def test_hash_vectors(matrix, labels, expected):
    assert space.canonical(rows(matrix), ops(labels))[2] == expected


def test_nni_docstring_arch_hash():
    arch = {"op1": C3, "op2": MP, "op3": C3, "op4": C3, "op5": C1, "input1": [0], "input2": [1], "input3": [2],
            "input4": [0], "input5": [0, 3, 4], "input6": [2, 5]}
    assert space.arch_hash(arch) == "00005c142e6f48ac74fdcf73e3439874"


def test_hash_of_real_records(nb101_real_cells):
    for cell in nb101_real_cells:
        matrix = space.adjacency_to_matrix(cell["adjacency"])
        labels = cell["operations"].split(",")
        assert space.graph_hash(matrix, space.labeling(labels)) == cell["hash"]


def _random_dag(rng: random.Random, num_vertices: int):
    matrix = [[1 if j > i and rng.random() < 0.5 else 0 for j in range(num_vertices)] for i in range(num_vertices)]
    labels = [-1] + [rng.randrange(3) for _ in range(num_vertices - 2)] + [-2]
    return matrix, labels


def test_random_isomorphism_invariance():
    """1000 random graphs of 3..20 vertices: every vertex permutation hashes the same (graph_util_test's check)."""
    rng = random.Random(1234)
    for _ in range(1000):
        num_vertices = rng.randrange(3, 21)
        matrix, labels = _random_dag(rng, num_vertices)
        perm = list(range(num_vertices))
        rng.shuffle(perm)
        inverse = [0] * num_vertices
        for old, new in enumerate(perm):
            inverse[new] = old
        pmatrix = [[matrix[inverse[i]][inverse[j]] for j in range(num_vertices)] for i in range(num_vertices)]
        plabels = [labels[inverse[i]] for i in range(num_vertices)]
        assert space.graph_hash(matrix, labels) == space.graph_hash(pmatrix, plabels)


def test_permute_helper_matches_graph_util_convention():
    matrix, labels = rows(HASH_VECTORS[0][0]), ops(HASH_VECTORS[0][1])
    pmatrix, plabels = space.permute(matrix, labels, [0, 2, 1, 3, 4, 5, 6])
    assert pmatrix[0][2] == 1 and plabels[2] == labels[1]
    assert space.graph_hash(pmatrix, space.labeling(plabels)) == HASH_VECTORS[0][2]


def test_float_and_bool_matrices_normalised():
    matrix = rows(HASH_VECTORS[2][0])
    as_float = [[float(e) for e in r] for r in matrix]
    as_bool = [[bool(e) for e in r] for r in matrix]
    expected = HASH_VECTORS[2][2]
    assert space.canonical(as_float, ops(HASH_VECTORS[2][1]))[2] == expected
    assert space.canonical(as_bool, ops(HASH_VECTORS[2][1]))[2] == expected


def test_numpy_matrix_accepted():
    np = pytest.importorskip("numpy")
    matrix = np.array(rows(HASH_VECTORS[0][0]), dtype=np.int8)
    assert space.canonical(matrix, ops(HASH_VECTORS[0][1]))[2] == HASH_VECTORS[0][2]


def test_prune_dangling_and_island():
    # Vertex 2 dangles (an in-edge, no path to output); vertex 3 is an island; both removed like ModelSpec._prune.
    matrix = rows("01101/00001/00000/00000/00000")
    pmatrix, pops, _ = space.canonical(matrix, ["input", C3, C1, MP, "output"])
    assert pmatrix == ((0, 1, 1), (0, 0, 1), (0, 0, 0))
    assert pops == ["input", C3, "output"]


def test_prune_keeps_input_output_edge_only():
    pmatrix, pops, digest = space.canonical(rows("0101/0000/0000/0000"), ["input", C3, C1, "output"])
    assert pops == ["input", "output"] and digest == "043721b9c7fe8c5fad811d47d83132ec"


def test_disconnected_is_invalid():
    with pytest.raises(OutOfSearchSpace, match="disconnected"):
        space.canonical([[0, 0], [0, 0]], ["input", "output"])
    assert not space.is_valid([[0, 0], [0, 0]], ["input", "output"])


def test_ops_at_pruned_vertices_not_validated():
    # The dangling vertex has a bogus op; the original validates only the pruned cell.
    pmatrix, pops, _ = space.canonical(rows("0101/0000/0000/0000"), ["input", "bogus", C1, "output"])
    assert pops == ["input", "output"]


@pytest.mark.parametrize("matrix,labels,message", [
    ("0111111111/" + "/".join("0" * (i + 2) + "1" * (8 - i) for i in range(9)),
     ["input"] + [C3] * 8 + ["output"], "too many vertices: got 10, max 7"),
    ("0111110/0011111/0001111/0000111/0000011/0000001/0000000", ["input"] + [C3] * 5 + ["output"],
     "too many edges: got 20, max 9"),
    ("010/001/000", ["input", "conv5x5", "output"], "unsupported op 'conv5x5' at vertex 1"),
    ("010/001/000", [C3, C3, "output"], "first op must be 'input'"),
    ("010/001/000", ["input", C3, C3], "last op must be 'output'"),
])
def test_validation_messages_state_the_limit(matrix, labels, message):
    with pytest.raises(OutOfSearchSpace, match=message):
        space.canonical(rows(matrix), labels)


def test_seven_vertices_with_ten_edges_valid_after_pruning():
    # 11 edges, but vertex 4 dangles; pruning removes it and its 2 in-edges, leaving 9 (the limit).
    matrix = rows("0110011/0011000/0001100/0000101/0000000/0000001/0000000")
    assert sum(map(sum, matrix)) == 11
    pmatrix, _, _ = space.canonical(matrix, ["input", C3, C3, C3, C3, C1, "output"])
    assert len(pmatrix) == 6 and sum(map(sum, pmatrix)) == 9


@pytest.mark.parametrize("matrix,labels,message", [
    ([[0, 1], [1, 0]], ["input", "output"], "upper-triangular"),
    ([[0, 1, 0], [0, 0, 1]], ["input", C3, "output"], "square"),
    ([[0, 2], [0, 0]], ["input", "output"], "0 or 1: got 2 at \\(0, 1\\)"),
    ([[0, 1], [0, 0]], ["input", C3, "output"], "got 3 ops for 2 vertices"),
    ([[0, 1], [0, 0]], "input,output", "list of op names"),
    ("0110", ["input", "output"], "list of rows"),
])
def test_check_matrix_errors(matrix, labels, message):
    with pytest.raises(OutOfSearchSpace, match=message):
        space.canonical(matrix, labels)


def test_nni_dict_roundtrip():
    matrix, labels = rows(HASH_VECTORS[2][0]), ops(HASH_VECTORS[2][1])
    arch = space.matrix_to_arch(matrix, labels)
    assert arch["input5"] == [0, 3, 4] and arch["op2"] == MP
    back, back_ops = space.arch_to_matrix(arch)
    assert [list(r) for r in back] == matrix and back_ops == labels
    # Predecessor order and key order do not matter.
    shuffled = dict(reversed(list(arch.items())))
    shuffled["input5"] = [4, 0, 3]
    assert space.arch_hash(shuffled) == HASH_VECTORS[2][2]


@pytest.mark.parametrize("arch,message", [
    ({"op1": C3, "input1": [0]}, "missing 'input2'"),
    ({"op1": C3, "op3": C3, "input1": [0], "input2": [1]}, "op keys must be op1..op2"),
    ({"op1": C3, "input1": [0], "input2": [2]}, "input2 may only list vertices 0..1"),
    ({"op1": C3, "input1": [0], "input2": [1], "extra": 1}, "unexpected arch keys"),
    ({"matrix": [[0, 1], [0, 0]]}, "exactly the keys 'matrix' and 'ops'"),
    ([1, 2, 3], "arch must be a dict"),
])
def test_arch_dict_errors(arch, message):
    with pytest.raises(OutOfSearchSpace, match=message):
        space.parse_arch(arch)


def test_adjacency_string_roundtrip():
    text = "0100110001000000010010000010000001000000010000000"
    matrix = space.adjacency_to_matrix(text)
    assert matrix[0] == (0, 1, 0, 0, 1, 1, 0)
    assert space.matrix_to_adjacency(matrix) == text
    with pytest.raises(OutOfSearchSpace, match="square"):
        space.adjacency_to_matrix("010")


def test_enumeration_counts_match_the_original():
    """generate_graphs.py counts for V = 2..5 (nb101.md §5): full DAGs and new unique hashes."""
    expected = {2: (1, 1), 3: (2, 6), 4: (10, 84), 5: (121, 2441)}
    seen = set()
    for num_vertices, (dags, new_hashes) in expected.items():
        assert sum(1 for _ in space.enumerate_full_dags(num_vertices)) == dags
        before = len(seen)
        for matrix, labels in space.enumerate_labelled(num_vertices):
            seen.add(space.graph_hash(matrix, space.labeling(labels)))
        assert len(seen) - before == new_hashes


def test_random_cell_is_valid():
    rng = random.Random(3)
    for _ in range(50):
        matrix, labels = space.random_cell(rng)
        assert space.is_valid(matrix, labels)


def _checked_form(arch):
    """What the checking path answers for ``arch``: ``(matrix key, ops code)`` or the error's message."""
    try:
        matrix, cell_ops = space.parse_arch(arch)
        return space.pruned_form(matrix, cell_ops, checked=True)[2:]
    except OutOfSearchSpace as exc:
        return str(exc)


def test_nni_form_equals_the_checking_path_on_random_dicts():
    """The bit-mask reading of an NNI dict answers exactly as parse + prune + validate + keys wherever it answers,
    and leaves to that path only dicts it refuses (so nothing valid is ever read twice for nothing)."""
    rng = random.Random(7)
    answered = refused = 0
    for _ in range(20000):
        size = rng.randint(2, 7)
        arch = {f"op{i}": rng.choice((C3, C1, MP, C3, C1, MP, "conv5x5")) for i in range(1, size - 1)}
        for i in range(1, size):
            arch[f"input{i}"] = sorted(rng.sample(range(i), rng.randint(0 if rng.random() < 0.1 else 1, min(i, 3))))
            if rng.random() < 0.02:  # unsorted, repeated: still the same edges
                arch[f"input{i}"] = arch[f"input{i}"][::-1] * 2
        form, checked = space.nni_form(arch), _checked_form(arch)
        if form is None:
            assert isinstance(checked, str), arch
            refused += 1
        else:
            assert form == checked, arch
            answered += 1
    assert answered > 10000 and refused > 1000  # both sides exercised: pruned, disconnected, > 9 edges, bad ops


@pytest.mark.parametrize("arch", [
    None, "abc", {"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]},
    {"input1": [0], "op1": C3},  # even number of keys
    {"op1": C3, "input1": [0], "input3": [1]},  # a key missing
    {"op1": [C3], "input1": [0], "input2": [1]},  # op not a string
    {"op1": C3, "input1": (0,), "input2": [1]},  # inputs not a list
    {"op1": C3, "input1": [True], "input2": [1]},  # a bool is not a vertex here
    {"op1": C3, "input1": [0], "input2": [2]},  # not a predecessor
    {"op1": "conv5x5", "input1": [0], "input2": [1]},  # not an op of the space
    {"op1": C3, "input1": [], "input2": [1]},  # disconnected
])
def test_nni_form_leaves_other_input_to_the_checking_path(arch):
    assert space.nni_form(arch) is None


def test_nni_form_reads_no_op_of_a_pruned_vertex():
    # Vertex 1 is not on a path to the output: pruned before validation, its op is never checked (as ModelSpec).
    arch = {"op1": "conv5x5", "input1": [0], "input2": [0]}
    assert space.nni_form(arch) == _checked_form(arch) == (2 | 8, 0)
