"""Recognising ONC RPC's file-system family: NFS, MOUNT and the portmapper (the dissector:
:mod:`dissectors.nfs`, imported lazily).

Ports: NFS 2049 (RFC 1813 section 4 / RFC 7530 section 3.1), the portmapper/rpcbind 111 (RFC 1833);
MOUNT has no fixed port (the portmapper tells it: an expectation). By content: an RPC call (RFC 5531
section 9: xid, msg_type CALL, rpcvers 2, program, version, procedure) to the spec's program and a
version and procedure it defines is YES; a well-formed call to another program is NO; an RPC reply
(it names no program) is MAYBE. Over TCP the message follows a record mark (section 11: last-fragment
bit and a 31-bit length, which must be plausible); a connection whose start is not in the capture
begins inside a message, so when the first bytes are not a record the probe looks further in for one
(:func:`find_start`): a call to the program is YES, a reply MAYBE, and the server's bytes are MAYBE
anyway (a READ reply's data can fill the detection buffer); the client's bytes decide. Limits: a
client direction met inside a WRITE longer than the detection buffer is NO (the flow stays raw unless
the portmapper announced its port).

See :mod:`dissectors.probes` for why this is apart from the dissector.
"""
from __future__ import annotations

import struct

from decoder.model import Direction, DissectorSpec, Lazy, Presentation, Transport, Verdict

PMAP_PROG, NFS_PROG, MOUNT_PROG = 100000, 100003, 100005
CALL, REPLY = 0, 1
RPC_VERSION = 2
LAST_FRAGMENT = 0x8000_0000

# program → {version: number of procedures}
PROCEDURE_COUNTS: dict[int, dict[int, int]] = {
    PMAP_PROG: {2: 6, 3: 9, 4: 13},
    NFS_PROG: {2: 18, 3: 22, 4: 2},
    MOUNT_PROG: {1: 6, 2: 7, 3: 6},
}
SERVICES: dict[int, str] = {PMAP_PROG: "portmapper", NFS_PROG: "nfs", MOUNT_PROG: "mount"}
MAX_PROBE_RECORD = 64 * 1024 * 1024     # a first record mark claiming more is not RPC

_HEAD = struct.Struct(">IIIIII")
_WORDS4 = struct.Struct(">IIII")
_CALL_PATTERN = struct.pack(">II", CALL, RPC_VERSION)
_REPLY_PATTERNS = (struct.pack(">II", REPLY, 0), struct.pack(">II", REPLY, 1))


def plausible_start(data: bytes, pos: int, max_len: int = MAX_PROBE_RECORD) -> bool:
    """A last-fragment record mark at ``pos`` (RFC 5531 section 11) followed by an RPC call (rpcvers 2)
    or reply (accepted or denied) header."""
    if pos < 0 or pos + 16 > len(data):
        return False
    mark, _, mtype, word = _WORDS4.unpack_from(data, pos)
    if not mark & LAST_FRAGMENT or not 12 <= mark & ~LAST_FRAGMENT <= max_len:
        return False
    return (mtype == CALL and word == RPC_VERSION) or (mtype == REPLY and word in (0, 1))


def find_start(data: bytes, max_len: int = MAX_PROBE_RECORD, patterns: tuple[bytes, ...] = ()) -> int:
    """Offset of the first plausible record start in ``data`` (a TCP stream met inside a message), or -1.
    The header words are looked for with ``bytes.find`` (C speed), then the record mark before them is
    checked."""
    best = -1
    for pat in patterns or (_CALL_PATTERN,) + _REPLY_PATTERNS:
        i = data.find(pat, 8)
        while i != -1 and (best == -1 or i - 8 < best):
            if plausible_start(data, i - 8, max_len):
                best = i - 8
                break
            i = data.find(pat, i + 1)
    return best


def rpc_head(data: bytes, tcp: bool) -> tuple[int, ...] | None | bool:
    """The first six words of the first message (xid, msg_type, then rpcvers, prog, vers, proc for a
    call); None when too few bytes; False when a TCP record mark is implausible."""
    if tcp:
        if len(data) < 4:
            return None
        mark = struct.unpack_from(">I", data)[0]
        if not 8 <= mark & ~LAST_FRAGMENT <= MAX_PROBE_RECORD:
            return False
        data = data[4:]
    if len(data) < 12:
        return None
    if len(data) < 24:
        data = data + b"\0" * (24 - len(data))
    return _HEAD.unpack_from(data)


