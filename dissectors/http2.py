"""HTTP/2 (RFC 9113) read passively: frames, HPACK headers, one ``http`` row per stream.

What is followed: the client connection preface (section 3.4), the frame layer (section 4; frames parsed
with ``hyperframe``, the framing layer of the ``h2`` project), HEADERS + CONTINUATION header blocks
decompressed with ``hpack`` (RFC 7541; one decoder per direction, its table size bounded by what the
receiving side announced in SETTINGS_HEADER_TABLE_SIZE), DATA with padding removed, END_STREAM,
RST_STREAM, GOAWAY, SETTINGS and PUSH_PROMISE (a pushed response gets its own row, its request headers
from the promise). Each stream becomes one row of the ``http`` table with the same columns as HTTP/1.x
(Zeek's http.log names) and ``stream_id``; request and response bodies are objects (content codings
undone, bounded, as for HTTP/1.x), so they reach ``files`` and ``http.har``.

Why not ``h2``'s connection object: it is an endpoint (it answers, enforces flow-control windows and
refuses frames a peer should not send); an observer must read both sides as they were sent.

Limits: a frame longer than the receiver's SETTINGS_MAX_FRAME_SIZE, a header block over
``Limits.max_header_block`` or an HPACK error ends decoding of the direction (anomaly; the HPACK state
is lost); more than ``Limits.max_pending_requests`` open streams are not followed; priorities are not
shown; a TCP gap ends decoding of that direction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from decoder.model import (
    ORIG, Anomaly, Confirm, Direction, Event, FileClose, FileData, FileGap, FileOpen, FlowContext,
    Violation,
)
from dissectors._http_decode import ContentDecoder
from dissectors.http import HttpTransaction
from dissectors.probes.http2 import PREFACE, SPECS, probe

__all__ = ["SPECS", "probe", "Http2Dissector", "Http2Request", "Http2Response", "Http2Control"]

ERROR_CODES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
               4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM",
               8: "CANCEL", 9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR", 11: "ENHANCE_YOUR_CALM",
               12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED"}
_DEFAULT_MAX_FRAME = 16384
_MAX_TABLE = 65536        # largest HPACK table we agree to keep for a decoder


@dataclass(frozen=True, slots=True)
class Http2Request(Event):
    stream_id: int = 0
    method: str = ""
    path: str = ""
    authority: str = ""
    pushed: bool = False

    def summary(self) -> str:
        return f"{'PUSH_PROMISE ' if self.pushed else ''}{self.method} {self.path} (stream {self.stream_id})"

    def meaning(self) -> str:
        if self.pushed:
            return "the server announces a response it will push, with the request it answers (RFC 9113 s.8.4)"
        return "a request: pseudo-headers :method, :path, :authority in a HEADERS frame (RFC 9113 s.8.3.1)"


@dataclass(frozen=True, slots=True)
class Http2Response(Event):
    stream_id: int = 0
    status: int = 0

    def summary(self) -> str:
        return f"{self.status} (stream {self.stream_id})"

    def meaning(self) -> str:
        return "the response's :status pseudo-header in a HEADERS frame (RFC 9113 s.8.3.2)"


@dataclass(frozen=True, slots=True)
class Http2Control(Event):
    """A connection-level frame worth showing: SETTINGS, GOAWAY, RST_STREAM."""

    frame: str = ""
    detail: str = ""

    def summary(self) -> str:
        return f"{self.frame}" + (f" {self.detail}" if self.detail else "")

    def meaning(self) -> str:
        return {"SETTINGS": "connection parameters of the sender (RFC 9113 s.6.5)",
                "GOAWAY": "the sender stops the connection; streams above the last id were not processed "
                          "(RFC 9113 s.6.8)",
                "RST_STREAM": "the stream is cancelled (RFC 9113 s.6.4)"}.get(self.frame, "")


class _Body:
    __slots__ = ("handle", "decoder", "length", "wire", "encoding", "mime", "opened", "missing")

    def __init__(self) -> None:
        self.handle = ""
        self.decoder: ContentDecoder | None = None
        self.length = 0
        self.wire = 0
        self.encoding = ""
        self.mime: str | None = None
        self.opened = False
        self.missing = 0


class _Stream:
    __slots__ = ("sid", "depth", "ts", "req", "resp", "info", "bodies", "ended", "reset", "pushed",
                 "request_end_ts", "response_ts", "response_end_ts", "req_hsize", "resp_hsize")

    def __init__(self, sid: int, depth: int, ts: float) -> None:
        self.sid, self.depth, self.ts = sid, depth, ts
        self.req: list[tuple[str, str]] | None = None
        self.resp: list[tuple[str, str]] | None = None
        self.info: list[tuple[str, str]] | None = None        # a 1xx response
        self.bodies = (_Body(), _Body())
        self.ended = [False, False]
        self.reset: str | None = None
        self.pushed = False
        self.request_end_ts: float | None = None
        self.response_ts: float | None = None
        self.response_end_ts: float | None = None
        self.req_hsize = -1
        self.resp_hsize = -1


class Http2Dissector:
    """Sans-IO HTTP/2 dissector for one connection (after TLS with ALPN h2, or cleartext prior knowledge)."""

    def __init__(self, ctx: FlowContext) -> None:
        import hpack

        self.ctx = ctx
        self.lim = ctx.limits
        self.buf = [bytearray(), bytearray()]
        self.preface = [False, True]          # the server has no preface beyond its SETTINGS
        self.dead = [False, False]
        self.decoders = [hpack.Decoder(), hpack.Decoder()]
        for dec in self.decoders:
            dec.max_header_list_size = self.lim.max_header_block
        self.max_frame = [_DEFAULT_MAX_FRAME, _DEFAULT_MAX_FRAME]   # what each side accepts (its SETTINGS)
        self.block: list[tuple[int, str, bytearray, int] | None] = [None, None]   # (sid, kind, bytes, promised)
        self.streams: dict[int, _Stream] = {}
        # reached from HTTP/1.1 after a 101 to h2c (RFC 7540 s.3.2): the server's first frames come before the
        # client's preface, and stream 1 answers the HTTP/1.1 request
        self.upgraded = ctx.switched_from == "http"
        self.end_stream: dict[tuple[int, int], bool] = {}     # a HEADERS frame's END_STREAM, until END_HEADERS
        self.depth = 0
        self.confirmed = False
        self.capped = False
        self.out: list = []
        self.ts = 0.0

    # ------------------------------------------------------------ contract
    def feed(self, direction: Direction, data: bytes, ts: float) -> list:
        self.out = out = []
        self.ts = ts
        d = int(direction)
        if self.dead[d] or not data:
            return out
        buf = self.buf[d]
        buf += data
        if not self.preface[d]:
            if len(buf) < len(PREFACE):
                if not PREFACE.startswith(bytes(buf)):
                    self._bad(direction, "the client did not start with the HTTP/2 connection preface")
                return out
            if not buf.startswith(PREFACE):
                self._bad(direction, "the client did not start with the HTTP/2 connection preface")
                return out
            del buf[:len(PREFACE)]
            self.preface[d] = True
            if not self.confirmed:
                self.confirmed = True
                out.append(Confirm(ts))
        self._frames(direction)
        return out

    def gap(self, direction: Direction, length: int, ts: float) -> list:
        self.out = out = []
        self.ts = ts
        d = int(direction)
        if not self.dead[d]:
            self.dead[d] = True
            self.buf[d] = bytearray()
            out.append(Anomaly(ts, "http2_gap", f"{length} bytes missing: frame boundaries and the HPACK state "
                               "are lost; the rest of this direction is not decoded", direction))
            for st in self.streams.values():
                b = st.bodies[d]
                if b.opened and not st.ended[d]:
                    out.append(FileGap(ts, b.handle, length))
                    b.missing += length
                    break
        return out

    def close(self, ts: float) -> list:
        self.out = out = []
        self.ts = ts
        for st in list(self.streams.values()):
            self._finish(st, complete=False)
        return out

    # ------------------------------------------------------------ frames
    def _bad(self, direction: Direction, why: str) -> None:
        self.dead[int(direction)] = True
        self.buf[int(direction)] = bytearray()
        if not self.confirmed:
            self.out.append(Violation(self.ts, why))
        else:
            self.out.append(Anomaly(self.ts, "http2_malformed", why, direction))

    def _frames(self, direction: Direction) -> None:
        from hyperframe.exceptions import HyperframeError
        from hyperframe.frame import Frame

        d = int(direction)
        buf = self.buf[d]
        pos = 0
        limit = self.max_frame[1 - d]
        while len(buf) - pos >= 9 and not self.dead[d]:
            length = int.from_bytes(buf[pos:pos + 3], "big")
            if length > limit:
                self._bad(direction, f"a frame of {length} bytes (the receiver accepts {limit})")
                return
            if len(buf) - pos < 9 + length:
                break
            try:
                frame, _ = Frame.parse_frame_header(memoryview(bytes(buf[pos:pos + 9])))
                frame.parse_body(memoryview(bytes(buf[pos + 9:pos + 9 + length])))
            except (HyperframeError, ValueError) as e:
                pos += 9 + length
                self.out.append(Anomaly(self.ts, "http2_frame_malformed", f"{type(e).__name__}: {e}", direction))
                continue
            pos += 9 + length
            if not self.confirmed and frame.type == 0x4:
                self.confirmed = True
                self.out.append(Confirm(self.ts))
            self._frame(direction, frame)
        if not self.dead[d]:
            del buf[:pos]

    def _frame(self, direction: Direction, f: Any) -> None:
        d = int(direction)
        t = f.type
        if self.block[d] is not None and t != 0x9:
            self._bad(direction, "a header block was interrupted by another frame (RFC 9113 s.6.10)")
            return
        if t == 0x0:                                    # DATA
            self._data(direction, f.stream_id, bytes(f.data), "END_STREAM" in f.flags)
        elif t in (0x1, 0x5):                           # HEADERS, PUSH_PROMISE
            promised = getattr(f, "promised_stream_id", 0) if t == 0x5 else 0
            self.block[d] = (f.stream_id, "push" if t == 0x5 else "headers", bytearray(f.data), promised)
            self.end_stream[(d, f.stream_id)] = "END_STREAM" in f.flags and t == 0x1
            if "END_HEADERS" in f.flags:
                self._header_block(direction)
        elif t == 0x9:                                  # CONTINUATION
            blk = self.block[d]
            if blk is None or blk[0] != f.stream_id:
                self._bad(direction, "CONTINUATION without a header block to continue")
                return
            blk[2].extend(f.data)
            if len(blk[2]) > self.lim.max_header_block:
                self.out.append(Anomaly(self.ts, "http2_header_block_too_long",
                                        f"a header block over {self.lim.max_header_block} bytes", direction))
                self._bad(direction, "header block too long")
                return
            if "END_HEADERS" in f.flags:
                self._header_block(direction)
        elif t == 0x3:                                  # RST_STREAM
            code = ERROR_CODES.get(f.error_code, str(f.error_code))
            self.out.append(Http2Control(self.ts, direction, "RST_STREAM", f"stream {f.stream_id} {code}"))
            st = self.streams.get(f.stream_id)
            if st is not None:
                # the stream ends here for the sender; frames already in flight from the peer may still
                # come (a server that answered early resets the upload it does not need): the row waits
                st.reset = code
                if d == 0:
                    st.ended[0] = True
                else:
                    st.ended[1] = True
                if all(st.ended):
                    self._finish(st, complete=True)
        elif t == 0x4:                                  # SETTINGS
            if "ACK" not in f.flags:
                s = dict(f.settings)
                if 0x5 in s:
                    self.max_frame[d] = max(_DEFAULT_MAX_FRAME, min(s[0x5], 2 ** 24 - 1))
                if 0x1 in s:    # the table size this side's decoder may use for what the *other* side sends
                    self.decoders[1 - d].max_allowed_table_size = min(s[0x1], _MAX_TABLE)
                names = {1: "HEADER_TABLE_SIZE", 2: "ENABLE_PUSH", 3: "MAX_CONCURRENT_STREAMS",
                         4: "INITIAL_WINDOW_SIZE", 5: "MAX_FRAME_SIZE", 6: "MAX_HEADER_LIST_SIZE"}
                self.out.append(Http2Control(self.ts, direction, "SETTINGS", ", ".join(
                    f"{names.get(k, k)}={v}" for k, v in s.items())))
        elif t == 0x7:                                  # GOAWAY
            code = ERROR_CODES.get(f.error_code, str(f.error_code))
            self.out.append(Http2Control(self.ts, direction, "GOAWAY", f"last stream {f.last_stream_id}, {code}"))

    def _header_block(self, direction: Direction) -> None:
        import hpack

        d = int(direction)
        sid, kind, data, promised = self.block[d]
        self.block[d] = None
        end_stream = self.end_stream.pop((d, sid), False)
        try:
            headers = [(k, v) for k, v in self.decoders[d].decode(bytes(data), raw=False)]
        except (hpack.HPACKError, ValueError, UnicodeDecodeError) as e:
            self.out.append(Anomaly(self.ts, "http2_hpack_error", f"{type(e).__name__}: {e}", direction))
            self._bad(direction, "HPACK decoding failed; the header table is lost")
            return
        if kind == "push":
            st = self._stream(promised)
            if st is None:
                return
            st.pushed = True
            st.req = headers
            st.req_hsize = len(data)
            st.ended[0] = True
            st.request_end_ts = self.ts
            h = dict(headers)
            self.out.append(Http2Request(self.ts, direction, promised, h.get(":method", ""), h.get(":path", ""),
                                         h.get(":authority", ""), pushed=True))
            return
        st = self._stream(sid)
        if st is None:
            return
        h = dict(headers)
        if direction is ORIG:
            if st.req is None:
                st.req = headers
                st.req_hsize = len(data)
                self.out.append(Http2Request(self.ts, direction, sid, h.get(":method", ""), h.get(":path", ""),
                                             h.get(":authority", "")))
            # else: trailers
        else:
            status = h.get(":status", "")
            if status.startswith("1") and st.resp is None:
                st.info = headers
            elif st.resp is None:
                st.resp = headers
                st.resp_hsize = len(data)
                st.response_ts = self.ts
                self.out.append(Http2Response(self.ts, direction, sid, int(status) if status.isdigit() else 0))
        if end_stream:
            self._end(st, d)

    def _stream(self, sid: int) -> _Stream | None:
        st = self.streams.get(sid)
        if st is None:
            if len(self.streams) >= self.lim.max_pending_requests:
                if not self.capped:
                    self.capped = True
                    self.out.append(Anomaly(self.ts, "http2_streams_too_many",
                                            f"more than {self.lim.max_pending_requests} open streams; later "
                                            "ones are not followed"))
                return None
            self.depth += 1
            st = self.streams[sid] = _Stream(sid, self.depth, self.ts)
            if sid == 1 and self.upgraded:
                st.ended[0] = True        # the HTTP/1.1 request was stream 1's, and it is complete
        return st

    def _data(self, direction: Direction, sid: int, data: bytes, end: bool) -> None:
        st = self.streams.get(sid)
        d = int(direction)
        if st is None or st.ended[d]:
            if data and st is not None:
                self.out.append(Anomaly(self.ts, "http2_malformed", f"DATA on stream {sid} after its "
                                        "END_STREAM (RFC 9113 s.5.1); ignored", direction))
            return
        b = st.bodies[d]
        if data:
            if not b.opened:
                self._open(st, d)
            b.wire += len(data)
            pieces = [data]
            if b.decoder is not None:
                before, anomaly, after = b.decoder.feed(data)
                pieces = before + after
                if anomaly:     # the decoder's own names (http_decompression_capped, …)
                    self.out.append(Anomaly(self.ts, anomaly, f"{b.encoding} body of stream {st.sid}: decoding "
                                            "stopped", direction))
            for p in pieces:
                if p:
                    b.length += len(p)
                    self.out.append(FileData(self.ts, b.handle, p))
        if end:
            self._end(st, d)

    def _open(self, st: _Stream, d: int) -> None:
        b = st.bodies[d]
        b.opened = True
        b.handle = f"s{st.sid}{'q' if d == 0 else 'r'}"
        headers = dict(st.req or []) if d == 0 else dict(st.resp or [])
        ctype = headers.get("content-type", "")
        b.mime = ctype.partition(";")[0].strip().lower() or None
        codings = [c.strip() for c in headers.get("content-encoding", "").lower().split(",")
                   if c.strip() and c.strip() != "identity"]
        total = None
        if codings:
            b.encoding = ", ".join(codings)
            b.decoder = ContentDecoder(codings, self.lim.max_decompressed, self.lim.max_decompression_ratio)
        elif headers.get("content-length", "").isdigit():
            total = int(headers["content-length"])
        path = dict(st.req or []).get(":path", "")
        hint = path.split("?", 1)[0].rsplit("/", 1)[-1] or None
        self.out.append(FileOpen(self.ts, b.handle, "HTTP", "file", hint, b.mime, total, Direction(d)))

    def _end(self, st: _Stream, d: int) -> None:
        st.ended[d] = True
        if d == 0:
            st.request_end_ts = self.ts
        else:
            st.response_end_ts = self.ts
        b = st.bodies[d]
        if b.opened:
            if b.decoder is not None:
                b.decoder.finish()
            self.out.append(FileClose(self.ts, b.handle, complete=not b.missing))
            b.opened = False
            b.handle = b.handle + "."      # closed: never written again
        if all(st.ended):
            self._finish(st, complete=True)

    def _finish(self, st: _Stream, complete: bool) -> None:
        self.streams.pop(st.sid, None)
        for d, b in enumerate(st.bodies):
            if b.opened:
                self.out.append(FileClose(self.ts, b.handle, complete=False, reason="stream not ended"))
                b.opened = False
        if st.req is None and st.resp is None:
            return
        req = dict(st.req or [])
        resp = dict(st.resp or [])
        info = dict(st.info or [])
        status = resp.get(":status", "")
        path = req.get(":path")
        q, r = st.bodies

        def fuids(b: _Body) -> tuple[list, list, list]:
            if not b.handle:
                return [], [], []
            return [self.ctx.fuid(b.handle.rstrip("."))], [], [b.mime] if b.mime else []

        qf, rf = fuids(q), fuids(r)
        flags = []
        if st.reset:
            flags.append(f"reset:{st.reset}")
        if st.pushed:
            flags.append("pushed")
        if st.req is None and st.sid == 1 and self.upgraded:
            flags.append("h2c-upgrade: the request is the HTTP/1.1 one answered by 101")
        self.out.append(HttpTransaction(
            ts=st.ts, trans_depth=st.depth, method=req.get(":method"), host=req.get(":authority") or req.get("host"),
            uri=path, referrer=req.get("referer"), version="2" if st.resp is not None else None,
            user_agent=req.get("user-agent"), origin=req.get("origin"),
            request_body_len=q.length, response_body_len=r.length,
            status_code=int(status) if status.isdigit() else None, status_msg=None,
            info_code=int(info[":status"]) if info.get(":status", "").isdigit() else None,
            username=None, orig_fuids=qf[0], orig_filenames=qf[1], orig_mime_types=qf[2],
            resp_fuids=rf[0], resp_filenames=rf[1], resp_mime_types=rf[2],
            cookies=[c.strip() for v in (x for k, x in (st.req or []) if k == "cookie") for c in v.split(";")
                     if c.strip()],
            set_cookies=[v for k, v in (st.resp or []) if k == "set-cookie"],
            location=resp.get("location"), content_encoding=r.encoding or None,
            range=req.get("range"), content_range=resp.get("content-range"),
            partial=False, complete=complete and st.resp is not None, flags=flags, request_version="2",
            request_headers=[{"name": k, "value": v} for k, v in (st.req or [])],
            response_headers=[{"name": k, "value": v} for k, v in (st.resp or [])],
            query_string=_query(path), request_header_size=st.req_hsize, response_header_size=st.resp_hsize,
            request_body_wire_len=q.wire, response_body_wire_len=r.wire, request_end_ts=st.request_end_ts,
            response_ts=st.response_ts, response_end_ts=st.response_end_ts, stream_id=st.sid))


def _query(path: str | None) -> list:
    from urllib.parse import parse_qsl

    if not path or "?" not in path:
        return []
    return [{"name": k, "value": v} for k, v in parse_qsl(path.split("?", 1)[1], keep_blank_values=True)]
