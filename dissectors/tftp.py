"""TFTP: requests on UDP port 69 and the transfers they start on new ports.

What TFTP is: a lock-step file transfer over UDP. A client sends a read (RRQ)
or write request (WRQ) to port 69; the server answers from a *new* port (its
transfer id, TID), and the file then moves in numbered DATA blocks, each
acknowledged by an ACK. A block shorter than the block size ends the transfer.

RFC sections followed:

* RFC 1350 section 5 — packet formats: RRQ/WRQ (filename, mode), DATA
  (block, up to 512 bytes), ACK (block), ERROR (code, message); section 4 —
  TIDs and the transfer from the server's new port; section 6 — a short block
  ends the transfer; appendix — error codes 0–7;
* RFC 2347 — option extension: options after the mode in RRQ/WRQ, OACK
  (opcode 6), ERROR 8 "option negotiation refused" ending the transfer;
* RFC 2348 — ``blksize`` (8–65464), which decides the short block;
* RFC 2349 — ``timeout`` and ``tsize`` (the file size announced by the
  server in an OACK to an RRQ, or by the client in a WRQ);
* RFC 7440 — ``windowsize``: several DATA blocks per ACK (blocks may then
  arrive out of order, which the reorder buffer handles).

What it extracts: one dissector class serves two specs. ``tftp`` (port 69)
sees RRQ/WRQ and emits an :class:`~decoder.model.Expect` for the transfer
(originated by the server from any port, to the client's address and port);
ERRORs answered directly from port 69 are recorded. A server that answers from
port 69 itself (not RFC 1350, but real: samples/tftp69.pcap) runs every transfer
on the request flow: each request gets its own transfer and file (handles
``tftp``, ``tftp1``, …), a DATA going to the latest request still running whose
data goes that way (an RRQ's from the server, a WRQ's from the client), an ACK to
the latest whose data comes the other way; each row carries its own transfer. ``tftp-data`` (reached
through that expectation, ``conn.service`` "tftp") follows DATA/ACK/OACK/ERROR:
DATA ordered by block number, duplicates dropped, 16-bit block numbers
unwrapped (after 65535 both roll-over styles, to 0 and to 1, are recognised),
OACK options honoured, missing blocks emitted as ``FileGap`` (never
zero-filled), the file as an artifact (source "TFTP", ``name_hint`` the
requested file name, ``total_size`` from tsize). The same class decodes a
transfer met without its request (capture started late) when the content
probe recognises it. Events: :class:`TftpRequest`, :class:`TftpOack`,
:class:`TftpError`, :class:`TftpAck` (block 0 only: a WRQ accepted) and one
:class:`TftpTransferEnd` per transfer; per-block DATA/ACK packets are counted,
not emitted as events (a 10 MB file would otherwise flood the timeline with
20 000 rows).

``tftp`` table (Zeek's TFTP package): ``wrq, fname, mode, uid_data, size,
block_sent, block_acked, error_code, error_msg`` plus ``blksize, tsize,
complete, fuid`` and ``expect_token``. The request flow writes a row per
request; the transfer flow writes its own row (``uid_data`` = its uid) with the
request's facts taken from the expectation's meta; :func:`assemble` then folds
each transfer row into its request row (joined through ``conn.parent_uid`` and
``conn.expect_token``), so the result is one row per request keyed by the
request flow's uid, as in Zeek. ``size`` counts distinct data bytes seen;
``block_sent``/``block_acked`` are the highest block numbers seen, unwrapped
(Zeek reports the raw 16-bit number).

Limits: out-of-order blocks buffered at most ``max(64, 4 × windowsize)`` blocks
(then the hole is declared a gap, ``tftp_reorder_limit``); request options at
most 64 (``tftp_options_too_many``); netascii data is stored as sent (no CRLF
conversion, like ``tshark --export-objects``); multicast (RFC 2090) is not
followed.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Iterable, Iterator, Mapping, Sequence

from decoder.model import (
    quick_init,
    Anomaly, Confirm, Direction, Event, Expect, FileClose,
    FileGap, FileOpen, FlowContext, Item, Record, Transport, Violation, ORIG, RESP,
)
from dissectors._held import HeldData
from dissectors.probes.tftp import (  # noqa: F401 - SPECS and the probe are re-exported
    SPECS, ACK, DATA, data_probe, ERROR, MAX_BLKSIZE, MAX_OPTIONS, MODES, OACK, probe, RRQ, WRQ,
)

__all__ = [
    "TftpRequest", "TftpOack", "TftpError", "TftpAck", "TftpTransferEnd", "TftpRecord",
    "TftpDissector", "parse_packet", "probe", "data_probe", "assemble", "SPECS",
    "OPCODES", "ERROR_CODES",
]


OPCODES: Mapping[int, str] = MappingProxyType({
    RRQ: "RRQ", WRQ: "WRQ", DATA: "DATA", ACK: "ACK", ERROR: "ERROR", OACK: "OACK",
})

OPCODE_MEANINGS: Mapping[str, str] = MappingProxyType({
    "RRQ": "read request: the client asks to download a file",
    "WRQ": "write request: the client asks to upload a file",
    "DATA": "a numbered block of the file (a short block is the last one)",
    "ACK": "acknowledges a DATA block (block 0 accepts a write request)",
    "ERROR": "the transfer is aborted with an error code and message",
    "OACK": "the server accepts some of the requested options (RFC 2347)",
})

ERROR_CODES: Mapping[int, str] = MappingProxyType({
    0: "Not defined, see error message (if any)",
    1: "File not found",
    2: "Access violation",
    3: "Disk full or allocation exceeded",
    4: "Illegal TFTP operation",
    5: "Unknown transfer ID",
    6: "File already exists",
    7: "No such user",
    8: "Option negotiation refused (RFC 2347): terminate the transfer",
})

DEFAULT_BLKSIZE = 512


# ---------------------------------------------------------------- items
@quick_init
@dataclass(frozen=True, slots=True)
class TftpRequest(Event):
    op: str = "RRQ"
    filename: str = ""
    mode: str = ""
    options: tuple[tuple[str, str], ...] = ()

    def summary(self) -> str:
        opts = "".join(f" {k}={v}" for k, v in self.options)
        return f'{self.op} "{self.filename}" {self.mode}{opts}'

    def meaning(self) -> str:
        return OPCODE_MEANINGS.get(self.op, "")


@quick_init
@dataclass(frozen=True, slots=True)
class TftpOack(Event):
    options: tuple[tuple[str, str], ...] = ()

    def summary(self) -> str:
        return "OACK" + "".join(f" {k}={v}" for k, v in self.options)

    def meaning(self) -> str:
        return OPCODE_MEANINGS["OACK"]


@quick_init
@dataclass(frozen=True, slots=True)
class TftpError(Event):
    code: int = 0
    message: str = ""

    def summary(self) -> str:
        name = ERROR_CODES.get(self.code, "unknown code").split(" (")[0].split(":")[0]
        return f'ERROR {self.code} ({name}): "{self.message}"'

    def meaning(self) -> str:
        return ERROR_CODES.get(self.code, "")


@quick_init
@dataclass(frozen=True, slots=True)
class TftpAck(Event):
    block: int = 0

    def summary(self) -> str:
        return f"ACK {self.block}" + (" (write request accepted)" if self.block == 0 else "")

    def meaning(self) -> str:
        return OPCODE_MEANINGS["ACK"]


@quick_init
@dataclass(frozen=True, slots=True)
class TftpTransferEnd(Event):
    op: str | None = None
    filename: str | None = None
    blocks: int = 0
    size: int = 0
    complete: bool = False
    duplicates: int = 0
    missing_blocks: int = 0
    error_code: int | None = None

    def summary(self) -> str:
        what = f'{self.op or "transfer"} "{self.filename}"' if self.filename else (
            self.op or "transfer")
        s = f"{what}: {self.blocks} blocks, {self.size} bytes, "
        s += "complete" if self.complete else "incomplete"
        if self.duplicates:
            s += f", {self.duplicates} duplicate blocks dropped"
        if self.missing_blocks:
            s += f", {self.missing_blocks} blocks missing"
        if self.error_code is not None:
            s += f", ended by ERROR {self.error_code}"
        return s

    def meaning(self) -> str:
        return "end of a TFTP transfer: the last (short) block arrived, an ERROR " \
               "aborted it, or the capture ended"


@quick_init
@dataclass(frozen=True, slots=True)
class TftpRecord(Record):
    """One row of ``tftp`` (Zeek's TFTP package fields, then ours)."""

    TABLE: ClassVar[str] = "tftp"
    wrq: bool | None = None
    fname: str | None = None
    mode: str | None = None
    uid_data: str | None = None
    size: int = 0
    block_sent: int = 0
    block_acked: int = 0
    error_code: int | None = None
    error_msg: str | None = None
    blksize: int | None = None
    tsize: int | None = None
    complete: bool | None = None
    fuid: str | None = None
    expect_token: str | None = None


# ---------------------------------------------------------------- parsing
@dataclass(frozen=True, slots=True)
class _Pkt:
    opcode: int
    filename: str = ""
    mode: str = ""
    options: tuple[tuple[str, str], ...] = ()
    block: int = 0
    data: bytes = b""
    code: int = 0
    message: str = ""
    problems: tuple[tuple[str, str], ...] = ()


def _s(b: bytes) -> str:
    return b.decode("latin-1")


def _strings(body: bytes, what: str, problems: list) -> list[bytes]:
    parts = body.split(b"\0")
    if parts[-1]:
        problems.append(("tftp_unterminated_string", f"{what} is not NUL-terminated"))
    else:
        parts.pop()
    return parts


def _options(parts: Sequence[bytes], problems: list) -> tuple[tuple[str, str], ...]:
    if len(parts) % 2:
        problems.append(("tftp_bad_option", "option name without a value"))
    n = len(parts) // 2
    if n > MAX_OPTIONS:
        problems.append(("tftp_options_too_many", f"{n} options, first {MAX_OPTIONS} kept"))
        n = MAX_OPTIONS
    return tuple((_s(parts[2 * i]).lower(), _s(parts[2 * i + 1])) for i in range(n))


def parse_packet(data: bytes) -> _Pkt | None:
    """Decode one datagram; None when the opcode is not TFTP's."""
    if len(data) < 2 or data[0] != 0 or not 1 <= data[1] <= 6:
        return None
    op = data[1]
    problems: list[tuple[str, str]] = []
    if op in (RRQ, WRQ):
        parts = _strings(data[2:], "request", problems)
        fname = _s(parts[0]) if parts else ""
        mode = _s(parts[1]).lower() if len(parts) > 1 else ""
        if len(parts) < 2:
            problems.append(("tftp_bad_request", "request without a mode"))
        elif mode not in MODES:
            problems.append(("tftp_bad_mode", f"unknown transfer mode {mode!r}"))
        return _Pkt(op, filename=fname, mode=mode, options=_options(parts[2:], problems),
                    problems=tuple(problems))
    if op in (DATA, ACK):
        if len(data) < 4:
            return _Pkt(op, problems=(("tftp_truncated", f"{OPCODES[op]} without a block number"),))
        block = (data[2] << 8) | data[3]
        if op == ACK and len(data) > 4:
            problems.append(("tftp_trailing_bytes", f"ACK with {len(data) - 4} extra bytes"))
        return _Pkt(op, block=block, data=bytes(data[4:]) if op == DATA else b"",
                    problems=tuple(problems))
    if op == ERROR:
        if len(data) < 4:
            return _Pkt(op, code=-1, problems=(("tftp_truncated", "ERROR without a code"),))
        code = (data[2] << 8) | data[3]
        parts = _strings(data[4:], "error message", problems)
        return _Pkt(op, code=code, message=_s(parts[0]) if parts else "",
                    problems=tuple(problems))
    parts = _strings(data[2:], "OACK", problems)
    return _Pkt(op, options=_options(parts, problems), problems=tuple(problems))


# ---------------------------------------------------------------- transfer state
def _int_opt(opts: Mapping[str, str], name: str) -> int | None:
    v = opts.get(name)
    if v is None:
        return None
    try:
        n = int(v.strip())
    except ValueError:
        return None
    return n if n >= 0 else None


class _Request:
    """One RRQ/WRQ as the request flow keeps it until its row is written at close."""

    # kept per request flow while it waits out its idle timeout: slots, not a dict per request
    __slots__ = ("dir", "error_code", "error_msg", "filename", "mode", "op", "options", "opts", "token", "ts",
                 "transfer")

    def __init__(self, ts: float, op: str, filename: str, mode: str, options: tuple, opts: dict[str, str],
                 token: str, direction: Direction) -> None:
        self.ts, self.op, self.filename, self.mode = ts, op, filename, mode
        self.options, self.opts, self.token, self.dir = options, opts, token, direction
        self.transfer: _Transfer | None = None     # answered from port 69 itself: the transfer on this flow
        self.error_code: int | None = None
        self.error_msg: str | None = None


class _Transfer:
    """DATA/ACK/OACK/ERROR bookkeeping of one transfer."""

    # thirty-odd fields, kept per transfer flow while it waits out its idle timeout: no __dict__
    __slots__ = ("aborted", "acks_seen", "blksize", "blksize_known", "block_acked", "block_sent",
                 "complete", "duplicates", "ended", "error_code", "error_msg", "file_closed", "file_open",
                 "filename", "final_abs", "finished", "first_ts", "handle", "last_ts", "missing_blocks",
                 "missing_bytes", "mode", "next_abs", "oack_seen", "op", "pending", "req_options", "request_ts",
                 "seen_packets", "sender", "size", "token", "tsize", "windowsize", "wrap_mode", "held")

    def __init__(self, op: str | None, filename: str | None, mode: str | None,
                 req_options: Mapping[str, str], request_ts: float | None,
                 token: str | None, max_file_size: int, handle: str = "tftp") -> None:
        self.handle = handle        # the file's handle: one per transfer of the flow
        self.held = HeldData(max_file_size)     # the file's blocks not yet handed on
        self.ended = False          # its TftpTransferEnd was emitted
        self.last_ts: float | None = None
        self.op = op
        self.filename = filename
        self.mode = mode
        self.req_options = dict(req_options)
        self.request_ts = request_ts
        self.token = token
        self.sender: Direction | None = None   # direction carrying DATA
        self.blksize = DEFAULT_BLKSIZE
        self.blksize_known = False
        self.windowsize = 1
        self.tsize: int | None = None
        if op == "WRQ":
            self.tsize = _int_opt(self.req_options, "tsize") or None
        self.oack_seen = False
        self.next_abs = 1
        self.pending: dict[int, bytes] = {}
        self.wrap_mode: int | None = None
        self.final_abs: int | None = None
        self.finished = False
        self.aborted = False
        self.size = 0
        self.block_sent = 0
        self.block_acked = 0
        self.acks_seen = False
        self.duplicates = 0
        self.missing_blocks = 0
        self.missing_bytes = 0
        self.file_open = False
        self.file_closed = False
        self.complete: bool | None = None
        self.error_code: int | None = None
        self.error_msg: str | None = None
        self.first_ts: float | None = None
        self.seen_packets = False

    # block numbers: 16-bit on the wire, unwrapped here
    def _wire(self, k: int) -> int:
        if self.wrap_mode == 1:
            return ((k - 1) % 65535) + 1
        return k & 0xFFFF

    def unwrap(self, w: int, ref: int) -> int | None:
        if self.wrap_mode == 1:
            if w == 0:
                return None
            d = (w - self._wire(ref)) % 65535
            if d > 32767:
                d -= 65535
            return ref + d
        d = (w - ref) % 65536
        if d > 32768:
            d -= 65536
        return ref + d


class TftpDissector:
    """One instance per UDP flow: a request flow (port 69) or a transfer flow."""
    # one per UDP flow, kept while the flow waits out its idle timeout: no per-instance __dict__
    __slots__ = ("confirmed", "ctx", "done", "limits", "requests", "transfer")

    HANDLE = "tftp"     # the file of a flow's first (or only) transfer

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        self.limits = ctx.limits
        self.confirmed = False
        self.requests: list[_Request] = []
        self.transfer: _Transfer | None = None
        self.done = False
        exp = ctx.expectation
        if exp is not None:
            m = exp.meta
            self.confirmed = True
            opts = dict(m.get("options") or ())
            self.transfer = _Transfer(m.get("op"), m.get("filename"), m.get("mode"), opts,
                                      m.get("request_ts"), exp.token, self.limits.max_file_size)
            # The server originates the transfer flow: it sends DATA for a read,
            # the client (responder of this flow) sends DATA for a write.
            if m.get("op") == "RRQ":
                self.transfer.sender = ORIG
            elif m.get("op") == "WRQ":
                self.transfer.sender = RESP

    # -- contract
    def feed(self, direction: Direction, data: bytes, ts: float) -> list[Item]:
        out: list[Item] = []
        pkt = parse_packet(bytes(data))
        if pkt is None:
            if not self.confirmed:
                return [Violation(ts, "not TFTP: unknown opcode")]
            out.append(Anomaly(ts, "tftp_bad_opcode",
                               f"datagram of {len(data)} bytes without a TFTP opcode",
                               direction))
            return out
        if not self.confirmed:
            self.confirmed = True
            out.append(Confirm(ts))
        for name, detail in pkt.problems:
            out.append(Anomaly(ts, name, detail, direction))
        op = pkt.opcode
        if op in (RRQ, WRQ):
            out.extend(self._request(direction, pkt, ts))
        elif op == ERROR and self.transfer is None and self.requests and self.requests[-1].transfer is None:
            req = self.requests[-1]
            req.error_code, req.error_msg = pkt.code, pkt.message
            out.append(TftpError(ts, direction, pkt.code, pkt.message))
        else:
            t = self._transfer_for(op, direction)
            if t.first_ts is None:
                t.first_ts = ts
            t.last_ts = ts
            t.seen_packets = True
            if op == DATA:
                out.extend(self._data(t, direction, pkt, ts))
            elif op == ACK:
                out.extend(self._ack(t, direction, pkt, ts))
            elif op == OACK:
                out.extend(self._oack(t, direction, pkt, ts))
            else:
                out.extend(self._error(t, direction, pkt, ts))
        return out

    def gap(self, direction: Direction, length: int, ts: float) -> list[Item]:
        return [Anomaly(ts, "tftp_gap", f"{length} bytes missing (TFTP runs over UDP)",
                        direction)]

    def close(self, ts: float) -> list[Item]:
        if self.done:
            return []
        self.done = True
        out: list[Item] = []
        t = self.transfer
        in_flow_transfer = t is not None and t.seen_packets
        for req in self.requests:
            rec = dict(ts=req.ts, wrq=req.op == "WRQ", fname=req.filename,
                       mode=req.mode, error_code=req.error_code,
                       error_msg=req.error_msg,
                       blksize=_int_opt(req.opts, "blksize"),
                       tsize=_int_opt(req.opts, "tsize"),
                       expect_token=req.token)
            rt = req.transfer
            if rt is not None:
                # The server answered from port 69 itself: one row for the request and its transfer.
                if not rt.ended:
                    out.extend(self._finish(rt, ts))
                rec.update(self._transfer_fields(rt))
                rec["uid_data"] = self.ctx.uid
            out.append(TftpRecord(**rec))
        if in_flow_transfer and t is not None:
            out.extend(self._finish(t, ts))
            rec = dict(ts=t.request_ts if t.request_ts is not None else (t.first_ts or ts),
                       wrq=None if t.op is None else t.op == "WRQ", fname=t.filename,
                       mode=t.mode, uid_data=self.ctx.uid, expect_token=t.token)
            rec.update(self._transfer_fields(t))
            out.append(TftpRecord(**rec))
        elif t is not None and not t.seen_packets and self.ctx.expectation is not None:
            rec = dict(ts=t.request_ts if t.request_ts is not None else ts,
                       wrq=None if t.op is None else t.op == "WRQ", fname=t.filename,
                       mode=t.mode, uid_data=self.ctx.uid, expect_token=t.token)
            out.append(TftpRecord(**rec))
        return out

    def _transfer_for(self, op: int, direction: Direction) -> _Transfer:
        """The transfer a DATA/ACK/OACK/ERROR packet belongs to. A transfer flow (reached by
        expectation) or one met without any request (capture started late) has one. On a request
        flow, a server answering from port 69 itself runs each request's transfer here: a DATA
        belongs to the latest request still running whose data goes this way (an RRQ's from the
        server, a WRQ's from the client), an ACK to the latest whose data comes the other way, an
        OACK or ERROR to the latest request; each transfer has its own file."""
        if self.transfer is not None or not self.requests:
            if self.transfer is None:
                self.transfer = _Transfer(None, None, None, {}, None, None, self.limits.max_file_size)
            return self.transfer
        req = self.requests[-1]
        if op in (DATA, ACK):
            # the latest request whose data goes this way; for DATA one still running if there is one (a
            # finished transfer only gets retransmissions), an ACK may well be a finished transfer's last
            sender = direction if op == DATA else direction.other
            ways = [r for r in self.requests if self._sender_of(r) == sender]
            running = [r for r in ways if r.transfer is None or not r.transfer.finished]
            if op == DATA and running:
                req = running[-1]
            elif ways:
                req = ways[-1]
        t = req.transfer
        if t is None:
            used = sum(1 for r in self.requests if r.transfer is not None)
            t = req.transfer = _Transfer(req.op, req.filename, req.mode, req.opts, req.ts, req.token,
                                         self.limits.max_file_size, self.HANDLE if not used else f"{self.HANDLE}{used}")
            t.sender = self._sender_of(req)
        return t

    @staticmethod
    def _sender_of(req: _Request) -> Direction:
        """Who sends the DATA of a request's transfer: the server for a read, the client for a write."""
        return req.dir.other if req.op == "RRQ" else req.dir

    # -- request flow
    def _request(self, direction: Direction, pkt: _Pkt, ts: float) -> list[Item]:
        out: list[Item] = []
        op = OPCODES[pkt.opcode]
        opts = dict(pkt.options)
        for r in self.requests:     # transfers answered from port 69 that are over end where they ended
            t = r.transfer
            if t is not None and t.finished and not t.ended:
                out.extend(self._finish(t, t.last_ts if t.last_ts is not None else ts))
        out.append(TftpRequest(ts, direction, op, pkt.filename, pkt.mode, pkt.options))
        if self.requests:
            last = self.requests[-1]
            if (last.op, last.filename, last.mode, last.options) == (
                    op, pkt.filename, pkt.mode, pkt.options) and \
                    ts - last.ts <= self.limits.tftp_expect_ttl:
                return out   # retransmitted request: same expectation still pending
        if direction is ORIG:
            client_h, client_p, server_h = self.ctx.orig_h, self.ctx.orig_p, self.ctx.resp_h
        else:
            out.append(Anomaly(ts, "tftp_request_from_server",
                               f"{op} sent by the responder of this flow", direction))
            client_h, client_p, server_h = self.ctx.resp_h, self.ctx.resp_p, self.ctx.orig_h
        token = f"tftp{len(self.requests)}"
        if not pkt.mode:
            # Truncated request: recorded, but nothing sensible to expect.
            self.requests.append(_Request(ts, op, pkt.filename, pkt.mode, pkt.options, opts, "", direction))
            return out
        self.requests.append(_Request(ts, op, pkt.filename, pkt.mode, pkt.options, opts, token, direction))
        out.append(Expect(
            ts, Transport.UDP, "tftp-data", resp_h=client_h, resp_p=client_p,
            orig_h=server_h, orig_p=None, token=token, ttl=self.limits.tftp_expect_ttl,
            meta=(("op", op), ("filename", pkt.filename), ("mode", pkt.mode),
                  ("options", pkt.options), ("request_ts", ts))))
        return out

    # -- transfer flow
    def _open_file(self, t: _Transfer, ts: float) -> list[Item]:
        t.file_open = True
        total = t.tsize if t.tsize else None
        return [FileOpen(ts, t.handle, "TFTP", name_hint=t.filename, total_size=total,
                         direction=t.sender)]

    def _write(self, t: _Transfer, k: int, payload: bytes, ts: float) -> list[Item]:
        out: list[Item] = []
        if not t.file_open:
            out.extend(self._open_file(t, ts))
        if payload:
            t.held.add(out, ts, t.handle, payload)
        t.size += len(payload)
        t.next_abs = k + 1
        if len(payload) < t.blksize:
            t.final_abs = k
        return out

    def _drain(self, t: _Transfer, ts: float) -> list[Item]:
        out: list[Item] = []
        while t.next_abs in t.pending and not t.finished:
            k = t.next_abs
            out.extend(self._write(t, k, t.pending.pop(k), ts))
            if t.final_abs == k:
                out.extend(self._end_file(t, ts))
        return out

    def _gap_to(self, t: _Transfer, upto: int, ts: float) -> list[Item]:
        """Declare blocks next_abs .. upto-1 missing."""
        n = upto - t.next_abs
        if n <= 0:
            return []
        out: list[Item] = []
        if not t.file_open:
            out.extend(self._open_file(t, ts))
        t.missing_blocks += n
        t.missing_bytes += n * t.blksize
        out.append(Anomaly(ts, "tftp_missing_blocks",
                           f"blocks {t.next_abs}..{upto - 1} never seen ({n} blocks)", t.sender))
        t.held.flush(out)
        out.append(FileGap(ts, t.handle, n * t.blksize))
        t.next_abs = upto
        return out

    def _end_file(self, t: _Transfer, ts: float, reason: str = "") -> list[Item]:
        if t.file_closed:
            return []
        t.finished = True
        t.file_closed = True
        t.complete = t.missing_blocks == 0 and not reason
        if not t.file_open:
            if reason:
                return []
            out = self._open_file(t, ts)
        else:
            out = []
        t.held.end(out)
        out.append(FileClose(ts, t.handle, complete=t.complete, reason=reason))
        return out

    def _data(self, t: _Transfer, direction: Direction, pkt: _Pkt, ts: float) -> list[Item]:
        out: list[Item] = []
        if t.sender is None:
            t.sender = direction
        elif direction != t.sender:
            out.append(Anomaly(ts, "tftp_data_wrong_direction",
                               f"DATA block {pkt.block} from the receiving side", direction))
            return out
        if t.aborted:
            out.append(Anomaly(ts, "tftp_data_after_error",
                               f"DATA block {pkt.block} after the transfer was aborted",
                               direction))
            return out
        payload = pkt.data
        if len(payload) > t.blksize:
            if not t.oack_seen and not t.file_open and len(payload) <= MAX_BLKSIZE:
                # Negotiation not seen (capture started late): learn the block size.
                out.append(Anomaly(ts, "tftp_blksize_inferred",
                                   f"first block of {len(payload)} bytes: block size "
                                   "taken from the data", direction))
                t.blksize = len(payload)
            else:
                out.append(Anomaly(ts, "tftp_block_too_long",
                                   f"block {pkt.block} has {len(payload)} bytes, block size "
                                   f"is {t.blksize}", direction))
        w = pkt.block
        if t.next_abs == 65536 and t.wrap_mode is None and w in (0, 1):
            t.wrap_mode = 0 if w == 0 else 1
        k = t.unwrap(w, t.next_abs)
        if k is None or k < 1:
            out.append(Anomaly(ts, "tftp_bad_block",
                               f"DATA block number {w} does not fit the transfer", direction))
            return out
        if k > t.block_sent:
            t.block_sent = k
        if k < t.next_abs or k in t.pending or t.finished:
            t.duplicates += 1
            if t.duplicates == 1:
                out.append(Anomaly(ts, "tftp_duplicate_block",
                                   f"DATA block {w} received again (dropped)", direction))
            return out
        if (k > t.next_abs and t.op is None and not t.file_open and not t.pending
                and t.next_abs == 1):
            # Joined mid-transfer (no request seen): the blocks before are missing.
            out.extend(self._gap_to(t, k, ts))
        if k == t.next_abs:
            out.extend(self._write(t, k, payload, ts))
            if t.final_abs == k:
                out.extend(self._end_file(t, ts))
            else:
                out.extend(self._drain(t, ts))
            return out
        # a block ahead of a hole: keep it until the hole fills (windowsize) or the cap
        t.pending[k] = payload
        cap = max(64, 4 * t.windowsize)
        if len(t.pending) > cap:
            out.append(Anomaly(ts, "tftp_reorder_limit",
                               f"more than {cap} blocks waiting for block {t.next_abs}",
                               direction))
            out.extend(self._gap_to(t, min(t.pending), ts))
            out.extend(self._drain(t, ts))
        return out

    def _ack(self, t: _Transfer, direction: Direction, pkt: _Pkt, ts: float) -> list[Item]:
        out: list[Item] = []
        if t.sender is None:
            t.sender = direction.other
        w = pkt.block
        if w == 0 and not t.acks_seen and t.block_sent == 0:
            t.acks_seen = True
            if t.op == "WRQ" or t.op is None:
                out.append(TftpAck(ts, direction, 0))
            return out
        t.acks_seen = True
        # ACKs trail the DATA: unwrap near the highest block sent when known
        k = t.unwrap(w, t.block_sent or max(t.block_acked, 1))
        if k is not None and k > t.block_acked:
            t.block_acked = k
        return out

    def _oack(self, t: _Transfer, direction: Direction, pkt: _Pkt, ts: float) -> list[Item]:
        out: list[Item] = [TftpOack(ts, direction, pkt.options)]
        if t.file_open:
            out.append(Anomaly(ts, "tftp_late_oack", "OACK after DATA started", direction))
            return out
        t.oack_seen = True
        opts = dict(pkt.options)
        if t.req_options:
            extra = sorted(set(opts) - set(t.req_options))
            if extra:
                out.append(Anomaly(ts, "tftp_oack_unrequested_option",
                                   f"OACK carries options not requested: {', '.join(extra)}",
                                   direction))
        bs = _int_opt(opts, "blksize")
        if bs is not None:
            if 8 <= bs <= MAX_BLKSIZE:
                req = _int_opt(t.req_options, "blksize")
                if req is not None and bs > req:
                    out.append(Anomaly(ts, "tftp_bad_option",
                                       f"OACK blksize {bs} above the requested {req}",
                                       direction))
                t.blksize = bs
                t.blksize_known = True
            else:
                out.append(Anomaly(ts, "tftp_bad_option", f"blksize {opts['blksize']!r} "
                                   "outside 8..65464, ignored", direction))
        ws = _int_opt(opts, "windowsize")
        if ws is not None:
            if 1 <= ws <= 65535:
                t.windowsize = ws
            else:
                out.append(Anomaly(ts, "tftp_bad_option",
                                   f"windowsize {opts['windowsize']!r} outside 1..65535",
                                   direction))
        ts_opt = _int_opt(opts, "tsize")
        if ts_opt:
            t.tsize = ts_opt
        if t.sender is None:
            # The server sends OACK; it is the data sender for a read, the receiver
            # for a write; without the request, a read is by far the common case.
            t.sender = direction if t.op != "WRQ" else direction.other
        return out

    def _error(self, t: _Transfer, direction: Direction, pkt: _Pkt, ts: float) -> list[Item]:
        out: list[Item] = [TftpError(ts, direction, pkt.code, pkt.message)]
        if t.error_code is None:
            t.error_code, t.error_msg = pkt.code, pkt.message
        if t.finished:
            return out
        if pkt.code == 8 and t.oack_seen:
            out.append(Anomaly(ts, "tftp_option_refused",
                               f"OACK refused with ERROR 8: {pkt.message!r}", direction))
        elif t.file_open:
            out.append(Anomaly(ts, "tftp_transfer_aborted",
                               f"ERROR {pkt.code} after block {t.next_abs - 1}: "
                               f"{pkt.message!r}", direction))
        t.aborted = True
        if t.file_open:
            out.extend(self._flush_pending(t, ts))
            out.extend(self._end_file(t, ts, reason=f"aborted by ERROR {pkt.code}"))
        else:
            t.finished = True
            t.complete = False
        return out

    def _flush_pending(self, t: _Transfer, ts: float) -> list[Item]:
        """Write every buffered block in order, the holes between them as gaps.
        One pass over the sorted keys: terminates whatever the state."""
        out: list[Item] = []
        pending, t.pending = t.pending, {}
        for k in sorted(pending):
            if t.file_closed:
                break
            if k < t.next_abs:
                continue
            out.extend(self._gap_to(t, k, ts))
            out.extend(self._write(t, k, pending[k], ts))
            if t.final_abs == k:
                out.extend(self._end_file(t, ts))
        return out

    def _finish(self, t: _Transfer, ts: float) -> list[Item]:
        """End of flow (or, for a transfer answered from port 69, of the transfer): flush what is
        buffered, close the file, summarise."""
        t.ended = True
        out: list[Item] = []
        if t.pending and not t.file_closed:
            out.extend(self._flush_pending(t, ts))
        if t.file_open and not t.file_closed:
            missing_tail = 0
            if t.tsize is not None:
                missing_tail = t.tsize - (t.size + t.missing_bytes)
            if missing_tail > 0:
                t.missing_bytes += missing_tail
                t.held.flush(out)
                out.append(FileGap(ts, t.handle, missing_tail))
            out.append(Anomaly(ts, "tftp_transfer_incomplete",
                               f"flow ended after block {t.next_abs - 1} without the last "
                               "(short) block", t.sender))
            out.extend(self._end_file(t, ts, reason="transfer did not finish"))
        if t.complete is None:
            t.complete = False
        if t.duplicates > 1:
            out.append(Anomaly(ts, "tftp_duplicate_block",
                               f"{t.duplicates} duplicate DATA blocks dropped in all", t.sender))
        out.append(TftpTransferEnd(ts, t.sender if t.sender is not None else ORIG,
                                   op=t.op, filename=t.filename, blocks=t.next_abs - 1,
                                   size=t.size, complete=bool(t.complete),
                                   duplicates=t.duplicates, missing_blocks=t.missing_blocks,
                                   error_code=t.error_code))
        return out

    def _transfer_fields(self, t: _Transfer) -> dict[str, Any]:
        return dict(size=t.size, block_sent=t.block_sent, block_acked=t.block_acked,
                    error_code=t.error_code, error_msg=t.error_msg,
                    blksize=t.blksize if (t.blksize_known or t.file_open) else None,
                    tsize=t.tsize, complete=bool(t.complete),
                    fuid=self.ctx.fuid(t.handle) if t.file_open else None)


# ---------------------------------------------------------------- session assembly
_TRANSFER_FIELDS = ("size", "block_sent", "block_acked", "blksize", "tsize", "complete",
                    "fuid")


def assemble(tables: Mapping[str, Iterable[dict]]) -> Mapping[str, Iterator[dict]]:
    """Fold each transfer row into its request row (one row per request, keyed by
    the request flow's uid, ``uid_data`` = the transfer flow's uid).

    Pure and streaming: the ``tftp`` table is read twice (it must be re-iterable, as the
    engine's tables are): once for what each transfer adds to its request, once to yield
    the rows. Memory holds one small entry per transfer, not the table."""
    rows = tables.get("tftp") or ()
    if not rows:
        return {}
    parent = {}
    for c in tables.get("conn") or ():
        p, tok = c.get("parent_uid"), c.get("expect_token")
        if isinstance(p, str) and p and isinstance(tok, str):
            parent[c.get("uid")] = (p, tok)
    # pass 1: which (request uid, token) pairs exist, and each transfer's fields for its request
    requests: dict[tuple[Any, str], int] = {}      # key -> index of the last request row with it
    transfers: dict[tuple[Any, str], list[dict]] = {}
    for i, r in enumerate(rows):
        tok = r.get("expect_token")
        if r.get("uid_data") != r.get("uid") and isinstance(tok, str) and tok:
            requests[(r.get("uid"), tok)] = i
        elif r.get("uid_data") == r.get("uid") and r.get("uid") in parent:
            transfers.setdefault(parent[r["uid"]], []).append(
                {"uid": r["uid"], **{f: r.get(f) for f in _TRANSFER_FIELDS},
                 "error_code": r.get("error_code"), "error_msg": r.get("error_msg")})
    folded = {k: v for k, v in transfers.items() if k in requests}
    dropped = {t["uid"] for v in folded.values() for t in v}

    def out() -> Iterator[dict]:
        for i, r in enumerate(rows):
            if r.get("uid_data") == r.get("uid") and r.get("uid") in dropped:
                continue
            target = dict(r)
            key = (r.get("uid"), r.get("expect_token"))
            if key in folded and requests[key] == i:     # the last request row with this key takes them
                for t in folded[key]:
                    target["uid_data"] = t["uid"]
                    for f in _TRANSFER_FIELDS:
                        if t[f] is not None:
                            target[f] = t[f]
                    if target.get("error_code") is None and t["error_code"] is not None:
                        target["error_code"], target["error_msg"] = t["error_code"], t["error_msg"]
            yield target

    return {"tftp": out()}


