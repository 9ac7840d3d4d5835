"""``query_nb201_trial_stats`` and ``query_nats_sss_trial_stats``: NNI's NB-201 query, and the same for the NATS size
space, on nasbench_db's databases or (NB-201) NNI's prebuilt ``nasbench201-b2b60732.db``.

Each yielded dict has NNI's shape and these keys (units):

=============================== =====================================================================================
key                             meaning
=============================== =====================================================================================
``id``                          trial id (None with ``reduction='mean'``)
``config['id']``                config id: one per (architecture, epoch budget, dataset)
``config['arch']``              NB-201: NNI's arch dict ``{'0_1'..'2_3': op}`` (NNI op names); size space: the
                                channels ``'C1:C2:C3:C4:C5'``
``config['num_epochs']``        12 or 200 (size space: 1, 12 or 90)
``config['num_channels']``      16 (NB-201 only)
``config['num_cells']``         5 (NB-201 only)
``config['dataset']``           'cifar10-valid', 'cifar10', 'cifar100' or 'imagenet16-120'
``seed``                        training seed (None with ``reduction='mean'``)
``train_acc`` ... ``ori_test_acc``   final accuracies, percent (0-100); NNI's split mapping (docs/nb201_nats.md)
``train_loss`` ... ``ori_test_loss`` final mean cross-entropy; None where the file has NaN or nothing
``parameters``                  millions; NB-201: computed for the architecture (also on NNI's file, whose values
                                repeat the defective records of the original)
``latency``                     seconds per evaluation batch
``flops``                       millions of multiply-adds per image (computed, as parameters)
``training_time``               seconds, sum of the per-epoch training times (NNI's file: last epoch x epochs)
``*_evaluation_time``           seconds of one evaluation pass at the last epoch
``intermediates``               with ``include_intermediates=True``: ``[{'id', 'current_epoch' (1-based),
                                'train_acc', 'valid_acc', 'test_acc', 'ori_test_acc', 'train_loss', 'valid_loss',
                                'test_loss', 'ori_test_loss'}]`` in epoch order
=============================== =====================================================================================

With ``reduction='mean'`` every stats field (and, unlike NNI, every intermediate per epoch) is averaged over the
trials of each config. Intermediates never cost a query per trial: one more statement in total.

Point queries (issue 14): the statements of a query's shape (which filters are given, reduction, intermediates)
are built once per opened database and run on its cached connection (sqlite3 reuses their prepared form); the
dicts are built from the row tuples; the released source is selected per row by its key, nothing read first.

Sources: by default only the released runs (NNI's tables, exactly NNI's data). Runs of other sources (``nasbench-db
train`` results) are kept in tables of their own (``nb201_trained_*``, ``nats_sss_trained_*``) and read with
``source=None`` (every source) or a source name (``'trained'``, a device kind ``'cpu'`` / ``'cuda'``, a device or
file name, a source id), at their own budgets and datasets (``num_epochs=1``, ``dataset='fashion-mnist'``). Rows
read with such a ``source`` carry one more key, ``source`` (``{'id', 'kind', 'device'}``; None for means).
"""

from __future__ import annotations

import json
from functools import lru_cache

from .. import db as _db
from ..errors import InvalidArgument, OutOfSearchSpace
from ..spaces import nats_sss as sss_space
from ..spaces import nb201 as tss_space
from ._common import (check_bool, check_epochs, check_reduction, check_source, check_source_exists, execute,
                      original_filter, placeholders, source_filter)

#: Stats fields in NNI's order (after id, config, seed).
STATS_FIELDS = ("train_acc", "valid_acc", "test_acc", "ori_test_acc", "train_loss", "valid_loss", "test_loss",
                "ori_test_loss", "parameters", "latency", "flops", "training_time", "valid_evaluation_time",
                "test_evaluation_time", "ori_test_evaluation_time")
