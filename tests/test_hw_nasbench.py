"""HW-NAS-Bench: ``convert hw-nasbench`` on a fixture in the exact pickle layout, and ``HWNASBenchAPI``.

The real ``HW-NAS-Bench-v1_0.pickle`` cannot be fetched here. ``hw_nasbench_fixture`` writes the layout the original
API reads, with the real values the repository's notebook prints for archs 0-2 and the real per-arch config
pickles' layout (tests/data/hw_nasbench/). Expected values come from an independent ``pickle.load`` of the fixture
(a file this test wrote) and a plain transcription of the original API's documented behaviour.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import random
import sqlite3

import pytest
from click.testing import CliRunner

import hw_nasbench_fixture as fx
from nasbench_db import db as _db
from nasbench_db.cli import cli
from nasbench_db.compat.hw_nas_bench import HWNASBenchAPI
from nasbench_db.convert.hw_nasbench import convert_hw_nasbench
from nasbench_db.convert.pickle_stream import SAFE_GLOBALS, StreamUnpickler
from nasbench_db.errors import BenchmarkNotInstalled, CorruptInput
from nasbench_db.spaces import fbnet as fbnet_space
from nasbench_db.spaces import nb201 as nb201_space


@pytest.fixture(scope="module")
def hw_full(tmp_path_factory):
    """``(pickle path, db dir, the dict written)``: the full-size fixture (15,625 archs x 3 datasets), converted."""
    directory = tmp_path_factory.mktemp("hw")
    data = fx.hw_dict()
    path = fx.write_pickle(directory / "HW-NAS-Bench-v1_0.pickle", data)
    convert_hw_nasbench(path, directory / "db")
    return path, directory / "db", data


@pytest.fixture(scope="module")
def original(hw_full):
    """The fixture as the original API holds it: ``pickle.load`` of the file (a trusted file this test wrote)."""
    with open(hw_full[0], "rb") as handle:
        return pickle.load(handle)


def _small(tmp_path, archs=30, container="ndarray", protocol=3, numpy1_names=True, name="HW-NAS-Bench-v1_0.pickle"):
    data = fx.hw_dict(archs, container)
    return fx.write_pickle(tmp_path / name, data, protocol, numpy1_names), data


def _dump(path) -> dict:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                                             "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}


# ----------------------------------------------------------------------------------------------------------------------
# the layout


def test_fixture_configs_have_the_real_config_layout():
    """The per-arch configs of the fixture equal HW-NAS-Bench's real config pickles (read by our restricted reader)."""
    for dataset in fx.DATASETS:
        for index in (0, 1, 2, 284):
            raw = (fx.DATA / f"config_{dataset}_{index}.pkl").read_bytes()
            reader = StreamUnpickler(io.BytesIO(raw).read, globals_map=SAFE_GLOBALS)
            list(reader.load())
            real = reader.result
            assert real == fx.net_config(index, dataset)
            assert list(real) == list(fx.net_config(index, dataset))  # same key order
            assert real["arch_str"] == nb201_space.arch_str(index)
    assert fx.net_config(0, "cifar10") == fx.REAL_CONFIG_0_CIFAR10


def test_conversion_stores_every_value_bit_for_bit(hw_full, original):
    _, db_dir, _ = hw_full
    with sqlite3.connect(db_dir / "nasbench201.db") as conn:
        rows = conn.execute(f"SELECT arch_index, dataset, file_dataset, {', '.join(fx.METRICS)}, config "
                            "FROM hw_nb201_metric").fetchall()
        lookup = conn.execute("SELECT metric, position, op_key, value FROM hw_fbnet_lookup "
                              "ORDER BY metric, position").fetchall()
        source = conn.execute("SELECT kind, file_name, sha256, converter FROM nasbench_source").fetchall()
    assert len(rows) == 3 * 15_625
    names = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16-120"}
    for index, dataset, file_dataset, *values, config in rows:
        entries = original["nasbench201"][file_dataset]
        assert names[file_dataset] == dataset
        for metric, value in zip(fx.METRICS, values):
            assert value == float(entries[metric][index])
        assert json.loads(config) == entries["config"][index]
        assert list(json.loads(config)) == list(entries["config"][index])
    tables = {}
    for metric, position, key, value in lookup:
        assert position == len(tables.setdefault(metric, {}))
        tables[metric][key] = value
    assert tables == original["fbnet"]
    assert [list(t) for t in tables.values()] == [list(original["fbnet"][m]) for m in tables]
    assert source[0][0] == "hw-nasbench" and source[0][1] == "HW-NAS-Bench-v1_0.pickle"
    assert source[0][3].startswith("hw-nasbench-pickle")
    import hashlib

    assert source[0][2] == hashlib.sha256(hw_full[0].read_bytes()).hexdigest()


