"""The peewee models of every benchmark: each reads its own file, provenance included, whatever else is bound."""

from __future__ import annotations

import peewee

from nasbench_db.convert.nb201 import convert_nats_sss, convert_nats_tss
from nasbench_db.convert.nb101 import convert_nb101
from nasbench_db.models import (DATABASES, NatsSssArch, NatsSssEpoch, NatsSssSource, NatsSssTrialConfig,
                                NatsSssTrialStats, Nb101Trial, Nb201Arch, Nb201Epoch, Nb201Source, Nb201TrialConfig,
                                Nb201TrialStats, NdsIntermediateStats, NdsSource, NdsTrialConfig, NdsTrialOrigin,
                                NdsTrialStats, Source)

from conftest import DATA, SAMPLE_TFRECORD

MODELS = {"nb101": (Source, Nb101Trial),
          "nb201": (Nb201Source, Nb201Arch, Nb201TrialConfig, Nb201TrialStats, Nb201Epoch),
          "nats_sss": (NatsSssSource, NatsSssArch, NatsSssTrialConfig, NatsSssTrialStats, NatsSssEpoch),
          "nds": (NdsSource, NdsTrialConfig, NdsTrialStats, NdsIntermediateStats, NdsTrialOrigin)}


def test_binding_one_benchmarks_provenance_moves_no_other_model():
    # Converters bind Source to the file they build; peewee's bind/bind_ctx follow relations both ways, so a model
    # related to another benchmark's provenance would be dragged onto that database (and left there on exit).
    for provenance in (Source, Nb201Source, NatsSssSource, NdsSource):
        with peewee.SqliteDatabase(":memory:").bind_ctx([provenance]):
            pass
    for benchmark, models in MODELS.items():
        for model in models:
            assert model._meta.database is DATABASES[benchmark], (benchmark, model)


def test_trial_source_reads_the_provenance_of_its_own_file(tmp_path, monkeypatch):
    # Only the topology and size spaces are installed: NB-101's provenance table must not be needed (or read).
    monkeypatch.setenv("NASBENCHMARK_DIR", str(tmp_path))
    convert_nats_tss(next((DATA / "nats").glob("NATS-tss-*-simple")), tmp_path, progress=False, jobs=1)
    convert_nats_sss(next((DATA / "nats").glob("NATS-sss-*-simple")), tmp_path, progress=False, jobs=1)
    tss = Nb201TrialStats.select().first().source
    sss = NatsSssTrialStats.select().first().source
    assert (tss.benchmark, tss.kind, tss.file_name.startswith("NATS-tss")) == ("nb201", "original", True)
    assert (sss.benchmark, sss.kind, sss.file_name.startswith("NATS-sss")) == ("nats_sss", "original", True)
    # the same through a join, one statement
    row = Nb201TrialStats.select(Nb201TrialStats, Nb201Source).join(Nb201Source).first()
    assert row.source.id == row.source_id and row.source.converter.startswith("nats-tss-simple nasbench_db ")
    # NB-101 added later gets its own, independent provenance
    convert_nb101(SAMPLE_TFRECORD, tmp_path, progress=False)
    assert Nb101Trial.select().first().source.benchmark == "nb101"
    assert Nb201TrialStats.select().first().source.benchmark == "nb201"
