"""One set of limits for every reader of untrusted input, enforced before anything is allocated.

Benchmark files come from mirrors, caches and colleagues: a reader must treat each one as hostile. Every converter
(TFRecord JSON rows, pickles, bz2 and zip members, NDS / NLP / zero-cost JSON, training results) reads through these
helpers, so a bomb or a 100,000-level nesting gives a :class:`~nasbench_db.errors.CorruptInput` naming the file and
the position instead of a ``MemoryError``, a ``RecursionError``, a hang or gigabytes of memory.

The limits are generous for the real files (the largest real value of each kind is given beside it) and small enough
that a hostile file costs at most a few hundred MB and time proportional to its own size. ``docs/hostile_input.md``
lists them with the trust model. This module imports nothing of the project but :mod:`nasbench_db.errors`.
"""

from __future__ import annotations

import bz2
import json
import math
import reprlib
import zipfile
import zlib

from .errors import CorruptInput

# ---------------------------------------------------------------------------------------------------------------------
# The limits

#: Deepest nesting of containers accepted in a JSON document or a pickle record (real files: <= 8).
MAX_NESTING = 64
#: Largest JSON document read whole (a training result, an NLP log, a zero-cost proxy file: real files are
#: <= 40 MB; NDS sweep files are streamed job by job, see :data:`MAX_JSON_ITEM_BYTES`).
MAX_JSON_BYTES = 64 << 20
#: Largest item of a streamed JSON list (one NDS training job: real jobs are <= 100 KB).
MAX_JSON_ITEM_BYTES = 16 << 20
#: Largest JSON row inside a TFRecord record (an NB-101 / EC-NAS training run: real rows are ~1.5 KB).
MAX_ROW_JSON_BYTES = 1 << 20
#: Largest TFRecord record accepted by the framing reader (real NB-101 records: ~1.5 KB).
MAX_RECORD_BYTES = 16 << 20
#: Estimated memory of the Python objects a JSON document builds (see :func:`json_build_estimate`).
MAX_JSON_BUILD_BYTES = 1 << 30
#: Largest archive member (bz2 or zip) decompressed whole into memory (real NATS per-arch pickles: <= 1.5 MB).
MAX_MEMBER_BYTES = 64 << 20
#: Largest expansion of a compressed stream read incrementally (bz2 .pbz2, zip members): the output may be at most
#: this many times the compressed bytes read, plus :data:`EXPANSION_SLACK_BYTES` (real files: <= 10x).
MAX_EXPANSION_RATIO = 200
EXPANSION_SLACK_BYTES = 1 << 20
#: Largest single value (str/bytes) a stream reader materialises (real pickles: a few KB).
MAX_VALUE_BYTES = 64 << 20
#: Largest text argument of a pickle opcode (GLOBAL names, text INT/FLOAT/STRING...: real ones are < 100 bytes).
MAX_LINE_BYTES = 64 << 10
#: Largest integer of a pickle (LONG1/LONG4), in bytes: int64 and its sign byte. Larger ones are no benchmark value
#: and would let a file flood dict hashes (ints hash modulo 2**61 - 1).
MAX_INT_BYTES = 9
#: Estimated memory of the objects a streamed pickle keeps alive outside the architecture records it hands over
#: (stack, memo, top-level containers; real files: < 20 MB). The reader stops a file that builds more.
MAX_PICKLE_LIVE_BYTES = 384 << 20
#: Largest element count of one container literal built by a reader (real: 200 epochs x a few keys).
MAX_CONTAINER_ITEMS = 10_000_000
#: Largest epoch budget a record may claim (real: 108 for NB-101, 200 for NB-201; a loop runs per epoch).
MAX_EPOCHS = 100_000
#: The integer range SQLite (and PostgreSQL's BIGINT) can store.
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

#: How a Git LFS pointer file starts (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md).
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"
#: LFS pointers are small text files (the spec caps them at 1024 bytes).
LFS_POINTER_MAX_BYTES = 1024


# ---------------------------------------------------------------------------------------------------------------------
# Messages


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 6


