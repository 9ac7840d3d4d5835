"""NAS-Bench-NLP: the recipe space, the logs converter (real WikiText-2 logs, synthetic PTB archives), the NNI query
and models on our nlp.db, duplicates, non-OK runs, hostile input and the CLI.

Every value of the real logs is checked against the JSON read here independently (zipfile + json, NNI's flattening
written out again below), bit for bit.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import sqlite3
import zipfile

import pytest
from click.testing import CliRunner

import nlp_fixture
from conftest import DATA, count_statements, selects
from nasbench_db import db as _db
from nasbench_db.cli import cli
from nasbench_db.convert.nlp import convert_nlp
from nasbench_db.errors import CorruptInput, NasbenchDbError
from nasbench_db.query import query_nlp_trial_stats
from nasbench_db.spaces import nlp as space

WIKI_ZIP = DATA / "nas-bench-nlp" / "train_logs_wikitext-2_logs.zip"
RECIPES = DATA / "nas-bench-nlp" / "recepies_example.json"


def read_logs(path=WIKI_ZIP) -> dict:
    """file name -> log, read straight from the zip (NaN parsed as float nan, as json does)."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: json.loads(archive.read(info)) for info in archive.infolist()}


def nni_flatten(recipe: dict) -> dict:
    """NNI db_gen's flattening, written out: '<node>_op' and '<node>_input_<i>'."""
    flat = {}
    for node, spec in recipe.items():
        flat[node + "_op"] = spec["op"]
        for i, name in enumerate(spec["input"]):
            flat[f"{node}_input_{i}"] = name
    return flat


def same(a, b) -> bool:
    """Equal floats bit for bit; None for NaN."""
    if isinstance(b, float) and math.isnan(b):
        return a is None
    return a == b and type(a) is type(b) or (a == b and isinstance(a, float) and isinstance(b, (int, float)))


@pytest.fixture(scope="module")
def wiki_db(tmp_path_factory):
    directory = tmp_path_factory.mktemp("nlp")
    report = convert_nlp(WIKI_ZIP, directory, progress=False)
    return directory, report


@pytest.fixture
def wiki_env(wiki_db, monkeypatch):
    monkeypatch.setenv("NASBENCHMARK_DIR", str(wiki_db[0]))
    return wiki_db[0]


@pytest.fixture(scope="module")
def logs():
    return read_logs()


# ----------------------------------------------------------------------------------------------------------------------
# The space


def test_space_roundtrips_every_real_recipe(logs):
    examples = json.loads(RECIPES.read_text())
    recipes = [json.loads(log["recepie"]) for log in logs.values()] + examples
    for recipe in recipes:
        flat = space.flatten(recipe)
        assert flat == nni_flatten(recipe)
        assert space.unflatten(flat) == {k: recipe[k] for k in space.unflatten(flat)}
        assert set(space.unflatten(flat)) == set(recipe)
        key = space.canonical_json(recipe)
        assert key == json.dumps(nni_flatten(recipe), sort_keys=True, separators=(",", ":"))
        # The same recipe written again (reversed node order, as text, flattened, shuffled keys): one key
        assert space.canonical_json(dict(reversed(list(recipe.items())))) == key
        assert space.canonical_json(json.dumps(recipe)) == key
        assert space.canonical_json(dict(reversed(list(flat.items())))) == key
        assert space.canonical_json(space.recipe_json(recipe)) == key
    lstm = examples[1]
    assert space.hidden_size(lstm) == 2 and space.hidden_size(examples[0]) == 1


def test_input_order_matters():
    a = {"node_0": {"op": "blend", "input": ["x", "h_prev_0", "h_prev_1"]},
         "h_new_0": {"op": "activation_tanh", "input": ["node_0"]}}
    b = {"node_0": {"op": "blend", "input": ["h_prev_0", "x", "h_prev_1"]},
         "h_new_0": {"op": "activation_tanh", "input": ["node_0"]}}
    assert space.canonical_json(a) != space.canonical_json(b)


