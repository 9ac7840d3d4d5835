"""Search-space tools, budget-accounted simulators and baseline searches (nasbench_db.search), and their CLI."""

from __future__ import annotations

import collections
import itertools
import json
import math
import random
import statistics

import pytest
from click.testing import CliRunner

from nasbench_db import db as _db
from nasbench_db.cli import cli
from nasbench_db.errors import InvalidArgument, OutOfSearchSpace
from nasbench_db.search import NB101Simulator, NB201Simulator, run_search
from nasbench_db.search.nb101 import Genotypes, build_form_table, form_key
from nasbench_db.spaces import nb101 as space
from nasbench_db.spaces import nb201 as space201

import search_fixture
from conftest import count_statements

INCEPTION_MATRIX = [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                    [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
INCEPTION_OPS = ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3",
                 "output"]
INCEPTION = {"matrix": INCEPTION_MATRIX, "ops": INCEPTION_OPS}
INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"
# The README cell's three 108-epoch runs (spec section 7), in percent.
INCEPTION_VALID = [93.76001358032227, 93.78004670143127, 93.36938858032227]
INCEPTION_TEST = [93.11898946762085, 93.2692289352417, 92.86859035491943]
INCEPTION_TIME = [1155.85302734375, 1157.675048828125, 1154.361083984375]


@pytest.fixture(scope="session")
def landscape101(tmp_path_factory):
    """Every NB-101 cell of at most 5 vertices (2,532), 108 and 4 epochs, a landscape with locality."""
    directory = tmp_path_factory.mktemp("landscape101")
    scores = search_fixture.build_nb101_landscape(directory, max_vertices=5, epochs=(4, 108))
    return directory, scores


@pytest.fixture
def land101(landscape101, monkeypatch):
    directory, scores = landscape101
    monkeypatch.setenv("NASBENCHMARK_DIR", str(directory))
    return scores


@pytest.fixture(scope="session")
def landscape201(tmp_path_factory):
    directory = tmp_path_factory.mktemp("landscape201")
    scores = search_fixture.build_nb201_landscape(directory)
    return directory, scores


@pytest.fixture
def land201(landscape201, monkeypatch):
    directory, scores = landscape201
    monkeypatch.setenv("NASBENCHMARK_DIR", str(directory))
    return scores


# ----------------------------------------------------------------------------------------------------------------------
# NB-101 space tools


def _random_valid(rng, vertices=7):
    return space.random_cell(rng, vertices)


def test_pad_keeps_the_cell():
    pmatrix, pops, digest = space.canonical(INCEPTION_MATRIX[:], INCEPTION_OPS)
    small = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]
    matrix7, ops7 = space.pad(small, ops)
    assert len(matrix7) == 7 and ops7[0] == "input" and ops7[-1] == "output"
    assert space.canonical(matrix7, ops7)[2] == space.canonical(small, ops)[2]
    assert space.pad(pmatrix, pops) == (pmatrix, pops)
    with pytest.raises(OutOfSearchSpace, match="cannot pad a 7-vertex cell to 5"):
        space.pad(pmatrix, pops, 5)
    assert digest == INCEPTION_HASH


def test_single_edits_mutate_and_neighbours():
    rng = random.Random(3)
    for _ in range(30):
        matrix, ops = _random_valid(rng)
        edits = list(space.single_edits(matrix, ops))
        assert len(edits) == 21 + 2 * 5
        for child_matrix, child_ops in edits:
            changed = sum(a != b for ra, rb in zip(matrix, child_matrix) for a, b in zip(ra, rb))
            changed += sum(a != b for a, b in zip(ops, child_ops))
            assert changed == 1
        child = space.mutate(matrix, ops, rng)
        assert child in edits and space.is_valid(*child)
        parent_hash = space.canonical(matrix, ops)[2]
        hashes = [space.canonical(*n)[2] for n in space.neighbours(matrix, ops)]
        assert len(hashes) == len(set(hashes)) and parent_hash not in hashes
        valid_edits = {space.canonical(*e)[2] for e in edits if space.is_valid(*e)}
        assert set(hashes) == valid_edits - {parent_hash}
        assert len(space.neighbours(matrix, ops, distinct=False)) == sum(space.is_valid(*e) for e in edits)