INTERMEDIATE_FIELDS = ("train_acc", "valid_acc", "test_acc", "ori_test_acc", "train_loss", "valid_loss",
                       "test_loss", "ori_test_loss")
#: Synthetic intermediate id of our layout: ``EPOCH_ID_BASE * trial_id + current_epoch``.
EPOCH_ID_BASE = 1000


class _Bench:
    """Table names and argument rules of one benchmark."""

    def __init__(self, key, config, trial, epoch, intermediate, epochs, nni_config_fields, prefix):
        self.key = key
        self.config = config
        self.trial = trial
        self.epoch = epoch
        self.intermediate = intermediate
        self.epochs = epochs
        self.config_fields = nni_config_fields
        # runs of other sources: tables of their own with the same columns (models.Nb201TrainedTrialStats)
        self.trained = (f"{prefix}_trained_trialconfig", f"{prefix}_trained_trialstats", f"{prefix}_trained_epoch")


NB201 = _Bench("nb201", "nb201trialconfig", "nb201trialstats", "nb201_epoch", "nb201intermediatestats",
               tss_space.EPOCHS, ("arch", "num_epochs", "num_channels", "num_cells", "dataset"), "nb201")
NATS_SSS = _Bench("nats_sss", "nats_sss_trialconfig", "nats_sss_trialstats", "nats_sss_epoch",
                  "nats_sss_intermediatestats", sss_space.EPOCHS, ("arch", "num_epochs", "dataset"), "nats_sss")


#: How to reach runs the released benchmark does not have (appended to argument errors).
OTHER_SOURCES_HINT = ("runs at other budgets or on other datasets come from other sources: pass source=None (every "
                      "source), 'trained', a device kind ('cpu', 'cuda') or a device / source name")


def _check_dataset(dataset, source):
    if dataset is None:
        return None
    if not isinstance(dataset, str):
        raise InvalidArgument(f"dataset must be a string or None: got {dataset!r}")
    if dataset.lower() not in tss_space.NUM_CLASSES and source == "original":
        raise InvalidArgument(f"unknown dataset {dataset!r}: expected one of {', '.join(tss_space.DATASETS)} "
                              f"(case-insensitive) or None; {OTHER_SOURCES_HINT}")
    return dataset.lower()


def _check_epochs(num_epochs, bench, source):
    """The released runs have the benchmark's budgets only; trained runs (``source`` other than 'original') any."""
    if source != "original":
        return check_epochs("num_epochs", num_epochs)
    value = check_epochs("num_epochs", num_epochs)
    if value is not None and value not in bench.epochs:
        raise InvalidArgument(f"num_epochs must be one of {', '.join(map(str, bench.epochs))} (or None) for the "
                              f"released runs: got {value}; {OTHER_SOURCES_HINT}")
    return value


@lru_cache(maxsize=65536)
def _arch_json(text: str) -> dict:
    return json.loads(text)


def _nni_json(ops) -> str:
    return json.dumps(tss_space.to_nni(ops), sort_keys=True, separators=(",", ":"))




