"""NAS-Bench-201 ``.pth`` files and NATS-Bench archives (topology ``tss`` and size ``sss``) into SQL.

Inputs (see docs/nb201_nats.md for the layouts):

* ``NAS-Bench-201-v1_0-e61699.pth`` / ``NAS-Bench-201-v1_1-096897.pth``: ``torch.save`` of
  ``{'meta_archs', 'total_archs', 'arch2infos': {index: {'less': ArchResults, 'full': ArchResults}},
  'evaluated_indexes'}``; ``less`` = 12 epochs, ``full`` = 200. Read by a streaming pickle reader
  (:mod:`.pickle_stream`: no torch, memory bounded by one architecture, no code from the file ever runs) from torch's
  legacy layout, torch's zip layout or a plain pickle. ``loader='unsafe-torch-load'`` uses
  ``torch.load(weights_only=False)`` instead, which runs any code the file contains: an explicit opt-in for a file
  the user made or verified byte for byte, never a fallback.
* NATS ``<base>-simple/``: ``meta.pickle.pbz2`` plus one bz2 pickle per index (``000123.pickle.pbz2``), each
  ``OrderedDict{hp: ArchResults}`` with hp ``'12'``/``'200'`` (tss) or ``'01'``/``'12'``/``'90'`` (sss). Files are
  read in parallel worker processes by the same restricted reader, each decompressed within
  :data:`~nasbench_db.limits.MAX_MEMBER_BYTES`; a partial archive converts what is present.
* NATS ``<base>.pickle.pbz2``: the same dict as the ``.pth`` with NATS hp keys, bz2-compressed; streamed.

Every trial becomes one ``nb201trialstats`` (or ``nats_sss_trialstats``) row with NNI's split mapping
(:data:`SPLITS`) and one ``nb201_epoch`` row per epoch. The epoch budget comes from the hp key, mapped explicitly
(:data:`TSS_HP_EPOCHS`, :data:`SSS_HP_EPOCHS`) and checked against each record's own ``epochs``. Parameters and FLOPs
of the topology space are the closed forms of :mod:`nasbench_db.spaces.nb201` (some 200-epoch records carry wrong
values; the file's are kept in ``file_parameters``/``file_flops``).
"""

from __future__ import annotations

import bz2
import collections
import functools
import hashlib
import io
import json
import os
import queue
import re
import struct
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from itertools import chain, repeat
from pathlib import Path

from ..checksums import file_digest, recorded_sha256
from ..errors import CorruptInput, NasbenchDbError
from ..limits import (INT64_MAX, MAX_INT_BYTES, MAX_MEMBER_BYTES, ExpansionGuard, as_float, as_int64,
                      ZIP_ERRORS, bz2_decompress, check_lfs_pointer, check_zip_member, lfs_pointer_error,
                      short_repr)
from ..models import (DETAIL_DICT_FIELDS, EVAL_SET_COLUMN, NATS_SSS_TABLES, NATS_SSS_VIEWS, NB201_TABLES, NB201_VIEWS,
                      encode_detail_extra, pack_eval_times, pack_series)
from ..spaces import nats_sss as sss_space
from ..spaces import nb201 as tss_space
from . import _build
from .pickle_stream import (NUMPY_SCALAR_GLOBALS, SAFE_GLOBALS, PickleDataError, StreamUnpickler,
                            UnsupportedPickle)

#: NNI's split mapping: dataset -> the file's eval-set names behind (valid, test, ori_test).
SPLITS = {
    "cifar10-valid": ("x-valid", "ori-test", "ori-test"),
    "cifar10": ("ori-test", "ori-test", "ori-test"),
    "cifar100": ("x-valid", "x-test", "ori-test"),
    "imagenet16-120": ("x-valid", "x-test", "ori-test"),
}
DATASETS = tss_space.DATASETS
#: hp key -> epochs, topology space (NB-201 names and NATS names).
TSS_HP_EPOCHS = {"less": 12, "full": 200, "12": 12, "200": 200}
#: hp key -> epochs, size space.
SSS_HP_EPOCHS = dict(sss_space.HP_EPOCHS)
#: Trial ids are ``TRIALS_PER_ARCH * arch_index + k + 1`` (k: the trial's position within its architecture).
TRIALS_PER_ARCH = 64
BATCH_ROWS = 200_000
BZ2_MAGIC = b"BZh"
ZIP_MAGIC = b"PK\x03\x04"
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
SIMPLE_FILE_RE = re.compile(r"^(\d+)\.pickle\.pbz2$")

_TRIAL_COLUMNS = ("id, config_id, seed, train_acc, valid_acc, test_acc, ori_test_acc, train_loss, valid_loss, "
                  "test_loss, ori_test_loss, parameters, latency, flops, training_time, valid_evaluation_time, "
                  "test_evaluation_time, ori_test_evaluation_time, source_id, result_key, file_parameters, "
                  "file_flops")
_EPOCH_COLUMNS = ("trial_id, current_epoch, train_acc, valid_acc, test_acc, ori_test_acc, train_loss, valid_loss, "
                  "test_loss, ori_test_loss")
_DETAIL_COLUMNS = "trial_id, eval_names, train_times, eval_times, train_acc5, extra"


@dataclass(frozen=True)
class Space:
    """What differs between the topology and the size space."""

    name: str  # 'tss' or 'sss'
    benchmark: str  # database key
    hp_epochs: dict
    epochs: tuple
    num_archs: int
    tables: tuple
    views: tuple
    prefix: str  # table prefix: 'nb201' or 'nats_sss'
    config_table: str
    trial_table: str
    epoch_table: str
    display: str
    detail_table: str

    def config_id(self, index: int, epochs: int, dataset: str) -> int:
        per_arch = len(self.epochs) * len(DATASETS)
        return per_arch * index + len(DATASETS) * self.epochs.index(epochs) + DATASETS.index(dataset) + 1

    def meta_archs(self) -> list:
        return tss_space.meta_archs() if self.name == "tss" else sss_space.meta_archs()


TSS = Space("tss", "nb201", TSS_HP_EPOCHS, tss_space.EPOCHS, tss_space.NUM_ARCHS,
            NB201_TABLES[1:], NB201_VIEWS, "nb201",
            "nb201trialconfig", "nb201trialstats", "nb201_epoch", "NAS-Bench-201 / NATS topology space",
            "nb201_trial_detail")
SSS = Space("sss", "nats_sss", SSS_HP_EPOCHS, sss_space.EPOCHS, sss_space.NUM_ARCHS,
            NATS_SSS_TABLES[1:], NATS_SSS_VIEWS, "nats_sss",
            "nats_sss_trialconfig", "nats_sss_trialstats", "nats_sss_epoch", "NATS size space",
            "nats_sss_trial_detail")


