"""Peewee models: the tables nasbench_db writes, and NNI's model names over them.

Every model binds to a lazy per-benchmark database (:class:`BenchmarkDatabase`): the first use opens the installed
database the way the query functions do (``NASBENCHMARK_DB_URL``, else ``NASBENCHMARK_DIR``), so
``Nb101TrialStats.select().where(Nb101TrialStats.valid_acc > 94)`` works without setup. :func:`bind` points a
benchmark's models at another database.

Units are NNI's unless a field says otherwise: accuracies in percent (0-100), parameters in millions (the compact
tables keep the exact count), FLOPs in millions, times in seconds. NB-101 ``training_time`` is the run's real seconds
(NNI multiplies it by 60 by mistake; we do not).

NB-101 layout
-------------
The file's 5,083,488 runs are stored compactly: one :class:`Nb101Arch` row per cell (423,624), one
:class:`Nb101Config` per (cell, epoch budget), and one :class:`Nb101Trial` row per run carrying both its halfway and
final evaluations. NNI's three tables exist as views with NNI's names and columns (``nb101trialconfig``,
``nb101trialstats``, ``nb101intermediatestats``) and are read through :class:`Nb101TrialConfig`,
:class:`Nb101TrialStats` and :class:`Nb101IntermediateStats`; write through the compact models or the converters.
"""

from __future__ import annotations

import json
import struct as _struct
from collections import OrderedDict as _OrderedDict

import peewee

from . import db as _db
from .spaces import nb101 as _nb101
from .spaces import nb201 as _nb201
from .spaces import nds as _nds
from .spaces import nlp as _nlp


class BenchmarkDatabase(peewee.DatabaseProxy):
    """A database proxy that opens the installed database of one benchmark on first use (and after a swap).

    It also knows the *layout* of what it opened (:attr:`layout`): ``'nasbench_db'`` for our files and servers,
    ``'nni'`` for NNI's own files, so the same models read both (see :class:`_LayoutAwareModel`).
    """

    __slots__ = ("obj", "_callbacks", "_Model", "benchmark", "pinned", "_layout", "_columns")

    def __init__(self, benchmark: str):
        super().__init__()
        self.benchmark = benchmark
        self.pinned = False
        self._layout = None
        self._columns = {}

    def __getattr__(self, attr):
        if not self.pinned:
            self._refresh()
        return getattr(self.obj, attr)

    def _refresh(self):
        handle = _db.open_benchmark(self.benchmark)
        if handle.database is not self.obj:
            self.initialize(handle.database)
            self._layout = handle.location.layout
            self._columns = handle.schema_cache.setdefault("columns", {})
        return handle

    @property
    def layout(self) -> str:
        """'nni' when the database in use is one of NNI's files, else 'nasbench_db' (checks for a swapped file)."""
        if not self.pinned:
            self._refresh()
        return self.current_layout()

    def current_layout(self) -> str:
        """:attr:`layout` of the database already in use, without looking for a swapped file (for row conversion:
        the rows come from the database the query just ran on)."""
        if self._layout is None:
            if self.pinned:
                database = self.obj
                nni = _db.is_sqlite(database) and not _db.has_our_tables(database)
                self._layout = "nni" if nni else "nasbench_db"
            else:
                self._refresh()
        return self._layout

    def columns(self, table: str) -> frozenset:
        """Column names of ``table`` (or view) in the database in use, cached per opened file."""
        found = self._columns.get(table)
        if found is None:
            found = frozenset(c.name for c in self.obj.get_columns(table))
            self._columns[table] = found
        return found


DATABASES = {name: BenchmarkDatabase(name) for name in _db.FILE_NAMES}


def bind(benchmark: str, database: peewee.Database | None) -> None:
    """Point every model of ``benchmark`` at ``database`` (None: back to the lazily opened installed one).

    The layout (ours or NNI's) of a bound database is read from its tables on first use."""
    proxy = DATABASES[_db.check_benchmark(benchmark)]
    proxy.pinned = database is not None
    proxy.initialize(database)
    proxy._layout = None
    proxy._columns = {}


def layout_of(model) -> str:
    """'nni' when ``model`` reads one of NNI's files now, else 'nasbench_db' (also inside a converter's
    ``bind_ctx``, whose database is ours)."""
    database = model._meta.database
    if isinstance(database, BenchmarkDatabase):
        return database.layout
    return "nasbench_db"


def _rows_layout(model) -> str:
    """:func:`layout_of` for converting rows just read (no look for a swapped file: one call per value)."""
    database = model._meta.database
    if isinstance(database, BenchmarkDatabase):
        return database.current_layout()
    return "nasbench_db"


class _LayoutAwareModel(peewee.Model):
    """A model that also reads NNI's own files, whose tables lack our extra columns.

    On NNI's layout ``select()`` (and so ``get``, ``get_by_id``, foreign-key and backref access) selects only the
    fields whose columns the file has, and a model class given to ``select(...)`` expands to those fields; the
    others read as None (``model_to_dict`` shows them as None). On our layout nothing changes.
    """

    @classmethod
    def select(cls, *fields):
        if layout_of(cls) != "nni":
            return super().select(*fields)
        if not fields:
            return peewee.ModelSelect(cls, _present_fields(cls), is_default=True)
        expanded = []
        for item in fields:
            if peewee.is_model(item) and issubclass(item, _LayoutAwareModel):
                expanded.extend(_present_fields(item))
            else:
                expanded.append(item)
        return peewee.ModelSelect(cls, expanded)


def _present_fields(model) -> list:
    database = model._meta.database
    if not isinstance(database, BenchmarkDatabase) or layout_of(model) != "nni":
        return list(model._meta.sorted_fields)
    present = database.columns(model._meta.table_name)
    return [f for f in model._meta.sorted_fields if f.column_name in present]


class _Nb101Model(_LayoutAwareModel):
    class Meta:
        database = DATABASES["nb101"]


class Source(peewee.Model):
    """Provenance: one row per loaded input (an original file, a re-training's file, or one training result).

    Every result row of every benchmark points to one source. The original release is ``kind = 'original'``; the
    query functions, the NNI views / models, ``top``, filters, plots and the simulators read only those rows unless
    a caller names other sources (``source=None`` for all, or a kind, device, device kind, file name or id).

    ============== ==================================================================================================
    field          meaning
    ============== ==================================================================================================
    benchmark      'nb101', 'nb201', 'nats_sss' or 'nds'
    kind           'original' (a released benchmark file), 'trained' (one ``nasbench-db train`` result) or
                   'ecnas' (an EC-NAS-Bench file: NB-101 cells trained again, with energy measurements)
    file_name      base name of the input file or directory
    file_size      bytes of the input
    sha256         hex digest of the input (taken from a verified download's record when there is one); for a
                   training result its ``result_key``
    converter      converter name and nasbench_db version, e.g. ``nb101-tfrecord nasbench_db 0.1.0``
    created_at     UTC ISO-8601 time of the load
    row_counts     JSON object: table -> rows loaded
    device         name of the device that produced the results: the CPU's model name, the GPU's name
                   (``NVIDIA H100 80GB HBM3``), EC-NAS's hardware tag (``quadrortx6000``); NULL for originals
    device_kind    kind of that device: 'cpu' or 'cuda' (any CUDA GPU); NULL for originals
    details        JSON object of anything else worth keeping (record count, epochs seen, a result's JSON...)
    ============== ==================================================================================================
    """

    benchmark = peewee.CharField(max_length=16)
    kind = peewee.CharField(max_length=16)
    file_name = peewee.TextField()
    file_size = peewee.BigIntegerField(null=True)
    sha256 = peewee.CharField(max_length=64, null=True)
    converter = peewee.TextField()
    created_at = peewee.CharField(max_length=32)
    row_counts = peewee.TextField(null=True)
    device = peewee.TextField(null=True)
    details = peewee.TextField(null=True)
    device_kind = peewee.CharField(max_length=16, null=True)

    class Meta:
        table_name = "nasbench_source"
        database = DATABASES["nb101"]


# Each benchmark file holds its own ``nasbench_source`` table, so each benchmark has its own provenance model, bound to
# that benchmark's database: ``trial.source`` then reads the right file, and binding one of them elsewhere (converters
# bind ``Source`` to the file being built) cannot drag another benchmark's models along through a backref.
# ``Source`` itself is NB-101's and the carrier of the shared DDL.

class Nb201Source(Source):
    """Provenance rows of the NAS-Bench-201 / NATS topology database (fields as :class:`Source`)."""

    class Meta:
        table_name = "nasbench_source"
        database = DATABASES["nb201"]


class NatsSssSource(Source):
    """Provenance rows of the NATS size-space database (fields as :class:`Source`)."""

    class Meta:
        table_name = "nasbench_source"
        database = DATABASES["nats_sss"]


class NdsSource(Source):
    """Provenance rows of the NDS database (fields as :class:`Source`)."""

    class Meta:
        table_name = "nasbench_source"
        database = DATABASES["nds"]


# ----------------------------------------------------------------------------------------------------------------------
# NB-101 compact tables (what the converter writes)


class Nb101Arch(_Nb101Model):
    """One NB-101 cell, as the file stores it (the canonical representative of its isomorphism class).

    ============== ==================================================================================================
    field          meaning
    ============== ==================================================================================================
    id             integer key
    hash           32-hex graph hash (``graph_util.hash_module``), unique
    num_vertices   V, 2..7
    adjacency      the file's ``raw_adjacency``: V*V '0'/'1' characters, row-major (char i*V+j = edge i->j)
    operations     the file's ``raw_operations``: V op names joined by ',' (``input`` ... ``output``)
    parameters     trainable parameters, exact count (the NNI views divide by 1e6)
    ============== ==================================================================================================
    """

    id = peewee.AutoField()
    hash = peewee.CharField(max_length=32, unique=True)
    num_vertices = peewee.IntegerField()
    adjacency = peewee.TextField()
    operations = peewee.TextField()
    parameters = peewee.BigIntegerField()

    class Meta:
        table_name = "nb101_arch"


#: An NB-101 config's id is ``arch_id * NB101_CONFIG_ID_FACTOR + slot`` (slot = 0, 1... in the order the cell's budgets
#: first appear): a cell's configs are one contiguous range of the primary key, found without a secondary index.
NB101_CONFIG_ID_FACTOR = 16


#: Dataset of the released NB-101 runs (and the default of ``nb101_config.dataset``).
NB101_DATASET = "cifar10"


class Nb101Config(_Nb101Model):
    """One (cell, epoch budget, dataset) triple; ``num_epochs`` in {4, 12, 36, 108} for the released file.

    ``id = arch_id * 16 + slot`` (:data:`NB101_CONFIG_ID_FACTOR`; at most 16 (budget, dataset) pairs per cell), so
    the configs of a cell are ``c.id BETWEEN a.id * 16 AND a.id * 16 + 15``. Runs of every source on the same cell,
    budget and dataset share a config (their ``source_id`` tells them apart); a run on another dataset (a
    Fashion-MNIST smoke run, CIFAR-100) has a config of its own and never counts as a run of the CIFAR-10 config.

    ============== ==================================================================================================
    field          meaning
    ============== ==================================================================================================
    id             ``arch_id * 16 + slot``
    arch           the cell (:class:`Nb101Arch`, column ``arch_id``)
    num_epochs     epoch budget of the runs' schedule
    dataset        'cifar10' (the released runs), 'cifar100', 'fashion-mnist', ... (lower case)
    ============== ==================================================================================================

    ``dataset`` is the table's last column: the converter of the released file appends it after the bulk load
    (``ALTER TABLE ... ADD COLUMN ... DEFAULT 'cifar10'``), so SQLite keeps the default in the schema instead of in
    each of the 1.7 M rows (the full file stays under 0.6 GB); rows inserted later store their value.
    """

    id = peewee.BigIntegerField(primary_key=True)
    arch = peewee.ForeignKeyField(Nb101Arch, column_name="arch_id", backref="configs", index=False)
    num_epochs = peewee.IntegerField()
    dataset = peewee.CharField(max_length=32, default=NB101_DATASET,
                               constraints=[peewee.SQL(f"DEFAULT '{NB101_DATASET}'")])

    class Meta:
        table_name = "nb101_config"


#: ``dataset`` of :class:`Nb101Config`, added after the released file is loaded (see the model's docstring).
NB101_CONFIG_LATE_COLUMNS = ("dataset",)


