"""HTTP/1.x: every request, response and object, on any port.

What: HTTP/0.9, 1.0 and 1.1 over TCP (RFC 9110 semantics, RFC 9112 message
syntax). A tolerant, incremental, sans-IO parser for both directions.

Followed:

* message framing, RFC 9112 section 6.3: HEAD responses, 1xx, 204 and 304 have
  no body; CONNECT 2xx and 101 switch the connection to another protocol
  (``StopParsing``; the rest is opaque unless a dissector follows: WebSocket, h2c); Transfer-Encoding ``chunked`` (section
  7.1, extensions ignored, trailers kept) wins over Content-Length (both at once
  is reported, a request-smuggling sign); Content-Length; otherwise a response
  body is delimited by the close of the connection (ended by ``close()``);
  HTTP/0.9 simple requests (``GET /path``) are answered by a bare body. Each body
  is read by the reader of its framing (:mod:`dissectors._http_framing`: the
  ``READERS`` table, content-length, chunked, until-close, in the manner of h11's
  ``_readers.py``) from the direction's one buffer (:class:`dissectors._lines.LineBuffer`,
  the text protocols' shared buffer); field and trailer sections are read by
  :mod:`dissectors._http_fields`; this module reads start lines, keeps
  transactions and objects, and resynchronises;
* keep-alive and pipelining: requests wait in a FIFO (capped by
  ``Limits.max_pending_requests``) and each final response takes the oldest;
  1xx responses (100-continue, 102, 103) are recorded as ``info_code``/``info_msg``
  of the transaction and are not its final response (section 15.2 of RFC 9110);
* leniency (section 2.2 and 5 of RFC 9112): blank lines before a request line,
  bare LF line ends, runs of spaces/tabs between request-line fields, space
  before a header colon, obs-fold continuation lines, header lines without a
  colon, bad chunk sizes, missing CRLF after chunk data — each becomes an
  ``Anomaly`` and parsing goes on; lost framing makes the direction *resync* on
  the next line that looks like a request line (client) or status line (server);
* Content-Encoding (RFC 9110 section 8.4.1): gzip, x-gzip, deflate (zlib and raw)
  and br, chains of them, decoded incrementally with an output cap
  (``Limits.max_decompressed``) and a ratio cap (``Limits.max_decompression_ratio``)
  in :mod:`dissectors._http_decode` (memory bounded: a 1 GB gzip bomb stays a few MB);
* Authorization/Proxy-Authorization Basic (RFC 7617) and Digest (RFC 7616:
  the username and the ``response`` hash) become ``Credential`` rows; so do
  urlencoded form fields that are plainly passwords (``kind="form"``) and the
  user-info of a request target (read by :mod:`dissectors._http_auth`);
* multipart/form-data (RFC 7578): the whole request body is one object and each
  part that carries a ``filename`` is a child object (``parent_fuid``);
* Range requests and 206 responses (RFC 9110 section 14): the object is flagged
  partial (``FileClose(complete=False, reason="partial content ...")``) and the
  record has ``content_range``/``partial``. After all flows, :func:`assemble`
  groups the single-range 206 responses for one URL (server, Host, URI and the
  complete length of ``Content-Range``) across connections and, when their ranges
  cover the whole representation, asks the engine for the assembled object (like
  Zeek's file reassembly of ranges); the parts stay as they are, the assembled
  ``files`` row lists them in ``range_parts``. multipart/byteranges 206 bodies are
  kept as one object and not assembled.

Extracted: events :class:`HttpRequest`, :class:`HttpResponse`, :class:`HttpBody`
(timeline, with ``meaning()`` from the RFC tables); one :class:`HttpTransaction`
row per request/response pair in table ``http`` (Zeek's http.log field names with
Zeek 7.0's meaning — ``version`` is the reply's, the request's is ``request_version`` — plus
what a HAR export needs: headers as ``[{name, value}]``, query string, header and
body sizes, request start/end and response first-byte/end timestamps);
objects: each request and response body as stored by ``tshark --export-objects
http`` — de-chunked and decoded (``name_hint`` from Content-Disposition or the
URI's last path segment, ``mime_type`` from Content-Type, ``total_size`` from
Content-Length when no content coding applies).

Detection: the probe says YES on a request line or status line (any port). Before
the first valid start line, binary bytes are a ``Violation`` except on the HTTP
ports, where a capture that starts inside a body is resynchronised (up to 256 KiB
scanned, 16 KiB elsewhere).

Gaps: inside a body with known length or inside chunk data the object gets a
``FileGap`` and is closed incomplete (missing bytes counted) while framing goes
on; a gap in a start line, headers or chunk framing drops the unit and resyncs.
A body cut by the end of the capture is closed incomplete with its missing byte
count when known. Responses without a request are kept and flagged.

Parser choice (measured on this shared 2-core machine, CPU time, Python 3.11,
httptools 0.9.0 with every ``set_dangerous_leniencies`` flag on): on 20,000
keep-alive request/response pairs of ~440 and ~2,200 bytes, httptools alone
parses 400-700 MB/s (160,000-290,000 transactions/s, callbacks doing nothing);
this whole dissector, which also builds the events, records and objects, runs
31-35 MB/s (12,000-13,700 transactions/s; 25-27 MB/s before the fast paths
below); 200 KB bodies in 1,460-byte segments run 820-930 MB/s (375-430 before;
bodies are stored as they come, never scanned), so the cost is per transaction,
not per byte. On the HTTP connections of the 100 MB benchmark capture
(``benchmarks.generate --size 100M``: 905 connections, 3,291 transactions, 958 of
them gzip, 42,552 segments, 55 MB) it takes 0.46 s of CPU alone (0.60 s before),
about a quarter of it in zlib.
Speed favours llhttp, but tolerance decides for captured traffic. Fed the same
bytes, llhttp: accepts bare LF and obs-fold silently (no anomaly to report);
raises a fatal "Invalid header token" on a space before the colon or a header
line without a colon; stays in error for good afterwards (the next valid
message fails too, so every error would need a new parser and a hand-written
resync anyway); rejects HTTP/0.9; cannot be told that a response answers a HEAD
request, so it eats the next response as that body; and has no notion of a gap.
This parser handles all of those. Fast paths: a header block that is whole in the
buffer and made only of ``Name: value`` lines ending in CRLF is split by one regex
pass over the block (no Python per line; :mod:`dissectors._http_fields`, which reads
field and trailer sections); anything odd (bare LF, obs-fold, white
space before a colon, no colon, a line or block over its limit, trailers, a block
not whole yet) goes line by line, found with ``bytes.find``, through the tolerant
path, which gives the same items (tests feed conversations whole, byte by byte and
at random splits); a segment inside a body with nothing buffered is stored as it
came (no copy, no loop); the usual gzip or deflate piece is one ``decompress`` call.

Limits: request/status and header lines ``Limits.max_line``; header block
``Limits.max_header_block`` (the rest of the block is skipped, anomaly
``http_header_block_too_long``); chunk-size fields of more than 16 hex digits are
an overflow (``http_chunk_size_too_long``); multipart and urlencoded request bodies
are buffered for splitting up to ``Limits.max_message`` (urlencoded: 64 KiB);
pending requests ``Limits.max_pending_requests``. After a 101 to ``websocket`` the
engine hands the connection to :mod:`dissectors.websocket` (with the bytes already
received behind the 101), and after a 101 to ``h2c`` to :mod:`dissectors.http2`.
"""
from __future__ import annotations

import posixpath
import re
from collections import deque
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Iterable, Iterator, Mapping
from urllib.parse import parse_qsl, unquote

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Credential, Direction, Event, FileClose,
    FileData, FileGap, FileOpen, FlowContext, Record, StopParsing, Violation, quick_init,
)
from dissectors import _http_multipart as multipart
from dissectors._http_auth import authorization, form_credentials, masked_authorization, userinfo
from dissectors._http_decode import ContentDecoder
from dissectors._held import HeldData
from dissectors._http_fields import MessageHead, read_fields
from dissectors._http_framing import (END, ENDED, GAP_IN_FRAMING, GAP_PAST_END, READERS, TRAILERS, BodyReader,
                                      UntilCloseReader)
