"""``query_nb101_trial_stats``: NNI's NB-101 query, on nasbench_db's database or NNI's prebuilt file.

Each yielded dict has NNI's shape and these keys (units):

=================================== =================================================================================
key                                 meaning
=================================== =================================================================================
``id``                              trial id (None with ``reduction='mean'``)
``config['id']``                    config id: one per (cell, epoch budget)
``config['arch']``                  NNI arch dict ``{'op1'..: op, 'input1'..: [predecessors]}`` of the stored cell
``config['num_vertices']``          vertices of the stored (pruned, canonical) cell, 2..7
``config['hash']``                  NB-101 graph hash (32 hex)
``config['num_epochs']``            epoch budget: 4, 12, 36 or 108
``train_acc``                       final train accuracy, percent (on 9,984 training images)
``valid_acc``                       final validation accuracy, percent
``test_acc``                        final test accuracy, percent
``parameters``                      trainable parameters, millions
``training_time``                   seconds of training to the final epoch (real seconds; NNI reports x60)
``intermediates``                   with ``include_intermediates=True``: ``[{'id', 'current_epoch', 'train_acc',
                                    'valid_acc', 'test_acc', 'training_time'}]`` at epochs E//2 and E
=================================== =================================================================================

With ``reduction='mean'`` the stats (and, unlike NNI, the intermediates per epoch) are averaged over the runs of each
config. Intermediates never cost a query per trial: they come from the same statement (our layout) or from one
more statement (NNI's layout, and means of intermediates on ours).

Finding the cell: ``arch`` is pruned and looked up by its labelled form (the converter's ``nb101_form`` table: every
upper-triangular form of every stored cell, :mod:`nasbench_db.spaces.nb101`), in the same statement as its runs; the
graph hash is computed only for a form the table does not hold (a database without the table, NNI's file, a cell
the database lacks), and gives the same answer. ``arch`` may also be a cell's 32-hex hash (an extension: the stored
cell, read by its hash without rebuilding or re-hashing anything).

Sources: by default only the released runs are read, exactly NNI's data. ``source=None`` reads every source,
``source='ecnas'`` / ``'trained'`` / a device kind (``'cpu'``, ``'cuda'``) / a device or file name / a source id
one of them, at its own budgets (``num_epochs=2``) and datasets (``dataset='fashion-mnist'``). Rows read with a
``source`` other than ``'original'`` carry two more keys: ``config['dataset']`` and ``source`` (``{'id', 'kind',
'device'}`` of the run; None for means). A halfway evaluation is reported at the epoch its source recorded it
(EC-NAS-Bench: epoch 1 or 2; the released runs: E/2).
"""

from __future__ import annotations

import json
from functools import lru_cache

from .. import db as _db
from ..errors import InvalidArgument
from ..models import (NB101_CELL_CONFIGS, NB101_CONFIG_ID_FACTOR, NB101_CONFIG_RUNS, NB101_POINT_FUNCTION,
                      NB101_RUN_ROW, NB101_TRIAL_ID_FACTOR, nb101_form_cell_pg)
from ..spaces import nb101 as space
from ._common import (check_bool, check_epochs, check_reduction, check_source, check_source_exists, execute,
                      placeholders, source_filter)

BENCHMARK = "nb101"
#: NNI's prebuilt NB-101 file multiplies the final training_time by 60 (its db_gen bug); we undo it on read.
NNI_TIME_FACTOR = _db.NNI_NB101_TIME_FACTOR


@lru_cache(maxsize=65536)
def _arch_from_strings(adjacency: str, operations: str) -> dict:
    return space.matrix_to_arch(space.adjacency_to_matrix(adjacency), operations.split(","))


@lru_cache(maxsize=65536)
def _arch_template(adjacency: str, operations: str) -> tuple:
    """``(op entries, input entries)`` of a stored cell's NNI arch dict, to copy from (see :func:`_stored_arch`)."""
    arch = _arch_from_strings(adjacency, operations)
    ops = {k: v for k, v in arch.items() if k.startswith("op")}
    return ops, tuple((k, tuple(v)) for k, v in arch.items() if k.startswith("input"))