#: An NB-101 run's id is ``config_id * NB101_TRIAL_ID_FACTOR + repeat``: a config's runs are one contiguous range of
#: the primary key, so finding them needs no secondary index.
NB101_TRIAL_ID_FACTOR = 1024
NB101_MAX_RUNS_PER_CONFIG = NB101_TRIAL_ID_FACTOR


class Nb101Trial(_Nb101Model):
    """One training run with its halfway and final (epoch E) evaluations.

    The halfway evaluation is at epoch E/2 for the released runs (``evaluate.py``: ``0.5 * train_epochs``); a run
    evaluated elsewhere (EC-NAS-Bench: after epoch 1 or 2; a self-trained run) has its epoch in
    :class:`Nb101TrialHalfway`.

    The id encodes the run's config and repeat: ``config_id = id / 1024`` (integer division), ``repeat = id % 1024``
    (:data:`NB101_TRIAL_ID_FACTOR`). A config's runs are thus the key range ``[config_id * 1024, config_id * 1024 +
    1023]``: the table needs no index beyond its primary key, which keeps the full file under 0.6 GB. The NNI views
    expose ``config_id`` and the trial ``id``; SQL that goes from configs to runs uses
    ``t.id BETWEEN c.id * 1024 AND c.id * 1024 + 1023``.

    ======================== ======================================================================================
    field                    meaning (unit)
    ======================== ======================================================================================
    id                       ``config_id * 1024 + repeat``; repeat = order of the run among its config's runs
                             (file order for the released runs), at most 1,024 runs per config
    source                   provenance row (:class:`Source`): the released file, an EC-NAS-Bench file (kind
                             'ecnas'), or one ingested training result (kind 'trained', its device, and seed /
                             hyperparameters in ``details``)
    halfway_training_time    seconds of training up to the halfway evaluation (TPU v2 for the released runs)
    halfway_train_acc        percent (0-100): the file's fraction x 100, on 9,984 training images
    halfway_valid_acc        percent, validation split (9,984 of data_batch_5)
    halfway_test_acc         percent, CIFAR-10 test (9,984 images)
    training_time            seconds of training up to epoch E (real seconds; NNI's x60 is not applied)
    train_acc                percent, final
    valid_acc                percent, final
    test_acc                 percent, final
    total_time               seconds of wall time including evaluation (the protobuf's ``total_time``)
    ======================== ======================================================================================
    """

    id = peewee.BigIntegerField(primary_key=True)
    source = peewee.ForeignKeyField(Source, column_name="source_id", index=False)
    halfway_training_time = peewee.DoubleField(null=True)
    halfway_train_acc = peewee.DoubleField(null=True)
    halfway_valid_acc = peewee.DoubleField(null=True)
    halfway_test_acc = peewee.DoubleField(null=True)
    training_time = peewee.DoubleField(null=True)
    train_acc = peewee.DoubleField(null=True)
    valid_acc = peewee.DoubleField(null=True)
    test_acc = peewee.DoubleField(null=True)
    total_time = peewee.DoubleField(null=True)

    class Meta:
        table_name = "nb101_trial"

    @property
    def config_id(self) -> int:
        return self.id // NB101_TRIAL_ID_FACTOR

    @property
    def repeat(self) -> int:
        return self.id % NB101_TRIAL_ID_FACTOR


# ----------------------------------------------------------------------------------------------------------------------
# NB-101 runs of other sources: halfway epochs and EC-NAS-Bench energy (one row per run that has them; the released
# runs have none, so the 5 M-run file keeps its size)


class Nb101TrialHalfway(_Nb101Model):
    """The epoch of a run's halfway evaluation where it is not the released protocol's E/2; table
    ``nb101_trial_halfway``.

    Every run of a source other than the released file has a row (EC-NAS-Bench files evaluate after epoch 1 or 2,
    self-trained runs where their schedule put the evaluation); a run of an original-format file has one only when
    the file's ``current_epoch`` differs from E/2 (never for the released files). Runs without a row were evaluated
    at epoch ``num_epochs / 2``.

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    trial          the run (:class:`Nb101Trial`, column ``trial_id``, primary key)
    halfway_epoch  epoch of the halfway evaluation, as the source records it (the protobuf's ``current_epoch`` of
                   evaluation 1; a training result's evaluation epoch): may be fractional
    ============== ==================================================================================================
    """

    trial = peewee.ForeignKeyField(Nb101Trial, column_name="trial_id", primary_key=True, backref="halfway")
    halfway_epoch = peewee.DoubleField()

    class Meta:
        table_name = "nb101_trial_halfway"


class Nb101TrialEnergy(_Nb101Model):
    """Energy and carbon of one EC-NAS-Bench run, as its file records them; table ``nb101_trial_energy``.

    EC-NAS-Bench measured each run with carbontracker. An evaluation's ``energy`` / ``co2eq`` add up the training
    before it (the 1-step initialisation, then each training segment; evaluation passes excluded); the run totals
    cover the whole run, evaluations included. ``co2eq = energy x`` the grid's carbon intensity at the time.

    ===================== ===========================================================================================
    field                 meaning (unit)
    ===================== ===========================================================================================
    trial                 the run (:class:`Nb101Trial`, column ``trial_id``, primary key)
    step0_energy          kWh: the 1-step initialisation (evaluation 0, epoch 0)
    step0_co2eq           g CO2-equivalent, same span
    halfway_energy        kWh: training up to the halfway evaluation (epoch in :class:`Nb101TrialHalfway`)
    halfway_co2eq         g CO2-equivalent, same span
    energy                kWh: training up to the final evaluation (epoch E)
    co2eq                 g CO2-equivalent, same span
    total_energy          kWh: the whole run, evaluations included (the protobuf's ``total_energy``)
    total_co2eq           g CO2-equivalent of the whole run (``total_co2eq``)
    ===================== ===========================================================================================

    Values are the file's doubles, unscaled; NULL where the file has none.
    """

    trial = peewee.ForeignKeyField(Nb101Trial, column_name="trial_id", primary_key=True, backref="energy")
    step0_energy = peewee.DoubleField(null=True)
    step0_co2eq = peewee.DoubleField(null=True)
    halfway_energy = peewee.DoubleField(null=True)
    halfway_co2eq = peewee.DoubleField(null=True)
    energy = peewee.DoubleField(null=True)
    co2eq = peewee.DoubleField(null=True)
    total_energy = peewee.DoubleField(null=True)
    total_co2eq = peewee.DoubleField(null=True)

    class Meta:
        table_name = "nb101_trial_energy"


# ----------------------------------------------------------------------------------------------------------------------
# NB-101 labelled forms: which cell each upper-triangular form of each stored cell is (point queries without hashing)


class _BytesField(peewee.Field):
    """Bytes (SQLite BLOB, PostgreSQL BYTEA). Unlike peewee's BlobField it asks nothing of its database when bound,
    so the lazily opened benchmark proxy is not opened by a converter's ``bind_ctx``."""

    field_type = "BLOB"

    def python_value(self, value):
        return bytes(value) if isinstance(value, memoryview) else value


class Nb101Form(_Nb101Model):
    """The cells of every labelled form of the stored cells, by matrix; table ``nb101_form``.

    A query prunes its cell, computes two small integers (:func:`nasbench_db.spaces.nb101.matrix_key` of the pruned
    matrix, :func:`~nasbench_db.spaces.nb101.ops_code` of its ops) and reads its cell id here, instead of computing
    the graph hash. Every upper-triangular relabelling of every stored (pruned) cell is entered: for the released file
    all 1,293,208 labelled graphs of the original enumeration, in about 5,400 rows (3.9 MB). Forms not entered (cells
    a database lacks, a database written before this table existed) are hashed as before, with the same answer.

    ============== ==================================================================================================
    field          meaning
    ============== ==================================================================================================
    matrix_key     V (low 3 bits) and the upper-triangular entries of the pruned matrix above them, row-major
    cells          for each ops code 0 .. 3**(V-2) - 1: the :class:`Nb101Arch` id of that labelling, 3 bytes
                   big-endian (0: no stored cell); read with :func:`~nasbench_db.spaces.nb101.form_cell`
    ============== ==================================================================================================
    """

    matrix_key = peewee.IntegerField(primary_key=True)
    cells = _BytesField()

    class Meta:
        table_name = "nb101_form"


# ----------------------------------------------------------------------------------------------------------------------
# NNI's NB-101 models (views over the compact tables; NNI's own tables in NNI's prebuilt files)


class Nb101ArchField(peewee.TextField):
    """NNI's ``arch`` column: reads as NNI's arch dict.

    In our views the column holds ``'<adjacency>|<operations>'``; in NNI's prebuilt files it holds sorted-key JSON.
    Both read back as ``{'op1': ..., 'input1': [...], ...}``. Comparing with a dict (``Nb101TrialConfig.arch ==
    {...}``) is NNI's exact match on both layouts: key order is free, input lists must be as stored (ascending, no
    dangling vertices); NNI's file is compared through SQLite's ``json()`` as NNI does. ``{'matrix', 'ops'}`` is
    accepted too.
    """

    def python_value(self, value):
        if value is None or isinstance(value, dict):
            return value
        if value.startswith("{"):
            return json.loads(value)
        adjacency, _, operations = value.partition("|")
        return _nb101.matrix_to_arch(_nb101.adjacency_to_matrix(adjacency), operations.split(","))

    def db_value(self, value):
        if not isinstance(value, dict):
            return value
        if layout_of(self.model) == "nni":
            if "matrix" in value:
                value = _nb101.matrix_to_arch(*_nb101.parse_arch(value))
            return peewee.fn.json(json.dumps(value, sort_keys=True))
        try:
            exact = _nb101.exact_form(value)
        except ValueError:
            exact = None
        if exact is None:  # not a stored form: a text no row holds (our rows start with a digit), as NNI finds none
            return json.dumps(value, sort_keys=True, default=str)
        return _nb101.matrix_to_adjacency(exact[0]) + "|" + ",".join(exact[1])


class _Nb101Seconds(peewee.DoubleField):
    """NB-101's final ``training_time`` in seconds on both layouts: NNI's file stores it x 60 (its ``db_gen`` bug),
    so on that file values are divided by 60 when read and multiplied when compared (``.where(training_time <
    2000)`` means seconds everywhere)."""

    def python_value(self, value):
        if value is not None and _rows_layout(self.model) == "nni":
            return value / _db.NNI_NB101_TIME_FACTOR
        return value

    def db_value(self, value):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and layout_of(self.model) == "nni":
            return value * _db.NNI_NB101_TIME_FACTOR
        return value


class Nb101TrialConfig(_Nb101Model):
    """NNI's ``Nb101TrialConfig``: ``arch`` (NNI dict), ``num_vertices``, ``hash``, ``num_epochs``. Read-only view of
    the configs of the original release (CIFAR-10; configs only other sources ran are in :class:`Nb101Config`)."""

    arch = Nb101ArchField()
    num_vertices = peewee.IntegerField()
    hash = peewee.CharField(max_length=64)
    num_epochs = peewee.IntegerField()

    class Meta:
        table_name = "nb101trialconfig"


class Nb101TrialStats(_Nb101Model):
    """NNI's ``Nb101TrialStats``: final ``train_acc/valid_acc/test_acc`` (percent), ``parameters`` (millions),
    ``training_time`` (seconds, real: also on NNI's file, whose x 60 values are divided back). Read-only view of the
    original release's runs (other sources' runs are in :class:`Nb101Trial`); our view also has ``repeat`` (the run's
    number among its config's runs, from 0) and ``source_id`` (its provenance row, :class:`Source`)."""

    config = peewee.ForeignKeyField(Nb101TrialConfig, column_name="config_id", backref="trial_stats")
    train_acc = peewee.DoubleField()
    valid_acc = peewee.DoubleField()
    test_acc = peewee.DoubleField()
    parameters = peewee.DoubleField()
    training_time = _Nb101Seconds()

    class Meta:
        table_name = "nb101trialstats"


class Nb101IntermediateStats(_Nb101Model):
    """NNI's ``Nb101IntermediateStats``: ``current_epoch`` (the halfway evaluation's epoch, E/2 for the released
    runs, or E), ``train_acc/valid_acc/test_acc`` (percent, at that epoch), ``training_time`` (seconds of training up
    to that epoch). Read-only view of the original release; the intermediate id is ``2 * trial_id`` (halfway) or
    ``2 * trial_id + 1`` (final)."""

    trial = peewee.ForeignKeyField(Nb101TrialStats, column_name="trial_id", backref="intermediates")
    current_epoch = peewee.IntegerField()
    train_acc = peewee.DoubleField()
    valid_acc = peewee.DoubleField()
    test_acc = peewee.DoubleField()
    training_time = peewee.DoubleField()

    class Meta:
        table_name = "nb101intermediatestats"


