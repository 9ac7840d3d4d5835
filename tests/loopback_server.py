"""A small HTTP server on 127.0.0.1 (ephemeral port) for the download tests and ``bench/download_bench.py``.

Routes misbehave on purpose, the way real servers do: connections cut after given byte offsets, ``Range`` ignored,
404, Google Drive's "can't scan for viruses" confirm form, Drive's quota page, throttled bodies, a server trickling a
byte at a time, 416 to every request, an empty body.
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CHUNK = 64 * 1024


class BytesSource:
    """Serves an in-memory bytes object."""

    def __init__(self, data: bytes):
        self.data = data
        self.size = len(data)

    def read(self, offset: int, length: int) -> bytes:
        return self.data[offset:offset + length]

    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def md5(self) -> str:
        return hashlib.md5(self.data).hexdigest()


class GeneratedSource:
    """A large deterministic pseudo-random file generated on the fly (no disk): block i = rng(seed, i) bytes."""

    def __init__(self, size: int, seed: int = 0, block: int = 1 << 20):
        import numpy as np

        self.size = size
        self.block = block
        self.seed = seed
        self._np = np
        self._cache: tuple[int, bytes] | None = None

    def _block(self, index: int) -> bytes:
        if self._cache is None or self._cache[0] != index:
            rng = self._np.random.default_rng([self.seed, index])
            self._cache = (index, rng.bytes(self.block))
        return self._cache[1]

    def read(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self.size - offset))
        out = bytearray()
        while length > 0:
            index, start = divmod(offset, self.block)
            piece = self._block(index)[start:start + length]
            out += piece
            offset += len(piece)
            length -= len(piece)
        return bytes(out)

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for offset in range(0, self.size, self.block):
            digest.update(self.read(offset, self.block))
        return digest.hexdigest()


class DataRoute:
    """A file. ``cuts``: absolute offsets; the first response crossing one stops there and drops the connection.
    ``ranges=False`` ignores ``Range`` (answers 200 with the whole file). ``throttle``: bytes per second."""

    def __init__(self, source, ranges: bool = True, cuts=(), throttle: float | None = None,
                 content_type: str = "application/octet-stream", etag: str | None = '"v1"'):
        self.source = source if hasattr(source, "read") else BytesSource(source)
        self.ranges = ranges
        self.cuts = sorted(cuts)
        self.throttle = throttle
        self.content_type = content_type
        self.etag = etag
        self.lock = threading.Lock()

    def handle(self, handler: "Handler", query: dict) -> None:
        size = self.source.size
        start = 0
        status = 200
        range_header = handler.headers.get("Range")
        if_range = handler.headers.get("If-Range")
        if range_header and self.ranges and (if_range is None or if_range == self.etag):
            match = re.match(r"bytes=(\d+)-$", range_header)
            if match:
                start = int(match.group(1))
                if start >= size:
                    handler.send_response(416)
                    handler.send_header("Content-Range", f"bytes */{size}")
                    handler.send_header("Content-Length", "0")
                    handler.end_headers()
                    return
                status = 206
        handler.send_response(status)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(size - start))
        if self.etag:
            handler.send_header("ETag", self.etag)
        if self.ranges:
            handler.send_header("Accept-Ranges", "bytes")
        if status == 206:
            handler.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        handler.end_headers()
        with self.lock:
            cut = next((c for c in self.cuts if start < c < size), None)
            if cut is not None:
                self.cuts.remove(cut)
        end = cut if cut is not None else size
        offset = start
        began = time.perf_counter()
        while offset < end:
            piece = self.source.read(offset, min(CHUNK, end - offset))
            handler.wfile.write(piece)
            handler.server.count(len(piece))
            offset += len(piece)
            if self.throttle:
                ahead = (offset - start) / self.throttle - (time.perf_counter() - began)
                if ahead > 0:
                    time.sleep(ahead)
        handler.wfile.flush()
        if cut is not None:
            handler.drop()


class TrickleRoute:
    """A hostile or dying server: announces ``size`` bytes, then sends ``step`` bytes every ``every`` seconds, each in
    time to beat a read timeout, forever if let. ``started`` counts requests."""

    def __init__(self, size: int, step: int = 1, every: float = 0.2):
        self.size = size
        self.step = step
        self.every = every
        self.started = 0

    def handle(self, handler, query):
        self.started += 1
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(self.size))
        handler.end_headers()
        sent = 0
        while sent < self.size and not handler.server.stopping:
            handler.wfile.write(b"\0" * self.step)
            handler.wfile.flush()
            sent += self.step
            time.sleep(self.every)


class RangeNotSatisfiableRoute:
    """Answers every request with HTTP 416 and ``Content-Range: bytes */0``, a Range header or not."""

    def handle(self, handler, query):
        handler.send_response(416)
        handler.send_header("Content-Range", "bytes */0")
        handler.send_header("Content-Length", "0")
        handler.end_headers()


class HtmlRoute:
    """An HTML page (e.g. Drive's quota page) with a status code."""

    def __init__(self, body: str, status: int = 200):
        self.body = body.encode()
        self.status = status

    def handle(self, handler, query):
        handler.send_response(self.status)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(self.body)))
        handler.end_headers()
        handler.wfile.write(self.body)


