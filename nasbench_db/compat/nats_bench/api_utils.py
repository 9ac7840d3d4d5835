"""``ResultsCount``, ``ArchResults`` and the API base class of the NATS-Bench facade (``nats_bench.api_utils``).

The classes answer as NATS-Bench 1.8's on the same data: same methods, arguments, dict keys, value types, exception
types and ``random`` calls. Objects made from the database read their values lazily from a shared, immutable
:class:`~nasbench_db.compat.nats_bench._store.Trial`; touching an attribute (``result.train_acc1es``...) gives that
object its own copy of the original state dict, which it may change freely (``reset_latency``, ``update_eval``...),
as a deep copy from the original API would. Differences, all deliberate (docs/compat.md): ``get_net_param`` raises
:class:`WeightsNotAvailable` instead of returning None (the simple archives hold no weights), and the files are
never unpickled (``pickle_load`` goes through nasbench_db's restricted reader).
"""

from __future__ import annotations

import bz2
import collections
import copy
import os
import pickle
import random
import time
import warnings
from typing import Optional, Text

from ...errors import NasbenchDbError
from ...models import EVAL_SET_COLUMN
from .._install import ensure_installed, read_nats_pickle
from ._store import DATASETS, Store

PICKLE_EXT = "pickle.pbz2"
#: Fields of the original ResultsCount state, in the files' order.
STATE_FIELDS = ("name", "train_acc1es", "train_acc5es", "train_losses", "train_times", "arch_config", "params", "flop",
                "seed", "epochs", "latency", "eval_names", "eval_acc1es", "eval_times", "eval_losses",
                "net_state_dict")
#: How many architectures an API object keeps loaded (the original keeps every one it ever loaded).
CACHED_ARCHS = 4096


class WeightsNotAvailable(NasbenchDbError, ValueError):
    """Trained weights are not part of the benchmark's simple archives (nor of nasbench_db's database)."""


def mean(xlist):
    """The original's average: ``sum(xlist) / len(xlist)``."""
    return sum(xlist) / len(xlist)


def time_string():
    return "[{}]".format(time.strftime("%Y-%m-%d %X", time.gmtime(time.time())))


def get_torch_home():
    """``$TORCH_HOME``, else ``~/.torch`` (where the original looks for its archives by default)."""
    if "TORCH_HOME" in os.environ:
        return os.environ["TORCH_HOME"]
    if "HOME" in os.environ:
        return os.path.join(os.environ["HOME"], ".torch")
    raise ValueError("neither TORCH_HOME nor HOME is set: set one, or pass the archive's path")


def pickle_load(file_path, ext=".pbz2"):
    """The object of a NATS ``.pickle.pbz2`` file, read by nasbench_db's restricted reader (dicts, lists, numbers
    and numpy scalars only: nothing in the file can run code). ``ext`` is appended when ``file_path`` is not a file."""
    path = str(file_path)
    if not os.path.isfile(path):
        path += ext
    return read_nats_pickle(path)


def pickle_save(obj, file_path, ext=".pbz2", protocol=4):
    """Write ``obj`` as a bz2-compressed pickle to ``file_path + ext`` (the original's format)."""
    with bz2.BZ2File(str(file_path) + ext, "wb") as handle:
        pickle.dump(obj, handle, protocol=protocol)


def remap_dataset_set_names(dataset, metric_on_set, verbose=False):
    """The original's mapping of ('cifar10', 'valid') and friends to the stored (dataset, eval set) names."""
    if verbose:
        print(f"remap_dataset_set_names(dataset={dataset}, metric_on_set={metric_on_set})")
    if dataset == "cifar10" and metric_on_set == "valid":
        dataset, metric_on_set = "cifar10-valid", "x-valid"
    elif dataset == "cifar10" and metric_on_set == "test":
        dataset, metric_on_set = "cifar10", "ori-test"
    elif dataset == "cifar10" and metric_on_set == "train":
        dataset, metric_on_set = "cifar10", "train"
    elif dataset in ("cifar100", "ImageNet16-120") and metric_on_set == "valid":
        metric_on_set = "x-valid"
    elif dataset in ("cifar100", "ImageNet16-120") and metric_on_set == "test":
        metric_on_set = "x-test"
    if verbose:
        print(f"  -> dataset={dataset}, metric_on_set={metric_on_set}")
    return dataset, metric_on_set


# ----------------------------------------------------------------------------------------------------------------------
# ResultsCount: one trial


