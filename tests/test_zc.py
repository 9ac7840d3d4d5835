"""``convert zc``: NAS-Bench-Suite-Zero zero-cost proxies on the real NASLib files (tests/data/zc).

* ``zc_nasbench201_6639fd15.json``: layout ``{dataset: {key: record}}``, records ``{proxy: {score, time}}``;
* ``zc_nasbench101_6639fd15.json``: layout ``{space: {dataset: {key: record}}}``, records ``{proxy: float}``.

Every stored value is checked against an independent read of the JSON, with the key mapped to the architecture by a
plain transcription of NASLib's conversions (``convert_op_indices_to_str``, ``convert_tuple_to_spec``).
"""

from __future__ import annotations

import functools
import json
import math
import sqlite3

import numpy
import pytest
from click.testing import CliRunner

from conftest import DATA
from nasbench_db.cli import cli
from nasbench_db.convert.zc import convert_zc
from nasbench_db.errors import CorruptInput, InvalidArgument
from nasbench_db.spaces import nb101 as nb101_space
from nasbench_db.spaces import nb201 as nb201_space

ZC = DATA / "zc"
NB201_FILE = ZC / "zc_nasbench201_6639fd15.json"
NB101_FILE = ZC / "zc_nasbench101_6639fd15.json"
RECORD_FIELDS = ("idx", "arch", "val_accuracy")


def naslib_nb201_index(key: str) -> int:
    """NASLib's op indices -> NB-201 string (its EDGE_LIST, sorted by target node) -> position in meta_archs."""
    names = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]
    ops = [names[int(v)] for v in key.strip("()").split(",")]
    edges = dict(zip([(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)], ops))
    text = "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(edges[(1, 2)], edges[(1, 3)], edges[(2, 3)], edges[(1, 4)],
                                                        edges[(2, 4)], edges[(3, 4)])
    return _meta_index()[text]


@functools.lru_cache(maxsize=1)
def _meta_index() -> dict:
    return {text: i for i, text in enumerate(nb201_space.meta_archs())}


def naslib_nb101_spec(key: str):
    """NASLib's convert_tuple_to_spec: n from n*n + n entries, matrix reshaped row-major, ops from its op list."""
    values = [int(v) for v in key.strip("()").split(",")]
    n = int(-0.5 + math.sqrt(1 + 4 * len(values)) / 2)
    matrix = numpy.array(values[:-n]).reshape(n, n)
    ops = [["input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu"][v] for v in values[-n:]]
    return matrix, ops


def _none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _rows(db_dir, benchmark, table):
    """The table's rows, cell columns first: NB-201 (arch_index, dataset, ...), NB-101 (hash, form, dataset, ...)."""
    cell = "arch_index" if benchmark == "nb201" else "hash, form"
    rest = "proxy, score, time" if table.endswith("score") else "naslib_idx, val_accuracy"
    with sqlite3.connect(db_dir / ("nasbench201.db" if benchmark == "nb201" else "nasbench101.db")) as conn:
        return conn.execute(f"SELECT {cell}, dataset, {rest} FROM {table} ORDER BY 1, 2, 3, 4").fetchall()


def _dump(path) -> dict:
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND "
                                            "name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}").fetchall())) for t in names}


# ----------------------------------------------------------------------------------------------------------------------


def test_naslib_encoding_lives_in_the_space_module():
    for key in ("(0, 2, 3, 2, 3, 1)", "(4, 4, 4, 4, 4, 4)", "(1, 0, 2, 3, 4, 0)"):
        values = tuple(int(v) for v in key.strip("()").split(","))
        assert nb201_space.index_of(nb201_space.from_naslib(values)) == naslib_nb201_index(key)
        assert nb201_space.to_naslib(naslib_nb201_index(key)) == values
    with pytest.raises(ValueError, match="must be 0..4"):
        nb201_space.from_naslib((0, 1, 2, 3, 4, 5))
    matrix, ops = nb101_space.from_naslib_tuple((0, 1, 0, 0, 0, 1))
    assert matrix == ((0, 1), (0, 0)) and ops == ["input", "output"]
    assert nb101_space.to_naslib_tuple(matrix, ops) == (0, 1, 0, 0, 0, 1)
    with pytest.raises(ValueError, match="V\\*V \\+ V entries"):
        nb101_space.from_naslib_tuple((0, 1, 0))


