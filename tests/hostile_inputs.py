"""Hostile inputs, one generator per family, for tests/test_hostile.py and bench/hostile_bench.py.

Each generator yields :class:`Case` objects: a name, the bytes (or a function writing them), what the reader must say
(a regex of the CorruptInput message) and, for bombs, how much the input would cost unbounded. Sizes are parameters:
the tests use small ones, the bench the sizes of the issue (a 6 GB bz2 bomb, 2**60 declared lengths...).

Families: pickle (code execution, nesting, declared lengths, memo ids, text opcodes, amplifiers, object floods),
compressed members (bz2 / zip bombs, lying sizes), TFRecord JSON rows (NB-101 and EC-NAS-Bench), NDS JSON jobs,
NAS-Bench-NLP logs and archives, HW-NAS-Bench pickles, zero-cost proxy JSON (NAS-Bench-Suite-Zero), Git LFS pointers.
"""

from __future__ import annotations

import bz2
import io
import json
import struct
import zipfile
from dataclasses import dataclass, field

#: A shell command no test ever wants run: if a reader executes a payload, this marker file appears.
PAYLOAD_MARKER = "nasbench_hostile_payload_ran"


@dataclass
class Case:
    name: str
    data: bytes
    expect: str | None  # regex the error message must match; None: the input is accepted (harmlessly)
    note: str = ""
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------------------
# Pickle opcodes


