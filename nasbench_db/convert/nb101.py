"""NAS-Bench-101: the TFRecord payload and ``ModelMetrics`` protobuf, and the converter into SQL.

Each record of ``nasbench_full.tfrecord`` / ``nasbench_only108.tfrecord`` is one training run, a UTF-8 JSON array
``[module_hash, epochs, raw_adjacency, raw_operations, base64(ModelMetrics)]``. ``ModelMetrics`` (proto2, package
``nasbench``) is decoded here by hand (no protobuf runtime, no TensorFlow)::

    ModelMetrics   1: repeated EvaluationData evaluation_data   2: int32 trainable_parameters   3: double total_time
    EvaluationData 1: double current_epoch  2: double training_time  3: double train_accuracy
                   4: double validation_accuracy  5: double test_accuracy  6: string checkpoint_path

``evaluation_data`` holds 3 entries: after 1 step at learning rate 0 (unused, as in the original API), halfway
(epoch E/2: the original ``evaluate.py`` evaluates at ``0.5 * train_epochs``) and final (epoch E). The halfway entry's
``current_epoch`` is checked on every record: a value other than E/2 is stored (``nb101_trial_halfway``).

Other projects write the same container with a message that extends ``ModelMetrics`` (EC-NAS-Bench's
``ModelMetricsEnergy``: fields 1-5 of each evaluation and 1-3 of the message are NB-101's, energy fields follow).
:func:`decode_model_metrics` reads such a message given a :class:`ForeignLayout` naming the extra fields, and counts
the fields it does not know, so a converter can say what it did not keep.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..checksums import recorded_sha256
from ..errors import CorruptInput, NasbenchDbError
from ..limits import MAX_EPOCHS, MAX_ROW_JSON_BYTES, check_lfs_pointer, short_repr
from ..models import (NB101_CONFIG_ID_FACTOR, NB101_CONFIG_LATE_COLUMNS, NB101_MAX_RUNS_PER_CONFIG,
                      NB101_TRIAL_ID_FACTOR, NB101_VIEWS, Nb101Arch, Nb101Config, Nb101Form, Nb101Trial,
                      Nb101TrialEnergy, Nb101TrialHalfway)
from ..spaces import nb101 as space
from . import _build
from .tfrecord import iter_records

CONVERTER_NAME = "nb101-tfrecord"
BATCH_ROWS = 50_000


class Evaluation(NamedTuple):
    """One ``EvaluationData`` entry (fractions and seconds, as in the file); absent fields are None.

    ``extra``: with a :class:`ForeignLayout`, the layout's fields found in the entry, by name (else None).
    """

    current_epoch: float | None = None
    training_time: float | None = None
    train_accuracy: float | None = None
    validation_accuracy: float | None = None
    test_accuracy: float | None = None
    checkpoint_path: str | None = None
    extra: dict | None = None


class ModelMetrics(NamedTuple):
    evaluations: list
    trainable_parameters: int | None
    total_time: float | None
    extra: dict | None = None


@dataclass(frozen=True)
class ForeignLayout:
    """The fields a message extending ``ModelMetrics`` adds: ``{field number: (name, wire type)}`` for each
    evaluation entry and for the message itself. Wire types: 0 varint, 1 double, 2 bytes / string / message (kept as
    bytes; decode nested messages with :func:`iter_fields`). A field number the layout names takes precedence over
    NB-101's meaning of that number (EC-NAS's evaluation field 6 is a double ``energy``, NB-101's a string path)."""

    name: str
    evaluation_fields: dict
    message_fields: dict


# --------------------------------------------------------------------------------------------------------------------
# protobuf wire format

_DOUBLE = struct.Struct("<d")
# The five doubles of an EvaluationData in field order, each preceded by its one-byte tag (0x09, 0x11 ... 0x29).
_FIVE_DOUBLES = struct.Struct("<BdBdBdBdBd")
_FIVE_TAGS = (0x09, 0x11, 0x19, 0x21, 0x29)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _skip(buf: bytes, pos: int, wire_type: int) -> int:
    if wire_type == 0:
        return _varint(buf, pos)[1]
    if wire_type == 1:
        return pos + 8
    if wire_type == 2:
        length, pos = _varint(buf, pos)
        return pos + length
    if wire_type == 5:
        return pos + 4
    raise ValueError(f"unsupported wire type {wire_type}")