class ResultsCount:
    """One trial of one architecture (the original's ``ResultsCount``): per-epoch train/eval accuracy, loss and time,
    parameters, FLOPs, latency, seed. Accuracies in percent, times in seconds, params in millions ("MB" in the
    original's text), FLOPs in millions."""

    # The dialect (NAS-Bench-201's API overrides these).
    _average = staticmethod(mean)
    _total = staticmethod(sum)
    _asserts = False

    def __init__(self, name, state_dict, train_accs, train_losses, params, flop, arch_config, seed, epochs, latency):
        self.__dict__["_trial"] = None
        self.__dict__["_materialized"] = True
        self.name = name
        self.net_state_dict = state_dict
        self.train_acc1es = copy.deepcopy(train_accs)
        self.train_acc5es = None
        self.train_losses = copy.deepcopy(train_losses)
        self.train_times = None
        self.arch_config = copy.deepcopy(arch_config)
        self.params = params
        self.flop = flop
        self.seed = seed
        self.epochs = epochs
        self.latency = latency
        self.reset_eval()

    @classmethod
    def _of(cls, trial):
        """A view of a stored trial (values read on demand)."""
        obj = cls.__new__(cls)
        obj.__dict__["_trial"] = trial
        obj.__dict__["_materialized"] = False
        return obj

    # -- lazy state ----------------------------------------------------------------------------------------------------
    def __getattr__(self, name):
        if name in STATE_FIELDS:
            trial = self.__dict__.get("_trial")
            if trial is not None and not self.__dict__.get("_materialized"):
                self._materialize()
                return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _materialize(self):
        trial = self.__dict__.get("_trial")
        if trial is not None and not self.__dict__.get("_materialized"):
            self.__dict__.update(trial.state())
            self.__dict__["_materialized"] = True

    def _fast(self):
        """The stored trial when this object is untouched and the trial regular (the fast, memoized answers)."""
        trial = self.__dict__.get("_trial")
        if trial is not None and trial.regular and not self.__dict__.get("_materialized"):
            return trial
        return None

    def _light(self, name):
        """``name`` among the cheap fields, without materializing an untouched view."""
        trial = self.__dict__.get("_trial")
        if trial is None or self.__dict__.get("_materialized"):
            return getattr(self, name)
        if name == "flop":
            return trial.flop
        if name == "params":
            return trial.params
        if name == "epochs":
            return trial.epochs
        if name == "arch_config":
            return trial.extra.get("arch_config") or trial.space.arch_config(trial.arch_text, trial.dataset)
        if name == "name":
            return trial.extra.get("name", trial.dataset)
        if name == "seed":
            return trial.extra.get("seed", f"{trial.seed:04d}")
        if name == "eval_names":
            return list(trial.eval_names)
        return getattr(self, name)

    def __deepcopy__(self, memo):
        trial = self.__dict__.get("_trial")
        if trial is not None and not self.__dict__.get("_materialized"):
            return type(self)._of(trial)
        new = type(self).__new__(type(self))
        new.__dict__["_trial"] = None
        new.__dict__["_materialized"] = True
        for key, value in self.__dict__.items():
            if key not in ("_trial", "_materialized"):
                new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    def __reduce__(self):
        return (type(self).create_from_state_dict, (self.state_dict(),))

    # -- updates (as the original's) -----------------------------------------------------------------------------------
    def update_train_info(self, train_acc1es, train_acc5es, train_losses, train_times) -> None:
        self._materialize()
        self.train_acc1es = train_acc1es
        self.train_acc5es = train_acc5es
        self.train_losses = train_losses
        self.train_times = train_times

    def reset_pseudo_train_times(self, estimated_per_epoch_time: float) -> None:
        """Set every epoch's training time to ``estimated_per_epoch_time``."""
        self._materialize()
        self.train_times = collections.OrderedDict((i, estimated_per_epoch_time) for i in range(self.epochs))

    def reset_pseudo_eval_times(self, eval_name: Text, estimated_per_epoch_time: float) -> None:
        """Set every epoch's evaluation time of ``eval_name``."""
        self._materialize()
        if eval_name not in self.eval_names:
            raise ValueError(f"invalid eval name : {eval_name} (this trial's eval sets: {self.eval_names})")
        for i in range(self.epochs):
            self.eval_times[f"{eval_name}@{i}"] = estimated_per_epoch_time

    def reset_eval(self):
        self._materialize()
        self.eval_names = []
        self.eval_acc1es = {}
        self.eval_times = {}
        self.eval_losses = {}

    def update_latency(self, latency):
        self._materialize()
        self.latency = copy.deepcopy(latency)

    def get_latency(self) -> float:
        """Latency in seconds (mean of the latency list), or -1.0 when there is none."""
        trial = self._fast()
        if trial is not None:
            return -1.0 if trial.latency is None else _numpy_float(trial.latency)
        if self.latency is None:
            return -1.0
        return sum(self.latency) / len(self.latency)

    def update_eval(self, accs, losses, times):
        """Add the eval sets named in ``accs`` (keys ``'<set>@<epoch>'``) with their losses and times."""
        self._materialize()
        for data_name in {x.split("@")[0] for x in accs.keys()}:
            if data_name in self.eval_names:
                raise ValueError(f"{data_name} has already been added into eval-names")
            self.eval_names.append(data_name)
            for iepoch in range(self.epochs):
                xkey = f"{data_name}@{iepoch}"
                self.eval_acc1es[xkey] = accs[xkey]
                self.eval_losses[xkey] = losses[xkey]
                self.eval_times[xkey] = times[xkey]

    def update_OLD_eval(self, name, accs, losses):  # noqa: N802 (the original's name)
        """Add one eval set from ``{epoch: value}`` dicts (the old NAS-Bench-201 layout)."""
        self._materialize()
        if name in self.eval_names:
            raise AssertionError(f"{name} has already been added")
        self.eval_names.append(name)
        for iepoch in range(self.epochs):
            if iepoch in accs:
                self.eval_acc1es[f"{name}@{iepoch}"] = accs[iepoch]
                self.eval_losses[f"{name}@{iepoch}"] = losses[iepoch]

    def __repr__(self):
        names = self._light("eval_names")
        return "{name}({xname}, arch={arch}, FLOP={flop:.2f}M, Param={param:.3f}MB, seed={seed}, {num} eval-sets: " \
               "[{sets}])".format(name=type(self).__name__, xname=self._light("name"),
                                  arch=self._light("arch_config")["arch_str"], flop=self._light("flop"),
                                  param=self._light("params"), seed=self._light("seed"), num=len(names),
                                  sets=", ".join(names))

    def get_total_epoch(self):
        return copy.deepcopy(self._light("epochs"))

    # -- answers -------------------------------------------------------------------------------------------------------
    def get_times(self):
        """``{'T-train@epoch', 'T-train@total', 'T-<set>@epoch', 'T-<set>@total'}``: mean per-epoch and total
        seconds of training and of each eval set (None where the trial has no times)."""
        return dict(self._times_info())

    def _times_info(self):
        trial = self._fast()
        if trial is not None:
            found = trial._times_memo
            if found is None or found[0] is not type(self):
                found = (type(self), self._compute_times(trial.train_times(), trial.eval_names,
                                                         trial.eval_times_by_set(), trial.epochs))
                trial._times_memo = found
            return found[1]
        train_times = self.train_times
        series = list(train_times.values()) if train_times is not None and isinstance(train_times, dict) else None
        info = self._compute_times(series, [], {}, self.epochs)
        for name in self.eval_names:
            try:
                xtimes = [self.eval_times[f"{name}@{i}"] for i in range(self.epochs)]
                info[f"T-{name}@epoch"] = self._average(xtimes)
                info[f"T-{name}@total"] = self._total(xtimes)
            except Exception:  # noqa: BLE001 (the original turns any failure into None)
                info[f"T-{name}@epoch"] = None
                info[f"T-{name}@total"] = None
        return info

    def _compute_times(self, train_series, names, eval_series, epochs):
        if train_series is not None:
            info = {"T-train@epoch": self._average(train_series), "T-train@total": self._total(train_series)}
        else:
            info = {"T-train@epoch": None, "T-train@total": None}
        for name in names:
            series = eval_series.get(name)
            if series is None:
                info[f"T-{name}@epoch"] = None
                info[f"T-{name}@total"] = None
            else:
                info[f"T-{name}@epoch"] = self._average(series)
                info[f"T-{name}@total"] = self._total(series)
        return info

    def get_eval_set(self):
        return self.eval_names

    def judge_valid(self, iepoch: Optional[int]):
        """ValueError unless ``0 <= iepoch < epochs``."""
        epochs = self._light("epochs")
        if self._asserts:
            if not 0 <= iepoch < epochs:
                raise AssertionError(f"invalid iepoch={iepoch} < {epochs}")
        elif iepoch < 0 or iepoch >= epochs:
            raise ValueError(f"invalid iepoch={iepoch}: this trial has epochs 0..{epochs - 1}")

    def get_train(self, iepoch: Optional[int] = None):
        """``{'iepoch', 'loss', 'accuracy', 'cur_time', 'all_time'}`` on the training set after epoch ``iepoch``
        (default: the last); times are that epoch's and the sum up to it (None without times)."""
        return dict(self._train_info(iepoch))

    def _train_info(self, iepoch):
        trial = self._fast()
        if trial is not None and (iepoch is None or type(iepoch) is int):
            if iepoch is None:
                iepoch = trial.epochs - 1
            found = trial._train_memo.get(iepoch)
            if found is None:
                self.judge_valid(iepoch)
                times = trial.train_times()
                if times is not None:
                    xtime, atime = times[iepoch], sum(times[:iepoch + 1])
                else:
                    xtime = atime = None
                found = {"iepoch": iepoch, "loss": trial.value(4, iepoch, iepoch),
                         "accuracy": trial.value(0, iepoch, iepoch), "cur_time": xtime, "all_time": atime}
                trial._train_memo[iepoch] = found
            return found
        if iepoch is None:
            iepoch = self.epochs - 1
        self.judge_valid(iepoch)
        if self.train_times is not None:
            xtime = self.train_times[iepoch]
            atime = sum([self.train_times[i] for i in range(iepoch + 1)])
        else:
            xtime, atime = None, None
        return {"iepoch": iepoch, "loss": self.train_losses[iepoch], "accuracy": self.train_acc1es[iepoch],
                "cur_time": xtime, "all_time": atime}

    def get_eval(self, name, iepoch: Optional[int] = None):
        """Like :meth:`get_train` on eval set ``name`` ('x-valid', 'x-test', 'ori-test'; 'valid' = 'x-valid')."""
        return dict(self._eval_info(name, iepoch))

    def _missing_time(self, key, names):
        if self._asserts:
            return KeyError(key)
        return ValueError(f"{key} not in this trial's evaluation times (eval sets with times: {names})")

    def _eval_info(self, name, iepoch):
        xname = "x-valid" if name == "valid" else name
        trial = self._fast()
        if trial is not None and (iepoch is None or type(iepoch) is int) and isinstance(xname, str):
            if iepoch is None:
                iepoch = trial.epochs - 1
            found = trial._eval_memo.get((xname, iepoch))
            if found is None:
                self.judge_valid(iepoch)
                key = f"{xname}@{iepoch}"
                series = trial.eval_times_by_set()
                timed = [n for n, s in series.items() if s is not None]
                if timed:
                    values = series.get(xname)
                    if values is None:
                        raise self._missing_time(key, timed)
                    xtime, atime = values[iepoch], sum(values[:iepoch + 1])
                else:
                    xtime = atime = None
                column = EVAL_SET_COLUMN.get(xname)
                if column is None or xname not in trial.eval_names:
                    raise KeyError(key)
                found = {"iepoch": iepoch, "loss": trial.value(column + 4, iepoch, key),
                         "accuracy": trial.value(column, iepoch, key), "cur_time": xtime, "all_time": atime}
                trial._eval_memo[(xname, iepoch)] = found
            return found
        if iepoch is None:
            iepoch = self.epochs - 1
        self.judge_valid(iepoch)
        if isinstance(self.eval_times, dict) and len(self.eval_times):
            key = f"{xname}@{iepoch}"
            if key not in self.eval_times:
                raise self._missing_time(key, sorted({k.split("@")[0] for k in self.eval_times}))
            xtime = self.eval_times[key]
            atime = sum([self.eval_times[f"{xname}@{i}"] for i in range(iepoch + 1)])
        else:
            xtime, atime = None, None
        return {"iepoch": iepoch, "loss": self.eval_losses[f"{xname}@{iepoch}"],
                "accuracy": self.eval_acc1es[f"{xname}@{iepoch}"], "cur_time": xtime, "all_time": atime}

    def get_net_param(self, clone: bool = False):
        """The trained weights: not in the simple archives, so :class:`WeightsNotAvailable` unless set by hand."""
        weights = None if self._fast() is not None else self.__dict__.get("net_state_dict")
        if weights is None:
            raise WeightsNotAvailable(
                "trained weights are not in the benchmark's simple archives (the original returns None here); "
                "they ship only in the multi-GB '-full' archives, which nasbench_db does not convert. Train the "
                "network instead: nasbench-db train nb201 --arch ... (docs/training.md)")
        return copy.deepcopy(weights) if clone else weights

    def get_config(self, str2structure):
        """The network's config: ``{'name': 'infer.tiny', 'C', 'N', 'arch_str', 'num_classes'}`` (topology) or
        ``{'name': 'infer.shape.tiny', 'channels', 'genotype', 'num_classes'}`` (size); with ``str2structure``
        the cell string is passed through it."""
        config = self._light("arch_config")
        if "name" in config and config["name"] == "infer.shape.tiny":
            genotype = config["genotype"] if str2structure is None else str2structure(config["genotype"])
            return {"name": "infer.shape.tiny", "channels": config["channels"], "genotype": genotype,
                    "num_classes": config["class_num"]}
        found = {"name": "infer.tiny", "C": config["channel"], "N": config["num_cells"]}
        if str2structure is None:
            found["arch_str"] = config["arch_str"]
        else:
            found["genotype"] = str2structure(config["arch_str"])
        found["num_classes"] = config["class_num"]
        return found

    def state_dict(self):
        """The original state dict (every field of the trial)."""
        self._materialize()
        return {key: self.__dict__[key] for key in STATE_FIELDS if key in self.__dict__} | {
            key: value for key, value in self.__dict__.items()
            if key not in STATE_FIELDS and key not in ("_trial", "_materialized")}

    def load_state_dict(self, state_dict):
        self._materialize()
        self.__dict__.update(state_dict)

    @staticmethod
    def create_from_state_dict(state_dict):
        x = ResultsCount(None, None, None, None, None, None, None, None, None, None)
        x.load_state_dict(state_dict)
        return x