def query_nb201_trial_stats(arch, num_epochs, dataset, reduction=None, include_intermediates=False, *,
                            source="original", db_dir=None):
    """Query NAS-Bench-201 / NATS topology runs, as NNI's ``query_nb201_trial_stats`` (a generator of dicts).

    :param arch: NNI's arch dict (keys ``'0_1'``..``'2_3'``; NNI or original op names, any key order), the original
        string ``'|nor_conv_3x3~0|+|...|'``, the benchmark index (0..15,624), or None for every cell. A malformed
        arch raises ValueError naming the problem.
    :param num_epochs: 12, 200 or None (any budget of trained runs when ``source`` is not 'original').
    :param dataset: 'cifar10-valid', 'cifar10', 'cifar100', 'imagenet16-120' (case-insensitive) or None.
    :param reduction: None/'none' for one dict per trial, 'mean' to average the trials (seeds) of each config.
    :param include_intermediates: add the per-epoch results as ``intermediates``.
    :param source: 'original' (the released runs, default), None (every row), a source id, or a source kind /
        device / file name.
    :param db_dir: read this directory instead of ``NASBENCHMARK_DIR``.
    """
    mean = check_reduction(reduction)
    source = check_source(source)
    num_epochs = _check_epochs(num_epochs, NB201, source)
    dataset = _check_dataset(dataset, source)
    include_intermediates = check_bool("include_intermediates", include_intermediates)
    index = _index_of(arch) if arch is not None else None
    handle = _db.open_benchmark("nb201", db_dir)
    nni = handle.location.layout == "nni"
    if index is None:
        arch_clause = None
    elif nni:
        arch_clause = ("c.arch = ?", _nni_json(tss_space.arch_of_index(index)))
    else:
        arch_clause = ("c.arch_index = ?", index)
    return _run(NB201, handle, nni, arch_clause, num_epochs, dataset, mean, include_intermediates, source)


def _index_of(arch) -> int:
    """The benchmark index of ``arch`` (any accepted form; an index is only range-checked); ValueError if bad."""
    if type(arch) is int:
        tss_space.arch_of_index(arch)
        return arch
    index = tss_space.index_of_nni(arch)
    return index if index is not None else tss_space.index_of(tss_space.ops_of(arch))


def query_nats_sss_trial_stats(arch, num_epochs, dataset, reduction=None, include_intermediates=False, *,
                               source="original", db_dir=None):
    """Query NATS-Bench size-space runs, with the semantics of :func:`query_nb201_trial_stats`.

    :param arch: ``'C1:C2:C3:C4:C5'`` (each 8..64 step 8), 5 channel counts, the index (0..32,767) or None.
    :param num_epochs: 1, 12, 90 or None.
    :param dataset: as for NB-201, or None.
    """
    mean = check_reduction(reduction)
    source = check_source(source)
    num_epochs = _check_epochs(num_epochs, NATS_SSS, source)
    dataset = _check_dataset(dataset, source)
    include_intermediates = check_bool("include_intermediates", include_intermediates)
    arch_clause = ("c.arch_index = ?", sss_space.index_of(arch)) if arch is not None else None
    handle = _db.open_benchmark("nats_sss", db_dir)
    if handle.location.layout == "nni":  # NNI has no size-space file; nothing else can be found here
        raise InvalidArgument("NNI publishes no NATS size-space database")
    return _run(NATS_SSS, handle, False, arch_clause, num_epochs, dataset, mean, include_intermediates, source)


def trained_tables(handle, bench: _Bench) -> bool:
    """Whether the database has the tables of other sources' runs (files from before they existed have not)."""
    found = handle.schema_cache.get(("trained", bench.key))
    if found is None:
        found = handle.schema_cache[("trained", bench.key)] = bench.trained[1] in _db.table_names(handle.database)
    return found


def _run(bench: _Bench, handle, nni: bool, arch_clause, num_epochs, dataset, mean, include_intermediates, source):
    database = handle.database
    params = []
    if arch_clause is not None:
        params.append(arch_clause[1])
    if num_epochs is not None:
        params.append(num_epochs)
    if dataset is not None:
        params.append(dataset)
    if nni:
        if source not in ("original", None):
            return iter(())
    elif source != "original":
        return _run_sources(bench, handle, arch_clause, num_epochs, dataset, params, mean, include_intermediates,
                            source)
    # The released runs (NNI's file: every run). The statements depend on the query's shape only: built once per
    # opened database and shape, then run on the cached connection (sqlite3 reuses their prepared form).
    shape = ("nni" if nni else "ours", bench.key, arch_clause and arch_clause[0], num_epochs is not None,
             dataset is not None, mean, include_intermediates)
    plan = handle.schema_cache.get(shape)
    if plan is None:
        plan = handle.schema_cache[shape] = _plan(bench, handle, nni, arch_clause, num_epochs, dataset, mean,
                                                  include_intermediates)
    sql, inter_sql, filtered, fix_cost = plan
    cursor = execute(database, sql, params)
    if inter_sql is None and not mean and not fix_cost:
        # The common case: one dict per run, straight from the tuples.
        return iter((_nb201_records if bench is NB201 else _sss_records)(cursor.fetchall()))
    inter_rows = iter(execute(database, inter_sql, params)) if inter_sql is not None else None
    # Rows of both statements come in the same order of (config, trial) keys: 'mean' by config id, filtered
    # queries by config then trial id, unfiltered ones by trial id.
    key_of = (lambda c, t: (c,)) if mean else (lambda c, t: (c, t)) if filtered else (lambda c, t: (t,))
    return _rows(cursor, inter_rows, bench, fix_cost, key_of)


