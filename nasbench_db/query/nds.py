"""``query_nds_trial_stats``: NNI's NDS query, on nasbench_db's database or NNI's prebuilt ``nds-5745c235.db``.

Both files hold NNI's tables under NNI's names, so one statement serves both; only JSON equality differs (our
columns hold canonical JSON text and compare as text, portable to PostgreSQL; NNI's prebuilt file is compared the
way NNI does it, through SQLite's ``json()``).

Each yielded dict has NNI's shape and these keys (units):

=================================== =================================================================================
key                                 meaning
=================================== =================================================================================
``id``                              trial id (None with ``reduction='mean'``)
``config['id']``                    config id
``config['model_family']``          'nas_cell', 'residual_bottleneck', 'residual_basic' or 'vanilla'
``config['model_spec']``            dict (see :class:`nasbench_db.models.NdsTrialConfig`)
``config['cell_spec']``             dict; {} for families other than nas_cell
``config['dataset']``               'cifar10' or 'imagenet'
``config['generator']``             'random', 'fix_w_d' or 'tune_lr_wd'
``config['proposer']``              design space (amoeba, darts, ..., vanilla)
``config['base_lr']``               initial learning rate
``config['weight_decay']``          weight decay
``config['num_epochs']``            epochs of the schedule
``seed``                            the job's rng_seed (None with ``reduction='mean'``)
``final_train_acc``                 percent, last epoch (100 - top-1 error)
``final_train_loss``                cross-entropy, last epoch (None where the source has NaN)
``final_test_acc``                  percent, last epoch
``best_train_acc``                  percent, best epoch
``best_train_loss``                 lowest cross-entropy over epochs, NaN ignored
``best_test_acc``                   percent, best epoch
``parameters``                      millions
``flops``                           millions (multiply-adds per image)
``iter_time``                       seconds per training iteration
``intermediates``                   with ``include_intermediates=True``: ``[{'id', 'current_epoch', 'train_loss',
                                    'train_acc', 'test_acc'}]``, epochs 1..num_epochs
=================================== =================================================================================

``reduction='mean'`` averages the stats of each config's trials (``id`` and ``seed`` are None) and, unlike NNI
(which returns no intermediates then), the intermediates per epoch. Intermediates never cost a query per trial: one
statement for the trials, one more for all their epochs, merged in order.

Point queries (issue 14): the statements of a query's shape (which filters are given, reduction, intermediates)
are built once per opened database and run on its cached connection (sqlite3 reuses their prepared form); the
dicts are built from the row tuples (every NDS row is a released one: no source filter unless a name is given).
"""

from __future__ import annotations

import json

from .. import db as _db
from ..spaces import nds as space
from ._common import check_bool, check_epochs, check_reduction, check_source, check_source_exists, execute, source_filter

BENCHMARK = "nds"
STATS = ("final_train_acc", "final_train_loss", "final_test_acc", "best_train_acc", "best_train_loss",
         "best_test_acc", "parameters", "flops", "iter_time")
CONFIG_COLUMNS = ("model_family", "model_spec", "cell_spec", "dataset", "generator", "proposer", "base_lr",
                  "weight_decay", "num_epochs")
EPOCH_COLUMNS = ("train_loss", "train_acc", "test_acc")

_FROM = " FROM ndstrialstats t JOIN ndstrialconfig c ON c.id = t.config_id "
_FROM_EPOCHS = (" FROM ndsintermediatestats i JOIN ndstrialstats t ON t.id = i.trial_id "
                "JOIN ndstrialconfig c ON c.id = t.config_id ")
_CONFIG_SELECT = "c.id, " + ", ".join("c." + k for k in CONFIG_COLUMNS)


