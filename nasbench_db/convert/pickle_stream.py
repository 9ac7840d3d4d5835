"""A streaming, restricted pickle reader for the NB-201 / NATS result archives (no torch, bounded memory).

``pickle.load`` of NAS-Bench-201-v1_1 (4.7 GB) or of NATS's single ``.pickle.pbz2`` builds the whole object
graph, about 28 GB of Python objects. This reader runs the pickle machine opcode by opcode over a byte stream and
hands each architecture record to the caller as soon as it is complete, then forgets it:

* a *record* is a dict whose keys are epoch-budget names (``'less'``/``'full'``, ``'12'``/``'200'``,
  ``'01'``/``'12'``/``'90'``) and whose values hold ``'all_results'``, set under an ``int`` key (the arch index)
  of an enclosing dict (``arch2infos``). The caller decides with ``is_record``;
* once handed over, the record's slot in ``arch2infos`` becomes ``None`` and the pickle memo entries created while
  it was built are released: its dicts and lists, and its per-epoch key strings (``'x-valid@12'``, recognised by
  ``'@'``). Small immutable values are kept, since the pickler shares them between records (attribute names,
  dataset names, arch strings, ``(dataset, seed)`` tuples), as are classes. A later reference to a released entry
  is reported (:class:`UnsupportedPickle`), never guessed.

Only plain data is built: dict, list, tuple, set, str, bytes, int, float, bool, None, ``OrderedDict`` and numpy
scalars (decoded with :mod:`struct`, numpy is not needed). Any other class, or a persistent id (a tensor), raises
:class:`UnsupportedPickle` naming it, so a file with network weights or unexpected objects is refused rather than
executed. Hot paths (runs of ``int -> float`` and ``str -> float`` dict items) are decoded in bulk with regular
expressions and checked against the length fields; anything unusual falls back to the general machine.

Every limit of :mod:`nasbench_db.limits` holds before anything is allocated: declared lengths (``BINUNICODE8``,
``BINBYTES8``, ``FRAME``...) against ``MAX_VALUE_BYTES``, text arguments against ``MAX_LINE_BYTES``, integers against
``MAX_INT_BYTES``, each record's nesting against ``MAX_NESTING``. The allowed callables take only containers of
data (``bytearray(4_500_000_000)`` is refused, not run). Memory is accounted as the stream is read: every input byte
and every object-creating opcode adds its worst-case cost, and when the estimate passes a step the objects still
alive (stack, memo, containers) are measured; more than ``MAX_PICKLE_LIVE_BYTES`` alive is refused
(:class:`PickleDataError`). Memo ids may be anything (``PUT 10**18`` costs nothing): releasing walks the memo's
entries, never a range of ids.
"""

from __future__ import annotations

import codecs
import re
import struct
import sys
from collections import OrderedDict

from ..limits import (MAX_INT_BYTES, MAX_LINE_BYTES, MAX_NESTING, MAX_PICKLE_LIVE_BYTES, MAX_VALUE_BYTES,
                      nesting_error, short_repr)

__all__ = ["StreamUnpickler", "UnsupportedPickle", "PickleDataError", "StateDict", "NumpyArray", "NUMPY_ARRAY_GLOBALS",
           "SAFE_GLOBALS", "ARRAY_GLOBALS", "NUMPY_SCALAR_GLOBALS", "load_data_pickle"]

_unpack_double = struct.Struct(">d").unpack_from
_unpack_i4 = struct.Struct("<i").unpack_from
_unpack_u4 = struct.Struct("<I").unpack_from
_unpack_u8 = struct.Struct("<Q").unpack_from
_unpack_u2 = struct.Struct("<H").unpack_from

CHUNK = 8 << 20
#: Bytes that every opcode with a fixed-size argument needs at most (FRAME, BINBYTES8... are checked separately).
_LOOKAHEAD = 16
#: Memory accounting (see the module docstring): the machine stops to account at least every CHECK_BYTES of input.
#: No opcode left uncounted builds more than UNITS_PER_BYTE bytes of objects per input byte (a float: 32 bytes for a
#: 9-byte BINFLOAT; a 2-char string: 59 bytes for 4 input bytes); the others add their cost explicitly.
CHECK_BYTES = 256 << 10
UNITS_PER_BYTE = 16
MEMO_ENTRY_BYTES = 100
#: Estimated bytes of a container object and of each of its slots, for the live measure and the opcode charges.
_CONTAINER_BYTES = 72
_SLOT_BYTES = 8
_ENTRY_BYTES = 50
_INT_BYTES = 32  # an int or float object (28 / 24 bytes) with allocator rounding
_NUMBER_TYPES = {int, float, bool, type(None)}
_CONTAINER_TYPES = (dict, list, tuple, set, frozenset)
#: Kept memo strings (shared between records) are short: a longer string belongs to one record.
_MAX_KEPT_STR = 256


class UnsupportedPickle(Exception):
    """The stream uses something this reader does not build (a class, a tensor, a shared released object)."""

    def __init__(self, reason: str, offset: int | None = None):
        self.reason = reason
        self.offset = offset
        super().__init__(reason if offset is None else f"{reason} (byte {offset:,} of the pickle)")


class PickleDataError(Exception):
    """The stream is not valid pickle data (truncated, unknown opcode, stack underflow...)."""

    def __init__(self, reason: str, offset: int | None = None):
        self.reason = reason
        self.offset = offset
        super().__init__(reason if offset is None else f"{reason} (byte {offset:,} of the pickle)")


class StateDict(dict):
    """A stand-in for a pickled instance of an NB-201 / NATS API class (``ArchResults``, ``ResultsCount``):
    the object's ``__dict__`` state as a plain dict (``class_name`` says what it was)."""

    class_name = ""


class _Mark:
    __slots__ = ()


class _Dtype:
    """A numpy ``dtype`` reduced to what scalar decoding needs: kind/size and byte order."""

    __slots__ = ("code", "order")

    def __init__(self, code, align=False, copy=True):
        self.code = str(code)
        self.order = "<"

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.order = "<" if state[1] in ("|", "=") else state[1]


_SCALAR_FORMATS = {"f8": "d", "f4": "f", "f2": "e", "i8": "q", "i4": "i", "i2": "h", "i1": "b",
                   "u8": "Q", "u4": "I", "u2": "H", "u1": "B", "b1": "?"}


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, _Dtype):
        raise UnsupportedPickle(f"numpy scalar with an unexpected dtype {dtype!r}")
    code = dtype.code.lstrip("<>|=")
    fmt = _SCALAR_FORMATS.get(code)
    if fmt is None or not isinstance(data, (bytes, bytearray)):
        raise UnsupportedPickle(f"numpy scalar of dtype {dtype.code!r} is not supported")
    (value,) = struct.unpack(dtype.order + fmt, data)
    return value