def test_per_device_view(hw_full):
    _, db_dir, data = hw_full
    with sqlite3.connect(db_dir / "nasbench201.db") as conn:
        rows = conn.execute("SELECT device, latency, energy, arithmetic_intensity FROM hw_nb201_device WHERE "
                            "arch_index = 1 AND dataset = 'cifar10' ORDER BY device").fetchall()
    real = fx.REAL_NB201[(1, "cifar10")]
    assert rows == sorted([
        ("edgegpu", real["edgegpu_latency"], real["edgegpu_energy"], None),
        ("raspi4", real["raspi4_latency"], None, None),
        ("edgetpu", real["edgetpu_latency"], None, None),
        ("pixel3", real["pixel3_latency"], None, None),
        ("eyeriss", real["eyeriss_latency"], real["eyeriss_energy"], real["eyeriss_arithmetic_intensity"]),
        ("fpga", real["fpga_latency"], real["fpga_energy"], None)])


# ----------------------------------------------------------------------------------------------------------------------
# the facade


def test_query_by_index_returns_the_real_published_values(hw_full):
    path, db_dir, _ = hw_full
    api = HWNASBenchAPI(str(path), search_space="nasbench201", db_dir=db_dir)
    for (index, dataset), expected in fx.REAL_NB201.items():
        got = api.query_by_index(index, dataset)
        assert got == expected  # every value and average_hw_metric, bit for bit
        assert list(got) == list(expected)  # same key order
        assert all(type(v) is float for v in got.values())


def test_query_by_index_and_net_config_match_the_original_everywhere(hw_full, original):
    path, db_dir, _ = hw_full
    api = HWNASBenchAPI(path, db_dir=db_dir)
    rng = random.Random(3)
    for index in rng.sample(range(15_625), 300) + [15_624, -1, -15_625]:
        dataset = rng.choice(fx.DATASETS)
        assert api.query_by_index(index, dataset) == fx.expected_query(original, index, dataset)
        assert api.get_net_config(index, dataset) == original["nasbench201"][dataset]["config"][index]


def test_nb201_exceptions_are_the_originals(hw_full, tmp_path):
    path, db_dir, _ = hw_full
    api = HWNASBenchAPI(path, db_dir=db_dir)
    with pytest.raises(KeyError, match="cifar10-valid"):
        api.query_by_index(0, "cifar10-valid")
    with pytest.raises(KeyError, match="imagenet16-120"):  # case matters, as in the original dict
        api.get_net_config(0, "imagenet16-120")
    with pytest.raises(IndexError, match="index 15625 is out of bounds for axis 0 with size 15625"):
        api.query_by_index(15_625, "cifar10")  # the file's arrays are numpy arrays
    with pytest.raises(IndexError, match="only integers"):
        api.query_by_index(1.0, "cifar10")
    with pytest.raises(TypeError, match="format expected at most 2 arguments, got 3"):
        HWNASBenchAPI(path, search_space="nasbench101", db_dir=db_dir).query_by_index(0, "cifar10")
    with pytest.raises(TypeError, match="format expected at most 2 arguments, got 3"):
        api.get_op_lookup_tables()
    # a file holding plain lists: the list's own errors
    small, data = _small(tmp_path, archs=20, container="list")
    lists = HWNASBenchAPI(small, db_dir=tmp_path / "db")
    assert lists.query_by_index(-1, "cifar100") == fx.expected_query(data, 19, "cifar100")
    with pytest.raises(IndexError, match="^list index out of range$"):
        lists.query_by_index(20, "cifar100")
    with pytest.raises(TypeError, match="list indices must be integers or slices, not float"):
        lists.query_by_index(2.0, "cifar100")


