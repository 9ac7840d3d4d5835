"""NDS: the sweep files of facebookresearch/nds (``data.zip`` -> ``nds_data/*.json``) and the converter into SQL.

Input layout
------------
Each of the 34 sweep files (:data:`nasbench_db.spaces.nds.SWEEPS`) is a JSON list of training jobs, except
``ResNet_reruns.json`` and ``Vanilla_reruns.json``: ``{"top": [jobs], "mid": [jobs]}``. A job is a dict with (among
others) ``rng_seed``, ``params`` (count), ``flops`` (count), ``iter_time`` (s), ``net`` (a NAS ``genotype`` with
``width, depth, aux, drop_prob``, or an AnyNet ``block_type, ds, ws, ss, bot_muls, num_gs``), ``optim`` (``base_lr,
wd, max_ep``, ...), and per-epoch lists ``train_ep_loss``, ``train_ep_top1``, ``test_ep_top1`` (top-1 *error* in
percent). Keys the NNI tables do not hold (``exp_mem, act_mem, prec_time, min_test_top1, train_it_*``) are read past.

What is written
---------------
NNI's three tables (see :mod:`nasbench_db.models`) with NNI's mapping (``nni/nas/benchmark/nds/db_gen.py``): one
config per distinct (family, model_spec, cell_spec, proposer, base_lr, weight_decay, num_epochs, dataset, generator),
deduplicated across files as NNI's ``get_or_create`` does but in a Python dict; one trial per job; one row per epoch
(1-based). Accuracies are ``100 - error``; ``parameters`` and ``flops`` are divided by 1e6. NaN becomes NULL.
``nds_trial_origin`` records each trial's file, rerun group and position, and ``nasbench_source`` the input.

Streaming
---------
Files are read in NNI's order straight from the directory or from the zip archive (no extraction), and parsed one
job at a time by an incremental reader over the top-level list: memory stays bounded by one job plus a batch of rows,
whatever the file size. The reader's limits come from :mod:`nasbench_db.limits`: a job is at most
``MAX_JSON_ITEM_BYTES`` of text nested at most ``MAX_NESTING`` deep, a zip member expands at most
``MAX_EXPANSION_RATIO`` times, and every number must fit its column (int64 seeds, finite doubles, epochs up to
``MAX_EPOCHS``). Rows go in with ``executemany`` in one transaction, indexes are built at the end, and the
database is swapped in only when complete.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import sys
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

from ..checksums import known_or_hashed_sha256
from ..errors import CorruptInput, NasbenchDbError
from ..limits import (MAX_EPOCHS, MAX_JSON_ITEM_BYTES, MAX_NESTING, ZIP_ERRORS, as_float, as_int64,
                      check_lfs_pointer, check_zip_member, json_nesting_error, lfs_pointer_error, short_repr)
from ..models import NdsIntermediateStats, NdsTrialConfig, NdsTrialOrigin, NdsTrialStats
from ..spaces import nds as space
from . import _build

CONVERTER_NAME = "nds-json"
#: Configs / trials / origins per executemany batch (per-epoch rows go in per job).
BATCH_TRIALS = 5000
READ_CHUNK = 1 << 20
#: A decode error this far before the end of the buffer is a real error, not a job cut by the chunk boundary
#: (the longest string in a sweep file, an op or key name, is far shorter).
_TRUNCATION_MARGIN = 1 << 16
_WHITESPACE = re.compile(r"[ \t\n\r]*")

_CONFIG_SQL = ("INSERT INTO ndstrialconfig (id, model_family, model_spec, cell_spec, dataset, generator, proposer, "
               "base_lr, weight_decay, num_epochs) VALUES (?,?,?,?,?,?,?,?,?,?)")
_TRIAL_SQL = ("INSERT INTO ndstrialstats (id, config_id, seed, final_train_acc, final_train_loss, final_test_acc, "
              "best_train_acc, best_train_loss, best_test_acc, parameters, flops, iter_time) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
_EPOCH_SQL = ("INSERT INTO ndsintermediatestats (id, trial_id, current_epoch, train_loss, train_acc, test_acc) "
              "VALUES (?,?,?,?,?,?)")
_ORIGIN_SQL = ("INSERT INTO nds_trial_origin (trial_id, source_id, sweep, rerun_group, job_index, job_id) "
               "VALUES (?,?,?,?,?,?)")


# ----------------------------------------------------------------------------------------------------------------------
# Incremental JSON reading


class JsonStreamReader:
    """Reads the top level of a sweep file one job at a time from a binary stream.

    ``jobs()`` yields ``(group, index, job)``: ``group`` is None for a list file, ``'top'``/``'mid'`` for a reruns
    file. Errors raise :class:`CorruptInput` naming ``display`` (the file), the job and the character offset.
    """

    def __init__(self, stream, display: str, digest=None, on_bytes=None, chunk: int = READ_CHUNK):
        self.stream = stream
        self.display = display
        self.digest = digest
        self.on_bytes = on_bytes
        self.chunk = chunk
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()  # a leading BOM, if any, is dropped
        self.decode = json.JSONDecoder().raw_decode
        self.buf = ""
        self.pos = 0
        self.dropped = 0  # characters discarded before buf[0]
        self.eof = False
        self.bytes_read = 0

    # -- buffer --------------------------------------------------------------------------------------------------------
    def _fill(self, size: int | None = None) -> bool:
        if self.eof:
            return False
        data = self.stream.read(size or self.chunk)
        if self.digest is not None and data:
            self.digest.update(data)
        self.bytes_read += len(data)
        if self.on_bytes is not None and data:
            self.on_bytes(len(data))
        if not data:
            self.eof = True
        try:
            text = self.decoder.decode(data, final=self.eof)
        except UnicodeDecodeError as exc:
            raise CorruptInput(self.display, f"not UTF-8 text (byte {self.bytes_read - len(data) + exc.start}): "
                                             "expected a JSON sweep file") from None
        if self.pos:
            self.dropped += self.pos
            self.buf = self.buf[self.pos:] + text
            self.pos = 0
        else:
            self.buf += text
        return bool(data)

    def _peek(self) -> str:
        """The next non-whitespace character ('' at the end of the input), without consuming it."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def _offset(self) -> int:
        return self.dropped + self.pos

    def _fail(self, reason: str, record=None):
        raise CorruptInput(self.display, f"{reason} (character {self._offset()})", record)

    def _value(self, record=None):
        """Decode the JSON value at the cursor, reading more input while it is cut by the buffer's end.

        A value longer than MAX_JSON_ITEM_BYTES characters or nested deeper than MAX_NESTING is refused.
        """
        self._peek()
        size = self.chunk
        while True:
            try:
                value, end = self.decode(self.buf, self.pos)
            except RecursionError:
                self._fail(f"a value nested deeper than {MAX_NESTING} levels: not a sweep file", record)
            except json.JSONDecodeError as exc:
                if self.eof or exc.pos < len(self.buf) - _TRUNCATION_MARGIN:
                    self.pos = min(exc.pos, len(self.buf))
                    if self.eof and (exc.pos >= len(self.buf.rstrip()) or exc.msg.startswith("Unterminated")):
                        self._fail("unexpected end of file: the JSON stops inside a value (truncated file?)",
                                   record)
                    self._fail(f"malformed JSON: {exc.msg}", record)
            else:
                if end - self.pos > MAX_JSON_ITEM_BYTES:
                    self._too_long(record)
                # A number that ends exactly at the buffer's end may continue in the next chunk.
                if end < len(self.buf) or self.eof:
                    problem = json_nesting_error(value, MAX_NESTING)
                    if problem is not None:
                        self._fail(problem, record)
                    self.pos = end
                    return value
            held = len(self.buf) - self.pos
            if held > MAX_JSON_ITEM_BYTES:
                self._too_long(record)
            # never hold more than the limit (plus one read) of a value: the next round refuses it
            self._fill(max(1, min(size, MAX_JSON_ITEM_BYTES + 1 - held)))
            size *= 2  # a value larger than a chunk: grow reads so re-decoding stays linear overall

    def _too_long(self, record) -> None:
        self._fail(f"a value longer than {MAX_JSON_ITEM_BYTES:,} characters (the limit for one job): not a sweep "
                   "file, or a JSON bomb", record)

    def _expect(self, char: str, what: str, record=None) -> None:
        found = self._peek()
        if found != char:
            self._fail(f"malformed JSON: expected {what}, found {found!r}" if found else
                       f"unexpected end of file: expected {what}", record)
        self.pos += 1

    def _array(self, group):
        self._expect("[", "'[' opening a list of jobs")
        index = 0
        if self._peek() == "]":
            self.pos += 1
            return
        while True:
            record = index if group is None else f"{group}[{index}]"
            start = self._offset()
            job = self._value(record)
            if not isinstance(job, dict):
                raise CorruptInput(self.display, f"the job is a {type(job).__name__}, not an object "
                                                 f"(character {start}): expected a list of training jobs", record)
            yield group, index, job
            index += 1
            char = self._peek()
            if char == ",":
                self.pos += 1
            elif char == "]":
                self.pos += 1
                return
            else:
                self._fail("malformed JSON: expected ',' or ']' after a job" if char else
                           "unexpected end of file inside the list of jobs (truncated file?)", record)

    def jobs(self):
        first = self._peek()
        if first == "":
            raise CorruptInput(self.display, "the file is empty: expected a JSON list of training jobs")
        lfs = lfs_pointer_error(self.buf[self.pos:self.pos + 1024].encode("utf-8", "replace"), self.display)
        if lfs is not None:
            raise lfs
        if first == "[":
            yield from self._array(None)
        elif first == "{":
            self.pos += 1
            seen = []
            while True:
                char = self._peek()
                if char == "}":
                    self.pos += 1
                    break
                if char != '"':
                    self._fail("malformed JSON: expected a key or '}'" if char else "unexpected end of file")
                key = self._value()
                self._expect(":", "':' after a key")
                if key not in space.RERUN_GROUPS:
                    raise CorruptInput(self.display, f"unexpected key {key!r}: a sweep file is a list of jobs or "
                                                     "{'top': [jobs], 'mid': [jobs]} (the reruns layout)")
                seen.append(key)
                yield from self._array(key)
                char = self._peek()
                if char == ",":
                    self.pos += 1
                elif char != "}":
                    self._fail("malformed JSON: expected ',' or '}' after a rerun group" if char else
                               "unexpected end of file")
            missing = [g for g in space.RERUN_GROUPS if g not in seen]
            if missing:
                raise CorruptInput(self.display, f"reruns layout without {' and '.join(repr(g) for g in missing)}: "
                                                 "expected {'top': [jobs], 'mid': [jobs]}")
        else:
            self._fail(f"not a sweep file: starts with {first!r}, expected a JSON list of jobs or "
                       "{'top': [...], 'mid': [...]}")
        if self._peek() != "":
            self._fail("extra data after the top-level JSON value")