def _stored_arch(adjacency: str, operations: str) -> dict:
    """A fresh NNI arch dict of a stored cell (callers may change it): op keys, then input lists."""
    ops, inputs = _arch_template(adjacency, operations)
    arch = ops.copy()
    for key, preds in inputs:
        arch[key] = list(preds)
    return arch


def _fresh_arch(cached: dict) -> dict:
    return {k: list(v) if isinstance(v, list) else v for k, v in cached.items()}


@lru_cache(maxsize=65536)
def _arch_from_json(text: str) -> dict:
    return json.loads(text)


class _Cell:
    """A query's cell, found without hashing where the labelled-forms table allows. ``form`` = (matrix key, ops code)
    of the pruned cell; ``digest`` = its hash (given, or computed only when needed); ``exact`` = (adjacency,
    operations) the stored cell must equal (``isomorphism=False``); ``arch`` = the query's arch (None for a hash),
    read again, checked and pruned, only when the hash or the pruned cell (NNI's layout) is asked for."""

    __slots__ = ("form", "digest", "exact", "arch", "_parsed", "_pruned")

    def __init__(self, form, digest, exact, arch, parsed=None, pruned=None):
        self.form = form
        self.digest = digest
        self.exact = exact
        self.arch = arch
        self._parsed = parsed  # the checked, unpruned (matrix, ops)
        self._pruned = pruned  # (matrix, ops list) after pruning

    def parsed(self) -> tuple:
        if self._parsed is None:
            self._parsed = space.parse_arch(self.arch)
        return self._parsed

    def hash(self) -> str:
        if self.digest is None:
            self.digest = space.canonical(*self.parsed(), checked=True)[2]
        return self.digest

    def pruned(self) -> tuple:
        if self._pruned is None:
            matrix, ops = space.pruned_form(*self.parsed(), checked=True)[:2]
            self._pruned = (matrix, list(ops))
        return self._pruned


def _is_hash(arch) -> bool:
    return type(arch) is str and len(arch) == 32 and not arch.strip("0123456789abcdef")


def _resolve_cell(arch, isomorphism):
    """The :class:`_Cell` of a query arch (None for an exact form no stored cell can equal); ValueError for a bad
    cell. Nothing is hashed here; a well-formed NNI dict is not even turned into a matrix (:func:`space.nni_form`)."""
    if _is_hash(arch):
        return _Cell(None, arch, None, None)
    if isomorphism:
        form = space.nni_form(arch)
        if form is not None:
            return _Cell(form, None, None, arch)
    matrix, ops = space.parse_arch(arch)
    pmatrix, pops, key, code = space.pruned_form(matrix, ops, checked=True)
    exact = None
    if not isomorphism:
        found = space.exact_form(arch)
        if found is None:
            return None
        exact = (space.matrix_to_adjacency(found[0]), ",".join(found[1]))
        if len(found[0]) != len(pmatrix):
            return None  # not pruned as written: no stored (pruned) cell equals it
        pmatrix, pops = found[0], tuple(found[1])
    return _Cell((key, code), None, exact, arch, (matrix, ops), (pmatrix, list(pops)))


def resolve_arch(arch):
    """``(hash, adjacency, operations)`` of a query arch after pruning; raises ValueError for a bad cell."""
    matrix, ops = space.parse_arch(arch)
    pmatrix, pops, digest = space.canonical(matrix, ops, checked=True)
    return digest, space.matrix_to_adjacency(pmatrix), ",".join(pops), pmatrix, pops


#: The config's dataset in a WHERE clause, wrapped so that SQLite never builds an automatic index on it.
DATASET_EXPR = "c.dataset || ''"
#: Epoch budgets and dataset of the released runs.
RELEASED_EPOCHS = (4, 12, 36, 108)
RELEASED_DATASET = "cifar10"


def check_dataset(dataset, source):
    """None (every dataset) or a lower-cased name; the released runs are CIFAR-10 only."""
    if dataset is None:
        return None
    if not isinstance(dataset, str) or not dataset.strip():
        raise InvalidArgument(f"dataset must be a dataset name or None: got {dataset!r}")
    dataset = dataset.strip().lower()
    if source == "original" and dataset != RELEASED_DATASET:
        raise InvalidArgument(f"the released NB-101 runs are {RELEASED_DATASET} only: got dataset {dataset!r}. Runs "
                              "on other datasets come from other sources: pass source=None (every source), "
                              "'trained' or a device / source name")
    return dataset


