"""Analysis of an installed benchmark: top-k, filters, whole-space columns, iteration, DataFrames.

Everything is pushed into SQL: one statement filters (metric ranges, parameter / FLOP bounds, dataset, epoch
budget, config columns), averages over runs (``reduction='mean'``: ``GROUP BY`` config), orders and limits. No
per-row Python work happens before the LIMIT, so "top 10 of 423,624 cells" reads 10 rows into Python.

Rows have the shape of the benchmark's NNI query with ``reduction='mean'`` (or one row per run with
``reduction=None``): ``id`` (run id, None for means), ``config`` (the config dict, with ``arch``), the stats, and,
for means, ``num_runs``. Units as everywhere: accuracies in percent, parameters and FLOPs in millions, times in
seconds. Parameter and FLOP *bounds* are plain counts: ``max_params=1e6`` means one million parameters.

>>> from nasbench_db.analysis import top_k, filter_archs, to_dataframe
>>> best = top_k("nb101", k=10, metric="valid_acc", epochs=108, max_params=1e6)
>>> good = filter_archs("nb201", dataset="cifar100", epochs=200, min_valid_acc=70)
>>> frame = to_dataframe(good)          # needs pandas
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal

from . import db as _db
from .errors import InvalidArgument, MissingDependency
from .models import (HW_AVERAGE_FACTORS, HW_NB201_METRICS, JOINED_SOURCE_KINDS, NB101_CELL_CONFIGS,
                     NB101_CELL_OF_CONFIG, NB101_CONFIG_RUNS, NB101_RUN_METRICS)
from .query._common import (check_int, check_reduction, check_source, check_source_exists, placeholders,
                            source_filter)
from .spaces import nb101 as nb101_space
from .spaces import nb201 as nb201_space

BENCHMARKS = ("nb101", "nb201", "nats_sss", "nds")
ALIASES = {"nats-sss": "nats_sss", "nats-tss": "nb201", "nats_tss": "nb201"}


@dataclass
class _Dialect:
    """How one benchmark's tables are read: joins, metric expressions, config columns, bounds."""

    benchmark: str
    from_where: str  # FROM ... WHERE <join condition>
    keyed_from: str  # the same joins driven by the top-k subquery {inner} (columns k0, k1... = the group keys)
    group: tuple  # GROUP BY: primary keys only (PostgreSQL accepts the other columns of those tables by
    # functional dependency; SQLite groups faster on fewer columns)
    config_select: tuple  # (expression, config key) pairs, in the NNI row's order
    metrics: dict  # metric name -> SQL expression over one run
    stats: tuple  # stats keys of an NNI row, in order
    params_expr: str | None  # SQL expression of the parameter count in millions
    flops_expr: str | None  # ... FLOPs in millions
    epochs_expr: str | None
    dataset_expr: str | None
    datasets: tuple
    source_column: str | None = None
    unique_clause: str | None = None
    config_columns: dict = field(default_factory=dict)  # name -> SQL expression (equality filters)
    json_keys: tuple = ()
    run_extra: tuple = ()  # per-run keys between config and stats (e.g. seed)
    run_id: str = "t.id"
    per_config: tuple = ()  # metrics constant per config, selected as they are (an average could move the last bit)
    # Top-k ranking without the cell table when no filter needs it: (FROM ... WHERE <joins>, key expressions of
    # ``group``, GROUP BY expressions).
    lean: tuple | None = None
    default_metric: str = "valid_acc"
    from_params: tuple = ()  # parameters of from_where's own placeholders (the other-source arms)
    # One row per config already (models.Nb101OriginalMean): no GROUP BY, bounds in WHERE, the count stored.
    pre_aggregated: bool = False
    count_expr: str = "COUNT(*)"


def _nb101_dialect(nni: bool, server: bool = False) -> _Dialect:
    if nni:
        metrics = {"train_acc": "t.train_acc", "valid_acc": "t.valid_acc", "test_acc": "t.test_acc",
                   "training_time": "t.training_time / 60.0", "parameters": "t.parameters"}
        return _Dialect(
            "nb101", " FROM nb101trialstats t JOIN nb101trialconfig c ON c.id = t.config_id WHERE 1 = 1",
            " FROM ({inner}) s CROSS JOIN nb101trialconfig c CROSS JOIN nb101trialstats t "
            "WHERE c.id = s.k0 AND t.config_id = c.id",
            ("c.id", "c.arch", "c.num_vertices", "c.hash", "c.num_epochs"),
            (("c.id", "id"), ("c.arch", "arch"), ("c.num_vertices", "num_vertices"), ("c.hash", "hash"),
             ("c.num_epochs", "num_epochs")),
            metrics, ("train_acc", "valid_acc", "test_acc", "parameters", "training_time"), "t.parameters", None,
            "c.num_epochs", None, ("cifar10",),
            config_columns={"hash": "c.hash", "num_vertices": "c.num_vertices"}, json_keys=("arch",))
    metrics = {name: f"t.{name}" for name in NB101_RUN_METRICS}
    metrics["parameters"] = "a.parameters / 1e6"
    # CROSS JOIN + id ranges: SQLite walks cell -> config -> run by primary key (models.Nb101Trial); grouping by
    # (a.id, c.id) keeps that plan (grouping by c.id alone lets the planner build an automatic index instead).
    # PostgreSQL plans a range between two tables as a nested loop over every (cell, config) pair (268 s for a top-10
    # with a parameter bound at full scale): there the cell is found by equality (c.id / 16 = a.id: a hash join,
    # 0.6-1.1 s), and the unary '+' that steers SQLite would only hide num_epochs' statistics from its planner.
    arch_join = NB101_CELL_OF_CONFIG if server else NB101_CELL_CONFIGS
    return _Dialect(
        "nb101",
        f" FROM nb101_arch a CROSS JOIN nb101_config c CROSS JOIN nb101_trial t WHERE {arch_join} AND "
        f"{NB101_CONFIG_RUNS}",
        " FROM ({inner}) s CROSS JOIN nb101_arch a CROSS JOIN nb101_config c CROSS JOIN nb101_trial t "
        f"WHERE a.id = s.k0 AND c.id = s.k1 AND {NB101_CONFIG_RUNS}",
        ("a.id", "c.id"),
        (("c.id", "id"), ("a.adjacency", "arch"), ("a.operations", "_operations"), ("a.num_vertices", "num_vertices"),
         ("a.hash", "hash"), ("c.num_epochs", "num_epochs")),
        # "+c.num_epochs": the unary plus keeps SQLite from building an automatic index on num_epochs and probing
        # it for every cell (quadratic: minutes on 40k cells) instead of following the id ranges.
        metrics, ("train_acc", "valid_acc", "test_acc", "parameters", "training_time"), "a.parameters / 1e6", None,
        "c.num_epochs" if server else "+c.num_epochs", "c.dataset || ''", ("cifar10",), source_column="t.source_id",
        config_columns={"hash": "a.hash", "num_vertices": "a.num_vertices"}, per_config=("parameters",),
        # A config's cell is c.id / 16 (models.Nb101Config): ranking needs only configs and runs (~20% faster).
        lean=(f" FROM nb101_config c CROSS JOIN nb101_trial t WHERE {NB101_CONFIG_RUNS}",
              ("c.id / 16", "c.id"), ("c.id",)))