@pytest.mark.parametrize("arch,message", [
    ({}, "non-empty"),
    ({"h_new_0": {"op": "conv", "input": ["x"]}}, "unknown op 'conv'"),
    ({"h_new_0": {"op": "blend", "input": ["x", "h_prev_0"]}}, "blend takes 3 inputs, got 2"),
    ({"h_new_0": {"op": "linear", "input": ["y"]}}, "input 'y' is neither"),
    ({"node_0": {"op": "linear", "input": ["x"]}}, "no 'h_new_0'"),
    ({"h_new_0": {"op": "linear", "input": ["a"]}, "a": {"op": "linear", "input": ["h_new_0"]}}, "cycle"),
    ({"x": {"op": "linear", "input": ["h_prev_0"]}, "h_new_0": {"op": "linear", "input": ["x"]}}, "named like"),
    ({"h_new_0": {"op": "linear"}}, "must be {'op'"),
    ({"h_new_0_op": "linear", "h_new_0_input_1": "x"}, "input positions must be 0..0"),
    ({"h_new_0_op": "linear", "node_input_0": "x"}, "has inputs but no 'node_op'"),
    ({"h_new_0_op": "linear", "h_new_0_inputs": "x"}, "unexpected arch key"),
    ("{not json", "JSON"),
    (42, "non-empty dict"),
])
def test_space_errors_name_the_problem(arch, message):
    with pytest.raises(ValueError, match=message):
        space.parse_arch(arch)


def test_dataset_and_perplexity():
    assert space.dataset_of("data/ptb") == "ptb" and space.dataset_of("data/wikitext-2/") == "wikitext-2"
    assert space.perplexity(None) is None and space.perplexity(2.0) == math.exp(2.0)
    assert space.perplexity(1e6) == math.inf


# ----------------------------------------------------------------------------------------------------------------------
# Conversion of the real logs: every value


def test_real_logs_converted_bit_for_bit(wiki_db, logs):
    directory, report = wiki_db
    assert report.trials == 345 and report.statuses == {"OK": 341, "loss is nan!": 4}
    assert report.datasets == {"wikitext-2": 345} and report.epochs == sum(len(l["wall_times"]) for l in logs.values())
    conn = sqlite3.connect(directory / "nlp.db")
    configs = {row[0]: (json.loads(row[1]), row[2])
               for row in conn.execute("SELECT id, arch, dataset FROM nlptrialconfig")}
    distinct = {(json.dumps(nni_flatten(json.loads(log["recepie"])), sort_keys=True), log["data"][5:])
                for log in logs.values()}
    assert len(configs) == len(distinct) == report.configs == 291
    trials = conn.execute("SELECT id, config_id, log_name, status, recipe_id, experiment_id, init_time, num_params, "
                          "epochs, epochs_run, train_loss, val_loss, test_loss, training_time, total_training_time, "
                          "hyperparameters FROM nlp_trial").fetchall()
    assert len(trials) == len(logs)
    epochs = {}
    for trial_id, epoch, *values in conn.execute("SELECT trial_id, current_epoch, train_loss, val_loss, test_loss, "
                                                 "training_time FROM nlp_epoch ORDER BY trial_id, current_epoch"):
        epochs.setdefault(trial_id, []).append((epoch, values))
    for (trial_id, config_id, name, status, recipe_id, experiment_id, init_time, num_params, planned, run, train,
         val, test, ttime, total, hyper) in trials:
        log = logs[name]
        assert configs[config_id] == (nni_flatten(json.loads(log["recepie"])), log["data"][5:])
        assert (status, recipe_id, experiment_id, init_time, num_params, planned) == (
            log["status"], log["recepie_id"], log["experiment_id"], log["init_time"], log["num_params"], log["epochs"])
        assert run == len(log["wall_times"])
        for value, key in ((train, "train_losses"), (val, "val_losses"), (test, "test_losses"), (ttime, "wall_times")):
            assert same(value, log[key][-1]), (name, key)
        assert total == math.fsum(log["wall_times"])
        assert json.loads(hyper)["lr"] == log["lr"] and "recepie" not in json.loads(hyper)
        rows = epochs[trial_id]
        assert [e for e, _ in rows] == list(range(1, run + 1))
        for e, values in rows:
            for value, key in zip(values, ("train_losses", "val_losses", "test_losses", "wall_times")):
                assert same(value, log[key][e - 1]), (name, key, e)
    # NNI's views hold the OK runs only
    assert conn.execute("SELECT COUNT(*) FROM nlptrialstats").fetchone()[0] == 341
    assert conn.execute("SELECT COUNT(*) FROM nlpintermediatestats").fetchone()[0] == 341 * 50
    source = conn.execute("SELECT file_name, sha256, kind FROM nasbench_source").fetchall()
    assert source == [(WIKI_ZIP.name, "f5052d6bea6398001e32c986322a243e8cdedffa906caf242eb0a62ee105aa12", "original")]