NB101_TABLES = (Source, Nb101Arch, Nb101Config, Nb101Trial, Nb101TrialHalfway, Nb101TrialEnergy, Nb101Form)


#: The per-run metrics of :class:`Nb101Trial`: NB-101's metrics in :mod:`nasbench_db.analysis` (with the cell's
#: parameters), each averaged per config by :class:`Nb101OriginalMean`.
NB101_RUN_METRICS = ("train_acc", "valid_acc", "test_acc", "training_time", "halfway_train_acc", "halfway_valid_acc",
                     "halfway_test_acc", "halfway_training_time", "total_time")

#: The id-range joins of NB-101 SQL (see :class:`Nb101Config`, :class:`Nb101Trial`); :func:`server_view` finds them
#: in the views by these texts.
NB101_CELL_CONFIGS = "c.id BETWEEN a.id * 16 AND a.id * 16 + 15"
NB101_CONFIG_RUNS = "t.id BETWEEN c.id * 1024 AND c.id * 1024 + 1023"
#: The equalities those ranges imply (a config's cell, a run's config), which a server joins by (:func:`server_view`).
NB101_CELL_OF_CONFIG = f"a.id = c.id / {NB101_CONFIG_ID_FACTOR}"
NB101_CONFIG_OF_RUN = f"c.id = t.id / {NB101_TRIAL_ID_FACTOR}"

#: SQL condition: the run ``t`` belongs to the released benchmark (NNI's views show nothing else).
NB101_ORIGINAL_RUN = "t.source_id IN (SELECT id FROM nasbench_source WHERE kind = 'original')"


class Nb101OriginalMean(_Nb101Model):
    """Server only: each config's mean over its released runs; table ``nb101_original_mean``.

    Ranking 1.7 M configs by a mean over 5 M runs takes PostgreSQL seconds; reading the means takes a fraction of
    one, so :mod:`nasbench_db.analysis` reads this table for the released runs on a server (top-k, filters,
    correlations, Pareto fronts with ``reduction='mean'``). The SQLite file has no such table (it would cost ~0.1 GB
    of the file's 0.6 GB goal; SQLite averages the runs fast enough).

    Written by :func:`nasbench_db.convert._server.publish` from the published runs of kind 'original' (and only
    those: ingested and EC-NAS-Bench runs are never averaged in), each mean summed in run-id order
    (``AVG(x ORDER BY id)``), the order the per-run statement reads them in. Rewritten by every publish; a database
    published by an earlier version has no table, and analysis then averages the runs.

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    id             the config (:class:`Nb101Config` id; its cell is ``id / 16``)
    num_epochs     the config's epoch budget
    dataset        the config's dataset
    <metric>       for each of :data:`NB101_RUN_METRICS`: the mean of the runs' values, unit as in
                   :class:`Nb101Trial` (NULL when every run's value is NULL)
    num_runs       how many released runs the means average
    ============== ==================================================================================================
    """

    id = peewee.BigIntegerField(primary_key=True)
    num_epochs = peewee.IntegerField()
    dataset = peewee.CharField(max_length=32)
    halfway_training_time = peewee.DoubleField(null=True)
    halfway_train_acc = peewee.DoubleField(null=True)
    halfway_valid_acc = peewee.DoubleField(null=True)
    halfway_test_acc = peewee.DoubleField(null=True)
    training_time = peewee.DoubleField(null=True)
    train_acc = peewee.DoubleField(null=True)
    valid_acc = peewee.DoubleField(null=True)
    test_acc = peewee.DoubleField(null=True)
    total_time = peewee.DoubleField(null=True)
    num_runs = peewee.IntegerField()

    class Meta:
        table_name = "nb101_original_mean"


def nb101_original_mean_fill(schema: str) -> str:
    """The statement that fills :class:`Nb101OriginalMean` in ``schema`` from the runs in the same schema whose
    source is of kind 'original'.

    The runs are grouped by their config id (``id / 1024``) and only then joined to their configs: a join on the id
    ranges would be planned as a nested loop over every (config, run) pair (minutes at full scale; this takes about
    30 s for 5 M runs on a 2-core machine)."""
    factor = NB101_TRIAL_ID_FACTOR
    means = ", ".join(f"AVG(t.{name} ORDER BY t.id) AS {name}" for name in NB101_RUN_METRICS)
    return (f"INSERT INTO {schema}.nb101_original_mean (id, num_epochs, dataset, {', '.join(NB101_RUN_METRICS)}, "
            f"num_runs) SELECT c.id, c.num_epochs, c.dataset, {', '.join('m.' + n for n in NB101_RUN_METRICS)}, "
            f"m.num_runs FROM (SELECT t.id / {factor} AS config_id, {means}, COUNT(*) AS num_runs "
            f"FROM {schema}.nb101_trial t WHERE {NB101_ORIGINAL_RUN} GROUP BY t.id / {factor}) m "
            f"JOIN {schema}.nb101_config c ON c.id = m.config_id")


#: Tables a publish derives on the server from the benchmark's published tables: benchmark -> ((model, statement
#: filling it in a schema), ...).
SERVER_DERIVED_TABLES = {"nb101": ((Nb101OriginalMean, nb101_original_mean_fill),)}


#: One NB-101 run as the point queries read it (:mod:`nasbench_db.query.nb101` builds NNI's dicts from these
#: columns, in this order; :func:`nb101_point_function` returns them).
NB101_RUN_ROW = ("t.id", "c.id", "a.adjacency", "a.operations", "a.num_vertices", "a.hash", "c.num_epochs",
                 "t.train_acc", "t.valid_acc", "t.test_acc", "a.parameters", "t.training_time", "t.halfway_train_acc",
                 "t.halfway_valid_acc", "t.halfway_test_acc", "t.halfway_training_time")
#: Their PostgreSQL types, for the function's result (casts keep it independent of how a table was declared).
_NB101_RUN_ROW_TYPES = ("bigint", "bigint", "text", "text", "integer", "text", "integer", "float8", "float8", "float8",
                        "bigint", "float8", "float8", "float8", "float8", "float8")


def nb101_form_cell_pg(first: str, second: str, third: str) -> str:
    """PostgreSQL expression of the cell id stored in ``f.cells`` (a :class:`Nb101Form` row) at the three byte
    offsets given as SQL (0-based; big-endian, :data:`nasbench_db.spaces.nb101.FORM_ID_BYTES` bytes)."""
    return f"(get_byte(f.cells, {first}) * 65536 + get_byte(f.cells, {second}) * 256 + get_byte(f.cells, {third}))"


#: The server function of NB-101's point query (:func:`nb101_point_function`).
NB101_POINT_FUNCTION = "nb101_point_runs"
#: The statement that function runs for a found cell (``cell``: its id, ``p_epochs``: a budget or NULL for all): the
#: cell's configs and runs as constant key ranges (runs of a cell: ``16 * 1024`` consecutive ids).
_CELL_RUNS = NB101_CONFIG_ID_FACTOR * NB101_TRIAL_ID_FACTOR
NB101_POINT_RUNS = (
    f"SELECT {', '.join(f'{c}::{t}' for c, t in zip(NB101_RUN_ROW, _NB101_RUN_ROW_TYPES))} "
    "FROM nb101_arch a CROSS JOIN nb101_config c CROSS JOIN nb101_trial t "
    f"WHERE a.id = cell AND c.id BETWEEN cell * {NB101_CONFIG_ID_FACTOR} "
    f"AND cell * {NB101_CONFIG_ID_FACTOR} + {NB101_CONFIG_ID_FACTOR - 1} "
    f"AND t.id BETWEEN cell * {_CELL_RUNS} AND cell * {_CELL_RUNS} + {_CELL_RUNS - 1} "
    f"AND {NB101_CONFIG_RUNS} AND (p_epochs IS NULL OR c.num_epochs = p_epochs) AND {NB101_ORIGINAL_RUN} "
    "ORDER BY t.id")


#: The tables the point function locks first, in the order a publish replaces them (:data:`NB101_TABLES`): a reader
#: that held ``nb101_form`` (its first read) while waiting for ``nb101_arch`` deadlocked with a publish holding
#: ``nb101_arch`` and waiting for ``nb101_form``. ``nasbench_source`` is left to its read: a publish takes it
#: exclusively only when it drops ``nb101_trial`` (its foreign key), which the function already holds by then;
#: locked first, it deadlocked (tests/test_postgres.py found both).
_NB101_POINT_TABLES = tuple(m._meta.table_name for m in NB101_TABLES
                            if m in (Nb101Arch, Nb101Config, Nb101Trial, Nb101Form))


def nb101_point_function(schema: str = "public") -> str:
    """The statement creating :data:`NB101_POINT_FUNCTION` in ``schema``: NB-101's point query on a server, one
    round trip and no planning per call.

    ``nb101_point_runs(p_key, p_offset, p_hash, p_epochs)`` finds the cell by its labelled form (matrix key
    ``p_key``, the cell id at byte ``p_offset`` of its :class:`Nb101Form` row), else by its hash ``p_hash``, and
    returns its released runs (:data:`NB101_RUN_ROW`, by run id) at budget ``p_epochs`` (NULL: every budget). When no
    stored cell has that form (or hash) it returns one row of NULLs instead, so the caller knows to hash the cell
    and ask again.

    Why a function: each statement PostgreSQL receives is planned anew, and the three-table join's planning was most
    of a point query's time at full scale (0.4 of about 0.9 ms), beside a second round trip for the form. A PL/pgSQL
    function keeps its statements' plans for the session (generic plans: their shape, three key lookups, holds for
    every cell). It is VOLATILE so that each call reads with a snapshot taken after any republish it waited for
    (PostgreSQL takes it after revalidating the plan); a server-side ``PREPARE`` takes it before, and answered
    nothing during a republish. Created by every publish; a server published by an earlier version lacks it, and
    the query then sends its statements as before. It takes its tables' locks first, in the order a publish takes
    them, so that the two never wait for each other in a cycle."""
    columns = ", ".join(f"r{i} {t}" for i, t in enumerate(_NB101_RUN_ROW_TYPES))
    return (f"CREATE OR REPLACE FUNCTION {schema}.{NB101_POINT_FUNCTION}(p_key integer, p_offset integer, "
            f"p_hash text, p_epochs integer) RETURNS TABLE ({columns}) LANGUAGE plpgsql VOLATILE "
            # Generic plans are priced on default range estimates, which a session with JIT on would compile for.
            "SET plan_cache_mode = force_generic_plan SET jit = off AS $fn$\n"
            "DECLARE cell bigint;\n"
            "BEGIN\n"
            f"  LOCK TABLE {', '.join(_NB101_POINT_TABLES)} IN ACCESS SHARE MODE;\n"
            "  IF p_key IS NOT NULL THEN\n"
            f"    SELECT {nb101_form_cell_pg('p_offset', 'p_offset + 1', 'p_offset + 2')} INTO cell\n"
            "    FROM nb101_form f WHERE f.matrix_key = p_key;\n"
            "  END IF;\n"
            "  IF (cell IS NULL OR cell = 0) AND p_hash IS NOT NULL THEN\n"
            "    SELECT a.id INTO cell FROM nb101_arch a WHERE a.hash = p_hash;\n"
            "  END IF;\n"
            "  IF cell IS NULL OR cell = 0 THEN\n"
            "    RETURN NEXT;\n"
            "    RETURN;\n"
            "  END IF;\n"
            f"  RETURN QUERY {NB101_POINT_RUNS};\n"
            "END\n$fn$")


#: Functions a publish creates on the server for a benchmark's readers: benchmark -> (statement builders taking the
#: schema, ...).
SERVER_FUNCTIONS = {"nb101": (nb101_point_function,)}


def server_view(sql: str) -> str:
    """A view's statement as a PostgreSQL server gets it: each NB-101 id-range join also stated as the equality it
    implies (``a.id = c.id / 16``, ``c.id = t.id / 1024``).

    SQLite walks the ranges by primary key. PostgreSQL plans a range between two tables as a nested loop that tests
    every pair (counting the 108-epoch configs of full NB-101 through ``nb101trialconfig`` did not finish in 5 min);
    given the equality it hashes or looks up by key instead (2.6 s; a config's runs by hash in 8 ms). The ranges stay,
    so a lookup of a few configs still reads their runs as one key range."""
    return (sql.replace(NB101_CELL_CONFIGS, f"{NB101_CELL_CONFIGS} AND {NB101_CELL_OF_CONFIG}")
            .replace(NB101_CONFIG_RUNS, f"{NB101_CONFIG_RUNS} AND {NB101_CONFIG_OF_RUN}"))