# --------------------------------------------------------------------------------------------------------------------
# Records -> rows


class RecordError(ValueError):
    """A record whose content does not fit the benchmark (the caller adds file and record)."""


_KEY_CACHE: dict = {}
#: What a per-epoch value may be without a closer look (checked at C speed per trial).
_EPOCH_VALUE_TYPES = {float, type(None)}


def _eval_keys(split: str, epochs: int) -> list:
    found = _KEY_CACHE.get((split, epochs))
    if found is None:
        found = _KEY_CACHE[(split, epochs)] = [f"{split}@{e}" for e in range(epochs)]
    return found


def _float(value, what: str = "value"):
    """A Python float (numpy scalars included) or None; NaN stays NaN (SQLite stores it as NULL), an infinite loss
    stays infinite; anything else (a string, an int too large for a double) is a RecordError."""
    if value is None:
        return None
    if type(value) is float:
        return value
    try:
        return as_float(value, what, allow_inf=True)
    except ValueError as exc:
        raise RecordError(f"expected a number: {exc}") from None


def _int(value, what: str, minimum: int = -INT64_MAX, maximum: int = INT64_MAX) -> int:
    """An int within range (an integral float such as ``200.0`` too); RecordError otherwise."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return as_int64(value, what, minimum, maximum)
    except ValueError as exc:
        raise RecordError(str(exc)) from None


def _as_dict(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"{what} must be a dict, got {type(value).__name__}")
    return value


def _latency(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        values = [_float(v) for v in value if v is not None]
        return sum(values) / len(values) if values else None
    return _float(value)


def hp_epochs(space: Space, hp) -> int:
    """Epochs of an hp key, or RecordError naming the other space when it belongs there."""
    epochs = space.hp_epochs.get(hp)
    if epochs is None:
        other = SSS if space is TSS else TSS
        if hp in other.hp_epochs:
            raise RecordError(
                f"hp {hp!r} belongs to the {other.display} ({', '.join(map(repr, other.hp_epochs))}): this is "
                f"not a {space.display} archive; use `nasbench-db convert nats-{other.name}`")
        raise RecordError(f"unknown hp key {hp!r}: expected one of {', '.join(map(repr, space.hp_epochs))}")
    return epochs


def is_arch_record(key, value) -> bool:
    """The streaming reader's test for ``arch2infos[index]``: a dict of (at most 8) hp keys to ArchResults states."""
    if not value or not isinstance(value, dict) or len(value) > 8:
        return False
    for hp, results in value.items():
        if not isinstance(hp, str) or not isinstance(results, dict) or "all_results" not in results:
            return False
    return True


def _no_nan(values) -> bool:
    """True for numbers without NaN (SQLite would give a NaN back as NULL); the sum runs in C and NaN propagates
    (an inf - inf also reads as NaN here: such a trial is just kept verbatim)."""
    try:
        total = sum(values)
    except TypeError:
        return False
    return total == total


def _packed(values) -> bytes | None:
    """:func:`pack_series` of ``values``, or None when they are not all numbers."""
    try:
        return pack_series(values)
    except (struct.error, TypeError):
        return None


@functools.lru_cache(maxsize=256)
def _epoch_keys(epochs: int) -> tuple[list, frozenset]:
    return list(range(epochs)), frozenset(range(epochs))


@functools.lru_cache(maxsize=256)
def _eval_key_set(names: tuple, epochs: int) -> frozenset:
    return frozenset(key for name in names for key in _eval_keys(name, epochs))


def _from_columns(mapping: dict, keys: frozenset) -> bool:
    """True when NNI's columns give ``mapping`` back exactly: every key is one they hold, every value a number that
    is not NaN (a None value or a NaN would come back as an absent key)."""
    return mapping.keys() <= keys and _no_nan(mapping.values())


def arch_config_of(space: Space, arch_text: str, dataset: str) -> dict:
    """The ``arch_config`` of a released record of ``arch_text`` trained on ``dataset`` (NNI's lower-case name)."""
    classes = tss_space.NUM_CLASSES[dataset]
    if space is TSS:
        return {"channel": tss_space.NUM_CHANNELS, "num_cells": tss_space.NUM_CELLS, "arch_str": arch_text,
                "class_num": classes}
    return {"name": "infer.shape.tiny", "channels": arch_text, "arch_str": arch_text, "genotype": sss_space.CELL,
            "class_num": classes}


def _detail_row(trial_id: int, space: Space, arch_text: str, dataset: str, seed: int, epochs: int, result: dict,
                train_acc: dict, train_loss: dict, eval_acc: dict, eval_loss: dict, latency):
    """The ``*_trial_detail`` row of one trial: what the original API returns beyond NNI's columns.

    Fields the columns (this row's and NNI's) give back exactly are not repeated; any other field goes verbatim into
    ``extra`` (see :class:`nasbench_db.models.Nb201TrialDetail`).
    """
    extra = {}
    names = result.get("eval_names")
    if isinstance(names, list) and all(isinstance(n, str) and "," not in n for n in names):
        eval_names = ",".join(names)
    else:
        eval_names, names = None, []
        extra["eval_names"] = list(result["eval_names"]) if isinstance(result.get("eval_names"), (list, tuple)) \
            else result.get("eval_names")
        if extra["eval_names"] is not None and not all(isinstance(n, str) for n in extra["eval_names"]):
            raise RecordError(f"result of seed {seed} on {dataset}: eval_names must be strings: got "
                              f"{extra['eval_names']!r}")
    # Accuracies and losses come back from NNI's columns when every key maps to a column and nothing is NaN.
    epoch_keys, epoch_set = _epoch_keys(epochs)
    if not _from_columns(train_acc, epoch_set):
        extra["train_acc1es"] = train_acc
    if not _from_columns(train_loss, epoch_set):
        extra["train_losses"] = train_loss
    splits = SPLITS[dataset]
    regular_names = len(set(names)) == len(names) and all(
        EVAL_SET_COLUMN.get(n) is not None and splits[EVAL_SET_COLUMN[n] - 1] == n for n in names)
    eval_set = _eval_key_set(tuple(names), epochs) if regular_names else frozenset()
    if not _from_columns(eval_acc, eval_set):
        extra["eval_acc1es"] = eval_acc
    if not _from_columns(eval_loss, eval_set):
        extra["eval_losses"] = eval_loss

    def per_epoch_blob(key):
        """The packed per-epoch series ``result[key]`` when it has exactly the run's epochs (else kept verbatim in
        ``extra``, when present)."""
        values = result.get(key)
        blob = _packed(list(values.values())) if isinstance(values, dict) and list(values) == epoch_keys else None
        if blob is None and values is not None:
            extra[key] = values
        return blob

    times_blob = per_epoch_blob("train_times")
    top5_blob = per_epoch_blob("train_acc5es")
    eval_times = result.get("eval_times")
    eval_blob = None
    if isinstance(eval_times, dict) and eval_names is not None:
        series, present = [], 0
        for name in names:
            values = list(map(eval_times.get, _eval_keys(name, epochs)))
            if values[0] is None and values.count(None) == epochs:
                series.append(None)
            elif None in values:
                series = None
                break
            else:
                series.append(values)
                present += epochs
        if series is not None and present == len(eval_times):
            try:
                eval_blob = pack_eval_times(series)
            except (struct.error, TypeError):
                eval_blob = None
    if eval_blob is None:
        extra["eval_times"] = eval_times
    stored = result.get("latency")
    if not ((stored is None and latency is None) or (isinstance(stored, (list, tuple)) and len(stored) == 1
                                                     and stored[0] is not None and _float(stored[0]) == latency)):
        extra["latency"] = [None if v is None else _float(v) for v in stored] if isinstance(stored, (list, tuple)) \
            else _float(stored)
    if result.get("name", tss_space.ORIGINAL_DATASET[dataset]) != tss_space.ORIGINAL_DATASET[dataset]:
        extra["name"] = result.get("name")
    if result.get("seed", f"{seed:04d}") != f"{seed:04d}":
        extra["seed"] = result.get("seed")
    config = result.get("arch_config")
    if config is not None and config != arch_config_of(space, arch_text, dataset):
        extra["arch_config"] = config
    try:
        text = encode_detail_extra({k: _plain(k, v) for k, v in extra.items()})
    except (TypeError, ValueError) as exc:
        raise RecordError(f"result of seed {seed} on {dataset}: a field is not plain data ({exc})") from None
    return trial_id, eval_names, times_blob, eval_blob, top5_blob, text