def test_query_answers_every_ok_log(wiki_env, logs):
    seen = set()
    for name, log in logs.items():
        recipe = json.loads(log["recepie"])
        rows = list(query_nlp_trial_stats(nni_flatten(recipe), "wikitext-2", include_intermediates=True))
        same_recipe = [l for l in logs.values() if json.loads(l["recepie"]) == recipe and l["status"] == "OK"]
        assert len(rows) == len(same_recipe)
        if log["status"] != "OK":
            continue
        (row,) = [r for r in rows if r["training_time"] == log["wall_times"][-1]]
        assert set(row) == {"id", "config", "train_loss", "val_loss", "test_loss", "training_time", "intermediates"}
        assert row["config"]["arch"] == nni_flatten(recipe) and row["config"]["dataset"] == "wikitext-2"
        assert set(row["config"]) == {"id", "arch", "dataset"}
        assert (row["train_loss"], row["val_loss"], row["test_loss"]) == (
            log["train_losses"][-1], log["val_losses"][-1], log["test_losses"][-1])
        assert [i["current_epoch"] for i in row["intermediates"]] == list(range(1, 51))
        for i in row["intermediates"]:
            assert set(i) == {"id", "current_epoch", "train_loss", "val_loss", "test_loss", "training_time"}
            e = i["current_epoch"] - 1
            assert (i["train_loss"], i["val_loss"], i["test_loss"], i["training_time"]) == (
                log["train_losses"][e], log["val_losses"][e], log["test_losses"][e], log["wall_times"][e])
        seen.add(row["id"])
    assert len(seen) == 341


def test_arch_forms_and_wildcards(wiki_env, logs):
    log = next(l for l in logs.values() if l["status"] == "OK" and len(json.loads(l["recepie"])) > 3)
    recipe = json.loads(log["recepie"])
    flat = nni_flatten(recipe)
    reference = list(query_nlp_trial_stats(flat, "wikitext-2"))
    assert reference
    for form in (recipe, log["recepie"], dict(reversed(list(flat.items()))), dict(reversed(list(recipe.items()))),
                 json.dumps(flat)):
        assert list(query_nlp_trial_stats(form, "wikitext-2")) == reference
        assert list(query_nlp_trial_stats(form, "WikiText-2")) == reference
        assert list(query_nlp_trial_stats(form, None)) == reference
    assert list(query_nlp_trial_stats(flat, "ptb")) == []
    assert len(list(query_nlp_trial_stats(None, "wikitext-2"))) == 341
    assert len(list(query_nlp_trial_stats(None, None))) == 341  # NNI raises TypeError here
    ids = [r["id"] for r in query_nlp_trial_stats(None, "wikitext-2")]
    configs = [r["config"]["id"] for r in query_nlp_trial_stats(None, "wikitext-2")]
    assert configs == sorted(configs) and len(set(ids)) == 341


def test_mean_averages_the_runs_of_a_recipe(wiki_env, logs):
    by_recipe = {}
    for log in logs.values():
        if log["status"] == "OK":
            by_recipe.setdefault(json.dumps(nni_flatten(json.loads(log["recepie"])), sort_keys=True), []).append(log)
    repeated = [runs for runs in by_recipe.values() if len(runs) > 1]
    assert repeated
    for runs in repeated[:10]:
        flat = nni_flatten(json.loads(runs[0]["recepie"]))
        (mean,) = query_nlp_trial_stats(flat, "wikitext-2", reduction="mean", include_intermediates=True)
        assert mean["id"] is None and mean["config"]["arch"] == flat
        assert mean["val_loss"] == pytest.approx(sum(r["val_losses"][-1] for r in runs) / len(runs), rel=1e-12)
        assert mean["training_time"] == pytest.approx(sum(r["wall_times"][-1] for r in runs) / len(runs), rel=1e-12)
        assert [i["current_epoch"] for i in mean["intermediates"]] == list(range(1, 51))
        assert mean["intermediates"][9]["test_loss"] == pytest.approx(
            sum(r["test_losses"][9] for r in runs) / len(runs), rel=1e-12)
    means = list(query_nlp_trial_stats(None, "wikitext-2", reduction="mean"))
    assert len(means) == len(by_recipe)


