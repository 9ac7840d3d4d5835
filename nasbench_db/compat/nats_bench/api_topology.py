"""``NATStopology``: NATS-Bench's topology search space (the 15,625 NAS-Bench-201 cells) over the nasbench_db database
(``nats_bench.api_topology``)."""

from __future__ import annotations

from typing import Text

import numpy as np

from ...spaces import nb201 as _space
from ._store import TOPOLOGY
from .api_utils import NASBenchMetaAPI, _time_comment, time_string
from .genotype_utils import _parse

ALL_BASE_NAMES = ["NATS-tss-v1_0-3ffb9"]
__all__ = ["NATStopology", "print_information", "ALL_BASE_NAMES"]


def cost_line(dataset, metric) -> str:
    """The cost line of the text summary (FLOPs and params in millions, latency in milliseconds)."""
    latency = metric["latency"]
    shown = f"{latency * 1000:.2f}" if latency is not None and latency > 0 else None
    return f"{dataset:14s} FLOP={metric['flops']:6.2f} M, Params={metric['params']:.3f} MB, latency={shown} ms."


def summary_lines(information, extra_info, show, shown_sets, separator=" &"):
    """The text summary lines of an ArchResults (printed too with ``show``), in the layout every original API shares:
    the arch, the datasets, then per dataset its cost line and its train metrics followed by the evaluation sets
    ``shown_sets(dataset)`` gives as ``[(label, eval set name)]``. ``separator`` comes between loss and top1
    (``' &'`` in NATS-Bench, ``','`` in NAS-Bench-201)."""

    def metric(values):
        return f"loss = {values['loss']:.3f}{separator} top1 = {values['accuracy']:.2f}%"

    dataset_names = information.get_dataset_names()
    strings = [information.arch_str, f"datasets : {dataset_names}, extra-info : {extra_info}"]
    for dataset in dataset_names:
        parts = [f"train : [{metric(information.get_metrics(dataset, 'train'))}]"]
        parts += [f"{label} : [{metric(information.get_metrics(dataset, name))}]"
                  for label, name in shown_sets(dataset)]
        strings += [cost_line(dataset, information.get_compute_costs(dataset)), f"{dataset:14s} " + ", ".join(parts)]
    if show:
        print("\n".join(strings))
    return strings


def topology_sets(dataset) -> list:
    """The evaluation sets the topology summaries show (NATS-Bench's and NAS-Bench-201's)."""
    if dataset == "cifar10-valid":
        return [("valid", "x-valid")]
    if dataset == "cifar10":
        return [("test ", "ori-test")]
    return [("valid", "x-valid"), ("test", "x-test")]


def print_information(information, extra_info=None, show=False):
    """The text summary lines of an ArchResults (printed too with ``show``)."""
    return summary_lines(information, extra_info, show, topology_sets)


class NATStopology(NASBenchMetaAPI):
    """NATS-Bench's topology-space API (the original's ``NATStopology``), answered from nasbench_db's database.

    ``file_path_or_dict``: the ``NATS-tss-v1_0-3ffb9-simple`` directory or ``NATS-tss-v1_0-3ffb9.pickle.pbz2`` (or
    an NB-201 ``.pth``), converted once into ``NASBENCHMARK_DIR`` and only opened afterwards; None for the installed
    database (``nasbench201.db``). ``fast_mode`` keeps the original's meaning for ``evaluated_indexes`` and
    ``find_best``; every call is fast either way.
    """

    _space = TOPOLOGY
    _all_base_names = ALL_BASE_NAMES

    def __init__(self, file_path_or_dict=None, fast_mode: bool = False, verbose: bool = True, *,
                 source="original", db_dir=None):
        self._search_space_name = "topology"
        self._full_train_epochs = 200
        self._open(file_path_or_dict, fast_mode, verbose, source, db_dir)

    @property
    def is_size(self):
        return False

    @property
    def is_topology(self):
        return True

    @property
    def full_epochs_in_paper(self):
        return 200

    def get_unique_str(self, arch):
        """The isomorphism key of ``arch`` (``to_unique_str(consider_zero=True)``)."""
        index = self.query_index_by_arch(arch)
        return _space.nodes_unique_str(_space.parse_genotype(self.meta_archs[index]), True)

    def query_info_str_by_arch(self, arch, hp: Text = "12"):
        """The text summary of ``arch`` (index or string) trained with ``hp`` ('12' or '200')."""
        if self.verbose:
            print(f"{time_string()} Call query_info_str_by_arch with arch={arch} and hp={hp}")
        return self._query_info_str_by_arch(arch, hp, print_information)

    def _comment_text(self, dataset, hp):
        return _time_comment(dataset, hp)

    def show(self, index: int = -1) -> None:
        """Print the text summary of the ``index``-th architecture (all evaluated ones for a negative index)."""
        self._show(index, print_information)

    @staticmethod
    def str2lists(arch_str: Text):
        """The nodes of an arch string: a list of tuples of ``(op, input node)`` pairs."""
        return list(_parse(arch_str))

    @staticmethod
    def str2matrix(arch_str: Text, search_space=("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                                 "avg_pool_3x3")):
        """The NB-101-style matrix of an arch string: ``m[i + 1][j]`` = op code of the edge j -> i + 1 (float
        array; 0 = none)."""
        nodes = _parse(arch_str)
        matrix = np.zeros((len(nodes) + 1, len(nodes) + 1))
        for i, node in enumerate(nodes):
            for op, source in node:
                if op not in search_space:
                    raise ValueError(f"this op ({op}) is not in {search_space}")
                matrix[i + 1, source] = search_space.index(op)
        return matrix