def query_nb101_trial_stats(arch, num_epochs, isomorphism=True, reduction=None, include_intermediates=False,
                            *, source="original", dataset=None, db_dir=None):
    """Query NB-101 runs, as NNI's ``query_nb101_trial_stats`` (a generator of dicts; see the module docstring).

    :param arch: NNI arch dict, ``{'matrix': [[...]], 'ops': [...]}``, or None for every cell. The cell is pruned
        like the original ``ModelSpec`` before hashing; an invalid cell raises ValueError naming the limit.
    :param num_epochs: 4, 12, 36, 108 (or any budget of another source's runs), or None for all.
    :param isomorphism: match any cell isomorphic to ``arch`` (by graph hash); False is NNI's exact match: the
        stored cell must equal ``arch`` as written (not pruned; NNI dict input lists in the stored, ascending order).
        Flags accept what NNI accepts (bools, ints, None); strings are refused.
    :param reduction: None/'none' for one dict per run, 'mean' to average the runs of each config.
    :param include_intermediates: add the halfway and final evaluations as ``intermediates``.
    :param source: 'original' (the released runs, default), None (every source), a source id, or a name: a kind
        ('trained', 'ecnas'), a device kind ('cpu', 'cuda'), a device name (case-insensitive) or a file name.
    :param dataset: None (every dataset of the selected sources) or a dataset name ('cifar10', 'fashion-mnist',
        ...): runs on different datasets are never runs of one config.
    :param db_dir: read this directory instead of ``NASBENCHMARK_DIR``.
    """
    mean = check_reduction(reduction)
    num_epochs = check_epochs("num_epochs", num_epochs)
    isomorphism = check_bool("isomorphism", isomorphism)
    include_intermediates = check_bool("include_intermediates", include_intermediates)
    source = check_source(source)
    dataset = check_dataset(dataset, source)
    cell = _resolve_cell(arch, isomorphism) if arch is not None else None
    if arch is not None and cell is None:
        return iter(())
    handle = _db.open_benchmark(BENCHMARK, db_dir)
    if handle.location.layout == "nni":
        if dataset not in (None, RELEASED_DATASET):
            return iter(())
        key = None
        if cell is not None:
            if cell.arch is None:  # a hash: the stored cell, whatever its form
                key, isomorphism = (cell.digest, None, None, None, None), True
            else:
                matrix, ops = cell.pruned()
                key = (cell.hash(), None, None, matrix, ops)
        return _query_nni_layout(handle.database, key, num_epochs, isomorphism, mean, include_intermediates, source)
    check_source_exists(handle.database, BENCHMARK, source)
    if cell is None:
        return _query_ours(handle.database, None, num_epochs, isomorphism, mean, include_intermediates, source,
                           dataset)
    return iter(_query_cell(handle, cell, num_epochs, mean, include_intermediates, source, dataset))


# ----------------------------------------------------------------------------------------------------------------------
# nasbench_db layout: one statement, intermediates read from the same row


def _where_ours(key, num_epochs, isomorphism, source, dataset=None):
    clauses, params = [_JOIN_OURS], []
    if key is not None:
        clauses.append("a.hash = ?")
        params.append(key[0])
        if not isomorphism:
            clauses.append("a.adjacency = ? AND a.operations = ?")
            params.extend([key[1], key[2]])
    if num_epochs is not None:
        # Unary '+' keeps SQLite from building an automatic index on num_epochs, which would turn the id-range join
        # into a scan of every matching config per cell (quadratic over the full file).
        clauses.append("+c.num_epochs = ?")
        params.append(num_epochs)
    if dataset is not None:
        # As '+' above, for a text column ('+' on text is an error on PostgreSQL).
        clauses.append(f"{DATASET_EXPR} = ?")
        params.append(dataset)
    where = " AND ".join(clauses)
    where += source_filter(source, params)
    return where, params


