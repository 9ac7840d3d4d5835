"""Baseline searches on a simulator, and independent rollouts summarised as test-regret curves.

Protocol (the NB-101 paper's, as its experiment code automl/nas_benchmarks runs it): a search sees the validation
accuracy of one randomly drawn run per query and pays its training time; it stops once the simulated time spent
reaches the budget (the query that crosses the budget completes). Its *incumbent* is the cell with the best
validation accuracy seen so far; the *immediate test regret* at time t is

    regret(t) = best mean test accuracy in the installed database - mean test accuracy of the incumbent at t

in percentage points (means over the runs at the simulator's epoch budget). With the full NB-101 database the
reference is 94.3176 % (the best mean test accuracy at 108 epochs); on a partial database it is that database's
best, so regrets are only comparable between searches on the same database.

Algorithms (each takes the simulator, a budget in simulated seconds and its own ``random.Random``):

* :func:`random_search`: draw a genotype (:meth:`random_genotype`: rejection sampling, as the paper, unless the
  simulator says ``'uniform'``), query it, repeat.
* :func:`regularized_evolution`: aging evolution (Real et al. 2019) with the NB-101 paper's settings: a population
  of 100 random cells; each cycle samples 10 members with replacement, mutates the one with the best validation
  accuracy by one edit, queries the child, adds it and removes the oldest member.
* :func:`local_search`: best-improvement hill climbing (White et al. 2020): query a random cell, then every distinct
  neighbour (one edit) of the current cell in random order, move to the best if it beats the current cell, else
  restart from a random cell not queried yet. Cells already queried in the rollout are not queried again (their
  first result is reused, at no cost); a rollout that has queried every cell it can reach ends before the budget.
"""

from __future__ import annotations

import collections
import math
import random
import time

from ..errors import InvalidArgument

#: The NB-101 paper's regularized evolution settings (automl/nas_benchmarks run_regularized_evolution.py).
POPULATION_SIZE = 100
SAMPLE_SIZE = 10
#: Local search: random draws for a fresh restart cell before the space counts as exhausted.
RESTART_DRAWS = 1000


class Tracker:
    """Follows the incumbent of one rollout and records the regret whenever it changes."""

    def __init__(self, sim):
        self.sim = sim
        self.best_valid = -math.inf
        self.incumbent = None
        self.trajectory: list = []  # [simulated seconds, regret] at each change of the regret

    def observe(self, cell: int, valid_acc: float) -> None:
        if valid_acc > self.best_valid:
            self.best_valid = valid_acc
            if cell != self.incumbent:
                self.incumbent = cell
                regret = self.sim.regret(cell)
                if not self.trajectory or self.trajectory[-1][1] != regret:
                    self.trajectory.append([self.sim.time_spent, regret])


def random_search(sim, budget: float, rng: random.Random) -> Tracker:
    """Random search (see the module docstring)."""
    tracker = Tracker(sim)
    while sim.time_spent < budget:
        cell, valid, _ = sim.evaluate(sim.random_genotype(rng))
        tracker.observe(cell, valid)
    return tracker


def regularized_evolution(sim, budget: float, rng: random.Random, population_size: int = POPULATION_SIZE,
                          sample_size: int = SAMPLE_SIZE) -> Tracker:
    """Regularized (aging) evolution (see the module docstring)."""
    if population_size < 1 or sample_size < 1:
        raise InvalidArgument(f"population_size and sample_size must be >= 1: got {population_size}, {sample_size}")
    tracker = Tracker(sim)
    population: collections.deque = collections.deque()
    while sim.time_spent < budget:
        if len(population) < population_size:
            genotype = sim.random_genotype(rng)
        else:
            size = len(population)
            parent = max((population[rng.randrange(size)] for _ in range(sample_size)), key=lambda m: m[1])
            genotype = sim.mutate_genotype(parent[0], rng)
        cell, valid, _ = sim.evaluate(genotype)
        tracker.observe(cell, valid)
        population.append((genotype, valid))
        if len(population) > population_size:
            population.popleft()
    return tracker


def local_search(sim, budget: float, rng: random.Random) -> Tracker:
    """Best-improvement local search with random restarts (see the module docstring)."""
    tracker = Tracker(sim)
    known: dict = {}  # cell -> validation accuracy first observed in this rollout

    def observe(genotype):
        cell = sim.cell_of(genotype)
        if cell in known:
            return known[cell]
        cell, valid, _ = sim.evaluate(genotype)
        known[cell] = valid
        tracker.observe(cell, valid)
        return valid

    while sim.time_spent < budget:
        # Restart from a cell not queried yet; when random draws keep finding known cells the (installed) space is
        # exhausted and the rollout ends early rather than loop without spending budget.
        for _ in range(RESTART_DRAWS):
            current = sim.random_genotype(rng)
            if sim.cell_of(current) not in known:
                break
        else:
            break
        current_valid = observe(current)
        while sim.time_spent < budget:
            neighbours = sim.neighbour_genotypes(current)
            rng.shuffle(neighbours)
            best, best_valid = None, current_valid
            for genotype in neighbours:
                if sim.time_spent >= budget:
                    break
                valid = observe(genotype)
                if valid > best_valid:
                    best, best_valid = genotype, valid
            if best is None:
                break  # a local optimum (or the budget ran out): restart
            current, current_valid = best, best_valid
    return tracker


