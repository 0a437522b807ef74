"""ONC RPC version 2 (RFC 5531): message headers, authentication and TCP record marking.

* section 9 — ``rpc_msg``: xid, CALL body (rpcvers 2, program, version, procedure, credential,
  verifier) or REPLY body (MSG_ACCEPTED with a verifier and an ``accept_stat``; MSG_DENIED with
  RPC_MISMATCH or AUTH_ERROR and an ``auth_stat``);
* section 8.2 / appendix A — ``opaque_auth`` (flavour and at most 400 bytes) and AUTH_SYS
  (stamp, machine name of at most 255 bytes, uid, gid, at most 16 groups): an identity the client
  *claims*, which no secret proves;
* section 11 — record marking over TCP: each fragment is preceded by four bytes, the high bit set on
  a record's last fragment, the other 31 bits the fragment's length.

:class:`RecordMarker` rebuilds records from a TCP direction. Limits: a record longer than
``max_record`` is skipped (its length is known) and reported; after a gap in the stream the next
record is found again by looking for a plausible record mark before a call or reply header
(:meth:`RecordMarker.resync`), within a bounded window.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from dissectors._xdr import XdrError, XdrReader
from dissectors.probes.nfs import CALL, LAST_FRAGMENT, REPLY, RPC_VERSION, find_start, plausible_start

__all__ = ["AUTH_FLAVORS", "ACCEPT_STAT", "RPC_STATUS_MEANINGS", "AUTH_STAT", "Auth", "Call", "Reply", "RecordMarker",
           "parse_message"]

AUTH_NONE, AUTH_SYS, AUTH_SHORT, AUTH_DH, RPCSEC_GSS = 0, 1, 2, 3, 6
AUTH_FLAVORS = {AUTH_NONE: "AUTH_NONE", AUTH_SYS: "AUTH_SYS", AUTH_SHORT: "AUTH_SHORT", AUTH_DH: "AUTH_DH",
                4: "RPCSEC_KERB", 5: "AUTH_RSA", RPCSEC_GSS: "RPCSEC_GSS", 390003: "AUTH_KERB5"}
MSG_ACCEPTED, MSG_DENIED = 0, 1
ACCEPT_STAT = {0: "SUCCESS", 1: "PROG_UNAVAIL", 2: "PROG_MISMATCH", 3: "PROC_UNAVAIL", 4: "GARBAGE_ARGS",
               5: "SYSTEM_ERR"}
# what a reply's RPC status means (accept_stat, reject_stat, auth_stat names)
RPC_STATUS_MEANINGS = {
    "SUCCESS": "the call was executed",
    "PROG_UNAVAIL": "the server does not export this program",
    "PROG_MISMATCH": "the server does not support this version of the program",
    "PROC_UNAVAIL": "the program cannot support this procedure",
    "GARBAGE_ARGS": "the procedure cannot decode its arguments",
    "SYSTEM_ERR": "the server failed (e.g. out of memory)",
    "RPC_MISMATCH": "the server does not speak this version of RPC",
    "AUTH_BADCRED": "the server refused the call: bad credential (seal broken)",
    "AUTH_REJECTEDCRED": "the server refused the call: the client must begin a new session",
    "AUTH_BADVERF": "the server refused the call: bad verifier (seal broken)",
    "AUTH_REJECTEDVERF": "the server refused the call: the verifier expired or was replayed",
    "AUTH_TOOWEAK": "the server refused the call: this authentication flavour is too weak for it",
    "AUTH_INVALIDRESP": "the server refused the call: bogus response verifier",
    "AUTH_FAILED": "the server refused the call: authentication failed for an unknown reason",
}
REJECT_STAT = {0: "RPC_MISMATCH", 1: "AUTH_ERROR"}
AUTH_STAT = {0: "AUTH_OK", 1: "AUTH_BADCRED", 2: "AUTH_REJECTEDCRED", 3: "AUTH_BADVERF",
             4: "AUTH_REJECTEDVERF", 5: "AUTH_TOOWEAK", 6: "AUTH_INVALIDRESP", 7: "AUTH_FAILED",
             13: "RPCSEC_GSS_CREDPROBLEM", 14: "RPCSEC_GSS_CTXPROBLEM"}
MAX_AUTH = 400
MAX_MACHINE_NAME = 255
MAX_GROUPS = 16


@dataclass(frozen=True, slots=True)
class Auth:
    """A credential: its flavour and, for AUTH_SYS, the identity claimed."""

    flavor: int
    machine: str | None = None
    uid: int | None = None
    gid: int | None = None
    gids: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return AUTH_FLAVORS.get(self.flavor, f"flavor {self.flavor}")

    def describe(self) -> str:
        if self.uid is None:
            return self.name
        return f"{self.name} uid={self.uid} gid={self.gid} machine={self.machine}"


@dataclass(frozen=True, slots=True)
class Call:
    xid: int
    prog: int
    vers: int
    proc: int
    cred: Auth
    body: int          # offset of the procedure's arguments


@dataclass(frozen=True, slots=True)
class Reply:
    xid: int
    accepted: bool
    accept_stat: int | None = None     # MSG_ACCEPTED
    reject_stat: int | None = None     # MSG_DENIED
    auth_stat: int | None = None       # AUTH_ERROR
    low: int | None = None             # PROG_MISMATCH / RPC_MISMATCH
    high: int | None = None
    body: int = 0                      # offset of the procedure's results (SUCCESS only)

    @property
    def status(self) -> str:
        if self.accepted:
            return ACCEPT_STAT.get(self.accept_stat or 0, str(self.accept_stat))
        if self.reject_stat == 1:
            return AUTH_STAT.get(self.auth_stat or 0, f"AUTH_ERROR {self.auth_stat}")
        return REJECT_STAT.get(self.reject_stat or 0, str(self.reject_stat))


def _auth(r: XdrReader) -> Auth:
    flavor = r.u32()
    body = r.opaque(MAX_AUTH)
    if flavor != AUTH_SYS:
        return Auth(flavor)
    a = XdrReader(body, bounds=r.bounds)
    a.u32()   # stamp
    machine = a.string(MAX_MACHINE_NAME)
    uid, gid = a.u32(), a.u32()
    gids = tuple(a.array(XdrReader.u32, MAX_GROUPS))
    return Auth(flavor, machine, uid, gid, gids)


def parse_message(r: XdrReader) -> Call | Reply:
    """Parse the RPC header at ``r.pos``; the reader is left at the procedure's arguments or results."""
    xid, mtype = r.u32(), r.u32()
    if mtype == CALL:
        rpcvers = r.u32()
        if rpcvers != RPC_VERSION:
            raise XdrError(f"RPC version {rpcvers}")
        prog, vers, proc = r.u32(), r.u32(), r.u32()
        cred = _auth(r)
        r.u32()                    # verifier flavour
        r.opaque(MAX_AUTH)
        return Call(xid, prog, vers, proc, cred, r.pos)
    if mtype != REPLY:
        raise XdrError(f"message type {mtype}")
    stat = r.u32()
    if stat == MSG_ACCEPTED:
        r.u32()
        r.opaque(MAX_AUTH)
        acc = r.u32()
        if acc == 2:
            return Reply(xid, True, acc, low=r.u32(), high=r.u32(), body=r.pos)
        return Reply(xid, True, acc, body=r.pos)
    if stat == MSG_DENIED:
        rej = r.u32()
        if rej == 0:
            return Reply(xid, False, reject_stat=0, low=r.u32(), high=r.u32())
        if rej == 1:
            return Reply(xid, False, reject_stat=1, auth_stat=r.u32())
        raise XdrError(f"reject_stat {rej}")
    raise XdrError(f"reply_stat {stat}")


