"""The JSON result of one training trial (``nasbench-db train``), format version 1. Needs no torch.

One file per trial, UTF-8 JSON object::

    format            "nasbench_db.train_result"
    format_version    1
    result_key        sha256 hex of the canonical JSON of every other field (sorted keys, no spaces): the
                      idempotency key of ingestion and a check that the file was not edited
    space             "nb101" | "nb201" | "nats_sss"
    arch              nb101: {"matrix": [[..]], "ops": [..]} (pruned); nb201: arch string; nats_sss: "C1:C2:C3:C4:C5"
    arch_hash         nb101 graph hash (32 hex) or null
    arch_index        nb201 / nats_sss benchmark index or null
    dataset           cifar10 | cifar10-valid | cifar100 | imagenet16-120 | fashion-mnist
    data              {"scheme": split scheme, "sets": {name: {"count": images, "source": what}}}
    epochs, seed      ints
    parameters        trainable parameters (exact count)
    flops             multiply-adds of Conv2d + Linear for one image, millions
    protocol          every hyperparameter (see nasbench_db.train.protocols.Protocol), plus "total_steps"
    epoch_stats       [{"epoch": 1.., "lr" (at the epoch's first step), "train_loss", "train_acc" (percent,
                      running mean over the epoch's augmented batches), "steps", "train_time" (s)}]
    evaluations       [{"epoch" (may be fractional: NB-101's step-0 entry is 0), "step", "training_time" (s, training
                      only, cumulative), "sets": {name: {"acc" (percent), "loss" (mean cross-entropy), "correct",
                      "count"}}}]
                      set names: nb101 scheme "train" / "valid" / "test"; nb201 scheme "x-valid" / "x-test" /
                      "ori-test" (NAS-Bench-201's names)
    training_time     seconds spent in training steps (excludes evaluation)
    total_time        seconds from the first step to the last evaluation
    status            "completed"
    device            {"type": "cpu"|"cuda", "name": human-readable device, "count": 1}
    runtime           {"amp", "channels_last", "compile", "deterministic", "limit_batches", "threads"}
    software          {"nasbench_db", "torch", "python", "numpy", "cuda", "cudnn"}
    host, started_at, finished_at

:func:`validate` checks every field before a result is ingested: types and ranges (``epochs`` 1..10000, ``seed`` and
``parameters`` in SQLite's signed 64-bit range, accuracies 0..100), no NaN / Infinity and no integer SQLite cannot
store anywhere, evaluations inside the budget with the last at ``epochs``, and the ``result_key``; each failure is a
:class:`~nasbench_db.errors.CorruptInput` naming the file and the field. :func:`read` reads a file through the JSON
limits of :mod:`nasbench_db.limits` and tells a result (format marker) from any other JSON document.
"""

from __future__ import annotations

import hashlib
import json
import math
import stat
from pathlib import Path

from ..errors import CorruptInput
from ..limits import MAX_JSON_BYTES, loads_json