def _nb101_means_dialect() -> _Dialect:
    """NB-101's released runs on a server, read from their per-config means (models.Nb101OriginalMean, alias c)
    instead of averaging 5 M runs per statement."""
    runs = _nb101_dialect(False, server=True)
    metrics = {name: ("a.parameters / 1e6" if name == "parameters" else f"c.{name}") for name in runs.metrics}
    return replace(
        runs, from_where=f" FROM nb101_arch a JOIN nb101_original_mean c ON {NB101_CELL_OF_CONFIG} WHERE 1 = 1",
        keyed_from=" FROM ({inner}) s CROSS JOIN nb101_arch a CROSS JOIN nb101_original_mean c "
                   "WHERE a.id = s.k0 AND c.id = s.k1",
        metrics=metrics, per_config=tuple(metrics), source_column=None, epochs_expr="c.num_epochs",
        dataset_expr="c.dataset", lean=(" FROM nb101_original_mean c WHERE 1 = 1", ("c.id / 16", "c.id"), ("c.id",)),
        pre_aggregated=True, count_expr="c.num_runs")


def _server_means(database, dialect: _Dialect, nni: bool, source, mean: bool, joined: dict) -> bool:
    """Whether a statement can read NB-101's per-config means of the released runs instead of the runs: on a server
    whose publish wrote them, for the released runs only, averaged, and with no joined metric (EC-NAS-Bench energy is
    per run, and joined costs / proxies are looked up by the run's cell)."""
    if dialect.benchmark != "nb101" or nni or source != "original" or not mean or joined or _db.is_sqlite(database):
        return False
    return database.execute_sql("SELECT to_regclass('nb101_original_mean') IS NOT NULL").fetchone()[0]


_NB201_STATS = ("train_acc", "valid_acc", "test_acc", "ori_test_acc", "train_loss", "valid_loss", "test_loss",
                "ori_test_loss", "parameters", "latency", "flops", "training_time", "valid_evaluation_time",
                "test_evaluation_time", "ori_test_evaluation_time")


def _nb201_dialect(nni: bool, sss: bool = False) -> _Dialect:
    prefix = "nats_sss_" if sss else "nb201"
    config, trial = (f"{prefix}trialconfig", f"{prefix}trialstats")
    columns = ("arch", "num_epochs", "dataset") if sss else ("arch", "num_epochs", "num_channels", "num_cells",
                                                             "dataset")
    unique = None if (nni or sss) else "c.arch_index = c.unique_index"
    config_columns = {"arch_index": "c.arch_index"} if not nni else {}
    if not (nni or sss):
        config_columns["unique_index"] = "c.unique_index"
    return _Dialect(
        "nats_sss" if sss else "nb201", f" FROM {trial} t JOIN {config} c ON c.id = t.config_id WHERE 1 = 1",
        f" FROM ({{inner}}) s CROSS JOIN {config} c CROSS JOIN {trial} t WHERE c.id = s.k0 AND t.config_id = c.id",
        ("c.id",), (("c.id", "id"),) + tuple((f"c.{n}", n) for n in columns),
        {name: f"t.{name}" for name in _NB201_STATS}, _NB201_STATS, "t.parameters", "t.flops", "c.num_epochs",
        "c.dataset", nb201_space.DATASETS, source_column=None if nni else "t.source_id", unique_clause=unique,
        config_columns=config_columns, json_keys=() if sss else ("arch",), run_extra=(("t.seed", "seed"),))


_NDS_STATS = ("final_train_acc", "final_train_loss", "final_test_acc", "best_train_acc", "best_train_loss",
              "best_test_acc", "parameters", "flops", "iter_time")
_NDS_CONFIG = ("model_family", "model_spec", "cell_spec", "dataset", "generator", "proposer", "base_lr",
               "weight_decay", "num_epochs")


def _nds_dialect() -> _Dialect:
    return _Dialect(
        "nds", " FROM ndstrialstats t JOIN ndstrialconfig c ON c.id = t.config_id WHERE 1 = 1",
        " FROM ({inner}) s CROSS JOIN ndstrialconfig c CROSS JOIN ndstrialstats t "
        "WHERE c.id = s.k0 AND t.config_id = c.id",
        ("c.id",), (("c.id", "id"),) + tuple((f"c.{n}", n) for n in _NDS_CONFIG),
        {name: f"t.{name}" for name in _NDS_STATS}, _NDS_STATS, "t.parameters", "t.flops", "c.num_epochs",
        "c.dataset", ("cifar10", "imagenet"),
        config_columns={name: f"c.{name}" for name in ("model_family", "generator", "proposer")},
        json_keys=("model_spec", "cell_spec"), run_extra=(("t.seed", "seed"),), default_metric="final_test_acc")