def _field_value(buf: bytes, pos: int, end: int, wire_type: int):
    """``(value, new position)`` of one field's value: int (varint, 32-bit), float (64-bit double) or bytes."""
    if wire_type == 0:
        return _varint(buf, pos)
    if wire_type == 1:
        if pos + 8 > end:
            raise ValueError("truncated double")
        return _DOUBLE.unpack_from(buf, pos)[0], pos + 8
    if wire_type == 2:
        length, pos = _varint(buf, pos)
        if pos + length > end:
            raise ValueError("truncated length-delimited field")
        return bytes(buf[pos:pos + length]), pos + length
    if wire_type == 5:
        if pos + 4 > end:
            raise ValueError("truncated 32-bit field")
        return int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
    raise ValueError(f"unsupported wire type {wire_type}")


def iter_fields(buf: bytes):
    """Yield ``(field number, wire type, value)`` for every field of a serialized message (see
    :func:`_field_value` for the value types); raises ValueError on malformed input."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        value, pos = _field_value(buf, pos, end, key & 7)
        yield key >> 3, key & 7, value


def _foreign(buf, pos, end, number, wire_type, fields, extra, skipped, scope):
    """Decode field ``number`` into ``extra`` when ``fields`` names it with this wire type, else skip it (counted
    in ``skipped`` as ``(scope, number, wire type)``). Returns the new position and ``extra``."""
    named = fields.get(number) if fields else None
    if named is not None and named[1] == wire_type:
        value, pos = _field_value(buf, pos, end, wire_type)
        if extra is None:
            extra = {}
        extra[named[0]] = value
        return pos, extra
    if skipped is not None:
        skipped[(scope, number, wire_type)] = skipped.get((scope, number, wire_type), 0) + 1
    return _skip(buf, pos, wire_type), extra


def _decode_evaluation(buf: bytes, pos: int, end: int, layout: ForeignLayout | None = None,
                       skipped: dict | None = None) -> Evaluation:
    values = [None, None, None, None, None, None, None]
    if end - pos >= 45 and buf[pos] == 0x09:
        unpacked = _FIVE_DOUBLES.unpack_from(buf, pos)
        if unpacked[0::2] == _FIVE_TAGS:
            values[:5] = unpacked[1::2]
            pos += 45
    fields = layout.evaluation_fields if layout is not None else None
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if 1 <= number <= 5 and wire_type == 1:
            if pos + 8 > end:
                raise ValueError("truncated double")
            values[number - 1] = _DOUBLE.unpack_from(buf, pos)[0]
            pos += 8
        elif number == 6 and wire_type == 2 and not (fields and 6 in fields):
            length, pos = _varint(buf, pos)
            values[5] = bytes(buf[pos:pos + length]).decode("utf-8")
            pos += length
        else:
            pos, values[6] = _foreign(buf, pos, end, number, wire_type, fields, values[6], skipped, "evaluation")
    if pos != end:
        raise ValueError("field runs past the end of EvaluationData")
    return Evaluation(*values)


def decode_model_metrics(buf: bytes, layout: ForeignLayout | None = None,
                         skipped: dict | None = None) -> ModelMetrics:
    """Decode a serialized ``ModelMetrics``; raises ValueError on malformed input.

    ``layout``: the extra fields of a message extending ``ModelMetrics`` (decoded into ``extra`` dicts).
    ``skipped``: a dict that counts every field decoded neither as NB-101's nor by the layout, keyed
    ``(scope, field number, wire type)`` with scope 'message' or 'evaluation'.
    """
    evaluations = []
    parameters = None
    total_time = None
    extra = None
    fields = layout.message_fields if layout is not None else None
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if number == 1 and wire_type == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise ValueError("truncated evaluation_data")
            evaluations.append(_decode_evaluation(buf, pos, pos + length, layout, skipped))
            pos += length
        elif number == 2 and wire_type == 0:
            parameters, pos = _varint(buf, pos)
            if parameters >= 1 << 63:  # int32 negatives are sign-extended to 64 bits
                parameters -= 1 << 64
        elif number == 3 and wire_type == 1:
            if pos + 8 > end:
                raise ValueError("truncated total_time")
            total_time = _DOUBLE.unpack_from(buf, pos)[0]
            pos += 8
        else:
            pos, extra = _foreign(buf, pos, end, number, wire_type, fields, extra, skipped, "message")
    if pos != end:
        raise ValueError("field runs past the end of ModelMetrics")
    return ModelMetrics(evaluations, parameters, total_time, extra)


def _encode_varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_model_metrics(evaluations, trainable_parameters: int | None = None,
                         total_time: float | None = None) -> bytes:
    """Serialize ``ModelMetrics`` as protobuf does (fields in number order; None fields omitted)."""
    out = bytearray()
    for evaluation in evaluations:
        evaluation = Evaluation(*evaluation) if not isinstance(evaluation, Evaluation) else evaluation
        body = bytearray()
        for number, value in enumerate(evaluation[:5], start=1):
            if value is not None:
                body.append(number << 3 | 1)
                body += _DOUBLE.pack(value)
        if evaluation.checkpoint_path is not None:
            text = evaluation.checkpoint_path.encode("utf-8")
            body.append(6 << 3 | 2)
            body += _encode_varint(len(text)) + text
        out.append(1 << 3 | 2)
        out += _encode_varint(len(body)) + body
    if trainable_parameters is not None:
        out.append(2 << 3 | 0)
        out += _encode_varint(trainable_parameters)
    if total_time is not None:
        out.append(3 << 3 | 1)
        out += _DOUBLE.pack(total_time)
    return bytes(out)


# --------------------------------------------------------------------------------------------------------------------
# record payload

def encode_payload(module_hash: str, epochs: int, adjacency: str, operations: str, metrics: bytes) -> bytes:
    """The JSON payload of one record, as the released files hold it."""
    return json.dumps([module_hash, epochs, adjacency, operations,
                       base64.b64encode(metrics).decode("ascii")]).encode("utf-8")


def decode_payload(data: bytes):
    """``(module_hash, epochs, adjacency, operations, metrics_bytes)`` of a record; ValueError names what is wrong.

    The JSON row is at most :data:`~nasbench_db.limits.MAX_ROW_JSON_BYTES`; deep nesting, wrong types and epochs
    outside ``1..MAX_EPOCHS`` are refused.
    """
    if len(data) > MAX_ROW_JSON_BYTES:
        raise ValueError(f"payload of {len(data):,} bytes, over the limit of {MAX_ROW_JSON_BYTES:,} for one record: "
                         "not a NAS-Bench-101 record")
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError("payload JSON nested too deeply: not a NAS-Bench-101 record") from None
    except (UnicodeDecodeError, ValueError):
        raise ValueError("payload is not JSON: not a NAS-Bench-101 record "
                         "(expected [hash, epochs, adjacency, operations, metrics])") from None
    if not isinstance(value, list) or len(value) != 5:
        raise ValueError("payload is not the NB-101 array [hash, epochs, adjacency, operations, metrics]")
    module_hash, epochs, adjacency, operations, raw_metrics = value
    if not (isinstance(module_hash, str) and len(module_hash) == 32):
        raise ValueError(f"module hash must be 32 hex characters: got {short_repr(module_hash)}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 0 < epochs <= MAX_EPOCHS:
        raise ValueError(f"epochs must be a positive integer (at most {MAX_EPOCHS:,}): got {short_repr(epochs)}")
    if not isinstance(adjacency, str) or not isinstance(operations, str) or not isinstance(raw_metrics, str):
        raise ValueError("adjacency, operations and metrics must be strings")
    try:
        metrics = base64.b64decode(raw_metrics)
    except (binascii.Error, ValueError):
        raise ValueError("metrics field is not valid base64") from None
    return module_hash, epochs, adjacency, operations, metrics


# --------------------------------------------------------------------------------------------------------------------
# converter

@dataclass
class Nb101Report:
    """What a conversion did (printed by the CLI)."""

    source: str
    database: str
    records: int = 0
    archs: int = 0
    configs: int = 0
    trials: int = 0
    epochs: list = field(default_factory=list)
    seconds: float = 0.0
    sha256: str = ""
    #: runs whose halfway evaluation the file records at another epoch than E/2 (stored in nb101_trial_halfway)
    other_halfway: int = 0
    #: fields of the file's protobuf that NB-101's ModelMetrics does not have, so were not kept (checked on the first
    #: record; what the tables never keep of NB-101's own fields is in :data:`NOT_KEPT_ALWAYS`)
    not_kept: list = field(default_factory=list)

    def summary(self) -> str:
        rate = self.records / self.seconds if self.seconds else 0.0
        text = (f"converted {self.records:,} records of {self.source} into {self.database}: {self.archs:,} cells, "
                f"{self.configs:,} configs, {self.trials:,} trials, epochs {self.epochs} "
                f"in {self.seconds:.1f} s ({rate:,.0f} records/s)")
        if self.other_halfway:
            text += f"; {self.other_halfway:,} runs evaluated halfway at another epoch than E/2 (kept)"
        if self.not_kept:
            text += "; fields not kept: " + ", ".join(self.not_kept)
        return text


_ARCH_SQL = "INSERT INTO nb101_arch (id, hash, num_vertices, adjacency, operations, parameters) VALUES (?,?,?,?,?,?)"
_CONFIG_SQL = "INSERT INTO nb101_config (id, arch_id, num_epochs) VALUES (?,?,?)"
_TRIAL_SQL = ("INSERT INTO nb101_trial (id, source_id, halfway_training_time, halfway_train_acc, halfway_valid_acc, "
              "halfway_test_acc, training_time, train_acc, valid_acc, test_acc, total_time) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?)")
_HALFWAY_SQL = "INSERT INTO nb101_trial_halfway (trial_id, halfway_epoch) VALUES (?,?)"
_FORM_INSERT_SQL = "INSERT INTO nb101_form (matrix_key, cells) VALUES (?,?)"

#: What the released files' messages hold beyond what the tables keep (always reported).
NOT_KEPT_ALWAYS = ("evaluation 0 (after 1 step at learning rate 0, unused as in the original API)",
                   "checkpoint_path")


def config_load_ddl(database) -> tuple[str, list]:
    """``(CREATE TABLE nb101_config without its late columns, [ALTER TABLE ... ADD COLUMN ...])``.

    The released file's 1.7 M configs are loaded before :data:`NB101_CONFIG_LATE_COLUMNS` exist; the ALTERs append
    them afterwards with their defaults, which SQLite then keeps in the schema rather than in every row.
    """
    with database.bind_ctx([Nb101Config], bind_refs=False, bind_backrefs=False):
        create = Nb101Config._schema._create_table(safe=False).query()[0]
        alters = []
        for name in NB101_CONFIG_LATE_COLUMNS:
            ctx = database.get_sql_context()
            column = ctx.sql(Nb101Config._meta.fields[name].ddl(ctx)).query()[0]
            if ", " + column not in create:
                raise AssertionError(f"cannot find column {column!r} in {create!r}")
            create = create.replace(", " + column, "", 1)
            alters.append(f'ALTER TABLE "{Nb101Config._meta.table_name}" ADD COLUMN {column}')
    return create, alters


def foreign_fields(skipped: dict) -> list:
    """Readable names of the fields counted by :func:`decode_model_metrics` (``skipped``)."""
    wire = {0: "varint", 1: "double", 2: "bytes", 5: "fixed32"}
    return [f"{scope} field {number} ({wire.get(wire_type, wire_type)})"
            for scope, number, wire_type in sorted(skipped)]


def _percent(fraction):
    return None if fraction is None else fraction * 100.0


def _check_cell(path, number, offset, module_hash, adjacency, operations):
    """Validate a new cell and recompute its hash; returns its number of vertices."""
    try:
        matrix = space.adjacency_to_matrix(adjacency)
        ops = operations.split(",")
        matrix, ops = space.check_matrix(matrix, ops)
        space.validate(matrix, ops)
        digest = space.graph_hash(matrix, space.labeling(ops))
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise CorruptInput(path, f"cell {module_hash} is not a valid NB-101 cell: {str(exc)[:300]}", number,
                           offset) from None
    if digest != module_hash:
        raise CorruptInput(path, f"hash mismatch: the record says {module_hash}, its cell hashes to {digest}",
                           number, offset)
    return len(matrix)


def _check_first_record(path, data: bytes, report: Nb101Report) -> None:
    """Decode the first record once more, counting fields NB-101's ``ModelMetrics`` does not have: an EC-NAS-Bench
    file (an energy double where NB-101 has its checkpoint path) is refused with the command that reads it; other
    unknown fields are reported as not kept."""
    skipped: dict = {}
    decode_model_metrics(decode_payload(data)[4], skipped=skipped)
    if ("evaluation", 6, 1) in skipped:
        raise CorruptInput(path, "the records carry EC-NAS-Bench energy fields (evaluation field 6 is a double, "
                                 "NB-101's is a checkpoint path): convert this file with "
                                 f"`nasbench-db convert ecnas {Path(path).name}`", 0, 0)
    report.not_kept = foreign_fields(skipped)


def convert_nb101(path, db_dir=None, progress: bool | None = None, verify_crc: bool = True) -> Nb101Report:
    """Convert an NB-101 TFRecord file into ``<db_dir>/nasbench101.db`` (swapped in only when complete).

    ``progress``: None shows a bar when stderr is a terminal. Raises :class:`CorruptInput` naming the file, record and
    byte offset of the first bad record; an existing database is left untouched on any failure.
    """
    path = Path(path)
    if not path.is_file():
        raise NasbenchDbError(f"no such file: {path} (expected nasbench_full.tfrecord or nasbench_only108.tfrecord)")
    if path.stat().st_size == 0:
        raise CorruptInput(path, "the file is empty: expected NB-101 TFRecord records")
    check_lfs_pointer(path)
    started = time.perf_counter()
    known_sha = recorded_sha256(path)
    digest = None if known_sha else hashlib.sha256()
    report = Nb101Report(source=str(path), database="")
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc="nb101", file=sys.stderr)

    with _build.DatabaseBuild("nb101", db_dir) as build:
        build.create_tables([Nb101Arch, Nb101Config, Nb101Trial, Nb101TrialHalfway, Nb101TrialEnergy, Nb101Form])
        conn = build.connection
        create_config, add_late_columns = config_load_ddl(build.database)
        conn.execute('DROP TABLE "nb101_config"')
        conn.execute(create_config)
        source_id = build.add_source("original", path, CONVERTER_NAME, known_sha)
        conn.execute("BEGIN")
        arch_by_hash: dict[str, tuple] = {}  # hash -> (arch id, adjacency, operations, parameters)
        config_ids: dict[tuple, int] = {}
        slots: dict[int, int] = {}  # arch id -> configs seen
        repeats: dict[int, int] = {}
        archs, configs, trials, halfway_rows = [], [], [], []
        trial_id = 0
        number = -1
        epochs_seen = set()
        decode = decode_model_metrics
        b64decode = base64.b64decode
        loads = json.loads
        last_offset = 0
        # Records grouped by cell (as released) append to the key in order; anything else is compacted at the end.
        last_key = 0
        in_order = True
        try:
            for number, offset, data in iter_records(path, verify_crc=verify_crc, digest=digest):
                # Fast path for well-formed records; any surprise falls back to the checking decoder below.
                try:
                    if len(data) > MAX_ROW_JSON_BYTES:
                        raise ValueError
                    module_hash, epochs, adjacency, operations, raw_metrics = loads(data)
                    if type(module_hash) is not str or type(epochs) is not int or type(adjacency) is not str \
                            or type(operations) is not str:
                        raise ValueError
                    metrics = decode(b64decode(raw_metrics))
                except Exception:  # the checking decoder below says what is wrong
                    try:
                        module_hash, epochs, adjacency, operations, raw = decode_payload(data)
                        metrics = decode(raw)
                    except (ValueError, struct.error, IndexError) as exc:
                        raise CorruptInput(path, str(exc), number, offset) from None
                known = arch_by_hash.get(module_hash)
                if known is None:
                    if not isinstance(module_hash, str) or not isinstance(epochs, int):
                        raise CorruptInput(path, "payload is not the NB-101 array [hash, epochs, adjacency, "
                                                 "operations, metrics]", number, offset)
                    num_vertices = _check_cell(path, number, offset, module_hash, adjacency, operations)
                    if metrics.trainable_parameters is None or metrics.trainable_parameters < 0:
                        raise CorruptInput(path, f"cell {module_hash} has no trainable_parameters count "
                                                 f"(got {metrics.trainable_parameters})", number, offset)
                    known = (len(arch_by_hash) + 1, adjacency, operations)
                    arch_by_hash[module_hash] = known
                    archs.append((known[0], module_hash, num_vertices, adjacency, operations,
                                  metrics.trainable_parameters))
                elif known[1] != adjacency or known[2] != operations:
                    raise CorruptInput(path, f"cell {module_hash} appears with two different graphs "
                                             f"({known[1]}/{known[2]} and {short_repr(adjacency)}/"
                                             f"{short_repr(operations)})", number, offset)
                evaluations = metrics.evaluations
                if len(evaluations) != 3:
                    raise CorruptInput(path, f"expected 3 evaluations (step 0, halfway, final): got "
                                             f"{len(evaluations)}", number, offset)
                config_key = (known[0], epochs)
                config_id = config_ids.get(config_key)
                if config_id is None:
                    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 0 < epochs <= MAX_EPOCHS:
                        raise CorruptInput(path, f"epochs must be a positive integer (at most {MAX_EPOCHS:,}): got "
                                                 f"{short_repr(epochs)}", number, offset)
                    slot = slots.get(known[0], 0)
                    if slot >= NB101_CONFIG_ID_FACTOR:
                        raise CorruptInput(path, f"too many epoch budgets for cell {module_hash}: got {slot + 1}, "
                                                 f"max {NB101_CONFIG_ID_FACTOR}", number, offset)
                    slots[known[0]] = slot + 1
                    config_id = known[0] * NB101_CONFIG_ID_FACTOR + slot
                    config_ids[config_key] = config_id
                    configs.append((config_id, known[0], epochs))
                    epochs_seen.add(epochs)
                repeat = repeats.get(config_id, 0)
                if repeat >= NB101_MAX_RUNS_PER_CONFIG:
                    raise CorruptInput(path, f"too many runs of cell {module_hash} at {epochs} epochs: got "
                                             f"{repeat + 1}, max {NB101_MAX_RUNS_PER_CONFIG}", number, offset)
                repeats[config_id] = repeat + 1
                half, final = evaluations[1], evaluations[2]
                trial_id += 1
                key = config_id * NB101_TRIAL_ID_FACTOR + repeat
                if half.current_epoch is not None and half.current_epoch != epochs / 2:
                    if not math.isfinite(half.current_epoch):
                        raise CorruptInput(path, f"the halfway evaluation's current_epoch must be a number: got "
                                                 f"{half.current_epoch}", number, offset)
                    halfway_rows.append((key, half.current_epoch))  # the file's own halfway epoch
                if number == 0:
                    _check_first_record(path, data, report)
                if key < last_key:
                    in_order = False
                last_key = key
                trials.append((key, source_id,
                               half.training_time, _percent(half.train_accuracy),
                               _percent(half.validation_accuracy), _percent(half.test_accuracy),
                               final.training_time, _percent(final.train_accuracy),
                               _percent(final.validation_accuracy), _percent(final.test_accuracy),
                               metrics.total_time))
                if len(trials) >= BATCH_ROWS:
                    conn.executemany(_ARCH_SQL, archs)
                    conn.executemany(_CONFIG_SQL, configs)
                    conn.executemany(_TRIAL_SQL, trials)
                    conn.executemany(_HALFWAY_SQL, halfway_rows)
                    archs.clear()
                    configs.clear()
                    trials.clear()
                    halfway_rows.clear()
                    if bar is not None:
                        bar.update(offset - last_offset)
                        last_offset = offset
            conn.executemany(_ARCH_SQL, archs)
            conn.executemany(_CONFIG_SQL, configs)
            conn.executemany(_TRIAL_SQL, trials)
            conn.executemany(_HALFWAY_SQL, halfway_rows)
            # Which cell each labelled form is, so that queries find a cell without hashing it (vectorised: about
            # 1 s per 100,000 cells).
            conn.executemany(_FORM_INSERT_SQL, sorted(space.labelled_forms(arch_by_hash.values()).items()))
            for statement in add_late_columns:
                conn.execute(statement)
            if bar is not None:
                bar.update(bar.total - bar.n)  # the records after the last batch: the bar ends at 100 %
        finally:
            if bar is not None:
                bar.close()
        if number < 0:
            raise CorruptInput(path, "no records: expected NB-101 TFRecord records")
        sha = known_sha or digest.hexdigest()
        report.records = number + 1
        report.archs = len(arch_by_hash)
        report.configs = len(config_ids)
        report.trials = trial_id
        report.epochs = sorted(epochs_seen)
        report.sha256 = sha
        report.other_halfway = conn.execute("SELECT COUNT(*) FROM nb101_trial_halfway").fetchone()[0]
        counts = {"nb101_arch": report.archs, "nb101_config": report.configs, "nb101_trial": report.trials}
        if report.other_halfway:
            counts["nb101_trial_halfway"] = report.other_halfway
        build.set_source_counts(
            source_id, counts, details={"records": report.records, "epochs": report.epochs, "dataset": "cifar10",
                                        "not_kept": list(NOT_KEPT_ALWAYS) + report.not_kept}, sha256=sha)
        conn.execute("COMMIT")
        final = build.finish(NB101_VIEWS, vacuum=not in_order)
    report.database = str(final)
    report.seconds = time.perf_counter() - started
    return report


# --------------------------------------------------------------------------------------------------------------------
# runs of other sources, added to an existing database (training results, EC-NAS-Bench files)
#
# ``conn`` is a DB-API-like connection inside a write transaction (sqlite3, or results.ServerConnection on a server).
# The released file's ids are untouched: a new cell gets the next arch id, a new (budget, dataset) of a cell the next
# free config slot, and a run the next repeat of its config.

def add_cell(conn, digest: str, adjacency: str, operations: str, num_vertices: int, parameters: int, where,
             check: bool = False) -> int:
    """The arch id of cell ``digest``, inserting the cell when the database lacks it. ``where`` names the input in
    errors.

    ``check``: ``parameters`` is the CIFAR-10 network's count (EC-NAS-Bench's runs): a count that disagrees with a
    cell the released file (or an EC-NAS file) holds is refused; one that came from a self-trained run on another
    dataset (another stem or classifier, so another count) is replaced by it.
    """
    row = conn.execute("SELECT id, parameters FROM nb101_arch WHERE hash = ?", (digest,)).fetchone()
    if row:
        if check and parameters is not None and row[1] != parameters:
            low = row[0] * NB101_CONFIG_ID_FACTOR * NB101_TRIAL_ID_FACTOR
            trusted = conn.execute(
                "SELECT 1 FROM nb101_trial t JOIN nasbench_source s ON s.id = t.source_id WHERE t.id BETWEEN ? AND ? "
                "AND s.kind IN ('original', 'ecnas') LIMIT 1",
                (low, low + NB101_CONFIG_ID_FACTOR * NB101_TRIAL_ID_FACTOR - 1)).fetchone()
            if trusted:
                raise CorruptInput(where, f"cell {digest} has {parameters:,} trainable parameters here and "
                                          f"{row[1]:,} in the database: not the NB-101 network")
            conn.execute("UPDATE nb101_arch SET parameters = ? WHERE id = ?", (parameters, row[0]))
        return row[0]
    arch_id = (conn.execute("SELECT MAX(id) FROM nb101_arch").fetchone()[0] or 0) + 1
    conn.execute(_ARCH_SQL, (arch_id, digest, num_vertices, adjacency, operations, parameters))
    add_forms(conn, arch_id, adjacency, operations)
    return arch_id


def add_forms(conn, arch_id: int, adjacency: str, operations: str) -> None:
    """Enter a new cell's labelled forms into ``nb101_form`` (when the database has that table), so that queries find
    it without hashing too. Slots another cell holds are left alone (never for cells with distinct hashes)."""
    table = space.labelled_forms([(arch_id, adjacency, operations)])
    if not table:
        return
    if getattr(conn, "is_server", False):  # convert.results.ServerConnection (PostgreSQL)
        present = conn.execute("SELECT to_regclass('nb101_form')").fetchone()[0]
    else:  # a sqlite3 connection (or a wrapper of one)
        present = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'nb101_form'").fetchone()
    if not present:
        return
    width = space.FORM_ID_BYTES
    for key, row in sorted(table.items()):
        stored = conn.execute("SELECT cells FROM nb101_form WHERE matrix_key = ?", (key,)).fetchone()
        if stored is None:
            conn.execute(_FORM_INSERT_SQL, (key, row))
            continue
        merged = bytearray(bytes(stored[0]))
        for start in range(0, len(row), width):
            if any(row[start:start + width]) and not any(merged[start:start + width]):
                merged[start:start + width] = row[start:start + width]
        conn.execute("UPDATE nb101_form SET cells = ? WHERE matrix_key = ?", (bytes(merged), key))


def add_config(conn, arch_id: int, epochs: int, dataset: str, where) -> int:
    """The config id of (cell, budget, dataset), inserting it in the cell's next free slot when new."""
    low = arch_id * NB101_CONFIG_ID_FACTOR
    rows = conn.execute("SELECT id, num_epochs, dataset FROM nb101_config WHERE id BETWEEN ? AND ?",
                        (low, low + NB101_CONFIG_ID_FACTOR - 1)).fetchall()
    for config_id, num_epochs, stored_dataset in rows:
        if num_epochs == epochs and stored_dataset == dataset:
            return config_id
    if len(rows) >= NB101_CONFIG_ID_FACTOR:
        raise CorruptInput(where, f"too many (epoch budget, dataset) pairs for this cell: max {NB101_CONFIG_ID_FACTOR}")
    config_id = low + max((r[0] - low for r in rows), default=-1) + 1
    conn.execute("INSERT INTO nb101_config (id, arch_id, num_epochs, dataset) VALUES (?,?,?,?)",
                 (config_id, arch_id, epochs, dataset))
    return config_id


