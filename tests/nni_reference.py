"""NNI's ``nni.nas.benchmark`` as a test reference: its schema and its query semantics, declared again from NNI's
documentation (the field lists, types, indexes and backrefs of its model docstrings and docs/source/nas/benchmarks;
``nni.md`` in the project's specs), not copied.

Standalone on purpose (only peewee, playhouse and the standard library): the compatibility suite runs it in a
subprocess under NNI's own peewee 3.x when one is available (``NASBENCH_PEEWEE3`` names a directory holding it, e.g.
``pip install --target DIR 'peewee==3.17.*'``), else in-process with the installed peewee. It does two things:

* :func:`write` builds an NNI-format SQLite file: NNI's tables created by peewee from NNI's models, rows inserted
  through them (``JSONField`` stores sorted-key JSON through SQLite's ``json()``, as NNI's ``db_gen`` does);
* :func:`query` answers a call the way NNI's ``query_*_trial_stats`` does: ``select(Stats, Config).join(Config)``,
  equality filters AND-ed, ``GROUP BY config`` for 'mean' (none for NLP), no ORDER BY, ``model_to_dict`` per row and
  one backref query per trial for the intermediates.

Command line (used by the suite): ``python nni_reference.py SPEC.json OUT.json`` where SPEC is
``{"action": "write", "path": ..., "benchmark": ..., "rows": {...}}`` or ``{"action": "query", "path": ...,
"benchmark": ..., "calls": [kwargs, ...]}``.
"""

from __future__ import annotations

import functools
import json
import sys

import peewee
from peewee import CharField, FloatField, ForeignKeyField, IntegerField, Model, fn
from playhouse.shortcuts import model_to_dict
from playhouse.sqlite_ext import JSONField

try:  # NNI opens its files with SqliteExtDatabase (peewee 3); peewee 4 removed it, SqliteDatabase serves the same
    from playhouse.sqlite_ext import SqliteExtDatabase as _Database
except ImportError:  # pragma: no cover - peewee 4
    _Database = peewee.SqliteDatabase

_dumps = functools.partial(json.dumps, sort_keys=True)


class JSONField(JSONField):
    """playhouse's JSONField with the column type peewee 3 declares (``JSON``; peewee 4 says ``TEXT``), so the file is
    the same whichever peewee builds it."""

    field_type = "JSON"

    def ddl_datatype(self, ctx):
        return peewee.SQL("JSON")


def declare(database) -> dict:
    """NNI's 12 models bound to ``database``: {'nb101': (Config, Stats, Intermediate), 'nb201': ..., ...}."""

    class Base(Model):
        class Meta:
            pass

    Base._meta.database = database

    class Nb101TrialConfig(Base):
        arch = JSONField(json_dumps=_dumps, index=True)
        num_vertices = IntegerField(index=True)
        hash = CharField(max_length=64, index=True)
        num_epochs = IntegerField(index=True)

    class Nb101TrialStats(Base):
        config = ForeignKeyField(Nb101TrialConfig, backref="trial_stats", index=True)
        train_acc = FloatField()
        valid_acc = FloatField()
        test_acc = FloatField()
        parameters = FloatField()
        training_time = FloatField()

    class Nb101IntermediateStats(Base):
        trial = ForeignKeyField(Nb101TrialStats, backref="intermediates", index=True)
        current_epoch = IntegerField(index=True)
        train_acc = FloatField()
        valid_acc = FloatField()
        test_acc = FloatField()
        training_time = FloatField()

    class Nb201TrialConfig(Base):
        arch = JSONField(json_dumps=_dumps, index=True)
        num_epochs = IntegerField(index=True)
        num_channels = IntegerField()
        num_cells = IntegerField()
        dataset = CharField(max_length=20, index=True)

    class Nb201TrialStats(Base):
        config = ForeignKeyField(Nb201TrialConfig, backref="trial_stats", index=True)
        seed = IntegerField()
        train_acc = FloatField()
        valid_acc = FloatField()
        test_acc = FloatField()
        ori_test_acc = FloatField()
        train_loss = FloatField(null=True)
        valid_loss = FloatField(null=True)
        test_loss = FloatField(null=True)
        ori_test_loss = FloatField(null=True)
        parameters = FloatField()
        latency = FloatField()
        flops = FloatField()
        training_time = FloatField()
        valid_evaluation_time = FloatField()
        test_evaluation_time = FloatField()
        ori_test_evaluation_time = FloatField()

    class Nb201IntermediateStats(Base):
        trial = ForeignKeyField(Nb201TrialStats, backref="intermediates", index=True)
        current_epoch = IntegerField(index=True)
        train_acc = FloatField(null=True)
        valid_acc = FloatField(null=True)
        test_acc = FloatField(null=True)
        ori_test_acc = FloatField(null=True)
        train_loss = FloatField(null=True)
        valid_loss = FloatField(null=True)
        test_loss = FloatField(null=True)
        ori_test_loss = FloatField(null=True)

    class NdsTrialConfig(Base):
        model_family = CharField(max_length=20, index=True)
        model_spec = JSONField(json_dumps=_dumps, index=True)
        cell_spec = JSONField(json_dumps=_dumps, index=True, null=True)
        dataset = CharField(max_length=15, index=True)
        generator = CharField(max_length=15, index=True)
        proposer = CharField(max_length=15, index=True)
        base_lr = FloatField()
        weight_decay = FloatField()
        num_epochs = IntegerField()

    class NdsTrialStats(Base):
        config = ForeignKeyField(NdsTrialConfig, backref="trial_stats", index=True)
        seed = IntegerField()
        final_train_acc = FloatField()
        final_train_loss = FloatField(null=True)
        final_test_acc = FloatField()
        best_train_acc = FloatField()
        best_train_loss = FloatField(null=True)
        best_test_acc = FloatField()
        parameters = FloatField()
        flops = FloatField()
        iter_time = FloatField()

    class NdsIntermediateStats(Base):
        trial = ForeignKeyField(NdsTrialStats, backref="intermediates", index=True)
        current_epoch = IntegerField(index=True)
        train_loss = FloatField(null=True)
        train_acc = FloatField()
        test_acc = FloatField()

    class NlpTrialConfig(Base):
        arch = JSONField(json_dumps=_dumps, index=True)
        dataset = CharField(max_length=15, index=True)

    class NlpTrialStats(Base):
        config = ForeignKeyField(NlpTrialConfig, backref="trial_stats", index=True)
        train_loss = FloatField(null=True)
        val_loss = FloatField(null=True)
        test_loss = FloatField(null=True)
        training_time = FloatField(null=True)

    class NlpIntermediateStats(Base):
        trial = ForeignKeyField(NlpTrialStats, backref="intermediates", index=True)
        current_epoch = IntegerField(index=True)
        train_loss = FloatField(null=True)
        val_loss = FloatField(null=True)
        test_loss = FloatField(null=True)
        training_time = FloatField(null=True)

    return {"nb101": (Nb101TrialConfig, Nb101TrialStats, Nb101IntermediateStats),
            "nb201": (Nb201TrialConfig, Nb201TrialStats, Nb201IntermediateStats),
            "nds": (NdsTrialConfig, NdsTrialStats, NdsIntermediateStats),
            "nlp": (NlpTrialConfig, NlpTrialStats, NlpIntermediateStats)}


