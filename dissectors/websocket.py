"""WebSocket (RFC 6455) after an HTTP/1.1 Upgrade: frames unmasked, messages reassembled, explained.

The HTTP dissector hands the connection over when the server answers ``101 Switching Protocols`` to an
``Upgrade: websocket`` request (with the bytes already sent after it). Followed: the frame layout of
section 5.2 (FIN, RSV bits, opcode, 7/16/64-bit lengths, the client's masking key of section 5.3),
fragmentation (5.4), control frames (5.5: close with its status code of section 7.4 explained, ping,
pong) and per-message compression (RFC 7692 permessage-deflate: RSV1 on the first frame; one raw-deflate
context per direction, the 0x00 0x00 0xff 0xff tail put back). Text messages become events and rows of
the ``websocket`` table (text shown up to 1,000 characters); binary messages become objects (files).

Limits: a message over ``Limits.max_message`` is cut (``websocket_message_too_long``; a single frame
that large ends decoding of its direction, it is never buffered), decompressed
output is capped by ``Limits.max_decompressed``; other extensions (RSV2/RSV3) are reported, their
messages stored as sent; a TCP gap ends decoding of that direction (frame boundaries are lost).
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import ClassVar

from decoder.model import (
    ORIG, Anomaly, Confirm, Direction, Event, FileClose, FileData, FileOpen, FlowContext, Record,
)
from dissectors.probes.websocket import SPECS

__all__ = ["SPECS", "WebSocketDissector", "WsMessage", "WsControl", "WsMessageRecord", "CLOSE_CODES"]

OPCODES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}
# RFC 6455 section 7.4.1 and the IANA WebSocket close code registry
CLOSE_CODES = {1000: "normal closure", 1001: "going away (server shutting down or page left)",
               1002: "protocol error", 1003: "unsupported data type", 1005: "no status code was given",
               1006: "closed abnormally, without a close frame", 1007: "invalid data in a message (e.g. not UTF-8)",
               1008: "policy violation", 1009: "message too big", 1010: "the client needed an extension the "
               "server did not agree to", 1011: "the server met an unexpected condition",
               1012: "service restart", 1013: "try again later", 1014: "bad gateway", 1015: "TLS handshake failure"}
TEXT_SHOWN = 1000


@dataclass(frozen=True, slots=True)
class WsMessage(Event):
    """One whole message (its fragments reassembled, decompressed)."""

    opcode: str = "text"
    length: int = 0
    text: str = ""                 # text messages: the first TEXT_SHOWN characters
    compressed: bool = False
    frames: int = 1

    def summary(self) -> str:
        if self.opcode == "text":
            t = self.text if len(self.text) <= 120 else self.text[:119] + "…"
            return f"WebSocket text ({self.length} bytes): {t}"
        return f"WebSocket binary message, {self.length} bytes"

    def meaning(self) -> str:
        how = f" in {self.frames} fragments" if self.frames > 1 else ""
        comp = ", compressed with permessage-deflate (RFC 7692)" if self.compressed else ""
        return f"a {self.opcode} message (RFC 6455 s.5.6){how}{comp}"


@dataclass(frozen=True, slots=True)
class WsControl(Event):
    opcode: str = "close"
    code: int | None = None
    reason: str = ""

    def summary(self) -> str:
        if self.opcode == "close":
            return f"WebSocket close {self.code if self.code is not None else ''} {self.reason}".rstrip()
        return f"WebSocket {self.opcode}" + (f" {self.reason}" if self.reason else "")

    def meaning(self) -> str:
        if self.opcode == "close":
            what = CLOSE_CODES.get(self.code or 1005, "an application's own code" if (self.code or 0) >= 3000
                                   else "an unassigned code")
            return f"the sender closes the connection: {what} (RFC 6455 s.5.5.1, 7.4)"
        return {"ping": "are you there? the peer must answer with a pong (RFC 6455 s.5.5.2)",
                "pong": "the answer to a ping, or a heartbeat (RFC 6455 s.5.5.3)"}.get(self.opcode, "")


@dataclass(frozen=True, slots=True)
class WsMessageRecord(Record):
    """One row of the ``websocket`` table per message."""

    TABLE: ClassVar[str] = "websocket"
    direction: str = ""
    opcode: str = ""
    length: int = 0
    compressed: bool = False
    frames: int = 1
    text: str | None = None
    fuid: str | None = None
    complete: bool = True


class _Side:
    __slots__ = ("buf", "dead", "frames", "opcode", "compressed", "parts", "size", "handle", "inflate", "cut",
                 "ts", "n")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.dead = False
        self.opcode: int | None = None     # the message being reassembled
        self.compressed = False
        self.parts: list[bytes] = []
        self.size = 0
        self.frames = 0
        self.handle = ""
        self.inflate = None
        self.cut = False
        self.ts = 0.0
        self.n = 0


class WebSocketDissector:
    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        self.lim = ctx.limits
        self.sides = (_Side(), _Side())
        self.out: list = []
        self.ts = 0.0
        self.confirmed = False

    # ------------------------------------------------------------ contract
    def feed(self, direction: Direction, data: bytes, ts: float) -> list:
        self.out = []
        self.ts = ts
        side = self.sides[direction]
        if side.dead or not data:
            return self.out
        side.buf += data
        self._frames(direction, side)
        return self.out

    def gap(self, direction: Direction, length: int, ts: float) -> list:
        self.out = []
        self.ts = ts
        side = self.sides[direction]
        if not side.dead:
            side.dead = True
            side.buf = bytearray()
            self.out.append(Anomaly(ts, "websocket_gap", f"{length} bytes missing: frame boundaries are lost; the "
                                    "rest of this direction is not decoded", direction))
            self._end_message(direction, side, complete=False)
        return self.out

    def close(self, ts: float) -> list:
        self.out = []
        self.ts = ts
        for d in (ORIG, Direction.RESP):
            if self.sides[d].opcode is not None:
                self._end_message(d, self.sides[d], complete=False)
        return self.out

    # ------------------------------------------------------------ frames
    def _frames(self, d: Direction, side: _Side) -> None:
        buf = side.buf
        pos = 0
        while len(buf) - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            fin, rsv, opcode = b0 & 0x80, (b0 >> 4) & 7, b0 & 0x0F
            masked, n = b1 & 0x80, b1 & 0x7F
            head = 2
            if n == 126:
                if len(buf) - pos < 4:
                    break
                n = struct.unpack_from("!H", buf, pos + 2)[0]
                head = 4
            elif n == 127:
                if len(buf) - pos < 10:
                    break
                n = struct.unpack_from("!Q", buf, pos + 2)[0]
                head = 10
            if masked:
                head += 4
            if opcode not in OPCODES or (opcode >= 8 and (n > 125 or not fin)) or n >= 1 << 63:
                self._bad(d, side, f"bytes {bytes(buf[pos:pos + 2]).hex()} are not a WebSocket frame header "
                          "(RFC 6455 s.5.2)")
                return
            if n > self.lim.max_message:      # refused before it is buffered, however the bytes arrive
                self._bad(d, side, f"a frame of {n} bytes (the limit is {self.lim.max_message})",
                          name="websocket_message_too_long")
                return
            if len(buf) - pos < head + n:
                break
            payload = bytes(buf[pos + head:pos + head + n])
            if masked:
                key = bytes(buf[pos + head - 4:pos + head])
                payload = _unmask(payload, key)
            elif d is ORIG:
                self.out.append(Anomaly(self.ts, "websocket_unmasked_client_frame",
                                        "a client frame without a masking key (RFC 6455 s.5.1 requires one)", d))
            pos += head + n
            if not self.confirmed:
                self.confirmed = True
                self.out.append(Confirm(self.ts))
            self._frame(d, side, bool(fin), rsv, opcode, payload)
        del buf[:pos]

    def _bad(self, d: Direction, side: _Side, why: str, name: str = "websocket_malformed") -> None:
        side.dead = True
        side.buf = bytearray()
        self.out.append(Anomaly(self.ts, name, why + "; the rest of this direction is not decoded", d))
        self._end_message(d, side, complete=False)

    def _frame(self, d: Direction, side: _Side, fin: bool, rsv: int, opcode: int, payload: bytes) -> None:
        if opcode >= 8:
            self._control(d, opcode, payload)
            return
        if opcode == 0:
            if side.opcode is None:
                self.out.append(Anomaly(self.ts, "websocket_malformed", "a continuation frame with no message "
                                        "to continue (RFC 6455 s.5.4)", d))
                return
        else:
            if side.opcode is not None:
                self.out.append(Anomaly(self.ts, "websocket_malformed", "a new message began before the last "
                                        "one ended (RFC 6455 s.5.4)", d))
                self._end_message(d, side, complete=False)
            side.opcode, side.compressed, side.frames, side.size, side.parts = opcode, bool(rsv & 4), 0, 0, []
            side.cut, side.ts = False, self.ts
            if rsv & 3:
                self.out.append(Anomaly(self.ts, "websocket_unknown_extension",
                                        f"RSV bits {rsv:03b}: an extension we do not decode; stored as sent", d))
            if opcode == 2:
                side.n += 1
                side.handle = f"ws{'c' if d is ORIG else 's'}{side.n}"
                self.out.append(FileOpen(self.ts, side.handle, "WEBSOCKET", "file", None, None, None, d))
        side.frames += 1
        data = payload
        if side.compressed:
            data = self._inflate(d, side, payload, final=fin)
        self._add(d, side, data)
        if fin:
            self._end_message(d, side, complete=not side.cut)

    def _inflate(self, d: Direction, side: _Side, payload: bytes, final: bool) -> bytes:
        if side.inflate is None:
            side.inflate = zlib.decompressobj(-15)
        try:
            room = max(self.lim.max_decompressed - side.size, 0) + 1
            out = side.inflate.decompress(payload + (b"\x00\x00\xff\xff" if final else b""), room)
        except zlib.error as e:
            self.out.append(Anomaly(self.ts, "websocket_inflate_error", f"permessage-deflate data is corrupt "
                                    f"({e}); the message is incomplete", d))
            side.inflate = None
            side.cut = True
            return b""
        if side.inflate.unconsumed_tail:
            self.out.append(Anomaly(self.ts, "websocket_decompression_capped", f"a message decompressed past "
                                    f"{self.lim.max_decompressed} bytes; the rest is not kept", d))
            side.inflate = None       # its window no longer matches the sender's
            side.cut = True
        return out

    def _add(self, d: Direction, side: _Side, data: bytes) -> None:
        if not data:
            return
        room = self.lim.max_message - side.size
        if len(data) > room:
            if not side.cut:
                side.cut = True
                self.out.append(Anomaly(self.ts, "websocket_message_too_long",
                                        f"a message over {self.lim.max_message} bytes; the rest is not kept", d))
            data = data[:max(room, 0)]
            if not data:
                return
        side.size += len(data)
        if side.opcode == 2:
            self.out.append(FileData(self.ts, side.handle, data))
        elif sum(len(p) for p in side.parts) < TEXT_SHOWN * 4:
            side.parts.append(data)

    def _end_message(self, d: Direction, side: _Side, complete: bool) -> None:
        if side.opcode is None:
            return
        opcode = OPCODES[side.opcode]
        text = None
        fuid = None
        if side.opcode == 1:
            text = b"".join(side.parts).decode("utf-8", "replace")[:TEXT_SHOWN]
        else:
            self.out.append(FileClose(self.ts, side.handle, complete=complete,
                                      reason="" if complete else "message incomplete"))
            fuid = self.ctx.fuid(side.handle)
        # the event belongs to the frame that completed the message (as tshark shows the reassembled
        # message); its row keeps when the message began
        self.out.append(WsMessage(self.ts, d, opcode, side.size, text or "", side.compressed, side.frames))
        self.out.append(WsMessageRecord(side.ts, direction="orig" if d is ORIG else "resp", opcode=opcode,
                                        length=side.size, compressed=side.compressed, frames=side.frames,
                                        text=text, fuid=fuid, complete=complete))
        side.opcode = None
        side.parts = []

    def _control(self, d: Direction, opcode: int, payload: bytes) -> None:
        name = OPCODES[opcode]
        if opcode == 8:
            code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else None
            reason = payload[2:].decode("utf-8", "replace")
            if len(payload) == 1:
                self.out.append(Anomaly(self.ts, "websocket_malformed", "a close frame of one byte", d))
            self.out.append(WsControl(self.ts, d, name, code, reason))
        else:
            self.out.append(WsControl(self.ts, d, name, None, payload[:60].decode("utf-8", "replace")))


def _unmask(payload: bytes, key: bytes) -> bytes:
    """RFC 6455 section 5.3: XOR with the 4-byte key, repeated (one big-integer XOR, not a Python loop)."""
    if not payload:
        return payload
    n = len(payload)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")
