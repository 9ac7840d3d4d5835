"""NAS-Bench-201 / NATS-Bench topology space as a simulated search problem: :class:`NB201Simulator`.

Genotypes are benchmark indices (0..15,624; :mod:`nasbench_db.spaces.nb201` maps them to cells). Every cell is in
the database, so sampling, mutation and neighbourhoods never need a lookup beyond the space's own index tables.
"""

from __future__ import annotations

import json
import math
import random
from array import array

from .. import db as _db
from ..errors import InvalidArgument
from ..query._common import check_int, check_source, placeholders
from ..spaces import nb201 as space
from .base import Simulator

SAMPLINGS = ("uniform", "unique")


def _check_dataset(name, source="original") -> str:
    """One of the benchmark's datasets; with another source any dataset its runs used."""
    if not isinstance(name, str) or not name.strip() or source == "original" and name.lower() not in space.DATASETS:
        raise InvalidArgument(f"unknown dataset {name!r}: expected one of {', '.join(space.DATASETS)} (runs of other "
                              "sources on other datasets: pass source=None or a source name)")
    return name.strip().lower()


class NB201Simulator(Simulator):
    """NAS-Bench-201 / NATS topology space from the installed database, with budget accounting.

    :param dataset: the dataset whose validation accuracy a search sees ('cifar10-valid', 'cifar10', 'cifar100',
        'imagenet16-120'). On 'cifar10' NNI's split mapping makes the "validation" accuracy the test accuracy
        (the original trains on train+valid there): search on 'cifar10-valid' and report on 'cifar10' with
        ``test_dataset`` for the NB-201 paper's protocol.
    :param epochs: 200 or 12.
    :param seed: seed of the simulator's own ``random.Random`` (picks the run / seed a query returns).
    :param test_dataset: the dataset whose mean test accuracy defines the regret (default: ``dataset``).
    :param sampling: ``'uniform'`` over the 15,625 cells (NB-201's random search) or ``'unique'`` over the 6,466
        isomorphism classes.
    :param source: 'original' (default), None (every run) or a source id / kind / device / file name.

    A query charges the run's training time plus one evaluation pass over the validation split (NATS's
    ``simulate_train_eval`` cost); an isomorphic repeat is a query of a cell of an already-queried class. The runs of
    both datasets are bulk-loaded in one statement.
    """

    benchmark = "nb201"

    def __init__(self, dataset: str = "cifar10-valid", epochs: int = 200, seed=0, db_dir=None, *,
                 test_dataset: str | None = None, sampling: str = "uniform", source="original"):
        super().__init__(seed)
        self.source = check_source(source)
        self.dataset = _check_dataset(dataset, self.source)
        self.test_dataset = _check_dataset(test_dataset, self.source) if test_dataset is not None else self.dataset
        self.epochs = check_int("epochs", epochs, space.EPOCHS if self.source == "original" else None)
        if self.epochs is None:
            raise InvalidArgument("epochs must be 12 or 200: got None")
        if sampling not in SAMPLINGS:
            raise InvalidArgument(f"sampling must be one of {', '.join(SAMPLINGS)}: got {sampling!r}")
        self.sampling = sampling
        self.db_dir = db_dir
        self.unique = space.unique_indices()
        self._classes = sorted(set(self.unique))
        self._load()

    # ------------------------------------------------------------------------------------------------ loading

    def _load(self) -> None:
        handle = _db.open_benchmark("nb201", self.db_dir)
        database = handle.database
        nni = handle.location.layout == "nni"
        datasets = sorted({self.dataset, self.test_dataset})
        marks = ", ".join("?" for _ in datasets)
        key = "c.arch" if nni else "c.arch_index"
        tables = [("nb201trialstats", "nb201trialconfig")]
        if not nni and self.source != "original":
            from ..query.nb201 import NB201, trained_tables

            if trained_tables(handle, NB201):  # other sources' runs live in tables of their own
                tables.append(NB201.trained[1::-1])
        params, arms = [], []
        for trial, config in tables:
            arms.append(f"SELECT t.id, {key}, c.dataset, t.valid_acc, t.train_acc, t.test_acc, t.training_time, "
                        f"t.valid_evaluation_time FROM {trial} t JOIN {config} c ON c.id = t.config_id "
                        f"WHERE c.num_epochs = ? AND c.dataset IN ({marks})")
            params += [self.epochs, *datasets]
            if not nni:
                from ..query._common import source_filter

                arms[-1] += source_filter(self.source, params)
            elif self.source not in ("original", None):
                raise InvalidArgument("NNI's prebuilt file holds only the released runs: use source='original'")
        sql = " UNION ALL ".join(arms) + " ORDER BY 1"
        search: dict = {}
        tests: dict = {}
        index_of_json: dict = {}
        for _, arch, dataset, valid, train, test, seconds, eval_seconds in database.execute_sql(
                placeholders(database, sql), params):
            if nni:
                index = index_of_json.get(arch)
                if index is None:
                    index = index_of_json[arch] = space.index_of(space.from_nni(json.loads(arch)))
            else:
                index = arch
            if dataset == self.dataset:
                search.setdefault(index, []).append((valid, train, seconds, eval_seconds))
            if dataset == self.test_dataset and test is not None:
                tests.setdefault(index, []).append(test)
        if not search:
            raise InvalidArgument(f"no NB-201 runs for {self.dataset} with {self.epochs} epochs in the installed "
                                  f"database (source={self.source!r})")
        self._fill(search, tests)

    def _fill(self, search: dict, tests: dict) -> None:
        size = space.NUM_ARCHS
        self.start = array("q", [0]) * size
        self.count = array("l", [0]) * size
        self.valid = array("d")
        self.train = array("d")
        self.cost = array("d")
        self.train_time = array("d")
        missing_time = 0
        for index in sorted(search):
            runs = search[index]
            times = [r[2] for r in runs if r[2] is not None]
            if not times:
                missing_time += 1
                continue
            fallback = math.fsum(times) / len(times)  # a run without a time costs its config's mean time
            self.start[index] = len(self.valid)
            self.count[index] = len(runs)
            for valid, train, seconds, eval_seconds in runs:
                seconds = fallback if seconds is None else seconds
                self.valid.append(math.nan if valid is None else valid)
                self.train.append(math.nan if train is None else train)
                self.train_time.append(seconds)
                self.cost.append(seconds + (eval_seconds or 0.0))
        if missing_time:
            raise InvalidArgument(
                f"{missing_time} {self.dataset} configs with {self.epochs} epochs have no training time, so queries "
                "cannot be charged (NAS-Bench-201 v1_0 has no times for 200-epoch runs): install NAS-Bench-201 "
                "v1_1 or NATS-tss, or use epochs=12")
        self.mean_test = array("d", [math.nan]) * size
        best = -math.inf
        for index, values in tests.items():
            mean = math.fsum(values) / len(values)
            self.mean_test[index] = mean
            best = max(best, mean)
        self.best_mean_test_acc = best
        self.installed = [i for i in range(size) if self.count[i] and not math.isnan(self.mean_test[i])]
        if not self.installed:
            raise InvalidArgument(f"no cell has both {self.dataset} runs and {self.test_dataset} test accuracies")
        self._installed_set = set(self.installed)
        self._installed_classes = sorted({self.unique[i] for i in self.installed})

    # ------------------------------------------------------------------------------------------------ lookups

    def cell_of(self, genotype: int) -> int:
        """The genotype itself when installed (runs on ``dataset`` and a test accuracy), else -1."""
        return genotype if genotype in self._installed_set else -1

    def cell_index(self, arch) -> int:
        """Benchmark index of any arch form (index, arch string, NNI dict, 6 ops); KeyError when not installed."""
        index = space.index_of(arch)
        if index not in self._installed_set:
            raise KeyError(f"cell {index} has no {self.dataset} runs with {self.epochs} epochs installed")
        return index

    def settings(self) -> dict:
        return {"benchmark": self.benchmark, "dataset": self.dataset, "test_dataset": self.test_dataset,
                "epochs": self.epochs, "sampling": self.sampling, "source": self.source,
                "cells": len(self.installed)}

    # ------------------------------------------------------------------------------------------------ search side

    def random_genotype(self, rng: random.Random, sampling: str | None = None) -> int:
        """A random installed cell: uniform over cells, or over isomorphism classes (``sampling='unique'``)."""
        sampling = sampling or self.sampling
        if sampling == "uniform":
            return self.installed[rng.randrange(len(self.installed))]
        if sampling == "unique":
            cls = self._installed_classes[rng.randrange(len(self._installed_classes))]
            return cls if cls in self._installed_set else next(i for i in self.installed if self.unique[i] == cls)
        raise InvalidArgument(f"sampling must be one of {', '.join(SAMPLINGS)}: got {sampling!r}")

    def mutate_genotype(self, genotype: int, rng: random.Random) -> int:
        """One edit (:func:`space.mutate`), redrawn until the child is installed (always, on a full database)."""
        ops = space.arch_of_index(genotype)
        for _ in range(200):
            child = space.index_of(space.mutate(ops, rng))
            if child in self._installed_set:
                return child
        return self.random_genotype(rng)

    def neighbour_genotypes(self, genotype: int) -> list:
        """Installed cells one edit away, one per isomorphism class, none in ``genotype``'s class."""
        found = []
        for child in space.neighbours(space.arch_of_index(genotype), distinct=True):
            index = space.index_of(child)
            if index in self._installed_set:
                found.append(index)
        return found

    def evaluate(self, genotype: int):
        """``(index, validation accuracy %, charged seconds)`` of one random run of ``genotype``; charges it."""
        if genotype not in self._installed_set:
            self.cell_index(genotype)  # raises the precise error
        run = self.start[genotype] + self._rng.randrange(self.count[genotype])
        seconds = self.cost[run]
        self._charge(self.unique[genotype], seconds, self.epochs)
        return genotype, self.valid[run], seconds

    def query(self, arch) -> dict:
        """What training ``arch`` shows a search, from one random run; charges the budget.

        Returns ``index``, ``arch_str``, ``unique_index``, ``dataset``, ``num_epochs``, ``train_acc``, ``valid_acc``
        (percent), ``training_time`` (seconds of training), ``time_cost`` (the charged seconds: training plus one
        validation pass) and ``isomorphic_repeat``. No test accuracy: see :meth:`mean_metrics`.
        """
        index = self.cell_index(arch)
        repeat = self._rng.randrange(self.count[index])
        run = self.start[index] + repeat
        repeated = self._charge(self.unique[index], self.cost[run], self.epochs)
        return {"index": index, "arch_str": space.arch_str(index), "unique_index": self.unique[index],
                "dataset": self.dataset, "num_epochs": self.epochs, "repeat": repeat, "train_acc": self.train[run],
                "valid_acc": self.valid[run], "training_time": self.train_time[run], "time_cost": self.cost[run],
                "isomorphic_repeat": repeated}

    # ------------------------------------------------------------------------------------------------ analysis

    def mean_metrics(self, arch) -> dict:
        """Means over a cell's runs (never charges): ``valid_acc``, ``train_acc``, ``training_time``,
        ``time_cost`` on ``dataset`` and ``test_acc`` on ``test_dataset``."""
        index = self.cell_index(arch)
        first, count = self.start[index], self.count[index]

        def mean(values):
            return math.fsum(values[first:first + count]) / count

        return {"index": index, "arch_str": space.arch_str(index), "unique_index": self.unique[index],
                "runs": count, "valid_acc": mean(self.valid), "train_acc": mean(self.train),
                "training_time": mean(self.train_time), "time_cost": mean(self.cost),
                "test_acc": self.mean_test[index], "test_dataset": self.test_dataset}

    def test_accuracy(self, cell: int) -> float:
        """Mean test accuracy (percent) of index ``cell`` on ``test_dataset`` (never charges)."""
        return self.mean_test[cell]

    def regret(self, cell: int) -> float:
        """Test regret of index ``cell`` in percentage points (best mean test accuracy minus the cell's)."""
        return self.best_mean_test_acc - self.mean_test[cell]

    def describe(self, cell: int) -> dict:
        return {"index": cell, "arch_str": space.arch_str(cell), "arch": space.to_nni(cell),
                "unique_index": self.unique[cell]}