def test_non_ok_runs_are_kept_with_their_status(wiki_env, logs):
    failed = {name: log for name, log in logs.items() if log["status"] != "OK"}
    rows = list(query_nlp_trial_stats(None, None, status="loss is nan!", include_intermediates=True))
    assert len(rows) == len(failed) == 4
    for row in rows:
        assert row["status"] == "loss is nan!"
        log = next(l for l in failed.values() if nni_flatten(json.loads(l["recepie"])) == row["config"]["arch"]
                   and len(l["wall_times"]) == len(row["intermediates"]))
        assert row["training_time"] == log["wall_times"][-1]
        assert row["val_loss"] is None  # NaN in the log
        assert [i["val_loss"] for i in row["intermediates"][:-1]] == log["val_losses"][:-1]
    everything = list(query_nlp_trial_stats(None, "wikitext-2", status=None))
    assert len(everything) == 345 and {r["status"] for r in everything} == {"OK", "loss is nan!"}
    assert "status" not in next(query_nlp_trial_stats(None, None))
    with pytest.raises(ValueError, match="status must be"):
        query_nlp_trial_stats(None, None, status=0)


def test_perplexity_and_arguments(wiki_env):
    (row,) = list(query_nlp_trial_stats(None, None, include_intermediates=True, perplexity=True))[:1]
    assert row["val_perplexity"] == math.exp(row["val_loss"])
    assert row["intermediates"][0]["test_perplexity"] == math.exp(row["intermediates"][0]["test_loss"])
    assert len(list(query_nlp_trial_stats(None, None, include_intermediates=1))[0]["intermediates"]) == 50
    for bad, message in (({"reduction": "max"}, "unsupported reduction"), ({"dataset": "ptb-2"}, "unknown dataset"),
                         ({"include_intermediates": "yes"}, "must be True or False"),
                         ({"arch": {"h_new_0_op": "conv", "h_new_0_input_0": "x"}}, "unknown op"),
                         ({"arch": 3}, "arch must be"), ({"source": 1.5}, "source must be")):
        args = {"arch": None, "dataset": None, **bad}
        with pytest.raises(ValueError, match=message):
            query_nlp_trial_stats(**args)


def test_intermediates_cost_two_statements(wiki_env):
    with count_statements("nlp") as statements:
        rows = list(query_nlp_trial_stats(None, None, include_intermediates=True))
    assert len(rows) == 341 and selects(statements) == 2
    with count_statements("nlp") as statements:
        rows = list(query_nlp_trial_stats(None, None, reduction="mean", include_intermediates=True))
    assert selects(statements) == 2


def test_models_on_our_file(wiki_env, logs):
    from playhouse.shortcuts import model_to_dict

    from nasbench_db.models import NlpEpoch, NlpIntermediateStats, NlpTrial, NlpTrialConfig, NlpTrialStats

    assert NlpTrialStats.select().count() == 341 and NlpTrial.select().count() == 345
    log = next(l for l in logs.values() if l["status"] == "OK")
    recipe = json.loads(log["recepie"])
    configs = list(NlpTrialConfig.select().where(NlpTrialConfig.arch == recipe))
    assert len(configs) == 1 and configs[0].arch == nni_flatten(recipe)
    trial = next(t for t in configs[0].trial_stats if t.training_time == log["wall_times"][-1])
    assert trial.val_perplexity == math.exp(trial.val_loss)
    intermediates = list(trial.intermediates.order_by(NlpIntermediateStats.current_epoch))
    assert [i.val_loss for i in intermediates] == log["val_losses"]
    assert intermediates[3].trial.id == trial.id
    data = model_to_dict(trial)
    assert set(data) == {"id", "config", "train_loss", "val_loss", "test_loss", "training_time"}
    assert data["config"] == {"id": configs[0].id, "arch": nni_flatten(recipe), "dataset": "wikitext-2"}
    run = NlpTrial.get_by_id(trial.id)
    assert run.status == "OK" and run.total_training_time == math.fsum(log["wall_times"])
    assert NlpEpoch.select().where(NlpEpoch.trial == run.id).count() == 50
    joined = (NlpTrialStats.select(NlpTrialStats, NlpTrialConfig).join(NlpTrialConfig)
              .where(NlpTrialConfig.dataset == "wikitext-2", NlpTrialStats.val_loss < 5).count())
    assert joined == sum(1 for l in logs.values() if l["status"] == "OK" and l["val_losses"][-1] < 5)
    assert NlpTrialConfig.select().where(NlpTrialConfig.arch == {"h_new_0_op": "nope"}).count() == 0