class StatusRoute:
    def __init__(self, status: int):
        self.status = status

    def handle(self, handler, query):
        body = f"<html><body>{self.status}</body></html>".encode()
        handler.send_response(self.status)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


DRIVE_CONFIRM_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>
<div class="uc-main"><div id="uc-text"><p class="uc-warning-caption">Google Drive can't scan this file for viruses.</p>
<p class="uc-warning-subcaption"><span class="uc-name-size"><a href="/open?id={id}">{name}</a> (1.1G)</span> is too
large for Google to scan for viruses. Would you still like to download this file?</p>
<form id="download-form" action="{action}" method="get"><input type="submit" id="uc-download-link"
class="goog-inline-block jfk-button jfk-button-action" value="Download anyway"/><input type="hidden" name="id"
value="{id}"><input type="hidden" name="export" value="download"><input type="hidden" name="confirm" value="t"><input
type="hidden" name="uuid" value="{uuid}"></form></div></div></body></html>"""

DRIVE_QUOTA_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head><body>
<div class="uc-main"><div id="uc-text"><p class="uc-error-caption">Sorry, you can't view or download this file at
this time.</p><p class="uc-error-subcaption">Too many users have viewed or downloaded this file recently. Please try
accessing the file again later. If the file you are trying to access is particularly large or is shared with many
people, it may take up to 24 hours to be able to view or download the file.</p></div></div></body></html>"""


class DriveRoute:
    """Drive's flow: ``/uc?export=download&id=ID`` answers the confirm form; the form (``confirm=t`` plus a ``uuid``)
    leads to ``data_path``, which serves the file only with the right ``uuid``."""

    def __init__(self, file_id: str, name: str, data_path: str, uuid: str = "5e3a9c1d-0b7f-4d6e-9a2c-1f8e7d6c5b4a"):
        self.file_id = file_id
        self.name = name
        self.data_path = data_path
        self.uuid = uuid

    def handle(self, handler, query):
        page = DRIVE_CONFIRM_PAGE.format(id=self.file_id, name=self.name, uuid=self.uuid,
                                         action=f"http://{handler.headers['Host']}{self.data_path}")
        HtmlRoute(page).handle(handler, query)


class DriveDataRoute:
    """The data behind Drive's form: without ``confirm=t`` and the page's ``uuid`` it answers the form again."""

    def __init__(self, drive: DriveRoute, data: DataRoute):
        self.drive = drive
        self.data = data

    def handle(self, handler, query):
        if query.get("confirm") == ["t"] and query.get("uuid") == [self.drive.uuid] and \
                query.get("id") == [self.drive.file_id]:
            self.data.handle(handler, query)
        else:
            self.drive.handle(handler, query)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        parts = urlsplit(self.path)
        self.server.log_request_line(self.command, self.path, self.headers.get("Range"))
        route = self.server.routes.get(parts.path)
        if route is None:
            StatusRoute(404).handle(self, {})
            return
        try:
            route.handle(self, parse_qs(parts.query))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def drop(self):
        """Cut the connection abruptly, as a failing network does."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format, *args):  # keep test output clean
        pass


class LoopbackServer(ThreadingHTTPServer):
    """``with LoopbackServer() as server: server.routes['/f'] = DataRoute(b'...'); server.url('/f')``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, object] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.bytes_sent = 0
        self.stopping = False  # set on exit: slow routes stop sending
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def handle_error(self, request, client_address):
        """A client that hangs up mid-body is expected here; keep the tests' stderr clean."""

    def count(self, n: int) -> None:
        with self._count_lock:
            self.bytes_sent += n

    def log_request_line(self, method, path, range_header):
        with self._count_lock:
            self.requests.append((method, path, range_header))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def __enter__(self):
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return False