def _unicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _short(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def os_system_global(command: str) -> bytes:
    """GLOBAL posix.system + REDUCE: ``os.system(command)`` as protocol 2 pickles it."""
    return b"cposix\nsystem\n(" + _unicode(command) + b"tR"


def os_system_stack_global(command: str) -> bytes:
    """STACK_GLOBAL builtins.exec + REDUCE (protocol 4)."""
    return _short("builtins") + _short("exec") + b"\x93(" + _unicode(
        f"import os; os.system({command!r})") + b"tR"


def nb201_wrapper(record_value: bytes) -> bytes:
    """A protocol-2 pickle of ``{'arch2infos': {0: {'less': {'all_results': {}, 'x': <value>}}}}``: the payload
    hidden inside an otherwise well-formed architecture record."""
    return (b"\x80\x02}(" + _unicode("arch2infos") + b"}(K\x00}(" + _unicode("less") + b"}(" +
            _unicode("all_results") + b"}" + _unicode("x") + record_value + b"uuuu.")


def payload_pickles(marker_path: str):
    """Pickles that run ``touch <marker_path>`` when loaded by ``pickle.load`` / ``torch.load(weights_only=False)``."""
    command = f"touch {marker_path}"
    yield Case("GLOBAL os.system + REDUCE (top level)", b"\x80\x02" + os_system_global(command) + b".",
               "unexpected class posix.system")
    yield Case("STACK_GLOBAL exec + REDUCE (top level)", b"\x80\x04" + os_system_stack_global(command) + b".",
               "unexpected class builtins.exec")
    yield Case("os.system hidden inside a valid record", nb201_wrapper(os_system_global(command)),
               "unexpected class posix.system")
    yield Case("exec hidden inside a valid record (protocol 4)",
               b"\x80\x04" + nb201_wrapper(os_system_stack_global(command))[2:],
               "unexpected class builtins.exec")


def hostile_pickles(nesting: int = 100_000, flood_bytes: int = 4 << 20):
    """Malformed and hostile pickle streams (the reader must raise, bounded, naming the problem)."""
    yield Case(f"{nesting:,}-level nesting via MARK/LIST", b"\x80\x02" + b"(" * nesting + b"l" * nesting + b".",
               r"nested deeper than 64")
    yield Case(f"{nesting:,}-level nesting via EMPTY_LIST/APPEND",
               b"\x80\x02" + b"]" * nesting + b"a" * (nesting - 1) + b".", r"nested deeper than 64")
    yield Case(f"{nesting:,}-level nesting via memo (stack depth 2)",
               b"\x80\x04]\x94" + b"0]h\x00a\x94" * 200 + b"0]" + b"".join(
                   b"j" + struct.pack("<I", i) + b"a\x94" for i in range(200, nesting)) + b".",
               r"nested deeper than 64|a cycle")
    yield Case("a list containing itself (a cycle)", b"\x80\x04]\x94h\x00a.", r"contains itself \(a cycle\)")
    yield Case("BINUNICODE8 declaring 2**60 bytes", b"\x80\x04\x8d" + struct.pack("<Q", 1 << 60) + b"abc",
               r"BINUNICODE8 declares 1,152,921,504,606,846,976 bytes")
    yield Case("BINBYTES8 declaring 2**60 bytes", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 60) + b"abc",
               r"BINBYTES8 declares 1,152,921,504,606,846,976 bytes")
    yield Case("FRAME declaring 2**60 bytes", b"\x80\x04\x95" + struct.pack("<Q", 1 << 60) + b"N.",
               r"FRAME declares 1,152,921,504,606,846,976 bytes")
    yield Case("BINUNICODE declaring 4 GB", b"\x80\x02X" + struct.pack("<I", 0xFFFFFFFF) + b"abc",
               r"BINUNICODE declares 4,294,967,295 bytes")
    yield Case("BINSTRING with a negative length", b"\x80\x02T" + struct.pack("<i", -5) + b"abc",
               r"negative length")
    yield Case("PUT 10**18 then a record (release loop)", nb201_wrapper(b"N" + b"p1000000000000000000\n"),
               None, note="accepted: the memo is a dict, releasing walks its entries")
    yield Case("LONG_BINPUT 2**32-1 then a record", nb201_wrapper(b"Nr" + struct.pack("<I", 0xFFFFFFFF)),
               None, note="accepted: no loop over memo ids")
    yield Case("STRING opcode (a quoted Python 2 str, never evaluated)",
               b"S'__import__(\\'os\\').system(\\'true\\')'\n.", None, note="accepted as text")
    yield Case("STRING opcode unquoted", b"S__import__('os').system('true')\n.", r"must be quoted")
    yield Case("bytearray(4.5e9) amplifier", b"\x80\x02c__builtin__\nbytearray\nJ" + struct.pack("<i", 2 ** 31 - 1) +
               b"\x85R.", r"bytearray\(\) of .*only data is rebuilt")
    yield Case("bytes(10**12) amplifier", b"\x80\x02cbuiltins\nbytes\n\x8a\x06" + (10 ** 12).to_bytes(6, "little") +
               b"\x85R.", r"bytes\(\) of .*only data is rebuilt")
    yield Case("_codecs.encode with a non-text codec", b"\x80\x02c_codecs\nencode\n" + _unicode("x" * 10) +
               _unicode("zlib") + b"\x86R.", r"_codecs.encode")
    yield Case("LONG1 integer of 200 bytes (hash flooding)", b"\x80\x02\x8a\xc8" + b"\x01" * 200 + b".",
               r"LONG1 integer of 200 bytes")
    yield Case("LONG4 integer of 1 MB", b"\x80\x02\x8b" + struct.pack("<i", 1 << 20) + b"\x01" * 16,
               r"LONG4 integer of 1,048,576 bytes")
    yield Case("text INT of 5,000 digits", b"I" + b"9" * 5000 + b"\n.", r"text integer of 5,000 digits")
    yield Case("a 1 MB text argument without newline", b"c" + b"m" * (1 << 20), r"text argument longer than")
    yield Case("persistent id (a tensor)", b"\x80\x02X\x01\x00\x00\x00aQ.", r"tensors or other persistent")
    yield Case("unknown opcode", b"\x80\x02\xff.", r"unsupported or invalid pickle opcode 0xff")
    yield Case("truncated", b"\x80\x02}(X\x05\x00\x00\x00ab", r"truncated")
    yield Case(f"EMPTY_SET flood ({flood_bytes:,} bytes: ~{flood_bytes * 224 >> 20:,} MB unbounded)",
               b"\x80\x04" + b"\x8f" * flood_bytes + b".", r"keeps more than .* MB of objects alive",
               extra={"unbounded_bytes": flood_bytes * 224})
    yield Case(f"EMPTY_DICT + MEMOIZE flood ({flood_bytes:,} bytes)",
               b"\x80\x04" + b"}\x94" * (flood_bytes // 2) + b".", r"keeps more than .* MB of objects alive",
               extra={"unbounded_bytes": flood_bytes // 2 * 180})


# ---------------------------------------------------------------------------------------------------------------------
# Compressed members


def bz2_bomb(total_bytes: int, unit: int = 64 << 20, byte: bytes = b"\0") -> bytes:
    """A bz2 file expanding to ``total_bytes`` (concatenated streams of one compressed ``unit``; a 6 GB bomb is a
    few KB)."""
    block = bz2.compress(byte * min(unit, total_bytes), 9)
    count, rest = divmod(total_bytes, unit)
    return block * count + (bz2.compress(byte * rest, 9) if rest else b"")


def pickle_stream_bomb(total_bytes: int, unit: int = 32 << 20) -> bytes:
    """A .pbz2 whose pickle is valid opcode after opcode (NONE, POP) for ``total_bytes``: only the expansion bound
    stops it before it has been read whole (a few KB of input for gigabytes of work)."""
    block = bz2.compress(b"N0" * (unit // 2), 9)
    return bz2.compress(b"\x80\x04", 9) + block * max(1, total_bytes // unit)


def zip_with(name: str, data: bytes, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def zip_lying_size(name: str, declared: int) -> bytes:
    """A zip whose member declares ``declared`` uncompressed bytes from a few compressed ones (a lying header)."""
    raw = zip_with(name, b"[]", zipfile.ZIP_DEFLATED)
    real = len(b"[]")
    # patch both the local header and the central directory entry: uncompressed size field (4 bytes)
    out = bytearray(raw)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = out.find(signature)
        assert struct.unpack_from("<I", out, at + offset)[0] == real
        struct.pack_into("<I", out, at + offset, min(declared, 0xFFFFFFFF))
    return bytes(out)


# ---------------------------------------------------------------------------------------------------------------------
# TFRecord JSON rows (NB-101)


def nb101_rows(valid_row: list, nesting: int = 100_000):
    """``(name, JSON payload bytes, expected message)``: rows with a valid CRC but hostile content. ``valid_row`` is a
    real record's ``[hash, epochs, adjacency, operations, base64 metrics]``."""
    module_hash, epochs, adjacency, operations, metrics = valid_row

    def row(*values):
        return json.dumps(list(values)).encode()

    yield Case("hash as a list", row([module_hash], epochs, adjacency, operations, metrics), r"module hash must be")
    yield Case("epochs as a string", row(module_hash, str(epochs), adjacency, operations, metrics),
               r"epochs must be a positive integer")
    yield Case("epochs 10**30", row(module_hash, 10 ** 30, adjacency, operations, metrics),
               r"epochs must be a positive integer \(at most 100,000\)")
    yield Case("epochs 1e30 (a float)", row(module_hash, 1e30, adjacency, operations, metrics),
               r"epochs must be a positive integer")
    yield Case("adjacency as a dict", row(module_hash, epochs, {"a": 1}, operations, metrics),
               r"adjacency, operations and metrics must be strings")
    yield Case(f"{nesting:,}-level nesting", b"[" * nesting + b"]" * nesting, r"nested too deeply|not the NB-101")
    yield Case("a 2 MB row", row(module_hash, epochs, adjacency, operations, "A" * (2 << 20)),
               r"over the limit of 1,048,576")
    yield Case("metrics not base64", row(module_hash, epochs, adjacency, operations, "@@@"),
               r"base64|expected 3 evaluations|no trainable_parameters")
    yield Case("metrics protobuf garbage", row(module_hash, epochs, adjacency, operations, "////////"),
               r"runs past|wire type|truncated|varint|expected 3 evaluations")
    yield Case("an object instead of the array", json.dumps({"hash": module_hash}).encode(), r"NB-101 array")
    yield Case("not UTF-8", b"\xff\xfe[1]", r"not JSON")


# ---------------------------------------------------------------------------------------------------------------------
# NDS JSON jobs


def nds_jobs(valid_job: dict, nesting: int = 100_000, big_list_bytes: int = 20 << 20):
    """Sweep files (a JSON list) with one hostile job each, from a real-shaped ``valid_job``."""

    def sweep(job) -> bytes:
        return json.dumps([valid_job, job]).encode()

    def changed(**updates):
        job = json.loads(json.dumps(valid_job))
        for key, value in updates.items():
            target = job
            *path, last = key.split("__")
            for part in path:
                target = target[part]
            target[last] = value
        return job

    yield Case(f"a job nested {nesting:,} deep", json.dumps([valid_job]).encode()[:-1] + b"," +
               b"[" * nesting + b"]" * nesting + b"]", r"nested deeper than 64")
    yield Case(f"a job with a {big_list_bytes >> 20} MB list (read no further than the limit)",
               json.dumps([valid_job]).encode()[:-1] + b',{"train_ep_top1": [' + b"1.0," * (big_list_bytes // 4) +
               b"1.0]}]", r"longer than 16,777,216 characters")
    yield Case("rng_seed 2**70", sweep(changed(rng_seed=2 ** 70)), r"'rng_seed' = .* is out of range")
    yield Case("params 10**400", json.dumps([valid_job]).encode()[:-1] + b"," +
               json.dumps(changed(params=0)).encode().replace(b'"params": 0', b'"params": 1' + b"0" * 400) + b"]",
               r"'params' must be a number that fits a double")
    yield Case("optim.max_ep 10**30", sweep(changed(optim__max_ep=10 ** 30)), r"max_ep")
    yield Case("a string in an epoch list", sweep(changed(train_ep_top1=["x"] * len(valid_job["train_ep_top1"]))),
               r"holds a non-number 'x'")
    yield Case("a dict as net", sweep(changed(net=[1, 2])), r"bad 'net'")
    yield Case("a list as the job", sweep([1, 2]), r"the job is a list")
    yield Case("an unhashable op", sweep(changed(net__genotype__normal=[[["x"], 0]] * 4)) if "genotype" in
               valid_job.get("net", {}) else sweep(changed(net__block_type=["x"])), r"bad 'net'|unexpected shape")


# ---------------------------------------------------------------------------------------------------------------------
# NAS-Bench-NLP logs (convert nlp)


def nlp_logs(valid_log: dict, nesting: int = 100_000):
    """Log files (``log_stats_model_*.json``) with one hostile field each, from a real ``valid_log``."""

    def changed(**updates) -> bytes:
        log = json.loads(json.dumps(valid_log))
        log.update(updates)
        return json.dumps(log).encode()

    epochs = len(valid_log["train_losses"])
    yield Case("num_params 10**30", changed(num_params=10 ** 30), r"'num_params' = .* is out of range")
    yield Case("recepie_id 2**70", changed(recepie_id=2 ** 70), r"'recepie_id' = .* is out of range")
    yield Case("a loss of 10**400 (no double holds it)",
               changed(train_losses=[1.0] * epochs).replace(b'"train_losses": [1.0',
                                                            b'"train_losses": [1' + b"0" * 400),
               r"train_losses\[0\] must be a number that fits a double")
    yield Case("a loss of 10**30 (an int)", changed(val_losses=[10 ** 30] * epochs), None,
               note="accepted: stored as the double 1e30, bit for bit what float() gives")
    yield Case("a string in a loss list", changed(test_losses=["x"] * epochs),
               r"test_losses\[0\] = 'x' is not a number")
    yield Case("lists of different lengths", changed(wall_times=[1.0]), r"'wall_times' has 1 epochs")
    yield Case("1,000 epochs logged", changed(**{k: [1.0] * 1000 for k in
                                                 ("train_losses", "val_losses", "test_losses", "wall_times")}),
               r"1000 epochs logged, over the limit of 999")
    yield Case("an op that is a list (unhashable)",
               changed(recepie=json.dumps({"h_new_0": {"op": [], "input": ["x"]}})), r"bad 'recepie'.*unknown op")
    yield Case(f"a recipe (JSON text in the log) nested {nesting:,} deep",
               changed(recepie="[" * nesting + "]" * nesting),
               r"'recepie'.*nested deeper than 64")
    yield Case(f"a log nested {nesting:,} deep", b"[" * nesting + b"]" * nesting, r"nested deeper than 64")
    yield Case("status as a list", changed(status=[1]), r"'status' = \[1\] is not a string")
    yield Case("data as a number", changed(data=5), r"the log's 'data' must be the dataset path")
    yield Case("a list instead of the log object", b"[1, 2]", r"a log is a JSON object, not a list")
    yield Case("not UTF-8", b"\xff\xfe{}", r"not valid JSON")


def nlp_zip_bomb(member_bytes: int) -> bytes:
    """A logs.zip whose one log member expands ~1000x (whitespace): refused from its header before reading."""
    return zip_with("log_stats_model_1_2020-01-01_00-00-00_1.json", b"{" + b" " * member_bytes + b"}")


# ---------------------------------------------------------------------------------------------------------------------
# Zero-cost proxy JSON (convert zc)

ZC_KEY = "(0, 2, 3, 2, 3, 1)"  # a NASLib NB-201 key


def zc_files(nesting: int = 100_000, bomb_bytes: int = 60 << 20):
    """Zero-cost proxy files (``zc_nasbench201.json`` layout) with one hostile part each."""

    def doc(record) -> bytes:
        return json.dumps({"cifar10": {ZC_KEY: record}}).encode()

    yield Case("a score of 10**400 (no double holds it)",
               doc({"synflow": 7}).replace(b": 7}", b": 1" + b"0" * 400 + b"}"),
               r"\['synflow'\] must be a number that fits a double")
    yield Case("a key of 5,000 digits", json.dumps({"cifar10": {"(" + "9" * 5000 + ",)": {"idx": 1}}}).encode(),
               r"an arch key of 5,003 characters")
    yield Case("a key of 100,000 numbers", json.dumps({"cifar10": {"(1" + ",1" * 99_999 + ")": {"idx": 1}}}).encode(),
               r"an arch key of 200,001 characters")
    yield Case(f"{nesting:,}-level nesting", b"[" * nesting + b"]" * nesting, r"nested deeper than 64")
    yield Case("a score as a list", doc({"synflow": [1]}), r"expected a number, got list")
    yield Case("a score object with other keys", doc({"synflow": {"score": 1, "run": "rm -rf"}}),
               r"expected \{'score': \.\.\., 'time': \.\.\.\}")
    yield Case("a proxy name that is SQL", doc({"x') OR 1=1 --": 1.0}), r"is not a proxy name")
    yield Case("a 1 MB dataset name", json.dumps({"d" * (1 << 20): {ZC_KEY: 5}}).encode(),
               r"expected a record object")
    yield Case(f"{bomb_bytes >> 20} MB of [{{}},{{}},...] (a JSON bomb read whole)",
               b"[" + b"{}," * (bomb_bytes // 3) + b"{}]", r"would build ~[0-9,]+ MB of objects",
               extra={"unbounded_bytes": bomb_bytes * 25})


# ---------------------------------------------------------------------------------------------------------------------
# HW-NAS-Bench pickles (convert hw-nasbench)


def hw_pickles(valid: dict):
    """HW-NAS-Bench pickles (``{'nasbench201': ..., 'fbnet': ...}``) with one hostile part each, from ``valid`` (a
    small well-formed dict, see tests/hw_nasbench_fixture.py). Every family of :func:`hostile_pickles` and
    :func:`payload_pickles` applies too (the reader is the same)."""
    import copy
    import pickle

    import numpy

    def changed(edit) -> bytes:
        data = copy.deepcopy(valid)
        edit(data)
        return pickle.dumps(data, protocol=3)

    def metric(value):
        return lambda d: d["nasbench201"]["cifar10"].__setitem__("edgegpu_latency", value)

    yield Case("a latency of 10**30 (a 13-byte LONG1)", changed(metric([10 ** 30] * 3)), r"LONG1 integer of 13 bytes")
    yield Case("a 2-D latency array", changed(metric(numpy.zeros((2, 3)))), r"expected a 1-D array, got shape \(2, 3\)")
    yield Case("a string array", changed(metric(numpy.array(["a", "b"]))),
               r"numpy array of dtype 'U1' is not supported")
    yield Case("a config holding NaN", changed(
        lambda d: d["nasbench201"]["cifar10"].__setitem__("config", [{"C": float("nan")}] * 3)),
        r"\['config'\]\[0\]: a config value is NaN or infinite")
    yield Case("a config arch_str of another cell", changed(
        lambda d: d["nasbench201"]["cifar10"].__setitem__("config", [{"arch_str": "|none~0|+|none~0|none~1|+|none~0|"
                                                                                   "none~1|none~2|"}] * 3)),
        r"is not NB-201 architecture 0")
    yield Case("an architecture key that is a tuple", changed(metric({(1, 2): 3.0})),
               r"architecture keys must be NB-201 indices, got \(1, 2\)")
    array = pickle.dumps({"nasbench201": {"cifar10": {"edgegpu_latency": numpy.zeros(3)}}}, protocol=2)
    shape = b"K\x03\x85"  # the shape (3,) as pickled: BININT1 3, TUPLE1
    assert array.count(shape) == 1
    yield Case("an array declaring 10**9 elements", array.replace(shape, b"J" + struct.pack("<i", 10 ** 9) + b"\x85"),
               r"holds more than 10,000,000 elements")


def hw_array_flood(total_bytes: int) -> bytes:
    """An HW-NAS-Bench-shaped pickle whose metrics are bool arrays of 10,000,000 elements each (a 1-byte dtype: the
    most Python objects per input byte an array can make), ``total_bytes`` of them in all."""
    import pickle

    import numpy

    count = max(1, total_bytes // 10_000_000)
    metrics = {f"m{i}": numpy.zeros(10_000_000, dtype=bool) for i in range(count)}
    return pickle.dumps({"nasbench201": {"cifar10": metrics}}, protocol=4)


# ---------------------------------------------------------------------------------------------------------------------
# Git LFS


def lfs_pointer(size: int = 2_085_986_016) -> bytes:
    return (b"version https://git-lfs.github.com/spec/v1\n"
            b"oid sha256:3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c\n"
            + f"size {size}\n".encode())
