"""Database side of the NATS-Bench / NAS-Bench-201 facades: trials of an architecture per statement, curves on demand.

A :class:`Trial` holds one training run (one ``ResultsCount`` of the original) as stored: the final values of NNI's
columns, the ``*_trial_detail`` row (times, eval-set names, top-5 curve, verbatim extras) and, loaded only when an
epoch other than the last is asked for, the per-epoch accuracies and losses. Its accessors raise exactly where the
original's dict lookups raise (``KeyError`` for an epoch a split was not evaluated at, ``ValueError`` for missing
evaluation times), so the facades answer as the original on every input.

Sources: by default only the released runs (NNI's tables and the detail tables, which hold the release only). A
``source`` other than 'original' also reads the runs of other sources (``nasbench-db train`` results), which live in
tables of their own (``*_trained_*``); they are shown as trials of the same kind, at their own budgets (hp = the
epoch count as a string, ``'01'`` style in the size space) and datasets, with what their results record: no
per-epoch or evaluation times (None), no latency, parameters and FLOPs as computed for the network. Two runs an
``ArchResults`` would key alike (same dataset and seed) are an error naming both sources, never one hiding the other.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ... import db as _db
from ...errors import NasbenchDbError
from ...models import (EVAL_SET_COLUMN, decode_detail_extra, unpack_eval_times, unpack_series)
from ...query._common import check_source, check_source_exists, source_filter
from ...spaces import nats_sss as _sss
from ...spaces import nb201 as _tss

#: Datasets as the original files name them, in the files' order.
DATASETS = tuple(_tss.ORIGINAL_DATASET[d] for d in _tss.DATASETS)
#: The eval sets of each dataset in NNI's split mapping (used when a trial has no detail row).
DEFAULT_EVAL_NAMES = {"cifar10-valid": ["x-valid", "ori-test"], "cifar10": ["ori-test"],
                      "cifar100": ["x-valid", "x-test", "ori-test"], "ImageNet16-120": ["x-valid", "x-test", "ori-test"]}
_ORIGINAL = dict(_tss.ORIGINAL_DATASET)


@dataclass(frozen=True)
class Space:
    """Tables and constants of one search space."""

    name: str  # 'topology' or 'size'
    benchmark: str
    config_table: str
    stats_table: str
    epoch_table: str
    detail_table: str
    hp_epochs: dict  # hp key -> epochs, in the files' hp order
    num_archs: int
    install_kind: str
    configs_per_arch: int  # config ids of arch i are configs_per_arch * i + 1 .. (i + 1) * configs_per_arch

    def config_span(self, first: int, last: int) -> tuple[int, int]:
        """The config ids of architectures ``first..last`` (the layout documented on the config models)."""
        return self.configs_per_arch * first + 1, self.configs_per_arch * (last + 1)

    def hp_of(self, epochs: int) -> str:
        """The hp key of a budget: the files' ('12', '200'; '01', '12', '90'); for other budgets (trained runs) the
        epoch count, zero-padded to two digits in the size space as its keys are."""
        found = _HP_OF.get((self.name, epochs))
        if found is None:
            found = str(epochs) if self.name == "topology" else f"{epochs:02d}"
        return found

    def epochs_of(self, hp) -> int | None:
        """The budget of an hp key (None for a key no budget has: the original's KeyError follows)."""
        found = self.hp_epochs.get(hp)
        if found is None and isinstance(hp, str) and hp.isdigit() and hp.isascii() and self.hp_of(int(hp)) == hp:
            found = int(hp)
        return found

    @property
    def trained_tables(self) -> tuple[str, str, str]:
        """(config, trial, epoch) tables of other sources' runs (``models.Nb201TrainedTrialStats``...)."""
        prefix = "nb201" if self.name == "topology" else "nats_sss"
        return f"{prefix}_trained_trialconfig", f"{prefix}_trained_trialstats", f"{prefix}_trained_epoch"

    def meta_archs(self) -> list:
        return _tss.meta_archs() if self.name == "topology" else _sss.meta_archs()

    def arch_text(self, index: int) -> str:
        return _arch_text(self.name, index)

    def arch_config(self, arch_text: str, dataset: str) -> dict:
        classes = _tss.NUM_CLASSES.get(dataset.lower())  # None for a trained run's other dataset (not recorded)
        if self.name == "topology":
            return {"channel": _tss.NUM_CHANNELS, "num_cells": _tss.NUM_CELLS, "arch_str": arch_text,
                    "class_num": classes}
        return {"name": "infer.shape.tiny", "channels": arch_text, "arch_str": arch_text, "genotype": _sss.CELL,
                "class_num": classes}


@lru_cache(maxsize=65536)
def _arch_text(space: str, index: int) -> str:
    if space == "topology":
        return _tss.arch_str(_tss.arch_of_index(index))
    return ":".join(map(str, _sss.arch_of_index(index)))


TOPOLOGY = Space("topology", "nb201", "nb201trialconfig", "nb201trialstats", "nb201_epoch", "nb201_trial_detail",
                 {str(e): e for e in _tss.EPOCHS}, _tss.NUM_ARCHS, "nats-tss",
                 len(_tss.EPOCHS) * len(_tss.DATASETS))
SIZE = Space("size", "nats_sss", "nats_sss_trialconfig", "nats_sss_trialstats", "nats_sss_epoch",
             "nats_sss_trial_detail", dict(_sss.HP_EPOCHS), _sss.NUM_ARCHS, "nats-sss",
             len(_sss.EPOCHS) * len(_sss.DATASETS))
_HP_OF = {(space.name, epochs): hp for space in (TOPOLOGY, SIZE) for hp, epochs in space.hp_epochs.items()}


class Trial:
    """One stored training run (see the module docstring). Immutable once loaded; shared by every facade object
    that shows it."""

    __slots__ = ("id", "dataset", "seed", "epochs", "arch_text", "space", "final", "latency", "params", "flop",
                 "eval_names", "_times", "_eval_times", "_top5", "extra", "group", "store", "_columns",
                 "_train_memo", "_eval_memo", "_times_memo", "regular", "has_detail", "_times_list", "_eval_series",
                 "arm", "source_id")

    def __init__(self, store, space, arch_text, row, arm=0):
        (self.id, dataset, self.seed, self.epochs, *final) = row[:12]
        self.final = tuple(final)
        (self.latency, params, self.flop, eval_names, times, eval_times, top5, extra, has_detail,
         self.source_id) = row[12:]
        self.arm = arm  # 0: the released runs' tables, 1: other sources' (models.Nb201TrainedTrialStats)
        self.dataset = _ORIGINAL.get(dataset, dataset)
        self.arch_text = arch_text
        self.space = space
        self.store = store
        self.params = None if params is None else np.float64(params)
        self.has_detail = bool(has_detail)
        self.extra = decode_detail_extra(extra) if extra else {}
        self.regular = not self.extra
        if not self.has_detail:
            # NNI's split mapping of the dataset (a trained run on another dataset: cifar10-valid's, as it was
            # stored); a trained run lists the sets it has values for
            names = DEFAULT_EVAL_NAMES.get(self.dataset, DEFAULT_EVAL_NAMES["cifar10-valid"])
            if arm:
                names = [n for n in names if final[EVAL_SET_COLUMN[n]] is not None
                         or final[EVAL_SET_COLUMN[n] + 4] is not None]
            self.eval_names = list(names)
        elif eval_names is None:
            self.eval_names = list(self.extra.get("eval_names") or [])
        else:
            self.eval_names = eval_names.split(",") if eval_names else []
        # PostgreSQL drivers hand bytea out as memoryview
        self._times = None if times is None else bytes(times)
        self._eval_times = None if eval_times is None else bytes(eval_times)
        self._top5 = None if top5 is None else bytes(top5)
        self.group = None  # the trials of the same architecture, budget and dataset (curves load together)
        self._columns = None
        self._train_memo: dict = {}
        self._eval_memo: dict = {}
        self._times_memo = None
        self._times_list = False  # unpacked on first use
        self._eval_series = None

    # -- stored series -------------------------------------------------------------------------------------------------
    def columns(self) -> list:
        """The 8 per-epoch columns (train, valid, test, ori_test accuracy, then the losses), None where absent."""
        if self._columns is None:
            self.store.load_curves(self.group or [self])
        return self._columns

    def train_times(self):
        """The per-epoch training times (list, epoch 0 first) or None. Shared: callers never change it."""
        if self._times_list is False:
            self._times_list = None if self._times is None else unpack_series(self._times, self.epochs)
        return self._times_list

    def eval_time_series(self) -> list:
        """Per eval set (``eval_names`` order): its per-epoch times or None. Shared: callers never change it."""
        if self._eval_series is None:
            if self._eval_times is None:
                self._eval_series = [None] * len(self.eval_names)
            else:
                self._eval_series = unpack_eval_times(self._eval_times, len(self.eval_names), self.epochs)
        return self._eval_series

    def eval_times_by_set(self) -> dict:
        """``{eval set: per-epoch times or None}``."""
        return dict(zip(self.eval_names, self.eval_time_series()))

    # -- values as the original's dicts answer them (regular trials) -------------------------------------------------
    def value(self, column: int, epoch: int, key):
        """Column ``column`` at ``epoch``; KeyError(``key``) where the original's dict has no such key."""
        if epoch == self.epochs - 1:
            found = self.final[column]
        else:
            found = self.columns()[column][epoch]
        if found is None:
            raise KeyError(key)
        return found

    def state(self) -> dict:
        """The original ``ResultsCount`` state dict of this run (fresh objects, in the files' key order)."""
        epochs = self.epochs
        extra = self.extra
        columns = None

        def column_dict(index):
            nonlocal columns
            columns = columns or self.columns()
            return {e: v for e, v in enumerate(columns[index]) if v is not None}

        def eval_dict(offset):
            nonlocal columns
            columns = columns or self.columns()
            found = {}
            for name in self.eval_names:
                values = columns[EVAL_SET_COLUMN[name] + offset]
                for e, v in enumerate(values):
                    if v is not None:
                        found[f"{name}@{e}"] = v
            return found

        train_times = self.train_times()
        eval_times = {}
        if "eval_times" not in extra:
            for name, series in zip(self.eval_names, self.eval_time_series()):
                if series is not None:
                    for e, v in enumerate(series):
                        eval_times[f"{name}@{e}"] = v
        state = OrderedDict()
        state["name"] = extra.get("name", self.dataset)
        state["train_acc1es"] = extra["train_acc1es"] if "train_acc1es" in extra else column_dict(0)
        if "train_acc5es" in extra:
            state["train_acc5es"] = extra["train_acc5es"]
        else:
            state["train_acc5es"] = None if self._top5 is None else dict(enumerate(unpack_series(self._top5,
                                                                                                   epochs)))
        state["train_losses"] = extra["train_losses"] if "train_losses" in extra else column_dict(4)
        if "train_times" in extra:
            state["train_times"] = extra["train_times"]
        else:
            state["train_times"] = None if train_times is None else OrderedDict(enumerate(train_times))  # a copy
        state["arch_config"] = extra.get("arch_config") or self.space.arch_config(self.arch_text, self.dataset)
        state["params"] = self.params
        state["flop"] = self.flop
        state["seed"] = extra.get("seed", f"{self.seed:04d}")
        state["epochs"] = epochs
        if "latency" in extra:  # the files' latency lists hold numpy.float64 values
            latency = extra["latency"]
            state["latency"] = [None if v is None else np.float64(v) for v in latency] \
                if isinstance(latency, list) else latency
        else:
            state["latency"] = None if self.latency is None else [np.float64(self.latency)]
        state["eval_names"] = list(self.eval_names)
        state["eval_acc1es"] = extra["eval_acc1es"] if "eval_acc1es" in extra else eval_dict(0)
        state["eval_times"] = extra["eval_times"] if "eval_times" in extra else eval_times
        state["eval_losses"] = extra["eval_losses"] if "eval_losses" in extra else eval_dict(4)
        state["net_state_dict"] = None
        return state


class Store:
    """Read access to one space's tables for the facades (``source``: which rows count as the benchmark)."""

    def __init__(self, space: Space, db_dir=None, source="original"):
        self.space = space
        self.db_dir = db_dir
        self.source = check_source(source)
        handle = _db.open_benchmark(space.benchmark, db_dir)
        if handle.location.layout == "nni":
            raise NasbenchDbError(
                f"{handle.location.target} is NNI's prebuilt file, which keeps only NNI's columns (no per-epoch "
                f"times, no eval-set names): the NATS-Bench / NAS-Bench-201 facades need nasbench_db's database. "
                f"Convert the original file (nasbench-db convert {space.install_kind} ...) or pass it to the API")
        tables = _db.table_names(handle.database)
        if space.detail_table not in tables:
            raise NasbenchDbError(
                f"{handle.location.target} has no {space.detail_table} table (the per-epoch times and eval-set names "
                f"the original API returns): it was converted by an older nasbench_db. Convert the original file "
                f"again (nasbench-db convert {space.install_kind} ...)")
        self.location = _db._redact(handle.location.target)
        check_source_exists(handle.database, space.benchmark, self.source)
        # other sources' runs are read only when asked for (and where the file has their tables)
        self.trained = self.source != "original" and space.trained_tables[1] in tables

    def database(self):
        return _db.open_benchmark(self.space.benchmark, self.db_dir).database

    _FINALS = ("t.train_acc, t.valid_acc, t.test_acc, t.ori_test_acc, t.train_loss, t.valid_loss, t.test_loss, "
               "t.ori_test_loss")

    def _select(self, where: str, params: list) -> list:
        space = self.space
        # The trials' config ids are a key range of the config_id index; CROSS JOIN keeps SQLite on that plan
        # (on a small file its statistics would rather scan the trials).
        sql = (f"SELECT c.arch_index, t.id, c.dataset, t.seed, c.num_epochs, {self._FINALS}, t.latency, "
               f"t.file_parameters, t.file_flops, d.eval_names, d.train_times, d.eval_times, d.train_acc5, d.extra, "
               f"CASE WHEN d.trial_id IS NULL THEN 0 ELSE 1 END, t.source_id FROM {space.stats_table} t "
               f"CROSS JOIN {space.config_table} c LEFT JOIN {space.detail_table} d ON d.trial_id = t.id "
               f"WHERE c.id = t.config_id AND {where}")
        sql += source_filter(self.source, params) + " ORDER BY t.id"
        return _db.fetchall(self.database(), sql, params)

    def _select_trained(self, first: int, last: int, epochs: int | None) -> list:
        """Other sources' runs of the architectures ``first..last`` (same columns as :meth:`_select`; their
        configs may be at any budget and dataset, so they are found by architecture index)."""
        configs, trials, _ = self.space.trained_tables
        params: list = [first, last]
        sql = (f"SELECT c.arch_index, t.id, c.dataset, t.seed, c.num_epochs, {self._FINALS}, t.latency, "
               f"COALESCE(t.file_parameters, t.parameters), COALESCE(t.file_flops, t.flops), NULL, NULL, NULL, NULL, "
               f"NULL, 0, t.source_id FROM {configs} c JOIN {trials} t ON t.config_id = c.id "
               f"WHERE c.arch_index BETWEEN ? AND ?")
        if epochs is not None:
            sql += " AND c.num_epochs = ?"
            params.append(epochs)
        sql += source_filter(self.source, params) + " ORDER BY t.id"
        return _db.fetchall(self.database(), sql, params)

    def load(self, first: int, last: int | None = None, epochs: int | None = None) -> dict:
        """Trials of the architectures ``first..last`` (one statement per source table):
        ``{index: {epochs: [Trial, ...]}}``, budgets in ascending order, trials in file order (the released runs
        first); groups of the same (index, epochs, dataset) share curve loading."""
        last = first if last is None else last
        params: list = list(self.space.config_span(first, last))
        where = "t.config_id BETWEEN ? AND ?"
        if epochs is not None:
            where += " AND c.num_epochs = ?"
            params.append(epochs)
        arms = [(0, self._select(where, params))]
        if self.trained:
            arms.append((1, self._select_trained(first, last, epochs)))
        found: dict = {}
        groups: dict = {}
        texts: dict = {}
        for arm, rows in arms:
            for row in rows:
                index = row[0]
                text = texts.get(index)
                if text is None:
                    text = texts[index] = self.space.arch_text(index)
                # (id, dataset, seed, epochs, 8 finals, latency, params, flops, eval_names, times, eval_times,
                #  top5, extra, has_detail, source_id)
                trial = Trial(self, self.space, text, (row[1], row[2], row[3], row[4], *row[5:]), arm)
                found.setdefault(index, {}).setdefault(trial.epochs, []).append(trial)
                groups.setdefault((index, trial.epochs, trial.dataset, arm), []).append(trial)
        for members in groups.values():
            for trial in members:
                trial.group = members
        return {index: dict(sorted(budgets.items())) for index, budgets in found.items()}

    def load_curves(self, trials) -> None:
        """Fill the per-epoch columns of ``trials`` (one statement; the trials share a source table)."""
        ids = [t.id for t in trials]
        marks = ",".join("?" * len(ids))
        table = self.space.trained_tables[2] if trials[0].arm else self.space.epoch_table
        rows = _db.fetchall(self.database(), f"SELECT trial_id, current_epoch, train_acc, valid_acc, test_acc, "
                                             f"ori_test_acc, train_loss, valid_loss, test_loss, ori_test_loss FROM "
                                             f"{table} WHERE trial_id IN ({marks})", ids)
        columns = {t.id: [[None] * t.epochs for _ in range(8)] for t in trials}
        for trial_id, epoch, *values in rows:
            target = columns[trial_id]
            e = epoch - 1
            if 0 <= e < len(target[0]):
                for k in range(8):
                    target[k][e] = values[k]
        for trial in trials:
            trial._columns = columns[trial.id]

    def evaluated(self) -> list:
        """Indices of the architectures with results, ascending."""
        space = self.space
        params: list = []
        sql = f"SELECT DISTINCT t.config_id FROM {space.stats_table} t WHERE 1 = 1" + source_filter(self.source, params)
        per_arch = space.configs_per_arch
        found = {(row[0] - 1) // per_arch for row in _db.fetchall(self.database(), sql, params)}
        if self.trained:
            configs, trials, _ = space.trained_tables
            params = []
            sql = (f"SELECT DISTINCT c.arch_index FROM {configs} c JOIN {trials} t ON t.config_id = c.id WHERE 1 = 1"
                   + source_filter(self.source, params))
            found.update(row[0] for row in _db.fetchall(self.database(), sql, params))
        return sorted(found)

    def _config_arms(self) -> list:
        """(config table, trial table) of every source table read."""
        arms = [(self.space.config_table, self.space.stats_table)]
        if self.trained:
            arms.append(self.space.trained_tables[:2])
        return arms

    def budgets(self) -> list:
        """Epoch budgets with results, ascending."""
        found = set()
        for configs, trials in self._config_arms():
            params: list = []
            sql = (f"SELECT DISTINCT c.num_epochs FROM {configs} c JOIN {trials} t ON t.config_id = c.id WHERE 1 = 1"
                   + source_filter(self.source, params))
            found.update(row[0] for row in _db.fetchall(self.database(), sql, params))
        return sorted(found)

    def seed_counts(self, epochs: int, dataset: str) -> tuple[dict, set]:
        """``({index: trials on dataset}, {indices with any trial at epochs})`` for ``statistics``."""
        counts, present = {}, set()
        for configs, trials in self._config_arms():
            params: list = [epochs]
            sql = (f"SELECT c.arch_index, c.dataset, COUNT(*) FROM {configs} c JOIN {trials} t ON t.config_id = c.id "
                   f"WHERE c.num_epochs = ?" + source_filter(self.source, params) + " GROUP BY c.arch_index, c.dataset")
            for index, name, count in _db.fetchall(self.database(), sql, params):
                present.add(index)
                if _ORIGINAL.get(name, name) == dataset:
                    counts[index] = counts.get(index, 0) + count
        return counts, present

    def describe(self, trial) -> str:
        """The source of a trial in words (for error messages)."""
        rows = _db.fetchall(self.database(), "SELECT kind, file_name, device FROM nasbench_source WHERE id = ?",
                            [trial.source_id])
        if not rows:
            return f"source {trial.source_id}"
        kind, file_name, device = rows[0]
        return f"source {trial.source_id} ({kind}: {file_name}" + (f" on {device})" if device else ")")