def _numpy_float(value):
    import numpy

    return numpy.float64(value)


# ----------------------------------------------------------------------------------------------------------------------
# ArchResults: one architecture under one hp


class ArchResults:
    """Every trial of one architecture trained with one hp (the original's ``ArchResults``)."""

    _results = ResultsCount

    def __init__(self, arch_index, arch_str):
        self.arch_index = int(arch_index)
        self.arch_str = copy.deepcopy(arch_str)
        self.all_results = dict()
        self.dataset_seed = dict()
        self.clear_net_done = False

    @classmethod
    def _of(cls, index: int, arch_str: str, trials) -> "ArchResults":
        """The view of stored trials (file order; datasets in the files' order, seeds sorted)."""
        obj = cls(index, arch_str)
        seeds: dict = {}
        for trial in trials:
            key = (trial.dataset, trial.seed)
            if key in obj.all_results:
                # only with several sources (a released run and a trained one, or two trained ones, of one seed)
                other = obj.all_results[key]._trial
                raise NasbenchDbError(
                    f"architecture {index} has two runs of seed {trial.seed} on {trial.dataset} at {trial.epochs} "
                    f"epochs ({trial.store.describe(other)} and {trial.store.describe(trial)}): the NATS-Bench API "
                    "keys runs by (dataset, seed), so one would hide the other. Open the API with one of them: "
                    "source='original', 'trained', a device or a source id")
            obj.all_results[key] = cls._results._of(trial)
            seeds.setdefault(trial.dataset, []).append(trial.seed)
        order = {name: k for k, name in enumerate(DATASETS)}
        for name in sorted(seeds, key=lambda n: order.get(n, len(order))):
            obj.dataset_seed[name] = sorted(seeds[name])
        obj.clear_net_done = True
        obj._trials = list(trials)
        obj._trained = any(trial.arm for trial in trials)  # runs of other sources: they may lack times
        obj._memo = {}
        return obj

    def _copy(self) -> "ArchResults":
        """A fresh view (what the original's ``copy.deepcopy`` of its stored object gives)."""
        trials = self.__dict__.get("_trials")
        if trials is not None:
            return type(self)._of(self.arch_index, self.arch_str, trials)
        return copy.deepcopy(self)

    def __deepcopy__(self, memo):
        new = type(self).__new__(type(self))
        for key, value in self.__dict__.items():
            if key == "_trials":
                new.__dict__[key] = value
            elif key == "_memo":
                new.__dict__[key] = {}
            elif key == "_trained":
                new.__dict__[key] = value
            else:
                new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    def _fix_legacy(self, raw_list, seeds):
        # Some 200-epoch records carry params/FLOPs that disagree across seeds (a weight-migration leftover); the
        # original API keeps seed 888's then.
        xlist = [f"{x:.5f}" for x in raw_list]
        if len(xlist) > 1 and len(set(xlist)) > 1:
            return [raw_list[seeds.index(888)]]
        return raw_list

    def get_compute_costs(self, dataset):
        """``{'flops', 'params', 'latency', 'T-train@epoch', ...}`` of the trials on ``dataset`` (means over
        seeds; latency in seconds or None)."""
        memo = self.__dict__.get("_memo")
        if memo is not None and all(r._fast() is not None for r in self.all_results.values()):
            found = memo.get(("costs", dataset))
            if found is None:
                found = memo[("costs", dataset)] = self._compute_costs(dataset)
            return dict(found)
        return self._compute_costs(dataset)

    def _compute_costs(self, dataset):
        x_seeds = self.dataset_seed[dataset]
        results = [self.all_results[(dataset, seed)] for seed in x_seeds]
        average = self._results._average
        flops = self._fix_legacy([r._light("flop") for r in results], x_seeds)
        params = self._fix_legacy([r._light("params") for r in results], x_seeds)
        latencies = [x for x in (r.get_latency() for r in results) if x > 0]
        time_infos = collections.defaultdict(list)
        for result in results:
            for key, value in result._times_info().items():
                time_infos[key].append(value)
        info = {"flops": average(flops), "params": average(params),
                "latency": average(latencies) if len(latencies) else None}
        for key, value in time_infos.items():
            info[key] = average(value) if len(value) and value[0] is not None else None
        return info

    def get_metrics(self, dataset, setname, iepoch=None, is_random=False):
        """``{'iepoch', 'loss', 'accuracy', 'cur_time', 'all_time'}`` on ``setname`` ('train', 'x-valid',
        'x-test', 'ori-test') after epoch ``iepoch`` (None: the last). ``is_random``: False averages the seeds,
        True picks one with ``random.randint``, an int picks that seed."""
        x_seeds = self.dataset_seed[dataset]
        results = [self.all_results[(dataset, seed)] for seed in x_seeds]
        infos = collections.defaultdict(list)
        for result in results:
            info = result._train_info(iepoch) if setname == "train" else result._eval_info(setname, iepoch)
            for key, value in info.items():
                infos[key].append(value)
        return_info = dict()
        if isinstance(is_random, bool) and is_random:
            index = random.randint(0, len(results) - 1)
            for key, value in infos.items():
                return_info[key] = value[index]
        elif isinstance(is_random, bool) and not is_random:
            average = self._results._average
            for key, value in infos.items():
                return_info[key] = average(value) if len(value) and value[0] is not None else None
        elif isinstance(is_random, int):
            if is_random not in x_seeds:
                raise ValueError(f"can not find random seed ({is_random}) from {x_seeds}")
            index = x_seeds.index(is_random)
            for key, value in infos.items():
                return_info[key] = value[index]
        else:
            raise ValueError(f"invalid value for is_random: {is_random} (expected True, False or a seed)")
        return return_info

    def get_dataset_names(self):
        return list(self.dataset_seed.keys())

    def get_dataset_seeds(self, dataset):
        return copy.deepcopy(self.dataset_seed[dataset])

    def get_net_param(self, dataset: Text, seed=None):
        """Trained weights: see :meth:`ResultsCount.get_net_param` (not in the simple archives)."""
        if seed is None:
            return {s: self.all_results[(dataset, s)].get_net_param() for s in self.dataset_seed[dataset]}
        xkey = (dataset, seed)
        if xkey in self.all_results:
            return self.all_results[xkey].get_net_param()
        raise ValueError(f"key={xkey} not in {list(self.all_results.keys())}")

    def reset_latency(self, dataset: Text, seed, latency: float) -> None:
        seeds = self.dataset_seed[dataset] if seed is None else [seed]
        for s in seeds:
            self.all_results[(dataset, s)].update_latency([latency])
        self.__dict__["_memo"] = {}

    def reset_pseudo_train_times(self, dataset: Text, seed, estimated_per_epoch_time: float) -> None:
        seeds = self.dataset_seed[dataset] if seed is None else [seed]
        for s in seeds:
            self.all_results[(dataset, s)].reset_pseudo_train_times(estimated_per_epoch_time)
        self.__dict__["_memo"] = {}

    def reset_pseudo_eval_times(self, dataset: Text, seed, eval_name: Text, estimated_per_epoch_time: float) -> None:
        seeds = self.dataset_seed[dataset] if seed is None else [seed]
        for s in seeds:
            self.all_results[(dataset, s)].reset_pseudo_eval_times(eval_name, estimated_per_epoch_time)
        self.__dict__["_memo"] = {}

    def get_latency(self, dataset: Text) -> float:
        """Mean latency (seconds) over the seeds on ``dataset``; ValueError where a trial has none."""
        latencies = []
        for seed in self.dataset_seed[dataset]:
            latency = self.all_results[(dataset, seed)].get_latency()
            if not isinstance(latency, float) or latency <= 0:
                raise ValueError(f"invalid latency of {dataset} with seed={seed} : {latency}")
            latencies.append(latency)
        return sum(latencies) / len(latencies)

    def get_total_epoch(self, dataset=None):
        if dataset is None:
            epochss = [self.all_results[(name, seed)].get_total_epoch()
                       for name, seeds in self.dataset_seed.items() for seed in seeds]
        elif isinstance(dataset, str):
            epochss = [self.all_results[(dataset, seed)].get_total_epoch() for seed in self.dataset_seed[dataset]]
        else:
            raise ValueError(f"invalid dataset={dataset}")
        if len(set(epochss)) > 1:
            raise ValueError(f"Each trial mush have the same number of training epochs : {epochss}")
        return epochss[-1]

    def query(self, dataset, seed=None):
        """The ResultsCount of (``dataset``, ``seed``), or ``{seed: ResultsCount}`` of every seed."""
        if seed is None:
            return {s: self.all_results[(dataset, s)] for s in self.dataset_seed[dataset]}
        return self.all_results[(dataset, seed)]

    def arch_idx_str(self):
        return f"{self.arch_index:06d}"

    def update(self, dataset_name, seed, result):
        if dataset_name not in self.dataset_seed:
            self.dataset_seed[dataset_name] = []
        if seed in self.dataset_seed[dataset_name]:
            error = AssertionError if self._results._asserts else ValueError
            raise error(f"{self.arch_index}-th arch alreadly has this seed ({seed}) on {dataset_name}")
        self.dataset_seed[dataset_name].append(seed)
        self.dataset_seed[dataset_name] = sorted(self.dataset_seed[dataset_name])
        if (dataset_name, seed) in self.all_results:
            raise AssertionError(f"({dataset_name}, {seed}) is already in all_results")
        self.all_results[(dataset_name, seed)] = result
        self.clear_net_done = False
        self.__dict__["_memo"] = {}

    def state_dict(self):
        state = dict()
        for key, value in self.__dict__.items():
            if key.startswith("_"):
                continue
            if key == "all_results":
                value = {k: v.state_dict() for k, v in value.items()}
            state[key] = value
        return state

    def load_state_dict(self, state_dict):
        for key, value in state_dict.items():
            if key == "all_results":
                if not isinstance(value, dict):
                    raise ValueError(f"invalid type of value for {key} : {type(value)}")
                value = {k: self._results.create_from_state_dict(v) for k, v in value.items()}
            self.__dict__[key] = value
        self.__dict__["_memo"] = {}

    @classmethod
    def create_from_state_dict(cls, state_dict_or_file):
        """An ArchResults from its state dict (or a NATS file holding one, read by the restricted reader)."""
        x = cls(-1, -1)
        if isinstance(state_dict_or_file, str):
            state_dict = pickle_load(state_dict_or_file)
        elif isinstance(state_dict_or_file, dict):
            state_dict = state_dict_or_file
        else:
            raise ValueError(f"invalid type of state_dict_or_file : {type(state_dict_or_file)}")
        x.load_state_dict(state_dict)
        return x

    def clear_params(self):
        for result in self.all_results.values():
            result.__dict__["net_state_dict"] = None
        self.clear_net_done = True

    def debug_test(self):
        for dataset in ["cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"]:
            print(f"---->>>> {dataset}")
            print(f"The latency on {dataset} is {self.get_latency(dataset)} s")
            for seed in self.dataset_seed[dataset]:
                result = self.all_results[(dataset, seed)]
                print(f"  ==>> result = {result}")
                print(f"  ==>> cost = {result.get_times()}")

    def __repr__(self):
        return (f"{type(self).__name__}(arch-index={self.arch_index}, arch={self.arch_str}, "
                f"{len(self.all_results)} runs, clear={self.clear_net_done})")


