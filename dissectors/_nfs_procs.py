"""The procedures of the portmapper/rpcbind, MOUNT and NFS programs: names, RFC meanings, and the
decoding of their arguments and results (XDR, :mod:`dissectors._xdr`).

* portmapper v2 (RFC 1833 section 3: SET, UNSET, GETPORT, DUMP, CALLIT) and rpcbind v3/v4 (section
  2: GETADDR and DUMP decoded, universal addresses turned into ports);
* MOUNT v1/v2 (RFC 1094 appendix A) and v3 (RFC 1813 section 5): MNT, DUMP, UMNT, UMNTALL, EXPORT;
* NFS v2 (RFC 1094 section 2.2) and v3 (RFC 1813 section 3): every procedure named, the file handle,
  name, offset and count of its arguments, the status of its result, the handle a LOOKUP, CREATE,
  MKDIR, SYMLINK or MKNOD returns, READDIR(PLUS) entries, READ and WRITE data, the file size from
  attributes;
* NFS v4 (RFC 7530 section 16, RFC 8881 section 18): COMPOUND's operations listed with the names they
  carry; operations whose arguments are not decoded here (LOCK, CREATE, the pNFS ones…) end the
  listing with a note. Results: the status and number of results only.

A decoder reads what it needs and stops (the rest of a result does not matter once the facts are
out). Errors are :class:`~dissectors._xdr.XdrError`; the dissector reports them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from dissectors._xdr import XdrError, XdrLimit, XdrReader
from dissectors.probes.nfs import MOUNT_PROG, NFS_PROG, PMAP_PROG

__all__ = ["Args", "Res", "Proc", "ProgramVersion", "PROGRAMS", "lookup", "uaddr_port", "PROT_NAMES"]

PROT_NAMES = MappingProxyType({6: "tcp", 17: "udp"})


@dataclass(frozen=True, slots=True)
class Args:
    """What a call says (only what the tables and the ladder use)."""

    fh: bytes | None = None
    name: str | None = None
    offset: int | None = None
    count: int | None = None
    data: bytes | None = None
    mapping: tuple[int, int, str, int] | None = None     # portmapper: program, version, transport, port
    ops: tuple[str, ...] = ()                            # NFSv4 COMPOUND
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Res:
    """What a successful RPC reply's results say."""

    status: int | None = None
    fh: bytes | None = None                  # a handle the reply hands out
    size: int | None = None                  # file size from the attributes
    count: int | None = None
    eof: bool | None = None
    data: bytes | None = None
    entries: tuple[tuple[str, bytes | None], ...] = ()
    mappings: tuple[tuple[int, int, str, int], ...] = ()     # program, version, transport, port
    detail: str = ""


ArgsFn = Callable[[XdrReader], Args]
ResFn = Callable[[XdrReader], Res]


@dataclass(frozen=True, slots=True)
class Proc:
    name: str
    meaning: str
    args: ArgsFn
    res: ResFn


@dataclass(frozen=True, slots=True)
class ProgramVersion:
    label: str                          # "NFS3", "MOUNT3", "PMAP2"
    program: str                        # "nfs", "mount", "portmapper"
    procs: tuple[Proc, ...]
    status_names: Mapping[int, str] = field(default_factory=dict)
    status_meanings: Mapping[int, str] = field(default_factory=dict)


def _none(r: XdrReader) -> Args:
    return Args()


def _void(r: XdrReader) -> Res:
    return Res()


def _status(r: XdrReader) -> Res:
    return Res(status=r.u32())


def _ok(body: Callable[[XdrReader], dict]) -> ResFn:
    """A result whose ``body`` (the fields of :class:`Res` it reads) follows only a zero status (the
    resok/resfail unions of RFC 1094 and RFC 1813; the failure arm is not needed)."""
    def res(r: XdrReader) -> Res:
        st = r.u32()
        return Res(st, **body(r)) if st == 0 else Res(st)
    return res


# ---------------------------------------------------------------- portmapper / rpcbind (RFC 1833)
def _mapping(r: XdrReader) -> tuple[int, int, str, int]:
    prog, vers, prot, port = r.u32(), r.u32(), r.u32(), r.u32()
    return prog, vers, PROT_NAMES.get(prot, str(prot)), port


def uaddr_port(uaddr: str) -> int | None:
    """The port of an RPC universal address ``h1.h2.h3.h4.p1.p2`` (IPv6: ``x::y.p1.p2``)."""
    parts = uaddr.rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    hi, lo = int(parts[1]), int(parts[2])
    return hi * 256 + lo if hi < 256 and lo < 256 else None


