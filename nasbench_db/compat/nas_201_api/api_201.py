"""``NASBench201API`` (``nas_201_api.api_201``): NAS-Bench-201's API over the nasbench_db topology database."""

from __future__ import annotations

import collections
import os
from typing import Optional, Text

import numpy as np

from ..nats_bench import api_utils as _nats
from ..nats_bench._store import TOPOLOGY
from ..nats_bench.api_topology import NATStopology, summary_lines, topology_sets

ALL_BENCHMARK_FILES = ["NAS-Bench-201-v1_0-e61699.pth", "NAS-Bench-201-v1_1-096897.pth"]
__all__ = ["NASBench201API", "ArchResults", "ResultsCount", "print_information"]


def print_information(information, extra_info=None, show=False):
    """The text summary lines of an ArchResults (NAS-Bench-201's layout: NATS topology's, with ', ' where NATS-Bench
    writes ' & '; printed too with ``show``)."""
    return summary_lines(information, extra_info, show, topology_sets, separator=",")


class ResultsCount(_nats.ResultsCount):
    """One trial (NAS-Bench-201's ``ResultsCount``): numpy means and totals, asserts on a bad epoch, KeyError for
    missing evaluation times."""

    _average = staticmethod(np.mean)
    _total = staticmethod(np.sum)
    _asserts = True

    @staticmethod
    def create_from_state_dict(state_dict):
        x = ResultsCount(None, None, None, None, None, None, None, None, None, None)
        x.load_state_dict(state_dict)
        return x


class ArchResults(_nats.ArchResults):
    """One architecture under one hp (NAS-Bench-201's ``ArchResults``: no params/FLOPs seed fix, numpy means)."""

    _results = ResultsCount

    def _fix_legacy(self, raw_list, seeds):
        return raw_list

    def show(self, is_print=False):
        """The text summary lines (printed too with ``is_print``)."""
        return print_information(self, None, is_print)