#: The NNI-named views over the compact NB-101 tables (portable SQL: SQLite and PostgreSQL). They show the original
#: release only, exactly NNI's data: runs of other sources (self-trained, EC-NAS-Bench) and configs that have no
#: released run are left out, so ingesting a source never changes what they return.
NB101_VIEWS = (
    # CROSS JOIN keeps SQLite's join order cell -> config -> run, where the id ranges make each step a key lookup.
    f"""CREATE VIEW nb101trialconfig AS
       SELECT c.id AS id, a.adjacency || '|' || a.operations AS arch, a.num_vertices AS num_vertices,
              a.hash AS hash, c.num_epochs AS num_epochs
       FROM nb101_arch a CROSS JOIN nb101_config c
       WHERE {NB101_CELL_CONFIGS}
         AND EXISTS (SELECT 1 FROM nb101_trial t WHERE {NB101_CONFIG_RUNS}
                     AND {NB101_ORIGINAL_RUN})""",
    f"""CREATE VIEW nb101trialstats AS
       SELECT t.id AS id, c.id AS config_id, t.train_acc AS train_acc, t.valid_acc AS valid_acc,
              t.test_acc AS test_acc, a.parameters / 1e6 AS parameters, t.training_time AS training_time,
              t.id % 1024 AS repeat, t.source_id AS source_id
       FROM nb101_arch a CROSS JOIN nb101_config c CROSS JOIN nb101_trial t
       WHERE {NB101_CELL_CONFIGS} AND {NB101_CONFIG_RUNS}
         AND {NB101_ORIGINAL_RUN}""",
    # The halfway epoch: the file's own where it is not E/2 (nb101_trial_halfway), rounded to NNI's integer column.
    f"""CREATE VIEW nb101intermediatestats AS
       SELECT 2 * t.id AS id, t.id AS trial_id,
              COALESCE(CAST(ROUND(h.halfway_epoch) AS INTEGER), c.num_epochs / 2) AS current_epoch,
              t.halfway_train_acc AS train_acc, t.halfway_valid_acc AS valid_acc, t.halfway_test_acc AS test_acc,
              t.halfway_training_time AS training_time
       FROM nb101_config c CROSS JOIN nb101_trial t LEFT JOIN nb101_trial_halfway h ON h.trial_id = t.id
       WHERE {NB101_CONFIG_RUNS} AND {NB101_ORIGINAL_RUN}
       UNION ALL
       SELECT 2 * t.id + 1, t.id, c.num_epochs, t.train_acc, t.valid_acc, t.test_acc, t.training_time
       FROM nb101_config c CROSS JOIN nb101_trial t
       WHERE {NB101_CONFIG_RUNS} AND {NB101_ORIGINAL_RUN}""",
)


# ----------------------------------------------------------------------------------------------------------------------
# NAS-Bench-201 / NATS-Bench topology space (benchmark 'nb201', file nasbench201.db) and NATS size space
# ('nats_sss', file nats_sss.db).
#
# Layout (chosen by measurement, see docs/nb201_nats.md): NNI's config and stats tables under NNI's names and columns
# (``nb201trialconfig``, ``nb201trialstats``; nothing in them is worth factoring out, and one query path then serves
# our file and NNI's prebuilt nasbench201-b2b60732.db), plus a few columns NNI lacks (arch index, unique-topology
# class, provenance, the file's own params/FLOPs). The ~30 M per-epoch rows live in ``nb201_epoch``, clustered on
# (trial_id, current_epoch) WITHOUT ROWID: 84 bytes a row against 100 for NNI's rowid table with its two indexes,
# no index build after loading, and a trial's curve is one contiguous range. NNI's ``nb201intermediatestats`` is a
# view over it. The size space uses the same layout under ``nats_sss_*`` names.


class _Nb201Model(_LayoutAwareModel):
    class Meta:
        database = DATABASES["nb201"]


class _NatsSssModel(peewee.Model):
    class Meta:
        database = DATABASES["nats_sss"]


class Nb201ArchField(peewee.TextField):
    """NNI's ``arch`` column: NNI's arch dict stored as sorted-key JSON without whitespace.

    That is the text NNI's ``JSONField`` stores, so ``Nb201TrialConfig.arch == {...}`` matches on our files and on
    NNI's prebuilt file alike, whatever the key order. Writing also accepts the original arch string, the benchmark
    index, or a dict with the original op names (``nor_conv_3x3``); they are normalised to NNI's dict first.
    """

    def db_value(self, value):
        if value is None:
            return None
        if isinstance(value, str) and value.startswith("{"):
            return value
        return json.dumps(_nb201.to_nni(value), sort_keys=True, separators=(",", ":"))

    def python_value(self, value):
        if value is None or not isinstance(value, str):
            return value
        return json.loads(value)


class Nb201Arch(_Nb201Model):
    """One NB-201 cell (15,625 rows); table ``nb201_arch``. Not in NNI.

    ============== ==================================================================================================
    field          meaning
    ============== ==================================================================================================
    id             the benchmark index 0..15,624 (position in ``meta_archs``)
    arch_str       the original string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``
    arch           NNI's arch dict (sorted-key JSON), as in ``nb201trialconfig.arch``
    unique_index   smallest index of the isomorphism class (``to_unique_str(consider_zero=True)``; 6,466 classes):
                   ``GROUP BY unique_index`` dedupes isomorphic cells
    unique_str     the class key string itself
    num_conv3x3    edges with ``nor_conv_3x3``
    num_conv1x1    edges with ``nor_conv_1x1``
    has_path       1 if some input->output path avoids ``none`` (the original ``check_valid``), else 0
    ============== ==================================================================================================
    """

    id = peewee.IntegerField(primary_key=True)
    arch_str = peewee.TextField(unique=True)
    arch = Nb201ArchField(unique=True)
    unique_index = peewee.IntegerField(index=True)
    unique_str = peewee.TextField()
    num_conv3x3 = peewee.IntegerField()
    num_conv1x1 = peewee.IntegerField()
    has_path = peewee.BooleanField()

    class Meta:
        table_name = "nb201_arch"


class Nb201TrialConfig(_Nb201Model):
    """NNI's ``Nb201TrialConfig``: one (cell, epoch budget, dataset); table ``nb201trialconfig``.

    All 15,625 x 2 x 4 = 125,000 configs exist (as in NNI), with ids in NNI's creation order:
    ``id = 8 * arch_index + 4 * (num_epochs == 200) + position of dataset in
    (cifar10-valid, cifar10, cifar100, imagenet16-120) + 1``.

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    id             integer key (formula above)
    arch           NNI's arch dict ``{'0_1'..'2_3': none|skip_connect|conv_1x1|conv_3x3|avg_pool_3x3}``
    num_epochs     12 (NB-201 ``less`` / NATS hp '12') or 200 (``full`` / hp '200')
    num_channels   16 (channels of the first stage)
    num_cells      5 (cells per stage)
    dataset        'cifar10-valid', 'cifar10', 'cifar100' or 'imagenet16-120'
    arch_index     benchmark index of ``arch`` (:class:`Nb201Arch`; not in NNI's file)
    unique_index   isomorphism class of ``arch`` (:class:`Nb201Arch`; not in NNI's file)
    ============== ==================================================================================================
    """

    arch = Nb201ArchField(index=True)
    num_epochs = peewee.IntegerField()
    num_channels = peewee.IntegerField()
    num_cells = peewee.IntegerField()
    dataset = peewee.CharField(max_length=20)
    arch_index = peewee.IntegerField()
    unique_index = peewee.IntegerField()

    class Meta:
        table_name = "nb201trialconfig"
        indexes = ((("arch_index", "num_epochs", "dataset"), True), (("dataset", "num_epochs"), False),
                   (("unique_index",), False))


class _Nb201SplitMetrics(_Nb201Model):
    """The eight per-split values of every NB-201 / NATS row (trials, epochs): accuracy in percent and mean
    cross-entropy loss of train / valid / test / ori_test, under NNI's split mapping (see :class:`Nb201TrialStats`).
    NULL where the file has no value (or NaN). One field list, inherited by the models below."""

    train_acc = peewee.DoubleField(null=True)
    valid_acc = peewee.DoubleField(null=True)
    test_acc = peewee.DoubleField(null=True)
    ori_test_acc = peewee.DoubleField(null=True)
    train_loss = peewee.DoubleField(null=True)
    valid_loss = peewee.DoubleField(null=True)
    test_loss = peewee.DoubleField(null=True)
    ori_test_loss = peewee.DoubleField(null=True)


class Nb201TrialStats(_Nb201SplitMetrics):
    """NNI's ``Nb201TrialStats``: one training run (a seed) of a config; table ``nb201trialstats``.

    Split mapping (NNI's): ``valid``/``test``/``ori_test`` are the file's ``x-valid``/``ori-test``/``ori-test`` for
    cifar10-valid, ``ori-test`` for all three on cifar10 (it has no separate validation set), and
    ``x-valid``/``x-test``/``ori-test`` for cifar100 and imagenet16-120. Final values are those of the last epoch.

    ========================= =======================================================================================
    field                     meaning (unit)
    ========================= =======================================================================================
    config                    the :class:`Nb201TrialConfig` (column ``config_id``)
    seed                      training seed (777, 888, 999 for 200 epochs; 111 and 777 for 12)
    train_acc                 final top-1 accuracy on the training set, percent (0-100)
    valid_acc                 final accuracy on the validation split above, percent
    test_acc                  final accuracy on the test split above, percent
    ori_test_acc              final accuracy on the original test set (10k CIFAR, 6k ImageNet16-120 val), percent
    train_loss ..             final mean cross-entropy on the same sets; NULL where the file has NaN or nothing
    ori_test_loss
    parameters                millions of parameters of the network, computed for the architecture (closed form
                              of the original counting; some 200-epoch records in the files carry wrong values)
    latency                   seconds per evaluation batch (the mean of the file's ``latency`` list); NULL if none
    flops                     millions of multiply-adds per image, computed for the architecture (as parameters)
    training_time             seconds: sum of the per-epoch training times (the original API's ``all_time``;
                              NNI uses last epoch x epochs, equal when times are constant as in NATS); NULL if absent
    valid_evaluation_time     seconds of one evaluation pass over the validation split at the last epoch (NNI's
    test_evaluation_time      meaning); NULL if absent (NB-201 v1_0 200-epoch runs have no times)
    ori_test_evaluation_time
    source                    provenance row (:class:`Nb201Source`, column ``source_id``; not in NNI's file)
    result_key                key of an ingested training result (NULL for released runs; not in NNI's file; the
                              provenance table enforces its uniqueness)
    file_parameters           the file's own ``params`` (millions) for this run, kept for reference
    file_flops                the file's own ``flop`` (millions) for this run
    ========================= =======================================================================================
    """

    config = peewee.ForeignKeyField(Nb201TrialConfig, column_name="config_id", backref="trial_stats")
    seed = peewee.IntegerField()
    parameters = peewee.DoubleField(null=True)
    latency = peewee.DoubleField(null=True)
    flops = peewee.DoubleField(null=True)
    training_time = peewee.DoubleField(null=True)
    valid_evaluation_time = peewee.DoubleField(null=True)
    test_evaluation_time = peewee.DoubleField(null=True)
    ori_test_evaluation_time = peewee.DoubleField(null=True)
    source = peewee.ForeignKeyField(Nb201Source, column_name="source_id", index=False)
    result_key = peewee.CharField(max_length=64, null=True)
    file_parameters = peewee.DoubleField(null=True)
    file_flops = peewee.DoubleField(null=True)

    class Meta:
        table_name = "nb201trialstats"


class Nb201Epoch(_Nb201SplitMetrics):
    """Per-epoch results of one trial; table ``nb201_epoch`` (WITHOUT ROWID, key ``(trial_id, current_epoch)``).

    Same splits and units as :class:`Nb201TrialStats`. An epoch whose 8 values are all missing has no row. Where the
    file evaluates a split only at the last epoch (cifar10-valid ``ori-test``; cifar100 / imagenet16-120 ``x-valid``
    and ``x-test`` in 200-epoch runs) the other epochs hold NULL there.

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    trial          the :class:`Nb201TrialStats` (column ``trial_id``)
    current_epoch  1-based epoch (1 .. num_epochs)
    train_acc ..   accuracies (percent) and mean cross-entropy losses at the end of that epoch
    ori_test_loss
    ============== ==================================================================================================
    """

    trial = peewee.ForeignKeyField(Nb201TrialStats, column_name="trial_id", backref="epochs", index=False)
    current_epoch = peewee.IntegerField()

    class Meta:
        table_name = "nb201_epoch"
        primary_key = peewee.CompositeKey("trial", "current_epoch")
        without_rowid = True


