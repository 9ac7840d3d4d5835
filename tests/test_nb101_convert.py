"""TFRecord framing, the ModelMetrics codec and the NB-101 converter, on the real records re-encoded."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import struct

import pytest

from nasbench_db.convert import tfrecord
from nasbench_db.convert.nb101 import (Evaluation, convert_nb101, decode_model_metrics, decode_payload,
                                       encode_model_metrics, encode_payload)
from nasbench_db.errors import CorruptInput, NasbenchDbError
from conftest import DATA
from nb101_fixture import payloads, real_cells, run_payload, write_real_tfrecord


# ----------------------------------------------------------------------------------------------------------------------
# TFRecord framing

def test_crc_vectors():
    import google_crc32c

    assert google_crc32c.value(b"123456789") == 0xE3069283
    assert tfrecord.masked_crc(b"\x00" * 8) == 0x07980329
    assert tfrecord.masked_crc(b"") == 0xA282EAD8


def test_records_roundtrip(tmp_path):
    path = tmp_path / "x.tfrecord"
    data = [b"", b"a", os.urandom(5000), b"xyz" * 100]
    assert tfrecord.write_records(path, data) == 4
    read = list(tfrecord.iter_records(path))
    assert [d for _, _, d in read] == data
    assert [n for n, _, _ in read] == [0, 1, 2, 3]
    assert read[1][1] == 16 and read[2][1] == 16 + 17  # offsets: 12 + len + 4 each


def test_records_stream_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(tfrecord, "BLOCK_BYTES", 7)  # force refills inside headers and payloads
    path = tmp_path / "x.tfrecord"
    data = [os.urandom(n) for n in (1, 30, 0, 65, 12)]
    tfrecord.write_records(path, data)
    assert [d for _, _, d in tfrecord.iter_records(path)] == data


def test_truncated_file_names_record_and_offset(tmp_path):
    path = tmp_path / "x.tfrecord"
    tfrecord.write_records(path, [b"a" * 10, b"b" * 20])
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(size - 5)
    with pytest.raises(CorruptInput) as info:
        list(tfrecord.iter_records(path))
    assert info.value.record == 1 and info.value.offset == 26
    assert "truncated record" in str(info.value) and str(path) in str(info.value)
    with open(path, "r+b") as handle:
        handle.truncate(26 + 5)
    with pytest.raises(CorruptInput, match="truncated record header: 5 of 12 bytes"):
        list(tfrecord.iter_records(path))


@pytest.mark.parametrize("position,message", [(3, "length checksum mismatch"), (14, "data checksum mismatch"),
                                              (9, "length checksum mismatch")])
def test_bit_flips_detected(tmp_path, position, message):
    path = tmp_path / "x.tfrecord"
    tfrecord.write_records(path, [b"payload-bytes"])
    raw = bytearray(path.read_bytes())
    raw[position] ^= 0x10
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptInput, match=message) as info:
        list(tfrecord.iter_records(path))
    assert info.value.record == 0 and info.value.offset == 0


def test_impossible_length_rejected_without_crc(tmp_path):
    path = tmp_path / "x.tfrecord"
    path.write_bytes(struct.pack("<QI", 1 << 40, 0) + b"junk")
    with pytest.raises(CorruptInput, match="exceeds the limit"):
        list(tfrecord.iter_records(path, verify_crc=False))


# ----------------------------------------------------------------------------------------------------------------------
# ModelMetrics protobuf

def _protobuf_classes():
    """ModelMetrics built with the real protobuf runtime from a descriptor equal to model_metrics.proto."""
    descriptor_pb2 = pytest.importorskip("google.protobuf.descriptor_pb2")
    from google.protobuf import descriptor_pool, message_factory

    proto = descriptor_pb2.FileDescriptorProto(name="nasbench_test_metrics.proto", package="nasbench_test",
                                               syntax="proto2")
    evaluation = proto.message_type.add(name="EvaluationData")
    fd = descriptor_pb2.FieldDescriptorProto
    for number, name in enumerate(["current_epoch", "training_time", "train_accuracy", "validation_accuracy",
                                   "test_accuracy"], start=1):
        evaluation.field.add(name=name, number=number, type=fd.TYPE_DOUBLE, label=fd.LABEL_OPTIONAL)
    evaluation.field.add(name="checkpoint_path", number=6, type=fd.TYPE_STRING, label=fd.LABEL_OPTIONAL)
    metrics = proto.message_type.add(name="ModelMetrics")
    metrics.field.add(name="evaluation_data", number=1, type=fd.TYPE_MESSAGE, label=fd.LABEL_REPEATED,
                      type_name=".nasbench_test.EvaluationData")
    metrics.field.add(name="trainable_parameters", number=2, type=fd.TYPE_INT32, label=fd.LABEL_OPTIONAL)
    metrics.field.add(name="total_time", number=3, type=fd.TYPE_DOUBLE, label=fd.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("nasbench_test.ModelMetrics"))


def test_decoder_reads_what_protobuf_writes():
    model_metrics = _protobuf_classes()
    message = model_metrics(trainable_parameters=2694282, total_time=1769.5)
    for epoch, path in ((0.0, ""), (54.0, "gs://x/model.ckpt-8437"), (108.0, "gs://x/model.ckpt-16875")):
        e = message.evaluation_data.add(current_epoch=epoch, training_time=epoch * 10.5, train_accuracy=0.5,
                                        validation_accuracy=0.25, test_accuracy=0.125)
        if path:
            e.checkpoint_path = path
    decoded = decode_model_metrics(message.SerializeToString())
    assert decoded.trainable_parameters == 2694282 and decoded.total_time == 1769.5
    assert decoded.evaluations[1] == Evaluation(54.0, 567.0, 0.5, 0.25, 0.125, "gs://x/model.ckpt-8437")
    assert decoded.evaluations[0].checkpoint_path is None  # unset, not empty


def test_protobuf_reads_what_encoder_writes():
    model_metrics = _protobuf_classes()
    raw = encode_model_metrics([Evaluation(), Evaluation(2.0, 36.0, 0.1, 0.2, 0.3, "ckpt"),
                                Evaluation(4.0, 71.6, 0.5, 0.6, 0.7)], 123, None)
    message = model_metrics.FromString(raw)
    assert message.trainable_parameters == 123 and not message.HasField("total_time")
    assert message.evaluation_data[1].checkpoint_path == "ckpt"
    assert message.evaluation_data[2].test_accuracy == 0.7


def test_decoder_skips_unknown_fields_and_rejects_garbage():
    raw = encode_model_metrics([Evaluation(1.0, 2.0, 0.1, 0.2, 0.3)], 5, 6.0)
    unknown = bytes([0x28]) + b"\x96\x01" + bytes([0x3A, 3]) + b"abc"  # field 5 varint, field 7 bytes
    decoded = decode_model_metrics(raw + unknown)
    assert decoded.trainable_parameters == 5 and decoded.evaluations[0].test_accuracy == 0.3
    with pytest.raises(ValueError):
        decode_model_metrics(raw[:-3])
    with pytest.raises(ValueError):
        decode_model_metrics(b"\x0a\xff")


def test_payload_roundtrip_and_errors():
    raw = encode_model_metrics([Evaluation()], 1, None)
    payload = encode_payload("a" * 32, 108, "0100", "input,output", raw)
    assert decode_payload(payload) == ("a" * 32, 108, "0100", "input,output", raw)
    with pytest.raises(ValueError, match="not JSON"):
        decode_payload(b"\x80binary")
    with pytest.raises(ValueError, match="array"):
        decode_payload(b'{"a": 1}')
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        decode_payload(json.dumps(["a" * 32, "108", "01", "x", ""]).encode())


# ----------------------------------------------------------------------------------------------------------------------
# The converter, value by value against the real records

@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    directory = tmp_path_factory.mktemp("conv")
    path = directory / "real.tfrecord"
    write_real_tfrecord(path)
    report = convert_nb101(path, directory, progress=False)
    conn = sqlite3.connect(report.database)
    yield report, conn
    conn.close()


def test_report_counts(converted):
    report, _ = converted
    cells = real_cells()
    assert report.records == sum(len(runs) for c in cells for runs in c["runs"].values()) == 102
    assert report.archs == 31 and report.configs == 34 and report.trials == 102
    assert report.epochs == [4, 12, 36, 108]
    assert len(report.sha256) == 64


def test_every_value_equals_the_source(converted):
    _, conn = converted
    for cell in real_cells():
        arch = conn.execute("SELECT id, num_vertices, adjacency, operations, parameters FROM nb101_arch "
                            "WHERE hash = ?", (cell["hash"],)).fetchone()
        assert arch[2:] == (cell["adjacency"], cell["operations"], cell["parameters"])
        assert arch[1] ** 2 == len(cell["adjacency"])
        for epochs, runs in cell["runs"].items():
            (config_id,) = conn.execute("SELECT id FROM nb101_config WHERE arch_id = ? AND num_epochs = ?",
                                        (arch[0], epochs)).fetchone()
            rows = conn.execute(
                "SELECT id, halfway_training_time, halfway_train_acc, halfway_valid_acc, halfway_test_acc, "
                "training_time, train_acc, valid_acc, test_acc, total_time FROM nb101_trial "
                "WHERE id BETWEEN ? AND ? ORDER BY id", (config_id * 1024, config_id * 1024 + 1023)).fetchall()
            assert len(rows) == len(runs) == 3
            for repeat, (row, run) in enumerate(zip(rows, runs)):
                assert row[0] == config_id * 1024 + repeat  # repeat = file order
                assert row[1] == run["halfway_training_time"]
                assert row[2:5] == (run["halfway_train_accuracy"] * 100, run["halfway_validation_accuracy"] * 100,
                                    run["halfway_test_accuracy"] * 100)
                # Real seconds, exactly the file's value: NNI's x60 is not applied.
                assert row[5] == run["final_training_time"]
                assert row[6:9] == (run["final_train_accuracy"] * 100, run["final_validation_accuracy"] * 100,
                                    run["final_test_accuracy"] * 100)
                assert row[9] is None  # the sources lack total_time; the fixture leaves it unset


def test_inception_oracles(converted):
    """nb101.md §7 oracles for the README Inception cell."""
    _, conn = converted
    rows = conn.execute("SELECT t.test_acc, t.valid_acc, t.training_time FROM nb101trialstats t "
                        "JOIN nb101trialconfig c ON c.id = t.config_id "
                        "WHERE c.hash = '28cfc7874f6d200472e1a9dcd8650aa0' AND c.num_epochs = 108 "
                        "ORDER BY t.id").fetchall()
    assert [r[0] for r in rows] == [0.9311898946762085 * 100, 0.932692289352417 * 100, 0.9286859035491943 * 100]
    assert rows[0][2] == 1155.85302734375
    assert sum(r[0] for r in rows) / 3 == pytest.approx(93.0856, abs=1e-4)
    (params,) = conn.execute("SELECT parameters FROM nb101_arch WHERE hash = '28cfc7874f6d200472e1a9dcd8650aa0'"
                             ).fetchone()
    assert params == 2694282


def test_nni_views(converted):
    _, conn = converted
    inter = conn.execute("SELECT i.current_epoch, i.training_time FROM nb101intermediatestats i "
                         "JOIN nb101trialstats t ON t.id = i.trial_id JOIN nb101trialconfig c ON c.id = t.config_id "
                         "WHERE c.hash = '28cfc7874f6d200472e1a9dcd8650aa0' AND c.num_epochs = 108 "
                         "ORDER BY i.id").fetchall()
    assert inter[:2] == [(54, 577.0859985351562), (108, 1155.85302734375)]
    counts = dict(conn.execute("SELECT num_epochs, COUNT(*) FROM nb101trialconfig GROUP BY num_epochs").fetchall())
    assert counts == {4: 1, 12: 1, 36: 1, 108: 31}
    assert conn.execute("SELECT COUNT(*) FROM nb101intermediatestats").fetchone()[0] == 204


def test_provenance_row(converted):
    report, conn = converted
    row = conn.execute("SELECT benchmark, kind, file_name, file_size, sha256, row_counts, details "
                       "FROM nasbench_source").fetchall()
    assert len(row) == 1
    benchmark, kind, name, size, sha, counts, details = row[0]
    assert (benchmark, kind, name) == ("nb101", "original", "real.tfrecord")
    assert sha == report.sha256 and size > 0
    assert json.loads(counts) == {"nb101_arch": 31, "nb101_config": 34, "nb101_trial": 102}
    assert json.loads(details)["records"] == 102


def test_recorded_sha256_is_trusted(tmp_path):
    path = tmp_path / "real.tfrecord"
    write_real_tfrecord(path)
    st = path.stat()
    (tmp_path / "real.tfrecord.sha256").write_text(f"{'ab' * 32} {st.st_size} {st.st_mtime_ns}\n")
    report = convert_nb101(path, tmp_path / "db", progress=False)
    assert report.sha256 == "ab" * 32  # not re-hashed
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10))
    report = convert_nb101(path, tmp_path / "db", progress=False)
    assert report.sha256 != "ab" * 32  # the file changed since: hashed again


def test_shuffled_records_give_the_same_database(tmp_path, converted):
    _, reference = converted
    records = list(payloads())
    random.Random(5).shuffle(records)
    path = tmp_path / "shuffled.tfrecord"
    tfrecord.write_records(path, records)
    report = convert_nb101(path, tmp_path, progress=False)
    conn = sqlite3.connect(report.database)
    query = ("SELECT c.hash, c.num_epochs, t.train_acc, t.valid_acc, t.test_acc, t.training_time "
             "FROM nb101trialstats t JOIN nb101trialconfig c ON c.id = t.config_id")
    assert sorted(conn.execute(query).fetchall()) == sorted(reference.execute(query).fetchall())
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# ----------------------------------------------------------------------------------------------------------------------
# Bad input: a clear error, and the previous database untouched

def _bad_records(kind: str):
    cells = real_cells()
    good = run_payload(cells[0], 108, cells[0]["runs"][108][0])
    if kind == "json":
        return [good, b"not json at all"]
    if kind == "hash":
        cell = dict(cells[1], hash="0" * 32)
        return [good, run_payload(cell, 108, cells[1]["runs"][108][0])]
    if kind == "cell":
        cell = dict(cells[1], operations=cells[1]["operations"].replace("conv3x3-bn-relu", "conv9x9", 1))
        return [good, run_payload(cell, 108, cells[1]["runs"][108][0])]
    if kind == "evaluations":
        raw = encode_model_metrics([Evaluation(), Evaluation()], 5, None)
        return [good, encode_payload(cells[1]["hash"], 108, cells[1]["adjacency"], cells[1]["operations"], raw)]
    if kind == "two-graphs":
        other = dict(cells[0], adjacency=cells[1]["adjacency"], operations=cells[1]["operations"])
        return [good, run_payload(other, 108, cells[0]["runs"][108][1])]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind,message", [
    ("json", "record 1 .*payload is not JSON"),
    ("hash", "record 1 .*hash mismatch: the record says 0{32}"),
    ("cell", "record 1 .*not a valid NB-101 cell: unsupported op 'conv9x9'"),
    ("evaluations", "record 1 .*expected 3 evaluations"),
    ("two-graphs", "record 1 .*appears with two different graphs"),
])
def test_bad_records_fail_clearly_and_keep_the_old_database(tmp_path, kind, message):
    good_path = tmp_path / "good.tfrecord"
    write_real_tfrecord(good_path)
    db_dir = tmp_path / "db"
    convert_nb101(good_path, db_dir, progress=False)
    before = (db_dir / "nasbench101.db").read_bytes()
    bad_path = tmp_path / "bad.tfrecord"
    tfrecord.write_records(bad_path, _bad_records(kind))
    with pytest.raises(CorruptInput, match=message):
        convert_nb101(bad_path, db_dir, progress=False)
    assert (db_dir / "nasbench101.db").read_bytes() == before
    assert sorted(p.name for p in db_dir.iterdir()) == ["nasbench101.db"]  # no temporary file left


def test_wrong_files(tmp_path):
    empty = tmp_path / "empty.tfrecord"
    empty.write_bytes(b"")
    with pytest.raises(CorruptInput, match="empty"):
        convert_nb101(empty, tmp_path, progress=False)
    with pytest.raises(CorruptInput, match="not a TFRecord"):
        convert_nb101(DATA / "nats" / "NATS-tss-v1_0-3ffb9-simple" / "000000.pickle.pbz2", tmp_path, progress=False)
    with pytest.raises(NasbenchDbError, match="no such file"):
        convert_nb101(tmp_path / "missing.tfrecord", tmp_path, progress=False)
    assert not (tmp_path / "nasbench101.db").exists()


def test_stale_temporary_file_from_a_killed_build_is_removed(tmp_path):
    from nasbench_db.convert import _build

    db_dir = tmp_path / "db"
    db_dir.mkdir()
    stale = db_dir / f".nasbench101.db{_build.BUILD_SUFFIX}999999999"
    stale.write_bytes(b"half-written")
    good = tmp_path / "good.tfrecord"
    write_real_tfrecord(good)
    convert_nb101(good, db_dir, progress=False)
    assert not stale.exists()