# ----------------------------------------------------------------------------------------------------------------------
# PTB archives: duplicates between single- and multi-run logs


@pytest.fixture(scope="module")
def ptb_archives(tmp_path_factory):
    single, multi = nlp_fixture.ptb_archives(single=40, multi_recipes=10, overlap=6, seed=5, epochs=12, failed_every=9)
    root = tmp_path_factory.mktemp("ptb")
    # One duplicate file name whose copies differ (a re-run stored under the same name)
    changed = json.loads(json.dumps(multi[1]))
    changed["val_losses"][-1] = 1.25
    multi[1] = changed
    single_zip = nlp_fixture.write_zip(root / "train_logs_single_run" / "logs.zip", single)
    multi_zip = nlp_fixture.write_zip(root / "train_logs_multi_runs" / "logs.zip", multi)
    return single, multi, single_zip, multi_zip


def test_duplicates_are_one_run_counted_and_reported(ptb_archives, tmp_path):
    single, multi, single_zip, multi_zip = ptb_archives
    names = {nlp_fixture.log_name(l) for l in single} | {nlp_fixture.log_name(l) for l in multi}
    report = convert_nlp([single_zip, multi_zip, WIKI_ZIP], tmp_path, progress=False)
    assert report.trials == len(names) + 345
    assert (report.duplicates_identical, report.duplicates_differing) == (5, 1)
    assert report.differing_names == [nlp_fixture.log_name(multi[1])]
    assert "6 log files found in more than one input (5 identical copies, 1 differing)" in report.summary()
    assert [i.converted for i in report.inputs] == [40, len(multi) - 6, 345]
    assert report.datasets == {"ptb": len(names), "wikitext-2": 345}
    conn = sqlite3.connect(tmp_path / "nlp.db")
    kept = conn.execute("SELECT val_loss FROM nlp_trial WHERE log_name = ?", (nlp_fixture.log_name(multi[1]),))
    assert kept.fetchall() == [(single[1]["val_losses"][-1],)]  # 'first': the single-run copy
    details = json.loads(conn.execute("SELECT details FROM nasbench_source WHERE id = 2").fetchone()[0])
    assert details["duplicates"]["identical"] == 5 and details["converted"] == len(multi) - 6
    # 'last' keeps the later copy (NNI's "replace all")
    last_dir = tmp_path / "last"
    convert_nlp([single_zip, multi_zip], last_dir, duplicates="last", progress=False)
    conn = sqlite3.connect(last_dir / "nlp.db")
    assert conn.execute("SELECT val_loss FROM nlp_trial WHERE log_name = ?",
                        (nlp_fixture.log_name(multi[1]),)).fetchall() == [(1.25,)]
    # A multi-run recipe is one config with its three runs
    recipe = json.loads(multi[-1]["recepie"])
    rows = list(query_nlp_trial_stats(recipe, "ptb", db_dir=tmp_path))
    runs = {nlp_fixture.log_name(l) for l in single + multi if l["recepie"] == multi[-1]["recepie"]
            and l["status"] == "OK"}
    assert len(rows) == len(runs) >= 3 and len({r["config"]["id"] for r in rows}) == 1


def test_folder_and_single_log_inputs(ptb_archives, tmp_path):
    single, _, _, _ = ptb_archives
    folder = nlp_fixture.write_dir(tmp_path / "nlp_data", single[:5])
    (folder / "notes.json").write_text("{}")
    report = convert_nlp(folder, tmp_path / "a", progress=False)
    assert report.trials == 5 and report.inputs[0].ignored == ["notes.json"]
    one = folder / nlp_fixture.log_name(single[0])
    report = convert_nlp(one, tmp_path / "b", progress=False)
    assert report.trials == 1