def _plain(name: str, value):
    """A field of ``extra`` as JSON-ready data: numbers as floats (NaN kept), keys as they are."""
    if isinstance(value, dict) and name in DETAIL_DICT_FIELDS:
        out = collections.OrderedDict() if isinstance(value, collections.OrderedDict) else {}
        for key, item in value.items():
            if not isinstance(key, (int, str)) or isinstance(key, bool):
                key = int(key) if hasattr(key, "__index__") else str(key)
            out[key] = _float(item)
        return out
    if name == "arch_config":
        json.dumps(value)  # TypeError for anything but plain data
    return value


def arch_rows(space: Space, index: int, record, source_id: int, check_str=None):
    """Rows of one architecture record (``{hp: ArchResults state}``).

    Returns ``(trial_rows, epoch_blocks, detail_rows, notes)``: one epoch block per trial (:func:`block_rows` gives
    its rows) and one ``*_trial_detail`` row per trial; ``notes`` counts hp keys and params/FLOPs disagreements.
    Raises RecordError on content that does not fit.
    """
    if not isinstance(record, dict) or not record:
        raise RecordError(f"expected a dict of hp keys to results, got {type(record).__name__}")
    if space is TSS:
        ops = tss_space.arch_of_index(index)
        arch_text = tss_space.arch_str(ops)
    else:
        channels = sss_space.arch_of_index(index)
        arch_text = ":".join(map(str, channels))
    trials, epoch_blocks, details = [], [], []
    notes = {"hp": set(), "file_params_differ": 0, "file_flops_differ": 0}
    ordinal = 0
    for hp, state in record.items():
        epochs = hp_epochs(space, hp)
        notes["hp"].add(hp)
        state = _as_dict(state, f"hp {hp!r}")
        stored_index = state.get("arch_index")
        if stored_index is not None and _int(stored_index, f"hp {hp!r} arch_index") != index:
            raise RecordError(f"hp {hp!r} says arch_index {stored_index}, expected {index}")
        stored_str = state.get("arch_str")
        if stored_str is not None and check_str is not None and stored_str != check_str:
            raise RecordError(f"hp {hp!r} holds arch {short_repr(stored_str)}, but index {index} is {check_str!r}")
        results = _as_dict(state.get("all_results"), f"hp {hp!r} all_results")
        for key, result in results.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise RecordError(f"hp {hp!r}: all_results key must be (dataset, seed), got {short_repr(key)}")
            dataset_name, seed = key
            dataset = dataset_name.lower() if isinstance(dataset_name, str) else None
            if dataset not in SPLITS:
                raise RecordError(f"hp {hp!r}: unknown dataset {short_repr(dataset_name)}: expected one of "
                                  f"cifar10-valid, cifar10, cifar100, ImageNet16-120")
            seed = _int(seed, f"hp {hp!r} result {short_repr(key)} seed")
            result = _as_dict(result, f"result {short_repr(key)}")
            record_epochs = result.get("epochs")
            if record_epochs is not None and _int(record_epochs, f"result {short_repr(key)} epochs") != epochs:
                raise RecordError(f"hp {hp!r} maps to {epochs} epochs but result {short_repr(key)} has epochs="
                                  f"{short_repr(record_epochs)}")
            if ordinal >= TRIALS_PER_ARCH:
                raise RecordError(f"more than {TRIALS_PER_ARCH} trials in one architecture")
            trial_id = TRIALS_PER_ARCH * index + ordinal + 1
            ordinal += 1
            k = epochs - 1
            valid_split, test_split, ori_split = SPLITS[dataset]
            train_acc = _as_dict(result.get("train_acc1es"), "train_acc1es")
            train_loss = _as_dict(result.get("train_losses"), "train_losses")
            eval_acc = _as_dict(result.get("eval_acc1es"), "eval_acc1es")
            eval_loss = _as_dict(result.get("eval_losses"), "eval_losses")
            eval_time = _as_dict(result.get("eval_times"), "eval_times")
            train_times = result.get("train_times")
            if train_times:
                try:
                    training_time = sum(_float(train_times[e], "train_times") for e in range(epochs))
                except (KeyError, IndexError):
                    training_time = None
                except TypeError:
                    raise RecordError(f"result {short_repr(key)}: train_times must map epochs to seconds, got "
                                      f"{type(train_times).__name__}") from None
            else:
                training_time = None
            file_params = _float(result.get("params"), "params")
            file_flops = _float(result.get("flop"), "flop")
            if space is TSS:
                parameters = tss_space.parameters(ops, dataset)
                flops = tss_space.flops(ops, dataset)
                if file_params is not None and abs(file_params - parameters) > 1e-6:
                    notes["file_params_differ"] += 1
                if file_flops is not None and abs(file_flops - flops) > 1e-5:
                    notes["file_flops_differ"] += 1
            else:
                parameters, flops = file_params, file_flops
            vk, tk, ok = f"{valid_split}@{k}", f"{test_split}@{k}", f"{ori_split}@{k}"
            latency = _latency(result.get("latency"))
            trials.append((
                trial_id, space.config_id(index, epochs, dataset), seed,
                _float(train_acc.get(k)), _float(eval_acc.get(vk)), _float(eval_acc.get(tk)),
                _float(eval_acc.get(ok)), _float(train_loss.get(k)), _float(eval_loss.get(vk)),
                _float(eval_loss.get(tk)), _float(eval_loss.get(ok)),
                parameters, latency, flops, training_time,
                _float(eval_time.get(vk)), _float(eval_time.get(tk)), _float(eval_time.get(ok)),
                source_id, None, file_params, file_flops))
            # Per-epoch rows: dict lookups in bulk (map over cached key lists), one row per epoch that has data.
            epoch_range = range(epochs)
            columns = (
                list(map(train_acc.get, epoch_range)),
                list(map(eval_acc.get, _eval_keys(valid_split, epochs))),
                list(map(eval_acc.get, _eval_keys(test_split, epochs))),
                list(map(eval_acc.get, _eval_keys(ori_split, epochs))),
                list(map(train_loss.get, epoch_range)),
                list(map(eval_loss.get, _eval_keys(valid_split, epochs))),
                list(map(eval_loss.get, _eval_keys(test_split, epochs))),
                list(map(eval_loss.get, _eval_keys(ori_split, epochs))),
            )
            if not set(map(type, chain.from_iterable(columns))) <= _EPOCH_VALUE_TYPES:
                # rare: ints or numpy numbers are converted, anything else (a string, a list) is refused
                columns = tuple([_float(v, f"result {short_repr(key)} per-epoch value") for v in column]
                                for column in columns)
            details.append(_detail_row(trial_id, space, arch_text, dataset, int(seed), epochs, result, train_acc,
                                       train_loss, eval_acc, eval_loss, latency))
            if None in columns[0]:
                # NNI keeps an epoch unless all 8 values are missing
                rows = [row for row in zip(repeat(trial_id), range(1, epochs + 1), *columns)
                        if any(v is not None for v in row[2:])]
                epoch_blocks.append((trial_id, None, rows))
            else:
                # kept as columns: the row tuples are made while they are inserted (less memory, cheap to send)
                epoch_blocks.append((trial_id, epochs, columns))
    if space is SSS:
        notes["channels"] = channels
    return trials, epoch_blocks, details, notes