def _judge(head: tuple[int, ...], program: int, complete: bool) -> Verdict:
    _, mtype, a, prog, vers, proc = head
    if mtype == REPLY:
        return Verdict.MAYBE if a in (0, 1) else Verdict.NO
    if mtype != CALL or a != RPC_VERSION:
        return Verdict.NO
    if not complete:
        return Verdict.MAYBE
    if prog != program:
        return Verdict.NO
    return Verdict.YES if proc < PROCEDURE_COUNTS[program].get(vers, 0) else Verdict.NO


def _midstream(direction: Direction, data: bytes, program: int) -> Verdict:
    """A TCP direction met inside a message: YES when a record holding a call to ``program`` starts further
    in; MAYBE when a reply's does, or for the server's bytes (inside a READ reply they can be anything up to
    the detection buffer); else NO."""
    call = find_start(data, patterns=(_CALL_PATTERN + struct.pack(">I", program),))
    if call != -1 and call + 28 <= len(data):
        return _judge(_HEAD.unpack_from(data, call + 4), program, True)
    if direction is Direction.RESP or find_start(data, patterns=_REPLY_PATTERNS) != -1:
        return Verdict.MAYBE
    return Verdict.NO


def _probe_for(program: int, tcp: bool):
    def probe(direction: Direction, data: bytes) -> Verdict:
        head = rpc_head(data, tcp)
        if head is None:
            return Verdict.MAYBE
        v = Verdict.NO if head is False else _judge(head, program, len(data) >= (28 if tcp else 24))
        if v is Verdict.NO and tcp and (head is False or head[1] not in (CALL, REPLY)):
            return _midstream(direction, data, program)
        return v
    probe.__name__ = f"probe_{SERVICES[program]}_{'tcp' if tcp else 'udp'}"
    probe.__doc__ = (f"YES for an RPC call to program {program} ({SERVICES[program]}) with a known version "
                     "and procedure; MAYBE for a reply or too few bytes; NO otherwise.")
    return probe


def _specs() -> tuple[DissectorSpec, ...]:
    ports = {NFS_PROG: frozenset({2049}), PMAP_PROG: frozenset({111}), MOUNT_PROG: frozenset()}
    return tuple(
        DissectorSpec(name=SERVICES[prog], transport=t, ports=ports[prog], probe=_probe_for(prog, t is Transport.TCP),
                      factory=Lazy("dissectors.nfs:RpcDissector"), service=SERVICES[prog],
                      assemble=Lazy("dissectors.nfs:assemble"), assemble_tables=("nfs",))
        for prog in (NFS_PROG, MOUNT_PROG, PMAP_PROG) for t in (Transport.TCP, Transport.UDP))


SPECS: tuple[DissectorSpec, ...] = _specs()

#: nfs's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
    "rpc_malformed": "An RPC message (the envelope of NFS, MOUNT and portmapper calls, RFC 5531) could not be "
                     "read; it was skipped.",
    "rpc_reply_without_call": "An RPC reply answered a call (by its xid) that is not in the capture, so what it "
                              "answers is unknown; the capture probably started after the call.",
    "rpc_gap": "Bytes of this RPC-over-TCP connection are missing from the capture; the call or reply they held "
               "is lost, and decoding resumed at the next RPC record found.",
    "rpc_midstream": "The capture starts in the middle of an RPC message of this connection; the bytes before "
                     "the first whole message were skipped.",
    "rpc_record_too_long": "An RPC message was longer than wiretale's limit (rpc_max_record); it was skipped and "
                           "the next message decoded.",
    "nfs_reorder_limit": "NFS reads or writes of one file arrived far ahead of a missing part; the missing part "
                         "was declared a gap in the extracted file (never filled with zeros).",
    "nfs_handles_too_many": "More NFS file handles than wiretale's limit appeared in one connection; later ones are "
                            "shown without their path.",
    "nfs_files_too_many": "More files were read or written at once in one NFS connection than wiretale's limit; "
                          "the others were not extracted.",
}

#: How nfs is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"nfs": "#8a4f7d", "mount": "#b07aa1", "portmapper": "#7f6a93"},
                            live_columns={"rpc": ("program", "version", "procedure", "rpc_status", "auth", "machine"),
                                          "nfs": ("program", "version", "proc", "path", "offset", "count", "status")})