def next_trial_id(conn, config_id: int, where) -> int:
    """The id of a new run of ``config_id`` (after its existing runs)."""
    low = config_id * NB101_TRIAL_ID_FACTOR
    last = conn.execute("SELECT MAX(id) FROM nb101_trial WHERE id BETWEEN ? AND ?",
                        (low, low + NB101_TRIAL_ID_FACTOR - 1)).fetchone()[0]
    trial_id = low if last is None else last + 1
    if trial_id > low + NB101_TRIAL_ID_FACTOR - 1:
        raise NasbenchDbError(f"{where}: this config already holds {NB101_TRIAL_ID_FACTOR} runs, the maximum")
    return trial_id


def add_run(conn, trial_id: int, source_id: int, half: Evaluation, final: Evaluation, total_time,
            halfway_epoch: float, percent: bool = True) -> None:
    """Insert one run (halfway and final evaluations) and its halfway epoch. ``percent``: the evaluations hold
    fractions (as NB-101's protobuf) to store x 100; False when they are percent already."""
    scale = _percent if percent else (lambda value: value)
    conn.execute(_TRIAL_SQL, (trial_id, source_id, half.training_time, scale(half.train_accuracy),
                              scale(half.validation_accuracy), scale(half.test_accuracy), final.training_time,
                              scale(final.train_accuracy), scale(final.validation_accuracy),
                              scale(final.test_accuracy), total_time))
    conn.execute(_HALFWAY_SQL, (trial_id, halfway_epoch))


#: Validate a cell and recompute its hash (for the converters of other sources too); returns its number of vertices.
check_cell = _check_cell