def test_mutate_weights_genes_as_the_paper():
    # All 31 single edits of this genotype are valid: each edge gene is drawn with probability 1/26, each op
    # alternative with 1/52 (a gene, then one of its two other values).
    matrix = ((0, 1, 0, 0, 0, 0, 0), (0, 0, 1, 0, 0, 0, 0), (0, 0, 0, 1, 0, 0, 0), (0, 0, 0, 0, 1, 0, 0),
              (0, 0, 0, 0, 0, 1, 0), (0, 0, 0, 0, 0, 0, 1), (0,) * 7)
    ops = ["input"] + ["conv3x3-bn-relu"] * 5 + ["output"]
    edits = list(space.single_edits(matrix, ops))
    valid = [space.is_valid(*e) for e in edits]
    rng = random.Random(0)
    draws = 26_000
    counts = collections.Counter()
    for _ in range(draws):
        child = space.mutate(matrix, ops, rng)
        counts[edits.index((child[0], child[1]))] += 1
    total_valid_weight = sum((2 if k < 21 else 1) for k, ok in enumerate(valid) if ok)
    for k, ok in enumerate(valid):
        expected = draws * (2 if k < 21 else 1) / total_valid_weight if ok else 0
        assert abs(counts[k] - expected) <= 5 * math.sqrt(expected + 1), (k, counts[k], expected)


def test_isomorphic_forms_reproduce_the_enumeration_counts():
    # Spec section 5: 1 + 6 + 90 + 3,267 labelled graphs for 2..5 vertices, all forms of 1 + 6 + 84 + 2,441 cells.
    cells = search_fixture.nb101_cells(5)
    by_size = collections.Counter()
    forms = collections.Counter()
    for digest, matrix, ops in cells:
        found = space.isomorphic_forms(matrix, ops)
        assert found[0] == (matrix, ops)
        assert all(space.canonical(m, o)[2] == digest for m, o in found)
        by_size[len(matrix)] += 1
        forms[len(matrix)] += len(found)
    assert [by_size[v] for v in (2, 3, 4, 5)] == [1, 6, 84, 2441]
    assert [forms[v] for v in (2, 3, 4, 5)] == [1, 6, 90, 3267]


def test_edit_distance_is_a_metric_on_cells():
    rng = random.Random(5)
    cells = [_random_valid(rng) for _ in range(12)]
    for matrix, ops in cells[:6]:
        for form in space.isomorphic_forms(matrix, ops):
            assert space.edit_distance((matrix, ops), form) == 0
    for a, b, c in itertools.islice(itertools.permutations(cells, 3), 60):
        ab, bc, ac = space.edit_distance(a, b), space.edit_distance(b, c), space.edit_distance(a, c)
        assert ab == space.edit_distance(b, a)
        assert ac <= ab + bc
        assert (ab == 0) == (space.canonical(*a)[2] == space.canonical(*b)[2])
    # One op change on a pruned cell (no vertex pruned away) is distance 1; NNI arch dicts are accepted.
    pmatrix, pops, _ = space.canonical(INCEPTION_MATRIX, INCEPTION_OPS)
    changed = pops[:1] + ["maxpool3x3"] + pops[2:]
    assert space.edit_distance((pmatrix, pops), (pmatrix, changed)) == 1
    assert space.edit_distance(space.matrix_to_arch(pmatrix, pops), INCEPTION) == 0