def _fbnet_cost(table: dict, ops: list, dataset: str) -> float:
    """FBNet cost as HW-NAS-Bench's fbnet_get_metrics sums it, transcribed plainly: stem, 22 layers, head."""
    cifar = dataset == "cifar100"
    strides = [1, 1, 2, 2, 1, 2, 1] if cifar else [1, 2, 2, 2, 1, 2, 1]
    head, classes, stem_stride, size = (1504, 100, 1, 32) if cifar else (1984, 1000, 2, 224)
    blocks = [(1, 3, 1), (1, 3, 2), (3, 3, 1), (6, 3, 1), (1, 5, 1), (1, 5, 2), (3, 5, 1), (6, 5, 1)]
    channels = [16, 24, 32, 64, 112, 184, 352]
    total = 0.0
    total += table[f"ConvNorm_H{size}_W{size}_Cin3_Cout16_kernel3_stride{stem_stride}_group1"]
    size //= stem_stride
    layer = 0
    for stage, count in enumerate([1, 4, 4, 4, 4, 4, 1]):
        for i in range(count):
            c_in = (16 if stage == 0 else channels[stage - 1]) if i == 0 else channels[stage]
            stride = strides[stage] if i == 0 else 1
            op = ops[layer]
            if op < 8:
                e, k, g = blocks[op]
                total += table[f"ConvBlock_H{size}_W{size}_Cin{c_in}_Cout{channels[stage]}_exp{e}_kernel{k}"
                               f"_stride{stride}_group{g}"]
            else:
                total += table[f"Skip_H{size}_W{size}_Cin{c_in}_Cout{channels[stage]}_stride{stride}"]
            if i == 0:
                size //= stride
            layer += 1
    total += table[f"ConvNorm_H{size}_W{size}_Cin352_Cout{head}_kernel1_stride1_group1"]
    total += table[f"AvgP_H{size}_W{size}_Cin{head}_Cout{head}_kernel{size}_stride1"]
    total += table[f"FC_Cin{head}_Cout{classes}"]
    return total


def test_fbnet_space(hw_full, original):
    path, db_dir, _ = hw_full
    api = HWNASBenchAPI(path, search_space="fbnet", db_dir=db_dir)
    tables = api.get_op_lookup_tables()
    assert tables == {m: original["fbnet"][m] for m in fx.FBNET_METRICS}
    assert api.get_op_lookup_tables()["edgegpu_latency"] is tables["edgegpu_latency"]  # the same dicts, as the original
    rng = random.Random(0)
    for ops in [[0] * 22, [8] * 22, [rng.randrange(9) for _ in range(22)], [rng.randrange(9) for _ in range(22)]]:
        for dataset in ("cifar100", "ImageNet"):
            got = api.query_by_index(ops, dataset)
            assert list(got) == list(fx.FBNET_METRICS) + ["average_hw_metric"]
            for metric in fx.FBNET_METRICS:
                assert got[metric] == _fbnet_cost(original["fbnet"][metric], ops, dataset)
            product = got["edgegpu_latency"]
            for metric in fx.FBNET_METRICS[1:]:
                product *= got[metric]
            assert got["average_hw_metric"] == product
    ops = [3] * 21 + [8]
    config = api.get_net_config(ops, "ImageNet")
    assert config == {"dataset": "ImageNet", "num_classes": 1000, "op_idx_list": ops,
                      "arch_str": ["k3_e6"] * 21 + ["skip"]}
    assert config["op_idx_list"] is ops
    with pytest.raises(AssertionError, match="should be a list in FBNet space, while receive <class 'tuple'>"):
        api.query_by_index(tuple(ops), "cifar100")
    with pytest.raises(AssertionError, match="length of arch_index should be 22 in FBNet space, while receive 21"):
        api.query_by_index(ops[:21], "cifar100")
    with pytest.raises(AssertionError, match="Only cifar100 and ImageNet are allowed .* while receive cifar10$"):
        api.query_by_index(ops, "cifar10")
    with pytest.raises(AssertionError, match="while receive ImageNet16-120"):
        api.get_net_config(ops, "ImageNet16-120")
    with pytest.raises(IndexError, match="list index out of range"):
        api.get_net_config([9] + ops[1:], "cifar100")
    assert fbnet_space.layer_keys(ops, "cifar100")[-1] == "FC_Cin1504_Cout100"


