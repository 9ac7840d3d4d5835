"""File digests and the ``<file>.sha256`` record: the one home of both.

A verified download writes ``<file>.sha256`` beside the file, holding ``<sha256hex> <size> <mtime_ns>`` (plus
``md5:<hex>`` for md5-checked files). Converters and scripts trust a record whose size and mtime still match the file,
so a multi-gigabyte original is hashed once, at download time, and never again on later loads; a file changed since
makes its record stale and it is hashed again.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

RECORD_SUFFIX = ".sha256"
BLOCK_BYTES = 4 << 20
_HEX = re.compile(r"^[0-9a-f]+$")


def hash_file(path, with_md5: bool = True, block: int = BLOCK_BYTES) -> tuple[str, str | None, int]:
    """``(sha256, md5 or None, bytes)`` of a file, read once."""
    sha = hashlib.sha256()
    md5 = hashlib.md5() if with_md5 else None
    total = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            sha.update(chunk)
            if md5 is not None:
                md5.update(chunk)
            total += len(chunk)
    return sha.hexdigest(), (md5.hexdigest() if md5 is not None else None), total


def file_digest(path, algorithm: str = "sha256", block: int = BLOCK_BYTES) -> str:
    """Hex digest of a whole file with one ``hashlib`` algorithm (``sha256``, ``md5``...)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def record_path(path) -> Path:
    return Path(str(path) + RECORD_SUFFIX)


def write_record(path, sha256: str, md5: str | None = None) -> Path:
    """Write ``<file>.sha256`` = ``<sha256hex> <size> <mtime_ns>[ md5:<hex>]`` atomically; returns its path."""
    path = Path(path)
    st = path.stat()
    text = f"{sha256} {st.st_size} {st.st_mtime_ns}" + (f" md5:{md5}" if md5 else "") + "\n"
    record = record_path(path)
    temp = record.parent / f".{record.name}.tmp-{os.getpid()}"
    temp.write_text(text)
    os.replace(temp, record)
    return record


def read_record(path) -> tuple[str, str | None] | None:
    """``(sha256, md5 or None)`` from a record that still matches the file's size and mtime, else None."""
    path = Path(path)
    try:
        tokens = record_path(path).read_text().split()
        st = path.stat()
        sha256, size, mtime_ns = tokens[0], int(tokens[1]), int(tokens[2])
    except (OSError, ValueError, IndexError):
        return None
    if size != st.st_size or mtime_ns != st.st_mtime_ns or len(sha256) != 64 or not _HEX.match(sha256):
        return None
    md5 = next((t[4:] for t in tokens[3:] if t.startswith("md5:") and len(t) == 36), None)
    return sha256, md5


def recorded_sha256(path) -> str | None:
    """The sha256 a verified download recorded beside ``path``, if the record still matches the file."""
    record = read_record(path)
    return record[0] if record else None


def known_or_hashed_sha256(path) -> str:
    """The recorded sha256 of ``path`` when there is a valid record, else the file's sha256 (read once)."""
    return recorded_sha256(path) or file_digest(path, "sha256")