def _nb201_records(rows) -> list:
    arch_json = _arch_json
    return [{"id": trial_id,
             "config": {"id": config_id, "arch": dict(arch_json(arch)), "num_epochs": epochs,
                        "num_channels": channels, "num_cells": cells, "dataset": dataset},
             "seed": seed, "train_acc": train_acc, "valid_acc": valid_acc, "test_acc": test_acc,
             "ori_test_acc": ori_test_acc, "train_loss": train_loss, "valid_loss": valid_loss, "test_loss": test_loss,
             "ori_test_loss": ori_test_loss, "parameters": parameters, "latency": latency, "flops": flops,
             "training_time": training_time, "valid_evaluation_time": valid_time, "test_evaluation_time": test_time,
             "ori_test_evaluation_time": ori_test_time}
            for (trial_id, config_id, arch, epochs, channels, cells, dataset, seed, train_acc, valid_acc, test_acc,
                 ori_test_acc, train_loss, valid_loss, test_loss, ori_test_loss, parameters, latency, flops,
                 training_time, valid_time, test_time, ori_test_time) in rows]


def _sss_records(rows) -> list:
    return [{"id": trial_id, "config": {"id": config_id, "arch": arch, "num_epochs": epochs, "dataset": dataset},
             "seed": seed, "train_acc": train_acc, "valid_acc": valid_acc, "test_acc": test_acc,
             "ori_test_acc": ori_test_acc, "train_loss": train_loss, "valid_loss": valid_loss, "test_loss": test_loss,
             "ori_test_loss": ori_test_loss, "parameters": parameters, "latency": latency, "flops": flops,
             "training_time": training_time, "valid_evaluation_time": valid_time, "test_evaluation_time": test_time,
             "ori_test_evaluation_time": ori_test_time}
            for (trial_id, config_id, arch, epochs, dataset, seed, train_acc, valid_acc, test_acc,
                 ori_test_acc, train_loss, valid_loss, test_loss, ori_test_loss, parameters, latency, flops,
                 training_time, valid_time, test_time, ori_test_time) in rows]


def _where(arch_clause, num_epochs, dataset) -> tuple:
    """``(where, filtered)``: the filter conditions, in the order of the parameters ``_run`` builds."""
    clauses = []
    if arch_clause is not None:
        clauses.append(arch_clause[0])
    if num_epochs is not None:
        clauses.append("c.num_epochs = ?")
    if dataset is not None:
        clauses.append("c.dataset = ?")
    return (" AND ".join(clauses) if clauses else "1 = 1"), bool(clauses)


def _run_sources(bench, handle, arch_clause, num_epochs, dataset, params, mean, include_intermediates, source):
    """Runs of every source, or of one other than the released one (our layout)."""
    check_source_exists(handle.database, bench.key, source)
    where, _ = _where(arch_clause, num_epochs, dataset)
    where += source_filter(source, params)
    arms = [(bench.config, bench.trial, bench.epoch)]
    if trained_tables(handle, bench):
        arms.append(bench.trained)
    return _run_arms(bench, handle.database, arms, where, params, mean, include_intermediates)


