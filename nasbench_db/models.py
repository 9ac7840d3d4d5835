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

import peewee

from . import db as _db
from .spaces import nb101 as _nb101


class BenchmarkDatabase(peewee.DatabaseProxy):
    """A database proxy that opens the installed database of one benchmark on first use (and after a swap)."""

    __slots__ = ("obj", "_callbacks", "_Model", "benchmark", "pinned")

    def __init__(self, benchmark: str):
        super().__init__()
        self.benchmark = benchmark
        self.pinned = False

    def __getattr__(self, attr):
        if not self.pinned:
            database = _db.open_benchmark(self.benchmark).database
            if database is not self.obj:
                self.initialize(database)
        return getattr(self.obj, attr)


DATABASES = {name: BenchmarkDatabase(name) for name in _db.FILE_NAMES}


def bind(benchmark: str, database: peewee.Database | None) -> None:
    """Point every model of ``benchmark`` at ``database`` (None: back to the lazily opened installed one)."""
    proxy = DATABASES[_db.check_benchmark(benchmark)]
    proxy.pinned = database is not None
    proxy.initialize(database)


class _Nb101Model(peewee.Model):
    class Meta:
        database = DATABASES["nb101"]


class Source(peewee.Model):
    """Provenance: one row per loaded input (an original file, or a batch of training results).

    ============== ==================================================================================================
    field          meaning
    ============== ==================================================================================================
    benchmark      'nb101', 'nb201', 'nats_sss' or 'nds'
    kind           'original' (a released benchmark file) or 'trained' (``nasbench-db train`` results)
    file_name      base name of the input file or directory
    file_size      bytes of the input
    sha256         hex digest of the input (taken from a verified download's record when there is one)
    converter      converter name and nasbench_db version, e.g. ``nb101-tfrecord nasbench_db 0.1.0``
    created_at     UTC ISO-8601 time of the load
    row_counts     JSON object: table -> rows loaded
    device         device that produced trained results (NULL for originals)
    details        JSON object of anything else worth keeping (record count, epochs seen...)
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

    class Meta:
        table_name = "nasbench_source"
        database = DATABASES["nb101"]


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


class Nb101Config(_Nb101Model):
    """One (cell, epoch budget) pair; ``num_epochs`` in {4, 12, 36, 108} for the released file."""

    id = peewee.AutoField()
    arch = peewee.ForeignKeyField(Nb101Arch, column_name="arch_id", backref="configs", index=False)
    num_epochs = peewee.IntegerField()

    class Meta:
        table_name = "nb101_config"
        indexes = ((("arch", "num_epochs"), True),)


class Nb101Trial(_Nb101Model):
    """One training run with its halfway (epoch E//2) and final (epoch E) evaluations.

    ======================== ======================================================================================
    field                    meaning (unit)
    ======================== ======================================================================================
    config                   the (cell, epochs) this run trained
    repeat                   0, 1, 2...: order of the run among its config's runs in the source file
    source                   provenance row (:class:`Source`); originals and self-trained runs never mix silently
    seed                     training seed when known (self-trained runs); NULL for the released runs
    result_key               unique key of an ingested training result (idempotent ingestion); NULL for originals
    halfway_training_time    seconds of training up to epoch E//2 (TPU v2 for the released runs)
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

    id = peewee.AutoField()
    config = peewee.ForeignKeyField(Nb101Config, column_name="config_id", backref="trials")
    repeat = peewee.IntegerField()
    source = peewee.ForeignKeyField(Source, column_name="source_id", index=False)
    seed = peewee.IntegerField(null=True)
    result_key = peewee.CharField(max_length=64, null=True)
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


# Partial: the millions of released runs have no result_key and cost the index nothing.
Nb101Trial.add_index(Nb101Trial.index(Nb101Trial.result_key, unique=True, where=Nb101Trial.result_key.is_null(False)))


# ----------------------------------------------------------------------------------------------------------------------
# NNI's NB-101 models (views over the compact tables; NNI's own tables in NNI's prebuilt files)


class Nb101ArchField(peewee.TextField):
    """NNI's ``arch`` column: reads as NNI's arch dict.

    In our views the column holds ``'<adjacency>|<operations>'``; in NNI's prebuilt files it holds sorted-key JSON.
    Both read back as ``{'op1': ..., 'input1': [...], ...}``.
    """

    def python_value(self, value):
        if value is None or isinstance(value, dict):
            return value
        if value.startswith("{"):
            return json.loads(value)
        adjacency, _, operations = value.partition("|")
        return _nb101.matrix_to_arch(_nb101.adjacency_to_matrix(adjacency), operations.split(","))

    def db_value(self, value):
        if isinstance(value, dict):
            matrix, ops = _nb101.parse_arch(value)
            return _nb101.matrix_to_adjacency(matrix) + "|" + ",".join(ops)
        return value


class Nb101TrialConfig(_Nb101Model):
    """NNI's ``Nb101TrialConfig``: ``arch`` (NNI dict), ``num_vertices``, ``hash``, ``num_epochs``. Read-only view."""

    arch = Nb101ArchField()
    num_vertices = peewee.IntegerField()
    hash = peewee.CharField(max_length=64)
    num_epochs = peewee.IntegerField()

    class Meta:
        table_name = "nb101trialconfig"


class Nb101TrialStats(_Nb101Model):
    """NNI's ``Nb101TrialStats``: final ``train_acc/valid_acc/test_acc`` (percent), ``parameters`` (millions),
    ``training_time`` (seconds, real). Read-only view."""

    config = peewee.ForeignKeyField(Nb101TrialConfig, column_name="config_id", backref="trial_stats")
    train_acc = peewee.DoubleField()
    valid_acc = peewee.DoubleField()
    test_acc = peewee.DoubleField()
    parameters = peewee.DoubleField()
    training_time = peewee.DoubleField()

    class Meta:
        table_name = "nb101trialstats"


class Nb101IntermediateStats(_Nb101Model):
    """NNI's ``Nb101IntermediateStats``: ``current_epoch`` (E//2 or E), accuracies (percent), ``training_time``
    (seconds). Read-only view; the intermediate id is ``2 * trial_id`` (halfway) or ``2 * trial_id + 1`` (final)."""

    trial = peewee.ForeignKeyField(Nb101TrialStats, column_name="trial_id", backref="intermediates")
    current_epoch = peewee.IntegerField()
    train_acc = peewee.DoubleField()
    valid_acc = peewee.DoubleField()
    test_acc = peewee.DoubleField()
    training_time = peewee.DoubleField()

    class Meta:
        table_name = "nb101intermediatestats"


NB101_TABLES = (Source, Nb101Arch, Nb101Config, Nb101Trial)

#: The NNI-named views over the compact NB-101 tables (portable SQL: SQLite and PostgreSQL).
NB101_VIEWS = (
    """CREATE VIEW nb101trialconfig AS
       SELECT c.id AS id, a.adjacency || '|' || a.operations AS arch, a.num_vertices AS num_vertices,
              a.hash AS hash, c.num_epochs AS num_epochs
       FROM nb101_config c JOIN nb101_arch a ON a.id = c.arch_id""",
    """CREATE VIEW nb101trialstats AS
       SELECT t.id AS id, t.config_id AS config_id, t.train_acc AS train_acc, t.valid_acc AS valid_acc,
              t.test_acc AS test_acc, a.parameters / 1e6 AS parameters, t.training_time AS training_time,
              t.source_id AS source_id
       FROM nb101_trial t JOIN nb101_config c ON c.id = t.config_id JOIN nb101_arch a ON a.id = c.arch_id""",
    """CREATE VIEW nb101intermediatestats AS
       SELECT 2 * t.id AS id, t.id AS trial_id, c.num_epochs / 2 AS current_epoch,
              t.halfway_train_acc AS train_acc, t.halfway_valid_acc AS valid_acc, t.halfway_test_acc AS test_acc,
              t.halfway_training_time AS training_time
       FROM nb101_trial t JOIN nb101_config c ON c.id = t.config_id
       UNION ALL
       SELECT 2 * t.id + 1, t.id, c.num_epochs, t.train_acc, t.valid_acc, t.test_acc, t.training_time
       FROM nb101_trial t JOIN nb101_config c ON c.id = t.config_id""",
)
