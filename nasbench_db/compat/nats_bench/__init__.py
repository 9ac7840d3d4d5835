"""NATS-Bench's API (``nats_bench`` 1.8), answered from the nasbench_db database.

Change one import and nothing else::

    # from nats_bench import create
    from nasbench_db.compat.nats_bench import create

    api = create('NATS-tss-v1_0-3ffb9-simple', 'tss', fast_mode=True, verbose=False)  # converted once, then opened
    api = create(None, 'tss', fast_mode=True, verbose=False)                          # the installed database
    api.get_more_info(284, 'cifar10-valid', hp='200', is_random=False)

Every public method of ``NATStopology`` / ``NATSsize`` and of the ``ArchResults`` / ``ResultsCount`` objects they
return is here with the original's arguments, keys, values (bit for bit), exception types and ``random`` calls
(``get_more_info(is_random=True)`` draws its seed with ``random.choice``, ``random()`` with ``random.randint``).
Differences: docs/compat.md.
"""

from __future__ import annotations

from typing import Optional, Text

from .api_size import NATSsize
from .api_topology import NATStopology
from .api_utils import ArchResults, ResultsCount, WeightsNotAvailable, pickle_load, pickle_save
from .genotype_utils import TopologyStructure, topology_str2structure

#: The API versions of the original package this facade follows (its last entry is the one implemented).
NATS_BENCH_API_VERSIONs = ["v1.0", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8"]
NATS_BENCH_SSS_NAMEs = ("sss", "size")
NATS_BENCH_TSS_NAMEs = ("tss", "topology")

__all__ = ["create", "NATStopology", "NATSsize", "topology_str2structure", "TopologyStructure", "ArchResults",
           "ResultsCount", "WeightsNotAvailable", "pickle_load", "pickle_save", "search_space_info", "version",
           "NATS_BENCH_API_VERSIONs", "NATS_BENCH_SSS_NAMEs", "NATS_BENCH_TSS_NAMEs"]


def version():
    """The original API version this facade answers as."""
    return NATS_BENCH_API_VERSIONs[-1]


def create(file_path_or_dict, search_space, fast_mode=False, verbose=True, *, source="original", db_dir=None):
    """The NATS-Bench API of ``search_space`` ('tss' / 'topology' or 'sss' / 'size').

    ``file_path_or_dict``: the original ``-simple`` directory or ``.pickle.pbz2`` file (converted once into
    ``NASBENCHMARK_DIR``, recognised afterwards without hashing it again), or None for the installed database.
    ``source`` / ``db_dir``: as the query functions' (keyword only). Raises ValueError for another search space.
    """
    if search_space in NATS_BENCH_TSS_NAMEs:
        return NATStopology(file_path_or_dict, fast_mode, verbose, source=source, db_dir=db_dir)
    if search_space in NATS_BENCH_SSS_NAMEs:
        return NATSsize(file_path_or_dict, fast_mode, verbose, source=source, db_dir=db_dir)
    raise ValueError(f"invalid search space : {search_space} (expected one of "
                     f"{NATS_BENCH_TSS_NAMEs + NATS_BENCH_SSS_NAMEs})")


def search_space_info(main_tag: Text, aux_tag: Optional[Text]):
    """The search space's candidates: ``{'candidates', 'num_layers'}`` (size) or ``{'op_names', 'num_nodes'}``
    (topology; also NAS-Bench-201 with ``aux_tag=None``)."""
    from ...spaces import nats_sss, nb201

    sss = dict(candidates=list(nats_sss.CHANNELS), num_layers=nats_sss.NUM_LAYERS)
    tss = dict(op_names=list(nb201.OPS), num_nodes=nb201.NUM_NODES)
    if main_tag == "nats-bench":
        if aux_tag in NATS_BENCH_SSS_NAMEs:
            return sss
        if aux_tag in NATS_BENCH_TSS_NAMEs:
            return tss
        raise ValueError(f"Unknown auxiliary tag: {aux_tag}")
    if main_tag == "nas-bench-201":
        if aux_tag is not None:
            raise ValueError("For NAS-Bench-201, the auxiliary tag should be None.")
        return tss
    raise ValueError(f"Unknown main tag: {main_tag}")
