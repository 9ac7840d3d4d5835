"""Convert NAS-Bench-Suite-Zero zero-cost proxy files (NASLib's ``zc_<space>.json``) for the NB-101 and NB-201
spaces into tables ``zc_nb101_*`` / ``zc_nb201_*`` (see :mod:`nasbench_db.models`).

Layouts read (the file is JSON, read whole through :func:`nasbench_db.limits.loads_json`):

* ``{dataset: {arch_key: record}}`` (NASLib's ``zc_nasbench201.json``, ``zc_nasbench101.json``): the space comes from
  ``space=``, else the file name (``nasbench101`` / ``nasbench201``), else the keys (6 entries: NB-201);
* ``{space: {dataset: {arch_key: record}}}`` with spaces ``nasbench101`` / ``nasbench201`` (other spaces of the
  suite are skipped and reported).

A record is ``{"idx": ..., "arch": ..., "<proxy>": {"score": s, "time": t}, ..., "val_accuracy": a}``; a proxy may
also be a bare number (no time). The architecture is identified by its key only (``idx`` is NASLib's sample number,
kept as ``naslib_idx``), as NASLib builds it (``str(tuple(graph.get_hash()))``):

* NB-201: 6 NASLib op indices (0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3) in NASLib's
  edge order, mapped to the NB-201 index by :func:`nasbench_db.spaces.nb201.from_naslib`;
* NB-101: the flattened adjacency matrix then op indices into [input, output, maxpool3x3, conv1x1-bn-relu,
  conv3x3-bn-relu], pruned and hashed like the benchmark (:func:`nasbench_db.spaces.nb101.from_naslib_tuple`).

NASLib's ``flops`` and ``params`` proxies are kept as proxies under their own names (NASLib's ``flops`` counts BN, ReLU
and pooling layers, so it is not the benchmark's ``flops``). Datasets are stored lower-case (``imagenet16-120``).
The whole file is checked before anything is written; its rows then replace earlier rows of the same (dataset,
proxy) pairs (and the records of the same cells), in one transaction per database.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CorruptInput, InvalidArgument, OutOfSearchSpace
from ..limits import MAX_JSON_BYTES, as_float, loads_json, short_repr
from ..models import ZcNb101Record, ZcNb101Score, ZcNb201Record, ZcNb201Score
from ..spaces import nb101 as nb101_space
from ..spaces import nb201 as nb201_space
from . import joined

CONVERTER = "zc-json"
KIND = "zc"
WHAT = "zero-cost proxy JSON (NAS-Bench-Suite-Zero zc_<space>.json)"
#: NASLib's space names (and ours) -> the benchmark whose database takes them
SPACES = {"nasbench101": "nb101", "nb101": "nb101", "nasbench201": "nb201", "nb201": "nb201"}
#: record fields that are not proxies
RECORD_FIELDS = ("idx", "arch", "val_accuracy")
#: proxy names become column names of the analysis functions: plain identifiers only
_PROXY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_KEY = re.compile(r"^\(\s*(-?\d{1,18}\s*(,\s*-?\d{1,18}\s*)*,?)?\)$")
#: NASLib's NB-101 keys (49 adjacency entries and 7 ops) are ~170 characters, NB-201's 18.
MAX_KEY_CHARS = 1024


@dataclass
class SpaceReport:
    benchmark: str
    database: str = ""
    datasets: dict = field(default_factory=dict)  # dataset -> cells
    proxies: list = field(default_factory=list)
    scores: int = 0
    duplicates: int = 0
    installed: int | None = None  # records whose architecture the installed benchmark holds


@dataclass
class ZcReport:
    path: str
    sha256: str = ""
    spaces: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    def summary(self) -> str:
        lines = []
        for space in self.spaces:
            datasets = ", ".join(f"{d}: {n:,} cells" for d, n in space.datasets.items())
            line = (f"loaded {Path(self.path).name} ({space.benchmark}) into {space.database}: {space.scores:,} scores "
                    f"of {len(space.proxies)} proxies ({datasets})")
            if space.duplicates:
                line += (f"; {space.duplicates} keys are further labelled forms of cells already read (kept as forms "
                         "1, 2...; joins read each cell's first form)")
            if space.installed is None:
                line += f"; {space.benchmark} results are not installed yet: the scores join them once converted"
            else:
                line += f"; {space.installed:,} (cell, dataset) records join installed {space.benchmark} cells"
            lines.append(line)
        if self.skipped:
            lines.append("skipped spaces (not in this database): " + ", ".join(self.skipped))
        return "\n".join(lines)


def _is_key(text) -> bool:
    return isinstance(text, str) and text.strip().startswith("(")


def parse_key(path, key: str, where: str) -> tuple:
    """NASLib's ``str(tuple(...))`` key as a tuple of ints (at most :data:`MAX_KEY_CHARS` characters, each number at
    most 18 digits: a longer key is no cell of either space)."""
    if isinstance(key, str) and len(key) > MAX_KEY_CHARS:
        raise CorruptInput(path, f"{where}: an arch key of {len(key):,} characters (at most {MAX_KEY_CHARS}): not a "
                                 "NASLib key")
    match = _KEY.match(key.strip()) if isinstance(key, str) else None
    if match is None:
        raise CorruptInput(path, f"{where}: arch key {key!r:.80} is not a NASLib tuple of integers such as "
                                 "'(0, 2, 3, 2, 3, 1)'")
    body = match.group(1) or ""
    return tuple(int(part) for part in body.split(",") if part.strip())


def _space_from_name(path: Path):
    name = path.name.lower()
    for token, benchmark in (("nasbench101", "nb101"), ("nb101", "nb101"), ("nasbench201", "nb201"),
                             ("nb201", "nb201")):
        if token in name:
            return benchmark
    return None


def _number(path, value, where: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CorruptInput(path, f"{where}: expected a number, got {type(value).__name__} {short_repr(value)}")
    try:
        value = as_float(value, where, allow_inf=True)  # an int too large for a double is refused
    except ValueError as exc:
        raise CorruptInput(path, str(exc)) from None
    return None if math.isnan(value) else value


def split_spaces(path: Path, doc, space: str | None) -> tuple[dict, list]:
    """``({benchmark: {dataset: {key: record}}}, skipped space names)`` for either layout."""
    if not isinstance(doc, dict) or not doc:
        raise CorruptInput(path, "expected a JSON object {dataset: {arch key: record}} or {space: {dataset: ...}}")
    for name, value in doc.items():
        if not isinstance(value, dict):
            raise CorruptInput(path, f"[{short_repr(name)}]: expected an object, got {type(value).__name__}")
    flat = any(_is_key(key) for value in doc.values() for key in value)
    if flat:
        benchmark = space or _space_from_name(path)
        if benchmark is None:
            lengths = {len(parse_key(path, key, f"[{short_repr(name)}]"))
                       for name, value in doc.items() for key in value}
            benchmark = "nb201" if lengths == {nb201_space.NUM_EDGES} else "nb101"
        return {benchmark: doc}, []
    out, skipped = {}, []
    for name, datasets in doc.items():
        benchmark = SPACES.get(name)
        if benchmark is None:
            skipped.append(name)
            continue
        if space is not None and benchmark != space:
            skipped.append(name)
            continue
        for dataset, records in datasets.items():
            if not isinstance(records, dict):
                raise CorruptInput(path, f"[{short_repr(name)}][{short_repr(dataset)}]: expected an object of records")
        out.setdefault(benchmark, {}).update(datasets)
    if not out:
        raise CorruptInput(path, f"no NB-101 or NB-201 space in the file (found {short_repr(sorted(map(str, doc)))}): "
                                 "expected nasbench101 / nasbench201")
    return out, skipped


def _arch_of(path, benchmark: str, key: str, where: str):
    values = parse_key(path, key, where)
    try:
        if benchmark == "nb201":
            return nb201_space.index_of(nb201_space.from_naslib(values))
        matrix, ops = nb101_space.from_naslib_tuple(values)
        return nb101_space.canonical(matrix, ops, checked=True)[2]
    except OutOfSearchSpace as exc:
        raise CorruptInput(path, f"{where}: arch key {short_repr(key)} is not an {benchmark.upper()} cell: "
                                 f"{exc}") from None


def parse_space(path, benchmark: str, datasets: dict) -> tuple[list, list, SpaceReport]:
    """Score and record rows (source ids left as None) of one space's datasets."""
    report = SpaceReport(benchmark)
    scores, records = [], []
    for file_dataset, entries in datasets.items():
        if not isinstance(file_dataset, str):
            raise CorruptInput(path, f"dataset names must be strings: got {short_repr(file_dataset)}")
        dataset = file_dataset.lower()
        seen: dict = {}  # cell -> its last form
        for key, record in entries.items():
            where = f"[{short_repr(file_dataset)}][{short_repr(key)}]"
            if not isinstance(record, dict):
                raise CorruptInput(path, f"{where}: expected a record object, got {type(record).__name__}")
            arch = _arch_of(path, benchmark, key, where)
            form = seen.get(arch, -1) + 1
            seen[arch] = form
            if form:
                report.duplicates += 1  # NB-101 only: NB-201 keys are distinct cells
            idx = record.get("idx")
            cell = (arch, form) if benchmark == "nb101" else (arch,)
            record_row = [*cell, dataset, None if idx is None else str(idx),
                          _number(path, record.get("val_accuracy"), f"{where}['val_accuracy']"), None]
            if benchmark == "nb101":
                record_row.insert(3, key)
            if benchmark == "nb101" or record_row[-3] is not None or record_row[-2] is not None:
                records.append(tuple(record_row))  # (an NB-201 record without idx / accuracy says nothing)
            for proxy, value in record.items():
                if proxy in RECORD_FIELDS:
                    continue
                if not isinstance(proxy, str) or not _PROXY.match(proxy):
                    raise CorruptInput(path, f"{where}: {proxy!r:.80} is not a proxy name (letters, digits, '_', '.', "
                                             "'-'; at most 64)")
                if isinstance(value, dict):
                    unknown = set(value) - {"score", "time"}
                    if "score" not in value or unknown:
                        raise CorruptInput(path, f"{where}[{short_repr(proxy)}]: expected "
                                                 f"{{'score': ..., 'time': ...}}, got "
                                                 f"keys {short_repr(sorted(map(str, value)))}")
                    score = _number(path, value["score"], f"{where}[{short_repr(proxy)}]['score']")
                    seconds = _number(path, value.get("time"), f"{where}[{short_repr(proxy)}]['time']")
                else:
                    score = _number(path, value, f"{where}[{short_repr(proxy)}]")
                    seconds = None
                scores.append((*cell, dataset, proxy, score, seconds, None))
                if proxy not in report.proxies:
                    report.proxies.append(proxy)
        report.datasets[dataset] = len(seen)
    report.scores = len(scores)
    return scores, records, report