def test_failed_runs_of_ptb(ptb_archives, tmp_path):
    single, _, single_zip, _ = ptb_archives
    convert_nlp(single_zip, tmp_path, progress=False)
    failed = [l for l in single if l["status"] != "OK"]
    assert failed
    rows = list(query_nlp_trial_stats(None, "ptb", status=None, db_dir=tmp_path))
    assert len(rows) == 40 and sum(r["status"] != "OK" for r in rows) == len(failed)
    assert len(list(query_nlp_trial_stats(None, "ptb", db_dir=tmp_path))) == 40 - len(failed)


# ----------------------------------------------------------------------------------------------------------------------
# Bad input: Error naming the file, the log and the problem; the previous database untouched


def _zip_with(tmp_path, name, payload: bytes):
    path = tmp_path / "bad" / "logs.zip"
    path.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, payload)
    return path


GOOD = nlp_fixture.make_log(nlp_fixture.random_recipe(random.Random(1)), "ptb", 7, 999_000_007, "2020-05-01_00-00-00",
                            random.Random(2), epochs=3)


@pytest.mark.parametrize("mutate,message", [
    (lambda log: log.pop("status"), "missing 'status'"),
    (lambda log: log.update(recepie="{bad"), "'recepie'"),
    (lambda log: log.update(recepie=json.dumps({"h_new_0": {"op": "conv", "input": ["x"]}})), "unknown op 'conv'"),
    (lambda log: log.update(val_losses=[1.0]), "'val_losses' has 1 epochs but 'train_losses' has 3"),
    (lambda log: log.update(wall_times=["a", 1, 2]), "wall_times\\[0\\] = 'a' is not a number"),
    (lambda log: log.update(data=5), "the log's 'data' must be the dataset path"),
    (lambda log: log.update(num_params="many"), "'num_params' = 'many' is not an integer"),
])
def test_bad_logs_are_named_errors(tmp_path, mutate, message):
    log = json.loads(json.dumps(GOOD))
    mutate(log)
    path = _zip_with(tmp_path, nlp_fixture.log_name(GOOD), json.dumps(log).encode())
    with pytest.raises(CorruptInput, match=message) as info:
        convert_nlp(path, tmp_path / "db", progress=False)
    assert nlp_fixture.log_name(GOOD) in str(info.value)


def test_hostile_inputs(tmp_path):
    name = nlp_fixture.log_name(GOOD)
    for payload, message in ((b"[1, 2]", "a log is a JSON object"), (b"\xff\xfe", "not valid JSON"),
                             (b"[" * 100_000, "nested deeper|not valid JSON"), (b"", "not valid JSON")):
        with pytest.raises(CorruptInput, match=message):
            convert_nlp(_zip_with(tmp_path, name, payload), tmp_path / "db", progress=False)
    deep = json.loads(json.dumps(GOOD))
    deep["recepie"] = "[" * 200 + "]" * 200
    with pytest.raises(CorruptInput, match="nested deeper"):
        convert_nlp(_zip_with(tmp_path, name, json.dumps(deep).encode()), tmp_path / "db", progress=False)
    not_zip = tmp_path / "logs.zip"
    not_zip.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(CorruptInput, match="not a zip archive"):
        convert_nlp(not_zip, tmp_path / "db", progress=False)
    with pytest.raises(CorruptInput, match="no NAS-Bench-NLP logs"):
        convert_nlp(_zip_with(tmp_path, "readme.txt", b"hi"), tmp_path / "db", progress=False)
    with pytest.raises(NasbenchDbError, match="no such file"):
        convert_nlp(tmp_path / "missing.zip", tmp_path / "db", progress=False)


def test_a_declared_bomb_is_refused_before_reading(tmp_path, monkeypatch):
    from nasbench_db.convert import nlp as converter

    monkeypatch.setattr(converter, "MAX_JSON_BYTES", 1000)
    path = _zip_with(tmp_path, nlp_fixture.log_name(GOOD), b" " * 5000 + json.dumps(GOOD).encode())
    with pytest.raises(CorruptInput, match="over the limit of 1,000"):
        convert_nlp(path, tmp_path / "db", progress=False)


def test_failure_leaves_the_database_untouched(wiki_db, tmp_path):
    directory = tmp_path / "db"
    shutil.copytree(wiki_db[0], directory)
    before = (directory / "nlp.db").read_bytes()
    log = json.loads(json.dumps(GOOD))
    log["train_losses"] = "x"
    bad = _zip_with(tmp_path, nlp_fixture.log_name(GOOD), json.dumps(log).encode())
    with pytest.raises(CorruptInput):
        convert_nlp([WIKI_ZIP, bad], directory, progress=False)
    assert (directory / "nlp.db").read_bytes() == before
    assert sorted(p.name for p in directory.iterdir()) == ["nlp.db"]