def short_repr(value) -> str:
    """A bounded ``repr`` for error messages: never deep (no RecursionError), never megabytes long."""
    try:
        return _REPR.repr(value)
    except Exception:  # a hostile object's repr may fail in any way
        return f"<{type(value).__name__}>"


def _where(path, position) -> tuple:
    """(record, offset) arguments of CorruptInput for a position that is a byte offset (int) or a label (str)."""
    if position is None:
        return None, None
    if isinstance(position, int):
        return None, position
    return position, None


# ---------------------------------------------------------------------------------------------------------------------
# Lengths, nesting, numbers


def check_declared_length(path, length: int, limit: int, what: str, position=None) -> int:
    """Refuse a length field larger than ``limit`` before anything of that size is allocated or read."""
    if length < 0 or length > limit:
        record, offset = _where(path, position)
        raise CorruptInput(path, f"{what} declares {length:,} bytes, over the limit of {limit:,}: the file is "
                                 "corrupt or hostile; re-download it from the original source", record, offset)
    return length


_CONTAINERS = (dict, list, tuple, set, frozenset)


def _child_containers(item) -> list:
    """The containers directly inside ``item`` (dict keys included when they are not plain scalars); leaves cost no
    Python loop (their types are collected at C speed)."""
    if isinstance(item, dict):
        groups = (item.values(), item.keys())
    else:
        groups = (item,)
    found = []
    for group in groups:
        if any(issubclass(kind, _CONTAINERS) for kind in set(map(type, group))):
            found.extend(child for child in group if isinstance(child, _CONTAINERS))
    return found


def nesting_error(value, max_depth: int = MAX_NESTING) -> str | None:
    """None when ``value`` nests containers at most ``max_depth`` deep, else what is wrong.

    The depth is the longest path (what ``repr``, ``==`` or ``copy.deepcopy`` would recurse through), computed
    without recursion in one pass over the containers, each visited once however often it is shared; a cycle is
    refused too.
    """
    heights: dict = {}  # id -> levels of containers from it down (1: holds no container)
    ancestors: set = set()
    stack = [(value, False)]
    while stack:
        item, children_done = stack.pop()
        key = id(item)
        if children_done:
            ancestors.discard(key)
            height = 1 + max((heights[id(child)] for child in _child_containers(item)), default=0)
            if height > max_depth:
                return f"containers nested deeper than {max_depth} levels: not a benchmark file"
            heights[key] = height
            continue
        if key in heights or not isinstance(item, _CONTAINERS):
            continue
        if key in ancestors:
            return "a container that contains itself (a cycle): not a benchmark file"
        ancestors.add(key)
        stack.append((item, True))
        stack.extend((child, False) for child in _child_containers(item) if id(child) not in heights)
    return None


def json_nesting_error(value, max_depth: int = MAX_NESTING) -> str | None:
    """:func:`nesting_error` for what ``json.loads`` returns: a tree of dicts and lists (no sharing, no cycle), walked
    one level at a time. Memory: one level's references (8 bytes a container), time: a type check per value; the
    general walk's bookkeeping (a dict entry per container) would double the memory of a document of small objects."""
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return f"containers nested deeper than {max_depth} levels: not a benchmark file"
        below = []
        push = below.append
        for item in level:
            for child in (item.values() if type(item) is dict else item):
                if type(child) is dict or type(child) is list:
                    push(child)
        level = below
    return None


def check_nesting(value, path, position=None, max_depth: int = MAX_NESTING) -> None:
    """Refuse ``value`` (dicts, lists, tuples, sets) nesting deeper than ``max_depth``, as a CorruptInput."""
    problem = nesting_error(value, max_depth)
    if problem is not None:
        record, offset = _where(path, position)
        raise CorruptInput(path, problem, record, offset)