class Nb201IntermediateStats(_Nb201SplitMetrics):
    """NNI's ``Nb201IntermediateStats``: a read-only view ``nb201intermediatestats`` over :class:`Nb201Epoch`.

    ``id`` is ``1000 * trial_id + current_epoch`` (NNI numbers rows in insertion order); the other fields are those
    of :class:`Nb201Epoch`. In NNI's prebuilt file this is NNI's own table.
    """

    trial = peewee.ForeignKeyField(Nb201TrialStats, column_name="trial_id", backref="intermediates")
    current_epoch = peewee.IntegerField()

    class Meta:
        table_name = "nb201intermediatestats"


#: Multiplier of the synthetic intermediate id: ``id = EPOCH_ID_BASE * trial_id + current_epoch``.
EPOCH_ID_BASE = 1000

# Runs of sources other than the released file (``nasbench-db train`` results) live in tables of their own with the same
# columns, so NNI's tables above hold exactly NNI's data whatever is ingested. Each is self-contained: a trained run's
# config is copied here (same id as the benchmark's config for a benchmark budget and dataset; ids after the
# benchmark's range for others), so the query functions read ``trial JOIN config`` per table and combine the two.


class Nb201TrainedTrialConfig(Nb201TrialConfig):
    """Configs of NB-201 runs from other sources; table ``nb201_trained_trialconfig`` (fields as
    :class:`Nb201TrialConfig`; ``num_epochs`` and ``dataset`` may be any the runs used, e.g. 1 and
    'fashion-mnist')."""

    class Meta:
        table_name = "nb201_trained_trialconfig"


class Nb201TrainedTrialStats(Nb201TrialStats):
    """NB-201 runs of sources other than the released file; table ``nb201_trained_trialstats`` (fields and units as
    :class:`Nb201TrialStats`; ``result_key`` is the training result's key)."""

    config = peewee.ForeignKeyField(Nb201TrainedTrialConfig, column_name="config_id", backref="trial_stats")
    source = peewee.ForeignKeyField(Nb201Source, column_name="source_id", index=False, backref="trained_trials")

    class Meta:
        table_name = "nb201_trained_trialstats"


class Nb201TrainedEpoch(Nb201Epoch):
    """Per-epoch results of :class:`Nb201TrainedTrialStats`; table ``nb201_trained_epoch`` (as :class:`Nb201Epoch`)."""

    trial = peewee.ForeignKeyField(Nb201TrainedTrialStats, column_name="trial_id", backref="epochs", index=False)

    class Meta:
        table_name = "nb201_trained_epoch"
        primary_key = peewee.CompositeKey("trial", "current_epoch")
        without_rowid = True


NB201_TABLES = (Source, Nb201Arch, Nb201TrialConfig, Nb201TrialStats, Nb201Epoch, Nb201TrainedTrialConfig,
                Nb201TrainedTrialStats, Nb201TrainedEpoch)
NB201_VIEWS = (
    f"""CREATE VIEW nb201intermediatestats AS
       SELECT {EPOCH_ID_BASE} * trial_id + current_epoch AS id, trial_id, current_epoch, train_acc, valid_acc,
              test_acc, ori_test_acc, train_loss, valid_loss, test_loss, ori_test_loss
       FROM nb201_epoch""",
)


class NatsSssArch(_NatsSssModel):
    """One NATS size-space architecture (32,768 rows); table ``nats_sss_arch``.

    ============== ==================================================================================================
    field          meaning
    ============== ==================================================================================================
    id             the benchmark index 0..32,767 (position in ``meta_archs``)
    arch           channels ``'C1:C2:C3:C4:C5'``, each in 8..64 step 8
    c1 .. c5       the five channel counts
    ============== ==================================================================================================
    """

    id = peewee.IntegerField(primary_key=True)
    arch = peewee.CharField(max_length=20, unique=True)
    c1 = peewee.IntegerField()
    c2 = peewee.IntegerField()
    c3 = peewee.IntegerField()
    c4 = peewee.IntegerField()
    c5 = peewee.IntegerField()

    class Meta:
        table_name = "nats_sss_arch"


class NatsSssTrialConfig(_NatsSssModel):
    """One (size-space architecture, epoch budget, dataset); table ``nats_sss_trialconfig`` (NNI's style).

    All 32,768 x 3 x 4 = 393,216 configs exist, with ``id = 12 * arch_index + 4 * position of num_epochs in
    (1, 12, 90) + position of dataset in (cifar10-valid, cifar10, cifar100, imagenet16-120) + 1``.

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    arch           channels ``'C1:C2:C3:C4:C5'`` (the cell is fixed: NB-201 index 9930)
    arch_index     benchmark index 0..32,767
    num_epochs     1, 12 or 90 (NATS hp '01', '12', '90')
    dataset        'cifar10-valid', 'cifar10', 'cifar100' or 'imagenet16-120'
    ============== ==================================================================================================
    """

    arch = peewee.CharField(max_length=20)
    arch_index = peewee.IntegerField()
    num_epochs = peewee.IntegerField()
    dataset = peewee.CharField(max_length=20)

    class Meta:
        table_name = "nats_sss_trialconfig"
        indexes = ((("arch_index", "num_epochs", "dataset"), True), (("dataset", "num_epochs"), False),
                   (("arch",), False))


class NatsSssTrialStats(Nb201TrialStats):
    """One training run of a size-space config; table ``nats_sss_trialstats``.

    Fields, splits and units as :class:`Nb201TrialStats`, except ``parameters`` and ``flops``: the file's values
    (millions), which agree across seeds and epoch budgets.
    """

    # Every other field is Nb201TrialStats' (one field list for both spaces); only the rows it points to differ.
    config = peewee.ForeignKeyField(NatsSssTrialConfig, column_name="config_id", backref="trial_stats")
    source = peewee.ForeignKeyField(NatsSssSource, column_name="source_id", index=False)

    class Meta:
        database = DATABASES["nats_sss"]
        table_name = "nats_sss_trialstats"


class NatsSssEpoch(Nb201Epoch):
    """Per-epoch results of one size-space trial; table ``nats_sss_epoch`` (as :class:`Nb201Epoch`)."""

    trial = peewee.ForeignKeyField(NatsSssTrialStats, column_name="trial_id", backref="epochs", index=False)

    class Meta:
        database = DATABASES["nats_sss"]
        table_name = "nats_sss_epoch"
        primary_key = peewee.CompositeKey("trial", "current_epoch")
        without_rowid = True


class NatsSssIntermediateStats(Nb201IntermediateStats):
    """Read-only view ``nats_sss_intermediatestats`` over :class:`NatsSssEpoch` (as :class:`Nb201IntermediateStats`)."""

    trial = peewee.ForeignKeyField(NatsSssTrialStats, column_name="trial_id", backref="intermediates")

    class Meta:
        database = DATABASES["nats_sss"]
        table_name = "nats_sss_intermediatestats"


class NatsSssTrainedTrialConfig(NatsSssTrialConfig):
    """Configs of size-space runs from other sources; table ``nats_sss_trained_trialconfig`` (as
    :class:`Nb201TrainedTrialConfig`)."""

    class Meta:
        database = DATABASES["nats_sss"]
        table_name = "nats_sss_trained_trialconfig"


class NatsSssTrainedTrialStats(NatsSssTrialStats):
    """Size-space runs of sources other than the released file; table ``nats_sss_trained_trialstats``."""

    config = peewee.ForeignKeyField(NatsSssTrainedTrialConfig, column_name="config_id", backref="trial_stats")
    source = peewee.ForeignKeyField(NatsSssSource, column_name="source_id", index=False, backref="trained_trials")

    class Meta:
        database = DATABASES["nats_sss"]
        table_name = "nats_sss_trained_trialstats"


class NatsSssTrainedEpoch(NatsSssEpoch):
    """Per-epoch results of :class:`NatsSssTrainedTrialStats`; table ``nats_sss_trained_epoch``."""

    trial = peewee.ForeignKeyField(NatsSssTrainedTrialStats, column_name="trial_id", backref="epochs", index=False)

    class Meta:
        database = DATABASES["nats_sss"]
        table_name = "nats_sss_trained_epoch"
        primary_key = peewee.CompositeKey("trial", "current_epoch")
        without_rowid = True


NATS_SSS_TABLES = (Source, NatsSssArch, NatsSssTrialConfig, NatsSssTrialStats, NatsSssEpoch,
                   NatsSssTrainedTrialConfig, NatsSssTrainedTrialStats, NatsSssTrainedEpoch)
NATS_SSS_VIEWS = (
    f"""CREATE VIEW nats_sss_intermediatestats AS
       SELECT {EPOCH_ID_BASE} * trial_id + current_epoch AS id, trial_id, current_epoch, train_acc, valid_acc,
              test_acc, ori_test_acc, train_loss, valid_loss, test_loss, ori_test_loss
       FROM nats_sss_epoch""",
)


# ----------------------------------------------------------------------------------------------------------------------
# NDS: NNI's three tables under NNI's names (the converter writes them directly), plus per-trial provenance.
#
# NDS rows have nothing to factor out (one config per distinct net + hyper-parameters, one stats row per job, one row
# per epoch), so compact tables behind views would hold the same columns under other names. Using NNI's table names
# and columns instead lets one query path and these models serve both our file and NNI's prebuilt nds-5745c235.db.
# Differences, all invisible to NNI's API: the per-epoch table is clustered on (trial_id, current_epoch) (WITHOUT
# ROWID, no separate indexes: about 15% smaller per row than NNI's rowid table, no 20M-row index to build, and a
# trial's curve is one contiguous range), the config table indexes (cell_spec, model_spec) together, and every metric
# column is nullable (NaN in the source -> NULL).


class _NdsModel(_LayoutAwareModel):
    class Meta:
        database = DATABASES["nds"]


class NdsJSONField(peewee.TextField):
    """A JSON column stored as sorted-key JSON without whitespace (:func:`nasbench_db.spaces.nds.canonical_json`).

    That text is what NNI's ``JSONField`` stores too, so ``NdsTrialConfig.model_spec == {...}`` matches whatever the
    key order, on our files, NNI's prebuilt file and PostgreSQL alike (list order matters). A ``str`` is taken as
    already-encoded JSON.
    """

    def db_value(self, value):
        if value is None or isinstance(value, str):
            return value
        if layout_of(self.model) == "nni":
            return peewee.fn.json(json.dumps(value, sort_keys=True))  # NNI's own comparison on NNI's file
        return _nds.canonical_json(value)

    def python_value(self, value):
        if value is None or not isinstance(value, str):
            return value
        return json.loads(value)


class NdsTrialConfig(_NdsModel):
    """NNI's ``NdsTrialConfig``: one distinct (net, hyper-parameters, sweep setting); table ``ndstrialconfig``.

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    id             integer key; configs are numbered in NNI's file order, so ids equal NNI's with all 34 files
    model_family   'nas_cell', 'residual_bottleneck', 'residual_basic' or 'vanilla'
    model_spec     JSON dict. nas_cell: num_nodes_normal, num_nodes_reduce, depth (cells), width (channels), aux
                   (bool, auxiliary head), drop_prob (drop-path probability); residual_bottleneck: bot_muls, ds, num_gs,
                   ss, ws (per-stage bottleneck multipliers, depths, groups, strides, widths); residual_basic and
                   vanilla: ds, ss, ws
    cell_spec      JSON dict; {} except for nas_cell: ``<normal|reduce>_<i>_op_<x|y>`` (op name),
                   ``<normal|reduce>_<i>_input_<x|y>`` (int; 0, 1 = the two previous cells), ``normal_concat``,
                   ``reduce_concat`` (lists of node indices)
    dataset        'cifar10' or 'imagenet' (the ``_in`` sweeps)
    generator      'random', 'fix_w_d' (width and depth fixed) or 'tune_lr_wd' (lr and weight decay sampled too)
    proposer       design space: amoeba, darts, enas, nasnet, pnas, resnext-a, resnext-b, resnet-b, resnet, vanilla
    base_lr        initial learning rate (the job's ``optim.base_lr``)
    weight_decay   L2 weight decay (``optim.wd``)
    num_epochs     epochs of the cosine schedule (``optim.max_ep``; 100 on CIFAR-10 sweeps)
    ============== ==================================================================================================
    """

    model_family = peewee.CharField(max_length=20, index=True)
    model_spec = NdsJSONField(index=True)
    cell_spec = NdsJSONField(null=True)
    dataset = peewee.CharField(max_length=15, index=True)
    generator = peewee.CharField(max_length=15, index=True)
    proposer = peewee.CharField(max_length=15, index=True)
    base_lr = peewee.DoubleField()
    weight_decay = peewee.DoubleField()
    num_epochs = peewee.IntegerField()

    class Meta:
        table_name = "ndstrialconfig"
        # (cell_spec, model_spec) rather than NNI's cell_spec index: each spec alone is skewed (every non-cell config
        # has cell_spec {}, every fix_w_d cell of a design space the same model_spec); the pair is near-unique.
        indexes = ((("cell_spec", "model_spec"), False),)