from dissectors._lines import TOO_LONG, LineBuffer
from dissectors.probes.http import SPECS, HTTP_PORTS, probe  # noqa: F401 - SPECS, probe: re-exported

__all__ = ["HttpRequest", "HttpResponse", "HttpBody", "HttpTransaction", "HttpDissector",
           "probe", "SPECS", "METHODS", "STATUS"]

# ---------------------------------------------------------------- constant tables
METHODS = MappingProxyType({
    "GET": "transfer a current representation of the target resource (RFC 9110 9.3.1)",
    "HEAD": "same as GET but the server sends only the headers, no body (RFC 9110 9.3.2)",
    "POST": "send data for the target resource to process, e.g. a form (RFC 9110 9.3.3)",
    "PUT": "replace the target resource with the enclosed representation (RFC 9110 9.3.4)",
    "DELETE": "remove the target resource (RFC 9110 9.3.5)",
    "CONNECT": "open a tunnel to the named host and port, usually through a proxy (RFC 9110 9.3.6)",
    "OPTIONS": "ask which communication options the server supports (RFC 9110 9.3.7)",
    "TRACE": "ask the server to echo the request back, for diagnosis (RFC 9110 9.3.8)",
    "PATCH": "apply partial modifications to the target resource (RFC 5789)",
    "PROPFIND": "WebDAV: read properties of a resource (RFC 4918)",
    "PROPPATCH": "WebDAV: change properties of a resource (RFC 4918)",
    "MKCOL": "WebDAV: create a collection (directory) (RFC 4918)",
    "COPY": "WebDAV: copy a resource (RFC 4918)",
    "MOVE": "WebDAV: move a resource (RFC 4918)",
    "LOCK": "WebDAV: lock a resource (RFC 4918)",
    "UNLOCK": "WebDAV: remove a lock (RFC 4918)",
})

STATUS = MappingProxyType({
    100: "continue: the client should send the request body (RFC 9110 15.2.1)",
    101: "switching protocols, as the client asked with Upgrade (RFC 9110 15.2.2)",
    102: "processing: the server is still working on the request (RFC 2518)",
    103: "early hints: headers the final response will likely carry (RFC 8297)",
    200: "OK: the request succeeded (RFC 9110 15.3.1)",
    201: "created: a new resource was made (RFC 9110 15.3.2)",
    202: "accepted for processing, not yet done (RFC 9110 15.3.3)",
    203: "non-authoritative information: a proxy changed the content (RFC 9110 15.3.4)",
    204: "no content: success, and there is no body (RFC 9110 15.3.5)",
    205: "reset content: the client should reset its form (RFC 9110 15.3.6)",
    206: "partial content: only the requested byte ranges follow (RFC 9110 15.3.7)",
    207: "multi-status (WebDAV, RFC 4918)",
    300: "multiple choices: several representations exist (RFC 9110 15.4.1)",
    301: "moved permanently: use the Location URI from now on (RFC 9110 15.4.2)",
    302: "found: temporarily at the Location URI (RFC 9110 15.4.3)",
    303: "see other: fetch the Location URI with GET (RFC 9110 15.4.4)",
    304: "not modified: the client's cached copy is still valid, no body (RFC 9110 15.4.5)",
    305: "use proxy (deprecated) (RFC 9110 15.4.6)",
    307: "temporary redirect, repeat the same method at Location (RFC 9110 15.4.8)",
    308: "permanent redirect, repeat the same method at Location (RFC 9110 15.4.9)",
    400: "bad request: the server could not understand it (RFC 9110 15.5.1)",
    401: "unauthorized: credentials missing or wrong (RFC 9110 15.5.2)",
    402: "payment required (reserved) (RFC 9110 15.5.3)",
    403: "forbidden: understood but refused (RFC 9110 15.5.4)",
    404: "not found: no such resource (RFC 9110 15.5.5)",
    405: "method not allowed for this resource (RFC 9110 15.5.6)",
    406: "not acceptable: no representation matches the Accept headers (RFC 9110 15.5.7)",
    407: "proxy authentication required (RFC 9110 15.5.8)",
    408: "request timeout: the server gave up waiting (RFC 9110 15.5.9)",
    409: "conflict with the current state of the resource (RFC 9110 15.5.10)",
    410: "gone: removed for good (RFC 9110 15.5.11)",
    411: "length required: send a Content-Length (RFC 9110 15.5.12)",
    412: "precondition failed (If-* headers) (RFC 9110 15.5.13)",
    413: "content too large (RFC 9110 15.5.14)",
    414: "URI too long (RFC 9110 15.5.15)",
    415: "unsupported media type (RFC 9110 15.5.16)",
    416: "range not satisfiable (RFC 9110 15.5.17)",
    417: "expectation failed (Expect header) (RFC 9110 15.5.18)",
    418: "I'm a teapot (unused, RFC 9110 15.5.19)",
    421: "misdirected request: wrong server for this authority (RFC 9110 15.5.20)",
    422: "unprocessable content (RFC 9110 15.5.21)",
    426: "upgrade required: switch protocol first (RFC 9110 15.5.22)",
    428: "precondition required (RFC 6585)",
    429: "too many requests: rate limited (RFC 6585)",
    431: "request header fields too large (RFC 6585)",
    451: "unavailable for legal reasons (RFC 7725)",
    500: "internal server error (RFC 9110 15.6.1)",
    501: "not implemented: method unknown to the server (RFC 9110 15.6.2)",
    502: "bad gateway: the upstream server answered badly (RFC 9110 15.6.3)",
    503: "service unavailable, try later (RFC 9110 15.6.4)",
    504: "gateway timeout: the upstream server did not answer (RFC 9110 15.6.5)",
    505: "HTTP version not supported (RFC 9110 15.6.6)",
})

_CLASS_MEANING = MappingProxyType({
    1: "informational: request received, continuing (RFC 9110 15.2)",
    2: "success (RFC 9110 15.3)",
    3: "redirection: further action needed (RFC 9110 15.4)",
    4: "client error (RFC 9110 15.5)",
    5: "server error (RFC 9110 15.6)",
})

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQ_LINE = re.compile(rb"(" + _TOKEN + rb")[ \t]+([^ \t]+)(?:[ \t]+([^ \t]+))?[ \t]*\r?")
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)")
_STATUS_LINE = re.compile(rb"(HTTP/\d\.\d)[ \t]+(\d{3})(?:[ \t]+([^\r\n]*?))?[ \t]*\r?")
_RESYNC = {
    ORIG: re.compile(rb"(?m)^[A-Z][A-Z0-9_\-]{0,23}[ \t]+[^ \t\r\n]+[ \t]+HTTP/\d\.\d[ \t]*\r?\n"),
    RESP: re.compile(rb"(?m)^HTTP/\d\.\d[ \t]+\d{3}(?:[ \t][^\r\n]*)?\r?\n"),
}
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_FORM_BUFFER = 64 * 1024
_UNCONFIRMED_BUDGET = 16 * 1024          # bytes scanned for a start line before Violation
_UNCONFIRMED_BUDGET_PORT = 256 * 1024    # ... on an HTTP port (capture started mid-body)