def _plan(bench: _Bench, handle, nni: bool, arch_clause, num_epochs, dataset, mean, include_intermediates) -> tuple:
    """``(statement, intermediates statement or None, filtered, fix_cost)`` of a query of the released runs."""
    where, filtered = _where(arch_clause, num_epochs, dataset)
    if not nni:
        where += original_filter(handle.database)
    config_cols = ", ".join(f"c.{name}" for name in bench.config_fields)
    fix_cost = nni and bench is NB201
    joins = f" FROM {bench.trial} t JOIN {bench.config} c ON c.id = t.config_id WHERE {where}"
    if mean:
        stats = ", ".join(f"AVG(t.{name})" for name in STATS_FIELDS)
        sql = (f"SELECT NULL, c.id, {config_cols}, NULL, {stats}{joins} GROUP BY c.id, {config_cols} "
               "ORDER BY c.id")
    else:
        stats = ", ".join(f"t.{name}" for name in STATS_FIELDS)
        # NNI's order: SQLite walks the filtered configs (by id), then each config's trials (by id); with no filter
        # at all it walks the trials.
        order = "c.id, t.id" if filtered else "t.id"
        sql = f"SELECT t.id, c.id, {config_cols}, t.seed, {stats}{joins} ORDER BY {order}"
    inter_sql = None
    if include_intermediates:
        values = ", ".join(f"i.{name}" for name in INTERMEDIATE_FIELDS)
        averages = ", ".join(f"AVG(i.{name})" for name in INTERMEDIATE_FIELDS)
        if nni:
            source_table, inter_id = bench.intermediate, "i.id"
            order_id = "i.id"
        else:
            source_table, inter_id = bench.epoch, f"{EPOCH_ID_BASE} * i.trial_id + i.current_epoch"
            order_id = "i.current_epoch"
        inter_join = (f" FROM {source_table} i JOIN {bench.trial} t ON t.id = i.trial_id "
                      f"JOIN {bench.config} c ON c.id = t.config_id WHERE {where}")
        if mean:
            inter_sql = (f"SELECT c.id, NULL, NULL, i.current_epoch, {averages}{inter_join} "
                         "GROUP BY c.id, i.current_epoch ORDER BY c.id, i.current_epoch")
        else:
            inter_order = f"c.id, i.trial_id, {order_id}" if filtered else f"i.trial_id, {order_id}"
            inter_sql = (f"SELECT c.id, i.trial_id, {inter_id}, i.current_epoch, {values}{inter_join} "
                         f"ORDER BY {inter_order}")
    return sql, inter_sql, filtered, fix_cost