def write(path: str, benchmark: str, rows: dict) -> None:
    """Create NNI's three tables of ``benchmark`` in a new file and insert ``rows`` ({'config': [...], 'stats': [...],
    'intermediates': [...]}, dicts with explicit ids) through NNI's models, in one transaction as NNI's db_gen."""
    database = _Database(path)
    config, stats, intermediate = declare(database)[benchmark]
    with database:
        database.create_tables([config, stats, intermediate])
        with database.atomic():
            for model, key in ((config, "config"), (stats, "stats"), (intermediate, "intermediates")):
                batch = rows.get(key, [])
                for start in range(0, len(batch), 200):
                    model.insert_many(batch[start:start + 200]).execute()


def _conditions(benchmark: str, config, kwargs: dict) -> list:
    conditions = []
    if benchmark == "nb101":
        if kwargs.get("arch") is not None:
            if kwargs.get("isomorphism", True):
                conditions.append(config.hash == kwargs["nni_hash"])  # hash_module(arch) of the unpruned arch
            else:
                conditions.append(config.arch == kwargs["arch"])
        if kwargs.get("num_epochs") is not None:
            conditions.append(config.num_epochs == kwargs["num_epochs"])
    elif benchmark == "nb201":
        for name in ("arch", "num_epochs", "dataset"):
            if kwargs.get(name) is not None:
                conditions.append(getattr(config, name) == kwargs[name])
    elif benchmark == "nds":
        for name in ("model_family", "proposer", "generator", "model_spec", "cell_spec", "dataset", "num_epochs"):
            if kwargs.get(name) is not None:
                conditions.append(getattr(config, name) == kwargs[name])
    else:
        for name in ("arch", "dataset"):
            if kwargs.get(name) is not None:
                conditions.append(getattr(config, name) == kwargs[name])
    return conditions


def query(path: str, benchmark: str, kwargs: dict) -> list:
    """NNI's answer to ``query_<benchmark>_trial_stats(**kwargs)`` on the NNI-format file at ``path``, as a list.

    NLP keeps NNI's quirks: no GROUP BY for 'mean' and ``reduce`` over no condition (a TypeError)."""
    database = _Database(path)
    config, stats, intermediate = declare(database)[benchmark]
    reduction = kwargs.get("reduction")
    if reduction == "none":
        reduction = None
    skip = {"id", "config", "seed"} if benchmark in ("nb201", "nds") else {"id", "config"}
    if reduction == "mean":
        fields = [fn.AVG(getattr(stats, name)).alias(name) for name in stats._meta.sorted_field_names
                  if name not in skip]
    elif reduction is None:
        fields = [stats]
    else:
        raise ValueError(f"Unsupported reduction: '{reduction}'")
    select = stats.select(*fields, config).join(config)
    conditions = _conditions(benchmark, config, kwargs)
    if benchmark == "nlp":
        select = select.where(functools.reduce(lambda a, b: a & b, conditions))  # TypeError without conditions
    else:
        if conditions:
            select = select.where(functools.reduce(lambda a, b: a & b, conditions))
        if reduction is not None:
            select = select.group_by(stats.config)
    out = []
    with database:
        for trial in select:
            data = model_to_dict(trial)
            if kwargs.get("include_intermediates"):
                data["intermediates"] = [{k: v for k, v in model_to_dict(t).items() if k != "trial"}
                                         for t in trial.intermediates]
            out.append(data)
    return out


def main(argv) -> int:
    spec_path, out_path = argv[1], argv[2]
    with open(spec_path) as handle:
        spec = json.load(handle)
    if spec["action"] == "write":
        write(spec["path"], spec["benchmark"], spec["rows"])
        result = {"peewee": peewee.__version__}
    else:
        answers = []
        for kwargs in spec["calls"]:
            try:
                answers.append({"rows": query(spec["path"], spec["benchmark"], kwargs)})
            except Exception as exc:  # NNI's own exceptions are part of its answer
                answers.append({"error": type(exc).__name__})
        result = {"peewee": peewee.__version__, "answers": answers}
    with open(out_path, "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