def _meaning_status(code: int | None) -> str:
    if code is None:
        return ""
    return STATUS.get(code) or _CLASS_MEANING.get(code // 100, "")


def _s(b: bytes) -> str:
    return b.decode("latin-1")


def _header_value(headers: tuple[tuple[str, str], ...], name: str) -> str:
    """The first value of header ``name`` (lower case), or ""."""
    for k, v in headers:
        if k.lower() == name:
            return v
    return ""


# ---------------------------------------------------------------- events and record
@dataclass(frozen=True, slots=True)
class HttpRequest(Event):
    """A request line and its headers."""

    trans_depth: int = 0
    method: str = ""
    uri: str = ""
    version: str = ""                          # "1.1", "1.0", "0.9"
    headers: tuple[tuple[str, str], ...] = ()

    def summary(self) -> str:
        host = _header_value(self.headers, "host")
        ver = f" HTTP/{self.version}" if self.version and self.version != "0.9" else ""
        return f"{self.method} {self.uri}{ver}" + (f" (Host: {host})" if host else "")

    def meaning(self) -> str:
        return METHODS.get(self.method.upper(), "")


@dataclass(frozen=True, slots=True)
class HttpResponse(Event):
    """A status line and its headers (1xx interim responses too)."""

    trans_depth: int = 0
    version: str = ""
    status_code: int = 0
    status_msg: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    def summary(self) -> str:
        ctype = _header_value(self.headers, "content-type")
        return f"{self.status_code} {self.status_msg}".rstrip() + (f" ({ctype})" if ctype else "")

    def meaning(self) -> str:
        return _meaning_status(self.status_code)


@dataclass(frozen=True, slots=True)
class HttpBody(Event):
    """End of a message body: sizes on the wire and decoded, how it ended."""

    trans_depth: int = 0
    handle: str = ""
    wire_len: int = 0                 # de-chunked, still content-encoded
    length: int = 0                   # decoded bytes stored
    missing_bytes: int = 0
    content_encoding: str = ""
    complete: bool = True
    reason: str = ""

    def summary(self) -> str:
        side = "request" if self.direction is ORIG else "response"
        enc = f", {self.content_encoding} {self.wire_len} -> {self.length}" if self.content_encoding else ""
        miss = f", {self.missing_bytes} bytes missing" if self.missing_bytes else ""
        inc = "" if self.complete else f" (incomplete{': ' + self.reason if self.reason else ''})"
        return f"{side} body {self.length} bytes{enc}{miss}{inc}"


@quick_init
@dataclass(frozen=True, slots=True)
class HttpTransaction(Record):
    """One request and its response (Zeek http.log fields first)."""

    TABLE: ClassVar[str] = "http"
    trans_depth: int = 0
    method: str | None = None
    host: str | None = None
    uri: str | None = None
    referrer: str | None = None
    version: str | None = None                 # the reply's, as Zeek 7.0 logs it
    user_agent: str | None = None
    origin: str | None = None
    request_body_len: int = 0
    response_body_len: int = 0
    status_code: int | None = None
    status_msg: str | None = None
    info_code: int | None = None
    info_msg: str | None = None
    username: str | None = None
    orig_fuids: list = field(default_factory=list)
    orig_filenames: list = field(default_factory=list)
    orig_mime_types: list = field(default_factory=list)
    resp_fuids: list = field(default_factory=list)
    resp_filenames: list = field(default_factory=list)
    resp_mime_types: list = field(default_factory=list)
    cookies: list = field(default_factory=list)          # Cookie pairs "name=value"
    set_cookies: list = field(default_factory=list)      # Set-Cookie header values
    location: str | None = None
    content_encoding: str | None = None
    range: str | None = None
    content_range: str | None = None
    partial: bool = False
    complete: bool = True
    flags: list = field(default_factory=list)
    request_version: str | None = None         # the request line's ("0.9" for HTTP/0.9)
    request_headers: list = field(default_factory=list)   # [{name, value}]
    response_headers: list = field(default_factory=list)
    query_string: list = field(default_factory=list)      # [{name, value}]
    request_header_size: int = -1
    response_header_size: int = -1
    request_body_wire_len: int = 0
    response_body_wire_len: int = 0
    request_end_ts: float | None = None
    response_ts: float | None = None                       # first byte of the response
    response_end_ts: float | None = None
    stream_id: int | None = None                           # HTTP/2 (dissectors.http2): the stream; None in HTTP/1.x


# ---------------------------------------------------------------- parser state
_START, _HEADERS, _BODY, _TRAILERS, _RESYNC_ST, _CONNECT_WAIT, _DEAD = range(7)


class _Body:
    __slots__ = ("handle", "fuid", "decoder", "encoding", "wire", "length", "missing", "complete",
                 "reason", "mime", "filename", "collect", "collect_cap", "collect_over", "kind",
                 "partial", "boundary", "last_ts")

    def __init__(self) -> None:
        self.last_ts: float | None = None        # the body's last data (or gap): where a body cut by close ended
        self.handle = ""
        self.fuid = ""
        self.decoder: ContentDecoder | None = None
        self.encoding = ""
        self.wire = 0
        self.length = 0
        self.missing = 0
        self.complete = True
        self.reason = ""
        self.mime: str | None = None
        self.filename: str | None = None
        self.collect: bytearray | None = None    # multipart / urlencoded buffering
        self.collect_cap = 0
        self.collect_over = False
        self.kind = ""                           # "multipart", "form" or ""
        self.partial = ""
        self.boundary = b""


class _Tx:
    __slots__ = ("ts", "depth", "method", "uri", "version", "req_headers", "req_hsize", "host",
                 "ua", "referrer", "origin", "cookies", "range", "username", "creds",
                 "req_body", "req_done", "req_end_ts", "status", "status_msg", "resp_version",
                 "resp_headers", "resp_hsize", "info_code", "info_msg", "resp_body", "resp_done",
                 "resp_ts", "resp_end_ts", "flags", "emitted", "has_request", "orig_files",
                 "resp_files", "form_creds", "resp_hx")

    def __init__(self, depth: int, ts: float) -> None:
        self.ts = ts
        self.depth = depth
        self.method: str | None = None
        self.uri: str | None = None
        self.version: str | None = None
        self.req_headers: list[tuple[str, str]] = []
        self.req_hsize = -1
        self.host = self.ua = self.referrer = self.origin = self.range = None
        self.cookies: list[str] = []
        self.username: str | None = None
        self.creds: list[tuple[str, str, str]] = []          # (username, secret, kind)
        self.form_creds: list[tuple[str, str]] = []
        self.req_body: _Body | None = None
        self.req_done = False
        self.req_end_ts: float | None = None
        self.status: int | None = None
        self.status_msg: str | None = None
        self.resp_version: str | None = None
        self.resp_headers: list[tuple[str, str]] = []
        self.resp_hx: dict[str, list[str]] | None = None     # resp_headers indexed, when made
        self.resp_hsize = -1
        self.info_code: int | None = None
        self.info_msg: str | None = None
        self.resp_body: _Body | None = None
        self.resp_done = False
        self.resp_ts: float | None = None
        self.resp_end_ts: float | None = None
        self.flags: list[str] = []
        self.emitted = False
        self.has_request = True
        self.orig_files: list[tuple[str, str | None, str | None]] = []   # (fuid, name, mime)
        self.resp_files: list[tuple[str, str | None, str | None]] = []


class _Side:
    __slots__ = ("dir", "buf", "state", "msg", "tx", "body", "reader", "unit_ts",
                 "resync_from_gap", "scanned", "ever", "held")

    def __init__(self, d: Direction, max_line: int, max_file_size: int) -> None:
        self.dir = d
        self.buf = LineBuffer(max_line)
        self.held = HeldData(max_file_size)             # the body's bytes not yet handed on
        self.state = _START
        self.msg: MessageHead | None = None
        self.tx: _Tx | None = None
        self.body: _Body | None = None
        self.reader: BodyReader = UntilCloseReader()      # the body's framing, in state _BODY
        self.unit_ts: float | None = None
        self.resync_from_gap = False
        self.scanned = 0
        self.ever = False


def _index(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Header values by lower-cased name, in order."""
    idx: dict[str, list[str]] = {}
    for k, v in headers:
        k = k.lower()
        vals = idx.get(k)
        if vals is None:
            idx[k] = [v]
        else:
            vals.append(v)
    return idx


_NONE = (None,)     # ``hx.get(name, _NONE)[0]``: the first value of a header, or None


_INCOMPLETE_FLAGS = ("no_response", "request_headers_gap", "response_headers_gap")


def _file_columns(files: list[tuple[str, str | None, str | None]]) -> tuple[list, list, list]:
    """fuids, file names and MIME types (the names and types that are known) of a message's objects."""
    if not files:
        return [], [], []
    return [f for f, _, _ in files], [n for _, n, _ in files if n], [m for _, _, m in files if m]


def _query_string(qs: str) -> list[dict[str, str]]:
    """HAR's queryString: ``parse_qsl(qs, keep_blank_values=True)`` as name/value pairs; without
    "%" or "+" there is nothing to unquote, and the split is done here."""
    if "%" in qs or "+" in qs:
        return [{"name": k, "value": v} for k, v in
                parse_qsl(qs, keep_blank_values=True, errors="replace")]
    out = []
    for pair in qs.split("&"):
        if pair:
            k, _, v = pair.partition("=")
            out.append({"name": k, "value": v})
    return out


def _last_segment(uri: str | None) -> str | None:
    if not uri:
        return None
    path = uri.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1]
        path = path[path.find("/"):] if "/" in path else ""
    seg = unquote(path.rsplit("/", 1)[-1], errors="replace")
    return seg or None


# ---------------------------------------------------------------- the dissector
class HttpDissector:
    """Sans-IO HTTP/1.x dissector for one TCP connection (both directions)."""

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        self.lim = ctx.limits
        lim = ctx.limits
        self.sides = (_Side(ORIG, lim.max_line, lim.max_file_size), _Side(RESP, lim.max_line, lim.max_file_size))
        self.confirmed = False
        self.depth = 0
        self.pending: deque[_Tx] = deque()
        self.waiting: list[_Tx] = []          # response done, request body still coming
        self.stopped = False
        self.handles = 0
        self.ts = 0.0
        self.out: list = []
        self.anom_once: set[str] = set()
        self.rerun_orig = False
        self.flaws: list[tuple[str, str]] = []     # what a framing reader found odd, emptied after each call
        # on an HTTP port a capture that starts inside a body is resynchronised, not rejected
        self.on_http_port = ctx.resp_p in HTTP_PORTS

    # -- contract ---------------------------------------------------------
    def feed(self, direction: Direction, data: bytes, ts: float) -> list:
        if self.stopped or not data:
            return []
        self.out = []
        self.ts = ts
        side = self.sides[direction]
        side.ever = True
        buf = side.buf
        st = side.state
        if len(buf):
            buf.push(data)
        elif st == _BODY and side.reader.remaining:
            # nothing buffered, inside counted data (a Content-Length body or a chunk): the segment is
            # stored as it came (no copy, no loop); only what follows the end of it goes to the buffer
            if type(data) is not bytes:
                data = bytes(data)
            reader = side.reader
            rem = reader.remaining
            if len(data) < rem:
                reader.remaining = rem - len(data)
                self._body_data(side, data)
                return self.out
            reader.remaining = 0
            if len(data) > rem:
                buf.push(data[rem:])
                data = data[:rem]
            self._body_data(side, data)
            if reader.counted_end():
                self._end_body(side)
            if not len(buf):
                return self.out
        elif st == _BODY and type(side.reader) is UntilCloseReader:
            self._body_data(side, data if type(data) is bytes else bytes(data))
            return self.out
        else:
            if (st == _START or st == _RESYNC_ST) and side.unit_ts is None:
                side.unit_ts = ts
            buf.push(data)
        self._run(side)
        if self.rerun_orig and not self.stopped:
            self.rerun_orig = False
            self._run(self.sides[ORIG])
        return self.out

    def gap(self, direction: Direction, length: int, ts: float) -> list:
        if self.stopped or length <= 0:
            return []
        self.out = []
        self.ts = ts
        self._gap(self.sides[direction], length)
        return self.out

    def bulk(self, direction: Direction) -> int:
        """BulkDissector: inside a body stored as it comes (no content coding, not collected for multipart
        or form parsing) with nothing buffered, the bytes left of its Content-Length or chunk, or all
        until the close, up to the store's cap: :meth:`feed`'s shortcut takes any split of them alike."""
        side = self.sides[direction]
        b = side.body
        if self.stopped or side.state != _BODY or b is None or b.decoder is not None or b.collect is not None \
                or len(side.buf):
            return 0
        reader = side.reader
        room = side.held.room(b.handle)
        if reader.remaining:
            return min(reader.remaining, room)
        return room if type(reader) is UntilCloseReader else 0

    def close(self, ts: float) -> list:
        self.out = []
        self.ts = ts
        if not self.stopped:
            self._close()
            self.stopped = True
        self._release()
        return self.out

    # -- helpers ----------------------------------------------------------
    def _anom(self, name: str, detail: str, d: Direction | None) -> None:
        self.out.append(Anomaly(self.ts, name, detail, d))

    def _confirm(self) -> None:
        if not self.confirmed:
            self.confirmed = True
            self.out.append(Confirm(self.ts))

    def _release(self) -> None:
        """Hand on the bodies' held bytes (before stopping or at the close)."""
        for side in self.sides:
            side.held.flush(self.out)

    def _violate(self, reason: str) -> None:
        self._release()
        self.out.append(Violation(self.ts, reason))
        self.stopped = True

    def _new_tx(self, ts: float) -> _Tx:
        self.depth += 1
        return _Tx(self.depth, ts)

    def _to_start(self, side: _Side) -> None:
        side.state = _START
        side.msg = None
        side.body = None
        side.unit_ts = self.ts if len(side.buf) else None

    def _resync(self, side: _Side, why: str) -> None:
        side.state = _RESYNC_ST
        side.msg = None
        side.body = None
        side.scanned = 0
        self._anom("http_resync", f"{side.dir.label} stream lost its framing ({why}); "
                   "looking for the next " + ("request line" if side.dir is ORIG else "status line"),
                   side.dir)

    # -- main loop --------------------------------------------------------
    def _run(self, side: _Side) -> None:
        while not self.stopped:
            st = side.state
            if st == _START:
                progressed = self._start(side)
            elif st == _HEADERS:
                progressed = self._headers(side)
            elif st == _BODY:
                progressed = self._body(side)
            elif st == _TRAILERS:
                progressed = self._headers(side)
            elif st == _RESYNC_ST:
                progressed = self._resync_scan(side)
            elif st == _CONNECT_WAIT:
                if len(side.buf) > self.lim.max_header_block:
                    self._release()
                    self.out.append(StopParsing(self.ts, "tunnel: client data after CONNECT"))
                    self.stopped = True
                progressed = False
            else:  # _DEAD
                side.buf.clear()
                progressed = False
            if not progressed:
                break

    # -- start lines ------------------------------------------------------
    def _start(self, side: _Side) -> bool:
        if side.dir is RESP:
            # HTTP/0.9 answer: a bare body to the end of the connection
            tx = self.pending[0] if self.pending else None
            if tx is not None and tx.version == "0.9" and len(side.buf) and \
                    not side.buf.startswith(b"HTTP/"[:len(side.buf)]):
                self.pending.popleft()
                side.tx = tx
                tx.resp_ts = side.unit_ts if side.unit_ts is not None else self.ts
                tx.resp_version = "0.9"
                side.body = self._open_body(side, tx, [], tx.uri)
                side.reader = UntilCloseReader()
                side.state = _BODY
                return True
        got = side.buf.next_line(eol=True)
        if got is None:
            return False
        if got is TOO_LONG:
            name = "http_request_line_too_long" if side.dir is ORIG else "http_status_line_too_long"
            self._anom(name, f"start line over {self.lim.max_line} bytes", side.dir)
            if not self.confirmed:
                self._violate("start line too long for HTTP")
                return False
            self._resync(side, "start line too long")
            return True
        line, bare = got
        if not line.strip():
            if not len(side.buf):
                side.unit_ts = None
            else:
                side.unit_ts = self.ts
            return True
        ts = side.unit_ts if side.unit_ts is not None else self.ts
        if side.dir is ORIG:
            return self._request_line(side, line, bare, ts)
        return self._status_line(side, line, bare, ts)

    def _not_http(self, side: _Side, line: bytes, what: str) -> bool:
        if not self.confirmed:
            if _BINARY.search(line[:256]) and not self.on_http_port:
                self._violate(f"not HTTP: {what} {line[:40]!r}")
                return False
            side.state = _RESYNC_ST
            side.scanned = len(line)
            return True
        self._anom("http_bad_request_line" if side.dir is ORIG else "http_bad_status_line",
                   f"{what}: {line[:80]!r}", side.dir)
        self._resync(side, what)
        return True

    def _request_line(self, side: _Side, line: bytes, bare: bool, ts: float) -> bool:
        m = _REQ_LINE.fullmatch(line)
        if m is None:
            return self._not_http(side, line, "not a request line")
        method, target, version = m.group(1), m.group(2), m.group(3)
        if version is not None and not _VERSION.fullmatch(version):
            return self._not_http(side, line, "bad HTTP version in request line")
        if version is None and (method != b"GET" or not target.startswith(b"/")):
            return self._not_http(side, line, "not a request line")
        self._confirm()
        if line.count(b" ") + line.count(b"\t") > (2 if version else 1) or b"\t" in line:
            self._anom("http_request_line_spacing", f"odd spacing in request line {line[:80]!r}", ORIG)
        if not method.isupper():
            self._anom("http_lowercase_method", f"method {method[:20]!r} is not upper case", ORIG)
        tx = self._new_tx(ts)
        tx.method = _s(method)
        tx.uri = _s(target)
        if "@" in tx.uri:
            tx.uri = self._userinfo(tx, tx.uri)
        tx.version = _s(version[5:]) if version else "0.9"
        side.tx = tx
        if version is None:
            tx.req_hsize = len(line) + 2
            self.out.append(HttpRequest(ts, ORIG, tx.depth, tx.method, tx.uri, "0.9", ()))
            tx.req_done = True
            tx.req_end_ts = self.ts
            self._push_pending(tx)
            side.tx = None
            self._to_start(side)
            return True
        msg = MessageHead(ts)
        msg.line = line
        msg.bare_lf = bare
        msg.header_bytes = len(line) + (1 if bare else 2)
        side.msg = msg
        side.state = _HEADERS
        return True

    def _status_line(self, side: _Side, line: bytes, bare: bool, ts: float) -> bool:
        m = _STATUS_LINE.fullmatch(line)
        if m is None:
            return self._not_http(side, line, "not a status line")
        self._confirm()
        msg = MessageHead(ts)
        msg.line = line
        msg.bare_lf = bare
        msg.header_bytes = len(line) + (1 if bare else 2)
        msg.version = _s(m.group(1)[5:])
        msg.code = int(m.group(2))
        msg.reason = _s(m.group(3) or b"")
        if msg.code < 100:
            self._anom("http_bad_status_code", f"status code {msg.code} below 100", RESP)
        side.msg = msg
        side.state = _HEADERS
        if side.tx is None:
            # the first byte of the (possibly interim) response opens the timing
            tx = self.pending[0] if self.pending else None
            if tx is not None and tx.resp_ts is None:
                tx.resp_ts = ts
        return True

    # -- headers ----------------------------------------------------------
    def _headers(self, side: _Side) -> bool:
        """One step through the field section (or the trailer section) of the message being read."""
        trailers = side.state == _TRAILERS
        flaws = self.flaws
        done = read_fields(side.buf, side.msg, self.lim.max_line, self.lim.max_header_block, trailers, flaws)
        if flaws:
            for name, detail in flaws:
                self._anom(name, detail, side.dir)
            flaws.clear()
        if done is None:
            return False
        if trailers and side.tx is not None:
            side.tx.resp_hx = None     # trailers join the record's response headers: index anew
        if done:
            if trailers:
                self._end_body(side)
            else:
                self._headers_done(side)
        return True

    def _headers_cut(self, side: _Side) -> None:
        """A header block that a gap or the end cut off: keep what was read as the message's
        headers, flag it, and finish the request (queued for its response) or the response."""
        msg = side.msg
        if side.dir is ORIG:
            if side.tx is not None:
                side.tx.req_headers = self._shown_headers(side.tx, msg.headers)
                side.tx.flags.append("request_headers_gap")
                self._push_pending(side.tx)
                self._request_done(side)
            return
        tx = side.tx or (self.pending[0] if self.pending else None)
        if tx is not None:
            if self.pending and self.pending[0] is tx:
                self.pending.popleft()
            tx.status = msg.code
            tx.status_msg = msg.reason
            tx.resp_headers = self._shown_headers(tx, msg.headers)
            tx.resp_hx = None
            tx.flags.append("response_headers_gap")
            side.tx = tx
            self._response_done(side)

    def _headers_done(self, side: _Side) -> None:
        if side.dir is ORIG:
            self._request_headers_done(side)
        else:
            self._response_headers_done(side)

    def _framing(self, side: _Side, hx: dict[str, list[str]], is_request: bool,
                 ) -> tuple[str, int]:
        """("none"|"length"|"chunked"|"close", length)."""
        cls = hx.get("content-length")
        if cls is not None and len(cls) == 1 and "transfer-encoding" not in hx:
            # the usual case: one Content-Length, no Transfer-Encoding
            v = cls[0].strip()
            if v.isdigit() and v.isascii() and len(v) <= 18:
                n = int(v)
                return ("length", n) if n else ("none", 0)
        te = ",".join(hx.get("transfer-encoding", ())).lower()
        if te.strip():
            codings = [c.strip() for c in te.split(",") if c.strip()]
            if cls:
                self._anom("http_content_length_and_chunked",
                           "both Transfer-Encoding and Content-Length (request smuggling sign); "
                           "Transfer-Encoding wins", side.dir)
            if codings and codings[-1] == "chunked":
                if len(codings) > 1:
                    self._anom("http_transfer_encoding_unsupported",
                               f"transfer codings {te!r} besides chunked are not undone", side.dir)
                return "chunked", 0
            self._anom("http_bad_transfer_encoding", f"Transfer-Encoding {te!r} without final chunked",
                       side.dir)
            return "close", 0
        if cls:
            vals = {v.strip() for c in cls for v in c.split(",")}
            v = next(iter(vals))
            if len(vals) != 1 or not (v.isdigit() and v.isascii()) or len(v) > 18:
                self._anom("http_bad_content_length", f"Content-Length {cls!r}", side.dir)
                return ("none", 0) if is_request else ("close", 0)
            n = int(v)
            return ("length", n) if n else ("none", 0)
        return ("none", 0) if is_request else ("close", 0)

    def _request_headers_done(self, side: _Side) -> None:
        msg, tx = side.msg, side.tx
        h = msg.headers
        tx.req_headers = h
        tx.req_hsize = msg.header_bytes
        hx = _index(h)
        get = hx.get
        tx.host = get("host", _NONE)[0]
        tx.ua = get("user-agent", _NONE)[0]
        tx.referrer = get("referer", _NONE)[0]
        tx.origin = get("origin", _NONE)[0]
        tx.range = get("range", _NONE)[0]
        if "cookie" in hx:
            for c in hx["cookie"]:
                tx.cookies.extend(p.strip() for p in c.split(";") if p.strip())
        if "authorization" in hx or "proxy-authorization" in hx:
            for name in ("authorization", "proxy-authorization"):
                for v in get(name, ()):
                    self._auth(tx, v)
        shown = self._shown_headers(tx, h)
        if shown is not h:
            tx.req_headers = shown
            tx.referrer = _index(shown).get("referer", _NONE)[0]
        self.out.append(HttpRequest(msg.ts, ORIG, tx.depth, tx.method or "", tx.uri or "",
                                    tx.version or "", tuple(shown)))
        kind, n = self._framing(side, hx, True)
        self._push_pending(tx)
        if tx.method == "CONNECT":
            side.msg = None
            side.state = _CONNECT_WAIT
            tx.req_done = True
            tx.req_end_ts = self.ts
            side.tx = None
            return
        if kind == "none":
            self._request_done(side)
            return
        side.body = self._open_body(side, tx, h, tx.uri, hx)
        tx.req_body = side.body
        self._enter_body(side, kind, n)

    def _enter_body(self, side: _Side, kind: str, n: int) -> None:
        """Read the body with the reader of its framing (``kind``: "length" with ``n`` bytes, "chunked" or
        "close"; :data:`dissectors._http_framing.READERS`)."""
        side.msg.trailers = False
        side.reader = READERS[kind](n)
        side.state = _BODY

    def _push_pending(self, tx: _Tx) -> None:
        if len(self.pending) >= self.lim.max_pending_requests:
            old = self.pending.popleft()
            self._anom("http_pending_requests_too_many",
                       f"more than {self.lim.max_pending_requests} requests without response; "
                       "the oldest is closed unanswered", ORIG)
            old.flags.append("no_response")
            self._maybe_emit(old, force=True)
        self.pending.append(tx)

    def _request_done(self, side: _Side) -> None:
        tx = side.tx
        if tx is not None:
            tx.req_done = True
            tx.req_end_ts = self.ts
            if tx in self.waiting:
                self.waiting.remove(tx)
                self._maybe_emit(tx)
        side.tx = None
        self._to_start(side)

    def _response_headers_done(self, side: _Side) -> None:
        msg = side.msg
        h = msg.headers
        hx = _index(h)
        code = msg.code
        tx = side.tx
        if tx is None:
            if self.pending:
                tx = self.pending[0]
            else:
                tx = self._new_tx(msg.ts)
                tx.has_request = False
                tx.req_done = True
                tx.flags.append("response_without_request")
                self._anom("http_response_without_request",
                           f"response {code} with no request seen", RESP)
            side.tx = tx
        if tx.resp_ts is None:
            tx.resp_ts = msg.ts
        shown = self._shown_headers(tx, h)
        self.out.append(HttpResponse(msg.ts, RESP, tx.depth, msg.version, code, msg.reason, tuple(shown)))
        if 100 <= code < 200 and code != 101:
            tx.info_code = code
            tx.info_msg = msg.reason
            self._to_start(side)
            return
        if self.pending and self.pending[0] is tx:
            self.pending.popleft()
        tx.status = code
        tx.status_msg = msg.reason
        tx.resp_version = msg.version
        tx.resp_headers = shown
        tx.resp_hx = hx if shown is h else None
        tx.resp_hsize = msg.header_bytes
        if code == 101 or (tx.method == "CONNECT" and 200 <= code < 300):
            what = ("upgrade to " + (hx.get("upgrade", _NONE)[0] or "another protocol")) if code == 101 \
                else f"tunnel to {tx.uri}"
            tx.resp_done = True
            tx.resp_end_ts = self.ts
            if not tx.req_done:
                tx.req_done = True
                tx.req_end_ts = self.ts
            self._maybe_emit(tx)
            self._flush_all("connection switched protocol")
            # what each side already sent after the switch belongs to the next protocol (WebSocket frames
            # right behind the 101, in the same segment)
            pending = (self.sides[ORIG].buf.take_all(), self.sides[RESP].buf.take_all()) if code == 101 else (b"", b"")
            self._release()
            self.out.append(StopParsing(self.ts, what, pending))
            self.stopped = True
            return
        if tx.method == "CONNECT":
            # refused tunnel: the client side goes on with HTTP
            o = self.sides[ORIG]
            if o.state == _CONNECT_WAIT:
                self._to_start(o)
                o.unit_ts = self.ts if len(o.buf) else None
                self.rerun_orig = True
        if tx.method == "HEAD" or code in (204, 304) or code < 200:
            kind, n = "none", 0
        else:
            kind, n = self._framing(side, hx, False)
        if code == 206:
            tx.flags.append("partial")
        if kind == "none":
            self._response_done(side)
            return
        side.body = self._open_body(side, tx, h, tx.uri, hx)
        tx.resp_body = side.body
        if code == 206:
            side.body.partial = hx.get("content-range", _NONE)[0] or "unknown range"
        self._enter_body(side, kind, n)

    def _response_done(self, side: _Side) -> None:
        tx = side.tx
        if tx is not None:
            tx.resp_done = True
            tx.resp_end_ts = self.ts
            self._maybe_emit(tx)
        side.tx = None
        self._to_start(side)

    # -- bodies -----------------------------------------------------------
    def _open_body(self, side: _Side, tx: _Tx, h: list[tuple[str, str]], uri: str | None,
                   hx: dict[str, list[str]] | None = None) -> _Body:
        b = _Body()
        self.handles += 1
        b.handle = f"{'req' if side.dir is ORIG else 'resp'}{tx.depth}-{self.handles}"
        b.fuid = self.ctx.fuid(b.handle)
        if hx is None:
            hx = _index(h)
        get = hx.get
        ctype = get("content-type", _NONE)[0]
        if ctype:
            # the media type as multipart.header_params gives it; its parameters only where used
            b.mime = ctype.partition(";")[0].strip().lower() or None
        cd = get("content-disposition", _NONE)[0]
        name = multipart.disposition_filename(cd) if cd else None
        b.filename = name
        hint = name or _last_segment(uri)
        codings = []
        if "content-encoding" in hx:
            enc = ",".join(hx["content-encoding"]).lower()
            codings = [c.strip() for c in enc.split(",") if c.strip() and c.strip() != "identity"]
        total = None
        if codings:
            b.encoding = ", ".join(codings)
            b.decoder = ContentDecoder(codings, self.lim.max_decompressed,
                                       self.lim.max_decompression_ratio)
            if b.decoder.unknown:
                self._anom("http_unknown_content_encoding",
                           f"content coding {', '.join(b.decoder.unknown)!r} not decoded; stored as sent",
                           side.dir)
        else:
            cl = get("content-length", _NONE)[0]
            if cl and cl.strip().isdigit() and cl.isascii() and not hx.get("transfer-encoding"):
                total = int(cl.strip())
        if side.dir is ORIG:
            boundary = multipart.header_params(ctype)[1].get("boundary") \
                if b.mime == "multipart/form-data" else None
            if boundary:
                b.kind = "multipart"
                b.boundary = boundary.encode("latin-1", "replace")
                b.collect = bytearray()
                b.collect_cap = self.lim.max_message
            elif b.mime == "application/x-www-form-urlencoded":
                b.kind = "form"
                b.collect = bytearray()
                b.collect_cap = _FORM_BUFFER
        self.out.append(FileOpen(self.ts, b.handle, "HTTP", "file", hint, b.mime, total, side.dir))
        return b

    def _body_data(self, side: _Side, raw: bytes) -> None:
        b = side.body
        if b is None or not raw:
            return
        b.last_ts = self.ts
        b.wire += len(raw)
        if b.decoder is None:
            if b.collect is None:           # stored as it came: the usual case
                b.length += len(raw)
                side.held.add(self.out, self.ts, b.handle, raw)
            else:
                self._store(side, b, [raw])
            return
        before, anomaly, after = b.decoder.feed(raw)
        self._store(side, b, before)
        if anomaly:     # after the data decoded before the problem, whatever the split
            self._decoder_anomaly(side, anomaly)
        if after:
            self._store(side, b, after)

    def _store(self, side: _Side, b: _Body, pieces: list[bytes]) -> None:
        for data in pieces:
            if not data:
                continue
            b.length += len(data)
            side.held.add(self.out, self.ts, b.handle, data)
            if b.collect is not None and not b.collect_over:
                if len(b.collect) + len(data) > b.collect_cap:
                    b.collect_over = True
                    b.collect = None
                    if b.kind == "multipart":
                        self._anom("http_multipart_too_long",
                                   f"multipart body over {b.collect_cap} bytes; parts not split",
                                   side.dir)
                else:
                    b.collect += data

    def _decoder_anomaly(self, side: _Side, name: str) -> None:
        b = side.body
        detail = {
            "http_decompression_capped": f"decoded body reached {self.lim.max_decompressed} bytes; "
                                         "the rest is not decoded",
            "http_decompression_ratio_limit": "decoded/encoded ratio over "
                                              f"{self.lim.max_decompression_ratio} (compression bomb?); "
                                              "decoding stopped",
            "http_content_encoding_error": f"{b.encoding} data is corrupt"
                                           + ("; stored as sent" if b.decoder.passthrough else
                                              "; decoding stopped"),
            "http_content_encoding_gap": "bytes missing in the encoded body; decoding stopped",
            "http_content_encoding_truncated": f"{b.encoding} stream ends early",
        }.get(name, name)
        self._anom(name, detail, side.dir)
        if name != "http_content_encoding_truncated" and not (
                name == "http_content_encoding_error" and b.decoder.passthrough):
            b.complete = False
            b.reason = b.reason or name[5:].replace("_", " ")

    def _body_gap(self, side: _Side, n: int) -> None:
        b = side.body
        if b is None or n <= 0:
            return
        b.missing += n
        b.complete = False
        b.reason = b.reason or "bytes missing in capture"
        if b.decoder is not None:
            a = b.decoder.gap()
            if a:
                self._decoder_anomaly(side, a)
        if b.collect is not None:
            b.collect = None
            b.collect_over = True
        side.held.flush(self.out)
        self.out.append(FileGap(self.ts, b.handle, n))

    def _body(self, side: _Side) -> bool:
        """One step of the body's reader: data stored, the end, the trailers, or framing lost."""
        flaws = self.flaws
        got = side.reader(side.buf, flaws)
        if flaws:
            for name, detail in flaws:
                self._anom(name, detail, side.dir)
            flaws.clear()
        if got is None:
            return False
        if type(got) is bytes:
            self._body_data(side, got)
        elif got is END:
            self._end_body(side)
        elif got is TRAILERS:
            side.state = _TRAILERS
        else:
            self._lost_body(side, got.why)
        return True

    def _lost_body(self, side: _Side, why: str) -> None:
        b = side.body
        if b is not None:
            b.complete = False
            b.reason = b.reason or why
            self._end_body(side, resync=why)
        else:
            self._resync(side, why)

    def _end_body(self, side: _Side, resync: str = "") -> None:
        b = side.body
        tx = side.tx
        if b is not None:
            side.held.end(self.out)
            if b.decoder is not None:
                a = b.decoder.finish()
                if a:
                    self._decoder_anomaly(side, a)
            complete = b.complete and not b.partial
            reason = b.reason or (f"partial content ({b.partial})" if b.partial else "")
            self.out.append(FileClose(self.ts, b.handle, complete, reason))
            files = [(b.fuid, b.filename, b.mime)]
            if b.kind == "multipart" and b.collect is not None:
                files.extend(self._emit_parts(side, b))
            elif b.kind == "form" and b.collect is not None and tx is not None:
                self._form_creds(tx, bytes(b.collect))
            b.collect = None
            self.out.append(HttpBody(self.ts, side.dir, tx.depth if tx else 0, b.handle, b.wire,
                                     b.length, b.missing, b.encoding, complete, reason))
            if tx is not None:
                if side.dir is ORIG:
                    tx.orig_files.extend(files)
                else:
                    tx.resp_files.extend(files)
                if not b.complete:
                    flag = "request_body_incomplete" if side.dir is ORIG else "response_body_incomplete"
                    if flag not in tx.flags:
                        tx.flags.append(flag)
        if resync:
            if side.dir is ORIG:
                self._request_done(side)
            else:
                self._response_done(side)
            self._resync(side, resync)
            return
        if side.dir is ORIG:
            self._request_done(side)
        else:
            self._response_done(side)

    def _emit_parts(self, side: _Side, b: _Body) -> list[tuple[str, str | None, str | None]]:
        parts, problems = multipart.split(bytes(b.collect), b.boundary, self.lim.max_mime_parts)
        for p in problems:
            name = "http_multipart_parts_too_many" if "over the limit" in p else "http_bad_multipart"
            self._anom(name, p, side.dir)
        files = []
        for i, part in enumerate(parts):
            if part.filename is None or (part.filename == "" and not part.data):
                continue
            h = f"{b.handle}-part{i + 1}"
            self.out.append(FileOpen(self.ts, h, "HTTP", "file", part.filename or None,
                                     part.content_type, len(part.data), side.dir, b.fuid))
            if part.data:
                self.out.append(FileData(self.ts, h, part.data))
            self.out.append(FileClose(self.ts, h, True, ""))
            files.append((self.ctx.fuid(h), part.filename or None, part.content_type))
        return files

    # -- credentials ------------------------------------------------------
    def _auth(self, tx: _Tx, value: str) -> None:
        cred, problem = authorization(value)
        if problem:
            self._anom("http_bad_basic_auth", problem, ORIG)
        if cred is not None:
            tx.username = tx.username or cred[0]
            tx.creds.append(cred)

    def _userinfo(self, tx: _Tx, uri: str, target: bool = True) -> str:
        """A URL with user-info: a credential (kind ``url-userinfo``, once per transaction); the URL as
        shown. Only the request target's user-info names the transaction's ``username``."""
        got = userinfo(uri)
        if got is None:
            return uri
        shown, user, pw = got
        if (user, pw, "url-userinfo") not in tx.creds:
            tx.creds.append((user, pw, "url-userinfo"))
        if target:
            tx.username = tx.username or user
        return shown

    def _shown_headers(self, tx: _Tx, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Header fields as tables, events and the HAR show them (docs/HARDENING.md "Secrets"): the
        credentials of Authorization and Proxy-Authorization (RFC 9110 §11.6.2, §11.7.2) masked, and
        the password of a URL's user-info in any field value (Referer, Location, …; RFC 3986
        §3.2.1) masked and kept as a credential. The list itself when nothing needed masking."""
        shown = None
        for i, (k, v) in enumerate(headers):
            if len(k) in (13, 19) and k.lower() in ("authorization", "proxy-authorization"):
                nv = masked_authorization(v)
            elif "@" in v and "://" in v:
                nv = self._userinfo(tx, v, target=False)
            else:
                continue
            if nv != v:
                if shown is None:
                    shown = list(headers)
                shown[i] = (k, nv)
        return headers if shown is None else shown

    def _form_creds(self, tx: _Tx, body: bytes) -> None:
        got = form_credentials(body)
        if got is None:
            return
        tx.form_creds.append(got)
        if not tx.username and got[0]:
            tx.username = got[0]

    # -- records ----------------------------------------------------------
    def _maybe_emit(self, tx: _Tx, force: bool = False) -> None:
        if tx.emitted:
            return
        if not force and not tx.req_done:
            if tx not in self.waiting:
                self.waiting.append(tx)
            return
        tx.emitted = True
        if tx in self.waiting:
            self.waiting.remove(tx)
        success = None
        if tx.status is not None:
            if tx.status in (401, 407, 403):
                success = False
            elif 200 <= tx.status < 400:
                success = True
        for user, secret, kind in tx.creds:
            self.out.append(Credential(tx.ts, protocol="http", username=user, secret=secret,
                                       kind=kind, success=success))
        for user, secret in tx.form_creds:
            self.out.append(Credential(tx.ts, protocol="http", username=user, secret=secret,
                                       kind="form", success=None))
        rh = tx.resp_headers
        rhx = tx.resp_hx if tx.resp_hx is not None else _index(rh)
        rget = rhx.get
        query = _query_string(tx.uri.split("?", 1)[1].split("#", 1)[0]) \
            if tx.uri and "?" in tx.uri else []
        complete = (tx.req_done and tx.resp_done and tx.has_request
                    and not (tx.flags and any(f.endswith("incomplete") or f in _INCOMPLETE_FLAGS
                                              for f in tx.flags)))
        partial = tx.status == 206
        rb, qb = tx.resp_body, tx.req_body
        orig_fuids, orig_names, orig_mimes = _file_columns(tx.orig_files)
        resp_fuids, resp_names, resp_mimes = _file_columns(tx.resp_files)
        # positional, in the fields' order (pinned by tests/dissectors/test_positional_items.py): the call
        # with 42 keywords took about as long as the rest of this method
        self.out.append(HttpTransaction(
            tx.ts, tx.depth, tx.method, tx.host, tx.uri,            # ts, trans_depth, method, host, uri
            tx.referrer, tx.resp_version, tx.ua, tx.origin,         # referrer, version, user_agent, origin
            qb.length if qb else 0, rb.length if rb else 0,         # request_body_len, response_body_len
            tx.status, tx.status_msg, tx.info_code,                 # status_code, status_msg, info_code
            tx.info_msg, tx.username,                               # info_msg, username
            orig_fuids, orig_names, orig_mimes,             # orig_fuids, orig_filenames, orig_mime_types
            resp_fuids, resp_names, resp_mimes,             # resp_fuids, resp_filenames, resp_mime_types
            list(tx.cookies), rget("set-cookie", []),               # cookies, set_cookies
            rget("location", _NONE)[0],                             # location
            (rb.encoding or None) if rb else rget("content-encoding", _NONE)[0],    # content_encoding
            tx.range, rget("content-range", _NONE)[0], partial,    # range, content_range, partial
            complete, list(tx.flags), tx.version,                   # complete, flags, request_version
            [{"name": k, "value": v} for k, v in tx.req_headers],   # request_headers
            [{"name": k, "value": v} for k, v in rh],               # response_headers
            query, tx.req_hsize,                                    # query_string, request_header_size
            tx.resp_hsize,                                          # response_header_size
            qb.wire if qb else 0, rb.wire if rb else 0,     # request_body_wire_len, response_body_wire_len
            tx.req_end_ts, tx.resp_ts, tx.resp_end_ts,      # request_end_ts, response_ts, response_end_ts
        ))

    def _flush_all(self, why: str) -> None:
        """Emit every transaction still open (close, tunnel)."""
        rest = list(self.waiting)
        for s in self.sides:
            if s.tx is not None and s.tx not in rest:
                rest.append(s.tx)
        rest.extend(t for t in self.pending if t not in rest)
        rest.sort(key=lambda t: t.depth)
        for tx in rest:
            if tx.emitted:
                continue
            if tx.status is None and "no_response" not in tx.flags:
                tx.flags.append("no_response")
            self._maybe_emit(tx, force=True)
        self.pending.clear()
        self.waiting.clear()

    # -- gaps, resync, close ----------------------------------------------
    def _gap(self, side: _Side, n: int) -> None:
        st = side.state
        d = side.dir
        self._anom("http_gap", f"{n} bytes missing in the {d.label} stream", d)
        if st == _BODY:
            pieces, outcome = side.reader.gap(n)
            if outcome is GAP_IN_FRAMING:
                side.buf.clear()
            for k in pieces:
                self._body_gap(side, k)
            if outcome is ENDED:
                self._end_body(side)
            elif outcome:
                self._end_body(side, resync=outcome)
                if outcome is GAP_PAST_END:
                    side.buf.clear()
            return
        if st == _TRAILERS:
            side.buf.clear()
            self._body_gap(side, n)
            self._end_body(side, resync=GAP_IN_FRAMING)
            return
        if st == _HEADERS:
            side.buf.clear()
            self._headers_cut(side)
            self._resync(side, "gap in headers")
            side.resync_from_gap = True
            return
        if st == _START:
            side.buf.clear()
            side.unit_ts = None
            self._resync(side, "gap between messages")
            side.resync_from_gap = True
            return
        if st == _RESYNC_ST:
            side.buf.clear()
            return
        side.buf.clear()   # CONNECT wait, dead

    def _resync_scan(self, side: _Side) -> bool:
        buf = side.buf
        if buf.discarding:
            nl = buf.find(b"\n")
            if nl < 0:
                side.scanned += len(buf)
                buf.clear()
                buf.discarding = True
                return self._resync_budget(side)
            side.scanned += nl + 1
            buf.skip(nl + 1)
            buf.discarding = False
        if not len(buf):
            return False
        skipped = buf.search(_RESYNC[side.dir])
        if skipped >= 0:
            side.scanned += skipped
            buf.skip(skipped)
            if side.scanned:
                self._anom("http_resync_skipped", f"{side.scanned} bytes skipped to the next "
                           + ("request" if side.dir is ORIG else "response"), side.dir)
            side.scanned = 0
            side.state = _START
            side.unit_ts = self.ts
            return True
        # keep only the last (possibly partial) line
        last = buf.rfind(b"\n")
        if last >= 0:
            side.scanned += last + 1
            buf.skip(last + 1)
        if len(buf) > self.lim.max_line:
            side.scanned += len(buf)
            buf.clear()
            buf.discarding = True
        elif not len(buf):
            buf.clear()
        return self._resync_budget(side)

    def _resync_budget(self, side: _Side) -> bool:
        budget = _UNCONFIRMED_BUDGET_PORT if self.on_http_port else _UNCONFIRMED_BUDGET
        if not self.confirmed and side.scanned > budget:
            self._violate("no HTTP start line found")
        return False

    def _close(self) -> None:
        close_ts = self.ts
        for side in (self.sides[RESP], self.sides[ORIG]):
            st = side.state
            # a body that ends with the connection ended with its last data, not with the FIN after it
            b = side.body
            self.ts = b.last_ts if (b is not None and b.last_ts is not None) else close_ts
            missing = side.reader.eof() if st == _BODY else 0
            if missing is None:
                self._end_body(side)
            elif st == _BODY or st == _TRAILERS:
                self._anom("http_body_truncated", f"{side.dir.label} body cut by the end of the "
                           "connection or capture", side.dir)
                if missing:
                    self._body_gap(side, missing)
                else:
                    b = side.body
                    if b is not None:
                        b.complete = False
                b = side.body
                if b is not None:
                    b.reason = "cut by the end of the capture"
                self._end_body(side)
            elif st == _HEADERS:
                self._anom("http_headers_truncated", f"{side.dir.label} header block cut by the end "
                           "of the connection or capture", side.dir)
                self._headers_cut(side)
            elif st == _START and len(side.buf) and side.buf.pending().strip():
                self._anom("http_truncated_start_line", f"{side.dir.label} start line cut by the end",
                           side.dir)
        self.ts = close_ts
        self._flush_all("end of connection")


# ---------------------------------------------------------------- session assembly
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)\s*-\s*(\d+)\s*/\s*(\d+)\s*$", re.IGNORECASE)


def assemble(tables: Mapping[str, Iterable[dict]]) -> dict[str, Iterator[dict]]:
    """Range responses (206) for one URL whose ranges cover the whole representation: one assembled object each.

    Reads the ``http`` table once (pure, streaming) and keeps, per URL — (server address and port, Host, URI,
    complete length) — the ``(offset, fuid)`` of each single-range 206 body. Yields an ``assembled_objects``
    request for every URL whose declared ranges cover ``0 .. length-1``: the engine checks the parts' stored
    bytes against their ranges and writes the object (decoder.session). The http rows are not changed."""
    urls: dict[tuple, list[tuple[int, int, str, dict]]] = {}
    for r in tables.get("http") or ():
        fuids = r.get("resp_fuids") or ()
        m = _CONTENT_RANGE.match(r.get("content_range") or "") if r.get("status_code") == 206 else None
        if m is None or len(fuids) != 1:
            continue
        lo, hi, total = (int(x) for x in m.groups())
        if hi < lo or hi >= total:
            continue
        key = (r.get("resp_h"), r.get("resp_p"), (r.get("host") or "").lower(), r.get("uri"), total)
        urls.setdefault(key, []).append((lo, hi, fuids[0], {c: r.get(c) for c in (
            "ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p")}))

    def out() -> Iterator[dict]:
        for (_h, _p, _host, uri, total), parts in urls.items():
            parts.sort(key=lambda x: (x[0], x[1]))
            end = 0
            for lo, hi, _f, _r in parts:
                if lo > end:
                    break
                end = max(end, hi + 1)
            if end < total:
                continue          # a hole: the object is not whole
            first = min(parts, key=lambda x: x[3]["ts"] or 0)[3]
            name = posixpath.basename((uri or "").split("?", 1)[0]) or None
            yield {**first, "source": "HTTP", "kind": "file", "direction": "resp", "name_hint": name,
                   "total_bytes": total, "parts": [(f, lo, hi - lo + 1) for lo, hi, f, _r in parts]}

    return {"assembled_objects": out()}