def as_int64(value, what: str, minimum: int = INT64_MIN, maximum: int = INT64_MAX) -> int:
    """``value`` as an int that SQL can store, within ``[minimum, maximum]``; ValueError naming ``what`` otherwise.

    bools and floats are refused (a seed of ``True`` or ``12.5`` is no seed); numpy integers are accepted.
    """
    if isinstance(value, bool) or isinstance(value, float) or not hasattr(value, "__index__"):
        raise ValueError(f"{what} must be an integer: got {short_repr(value)}")
    number = value.__index__()
    if not minimum <= number <= maximum:
        raise ValueError(f"{what} = {short_repr(number)} is out of range {minimum:,}..{maximum:,}")
    return number


def as_float(value, what: str, allow_nan: bool = True, allow_inf: bool = False) -> float:
    """``value`` (an int, a float or a numpy number) as a float; ValueError naming ``what`` otherwise.

    An int too large for a double, a bool, a string or (unless allowed) an infinity is refused.
    """
    if isinstance(value, bool) or isinstance(value, (str, bytes)):
        raise ValueError(f"{what} must be a number: got {short_repr(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} must be a number that fits a double: got {short_repr(value)}") from None
    if number != number and not allow_nan:
        raise ValueError(f"{what} is NaN")
    if math.isinf(number) and not allow_inf:
        raise ValueError(f"{what} is infinite")
    return number


# ---------------------------------------------------------------------------------------------------------------------
# JSON


def json_build_estimate(data) -> int:
    """An upper estimate (bytes) of the memory ``json.loads(data)`` builds, from counts taken at C speed.

    Calibrated on the worst shapes per byte (``[[],[],...]``, ``[{},...]``, ``["ab",...]``, ``[1e5,...]``): the
    estimate is 1.1-1.7x what they really take; real result files are overestimated ~4x.
    """
    if isinstance(data, str):
        counts = (data.count("{") + data.count("["), data.count('"'), data.count(":"))
    else:
        counts = (data.count(b"{") + data.count(b"["), data.count(b'"'), data.count(b":"))
    return 12 * len(data) + 72 * counts[0] + 28 * counts[1] + 40 * counts[2]


def loads_json(data, path, position=None, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_NESTING):
    """``json.loads`` with the size and the memory it would build checked first and the nesting bounded; any
    failure is a CorruptInput.

    ``data`` is str or bytes; ``position`` (a byte offset or a label such as ``'record 12'`` / a member name) goes
    into the error message.
    """
    record, offset = _where(path, position)
    if len(data) > max_bytes:
        raise CorruptInput(path, f"JSON document of {len(data):,} bytes, over the limit of {max_bytes:,}",
                           record, offset)
    estimate = json_build_estimate(data)
    if estimate > MAX_JSON_BUILD_BYTES:
        raise CorruptInput(path, f"JSON document would build ~{estimate >> 20:,} MB of objects, over the limit of "
                                 f"{MAX_JSON_BUILD_BYTES >> 20:,} MB: a JSON bomb or not a benchmark file",
                           record, offset)
    try:
        value = json.loads(data)
    except RecursionError:
        raise CorruptInput(path, f"JSON nested deeper than {max_depth} levels: not a benchmark file",
                           record, offset) from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        head = data[:LFS_POINTER_MAX_BYTES]
        lfs = lfs_pointer_error(head.encode("utf-8", "replace") if isinstance(head, str) else head, path)
        if lfs is not None:
            raise lfs from None
        raise CorruptInput(path, f"not valid JSON ({str(exc)[:300]})", record, offset) from None
    problem = json_nesting_error(value, max_depth)
    if problem is not None:
        raise CorruptInput(path, problem, record, offset)
    return value


# ---------------------------------------------------------------------------------------------------------------------
# Compressed data


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


