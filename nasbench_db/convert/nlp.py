"""NAS-Bench-NLP: the training logs of fmsnew/nas-bench-nlp-release and the converter into SQL.

Input layout
------------
The release holds three archives of logs, each a flat ``logs.zip`` of ``log_stats_model_<recipe_id>_<init_time>_
<experiment_id>.json`` files: ``train_logs_single_run/`` (PTB, one run per recipe), ``train_logs_multi_runs/`` (PTB,
recipes trained several times) and ``train_logs_wikitext-2/``. A log is one JSON object: the training arguments
(``data`` = ``data/ptb`` or ``data/wikitext-2``, ``epochs`` = 50, ``batch_size``, ``lr``...), ``recepie`` (the cell as
JSON text, see :mod:`nasbench_db.spaces.nlp`), ``recepie_id``, ``experiment_id``, ``init_time``, ``num_params``,
``status`` and four per-epoch lists of equal length: ``train_losses``, ``val_losses``, ``test_losses`` (mean
cross-entropy, nats per token; ``NaN`` where training diverged) and ``wall_times`` (seconds of training of each
epoch, evaluation excluded; ``main_one_model_train.py`` times the ``train()`` call only).

Duplicates
----------
The PTB single-run and multi-run archives share logs: the same file name (same recipe, start time and experiment id)
in both. NNI's ``nlp.sh`` unzips both into one folder and lets ``unzip`` either keep the first copy or replace it
("ignore all or replace all"), so each file name is one run. Here too: a log is identified by its file name across
every input; ``duplicates='first'`` (default) keeps the first copy met (inputs in the order given), ``'last'`` the last.
Duplicates are counted (byte-identical copies and differing ones apart) and recorded in the provenance rows.

What is written
---------------
One :class:`~nasbench_db.models.NlpTrialConfig` per distinct (recipe, dataset) (the recipe's canonical key: a recipe
written twice is one config), one :class:`~nasbench_db.models.NlpTrial` per log *whatever its status* (NNI's
``db_gen`` drops runs whose status is not 'OK'; they are kept here with their status and the epochs they logged),
one :class:`~nasbench_db.models.NlpEpoch` per logged epoch, and one ``nasbench_source`` row per input. NNI's
``nlptrialstats`` / ``nlpintermediatestats`` are views of the 'OK' runs. Every value is the log's, bit for bit; NaN
becomes NULL. Every zip member and JSON document is read through :mod:`nasbench_db.limits`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import db as _db
from ..checksums import known_or_hashed_sha256
from ..errors import CorruptInput, NasbenchDbError, OutOfSearchSpace
from ..limits import (MAX_JSON_BYTES, ZIP_ERRORS, as_float, as_int64, check_lfs_pointer, loads_json,
                      read_limited, read_zip_member, short_repr)
from ..models import NLP_EPOCH_ID_BASE, NLP_VIEWS, NlpEpoch, NlpTrial, NlpTrialConfig
from ..spaces import nlp as space
from . import _build

CONVERTER_NAME = "nlp-logs"
LOG_NAME = re.compile(r"log_stats_model_.*\.json\Z")
#: Keys of a log that are results or identifiers, not training arguments (the rest goes to ``hyperparameters``).
RESULT_KEYS = frozenset({"recepie", "recepie_id", "experiment_id", "init_time", "num_params", "status", "wall_times",
                         "train_losses", "val_losses", "test_losses", "recepies_list_path"})
LIST_KEYS = ("train_losses", "val_losses", "test_losses", "wall_times")
DUPLICATE_POLICIES = ("first", "last")
_FLOAT_TYPES = {float}
BATCH_TRIALS = 2000

_CONFIG_SQL = "INSERT INTO nlptrialconfig (id, arch, dataset) VALUES (?, ?, ?)"
_TRIAL_SQL = ("INSERT INTO nlp_trial (id, config_id, source_id, log_name, status, recipe_id, experiment_id, init_time, "
              "num_params, epochs, epochs_run, train_loss, val_loss, test_loss, training_time, total_training_time, "
              "hyperparameters) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
_EPOCH_SQL = ("INSERT INTO nlp_epoch (trial_id, current_epoch, train_loss, val_loss, test_loss, training_time) "
              "VALUES (?,?,?,?,?,?)")


@dataclass
class LogMember:
    """One log file of an input: how to read it and how errors name it."""

    name: str        # the file name (the run's identity across inputs)
    display: str     # 'logs.zip:log_stats_model_....json' or the file path
    size: int
    read: object     # () -> bytes (bounded)
    input_index: int


@dataclass
class InputSummary:
    path: str
    kind: str                 # 'zip', 'directory' or 'file'
    logs: int = 0             # log files found
    converted: int = 0        # logs converted from this input (after duplicates)
    sha256: str | None = None
    ignored: list = field(default_factory=list)


@dataclass
class NlpReport:
    """What a conversion did (printed by the CLI)."""

    database: str = ""
    inputs: list = field(default_factory=list)
    configs: int = 0
    trials: int = 0
    epochs: int = 0
    statuses: dict = field(default_factory=dict)         # status -> runs
    datasets: dict = field(default_factory=dict)         # dataset -> runs
    duplicates_identical: int = 0
    duplicates_differing: int = 0
    differing_names: list = field(default_factory=list)  # a few file names whose copies differ
    duplicate_policy: str = "first"
    unknown_datasets: list = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        sources = ", ".join(f"{Path(i.path).name} ({i.converted:,} of {i.logs:,} logs)" for i in self.inputs)
        statuses = ", ".join(f"{status!r} {count:,}" for status, count in sorted(self.statuses.items()))
        datasets = ", ".join(f"{name} {count:,}" for name, count in sorted(self.datasets.items()))
        lines = [f"converted {self.trials:,} NAS-Bench-NLP runs from {sources} into {self.database}: "
                 f"{self.configs:,} configs (distinct recipe and dataset), {self.epochs:,} per-epoch rows "
                 f"in {self.seconds:.1f} s",
                 f"datasets: {datasets}; status: {statuses} (NNI's views and queries show the 'OK' runs; "
                 "query with status=None / --status all for the others)"]
        duplicates = self.duplicates_identical + self.duplicates_differing
        if duplicates:
            kept = "first" if self.duplicate_policy == "first" else "last"
            lines.append(f"duplicates: {duplicates:,} log files found in more than one input "
                         f"({self.duplicates_identical:,} identical copies, {self.duplicates_differing:,} differing), "
                         f"the {kept} copy of each kept")
            if self.differing_names:
                lines.append(f"differing copies: {', '.join(self.differing_names)}"
                             + (" ..." if self.duplicates_differing > len(self.differing_names) else ""))
        ignored = [n for i in self.inputs for n in i.ignored]
        if ignored:
            lines.append(f"ignored (not a log_stats_model_*.json file): {', '.join(ignored[:10])}"
                         + (" ..." if len(ignored) > 10 else ""))
        if self.unknown_datasets:
            lines.append(f"note: datasets other than ptb / wikitext-2, stored as given: "
                         f"{', '.join(self.unknown_datasets)}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------------
# Inputs


def _is_junk(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._")


def _zip_members(path: Path, index: int, archive: zipfile.ZipFile, summary: InputSummary) -> list[LogMember]:
    members = []
    for info in archive.infolist():
        if info.is_dir() or _is_junk(info.filename):
            continue
        base = info.filename.rsplit("/", 1)[-1]
        if LOG_NAME.match(base):
            members.append(LogMember(base, f"{path}:{info.filename}", info.file_size,
                                     (lambda i=info: read_zip_member(archive, i, path, MAX_JSON_BYTES)), index))
        else:
            summary.ignored.append(info.filename)
    return members


def _read_file(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return read_limited(handle, MAX_JSON_BYTES, path, "the log")
    except OSError as exc:
        raise CorruptInput(path, f"cannot read: {exc.strerror or exc}") from None


def _dir_members(path: Path, index: int, summary: InputSummary) -> list[LogMember]:
    members = []
    for candidate in sorted(path.rglob("*.json")):
        if not candidate.is_file() or _is_junk(candidate.relative_to(path).as_posix()):
            continue
        if LOG_NAME.match(candidate.name):
            members.append(LogMember(candidate.name, str(candidate), candidate.stat().st_size,
                                     (lambda c=candidate: _read_file(c)), index))
        else:
            summary.ignored.append(str(candidate.relative_to(path)))
    return members


def _open_inputs(paths: list[Path], stack: list) -> tuple[list[InputSummary], list[list[LogMember]]]:
    summaries, members = [], []
    for index, path in enumerate(paths):
        if path.is_dir():
            summary = InputSummary(str(path), "directory")
            found = _dir_members(path, index, summary)
        elif path.is_file():
            if path.stat().st_size == 0:
                raise CorruptInput(path, "the file is empty: expected a NAS-Bench-NLP logs.zip, a folder of logs or "
                                         "one log_stats_model_*.json")
            check_lfs_pointer(path)
            if path.suffix == ".json":
                summary = InputSummary(str(path), "file")
                found = [LogMember(path.name, str(path), path.stat().st_size, (lambda p=path: _read_file(p)), index)]
            elif zipfile.is_zipfile(path):
                summary = InputSummary(str(path), "zip")
                try:
                    archive = zipfile.ZipFile(path)
                except ZIP_ERRORS as exc:
                    raise CorruptInput(path, f"unreadable zip archive: {str(exc)[:200]}") from None
                stack.append(archive)
                found = _zip_members(path, index, archive, summary)
            else:
                raise CorruptInput(path, "not a zip archive or a .json log: expected a NAS-Bench-NLP logs.zip "
                                         "(train_logs_*/logs.zip), a folder of logs or one log_stats_model_*.json")
        else:
            raise NasbenchDbError(f"no such file or directory: {path} (expected a NAS-Bench-NLP logs.zip or a folder "
                                  "of log_stats_model_*.json files)")
        if not found:
            raise CorruptInput(path, "no NAS-Bench-NLP logs in it: expected log_stats_model_<id>_<time>_<exp>.json "
                                     "files (the release's train_logs_*/logs.zip)")
        found.sort(key=lambda m: m.name)
        summary.logs = len(found)
        summaries.append(summary)
        members.append(found)
    return summaries, members


def _choose(members: list[list[LogMember]], policy: str) -> tuple[list[LogMember], list[tuple[LogMember, LogMember]]]:
    """The member kept for each log name (inputs in order, names sorted within an input) and the (kept, dropped)
    pairs of duplicates."""
    chosen: dict[str, LogMember] = {}
    dropped = []
    for group in members:
        for member in group:
            previous = chosen.get(member.name)
            if previous is None:
                chosen[member.name] = member
            elif policy == "first":
                dropped.append((previous, member))
            else:
                dropped.append((member, previous))
                chosen[member.name] = member
    kept = sorted(chosen.values(), key=lambda m: (m.input_index, m.name))
    return kept, dropped


# ----------------------------------------------------------------------------------------------------------------------
# One log -> rows


def _number(value, key: str, index: int, display: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CorruptInput(display, f"{key}[{index}] = {short_repr(value)} is not a number")
    try:
        value = as_float(value, f"{key}[{index}]", allow_inf=True)  # an int too large for a double is refused
    except ValueError as exc:
        raise CorruptInput(display, str(exc)) from None
    return None if math.isnan(value) else value


def _finite_or_none(value):
    """NaN -> None (the final values kept in ``nlp_trial``; per-epoch rows bind NaN, which SQLite stores as NULL)."""
    return None if value is None or value != value else value


def _optional_int(log: dict, key: str, display: str):
    value = log.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CorruptInput(display, f"{key!r} = {short_repr(value)} is not an integer")
    try:
        return as_int64(value, repr(key))  # within SQL's integer range
    except ValueError as exc:
        raise CorruptInput(display, str(exc)) from None


@dataclass
class ParsedLog:
    flat: dict
    arch_json: str
    dataset: str
    status: str
    lists: tuple
    recipe_id: int | None
    experiment_id: int | None
    init_time: str | None
    num_params: int | None
    epochs: int | None
    hyperparameters: str


def parse_log(log, display: str) -> ParsedLog:
    """Check one log (a dict read from JSON) and return what the tables need; CorruptInput names the problem."""
    if not isinstance(log, dict):
        raise CorruptInput(display, f"a log is a JSON object, not a {type(log).__name__}")
    for key in ("recepie", "data", "status", *LIST_KEYS):
        if key not in log:
            raise CorruptInput(display, f"missing {key!r}: not a NAS-Bench-NLP training log")
    status = log["status"]
    if not isinstance(status, str):
        raise CorruptInput(display, f"'status' = {short_repr(status)} is not a string")
    recipe_text = log["recepie"]
    if isinstance(recipe_text, str):
        recipe = loads_json(recipe_text, display, "'recepie'")
    elif isinstance(recipe_text, dict):
        recipe = recipe_text
    else:
        raise CorruptInput(display, f"'recepie' must be the recipe as JSON text: got {type(recipe_text).__name__}")
    try:
        flat = space.flatten(recipe)
    except OutOfSearchSpace as exc:
        raise CorruptInput(display, f"bad 'recepie': {str(exc)[:300]}") from None
    try:
        dataset = space.dataset_of(log["data"])
    except OutOfSearchSpace as exc:
        raise CorruptInput(display, str(exc)) from None
    lists = []
    length = None
    for key in LIST_KEYS:
        values = log[key]
        if not isinstance(values, list):
            raise CorruptInput(display, f"{key!r} must be a list (one value per epoch): got {type(values).__name__}")
        if length is None:
            length = len(values)
        elif len(values) != length:
            raise CorruptInput(display, f"{key!r} has {len(values)} epochs but {LIST_KEYS[0]!r} has {length}")
        if set(map(type, values)) <= _FLOAT_TYPES:
            lists.append(values)  # as read: SQLite binds a NaN double as NULL
        else:  # ints (bound to a double's range), null, strings, bools...: each value checked, named when wrong
            lists.append([_number(v, key, i, display) for i, v in enumerate(values)])
    if length >= NLP_EPOCH_ID_BASE:
        raise CorruptInput(display, f"{length} epochs logged, over the limit of {NLP_EPOCH_ID_BASE - 1}")
    init_time = log.get("init_time")
    if init_time is not None and not isinstance(init_time, str):
        raise CorruptInput(display, f"'init_time' = {short_repr(init_time)} is not a string")
    hyperparameters = {k: v for k, v in log.items() if k not in RESULT_KEYS}
    return ParsedLog(flat, space.flat_json(flat), dataset, status, tuple(lists),
                     _optional_int(log, "recepie_id", display), _optional_int(log, "experiment_id", display),
                     init_time, _optional_int(log, "num_params", display), _optional_int(log, "epochs", display),
                     json.dumps(hyperparameters, sort_keys=True, default=str))


class _Loader:
    """Assigns ids (configs in order of first appearance, runs in input order) and writes rows in batches."""

    def __init__(self, conn):
        self.conn = conn
        self.config_ids: dict[tuple, int] = {}
        self.configs, self.trials = [], []
        self.trial_id = 0
        self.epochs = 0
        self.statuses: Counter = Counter()
        self.datasets: Counter = Counter()

    def add(self, parsed: ParsedLog, source_id: int, log_name: str) -> None:
        key = (parsed.arch_json, parsed.dataset)
        config_id = self.config_ids.get(key)
        if config_id is None:
            config_id = len(self.config_ids) + 1
            self.config_ids[key] = config_id
            self.configs.append((config_id, parsed.arch_json, parsed.dataset))
        self.trial_id += 1
        trial_id = self.trial_id
        train, val, test, times = parsed.lists
        count = len(times)
        last = (lambda values: _finite_or_none(values[-1]) if values else None)
        known = [t for t in times if t is not None and t == t]
        total = math.fsum(known) if known else None
        self.trials.append((trial_id, config_id, source_id, log_name, parsed.status, parsed.recipe_id,
                            parsed.experiment_id, parsed.init_time, parsed.num_params, parsed.epochs, count,
                            last(train), last(val), last(test), last(times), total, parsed.hyperparameters))
        self.conn.executemany(_EPOCH_SQL, zip([trial_id] * count, range(1, count + 1), train, val, test, times))
        self.epochs += count
        self.statuses[parsed.status] += 1
        self.datasets[parsed.dataset] += 1
        if len(self.trials) >= BATCH_TRIALS:
            self.flush()

    def flush(self) -> None:
        self.conn.executemany(_CONFIG_SQL, self.configs)
        self.conn.executemany(_TRIAL_SQL, self.trials)
        self.configs.clear()
        self.trials.clear()


def _refuse_replacing_nni_file(db_dir, replace_nni: bool) -> None:
    if _db.database_url() and db_dir is None:
        return
    final = _db.database_path("nlp", db_dir)
    if final.is_file() and not replace_nni and _db.sniff_layout(final) == "nni":
        raise NasbenchDbError(f"{final} is NNI's own nlp.db (NNI's tables, same file name): converting would replace "
                              "it. Convert into another directory (--db-dir), move NNI's file away, or pass "
                              "--replace-nni-file (replace_nni=True)")


def convert_nlp(paths, db_dir=None, duplicates: str = "first", progress: bool | None = None,
                replace_nni: bool = False) -> NlpReport:
    """Convert NAS-Bench-NLP logs into ``<db_dir>/nlp.db`` (swapped in when complete).

    :param paths: one path or a list: ``logs.zip`` archives, folders of ``log_stats_model_*.json`` files, or single
        logs. All are converted together into one database (it replaces any previous one): give every archive you
        want, e.g. the PTB single-run, PTB multi-run and WikiText-2 logs.
    :param duplicates: 'first' keeps the first copy of a log file name met (inputs in the order given, like
        answering "no to all" to NNI's unzip), 'last' the last ("replace all").
    :param replace_nni: allow replacing NNI's own ``nlp.db`` (same file name) in ``db_dir``.
    Raises :class:`CorruptInput` naming the file, the log and the reason; an existing database is left untouched.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise NasbenchDbError("no input given: pass NAS-Bench-NLP logs.zip archives or folders of logs")
    if duplicates not in DUPLICATE_POLICIES:
        raise NasbenchDbError(f"duplicates must be 'first' or 'last': got {duplicates!r}")
    started = time.perf_counter()
    _refuse_replacing_nni_file(db_dir, replace_nni)
    archives: list = []
    report = NlpReport(duplicate_policy=duplicates)
    bar = None
    try:
        summaries, members = _open_inputs(paths, archives)
        report.inputs = summaries
        kept, dropped = _choose(members, duplicates)
        for keep, drop in dropped:
            same = hashlib.sha256(keep.read()).digest() == hashlib.sha256(drop.read()).digest()
            if same:
                report.duplicates_identical += 1
            else:
                report.duplicates_differing += 1
                if len(report.differing_names) < 10:
                    report.differing_names.append(keep.name)
        for summary, path in zip(summaries, paths):
            if summary.kind != "directory":
                summary.sha256 = known_or_hashed_sha256(path)
        show = sys.stderr.isatty() if progress is None else progress
        if show:
            from tqdm import tqdm

            bar = tqdm(total=len(kept), unit="log", desc="nlp", file=sys.stderr)
        with _build.DatabaseBuild("nlp", db_dir) as build:
            build.create_tables([NlpTrialConfig, NlpTrial, NlpEpoch])  # nlp_epoch is WITHOUT ROWID (clustered)
            conn = build.connection
            source_ids = [build.add_source("original", path, CONVERTER_NAME, summary.sha256)
                          for path, summary in zip(paths, summaries)]
            conn.execute("BEGIN")
            loader = _Loader(conn)
            for member in kept:
                log = loads_json(member.read(), member.display)
                parsed = parse_log(log, member.display)
                loader.add(parsed, source_ids[member.input_index], member.name)
                summaries[member.input_index].converted += 1
                if bar is not None:
                    bar.update(1)
            loader.flush()
            report.configs = len(loader.config_ids)
            report.trials = loader.trial_id
            report.epochs = loader.epochs
            report.statuses = dict(loader.statuses)
            report.datasets = dict(loader.datasets)
            report.unknown_datasets = sorted(set(loader.datasets) - set(space.DATASETS))
            duplicate_details = {"policy": duplicates, "identical": report.duplicates_identical,
                                 "differing": report.duplicates_differing, "differing_names": report.differing_names}
            for source_id, summary in zip(source_ids, summaries):
                build.set_source_counts(
                    source_id, {"nlp_trial": summary.converted},
                    details={"logs": summary.logs, "converted": summary.converted, "kind": summary.kind,
                             "ignored": summary.ignored[:100], "duplicates": duplicate_details,
                             "totals": {"nlptrialconfig": report.configs, "nlp_trial": report.trials,
                                        "nlp_epoch": report.epochs, "status": report.statuses}})
            conn.execute("COMMIT")
            final = build.finish(views=NLP_VIEWS)
    finally:
        if bar is not None:
            bar.close()
        for archive in archives:
            archive.close()
    report.database = str(final)
    report.seconds = time.perf_counter() - started
    return report