class RecordMarker:
    """Rebuilds RPC records from one TCP direction (RFC 5531 section 11). :meth:`feed` returns
    ``(records, notes)``: whole records in order, and ``(name, detail)`` notes for bytes skipped.

    A direction that does not begin with a record (the capture started inside a message) and one
    after a gap are searched for the next record start (:func:`~dissectors.probes.nfs.find_start`);
    the bytes before it are skipped (reported for the first case: the gap reports the second)."""

    __slots__ = ("max_record", "buf", "frags", "frag_len", "skip", "discarding", "lost", "synced",
                 "skipped", "midstream")

    def __init__(self, max_record: int) -> None:
        self.max_record = max_record
        self.buf = bytearray()
        self.frags: list[bytes] = []       # fragments of the record being built
        self.frag_len = 0
        self.skip = 0                      # bytes of a skipped fragment still to drop
        self.discarding = False            # inside a record longer than max_record
        self.lost = False                  # looking for the next record mark
        self.synced = False                # the first 16 bytes were checked
        self.skipped = 0                   # bytes dropped while looking
        self.midstream = False             # the direction began inside a message

    def gap(self) -> None:
        """Bytes are missing: the record being built is lost; look for the next record mark."""
        self.buf.clear()
        self.frags.clear()
        self.frag_len = 0
        self.skip = 0
        self.discarding = False
        self.lost = True
        self.synced = True

    def _resync(self, notes: list[tuple[str, str]]) -> bool:
        """Find a record start in the buffer; keep only the last 15 bytes when there is none."""
        i = find_start(self.buf, self.max_record)
        if i == -1:
            self.skipped += max(0, len(self.buf) - 15)
            del self.buf[:-15]
            return False
        self.skipped += i
        del self.buf[:i]
        self.lost = False
        if self.midstream:
            self.midstream = False
            notes.append(("rpc_midstream", f"the capture starts inside an RPC message: {self.skipped} bytes "
                                           "were skipped up to the first record"))
        self.skipped = 0
        return True

    def feed(self, data: bytes) -> tuple[list[bytes], list[tuple[str, str]]]:
        out: list[bytes] = []
        notes: list[tuple[str, str]] = []
        self.buf += data
        if not self.synced:
            if len(self.buf) < 16:
                return out, notes
            self.synced = True
            # a record start; a first fragment that is not the last, or a record too long, is one too
            mark, _, mtype = struct.unpack_from(">III", self.buf)
            if not plausible_start(self.buf, 0, self.max_record) and not (
                    mark & ~LAST_FRAGMENT >= 12 and mtype in (CALL, REPLY)):
                self.lost = self.midstream = True
        if self.lost and not self._resync(notes):
            return out, notes
        while True:
            if self.skip:
                n = min(self.skip, len(self.buf))
                del self.buf[:n]
                self.skip -= n
                if self.skip:
                    break
            if len(self.buf) < 4:
                break
            mark = struct.unpack_from(">I", self.buf)[0]
            n, last = mark & ~LAST_FRAGMENT, bool(mark & LAST_FRAGMENT)
            if self.discarding or self.frag_len + n > self.max_record:
                if not self.discarding:
                    notes.append(("rpc_record_too_long",
                                  f"an RPC record longer than {self.max_record} bytes was skipped"))
                    self.frags.clear()
                    self.frag_len = 0
                self.discarding = not last
                del self.buf[:4]
                self.skip = n
                continue
            if len(self.buf) < 4 + n:
                break
            self.frags.append(bytes(self.buf[4:4 + n]))
            self.frag_len += n
            del self.buf[:4 + n]
            if last:
                out.append(b"".join(self.frags))
                self.frags.clear()
                self.frag_len = 0
        return out, notes