def _rpcb(r: XdrReader) -> tuple[int, int, str, str, str]:
    return r.u32(), r.u32(), r.string(), r.string(), r.string()


def _netid_transport(netid: str) -> str:
    return "tcp" if netid.startswith("tcp") else "udp" if netid.startswith("udp") else netid


def _pm_mapping_args(r: XdrReader) -> Args:
    m = _mapping(r)
    return Args(mapping=m, detail=f"program {m[0]} version {m[1]} {m[2]}" + (f" port {m[3]}" if m[3] else ""))


def _pm_getport_res(r: XdrReader) -> Res:
    port = r.u32()
    return Res(count=port, detail=f"port {port}" if port else "port 0 (not registered)")


def _pm_bool_res(r: XdrReader) -> Res:
    ok = r.boolean()
    return Res(detail="done" if ok else "refused")


def _pm_dump_res(r: XdrReader) -> Res:
    maps = tuple(r.chain(_mapping))
    return Res(mappings=maps, detail=f"{len(maps)} mappings")


def _pm_callit_args(r: XdrReader) -> Args:
    prog, vers, proc = r.u32(), r.u32(), r.u32()
    return Args(detail=f"program {prog} version {vers} procedure {proc}")


def _rb_args(r: XdrReader) -> Args:
    prog, vers, netid, addr, owner = _rpcb(r)
    return Args(mapping=(prog, vers, _netid_transport(netid), uaddr_port(addr) or 0),
                detail=f"program {prog} version {vers} {netid}" + (f" {addr}" if addr else ""))


def _rb_getaddr_res(r: XdrReader) -> Res:
    addr = r.string()
    return Res(count=uaddr_port(addr), detail=f"address {addr}" if addr else "not registered")


def _rb_dump_res(r: XdrReader) -> Res:
    maps = tuple((p, v, _netid_transport(n), uaddr_port(a) or 0) for p, v, n, a, _ in r.chain(_rpcb))
    return Res(mappings=maps, detail=f"{len(maps)} mappings")


_PM = {
    "NULL": "does nothing: checks that the portmapper answers",
    "SET": "registers a program's port with the portmapper",
    "UNSET": "removes a program's registration",
    "GETPORT": "asks on which port a program (version, transport) listens",
    "DUMP": "lists every registered program and its port",
    "CALLIT": "asks the portmapper to call a procedure of another program (broadcast helper)",
    "GETADDR": "asks at which universal address a program (version, transport) listens",
    "GETTIME": "asks the server's time",
    "UADDR2TADDR": "converts a universal address to a transport address",
    "TADDR2UADDR": "converts a transport address to a universal address",
    "GETVERSADDR": "asks the address of a program's exact version",
    "INDIRECT": "like CALLIT, answered only on success",
    "GETADDRLIST": "asks every address of a program",
    "GETSTAT": "asks the rpcbind's statistics",
}


def _pm_procs(v: int) -> tuple[Proc, ...]:
    if v == 2:
        spec = [("NULL", _none, _void), ("SET", _pm_mapping_args, _pm_bool_res),
                ("UNSET", _pm_mapping_args, _pm_bool_res), ("GETPORT", _pm_mapping_args, _pm_getport_res),
                ("DUMP", _none, _pm_dump_res), ("CALLIT", _pm_callit_args, _void)]
    else:
        spec = [("NULL", _none, _void), ("SET", _rb_args, _pm_bool_res), ("UNSET", _rb_args, _pm_bool_res),
                ("GETADDR", _rb_args, _rb_getaddr_res), ("DUMP", _none, _rb_dump_res),
                ("CALLIT", _pm_callit_args, _void), ("GETTIME", _none, _void),
                ("UADDR2TADDR", _none, _void), ("TADDR2UADDR", _none, _void)]
        if v == 4:
            spec += [("GETVERSADDR", _rb_args, _rb_getaddr_res), ("INDIRECT", _pm_callit_args, _void),
                     ("GETADDRLIST", _rb_args, _void), ("GETSTAT", _none, _void)]
    return tuple(Proc(n, _PM[n], a, s) for n, a, s in spec)


