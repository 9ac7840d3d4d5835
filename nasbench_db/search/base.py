"""What every benchmark simulator shares: the budget counters, the simulator's own RNG, isomorphic-repeat counting.

A simulator answers a search the way training would, from the installed database:

* ``query()`` (and the fast ``evaluate()`` the built-in searches use) returns what training shows a search: the
  validation accuracy of ONE run (repeat / seed) drawn from the simulator's own seeded ``random.Random`` (never the
  global one), and its training time, which is charged to the budget;
* the analysis accessors (``mean_metrics``, ``get_metrics_from_hash``, ``test_accuracy``, ``regret``...) read the
  same data and never charge: they are for reporting, not for searching;
* test accuracy is never part of what a search sees; it is what the regret of the incumbent is measured with.
"""

from __future__ import annotations

import random


class Simulator:
    """Base class: budget counters, the simulator's RNG and repeat counting (see the module docstring)."""

    benchmark = ""

    def __init__(self, seed):
        self._rng = random.Random(seed)
        self._seed = seed
        self.reset_budget_counters()

    # ------------------------------------------------------------------------------------------------ budget

    def reset_budget_counters(self) -> None:
        """Zero the budget counters (time, epochs, queries) and forget which cells were queried."""
        self.time_spent = 0.0
        self.epochs_spent = 0
        self.queries = 0
        self.isomorphic_repeats = 0
        self._seen: set = set()

    def get_budget_counters(self) -> tuple:
        """``(time_spent, epochs_spent)``, as the original NB-101 API: simulated training seconds and epochs."""
        return self.time_spent, self.epochs_spent

    @property
    def counters(self) -> dict:
        """Every counter: ``time`` (simulated seconds), ``epochs``, ``queries``, ``unique_cells`` (distinct cells
        queried) and ``isomorphic_repeats`` (queries of a cell queried before, under any encoding)."""
        return {"time": self.time_spent, "epochs": self.epochs_spent, "queries": self.queries,
                "unique_cells": len(self._seen), "isomorphic_repeats": self.isomorphic_repeats}

    def reset(self, seed=None) -> None:
        """Reset the budget counters and, when ``seed`` is given, reseed the simulator's RNG (start a new rollout)."""
        self.reset_budget_counters()
        if seed is not None:
            self._rng.seed(seed)
            self._seed = seed

    def _charge(self, cell: int, seconds: float, epochs: int) -> bool:
        """Account one query; returns True when ``cell`` was queried before (an isomorphic repeat)."""
        self.time_spent += seconds
        self.epochs_spent += epochs
        self.queries += 1
        if cell in self._seen:
            self.isomorphic_repeats += 1
            return True
        self._seen.add(cell)
        return False