TABLES = {"nb201": (ZcNb201Score, ZcNb201Record), "nb101": (ZcNb101Score, ZcNb101Record)}
ARCH_COLUMN = {"nb201": "arch_index", "nb101": "hash"}
ARCH_TABLE = {"nb201": ("nb201_arch", "id"), "nb101": ("nb101_arch", "hash")}


def _write(path: Path, benchmark: str, scores: list, records: list, report: SpaceReport, sha256: str,
           db_dir) -> None:
    score_model, record_model = TABLES[benchmark]
    score_table, record_table = score_model._meta.table_name, record_model._meta.table_name
    arch = ARCH_COLUMN[benchmark]
    cell = (arch,) if benchmark == "nb201" else (arch, "form")
    score_columns = (*cell, "dataset", "proxy", "score", "time", "source_id")
    record_columns = ((*cell, "dataset", "naslib_idx", "val_accuracy", "source_id") if benchmark == "nb201" else
                      (*cell, "dataset", "naslib_key", "naslib_idx", "val_accuracy", "source_id"))
    conn, where = joined.connect(benchmark, db_dir)
    report.database = str(where)
    try:
        with joined.transaction(conn):
            at = len(cell)
            pairs = sorted({(row[at], row[at + 1]) for row in scores})
            for dataset, proxy in pairs:
                conn.execute(f"DELETE FROM {score_table} WHERE dataset = ? AND proxy = ?", (dataset, proxy))
            keys = " AND ".join(f"{column} = ?" for column in (*cell, "dataset"))
            conn.executemany(f"DELETE FROM {record_table} WHERE {keys}", [row[:at + 1] for row in records])
            joined.drop_unused_sources(conn, benchmark, KIND, (score_table, record_table))
            details = {"datasets": report.datasets, "proxies": report.proxies, "duplicates": report.duplicates}
            source_id = joined.add_source(conn, benchmark, KIND, path, CONVERTER, sha256, path.stat().st_size,
                                          {score_table: len(scores), record_table: len(records)}, details)
            joined.insert_many(conn, score_table, score_columns, (row[:-1] + (source_id,) for row in scores))
            joined.insert_many(conn, record_table, record_columns, (row[:-1] + (source_id,) for row in records))
            table, column = ARCH_TABLE[benchmark]
            if conn.execute(f"SELECT 1 FROM {table} WHERE 1 = 1 LIMIT 1").fetchone():
                first = " AND r.form = 0" if benchmark == "nb101" else ""
                report.installed = conn.execute(
                    f"SELECT COUNT(*) FROM {record_table} r WHERE r.source_id = ?{first} AND EXISTS "
                    f"(SELECT 1 FROM {table} a WHERE a.{column} = r.{arch})", (source_id,)).fetchone()[0]
    finally:
        joined.release(conn)


def convert_zc(path, db_dir=None, space: str | None = None) -> ZcReport:
    """Load a zero-cost proxy file (see the module docstring); ``space``: 'nb101' or 'nb201' to force the space of a
    ``{dataset: ...}`` file (or pick one space of a ``{space: ...}`` file)."""
    path = Path(path)
    if space is not None:
        if SPACES.get(space) is None:
            raise InvalidArgument(f"unknown space {space!r}: expected nb101 or nb201 (nasbench101 / nasbench201)")
        space = SPACES[space]
    data, sha256 = joined.read_input(path, MAX_JSON_BYTES, WHAT)
    doc = loads_json(data, path)
    del data
    spaces, skipped = split_spaces(path, doc, space)
    report = ZcReport(path=str(path), sha256=sha256, skipped=skipped)
    parsed = []
    for benchmark, datasets in spaces.items():
        scores, records, space_report = parse_space(path, benchmark, datasets)
        if not scores and not records:
            raise CorruptInput(path, f"the {benchmark} part of the file holds no records")
        parsed.append((benchmark, scores, records, space_report))
    for benchmark, scores, records, space_report in parsed:
        _write(path, benchmark, scores, records, space_report, sha256, db_dir)
        report.spaces.append(space_report)
    return report