def test_hw_metrics_attribute_rebuilds_the_original_dict(tmp_path):
    path, data = _small(tmp_path, archs=12)
    api = HWNASBenchAPI(path, db_dir=tmp_path / "db")
    rebuilt = api.HW_metrics
    assert set(rebuilt) == {"nasbench201", "fbnet"}
    for dataset in fx.DATASETS:
        for metric in fx.METRICS:
            assert type(rebuilt["nasbench201"][dataset][metric]).__name__ == "ndarray"
            assert list(rebuilt["nasbench201"][dataset][metric]) == list(data["nasbench201"][dataset][metric])
        assert list(rebuilt["nasbench201"][dataset]["config"]) == data["nasbench201"][dataset]["config"]
    assert rebuilt["fbnet"] == data["fbnet"]


def test_first_use_converts_once_and_later_uses_read_the_database(tmp_path):
    path, data = _small(tmp_path)
    db_dir = tmp_path / "db"
    with pytest.raises(BenchmarkNotInstalled, match="convert hw-nasbench"):
        HWNASBenchAPI(db_dir=db_dir)
    first = HWNASBenchAPI(path, db_dir=db_dir)
    assert first.query_by_index(2, "ImageNet16-120") == fx.REAL_NB201[(2, "ImageNet16-120")]
    stamp = (db_dir / "nasbench201.db").stat().st_mtime_ns
    second = HWNASBenchAPI(str(path), db_dir=db_dir)  # found by its sha256: not converted again
    assert (db_dir / "nasbench201.db").stat().st_mtime_ns == stamp
    assert second.query_by_index(1, "cifar10") == fx.REAL_NB201[(1, "cifar10")]
    assert HWNASBenchAPI(db_dir=db_dir).get_net_config(3, "cifar100") == fx.net_config(3, "cifar100")
    path.unlink()  # the original file is gone: its data is still here under its name
    assert HWNASBenchAPI(path, db_dir=db_dir).query_by_index(0, "cifar10") == fx.REAL_NB201[(0, "cifar10")]
    with pytest.raises(FileNotFoundError):
        HWNASBenchAPI(tmp_path / "other.pickle", db_dir=db_dir)
    with pytest.raises(TypeError, match="expected str, bytes or os.PathLike object, not dict"):
        HWNASBenchAPI(data, db_dir=db_dir)


def test_environment_directory_and_protocol_4_numpy_2_pickles(tmp_path, monkeypatch):
    path, data = _small(tmp_path, archs=8, protocol=4, numpy1_names=False)
    monkeypatch.setenv("NASBENCHMARK_DIR", str(tmp_path / "env"))
    api = HWNASBenchAPI(path)
    assert api.query_by_index(7, "cifar10") == fx.expected_query(data, 7, "cifar10")
    assert (tmp_path / "env" / "nasbench201.db").is_file()


# ----------------------------------------------------------------------------------------------------------------------
# loading: replace, keep, refuse