def _run_arms(bench: _Bench, database, arms, where, params, mean, include_intermediates):
    """The query over several sources: each arm (config, trial, epoch tables: the released runs', then the other
    sources') is its own indexed join with the same filters, and the arms are combined with UNION ALL."""
    names = bench.config_fields
    config_cols = ", ".join(f"c.{name} AS c_{name}" for name in names)
    stats_cols = ", ".join(f"t.{name} AS {name}" for name in STATS_FIELDS)

    def union(select, tables_of):
        return " UNION ALL ".join(select + tables_of(*arm) + f" WHERE {where}" for arm in arms)

    per_run = (f"SELECT t.id AS id, c.id AS cid, {config_cols}, t.seed AS seed, {stats_cols}, s.id AS sid, "
               "s.kind AS skind, s.device AS sdevice")
    runs = union(per_run, lambda config, trial, epoch: (f" FROM {trial} t JOIN {config} c ON c.id = t.config_id "
                                                         "LEFT JOIN nasbench_source s ON s.id = t.source_id"))
    grouped = ", ".join(f"c_{name}" for name in names)
    if mean:
        stats = ", ".join(f"AVG({name})" for name in STATS_FIELDS)
        sql = (f"SELECT NULL, cid, {grouped}, NULL, {stats}, NULL, NULL, NULL FROM ({runs}) u "
               f"GROUP BY cid, {grouped} ORDER BY cid")
    else:
        sql = f"{runs} ORDER BY 1"
    cursor = database.execute_sql(placeholders(database, sql), params * len(arms))
    inter_rows = None
    if include_intermediates:
        values = ", ".join(f"i.{name} AS {name}" for name in INTERMEDIATE_FIELDS)
        epochs = union(f"SELECT i.trial_id AS tid, c.id AS cid, i.current_epoch AS epoch, {values}",
                       lambda config, trial, epoch: (f" FROM {epoch} i JOIN {trial} t ON t.id = i.trial_id "
                                                     f"JOIN {config} c ON c.id = t.config_id"))
        if mean:
            averages = ", ".join(f"AVG({name})" for name in INTERMEDIATE_FIELDS)
            inter_sql = (f"SELECT cid, NULL, NULL, epoch, {averages} FROM ({epochs}) u GROUP BY cid, epoch "
                         "ORDER BY cid, epoch")
        else:
            plain = ", ".join(INTERMEDIATE_FIELDS)
            inter_sql = (f"SELECT cid, tid, {EPOCH_ID_BASE} * tid + epoch, epoch, {plain} FROM ({epochs}) u "
                         "ORDER BY tid, epoch")
        inter_rows = iter(database.execute_sql(placeholders(database, inter_sql), params * len(arms)))
    # Runs come by trial id ('mean': by config id), and so do their epochs.
    key_of = (lambda c, t: (c,)) if mean else (lambda c, t: (t,))
    return _rows(cursor, inter_rows, bench, False, key_of, tagged=True)


def _rows(cursor, inter_rows, bench: _Bench, fix_cost: bool, key_of, tagged: bool = False):
    config_fields = bench.config_fields
    width = len(config_fields)
    is_nb201 = bench is NB201
    end = 3 + width + len(STATS_FIELDS)
    pending = next(inter_rows, None) if inter_rows is not None else None
    for row in cursor:
        config = {"id": row[1]}
        for name, value in zip(config_fields, row[2:2 + width]):
            config[name] = value
        if is_nb201:
            config["arch"] = dict(_arch_json(config["arch"]))
        record = {"id": row[0], "config": config, "seed": row[2 + width]}
        record.update(zip(STATS_FIELDS, row[3 + width:end]))
        if tagged:
            record["source"] = None if row[end] is None else {"id": row[end], "kind": row[end + 1],
                                                              "device": row[end + 2]}
        if fix_cost and config["num_channels"] == tss_space.NUM_CHANNELS and \
                config["num_cells"] == tss_space.NUM_CELLS:
            cost = _cost(tuple(sorted(config["arch"].items())), config["dataset"])
            if cost is not None:
                record["parameters"], record["flops"] = cost
        if inter_rows is not None:
            owner = key_of(row[1], row[0])
            intermediates = []
            # Both statements are ordered by the same key: one forward merge, no query per trial.
            while pending is not None and key_of(pending[0], pending[1]) < owner:
                pending = next(inter_rows, None)
            while pending is not None and key_of(pending[0], pending[1]) == owner:
                entry = {"id": pending[2], "current_epoch": pending[3]}
                entry.update(zip(INTERMEDIATE_FIELDS, pending[4:]))
                intermediates.append(entry)
                pending = next(inter_rows, None)
            record["intermediates"] = intermediates
        yield record


@lru_cache(maxsize=8192)
def _cost(arch_items: tuple, dataset: str):
    try:
        ops = tss_space.from_nni(dict(arch_items))
        return tss_space.parameters(ops, dataset), tss_space.flops(ops, dataset)
    except (OutOfSearchSpace, KeyError):
        return None