def test_nni_nlp_db_is_not_replaced_silently(tmp_path):
    directory = tmp_path / "db"
    directory.mkdir()
    with sqlite3.connect(directory / "nlp.db") as conn:
        conn.execute("CREATE TABLE nlptrialconfig (id INTEGER PRIMARY KEY, arch JSON, dataset VARCHAR(15))")
    with pytest.raises(NasbenchDbError, match="NNI's own nlp.db"):
        convert_nlp(WIKI_ZIP, directory, progress=False)
    report = convert_nlp(WIKI_ZIP, directory, progress=False, replace_nni=True)
    assert report.trials == 345 and _db.sniff_layout(directory / "nlp.db") == "sqlite"


# ----------------------------------------------------------------------------------------------------------------------
# Command line


def test_cli_convert_and_query(tmp_path, ptb_archives):
    _, _, single_zip, multi_zip = ptb_archives
    runner = CliRunner()
    result = runner.invoke(cli, ["convert", "nlp", str(single_zip), str(multi_zip), str(WIKI_ZIP), "--db-dir",
                                 str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "duplicates: 6 log files found in more than one input" in result.output
    recipe = json.loads(RECIPES.read_text())[0]
    arch_file = tmp_path / "arch.json"
    arch_file.write_text(json.dumps(recipe))
    result = runner.invoke(cli, ["query", "nlp", "--dataset", "wikitext-2", "--limit", "2", "--db-dir", str(tmp_path)])
    assert result.exit_code == 0 and "train_loss" in result.output.splitlines()[0]
    assert len(result.output.splitlines()) == 4
    result = runner.invoke(cli, ["query", "nlp", "--status", "all", "--perplexity", "--json", "--db-dir",
                                 str(tmp_path)])
    rows = json.loads(result.output)
    assert {r["status"] for r in rows} == {"OK", "loss is nan!"} and "val_perplexity" in rows[0]
    result = runner.invoke(cli, ["query", "nlp", "--arch-file", str(arch_file), "--db-dir", str(tmp_path), "--csv"])
    assert result.exit_code == 0 and result.output.startswith("id,config.id")
    result = runner.invoke(cli, ["query", "nlp", "--arch", '{"h_new_0_op": "conv"}', "--db-dir", str(tmp_path)])
    assert result.exit_code == 1 and result.output.startswith("Error: ")
    result = runner.invoke(cli, ["convert", "nlp", str(tmp_path / "nope.zip"), "--db-dir", str(tmp_path)])
    assert result.exit_code == 1 and "Error: no such file or directory" in result.output
    result = runner.invoke(cli, ["info", "--db-dir", str(tmp_path)])
    assert "NAS-Bench-NLP:" in result.output and "logs.zip" in result.output


def test_cli_help_has_examples():
    runner = CliRunner()
    for command in (["convert", "nlp"], ["query", "nlp"]):
        result = runner.invoke(cli, command + ["--help"])
        assert result.exit_code == 0 and "Example:" in result.output


# ----------------------------------------------------------------------------------------------------------------------
# PostgreSQL: the same tables and answers


def test_postgres_same_answers(pg_url, wiki_db, tmp_path, monkeypatch):
    convert_nlp(WIKI_ZIP, progress=False)
    server = list(query_nlp_trial_stats(None, "wikitext-2", include_intermediates=True))
    monkeypatch.delenv("NASBENCHMARK_DB_URL")
    monkeypatch.setenv("NASBENCHMARK_DIR", str(wiki_db[0]))
    local = list(query_nlp_trial_stats(None, "wikitext-2", include_intermediates=True))
    assert server == local


# ----------------------------------------------------------------------------------------------------------------------
# scripts/nlp.sh against a loopback mirror (the mirror and helpers of test_scripts.py)


def test_nlp_script_downloads_converts_once_and_skips(tmp_path, ptb_archives):
    from loopback_server import LoopbackServer
    from test_scripts import Mirror, run_twice, sources

    _, _, single_zip, multi_zip = ptb_archives
    with LoopbackServer() as server:
        mirror = Mirror(server, tmp_path)
        wiki = WIKI_ZIP.read_bytes()
        mirror.publish("nlp-wikitext-2", "nas-bench-nlp-wikitext-2-logs.zip", wiki, cuts=[len(wiki) // 3])
        mirror.catalog["nlp-wikitext-2"] = {}  # the built-in sha256 is the real file's: keep checking it
        for name, path in (("nlp-ptb-single-run", single_zip), ("nlp-ptb-multi-runs", multi_zip)):
            mirror.publish(name, f"nas-bench-{name}-logs.zip", path.read_bytes())
            mirror.catalog[name] = {}  # no published checksum
        first, second = run_twice(mirror, "nlp.sh")
        assert "duplicates: 6 log files found in more than one input" in first.stderr
        assert "skipping the conversion: yes" in second.stderr
        database = mirror.home / "nlp.db"
        names = [row[1] for row in sources(database)]
        assert names == ["nas-bench-nlp-ptb-single-run-logs.zip", "nas-bench-nlp-ptb-multi-runs-logs.zip",
                         "nas-bench-nlp-wikitext-2-logs.zip"]
        with sqlite3.connect(database) as conn:
            assert conn.execute("SELECT COUNT(*) FROM nlptrialconfig WHERE dataset = 'wikitext-2'").fetchone() == (291,)
        only = mirror.run("nlp.sh", NASBENCH_NLP_DATASETS="nonsense")
        assert only.returncode == 1 and "unknown dataset 'nonsense'" in only.stderr


# ----------------------------------------------------------------------------------------------------------------------
# Property: any arguments give rows or a ValueError with a message


def test_any_input_returns_or_raises_value_error(wiki_env):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    names = st.sampled_from(["x", "h_prev_0", "h_prev_1", "node_0", "h_new_0", "", "y"])
    ops = st.sampled_from(list(space.OPS) + ["conv", 3])
    flat = st.dictionaries(st.one_of(st.sampled_from(["h_new_0_op", "node_0_op", "h_new_0_input_0", "node_0_input_0",
                                                      "node_0_input_1", "node_0_input_01", "bad"]), st.text(max_size=8)),
                           st.one_of(ops, names), max_size=6)
    nested = st.dictionaries(names, st.fixed_dictionaries({"op": ops, "input": st.lists(names, max_size=3)}),
                             max_size=3)
    junk = st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.text(max_size=10), st.booleans(),
                     st.lists(st.integers(), max_size=2))

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(arch=st.one_of(junk, flat, nested), dataset=st.one_of(junk, st.sampled_from(["ptb", "WikiText-2"])),
           reduction=st.sampled_from([None, "none", "mean", "max", 0]), inter=st.one_of(st.booleans(), junk),
           status=st.one_of(st.none(), st.sampled_from(["OK", "loss is nan!"]), st.integers()))
    def check(arch, dataset, reduction, inter, status):
        try:
            rows = list(query_nlp_trial_stats(arch, dataset, reduction, inter, status=status))
        except ValueError as exc:
            assert str(exc)
            return
        assert all(isinstance(r, dict) and "config" in r for r in rows)

    check()


def test_point_queries_reuse_their_statements(wiki_env):
    """Point queries (issue 14): the rows the unfiltered query holds for the asked recipe, one statement each,
    statements built once per opened database and query shape."""
    everything = list(query_nlp_trial_stats(None, None))
    archs = []
    for row in everything:
        if row["config"]["arch"] not in archs:
            archs.append(row["config"]["arch"])
    cache = _db.open_benchmark("nlp").schema_cache
    for round_ in range(2):
        for arch in archs[:: max(1, len(archs) // 15)]:
            expected = sorted((r for r in everything if r["config"]["arch"] == arch),
                              key=lambda r: (r["config"]["id"], r["id"]))
            with count_statements("nlp") as statements:
                rows = list(query_nlp_trial_stats(dict(arch), "wikitext-2"))
            assert rows == expected and selects(statements) == 1
            (mean,) = query_nlp_trial_stats(dict(arch), "wikitext-2", reduction="mean")
            assert mean["val_loss"] == pytest.approx(sum(r["val_loss"] for r in expected) / len(expected))
        if round_ == 0:
            shapes = len(cache)
    assert len(cache) == shapes  # the second round built nothing