def test_genotype_codes_agree_with_the_space_functions():
    genes = Genotypes(7)
    rng = random.Random(11)
    for _ in range(3000):
        code = genes.random_code(rng)
        matrix, ops = genes.decode(code)
        assert genes.encode(matrix, ops) == code
        valid = space.is_valid(matrix, ops)
        key = genes.form_key(code)
        assert (key >= 0) == valid
        if valid:
            pmatrix, pops, _ = space.canonical(matrix, ops)
            assert key == form_key(pmatrix, pops)
            edits = [genes.decode(c) for c in genes.edits(code)]
            assert edits == [(m, o) for m, o in space.single_edits(matrix, ops)]
            assert genes.random_edit(code, rng) in genes.edits(code)


def test_form_table_maps_every_labelled_graph_to_its_cell():
    cells = search_fixture.nb101_cells(5)
    table = build_form_table([len(m) for _, m, _ in cells], [space.matrix_to_adjacency(m) for _, m, _ in cells],
                             [",".join(o) for _, _, o in cells])
    assert len(table) == 1 + 6 + 90 + 3267
    index = {digest: i for i, (digest, _, _) in enumerate(cells)}
    for size in (2, 3, 4, 5):
        for matrix, ops in space.enumerate_labelled(size):
            assert table[form_key(matrix, ops)] == index[space.graph_hash(matrix, space.labeling(ops))]


# ----------------------------------------------------------------------------------------------------------------------
# NB-101 simulator on the real sample


def test_query_returns_one_real_run_and_charges_it(nb101_env):
    sim = NB101Simulator(epochs=108, seed=0)
    result = sim.query(INCEPTION)
    assert result["hash"] == INCEPTION_HASH
    assert "test_acc" not in result
    repeat = result["repeat"]
    assert result["valid_acc"] == pytest.approx(INCEPTION_VALID[repeat], abs=1e-9)
    assert result["training_time"] == INCEPTION_TIME[repeat]
    assert result["parameters"] == 2.694282 and result["isomorphic_repeat"] is False
    assert sim.get_budget_counters() == (INCEPTION_TIME[repeat], 108)
    # The README's matrix and the stored canonical one are the same cell: the second query is a repeat.
    stored = sim.describe(sim.cell_index(INCEPTION))["arch"]
    again = sim.query(stored)
    assert again["isomorphic_repeat"] is True
    assert sim.counters == {"time": INCEPTION_TIME[repeat] + INCEPTION_TIME[again["repeat"]], "epochs": 216,
                            "queries": 2, "unique_cells": 1, "isomorphic_repeats": 1}
    sim.reset_budget_counters()
    assert sim.get_budget_counters() == (0.0, 0)
    assert sim.counters["unique_cells"] == 0


def test_stop_halfway_and_other_budgets(nb101_env):
    sim = NB101Simulator(seed=1)
    half = sim.query(INCEPTION, stop_halfway=True)
    assert half["current_epoch"] == 54 and sim.epochs_spent == 54
    assert half["training_time"] == pytest.approx(577.0859985351562) if half["repeat"] == 0 else True
    four = sim.query(INCEPTION, epochs=4)
    assert four["num_epochs"] == 4 and sim.epochs_spent == 58
    with pytest.raises(InvalidArgument, match="no NB-101 runs with 5 epochs"):
        sim.query(INCEPTION, epochs=5)


def test_analysis_accessors_never_charge(nb101_env):
    sim = NB101Simulator(seed=0)
    means = sim.mean_metrics(INCEPTION)
    assert means["test_acc"] == pytest.approx(statistics.fmean(INCEPTION_TEST), abs=1e-9)
    assert means["valid_acc"] == pytest.approx(statistics.fmean(INCEPTION_VALID), abs=1e-9)
    assert means["runs"] == 3
    fixed, computed = sim.get_metrics_from_hash(INCEPTION_HASH)
    assert fixed["trainable_parameters"] == 2694282
    assert sorted(computed) == [4, 12, 36, 108] and len(computed[108]) == 3
    assert computed[108][0]["halfway_training_time"] == pytest.approx(577.0859985351562)
    assert sim.is_valid(INCEPTION) and not sim.is_valid({"matrix": [[0, 0], [0, 0]], "ops": ["input", "output"]})
    assert sorted(sim.hash_iterator()) == sorted(sim.hashes) and len(sim.hashes) == 31
    assert sim.best_mean_test_acc >= means["test_acc"]
    assert sim.regret(sim.cell_index(INCEPTION_HASH)) == pytest.approx(sim.best_mean_test_acc - means["test_acc"])
    assert sim.get_budget_counters() == (0.0, 0) and sim.counters["queries"] == 0