def check_benchmark(benchmark: str) -> str:
    """Canonical benchmark key ('nb101', 'nb201', 'nats_sss', 'nds'); 'nats-sss' and 'nats-tss' accepted."""
    key = ALIASES.get(benchmark, benchmark) if isinstance(benchmark, str) else benchmark
    if key not in BENCHMARKS:
        raise InvalidArgument(f"unknown benchmark {benchmark!r}: expected one of {', '.join(BENCHMARKS)}")
    return key


_PREFIXED = re.compile(r"\b([tc])\.(\w+)")


def _other_sources_dialect(dialect: _Dialect, handle, source) -> _Dialect:
    """NB-201 / NATS with runs of other sources, which live in tables of their own (models.Nb201TrainedTrialStats):
    the rows come from a UNION ALL of one join per table set, each filtered by source; the dialect's ``t.x`` /
    ``c.x`` expressions become the union's ``u.t_x`` / ``u.c_x``."""
    from .models import (NatsSssTrainedTrialConfig, NatsSssTrainedTrialStats, Nb201TrainedTrialConfig,
                         Nb201TrainedTrialStats)
    from .query.nb201 import NATS_SSS, NB201, trained_tables

    sss = dialect.benchmark == "nats_sss"
    bench = NATS_SSS if sss else NB201
    trial_model = NatsSssTrainedTrialStats if sss else Nb201TrainedTrialStats
    config_model = NatsSssTrainedTrialConfig if sss else Nb201TrainedTrialConfig
    columns = [f"t.{f.column_name} AS t_{f.column_name}" for f in trial_model._meta.sorted_fields]
    columns += [f"c.{f.column_name} AS c_{f.column_name}" for f in config_model._meta.sorted_fields]
    arms = [(bench.trial, bench.config)]
    if trained_tables(handle, bench):
        arms.append(bench.trained[1::-1])
    params: list = []
    selects = []
    for trial, config in arms:
        condition = source_filter(source, params)
        selects.append(f"SELECT {', '.join(columns)} FROM {trial} t JOIN {config} c ON c.id = t.config_id "
                       f"WHERE 1 = 1{condition}")

    def rewrite(value):
        if isinstance(value, str):
            return _PREFIXED.sub(r"u.\1_\2", value)
        if isinstance(value, tuple):
            return tuple(rewrite(v) for v in value)
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        return value

    return replace(
        dialect, from_where=f" FROM ({' UNION ALL '.join(selects)}) u WHERE 1 = 1", keyed_from=None, lean=None,
        group=rewrite(dialect.group), config_select=rewrite(dialect.config_select), metrics=rewrite(dialect.metrics),
        params_expr=rewrite(dialect.params_expr), flops_expr=rewrite(dialect.flops_expr),
        epochs_expr=rewrite(dialect.epochs_expr), dataset_expr=rewrite(dialect.dataset_expr), datasets=None,
        source_column=None, unique_clause=rewrite(dialect.unique_clause),
        config_columns=rewrite(dialect.config_columns), run_extra=rewrite(dialect.run_extra),
        run_id=rewrite(dialect.run_id), from_params=tuple(params))


def _dialect(benchmark: str, db_dir, source="original"):
    benchmark = check_benchmark(benchmark)
    handle = _db.open_benchmark(benchmark, db_dir)
    nni = handle.location.layout == "nni"
    if nni and source not in ("original", None):
        raise InvalidArgument(f"NNI's prebuilt {benchmark} file holds only the released runs: use "
                              "source='original'")
    if not nni:
        check_source_exists(handle.database, benchmark, source)
    if benchmark == "nb101":
        dialect = _nb101_dialect(nni, server=not _db.is_sqlite(handle.database))
        if source != "original" and not nni:  # other sources' configs: any dataset, and say which
            dialect = replace(dialect, datasets=None,
                              config_select=dialect.config_select + (("c.dataset", "dataset"),))
        return handle.database, dialect, nni
    if benchmark == "nb201":
        dialect = _nb201_dialect(nni)
    elif benchmark == "nats_sss":
        dialect = _nb201_dialect(False, sss=True)
    else:
        return handle.database, _nds_dialect(), nni
    if source != "original" and not nni:
        dialect = _other_sources_dialect(dialect, handle, source)
    return handle.database, dialect, nni


def default_metric(benchmark: str) -> str:
    """The metric top-k ranks by when none is named: ``valid_acc`` (``final_test_acc`` for NDS, which has no
    validation split)."""
    return "final_test_acc" if check_benchmark(benchmark) == "nds" else "valid_acc"


def metrics_of(benchmark: str) -> tuple:
    """Metric names that filters and top-k accept for ``benchmark`` (our layout)."""
    benchmark = check_benchmark(benchmark)
    if benchmark == "nb101":
        return tuple(_nb101_dialect(False).metrics)
    if benchmark == "nds":
        return _NDS_STATS
    return _NB201_STATS


def _bounds(ranges, kwargs) -> dict:
    """Merge ``ranges={metric: (lo, hi)}`` and ``min_<metric>=`` / ``max_<metric>=`` keywords."""
    merged: dict = {}
    for metric, pair in (ranges or {}).items():
        try:
            low, high = pair
        except (TypeError, ValueError):
            raise InvalidArgument(f"range of {metric!r} must be a (min, max) pair (None = open): got {pair!r}") from None
        merged[metric] = [low, high]
    for key, value in kwargs.items():
        if key.startswith("min_"):
            merged.setdefault(key[4:], [None, None])[0] = value
        elif key.startswith("max_"):
            merged.setdefault(key[4:], [None, None])[1] = value
        else:
            raise InvalidArgument(f"unexpected argument {key!r}: metric bounds are min_<metric>= / max_<metric>=")
    for metric, (low, high) in merged.items():
        for value in (low, high):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise InvalidArgument(f"bound of {metric!r} must be a number or None: got {value!r}")
    return merged