class NASBench201API(NATStopology):
    """NAS-Bench-201's API (the original's ``NASBench201API``) answered from nasbench_db's topology database.

    ``file_path_or_dict``: ``NAS-Bench-201-v1_1-096897.pth`` / ``-v1_0-e61699.pth`` (converted once into
    ``NASBENCHMARK_DIR`` by a streaming reader: no torch, no 28 GB), or None for the installed database. A NATS
    topology archive in the database answers too (same cells, same indices).
    """

    _arch_results = ArchResults
    _space = TOPOLOGY
    _hp_as_str = False
    _evaluated_type = list  # every index with results, ascending, as the original's list

    def __init__(self, file_path_or_dict=None, verbose: bool = True, *, source="original", db_dir=None):
        self._search_space_name = "topology"
        self._full_train_epochs = 200
        self._open(file_path_or_dict, False, verbose, source, db_dir)

    def _default_archive(self):
        torch_home = os.environ.get("TORCH_HOME")
        return os.path.join(torch_home, ALL_BENCHMARK_FILES[-1]) if torch_home else None

    def _comment_text(self, dataset, hp):
        return None

    @property
    def _avaliable_hps(self):
        return {"12", "200"}

    @_avaliable_hps.setter
    def _avaliable_hps(self, value):
        pass

    def __repr__(self):
        return (f"{type(self).__name__}({len(self.evaluated_indexes)}/{len(self)} architectures, "
                f"file={self.filename})")

    def arch(self, index: int):
        if self.verbose:
            print(f"Call the arch function with index={index}")
        if not 0 <= index < len(self):
            raise AssertionError(f"invalid index : {index} vs. {len(self)}.")
        return self.meta_archs[index]

    def reload(self, archive_root: Text = None, index: int = None):
        """Read the ``index``-th architecture (None: all) again from the database (``archive_root`` is checked, not
        read)."""
        if archive_root is not None and not os.path.isdir(archive_root):
            raise AssertionError(f"invalid directory : {archive_root}")
        if index is not None and not 0 <= index < len(self):
            raise AssertionError(f"invalid index of {index}")
        if index is None:
            self.arch2infos_dict.clear()
        else:
            self.arch2infos_dict.pop(index, None)

    def query_info_str_by_arch(self, arch, hp: Text = "12"):
        """The text summary of ``arch`` (index or string) trained with ``hp`` ('12' or '200')."""
        if self.verbose:
            print(f"Call query_info_str_by_arch with arch={arch} and hp={hp}")
        return self._query_info_str_by_arch(arch, hp, print_information)

    def show(self, index: int = -1) -> None:
        """Print the text summary of the ``index``-th architecture (all evaluated ones for a negative index)."""
        self._show(index, print_information)

    def simulate_train_eval(self, arch, dataset, hp="12", account_time=True):
        """``(valid_accuracy, latency, time_cost, total_time_cost)`` of a random seed after the last epoch
        (cifar10 uses cifar10-valid's split); the time is charged to ``used_time``."""
        index = self.query_index_by_arch(arch)
        all_names = ("cifar10", "cifar100", "ImageNet16-120")
        if dataset not in all_names:
            raise AssertionError(f"Invalid dataset name : {dataset} vs {all_names}")
        info = self.get_more_info(index, "cifar10-valid" if dataset == "cifar10" else dataset, iepoch=None, hp=hp,
                                  is_random=True)
        valid_acc, time_cost = info["valid-accuracy"], info["train-all-time"] + info["valid-per-time"]
        latency = self.get_latency(index, dataset)
        if account_time:
            self._used_time += time_cost
        return valid_acc, latency, time_cost, self._used_time

    def query_by_index(self, arch_index: int, dataname=None, hp: Text = "12"):
        """ArchResults of (``arch_index``, ``hp``), or with ``dataname`` the ``{seed: ResultsCount}`` on it."""
        if self.verbose:
            print(f"Call query_by_index with arch_index={arch_index}, dataname={dataname}, hp={hp}")
        info = self.query_meta_info_by_index(arch_index, hp)
        if dataname is None:
            return info
        if dataname not in info.get_dataset_names():
            raise ValueError(f"invalid dataset-name : {dataname} vs. {info.get_dataset_names()}")
        return info.query(dataname)

    def find_best(self, dataset, metric_on_set, FLOP_max=None, Param_max=None, hp: Text = "12"):  # noqa: N803
        """``(index, accuracy)`` of the most accurate architecture under the FLOP / parameter limits."""
        if self.verbose:
            print(f"Call find_best with dataset={dataset}, metric_on_set={metric_on_set}, hp={hp} | with #FLOPs < "
                  f"{FLOP_max} and #Params < {Param_max}")
        dataset, metric_on_set = _nats.remap_dataset_set_names(dataset, metric_on_set, self.verbose)
        return self._best(self._bulk(list(self.evaluated_indexes), hp), dataset, metric_on_set, FLOP_max, Param_max)

    def get_net_param(self, index, dataset, seed: Optional[int], hp: Text = "12"):
        """Trained weights: not in the benchmark file's ``less``/``full`` records (:class:`WeightsNotAvailable`)."""
        return super().get_net_param(index, dataset, seed, hp)

    def statistics(self, dataset: Text, hp) -> dict:
        """``{number of trials: number of architectures}`` on ``dataset`` with ``hp`` over every architecture."""
        if self.verbose:
            print(f"Call the statistics function with dataset={dataset} and hp={hp}.")
        valid_datasets = ["cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"]
        if dataset not in valid_datasets:
            raise ValueError(f"{dataset} not in {valid_datasets}")
        hp = str(hp)
        epochs = self._space.epochs_of(hp)
        counts, present = self._store.seed_counts(epochs, dataset) if epochs is not None else ({}, set())
        nums = collections.defaultdict(lambda: 0)
        for index in range(len(self)):
            if index not in present:
                raise KeyError(index if index not in set(self.evaluated_indexes) else hp)
            nums[counts.get(index, 0)] += 1
        return dict(nums)