FORMAT = "nasbench_db.train_result"
FORMAT_VERSION = 1
SPACES = ("nb101", "nb201", "nats_sss")
#: datasets a trial can be trained on (the readers of :mod:`.data`)
DATASETS = ("cifar10", "cifar10-valid", "cifar100", "imagenet16-120", "fashion-mnist")
#: longest budget a result may claim (the benchmarks' longest is 200): bounds every per-epoch loop of ingestion
MAX_EPOCHS = 10_000
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
#: largest result file read (real results: ~100 KB for 200 epochs)
MAX_RESULT_BYTES = min(MAX_JSON_BYTES, 64 << 20)
REQUIRED = ("format", "format_version", "result_key", "space", "arch", "arch_hash", "arch_index", "dataset", "data",
            "epochs", "seed", "parameters", "flops", "protocol", "epoch_stats", "evaluations", "training_time",
            "total_time", "status", "device", "runtime", "software", "started_at", "finished_at")


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def result_key(result: dict) -> str:
    """sha256 of the canonical JSON of ``result`` without its ``result_key``."""
    body = {k: v for k, v in result.items() if k != "result_key"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def seal(result: dict) -> dict:
    """Set ``result['result_key']`` and return the result."""
    result["result_key"] = result_key(result)
    return result


def is_result(value) -> bool:
    """Whether a loaded JSON document claims to be a training result (carries the format marker).

    ``convert results`` reads every ``*.json`` of a folder: documents without the marker (a ``search`` output, a
    config file) are not results and are skipped; documents with it are validated in full and refused when bad.
    """
    return isinstance(value, dict) and value.get("format") == FORMAT


def _show(value) -> str:
    """A short readable rendering of a bad value for an error message."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int) and abs(value) >= 10 ** 24:
        return f"an integer of {len(str(abs(value)))} digits"
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and (not isinstance(value, float) or math.isfinite(value)))


class _Checker:
    """Field checks of one result; every failure names the file and the field."""

    def __init__(self, path):
        self.path = path

    def fail(self, field: str, expected: str, value) -> None:
        raise CorruptInput(self.path, f"field {field!r} must be {expected}: got {_show(value)}")

    def integer(self, field, value, low, high):
        if not _is_int(value) or not low <= value <= high:
            self.fail(field, f"an integer {low}..{high}", value)
        return value

    def number(self, field, value, low=None, high=None, optional=True):
        if value is None and optional:
            return value
        if not _is_number(value) or (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                expected = f"a number {low:g}..{high:g}"
            elif low is not None:
                expected = f"a number >= {low:g}"
            else:
                expected = "a finite number"
            self.fail(field, expected + (" or null" if optional else ""), value)
        return value

    def text(self, field, value, choices=None, optional=False):
        if value is None and optional:
            return value
        if not isinstance(value, str) or (choices is not None and value not in choices):
            expected = f"one of {', '.join(choices)}" if choices else "a string"
            self.fail(field, expected + (" or null" if optional else ""), value)
        return value

    def obj(self, field, value):
        if not isinstance(value, dict):
            self.fail(field, "a JSON object", value)
        return value

    def array(self, field, value, nonempty=False):
        if not isinstance(value, list) or (nonempty and not value):
            self.fail(field, "a non-empty JSON array" if nonempty else "a JSON array", value)
        return value


def _check_numbers(value, path) -> None:
    """Refuse NaN / Infinity anywhere, and integers SQLite cannot store (outside its signed 64-bit range),
    naming the field (JSON path) that holds them. Iterative: the nesting is bounded by the JSON reader already."""
    stack = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise CorruptInput(path, f"field {where!r} must be a finite number: got {_show(item)}")
        elif _is_int(item) and not INT64_MIN <= item <= INT64_MAX:
            raise CorruptInput(path, f"field {where!r} must be an integer {INT64_MIN}..{INT64_MAX} (SQLite's "
                                     f"64-bit range): got {_show(item)}")


def validate(result, path="<result>") -> dict:
    """Check a loaded result against format 1: every field's type and range, finite numbers, integers SQLite can
    store, evaluations inside the run's budget, and the ``result_key``. Raises :class:`CorruptInput` naming the
    file and the field (``results/x.json: field 'epochs' must be an integer 1..10000: got -3``)."""
    if not isinstance(result, dict):
        raise CorruptInput(path, f"a training result is a JSON object: got {type(result).__name__}")
    if result.get("format") != FORMAT:
        raise CorruptInput(path, f"not a nasbench_db training result (format {_show(result.get('format'))}, "
                                 f"expected {FORMAT!r})")
    if result.get("format_version") != FORMAT_VERSION:
        raise CorruptInput(path, f"unsupported format_version {_show(result.get('format_version'))}: this version "
                                 f"reads {FORMAT_VERSION}")
    missing = [k for k in REQUIRED if k not in result]
    if missing:
        raise CorruptInput(path, f"missing fields {missing}")
    _check_numbers(result, path)
    check = _Checker(path)
    key = check.text("result_key", result["result_key"])
    if len(key) != 64 or set(key) - set("0123456789abcdef"):
        check.fail("result_key", "64 lowercase hex digits (a sha256)", key)
    check.text("space", result["space"], SPACES)
    if result["status"] != "completed":
        raise CorruptInput(path, f"status is {_show(result['status'])}: only completed trials are ingested")
    check.text("dataset", result["dataset"], DATASETS)
    epochs = check.integer("epochs", result["epochs"], 1, MAX_EPOCHS)
    check.integer("seed", result["seed"], INT64_MIN, INT64_MAX)
    check.integer("parameters", result["parameters"], 1, INT64_MAX)
    check.number("flops", result["flops"], 0, optional=False)
    check.text("arch_hash", result["arch_hash"], optional=True)
    if result["arch_index"] is not None:
        check.integer("arch_index", result["arch_index"], 0, INT64_MAX)
    if result["space"] == "nb101":
        check.obj("arch", result["arch"])
    else:
        check.text("arch", result["arch"])
    for name in ("data", "protocol", "runtime", "software"):
        check.obj(name, result[name])
    device = check.obj("device", result["device"])
    check.text("device.type", device.get("type"))
    check.text("device.name", device.get("name"), optional=True)
    for name in ("started_at", "finished_at"):
        check.text(name, result[name])
    check.number("training_time", result["training_time"], 0)
    check.number("total_time", result["total_time"], 0)
    stats = check.array("epoch_stats", result["epoch_stats"])
    if len(stats) > epochs:
        check.fail("epoch_stats", f"at most one entry per epoch ({epochs})", f"{len(stats)} entries")
    for number, entry in enumerate(stats):
        where = f"epoch_stats[{number}]"
        check.obj(where, entry)
        check.integer(f"{where}.epoch", entry.get("epoch"), 1, epochs)
        check.number(f"{where}.train_acc", entry.get("train_acc"), 0, 100)
        for name in ("train_loss", "lr", "train_time"):
            check.number(f"{where}.{name}", entry.get(name))
    evaluations = check.array("evaluations", result["evaluations"], nonempty=True)
    previous = -1.0
    for number, entry in enumerate(evaluations):
        where = f"evaluations[{number}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("sets"), dict) or "epoch" not in entry:
            raise CorruptInput(path, f"evaluation {number} must hold 'epoch' and 'sets'")
        epoch = check.number(f"{where}.epoch", entry["epoch"], previous if previous >= 0 else 0, epochs,
                             optional=False)
        previous = epoch
        check.number(f"{where}.training_time", entry.get("training_time"), 0)
        for name, values in entry["sets"].items():
            check.obj(f"{where}.sets.{name}", values)
            check.number(f"{where}.sets.{name}.acc", values.get("acc"), 0, 100)
            check.number(f"{where}.sets.{name}.loss", values.get("loss"))
    if evaluations[-1]["epoch"] != epochs:
        check.fail(f"evaluations[{len(evaluations) - 1}].epoch", f"the run's budget {epochs} (the final evaluation)",
                   evaluations[-1]["epoch"])
    if result_key(result) != result["result_key"]:
        raise CorruptInput(path, "result_key does not match the content: the file was edited or damaged")
    return result


def read(path, required: bool = False) -> dict | None:
    """Read one JSON file through the reader limits: the parsed document (not yet validated), or None when it is
    not a training result (no format marker; with ``required``, a CorruptInput saying so). Never opens anything but
    a regular file."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise CorruptInput(path, f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise CorruptInput(path, "not a regular file")
    if info.st_size > MAX_RESULT_BYTES:
        raise CorruptInput(path, f"{info.st_size:,} bytes, over the limit of {MAX_RESULT_BYTES:,} for a result "
                                 "file: not a training result")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_RESULT_BYTES + 1)
    except OSError as exc:
        raise CorruptInput(path, f"cannot read: {exc.strerror or exc}") from None
    document = loads_json(data, path, max_bytes=MAX_RESULT_BYTES)
    if is_result(document):
        return document
    if required:
        validate(document, path)  # raises: not an object, or not this format
    return None


def load(path) -> dict:
    """Read and validate one result file (raises CorruptInput naming the file and the field)."""
    return validate(read(path, required=True), path)