def test_real_nb201_file_every_value(tmp_path):
    report = convert_zc(NB201_FILE, tmp_path)
    doc = json.loads(NB201_FILE.read_text())
    expected_scores, expected_records = set(), set()
    for dataset, records in doc.items():
        for key, record in records.items():
            index = naslib_nb201_index(key)
            expected_records.add((index, dataset.lower(), record["idx"], record["val_accuracy"]))
            for proxy, value in record.items():
                if proxy not in RECORD_FIELDS:
                    expected_scores.add((index, dataset.lower(), proxy, _none(value["score"]), value["time"]))
    with sqlite3.connect(tmp_path / "nasbench201.db") as conn:
        scores = set(conn.execute("SELECT arch_index, dataset, proxy, score, time FROM zc_nb201_score"))
        records = set(conn.execute("SELECT arch_index, dataset, naslib_idx, val_accuracy FROM zc_nb201_record"))
    assert scores == expected_scores and len(scores) == 26_087
    assert records == expected_records and len(records) == 725 + 725 + 724
    assert report.spaces[0].datasets == {"cifar10": 725, "cifar100": 725, "imagenet16-120": 724}
    assert sorted(report.spaces[0].proxies) == sorted(["flops", "params", "synflow", "grasp", "fisher", "grad_norm",
                                                      "l2_norm", "plain", "nwot", "epe_nas", "jacov", "snip"])
    # -Infinity (nwot) kept as it is; the record without synflow simply has no synflow row
    with sqlite3.connect(tmp_path / "nasbench201.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM zc_nb201_score WHERE score = ?", (-math.inf,)).fetchone() == (3,)
        index = naslib_nb201_index("(3, 2, 4, 0, 4, 4)")
        proxies = {r[0] for r in conn.execute("SELECT proxy FROM zc_nb201_score WHERE arch_index = ? AND "
                                              "dataset = 'cifar10'", (index,))}
        assert "synflow" not in proxies and len(proxies) == 11
        source = conn.execute("SELECT kind, file_name, converter FROM nasbench_source").fetchall()
    assert source == [("zc", NB201_FILE.name, source[0][2])] and source[0][2].startswith("zc-json")


def test_real_nb101_file_every_value_and_labelled_forms(tmp_path):
    report = convert_zc(NB101_FILE, tmp_path)
    doc = json.loads(NB101_FILE.read_text())
    assert list(doc) == ["nasbench101"]
    seen: dict = {}
    expected_scores, expected_records = set(), set()
    for dataset, records in doc["nasbench101"].items():
        for key, record in records.items():
            matrix, ops = naslib_nb101_spec(key)
            digest = nb101_space.arch_hash({"matrix": matrix.tolist(), "ops": ops})
            form = seen.get(digest, -1) + 1
            seen[digest] = form
            expected_records.add((digest, form, dataset, key, record["val_accuracy"]))
            for proxy, value in record.items():
                if proxy not in RECORD_FIELDS:
                    expected_scores.add((digest, form, dataset, proxy, value, None))
    with sqlite3.connect(tmp_path / "nasbench101.db") as conn:
        scores = set(conn.execute("SELECT hash, form, dataset, proxy, score, time FROM zc_nb101_score"))
        records = set(conn.execute("SELECT hash, form, dataset, naslib_key, val_accuracy FROM zc_nb101_record"))
    assert scores == expected_scores and len(scores) == 500 * 11
    assert records == expected_records
    space = report.spaces[0]
    assert space.datasets == {"cifar10": 292} and space.duplicates == 208 and len(seen) == 292
    assert "208 keys are further labelled forms" in report.summary()