def _state_class(name):
    def make(*args):
        obj = StateDict()
        obj.class_name = name
        return obj

    make.__name__ = name
    return make


_TEXT_ENCODINGS = {"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1", "ascii", "utf-8", "utf8"}
_DATA = (list, tuple, dict, set, frozenset, str, bytes, bytearray)


def _encode_latin1_bytes(text, encoding="utf-8"):
    """``_codecs.encode(text, 'latin1')``: how protocol 2 pickles bytes. Only text codecs, only on a str."""
    if not isinstance(text, str) or not isinstance(encoding, str) or encoding.lower() not in _TEXT_ENCODINGS:
        raise UnsupportedPickle(f"_codecs.encode of a {type(text).__name__} with {short_repr(encoding)}")
    return codecs.encode(text, encoding)


def _from_data(kind):
    """``kind(source)`` only for a source that is already data (no ints: ``bytearray(4.5e9)`` is an amplifier)."""

    def build(*args):
        if not args:
            return kind()
        if len(args) == 2 and kind in (bytes, bytearray):
            return kind(_encode_latin1_bytes(*args))
        if len(args) != 1 or not isinstance(args[0], _DATA):
            raise UnsupportedPickle(f"{kind.__name__}() of {short_repr(args)}: only data is rebuilt")
        return kind(args[0])

    build.__name__ = kind.__name__
    return build


def _ordered_dict(*args):
    if args and (len(args) != 1 or not isinstance(args[0], (list, tuple, dict))):
        raise UnsupportedPickle(f"OrderedDict() of {short_repr(args)}: only data is rebuilt")
    return OrderedDict(*args)


#: (module, name) -> callable building the object, for the classes the archives contain.
SAFE_GLOBALS = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("numpy", "dtype"): _Dtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("builtins", "set"): _from_data(set),
    ("builtins", "frozenset"): _from_data(frozenset),
    ("builtins", "dict"): _from_data(dict),
    ("builtins", "list"): _from_data(list),
    ("builtins", "tuple"): _from_data(tuple),
    ("builtins", "bytes"): _from_data(bytes),
    ("builtins", "bytearray"): _from_data(bytearray),
    ("_codecs", "encode"): _encode_latin1_bytes,
    ("copyreg", "_reconstructor"): None,  # handled in REDUCE
}


class NumpyArray(list):
    """A pickled numpy ``ndarray`` rebuilt as a flat list of Python values, C order (numbers decoded with
    :mod:`struct`, object arrays taken as the list they were pickled with); ``shape`` and ``dtype`` say what it was.

    Built only when the reader is given :data:`NUMPY_ARRAY_GLOBALS` (HW-NAS-Bench's pickle holds its per-architecture
    metrics as arrays). Refused: byte strings, structured or unknown dtypes, Fortran order with more than one
    dimension, more than ``limits.MAX_CONTAINER_ITEMS`` elements, a payload whose length disagrees with the shape.
    """

    shape: tuple = ()
    dtype = ""

    def __setstate__(self, state):
        from ..limits import MAX_CONTAINER_ITEMS

        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise UnsupportedPickle("numpy array with an unexpected state")
        version, shape, dtype, fortran, data = state if len(state) == 5 else (1, *state)
        if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
            raise UnsupportedPickle(f"numpy array with an invalid shape {shape!r}")
        count = 1
        for n in shape:
            count *= n
            if count > MAX_CONTAINER_ITEMS:
                raise UnsupportedPickle(f"numpy array of shape {shape} holds more than {MAX_CONTAINER_ITEMS:,} "
                                        "elements (limits.MAX_CONTAINER_ITEMS)")
        if fortran and len(shape) > 1:
            raise UnsupportedPickle("numpy array in Fortran order is not supported")
        if not isinstance(dtype, _Dtype):
            raise UnsupportedPickle(f"numpy array with an unexpected dtype {dtype!r}")
        code = dtype.code.lstrip("<>|=")
        self.shape, self.dtype = shape, code
        if code in ("O", "O4", "O8"):
            if not isinstance(data, list) or len(data) != count:
                raise UnsupportedPickle(f"numpy object array of shape {shape} does not hold {count} items")
            self[:] = data
            return
        fmt = _SCALAR_FORMATS.get(code)
        if fmt is None or not isinstance(data, (bytes, bytearray)):
            raise UnsupportedPickle(f"numpy array of dtype {dtype.code!r} is not supported")
        if len(data) != count * struct.calcsize(fmt):
            raise UnsupportedPickle(f"numpy array of shape {shape} and dtype {code} holds {len(data):,} bytes, "
                                    f"expected {count * struct.calcsize(fmt):,}")
        self[:] = struct.unpack(f"{dtype.order}{count}{fmt}", data)


class _NdarrayClass:
    """Stands for ``numpy.ndarray`` in ``_reconstruct(ndarray, (0,), b'b')`` (it is never called)."""


def _numpy_reconstruct(cls, shape=None, typecode=None):
    if cls is not _NdarrayClass:
        raise UnsupportedPickle(f"numpy _reconstruct of an unexpected class {cls!r}")
    return NumpyArray()


#: Add to a reader's ``globals_map`` (``{**SAFE_GLOBALS, **NUMPY_ARRAY_GLOBALS}``) to read numpy arrays as
#: :class:`NumpyArray` lists (pickles of numpy 1.x and 2.x).
NUMPY_ARRAY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): _NdarrayClass,
}


def _numpy_scalar_object(dtype, data=None):
    """A numpy scalar object (``numpy.float64``...) decoded like :func:`_numpy_scalar`: for readers whose callers
    compare types with the original's ``pickle.load`` (the NATS-Bench facade's ``pickle_load``)."""
    import numpy as np

    value = _numpy_scalar(dtype, data)
    code = dtype.code.lstrip("<>|=")
    return np.dtype(code).type(value)


#: numpy scalars kept as numpy scalar objects instead of Python numbers (numpy needed).
NUMPY_SCALAR_GLOBALS = {
    ("numpy.core.multiarray", "scalar"): _numpy_scalar_object,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar_object,
}


class _ArrayStub:
    """``numpy.core.multiarray._reconstruct(ndarray, ...)`` read with ``arrays=True``: replaced by the numpy array its
    BUILD state describes (a CIFAR / ImageNet16 batch of ~100 MB of pixels, which :class:`NumpyArray` would turn into
    a list of 10^8 Python ints). Readers that want plain lists use :data:`NUMPY_ARRAY_GLOBALS` instead."""

    __slots__ = ()