class NdsTrialStats(_NdsModel):
    """NNI's ``NdsTrialStats``: one training job of a sweep file; table ``ndstrialstats``.

    The files give per-epoch top-1 *errors* in percent; accuracies here are ``100 - error``.

    ================ ================================================================================================
    field            meaning (unit)
    ================ ================================================================================================
    id               integer key, in file order (equal to NNI's with all 34 files)
    config           the :class:`NdsTrialConfig` (column ``config_id``)
    seed             the job's ``rng_seed``
    final_train_acc  percent (0-100), 100 - ``train_ep_top1[-1]``
    final_train_loss cross-entropy, ``train_ep_loss[-1]``; NULL where the source has NaN
    final_test_acc   percent, 100 - ``test_ep_top1[-1]`` (NDS has no validation split: test is the only eval set)
    best_train_acc   percent, 100 - min over epochs of ``train_ep_top1``
    best_train_loss  min over epochs of ``train_ep_loss`` ignoring NaN (NULL if every epoch is NaN)
    best_test_acc    percent, 100 - min over epochs of ``test_ep_top1``
    parameters       millions of parameters (``params / 1e6``)
    flops            millions of FLOPs, i.e. multiply-adds, per image (``flops / 1e6``)
    iter_time        seconds per training iteration (the job's ``iter_time``)
    ================ ================================================================================================

    Metric columns are nullable (NULL = NaN in the source). Which file and job a trial came from is in
    :class:`NdsTrialOrigin`.
    """

    config = peewee.ForeignKeyField(NdsTrialConfig, column_name="config_id", backref="trial_stats")
    seed = peewee.IntegerField(null=True)
    final_train_acc = peewee.DoubleField(null=True)
    final_train_loss = peewee.DoubleField(null=True)
    final_test_acc = peewee.DoubleField(null=True)
    best_train_acc = peewee.DoubleField(null=True)
    best_train_loss = peewee.DoubleField(null=True)
    best_test_acc = peewee.DoubleField(null=True)
    parameters = peewee.DoubleField(null=True)
    flops = peewee.DoubleField(null=True)
    iter_time = peewee.DoubleField(null=True)

    class Meta:
        table_name = "ndstrialstats"


class NdsIntermediateStats(_NdsModel):
    """NNI's ``NdsIntermediateStats``: one epoch of one trial; table ``ndsintermediatestats``.

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    id             integer, numbered in file order like NNI's (not the key here)
    trial          the :class:`NdsTrialStats` (column ``trial_id``); key with ``current_epoch``
    current_epoch  1-based epoch (1 .. num_epochs)
    train_loss     cross-entropy on the training set at that epoch; NULL where the source has NaN
    train_acc      percent (0-100), 100 - ``train_ep_top1[epoch - 1]``
    test_acc       percent, 100 - ``test_ep_top1[epoch - 1]``
    ============== ==================================================================================================
    """

    id = peewee.IntegerField()
    trial = peewee.ForeignKeyField(NdsTrialStats, column_name="trial_id", backref="intermediates", index=False)
    current_epoch = peewee.IntegerField()
    train_loss = peewee.DoubleField(null=True)
    train_acc = peewee.DoubleField(null=True)
    test_acc = peewee.DoubleField(null=True)

    class Meta:
        table_name = "ndsintermediatestats"
        # In SQLite files the converter makes this table WITHOUT ROWID (clustered on the key); not declared here
        # because peewee would emit that SQLite-only clause on PostgreSQL too.
        primary_key = peewee.CompositeKey("trial", "current_epoch")


class NdsTrialOrigin(_NdsModel):
    """Where each NDS trial came from (not in NNI; absent from NNI's prebuilt file); table ``nds_trial_origin``.

    NNI merges the runs of one config across files (e.g. ``ResNet.json`` and ``ResNet_rng1..3.json``); this table
    keeps them apart.

    ============== ==================================================================================================
    field          meaning
    ============== ==================================================================================================
    trial          the :class:`NdsTrialStats` (column ``trial_id``, primary key)
    source         provenance row (:class:`NdsSource`, column ``source_id``)
    sweep          sweep file stem, e.g. 'ResNet_rng2'
    rerun_group    'top' or 'mid' for the ``*_reruns`` files, else NULL
    job_index      0-based position of the job in its file (or rerun group)
    job_id         the job's ``job_id`` as text (NULL if absent)
    ============== ==================================================================================================
    """

    trial = peewee.ForeignKeyField(NdsTrialStats, column_name="trial_id", primary_key=True, backref="origin")
    source = peewee.ForeignKeyField(NdsSource, column_name="source_id", index=False)
    sweep = peewee.CharField(max_length=32, index=True)
    rerun_group = peewee.CharField(max_length=8, null=True)
    job_index = peewee.IntegerField()
    job_id = peewee.TextField(null=True)

    class Meta:
        table_name = "nds_trial_origin"


NDS_TABLES = (Source, NdsTrialConfig, NdsTrialStats, NdsIntermediateStats, NdsTrialOrigin)


# ----------------------------------------------------------------------------------------------------------------------
# Joined data: HW-NAS-Bench hardware costs and NAS-Bench-Suite-Zero zero-cost proxies (not in NNI).
#
# They live in the database of the space they describe (nasbench201.db, nasbench101.db), keyed by the space's own
# architecture key (NB-201 index, NB-101 hash), so one SQL statement joins them to the trials. Every row points to
# its provenance row (kind 'hw-nasbench' or 'zc'); no original row and no NNI view changes when they are loaded.
# Datasets are stored under NNI's lower-case names; NB-201's 'cifar10-valid' configs join the 'cifar10' rows (the
# same network and images).

#: ``nasbench_source.kind`` of joined data (tables of costs and proxies, not training runs).
JOINED_SOURCE_KINDS = ("hw-nasbench", "zc")

#: HW-NAS-Bench's NB-201-space metrics in the order of its API, with units and how they were obtained.
HW_NB201_METRICS = {
    "edgegpu_latency": ("ms", "NVIDIA Jetson TX2 edge GPU, measured"),
    "edgegpu_energy": ("mJ", "NVIDIA Jetson TX2 edge GPU, measured"),
    "raspi4_latency": ("ms", "Raspberry Pi 4, measured"),
    "edgetpu_latency": ("ms", "Google Edge TPU dev board, measured"),
    "pixel3_latency": ("ms", "Google Pixel 3 phone, measured"),
    "eyeriss_latency": ("ms", "Eyeriss ASIC, estimated"),
    "eyeriss_energy": ("mJ", "Eyeriss ASIC, estimated"),
    "eyeriss_arithmetic_intensity": ("ops per byte moved (HW-NAS-Bench states no unit)", "Eyeriss ASIC, estimated"),
    "fpga_latency": ("ms", "Xilinx ZC706 FPGA, estimated"),
    "fpga_energy": ("mJ", "Xilinx ZC706 FPGA, estimated"),
}
#: The metrics HW-NAS-Bench's ``average_hw_metric`` multiplies, in its order (every metric but the intensity).
HW_AVERAGE_FACTORS = tuple(m for m in HW_NB201_METRICS if m != "eyeriss_arithmetic_intensity")
#: HW-NAS-Bench's FBNet-space metrics (one lookup table each), in the order of its API.
HW_FBNET_METRICS = ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "pixel3_latency", "eyeriss_latency",
                    "eyeriss_energy", "fpga_latency", "fpga_energy")


class HwNb201Metric(_Nb201Model):
    """HW-NAS-Bench's hardware costs of one NB-201 cell on one dataset; table ``hw_nb201_metric``.

    ============================ ==================================================================================
    field                        meaning (unit)
    ============================ ==================================================================================
    arch_index                   NB-201 index 0..15,624 (the file's list position; its config's arch_str is checked
                                 against the index)
    dataset                      'cifar10', 'cifar100' or 'imagenet16-120' (NNI's names)
    file_dataset                 the file's own key ('cifar10', 'cifar100', 'ImageNet16-120')
    edgegpu_latency              ms on an NVIDIA Jetson TX2 edge GPU (measured)
    edgegpu_energy               mJ on the Jetson TX2 (measured)
    raspi4_latency               ms on a Raspberry Pi 4 (measured)
    edgetpu_latency              ms on a Google Edge TPU dev board (measured)
    pixel3_latency               ms on a Google Pixel 3 (measured)
    eyeriss_latency              ms on the Eyeriss ASIC (estimated by its simulator)
    eyeriss_energy               mJ on Eyeriss (estimated)
    eyeriss_arithmetic_intensity arithmetic intensity on Eyeriss (operations per byte moved; no unit is stated)
    fpga_latency                 ms on a Xilinx ZC706 FPGA (estimated)
    fpga_energy                  mJ on the ZC706 (estimated)
    config                       JSON of the file's network config (``get_net_config``: name, C, N, arch_str,
                                 num_classes, in the file's key order)
    source                       provenance row (:class:`Nb201Source`, kind 'hw-nasbench')
    ============================ ==================================================================================

    Values are the file's doubles, unscaled; NULL where the file has no value (or NaN). ``average_hw_metric`` is not
    stored: it is the product of the nine metrics other than the intensity (:data:`HW_AVERAGE_FACTORS`).
    The view ``hw_nb201_device`` gives the same values one row per (arch_index, dataset, device): ``device`` (edgegpu,
    raspi4, edgetpu, pixel3, eyeriss or fpga), ``latency`` (ms), ``energy`` (mJ), ``arithmetic_intensity`` (Eyeriss
    only; no unit is stated).
    """

    arch_index = peewee.IntegerField()
    dataset = peewee.CharField(max_length=20)
    file_dataset = peewee.CharField(max_length=40)
    edgegpu_latency = peewee.DoubleField(null=True)
    edgegpu_energy = peewee.DoubleField(null=True)
    raspi4_latency = peewee.DoubleField(null=True)
    edgetpu_latency = peewee.DoubleField(null=True)
    pixel3_latency = peewee.DoubleField(null=True)
    eyeriss_latency = peewee.DoubleField(null=True)
    eyeriss_energy = peewee.DoubleField(null=True)
    eyeriss_arithmetic_intensity = peewee.DoubleField(null=True)
    fpga_latency = peewee.DoubleField(null=True)
    fpga_energy = peewee.DoubleField(null=True)
    config = peewee.TextField(null=True)
    source = peewee.ForeignKeyField(Nb201Source, column_name="source_id", index=False)

    class Meta:
        table_name = "hw_nb201_metric"
        primary_key = peewee.CompositeKey("arch_index", "dataset")


class HwFbnetLookup(_Nb201Model):
    """One entry of HW-NAS-Bench's FBNet-space lookup tables; table ``hw_fbnet_lookup``.

    The FBNet space (:mod:`nasbench_db.spaces.fbnet`) is not tabulated per network: a network's cost on a device is
    the sum of its layers' entries. The tables come from the same pickle as :class:`HwNb201Metric` and are kept in
    the same database.

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    metric         e.g. 'edgegpu_latency' (ms) or 'eyeriss_energy' (mJ): :data:`HW_FBNET_METRICS` and any other
                   table the file holds
    position       the entry's position in the file's table (its dict order)
    op_key         the layer key, e.g. ``ConvBlock_H32_W32_Cin16_Cout24_exp6_kernel5_stride1_group1``
    value          the file's value (ms or mJ); NULL where the file has NaN
    source         provenance row (:class:`Nb201Source`, kind 'hw-nasbench')
    ============== ==================================================================================================
    """

    metric = peewee.CharField(max_length=64)
    position = peewee.IntegerField()
    op_key = peewee.TextField()
    value = peewee.DoubleField(null=True)
    source = peewee.ForeignKeyField(Nb201Source, column_name="source_id", index=False)

    class Meta:
        table_name = "hw_fbnet_lookup"
        primary_key = peewee.CompositeKey("metric", "position")