def test_reconverting_replaces_and_a_rebuild_of_nb201_keeps_the_costs(tmp_path):
    import search_fixture

    path, data = _small(tmp_path, archs=40)
    db_dir = tmp_path / "db"
    convert_hw_nasbench(path, db_dir)
    report = convert_hw_nasbench(path, db_dir)
    assert report.replaced == 3 * 40 + 8 * len(data["fbnet"]["edgegpu_latency"])
    with sqlite3.connect(db_dir / "nasbench201.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM nasbench_source WHERE kind = 'hw-nasbench'").fetchone() == (1,)
        assert conn.execute("SELECT COUNT(*) FROM hw_nb201_metric").fetchone() == (120,)
    before = _dump(db_dir / "nasbench201.db")
    search_fixture.build_nb201_landscape(db_dir, datasets=("cifar10",), seeds=(777,))  # rebuild from an "original"
    after = _dump(db_dir / "nasbench201.db")
    for table in ("hw_nb201_metric", "hw_fbnet_lookup", "hw_nb201_device"):
        strip = [r.rsplit(",", 1)[0] for r in before[table]]  # source ids are renumbered in the new file
        assert [r.rsplit(",", 1)[0] for r in after[table]] == strip
    api = HWNASBenchAPI(db_dir=db_dir)
    assert api.query_by_index(1, "cifar100") == fx.REAL_NB201[(1, "cifar100")]
    from nasbench_db import analysis

    assert analysis.top_k("nb201", 1, "edgegpu_latency", ascending=True, dataset="cifar10", db_dir=db_dir)


def _hostile_pickle() -> bytes:
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > /tmp/i13b_pwned",))

    return pickle.dumps({"nasbench201": {"cifar10": {"edgegpu_latency": [Evil()]}}}, protocol=3)


@pytest.mark.parametrize("case", ["not-a-pickle", "truncated", "code", "wrong-order", "text-values", "empty",
                                  "too-many", "no-metrics"])