# A cell's configs and a config's runs are key ranges of their parents' ids (see models.Nb101Config/Nb101Trial).
# CROSS JOIN fixes SQLite's join order to cell -> config -> run (its planner otherwise may scan every run to avoid a
# sort); the rows then come out in id order without an ORDER BY. PostgreSQL plans it as a plain join.
_FROM_OURS = " FROM nb101_arch a CROSS JOIN nb101_config c CROSS JOIN nb101_trial t "
_JOIN_OURS = f"{NB101_CELL_CONFIGS} AND {NB101_CONFIG_RUNS}"
# Runs of other sources have their halfway epoch here (released runs: none, epoch E/2).
_HALFWAY_JOIN = "LEFT JOIN nb101_trial_halfway h ON h.trial_id = t.id "
# LEFT JOIN (every run has a source): SQLite never moves its right side before its left, so the plan keeps the
# cell -> config -> run order above, and PostgreSQL takes it too (it rejects CROSS JOIN ... ON).
_SOURCE_JOIN = "LEFT JOIN nasbench_source s ON s.id = t.source_id "


# -- point queries: the cell by its labelled form (SQLite: in the same statement), else by its hash ---------------------
#
# On PostgreSQL the cell's id is read first and its config and run id ranges are passed as constants: the planner then
# estimates a handful of rows (an id range joined to another id range is estimated at ~10^8 rows, which makes it JIT
# every point query) and takes three primary-key lookups.

#: A 256-byte blob whose byte b is at offset b: ``instr(_BYTES, one byte) - 1`` is that byte's value (SQLite has no
#: blob-to-integer function).
_BYTES = "X'" + bytes(range(256)).hex() + "'"


def form_cell_sql(database) -> str:
    """SQL expression of the cell id stored at byte offset ``?`` (three parameters: the offset, +1, +2) of
    ``f.cells`` in the labelled-forms table (see :func:`form_offsets`)."""
    if _db.is_sqlite(database):
        byte = f"(instr({_BYTES}, substr(f.cells, ?, 1)) - 1)"
        return f"({byte} * 65536 + {byte} * 256 + {byte})"
    return nb101_form_cell_pg("?", "?", "?")


def form_offsets(database, code: int) -> list:
    """The three byte offsets :func:`form_cell_sql` takes for ops code ``code`` (1-based on SQLite)."""
    start = code * space.FORM_ID_BYTES + (1 if _db.is_sqlite(database) else 0)
    return [start, start + 1, start + 2]


def has_point_function(handle) -> bool:
    """True when the opened database is a server holding :data:`~nasbench_db.models.NB101_POINT_FUNCTION` (created by
    a publish) that this role may run; checked once per opened database."""
    found = handle.schema_cache.get(NB101_POINT_FUNCTION)
    if found is None:
        found = False
        if not _db.is_sqlite(handle.database):
            # A role the function's EXECUTE was revoked from (docs/postgres.md) reads through the statements.
            found = execute(handle.database, f"SELECT COALESCE(has_function_privilege(to_regproc("
                                             f"'{NB101_POINT_FUNCTION}')::oid, 'EXECUTE'), false)", []).fetchone()[0]
        handle.schema_cache[NB101_POINT_FUNCTION] = found
    return found


def has_forms(handle) -> bool:
    """True when the opened database has the labelled-forms table (checked once per opened database)."""
    found = handle.schema_cache.get("nb101_form")
    if found is None:
        found = handle.schema_cache["nb101_form"] = handle.database.table_exists("nb101_form")
    return found


def form_cell_id(database, form):
    """The cell id of labelled form ``form`` = (matrix key, ops code), or None when the table does not hold it."""
    key, code = form
    rows = execute(database, "SELECT " + form_cell_sql(database) + " FROM nb101_form f WHERE f.matrix_key = ?",
                   form_offsets(database, code) + [key]).fetchall()
    return (rows[0][0] or None) if rows else None


def hash_cell_id(database, digest):
    """The id of the stored cell with hash ``digest``, or None."""
    rows = execute(database, "SELECT id FROM nb101_arch WHERE hash = ?", [digest]).fetchall()
    return rows[0][0] if rows else None