def test_both_layouts_and_both_record_forms_give_the_same_rows(tmp_path):
    doc = json.loads(NB201_FILE.read_text())
    convert_zc(NB201_FILE, tmp_path / "a")
    nested = tmp_path / "zc_all.json"
    nested.write_text(json.dumps({"nasbench301": {"cifar10": {}}, "nasbench201": doc}))
    report = convert_zc(nested, tmp_path / "b")
    assert report.skipped == ["nasbench301"] and "skipped spaces" in report.summary()
    assert _rows(tmp_path / "a", "nb201", "zc_nb201_score") == _rows(tmp_path / "b", "nb201", "zc_nb201_score")
    bare = tmp_path / "scores.json"  # no space in the name: the 6-entry keys say NB-201
    bare.write_text(json.dumps({ds: {k: {p: (v["score"] if isinstance(v, dict) else v) for p, v in r.items()}
                                     for k, r in recs.items()} for ds, recs in doc.items()}))
    convert_zc(bare, tmp_path / "c")
    a = {r[:4] for r in _rows(tmp_path / "a", "nb201", "zc_nb201_score")}
    c = _rows(tmp_path / "c", "nb201", "zc_nb201_score")
    assert {r[:4] for r in c} == a and all(r[4] is None for r in c)  # bare numbers: no time
    flat101 = tmp_path / "flat.json"
    flat101.write_text(json.dumps(json.loads(NB101_FILE.read_text())["nasbench101"]))
    convert_zc(flat101, tmp_path / "d")  # 56-entry keys: NB-101
    assert len(_rows(tmp_path / "d", "nb101", "zc_nb101_score")) == 5500
    with pytest.raises(CorruptInput, match="not an NB201 cell"):
        convert_zc(flat101, tmp_path / "e", space="nb201")
    with pytest.raises(InvalidArgument, match="unknown space"):
        convert_zc(flat101, tmp_path / "e", space="nb301")


def test_reloading_replaces_the_same_proxies_and_keeps_others(tmp_path):
    convert_zc(NB201_FILE, tmp_path)
    doc = json.loads(NB201_FILE.read_text())
    mine = tmp_path / "zc_nasbench201_mine.json"  # a user's own proxy for cifar100, in NASLib's layout
    mine.write_text(json.dumps({"cifar100": {k: {"myproxy": {"score": 1.5, "time": 0.1}}
                                             for k in list(doc["cifar100"])[:10]}}))
    convert_zc(mine, tmp_path)
    before = _rows(tmp_path, "nb201", "zc_nb201_record")
    assert len(before) == 2174  # a file of bare scores leaves NASLib's records alone
    convert_zc(NB201_FILE, tmp_path)  # again: the same rows, one source each
    with sqlite3.connect(tmp_path / "nasbench201.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM zc_nb201_score WHERE proxy = 'myproxy'").fetchone() == (10,)
        assert conn.execute("SELECT COUNT(*) FROM zc_nb201_score WHERE proxy <> 'myproxy'").fetchone() == (26_087,)
        assert conn.execute("SELECT COUNT(*) FROM zc_nb201_record").fetchone() == (2174,)
        kinds = conn.execute("SELECT kind, file_name FROM nasbench_source ORDER BY id").fetchall()
    assert sorted(kinds) == sorted([("zc", mine.name), ("zc", NB201_FILE.name)])
    convert_zc(mine, tmp_path)
    with sqlite3.connect(tmp_path / "nasbench201.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM nasbench_source").fetchone() == (2,)


@pytest.mark.parametrize("case, message", [
    ("bad-key", "not a NASLib tuple"),
    ("out-of-space", "not an NB201 cell"),
    ("bad-score", "expected a number"),
    ("bad-proxy-name", "is not a proxy name"),
    ("bad-record", "expected a record object"),
    ("not-json", "not valid JSON"),
    ("deep", "nested deeper"),
    ("no-space", "no NB-101 or NB-201 space"),
    ("empty", "the file is empty"),
])
def test_bad_files_are_refused_and_change_nothing(tmp_path, case, message):
    convert_zc(NB201_FILE, tmp_path / "db")
    before = _dump(tmp_path / "db" / "nasbench201.db")
    bad = tmp_path / "zc_nasbench201_bad.json"
    record = {"idx": "1", "synflow": {"score": 1.0, "time": 0.5}}
    text = {
        "bad-key": json.dumps({"cifar10": {"(0, 1, 2, 3, 4, x)": record}}),
        "out-of-space": json.dumps({"cifar10": {"(0, 1, 2, 3, 4, 5)": record}}),
        "bad-score": json.dumps({"cifar10": {"(0, 1, 2, 3, 4, 0)": {"synflow": {"score": "high", "time": 1}}}}),
        "bad-proxy-name": json.dumps({"cifar10": {"(0, 1, 2, 3, 4, 0)": {"x') OR 1=1 --": 1.0}}}),
        "bad-record": json.dumps({"cifar10": {"(0, 1, 2, 3, 4, 0)": [1, 2]}}),
        "not-json": '{"cifar10": {',
        "deep": "[" * 100_000 + "]" * 100_000,
        "no-space": json.dumps({"nasbench301": {"cifar10": {"a": {}}}}),
        "empty": "",
    }[case]
    bad.write_text(text)
    with pytest.raises(CorruptInput, match=message) as info:
        convert_zc(bad, tmp_path / "db")
    assert str(bad) in str(info.value)
    assert _dump(tmp_path / "db" / "nasbench201.db") == before
    result = CliRunner().invoke(cli, ["convert", "zc", str(bad), "--db-dir", str(tmp_path / "db")])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and "Traceback" not in result.output


