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
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import CorruptInput

FORMAT = "nasbench_db.train_result"
FORMAT_VERSION = 1
SPACES = ("nb101", "nb201", "nats_sss")
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


def validate(result, path="<result>") -> dict:
    """Check a loaded result against format 1; raises CorruptInput naming the file and the problem."""
    if not isinstance(result, dict):
        raise CorruptInput(path, f"a training result is a JSON object: got {type(result).__name__}")
    if result.get("format") != FORMAT:
        raise CorruptInput(path, f"not a nasbench_db training result (format {result.get('format')!r}, "
                                 f"expected {FORMAT!r})")
    if result.get("format_version") != FORMAT_VERSION:
        raise CorruptInput(path, f"unsupported format_version {result.get('format_version')!r}: this version "
                                 f"reads {FORMAT_VERSION}")
    missing = [k for k in REQUIRED if k not in result]
    if missing:
        raise CorruptInput(path, f"missing fields {missing}")
    if result["space"] not in SPACES:
        raise CorruptInput(path, f"unknown space {result['space']!r}: expected one of {', '.join(SPACES)}")
    if result["status"] != "completed":
        raise CorruptInput(path, f"status is {result['status']!r}: only completed trials are ingested")
    for name in ("epochs", "seed", "parameters"):
        if isinstance(result[name], bool) or not isinstance(result[name], int):
            raise CorruptInput(path, f"{name} must be an integer: got {result[name]!r}")
    if not isinstance(result["evaluations"], list) or not result["evaluations"]:
        raise CorruptInput(path, "evaluations must be a non-empty list")
    for number, entry in enumerate(result["evaluations"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("sets"), dict) or "epoch" not in entry:
            raise CorruptInput(path, f"evaluation {number} must hold 'epoch' and 'sets'")
    if result_key(result) != result["result_key"]:
        raise CorruptInput(path, "result_key does not match the content: the file was edited or damaged")
    return result


def load(path) -> dict:
    path = Path(path)
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptInput(path, f"not JSON: {exc}") from None
    return validate(result, path)