def test_bad_cells_raise_named_errors(nb101_env):
    sim = NB101Simulator()
    with pytest.raises(OutOfSearchSpace, match="disconnected"):
        sim.query({"matrix": [[0, 0], [0, 0]], "ops": ["input", "output"]})
    with pytest.raises(KeyError, match="not installed"):
        sim.query({"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": ["input", "maxpool3x3", "output"]})
    assert sim.get_budget_counters() == (0.0, 0)
    with pytest.raises(InvalidArgument, match="sampling must be one of"):
        NB101Simulator(sampling="gaussian")


def test_simulator_rng_is_its_own_and_seeded(nb101_env):
    random.seed(123)
    state = random.getstate()
    first = NB101Simulator(seed=7)
    second = NB101Simulator(seed=7)
    other = NB101Simulator(seed=8)
    picks = [first.query(INCEPTION)["repeat"] for _ in range(60)]
    assert picks == [second.query(INCEPTION)["repeat"] for _ in range(60)]
    assert picks != [other.query(INCEPTION)["repeat"] for _ in range(60)]
    assert random.getstate() == state  # the global RNG was not used
    first.reset(seed=7)
    assert [first.query(INCEPTION)["repeat"] for _ in range(60)] == picks


def test_bulk_loading_and_queries_cost_no_per_candidate_statement(nb101_env):
    _db.open_benchmark("nb101")
    with count_statements() as statements:
        sim = NB101Simulator(seed=0, sampling="uniform")
    assert len(statements) == 2  # the cells, then the 108-epoch runs
    with count_statements() as statements:
        for _ in range(200):
            sim.query(INCEPTION)
        run_search(sim, "re", runs=2, budget=2e5, population_size=5, sample_size=2)
        run_search(sim, "ls", runs=2, budget=2e5)
    assert statements == []
    with count_statements() as statements:
        sim.query(INCEPTION, epochs=12)
    assert len(statements) == 1  # another budget: one more bulk statement, once


def test_nni_prebuilt_file_gives_the_same_simulator(nb101_sample_db, tmp_path, monkeypatch):
    from test_nb101_query import _write_nni_layout

    ours = NB101Simulator(seed=3, db_dir=nb101_sample_db)
    directory = tmp_path / "nni"
    directory.mkdir()
    _write_nni_layout(nb101_sample_db / "nasbench101.db", directory / "nasbench101-209f5694.db")
    nni = NB101Simulator(seed=3, db_dir=directory)
    assert sorted(nni.hashes) == sorted(ours.hashes)
    for digest in ours.hashes:
        a, b = ours.mean_metrics(digest), nni.mean_metrics(digest)
        for key in ("valid_acc", "test_acc", "training_time", "halfway_training_time", "halfway_valid_acc"):
            assert a[key] == pytest.approx(b[key], rel=1e-12), key
    assert nni.best_mean_test_acc == pytest.approx(ours.best_mean_test_acc)
    assert [nni.query(INCEPTION)["valid_acc"] for _ in range(20)] == [ours.query(INCEPTION)["valid_acc"]
                                                                       for _ in range(20)]