def _hw_device_view() -> str:
    devices = {}
    for metric in HW_NB201_METRICS:
        device, _, kind = metric.partition("_")
        devices.setdefault(device, {})[kind] = metric
    parts = []
    for device, kinds in devices.items():
        columns = [kinds.get(kind, "CAST(NULL AS DOUBLE PRECISION)")
                   for kind in ("latency", "energy", "arithmetic_intensity")]
        parts.append(f"SELECT arch_index, dataset, '{device}' AS device, {columns[0]} AS latency, "
                     f"{columns[1]} AS energy, {columns[2]} AS arithmetic_intensity, source_id FROM hw_nb201_metric")
    return "CREATE VIEW hw_nb201_device AS " + " UNION ALL ".join(parts)


HW_NB201_TABLES = (HwNb201Metric, HwFbnetLookup)
HW_NB201_VIEWS = (_hw_device_view(),)


class _ZcScoreFields(peewee.Model):
    """Fields of one zero-cost proxy score (shared by the NB-101 and NB-201 tables)."""

    dataset = peewee.CharField(max_length=40)
    proxy = peewee.CharField(max_length=64)
    score = peewee.DoubleField(null=True)
    time = peewee.DoubleField(null=True)


class ZcNb201Score(_ZcScoreFields):
    """One NAS-Bench-Suite-Zero proxy score of an NB-201 cell; table ``zc_nb201_score``.

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    arch_index     NB-201 index of the file's key (NASLib op indices, :func:`nasbench_db.spaces.nb201.from_naslib`)
    dataset        'cifar10', 'cifar100' or 'imagenet16-120' (the file's dataset, lower-case)
    proxy          the file's proxy name: synflow, snip, grasp, fisher, grad_norm, jacov, nwot, epe_nas, l2_norm,
                   plain, zen, ... and NASLib's own ``params`` (millions) and ``flops`` (millions; NASLib counts BN,
                   ReLU and pooling too, so it is larger than NB-201's ``flops``)
    score          the proxy's value, unscaled (may be +-Infinity where NASLib stored one)
    time           seconds NASLib took to compute it (NULL when the file gives a bare number)
    source         provenance row (:class:`Nb201Source`, kind 'zc')
    ============== ==================================================================================================
    """

    arch_index = peewee.IntegerField()
    source = peewee.ForeignKeyField(Nb201Source, column_name="source_id", index=False)

    class Meta:
        database = DATABASES["nb201"]
        table_name = "zc_nb201_score"
        primary_key = peewee.CompositeKey("arch_index", "dataset", "proxy")


class ZcNb201Record(_Nb201Model):
    """What a zero-cost file says about an NB-201 cell besides its scores; table ``zc_nb201_record``.

    ``arch_index``, ``dataset`` as :class:`ZcNb201Score`; ``naslib_idx``: the record's ``idx`` (NASLib's sample
    number, not an arch index); ``val_accuracy``: the validation accuracy NASLib recorded beside the scores
    (percent; NASLib queried cifar10-valid for cifar10); ``source``: provenance row (kind 'zc').
    """

    arch_index = peewee.IntegerField()
    dataset = peewee.CharField(max_length=40)
    naslib_idx = peewee.TextField(null=True)
    val_accuracy = peewee.DoubleField(null=True)
    source = peewee.ForeignKeyField(Nb201Source, column_name="source_id", index=False)

    class Meta:
        table_name = "zc_nb201_record"
        primary_key = peewee.CompositeKey("arch_index", "dataset")


class ZcNb101Score(_ZcScoreFields):
    """One NAS-Bench-Suite-Zero proxy score of an NB-101 cell; table ``zc_nb101_score``.

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    hash           the cell's graph hash after pruning (the file's key is NASLib's tuple: matrix entries, then op
                   indices, :func:`nasbench_db.spaces.nb101.from_naslib_tuple`)
    form           0 for the cell's first key in the file, 1, 2... for later keys of the same cell: NASLib scores
                   labelled matrices, and isomorphic relabellings or different ops on pruned vertices are one NB-101
                   cell with one set of results (the real zc_nasbench101.json: 500 keys, 292 cells). Joins to the
                   benchmark read form 0, the file's own value
    dataset        'cifar10'
    proxy, score,  as :class:`ZcNb201Score` (``time`` in seconds; NULL when the file gives bare numbers, as the real
    time           zc_nasbench101.json does)
    source         provenance row (:class:`Source`, kind 'zc')
    ============== ==================================================================================================
    """

    hash = peewee.CharField(max_length=32)
    form = peewee.IntegerField()
    source = peewee.ForeignKeyField(Source, column_name="source_id", index=False)

    class Meta:
        database = DATABASES["nb101"]
        table_name = "zc_nb101_score"
        primary_key = peewee.CompositeKey("hash", "dataset", "form", "proxy")


class ZcNb101Record(_Nb101Model):
    """What a zero-cost file says about an NB-101 cell besides its scores; table ``zc_nb101_record``.

    ``hash``, ``form`` and ``dataset`` as :class:`ZcNb101Score`; ``naslib_key``: the file's key (the labelled form
    NASLib scored); ``naslib_idx``, ``val_accuracy`` (NASLib's query of one random run of the cell, percent) and
    ``source`` as :class:`ZcNb201Record`.
    """

    hash = peewee.CharField(max_length=32)
    form = peewee.IntegerField()
    dataset = peewee.CharField(max_length=40)
    naslib_key = peewee.TextField()
    naslib_idx = peewee.TextField(null=True)
    val_accuracy = peewee.DoubleField(null=True)
    source = peewee.ForeignKeyField(Source, column_name="source_id", index=False)

    class Meta:
        table_name = "zc_nb101_record"
        primary_key = peewee.CompositeKey("hash", "dataset", "form")


ZC_NB201_TABLES = (ZcNb201Score, ZcNb201Record)
ZC_NB101_TABLES = (ZcNb101Score, ZcNb101Record)
#: benchmark -> (tables, views) of its joined data
JOINED_SCHEMAS = {"nb201": (HW_NB201_TABLES + ZC_NB201_TABLES, HW_NB201_VIEWS), "nb101": (ZC_NB101_TABLES, ())}



# ----------------------------------------------------------------------------------------------------------------------
# NAS-Bench-NLP (benchmark 'nlp', file nlp.db).
#
# Layout: NNI's config table under NNI's name (``nlptrialconfig``: one row per distinct recipe and dataset), every
# run of the logs in ``nlp_trial`` (whatever its status, with its provenance and log metadata) and every logged epoch
# in ``nlp_epoch`` (WITHOUT ROWID, clustered on (trial_id, current_epoch)). NNI's ``nlptrialstats`` and
# ``nlpintermediatestats`` are views showing the runs NNI keeps (status 'OK'), so the NNI models and NNI-style SQL
# answer as NNI does, on our file and on NNI's own nlp.db alike.
#
# Units: losses are mean cross-entropies in nats per token (natural log; perplexity = exp(loss), see the
# ``*_perplexity`` properties); times are seconds of training of one epoch, as logged (``wall_times``): the trial's
# ``training_time`` is its last epoch's, as in NNI, and ``total_training_time`` (our table only) the whole run's.


class _NlpModel(_LayoutAwareModel):
    class Meta:
        database = DATABASES["nlp"]


class NlpSource(Source):
    """Provenance rows of the NAS-Bench-NLP database (fields as :class:`Source`; one row per logs archive or
    folder converted)."""

    class Meta:
        table_name = "nasbench_source"
        database = DATABASES["nlp"]


class NlpArchField(peewee.TextField):
    """NNI's flattened recipe (``{'<node>_op': op, '<node>_input_<i>': name}``) stored as sorted-key JSON without
    whitespace (:func:`nasbench_db.spaces.nlp.canonical_json`), the text NNI's ``JSONField`` stores too.

    ``NlpTrialConfig.arch == arch`` takes NNI's flat dict, the recipe dict or the recipe's JSON text, in any key or
    node order (input order matters); on NNI's file it is compared through SQLite's ``json()`` as NNI does.
    """

    def db_value(self, value):
        if value is None:
            return None
        try:
            flat = _nlp.parse_arch(value)
        except ValueError:
            flat = None
        if layout_of(self.model) == "nni":
            return peewee.fn.json(json.dumps(flat if flat is not None else value, sort_keys=True, default=str))
        if flat is None:  # not a cell: a text no row holds, as NNI would find none
            return json.dumps(value, sort_keys=True, default=str) + " "
        return _nlp.flat_json(flat)

    def python_value(self, value):
        if value is None or not isinstance(value, str):
            return value
        return json.loads(value)


class _NlpPerplexities:
    """``train/val/test_perplexity``: exp of the loss (None where the loss is None)."""

    @property
    def train_perplexity(self):
        return _nlp.perplexity(self.train_loss)

    @property
    def val_perplexity(self):
        return _nlp.perplexity(self.val_loss)

    @property
    def test_perplexity(self):
        return _nlp.perplexity(self.test_loss)


class NlpTrialConfig(_NlpModel):
    """NNI's ``NlpTrialConfig``: one cell trained on one dataset; table ``nlptrialconfig``.

    NNI creates one config per log file (a recipe trained twice has two configs); here the same recipe on the same
    dataset is one config (its canonical key, :func:`nasbench_db.spaces.nlp.canonical_json`) holding every run.
    Every run of the scheduled 50 epochs used the same hyper-parameters (kept per run in :class:`NlpTrial`).

    ============== ==================================================================================================
    field          meaning
    ============== ==================================================================================================
    id             integer key, in order of first appearance in the converted logs (NNI's ids follow its directory
                   listing, so they differ)
    arch           NNI's flattened recipe: ``{'<node>_op': op, '<node>_input_<i>': input name}``
    dataset        'ptb' or 'wikitext-2'
    ============== ==================================================================================================
    """

    arch = NlpArchField()
    dataset = peewee.CharField(max_length=15)

    class Meta:
        table_name = "nlptrialconfig"
        indexes = ((("arch", "dataset"), True), (("dataset",), False))


class NlpTrial(_NlpModel, _NlpPerplexities):
    """One training run (one log file), whatever its status; table ``nlp_trial`` (not in NNI).

    ===================== ===========================================================================================
    field                 meaning (unit)
    ===================== ===========================================================================================
    id                    integer key (:class:`NlpTrialStats` shows the same id for the runs NNI keeps)
    config                the :class:`NlpTrialConfig` (column ``config_id``)
    source                provenance row (:class:`NlpSource`): the archive or folder the log came from
    log_name              the log's file name, ``log_stats_model_<recipe_id>_<init_time>_<experiment_id>.json``
    status                the log's status: 'OK' (all epochs trained; the runs NNI keeps), 'loss is nan!' (stopped
                          at the first NaN loss), 'KeyboardInterrupt' or 'Exception: ...'
    recipe_id             index of the recipe in the authors' list (the same recipe may have several)
    experiment_id         the run's experiment id
    init_time             when the run started, as logged (``YYYY-MM-DD_HH-MM-SS``)
    num_params            trainable parameters of the whole language model (count)
    epochs                epochs scheduled (``args.epochs``, 50)
    epochs_run            epochs logged (50 for 'OK' runs; fewer for runs that stopped)
    train_loss            loss at the last logged epoch on the training set, nats per token; NULL where NaN
    val_loss              same on the validation set
    test_loss             same on the test set
    training_time         seconds of training of the last logged epoch (``wall_times[-1]``, NNI's value)
    total_training_time   seconds of training of all logged epochs (sum of ``wall_times``; evaluation excluded)
    hyperparameters       JSON object of the log's training arguments (batch_size, bptt, lr, dropout, emsize, nhid,
                          nlayers, ...: everything but the recipe, results and identifiers)
    ===================== ===========================================================================================
    """

    id = peewee.IntegerField(primary_key=True)
    config = peewee.ForeignKeyField(NlpTrialConfig, column_name="config_id", backref="runs")
    source = peewee.ForeignKeyField(NlpSource, column_name="source_id", index=False)
    log_name = peewee.TextField()
    status = peewee.TextField(index=True)
    recipe_id = peewee.IntegerField(null=True)
    experiment_id = peewee.BigIntegerField(null=True)
    init_time = peewee.CharField(max_length=32, null=True)
    num_params = peewee.BigIntegerField(null=True)
    epochs = peewee.IntegerField(null=True)
    epochs_run = peewee.IntegerField()
    train_loss = peewee.DoubleField(null=True)
    val_loss = peewee.DoubleField(null=True)
    test_loss = peewee.DoubleField(null=True)
    training_time = peewee.DoubleField(null=True)
    total_training_time = peewee.DoubleField(null=True)
    hyperparameters = peewee.TextField(null=True)

    class Meta:
        table_name = "nlp_trial"