# ---------------------------------------------------------------- NFS status (RFC 1094 2.3.1, RFC 1813 2.6)
_NFS_ERRORS = {
    1: ("PERM", "not owner: the caller is not allowed to do this"),
    2: ("NOENT", "no such file or directory"),
    5: ("IO", "a hard error (e.g. a disk error) happened on the server"),
    6: ("NXIO", "no such device or address"),
    13: ("ACCES", "permission denied"),
    17: ("EXIST", "the file already exists"),
    18: ("XDEV", "attempt to do a cross-device hard link"),
    19: ("NODEV", "no such device"),
    20: ("NOTDIR", "not a directory, where one was needed"),
    21: ("ISDIR", "is a directory, where a file was needed"),
    22: ("INVAL", "invalid argument or unsupported argument for this operation"),
    27: ("FBIG", "file too large"),
    28: ("NOSPC", "no space left on the device"),
    30: ("ROFS", "the file system is read-only"),
    31: ("MLINK", "too many hard links"),
    63: ("NAMETOOLONG", "the file name is too long"),
    66: ("NOTEMPTY", "the directory is not empty"),
    69: ("DQUOT", "the user's disk quota is exceeded"),
    70: ("STALE", "the file handle is no longer valid (the file was removed or the server restarted)"),
    71: ("REMOTE", "too many levels of remote in the path"),
    99: ("WFLUSH", "the server's write cache was flushed to disk (NFS v2)"),
    10001: ("BADHANDLE", "the file handle failed the server's internal consistency checks"),
    10002: ("NOT_SYNC", "the SETATTR guard did not match"),
    10003: ("BAD_COOKIE", "the READDIR cookie is stale"),
    10004: ("NOTSUPP", "the operation is not supported"),
    10005: ("TOOSMALL", "the buffer or request is too small"),
    10006: ("SERVERFAULT", "an error on the server that has no NFS code"),
    10007: ("BADTYPE", "the server does not support creating an object of this type"),
    10008: ("JUKEBOX", "the server started the operation but cannot finish it in time: retry later"),
}


def _nfs_status(prefix: str, err: str) -> tuple[Mapping[int, str], Mapping[int, str]]:
    names = {0: f"{prefix}_OK"}
    meanings = {0: "success"}
    for code, (n, m) in _NFS_ERRORS.items():
        names[code] = f"{err}_{n}"
        meanings[code] = m
    return MappingProxyType(names), MappingProxyType(meanings)


# ---------------------------------------------------------------- NFS v3 (RFC 1813)
FATTR3 = 84      # 5 words, 6 hypers (size at byte 20), 3 times of two words
WCC_ATTR = 24


def _fh3(r: XdrReader) -> bytes:
    return r.opaque(64)


def _fattr3_size(r: XdrReader) -> int:
    b = r.fixed(FATTR3)
    return int.from_bytes(b[20:28], "big")


def _post_op_attr(r: XdrReader) -> int | None:
    return _fattr3_size(r) if r.boolean() else None


def _wcc_data(r: XdrReader) -> int | None:
    if r.boolean():
        r.skip(WCC_ATTR)
    return _post_op_attr(r)


def _post_op_fh3(r: XdrReader) -> bytes | None:
    return _fh3(r) if r.boolean() else None


def _v3_fh(r: XdrReader) -> Args:
    return Args(fh=_fh3(r))


def _v3_dirop(r: XdrReader) -> Args:
    return Args(fh=_fh3(r), name=r.string())


def _v3_access(r: XdrReader) -> Args:
    fh = _fh3(r)
    return Args(fh=fh, detail=f"access 0x{r.u32():02x}")


def _v3_read(r: XdrReader) -> Args:
    return Args(fh=_fh3(r), offset=r.u64(), count=r.u32())


_STABLE = {0: "UNSTABLE", 1: "DATA_SYNC", 2: "FILE_SYNC"}


def _v3_write(r: XdrReader) -> Args:
    fh, off, count, stable = _fh3(r), r.u64(), r.u32(), r.u32()
    data = r.opaque(bulk=True)
    return Args(fh=fh, offset=off, count=count, data=data, detail=_STABLE.get(stable, str(stable)))


def _v3_rename(r: XdrReader) -> Args:
    fh, name = _fh3(r), r.string()
    _fh3(r)
    return Args(fh=fh, name=name, detail=f"to {r.string()!r}")


def _v3_link(r: XdrReader) -> Args:
    fh = _fh3(r)
    _fh3(r)
    return Args(fh=fh, name=r.string())


def _v3_readdir(r: XdrReader) -> Args:
    fh, cookie = _fh3(r), r.u64()
    r.skip(8)
    return Args(fh=fh, offset=cookie, count=r.u32())