def test_searches_run_on_the_sample_with_uniform_sampling(nb101_env):
    sim = NB101Simulator(seed=0, sampling="uniform")
    for algo in ("rs", "re", "ls"):
        result = run_search(sim, algo, runs=3, budget=3e4, seed=1)
        for rollout in result["rollouts"]:
            assert rollout["queries"] == rollout["unique_cells"] + rollout["isomorphic_repeats"]
            assert rollout["final_regret"] >= 0
            assert rollout["incumbent"]["hash"] in sim.hashes
    with pytest.raises(InvalidArgument, match="with --sampling uniform on the command line or sampling='uniform' in"):
        NB101Simulator(seed=0).random_genotype(random.Random(0))


# ----------------------------------------------------------------------------------------------------------------------
# NB-101 simulator and searches on the synthetic landscape (complete for cells of at most 5 vertices)


def test_fast_neighbourhoods_equal_the_space_functions(land101):
    sim = NB101Simulator(seed=0, num_vertices=5)
    rng = random.Random(2)
    for _ in range(100):
        genotype = sim.random_genotype(rng)
        matrix, ops = sim.cell(genotype)
        assert sim.hash_of(genotype) == space.canonical(matrix, ops)[2]
        fast = [sim.cell(g) for g in sim.neighbour_genotypes(genotype)]
        assert fast == space.neighbours(matrix, ops)
        child = sim.mutate_genotype(genotype, rng)
        assert sim.cell(child) in list(space.single_edits(matrix, ops))