def _number(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise InvalidArgument(f"{name} must be a number or None: got {value!r}")
    return float(value)


def _only_originals(database, benchmark: str) -> bool:
    """True when every provenance row of ``benchmark`` is a released file (no self-trained runs loaded)."""
    sql = ("SELECT COUNT(*) FROM nasbench_source WHERE benchmark = ? AND kind <> 'original' AND kind NOT IN "
           f"({', '.join(repr(kind) for kind in JOINED_SOURCE_KINDS)})")
    return database.execute_sql(placeholders(database, sql), (benchmark,)).fetchone()[0] == 0


# ----------------------------------------------------------------------------------------------------------------------
# Joined data: HW-NAS-Bench costs and zero-cost proxies as metrics (one value per config, looked up by the config's
# cell: NB-201 index, NB-101 hash)

_CELL_TABLE = re.compile(r"(?<![\w.])a\.")
#: The dataset of the cost / proxy rows an NB-201 config joins: 'cifar10-valid' trains the CIFAR-10 network too.
_JOINED_DATASET = "CASE WHEN c.dataset = 'cifar10-valid' THEN 'cifar10' ELSE c.dataset END"
#: HW-NAS-Bench metric names (NB-201 space), and the product its API calls ``average_hw_metric``.
HW_METRICS = tuple(HW_NB201_METRICS) + ("average_hw_metric",)
#: Prefix naming a zero-cost proxy unambiguously (``zc_flops`` is NASLib's FLOP count, ``flops`` the benchmark's).
ZC_PREFIX = "zc_"
#: NASLib's cost "proxies": only under their prefixed names, never mistaken for the benchmark's parameters / FLOPs.
ZC_COST_PROXIES = ("flops", "params")
#: EC-NAS-Bench's energy and carbon columns (``models.Nb101TrialEnergy``: kWh and g CO2eq), per run: NB-101 metrics
#: and bounds where an EC-NAS-Bench source is installed (NULL for runs of other sources: pass ``source='ecnas'``).
ECNAS_METRICS = ("energy", "co2eq", "total_energy", "total_co2eq", "halfway_energy", "halfway_co2eq")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _joined_sources(database, benchmark: str) -> list:
    """``(kind, details)`` of the joined-data provenance rows of ``benchmark``, and of its EC-NAS-Bench sources
    (whose runs carry energy columns), in one statement."""
    kinds = ", ".join(_sql_text(kind) for kind in JOINED_SOURCE_KINDS + ("ecnas",))
    sql = f"SELECT kind, details FROM nasbench_source WHERE benchmark = ? AND kind IN ({kinds}) ORDER BY id"
    rows = database.execute_sql(placeholders(database, sql), (benchmark,)).fetchall()
    out = []
    for kind, details in rows:
        try:
            out.append((kind, json.loads(details or "{}")))
        except ValueError:
            out.append((kind, {}))
    return out


def _joined_expressions(database, dialect: _Dialect, nni: bool) -> dict:
    """``{metric name: SQL expression}`` of the costs and proxies installed beside ``dialect``'s benchmark.

    NB-201: every HW-NAS-Bench metric and ``average_hw_metric`` (when HW-NAS-Bench is loaded), every proxy as
    ``zc_<proxy>`` and, where the name is free, ``<proxy>``, and ``zc_val_accuracy`` (NASLib's recorded accuracy).
    NB-101: the proxies (CIFAR-10), and EC-NAS-Bench's energy columns (:data:`ECNAS_METRICS`, per run) when an
    EC-NAS-Bench source is installed. Each expression is a scalar subquery keyed by the config's cell (the energy: by
    the run).
    """
    if nni or dialect.benchmark not in ("nb101", "nb201"):
        return {}
    sources = _joined_sources(database, dialect.benchmark)
    out: dict = {}
    if dialect.benchmark == "nb101" and any(kind == "ecnas" for kind, _ in sources):
        for column in ECNAS_METRICS:
            out[column] = f"(SELECT e.{column} FROM nb101_trial_energy e WHERE e.trial_id = t.id)"
    if dialect.benchmark == "nb201":
        cell = f"arch_index = c.arch_index AND {{alias}}.dataset = {_JOINED_DATASET}"
        score_table, record_table = "zc_nb201_score", "zc_nb201_record"
        if any(kind == "hw-nasbench" for kind, _ in sources):
            where = f" FROM hw_nb201_metric h WHERE h.{cell.format(alias='h')})"
            for metric in HW_NB201_METRICS:
                out[metric] = f"(SELECT h.{metric}" + where
            out["average_hw_metric"] = "(SELECT " + " * ".join(f"h.{m}" for m in HW_AVERAGE_FACTORS) + where
    else:
        cell = "hash = a.hash AND {alias}.dataset = 'cifar10' AND {alias}.form = 0"
        score_table, record_table = "zc_nb101_score", "zc_nb101_record"
    proxies: list = []
    for kind, details in sources:
        if kind == "zc":
            proxies.extend(p for p in details.get("proxies", []) if isinstance(p, str) and p not in proxies)
    builtin = set(dialect.metrics) | set(out)
    for proxy in proxies:
        expr = (f"(SELECT z.score FROM {score_table} z WHERE z.{cell.format(alias='z')} "
                f"AND z.proxy = {_sql_text(proxy)})")
        out[ZC_PREFIX + proxy] = expr
        if proxy not in builtin and proxy not in ZC_COST_PROXIES and not proxy.startswith(ZC_PREFIX):
            out.setdefault(proxy, expr)
    if proxies:
        out[ZC_PREFIX + "val_accuracy"] = (f"(SELECT r.val_accuracy FROM {record_table} r "
                                           f"WHERE r.{cell.format(alias='r')})")
    return out


def joined_metrics(benchmark: str, db_dir=None) -> tuple:
    """Names of the HW-NAS-Bench costs and zero-cost proxies installed beside ``benchmark`` (accepted as metrics
    and bounds by every function here, like the benchmark's own :func:`metrics_of`)."""
    database, dialect, nni = _dialect(benchmark, db_dir)
    return tuple(_joined_expressions(database, dialect, nni))


def _unknown_metric(metric: str, dialect: _Dialect, nni: bool) -> str:
    message = f"unknown metric {metric!r} for {dialect.benchmark}: expected one of {', '.join(dialect.metrics)}"
    if nni and dialect.benchmark in ("nb101", "nb201"):
        return message + (" (hardware costs and zero-cost proxies join our own database, not NNI's prebuilt file: "
                          "convert the original benchmark file)")
    if dialect.benchmark == "nb201" and metric in HW_METRICS:
        return (f"{metric!r} is an HW-NAS-Bench cost, which is not installed: nasbench-db convert hw-nasbench "
                "HW-NAS-Bench-v1_0.pickle (or scripts/hw_nasbench.sh)")
    if dialect.benchmark == "nb101" and metric in ECNAS_METRICS:
        return (f"{metric!r} is an EC-NAS-Bench energy column, and no EC-NAS-Bench file is installed: "
                "nasbench-db convert ecnas energy_5V9E.tfrecord, then pass source='ecnas' (--source ecnas)")
    if dialect.benchmark in ("nb101", "nb201"):
        message += (" (zero-cost proxies are loaded with: nasbench-db convert zc zc_nasbench"
                    f"{dialect.benchmark[2:]}.json)")
    return message


@dataclass
class _Query:
    sql: str
    params: list
    select_keys: list


def _build(benchmark, *, epochs=None, dataset=None, ranges=None, min_params=None, max_params=None, min_flops=None,
           max_flops=None, config=None, reduction="mean", order_by=None, ascending=False, limit=None, unique=False,
           source="original", db_dir=None, columns=None, key_column=False, keys_in=None, **metric_bounds):
    # key_column: with ``columns``, select the row's key first (config id for means, run id per run);
    # keys_in: only the rows of these keys (a second look at rows chosen from a ``key_column`` statement)
    source = check_source(source)
    database, dialect, nni = _dialect(benchmark, db_dir, source)
    mean = check_reduction(reduction)
    epochs = check_int("epochs", epochs)
    bounds = _bounds(ranges, metric_bounds)
    requested = list(bounds) + ([order_by] if order_by else []) + list(columns or ())
    joined: dict = {}
    if any(metric not in dialect.metrics for metric in requested):
        joined = _joined_expressions(database, dialect, nni)
        dialect.metrics = {**dialect.metrics, **joined}
        # costs and proxies are one value per config; EC-NAS energy is per run (averaged like accuracies)
        dialect.per_config = tuple(dialect.per_config) + tuple(m for m in joined if m not in ECNAS_METRICS)
    for metric in requested:
        if metric not in dialect.metrics:
            raise InvalidArgument(_unknown_metric(metric, dialect, nni))
    if _server_means(database, dialect, nni, source, mean, joined):
        dialect = _nb101_means_dialect()
    where, params = [dialect.from_where], list(dialect.from_params)
    used: list = []  # SQL expressions the filters and the order use (does the ranking need every table?)
    if epochs is not None:
        where.append(f"{dialect.epochs_expr} = ?")
        params.append(epochs)
    if dataset is not None:
        name = dataset.lower() if isinstance(dataset, str) else dataset
        if not isinstance(name, str) or dialect.datasets is not None and name not in dialect.datasets:
            raise InvalidArgument(f"unknown dataset {dataset!r} for {dialect.benchmark}: expected one of "
                                  f"{', '.join(dialect.datasets or ())} (other sources' datasets: pass source=None "
                                  "or a source name)")
        if dialect.dataset_expr is not None:
            where.append(f"{dialect.dataset_expr} = ?")
            params.append(name)
    for label, expr, low, high, scale in (("parameter", dialect.params_expr, min_params, max_params, 1e6),
                                          ("FLOP", dialect.flops_expr, min_flops, max_flops, 1e6)):
        low, high = _number(f"min {label} bound", low), _number(f"max {label} bound", high)
        if low is None and high is None:
            continue
        if expr is None:
            raise InvalidArgument(f"{dialect.benchmark} stores no {label} counts: drop the {label} bound")
        used.append(expr)
        if low is not None:
            where.append(f"{expr} >= ?")
            params.append(low / scale)
        if high is not None:
            where.append(f"{expr} <= ?")
            params.append(high / scale)
    for key, value in (config or {}).items():
        column = dialect.config_columns.get(key)
        if column is None:
            raise InvalidArgument(f"cannot filter {dialect.benchmark} configs on {key!r}: expected one of "
                                  f"{', '.join(dialect.config_columns) or '(none)'}")
        where.append(f"{column} = ?")
        params.append(value)
        used.append(column)
    row_key = "c.id" if mean else dialect.run_id
    if keys_in is not None:
        keys_in = list(keys_in)
        where.append(f"{row_key} IN ({', '.join('?' * len(keys_in))})" if keys_in else "1 = 0")
        params.extend(keys_in)
    if unique:
        if dialect.unique_clause is None:
            raise InvalidArgument(f"unique=True needs the unique-topology column of our {dialect.benchmark} "
                                  "database (NB-201 / NATS topology only; NB-101 cells are unique already)")
        where.append(dialect.unique_clause)
    if source == "original" and dialect.source_column is not None and _only_originals(database, dialect.benchmark):
        source = None  # every run is an original: the per-run membership test would only cost time (~10%)
    if source is not None and dialect.source_column is not None:
        where.append(source_filter(source, params, dialect.source_column)[len(" AND "):])
    having, having_params = [], []
    for metric, (low, high) in bounds.items():
        expr = dialect.metrics[metric]
        used.append(expr)
        # A joined cost or proxy is one value per config: filter the runs before grouping them (EC-NAS energy is
        # per run: its mean is bounded after grouping, like an accuracy).
        after_grouping = mean and not dialect.pre_aggregated and (metric not in joined or metric in ECNAS_METRICS)
        target = having if after_grouping else where
        values = having_params if after_grouping else params
        expr = f"AVG({expr})" if mean and metric not in dialect.per_config else expr
        if low is not None:
            target.append(f"{expr} >= ?")
            values.append(float(low))
        if high is not None:
            target.append(f"{expr} <= ?")
            values.append(float(high))

    def metric_sql(name):
        if mean and name not in dialect.per_config:
            return f"AVG({dialect.metrics[name]})"
        return dialect.metrics[name]

    if columns is not None:
        select = [metric_sql(name) for name in columns]
        keys = list(columns)
        if key_column:
            select.insert(0, row_key)
            keys.insert(0, "_key")
    else:
        select = [dialect.run_id if not mean else "NULL"] + [expr for expr, _ in dialect.config_select]
        keys = ["id"] + [f"config.{key}" for _, key in dialect.config_select]
        if not mean:
            select += [expr for expr, _ in dialect.run_extra]
            keys += [key for _, key in dialect.run_extra]
        stats = list(dialect.stats)
        for extra in list(bounds) + ([order_by] if order_by else []):
            if extra not in stats:
                stats.append(extra)
        select += [metric_sql(name) for name in stats]
        keys += stats
        if mean:
            select.append(dialect.count_expr)
            keys.append("num_runs")
    filters = "".join(" AND " + clause for clause in where[1:])
    if limit is not None:
        limit = check_int("limit", limit)
        if limit < 0:
            raise InvalidArgument(f"limit must be >= 0: got {limit}")
    if mean and order_by and limit is not None and columns is None and dialect.keyed_from is not None:
        # Top-k in two steps of one statement: the subquery ranks configs by the one aggregate it needs and keeps
        # k of them; only those k configs' runs are joined again for the full row (about 30% faster on NB-101).
        order = metric_sql(order_by)
        used.append(dialect.metrics[order_by])
        inner_from, key_exprs, group = where[0], dialect.group, dialect.group
        if dialect.lean is not None and not any(_CELL_TABLE.search(expr) for expr in used):
            inner_from, key_exprs, group = dialect.lean
        keys_select = ", ".join(f"{expr} AS k{i}" for i, expr in enumerate(key_exprs))
        inner = f"SELECT {keys_select}, {order} AS m" + inner_from + filters
        if not dialect.pre_aggregated:
            inner += " GROUP BY " + ", ".join(group)
        if having:
            inner += " HAVING " + " AND ".join(having)
        direction = "ASC" if ascending else "DESC"
        # Expressions, not the aliases: PostgreSQL takes an output alias in ORDER BY only on its own.
        inner += f" ORDER BY {order} IS NULL, {order} {direction}, {', '.join(group)} LIMIT ?"
        outer_keys = ", ".join(f"s.k{i}" for i in range(len(dialect.group)))
        sql = "SELECT " + ", ".join(select) + dialect.keyed_from.format(inner=inner) + filters
        if not dialect.pre_aggregated:
            sql += " GROUP BY " + ", ".join(dialect.group) + f", s.m, {outer_keys}"
        sql += f" ORDER BY s.m IS NULL, s.m {direction}, {outer_keys}"
        params = params + having_params + [limit] + params
        return database, dialect, _Query(sql, params, keys)
    sql = "SELECT " + ", ".join(select) + where[0] + filters
    if mean and not dialect.pre_aggregated:
        sql += " GROUP BY " + ", ".join(dialect.group)
        if having:
            sql += " HAVING " + " AND ".join(having)
    params += having_params
    if order_by:
        expr = metric_sql(order_by)
        sql += f" ORDER BY {expr} IS NULL, {expr} {'ASC' if ascending else 'DESC'}, " + ", ".join(dialect.group)
        if not mean:
            sql += f", {dialect.run_id}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return database, dialect, _Query(sql, params, keys)


def _plain(value):
    """PostgreSQL returns numeric results (bigint / 1e6, AVG of integers) as Decimal: hand out floats."""
    return float(value) if isinstance(value, Decimal) else value


def _rows(cursor, dialect: _Dialect, keys: list):
    for row in cursor:
        record: dict = {}
        config: dict = {}
        for key, value in zip(keys, map(_plain, row)):
            if key.startswith("config."):
                config[key[7:]] = value
            else:
                record[key] = value
        if dialect.benchmark == "nb101":
            if "_operations" in config:  # our layout: adjacency + operations strings
                operations = config.pop("_operations")
                config["arch"] = nb101_space.matrix_to_arch(nb101_space.adjacency_to_matrix(config["arch"]),
                                                            operations.split(","))
            else:
                config["arch"] = json.loads(config["arch"])
        for key in dialect.json_keys:
            if isinstance(config.get(key), str):
                config[key] = json.loads(config[key])
        out = {"id": record.pop("id"), "config": config}
        out.update(record)
        yield out


def filter_archs(benchmark: str = "nb101", *, epochs=None, dataset=None, ranges=None, min_params=None,
                 max_params=None, min_flops=None, max_flops=None, config=None, reduction="mean", order_by=None,
                 ascending=False, limit=None, unique=False, source="original", db_dir=None, **metric_bounds) -> list:
    """Every config (or run) matching the filters, in one SQL statement.

    :param benchmark: 'nb101', 'nb201', 'nats_sss' or 'nds'.
    :param epochs: epoch budget (e.g. 108, 200), or None for all.
    :param dataset: NB-201 / NATS / NDS dataset (NB-101's released runs are CIFAR-10 only: 'cifar10' or None);
        with another ``source``, any dataset its runs used ('fashion-mnist').
    :param ranges: ``{metric: (min, max)}``, None for an open end; or use ``min_<metric>=`` / ``max_<metric>=``
        keywords (``min_valid_acc=94``). With ``reduction='mean'`` bounds apply to the mean over runs.
    :param min_params, max_params: parameter-count bounds as counts (``1e6`` = one million).
    :param min_flops, max_flops: FLOP bounds as counts of multiply-adds per image (not on NB-101).
    :param config: equality filters on config columns, e.g. ``{'proposer': 'darts'}`` (NDS), ``{'hash': ...}``.
    :param reduction: 'mean' (one row per config, averaged over runs; default) or None (one row per run).
    :param order_by: a metric to sort by (descending unless ``ascending``); None keeps database order.
    :param limit: at most this many rows.
    :param unique: NB-201: one cell per isomorphism class (its smallest index).
    :param source: 'original' (default: the released runs only), None (every source) or a source id, kind
        ('trained', 'ecnas'), device kind ('cpu', 'cuda'), device or file name. Rows of other sources than the
        original are never mixed in unless asked; NB-101 rows then say their ``config['dataset']``.
    """
    database, dialect, query = _build(benchmark, epochs=epochs, dataset=dataset, ranges=ranges, min_params=min_params,
                                      max_params=max_params, min_flops=min_flops, max_flops=max_flops, config=config,
                                      reduction=reduction, order_by=order_by, ascending=ascending, limit=limit,
                                      unique=unique, source=source, db_dir=db_dir, **metric_bounds)
    cursor = database.execute_sql(placeholders(database, query.sql), query.params)
    return list(_rows(cursor, dialect, query.select_keys))


def top_k(benchmark: str = "nb101", k: int = 10, metric: str | None = None, *, ascending: bool = False,
          **filters) -> list:
    """The ``k`` best configs by ``metric`` (mean over runs unless ``reduction=None``), best first.

    ``metric`` defaults to :func:`default_metric`; ``ascending=True`` ranks the smallest first (e.g. losses, time).
    Takes every filter of :func:`filter_archs`. Example: ``top_k('nb101', 10, 'valid_acc', epochs=108,
    max_params=1e6)``.
    """
    k = check_int("k", k)
    if k is None or k < 1:
        raise InvalidArgument(f"k must be >= 1: got {k}")
    metric = metric or default_metric(benchmark)
    return filter_archs(benchmark, order_by=metric, ascending=ascending, limit=k, **filters)


def metric_columns(benchmark: str, metrics, **filters) -> dict:
    """``{metric: list of values}`` over every config (or run) matching the filters, in one statement: the raw
    material of ECDFs and scatter plots. Takes the filters of :func:`filter_archs`."""
    metrics = list(metrics)
    if not metrics:
        raise InvalidArgument("name at least one metric")
    for forbidden in ("order_by", "limit", "columns"):
        filters.pop(forbidden, None)
    database, _, query = _build(benchmark, columns=metrics, **filters)
    cursor = database.execute_sql(placeholders(database, query.sql), query.params)
    values = {name: [] for name in metrics}
    appenders = [values[name].append for name in metrics]
    for row in cursor:
        for append, value in zip(appenders, row):
            append(_plain(value))
    return values


def correlate(benchmark: str, x: str, y, **filters) -> list | dict:
    """Rank correlation of ``x`` with ``y`` (or with each of several ``y``) over every config matching the filters.

    Kendall's tau (tau-b) and Spearman's rho from :mod:`scipy.stats`, with their two-sided p-values and ``n``, the
    configs that have both values (means over runs unless ``reduction=None``; one config per architecture once
    ``dataset`` and ``epochs`` are fixed; a config without a proxy score is left out, NaN too). Any metric, cost or
    proxy is accepted (:func:`metrics_of`, :func:`joined_metrics`). One SQL statement reads every column at once.

    Returns a dict ``{x, y, n, kendall_tau, kendall_p, spearman_rho, spearman_p}`` (a list of them when ``y`` is a
    list). Raises :class:`MissingDependency` without scipy.
    """
    _scipy_stats()
    many = isinstance(y, (list, tuple))
    targets = list(y) if many else [y]
    if not targets:
        raise InvalidArgument("name at least one column to correlate with")
    names = [x] + [name for name in targets if name != x]
    data = metric_columns(benchmark, names, **filters)
    results = [{"x": x, "y": name, **rank_correlation(data[x], data[name])} for name in targets]
    return results if many else results[0]


def _scipy_stats():
    try:
        from scipy import stats
    except ImportError:
        raise MissingDependency("correlate needs scipy: pip install scipy "
                                "(or pip install 'nasbench_db[analysis]')") from None
    return stats


def rank_correlation(xs, ys) -> dict:
    """``{n, kendall_tau, kendall_p, spearman_rho, spearman_p}`` of two equally long value lists: Kendall's tau-b and
    Spearman's rho (:mod:`scipy.stats`, two-sided p-values) over the pairs where both values are numbers (None and
    NaN are left out; None results below 2 pairs or for a constant column). The one home of the statistics that
    :func:`correlate` and the browsable service report."""
    import warnings

    stats = _scipy_stats()
    pairs = [(a, b) for a, b in zip(xs, ys) if a is not None and b is not None and a == a and b == b]
    result = {"n": len(pairs), "kendall_tau": None, "kendall_p": None, "spearman_rho": None, "spearman_p": None}
    if len(pairs) >= 2:
        first, second = [float(p[0]) for p in pairs], [float(p[1]) for p in pairs]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a constant column: scipy warns and returns NaN
            tau = stats.kendalltau(first, second)
            rho = stats.spearmanr(first, second)
        result.update(kendall_tau=_finite(tau.statistic), kendall_p=_finite(tau.pvalue),
                      spearman_rho=_finite(rho.statistic), spearman_p=_finite(rho.pvalue))
    return result


def _finite(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _pareto(benchmark: str, cost: str, metric: str | None, maximize: bool, filters: dict):
    """``(front rows, all (cost, metric) points)`` from one statement ordered by cost."""
    metric = metric or default_metric(benchmark)
    if cost == metric:
        raise InvalidArgument(f"cost and metric must differ: both are {cost!r}")
    for forbidden in ("order_by", "limit", "columns", "ascending"):
        if forbidden in filters:
            raise InvalidArgument(f"a Pareto front takes no {forbidden!r}: it orders by the cost itself")
    # Statement 1 reads (key, cost, metric) of every row in cost order; statement 2 the full rows of the front.
    database, _, query = _build(benchmark, order_by=cost, ascending=True, columns=[cost, metric], key_column=True,
                                **filters)
    cursor = database.execute_sql(placeholders(database, query.sql), query.params)
    points, front = [], []
    sign = 1.0 if maximize else -1.0
    best = -math.inf
    group_cost, group_best, group_key = None, None, None  # the best row among those of one cost value
    for key, c, m in cursor:
        if c is None or m is None or c != c or m != m:
            continue
        c, m = float(c), float(m)
        points.append((c, m))
        if c != group_cost:
            if group_key is not None and group_best > best:
                best = group_best
                front.append(group_key)
            group_cost, group_best, group_key = c, sign * m, key
        elif sign * m > group_best:
            group_best, group_key = sign * m, key
    if group_key is not None and group_best > best:
        front.append(group_key)
    if not front:
        return [], points, metric
    ranges = dict(filters.pop("ranges", None) or {})
    ranges.setdefault(metric, (None, None))  # select the metric (no bound)
    database, dialect, query = _build(benchmark, order_by=cost, ascending=True, ranges=ranges, keys_in=front,
                                      **filters)
    cursor = database.execute_sql(placeholders(database, query.sql), query.params)
    return list(_rows(cursor, dialect, query.select_keys)), points, metric


def pareto_front(benchmark: str, cost: str = "parameters", metric: str | None = None, *, maximize: bool = True,
                 **filters) -> list:
    """The configs on the Pareto front of ``metric`` (maximised; ``maximize=False`` minimises it, e.g. a loss)
    against ``cost`` (minimised): latency, energy, parameters, FLOPs or any metric, cost or proxy.

    Rows as :func:`filter_archs` (means over runs by default), in increasing cost; each has both columns. A config
    is on the front when no other config has a lower-or-equal cost and a better metric. Configs missing either value
    are left out. One SQL statement reads cost and metric of every config in cost order, the front is one pass
    over it, and a second statement reads the front's rows. Takes every filter of
    :func:`filter_archs` except ``order_by`` / ``limit``. Example: ``pareto_front('nb201', 'edgegpu_latency',
    'test_acc', dataset='cifar100', epochs=200)``.
    """
    return _pareto(benchmark, cost, metric, maximize, filters)[0]


def iter_cells(benchmark: str = "nb101", db_dir=None):
    """Every cell of an installed benchmark, one dict each, streamed from one statement.

    NB-101: ``hash``, ``matrix`` (canonical, pruned), ``ops``, ``arch`` (NNI dict), ``num_vertices``,
    ``parameters`` (millions). NB-201 / NATS topology: ``index``, ``arch_str``, ``arch`` (NNI dict),
    ``unique_index``, in index order (on NNI's file, which has no cell table, from the space's enumeration).
    """
    benchmark = check_benchmark(benchmark)
    handle = _db.open_benchmark(benchmark, db_dir)
    database = handle.database
    nni = handle.location.layout == "nni"
    if benchmark == "nb101":
        if nni:
            sql = "SELECT DISTINCT hash, arch, num_vertices FROM nb101trialconfig ORDER BY hash"
            for digest, arch, size in database.execute_sql(sql):
                matrix, ops = nb101_space.arch_to_matrix(json.loads(arch))
                yield {"hash": digest, "matrix": [list(r) for r in matrix], "ops": ops, "arch": json.loads(arch),
                       "num_vertices": size, "parameters": None}
            return
        sql = "SELECT hash, adjacency, operations, num_vertices, parameters FROM nb101_arch ORDER BY id"
        for digest, adjacency, operations, size, parameters in database.execute_sql(sql):
            matrix = nb101_space.adjacency_to_matrix(adjacency)
            ops = operations.split(",")
            yield {"hash": digest, "matrix": [list(r) for r in matrix], "ops": ops,
                   "arch": nb101_space.matrix_to_arch(matrix, ops), "num_vertices": size,
                   "parameters": parameters / 1e6}
        return
    if benchmark == "nb201":
        if nni:
            unique = nb201_space.unique_indices()
            for index, ops in enumerate(nb201_space.all_archs()):
                yield {"index": index, "arch_str": nb201_space.arch_str(ops), "arch": nb201_space.to_nni(ops),
                       "unique_index": unique[index]}
            return
        sql = "SELECT id, arch_str, arch, unique_index FROM nb201_arch ORDER BY id"
        for index, text, arch, unique_index in database.execute_sql(sql):
            yield {"index": index, "arch_str": text, "arch": json.loads(arch), "unique_index": unique_index}
        return
    if benchmark == "nats_sss":
        for index, arch in database.execute_sql("SELECT id, arch FROM nats_sss_arch ORDER BY id"):
            yield {"index": index, "arch": arch}
        return
    raise InvalidArgument("iter_cells covers nb101, nb201 and nats_sss (NDS configs: use filter_archs('nds'))")


def to_dataframe(rows):
    """A pandas DataFrame of query / top-k / filter results (or of :func:`metric_columns` output).

    Nested ``config`` dicts are flattened into columns (``config['id']`` becomes ``config_id``; other config keys
    keep their names unless a stats key has the same name, then ``config_<key>``). ``arch``, specs and
    ``intermediates`` stay Python objects in their cells. Raises :class:`MissingDependency` without pandas.
    """
    try:
        import pandas
    except ImportError:
        raise MissingDependency("to_dataframe needs pandas: pip install pandas "
                                "(or pip install 'nasbench_db[analysis]')") from None
    if isinstance(rows, dict):
        return pandas.DataFrame(rows)
    records = []
    for row in rows:
        if not isinstance(row, dict):
            raise InvalidArgument(f"to_dataframe takes dicts (query results): got {type(row).__name__}")
        flat: dict = {}
        for key, value in row.items():
            if key == "config" and isinstance(value, dict):
                for config_key, config_value in value.items():
                    name = "config_id" if config_key == "id" else config_key
                    if name in row or name in flat:
                        name = f"config_{config_key}"
                    flat[name] = config_value
            else:
                flat[key] = value
        records.append(flat)
    return pandas.DataFrame.from_records(records)