def _v3_readdirplus(r: XdrReader) -> Args:
    fh, cookie = _fh3(r), r.u64()
    r.skip(8)
    r.u32()
    return Args(fh=fh, offset=cookie, count=r.u32())


def _v3_commit(r: XdrReader) -> Args:
    return Args(fh=_fh3(r), offset=r.u64(), count=r.u32())


_v3_getattr_res = _ok(lambda r: {"size": _fattr3_size(r)})
_v3_lookup_res = _ok(lambda r: {"fh": _fh3(r), "size": _post_op_attr(r)})
_v3_read_res = _ok(lambda r: {"size": _post_op_attr(r), "count": r.u32(), "eof": r.boolean(),
                              "data": r.opaque(bulk=True)})
_v3_write_res = _ok(lambda r: {"size": _wcc_data(r), "count": r.u32(), "detail": _STABLE.get(c := r.u32(), str(c))})
_v3_create_res = _ok(lambda r: {"fh": _post_op_fh3(r), "size": _post_op_attr(r)})


def _entry3(r: XdrReader) -> tuple[str, bytes | None]:
    r.u64()
    name = r.string()
    r.u64()
    return name, None


def _entryplus3(r: XdrReader) -> tuple[str, bytes | None]:
    r.u64()
    name = r.string()
    r.u64()
    _post_op_attr(r)
    return name, _post_op_fh3(r)


def _entries(r: XdrReader, entry: Callable[[XdrReader], tuple[str, bytes | None]]) -> dict:
    entries = tuple(r.chain(entry))
    return {"entries": entries, "count": len(entries), "eof": r.boolean()}


def _v3_readdir_res(entry: Callable[[XdrReader], tuple[str, bytes | None]]) -> ResFn:
    def body(r: XdrReader) -> dict:
        _post_op_attr(r)
        r.skip(8)                   # cookie verifier
        return _entries(r, entry)
    return _ok(body)


_V3 = [
    ("NULL", "does nothing: checks that the server answers", _none, _void),
    ("GETATTR", "gets a file's attributes (type, mode, owner, size, times)", _v3_fh, _v3_getattr_res),
    ("SETATTR", "changes a file's attributes (mode, owner, size, times)", _v3_fh, _status),
    ("LOOKUP", "looks a name up in a directory and returns its file handle", _v3_dirop, _v3_lookup_res),
    ("ACCESS", "asks which kinds of access the caller has to a file", _v3_access, _status),
    ("READLINK", "reads the target of a symbolic link", _v3_fh, _status),
    ("READ", "reads count bytes of a file from an offset", _v3_read, _v3_read_res),
    ("WRITE", "writes bytes into a file at an offset", _v3_write, _v3_write_res),
    ("CREATE", "creates a regular file in a directory", _v3_dirop, _v3_create_res),
    ("MKDIR", "creates a directory", _v3_dirop, _v3_create_res),
    ("SYMLINK", "creates a symbolic link", _v3_dirop, _v3_create_res),
    ("MKNOD", "creates a special file (device, socket, FIFO)", _v3_dirop, _v3_create_res),
    ("REMOVE", "removes a file from a directory", _v3_dirop, _status),
    ("RMDIR", "removes an (empty) directory", _v3_dirop, _status),
    ("RENAME", "renames a file or directory", _v3_rename, _status),
    ("LINK", "creates a hard link to a file", _v3_link, _status),
    ("READDIR", "lists the names in a directory", _v3_readdir, _v3_readdir_res(_entry3)),
    ("READDIRPLUS", "lists a directory with each entry's handle and attributes",
     _v3_readdirplus, _v3_readdir_res(_entryplus3)),
    ("FSSTAT", "asks the file system's space and file counts", _v3_fh, _status),
    ("FSINFO", "asks the file system's limits (largest read and write, …)", _v3_fh, _status),
    ("PATHCONF", "asks the POSIX path limits (name length, …)", _v3_fh, _status),
    ("COMMIT", "asks the server to write cached data to stable storage", _v3_commit, _status),
]


# ---------------------------------------------------------------- NFS v2 (RFC 1094)
FHSIZE2 = 32
FATTR2 = 68      # 11 words (size at byte 20) and three times of two words
SATTR2 = 32


def _fh2(r: XdrReader) -> bytes:
    return r.fixed(FHSIZE2)


def _fattr2_size(r: XdrReader) -> int:
    return int.from_bytes(r.fixed(FATTR2)[20:24], "big")


def _v2_fh(r: XdrReader) -> Args:
    return Args(fh=_fh2(r))


