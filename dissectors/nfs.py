"""ONC RPC and its file-system programs: the portmapper, MOUNT and NFS, over UDP and TCP.

What it is: NFS lets a client use a server's files as if they were local. Every request is an ONC
RPC call (RFC 5531) naming a program (100000 portmapper, 100005 MOUNT, 100003 NFS), its version and a
procedure; the reply carries the same transaction id (xid). The client asks the portmapper (port 111)
where MOUNT listens, asks MOUNT for the root *file handle* of an exported path, then names every file
by handle: LOOKUP turns (directory handle, name) into the file's handle, READ and WRITE move bytes
at offsets.

RFC sections followed: RFC 5531 (messages, AUTH_SYS, record marking: :mod:`dissectors._rpc`),
RFC 1833 (portmapper v2, rpcbind v3/v4), RFC 1094 (NFS v2 and MOUNT v1), RFC 1813 (NFS v3 and
MOUNT v3), RFC 7530 section 16 (NFS v4 COMPOUND, its operations listed): the procedures are in
:mod:`dissectors._nfs_procs`.

What it extracts:

* calls paired with replies by xid, the round-trip time; ``rpc`` table, one row per call (program,
  version, procedure, xid, the credential's flavour and, for AUTH_SYS, the uid, gid and machine name
  the client *claims*; the reply's RPC status, ``rtt``);
* ``nfs`` table, one row per MOUNT or NFS call: ``program``, ``version``, ``proc``, ``name`` (the
  file or directory name the call concerns: the name argument, else the last part of the path the
  handle is known by), ``path``, ``fh`` (hex), ``offset``, ``count``, ``status`` (NFS3_OK,
  NFS3ERR_NOENT…; the RPC refusal, PROG_MISMATCH or PROC_UNAVAIL…, when the call was not executed;
  empty for procedures whose result has no status: NULL, EXPORT, UMNT), ``rtt``, and ``entries``,
  the names a READDIR(PLUS) listed; the path of a handle is learnt from MNT, LOOKUP, CREATE, MKDIR,
  SYMLINK, MKNOD and READDIRPLUS in the flow; a handle first met without its name is shown as
  ``<fh:first 8 hex digits>`` and :func:`assemble` puts the mounted path in its place when a MOUNT
  flow of the capture handed that handle out;
* READ data (from replies) and WRITE data (from calls) of NFS v2/v3 reassembled by offset into one
  file per handle and direction (``files``, source ``NFS``): bytes before the lowest offset seen or
  between reads are gaps (``FileGap``, never zero-filled); data read twice is kept once;
* the portmapper's GETPORT/GETADDR answers for the MOUNT and NFS programs become expectations (one
  flow each), so a server on a port of its own is decoded; DUMP lists are shown, not expected;
* AUTH_SYS identities as ``credentials`` rows of kind "identity claimed" (there is no secret: AUTH_SYS
  is not authentication).

Limits: a message longer than ``rpc_max_record`` is skipped; XDR lengths, counts and nesting are
bounded (``xdr_*``); calls waiting for a reply at most ``max_pending_requests``; handles remembered
at most ``nfs_max_handles``; files reassembled at once ``nfs_max_files``; bytes held above a hole
``nfs_reorder_buffer``, pieces ``MAX_PIECES`` (the hole then becomes a gap). NFSv4 is listed,
not decoded: no v4 handles, paths or files. A TCP direction met inside a message (the capture started
during the connection) is decoded from the first record found, the bytes before it skipped
(``rpc_midstream``). RPCSEC_GSS bodies are not decoded. A reply is decoded only with its call (the
procedure is not in the reply).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from decoder.model import (
    Anomaly, Confirm, Credential, Direction, Event, Expect, FileClose, FileData, FileGap, FileOpen,
    FlowContext, Item, Record, Transport, Violation,
)
from dissectors._nfs_procs import PROGRAMS, Args, Proc, ProgramVersion, Res, lookup
from dissectors._rpc import AUTH_SYS, RPC_STATUS_MEANINGS, Call, RecordMarker, Reply, parse_message
from dissectors._xdr import XdrBounds, XdrError, XdrLimit, XdrReader
from dissectors.probes.nfs import SERVICES, SPECS  # noqa: F401 - SPECS re-exported

__all__ = ["RpcCall", "RpcReply", "RpcRecord", "NfsRecord", "RpcDissector", "assemble", "SPECS"]

MAX_IDENTITIES = 64
MAX_PIECES = 4096        # pieces of a file waiting above a hole (each READ reply or WRITE call is one)
_HANDLE_OUT = {"LOOKUP", "CREATE", "MKDIR", "SYMLINK", "MKNOD"}


def _label(prog: int, vers: int) -> str:
    pv = PROGRAMS.get((prog, vers))
    return pv.label if pv else f"RPC {prog} v{vers}"


def _proc_name(prog: int, vers: int, proc: int) -> str:
    p = lookup(prog, vers, proc)[1]
    return p.name if p else f"proc {proc}"


def status_name(prog: int, vers: int, status: int | None) -> str | None:
    if status is None:
        return None
    pv = PROGRAMS.get((prog, vers))
    return pv.status_names.get(status, str(status)) if pv else str(status)


# ---------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class RpcCall(Event):
    xid: int = 0
    prog: int = 0
    vers: int = 0
    proc: int = 0
    args: str = ""

    def summary(self) -> str:
        s = f"{_label(self.prog, self.vers)} {_proc_name(self.prog, self.vers, self.proc)}"
        return (s + " " + self.args if self.args else s) + f"  [xid {self.xid:#010x}]"

    def meaning(self) -> str:
        p = lookup(self.prog, self.vers, self.proc)[1]
        return p.meaning if p else ""


@dataclass(frozen=True, slots=True)
class RpcReply(Event):
    xid: int = 0
    prog: int | None = None         # None: no call was seen for this xid
    vers: int = 0
    proc: int = 0
    rpc_status: str = "SUCCESS"     # accept_stat, or the reason a call was denied
    status: int | None = None       # the procedure's own status (NFS, MOUNT)
    detail: str = ""
    rtt: float | None = None

    def summary(self) -> str:
        what = (f"{_label(self.prog, self.vers)} {_proc_name(self.prog, self.vers, self.proc)}"
                if self.prog is not None else "RPC")
        st = self.rpc_status if self.rpc_status != "SUCCESS" or self.prog is None else \
            status_name(self.prog, self.vers, self.status) or ""
        s = f"{what} reply {st}".rstrip()
        return (s + " " + self.detail if self.detail else s) + f"  [xid {self.xid:#010x}]"

    def meaning(self) -> str:
        if self.rpc_status != "SUCCESS":
            return RPC_STATUS_MEANINGS.get(self.rpc_status, f"the server refused the call ({self.rpc_status})")
        if self.prog is None:
            return "a reply whose call is not in the capture"
        pv = PROGRAMS.get((self.prog, self.vers))
        if pv is None or self.status is None:
            return "the call was executed"
        return pv.status_meanings.get(self.status, "")


# ---------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class RpcRecord(Record):
    """One row of ``rpc``: a call and its reply. ``auth_uid``/``auth_gid``/``machine``: the identity an
    AUTH_SYS credential claims (``uid`` is the flow's id, as in every table)."""

    TABLE: ClassVar[str] = "rpc"
    xid: int = 0
    program: str = ""
    prog_num: int = 0
    version: int = 0
    procedure: str = ""
    proc_num: int = 0
    auth: str = ""
    machine: str | None = None
    auth_uid: int | None = None
    auth_gid: int | None = None
    rpc_status: str | None = None      # SUCCESS, PROG_UNAVAIL, …, AUTH_BADCRED; None: no reply seen
    rtt: float | None = None


@dataclass(frozen=True, slots=True)
class NfsRecord(Record):
    """One row of ``nfs``: a MOUNT or NFS call and its reply."""

    TABLE: ClassVar[str] = "nfs"
    xid: int = 0
    program: str = "nfs"
    version: int = 0
    proc: str = ""
    name: str | None = None
    path: str | None = None
    fh: str | None = None
    offset: int | None = None
    count: int | None = None
    status: str | None = None
    rtt: float | None = None
    reply_fh: str | None = None          # a handle the reply handed out (MNT, LOOKUP, CREATE, …)
    size: int | None = None              # file size from the reply's attributes
    ops: list[str] | None = None         # NFSv4 COMPOUND operations
    entries: list[str] | None = None     # the names a READDIR/READDIRPLUS reply listed
    root_fh: str | None = None           # the unknown handle ``path`` starts from (see assemble)


# ---------------------------------------------------------------- files by offset
class _OffsetFile:
    """One file's bytes put in order by offset; holes become gaps, bytes seen twice are kept once."""

    __slots__ = ("handle", "next", "pending", "pending_bytes", "gaps", "eof", "size", "dups")

    def __init__(self, handle: str) -> None:
        self.handle = handle
        self.next = 0
        self.pending: dict[int, bytes] = {}
        self.pending_bytes = 0
        self.gaps = 0
        self.eof = False
        self.size: int | None = None
        self.dups = 0

    def put(self, off: int, data: bytes, ts: float) -> list[Item]:
        end = off + len(data)
        if end <= self.next or not data:
            self.dups += bool(data)
            return []
        if off < self.next:
            data, off = data[self.next - off:], self.next
        if off > self.next:
            old = self.pending.get(off)
            if old is None or len(old) < len(data):
                self.pending_bytes += len(data) - (len(old) if old else 0)
                self.pending[off] = data
            return []
        self.next = end
        return [FileData(ts, self.handle, data), *self.drain(ts)]

    def drain(self, ts: float, force: bool = False) -> list[Item]:
        """Emit the waiting bytes that follow ``next``; with ``force``, all of them, holes as gaps."""
        out: list[Item] = []
        for off in sorted(self.pending):
            if off > self.next:
                if not force:
                    break
                out.append(FileGap(ts, self.handle, off - self.next))
                self.gaps += 1
                self.next = off
            data = self.pending.pop(off)
            self.pending_bytes -= len(data)
            if off + len(data) > self.next:
                out.append(FileData(ts, self.handle, data[self.next - off:]))
                self.next = off + len(data)
        return out

    @property
    def complete(self) -> bool:
        """No gap; for a read, also the end of the file reached (EOF, or the size from attributes)."""
        if self.gaps:
            return False
        if not self.handle.startswith("read"):
            return True
        return self.eof or (self.size is not None and self.next >= self.size)


# ---------------------------------------------------------------- the dissector
@dataclass(frozen=True, slots=True)
class _Pending:
    ts: float
    call: Call
    args: Args
    path: str | None
    root: str | None


class RpcDissector:
    """One class for every spec of :mod:`dissectors.probes.nfs`: the program is in each call."""

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        lim = ctx.limits
        self.limits = lim
        self.tcp = ctx.transport is Transport.TCP
        self.bounds = XdrBounds(max_string=lim.xdr_max_string, max_opaque=lim.rpc_max_record,
                                max_array=lim.xdr_max_array, max_depth=lim.xdr_max_depth)
        self.markers = (RecordMarker(lim.rpc_max_record), RecordMarker(lim.rpc_max_record))
        self.pending: dict[int, _Pending] = {}
        self.paths: dict[bytes, tuple[str | None, str]] = {}     # fh → (root fh hex or None, path)
        self.files: dict[tuple[str, bytes], _OffsetFile] = {}
        self.identities: set[tuple[str | None, int | None, int | None]] = set()
        self.confirmed = False
        self.warned: set[str] = set()

    # -- the Dissector protocol
    def feed(self, direction: Direction, data: bytes, ts: float) -> list[Item]:
        out: list[Item] = []
        if not self.tcp:
            if len(data) > self.limits.rpc_max_record:
                return [Anomaly(ts, "rpc_record_too_long", f"a datagram of {len(data)} bytes was skipped",
                                direction)]
            self._message(direction, data, ts, out)
            return out
        marker = self.markers[direction]
        records, notes = marker.feed(data)
        out.extend(Anomaly(ts, n, d, direction) for n, d in notes)
        if not self.confirmed and marker.skipped > self.limits.rpc_max_record:
            return out + [Violation(ts, f"no RPC record in the first {marker.skipped} bytes")]
        for rec in records:
            self._message(direction, rec, ts, out)
            if out and isinstance(out[-1], Violation):
                break
        return out

    def gap(self, direction: Direction, length: int, ts: float) -> list[Item]:
        if self.tcp:
            self.markers[direction].gap()
        return [Anomaly(ts, "rpc_gap", f"{length} bytes of the {direction.label}'s RPC stream are missing; "
                                       "decoding resumes at the next record found", direction)]

    def close(self, ts: float) -> list[Item]:
        out: list[Item] = []
        for p in self.pending.values():
            self._rows(p, None, None, None, out)
        self.pending.clear()
        for f in self.files.values():
            out.extend(f.drain(ts, force=True))
            out.append(FileClose(ts, f.handle, complete=f.complete,
                                 reason="" if f.complete else "not every byte of the file was seen"))
        self.files.clear()
        return out

    # -- messages
    def _anomaly_once(self, out: list[Item], ts: float, name: str, detail: str,
                      direction: Direction | None = None) -> None:
        if name not in self.warned:
            self.warned.add(name)
            out.append(Anomaly(ts, name, detail, direction))

    def _message(self, direction: Direction, msg: bytes, ts: float, out: list[Item]) -> None:
        r = XdrReader(msg, bounds=self.bounds)
        try:
            m = parse_message(r)
        except XdrLimit as e:
            out.append(Anomaly(ts, f"rpc_xdr_{e.kind}", f"RPC header: {e}", direction))
            return
        except XdrError as e:
            if not self.confirmed:
                out.append(Violation(ts, f"not an RPC message: {e}"))
            else:
                out.append(Anomaly(ts, "rpc_malformed", f"an RPC message could not be read: {e}", direction))
            return
        if not self.confirmed:
            self.confirmed = True
            out.append(Confirm(ts))
        if isinstance(m, Call):
            self._call(direction, m, r, ts, out)
        else:
            self._reply(direction, m, r, ts, out)

    def _decode(self, fn, r: XdrReader, what: str, ts: float, direction: Direction, out: list[Item]):
        try:
            return fn(r)
        except XdrLimit as e:
            out.append(Anomaly(ts, f"rpc_xdr_{e.kind}", f"{what}: {e}", direction))
        except XdrError as e:
            out.append(Anomaly(ts, "rpc_malformed", f"{what} could not be read: {e}", direction))
        return None

    def _path(self, fh: bytes | None) -> tuple[str | None, str | None]:
        """(root fh hex or None, path) of a handle; an unknown one is its own root."""
        if fh is None:
            return None, None
        known = self.paths.get(fh)
        if known is not None:
            return known
        return fh.hex(), ""

    def _learn(self, fh: bytes, root: str | None, path: str, ts: float, out: list[Item]) -> None:
        if fh in self.paths or len(self.paths) < self.limits.nfs_max_handles:
            self.paths[fh] = (root, path)
        else:
            self._anomaly_once(out, ts, "nfs_handles_too_many",
                               f"more than {self.limits.nfs_max_handles} file handles in one flow: "
                               "later ones are shown without their path")

    def _call(self, direction: Direction, c: Call, r: XdrReader, ts: float, out: list[Item]) -> None:
        pv, proc = lookup(c.prog, c.vers, c.proc)
        args = Args()
        if proc is not None:
            got = self._decode(proc.args, r, f"{pv.label} {proc.name} arguments", ts, direction, out)
            args = got if got is not None else Args()
        root, path = self._path(args.fh)
        if args.name is not None and path is not None and pv is not None and pv.program == "nfs":
            path = f"{path}/{args.name}"
        elif pv is not None and pv.program == "mount" and args.name is not None:
            path = args.name
        out.append(RpcCall(ts, direction, c.xid, c.prog, c.vers, c.proc, _call_words(args, path, root)))
        self._identity(c, ts, out)
        if c.xid not in self.pending:
            if len(self.pending) >= self.limits.max_pending_requests:
                old = next(iter(self.pending))
                self._rows(self.pending.pop(old), None, None, None, out)
                self._anomaly_once(out, ts, "rpc_pending_too_many",
                                   f"more than {self.limits.max_pending_requests} calls waiting for a reply")
            # a WRITE's data is not kept while its reply is awaited (1000 calls × 4 MiB otherwise)
            kept = dataclasses.replace(args, data=None) if args.data is not None else args
            self.pending[c.xid] = _Pending(ts, c, kept, path, root)
        if args.data is not None and pv is not None and pv.program == "nfs" and args.fh is not None:
            self._file("write", args.fh, args.offset or 0, args.data, None, False, path, ts, direction, out)

    def _identity(self, c: Call, ts: float, out: list[Item]) -> None:
        a = c.cred
        if a.flavor != AUTH_SYS:
            return
        key = (a.machine, a.uid, a.gid)
        if key in self.identities or len(self.identities) >= MAX_IDENTITIES:
            return
        self.identities.add(key)
        out.append(Credential(ts, protocol=SERVICES.get(c.prog, "rpc"),
                              username=f"uid={a.uid} gid={a.gid} machine={a.machine}", secret="",
                              kind="identity claimed"))

    def _reply(self, direction: Direction, m: Reply, r: XdrReader, ts: float, out: list[Item]) -> None:
        p = self.pending.pop(m.xid, None)
        if p is None:
            out.append(Anomaly(ts, "rpc_reply_without_call",
                               f"reply to xid {m.xid:#010x}, whose call is not in the capture", direction))
            out.append(RpcReply(ts, direction, m.xid, None, rpc_status=m.status))
            return
        c = p.call
        rtt = round(ts - p.ts, 6)
        pv, proc = lookup(c.prog, c.vers, c.proc)
        res: Res | None = None
        if m.accepted and m.accept_stat == 0 and proc is not None:
            res = self._decode(proc.res, r, f"{pv.label} {proc.name} results", ts, direction, out)
        if res is not None and pv is not None:
            self._use(pv, proc, p, res, ts, direction, out)
        detail = _reply_words(res, m)
        out.append(RpcReply(ts, direction, m.xid, c.prog, c.vers, c.proc, m.status,
                            res.status if res else None, detail, rtt))
        self._rows(p, m, res, rtt, out)

    def _use(self, pv: ProgramVersion, proc: Proc, p: _Pending, res: Res, ts: float, direction: Direction,
             out: list[Item]) -> None:
        a = p.args
        if pv.program == "portmapper":
            self._expect(a, res, ts, out)
            return
        if res.fh is not None and (res.status or 0) == 0:
            if pv.program == "mount" and a.name is not None:
                self._learn(res.fh, None, a.name, ts, out)
            elif proc.name in _HANDLE_OUT and p.path is not None:
                self._learn(res.fh, p.root, p.path, ts, out)
        if res.entries and a.fh is not None:
            root, base = self._path(a.fh)
            for name, fh in res.entries:
                if fh is not None and name not in (".", ".."):
                    self._learn(fh, root, f"{base}/{name}", ts, out)
        if res.data is not None and a.fh is not None and pv.program == "nfs":
            self._file("read", a.fh, a.offset or 0, res.data, res.size, bool(res.eof), p.path, ts, direction, out)

    def _expect(self, a: Args, res: Res, ts: float, out: list[Item]) -> None:
        """A GETPORT/GETADDR answer for MOUNT or NFS: the asker is about to connect there (one flow).
        A DUMP list foresees nothing: it says what is registered, not that anyone will connect (as
        expectations of many uses, rpcinfo -p's list would claim every later flow as its own)."""
        if a.mapping is None or not res.count:
            return
        prog, vers, transport, _ = a.mapping
        port = res.count
        service = SERVICES.get(prog)
        if service in (None, "portmapper") or transport not in ("tcp", "udp") or not 0 < port < 65536:
            return
        out.append(Expect(ts, Transport(transport), service, resp_h=self.ctx.resp_h, resp_p=port,
                          orig_h=self.ctx.orig_h, token=f"{service}/{transport}/{port}",
                          ttl=self.limits.rpc_expect_ttl, meta=(("program", prog), ("version", vers))))

    def _file(self, kind: str, fh: bytes, off: int, data: bytes, size: int | None, eof: bool,
              path: str | None, ts: float, direction: Direction, out: list[Item]) -> None:
        key = (kind, fh)
        f = self.files.get(key)
        if f is None:
            if len(self.files) >= self.limits.nfs_max_files:
                self._anomaly_once(out, ts, "nfs_files_too_many",
                                   f"more than {self.limits.nfs_max_files} files read or written at once in "
                                   "one flow: the others are not extracted")
                return
            f = self.files[key] = _OffsetFile(f"{kind}:{fh.hex()}")
            name = path.rsplit("/", 1)[-1] if path else None
            out.append(FileOpen(ts, f.handle, "NFS", name_hint=name or None, total_size=size,
                                direction=direction))
        if size is not None:
            f.size = size
        out.extend(f.put(off, data, ts))
        if eof:
            f.eof = True
        if f.pending_bytes > self.limits.nfs_reorder_buffer or len(f.pending) > MAX_PIECES:
            self._anomaly_once(out, ts, "nfs_reorder_limit",
                               f"more than {self.limits.nfs_reorder_buffer} bytes or {MAX_PIECES} pieces waited "
                               "above a hole in a file: the hole was declared a gap")
            out.extend(f.drain(ts, force=True))

    def _rows(self, p: _Pending, m: Reply | None, res: Res | None, rtt: float | None, out: list[Item]) -> None:
        c, a = p.call, p.args
        pv, proc = lookup(c.prog, c.vers, c.proc)
        cred = c.cred
        out.append(RpcRecord(p.ts, c.xid, SERVICES.get(c.prog, str(c.prog)), c.prog, c.vers,
                             proc.name if proc else f"proc {c.proc}", c.proc, cred.name, cred.machine,
                             cred.uid, cred.gid, m.status if m else None, rtt))
        if pv is None or pv.program == "portmapper":
            return
        name = a.name
        if name is None and p.path:
            name = p.path.rsplit("/", 1)[-1] or None
        status = status_name(c.prog, c.vers, res.status if res else None)
        if status is None and m is not None and m.status != "SUCCESS":
            status = m.status
        out.append(NfsRecord(p.ts, c.xid, pv.program, c.vers, proc.name if proc else f"proc {c.proc}", name,
                             _show(p.path, p.root), a.fh.hex() if a.fh else None, a.offset,
                             a.count, status, rtt, res.fh.hex() if res and res.fh else None,
                             res.size if res else None, list(a.ops) if a.ops else None,
                             _listed(proc, res), p.root if p.root and p.path is not None else None))


def _listed(proc: Proc | None, res: Res | None) -> list[str] | None:
    if proc is None or res is None or not proc.name.startswith("READDIR"):
        return None
    return [n for n, _ in res.entries if n not in (".", "..")]


def _show(path: str | None, root: str | None) -> str | None:
    if path is None:
        return None
    return f"<fh:{root[:8]}>{path}" if root else path


def _call_words(a: Args, path: str | None, root: str | None) -> str:
    w: list[str] = []
    shown = _show(path, root)
    if shown:
        w.append(repr(shown) if a.name is not None or not a.fh else shown)
    elif a.name is not None:
        w.append(repr(a.name))
    if a.offset is not None:
        w.append(f"offset={a.offset}")
    if a.count is not None:
        w.append(f"count={a.count}")
    if a.ops:
        w.append(" ".join(a.ops))
    if a.detail:
        w.append(a.detail)
    return " ".join(w)


def _reply_words(res: Res | None, m: Reply) -> str:
    if m.low is not None:
        return f"versions {m.low}–{m.high}"
    if res is None:
        return ""
    w: list[str] = []
    if res.fh is not None:
        w.append(f"fh={res.fh.hex()[:16]}…" if len(res.fh) > 8 else f"fh={res.fh.hex()}")
    if res.data is not None:
        w.append(f"{len(res.data)} bytes")
    if res.eof:
        w.append("eof")
    if res.size is not None:
        w.append(f"size={res.size}")
    if res.entries and not res.detail:
        w.append(", ".join(n for n, _ in res.entries[:20]) + ("…" if len(res.entries) > 20 else ""))
    if res.detail:
        w.append(res.detail)
    return " ".join(w)


def assemble(tables):
    """Put the mounted path in place of ``<fh:…>`` where a MOUNT reply in the capture handed that
    handle out (MOUNT and NFS are different flows). Reads ``nfs`` twice; holds only the MNT map."""
    rows = tables["nfs"]
    mounts: dict[str, str] = {}
    for r in rows:
        if r.get("program") == "mount" and r.get("proc") == "MNT" and r.get("reply_fh") and r.get("name"):
            mounts.setdefault(r["reply_fh"], r["name"].rstrip("/") or "/")

    def out():
        for r in rows:
            root = r.get("root_fh")
            if root and root in mounts and r.get("path") is not None:
                r = dict(r)
                rest = r["path"].split(">", 1)[1] if r["path"].startswith("<fh:") else r["path"]
                r["path"] = mounts[root] + rest
                r["root_fh"] = None
            yield r
    return {"nfs": out()}