def cell_where(database, how, value, params: list) -> tuple[str, str]:
    """``(FROM ..., WHERE condition)`` reading one cell's configs and runs (aliases a, c, t), the cell named by
    ``how``: 'form' (``value`` = (matrix key, ops code); SQLite only), 'hash' or 'id'. Appends the parameters
    (:func:`cell_params`)."""
    cell_params(database, how, value, params)
    if how == "form":
        return (" FROM nb101_form f CROSS JOIN nb101_arch a CROSS JOIN nb101_config c CROSS JOIN nb101_trial t ",
                "f.matrix_key = ? AND a.id = " + form_cell_sql(database) + " AND " + _JOIN_OURS)
    if how == "hash":
        return _FROM_OURS, "a.hash = ? AND " + _JOIN_OURS
    return _FROM_OURS, ("a.id = ? AND c.id BETWEEN ? AND ? AND t.id BETWEEN ? AND ? AND t.id BETWEEN c.id * 1024 "
                        "AND c.id * 1024 + 1023")


def cell_params(database, how, value, params: list) -> None:
    """Append the parameters of :func:`cell_where`'s condition."""
    if how == "form":
        key, code = value
        params.append(key)
        params.extend(form_offsets(database, code))
    elif how == "hash":
        params.append(value)
    else:
        low = value * NB101_CONFIG_ID_FACTOR
        params.extend((value, low, low + NB101_CONFIG_ID_FACTOR - 1, low * NB101_TRIAL_ID_FACTOR,
                       (low + NB101_CONFIG_ID_FACTOR) * NB101_TRIAL_ID_FACTOR - 1))


def _query_cell(handle, cell, num_epochs, mean, include_intermediates, source, dataset):
    """The rows of one cell (a list): by its labelled form, else by its hash; nothing is hashed when the form is in
    the table."""
    database = handle.database
    forms = has_forms(handle) and cell.form is not None
    if _db.is_sqlite(database):
        if forms:
            rows = _cell_rows(handle, "form", cell.form, cell, num_epochs, mean, include_intermediates, source,
                              dataset)
            # No rows: the table lacks the form, or the cell has no run matching the filters.
            if rows or form_cell_id(database, cell.form) is not None:
                return rows
        return _cell_rows(handle, "hash", cell.hash(), cell, num_epochs, mean, include_intermediates, source,
                          dataset)
    if (cell.exact is None and not mean and not include_intermediates and source == "original" and dataset is None
            and has_point_function(handle)):
        return _point_function_rows(database, cell, num_epochs, forms)
    cell_id = form_cell_id(database, cell.form) if forms else None
    if cell_id is None:
        cell_id = hash_cell_id(database, cell.hash())
        if cell_id is None:
            return []
    return _cell_rows(handle, "id", cell_id, cell, num_epochs, mean, include_intermediates, source, dataset)


def point_function_runs(database, how, value, num_epochs):
    """The released runs (:data:`~nasbench_db.models.NB101_RUN_ROW` tuples, by run id) at ``num_epochs`` (None: every
    budget) of the cell named by ``how``: 'form' (``value`` = (matrix key, ops code)) or 'hash', through the server's
    point function (:func:`has_point_function`); None when no stored cell has that form or hash."""
    if how == "form":
        key, code = value
        params = [key, form_offsets(database, code)[0], None, num_epochs]
    else:
        params = [None, None, value, num_epochs]
    rows = execute(database, f"SELECT * FROM {NB101_POINT_FUNCTION}(?, ?, ?, ?)", params).fetchall()
    return None if rows and rows[0][0] is None else rows


def _point_function_rows(database, cell, num_epochs, forms):
    """A cell's released runs at ``num_epochs`` through the server's point function (one round trip, a plan kept
    by the server): by the cell's labelled form, else (a form the table lacks, or a hash) by its hash."""
    rows = point_function_runs(database, "form", cell.form, num_epochs) if forms else None
    if rows is None:
        rows = point_function_runs(database, "hash", cell.hash(), num_epochs)
    return list(_run_dicts(rows or ()))


