"""``query_nlp_trial_stats``: NNI's NAS-Bench-NLP query, on nasbench_db's ``nlp.db`` or NNI's own ``nlp.db``.

Each yielded dict has NNI's shape and these keys (units):

=============================== =====================================================================================
key                             meaning
=============================== =====================================================================================
``id``                          trial id: one training run (None with ``reduction='mean'``)
``config['id']``                config id: one per (recipe, dataset) here; NNI has one per log file
``config['arch']``              NNI's flattened recipe ``{'<node>_op': op, '<node>_input_<i>': name}``
``config['dataset']``           'ptb' or 'wikitext-2'
``train_loss``                  loss after the last (50th) epoch on the training set: mean cross-entropy in nats
                                per token (natural log); perplexity = exp(loss)
``val_loss``                    same on the validation set
``test_loss``                   same on the test set
``training_time``               seconds of training of the last epoch (the log's ``wall_times[-1]``, NNI's value;
                                the run's total is the sum of its intermediates' ``training_time``)
``intermediates``               with ``include_intermediates=True``: ``[{'id', 'current_epoch' (1-based),
                                'train_loss', 'val_loss', 'test_loss', 'training_time' (seconds of that epoch)}]``
``status``                      only when ``status`` is not 'OK': the run's status ('OK', 'loss is nan!', ...)
``*_perplexity``                only with ``perplexity=True``: ``train/val/test_perplexity`` = exp(loss), also in
                                the intermediates
=============================== =====================================================================================

Semantics. ``arch`` and ``dataset`` are equality filters, None a wildcard (both None returns every run; NNI raises
``TypeError`` there). ``reduction='mean'`` averages the runs of each (recipe, dataset) and, unlike NNI, the
intermediates per epoch; NNI, having no ``GROUP BY``, averages every matching row into one (the same thing when
``arch`` and ``dataset`` are given) and yields a row of None when nothing matches. Runs whose status is not 'OK'
(NNI's ``db_gen`` drops them) are left out by default, as NNI; ``status=None`` includes them, ``status='loss is
nan!'`` selects those. Rows come in config order, runs in id order within a config.

Point queries (issue 14): the statements of a query's shape (which filters are given, reduction, intermediates)
are built once per opened database and run on its cached connection (sqlite3 reuses their prepared form); the
dicts are built from the row tuples; the released source is selected per row by its key, nothing read first.
"""

from __future__ import annotations

import itertools
import json
from functools import lru_cache

from .. import db as _db
from ..errors import InvalidArgument
from ..spaces import nlp as space
from ._common import check_bool, check_reduction, check_source, execute, original_filter, source_filter

BENCHMARK = "nlp"
STATS = ("train_loss", "val_loss", "test_loss", "training_time")
#: Synthetic intermediate id of our layout (``models.NLP_EPOCH_ID_BASE``).
EPOCH_ID_BASE = 1000


@lru_cache(maxsize=65536)
def _key_of_text(text: str) -> str:
    return space.flat_json(space.parse_arch(text))


@lru_cache(maxsize=65536)
def _text_of_items(items: tuple) -> str:
    return json.dumps(dict(items), separators=(",", ":"))  # items come sorted


def _unchecked_key(arch):
    """The key of NNI's flat dict (strings only) without validating it, or None for other forms.

    Every stored arch was validated when converted, so a flat dict whose text equals a stored one is valid: the
    query validates only when nothing matched (to tell a malformed arch, a ValueError, from an absent one).
    """
    if isinstance(arch, dict) and arch and all(type(k) is str and type(v) is str for k, v in arch.items()):
        return _text_of_items(tuple(sorted(arch.items())))
    return None


