"""The shared reader limits (nasbench_db.limits): bombs, deep nesting and huge declared lengths are CorruptInput."""

from __future__ import annotations

import bz2
import io
import zipfile

import pytest

from nasbench_db import limits
from nasbench_db.errors import CorruptInput


def test_loads_json_accepts_ordinary_documents():
    assert limits.loads_json(b'{"a": [1, 2, {"b": null}]}', "x.json") == {"a": [1, 2, {"b": None}]}


@pytest.mark.parametrize("depth", [limits.MAX_NESTING + 1, 100_000])
def test_loads_json_refuses_deep_nesting_naming_the_file(depth):
    with pytest.raises(CorruptInput, match=r"x\.json, record r7: .*nested deeper than 64"):
        limits.loads_json("[" * depth + "]" * depth, "x.json", "r7")


def test_loads_json_refuses_oversized_documents_before_parsing():
    with pytest.raises(CorruptInput, match="over the limit of 10"):
        limits.loads_json(b"[" + b"1," * 10 + b"1]", "x.json", max_bytes=10)


def test_loads_json_reports_syntax_errors_with_the_offset():
    with pytest.raises(CorruptInput, match=r"x\.json \(byte offset 40\): not valid JSON"):
        limits.loads_json(b"{nope", "x.json", 40)


def test_bz2_bomb_is_refused_without_expanding_it():
    bomb = bz2.compress(b"\0" * (4 << 20))
    assert len(bomb) < 1000
    with pytest.raises(CorruptInput, match="decompression bomb"):
        limits.bz2_decompress(bomb, "m.pbz2", limit=1 << 20)
    assert limits.bz2_decompress(bomb, "m.pbz2", limit=4 << 20) == b"\0" * (4 << 20)


def test_bz2_concatenated_streams_and_truncation():
    both = bz2.compress(b"ab") + bz2.compress(b"cd")
    assert limits.bz2_decompress(both, "m.pbz2") == b"abcd"
    with pytest.raises(CorruptInput, match="truncated bz2"):
        limits.bz2_decompress(both[:-5], "m.pbz2")
    with pytest.raises(CorruptInput, match="invalid bz2"):
        limits.bz2_decompress(b"BZh9garbage", "m.pbz2")


def test_zip_member_declared_and_actual_size_are_bounded():
    import random

    data = random.Random(0).randbytes(2 << 20)  # incompressible: a plausible expansion
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.json", data)
        archive.writestr("bomb.json", b" " * (2 << 20))  # ~1000x
    with zipfile.ZipFile(buffer) as archive:
        info = archive.getinfo("big.json")
        assert limits.read_zip_member(archive, info, "a.zip") == data
        with pytest.raises(CorruptInput, match=r"a\.zip, record bomb\.json: zip member bomb\.json declares "
                                               r"2,097,152 bytes from [0-9,]+ compressed \(over 200x\): a zip bomb"):
            limits.read_zip_member(archive, archive.getinfo("bomb.json"), "a.zip")
        with pytest.raises(CorruptInput, match=r"a\.zip, record big\.json: zip member big\.json declares"):
            limits.read_zip_member(archive, info, "a.zip", limit=1 << 20)
        info.file_size = 10  # a lying header: the output is still capped
        with pytest.raises(CorruptInput, match="(larger than the limit|cannot be read)"):
            limits.read_zip_member(archive, info, "a.zip", limit=1 << 20)


def test_check_declared_length():
    assert limits.check_declared_length("f", 5, 10, "value") == 5
    with pytest.raises(CorruptInput, match=r"f \(byte offset 3\): BINUNICODE8 declares 1,152,921,504,606,846,976"):
        limits.check_declared_length("f", 2 ** 60, limits.MAX_VALUE_BYTES, "BINUNICODE8", 3)


def test_json_nesting_is_checked_level_by_level():
    assert limits.json_nesting_error([[[]]], 3) is None
    assert "deeper than 2 levels" in limits.json_nesting_error([[[]]], 2)
    assert limits.json_nesting_error({"a": [{"b": 1}, 2.0, "x"]}, 3) is None
    assert limits.json_nesting_error({"a": [{"b": {}}]}, 3) is not None
    assert limits.json_nesting_error(5) is None
    depth = limits.MAX_NESTING
    assert limits.loads_json("[" * depth + "]" * depth, "f.json") is not None
    with pytest.raises(CorruptInput, match=r"f\.json: containers nested deeper than 64 levels"):
        limits.loads_json("[" * (depth + 1) + "]" * (depth + 1), "f.json")
    with pytest.raises(CorruptInput, match=r"f\.json: JSON nested deeper than 64 levels"):
        limits.loads_json(b"[" * 100_000 + b"]" * 100_000, "f.json")  # json's own recursion limit first


def test_loads_json_names_a_git_lfs_pointer():
    pointer = (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"ab" * 32 + b"\nsize 1234\n")
    for data in (pointer, pointer.decode()):
        with pytest.raises(CorruptInput, match=r"log\.json: this is a Git LFS pointer file \(sha256:abab.*1,234 "
                                               r"bytes\).*git lfs pull"):
            limits.loads_json(data, "log.json")