class ExpansionGuard:
    """Counts the compressed bytes going into a decompressor and the bytes coming out; refuses an output larger than
    :data:`MAX_EXPANSION_RATIO` times the input (plus a slack): a small file never makes a reader work for hours.

    ``compressed`` is a file object whose reads are counted; :meth:`check` takes the output total.
    """

    def __init__(self, compressed, path, what: str, ratio: int = MAX_EXPANSION_RATIO,
                 slack: int = EXPANSION_SLACK_BYTES):
        self.compressed = compressed
        self.path = path
        self.what = what
        self.ratio = ratio
        self.slack = slack
        self.consumed = 0
        self.produced = 0

    def read(self, n=-1):
        data = self.compressed.read(n)
        self.consumed += len(data)
        return data

    def readinto(self, buffer):
        count = self.compressed.readinto(buffer)
        self.consumed += count or 0
        return count

    def readable(self):
        return True

    def close(self):
        self.compressed.close()

    def check(self, produced: int) -> None:
        self.produced = produced
        if produced > self.slack + self.ratio * self.consumed:
            raise CorruptInput(self.path, f"{self.what} expands more than {self.ratio}x ({produced:,} bytes out of "
                                          f"{self.consumed:,}): a decompression bomb or not a benchmark file")


#: What reading a damaged or hostile zip archive raises besides BadZipFile: corrupt deflate data (zlib.error), an
#: unsupported compression method (NotImplementedError), an encrypted member (RuntimeError), a bad header field
#: (ValueError, EOFError, OSError). Catch these around zip reads only.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError)


def check_zip_member(info: zipfile.ZipInfo, path) -> None:
    """Refuse a zip member to be streamed whose declared expansion is a bomb's (over :data:`MAX_EXPANSION_RATIO`),
    before reading it. (zipfile itself never decompresses more than the declared size.)"""
    if info.file_size > EXPANSION_SLACK_BYTES + MAX_EXPANSION_RATIO * max(info.compress_size, 1):
        raise CorruptInput(path, f"zip member {info.filename} declares {info.file_size:,} bytes from "
                                 f"{info.compress_size:,} compressed (over {MAX_EXPANSION_RATIO}x): a zip bomb or "
                                 "not a benchmark file", info.filename)


def read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path, limit: int = MAX_MEMBER_BYTES) -> bytes:
    """Read one zip member whole: its declared size and expansion are checked first (:func:`check_zip_member`: many
    small bombs cost no more than their own size) and the actual output is capped too."""
    check_declared_length(path, info.file_size, limit, f"zip member {info.filename}", info.filename)
    check_zip_member(info, path)
    try:
        with archive.open(info) as member:
            return read_limited(member, limit, path, f"zip member {info.filename}", info.filename)
    except ZIP_ERRORS as exc:
        raise CorruptInput(path, f"zip member {info.filename} cannot be read ({str(exc)[:200]})", info.filename) \
            from None


# ---------------------------------------------------------------------------------------------------------------------
# Git LFS pointers


def lfs_pointer_error(head: bytes, path) -> CorruptInput | None:
    """A CorruptInput naming a Git LFS pointer file (``head``: the file's first bytes), or None for any other data.

    A repository cloned without ``git lfs`` holds ~130-byte text pointers in place of its large files; every
    converter says so instead of calling the file corrupt.
    """
    if not head.startswith(LFS_POINTER_PREFIX):
        return None
    text = head[:LFS_POINTER_MAX_BYTES].decode("utf-8", "replace")
    fields = dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
    oid = fields.get("oid", "?").strip()
    size = fields.get("size", "?").strip()
    size_text = f"{int(size):,} bytes" if size.isdigit() else size
    return CorruptInput(path, f"this is a Git LFS pointer file ({oid}, {size_text}), not the data itself: the "
                              "repository was cloned without Git LFS. Run `git lfs pull` in that repository (after "
                              "`git lfs install`), or download the file itself")


def check_lfs_pointer(path, head: bytes | None = None) -> None:
    """Raise :func:`lfs_pointer_error`'s CorruptInput when the file at ``path`` (or its first bytes ``head``) is a
    Git LFS pointer."""
    if head is None:
        try:
            with open(path, "rb") as handle:
                head = handle.read(LFS_POINTER_MAX_BYTES)
        except OSError:
            return  # the caller's own open reports a missing or unreadable file
    error = lfs_pointer_error(head, path)
    if error is not None:
        raise error
