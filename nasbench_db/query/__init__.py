"""NNI-compatible query functions (``from nasbench_db.query import query_nb101_trial_stats``).

Each is a generator of plain dicts shaped like NNI's ``nni.nas.benchmark`` results; ``None`` arguments are
wildcards. See each function's module for the keys and units.
"""

from .nb101 import query_nb101_trial_stats
from .nb201 import query_nats_sss_trial_stats, query_nb201_trial_stats
from .nds import query_nds_trial_stats
from .nlp import query_nlp_trial_stats

__all__ = ["query_nb101_trial_stats", "query_nb201_trial_stats", "query_nats_sss_trial_stats", "query_nds_trial_stats",
           "query_nlp_trial_stats"]