def _run_dicts(rows):
    """NNI's dicts of released runs (:data:`~nasbench_db.models.NB101_RUN_ROW` tuples), straight from the tuples
    (an iterator: a whole-benchmark query streams)."""
    stored_arch = _stored_arch
    return ({"id": trial_id,
             "config": {"id": config_id, "arch": stored_arch(adjacency, operations), "num_vertices": vertices,
                        "hash": digest, "num_epochs": epochs},
             "train_acc": train, "valid_acc": valid, "test_acc": test, "parameters": parameters / 1e6,
             "training_time": ttime}
            for (trial_id, config_id, adjacency, operations, vertices, digest, epochs, train, valid, test, parameters,
                 ttime, _, _, _, _) in rows)


def _cell_rows(handle, how, value, cell, num_epochs, mean, include_intermediates, source, dataset):
    database = handle.database
    params: list = []
    # The statement's text depends on the query's shape only: built once per opened database and shape (the
    # sqlite3 statement cache then reuses its prepared form), for the sources whose filter has no parameters.
    shape = (how, cell.exact is not None, num_epochs is not None, dataset is not None, source, mean,
             include_intermediates) if source is None or source == "original" else None
    statements = handle.schema_cache.get(shape) if shape is not None else None
    if statements is None:
        from_, where = cell_where(database, how, value, params)
        if cell.exact is not None:
            where += " AND a.adjacency = ? AND a.operations = ?"
            params.extend(cell.exact)
        where, params = _filters(where, params, num_epochs, source, dataset, handle)
        statements = _statements(from_, where, mean, include_intermediates, source != "original")
        if shape is not None:
            handle.schema_cache[shape] = statements
    else:
        cell_params(database, how, value, params)
        if cell.exact is not None:
            params.extend(cell.exact)
        if num_epochs is not None:
            params.append(num_epochs)
        if dataset is not None:
            params.append(dataset)
    if not mean and not include_intermediates and source == "original":
        return list(_run_dicts(execute(database, statements[0], params)))  # the common case
    return list(_run_ours(database, None, None, params, mean, include_intermediates, source, statements))


def _filters(where, params, num_epochs, source, dataset, handle=None):
    if num_epochs is not None:
        where += " AND +c.num_epochs = ?"  # see _where_ours
        params.append(num_epochs)
    if dataset is not None:
        where += f" AND {DATASET_EXPR} = ?"
        params.append(dataset)
    return where + source_filter(source, params, handle=handle), params


def _query_ours(database, key, num_epochs, isomorphism, mean, include_intermediates, source, dataset=None):
    where, params = _where_ours(key, num_epochs, isomorphism, source, dataset)
    return _run_ours(database, _FROM_OURS, where, params, mean, include_intermediates, source)


def _statements(from_, where, mean, include_intermediates, tagged) -> tuple:
    """``(statement, intermediates statement or None)`` reading the runs (or their means) selected by ``where``."""
    if mean:
        sql = ("SELECT c.id, a.adjacency, a.operations, a.num_vertices, a.hash, c.num_epochs, AVG(t.train_acc), "
               "AVG(t.valid_acc), AVG(t.test_acc), a.parameters, AVG(t.training_time), c.dataset" + from_ +
               "WHERE " + where +
               " GROUP BY c.id, a.adjacency, a.operations, a.num_vertices, a.hash, c.num_epochs, a.parameters, "
               "c.dataset ORDER BY c.id")
        inter_sql = None
        if include_intermediates:
            # Runs of different sources may be evaluated halfway at different epochs: one mean per epoch.
            epoch = "COALESCE(h.halfway_epoch, c.num_epochs / 2.0)"
            inter_sql = (f"SELECT c.id, {epoch}, AVG(t.halfway_train_acc), AVG(t.halfway_valid_acc), "
                         f"AVG(t.halfway_test_acc), AVG(t.halfway_training_time)" + from_ + _HALFWAY_JOIN +
                         "WHERE " + where + f" GROUP BY c.id, {epoch} ORDER BY c.id, {epoch}")
        return sql, inter_sql
    sql = "SELECT " + ", ".join(NB101_RUN_ROW)
    joins = from_
    if include_intermediates:
        sql += ", h.halfway_epoch"
        joins += _HALFWAY_JOIN
    if tagged:
        sql += ", c.dataset, s.id, s.kind, s.device"
        joins += _SOURCE_JOIN
    return sql + joins + "WHERE " + where, None