def test_sampling_rejection_versus_uniform(land101):
    rng = random.Random(0)
    sim = NB101Simulator(seed=0, num_vertices=5)
    draws = 20_000
    smallest = sim.cell_index({"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]})
    rejection = collections.Counter(sim.cell_of(sim.random_genotype(rng)) for _ in range(draws))
    uniform = collections.Counter(sim.cell_of(sim.random_genotype(rng, "uniform")) for _ in range(draws))
    cells = len(sim.hashes)
    assert cells == 2532
    # Uniform: every cell about draws / cells times; the input->output cell has many genotypes under rejection.
    assert uniform[smallest] <= 5 * draws / cells
    assert rejection[smallest] > 10 * draws / cells
    assert len(uniform) > 0.95 * cells
    chi2 = sum((uniform[c] - draws / cells) ** 2 / (draws / cells) for c in range(cells))
    assert chi2 < cells + 6 * math.sqrt(2 * cells)


def test_regularized_evolution_beats_random_search_on_a_landscape_with_locality(land101):
    sim = NB101Simulator(seed=0, num_vertices=5)
    budget = 150 * 1200.0  # about 150 queries of ~1,200 simulated seconds
    finals = {}
    for algo, options in (("rs", {}), ("re", {"population_size": 20, "sample_size": 5}), ("ls", {})):
        result = run_search(sim, algo, runs=40, budget=budget, seed=100, **options)
        finals[algo] = statistics.fmean(r["final_regret"] for r in result["rollouts"])
    assert finals["re"] < 0.7 * finals["rs"], finals
    assert finals["ls"] < 0.7 * finals["rs"], finals


def test_budget_accounting_and_trajectories(land101):
    sim = NB101Simulator(seed=0, num_vertices=5)
    budget = 40_000.0
    result = run_search(sim, "re", runs=5, budget=budget, seed=3, population_size=10, sample_size=3)
    max_query = max(sim.mean_metrics(h)["training_time"] for h in sim.hashes) * 1.2
    for rollout in result["rollouts"]:
        assert budget <= rollout["time"] < budget + max_query  # the last query crosses the budget
        times = [t for t, _ in rollout["trajectory"]]
        regrets = [r for _, r in rollout["trajectory"]]
        assert times == sorted(times) and times[-1] <= rollout["time"]
        assert all(r >= 0 for r in regrets)
        assert rollout["final_regret"] == regrets[-1]
        assert rollout["queries"] == rollout["unique_cells"] + rollout["isomorphic_repeats"]
    summary = result["summary"]
    assert summary["time"][-1] == pytest.approx(budget)
    assert all(a <= m <= b for a, m, b in zip(summary["q25"], summary["median"], summary["q75"]) if m is not None)
    assert result["reference"]["best_mean_test_acc"] == sim.best_mean_test_acc


def test_rollouts_are_deterministic(land101):
    sim = NB101Simulator(seed=0, num_vertices=5)
    first = run_search(sim, "re", runs=4, budget=3e4, seed=9, population_size=10, sample_size=3)
    second = run_search(NB101Simulator(seed=5, num_vertices=5), "re", runs=4, budget=3e4, seed=9,
                        population_size=10, sample_size=3)
    assert first["rollouts"] == second["rollouts"]
    shifted = run_search(sim, "re", runs=3, budget=3e4, seed=10, population_size=10, sample_size=3)
    assert shifted["rollouts"] == first["rollouts"][1:]  # rollout i of seed S is rollout 0 of seed S + i
    assert run_search(sim, "rs", runs=2, budget=3e4, seed=9)["rollouts"] != first["rollouts"][:2]


def test_run_search_rejects_bad_arguments(land101):
    sim = NB101Simulator(seed=0, num_vertices=5)
    with pytest.raises(InvalidArgument, match="unknown algorithm 'bo'"):
        run_search(sim, "bo")
    with pytest.raises(InvalidArgument, match="budget must be > 0"):
        run_search(sim, "rs", budget=0)
    with pytest.raises(InvalidArgument, match="population_size and sample_size must be >= 1"):
        run_search(sim, "re", runs=1, budget=1e4, population_size=0)


# ----------------------------------------------------------------------------------------------------------------------
# NB-201


def test_nb201_space_tools():
    rng = random.Random(4)
    for _ in range(200):
        ops = space201.random_arch(rng)
        child = space201.mutate(ops, rng)
        assert space201.edit_distance(ops, child) == 1
        neighbours = space201.neighbours(ops)
        assert len(neighbours) == 24 and all(space201.edit_distance(ops, n) == 1 for n in neighbours)
        distinct = space201.neighbours(ops, distinct=True)
        classes = [space201.unique_index(n) for n in distinct]
        assert len(set(classes)) == len(classes) and space201.unique_index(ops) not in classes
        assert space201.edit_distance(ops, ops, isomorphism=True) == 0
    twins = collections.defaultdict(list)
    for index, cls in enumerate(space201.unique_indices()):
        twins[cls].append(index)
    a, b = next(members[:2] for members in twins.values() if len(members) > 1)
    assert space201.edit_distance(a, b) > 0 and space201.edit_distance(a, b, isomorphism=True) == 0
    draws = collections.Counter(space201.unique_index(space201.random_unique(rng)) for _ in range(5000))
    assert len(draws) > 0.5 * space201.NUM_UNIQUE and max(draws.values()) < 10
    assert [space201.arch_str(o) for o in space201.all_archs()[:3]] == space201.meta_archs()[:3]


def test_nb201_simulator_queries_and_repeats(land201):
    sim = NB201Simulator(dataset="cifar10-valid", test_dataset="cifar10", seed=0)
    index = 123
    result = sim.query(index)
    assert result["index"] == index and "test_acc" not in result
    assert result["time_cost"] == pytest.approx(result["training_time"] + 2.0)
    assert sim.get_budget_counters() == (result["time_cost"], 200)
    # Same cell by its string and by NNI's dict; then an isomorphic twin: all repeats of one class.
    sim.query(space201.arch_str(index))
    sim.query(space201.to_nni(index))
    twins = [i for i, c in enumerate(space201.unique_indices()) if c == space201.unique_index(index) and i != index]
    if twins:
        assert sim.query(twins[0])["isomorphic_repeat"] is True
    assert sim.counters["unique_cells"] == 1 and sim.counters["isomorphic_repeats"] == sim.counters["queries"] - 1
    means = sim.mean_metrics(index)
    assert means["test_dataset"] == "cifar10" and means["runs"] == 3
    assert sim.regret(index) == pytest.approx(sim.best_mean_test_acc - means["test_acc"])
    assert sim.best_mean_test_acc == pytest.approx(max(sim.mean_test))


def test_nb201_searches_beat_random_search(land201):
    sim = NB201Simulator(seed=0, test_dataset="cifar10")
    finals = {}
    for algo, options in (("rs", {}), ("re", {"population_size": 20, "sample_size": 5}), ("ls", {})):
        result = run_search(sim, algo, runs=30, budget=6e5, seed=1, **options)
        finals[algo] = statistics.fmean(r["final_regret"] for r in result["rollouts"])
        assert all(r["queries"] == r["unique_cells"] + r["isomorphic_repeats"] for r in result["rollouts"])
    assert finals["re"] < finals["rs"] and finals["ls"] < finals["rs"], finals
    with count_statements("nb201") as statements:
        NB201Simulator(seed=0, test_dataset="cifar10")
    assert len(statements) == 1


def test_nb201_simulator_on_real_nats_records(tmp_path, monkeypatch):
    from nasbench_db.convert.nb201 import convert_nats_tss
    from nb201_fixture import INDICES, TSS_DIR, load_simple

    convert_nats_tss(TSS_DIR, tmp_path, progress=False)
    monkeypatch.setenv("NASBENCHMARK_DIR", str(tmp_path))
    sim = NB201Simulator(dataset="cifar10-valid", epochs=200, seed=0)
    assert sorted(sim.installed) == sorted(INDICES)
    _, records = load_simple()
    runs = records[INDICES[0]]["200"]["all_results"]
    valid = {round(r["eval_acc1es"]["x-valid@199"], 6) for (d, _), r in runs.items() if d == "cifar10-valid"}
    seen = {round(sim.query(INDICES[0])["valid_acc"], 6) for _ in range(30)}
    assert seen <= valid and seen
    result = run_search(sim, "rs", runs=2, budget=1e5)
    assert result["rollouts"][0]["incumbent"]["index"] in INDICES


def test_nb201_missing_times_are_reported(land201, monkeypatch):
    with pytest.raises(InvalidArgument, match="unknown dataset 'mnist'"):
        NB201Simulator(dataset="mnist")
    with pytest.raises(InvalidArgument, match="no NB-201 runs for cifar100"):
        NB201Simulator(dataset="cifar100")


# ----------------------------------------------------------------------------------------------------------------------
# Command line


def test_cli_search_writes_json_and_summary(land101, tmp_path):
    out = tmp_path / "re.json"
    runner = CliRunner()
    result = runner.invoke(cli, ["search", "nb101", "--algo", "re", "--runs", "3", "--budget", "3e4", "--seed", "2",
                                 "--population-size", "10", "--sample-size", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "regularized evolution on nb101: 3 rollouts" in result.output
    data = json.loads(out.read_text())
    assert data["algo"] == "re" and len(data["rollouts"]) == 3
    assert data["settings"] == {"runs": 3, "budget": 3e4, "seed": 2, "population_size": 10, "sample_size": 3}
    again = run_search(NB101Simulator(seed=2), "re", runs=3, budget=3e4, seed=2, population_size=10, sample_size=3)
    assert data["rollouts"] == json.loads(json.dumps(again["rollouts"]))
    bad = runner.invoke(cli, ["search", "nb101", "--algo", "rs", "--population-size", "3"])
    assert bad.exit_code == 2 and "apply to --algo re only" in bad.output


def test_cli_search_nb201(land201, tmp_path):
    out = tmp_path / "rs.json"
    result = CliRunner().invoke(cli, ["search", "nb201", "--algo", "rs", "--runs", "2", "--budget", "1e5",
                                      "--test-dataset", "cifar10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["simulator"]["test_dataset"] == "cifar10" and data["benchmark"] == "nb201"


def test_cli_search_without_database_fails_clearly(tmp_path):
    result = CliRunner().invoke(cli, ["search", "nb101", "--runs", "1"])
    assert result.exit_code == 1
    assert "Error: NAS-Bench-101 is not installed" in result.output