def query_nds_trial_stats(model_family, proposer, generator, model_spec, cell_spec, dataset, num_epochs=None,
                          reduction=None, include_intermediates=False, *, source="original", db_dir=None):
    """Query NDS trials, as NNI's ``query_nds_trial_stats`` (a generator of dicts; see the module docstring).

    The first six arguments are required positionally, as in NNI; None is a wildcard for every argument.

    :param model_family: 'nas_cell', 'residual_bottleneck', 'residual_basic' or 'vanilla'.
    :param proposer: amoeba, darts, enas, nasnet, pnas, resnext-a, resnext-b, resnet-b, resnet or vanilla.
    :param generator: 'random', 'fix_w_d' or 'tune_lr_wd'.
    :param model_spec: dict equal to the stored one (key order free; list order and value types matter).
    :param cell_spec: dict equal to the stored one ({} selects the non-cell families).
    :param dataset: 'cifar10' or 'imagenet'.
    :param num_epochs: epochs of the schedule.
    :param reduction: None/'none' for one dict per trial, 'mean' to average the trials of each config.
    :param include_intermediates: add the per-epoch rows as ``intermediates``.
    :param source: 'original' (the released sweeps, default), None (every source) or a source id / kind / file
        name (NDS holds only its released sweeps: a name that is not one of them raises ValueError).
    :param db_dir: read this directory instead of ``NASBENCHMARK_DIR``.

    Names are matched case-insensitively; a value outside the known ones raises ValueError (NNI would silently
    return nothing).
    """
    mean = check_reduction(reduction)
    filters = {
        "model_family": space.check_model_family(model_family),
        "proposer": space.check_proposer(proposer),
        "generator": space.check_generator(generator),
        "model_spec": space.check_spec("model_spec", model_spec),
        "cell_spec": space.check_spec("cell_spec", cell_spec),
        "dataset": space.check_dataset(dataset),
        "num_epochs": check_epochs("num_epochs", num_epochs),
    }
    include_intermediates = check_bool("include_intermediates", include_intermediates)
    source = check_source(source)
    handle = _db.open_benchmark(BENCHMARK, db_dir)
    database = handle.database
    nni_layout = handle.location.layout == "nni"
    params = [value for value in filters.values() if value is not None]
    # The statements depend on the query's shape only (which filters are given, reduction, intermediates, the
    # layout): built once per opened database and shape, then run on the cached connection.
    shape = None
    if source in ("original", None):  # every NDS row is a released one: no source filter
        shape = ("nds", nni_layout, tuple(value is not None for value in filters.values()), mean,
                 include_intermediates)
        statements = handle.schema_cache.get(shape)
        if statements is not None:
            return _run(database, statements, params, mean, include_intermediates)
    where, _ = _where(filters, nni_layout=nni_layout)
    if shape is None:  # a source name: only a name of the release matches
        if nni_layout:
            return iter(())
        check_source_exists(database, BENCHMARK, source)
        where += (" AND t.id IN (SELECT o.trial_id FROM nds_trial_origin o WHERE 1 = 1" +
                  source_filter(source, params, "o.source_id") + ")")
    statements = _statements(where, mean, bool(params))
    if shape is not None:
        handle.schema_cache[shape] = statements
    return _run(database, statements, params, mean, include_intermediates)


def _statements(where: str, mean: bool, filtered: bool) -> tuple:
    """``(trials statement, epochs statement, filtered)`` of the rows selected by ``where``."""
    if mean:
        sql = ("SELECT NULL, " + _CONFIG_SELECT + ", NULL, " + ", ".join(f"AVG(t.{k})" for k in STATS) + _FROM +
               "WHERE " + where + " GROUP BY " + _CONFIG_SELECT + " ORDER BY c.id")
        epoch_sql = ("SELECT t.config_id, NULL, i.current_epoch, " +
                     ", ".join(f"AVG(i.{k})" for k in EPOCH_COLUMNS) + _FROM_EPOCHS + "WHERE " + where +
                     " GROUP BY t.config_id, i.current_epoch ORDER BY t.config_id, i.current_epoch")
    else:
        # NNI's order: SQLite walks the filtered configs (by id), then each config's trials; unfiltered, the trials.
        order = "c.id, t.id" if filtered else "t.id"
        sql = ("SELECT t.id, " + _CONFIG_SELECT + ", t.seed, " + ", ".join("t." + k for k in STATS) + _FROM +
               "WHERE " + where + " ORDER BY " + order)
        epoch_order = "t.config_id, i.trial_id, i.current_epoch" if filtered else "i.trial_id, i.current_epoch"
        epoch_sql = ("SELECT " + ("t.config_id, " if filtered else "") + "i.trial_id, i.id, i.current_epoch, " +
                     ", ".join("i." + k for k in EPOCH_COLUMNS) + _FROM_EPOCHS + "WHERE " + where +
                     " ORDER BY " + epoch_order)
    return sql, epoch_sql, filtered