def _reconstruct_array(cls, shape=None, typecode=None):
    if cls is not _NdarrayClass:
        raise UnsupportedPickle(f"_reconstruct of {short_repr(cls)}: only numpy arrays are rebuilt")
    return _ArrayStub()


#: Numeric dtypes an array may have (no objects, no strings: an array is rebuilt from its raw bytes only).
_ARRAY_KINDS = "biufc?"
#: What ``arrays=True`` adds to the allowed globals: ndarrays rebuilt by numpy from raw bytes, never by their class.
ARRAY_GLOBALS = {
    ("numpy", "ndarray"): _NdarrayClass,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct_array,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct_array,
}


def _array_from_state(state):
    """The numpy array of an ndarray's pickled state ``(version, shape, dtype, is_fortran, raw)`` (version optional):
    numeric dtypes only, the raw bytes' length must be exactly the shape's (checked before numpy sees them)."""
    import math

    import numpy

    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise UnsupportedPickle("an ndarray state that is not (version, shape, dtype, is_fortran, raw)")
    shape, dtype, fortran, raw = state[-4:]
    if not isinstance(dtype, _Dtype):
        raise UnsupportedPickle(f"an ndarray with dtype {short_repr(dtype)}")
    if isinstance(raw, str):  # Python 2 pickles hold the bytes as a str
        raw = raw.encode("latin-1")
    if not isinstance(raw, (bytes, bytearray)):
        raise UnsupportedPickle("an ndarray whose data is not raw bytes (object arrays are not rebuilt)")
    if not isinstance(shape, tuple) or len(shape) > 32 or not all(
            type(n) is int and 0 <= n <= len(raw) for n in shape):
        raise UnsupportedPickle(f"an ndarray of shape {short_repr(shape)}")
    try:
        kind = numpy.dtype(dtype.order + dtype.code.lstrip("<>|="))
    except (TypeError, ValueError) as exc:
        raise UnsupportedPickle(f"an ndarray of dtype {dtype.code!r}: {exc}") from None
    if kind.kind not in _ARRAY_KINDS or kind.itemsize == 0:
        raise UnsupportedPickle(f"an ndarray of dtype {dtype.code!r}: only numeric arrays are rebuilt")
    if math.prod(shape) * kind.itemsize != len(raw):
        raise UnsupportedPickle(f"an ndarray of shape {shape} and dtype {dtype.code!r} with {len(raw):,} bytes of data")
    return numpy.frombuffer(raw, dtype=kind).reshape(shape, order="F" if fortran else "C").copy()


#: Classes of the original APIs whose instances are read as their ``__dict__`` state (:class:`StateDict`).
STATE_CLASSES = ("ArchResults", "ResultsCount")


def _release_kept(value) -> bool:
    """True for memo entries kept after a record is released: the small values another record may refer to
    (printable strings without '@', ints, tuples of those such as ``('cifar10', 777)`` keys) and classes.

    Released besides the containers: per-epoch keys (``'x-valid@12'``), byte payloads and the numbers rebuilt
    from them (numpy scalars), which belong to one trial.
    """
    kind = type(value)
    if kind is str:
        return len(value) <= _MAX_KEPT_STR and "@" not in value and value.isprintable() and value.isascii()
    if kind is int or kind is bool or value is None:
        return True
    if kind is tuple:
        return len(value) <= 8 and all(_release_kept(item) and not callable(item) for item in value)
    return callable(value) or isinstance(value, _Dtype)


# Bulk decoders for the dict items between MARK and SETITEMS (per-epoch curves). Every match is verified
# (length fields, exact coverage) before use; anything else takes the general opcode-by-opcode path.
_B = rb"[\x00-\xff]"
_KEY = rb"[-0-9a-zA-Z@_.]+"
#: int key (BININT1) -> BINFLOAT; 11 bytes an item
_INT_FLOAT_RUN = re.compile(rb"\((?:K" + _B + rb"G" + _B + rb"{8})+u")
#: memoized key (BINGET) -> BINFLOAT; 11 bytes an item, same layout
_GET1_FLOAT_RUN = re.compile(rb"\((?:h" + _B + rb"G" + _B + rb"{8})+u")
#: memoized key (LONG_BINGET) -> BINFLOAT; 14 bytes an item
_GET4_FLOAT_RUN = re.compile(rb"\((?:j" + _B + rb"{4}G" + _B + rb"{8})+u")
#: new key, protocol 4: SHORT_BINUNICODE + MEMOIZE -> BINFLOAT
_NEW4_ITEM = rb"\x8c(" + _B + rb")(" + _KEY + rb")\x94G(" + _B + rb"{8})"
_NEW4_RUN = re.compile(rb"\((?:" + _NEW4_ITEM.replace(b"(", b"(?:") + rb")+u")
_NEW4_PARTS = re.compile(_NEW4_ITEM)
#: new key, protocol 2/3: BINUNICODE + LONG_BINPUT -> BINFLOAT (BINPUT only for the first 256 memo entries)
_NEW2_ITEM = rb"X(" + _B + rb")\x00\x00\x00(" + _KEY + rb")r(" + _B + rb"{4})G(" + _B + rb"{8})"
_NEW2_RUN = re.compile(rb"\((?:" + _NEW2_ITEM.replace(b"(", b"(?:") + rb")+u")
_NEW2_PARTS = re.compile(_NEW2_ITEM)
#: any mix of the above (general item loop, still cheaper than opcode by opcode)
_STR_FLOAT_ITEM = (rb"(?:\x8c(" + _B + rb")(" + _KEY + rb")\x94|X(" + _B + rb")\x00\x00\x00(" + _KEY +
                   rb")(?:q(" + _B + rb")|r(" + _B + rb"{4}))|h(" + _B + rb")|j(" + _B + rb"{4}))G(" + _B + rb"{8})")
_STR_FLOAT_RUN = re.compile(rb"\((?:" + _STR_FLOAT_ITEM.replace(b"(", b"(?:").replace(b"(?:?:", b"(?:") + rb")+u")
_STR_FLOAT_PARTS = re.compile(_STR_FLOAT_ITEM)
_INT_FLOAT_STRUCTS: dict = {}
_GET4_STRUCTS: dict = {}


def _int_float_struct(count: int) -> struct.Struct:
    """``(key byte, double)`` pairs of ``count`` 11-byte items ``K/h <byte> G <8 bytes>``."""
    found = _INT_FLOAT_STRUCTS.get(count)
    if found is None:
        found = _INT_FLOAT_STRUCTS[count] = struct.Struct(">" + "xBxd" * count)
    return found


