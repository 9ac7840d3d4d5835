"""NAS benchmarks as simulated search problems: simulators with budget accounting, and baseline searches.

>>> from nasbench_db.search import NB101Simulator, run_search
>>> sim = NB101Simulator(epochs=108, seed=0)
>>> result = run_search(sim, "re", runs=10, budget=1e7)
"""

from .base import Simulator
from .algorithms import (ALGORITHMS, local_search, random_search, regularized_evolution, run_search,
                         summarise)
from .nb101 import NB101Simulator
from .nb201 import NB201Simulator

__all__ = ["Simulator", "NB101Simulator", "NB201Simulator", "ALGORITHMS", "random_search", "regularized_evolution",
           "local_search", "run_search", "summarise"]