def test_file_larger_than_the_json_limit_is_refused_before_reading(tmp_path, monkeypatch):
    from nasbench_db.convert import zc

    monkeypatch.setattr(zc, "MAX_JSON_BYTES", 1000)
    with pytest.raises(CorruptInput, match="over the limit of 1,000"):
        convert_zc(NB201_FILE, tmp_path)
    assert not (tmp_path / "nasbench201.db").exists()


def test_cli_convert_zc(tmp_path):
    result = CliRunner().invoke(cli, ["convert", "zc", str(NB101_FILE), "--db-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "5,500 scores of 11 proxies (cifar10: 292 cells)" in result.output
    assert "nb101 results are not installed yet" in result.output
    result = CliRunner().invoke(cli, ["convert", "zc", str(NB201_FILE), "--space", "nb201", "--db-dir", str(tmp_path)])
    assert result.exit_code == 0 and "26,087 scores of 12 proxies" in result.output
    assert CliRunner().invoke(cli, ["convert", "zc", "--help"]).exit_code == 0


def test_download_script_fetches_both_files_verified_and_skips_on_rerun(tmp_path):
    import hashlib

    from loopback_server import LoopbackServer
    from test_scripts import Mirror, run_twice, sources

    with LoopbackServer() as server:
        mirror = Mirror(server, tmp_path)
        for space, path in (("nb201", NB201_FILE), ("nb101", NB101_FILE)):
            data = path.read_bytes()
            mirror.publish(f"zc-{space}", f"zc_nasbench{space[2:]}.json", data, cuts=[len(data) // 2])
        first, second = run_twice(mirror, "zc.sh")
    assert "26,087 scores" in first.stderr and "5,500 scores" in first.stderr
    assert sources(mirror.home / "nasbench201.db") == [
        ("zc", "zc_nasbench201.json", hashlib.sha256(NB201_FILE.read_bytes()).hexdigest())]
    assert sources(mirror.home / "nasbench101.db") == [
        ("zc", "zc_nasbench101.json", hashlib.sha256(NB101_FILE.read_bytes()).hexdigest())]
    assert second.stderr.count("skipping the conversion: yes") == 2


def test_catalog_pins_the_real_files():
    import hashlib

    from nasbench_db import download

    entries = download.catalog()
    assert entries["zc-nb201"].expected.sha256 == hashlib.sha256(NB201_FILE.read_bytes()).hexdigest()
    assert entries["zc-nb101"].expected.sha256 == hashlib.sha256(NB101_FILE.read_bytes()).hexdigest()
    assert entries["hw-nasbench"].benchmark == "nb201" and entries["hw-nasbench"].urls[0].startswith("https://")


def test_nb101_proxies_survive_a_reconversion_of_the_benchmark(tmp_path):
    from conftest import SAMPLE_TFRECORD
    from nasbench_db.convert.nb101 import convert_nb101

    convert_nb101(SAMPLE_TFRECORD, tmp_path, progress=False)
    convert_zc(NB101_FILE, tmp_path)
    before = _rows(tmp_path, "nb101", "zc_nb101_score")
    convert_nb101(SAMPLE_TFRECORD, tmp_path, progress=False)  # rebuilt and swapped in
    assert [r[:-1] for r in _rows(tmp_path, "nb101", "zc_nb101_score")] == [r[:-1] for r in before]
    with sqlite3.connect(tmp_path / "nasbench101.db") as conn:
        kinds = sorted(r[0] for r in conn.execute("SELECT kind FROM nasbench_source"))
        assert conn.execute("SELECT COUNT(*) FROM nb101_trial").fetchone() == (102,)
    assert kinds == ["original", "zc"]