def _get4_structs(count: int) -> tuple:
    """Memo ids and doubles of ``count`` 14-byte items ``j <4 bytes LE> G <8 bytes BE>``."""
    found = _GET4_STRUCTS.get(count)
    if found is None:
        found = _GET4_STRUCTS[count] = (struct.Struct("<" + "xI9x" * count), struct.Struct(">" + "6xd" * count))
    return found


class StreamUnpickler:
    """Read pickles from ``read`` (a ``read(n) -> bytes`` callable), yielding records as they complete.

    ``is_record(key, value)`` decides whether a dict just completed under an ``int`` key is a record. Use
    :meth:`load` for one pickle (records are yielded; the top-level object is in :attr:`result` afterwards),
    repeatedly for consecutive pickles in one stream (torch's legacy layout).
    """

    def __init__(self, read, is_record=None, globals_map=None, arrays: bool = False):
        self._read = read
        self.is_record = is_record
        self.globals_map = dict(SAFE_GLOBALS if globals_map is None else globals_map)
        if arrays:  # numeric numpy arrays (a CIFAR batch), rebuilt from their raw bytes
            self.globals_map.update(ARRAY_GLOBALS)
        self.buf = b""
        self.pos = 0
        self.base = 0  # stream offset of buf[0]
        self.eof = False
        self.result = None
        self.records = 0
        self.released = 0
        self.memo_size = 0
        #: largest LONG1/LONG4 integer in bytes (a caller reading torch's legacy header allows its 10-byte magic)
        self.max_int_bytes = MAX_INT_BYTES
        # memory accounting (module docstring)
        self.limit = 0  # the machine accounts (and refills) when pos reaches this index of buf
        self.checked_at = 0  # stream offset of the last accounting
        self.units = 0  # estimated bytes built since the last live measure (plus what it found alive)
        #: the limits of this reader (module defaults; a caller reading training data may raise them)
        self.max_value_bytes = MAX_VALUE_BYTES
        self.max_live_bytes = MAX_PICKLE_LIVE_BYTES
        self.measure_at = self.max_live_bytes
        self.memo_seen = 0
        self.live_bytes = 0  # the last live measure (diagnostics, tests)
        self.measures = 0

    # -- input -------------------------------------------------------------------------------------------------------
    def _fill(self, need: int) -> bool:
        """Make ``need`` bytes available from ``pos``; False if the stream ends first."""
        buf, pos = self.buf, self.pos
        while len(buf) - pos < need and not self.eof:
            chunk = self._read(max(CHUNK, need))
            if not chunk:
                self.eof = True
                break
            self.base += pos
            buf = buf[pos:] + chunk
            pos = 0
        self.buf, self.pos = buf, pos
        self._set_limit()
        return len(buf) - pos >= need

    def _set_limit(self) -> None:
        self.limit = min(len(self.buf) - _LOOKAHEAD, self.checked_at - self.base + CHECK_BYTES)

    def _need(self, header: int, n: int, what: str) -> None:
        """Make ``header + n`` bytes available from ``pos`` for a value whose length field said ``n``: refused over
        MAX_VALUE_BYTES before anything is read, PickleDataError if the stream ends first."""
        if n > self.max_value_bytes:
            raise PickleDataError(f"{what} declares {n:,} bytes, over the limit of {self.max_value_bytes:,}: the "
                                  "file is corrupt or hostile", self.offset)
        n += header
        if len(self.buf) - self.pos < n and not self._fill(n):
            raise PickleDataError("pickle data was truncated", self.offset)

    # -- memory accounting ------------------------------------------------------------------------------------------
    def _checkpoint(self, memo: dict, stack: list, metastack: list, extra: int) -> int:
        """Refill the buffer if needed, add what was built since the last checkpoint, measure what is alive when
        the estimate passes its step. Returns the new ``extra`` (0)."""
        if len(self.buf) - self.pos < _LOOKAHEAD and not self.eof:
            self._fill(_LOOKAHEAD)
        offset = self.base + self.pos
        grown = len(memo) - self.memo_seen
        self.units += UNITS_PER_BYTE * (offset - self.checked_at) + extra + MEMO_ENTRY_BYTES * max(grown, 0)
        self.memo_seen = len(memo)
        self.checked_at = offset
        if self.units > self.measure_at:
            live = self._measure(memo, stack, metastack)
            self.units = live
            # the next measure only after half the limit (or as much as is alive) again has been built: measuring
            # stays linear in the input, and what is alive never passes 1.5x the limit unseen
            self.measure_at = live + max(live, self.max_live_bytes // 2)
        self._set_limit()
        return 0

    def _measure(self, memo: dict, stack: list, metastack: list) -> int:
        """Bytes of everything the machine keeps alive (``sys.getsizeof`` of each container and string, a number's
        size for the others); PickleDataError as soon as the total passes MAX_PICKLE_LIVE_BYTES.

        Containers of 64 items or more are counted once however often they are referred to; smaller ones are
        counted at each reference (a bounded overcount that keeps the bookkeeping small), so a cycle of small
        containers counts until it passes the limit.
        """
        self.measures += 1
        getsizeof = sys.getsizeof
        limit = self.max_live_bytes
        total = getsizeof(memo) + _INT_BYTES * len(memo)
        seen: set = set()
        todo = [stack, *metastack, memo]
        while todo:
            item = todo.pop()
            total += getsizeof(item)
            if isinstance(item, dict):
                children = item.values() if set(map(type, item)) <= _NUMBER_TYPES else [*item, *item.values()]
            else:
                children = item
            if set(map(type, children)) <= _NUMBER_TYPES:
                total += _INT_BYTES * len(children)
            else:
                for child in children:
                    if isinstance(child, _CONTAINER_TYPES):
                        if len(child) >= 64:
                            if id(child) in seen:
                                continue
                            seen.add(id(child))
                        todo.append(child)
                    elif isinstance(child, (str, bytes, bytearray)):
                        total += getsizeof(child)
                    else:
                        total += _INT_BYTES
            if total > limit:
                raise PickleDataError(
                    f"the pickle keeps more than {limit >> 20:,} MB of objects alive outside the architecture "
                    "records it hands over: not a benchmark file (or a memory bomb)", self.offset)
        self.live_bytes = total
        return total

    def at_eof(self) -> bool:
        return not self._fill(1)

    @property
    def offset(self) -> int:
        return self.base + self.pos

    # -- the machine -------------------------------------------------------------------------------------------------
    def load(self):
        """Run one pickle to its STOP, yielding ``(key, record)`` pairs; the top-level object ends in ``result``."""
        try:
            yield from self._machine()
        except (struct.error, IndexError) as exc:
            if self.eof and len(self.buf) - self.pos <= _LOOKAHEAD:
                raise PickleDataError("pickle data was truncated", self.offset) from None
            raise PickleDataError(f"invalid pickle data ({exc})", self.offset) from None
        except (TypeError, AttributeError, ValueError, UnicodeDecodeError) as exc:
            raise PickleDataError(f"invalid pickle data ({type(exc).__name__}: {exc})", self.offset) from None

    def _machine(self):
        memo: dict = {}
        stack: list = []
        metastack: list = []
        append = stack.append
        is_record = self.is_record
        unpack_double = _unpack_double
        memo_next = 0  # id of the next MEMOIZE
        span_start = 0  # first memo id created since the last released record
        proto = 0

        extra = 0  # bytes built since the last checkpoint beyond UNITS_PER_BYTE per input byte
        if not self._fill(1):
            raise EOFError("no pickle data")
        while True:
            pos = self.pos
            buf = self.buf
            if pos >= self.limit:
                extra = self._checkpoint(memo, stack, metastack, extra)
                pos = self.pos
                buf = self.buf
            try:
                op = buf[pos]
            except IndexError:
                raise PickleDataError("pickle data was truncated", self.offset) from None

            # --- the frequent opcodes first --------------------------------------------------------------------
            if op == 0x47:  # BINFLOAT
                append(unpack_double(buf, pos + 1)[0])
                self.pos = pos + 9
            elif op == 0x4B:  # BININT1
                append(buf[pos + 1])
                self.pos = pos + 2
            elif op == 0x94:  # MEMOIZE
                memo[memo_next] = stack[-1]
                memo_next += 1
                self.pos = pos + 1
            elif op == 0x8C:  # SHORT_BINUNICODE
                n = buf[pos + 1]
                if len(buf) - pos < n + 2 and not self._fill(n + 2):
                    raise PickleDataError("pickle data was truncated", self.offset)
                pos, buf = self.pos, self.buf
                append(buf[pos + 2:pos + 2 + n].decode("utf-8", "surrogatepass"))
                self.pos = pos + 2 + n
            elif op == 0x71:  # BINPUT
                i = buf[pos + 1]
                memo[i] = stack[-1]
                if i >= memo_next:
                    memo_next = i + 1
                self.pos = pos + 2
            elif op == 0x72:  # LONG_BINPUT
                i = _unpack_u4(buf, pos + 1)[0]
                memo[i] = stack[-1]
                if i >= memo_next:
                    memo_next = i + 1
                self.pos = pos + 5
            elif op == 0x68 or op == 0x6A:  # BINGET, LONG_BINGET
                if op == 0x68:
                    i = buf[pos + 1]
                    self.pos = pos + 2
                else:
                    i = _unpack_u4(buf, pos + 1)[0]
                    self.pos = pos + 5
                try:
                    append(memo[i])
                except KeyError:
                    raise self._missing(i, span_start) from None
            elif op == 0x58:  # BINUNICODE
                if not self._fill(5):
                    raise PickleDataError("pickle data was truncated", self.offset)
                pos, buf = self.pos, self.buf
                n = _unpack_u4(buf, pos + 1)[0]
                self._need(5, n, "BINUNICODE")
                pos, buf = self.pos, self.buf
                append(buf[pos + 5:pos + 5 + n].decode("utf-8", "surrogatepass"))
                self.pos = pos + 5 + n
            elif op == 0x28:  # MARK
                if stack and isinstance(stack[-1], dict):
                    # ( key float key float ... u into a dict: decode the whole run at once when it is uniform
                    advanced = self._dict_run(stack[-1], memo, pos, memo_next, proto)
                    if advanced is not None:
                        memo_next = advanced
                        continue
                metastack.append(stack)
                stack = []
                append = stack.append
                extra += _CONTAINER_BYTES
                self.pos = pos + 1
            elif op == 0x75:  # SETITEMS
                items = stack
                stack = metastack.pop()
                append = stack.append
                target = stack[-1]
                if type(target) is dict or isinstance(target, dict):
                    for k in range(0, len(items) - 1, 2):
                        target[items[k]] = items[k + 1]
                    extra += len(items) << 4
                else:
                    raise UnsupportedPickle(f"SETITEMS on a {type(target).__name__}", self.offset)
                self.pos = pos + 1
                if is_record is not None and len(stack) >= 2 and type(stack[-2]) is int and is_record(
                        stack[-2], target):
                    self._check_record(target)
                    stack[-1] = None
                    self._release(memo, span_start, memo_next)
                    span_start = memo_next
                    self.records += 1
                    yield stack[-2], target
            elif op == 0x7D:  # EMPTY_DICT
                append({})
                extra += _CONTAINER_BYTES
                self.pos = pos + 1
            elif op == 0x86:  # TUPLE2
                stack[-2:] = [(stack[-2], stack[-1])]
                extra += _CONTAINER_BYTES
                self.pos = pos + 1
            elif op == 0x4D:  # BININT2
                append(_unpack_u2(buf, pos + 1)[0])
                self.pos = pos + 3
            elif op == 0x4E:  # NONE
                append(None)
                self.pos = pos + 1
            elif op == 0x73:  # SETITEM
                value = stack.pop()
                key = stack.pop()
                target = stack[-1]
                if not isinstance(target, dict):
                    raise UnsupportedPickle(f"SETITEM on a {type(target).__name__}", self.offset)
                target[key] = value
                self.pos = pos + 1
                # A single SETITEM completes a dict only where the pickler batches items (protocol >= 2).
                if is_record is not None and proto >= 2 and len(stack) >= 2 and type(stack[-2]) is int and \
                        is_record(stack[-2], target):
                    self._check_record(target)
                    stack[-1] = None
                    self._release(memo, span_start, memo_next)
                    span_start = memo_next
                    self.records += 1
                    yield stack[-2], target
            elif op == 0x5D:  # EMPTY_LIST
                append([])
                extra += _CONTAINER_BYTES
                self.pos = pos + 1
            elif op == 0x29:  # EMPTY_TUPLE
                append(())
                self.pos = pos + 1
            elif op == 0x61:  # APPEND
                value = stack.pop()
                stack[-1].append(value)
                self.pos = pos + 1
            elif op == 0x65:  # APPENDS
                items = stack
                stack = metastack.pop()
                append = stack.append
                target = stack[-1]
                if isinstance(target, list):
                    target.extend(items)
                else:
                    for item in items:
                        target.append(item)
                self.pos = pos + 1
            elif op == 0x95:  # FRAME: an 8-byte length; frames carry no meaning for reading
                if not self._fill(9):
                    raise PickleDataError("pickle data was truncated", self.offset)
                n = _unpack_u8(self.buf, self.pos + 1)[0]
                if n > self.max_value_bytes:
                    raise PickleDataError(f"FRAME declares {n:,} bytes, over the limit of {self.max_value_bytes:,}: "
                                          "the file is corrupt or hostile", self.offset)
                self.pos += 9
            elif op == 0x4A:  # BININT
                append(_unpack_i4(buf, pos + 1)[0])
                self.pos = pos + 5
            elif op == 0x85:  # TUPLE1
                stack[-1] = (stack[-1],)
                extra += _CONTAINER_BYTES
                self.pos = pos + 1
            elif op == 0x87:  # TUPLE3
                stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
                extra += _CONTAINER_BYTES
                self.pos = pos + 1
            elif op == 0x74:  # TUPLE
                items = tuple(stack)
                stack = metastack.pop()
                append = stack.append
                append(items)
                extra += _CONTAINER_BYTES
                self.pos = pos + 1
            elif op == 0x88:  # NEWTRUE
                append(True)
                self.pos = pos + 1
            elif op == 0x89:  # NEWFALSE
                append(False)
                self.pos = pos + 1
            elif op == 0x43:  # SHORT_BINBYTES
                n = buf[pos + 1]
                self._need(2, n, "SHORT_BINBYTES")
                pos, buf = self.pos, self.buf
                append(bytes(buf[pos + 2:pos + 2 + n]))
                self.pos = pos + 2 + n
            elif op == 0x42 or op == 0x8E or op == 0x8D or op == 0x54 or op == 0x55:
                # BINBYTES (4-byte len), BINBYTES8, BINUNICODE8, BINSTRING (4-byte), SHORT_BINSTRING (1-byte)
                width = {0x42: 4, 0x8E: 8, 0x8D: 8, 0x54: 4, 0x55: 1}[op]
                if not self._fill(1 + width):
                    raise PickleDataError("pickle data was truncated", self.offset)
                pos, buf = self.pos, self.buf
                n = int.from_bytes(buf[pos + 1:pos + 1 + width], "little", signed=op == 0x54)
                if n < 0:
                    raise PickleDataError("BINSTRING declares a negative length", self.offset)
                self._need(1 + width, n, _OPCODE_NAMES[op])
                pos, buf = self.pos, self.buf
                raw = bytes(buf[pos + 1 + width:pos + 1 + width + n])
                if op == 0x8D:
                    append(raw.decode("utf-8", "surrogatepass"))
                elif op in (0x54, 0x55):
                    append(raw.decode("latin-1"))  # Python 2 str, as pickle's default encoding='ASCII'/latin-1
                else:
                    append(raw)
                self.pos = pos + 1 + width + n
            elif op == 0x8A:  # LONG1
                n = buf[pos + 1]
                if n > self.max_int_bytes:
                    raise PickleDataError(f"LONG1 integer of {n} bytes, over the limit of {self.max_int_bytes}: no "
                                          "benchmark value is that large", self.offset)
                self._need(2, n, "LONG1")
                pos, buf = self.pos, self.buf
                append(int.from_bytes(buf[pos + 2:pos + 2 + n], "little", signed=True))
                self.pos = pos + 2 + n
            elif op == 0x8B:  # LONG4
                self._fill(5)
                pos, buf = self.pos, self.buf
                n = _unpack_i4(buf, pos + 1)[0]
                if n < 0 or n > self.max_int_bytes:
                    raise PickleDataError(f"LONG4 integer of {n:,} bytes, outside 0..{self.max_int_bytes}: no "
                                          "benchmark value is that large", self.offset)
                self._need(5, n, "LONG4")
                pos, buf = self.pos, self.buf
                append(int.from_bytes(buf[pos + 5:pos + 5 + n], "little", signed=True))
                self.pos = pos + 5 + n
            elif op == 0x80:  # PROTO
                proto = buf[pos + 1]
                if proto > 5:
                    raise PickleDataError(f"unsupported pickle protocol {proto}", self.offset)
                self.pos = pos + 2
            elif op == 0x93:  # STACK_GLOBAL
                name = stack.pop()
                module = stack.pop()
                append(self._find_class(module, name))
                self.pos = pos + 1
            elif op == 0x63:  # GLOBAL "module\nname\n"
                self.pos = pos + 1
                module = self._readline()
                name = self._readline()
                append(self._find_class(module, name))
            elif op == 0x52:  # REDUCE
                args = stack.pop()
                func = stack[-1]
                stack[-1] = built = self._call(func, args)
                extra += _cost(built)
                self.pos = pos + 1
            elif op == 0x81:  # NEWOBJ
                args = stack.pop()
                cls = stack.pop()
                append(built := self._call(cls, args))
                extra += _cost(built)
                self.pos = pos + 1
            elif op == 0x92:  # NEWOBJ_EX
                kwargs = stack.pop()
                args = stack.pop()
                cls = stack.pop()
                if kwargs:
                    raise UnsupportedPickle(f"NEWOBJ_EX with keyword arguments for {short_repr(cls)}", self.offset)
                append(built := self._call(cls, args))
                extra += _cost(built)
                self.pos = pos + 1
            elif op == 0x62:  # BUILD
                state = stack.pop()
                inst = stack[-1]
                if type(inst) is _ArrayStub:
                    try:
                        stack[-1] = array = _array_from_state(state)
                    except UnsupportedPickle as exc:
                        raise UnsupportedPickle(exc.reason, self.offset) from None
                    for key in [k for k, v in memo.items() if v is inst]:  # the stub was memoized: the array now
                        memo[key] = array
                else:
                    self._build(inst, state)
                    if type(inst) is NumpyArray:
                        extra += _cost(inst)
                self.pos = pos + 1
            elif op == 0x8F:  # EMPTY_SET
                append(set())
                extra += 4 * _CONTAINER_BYTES
                self.pos = pos + 1
            elif op == 0x90:  # ADDITEMS
                items = stack
                stack = metastack.pop()
                append = stack.append
                target = stack[-1]
                if not isinstance(target, (set, frozenset)):
                    raise UnsupportedPickle(f"ADDITEMS on a {type(target).__name__}", self.offset)
                target.update(items)
                extra += _ENTRY_BYTES * len(items)
                self.pos = pos + 1
            elif op == 0x91:  # FROZENSET
                items = frozenset(stack)
                stack = metastack.pop()
                append = stack.append
                append(items)
                extra += 4 * _CONTAINER_BYTES + _ENTRY_BYTES * len(items)
                self.pos = pos + 1
            elif op == 0x64:  # DICT
                items = stack
                stack = metastack.pop()
                append = stack.append
                append({items[k]: items[k + 1] for k in range(0, len(items) - 1, 2)})
                extra += _CONTAINER_BYTES + (_ENTRY_BYTES >> 1) * len(items)
                self.pos = pos + 1
            elif op == 0x6C:  # LIST
                items = stack
                stack = metastack.pop()
                append = stack.append
                append(items)
                self.pos = pos + 1
            elif op == 0x30:  # POP
                if stack:
                    stack.pop()
                else:
                    stack = metastack.pop()
                    append = stack.append
                self.pos = pos + 1
            elif op == 0x31:  # POP_MARK
                stack = metastack.pop()
                append = stack.append
                self.pos = pos + 1
            elif op == 0x32:  # DUP
                append(stack[-1])
                self.pos = pos + 1
            elif op == 0x2E:  # STOP
                self.pos = pos + 1
                if len(stack) != 1 or metastack:
                    raise PickleDataError("STOP with an unbalanced stack", self.offset)
                self.result = stack.pop()
                self.memo_size = len(memo)  # entries still held at the end (diagnostics, tests)
                problem = nesting_error(self.result, MAX_NESTING)
                if problem is not None:
                    raise PickleDataError(problem, self.offset)
                return
            elif op == 0x70 or op == 0x67:  # PUT / GET (text protocol)
                self.pos = pos + 1
                i = int(self._readline())
                if op == 0x70:
                    memo[i] = stack[-1]
                    memo_next = max(memo_next, i + 1)
                else:
                    try:
                        append(memo[i])
                    except KeyError:
                        raise self._missing(i, span_start) from None
            elif op == 0x49:  # INT (text): also True/False as I01/I00
                self.pos = pos + 1
                text = self._readline()
                append(True if text == "01" else False if text == "00" else self._text_int(text))
            elif op == 0x4C:  # LONG (text)
                self.pos = pos + 1
                append(self._text_int(self._readline().rstrip("L")))
            elif op == 0x46:  # FLOAT (text)
                self.pos = pos + 1
                append(float(self._readline()))
            elif op == 0x56:  # UNICODE (raw-unicode-escape text)
                self.pos = pos + 1
                append(codecs.decode(self._readline_bytes(), "raw-unicode-escape"))
            elif op == 0x53:  # STRING: a quoted Python 2 str with backslash escapes (never evaluated)
                self.pos = pos + 1
                line = self._readline_bytes()
                if len(line) < 2 or line[:1] != line[-1:] or line[:1] not in (b"'", b'"'):
                    raise PickleDataError("the STRING opcode argument must be quoted", self.offset)
                append(codecs.escape_decode(line[1:-1])[0].decode("latin-1"))
            elif op in (0x50, 0x51):  # PERSID, BINPERSID
                raise UnsupportedPickle("the file holds tensors or other persistent objects (network weights?)",
                                        self.offset)
            else:
                raise PickleDataError(f"unsupported or invalid pickle opcode 0x{op:02x}", self.offset)

    # -- helpers -----------------------------------------------------------------------------------------------------
    def _dict_run(self, target: dict, memo: dict, pos: int, memo_next: int, proto: int):
        """Decode ``MARK (key BINFLOAT)* SETITEMS`` at ``pos`` into ``target`` in bulk.

        Returns the next memo id afterwards, or None (nothing consumed) when the run is not one of the recognised
        shapes; the caller then runs the general machine, which gives the same result opcode by opcode.
        """
        buf = self.buf
        kind = buf[pos + 1:pos + 2]
        if kind == b"K":
            match = _INT_FLOAT_RUN.match(buf, pos)
            if match is None:
                return None
            end = match.end()
            values = iter(_int_float_struct((end - pos - 2) // 11).unpack_from(buf, pos + 1))
            target.update(zip(values, values))
        elif kind == b"h":
            match = _GET1_FLOAT_RUN.match(buf, pos)
            if match is None:
                return self._mixed_run(target, memo, pos, memo_next)
            end = match.end()
            values = _int_float_struct((end - pos - 2) // 11).unpack_from(buf, pos + 1)
            try:
                keys = [memo[i] for i in values[0::2]]
            except KeyError:
                return None
            if not all(type(key) is str for key in keys):
                return None
            target.update(zip(keys, values[1::2]))
        elif kind == b"j":
            match = _GET4_FLOAT_RUN.match(buf, pos)
            if match is None:
                return self._mixed_run(target, memo, pos, memo_next)
            end = match.end()
            ids_struct, values_struct = _get4_structs((end - pos - 2) // 14)
            try:
                keys = [memo[i] for i in ids_struct.unpack_from(buf, pos + 1)]
            except KeyError:
                return None
            if not all(type(key) is str for key in keys):
                return None
            target.update(zip(keys, values_struct.unpack_from(buf, pos + 1)))
        elif kind == b"\x8c" or kind == b"X":
            new4 = kind == b"\x8c"
            match = (_NEW4_RUN if new4 else _NEW2_RUN).match(buf, pos)
            if match is None:
                return self._mixed_run(target, memo, pos, memo_next)
            end = match.end()
            segment = buf[pos + 1:end - 1]
            if new4:
                lengths, keys, raws = zip(*_NEW4_PARTS.findall(segment))
                overhead = 12
            else:
                lengths, keys, put_ids, raws = zip(*_NEW2_PARTS.findall(segment))
                overhead = 19
            # the key length fields must agree and the items must tile the run exactly
            if list(b"".join(lengths)) != [len(key) for key in keys] or \
                    overhead * len(keys) + sum(map(len, keys)) != len(segment):
                return None
            texts = b"\n".join(keys).decode("ascii").split("\n")
            target.update(zip(texts, struct.unpack(">%dd" % len(raws), b"".join(raws))))
            if new4:
                memo.update(zip(range(memo_next, memo_next + len(texts)), texts))
                memo_next += len(texts)
            else:
                ids = struct.unpack("<%dI" % len(put_ids), b"".join(put_ids))
                memo.update(zip(ids, texts))
                memo_next = max(memo_next, max(ids) + 1)
        else:
            return None
        self.pos = end
        return memo_next

    def _mixed_run(self, target: dict, memo: dict, pos: int, memo_next: int):
        """Like :meth:`_dict_run` for runs mixing new and memoized string keys (item by item, still verified)."""
        buf = self.buf
        match = _STR_FLOAT_RUN.match(buf, pos)
        if match is None:
            return None
        segment = buf[pos + 1:match.end() - 1]
        items = []
        puts = {}  # memo id -> key defined in this run
        covered = 0
        next_id = memo_next
        for length4, key4, length2, key2, put1, put4, get1, get4, raw in _STR_FLOAT_PARTS.findall(segment):
            if key4:
                if length4[0] != len(key4):
                    return None
                text = key4.decode("ascii")
                puts[next_id] = text
                next_id += 1
                covered += len(key4) + 12
            elif key2:
                if length2[0] != len(key2):
                    return None
                text = key2.decode("ascii")
                put_id = put1[0] if put1 else _unpack_u4(put4)[0]
                puts[put_id] = text
                next_id = max(next_id, put_id + 1)
                covered += len(key2) + (16 if put1 else 19)
            else:
                i = get1[0] if get1 else _unpack_u4(get4)[0]
                text = puts[i] if i in puts else memo.get(i)
                covered += 11 if get1 else 14
            if type(text) is not str:
                return None
            items.append((text, raw))
        if covered != len(segment):
            return None
        memo.update(puts)
        for text, raw in items:
            target[text] = _unpack_double(raw)[0]
        self.pos = match.end()
        return next_id

    def _readline_bytes(self) -> bytes:
        """The bytes from ``pos`` to the next newline (consumed, newline dropped); at most MAX_LINE_BYTES."""
        start = self.pos
        while True:
            end = self.buf.find(b"\n", start, self.pos + MAX_LINE_BYTES + 1)
            if end >= 0:
                line = self.buf[start:end]
                self.pos = end + 1
                return line
            before = len(self.buf) - self.pos
            if before > MAX_LINE_BYTES:
                raise PickleDataError(f"a text argument longer than {MAX_LINE_BYTES:,} bytes (no newline): the file "
                                      "is corrupt or hostile", self.offset)
            if not self._fill(before + 1):
                raise PickleDataError("pickle data was truncated in a text argument", self.offset)
            start = self.pos + before

    def _readline(self) -> str:
        return self._readline_bytes().decode("latin-1")

    def _text_int(self, text: str) -> int:
        if len(text.strip().lstrip("+-")) > 3 * self.max_int_bytes:
            raise PickleDataError(f"a text integer of {len(text):,} digits: no benchmark value is that large",
                                  self.offset)
        return int(text)

    def _find_class(self, module: str, name: str):
        if module == "__builtin__":  # Python 2 name of builtins (pickle's fix_imports)
            module = "builtins"
        key = (module, name)
        if key in self.globals_map:
            return self.globals_map[key] if self.globals_map[key] is not None else _reconstructor
        if name in STATE_CLASSES:
            return _state_class(name)
        shown = ".".join(part[:100] if isinstance(part, str) else short_repr(part) for part in (module, name))
        raise UnsupportedPickle(f"unexpected class {shown} in the results", self.offset)

    def _call(self, func, args):
        if func is _reconstructor:
            cls, _base, _state = args
            return self._call(cls, ())
        if not callable(func):
            raise UnsupportedPickle(f"cannot call {short_repr(func)}", self.offset)
        try:
            return func(*args)
        except UnsupportedPickle as exc:
            raise UnsupportedPickle(exc.reason, self.offset) from None
        except (TypeError, ValueError, struct.error, OverflowError, UnicodeError) as exc:
            raise UnsupportedPickle(f"cannot rebuild {getattr(func, '__name__', '?')!r}: {str(exc)[:200]}",
                                    self.offset) from None

    def _build(self, inst, state):
        if isinstance(inst, StateDict):
            if isinstance(state, tuple) and len(state) == 2:
                state = {**(state[0] or {}), **(state[1] or {})}
            if not isinstance(state, dict):
                raise UnsupportedPickle(f"unexpected state for {inst.class_name}", self.offset)
            inst.update(state)
            return
        setstate = getattr(inst, "__setstate__", None)
        if isinstance(inst, (_Dtype, NumpyArray)):
            inst.__setstate__(state)
            return
        if isinstance(inst, dict) and isinstance(state, dict):
            inst.update(state)
            return
        raise UnsupportedPickle(f"cannot set the state of a {type(inst).__name__}"
                                + ("" if setstate else " (no __setstate__)"), self.offset)

    def _missing(self, i: int, span_start: int):
        if i < span_start:
            return UnsupportedPickle(
                f"the pickle refers back to object #{i} of an earlier architecture record, which this streaming "
                "reader has already released", self.offset)
        return PickleDataError(f"the pickle refers to object #{i}, which it never defined", self.offset)

    def _release(self, memo: dict, start: int, stop: int) -> None:
        # ids are the file's choice (PUT 10**18): walk the entries when the id range is wider than the memo
        ids = range(start, stop) if stop - start <= 2 * len(memo) else [i for i in memo if start <= i < stop]
        for i in ids:
            value = memo.get(i, memo)
            if value is not memo and not _release_kept(value):
                del memo[i]
                self.released += 1

    def _check_record(self, record) -> None:
        problem = nesting_error(record, MAX_NESTING)
        if problem is not None:
            raise PickleDataError(f"an architecture record has {problem}", self.offset)


_OPCODE_NAMES = {0x42: "BINBYTES", 0x8E: "BINBYTES8", 0x8D: "BINUNICODE8", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING"}


def _cost(value) -> int:
    """Estimated bytes of an object built by an allowed callable (beyond the input bytes it came from)."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    if isinstance(value, NumpyArray):  # a list of numbers decoded from raw bytes
        return _CONTAINER_BYTES + (_SLOT_BYTES + _INT_BYTES) * len(value)
    if isinstance(value, (dict, set, frozenset)):
        return _CONTAINER_BYTES * 3 + _ENTRY_BYTES * len(value)
    if isinstance(value, (list, tuple)):
        return _CONTAINER_BYTES + _SLOT_BYTES * len(value)
    return _CONTAINER_BYTES


def _reconstructor(*args):  # a marker; copyreg._reconstructor(cls, base, state) is handled in _call
    raise UnsupportedPickle("copyreg._reconstructor called directly")


def load_data_pickle(read, arrays: bool = False, max_value_bytes: int | None = None,
                     max_live_bytes: int | None = None):
    """One whole pickle of plain data (plus numeric numpy arrays with ``arrays=True``) from ``read``, with every limit
    of the streaming reader (``max_value_bytes`` / ``max_live_bytes`` replace two of them, e.g. for a 100 MB image
    batch): no code from the file runs. Raises PickleDataError, UnsupportedPickle or EOFError."""
    reader = StreamUnpickler(read, arrays=arrays)
    if max_value_bytes is not None:
        reader.max_value_bytes = max_value_bytes
    if max_live_bytes is not None:
        reader.max_live_bytes = reader.measure_at = max_live_bytes
    for _ in reader.load():
        pass
    return reader.result