class NlpEpoch(_NlpModel):
    """One logged epoch of one run (any status); table ``nlp_epoch`` (WITHOUT ROWID, key ``(trial_id,
    current_epoch)``; not in NNI).

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    trial          the :class:`NlpTrial` (column ``trial_id``)
    current_epoch  1-based epoch
    train_loss     loss on the training set after that epoch, nats per token; NULL where the log has NaN
    val_loss       same on the validation set
    test_loss      same on the test set
    training_time  seconds of training of that epoch (the log's ``wall_times`` entry; evaluation excluded)
    ============== ==================================================================================================
    """

    trial = peewee.ForeignKeyField(NlpTrial, column_name="trial_id", backref="epochs", index=False)
    current_epoch = peewee.IntegerField()
    train_loss = peewee.DoubleField(null=True)
    val_loss = peewee.DoubleField(null=True)
    test_loss = peewee.DoubleField(null=True)
    training_time = peewee.DoubleField(null=True)

    class Meta:
        table_name = "nlp_epoch"
        primary_key = peewee.CompositeKey("trial", "current_epoch")
        without_rowid = True


class NlpTrialStats(_NlpModel, _NlpPerplexities):
    """NNI's ``NlpTrialStats``: the final results of one run NNI keeps (status 'OK'); a read-only view
    ``nlptrialstats`` over :class:`NlpTrial` here, NNI's table in NNI's file.

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    config         the :class:`NlpTrialConfig` (column ``config_id``)
    train_loss     loss after the last (50th) epoch on the training set, nats per token (``train_perplexity`` =
                   exp of it)
    val_loss       same on the validation set (``val_perplexity``)
    test_loss      same on the test set (``test_perplexity``)
    training_time  seconds of training of the last epoch (NNI's ``wall_times[-1]``; the run's total is the sum of
                   its intermediates' ``training_time``, or :class:`NlpTrial` ``total_training_time``)
    ============== ==================================================================================================
    """

    config = peewee.ForeignKeyField(NlpTrialConfig, column_name="config_id", backref="trial_stats")
    train_loss = peewee.DoubleField(null=True)
    val_loss = peewee.DoubleField(null=True)
    test_loss = peewee.DoubleField(null=True)
    training_time = peewee.DoubleField(null=True)

    class Meta:
        table_name = "nlptrialstats"


class NlpIntermediateStats(_NlpModel, _NlpPerplexities):
    """NNI's ``NlpIntermediateStats``: one epoch (1..50) of a run NNI keeps; a read-only view
    ``nlpintermediatestats`` over :class:`NlpEpoch` here (``id = 1000 * trial_id + current_epoch``), NNI's table in
    NNI's file. Fields as :class:`NlpEpoch` (losses in nats per token, ``training_time`` in seconds of that epoch)."""

    trial = peewee.ForeignKeyField(NlpTrialStats, column_name="trial_id", backref="intermediates")
    current_epoch = peewee.IntegerField()
    train_loss = peewee.DoubleField(null=True)
    val_loss = peewee.DoubleField(null=True)
    test_loss = peewee.DoubleField(null=True)
    training_time = peewee.DoubleField(null=True)

    class Meta:
        table_name = "nlpintermediatestats"


#: Multiplier of the synthetic NLP intermediate id: ``id = NLP_EPOCH_ID_BASE * trial_id + current_epoch``.
NLP_EPOCH_ID_BASE = 1000

NLP_TABLES = (Source, NlpTrialConfig, NlpTrial, NlpEpoch)
NLP_VIEWS = (
    """CREATE VIEW nlptrialstats AS
       SELECT id, config_id, train_loss, val_loss, test_loss, training_time FROM nlp_trial WHERE status = 'OK'""",
    f"""CREATE VIEW nlpintermediatestats AS
       SELECT {NLP_EPOCH_ID_BASE} * e.trial_id + e.current_epoch AS id, e.trial_id AS trial_id,
              e.current_epoch AS current_epoch, e.train_loss AS train_loss, e.val_loss AS val_loss,
              e.test_loss AS test_loss, e.training_time AS training_time
       FROM nlp_epoch e JOIN nlp_trial t ON t.id = e.trial_id WHERE t.status = 'OK'""",
)


# ----------------------------------------------------------------------------------------------------------------------
# NAS-Bench-201 / NATS: what the original API returns beyond NNI's columns (read by nasbench_db.compat)
#
# NNI's tables keep final values, one evaluation time per split and the per-epoch accuracies and losses. The original
# API (``nats_bench`` / ``nas_201_api``) also answers with every epoch's training and evaluation time, the trial's
# eval-set names in their original order, the latency list and the train top-5 curve. Those live here, one row per
# trial, packed: NATS's times are the same number at every epoch, so a constant series takes 8 bytes instead of
# 8 x epochs (the full NATS topology archive adds ~10 MB). Everything else a ResultsCount holds is derived (dataset
# name, seed string, arch_config) or read from NNI's columns; a trial whose data does not fit that (NaN values,
# eval sets outside NNI's split mapping, missing epochs) keeps the differing fields verbatim in ``extra``, so every
# value the original returns can be answered bit for bit. NNI's tables and views are unchanged.

#: Eval-set name -> position of its column in NNI's (train, valid, test, ori_test) order; the set is stored there
#: when NNI's split mapping puts it there for the trial's dataset (every NATS / NB-201 trial).
EVAL_SET_COLUMN = {"x-valid": 1, "x-test": 2, "ori-test": 3}
#: ResultsCount fields that are dicts; in ``extra`` they are stored as ``[[key, value], ...]`` (keys keep their type).
DETAIL_DICT_FIELDS = ("train_acc1es", "train_acc5es", "train_losses", "train_times", "eval_acc1es", "eval_losses",
                      "eval_times")
_EVAL_ABSENT, _EVAL_CONSTANT, _EVAL_PER_EPOCH = 0, 1, 2


def pack_series(values) -> bytes:
    """A per-epoch series (epoch 0 first) as little-endian doubles; 8 bytes when every epoch has the same bits."""
    count = len(values)
    first = values[0] if count else None
    # Equal non-zero floats have equal bits (0.0 and -0.0 do not): the common constant series skips packing it all.
    if count > 1 and isinstance(first, float) and first and values.count(first) == count:
        return _struct.pack("<d", first)
    packed = _struct.pack(f"<{count}d", *values)
    if count > 1 and packed == packed[:8] * count:
        return packed[:8]
    return packed


def unpack_series(blob: bytes, epochs: int) -> list:
    """Inverse of :func:`pack_series` for a trial of ``epochs`` epochs (Python floats, bit for bit)."""
    if len(blob) == 8:
        return [_struct.unpack("<d", blob)[0]] * epochs
    if len(blob) != 8 * epochs:
        raise ValueError(f"a series of {epochs} epochs takes 8 or {8 * epochs} bytes: got {len(blob)}")
    return list(_struct.unpack(f"<{epochs}d", blob))


def pack_eval_times(series_by_set) -> bytes:
    """Evaluation times of each eval set, in the trial's eval-set order: per set a tag byte (0 absent, 1 constant,
    2 per epoch) and its packed series (:func:`pack_series`)."""
    parts = []
    for series in series_by_set:
        if series is None:
            parts.append(bytes((_EVAL_ABSENT,)))
            continue
        packed = pack_series(series)
        tag = _EVAL_CONSTANT if len(packed) == 8 and len(series) > 1 else _EVAL_PER_EPOCH
        parts.append(bytes((tag,)) + packed)
    return b"".join(parts)


def unpack_eval_times(blob: bytes, count: int, epochs: int) -> list:
    """Inverse of :func:`pack_eval_times`: ``count`` series (or None for an absent set) of ``epochs`` values."""
    found, position = [], 0
    for _ in range(count):
        if position >= len(blob):
            raise ValueError("eval_times ends before its last eval set")
        tag = blob[position]
        position += 1
        if tag == _EVAL_ABSENT:
            found.append(None)
            continue
        size = 8 if tag == _EVAL_CONSTANT else 8 * epochs
        if tag not in (_EVAL_CONSTANT, _EVAL_PER_EPOCH) or position + size > len(blob):
            raise ValueError(f"eval_times holds an unknown tag {tag} or too few bytes")
        found.append(unpack_series(blob[position:position + size], epochs))
        position += size
    return found


def encode_detail_extra(fields: dict) -> str | None:
    """``extra`` text of a trial: JSON of the fields kept verbatim (dicts as key/value pairs); None when empty."""
    if not fields:
        return None
    plain = {}
    for name, value in fields.items():
        if name in DETAIL_DICT_FIELDS and isinstance(value, dict):
            value = {"pairs": [[k, v] for k, v in value.items()], "ordered": isinstance(value, _OrderedDict)}
        plain[name] = value
    return json.dumps(plain, sort_keys=True)


def decode_detail_extra(text: str | None) -> dict:
    """Inverse of :func:`encode_detail_extra` (dicts rebuilt with their original key types)."""
    if not text:
        return {}
    fields = json.loads(text)
    for name in DETAIL_DICT_FIELDS:
        value = fields.get(name)
        if isinstance(value, dict) and "pairs" in value:
            pairs = [(k, v) for k, v in value["pairs"]]
            fields[name] = _OrderedDict(pairs) if value.get("ordered") else dict(pairs)
    return fields


class PackedField(peewee.Field):
    """A BLOB column (``BYTEA`` on PostgreSQL) read and written as ``bytes``.

    Not peewee's ``BlobField``: that one asks its database for a binary type whenever a model is re-bound, which
    would open the installed benchmark through the lazy proxy (converters re-bind models to the file they build).
    """

    field_type = "BLOB"

    def db_value(self, value):
        return value if value is None or isinstance(value, bytes) else bytes(value)

    def python_value(self, value):
        return value if value is None or isinstance(value, bytes) else bytes(value)


class Nb201TrialDetail(_Nb201Model):
    """What the original NB-201 / NATS API returns for a trial beyond NNI's columns; table ``nb201_trial_detail``.

    One row per released trial of ``nb201trialstats`` (not in NNI's file; trained results have none). Series are
    packed by :func:`pack_series` (little-endian doubles, epoch 0 first; 8 bytes when constant).

    ============== ==================================================================================================
    field          meaning (unit)
    ============== ==================================================================================================
    trial          the :class:`Nb201TrialStats` (column ``trial_id``, primary key)
    eval_names     the trial's eval sets in the file's order, joined by ',' (e.g. ``ori-test,x-valid,x-test``); their
                   accuracies and losses are NNI's columns (:data:`EVAL_SET_COLUMN`: ``x-valid`` -> valid,
                   ``x-test`` -> test, ``ori-test`` -> ori_test)
    train_times    seconds of training in each epoch (the original ``train_times``); NULL where the file has none
    eval_times     seconds of one evaluation pass of each eval set at each epoch (:func:`pack_eval_times`, in
                   ``eval_names`` order); an empty mapping has only absent tags
    train_acc5     top-5 training accuracy (percent, 0-100) at each epoch (``train_acc5es``); NULL when None
                   (NATS's 200-epoch topology runs)
    extra          JSON (:func:`encode_detail_extra`) of the trial's fields that the columns cannot give back bit
                   for bit (NaN values, irregular keys, a latency list of several values...); NULL for every trial of
                   the released NATS archives
    ============== ==================================================================================================
    """

    trial = peewee.ForeignKeyField(Nb201TrialStats, column_name="trial_id", primary_key=True, backref="detail")
    eval_names = peewee.TextField(null=True)
    train_times = PackedField(null=True)
    eval_times = PackedField(null=True)
    train_acc5 = PackedField(null=True)
    extra = peewee.TextField(null=True)

    class Meta:
        table_name = "nb201_trial_detail"


class NatsSssTrialDetail(Nb201TrialDetail):
    """As :class:`Nb201TrialDetail`, for the NATS size space; table ``nats_sss_trial_detail``."""

    trial = peewee.ForeignKeyField(NatsSssTrialStats, column_name="trial_id", primary_key=True, backref="detail")

    class Meta:
        database = DATABASES["nats_sss"]
        table_name = "nats_sss_trial_detail"


# Every database of these benchmarks has the detail tables (empty where only trained results were ingested).
NB201_TABLES += (Nb201TrialDetail,)
NATS_SSS_TABLES += (NatsSssTrialDetail,)