def test_bad_files_are_refused_and_change_nothing(tmp_path, case):
    good, data = _small(tmp_path, archs=10)
    db_dir = tmp_path / "db"
    convert_hw_nasbench(good, db_dir)
    before = _dump(db_dir / "nasbench201.db")
    bad = tmp_path / f"{case}.pickle"
    raw = good.read_bytes()
    if case == "not-a-pickle":
        bad.write_bytes(b"<html>quota exceeded</html>")
    elif case == "truncated":
        bad.write_bytes(raw[: len(raw) // 2])
    elif case == "code":
        bad.write_bytes(_hostile_pickle())
    elif case == "wrong-order":
        data["nasbench201"]["cifar100"]["config"][3], data["nasbench201"]["cifar100"]["config"][4] = \
            data["nasbench201"]["cifar100"]["config"][4], data["nasbench201"]["cifar100"]["config"][3]
        fx.write_pickle(bad, data)
    elif case == "text-values":
        data["nasbench201"]["cifar10"]["fpga_energy"] = ["1.5"] * 10
        fx.write_pickle(bad, data)
    elif case == "empty":
        bad.write_bytes(b"")
    elif case == "too-many":
        data["nasbench201"]["cifar10"]["edgegpu_latency"] = [1.0] * 15_626
        fx.write_pickle(bad, data)
    elif case == "no-metrics":
        fx.write_pickle(bad, {"nasbench201": {}, "fbnet": {}})
    with pytest.raises(CorruptInput) as info:
        convert_hw_nasbench(bad, db_dir)
    assert str(bad) in str(info.value)
    assert _dump(db_dir / "nasbench201.db") == before
    assert not os.path.exists("/tmp/i13b_pwned")
    if case == "wrong-order":
        assert "not in NB-201's index order" in str(info.value) and "[3]" in str(info.value)
    result = CliRunner().invoke(cli, ["convert", "hw-nasbench", str(bad), "--db-dir", str(db_dir)])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and "Traceback" not in result.output


def test_unknown_keys_are_reported_not_kept(tmp_path):
    data = fx.hw_dict(5)
    data["nasbench201"]["cifar10"]["gpu_power"] = [1.0] * 5
    data["extra"] = {"x": 1}
    path = fx.write_pickle(tmp_path / "hw.pickle", data)
    report = convert_hw_nasbench(path, tmp_path / "db")
    assert report.not_kept == ["top-level 'extra'", "nasbench201['cifar10']['gpu_power']"]
    assert "not kept: top-level 'extra'" in report.summary()


def test_nni_prebuilt_file_is_not_written(tmp_path):
    path, _ = _small(tmp_path)
    (tmp_path / "db").mkdir()
    nni = tmp_path / "db" / "nasbench201-b2b60732.db"
    sqlite3.connect(nni).close()
    stamp = nni.read_bytes()
    with pytest.raises(Exception, match="NNI's nasbench201-b2b60732.db"):
        convert_hw_nasbench(path, tmp_path / "db")
    assert nni.read_bytes() == stamp and not (tmp_path / "db" / "nasbench201.db").exists()


def test_cli_convert_and_query(tmp_path):
    path, _ = _small(tmp_path, archs=15)
    result = CliRunner().invoke(cli, ["convert", "hw-nasbench", str(path), "--db-dir", str(tmp_path / "db")])
    assert result.exit_code == 0, result.output
    assert "45 NB-201 rows" in result.output and "FBNet lookup tables: 8 metrics" in result.output
    info = CliRunner().invoke(cli, ["info", "--json", "--db-dir", str(tmp_path / "db")])
    assert info.exit_code == 0 and "hw-nasbench" in info.output
    has = CliRunner().invoke(cli, ["has-source", "nb201", "--file", str(path), "--db-dir", str(tmp_path / "db")])
    assert has.exit_code == 0, has.output


def test_postgres_load_facade_and_nb201_republish(pg_url, tmp_path):
    from nasbench_db.convert.nb201 import convert_nats_tss
    from nb201_fixture import TSS_DIR

    path, data = _small(tmp_path, archs=25)
    report = convert_hw_nasbench(path)
    assert report.database.startswith("postgresql://")
    api = HWNASBenchAPI()
    assert api.query_by_index(2, "cifar10") == fx.REAL_NB201[(2, "cifar10")]
    assert api.query_by_index(24, "cifar100") == fx.expected_query(data, 24, "cifar100")
    assert HWNASBenchAPI(path).get_net_config(5, "ImageNet16-120") == fx.net_config(5, "ImageNet16-120")
    convert_nats_tss(TSS_DIR, jobs=1, progress=False)  # publish NB-201 (real NATS records) to the server
    _db.close_all()
    again = HWNASBenchAPI()
    assert again.query_by_index(0, "cifar100") == fx.REAL_NB201[(0, "cifar100")]
    database = _db.open_benchmark("nb201").database
    kinds = sorted(r[0] for r in _db.fetchall(database, "SELECT kind FROM nasbench_source"))
    assert kinds == ["hw-nasbench", "original"]
    fbnet = HWNASBenchAPI(search_space="fbnet")
    assert fbnet.get_op_lookup_tables() == {m: data["fbnet"][m] for m in fx.FBNET_METRICS}
    assert math.isfinite(fbnet.query_by_index([1] * 22, "cifar100")["average_hw_metric"])


def test_download_script_fetches_loads_once_and_skips_on_rerun(tmp_path):
    from loopback_server import LoopbackServer
    from test_scripts import Mirror, run_twice, sources

    path, _ = _small(tmp_path, archs=50)
    data = path.read_bytes()
    with LoopbackServer() as server:
        mirror = Mirror(server, tmp_path)
        mirror.publish("hw-nasbench", "HW-NAS-Bench-v1_0.pickle", data, cuts=[len(data) // 3])
        mirror.catalog["hw-nasbench"] = {}  # its authors publish no checksum: the script records the sha256
        first, second = run_twice(mirror, "hw_nasbench.sh")
    import hashlib

    database = mirror.home / "nasbench201.db"
    assert "150 NB-201 rows" in first.stderr and "UNVERIFIED download: no full checksum is published" in first.stderr
    assert sources(database) == [("hw-nasbench", "HW-NAS-Bench-v1_0.pickle", hashlib.sha256(data).hexdigest())]
    assert "skipping the conversion: yes" in second.stderr
    assert f"database: {database}" in first.stdout
    assert HWNASBenchAPI(db_dir=mirror.home).query_by_index(1, "cifar10") == fx.REAL_NB201[(1, "cifar10")]