def _run_ours(database, from_, where, params, mean, include_intermediates, source, statements=None):
    tagged = source != "original"  # rows of other sources say which source and dataset they are
    sql, inter_sql = statements or _statements(from_, where, mean, include_intermediates, tagged)
    cursor = execute(database, sql, params)
    if mean:
        halfway = iter(execute(database, inter_sql, params)) if inter_sql is not None else None
        return _rows_mean(cursor, halfway, tagged)
    return _rows_ours(cursor, include_intermediates, tagged)


def _epoch(value, num_epochs):
    """The halfway evaluation's epoch: the stored one (an int when whole), else the released protocol's E/2."""
    if value is None:
        return num_epochs // 2 if num_epochs % 2 == 0 else num_epochs / 2
    return int(value) if float(value).is_integer() else value


def _config(config_id, adjacency, operations, num_vertices, digest, epochs):
    return {"id": config_id, "arch": _stored_arch(adjacency, operations), "num_vertices": num_vertices,
            "hash": digest, "num_epochs": epochs}


def _rows_ours(cursor, include_intermediates, tagged):
    if not include_intermediates and not tagged:
        yield from _run_dicts(cursor)  # the common case
        return
    for row in cursor:
        (trial_id, config_id, adjacency, operations, num_vertices, digest, epochs, train, valid, test, params,
         ttime, h_train, h_valid, h_test, h_time) = row[:16]
        record = {
            "id": trial_id,
            "config": _config(config_id, adjacency, operations, num_vertices, digest, epochs),
            "train_acc": train,
            "valid_acc": valid,
            "test_acc": test,
            "parameters": params / 1e6,
            "training_time": ttime,
        }
        extra = row[16:]
        if include_intermediates:
            record["intermediates"] = [
                {"id": 2 * trial_id, "current_epoch": _epoch(extra[0], epochs), "train_acc": h_train,
                 "valid_acc": h_valid, "test_acc": h_test, "training_time": h_time},
                {"id": 2 * trial_id + 1, "current_epoch": epochs, "train_acc": train,
                 "valid_acc": valid, "test_acc": test, "training_time": ttime},
            ]
            extra = extra[1:]
        if tagged:
            record["config"]["dataset"] = extra[0]
            record["source"] = {"id": extra[1], "kind": extra[2], "device": extra[3]}
        yield record


def _rows_mean(cursor, halfway, tagged):
    pending = next(halfway, None) if halfway is not None else None
    for (config_id, adjacency, operations, num_vertices, digest, epochs, train, valid, test, params, ttime,
         dataset) in cursor:
        record = {
            "id": None,
            "config": _config(config_id, adjacency, operations, num_vertices, digest, epochs),
            "train_acc": train, "valid_acc": valid, "test_acc": test, "parameters": params / 1e6,
            "training_time": ttime,
        }
        if halfway is not None:
            intermediates = []
            # Both statements are ordered by config id: one forward merge.
            while pending is not None and pending[0] < config_id:
                pending = next(halfway, None)
            while pending is not None and pending[0] == config_id:
                _, epoch, h_train, h_valid, h_test, h_time = pending
                intermediates.append({"id": None, "current_epoch": _epoch(epoch, epochs), "train_acc": h_train,
                                      "valid_acc": h_valid, "test_acc": h_test, "training_time": h_time})
                pending = next(halfway, None)
            intermediates.append({"id": None, "current_epoch": epochs, "train_acc": train, "valid_acc": valid,
                                  "test_acc": test, "training_time": ttime})
            record["intermediates"] = intermediates
        if tagged:
            record["config"]["dataset"] = dataset
            record["source"] = None
        yield record


# ----------------------------------------------------------------------------------------------------------------------
# NNI's prebuilt layout: trials in one statement, intermediates in one more


def _nni_arch_json(matrix, ops) -> str:
    return json.dumps(space.matrix_to_arch(matrix, ops), sort_keys=True, separators=(",", ":"))


