"""NATS-Bench archives (real data: tests/data/nats, archs 0, 11, 284): converted and checked value by value."""

from __future__ import annotations

import bz2
import pickle
import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from nasbench_db.cli import cli
from nasbench_db.convert.nb201 import convert_nats_sss, convert_nats_tss
from nasbench_db.errors import CorruptInput
from nasbench_db.query import query_nats_sss_trial_stats, query_nb201_trial_stats
from nasbench_db.spaces import nats_sss as sss_space
from nasbench_db.spaces import nb201 as tss_space

from nb201_fixture import INDICES, SSS_DIR, TSS_DIR, expected_trials, load_simple, write_pbz2

TSS_HP = {"12": 12, "200": 200}
SSS_HP = {"01": 1, "12": 12, "90": 90}


def _closed_form(index, dataset):
    return tss_space.parameters(index, dataset), tss_space.flops(index, dataset)


@pytest.fixture(scope="session")
def tss_db(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tss")
    report = convert_nats_tss(TSS_DIR, directory, progress=False)
    return directory, report


@pytest.fixture(scope="session")
def sss_db(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sss")
    report = convert_nats_sss(SSS_DIR, directory, progress=False)
    return directory, report


def _by_key(rows, index_of):
    return {(index_of(r["config"]["arch"]), r["config"]["num_epochs"], r["config"]["dataset"], r["seed"]): r
            for r in rows}


def _check_against_pickles(rows, expected, index_of):
    got = _by_key(rows, index_of)
    assert sorted(got) == sorted(expected)  # every seed of every dataset and budget, nothing else
    for key, (stats, intermediates) in expected.items():
        row = got[key]
        for name, value in stats.items():
            assert row[name] == value, (key, name)
        assert [{k: v for k, v in i.items() if k != "id"} for i in row["intermediates"]] == intermediates, key
        assert [i["id"] for i in row["intermediates"]] == [1000 * row["id"] + i["current_epoch"]
                                                           for i in row["intermediates"]]


def test_tss_every_trial_matches_the_pickles(tss_db):
    directory, report = tss_db
    _, records = load_simple(TSS_DIR)
    expected = expected_trials(records, TSS_HP, cost=_closed_form)
    assert report.trials == len(expected) == 51  # 3 archs x (12 ep: 5 runs, 200 ep: 4 datasets x 3 seeds)
    rows = list(query_nb201_trial_stats(None, None, None, include_intermediates=True, db_dir=directory))
    _check_against_pickles(rows, expected, tss_space.index_of)
    assert report.epoch_rows == sum(len(e[1]) for e in expected.values())
    # the files' own params/FLOPs of these archs agree with the closed forms at both budgets
    assert report.file_params_differ == 0 and report.file_flops_differ == 0


def test_tss_spot_values(tss_db):
    directory, _ = tss_db

    def mean(index, dataset, field):
        (row,) = query_nb201_trial_stats(index, 200, dataset, reduction="mean", db_dir=directory)
        return row[field]

    # tests/data/README.md: hp 200, epoch 199, mean over seeds 777/888/999
    assert mean(0, "cifar10", "ori_test_acc") == pytest.approx(85.86333, abs=1e-5)
    assert mean(11, "cifar100", "test_acc") == pytest.approx(67.60667, abs=1e-5)  # x-test
    assert mean(284, "cifar10", "ori_test_acc") == pytest.approx(88.79, abs=1e-9)
    per_seed = {r["seed"]: r["ori_test_acc"]
                for r in query_nb201_trial_stats(0, 200, "cifar10", db_dir=directory)}
    assert per_seed == pytest.approx({777: 85.62, 888: 86.18, 999: 85.79}, abs=1e-9)
    for index, params in zip(INDICES, (0.129306, 0.802426, 0.101306)):
        assert {r["parameters"] for r in query_nb201_trial_stats(index, None, "cifar10", db_dir=directory)} == \
            {params}
    # spec oracles (seed 777)
    (r,) = [x for x in query_nb201_trial_stats(284, 200, "cifar10", db_dir=directory) if x["seed"] == 777]
    assert (r["train_acc"], r["ori_test_acc"]) == pytest.approx((94.568, 88.73), abs=1e-6)
    (r,) = [x for x in query_nb201_trial_stats(11, 200, "cifar100", db_dir=directory) if x["seed"] == 777]
    assert (r["valid_acc"], r["test_acc"], r["ori_test_acc"]) == pytest.approx((67.72, 66.86, 67.29), abs=1e-6)
    (r,) = [x for x in query_nb201_trial_stats(0, 12, "cifar10-valid", db_dir=directory) if x["seed"] == 777]
    assert (r["valid_acc"], r["test_acc"]) == pytest.approx((62.712, 62.82), abs=1e-6)
    # cifar10 has no validation set: NNI maps valid and test to the test set
    (r,) = [x for x in query_nb201_trial_stats(11, 200, "cifar10", db_dir=directory) if x["seed"] == 777]
    assert r["valid_acc"] == r["test_acc"] == r["ori_test_acc"]


def test_tss_partial_archive_is_reported(tss_db):
    directory, report = tss_db
    assert report.archs == 3 and report.archs_expected == 15625
    assert "partial archive: 3 of 15,625" in report.summary()
    with sqlite3.connect(directory / "nasbench201.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM nb201trialconfig").fetchone()[0] == 125000
        assert conn.execute("SELECT COUNT(*) FROM nb201_arch").fetchone()[0] == 15625
        (kind, name, sha, details) = conn.execute(
            "SELECT kind, file_name, sha256, details FROM nasbench_source").fetchone()
    assert (kind, name, sha) == ("original", TSS_DIR.name, None)
    assert '"files": 3' in details


def test_sss_every_trial_matches_the_pickles(sss_db):
    directory, report = sss_db
    _, records = load_simple(SSS_DIR)
    expected = expected_trials(records, SSS_HP)
    assert report.trials == len(expected) == 60  # 3 archs x 4 datasets x (1 + 3 + 1 seeds)
    rows = list(query_nats_sss_trial_stats(None, None, None, include_intermediates=True, db_dir=directory))
    _check_against_pickles(rows, expected, sss_space.index_of)
    assert report.hp == ["01", "12", "90"]
    (row,) = query_nats_sss_trial_stats("8:8:40:32:40", 90, "ImageNet16-120", db_dir=directory)
    assert row["config"] == {"id": 12 * 284 + 4 * 2 + 3 + 1, "arch": "8:8:40:32:40", "num_epochs": 90,
                             "dataset": "imagenet16-120"}
    assert len(list(query_nats_sss_trial_stats(11, 12, "cifar10", db_dir=directory))) == 3


@pytest.mark.parametrize("space", ["tss", "sss"])
def test_single_pbz2_file_equals_the_directory(space, tss_db, sss_db, tmp_path):
    folder, (directory, _) = (TSS_DIR, tss_db) if space == "tss" else (SSS_DIR, sss_db)
    meta, records = load_simple(folder)
    source = write_pbz2(tmp_path / f"NATS-{space}-v1_0-test.pickle.pbz2", meta, records)
    convert = convert_nats_tss if space == "tss" else convert_nats_sss
    report = convert(source, tmp_path / "db", progress=False)
    assert report.fmt == "nats-pickle-bz2" and report.archs == 3
    query = query_nb201_trial_stats if space == "tss" else query_nats_sss_trial_stats
    assert list(query(None, None, None, include_intermediates=True, db_dir=tmp_path / "db")) == \
        list(query(None, None, None, include_intermediates=True, db_dir=directory))
    import hashlib

    with sqlite3.connect(tmp_path / "db" / report.database.split("/")[-1]) as conn:
        assert conn.execute("SELECT sha256 FROM nasbench_source").fetchone()[0] == \
            hashlib.sha256(source.read_bytes()).hexdigest()


def test_parallel_workers_and_unpadded_names(tss_db, tmp_path):
    directory, _ = tss_db
    folder = tmp_path / "NATS-tss-copy-simple"
    folder.mkdir()
    shutil.copy(TSS_DIR / "meta.pickle.pbz2", folder)
    for index in INDICES:  # the API's fallback name '%d.pickle.pbz2'
        shutil.copy(TSS_DIR / f"{index:06d}.pickle.pbz2", folder / f"{index}.pickle.pbz2")
    report = convert_nats_tss(folder, tmp_path / "db", progress=False, jobs=2)
    assert report.trials == 51
    assert list(query_nb201_trial_stats(None, None, None, include_intermediates=True, db_dir=tmp_path / "db")) == \
        list(query_nb201_trial_stats(None, None, None, include_intermediates=True, db_dir=directory))


def _copy_archive(source, target):
    shutil.copytree(source, target)
    return target


def test_wrong_inputs_fail_clearly_and_keep_the_old_database(tss_db, tmp_path):
    db_dir = tmp_path / "db"
    convert_nats_tss(TSS_DIR, db_dir, progress=False)
    before = (db_dir / "nasbench201.db").read_bytes()
    runner = CliRunner()

    def fails(args, *needles):
        result = runner.invoke(cli, ["convert", *args, "--db-dir", str(db_dir)])
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: "), result.output
        for needle in needles:
            assert needle in result.output, result.output
        assert (db_dir / "nasbench201.db").read_bytes() == before
        assert [p.name for p in db_dir.iterdir()] == ["nasbench201.db"]  # no temporary file left behind

    # the size-space archive given to the topology converter, and the reverse
    fails(["nats-tss", str(SSS_DIR)], "32,768", "nats-sss")
    result = runner.invoke(cli, ["convert", "nats-sss", str(TSS_DIR), "--db-dir", str(tmp_path / "other")])
    assert result.exit_code == 1 and "nats-tss" in result.output
    # a truncated per-architecture file
    broken = _copy_archive(TSS_DIR, tmp_path / "broken-simple")
    data = (broken / "000011.pickle.pbz2").read_bytes()
    (broken / "000011.pickle.pbz2").write_bytes(data[: len(data) // 2])
    fails(["nats-tss", str(broken)], "000011.pickle.pbz2", "architecture 11", "truncated")
    # an empty per-architecture file, and one that is not bz2
    (broken / "000011.pickle.pbz2").write_bytes(b"")
    fails(["nats-tss", str(broken)], "000011.pickle.pbz2", "empty")
    (broken / "000011.pickle.pbz2").write_bytes(b"hello world")
    fails(["nats-tss", str(broken)], "000011.pickle.pbz2", "not a bz2 file")
    # a record filed under the wrong index
    shutil.copy(TSS_DIR / "000284.pickle.pbz2", broken / "000011.pickle.pbz2")
    fails(["nats-tss", str(broken)], "000011.pickle.pbz2", "arch_index 284, expected 11")
    # no meta file; no per-architecture file; not a directory and not bz2
    (broken / "meta.pickle.pbz2").unlink()
    fails(["nats-tss", str(broken)], "no meta.pickle.pbz2")
    empty = tmp_path / "empty-simple"
    empty.mkdir()
    shutil.copy(TSS_DIR / "meta.pickle.pbz2", empty)
    fails(["nats-tss", str(empty)], "no per-architecture files")
    text = tmp_path / "notes.pickle.pbz2"
    text.write_text("not an archive")
    fails(["nats-tss", str(text)], str(text), "not a bz2-compressed NATS archive")
    truncated = tmp_path / "NATS-tss-cut.pickle.pbz2"
    meta, records = load_simple(TSS_DIR)
    whole = write_pbz2(tmp_path / "whole.pickle.pbz2", meta, records).read_bytes()
    truncated.write_bytes(whole[: len(whole) * 2 // 3])
    fails(["nats-tss", str(truncated)], str(truncated), "truncated")
    fails(["nats-tss", str(tmp_path / "missing-simple")], "no such file or directory")


def test_meta_in_another_order_is_refused(tmp_path):
    folder = _copy_archive(TSS_DIR, tmp_path / "shuffled-simple")
    meta = pickle.load(bz2.BZ2File(folder / "meta.pickle.pbz2"))
    meta["meta_archs"] = sorted(meta["meta_archs"])
    with bz2.open(folder / "meta.pickle.pbz2", "wb") as handle:
        pickle.dump(meta, handle)
    with pytest.raises(CorruptInput, match="differs from the benchmark's index order at index 0"):
        convert_nats_tss(folder, tmp_path / "db", progress=False)


def test_cli_convert_and_query(tmp_path):
    runner = CliRunner()
    db_dir = str(tmp_path / "db")
    result = runner.invoke(cli, ["convert", "nats-sss", str(SSS_DIR), "--db-dir", db_dir, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "converted 3 architectures (partial archive: 3 of 32,768)" in result.output
    result = runner.invoke(cli, ["query", "nats-sss", "--arch", "8:8:8:16:32", "--epochs", "12", "--dataset",
                                 "CIFAR100", "--reduction", "mean", "--format", "json", "--db-dir", db_dir])
    assert result.exit_code == 0, result.output
    import json

    (row,) = json.loads(result.output)
    assert row["id"] is None and row["config"]["arch"] == "8:8:8:16:32" and row["config"]["dataset"] == "cifar100"
    result = runner.invoke(cli, ["query", "nats-sss", "--arch", "284", "--epochs", "90", "--format", "csv",
                                 "--db-dir", db_dir])
    assert result.exit_code == 0 and len(result.output.strip().splitlines()) == 1 + 4
    result = runner.invoke(cli, ["query", "nats-sss", "--arch", "8:8:8:8:72", "--db-dir", db_dir])
    assert result.exit_code == 1 and "Error: channel 5 out of range: got 72" in result.output
    result = runner.invoke(cli, ["info", "--db-dir", db_dir])
    assert "NATS-Bench size space" in result.output and "nats_sss_trialstats 60" in result.output


def test_postgres_answers_equal_sqlite(pg_url, tss_db, sss_db, monkeypatch):
    """Both spaces published to PostgreSQL (NASBENCHMARK_DB_URL) answer exactly as their SQLite files."""
    tss_report = convert_nats_tss(TSS_DIR, progress=False)
    sss_report = convert_nats_sss(SSS_DIR, progress=False)
    assert tss_report.database.startswith("postgresql://") and sss_report.database.startswith("postgresql://")
    on_server = (list(query_nb201_trial_stats(None, None, None, include_intermediates=True)),
                 list(query_nb201_trial_stats(None, 200, "cifar100", reduction="mean", include_intermediates=True)),
                 list(query_nats_sss_trial_stats(None, None, None, include_intermediates=True)),
                 list(query_nats_sss_trial_stats("8:8:8:16:32", 12, None, reduction="mean")))
    on_sqlite = (list(query_nb201_trial_stats(None, None, None, include_intermediates=True, db_dir=tss_db[0])),
                 list(query_nb201_trial_stats(None, 200, "cifar100", reduction="mean", include_intermediates=True,
                                              db_dir=tss_db[0])),
                 list(query_nats_sss_trial_stats(None, None, None, include_intermediates=True, db_dir=sss_db[0])),
                 list(query_nats_sss_trial_stats("8:8:8:16:32", 12, None, reduction="mean", db_dir=sss_db[0])))
    assert [len(rows) for rows in on_server] == [51, 3, 60, 4]
    # the same trials, configs and values; averages may differ in the last bit (the server sums in another order)
    assert on_server[0] == on_sqlite[0] and on_server[2] == on_sqlite[2]
    for server_rows, sqlite_rows in ((on_server[1], on_sqlite[1]), (on_server[3], on_sqlite[3])):
        for a, b in zip(server_rows, sqlite_rows):
            assert a["config"] == b["config"]
            assert {k: v for k, v in a.items() if isinstance(v, float)} == \
                pytest.approx({k: v for k, v in b.items() if isinstance(v, float)}, rel=1e-12)
