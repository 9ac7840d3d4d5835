"""NAS-Bench-201's API (``nas_201_api`` 2.1), answered from the nasbench_db database.

Change one import and nothing else::

    # from nas_201_api import NASBench201API as API
    from nasbench_db.compat.nas_201_api import NASBench201API as API

    api = API('NAS-Bench-201-v1_1-096897.pth')   # converted once (no torch, ~0.4 GB of RAM instead of ~28 GB)
    api = API(None)                              # the installed database
    api.get_more_info(11472, 'cifar100', hp='200', is_random=False)

The NAS-Bench-201 API shares its methods with NATS-Bench's topology API; this facade keeps what is its own: numpy
means (``np.mean`` / ``np.sum``, so averages are ``numpy.float64``), assertion errors where the original asserts, no
``comment`` in ``get_more_info``, ``find_best(..., FLOP_max, Param_max, hp)``, ``simulate_train_eval`` without
``iepoch``. Differences from the original: docs/compat.md.
"""

from .api_201 import ArchResults, NASBench201API, ResultsCount

__all__ = ["NASBench201API", "ArchResults", "ResultsCount"]
