"""One set of limits for every reader of untrusted input, enforced before anything is allocated.

Benchmark files come from mirrors, caches and colleagues: a reader must treat each one as hostile. Every converter
(TFRecord JSON rows, pickles, bz2 and zip members, NDS / NLP / zero-cost JSON, training results) reads through these
helpers, so a bomb or a 100,000-level nesting gives a :class:`~nasbench_db.errors.CorruptInput` naming the file and
the position instead of a ``MemoryError``, a ``RecursionError`` or a hang.

The limits are generous for the real files (the largest real value of each kind is given beside it) and small enough
that a hostile file costs at most a few hundred MB and seconds. This module imports nothing of the project but
:mod:`nasbench_db.errors`.
"""

from __future__ import annotations

import bz2
import json
import zipfile

from .errors import CorruptInput

#: Deepest nesting of containers accepted in a JSON document or a pickle (real files: <= 8).
MAX_NESTING = 64
#: Largest JSON document read whole (a training result, an NLP log, a TFRecord JSON row, a zero-cost file:
#: real files are <= 20 MB; NDS sweep files are streamed item by item and bound each item by the same figure).
MAX_JSON_BYTES = 256 << 20
#: Largest archive member (bz2 or zip) decompressed whole into memory (real NATS per-arch pickles: ~1.5 MB).
MAX_MEMBER_BYTES = 256 << 20
#: Largest single value (str/bytes) a stream reader materialises (real pickles: a few KB).
MAX_VALUE_BYTES = 64 << 20
#: Largest element count of one container literal built by a reader (real: 200 epochs x a few keys).
MAX_CONTAINER_ITEMS = 10_000_000


def _where(path, position) -> tuple:
    """(record, offset) arguments of CorruptInput for a position that is a byte offset (int) or a label (str)."""
    if position is None:
        return None, None
    if isinstance(position, int):
        return None, position
    return position, None


def check_declared_length(path, length: int, limit: int, what: str, position=None) -> int:
    """Refuse a length field larger than ``limit`` before anything of that size is allocated or read."""
    if length < 0 or length > limit:
        record, offset = _where(path, position)
        raise CorruptInput(path, f"{what} declares {length:,} bytes, over the limit of {limit:,}: the file is "
                                 "corrupt or hostile; re-download it from the original source", record, offset)
    return length


def check_nesting(value, path, position=None, max_depth: int = MAX_NESTING) -> None:
    """Walk ``value`` (dicts, lists, tuples) iteratively and refuse nesting deeper than ``max_depth``."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > max_depth:
            record, offset = _where(path, position)
            raise CorruptInput(path, f"containers nested deeper than {max_depth} levels: not a benchmark file",
                               record, offset)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list, tuple)))


def loads_json(data, path, position=None, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_NESTING):
    """``json.loads`` with the size checked first and the nesting bounded; any failure is a CorruptInput.

    ``data`` is str or bytes; ``position`` (a byte offset or a label such as ``'record 12'`` / a member name) goes
    into the error message.
    """
    record, offset = _where(path, position)
    if len(data) > max_bytes:
        raise CorruptInput(path, f"JSON document of {len(data):,} bytes, over the limit of {max_bytes:,}",
                           record, offset)
    try:
        value = json.loads(data)
    except RecursionError:
        raise CorruptInput(path, f"JSON nested deeper than {max_depth} levels: not a benchmark file",
                           record, offset) from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise CorruptInput(path, f"not valid JSON ({exc})", record, offset) from None
    check_nesting(value, path, position, max_depth)
    return value


def read_limited(stream, limit: int, path, what: str, position=None) -> bytes:
    """Read ``stream`` to its end, refusing (without reading it all) anything longer than ``limit`` bytes."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        record, offset = _where(path, position)
        raise CorruptInput(path, f"{what} is larger than the limit of {limit:,} bytes once decompressed: a "
                                 "decompression bomb or not a benchmark file", record, offset)
    return data


def bz2_decompress(raw: bytes, path, position=None, limit: int = MAX_MEMBER_BYTES) -> bytes:
    """Decompress a whole bz2 stream (possibly several concatenated), never producing more than ``limit`` bytes."""
    record, offset = _where(path, position)
    out = []
    produced = 0
    data = raw
    while True:
        decompressor = bz2.BZ2Decompressor()
        try:
            chunk = decompressor.decompress(data, max_length=limit - produced + 1)
            produced += len(chunk)
            out.append(chunk)
            while produced <= limit and not decompressor.eof and not decompressor.needs_input:
                chunk = decompressor.decompress(b"", max_length=limit - produced + 1)
                produced += len(chunk)
                out.append(chunk)
        except (OSError, ValueError, EOFError) as exc:
            raise CorruptInput(path, f"invalid bz2 data ({exc})", record, offset) from None
        if produced > limit:
            raise CorruptInput(path, f"bz2 data expands beyond the limit of {limit:,} bytes: a decompression bomb "
                                     "or not a benchmark file", record, offset)
        if not decompressor.eof:
            raise CorruptInput(path, "truncated bz2 data: re-download the file", record, offset)
        data = decompressor.unused_data
        if not data:
            return b"".join(out)


def read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path, limit: int = MAX_MEMBER_BYTES) -> bytes:
    """Read one zip member whole: its declared size is checked first and the actual output is capped too."""
    check_declared_length(path, info.file_size, limit, f"zip member {info.filename}", info.filename)
    try:
        with archive.open(info) as member:
            return read_limited(member, limit, path, f"zip member {info.filename}", info.filename)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise CorruptInput(path, f"zip member {info.filename} cannot be read ({exc})", info.filename) from None