# ----------------------------------------------------------------------------------------------------------------------
# The API base


class NASBenchMetaAPI:
    """What NATStopology and NATSsize share (the original's ``NASBenchMetaAPI``), over the nasbench_db database.

    Differences from the original's constructor: the path may be the ``-simple`` directory or the ``.pickle.pbz2``
    file in either mode (it is converted once into ``NASBENCHMARK_DIR``, then only opened); None means the installed
    database (else the original's default archive under ``$TORCH_HOME``, converted on first use); a dict is refused
    (pass its file). Keyword-only extras: ``source`` and ``db_dir`` as in :func:`nasbench_db.query`.
    """

    _arch_results = ArchResults
    _space = None  # a _store.Space
    _evaluated_type = set  # the type of evaluated_indexes
    _display = ""
    _all_base_names: list = []
    _guard_none_times = True
    _comment = True

    def _open(self, file_path_or_dict, fast_mode, verbose, source, db_dir):
        self.filename = None
        self._fast_mode = fast_mode
        self._archive_dir = None
        self.reset_time()
        self.verbose = verbose
        kind = self._space.install_kind
        if file_path_or_dict is None and not self._installed(db_dir):
            default = self._default_archive()
            if default is not None and os.path.exists(default):
                file_path_or_dict = default
        if isinstance(file_path_or_dict, dict):
            raise ValueError("nasbench_db answers from its database, not from a dict loaded from the archive: pass "
                             "the archive's path (the -simple directory or the .pickle.pbz2 file) instead")
        if file_path_or_dict is not None:
            path = os.path.expanduser(os.fspath(file_path_or_dict))
            if verbose:
                print(f"{time_string()} nasbench_db: NATS-Bench ({self._space.name}) API from {path} "
                      f"(fast_mode={fast_mode})")
            if not os.path.isfile(path) and not os.path.isdir(path):
                raise ValueError(f"{path} is neither a file or a dir.")
            self.filename = os.path.basename(path.rstrip(os.sep))
            if os.path.isdir(path):
                self._archive_dir = path
            if path.endswith(".pth"):
                kind = "nb201"
            ensure_installed(kind, path, db_dir, verbose=True)
        self._store = Store(self._space, db_dir, source)
        self.arch2infos_dict = collections.OrderedDict()
        self._meta_archs = None
        self._archstr2index = None
        self._evaluated = set() if fast_mode else None
        self._hps = set() if fast_mode else None
        if verbose:
            print(f"{time_string()} nasbench_db: NATS-Bench ({self._space.name}) API ready on {self._store.location} "
                  f"({len(self)} architectures)")

    def _default_archive(self):
        """Where the original looks for its archive when given None (converted on first use here)."""
        return os.path.join(get_torch_home(), f"{self._all_base_names[-1]}-simple")

    def _installed(self, db_dir) -> bool:
        try:
            Store(self._space, db_dir)
        except (NasbenchDbError, FileNotFoundError):
            return False
        return True

    # -- attributes the original computes up front (here on first use) ----------------------------------------------
    @property
    def meta_archs(self):
        if self._meta_archs is None:
            self._meta_archs = self._space.meta_archs()
        return self._meta_archs

    @meta_archs.setter
    def meta_archs(self, value):
        self._meta_archs = value
        self._archstr2index = None

    @property
    def archstr2index(self):
        if self._archstr2index is None:
            self._archstr2index = {arch: idx for idx, arch in enumerate(self.meta_archs)}
        return self._archstr2index

    @archstr2index.setter
    def archstr2index(self, value):
        self._archstr2index = value

    @property
    def evaluated_indexes(self):
        """Indices with results: in fast mode those loaded so far (as the original), else every one stored; a set,
        or what ``_evaluated_type`` says (NAS-Bench-201: an ascending list)."""
        if self._evaluated is None:
            self._evaluated = self._evaluated_type(self._store.evaluated())
        return self._evaluated

    @evaluated_indexes.setter
    def evaluated_indexes(self, value):
        self._evaluated = value

    @property
    def _avaliable_hps(self):
        if self._hps is None:
            self._hps = {self._space.hp_of(e) for e in self._store.budgets()}
        return self._hps

    @_avaliable_hps.setter
    def _avaliable_hps(self, value):
        self._hps = value

    # -- the original's methods ------------------------------------------------------------------------------------
    def __getitem__(self, index: int):
        return copy.deepcopy(self.meta_archs[index])

    def arch(self, index: int):
        """The ``index``-th architecture string."""
        if self.verbose:
            print(f"Call the arch function with index={index}")
        if index < 0 or index >= len(self):
            raise ValueError(f"invalid index : {index} vs. {len(self)}.")
        return copy.deepcopy(self.meta_archs[index])

    def __len__(self):
        return self._space.num_archs

    def __repr__(self):
        return (f"{type(self).__name__}({len(self.evaluated_indexes)}/{len(self)} architectures, "
                f"fast_mode={self.fast_mode}, file={self.filename})")

    @property
    def avaliable_hps(self):
        return list(copy.deepcopy(self._avaliable_hps))

    @property
    def used_time(self):
        return self._used_time

    @property
    def search_space_name(self):
        return self._search_space_name

    @property
    def fast_mode(self):
        return self._fast_mode

    @property
    def archive_dir(self):
        return self._archive_dir

    @property
    def full_train_epochs(self):
        return self._full_train_epochs

    def reset_archive_dir(self, archive_dir):
        self._archive_dir = archive_dir

    def reset_fast_mode(self, fast_mode):
        self._fast_mode = fast_mode

    def reset_time(self):
        self._used_time = 0

    def simulate_train_eval(self, arch, dataset, iepoch=None, hp="12", account_time=True):
        """Simulate training ``arch`` on ``dataset`` (cifar10 uses cifar10-valid's split): returns
        ``(valid_accuracy, latency, time_cost, total_time_cost)`` of a random seed and charges the time to
        ``used_time``."""
        index = self.query_index_by_arch(arch)
        all_names = ("cifar10", "cifar100", "ImageNet16-120")
        if dataset not in all_names:
            raise ValueError(f"Invalid dataset name : {dataset} vs {all_names}")
        info = self.get_more_info(index, "cifar10-valid" if dataset == "cifar10" else dataset, iepoch=iepoch, hp=hp,
                                  is_random=True)
        if "valid-accuracy" in info:
            valid_acc, time_cost = info["valid-accuracy"], info["train-all-time"] + info["valid-per-time"]
        else:
            valid_acc = info["valtest-accuracy"]
            temp_info = self.get_more_info(index, dataset, iepoch=None, hp=hp, is_random=True)
            time_cost = info["train-all-time"] + temp_info["valid-per-time"]
        latency = self.get_latency(index, dataset, hp=hp)
        if account_time:
            self._used_time += time_cost
        return valid_acc, latency, time_cost, self._used_time

    def random(self):
        """A random architecture index (``random.randint``, as the original)."""
        return random.randint(0, len(self) - 1)

    def reload(self, archive_root: Text = None, index: int = None):
        """Read the ``index``-th architecture (None: every one) again from the database.

        ``archive_root`` is checked as the original does but not read: the data always comes from the database.
        """
        if self.verbose:
            print(f"{time_string()} Call reload with archive_root={archive_root} and index={index}")
        if archive_root is not None and not os.path.isdir(archive_root):
            raise ValueError(f"Invalid archive_root : {archive_root}")
        if index is None:
            self.arch2infos_dict.clear()
            if self._evaluated is not None:
                self._evaluated.update(self._store.evaluated())
                self._avaliable_hps.update(self._space.hp_of(e) for e in self._store.budgets())
            return
        if not 0 <= index < len(self):
            raise ValueError(f"invalid index of {index}: expected 0..{len(self) - 1}")
        self.arch2infos_dict.pop(index, None)
        self._load(index)

    def _load(self, index) -> None:
        """Load every hp of one architecture into ``arch2infos_dict`` (its absence is an error in fast mode)."""
        found = self._store.load(index).get(index)
        if found is None:
            if self.fast_mode:
                raise AssertionError(f"architecture {index} has no results in {self._store.location} (a partial "
                                     f"archive was converted?)")
            return
        self._remember(index, found)

    def _remember(self, index, budgets) -> None:
        text = self._space.arch_text(index)
        results = collections.OrderedDict()
        for epochs, trials in budgets.items():
            hp = self._space.hp_of(epochs)
            results[hp] = self._arch_results._of(index, text, trials)
            if self._hps is not None:
                self._hps.add(hp)
        self.arch2infos_dict[index] = results
        if len(self.arch2infos_dict) > CACHED_ARCHS:
            self.arch2infos_dict.popitem(last=False)
        if self._evaluated is not None:
            self._evaluated.add(index)

    def query_index_by_arch(self, arch):
        """The index of ``arch`` (an index, an arch string or an object with ``tostr()``); -1 when not in the
        space; ValueError for an index out of range."""
        if self.verbose:
            print(f"{time_string()} Call query_index_by_arch with arch={arch}")
        if isinstance(arch, int):
            if 0 <= arch < len(self):
                return arch
            raise ValueError(f"Invalid architecture index {arch} vs [0, {len(self)}].")
        if isinstance(arch, str):
            return self.archstr2index.get(arch, -1)
        if hasattr(arch, "tostr"):
            return self.archstr2index.get(arch.tostr(), -1)
        return -1

    def query_by_arch(self, arch, hp):
        """The text summary of ``arch`` (the older NAS-Bench-201 name of :meth:`query_info_str_by_arch`)."""
        return self.query_info_str_by_arch(arch, hp)

    def _prepare_info(self, index):
        if index not in self.arch2infos_dict:
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(self):
                if self.fast_mode:
                    raise ValueError(f"invalid index of {index}: expected 0..{len(self) - 1}")
                return
            self._load(index)
        else:
            self.arch2infos_dict.move_to_end(index)

    #: NATS accepts hp as a number ('12' or 12); NAS-Bench-201's API only as the string.
    _hp_as_str = True

    def _results(self, index, hp) -> ArchResults:
        """The stored ArchResults of (index, hp) with the original's errors (no copy)."""
        self._prepare_info(index)
        if index not in self.arch2infos_dict:
            raise ValueError(f"arch_index [{index}] does not in arch2infos (no results stored for it)")
        budgets = self.arch2infos_dict[index]
        key = str(hp) if self._hp_as_str else hp
        if key not in budgets:
            raise ValueError(f"The {index}-th architecture only has hyper-parameters of {list(budgets)} instead of "
                             f"{hp}.")
        return budgets[key]

    def clear_params(self, index: int, hp: Optional[Text] = None):
        """Forget the weights of an architecture (there are none in the simple archives)."""
        if self.verbose:
            print(f"{time_string()} Call clear_params with index={index} and hp={hp}")
        if index not in self.arch2infos_dict:
            warnings.warn(f"The {index}-th architecture is not loaded, no need to clear params.")
        elif hp is None:
            for result in self.arch2infos_dict[index].values():
                result.clear_params()
        else:
            if str(hp) not in self.arch2infos_dict[index]:
                raise ValueError(f"The {index}-th architecture only has hyper-parameters of "
                                 f"{list(self.arch2infos_dict[index].keys())} instead of {hp}.")
            self.arch2infos_dict[index][str(hp)].clear_params()

    def _query_info_str_by_arch(self, arch, hp: Text = "12", print_information=None):
        arch_index = self.query_index_by_arch(arch)
        self._prepare_info(arch_index)
        if arch_index in self.arch2infos_dict:
            if hp not in self.arch2infos_dict[arch_index]:
                raise ValueError(f"The {arch_index}-th architecture only has hyper-parameters of "
                                 f"{list(self.arch2infos_dict[arch_index].keys())} instead of {hp}.")
            info = self.arch2infos_dict[arch_index][hp]
            return "\n".join(print_information(info, f"arch-index={arch_index}"))
        warnings.warn(f"Find this arch-index : {arch_index}, but this arch is not evaluated.")
        return None

    def query_meta_info_by_index(self, arch_index, hp: Text = "12"):
        """A fresh ArchResults of (``arch_index``, ``hp``)."""
        if self.verbose:
            print(f"Call query_meta_info_by_index with arch_index={arch_index}, hp={hp}")
        return self._results(arch_index, hp)._copy()

    def query_by_index(self, arch_index: int, dataname=None, hp: Text = "12"):
        """ArchResults of (``arch_index``, ``hp``), or with ``dataname`` the ``{seed: ResultsCount}`` on it."""
        if self.verbose:
            print(f"{time_string()} Call query_by_index with arch_index={arch_index}, dataname={dataname}, hp={hp}")
        info = self.query_meta_info_by_index(arch_index, str(hp))
        if dataname is None:
            return info
        if dataname not in info.get_dataset_names():
            raise ValueError(f"invalid dataset-name : {dataname} vs. {info.get_dataset_names()}")
        return info.query(dataname)

    def _find_best_indexes(self, enforce_all):
        if enforce_all is None:
            enforce_all = bool(self.fast_mode)
        if enforce_all:
            if not self.fast_mode:
                raise AssertionError("enforce_all can only be set when fast_mode=True; with fast_mode=False set it "
                                     "to False")
            return list(range(len(self)))
        return sorted(self.evaluated_indexes)

    def _bulk(self, indexes, hp):
        """Yield ``(index, ArchResults of hp)`` for ``indexes`` in order, loading them 1,000 per statement (as
        ``_prepare_info`` + ``arch2infos_dict[index][hp]`` would, errors included)."""
        present = None
        epochs = self._space.epochs_of(hp) if isinstance(hp, str) else None
        step = 1000
        for start in range(0, len(indexes), step):
            chunk = indexes[start:start + step]
            cached = all(i in self.arch2infos_dict for i in chunk)
            loaded = {} if cached or epochs is None else self._store.load(chunk[0], chunk[-1], epochs)
            for index in chunk:
                if index in self.arch2infos_dict:
                    budgets = self.arch2infos_dict[index]
                    if hp not in budgets:
                        raise KeyError(hp)
                    yield index, budgets[hp]
                    continue
                if present is None:
                    present = set(self._store.evaluated())
                if index not in present:
                    if self.fast_mode:
                        raise AssertionError(f"architecture {index} has no results in {self._store.location} (a "
                                             "partial archive was converted?)")
                    raise KeyError(index)
                trials = loaded.get(index, {}).get(epochs)
                if trials is None:
                    raise KeyError(hp)
                if self._evaluated is not None and self.fast_mode:
                    self._evaluated.add(index)
                yield index, self._arch_results._of(index, self._space.arch_text(index), trials)

    def find_best(self, dataset, metric_on_set, flop_max=None, param_max=None, hp: Text = "12", enforce_all=None):
        """``(index, accuracy)`` of the most accurate architecture on ``metric_on_set`` ('valid', 'test', 'x-valid'
        ...) under the FLOP / parameter limits (ties: the smallest index)."""
        if self.verbose:
            print(f"{time_string()} Call find_best with dataset={dataset}, metric_on_set={metric_on_set}, hp={hp} | "
                  f"with #FLOPs < {flop_max} and #Params < {param_max}")
        dataset, metric_on_set = remap_dataset_set_names(dataset, metric_on_set, self.verbose)
        return self._best(self._bulk(self._find_best_indexes(enforce_all), hp), dataset, metric_on_set, flop_max,
                          param_max)

    def _best(self, archs, dataset, metric_on_set, flop_max, param_max):
        best_index, highest_accuracy = -1, None
        for arch_index, arch_info in archs:
            info = arch_info.get_compute_costs(dataset)
            flop, param = info["flops"], info["params"]
            if flop_max is not None and flop > flop_max:
                continue
            if param_max is not None and param > param_max:
                continue
            accuracy = arch_info.get_metrics(dataset, metric_on_set)["accuracy"]
            if best_index == -1:
                best_index, highest_accuracy = arch_index, accuracy
            elif highest_accuracy < accuracy:
                best_index, highest_accuracy = arch_index, accuracy
        if self.verbose:
            if best_index == -1:
                print("No architecture meets the constraints (or none is evaluated).")
            else:
                print(f"  the best architecture : [{best_index}] {self.arch(best_index)} with "
                      f"accuracy={highest_accuracy:.3f}%")
        return best_index, highest_accuracy

    def get_net_param(self, index, dataset, seed: Optional[int], hp: Text = "12"):
        """Trained weights: not in the simple archives (:class:`WeightsNotAvailable`)."""
        if self.verbose:
            print(f"{time_string()} Call the get_net_param function with index={index}, dataset={dataset}, "
                  f"seed={seed}, hp={hp}")
        return self.query_meta_info_by_index(index, hp).get_net_param(dataset, seed)

    def get_net_config(self, index: int, dataset: Text):
        """The network config of the ``index``-th architecture on ``dataset`` (see ResultsCount.get_config)."""
        if self.verbose:
            print(f"{time_string()} Call the get_net_config function with index={index}, dataset={dataset}.")
        self._prepare_info(index)
        if index not in self.arch2infos_dict:
            raise ValueError(f"The arch_index={index} is not in arch2infos_dict.")
        info = next(iter(self.arch2infos_dict[index].values()))
        results = info.query(dataset, None)
        return next(iter(results.values())).get_config(None)

    def get_cost_info(self, index: int, dataset: Text, hp: Text = "12"):
        """``{'flops', 'params', 'latency', 'T-...'}`` of the ``index``-th architecture on ``dataset``."""
        if self.verbose:
            print(f"{time_string()} Call the get_cost_info function with index={index}, dataset={dataset}, "
                  f"and hp={hp}.")
        return self._results(index, hp).get_compute_costs(dataset)

    def get_latency(self, index: int, dataset: Text, hp: Text = "12") -> float:
        """Latency in seconds (batch of 256) of the ``index``-th architecture."""
        if self.verbose:
            print(f"{time_string()} Call the get_latency function with index={index}, dataset={dataset}, "
                  f"and hp={hp}.")
        return self.get_cost_info(index, dataset, hp)["latency"]

    def _show(self, index=-1, print_information=None) -> None:
        def show_one(idx):
            for result in self.arch2infos_dict[idx].values():
                strings = print_information(result)
                print(">" * 40 + f" {result.get_total_epoch():03d} epochs " + ">" * 40)
                print("\n".join(strings))
            print("<" * 40 + "------------" + "<" * 40)

        if index < 0:
            print(self)
            evaluated = sorted(self.evaluated_indexes)
            for i, idx in enumerate(evaluated):
                print("\n" + "-" * 10 + f" The ({i:5d}/{len(evaluated):5d}) {idx:06d}-th architecture! " + "-" * 10)
                print(f"arch : {self.meta_archs[idx]}")
                self._prepare_info(idx)
                show_one(idx)
        elif 0 <= index < len(self):
            if index not in self.evaluated_indexes:
                self._prepare_info(index)
            if index not in self.evaluated_indexes:
                print(f"The {index}-th architecture has not been evaluated or not saved.")
            else:
                self._prepare_info(index)
                show_one(index)
        else:
            print(f"This index ({index}) is out of range (0~{len(self)}).")

    def statistics(self, dataset: Text, hp) -> dict:
        """``{number of trials: number of architectures}`` on ``dataset`` with ``hp`` over the evaluated ones."""
        if self.verbose:
            print(f"Call the statistics function with dataset={dataset} and hp={hp}.")
        valid_datasets = ["cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"]
        if dataset not in valid_datasets:
            raise ValueError(f"{dataset} not in {valid_datasets}")
        hp = str(hp)
        epochs = self._space.epochs_of(hp)
        counts, present = self._store.seed_counts(epochs, dataset) if epochs is not None else ({}, set())
        nums = collections.defaultdict(lambda: 0)
        for index in self.evaluated_indexes:
            if index not in present:
                raise KeyError(hp)
            nums[counts.get(index, 0)] += 1
        return dict(nums)

    def query_info_str_by_arch(self, arch, hp: Text = "12"):
        """The text summary of ``arch`` (each space formats it its own way)."""
        raise NotImplementedError(f"{type(self).__name__} does not define query_info_str_by_arch")

    def show(self, index=-1):
        """Print the text summary of the ``index``-th architecture (each space formats it its own way)."""
        raise NotImplementedError(f"{type(self).__name__} does not define show")

    # -- get_more_info, shared by both spaces ------------------------------------------------------------------------
    def _comment_text(self, dataset, hp):
        return None

    def get_more_info(self, index, dataset, iepoch=None, hp: Text = "12", is_random: bool = True):
        """Loss, accuracy and time of the ``index``-th architecture on ``dataset`` after epoch ``iepoch`` (None: the
        last): keys ``train-loss``, ``train-accuracy``, ``train-per-time``, ``train-all-time`` and the same with
        ``valid-``, ``test-``, ``valtest-`` where the dataset has that split (accuracy in percent, times in
        seconds). ``is_random``: True = one seed drawn with ``random.choice`` (as the original), False = mean over
        seeds, an int = that seed."""
        if self.verbose:
            print(f"{time_string()} Call the get_more_info function with index={index}, dataset={dataset}, "
                  f"iepoch={iepoch}, hp={hp}, and is_random={is_random}.")
        index = self.query_index_by_arch(index)
        self._prepare_info(index)
        if index not in self.arch2infos_dict:
            raise ValueError(f"Did not find {index} from arch2infos_dict.")
        archresult = self.arch2infos_dict[index][str(hp)]
        if isinstance(is_random, bool) and is_random:
            is_random = random.choice(archresult.get_dataset_seeds(dataset))
        memo = archresult.__dict__.get("_memo")
        try:
            key = ("more", dataset, type(iepoch), iepoch, type(is_random), is_random, str(hp))
            found = memo.get(key) if memo is not None else None
        except TypeError:
            key = found = None
        if found is None:
            found = self._more_info(archresult, dataset, iepoch, hp, is_random)
            if memo is not None and key is not None:
                memo[key] = found
        return dict(found)

    def _more_info(self, archresult, dataset, iepoch, hp, is_random):
        train_info = archresult.get_metrics(dataset, "train", iepoch=iepoch, is_random=is_random)
        total = train_info["iepoch"] + 1
        # the size-space original divides without a None check; its released runs all have times, trained runs not
        guard = self._guard_none_times or archresult.__dict__.get("_trained", False)

        def per_time(all_time):
            return all_time / total if not guard or all_time is not None else None

        xinfo = {"train-loss": train_info["loss"], "train-accuracy": train_info["accuracy"],
                 "train-per-time": per_time(train_info["all_time"]), "train-all-time": train_info["all_time"]}

        def metrics(setname):
            try:
                return archresult.get_metrics(dataset, setname, iepoch=iepoch, is_random=is_random)
            except Exception:  # noqa: BLE001 (the original treats any failure as "this split is not available")
                return None

        if dataset == "cifar10-valid":
            valid_info = archresult.get_metrics(dataset, "x-valid", iepoch=iepoch, is_random=is_random)
            test_info = metrics("ori-test")
            valtest_info = None
        else:
            test_info = metrics("ori-test" if dataset == "cifar10" else "x-test")
            valid_info = metrics("x-valid")
            valtest_info = metrics("ori-test") if dataset != "cifar10" else None
        comment = self._comment_text(dataset, hp)
        if comment is not None:
            xinfo["comment"] = comment
        for prefix, info in (("valid", valid_info), ("test", test_info), ("valtest", valtest_info)):
            if info is not None:
                xinfo[f"{prefix}-loss"] = info["loss"]
                xinfo[f"{prefix}-accuracy"] = info["accuracy"]
                xinfo[f"{prefix}-per-time"] = per_time(info["all_time"])
                xinfo[f"{prefix}-all-time"] = info["all_time"]
        return xinfo


def _time_comment(dataset, hp) -> str | None:
    """The ``comment`` entry of ``get_more_info`` (our wording of what the keys mean)."""
    if dataset == "cifar10-valid":
        return (f"Trained on the CIFAR-10 train split (25k images) for {hp} epochs: train-* is measured on that "
                "split, valid-* on the held-out x-valid half, test-* on the CIFAR-10 test set; *-per-time is "
                "seconds per epoch and *-all-time the total seconds.")
    if dataset == "cifar10":
        return (f"Trained on the full CIFAR-10 training set (train + valid, 50k images) for {hp} epochs: train-* "
                "is measured on it, test-* on the CIFAR-10 test set; *-per-time is seconds per epoch and "
                "*-all-time the total seconds.")
    return None


__all__ = ["ArchResults", "ResultsCount", "NASBenchMetaAPI", "WeightsNotAvailable", "pickle_load", "pickle_save",
           "remap_dataset_set_names", "get_torch_home", "time_string", "mean", "PICKLE_EXT"]