def block_rows(block):
    """The ``(trial_id, current_epoch, 8 values)`` rows of one epoch block of :func:`arch_rows`."""
    trial_id, epochs, data = block
    if epochs is None:
        return data
    return zip(repeat(trial_id), range(1, epochs + 1), *data)


def block_size(block) -> int:
    return len(block[2]) if block[1] is None else block[1]


# --------------------------------------------------------------------------------------------------------------------
# Readers


class _HashingReader:
    """A file object that feeds everything read through it into a sha256."""

    def __init__(self, handle, digest):
        self.handle = handle
        self.digest = digest

    def read(self, n=-1):
        data = self.handle.read(n)
        if self.digest is not None:
            self.digest.update(data)
        return data

    def readinto(self, buffer):
        count = self.handle.readinto(buffer)
        if self.digest is not None and count:
            self.digest.update(memoryview(buffer)[:count])
        return count

    def readable(self):
        return True

    def close(self):
        self.handle.close()


class _ReadAhead:
    """Read a stream in a background thread (bz2 decompression releases the GIL), handing out chunks."""

    def __init__(self, read, chunk: int = 4 << 20, depth: int = 4):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._read = read
        self._chunk = chunk
        self._stop = False
        self._pending = b""
        self._thread = threading.Thread(target=self._run, name="nb201-read-ahead", daemon=True)
        self._thread.start()

    def _run(self):
        try:
            while not self._stop:
                data = self._read(self._chunk)
                self._queue.put(data)
                if not data:
                    return
        except BaseException as exc:  # handed to the reader thread
            self._queue.put(exc)

    def read(self, n: int) -> bytes:
        data = self._queue.get()
        if isinstance(data, BaseException):
            self._queue.put(data)
            raise data
        if not data:
            self._queue.put(b"")
        return data

    def close(self):
        self._stop = True
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                pass