ALGORITHMS = {"rs": random_search, "re": regularized_evolution, "ls": local_search}
ALGORITHM_NAMES = {"rs": "random search", "re": "regularized evolution", "ls": "local search"}


def run_search(sim, algo: str, runs: int = 100, budget: float = 1e7, seed: int = 0, grid_points: int = 200,
               progress=None, **options) -> dict:
    """Run ``runs`` independent rollouts of ``algo`` ('rs', 're', 'ls') and summarise their test regret.

    Rollout ``i`` draws the seeds of the search's RNG and of the simulator's RNG from ``random.Random(seed + i)``,
    so it is reproducible alone (run i of seed S is run 0 of seed S + i). ``options`` go to the algorithm
    (``population_size``, ``sample_size`` for 're'). Returns a JSON-ready dict: ``benchmark``, ``algo``,
    ``settings``, ``reference`` (the regret's definition and its reference accuracy), one entry per rollout in
    ``rollouts`` (seed, queries, unique cells, isomorphic repeats, simulated time, final regret, incumbent,
    trajectory ``[[seconds, regret], ...]``) and ``summary`` (25th/50th/75th percentiles of the regret on a
    log-spaced time grid up to the budget; NaN where no rollout has an incumbent yet is written as null).
    """
    if algo not in ALGORITHMS:
        raise InvalidArgument(f"unknown algorithm {algo!r}: expected one of {', '.join(ALGORITHMS)}")
    if runs < 1:
        raise InvalidArgument(f"runs must be >= 1: got {runs}")
    if not budget > 0:
        raise InvalidArgument(f"budget must be > 0 simulated seconds: got {budget}")
    search = ALGORITHMS[algo]
    started = time.perf_counter()
    rollouts = []
    for i in range(runs):
        master = random.Random(seed + i)
        sim.reset(seed=master.getrandbits(64))
        rng = random.Random(master.getrandbits(64))
        tracker = search(sim, budget, rng, **options)
        counters = sim.counters
        final = tracker.trajectory[-1][1] if tracker.trajectory else None
        rollouts.append({
            "seed": seed + i, "queries": counters["queries"], "unique_cells": counters["unique_cells"],
            "isomorphic_repeats": counters["isomorphic_repeats"], "time": counters["time"],
            "final_regret": final,
            "incumbent": sim.describe(tracker.incumbent) if tracker.incumbent is not None else None,
            "trajectory": tracker.trajectory,
        })
        if progress is not None:
            progress(i + 1, runs)
    elapsed = time.perf_counter() - started
    settings = {"runs": runs, "budget": budget, "seed": seed, **options}
    if algo == "re":
        settings.setdefault("population_size", POPULATION_SIZE)
        settings.setdefault("sample_size", SAMPLE_SIZE)
    result = {
        "benchmark": sim.benchmark,
        "algo": algo,
        "algo_name": ALGORITHM_NAMES[algo],
        "settings": settings,
        "simulator": sim.settings(),
        "reference": {
            "best_mean_test_acc": sim.best_mean_test_acc,
            "definition": "regret = best mean test accuracy over the installed database minus the mean test "
                          "accuracy of the incumbent (the cell with the best validation accuracy seen so far), "
                          "in percentage points; means over the runs at the simulator's epoch budget",
        },
        "elapsed_seconds": elapsed,
        "rollouts": rollouts,
    }
    result["summary"] = summarise(rollouts, budget, grid_points)
    return result


def regret_at(trajectory, times):
    """The regret of a trajectory at each of ``times`` (ascending): NaN before the first query completes."""
    values = []
    k = -1
    for t in times:
        while k + 1 < len(trajectory) and trajectory[k + 1][0] <= t:
            k += 1
        values.append(trajectory[k][1] if k >= 0 else math.nan)
    return values


def summarise(rollouts, budget: float, grid_points: int = 200) -> dict:
    """Percentiles (25, 50, 75) of the regret over rollouts on a log-spaced grid of simulated seconds."""
    import numpy as np

    starts = [r["trajectory"][0][0] for r in rollouts if r["trajectory"]]
    if not starts:
        return {"time": [], "q25": [], "median": [], "q75": [], "runs_with_incumbent": []}
    first = max(min(starts), budget * 1e-6, 1e-9)
    grid = np.unique(np.geomspace(first, max(budget, first), grid_points))
    matrix = np.array([regret_at(r["trajectory"], grid) for r in rollouts], dtype=float)
    have = (~np.isnan(matrix)).sum(axis=0)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q25, median, q75 = np.nanpercentile(matrix, [25, 50, 75], axis=0)

    def clean(values):
        return [None if math.isnan(v) else float(v) for v in values]

    return {"time": [float(t) for t in grid], "q25": clean(q25), "median": clean(median), "q75": clean(q75),
            "runs_with_incumbent": [int(h) for h in have]}
