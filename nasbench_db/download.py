"""Verified, resumable downloads of the original benchmark files (and of NNI's prebuilt databases).

:data:`BUILTIN_CATALOG` names every file this package knows how to fetch, with its URLs and what is known of its
content. Only a FULL digest verifies a file (``verified=True``); the trust model is in ``docs/download.md``:

* NAS-Bench-101 ``nasbench_full.tfrecord`` / ``nasbench_only108.tfrecord``: the sha256 published in the README:
  verified;
* CIFAR-10/100 python tarballs: sha256 as Keras pins them, md5 as the dataset's page gives it: verified;
* NAS-Bench-201 ``NAS-Bench-201-v1_{0,1}-<md5 suffix>.pth`` and NATS-Bench
  ``NATS-{tss,sss}-v1_0-<md5 suffix>.pickle.pbz2``: the name ends with the last 5-6 hex digits of the file's md5.
  That is an identifier, not a checksum (a forged file with a matching suffix takes seconds to make): it is checked
  (a mismatch is a wrong file) but the download is reported UNVERIFIED: no full digest is published anywhere we could
  find. The restricted readers run no code whatever the bytes; a full digest would only prove they are the
  published ones;
* NATS-Bench ``-simple.tar`` archives: nothing published (their name carries the suffix of the ``.pickle.pbz2``, not
  of the tar); a third-party pin of the topology tar is compared as advisory only: UNVERIFIED;
* NDS ``data.zip``: no published checksum: UNVERIFIED (its sha256 is recorded);
* NNI's prebuilt databases: the name ends with the first 8 hex digits of the file's sha256, an identifier checked as
  a prefix: UNVERIFIED.

How a download proceeds (:func:`fetch`):

1. Under an exclusive lock (``.<file>.lock``), a file already under the final name is accepted when its recorded
   checksum (``<file>.sha256``, see below) or, failing that, one hash of its bytes satisfies the expectations.
2. Bytes stream into ``.<file>.part`` in the target directory and are hashed as they arrive. After a cut the transfer
   resumes with an HTTP ``Range`` request (``If-Range`` guards against a file changed on the server), with exponential
   backoff between attempts; a server that ignores ``Range`` (HTTP 200) makes it start over cleanly from byte 0.
   A ``.part`` left by an earlier, interrupted run is resumed too: its bytes are hashed once, then the rest is fetched.
3. Google Drive's "can't scan this file for viruses" page is answered (the ``download-form`` with its ``confirm``
   and ``uuid`` fields, the older ``confirm=`` link or ``download_warning`` cookie); its quota page, or any other
   HTML page where data was expected, is reported instead of being saved. A host that does not resolve fails at
   once (no retries: offline, or a wrong URL); an attempt slower than ``min_rate`` bytes/s over a minute counts as a
   failure even though bytes arrive (a trickling server); ``deadline`` bounds the whole download.
4. The checksum is verified (an empty body is never installed, whatever was expected), the file fsync-ed and
   ``os.replace``-d into place, and its sha256 is recorded beside it
   as ``<file>.sha256`` holding ``<sha256hex> <size> <mtime_ns>`` (plus ``md5:<hex>`` for md5-checked files). The
   converters read that record (:mod:`nasbench_db.checksums`), so gigabytes are hashed once, at
   download time, and never again on later loads as NNI does.

Nothing partial is ever visible under a final file name: a failure or a kill leaves at most the hidden ``.part``
(kept so the next run resumes it; deleted when its checksum turned out wrong).

``$NASBENCH_MIRROR`` (a base URL) replaces every catalog URL by ``<mirror>/<file name>``; ``$NASBENCH_CATALOG`` (a
JSON file) overrides or adds catalog entries, e.g. to pin the files of a private mirror.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import random
import re
import shutil
import sys
import tarfile
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from html import unescape
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from . import __version__
from ._process import pid_alive
from .checksums import hash_file, read_record, write_record
from .errors import ChecksumMismatch, CorruptInput, DownloadError, DriveQuotaExceeded, InvalidArgument

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
DEFAULT_RETRIES = 8
DEFAULT_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
DEFAULT_TIMEOUT_S = (20.0, 60.0)  # (connect, read between bytes)
#: The whole download, retries included (seconds; None: no limit). 4.7 GB at 1 MB/s take 80 minutes.
DEFAULT_DEADLINE_S = 12 * 3600.0
#: Slowest transfer accepted, in bytes/s averaged over MIN_RATE_WINDOW_S; a slower attempt is a failed attempt.
DEFAULT_MIN_RATE = 8 << 10
MIN_RATE_WINDOW_S = 60.0
#: Attempts at a host whose name does not resolve (then the URL fails: offline, or a wrong URL).
DNS_ATTEMPTS = 2
MAX_HTML_PAGES = 4  # Drive: landing page, confirm page, then data; more means a loop
MAX_PAGE_BYTES = 1 << 20
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
PART_SUFFIX = ".part"
DOWNLOADS_SUBDIR = "downloads"
USER_AGENT = f"nasbench_db/{__version__} (+https://pypi.org/project/nasbench_db)"


# ----------------------------------------------------------------------------------------------------------------------
# Expected checksums
# ----------------------------------------------------------------------------------------------------------------------
_HEX = re.compile(r"^[0-9a-f]+$")


def _hex(value, what: str, length: int | None = None, min_length: int = 1) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip().lower()
    if not _HEX.match(text) or (length is not None and len(text) != length) or len(text) < min_length:
        want = f"{length} hex digits" if length else f"at least {min_length} hex digits"
        raise InvalidArgument(f"{what} must be {want}: got {value!r}")
    return text


@dataclass(frozen=True)
class Expected:
    """What a file's digests must be. Empty = nothing published to check (the sha256 is still recorded).

    ``sha256`` and ``md5`` are full digests: they verify a file. ``sha256_prefix`` and ``md5_suffix`` are the short
    identifiers some file names carry: checked (a mismatch means another file) but they verify nothing, since a
    forged file matching a few hex digits takes seconds to make.
    """

    sha256: str | None = None
    sha256_prefix: str | None = None  # NNI: the file name ends with the first 8 hex digits of the sha256
    md5: str | None = None
    md5_suffix: str | None = None  # NB-201 / NATS: the file name ends with the last 5-6 hex digits of the md5

    def __post_init__(self):
        object.__setattr__(self, "sha256", _hex(self.sha256, "sha256", 64))
        object.__setattr__(self, "sha256_prefix", _hex(self.sha256_prefix, "sha256 prefix", min_length=4))
        object.__setattr__(self, "md5", _hex(self.md5, "md5", 32))
        object.__setattr__(self, "md5_suffix", _hex(self.md5_suffix, "md5 suffix", min_length=4))

    @property
    def needs_md5(self) -> bool:
        return bool(self.md5 or self.md5_suffix)

    @property
    def checks_anything(self) -> bool:
        return bool(self.sha256 or self.sha256_prefix or self.md5 or self.md5_suffix)

    @property
    def verifies(self) -> bool:
        """True when a full digest is expected: a matching file is the published one."""
        return bool(self.sha256 or self.md5)

    def key(self) -> str:
        """A stable text form (stored with a partial download: a partial for other expectations is not resumed)."""
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, sort_keys=True)

    def describe(self) -> str:
        parts = []
        if self.sha256:
            parts.append(f"sha256 {self.sha256}")
        if self.sha256_prefix:
            parts.append(f"sha256 starting with {self.sha256_prefix}")
        if self.md5:
            parts.append(f"md5 {self.md5}")
        if self.md5_suffix:
            parts.append(f"md5 ending with {self.md5_suffix}")
        text = ", ".join(parts) or "no published checksum"
        return text if self.verifies or not parts else text + " (an identifier, not a checksum)"

    def problems(self, sha256: str, md5: str | None) -> list[str]:
        """What does not match (empty when the digests satisfy every expectation)."""
        out = []
        if self.sha256 and sha256 != self.sha256:
            out.append(f"sha256 is {sha256}, expected {self.sha256}")
        if self.sha256_prefix and not sha256.startswith(self.sha256_prefix):
            out.append(f"sha256 is {sha256}, expected one starting with {self.sha256_prefix} (as its name says)")
        if self.md5 and md5 != self.md5:
            out.append(f"md5 is {md5}, expected {self.md5}")
        if self.md5_suffix and not (md5 or "").endswith(self.md5_suffix):
            out.append(f"md5 is {md5}, expected one ending with {self.md5_suffix} (as its name says)")
        return out


# ----------------------------------------------------------------------------------------------------------------------
# The catalog
# ----------------------------------------------------------------------------------------------------------------------
def _drive(file_id: str) -> tuple[str, ...]:
    """A Drive file's direct-download URL (usually no confirm page), then the classic one (a confirm page for big
    files)."""
    return (f"https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t",
            f"https://drive.google.com/uc?export=download&id={file_id}")


@dataclass(frozen=True)
class CatalogEntry:
    """One downloadable file.

    ``location``: 'downloads' puts it in ``$NASBENCHMARK_DIR/downloads`` (original files), 'databases' in
    ``$NASBENCHMARK_DIR`` itself (NNI's prebuilt databases, found there by :func:`nasbench_db.db.locate`).
    ``advisory_sha256``: a checksum not published by the authors; a mismatch is reported but not fatal.
    """

    name: str
    file_name: str
    urls: tuple
    description: str
    expected: Expected = Expected()
    checksum_source: str = ""
    approx_bytes: int | None = None
    location: str = "downloads"
    archive: bool = False
    advisory_sha256: str | None = None
    advisory_note: str = ""
    benchmark: str | None = None  # the database it feeds (nb101, nb201, nats_sss, nds), None for datasets


_GCS = "https://storage.googleapis.com/nasbench/"
_NNI_BLOB = "https://nni.blob.core.windows.net/nasbenchmark/"
_HW_NAS_BENCH_COMMIT = "393bb8a02554dcd28e091fbbdb4d7aefe590018a"
_HW_NAS_BENCH = "https://raw.githubusercontent.com/GATECH-EIC/HW-NAS-Bench/" + _HW_NAS_BENCH_COMMIT + "/"
_NASLIB_ZC = "https://raw.githubusercontent.com/automl/NASLib/6639fd1579010457885c641553c55b0c153045aa/naslib/data/"
_NLP_COMMIT = "a6d90a3b19e3966b1d009c0970b3761aa46707d1"
_NLP_RAW = f"https://raw.githubusercontent.com/fmsnew/nas-bench-nlp-release/{_NLP_COMMIT}/"

BUILTIN_CATALOG: dict[str, CatalogEntry] = {e.name: e for e in [
    CatalogEntry("nb101-full", "nasbench_full.tfrecord", (_GCS + "nasbench_full.tfrecord",),
                 "NAS-Bench-101, all 4 epoch budgets (4, 12, 36, 108)",
                 Expected(sha256="3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c"),
                 "published in google-research/nasbench README", 2_085_986_016, benchmark="nb101"),
    CatalogEntry("nb101-only108", "nasbench_only108.tfrecord", (_GCS + "nasbench_only108.tfrecord",),
                 "NAS-Bench-101, 108 epochs only",
                 Expected(sha256="4c39c3936e36a85269881d659e44e61a245babcb72cb374eacacf75d0e5f4fd1"),
                 "published in google-research/nasbench README", 499_000_000, benchmark="nb101"),
    CatalogEntry("nb201-v1_0", "NAS-Bench-201-v1_0-e61699.pth", _drive("1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs"),
                 "NAS-Bench-201 v1.0 (12-epoch runs on cifar10-valid only)", Expected(md5_suffix="e61699"),
                 "none published: the name ends with the last 6 hex digits of the file's md5 (D-X-Y/NAS-Bench-201 "
                 "README), an identifier, not a checksum", 2_200_000_000, benchmark="nb201"),
    CatalogEntry("nb201-v1_1", "NAS-Bench-201-v1_1-096897.pth", _drive("16Y0UwGisiouVRxW-W5hEtbxmcHw_0hF_"),
                 "NAS-Bench-201 v1.1 (recommended)", Expected(md5_suffix="096897"),
                 "none published: the name ends with the last 6 hex digits of the file's md5 (D-X-Y/NAS-Bench-201 "
                 "README), an identifier, not a checksum", 4_700_000_000, benchmark="nb201"),
    CatalogEntry("nats-tss", "NATS-tss-v1_0-3ffb9.pickle.pbz2", _drive("1vzyK0UVH2D3fTpa1_dSWnp1gvGpAxRul"),
                 "NATS-Bench topology space, one bz2 pickle (loading it needs > 12 GB RAM)",
                 Expected(md5_suffix="3ffb9"),
                 "none published: the name ends with the last 5 hex digits of the file's md5 (AutoDL-Projects "
                 "tss-collect.py), an identifier, not a checksum", 1_000_000_000, benchmark="nb201"),
    CatalogEntry("nats-sss", "NATS-sss-v1_0-50262.pickle.pbz2", _drive("1IabIvzWeDdDAWICBzFtTCMXxYWPIOIOX"),
                 "NATS-Bench size space, one bz2 pickle", Expected(md5_suffix="50262"),
                 "none published: the name ends with the last 5 hex digits of the file's md5 (AutoDL-Projects "
                 "sss-collect.py), an identifier, not a checksum", None, benchmark="nats_sss"),
    CatalogEntry("nats-tss-simple", "NATS-tss-v1_0-3ffb9-simple.tar", _drive("17_saCsj_krKjlCBLOJEpNtzPXArMCqxU"),
                 "NATS-Bench topology space, one small pickle per architecture (tar)", Expected(),
                 "none published: 3ffb9 is the md5 suffix of the .pickle.pbz2, not of the tar",
                 1_145_989_120, archive=True,
                 advisory_sha256="580fd8f3425fed9f495640b0f12ccb7744f89dec7aff263bd75aed37ab0b8bb6",
                 advisory_note="pinned by a third party (ExpGym's download_data.py), not by the NATS-Bench authors",
                 benchmark="nb201"),
    CatalogEntry("nats-sss-simple", "NATS-sss-v1_0-50262-simple.tar", _drive("1scOMTUwcQhAMa_IMedp9lTzwmgqHLGgA"),
                 "NATS-Bench size space, one small pickle per architecture (tar)", Expected(),
                 "none published: 50262 is the md5 suffix of the .pickle.pbz2, not of the tar", None, archive=True,
                 benchmark="nats_sss"),
    CatalogEntry("nds", "data.zip", ("https://dl.fbaipublicfiles.com/nds/data.zip",),
                 "NDS (facebookresearch/nds): the 34 sweep files under nds_data/", Expected(),
                 "none published (the sha256 is recorded, not checked)", None, archive=True, benchmark="nds"),
    CatalogEntry("hw-nasbench", "HW-NAS-Bench-v1_0.pickle",
                 (_HW_NAS_BENCH + "HW-NAS-Bench-v1_0.pickle",
                  f"https://github.com/GATECH-EIC/HW-NAS-Bench/raw/{_HW_NAS_BENCH_COMMIT}/HW-NAS-Bench-v1_0.pickle"),
                 "HW-NAS-Bench hardware costs (NB-201 and FBNet spaces), joined to NAS-Bench-201", Expected(),
                 "none published (the sha256 is recorded, not checked); the URLs pin the repository commit "
                 f"{_HW_NAS_BENCH_COMMIT[:8]}, whose git blob of the file is b0634cb7f6e7be07192c77833df9eafa4baf705e",
                 None, benchmark="nb201"),
    CatalogEntry("zc-nb201", "zc_nasbench201.json", (_NASLIB_ZC + "zc_nasbench201.json",),
                 "NAS-Bench-Suite-Zero zero-cost proxies, NB-201 space (NASLib)",
                 Expected(sha256="5dcbbcd56812a9f62164a376bc7df4082ab3af612082b6d26a845930e6eb8641"),
                 "sha256 of the file at NASLib commit 6639fd15 (checked against the copy in this project's tests)",
                 1_963_032, benchmark="nb201"),
    CatalogEntry("zc-nb101", "zc_nasbench101.json", (_NASLIB_ZC + "zc_nasbench101.json",),
                 "NAS-Bench-Suite-Zero zero-cost proxies, NB-101 space (NASLib)",
                 Expected(sha256="c34840bc9af68b6ebaa7f052e42c1749a9a737d7243078be2a5548052bc5a0c2"),
                 "sha256 of the file at NASLib commit 6639fd15 (checked against the copy in this project's tests)",
                 259_564, benchmark="nb101"),
    # NAS-Bench-NLP: three logs.zip of fmsnew/nas-bench-nlp-release, saved under distinct names (URLs pinned to a
    # commit, so the content cannot change; the WikiText-2 sha256 is the one measured at that commit).
    CatalogEntry("nlp-wikitext-2", "nas-bench-nlp-wikitext-2-logs.zip", (_NLP_RAW + "train_logs_wikitext-2/logs.zip",),
                 "NAS-Bench-NLP WikiText-2 training logs (345 runs)",
                 Expected(sha256="f5052d6bea6398001e32c986322a243e8cdedffa906caf242eb0a62ee105aa12"),
                 f"sha256 of the file at commit {_NLP_COMMIT[:7]} (the authors publish none)", 879_000, archive=True,
                 benchmark="nlp"),
    CatalogEntry("nlp-ptb-single-run", "nas-bench-nlp-ptb-single-run-logs.zip",
                 (_NLP_RAW + "train_logs_single_run/logs.zip",), "NAS-Bench-NLP PTB training logs, one run per recipe",
                 Expected(), "none published (the sha256 is recorded, not checked)", None, archive=True,
                 benchmark="nlp"),
    CatalogEntry("nlp-ptb-multi-runs", "nas-bench-nlp-ptb-multi-runs-logs.zip",
                 (_NLP_RAW + "train_logs_multi_runs/logs.zip",),
                 "NAS-Bench-NLP PTB training logs, recipes trained several times (shares logs with the single-run set)",
                 Expected(), "none published (the sha256 is recorded, not checked)", None, archive=True,
                 benchmark="nlp"),
    CatalogEntry("cifar10", "cifar-10-python.tar.gz", ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
                 "CIFAR-10 python batches (for training)",
                 Expected(sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                          md5="c58f30108f718f92721af3b95e74349a"),
                 "sha256 as Keras pins it (keras.datasets.cifar10), md5 as the CIFAR page and torchvision give it",
                 170_498_071, archive=True),
    CatalogEntry("cifar100", "cifar-100-python.tar.gz", ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",),
                 "CIFAR-100 python batches (for training)",
                 Expected(sha256="85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
                          md5="eb9058c3a382ffc7106e4002c42a8d85"),
                 "sha256 as Keras pins it (keras.datasets.cifar100), md5 as the CIFAR page and torchvision give it",
                 169_001_437, archive=True),
    CatalogEntry("nni-nb101", "nasbench101-209f5694.db", (_NNI_BLOB + "nasbench101-209f5694.db",),
                 "NNI's prebuilt NAS-Bench-101 database (opened as is when nasbench101.db is absent)",
                 Expected(sha256_prefix="209f5694"),
                 "none published: the name ends with the first 8 hex digits of its sha256 (NNI), an identifier, "
                 "not a checksum", None, location="databases", benchmark="nb101"),
    CatalogEntry("nni-nb201", "nasbench201-b2b60732.db", (_NNI_BLOB + "nasbench201-b2b60732.db",),
                 "NNI's prebuilt NAS-Bench-201 database", Expected(sha256_prefix="b2b60732"),
                 "none published: the name ends with the first 8 hex digits of its sha256 (NNI), an identifier, "
                 "not a checksum", None, location="databases", benchmark="nb201"),
    CatalogEntry("nni-nds", "nds-5745c235.db", (_NNI_BLOB + "nds-5745c235.db",),
                 "NNI's prebuilt NDS database", Expected(sha256_prefix="5745c235"),
                 "none published: the name ends with the first 8 hex digits of its sha256 (NNI), an identifier, "
                 "not a checksum", None, location="databases", benchmark="nds"),
]}

_OVERRIDABLE = {"file_name", "urls", "description", "sha256", "sha256_prefix", "md5", "md5_suffix",
                "checksum_source", "approx_bytes", "location", "archive", "advisory_sha256", "advisory_note",
                "benchmark"}
_CHECKSUM_FIELDS = ("sha256", "sha256_prefix", "md5", "md5_suffix")


def catalog() -> dict[str, CatalogEntry]:
    """The built-in catalog with the entries of ``$NASBENCH_CATALOG`` (a JSON file) merged over it.

    The JSON maps a name to fields: ``file_name``, ``urls`` (list), ``sha256``, ``sha256_prefix``, ``md5``,
    ``md5_suffix``, ``description``, ``location``, ``archive``, ``benchmark``... Giving any checksum field replaces
    all the checksums of a built-in entry (the others are cleared).
    """
    entries = dict(BUILTIN_CATALOG)
    path = os.environ.get("NASBENCH_CATALOG")
    if not path:
        return entries
    try:
        overrides = json.loads(Path(os.path.expanduser(path)).read_text())
    except OSError as exc:
        raise InvalidArgument(f"NASBENCH_CATALOG={path}: cannot read it ({exc.strerror}); fix or unset it") from None
    except ValueError as exc:
        raise InvalidArgument(f"NASBENCH_CATALOG={path}: not valid JSON ({exc}); fix or unset it") from None
    if not isinstance(overrides, dict):
        raise InvalidArgument(f"NASBENCH_CATALOG={path}: expected a JSON object name -> fields")
    for name, spec in overrides.items():
        if not isinstance(spec, dict):
            raise InvalidArgument(f"NASBENCH_CATALOG={path}: entry {name!r} must be an object of fields")
        unknown = set(spec) - _OVERRIDABLE
        if unknown:
            raise InvalidArgument(f"NASBENCH_CATALOG={path}: entry {name!r} has unknown fields "
                                  f"{sorted(unknown)}; allowed: {sorted(_OVERRIDABLE)}")
        base = entries.get(name)
        if base is None:
            if "file_name" not in spec or "urls" not in spec:
                raise InvalidArgument(f"NASBENCH_CATALOG={path}: new entry {name!r} needs 'file_name' and 'urls'")
            base = CatalogEntry(name, spec["file_name"], (), spec.get("description", "added by NASBENCH_CATALOG"))
        changes = {k: v for k, v in spec.items() if k not in _CHECKSUM_FIELDS}
        if "urls" in changes:
            urls = changes["urls"]
            changes["urls"] = (urls,) if isinstance(urls, str) else tuple(urls)
        if any(k in spec for k in _CHECKSUM_FIELDS):
            changes["expected"] = Expected(**{k: spec.get(k) for k in _CHECKSUM_FIELDS})
            changes.setdefault("checksum_source", f"NASBENCH_CATALOG={path}")
            changes.setdefault("advisory_sha256", None)
        entries[name] = replace(base, **changes)
    return entries


def catalog_entry(name: str) -> CatalogEntry:
    entries = catalog()
    entry = entries.get(name)
    if entry is None:
        raise InvalidArgument(f"unknown download {name!r}: expected one of {', '.join(entries)} "
                              "(see `nasbench-db download --list`), or give --url to fetch any file under that name")
    return entry


def default_directory(entry: CatalogEntry, db_dir=None) -> Path:
    """``$NASBENCHMARK_DIR/downloads`` for original files, ``$NASBENCHMARK_DIR`` for NNI's databases."""
    from .db import benchmark_dir

    base = benchmark_dir(db_dir)
    return base if entry.location == "databases" else base / DOWNLOADS_SUBDIR


# ----------------------------------------------------------------------------------------------------------------------
# Results
def human_bytes(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count:,} bytes"


# ----------------------------------------------------------------------------------------------------------------------
@dataclass
class DownloadResult:
    """What :func:`fetch` did.

    ``status``: 'downloaded' (fetched this run), 'present' (already there and verified). ``bytes_transferred`` counts
    body bytes received this run (over every attempt, restarts included); ``bytes_rehashed`` the bytes of an earlier
    run's partial download read back once to resume its hash.
    """

    path: Path
    sha256: str
    md5: str | None
    size: int
    status: str
    verified: bool  # False when nothing was published to check against
    url: str | None = None
    bytes_transferred: int = 0
    bytes_rehashed: int = 0
    resumes: int = 0
    restarts: int = 0
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    def summary(self) -> str:
        check = "verified" if self.verified else ("recorded, UNVERIFIED: no full checksum is published for it (the "
                                                  "restricted readers run no code whatever its bytes)")
        if self.status == "present":
            return f"{self.path}: already present, {human_bytes(self.size)}, sha256 {self.sha256} {check}"
        rate = self.bytes_transferred / self.seconds / (1 << 20) if self.seconds else 0.0
        extra = []
        if self.resumes:
            extra.append(f"{self.resumes} resume(s)")
        if self.restarts:
            extra.append(f"{self.restarts} restart(s) from byte 0")
        if self.bytes_rehashed:
            extra.append(f"{self.bytes_rehashed:,} bytes of an earlier partial reused")
        more = f" ({', '.join(extra)})" if extra else ""
        return (f"{self.path}: downloaded {human_bytes(self.size)} from {self.url} in {self.seconds:.1f} s "
                f"({rate:,.1f} MiB/s){more}; sha256 {self.sha256} {check}")


# ----------------------------------------------------------------------------------------------------------------------
# Locking and small file-system helpers
# ----------------------------------------------------------------------------------------------------------------------
@contextmanager
def _exclusive(path: Path, log):
    """Serialize work on one target file across processes (``.<file>.lock``, released when the process dies)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; concurrent runs on one file are the user's problem there
        yield
        return
    lock_path = path.parent / f".{path.name}.lock"
    handle = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"{path.name}: another process is downloading it; waiting for it to finish ({lock_path})")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        handle.close()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1))


def _disk_full_error(label: str, temp: Path, exc: OSError | None, needed: int | None, free: int | None):
    what = f"{exc.strerror}" if exc is not None else "not enough free space"
    sizes = ""
    if needed is not None and free is not None:
        sizes = f": {needed:,} more bytes needed, {free:,} free"
    kept = ""
    if temp.exists() and temp.stat().st_size:
        kept = (f" The partial download {temp} ({temp.stat().st_size:,} bytes) is kept so that the next run resumes "
                "it; delete it to get the space back.")
    return DownloadError(f"{label}: disk full in {temp.parent} ({what}{sizes}). Nothing was installed under the "
                         f"final name. Free space there or choose another directory (--dir).{kept}")


# ----------------------------------------------------------------------------------------------------------------------
# Google Drive pages
# ----------------------------------------------------------------------------------------------------------------------
_TOO_MANY = re.compile(r"too many users have viewed or downloaded this file recently[^<]*", re.I)
_QUOTA = re.compile(r"too many users have viewed or downloaded this file recently|quota (?:has been )?exceeded|"
                    r"download quota|exceeded the (?:daily )?(?:download|viewing) quota", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_ERROR_CAPTION = re.compile(r'class="uc-error-(?:caption|subcaption)"[^>]*>(.*?)</', re.I | re.S)
_CONFIRM_LINK = re.compile(r'href="([^"]*?/uc\?export=download[^"]*?confirm=[^"]*)"', re.I)


class _DownloadFormParser(HTMLParser):
    """Finds ``<form id="download-form" action=...>`` and its ``<input type="hidden">`` fields."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.action = None
        self.inputs: list[tuple[str, str]] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and attributes.get("id") == "download-form":
            self._inside = True
            self.action = attributes.get("action") or ""
        elif tag == "input" and self._inside and attributes.get("name"):
            if (attributes.get("type") or "text").lower() in ("hidden", "text"):
                self.inputs.append((attributes["name"], attributes.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False


def _with_query(url: str, extra: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    names = {name for name, _ in extra}
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names] + extra
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page_text(snippet: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", snippet))).strip()


def next_url_from_page(page: str, page_url: str, cookies=None) -> str:
    """The URL that an HTML page served in place of a file points to (Drive's confirm flow), or raise.

    Raises :class:`DriveQuotaExceeded` for Drive's quota page and :class:`DownloadError` for any other page.
    """
    match = _TOO_MANY.search(page) or _QUOTA.search(page)
    if match:
        raise DriveQuotaExceeded(f"Google Drive's quota page ('{_page_text(match.group(0))}')")
    form = _DownloadFormParser()
    try:
        form.feed(page)
    except Exception:  # a malformed page is reported below like any other unexpected page
        form.action = None
    if form.action is not None:
        return _with_query(urljoin(page_url, form.action), form.inputs)
    link = _CONFIRM_LINK.search(page)
    if link:
        return urljoin(page_url, unescape(link.group(1)))
    for name, value in (cookies or {}).items():
        if name.startswith("download_warning"):
            return _with_query(page_url, [("confirm", value)])
    caption = _ERROR_CAPTION.search(page)
    if caption:
        raise DownloadError(f"an HTML error page instead of the file: '{_page_text(caption.group(1))}'")
    title = _TITLE.search(page)
    title_text = f" titled '{_page_text(title.group(1))}'" if title else ""
    raise DownloadError(f"an HTML page{title_text} instead of the file")


# ----------------------------------------------------------------------------------------------------------------------
# The transfer
# ----------------------------------------------------------------------------------------------------------------------
class _Retry(Exception):
    """A transient failure: wait, then resume."""


class _RestartNow(Exception):
    """The partial bytes are unusable; start over from byte 0 at once."""


class _TooSlow(Exception):
    """The attempt transferred less than the minimum rate: a failed attempt even though bytes arrived."""


class _UrlFailed(Exception):
    """This URL cannot deliver the file (HTTP 404, an HTML page...): try the next one."""

    def __init__(self, message, error_class=DownloadError):
        super().__init__(message)
        self.error_class = error_class


def _network_errors():
    import http.client

    import requests
    import urllib3

    return (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
            ConnectionError, TimeoutError)


def _is_dns_failure(exc: BaseException) -> bool:
    """True when a network error is a host name that does not resolve (offline, or a wrong URL)."""
    import socket

    seen = set()
    todo = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, socket.gaierror) or type(item).__name__ == "NameResolutionError":
            return True
        if isinstance(item, BaseException):
            todo.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
            todo.extend(arg for arg in item.args if isinstance(arg, BaseException))
    text = str(exc)
    return any(marker in text for marker in ("Name or service not known", "Temporary failure in name resolution",
                                             "nodename nor servname", "getaddrinfo failed", "Failed to resolve"))


def _network_reason(exc: Exception, url: str, offset: int) -> str:
    """One short line for a network failure (requests' messages nest three exceptions deep)."""
    import requests

    text = str(exc)
    if "IncompleteRead" in text or isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"the connection closed early, at byte {offset:,}"
    if isinstance(exc, (requests.exceptions.ReadTimeout, TimeoutError)) or "Read timed out" in text:
        return f"no data within the read timeout, at byte {offset:,}"
    errno_text = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot connect to {urlsplit(url).netloc}: {errno_text.group(0) if errno_text else text[:200]}"
    return f"{type(exc).__name__}: {text[:200]}"


def _parse_content_range(value: str | None):
    """``bytes START-END/TOTAL`` -> (start, end, total or None); ``bytes */TOTAL`` -> (None, None, total)."""
    if not value:
        return None
    match = re.match(r"\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", value, re.I)
    if not match:
        return None
    start, end, total = match.groups()
    return (int(start) if start else None, int(end) if end else None, int(total) if total != "*" else None)


class _Transfer:
    def __init__(self, path: Path, expected: Expected, label: str, *, progress, retries, backoff, timeout, session,
                 log, deadline=DEFAULT_DEADLINE_S, min_rate=DEFAULT_MIN_RATE):
        self.path = path
        self.directory = path.parent
        self.temp = self.directory / f".{path.name}{PART_SUFFIX}"
        self.meta_path = self.directory / f".{path.name}{PART_SUFFIX}.json"
        self.expected = expected
        self.label = label
        self.progress = progress
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.session = session
        self.log = log
        self.offset = 0
        self.total: int | None = None
        self.validator: str | None = None
        self.url_used: str | None = None
        self.handle = None
        self.bar = None
        self.sha = hashlib.sha256()
        self.md5 = hashlib.md5() if expected.needs_md5 else None
        self.result = DownloadResult(path, "", None, 0, "downloaded", expected.verifies)
        self.started = time.monotonic()
        self.deadline_s = deadline or None
        self.deadline = self.started + deadline if deadline else None
        self.min_rate = min_rate or 0

    def _say(self, message: str) -> None:
        """Log a line without tearing the progress bar."""
        if self.bar is None:
            self.log(message)
            return
        with self.bar.external_write_mode(file=sys.stderr):
            self.log(message)

    # -- partial state ----------------------------------------------------------------------------------------------
    def _open_partial(self) -> None:
        meta = {}
        if self.temp.exists():
            try:
                meta = json.loads(self.meta_path.read_text())
            except (OSError, ValueError):
                meta = {}
            if meta.get("expected") != self.expected.key():
                if self.temp.stat().st_size:
                    self._say(f"{self.label}: discarding {self.temp}: it was started for other checksums")
                self.temp.unlink()
                meta = {}
        if self.temp.exists() and self.temp.stat().st_size > 0:
            self.handle = open(self.temp, "r+b")
            # Hash the bytes already on disk once, so the digest continues where the earlier run stopped.
            while chunk := self.handle.read(4 << 20):
                self.sha.update(chunk)
                if self.md5 is not None:
                    self.md5.update(chunk)
                self.offset += len(chunk)
            self.result.bytes_rehashed = self.offset
            self.validator = meta.get("validator")
            self.total = meta.get("total")
            self._say(f"{self.label}: resuming the partial download {self.temp} at byte {self.offset:,}")
        else:
            self.handle = open(self.temp, "wb")

    def _save_meta(self, url: str) -> None:
        meta = {"expected": self.expected.key(), "url": url, "validator": self.validator, "total": self.total}
        try:
            self.meta_path.write_text(json.dumps(meta))
        except OSError as exc:
            if _is_disk_full(exc):
                raise _disk_full_error(self.label, self.temp, exc, None, None) from None
            raise

    def _reset_to_zero(self) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        self.offset = 0
        self.sha = hashlib.sha256()
        self.md5 = hashlib.md5() if self.expected.needs_md5 else None
        self.validator = None
        self.total = None
        self.result.restarts += 1

    def _discard(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        for leftover in (self.temp, self.meta_path):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass

    # -- network ----------------------------------------------------------------------------------------------------
    def _request(self, url: str):
        headers = {"Accept-Encoding": "identity", "User-Agent": USER_AGENT}
        if self.offset > 0:
            headers["Range"] = f"bytes={self.offset}-"
            if self.validator:
                headers["If-Range"] = self.validator
        current = url
        for _ in range(MAX_HTML_PAGES + 1):
            response = self.session.get(current, headers=headers, stream=True, timeout=self.timeout)
            content_type = response.headers.get("Content-Type", "").lower()
            if content_type.startswith(("text/html", "application/xhtml")):
                try:
                    page = response.raw.read(MAX_PAGE_BYTES, decode_content=True).decode("utf-8", "replace")
                finally:
                    response.close()
                status = f"HTTP {response.status_code} {response.reason or ''}".strip()
                try:
                    if response.status_code in RETRY_STATUSES and not (_TOO_MANY.search(page) or
                                                                       _QUOTA.search(page)):
                        raise _Retry(f"{current} answered {status}")
                    if response.status_code >= 400:
                        next_url_from_page(page, response.url)  # raises, naming the page
                    following = next_url_from_page(page, response.url, self.session.cookies)
                except DriveQuotaExceeded as exc:
                    raise _UrlFailed(f"{url} answered {exc}", DriveQuotaExceeded) from None
                except DownloadError as exc:
                    raise _UrlFailed(f"{url} answered {status} with {exc}") from None
                if following == current:
                    raise _UrlFailed(f"{url} answered the same HTML page again instead of the file")
                current = following
                continue
            if response.status_code in (200, 206, 416):
                return response
            status = f"HTTP {response.status_code} {response.reason or ''}".strip()
            response.close()
            if response.status_code in RETRY_STATUSES:
                raise _Retry(f"{current} answered {status}")
            hint = {404: "the file is not there (a dead link, or a wrong --url / NASBENCH_MIRROR)",
                    410: "the file was removed", 401: "access denied (authentication required)",
                    403: "access denied"}.get(response.status_code, "the server refused the request")
            raise _UrlFailed(f"{current} answered {status}: {hint}")
        raise _UrlFailed(f"{url} answered more than {MAX_HTML_PAGES} HTML pages instead of the file")

    def _past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def _deadline_error(self) -> DownloadError:
        kept = (f" The partial download {self.temp} ({self.offset:,} bytes) is kept: run the command again to resume "
                "it." if self.offset else "")
        return DownloadError(f"{self.label}: not complete within the deadline of {self.deadline_s:g} s "
                             f"({self.offset:,} bytes received); nothing was installed under {self.path.name}. Raise "
                             f"--deadline, or try a mirror (--url, NASBENCH_MIRROR).{kept}")

    def _receive(self, response) -> bool:
        """Write the body of one response; True when the file is complete."""
        status = response.status_code
        if status == 416:
            content_range = _parse_content_range(response.headers.get("Content-Range"))
            response.close()
            total = content_range[2] if content_range else None
            if self.offset == 0:
                # No Range was asked: a 416 to a request from byte 0 has no body to install, whatever it claims.
                raise _UrlFailed(f"{response.url} answered HTTP 416 (range not satisfiable) to a request for the "
                                 "whole file: a broken server or no such file")
            if total is not None and total == self.offset:
                self.total = total
                return True  # an earlier run had received everything but was stopped before installing it
            self._say(f"{self.label}: the server cannot serve byte {self.offset:,} of the file "
                     "(HTTP 416); starting over from byte 0")
            raise _RestartNow()
        if status == 206:
            content_range = _parse_content_range(response.headers.get("Content-Range"))
            changed = self.total is not None and content_range is not None and \
                content_range[2] is not None and content_range[2] != self.total
            if content_range is None or content_range[0] != self.offset or changed:
                response.close()
                self._say(f"{self.label}: the server answered a different byte range "
                         f"({response.headers.get('Content-Range')!r} for byte {self.offset:,}); starting over")
                raise _RestartNow()
            self.total = content_range[2]
            if self.offset:
                self.result.resumes += 1
        else:  # 200: the whole file
            if self.offset > 0:
                self._say(f"{self.label}: the server ignored the Range request (HTTP 200, or the file changed "
                         "on the server); starting over from byte 0")
                self._reset_to_zero()
            length = response.headers.get("Content-Length")
            self.total = int(length) if length and length.isdigit() else None
        etag = response.headers.get("ETag")
        self.validator = etag if etag and not etag.startswith("W/") else response.headers.get("Last-Modified")
        self._save_meta(response.url)
        self.url_used = response.url
        if self.total is not None:
            needed = self.total - self.offset
            free = shutil.disk_usage(self.directory).free
            if free < needed:
                response.close()
                raise _disk_full_error(self.label, self.temp, None, needed, free)
        self._progress_start()
        write = self.handle.write
        # read1: whatever one receive brings (at most a read timeout's wait), so that the deadline and the minimum
        # rate are checked while a server trickles; urllib3 < 2 has no read1: fixed-size reads there.
        raw = response.raw
        read = (lambda: raw.read1(CHUNK_BYTES, decode_content=False)) if hasattr(raw, "read1") else \
            (lambda: raw.read(64 << 10, decode_content=False))
        window_start, window_bytes = time.monotonic(), 0
        try:
            while True:
                chunk = read()
                if not chunk:
                    break
                try:
                    write(chunk)
                except OSError as exc:
                    if _is_disk_full(exc):
                        raise _disk_full_error(self.label, self.temp, exc, None, None) from None
                    raise
                self.sha.update(chunk)
                if self.md5 is not None:
                    self.md5.update(chunk)
                self.offset += len(chunk)
                self.result.bytes_transferred += len(chunk)
                if self.bar is not None:
                    self.bar.update(len(chunk))
                if self.total is not None and self.offset > self.total:
                    self._say(f"{self.label}: the server sent more than the {self.total:,} bytes it announced; "
                             "starting over")
                    raise _RestartNow()
                now = time.monotonic()
                window_bytes += len(chunk)
                if self.deadline is not None and now > self.deadline:
                    raise self._deadline_error()
                if now - window_start >= MIN_RATE_WINDOW_S:
                    rate = window_bytes / (now - window_start)
                    if rate < self.min_rate:
                        raise _TooSlow(f"{rate:,.0f} bytes/s over the last {now - window_start:.0f} s, under the "
                                       f"minimum of {self.min_rate:,} bytes/s")
                    window_start, window_bytes = now, 0
        finally:
            response.close()
        if self.total is None:
            return True  # no length announced: the end of a well-framed body is the end of the file
        if self.offset < self.total:
            raise _Retry(f"the connection closed after byte {self.offset:,} of {self.total:,}")
        return True

    def _progress_start(self) -> None:
        show = sys.stderr.isatty() if self.progress is None else self.progress
        if not show:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, initial=self.offset, unit="B", unit_scale=True, unit_divisor=1024,
                            desc=self.path.name, file=sys.stderr, dynamic_ncols=True)
        else:
            self.bar.reset(total=self.total)
            self.bar.update(self.offset)

    def _from_url(self, url: str) -> None:
        network_errors = _network_errors()
        failures = 0
        slow = 0
        dns_failures = 0
        restarts_now = 0
        while True:
            if self._past_deadline():
                raise self._deadline_error()
            progress_mark = self.offset
            try:
                response = self._request(url)
                if self._receive(response):
                    return
            except _RestartNow:
                restarts_now += 1
                if restarts_now > 3:
                    raise _UrlFailed(f"{url} keeps answering inconsistent byte ranges") from None
                if self.offset:
                    self._reset_to_zero()
                continue
            except (_Retry, _TooSlow, *network_errors) as exc:
                if isinstance(exc, (_Retry, _TooSlow)):
                    reason = str(exc)
                else:
                    reason = _network_reason(exc, url, self.offset)
                    if _is_dns_failure(exc):
                        dns_failures += 1
                        if dns_failures >= DNS_ATTEMPTS:
                            raise _UrlFailed(f"{url}: the host {urlsplit(url).hostname} does not resolve (offline, "
                                             "or a wrong URL / NASBENCH_MIRROR)") from None
                if isinstance(exc, _TooSlow):
                    slow += 1  # bytes arrived, but a trickle is no progress: these attempts are bounded too
                    failures = max(failures, slow)
                else:
                    failures = 1 if self.offset > progress_mark else failures + 1  # progress resets the backoff
                if failures > self.retries:
                    raise _UrlFailed(f"{url}: gave up after {self.retries} retries ({reason})") from None
                delay = min(MAX_BACKOFF_S, self.backoff * 2 ** (failures - 1)) * (0.5 + random.random() / 2)
                if self.deadline is not None:
                    delay = max(0.0, min(delay, self.deadline - time.monotonic()))
                self._say(f"{self.label}: {reason}; retry {failures}/{self.retries} in {delay:.1f} s "
                         f"from byte {self.offset:,}")
                time.sleep(delay)

    # -- the whole thing --------------------------------------------------------------------------------------------
    def run(self, urls) -> DownloadResult:
        started = time.perf_counter()
        try:
            self._open_partial()
        except OSError as exc:
            if _is_disk_full(exc):
                raise _disk_full_error(self.label, self.temp, exc, None, None) from None
            raise DownloadError(f"{self.label}: cannot write {self.temp}: {exc.strerror}; choose another "
                                "directory (--dir)") from None
        failures: list[_UrlFailed] = []
        completed = False
        try:
            for url in urls:
                try:
                    self._from_url(url)
                    break
                except _UrlFailed as exc:
                    failures.append(exc)
                    if len(urls) > 1:
                        self._say(f"{self.label}: {exc}")
            else:
                raise self._combined_failure(failures)
            if self.offset == 0:
                self._discard()
                raise DownloadError(f"{self.label}: {self.url_used} sent an empty body; nothing was installed under "
                                    f"{self.path.name}. Check the URL or try a mirror (--url, NASBENCH_MIRROR).")
            try:
                self.handle.flush()
                os.fsync(self.handle.fileno())
            except OSError as exc:
                if _is_disk_full(exc):
                    raise _disk_full_error(self.label, self.temp, exc, None, None) from None
                raise
            self.handle.close()
            self.handle = None
            completed = True
        finally:
            if self.bar is not None:
                self.bar.close()
            if self.handle is not None:
                try:
                    self.handle.close()
                except OSError:
                    pass
                self.handle = None
            if not completed and self.offset == 0:
                self._discard()  # nothing worth resuming: leave no empty partial behind
        sha256 = self.sha.hexdigest()
        md5 = self.md5.hexdigest() if self.md5 is not None else None
        problems = self.expected.problems(sha256, md5)
        if problems:
            size = self.offset
            self._discard()
            raise ChecksumMismatch(
                f"{self.label} from {self.url_used}: {'; '.join(problems)} ({size:,} bytes received). The file is "
                "corrupt or the server sent another file; it was deleted and nothing was installed under "
                f"{self.path.name}. Run the command again to download it afresh, try another mirror (--url, "
                "NASBENCH_MIRROR), or, if the publisher changed the file, give its new checksum (--sha256 / --md5).")
        os.replace(self.temp, self.path)
        _fsync_dir(self.directory)
        try:
            write_record(self.path, sha256, md5)
        except OSError as exc:  # the file is verified and in place; only the shortcut for later runs is missing
            self._say(f"{self.label}: verified, but its checksum record could not be written ({exc.strerror}); "
                      "the next run will hash it once more")
        try:
            self.meta_path.unlink()
        except FileNotFoundError:
            pass
        result = self.result
        result.sha256, result.md5, result.size = sha256, md5, self.offset
        result.url = self.url_used
        result.seconds = time.perf_counter() - started
        return result

    def _combined_failure(self, failures: list[_UrlFailed]) -> Exception:
        kept = ""
        if self.temp.exists() and self.temp.stat().st_size:
            kept = (f" The partial download {self.temp} ({self.temp.stat().st_size:,} bytes) is kept: run the same "
                    "command again to resume it.")
        reasons = "; ".join(str(f) for f in failures)
        if any(f.error_class is DriveQuotaExceeded for f in failures):
            return DriveQuotaExceeded(
                f"{self.label}: Google Drive refused the download: {reasons}. Nothing was installed. Drive lifts the "
                "quota within about 24 hours: run the command again later; or open the file's Drive link in a "
                "browser, add it to your own Drive ('Make a copy') and download your copy with --url "
                "'https://drive.google.com/uc?export=download&id=<your copy id>'; or use a mirror (--url, "
                f"NASBENCH_MIRROR).{kept}")
        return DownloadError(f"{self.label}: {reasons}. Nothing was installed under {self.path.name}; check the "
                             f"URL or use a mirror (--url, NASBENCH_MIRROR).{kept}")


# ----------------------------------------------------------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------------------------------------------------------
def _default_log(message: str) -> None:
    logger.info(message)


def _new_session():
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def verify_existing(path, expected: Expected, log=None) -> DownloadResult | None:
    """Accept a file already under its final name if it satisfies ``expected``.

    Uses the record beside it when it is current (no hashing); otherwise hashes the file once and writes the record.
    Returns None when the file is absent or does not match (the caller downloads it again).
    """
    log = log or _default_log
    path = Path(path)
    if not path.is_file():
        return None
    if path.stat().st_size == 0:
        log(f"{path}: present but empty: downloading it again")
        return None
    record = read_record(path)
    if record is not None and (record[1] is not None or not expected.needs_md5):
        sha256, md5 = record
        rehashed = 0
    else:
        log(f"{path}: present without a current checksum record; hashing it once")
        sha256, md5, rehashed = hash_file(path, with_md5=expected.needs_md5)
    problems = expected.problems(sha256, md5)
    if problems:
        log(f"{path}: present but {'; '.join(problems)}: downloading it again (the file is replaced only once a "
            "verified copy is complete)")
        return None
    if record is None or (expected.needs_md5 and record[1] is None):
        write_record(path, sha256, md5)
    return DownloadResult(path, sha256, md5, path.stat().st_size, "present", expected.verifies,
                          bytes_rehashed=rehashed)


def fetch(urls, path, expected: Expected | None = None, *, progress: bool | None = None,
          retries: int = DEFAULT_RETRIES, backoff: float = DEFAULT_BACKOFF_S, timeout=DEFAULT_TIMEOUT_S,
          session=None, log=None, label: str | None = None, deadline: float | None = DEFAULT_DEADLINE_S,
          min_rate: int | None = DEFAULT_MIN_RATE) -> DownloadResult:
    """Download ``urls[0]`` (then the next URLs if one cannot serve the file) to ``path``, verified and atomically.

    ``expected`` holds the checksums to check (none: the sha256 is only recorded). ``progress``: a tqdm bar on
    stderr (None: when stderr is a terminal). ``retries``: attempts per URL after a failure without progress;
    ``backoff``: first delay in seconds, doubled per failure (capped at 60 s, jittered). ``log``: a callable
    receiving one line per event (default: the ``nasbench_db.download`` logger). ``deadline``: seconds for the whole
    download, retries included (None/0: none); ``min_rate``: bytes/s under which an attempt (averaged over a minute)
    fails, so that a trickling server cannot hold a download forever (None/0: none). A host that does not resolve
    fails at once. An empty body is never installed.
    """
    if isinstance(urls, str):
        urls = [urls]
    urls = list(urls)
    if not urls:
        raise InvalidArgument("no URL to download from")
    expected = expected or Expected()
    path = Path(os.path.expanduser(os.fspath(path)))
    label = label or path.name
    log = log or _default_log
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"{label}: cannot create the directory {path.parent}: {exc.strerror}; choose another "
                            "directory (--dir)") from None
    if not os.access(path.parent, os.W_OK):
        raise DownloadError(f"{label}: cannot write to {path.parent}: permission denied; choose another directory "
                            "(--dir)")
    own_session = session is None
    session = session or _new_session()
    try:
        with _exclusive(path, log):
            present = verify_existing(path, expected, log)
            if present is not None:
                for leftover in (path.parent / f".{path.name}{PART_SUFFIX}",
                                 path.parent / f".{path.name}{PART_SUFFIX}.json"):
                    if leftover.exists():
                        leftover.unlink()
                return present
            transfer = _Transfer(path, expected, label, progress=progress, retries=retries, backoff=backoff,
                                 timeout=timeout, session=session, log=log, deadline=deadline, min_rate=min_rate)
            return transfer.run(urls)
    finally:
        if own_session:
            session.close()


def resolve(name: str, directory=None, *, url: str | None = None, sha256: str | None = None, md5: str | None = None,
            mirror: str | None = None, db_dir=None) -> tuple[CatalogEntry, Path, list, Expected]:
    """Where ``name`` goes, where it comes from and what it must hash to.

    ``url`` replaces the catalog URLs, ``mirror`` (else ``$NASBENCH_MIRROR``) replaces them by
    ``<mirror>/<file name>``; ``sha256`` / ``md5`` replace the catalog checksums. A name outside the catalog needs
    ``url`` and is saved under that name.
    """
    entries = catalog()
    if name in entries:
        entry = entries[name]
    elif url:
        file_name = PurePosixPath(name).name
        if file_name != name or name in ("", ".", ".."):
            raise InvalidArgument(f"{name!r} is not a catalog name or a plain file name")
        entry = CatalogEntry(name, name, (url,), "given on the command line", Expected(), "none given")
    else:
        entry = catalog_entry(name)  # raises, listing the names
    mirror = mirror if mirror is not None else os.environ.get("NASBENCH_MIRROR")
    if url:
        urls = [url]
    elif mirror:
        urls = [mirror.rstrip("/") + "/" + quote(entry.file_name)]
    else:
        urls = list(entry.urls)
    expected = entry.expected
    if sha256 or md5:
        expected = Expected(sha256=sha256, md5=md5)
    target = Path(os.path.expanduser(os.fspath(directory))) if directory else default_directory(entry, db_dir)
    return entry, target / entry.file_name, urls, expected


def download(name: str, directory=None, *, url: str | None = None, sha256: str | None = None, md5: str | None = None,
             mirror: str | None = None, progress: bool | None = None, retries: int = DEFAULT_RETRIES,
             backoff: float = DEFAULT_BACKOFF_S, timeout=DEFAULT_TIMEOUT_S, session=None, log=None,
             db_dir=None, deadline: float | None = DEFAULT_DEADLINE_S,
             min_rate: int | None = DEFAULT_MIN_RATE) -> DownloadResult:
    """Download the catalog file ``name`` (see :data:`BUILTIN_CATALOG`, ``nasbench-db download --list``).

    ``directory`` defaults to ``$NASBENCHMARK_DIR/downloads`` (``$NASBENCHMARK_DIR`` for NNI's databases). See
    :func:`resolve` for ``url``/``mirror``/``sha256``/``md5`` and :func:`fetch` for the rest. Raises
    :class:`ChecksumMismatch`, :class:`DriveQuotaExceeded` or :class:`DownloadError`; nothing is then left under the
    final name.
    """
    log = log or _default_log
    entry, path, urls, expected = resolve(name, directory, url=url, sha256=sha256, md5=md5, mirror=mirror,
                                          db_dir=db_dir)
    if not expected.verifies:
        checked = f"; only {expected.describe()} is checked" if expected.checks_anything else ""
        log(f"{entry.file_name}: UNVERIFIED download: no full checksum is published for it "
            f"({entry.checksum_source}){checked}. The converters' restricted readers run no code whatever its bytes; "
            "its sha256 is recorded so that later runs can tell whether it changed")
    result = fetch(urls, path, expected, progress=progress, retries=retries, backoff=backoff, timeout=timeout,
                   session=session, log=log, label=entry.file_name, deadline=deadline, min_rate=min_rate)
    advisory = entry.advisory_sha256 if expected is entry.expected else None
    if advisory and result.sha256 != advisory:
        note = (f"{entry.file_name}: sha256 {result.sha256} differs from {advisory}, {entry.advisory_note}; kept "
                "(not a published checksum), but compare it with a trusted copy")
        result.notes.append(note)
        log(note)
    return result


# ----------------------------------------------------------------------------------------------------------------------
# Archives
# ----------------------------------------------------------------------------------------------------------------------
def _members(archive: Path) -> list[str]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            return handle.namelist()
    with tarfile.open(archive, "r:*") as handle:
        return handle.getnames()


def _unsafe_member(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts or (len(name) > 1 and name[1] == ":")


def extract(archive, directory=None, sha256: str | None = None, log=None) -> Path:
    """Unpack a verified ``.tar``/``.tar.gz``/``.zip`` into ``directory`` (default: beside it); returns the top folder.

    The archive's single top-level folder (e.g. ``nds_data/``, ``NATS-tss-v1_0-3ffb9-simple/``,
    ``cifar-10-batches-py/``) is unpacked in a hidden temporary folder and renamed into place when complete, so a
    killed extraction never leaves a half-filled folder under the final name. A marker ``.<archive>.extracted``
    holding the archive's sha256 lets a second call return at once. Members with absolute paths, ``..`` or links
    out of the folder are refused (:class:`CorruptInput`).
    """
    log = log or _default_log
    archive = Path(archive)
    directory = Path(directory) if directory is not None else archive.parent
    directory.mkdir(parents=True, exist_ok=True)
    if sha256 is None:
        record = read_record(archive)
        sha256 = record[0] if record else hash_file(archive, with_md5=False)[0]
    marker = directory / f".{archive.name}.extracted"
    try:
        marked_sha, marked_top = marker.read_text().split()[:2]
        if marked_sha == sha256 and (directory / marked_top).is_dir():
            return directory / marked_top
    except (OSError, ValueError):
        pass
    try:
        names = _members(archive)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CorruptInput(archive, f"not a readable tar or zip archive ({exc})") from None
    bad = [n for n in names if _unsafe_member(n)]
    if bad:
        raise CorruptInput(archive, f"refusing to unpack a member outside the target folder: {bad[0]!r}")
    tops = {PurePosixPath(n).parts[0] for n in names if PurePosixPath(n).parts and PurePosixPath(n).parts[0] != "."}
    nested = len(tops) == 1 and any(len(PurePosixPath(n).parts) > 1 for n in names)
    top = next(iter(tops)) if nested else archive.name.split(".")[0]
    for stale in directory.glob(f".{top}.extracting-*"):
        pid_text = stale.name.rsplit("-", 1)[-1]
        if pid_text.isdigit() and not pid_alive(int(pid_text)):
            shutil.rmtree(stale, ignore_errors=True)
    work = directory / f".{top}.extracting-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    log(f"{archive.name}: unpacking into {directory / top}")
    try:
        target_root = work if nested else work / top
        target_root.mkdir(exist_ok=True)
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as handle:
                handle.extractall(target_root)
        else:
            with tarfile.open(archive, "r:*") as handle:
                if hasattr(tarfile, "data_filter"):
                    handle.extractall(target_root, filter="data")
                else:  # Python < 3.11.4: names were checked above; refuse links and devices here
                    for member in handle.getmembers():
                        if not (member.isfile() or member.isdir()):
                            raise CorruptInput(archive, f"refusing to unpack the link or device {member.name!r}")
                    handle.extractall(target_root)
        final = directory / top
        if final.exists():
            trash = directory / f".{top}.replaced-{os.getpid()}"
            os.replace(final, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(work / top, final)
    except tarfile.TarError as exc:
        raise CorruptInput(archive, f"cannot unpack: {exc}") from None
    except OSError as exc:
        if _is_disk_full(exc):
            raise DownloadError(f"{archive.name}: disk full while unpacking into {directory}; free space or choose "
                                "another directory (--dir)") from None
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _fsync_dir(directory)
    temp_marker = directory / f".{marker.name}.tmp-{os.getpid()}"
    temp_marker.write_text(f"{sha256} {top}\n")
    os.replace(temp_marker, marker)
    return directory / top