def _v2_dirop(r: XdrReader) -> Args:
    return Args(fh=_fh2(r), name=r.string(255))


def _v2_read(r: XdrReader) -> Args:
    fh, off, count = _fh2(r), r.u32(), r.u32()
    r.u32()
    return Args(fh=fh, offset=off, count=count)


def _v2_write(r: XdrReader) -> Args:
    fh = _fh2(r)
    r.u32()
    off = r.u32()
    r.u32()
    data = r.opaque(8192, bulk=True)
    return Args(fh=fh, offset=off, count=len(data), data=data)


def _v2_rename(r: XdrReader) -> Args:
    fh, name = _fh2(r), r.string(255)
    _fh2(r)
    return Args(fh=fh, name=name, detail=f"to {r.string(255)!r}")


def _v2_link(r: XdrReader) -> Args:
    fh = _fh2(r)
    _fh2(r)
    return Args(fh=fh, name=r.string(255))


def _v2_readdir(r: XdrReader) -> Args:
    fh = _fh2(r)
    cookie = int.from_bytes(r.fixed(4), "big")
    return Args(fh=fh, offset=cookie, count=r.u32())


_v2_attrstat = _ok(lambda r: {"size": _fattr2_size(r)})
_v2_diropres = _ok(lambda r: {"fh": _fh2(r), "size": _fattr2_size(r)})
_v2_read_res = _ok(lambda r: {"size": _fattr2_size(r), "data": (d := r.opaque(8192, bulk=True)), "count": len(d)})


def _entry2(r: XdrReader) -> tuple[str, bytes | None]:
    r.u32()
    name = r.string(255)
    r.skip(4)
    return name, None


_v2_readdir_res = _ok(lambda r: _entries(r, _entry2))


_V2 = [
    ("NULL", "does nothing: checks that the server answers", _none, _void),
    ("GETATTR", "gets a file's attributes", _v2_fh, _v2_attrstat),
    ("SETATTR", "changes a file's attributes", _v2_fh, _v2_attrstat),
    ("ROOT", "obsolete (was: get the root handle)", _none, _void),
    ("LOOKUP", "looks a name up in a directory and returns its file handle", _v2_dirop, _v2_diropres),
    ("READLINK", "reads the target of a symbolic link", _v2_fh, _status),
    ("READ", "reads count bytes of a file from an offset", _v2_read, _v2_read_res),
    ("WRITECACHE", "unused (reserved for a future write cache)", _none, _void),
    ("WRITE", "writes bytes into a file at an offset (written to disk before the reply)",
     _v2_write, _v2_attrstat),
    ("CREATE", "creates a file in a directory", _v2_dirop, _v2_diropres),
    ("REMOVE", "removes a file from a directory", _v2_dirop, _status),
    ("RENAME", "renames a file or directory", _v2_rename, _status),
    ("LINK", "creates a hard link to a file", _v2_link, _status),
    ("SYMLINK", "creates a symbolic link", _v2_dirop, _status),
    ("MKDIR", "creates a directory", _v2_dirop, _v2_diropres),
    ("RMDIR", "removes an (empty) directory", _v2_dirop, _status),
    ("READDIR", "lists the names in a directory", _v2_readdir, _v2_readdir_res),
    ("STATFS", "asks the file system's size and free space", _v2_fh, _status),
]


# ---------------------------------------------------------------- MOUNT (RFC 1094 appendix A, RFC 1813 5)
MNTPATHLEN, MNTNAMLEN = 1024, 255
_MOUNT3_STATUS = {0: ("MNT3_OK", "success"), 1: ("MNT3ERR_PERM", "not owner"),
                  2: ("MNT3ERR_NOENT", "no such file or directory"), 5: ("MNT3ERR_IO", "I/O error"),
                  13: ("MNT3ERR_ACCES", "permission denied: this client may not mount this export"),
                  20: ("MNT3ERR_NOTDIR", "not a directory"), 22: ("MNT3ERR_INVAL", "invalid argument"),
                  63: ("MNT3ERR_NAMETOOLONG", "the path is too long"),
                  10004: ("MNT3ERR_NOTSUPP", "operation not supported"),
                  10006: ("MNT3ERR_SERVERFAULT", "a failure on the server")}


def _mnt_path(r: XdrReader) -> Args:
    return Args(name=r.string(MNTPATHLEN))


def _mnt1_res(r: XdrReader) -> Res:
    st = r.u32()
    return Res(st, fh=_fh2(r)) if st == 0 else Res(st)