# ----------------------------------------------------------------------------------------------------------------------
# Inputs: a directory or data.zip


@dataclass
class SweepMember:
    sweep: space.Sweep
    display: str   # how errors name it, e.g. 'data.zip:nds_data/ResNet.json'
    size: int      # uncompressed bytes
    open: object   # () -> binary stream


def _is_junk(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._")


def _zip_members(path: Path, archive: zipfile.ZipFile):
    found: dict[str, zipfile.ZipInfo] = {}
    ignored = []
    for info in archive.infolist():
        if info.is_dir() or _is_junk(info.filename):
            continue
        directory, _, base = info.filename.rpartition("/")
        stem = base[:-5] if base.endswith(".json") else None
        in_data_dir = directory == "" or directory.rsplit("/", 1)[-1] == "nds_data"
        if stem in space.SWEEPS and in_data_dir:
            check_zip_member(info, path)
            previous = found.get(stem)
            # Prefer nds_data/<name>.json over a stray copy at the archive's root.
            if previous is None or (directory and not previous.filename.count("/")):
                found[stem] = info
        elif base.endswith(".json"):
            ignored.append(info.filename)
    if not found:
        sample = ", ".join(n for n in archive.namelist()[:5])
        raise CorruptInput(path, "no NDS sweep files in the archive: expected nds_data/Amoeba.json ... "
                                 f"nds_data/Vanilla_rng3.json (found: {sample or 'nothing'})")
    members = []
    for stem in space.SWEEPS:
        info = found.get(stem)
        if info is not None:
            members.append(SweepMember(space.sweep_info(stem), f"{path}:{info.filename}", info.file_size,
                                       (lambda i=info: archive.open(i))))
    return members, ignored


def _dir_members(path: Path):
    directory = path
    if not any((path / f"{s}.json").is_file() for s in space.SWEEPS) and (path / "nds_data").is_dir():
        directory = path / "nds_data"
    members = []
    for stem in space.SWEEPS:
        candidate = directory / f"{stem}.json"
        if candidate.is_file():
            members.append(SweepMember(space.sweep_info(stem), str(candidate), candidate.stat().st_size,
                                       (lambda c=candidate: open(c, "rb"))))
    ignored = sorted(p.name for p in directory.glob("*.json") if p.stem not in space.SWEEPS)
    if not members:
        raise NasbenchDbError(f"no NDS sweep files in {path}: expected nds_data/*.json (Amoeba.json ... "
                              "Vanilla_rng3.json), the nds_data/ directory's parent, or data.zip")
    return directory, members, ignored


# ----------------------------------------------------------------------------------------------------------------------
# Jobs -> rows


def _nan_to_none(value):
    return None if value != value else value


def _epoch_list(job: dict, key: str, epochs: int, display: str, record) -> list:
    """The job's per-epoch list ``key``, checked for presence and length (values are checked by arithmetic)."""
    values = job.get(key)
    if not isinstance(values, list):
        raise CorruptInput(display, f"{key!r} is missing or not a list", record)
    if len(values) != epochs:
        raise CorruptInput(display, f"{key!r} has {len(values)} epochs but optim.max_ep is {epochs}", record)
    return values


def _numbers(job: dict, key: str, display: str, record) -> list:
    """Slow path for a list that is not all floats: null -> NaN, ints -> floats (within a double's range), anything
    else is an error."""
    out = []
    for v in job[key]:
        if v is None:
            v = float("nan")
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise CorruptInput(display, f"{key!r} holds a non-number {short_repr(v)}", record)
        else:
            try:
                v = as_float(v, key, allow_inf=True)
            except ValueError as exc:
                raise CorruptInput(display, str(exc), record) from None
        out.append(v)
    return out


def _required(mapping: dict, key: str, where: str, display: str, record, kinds=(int, float)):
    """A required number of the job, checked to fit its column: an int64 for integers, a double for numbers."""
    if not isinstance(mapping, dict) or key not in mapping:
        raise CorruptInput(display, f"missing '{where}{key}'", record)
    value = mapping[key]
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "an integer" if kinds == (int,) else "a number"
        raise CorruptInput(display, f"'{where}{key}' = {short_repr(value)} is not {kind}", record)
    try:
        if isinstance(value, int) and kinds == (int,):
            return as_int64(value, f"'{where}{key}'")
        as_float(value, f"'{where}{key}'", allow_inf=True)  # an int too large for a double is no number here
    except ValueError as exc:
        raise CorruptInput(display, str(exc), record) from None
    return value


def _min_ignoring_nan(values):
    kept = [v for v in values if v == v]
    return min(kept) if kept else None


@dataclass
class NdsReport:
    """What a conversion did (printed by the CLI)."""

    source: str
    database: str = ""
    sweeps: dict = field(default_factory=dict)       # sweep name -> jobs converted
    missing: list = field(default_factory=list)      # sweep files not found
    ignored: list = field(default_factory=list)      # other .json files seen and skipped
    unknown_ops: list = field(default_factory=list)  # cell op names outside spaces.nds.OPS (stored as given)
    configs: int = 0
    trials: int = 0
    intermediates: int = 0
    seconds: float = 0.0
    sha256: str | None = None

    def summary(self) -> str:
        lines = [f"converted {len(self.sweeps)} of {len(space.SWEEPS)} NDS sweep files of {self.source} into "
                 f"{self.database}: {self.configs:,} configs, {self.trials:,} trials, {self.intermediates:,} "
                 f"per-epoch rows in {self.seconds:.1f} s"]
        if self.missing:
            lines.append(f"missing ({len(self.missing)}): {', '.join(s + '.json' for s in self.missing)}")
        if self.ignored:
            lines.append(f"ignored (not an NDS sweep name): {', '.join(self.ignored)}")
        if self.unknown_ops:
            lines.append(f"note: cell ops outside NNI's op list, stored as given: {', '.join(self.unknown_ops)}")
        return "\n".join(lines)


class _Loader:
    """Turns jobs into rows and flushes them in batches (ids assigned here, in NNI's order)."""

    def __init__(self, conn, source_id: int):
        self.conn = conn
        self.source_id = source_id
        self.config_ids: dict[tuple, int] = {}
        self.trial_id = 0
        self.epoch_row_id = 0
        self.configs, self.trials, self.origins = [], [], []
        self.unknown_ops: set = set()
        self.known_ops = set(space.OPS)

    def add(self, sweep: space.Sweep, group, index: int, job: dict, display: str) -> None:
        record = index if group is None else f"{group}[{index}]"
        try:
            self._add(sweep, group, index, job, display, record)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            # a job of an unexpected shape (the checks below name the usual ones)
            raise CorruptInput(display, f"the job has content of an unexpected shape ({type(exc).__name__}: "
                                        f"{str(exc)[:200]})", record) from None

    def _add(self, sweep: space.Sweep, group, index: int, job: dict, display: str, record) -> None:
        try:
            family, model_spec, cell_spec = space.specs_of_net(job.get("net"))
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            raise CorruptInput(display, f"bad 'net': {str(exc)[:300]}", record) from None
        optim = job.get("optim")
        base_lr = _required(optim, "base_lr", "optim.", display, record)
        weight_decay = _required(optim, "wd", "optim.", display, record)
        epochs = _required(optim, "max_ep", "optim.", display, record, kinds=(int,))
        if not 0 < epochs <= MAX_EPOCHS:
            raise CorruptInput(display, f"optim.max_ep = {epochs}: expected a positive epoch count (at most "
                                        f"{MAX_EPOCHS:,})", record)
        train_err = _epoch_list(job, "train_ep_top1", epochs, display, record)
        test_err = _epoch_list(job, "test_ep_top1", epochs, display, record)
        train_loss = _epoch_list(job, "train_ep_loss", epochs, display, record)
        try:
            # Only floats take the fast path (checked at C speed); ints, nulls and anything else the slow one.
            if not set(map(type, train_err)) | set(map(type, test_err)) | set(map(type, train_loss)) <= {float}:
                raise TypeError
            train_acc = [100 - v for v in train_err]
            test_acc = [100 - v for v in test_err]
        except TypeError:
            train_err, test_err, train_loss = (_numbers(job, k, display, record)
                                               for k in ("train_ep_top1", "test_ep_top1", "train_ep_loss"))
            train_acc = [100 - v for v in train_err]
            test_acc = [100 - v for v in test_err]
        seed = _required(job, "rng_seed", "", display, record, kinds=(int,))
        params = _required(job, "params", "", display, record)
        flops = _required(job, "flops", "", display, record)
        iter_time = _required(job, "iter_time", "", display, record)
        if cell_spec:
            self.unknown_ops.update(space.cell_ops(cell_spec) - self.known_ops)

        try:
            model_json = space.canonical_json(model_spec)
            cell_json = space.canonical_json(cell_spec)
        except ValueError as exc:
            raise CorruptInput(display, f"bad 'net': {str(exc)[:300]}", record) from None
        # A digest stands for the two JSON texts in the key: memory stays small with ~10^5 distinct cells.
        digest = hashlib.blake2b(f"{model_json}\0{cell_json}".encode(), digest_size=16).digest()
        key = (family, digest, sweep.proposer, base_lr, weight_decay, epochs, sweep.dataset, sweep.generator)
        config_id = self.config_ids.get(key)
        if config_id is None:
            config_id = len(self.config_ids) + 1
            self.config_ids[key] = config_id
            self.configs.append((config_id, family, model_json, cell_json, sweep.dataset, sweep.generator,
                                 sweep.proposer, base_lr, weight_decay, epochs))

        self.trial_id += 1
        trial_id = self.trial_id
        best_train_err = _min_ignoring_nan(train_err)
        best_test_err = _min_ignoring_nan(test_err)
        self.trials.append((
            trial_id, config_id, seed,
            _nan_to_none(100 - train_err[-1]), _nan_to_none(train_loss[-1]), _nan_to_none(100 - test_err[-1]),
            None if best_train_err is None else 100 - best_train_err,
            _min_ignoring_nan(train_loss),
            None if best_test_err is None else 100 - best_test_err,
            params / 1e6, flops / 1e6, _nan_to_none(iter_time)))
        first = self.epoch_row_id + 1
        self.epoch_row_id += epochs
        # Straight from the lists (no row list kept): NaN needs no conversion either, SQLite binds a NaN double as
        # NULL (sqlite3_bind_double).
        self.conn.executemany(_EPOCH_SQL, zip(range(first, first + epochs), repeat(trial_id, epochs),
                                              range(1, epochs + 1), train_loss, train_acc, test_acc))
        job_id = job.get("job_id")
        self.origins.append((trial_id, self.source_id, sweep.name, group, index,
                             None if job_id is None else str(job_id)))
        if len(self.trials) >= BATCH_TRIALS:
            self.flush()

    def flush(self) -> None:
        conn = self.conn
        conn.executemany(_CONFIG_SQL, self.configs)
        conn.executemany(_TRIAL_SQL, self.trials)
        conn.executemany(_ORIGIN_SQL, self.origins)
        self.configs.clear()
        self.trials.clear()
        self.origins.clear()


# ----------------------------------------------------------------------------------------------------------------------
# Converter


def _open_input(path: Path):
    """``(members, ignored, archive or None, what the provenance row names)`` for a directory, data.zip or one
    sweep file."""
    if path.is_dir():
        directory, members, ignored = _dir_members(path)
        return members, ignored, None, directory
    if not path.is_file():
        raise NasbenchDbError(f"no such file or directory: {path} (expected NDS's data.zip or the nds_data/ "
                              "directory)")
    if path.stat().st_size == 0:
        raise CorruptInput(path, "the file is empty: expected NDS's data.zip or the nds_data/ directory")
    check_lfs_pointer(path)
    if path.suffix == ".json":
        if path.stem not in space.SWEEPS:
            raise CorruptInput(path, f"{path.name} is not one of the 34 NDS sweep files (Amoeba.json ... "
                                     "Vanilla_rng3.json)")
        member = SweepMember(space.sweep_info(path.stem), str(path), path.stat().st_size,
                             (lambda: open(path, "rb")))
        return [member], [], None, path
    if not zipfile.is_zipfile(path):
        raise CorruptInput(path, "not a zip archive: expected NDS's data.zip (holding nds_data/*.json) or the "
                                 "nds_data/ directory")
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        raise CorruptInput(path, f"unreadable zip archive: {str(exc)[:200]}") from None
    try:
        members, ignored = _zip_members(path, archive)
    except BaseException:
        archive.close()
        raise
    return members, ignored, archive, path


def _cluster_epoch_table(build) -> None:
    """Recreate ``ndsintermediatestats`` as a WITHOUT ROWID table: clustered on (trial_id, current_epoch), so a
    trial's curve is one contiguous range and no secondary index is needed (about 15% smaller per row)."""
    with build.database.bind_ctx([NdsIntermediateStats], bind_refs=False, bind_backrefs=False):
        sql, params = NdsIntermediateStats._schema._create_table(safe=False).query()
    build.connection.execute("DROP TABLE ndsintermediatestats")
    build.connection.execute(sql + " WITHOUT ROWID", params)


def convert_nds(path, db_dir=None, progress: bool | None = None) -> NdsReport:
    """Convert NDS's ``data.zip`` or ``nds_data/`` directory into ``<db_dir>/nds.db`` (swapped in when complete).

    Converts every sweep file present (a partial directory converts what it has; :attr:`NdsReport.missing` lists
    the rest). Raises :class:`CorruptInput` naming the file, job and reason for bad input; an existing database is
    left untouched on any failure. ``progress``: None shows a bar when stderr is a terminal.
    """
    path = Path(path)
    started = time.perf_counter()
    members, ignored, archive, provenance_path = _open_input(path)
    report = NdsReport(source=str(path), ignored=ignored)
    present = {m.sweep.name for m in members}
    report.missing = [s for s in space.SWEEPS if s not in present]
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=sum(m.size for m in members), unit="B", unit_scale=True, desc="nds", file=sys.stderr)
    try:
        archive_sha = None
        if path.is_file():
            archive_sha = known_or_hashed_sha256(path)
        report.sha256 = archive_sha
        with _build.DatabaseBuild("nds", db_dir) as build:
            build.create_tables([NdsTrialConfig, NdsTrialStats, NdsIntermediateStats, NdsTrialOrigin])
            conn = build.connection
            _cluster_epoch_table(build)
            source_id = build.add_source("original", provenance_path, CONVERTER_NAME, archive_sha)
            conn.execute("BEGIN")
            loader = _Loader(conn, source_id)
            file_details = {}
            for member in members:
                digest = hashlib.sha256()
                jobs = 0
                try:
                    with member.open() as stream:
                        reader = JsonStreamReader(stream, member.display, digest,
                                                  bar.update if bar is not None else None)
                        for group, index, job in reader.jobs():
                            loader.add(member.sweep, group, index, job, member.display)
                            jobs += 1
                except zipfile.BadZipFile as exc:
                    raise CorruptInput(member.display, f"damaged zip member: {exc}") from None
                except (OSError, EOFError) as exc:
                    raise CorruptInput(member.display, f"cannot read: {exc}") from None
                except (zlib.error, NotImplementedError, RuntimeError) as exc:  # corrupt deflate data, an
                    if isinstance(exc, RecursionError):                         # unsupported or encrypted member
                        raise
                    raise CorruptInput(member.display, f"damaged zip member: {str(exc)[:200]}") from None
                if jobs == 0:
                    raise CorruptInput(member.display, "the sweep holds no jobs")
                report.sweeps[member.sweep.name] = jobs
                file_details[member.sweep.name] = {"jobs": jobs, "sha256": digest.hexdigest(),
                                                   "bytes": reader.bytes_read}
            loader.flush()
            report.configs = len(loader.config_ids)
            report.trials = loader.trial_id
            report.intermediates = loader.epoch_row_id
            report.unknown_ops = sorted(loader.unknown_ops)
            build.set_source_counts(
                source_id,
                {"ndstrialconfig": report.configs, "ndstrialstats": report.trials,
                 "ndsintermediatestats": report.intermediates, "nds_trial_origin": report.trials},
                details={"sweeps": file_details, "missing": report.missing, "ignored": report.ignored,
                         "unknown_ops": report.unknown_ops})
            conn.execute("COMMIT")
            final = build.finish()
    finally:
        if bar is not None:
            bar.close()
        if archive is not None:
            archive.close()
    report.database = str(final)
    report.seconds = time.perf_counter() - started
    return report