def _query_nni_layout(database, key, num_epochs, isomorphism, mean, include_intermediates, source):
    if source not in ("original", None):
        return iter(())
    clauses, params = [], []
    if key is not None:
        clauses.append("c.hash = ?")
        params.append(key[0])
        if not isomorphism:
            clauses.append("c.arch = ?")
            params.append(_nni_arch_json(key[3], key[4]))
    if num_epochs is not None:
        # Unary '+' keeps SQLite from building an automatic index on num_epochs, which would turn the id-range join
        # into a scan of every matching config per cell (quadratic over the full file).
        clauses.append("+c.num_epochs = ?")
        params.append(num_epochs)
    where = " AND ".join(clauses) if clauses else "1 = 1"
    join = " FROM nb101trialstats t JOIN nb101trialconfig c ON c.id = t.config_id "
    if mean:
        # Each run's x60 time is divided before averaging: the mean of the runs' real seconds, as on our layout.
        sql = ("SELECT NULL, c.id, c.arch, c.num_vertices, c.hash, c.num_epochs, AVG(t.train_acc), "
               "AVG(t.valid_acc), AVG(t.test_acc), AVG(t.parameters), "
               f"AVG(t.training_time / {NNI_TIME_FACTOR!r})" + join + "WHERE " +
               where + " GROUP BY c.id, c.arch, c.num_vertices, c.hash, c.num_epochs ORDER BY c.id")
        inter_sql = ("SELECT c.id, i.current_epoch, AVG(i.train_acc), AVG(i.valid_acc), AVG(i.test_acc), "
                     "AVG(i.training_time) FROM nb101intermediatestats i JOIN nb101trialstats t ON t.id = i.trial_id "
                     "JOIN nb101trialconfig c ON c.id = t.config_id WHERE " + where +
                     " GROUP BY c.id, i.current_epoch ORDER BY c.id, i.current_epoch")
    else:
        sql = ("SELECT t.id, c.id, c.arch, c.num_vertices, c.hash, c.num_epochs, t.train_acc, t.valid_acc, "
               "t.test_acc, t.parameters, t.training_time" + join + "WHERE " + where + " ORDER BY t.id")
        inter_sql = ("SELECT t.id, i.id, i.current_epoch, i.train_acc, i.valid_acc, i.test_acc, i.training_time "
                     "FROM nb101intermediatestats i JOIN nb101trialstats t ON t.id = i.trial_id "
                     "JOIN nb101trialconfig c ON c.id = t.config_id WHERE " + where + " ORDER BY t.id, i.id")
    cursor = database.execute_sql(placeholders(database, sql), params)
    inter_cursor = None
    if include_intermediates:
        inter_cursor = iter(database.execute_sql(placeholders(database, inter_sql), params))
    return _rows_nni(cursor, inter_cursor, mean)


def _rows_nni(cursor, inter_rows, mean):
    pending = next(inter_rows, None) if inter_rows is not None else None
    for trial_id, config_id, arch, num_vertices, digest, epochs, train, valid, test, params, ttime in cursor:
        record = {
            "id": trial_id,
            "config": {"id": config_id, "arch": _fresh_arch(_arch_from_json(arch)), "num_vertices": num_vertices,
                       "hash": digest, "num_epochs": epochs},
            "train_acc": train, "valid_acc": valid, "test_acc": test, "parameters": params,
            "training_time": ttime if ttime is None or mean else ttime / NNI_TIME_FACTOR,
        }
        if inter_rows is not None:
            owner = config_id if mean else trial_id
            intermediates = []
            # Both statements are ordered by the owner id, so one forward merge pairs them (no query per trial).
            while pending is not None and pending[0] is not None and pending[0] < owner:
                pending = next(inter_rows, None)
            while pending is not None and pending[0] == owner:
                if mean:
                    _, current_epoch, i_train, i_valid, i_test, i_time = pending
                    inter_id = None
                else:
                    _, inter_id, current_epoch, i_train, i_valid, i_test, i_time = pending
                intermediates.append({"id": inter_id, "current_epoch": current_epoch, "train_acc": i_train,
                                      "valid_acc": i_valid, "test_acc": i_test, "training_time": i_time})
                pending = next(inter_rows, None)
            record["intermediates"] = intermediates
        yield record