def _in_background(items, work, depth: int = 8):
    """Yield ``work(item)`` for each item, computed by a background thread (at most ``depth`` ahead).

    An exception of the thread is raised here; leaving early stops the thread after its current item.
    """
    results: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                results.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run():
        try:
            for item in items:
                if not put(("item", work(item))):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer
            put(("error", exc))

    thread = threading.Thread(target=run, name="nb201-rows", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = results.get()
            if kind == "item":
                yield value
            elif kind == "end":
                return
            else:
                raise value
    finally:
        stop.set()
        thread.join()


def _sniff(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(1024)


def _stream_errors(path: Path, what: str):
    """Context translating low-level read errors into CorruptInput naming the file."""

    class _Ctx:
        def __enter__(self):
            return self

        def __exit__(self, exc_type, exc, tb):
            if exc is None:
                return False
            if isinstance(exc, EOFError):
                raise CorruptInput(path, f"{what} ends too early (truncated file?): {exc}") from None
            if isinstance(exc, OSError) and not isinstance(exc, (FileNotFoundError, PermissionError)):
                raise CorruptInput(path, f"{what} cannot be read: {exc}") from None
            if isinstance(exc, PickleDataError):
                raise CorruptInput(path, f"{what} is not valid pickle data: {exc.reason}", offset=exc.offset) \
                    from None
            if isinstance(exc, ZIP_ERRORS) and not isinstance(exc, RecursionError):
                raise CorruptInput(path, f"{what} is a damaged zip archive: {str(exc)[:200]}") from None
            return False

    return _Ctx()


@dataclass
class _Input:
    """An opened single-file input: a chunk reader, whether torch's legacy header precedes the pickle, its format,
    and ``drain``: read what follows the pickle to the end (so the sha256 covers the whole file and bz2 checks its
    last block)."""

    read: object
    legacy_header: bool
    fmt: str
    closers: list
    drain: object = None


def _drain(read) -> None:
    while read(8 << 20):
        pass


def _open_single(path: Path, expect: str, digest) -> _Input:
    """Open ``path`` as a pickle stream. ``expect``: 'pth' (NB-201) or 'pbz2' (NATS single file)."""
    head = _sniff(path)
    if not head:
        raise CorruptInput(path, "the file is empty")
    lfs = lfs_pointer_error(head, path)
    if lfs is not None:
        raise lfs
    raw = open(path, "rb")
    hashing = _HashingReader(raw, digest)
    closers = [raw]
    if head.startswith(BZ2_MAGIC):
        if expect == "pth":
            raw.close()
            raise CorruptInput(path, "this is a bz2-compressed file, not a PyTorch .pth: a NATS archive? "
                                     "use `nasbench-db convert nats-tss` (or nats-sss)")
        guard = ExpansionGuard(hashing, path, "the bz2 stream")
        decompressed = bz2.BZ2File(guard, "rb")
        produced = [0]

        def read_guarded(n: int) -> bytes:
            data = decompressed.read(n)
            produced[0] += len(data)
            guard.check(produced[0])
            return data

        ahead = _ReadAhead(read_guarded)
        closers[:0] = [ahead, decompressed]
        return _Input(ahead.read, False, "nats-pickle-bz2", closers, lambda: _drain(ahead.read))
    if expect == "pbz2" and head.startswith(b"\x80"):
        return _Input(hashing.read, False, "pickle", closers, lambda: _drain(hashing.read))
    if expect == "pbz2":
        raw.close()
        raise CorruptInput(path, f"not a bz2-compressed NATS archive (starts with {head[:8]!r}): expected "
                                 "<base>.pickle.pbz2 or the <base>-simple/ directory")
    if head.startswith(ZIP_MAGIC):
        raw.close()
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if not names:
            archive.close()
            raise CorruptInput(path, "a zip file without data.pkl: not a PyTorch .pth file")
        try:
            check_zip_member(archive.getinfo(names[0]), path)
        except CorruptInput:
            archive.close()
            raise
        member = archive.open(names[0])
        digest_reader = _HashingReader(open(path, "rb"), digest) if digest is not None else None
        if digest_reader is not None:  # hash the whole file on the side (zip members are read out of order)
            while digest_reader.read(8 << 20):
                pass
            digest_reader.close()
        return _Input(member.read, False, "torch-zip", [member, archive])
    if head.startswith(b"\x80\x02\x8a\x0a"):
        return _Input(hashing.read, True, "torch-legacy", closers, lambda: _drain(hashing.read))
    if head[:1] == b"\x80":
        return _Input(hashing.read, False, "pickle", closers, lambda: _drain(hashing.read))
    raw.close()
    raise CorruptInput(path, f"not a PyTorch .pth or pickle file (starts with {head[:8]!r}): expected "
                             "NAS-Bench-201-v1_0-e61699.pth or NAS-Bench-201-v1_1-096897.pth")


def _stream_records(path: Path, opened: _Input, stats: dict):
    """Yield ``(index, record)`` from a single-file archive with the streaming reader; top-level dict in stats."""
    reader = StreamUnpickler(opened.read, is_record=is_arch_record)
    if opened.legacy_header:
        reader.max_int_bytes = 10  # the magic number is an 80-bit integer
        for name, check in (("magic number", lambda v: v == TORCH_LEGACY_MAGIC),
                            ("protocol version", lambda v: v == 1001), ("system info", lambda v: isinstance(v, dict))):
            for _ in reader.load():
                pass
            if not check(reader.result):
                raise CorruptInput(path, f"torch legacy header: unexpected {name} {short_repr(reader.result)}")
            reader.max_int_bytes = MAX_INT_BYTES
    yield from reader.load()
    top = reader.result
    stats["top"] = top
    stats["released"] = reader.released


def _torch_records(path: Path, stats: dict):
    """Yield ``(index, record)`` from ``torch.load(weights_only=False)`` of the whole file (needs RAM for it all)."""
    try:
        import torch
    except ImportError:
        raise NasbenchDbError("--unsafe-torch-load needs PyTorch (pip install torch); the default streaming "
                              "loader does not") from None
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=False)  # the user's explicit opt-in
    except Exception as exc:  # torch raises many types for a bad file
        raise CorruptInput(path, f"torch.load failed: {type(exc).__name__}: {str(exc)[:300]}") from None
    if not isinstance(data, dict) or "arch2infos" not in data:
        raise CorruptInput(path, "not a NAS-Bench-201 file: the loaded object has no 'arch2infos'")
    infos = data["arch2infos"]
    stats["top"] = {k: v for k, v in data.items() if k != "arch2infos"}
    stats["top"]["arch2infos"] = {k: None for k in infos}
    for index in list(infos):
        yield index, infos.pop(index)


# --------------------------------------------------------------------------------------------------------------------
# The build


@dataclass
class Nb201Report:
    """What a conversion did (printed by the CLI)."""

    source: str
    database: str = ""
    space: str = "tss"
    fmt: str = ""
    loader: str = "stream"
    archs: int = 0
    archs_expected: int = 0
    trials: int = 0
    epoch_rows: int = 0
    hp: list = field(default_factory=list)
    seconds: float = 0.0
    sha256: str | None = None
    file_params_differ: int = 0
    file_flops_differ: int = 0
    skipped: list = field(default_factory=list)

    def summary(self) -> str:
        partial = "" if self.archs == self.archs_expected else f" (partial archive: {self.archs:,} of " \
                                                                 f"{self.archs_expected:,})"
        text = (f"converted {self.archs:,} architectures{partial} of {self.source} into {self.database}: "
                f"{self.trials:,} trials, {self.epoch_rows:,} per-epoch rows, hp {self.hp} "
                f"in {self.seconds:.1f} s")
        if self.file_params_differ or self.file_flops_differ:
            text += (f"; {self.file_params_differ:,} trials carry params and {self.file_flops_differ:,} FLOPs that "
                     "differ from the architecture's (stored: the computed values; the file's in file_parameters)")
        return text


class _Loader:
    """Bulk loading of one database: arch and config rows up front, then trials and epochs in batches."""

    def __init__(self, build: _build.DatabaseBuild, space: Space):
        self.build = build
        self.space = space
        self.conn = build.connection
        self.trial_sql = f"INSERT INTO {space.trial_table} ({_TRIAL_COLUMNS}) VALUES ({','.join('?' * 22)})"
        self.epoch_sql = f"INSERT INTO {space.epoch_table} ({_EPOCH_COLUMNS}) VALUES ({','.join('?' * 10)})"
        self.detail_sql = f"INSERT INTO {space.detail_table} ({_DETAIL_COLUMNS}) VALUES (?,?,?,?,?,?)"
        self.trials: list = []
        self.details: list = []
        self.epochs: list = []  # epoch blocks of arch_rows
        self.pending_rows = 0
        self.trial_count = 0
        self.epoch_count = 0
        self.seen: set = set()
        self.last_index = -1
        self.in_order = True
        self.notes = {"hp": set(), "file_params_differ": 0, "file_flops_differ": 0}

    def static_rows(self) -> None:
        conn = self.conn
        if self.space is TSS:
            archs = []
            configs = []
            uniques = tss_space.unique_indices()
            for index, ops in enumerate(tss_space.all_archs()):
                arch_json = json.dumps(tss_space.to_nni(ops), sort_keys=True, separators=(",", ":"))
                n3, n1 = tss_space.count_convs(ops)
                archs.append((index, tss_space.arch_str(ops), arch_json, uniques[index], tss_space.unique_str(ops),
                              n3, n1, tss_space.has_path(ops)))
                for epochs in TSS.epochs:
                    for dataset in DATASETS:
                        configs.append((TSS.config_id(index, epochs, dataset), arch_json, epochs,
                                        tss_space.NUM_CHANNELS, tss_space.NUM_CELLS, dataset, index, uniques[index]))
            conn.executemany("INSERT INTO nb201_arch (id, arch_str, arch, unique_index, unique_str, num_conv3x3, "
                             "num_conv1x1, has_path) VALUES (?,?,?,?,?,?,?,?)", archs)
            conn.executemany("INSERT INTO nb201trialconfig (id, arch, num_epochs, num_channels, num_cells, dataset, "
                             "arch_index, unique_index) VALUES (?,?,?,?,?,?,?,?)", configs)
        else:
            archs = []
            configs = []
            for index, channels in enumerate(sss_space.all_archs()):
                text = ":".join(map(str, channels))
                archs.append((index, text, *channels))
                for epochs in SSS.epochs:
                    for dataset in DATASETS:
                        configs.append((SSS.config_id(index, epochs, dataset), text, index, epochs, dataset))
            conn.executemany("INSERT INTO nats_sss_arch (id, arch, c1, c2, c3, c4, c5) VALUES (?,?,?,?,?,?,?)",
                             archs)
            conn.executemany("INSERT INTO nats_sss_trialconfig (id, arch, arch_index, num_epochs, dataset) "
                             "VALUES (?,?,?,?,?)", configs)

    def add(self, index: int, trials: list, epochs: list, details: list, notes: dict) -> None:
        if index in self.seen:
            raise RecordError(f"architecture {index} appears twice")
        self.seen.add(index)
        if index < self.last_index:
            self.in_order = False
        self.last_index = index
        self.trials.extend(trials)
        self.epochs.extend(epochs)
        self.details.extend(details)
        rows = sum(map(block_size, epochs))
        self.pending_rows += rows
        self.trial_count += len(trials)
        self.epoch_count += rows
        self.notes["hp"] |= notes["hp"]
        self.notes["file_params_differ"] += notes["file_params_differ"]
        self.notes["file_flops_differ"] += notes["file_flops_differ"]
        if self.pending_rows >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.trials:
            self.conn.executemany(self.trial_sql, self.trials)
            self.trials.clear()
        if self.details:
            self.conn.executemany(self.detail_sql, self.details)
            self.details.clear()
        if self.epochs:
            self.conn.executemany(self.epoch_sql, chain.from_iterable(map(block_rows, self.epochs)))
            self.epochs.clear()
            self.pending_rows = 0


def _check_meta(path: Path, meta, space: Space) -> None:
    if not isinstance(meta, dict) or "meta_archs" not in meta:
        raise CorruptInput(path, "not a NATS meta file: expected a dict with 'meta_archs'")
    archs = meta["meta_archs"]
    if not isinstance(archs, list):
        raise CorruptInput(path, "meta_archs is not a list")
    if len(archs) != space.num_archs:
        other = SSS if space is TSS else TSS
        hint = f"; it has {len(archs):,} archs like the {other.display}: use `nasbench-db convert " \
               f"nats-{other.name}`" if len(archs) == other.num_archs else ""
        raise CorruptInput(path, f"meta_archs has {len(archs):,} architectures, the {space.display} has "
                                 f"{space.num_archs:,}{hint}")
    if archs != space.meta_archs():
        first = next(i for i, (a, b) in enumerate(zip(archs, space.meta_archs())) if a != b)
        raise CorruptInput(path, f"meta_archs differs from the benchmark's index order at index {first}: "
                                 f"{short_repr(archs[first])}")


def _progress(total, desc, show):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="arch", desc=desc, file=sys.stderr)