def arch_key(arch) -> str:
    """The canonical key (sorted-key JSON of the flat dict) of any accepted arch form; ValueError if malformed."""
    if isinstance(arch, dict):
        try:
            text = json.dumps(arch, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            space.parse_arch(arch)  # names the problem
            raise InvalidArgument(f"arch must be JSON-like (strings, lists, dicts): got {arch!r}") from None
        return _key_of_text(text)
    if isinstance(arch, (str, bytes)):
        return _key_of_text(arch if isinstance(arch, str) else arch.decode("utf-8", "replace"))
    raise InvalidArgument(f"arch must be NNI's flat dict, the recipe (dict or JSON text) or None: got "
                          f"{type(arch).__name__}")


@lru_cache(maxsize=65536)
def _arch_json(text: str) -> dict:
    return json.loads(text)


def _check_dataset(dataset):
    if dataset is None:
        return None
    if not isinstance(dataset, str):
        raise InvalidArgument(f"dataset must be a string or None: got {dataset!r}")
    name = dataset.strip().lower()
    if name not in space.DATASETS:
        raise InvalidArgument(f"unknown dataset {dataset!r}: expected one of {', '.join(space.DATASETS)} "
                              "(case-insensitive) or None")
    return name


def _check_status(status):
    if status is None or isinstance(status, str):
        return status
    raise InvalidArgument(f"status must be a run status such as 'OK' or 'loss is nan!', or None (every run): "
                          f"got {status!r}")


def query_nlp_trial_stats(arch, dataset, reduction=None, include_intermediates=False, *, status=space.STATUS_OK,
                          perplexity=False, source="original", db_dir=None):
    """Query NAS-Bench-NLP runs, as NNI's ``query_nlp_trial_stats`` (a generator of dicts; see the module docstring).

    :param arch: NNI's flattened recipe dict, the recipe as a dict or as the logs' JSON text, or None for every cell.
        Any key or node order; input order matters. A malformed cell raises ValueError naming the problem.
    :param dataset: 'ptb', 'wikitext-2' (case-insensitive) or None.
    :param reduction: None/'none' for one dict per run, 'mean' to average the runs of each (recipe, dataset).
    :param include_intermediates: add the per-epoch results (epochs 1..50) as ``intermediates``.
    :param status: 'OK' (default: the runs NNI keeps), None (every run, each dict with its ``status``) or one status.
    :param perplexity: add ``train/val/test_perplexity`` (exp of the losses) to every dict and intermediate.
    :param source: 'original' (default), None, a source id or an input file name.
    :param db_dir: read this directory instead of ``NASBENCHMARK_DIR``.
    """
    mean = check_reduction(reduction)
    dataset = _check_dataset(dataset)
    include_intermediates = check_bool("include_intermediates", include_intermediates)
    perplexity = check_bool("perplexity", perplexity)
    status = _check_status(status)
    source = check_source(source)
    key = _unchecked_key(arch) if arch is not None else None
    checked = key is None
    if arch is not None and key is None:
        key = arch_key(arch)
    handle = _db.open_benchmark(BENCHMARK, db_dir)
    nni = handle.location.layout == "nni"
    if nni and (source not in ("original", None) or status not in (space.STATUS_OK, None)):
        if not checked:
            arch_key(arch)
        return iter(())  # NNI's file holds the released 'OK' runs only
    records = _run(handle, nni, key, dataset, mean, include_intermediates, status, perplexity, source)
    if checked:
        return records
    first = next(records, None)
    if first is None:
        arch_key(arch)  # nothing matched: a malformed arch raises ValueError here, at the call, as always
        return iter(())
    return itertools.chain((first,), records)


def _run(handle, nni, key, dataset, mean, include_intermediates, status, perplexity, source):
    database = handle.database
    params = []
    if key is not None:
        params.append(key)
    if dataset is not None:
        params.append(dataset)
    if not nni and status is not None:
        params.append(status)
    # The statements depend on the query's shape only: built once per opened database and shape (for the sources
    # whose filter has no parameters), then run on the cached connection.
    shape = None
    if source in ("original", None):
        shape = ("nlp", nni, key is not None, dataset is not None, status is not None, mean, include_intermediates,
                 source)
        statements = handle.schema_cache.get(shape)
    if shape is None or statements is None:
        statements = _statements(database, nni, key, dataset, mean, include_intermediates, status, source, params)
        if shape is not None:
            handle.schema_cache[shape] = statements
    sql, inter_sql = statements
    filtered = key is not None or dataset is not None
    cursor = execute(database, sql, params)
    if inter_sql is None and status == space.STATUS_OK and not perplexity:
        # The common case: one dict per run, straight from the tuples.
        arch_json = _arch_json
        return iter([{"id": trial_id, "config": {"id": config_id, "arch": dict(arch_json(arch)), "dataset": name},
                      "train_loss": train_loss, "val_loss": val_loss, "test_loss": test_loss,
                      "training_time": training_time}
                     for trial_id, config_id, arch, name, train_loss, val_loss, test_loss, training_time, _
                     in cursor.fetchall()])
    inter_rows = iter(execute(database, inter_sql, params)) if inter_sql is not None else None
    return _rows(cursor, inter_rows, mean, nni, filtered, status != space.STATUS_OK, perplexity)


def _statements(database, nni, key, dataset, mean, include_intermediates, status, source, params) -> tuple:
    """``(runs statement, intermediates statement or None)``; appends the source filter's parameters."""
    clauses = []
    if key is not None:
        clauses.append("c.arch = json(?)" if nni else "c.arch = ?")
    if dataset is not None:
        clauses.append("c.dataset = ?")
    filtered = bool(clauses)
    if nni:
        trials, epochs, epoch_id = "nlptrialstats", "nlpintermediatestats", "i.id"
        status_column = f"'{space.STATUS_OK}'"
    else:
        trials, epochs, epoch_id = "nlp_trial", "nlp_epoch", f"{EPOCH_ID_BASE} * i.trial_id + i.current_epoch"
        status_column = "t.status"
        if status is not None:
            clauses.append("t.status = ?")
    where = " AND ".join(clauses) if clauses else "1 = 1"
    if not nni:
        where += original_filter(database) if source == "original" else source_filter(source, params)
    joins = f" FROM {trials} t JOIN nlptrialconfig c ON c.id = t.config_id WHERE {where}"
    if mean:
        averages = ", ".join(f"AVG(t.{name})" for name in STATS)
        if nni:  # one config per log in NNI's file: a recipe's runs are grouped by its arch
            sql = (f"SELECT NULL, MIN(c.id), c.arch, c.dataset, {averages}, NULL{joins} GROUP BY c.arch, c.dataset "
                   "ORDER BY MIN(c.id)")
        else:
            sql = (f"SELECT NULL, c.id, c.arch, c.dataset, {averages}, NULL{joins} GROUP BY c.id, c.arch, c.dataset "
                   "ORDER BY c.id")
    else:
        values = ", ".join(f"t.{name}" for name in STATS)
        order = "c.id, t.id" if filtered else "t.id"
        sql = f"SELECT t.id, c.id, c.arch, c.dataset, {values}, {status_column}{joins} ORDER BY {order}"
    inter_sql = None
    if include_intermediates:
        inter_join = (f" FROM {epochs} i JOIN {trials} t ON t.id = i.trial_id JOIN nlptrialconfig c "
                      f"ON c.id = t.config_id WHERE {where}")
        values = ", ".join(f"i.{name}" for name in STATS)
        if mean:
            averages = ", ".join(f"AVG(i.{name})" for name in STATS)
            group = "c.arch, c.dataset" if nni else "c.id"
            inter_sql = (f"SELECT {group}, NULL, NULL, i.current_epoch, {averages}{inter_join} GROUP BY {group}, "
                         f"i.current_epoch ORDER BY {group}, i.current_epoch")
        else:
            order = "c.id, i.trial_id, i.current_epoch" if filtered else "i.trial_id, i.current_epoch"
            inter_sql = (f"SELECT c.id, i.trial_id, {epoch_id}, i.current_epoch, {values}{inter_join} "
                         f"ORDER BY {order}")
    return sql, inter_sql


def _with_perplexity(record: dict) -> dict:
    for name in ("train", "val", "test"):
        record[f"{name}_perplexity"] = space.perplexity(record[f"{name}_loss"])
    return record


def _entry(row, perplexity: bool) -> dict:
    """One intermediate from a row ending with (id, current_epoch, 4 stats)."""
    entry = {"id": row[-6], "current_epoch": row[-5]}
    entry.update(zip(STATS, row[-4:]))
    return _with_perplexity(entry) if perplexity else entry


def _rows(cursor, inter_rows, mean, nni, filtered, with_status, perplexity):
    grouped = None
    if inter_rows is not None and mean:
        # One averaged row per config: their per-epoch averages are few, keyed by the group.
        grouped = {}
        width = 2 if nni else 1
        for row in inter_rows:
            grouped.setdefault(tuple(row[:width]), []).append(_entry(row, perplexity))
    pending = next(inter_rows, None) if inter_rows is not None and not mean else None
    for trial_id, config_id, arch, dataset, *rest in cursor:
        record = {"id": trial_id, "config": {"id": config_id, "arch": dict(_arch_json(arch)), "dataset": dataset}}
        record.update(zip(STATS, rest))
        if with_status:
            record["status"] = None if mean else rest[len(STATS)]
        if perplexity:
            _with_perplexity(record)
        if grouped is not None:
            record["intermediates"] = grouped.get((arch, dataset) if nni else (config_id,), [])
        elif inter_rows is not None:
            # Both statements come in the same order of (config, run) keys: one forward merge, no query per run.
            owner = (config_id, trial_id) if filtered else (trial_id,)
            key_of = (lambda row: (row[0], row[1])) if filtered else (lambda row: (row[1],))
            intermediates = []
            while pending is not None and key_of(pending) < owner:
                pending = next(inter_rows, None)
            while pending is not None and key_of(pending) == owner:
                intermediates.append(_entry(pending, perplexity))
                pending = next(inter_rows, None)
            record["intermediates"] = intermediates
        yield record