def _mnt3_res(r: XdrReader) -> Res:
    st = r.u32()
    if st:
        return Res(st)
    fh = _fh3(r)
    flavors = r.array(XdrReader.u32, 64)
    return Res(st, fh=fh, detail="auth flavours " + ",".join(map(str, flavors)))


def _group(r: XdrReader) -> str:
    return r.string(MNTNAMLEN)


def _export(r: XdrReader) -> tuple[str, bytes | None]:
    d = r.string(MNTPATHLEN)
    groups = r.chain(_group)
    return (d + (" (" + ", ".join(groups) + ")" if groups else " (everyone)")), None


def _mnt_export_res(r: XdrReader) -> Res:
    ex = tuple(r.chain(_export))
    return Res(entries=ex, count=len(ex), detail="; ".join(e for e, _ in ex))


def _mountbody(r: XdrReader) -> tuple[str, bytes | None]:
    host = r.string(MNTNAMLEN)
    return f"{host}:{r.string(MNTPATHLEN)}", None


def _mnt_dump_res(r: XdrReader) -> Res:
    m = tuple(r.chain(_mountbody))
    return Res(entries=m, count=len(m), detail="; ".join(e for e, _ in m))


def _mount_procs(v: int) -> tuple[Proc, ...]:
    spec = [("NULL", "does nothing: checks that the mount server answers", _none, _void),
            ("MNT", "asks to mount an exported path: the reply is the root file handle", _mnt_path,
             _mnt3_res if v == 3 else _mnt1_res),
            ("DUMP", "lists the mounts the server remembers", _none, _mnt_dump_res),
            ("UMNT", "tells the server a path is no longer mounted", _mnt_path, _void),
            ("UMNTALL", "tells the server this client unmounted everything", _none, _void),
            ("EXPORT", "lists the exported paths and who may mount them", _none, _mnt_export_res)]
    if v == 2:
        spec.append(("PATHCONF", "asks the POSIX path limits of a path", _mnt_path, _void))
    return tuple(Proc(*s) for s in spec)


# ---------------------------------------------------------------- NFS v4 COMPOUND (RFC 7530 16, RFC 8881 18)
V4_OPS = MappingProxyType({
    3: "ACCESS", 4: "CLOSE", 5: "COMMIT", 6: "CREATE", 7: "DELEGPURGE", 8: "DELEGRETURN", 9: "GETATTR",
    10: "GETFH", 11: "LINK", 12: "LOCK", 13: "LOCKT", 14: "LOCKU", 15: "LOOKUP", 16: "LOOKUPP",
    17: "NVERIFY", 18: "OPEN", 19: "OPENATTR", 20: "OPEN_CONFIRM", 21: "OPEN_DOWNGRADE", 22: "PUTFH",
    23: "PUTPUBFH", 24: "PUTROOTFH", 25: "READ", 26: "READDIR", 27: "READLINK", 28: "REMOVE",
    29: "RENAME", 30: "RENEW", 31: "RESTOREFH", 32: "SAVEFH", 33: "SECINFO", 34: "SETATTR",
    35: "SETCLIENTID", 36: "SETCLIENTID_CONFIRM", 37: "VERIFY", 38: "WRITE", 39: "RELEASE_LOCKOWNER",
    40: "BACKCHANNEL_CTL", 41: "BIND_CONN_TO_SESSION", 42: "EXCHANGE_ID", 43: "CREATE_SESSION",
    44: "DESTROY_SESSION", 45: "FREE_STATEID", 46: "GET_DIR_DELEGATION", 47: "GETDEVICEINFO",
    48: "GETDEVICELIST", 49: "LAYOUTCOMMIT", 50: "LAYOUTGET", 51: "LAYOUTRETURN", 52: "SECINFO_NO_NAME",
    53: "SEQUENCE", 54: "SET_SSV", 55: "TEST_STATEID", 56: "WANT_DELEGATION", 57: "DESTROY_CLIENTID",
    58: "RECLAIM_COMPLETE", 10044: "ILLEGAL"})
STATEID4 = 16
MAX_V4_OPS = 128


def _fattr4(r: XdrReader) -> None:
    r.array(XdrReader.u32, 64)      # bitmap4
    r.opaque()                      # attrlist4


