"""NNI-compatible query functions (``from nasbench_db.query import query_nb101_trial_stats``).

Each is a generator of plain dicts shaped like NNI's ``nni.nas.benchmark`` results; ``None`` arguments are
wildcards. See each function's module for the keys and units. NNI's op-name constants (:mod:`.constants`) and NNI's
model classes (``Nb101TrialConfig`` ... ``NlpIntermediateStats``, from :mod:`nasbench_db.models`, imported on first
use) are importable from here too, so ``from nni.nas.benchmark.nasbench101 import ...`` needs one import changed.
"""

from .nb101 import query_nb101_trial_stats
from .nb201 import query_nats_sss_trial_stats, query_nb201_trial_stats
from .nds import query_nds_trial_stats
from .nlp import query_nlp_trial_stats
from .constants import *  # noqa: F401,F403  (NNI's op names)
from .constants import __all__ as _CONSTANTS

#: NNI's model names, served from nasbench_db.models on first access (the models module is not imported otherwise).
NNI_MODELS = ("Nb101TrialConfig", "Nb101TrialStats", "Nb101IntermediateStats", "Nb201TrialConfig", "Nb201TrialStats",
              "Nb201IntermediateStats", "NdsTrialConfig", "NdsTrialStats", "NdsIntermediateStats", "NlpTrialConfig",
              "NlpTrialStats", "NlpIntermediateStats")


def __getattr__(name):
    if name in NNI_MODELS:
        from .. import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["query_nb101_trial_stats", "query_nb201_trial_stats", "query_nats_sss_trial_stats", "query_nds_trial_stats",
           "query_nlp_trial_stats", *_CONSTANTS, *NNI_MODELS]