def _finish(build, loader, report, source_id, sha, started, details):
    loader.flush()
    report.archs = len(loader.seen)
    report.trials = loader.trial_count
    report.epoch_rows = loader.epoch_count
    report.hp = sorted(loader.notes["hp"], key=lambda h: loader.space.hp_epochs.get(h, 0))
    report.file_params_differ = loader.notes["file_params_differ"]
    report.file_flops_differ = loader.notes["file_flops_differ"]
    report.sha256 = sha
    space = loader.space
    details = dict(details, archs=report.archs, archs_expected=report.archs_expected, hp=report.hp,
                   format=report.fmt, loader=report.loader, file_params_differ=report.file_params_differ,
                   file_flops_differ=report.file_flops_differ)
    build.set_source_counts(source_id, {space.trial_table: report.trials, space.epoch_table: report.epoch_rows},
                            details=details, sha256=sha)
    loader.conn.execute("COMMIT")
    final = build.finish(space.views, vacuum=not loader.in_order)
    report.database = str(final)
    report.seconds = time.perf_counter() - started
    return report


def _convert_single(path: Path, space: Space, db_dir, progress, loader_kind: str, converter: str,
                    expect: str) -> Nb201Report:
    started = time.perf_counter()
    known_sha = recorded_sha256(path)
    digest = None if known_sha else hashlib.sha256()
    report = Nb201Report(source=str(path), space=space.name, archs_expected=space.num_archs, loader=loader_kind)
    show = sys.stderr.isatty() if progress is None else progress
    meta = space.meta_archs()
    stats: dict = {}
    opened = None
    if loader_kind == UNSAFE_TORCH_LOADER:
        records = _torch_records(path, stats)
        report.fmt = "torch.load"
    else:
        # opened (and sniffed) before the build starts: a wrong file fails at once
        with _stream_errors(path, "the file"):
            opened = _open_single(path, expect, digest)
        report.fmt = opened.fmt
        records = _stream_records(path, opened, stats)
    try:
        with _build.DatabaseBuild(space.benchmark, db_dir) as build:
            bar = None
            try:
                build.create_tables(space.tables)
                conn = build.connection
                source_id = build.add_source("original", path, converter, known_sha)
                conn.execute("BEGIN")
                loader = _Loader(build, space)
                with _stream_errors(path, "the archive"):
                    # the first record is read before the static rows are written: a wrong file fails at once
                    first = next(records, None)
                records = chain([first] if first is not None else [], records)
                loader.static_rows()
                bar = _progress(space.num_archs, space.name, show)

                def rows_of(item):
                    index, record = item
                    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < space.num_archs:
                        raise CorruptInput(path, f"architecture index {short_repr(index)} out of range "
                                                 f"0..{space.num_archs - 1}")
                    try:
                        return (index, *arch_rows(space, index, record, source_id, meta[index]))
                    except RecordError as exc:
                        raise CorruptInput(path, f"architecture {index}: {exc}") from None
                    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
                        raise CorruptInput(path, f"architecture {index}: content of an unexpected shape "
                                                 f"({type(exc).__name__}: {str(exc)[:200]})") from None

                def then_drain():
                    yield from records
                    if opened is not None and opened.drain is not None:
                        opened.drain()

                with _stream_errors(path, "the archive"):
                    # Reading and row building run in a thread while this one inserts: SQLite releases the GIL while
                    # it writes, so the two overlap on two cores.
                    for index, trials, epochs, details, notes in _in_background(then_drain(), rows_of):
                        try:
                            loader.add(index, trials, epochs, details, notes)
                        except RecordError as exc:
                            raise CorruptInput(path, f"architecture {index}: {exc}") from None
                        if bar is not None:
                            bar.update(1)
            except UnsupportedPickle as exc:
                hint = ("; the released files hold none: this is not the original file (re-download it). If you "
                        "made it yourself and trust every byte of it, --unsafe-torch-load reads it with torch.load, "
                        "which runs any code the file contains" if expect == "pth" else
                        "; the released files hold none: this is not the original file (re-download it)")
                raise CorruptInput(path, f"the restricted reader refuses this file: {exc.reason}{hint}",
                                   offset=exc.offset) from None
            finally:
                if bar is not None:
                    bar.close()
                if opened is not None:
                    for closer in opened.closers:
                        closer.close()
                    opened = None
            top = stats.get("top")
            if not isinstance(top, dict) or "arch2infos" not in top:
                raise CorruptInput(path, "not a NAS-Bench-201 / NATS archive: the pickle holds no 'arch2infos' dict")
            if not loader.seen:
                raise CorruptInput(path, "the archive holds no architecture results")
            top_meta = top.get("meta_archs")
            if isinstance(top_meta, list) and top_meta != meta:
                raise CorruptInput(path, f"meta_archs differs from the {space.display}'s index order")
            if known_sha:
                sha = known_sha
            elif loader_kind == UNSAFE_TORCH_LOADER:
                sha = file_digest(path)
            else:
                sha = digest.hexdigest()
            return _finish(build, loader, report, source_id, sha, started, {"released_objects": stats.get("released")})
    finally:
        if opened is not None:
            for closer in opened.closers:
                closer.close()