def _v4_open(r: XdrReader) -> str | None:
    r.skip(12)                 # seqid, share_access, share_deny
    r.u64()
    r.opaque(1024)             # open_owner4
    if r.u32() == 1:           # OPEN4_CREATE
        how = r.u32()
        if how in (0, 1):
            _fattr4(r)
        elif how == 2:
            r.skip(8)
        elif how == 3:
            r.skip(8)
            _fattr4(r)
        else:
            raise XdrError(f"createmode {how}")
    claim = r.u32()
    if claim in (0, 3):
        return r.string()
    if claim == 1:
        r.u32()
    elif claim == 2:
        r.skip(STATEID4)
        return r.string()
    elif claim == 5:
        r.skip(STATEID4)
    elif claim not in (4, 6):
        raise XdrError(f"open claim {claim}")
    return None


def _setclientid(r: XdrReader) -> None:
    r.skip(8)                 # verifier
    r.opaque(1024)            # client id
    r.u32()                   # callback program
    r.string()                # callback netid
    r.string()                # callback universal address
    r.u32()                   # callback_ident


def _skip(n: int) -> Callable[[XdrReader], None]:
    return lambda r: r.skip(n)


def _steps(*fns: Callable[[XdrReader], object]) -> Callable[[XdrReader], None]:
    """Arguments read as a sequence of items whose values are not kept."""
    def read(r: XdrReader) -> None:
        for fn in fns:
            fn(r)
    return read


def _bitmap(r: XdrReader) -> None:
    r.array(XdrReader.u32, 64)


_V4_ARGS: Mapping[int, Callable[[XdrReader], str | None]] = MappingProxyType({
    3: _skip(4), 4: _skip(4 + STATEID4), 5: _skip(12), 8: _skip(STATEID4),
    9: _bitmap, 10: _skip(0),
    11: XdrReader.string, 15: XdrReader.string, 16: _skip(0),
    17: _fattr4, 18: _v4_open, 20: _skip(STATEID4 + 4), 21: _skip(STATEID4 + 12),
    22: _steps(lambda r: r.opaque(128)), 23: _skip(0), 24: _skip(0),
    25: _skip(STATEID4 + 12), 26: _steps(_skip(24), _bitmap),
    27: _skip(0), 28: XdrReader.string,
    29: lambda r: f"{r.string()} → {r.string()}", 30: _skip(8), 31: _skip(0), 32: _skip(0),
    33: XdrReader.string, 34: _steps(_skip(STATEID4), _fattr4),
    35: _setclientid, 36: _skip(16), 37: _fattr4,
    38: _steps(_skip(STATEID4 + 12), lambda r: r.opaque(bulk=True)),
    39: _steps(_skip(8), lambda r: r.opaque(1024)),
    44: _skip(16), 52: _skip(4), 53: _skip(16 + 16), 58: _skip(4),
})


def _v4_compound(r: XdrReader) -> Args:
    tag = r.string()
    minor = r.u32()
    n = r.u32()
    if n > MAX_V4_OPS:
        raise XdrError(f"COMPOUND of {n} operations")
    ops: list[str] = []
    names: list[str] = []
    detail = f"minor version {minor}" + (f", tag {tag!r}" if tag else "")
    for _ in range(n):
        code = r.u32()
        op = V4_OPS.get(code, f"op{code}")
        ops.append(op)
        fn = _V4_ARGS.get(code)
        if fn is None:
            detail += f"; arguments of {op} not decoded, later operations not listed"
            break
        name = fn(r)
        if isinstance(name, str):
            names.append(name)
    return Args(name=names[-1] if names else None, ops=tuple(ops), detail=detail)


def _entry4(r: XdrReader) -> tuple[str, bytes | None]:
    r.u64()
    name = r.string()
    _fattr4(r)
    return name, None


# what an operation's result holds after its status, when the status is NFS4_OK (RFC 7530 section 16)
_V4_RES: Mapping[int, Callable[[XdrReader], object]] = MappingProxyType({
    3: _skip(8), 4: _skip(STATEID4), 5: _skip(8), 8: _skip(0), 9: _fattr4, 10: lambda r: r.opaque(128),
    15: _skip(0), 16: _skip(0), 20: _skip(STATEID4), 21: _skip(STATEID4), 22: _skip(0), 23: _skip(0),
    24: _skip(0), 25: _steps(XdrReader.boolean, lambda r: r.opaque(bulk=True)),
    26: _steps(_skip(8), lambda r: r.chain(_entry4), XdrReader.boolean), 27: XdrReader.string,
    30: _skip(0), 31: _skip(0), 32: _skip(0), 35: _skip(16), 36: _skip(0), 38: _skip(16),
    39: _skip(0), 53: _skip(16 + 20), 58: _skip(0),
})


