"""TFRecord container: read and write without TensorFlow.

A TFRecord file is records back to back, no header::

    uint64 length (LE) | uint32 masked_crc32c(length bytes) (LE) | data[length] | uint32 masked_crc32c(data) (LE)

CRC-32C is computed by ``google-crc32c`` (C). :func:`iter_records` streams in fixed-size blocks (constant memory),
verifies both checksums and raises :class:`CorruptInput` naming the file, record number and byte offset.
"""

from __future__ import annotations

import hashlib
import os
import struct
from typing import BinaryIO, Iterator

import google_crc32c

from ..errors import CorruptInput
from ..limits import MAX_RECORD_BYTES

_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8
#: No NB-101 record is near :data:`~nasbench_db.limits.MAX_RECORD_BYTES`; a larger length means the file is not a
#: TFRecord (or is corrupt or hostile): refused before anything of that size is read.
BLOCK_BYTES = 4 << 20


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C of ``data``."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def iter_records(path, verify_crc: bool = True, digest: "hashlib._Hash | None" = None,
                 start_offset: int = 0) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(record_number, byte_offset, data)`` for every record of the file at ``path``.

    ``digest`` (e.g. ``hashlib.sha256()``) is fed every byte read, so a caller gets the file's checksum from the same
    pass. Raises :class:`CorruptInput` on a bad checksum, an impossible length or a truncated record.
    """
    path = os.fspath(path)
    with open(path, "rb", buffering=0) as handle:
        yield from _iter_stream(handle, path, verify_crc, digest, start_offset)


def _iter_stream(handle: BinaryIO, path: str, verify_crc: bool, digest, start_offset: int):
    if start_offset:
        handle.seek(start_offset)
    buffer = b""
    pos = 0  # position of the next record inside buffer
    base = start_offset  # file offset of buffer[0]
    number = 0
    eof = False
    unpack_header = _HEADER.unpack_from
    unpack_crc = _CRC.unpack_from
    crc = google_crc32c.value

    def refill(need: int) -> bool:
        """Make buffer[pos:] hold at least ``need`` bytes; False at end of file."""
        nonlocal buffer, pos, base, eof
        while len(buffer) - pos < need and not eof:
            block = handle.read(max(BLOCK_BYTES, need))
            if not block:
                eof = True
                break
            if digest is not None:
                digest.update(block)
            base += pos
            buffer = buffer[pos:] + block
            pos = 0
        return len(buffer) - pos >= need

    while True:
        if not refill(12):
            remaining = len(buffer) - pos
            if remaining:
                raise CorruptInput(path, f"truncated record header: {remaining} of 12 bytes before end of file",
                                   number, base + pos)
            return
        length, length_crc = unpack_header(buffer, pos)
        offset = base + pos
        if verify_crc:
            expected = (((c := crc(buffer[pos:pos + 8])) >> 15 | c << 17) + _MASK_DELTA) & 0xFFFFFFFF
            if expected != length_crc:
                raise CorruptInput(path, "length checksum mismatch: the file is not a TFRecord or is corrupt",
                                   number, offset)
        if length > MAX_RECORD_BYTES:
            raise CorruptInput(path, f"record length {length} exceeds the limit of {MAX_RECORD_BYTES} bytes: the "
                                     "file is not a TFRecord or is corrupt", number, offset)
        if not refill(12 + length + 4):
            raise CorruptInput(path, f"truncated record: needs {length + 16} bytes, "
                                     f"{len(buffer) - pos} left in the file", number, offset)
        start = pos + 12
        data = buffer[start:start + length]
        if verify_crc:
            (data_crc,) = unpack_crc(buffer, start + length)
            expected = (((c := crc(data)) >> 15 | c << 17) + _MASK_DELTA) & 0xFFFFFFFF
            if expected != data_crc:
                raise CorruptInput(path, "data checksum mismatch: the record is corrupt", number, offset)
        yield number, offset, data
        pos = start + length + 4
        number += 1


def encode_record(data: bytes) -> bytes:
    """One framed TFRecord record."""
    length = struct.pack("<Q", len(data))
    return length + _CRC.pack(masked_crc(length)) + data + _CRC.pack(masked_crc(data))


def write_records(path, payloads) -> int:
    """Write ``payloads`` (bytes) as a TFRecord file; returns the number of records."""
    count = 0
    with open(path, "wb") as handle:
        for data in payloads:
            handle.write(encode_record(data))
            count += 1
    return count