#: The loader name that runs ``torch.load(weights_only=False)``: loud on purpose.
UNSAFE_TORCH_LOADER = "unsafe-torch-load"
UNSAFE_TORCH_WARNING = ("WARNING: --unsafe-torch-load reads {path} with torch.load(weights_only=False), which runs any "
                        "code the file contains. Use it only for a file you made or verified byte for byte.")


def convert_nb201(path, db_dir=None, progress: bool | None = None, loader: str = "stream") -> Nb201Report:
    """Convert ``NAS-Bench-201-v1_0-e61699.pth`` or ``NAS-Bench-201-v1_1-096897.pth`` into ``nasbench201.db``.

    ``loader``: 'stream' (the default; 'auto' is the same): the restricted streaming reader, torch-free, memory
    bounded by one architecture, no code from the file runs; a file it refuses is an error, never handed to torch.
    ``'unsafe-torch-load'``: ``torch.load(weights_only=False)`` of the whole file (~28 GB of RAM for v1_1), which
    RUNS ANY CODE THE FILE CONTAINS: only for a file you made or verified byte for byte.
    """
    path = Path(path)
    if loader == "torch":
        raise NasbenchDbError(f"loader 'torch' was removed: torch.load(weights_only=False) runs any code a file "
                              f"contains, and the streaming reader reads every released file. For a file you made "
                              f"yourself and trust, the explicit opt-in is loader={UNSAFE_TORCH_LOADER!r} "
                              f"(--unsafe-torch-load)")
    if loader not in ("auto", "stream", UNSAFE_TORCH_LOADER):
        raise NasbenchDbError(f"unknown loader {loader!r}: expected 'stream' (or its alias 'auto'), or "
                              f"{UNSAFE_TORCH_LOADER!r}")
    _check_file(path, "NAS-Bench-201-v1_1-096897.pth")
    check_lfs_pointer(path)
    if loader == UNSAFE_TORCH_LOADER:
        print(UNSAFE_TORCH_WARNING.format(path=path), file=sys.stderr)
        return _convert_single(path, TSS, db_dir, progress, UNSAFE_TORCH_LOADER, "nb201-pth", "pth")
    return _convert_single(path, TSS, db_dir, progress, "stream", "nb201-pth", "pth")


def _check_file(path: Path, example: str) -> None:
    if not path.exists():
        raise NasbenchDbError(f"no such file: {path} (expected e.g. {example})")
    if path.is_dir():
        raise NasbenchDbError(f"{path} is a directory: expected a file such as {example}")


# --------------------------------------------------------------------------------------------------------------------
# NATS -simple directories


#: the reader's classes with numpy scalars kept as numpy objects (the NATS facade's pickle_load)
_NUMPY_SCALAR_MAP = {**SAFE_GLOBALS, **NUMPY_SCALAR_GLOBALS}


def _load_pickle_bytes(data: bytes, numpy_scalars: bool = False):
    """One whole pickle from memory through the restricted reader (no code from the file runs, every limit holds);
    ``numpy_scalars=True`` keeps numpy scalars as numpy objects (as ``pickle.load`` returns them)."""
    reader = StreamUnpickler(io.BytesIO(data).read, globals_map=_NUMPY_SCALAR_MAP if numpy_scalars else None)
    for _ in reader.load():
        pass
    return reader.result