def _v4_compound_res(r: XdrReader) -> Res:
    """The COMPOUND's status, then its results in order until the first failure (the server stops
    there) or a result whose body is not decoded here."""
    st = r.u32()
    r.string()
    n = r.u32()
    if n > MAX_V4_OPS:
        raise XdrError(f"COMPOUND of {n} results")
    done: list[str] = []
    try:
        for _ in range(n):
            code, op_st = r.u32(), r.u32()
            op = V4_OPS.get(code, f"op{code}")
            if op_st:
                done.append(f"{op} failed ({_V4S[0].get(op_st, op_st)})")
                break
            done.append(op)
            skip = _V4_RES.get(code)
            if skip is None:
                done.append("…")
                break
            skip(r)
    except XdrLimit:
        raise
    except XdrError:
        done.append("… (the rest could not be read)")      # the overall status stands
    return Res(st, count=n, detail=f"{n} results: " + " ".join(done) if done else f"{n} results")


_V4_STATUS_EXTRA = {10009: ("BADXDR", "the server could not decode the arguments"),
                    10010: ("LOCKED", "a lock conflicts"), 10011: ("RESOURCE", "the server ran out of resources"),
                    10012: ("MOVED", "the file system moved"), 10013: ("NOFILEHANDLE", "no current file handle"),
                    10020: ("NOT_SAME", "VERIFY: attributes differ"),
                    10022: ("STALE_CLIENTID", "the client id is stale"),
                    10023: ("STALE_STATEID", "the state id is stale"), 10025: ("BAD_STATEID", "bad state id"),
                    10044: ("OP_ILLEGAL", "illegal operation"), 10052: ("BADSESSION", "unknown session"),
                    10071: ("GRACE", "the server is in its grace period: retry later")}


def _v4_status() -> tuple[Mapping[int, str], Mapping[int, str]]:
    names, meanings = _nfs_status("NFS4", "NFS4ERR")
    n, m = dict(names), dict(meanings)
    for code, (name, meaning) in _V4_STATUS_EXTRA.items():
        n[code], m[code] = f"NFS4ERR_{name}", meaning
    return MappingProxyType(n), MappingProxyType(m)


# ---------------------------------------------------------------- the table
def _procs(spec: list[tuple[str, str, ArgsFn, ResFn]]) -> tuple[Proc, ...]:
    return tuple(Proc(*s) for s in spec)


_V2S, _V3S, _V4S = _nfs_status("NFS", "NFSERR"), _nfs_status("NFS3", "NFS3ERR"), _v4_status()
_M3 = (MappingProxyType({k: n for k, (n, _) in _MOUNT3_STATUS.items()}),
       MappingProxyType({k: m for k, (_, m) in _MOUNT3_STATUS.items()}))
# MOUNT v1's fhstatus is a UNIX errno (RFC 1094 A.3): the v2 NFS names serve
_M1 = _V2S

PROGRAMS: Mapping[tuple[int, int], ProgramVersion] = MappingProxyType({
    (PMAP_PROG, 2): ProgramVersion("PMAP2", "portmapper", _pm_procs(2)),
    (PMAP_PROG, 3): ProgramVersion("RPCB3", "portmapper", _pm_procs(3)),
    (PMAP_PROG, 4): ProgramVersion("RPCB4", "portmapper", _pm_procs(4)),
    (MOUNT_PROG, 1): ProgramVersion("MOUNT1", "mount", _mount_procs(1), *_M1),
    (MOUNT_PROG, 2): ProgramVersion("MOUNT2", "mount", _mount_procs(2), *_M1),
    (MOUNT_PROG, 3): ProgramVersion("MOUNT3", "mount", _mount_procs(3), *_M3),
    (NFS_PROG, 2): ProgramVersion("NFS2", "nfs", _procs(_V2), *_V2S),
    (NFS_PROG, 3): ProgramVersion("NFS3", "nfs", _procs(_V3), *_V3S),
    (NFS_PROG, 4): ProgramVersion("NFS4", "nfs", _procs([
        ("NULL", "does nothing: checks that the server answers", _none, _void),
        ("COMPOUND", "a list of operations the server runs in order until one fails",
         _v4_compound, _v4_compound_res)]), *_V4S),
})


def lookup(prog: int, vers: int, proc: int) -> tuple[ProgramVersion | None, Proc | None]:
    pv = PROGRAMS.get((prog, vers))
    if pv is None:
        return None, None
    return pv, pv.procs[proc] if proc < len(pv.procs) else None