def _run(database, statements, params, mean: bool, include_intermediates: bool):
    sql, epoch_sql, filtered = statements
    cursor = execute(database, sql, params)
    if not include_intermediates:
        # The common case: one dict per row, straight from the tuples.
        return iter(_plain_records(cursor.fetchall()))
    epoch_rows = iter(execute(database, epoch_sql, params))
    return _records(cursor, epoch_rows, mean, not mean and filtered)


def _where(filters: dict, nni_layout: bool):
    clauses, params = [], []
    for name, value in filters.items():
        if value is None:
            continue
        if name in ("model_spec", "cell_spec") and nni_layout:
            # NNI's JSONField compares json(stored) with json(dumps(value, sort_keys=True)) in SQLite.
            clauses.append(f"c.{name} = json(?)")
        else:
            clauses.append(f"c.{name} = ?")
        params.append(value)
    return (" AND ".join(clauses) if clauses else "1 = 1"), params


def _spec(text):
    if text is None or isinstance(text, dict):
        return text
    return json.loads(text)


def _plain_records(rows) -> list:
    """Rows without intermediates as NNI's dicts (the keys and order of :func:`_records`)."""
    spec = _spec
    return [{"id": trial_id,
             "config": {"id": config_id, "model_family": family, "model_spec": spec(model_spec),
                        "cell_spec": spec(cell_spec), "dataset": dataset, "generator": generator,
                        "proposer": proposer, "base_lr": base_lr, "weight_decay": weight_decay,
                        "num_epochs": num_epochs},
             "seed": seed, "final_train_acc": final_train_acc, "final_train_loss": final_train_loss,
             "final_test_acc": final_test_acc, "best_train_acc": best_train_acc, "best_train_loss": best_train_loss,
             "best_test_acc": best_test_acc, "parameters": parameters, "flops": flops, "iter_time": iter_time}
            for (trial_id, config_id, family, model_spec, cell_spec, dataset, generator, proposer, base_lr,
                 weight_decay, num_epochs, seed, final_train_acc, final_train_loss, final_test_acc, best_train_acc,
                 best_train_loss, best_test_acc, parameters, flops, iter_time) in rows]


def _records(cursor, epoch_rows, mean: bool, config_order: bool = False):
    """Rows as NNI's dicts. ``config_order``: trials come by (config, trial) and epoch rows start with the config id."""
    pending = next(epoch_rows, None) if epoch_rows is not None else None
    if config_order:
        pending = _split(pending)
        epoch_rows = map(_split, epoch_rows) if epoch_rows is not None else None
    for row in cursor:
        trial_id, config_id = row[0], row[1]
        record = {
            "id": trial_id,
            "config": {
                "id": config_id, "model_family": row[2], "model_spec": _spec(row[3]), "cell_spec": _spec(row[4]),
                "dataset": row[5], "generator": row[6], "proposer": row[7], "base_lr": row[8],
                "weight_decay": row[9], "num_epochs": row[10],
            },
            "seed": row[11],
        }
        record.update(zip(STATS, row[12:]))
        if epoch_rows is not None:
            owner = config_id if mean else (config_id, trial_id) if config_order else trial_id
            intermediates = []
            # Both statements are ordered by the owner key, so one forward merge pairs them.
            while pending is not None and pending[0] < owner:
                pending = next(epoch_rows, None)
            while pending is not None and pending[0] == owner:
                intermediates.append({"id": pending[1], "current_epoch": pending[2], "train_loss": pending[3],
                                      "train_acc": pending[4], "test_acc": pending[5]})
                pending = next(epoch_rows, None)
            record["intermediates"] = intermediates
        yield record


def _split(row):
    """``(config_id, trial_id, rest...)`` -> ``((config_id, trial_id), rest...)``: the merge key of config order."""
    return None if row is None else ((row[0], row[1]), *row[2:])