def _read_simple_file(path: Path, numpy_scalars: bool = False):
    """One file of a NATS ``-simple/`` directory: bz2 decompressed within MAX_MEMBER_BYTES, then unpickled by the
    restricted reader (numpy scalars as Python numbers unless ``numpy_scalars``). Any problem is a RecordError (the
    caller names the file)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise RecordError(f"cannot read the file: {exc.strerror or exc}") from None
    if not raw:
        raise RecordError("the file is empty")
    lfs = lfs_pointer_error(raw, path)
    if lfs is not None:
        raise RecordError(lfs.reason)
    if not raw.startswith(BZ2_MAGIC):
        raise RecordError(f"not a bz2 file (starts with {raw[:8]!r})")
    try:
        data = bz2_decompress(raw, path, limit=MAX_MEMBER_BYTES)
    except CorruptInput as exc:
        raise RecordError(exc.reason) from None
    try:
        return _load_pickle_bytes(data, numpy_scalars)
    except EOFError:
        raise RecordError("truncated pickle data (no pickle in the file)") from None
    except (PickleDataError, UnsupportedPickle) as exc:
        raise RecordError(f"not a valid results pickle: {exc}") from None


_WORKER: dict = {}


def _worker_init(space_name: str, source_id: int):
    _WORKER["space"] = TSS if space_name == "tss" else SSS
    _WORKER["source_id"] = source_id
    _WORKER["meta"] = _WORKER["space"].meta_archs()


def _worker_file(task):
    """Read one per-index file and build its rows (in a worker process); errors come back as text."""
    index, file_path = task
    space = _WORKER["space"]
    try:
        record = _read_simple_file(Path(file_path))
        rows = arch_rows(space, index, record, _WORKER["source_id"], _WORKER["meta"][index])
    except RecordError as exc:
        return index, file_path, None, str(exc)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        return index, file_path, None, f"content of an unexpected shape ({type(exc).__name__}: {str(exc)[:200]})"
    return index, file_path, rows, None


def _simple_files(directory: Path, space: Space) -> list:
    """``(index, path)`` of the per-index files, sorted; both ``000123`` and ``123`` names are accepted."""
    found: dict = {}
    for entry in os.scandir(directory):
        match = SIMPLE_FILE_RE.match(entry.name)
        if not match or not entry.is_file():
            continue
        index = int(match.group(1))
        if index >= space.num_archs:
            raise CorruptInput(Path(entry.path), f"index {index} is out of range 0..{space.num_archs - 1} for "
                                                 f"the {space.display}")
        if index in found:
            raise CorruptInput(Path(entry.path), f"architecture {index} is present twice ({found[index].name} "
                                                 f"and {entry.name})")
        found[index] = Path(entry.path)
    return sorted(found.items())


def _convert_simple_dir(directory: Path, space: Space, db_dir, progress, jobs) -> Nb201Report:
    started = time.perf_counter()
    meta_path = directory / "meta.pickle.pbz2"
    if not meta_path.is_file():
        raise CorruptInput(directory, "no meta.pickle.pbz2: expected a NATS '-simple' directory "
                                      f"(e.g. NATS-{space.name}-v1_0-...-simple/)")
    try:
        meta = _read_simple_file(meta_path)
    except RecordError as exc:
        raise CorruptInput(meta_path, str(exc)) from None
    _check_meta(meta_path, meta, space)
    files = _simple_files(directory, space)
    if not files:
        raise CorruptInput(directory, "no per-architecture files (000000.pickle.pbz2 ...) next to "
                                      "meta.pickle.pbz2")
    report = Nb201Report(source=str(directory), space=space.name, archs_expected=space.num_archs,
                         fmt="nats-simple", loader="pickle")
    show = sys.stderr.isatty() if progress is None else progress
    jobs = _jobs(jobs, len(files))
    with _build.DatabaseBuild(space.benchmark, db_dir) as build:
        build.create_tables(space.tables)
        conn = build.connection
        source_id = build.add_source("original", directory, f"nats-{space.name}-simple", None)
        conn.execute("BEGIN")
        loader = _Loader(build, space)
        loader.static_rows()
        bar = _progress(len(files), space.name, show)
        pool = None
        try:
            if jobs > 1:
                import multiprocessing

                context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
                pool = context.Pool(jobs, initializer=_worker_init, initargs=(space.name, source_id))
                results = _bounded_imap(pool, _worker_file, [(i, str(p)) for i, p in files], 4 * jobs)
            else:
                _worker_init(space.name, source_id)
                results = map(_worker_file, [(i, str(p)) for i, p in files])
            for index, file_path, rows, error in results:
                if error is not None:
                    raise CorruptInput(file_path, f"architecture {index}: {error}")
                try:
                    loader.add(index, *rows)
                except RecordError as exc:
                    raise CorruptInput(file_path, str(exc)) from None
                if bar is not None:
                    bar.update(1)
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
            if bar is not None:
                bar.close()
        meta_sha = file_digest(meta_path)
        return _finish(build, loader, report, source_id, None, started,
                       {"files": len(files), "meta_sha256": meta_sha})


def _bounded_imap(pool, func, tasks, window: int):
    """``pool.imap`` in order with at most ``window`` tasks in flight: workers never run far ahead of the
    inserting process (``imap`` would queue every finished result in memory)."""
    pending = collections.deque()
    for task in tasks:
        pending.append(pool.apply_async(func, (task,)))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _jobs(jobs, files: int) -> int:
    """Worker processes: as asked, else up to 4 CPUs (none for a handful of files: starting them costs more)."""
    if jobs is not None:
        return max(1, int(jobs))
    return 1 if files < 8 else min(os.cpu_count() or 1, 4)


def _convert_nats(path, space: Space, db_dir, progress, jobs) -> Nb201Report:
    path = Path(path)
    example = f"NATS-{space.name}-v1_0-{'3ffb9' if space is TSS else '50262'}-simple/"
    if not path.exists():
        raise NasbenchDbError(f"no such file or directory: {path} (expected {example} or the .pickle.pbz2 file)")
    if path.is_dir():
        return _convert_simple_dir(path, space, db_dir, progress, jobs)
    return _convert_single(path, space, db_dir, progress, "stream", f"nats-{space.name}-pbz2", "pbz2")


def convert_nats_tss(path, db_dir=None, progress: bool | None = None, jobs: int | None = None) -> Nb201Report:
    """Convert NATS-Bench's topology archive (``NATS-tss-v1_0-3ffb9-simple/`` or ``NATS-tss-v1_0-3ffb9.pickle.pbz2``)
    into ``nasbench201.db`` (the NB-201 database: same space, same indices). ``jobs``: worker processes for a
    directory (default: up to 4 CPUs)."""
    return _convert_nats(path, TSS, db_dir, progress, jobs)


def convert_nats_sss(path, db_dir=None, progress: bool | None = None, jobs: int | None = None) -> Nb201Report:
    """Convert NATS-Bench's size archive (``NATS-sss-v1_0-50262-simple/`` or ``NATS-sss-v1_0-50262.pickle.pbz2``)
    into ``nats_sss.db``."""
    return _convert_nats(path, SSS, db_dir, progress, jobs)
